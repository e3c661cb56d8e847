//! Unified diffs of planned file changes, for `--dry-run` (`git diff` style, `a/` and `b/`
//! prefixes, three lines of context). Pure: text in, text out.

use similar::TextDiff;

/// The unified diff turning `old` into `new` for the file `path` (relative, `/`-separated);
/// empty when they are equal. A file created from nothing is shown against `/dev/null`.
pub fn unified(path: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    let from = if old.is_empty() { "/dev/null".to_string() } else { format!("a/{path}") };
    let diff = TextDiff::from_lines(old, new);
    let mut out = diff.unified_diff().context_radius(3).header(&from, &format!("b/{path}")).to_string();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_only_changed_lines_with_context() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let new = "a\nb\nc\nd\nE\nf\ng\nh\n";
        let d = unified("x.txt", old, new);
        assert!(d.starts_with("--- a/x.txt\n+++ b/x.txt\n@@ -2,7 +2,7 @@\n"), "{d}");
        assert!(d.contains("\n-e\n+E\n"));
        assert_eq!(unified("x", "same", "same"), "");
    }
}
