//! Helm charts as release artifacts: read `Chart.yaml`, check that a chart's versions agree
//! with the release, package the chart like `helm package` (reproducibly) and describe it the
//! way `helm push` does for an OCI registry (config blob, manifest annotations).
//!
//! Input: a chart directory (`[[chart]] path` in relman.toml). Output: `<name>-<version>.tgz`,
//! written atomically, hashed while it is written.
//!
//! What matches Helm 3 (source read: helm/helm `pkg/chart/loader/directory.go`,
//! `pkg/ignore/rules.go`, `pkg/chartutil/save.go`, `pkg/chart/metadata.go`,
//! `pkg/chart/dependency.go`, `pkg/registry/util.go`, `pkg/registry/client.go`):
//!
//! - **Which files**: every regular file under the chart directory (symlinks followed), minus
//!   what `.helmignore` excludes, minus Helm's default rule `templates/.?*` (dotfiles directly
//!   in `templates/`). `.helmignore` itself is packaged, as Helm does. `charts/*.tgz`
//!   subcharts, unpacked subchart directories and `Chart.lock` are packaged as files.
//! - **`.helmignore`**: Helm's rules exactly: one pattern per line, blank lines and `#` comments
//!   skipped, surrounding whitespace trimmed; Go `filepath.Match` globs (`*` and `?` never match
//!   `/`, `[...]` classes, `\` escapes); a pattern without `/` matches the base name at any
//!   depth, a pattern with `/` (or a leading `/`) matches the whole path from the chart root;
//!   a trailing `/` matches directories only, and an ignored directory skips everything below.
//!   `**` is refused, as Helm refuses it. `!` lines are refused too: Helm accepts them but
//!   does not re-include (a `!p` line makes Helm ignore every path that does *not* match `p`),
//!   so a chart relying on gitignore semantics would silently lose files.
//! - **Config blob**: `json.Marshal(chart.Metadata)` as `helm push` writes it: Helm's field
//!   names and order, empty fields omitted, Go's string escaping (`<`, `>`, `&` as `\u003c`…),
//!   map keys sorted, strings sanitized as Helm's `Metadata.Validate` does.
//! - **Annotations**: `org.opencontainers.image.*` from the metadata, then the chart's own
//!   `annotations` (which may override all but `title` and `version`), as `helm push` does.
//!
//! Where relman differs from `helm package`, on purpose:
//!
//! - **Reproducible**: mtime = the given time (the release's `SOURCE_DATE_EPOCH`), uid/gid 0
//!   with empty names, modes 0644 (files, as Helm) and 0755 (directories), gzip header without
//!   name or time (Helm writes the current time per entry and a gzip comment/extra field).
//! - **Order**: `<name>/`, then `<name>/Chart.yaml`, then every other entry sorted byte-wise
//!   by path. Helm writes Chart.yaml, Chart.lock, values.yaml, values.schema.json, templates,
//!   other files, subcharts; no reader depends on the order, and one sorted rule is easier to
//!   reproduce and to check. Directories are listed explicitly (Helm's loader skips them);
//!   only directories holding a packaged file appear.
//! - **Bytes as written**: `Chart.yaml` and `Chart.lock` are packaged verbatim (Helm
//!   re-serializes them from the parsed metadata, dropping comments), and `charts/*.tgz` stay
//!   archives (Helm expands them into `charts/<name>/`). Helm loads either form.
//! - **Never packaged**: the output file itself, and the output directory when it lies inside
//!   the chart directory (`helm package .` happily packs its previous archives).
//!
//! YAML: [`saphyr`] (pure Rust, YAML 1.2, maintained successor of yaml-rust2) loads nodes with
//! their spans, which gives problems and errors their line numbers; it has no serde layer, so
//! the few Helm fields are read by hand into [`ChartMeta`]. Scalars that YAML types as numbers
//! or booleans are read back as written when a string is expected (`appVersion: 1.10` is
//! `1.10`; Helm's YAML 1.1 library would give `1.1`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use relman_manifest::{Failure, Sha256};
use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

use crate::archive::Entry;
use crate::fsutil;

/// The chart's metadata file, at the root of the chart directory.
pub const CHART_FILE: &str = "Chart.yaml";
/// The chart's default values.
pub const VALUES_FILE: &str = "values.yaml";
/// Helm's ignore file, at the root of the chart directory.
pub const IGNORE_FILE: &str = ".helmignore";
/// OCI media type of the config blob ([`helm_config_json`]).
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.cncf.helm.config.v1+json";
/// OCI media type of the chart archive layer ([`package`]).
pub const CONTENT_MEDIA_TYPE: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
/// OCI media type of the optional provenance layer (`helm package --sign`).
pub const PROVENANCE_MEDIA_TYPE: &str = "application/vnd.cncf.helm.chart.provenance.v1.prov";

/// Helm's default ignore rule, added after the `.helmignore` rules: dotfiles in `templates/`.
const DEFAULT_IGNORE: &str = "templates/.?*";
/// Deflate level of chart archives: charts are small, the best ratio costs nothing.
const GZIP_LEVEL: u32 = 9;

/// A chart maintainer (`maintainers[]` in Chart.yaml).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Maintainer {
    pub name: Option<String>,
    pub email: Option<String>,
    pub url: Option<String>,
}

/// A chart dependency (`dependencies[]` in Chart.yaml), with Helm 3's fields.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Dependency {
    pub name: String,
    /// A version or a version range.
    pub version: Option<String>,
    /// Empty for a subchart that is only in `charts/`.
    pub repository: String,
    pub condition: Option<String>,
    pub tags: Vec<String>,
    pub enabled: bool,
    /// Strings or `{child, parent}` mappings, kept as JSON.
    pub import_values: Vec<serde_json::Value>,
    pub alias: Option<String>,
}

/// A chart's `Chart.yaml`, read and validated by [`load`]. Empty strings are `None`, as Helm
/// treats them as absent; strings Helm sanitizes (whitespace to spaces, unprintable characters
/// dropped) are sanitized.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ChartMeta {
    /// Always `v2` (Helm 3 charts).
    pub api_version: String,
    pub name: String,
    /// The chart's version: a semantic version.
    pub version: String,
    pub app_version: Option<String>,
    pub kube_version: Option<String>,
    pub description: Option<String>,
    /// `application` or `library` (`type`).
    pub chart_type: Option<String>,
    pub keywords: Vec<String>,
    pub home: Option<String>,
    pub sources: Vec<String>,
    pub dependencies: Vec<Dependency>,
    pub maintainers: Vec<Maintainer>,
    pub icon: Option<String>,
    pub deprecated: bool,
    pub annotations: BTreeMap<String, String>,
    pub condition: Option<String>,
    /// Helm's `tags` is one string.
    pub tags: Option<String>,
    /// The chart directory, as given to [`load`].
    pub dir: PathBuf,
    /// `<dir>/Chart.yaml`.
    pub chart_yaml: PathBuf,
    /// The line (1-based) of each top-level key of Chart.yaml, for messages.
    pub lines: BTreeMap<String, usize>,
    /// Chart.yaml as packaged when it differs from the file (a snapshot's version).
    pub packaged_yaml: Option<String>,
}

