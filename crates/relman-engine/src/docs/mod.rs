//! Versioned docs, mike-compatible: `[docs]` builds the site (any command, or a directory
//! already built) into `dist/<version>/docs/` in the build stage; a docs destination holds
//! one immutable `<version>/` per release, `versions.json` in mike's format, the `latest/`
//! alias (mike's redirect pages: one per HTML page, to the same page of the version) and the
//! root `index.html` redirecting to `latest/` (mike's `set-default latest`).
//!
//! Publish writes `<version>/` and lists it in `versions.json` (what `mike deploy VERSION`
//! does); promote moves `latest` and the root redirect (what `mike deploy --update-aliases
//! VERSION latest` and `mike set-default latest` do). Pre-releases never become `latest`;
//! earlier versions are never touched; every step is idempotent.
//!
//! Where: `docs+s3://BUCKET/PREFIX`, `git:BRANCH` (a branch of the project's `origin`, or `git:BRANCH@REMOTE`; one
//! commit per step made without a worktree, reproducible, pushed without force — when the
//! branch moved meanwhile, the step is recomputed on the new tip) and `docs+dir:PATH`.

mod git;
mod site;
mod store;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use relman_manifest::Failure;
use semver::Version;

use crate::destination::{
    ApplyMoves, Destination, DestinationState, Kind, LocalFile, Pointer, PromotePlan, PromoteReport, PutOutcome,
    YankReport, YankScope,
};
use crate::planned::Planned;
use crate::report::Reporter;

pub use site::{redirect_page, versions_json, VersionEntry};
use store::{transact, Change, Snapshot, Store};

/// The built site of a release: `dist/<version>/docs/`.
pub const SITE_DIR: &str = "docs";
pub const VERSIONS_FILE: &str = "versions.json";
pub const LATEST: &str = "latest";
pub const ROOT_PAGE: &str = "index.html";

/// Whether `url` is a docs destination.
pub fn is_docs(url: &str) -> bool {
    url.starts_with("git:") || url.starts_with("docs+dir:") || url.starts_with("docs+s3://")
}

pub fn site_dir(planned: &Planned) -> PathBuf {
    planned.version_dir.join(SITE_DIR)
}

/// Builds the docs site of the release (`[docs] build`, `{out}` replaced by the directory it
/// must write), or copies `[docs] dir`, into `dist/<version>/docs/`. Skipped when the site is
/// there for the same commit. A failing build fails the release before anything is published.
pub fn build_docs(planned: &Planned, reporter: &dyn Reporter) -> Result<(), Failure> {
    let cfg = &planned.settings.docs;
    if cfg.build.is_none() && cfg.dir.is_none() {
        return Ok(());
    }
    let out = site_dir(planned);
    let stamp = planned.version_dir.join(".docs.commit");
    let commit = &planned.manifest.commit;
    if out.is_dir() && fs::read_to_string(&stamp).ok().as_deref() == Some(commit.as_str()) {
        reporter.step("docs: unchanged");
        return Ok(());
    }
    let tmp = planned.version_dir.join(".docs-tmp");
    let _ = fs::remove_dir_all(&tmp);
    let root = &planned.settings.root;
    if let Some(cmd) = &cfg.build {
        let shown = cmd.replace("{out}", &tmp.display().to_string()).replace("{version}", &planned.manifest.version);
        reporter.step(&format!("docs: {shown}"));
        let log_path = planned.logs_dir().join("docs.log");
        let args = vec!["-c".to_string(), shown.clone()];
        if let Err(f) = crate::build::run_logged(planned, "sh", &args, &[], &log_path) {
            let _ = fs::remove_dir_all(&tmp);
            return Err(Failure::build(format!("the docs build {}: `{shown}`", f.message))
                .with_hint(format!("{}; nothing was published", f.hint.unwrap_or_default())));
        }
        if !tmp.is_dir() {
            if let Some(dir) = &cfg.dir {
                copy_tree(&root.join(dir), &tmp)?;
            } else {
                return Err(Failure::build(format!("the docs build `{cmd}` wrote nothing into {{out}}")).with_hint(
                    "the command must write the site into the directory `{out}` names, e.g. `mkdocs build -d {out}`",
                ));
            }
        }
    } else if let Some(dir) = &cfg.dir {
        let src = root.join(dir);
        if !src.is_dir() {
            return Err(Failure::config(format!("`docs.dir` `{dir}` is not a directory"))
                .with_hint("build the site first, or set docs.build to the command that builds it"));
        }
        copy_tree(&src, &tmp)?;
    }
    let files = site::files(&tmp)?;
    if !files.iter().any(|(p, _)| p == "index.html") {
        let _ = fs::remove_dir_all(&tmp);
        return Err(Failure::build("the docs site has no index.html at its top")
            .with_hint("the docs build must write the whole site into {out} (for mkdocs: `mkdocs build -d {out}`)"));
    }
    let _ = fs::remove_dir_all(&out);
    fs::rename(&tmp, &out).map_err(|e| Failure::io("move the docs site to", &out, e))?;
    crate::fsutil::write_atomic(&stamp, commit.as_bytes())?;
    reporter.step(&format!("docs: {} files", files.len()));
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), Failure> {
    for (rel, path) in site::files(from)? {
        let dst = to.join(&rel);
        if let Some(parent) = dst.parent() {
            crate::fsutil::create_dir_all(parent)?;
        }
        fs::copy(&path, &dst).map_err(|e| Failure::io("copy", &path, e))?;
    }
    crate::fsutil::create_dir_all(to)
}

