//! The consumer side of relman: check a published release, install it, upgrade, roll back.
//!
//! **Inputs.** A release published by relman's engine, as a local directory or an `http(s)`
//! URL:
//!
//! ```text
//! <root>/channels.json                 which version is stable (written by promote)
//! <root>/<version>/index.json          per-platform archive, size, sha256, binaries
//! <root>/<version>/checksums.txt       sha256sum format
//! <root>/<version>/manifest.json       the release record
//! <root>/<version>/<name>-<version>-<target>.{tar.gz,tar.zst,zip}
//! ```
//!
//! **Outputs.** A [`verify::VerifyReport`]; binaries in `<prefix>/bin` with receipts and
//! backups under `<prefix>/.relman` ([`install::receipt`]); serialisable outcomes for the CLI
//! to render. This crate never prints.
//!
//! **Invariants.**
//! * Nothing is unpacked or written to `<prefix>/bin` before the archive's sha256 (and size)
//!   matched what the index, `checksums.txt` or `--sha256` promised, and every archive entry
//!   was checked (the private `archive` module refuses absolute paths, `..`, escaping links
//!   and device files).
//! * Binaries are replaced by `rename`, the previous ones kept for [`rollback`]; receipts are
//!   written atomically.
//! * Every expected error is a [`relman_manifest::Failure`] with one line naming the file, URL,
//!   artifact or target, and the right class: Verify (digest, size, listing, corrupt document,
//!   unsafe archive), Install (no build for this platform, nothing to roll back, writes at the
//!   prefix), Network (HTTP), Usage (bad arguments). URL credentials never appear in messages,
//!   receipts or `Debug` output ([`source::redact`]).
//!
//! Modules: [`hash`] (streaming SHA-256), [`checksums`] (`sha256sum` format), [`source`]
//! (paths and URLs), [`platform`] (host triple), [`verify`], [`mod@install`].

mod archive;
pub mod checksums;
pub mod hash;
pub mod install;
pub mod platform;
pub mod source;
pub mod verify;

pub use install::{
    install, receipts, rollback, upgrade, InstallOptions, InstallOutcome, InstalledBinary, Receipt,
    RollbackOutcome, UpgradeOptions, UpgradeOutcome,
};
pub use platform::host_target;
pub use source::Location;
pub use verify::{
    verify_dir_against_checksums, verify_release, FileCheck, FileStatus, VerifyReport,
};
