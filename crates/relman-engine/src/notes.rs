//! Release notes from the commits since the previous release.
//!
//! Inputs: a repository, [`NotesSettings`] (tag prefix, repository URL, the `[notes]` config)
//! and [`NotesOptions`] (`--from`, `--to`, `--tag`, whole history). Output: [`Notes`], a
//! serializable structure (`--json`), rendered to Markdown by a minijinja template (the
//! embedded default, or the configured file).
//!
//! Which commits (the range `previous..release`):
//! * the release is the tag named (`--tag`, or `--to <tag>`), else the one release tag at the
//!   target commit; several release tags there (an rc and its final) is an error asking to
//!   name one — never a guess; no tag there means unreleased changes;
//! * the previous release of a stable version is the highest *stable* release tag below it
//!   that is an ancestor (pre-releases in between are skipped); of a pre-release, the highest
//!   release tag of any kind below it; of unreleased changes, the highest release tag that
//!   is an ancestor. No previous release: the whole history;
//! * `--from` must be an ancestor of the target, or it is a Git failure.
//!
//! What is listed: every non-merge commit in the range except `chore(release)` commits and
//! the configured `exclude_types`; conventional commits by type, breaking ones first, and
//! everything else (non-conventional commits included) under the catch-all group, so nothing
//! is dropped. Within a group commits are oldest first; groups keep the configured order and
//! empty ones are left out. Tags that are not release tags are ignored with a warning in
//! [`Notes::warnings`] — the engine never prints.

use std::path::PathBuf;
use std::sync::Arc;

use relman_manifest::Failure;
use schemars::JsonSchema;
use semver::Version;
use serde::{Deserialize, Serialize};

use crate::conventional;
use crate::git::Repo;
use crate::history::{self, ReleaseTag, Tags};

/// The default template, embedded.
pub const DEFAULT_TEMPLATE: &str = include_str!("../templates/notes.md.j2");

/// `[notes]` in relman.toml.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotesConfig {
    /// Groups, in the order they appear in the notes. The first group that matches a commit
    /// takes it. A group without `types` and without `breaking` is the catch-all; when none
    /// is configured, an `Other` catch-all is added at the end so no commit is dropped.
    /// Default: Breaking changes, Features, Fixes, Performance, Documentation, Other.
    pub groups: Option<Vec<GroupConfig>>,
    /// A minijinja template file replacing the default, relative to the project root. Its
    /// variables: `version`, `tag`, `previous_tag`, `date`, `from_commit`, `to_commit`,
    /// `repository`, `compare_url`, `groups` (each: `title`, `commits`: `hash`, `short_hash`,
    /// `type`, `scope`, `description`, `breaking`, `breaking_description`, `author`, `pr`,
    /// `issues`, `url`), `commit_count`, `skipped`, `warnings`; and when a release is packaged,
    /// `release`: `artifacts` (`name`, `kind`, `size`, `sha256`, `target`, `os`, `arch`), `images`
    /// (`reference`, `digest`), `install` (the `curl … | sh` line, or none) and `verify` (the
    /// "Verify this release" section, appended by itself unless the template shows it). A
    /// variable that does not exist is an error naming it.
    pub template: Option<String>,
    /// Conventional types left out of the notes entirely (e.g. `["ci", "test"]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_types: Vec<String>,
    /// The changelog `relman check` verifies and `relman bump` / `relman changelog` update,
    /// relative to the project root. Default `CHANGELOG.md` (used when it exists).
    pub changelog: Option<String>,
}

/// One group of the notes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupConfig {
    /// Heading of the group (`Features`).
    pub title: String,
    /// Conventional types this group takes (`["feat"]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
    /// Takes breaking changes (of `types`, or of any type when `types` is empty).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub breaking: bool,
}

impl GroupConfig {
    fn new(title: &str, types: &[&str], breaking: bool) -> Self {
        GroupConfig { title: title.into(), types: types.iter().map(|s| s.to_string()).collect(), breaking }
    }

    fn is_catch_all(&self) -> bool {
        self.types.is_empty() && !self.breaking
    }

    fn matches(&self, c: &conventional::Parsed) -> bool {
        if self.is_catch_all() {
            return true;
        }
        if self.breaking && !c.breaking {
            return false;
        }
        self.types.is_empty() || c.kind.as_deref().is_some_and(|k| self.types.iter().any(|t| t.eq_ignore_ascii_case(k)))
    }
}

/// The default groups.
pub fn default_groups() -> Vec<GroupConfig> {
    vec![
        GroupConfig::new("Breaking changes", &[], true),
        GroupConfig::new("Features", &["feat"], false),
        GroupConfig::new("Fixes", &["fix"], false),
        GroupConfig::new("Performance", &["perf"], false),
        GroupConfig::new("Documentation", &["docs"], false),
        GroupConfig::new("Other", &[], false),
    ]
}

