//! Unpacking release archives (`.tar.gz`, `.tar.zst`, `.zip`) without trusting them.
//!
//! Inputs: an archive file whose digest has already been checked, its format, and an empty
//! directory to unpack into. Outputs: the list of entries, and the paths of the binaries found
//! in it.
//!
//! Invariants:
//! * Every entry is checked before anything is written: no absolute path, no `..` component,
//!   no symlink or hard link whose target is absolute or leaves the archive root, no setuid or
//!   setgid file, no device
//!   file or fifo, no entry listed twice, no entry below a symlink or a file. One bad entry
//!   refuses the whole archive with a Verify failure naming it.
//! * The second pass writes only below the destination directory: parents are created one at a
//!   time and must be real directories, files are created with `create_new`, so nothing is
//!   written through a symlink. Symlinks are materialised as links; hard links as copies of the
//!   file they name, which must come earlier in the archive.
//! * No path longer than 4096 bytes or name longer than 255, at most 100 000 entries.
//! * Nothing unpacks to more than a limit ([`unpack_limit`]: 100× the archive, at least
//!   256 MiB, at most 16 GiB): the declared sizes are summed in the check pass (a bomb is
//!   refused at its first header, before anything is written), and the bytes written are
//!   counted in the second (declared sizes can lie).
//! * Binaries are found by file name anywhere in the archive (shallowest first); one that is a
//!   symlink must resolve to a regular file inside the unpacked tree.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use relman_manifest::{ArchiveFormat, Failure};

use crate::hash::CHUNK_SIZE;

/// What an archive entry is, after checking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    File {
        mode: u32,
    },
    Dir,
    /// A symlink and its target, as stored.
    Symlink(String),
    /// A hard link to an earlier entry, by normalised path.
    Hardlink(String),
}

/// One checked entry: a normalised relative path (`/`-separated, no `.`) and its kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub path: String,
    pub kind: Kind,
}

/// An entry as the container format describes it, before any check.
struct Raw {
    name: String,
    kind: RawKind,
    mode: u32,
    link: Option<String>,
    /// The content size the container declares (tar header, zip central directory).
    size: u64,
}

enum RawKind {
    File,
    Dir,
    Symlink,
    Hardlink,
    Device,
    Fifo,
    /// Metadata that is not a file (a pax global header).
    Skip,
    Other(String),
}

type Visitor<'a> = dyn FnMut(Raw, &mut dyn Read) -> Result<(), Failure> + 'a;

fn corrupt(label: &str, format: ArchiveFormat) -> impl Fn(&dyn std::fmt::Display) -> Failure + '_ {
    move |e| Failure::verify(format!("`{label}` is not a valid {format} archive: {e}"))
}

fn unsafe_entry(label: &str, name: &str, why: &str) -> Failure {
    Failure::verify(format!("`{label}` has an unsafe entry `{}`: {why}", name.escape_debug()))
        .with_hint("the archive was refused and nothing was installed; report it to the publisher")
}

/// Calls `f` for every entry in archive order, with a reader for its content.
fn visit(archive: &Path, format: ArchiveFormat, label: &str, f: &mut Visitor<'_>) -> Result<(), Failure> {
    let file = File::open(archive).map_err(|e| Failure::io("open", archive, e))?;
    let bad = corrupt(label, format);
    match format {
        ArchiveFormat::TarGz => visit_tar(flate2::read::MultiGzDecoder::new(BufReader::new(file)), label, format, f),
        ArchiveFormat::TarZst => {
            let decoder = zstd::Decoder::new(file).map_err(|e| bad(&e))?;
            visit_tar(decoder, label, format, f)
        }
        ArchiveFormat::Zip => visit_zip(file, label, format, f),
    }
}

fn utf8_name(bytes: &[u8], label: &str) -> Result<String, Failure> {
    String::from_utf8(bytes.to_vec())
        .map_err(|_| unsafe_entry(label, &String::from_utf8_lossy(bytes), "the name is not valid UTF-8"))
}

