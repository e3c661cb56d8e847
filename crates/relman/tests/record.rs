//! The release record travels with the release: from a fresh clone (no `dist/`), promote and
//! summary read `manifest.json` from the destinations — a GitHub page, a GitLab package, S3
//! beside a Forgejo page — checked with the project's key first. A record signed by another
//! key is refused; a destination without a record is named in the message.

mod common;

use std::path::{Path, PathBuf};

use common::forge_double::*;
use common::moto::*;
use common::*;

const T1: &str = "x86_64-unknown-linux-gnu";

fn signed_project() -> Project {
    let p = Project::generic(&[T1]);
    p.relman_env(&["keygen"], &[("RELMAN_PASSWORD", "pw")]).ok();
    p.commit("key");
    p.tag("v1.0.0");
    p
}

/// A fresh clone of the project's repository (its tags too), beside it: no `dist/`.
fn fresh_clone(p: &Project, name: &str) -> PathBuf {
    let to = p.outside(name);
    let _ = std::fs::remove_dir(&to);
    let out = std::process::Command::new("git").args(["clone", "-q"]).arg(&p.dir).arg(&to).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!to.join("dist").exists());
    to
}

fn relman_at(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Out {
    run_with_env(dir, args, env)
}

#[test]
fn promote_from_a_fresh_clone_at_a_github_page_and_a_gitlab_package() {
    let d = Double::start(&["--repo", "github:acme/tool", "--repo", "gitlab:acme/tool", "--repo", "github:acme/empty"]);
    let p = signed_project();
    let gh = format!("github:{}/acme/tool", d.base);
    let gl = format!("gitlab:{}/acme/tool", d.base);
    let env = [("RELMAN_PASSWORD", "pw"), ("GITHUB_TOKEN", RW), ("GITLAB_TOKEN", RW)];
    p.relman_env(&["release", "--to", &gh, "--to", &gl], &env).ok();

    // Each kind alone, from a clone that never saw dist/: the record comes from the page (or
    // the package), verified with relman.pub, and the gates compare against it.
    for (to, flavor, name) in [(&gh, "github", "clone-gh"), (&gl, "gitlab", "clone-gl")] {
        let clone = fresh_clone(&p, name);
        let out = relman_at(&clone, &["promote", "1.0.0", "--to", to], &[("GITHUB_TOKEN", RW), ("GITLAB_TOKEN", RW)]);
        out.ok();
        assert!(out.stderr.contains("release record: ") && out.stderr.contains("(none in dist/)"), "{}", out.stderr);
        assert_eq!(out.stderr.matches("release record: ").count(), 1, "read once: {}", out.stderr);
        assert!(!out.stderr.contains("is not the release record"), "{}", out.stderr);
        let rels = d.releases(flavor, "acme/tool");
        assert_eq!(rels.len(), 1, "{flavor}");
        if flavor == "github" {
            assert_eq!(rels[0]["draft"], false);
        }
        // The summary is written from the same record.
        relman_at(&clone, &["summary", "1.0.0", "--to", to], &[("GITHUB_TOKEN", RW), ("GITLAB_TOKEN", RW)]).ok();
        assert!(clone.join("dist/1.0.0/release-summary.md").is_file());
    }

    // A destination without a release: where relman looked is named, and the forge gate says
    // what is missing; nothing reads like tampering.
    let empty = format!("github:{}/acme/empty", d.base);
    let clone = fresh_clone(&p, "clone-empty");
    let out = relman_at(&clone, &["promote", "1.0.0", "--to", &empty], &[("GITHUB_TOKEN", RW)]);
    assert_eq!(out.code, 9, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("release record: none for 1.0.0 (looked at "), "{}", out.stderr);
    assert!(out.stderr.contains(&empty) && out.stderr.contains("dist/1.0.0/manifest.json"), "{}", out.stderr);
    assert!(!out.stderr.contains("sha256"), "{}", out.stderr);
}

#[test]
fn a_record_signed_by_another_key_is_refused() {
    let d = Double::start(&["--repo", "github:acme/tool"]);
    let p = signed_project();
    let gh = format!("github:{}/acme/tool", d.base);
    let clone = fresh_clone(&p, "clone-before");
    // Someone else's build of the same version, signed by their key, on the page.
    let other = Project::generic(&[T1]);
    other.relman_env(&["keygen"], &[("RELMAN_PASSWORD", "pw2")]).ok();
    other.commit("their key");
    other.tag("v1.0.0");
    other.relman_env(&["release", "--to", &gh], &[("RELMAN_PASSWORD", "pw2"), ("GITHUB_TOKEN", RW)]).ok();
    let out = relman_at(&clone, &["promote", "1.0.0", "--to", &gh], &[("GITHUB_TOKEN", RW)]);
    assert_eq!(out.code, 7, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("the release record `") && out.stderr.contains("is not the project's"),
        "{}",
        out.stderr
    );
    assert_eq!(d.releases("github", "acme/tool")[0]["draft"], true, "nothing was published");
    // And a local dist/ from another build than the published one says so, not "tampered".
    let local = format!("dir:{}", p.outside("local").display());
    p.relman_env(&["release", "--to", &local], &[("RELMAN_PASSWORD", "pw")]).ok();
    let out = p.relman_env(&["promote", "1.0.0", "--to", &gh], &[("GITHUB_TOKEN", RW)]);
    assert_eq!(out.code, 9, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("the local dist/ holds another build of this version"), "{}", out.stderr);
}

#[test]
fn promote_from_a_fresh_clone_at_s3_and_a_forgejo_page() {
    let d = Double::start(&["--repo", "gitea:acme/tool"]);
    let moto = Moto::start();
    moto.boto("s3.create_bucket(Bucket='rel')");
    let env_owned = moto.env();
    let mut env: Vec<(&str, &str)> = env_owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.push(("FORGEJO_TOKEN", RW));
    let p = signed_project();
    let fj = format!("forgejo:{}/acme/tool", d.base);
    let s3 = "s3://rel/releases";
    let mut with_pw = env.clone();
    with_pw.push(("RELMAN_PASSWORD", "pw"));
    p.relman_env(&["release", "--to", s3, "--to", &fj], &with_pw).ok();
    let clone = fresh_clone(&p, "clone-s3");
    let out = relman_at(&clone, &["promote", "1.0.0", "--to", s3, "--to", &fj], &env);
    out.ok();
    assert!(
        out.stderr.contains("release record: s3://rel/releases/1.0.0/manifest.json (none in dist/)"),
        "{}",
        out.stderr
    );
    assert_eq!(d.releases("gitea", "acme/tool")[0]["draft"], false);
    let channels =
        moto.boto("print(s3.get_object(Bucket='rel', Key='releases/channels.json')['Body'].read().decode())");
    assert!(channels.contains("1.0.0"), "{channels}");
}
