//! `relman bump`: the next version, written everywhere in lockstep, committed and tagged.
//!
//! Inputs: [`BumpOptions`] — the level (`major`, `minor`, `patch`, `auto`, or an explicit
//! version), an optional pre-release name (`--pre rc`), the `[versions]` and `[notes]`
//! config, `--dry-run`, and the date source (`SOURCE_DATE_EPOCH`). Output: a [`BumpReport`]
//! with the version decided and why, every rewritten version, the unified diff, the notes
//! preview, and the commit and tag made.
//!
//! The next version ([`next_version`], pure):
//! * `auto` reads the conventional commits since the last *stable* release: breaking →
//!   major (minor while `0.x`), `feat` → minor, `fix`/`perf` → patch; nothing else releases;
//! * with `--pre ID` the result is a pre-release: the counter of the last pre-release goes
//!   up when it already covers the change (`1.3.0-rc.1` → `1.3.0-rc.2`), else a new one
//!   starts (`1.3.0-rc.1`); without `--pre` after a pre-release, the pre-release becomes
//!   final (`1.3.0-rc.2` → `1.3.0`) unless the commits call for more;
//! * the result is always newer than every release tag reachable from HEAD.
//!
//! All or nothing: the tree must be clean; every file is read, checked and rewritten in
//! memory first (a file that cannot be parsed, a version that is not semver, or a version
//! already ahead of the new one stops everything); a configured signing key is probed by
//! signing a throwaway commit object; only then are the files written (each atomically),
//! committed as `chore(release): <tag>` and tagged (annotated, signed when git is set up to
//! sign, the notes as message). If the commit fails the files are restored. Nothing is
//! pushed. `dry_run` stops before the probe and returns the diff.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::str::FromStr;

use relman_manifest::Failure;
use semver::{Prerelease, Version};
use serde::Serialize;

use crate::changelog;
use crate::conventional::{self, Level};
use crate::git::Repo;
use crate::history::{self, Tags};
use crate::lockstep;
use crate::notes::{self, NotesConfig, NotesOptions, NotesSettings};
use crate::version_files::{self, VersionsConfig};

/// What to bump.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BumpSpec {
    Major,
    Minor,
    Patch,
    /// From the conventional commits since the last stable release.
    Auto,
    /// This exact version.
    Exact(Version),
}

impl FromStr for BumpSpec {
    type Err = Failure;

    /// `major`, `minor`, `patch`, `auto`, `1.2.3` or `v1.2.3`.
    fn from_str(s: &str) -> Result<Self, Failure> {
        match s {
            "major" => Ok(BumpSpec::Major),
            "minor" => Ok(BumpSpec::Minor),
            "patch" => Ok(BumpSpec::Patch),
            "auto" => Ok(BumpSpec::Auto),
            other => crate::version::parse_cli_version(other).map(BumpSpec::Exact).map_err(|f| {
                Failure::usage(format!(
                    "`{s}` is neither `major`, `minor`, `patch`, `auto` nor a version ({})",
                    f.message
                ))
            }),
        }
    }
}

/// What `relman bump` was asked.
#[derive(Clone, Debug)]
pub struct BumpOptions {
    /// Project root.
    pub root: PathBuf,
    /// Release tag prefix (`project.tag_prefix`, default `v`).
    pub tag_prefix: String,
    /// Repository URL for links in the notes (`project.repository`); `None`: `origin`.
    pub repository: Option<String>,
    pub versions: VersionsConfig,
    pub notes: NotesConfig,
    pub spec: BumpSpec,
    /// Pre-release name (`rc`, `beta`): makes the result a pre-release.
    pub pre: Option<String>,
    /// Compute everything and return the diff; change nothing.
    pub dry_run: bool,
    /// `SOURCE_DATE_EPOCH`, for the changelog date; `None`: today (UTC).
    pub source_date_epoch: Option<i64>,
    /// Changelog path relative to the root (default `CHANGELOG.md`); updated when it exists.
    pub changelog: Option<PathBuf>,
    /// Paths (relative to the repository root) whose changes do not make the tree dirty.
    pub ignore_dirty: Vec<String>,
}

