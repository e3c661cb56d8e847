//! `relman check`: the tag, the tree and every recorded version agree, in lockstep.
//!
//! Inputs: [`CheckOptions`] (root, tag prefix, `[versions]`, the tag or the ref to look at).
//! Output: a [`CheckReport`] listing every version file read, every place a version is
//! written, and every problem at once — each with its file, line, what was expected and what
//! was found. [`CheckReport::failure`] turns a report with problems into the one [`Failure`]
//! the CLI exits with (`Config` when a file could not be read or is missing, else `Git` for
//! tag and tree problems, else `Check`).
//!
//! Checked:
//! * the tag is `<prefix><semver>` (else an immediate Git failure: nothing can be compared),
//!   exists, and points at the ref (default `HEAD`);
//! * the working tree is clean (paths in `ignore_dirty`, such as `dist/`, excepted);
//! * every occurrence found by [`crate::version_files`] equals the tag's version (spelled
//!   the file's way: `=1.2.3` for a Cargo requirement, `1.3.0rc1` in Python files);
//! * CHANGELOG.md, when present, has a dated section for the version ([`crate::changelog`]).
//!
//! Never writes, never prints.

use std::path::{Path, PathBuf};

use relman_manifest::Failure;
use semver::Version;
use serde::Serialize;

use crate::changelog;
use crate::git::Repo;
use crate::version;
use crate::version_files::{self, FileError, FileKind, Occurrence, Project, VersionsConfig};

/// What `relman check` was asked.
#[derive(Clone, Debug, Default)]
pub struct CheckOptions {
    /// Project root.
    pub root: PathBuf,
    /// Release tag prefix (`project.tag_prefix`, default `v`).
    pub tag_prefix: String,
    /// `[versions]` from relman.toml.
    pub versions: VersionsConfig,
    /// The release tag to check. Default: the one release tag at `git_ref`.
    pub tag: Option<String>,
    /// The commit the tag must point at (default `HEAD`).
    pub git_ref: Option<String>,
    /// Skip the clean-tree check.
    pub allow_dirty: bool,
    /// Paths (relative to the repository root) whose changes do not count, e.g. `dist`.
    pub ignore_dirty: Vec<String>,
    /// Changelog path relative to the root (default `CHANGELOG.md`); checked when it exists.
    pub changelog: Option<PathBuf>,
}

pub use crate::problem::{Problem, ProblemClass};

/// A version file and what it records.
#[derive(Clone, Debug, Serialize)]
pub struct CheckedFile {
    pub path: String,
    pub kind: FileKind,
    pub versions: Vec<Occurrence>,
}

/// The result of `relman check`.
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    pub tag: String,
    pub version: String,
    /// The commit checked (the ref).
    pub commit: String,
    pub files: Vec<CheckedFile>,
    /// The changelog checked, when there is one.
    pub changelog: Option<String>,
    pub problems: Vec<Problem>,
    pub warnings: Vec<String>,
}

impl CheckReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// The failure to exit with, when there are problems (print [`Self::problems`] first).
    pub fn failure(&self) -> Option<Failure> {
        if self.problems.is_empty() {
            return None;
        }
        let class = [ProblemClass::Config, ProblemClass::Git, ProblemClass::Check]
            .into_iter()
            .find(|c| self.problems.iter().any(|p| p.class == *c))
            .expect("non-empty");
        let problems = crate::report::count(self.problems.len(), "problem");
        Some(
            Failure::new(class.error_class(), format!("`{}` is not ready to release: {problems}", self.tag))
                .with_hint("fix each one listed above (`relman bump` rewrites every version in lockstep), then run `relman check` again"),
        )
    }
}

/// Adds the problems `relman check` finds beyond version files: every base image not pinned
/// by digest (relman.toml and Dockerfiles) and every `[[chart]]` out of step with the release
/// (values.yaml's image tags; Chart.yaml lines the version files already reported are not
/// repeated).
pub fn add_release_problems(
    report: &mut CheckReport,
    root: &Path,
    config_file: &str,
    images: &[crate::config::ImageConfig],
    charts: &[crate::config::ChartConfig],
    ci: &crate::config::CiConfig,
) -> Result<(), Failure> {
    let mut more = crate::image::pin::problems(root, config_file, images, ci)?;
    more.extend(crate::chart::problems(root, charts, &report.version));
    for p in more {
        if !report.problems.iter().any(|q| q.file == p.file && q.line.is_some() && q.line == p.line) {
            report.problems.push(p);
        }
    }
    Ok(())
}

