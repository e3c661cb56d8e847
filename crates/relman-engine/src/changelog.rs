//! CHANGELOG.md: finding release sections, checking them, and writing new ones.
//!
//! Inputs: the changelog's text and a version. Outputs: problems for `relman check`, or new
//! text for `relman bump` and `relman changelog` (the caller writes it atomically).
//!
//! A *release heading* is an ATX heading of level 1–3 (outside code fences) that names a
//! semantic version (`## [1.2.0] - 2024-05-01`, `# [1.2.0](…) (2024-05-01)`, `## v1.2.0`) or
//! says `Unreleased`. A section runs from its heading to the next release heading, leaving out
//! the link reference definitions (`[1.2.0]: https://…`) at the end of the file. This reads
//! keep-a-changelog, git-cliff, release-please and conventional-changelog files alike.
//!
//! Invariants:
//! * a section for a version is never added twice: [`prepend`] returns `None` when the
//!   version has a section, so `relman changelog` run twice changes nothing;
//! * sections are inserted in version order (before the first older version), never inside
//!   another section; everything else in the file is kept byte for byte;
//! * [`release`] (for bump) moves a non-empty `Unreleased` section under the new version and
//!   leaves a fresh empty `Unreleased` above it; with nothing under `Unreleased` (or no such
//!   section) it inserts the section generated from the commits.

use std::path::{Path, PathBuf};

use relman_manifest::Failure;
use semver::Version;
use serde::Serialize;

use crate::git::Repo;
use crate::notes::{self, NotesOptions, NotesSettings};

/// The changelog file relman looks for at the project root.
pub const CHANGELOG_FILE: &str = "CHANGELOG.md";

/// A release heading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heading {
    /// 0-based line index.
    pub index: usize,
    /// Number of `#`.
    pub level: usize,
    /// `None` for `Unreleased`.
    pub version: Option<Version>,
    /// `YYYY-MM-DD` in the heading, when there is one.
    pub date: Option<String>,
}

/// A changelog split into lines (line endings kept) with its release headings.
pub struct Doc<'a> {
    pub lines: Vec<&'a str>,
    pub headings: Vec<Heading>,
    /// Index of the first line of the trailing block of link definitions / blank lines.
    pub body_end: usize,
}