/// The version decided and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub version: Version,
    /// The bump level applied, when a level decided it.
    pub level: Option<Level>,
    /// One lowercase sentence: "`feat` commits since `v1.2.0` → minor".
    pub reason: String,
}

/// One version rewritten.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VersionChange {
    pub file: String,
    pub line: usize,
    pub key: String,
    pub old: String,
    pub new: String,
}

/// The result of `relman bump`.
#[derive(Clone, Debug, Serialize)]
pub struct BumpReport {
    /// The last release reachable from HEAD (any kind), if any.
    pub previous: Option<String>,
    pub version: String,
    pub tag: String,
    pub level: Option<Level>,
    pub reason: String,
    pub changes: Vec<VersionChange>,
    /// What happened to the changelog, when there is one.
    pub changelog: Option<String>,
    /// Files changed (relative paths).
    pub files: Vec<String>,
    /// Unified diff of every file change.
    pub diff: String,
    /// The release notes (Markdown), also the tag's message.
    pub notes: String,
    /// The release commit, `None` in a dry run or when no file changed (the tag then points
    /// at HEAD).
    pub commit: Option<String>,
    pub signed: bool,
    pub dry_run: bool,
    pub warnings: Vec<String>,
}

/// Decides the next version. `last` is the highest release reachable from HEAD,
/// `last_stable` the highest stable one, `untagged` the version the files record (used only
/// when there is no release tag at all), `auto_level` the level the commits call for.
pub fn next_version(
    spec: &BumpSpec,
    pre: Option<&str>,
    last: Option<&Version>,
    last_stable: Option<&Version>,
    untagged: Option<&Version>,
    auto_level: Option<Level>,
) -> Result<Decision, Failure> {
    if let Some(id) = pre {
        validate_pre(id)?;
    }
    let newer_than_last = |v: &Version| -> Result<(), Failure> {
        match last {
            Some(l) if !v.cmp_precedence(l).is_gt() => {
                Err(Failure::usage(format!("`{v}` is not newer than the last release `{l}`"))
                    .with_hint("pick a higher version; releases only move forward"))
            }
            _ => Ok(()),
        }
    };
    if let BumpSpec::Exact(v) = spec {
        if pre.is_some() {
            return Err(Failure::usage("`--pre` cannot be combined with an explicit version")
                .with_hint(format!("write the pre-release in the version, e.g. `{}-rc.1`", core(v))));
        }
        newer_than_last(v)?;
        return Ok(Decision { version: v.clone(), level: None, reason: format!("explicit version `{v}`") });
    }
    let base = match (last_stable, last) {
        (Some(s), _) => s.clone(),
        (None, Some(_)) => Version::new(0, 0, 0),
        (None, None) => untagged.map(core).unwrap_or(Version::new(0, 0, 0)),
    };
    let last_pre = last.filter(|l| !l.pre.is_empty() && last_stable.is_none_or(|s| l.cmp_precedence(s).is_gt()));
    let (level, why) = match spec {
        BumpSpec::Major => (Some(Level::Major), "explicit `major`".to_string()),
        BumpSpec::Minor => (Some(Level::Minor), "explicit `minor`".to_string()),
        BumpSpec::Patch => (Some(Level::Patch), "explicit `patch`".to_string()),
        BumpSpec::Auto => match auto_level {
            Some(Level::Major) if base.major == 0 => {
                (Some(Level::Minor), "breaking changes while `0.x` → minor".to_string())
            }
            Some(l) => (Some(l), format!("conventional commits call for {l}")),
            None => (None, String::new()),
        },
        BumpSpec::Exact(_) => unreachable!("handled above"),
    };
    let Some(level) = level else {
        if let (None, Some(lp)) = (pre, last_pre) {
            let v = core(lp);
            return Ok(Decision { version: v, level: None, reason: format!("pre-release `{lp}` becomes final") });
        }
        return Err(Failure::usage(format!("{NOTHING_TO_RELEASE} (no `feat`, `fix`, `perf` or breaking change)"))
            .with_hint("name the level: `relman bump patch`"));
    };
    let target = bump_core(&base, level);
    if let Some(lp) = last_pre {
        if core(lp) >= target {
            let decision = match pre {
                None => Decision {
                    version: core(lp),
                    level: Some(level),
                    reason: format!("{why}; pre-release `{lp}` becomes final"),
                },
                Some(id) => {
                    let v = next_pre(lp, id)?;
                    Decision { version: v, level: Some(level), reason: format!("{why}; next `{id}` after `{lp}`") }
                }
            };
            newer_than_last(&decision.version)?;
            return Ok(decision);
        }
    }
    let version = match pre {
        None => target,
        Some(id) => with_pre(&target, &format!("{id}.1"))?,
    };
    newer_than_last(&version)?;
    Ok(Decision { version, level: Some(level), reason: why })
}

