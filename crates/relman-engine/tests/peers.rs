//! relman checked against its peers on the same repositories.
//!
//! * git-cliff (the PyPI binary wheel, in `.venv/bin/git-cliff`): with a conventional-commit
//!   config that spells relman's default groups, the same commits land in the same groups for
//!   the same ranges. The config states the rules both follow: merge commits and
//!   `chore(release)` left out, breaking changes first, a type is `type(scope)!: ` with the
//!   colon and space the Conventional Commits spec requires, types are case-insensitive (the
//!   spec says so; git-cliff's regexes are case-sensitive unless told `(?i)`), everything else
//!   under Other. Pre-release tags are skipped for a stable release with git-cliff's own
//!   `ignore_tags`, which is what relman does by default.
//! * semantic-release@24 (npm, in `.tools/node_modules`, with the `conventionalcommits`
//!   preset so `feat!:` counts) in `--dry-run`: the next version agrees on a table of
//!   histories. Rows where relman deliberately differs say why.
//!
//! Both tools are installed by `scripts/setup-test-deps`; a missing tool fails the test with
//! that instruction (CI runs the setup first), it never skips.

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use relman_engine::bump::{self, BumpOptions};
use relman_engine::notes::{self, NotesConfig, NotesOptions, NotesSettings};
use relman_engine::version_files::VersionsConfig;
use support::{workspace_root, TestRepo};

fn tool(rel: &str, what: &str) -> PathBuf {
    let p = workspace_root().join(rel);
    assert!(
        p.is_file(),
        "{what} is missing at `{}`: run `scripts/setup-test-deps` (it installs git-cliff into .venv/ and semantic-release into .tools/)",
        p.display()
    );
    p
}

// ---------------------------------------------------------------------------------------------
// git-cliff: same commits, same groups, same ranges.

const CLIFF_CONFIG: &str = r#"
[changelog]
body = ""

[git]
conventional_commits = true
filter_unconventional = false
split_commits = false
protect_breaking_commits = false
filter_commits = false
tag_pattern = "v[0-9].*"
sort_commits = "oldest"
commit_parsers = [
  { message = "^chore\\(release\\)", skip = true },
  { message = "^Merge ", skip = true },
  { field = "breaking", pattern = "true", group = "Breaking changes" },
  { message = "(?i)^feat(\\([^)]*\\))?!?: ", group = "Features" },
  { message = "(?i)^fix(\\([^)]*\\))?!?: ", group = "Fixes" },
  { message = "(?i)^perf(\\([^)]*\\))?!?: ", group = "Performance" },
  { message = "(?i)^docs(\\([^)]*\\))?!?: ", group = "Documentation" },
  { message = ".*", group = "Other" },
]
"#;

/// A history with every kind of commit the groups care about, two release candidates and a
/// merge.
fn cliff_history() -> TestRepo {
    let r = TestRepo::new();
    r.commit("Initial commit");
    r.commit("feat: one");
    r.tag("v1.0.0");
    for m in [
        "feat(cli): add `--json` (#12)\n\nCo-authored-by: Jane Doe <jane@example.com>",
        "fix: crash on empty input",
        "perf(pack): parallel gzip",
        "docs: guide",
        "refactor(api)!: rename the config keys",
        "fix: handle `--to`\n\nBREAKING CHANGE: the old flag is gone",
        "chore(deps): bump serde",
        "ci: pipeline",
        "style: fmt",
        "test: more tests",
        "build(docker): image",
        "Update README",
        "WIP",
        "fixup! fix: crash on empty input",
        "Revert \"feat: one\"",
        "Feat: shouting case",
        "feat:no space after the colon",
        "chore: x\n\nBREAKING CHANGE: a chore can break too",
        "Not conventional\n\nBREAKING CHANGE: a footer without a conventional header",
        "refactor: tidy\n\nBREAKING-CHANGE: dash footer",
    ] {
        r.commit(m);
    }
    r.tag("v1.1.0-rc.1");
    r.commit("feat(a,b): multi scope");
    r.git(&["checkout", "-q", "-b", "topic"]);
    r.commit("docs(readme): from a branch");
    r.git(&["checkout", "-q", "main"]);
    r.commit("fix(deps)!: breaking fix");
    r.git(&["merge", "-q", "--no-ff", "-m", "Merge branch 'topic'", "topic"]);
    r.tag("v1.1.0-rc.2");
    r.commit("chore(release): v1.1.0");
    r.commit("perf: faster (#45)");
    r.tag("v1.1.0");
    r
}

