//! The consumer side of relman: check a published release, install it, upgrade, roll back.
//!
//! **Inputs.** A release published by relman's engine, as a local directory or an `http(s)`
//! URL, and optionally a public key (`PUBLIC KEY` PEM, [`relman_sign::PublicKey`]):
//!
//! ```text
//! <root>/channels.json                 which version is stable (written by promote)
//! <root>/<version>/index.json          per-platform archive, size, sha256, binaries
//! <root>/<version>/checksums.txt       sha256sum format (archives, SBOMs, provenance)
//! <root>/<version>/manifest.json       the release record: every artifact, size, sha256
//! <root>/<version>/<name>-<version>-<target>.{tar.gz,tar.zst,zip}
//! <root>/<version>/<name>-<version>-<target>.{spdx,cdx}.json      SBOMs (subject: the archive)
//! <root>/<version>/<name>-<version>.intoto.jsonl                  provenance (DSSE, in-toto)
//! <root>/<version>/<file>.sig, <file>.sigstore.json               signatures and bundles of the
//!                                      archives, SBOMs, provenance, checksums.txt, index.json
//! ```
//!
//! **The story.** `relman verify` calls [`verify::verify_release_with`]: every file is read
//! once (archives streamed through the hasher, small files read whole), digests are compared
//! with `checksums.txt`, `index.json` and the manifest; SBOMs must be non-empty and cover every
//! archive; with a key, every `.sig` and `.sigstore.json` must verify against the digest of
//! the bytes just hashed (never a digest a document claims), and the provenance envelopes
//! must verify, their statement naming exactly the archives with those digests. The
//! [`verify::VerifyReport`] gives one line per problem and a verdict per artifact
//! (`pass`/`fail`/`unchecked`), and can be written as `remote-verify.json` / `.md`.
//! `relman install` calls [`install()`]: it resolves the archive from the index, and when a key
//! is given (or was pinned in the receipt at an earlier install) verifies the signatures of
//! `index.json` and of the archive before it writes anything at the prefix; then downloads,
//! checks, unpacks, swaps the binaries in and writes the receipt, pinning the key.
//! [`upgrade()`] does the same for the stable channel's newer version; a release signed by
//! another key than the pinned one is refused unless `--key` names the new key.
//!
//! **Outputs.** A [`verify::VerifyReport`]; binaries in `<prefix>/bin` with receipts and
//! backups under `<prefix>/.relman` ([`install::receipt`]); serialisable outcomes for the CLI
//! to render ([`InstallOutcome::signature`] says which key verified what). This crate never
//! prints.
//!
//! **Invariants.**
//! * Nothing is written at the prefix (not even its directories) before the signatures of
//!   `index.json` and of the archive verified, when a key is in force; nothing is unpacked or
//!   written to `<prefix>/bin` before the archive's sha256 (and size) matched what the index,
//!   `checksums.txt` or `--sha256` promised, its signature verified against the downloaded
//!   digest, and every archive entry was checked (the private `archive` module refuses
//!   absolute paths, `..`, escaping links and device files).
//! * A key in force means a signed release: an unsigned one is refused, so stripping the
//!   signatures off a release does not get it past a pinned key. `require_signature` also
//!   refuses a release without Sigstore bundles, and needs a key.
//! * Binaries are replaced by `rename`, the previous ones kept for [`rollback`]; receipts are
//!   written atomically. A receipt holds the pinned *public* key only, never secrets.
//! * Every expected error is a [`relman_manifest::Failure`] with one line naming the file, URL,
//!   artifact or target, and the right class: Verify (digest, size, listing, corrupt document,
//!   unsafe archive, signature that does not verify, unsigned release, another key), Install
//!   (no build for this platform, nothing to roll back, writes at the prefix, unusable pinned
//!   key), Network (HTTP), Usage (bad arguments, signatures required without a key), Config (an
//!   unreadable public key file). URL credentials never appear in messages, receipts, reports
//!   or `Debug` output ([`source::redact`]).
//!
//! Modules: [`hash`] (streaming SHA-256), [`checksums`] (`sha256sum` format), [`source`]
//! (paths and URLs), [`platform`] (host triple), [`verify`], [`mod@install`].

mod archive;
pub mod checksums;
pub mod crashpoint;
pub mod hash;
pub mod install;
pub mod lock;
pub mod platform;
pub mod source;
pub mod verify;

pub use install::{
    install, receipts, rollback, upgrade, InstallOptions, InstallOutcome, InstalledBinary, KeySource, PinnedKey,
    Receipt, RollbackOutcome, SignatureCheck, SignatureForm, UpgradeOptions, UpgradeOutcome,
};
pub use platform::host_target;
pub use source::Location;
pub use verify::{
    verify_dir_against_checksums, verify_release, verify_release_with, ArtifactCheck, ArtifactStatus, FileCheck,
    FileStatus, VerifyOptions, VerifyReport,
};