impl ChartMeta {
    /// The archive's file name: `<name>-<version>.tgz`, as `helm package` names it.
    pub fn archive_name(&self) -> String {
        format!("{}-{}.tgz", self.name, self.version)
    }

    /// The maintainers' names, in order (unnamed maintainers skipped).
    pub fn maintainer_names(&self) -> Vec<&str> {
        self.maintainers.iter().filter_map(|m| m.name.as_deref()).collect()
    }

    fn line(&self, key: &str) -> Option<usize> {
        self.lines.get(key).copied()
    }
}

/// A disagreement between a chart and the release, found by [`check`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ChartProblem {
    pub file: PathBuf,
    /// 1-based, when the problem is at a line.
    pub line: Option<usize>,
    /// The key (`` `appVersion` ``, `` `image.tag` ``) or what is wrong.
    pub what: String,
    pub expected: String,
    pub found: String,
}

impl ChartProblem {
    /// `` `version`: expected `1.2.3` (the release version), found `1.2.2` ``
    pub fn message(&self) -> String {
        format!("{}: expected {}, found {}", self.what, self.expected, self.found)
    }

    /// As one of `relman check`'s problems, the file relative to `root`.
    pub fn to_problem(&self, root: &Path) -> crate::problem::Problem {
        crate::problem::Problem {
            class: crate::problem::ProblemClass::Check,
            file: Some(self.file.strip_prefix(root).unwrap_or(&self.file).display().to_string()),
            line: self.line,
            what: format!("chart {}", self.what),
            expected: self.expected.clone(),
            found: self.found.clone(),
        }
    }
}

impl fmt::Display for ChartProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file.display(), self.message()),
            None => write!(f, "{}: {}", self.file.display(), self.message()),
        }
    }
}

/// Every `[[chart]]`'s disagreements with `release_version`, as `relman check` problems (a
/// chart that does not load is a config problem naming its error).
pub fn problems(
    root: &Path,
    charts: &[crate::config::ChartConfig],
    release_version: &str,
) -> Vec<crate::problem::Problem> {
    let mut out = Vec::new();
    for c in charts {
        match load(&root.join(&c.path)) {
            Ok(meta) => out.extend(check(&meta, release_version).iter().map(|p| p.to_problem(root))),
            Err(f) => out.push(crate::problem::Problem {
                class: crate::problem::ProblemClass::Config,
                file: Some(Path::new(&c.path).join(CHART_FILE).display().to_string()),
                line: None,
                what: f.message,
                expected: "a Helm chart".into(),
                found: "an error".into(),
            }),
        }
    }
    out
}

/// The archive [`package`] wrote.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PackagedChart {
    /// `<out_dir>/<name>-<version>.tgz`.
    pub path: PathBuf,
    pub sha256: Sha256,
    pub size: u64,
}

// ---------------------------------------------------------------------------------------------
// YAML: saphyr's nodes, reduced to what the chart code needs (values with line numbers).

/// A YAML node with the line it starts on.
#[derive(Clone, Debug)]
struct Node {
    line: usize,
    value: Value,
}

#[derive(Clone, Debug)]
enum Value {
    Null,
    /// A string scalar.
    Str(String),
    Bool(bool),
    /// An integer or a float, as written.
    Number(String),
    Seq(Vec<Node>),
    /// Keys as written (scalar keys only), with the key's line; in document order.
    Map(Vec<(String, usize, Node)>),
    /// A value saphyr could not resolve (e.g. `!!int x`), as written.
    Invalid(String),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Str(_) => "a string",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
            Value::Invalid(_) => "an invalid value",
        }
    }

    /// A scalar read as a string, as written; `None` for null and collections.
    fn as_text(&self) -> Option<&str> {
        match self {
            Value::Str(s) | Value::Number(s) | Value::Invalid(s) => Some(s),
            Value::Bool(true) => Some("true"),
            Value::Bool(false) => Some("false"),
            Value::Null | Value::Seq(_) | Value::Map(_) => None,
        }
    }

    fn get(&self, key: &str) -> Option<(usize, &Node)> {
        match self {
            Value::Map(entries) => entries.iter().find(|(k, _, _)| k == key).map(|(_, line, n)| (*line, n)),
            _ => None,
        }
    }
}

/// A YAML syntax error: message and 1-based line.
#[derive(Debug)]
struct YamlError {
    line: usize,
    col: usize,
    message: String,
}

/// Parses the first document of `text` (an empty text is null).
fn parse_yaml(text: &str) -> Result<Node, YamlError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let docs = MarkedYaml::load_from_str(text).map_err(|e| YamlError {
        line: e.marker().line(),
        col: e.marker().col() + 1,
        message: e.info().to_string(),
    })?;
    let chars: Vec<char> = text.chars().collect();
    Ok(docs.first().map(|d| convert(&chars, d)).unwrap_or(Node { line: 1, value: Value::Null }))
}

/// The source text of a node (char indices from its span).
fn raw(chars: &[char], node: &MarkedYaml<'_>) -> String {
    let start = node.span.start.index().min(chars.len());
    let end = node.span.end.index().clamp(start, chars.len());
    chars[start..end].iter().collect::<String>().trim().to_string()
}

fn convert(chars: &[char], node: &MarkedYaml<'_>) -> Node {
    let line = node.span.start.line();
    let value = match &node.data {
        YamlData::Value(Scalar::Null) => Value::Null,
        YamlData::Value(Scalar::String(s)) => Value::Str(s.to_string()),
        YamlData::Value(Scalar::Boolean(b)) => Value::Bool(*b),
        YamlData::Value(Scalar::Integer(_) | Scalar::FloatingPoint(_)) => Value::Number(raw(chars, node)),
        YamlData::Representation(s, _, _) => Value::Str(s.to_string()),
        YamlData::Sequence(items) => Value::Seq(items.iter().map(|n| convert(chars, n)).collect()),
        YamlData::Mapping(map) => Value::Map(
            map.iter()
                .map(|(k, v)| {
                    let key = match convert(chars, k).value.as_text() {
                        Some(t) => t.to_string(),
                        None => raw(chars, k),
                    };
                    (key, k.span.start.line(), convert(chars, v))
                })
                .collect(),
        ),
        YamlData::Tagged(_, inner) => return convert(chars, inner),
        YamlData::Alias(_) | YamlData::BadValue => Value::Invalid(raw(chars, node)),
    };
    Node { line, value }
}

