//! Verifying a published release: re-hash every file and cross-check the three documents.
//!
//! Inputs: a release root (with `channels.json`: its stable version is checked) or a version
//! directory (with `index.json`), local or over HTTP. Outputs: a [`VerifyReport`] listing every
//! file with what was expected and found, and one line per problem.
//!
//! What is checked:
//! * `checksums.txt`, `index.json` and `manifest.json` are present and parse; a missing,
//!   truncated or corrupt one is a Verify failure naming the file (nothing else can be trusted).
//! * every file listed in `checksums.txt` is re-hashed: local files in parallel from disk,
//!   URLs streamed through the hasher without a temporary file;
//! * every `index.json` platform is in `checksums.txt` with the same digest and its size
//!   matches the file; every manifest archive likewise; the manifest's `checksums` and `index`
//!   artifacts match the bytes of `checksums.txt` and `index.json`; the index, manifest (and
//!   channel) agree on name and version;
//! * a local version directory holds nothing else (signatures, attestations, SBOMs and release
//!   notes that later stages add are allowed).
//!
//! A report with problems is still `Ok`: callers render it and choose the exit code with
//! [`VerifyReport::is_ok`]. [`verify_dir_against_checksums`] is the strict variant the engine's
//! `promote` uses on a local directory.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use relman_manifest::{ArtifactKind, Channels, Failure, Index, Manifest, Sha256};
use serde::Serialize;

use crate::checksums::{self, check_file_name};
use crate::hash::{sha256_bytes, sha256_files};
use crate::source::{self, Location};

/// Largest `index.json` / `manifest.json` / `checksums.txt` / `channels.json` read.
pub const DOCUMENT_LIMIT: u64 = 16 << 20;

/// Name suffixes of files that later stages publish beside the archives.
const ALLOWED_EXTRA_SUFFIXES: [&str; 5] = [
    ".sig",
    ".sigstore.json",
    ".intoto.jsonl",
    ".spdx.json",
    ".cdx.json",
];
const ALLOWED_EXTRA_NAMES: [&str; 1] = ["release-notes.md"];

pub const INDEX_FILE: &str = "index.json";
pub const MANIFEST_FILE: &str = "manifest.json";
pub const CHANNELS_FILE: &str = "channels.json";