impl<'a> Doc<'a> {
    pub fn parse(text: &'a str, tag_prefix: &str) -> Doc<'a> {
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let mut headings = Vec::new();
        let mut fence: Option<&str> = None;
        for (index, line) in lines.iter().enumerate() {
            let trimmed = line.trim_start();
            if let Some(f) = fence {
                if trimmed.starts_with(f) {
                    fence = None;
                }
                continue;
            }
            if trimmed.starts_with("```") {
                fence = Some("```");
                continue;
            }
            if trimmed.starts_with("~~~") {
                fence = Some("~~~");
                continue;
            }
            if let Some(h) = parse_heading(line, tag_prefix) {
                headings.push(Heading { index, ..h });
            }
        }
        let mut body_end = lines.len();
        while body_end > 0 {
            let l = lines[body_end - 1].trim();
            if l.is_empty() || is_link_definition(l) {
                body_end -= 1;
            } else {
                break;
            }
        }
        // Only a block that actually holds link definitions counts as the trailer.
        if !lines[body_end..].iter().any(|l| is_link_definition(l.trim())) {
            body_end = lines.len();
        }
        Doc { lines, headings, body_end }
    }

    /// Line range (start, end) of the section under heading `i` (heading line included).
    pub fn section(&self, i: usize) -> (usize, usize) {
        let start = self.headings[i].index;
        let end = self.headings.get(i + 1).map(|h| h.index).unwrap_or(self.body_end.max(start + 1));
        (start, end)
    }

    pub fn find_version(&self, v: &Version) -> Option<usize> {
        self.headings.iter().position(|h| h.version.as_ref() == Some(v))
    }

    pub fn find_unreleased(&self) -> Option<usize> {
        self.headings.iter().position(|h| h.version.is_none())
    }

    /// True when the section under heading `i` has content besides blank lines.
    pub fn section_has_content(&self, i: usize) -> bool {
        let (start, end) = self.section(i);
        self.lines[start + 1..end].iter().any(|l| {
            let t = l.trim();
            !t.is_empty() && !is_link_definition(t)
        })
    }

    /// Where a section for `v` goes: before the first older version, else at the end of the
    /// body.
    fn insertion_point(&self, v: &Version) -> usize {
        self.headings
            .iter()
            .find(|h| h.version.as_ref().is_some_and(|hv| hv.cmp_precedence(v).is_lt()))
            .map(|h| h.index)
            .unwrap_or(self.body_end)
    }
}

fn is_link_definition(line: &str) -> bool {
    line.starts_with('[') && line.find("]:").is_some_and(|i| i > 1)
}

fn parse_heading(line: &str, tag_prefix: &str) -> Option<Heading> {
    let t = line.trim_end();
    let level = t.bytes().take_while(|&b| b == b'#').count();
    if !(1..=3).contains(&level) {
        return None;
    }
    let rest = &t[level..];
    if !rest.starts_with(' ') && !rest.starts_with('\t') {
        return None;
    }
    let text = rest.trim();
    let version = text
        .split(|c: char| c.is_whitespace() || matches!(c, '[' | ']' | '(' | ')'))
        .filter(|s| !s.is_empty())
        .find_map(|tok| {
            let tok = tok.trim_end_matches([',', ':', ';']);
            let tok = tok.strip_prefix(tag_prefix).filter(|_| !tag_prefix.is_empty()).unwrap_or(tok);
            let tok = tok.strip_prefix('v').unwrap_or(tok);
            Version::parse(tok).ok()
        });
    let date = find_date(text);
    if version.is_none() && !text.to_ascii_lowercase().contains("unreleased") {
        return None;
    }
    Some(Heading { index: 0, level, version, date })
}

/// The first `YYYY-MM-DD` in `text`.
fn find_date(text: &str) -> Option<String> {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(9)).find_map(|i| {
        let w = &b[i..i + 10];
        let shape = w.iter().enumerate().all(|(j, c)| if j == 4 || j == 7 { *c == b'-' } else { c.is_ascii_digit() });
        let bounded = (i == 0 || !b[i - 1].is_ascii_digit()) && b.get(i + 10).is_none_or(|c| !c.is_ascii_digit());
        (shape && bounded).then(|| text[i..i + 10].to_string())
    })
}

/// A changelog problem for `relman check`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line, when the problem has one.
    pub line: Option<usize>,
    pub what: String,
    pub expected: String,
    pub found: String,
}

/// Checks that the changelog has a finished section for `v`.
pub fn check(text: &str, v: &Version, tag_prefix: &str) -> Vec<Problem> {
    let doc = Doc::parse(text, tag_prefix);
    let mut problems = Vec::new();
    let expected_heading = format!("## [{v}] - YYYY-MM-DD");
    match doc.find_version(v) {
        None => match doc.find_unreleased().filter(|&i| doc.section_has_content(i)) {
            Some(i) => problems.push(Problem {
                line: Some(doc.headings[i].index + 1),
                what: format!("the changes for `{v}` are still under `Unreleased`"),
                expected: expected_heading,
                found: doc.lines[doc.headings[i].index].trim().to_string(),
            }),
            None => problems.push(Problem {
                line: None,
                what: format!("no section for `{v}`"),
                expected: expected_heading,
                found: "no such heading".into(),
            }),
        },
        Some(i) => {
            let h = &doc.headings[i];
            let heading = doc.lines[h.index].trim().to_string();
            if h.date.is_none() {
                problems.push(Problem {
                    line: Some(h.index + 1),
                    what: format!("the section for `{v}` has no release date"),
                    expected: expected_heading,
                    found: heading,
                });
            } else if heading.contains("TBD") || heading.to_ascii_lowercase().contains("unreleased") {
                problems.push(Problem {
                    line: Some(h.index + 1),
                    what: format!("the section for `{v}` is marked unfinished"),
                    expected: expected_heading,
                    found: heading,
                });
            }
            let (start, end) = doc.section(i);
            for (n, line) in doc.lines.iter().enumerate().take(end).skip(start + 1) {
                if contains_word(line, "TBD") {
                    problems.push(Problem {
                        line: Some(n + 1),
                        what: format!("the section for `{v}` still says `TBD`"),
                        expected: "final text".into(),
                        found: line.trim().to_string(),
                    });
                }
            }
        }
    }
    problems
}