/// Keyless signing's promote settings, checked before any release: `sign.trusted_root` must be
/// a readable trusted root and come with an identity and an issuer; without it, a warning that
/// promote will not check the signatures.
pub fn add_signing_problems(
    report: &mut CheckReport,
    root: &Path,
    config_file: &str,
    sign: &crate::config::SignConfig,
) {
    if sign.mode != Some(crate::config::SignMode::Keyless) {
        return;
    }
    let problem = |what: &str, expected: &str, found: String| Problem {
        class: ProblemClass::Check,
        file: Some(config_file.to_string()),
        line: None,
        what: what.to_string(),
        expected: expected.to_string(),
        found,
    };
    let Some(rel) = &sign.trusted_root else {
        report.warnings.push(format!(
            "{config_file}: sign.mode = \"keyless\" without sign.trusted_root: promote will not check the signatures (set sign.trusted_root, sign.certificate_identity and sign.certificate_oidc_issuer)"
        ));
        return;
    };
    let path = root.join(rel);
    match std::fs::read_to_string(&path) {
        Err(e) => report.problems.push(problem(
            "`sign.trusted_root`",
            "a readable trusted_root.json",
            format!("`{rel}`: {e}"),
        )),
        Ok(text) => {
            if let Err(e) = relman_sign::keyless::TrustedRoot::parse(&text, rel) {
                report.problems.push(problem("`sign.trusted_root`", "a Sigstore trusted root", e.message));
            }
        }
    }
    if sign.certificate_identity.is_none() && sign.certificate_identity_regexp.is_none() {
        report.problems.push(problem("`sign.certificate_identity`", "the identity promote expects", "none".into()));
    }
    if sign.certificate_oidc_issuer.is_none() && sign.certificate_oidc_issuer_regexp.is_none() {
        report.problems.push(problem("`sign.certificate_oidc_issuer`", "the issuer promote expects", "none".into()));
    }
}

/// Every file's text and occurrences, or the file's error.
pub(crate) struct ReadFile {
    pub path: String,
    pub kind: FileKind,
    pub text: String,
    pub occurrences: Vec<Occurrence>,
}

/// Reads every detected file; files that fail are returned as errors (with the detection
/// errors), the rest as [`ReadFile`]s.
pub(crate) fn read_all(project: &Project) -> (Vec<ReadFile>, Vec<FileError>) {
    let mut files = Vec::new();
    let mut errors = project.errors.clone();
    for f in &project.files {
        let path = project.root.join(&f.path);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                errors.push(FileError { file: f.path.clone(), line: None, message: format!("cannot be read: {e}") });
                continue;
            }
        };
        match version_files::read(project, f, &text) {
            Ok(occurrences) => files.push(ReadFile { path: f.path.clone(), kind: f.kind, text, occurrences }),
            Err(e) => errors.push(e),
        }
    }
    (files, errors)
}

/// `relman check`.
pub fn check(opts: &CheckOptions) -> Result<CheckReport, Failure> {
    let repo = Repo::discover(&opts.root)?;
    let prefix = opts.tag_prefix.as_str();
    let ref_name = opts.git_ref.clone().unwrap_or_else(|| "HEAD".to_string());
    let commit = crate::history::resolve_commit(&repo, &ref_name)?;
    let mut problems = Vec::new();
    let mut warnings = Vec::new();

    let tag = match &opts.tag {
        Some(t) => t.clone(),
        None => tag_at(&repo, &commit, &ref_name, prefix, &mut warnings)?,
    };
    let v = version::parse_tag(&tag, prefix)?;
    match repo.tag_commit(&tag)? {
        None => problems.push(Problem {
            class: ProblemClass::Git,
            file: None,
            line: None,
            what: format!("tag `{tag}` does not exist"),
            expected: format!("`{tag}` at `{ref_name}` ({})", short(&commit)),
            found: "no such tag".into(),
        }),
        Some(c) if c != commit => problems.push(Problem {
            class: ProblemClass::Git,
            file: None,
            line: None,
            what: format!("tag `{tag}` does not point at `{ref_name}`"),
            expected: format!("`{}`", short(&commit)),
            found: format!("`{}`", short(&c)),
        }),
        Some(_) => {}
    }

    if !opts.allow_dirty {
        let dirty = repo.dirty_paths(&opts.ignore_dirty)?;
        if !dirty.is_empty() {
            problems.push(Problem {
                class: ProblemClass::Git,
                file: None,
                line: None,
                what: "the working tree has uncommitted changes".into(),
                expected: "a clean tree".into(),
                found: list_paths(&dirty),
            });
        }
    }

    let project = version_files::detect(&opts.root, &repo, &opts.versions);
    let (files, errors) = read_all(&project);
    for e in errors {
        problems.push(Problem {
            class: ProblemClass::Config,
            file: Some(e.file.clone()),
            line: e.line,
            what: e.message.clone(),
            expected: "a readable file".into(),
            found: "an error".into(),
        });
    }
    let mut checked = Vec::new();
    for f in files {
        for o in &f.occurrences {
            if let Some(p) = occurrence_problem(o, &v, &tag) {
                problems.push(p);
            }
        }
        checked.push(CheckedFile { path: f.path, kind: f.kind, versions: f.occurrences });
    }
    // A Go module records no version in a file (the tag is its version): nothing to warn about.
    if checked.is_empty() && project.errors.is_empty() && !opts.root.join("go.mod").is_file() {
        warnings.push("no file recording the version was found (Cargo.toml, package.json, pyproject.toml, Chart.yaml, `versions.files`)".into());
    }

    lockfile_problems(&opts.root, &mut problems, &mut warnings);

    let changelog_rel = opts.changelog.clone().unwrap_or_else(|| PathBuf::from(changelog::CHANGELOG_FILE));
    let changelog_path = opts.root.join(&changelog_rel);
    let mut changelog_checked = None;
    if changelog_path.is_file() {
        let display = changelog_rel.display().to_string();
        match std::fs::read_to_string(&changelog_path) {
            Ok(text) => {
                for p in changelog::check(&text, &v, prefix) {
                    problems.push(Problem {
                        class: ProblemClass::Check,
                        file: Some(display.clone()),
                        line: p.line,
                        what: p.what,
                        expected: format!("`{}`", p.expected),
                        found: format!("`{}`", p.found),
                    });
                }
            }
            Err(e) => problems.push(Problem {
                class: ProblemClass::Config,
                file: Some(display.clone()),
                line: None,
                what: format!("cannot be read: {e}"),
                expected: "a readable file".into(),
                found: "an error".into(),
            }),
        }
        changelog_checked = Some(display);
    }

    Ok(CheckReport {
        tag,
        version: v.to_string(),
        commit,
        files: checked,
        changelog: changelog_checked,
        problems,
        warnings,
    })
}