/// Opens a docs destination (`git:BRANCH[@REMOTE]`, `docs+dir:PATH`, `docs+s3://BUCKET/PREFIX`).
pub fn open(url: &str, remote: &crate::remote::Remote) -> Result<Box<dyn Destination>, Failure> {
    let store: Box<dyn Store> = if let Some(rest) = url.strip_prefix("git:") {
        Box::new(git::GitStore::parse(url, rest)?)
    } else if let Some(path) = url.strip_prefix("docs+dir:") {
        if path.is_empty() {
            return Err(
                Failure::usage(format!("destination `{url}` has no path")).with_hint("write it as docs+dir:./site")
            );
        }
        Box::new(store::DirStore::new(url, PathBuf::from(path)))
    } else if let Some(rest) = url.strip_prefix("docs+") {
        Box::new(store::S3Store::new(url, crate::s3::S3Destination::parse(rest, remote.s3.clone())?))
    } else {
        return Err(Failure::usage(format!("`{url}` is not a docs destination")));
    };
    Ok(Box::new(DocsDestination { url: url.to_string(), store }))
}

pub struct DocsDestination {
    url: String,
    store: Box<dyn Store>,
}

/// The site's files and their ids in the store's terms.
fn local_site(store: &dyn Store, planned: &Planned) -> Result<Vec<(String, PathBuf, String)>, Failure> {
    let files = site::files(&site_dir(planned))?;
    let ids = store.ids(&files.iter().map(|(_, p)| p.clone()).collect::<Vec<_>>())?;
    Ok(files.into_iter().zip(ids).map(|((rel, path), id)| (rel, path, id)).collect())
}

impl DocsDestination {
    /// What `<version>/` holds at the destination now compared with the built site: `Ok(true)`
    /// when the same, `Ok(false)` when absent, an error naming a differing file otherwise.
    fn compare(&self, snap: &Snapshot, version: &str, local: &[(String, PathBuf, String)]) -> Result<bool, Failure> {
        let prefix = format!("{version}/");
        let there: BTreeMap<&str, &str> =
            snap.files.iter().filter_map(|(p, id)| p.strip_prefix(&prefix).map(|rest| (rest, id.as_str()))).collect();
        if there.is_empty() {
            return Ok(false);
        }
        let mine: BTreeMap<&str, &str> = local.iter().map(|(p, _, id)| (p.as_str(), id.as_str())).collect();
        if there == mine {
            return Ok(true);
        }
        let differing = mine
            .iter()
            .find(|(p, id)| there.get(*p) != Some(*id))
            .map(|(p, _)| p.to_string())
            .or_else(|| there.keys().find(|p| !mine.contains_key(*p)).map(|p| p.to_string()))
            .unwrap_or_default();
        Err(Failure::publish(format!(
            "`{}` already has docs for {version} with other content (`{version}/{differing}` differs); a published version is never changed",
            self.url
        ))
        .with_hint("publish a new version; or remove it on purpose with `relman yank` first"))
    }
}

impl Destination for DocsDestination {
    fn url(&self) -> &str {
        &self.url
    }

    fn kind(&self) -> Kind {
        Kind::Docs
    }

    fn ci_needs(&self) -> crate::destination::CiNeeds {
        self.store.ci_needs()
    }