/// git-cliff's releases: version → (commit id → group).
fn cliff_groups(r: &TestRepo, ignore_rc: bool) -> BTreeMap<String, BTreeMap<String, String>> {
    let cliff = tool(".venv/bin/git-cliff", "git-cliff");
    let mut config = CLIFF_CONFIG.to_string();
    if ignore_rc {
        config = config.replace("[git]\n", "[git]\nignore_tags = \"-rc\\\\.\"\n");
    }
    let config_path = r.path(".git/cliff.toml");
    std::fs::write(&config_path, config).unwrap();
    let out = Command::new(cliff)
        .arg("--config")
        .arg(&config_path)
        .arg("--repository")
        .arg(r.root())
        .arg("--context")
        .output()
        .expect("run git-cliff");
    assert!(out.status.success(), "git-cliff failed: {}", String::from_utf8_lossy(&out.stderr));
    let releases: serde_json::Value = serde_json::from_slice(&out.stdout).expect("git-cliff --context is JSON");
    let mut by_version = BTreeMap::new();
    for rel in releases.as_array().unwrap() {
        let version = rel["version"].as_str().unwrap_or("unreleased").to_string();
        let commits = rel["commits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["id"].as_str().unwrap().to_string(), c["group"].as_str().unwrap_or("?").to_string()))
            .collect();
        by_version.insert(version, commits);
    }
    by_version
}

fn relman_groups(r: &TestRepo, tag: &str) -> (Option<String>, BTreeMap<String, String>) {
    let settings = NotesSettings {
        root: r.root().to_path_buf(),
        tag_prefix: "v".into(),
        repository: None,
        config: NotesConfig::default(),
    };
    let out = notes::notes(&settings, &NotesOptions { tag: Some(tag.into()), ..NotesOptions::default() }).unwrap();
    let groups =
        out.notes.groups.iter().flat_map(|g| g.commits.iter().map(move |c| (c.id.clone(), g.title.clone()))).collect();
    (out.notes.previous_tag, groups)
}

fn subjects(r: &TestRepo, map: &BTreeMap<String, String>) -> Vec<String> {
    let mut v: Vec<String> =
        map.iter().map(|(id, g)| format!("{g}: {}", r.git(&["log", "-1", "--format=%s", id.as_str()]))).collect();
    v.sort();
    v
}

#[test]
fn git_cliff_puts_the_same_commits_in_the_same_groups() {
    let r = cliff_history();

    // Stable releases: git-cliff told to skip rc tags, relman skipping them by default.
    let cliff = cliff_groups(&r, true);
    assert_eq!(cliff.keys().collect::<Vec<_>>(), vec!["v1.0.0", "v1.1.0"]);
    for (tag, previous) in [("v1.0.0", None), ("v1.1.0", Some("v1.0.0"))] {
        let (prev, ours) = relman_groups(&r, tag);
        assert_eq!(prev.as_deref(), previous, "{tag}");
        assert_eq!(subjects(&r, &ours), subjects(&r, &cliff[tag]), "{tag}: relman (left) vs git-cliff (right)");
        assert_eq!(ours, cliff[tag], "{tag}");
    }
    // The range is not trivial: 24 commits (a merge and a release commit left out), every
    // group used.
    let (_, ours) = relman_groups(&r, "v1.1.0");
    assert_eq!(ours.len(), 24);
    let groups: std::collections::BTreeSet<&String> = ours.values().collect();
    assert_eq!(groups.len(), 6, "{groups:?}");

    // Pre-releases: each counts from the previous tag of any kind, as git-cliff does when it
    // sees every tag.
    let cliff = cliff_groups(&r, false);
    assert_eq!(cliff.keys().collect::<Vec<_>>(), vec!["v1.0.0", "v1.1.0", "v1.1.0-rc.1", "v1.1.0-rc.2"]);
    for (tag, previous) in [("v1.1.0-rc.1", "v1.0.0"), ("v1.1.0-rc.2", "v1.1.0-rc.1")] {
        let (prev, ours) = relman_groups(&r, tag);
        assert_eq!(prev.as_deref(), Some(previous), "{tag}");
        assert_eq!(subjects(&r, &ours), subjects(&r, &cliff[tag]), "{tag}: relman (left) vs git-cliff (right)");
    }
}

// ---------------------------------------------------------------------------------------------
// semantic-release: the next version.

/// A repository with a bare `origin` (semantic-release verifies it can push) and its config
/// kept out of `git status` (relman refuses a dirty tree).
struct SrRepo {
    repo: TestRepo,
    _remote: tempfile::TempDir,
}

impl SrRepo {
    fn new() -> SrRepo {
        let repo = TestRepo::new();
        let remote = tempfile::tempdir().unwrap();
        let bare = remote.path().join("origin.git");
        let out = Command::new("git").args(["init", "-q", "--bare", "-b", "main"]).arg(&bare).output().unwrap();
        assert!(out.status.success());
        repo.git(&["remote", "add", "origin", &format!("file://{}", bare.display())]);
        repo.write(
            ".releaserc.json",
            r#"{"branches": ["main", {"name": "rc", "prerelease": true}], "tagFormat": "v${version}",
 "plugins": [["@semantic-release/commit-analyzer", {"preset": "conventionalcommits"}]]}"#,
        );
        repo.write(".git/info/exclude", ".releaserc.json\n");
        SrRepo { repo, _remote: remote }
    }

    /// A tag semantic-release would have made on the `rc` channel.
    fn tag_rc(&self, tag: &str) {
        self.repo.tag(tag);
        // semantic-release reads notes on the commit (`git log --tags --no-walk --format=%N`).
        let commit = format!("{tag}^{{commit}}");
        self.repo.git(&[
            "notes",
            "--ref",
            &format!("semantic-release-{tag}"),
            "add",
            "-f",
            "-m",
            r#"{"channels":["rc"]}"#,
            &commit,
        ]);
    }

    fn publish(&self) {
        self.repo.git(&["push", "-q", "-f", "origin", "--all"]);
        self.repo.git(&["push", "-q", "-f", "origin", "--tags"]);
        if !self.repo.git(&["for-each-ref", "refs/notes"]).is_empty() {
            self.repo.git(&["push", "-q", "-f", "origin", "refs/notes/*"]);
        }
    }

    /// semantic-release's next version on the current branch, `None` for "no release".
    fn semantic_release(&self) -> Option<String> {
        self.publish();
        let sr = tool(".tools/node_modules/.bin/semantic-release", "semantic-release");
        let out = Command::new(sr)
            .args(["--dry-run", "--no-ci"])
            .current_dir(self.repo.root())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.repo.root())
            .output()
            .expect("run semantic-release");
        let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "semantic-release failed:\n{text}");
        if let Some(i) = text.find("next release version is ") {
            let rest = &text[i + "next release version is ".len()..];
            return Some(
                rest.split_whitespace()
                    .next()
                    .unwrap()
                    .trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
                    .to_string(),
            );
        }
        assert!(text.contains("no relevant changes"), "unexpected semantic-release output:\n{text}");
        None
    }

    /// relman's next version (`bump auto`, dry run), `None` when it refuses for lack of
    /// releasable commits.
    fn relman(&self, pre: Option<&str>) -> Option<String> {
        let opts = BumpOptions {
            root: self.repo.root().to_path_buf(),
            tag_prefix: "v".into(),
            repository: None,
            versions: VersionsConfig::default(),
            notes: NotesConfig::default(),
            spec: "auto".parse().unwrap(),
            pre: pre.map(str::to_string),
            dry_run: true,
            source_date_epoch: Some(0),
            changelog: None,
            ignore_dirty: vec![],
        };
        match bump::bump(&opts) {
            Ok(r) => Some(r.version),
            Err(f) if f.message.contains("calls for a release") => None,
            Err(f) => panic!("relman bump failed: {} ({:?})", f.message, f.hint),
        }
    }
}

