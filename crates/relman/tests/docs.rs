//! Versioned docs: a real mkdocs build released to a git branch of a bare `origin` (read back
//! by mike, PyPI's, and carried on from a site mike itself made) and to a `docs+dir:`
//! destination served over HTTP, where headless Chromium follows the root redirect and the
//! `latest/` alias to the right version's page. Bad input: a failing docs build publishes
//! nothing; a branch that moved meanwhile is recomputed on, never forced; a version already
//! there with other content is refused.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

fn venv_bin() -> PathBuf {
    repo_root().join(".venv/bin")
}

fn path_env() -> String {
    format!("{}:{}", venv_bin().display(), std::env::var("PATH").unwrap_or_default())
}

/// A generic project with an mkdocs site (docs/index.md, docs/guide.md) and a bare `origin`.
fn docs_project(to: &str) -> (Project, PathBuf) {
    let p = Project::generic(&[HOST]);
    let origin = p.outside("origin.git");
    git_in(&origin, &["init", "-q", "--bare"]);
    p.git(&["remote", "add", "origin", &origin.display().to_string()]);
    p.write("mkdocs.yml", "site_name: tool\nuse_directory_urls: true\n");
    p.write("docs/index.md", "# Tool docs\n\nversion page\n");
    let mut cfg = fs::read_to_string(p.path("relman.toml")).unwrap();
    cfg.push_str(&format!("\n[docs]\nbuild = \"mkdocs build -q -d {{out}}\"\nto = [\"{to}\"]\n"));
    p.write("relman.toml", &cfg);
    p.write(".gitignore", "/out\n/dist\n/site\n");
    p.commit("docs");
    (p, origin)
}

fn git_in(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git").current_dir(dir).args(args).output().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn release(p: &Project, version: &str, promote: bool, extra: &[&str]) -> Out {
    p.write("docs/index.md", &format!("# Tool docs\n\nThis is the {version} page.\n"));
    p.commit(&format!("docs: {version}"));
    p.tag(&format!("v{version}"));
    let mut args = vec!["release"];
    if promote {
        args.push("--promote");
    }
    args.extend_from_slice(extra);
    p.relman_env(&args, &[("PATH", &path_env())])
}

/// `mike list -j` in a fresh clone of `origin`.
fn mike_list(origin: &Path, work: &Path) -> serde_json::Value {
    let clone = work.join(format!("clone-{}", std::process::id()));
    let _ = fs::remove_dir_all(&clone);
    let out = Command::new("git").args(["clone", "-q"]).arg(origin).arg(&clone).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new(venv_bin().join("mike"))
        .current_dir(&clone)
        .args(["list", "-j", "-b", "gh-pages", "-r", "origin"])
        .output()
        .expect("mike (scripts/setup-test-deps installs it)");
    assert!(out.status.success(), "mike list: {}", String::from_utf8_lossy(&out.stderr));
    fs::remove_dir_all(&clone).unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

fn branch_log(origin: &Path) -> Vec<String> {
    git_in(origin, &["log", "--format=%H %s", "gh-pages"]).lines().map(str::to_string).collect()
}

fn tree_of(origin: &Path, rev: &str, path: &str) -> String {
    git_in(origin, &["rev-parse", &format!("{rev}:{path}")])
}

#[test]
fn docs_on_a_git_branch_are_read_by_mike_and_moved_by_promote_only() {
    let (p, origin) = docs_project("git:gh-pages");
    release(&p, "1.0.0", true, &[]).ok();
    let log = branch_log(&origin);
    assert_eq!(log.len(), 2, "one commit to publish, one to promote: {log:?}");
    assert!(
        log[0].ends_with("Moved latest to 1.0.0 with relman") && log[1].contains("Deployed tool 1.0.0 docs"),
        "{log:?}"
    );
    let listed = mike_list(&origin, &p.outside("w"));
    assert_eq!(listed, serde_json::json!([{"version": "1.0.0", "title": "1.0.0", "aliases": ["latest"]}]));
    let v1_tree = tree_of(&origin, "gh-pages", "1.0.0");
    assert!(git_in(&origin, &["show", "gh-pages:1.0.0/index.html"]).contains("This is the 1.0.0 page."));
    assert!(git_in(&origin, &["show", "gh-pages:latest/index.html"]).contains("url=../1.0.0/"));
    assert!(git_in(&origin, &["show", "gh-pages:index.html"]).contains("url=latest/"));

    // Re-running the same release commits nothing.
    p.relman_env(&["release", "--promote"], &[("PATH", &path_env())]).ok();
    assert_eq!(branch_log(&origin).len(), 2, "an idempotent re-run makes no commit");

    // A pre-release is published and listed, never latest.
    release(&p, "1.1.0-rc.1", false, &[]).ok();
    let listed = mike_list(&origin, &p.outside("w"));
    assert_eq!(
        listed,
        serde_json::json!([
            {"version": "1.1.0-rc.1", "title": "1.1.0-rc.1", "aliases": []},
            {"version": "1.0.0", "title": "1.0.0", "aliases": ["latest"]}
        ])
    );
    p.relman_env(&["promote", "1.1.0-rc.1"], &[("PATH", &path_env())]).fails(9, "pre-release");
    assert!(git_in(&origin, &["show", "gh-pages:latest/index.html"]).contains("url=../1.0.0/"));

    // The next stable moves latest; the earlier versions are byte for byte as they were.
    release(&p, "1.1.0", true, &[]).ok();
    let listed = mike_list(&origin, &p.outside("w"));
    let aliases: Vec<(String, serde_json::Value)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["version"].as_str().unwrap().to_string(), v["aliases"].clone()))
        .collect();
    assert!(aliases.contains(&("1.1.0".into(), serde_json::json!(["latest"]))), "{listed}");
    assert!(aliases.contains(&("1.0.0".into(), serde_json::json!([]))), "{listed}");
    assert_eq!(tree_of(&origin, "gh-pages", "1.0.0"), v1_tree, "1.0.0/ untouched");
    assert!(git_in(&origin, &["show", "gh-pages:latest/guide/index.html"]).contains("url=../../1.1.0/guide/"));
    // Never forced: every earlier commit is still an ancestor of the branch.
    let all = branch_log(&origin);
    assert_eq!(all.last(), log.last(), "history kept");
}