impl NotesConfig {
    /// The groups in effect: configured (validated) or default, always ending in a
    /// catch-all. `origin` names the config file in errors.
    pub fn effective_groups(&self, origin: &str) -> Result<Vec<GroupConfig>, Failure> {
        let Some(groups) = &self.groups else { return Ok(default_groups()) };
        let mut seen = std::collections::HashSet::new();
        for (i, g) in groups.iter().enumerate() {
            if g.title.trim().is_empty() {
                return Err(Failure::config(format!("`{origin}`: `notes.groups[{i}].title` is empty")));
            }
            if !seen.insert(g.title.as_str()) {
                return Err(Failure::config(format!("`{origin}`: `notes.groups` has `{}` twice", g.title)));
            }
            if g.is_catch_all() && i + 1 < groups.len() {
                return Err(Failure::config(format!(
                    "`{origin}`: `notes.groups[{i}]` (`{}`) takes every commit, so the groups after it stay empty",
                    g.title
                ))
                .with_hint("put the group without `types` and `breaking` last"));
            }
        }
        let mut out = groups.clone();
        if !out.iter().any(GroupConfig::is_catch_all) {
            let title = if seen.contains("Other") { "Other changes" } else { "Other" };
            out.push(GroupConfig::new(title, &[], false));
        }
        Ok(out)
    }
}

/// Settings for notes, resolved once by the caller.
#[derive(Clone, Debug, Default)]
pub struct NotesSettings {
    /// Project root: the repository is discovered from it and `config.template` is relative
    /// to it.
    pub root: PathBuf,
    /// Release tag prefix (`project.tag_prefix`, default `v`).
    pub tag_prefix: String,
    /// The repository URL (`project.repository`, any git or web URL). `None`: the `origin`
    /// remote, when there is one. Links are made only when it maps to a web URL.
    pub repository: Option<String>,
    pub config: NotesConfig,
}

/// What `relman notes` was asked.
#[derive(Clone, Debug, Default)]
pub struct NotesOptions {
    /// Start after this tag or commit instead of the previous release.
    pub from: Option<String>,
    /// The last commit, or a release tag (default `HEAD`).
    pub to: Option<String>,
    /// The release being described, when several tags point at the target or the tag does
    /// not exist yet (a preview).
    pub tag: Option<String>,
    /// Every commit reachable from the target, ignoring previous releases.
    pub whole_history: bool,
    /// Date shown for a release whose tag does not exist yet (`YYYY-MM-DD`).
    pub date: Option<String>,
}

/// Release notes, structured (`relman notes --json`).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Notes {
    /// The version released (`1.2.0`), `None` for unreleased changes.
    pub version: Option<String>,
    pub tag: Option<String>,
    /// The release the range starts after (a tag), when there is one.
    pub previous_tag: Option<String>,
    /// `YYYY-MM-DD`: the tag's date, or the date given for a preview.
    pub date: Option<String>,
    /// First commit excluded (`None`: the whole history).
    pub from_commit: Option<String>,
    /// Last commit included.
    pub to_commit: String,
    /// The repository's web URL, when known.
    pub repository: Option<String>,
    pub compare_url: Option<String>,
    /// Non-empty groups, in configured order.
    pub groups: Vec<Group>,
    /// Commits listed.
    pub commit_count: usize,
    /// Commits left out (`chore(release)`, excluded types). Merge commits are not counted.
    pub skipped: usize,
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Group {
    pub title: String,
    pub commits: Vec<NoteCommit>,
}

/// One commit as the notes show it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct NoteCommit {
    pub id: String,
    pub short_id: String,
    /// Link to the commit, when the repository URL is known.
    pub url: Option<String>,
    /// Conventional type, lowercase; `None` for a non-conventional commit.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub scope: Option<String>,
    pub description: String,
    pub breaking: bool,
    pub breaking_description: Option<String>,
    pub conventional: bool,
    pub prs: Vec<u64>,
    pub co_authors: Vec<String>,
    pub author: String,
    /// The entry in Markdown: `**scope:** description ([#12](…)) ([abc1234](…))`, co-authors.
    pub markdown: String,
}

/// Notes plus their Markdown rendering: what `relman notes` prints (`markdown`) or emits
/// under `--json` (the whole value).
#[derive(Clone, Debug, Serialize)]
pub struct NotesOutput {
    #[serde(flatten)]
    pub notes: Notes,
    pub markdown: String,
}

/// `relman notes`: collects and renders.
pub fn notes(settings: &NotesSettings, opts: &NotesOptions) -> Result<NotesOutput, Failure> {
    // Two independent git calls, at once.
    let (repo, tags) = std::thread::scope(|scope| {
        let tags = scope.spawn(|| Tags::load_in(&settings.root, &settings.tag_prefix));
        let repo = Repo::discover(&settings.root);
        (repo, tags.join().unwrap_or_else(|_| Err(Failure::internal("reading tags panicked"))))
    });
    let (repo, tags) = (repo?, tags?);
    let notes = Arc::new(collect(&repo, &tags, settings, opts)?);
    let markdown = render_shared(&notes, settings)?;
    let notes = Arc::try_unwrap(notes).unwrap_or_else(|shared| (*shared).clone());
    Ok(NotesOutput { notes, markdown })
}

