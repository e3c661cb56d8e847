//! `relman bump` on real repositories: lockstep rewrites, changelog, commit, tag, signing,
//! and all-or-nothing on every bad input.

mod support;

use relman_engine::bump::{self, BumpOptions, BumpSpec};
use relman_engine::lockstep::{self, CheckOptions};
use relman_engine::notes::NotesConfig;
use relman_engine::version_files::{PatternFile, VersionsConfig};
use relman_engine::ErrorClass;
use support::{lockstep_project, TestRepo};

const MAY_1_2024: i64 = 1_714_521_600;

fn options(r: &TestRepo, versions: VersionsConfig, spec: &str) -> BumpOptions {
    BumpOptions {
        root: r.root().to_path_buf(),
        tag_prefix: "v".into(),
        repository: None,
        versions,
        notes: NotesConfig::default(),
        spec: spec.parse().unwrap(),
        pre: None,
        dry_run: false,
        source_date_epoch: Some(MAY_1_2024),
        changelog: None,
        ignore_dirty: vec![],
    }
}

fn project(version: &str) -> (TestRepo, VersionsConfig) {
    let r = TestRepo::new();
    let versions = lockstep_project(&r, version, version);
    r.write("CHANGELOG.md", "# Changelog\n\n## [Unreleased]\n\n### Added\n\n- the `--json` flag\n\n## [1.2.3] - 2024-01-02\n\n- first\n\n[Unreleased]: https://github.com/acme/app/compare/v1.2.3...HEAD\n[1.2.3]: https://github.com/acme/app/releases/tag/v1.2.3\n");
    r.commit("chore(release): v1.2.3");
    r.tag(&format!("v{version}"));
    (r, versions)
}

/// Every tracked file's content, to prove nothing changed.
fn snapshot(r: &TestRepo) -> Vec<(String, String)> {
    let files = r.git(&["ls-files"]);
    files.lines().map(|f| (f.to_string(), r.read(f))).collect()
}

fn check_ok(r: &TestRepo, versions: &VersionsConfig) {
    let report = lockstep::check(&CheckOptions {
        root: r.root().to_path_buf(),
        tag_prefix: "v".into(),
        versions: versions.clone(),
        ..CheckOptions::default()
    })
    .unwrap();
    assert!(report.is_ok(), "{:#?}", report.problems);
}

