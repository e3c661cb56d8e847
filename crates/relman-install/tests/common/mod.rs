//! Test fixtures: real release directories built by hand, real archives, a real HTTP server.
//!
//! Releases are laid out as relman's engine publishes them (see the crate docs): archives made
//! with the `tar`/`flate2`/`zstd`/`zip` crates, `checksums.txt` from `checksums::render`,
//! `index.json` from `relman_manifest::Index`, a release-view manifest, `channels.json`.
#![allow(dead_code)]

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use relman_install::checksums;
use relman_install::hash::sha256_bytes;
use relman_manifest::{
    ArchiveFormat, Artifact, ArtifactKind, Channel, ChannelEntry, Channels, Index, Manifest,
    Project, Sha256,
};

pub const NAME: &str = "app";
pub const OTHER_TARGET: &str = "aarch64-apple-darwin";

pub fn host() -> String {
    relman_install::host_target()
}

/// The bytes of binary `bin` for `version`/`target`: distinct per version, so tests can tell.
pub fn binary_bytes(bin: &str, version: &str, target: &str) -> Vec<u8> {
    format!("#!/bin/sh\necho {bin} {version} {target}\n").into_bytes()
}

/// One file in a test archive.
#[derive(Clone)]
pub enum Item {
    File {
        path: String,
        mode: u32,
        data: Vec<u8>,
    },
    Dir(String),
    Symlink {
        path: String,
        target: String,
    },
    Hardlink {
        path: String,
        target: String,
    },
    CharDevice(String),
}

/// The normal content of a release archive: a top-level directory with binaries and a README.
pub fn standard_items(version: &str, target: &str, binaries: &[&str]) -> Vec<Item> {
    let top = format!("{NAME}-{version}-{target}");
    let mut items = vec![
        Item::Dir(format!("{top}/")),
        Item::File {
            path: format!("{top}/README.md"),
            mode: 0o644,
            data: b"# app\n".to_vec(),
        },
    ];
    for bin in binaries {
        items.push(Item::File {
            path: format!("{top}/{bin}"),
            mode: 0o755,
            data: binary_bytes(bin, version, target),
        });
    }
    items
}

/// Writes a tar stream with raw entry names (so `../x` and `/etc/x` can be written at all).
fn write_tar<W: Write>(out: W, items: &[Item]) -> W {
    let mut builder = tar::Builder::new(out);
    for item in items {
        let mut header = tar::Header::new_gnu();
        let (name, data): (&str, &[u8]) = match item {
            Item::File { path, mode, data } => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(*mode);
                (path, data)
            }
            Item::Dir(path) => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                (path, &[])
            }
            Item::Symlink { path, target } => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_mode(0o777);
                header.set_link_name(target).unwrap();
                (path, &[])
            }
            Item::Hardlink { path, target } => {
                header.set_entry_type(tar::EntryType::Link);
                header.set_mode(0o644);
                header.set_link_name(target).unwrap();
                (path, &[])
            }
            Item::CharDevice(path) => {
                header.set_entry_type(tar::EntryType::Char);
                header.set_mode(0o644);
                header.set_device_major(1).unwrap();
                header.set_device_minor(3).unwrap();
                (path, &[])
            }
        };
        let raw = name.as_bytes();
        assert!(raw.len() < 100, "test names fit the old header");
        header.as_old_mut().name[..raw.len()].copy_from_slice(raw);
        header.set_size(data.len() as u64);
        header.set_mtime(1_700_000_000);
        header.set_cksum();
        builder.append(&header, data).unwrap();
    }
    builder.into_inner().unwrap()
}

/// Builds an archive of `items` in `format`.
pub fn archive_bytes(format: ArchiveFormat, items: &[Item]) -> Vec<u8> {
    match format {
        ArchiveFormat::TarGz => {
            let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            write_tar(gz, items).finish().unwrap()
        }
        ArchiveFormat::TarZst => {
            let zst = zstd::Encoder::new(Vec::new(), 3).unwrap();
            write_tar(zst, items).finish().unwrap()
        }
        ArchiveFormat::Zip => {
            use zip::write::SimpleFileOptions;
            let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
            for item in items {
                match item {
                    Item::File { path, mode, data } => {
                        zip.start_file(
                            path.as_str(),
                            SimpleFileOptions::default().unix_permissions(*mode),
                        )
                        .unwrap();
                        zip.write_all(data).unwrap();
                    }
                    Item::Dir(path) => zip
                        .add_directory(path.as_str(), SimpleFileOptions::default())
                        .unwrap(),
                    Item::Symlink { path, target } => zip
                        .add_symlink(path.as_str(), target.as_str(), SimpleFileOptions::default())
                        .unwrap(),
                    Item::Hardlink { .. } | Item::CharDevice(_) => {
                        panic!("zip has no such entries")
                    }
                }
            }
            zip.finish().unwrap().into_inner()
        }
    }
}

