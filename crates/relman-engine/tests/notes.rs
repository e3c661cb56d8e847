//! `relman notes` and `relman changelog` on real repositories.

mod support;

use relman_engine::changelog::{self, ChangelogOptions};
use relman_engine::git::Repo;
use relman_engine::notes::{self, GroupConfig, NotesConfig, NotesOptions, NotesOutput, NotesSettings};
use relman_engine::ErrorClass;
use support::TestRepo;

fn settings(r: &TestRepo) -> NotesSettings {
    NotesSettings {
        root: r.root().to_path_buf(),
        tag_prefix: "v".into(),
        repository: None,
        config: NotesConfig::default(),
    }
}

fn run(r: &TestRepo, opts: NotesOptions) -> NotesOutput {
    notes::notes(&settings(r), &opts).unwrap_or_else(|f| panic!("notes failed: {} ({:?})", f.message, f.hint))
}

/// (group title, descriptions) in order.
fn groups(out: &NotesOutput) -> Vec<(String, Vec<String>)> {
    out.notes
        .groups
        .iter()
        .map(|g| (g.title.clone(), g.commits.iter().map(|c| c.description.clone()).collect()))
        .collect()
}

fn descriptions(out: &NotesOutput) -> Vec<String> {
    let mut all: Vec<String> =
        out.notes.groups.iter().flat_map(|g| g.commits.iter().map(|c| c.description.clone())).collect();
    all.sort();
    all
}

fn tag_opts(tag: &str) -> NotesOptions {
    NotesOptions { tag: Some(tag.into()), ..NotesOptions::default() }
}

#[test]
fn stable_release_skips_the_rcs_in_between_and_rc_counts_from_the_previous_tag() {
    let r = TestRepo::new();
    r.commit("feat: first");
    r.tag("v1.0.0");
    r.commit("feat: a");
    r.tag("v1.1.0-rc.1");
    r.commit("fix: b");
    r.tag("v1.1.0-rc.2");
    r.commit("fix: c");
    r.tag("v1.1.0");

    let stable = run(&r, NotesOptions { to: Some("v1.1.0".into()), ..Default::default() });
    assert_eq!(stable.notes.previous_tag.as_deref(), Some("v1.0.0"));
    assert_eq!(stable.notes.version.as_deref(), Some("1.1.0"));
    assert_eq!(descriptions(&stable), vec!["a", "b", "c"]);

    let rc2 = run(&r, tag_opts("v1.1.0-rc.2"));
    assert_eq!(rc2.notes.previous_tag.as_deref(), Some("v1.1.0-rc.1"));
    assert_eq!(descriptions(&rc2), vec!["b"]);

    // HEAD carries exactly one release tag: that is the release described.
    let head = run(&r, NotesOptions::default());
    assert_eq!(head.notes.tag.as_deref(), Some("v1.1.0"));
    assert_eq!(descriptions(&head), vec!["a", "b", "c"]);
}

#[test]
fn rc_and_final_on_one_commit_needs_the_tag_named_and_then_never_guesses() {
    let r = TestRepo::new();
    r.commit("feat: one");
    r.tag("v1.0.0");
    r.commit("feat: two");
    r.tag("v2.0.0-beta.1");
    r.commit("fix: three");
    r.tag("v2.0.0-rc.1");
    r.tag("v2.0.0");

    let err = notes::notes(&settings(&r), &NotesOptions::default()).unwrap_err();
    assert_eq!(err.class, ErrorClass::Usage);
    assert!(err.message.contains("several release tags point at `HEAD`"), "{}", err.message);
    assert!(err.message.contains("`v2.0.0`") && err.message.contains("`v2.0.0-rc.1`"), "{}", err.message);
    assert!(err.hint.unwrap().contains("--tag"));

    let final_ = run(&r, tag_opts("v2.0.0"));
    assert_eq!(final_.notes.previous_tag.as_deref(), Some("v1.0.0"));
    assert_eq!(descriptions(&final_), vec!["three", "two"]);

    let rc = run(&r, tag_opts("v2.0.0-rc.1"));
    assert_eq!(rc.notes.previous_tag.as_deref(), Some("v2.0.0-beta.1"));
    assert_eq!(descriptions(&rc), vec!["three"]);

    // `--to <tag>` names the release too.
    let via_to = run(&r, NotesOptions { to: Some("v2.0.0-rc.1".into()), ..Default::default() });
    assert_eq!(via_to.notes.previous_tag.as_deref(), Some("v2.0.0-beta.1"));
}