const NOTHING_TO_RELEASE: &str = "no commit since the last release calls for one";

fn validate_pre(id: &str) -> Result<(), Failure> {
    let ok = !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !id.bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(Failure::usage(format!("`--pre {id}` is not a pre-release name"))
            .with_hint("use letters, digits and `-`, e.g. `rc`, `beta`, `alpha`"))
    }
}

fn core(v: &Version) -> Version {
    Version::new(v.major, v.minor, v.patch)
}

fn bump_core(v: &Version, level: Level) -> Version {
    match level {
        Level::Major => Version::new(v.major + 1, 0, 0),
        Level::Minor => Version::new(v.major, v.minor + 1, 0),
        Level::Patch => Version::new(v.major, v.minor, v.patch + 1),
    }
}

fn with_pre(v: &Version, pre: &str) -> Result<Version, Failure> {
    let pre = Prerelease::new(pre).map_err(|e| Failure::usage(format!("`{pre}` is not a valid pre-release: {e}")))?;
    Ok(Version { pre, ..core(v) })
}

/// The pre-release after `last` named `id`: `rc.1` → `rc.2`; another name starts at `.1`
/// and must sort after `last`.
fn next_pre(last: &Version, id: &str) -> Result<Version, Failure> {
    let parts: Vec<&str> = last.pre.as_str().split('.').collect();
    let next = match parts.as_slice() {
        [name] if *name == id => format!("{id}.1"),
        [name, n] if *name == id && n.bytes().all(|b| b.is_ascii_digit()) => {
            let n: u64 =
                n.parse().map_err(|_| Failure::usage(format!("pre-release counter of `{last}` is too large")))?;
            format!("{id}.{}", n + 1)
        }
        _ => format!("{id}.1"),
    };
    let v = with_pre(last, &next)?;
    if !v.cmp_precedence(last).is_gt() {
        return Err(Failure::usage(format!("`{v}` would not be newer than the last release `{last}`"))
            .with_hint("use a pre-release name that sorts later (alpha < beta < rc), or bump without `--pre`"));
    }
    Ok(v)
}

/// The highest level the commits of `range` call for, with counts for the reason.
fn commits_level(repo: &Repo, from: Option<&str>, head: &str) -> Result<(Option<Level>, String), Failure> {
    let mut level = None;
    let (mut breaking, mut feat, mut fix) = (0usize, 0usize, 0usize);
    for raw in history::Log::start(repo, &history::range(from, head))? {
        let raw = raw?;
        if raw.is_merge() {
            continue;
        }
        let p = conventional::parse(&raw.subject, &raw.body);
        match p.level() {
            Some(Level::Major) => breaking += 1,
            Some(Level::Minor) => feat += 1,
            Some(Level::Patch) => fix += 1,
            None => {}
        }
        level = level.max(p.level());
    }
    let mut parts = Vec::new();
    if breaking > 0 {
        parts.push(format!("{breaking} breaking"));
    }
    if feat > 0 {
        parts.push(format!("{feat} `feat`"));
    }
    if fix > 0 {
        parts.push(format!("{fix} `fix`/`perf`"));
    }
    Ok((level, parts.join(", ")))
}

