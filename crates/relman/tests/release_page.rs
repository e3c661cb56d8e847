//! The release page (`<version>/index.html`) and the list of versions (`index.html` at the
//! root of a `dir:` destination), loaded in headless Chromium from a loopback HTTP server:
//! every download link resolves with the size and sha256 the page shows, axe-core finds no
//! serious or critical violation, a phone-width viewport does not scroll sideways, the page
//! needs no JavaScript, and screenshots are kept under the target directory.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

const PASS: (&str, &str) = ("RELMAN_PASSWORD", "page-test");

fn page_check(url: &str, shots: &Path) -> serde_json::Value {
    let script = repo_root().join("scripts/page-check.mjs");
    let out = Command::new("node").arg(&script).arg(url).arg(shots).output().expect("node");
    assert!(
        out.status.success(),
        "page-check failed (run scripts/setup-test-deps for chromium and .tools/): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("page-check JSON")
}

/// Where screenshots are kept: `target/tmp/release-page/<name>`.
fn artifacts(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("release-page");
    fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[track_caller]
fn accessible(page: &serde_json::Value, what: &str) {
    let bad: Vec<&serde_json::Value> = page["axe"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious") | Some("critical")))
        .collect();
    assert!(bad.is_empty(), "{what}: axe-core violations: {bad:?}");
    assert_eq!(page["lang"], "en", "{what}");
    assert_eq!(page["scripts"], 0, "{what}: the page needs no JavaScript");
    assert_eq!(page["phone"]["scroll"], page["phone"]["client"], "{what}: a phone scrolls sideways");
    let landmarks: Vec<&str> = page["landmarks"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
    for l in ["header", "main", "footer"] {
        assert!(landmarks.contains(&l), "{what}: no <{l}>: {landmarks:?}");
    }
    assert_eq!(page["h1"].as_array().unwrap().len(), 1, "{what}: one <h1>");
}

#[test]
fn the_release_page_shows_every_download_with_its_real_size_and_sha256() {
    let p = Project::generic(&[HOST, "aarch64-apple-darwin"]);
    let served = p.outside("served");
    let server = Server::serve(&served);
    let mut cfg = fs::read_to_string(p.path("relman.toml")).unwrap();
    cfg.push_str(&format!("\n[installer]\nurl = \"{}\"\n", server.url));
    p.write("relman.toml", &cfg);
    p.relman_env(&["keygen"], &[PASS]).ok();
    // A Go project's lockfile: SBOMs per archive.
    p.write("go.sum", "github.com/google/uuid v1.6.0 h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0=\ngithub.com/google/uuid v1.6.0/go.mod h1:TIyPZe4MgqvfYYDBFedMoGGpEw/LqOeaOT+nhxU+yHo=\n");
    // A commit message with HTML in it must show as text.
    p.write("README.md", "# tool\n\nbetter\n");
    p.commit("feat: a <b>bold</b> <script>alert(1)</script> move");
    p.tag("v1.0.0");
    let to = format!("dir:{}", served.display());
    p.relman_env(&["release", "--promote", "--to", &to], &[PASS]).ok();
    let html = fs::read_to_string(served.join("1.0.0/index.html")).unwrap();
    assert!(!html.contains("<script") && html.contains("&lt;script&gt;"), "raw HTML from a commit is escaped");
    // The page is an artifact of the release: in the manifest, verified like the rest.
    p.relman(&["verify", &served.join("1.0.0").display().to_string(), "--key", "relman.pub"]).ok();

    let page = page_check(&format!("{}/1.0.0/", server.url), &artifacts("release"));
    assert_eq!(page["status"], 200);
    assert_eq!(page["title"], "tool 1.0.0");
    accessible(&page, "release page");
    let text = page["text"].as_str().unwrap();
    assert!(text.contains("a <b>bold</b> <script>alert(1)</script> move"), "the notes are on the page: {text}");
    assert!(text.contains(&format!("curl -fsSL {}/1.0.0/install.sh | sh", server.url)), "install command: {text}");
    assert!(text.contains("relman verify"), "verify command");
    // Who signed it: the key itself with its fingerprint, the commands with the real URL,
    // and the check on Windows.
    let public = fs::read_to_string(p.path("relman.pub")).unwrap();
    assert!(text.contains(public.lines().nth(1).unwrap()), "the key is on the page: {text}");
    let hint = relman_sign::PublicKey::from_file(&p.path("relman.pub")).unwrap().hint().to_string();
    assert!(text.contains(&format!("Signed with the key {hint}")), "{text}");
    assert!(text.contains(&format!("relman verify {}/1.0.0 --key tool.pub", server.url)), "{text}");
    assert!(
        text.contains("Get-FileHash") && text.contains(&format!("relman install --from {}/1.0.0", server.url)),
        "{text}"
    );

    // Every download row: the link resolves, with the bytes and sha256 the page shows, and
    // those are the published file's.
    let links = page["links"].as_array().unwrap();
    let rows = page["downloads"].as_array().unwrap();
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(served.join("1.0.0/manifest.json")).unwrap()).unwrap();
    let mut names: Vec<String> = Vec::new();
    for row in rows {
        let href = row["href"].as_str().unwrap();
        let link = links.iter().find(|l| l["href"] == href).expect("a link per row");
        assert_eq!(link["status"], 200, "{href}");
        assert_eq!(link["bytes"], row["shown_bytes"], "{href}: the size shown");
        assert_eq!(link["sha256"], row["shown_sha256"], "{href}: the sha256 shown");
        let name = row["name"].as_str().unwrap();
        let on_disk = fs::read(served.join("1.0.0").join(name)).unwrap();
        assert_eq!(row["shown_sha256"].as_str().unwrap(), sha256_hex(&on_disk), "{name}");
        names.push(name.to_string());
    }
    // Each archive, the provenance, checksums, index and installer have a row.
    for a in manifest["artifacts"].as_array().unwrap() {
        let kind = a["kind"].as_str().unwrap();
        if ["archive", "provenance", "checksums", "index", "installer"].contains(&kind) {
            assert!(names.iter().any(|n| n == a["name"].as_str().unwrap()), "no row for {}", a["name"]);
        }
    }
    // Every link into the release resolves (signatures, bundles, SBOMs, the versions list).
    for l in links.iter().filter(|l| l["href"].as_str().unwrap().starts_with(&server.url)) {
        assert_eq!(l["status"], 200, "{}", l["href"]);
    }
    // The release record and its signature are linked (and resolve, above).
    for href in ["manifest.json", "manifest.json.sigstore.json"] {
        assert!(links.iter().any(|l| l["href"] == format!("{}/1.0.0/{href}", server.url)), "a link to {href}");
    }
    for label in ["SPDX SBOM", "CycloneDX SBOM", "signature", "Sigstore bundle"] {
        assert!(links.iter().any(|l| l["text"] == label), "a `{label}` link");
    }
    for shot in ["release-desktop.png", "release-phone.png", "release-print.pdf"] {
        assert!(fs::metadata(artifacts(shot)).unwrap().len() > 1000, "{shot}");
    }
}

#[test]
fn the_versions_page_lists_every_version_newest_first_and_marks_latest() {
    let p = Project::generic(&[HOST]);
    let served = p.outside("served");
    let server = Server::serve(&served);
    let to = format!("dir:{}", served.display());
    for (v, promote) in [("1.0.0", true), ("1.1.0", true), ("1.2.0-rc.1", false)] {
        p.write("README.md", &format!("# tool {v}\n"));
        p.commit(&format!("fix: {v}"));
        p.tag(&format!("v{v}"));
        let mut args = vec!["release", "--to", &to];
        if promote {
            args.push("--promote");
        }
        p.relman(&args).ok();
    }
    let page = page_check(&format!("{}/", server.url), &artifacts("versions"));
    accessible(&page, "versions page");
    let hrefs: Vec<String> = page["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            assert_eq!(l["status"], 200, "{}", l["href"]);
            l["href"].as_str().unwrap().trim_start_matches(&server.url).to_string()
        })
        .collect();
    // "Latest: 1.1.0", latest/, then every version newest first (the pre-release included).
    assert_eq!(hrefs, ["/1.1.0/", "/latest/", "/1.2.0-rc.1/", "/1.1.0/", "/1.0.0/"]);
    let text = page["text"].as_str().unwrap();
    assert!(text.contains("1.1.0 (latest)"), "{text}");
    assert!(text.contains("prerelease") || text.contains("pre-release") || text.contains("rc"), "{text}");
    // latest/ is the 1.1.0 page, whose link back reaches the list.
    let latest = page_check(&format!("{}/latest/", server.url), &artifacts("latest"));
    assert_eq!(latest["title"], "tool 1.1.0");
    // Yank removes it from the list.
    assert!(fs::read_to_string(served.join("index.html")).unwrap().contains("href=\"1.0.0/\""));
    p.relman(&["yank", "1.0.0", "--to", &to, "--yes"]).ok();
    assert!(!served.join("1.0.0").exists());
    let html = fs::read_to_string(served.join("index.html")).unwrap();
    assert!(!html.contains("href=\"1.0.0/\"") && html.contains("href=\"1.1.0/\""), "{html}");
}

#[test]
fn release_page_can_be_turned_off() {
    let p = Project::generic(&[HOST]);
    let mut cfg = fs::read_to_string(p.path("relman.toml")).unwrap();
    cfg.push_str("\n[release]\npage = false\n");
    p.write("relman.toml", &cfg);
    p.commit("no page");
    p.tag("v1.0.0");
    p.relman(&["release", "--promote"]).ok();
    assert!(!p.path("dist/releases/1.0.0/index.html").exists());
}
