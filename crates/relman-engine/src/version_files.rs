//! The files that record the project's version, found and read with their exact positions.
//!
//! Inputs: the project root, the repository (for tracked `Chart.yaml` files) and the
//! `[versions]` config. Output: a [`Project`] listing each [`VersionFile`], and per file the
//! [`Occurrence`]s — every place a version is written, with its byte span, 1-based line, a key
//! that names it (`package.version`, `packages[""].version`) and how it is spelled ([`Style`]).
//!
//! Detected at the root and in workspace members:
//! * `Cargo.toml`: `package.version`, `workspace.package.version`, and the `version` of
//!   dependencies on workspace members (with a `path`), operator kept (`=0.1.0`);
//!   `Cargo.lock`: the entries of the workspace's own packages (no `source`);
//! * `package.json` (`version`) with npm `workspaces`; `package-lock.json` /
//!   `npm-shrinkwrap.json`: root `version`, `packages[""].version` and the members' entries;
//! * `pyproject.toml`: `[project].version` (unless dynamic), `[tool.poetry].version`, with uv
//!   workspace members; `uv.lock`: the project's own (editable / virtual) packages. Python
//!   files spell pre-releases the PEP 440 way (`1.3.0rc1` for `1.3.0-rc.1`);
//! * every tracked `Chart.yaml` (not vendored subcharts): `version`, `appVersion` (a `v`
//!   prefix there is kept);
//! * `[versions] files = [{ path, pattern }]`: every match of the pattern's one capture group.
//!
//! Invariants: reading never changes a file; [`rewrite`] replaces only the spans of the
//! occurrences, so formatting, comments and key order stay byte for byte (TOML is located with
//! toml_edit, JSON with [`crate::jsonspan`], YAML line by line: nothing is re-serialised).

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::{Path, PathBuf};

use regex::Regex;
use relman_manifest::Failure;
use schemars::JsonSchema;
use semver::Version;
use serde::{Deserialize, Serialize};
use toml_edit::{ImDocument, Item};

use crate::git::Repo;
use crate::jsonspan;

/// `[versions]` in relman.toml.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionsConfig {
    /// More files that record the version, each with a regular expression whose one capture
    /// group is the version: `{ path = "src/version.rs", pattern = 'VERSION: &str = "([^"]+)"' }`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<PatternFile>,
    /// Auto-detected files to leave alone (paths relative to the root; `*` matches within a
    /// path component), e.g. a member with a version of its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<String>,
}

/// A file whose version is found by a pattern.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatternFile {
    /// Path relative to the project root.
    pub path: String,
    /// A regular expression with exactly one capture group: the version.
    pub pattern: String,
}

/// What kind of file records a version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    CargoToml,
    CargoLock,
    PackageJson,
    PackageLock,
    Pyproject,
    UvLock,
    HelmChart,
    Pattern,
}

/// One file to read.
#[derive(Clone, Debug)]
pub struct VersionFile {
    /// Relative to the root, `/`-separated.
    pub path: String,
    pub kind: FileKind,
    /// For [`FileKind::Pattern`]: the compiled pattern and its config key.
    pub pattern: Option<(Regex, String)>,
}

/// How a version is spelled at one place.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "style", content = "text")]
pub enum Style {
    /// `1.2.3`
    Plain,
    /// `v1.2.3`: the prefix is kept.
    Prefixed(String),
    /// A Cargo requirement, operator kept: `=1.2.3`, `^1.2.3`, `1.2.3`.
    Requirement(String),
    /// PEP 440: `1.2.3`, `1.3.0rc1`.
    Pep440,
}

/// One place a version is written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Occurrence {
    pub file: String,
    /// 1-based.
    pub line: usize,
    /// What it is: `package.version`, `dependencies.app-core.version`, `appVersion`.
    pub key: String,
    /// The text as written (operator or prefix included).
    pub found: String,
    #[serde(skip)]
    pub range: Range<usize>,
    #[serde(skip)]
    pub style: Style,
}

impl Occurrence {
    /// The version written here, or why it is not one.
    pub fn version(&self) -> Result<Version, String> {
        let text = self.found.as_str();
        let bare = match &self.style {
            Style::Plain => text,
            Style::Prefixed(p) => text.strip_prefix(p.as_str()).unwrap_or(text),
            Style::Requirement(op) => {
                let bare = text.strip_prefix(op.as_str()).unwrap_or(text).trim();
                if let Some(v) = partial_version(bare) {
                    return Ok(v);
                }
                bare
            }
            Style::Pep440 => return parse_pep440(text).map(|(_, v)| v),
        };
        Version::parse(bare).map_err(|e| {
            if bare.split('.').count() < 3 && bare.split('.').all(|p| p.chars().all(|c| c.is_ascii_digit())) {
                format!("`{text}` is not a full version (major.minor.patch)")
            } else {
                format!("`{text}` is not a semantic version: {e}")
            }
        })
    }