/// The Markdown notes for the release `tag` (`version`), for the release flow
/// (`release-notes.md`, forge release pages). The tag may not exist yet: then the notes
/// cover the commits up to HEAD.
pub fn release_notes_for(
    repo: &Repo,
    settings: &NotesSettings,
    version: &Version,
    tag: &str,
    release: Option<&ReleaseFacts>,
) -> Result<String, Failure> {
    let tags = Tags::load(repo, &settings.tag_prefix)?;
    if let Some(t) = tags.get(tag) {
        if &t.version != version {
            return Err(Failure::internal(format!("tag `{tag}` is version `{}`, not `{version}`", t.version)));
        }
    }
    let opts = NotesOptions { tag: Some(tag.to_string()), ..NotesOptions::default() };
    let notes = Arc::new(collect(repo, &tags, settings, &opts)?);
    let (source, origin) = template_source(settings)?;
    render_template(&notes, &source, &origin, release)
}

/// What a packaged release adds to the notes template (`release`): its files, images and the
/// commands that verify and install it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ReleaseFacts {
    pub artifacts: Vec<ArtifactFact>,
    pub images: Vec<ImageFact>,
    pub install: Option<String>,
    pub verify: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ArtifactFact {
    pub name: String,
    pub kind: String,
    pub size: Option<u64>,
    pub sha256: Option<String>,
    pub target: Option<String>,
    pub os: Option<String>,
    pub arch: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ImageFact {
    pub reference: String,
    pub digest: String,
}

const RELEASE_FIELDS: [&str; 4] = ["artifacts", "images", "install", "verify"];

/// The release a range describes.
struct Release {
    tag: String,
    version: Version,
    date: Option<String>,
}

/// Resolves the range and reads the commits into [`Notes`].
pub fn collect(repo: &Repo, tags: &Tags, settings: &NotesSettings, opts: &NotesOptions) -> Result<Notes, Failure> {
    let prefix = settings.tag_prefix.as_str();
    let groups_config = settings.config.effective_groups("relman.toml")?;
    let mut warnings = Vec::new();
    if let Some(w) = tags.ignored_warning(prefix) {
        warnings.push(w);
    }
    std::thread::scope(|scope| {
        // The `origin` URL (for links) is looked up while the range is resolved and read.
        let origin = settings.repository.is_none().then(|| scope.spawn(|| repo.origin_url()));

        // The release described and the last commit.
        let (release, to_commit, to_name) = resolve_target(repo, tags, prefix, opts)?;

        // The first commit left out, and the log of the range.
        let mut previous_tag = None;
        let mut from_commit = None;
        let mut speculative: Option<&ReleaseTag> = None;
        let log = if opts.whole_history {
            Some(history::Log::start(repo, &to_commit)?)
        } else if let Some(from) = &opts.from {
            let commit = history::resolve_commit(repo, from)?;
            if !history::is_ancestor(repo, &commit, &to_commit)? {
                return Err(Failure::git(format!(
                    "`{from}` ({}) is not an ancestor of `{to_name}` ({})",
                    short(&commit),
                    short(&to_commit)
                ))
                .with_hint("notes cover `--from`..`--to`: pick a tag on the history of `--to` (see `git log --oneline --decorate`)"));
            }
            if tags.get(from).is_some() {
                previous_tag = Some(from.clone());
            }
            let log = history::Log::start(repo, &history::range(Some(&commit), &to_commit))?;
            from_commit = Some(commit);
            Some(log)
        } else {
            // The usual case: the highest candidate is the previous release. One walk both
            // reads the range and proves it is an ancestor.
            match tags.releases.iter().find(|t| is_previous_candidate(t, release.as_ref())) {
                None => Some(history::Log::start(repo, &to_commit)?),
                Some(c) if c.commit == to_commit => {
                    previous_tag = Some(c.name.clone());
                    from_commit = Some(c.commit.clone());
                    None
                }
                Some(c) => {
                    speculative = Some(c);
                    Some(history::Log::watching(repo, &c.commit, &to_commit)?)
                }
            }
        };

        let repository = match origin {
            Some(handle) => handle.join().unwrap_or(None),
            None => settings.repository.clone(),
        }
        .and_then(|u| web_url(&u));
        let mut gathered = Gathered::new(groups_config.len());
        let mut start_is_ancestor = false;
        if let Some(mut log) = log {
            gathered.read(&mut log, &groups_config, &settings.config, repository.as_deref())?;
            start_is_ancestor = log.start_is_ancestor();
        }
        if let Some(candidate) = speculative {
            if start_is_ancestor {
                previous_tag = Some(candidate.name.clone());
                from_commit = Some(candidate.commit.clone());
            } else {
                // The highest candidate lives on another branch: find the real previous
                // release, then read its range.
                let prev = previous_release(repo, tags, release.as_ref(), &to_commit)?;
                previous_tag = prev.map(|t| t.name.clone());
                from_commit = prev.map(|t| t.commit.clone());
                gathered = Gathered::new(groups_config.len());
                let range = history::range(from_commit.as_deref(), &to_commit);
                gathered.read(
                    &mut history::Log::start(repo, &range)?,
                    &groups_config,
                    &settings.config,
                    repository.as_deref(),
                )?;
            }
        }

        let groups = groups_config
            .iter()
            .zip(gathered.buckets)
            .filter(|(_, commits)| !commits.is_empty())
            .map(|(g, mut commits)| {
                commits.reverse(); // oldest first
                Group { title: g.title.clone(), commits }
            })
            .collect();
        let compare_url = match (&repository, &previous_tag) {
            (Some(repo_url), Some(prev)) => {
                let to = release.as_ref().map(|r| r.tag.clone()).unwrap_or_else(|| to_name.clone());
                Some(Forge::of(repo_url).compare(repo_url, prev, &to))
            }
            _ => None,
        };
        let date = release.as_ref().and_then(|r| r.date.clone()).or_else(|| opts.date.clone());
        Ok(Notes {
            version: release.as_ref().map(|r| r.version.to_string()),
            tag: release.map(|r| r.tag),
            previous_tag,
            date,
            from_commit,
            to_commit,
            repository,
            compare_url,
            groups,
            commit_count: gathered.count,
            skipped: gathered.skipped,
            warnings,
        })
    })
}

/// Commits of a range sorted into groups.
struct Gathered {
    buckets: Vec<Vec<NoteCommit>>,
    count: usize,
    skipped: usize,
}

impl Gathered {
    fn new(groups: usize) -> Self {
        Gathered { buckets: (0..groups).map(|_| Vec::new()).collect(), count: 0, skipped: 0 }
    }

    fn read(
        &mut self,
        log: &mut history::Log,
        groups: &[GroupConfig],
        config: &NotesConfig,
        repository: Option<&str>,
    ) -> Result<(), Failure> {
        let forge = repository.map(Forge::of);
        for raw in log {
            let raw = raw?;
            if raw.is_merge() {
                continue;
            }
            let parsed = conventional::parse(&raw.subject, &raw.body);
            if parsed.is_release_commit()
                || parsed
                    .kind
                    .as_deref()
                    .is_some_and(|k| config.exclude_types.iter().any(|t| t.eq_ignore_ascii_case(k)))
            {
                self.skipped += 1;
                continue;
            }
            let index = groups.iter().position(|g| g.matches(&parsed)).unwrap_or(groups.len() - 1);
            self.buckets[index].push(note_commit(raw, parsed, repository, forge));
            self.count += 1;
        }
        Ok(())
    }
}

/// Whether `t` may be the previous release of `release` (see the module story); ancestry is
/// checked separately.
fn is_previous_candidate(t: &ReleaseTag, release: Option<&Release>) -> bool {
    match release {
        None => true,
        Some(r) => {
            let stable = r.version.pre.is_empty();
            t.name != r.tag && t.version.cmp_precedence(&r.version).is_lt() && (!stable || t.version.pre.is_empty())
        }
    }
}

/// (release described, last commit, how the last commit was named).
fn resolve_target(
    repo: &Repo,
    tags: &Tags,
    prefix: &str,
    opts: &NotesOptions,
) -> Result<(Option<Release>, String, String), Failure> {
    if let Some(tag) = &opts.tag {
        let version = crate::version::parse_tag(tag, prefix)?;
        let existing = tags.get(tag);
        let (to_commit, to_name) = match (&opts.to, existing) {
            (Some(to), _) => (history::resolve_commit(repo, to)?, to.clone()),
            (None, Some(t)) => (t.commit.clone(), tag.clone()),
            (None, None) => (history::resolve_commit(repo, "HEAD")?, "HEAD".to_string()),
        };
        if let Some(t) = existing {
            if t.commit != to_commit {
                return Err(Failure::git(format!(
                    "tag `{tag}` points at {}, not at `{to_name}` ({})",
                    short(&t.commit),
                    short(&to_commit)
                ))
                .with_hint("leave out `--to` to describe the tag, or name the tag at `--to`"));
            }
        }
        let date = existing.map(|t| t.date.clone());
        return Ok((Some(Release { tag: tag.clone(), version, date }), to_commit, to_name));
    }
    let to_name = opts.to.clone().unwrap_or_else(|| "HEAD".to_string());
    if let Some(t) = tags.get(&to_name) {
        let release = Release { tag: t.name.clone(), version: t.version.clone(), date: Some(t.date.clone()) };
        return Ok((Some(release), t.commit.clone(), to_name));
    }
    let to_commit = history::resolve_commit(repo, &to_name)?;
    let at: Vec<&ReleaseTag> = tags.at(&to_commit);
    match at.as_slice() {
        [] => Ok((None, to_commit, to_name)),
        [t] => {
            let release = Release { tag: t.name.clone(), version: t.version.clone(), date: Some(t.date.clone()) };
            Ok((Some(release), to_commit, to_name))
        }
        many => {
            let names: Vec<String> = many.iter().map(|t| format!("`{}`", t.name)).collect();
            Err(Failure::usage(format!(
                "several release tags point at `{to_name}` ({}): {}",
                short(&to_commit),
                names.join(", ")
            ))
            .with_hint(format!("name the release the notes are for: `--tag {}`", many[many.len() - 1].name)))
        }
    }
}

/// The previous release of `release` (see the module story), an ancestor of `to_commit`.
fn previous_release<'t>(
    repo: &Repo,
    tags: &'t Tags,
    release: Option<&Release>,
    to_commit: &str,
) -> Result<Option<&'t ReleaseTag>, Failure> {
    tags.latest_ancestor(repo, to_commit, |t| is_previous_candidate(t, release))
}