fn contains_word(line: &str, word: &str) -> bool {
    line.match_indices(word).any(|(i, _)| {
        let before = line[..i].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
        let after = line[i + word.len()..].chars().next().is_none_or(|c| !c.is_alphanumeric());
        before && after
    })
}

/// Inserts `section` (a rendered release section) for `v`, unless the changelog already has
/// a section for `v` (then `None`: nothing to do).
pub fn prepend(text: &str, v: &Version, section: &str, tag_prefix: &str) -> Option<String> {
    let doc = Doc::parse(text, tag_prefix);
    if doc.find_version(v).is_some() {
        return None;
    }
    let at = doc.insertion_point(v);
    Some(insert_block(&doc.lines, at, section))
}

/// Inserts `block` before line `at`, keeping one blank line on each side.
fn insert_block(lines: &[&str], at: usize, block: &str) -> String {
    let mut out = String::with_capacity(lines.iter().map(|l| l.len()).sum::<usize>() + block.len() + 4);
    for l in &lines[..at] {
        out.push_str(l);
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    if !out.is_empty() && !out.ends_with("\n\n") {
        out.push('\n');
    }
    out.push_str(block.trim_end());
    out.push('\n');
    if at < lines.len() {
        out.push('\n');
        let mut rest = &lines[at..];
        while rest.first().is_some_and(|l| l.trim().is_empty()) {
            rest = &rest[1..];
        }
        for l in rest {
            out.push_str(l);
        }
    }
    out
}

/// What [`release`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Released {
    pub text: String,
    pub summary: String,
}

/// For bump: gives `v` its section dated `date`. `generated` renders the section from the
/// commits (called only when needed). `None` when the changelog needs no change.
pub fn release(
    text: &str,
    v: &Version,
    tag: &str,
    date: &str,
    tag_prefix: &str,
    generated: impl FnOnce() -> Result<String, Failure>,
) -> Result<Option<Released>, Failure> {
    let doc = Doc::parse(text, tag_prefix);
    if let Some(i) = doc.find_version(v) {
        let h = &doc.headings[i];
        let line = doc.lines[h.index];
        if h.date.is_some() && !line.contains("TBD") && !line.to_ascii_lowercase().contains("unreleased") {
            return Ok(None);
        }
        let mut lines: Vec<String> = doc.lines.iter().map(|s| s.to_string()).collect();
        lines[h.index] = date_heading(line, date);
        return Ok(Some(Released { text: lines.concat(), summary: format!("dated the section for `{v}`") }));
    }
    match doc.find_unreleased() {
        Some(i) if doc.section_has_content(i) => {
            let h = &doc.headings[i];
            let line = doc.lines[h.index];
            let hashes = "#".repeat(h.level);
            let bracketed = line.contains("[Unreleased]") || line.contains("[unreleased]");
            let (label_unreleased, label_v) = if bracketed {
                ("[Unreleased]".to_string(), format!("[{v}]"))
            } else {
                ("Unreleased".to_string(), v.to_string())
            };
            let eol = if line.ends_with("\r\n") { "\r\n" } else { "\n" };
            let mut lines: Vec<String> = doc.lines.iter().map(|s| s.to_string()).collect();
            lines[h.index] = format!("{hashes} {label_unreleased}{eol}{eol}{hashes} {label_v} - {date}{eol}");
            update_compare_links(&mut lines, v, tag);
            Ok(Some(Released { text: lines.concat(), summary: format!("moved `Unreleased` under `{v}` ({date})") }))
        }
        _ => {
            let section = generated()?;
            let at = doc.insertion_point(v);
            Ok(Some(Released {
                text: insert_block(&doc.lines, at, &section),
                summary: format!("added a section for `{v}` from the commits"),
            }))
        }
    }
}