fn visit_tar(reader: impl Read, label: &str, format: ArchiveFormat, f: &mut Visitor<'_>) -> Result<(), Failure> {
    use tar::EntryType;
    let bad = corrupt(label, format);
    let mut archive = tar::Archive::new(reader);
    for item in archive.entries().map_err(|e| bad(&e))? {
        let mut entry = item.map_err(|e| bad(&e))?;
        let name = utf8_name(&entry.path_bytes(), label)?;
        let link = match entry.link_name_bytes() {
            Some(bytes) => Some(utf8_name(&bytes, label)?),
            None => None,
        };
        let header = entry.header();
        let mode = header.mode().unwrap_or(0o644);
        let size = header.size().map_err(|e| bad(&e))?;
        let kind = match header.entry_type() {
            EntryType::Regular | EntryType::Continuous if name.ends_with('/') => RawKind::Dir,
            EntryType::Regular | EntryType::Continuous => RawKind::File,
            EntryType::Directory => RawKind::Dir,
            EntryType::Symlink => RawKind::Symlink,
            EntryType::Link => RawKind::Hardlink,
            EntryType::Char | EntryType::Block => RawKind::Device,
            EntryType::Fifo => RawKind::Fifo,
            EntryType::XGlobalHeader => RawKind::Skip,
            other => RawKind::Other(format!("{other:?}")),
        };
        f(Raw { name, kind, mode, link, size }, &mut entry)?;
    }
    Ok(())
}

fn visit_zip(file: File, label: &str, format: ArchiveFormat, f: &mut Visitor<'_>) -> Result<(), Failure> {
    const S_IFMT: u32 = 0o170000;
    let bad = corrupt(label, format);
    let mut archive = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| bad(&e))?;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| bad(&e))?;
        let name = entry.name().map_err(|e| bad(&e))?.into_owned();
        let unix_mode = entry.unix_mode();
        let kind = if entry.is_symlink() {
            RawKind::Symlink
        } else if entry.is_dir() {
            RawKind::Dir
        } else {
            match unix_mode.map(|m| m & S_IFMT) {
                Some(0o020000 | 0o060000) => RawKind::Device,
                Some(0o010000) => RawKind::Fifo,
                Some(0o140000) => RawKind::Other("socket".to_string()),
                _ => RawKind::File,
            }
        };
        let link = match kind {
            RawKind::Symlink => {
                let mut target = Vec::new();
                (&mut entry).take(4096).read_to_end(&mut target).map_err(|e| bad(&e))?;
                Some(utf8_name(&target, label)?)
            }
            _ => None,
        };
        let mode = unix_mode.unwrap_or(0o644) & 0o7777;
        let size = entry.size();
        f(Raw { name, kind, mode, link, size }, &mut entry)?;
    }
    Ok(())
}

/// Longest entry path and longest name on it (Linux's PATH_MAX and NAME_MAX).
const MAX_PATH: usize = 4096;
const MAX_NAME: usize = 255;
/// Most entries an archive may have (a million empty files exhaust inodes, not bytes).
const MAX_ENTRIES: usize = 100_000;

/// Normalises an entry name to `a/b/c`: refuses absolute paths and `..`; drops `.` and empty
/// components. Backslashes count as separators (some zip tools write them).
fn normalize(name: &str) -> Result<String, &'static str> {
    if name.contains('\0') {
        return Err("the name contains a NUL byte");
    }
    let bytes = name.as_bytes();
    if name.starts_with(['/', '\\']) || (bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':') {
        return Err("absolute path");
    }
    if name.len() > MAX_PATH {
        return Err("the path is longer than 4096 bytes");
    }
    let mut parts = Vec::new();
    for part in name.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => return Err("the path has a `..` component"),
            p if p.len() > MAX_NAME => return Err("a name on the path is longer than 255 bytes"),
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