fn note_commit(
    raw: history::RawCommit,
    p: conventional::Parsed,
    repo_url: Option<&str>,
    forge: Option<Forge>,
) -> NoteCommit {
    let short_id = short(&raw.id).to_string();
    let url = match (repo_url, forge) {
        (Some(r), Some(f)) => Some(f.commit(r, &raw.id)),
        _ => None,
    };
    let mut md = String::with_capacity(p.description.len() + 64);
    if let Some(scope) = &p.scope {
        md.push_str("**");
        md.push_str(scope);
        md.push_str(":** ");
    }
    match (repo_url, forge, p.prs.is_empty()) {
        (Some(r), Some(f), false) => link_prs(&mut md, &p.description, |n| f.pull(r, n)),
        _ => md.push_str(&p.description),
    }
    match &url {
        Some(u) => {
            md.push_str(" ([");
            md.push_str(&short_id);
            md.push_str("](");
            md.push_str(u);
            md.push_str("))");
        }
        None => {
            md.push_str(" (");
            md.push_str(&short_id);
            md.push(')');
        }
    }
    if !p.co_authors.is_empty() {
        md.push_str(", co-authored by ");
        md.push_str(&p.co_authors.join(", "));
    }
    NoteCommit {
        id: raw.id,
        short_id,
        url,
        conventional: p.kind.is_some(),
        kind: p.kind,
        scope: p.scope,
        description: p.description,
        breaking: p.breaking,
        breaking_description: p.breaking_description,
        prs: p.prs,
        co_authors: p.co_authors,
        author: raw.author,
        markdown: md,
    }
}