/// Typed reads of one mapping, with errors naming the file, the key and the line.
struct Fields<'a> {
    file: &'a Path,
    /// Key path of this mapping, for messages (`""` at the top, `maintainers[0].` below).
    prefix: String,
    node: &'a Node,
}

impl<'a> Fields<'a> {
    fn error(&self, line: usize, key: &str, msg: impl fmt::Display) -> Failure {
        Failure::config(format!("`{}` line {line}: `{}{key}` {msg}", self.file.display(), self.prefix))
    }

    fn get(&self, key: &str) -> Option<(usize, &'a Node)> {
        self.node.value.get(key)
    }

    /// A string field; null and empty strings are `None`.
    fn string(&self, key: &str) -> Result<Option<String>, Failure> {
        let Some((line, node)) = self.get(key) else { return Ok(None) };
        match &node.value {
            Value::Null => Ok(None),
            v => match v.as_text() {
                Some("") => Ok(None),
                Some(s) => Ok(Some(s.to_string())),
                None => Err(self.error(line, key, format_args!("must be a string, found {}", v.kind()))),
            },
        }
    }

    fn strings(&self, key: &str) -> Result<Vec<String>, Failure> {
        let Some((line, node)) = self.get(key) else { return Ok(Vec::new()) };
        match &node.value {
            Value::Null => Ok(Vec::new()),
            Value::Seq(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| match &item.value {
                    Value::Null => Ok(String::new()),
                    v => v.as_text().map(str::to_string).ok_or_else(|| {
                        self.error(
                            item.line,
                            &format!("{key}[{i}]"),
                            format_args!("must be a string, found {}", v.kind()),
                        )
                    }),
                })
                .collect(),
            v => Err(self.error(line, key, format_args!("must be a list of strings, found {}", v.kind()))),
        }
    }

    fn boolean(&self, key: &str) -> Result<bool, Failure> {
        let Some((line, node)) = self.get(key) else { return Ok(false) };
        match &node.value {
            Value::Null => Ok(false),
            Value::Bool(b) => Ok(*b),
            v => Err(self.error(line, key, format_args!("must be true or false, found {}", v.kind()))),
        }
    }

    fn string_map(&self, key: &str) -> Result<BTreeMap<String, String>, Failure> {
        let Some((line, node)) = self.get(key) else { return Ok(BTreeMap::new()) };
        match &node.value {
            Value::Null => Ok(BTreeMap::new()),
            Value::Map(entries) => entries
                .iter()
                .map(|(k, kline, v)| match &v.value {
                    Value::Null => Ok((k.clone(), String::new())),
                    other => other.as_text().map(|s| (k.clone(), s.to_string())).ok_or_else(|| {
                        self.error(
                            *kline,
                            &format!("{key}.{k}"),
                            format_args!("must be a string, found {}", other.kind()),
                        )
                    }),
                })
                .collect(),
            v => Err(self.error(line, key, format_args!("must be a mapping of strings, found {}", v.kind()))),
        }
    }

    /// A list of mappings; null entries are refused as Helm refuses them.
    fn mappings(&self, key: &str) -> Result<Vec<Fields<'a>>, Failure> {
        let Some((line, node)) = self.get(key) else { return Ok(Vec::new()) };
        match &node.value {
            Value::Null => Ok(Vec::new()),
            Value::Seq(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| match &item.value {
                    Value::Map(_) => {
                        Ok(Fields { file: self.file, prefix: format!("{}{key}[{i}].", self.prefix), node: item })
                    }
                    v => Err(self.error(
                        item.line,
                        &format!("{key}[{i}]"),
                        format_args!("must be a mapping, found {}", v.kind()),
                    )),
                })
                .collect(),
            v => Err(self.error(line, key, format_args!("must be a list, found {}", v.kind()))),
        }
    }
}

/// Helm's `sanitizeString`: whitespace becomes a space, unprintable characters are dropped.
/// Go's `unicode.IsPrint` is approximated by "not a control, format or private-use character".
fn sanitize(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            if c.is_whitespace() {
                Some(' ')
            } else if c.is_control() || is_format_or_private(c) {
                None
            } else {
                Some(c)
            }
        })
        .collect()
}

fn is_format_or_private(c: char) -> bool {
    matches!(c as u32,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E | 0x200B..=0x200F | 0x202A..=0x202E
        | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB | 0xE000..=0xF8FF
        | 0xE0001 | 0xE0020..=0xE007F | 0xF0000..=0x10FFFF)
}

fn sanitized(s: Option<String>) -> Option<String> {
    s.map(|s| sanitize(&s)).filter(|s| !s.is_empty())
}

// ---------------------------------------------------------------------------------------------
// load