/// Checks that a symlink at `path` pointing at `target` stays inside the archive root.
fn check_symlink(path: &str, target: &str) -> Result<(), String> {
    let bytes = target.as_bytes();
    if target.is_empty() {
        return Err("symlink with an empty target".to_string());
    }
    if target.starts_with(['/', '\\']) || (bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':') {
        return Err(format!("symlink to the absolute path `{target}`"));
    }
    let mut depth = path.split('/').count() - 1;
    for part in target.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." if depth == 0 => return Err(format!("symlink to `{target}` leaves the archive")),
            ".." => depth -= 1,
            _ => depth += 1,
        }
    }
    Ok(())
}

/// Turns a raw entry into a checked one; `None` for entries that carry no file.
fn classify(raw: Raw, label: &str) -> Result<Option<Entry>, Failure> {
    let refuse = |why: &str| unsafe_entry(label, &raw.name, why);
    match raw.kind {
        RawKind::Skip => return Ok(None),
        RawKind::Device => return Err(refuse("device file")),
        RawKind::Fifo => return Err(refuse("fifo (special file)")),
        RawKind::Other(ref t) => return Err(refuse(&format!("unsupported entry type {t}"))),
        _ => {}
    }
    let path = normalize(&raw.name).map_err(refuse)?;
    if path.is_empty() {
        return match raw.kind {
            RawKind::Dir => Ok(None),
            _ => Err(refuse("empty path")),
        };
    }
    // A release binary never needs to run as its file's owner or group: setuid and setgid
    // bits are refused, not silently dropped.
    if matches!(raw.kind, RawKind::File) && raw.mode & 0o6000 != 0 {
        let bit = if raw.mode & 0o4000 != 0 { "setuid" } else { "setgid" };
        return Err(refuse(&format!("{bit} file (mode {:o})", raw.mode & 0o7777)));
    }
    let kind = match raw.kind {
        RawKind::File => Kind::File { mode: raw.mode },
        RawKind::Dir => Kind::Dir,
        RawKind::Symlink => {
            let target = raw.link.clone().ok_or_else(|| refuse("symlink without a target"))?;
            check_symlink(&path, &target).map_err(|why| refuse(&why))?;
            Kind::Symlink(target)
        }
        RawKind::Hardlink => {
            let target = raw.link.clone().ok_or_else(|| refuse("hard link without a target"))?;
            let target = normalize(&target)
                .ok()
                .filter(|t| !t.is_empty())
                .ok_or_else(|| refuse(&format!("hard link to `{target}` leaves the archive")))?;
            Kind::Hardlink(target)
        }
        RawKind::Device | RawKind::Fifo | RawKind::Skip | RawKind::Other(_) => {
            unreachable!("handled above")
        }
    };
    Ok(Some(Entry { path, kind }))
}

/// Proper ancestors of `a/b/c`: `a`, `a/b`.
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(i, _)| &path[..i])
}

/// Checks the archive as a whole: duplicates, hard link targets, entries below non-directories.
fn check_all(entries: &[Entry], label: &str) -> Result<(), Failure> {
    let mut kinds: HashMap<&str, &Kind> = HashMap::new();
    for e in entries {
        if let Kind::Hardlink(target) = &e.kind {
            if !matches!(kinds.get(target.as_str()), Some(Kind::File { .. })) {
                return Err(unsafe_entry(
                    label,
                    &e.path,
                    &format!("hard link to `{target}`, which is not a file earlier in the archive"),
                ));
            }
        }
        if let Some(previous) = kinds.insert(&e.path, &e.kind) {
            if !(*previous == Kind::Dir && e.kind == Kind::Dir) {
                return Err(unsafe_entry(label, &e.path, "the path appears twice in the archive"));
            }
        }
    }
    for e in entries {
        for parent in ancestors(&e.path) {
            match kinds.get(parent) {
                None | Some(Kind::Dir) => {}
                Some(Kind::Symlink(_)) => {
                    return Err(unsafe_entry(label, &e.path, &format!("its parent `{parent}` is a symlink")))
                }
                Some(_) => {
                    return Err(unsafe_entry(label, &e.path, &format!("its parent `{parent}` is not a directory")))
                }
            }
        }
    }
    Ok(())
}