/// The outcome of verifying one release version.
#[derive(Clone, Debug, Serialize)]
pub struct VerifyReport {
    /// The version directory verified (credentials redacted).
    pub location: String,
    pub version: String,
    pub files: Vec<FileCheck>,
    /// One line per problem, each naming a file.
    pub problems: Vec<String>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// One file of the release and what was found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FileCheck {
    pub name: String,
    pub status: FileStatus,
    /// The digest a listing promised.
    pub expected: Option<Sha256>,
    /// The digest of the bytes found.
    pub found: Option<Sha256>,
    /// The size found, in bytes.
    pub size: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileStatus {
    Ok,
    Mismatch,
    Missing,
    Extra,
    SizeMismatch,
}

fn is_allowed_extra(name: &str) -> bool {
    ALLOWED_EXTRA_NAMES.contains(&name) || ALLOWED_EXTRA_SUFFIXES.iter().any(|s| name.ends_with(s))
}

/// A relative path from a document (`1.2.0/index.json`): no scheme, not absolute, no `..`.
pub(crate) fn check_relative(rel: &str) -> Result<(), String> {
    if rel.is_empty()
        || rel.contains("://")
        || rel.starts_with(['/', '\\'])
        || rel.split(['/', '\\']).any(|p| p == "..")
        || rel.chars().any(char::is_control)
    {
        return Err(format!(
            "`{}` is not a relative path inside the release",
            rel.escape_debug()
        ));
    }
    Ok(())
}

/// The version directory to verify, and the version `channels.json` says it is (if used).
fn locate_version(loc: &Location) -> Result<(Location, Option<String>), Failure> {
    if loc.file_name().as_deref() == Some(INDEX_FILE) {
        let dir = loc
            .parent()
            .ok_or_else(|| Failure::usage(format!("`{loc}` has no parent directory")))?;
        return Ok((dir, None));
    }
    if source::exists(&loc.join(INDEX_FILE))? {
        return Ok((loc.clone(), None));
    }
    let channels_loc = loc.join(CHANNELS_FILE);
    if let Some(bytes) = source::read_optional(&channels_loc, DOCUMENT_LIMIT)? {
        let channels = parse_channels(&channels_loc, &bytes)?;
        let stable = channels.stable.ok_or_else(|| {
            Failure::verify(format!("`{channels_loc}` has no stable release to verify")).with_hint(
                format!(
                    "pass a version directory such as `{}`",
                    loc.join("<version>")
                ),
            )
        })?;
        check_relative(&stable.index)
            .map_err(|why| Failure::verify(format!("`{channels_loc}`: stable index {why}")))?;
        let dir = loc.join(&stable.index).parent().ok_or_else(|| {
            Failure::verify(format!("`{channels_loc}`: stable index has no directory"))
        })?;
        return Ok((dir, Some(stable.version)));
    }
    for other in [checksums::FILE_NAME, MANIFEST_FILE] {
        if source::exists(&loc.join(other))? {
            let hint = format!("`{loc}` looks like a version directory (it has `{other}`)");
            return Err(
                Failure::verify(format!("`{}` is missing", loc.join(INDEX_FILE))).with_hint(hint),
            );
        }
    }
    if let Location::Path(p) = loc {
        if !p.exists() {
            return Err(Failure::usage(format!("`{}` does not exist", p.display())));
        }
    }
    Err(Failure::usage(format!("`{loc}` is not a release: it has neither `{CHANNELS_FILE}` nor `{INDEX_FILE}`"))
        .with_hint("pass a release root (holding `channels.json`, written by promote) or a version directory such as `<root>/1.2.0`"))
}

pub(crate) fn parse_channels(loc: &Location, bytes: &[u8]) -> Result<Channels, Failure> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| Failure::verify(format!("`{loc}` is not valid UTF-8: {e}")))?;
    Channels::from_json(text)
        .map_err(|e| Failure::verify(format!("`{loc}` is not a valid channels file: {e}")))
}

pub(crate) fn parse_index(loc: &Location, bytes: &[u8]) -> Result<Index, Failure> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| Failure::verify(format!("`{loc}` is not valid UTF-8: {e}")))?;
    Index::from_json(text)
        .map_err(|e| Failure::verify(format!("`{loc}` is not a valid index: {e}")))
}

fn required(loc: &Location) -> Result<Vec<u8>, Failure> {
    source::read_optional(loc, DOCUMENT_LIMIT)?.ok_or_else(|| {
        Failure::verify(format!("`{loc}` is missing")).with_hint(
            "every release version has `checksums.txt`, `index.json` and `manifest.json`",
        )
    })
}