/// Reads and validates `<dir>/Chart.yaml`: `apiVersion: v2`, a `name` usable as a file name,
/// a semantic `version`, a known `type`, well-formed maintainers and dependencies (Helm's
/// `Metadata.Validate`). Unknown keys are ignored, as Helm ignores them. Every error is a
/// config failure naming the file, the key and the line.
pub fn load(dir: &Path) -> Result<ChartMeta, Failure> {
    let chart_yaml = dir.join(CHART_FILE);
    if !dir.is_dir() {
        return Err(Failure::config(format!("chart directory `{}` does not exist", dir.display())));
    }
    let bytes = match fs::read(&chart_yaml) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Failure::config(format!("no `{CHART_FILE}` in the chart directory `{}`", dir.display()))
                .with_hint("a chart's `path` is the directory holding its Chart.yaml"))
        }
        Err(e) => return Err(Failure::io("read", &chart_yaml, e)),
    };
    let shown = chart_yaml.display();
    let text = String::from_utf8(bytes).map_err(|_| Failure::config(format!("`{shown}` is not UTF-8")))?;
    let root = parse_yaml(&text).map_err(|e| {
        Failure::config(format!("`{shown}` line {} column {}: invalid YAML: {}", e.line, e.col, e.message))
    })?;
    let Value::Map(entries) = &root.value else {
        return Err(Failure::config(format!(
            "`{shown}` must be a mapping of chart fields, found {}",
            root.value.kind()
        )));
    };
    let lines: BTreeMap<String, usize> = entries.iter().rev().map(|(k, line, _)| (k.clone(), *line)).collect();
    let f = Fields { file: &chart_yaml, prefix: String::new(), node: &root };
    let line_of = |key: &str| lines.get(key).copied().unwrap_or(1);

    let api_version = f.string("apiVersion")?.ok_or_else(|| {
        Failure::config(format!("`{shown}`: `apiVersion` is missing"))
            .with_hint("Helm 3 charts declare `apiVersion: v2`")
    })?;
    if api_version != "v2" {
        return Err(f
            .error(
                line_of("apiVersion"),
                "apiVersion",
                format_args!("is `{api_version}`; relman packages `v2` charts (Helm 3)"),
            )
            .with_hint(
                "a `v1` chart is a Helm 2 chart: move requirements.yaml into Chart.yaml and set `apiVersion: v2`",
            ));
    }
    let name = sanitized(f.string("name")?).ok_or_else(|| Failure::config(format!("`{shown}`: `name` is missing")))?;
    if name == "." || name == ".." || name.contains(['/', '\\']) {
        return Err(f.error(line_of("name"), "name", format_args!("`{name}` is not a valid chart name")));
    }
    let version = f.string("version")?.ok_or_else(|| Failure::config(format!("`{shown}`: `version` is missing")))?;
    if semver::Version::parse(&version).is_err() {
        return Err(f
            .error(line_of("version"), "version", format_args!("`{version}` is not a semantic version"))
            .with_hint("a chart version is MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD], like the release version"));
    }
    let chart_type = sanitized(f.string("type")?);
    if let Some(t) = &chart_type {
        if t != "application" && t != "library" {
            return Err(f.error(
                line_of("type"),
                "type",
                format_args!("is `{t}`; it must be `application` or `library`"),
            ));
        }
    }
    let maintainers = f
        .mappings("maintainers")?
        .iter()
        .map(|m| {
            Ok(Maintainer {
                name: sanitized(m.string("name")?),
                email: sanitized(m.string("email")?),
                url: sanitized(m.string("url")?),
            })
        })
        .collect::<Result<Vec<_>, Failure>>()?;
    let mut dependencies = Vec::new();
    let mut dep_keys = BTreeSet::new();
    for d in f.mappings("dependencies")? {
        let dep = read_dependency(&d)?;
        if let Some(alias) = &dep.alias {
            if !alias.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                let line = d.get("alias").map_or(d.node.line, |(line, _)| line);
                return Err(d.error(line, "alias", format_args!("`{alias}` has characters Helm does not allow")));
            }
        }
        let key = dep.alias.clone().unwrap_or_else(|| dep.name.clone());
        if !dep_keys.insert(key.clone()) {
            return Err(Failure::config(format!(
                "`{shown}` line {}: more than one dependency named or aliased `{key}`",
                d.node.line
            )));
        }
        dependencies.push(dep);
    }

    Ok(ChartMeta {
        api_version,
        name,
        version,
        app_version: sanitized(f.string("appVersion")?),
        kube_version: sanitized(f.string("kubeVersion")?),
        description: sanitized(f.string("description")?),
        chart_type,
        keywords: f.strings("keywords")?.iter().map(|s| sanitize(s)).collect(),
        home: sanitized(f.string("home")?),
        sources: f.strings("sources")?.iter().map(|s| sanitize(s)).collect(),
        dependencies,
        maintainers,
        icon: sanitized(f.string("icon")?),
        deprecated: f.boolean("deprecated")?,
        annotations: f.string_map("annotations")?,
        condition: sanitized(f.string("condition")?),
        tags: sanitized(f.string("tags")?),
        dir: dir.to_path_buf(),
        chart_yaml,
        lines,
        packaged_yaml: None,
    })
}

fn read_dependency(d: &Fields<'_>) -> Result<Dependency, Failure> {
    let import_values = match d.get("import-values") {
        None => Vec::new(),
        Some((_, n)) => match &n.value {
            Value::Null => Vec::new(),
            Value::Seq(items) => items.iter().map(|i| to_json(&i.value)).collect(),
            v => return Err(d.error(n.line, "import-values", format_args!("must be a list, found {}", v.kind()))),
        },
    };
    Ok(Dependency {
        name: d.string("name")?.map(|s| sanitize(&s)).unwrap_or_default(),
        version: sanitized(d.string("version")?),
        repository: d.string("repository")?.map(|s| sanitize(&s)).unwrap_or_default(),
        condition: sanitized(d.string("condition")?),
        tags: d.strings("tags")?.iter().map(|s| sanitize(s)).collect(),
        enabled: d.boolean("enabled")?,
        import_values,
        alias: d.string("alias")?,
    })
}

fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null => J::Null,
        Value::Str(s) | Value::Invalid(s) => J::String(s.clone()),
        Value::Bool(b) => J::Bool(*b),
        Value::Number(s) => s
            .parse::<i64>()
            .ok()
            .map(J::from)
            .or_else(|| s.parse::<f64>().ok().and_then(serde_json::Number::from_f64).map(J::Number))
            .unwrap_or_else(|| J::String(s.clone())),
        Value::Seq(items) => J::Array(items.iter().map(|i| to_json(&i.value)).collect()),
        Value::Map(entries) => J::Object(entries.iter().map(|(k, _, n)| (k.clone(), to_json(&n.value))).collect()),
    }
}

// ---------------------------------------------------------------------------------------------
// check

/// Where the chart disagrees with the release: `version` must equal the release version;
/// `appVersion` must equal it, or equal it after dropping one leading `v`; in `values.yaml`,
/// `image.tag` and `<key>.image.tag` (charts with several images) must be empty or absent
/// (so `{{ .Values.image.tag | default .Chart.AppVersion }}` gives the release version) or
/// equal the release version (a leading `v` allowed). Empty when all agree.
pub fn check(meta: &ChartMeta, release_version: &str) -> Vec<ChartProblem> {
    let mut problems = Vec::new();
    let expected = format!("`{release_version}` (the release version)");
    let chart_problem = |key: &str, found: String| ChartProblem {
        file: meta.chart_yaml.clone(),
        line: meta.line(key),
        what: format!("`{key}`"),
        expected: expected.clone(),
        found,
    };
    if meta.version != release_version {
        problems.push(chart_problem("version", format!("`{}`", meta.version)));
    }
    match &meta.app_version {
        None => problems.push(chart_problem("appVersion", "none".into())),
        Some(app) if !same_version(app, release_version) => {
            problems.push(chart_problem("appVersion", format!("`{app}`")))
        }
        Some(_) => {}
    }
    check_values(meta, release_version, &mut problems);
    check_templates(meta, &mut problems);
    // helm's own checks when it is installed: only if relman found nothing (helm would repeat it).
    if problems.is_empty() {
        check_with_helm(meta, &mut problems);
    }
    problems
}

/// `helm lint` and `helm template` of the chart, when `helm` is on PATH: a failure is a
/// problem quoting helm's last meaningful lines. Without helm nothing is run (relman's own
/// checks stand).
fn check_with_helm(meta: &ChartMeta, problems: &mut Vec<ChartProblem>) {
    if !crate::fsutil::on_path("helm") {
        return;
    }
    let dir = meta.dir.display().to_string();
    for args in [vec!["lint", dir.as_str()], vec!["template", meta.name.as_str(), dir.as_str()]] {
        let out = std::process::Command::new("helm").args(&args).output();
        let (ok, text) = match out {
            Ok(o) => {
                let mut t = String::from_utf8_lossy(&o.stdout).to_string();
                t.push_str(&String::from_utf8_lossy(&o.stderr));
                (o.status.success(), t)
            }
            Err(e) => (false, e.to_string()),
        };
        if !ok {
            let tail: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("==>") && !l.starts_with("Error: 1 chart(s) linted"))
                .collect();
            let tail = tail[tail.len().saturating_sub(3)..].join(" | ");
            problems.push(ChartProblem {
                file: meta.chart_yaml.clone(),
                line: None,
                what: format!("`helm {}`", args[0]),
                expected: "success".into(),
                found: if tail.is_empty() { "a failure".into() } else { tail },
            });
        }
    }
}

