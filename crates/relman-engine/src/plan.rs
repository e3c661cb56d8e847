//! `plan`: decide everything before anything runs.
//!
//! Input: [`Settings`] and the git repository. Output: a [`Planned`] release whose manifest
//! lists every artifact (per-target archives, `checksums.txt`, `index.json`) and destination,
//! written to `dist/<version>/manifest.json`. Planning reads git and the file system but
//! builds nothing, so `relman plan` is a complete dry run.
//!
//! Resuming: when `dist/<version>/manifest.json` exists for the same commit and the same
//! artifacts, the recorded digests and destination states are kept, so later stages skip what
//! is already done.

use std::path::{Path, PathBuf};

use relman_manifest::{
    Artifact, ArtifactKind, DestinationState, Failure, ImagePlatform, ImageRecord, Manifest, Project,
    MANIFEST_FORMAT_VERSION,
};
use semver::Version;

use crate::git::Repo;
pub use crate::planned::{
    bundle_name, has_oci_content, load_manifest, moves_latest, provenance_name, Packaged, Planned, CHECKSUMS_FILE,
    CYCLONEDX_EXT, INDEX_FILE, LOCKFILES, MANIFEST_FILE, NOTES_FILE, SPDX_EXT,
};
use crate::settings::{exe_suffix, Options, Settings};
use crate::version;
use relman_install::lock::Lock;

/// The version being released and where it came from.
#[derive(Clone, Debug)]
pub struct ResolvedVersion {
    pub version: Version,
    pub tag: Option<String>,
    pub commit: String,
}

/// Resolves settings, version and artifacts; writes the manifest.
pub fn plan(opts: &Options) -> Result<Planned, Failure> {
    // The signing key is checked where it is used (package, and `release` before it builds):
    // a build matrix's runners plan and build without it.
    let settings = Settings::resolve(opts)?;
    let repo = Repo::discover(&settings.root)?;
    let resolved = resolve_version(&repo, &settings, opts)?;
    if !opts.snapshot && !opts.allow_dirty {
        check_clean(&repo, &settings)?;
    }
    for f in &settings.files {
        if !settings.root.join(f).exists() {
            return Err(Failure::config(format!(
                "`package.files` lists `{f}`, which does not exist in `{}`",
                settings.root.display()
            ))
            .with_hint("fix the path in relman.toml or add the file"));
        }
    }
    let source_date_epoch = match opts.source_date_epoch {
        Some(t) => t,
        None => repo.commit_time(&resolved.commit)?,
    };
    let version = resolved.version.to_string();
    let version_dir = settings.dist.join(&version);
    let mut manifest = Manifest {
        format_version: MANIFEST_FORMAT_VERSION,
        project: Project {
            name: settings.name.clone(),
            repository: settings.repository.clone().or_else(|| repo.origin_url()),
        },
        version: version.clone(),
        tag: resolved.tag.clone(),
        channel: version::channel_of(&resolved.version),
        snapshot: opts.snapshot,
        commit: resolved.commit.clone(),
        source_date_epoch,
        targets: settings.targets.clone(),
        artifacts: plan_artifacts(
            &settings,
            &version,
            &plan_charts(&settings, &version, opts.snapshot)?,
            settings.snapshot_unsigned(opts.snapshot).is_none(),
        ),
        images: crate::image::plan_images(&settings)?,
        destinations: Vec::new(),
        vulnerability_check: None,
    };
    for d in &settings.destinations {
        manifest.destination_mut(d);
    }
    let lock = lock_project(&settings.dist, &version_dir, &version)?;
    let planned = Planned {
        settings,
        manifest,
        version_dir,
        lock: Some(std::sync::Arc::new(lock)),
        origin: crate::planned::Origin::Local,
    };
    let planned = merge_previous(planned)?;
    planned.save()?;
    Ok(planned)
}

