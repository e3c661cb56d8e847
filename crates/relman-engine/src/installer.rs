//! `install.sh`: the POSIX installer published with every release that has archives.
//!
//! The script is `templates/install.sh` with the release's name, version, where releases are
//! served and (for a signed release) the public key filled in, each as a single-quoted shell
//! word. It reads the release's `index.json` at install time, so `--version` installs any
//! release from the same place.

use relman_manifest::Failure;

use crate::planned::Planned;

const TEMPLATE: &str = include_str!("../templates/install.sh");

/// How the script finds a version's files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UrlStyle {
    /// `<url>/<version>/` and `<url>/latest/` (a `dir:` or `s3:` destination served over HTTP).
    Dir,
    /// A forge's `<url>/download/<tag>/` and `<url>/latest/download/`.
    Forge,
}

/// Where the script downloads from: `[installer] url`, else the first forge destination's
/// release downloads; `None` when neither is known (the script then asks for `--base-url`).
pub fn releases_url(configured: Option<&str>, destinations: &[String]) -> Option<(String, UrlStyle)> {
    if let Some(url) = configured {
        return Some((url.trim_end_matches('/').to_string(), UrlStyle::Dir));
    }
    destinations.iter().find_map(|d| forge_releases_url(d)).map(|u| (u, UrlStyle::Forge))
}

/// `github:OWNER/REPO` → `https://github.com/OWNER/REPO/releases`; `github:`, `gitea:` or
/// `forgejo:https://HOST/OWNER/REPO` → `https://HOST/OWNER/REPO/releases`.
fn forge_releases_url(destination: &str) -> Option<String> {
    let (scheme, rest) = destination.split_once(':')?;
    if !matches!(scheme, "github" | "gitea" | "forgejo") {
        return None;
    }
    let rest = rest.trim_end_matches('/').trim_end_matches(".git");
    if rest.starts_with("https://") || rest.starts_with("http://") {
        Some(format!("{rest}/releases"))
    } else if scheme == "github" && rest.split('/').count() == 2 {
        Some(format!("https://github.com/{rest}/releases"))
    } else {
        None
    }
}

/// Where this release's files are served from (see [`releases_url`]).
fn location(planned: &Planned) -> Option<(String, UrlStyle)> {
    let destinations: Vec<String> = planned.manifest.destinations.iter().map(|d| d.url.clone()).collect();
    releases_url(planned.settings.installer.url.as_deref(), &destinations)
}

/// Where this release's files are downloaded from (the directory holding `index.json`), when
/// that is known.
pub fn version_url(planned: &Planned) -> Option<String> {
    let m = &planned.manifest;
    let (url, style) = location(planned)?;
    let tag = m.tag.clone().unwrap_or_else(|| format!("{}{}", planned.settings.tag_prefix, m.version));
    Some(match style {
        UrlStyle::Dir => format!("{url}/{}", m.version),
        UrlStyle::Forge => format!("{url}/download/{tag}"),
    })
}

/// Where this release's `install.sh` is downloaded from, when that is known.
pub fn script_url(planned: &Planned) -> Option<String> {
    let m = &planned.manifest;
    m.artifact(crate::planned::INSTALLER_FILE)?;
    let (url, style) = location(planned)?;
    let tag = m.tag.clone().unwrap_or_else(|| format!("{}{}", planned.settings.tag_prefix, m.version));
    Some(match style {
        UrlStyle::Dir => format!("{url}/{}/install.sh", m.version),
        UrlStyle::Forge => format!("{url}/download/{tag}/install.sh"),
    })
}

/// A single-quoted shell word: `'…'`, with `'` written as `'\''`.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The script for this release.
pub fn render(planned: &Planned, public_key_pem: Option<String>) -> Result<String, Failure> {
    let m = &planned.manifest;
    let s = &planned.settings;
    let (url, style) = location(planned).unwrap_or((String::new(), UrlStyle::Dir));
    if crate::remote::has_userinfo(&url) {
        return Err(Failure::config(format!(
            "`installer.url` `{}` has credentials in it",
            relman_install::source::redact(&url)
        ))
        .with_hint("the script is public: give the URL users download from, without credentials"));
    }
    let key = public_key_pem.map(|k| k.trim_end().to_string()).unwrap_or_default();
    let plain = |v: &str| v.chars().filter(|c| !c.is_control()).collect::<String>();
    Ok(TEMPLATE
        .replace("@NAME_Q@", &shell_quote(&m.project.name))
        .replace("@VERSION_Q@", &shell_quote(&m.version))
        .replace("@TAG_PREFIX_Q@", &shell_quote(&s.tag_prefix))
        .replace("@URL_Q@", &shell_quote(&url))
        .replace("@STYLE_Q@", &shell_quote(if style == UrlStyle::Forge { "forge" } else { "dir" }))
        .replace("@PUBLIC_KEY_Q@", &shell_quote(&key))
        .replace("@KEYLESS_Q@", &shell_quote(if s.keyless { "1" } else { "" }))
        .replace("@NAME@", &plain(&m.project.name))
        .replace("@VERSION@", &plain(&m.version)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn urls_from_forges() {
        let d = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            releases_url(None, &d(&["dir:./out", "github:acme/hello"])),
            Some(("https://github.com/acme/hello/releases".into(), UrlStyle::Forge))
        );
        assert_eq!(
            releases_url(None, &d(&["forgejo:https://code.example.org/acme/hello.git"])),
            Some(("https://code.example.org/acme/hello/releases".into(), UrlStyle::Forge))
        );
        assert_eq!(
            releases_url(Some("https://dl.example.com/hello/"), &d(&["github:acme/hello"])),
            Some(("https://dl.example.com/hello".into(), UrlStyle::Dir))
        );
        assert_eq!(releases_url(None, &d(&["dir:./out", "s3://bucket/x"])), None);
    }
}