/// The most an archive may unpack to: 100 times its own size, at least 256 MiB and at most
/// 16 GiB. Release archives of binaries compress 2-5×; a decompression bomb is 1000× and more.
pub(crate) fn unpack_limit(archive_size: u64) -> u64 {
    archive_size.saturating_mul(100).clamp(256 << 20, 16 << 30)
}

fn too_large(label: &str, limit: u64) -> Failure {
    Failure::verify(format!(
        "`{label}` would unpack to more than {} ({limit} bytes); refused, nothing was installed",
        human_bytes(limit)
    ))
    .with_hint(
        "a release archive does not expand that much: it may be a decompression bomb; report it to the publisher",
    )
}

fn human_bytes(n: u64) -> String {
    if n >= 1 << 30 {
        format!("{:.1} GiB", n as f64 / (1u64 << 30) as f64)
    } else {
        format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64)
    }
}

/// Lists and checks every entry without writing anything; refuses an archive whose declared
/// content (files, and the copies hard links make) exceeds `limit` bytes, at the first entry
/// that passes it.
pub(crate) fn check(archive: &Path, format: ArchiveFormat, label: &str, limit: u64) -> Result<Vec<Entry>, Failure> {
    let mut entries = Vec::new();
    let mut sizes: HashMap<String, u64> = HashMap::new();
    let mut total: u64 = 0;
    visit(archive, format, label, &mut |raw, _| {
        let declared = raw.size;
        if let Some(entry) = classify(raw, label)? {
            if entries.len() == MAX_ENTRIES {
                return Err(Failure::verify(format!(
                    "`{label}` has more than {MAX_ENTRIES} entries; refused, nothing was installed"
                ))
                .with_hint("a release archive does not hold that many files; report it to the publisher"));
            }
            let size = match &entry.kind {
                Kind::File { .. } => declared,
                Kind::Hardlink(target) => sizes.get(target).copied().unwrap_or(0),
                Kind::Dir | Kind::Symlink(_) => 0,
            };
            total = total.saturating_add(size);
            if total > limit {
                return Err(too_large(label, limit));
            }
            if matches!(entry.kind, Kind::File { .. }) {
                sizes.insert(entry.path.clone(), size);
            }
            entries.push(entry);
        }
        Ok(())
    })?;
    check_all(&entries, label)?;
    Ok(entries)
}

/// Checks every entry, then unpacks the archive into `dest` (created if missing). At most
/// `limit` bytes are written: the declared sizes are checked first, and the bytes actually
/// written are counted too (a zip's declared sizes can lie).
pub(crate) fn extract(
    archive: &Path,
    format: ArchiveFormat,
    label: &str,
    dest: &Path,
    limit: u64,
) -> Result<Vec<Entry>, Failure> {
    let entries = check(archive, format, label, limit)?;
    fs::create_dir_all(dest).map_err(|e| write_failure(dest, e))?;
    let mut next = 0;
    let mut budget = limit;
    visit(archive, format, label, &mut |raw, content| {
        let Some(entry) = classify(raw, label)? else {
            return Ok(());
        };
        if entries.get(next) != Some(&entry) {
            return Err(Failure::verify(format!("`{label}` changed while it was being unpacked")));
        }
        next += 1;
        write_entry(dest, &entry, content, label, &mut budget).map_err(|e| match e {
            Written::TooLarge => too_large(label, limit),
            Written::Failed(f) => f,
        })
    })?;
    Ok(entries)
}

enum Written {
    TooLarge,
    Failed(Failure),
}

impl From<Failure> for Written {
    fn from(f: Failure) -> Self {
        Written::Failed(f)
    }
}