/// The problem with one occurrence against the tag's version `v`, if any.
pub(crate) fn occurrence_problem(o: &Occurrence, v: &Version, tag: &str) -> Option<Problem> {
    let problem = |what: String, expected: String| Problem {
        class: ProblemClass::Check,
        file: Some(o.file.clone()),
        line: Some(o.line),
        what,
        expected,
        found: format!("`{}`", o.found),
    };
    let expected = match o.render(v) {
        Ok(e) => format!("`{e}`"),
        Err(why) => {
            return Some(problem(format!("`{}` cannot spell the tag's version: {why}", o.key), format!("`{v}`")))
        }
    };
    match o.agrees(v) {
        Ok(true) => None,
        Ok(false) => {
            let ahead = o.version().is_ok_and(|found| found.cmp_precedence(v).is_gt());
            let what = if ahead {
                format!("`{}` is ahead of the tag `{tag}`", o.key)
            } else {
                format!("`{}` is not the version of the tag `{tag}`", o.key)
            };
            Some(problem(what, expected))
        }
        Err(why) => Some(problem(format!("`{}` cannot be read: {why}", o.key), expected)),
    }
}

/// The one release tag at `commit`, or a Git failure explaining why there is none or several.
fn tag_at(
    repo: &Repo,
    commit: &str,
    ref_name: &str,
    prefix: &str,
    warnings: &mut Vec<String>,
) -> Result<String, Failure> {
    let mut release = Vec::new();
    for t in repo.tags_at(commit)? {
        if version::try_parse_tag(&t, prefix).is_some() {
            release.push(t);
        } else {
            warnings.push(format!(
                "tag `{t}` at `{ref_name}` is not a release tag (`{prefix}` + semantic version), ignored"
            ));
        }
    }
    match release.len() {
        1 => Ok(release.pop().expect("one")),
        0 => {
            if let Some(t) = repo.tags_at(commit)?.iter().find(|t| t.starts_with(prefix)) {
                version::parse_tag(t, prefix)?;
            }
            Err(Failure::git(format!("no release tag points at `{ref_name}` ({})", short(commit))).with_hint(format!(
                "name the tag to check with `--tag {prefix}X.Y.Z`, or create it with `relman bump`"
            )))
        }
        _ => Err(Failure::git(format!("several release tags point at `{ref_name}`: {}", release.join(", ")))
            .with_hint("name the one being released with `--tag`")),
    }
}

fn list_paths(paths: &[String]) -> String {
    let shown: Vec<String> = paths.iter().take(3).map(|p| format!("`{p}`")).collect();
    let more = if paths.len() > 3 { format!(" and {} more", paths.len() - 3) } else { String::new() };
    format!("{}{more}", shown.join(", "))
}

fn short(id: &str) -> &str {
    &id[..7.min(id.len())]
}

