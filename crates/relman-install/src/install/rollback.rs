//! `rollback`: put back the binaries the last install replaced.
//!
//! Each binary in the receipt that has a copy in `.relman/backup/` is swapped with it (the
//! current file becomes the backup), so a second rollback returns to the newer version. The
//! receipt's `version` and `previous` are exchanged and the digests recomputed.

use std::path::{Path, PathBuf};

use relman_manifest::Failure;
use serde::Serialize;

use super::place;
use super::receipt::{now_rfc3339, InstalledBinary, Layout};
use crate::hash::sha256_file;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RollbackOutcome {
    pub name: String,
    /// The version now installed.
    pub version: String,
    /// The version that was replaced (and is now kept as the backup).
    pub replaced: String,
    pub binaries: Vec<PathBuf>,
}

pub fn rollback(prefix: &Path, name: Option<&str>) -> Result<RollbackOutcome, Failure> {
    let layout = Layout::new(prefix)?;
    // Under the prefix's lock, once there is something to roll back (a prefix with nothing
    // installed is not written to).
    let _lock = match layout.select(name) {
        Ok(Some(_)) => Some(layout.lock(&name.map_or_else(|| "rollback".to_string(), |n| format!("rollback {n}")))?),
        _ => None,
    };
    let receipt = layout.select(name)?.ok_or_else(|| {
        let what = name.map(|n| format!("`{n}` is not installed")).unwrap_or_else(|| "nothing is installed".into());
        Failure::install(format!("nothing to roll back: {what} in `{}`", layout.prefix.display()))
    })?;
    let nothing = || {
        Failure::install(format!(
            "nothing to roll back for `{}` {}: no earlier version was kept",
            receipt.name, receipt.version
        ))
        .with_hint("a backup is kept when an install or upgrade replaces another version")
    };
    let previous = receipt.previous.clone().ok_or_else(nothing)?;
    let pairs: Vec<(PathBuf, PathBuf)> = receipt
        .binaries
        .iter()
        .filter_map(|b| {
            let name = b.path.file_name()?;
            let backup = layout.backup.join(name);
            backup.is_file().then(|| (b.path.clone(), backup))
        })
        .collect();
    if pairs.is_empty() {
        return Err(nothing());
    }
    for (current, backup) in &pairs {
        place::swap(current, backup)?;
    }
    let mut binaries = Vec::new();
    for b in &receipt.binaries {
        let (sha256, _) = sha256_file(&b.path).map_err(|e| Failure::io("read", &b.path, e))?;
        binaries.push(InstalledBinary { path: b.path.clone(), sha256 });
    }
    let mut updated = receipt.clone();
    updated.version = previous.clone();
    updated.previous = Some(receipt.version.clone());
    updated.archive_sha256 = receipt.previous_archive_sha256.clone();
    updated.previous_archive_sha256 = receipt.archive_sha256.clone();
    updated.binaries = binaries;
    updated.installed_at = now_rfc3339();
    layout.write_receipt(&updated)?;
    Ok(RollbackOutcome {
        name: receipt.name,
        version: previous,
        replaced: receipt.version,
        binaries: pairs.into_iter().map(|(current, _)| current).collect(),
    })
}