    /// The text to write here for `v`.
    pub fn render(&self, v: &Version) -> Result<String, String> {
        Ok(match &self.style {
            Style::Plain => v.to_string(),
            Style::Prefixed(p) => format!("{p}{v}"),
            Style::Requirement(op) => format!("{op}{v}"),
            Style::Pep440 => pep440(v)?,
        })
    }

    /// Whether the version written here is `v`. A Cargo requirement written in full
    /// (`=1.2.3`, `1.2.3`) must name `v`; a partial one (`1.2`, `^0.4`) must accept it.
    pub fn agrees(&self, v: &Version) -> Result<bool, String> {
        match &self.style {
            Style::Pep440 => {
                let (normalized, _) = parse_pep440(&self.found)?;
                Ok(pep440(v).is_ok_and(|p| p == normalized))
            }
            Style::Requirement(op) => {
                let bare = self.found.strip_prefix(op.as_str()).unwrap_or(&self.found).trim();
                if partial_version(bare).is_some() {
                    let req = semver::VersionReq::parse(&self.found)
                        .map_err(|e| format!("`{}` is not a version requirement: {e}", self.found))?;
                    Ok(req.matches(v))
                } else {
                    Ok(&self.version()? == v)
                }
            }
            _ => Ok(&self.version()? == v),
        }
    }
}

/// A file that cannot be read as its kind, or a configured file that is missing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileError {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl FileError {
    pub fn to_failure(&self) -> Failure {
        let at = match self.line {
            Some(l) => format!("`{}` line {l}", self.file),
            None => format!("`{}`", self.file),
        };
        Failure::config(format!("{at}: {}", self.message))
    }
}

/// The version files of a project and its own package names.
#[derive(Clone, Debug, Default)]
pub struct Project {
    pub root: PathBuf,
    pub files: Vec<VersionFile>,
    pub cargo_packages: BTreeSet<String>,
    pub npm_members: Vec<String>,
    pub python_packages: BTreeSet<String>,
    /// Detection problems (a configured file missing, a bad pattern), reported with the rest.
    pub errors: Vec<FileError>,
}

/// Finds the version files of the project at `root`.
pub fn detect(root: &Path, repo: &Repo, config: &VersionsConfig) -> Project {
    let mut p = Project { root: root.to_path_buf(), ..Project::default() };
    detect_cargo(&mut p);
    detect_npm(&mut p);
    detect_python(&mut p);
    detect_charts(&mut p, repo);
    p.files.retain(|f| !config.ignore.iter().any(|pat| glob_match(pat.trim_start_matches("./"), &f.path)));
    for (i, pf) in config.files.iter().enumerate() {
        let key = format!("versions.files[{i}]");
        let path = pf.path.trim_start_matches("./").to_string();
        match Regex::new(&pf.pattern) {
            Ok(re) if re.captures_len() == 2 => {
                if root.join(&path).is_file() {
                    p.files.push(VersionFile { path, kind: FileKind::Pattern, pattern: Some((re, key)) });
                } else {
                    p.errors.push(FileError {
                        file: path.clone(),
                        line: None,
                        message: format!("the file configured in `{key}` does not exist"),
                    });
                }
            }
            Ok(re) => p.errors.push(FileError {
                file: "relman.toml".into(),
                line: None,
                message: format!(
                    "`{key}.pattern` must have exactly one capture group (the version), it has {}",
                    re.captures_len() - 1
                ),
            }),
            Err(e) => p.errors.push(FileError {
                file: "relman.toml".into(),
                line: None,
                message: format!(
                    "`{key}.pattern` is not a valid regular expression: {}",
                    e.to_string().replace('\n', " ")
                ),
            }),
        }
    }
    p
}

fn push(p: &mut Project, path: String, kind: FileKind) {
    if !p.files.iter().any(|f| f.path == path && f.kind == kind) {
        p.files.push(VersionFile { path, kind, pattern: None });
    }
}

fn rel_join(dir: &str, file: &str) -> String {
    if dir.is_empty() || dir == "." {
        file.to_string()
    } else {
        format!("{}/{file}", dir.trim_end_matches('/'))
    }
}

