//! The destination abstraction: one trait, [`Destination`], and the values every kind
//! answers with. Implementations live with their kind (`dir:` in `crate::provider`, `oci://` in
//! `crate::oci`, `s3://` in `crate::s3`); `crate::provider::open` parses a URL into one.
//!
//! Every kind answers the same questions in the same order: what it accepts of a release,
//! a preflight that writes nothing, publish (immutable things only), a promote check (every
//! gate from what is there now, nothing written) whose plan moves the pointers, state (what is
//! really there, re-fetched) and yank. All are idempotent: what the destination already has
//! with the same digest is skipped; a different digest under the same version is an error
//! naming both. Release-wide publish and promote (`crate::release`) run each step at every
//! destination before the next.

use std::collections::BTreeMap;
use std::path::PathBuf;

use relman_manifest::{Failure, Sha256};
use relman_oci::Digest;
use semver::Version;
use serde::Serialize;

pub use crate::gates::Gate;
use crate::planned::Planned;
use crate::report::Reporter;

/// Per image or chart repository (`name`): the index digest and each platform's manifest
/// digest with its platform, as the release record holds them.
pub type RecordedImages = BTreeMap<String, (Digest, Vec<(Digest, String)>)>;

/// A release record as a destination holds it (see [`Destination::published_record`]).
#[derive(Clone, Debug)]
pub struct PublishedRecord {
    /// Where it was read, for messages (`/srv/releases/1.2.0/manifest.json`, a release page).
    pub location: String,
    /// The bytes of `manifest.json`.
    pub manifest: Vec<u8>,
    /// `manifest.json.sigstore.json` and `manifest.json.sig`, by name, when there.
    pub signatures: Vec<(String, Vec<u8>)>,
}

/// Reads one file by name from a destination: `Ok(None)` when it is not there.
pub type ReadFile<'a> = dyn Fn(&str) -> Result<Option<Vec<u8>>, Failure> + 'a;

impl PublishedRecord {
    /// The record at `location`: `manifest.json`'s bytes and each signature file `read` finds
    /// (`Ok(None)`: not there).
    pub fn gather(location: String, manifest: Vec<u8>, read: &ReadFile<'_>) -> Result<PublishedRecord, Failure> {
        let mut signatures = Vec::new();
        for name in crate::planned::MANIFEST_SIGNATURES {
            if let Some(b) = read(name)? {
                signatures.push((name.to_string(), b));
            }
        }
        Ok(PublishedRecord { location, manifest, signatures })
    }
}

/// A file to publish: its name at the destination and where its bytes are.
#[derive(Clone, Debug)]
pub struct LocalFile {
    pub name: String,
    pub path: PathBuf,
    pub sha256: Sha256,
    pub size: u64,
}

/// What publishing at one destination did.
#[derive(Clone, Debug, Serialize)]
pub struct PutOutcome {
    pub destination: String,
    /// Where the version's files are, e.g. `/srv/releases/1.4.2`.
    pub location: String,
    pub written: Vec<String>,
    pub skipped: Vec<String>,
}

/// What `promote` found and did.
#[derive(Clone, Debug, Serialize)]
pub struct PromoteReport {
    pub destination: String,
    pub version: String,
    pub gates: Vec<Gate>,
    /// The stable version `latest` pointed at before.
    pub previous: Option<String>,
    /// False when a gate failed or every pointer already pointed at this version.
    pub moved: bool,
    /// Each pointer this promote moved, in the order it moved them (`latest`, `channels.json`,
    /// `acme/app:1.2`).
    pub moved_pointers: Vec<String>,
    /// Each pointer left as it was (already at this version, or held by a newer one).
    pub left_pointers: Vec<String>,
    /// The mutable names that point at this version once the gates passed (`latest`; for OCI
    /// `X.Y` too, and not `latest` when a newer version holds it).
    pub pointers: Vec<String>,
    /// What was left as it is, and why (`latest stays at 2.0.0`).
    pub notes: Vec<String>,
}

impl PromoteReport {
    /// A report of gates checked at `destination`, nothing moved yet (the plan's apply fills
    /// in what moves).
    pub fn checked(
        destination: &str,
        version: &str,
        gates: Vec<Gate>,
        previous: Option<String>,
        pointers: Vec<String>,
        notes: Vec<String>,
    ) -> PromoteReport {
        PromoteReport {
            destination: destination.to_string(),
            version: version.to_string(),
            gates,
            previous,
            moved: false,
            moved_pointers: Vec::new(),
            left_pointers: Vec::new(),
            pointers,
            notes,
        }
    }