/// Appends `text` with each `#N` reference replaced by a Markdown link.
fn link_prs(out: &mut String, text: &str, link: impl Fn(u64) -> String) {
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        if bytes[i] == b'#'
            && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_' || bytes[i - 1] == b'&'))
        {
            let mut end = i + 1;
            while end < bytes.len() && bytes[end].is_ascii_digit() {
                end += 1;
            }
            let word_end = end == bytes.len() || !(bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_');
            if end > i + 1 && word_end {
                if let Ok(n) = text[i + 1..end].parse::<u64>() {
                    out.push_str(&text[copied..i]);
                    out.push_str(&format!("[#{n}]({})", link(n)));
                    copied = end;
                }
            }
            i = end;
        } else {
            i += 1;
        }
    }
    out.push_str(&text[copied..]);
}

/// Renders notes with the configured template (or the default).
pub fn render(notes: &Notes, settings: &NotesSettings) -> Result<String, Failure> {
    render_shared(&Arc::new(notes.clone()), settings)
}

/// Like [`render`], without copying the notes (the template reads them in place).
pub fn render_shared(notes: &Arc<Notes>, settings: &NotesSettings) -> Result<String, Failure> {
    let (source, origin) = template_source(settings)?;
    render_template(notes, &source, &origin, None)
}

/// The configured template (or the default) and how errors name it.
fn template_source(settings: &NotesSettings) -> Result<(String, String), Failure> {
    Ok(match &settings.config.template {
        Some(path) => {
            let full = settings.root.join(path);
            let text = std::fs::read_to_string(&full).map_err(|e| {
                Failure::config(format!("cannot read the notes template `{}` (`notes.template`): {e}", full.display()))
            })?;
            (text, path.clone())
        }
        None => (DEFAULT_TEMPLATE.to_string(), "default notes template".to_string()),
    })
}

/// Renders notes with template `source`; `origin` names it in errors.
pub fn render_with(notes: &Notes, source: &str, origin: &str) -> Result<String, Failure> {
    render_template(&Arc::new(notes.clone()), source, origin, None)
}