/// The members of a Cargo or uv workspace table (`members` globs minus `exclude`): each
/// member's manifest path (relative to `root`) and text, for members whose manifest exists.
fn workspace_members(root: &Path, ws: &Item, manifest_name: &str) -> Vec<(String, String)> {
    let list = |key: &str| -> Vec<String> {
        ws.get(key)
            .and_then(Item::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    let excluded = list("exclude");
    let mut out = Vec::new();
    for pattern in list("members") {
        for dir in expand_glob(root, &pattern) {
            if excluded.iter().any(|e| glob_match(e, &dir)) {
                continue;
            }
            let manifest = rel_join(&dir, manifest_name);
            if let Ok(text) = std::fs::read_to_string(root.join(&manifest)) {
                out.push((manifest, text));
            }
        }
    }
    out
}

fn detect_cargo(p: &mut Project) {
    let Ok(text) = std::fs::read_to_string(p.root.join("Cargo.toml")) else { return };
    push(p, "Cargo.toml".into(), FileKind::CargoToml);
    let Ok(doc) = ImDocument::parse(text.as_str()) else { return };
    if let Some(name) = doc.get("package").and_then(|t| t.get("name")).and_then(Item::as_str) {
        p.cargo_packages.insert(name.to_string());
    }
    if let Some(ws) = doc.get("workspace") {
        for (manifest, member) in workspace_members(&p.root, ws, "Cargo.toml") {
            if let Some(name) = ImDocument::parse(member.as_str())
                .ok()
                .and_then(|d| d.get("package").and_then(|t| t.get("name")).and_then(Item::as_str).map(str::to_string))
            {
                p.cargo_packages.insert(name);
            }
            push(p, manifest, FileKind::CargoToml);
        }
    }
    if p.root.join("Cargo.lock").is_file() {
        push(p, "Cargo.lock".into(), FileKind::CargoLock);
    }
}

fn detect_npm(p: &mut Project) {
    let Ok(text) = std::fs::read_to_string(p.root.join("package.json")) else { return };
    push(p, "package.json".into(), FileKind::PackageJson);
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else { return };
    let patterns: Vec<String> = match json.get("workspaces") {
        Some(serde_json::Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
        Some(serde_json::Value::Object(o)) => o
            .get("packages")
            .and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    for pattern in patterns {
        for dir in expand_glob(&p.root, pattern.trim_start_matches("./")) {
            let manifest = rel_join(&dir, "package.json");
            if p.root.join(&manifest).is_file() {
                p.npm_members.push(dir);
                push(p, manifest, FileKind::PackageJson);
            }
        }
    }
    for lock in ["package-lock.json", "npm-shrinkwrap.json"] {
        if p.root.join(lock).is_file() {
            push(p, lock.into(), FileKind::PackageLock);
        }
    }
}

fn detect_python(p: &mut Project) {
    let Ok(text) = std::fs::read_to_string(p.root.join("pyproject.toml")) else { return };
    push(p, "pyproject.toml".into(), FileKind::Pyproject);
    let Ok(doc) = ImDocument::parse(text.as_str()) else { return };
    let python_name = |d: &ImDocument<&str>| {
        d.get("project")
            .and_then(|t| t.get("name"))
            .or_else(|| d.get("tool").and_then(|t| t.get("poetry")).and_then(|t| t.get("name")))
            .and_then(Item::as_str)
            .map(normalize_python_name)
    };
    if let Some(n) = python_name(&doc) {
        p.python_packages.insert(n);
    }
    let ws = doc.get("tool").and_then(|t| t.get("uv")).and_then(|t| t.get("workspace"));
    if let Some(ws) = ws {
        for (manifest, member) in workspace_members(&p.root, ws, "pyproject.toml") {
            if let Some(n) = ImDocument::parse(member.as_str()).ok().as_ref().and_then(python_name) {
                p.python_packages.insert(n);
            }
            push(p, manifest, FileKind::Pyproject);
        }
    }
    if p.root.join("uv.lock").is_file() {
        push(p, "uv.lock".into(), FileKind::UvLock);
    }
}

fn detect_charts(p: &mut Project, repo: &Repo) {
    let prefix =
        p.root.strip_prefix(repo.root()).ok().map(|r| r.to_string_lossy().replace('\\', "/")).unwrap_or_default();
    let listed = repo.git(&["ls-files", "-z", "--", "Chart.yaml", "*/Chart.yaml"]);
    let under = if prefix.is_empty() { String::new() } else { format!("{prefix}/") };
    let mut charts: Vec<String> = match listed {
        Ok(out) => out
            .split('\0')
            .filter_map(|s| s.strip_prefix(under.as_str()))
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        Err(_) => Vec::new(),
    };
    if p.root.join("Chart.yaml").is_file() && !charts.iter().any(|c| c == "Chart.yaml") {
        charts.push("Chart.yaml".into());
    }
    charts.sort();
    let dirs: Vec<String> =
        charts.iter().map(|c| c.trim_end_matches("Chart.yaml").trim_end_matches('/').to_string()).collect();
    for (chart, dir) in charts.iter().zip(&dirs) {
        // A subchart vendored under another chart's `charts/` has a version of its own.
        let vendored = dirs.iter().any(|parent| {
            let charts_dir = rel_join(parent, "charts/");
            parent != dir && dir.starts_with(&charts_dir)
        });
        if !vendored {
            push(p, chart.clone(), FileKind::HelmChart);
        }
    }
}

/// PEP 503 normalisation: lowercase, runs of `-`, `_`, `.` become `-`.
pub fn normalize_python_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// Directories under `root` matching `pattern` (`*`, `?` within a component, `**` any depth),
/// relative and sorted.
pub(crate) fn expand_glob(root: &Path, pattern: &str) -> Vec<String> {
    let parts: Vec<&str> = pattern.trim_matches('/').split('/').filter(|s| !s.is_empty() && *s != ".").collect();
    let mut out = Vec::new();
    walk_glob(root, String::new(), &parts, &mut out);
    out.sort();
    out.dedup();
    out
}

fn walk_glob(root: &Path, rel: String, parts: &[&str], out: &mut Vec<String>) {
    let Some((first, rest)) = parts.split_first() else {
        if root.join(&rel).is_dir() {
            out.push(rel);
        }
        return;
    };
    let has_magic = first.contains(['*', '?', '[']);
    if !has_magic {
        walk_glob(root, rel_join(&rel, first), rest, out);
        return;
    }
    let Ok(entries) = std::fs::read_dir(root.join(if rel.is_empty() { "." } else { &rel })) else { return };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.') && n != "node_modules" && n != "target")
        .collect();
    names.sort();
    if *first == "**" {
        walk_glob(root, rel.clone(), rest, out);
        for n in names {
            walk_glob(root, rel_join(&rel, &n), parts, out);
        }
        return;
    }
    for n in names {
        if component_match(first, &n) {
            walk_glob(root, rel_join(&rel, &n), rest, out);
        }
    }
}

/// Path glob: `*` and `?` within a component, `**` across components.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    fn go(p: &[&str], s: &[&str]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some((&"**", rest)) => (0..=s.len()).any(|k| go(rest, &s[k..])),
            Some((first, rest)) => s.split_first().is_some_and(|(h, t)| component_match(first, h) && go(rest, t)),
        }
    }
    let p: Vec<&str> = pattern.trim_matches('/').split('/').filter(|c| !c.is_empty()).collect();
    let s: Vec<&str> = path.trim_matches('/').split('/').filter(|c| !c.is_empty()).collect();
    go(&p, &s)
}

fn component_match(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some((b'*', rest)) => (0..=s.len()).any(|k| go(rest, &s[k..])),
            Some((b'?', rest)) => !s.is_empty() && go(rest, &s[1..]),
            Some((c, rest)) => s.first() == Some(c) && go(rest, &s[1..]),
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

/// Line starts of a text, for 1-based line numbers of byte offsets.
pub struct Lines(Vec<usize>);

impl Lines {
    pub fn new(text: &str) -> Lines {
        let mut starts = vec![0];
        starts.extend(text.bytes().enumerate().filter(|(_, b)| *b == b'\n').map(|(i, _)| i + 1));
        Lines(starts)
    }

    pub fn line_of(&self, offset: usize) -> usize {
        match self.0.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }
}

/// Reads the occurrences of one file (text already read).
pub fn read(project: &Project, file: &VersionFile, text: &str) -> Result<Vec<Occurrence>, FileError> {
    let lines = Lines::new(text);
    let mut r = Reader { file: &file.path, text, lines: &lines, out: Vec::new() };
    match file.kind {
        FileKind::CargoToml => r.cargo_toml(project)?,
        FileKind::CargoLock => {
            r.lockfile(|name, source| source.is_none() && project.cargo_packages.contains(name), Style::Plain)?
        }
        FileKind::PackageJson => r.json(&[(&["version"], "version".to_string())])?,
        FileKind::PackageLock => {
            let mut targets: Vec<(Vec<&str>, String)> = vec![
                (vec!["version"], "version".into()),
                (vec!["packages", "", "version"], "packages[\"\"].version".into()),
            ];
            for m in &project.npm_members {
                targets.push((vec!["packages", m.as_str(), "version"], format!("packages[\"{m}\"].version")));
            }
            let refs: Vec<(&[&str], String)> = targets.iter().map(|(p, k)| (p.as_slice(), k.clone())).collect();
            r.json(&refs)?
        }
        FileKind::Pyproject => r.pyproject()?,
        FileKind::UvLock => r.lockfile(
            |name, source| {
                source.is_some_and(|s| s.get("editable").is_some() || s.get("virtual").is_some())
                    && project.python_packages.contains(&normalize_python_name(name))
            },
            Style::Pep440,
        )?,
        FileKind::HelmChart => r.chart()?,
        FileKind::Pattern => {
            let (re, key) = file.pattern.as_ref().expect("pattern files carry their pattern");
            r.pattern(re, key)?
        }
    }
    Ok(r.out)
}

struct Reader<'a> {
    file: &'a str,
    text: &'a str,
    lines: &'a Lines,
    out: Vec<Occurrence>,
}

impl<'a> Reader<'a> {
    fn error(&self, offset: Option<usize>, message: impl Into<String>) -> FileError {
        FileError { file: self.file.to_string(), line: offset.map(|o| self.lines.line_of(o)), message: message.into() }
    }

    fn add(&mut self, key: String, range: Range<usize>, style: Style) {
        self.out.push(Occurrence {
            file: self.file.to_string(),
            line: self.lines.line_of(range.start),
            key,
            found: self.text[range.clone()].to_string(),
            range,
            style,
        });
    }

    fn toml(&self) -> Result<ImDocument<&'a str>, FileError> {
        ImDocument::parse(self.text).map_err(|e| {
            self.error(e.span().map(|s| s.start), format!("not valid TOML: {}", e.message().trim().replace('\n', " ")))
        })
    }

    /// Records the string value `item` (its text between the quotes).
    fn toml_string(&mut self, key: String, item: &Item, style: impl FnOnce(&str) -> Style) -> Result<(), FileError> {
        let span = item.span().ok_or_else(|| self.error(None, format!("`{key}` has no position")))?;
        let Some(value) = item.as_str() else {
            return Err(
                self.error(Some(span.start), format!("`{key}` is not a string: `{}`", &self.text[span.clone()]))
            );
        };
        let raw = &self.text[span.clone()];
        let quote = if raw.starts_with("\"\"\"") || raw.starts_with("'''") { 3 } else { 1 };
        let inner = span.start + quote..span.end - quote;
        if self.text.get(inner.clone()) != Some(value) {
            return Err(self
                .error(Some(span.start), format!("`{key}` uses escapes or line breaks; write it as a plain string")));
        }
        let style = style(value);
        self.add(key, inner, style);
        Ok(())
    }

    fn cargo_toml(&mut self, project: &Project) -> Result<(), FileError> {
        let doc = self.toml()?;
        for (table, key) in [("package", "package.version"), ("workspace", "workspace.package.version")] {
            let item = match table {
                "package" => doc.get("package").and_then(|t| t.get("version")),
                _ => doc.get("workspace").and_then(|w| w.get("package")).and_then(|t| t.get("version")),
            };
            if let Some(item) = item {
                // `version.workspace = true` inherits: nothing written here.
                if item.as_table_like().is_none() {
                    self.toml_string(key.into(), item, |_| Style::Plain)?;
                }
            }
        }
        let mut dep_tables: Vec<(String, &Item)> = Vec::new();
        for kind in ["dependencies", "dev-dependencies", "build-dependencies"] {
            if let Some(t) = doc.get(kind) {
                dep_tables.push((kind.to_string(), t));
            }
        }
        if let Some(targets) = doc.get("target").and_then(Item::as_table_like) {
            for (cfg, t) in targets.iter() {
                for kind in ["dependencies", "dev-dependencies", "build-dependencies"] {
                    if let Some(d) = t.get(kind) {
                        dep_tables.push((format!("target.{cfg}.{kind}"), d));
                    }
                }
            }
        }
        if let Some(d) = doc.get("workspace").and_then(|w| w.get("dependencies")) {
            dep_tables.push(("workspace.dependencies".into(), d));
        }
        for (table, item) in dep_tables {
            let Some(deps) = item.as_table_like() else { continue };
            for (name, dep) in deps.iter() {
                let Some(dep) = dep.as_table_like() else { continue };
                let (Some(_), Some(version)) = (dep.get("path"), dep.get("version")) else { continue };
                let package = dep.get("package").and_then(Item::as_str).unwrap_or(name);
                if !project.cargo_packages.contains(package) {
                    continue;
                }
                self.toml_string(format!("{table}.{name}.version"), version, |v| {
                    let op_len = v.len() - v.trim_start_matches(['=', '^', '~', '>', '<', ' ']).len();
                    Style::Requirement(v[..op_len].to_string())
                })?;
            }
        }
        Ok(())
    }

    /// `[[package]]` entries of Cargo.lock / uv.lock selected by `own(name, source)`.
    fn lockfile(&mut self, own: impl Fn(&str, Option<&Item>) -> bool, style: Style) -> Result<(), FileError> {
        let doc = self.toml()?;
        let Some(packages) = doc.get("package").and_then(Item::as_array_of_tables) else { return Ok(()) };
        for pkg in packages.iter() {
            let Some(name) = pkg.get("name").and_then(Item::as_str) else { continue };
            if !own(name, pkg.get("source")) {
                continue;
            }
            if let Some(version) = pkg.get("version") {
                let style = style.clone();
                self.toml_string(format!("package[\"{name}\"].version"), version, |_| style)?;
            }
        }
        Ok(())
    }

    fn pyproject(&mut self) -> Result<(), FileError> {
        let doc = self.toml()?;
        if let Some(project) = doc.get("project") {
            let dynamic = project
                .get("dynamic")
                .and_then(Item::as_array)
                .is_some_and(|a| a.iter().any(|v| v.as_str() == Some("version")));
            if let (Some(v), false) = (project.get("version"), dynamic) {
                self.toml_string("project.version".into(), v, |_| Style::Pep440)?;
            }
        }
        if let Some(v) = doc.get("tool").and_then(|t| t.get("poetry")).and_then(|t| t.get("version")) {
            self.toml_string("tool.poetry.version".into(), v, |_| Style::Pep440)?;
        }
        Ok(())
    }

    fn json(&mut self, targets: &[(&[&str], String)]) -> Result<(), FileError> {
        let paths: Vec<&[&str]> = targets.iter().map(|(p, _)| *p).collect();
        let found = jsonspan::find(self.text, &paths)
            .map_err(|e| self.error(Some(e.offset), format!("not valid JSON: {}", e.message)))?;
        for ((_, key), f) in targets.iter().zip(found) {
            let Some(f) = f else { continue };
            if !f.is_string {
                return Err(
                    self.error(Some(f.range.start), format!("`{key}` is not a string: `{}`", &self.text[f.range]))
                );
            }
            if self.text[f.range.clone()].contains('\\') {
                return Err(self.error(Some(f.range.start), format!("`{key}` uses escapes")));
            }
            self.add(key.clone(), f.range, Style::Plain);
        }
        Ok(())
    }

    /// Top-level `version:` and `appVersion:` of a Chart.yaml.
    fn chart(&mut self) -> Result<(), FileError> {
        let mut offset = 0;
        for line in self.text.split_inclusive('\n') {
            let start = offset;
            offset += line.len();
            for key in ["version", "appVersion"] {
                let Some(rest) = line.strip_prefix(key).and_then(|r| r.strip_prefix(':')) else { continue };
                let content = rest.trim_end_matches(['\n', '\r']);
                let lead = content.len() - content.trim_start().len();
                let value_start = start + key.len() + 1 + lead;
                let value = content.trim_start();
                let (range, text) = match value.chars().next() {
                    Some(q @ ('"' | '\'')) => match value[1..].find(q) {
                        Some(end) => (value_start + 1..value_start + 1 + end, &value[1..1 + end]),
                        None => return Err(self.error(Some(value_start), format!("`{key}` has an unterminated quote"))),
                    },
                    _ => {
                        let end = value.find(" #").unwrap_or(value.len());
                        let v = value[..end].trim_end();
                        (value_start..value_start + v.len(), v)
                    }
                };
                if text.is_empty() {
                    return Err(self.error(Some(start), format!("`{key}` has no value")));
                }
                let style = if key == "appVersion" { prefixed_style(text) } else { Style::Plain };
                self.add(key.to_string(), range, style);
            }
        }
        Ok(())
    }

    fn pattern(&mut self, re: &Regex, key: &str) -> Result<(), FileError> {
        let mut any = false;
        for caps in re.captures_iter(self.text) {
            if let Some(m) = caps.get(1) {
                any = true;
                let style = prefixed_style(m.as_str());
                self.add(format!("`{key}` match"), m.range(), style);
            }
        }
        if !any {
            return Err(self.error(None, format!("the pattern of `{key}` matches nothing")));
        }
        Ok(())
    }
}