    pub fn passed(&self) -> bool {
        self.gates.iter().all(|g| g.passed)
    }
}

/// Moves a destination's pointers, pushing the name of each one onto the list as soon as it
/// has moved (so a move failing midway still says which moved before it).
pub type ApplyMoves = Box<dyn FnOnce(&dyn Reporter, &mut Vec<String>) -> Result<(), Failure>>;

/// A promotion checked at one destination but not applied: every gate evaluated from what is
/// there now (nothing written), and the pointer moves they allow. A release-wide promote
/// checks every destination first and applies only when every gate everywhere passed.
pub struct PromotePlan {
    pub report: PromoteReport,
    /// `None` when a gate failed or nothing needs to move.
    pub(crate) apply: Option<ApplyMoves>,
}

impl PromotePlan {
    /// Moves the pointers (when every gate passed); the report names each pointer moved and
    /// each left. On a failure midway, the error is returned with the report so far (the
    /// pointers that did move); a re-run finishes, every move being idempotent.
    pub fn apply(self, reporter: &dyn Reporter) -> Result<PromoteReport, Box<(Failure, PromoteReport)>> {
        let mut report = self.report;
        let mut moved = Vec::new();
        let result = match (report.passed(), self.apply) {
            (true, Some(apply)) => apply(reporter, &mut moved),
            _ => Ok(()),
        };
        report.moved = !moved.is_empty();
        report.left_pointers = report.pointers.iter().filter(|p| !moved.iter().any(|m| m == *p)).cloned().collect();
        report.moved_pointers = moved;
        match result {
            Ok(()) => Ok(report),
            Err(f) => Err(Box::new((f, report))),
        }
    }
}

/// What `relman yank` would delete (or did) and what it leaves.
#[derive(Clone, Debug, Default, Serialize)]
pub struct YankReport {
    pub version: String,
    /// `repo@digest (what)` deleted, or to delete.
    pub removed: Vec<String>,
    /// What stays, and why.
    pub left: Vec<String>,
    /// Mutable tags (`latest`, `X.Y`) on a digest being yanked: refused unless forced.
    pub blocked_by: Vec<String>,
    pub done: bool,
}

/// What kind of destination a URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Dir,
    Oci,
    S3,
    /// A forge's release page (GitHub, Gitea, Forgejo).
    Forge,
    /// A versioned docs site (`git:BRANCH`, `docs+dir:PATH`).
    Docs,
}

impl Kind {
    /// Where a destination of this kind comes in a release-wide publish or promote: what others
    /// link to goes first — registries (a page names image digests), then file stores (a page
    /// links their downloads), then pages. Destinations of the same rank keep their configured
    /// order.
    pub fn order(self) -> u8 {
        match self {
            Kind::Oci => 0,
            Kind::Dir | Kind::S3 | Kind::Docs => 1,
            Kind::Forge => 2,
        }
    }
}

/// Sorts destinations into dependency order ([`Kind::order`]), stably.
pub fn in_dependency_order(dests: &mut [Box<dyn Destination>]) {
    dests.sort_by_key(|d| d.kind().order());
}

/// The repositories a yank at an OCI destination covers (images and charts), and the index
/// digests the release record holds (to finish a yank whose tag is already gone).
#[derive(Default)]
pub struct YankScope<'a> {
    pub repositories: &'a [String],
    pub recorded: Option<&'a RecordedImages>,
    /// At a forge: delete the git tag too, once the release is gone (`--tag`).
    pub delete_tag: bool,
}

/// One published thing at a destination, as fetched: what the release record expects and
/// what is really there.
#[derive(Clone, Debug, Serialize)]
pub struct Asset {
    pub name: String,
    /// `ok`, `missing`, `different`, `extra` or `unchecked`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found: Option<String>,
}

/// A mutable pointer and what it names now (`None`: not set).
#[derive(Clone, Debug, Serialize)]
pub struct Pointer {
    pub name: String,
    pub target: Option<String>,
}

