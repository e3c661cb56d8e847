//! The generated `.gitlab-ci.yml` run for real by a GitLab job runner: gitlab-ci-local 4.72
//! (npm), shell executor, every job in its own copy of the checkout, artifacts passed as
//! GitLab passes them (`needs:` with `artifacts: true`), variables scoped to the `release`
//! environment as a project's CI/CD settings scope them. Each destination set a user would
//! configure runs end to end — plan, build, merge, sign, publish, summary, then the manual
//! promote in a job of its own that has no `dist/` (it reads the release record from the
//! destinations) — against real servers: the forge API double, moto's S3 and a loopback OCI
//! registry. relman is installed in every job by the generated step, from a relman release
//! pinned by sha256; a tampered download fails that step.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::forge_double::*;
use common::moto::*;
use common::*;
use relman_oci::testing::Registry;

/// relman's own release (the binary under test), made once per test binary: its index.json.
fn relman_index() -> &'static PathBuf {
    static INDEX: OnceLock<PathBuf> = OnceLock::new();
    INDEX.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        relman_release(&dir, env!("CARGO_PKG_VERSION"))
    })
}

fn gitlab_ci_local() -> PathBuf {
    let bin = repo_root().join(".tools/node_modules/.bin/gitlab-ci-local");
    assert!(bin.exists(), "{} is missing: run scripts/setup-test-deps", bin.display());
    bin
}

/// The busybox base pushed to `reg` as `base:1`; its pinned reference.
fn pinned_base(p: &Project, reg: &Registry) -> String {
    format!("{}/base:1@{}", reg.host, base_image(p, reg))
}

/// A project released to `to`, signed with a key that only the pipeline's variables hold
/// (the private key file is moved out of the checkout), with an image on `base` when given;
/// its `.gitlab-ci.yml` generated and committed, tagged v1.0.0. Returns the key's text.
fn project(to: &[String], base: Option<&str>, index: &Path) -> (Project, String) {
    let p = Project::generic(&[HOST]);
    let mut toml = fs::read_to_string(p.path("relman.toml")).unwrap();
    let list = to.iter().map(|t| format!("\"{t}\"")).collect::<Vec<_>>().join(", ");
    toml.push_str(&format!("\n[release]\nto = [{list}]\n\n[ci]\nrelman_index = \"{}\"\n", index.display()));
    if let Some(base) = base {
        toml.push_str(&format!("\n[[image]]\nname = \"tool\"\nbase = \"{base}\"\n"));
    }
    p.write("relman.toml", &toml);
    p.relman_env(&["keygen"], &[("RELMAN_PASSWORD", "pw")]).ok();
    let key = fs::read_to_string(p.path("relman.key")).unwrap();
    fs::remove_file(p.path("relman.key")).unwrap();
    p.relman(&["ci", "generate", "gitlab"]).ok();
    // gitlab-ci-local's own files stay out of the repository (relman refuses a dirty tree).
    fs::write(p.path(".git/info/exclude"), ".gitlab-ci-local/\n.gitlab-ci-local-variables.yml\n").unwrap();
    p.commit("ci: release pipeline");
    p.tag("v1.0.0");
    (p, key)
}

/// `.gitlab-ci-local-variables.yml`: the signing key, its passphrase and `secrets` scoped to
/// the `release` environment (the publish and promote jobs), as the header of the generated
/// file tells users to scope them.
fn variables(p: &Project, key: &str, secrets: &[(&str, String)]) {
    let mut y = String::from("RELMAN_SIGNING_KEY:\n  values:\n    release: |\n");
    for l in key.trim_end().lines() {
        y.push_str(&format!("      {l}\n"));
    }
    let all = [("RELMAN_PASSWORD", "pw".to_string())].into_iter().chain(secrets.iter().map(|(k, v)| (*k, v.clone())));
    for (k, v) in all {
        // `type: variable`: a value that looks like a path is not made a file variable.
        y.push_str(&format!("{k}:\n  type: variable\n  values:\n    release: {}\n", serde_json::json!(v)));
    }
    fs::write(p.path(".gitlab-ci-local-variables.yml"), y).unwrap();
}