pub fn archive_name(version: &str, target: &str, format: ArchiveFormat) -> String {
    format!("{NAME}-{version}-{target}.{}", format.extension())
}

/// One platform of a test release.
pub struct PlatformSpec {
    pub target: String,
    pub format: ArchiveFormat,
    pub binaries: Vec<String>,
    /// Archive content; `None` means [`standard_items`].
    pub items: Option<Vec<Item>>,
}

impl PlatformSpec {
    pub fn new(
        target: &str,
        format: ArchiveFormat,
        binaries: &[&str],
        items: Option<Vec<Item>>,
    ) -> PlatformSpec {
        PlatformSpec {
            target: target.to_string(),
            format,
            binaries: binaries.iter().map(|b| b.to_string()).collect(),
            items,
        }
    }
}

/// What goes into one release version.
pub struct Spec {
    pub version: String,
    pub platforms: Vec<PlatformSpec>,
}

impl Spec {
    /// The host target as `.tar.gz` plus macOS as `.zip`, binary `app`.
    pub fn standard(version: &str) -> Spec {
        Spec {
            version: version.to_string(),
            platforms: vec![
                PlatformSpec::new(&host(), ArchiveFormat::TarGz, &[NAME], None),
                PlatformSpec::new(OTHER_TARGET, ArchiveFormat::Zip, &[NAME], None),
            ],
        }
    }

    /// Only the host target, in `format`, with `items` as the archive content.
    pub fn host_only(
        version: &str,
        format: ArchiveFormat,
        binaries: &[&str],
        items: Option<Vec<Item>>,
    ) -> Spec {
        Spec {
            version: version.to_string(),
            platforms: vec![PlatformSpec::new(&host(), format, binaries, items)],
        }
    }
}

/// Publishes `spec` under `root/<version>/` like the engine does; returns the version directory.
pub fn publish(root: &Path, spec: &Spec) -> PathBuf {
    let dir = root.join(&spec.version);
    fs::create_dir_all(&dir).unwrap();
    let mut artifacts = Vec::new();
    let mut entries = Vec::new();
    for PlatformSpec {
        target,
        format,
        binaries,
        items,
    } in &spec.platforms
    {
        let bins: Vec<&str> = binaries.iter().map(String::as_str).collect();
        let items = items
            .clone()
            .unwrap_or_else(|| standard_items(&spec.version, target, &bins));
        let bytes = archive_bytes(*format, &items);
        let name = archive_name(&spec.version, target, *format);
        fs::write(dir.join(&name), &bytes).unwrap();
        let digest = sha256_bytes(&bytes);
        entries.push((name.clone(), digest.clone()));
        artifacts.push(Artifact {
            subject: None,
            name,
            kind: ArtifactKind::Archive,
            target: Some(target.clone()),
            format: Some(*format),
            binaries: binaries.clone(),
            files: vec!["README.md".to_string()],
            size: Some(bytes.len() as u64),
            sha256: Some(digest),
        });
    }
    let checksums_text = checksums::render(&entries);
    fs::write(dir.join("checksums.txt"), &checksums_text).unwrap();
    let mut manifest = Manifest {
        format_version: 1,
        project: Project {
            name: NAME.to_string(),
            repository: None,
        },
        version: spec.version.clone(),
        tag: Some(format!("v{}", spec.version)),
        channel: Channel::Stable,
        snapshot: false,
        commit: "0123456789abcdef0123456789abcdef01234567".to_string(),
        source_date_epoch: 1_700_000_000,
        targets: spec.platforms.iter().map(|p| p.target.clone()).collect(),
        artifacts,
        destinations: vec![],
    };
    let index = Index::from_manifest(&manifest, "checksums.txt").unwrap();
    let index_text = index.to_json();
    fs::write(dir.join("index.json"), &index_text).unwrap();
    for (name, kind, text) in [
        ("checksums.txt", ArtifactKind::Checksums, &checksums_text),
        ("index.json", ArtifactKind::Index, &index_text),
    ] {
        manifest.artifacts.push(Artifact {
            subject: None,
            name: name.to_string(),
            kind,
            target: None,
            format: None,
            binaries: vec![],
            files: vec![],
            size: Some(text.len() as u64),
            sha256: Some(sha256_bytes(text.as_bytes())),
        });
    }
    fs::write(dir.join("manifest.json"), manifest.release_view().to_json()).unwrap();
    dir
}

