//! A planned release: its settings, its manifest (the release record) and where its files live,
//! with the file names every stage agrees on. Made by [`crate::plan`] (or read back from a
//! `dist/` or a destination); read and updated by every later stage.

use std::fs;
use std::path::{Path, PathBuf};

use relman_install::lock::Lock;
use relman_manifest::{Channel, Failure, Manifest, Sha256};

use crate::fsutil;
use crate::settings::Settings;

pub const CHECKSUMS_FILE: &str = "checksums.txt";
pub const INDEX_FILE: &str = "index.json";
pub const MANIFEST_FILE: &str = "manifest.json";
/// The signature files of `manifest.json` a destination may hold beside it: the bundle (key or
/// keyless) and the legacy bare signature.
pub const MANIFEST_SIGNATURES: [&str; 2] = ["manifest.json.sigstore.json", "manifest.json.sig"];
/// The channel pointers of a file destination (`dir:`, `s3:`), written last by promote.
pub const CHANNELS_FILE: &str = "channels.json";
pub const NOTES_FILE: &str = "release-notes.md";
/// The POSIX installer published with every release that has archives.
pub const INSTALLER_FILE: &str = "install.sh";

/// A planned release: settings, the manifest, and where its files live.
#[derive(Clone, Debug)]
pub struct Planned {
    pub settings: Settings,
    pub manifest: Manifest,
    /// `dist/<version>`.
    pub version_dir: PathBuf,
    /// The project's lock (`dist/.relman-lock`), held while this release is worked on; `None`
    /// for a record only read (promote at an OCI destination).
    pub lock: Option<std::sync::Arc<Lock>>,
    /// Where the record came from (`crate::record`).
    pub origin: Origin,
}

/// Where a release record came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// `dist/<version>/manifest.json` of this checkout (planned or read).
    Local,
    /// The `manifest.json` a destination holds (a fresh clone, a CI job), checked against the
    /// project's key or identity when one is configured: where it was read.
    Published(String),
    /// No record anywhere: made from relman.toml alone (images by name, no artifacts). Gates
    /// that compare against a record skip it.
    Config,
}

impl Origin {
    /// Whether this is a real record (local or published), not one made from relman.toml.
    pub fn is_record(&self) -> bool {
        !matches!(self, Origin::Config)
    }

    pub fn describe(&self) -> String {
        match self {
            Origin::Local => "the local dist/".into(),
            Origin::Published(at) => format!("the record published at {at}"),
            Origin::Config => "relman.toml alone (no record found)".into(),
        }
    }
}

impl Planned {
    pub fn manifest_path(&self) -> PathBuf {
        self.version_dir.join(MANIFEST_FILE)
    }

    /// Writes the manifest atomically.
    pub fn save(&self) -> Result<(), Failure> {
        fsutil::write_atomic(&self.manifest_path(), self.manifest.to_json().as_bytes())
    }

    /// Where the build stage leaves binaries for `target`.
    pub fn build_dir(&self, target: &str) -> PathBuf {
        self.version_dir.join("build").join(target)
    }

    pub fn logs_dir(&self) -> PathBuf {
        self.version_dir.join("logs")
    }

    pub fn artifact_path(&self, name: &str) -> PathBuf {
        self.version_dir.join(name)
    }
}

/// Loads the manifest of an already planned version (for stages run on their own).
pub fn load_manifest(path: &Path) -> Result<Manifest, Failure> {
    let text = fsutil::read_to_string(path)?;
    Manifest::from_json(&text)
        .map_err(|e| Failure::verify(format!("`{}` is not a valid relman manifest: {e}", path.display())))
}

/// Lockfiles an SBOM is made from; with none at the project root, no SBOM is planned. `go.mod`
/// counts: a Go module without dependencies has no `go.sum`; its SBOM lists the module itself.
pub const LOCKFILES: [&str; 6] = ["Cargo.lock", "package-lock.json", "uv.lock", "poetry.lock", "go.sum", "go.mod"];

/// `<name>-<version>.intoto.jsonl`: the DSSE-signed SLSA provenance of the archives.
pub fn provenance_name(name: &str, version: &str) -> String {
    format!("{name}-{version}.intoto.jsonl")
}

/// `<file>.sigstore.json`: the Sigstore bundle of a file.
pub fn bundle_name(file: &str) -> String {
    format!("{file}.sigstore.json")
}

pub const SPDX_EXT: &str = "spdx.json";
pub const CYCLONEDX_EXT: &str = "cdx.json";

/// True when `channel` may move `latest`.
pub fn moves_latest(channel: Channel) -> bool {
    channel == Channel::Stable
}

/// What packaging did to one file.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Packaged {
    pub name: String,
    pub size: u64,
    pub sha256: Sha256,
    /// False when the file already existed with the recorded digest.
    pub written: bool,
}

/// Writes a small generated file when its content changed; records its digest.
pub(crate) fn write_small(planned: &mut Planned, name: &str, bytes: &[u8]) -> Result<Packaged, Failure> {
    let path = planned.artifact_path(name);
    let sha256 = relman_install::hash::sha256_bytes(bytes);
    let written = fs::read(&path).map(|old| old != bytes).unwrap_or(true);
    if written {
        fsutil::write_atomic(&path, bytes)?;
    }
    let a = planned.manifest.artifact_mut(name).expect("planned artifact");
    a.size = Some(bytes.len() as u64);
    a.sha256 = Some(sha256.clone());
    Ok(Packaged { name: name.to_string(), size: bytes.len() as u64, sha256, written })
}

/// Whether the release has anything for an OCI destination (an image or a chart).
pub fn has_oci_content(planned: &Planned) -> bool {
    !planned.manifest.images.is_empty()
        || planned.manifest.artifacts.iter().any(|a| a.kind == relman_manifest::ArtifactKind::Chart)
}

impl Planned {
    /// What a build matrix's runners must agree on, as one digest: relman's version, the
    /// project, version, tag, commit, SOURCE_DATE_EPOCH, every configured target (whatever
    /// `--target` chose) and the bytes of relman.toml. Two runners with the same plan id build
    /// the same release.
    pub fn plan_id(&self) -> Result<Sha256, Failure> {
        let s = &self.settings;
        let config = if s.config_found {
            relman_install::hash::sha256_file(&s.config_path)
                .map_err(|e| Failure::io("read", &s.config_path, e))?
                .0
                .as_str()
                .to_string()
        } else {
            "none".to_string()
        };
        let m = &self.manifest;
        let text = format!(
            "relman-plan v1\nrelman {}\nproject {}\nversion {}\ntag {}\ncommit {}\nsource_date_epoch {}\ntargets {}\nconfig {config}\n",
            env!("CARGO_PKG_VERSION"),
            m.project.name,
            m.version,
            m.tag.as_deref().unwrap_or(""),
            m.commit,
            m.source_date_epoch,
            s.all_targets.join(","),
        );
        Ok(relman_install::hash::sha256_bytes(text.as_bytes()))
    }
}
