//! Destinations: one trait, [`Destination`], one implementation per kind (`dir:` in `dir`,
//! `oci://` in `crate::oci`; S3 and forges plug in here), parsed once from the URL by
//! [`open`].
//!
//! Every kind answers the same questions in the same order: what it accepts of a release,
//! a preflight that writes nothing, publish (immutable things only), a promote check (every
//! gate from what is there now, nothing written) whose plan moves the pointers, and yank.
//! All are idempotent: what the destination already has with the same digest is skipped; a
//! different digest under the same version is an error naming both. Release-wide publish and
//! promote (`crate::release`) run each step at every destination before the next.

mod dir;

use std::path::PathBuf;

use relman_manifest::{Failure, Sha256};
use semver::Version;
use serde::Serialize;

use crate::plan::Planned;
use crate::report::Reporter;
use relman_sign::SigningKey;

pub use dir::{DirProvider, CHANNELS_FILE};

/// A file to publish: its name at the destination and where its bytes are.
#[derive(Clone, Debug)]
pub struct LocalFile {
    pub name: String,
    pub path: PathBuf,
    pub sha256: Sha256,
    pub size: u64,
}

/// What `put_release` did.
#[derive(Clone, Debug, Serialize)]
pub struct PutOutcome {
    pub destination: String,
    /// Where the version's files are, e.g. `/srv/releases/1.4.2`.
    pub location: String,
    pub written: Vec<String>,
    pub skipped: Vec<String>,
}

/// One promotion gate and its result.
#[derive(Clone, Debug, Serialize)]
pub struct Gate {
    pub name: &'static str,
    pub passed: bool,
    pub detail: String,
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
    /// The mutable names that point at this version once the gates passed (`latest`; for OCI
    /// `X.Y` too, and not `latest` when a newer version holds it).
    pub pointers: Vec<String>,
    /// What was left as it is, and why (`latest stays at 2.0.0`).
    pub notes: Vec<String>,
}

impl PromoteReport {
    pub fn passed(&self) -> bool {
        self.gates.iter().all(|g| g.passed)
    }
}

/// Moves a destination's pointers; `Ok(true)` when one of them moved.
pub type ApplyMoves = Box<dyn FnOnce(&dyn Reporter) -> Result<bool, Failure>>;

/// A promotion checked at one destination but not applied: every gate evaluated from what is
/// there now (nothing written), and the pointer moves they allow. A release-wide promote
/// checks every destination first and applies only when every gate everywhere passed.
pub struct PromotePlan {
    pub report: PromoteReport,
    /// `None` when a gate failed or nothing needs to move.
    pub(crate) apply: Option<ApplyMoves>,
}

