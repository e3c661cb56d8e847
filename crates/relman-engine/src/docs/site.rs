//! mike's files: `versions.json` and the redirect pages, byte for byte as mike 2 writes them.

use std::fs;
use std::path::{Path, PathBuf};

use relman_manifest::Failure;
use serde::{Deserialize, Serialize};

/// One entry of mike's `versions.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionEntry {
    pub version: String,
    pub title: String,
    pub aliases: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<serde_json::Value>,
}

impl VersionEntry {
    pub fn new(version: &str) -> VersionEntry {
        VersionEntry { version: version.into(), title: version.into(), aliases: Vec::new(), properties: None }
    }
}

/// `versions.json` as mike writes it (`json.dumps(…, indent=2)` and a newline), newest first:
/// names that do not start with a digit (mike's development versions) first, then by semver
/// (a name that is not semver sorts by its text).
pub fn versions_json(entries: &[VersionEntry]) -> String {
    let mut sorted = entries.to_vec();
    sorted.sort_by(|a, b| {
        let dev = |e: &VersionEntry| !e.version.trim_start_matches('v').starts_with(|c: char| c.is_ascii_digit());
        let parsed = |e: &VersionEntry| semver::Version::parse(e.version.trim_start_matches('v')).ok();
        dev(b).cmp(&dev(a)).then_with(|| match (parsed(a), parsed(b)) {
            (Some(x), Some(y)) => y.cmp(&x),
            _ => b.version.cmp(&a.version),
        })
    });
    serde_json::to_string_pretty(&sorted).expect("versions serialize") + "\n"
}

/// Parses `versions.json` (mike's, or ours).
pub fn parse_versions(text: &str, origin: &str) -> Result<Vec<VersionEntry>, Failure> {
    serde_json::from_str(text).map_err(|e| Failure::verify(format!("`{origin}` is not a mike versions.json: {e}")))
}

/// mike's redirect page (`templates/redirect.html`) to `href`.
pub fn redirect_page(href: &str) -> String {
    let href = crate::page::escape(href);
    format!(
        "<!DOCTYPE html>\n<html>\n<head>\n  <meta charset=\"utf-8\">\n  <title>Redirecting</title>\n  <noscript>\n    <meta http-equiv=\"refresh\" content=\"1; url={href}\" />\n  </noscript>\n  <script>\n    window.location.replace(\n      \"{href}\" + window.location.search + window.location.hash\n    );\n  </script>\n</head>\n<body>\n  Redirecting to <a href=\"{href}\">{href}</a>...\n</body>\n</html>\n"
    )
}

/// Where `latest/<page>` redirects: the same page of `version`, relative, directory-style for
/// `index.html` (mike's `use_directory_urls`).
pub fn alias_href(version: &str, page: &str) -> String {
    let depth = page.matches('/').count() + 1;
    let mut href = "../".repeat(depth);
    href.push_str(version);
    href.push('/');
    match page.strip_suffix("index.html") {
        Some(dir) if dir.is_empty() || dir.ends_with('/') => href.push_str(dir),
        _ => href.push_str(page),
    }
    href
}

/// Every file of a site, `(relative path with /, path)`, sorted. Links and names that are not
/// plain UTF-8 are refused: the site goes to places that have neither.
pub fn files(dir: &Path) -> Result<Vec<(String, PathBuf)>, Failure> {
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    out.sort();
    Ok(out)
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<(), Failure> {
    for e in fs::read_dir(dir).map_err(|e| Failure::io("read", dir, e))? {
        let e = e.map_err(|e| Failure::io("read", dir, e))?;
        let path = e.path();
        let t = e.file_type().map_err(|e| Failure::io("read", &path, e))?;
        if t.is_symlink() {
            return Err(Failure::build(format!("the docs site has a symbolic link `{}`", path.display()))
                .with_hint("docs destinations hold plain files: make the build copy it"));
        }
        if t.is_dir() {
            walk(root, &path, out)?;
        } else if t.is_file() {
            let rel = path.strip_prefix(root).expect("under root");
            let rel = rel
                .to_str()
                .ok_or_else(|| {
                    Failure::build(format!("the docs site has a file name that is not UTF-8: `{}`", path.display()))
                })?
                .replace('\\', "/");
            out.push((rel, path));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_hrefs_are_mikes() {
        assert_eq!(alias_href("1.2.0", "index.html"), "../1.2.0/");
        assert_eq!(alias_href("1.2.0", "guide/index.html"), "../../1.2.0/guide/");
        assert_eq!(alias_href("1.2.0", "404.html"), "../1.2.0/404.html");
        assert_eq!(alias_href("1.2.0", "a/b/page.html"), "../../../1.2.0/a/b/page.html");
    }

    #[test]
    fn versions_newest_first_dev_on_top() {
        let e = |v: &str| VersionEntry::new(v);
        let json = versions_json(&[e("1.2.0"), e("1.10.0"), e("main"), e("1.10.0-rc.1")]);
        let order: Vec<String> = parse_versions(&json, "x").unwrap().into_iter().map(|e| e.version).collect();
        assert_eq!(order, ["main", "1.10.0", "1.10.0-rc.1", "1.2.0"]);
        assert!(
            json.starts_with("[\n  {\n    \"version\": \"main\",\n    \"title\": \"main\",\n    \"aliases\": []\n  }")
        );
    }
}