#[test]
fn tags_that_are_not_semver_are_ignored_with_a_warning() {
    let r = TestRepo::new();
    r.commit("feat: one");
    r.tag("v1.0.0");
    r.commit("fix: two");
    r.tag_light("v1.1"); // not semver
    r.tag("release-candidate");
    r.commit("fix: three");
    r.tag("v1.0.1");
    let out = run(&r, NotesOptions::default());
    assert_eq!(out.notes.previous_tag.as_deref(), Some("v1.0.0"));
    assert_eq!(descriptions(&out), vec!["three", "two"]);
    assert_eq!(out.notes.warnings.len(), 1, "{:?}", out.notes.warnings);
    let w = &out.notes.warnings[0];
    assert!(w.contains("`v1.1`") && w.contains("`release-candidate`") && w.contains("ignored 2 tags"), "{w}");
}

#[test]
fn no_previous_tag_means_the_whole_history() {
    let r = TestRepo::new();
    r.commit("Initial commit");
    r.commit("feat: a");
    r.commit("fix: b");
    let out = run(&r, NotesOptions::default());
    assert_eq!(out.notes.previous_tag, None);
    assert_eq!(out.notes.from_commit, None);
    assert_eq!(out.notes.version, None);
    assert_eq!(descriptions(&out), vec!["Initial commit", "a", "b"]);
    assert!(out.markdown.starts_with("## Unreleased\n"), "{}", out.markdown);

    // The first release: still the whole history.
    r.tag("v0.1.0");
    let first = run(&r, NotesOptions::default());
    assert_eq!(first.notes.previous_tag, None);
    assert_eq!(first.notes.commit_count, 3);
}

#[test]
fn from_a_tag_that_is_not_an_ancestor_is_a_git_error() {
    let r = TestRepo::new();
    r.commit("feat: base");
    r.git(&["checkout", "-q", "-b", "side"]);
    r.commit("fix: on the side");
    r.tag("v0.9.9");
    r.git(&["checkout", "-q", "main"]);
    r.commit("feat: on main");
    let err =
        notes::notes(&settings(&r), &NotesOptions { from: Some("v0.9.9".into()), ..Default::default() }).unwrap_err();
    assert_eq!(err.class, ErrorClass::Git);
    assert!(
        err.message.contains("`v0.9.9`") && err.message.contains("is not an ancestor of `HEAD`"),
        "{}",
        err.message
    );

    let err =
        notes::notes(&settings(&r), &NotesOptions { from: Some("v9.9.9".into()), ..Default::default() }).unwrap_err();
    assert_eq!(err.class, ErrorClass::Git);
    assert!(err.message.contains("`v9.9.9` is not a commit"), "{}", err.message);

    // A tag on another branch is not taken as the previous release either.
    let out = run(&r, NotesOptions::default());
    assert_eq!(out.notes.previous_tag, None);
    assert_eq!(descriptions(&out), vec!["base", "on main"]);
}

#[test]
fn groups_scopes_prs_coauthors_and_what_is_left_out() {
    let r = TestRepo::new();
    r.commit("chore: init");
    r.tag("v0.9.0");
    r.commit("feat(cli): add `--json` (#12)\n\nCo-authored-by: Jane Doe <jane@example.com>");
    r.commit("fix: crash on empty input");
    r.commit("perf(pack): parallel gzip");
    r.commit("docs: explain channels");
    r.commit("refactor(api)!: rename the config keys\n\nBREAKING CHANGE: `a` is now `b`");
    r.commit("fix: handle `--to`\n\nBREAKING-CHANGE: the old flag is gone");
    r.commit("Update README");
    r.commit("chore(deps): bump serde");
    r.git(&["checkout", "-q", "-b", "topic"]);
    r.commit("feat: from a branch");
    r.git(&["checkout", "-q", "main"]);
    r.commit("test: more tests");
    r.git(&["merge", "-q", "--no-ff", "-m", "Merge branch 'topic'", "topic"]);
    r.commit("chore(release): v0.9.1");

    let mut s = settings(&r);
    s.repository = Some("git@github.com:acme/app.git".into());
    let out = notes::notes(&s, &NotesOptions::default()).unwrap();
    assert_eq!(
        groups(&out),
        vec![
            ("Breaking changes".to_string(), vec!["rename the config keys".to_string(), "handle `--to`".to_string()]),
            ("Features".to_string(), vec!["add `--json` (#12)".to_string(), "from a branch".to_string()]),
            ("Fixes".to_string(), vec!["crash on empty input".to_string()]),
            ("Performance".to_string(), vec!["parallel gzip".to_string()]),
            ("Documentation".to_string(), vec!["explain channels".to_string()]),
            (
                "Other".to_string(),
                vec!["Update README".to_string(), "bump serde".to_string(), "more tests".to_string()]
            ),
        ]
    );
    assert_eq!(out.notes.skipped, 1, "the chore(release) commit");
    assert_eq!(out.notes.commit_count, 10, "merge commit left out");
    let feat = &out.notes.groups[1].commits[0];
    assert_eq!(feat.scope.as_deref(), Some("cli"));
    assert_eq!(feat.prs, vec![12]);
    assert_eq!(feat.co_authors, vec!["Jane Doe"]);
    let md = &out.markdown;
    assert!(
        md.contains("- **cli:** add `--json` ([#12](https://github.com/acme/app/pull/12)) ([")
            && md.contains("co-authored by Jane Doe"),
        "{md}"
    );
    assert!(md.contains("- **api:** rename the config keys ("), "{md}");
    assert!(md.contains("\n  `a` is now `b`\n"), "{md}");
    assert!(md.contains("https://github.com/acme/app/commit/"), "{md}");
    assert!(md.starts_with("## Unreleased"), "{md}");
    assert!(!md.contains("Merge branch") && !md.contains("chore(release)") && !md.contains("v0.9.1"), "{md}");

    // Without a repository URL nothing is linked, and nothing is lost.
    let plain = run(&r, NotesOptions::default());
    assert!(plain.markdown.contains("add `--json` (#12) ("), "{}", plain.markdown);
    assert!(!plain.markdown.contains("https://"), "{}", plain.markdown);
}

