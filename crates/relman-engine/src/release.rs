//! The stages after packaging and the whole chain.
//!
//! * [`publish`] puts the immutable files of a packaged release to every destination and
//!   records the outcome in the manifest.
//! * [`promote_all`] checks the gates at every destination, then moves the pointers at all.
//! * [`release`] runs plan → build → package → publish (→ promote). Each stage skips what is
//!   already done (same digest), so re-running after a failure resumes.

use relman_manifest::{DestinationState, Failure};
use semver::Version;
use serde::Serialize;

use crate::fsutil;
use crate::package::{self, Packaged};
use crate::plan;
use crate::planned::Planned;
use crate::provider::{self, LocalFile, PromoteReport, PutOutcome};
use crate::report::Reporter;
use crate::settings::Options;

/// The published copy of the manifest, written beside the working one.
pub const RELEASE_MANIFEST_FILE: &str = "release-manifest.json";

/// The files a destination receives: every artifact, plus the manifest's release view and,
/// with a key, its signature `manifest.json.sigstore.json` (what verify reports as the
/// release's record — commit, version, artifacts — is covered by it).
pub fn release_files(
    planned: &Planned,
    identity: Option<&crate::sign::Identity>,
    reporter: &dyn Reporter,
) -> Result<Vec<LocalFile>, Failure> {
    let mut files = Vec::new();
    for a in &planned.manifest.artifacts {
        let (Some(sha256), Some(size)) = (a.sha256.clone(), a.size) else {
            return Err(Failure::publish(format!("`{}` has not been packaged", a.name))
                .with_hint("run `relman package` (or `relman release`) first"));
        };
        files.push(LocalFile { name: a.name.clone(), path: planned.artifact_path(&a.name), sha256, size });
    }
    let view = planned.manifest.release_view().to_json();
    let path = planned.version_dir.join(RELEASE_MANIFEST_FILE);
    fsutil::write_atomic(&path, view.as_bytes())?;
    let sha256 = relman_install::hash::sha256_bytes(view.as_bytes());
    if let Some(identity) = identity {
        files.push(manifest_signature(&path, &sha256, identity, reporter)?);
    }
    files.push(LocalFile { name: plan::MANIFEST_FILE.to_string(), path, sha256, size: view.len() as u64 });
    Ok(files)
}

/// `manifest.json.sigstore.json` for the release view whose digest is `sha256`. An existing
/// signature of the same bytes by the same key is kept: a re-run signs nothing and publishes
/// the bytes a destination already holds (which are immutable).
fn manifest_signature(
    manifest_path: &std::path::Path,
    sha256: &relman_manifest::Sha256,
    identity: &crate::sign::Identity,
    reporter: &dyn Reporter,
) -> Result<LocalFile, Failure> {
    let name = plan::bundle_name(plan::MANIFEST_FILE);
    let path = manifest_path.with_file_name(plan::bundle_name(RELEASE_MANIFEST_FILE));
    let existing =
        std::fs::read_to_string(&path).ok().filter(|text| identity.keeps(text, &name, plan::MANIFEST_FILE, sha256));
    let text = match existing {
        Some(text) => text,
        None => {
            let text = relman_sign::blob::sign_digest(identity.signer(reporter)?, sha256)?.bundle_json();
            fsutil::write_atomic(&path, text.as_bytes())?;
            text
        }
    };
    Ok(LocalFile { name, path, sha256: relman_install::hash::sha256_bytes(text.as_bytes()), size: text.len() as u64 })
}