fn render_template(
    notes: &Arc<Notes>,
    source: &str,
    origin: &str,
    release: Option<&ReleaseFacts>,
) -> Result<String, Failure> {
    let mut env = minijinja::Environment::new();
    let syntax = env
        .syntax()
        .to_builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
        .map_err(|e| Failure::internal(format!("template syntax: {e}")))?;
    env.set_syntax(syntax);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    let template_error = |e: minijinja::Error| {
        let line = e.line().map(|l| format!(" line {l}")).unwrap_or_default();
        let detail = e.detail().map(|d| format!(": {d}")).unwrap_or_default();
        let f = Failure::config(format!("notes template `{origin}`{line}: {}{detail}", e.kind()));
        if e.kind() == minijinja::ErrorKind::UndefinedError && release.is_none() {
            f.with_hint("`release` exists only when a release is packaged: guard it with {% if release is defined %}")
        } else {
            f
        }
    };
    env.add_template("notes", source).map_err(template_error)?;
    let template = env.get_template("notes").map_err(template_error)?;
    // A variable that does not exist is named (minijinja's strict mode only says "undefined").
    for name in template.undeclared_variables(true) {
        let mut parts = name.split('.');
        let top = parts.next().unwrap_or_default();
        let known = match top {
            "release" => parts.next().is_none_or(|f| RELEASE_FIELDS.contains(&f)),
            _ => view::FIELDS.contains(&top),
        };
        if !known {
            let list = if top == "release" {
                RELEASE_FIELDS.iter().map(|f| format!("release.{f}")).collect::<Vec<_>>().join(", ")
            } else {
                view::FIELDS.iter().copied().chain(["release"]).collect::<Vec<_>>().join(", ")
            };
            let line = source
                .lines()
                .position(|l| l.contains(name.as_str()))
                .or_else(|| source.lines().position(|l| l.contains(top)))
                .map(|i| format!(" line {}", i + 1))
                .unwrap_or_default();
            return Err(Failure::config(format!("notes template `{origin}`{line}: unknown variable `{name}`"))
                .with_hint(format!("the variables are: {list}")));
        }
    }
    let release = release.map(|r| minijinja::Value::from(minijinja::value::Serde(r)));
    let context = minijinja::Value::from_object(view::NotesView(Arc::clone(notes), release));
    let out = template.render(context).map_err(template_error)?;
    let mut out = out.trim_end().to_string();
    out.push('\n');
    Ok(out)
}

/// The notes as template values, read in place: a release of 200,000 commits is not copied
/// into a tree of template values, each field is handed out when the template asks for it.
/// The fields are those of the serialized [`Notes`] (what `--json` shows).
mod view {
    use std::sync::Arc;

    use minijinja::value::{Enumerator, Object, ObjectRepr, Value};

    use super::Notes;

    /// The template's top-level variables (besides `release`).
    pub const FIELDS: [&str; 12] = [
        "version",
        "tag",
        "previous_tag",
        "date",
        "from_commit",
        "to_commit",
        "repository",
        "compare_url",
        "groups",
        "commit_count",
        "skipped",
        "warnings",
    ];

    /// The notes, and `release` when a release is packaged.
    #[derive(Debug)]
    pub struct NotesView(pub Arc<Notes>, pub Option<Value>);

    impl Object for NotesView {
        fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
            let n = &self.0;
            Some(match key.as_str()? {
                "version" => Value::from(n.version.as_ref()),
                "tag" => Value::from(n.tag.as_ref()),
                "previous_tag" => Value::from(n.previous_tag.as_ref()),
                "date" => Value::from(n.date.as_ref()),
                "from_commit" => Value::from(n.from_commit.as_ref()),
                "to_commit" => Value::from(&n.to_commit),
                "repository" => Value::from(n.repository.as_ref()),
                "compare_url" => Value::from(n.compare_url.as_ref()),
                "groups" => Value::from_object(Groups(Arc::clone(n))),
                "commit_count" => Value::from(n.commit_count),
                "skipped" => Value::from(n.skipped),
                "warnings" => n.warnings.iter().map(Value::from).collect(),
                "release" => return self.1.clone(),
                _ => return None,
            })
        }