struct Row {
    history: &'static str,
    /// Commits after the last tag (`tag:NAME` tags HEAD on the `rc` channel, `rc` switches to
    /// the `rc` branch, `merge` fast-forwards `main` to `rc`).
    steps: &'static [&'static str],
    first_tag: Option<&'static str>,
    pre: Option<&'static str>,
    relman: Option<&'static str>,
    semantic_release: Option<&'static str>,
    /// Why the two differ, when they do.
    why: &'static str,
}

fn run_row(row: &Row) -> Option<String> {
    let s = SrRepo::new();
    s.repo.commit("chore: init");
    if let Some(t) = row.first_tag {
        s.repo.tag(t);
    }
    for step in row.steps {
        match *step {
            "rc" => {
                s.repo.git(&["checkout", "-q", "-b", "rc"]);
            }
            "merge" => {
                s.repo.git(&["checkout", "-q", "main"]);
                s.repo.git(&["merge", "-q", "--ff-only", "rc"]);
            }
            t if t.starts_with("tag:") => s.tag_rc(&t[4..]),
            m => {
                s.repo.commit(m);
            }
        }
    }
    let ours = s.relman(row.pre);
    let theirs = s.semantic_release();
    (ours.as_deref() != row.relman || theirs.as_deref() != row.semantic_release).then(|| {
        format!(
            "{}: relman {:?} (expected {:?}), semantic-release {:?} (expected {:?})",
            row.history, ours, row.relman, theirs, row.semantic_release
        )
    })
}

