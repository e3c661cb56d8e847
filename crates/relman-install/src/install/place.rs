//! File moves at the prefix: put a binary in place, keep a backup, swap the two back.
//!
//! Invariant: `bin/<name>` always exists once it has existed: it is replaced by `rename` (atomic
//! on one file system), never removed first. Backups are made with a hard link (or a copy when
//! links are not possible) under a temporary name, then renamed over the older backup.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use relman_manifest::Failure;

use super::receipt::write_failure;

fn remove_if_exists(path: &Path) -> Result<(), Failure> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(write_failure(path, e)),
    }
}

/// `dir/.<name>.<suffix>`: a scratch name beside `path`.
/// A scratch name beside `path` for a copy that can be lost without harm (the next run,
/// holding the prefix's lock, sweeps it: [`crate::lock::TEMP_PREFIX`]).
fn scratch(path: &Path, suffix: &str) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!("{}{name}.{suffix}", crate::lock::TEMP_PREFIX))
}

/// A scratch name for the only copy of a file while it moves (never swept).
fn holding(path: &Path, suffix: &str) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.{suffix}"))
}

/// Copies `from` to a scratch name in `to`'s directory (hard link when possible).
fn link_or_copy(from: &Path, to: &Path) -> Result<(), Failure> {
    remove_if_exists(to)?;
    if fs::hard_link(from, to).is_ok() {
        return Ok(());
    }
    fs::copy(from, to).map(drop).map_err(|e| write_failure(to, e))
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<(), Failure> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).map_err(|e| write_failure(path, e))
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> Result<(), Failure> {
    Ok(())
}

/// Keeps a copy of `current` at `backup`, replacing an older backup atomically.
pub(crate) fn backup(current: &Path, backup: &Path) -> Result<(), Failure> {
    let tmp = scratch(backup, "relman-backup");
    link_or_copy(current, &tmp)?;
    fs::rename(&tmp, backup).map_err(|e| write_failure(backup, e))
}

/// Removes a stale backup (the binary did not exist before this install).
pub(crate) fn drop_backup(backup: &Path) -> Result<(), Failure> {
    remove_if_exists(backup)
}

/// Moves `new` (in the prefix's temporary directory) to `dest` with mode 0755, atomically.
pub(crate) fn replace(new: &Path, dest: &Path) -> Result<(), Failure> {
    make_executable(new)?;
    if fs::rename(new, dest).is_ok() {
        return Ok(());
    }
    // Another file system (bin/ is a mount point): copy beside the destination, then rename.
    let tmp = scratch(dest, "relman-new");
    fs::copy(new, &tmp).map_err(|e| write_failure(&tmp, e))?;
    make_executable(&tmp)?;
    fs::rename(&tmp, dest).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        write_failure(dest, e)
    })
}

/// Exchanges `current` and `backup`: the backup becomes current, current becomes the backup.
pub(crate) fn swap(current: &Path, backup: &Path) -> Result<(), Failure> {
    let hold = holding(backup, "relman-swap");
    let had_current = current.exists();
    if had_current {
        link_or_copy(current, &hold)?;
    }
    fs::rename(backup, current).map_err(|e| write_failure(current, e))?;
    if had_current {
        fs::rename(&hold, backup).map_err(|e| write_failure(backup, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swap_twice_is_identity() {
        let dir = tempfile::tempdir().unwrap();
        let (cur, bak) = (dir.path().join("app"), dir.path().join("app.bak"));
        fs::write(&cur, "new").unwrap();
        fs::write(&bak, "old").unwrap();
        swap(&cur, &bak).unwrap();
        assert_eq!(
            (fs::read_to_string(&cur).unwrap(), fs::read_to_string(&bak).unwrap()),
            ("old".into(), "new".into())
        );
        swap(&cur, &bak).unwrap();
        assert_eq!(
            (fs::read_to_string(&cur).unwrap(), fs::read_to_string(&bak).unwrap()),
            ("new".into(), "old".into())
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2, "no scratch files left");
    }

    #[test]
    fn backup_then_replace_keeps_old_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let (cur, bak, new) = (dir.path().join("app"), dir.path().join("bak"), dir.path().join("new"));
        fs::write(&cur, "v1").unwrap();
        fs::write(&new, "v2").unwrap();
        backup(&cur, &bak).unwrap();
        replace(&new, &cur).unwrap();
        assert_eq!(fs::read_to_string(&cur).unwrap(), "v2");
        assert_eq!(fs::read_to_string(&bak).unwrap(), "v1");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&cur).unwrap().permissions().mode() & 0o777, 0o755);
        }
    }
}
