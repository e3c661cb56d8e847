//! `checksums.txt` in `sha256sum` format: `<64 hex>  <file name>` per line.
//!
//! Inputs: the text of a checksums file, or a list of (file name, digest). Outputs: the parsed
//! list in file order, or the rendered text.
//!
//! Invariants:
//! * [`render`] sorts byte-wise by name, uses two spaces and ends every line with `\n`, so
//!   `sha256sum -c checksums.txt` passes on it and the same entries always give the same bytes.
//! * [`parse`] accepts text mode (`<hex>  <name>`) and binary mode (`<hex> *<name>`), refuses
//!   an empty file, duplicate names and names that are not plain file names (a release lists
//!   the files beside it; a path such as `../x` would make a verifier read outside the
//!   release). Errors name the line number.

use std::collections::HashMap;

use relman_manifest::Sha256;

/// File name of the checksums file in a release directory.
pub const FILE_NAME: &str = "checksums.txt";

/// Parses `sha256sum` output. The error is a fragment such as `line 3: ...`.
pub fn parse(text: &str) -> Result<Vec<(String, Sha256)>, String> {
    let mut entries: Vec<(String, Sha256)> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, raw) in text.lines().enumerate() {
        let number = i + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            continue;
        }
        let (hex, rest) =
            line.split_at_checked(64).ok_or_else(|| format!("line {number}: expected `<sha256>  <file name>`"))?;
        let digest =
            Sha256::parse(hex).ok_or_else(|| format!("line {number}: `{}` is not a sha256 hex digest", hex.trim()))?;
        let name = rest
            .strip_prefix("  ")
            .or_else(|| rest.strip_prefix(" *"))
            .ok_or_else(|| format!("line {number}: expected two spaces or ` *` after the digest"))?;
        check_file_name(name).map_err(|why| format!("line {number}: {why}"))?;
        if let Some(first) = seen.insert(name.to_string(), number) {
            return Err(format!("line {number}: duplicate entry for `{name}` (first on line {first})"));
        }
        entries.push((name.to_string(), digest));
    }
    if entries.is_empty() {
        return Err("no entries".to_string());
    }
    Ok(entries)
}

/// Renders entries sorted byte-wise by name, one `<hex>  <name>\n` line each.
pub fn render(entries: &[(String, Sha256)]) -> String {
    let mut sorted: Vec<&(String, Sha256)> = entries.iter().collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = String::with_capacity(sorted.len() * 100);
    for (name, digest) in sorted {
        out.push_str(digest.as_str());
        out.push_str("  ");
        out.push_str(name);
        out.push('\n');
    }
    out
}

/// Finds the digest listed for `name`.
pub fn lookup<'a>(entries: &'a [(String, Sha256)], name: &str) -> Option<&'a Sha256> {
    entries.iter().find(|(n, _)| n == name).map(|(_, d)| d)
}

/// A plain file name: not empty, no path separator, not `.` or `..`, no control characters.
pub(crate) fn check_file_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("empty file name".to_string());
    }
    if name == "." || name == ".." || name.contains(['/', '\\']) {
        return Err(format!("`{name}` is not a plain file name"));
    }
    if name.chars().any(char::is_control) {
        return Err(format!("`{}` contains a control character", name.escape_default()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(c: char) -> Sha256 {
        Sha256::parse(&c.to_string().repeat(64)).unwrap()
    }

    #[test]
    fn render_sorts_bytewise_with_two_spaces() {
        let text = render(&[("b.zip".into(), d('b')), ("B.zip".into(), d('c')), ("a.tar.gz".into(), d('a'))]);
        let expected = format!("{}  B.zip\n{}  a.tar.gz\n{}  b.zip\n", "c".repeat(64), "a".repeat(64), "b".repeat(64));
        assert_eq!(text, expected);
    }

    #[test]
    fn parse_round_trips_and_accepts_binary_mode_and_crlf() {
        let entries = vec![("a.tar.gz".to_string(), d('a')), ("b.zip".to_string(), d('b'))];
        assert_eq!(parse(&render(&entries)).unwrap(), entries);
        let text = format!("{} *a.tar.gz\r\n{}  b.zip\r\n", "A".repeat(64), "b".repeat(64));
        assert_eq!(parse(&text).unwrap(), entries);
    }

    #[test]
    fn parse_errors_name_the_line() {
        let good = format!("{}  a\n", "a".repeat(64));
        assert_eq!(parse(""), Err("no entries".to_string()));
        assert_eq!(parse("\n\n"), Err("no entries".to_string()));
        let short = format!("{good}abc  b\n");
        assert!(parse(&short).unwrap_err().starts_with("line 2: "), "{:?}", parse(&short));
        let not_hex = format!("{good}{}  b\n", "g".repeat(64));
        assert!(parse(&not_hex).unwrap_err().contains("line 2: `gggg"));
        let one_space = format!("{good}{} b\n", "b".repeat(64));
        assert!(parse(&one_space).unwrap_err().starts_with("line 2: expected two spaces"));
        let dup = format!("{good}{}  a\n", "b".repeat(64));
        assert_eq!(parse(&dup).unwrap_err(), "line 2: duplicate entry for `a` (first on line 1)");
        let path = format!("{good}{}  ../etc/passwd\n", "b".repeat(64));
        assert_eq!(parse(&path).unwrap_err(), "line 2: `../etc/passwd` is not a plain file name");
        let empty_name = format!("{}  \n", "b".repeat(64));
        assert_eq!(parse(&empty_name).unwrap_err(), "line 1: empty file name");
    }

    #[test]
    fn sha256sum_accepts_rendered_file() {
        // The real tool is the judge of the format, when it is installed.
        let Ok(status) = std::process::Command::new("sha256sum").arg("--version").output() else {
            return;
        };
        if !status.status.success() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let mut entries = Vec::new();
        for (name, body) in [("z-app.tar.gz", &b"zz"[..]), ("a b.zip", b"spaces in name"), ("m.txt", b"")] {
            std::fs::write(dir.path().join(name), body).unwrap();
            entries.push((name.to_string(), crate::hash::sha256_bytes(body)));
        }
        std::fs::write(dir.path().join(FILE_NAME), render(&entries)).unwrap();
        let out = std::process::Command::new("sha256sum")
            .args(["--strict", "-c", FILE_NAME])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    }
}