/// What a destination holds of one version, fetched and checked (nothing assumed).
#[derive(Clone, Debug, Serialize)]
pub struct DestinationState {
    pub destination: String,
    pub assets: Vec<Asset>,
    pub pointers: Vec<Pointer>,
    /// Every missing, different or extra asset, and every signature that does not verify.
    pub problems: Vec<String>,
    /// Commands a user runs to check the release themselves.
    pub verify_commands: Vec<String>,
}

/// One destination of a release. Implementations: `crate::provider::DirProvider` (`dir:`),
/// `crate::oci::OciDestination` (`oci://`), `crate::s3::S3Destination` (`s3://`).
/// What a CI job needs to publish and promote at a destination (`relman ci generate`): forge
/// permissions, and the environment variables it reads, each from the CI's secret store unless
/// the CI provides it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CiNeeds {
    /// Writes the repository the workflow runs in (a release page, a docs branch).
    pub contents_write: bool,
    /// Pushes with git to the checkout's remote (the checkout keeps its credentials).
    pub git_push: bool,
    /// A registry host the job pushes to (credentials in `RELMAN_REGISTRY_USERNAME`/`_PASSWORD`).
    pub registry: Option<String>,
    /// The forge token variable (`GITHUB_TOKEN`, `GITEA_TOKEN`, `FORGEJO_TOKEN`, `GITLAB_TOKEN`).
    pub token: Option<&'static str>,
    /// Other secret variables (`AWS_ACCESS_KEY_ID`, …).
    pub secrets: Vec<&'static str>,
}

pub trait Destination {
    /// The destination URL, for messages and the release record.
    fn url(&self) -> &str;
    fn kind(&self) -> Kind;
    /// What a CI job needs to publish and promote here. Default: nothing (a local directory).
    fn ci_needs(&self) -> CiNeeds {
        CiNeeds::default()
    }
    /// Whether the release has anything for this destination (a usage failure when not).
    /// Default: everything (file destinations take whatever the release has).
    fn accepts(&self, _planned: &Planned) -> Result<(), Failure> {
        Ok(())
    }
    /// Whether publishing here signs something (and so needs the private key).
    /// Default: yes — file destinations publish the manifest's signature.
    fn signs(&self, _planned: &Planned) -> bool {
        true
    }
    /// Whether promote and yank need the release record (`dist/<v>/manifest.json` or what
    /// stands in for it) rather than only what the destination holds.
    /// Default: no — what the destination holds (its `manifest.json`) is enough.
    fn needs_record(&self) -> bool {
        false
    }
    /// The release record published here for `version`: its `manifest.json` (the release
    /// view) and the signature files beside it, as stored. `None` when this kind keeps no
    /// record (registries, docs) or holds nothing for the version. Default: none.
    fn published_record(
        &self,
        _settings: &crate::settings::Settings,
        _version: &Version,
    ) -> Result<Option<PublishedRecord>, Failure> {
        Ok(None)
    }
    /// Checks, writing nothing, that the release can be published here: the destination is
    /// usable (credentials work) and holds nothing different under the version.
    fn preflight(&self, planned: &Planned, files: &[LocalFile]) -> Result<(), Failure>;
    /// Publishes the immutable things of the release. Never touches mutable pointers.
    fn publish(
        &self,
        planned: &Planned,
        files: &[LocalFile],
        identity: Option<&crate::sign::Identity>,
        reporter: &dyn Reporter,
    ) -> Result<PutOutcome, Failure>;
    /// Evaluates every gate for `version` from what is there now, writing nothing; the plan
    /// moves the pointers. `record` is the release record when [`Self::needs_record`].
    fn check_promote(
        &self,
        record: Option<&Planned>,
        version: &Version,
        allow_downgrade: bool,
        reporter: &dyn Reporter,
    ) -> Result<PromotePlan, Failure>;
    /// What removing `version` takes (`apply`: and removes it). What a pointer names is listed
    /// in `blocked_by` and kept unless `force`.
    fn yank(&self, scope: &YankScope<'_>, version: &Version, apply: bool, force: bool) -> Result<YankReport, Failure>;
    /// What is published of `version` here and where each pointer points, re-fetched and
    /// checked (signatures with `key`).
    fn state(
        &self,
        record: Option<&Planned>,
        version: &Version,
        key: Option<&relman_sign::PublicKey>,
    ) -> Result<DestinationState, Failure>;
}
