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
    ArchiveFormat, Artifact, ArtifactKind, Channel, ChannelEntry, Channels, Index, Manifest, Project, Sha256,
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
    File { path: String, mode: u32, data: Vec<u8> },
    Dir(String),
    Symlink { path: String, target: String },
    Hardlink { path: String, target: String },
    CharDevice(String),
}

/// The normal content of a release archive: a top-level directory with binaries and a README.
pub fn standard_items(version: &str, target: &str, binaries: &[&str]) -> Vec<Item> {
    let top = format!("{NAME}-{version}-{target}");
    let mut items = vec![
        Item::Dir(format!("{top}/")),
        Item::File { path: format!("{top}/README.md"), mode: 0o644, data: b"# app\n".to_vec() },
    ];
    for bin in binaries {
        items.push(Item::File { path: format!("{top}/{bin}"), mode: 0o755, data: binary_bytes(bin, version, target) });
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
                        zip.start_file(path.as_str(), SimpleFileOptions::default().unix_permissions(*mode)).unwrap();
                        zip.write_all(data).unwrap();
                    }
                    Item::Dir(path) => zip.add_directory(path.as_str(), SimpleFileOptions::default()).unwrap(),
                    Item::Symlink { path, target } => {
                        zip.add_symlink(path.as_str(), target.as_str(), SimpleFileOptions::default()).unwrap()
                    }
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
    pub fn new(target: &str, format: ArchiveFormat, binaries: &[&str], items: Option<Vec<Item>>) -> PlatformSpec {
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
    pub fn host_only(version: &str, format: ArchiveFormat, binaries: &[&str], items: Option<Vec<Item>>) -> Spec {
        Spec { version: version.to_string(), platforms: vec![PlatformSpec::new(&host(), format, binaries, items)] }
    }
}

/// Publishes `spec` under `root/<version>/` like the engine does; returns the version directory.
pub fn publish(root: &Path, spec: &Spec) -> PathBuf {
    publish_with(root, spec, &Extras::default())
}

/// What a release carries besides archives, `checksums.txt`, `index.json` and the manifest.
#[derive(Default)]
pub struct Extras<'a> {
    /// Per-archive SPDX 2.3 and CycloneDX 1.6 SBOMs (kind `sbom`, listed in checksums.txt).
    pub sboms: bool,
    /// Targets whose SBOMs list no package.
    pub empty_sboms: Vec<String>,
    /// Sign the release with this key, as the engine does: provenance (DSSE envelope in
    /// `<name>-<version>.intoto.jsonl`, listed in checksums.txt, and its DSSE bundle), then
    /// `<file>.sig` and `<file>.sigstore.json` for every archive, SBOM, the provenance,
    /// `checksums.txt` and `index.json` (manifest artifacts, not in checksums.txt).
    pub key: Option<&'a relman_sign::KeyPair>,
    /// Edits the provenance statement before it is signed.
    pub statement: Option<&'a dyn Fn(&mut serde_json::Value)>,
}

fn file_artifact(name: &str, kind: ArtifactKind, subject: Option<&str>, bytes: &[u8]) -> Artifact {
    Artifact {
        subject: subject.map(str::to_string),
        name: name.to_string(),
        kind,
        target: None,
        format: None,
        binaries: vec![],
        files: vec![],
        size: Some(bytes.len() as u64),
        sha256: Some(sha256_bytes(bytes)),
    }
}

pub fn spdx_json(archive: &str, packages: usize) -> Vec<u8> {
    let packages: Vec<serde_json::Value> = (0..packages)
        .map(|i| {
            serde_json::json!({"SPDXID": format!("SPDXRef-Package-{i}"), "name": format!("dep{i}"),
                "versionInfo": "1.0.0", "downloadLocation": "NOASSERTION"})
        })
        .collect();
    serde_json::to_vec_pretty(&serde_json::json!({
        "spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT",
        "name": archive, "documentNamespace": format!("https://relman.dev/spdx/{archive}"),
        "creationInfo": {"created": "2024-01-01T00:00:00Z", "creators": ["Tool: relman"]},
        "packages": packages
    }))
    .unwrap()
}

pub fn cdx_json(components: usize) -> Vec<u8> {
    let components: Vec<serde_json::Value> = (0..components)
        .map(|i| {
            serde_json::json!({"type": "library", "name": format!("dep{i}"), "version": "1.0.0",
                "purl": format!("pkg:cargo/dep{i}@1.0.0"), "bom-ref": format!("dep{i}")})
        })
        .collect();
    serde_json::to_vec_pretty(&serde_json::json!({
        "bomFormat": "CycloneDX", "specVersion": "1.6",
        "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79", "version": 1,
        "metadata": {}, "components": components, "dependencies": []
    }))
    .unwrap()
}

pub fn provenance_name(version: &str) -> String {
    format!("{NAME}-{version}.intoto.jsonl")
}

