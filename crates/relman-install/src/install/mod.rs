//! Installing, upgrading and rolling back a program at a prefix.
//!
//! * [`install`] — from an archive, an `index.json`, a version directory or a release root;
//!   signatures of `index.json` and of the archive checked when a key is given or pinned
//!   (see `signature`), digest checked before unpacking, archive checked before writing,
//!   binaries replaced atomically with the old ones kept for rollback, a receipt written last
//!   (pinning the key).
//! * [`upgrade`] — to the release root's stable version, never backwards.
//! * [`rollback`] — swap the backups back in; twice returns to where it started.
//!
//! See [`receipt`] for the prefix layout.

mod place;
pub mod receipt;
mod resolve;
mod rollback;
mod run;
mod signature;
mod upgrade;

pub use receipt::{InstalledBinary, PinnedKey, Receipt};
pub use rollback::{rollback, RollbackOutcome};
pub use run::{install, InstallOptions, InstallOutcome};
pub use signature::{KeySource, SignatureCheck, SignatureForm};
pub use upgrade::{upgrade, UpgradeOptions, UpgradeOutcome};

/// Every receipt in the prefix, sorted by name (for a `list` command).
pub fn receipts(prefix: &std::path::Path) -> Result<Vec<Receipt>, relman_manifest::Failure> {
    receipt::Layout::new(prefix)?.receipts()
}