        fn enumerate(self: &Arc<Self>) -> Enumerator {
            Enumerator::Str(&FIELDS)
        }
    }

    #[derive(Debug)]
    struct Groups(Arc<Notes>);

    impl Object for Groups {
        fn repr(self: &Arc<Self>) -> ObjectRepr {
            ObjectRepr::Seq
        }

        fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
            let i = key.as_usize()?;
            (i < self.0.groups.len()).then(|| Value::from_object(GroupView(Arc::clone(&self.0), i)))
        }

        fn enumerate(self: &Arc<Self>) -> Enumerator {
            Enumerator::Seq(self.0.groups.len())
        }
    }

    #[derive(Debug)]
    struct GroupView(Arc<Notes>, usize);

    impl Object for GroupView {
        fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
            match key.as_str()? {
                "title" => Some(Value::from(&self.0.groups[self.1].title)),
                "commits" => Some(Value::from_object(Commits(Arc::clone(&self.0), self.1))),
                _ => None,
            }
        }

        fn enumerate(self: &Arc<Self>) -> Enumerator {
            Enumerator::Str(&["title", "commits"])
        }
    }

    #[derive(Debug)]
    struct Commits(Arc<Notes>, usize);

    impl Object for Commits {
        fn repr(self: &Arc<Self>) -> ObjectRepr {
            ObjectRepr::Seq
        }

        fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
            let i = key.as_usize()?;
            (i < self.0.groups[self.1].commits.len())
                .then(|| Value::from_object(CommitView(Arc::clone(&self.0), self.1, i)))
        }

        fn enumerate(self: &Arc<Self>) -> Enumerator {
            Enumerator::Seq(self.0.groups[self.1].commits.len())
        }
    }

    #[derive(Debug)]
    struct CommitView(Arc<Notes>, usize, usize);

    impl Object for CommitView {
        fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
            let c = &self.0.groups[self.1].commits[self.2];
            Some(match key.as_str()? {
                "id" => Value::from(&c.id),
                "short_id" => Value::from(&c.short_id),
                "url" => Value::from(c.url.as_ref()),
                "type" => Value::from(c.kind.as_ref()),
                "scope" => Value::from(c.scope.as_ref()),
                "description" => Value::from(&c.description),
                "breaking" => Value::from(c.breaking),
                "breaking_description" => Value::from(c.breaking_description.as_ref()),
                "conventional" => Value::from(c.conventional),
                "prs" => c.prs.iter().copied().map(Value::from).collect(),
                "co_authors" => c.co_authors.iter().map(Value::from).collect(),
                "author" => Value::from(&c.author),
                "markdown" => Value::from(&c.markdown),
                _ => return None,
            })
        }

        fn enumerate(self: &Arc<Self>) -> Enumerator {
            Enumerator::Str(&[
                "id",
                "short_id",
                "url",
                "type",
                "scope",
                "description",
                "breaking",
                "breaking_description",
                "conventional",
                "prs",
                "co_authors",
                "author",
                "markdown",
            ])
        }
    }
}

/// The web URL of a repository from any of its URLs (`git@host:o/r.git`,
/// `ssh://git@host/o/r`, `https://host/o/r.git`); `None` for local paths.
pub fn web_url(url: &str) -> Option<String> {
    let url = crate::git::redact_userinfo(url.trim());
    let rest = if let Some(r) = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")) {
        r.to_string()
    } else if let Some(r) = url.strip_prefix("ssh://").or_else(|| url.strip_prefix("git://")) {
        let r = r.rsplit_once('@').map(|(_, h)| h).unwrap_or(r);
        // Drop an ssh port: host:22/o/r.
        match r.split_once('/') {
            Some((host, path)) => format!("{}/{path}", host.split(':').next().unwrap_or(host)),
            None => return None,
        }
    } else if let Some((user_host, path)) = url.split_once(':') {
        // scp-like: git@host:o/r.git
        if user_host.contains('/') || path.starts_with("//") || !user_host.contains('@') {
            return None;
        }
        let host = user_host.rsplit_once('@').map(|(_, h)| h).unwrap_or(user_host);
        format!("{host}/{path}")
    } else {
        return None;
    };
    let rest = rest.trim_end_matches('/');
    let rest = rest.strip_suffix(".git").unwrap_or(rest);
    if !rest.contains('/') {
        return None;
    }
    Some(format!("https://{rest}"))
}

/// How a forge spells its links.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Forge {
    GitHub,
    GitLab,
    Gitea,
}

impl Forge {
    fn of(web_url: &str) -> Forge {
        let host = web_url.trim_start_matches("https://").split('/').next().unwrap_or("").to_ascii_lowercase();
        if host.contains("gitlab") {
            Forge::GitLab
        } else if host.contains("gitea") || host.contains("codeberg") || host.contains("forgejo") {
            Forge::Gitea
        } else {
            Forge::GitHub
        }
    }

    fn pull(self, repo: &str, n: u64) -> String {
        match self {
            Forge::GitHub => format!("{repo}/pull/{n}"),
            Forge::GitLab => format!("{repo}/-/merge_requests/{n}"),
            Forge::Gitea => format!("{repo}/pulls/{n}"),
        }
    }

    fn commit(self, repo: &str, id: &str) -> String {
        match self {
            Forge::GitLab => format!("{repo}/-/commit/{id}"),
            _ => format!("{repo}/commit/{id}"),
        }
    }

    fn compare(self, repo: &str, from: &str, to: &str) -> String {
        match self {
            Forge::GitLab => format!("{repo}/-/compare/{from}...{to}"),
            _ => format!("{repo}/compare/{from}...{to}"),
        }
    }
}

