//! File-system helpers with the engine's invariants: files appear atomically (temp file in the
//! same directory, then rename), and every I/O error names its path.

use std::fs;
use std::io::Write;
use std::path::Path;

use relman_manifest::Failure;

/// Writes `bytes` to `path` atomically: a temp file beside it, fsync, rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| Failure::io("create directory", dir, e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".relman-tmp-")
        .tempfile_in(dir)
        .map_err(|e| Failure::io("create a temporary file in", dir, e))?;
    tmp.write_all(bytes).map_err(|e| Failure::io("write", tmp.path(), e))?;
    tmp.as_file().sync_all().map_err(|e| Failure::io("sync", tmp.path(), e))?;
    tmp.persist(path).map_err(|e| Failure::io("replace", path, e.error))?;
    Ok(())
}

/// Reads a file to a string, naming the file on failure.
pub fn read_to_string(path: &Path) -> Result<String, Failure> {
    fs::read_to_string(path).map_err(|e| Failure::io("read", path, e))
}

pub fn create_dir_all(path: &Path) -> Result<(), Failure> {
    fs::create_dir_all(path).map_err(|e| Failure::io("create directory", path, e))
}
