//! SLSA provenance statements: structure, subjects, CI contexts, and no secrets.
//!
//! CI variables come from fake maps handed to `CiContext::from_env`, so the tests never read
//! or change the process environment and run in parallel.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use relman_engine::provenance::{self, Archive, CiContext, CiProvider, ProvenanceInput, CI_VARIABLES};
use relman_engine::sbom::ReleaseSubject;
use relman_engine::ErrorClass;
use relman_manifest::Sha256;
use serde_json::Value;

const COMMIT: &str = "4f2c1d0e9b8a7f6e5d4c3b2a1908f7e6d5c4b3a2";

fn sha(c: char) -> Sha256 {
    Sha256::parse(&c.to_string().repeat(64)).unwrap()
}

fn input(ci: CiContext) -> ProvenanceInput {
    ProvenanceInput {
        dependencies: Vec::new(),
        release: ReleaseSubject {
            name: "app".into(),
            version: "1.4.2".into(),
            commit: COMMIT.into(),
            repository: Some("https://github.com/acme/app".into()),
            source_date_epoch: 1_714_521_600,
        },
        tag: "v1.4.2".into(),
        targets: vec!["x86_64-unknown-linux-gnu".into(), "aarch64-apple-darwin".into()],
        archives: vec![
            Archive { name: "app-1.4.2-x86_64-unknown-linux-gnu.tar.gz".into(), sha256: sha('b') },
            Archive { name: "app-1.4.2-aarch64-apple-darwin.tar.gz".into(), sha256: sha('a') },
            Archive { name: "app-1.4.2-x86_64-pc-windows-msvc.zip".into(), sha256: sha('c') },
        ],
        toolchain: BTreeMap::from([
            ("rustc".to_string(), "rustc 1.95.0 (59807616e 2026-04-14)".to_string()),
            ("cargo".to_string(), "cargo 1.95.0 (f2d3ce0bd 2026-03-21)".to_string()),
        ]),
        relman_version: "0.1.0".into(),
        ci,
        started_on: Some(1_714_600_000),
        finished_on: Some(1_714_600_321),
    }
}

/// A `get` over a fixed map that records every name asked for.
fn env<'a>(
    vars: &'a [(&'a str, &'a str)],
    asked: &'a RefCell<BTreeSet<String>>,
) -> impl Fn(&str) -> Option<String> + 'a {
    move |name: &str| {
        asked.borrow_mut().insert(name.to_string());
        vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }
}

fn ci(vars: &[(&str, &str)]) -> CiContext {
    let asked = RefCell::new(BTreeSet::new());
    CiContext::from_env(env(vars, &asked))
}

const GITHUB: &[(&str, &str)] = &[
    ("CI", "true"),
    ("GITHUB_ACTIONS", "true"),
    ("GITHUB_SERVER_URL", "https://github.com"),
    ("GITHUB_REPOSITORY", "acme/app"),
    ("GITHUB_WORKFLOW", "release"),
    ("GITHUB_WORKFLOW_REF", "acme/app/.github/workflows/release.yml@refs/tags/v1.4.2"),
    ("GITHUB_RUN_ID", "9412345678"),
    ("GITHUB_RUN_NUMBER", "57"),
    ("GITHUB_RUN_ATTEMPT", "2"),
    ("GITHUB_EVENT_NAME", "push"),
    ("GITHUB_REF", "refs/tags/v1.4.2"),
    ("GITHUB_SHA", COMMIT),
    ("RUNNER_ENVIRONMENT", "github-hosted"),
];

const FORGEJO: &[(&str, &str)] = &[
    ("CI", "true"),
    ("GITHUB_ACTIONS", "true"),
    ("FORGEJO_ACTIONS", "true"),
    ("FORGEJO_SERVER_URL", "https://codeberg.org"),
    ("GITHUB_SERVER_URL", "https://codeberg.org"),
    ("FORGEJO_REPOSITORY", "acme/app"),
    ("GITHUB_REPOSITORY", "acme/app"),
    ("GITHUB_WORKFLOW", "release.yml"),
    ("GITHUB_RUN_ID", "881234"),
    ("FORGEJO_RUN_NUMBER", "42"),
    ("GITHUB_RUN_NUMBER", "42"),
    ("GITHUB_REF", "refs/tags/v1.4.2"),
];