/// The chart as a snapshot release packages it: `version` and `appVersion` set to the
/// snapshot's version in the packaged Chart.yaml (the file in the tree is left as it is).
pub fn for_snapshot(mut meta: ChartMeta, version: &str) -> Result<ChartMeta, Failure> {
    let text = fs::read_to_string(&meta.chart_yaml).map_err(|e| Failure::io("read", &meta.chart_yaml, e))?;
    let mut out = String::new();
    let mut saw_app = false;
    for line in text.split_inclusive('\n') {
        let key = line.split(':').next().unwrap_or_default();
        match key {
            "version" => out.push_str(&format!("version: {version}\n")),
            "appVersion" => {
                saw_app = true;
                out.push_str(&format!("appVersion: \"{version}\"\n"));
            }
            _ => out.push_str(line),
        }
    }
    if !saw_app {
        if !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&format!("appVersion: \"{version}\"\n"));
    }
    meta.version = version.to_string();
    meta.app_version = Some(version.to_string());
    meta.packaged_yaml = Some(out);
    Ok(meta)
}

/// A configured chart as this release ships it (a snapshot gets the snapshot's version).
pub fn load_for_release(
    root: &Path,
    cfg: &crate::config::ChartConfig,
    version: &str,
    snapshot: bool,
) -> Result<ChartMeta, Failure> {
    let meta = load(&root.join(&cfg.path))?;
    if snapshot {
        for_snapshot(meta, version)
    } else {
        Ok(meta)
    }
}

/// The template problems of a chart alone (a snapshot's versions are its own).
pub fn check_templates_only(meta: &ChartMeta) -> Vec<ChartProblem> {
    let mut problems = Vec::new();
    check_templates(meta, &mut problems);
    problems
}

/// Every file under `templates/` parsed as a Go template, as Helm renders it: unclosed
/// actions, strings and blocks, and functions that are not Go's, sprig's or Helm's.
fn check_templates(meta: &ChartMeta, problems: &mut Vec<ChartProblem>) {
    let mut stack = vec![meta.dir.join("templates")];
    let mut files = Vec::new();
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else { continue };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    for file in files {
        let Ok(text) = fs::read_to_string(&file) else { continue };
        for p in crate::gotmpl::check(&text, &crate::gotmpl::helm_function) {
            problems.push(ChartProblem {
                file: file.clone(),
                line: Some(p.line),
                what: "template".into(),
                expected: "a template Helm can parse".into(),
                found: p.message,
            });
        }
    }
}

/// Equal, or equal once one leading `v` is dropped from either side.
fn same_version(found: &str, release: &str) -> bool {
    let strip = |s: &str| s.strip_prefix('v').unwrap_or(s).to_string();
    found == release || strip(found) == strip(release)
}

fn check_values(meta: &ChartMeta, release_version: &str, problems: &mut Vec<ChartProblem>) {
    let file = meta.dir.join(VALUES_FILE);
    let problem = |line: Option<usize>, what: String, expected: &str, found: String| ChartProblem {
        file: file.clone(),
        line,
        what,
        expected: expected.into(),
        found,
    };
    let text = match fs::read(&file) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(_) => return problems.push(problem(None, "contents".into(), "UTF-8 text", "other bytes".into())),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => return,
        Err(e) => return problems.push(problem(None, "contents".into(), "a readable file", e.to_string())),
    };
    let root = match parse_yaml(&text) {
        Ok(root) => root,
        Err(e) => return problems.push(problem(Some(e.line), "invalid YAML".into(), "valid YAML", e.message)),
    };
    let Value::Map(entries) = &root.value else { return };
    let mut check_tag = |path: String, image: &Node| {
        let Some((line, tag)) = image.value.get("tag") else { return };
        let found = match &tag.value {
            Value::Null => return,
            v => match v.as_text() {
                Some("") => return,
                Some(t) if same_version(t, release_version) => return,
                Some(t) => format!("`{t}`"),
                None => v.kind().to_string(),
            },
        };
        problems.push(problem(
            Some(line),
            format!("`{path}`"),
            &format!("empty (Helm then uses appVersion) or `{release_version}` (the release version)"),
            found,
        ));
    };
    if let Some((_, image)) = root.value.get("image") {
        check_tag("image.tag".into(), image);
    }
    for (key, _, node) in entries {
        if let Some((_, image)) = node.value.get("image") {
            check_tag(format!("{key}.image.tag"), image);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// .helmignore

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// `*`: any run of characters but `/`.
    Star,
    /// `?`: one character but `/`.
    Any,
    Lit(char),
    /// `[...]`; like Go, a class may match `/`.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// Compiles a Go `filepath.Match` pattern (Unix flavour: `\` escapes).
fn compile_glob(pattern: &str) -> Result<Vec<Tok>, &'static str> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    // One character of a class, possibly escaped; Go's getEsc.
    let esc = |i: &mut usize| -> Result<char, &'static str> {
        match chars.get(*i) {
            None | Some('-') | Some(']') => return Err("malformed character class"),
            Some('\\') => *i += 1,
            Some(_) => {}
        }
        let c = *chars.get(*i).ok_or("malformed character class")?;
        *i += 1;
        if *i >= chars.len() {
            return Err("unterminated character class");
        }
        Ok(c)
    };
    while i < chars.len() {
        match chars[i] {
            '*' => {
                if toks.last() != Some(&Tok::Star) {
                    toks.push(Tok::Star);
                }
                i += 1;
            }
            '?' => {
                toks.push(Tok::Any);
                i += 1;
            }
            '\\' => {
                let c = *chars.get(i + 1).ok_or("trailing backslash")?;
                toks.push(Tok::Lit(c));
                i += 2;
            }
            '[' => {
                i += 1;
                let negated = chars.get(i) == Some(&'^');
                if negated {
                    i += 1;
                }
                let mut ranges = Vec::new();
                loop {
                    if chars.get(i) == Some(&']') && !ranges.is_empty() {
                        i += 1;
                        break;
                    }
                    let lo = esc(&mut i)?;
                    let hi = if chars.get(i) == Some(&'-') {
                        i += 1;
                        esc(&mut i)?
                    } else {
                        lo
                    };
                    ranges.push((lo, hi));
                }
                toks.push(Tok::Class { negated, ranges });
            }
            c => {
                toks.push(Tok::Lit(c));
                i += 1;
            }
        }
    }
    Ok(toks)
}

