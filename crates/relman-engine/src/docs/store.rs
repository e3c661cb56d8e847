//! Where a docs site lives: a [`Store`] gives a [`Snapshot`] of what is there and applies a
//! list of [`Change`]s computed from it — all of them or none, and only if nothing moved
//! since the snapshot ([`transact`] recomputes from a fresh one when it did).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use relman_install::lock::{Lock, LOCK_FILE, STAGING_PREFIX, TEMP_PREFIX};
use relman_manifest::Failure;

use super::site::{self, parse_versions, VersionEntry};
use super::{LATEST, ROOT_PAGE, VERSIONS_FILE};
use crate::report::Reporter;

/// One change to the site's files.
pub enum Change {
    Put(String, Vec<u8>),
    /// A file of the built site, with its id in the store's terms.
    PutFile(String, PathBuf, String),
    Delete(String),
}

impl Change {
    pub fn path(&self) -> &str {
        match self {
            Change::Put(p, _) | Change::PutFile(p, _, _) | Change::Delete(p) => p,
        }
    }
}

/// What a store holds now.
pub struct Snapshot {
    /// Every file, by path, with its id (a git blob id or a sha256).
    pub files: BTreeMap<String, String>,
    pub versions: Vec<VersionEntry>,
    pub versions_text: Option<String>,
    /// The bytes of the small files promote rewrites (`latest/**`, `index.html`, `versions.json`).
    small: BTreeMap<String, Vec<u8>>,
    /// A date for commits that have no release of their own (the tip's).
    pub epoch_hint: i64,
    /// The git commit the snapshot is of.
    pub tip: Option<String>,
}

impl Snapshot {
    pub fn content(&self, path: &str) -> Option<Vec<u8>> {
        self.small.get(path).cloned()
    }

    /// Fills `versions` and the small files, reading each with `read`.
    pub(super) fn new(
        files: BTreeMap<String, String>,
        epoch_hint: i64,
        tip: Option<String>,
        origin: &str,
        read: &mut ReadMany<'_>,
    ) -> Result<Snapshot, Failure> {
        let wanted: Vec<&str> = files.keys().map(|s| s.as_str()).filter(|p| is_small(p)).collect();
        let contents = if wanted.is_empty() { Vec::new() } else { read(&wanted)? };
        let small: BTreeMap<String, Vec<u8>> = wanted.iter().map(|p| p.to_string()).zip(contents).collect();
        let versions_text = small.get(VERSIONS_FILE).map(|b| String::from_utf8_lossy(b).to_string());
        let versions = match &versions_text {
            Some(t) => parse_versions(t, &format!("{origin} {VERSIONS_FILE}"))?,
            None => Vec::new(),
        };
        Ok(Snapshot { files, versions, versions_text, small, epoch_hint, tip })
    }
}

/// Reads several files of a store at once, in order.
pub type ReadMany<'a> = dyn FnMut(&[&str]) -> Result<Vec<Vec<u8>>, Failure> + 'a;

pub fn is_small(path: &str) -> bool {
    path == ROOT_PAGE || path == VERSIONS_FILE || path.starts_with(&format!("{LATEST}/"))
}

pub enum Applied {
    Done,
    /// The store moved since the snapshot: nothing was written.
    Moved,
}

pub trait Store {
    /// Where, for messages (`branch gh-pages of origin`, a path).
    fn location(&self) -> String;
    fn snapshot(&self) -> Result<Snapshot, Failure>;
    /// The ids of local files in the store's terms.
    fn ids(&self, files: &[PathBuf]) -> Result<Vec<String>, Failure>;
    fn apply(&self, base: &Snapshot, changes: &[Change], message: &str, epoch: i64) -> Result<Applied, Failure>;
    fn clone_box(&self) -> Box<dyn Store>;
    /// What a CI job needs to write here. Default: nothing.
    fn ci_needs(&self) -> crate::destination::CiNeeds {
        crate::destination::CiNeeds::default()
    }
}

const TRIES: usize = 5;