#[test]
fn bump_rewrites_every_version_in_lockstep_keeping_formatting_then_check_passes() {
    let (r, versions) = project("1.2.3");
    r.commit("feat(cli): add `--json` (#12)");
    let before_head = r.head();
    let report = bump::bump(&options(&r, versions.clone(), "minor")).unwrap();
    assert_eq!(report.version, "1.3.0");
    assert_eq!(report.tag, "v1.3.0");
    assert_eq!(report.previous.as_deref(), Some("v1.2.3"));
    assert_eq!(report.changes.len(), 15, "{:#?}", report.changes);
    assert!(!report.dry_run);
    assert!(!report.signed);

    // Formatting and comments are kept; only the versions moved.
    assert_eq!(
        r.read("Cargo.toml"),
        "[workspace]\nmembers = [\"crates/*\"]\nresolver = \"2\"\n\n[workspace.package]\nversion = \"1.3.0\" # the one version\nedition = \"2021\"\n\n[workspace.dependencies]\napp-core = { path = \"crates/core\", version = \"=1.3.0\" }\nserde = \"1\"\n"
    );
    assert!(r
        .read("crates/cli/Cargo.toml")
        .contains("app-core = { path = \"../core\", version = \"1.3.0\" }  # internal\n"));
    let lock = r.read("Cargo.lock");
    assert!(
        lock.contains("name = \"app-core\"\nversion = \"1.3.0\"\n")
            && lock.contains("name = \"serde\"\nversion = \"1.0.200\""),
        "{lock}"
    );
    assert_eq!(
        r.read("package.json"),
        "{\n  \"name\": \"app-web\",\n  \"version\": \"1.3.0\",\n  \"private\": true,\n  \"dependencies\": { \"left-pad\": \"^1.3.0\" }\n}\n"
    );
    let plock = r.read("package-lock.json");
    assert_eq!(
        plock.matches("\"version\": \"1.3.0\"").count(),
        3,
        "root, packages[\"\"], and left-pad's own 1.3.0: {plock}"
    );
    assert!(plock.contains("\"node_modules/left-pad\": {\n      \"version\": \"1.3.0\""));
    assert!(r.read("pyproject.toml").contains("version = \"1.3.0\"  # PEP 440\n"));
    assert!(
        r.read("uv.lock").contains("name = \"app-py\"\nversion = \"1.3.0\"\n")
            && r.read("uv.lock").contains("version = \"3.7\"")
    );
    assert_eq!(
        r.read("charts/app/Chart.yaml"),
        "apiVersion: v2\nname: app\n# chart version\nversion: 1.3.0\nappVersion: \"v1.3.0\"\ndependencies:\n  - name: redis\n    version: 17.0.0\n"
    );
    assert_eq!(r.read("charts/app/charts/redis/Chart.yaml"), "apiVersion: v2\nname: redis\nversion: 17.0.0\n");
    assert_eq!(r.read("src/version.txt"), "# generated\nVERSION = \"1.3.0\"\n");

    // The changelog's Unreleased section moved under the new version, links updated.
    assert_eq!(
        r.read("CHANGELOG.md"),
        "# Changelog\n\n## [Unreleased]\n\n## [1.3.0] - 2024-05-01\n\n### Added\n\n- the `--json` flag\n\n## [1.2.3] - 2024-01-02\n\n- first\n\n[Unreleased]: https://github.com/acme/app/compare/v1.3.0...HEAD\n[1.3.0]: https://github.com/acme/app/compare/v1.2.3...v1.3.0\n[1.2.3]: https://github.com/acme/app/releases/tag/v1.2.3\n"
    );

    // One commit, one annotated tag on it with the notes, nothing left uncommitted.
    assert!(r.is_clean());
    assert_eq!(r.git(&["log", "-1", "--format=%s"]), "chore(release): v1.3.0");
    assert_eq!(r.git(&["rev-parse", "HEAD~1"]), before_head);
    assert_eq!(report.commit.as_deref(), Some(r.head().as_str()));
    assert_eq!(r.git(&["rev-parse", "v1.3.0^{commit}"]), r.head());
    assert_eq!(r.git(&["cat-file", "-t", "v1.3.0"]), "tag");
    let message = r.git(&["tag", "-l", "--format=%(contents)", "v1.3.0"]);
    assert!(
        message.starts_with("v1.3.0\n\n## 1.3.0 - 2024-05-01\n\n### Features\n\n- **cli:** add `--json` (#12) ("),
        "{message}"
    );
    assert_eq!(report.notes, message.strip_prefix("v1.3.0\n\n").unwrap().to_string() + "\n");

    // The result is a consistent release.
    check_ok(&r, &versions);
}

#[test]
fn dry_run_returns_the_diff_and_changes_nothing() {
    let (r, versions) = project("1.2.3");
    r.commit("fix: a bug");
    let before = snapshot(&r);
    let head = r.head();
    let report = bump::bump(&BumpOptions { dry_run: true, ..options(&r, versions, "auto") }).unwrap();
    assert_eq!(report.version, "1.2.4");
    assert!(report.dry_run);
    assert_eq!(report.commit, None);
    assert!(report.diff.contains("--- a/Cargo.toml\n+++ b/Cargo.toml\n"), "{}", report.diff);
    assert!(
        report.diff.contains("-version = \"1.2.3\" # the one version\n+version = \"1.2.4\" # the one version\n"),
        "{}",
        report.diff
    );
    assert!(report.diff.contains("+## [1.2.4] - 2024-05-01\n"), "{}", report.diff);
    assert_eq!(report.files.len(), 10, "{:?}", report.files);
    assert_eq!(snapshot(&r), before);
    assert_eq!(r.head(), head);
    assert_eq!(r.git(&["tag", "-l", "v1.2.4"]), "");
}

#[test]
fn a_dirty_tree_is_refused() {
    let (r, versions) = project("1.2.3");
    r.write("scratch.txt", "wip");
    let err = bump::bump(&options(&r, versions, "patch")).unwrap_err();
    assert_eq!(err.class, ErrorClass::Git);
    assert!(err.message.contains("uncommitted changes: `scratch.txt`"), "{}", err.message);
}

#[test]
fn a_version_that_cannot_be_parsed_stops_everything() {
    let (r, versions) = project("1.2.3");
    r.write("charts/app/Chart.yaml", &r.read("charts/app/Chart.yaml").replace("version: 1.2.3", "version: 1.2"));
    r.commit("chore: break the chart");
    let before = snapshot(&r);
    let err = bump::bump(&options(&r, versions, "patch")).unwrap_err();
    assert_eq!(err.class, ErrorClass::Config);
    assert!(
        err.message.contains("`charts/app/Chart.yaml` line 4: `version` cannot be read: `1.2` is not a full version"),
        "{}",
        err.message
    );
    assert!(err.hint.unwrap().contains("nothing was changed"));
    assert_eq!(snapshot(&r), before);
    assert!(r.is_clean());
}

