//! Forge release pages against the forge double (`scripts/forge-double`: GitHub's REST API and
//! Gitea/Forgejo's on loopback, as their published API descriptions say), read back by
//! clients we did not write (PyGithub).

mod common;

use std::fs;
use std::process::Command;

use common::forge_double::*;
use common::*;

const T1: &str = "x86_64-unknown-linux-gnu";

fn signed_project() -> Project {
    let p = Project::generic(&[T1]);
    p.relman_env(&["keygen"], &[("RELMAN_PASSWORD", "pw")]).ok();
    p.commit("key");
    p
}

/// The files of dist/<v>/ a release page must hold, with their sha256 (the manifest under
/// its published name).
fn dist_files(p: &Project, v: &str) -> Vec<(String, String)> {
    let m: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(p.path(&format!("dist/{v}/manifest.json"))).unwrap()).unwrap();
    let mut out: Vec<(String, String)> = m["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["name"].as_str().unwrap().to_string(), a["sha256"].as_str().unwrap().to_string()))
        .collect();
    let view = fs::read(p.path(&format!("dist/{v}/release-manifest.json"))).unwrap();
    out.push(("manifest.json".into(), sha256_hex(&view)));
    out
}

#[test]
fn github_draft_then_promote_rerun_and_read_back_by_pygithub() {
    let d = Double::start(&["--repo", "github:acme/tool", "--max-per-page", "2"]);
    // Three earlier releases: the draft is found by listing, over several pages.
    for v in ["0.1.0", "0.2.0", "0.3.0"] {
        let body = format!(r#"{{"tag_name":"v{v}","name":"v{v}","body":"old","draft":false}}"#);
        d.call("POST", "/api/v3/repos/acme/tool/releases", Some(&body));
    }
    let p = signed_project();
    p.tag("v1.0.0");
    let to = format!("github:{}/acme/tool", d.base);
    let env = [("RELMAN_PASSWORD", "pw"), ("GITHUB_TOKEN", RW)];
    let out = p.relman_env(&["release", "--to", &to], &env);
    out.ok();
    assert!(!out.stderr.contains(RW) && !out.stdout.contains(RW), "the token was shown");
    assert!(out.stderr.contains("creating the draft release v1.0.0"), "{}", out.stderr);

    // A draft holding every file, each with the digest packaging recorded, notes as its body.
    let rels = d.releases("github", "acme/tool");
    let draft = rels.iter().find(|r| r["tag_name"] == "v1.0.0").expect("a release for v1.0.0");
    assert_eq!(draft["draft"], true);
    assert_eq!(draft["body"].as_str().unwrap(), fs::read_to_string(p.path("dist/1.0.0/release-notes.md")).unwrap());
    let assets = draft["assets"].as_array().unwrap();
    for (name, sha) in dist_files(&p, "1.0.0") {
        let a =
            assets.iter().find(|a| a["name"] == name.as_str()).unwrap_or_else(|| panic!("{name} is not in the draft"));
        assert_eq!(a["sha256"].as_str().unwrap(), sha, "{name}");
    }
    assert!(assets.iter().any(|a| a["name"] == "manifest.json.sigstore.json"));

    // Publishing again uploads nothing, in at most 2 requests per asset.
    d.call("POST", "/_double/log/reset", None);
    let again = p.relman_env(&["publish", "--to", &to], &env);
    again.ok();
    assert!(again.stderr.contains("already published, nothing to do"), "{}", again.stderr);
    let log = d.log();
    assert!(log.iter().all(|r| r["method"] == "GET"), "a re-run wrote: {log:?}");
    assert!(log.len() <= 2 * assets.len(), "{} requests for {} assets", log.len(), assets.len());

    // Promote publishes the draft, marked latest (the newest stable).
    let promoted = p.relman_env(&["promote", "1.0.0", "--to", &to], &env);
    promoted.ok();
    assert!(promoted.stdout.contains(&format!("{to}: release v1.0.0, latest → 1.0.0")), "{}", promoted.stdout);
    let rels = d.releases("github", "acme/tool");
    let published = rels.iter().find(|r| r["tag_name"] == "v1.0.0").unwrap();
    assert_eq!(published["draft"], false);
    let latest = d.call("GET", "/api/v3/repos/acme/tool/releases/latest", None);
    assert!(latest.contains("\"tag_name\": \"v1.0.0\"") || latest.contains("\"tag_name\":\"v1.0.0\""), "{latest}");
    // Promote and publish again: nothing to do.
    p.relman_env(&["promote", "1.0.0", "--to", &to], &env).ok();
    p.relman_env(&["publish", "--to", &to], &env).ok();

    // PyGithub (a client we did not write) lists the release and downloads every asset intact.
    let script = format!(
        "import github, hashlib, json, requests\n\
         g = github.Github(base_url='{}/api/v3', auth=github.Auth.Token('{RW}'))\n\
         r = g.get_repo('acme/tool').get_release('v1.0.0')\n\
         out = {{}}\n\
         for a in r.get_assets():\n\
         \x20   b = requests.get(a.browser_download_url).content\n\
         \x20   out[a.name] = hashlib.sha256(b).hexdigest()\n\
         print(json.dumps(out))",
        d.base
    );
    let py = Command::new(repo_root().join(".venv/bin/python")).arg("-c").arg(script).output().unwrap();
    assert!(py.status.success(), "PyGithub: {}", String::from_utf8_lossy(&py.stderr));
    let read: serde_json::Value = serde_json::from_slice(&py.stdout).unwrap();
    for (name, sha) in dist_files(&p, "1.0.0") {
        assert_eq!(read[&name].as_str(), Some(sha.as_str()), "{name} as PyGithub read it");
    }

    // verify and install straight from the page.
    let reports = p.outside("reports");
    let v = p.relman_env(
        &["verify", &format!("{to}@v1.0.0"), "--key", "relman.pub", "--report-dir", reports.to_str().unwrap()],
        &env,
    );
    v.ok();
    assert!(v.stdout.contains(&format!("verified {to}@v1.0.0 1.0.0")), "{}", v.stdout);
    let report = fs::read_to_string(reports.join("remote-verify.json")).unwrap();
    assert!(report.contains(&format!("{to}@v1.0.0")) && !report.contains(".relman-tmp"), "{report}");
    let prefix = p.outside("prefix");
    p.relman_env(
        &["install", "--from", &to, "--prefix", prefix.to_str().unwrap(), "--target", T1, "--key", "relman.pub"],
        &env,
    )
    .ok();
    assert!(fs::read_to_string(prefix.join("bin/tool")).unwrap().contains("tool 1.0.0"));
    // The receipt names the page it came from, not the download's scratch directory.
    let receipt = fs::read_to_string(prefix.join(".relman/receipts/tool.json")).unwrap();
    assert!(receipt.contains(&format!("\"{to}@v1.0.0\"")), "{receipt}");

    // The summary compares the page's assets with the release.
    let sum = p.relman_env(&["summary", "1.0.0", "--to", &to], &env);
    sum.ok();
    assert!(sum.stdout.contains(&format!("ok        tool-1.0.0-{T1}.tar.gz")), "{}", sum.stdout);

    // Tampered on the page (an archive swapped for other bytes): verify fails, the summary too.
    let rels = d.releases("github", "acme/tool");
    let r = rels.iter().find(|r| r["tag_name"] == "v1.0.0").unwrap();
    let archive = format!("tool-1.0.0-{T1}.tar.gz");
    let a = r["assets"].as_array().unwrap().iter().find(|a| a["name"] == archive.as_str()).unwrap();
    d.call("DELETE", &format!("/api/v3/repos/acme/tool/releases/assets/{}", a["id"]), None);
    let up = Command::new("curl")
        .args([
            "-s",
            "-f",
            "-X",
            "POST",
            "-H",
            &format!("Authorization: Bearer {RW}"),
            "-H",
            "Content-Type: application/gzip",
        ])
        .args(["--data-binary", "swapped"])
        .arg(format!("{}/api/uploads/repos/acme/tool/releases/{}/assets?name={archive}", d.base, r["id"]))
        .output()
        .unwrap();
    assert!(up.status.success(), "{}", String::from_utf8_lossy(&up.stderr));
    let bad = p.relman_env(
        &["verify", &format!("{to}@v1.0.0"), "--key", "relman.pub", "--report-dir", reports.to_str().unwrap()],
        &env,
    );
    assert_eq!(bad.code, 7, "{}\n{}", bad.stdout, bad.stderr);
    p.relman_env(&["summary", "1.0.0", "--to", &to], &env).fails(7, "");

    // The token is in no file relman wrote: the project (dist/, the manifest, the summary),
    // the verify reports, the install prefix.
    for root in [p.dir.clone(), reports.clone(), prefix.clone()] {
        for file in files_under(&root) {
            let bytes = fs::read(&file).unwrap_or_default();
            assert!(!String::from_utf8_lossy(&bytes).contains(RW), "the token is in {}", file.display());
        }
    }
}

#[test]
fn github_refusals_write_nothing() {
    let d = Double::start(&["--repo", "github:acme/tool"]);
    let p = signed_project();
    p.tag("v1.0.0");
    let to = format!("github:{}/acme/tool", d.base);
    p.relman_env(&["build"], &[]).ok();
    p.relman_env(&["package"], &[("RELMAN_PASSWORD", "pw")]).ok();
    let files = p.outside("files");
    let to_dir = format!("dir:{}", files.display());

    // No token; a read-only token; a repository that does not exist: nothing created, and the
    // dir: listed first receives nothing either.
    p.relman_env(&["publish", "--to", &to_dir, "--to", &to], &[("RELMAN_PASSWORD", "pw")]).fails(2, "set GITHUB_TOKEN");
    let ro =
        p.relman_env(&["publish", "--to", &to_dir, "--to", &to], &[("RELMAN_PASSWORD", "pw"), ("GITHUB_TOKEN", RO)]);
    ro.fails(8, "cannot write");
    assert!(!ro.stderr.contains(RO));
    let missing = format!("github:{}/acme/nosuch", d.base);
    p.relman_env(&["publish", "--to", &missing], &[("RELMAN_PASSWORD", "pw"), ("GITHUB_TOKEN", RW)])
        .fails(8, "does not exist");
    assert!(d.releases("github", "acme/tool").is_empty());
    assert!(!files.join("1.0.0").exists(), "the dir: was written before the forge was checked");

    // A published release of the version that holds other files: refused at preflight.
    d.call("POST", "/api/v3/repos/acme/tool/releases", Some(r#"{"tag_name":"v1.0.0","name":"v1.0.0","draft":false}"#));
    p.relman_env(&["publish", "--to", &to_dir, "--to", &to], &[("RELMAN_PASSWORD", "pw"), ("GITHUB_TOKEN", RW)])
        .fails(8, "is already published");
    assert!(!files.join("1.0.0").exists());

    // A tag that is not on the forge: refused, with the push as the hint.
    d.call("DELETE", "/api/v3/repos/acme/tool/git/refs/tags/v1.0.0", None);
    let out = p.relman_env(&["publish", "--to", &to], &[("RELMAN_PASSWORD", "pw"), ("GITHUB_TOKEN", RW)]);
    out.fails(8, "the tag v1.0.0 is not on");
    assert!(out.stderr.contains("git push origin v1.0.0"), "{}", out.stderr);
}

#[test]
fn github_draft_with_a_different_asset_is_refused_unless_replace() {
    let d = Double::start(&["--repo", "github:acme/tool"]);
    let p = signed_project();
    p.tag("v1.0.0");
    let to = format!("github:{}/acme/tool", d.base);
    let env = [("RELMAN_PASSWORD", "pw"), ("GITHUB_TOKEN", RW)];
    p.relman_env(&["release", "--to", &to], &env).ok();
    // Someone replaced checksums.txt in the draft by hand.
    let rels = d.releases("github", "acme/tool");
    let r = &rels[0];
    let asset = r["assets"].as_array().unwrap().iter().find(|a| a["name"] == "checksums.txt").unwrap().clone();
    d.call("DELETE", &format!("/api/v3/repos/acme/tool/releases/assets/{}", asset["id"]), None);
    let up = Command::new("curl")
        .args(["-s", "-X", "POST", "-H", &format!("Authorization: Bearer {RW}"), "-H", "Content-Type: text/plain"])
        .args(["--data-binary", "not the checksums\n"])
        .arg(format!("{}/api/uploads/repos/acme/tool/releases/{}/assets?name=checksums.txt", d.base, r["id"]))
        .output()
        .unwrap();
    assert!(up.status.success());
    let out = p.relman_env(&["publish", "--to", &to], &env);
    out.fails(8, "already holds a different `checksums.txt`");
    assert!(out.stderr.contains("--replace"), "{}", out.stderr);
    p.relman_env(&["publish", "--to", &to, "--replace"], &env).ok();
    let rels = d.releases("github", "acme/tool");
    let sums: Vec<&serde_json::Value> =
        rels[0]["assets"].as_array().unwrap().iter().filter(|a| a["name"] == "checksums.txt").collect();
    assert_eq!(sums.len(), 1);
    assert_eq!(sums[0]["sha256"].as_str().unwrap(), sha256_hex(&fs::read(p.path("dist/1.0.0/checksums.txt")).unwrap()));
}

/// Faults on the way: rate limits (403 with x-ratelimit-remaining: 0, 429 with retry-after) are
/// waited out; a 502 that leaves a broken asset is repaired by the re-run.
#[test]
fn github_rate_limits_and_a_broken_upload_converge() {
    let d = Double::start(&["--repo", "github:acme/tool"]);
    let p = signed_project();
    p.tag("v1.0.0");
    let to = format!("github:{}/acme/tool", d.base);
    let env = [("RELMAN_PASSWORD", "pw"), ("GITHUB_TOKEN", RW)];
    d.fault("ratelimit-403", 1, "/releases");
    d.fault("ratelimit-429", 1, "/assets");
    d.fault("upload-502", 1, "/api/uploads/");
    let first = p.relman_env(&["release", "--to", &to], &env);
    if first.code != 0 {
        assert_eq!(first.code, 8, "{}", first.stderr);
        p.relman_env(&["publish", "--to", &to], &env).ok();
    }
    let statuses: Vec<u64> = d.log().iter().filter_map(|r| r["status"].as_u64()).collect();
    for code in [403, 429, 502] {
        assert!(statuses.contains(&code), "the double never answered {code}: {statuses:?}");
    }
    let rels = d.releases("github", "acme/tool");
    assert_eq!(rels.len(), 1, "one draft, however many attempts");
    let assets = rels[0]["assets"].as_array().unwrap();
    for (name, sha) in dist_files(&p, "1.0.0") {
        let same: Vec<_> = assets.iter().filter(|a| a["name"] == name.as_str()).collect();
        assert_eq!(same.len(), 1, "{name}: {same:?}");
        assert_eq!(same[0]["state"], "uploaded", "{name}");
        assert_eq!(same[0]["sha256"].as_str().unwrap(), sha, "{name}");
    }
    p.relman_env(&["promote", "1.0.0", "--to", &to], &env).ok();
}

/// A forge whose uploads keep failing (40 answers of 502, each leaving a partial asset): a
/// network failure (exit 11) that says so — never the `422 already_exists` the half-finished
/// attempts leave — and re-runs converge once the forge answers again.
#[test]
fn uploads_that_keep_failing_are_a_network_failure_and_reruns_converge() {
    let d = Double::start(&["--repo", "github:acme/tool"]);
    let p = signed_project();
    p.tag("v1.0.0");
    let to = format!("github:{}/acme/tool", d.base);
    let env = [("RELMAN_PASSWORD", "pw"), ("GITHUB_TOKEN", RW)];
    d.fault("upload-502", 40, "/api/uploads/");
    let first = p.relman_env(&["release", "--to", &to], &env);
    assert_eq!(first.code, 11, "{}", first.stderr);
    assert!(
        first.stderr.contains("kept failing:") && first.stderr.contains("cut short or answered HTTP 5xx"),
        "{}",
        first.stderr
    );
    assert!(!first.stderr.contains("already_exists") && !first.stderr.contains("422"), "{}", first.stderr);
    let mut runs = 0;
    loop {
        let again = p.relman_env(&["publish", "--to", &to], &env);
        if again.code == 0 {
            break;
        }
        assert_eq!(again.code, 11, "{}", again.stderr);
        runs += 1;
        assert!(runs < 30, "never converged");
    }
    let assets = d.releases("github", "acme/tool")[0]["assets"].as_array().unwrap().clone();
    for (name, sha) in dist_files(&p, "1.0.0") {
        let same: Vec<_> = assets.iter().filter(|a| a["name"] == name.as_str()).collect();
        assert_eq!(same.len(), 1, "{name}");
        assert_eq!(same[0]["sha256"].as_str().unwrap(), sha, "{name}");
    }
}

/// An immutable release (GitHub, since late 2025): published, it is never changed, and yank
/// refuses it with the gate code.
#[test]
fn github_immutable_release_is_never_changed_or_yanked() {
    let d = Double::start(&["--repo", "github:acme/tool", "--immutable", "github:acme/tool"]);
    let p = signed_project();
    p.tag("v1.0.0");
    let to = format!("github:{}/acme/tool", d.base);
    let env = [("RELMAN_PASSWORD", "pw"), ("GITHUB_TOKEN", RW)];
    p.relman_env(&["release", "--promote", "--to", &to], &env).ok();
    let rels = d.releases("github", "acme/tool");
    assert_eq!(rels[0]["immutable"], true);
    // Complete, so a re-run is a no-op rather than a late upload.
    p.relman_env(&["publish", "--to", &to], &env).ok();
    let y = p.relman_env(&["yank", "1.0.0", "--to", &to, "--yes", "--force"], &env);
    y.fails(9, "is immutable");
    assert_eq!(d.releases("github", "acme/tool").len(), 1);
}

/// Gitea and Forgejo: the same flow on their API; a second asset of a name (which they accept
/// silently) never stays behind.
#[test]
fn forgejo_draft_promote_and_yank() {
    let d = Double::start(&["--repo", "gitea:acme/tool", "--max-per-page", "2"]);
    let p = signed_project();
    p.tag("v1.0.0");
    let to = format!("forgejo:{}/acme/tool", d.base);
    let env = [("RELMAN_PASSWORD", "pw"), ("FORGEJO_TOKEN", RW)];
    d.fault("upload-502", 1, "/assets");
    let first = p.relman_env(&["release", "--to", &to], &env);
    if first.code != 0 {
        p.relman_env(&["publish", "--to", &to], &env).ok();
    }
    assert!(d.log().iter().any(|r| r["status"] == 502), "the upload fault never fired");
    let rels = d.releases("gitea", "acme/tool");
    assert_eq!(rels.len(), 1);
    assert_eq!(rels[0]["draft"], true);
    let assets = rels[0]["assets"].as_array().unwrap();
    for (name, sha) in dist_files(&p, "1.0.0") {
        let same: Vec<_> = assets.iter().filter(|a| a["name"] == name.as_str()).collect();
        assert_eq!(same.len(), 1, "{name}: {same:?}");
        assert_eq!(same[0]["sha256"].as_str().unwrap(), sha, "{name}");
    }
    p.relman_env(&["promote", "1.0.0", "--to", &to], &env).ok();
    assert_eq!(d.releases("gitea", "acme/tool")[0]["draft"], false);

    // giteapy (generated from Gitea's swagger, a client we did not write) lists the release and
    // downloads every asset intact.
    let script = format!(
        "import giteapy, hashlib, json\n\
         conf = giteapy.Configuration()\n\
         conf.host = '{base}/api/v1'\n\
         conf.api_key['access_token'] = '{RW}'\n\
         client = giteapy.ApiClient(conf)\n\
         api = giteapy.RepositoryApi(client)\n\
         rel = [r for r in api.repo_list_releases('acme', 'tool') if r.tag_name == 'v1.0.0'][0]\n\
         out = {{}}\n\
         for at in api.repo_list_release_attachments('acme', 'tool', rel.id):\n\
         \x20   b = client.rest_client.GET('{base}/attachments/' + at.uuid, _preload_content=False).data\n\
         \x20   out[at.name] = hashlib.sha256(b).hexdigest()\n\
         print(json.dumps(out))",
        base = d.base
    );
    let py = Command::new(repo_root().join(".venv/bin/python")).arg("-c").arg(script).output().unwrap();
    assert!(py.status.success(), "giteapy: {}", String::from_utf8_lossy(&py.stderr));
    let read: serde_json::Value = serde_json::from_slice(&py.stdout).unwrap();
    for (name, sha) in dist_files(&p, "1.0.0") {
        assert_eq!(read[&name].as_str(), Some(sha.as_str()), "{name} as giteapy read it");
    }
    p.relman_env(&["yank", "1.0.0", "--to", &to, "--yes"], &env).fails(9, "latest");
    let dry = p.relman_env(&["yank", "1.0.0", "--to", &to, "--dry-run", "--force", "--tag"], &env);
    dry.ok();
    assert!(dry.stdout.contains("tag v1.0.0"), "{}", dry.stdout);
    p.relman_env(&["yank", "1.0.0", "--to", &to, "--yes", "--force", "--tag"], &env).ok();
    assert!(d.releases("gitea", "acme/tool").is_empty());
    let tag = d.call("GET", "/api/v1/repos/acme/tool/tags/v1.0.0", None);
    assert!(tag.contains("Not Found"), "the tag is still there: {tag}");
}

/// The double itself answers as GitHub's OpenAPI description and Gitea's swagger say (the
/// excerpts in tests/fixtures/forge), and PyGithub and giteapy read it back.
#[test]
fn the_forge_double_follows_the_published_api_descriptions() {
    let out = Command::new(repo_root().join("scripts/forge-double-selftest")).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains(", 0 failed"), "{text}");
}

/// GitLab, which has no drafts: publish fills the generic package, promote creates the release
/// with a link per file (so the page appears complete); python-gitlab reads it back.
#[test]
fn gitlab_package_at_publish_release_at_promote() {
    let d = Double::start(&["--repo", "gitlab:acme/tool", "--max-per-page", "2"]);
    let p = signed_project();
    p.tag("v1.0.0");
    let to = format!("gitlab:{}/acme/tool", d.base);
    let env = [("RELMAN_PASSWORD", "pw"), ("GITLAB_TOKEN", RW)];
    d.fault("upload-502", 1, "/packages/generic/");
    let first = p.relman_env(&["release", "--to", &to], &env);
    if first.code != 0 {
        p.relman_env(&["publish", "--to", &to], &env).ok();
    }
    assert!(d.log().iter().any(|r| r["status"] == 502), "the upload fault never fired");
    assert!(d.releases("gitlab", "acme/tool").is_empty(), "publish made no release page");
    let state = d.state();
    let repo = state["repos"].as_array().unwrap().iter().find(|r| r["flavor"] == "gitlab").unwrap().clone();
    let files = repo["packages"][0]["files"].as_array().unwrap().clone();
    for (name, sha) in dist_files(&p, "1.0.0") {
        let same: Vec<_> = files.iter().filter(|f| f["file_name"] == name.as_str()).collect();
        assert_eq!(same.len(), 1, "{name}: {same:?}");
        assert_eq!(same[0]["sha256"].as_str().unwrap(), sha, "{name}");
    }
    // Again: nothing uploaded.
    d.call("POST", "/_double/log/reset", None);
    p.relman_env(&["publish", "--to", &to], &env).ok();
    assert!(d.log().iter().all(|r| r["method"] == "GET"), "{:?}", d.log());

    let promoted = p.relman_env(&["promote", "1.0.0", "--to", &to], &env);
    promoted.ok();
    let rels = d.releases("gitlab", "acme/tool");
    assert_eq!(rels.len(), 1);
    assert_eq!(
        rels[0]["description"].as_str().unwrap(),
        fs::read_to_string(p.path("dist/1.0.0/release-notes.md")).unwrap()
    );
    p.relman_env(&["promote", "1.0.0", "--to", &to], &env).ok();

    // python-gitlab lists the release's links and downloads every file intact.
    let script = format!(
        "import gitlab, hashlib, json\n\
         gl = gitlab.Gitlab(url='{}', private_token='{RW}')\n\
         pr = gl.projects.get('acme/tool')\n\
         rel = pr.releases.get('v1.0.0')\n\
         out = {{}}\n\
         for l in rel.links.list(get_all=True):\n\
         \x20   b = pr.generic_packages.download(package_name='tool', package_version='1.0.0', file_name=l.name)\n\
         \x20   out[l.name] = hashlib.sha256(b).hexdigest()\n\
         print(json.dumps(out))",
        d.base
    );
    let py = Command::new(repo_root().join(".venv/bin/python")).arg("-c").arg(script).output().unwrap();
    assert!(py.status.success(), "python-gitlab: {}", String::from_utf8_lossy(&py.stderr));
    let read: serde_json::Value = serde_json::from_slice(&py.stdout).unwrap();
    for (name, sha) in dist_files(&p, "1.0.0") {
        assert_eq!(read[&name].as_str(), Some(sha.as_str()), "{name} as python-gitlab read it");
    }

    // verify and summary from GitLab; yank takes the release and the package.
    let reports = p.outside("reports");
    p.relman_env(
        &["verify", &format!("{to}@v1.0.0"), "--key", "relman.pub", "--report-dir", reports.to_str().unwrap()],
        &env,
    )
    .ok();
    p.relman_env(&["summary", "1.0.0", "--to", &to], &env).ok();
    p.relman_env(&["yank", "1.0.0", "--to", &to, "--yes"], &env).fails(9, "latest");
    p.relman_env(&["yank", "1.0.0", "--to", &to, "--yes", "--force"], &env).ok();
    assert!(d.releases("gitlab", "acme/tool").is_empty());
    let state = d.state();
    let repo = state["repos"].as_array().unwrap().iter().find(|r| r["flavor"] == "gitlab").unwrap().clone();
    assert!(repo["packages"].as_array().unwrap().is_empty(), "{repo}");
}

/// `release.required_checks`: the page is published only once each named commit status or
/// check run succeeded on the tag's commit (a downstream smoke test reporting back).
#[test]
fn github_required_checks_gate_the_page() {
    let d = Double::start(&["--repo", "github:acme/tool"]);
    let p = signed_project();
    let toml = fs::read_to_string(p.path("relman.toml")).unwrap();
    p.write("relman.toml", &format!("{toml}\n[release]\nrequired_checks = [\"smoke-test\", \"e2e\"]\n"));
    p.commit("checks");
    p.tag("v1.0.0");
    let to = format!("github:{}/acme/tool", d.base);
    let env = [("RELMAN_PASSWORD", "pw"), ("GITHUB_TOKEN", RW)];
    p.relman_env(&["release", "--to", &to], &env).ok();
    let r: serde_json::Value =
        serde_json::from_str(&d.call("GET", "/api/v3/repos/acme/tool/git/ref/tags/v1.0.0", None)).unwrap();
    let sha = r["object"]["sha"].as_str().unwrap().to_string();
    let status = |state: &str| {
        d.call(
            "POST",
            &format!("/api/v3/repos/acme/tool/statuses/{sha}"),
            Some(&format!(r#"{{"state":"{state}","context":"smoke-test"}}"#)),
        );
    };
    p.relman_env(&["promote", "1.0.0", "--to", &to], &env)
        .fails(9, "check `smoke-test` has not reported on v1.0.0's commit");
    status("pending");
    p.relman_env(&["promote", "1.0.0", "--to", &to], &env).fails(9, "check `smoke-test` is pending");
    status("failure");
    p.relman_env(&["promote", "1.0.0", "--to", &to], &env).fails(9, "check `smoke-test` ended `failure`");
    status("success");
    // A check run (the Checks API) for the other one, still in progress, then done.
    d.call(
        "POST",
        "/api/v3/repos/acme/tool/check-runs",
        Some(&format!(r#"{{"name":"e2e","head_sha":"{sha}","status":"in_progress"}}"#)),
    );
    p.relman_env(&["promote", "1.0.0", "--to", &to], &env).fails(9, "check `e2e` is in_progress");
    d.call(
        "POST",
        "/api/v3/repos/acme/tool/check-runs",
        Some(&format!(r#"{{"name":"e2e","head_sha":"{sha}","status":"completed","conclusion":"success"}}"#)),
    );
    assert_eq!(d.releases("github", "acme/tool")[0]["draft"], true, "a failed gate published nothing");
    p.relman_env(&["promote", "1.0.0", "--to", &to], &env).ok();
    assert_eq!(d.releases("github", "acme/tool")[0]["draft"], false);
}

/// Crash suite at a forge: SIGKILL `release --promote` right after the first asset is
/// uploaded. The draft stays a draft (nothing half-published); the re-run completes it, with
/// one asset per name, and publishes it.
#[test]
fn github_crash_after_the_first_upload_converges() {
    let d = Double::start(&["--repo", "github:acme/tool"]);
    let p = signed_project();
    p.tag("v1.0.0");
    let to = format!("github:{}/acme/tool", d.base);
    let env = [("RELMAN_PASSWORD", "pw"), ("GITHUB_TOKEN", RW)];
    kill_at_with(&p.dir, &["release", "--promote", "--to", &to], "forge-uploaded-one", &env);
    let rels = d.releases("github", "acme/tool");
    assert_eq!(rels.len(), 1);
    assert_eq!(rels[0]["draft"], true, "a killed publish left a published page");
    // (The other upload threads may finish some files before the kill lands.)
    p.relman_env(&["release", "--promote", "--to", &to], &env).ok();
    let rels = d.releases("github", "acme/tool");
    assert_eq!(rels.len(), 1, "the re-run made a second release");
    assert_eq!(rels[0]["draft"], false);
    let assets = rels[0]["assets"].as_array().unwrap();
    for (name, sha) in dist_files(&p, "1.0.0") {
        let same: Vec<_> = assets.iter().filter(|a| a["name"] == name.as_str()).collect();
        assert_eq!(same.len(), 1, "{name}");
        assert_eq!(same[0]["sha256"].as_str().unwrap(), sha, "{name}");
    }
}

/// Fault suite at a forge: the seeded fault proxy (503s, dropped connections, stalls, answers
/// cut short, which the double did act on) in front of the double. Publish and promote succeed
/// through retries or fail cleanly; the re-run converges on one complete, published release.
#[test]
fn github_fault_suite_publish_and_promote_converge() {
    use relman_oci::testing::{FaultPlan, FaultProxy};
    let d = Double::start(&["--repo", "github:acme/s1", "--repo", "github:acme/s2", "--repo", "github:acme/s3"]);
    let p = signed_project();
    p.tag("v1.0.0");
    p.relman_env(&["build"], &[]).ok();
    p.relman_env(&["package"], &[("RELMAN_PASSWORD", "pw")]).ok();
    let upstream = d.base.trim_start_matches("http://").to_string();
    let (mut injected, mut first_ok) = (0, 0);
    for seed in 1..=3u64 {
        let proxy =
            FaultProxy::start(&upstream, FaultPlan { seed, rate: 0.15, stall: std::time::Duration::from_millis(300) });
        let to = format!("github:http://{}/acme/s{seed}", proxy.host);
        let env = [("RELMAN_PASSWORD", "pw"), ("GITHUB_TOKEN", RW)];
        for args in [vec!["publish", "--to", &to], vec!["promote", "1.0.0", "--to", &to]] {
            let out = p.relman_env(&args, &env);
            match out.code {
                0 => first_ok += 1,
                8 | 9 | 11 => assert!(out.stderr.lines().any(|l| l.starts_with("error: ")), "{}", out.stderr),
                c => panic!("{args:?} exit {c}:\n{}", out.stderr),
            }
            assert!(!out.stderr.contains(RW));
        }
        injected += proxy.stats().injected();
        proxy.set_rate(0.0);
        p.relman_env(&["publish", "--to", &to], &env).ok();
        p.relman_env(&["promote", "1.0.0", "--to", &to], &env).ok();
        let rels = d.releases("github", &format!("acme/s{seed}"));
        let published: Vec<_> = rels.iter().filter(|r| r["draft"] == false).collect();
        assert_eq!(published.len(), 1, "seed {seed}: {rels:?}");
        let assets = published[0]["assets"].as_array().unwrap();
        for (name, sha) in dist_files(&p, "1.0.0") {
            let same: Vec<_> = assets.iter().filter(|a| a["name"] == name.as_str()).collect();
            assert_eq!(same.len(), 1, "seed {seed}: {name}");
            assert_eq!(same[0]["sha256"].as_str().unwrap(), sha, "seed {seed}: {name}");
        }
    }
    eprintln!("fault suite (forge): 3 seeds, {injected} faults injected; {first_ok} of 6 runs succeeded through them; every re-run converged");
    assert!(injected > 0);
}

/// A maintenance release of an older line is published without taking latest; a pre-release
/// is published as a pre-release, never latest.
#[test]
fn github_latest_only_for_the_newest_stable() {
    let d = Double::start(&["--repo", "github:acme/tool"]);
    let p = Project::generic(&[T1]);
    let to = format!("github:{}/acme/tool", d.base);
    let env = [("GITHUB_TOKEN", RW)];
    let latest = || -> String {
        let v: serde_json::Value =
            serde_json::from_str(&d.call("GET", "/api/v3/repos/acme/tool/releases/latest", None)).unwrap();
        v["tag_name"].as_str().unwrap_or("").to_string()
    };
    for (v, text) in [("2.0.0", "two"), ("1.0.1", "fix"), ("2.1.0-rc.1", "rc")] {
        p.write("src.txt", text);
        p.commit(text);
        p.tag(&format!("v{v}"));
        p.relman_env(&["release", "--to", &to], &env).ok();
        let out = p.relman_env(&["promote", v, "--to", &to], &env);
        out.ok();
        if v == "1.0.1" {
            assert!(out.stdout.contains("latest stays at 2.0.0"), "{}", out.stdout);
        }
        assert_eq!(latest(), "v2.0.0", "after promoting {v}");
    }
    let rels = d.releases("github", "acme/tool");
    let rc = rels.iter().find(|r| r["tag_name"] == "v2.1.0-rc.1").unwrap();
    assert_eq!((rc["draft"].as_bool(), rc["prerelease"].as_bool()), (Some(false), Some(true)));
}

/// Installed from a page, upgraded from it: `relman upgrade` follows the page the receipt
/// names to its latest release (signatures checked with the key pinned at install), and
/// rollback returns to the previous version.
#[test]
fn install_and_upgrade_from_a_release_page() {
    let d = Double::start(&["--repo", "github:acme/tool"]);
    let p = signed_project();
    let to = format!("github:{}/acme/tool", d.base);
    let env = [("RELMAN_PASSWORD", "pw"), ("GITHUB_TOKEN", RW)];
    p.tag("v1.0.0");
    p.relman_env(&["release", "--promote", "--to", &to], &env).ok();
    let prefix = p.outside("prefix");
    let pre = prefix.to_str().unwrap();
    p.relman_env(&["install", "--from", &to, "--prefix", pre, "--target", T1, "--key", "relman.pub"], &env).ok();
    let current = p.relman_env(&["upgrade", "--prefix", pre], &env);
    current.ok();
    assert!(current.stdout.contains("tool 1.0.0 is up to date"), "{}", current.stdout);
    p.write("src.txt", "next");
    p.commit("next");
    p.tag("v1.1.0");
    p.relman_env(&["release", "--promote", "--to", &to], &env).ok();
    let up = p.relman_env(&["upgrade", "--prefix", pre], &env);
    up.ok();
    assert!(up.stdout.contains("upgraded tool 1.0.0 → 1.1.0"), "{}", up.stdout);
    assert!(fs::read_to_string(prefix.join("bin/tool")).unwrap().contains("tool 1.1.0"));
    let again = p.relman_env(&["upgrade", "--prefix", pre], &env);
    assert!(again.stdout.contains("tool 1.1.0 is up to date"), "{}", again.stdout);
    p.relman_env(&["upgrade", "--prefix", pre, "--rollback"], &env).ok();
    assert!(fs::read_to_string(prefix.join("bin/tool")).unwrap().contains("tool 1.0.0"));
}

/// Strict verify on a release page: an asset nobody listed — a signature of a file the release
/// does not hold, a bundle beside nothing — fails `verify --key` there too (the page is read
/// as the directory of its assets).
#[test]
fn orphan_signatures_on_a_release_page_fail_strict_verify() {
    let d = Double::start(&["--repo", "github:acme/tool"]);
    let p = signed_project();
    p.tag("v1.0.0");
    let to = format!("github:{}/acme/tool", d.base);
    let env = [("RELMAN_PASSWORD", "pw"), ("GITHUB_TOKEN", RW)];
    p.relman_env(&["release", "--promote", "--to", &to], &env).ok();
    let at = format!("{to}@v1.0.0");
    p.relman_env(&["verify", &at, "--key", "relman.pub"], &env).ok();
    let id = d.releases("github", "acme/tool")[0]["id"].as_u64().unwrap();
    let sig = fs::read(p.path(&format!("dist/1.0.0/tool-1.0.0-{T1}.tar.gz.sigstore.json"))).unwrap();
    let upload = |name: &str| {
        let out = std::process::Command::new("curl")
            .args([
                "-s",
                "-X",
                "POST",
                "-H",
                &format!("Authorization: Bearer {RW}"),
                "-H",
                "Content-Type: application/octet-stream",
            ])
            .arg("--data-binary")
            .arg(format!("@{}", p.path(&format!("dist/1.0.0/tool-1.0.0-{T1}.tar.gz.sigstore.json")).display()))
            .arg(format!("{}/api/uploads/repos/acme/tool/releases/{id}/assets?name={name}", d.base))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    assert!(!sig.is_empty());
    upload("evil.sh.sigstore.json");
    let out = p.relman_env(&["verify", &at, "--key", "relman.pub"], &env);
    assert_eq!(out.code, 7, "{}{}", out.stdout, out.stderr);
    assert!(format!("{}{}", out.stdout, out.stderr).contains("evil.sh.sigstore.json"), "{}{}", out.stdout, out.stderr);
}