fn short(id: &str) -> &str {
    &id[..7.min(id.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_urls() {
        assert_eq!(web_url("git@github.com:acme/app.git").as_deref(), Some("https://github.com/acme/app"));
        assert_eq!(web_url("https://tok@github.com/acme/app.git/").as_deref(), Some("https://github.com/acme/app"));
        assert_eq!(
            web_url("ssh://git@gitlab.example:2222/g/sub/app.git").as_deref(),
            Some("https://gitlab.example/g/sub/app")
        );
        assert_eq!(web_url("/srv/git/app.git"), None);
        assert_eq!(web_url("file:///srv/git/app.git"), None);
        assert_eq!(web_url("C:/repos/app"), None);
    }

    #[test]
    fn pr_links_per_forge() {
        let mut s = String::new();
        link_prs(&mut s, "add x (#12), see #3 not a#4", |n| Forge::GitHub.pull("https://github.com/a/b", n));
        assert_eq!(s, "add x ([#12](https://github.com/a/b/pull/12)), see [#3](https://github.com/a/b/pull/3) not a#4");
        assert_eq!(Forge::of("https://gitlab.com/a/b").pull("R", 1), "R/-/merge_requests/1");
        assert_eq!(Forge::of("https://codeberg.org/a/b").pull("R", 1), "R/pulls/1");
    }

    #[test]
    fn groups_validate() {
        let c = NotesConfig {
            groups: Some(vec![GroupConfig::new("All", &[], false), GroupConfig::new("Features", &["feat"], false)]),
            ..Default::default()
        };
        let err = c.effective_groups("relman.toml").unwrap_err();
        assert!(err.message.contains("`All`"), "{}", err.message);
        let c =
            NotesConfig { groups: Some(vec![GroupConfig::new("Features", &["feat"], false)]), ..Default::default() };
        let g = c.effective_groups("relman.toml").unwrap();
        assert_eq!(g.last().unwrap().title, "Other");
    }

    fn sample() -> Notes {
        let c = |kind: Option<&str>, scope: Option<&str>, d: &str, breaking: bool| {
            let p = conventional::Parsed {
                kind: kind.map(str::to_string),
                scope: scope.map(str::to_string),
                breaking,
                description: d.into(),
                breaking_description: breaking.then(|| "the old flag is gone".to_string()),
                prs: conventional::parse(d, "").prs,
                co_authors: vec![],
            };
            let raw = history::RawCommit {
                id: "0123456789abcdef".into(),
                author: "A".into(),
                subject: d.into(),
                ..Default::default()
            };
            note_commit(raw, p, Some("https://github.com/a/b"), Some(Forge::GitHub))
        };
        Notes {
            version: Some("1.2.0".into()),
            tag: Some("v1.2.0".into()),
            previous_tag: Some("v1.1.0".into()),
            date: Some("2024-05-01".into()),
            from_commit: None,
            to_commit: "x".into(),
            repository: Some("https://github.com/a/b".into()),
            compare_url: Some("https://github.com/a/b/compare/v1.1.0...v1.2.0".into()),
            groups: vec![
                Group {
                    title: "Breaking changes".into(),
                    commits: vec![c(Some("feat"), Some("cli"), "drop `--old`", true)],
                },
                Group {
                    title: "Fixes".into(),
                    commits: vec![c(Some("fix"), None, "crash on empty input (#7)", false)],
                },
            ],
            commit_count: 2,
            skipped: 0,
            warnings: vec![],
        }
    }

    #[test]
    fn default_template_renders() {
        let out = render_with(&sample(), DEFAULT_TEMPLATE, "default").unwrap();
        let expected = "\
## [1.2.0](https://github.com/a/b/compare/v1.1.0...v1.2.0) - 2024-05-01

### Breaking changes

- **cli:** drop `--old` ([0123456](https://github.com/a/b/commit/0123456789abcdef))
  the old flag is gone

### Fixes

- crash on empty input ([#7](https://github.com/a/b/pull/7)) ([0123456](https://github.com/a/b/commit/0123456789abcdef))
";
        assert_eq!(out, expected);
        let mut empty = sample();
        empty.groups.clear();
        empty.version = None;
        assert_eq!(render_with(&empty, DEFAULT_TEMPLATE, "default").unwrap(), "## Unreleased\n\nNo notable changes.\n");
    }

    #[test]
    fn templates_see_every_field_of_the_json() {
        let notes = sample();
        let json = serde_json::to_value(&notes).unwrap();
        for key in json.as_object().unwrap().keys() {
            render_with(&notes, &format!("{{{{ {key} }}}}"), "t").unwrap_or_else(|e| panic!("`{key}`: {}", e.message));
        }
        for key in json["groups"][0]["commits"][0].as_object().unwrap().keys() {
            let t = format!(
                "{{% for g in groups %}}{{% for c in g.commits %}}{{{{ c[\"{key}\"] }}}}{{% endfor %}}{{% endfor %}}"
            );
            render_with(&notes, &t, "t").unwrap_or_else(|e| panic!("commit `{key}`: {}", e.message));
        }
        let out = render_with(&notes, "{{ groups | length }} {{ groups[1].commits[0].prs | join(',') }} {{ groups[0].commits | map(attribute='scope') | join }}", "t").unwrap();
        assert_eq!(out, "2 7 cli\n");
    }

    #[test]
    fn template_errors_name_the_file_and_line() {
        let err = render_with(&sample(), "## {{ version }}\n{% for g in groups %}\n", "notes.j2").unwrap_err();
        assert_eq!(err.class, relman_manifest::ErrorClass::Config);
        assert!(err.message.contains("`notes.j2`"), "{}", err.message);
        let err = render_with(&sample(), "{{ nope.x }}", "notes.j2").unwrap_err();
        assert!(err.message.contains("line 1"), "{}", err.message);
    }
}