/// Publishes to every destination of the manifest: every destination's preflight first
/// (nothing written), then each in turn, its state recorded in the manifest as it goes.
pub fn publish(planned: &mut Planned, reporter: &dyn Reporter) -> Result<Vec<PutOutcome>, Failure> {
    reporter.stage("publish");
    if planned.manifest.destinations.is_empty() {
        return Err(Failure::usage("no destination to publish to")
            .with_hint("pass --to dir:PATH, or set release.to in relman.toml"));
    }
    let urls: Vec<String> = planned.manifest.destinations.iter().map(|d| d.url.clone()).collect();
    let mut dests = urls.iter().map(|u| provider::open(u, &planned.settings.remote)).collect::<Result<Vec<_>, _>>()?;
    // Registries first, then file stores, then pages: what links to something comes after it.
    provider::in_dependency_order(&mut dests);
    // The manifest is signed for file destinations; images are signed as they are pushed (the
    // signature names the destination repository): load the key once, before anything is put.
    let needs_key = dests.iter().any(|d| d.signs(planned));
    let identity = if needs_key { crate::sign::release_identity(planned, reporter)? } else { None };
    let files = release_files(planned, identity.as_ref(), reporter)?;
    // Every destination is checked before anything is written anywhere: a conflict or refused
    // credentials at the last one leave the first ones untouched.
    for d in &dests {
        d.accepts(planned)?;
        d.preflight(planned, &files)?;
    }
    let mut outcomes = Vec::new();
    for d in &dests {
        let url = d.url().to_string();
        let outcome = d.publish(planned, &files, identity.as_ref(), reporter)?;
        if outcome.written.is_empty() {
            reporter.step(&format!("{url}: already published, nothing to do"));
        } else {
            reporter.step(&format!(
                "{url}: {} written, {} already there",
                outcome.written.len(),
                outcome.skipped.len()
            ));
        }
        let d = planned.manifest.destination_mut(&url);
        if d.state == DestinationState::Planned {
            d.state = DestinationState::Published;
        }
        d.location = Some(outcome.location.clone());
        planned.save()?;
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

pub use crate::planned::has_oci_content;

/// Promotes `version` at every destination in `urls` as one: every gate at every destination
/// is checked first (nothing written), and pointers move only when all pass — a gate failing
/// at one destination moves nothing anywhere. The error names each failed gate with its
/// destination.
pub fn promote_all(
    urls: &[String],
    version: &Version,
    allow_downgrade: bool,
    project: Option<&Planned>,
    remote: &crate::remote::Remote,
    reporter: &dyn Reporter,
) -> Result<Vec<PromoteReport>, Failure> {
    reporter.stage("promote");
    let mut unique: Vec<String> = Vec::new();
    for u in urls {
        if !unique.contains(u) {
            unique.push(u.clone());
        }
    }
    // The database may know more than it did at package: the release's SBOMs are checked
    // again before any gate at any destination.
    if let Some((planned, cfg)) = project.and_then(|p| p.settings.vulnerabilities.as_ref().map(|c| (p, c))) {
        let report = crate::vuln::check_release(planned, cfg)?;
        for w in &report.warnings {
            reporter.warn(w);
        }
        reporter.step(&format!(
            "gate vulnerabilities: {} ({} findings, {} blocking; database sha256 {}, {})",
            if report.blocking().is_empty() { "pass" } else { "FAIL" },
            report.findings.len(),
            report.blocking().len(),
            &report.database_digest[..12],
            report.database_date.as_deref().unwrap_or("undated")
        ));
        report.gate(&format!("cannot promote {version}"))?;
    }
    let mut dests = unique.iter().map(|u| provider::open(u, remote)).collect::<Result<Vec<_>, _>>()?;
    // Pointers move in dependency order too: a page is published after what it links to moved.
    provider::in_dependency_order(&mut dests);
    let urls: Vec<String> = dests.iter().map(|d| d.url().to_string()).collect();
    let urls = &urls[..];
    let mut plans = Vec::new();
    for d in &dests {
        plans.push(d.check_promote(project, version, allow_downgrade, reporter)?);
    }
    let failed: Vec<String> = plans
        .iter()
        .flat_map(|p| {
            let many = urls.len() > 1;
            p.report.gates.iter().filter(|g| !g.passed).map(move |g| {
                if many {
                    format!("{} at `{}` ({})", g.name, p.report.destination, g.detail)
                } else {
                    format!("{} ({})", g.name, g.detail)
                }
            })
        })
        .collect();
    if !failed.is_empty() {
        let place = match urls {
            [one] => format!("at `{one}`"),
            _ => format!("at {} destinations (nothing was moved at any)", urls.len()),
        };
        let mut f = Failure::gate(format!("cannot promote {version} {place}: gate {}", failed.join(", gate ")));
        if !version.pre.is_empty() {
            f = f.with_hint("pre-releases stay reachable by their version; only stable versions move latest");
        } else if failed.iter().any(|g| g.starts_with("not-older")) {
            let oci = urls.iter().any(|u| provider::open(u, remote).is_ok_and(|d| d.kind() == provider::Kind::Oci));
            f = f.with_hint(if oci {
                "pass --allow-downgrade to move X.Y backwards on purpose (latest stays on a newer X.Y line)"
            } else {
                "pass --allow-downgrade to move latest backwards on purpose"
            });
        }
        return Err(f);
    }
    let mut reports: Vec<PromoteReport> = Vec::new();
    let count = plans.len();
    for (i, plan) in plans.into_iter().enumerate() {
        match plan.apply(reporter) {
            Ok(r) => reports.push(r),
            Err(stopped) => {
                let (f, partial) = *stopped;
                return Err(stopped_midway(version, f, &partial, &reports, &urls[i + 1..count]));
            }
        }
    }
    Ok(reports)
}

/// A pointer move failed at `partial.destination`: the error names each pointer that moved
/// (there and at the destinations before), each left, and the destinations not reached.
fn stopped_midway(
    version: &Version,
    f: Failure,
    partial: &PromoteReport,
    done: &[PromoteReport],
    not_reached: &[String],
) -> Failure {
    let list = |v: &[String]| if v.is_empty() { "none".to_string() } else { v.join(", ") };
    let mut parts = vec![format!(
        "promote of {version} stopped at `{}`: {}; moved there: {}; not moved there: {}",
        partial.destination,
        f.message,
        list(&partial.moved_pointers),
        list(&partial.left_pointers)
    )];
    for r in done {
        parts.push(format!("done at `{}` (moved: {})", r.destination, list(&r.moved_pointers)));
    }
    if !not_reached.is_empty() {
        parts.push(format!(
            "not reached: {}",
            not_reached.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", ")
        ));
    }
    Failure { message: parts.join("; "), ..f }
        .with_hint(format!("run `relman promote {version}` again: it finishes the moves (each one is idempotent)"))
}

/// `relman check` before building: every recorded version agrees with the tag and the
/// changelog is final. Problems are reported one per line; the failure lists their count.
fn check(planned: &Planned, allow_dirty: bool, reporter: &dyn Reporter) -> Result<(), Failure> {
    reporter.stage("check");
    let s = &planned.settings;
    let mut ignore = Vec::new();
    for p in std::iter::once(s.dist.clone())
        .chain(s.destinations.iter().filter_map(|d| d.strip_prefix("dir:")).map(std::path::PathBuf::from))
    {
        if let Ok(rel) = p.strip_prefix(&s.root) {
            ignore.push(rel.display().to_string());
        }
    }
    let opts = crate::lockstep::CheckOptions {
        root: s.root.clone(),
        tag_prefix: s.tag_prefix.clone(),
        versions: s.versions.clone(),
        tag: planned.manifest.tag.clone(),
        git_ref: None,
        allow_dirty,
        ignore_dirty: ignore,
        changelog: s.notes.changelog.as_ref().map(std::path::PathBuf::from),
    };
    let mut report = crate::lockstep::check(&opts)?;
    let config_file = s.config_path.strip_prefix(&s.root).unwrap_or(&s.config_path).display().to_string();
    crate::lockstep::add_release_problems(&mut report, &s.root, &config_file, &s.images, &s.charts, &s.ci_config)?;
    if let Some(config) = crate::config::Config::load(&s.config_path)? {
        crate::lockstep::add_signing_problems(&mut report, &s.root, &config_file, &config.sign);
    }
    for w in &report.warnings {
        reporter.warn(w);
    }
    for p in &report.problems {
        reporter.step(&format!("problem: {p}"));
    }
    match report.failure() {
        Some(f) => Err(f),
        None => {
            reporter.step(&format!("{} version files agree with {}", report.files.len(), report.tag));
            Ok(())
        }
    }
}

/// What `release` did, for the summary.
#[derive(Debug, Serialize)]
pub struct ReleaseSummary {
    pub name: String,
    pub version: String,
    pub channel: &'static str,
    pub tag: Option<String>,
    pub commit: String,
    pub manifest: String,
    pub artifacts: Vec<Packaged>,
    pub published: Vec<PutOutcome>,
    pub promoted: Vec<PromoteReport>,
    /// The container images built, and where they were pushed.
    pub images: Vec<ImageSummary>,
}

/// One image of the release: its index digest, platforms, and the references it was pushed as.
#[derive(Debug, Serialize)]
pub struct ImageSummary {
    pub name: String,
    pub digest: Option<String>,
    pub platforms: Vec<String>,
    /// `REGISTRY/PATH/<name>:<version>` at every `oci://` destination.
    pub pushed: Vec<String>,
}

/// The images of `planned`, with their references at its `oci://` destinations.
fn image_summaries(planned: &Planned) -> Vec<ImageSummary> {
    let tag = crate::image::version_tag(&planned.manifest.version);
    planned
        .manifest
        .images
        .iter()
        .map(|i| ImageSummary {
            name: i.name.clone(),
            digest: i.digest.clone(),
            platforms: i.platforms.iter().map(|p| p.platform.clone()).collect(),
            pushed: planned
                .manifest
                .destinations
                .iter()
                .filter(|d| crate::oci::is_oci(&d.url) && d.state != DestinationState::Planned)
                .filter_map(|d| crate::oci::OciDest::parse(&d.url).ok()?.repo(&i.name).ok())
                .map(|r| format!("{}:{tag}", r.name()))
                .collect(),
        })
        .collect()
}

/// Runs the configured smoke tests at the first OCI destination (their signed results are what
/// promote's `smoke` gate reads); a failed test is a gate failure naming the image.
fn run_smoke(planned: &Planned, urls: &[String], reporter: &dyn Reporter) -> Result<(), Failure> {
    let configured = planned.settings.images.iter().any(|c| c.smoke.is_some());
    let Some(url) = urls.iter().find(|u| crate::oci::is_oci(u)) else { return Ok(()) };
    if !configured {
        return Ok(());
    }
    let key = crate::sign::load_key(&planned.settings, reporter)?;
    let results = crate::smoke::smoke(planned, url, key.as_ref(), reporter)?;
    match results.iter().find(|r| !r.passed) {
        Some(r) => Err(Failure::gate(format!("smoke test of `{}` failed: {}", r.image, r.detail))
            .with_hint(format!("output ends with: {}", r.output.lines().last().unwrap_or("").trim()))),
        None => Ok(()),
    }
}

#[derive(Clone, Debug, Default)]
pub struct ReleaseOptions {
    pub options: Options,
    pub promote: bool,
    pub allow_downgrade: bool,
}

/// plan → build → package → publish (→ promote).
pub fn release(ro: &ReleaseOptions, reporter: &dyn Reporter) -> Result<ReleaseSummary, Failure> {
    reporter.stage("plan");
    let mut planned = plan::plan(&ro.options)?;
    reporter.step(&format!(
        "{} {} ({}) at {}",
        planned.manifest.project.name,
        planned.manifest.version,
        planned.manifest.channel.as_str(),
        &planned.manifest.commit[..7]
    ));
    if !ro.options.snapshot {
        check(&planned, ro.options.allow_dirty, reporter)?;
    }
    // The key and its passphrase, before anything is built.
    if crate::sign::snapshot_unsigned(&planned).is_none() {
        planned.settings.check_sign_key()?;
    }
    crate::hooks::run_planned(&planned, crate::hooks::Point::Before, reporter)?;
    crate::build::build(&planned, &[], reporter)?;
    crate::hooks::host_smoke(&planned, reporter)?;
    crate::hooks::run_planned(&planned, crate::hooks::Point::AfterBuild, reporter)?;
    crate::docs::build_docs(&planned, reporter)?;
    let artifacts = package::package(&mut planned, reporter)?;
    crate::hooks::run_planned(&planned, crate::hooks::Point::BeforePublish, reporter)?;
    let published = publish(&mut planned, reporter)?;
    let mut promoted = Vec::new();
    if ro.promote {
        let version = Version::parse(&planned.manifest.version).expect("planned versions are semver");
        let urls: Vec<String> = planned.manifest.destinations.iter().map(|d| d.url.clone()).collect();
        run_smoke(&planned, &urls, reporter)?;
        promoted =
            promote_all(&urls, &version, ro.allow_downgrade, Some(&planned), &planned.settings.remote, reporter)?;
        for url in &urls {
            planned.manifest.destination_mut(url).state = DestinationState::Promoted;
        }
        planned.save()?;
        crate::hooks::run_planned(&planned, crate::hooks::Point::AfterPromote, reporter)?;
    }
    Ok(ReleaseSummary {
        name: planned.manifest.project.name.clone(),
        version: planned.manifest.version.clone(),
        channel: planned.manifest.channel.as_str(),
        tag: planned.manifest.tag.clone(),
        commit: planned.manifest.commit.clone(),
        manifest: planned.manifest_path().display().to_string(),
        artifacts,
        published,
        promoted,
        images: image_summaries(&planned),
    })
}