const GITLAB: &[(&str, &str)] = &[
    ("CI", "true"),
    ("GITLAB_CI", "true"),
    ("CI_SERVER_URL", "https://gitlab.example.com"),
    ("CI_PROJECT_PATH", "group/sub/app"),
    ("CI_PIPELINE_ID", "1234"),
    ("CI_PIPELINE_URL", "https://gitlab.example.com/group/sub/app/-/pipelines/1234"),
    ("CI_PIPELINE_SOURCE", "push"),
    ("CI_JOB_ID", "98765"),
    ("CI_JOB_URL", "https://gitlab.example.com/group/sub/app/-/jobs/98765"),
    ("CI_RUNNER_ID", "17"),
    ("CI_COMMIT_REF_NAME", "v1.4.2"),
    ("CI_COMMIT_SHA", COMMIT),
];

#[test]
fn statement_has_the_slsa_v1_structure_and_the_archives_as_subjects() {
    let input = input(CiContext::local());
    let st = provenance::statement(&input).unwrap();
    assert_eq!(st["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(st["predicateType"], "https://slsa.dev/provenance/v1");
    assert_eq!(provenance::PAYLOAD_TYPE, "application/vnd.in-toto+json");

    let subjects: Vec<(&str, &str)> = st["subject"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["digest"]["sha256"].as_str().unwrap()))
        .collect();
    let mut expected: Vec<(&str, &str)> = input.archives.iter().map(|a| (a.name.as_str(), a.sha256.as_str())).collect();
    expected.sort();
    assert_eq!(subjects, expected, "every archive, by name, with its sha256");

    let bd = &st["predicate"]["buildDefinition"];
    assert_eq!(bd["buildType"], provenance::BUILD_TYPE);
    assert_eq!(bd["externalParameters"]["version"], "1.4.2");
    assert_eq!(bd["externalParameters"]["tag"], "v1.4.2");
    assert_eq!(
        bd["externalParameters"]["targets"],
        serde_json::json!(["aarch64-apple-darwin", "x86_64-unknown-linux-gnu"])
    );
    assert_eq!(bd["internalParameters"]["toolchain"]["rustc"], "rustc 1.95.0 (59807616e 2026-04-14)");
    assert_eq!(bd["internalParameters"]["toolchain"]["cargo"], "cargo 1.95.0 (f2d3ce0bd 2026-03-21)");
    assert_eq!(bd["internalParameters"]["ci"]["provider"], "local");
    let deps = bd["resolvedDependencies"].as_array().unwrap();
    assert_eq!(deps.len(), 1);
    assert_eq!(deps[0]["uri"], "git+https://github.com/acme/app@refs/tags/v1.4.2");
    assert_eq!(deps[0]["digest"]["gitCommit"], COMMIT);

    let rd = &st["predicate"]["runDetails"];
    assert_eq!(rd["builder"]["id"], provenance::LOCAL_BUILDER_ID);
    assert_eq!(rd["builder"]["version"]["relman"], "0.1.0");
    assert!(rd["metadata"]["invocationId"].as_str().unwrap().starts_with("urn:uuid:"));
    assert_eq!(rd["metadata"]["startedOn"], "2024-05-01T21:46:40Z");
    assert_eq!(rd["metadata"]["finishedOn"], "2024-05-01T21:52:01Z");

    // The DSSE payload: compact JSON of the same statement, and what the verifier reads back.
    let text = provenance::statement_json(&input).unwrap();
    assert!(!text.contains('\n'));
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), st);
    let mut back = provenance::subjects(&text, "app-1.4.2.intoto.jsonl").unwrap();
    back.sort();
    let mut given = input.archives.clone();
    given.sort();
    assert_eq!(back, given);
}

#[test]
fn archives_are_required_and_each_name_has_one_digest() {
    let mut none = input(CiContext::local());
    none.archives.clear();
    let err = provenance::statement(&none).unwrap_err();
    assert_eq!(err.class, ErrorClass::Package);
    assert!(err.message.contains("no archives"), "{}", err.message);

    let mut twice = input(CiContext::local());
    twice.archives.push(Archive { name: "app-1.4.2-aarch64-apple-darwin.tar.gz".into(), sha256: sha('d') });
    let err = provenance::statement(&twice).unwrap_err();
    assert!(
        err.message.contains("`app-1.4.2-aarch64-apple-darwin.tar.gz`") && err.message.contains("aaaaaaaaaaaa"),
        "{}",
        err.message
    );

    let mut same = input(CiContext::local());
    same.archives.push(same.archives[0].clone());
    assert_eq!(
        provenance::statement(&same).unwrap()["subject"].as_array().unwrap().len(),
        3,
        "an exact repeat is one subject"
    );
}

#[test]
fn subjects_are_read_only_from_slsa_statements() {
    let text = provenance::statement_json(&input(CiContext::local())).unwrap();
    let wrong_type = text.replace("https://slsa.dev/provenance/v1", "https://example.com/other");
    let err = provenance::subjects(&wrong_type, "x.intoto.jsonl").unwrap_err();
    assert_eq!(err.class, ErrorClass::Verify);
    assert!(err.message.contains("`x.intoto.jsonl`") && err.message.contains("predicateType"), "{}", err.message);
    let bad_digest = text.replace(&"a".repeat(64), "not-a-digest");
    assert!(provenance::subjects(&bad_digest, "x").unwrap_err().message.contains("subject[0].digest.sha256"));
}