#[test]
fn configured_groups_keep_their_order_and_excluded_types_go() {
    let r = TestRepo::new();
    r.commit("fix: one");
    r.commit("feat: two");
    r.commit("ci: three");
    r.commit("Not conventional");
    r.commit("docs: four");
    let mut s = settings(&r);
    s.config = NotesConfig {
        groups: Some(vec![
            GroupConfig { title: "Bugs".into(), types: vec!["fix".into()], breaking: false },
            GroupConfig { title: "New".into(), types: vec!["feat".into(), "docs".into()], breaking: false },
        ]),
        template: None,
        exclude_types: vec!["ci".into()],
        changelog: None,
    };
    let out = notes::notes(&s, &NotesOptions::default()).unwrap();
    assert_eq!(
        groups(&out),
        vec![
            ("Bugs".to_string(), vec!["one".to_string()]),
            ("New".to_string(), vec!["two".to_string(), "four".to_string()]),
            ("Other".to_string(), vec!["Not conventional".to_string()]),
        ]
    );
    assert_eq!(out.notes.skipped, 1);
}

#[test]
fn a_template_file_replaces_the_default_and_its_errors_name_it() {
    let r = TestRepo::new();
    r.commit("feat(x): one");
    r.tag("v1.0.0");
    r.write("notes.j2", "{{ tag }}:{% for g in groups %} {{ g.title }}={{ g.commits | length }}{% endfor %}\n");
    let mut s = settings(&r);
    s.config.template = Some("notes.j2".into());
    let out = notes::notes(&s, &NotesOptions::default()).unwrap();
    assert_eq!(out.markdown, "v1.0.0: Features=1\n");

    r.write("bad.j2", "line one\n{% for g in groups %}\n");
    s.config.template = Some("bad.j2".into());
    let err = notes::notes(&s, &NotesOptions::default()).unwrap_err();
    assert_eq!(err.class, ErrorClass::Config);
    assert!(err.message.contains("`bad.j2`"), "{}", err.message);

    s.config.template = Some("missing.j2".into());
    let err = notes::notes(&s, &NotesOptions::default()).unwrap_err();
    assert_eq!(err.class, ErrorClass::Config);
    assert!(err.message.contains("missing.j2"), "{}", err.message);
}

#[test]
fn release_notes_for_gives_the_same_text_as_notes() {
    let r = TestRepo::new();
    r.commit("feat: one");
    r.tag("v1.0.0");
    r.commit("fix: two");
    r.tag("v1.0.1");
    let repo = Repo::discover(r.root()).unwrap();
    let v = semver::Version::parse("1.0.1").unwrap();
    let text = notes::release_notes_for(&repo, &settings(&r), &v, "v1.0.1", None).unwrap();
    assert_eq!(text, run(&r, tag_opts("v1.0.1")).markdown);
    assert!(text.starts_with("## 1.0.1 - "), "{text}");
    assert!(text.contains("### Fixes\n\n- two ("), "{text}");
}