/// Runs the pipeline of tag v1.0.0, the manual promote job included (`jobs` empty), or only
/// `jobs`; (success, output).
fn pipeline(p: &Project, jobs: &[&str]) -> (bool, String) {
    let mut cmd = Command::new(gitlab_ci_local());
    cmd.current_dir(&p.dir)
        .args(["--force-shell-executor", "--shell-isolation", "--no-artifacts-to-source"])
        .args(["--variable", "CI_COMMIT_TAG=v1.0.0"]);
    if jobs.is_empty() {
        cmd.args(["--manual", "relman-promote"]);
    } else {
        cmd.args(jobs);
    }
    // The jobs run on this machine's shell: nothing of the test's own environment that a
    // runner would not have (a CI's OIDC token, the passphrase) reaches them.
    for v in ["RELMAN_PASSWORD", "COSIGN_PASSWORD", "SIGSTORE_ID_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_URL", "GITHUB_TOKEN"]
    {
        cmd.env_remove(v);
    }
    let out = cmd.output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// Every job of the pipeline passed: gitlab-ci-local's summary names each.
fn assert_all_passed(log: &str) {
    for job in ["relman-plan", &format!("relman-build-{HOST}"), "relman-publish", "relman-promote"] {
        assert!(
            log.lines().any(|l| l.contains("PASS") && l.contains(job)),
            "{job} did not pass:\n{}",
            &log[log.len().saturating_sub(6000)..]
        );
    }
    assert!(!log.contains("FAIL "), "{log}");
}

fn skopeo_digest(reference: &str) -> String {
    skopeo_raw(reference).0
}

/// gitlab only: the GitLab generic package and release page, the token only in `release`.
#[test]
fn gitlab_only() {
    let d = Double::start(&["--repo", "gitlab:acme/tool"]);
    let gl = format!("gitlab:{}/acme/tool", d.base);
    let (p, key) = project(std::slice::from_ref(&gl), None, relman_index());
    variables(&p, &key, &[("GITLAB_TOKEN", RW.to_string())]);
    let (ok, log) = pipeline(&p, &[]);
    assert!(ok, "{log}");
    assert_all_passed(&log);
    assert!(log.contains("release record: "), "promote read the record from the destination:\n{log}");
    let rels = d.releases("gitlab", "acme/tool");
    assert_eq!(rels.len(), 1, "{rels:?}");
    // Signed in the publish job with the key from its variable: verify reads it back.
    p.relman_env(&["verify", &format!("{gl}@v1.0.0"), "--key", "relman.pub"], &[("GITLAB_TOKEN", RW)]).ok();
    assert!(!log.contains(RW), "the token is never printed");
}

/// s3 plus a Forgejo page: the AWS secrets and the Forgejo token in `release` only.
#[test]
fn s3_and_forgejo() {
    let d = Double::start(&["--repo", "gitea:acme/tool"]);
    let moto = Moto::start();
    moto.boto("s3.create_bucket(Bucket='rel')");
    let fj = format!("forgejo:{}/acme/tool", d.base);
    let (p, key) = project(&["s3://rel/releases".to_string(), fj], None, relman_index());
    let mut secrets: Vec<(&str, String)> = moto.env();
    secrets.push(("FORGEJO_TOKEN", RW.to_string()));
    variables(&p, &key, &secrets);
    let (ok, log) = pipeline(&p, &[]);
    assert!(ok, "{log}");
    assert_all_passed(&log);
    assert!(log.contains("release record: s3://rel/releases/1.0.0/manifest.json (none in dist/)"), "{log}");
    let channels =
        moto.boto("print(s3.get_object(Bucket='rel', Key='releases/channels.json')['Body'].read().decode())");
    assert!(channels.contains("\"1.0.0\""), "{channels}");
    assert_eq!(d.releases("gitea", "acme/tool")[0]["draft"], false, "the page is promoted");
    assert!(!log.contains(SECRET) && !log.contains(RW), "no secret printed");
}

/// A GitHub page plus a registry holding the image: promote reads the record the page holds
/// and moves the registry's `latest`.
#[test]
fn github_page_and_oci() {
    let d = Double::start(&["--repo", "github:acme/tool"]);
    let reg = Registry::start();
    let holder = Project::empty();
    let base = pinned_base(&holder, &reg);
    let gh = format!("github:{}/acme/tool", d.base);
    let oci = format!("oci://{}/acme", reg.host);
    let (p, key) = project(&[gh, oci], Some(&base), relman_index());
    let yml = fs::read_to_string(p.path(".gitlab-ci.yml")).unwrap();
    assert!(yml.contains(&format!("RELMAN_REGISTRY_HOST: \"{}\"", reg.host)), "{yml}");
    variables(&p, &key, &[("GITHUB_TOKEN", RW.to_string())]);
    let (ok, log) = pipeline(&p, &[]);
    assert!(ok, "{log}");
    assert_all_passed(&log);
    let repo = format!("{}/acme/tool", reg.host);
    assert_eq!(skopeo_digest(&format!("{repo}:latest")), skopeo_digest(&format!("{repo}:1.0.0")));
    assert_eq!(d.releases("github", "acme/tool")[0]["draft"], false);
}

/// A directory plus a registry; and first, a tampered relman download: the install step of
/// the first job fails on its sha256 and nothing runs after it.
#[test]
fn dir_and_oci_and_a_tampered_relman_download() {
    let reg = Registry::start();
    let holder = Project::empty();
    let base = pinned_base(&holder, &reg);
    // A copy of relman's release whose archive is changed after the workflow pinned it.
    let mirror = holder.outside("mirror");
    let original = relman_index().parent().unwrap();
    fs::create_dir_all(&mirror).unwrap();
    for e in fs::read_dir(original).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            fs::copy(e.path(), mirror.join(e.file_name())).unwrap();
        }
    }
    let releases = holder.outside("releases");
    let oci = format!("oci://{}/acme", reg.host);
    let (p, key) = project(&[format!("dir:{}", releases.display()), oci], Some(&base), &mirror.join("index.json"));
    variables(&p, &key, &[]);
    let archive = fs::read_dir(&mirror)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|f| f.to_string_lossy().contains(HOST) && f.to_string_lossy().ends_with(".tar.gz"))
        .unwrap();
    let good = fs::read(&archive).unwrap();
    let mut bad = good.clone();
    let at = bad.len() / 2;
    bad[at] ^= 1;
    fs::write(&archive, &bad).unwrap();
    let (ok, log) = pipeline(&p, &["relman-plan"]);
    assert!(!ok, "{log}");
    assert!(log.contains("the workflow pins"), "{log}");
    assert!(!log.contains("== plan"), "relman never ran:\n{log}");

    fs::write(&archive, &good).unwrap();
    let (ok, log) = pipeline(&p, &[]);
    assert!(ok, "{log}");
    assert_all_passed(&log);
    assert!(log.contains("== plan"), "{log}");
    let channels = fs::read_to_string(releases.join("channels.json")).unwrap();
    assert!(channels.contains("\"1.0.0\""), "{channels}");
    // The promote job had the key (its variable, scoped to `release`): channels.json is signed.
    let signed =
        fs::read_to_string(releases.join("channels.sigstore.json")).unwrap_or_else(|_| panic!("unsigned:\n{log}"));
    assert_eq!(relman_sign::dsse::unverified_payload(&signed).unwrap(), channels.as_bytes());
    let prefix = holder.outside("installed");
    let out = p.relman(&[
        "install",
        "--from",
        releases.to_str().unwrap(),
        "--prefix",
        prefix.to_str().unwrap(),
        "--key",
        "relman.pub",
        "--require-fresh",
    ]);
    out.ok();
    let repo = format!("{}/acme/tool", reg.host);
    assert_eq!(skopeo_digest(&format!("{repo}:latest")), skopeo_digest(&format!("{repo}:1.0.0")));
}