#[test]
fn a_file_that_cannot_be_parsed_stops_everything() {
    let (r, versions) = project("1.2.3");
    r.write("package-lock.json", "{\n  \"version\": \"1.2.3\",\n  oops\n}\n");
    r.commit("chore: break the lockfile");
    let before = snapshot(&r);
    let err = bump::bump(&options(&r, versions, "patch")).unwrap_err();
    assert_eq!(err.class, ErrorClass::Config);
    assert!(err.message.contains("`package-lock.json` line 3: not valid JSON"), "{}", err.message);
    assert_eq!(snapshot(&r), before);
}

#[test]
fn a_file_already_ahead_of_the_new_version_stops_everything() {
    let (r, versions) = project("1.2.3");
    r.write("pyproject.toml", &r.read("pyproject.toml").replace("\"1.2.3\"", "\"2.0.0\""));
    r.commit("chore: someone bumped python by hand");
    let before = snapshot(&r);
    let err = bump::bump(&options(&r, versions, "minor")).unwrap_err();
    assert_eq!(err.class, ErrorClass::Check);
    assert!(
        err.message.contains("`pyproject.toml` line 3: `project.version` is `2.0.0`, ahead of the new version `1.3.0`"),
        "{}",
        err.message
    );
    assert_eq!(snapshot(&r), before);
}

#[test]
fn a_configured_file_missing_stops_everything() {
    let (r, mut versions) = project("1.2.3");
    versions.files.push(PatternFile { path: "docs/install.md".into(), pattern: "app-v(\\S+)-linux".into() });
    let before = snapshot(&r);
    let err = bump::bump(&options(&r, versions, "patch")).unwrap_err();
    assert_eq!(err.class, ErrorClass::Config);
    assert!(
        err.message.contains("`docs/install.md`: the file configured in `versions.files[1]` does not exist"),
        "{}",
        err.message
    );
    assert_eq!(snapshot(&r), before);
}

#[test]
fn an_unusable_signing_key_fails_before_anything_changes() {
    let (r, versions) = project("1.2.3");
    r.git(&["config", "gpg.format", "ssh"]);
    r.git(&["config", "user.signingkey", "/nonexistent/relman-test-key"]);
    r.git(&["config", "tag.gpgSign", "true"]);
    let before = snapshot(&r);
    let head = r.head();
    let err = bump::bump(&options(&r, versions, "patch")).unwrap_err();
    assert_eq!(err.class, ErrorClass::Git);
    assert!(err.message.contains("signing key `/nonexistent/relman-test-key` is not usable"), "{}", err.message);
    assert!(err.message.contains("`gpg.format` ssh"), "{}", err.message);
    assert_eq!(snapshot(&r), before);
    assert_eq!(r.head(), head);
    assert_eq!(r.git(&["tag", "-l", "v1.2.4"]), "");
}

#[test]
fn the_tag_is_signed_when_git_is_set_up_to_sign_with_ssh() {
    let (r, versions) = project("1.2.3");
    let key = r.path(".git/test-signing-key");
    let out = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "relman-test", "-f"])
        .arg(&key)
        .output()
        .expect("ssh-keygen is needed for the signing test (openssh-client)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    r.git(&["config", "gpg.format", "ssh"]);
    r.git(&["config", "user.signingkey", key.to_str().unwrap()]);
    // No `tag.gpgSign`: a signing key alone means tags are signed.
    r.git(&["config", "--unset", "tag.gpgSign"]);
    let report = bump::bump(&options(&r, versions, "patch")).unwrap();
    assert!(report.signed);
    let object = r.git(&["cat-file", "tag", "v1.2.4"]);
    assert!(object.contains("-----BEGIN SSH SIGNATURE-----"), "{object}");
    // And git verifies it with the matching public key.
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    r.write(".git/allowed_signers", &format!("test@example.com {public}"));
    r.git(&["config", "gpg.ssh.allowedSignersFile", r.path(".git/allowed_signers").to_str().unwrap()]);
    r.git(&["tag", "-v", "v1.2.4"]);
}