#[test]
fn whole_history_ignores_previous_releases() {
    let r = TestRepo::new();
    r.commit("feat: one");
    r.tag("v1.0.0");
    r.commit("fix: two");
    let out = run(&r, NotesOptions { whole_history: true, ..Default::default() });
    assert_eq!(out.notes.commit_count, 2);
}

#[test]
fn changelog_prepends_once() {
    let r = TestRepo::new();
    r.commit("feat: one");
    r.tag("v1.0.0");
    r.commit("fix: two");
    r.tag("v1.1.0");
    r.write("CHANGELOG.md", "# Changelog\n\nAll notable changes.\n\n## 1.0.0 - 2023-11-14\n\n- one\n");
    let s = settings(&r);
    let first = changelog::changelog(&s, &ChangelogOptions::default()).unwrap();
    assert!(first.changed);
    assert_eq!(first.version, "1.1.0");
    assert!(first.diff.contains("+## 1.1.0 - "), "{}", first.diff);
    let text = r.read("CHANGELOG.md");
    assert!(text.starts_with("# Changelog\n\nAll notable changes.\n\n## 1.1.0 - "), "{text}");
    assert!(text.contains("### Fixes\n\n- two ("), "{text}");
    assert!(text.ends_with("\n## 1.0.0 - 2023-11-14\n\n- one\n"), "{text}");

    let second = changelog::changelog(&s, &ChangelogOptions::default()).unwrap();
    assert!(!second.changed);
    assert_eq!(second.diff, "");
    assert_eq!(r.read("CHANGELOG.md"), text);

    // Dry run on a new file: a diff, no file.
    let dry = changelog::changelog(
        &s,
        &ChangelogOptions { path: Some("docs/CHANGES.md".into()), dry_run: true, ..ChangelogOptions::default() },
    )
    .unwrap();
    assert!(dry.changed && dry.created);
    assert!(dry.diff.starts_with("--- /dev/null\n+++ b/docs/CHANGES.md\n"), "{}", dry.diff);
    assert!(!r.path("docs/CHANGES.md").exists());

    // No release tag at HEAD: nothing to write, and the error says how to name one.
    r.commit("fix: three");
    let err = changelog::changelog(&s, &ChangelogOptions::default()).unwrap_err();
    assert_eq!(err.class, ErrorClass::Usage);
    assert!(err.message.contains("has no release tag"), "{}", err.message);
}

#[test]
fn a_newer_tag_on_a_maintenance_branch_is_not_the_previous_release() {
    let r = TestRepo::new();
    r.commit("feat: one");
    r.tag("v1.0.0");
    r.git(&["checkout", "-q", "-b", "release-1.0"]);
    r.commit("fix: backported");
    r.tag("v1.0.1");
    r.git(&["checkout", "-q", "main"]);
    r.commit("feat: two");
    r.commit("fix: three");
    r.tag("v1.1.0");
    let out = run(&r, NotesOptions::default());
    assert_eq!(out.notes.previous_tag.as_deref(), Some("v1.0.0"));
    assert_eq!(descriptions(&out), vec!["three", "two"]);
    // And the backport's notes count from v1.0.0 on its own branch.
    let backport = run(&r, tag_opts("v1.0.1"));
    assert_eq!(backport.notes.previous_tag.as_deref(), Some("v1.0.0"));
    assert_eq!(descriptions(&backport), vec!["backported"]);
}

#[test]
fn the_previous_release_is_found_through_merges() {
    let r = TestRepo::new();
    r.commit("feat: a");
    r.tag("v1.0.0");
    r.git(&["checkout", "-q", "-b", "side"]);
    r.commit("fix: b");
    r.tag("v1.0.1"); // released from the side branch, then merged back
    r.git(&["checkout", "-q", "main"]);
    r.commit("feat: c");
    r.git(&["merge", "-q", "--no-ff", "-m", "Merge branch 'side'", "side"]);
    r.tag("v1.1.0-rc.1"); // a tag on the merge commit itself
    r.commit("fix: d");
    let out = run(&r, NotesOptions::default());
    assert_eq!(out.notes.previous_tag.as_deref(), Some("v1.1.0-rc.1"));
    assert_eq!(descriptions(&out), vec!["d"]);
    // For a stable release the rc on the merge is skipped; v1.0.1 (merged in) is the previous.
    let stable = run(&r, NotesOptions { tag: Some("v1.1.0".into()), ..Default::default() });
    assert_eq!(stable.notes.previous_tag.as_deref(), Some("v1.0.1"));
    assert_eq!(descriptions(&stable), vec!["c", "d"]);
}