/// Takes the project's lock (`dist/.relman-lock`: two relman runs never write one `dist/` at
/// once) and removes what killed runs left in `dist/`, `dist/<version>/`, its build
/// directories, its OCI layouts and its image stage (temp files, all named `.relman-tmp-*`).
fn lock_project(dist: &Path, version_dir: &Path, version: &str) -> Result<Lock, Failure> {
    let lock = Lock::acquire(
        &dist.join(relman_install::lock::LOCK_FILE),
        &format!("the project's `{}`", dist.display()),
        &format!("release {version}"),
        relman_install::lock::wait(),
    )?;
    let mut dirs = vec![dist.to_path_buf(), version_dir.to_path_buf(), version_dir.join("images")];
    for sub in ["build", "oci", "images"] {
        if let Ok(entries) = std::fs::read_dir(version_dir.join(sub)) {
            for e in entries.flatten().filter(|e| e.file_type().is_ok_and(|t| t.is_dir())) {
                dirs.push(e.path());
                dirs.push(e.path().join("blobs").join("sha256"));
            }
        }
    }
    for dir in dirs {
        lock.sweep(&dir)?;
    }
    Ok(lock)
}

/// The file name of each configured chart's package (`<chart>-<chart version>.tgz`). An image
/// and a chart (or two charts) that would share a repository at an `oci://` destination are
/// refused here, before anything is built.
fn plan_charts(s: &Settings, version: &str, snapshot: bool) -> Result<Vec<String>, Failure> {
    let mut repos: Vec<(String, String)> =
        s.images.iter().map(|c| (crate::image::image_name(s, c), "the image".to_string())).collect();
    let mut names = Vec::new();
    for c in &s.charts {
        let meta = crate::chart::load_for_release(&s.root, c, version, snapshot)?;
        let repo = crate::chart::repository_name(c, &meta.name);
        if let Some((_, what)) = repos.iter().find(|(r, _)| *r == repo) {
            return Err(Failure::config(format!(
                "the chart `{}` ({}) and {what} `{repo}` would be pushed to the same repository `<destination>/{repo}`",
                meta.name, c.path
            ))
            .with_hint(format!("give the chart its own path: repository = \"charts\" in its [[chart]] ({})", c.path)));
        }
        repos.push((repo, format!("the chart in {}", c.path)));
        names.push(meta.archive_name());
    }
    Ok(names)
}