fn write_failure(path: &Path, e: io::Error) -> Failure {
    Failure::install(format!("cannot write `{}`: {e}", path.display()))
}

/// Creates `root/rel` one directory at a time; each existing component must be a directory.
fn ensure_dirs(root: &Path, rel: &str, label: &str, entry: &str) -> Result<PathBuf, Failure> {
    let mut dir = root.to_path_buf();
    for part in rel.split('/').filter(|p| !p.is_empty()) {
        dir.push(part);
        match fs::symlink_metadata(&dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(unsafe_entry(label, entry, &format!("`{part}` on its path is not a directory"))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir(&dir).map_err(|e| write_failure(&dir, e))?
            }
            Err(e) => return Err(write_failure(&dir, e)),
        }
    }
    Ok(dir)
}

fn write_entry(
    root: &Path,
    entry: &Entry,
    content: &mut dyn Read,
    label: &str,
    budget: &mut u64,
) -> Result<(), Written> {
    let (parent, _) = entry.path.rsplit_once('/').unwrap_or(("", &entry.path));
    ensure_dirs(root, parent, label, &entry.path)?;
    let dest = root.join(&entry.path);
    match &entry.kind {
        Kind::Dir => {
            ensure_dirs(root, &entry.path, label, &entry.path)?;
        }
        Kind::File { mode } => {
            let mut options = OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, if mode & 0o111 != 0 { 0o755 } else { 0o644 });
            #[cfg(not(unix))]
            let _ = mode;
            let mut out = options.open(&dest).map_err(|e| write_failure(&dest, e))?;
            let mut buf = vec![0u8; CHUNK_SIZE];
            loop {
                let n = match content.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        return Err(Failure::verify(format!("`{label}` is corrupt at `{}`: {e}", entry.path)).into())
                    }
                };
                *budget = budget.checked_sub(n as u64).ok_or(Written::TooLarge)?;
                out.write_all(&buf[..n]).map_err(|e| write_failure(&dest, e))?;
            }
        }
        Kind::Symlink(target) => {
            #[cfg(unix)]
            std::os::unix::fs::symlink(target, &dest).map_err(|e| write_failure(&dest, e))?;
            #[cfg(not(unix))]
            let _ = target;
        }
        Kind::Hardlink(target) => {
            let source = root.join(target);
            let size = fs::metadata(&source).map_err(|e| write_failure(&source, e))?.len();
            *budget = budget.checked_sub(size).ok_or(Written::TooLarge)?;
            fs::copy(&source, &dest).map_err(|e| write_failure(&dest, e))?;
        }
    }
    Ok(())
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Finds the binary `name` in the unpacked tree: the shallowest entry with that file name.
pub(crate) fn find_binary(entries: &[Entry], root: &Path, name: &str, label: &str) -> Result<PathBuf, Failure> {
    let entry = entries
        .iter()
        .filter(|e| !matches!(e.kind, Kind::Dir) && file_name(&e.path) == name)
        .min_by_key(|e| (e.path.matches('/').count(), e.path.as_str()))
        .ok_or_else(|| {
            Failure::verify(format!("`{label}` does not contain the binary `{name}` its index lists"))
                .with_hint("the release is inconsistent; report it to the publisher")
        })?;
    let path = root.join(&entry.path);
    if !matches!(entry.kind, Kind::Symlink(_)) {
        return Ok(path);
    }
    let outside = || {
        Failure::verify(format!(
            "`{label}`: the binary `{}` is a symlink that does not lead to a file in the archive",
            entry.path
        ))
    };
    let real = fs::canonicalize(&path).map_err(|_| outside())?;
    let real_root = fs::canonicalize(root).map_err(|e| Failure::io("read", root, e))?;
    if !real.starts_with(&real_root) || !real.is_file() {
        return Err(outside());
    }
    Ok(real)
}

