//! Exclusive access to a destination, an install prefix or a project, and cleaning up after
//! runs that died.
//!
//! A [`Lock`] is an advisory lock (`flock` on Unix, `LockFileEx` on Windows) on a lock file
//! that stays in place (`.relman-lock`). The kernel releases it when its holder exits, however
//! it exits: a SIGKILLed relman leaves no stale lock, so there is nothing to recover by hand.
//! The file holds the holder's pid and what it is doing, for the message another relman shows
//! when it finds the lock taken. A lock is waited for up to [`wait`] (`RELMAN_LOCK_TIMEOUT`
//! seconds, default 10), then refused with a [`relman_manifest::ErrorClass::Busy`] failure
//! (exit 13).
//!
//! Temporary files and directories relman writes carry the prefix [`TEMP_PREFIX`] (and
//! staging directories [`STAGING_PREFIX`]); [`Lock::sweep`] removes those a dead run left in a
//! directory. Only the lock's holder may sweep: no live run can own them then.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use relman_manifest::Failure;

/// The name of the lock file relman keeps in a locked directory.
pub const LOCK_FILE: &str = ".relman-lock";
/// Prefix of every temporary file or directory relman creates beside its outputs.
pub const TEMP_PREFIX: &str = ".relman-tmp-";
/// Prefix of the staging directory a new version is filled in before it is renamed.
pub const STAGING_PREFIX: &str = ".relman-staging-";

/// How long to wait for a lock: `RELMAN_LOCK_TIMEOUT` seconds (default 10; 0 = do not wait).
pub fn wait() -> Duration {
    std::env::var("RELMAN_LOCK_TIMEOUT")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(Duration::from_secs(10))
}

/// A held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct Lock {
    _file: File,
    path: PathBuf,
}

impl Lock {
    /// Takes the lock `path` (created if missing, with its parent directory), waiting up to
    /// `wait` for another holder. `what` names the locked thing in messages ("the destination
    /// `dir:/srv/releases`") and `doing` what this process does ("promote 1.2.0").
    pub fn acquire(path: &Path, what: &str, doing: &str, wait: Duration) -> Result<Lock, Failure> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(|e| Failure::io("create", parent, e))?;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| Failure::io("open the lock", path, e))?;
        Lock::take(file, path, what, doing, wait, true)
    }

    /// Takes the lock of a directory that is published as it is (a `dir:` destination): on
    /// Unix the directory itself is locked, so no lock file appears among the released files
    /// (and one an older relman left there is removed); elsewhere, `DIR/.relman-lock`.
    pub fn acquire_dir(dir: &Path, what: &str, doing: &str, wait: Duration) -> Result<Lock, Failure> {
        #[cfg(unix)]
        {
            fs::create_dir_all(dir).map_err(|e| Failure::io("create", dir, e))?;
            let file = File::open(dir).map_err(|e| Failure::io("open the lock", dir, e))?;
            let lock = Lock::take(file, dir, what, doing, wait, false)?;
            match fs::remove_file(dir.join(LOCK_FILE)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Failure::io("remove", &dir.join(LOCK_FILE), e)),
            }
            Ok(lock)
        }
        #[cfg(not(unix))]
        {
            Lock::acquire(&dir.join(LOCK_FILE), what, doing, wait)
        }
    }

    /// Locks `file` (waiting up to `wait`); `note`: writes the holder into it.
    fn take(mut file: File, path: &Path, what: &str, doing: &str, wait: Duration, note: bool) -> Result<Lock, Failure> {
        let start = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if start.elapsed() < wait => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = file.read_to_string(&mut holder);
                    let holder = holder.trim();
                    let by = if holder.is_empty() { "another relman".to_string() } else { holder.to_string() };
                    return Err(Failure::busy(format!(
                        "{what} is locked by {by} (lock `{}`), waited {:.0?}",
                        path.display(),
                        wait
                    ))
                    .with_hint(
                        "wait for it to finish, or raise RELMAN_LOCK_TIMEOUT (seconds); a lock dies with its process",
                    ));
                }
                Err(TryLockError::Error(e)) => return Err(Failure::io("lock", path, e)),
            }
        }
        if note {
            let note = format!("relman (pid {}, {doing})\n", std::process::id());
            let written = file.set_len(0).and_then(|()| file.rewind()).and_then(|()| file.write_all(note.as_bytes()));
            if let Err(e) = written {
                return Err(Failure::io("write the lock", path, e));
            }
        }
        Ok(Lock { _file: file, path: path.to_path_buf() })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes what dead runs left in `dir`: entries named [`TEMP_PREFIX`]… or
    /// [`STAGING_PREFIX`]…. Returns how many were removed. A missing `dir` is empty.
    pub fn sweep(&self, dir: &Path) -> Result<usize, Failure> {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(Failure::io("read", dir, e)),
        };
        let mut removed = 0;
        for entry in entries {
            let entry = entry.map_err(|e| Failure::io("read", dir, e))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if !(name.starts_with(TEMP_PREFIX) || name.starts_with(STAGING_PREFIX)) {
                continue;
            }
            let path = entry.path();
            let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
            let result = if is_dir { fs::remove_dir_all(&path) } else { fs::remove_file(&path) };
            match result {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Failure::io("remove the leftover", &path, e)),
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use relman_manifest::ErrorClass;

    #[test]
    fn a_held_lock_is_refused_with_its_holder_and_freed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join(LOCK_FILE);
        let held = Lock::acquire(&path, "the prefix `p`", "install app", Duration::ZERO).unwrap();
        let err = Lock::acquire(&path, "the prefix `p`", "install app", Duration::from_millis(120)).unwrap_err();
        assert_eq!(err.class, ErrorClass::Busy);
        assert!(
            err.message.starts_with(&format!(
                "the prefix `p` is locked by relman (pid {}, install app) (lock `{}`)",
                std::process::id(),
                path.display()
            )),
            "{}",
            err.message
        );
        assert!(err.hint.unwrap().contains("RELMAN_LOCK_TIMEOUT"));
        drop(held);
        let again = Lock::acquire(&path, "the prefix `p`", "upgrade app", Duration::ZERO).unwrap();
        assert_eq!(
            fs::read_to_string(again.path()).unwrap(),
            format!("relman (pid {}, upgrade app)\n", std::process::id())
        );
    }

    #[test]
    fn a_waiter_gets_the_lock_when_the_holder_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOCK_FILE);
        let held = Lock::acquire(&path, "x", "a", Duration::ZERO).unwrap();
        let waiter = {
            let path = path.clone();
            std::thread::spawn(move || Lock::acquire(&path, "x", "b", Duration::from_secs(10)).map(|_| ()))
        };
        std::thread::sleep(Duration::from_millis(150));
        drop(held);
        waiter.join().unwrap().unwrap();
    }

    #[test]
    fn sweep_removes_only_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let lock = Lock::acquire(&dir.path().join(LOCK_FILE), "x", "a", Duration::ZERO).unwrap();
        fs::write(dir.path().join(".relman-tmp-app.tar.gz"), b"half").unwrap();
        fs::create_dir_all(dir.path().join(".relman-staging-1.0.0-abc/inner")).unwrap();
        fs::write(dir.path().join("app.tar.gz"), b"keep").unwrap();
        fs::write(dir.path().join(".hidden"), b"keep").unwrap();
        assert_eq!(lock.sweep(dir.path()).unwrap(), 2);
        let mut left: Vec<String> =
            fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        left.sort();
        assert_eq!(left, [".hidden", LOCK_FILE, "app.tar.gz"]);
        assert_eq!(lock.sweep(&dir.path().join("missing")).unwrap(), 0);
    }
}
