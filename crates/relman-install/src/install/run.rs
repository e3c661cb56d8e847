//! `install`: download, check, unpack, back up, replace, record.
//!
//! Order of operations, each step only after the previous one succeeded:
//! 1. resolve `from` to one archive and its expected digest ([`super::resolve`]);
//! 2. with a key in force (`key`, or the one pinned in the receipt) or `require_signature`:
//!    fetch and verify the signature of `index.json` against the digest of the bytes read, and
//!    the archive's against the digest the index promises (`super::signature`). Nothing has
//!    been written at the prefix yet, not even its directories;
//! 3. download the archive into `<prefix>/.relman/tmp/`, hashing while writing; compare digest
//!    and size, and verify the archive's signature again against the downloaded digest;
//! 4. check every archive entry, then unpack into the same temporary directory;
//! 5. for each binary: keep the current `bin/<name>` in `.relman/backup/`, rename the new one
//!    into place (mode 0755);
//! 6. write the receipt atomically, pinning the key that verified the release.
//!
//! A signature that does not verify, an unsigned release when one is required, a digest
//! mismatch or an unsafe archive stops before step 5: `bin/` is untouched. A file in `bin/`
//! that relman did not install is only replaced with `force` (and is backed up).

use std::collections::HashSet;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use relman_manifest::{Failure, Sha256};
use serde::Serialize;

use super::place;
use super::receipt::{now_rfc3339, write_failure, InstalledBinary, Layout, Receipt};
use super::resolve::{resolve, Plan};
use super::signature::{SignatureCheck, Trust};
use crate::archive;
use crate::hash::sha256_file;
use crate::source::{self, redact, Location};
use crate::verify::INDEX_FILE;

/// What to install and where.
#[derive(Clone, Default)]
pub struct InstallOptions {
    /// An archive, an `index.json`, a version directory or a release root; path or URL.
    pub from: String,
    /// With a release root: the version to install instead of the stable one (`1.2.0` or `v1.2.0`).
    pub version: Option<String>,
    /// Binaries go to `<prefix>/bin`, bookkeeping to `<prefix>/.relman`.
    pub prefix: PathBuf,
    /// Target triple to install; defaults to the one this binary was built for.
    pub target: Option<String>,
    /// Expected archive digest: required for a bare archive without `checksums.txt` beside it,
    /// and checked against the index otherwise.
    pub sha256: Option<Sha256>,
    /// Reinstall the same version, and replace files in `bin/` that relman did not install.
    pub force: bool,
    /// A public key file (`PUBLIC KEY` PEM): `index.json` and the archive must be signed with
    /// it. Pinned in the receipt; without it, the key pinned at an earlier install is used,
    /// and giving it replaces that pin.
    pub key: Option<PathBuf>,
    /// Keyless: who must have signed (instead of `key`); pinned in the receipt like a key.
    pub identity: Option<relman_sign::keyless::IdentityPolicy>,
    /// Refuse a release without Sigstore bundles (needs a key, given or pinned).
    pub require_signature: bool,
    /// What the receipt records as the source instead of `from`, when `from` is a local copy
    /// of a release fetched from elsewhere (a forge release page): `github:acme/tool@v1.2.3`.
    pub source_label: Option<String>,
    /// Refuse a release root whose channels are unsigned or past their expiry (instead of
    /// warning).
    pub require_fresh: bool,
}

impl fmt::Debug for InstallOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstallOptions")
            .field("from", &redact(&self.from))
            .field("version", &self.version)
            .field("prefix", &self.prefix)
            .field("target", &self.target)
            .field("sha256", &self.sha256)
            .field("force", &self.force)
            .field("key", &self.key)
            .field("identity", &self.identity.as_ref().map(|p| p.describe()))
            .field("require_signature", &self.require_signature)
            .finish()
    }
}