/// Lockfiles that disagree with their manifest, and projects without one (their SBOM would
/// list nothing): `package.json`'s dependencies must be those `package-lock.json` records for
/// the root package (`npm ci` refuses otherwise); a `pyproject.toml` with dependencies wants a
/// lockfile (uv.lock, poetry.lock, pdm.lock, Pipfile.lock or requirements*.txt).
/// A package.json `bin` script that loads files beside it (`require("../package.json")`,
/// `import … from "./lib.js"`) does not run once installed on its own as a release's binary.
fn bin_script_warnings(root: &Path, pkg: &serde_json::Value, warnings: &mut Vec<String>) {
    let scripts: Vec<String> = match pkg.get("bin") {
        Some(serde_json::Value::String(p)) => vec![p.clone()],
        Some(serde_json::Value::Object(m)) => m.values().filter_map(|v| v.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    };
    for script in scripts {
        let Ok(text) = std::fs::read_to_string(root.join(&script)) else { continue };
        let relative = text.lines().find_map(|line| {
            ["require(\"", "require('", "from \"", "from '", "import(\"", "import('"].iter().find_map(|open| {
                let at = line.find(open)? + open.len();
                let rest = &line[at..];
                let end = rest.find(['"', '\''])?;
                let target = &rest[..end];
                (target.starts_with("./") || target.starts_with("../")).then(|| target.to_string())
            })
        });
        if let Some(target) = relative {
            let script = script.trim_start_matches("./");
            warnings.push(format!(
                "package.json bin `{script}` loads `{target}` beside it: installed alone as the release's binary it will not find it; release a bundler's single-file output (esbuild, ncc) as the binary"
            ));
        }
    }
}

fn lockfile_problems(root: &Path, problems: &mut Vec<Problem>, warnings: &mut Vec<String>) {
    let read_json = |name: &str| -> Option<serde_json::Value> {
        serde_json::from_str(&std::fs::read_to_string(root.join(name)).ok()?).ok()
    };
    if let Some(pkg) = read_json("package.json") {
        bin_script_warnings(root, &pkg, warnings);
    }
    if let (Some(pkg), Some(lock)) = (read_json("package.json"), read_json("package-lock.json")) {
        let locked = &lock["packages"][""];
        if locked.is_object() {
            for section in ["dependencies", "devDependencies", "optionalDependencies", "peerDependencies"] {
                let want = pkg[section].as_object().cloned().unwrap_or_default();
                let have = locked[section].as_object().cloned().unwrap_or_default();
                for (name, spec) in &want {
                    let found = match have.get(name) {
                        Some(h) if h == spec => continue,
                        Some(h) => format!("`{}`", h.as_str().unwrap_or_default()),
                        None => "not in the lockfile".to_string(),
                    };
                    problems.push(Problem {
                        class: ProblemClass::Check,
                        file: Some("package-lock.json".into()),
                        line: None,
                        what: format!("{section} `{name}` of package.json (run `npm install` to update the lockfile)"),
                        expected: format!("`{}`", spec.as_str().unwrap_or_default()),
                        found,
                    });
                }
                for name in have.keys().filter(|n| !want.contains_key(*n)) {
                    problems.push(Problem {
                        class: ProblemClass::Check,
                        file: Some("package-lock.json".into()),
                        line: None,
                        what: format!("{section} `{name}`, which package.json no longer lists (run `npm install`)"),
                        expected: "not in the lockfile".into(),
                        found: format!("`{}`", have[name].as_str().unwrap_or_default()),
                    });
                }
            }
        }
    }
    if let Ok(text) = std::fs::read_to_string(root.join("pyproject.toml")) {
        let deps = text.parse::<toml::Table>().ok().is_some_and(|t| {
            let project = t.get("project").and_then(|p| p.get("dependencies")).and_then(|d| d.as_array());
            let poetry = t
                .get("tool")
                .and_then(|t| t.get("poetry"))
                .and_then(|p| p.get("dependencies"))
                .and_then(|d| d.as_table())
                .map(|d| d.keys().filter(|k| *k != "python").count());
            project.is_some_and(|d| !d.is_empty()) || poetry.is_some_and(|n| n > 0)
        });
        let has_lock = ["uv.lock", "poetry.lock", "pdm.lock", "Pipfile.lock"].iter().any(|f| root.join(f).is_file())
            || std::fs::read_dir(root).into_iter().flatten().flatten().any(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                n.starts_with("requirements") && n.ends_with(".txt")
            });
        if deps && !has_lock {
            warnings.push(
                "pyproject.toml lists dependencies but the project has no lockfile (uv.lock, poetry.lock, pdm.lock, requirements.txt): the release's SBOM will list none of them (`uv lock` makes one)".into(),
            );
        }
    }
}
