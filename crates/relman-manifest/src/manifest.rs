//! `manifest.json`: the record of one release.
//!
//! `plan` writes it with every artifact decided and no digest; each stage fills in what it did
//! (sizes, digests, destination states) and the manifest is rewritten atomically after every
//! step, so a killed run resumes from it. The copy published next to the artifacts is
//! [`Manifest::release_view`]: the same document without the destination bookkeeping, so that
//! the same commit always publishes the same bytes.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::types::{ArchiveFormat, Channel, Sha256};

/// The manifest format this build writes. Readers refuse a larger number.
pub const MANIFEST_FORMAT_VERSION: u32 = 1;

/// One release: version, source, artifacts, destinations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Format of this document; `1` today.
    pub format_version: u32,
    pub project: Project,
    /// Semantic version without the tag prefix, e.g. `1.4.2` or `1.4.3-snapshot.2.gab12cd3`.
    pub version: String,
    /// The git tag released, absent for snapshots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    pub channel: Channel,
    /// True for `--snapshot` builds, which are never published as real versions by CI.
    #[serde(default)]
    pub snapshot: bool,
    /// Full commit id released.
    pub commit: String,
    /// Timestamp used for every file time in the archives (seconds since the epoch).
    pub source_date_epoch: i64,
    /// Target triples built, in plan order.
    pub targets: Vec<String>,
    pub artifacts: Vec<Artifact>,
    /// Container images (multi-platform OCI image indexes) built for this release.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<ImageRecord>,
    /// Where the release goes and what happened there. Not part of the published copy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub destinations: Vec<Destination>,
    /// The last vulnerability check of the release's SBOMs (`[gate.vulnerabilities]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vulnerability_check: Option<VulnerabilityCheck>,
}

/// What the vulnerability gate checked against, and what it found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VulnerabilityCheck {
    /// The stage that checked: `package` or `promote`.
    pub stage: String,
    /// sha256 of the database's contents.
    pub database_digest: String,
    /// The newest record's date in the database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_date: Option<String>,
    pub packages_checked: usize,
    pub packages_not_checked: usize,
    pub findings: usize,
    /// Findings at or above the threshold and not ignored (0 when the gate passed).
    pub blocking: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Project {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ArtifactKind {
    /// A per-target archive of binaries and extra files.
    Archive,
    /// `checksums.txt` in `sha256sum` format.
    Checksums,
    /// `index.json` for installers.
    Index,
    /// An SBOM of one target's archive (`.spdx.json`, SPDX 2.3; `.cdx.json`, CycloneDX 1.6).
    Sbom,
    /// SLSA provenance of the archives: a DSSE envelope of an in-toto statement (`.intoto.jsonl`).
    Provenance,
    /// A legacy signature of another artifact (`<file>.sig`: base64 DER ECDSA over its sha256).
    Signature,
    /// A Sigstore bundle v0.3 of another artifact (`<file>.sigstore.json`).
    Bundle,
    /// The release notes (`release-notes.md`).
    Notes,
    /// A packaged Helm chart (`<chart>-<version>.tgz`), also pushed to OCI destinations.
    Chart,
    /// `install.sh`: a POSIX installer that checks sha256 and signatures before installing.
    Installer,
    /// `index.html`: the release page (notes, downloads with sizes and sha256, images).
    Page,
}

/// One container image of the release: an OCI image index in an image layout under the
/// version directory, one manifest per platform.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageRecord {
    /// Image name; at an `oci://REGISTRY/PATH` destination it is pushed to `REGISTRY/PATH/<name>`.
    pub name: String,
    /// The OCI image layout holding it, relative to the version directory (`oci/<name>`).
    pub layout: String,
    /// How it was made: `files` (relman added a layer to a base), `layout` (taken from another
    /// builder's OCI layout), `dockerfile` (built with buildah).
    pub source: String,
    /// Digest of the image index (`sha256:<hex>`), once built.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Base image, pinned by digest, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    pub platforms: Vec<ImagePlatform>,
}

/// One platform of an image.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImagePlatform {
    /// `linux/amd64`, `linux/arm64`, `linux/arm/v7`.
    pub platform: String,
    /// The build target whose files it holds, for images made from built files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Digest of the platform's image manifest, once built.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Total size of its layers in bytes (compressed), once built.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// One file of the release.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    /// File name, unique within the release (`app-1.4.2-x86_64-unknown-linux-gnu.tar.gz`).
    pub name: String,
    pub kind: ArtifactKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<ArchiveFormat>,
    /// Binaries inside an archive, by file name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub binaries: Vec<String>,
    /// Extra files inside an archive (README, LICENSE, ...), by path in the archive.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// For signatures, bundles and SBOMs: the artifact this one is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Size in bytes, once produced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Digest, once produced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Sha256>,
}

/// A release destination and its state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Destination {
    /// Destination URL as configured, e.g. `dir:./releases`.
    pub url: String,
    pub state: DestinationState,
    /// Where the versioned files landed (e.g. `./releases/1.4.2`), once published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DestinationState {
    Planned,
    Published,
    Promoted,
}

impl Manifest {
    pub fn artifact(&self, name: &str) -> Option<&Artifact> {
        self.artifacts.iter().find(|a| a.name == name)
    }

    pub fn artifact_mut(&mut self, name: &str) -> Option<&mut Artifact> {
        self.artifacts.iter_mut().find(|a| a.name == name)
    }

    pub fn archives(&self) -> impl Iterator<Item = &Artifact> {
        self.artifacts.iter().filter(|a| a.kind == ArtifactKind::Archive)
    }

    /// The copy that is published beside the artifacts: no destination bookkeeping, so the same
    /// build always gives the same bytes.
    pub fn release_view(&self) -> Manifest {
        Manifest { destinations: Vec::new(), ..self.clone() }
    }

    pub fn destination_mut(&mut self, url: &str) -> &mut Destination {
        if let Some(i) = self.destinations.iter().position(|d| d.url == url) {
            return &mut self.destinations[i];
        }
        self.destinations.push(Destination { url: url.to_string(), state: DestinationState::Planned, location: None });
        self.destinations.last_mut().expect("just pushed")
    }

    /// Parses a manifest, refusing unknown newer formats.
    pub fn from_json(text: &str) -> Result<Manifest, String> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let format = value.get("format_version").and_then(|v| v.as_u64()).unwrap_or(0);
        if format > MANIFEST_FORMAT_VERSION as u64 {
            return Err(format!(
                "format_version {format} is newer than this relman reads ({MANIFEST_FORMAT_VERSION}); upgrade relman"
            ));
        }
        serde_json::from_value(value).map_err(|e| e.to_string())
    }

    /// Pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("manifest serializes") + "\n"
    }
}