/// The sha256 of each file, hex: the ids of stores that record sha256.
fn sha256_ids(files: &[PathBuf]) -> Result<Vec<String>, Failure> {
    files
        .iter()
        .map(|p| {
            relman_install::hash::sha256_file(p)
                .map(|(s, _)| s.as_str().to_string())
                .map_err(|e| Failure::io("read", p, e))
        })
        .collect()
}

/// Computes changes from a fresh snapshot with `f` and applies them; when the store moved
/// meanwhile (another run pushed), recomputes on the new state — never overwrites it.
/// Returns how many files changed (0: nothing to do, no commit made).
pub fn transact(
    store: &dyn Store,
    message: &str,
    epoch: i64,
    reporter: &dyn Reporter,
    f: &mut dyn FnMut(&Snapshot) -> Result<Vec<Change>, Failure>,
) -> Result<usize, Failure> {
    for _ in 0..TRIES {
        let snap = store.snapshot()?;
        let changes = f(&snap)?;
        if changes.is_empty() {
            return Ok(0);
        }
        match store.apply(&snap, &changes, message, epoch)? {
            Applied::Done => return Ok(changes.len()),
            Applied::Moved => {
                reporter.step(&format!("{}: moved meanwhile; recomputing on what is there now", store.location()))
            }
        }
    }
    Err(Failure::publish(format!("{} kept moving while relman wrote to it ({TRIES} tries)", store.location()))
        .with_hint("run the command again"))
}

/// `docs+dir:PATH`: the site in a directory (served by any static web server).
#[derive(Clone)]
pub struct DirStore {
    url: String,
    root: PathBuf,
}

impl DirStore {
    pub fn new(url: &str, root: PathBuf) -> DirStore {
        DirStore { url: url.to_string(), root }
    }

    fn lock(&self) -> Result<Lock, Failure> {
        crate::fsutil::create_dir_all(&self.root)?;
        let lock = Lock::acquire_dir(
            &self.root,
            &format!("the destination `{}`", self.url),
            "docs",
            relman_install::lock::wait(),
        )?;
        lock.sweep(&self.root)?;
        Ok(lock)
    }

    fn read_files(&self) -> Result<BTreeMap<String, String>, Failure> {
        if !self.root.is_dir() {
            return Ok(BTreeMap::new());
        }
        let mut out = BTreeMap::new();
        for (rel, path) in site::files(&self.root)? {
            let name = rel.rsplit('/').next().unwrap_or("");
            if name == LOCK_FILE || name.starts_with(TEMP_PREFIX) || rel.starts_with(STAGING_PREFIX) {
                continue;
            }
            let (sha, _) = relman_install::hash::sha256_file(&path).map_err(|e| Failure::io("read", &path, e))?;
            out.insert(rel, sha.as_str().to_string());
        }
        Ok(out)
    }
}

impl Store for DirStore {
    fn location(&self) -> String {
        self.root.display().to_string()
    }

    fn snapshot(&self) -> Result<Snapshot, Failure> {
        let files = self.read_files()?;
        let root = self.root.clone();
        Snapshot::new(files, 0, None, &self.url, &mut |paths| {
            paths.iter().map(|p| fs::read(root.join(p)).map_err(|e| Failure::io("read", &root.join(p), e))).collect()
        })
    }

    fn ids(&self, files: &[PathBuf]) -> Result<Vec<String>, Failure> {
        sha256_ids(files)
    }

    fn apply(&self, base: &Snapshot, changes: &[Change], _message: &str, _epoch: i64) -> Result<Applied, Failure> {
        let _lock = self.lock()?;
        if self.read_files()? != base.files {
            return Ok(Applied::Moved);
        }
        for c in changes {
            let target = safe_join(&self.root, c.path())?;
            match c {
                Change::Put(_, bytes) => {
                    if let Some(parent) = target.parent() {
                        crate::fsutil::create_dir_all(parent)?;
                    }
                    crate::fsutil::write_atomic(&target, bytes)?;
                }
                Change::PutFile(_, from, _) => {
                    if let Some(parent) = target.parent() {
                        crate::fsutil::create_dir_all(parent)?;
                    }
                    let mut src = fs::File::open(from).map_err(|e| Failure::io("read", from, e))?;
                    crate::fsutil::write_atomic_with(&target, |mut file, tmp| {
                        std::io::copy(&mut src, &mut file).map(|_| ()).map_err(|e| Failure::io("write", tmp, e))
                    })?;
                }
                Change::Delete(_) => {
                    match fs::remove_file(&target) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(Failure::io("remove", &target, e)),
                    }
                    let mut dir = target.parent();
                    while let Some(d) = dir.filter(|d| *d != self.root) {
                        if fs::remove_dir(d).is_err() {
                            break;
                        }
                        dir = d.parent();
                    }
                }
            }
        }
        Ok(Applied::Done)
    }

    fn clone_box(&self) -> Box<dyn Store> {
        Box::new(self.clone())
    }
}

