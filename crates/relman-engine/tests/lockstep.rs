//! `relman check` on real repositories: every version file kind, every problem at once.

mod support;

use relman_engine::lockstep::{self, CheckOptions, CheckReport, ProblemClass};
use relman_engine::version_files::{PatternFile, VersionsConfig};
use relman_engine::ErrorClass;
use support::{lockstep_project, TestRepo};

fn options(r: &TestRepo, versions: VersionsConfig) -> CheckOptions {
    CheckOptions { root: r.root().to_path_buf(), tag_prefix: "v".into(), versions, ..CheckOptions::default() }
}

fn released(version: &str, pep440: &str) -> (TestRepo, VersionsConfig) {
    let r = TestRepo::new();
    let versions = lockstep_project(&r, version, pep440);
    r.write("CHANGELOG.md", &format!("# Changelog\n\n## [Unreleased]\n\n## [{version}] - 2024-05-01\n\n- first\n"));
    r.commit(&format!("chore(release): v{version}"));
    r.tag(&format!("v{version}"));
    (r, versions)
}

/// `file:line what` of each problem, sorted.
fn problems(report: &CheckReport) -> Vec<String> {
    let mut p: Vec<String> = report.problems.iter().map(|p| p.to_string()).collect();
    p.sort();
    p
}

#[test]
fn every_file_kind_agrees_with_the_tag() {
    let (r, versions) = released("1.2.3", "1.2.3");
    let report = lockstep::check(&options(&r, versions)).unwrap();
    assert!(report.is_ok(), "{:#?}", report.problems);
    assert!(report.failure().is_none());
    assert_eq!(report.tag, "v1.2.3");
    let mut seen: Vec<(String, Vec<String>)> = report
        .files
        .iter()
        .map(|f| (f.path.clone(), f.versions.iter().map(|o| format!("{}@{}", o.key, o.line)).collect()))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            (
                "Cargo.lock".to_string(),
                vec!["package[\"app-cli\"].version@7".to_string(), "package[\"app-core\"].version@15".to_string()]
            ),
            (
                "Cargo.toml".to_string(),
                vec![
                    "workspace.package.version@6".to_string(),
                    "workspace.dependencies.app-core.version@10".to_string()
                ]
            ),
            ("charts/app/Chart.yaml".to_string(), vec!["version@4".to_string(), "appVersion@5".to_string()]),
            (
                "crates/cli/Cargo.toml".to_string(),
                vec![
                    "package.version@3".to_string(),
                    "dependencies.app-core.version@7".to_string(),
                    "target.cfg(unix).dev-dependencies.app-core.version@11".to_string(),
                ]
            ),
            ("crates/core/Cargo.toml".to_string(), vec![]),
            ("package-lock.json".to_string(), vec!["version@3".to_string(), "packages[\"\"].version@9".to_string()]),
            ("package.json".to_string(), vec!["version@3".to_string()]),
            ("pyproject.toml".to_string(), vec!["project.version@3".to_string()]),
            ("src/version.txt".to_string(), vec!["`versions.files[0]` match@2".to_string()]),
            ("uv.lock".to_string(), vec!["package[\"app-py\"].version@6".to_string()]),
        ]
    );
    assert_eq!(report.changelog.as_deref(), Some("CHANGELOG.md"));
}

#[test]
fn pre_releases_are_spelled_the_pep_440_way_in_python_files() {
    let (r, versions) = released("1.3.0-rc.1", "1.3.0rc1");
    let report = lockstep::check(&options(&r, versions)).unwrap();
    assert!(report.is_ok(), "{:#?}", report.problems);
}

#[test]
fn every_problem_is_reported_at_once_with_file_line_expected_and_found() {
    let (r, versions) = released("1.2.3", "1.2.3");
    // Drift in several files, then a commit after the tag and an uncommitted file.
    let cli = r.read("crates/cli/Cargo.toml").replacen("version = \"1.2.3\"", "version = \"1.2.2\"", 1);
    r.write("crates/cli/Cargo.toml", &cli);
    let lock = r.read("package-lock.json").replacen(
        "\"version\": \"1.2.3\",\n      \"dependencies\"",
        "\"version\": \"1.3.0\",\n      \"dependencies\"",
        1,
    );
    r.write("package-lock.json", &lock);
    r.write("pyproject.toml", &r.read("pyproject.toml").replace("\"1.2.3\"", "\"1.2\""));
    r.write("charts/app/Chart.yaml", &r.read("charts/app/Chart.yaml").replace("\"v1.2.3\"", "\"v1.2.2\""));
    r.write("CHANGELOG.md", "# Changelog\n\n## [Unreleased]\n\n- first\n");
    r.commit("fix: drift");
    r.write("notes.txt", "uncommitted");

    let report = lockstep::check(&CheckOptions { tag: Some("v1.2.3".into()), ..options(&r, versions) }).unwrap();
    let got = problems(&report);
    let short_tag = &r.git(&["rev-parse", "--short=7", "v1.2.3^{commit}"]);
    let short_head = &r.git(&["rev-parse", "--short=7", "HEAD"]);
    let expected = vec![
        "CHANGELOG.md:3: the changes for `1.2.3` are still under `Unreleased`: expected `## [1.2.3] - YYYY-MM-DD`, found `## [Unreleased]`".to_string(),
        "charts/app/Chart.yaml:5: `appVersion` is not the version of the tag `v1.2.3`: expected `v1.2.3`, found `v1.2.2`".to_string(),
        "crates/cli/Cargo.toml:3: `package.version` is not the version of the tag `v1.2.3`: expected `1.2.3`, found `1.2.2`".to_string(),
        "git: tag `v1.2.3` does not point at `HEAD`: expected `".to_string() + short_head + "`, found `" + short_tag + "`",
        "git: the working tree has uncommitted changes: expected a clean tree, found `notes.txt`".to_string(),
        "package-lock.json:9: `packages[\"\"].version` is ahead of the tag `v1.2.3`: expected `1.2.3`, found `1.3.0`".to_string(),
        "pyproject.toml:3: `project.version` cannot be read: `1.2` is not a version relman can read (PEP 440 `X.Y.Z`, `X.Y.ZrcN`, `X.Y.ZaN`, `X.Y.ZbN`): expected `1.2.3`, found `1.2`".to_string(),
    ];
    assert_eq!(got, expected);
    let failure = report.failure().unwrap();
    assert_eq!(failure.class, ErrorClass::Git, "tag and tree problems make it a git failure");
    assert!(failure.message.contains("`v1.2.3` is not ready to release: 7 problems"), "{}", failure.message);

    // Only version problems: the check class (exit 12).
    r.git(&["stash", "-u", "-q"]);
    r.git(&["tag", "-f", "-a", "v1.2.3", "-m", "moved"]);
    let report =
        lockstep::check(&CheckOptions { tag: Some("v1.2.3".into()), ..options(&r, VersionsConfig::default()) })
            .unwrap();
    assert!(report.problems.iter().all(|p| p.class == ProblemClass::Check), "{:#?}", report.problems);
    assert_eq!(report.failure().unwrap().class, ErrorClass::Check);
}