#[test]
fn github_actions_run_names_the_workflow_and_the_run_attempt() {
    let ctx = ci(GITHUB);
    assert_eq!(ctx.provider, CiProvider::GitHubActions);
    assert_eq!(ctx.builder_id(), "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.4.2");
    assert_eq!(ctx.invocation_id().as_deref(), Some("https://github.com/acme/app/actions/runs/9412345678/attempts/2"));
    let st = provenance::statement(&input(ctx)).unwrap();
    assert_eq!(
        st["predicate"]["runDetails"]["builder"]["id"],
        "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.4.2"
    );
    assert_eq!(
        st["predicate"]["runDetails"]["metadata"]["invocationId"],
        "https://github.com/acme/app/actions/runs/9412345678/attempts/2"
    );
    let wf = &st["predicate"]["buildDefinition"]["externalParameters"]["workflow"];
    assert_eq!(wf["ref"], "acme/app/.github/workflows/release.yml@refs/tags/v1.4.2");
    let ci = &st["predicate"]["buildDefinition"]["internalParameters"]["ci"];
    assert_eq!(ci["provider"], "github-actions");
    assert_eq!(ci["runnerEnvironment"], "github-hosted");
    assert_eq!(ci["sha"], COMMIT);
}

#[test]
fn forgejo_and_gitea_actions_are_not_taken_for_github() {
    let ctx = ci(FORGEJO);
    assert_eq!(ctx.provider, CiProvider::ForgejoActions, "Forgejo also sets GITHUB_ACTIONS");
    assert_eq!(ctx.server_url.as_deref(), Some("https://codeberg.org"));
    assert_eq!(
        ctx.invocation_id().as_deref(),
        Some("https://codeberg.org/acme/app/actions/runs/42"),
        "runs are numbered per repository"
    );
    assert_eq!(ctx.builder_id(), "https://codeberg.org/acme/app/actions?workflow=release.yml");
    let st = provenance::statement(&input(ctx)).unwrap();
    assert_eq!(st["predicate"]["buildDefinition"]["internalParameters"]["ci"]["provider"], "forgejo-actions");

    let gitea: Vec<(&str, &str)> = vec![
        ("GITHUB_ACTIONS", "true"),
        ("GITEA_ACTIONS", "true"),
        ("GITHUB_SERVER_URL", "https://gitea.example.com/"),
        ("GITHUB_REPOSITORY", "acme/app"),
        ("GITHUB_RUN_NUMBER", "7"),
        ("GITHUB_RUN_ID", "3001"),
    ];
    let ctx = ci(&gitea);
    assert_eq!(ctx.provider, CiProvider::GiteaActions);
    assert_eq!(ctx.invocation_id().as_deref(), Some("https://gitea.example.com/acme/app/actions/runs/7"));
    assert_eq!(ctx.builder_id(), "https://gitea.example.com/acme/app/actions");
}

#[test]
fn gitlab_ci_names_the_runner_and_the_job() {
    let ctx = ci(GITLAB);
    assert_eq!(ctx.provider, CiProvider::GitLabCi);
    assert_eq!(ctx.builder_id(), "https://gitlab.example.com/group/sub/app/-/runners/17");
    assert_eq!(ctx.invocation_id().as_deref(), Some("https://gitlab.example.com/group/sub/app/-/jobs/98765"));
    let mut i = input(ctx);
    i.release.repository = None; // the source URI then comes from the CI's project URL
    let st = provenance::statement(&i).unwrap();
    assert_eq!(
        st["predicate"]["buildDefinition"]["resolvedDependencies"][0]["uri"],
        "git+https://gitlab.example.com/group/sub/app@refs/tags/v1.4.2"
    );
    assert_eq!(st["predicate"]["buildDefinition"]["internalParameters"]["ci"]["pipelineId"], "1234");
}

#[test]
fn the_source_is_named_by_its_repository_or_by_commit_alone() {
    let mut i = input(CiContext::local());
    i.release.repository = Some("file:///srv/git/app.git".into());
    let st = provenance::statement(&i).unwrap();
    assert_eq!(
        st["predicate"]["buildDefinition"]["resolvedDependencies"][0]["uri"],
        "git+file:///srv/git/app.git@refs/tags/v1.4.2"
    );
    i.release.repository = None;
    i.tag = String::new();
    let st = provenance::statement(&i).unwrap();
    let dep = &st["predicate"]["buildDefinition"]["resolvedDependencies"][0];
    assert!(dep.get("uri").is_none());
    assert_eq!(dep["name"], format!("app@{COMMIT}"));
    assert_eq!(dep["digest"]["gitCommit"], COMMIT);
    assert!(st["predicate"]["buildDefinition"]["externalParameters"].get("tag").is_none());
}