    fn accepts(&self, planned: &Planned) -> Result<(), Failure> {
        if site_dir(planned).join("index.html").is_file() {
            return Ok(());
        }
        let configured = planned.settings.docs.build.is_some() || planned.settings.docs.dir.is_some();
        Err(Failure::usage(format!("`{}` takes the docs site, and this release has none built", self.url)).with_hint(
            if configured {
                "run `relman build` (or `relman release`) first: it builds the docs"
            } else {
                "set [docs] build = \"mkdocs build -d {out}\" (or dir = \"site\") in relman.toml"
            },
        ))
    }

    fn signs(&self, _planned: &Planned) -> bool {
        false
    }

    fn preflight(&self, planned: &Planned, _files: &[LocalFile]) -> Result<(), Failure> {
        let local = local_site(&*self.store, planned)?;
        let snap = self.store.snapshot()?;
        self.compare(&snap, &planned.manifest.version, &local).map(|_| ())
    }

    fn publish(
        &self,
        planned: &Planned,
        _files: &[LocalFile],
        _identity: Option<&crate::sign::Identity>,
        reporter: &dyn Reporter,
    ) -> Result<PutOutcome, Failure> {
        let version = planned.manifest.version.clone();
        let local = local_site(&*self.store, planned)?;
        let mut written = Vec::new();
        let mut skipped = Vec::new();
        let message = format!("Deployed {} {version} docs with relman", planned.manifest.project.name);
        let epoch = planned.manifest.source_date_epoch;
        transact(&*self.store, &message, epoch, reporter, &mut |snap: &Snapshot| {
            written.clear();
            skipped.clear();
            let mut changes = Vec::new();
            if self.compare(snap, &version, &local)? {
                skipped.extend(local.iter().map(|(p, _, _)| format!("{version}/{p}")));
            } else {
                for (rel, path, id) in &local {
                    changes.push(Change::PutFile(format!("{version}/{rel}"), path.clone(), id.clone()));
                    written.push(format!("{version}/{rel}"));
                }
            }
            let mut versions = snap.versions.clone();
            if !versions.iter().any(|v| v.version == version) {
                versions.push(VersionEntry::new(&version));
                changes.push(Change::Put(VERSIONS_FILE.into(), versions_json(&versions).into_bytes()));
                written.push(VERSIONS_FILE.into());
            }
            if !snap.files.contains_key(".nojekyll") {
                changes.push(Change::Put(".nojekyll".into(), Vec::new()));
            }
            Ok(changes)
        })?;
        Ok(PutOutcome {
            destination: self.url.clone(),
            location: format!("{} {version}/", self.store.location()),
            written,
            skipped,
        })
    }

    fn check_promote(
        &self,
        _record: Option<&Planned>,
        version: &Version,
        allow_downgrade: bool,
        reporter: &dyn Reporter,
    ) -> Result<PromotePlan, Failure> {
        let v = version.to_string();
        let snap = self.store.snapshot()?;
        let mut gates = Vec::new();
        let mut gate = crate::gates::logged(reporter, &mut gates);
        let published = snap.files.contains_key(&format!("{v}/index.html"));
        gate(crate::gates::Gate {
            name: "published",
            passed: published,
            detail: if published {
                format!("{v}/ is at {}", self.url)
            } else {
                format!("no docs for {v} at {}", self.url)
            },
        });
        let previous = latest_of(&snap.versions);
        let previous_v = previous.as_deref().and_then(|p| Version::parse(p).ok());
        gate(crate::gates::stable(version));
        gate(crate::gates::not_older(version, LATEST, previous_v.as_ref(), allow_downgrade));
        drop(gate);
        let pointers = vec![LATEST.to_string(), VERSIONS_FILE.to_string(), ROOT_PAGE.to_string()];
        let report = PromoteReport::checked(&self.url, &v, gates, previous.clone(), pointers, Vec::new());
        if !report.passed() || latest_changes(&snap, &v).is_empty() {
            return Ok(PromotePlan { report, apply: None });
        }
        let store = self.store.clone_box();
        let epoch = snap.epoch_hint;
        let apply: ApplyMoves = Box::new(move |reporter: &dyn Reporter, moved: &mut Vec<String>| {
            let message = format!("Moved latest to {v} with relman");
            let mut names = Vec::new();
            transact(&*store, &message, epoch, reporter, &mut |snap: &Snapshot| {
                let changes = latest_changes(snap, &v);
                names = changed_pointers(&changes);
                Ok(changes)
            })?;
            moved.extend(names);
            Ok(())
        });
        Ok(PromotePlan { report, apply: Some(apply) })
    }