/// `1` or `1.2` (a partial Cargo requirement) as the lowest version it names.
fn partial_version(bare: &str) -> Option<Version> {
    let parts: Vec<&str> = bare.split('.').collect();
    if parts.len() > 2 || parts.iter().any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let n = |i: usize| parts.get(i).map_or(Some(0), |p| p.parse().ok());
    Some(Version::new(n(0)?, n(1)?, 0))
}

/// `v1.2.3` keeps its `v`; anything else is plain.
fn prefixed_style(text: &str) -> Style {
    if text.len() > 1 && (text.starts_with('v') || text.starts_with('V')) && text.as_bytes()[1].is_ascii_digit() {
        Style::Prefixed(text[..1].to_string())
    } else {
        Style::Plain
    }
}

/// A semantic version the PEP 440 way: `1.3.0-rc.1` → `1.3.0rc1`, `-alpha.2` → `a2`,
/// `-beta.1` → `b1`, `-dev.3` → `.dev3`; build metadata becomes a local version.
pub fn pep440(v: &Version) -> Result<String, String> {
    let mut out = format!("{}.{}.{}", v.major, v.minor, v.patch);
    if !v.pre.is_empty() {
        let parts: Vec<&str> = v.pre.as_str().split('.').collect();
        let (id, n) = match parts.as_slice() {
            [id] => (*id, "0"),
            [id, n] if n.chars().all(|c| c.is_ascii_digit()) => (*id, *n),
            _ => return Err(format!("`{v}` has no PEP 440 spelling (use `-alpha.N`, `-beta.N`, `-rc.N` or `-dev.N`)")),
        };
        let n: u64 = n.parse().map_err(|_| format!("`{v}`: pre-release number too large"))?;
        match id.to_ascii_lowercase().as_str() {
            "a" | "alpha" => out.push_str(&format!("a{n}")),
            "b" | "beta" => out.push_str(&format!("b{n}")),
            "rc" | "c" | "pre" | "preview" => out.push_str(&format!("rc{n}")),
            "dev" => out.push_str(&format!(".dev{n}")),
            _ => return Err(format!("`{v}` has no PEP 440 spelling (use `-alpha.N`, `-beta.N`, `-rc.N` or `-dev.N`)")),
        }
    }
    if !v.build.is_empty() {
        out.push('+');
        out.push_str(v.build.as_str());
    }
    Ok(out)
}