fn plan_artifacts(s: &Settings, version: &str, charts: &[String], may_sign: bool) -> Vec<Artifact> {
    let mut artifacts = Vec::new();
    let has_lockfile = LOCKFILES.iter().any(|f| s.root.join(f).is_file());
    let mut sboms = Vec::new();
    for target in &s.targets {
        let format = s.format_for(target);
        let archive = format!("{}-{version}-{target}.{}", s.name, format.extension());
        artifacts.push(Artifact {
            binaries: s.binaries.iter().map(|b| format!("{b}{}", exe_suffix(target))).collect(),
            files: s.files.clone(),
            format: Some(format),
            ..artifact(&archive, ArtifactKind::Archive, Some(target))
        });
        if has_lockfile {
            for ext in [SPDX_EXT, CYCLONEDX_EXT] {
                sboms.push(Artifact {
                    subject: Some(archive.clone()),
                    ..artifact(&format!("{}-{version}-{target}.{ext}", s.name), ArtifactKind::Sbom, Some(target))
                });
            }
        }
    }
    artifacts.extend(sboms);
    for c in charts {
        artifacts.push(artifact(c, ArtifactKind::Chart, None));
    }
    let signed = s.signs() && may_sign;
    // SLSA provenance of the archives: always (an unsigned statement without a key), with its
    // bundle when the release is signed.
    if artifacts.iter().any(|a| a.kind == ArtifactKind::Archive) {
        let provenance = provenance_name(&s.name, version);
        artifacts.push(artifact(&provenance, ArtifactKind::Provenance, None));
        if signed {
            artifacts.push(Artifact {
                subject: Some(provenance.clone()),
                ..artifact(&bundle_name(&provenance), ArtifactKind::Bundle, None)
            });
        }
    }
    if !s.targets.is_empty() && !s.binaries.is_empty() && s.installer.enabled != Some(false) {
        artifacts.push(artifact(crate::planned::INSTALLER_FILE, ArtifactKind::Installer, None));
    }
    artifacts.push(artifact(CHECKSUMS_FILE, ArtifactKind::Checksums, None));
    artifacts.push(artifact(INDEX_FILE, ArtifactKind::Index, None));
    artifacts.push(artifact(NOTES_FILE, ArtifactKind::Notes, None));
    if s.page {
        artifacts.push(artifact(crate::page::PAGE_FILE, ArtifactKind::Page, None));
    }
    if signed {
        // Every file a user downloads gets a legacy signature and a Sigstore bundle; the
        // provenance is DSSE-signed instead (its bundle above).
        let signable: Vec<(String, Option<String>)> = artifacts
            .iter()
            .filter(|a| {
                matches!(
                    a.kind,
                    ArtifactKind::Archive
                        | ArtifactKind::Sbom
                        | ArtifactKind::Checksums
                        | ArtifactKind::Index
                        | ArtifactKind::Chart
                        | ArtifactKind::Installer
                )
            })
            .map(|a| (a.name.clone(), a.target.clone()))
            .collect();
        for (name, target) in signable {
            // Keyless: no `.sig` (a signature without its certificate verifies nothing); the
            // bundle carries the certificate and the log entry.
            if !s.keyless {
                artifacts.push(Artifact {
                    subject: Some(name.clone()),
                    ..artifact(&format!("{name}.sig"), ArtifactKind::Signature, target.as_ref())
                });
            }
            artifacts.push(Artifact {
                subject: Some(name.clone()),
                ..artifact(&bundle_name(&name), ArtifactKind::Bundle, target.as_ref())
            });
        }
    }
    artifacts
}

/// An artifact with nothing recorded yet.
pub fn artifact(name: &str, kind: ArtifactKind, target: Option<&String>) -> Artifact {
    Artifact {
        name: name.to_string(),
        kind,
        target: target.cloned(),
        format: None,
        binaries: Vec::new(),
        files: Vec::new(),
        subject: None,
        size: None,
        sha256: None,
    }
}

/// Keeps what a previous run of the same plan recorded.
fn merge_previous(mut planned: Planned) -> Result<Planned, Failure> {
    let path = planned.manifest_path();
    if !path.exists() {
        return Ok(planned);
    }
    let Ok(old) = load_manifest(&path) else {
        // A manifest we cannot read is replaced: every artifact will be checked again.
        return Ok(planned);
    };
    if old.commit != planned.manifest.commit || old.source_date_epoch != planned.manifest.source_date_epoch {
        return Ok(planned);
    }
    for a in planned.manifest.artifacts.iter_mut() {
        if let Some(prev) = old.artifact(&a.name) {
            let same = Artifact { size: a.size, sha256: a.sha256.clone(), ..prev.clone() } == *a;
            if same {
                a.size = prev.size;
                a.sha256 = prev.sha256.clone();
            }
        }
    }
    for img in planned.manifest.images.iter_mut() {
        if let Some(prev) = old.images.iter().find(|p| p.name == img.name) {
            let strip = |r: &ImageRecord| ImageRecord {
                digest: None,
                platforms: r
                    .platforms
                    .iter()
                    .map(|p| ImagePlatform { digest: None, size: None, ..p.clone() })
                    .collect(),
                ..r.clone()
            };
            if strip(prev) == strip(img) {
                *img = prev.clone();
            }
        }
    }
    for d in planned.manifest.destinations.iter_mut() {
        if let Some(prev) = old.destinations.iter().find(|p| p.url == d.url) {
            if prev.state != DestinationState::Planned {
                d.state = prev.state;
                d.location = prev.location.clone();
            }
        }
    }
    Ok(planned)
}