fn glob_match(toks: &[Tok], name: &[char]) -> bool {
    match toks.split_first() {
        None => name.is_empty(),
        Some((Tok::Star, rest)) => {
            // Try every split that keeps `/` out of the star.
            for i in 0..=name.len() {
                if glob_match(rest, &name[i..]) {
                    return true;
                }
                if i < name.len() && name[i] == '/' {
                    return false;
                }
            }
            false
        }
        Some((tok, rest)) => {
            let Some((&c, tail)) = name.split_first() else { return false };
            let ok = match tok {
                Tok::Any => c != '/',
                Tok::Lit(l) => c == *l,
                Tok::Class { negated, ranges } => ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated,
                Tok::Star => unreachable!(),
            };
            ok && glob_match(rest, tail)
        }
    }
}

#[derive(Clone, Debug)]
enum Scope {
    /// No `/` in the pattern: matched against the base name, at any depth.
    BaseName,
    /// A `/` in the pattern (or a leading one, dropped): matched against the whole path.
    Path,
}

#[derive(Clone, Debug)]
struct Rule {
    toks: Vec<Tok>,
    scope: Scope,
    dir_only: bool,
}

/// Helm's ignore rules (`pkg/ignore/rules.go`), plus its default rule.
#[derive(Clone, Debug, Default)]
struct IgnoreRules {
    rules: Vec<Rule>,
}

impl IgnoreRules {
    /// Reads `<dir>/.helmignore` if it exists, then adds Helm's default rule.
    fn for_chart(dir: &Path) -> Result<Self, Failure> {
        let file = dir.join(IGNORE_FILE);
        let mut rules = IgnoreRules::default();
        match fs::read(&file) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                for (i, line) in text.lines().enumerate() {
                    rules.add(line).map_err(|msg| {
                        Failure::config(format!("`{}` line {}: `{}`: {msg}", file.display(), i + 1, line.trim()))
                    })?;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Failure::io("read", &file, e)),
        }
        rules.add(DEFAULT_IGNORE).expect("valid default rule");
        Ok(rules)
    }

    fn add(&mut self, line: &str) -> Result<(), String> {
        let rule = line.trim();
        if rule.is_empty() || rule.starts_with('#') {
            return Ok(());
        }
        if rule.contains("**") {
            return Err("`**` is not supported by Helm's .helmignore".into());
        }
        compile_glob(rule).map_err(|e| format!("invalid pattern ({e})"))?;
        if rule.starts_with('!') {
            return Err("negation is not supported: Helm does not re-include with `!` (it ignores every \
                        path that does not match), so relman refuses it; remove the line or list what to ignore"
                .into());
        }
        let (rule, dir_only) = match rule.strip_suffix('/') {
            Some(r) => (r, true),
            None => (rule, false),
        };
        let (pattern, scope) = match rule.strip_prefix('/') {
            Some(r) => (r, Scope::Path),
            None if rule.contains('/') => (rule, Scope::Path),
            None => (rule, Scope::BaseName),
        };
        let toks = compile_glob(pattern).map_err(|e| format!("invalid pattern ({e})"))?;
        self.rules.push(Rule { toks, scope, dir_only });
        Ok(())
    }

    /// Whether `rel` (relative to the chart root, `/`-separated) is ignored.
    fn ignores(&self, rel: &str, is_dir: bool) -> bool {
        let path: Vec<char> = rel.chars().collect();
        let base_start = rel.rfind('/').map(|i| rel[..=i].chars().count()).unwrap_or(0);
        self.rules.iter().any(|r| {
            if r.dir_only && !is_dir {
                return false;
            }
            match r.scope {
                Scope::BaseName => glob_match(&r.toks, &path[base_start..]),
                Scope::Path => glob_match(&r.toks, &path),
            }
        })
    }
}

// ---------------------------------------------------------------------------------------------
// package

/// One regular file to package.
struct ChartFile {
    /// Relative to the chart root, `/`-separated.
    rel: String,
    path: PathBuf,
}

/// What the walk never packages: the output archive, and the output directory when it is
/// inside the chart.
struct Exclude {
    out_file: PathBuf,
    out_dir: Option<PathBuf>,
}

/// Packages the chart like `helm package` into `<out_dir>/<name>-<version>.tgz` (see the
/// module documentation for the file set and the reproducibility rules), written to a temp
/// file, hashed while written, then renamed into place. Same files and same `mtime`: same
/// bytes.
pub fn package(meta: &ChartMeta, mtime: u64, out_dir: &Path) -> Result<PackagedChart, Failure> {
    let rules = IgnoreRules::for_chart(&meta.dir)?;
    fsutil::create_dir_all(out_dir)?;
    let canon = |p: &Path| fs::canonicalize(p).map_err(|e| Failure::io("resolve", p, e));
    let root = canon(&meta.dir)?;
    let out_canon = canon(out_dir)?;
    let exclude = Exclude {
        out_file: out_canon.join(meta.archive_name()),
        out_dir: (out_canon != root && out_canon.starts_with(&root)).then(|| out_canon.clone()),
    };
    let mut files = Vec::new();
    walk(&meta.dir, "", &rules, &exclude, &mut vec![root], &mut files)?;
    if !files.iter().any(|f| f.rel == CHART_FILE) {
        return Err(Failure::config(format!(
            "`{}` excludes `{CHART_FILE}`: a chart cannot be packaged without it",
            meta.dir.join(IGNORE_FILE).display()
        )));
    }

    // Entries: the top directory, Chart.yaml, then the rest (files and their parent
    // directories) sorted byte-wise.
    let top = format!("{}/", meta.name);
    let mut dirs = BTreeSet::new();
    for f in &files {
        let mut acc = top.clone();
        let parts: Vec<&str> = f.rel.split('/').collect();
        for d in &parts[..parts.len() - 1] {
            acc.push_str(d);
            acc.push('/');
            dirs.insert(acc.clone());
        }
    }
    let dir_entry = |path: String| Entry { path, source: None, mode: 0o755, size: 0, uid: 0, gid: 0 };
    let file_entry = |path: String, f: &ChartFile| -> Result<Entry, Failure> {
        let size = fs::metadata(&f.path).map_err(|e| Failure::io("read", &f.path, e))?.len();
        Ok(Entry { path, source: Some(f.path.clone()), mode: 0o644, size, uid: 0, gid: 0 })
    };
    let mut rest: Vec<Entry> = dirs.into_iter().map(dir_entry).collect();
    for f in files.iter().filter(|f| f.rel != CHART_FILE) {
        rest.push(file_entry(format!("{top}{}", f.rel), f)?);
    }
    rest.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
    let chart_yaml = files.iter().find(|f| f.rel == CHART_FILE).expect("checked above");
    // A snapshot's Chart.yaml (its version) goes in from a temp file beside the archive.
    let rewritten = match &meta.packaged_yaml {
        Some(text) => {
            let tmp = out_dir.join(format!("{}chart-{}-{CHART_FILE}", relman_install::lock::TEMP_PREFIX, meta.name));
            fs::write(&tmp, text).map_err(|e| Failure::io("write", &tmp, e))?;
            Some(ChartFile { rel: CHART_FILE.to_string(), path: tmp })
        }
        None => None,
    };
    let chart_yaml = rewritten.as_ref().unwrap_or(chart_yaml);
    let mut entries = vec![dir_entry(top.clone()), file_entry(format!("{top}{CHART_FILE}"), chart_yaml)?];
    entries.extend(rest);

    let path = out_dir.join(meta.archive_name());
    let io_err = |e: io::Error| Failure::package(format!("failed to write `{}`: {e}", path.display()));
    let result = fsutil::write_atomic_with(&path, |file, _| {
        crate::archive::write_tar_gz(file, &entries, mtime, GZIP_LEVEL, &crate::report::Silent).map_err(io_err)
    });
    if let Some(f) = &rewritten {
        let _ = fs::remove_file(&f.path);
    }
    let (sha256, size) = result?;
    Ok(PackagedChart { path, sha256, size })
}