/// Parses a PEP 440 version of the forms relman writes (or a semantic version), returning
/// its normalised PEP 440 text and the matching semantic version.
pub fn parse_pep440(text: &str) -> Result<(String, Version), String> {
    if let Ok(v) = Version::parse(text) {
        return pep440(&v).map(|p| (p, v));
    }
    let bad =
        || format!("`{text}` is not a version relman can read (PEP 440 `X.Y.Z`, `X.Y.ZrcN`, `X.Y.ZaN`, `X.Y.ZbN`)");
    let lower = text.trim().to_ascii_lowercase();
    let (main, local) = match lower.split_once('+') {
        Some((m, l)) => (m, Some(l)),
        None => (lower.as_str(), None),
    };
    let digits_end = main.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(main.len());
    let release = main[..digits_end].trim_end_matches('.');
    let nums: Vec<&str> = release.split('.').collect();
    if nums.len() != 3 || nums.iter().any(|n| n.is_empty()) {
        return Err(bad());
    }
    let mut tail = &main[digits_end..];
    let dev = tail.starts_with("dev") || tail.starts_with(".dev");
    tail = tail.trim_start_matches(['.', '-', '_']);
    let pre = if tail.is_empty() {
        String::new()
    } else {
        let split = tail.find(|c: char| c.is_ascii_digit()).unwrap_or(tail.len());
        let (id, n) = tail.split_at(split);
        let n = n.trim_start_matches(['.', '-', '_']);
        let n = if n.is_empty() { "0" } else { n };
        if !n.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        let id = match id.trim_end_matches(['.', '-', '_']) {
            "a" | "alpha" => "alpha",
            "b" | "beta" => "beta",
            "rc" | "c" | "pre" | "preview" => "rc",
            "dev" if dev => "dev",
            _ => return Err(bad()),
        };
        format!("-{id}.{}", n.parse::<u64>().map_err(|_| bad())?)
    };
    let semver_text = format!("{release}{pre}{}", local.map(|l| format!("+{l}")).unwrap_or_default());
    let v = Version::parse(&semver_text).map_err(|_| bad())?;
    pep440(&v).map(|p| (p, v))
}