/// `relman bump`.
pub fn bump(opts: &BumpOptions) -> Result<BumpReport, Failure> {
    let repo = Repo::discover(&opts.root)?;
    let prefix = opts.tag_prefix.as_str();
    let dirty = repo.dirty_paths(&opts.ignore_dirty)?;
    if !dirty.is_empty() {
        let shown: Vec<String> = dirty.iter().take(3).map(|p| format!("`{p}`")).collect();
        let more = if dirty.len() > 3 { format!(" and {} more", dirty.len() - 3) } else { String::new() };
        return Err(Failure::git(format!("the working tree has uncommitted changes: {}{more}", shown.join(", ")))
            .with_hint("commit or stash them first: a release commit holds only the version changes"));
    }
    let head = repo.head()?;
    let tags = Tags::load(&repo, prefix)?;
    let mut warnings: Vec<String> = tags.ignored_warning(prefix).into_iter().collect();
    let last = tags.latest_ancestor(&repo, &head, |_| true)?;
    let last_stable = match last {
        Some(l) if l.version.pre.is_empty() => Some(l),
        _ => tags.latest_ancestor(&repo, &head, |t| t.version.pre.is_empty())?,
    };

    // Read every version file before deciding anything.
    let project = version_files::detect(&opts.root, &repo, &opts.versions);
    let (files, errors) = lockstep::read_all(&project);
    if let Some(first) = errors.first() {
        let mut f = first.to_failure();
        if errors.len() > 1 {
            f.message.push_str(&format!(" (and {} more file problems)", errors.len() - 1));
        }
        return Err(f.with_hint("fix the file (or list it in `versions.ignore`), then bump again; nothing was changed"));
    }
    let mut untagged: Option<Version> = None;
    for o in files.iter().flat_map(|f| &f.occurrences) {
        match o.version() {
            Ok(v) => {
                if untagged.as_ref().is_none_or(|u| v.cmp_precedence(u).is_gt()) {
                    untagged = Some(v);
                }
            }
            Err(why) => {
                return Err(Failure::config(format!(
                    "`{}` line {}: `{}` cannot be read: {why}",
                    o.file, o.line, o.key
                ))
                .with_hint(
                    "write a semantic version there by hand (the current one), then bump again; nothing was changed",
                ));
            }
        }
    }

    let (auto_level, counts) = match opts.spec {
        BumpSpec::Auto => commits_level(&repo, last_stable.map(|t| t.commit.as_str()), &head)?,
        _ => (None, String::new()),
    };
    let mut decision = next_version(
        &opts.spec,
        opts.pre.as_deref(),
        last.map(|t| &t.version),
        last_stable.map(|t| &t.version),
        untagged.as_ref(),
        auto_level,
    )
    .map_err(|f| match last_stable {
        // Name the release the commits were read from.
        Some(s) if f.message.starts_with(NOTHING_TO_RELEASE) => Failure {
            message: format!(
                "no commit since `{}` calls for a release (no `feat`, `fix`, `perf` or breaking change)",
                s.name
            ),
            ..f
        },
        _ => f,
    })?;
    if opts.spec == BumpSpec::Auto && !counts.is_empty() {
        let since = last_stable.map(|t| format!("`{}`", t.name)).unwrap_or_else(|| "the first commit".into());
        decision.reason = format!("{counts} since {since}: {}", decision.reason);
    }
    let v = decision.version.clone();
    let tag = format!("{prefix}{v}");
    if repo.tag_commit(&tag)?.is_some() || tags.ignored.iter().any(|t| t == &tag) {
        return Err(Failure::git(format!("tag `{tag}` already exists"))
            .with_hint("pick another version, or delete the tag if it was a mistake"));
    }

    // Every new file content, in memory.
    let mut changes = Vec::new();
    let mut by_path: BTreeMap<&str, (&str, Vec<&version_files::Occurrence>)> = BTreeMap::new();
    for f in &files {
        // A file can be read twice (a `versions.files` pattern on an auto-detected file).
        by_path.entry(f.path.as_str()).or_insert((f.text.as_str(), Vec::new())).1.extend(f.occurrences.iter());
        for o in &f.occurrences {
            let found = o.version().expect("checked above");
            if found.cmp_precedence(&v).is_gt() {
                return Err(Failure::check(format!(
                    "`{}` line {}: `{}` is `{}`, ahead of the new version `{v}`",
                    o.file, o.line, o.key, o.found
                ))
                .with_hint(format!("bump to a version at least that high (`relman bump {found}` or above), or fix the file; nothing was changed")));
            }
            let new = o.render(&v).map_err(|why| Failure::usage(format!("`{}` line {}: {why}", o.file, o.line)))?;
            if new != o.found {
                changes.push(VersionChange {
                    file: o.file.clone(),
                    line: o.line,
                    key: o.key.clone(),
                    old: o.found.clone(),
                    new,
                });
            }
        }
    }
    let mut new_texts: BTreeMap<String, (String, String)> = BTreeMap::new(); // path → (old, new)
    for (path, (text, occurrences)) in by_path {
        let new = version_files::rewrite(text, &occurrences, &v).map_err(|e| e.to_failure())?;
        new_texts.insert(path.to_string(), (text.to_string(), new));
    }
    // Each chart's values.yaml: the `image.tag`s that name the chart's old version move with
    // it (what `relman check` later compares with the release).
    for f in files.iter().filter(|f| f.kind == version_files::FileKind::HelmChart) {
        let Some(old) = f.occurrences.iter().find(|o| o.key == "version").and_then(|o| o.version().ok()) else {
            continue;
        };
        let dir = f.path.trim_end_matches("Chart.yaml").trim_end_matches('/');
        let values = if dir.is_empty() { "values.yaml".to_string() } else { format!("{dir}/values.yaml") };
        let Ok(text) = std::fs::read_to_string(opts.root.join(&values)) else { continue };
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (line, range, found) in values_image_tags(&text) {
            let bare = found.strip_prefix('v').unwrap_or(&found);
            if bare != old.to_string() {
                continue;
            }
            let new = if found.starts_with('v') { format!("v{v}") } else { v.to_string() };
            out.push_str(&text[at..range.start]);
            out.push_str(&new);
            at = range.end;
            changes.push(VersionChange {
                file: values.clone(),
                line,
                key: "image.tag".into(),
                old: found.clone(),
                new,
            });
        }
        if at > 0 {
            out.push_str(&text[at..]);
            new_texts.insert(values.clone(), (text, out));
        }
    }

    // Notes preview (and the changelog section when one is generated).
    let date = changelog::today(opts.source_date_epoch);
    let settings = NotesSettings {
        root: opts.root.clone(),
        tag_prefix: opts.tag_prefix.clone(),
        repository: opts.repository.clone(),
        config: opts.notes.clone(),
    };
    let collected = notes::collect(
        &repo,
        &tags,
        &settings,
        &NotesOptions { tag: Some(tag.clone()), date: Some(date.clone()), ..NotesOptions::default() },
    )?;
    let notes_md = notes::render(&collected, &settings)?;

    let changelog_rel = opts.changelog.clone().unwrap_or_else(|| PathBuf::from(changelog::CHANGELOG_FILE));
    let changelog_path = opts.root.join(&changelog_rel);
    let mut changelog_summary = None;
    if changelog_path.is_file() {
        let display = changelog_rel.to_string_lossy().replace('\\', "/");
        let old = std::fs::read_to_string(&changelog_path).map_err(|e| Failure::io("read", &changelog_path, e))?;
        let base = new_texts.get(&display).map(|(_, n)| n.clone()).unwrap_or_else(|| old.clone());
        if let Some(r) = changelog::release(&base, &v, &tag, &date, prefix, || Ok(notes_md.clone()))? {
            changelog_summary = Some(r.summary);
            new_texts.insert(display, (old, r.text));
        } else {
            changelog_summary = Some(format!("already has a dated section for `{v}`"));
        }
    }
    new_texts.retain(|_, (old, new)| old != new);
    let diff: String = new_texts.iter().map(|(path, (old, new))| crate::textdiff::unified(path, old, new)).collect();
    let changed_files: Vec<String> = new_texts.keys().cloned().collect();

    let mut report = BumpReport {
        previous: last.map(|t| t.name.clone()),
        version: v.to_string(),
        tag: tag.clone(),
        level: decision.level,
        reason: decision.reason,
        changes,
        changelog: changelog_summary,
        files: changed_files.clone(),
        diff,
        notes: notes_md.clone(),
        commit: None,
        signed: false,
        dry_run: opts.dry_run,
        warnings: std::mem::take(&mut warnings),
    };
    if opts.dry_run {
        return Ok(report);
    }

    // Nothing has changed yet: make sure git can commit and sign before writing.
    let signing = Signing::from_config(&repo)?;
    ensure_identity(&repo)?;
    if signing.any() {
        signing.probe(&repo, &head)?;
    }

    let mut written: Vec<(PathBuf, String)> = Vec::new();
    let restore = |written: &[(PathBuf, String)]| {
        for (path, old) in written {
            let _ = changelog::write_keeping_mode(path, old.as_bytes());
        }
    };
    for (rel, (old, new)) in &new_texts {
        let path = opts.root.join(rel);
        if let Err(e) = changelog::write_keeping_mode(&path, new.as_bytes()) {
            restore(&written);
            return Err(e);
        }
        written.push((path, old.clone()));
    }
    let message = format!("chore(release): {tag}");
    if !changed_files.is_empty() {
        let mut add = vec!["add", "--"];
        let full: Vec<String> =
            changed_files.iter().map(|p| opts.root.join(p).to_string_lossy().into_owned()).collect();
        add.extend(full.iter().map(String::as_str));
        let committed = repo.git(&add).and_then(|_| {
            let mut commit = vec!["commit", "--quiet", "-m", message.as_str(), "--"];
            commit.extend(full.iter().map(String::as_str));
            repo.git(&commit)
        });
        if let Err(e) = committed {
            restore(&written);
            let mut reset = vec!["reset", "--quiet", "--"];
            reset.extend(full.iter().map(String::as_str));
            let _ = repo.git(&reset);
            return Err(Failure::git(format!("failed to commit the release: {}", e.message))
                .with_hint("the files were restored; fix the problem (a commit hook?) and bump again"));
        }
        report.commit = Some(repo.head()?);
    }

    let tag_message = format!("{tag}\n\n{notes_md}");
    let mut msg_file = tempfile::NamedTempFile::new()
        .map_err(|e| Failure::internal(format!("failed to create a temporary file: {e}")))?;
    std::io::Write::write_all(&mut msg_file, tag_message.as_bytes())
        .map_err(|e| Failure::io("write", msg_file.path(), e))?;
    let msg_path = msg_file.path().to_string_lossy().into_owned();
    let sign_flag = if signing.tag { "-s" } else { "-a" };
    repo.git(&["tag", sign_flag, "--cleanup=verbatim", "-F", &msg_path, &tag]).map_err(|e| {
        Failure::git(format!("failed to create tag `{tag}`: {}", e.message)).with_hint(match &report.commit {
            Some(c) => {
                format!("the release commit {} was made; tag it by hand with `git tag {sign_flag} {tag}`", &c[..7])
            }
            None => format!("tag HEAD by hand with `git tag {sign_flag} {tag}`"),
        })
    })?;
    let object = repo.git(&["cat-file", "tag", &tag])?;
    report.signed = object.contains("-----BEGIN ");
    Ok(report)
}