#[test]
fn a_failing_commit_hook_restores_every_file() {
    let (r, versions) = project("1.2.3");
    r.write(".git/hooks/pre-commit", "#!/bin/sh\necho 'hook says no' >&2\nexit 1\n");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(r.path(".git/hooks/pre-commit"), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let before = snapshot(&r);
    let err = bump::bump(&options(&r, versions, "patch")).unwrap_err();
    assert_eq!(err.class, ErrorClass::Git);
    assert!(err.message.contains("failed to commit the release"), "{}", err.message);
    assert_eq!(snapshot(&r), before);
    assert!(r.is_clean(), "{}", r.git(&["status", "--porcelain"]));
    assert_eq!(r.git(&["tag", "-l", "v1.2.4"]), "");
}

#[test]
fn auto_and_pre_release_counters_through_a_release_cycle() {
    let (r, versions) = project("1.2.3");
    let opts = |spec: &str, pre: Option<&str>| BumpOptions {
        pre: pre.map(str::to_string),
        ..options(&r, versions.clone(), spec)
    };

    r.commit("feat: new thing");
    let rc1 = bump::bump(&opts("auto", Some("rc"))).unwrap();
    assert_eq!(rc1.tag, "v1.3.0-rc.1");
    assert!(rc1.reason.contains("1 `feat` since `v1.2.3`"), "{}", rc1.reason);
    // Python spells it PEP 440.
    assert!(r.read("pyproject.toml").contains("version = \"1.3.0rc1\""));
    check_ok(&r, &versions);

    r.commit("fix: rc feedback");
    let rc2 = bump::bump(&opts("auto", Some("rc"))).unwrap();
    assert_eq!(rc2.tag, "v1.3.0-rc.2");
    // Notes of a pre-release: since the previous tag of any kind.
    assert!(rc2.notes.contains("rc feedback") && !rc2.notes.contains("new thing"), "{}", rc2.notes);

    let final_ = bump::bump(&opts("auto", None)).unwrap();
    assert_eq!(final_.tag, "v1.3.0");
    assert!(final_.reason.contains("becomes final"), "{}", final_.reason);
    // Notes of a stable release: since the previous stable tag, the rcs skipped.
    assert!(final_.notes.contains("new thing") && final_.notes.contains("rc feedback"), "{}", final_.notes);
    assert!(!final_.notes.contains("chore(release)"), "{}", final_.notes);
    check_ok(&r, &versions);

    // Nothing new: auto refuses, naming the last release.
    let err = bump::bump(&opts("auto", None)).unwrap_err();
    assert_eq!(err.class, ErrorClass::Usage);
    assert!(err.message.contains("no commit since `v1.3.0` calls for a release"), "{}", err.message);

    // An explicit version must move forward.
    r.commit("docs: more");
    let err = bump::bump(&opts("1.3.0", None)).unwrap_err();
    assert_eq!(err.class, ErrorClass::Usage);
    assert!(err.message.contains("`1.3.0` is not newer than the last release `1.3.0`"), "{}", err.message);
}

#[test]
fn breaking_changes_while_0x_bump_minor() {
    let r = TestRepo::new();
    r.write("Cargo.toml", "[package]\nname = \"tiny\"\nversion = \"0.4.1\"\nedition = \"2021\"\n");
    r.commit("feat: first");
    r.tag("v0.4.1");
    r.commit("feat!: everything changes");
    let report = bump::bump(&options(&r, VersionsConfig::default(), "auto")).unwrap();
    assert_eq!(report.version, "0.5.0");
    assert!(report.reason.contains("breaking changes while `0.x` → minor"), "{}", report.reason);
    assert!(r.read("Cargo.toml").contains("version = \"0.5.0\""));
}

#[test]
fn no_version_files_tags_head_without_a_commit() {
    let r = TestRepo::new();
    r.write("README.md", "hello\n");
    r.commit("feat: hello");
    let head = r.head();
    let report = bump::bump(&options(&r, VersionsConfig::default(), "auto")).unwrap();
    assert_eq!(report.version, "0.1.0");
    assert_eq!(report.commit, None);
    assert!(report.files.is_empty());
    assert_eq!(r.git(&["rev-parse", "v0.1.0^{commit}"]), head);
    let err = bump::bump(&options(&r, VersionsConfig::default(), "0.1.0")).unwrap_err();
    assert!(err.message.contains("not newer"), "{}", err.message);
}

#[test]
fn the_new_tag_must_not_exist_yet() {
    let r = TestRepo::new();
    r.commit("feat: one");
    r.tag("v1.0.0");
    r.git(&["checkout", "-q", "-b", "side"]);
    r.commit("fix: two");
    r.tag("v1.0.1");
    r.git(&["checkout", "-q", "main"]);
    r.commit("fix: three");
    let err = bump::bump(&options(&r, VersionsConfig::default(), "patch")).unwrap_err();
    assert_eq!(err.class, ErrorClass::Git);
    assert!(err.message.contains("tag `v1.0.1` already exists"), "{}", err.message);
    assert!(matches!("2.0.0".parse::<BumpSpec>(), Ok(BumpSpec::Exact(_))));
}