#[test]
fn the_same_release_makes_the_same_docs_commit() {
    let (p, origin) = docs_project("git:gh-pages");
    release(&p, "2.0.0", false, &[]).ok();
    let second = p.outside("second.git");
    git_in(&second, &["init", "-q", "--bare"]);
    let to = format!("git:gh-pages@{}", second.display());
    p.relman_env(&["publish", "--to", &to], &[("PATH", &path_env())]).ok();
    assert_eq!(
        git_in(&origin, &["rev-parse", "gh-pages"]),
        git_in(&second, &["rev-parse", "gh-pages"]),
        "same tree, parent, author, date and message: the same commit"
    );
}

#[test]
fn docs_carry_on_a_site_mike_made() {
    let (p, origin) = docs_project("git:gh-pages");
    // mike itself deploys 0.9 with the latest alias and pushes it.
    let out = Command::new(venv_bin().join("mike"))
        .current_dir(&p.dir)
        .env("PATH", path_env())
        .args(["deploy", "--push", "-b", "gh-pages", "-r", "origin", "--update-aliases", "0.9", "latest"])
        .output()
        .unwrap();
    assert!(out.status.success(), "mike deploy: {}", String::from_utf8_lossy(&out.stderr));
    let mike_09 = tree_of(&origin, "gh-pages", "0.9");
    release(&p, "1.0.0", true, &[]).ok();
    let listed = mike_list(&origin, &p.outside("w"));
    assert_eq!(
        listed,
        serde_json::json!([
            {"version": "1.0.0", "title": "1.0.0", "aliases": ["latest"]},
            {"version": "0.9", "title": "0.9", "aliases": []}
        ])
    );
    assert_eq!(tree_of(&origin, "gh-pages", "0.9"), mike_09, "mike's 0.9 untouched");
    // And mike carries on after relman: it reads and extends what relman wrote.
    let out = Command::new(venv_bin().join("mike"))
        .current_dir(&p.dir)
        .env("PATH", path_env())
        .args(["deploy", "--push", "-b", "gh-pages", "-r", "origin", "dev"])
        .output()
        .unwrap();
    assert!(out.status.success(), "mike deploy after relman: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(mike_list(&origin, &p.outside("w")).as_array().unwrap().len(), 3);
}

#[test]
fn chromium_lands_on_the_latest_version_from_the_root_and_the_alias() {
    let p = Project::generic(&[HOST]);
    let site = p.outside("site");
    let server = StaticServer::serve(&site);
    p.write("mkdocs.yml", "site_name: tool\n");
    let mut cfg = fs::read_to_string(p.path("relman.toml")).unwrap();
    cfg.push_str(&format!(
        "\n[docs]\nbuild = \"mkdocs build -q -d {{out}}\"\nto = [\"docs+dir:{}\"]\n",
        site.display()
    ));
    p.write("relman.toml", &cfg);
    p.commit("docs");
    for v in ["3.0.0", "3.1.0"] {
        release(&p, v, true, &[]).ok();
    }
    release(&p, "3.2.0-beta.1", false, &[]).ok();
    let versions: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(site.join("versions.json")).unwrap()).unwrap();
    assert_eq!(versions[0]["version"], "3.2.0-beta.1");
    assert_eq!(versions[1]["aliases"], serde_json::json!(["latest"]));
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("docs");
    fs::create_dir_all(&shots).unwrap();
    for (from, lands) in [("/", "/3.1.0/"), ("/latest/", "/3.1.0/"), ("/latest/guide/", "/3.1.0/guide/")] {
        let out = Command::new("node")
            .arg(repo_root().join("scripts/page-check.mjs"))
            .arg(format!("{}{from}", server.url))
            .arg(shots.join(from.replace('/', "_")))
            .output()
            .unwrap();
        assert!(out.status.success(), "page-check: {}", String::from_utf8_lossy(&out.stderr));
        let page: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(page["final_url"], format!("{}{lands}", server.url), "{from}");
        if lands == "/3.1.0/" {
            assert!(page["text"].as_str().unwrap().contains("This is the 3.1.0 page."), "{from}: {}", page["text"]);
        }
    }
}