/// What an install did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InstallOutcome {
    pub name: String,
    pub version: String,
    pub target: String,
    /// Installed binaries, absolute paths.
    pub binaries: Vec<PathBuf>,
    /// The version kept for rollback, if any.
    pub previous: Option<String>,
    pub archive_sha256: Sha256,
    /// True when this version was already installed intact and nothing was done.
    pub already_installed: bool,
    pub receipt: PathBuf,
    /// The signature checks, when a key was in force.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<SignatureCheck>,
    /// What the user should hear (channels unsigned or expired).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Installs one program from a release; see the module notes for the order of operations.
pub fn install(opts: &InstallOptions) -> Result<InstallOutcome, Failure> {
    let plan = resolve(opts)?;
    let layout = Layout::new(&opts.prefix)?;
    // A failed install leaves no directories behind that it made (a fresh prefix stays absent).
    let state = layout.receipts.parent().unwrap_or(&layout.prefix).to_path_buf();
    let made: Vec<PathBuf> = [&layout.tmp, &layout.backup, &layout.receipts, &layout.bin, &state, &layout.prefix]
        .into_iter()
        .filter(|d| !d.exists())
        .cloned()
        .collect();
    let result = execute(&plan, &layout, opts, None);
    if result.is_err() {
        for dir in &made {
            if *dir == state {
                let _ = fs::remove_file(dir.join(crate::lock::LOCK_FILE));
            }
            let _ = fs::remove_dir(dir);
        }
    }
    result
}

/// A location as a receipt keeps it: local paths made absolute, URL credentials redacted.
fn persistent(loc: &Location) -> String {
    match loc {
        Location::Path(p) => std::path::absolute(p).unwrap_or_else(|_| p.clone()).display().to_string(),
        Location::Url(u) => redact(u),
    }
}

/// Whether every binary the receipt lists is in place with the recorded digest.
fn intact(receipt: &Receipt) -> bool {
    receipt.binaries.iter().all(|b| sha256_file(&b.path).is_ok_and(|(digest, _)| digest == b.sha256))
}