/// Puts `date` in a heading that has none (replacing `TBD` / `Unreleased`, or appending).
fn date_heading(line: &str, date: &str) -> String {
    let (body, eol) = match line.strip_suffix("\r\n") {
        Some(b) => (b, "\r\n"),
        None => (line.strip_suffix('\n').unwrap_or(line), if line.ends_with('\n') { "\n" } else { "" }),
    };
    for marker in ["TBD", "Unreleased", "unreleased", "UNRELEASED"] {
        if let Some(i) = body.find(marker) {
            let existing_date = find_date(body);
            let replaced = match existing_date {
                Some(_) => format!(
                    "{}{}",
                    body[..i].trim_end_matches([' ', '-', '(', '—']).trim_end(),
                    &body[i + marker.len()..]
                ),
                None => format!("{}{date}{}", &body[..i], &body[i + marker.len()..]),
            };
            return format!("{}{eol}", replaced.trim_end());
        }
    }
    format!("{} - {date}{eol}", body.trim_end())
}

/// keep-a-changelog links: `[Unreleased]: …/compare/vA...HEAD` becomes
/// `…/compare/<tag>...HEAD`, and `[v]: …/compare/vA...<tag>` is added below it.
fn update_compare_links(lines: &mut Vec<String>, v: &Version, tag: &str) {
    let Some(i) = lines.iter().position(|l| {
        let t = l.trim_start();
        t.len() > 14 && t[..14].eq_ignore_ascii_case("[unreleased]: ")
    }) else {
        return;
    };
    let line = lines[i].clone();
    let Some(c) = line.find("compare/") else { return };
    let after = &line[c + "compare/".len()..];
    let Some(dots) = after.find("...") else { return };
    let old_from = &after[..dots];
    let rest = &after[dots + 3..];
    let head_end = rest.find(|ch: char| ch.is_whitespace()).unwrap_or(rest.len());
    let head = &rest[..head_end];
    let base = &line[line.find("]: ").map(|p| p + 3).unwrap_or(0)..c];
    let eol = if line.ends_with("\r\n") { "\r\n" } else { "\n" };
    let label = &line[..line.find("]: ").unwrap_or(0) + 3];
    lines[i] = format!("{label}{base}compare/{tag}...{head}{eol}");
    lines.insert(i + 1, format!("[{v}]: {base}compare/{old_from}...{tag}{eol}"));
}

/// `YYYY-MM-DD` (UTC) of a Unix time.
pub fn utc_date(epoch_secs: i64) -> String {
    relman_manifest::time::date(epoch_secs)
}

/// Today (UTC), or the date of `source_date_epoch` when given.
pub fn today(source_date_epoch: Option<i64>) -> String {
    let secs = source_date_epoch.unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
    });
    utc_date(secs)
}

/// What `relman changelog` was asked.
#[derive(Clone, Debug, Default)]
pub struct ChangelogOptions {
    /// The changelog file, relative to the project root (default `CHANGELOG.md`).
    pub path: Option<PathBuf>,
    /// Which release: as for `relman notes` (`tag`, `from`, `to`).
    pub notes: NotesOptions,
    /// Compute and return the diff without writing.
    pub dry_run: bool,
}

/// What `relman changelog` did.
#[derive(Clone, Debug, Serialize)]
pub struct ChangelogReport {
    pub path: String,
    pub version: String,
    pub tag: String,
    /// False when the changelog already had a section for the version.
    pub changed: bool,
    pub created: bool,
    pub dry_run: bool,
    /// Unified diff of the change (empty when unchanged).
    pub diff: String,
    pub warnings: Vec<String>,
}