/// Collects the files under `dir` (`rel` is its path from the chart root, `""` or ending in
/// `/`), in sorted order, applying the ignore rules as Helm's directory loader does.
fn walk(
    dir: &Path,
    rel: &str,
    rules: &IgnoreRules,
    exclude: &Exclude,
    ancestors: &mut Vec<PathBuf>,
    out: &mut Vec<ChartFile>,
) -> Result<(), Failure> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| Failure::io("read directory", dir, e))? {
        let entry = entry.map_err(|e| Failure::io("read directory", dir, e))?;
        let name = entry.file_name().into_string().map_err(|n| {
            Failure::package(format!("`{}`: file name `{}` is not UTF-8", dir.display(), n.to_string_lossy()))
        })?;
        names.push(name);
    }
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    for name in names {
        let path = dir.join(&name);
        let child = format!("{rel}{name}");
        // Symlinks are followed, as Helm's loader follows them.
        let meta = match fs::metadata(&path) {
            Ok(m) => m,
            Err(e) => {
                if rules.ignores(&child, false) {
                    continue;
                }
                return Err(Failure::package(format!("cannot package `{}`: {e}", path.display())));
            }
        };
        if meta.is_dir() {
            if rules.ignores(&child, true) {
                continue;
            }
            let real = fs::canonicalize(&path).map_err(|e| Failure::io("resolve", &path, e))?;
            if exclude.out_dir.as_deref() == Some(real.as_path()) {
                continue;
            }
            if ancestors.contains(&real) {
                return Err(Failure::package(format!("`{}` is a symlink loop", path.display())));
            }
            ancestors.push(real);
            walk(&path, &format!("{child}/"), rules, exclude, ancestors, out)?;
            ancestors.pop();
        } else {
            if rules.ignores(&child, false) {
                continue;
            }
            if !meta.is_file() {
                return Err(Failure::package(format!(
                    "cannot package `{}`: not a regular file (device, socket or pipe)",
                    path.display()
                )));
            }
            if path.file_name() == exclude.out_file.file_name()
                && fs::canonicalize(&path).is_ok_and(|p| p == exclude.out_file)
            {
                continue;
            }
            out.push(ChartFile { rel: child, path });
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// OCI: config blob and annotations, as `helm push` writes them

/// The OCI config blob `helm push` writes (media type [`CONFIG_MEDIA_TYPE`]): Go's
/// `json.Marshal` of Helm's `chart.Metadata` (helm/helm `pkg/chart/metadata.go`; `helm push`
/// in `pkg/registry/client.go` does `configData, err := json.Marshal(meta)`). Fields in the
/// struct's order with its JSON names — name, home, sources, version, description, keywords,
/// maintainers[{name,email,url}], icon, apiVersion, condition, tags, appVersion, deprecated,
/// annotations, kubeVersion, dependencies[{name, version, repository, condition, tags,
/// enabled, import-values, alias}], type — every one `omitempty` except a dependency's `name`
/// and `repository`. Compact, map keys sorted, Go's escaping: the same metadata always gives
/// the same bytes.
pub fn helm_config_json(meta: &ChartMeta) -> Vec<u8> {
    let mut o = GoObject::default();
    o.string("name", Some(&meta.name));
    o.string("home", meta.home.as_deref());
    o.strings("sources", &meta.sources);
    o.string("version", Some(&meta.version));
    o.string("description", meta.description.as_deref());
    o.strings("keywords", &meta.keywords);
    if !meta.maintainers.is_empty() {
        let items: Vec<String> = meta
            .maintainers
            .iter()
            .map(|m| {
                let mut mo = GoObject::default();
                mo.string("name", m.name.as_deref());
                mo.string("email", m.email.as_deref());
                mo.string("url", m.url.as_deref());
                mo.finish()
            })
            .collect();
        o.raw("maintainers", format!("[{}]", items.join(",")));
    }
    o.string("icon", meta.icon.as_deref());
    o.string("apiVersion", Some(&meta.api_version));
    o.string("condition", meta.condition.as_deref());
    o.string("tags", meta.tags.as_deref());
    o.string("appVersion", meta.app_version.as_deref());
    if meta.deprecated {
        o.raw("deprecated", "true".into());
    }
    if !meta.annotations.is_empty() {
        let mut ao = GoObject::default();
        for (k, v) in &meta.annotations {
            ao.raw(k, go_string(v));
        }
        o.raw("annotations", ao.finish());
    }
    o.string("kubeVersion", meta.kube_version.as_deref());
    if !meta.dependencies.is_empty() {
        let items: Vec<String> = meta
            .dependencies
            .iter()
            .map(|d| {
                let mut dobj = GoObject::default();
                dobj.raw("name", go_string(&d.name));
                dobj.string("version", d.version.as_deref());
                dobj.raw("repository", go_string(&d.repository));
                dobj.string("condition", d.condition.as_deref());
                dobj.strings("tags", &d.tags);
                if d.enabled {
                    dobj.raw("enabled", "true".into());
                }
                if !d.import_values.is_empty() {
                    let values: Vec<String> = d.import_values.iter().map(go_json).collect();
                    dobj.raw("import-values", format!("[{}]", values.join(",")));
                }
                dobj.string("alias", d.alias.as_deref());
                dobj.finish()
            })
            .collect();
        o.raw("dependencies", format!("[{}]", items.join(",")));
    }
    o.string("type", meta.chart_type.as_deref());
    o.finish().into_bytes()
}

/// The OCI manifest annotations `helm push` sets (helm/helm `pkg/registry/util.go`,
/// `generateOCIAnnotations`): `org.opencontainers.image.` `description`, `title` (name),
/// `version`, `url` (home), `created`, `source` (first of `sources`), `authors`
/// (maintainers as `name (email)`, joined by `, `), each only when not blank; then the
/// chart's own `annotations`, which override all but `title` and `version`. `created` is
/// given (an RFC 3339 time, e.g. the release's `SOURCE_DATE_EPOCH`) so the manifest is
/// reproducible; Helm uses the current time when it is empty, relman then leaves it out.
pub fn oci_annotations(meta: &ChartMeta, created: &str) -> BTreeMap<String, String> {
    const PREFIX: &str = "org.opencontainers.image.";
    let mut out = BTreeMap::new();
    let mut add = |key: &str, value: &str| {
        if !value.trim().is_empty() {
            out.insert(format!("{PREFIX}{key}"), value.to_string());
        }
    };
    add("description", meta.description.as_deref().unwrap_or(""));
    add("title", &meta.name);
    add("version", &meta.version);
    add("url", meta.home.as_deref().unwrap_or(""));
    add("created", created);
    if let Some(source) = meta.sources.first() {
        add("source", source);
    }
    if !meta.maintainers.is_empty() {
        let authors: Vec<String> = meta
            .maintainers
            .iter()
            .map(|m| {
                let mut s = m.name.clone().unwrap_or_default();
                if let Some(email) = &m.email {
                    s.push_str(&format!(" ({email})"));
                }
                s
            })
            .collect();
        add("authors", &authors.join(", "));
    }
    let immutable = [format!("{PREFIX}title"), format!("{PREFIX}version")];
    for (k, v) in &meta.annotations {
        if !immutable.contains(k) {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

/// A JSON object written field by field, in call order.
#[derive(Default)]
struct GoObject {
    fields: Vec<String>,
}

impl GoObject {
    /// An `omitempty` string field.
    fn string(&mut self, key: &str, value: Option<&str>) {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            self.raw(key, go_string(v));
        }
    }

    /// An `omitempty` list of strings.
    fn strings(&mut self, key: &str, values: &[String]) {
        if !values.is_empty() {
            let items: Vec<String> = values.iter().map(|v| go_string(v)).collect();
            self.raw(key, format!("[{}]", items.join(",")));
        }
    }

    fn raw(&mut self, key: &str, json: String) {
        self.fields.push(format!("{}:{json}", go_string(key)));
    }

    fn finish(self) -> String {
        format!("{{{}}}", self.fields.join(","))
    }
}

/// Any JSON value as Go's `json.Marshal` writes an `interface{}`: object keys sorted.
fn go_json(v: &serde_json::Value) -> String {
    use serde_json::Value as J;
    match v {
        J::Null => "null".into(),
        J::Bool(b) => b.to_string(),
        J::Number(n) => n.to_string(),
        J::String(s) => go_string(s),
        J::Array(items) => format!("[{}]", items.iter().map(go_json).collect::<Vec<_>>().join(",")),
        J::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys.iter().map(|k| format!("{}:{}", go_string(k), go_json(&map[*k]))).collect();
            format!("{{{}}}", fields.join(","))
        }
    }
}

/// A JSON string as Go's `encoding/json` writes it (HTML-safe): `<`, `>`, `&`, U+2028 and
/// U+2029 as `\uXXXX`, control characters as `\n`, `\r`, `\t`, `\b`, `\f` or `\u00xx`.
fn go_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The repository a chart is pushed to, below an `oci://` destination: `<repository>/<name>`,
/// or `<name>` without `repository`.
pub fn repository_name(cfg: &crate::config::ChartConfig, name: &str) -> String {
    match cfg.repository.as_deref().map(|r| r.trim_matches('/')).filter(|r| !r.is_empty()) {
        Some(sub) => format!("{sub}/{name}"),
        None => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, name: &str) -> bool {
        let toks = compile_glob(pattern).unwrap();
        glob_match(&toks, &name.chars().collect::<Vec<_>>())
    }

    #[test]
    fn globs_follow_go_filepath_match() {
        assert!(matches("*.bak", "a.bak"));
        assert!(!matches("*.bak", "dir/a.bak"));
        assert!(matches("*", ""));
        assert!(matches("a?c", "abc"));
        assert!(!matches("a?c", "a/c"));
        assert!(matches("[a-c]x", "bx"));
        assert!(!matches("[^a-c]x", "bx"));
        assert!(matches("[^a-c]x", "dx"));
        assert!(matches("\\*", "*"));
        assert!(!matches("\\*", "a"));
        assert!(matches("templates/.?*", "templates/.hidden"));
        assert!(!matches("templates/.?*", "templates/."));
        assert!(!matches("templates/.?*", "templates/x/.hidden"));
        assert!(matches("a*b*c", "aXbYbZc"));
        for bad in ["[", "[]", "[a-]", "a\\", "[a"] {
            assert!(compile_glob(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ignore_rules_as_helm() {
        let mut r = IgnoreRules::default();
        for line in ["# comment", "", "*.bak", "ci/", "/secret.txt", "docs/*.md", "  spaced.txt  "] {
            r.add(line).unwrap();
        }
        assert!(r.ignores("a.bak", false));
        assert!(r.ignores("templates/a.bak", false));
        assert!(r.ignores("ci", true));
        assert!(r.ignores("sub/ci", true));
        assert!(!r.ignores("ci", false));
        assert!(r.ignores("secret.txt", false));
        assert!(!r.ignores("sub/secret.txt", false));
        assert!(r.ignores("docs/a.md", false));
        assert!(!r.ignores("docs/x/a.md", false));
        assert!(r.ignores("spaced.txt", false));
        assert!(!r.ignores("values.yaml", false));
        assert!(r.add("!keep.bak").is_err());
        assert!(r.add("a/**/b").is_err());
        assert!(r.add("[").is_err());
    }

    #[test]
    fn go_escaping() {
        assert_eq!(go_string("a<b>&\"\\\n\u{1}\u{2028}é"), "\"a\\u003cb\\u003e\\u0026\\\"\\\\\\n\\u0001\\u2028é\"");
    }

    #[test]
    fn sanitize_like_helm() {
        assert_eq!(sanitize("a\tb\nc\u{200b}d\u{7}"), "a b cd");
    }

    #[test]
    fn yaml_lines_and_raw_numbers() {
        let root = parse_yaml("a: 1\nb:\n  c: 1.10\n  d: true\n").unwrap();
        let (line, b) = root.value.get("b").unwrap();
        assert_eq!(line, 2);
        let (line, c) = b.value.get("c").unwrap();
        assert_eq!(line, 3);
        assert_eq!(c.value.as_text(), Some("1.10"));
        assert_eq!(b.value.get("d").unwrap().1.value.as_text(), Some("true"));
    }
}