/// `root/rel`, refusing a path that would leave `root`.
fn safe_join(root: &Path, rel: &str) -> Result<PathBuf, Failure> {
    if rel.is_empty() || rel.starts_with('/') || rel.split('/').any(|c| c == ".." || c.is_empty()) {
        return Err(Failure::internal(format!("docs path `{rel}` is not a plain relative path")));
    }
    Ok(root.join(rel))
}

/// `docs+s3://BUCKET/PREFIX`: the site as objects (each with its sha256 recorded and its
/// Content-Type set, so a bucket website serves it). S3 has no compare-and-swap: the state is
/// listed again right before writing and a change meanwhile recomputes, but two writers racing
/// inside that window are not excluded.
pub struct S3Store {
    url: String,
    s3: std::sync::Arc<crate::s3::S3Destination>,
}

impl S3Store {
    pub fn new(url: &str, s3: crate::s3::S3Destination) -> S3Store {
        S3Store { url: url.to_string(), s3: std::sync::Arc::new(s3) }
    }

    fn read_files(&self) -> Result<BTreeMap<String, String>, Failure> {
        let root = self.s3.key("");
        let keys = self.s3.list(&root)?;
        let mut out = BTreeMap::new();
        for key in keys {
            let Some(rel) = key.strip_prefix(&root) else { continue };
            let sha = self.s3.head(&key)?.unwrap_or_default();
            out.insert(rel.to_string(), sha);
        }
        Ok(out)
    }
}

impl Store for S3Store {
    fn ci_needs(&self) -> crate::destination::CiNeeds {
        crate::destination::CiNeeds { secrets: crate::s3::S3_CI_SECRETS.to_vec(), ..Default::default() }
    }
    fn location(&self) -> String {
        self.url.trim_start_matches("docs+").to_string()
    }

    fn snapshot(&self) -> Result<Snapshot, Failure> {
        let files = self.read_files()?;
        let s3 = self.s3.clone();
        let url = self.url.clone();
        Snapshot::new(files, 0, None, &self.url, &mut |paths| {
            paths
                .iter()
                .map(|p| {
                    s3.get(&s3.key(p))?.ok_or_else(|| Failure::publish(format!("`{url}`: `{p}` vanished while read")))
                })
                .collect()
        })
    }

    fn ids(&self, files: &[PathBuf]) -> Result<Vec<String>, Failure> {
        sha256_ids(files)
    }

    fn apply(&self, base: &Snapshot, changes: &[Change], _message: &str, _epoch: i64) -> Result<Applied, Failure> {
        if self.read_files()? != base.files {
            return Ok(Applied::Moved);
        }
        for c in changes {
            let key = self.s3.key(c.path());
            match c {
                Change::Put(_, bytes) => self.s3.put_bytes(&key, bytes, crate::s3::content_type(&key))?,
                Change::PutFile(_, path, id) => {
                    let size = fs::metadata(path).map_err(|e| Failure::io("read", path, e))?.len();
                    let sha256 = relman_manifest::Sha256::parse(id)
                        .ok_or_else(|| Failure::internal(format!("`{id}` is not a sha256")))?;
                    let f =
                        crate::destination::LocalFile { name: c.path().to_string(), path: path.clone(), sha256, size };
                    self.s3.put_file(&key, &f)?
                }
                Change::Delete(_) => self.s3.delete(&key)?,
            }
        }
        Ok(Applied::Done)
    }

    fn clone_box(&self) -> Box<dyn Store> {
        Box::new(S3Store { url: self.url.clone(), s3: self.s3.clone() })
    }
}