/// `relman changelog`: adds the section for a release to the changelog, once.
pub fn changelog(settings: &NotesSettings, opts: &ChangelogOptions) -> Result<ChangelogReport, Failure> {
    let repo = Repo::discover(&settings.root)?;
    let tags = crate::history::Tags::load(&repo, &settings.tag_prefix)?;
    let collected = notes::collect(&repo, &tags, settings, &opts.notes)?;
    let (Some(version), Some(tag)) = (collected.version.clone(), collected.tag.clone()) else {
        return Err(Failure::usage(format!(
            "`{}` has no release tag, so there is no version to write a changelog section for",
            opts.notes.to.as_deref().unwrap_or("HEAD")
        ))
        .with_hint("name it with `--tag vX.Y.Z`, or use `relman bump`, which writes the changelog"));
    };
    let v = Version::parse(&version).map_err(|e| Failure::internal(format!("version `{version}`: {e}")))?;
    let rel = opts.path.clone().unwrap_or_else(|| PathBuf::from(CHANGELOG_FILE));
    let path = settings.root.join(&rel);
    let (old, created) = match std::fs::read_to_string(&path) {
        Ok(t) => (t, false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (String::new(), true),
        Err(e) => return Err(Failure::io("read", &path, e)),
    };
    let section = notes::render(&collected, settings)?;
    let base = if created { "# Changelog\n".to_string() } else { old.clone() };
    let new = prepend(&base, &v, &section, &settings.tag_prefix);
    let display = rel.display().to_string();
    let (changed, diff) = match &new {
        Some(n) => (true, crate::textdiff::unified(&display, &old, n)),
        None => (false, String::new()),
    };
    if let (Some(n), false) = (&new, opts.dry_run) {
        write_keeping_mode(&path, n.as_bytes())?;
    }
    Ok(ChangelogReport {
        path: display,
        version,
        tag,
        changed,
        created: created && changed,
        dry_run: opts.dry_run,
        diff,
        warnings: collected.warnings,
    })
}

/// Writes atomically, keeping the file's permissions when it exists.
pub(crate) fn write_keeping_mode(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let perms = std::fs::metadata(path).ok().map(|m| m.permissions());
    crate::fsutil::write_atomic(path, bytes)?;
    match perms {
        Some(p) => std::fs::set_permissions(path, p).map_err(|e| Failure::io("set permissions of", path, e)),
        None => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
                    .map_err(|e| Failure::io("set permissions of", path, e))?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    const KAC: &str = "# Changelog\n\nAll notable changes.\n\n## [Unreleased]\n\n### Added\n\n- a thing\n\n## [1.1.0] - 2024-01-02\n\n- older\n\n[Unreleased]: https://github.com/a/b/compare/v1.1.0...HEAD\n[1.1.0]: https://github.com/a/b/compare/v1.0.0...v1.1.0\n";

    #[test]
    fn headings_of_every_style() {
        let text = "# Changelog\n## [Unreleased]\n## [1.2.0](https://x/compare/v1.1.0...v1.2.0) - 2024-05-01\n# [1.1.0](https://x) (2024-04-01)\n### v1.0.1\n```\n## 9.9.9\n```\n## 1.0.0 / 2023-01-01\n#### 0.9.0\n";
        let doc = Doc::parse(text, "v");
        let got: Vec<(usize, Option<String>, Option<String>)> =
            doc.headings.iter().map(|h| (h.index, h.version.as_ref().map(|v| v.to_string()), h.date.clone())).collect();
        assert_eq!(
            got,
            vec![
                (1, None, None),
                (2, Some("1.2.0".into()), Some("2024-05-01".into())),
                (3, Some("1.1.0".into()), Some("2024-04-01".into())),
                (4, Some("1.0.1".into()), None),
                (8, Some("1.0.0".into()), Some("2023-01-01".into())),
            ]
        );
    }

    #[test]
    fn check_finds_missing_undated_and_tbd() {
        let p = check(KAC, &v("1.2.0"), "v");
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].line, Some(5));
        assert!(p[0].what.contains("still under `Unreleased`"), "{:?}", p);
        assert!(check(KAC, &v("1.1.0"), "v").is_empty());
        let p = check("# C\n\n## [1.1.0] - TBD\n", &v("1.1.0"), "v");
        assert_eq!(p[0].line, Some(3));
        assert!(p[0].what.contains("no release date"));
        let p = check("# C\n\n## [1.1.0] - 2024-01-01\n\n- TBD: write this\n", &v("1.1.0"), "v");
        assert_eq!(p[0].line, Some(5));
        let p = check("# C\n", &v("1.1.0"), "v");
        assert_eq!(p[0].line, None);
        assert!(p[0].what.contains("no section for `1.1.0`"));
    }

    #[test]
    fn release_moves_unreleased_and_links() {
        let r = release(KAC, &v("1.2.0"), "v1.2.0", "2024-05-01", "v", || panic!("not needed")).unwrap().unwrap();
        let expected = "# Changelog\n\nAll notable changes.\n\n## [Unreleased]\n\n## [1.2.0] - 2024-05-01\n\n### Added\n\n- a thing\n\n## [1.1.0] - 2024-01-02\n\n- older\n\n[Unreleased]: https://github.com/a/b/compare/v1.2.0...HEAD\n[1.2.0]: https://github.com/a/b/compare/v1.1.0...v1.2.0\n[1.1.0]: https://github.com/a/b/compare/v1.0.0...v1.1.0\n";
        assert_eq!(r.text, expected);
        assert!(check(&r.text, &v("1.2.0"), "v").is_empty());
        // Already released: nothing to do.
        assert_eq!(release(&r.text, &v("1.2.0"), "v1.2.0", "2024-05-02", "v", || panic!()).unwrap(), None);
    }

    #[test]
    fn release_generates_when_unreleased_is_empty_or_missing() {
        let text = "# Changelog\n\n## [Unreleased]\n\n## [1.1.0] - 2024-01-02\n\n- older\n";
        let r = release(text, &v("1.2.0"), "v1.2.0", "2024-05-01", "v", || {
            Ok("## [1.2.0] - 2024-05-01\n\n### Fixes\n\n- x\n".into())
        })
        .unwrap()
        .unwrap();
        assert_eq!(
            r.text,
            "# Changelog\n\n## [Unreleased]\n\n## [1.2.0] - 2024-05-01\n\n### Fixes\n\n- x\n\n## [1.1.0] - 2024-01-02\n\n- older\n"
        );
        let r = release("# Changelog\n", &v("0.1.0"), "v0.1.0", "2024-05-01", "v", || {
            Ok("## 0.1.0 - 2024-05-01\n\n- x\n".into())
        })
        .unwrap()
        .unwrap();
        assert_eq!(r.text, "# Changelog\n\n## 0.1.0 - 2024-05-01\n\n- x\n");
    }

    #[test]
    fn release_dates_a_prepared_section() {
        let r = release("# C\n\n## [1.2.0] - TBD\n\n- x\n", &v("1.2.0"), "v1.2.0", "2024-05-01", "v", || panic!())
            .unwrap()
            .unwrap();
        assert_eq!(r.text, "# C\n\n## [1.2.0] - 2024-05-01\n\n- x\n");
        let r = release("# C\n\n## 1.2.0\n", &v("1.2.0"), "v1.2.0", "2024-05-01", "v", || panic!()).unwrap().unwrap();
        assert_eq!(r.text, "# C\n\n## 1.2.0 - 2024-05-01\n");
    }

    #[test]
    fn prepend_is_idempotent_and_ordered() {
        let text = "# Changelog\n\n## [1.1.0] - 2024-01-02\n\n- older\n";
        let once = prepend(text, &v("1.2.0"), "## [1.2.0] - 2024-05-01\n\n- new\n", "v").unwrap();
        assert_eq!(once, "# Changelog\n\n## [1.2.0] - 2024-05-01\n\n- new\n\n## [1.1.0] - 2024-01-02\n\n- older\n");
        assert_eq!(prepend(&once, &v("1.2.0"), "## [1.2.0] - other\n", "v"), None);
        // An older release goes below the newer ones.
        let older = prepend(&once, &v("1.0.0"), "## [1.0.0] - 2023-01-01\n\n- first\n", "v").unwrap();
        assert!(older.ends_with("- older\n\n## [1.0.0] - 2023-01-01\n\n- first\n"), "{older}");
    }

    #[test]
    fn dates() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(1_714_521_600), "2024-05-01");
        assert_eq!(utc_date(951_782_400), "2000-02-29");
        assert_eq!(today(Some(86_400 * 365)), "1971-01-01");
    }
}