/// Verifies the release at `loc`: a version directory, or a release root's stable version.
pub fn verify_release(loc: &Location) -> Result<VerifyReport, Failure> {
    let (dir, channel_version) = locate_version(loc)?;
    let mut problems = Vec::new();

    let index_loc = dir.join(INDEX_FILE);
    let index_bytes = required(&index_loc)?;
    let index = parse_index(&index_loc, &index_bytes)?;

    let checksums_name = match check_file_name(&index.checksums) {
        Ok(()) => index.checksums.clone(),
        Err(why) => {
            problems.push(format!("{INDEX_FILE}: checksums {why}"));
            checksums::FILE_NAME.to_string()
        }
    };
    let checksums_loc = dir.join(&checksums_name);
    let checksums_bytes = required(&checksums_loc)?;
    let entries = std::str::from_utf8(&checksums_bytes)
        .map_err(|e| e.to_string())
        .and_then(checksums::parse)
        .map_err(|e| Failure::verify(format!("`{checksums_loc}` is not valid: {e}")))?;

    let manifest_loc = dir.join(MANIFEST_FILE);
    let manifest_bytes = required(&manifest_loc)?;
    let manifest = std::str::from_utf8(&manifest_bytes)
        .map_err(|e| e.to_string())
        .and_then(Manifest::from_json)
        .map_err(|e| Failure::verify(format!("`{manifest_loc}` is not a valid manifest: {e}")))?;

    // Re-hash every listed file.
    let found = hash_listed(&dir, &entries)?;
    let mut files = Vec::new();
    let mut sizes: BTreeMap<&str, u64> = BTreeMap::new();
    for ((name, expected), result) in entries.iter().zip(found) {
        let check = match result {
            Some((digest, size)) => {
                sizes.insert(name, size);
                let status = if digest == *expected {
                    FileStatus::Ok
                } else {
                    problems.push(format!(
                        "{name}: sha256 mismatch ({checksums_name} says {}…, file has {}…)",
                        expected.short(),
                        digest.short()
                    ));
                    FileStatus::Mismatch
                };
                FileCheck {
                    name: name.clone(),
                    status,
                    expected: Some(expected.clone()),
                    found: Some(digest),
                    size: Some(size),
                }
            }
            None => {
                problems.push(format!("{name}: listed in {checksums_name} but missing"));
                FileCheck {
                    name: name.clone(),
                    status: FileStatus::Missing,
                    expected: Some(expected.clone()),
                    found: None,
                    size: None,
                }
            }
        };
        files.push(check);
    }
    let mut size_mismatch =
        |name: &str, listing: &str, expected: u64, problems: &mut Vec<String>| {
            if let Some(&size) = sizes.get(name) {
                if size != expected {
                    problems.push(format!(
                        "{name}: size mismatch ({listing} says {expected} bytes, file has {size})"
                    ));
                    if let Some(check) = files
                        .iter_mut()
                        .find(|c| c.name == name && c.status == FileStatus::Ok)
                    {
                        check.status = FileStatus::SizeMismatch;
                    }
                }
            }
        };

    // index.json against checksums.txt and the files.
    for p in &index.platforms {
        match checksums::lookup(&entries, &p.file) {
            None => problems.push(format!(
                "{}: in {INDEX_FILE} but not in {checksums_name}",
                p.file
            )),
            Some(listed) if *listed != p.sha256 => problems.push(format!(
                "{}: sha256 mismatch ({INDEX_FILE} says {}…, {checksums_name} says {}…)",
                p.file,
                p.sha256.short(),
                listed.short()
            )),
            Some(_) => {}
        }
        size_mismatch(&p.file, INDEX_FILE, p.size, &mut problems);
    }

    // manifest.json archives against checksums.txt and the files.
    for a in manifest.archives() {
        match (checksums::lookup(&entries, &a.name), &a.sha256) {
            (None, _) => problems.push(format!(
                "{}: in {MANIFEST_FILE} but not in {checksums_name}",
                a.name
            )),
            (Some(_), None) => problems.push(format!(
                "{}: {MANIFEST_FILE} records no sha256 for it",
                a.name
            )),
            (Some(listed), Some(recorded)) if listed != recorded => problems.push(format!(
                "{}: sha256 mismatch ({MANIFEST_FILE} says {}…, {checksums_name} says {}…)",
                a.name,
                recorded.short(),
                listed.short()
            )),
            _ => {}
        }
        match a.size {
            Some(size) => size_mismatch(&a.name, MANIFEST_FILE, size, &mut problems),
            None => problems.push(format!(
                "{}: {MANIFEST_FILE} records no size for it",
                a.name
            )),
        }
    }

    // The documents themselves, as the manifest recorded them.
    for (kind, label, name, bytes) in [
        (
            ArtifactKind::Checksums,
            "checksums",
            checksums_name.as_str(),
            &checksums_bytes,
        ),
        (ArtifactKind::Index, "index", INDEX_FILE, &index_bytes),
    ] {
        let digest = sha256_bytes(bytes);
        let size = bytes.len() as u64;
        let recorded = manifest.artifacts.iter().find(|a| a.kind == kind);
        let mut status = FileStatus::Ok;
        match recorded {
            None => problems.push(format!(
                "{MANIFEST_FILE}: no `{label}` artifact records {name}"
            )),
            Some(a) => {
                if a.name != name {
                    problems.push(format!(
                        "{MANIFEST_FILE}: the `{label}` artifact is `{}`, not `{name}`",
                        a.name
                    ));
                }
                match &a.sha256 {
                    Some(r) if *r != digest => {
                        problems.push(format!(
                            "{name}: sha256 mismatch ({MANIFEST_FILE} says {}…, file has {}…)",
                            r.short(),
                            digest.short()
                        ));
                        status = FileStatus::Mismatch;
                    }
                    Some(_) => {}
                    None => {
                        problems.push(format!("{name}: {MANIFEST_FILE} records no sha256 for it"))
                    }
                }
                if let Some(s) = a.size.filter(|&s| s != size) {
                    problems.push(format!(
                        "{name}: size mismatch ({MANIFEST_FILE} says {s} bytes, file has {size})"
                    ));
                    if status == FileStatus::Ok {
                        status = FileStatus::SizeMismatch;
                    }
                }
            }
        }
        files.push(FileCheck {
            name: name.to_string(),
            status,
            expected: recorded.and_then(|a| a.sha256.clone()),
            found: Some(digest),
            size: Some(size),
        });
    }
    files.push(FileCheck {
        name: MANIFEST_FILE.to_string(),
        status: FileStatus::Ok,
        expected: None,
        found: Some(sha256_bytes(&manifest_bytes)),
        size: Some(manifest_bytes.len() as u64),
    });

    // Names and versions agree.
    if index.version != manifest.version {
        problems.push(format!(
            "{INDEX_FILE}: version `{}` does not match {MANIFEST_FILE}'s `{}`",
            index.version, manifest.version
        ));
    }
    if index.name != manifest.project.name {
        problems.push(format!(
            "{INDEX_FILE}: name `{}` does not match {MANIFEST_FILE}'s `{}`",
            index.name, manifest.project.name
        ));
    }
    if let Some(channel) = channel_version.filter(|v| *v != index.version) {
        problems.push(format!(
            "{CHANNELS_FILE}: stable is `{channel}` but its {INDEX_FILE} says `{}`",
            index.version
        ));
    }

    // Nothing unlisted in a local version directory.
    if let Location::Path(p) = &dir {
        let mut known: BTreeSet<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
        known.extend([checksums_name.as_str(), INDEX_FILE, MANIFEST_FILE]);
        for name in list_dir(p)? {
            if known.contains(name.as_str()) || is_allowed_extra(&name) {
                continue;
            }
            problems.push(format!("{name}: not listed in {checksums_name}"));
            files.push(FileCheck {
                name,
                status: FileStatus::Extra,
                expected: None,
                found: None,
                size: None,
            });
        }
    }

    Ok(VerifyReport {
        location: dir.display(),
        version: index.version,
        files,
        problems,
    })
}