/// What git is configured to sign.
struct Signing {
    tag: bool,
    commit: bool,
    key: Option<String>,
    format: String,
}

impl Signing {
    fn from_config(repo: &Repo) -> Result<Signing, Failure> {
        let get = |key: &str| repo.git(&["config", "--get", key]).ok().filter(|s| !s.is_empty());
        let get_bool = |key: &str| repo.git(&["config", "--type=bool", "--get", key]).ok().map(|s| s == "true");
        let key = get("user.signingkey");
        let tag = get_bool("tag.gpgSign").unwrap_or(key.is_some());
        let commit = get_bool("commit.gpgSign").unwrap_or(false);
        let format = get("gpg.format").unwrap_or_else(|| "openpgp".into());
        Ok(Signing { tag, commit, key, format })
    }

    fn any(&self) -> bool {
        self.tag || self.commit
    }

    /// Signs a throwaway commit object (no ref moves) with git's own signing machinery.
    fn probe(&self, repo: &Repo, head: &str) -> Result<(), Failure> {
        let tree = format!("{head}^{{tree}}");
        let out = Command::new("git")
            .arg("-C")
            .arg(repo.root())
            .args(["commit-tree", "-S", &tree, "-p", head, "-m", "relman signing probe"])
            .output()
            .map_err(|e| Failure::git(format!("failed to run `git commit-tree`: {e}")))?;
        if out.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        let detail: Vec<&str> = stderr.lines().map(str::trim).filter(|l| !l.is_empty()).take(2).collect();
        let key = self.key.as_deref().map(|k| format!("`{k}`")).unwrap_or_else(|| "the default key".into());
        Err(Failure::git(format!(
            "git is configured to sign (`gpg.format` {}) but the signing key {key} is not usable: {}",
            self.format,
            detail.join(" ")
        ))
        .with_hint("fix `user.signingkey` (or unset `tag.gpgSign` / `commit.gpgSign`); nothing was changed"))
    }
}

