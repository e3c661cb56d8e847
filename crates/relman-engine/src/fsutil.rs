//! File-system helpers with the engine's invariants: files appear atomically (temp file in the
//! same directory, then rename), and every I/O error names its path.

use std::fs;
use std::io::Write;
use std::path::Path;

use relman_manifest::Failure;

/// Writes `bytes` to `path` atomically: a temp file beside it, fsync, rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    write_atomic_with(path, |mut file, tmp| file.write_all(bytes).map_err(|e| Failure::io("write", tmp, e)))
}

/// Creates `path` atomically from what `write` puts in the file it is given (a temp file
/// beside `path`, whose path is the second argument): then 0644, fsync, rename. Nothing
/// appears at `path` when `write` fails.
pub fn write_atomic_with<T>(
    path: &Path,
    write: impl FnOnce(fs::File, &Path) -> Result<T, Failure>,
) -> Result<T, Failure> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| Failure::io("create directory", dir, e))?;
    let tmp = tempfile::Builder::new()
        .prefix(relman_install::lock::TEMP_PREFIX)
        .tempfile_in(dir)
        .map_err(|e| Failure::io("create a temporary file in", dir, e))?;
    let file = tmp.as_file().try_clone().map_err(|e| Failure::io("open", tmp.path(), e))?;
    let out = write(file, tmp.path())?;
    if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
        relman_install::crashpoint::point(&format!("written:{name}"));
    }
    make_readable(tmp.as_file(), tmp.path())?;
    tmp.as_file().sync_all().map_err(|e| Failure::io("sync", tmp.path(), e))?;
    tmp.persist(path).map_err(|e| Failure::io("write", path, e.error))?;
    Ok(out)
}

/// Reads a file to a string, naming the file on failure.
pub fn read_to_string(path: &Path) -> Result<String, Failure> {
    fs::read_to_string(path).map_err(|e| Failure::io("read", path, e))
}

pub fn create_dir_all(path: &Path) -> Result<(), Failure> {
    fs::create_dir_all(path).map_err(|e| Failure::io("create directory", path, e))
}

/// Temp files are created 0600; released files are meant to be served and read: 0644.
pub fn make_readable(file: &fs::File, path: &Path) -> Result<(), Failure> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o644))
            .map_err(|e| Failure::io("set permissions of", path, e))?;
    }
    #[cfg(not(unix))]
    let _ = (file, path);
    Ok(())
}

/// A file's size, mtime (ns) and inode: what changes when its bytes are rewritten, cheap to
/// read (a stamp compares them instead of hashing again).
pub fn file_identity(meta: &std::fs::Metadata) -> String {
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    #[cfg(unix)]
    let ino = std::os::unix::fs::MetadataExt::ino(meta);
    #[cfg(not(unix))]
    let ino = 0u64;
    format!("{} {mtime} {ino}", meta.len())
}

/// Whether `program` is an executable file in a directory of PATH (tools relman runs when
/// they are installed: helm; runc for the containers configuration).
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}