/// Points `root/channels.json`'s stable channel at `version`.
pub fn promote(root: &Path, version: &str) {
    let channels = Channels {
        format_version: 1,
        name: NAME.to_string(),
        stable: Some(ChannelEntry {
            version: version.to_string(),
            index: format!("{version}/index.json"),
        }),
    };
    fs::write(root.join("channels.json"), channels.to_json()).unwrap();
    #[cfg(unix)]
    {
        let latest = root.join("latest");
        let _ = fs::remove_file(&latest);
        std::os::unix::fs::symlink(version, latest).unwrap();
    }
}

/// Rewrites `index.json` of a version (after editing it) without touching anything else.
pub fn rewrite_index(dir: &Path, edit: impl FnOnce(&mut Index)) {
    let path = dir.join("index.json");
    let mut index = Index::from_json(&fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut index);
    fs::write(path, index.to_json()).unwrap();
}

pub fn flip_byte(path: &Path, at: usize) {
    let mut bytes = fs::read(path).unwrap();
    let at = at.min(bytes.len() - 1);
    bytes[at] ^= 0x01;
    fs::write(path, bytes).unwrap();
}

pub fn installed(prefix: &Path, bin: &str) -> Vec<u8> {
    fs::read(prefix.join("bin").join(bin)).unwrap()
}

/// Names of the files in `prefix/bin` (empty when it does not exist).
pub fn bin_listing(prefix: &Path) -> Vec<String> {
    let mut names: Vec<String> = match fs::read_dir(prefix.join("bin")) {
        Ok(dir) => dir
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => vec![],
    };
    names.sort();
    names
}

pub fn digest(bytes: &[u8]) -> Sha256 {
    sha256_bytes(bytes)
}

/// A static file server on 127.0.0.1 (port 0) over a directory, with per-path status
/// overrides and optional basic auth. Stops when dropped.
pub struct TestServer {
    pub base: String,
    server: Arc<tiny_http::Server>,
    handle: Option<JoinHandle<()>>,
    statuses: Arc<Mutex<HashMap<String, u16>>>,
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl TestServer {
    pub fn serve(dir: &Path) -> TestServer {
        Self::start(dir, None)
    }

    /// Requires `Authorization: Basic base64(user:pass)` on every request (else 401).
    pub fn with_basic_auth(dir: &Path, expected_header: &str) -> TestServer {
        Self::start(dir, Some(expected_header.to_string()))
    }

    fn start(dir: &Path, auth: Option<String>) -> TestServer {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let statuses: Arc<Mutex<HashMap<String, u16>>> = Arc::default();
        let requests: Arc<Mutex<Vec<String>>> = Arc::default();
        let dir = dir.to_path_buf();
        let handle = {
            let (server, statuses, requests) = (server.clone(), statuses.clone(), requests.clone());
            std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    let path = request.url().split('?').next().unwrap_or("/").to_string();
                    requests
                        .lock()
                        .unwrap()
                        .push(format!("{} {path}", request.method()));
                    let authorized = auth.as_ref().is_none_or(|want| {
                        request
                            .headers()
                            .iter()
                            .any(|h| h.field.equiv("Authorization") && h.value.as_str() == want)
                    });
                    let status = statuses.lock().unwrap().get(&path).copied();
                    let file = dir.join(path.trim_start_matches('/'));
                    let _ = if !authorized {
                        request.respond(tiny_http::Response::empty(401))
                    } else if let Some(code) = status {
                        request.respond(
                            tiny_http::Response::from_string("forced").with_status_code(code),
                        )
                    } else if path.contains("..") || !file.is_file() {
                        request.respond(tiny_http::Response::empty(404))
                    } else {
                        request.respond(tiny_http::Response::from_file(File::open(&file).unwrap()))
                    };
                }
            })
        };
        TestServer {
            base: format!("http://127.0.0.1:{port}"),
            server,
            handle: Some(handle),
            statuses,
            requests,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }

    pub fn url_with_credentials(&self, userinfo: &str, path: &str) -> String {
        format!(
            "http://{userinfo}@{}/{}",
            self.base.trim_start_matches("http://"),
            path.trim_start_matches('/')
        )
    }

    /// Makes `path` (e.g. `/1.0.0/index.json`) answer with `code`.
    pub fn set_status(&self, path: &str, code: u16) {
        self.statuses.lock().unwrap().insert(path.to_string(), code);
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}