/// Rewrites every occurrence in `text` to `v` (occurrences of this one file, any order).
pub fn rewrite(text: &str, occurrences: &[&Occurrence], v: &Version) -> Result<String, FileError> {
    let mut sorted: Vec<&Occurrence> = occurrences.to_vec();
    sorted.sort_by_key(|o| o.range.start);
    sorted.dedup_by(|a, b| a.range == b.range);
    let mut out = String::with_capacity(text.len() + 16 * sorted.len());
    let mut at = 0;
    for o in sorted {
        if o.range.start < at {
            return Err(FileError {
                file: o.file.clone(),
                line: Some(o.line),
                message: format!(
                    "`{}` overlaps another version in the same file; check `versions.files` patterns",
                    o.key
                ),
            });
        }
        let new = o.render(v).map_err(|m| FileError { file: o.file.clone(), line: Some(o.line), message: m })?;
        out.push_str(&text[at..o.range.start]);
        out.push_str(&new);
        at = o.range.end;
    }
    out.push_str(&text[at..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn occ(found: &str, style: Style) -> Occurrence {
        Occurrence { file: "f".into(), line: 1, key: "k".into(), found: found.into(), range: 0..found.len(), style }
    }

    #[test]
    fn pep440_round_trips() {
        let v = |s: &str| Version::parse(s).unwrap();
        assert_eq!(pep440(&v("1.3.0-rc.1")).unwrap(), "1.3.0rc1");
        assert_eq!(pep440(&v("1.3.0-alpha.2")).unwrap(), "1.3.0a2");
        assert_eq!(pep440(&v("1.3.0-beta")).unwrap(), "1.3.0b0");
        assert!(pep440(&v("1.3.0-snapshot.3.gabc")).is_err());
        assert_eq!(parse_pep440("1.3.0rc1").unwrap(), ("1.3.0rc1".into(), v("1.3.0-rc.1")));
        assert_eq!(parse_pep440("1.3.0-rc.1").unwrap().0, "1.3.0rc1");
        assert_eq!(parse_pep440("1.3.0.dev2").unwrap().1, v("1.3.0-dev.2"));
        assert!(parse_pep440("1.3").is_err());
        assert!(parse_pep440("1.3.0.post1").is_err());
        assert!(occ("1.3.0rc1", Style::Pep440).agrees(&v("1.3.0-rc.1")).unwrap());
        assert!(!occ("1.3.0rc1", Style::Pep440).agrees(&v("1.3.0-rc.2")).unwrap());
    }

    #[test]
    fn styles_parse_and_render() {
        let v = Version::parse("2.0.0").unwrap();
        assert_eq!(occ("=1.0.0", Style::Requirement("=".into())).version().unwrap(), Version::new(1, 0, 0));
        assert_eq!(occ("=1.0.0", Style::Requirement("=".into())).render(&v).unwrap(), "=2.0.0");
        // A partial requirement accepts compatible versions and is written in full by bump.
        let partial = occ("0.4", Style::Requirement(String::new()));
        assert!(partial.agrees(&Version::parse("0.4.7").unwrap()).unwrap());
        assert!(!partial.agrees(&Version::parse("0.5.0").unwrap()).unwrap());
        assert_eq!(partial.render(&Version::parse("0.5.0").unwrap()).unwrap(), "0.5.0");
        let caret = occ("^1", Style::Requirement("^".into()));
        assert!(caret.agrees(&Version::parse("1.9.0").unwrap()).unwrap());
        // A full one must be the version itself.
        let full = occ("1.2.3", Style::Requirement(String::new()));
        assert!(!full.agrees(&Version::parse("1.2.4").unwrap()).unwrap());
        assert!(occ("1.2", Style::Plain).version().unwrap_err().contains("not a full version"));
        assert_eq!(occ("v1.0.0", Style::Prefixed("v".into())).render(&v).unwrap(), "v2.0.0");
        assert!(occ("1.2", Style::Plain).version().unwrap_err().contains("`1.2`"));
    }

    #[test]
    fn globs() {
        assert!(glob_match("crates/*", "crates/app"));
        assert!(!glob_match("crates/*", "crates/app/sub"));
        assert!(glob_match("**/Chart.yaml", "deploy/charts/app/Chart.yaml"));
        assert!(glob_match("legacy/package.json", "legacy/package.json"));
        assert!(glob_match("pkg-?", "pkg-a"));
    }

    #[test]
    fn rewrites_only_spans() {
        let text = "[package]\nname = \"a\" # the name\nversion = \"1.0.0\"   # keep me\n";
        let start = text.find("1.0.0").unwrap();
        let o = Occurrence { range: start..start + 5, ..occ("1.0.0", Style::Plain) };
        let out = rewrite(text, &[&o], &Version::parse("1.1.0-rc.1").unwrap()).unwrap();
        assert_eq!(out, "[package]\nname = \"a\" # the name\nversion = \"1.1.0-rc.1\"   # keep me\n");
    }
}