impl PromotePlan {
    /// Moves the pointers (when every gate passed); the report says whether any moved.
    pub fn apply(self, reporter: &dyn Reporter) -> Result<PromoteReport, Failure> {
        let mut report = self.report;
        if let (true, Some(apply)) = (report.passed(), self.apply) {
            report.moved = apply(reporter)?;
        }
        Ok(report)
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
}

/// The repositories a yank at an OCI destination covers (images and charts), and the index
/// digests the release record holds (to finish a yank whose tag is already gone).
#[derive(Default)]
pub struct YankScope<'a> {
    pub repositories: &'a [String],
    pub recorded: Option<&'a crate::oci::RecordedImages>,
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

/// One destination of a release. Implementations: [`DirProvider`], [`crate::oci::OciDestination`].
pub trait Destination {
    /// The destination URL, for messages and the release record.
    fn url(&self) -> &str;
    fn kind(&self) -> Kind;
    /// Whether the release has anything for this destination (a usage failure when not).
    fn accepts(&self, planned: &Planned) -> Result<(), Failure>;
    /// Whether publishing here signs something (and so needs the private key).
    fn signs(&self, planned: &Planned) -> bool;
    /// Whether promote and yank need the release record (`dist/<v>/manifest.json` or what
    /// stands in for it) rather than only what the destination holds.
    fn needs_record(&self) -> bool;
    /// Checks, writing nothing, that the release can be published here: the destination is
    /// usable (credentials work) and holds nothing different under the version.
    fn preflight(&self, planned: &Planned, files: &[LocalFile]) -> Result<(), Failure>;
    /// Publishes the immutable things of the release. Never touches mutable pointers.
    fn publish(
        &self,
        planned: &Planned,
        files: &[LocalFile],
        key: Option<&SigningKey>,
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

/// The `dir:` destination's own operations, behind [`Destination`].
pub trait Provider {
    /// The destination URL, for messages.
    fn url(&self) -> &str;
    /// Checks, writing nothing, that `files` can be put for `version`: the destination is
    /// usable and holds no different file under the version. A release-wide publish runs every
    /// destination's preflight before it writes anything anywhere.
    fn preflight(&self, version: &str, files: &[LocalFile]) -> Result<(), Failure>;
    /// Puts the immutable files of `version`. Never touches mutable pointers.
    fn put_release(&self, version: &str, files: &[LocalFile], reporter: &dyn Reporter) -> Result<PutOutcome, Failure>;
    /// Checks the gates for `version`, writing nothing; the plan moves the pointers.
    fn check_promote(
        &self,
        version: &Version,
        allow_downgrade: bool,
        reporter: &dyn Reporter,
    ) -> Result<PromotePlan, Failure>;
    /// What removing `version` takes (`apply`: and removes it). A version a pointer names is
    /// listed in `blocked_by` and kept unless `force` (which removes those pointers too).
    fn yank(&self, version: &Version, apply: bool, force: bool) -> Result<YankReport, Failure>;
}

/// Parses a destination URL once into its kind: `dir:PATH` or `oci://REGISTRY/PATH`.
pub fn open(url: &str) -> Result<Box<dyn Destination>, Failure> {
    if crate::oci::is_oci(url) {
        return Ok(Box::new(crate::oci::OciDestination::parse(url)?));
    }
    if url.starts_with("s3://") {
        return Ok(Box::new(crate::s3::S3Destination::parse(url, crate::s3::S3Options::from_env())?));
    }
    Ok(Box::new(open_dir(url)?))
}

/// Opens a `dir:` destination.
pub fn open_dir(url: &str) -> Result<DirProvider, Failure> {
    if let Some(path) = url.strip_prefix("dir:") {
        if path.is_empty() {
            return Err(
                Failure::usage(format!("destination `{url}` has no path")).with_hint("write it as dir:./releases")
            );
        }
        return Ok(DirProvider::new(url, PathBuf::from(path)));
    }
    let scheme = url.split(':').next().unwrap_or(url);
    let known = ["github", "gitea", "forgejo", "gitlab"];
    let msg = if known.contains(&scheme) {
        format!("destination `{url}`: `{scheme}:` destinations are not supported by this version of relman")
    } else {
        format!("destination `{url}` has an unknown scheme")
    };
    Err(Failure::usage(msg).with_hint("use --to dir:PATH, --to oci://REGISTRY/PATH or --to s3://BUCKET/PREFIX"))
}

impl Destination for DirProvider {
    fn url(&self) -> &str {
        Provider::url(self)
    }
    fn kind(&self) -> Kind {
        Kind::Dir
    }
    fn accepts(&self, _planned: &Planned) -> Result<(), Failure> {
        Ok(())
    }
    fn signs(&self, _planned: &Planned) -> bool {
        true // the manifest's signature
    }
    fn needs_record(&self) -> bool {
        false
    }
    fn preflight(&self, planned: &Planned, files: &[LocalFile]) -> Result<(), Failure> {
        Provider::preflight(self, &planned.manifest.version, files)
    }
    fn publish(
        &self,
        planned: &Planned,
        files: &[LocalFile],
        _key: Option<&SigningKey>,
        reporter: &dyn Reporter,
    ) -> Result<PutOutcome, Failure> {
        self.put_release(&planned.manifest.version, files, reporter)
    }
    fn check_promote(
        &self,
        _record: Option<&Planned>,
        version: &Version,
        allow_downgrade: bool,
        reporter: &dyn Reporter,
    ) -> Result<PromotePlan, Failure> {
        Provider::check_promote(self, version, allow_downgrade, reporter)
    }
    fn yank(&self, _scope: &YankScope<'_>, version: &Version, apply: bool, force: bool) -> Result<YankReport, Failure> {
        Provider::yank(self, version, apply, force)
    }
    fn state(
        &self,
        _record: Option<&Planned>,
        version: &Version,
        key: Option<&relman_sign::PublicKey>,
    ) -> Result<DestinationState, Failure> {
        self.fetch_state(version, key)
    }
}