#[test]
fn outside_ci_the_builder_is_local() {
    for vars in [&[][..], &[("CI", "true")][..], &[("GITHUB_ACTIONS", "false"), ("GITLAB_CI", "")][..]] {
        let ctx = ci(vars);
        assert_eq!(ctx, CiContext::local(), "{vars:?}");
        assert_eq!(ctx.invocation_id(), None);
    }
    let a = provenance::statement(&input(CiContext::local())).unwrap();
    let mut later = input(CiContext::local());
    later.started_on = Some(1_800_000_000);
    let b = provenance::statement(&later).unwrap();
    let id = |v: &Value| v["predicate"]["runDetails"]["metadata"]["invocationId"].as_str().unwrap().to_string();
    assert_ne!(id(&a), id(&b), "two local runs are two invocations");
}

#[test]
fn secrets_in_the_environment_never_reach_the_statement() {
    let secrets: &[(&str, &str)] = &[
        ("GITHUB_TOKEN", "ghs_s3cr3tGithubToken"),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "s3cr3t-oidc-request"),
        ("ACTIONS_RUNTIME_TOKEN", "s3cr3t-runtime"),
        ("FORGEJO_TOKEN", "s3cr3t-forgejo"),
        ("GITEA_TOKEN", "s3cr3t-gitea"),
        ("CI_JOB_TOKEN", "s3cr3t-job-token"),
        ("CI_REGISTRY_PASSWORD", "s3cr3t-registry"),
        ("CI_REPOSITORY_URL", "https://gitlab-ci-token:s3cr3t-in-url@gitlab.example.com/group/sub/app.git"),
        ("RELMAN_PASSWORD", "s3cr3t-relman-pass"),
        ("COSIGN_PASSWORD", "s3cr3t-cosign-pass"),
        ("AWS_SECRET_ACCESS_KEY", "s3cr3t-aws"),
        ("DEPLOY_SECRET", "s3cr3t-deploy"),
        ("NPM_TOKEN", "s3cr3t-npm"),
    ];
    // A credential smuggled into a variable relman does read is stripped too.
    let leaky_urls: &[(&str, &str)] = &[
        ("GITHUB_SERVER_URL", "https://x-access-token:s3cr3t-userinfo@github.com"),
        ("CI_SERVER_URL", "https://user:s3cr3t-userinfo@gitlab.example.com"),
        ("FORGEJO_SERVER_URL", "https://user:s3cr3t-userinfo@codeberg.org"),
    ];
    for (label, base) in [("github", GITHUB), ("forgejo", FORGEJO), ("gitlab", GITLAB), ("local", &[][..])] {
        let mut vars: Vec<(&str, &str)> =
            base.iter().copied().filter(|(k, _)| !leaky_urls.iter().any(|(l, _)| l == k)).collect();
        vars.extend_from_slice(secrets);
        if !base.is_empty() {
            vars.extend_from_slice(leaky_urls);
        }
        let asked = RefCell::new(BTreeSet::new());
        let ctx = CiContext::from_env(env(&vars, &asked));
        for name in asked.borrow().iter() {
            assert!(
                CI_VARIABLES.contains(&name.as_str()),
                "{label}: read `{name}`, which is not a documented CI variable"
            );
            for bad in ["TOKEN", "SECRET", "PASSWORD", "KEY"] {
                assert!(!name.ends_with(bad), "{label}: read `{name}`");
            }
        }
        assert!(!asked.borrow().contains("CI_REPOSITORY_URL"), "it embeds the job token");
        let mut i = input(ctx);
        i.release.repository = Some("https://relman:s3cr3t-repo@github.com/acme/app.git".into());
        let text = provenance::statement_json(&i).unwrap();
        assert!(!text.contains("s3cr3t"), "{label}: a secret reached the statement: {text}");
        assert!(!text.contains("ghs_"), "{label}: {text}");
        if label != "local" {
            assert!(text.contains("\"provider\""), "{label}: the CI facts are there");
        }
    }
}

#[test]
fn ci_variable_list_holds_no_secret_names() {
    for name in CI_VARIABLES {
        assert!(!["TOKEN", "SECRET", "PASSWORD", "KEY"].iter().any(|b| name.contains(b)), "{name}");
        assert_ne!(*name, "CI_REPOSITORY_URL");
    }
}