    fn yank(&self, _scope: &YankScope<'_>, version: &Version, apply: bool, force: bool) -> Result<YankReport, Failure> {
        let v = version.to_string();
        let snap = self.store.snapshot()?;
        let prefix = format!("{v}/");
        let mut report = YankReport {
            version: v.clone(),
            removed: snap.files.keys().filter(|p| p.starts_with(&prefix)).cloned().collect(),
            left: Vec::new(),
            blocked_by: Vec::new(),
            done: false,
        };
        let latest_here = latest_of(&snap.versions).as_deref() == Some(v.as_str());
        if latest_here {
            report.blocked_by.push(LATEST.to_string());
        }
        if !apply || report.removed.is_empty() || (latest_here && !force) {
            return Ok(report);
        }
        let message = format!("Removed {v} docs with relman");
        transact(&*self.store, &message, snap.epoch_hint, &crate::report::Silent, &mut |snap: &Snapshot| {
            let mut changes: Vec<Change> =
                snap.files.keys().filter(|p| p.starts_with(&prefix)).map(|p| Change::Delete(p.clone())).collect();
            let mut versions = snap.versions.clone();
            versions.retain(|e| e.version != v);
            if versions.len() != snap.versions.len() {
                changes.push(Change::Put(VERSIONS_FILE.into(), versions_json(&versions).into_bytes()));
            }
            Ok(changes)
        })?;
        report.done = true;
        Ok(report)
    }

    fn state(
        &self,
        _record: Option<&Planned>,
        version: &Version,
        _key: Option<&relman_sign::PublicKey>,
    ) -> Result<DestinationState, Failure> {
        let v = version.to_string();
        let snap = self.store.snapshot()?;
        let mut problems = Vec::new();
        if !snap.files.contains_key(&format!("{v}/index.html")) {
            problems.push(format!("no docs for {v}"));
        }
        Ok(DestinationState {
            destination: self.url.clone(),
            assets: Vec::new(),
            pointers: vec![Pointer { name: LATEST.into(), target: latest_of(&snap.versions) }],
            problems,
            verify_commands: Vec::new(),
        })
    }
}

/// The version the `latest` alias is on in `versions.json`.
fn latest_of(versions: &[VersionEntry]) -> Option<String> {
    versions.iter().find(|v| v.aliases.iter().any(|a| a == LATEST)).map(|v| v.version.clone())
}

/// What moving `latest` to `v` changes: the alias in versions.json, the `latest/` redirect
/// pages (one per HTML page of `v`, stale ones removed), and the root redirect. Empty when
/// everything is already so.
fn latest_changes(snap: &Snapshot, v: &str) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut versions = snap.versions.clone();
    if !versions.iter().any(|e| e.version == v) {
        versions.push(VersionEntry::new(v));
    }
    for e in versions.iter_mut() {
        let has = e.aliases.iter().any(|a| a == LATEST);
        if e.version == v && !has {
            e.aliases.push(LATEST.into());
        } else if e.version != v && has {
            e.aliases.retain(|a| a != LATEST);
        }
    }
    let json = versions_json(&versions);
    if snap.versions_text.as_deref() != Some(json.as_str()) {
        changes.push(Change::Put(VERSIONS_FILE.into(), json.into_bytes()));
    }
    let prefix = format!("{v}/");
    let mut wanted: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for page in snap.files.keys().filter_map(|p| p.strip_prefix(&prefix)).filter(|p| p.ends_with(".html")) {
        wanted.insert(format!("{LATEST}/{page}"), redirect_page(&site::alias_href(v, page)).into_bytes());
    }
    for (path, bytes) in &wanted {
        if snap.content(path).as_deref() != Some(bytes.as_slice()) {
            changes.push(Change::Put(path.clone(), bytes.clone()));
        }
    }
    for p in snap.files.keys().filter(|p| p.starts_with(&format!("{LATEST}/")) && !wanted.contains_key(*p)) {
        changes.push(Change::Delete(p.clone()));
    }
    let root = redirect_page(&format!("{LATEST}/")).into_bytes();
    if snap.content(ROOT_PAGE).as_deref() != Some(root.as_slice()) {
        changes.push(Change::Put(ROOT_PAGE.into(), root));
    }
    changes
}

/// The pointer names a set of changes moves.
fn changed_pointers(changes: &[Change]) -> Vec<String> {
    let mut out = Vec::new();
    for c in changes {
        let name = match c.path() {
            p if p.starts_with(&format!("{LATEST}/")) => LATEST,
            VERSIONS_FILE => VERSIONS_FILE,
            ROOT_PAGE => ROOT_PAGE,
            _ => continue,
        };
        if !out.iter().any(|n: &String| n == name) {
            out.push(name.to_string());
        }
    }
    out
}