/// The in-toto statement the engine writes: every archive as a subject.
pub fn statement(archives: &[(String, Sha256)]) -> serde_json::Value {
    let subjects: Vec<serde_json::Value> = archives
        .iter()
        .map(|(name, digest)| serde_json::json!({"name": name, "digest": {"sha256": digest.as_str()}}))
        .collect();
    serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": subjects,
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {"buildType": "https://relman.dev/build/v1", "externalParameters": {}},
            "runDetails": {"builder": {"id": "https://relman.dev/builder/local"}}
        }
    })
}

/// Writes `<file>.sig` and `<file>.sigstore.json` for `dir/name` with `key`; returns their
/// manifest artifacts.
pub fn sign_file(dir: &Path, name: &str, key: &relman_sign::KeyPair) -> Vec<Artifact> {
    sign_file_as(dir, name, key, true)
}

/// [`sign_file`]; without `bundle`, only the `.sig`.
pub fn sign_file_as(dir: &Path, name: &str, key: &relman_sign::KeyPair, bundle: bool) -> Vec<Artifact> {
    let bytes = fs::read(dir.join(name)).unwrap();
    let signed = relman_sign::blob::sign_bytes(key.signing_key(), &bytes).unwrap();
    let mut out = Vec::new();
    let mut forms = vec![(".sig", ArtifactKind::Signature, signed.legacy())];
    if bundle {
        forms.push((".sigstore.json", ArtifactKind::Bundle, signed.bundle_json()));
    }
    for (suffix, kind, text) in forms {
        let sig_name = format!("{name}{suffix}");
        fs::write(dir.join(&sig_name), &text).unwrap();
        out.push(file_artifact(&sig_name, kind, Some(name), text.as_bytes()));
    }
    out
}

/// Publishes `spec` with `extras`; returns the version directory.
pub fn publish_with(root: &Path, spec: &Spec, extras: &Extras) -> PathBuf {
    let dir = root.join(&spec.version);
    fs::create_dir_all(&dir).unwrap();
    let mut artifacts = Vec::new();
    let mut entries = Vec::new();
    for PlatformSpec { target, format, binaries, items } in &spec.platforms {
        let bins: Vec<&str> = binaries.iter().map(String::as_str).collect();
        let items = items.clone().unwrap_or_else(|| standard_items(&spec.version, target, &bins));
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
    let archives: Vec<(String, Sha256)> = entries.clone();
    let mut signed_files: Vec<String> = archives.iter().map(|(n, _)| n.clone()).collect();
    if extras.sboms {
        for (archive, target) in archives.iter().zip(&spec.platforms) {
            let count = if extras.empty_sboms.contains(&target.target) { 0 } else { 2 };
            let stem = format!("{NAME}-{}-{}", spec.version, target.target);
            for (name, bytes) in [
                (format!("{stem}.spdx.json"), spdx_json(&archive.0, count)),
                (format!("{stem}.cdx.json"), cdx_json(count)),
            ] {
                fs::write(dir.join(&name), &bytes).unwrap();
                entries.push((name.clone(), sha256_bytes(&bytes)));
                artifacts.push(file_artifact(&name, ArtifactKind::Sbom, Some(&archive.0), &bytes));
                signed_files.push(name);
            }
        }
    }
    if let Some(key) = extras.key {
        let mut statement = statement(&archives);
        if let Some(edit) = extras.statement {
            edit(&mut statement);
        }
        let payload = serde_json::to_vec(&statement).unwrap();
        let signed =
            relman_sign::dsse::sign(key.signing_key(), relman_sign::dsse::INTOTO_PAYLOAD_TYPE, &payload).unwrap();
        let name = provenance_name(&spec.version);
        let jsonl = signed.intoto_jsonl();
        fs::write(dir.join(&name), &jsonl).unwrap();
        entries.push((name.clone(), sha256_bytes(jsonl.as_bytes())));
        artifacts.push(file_artifact(&name, ArtifactKind::Provenance, None, jsonl.as_bytes()));
        let bundle_name = format!("{name}.sigstore.json");
        let bundle = signed.bundle_json();
        fs::write(dir.join(&bundle_name), &bundle).unwrap();
        artifacts.push(file_artifact(&bundle_name, ArtifactKind::Bundle, Some(&name), bundle.as_bytes()));
        signed_files.push(name);
    }
    let checksums_text = checksums::render(&entries);
    fs::write(dir.join("checksums.txt"), &checksums_text).unwrap();
    let mut manifest = Manifest {
        format_version: 1,
        project: Project { name: NAME.to_string(), repository: None },
        version: spec.version.clone(),
        tag: Some(format!("v{}", spec.version)),
        channel: Channel::Stable,
        snapshot: false,
        commit: "0123456789abcdef0123456789abcdef01234567".to_string(),
        source_date_epoch: 1_700_000_000,
        targets: spec.platforms.iter().map(|p| p.target.clone()).collect(),
        artifacts,
        images: vec![],
        destinations: vec![],
        vulnerability_check: None,
    };
    let index = Index::from_manifest(&manifest, "checksums.txt").unwrap();
    let index_text = index.to_json();
    fs::write(dir.join("index.json"), &index_text).unwrap();
    for (name, kind, text) in
        [("checksums.txt", ArtifactKind::Checksums, &checksums_text), ("index.json", ArtifactKind::Index, &index_text)]
    {
        manifest.artifacts.push(file_artifact(name, kind, None, text.as_bytes()));
    }
    if let Some(key) = extras.key {
        signed_files.extend(["checksums.txt".to_string(), "index.json".to_string()]);
        for name in &signed_files {
            // The provenance's bundle is the DSSE one written above.
            let bundle = !name.ends_with(".intoto.jsonl");
            manifest.artifacts.extend(sign_file_as(&dir, name, key, bundle));
        }
    }
    fs::write(dir.join("manifest.json"), manifest.release_view().to_json()).unwrap();
    if let Some(key) = extras.key {
        sign_manifest(&dir, key);
    }
    dir
}

/// Writes `manifest.json.sigstore.json` for the current bytes of `dir/manifest.json` (what
/// publish does; the manifest cannot list its own signature).
pub fn sign_manifest(dir: &Path, key: &relman_sign::KeyPair) {
    let bytes = fs::read(dir.join("manifest.json")).unwrap();
    let signed = relman_sign::blob::sign_bytes(key.signing_key(), &bytes).unwrap();
    fs::write(dir.join("manifest.json.sigstore.json"), signed.bundle_json()).unwrap();
}

/// Records the current bytes of `dir/name` in the manifest, and re-signs the manifest with
/// `key(0)` when it was signed: the check under test must catch the change on its own, even
/// if the manifest's signature were not there to (defence in depth). Tests of the manifest's
/// own signature edit it without re-signing.
pub fn rerecord(dir: &Path, name: &str) {
    let path = dir.join("manifest.json");
    let mut manifest = Manifest::from_json(&fs::read_to_string(&path).unwrap()).unwrap();
    let bytes = fs::read(dir.join(name)).unwrap();
    let a = manifest.artifact_mut(name).unwrap();
    a.sha256 = Some(sha256_bytes(&bytes));
    a.size = Some(bytes.len() as u64);
    fs::write(path, manifest.to_json()).unwrap();
    if dir.join("manifest.json.sigstore.json").exists() {
        sign_manifest(dir, key(0));
    }
}

/// A key pair shared by the tests of one binary (`which` picks one of three).
pub fn key(which: usize) -> &'static relman_sign::KeyPair {
    static KEYS: std::sync::OnceLock<Vec<relman_sign::KeyPair>> = std::sync::OnceLock::new();
    &KEYS.get_or_init(|| (0..3).map(|_| relman_sign::generate().unwrap()).collect())[which]
}