#[test]
fn a_failing_docs_build_publishes_nothing() {
    let (p, origin) = docs_project("git:gh-pages");
    p.write("mkdocs.yml", "site_name: tool\ntheme: no-such-theme\n");
    p.commit("a theme that is not installed");
    p.tag("v1.0.0");
    let out = p.relman_env(&["release", "--promote"], &[("PATH", &path_env())]);
    out.fails(5, "the docs build failed");
    assert!(out.stderr.contains("nothing was published"), "{}", out.stderr);
    assert!(!p.path("dist/releases/1.0.0").exists(), "the release's files were not published either");
    assert!(git_in(&origin, &["branch", "--list", "gh-pages"]).is_empty(), "no branch pushed");
    // A destination that takes docs, for a release without any, is named.
    let q = Project::generic(&[HOST]);
    q.tag("v1.0.0");
    q.relman(&["release", "--to", "git:gh-pages"]).fails(2, "takes the docs site");
}

#[test]
fn a_branch_that_moved_meanwhile_is_recomputed_never_forced() {
    let (p, origin) = docs_project("git:gh-pages");
    // Someone else pushes to gh-pages just before relman's push (a pre-push hook in the
    // project's repository does it, once).
    let other = p.outside("other");
    git_in(&other, &["init", "-q", "-b", "gh-pages"]);
    git_in(&other, &["config", "user.email", "o@example.com"]);
    git_in(&other, &["config", "user.name", "Other"]);
    fs::write(other.join("CNAME"), "docs.example.com\n").unwrap();
    git_in(&other, &["add", "-A"]);
    git_in(&other, &["commit", "-q", "-m", "custom domain"]);
    let marker = p.outside("hook").join("ran");
    let hook = p.path(".git/hooks/pre-push");
    fs::write(
        &hook,
        format!(
            "#!/bin/sh\n[ -e '{m}' ] && exit 0\ntouch '{m}'\ngit -C '{o}' push -q '{r}' gh-pages:gh-pages >&2\n",
            m = marker.display(),
            o = other.display(),
            r = origin.display()
        ),
    )
    .unwrap();
    Command::new("chmod").arg("755").arg(&hook).status().unwrap();
    let out = release(&p, "1.0.0", true, &[]);
    out.ok();
    assert!(marker.exists(), "the hook ran");
    assert!(out.stderr.contains("moved meanwhile"), "{}", out.stderr);
    // Both are there: the other commit was kept (no force), relman's on top of it.
    assert_eq!(git_in(&origin, &["show", "gh-pages:CNAME"]), "docs.example.com");
    assert!(git_in(&origin, &["show", "gh-pages:1.0.0/index.html"]).contains("This is the 1.0.0 page."));
    let log = branch_log(&origin);
    assert!(log.last().unwrap().ends_with("custom domain"), "{log:?}");

    // Another run put different docs under 1.0.0 meanwhile: refused, nothing overwritten.
    git_in(&other, &["pull", "-q", "--ff-only", &origin.display().to_string(), "gh-pages"]);
    fs::write(other.join("1.1.0/index.html"), "").ok();
    fs::create_dir_all(other.join("1.1.0")).unwrap();
    fs::write(other.join("1.1.0/index.html"), "<p>someone else's 1.1.0</p>\n").unwrap();
    git_in(&other, &["add", "-A"]);
    git_in(&other, &["commit", "-q", "-m", "other 1.1.0"]);
    git_in(&other, &["push", "-q", &origin.display().to_string(), "gh-pages:gh-pages"]);
    let out = release(&p, "1.1.0", true, &[]);
    out.fails(8, "already has docs for 1.1.0 with other content");
    assert_eq!(git_in(&origin, &["show", "gh-pages:1.1.0/index.html"]), "<p>someone else's 1.1.0</p>");
}

/// Python's `http.server` on a free loopback port (a real static web server: MIME types,
/// directory index pages, concurrent connections, as a browser needs for a full mkdocs site).
struct StaticServer {
    url: String,
    child: std::process::Child,
}

impl StaticServer {
    fn serve(root: &Path) -> StaticServer {
        use std::io::BufRead;
        let mut child = Command::new("python3")
            .args(["-u", "-m", "http.server", "--bind", "127.0.0.1", "0"])
            .current_dir(root)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        // "Serving HTTP on 127.0.0.1 port 40123 (http://127.0.0.1:40123/) ..."
        let port = line.split(" port ").nth(1).and_then(|r| r.split_whitespace().next()).expect(&line).to_string();
        StaticServer { url: format!("http://127.0.0.1:{port}"), child }
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
