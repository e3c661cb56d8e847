//! `[hooks]` run at their points, in order, and stop the release when they fail; `[smoke]` runs
//! the host target's built binary before anything is published.

mod common;

use std::fs;

use common::{Project, HOST};

fn with(p: &Project, extra: &str) {
    let toml = fs::read_to_string(p.path("relman.toml")).unwrap();
    p.write("relman.toml", &format!("{toml}\n{extra}"));
    p.commit("chore: release config");
}

#[test]
fn hooks_run_in_order_at_their_points() {
    let p = Project::generic(&[HOST]);
    let rel = p.outside("rel");
    with(
        &p,
        &format!(
            "[release]\nto = [\"dir:{}\"]\n\n[hooks]\n\
             before = ['echo \"before $RELMAN_VERSION $RELMAN_COMMIT\" >> \"$RELMAN_DIST/../hooks.log\"']\n\
             after_build = ['test -x \"$RELMAN_DIST/build/{HOST}/tool\" && echo after_build >> \"$RELMAN_DIST/../hooks.log\"']\n\
             before_publish = ['test -f \"$RELMAN_DIST/checksums.txt\" && test ! -e {}/1.0.0 && echo before_publish >> \"$RELMAN_DIST/../hooks.log\"', 'echo second >> \"$RELMAN_DIST/../hooks.log\"']\n\
             after_promote = ['test -f {}/channels.json && echo \"after_promote $RELMAN_HOOK\" >> \"$RELMAN_DIST/../hooks.log\"']\n",
            rel.display(),
            rel.display(),
            rel.display()
        ),
    );
    p.tag("v1.0.0");
    let out = p.relman(&["release", "--promote"]);
    out.ok();
    assert!(out.stderr.contains("hook before_publish: echo second"), "{}", out.stderr);
    let commit = p.git(&["rev-parse", "HEAD"]);
    let log = fs::read_to_string(p.path("dist/hooks.log")).unwrap();
    assert_eq!(
        log,
        format!("before 1.0.0 {commit}\nafter_build\nbefore_publish\nsecond\nafter_promote after_promote\n"),
        "every hook, in order, each after what it follows"
    );
    assert!(p.path("dist/1.0.0/logs/hook-before_publish-2.log").is_file());
}

#[test]
fn a_failing_hook_stops_the_release_before_anything_is_published() {
    let p = Project::generic(&[HOST]);
    let rel = p.outside("rel");
    with(
        &p,
        &format!(
            "[release]\nto = [\"dir:{}\"]\n\n[hooks]\nbefore_publish = ['echo checking; echo \"lint: 3 problems in src/a.go\" >&2; exit 3']\n",
            rel.display()
        ),
    );
    p.tag("v1.0.0");
    let out = p.relman(&["release"]);
    out.fails(12, "hook before_publish `echo checking;");
    assert!(out.stderr.contains("failed (exit 3)"), "{}", out.stderr);
    assert!(out.stderr.contains("lint: 3 problems in src/a.go"), "the hook's last lines are shown:\n{}", out.stderr);
    assert!(out.stderr.contains("hook-before_publish-1.log"), "{}", out.stderr);
    assert!(!rel.join("1.0.0").exists(), "nothing was published");
}

#[test]
fn an_after_promote_hook_that_fails_says_the_version_is_promoted() {
    let p = Project::generic(&[HOST]);
    let rel = p.outside("rel");
    with(&p, &format!("[release]\nto = [\"dir:{}\"]\n\n[hooks]\nafter_promote = ['exit 4']\n", rel.display()));
    p.tag("v1.0.0");
    p.relman(&["release"]).ok();
    p.relman(&["promote", "1.0.0"]).fails(12, "1.0.0 is promoted; then hook after_promote `exit 4` failed");
    assert!(rel.join("channels.json").is_file());
}

#[test]
fn the_host_smoke_test_runs_the_built_binary_before_publishing() {
    let p = Project::generic(&[HOST]);
    let rel = p.outside("rel");
    with(
        &p,
        &format!(
            "[release]\nto = [\"dir:{}\"]\n\n[smoke]\nargs = [\"--version\"]\nexpect = \"tool {{version}} {HOST}\"\n",
            rel.display()
        ),
    );
    p.tag("v1.0.0");
    let out = p.relman(&["release"]);
    out.ok();
    assert!(out.stderr.contains(&format!("smoke: passed (printed \"tool 1.0.0 {HOST}\")")), "{}", out.stderr);

    // A binary that does not print what is expected: exit 5, nothing published.
    let q = Project::generic(&[HOST]);
    let rel = q.outside("rel");
    with(&q, &format!("[release]\nto = [\"dir:{}\"]\n\n[smoke]\nexpect = \"tool 9.9.9\"\n", rel.display()));
    q.tag("v1.0.0");
    let out = q.relman(&["release"]);
    out.fails(5, "the smoke test of `tool`");
    assert!(out.stderr.contains("does not contain \"tool 9.9.9\""), "{}", out.stderr);
    assert!(out.stderr.contains(&format!("tool 1.0.0 {HOST}")), "its output is shown:\n{}", out.stderr);
    assert!(!rel.join("1.0.0").exists());

    // Not built for the host in this run: skipped, said so.
    let other = if HOST.starts_with("x86_64") { "aarch64-unknown-linux-gnu" } else { "x86_64-unknown-linux-gnu" };
    let r = Project::generic(&[HOST, other]);
    with(&r, "[smoke]\nexpect = \"nothing like it\"\n");
    r.tag("v1.0.0");
    let out = r.relman(&["build", "--target", other]);
    out.ok();
    assert!(
        out.stderr.contains(&format!("smoke: skipped, the host target {HOST} is not built in this run")),
        "{}",
        out.stderr
    );
}