/// Writes the public key of `key` as a PEM file in `dir`; returns its path.
pub fn write_public_key(dir: &Path, file: &str, key: &relman_sign::KeyPair) -> PathBuf {
    let path = dir.join(file);
    fs::write(&path, key.public_key_pem()).unwrap();
    path
}

/// Everything a signed release has: SBOMs, provenance, signatures and bundles.
pub fn publish_signed(root: &Path, spec: &Spec, key: &relman_sign::KeyPair) -> PathBuf {
    publish_with(root, spec, &Extras { sboms: true, key: Some(key), ..Extras::default() })
}

/// Points `root/channels.json`'s stable channel at `version`.
pub fn promote(root: &Path, version: &str) {
    let channels = Channels {
        format_version: 1,
        name: NAME.to_string(),
        stable: Some(ChannelEntry { version: version.to_string(), index: format!("{version}/index.json") }),
        serial: None,
        expires: None,
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
        Ok(dir) => dir.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect(),
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
                    requests.lock().unwrap().push(format!("{} {path}", request.method()));
                    let authorized = auth.as_ref().is_none_or(|want| {
                        request.headers().iter().any(|h| h.field.equiv("Authorization") && h.value.as_str() == want)
                    });
                    let status = statuses.lock().unwrap().get(&path).copied();
                    let file = dir.join(path.trim_start_matches('/'));
                    let _ = if !authorized {
                        request.respond(tiny_http::Response::empty(401))
                    } else if let Some(code) = status {
                        request.respond(tiny_http::Response::from_string("forced").with_status_code(code))
                    } else if path.contains("..") || !file.is_file() {
                        request.respond(tiny_http::Response::empty(404))
                    } else {
                        request.respond(tiny_http::Response::from_file(File::open(&file).unwrap()))
                    };
                }
            })
        };
        TestServer { base: format!("http://127.0.0.1:{port}"), server, handle: Some(handle), statuses, requests }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }

    pub fn url_with_credentials(&self, userinfo: &str, path: &str) -> String {
        format!("http://{userinfo}@{}/{}", self.base.trim_start_matches("http://"), path.trim_start_matches('/'))
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