#[test]
fn a_configured_file_missing_or_unparsable_is_a_config_problem() {
    let (r, mut versions) = released("1.2.3", "1.2.3");
    versions.files.push(PatternFile { path: "docs/install.md".into(), pattern: "app-(\\S+)\\.tar".into() });
    r.write("Cargo.lock", "[[package]\nname = ");
    r.commit("break the lockfile");
    r.git(&["tag", "-f", "-a", "v1.2.3", "-m", "moved"]);
    let report = lockstep::check(&options(&r, versions)).unwrap();
    let got = problems(&report);
    assert_eq!(got.len(), 2, "{got:#?}");
    assert!(got[0].starts_with("Cargo.lock:1: not valid TOML"), "{}", got[0]);
    assert!(
        got[1].starts_with("docs/install.md: the file configured in `versions.files[1]` does not exist"),
        "{}",
        got[1]
    );
    assert_eq!(report.failure().unwrap().class, ErrorClass::Config);

    let bad_pattern = VersionsConfig {
        files: vec![PatternFile { path: "Cargo.toml".into(), pattern: "version".into() }],
        ignore: vec![],
    };
    let report = lockstep::check(&options(&r, bad_pattern)).unwrap();
    assert!(problems(&report)
        .iter()
        .any(|p| p.contains("`versions.files[0].pattern` must have exactly one capture group")));
}

#[test]
fn the_tag_must_be_semver_exist_and_be_unambiguous() {
    let (r, versions) = released("1.2.3", "1.2.3");
    let err = lockstep::check(&CheckOptions { tag: Some("v1.2".into()), ..options(&r, versions.clone()) }).unwrap_err();
    assert_eq!(err.class, ErrorClass::Git);
    assert!(err.message.contains("`v1.2` is not a semantic version"), "{}", err.message);

    // A tag that does not exist yet: reported, and the files are still compared with it.
    let report =
        lockstep::check(&CheckOptions { tag: Some("v1.3.0".into()), ..options(&r, versions.clone()) }).unwrap();
    let got = problems(&report);
    assert!(got.iter().any(|p| p.starts_with("git: tag `v1.3.0` does not exist")), "{got:#?}");
    assert_eq!(got.iter().filter(|p| p.contains("is not the version of the tag `v1.3.0`")).count(), 15, "{got:#?}");

    r.tag("v1.2.3-rc.9");
    let err = lockstep::check(&options(&r, versions.clone())).unwrap_err();
    assert_eq!(err.class, ErrorClass::Git);
    assert!(err.message.contains("several release tags point at `HEAD`"), "{}", err.message);

    r.commit("feat: more");
    let err = lockstep::check(&options(&r, versions.clone())).unwrap_err();
    assert!(err.message.contains("no release tag points at `HEAD`"), "{}", err.message);

    // `--ref` checks another commit.
    let report = lockstep::check(&CheckOptions {
        tag: Some("v1.2.3".into()),
        git_ref: Some("HEAD~1".into()),
        ..options(&r, versions)
    })
    .unwrap();
    assert!(report.is_ok(), "{:#?}", report.problems);
}

#[test]
fn ignored_files_and_unreleased_sections_with_dates() {
    let (r, mut versions) = released("1.2.3", "1.2.3");
    r.write("crates/cli/Cargo.toml", &r.read("crates/cli/Cargo.toml").replacen("\"1.2.3\"", "\"0.4.0\"", 1));
    r.write("CHANGELOG.md", "# Changelog\n\n## [1.2.3] - TBD\n\n- first\n- TBD\n");
    r.commit("chore: own version for the cli");
    r.git(&["tag", "-f", "-a", "v1.2.3", "-m", "moved"]);
    versions.ignore.push("crates/cli/Cargo.toml".into());
    let report = lockstep::check(&options(&r, versions)).unwrap();
    assert_eq!(
        problems(&report),
        vec![
            "CHANGELOG.md:3: the section for `1.2.3` has no release date: expected `## [1.2.3] - YYYY-MM-DD`, found `## [1.2.3] - TBD`",
            "CHANGELOG.md:6: the section for `1.2.3` still says `TBD`: expected `final text`, found `- TBD`",
        ]
    );
}