/// Decides the version: the tag at HEAD (or `--tag`), or a snapshot.
pub fn resolve_version(repo: &Repo, s: &Settings, opts: &Options) -> Result<ResolvedVersion, Failure> {
    let head = repo.head()?;
    let short = &head[..7.min(head.len())];
    let prefix = s.tag_prefix.as_str();
    if opts.snapshot {
        let mut best: Option<(Version, String)> = None;
        for tag in repo.tags_merged(&head)? {
            if let Some(v) = version::try_parse_tag(&tag, prefix) {
                if best.as_ref().map(|(b, _)| version::precedence(&v, b).is_gt()).unwrap_or(true) {
                    best = Some((v, tag));
                }
            }
        }
        let commits = repo.count_commits(best.as_ref().map(|(_, t)| t.as_str()), &head)?;
        let v = version::snapshot_version(best.as_ref().map(|(v, _)| v), commits, short);
        return Ok(ResolvedVersion { version: v, tag: None, commit: head });
    }
    if let Some(tag) = &opts.tag {
        let v = version::parse_tag(tag, prefix)?;
        let commit = repo.tag_commit(tag)?.ok_or_else(|| {
            Failure::git(format!("tag `{tag}` does not exist"))
                .with_hint(format!("create it with `git tag -a {tag} -m {tag}`"))
        })?;
        if commit != head {
            return Err(Failure::git(format!(
                "tag `{tag}` points at {}, not at HEAD ({short})",
                &commit[..7.min(commit.len())]
            ))
            .with_hint(format!("check out `{tag}` first, or move the tag, or use --snapshot")));
        }
        return Ok(ResolvedVersion { version: v, tag: Some(tag.clone()), commit: head });
    }
    let tags = repo.tags_at(&head)?;
    let mut release_tags: Vec<(Version, String)> = Vec::new();
    let mut other = Vec::new();
    for t in tags {
        match version::try_parse_tag(&t, prefix) {
            Some(v) => release_tags.push((v, t)),
            None => other.push(t),
        }
    }
    match release_tags.len() {
        1 => {
            let (v, t) = release_tags.pop().expect("one");
            Ok(ResolvedVersion { version: v, tag: Some(t), commit: head })
        }
        0 => {
            if let Some(t) = other.iter().find(|t| t.starts_with(prefix)) {
                // Explain why the tag at HEAD is not a release tag.
                version::parse_tag(t, prefix)?;
            }
            Err(Failure::git(format!("no release tag points at HEAD ({short})"))
                .with_hint(format!("tag the commit (`git tag -a {prefix}0.1.0 -m {prefix}0.1.0`), or use --snapshot")))
        }
        _ => {
            let names: Vec<&str> = release_tags.iter().map(|(_, t)| t.as_str()).collect();
            Err(Failure::git(format!("several release tags point at HEAD: {}", names.join(", ")))
                .with_hint("name the one to release with --tag"))
        }
    }
}

/// Refuses uncommitted changes, ignoring relman's own output directories.
fn check_clean(repo: &Repo, s: &Settings) -> Result<(), Failure> {
    let mut exclude = Vec::new();
    let mut own = vec![s.dist.clone()];
    for d in &s.destinations {
        if let Some(p) = d.strip_prefix("dir:") {
            own.push(PathBuf::from(p));
        }
    }
    for p in own {
        let p = std::fs::canonicalize(&p).unwrap_or_else(|_| crate::settings::normalize(&p));
        if let Ok(rel) = p.strip_prefix(repo.root()) {
            if !rel.as_os_str().is_empty() {
                exclude.push(rel.display().to_string());
            }
        }
    }
    let dirty = repo.dirty_paths(&exclude)?;
    if dirty.is_empty() {
        return Ok(());
    }
    let more = if dirty.len() > 3 { format!(" and {} more", dirty.len() - 3) } else { String::new() };
    let shown: Vec<&str> = dirty.iter().take(3).map(String::as_str).collect();
    Err(Failure::git(format!("the working tree has uncommitted changes: {}{more}", shown.join(", ")))
        .with_hint("commit or stash them, or pass --allow-dirty (or --snapshot for a test build)"))
}