/// Runs every row (in parallel: each has its own repositories) and reports all mismatches.
fn run_rows(rows: &[Row]) {
    for row in rows {
        if row.relman != row.semantic_release {
            assert!(!row.why.is_empty(), "{}: a difference must say why", row.history);
        }
    }
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = rows.iter().map(|row| scope.spawn(move || run_row(row))).collect();
        handles.into_iter().filter_map(|h| h.join().expect("row panicked")).collect()
    });
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn semantic_release_agrees_on_stable_histories() {
    run_rows(&[
        Row {
            history: "fix",
            steps: &["fix: a"],
            first_tag: Some("v1.0.0"),
            pre: None,
            relman: Some("1.0.1"),
            semantic_release: Some("1.0.1"),
            why: "",
        },
        Row {
            history: "perf",
            steps: &["perf: a"],
            first_tag: Some("v1.0.0"),
            pre: None,
            relman: Some("1.0.1"),
            semantic_release: Some("1.0.1"),
            why: "",
        },
        Row {
            history: "feat + fix",
            steps: &["fix: a", "feat(cli): b"],
            first_tag: Some("v1.0.0"),
            pre: None,
            relman: Some("1.1.0"),
            semantic_release: Some("1.1.0"),
            why: "",
        },
        Row {
            history: "feat!",
            steps: &["fix: a", "feat!: b"],
            first_tag: Some("v1.2.3"),
            pre: None,
            relman: Some("2.0.0"),
            semantic_release: Some("2.0.0"),
            why: "",
        },
        Row {
            history: "fix(scope)!",
            steps: &["fix(api)!: b"],
            first_tag: Some("v1.2.3"),
            pre: None,
            relman: Some("2.0.0"),
            semantic_release: Some("2.0.0"),
            why: "",
        },
        Row {
            history: "BREAKING CHANGE footer",
            steps: &["fix: a\n\nBREAKING CHANGE: the flag is gone"],
            first_tag: Some("v1.2.3"),
            pre: None,
            relman: Some("2.0.0"),
            semantic_release: Some("2.0.0"),
            why: "",
        },
        Row {
            history: "docs and chores only",
            steps: &["docs: a", "chore: b", "ci: c"],
            first_tag: Some("v1.0.0"),
            pre: None,
            relman: None,
            semantic_release: None,
            why: "",
        },
    ]);
}

#[test]
fn semantic_release_agrees_on_0x_except_breaking_changes() {
    run_rows(&[
        Row {
            history: "0.x feat",
            steps: &["feat: a"],
            first_tag: Some("v0.3.0"),
            pre: None,
            relman: Some("0.4.0"),
            semantic_release: Some("0.4.0"),
            why: "",
        },
        Row {
            history: "0.x fix",
            steps: &["fix: a"],
            first_tag: Some("v0.3.0"),
            pre: None,
            relman: Some("0.3.1"),
            semantic_release: Some("0.3.1"),
            why: "",
        },
        Row {
            history: "0.x feat!",
            steps: &["feat!: a"],
            first_tag: Some("v0.3.0"),
            pre: None,
            relman: Some("0.4.0"),
            semantic_release: Some("1.0.0"),
            why: "semver says anything may change while 0.x, and Cargo treats 0.x minors as breaking: relman \
                  bumps the minor (release-please's `bump-minor-pre-major`); 1.0.0 is a decision, made with \
                  `relman bump major`",
        },
        Row {
            history: "first release, no tag",
            steps: &["feat: a"],
            first_tag: None,
            pre: None,
            relman: Some("0.1.0"),
            semantic_release: Some("1.0.0"),
            why: "semantic-release always starts at 1.0.0; relman starts from the version the files record \
                  (here none: 0.0.0) and honours 0.x",
        },
    ]);
}

#[test]
fn semantic_release_agrees_on_pre_releases_and_their_final() {
    run_rows(&[
        Row {
            history: "rc after a stable",
            steps: &["rc", "feat: a"],
            first_tag: Some("v1.0.0"),
            pre: Some("rc"),
            relman: Some("1.1.0-rc.1"),
            semantic_release: Some("1.1.0-rc.1"),
            why: "",
        },
        Row {
            history: "rc counter",
            steps: &["rc", "feat: a", "tag:v1.1.0-rc.1", "fix: b"],
            first_tag: Some("v1.0.0"),
            pre: Some("rc"),
            relman: Some("1.1.0-rc.2"),
            semantic_release: Some("1.1.0-rc.2"),
            why: "",
        },
        Row {
            history: "breaking change during the rc",
            steps: &["rc", "feat: a", "tag:v1.1.0-rc.1", "feat!: b"],
            first_tag: Some("v1.0.0"),
            pre: Some("rc"),
            relman: Some("2.0.0-rc.1"),
            semantic_release: Some("2.0.0-rc.1"),
            why: "",
        },
        Row {
            history: "rc becomes final",
            steps: &["rc", "feat: a", "tag:v1.1.0-rc.1", "fix: b", "tag:v1.1.0-rc.2", "merge"],
            first_tag: Some("v1.0.0"),
            pre: None,
            relman: Some("1.1.0"),
            semantic_release: Some("1.1.0"),
            why: "",
        },
    ]);
}