fn list_dir(dir: &Path) -> Result<Vec<String>, Failure> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| Failure::io("list", dir, e))? {
        let entry = entry.map_err(|e| Failure::io("list", dir, e))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// Hashes every listed file; `None` for a missing one.
fn hash_listed(
    dir: &Location,
    entries: &[(String, Sha256)],
) -> Result<Vec<Option<(Sha256, u64)>>, Failure> {
    match dir {
        Location::Path(p) => {
            let paths: Vec<PathBuf> = entries.iter().map(|(n, _)| p.join(n)).collect();
            paths
                .iter()
                .zip(sha256_files(&paths))
                .map(|(path, result)| match result {
                    Ok(found) => Ok(Some(found)),
                    Err(e) if matches!(e.kind(), io::ErrorKind::NotFound) => Ok(None),
                    Err(e) => Err(Failure::io("read", path, e)),
                })
                .collect()
        }
        Location::Url(_) => entries
            .iter()
            .map(|(n, _)| source::hash_location(&dir.join(n)))
            .collect(),
    }
}

/// Re-hashes every file `dir/checksums.txt` lists; returns the entries when all match.
///
/// The failure names the first bad file and how many others are bad.
pub fn verify_dir_against_checksums(dir: &Path) -> Result<Vec<(String, Sha256)>, Failure> {
    let path = dir.join(checksums::FILE_NAME);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Failure::verify(format!("`{}` is missing", path.display())))
        }
        Err(e) => return Err(Failure::io("read", &path, e)),
    };
    let entries = checksums::parse(&text)
        .map_err(|e| Failure::verify(format!("`{}` is not valid: {e}", path.display())))?;
    let paths: Vec<PathBuf> = entries.iter().map(|(n, _)| dir.join(n)).collect();
    let mut bad = Vec::new();
    for (((name, expected), path), result) in entries.iter().zip(&paths).zip(sha256_files(&paths)) {
        match result {
            Ok((digest, _)) if digest == *expected => {}
            Ok((digest, _)) => bad.push(format!(
                "`{}`: sha256 mismatch (checksums.txt says {}…, file has {}…)",
                path.display(),
                expected.short(),
                digest.short()
            )),
            Err(e) if e.kind() == io::ErrorKind::NotFound => bad.push(format!(
                "`{}` is listed in checksums.txt but missing",
                path.display()
            )),
            Err(e) => bad.push(format!("cannot read `{}` ({name}): {e}", path.display())),
        }
    }
    match bad.len() {
        0 => Ok(entries),
        1 => Err(Failure::verify(bad.swap_remove(0))),
        2 => Err(Failure::verify(format!("{} (and 1 other file)", bad[0]))),
        n => Err(Failure::verify(format!(
            "{} (and {} other files)",
            bad[0],
            n - 1
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_extras() {
        assert!(is_allowed_extra("app-1.0-x.tar.gz.sig"));
        assert!(is_allowed_extra("app.spdx.json"));
        assert!(is_allowed_extra("release-notes.md"));
        assert!(!is_allowed_extra("notes.txt"));
    }

    #[test]
    fn relative_paths() {
        assert!(check_relative("1.2.0/index.json").is_ok());
        assert!(check_relative("../x/index.json").is_err());
        assert!(check_relative("/etc/index.json").is_err());
        assert!(check_relative("https://evil/index.json").is_err());
        assert!(check_relative("").is_err());
    }

    #[test]
    fn dir_against_checksums_names_first_bad_file_and_count() {
        let dir = tempfile::tempdir().unwrap();
        let mut entries = Vec::new();
        for name in ["a", "b", "c"] {
            fs::write(dir.path().join(name), name).unwrap();
            entries.push((name.to_string(), sha256_bytes(name.as_bytes())));
        }
        fs::write(
            dir.path().join("checksums.txt"),
            checksums::render(&entries),
        )
        .unwrap();
        assert_eq!(verify_dir_against_checksums(dir.path()).unwrap(), entries);

        fs::write(dir.path().join("a"), "changed").unwrap();
        let err = verify_dir_against_checksums(dir.path()).unwrap_err();
        assert_eq!(err.class, relman_manifest::ErrorClass::Verify);
        assert!(
            err.message.contains("/a`: sha256 mismatch"),
            "{}",
            err.message
        );
        assert!(!err.message.contains("other files"), "{}", err.message);

        fs::remove_file(dir.path().join("c")).unwrap();
        let err = verify_dir_against_checksums(dir.path()).unwrap_err();
        assert!(
            err.message.ends_with("(and 1 other file)"),
            "{}",
            err.message
        );

        fs::remove_file(dir.path().join("checksums.txt")).unwrap();
        let err = verify_dir_against_checksums(dir.path()).unwrap_err();
        assert!(
            err.message.contains("checksums.txt` is missing"),
            "{}",
            err.message
        );
    }
}
