//! Conventional commits: what a commit message says about the release it belongs to.
//!
//! Input: a commit's subject line and body (as `git log` gives them). Output: a [`Parsed`]
//! message — type, scope, `!`, description, the `BREAKING CHANGE:` footer, pull-request
//! numbers and co-authors — and the [`Level`] of version bump it calls for.
//!
//! Invariants:
//! * parsing never fails: a subject that is not `type(scope)!: description` is kept whole as
//!   the description of a non-conventional commit (it lands under "Other", never dropped);
//! * the type is compared lowercase (`Feat:` is a feature, as the specification says types are
//!   case-insensitive); `BREAKING CHANGE` / `BREAKING-CHANGE` footers must be upper case;
//! * only conventional commits bump: breaking → major, `feat` → minor, `fix`/`perf` → patch.

use serde::Serialize;

/// The version bump a change calls for, ordered `Patch < Minor < Major`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Patch,
    Minor,
    Major,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Patch => "patch",
            Level::Minor => "minor",
            Level::Major => "major",
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A commit message read as a conventional commit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    /// Lowercase type (`feat`, `fix`, ...); `None` for a non-conventional commit.
    pub kind: Option<String>,
    pub scope: Option<String>,
    /// `!` after the type/scope, or a `BREAKING CHANGE:` footer.
    pub breaking: bool,
    /// The text after `: ` (or the whole subject of a non-conventional commit).
    pub description: String,
    /// The text of the `BREAKING CHANGE:` footer, when there is one.
    pub breaking_description: Option<String>,
    /// Pull-request / issue numbers referenced as `#123` in the subject.
    pub prs: Vec<u64>,
    /// Names from `Co-authored-by: Name <email>` trailers (emails dropped).
    pub co_authors: Vec<String>,
}

impl Parsed {
    pub fn is_conventional(&self) -> bool {
        self.kind.is_some()
    }

    /// The bump this commit calls for, if any.
    pub fn level(&self) -> Option<Level> {
        let kind = self.kind.as_deref()?;
        if self.breaking {
            return Some(Level::Major);
        }
        match kind {
            "feat" => Some(Level::Minor),
            "fix" | "perf" => Some(Level::Patch),
            _ => None,
        }
    }

    /// `chore(release): ...` commits, made by release tools, are left out of notes.
    pub fn is_release_commit(&self) -> bool {
        self.kind.as_deref() == Some("chore") && self.scope.as_deref() == Some("release")
    }
}

/// Parses a commit's subject and body.
pub fn parse(subject: &str, body: &str) -> Parsed {
    let subject = subject.trim();
    let mut parsed = match parse_header(subject) {
        Some((kind, scope, bang, description)) => Parsed {
            kind: Some(kind.to_ascii_lowercase()),
            scope: scope.map(str::to_string),
            breaking: bang,
            description: description.to_string(),
            ..Parsed::default()
        },
        None => Parsed { description: subject.to_string(), ..Parsed::default() },
    };
    parsed.prs = pr_numbers(subject);
    if !body.is_empty() {
        read_trailers(body, &mut parsed);
    }
    parsed
}

/// `type(scope)!: description` → (type, scope, bang, description).
fn parse_header(subject: &str) -> Option<(&str, Option<&str>, bool, &str)> {
    let bytes = subject.as_bytes();
    let mut i = 0;
    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'-' || bytes[i] == b'_') {
        i += 1;
    }
    if i == 0 || !bytes[0].is_ascii_alphabetic() {
        return None;
    }
    let kind = &subject[..i];
    let mut scope = None;
    if bytes.get(i) == Some(&b'(') {
        let close = subject[i + 1..].find(')')? + i + 1;
        let s = subject[i + 1..close].trim();
        if s.is_empty() || s.contains('(') {
            return None;
        }
        scope = Some(s);
        i = close + 1;
    }
    let bang = bytes.get(i) == Some(&b'!');
    if bang {
        i += 1;
    }
    if bytes.get(i) != Some(&b':') {
        return None;
    }
    let description = subject[i + 1..].strip_prefix(' ').or_else(|| subject[i + 1..].strip_prefix('\t'))?;
    let description = description.trim();
    if description.is_empty() {
        return None;
    }
    Some((kind, scope, bang, description))
}