/// Every regular file with an executable bit (or an `.exe` name), by file name.
pub(crate) fn executables(entries: &[Entry], root: &Path, label: &str) -> Result<Vec<(String, PathBuf)>, Failure> {
    let mut found: Vec<(String, PathBuf)> = Vec::new();
    for e in entries {
        let Kind::File { mode } = e.kind else {
            continue;
        };
        let name = file_name(&e.path);
        if mode & 0o111 == 0 && !name.to_ascii_lowercase().ends_with(".exe") {
            continue;
        }
        if found.iter().any(|(n, _)| n == name) {
            return Err(Failure::install(format!("`{label}` has two executables named `{name}`"))
                .with_hint("install from the release's index.json, which says which binaries to install"));
        }
        found.push((name.to_string(), root.join(&e.path)));
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_refuses_escapes() {
        assert_eq!(normalize("./app-1/bin/app"), Ok("app-1/bin/app".to_string()));
        assert_eq!(normalize("a//b/"), Ok("a/b".to_string()));
        assert_eq!(normalize("a\\b"), Ok("a/b".to_string()));
        assert_eq!(normalize("./"), Ok(String::new()));
        assert_eq!(normalize("/etc/x"), Err("absolute path"));
        assert_eq!(normalize("\\x"), Err("absolute path"));
        assert_eq!(normalize("C:x"), Err("absolute path"));
        assert_eq!(normalize("../x"), Err("the path has a `..` component"));
        assert_eq!(normalize("a/../../x"), Err("the path has a `..` component"));
        assert_eq!(normalize("a/../b"), Err("the path has a `..` component"));
    }

    #[test]
    fn symlink_targets_must_stay_inside() {
        assert!(check_symlink("a/b/link", "../c").is_ok());
        assert!(check_symlink("a/link", "b/../c").is_ok());
        assert!(check_symlink("a/link", "../c").is_ok());
        assert!(check_symlink("link", "../x").is_err());
        assert!(check_symlink("a/link", "../../x").is_err());
        assert!(check_symlink("a/link", "/etc/passwd").is_err());
        assert!(check_symlink("a/link", "").is_err());
    }

    fn entry(path: &str, kind: Kind) -> Entry {
        Entry { path: path.to_string(), kind }
    }

    /// A `.tar.gz` with raw names: (name, type, link target, mode, data).
    fn tar_gz(path: &Path, items: &[(&str, tar::EntryType, &str, u32, &[u8])]) {
        let gz = flate2::write::GzEncoder::new(File::create(path).unwrap(), flate2::Compression::fast());
        let mut builder = tar::Builder::new(gz);
        for (name, ty, link, mode, data) in items {
            let mut header = tar::Header::new_gnu();
            header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            header.set_entry_type(*ty);
            header.set_mode(*mode);
            if !link.is_empty() {
                header.set_link_name(link).unwrap();
            }
            header.set_size(data.len() as u64);
            header.set_cksum();
            builder.append(&header, *data).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap();
    }

    #[test]
    fn a_bad_last_entry_means_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("a.tar.gz");
        tar_gz(
            &archive,
            &[
                ("top/", tar::EntryType::Directory, "", 0o755, b""),
                ("top/app", tar::EntryType::Regular, "", 0o755, b"bin"),
                ("../x", tar::EntryType::Regular, "", 0o644, b"x"),
            ],
        );
        let dest = dir.path().join("out");
        let err = extract(&archive, ArchiveFormat::TarGz, "a.tar.gz", &dest, unpack_limit(0)).unwrap_err();
        assert_eq!(err.message, "`a.tar.gz` has an unsafe entry `../x`: the path has a `..` component");
        assert!(!dest.exists(), "the check pass wrote nothing");
        assert!(!dir.path().join("x").exists());
    }

    #[test]
    fn a_bomb_is_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("bomb.tar.gz");
        let zeros = vec![0u8; 4 << 20];
        tar_gz(&archive, &[("top/zeros", tar::EntryType::Regular, "", 0o644, &zeros)]);
        let compressed = fs::metadata(&archive).unwrap().len();
        assert!(compressed < 64 << 10, "{compressed}");
        let dest = dir.path().join("out");
        let err = extract(&archive, ArchiveFormat::TarGz, "bomb.tar.gz", &dest, 1 << 20).unwrap_err();
        assert_eq!(err.class, relman_manifest::ErrorClass::Verify);
        assert!(
            err.message.starts_with("`bomb.tar.gz` would unpack to more than 1.0 MiB (1048576 bytes); refused"),
            "{}",
            err.message
        );
        assert!(!dest.exists(), "the check pass wrote nothing");
        // Under the limit, the same archive unpacks.
        extract(&archive, ArchiveFormat::TarGz, "bomb.tar.gz", &dest, 8 << 20).unwrap();
        assert_eq!(fs::metadata(dest.join("top/zeros")).unwrap().len(), 4 << 20);
    }

    #[test]
    fn setuid_and_setgid_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for (mode, bit) in [(0o4755, "setuid"), (0o2755, "setgid")] {
            let archive = dir.path().join(format!("{bit}.tar.gz"));
            tar_gz(&archive, &[("top/app", tar::EntryType::Regular, "", mode, b"#!/bin/sh\n")]);
            let dest = dir.path().join(format!("out-{bit}"));
            let err = extract(&archive, ArchiveFormat::TarGz, "a.tar.gz", &dest, unpack_limit(0)).unwrap_err();
            assert_eq!(err.message, format!("`a.tar.gz` has an unsafe entry `top/app`: {bit} file (mode {mode:o})"));
            assert!(!dest.exists(), "the check pass wrote nothing");
        }
    }

    #[test]
    fn hard_links_count_as_the_copies_they_make() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("links.tar.gz");
        let data = vec![7u8; 600];
        tar_gz(
            &archive,
            &[
                ("a", tar::EntryType::Regular, "", 0o644, &data),
                ("b", tar::EntryType::Link, "a", 0o644, b""),
                ("c", tar::EntryType::Link, "a", 0o644, b""),
            ],
        );
        let dest = dir.path().join("out");
        let err = extract(&archive, ArchiveFormat::TarGz, "links.tar.gz", &dest, 1500).unwrap_err();
        assert!(err.message.contains("would unpack to more than"), "{}", err.message);
        assert!(!dest.exists());
        extract(&archive, ArchiveFormat::TarGz, "links.tar.gz", &dest, 1800).unwrap();
        // The write pass counts too: a budget the check pass alone would not enforce.
        let mut budget = 1000;
        let entry = entry("x", Kind::File { mode: 0o644 });
        let fresh = dir.path().join("fresh");
        fs::create_dir(&fresh).unwrap();
        let r = write_entry(&fresh, &entry, &mut &vec![1u8; 1200][..], "l", &mut budget);
        assert!(matches!(r, Err(Written::TooLarge)));
    }

    #[test]
    fn long_names_and_too_many_entries_are_refused() {
        assert_eq!(normalize(&format!("a/{}", "n".repeat(256))), Err("a name on the path is longer than 255 bytes"));
        assert!(normalize(&format!("a/{}", "n".repeat(255))).is_ok());
        assert_eq!(normalize(&"a/".repeat(2049)), Err("the path is longer than 4096 bytes"));

        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("many.tar.gz");
        let gz = flate2::write::GzEncoder::new(File::create(&archive).unwrap(), flate2::Compression::fast());
        let mut builder = tar::Builder::new(gz);
        for i in 0..=MAX_ENTRIES {
            let mut header = tar::Header::new_gnu();
            header.set_path(format!("d{i}/")).unwrap();
            header.set_entry_type(tar::EntryType::Directory);
            header.set_size(0);
            header.set_cksum();
            builder.append(&header, &b""[..]).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap();
        let err = check(&archive, ArchiveFormat::TarGz, "many.tar.gz", unpack_limit(0)).unwrap_err();
        assert_eq!(err.message, "`many.tar.gz` has more than 100000 entries; refused, nothing was installed");
    }

    #[test]
    fn the_limit_scales_with_the_archive() {
        assert_eq!(unpack_limit(0), 256 << 20);
        assert_eq!(unpack_limit(10 << 20), 1000 << 20);
        assert_eq!(unpack_limit(1 << 40), 16 << 30);
    }

    #[test]
    fn extracts_and_finds_binaries_through_links() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("a.tar.gz");
        tar_gz(
            &archive,
            &[
                ("top/libexec/app-real", tar::EntryType::Regular, "", 0o755, b"real"),
                ("top/app", tar::EntryType::Symlink, "libexec/app-real", 0o777, b""),
                ("top/copy", tar::EntryType::Link, "top/libexec/app-real", 0o644, b""),
                ("top/README", tar::EntryType::Regular, "", 0o644, b"doc"),
                ("deeper/dir/app", tar::EntryType::Regular, "", 0o755, b"not this one"),
            ],
        );
        let dest = dir.path().join("out");
        let entries = extract(&archive, ArchiveFormat::TarGz, "a.tar.gz", &dest, unpack_limit(0)).unwrap();
        assert_eq!(entries.len(), 5);
        let app = find_binary(&entries, &dest, "app", "a.tar.gz").unwrap();
        assert_eq!(fs::read(&app).unwrap(), b"real", "shallowest match, symlink resolved");
        assert_eq!(fs::read(dest.join("top/copy")).unwrap(), b"real", "hard link materialised as a copy");
        assert!(find_binary(&entries, &dest, "nope", "a.tar.gz").unwrap_err().message.contains("`nope`"));
        // Without an index: regular files with an executable bit; links do not count.
        let exes = executables(&entries, &dest, "a.tar.gz").unwrap();
        assert_eq!(
            exes,
            vec![("app".into(), dest.join("deeper/dir/app")), ("app-real".into(), dest.join("top/libexec/app-real"))]
        );
        let twice = [entry("a/app", Kind::File { mode: 0o755 }), entry("b/app", Kind::File { mode: 0o700 })];
        let err = executables(&twice, &dest, "a.tar.gz").unwrap_err();
        assert_eq!(err.message, "`a.tar.gz` has two executables named `app`");
    }

    #[test]
    fn garbage_is_a_verify_failure() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("a.zip");
        fs::write(&archive, b"PK\x03\x04 definitely not a zip").unwrap();
        for format in [ArchiveFormat::Zip, ArchiveFormat::TarGz, ArchiveFormat::TarZst] {
            let err = check(&archive, format, "a.zip", unpack_limit(0)).unwrap_err();
            assert_eq!(err.class, relman_manifest::ErrorClass::Verify, "{format}");
            assert!(err.message.starts_with(&format!("`a.zip` is not a valid {format} archive")), "{}", err.message);
        }
    }

    #[test]
    fn check_all_refuses_ambiguous_trees() {
        let file = Kind::File { mode: 0o644 };
        let ok = [entry("d", Kind::Dir), entry("d", Kind::Dir), entry("d/f", file.clone())];
        assert!(check_all(&ok, "a.tar.gz").is_ok());
        let twice = [entry("f", file.clone()), entry("f", file.clone())];
        assert!(check_all(&twice, "a").unwrap_err().message.contains("appears twice"));
        // `l -> .` then `l/x`: writing through a symlink could chain out of the root.
        let through = [entry("l", Kind::Symlink(".".into())), entry("l/x", file.clone())];
        assert!(check_all(&through, "a").unwrap_err().message.contains("its parent `l` is a symlink"));
        let below_file = [entry("f", file.clone()), entry("f/x", file.clone())];
        assert!(check_all(&below_file, "a").unwrap_err().message.contains("is not a directory"));
        let dangling = [entry("h", Kind::Hardlink("f".into())), entry("f", file)];
        assert!(check_all(&dangling, "a").unwrap_err().message.contains("not a file earlier"));
    }
}
