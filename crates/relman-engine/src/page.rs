//! The release page: `index.html` in every version directory (the notes, the downloads per
//! platform with sizes and sha256, SBOMs, provenance, signatures, images by digest, and the
//! install and verify commands), and the list of all versions at a destination's root.
//!
//! Static and dependency-free: no JavaScript, no external fonts or styles; readable on a phone
//! (the tables scroll on their own), printable, and accessible (landmarks, captions, header
//! cells, a scrollable region that takes focus, contrast above 4.5:1).

use std::fmt::Write as _;

use relman_manifest::{Artifact, ArtifactKind, Manifest};

pub const PAGE_FILE: &str = "index.html";

const STYLE: &str = r#"
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1a1a1a; background: #fff; }
header, main, footer { max-width: 64rem; margin: 0 auto; padding: 0 1rem; }
header { padding-top: 1.5rem; border-bottom: 1px solid #d0d4da; }
h1 { margin: .25rem 0 .5rem; font-size: 1.8rem; }
h2 { margin-top: 2rem; font-size: 1.35rem; }
a { color: #0b57d0; }
a:focus, .scroll:focus { outline: 3px solid #1a1a1a; outline-offset: 2px; }
.meta { color: #404040; margin: 0 0 1rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: .95rem; }
caption { text-align: left; font-weight: 600; padding: .25rem 0; }
th, td { text-align: left; vertical-align: top; padding: .4rem .5rem; border-bottom: 1px solid #d0d4da; }
thead th { background: #f1f3f5; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; background: #f1f3f5; }
code { padding: 0 .2em; overflow-wrap: anywhere; }
pre { padding: .75rem; overflow-x: auto; }
.sha256 { word-break: break-all; }
small { color: #404040; }
footer { margin-top: 3rem; padding-bottom: 2rem; color: #404040; border-top: 1px solid #d0d4da; }
@media print { a { color: #1a1a1a; } .scroll { overflow: visible; } pre { white-space: pre-wrap; } }
"#;

/// HTML-escapes text for element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Markdown to HTML, with any raw HTML in it shown as text (commit messages are not trusted).
pub fn markdown(text: &str) -> String {
    use pulldown_cmark::{Event, Options, Parser};
    let parser = Parser::new_ext(text, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH).map(|e| match e {
        Event::Html(h) | Event::InlineHtml(h) => Event::Text(h),
        e => e,
    });
    let mut out = String::new();
    pulldown_cmark::html::push_html(&mut out, parser);
    // A code block may scroll sideways: it takes focus, so keyboards can scroll it.
    out.replace("<pre>", "<pre tabindex=\"0\">")
}

fn head(title: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"relman\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(title)
    )
}

fn human(n: u64) -> String {
    crate::archive::human_size(n)
}

/// A row's links to the files about `subject` (signature, bundle, SBOMs).
fn related<'m>(m: &'m Manifest, subject: &str) -> Vec<(&'static str, &'m Artifact)> {
    let mut out = Vec::new();
    for a in m.artifacts.iter().filter(|a| a.subject.as_deref() == Some(subject)) {
        let label = match a.kind {
            ArtifactKind::Sbom if a.name.ends_with(".spdx.json") => "SPDX SBOM",
            ArtifactKind::Sbom => "CycloneDX SBOM",
            ArtifactKind::Signature => "signature",
            ArtifactKind::Bundle => "Sigstore bundle",
            _ => continue,
        };
        out.push((label, a));
    }
    out
}

fn link(a: &Artifact, text: &str) -> String {
    let mut s = format!("<a href=\"{}\"", escape(&a.name));
    if let (Some(size), Some(sha)) = (a.size, &a.sha256) {
        let _ = write!(s, " data-size=\"{size}\" data-sha256=\"{}\"", sha.as_str());
    }
    let _ = write!(s, ">{}</a>", escape(text));
    s
}

/// Who signed a release, as its page names them.
#[derive(Clone, Debug)]
pub enum PageSigner {
    /// A key: its `PUBLIC KEY` PEM and its hint (base64 of the sha256 of the key, as Sigstore
    /// bundles name it).
    Key { pem: String, hint: String },
    /// Keyless: the certificate identity and issuer the release was signed as.
    Identity { identity: String, issuer: String },
}

/// How to check a download, on every system: who signed (the key itself, with its
/// fingerprint, or the identity and issuer), the commands with the release's real location
/// (`url`, when known), and the check on Windows.
fn check_section(m: &Manifest, signer: Option<&PageSigner>, url: Option<&str>) -> String {
    let name = &m.project.name;
    let at = url.map(str::to_string).unwrap_or_else(|| "DIRECTORY-YOU-DOWNLOADED-TO".into());
    let mut h = String::from("<section aria-labelledby=\"check\">\n<h2 id=\"check\">Check what you downloaded</h2>\n");
    match signer {
        Some(PageSigner::Key { pem, hint }) => {
            let _ = write!(
                h,
                "<p>Signed with the key <code>{}</code> (the sha256 of the key, base64, as Sigstore bundles name it). Save it as <code>{}.pub</code>:</p>\n<pre tabindex=\"0\">{}</pre>\n\
                 <pre tabindex=\"0\"><code>relman verify {} --key {}.pub</code></pre>\n",
                escape(hint),
                escape(name),
                escape(pem.trim_end()),
                escape(&at),
                escape(name)
            );
        }
        Some(PageSigner::Identity { identity, issuer }) => {
            let _ = write!(
                h,
                "<p>Signed keylessly (Sigstore) as <code>{}</code>, issuer <code>{}</code>.</p>\n\
                 <pre tabindex=\"0\"><code>relman verify {} --certificate-identity '{}' --certificate-oidc-issuer '{}' --trusted-root trusted_root.json</code></pre>\n",
                escape(identity),
                escape(issuer),
                escape(&at),
                escape(identity),
                escape(issuer)
            );
        }
        None => h.push_str("<p>This release is not signed: check the sha256 of each file against <a href=\"checksums.txt\">checksums.txt</a>.</p>\n"),
    }
    let _ = write!(
        h,
        "<p>Linux and macOS: <code>sha256sum --ignore-missing -c checksums.txt</code> (macOS: <code>shasum -a 256 -c</code>). \
         Windows (PowerShell): <code>(Get-FileHash .\\FILE -Algorithm SHA256).Hash.ToLower()</code> must equal the file's line in \
         <a href=\"checksums.txt\">checksums.txt</a>; or install verified with <code>relman install --from {}</code>.</p>\n</section>\n",
        escape(&at)
    );
    h
}

/// One version's page. `notes` is the release notes (Markdown); `images` each image's
/// `REGISTRY/PATH/NAME` and index digest; `signer` who signed it; `url` where it is served.
pub fn release_page(
    m: &Manifest,
    notes: &str,
    images: &[(String, String)],
    signer: Option<&PageSigner>,
    url: Option<&str>,
) -> String {
    let name = &m.project.name;
    let mut h = head(&format!("{name} {}", m.version));
    let _ = write!(
        h,
        "<header>\n<nav aria-label=\"Releases\"><a href=\"../\">All {} releases</a></nav>\n<h1>{} {}</h1>\n\
         <p class=\"meta\">{} release · commit <code>{}</code> · {}</p>\n</header>\n<main>\n",
        escape(name),
        escape(name),
        escape(&m.version),
        escape(m.channel.as_str()),
        escape(&m.commit.chars().take(12).collect::<String>()),
        escape(&relman_manifest::time::rfc3339(m.source_date_epoch)),
    );

    let archives: Vec<&Artifact> = m.artifacts.iter().filter(|a| a.kind == ArtifactKind::Archive).collect();
    if !archives.is_empty() {
        h.push_str("<section aria-labelledby=\"downloads\">\n<h2 id=\"downloads\">Downloads</h2>\n");
        h.push_str(
            "<div class=\"scroll\" role=\"region\" aria-label=\"Downloads by platform\" tabindex=\"0\">\n<table>\n",
        );
        h.push_str("<caption>Archives by platform</caption>\n<thead><tr><th scope=\"col\">Platform</th><th scope=\"col\">File</th><th scope=\"col\">Size</th><th scope=\"col\">sha256</th><th scope=\"col\">Signatures and SBOMs</th></tr></thead>\n<tbody>\n");
        for a in &archives {
            let target = a.target.clone().unwrap_or_default();
            let (os, arch) = relman_manifest::os_arch(&target);
            let extras: Vec<String> = related(m, &a.name).iter().map(|(label, r)| link(r, label)).collect();
            let _ = writeln!(
                h,
                "<tr class=\"download\"><th scope=\"row\">{} {}<br><small>{}</small></th><td>{}</td><td>{}</td><td><code class=\"sha256\">{}</code></td><td>{}</td></tr>",
                escape(&os),
                escape(&arch),
                escape(&target),
                link(a, &a.name),
                size_cell(a),
                a.sha256.as_ref().map(|s| s.as_str().to_string()).unwrap_or_default(),
                extras.join(" · "),
            );
        }
        h.push_str("</tbody>\n</table>\n</div>\n</section>\n");
    }

    // Every other file: checksums, index, provenance, charts, the installer, and their signatures.
    let others: Vec<&Artifact> = m
        .artifacts
        .iter()
        .filter(|a| {
            matches!(
                a.kind,
                ArtifactKind::Checksums
                    | ArtifactKind::Index
                    | ArtifactKind::Provenance
                    | ArtifactKind::Chart
                    | ArtifactKind::Installer
                    | ArtifactKind::Notes
            )
        })
        .collect();
    if !others.is_empty() {
        h.push_str("<section aria-labelledby=\"files\">\n<h2 id=\"files\">Release files</h2>\n");
        h.push_str(
            "<div class=\"scroll\" role=\"region\" aria-label=\"Table of release files\" tabindex=\"0\">\n<table>\n",
        );
        h.push_str("<caption>Checksums, index, provenance, charts and the installer</caption>\n<thead><tr><th scope=\"col\">File</th><th scope=\"col\">What</th><th scope=\"col\">Size</th><th scope=\"col\">sha256</th><th scope=\"col\">Signatures</th></tr></thead>\n<tbody>\n");
        for a in others {
            let what = match a.kind {
                ArtifactKind::Checksums => "sha256 of every download",
                ArtifactKind::Index => "what installers read",
                ArtifactKind::Provenance => "SLSA provenance (DSSE)",
                ArtifactKind::Chart => "Helm chart",
                ArtifactKind::Installer => "POSIX installer",
                _ => "release notes",
            };
            let extras: Vec<String> = related(m, &a.name).iter().map(|(label, r)| link(r, label)).collect();
            let _ = writeln!(
                h,
                "<tr class=\"download\"><th scope=\"row\">{}</th><td>{what}</td><td>{}</td><td><code class=\"sha256\">{}</code></td><td>{}</td></tr>",
                link(a, &a.name),
                size_cell(a),
                a.sha256.as_ref().map(|s| s.as_str().to_string()).unwrap_or_default(),
                extras.join(" · "),
            );
        }
        // The release record: what verify reports is covered by its signature.
        let _ = writeln!(
            h,
            "<tr><th scope=\"row\"><a href=\"manifest.json\">manifest.json</a></th><td>the release record (its own digest is in no file)</td><td></td><td></td><td>{}</td></tr>",
            if signer.is_some() { "<a href=\"manifest.json.sigstore.json\">bundle</a>" } else { "" }
        );
        h.push_str("</tbody>\n</table>\n</div>\n</section>\n");
    }

    if !images.is_empty() {
        h.push_str("<section aria-labelledby=\"images\">\n<h2 id=\"images\">Container images</h2>\n<ul>\n");
        for (reference, digest) in images {
            let _ = writeln!(h, "<li><code class=\"sha256\">{}@{}</code></li>", escape(reference), escape(digest));
        }
        h.push_str("</ul>\n</section>\n");
    }

    h.push_str(&check_section(m, signer, url));
    h.push_str("<section aria-labelledby=\"notes\">\n<h2 id=\"notes\">Release notes</h2>\n");
    // The notes' own top heading repeats the version: demote every heading by one level.
    h.push_str(&demote_headings(&markdown(notes)));
    h.push_str("</section>\n</main>\n");
    let _ = write!(
        h,
        "<footer>\n<p>{} {} · made by relman from commit <code>{}</code>. Check what you downloaded: \
         <code>sha256sum --ignore-missing -c checksums.txt</code>.</p>\n</footer>\n</body>\n</html>\n",
        escape(name),
        escape(&m.version),
        escape(&m.commit)
    );
    h
}

fn size_cell(a: &Artifact) -> String {
    match a.size {
        Some(n) => format!("<span class=\"size\" data-bytes=\"{n}\">{}</span>", escape(&human(n))),
        None => String::new(),
    }
}

/// `<h1>` → `<h2>` … `<h5>` → `<h6>`, so the page keeps one `<h1>`.
fn demote_headings(html: &str) -> String {
    let mut out = html.to_string();
    for level in (1..=5).rev() {
        out = out.replace(&format!("<h{level}>"), &format!("<h{}>", level + 1));
        out = out.replace(&format!("<h{level} "), &format!("<h{} ", level + 1));
        out = out.replace(&format!("</h{level}>"), &format!("</h{}>", level + 1));
    }
    out
}

/// One version in the list of all versions.
pub struct Listed {
    pub version: String,
    pub channel: String,
    pub date: Option<String>,
    pub latest: bool,
}

/// The list of all versions at a destination's root, newest first (sorted here by semver; a
/// name that is not one goes last).
pub fn versions_page(name: &str, versions: &[Listed]) -> String {
    let mut sorted: Vec<&Listed> = versions.iter().collect();
    sorted.sort_by_key(|l| std::cmp::Reverse(semver::Version::parse(&l.version).ok()));
    let versions = sorted;
    let mut h = head(&format!("{name} releases"));
    let _ = write!(h, "<header>\n<h1>{} releases</h1>\n</header>\n<main>\n", escape(name));
    if let Some(latest) = versions.iter().find(|v| v.latest) {
        let _ = writeln!(
            h,
            "<p>Latest: <a href=\"{}/\">{} {}</a> (also at <a href=\"latest/\">latest/</a>)</p>",
            escape(&latest.version),
            escape(name),
            escape(&latest.version)
        );
    }
    h.push_str("<div class=\"scroll\" role=\"region\" aria-label=\"All versions\" tabindex=\"0\">\n<table>\n<caption>All versions, newest first</caption>\n");
    h.push_str("<thead><tr><th scope=\"col\">Version</th><th scope=\"col\">Channel</th><th scope=\"col\">Date</th></tr></thead>\n<tbody>\n");
    for v in versions {
        let _ = writeln!(
            h,
            "<tr><th scope=\"row\"><a href=\"{}/\">{}</a>{}</th><td>{}</td><td>{}</td></tr>",
            escape(&v.version),
            escape(&v.version),
            if v.latest { " <small>(latest)</small>" } else { "" },
            escape(&v.channel),
            escape(v.date.as_deref().unwrap_or("")),
        );
    }
    h.push_str("</tbody>\n</table>\n</div>\n</main>\n<footer>\n<p>Made by relman.</p>\n</footer>\n</body>\n</html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_html_in_notes_is_text() {
        let html = markdown("# 1.0\n\n- fix <script>alert(1)</script> `x`\n");
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }

    #[test]
    fn headings_are_demoted() {
        assert_eq!(demote_headings("<h1>a</h1><h2 id=\"x\">b</h2>"), "<h2>a</h2><h3 id=\"x\">b</h3>");
    }
}