fn ensure_identity(repo: &Repo) -> Result<(), Failure> {
    repo.git(&["var", "GIT_COMMITTER_IDENT"]).map(|_| ()).map_err(|_| {
        Failure::git("git does not know who is committing (`user.name` / `user.email`)")
            .with_hint("set them with `git config user.name ...` and `git config user.email ...`; nothing was changed")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    fn next(
        spec: BumpSpec,
        pre: Option<&str>,
        last: Option<&str>,
        stable: Option<&str>,
        level: Option<Level>,
    ) -> Result<String, Failure> {
        let last = last.map(v);
        let stable = stable.map(v);
        next_version(&spec, pre, last.as_ref(), stable.as_ref(), None, level).map(|d| d.version.to_string())
    }

    #[test]
    fn levels() {
        assert_eq!(next(BumpSpec::Patch, None, Some("1.2.3"), Some("1.2.3"), None).unwrap(), "1.2.4");
        assert_eq!(next(BumpSpec::Minor, None, Some("1.2.3"), Some("1.2.3"), None).unwrap(), "1.3.0");
        assert_eq!(next(BumpSpec::Major, None, Some("1.2.3"), Some("1.2.3"), None).unwrap(), "2.0.0");
        assert_eq!(next(BumpSpec::Major, None, Some("0.2.3"), Some("0.2.3"), None).unwrap(), "1.0.0");
        assert_eq!(next(BumpSpec::Auto, None, Some("0.2.3"), Some("0.2.3"), Some(Level::Major)).unwrap(), "0.3.0");
        assert_eq!(next(BumpSpec::Auto, None, Some("1.2.3"), Some("1.2.3"), Some(Level::Major)).unwrap(), "2.0.0");
        assert_eq!(next(BumpSpec::Auto, None, None, None, Some(Level::Minor)).unwrap(), "0.1.0");
        let err = next(BumpSpec::Auto, None, Some("1.2.3"), Some("1.2.3"), None).unwrap_err();
        assert!(err.message.contains("no commit"), "{}", err.message);
    }

    #[test]
    fn pre_releases() {
        assert_eq!(next(BumpSpec::Minor, Some("rc"), Some("1.2.3"), Some("1.2.3"), None).unwrap(), "1.3.0-rc.1");
        assert_eq!(next(BumpSpec::Minor, Some("rc"), Some("1.3.0-rc.1"), Some("1.2.3"), None).unwrap(), "1.3.0-rc.2");
        assert_eq!(
            next(BumpSpec::Auto, Some("rc"), Some("1.3.0-rc.2"), Some("1.2.3"), Some(Level::Patch)).unwrap(),
            "1.3.0-rc.3"
        );
        assert_eq!(
            next(BumpSpec::Auto, Some("rc"), Some("1.3.0-rc.2"), Some("1.2.3"), Some(Level::Major)).unwrap(),
            "2.0.0-rc.1"
        );
        assert_eq!(next(BumpSpec::Minor, Some("rc"), Some("1.3.0-beta.4"), Some("1.2.3"), None).unwrap(), "1.3.0-rc.1");
        let err = next(BumpSpec::Minor, Some("alpha"), Some("1.3.0-beta.4"), Some("1.2.3"), None).unwrap_err();
        assert!(err.message.contains("not be newer"), "{}", err.message);
        // rc → final.
        assert_eq!(next(BumpSpec::Auto, None, Some("1.3.0-rc.2"), Some("1.2.3"), None).unwrap(), "1.3.0");
        assert_eq!(next(BumpSpec::Patch, None, Some("1.3.0-rc.2"), Some("1.2.3"), None).unwrap(), "1.3.0");
        assert_eq!(next(BumpSpec::Auto, None, Some("1.3.0-rc.2"), Some("1.2.3"), Some(Level::Major)).unwrap(), "2.0.0");
        // First ever release is an rc.
        assert_eq!(next(BumpSpec::Major, Some("rc"), None, None, None).unwrap(), "1.0.0-rc.1");
        assert_eq!(next(BumpSpec::Auto, None, Some("1.0.0-rc.1"), None, None).unwrap(), "1.0.0");
        assert!(next(BumpSpec::Patch, Some("1"), None, None, None).is_err());
    }

    #[test]
    fn explicit_versions_move_forward() {
        assert_eq!(next(BumpSpec::Exact(v("2.0.0")), None, Some("1.2.3"), Some("1.2.3"), None).unwrap(), "2.0.0");
        let err = next(BumpSpec::Exact(v("1.2.3")), None, Some("1.2.3"), Some("1.2.3"), None).unwrap_err();
        assert!(err.message.contains("not newer"), "{}", err.message);
        assert!(next(BumpSpec::Exact(v("2.0.0")), Some("rc"), None, None, None).is_err());
        assert_eq!("v1.2.3".parse::<BumpSpec>().unwrap(), BumpSpec::Exact(v("1.2.3")));
        assert!("minr".parse::<BumpSpec>().unwrap_err().message.contains("`minr`"));
    }
}

/// Every `tag:` directly under an `image:` key of a values.yaml, line by line (nothing is
/// re-serialised): its 1-based line, the byte span of its value (inside quotes) and the value.
fn values_image_tags(text: &str) -> Vec<(usize, std::ops::Range<usize>, String)> {
    let mut out = Vec::new();
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let start = offset;
        offset += line.len();
        let body = line.trim_end_matches(['\n', '\r']);
        let trimmed = body.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('-') {
            continue;
        }
        let indent = body.len() - trimmed.len();
        let Some((key, rest)) = trimmed.split_once(':') else { continue };
        if key.contains(' ') {
            continue;
        }
        while stack.last().is_some_and(|(ind, _)| *ind >= indent) {
            stack.pop();
        }
        if key == "tag" && stack.last().is_some_and(|(_, k)| k == "image") {
            let lead = rest.len() - rest.trim_start().len();
            let value_start = start + indent + key.len() + 1 + lead;
            let value = rest.trim_start();
            let (range, found) = match value.chars().next() {
                Some(q @ ('"' | '\'')) => match value[1..].find(q) {
                    Some(end) => (value_start + 1..value_start + 1 + end, value[1..1 + end].to_string()),
                    None => continue,
                },
                _ => {
                    let end = value.find(" #").unwrap_or(value.len());
                    let v = value[..end].trim_end();
                    (value_start..value_start + v.len(), v.to_string())
                }
            };
            if !found.is_empty() {
                out.push((i + 1, range, found));
            }
        }
        stack.push((indent, key.to_string()));
    }
    out
}

#[cfg(test)]
mod values_tests {
    #[test]
    fn image_tags_are_found_under_image_keys_only() {
        let text = "image:\n  repository: x\n  tag: \"1.2.0\"\nworker:\n  image:\n    tag: v1.2.0 # pinned\nother:\n  tag: 1.2.0\n";
        let tags = super::values_image_tags(text);
        let found: Vec<(usize, &str)> = tags.iter().map(|(l, r, _)| (*l, &text[r.clone()])).collect();
        assert_eq!(found, [(3, "1.2.0"), (6, "v1.2.0")]);
    }
}