/// Refuses to replace `bin/<name>` when relman did not put it there for this program: a file
/// of another program relman installed (named), a file relman never installed (unless
/// `force`), a directory.
///
/// `new` holds the digests of the binaries about to be installed, once they are unpacked: a
/// file with exactly those bytes is this program's, left by an install killed before it wrote
/// its receipt. Before unpacking (`None`), only another program's files and directories are
/// refused.
fn check_clobber(
    plan: &Plan,
    layout: &Layout,
    existing: Option<&Receipt>,
    new: Option<&[(String, PathBuf, Sha256)]>,
    force: bool,
) -> Result<(), Failure> {
    let names: Vec<&str> = match new {
        Some(new) => new.iter().map(|(n, _, _)| n.as_str()).collect(),
        None => plan.binaries.iter().flatten().map(String::as_str).collect(),
    };
    let owned: HashSet<&Path> = existing.iter().flat_map(|r| r.binaries.iter().map(|b| b.path.as_path())).collect();
    let mut others: Option<Vec<Receipt>> = None;
    for name in names {
        let dest = layout.bin.join(name);
        let same_bytes = || {
            new.into_iter()
                .flatten()
                .any(|(n, _, digest)| n == name && sha256_file(&dest).is_ok_and(|(found, _)| found == *digest))
        };
        match fs::symlink_metadata(&dest) {
            Ok(meta) if meta.is_dir() => return Err(Failure::install(format!("`{}` is a directory", dest.display()))),
            Ok(_) if owned.contains(dest.as_path()) => {}
            Ok(_) => {
                let receipts = match &others {
                    Some(r) => r,
                    None => others.insert(layout.receipts()?),
                };
                let owner = receipts
                    .iter()
                    .find(|r| r.name != plan.name && r.binaries.iter().any(|b| b.path == dest))
                    .map(|r| r.name.clone());
                match owner {
                    Some(other) => {
                        return Err(Failure::install(format!(
                            "`{}` belongs to `{other}`, which relman installed in `{}`; `{}` would replace it",
                            dest.display(),
                            layout.prefix.display(),
                            plan.name
                        ))
                        .with_hint("install into another --prefix, or remove the other program first"))
                    }
                    None if force || new.is_none() || same_bytes() => {}
                    None => {
                        return Err(Failure::install(format!(
                            "`{}` exists and was not installed by relman",
                            dest.display()
                        ))
                        .with_hint(format!(
                            "pass `--force` to replace it (the old file is kept in `{}`)",
                            layout.backup.display()
                        )))
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Failure::io("read", &dest, e)),
        }
    }
    Ok(())
}

/// `lock` is the prefix's lock when the caller holds it already.
fn execute(
    plan: &Plan,
    layout: &Layout,
    opts: &InstallOptions,
    lock: Option<&crate::lock::Lock>,
) -> Result<InstallOutcome, Failure> {
    let existing = layout.read_receipt(&plan.name)?;

    // Signatures first: nothing is written at the prefix before they verify.
    let trust = Trust::new(
        opts.key.as_deref(),
        opts.identity.as_ref(),
        opts.require_signature,
        existing.as_ref(),
        &layout.receipt_path(&plan.name),
        &plan.name,
    )?;
    let index_form = match &plan.index {
        Some((index_loc, index_digest)) => trust.verify(index_loc, INDEX_FILE, index_digest)?,
        None => None,
    };
    let archive_sig = trust.fetch(&plan.archive, &plan.archive_name)?;
    if let Some(sig) = &archive_sig {
        trust.check(sig, &plan.archive_name, &plan.expected)?;
    }
    let signature = trust.summary(index_form, archive_sig.as_ref().map(|s| s.form()));

    // One install, upgrade or rollback per prefix at a time (taken after the signatures: a
    // refused release writes nothing at the prefix). When another run changed the receipt
    // meanwhile, everything is decided again from the new one, under the lock.
    let _held;
    if lock.is_none() {
        let taken = layout.lock(&format!("install {} {}", plan.name, plan.version))?;
        if layout.read_receipt(&plan.name)? != existing {
            return execute(plan, layout, opts, Some(&taken));
        }
        _held = taken;
    }

    if let Some(r) = existing.as_ref().filter(|r| !opts.force && r.version == plan.version && r.target == plan.target) {
        if r.archive_sha256.as_ref().is_none_or(|d| *d == plan.expected) && intact(r) {
            return Ok(InstallOutcome {
                name: r.name.clone(),
                version: r.version.clone(),
                target: r.target.clone(),
                binaries: r.binaries.iter().map(|b| b.path.clone()).collect(),
                previous: r.previous.clone(),
                archive_sha256: plan.expected.clone(),
                already_installed: true,
                receipt: layout.receipt_path(&r.name),
                signature,
                warnings: plan.warnings.clone(),
            });
        }
    }

    // With the binaries known (from the index), a clobber is refused before the download.
    if plan.binaries.is_some() {
        check_clobber(plan, layout, existing.as_ref(), None, opts.force)?;
    }

    layout.create()?;
    let work = tempfile::Builder::new()
        .prefix(&format!("{}install-", crate::lock::TEMP_PREFIX))
        .tempdir_in(&layout.tmp)
        .map_err(|e| write_failure(&layout.tmp, e))?;
    let archive_path = work.path().join(format!("archive.{}", plan.format.extension()));
    let (digest, size) =
        source::download_limited(&plan.archive, &archive_path, plan.expected_size)?.ok_or_else(|| {
            if plan.listed {
                Failure::verify(format!("`{}` is missing", plan.archive))
                    .with_hint("the index lists it; the release is incomplete")
            } else {
                source::not_found(&plan.archive)
            }
        })?;
    if digest != plan.expected {
        return Err(Failure::verify(format!(
            "`{}`: sha256 mismatch ({} says {}, download has {digest})",
            plan.archive_name, plan.digest_from, plan.expected
        ))
        .with_hint("nothing was installed; the download is corrupt or the release was altered"));
    }
    if let Some(expected) = plan.expected_size.filter(|&s| s != size) {
        return Err(Failure::verify(format!(
            "`{}`: size mismatch ({} says {expected} bytes, download has {size})",
            plan.archive_name, plan.digest_from
        )));
    }
    if let Some(sig) = &archive_sig {
        // The digest of the bytes downloaded, not the one a document promised.
        trust.check(sig, &plan.archive_name, &digest)?;
    }

    let unpacked = work.path().join("unpacked");
    let entries =
        archive::extract(&archive_path, plan.format, &plan.archive_name, &unpacked, archive::unpack_limit(size))?;
    crate::crashpoint::point("unpacked");
    let picked: Vec<(String, PathBuf)> = match &plan.binaries {
        Some(names) => names
            .iter()
            .map(|n| archive::find_binary(&entries, &unpacked, n, &plan.archive_name).map(|p| (n.clone(), p)))
            .collect::<Result<_, _>>()?,
        None => archive::executables(&entries, &unpacked, &plan.archive_name)?,
    };
    if picked.is_empty() {
        return Err(Failure::install(format!("`{}` contains no executable file", plan.archive_name))
            .with_hint("install from the release's index.json, which lists the binaries"));
    }

    let mut new = Vec::new();
    for (name, path) in picked {
        let (digest, _) = sha256_file(&path).map_err(|e| Failure::io("read", &path, e))?;
        new.push((name, path, digest));
    }
    // Refuse to clobber files relman does not own, before touching anything.
    check_clobber(plan, layout, existing.as_ref(), Some(&new), opts.force)?;

    let same_version = existing.as_ref().is_some_and(|r| r.version == plan.version);
    let mut backed_up = false;
    let mut installed = Vec::new();
    for (name, path, digest) in new {
        let dest = layout.bin.join(&name);
        let backup = layout.backup.join(&name);
        let current = match sha256_file(&dest) {
            Ok((d, _)) => Some(d),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(Failure::io("read", &dest, e)),
        };
        if same_version {
            // A repair or forced reinstall: the backup still holds the previous version.
            if current.as_ref() != Some(&digest) {
                place::replace(&path, &dest)?;
            }
        } else {
            match current {
                Some(_) => {
                    place::backup(&dest, &backup)?;
                    backed_up = true;
                }
                None => place::drop_backup(&backup)?,
            }
            place::replace(&path, &dest)?;
        }
        crate::crashpoint::point(&format!("placed:{name}"));
        installed.push(InstalledBinary { path: dest, sha256: digest });
    }

    let (previous, previous_archive_sha256) = match &existing {
        Some(r) if same_version => (r.previous.clone(), r.previous_archive_sha256.clone()),
        Some(r) if backed_up => (Some(r.version.clone()), r.archive_sha256.clone()),
        _ => (None, None),
    };
    let signing_key = trust.pin();
    let signing_identity = trust.pin_identity();
    let receipt = Receipt {
        format_version: Receipt::format_version_for(signing_key.as_ref(), signing_identity.as_ref()),
        name: plan.name.clone(),
        version: plan.version.clone(),
        target: plan.target.clone(),
        source: redact(opts.source_label.as_deref().unwrap_or(&opts.from)),
        // Where upgrade looks: the release root, else the flat location of the index (a
        // `releases/latest/download/` URL serves each new release's index.json).
        root: if opts.source_label.is_some() {
            None
        } else {
            plan.root.as_ref().or(plan.index_dir.as_ref()).map(persistent)
        },
        archive_sha256: Some(digest.clone()),
        binaries: installed,
        previous,
        previous_archive_sha256,
        installed_at: now_rfc3339(),
        signing_key,
        signing_identity,
        channels_serial: plan.channels_serial.max(existing.as_ref().and_then(|r| r.channels_serial)),
    };
    let receipt_path = layout.write_receipt(&receipt)?;
    drop(work);
    Ok(InstallOutcome {
        name: receipt.name,
        version: receipt.version,
        target: receipt.target,
        binaries: receipt.binaries.into_iter().map(|b| b.path).collect(),
        previous: receipt.previous,
        archive_sha256: digest,
        already_installed: false,
        receipt: receipt_path,
        signature,
        warnings: plan.warnings.clone(),
    })
}