/// `#123` references: `#` at the start or after a non-word character, digits, then a word
/// boundary.
fn pr_numbers(subject: &str) -> Vec<u64> {
    let bytes = subject.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(off) = subject[i..].find('#') {
        let at = i + off;
        let before_ok =
            at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_' || bytes[at - 1] == b'&');
        let mut end = at + 1;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
        let after_ok = end == bytes.len() || !(bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_');
        if before_ok && after_ok && end > at + 1 {
            if let Ok(n) = subject[at + 1..end].parse::<u64>() {
                if !out.contains(&n) {
                    out.push(n);
                }
            }
        }
        i = end.max(at + 1);
    }
    out
}

fn read_trailers(body: &str, parsed: &mut Parsed) {
    let mut lines = body.lines().peekable();
    while let Some(line) = lines.next() {
        let breaking = line
            .strip_prefix("BREAKING CHANGE")
            .or_else(|| line.strip_prefix("BREAKING-CHANGE"))
            .and_then(|rest| rest.strip_prefix(':').or_else(|| rest.strip_prefix(" #")));
        if let Some(first) = breaking {
            // Only a conventional commit carries conventional footers.
            if parsed.kind.is_some() {
                parsed.breaking = true;
                let mut text = first.trim().to_string();
                // The footer's value continues on following lines until a blank line or the
                // next `Token: ` footer.
                while let Some(next) = lines.peek() {
                    if next.trim().is_empty() || looks_like_trailer(next) {
                        break;
                    }
                    if !text.is_empty() {
                        text.push(' ');
                    }
                    text.push_str(next.trim());
                    lines.next();
                }
                if !text.is_empty() && parsed.breaking_description.is_none() {
                    parsed.breaking_description = Some(text);
                }
            }
            continue;
        }
        if let Some((key, value)) = line.split_once(':') {
            if key.trim().eq_ignore_ascii_case("co-authored-by") {
                let name = value.split('<').next().unwrap_or("").trim();
                if !name.is_empty() && !parsed.co_authors.iter().any(|n| n == name) {
                    parsed.co_authors.push(name.to_string());
                }
            }
        }
    }
}

fn looks_like_trailer(line: &str) -> bool {
    if line.starts_with("BREAKING CHANGE") {
        return true;
    }
    match line.split_once(": ") {
        Some((key, _)) => !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        let p = parse("feat(cli): add `--json` (#12)", "");
        assert_eq!(p.kind.as_deref(), Some("feat"));
        assert_eq!(p.scope.as_deref(), Some("cli"));
        assert!(!p.breaking);
        assert_eq!(p.description, "add `--json` (#12)");
        assert_eq!(p.prs, vec![12]);
        assert_eq!(p.level(), Some(Level::Minor));

        let p = parse("fix!: drop the old flag", "");
        assert!(p.breaking);
        assert_eq!(p.level(), Some(Level::Major));
        assert_eq!(parse("perf: faster", "").level(), Some(Level::Patch));
        assert_eq!(parse("docs: typo", "").level(), None);
        assert_eq!(parse("Feat: shouting", "").kind.as_deref(), Some("feat"));
    }

    #[test]
    fn non_conventional_subjects_are_kept_whole() {
        for s in ["Update README", "feat:no space", "feat(): empty scope", ": nothing", "WIP", "1.0: numbers first"] {
            let p = parse(s, "");
            assert_eq!(p.kind, None, "{s}");
            assert_eq!(p.description, s);
            assert_eq!(p.level(), None);
        }
    }

    #[test]
    fn breaking_footer_and_coauthors() {
        let body = "Longer text.\n\nBREAKING CHANGE: the config key `a` is now `b`\nand it spans lines\nCo-authored-by: Jane Doe <jane@example.com>\nCo-authored-by: Bob <bob@example.com>\n";
        let p = parse("fix(config): rename key", body);
        assert!(p.breaking);
        assert_eq!(p.breaking_description.as_deref(), Some("the config key `a` is now `b` and it spans lines"));
        assert_eq!(p.co_authors, vec!["Jane Doe", "Bob"]);
        assert_eq!(p.level(), Some(Level::Major));
        assert!(parse("feat: x", "BREAKING-CHANGE: y").breaking);
        // A footer on a non-conventional commit does not make it breaking.
        assert!(!parse("Rework", "BREAKING CHANGE: y").breaking);
        // Lowercase is not the footer token.
        assert!(!parse("fix: x", "breaking change: y").breaking);
    }

    #[test]
    fn pr_numbers_are_word_bounded() {
        assert_eq!(pr_numbers("fix: a (#1) and #22, not a#3 or #4x or &#5"), vec![1, 22]);
        assert_eq!(pr_numbers("#7 first"), vec![7]);
    }

    #[test]
    fn release_commits_are_recognised() {
        assert!(parse("chore(release): v1.2.0", "").is_release_commit());
        assert!(!parse("chore: tidy", "").is_release_commit());
    }
}
