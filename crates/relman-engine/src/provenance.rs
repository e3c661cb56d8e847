//! SLSA provenance for a release: an in-toto Statement v1 whose predicate is SLSA Provenance v1.
//!
//! Inputs: a [`ProvenanceInput`] — the release ([`ReleaseSubject`]), its tag and targets, every
//! archive with the sha256 the packaging recorded, the toolchain versions, the start and end
//! times, and a [`CiContext`]. Output: the statement as a `serde_json::Value` or as compact
//! JSON text, ready to be the payload of a DSSE envelope (payload type [`PAYLOAD_TYPE`]) that
//! the caller signs.
//!
//! Layout: `subject` = the archives (sorted by name); `buildDefinition.buildType` =
//! [`BUILD_TYPE`]; `externalParameters` = what the maintainer chose (version, tag, targets,
//! the CI workflow); `internalParameters` = toolchain versions and the CI run's facts;
//! `resolvedDependencies` = the source, `git+<repository>@refs/tags/<tag>` with
//! `digest.gitCommit`; `runDetails.builder.id` = the CI workflow/runner when in GitHub
//! Actions, Forgejo/Gitea Actions or GitLab CI, else [`LOCAL_BUILDER_ID`];
//! `runDetails.metadata` = the CI run as invocation id, and the timestamps.
//!
//! Invariants: nothing secret reaches the statement. [`CiContext::from_env`] reads only the
//! variables in [`CI_VARIABLES`] (never a token, never `CI_REPOSITORY_URL`, which embeds
//! GitLab's job token), and every URL loses its userinfo. The environment is never listed.

use std::collections::{BTreeMap, BTreeSet};

use relman_manifest::{Failure, Sha256};
use serde_json::{json, Map, Value};

use crate::sbom::{rfc3339, stable_uuid, ReleaseSubject};

/// in-toto Statement v1.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// SLSA Provenance v1.
pub const PREDICATE_TYPE: &str = "https://slsa.dev/provenance/v1";
/// The DSSE payload type of an in-toto statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// relman's build type: a release built by relman from a git tag.
pub const BUILD_TYPE: &str = "https://relman.dev/provenance/release/v1";
/// The builder id of a release built outside any recognised CI.
pub const LOCAL_BUILDER_ID: &str = "https://relman.dev/builders/local";

/// Every environment variable [`CiContext::from_env`] may read, and no other.
pub const CI_VARIABLES: &[&str] = &[
    // GitHub Actions (Forgejo and Gitea Actions set these too, for compatibility).
    "GITHUB_ACTIONS",
    "GITHUB_SERVER_URL",
    "GITHUB_REPOSITORY",
    "GITHUB_WORKFLOW",
    "GITHUB_WORKFLOW_REF",
    "GITHUB_RUN_ID",
    "GITHUB_RUN_NUMBER",
    "GITHUB_RUN_ATTEMPT",
    "GITHUB_EVENT_NAME",
    "GITHUB_REF",
    "GITHUB_SHA",
    "RUNNER_ENVIRONMENT",
    // Forgejo Actions.
    "FORGEJO_ACTIONS",
    "FORGEJO_SERVER_URL",
    "FORGEJO_REPOSITORY",
    "FORGEJO_WORKFLOW",
    "FORGEJO_RUN_ID",
    "FORGEJO_RUN_NUMBER",
    "FORGEJO_RUN_ATTEMPT",
    "FORGEJO_EVENT_NAME",
    "FORGEJO_REF",
    "FORGEJO_SHA",
    // Gitea Actions (otherwise the GITHUB_* variables).
    "GITEA_ACTIONS",
    // GitLab CI.
    "GITLAB_CI",
    "CI_SERVER_URL",
    "CI_PROJECT_PATH",
    "CI_PIPELINE_ID",
    "CI_PIPELINE_URL",
    "CI_PIPELINE_SOURCE",
    "CI_JOB_ID",
    "CI_JOB_URL",
    "CI_RUNNER_ID",
    "CI_COMMIT_REF_NAME",
    "CI_COMMIT_SHA",
];

/// Which CI ran the release.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CiProvider {
    GitHubActions,
    ForgejoActions,
    GiteaActions,
    GitLabCi,
    #[default]
    Local,
}

impl CiProvider {
    pub fn name(self) -> &'static str {
        match self {
            CiProvider::GitHubActions => "github-actions",
            CiProvider::ForgejoActions => "forgejo-actions",
            CiProvider::GiteaActions => "gitea-actions",
            CiProvider::GitLabCi => "gitlab-ci",
            CiProvider::Local => "local",
        }
    }
}

/// Facts about the CI run, from a fixed list of documented variables ([`CI_VARIABLES`]).
/// The caller fills it (usually with [`CiContext::from_env`]); stages never read the
/// environment themselves.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CiContext {
    pub provider: CiProvider,
    /// The forge or GitLab instance, e.g. `https://github.com`.
    pub server_url: Option<String>,
    /// `owner/name` (GitLab: the project path).
    pub repository: Option<String>,
    /// The workflow's name or file (Actions).
    pub workflow: Option<String>,
    /// `owner/name/.github/workflows/release.yml@refs/tags/v1.2.3` (GitHub Actions).
    pub workflow_ref: Option<String>,
    pub run_id: Option<String>,
    pub run_number: Option<String>,
    pub run_attempt: Option<String>,
    /// The event (Actions) or pipeline source (GitLab) that started the run.
    pub event: Option<String>,
    /// The git ref the run is for.
    pub git_ref: Option<String>,
    /// The commit the run is for.
    pub sha: Option<String>,
    /// `github-hosted` or `self-hosted` (GitHub Actions).
    pub runner_environment: Option<String>,
    pub pipeline_id: Option<String>,
    pub pipeline_url: Option<String>,
    pub job_id: Option<String>,
    pub job_url: Option<String>,
    pub runner_id: Option<String>,
}

impl CiContext {
    /// A run outside CI.
    pub fn local() -> CiContext {
        CiContext::default()
    }

    /// Reads the CI facts through `get` (e.g. `|k| std::env::var(k).ok()`), asking only for
    /// the variables in [`CI_VARIABLES`]. Forgejo and Gitea are recognised before GitHub (they
    /// also set `GITHUB_ACTIONS`). Values are trimmed, empty ones ignored, URLs stripped of
    /// credentials, control characters removed.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> CiContext {
        let read = |name: &str| -> Option<String> {
            debug_assert!(CI_VARIABLES.contains(&name), "`{name}` is not in CI_VARIABLES");
            let value: String = get(name)?.chars().filter(|c| !c.is_control()).collect();
            let value = value.trim();
            (!value.is_empty()).then(|| value.to_string())
        };
        let url = |name: &str| {
            read(name).map(|u| crate::git::redact_userinfo(&u)).map(|u| u.trim_end_matches('/').to_string())
        };
        let on = |name: &str| read(name).is_some_and(|v| !v.eq_ignore_ascii_case("false") && v != "0");

        if on("GITLAB_CI") {
            return CiContext {
                provider: CiProvider::GitLabCi,
                server_url: url("CI_SERVER_URL"),
                repository: read("CI_PROJECT_PATH"),
                event: read("CI_PIPELINE_SOURCE"),
                git_ref: read("CI_COMMIT_REF_NAME"),
                sha: read("CI_COMMIT_SHA"),
                pipeline_id: read("CI_PIPELINE_ID"),
                pipeline_url: url("CI_PIPELINE_URL"),
                job_id: read("CI_JOB_ID"),
                job_url: url("CI_JOB_URL"),
                runner_id: read("CI_RUNNER_ID"),
                ..CiContext::default()
            };
        }
        let provider = if on("FORGEJO_ACTIONS") {
            CiProvider::ForgejoActions
        } else if on("GITEA_ACTIONS") {
            CiProvider::GiteaActions
        } else if on("GITHUB_ACTIONS") {
            CiProvider::GitHubActions
        } else {
            return CiContext::local();
        };
        // Forgejo's own names first, then the GitHub-compatible ones every runner sets.
        let pick = |suffix: &str, as_url: bool| -> Option<String> {
            let forgejo = format!("FORGEJO_{suffix}");
            let github = format!("GITHUB_{suffix}");
            let get = |n: &str| if as_url { url(n) } else { read(n) };
            let own = (provider == CiProvider::ForgejoActions && CI_VARIABLES.contains(&forgejo.as_str()))
                .then(|| get(&forgejo))
                .flatten();
            own.or_else(|| get(&github))
        };
        CiContext {
            provider,
            server_url: pick("SERVER_URL", true),
            repository: pick("REPOSITORY", false),
            workflow: pick("WORKFLOW", false),
            workflow_ref: (provider == CiProvider::GitHubActions).then(|| read("GITHUB_WORKFLOW_REF")).flatten(),
            run_id: pick("RUN_ID", false),
            run_number: pick("RUN_NUMBER", false),
            run_attempt: pick("RUN_ATTEMPT", false),
            event: pick("EVENT_NAME", false),
            git_ref: pick("REF", false),
            sha: pick("SHA", false),
            runner_environment: (provider == CiProvider::GitHubActions).then(|| read("RUNNER_ENVIRONMENT")).flatten(),
            ..CiContext::default()
        }
    }

    /// The repository's web URL on the CI's server, e.g. `https://github.com/acme/app`.
    pub fn repository_url(&self) -> Option<String> {
        Some(format!("{}/{}", self.server_url.as_ref()?, self.repository.as_ref()?))
    }

    /// Who built it: the workflow (GitHub), the repository's Actions with the workflow
    /// (Forgejo/Gitea), the runner (GitLab), or [`LOCAL_BUILDER_ID`].
    pub fn builder_id(&self) -> String {
        let repo = self.repository_url();
        match self.provider {
            CiProvider::GitHubActions => match (&self.server_url, &self.workflow_ref) {
                (Some(server), Some(wf)) => Some(format!("{server}/{wf}")),
                _ => repo.map(|r| format!("{r}/actions")),
            }
            .unwrap_or_else(|| LOCAL_BUILDER_ID.to_string()),
            CiProvider::ForgejoActions | CiProvider::GiteaActions => match (repo, &self.workflow) {
                (Some(r), Some(wf)) => format!("{r}/actions?workflow={}", query_escape(wf)),
                (Some(r), None) => format!("{r}/actions"),
                _ => LOCAL_BUILDER_ID.to_string(),
            },
            CiProvider::GitLabCi => match (repo, &self.runner_id) {
                (Some(r), Some(id)) => format!("{r}/-/runners/{id}"),
                (Some(r), None) => format!("{r}/-/pipelines"),
                _ => LOCAL_BUILDER_ID.to_string(),
            },
            CiProvider::Local => LOCAL_BUILDER_ID.to_string(),
        }
    }

    /// The CI run as a URL: the run attempt (GitHub), the run (Forgejo/Gitea), the job
    /// (GitLab); `None` outside CI.
    pub fn invocation_id(&self) -> Option<String> {
        let repo = self.repository_url();
        match self.provider {
            CiProvider::GitHubActions => {
                let run = format!("{}/actions/runs/{}", repo?, self.run_id.as_ref()?);
                Some(match &self.run_attempt {
                    Some(a) => format!("{run}/attempts/{a}"),
                    None => run,
                })
            }
            // Forgejo and Gitea address a run by its number within the repository.
            CiProvider::ForgejoActions | CiProvider::GiteaActions => {
                Some(format!("{}/actions/runs/{}", repo?, self.run_number.as_ref().or(self.run_id.as_ref())?))
            }
            CiProvider::GitLabCi => self
                .job_url
                .clone()
                .or_else(|| Some(format!("{}/-/jobs/{}", repo.as_ref()?, self.job_id.as_ref()?)))
                .or_else(|| self.pipeline_url.clone())
                .or_else(|| Some(format!("{}/-/pipelines/{}", repo?, self.pipeline_id.as_ref()?))),
            CiProvider::Local => None,
        }
    }

    /// The run's facts as a JSON object (only what is set).
    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("provider".into(), json!(self.provider.name()));
        let fields: [(&str, &Option<String>); 16] = [
            ("serverUrl", &self.server_url),
            ("repository", &self.repository),
            ("workflow", &self.workflow),
            ("workflowRef", &self.workflow_ref),
            ("runId", &self.run_id),
            ("runNumber", &self.run_number),
            ("runAttempt", &self.run_attempt),
            ("event", &self.event),
            ("ref", &self.git_ref),
            ("sha", &self.sha),
            ("runnerEnvironment", &self.runner_environment),
            ("pipelineId", &self.pipeline_id),
            ("pipelineUrl", &self.pipeline_url),
            ("jobId", &self.job_id),
            ("jobUrl", &self.job_url),
            ("runnerId", &self.runner_id),
        ];
        for (k, v) in fields {
            if let Some(v) = v {
                m.insert(k.into(), json!(v));
            }
        }
        Value::Object(m)
    }
}

fn query_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One released file: a statement subject.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Archive {
    /// The file name as published, e.g. `app-1.4.2-x86_64-unknown-linux-gnu.tar.gz`.
    pub name: String,
    pub sha256: Sha256,
}

/// Everything the statement says, from the caller.
#[derive(Clone, Debug, Default)]
pub struct ProvenanceInput {
    pub release: ReleaseSubject,
    /// The git tag released, e.g. `v1.4.2`; empty for an untagged (snapshot) build.
    pub tag: String,
    /// The target triples built.
    pub targets: Vec<String>,
    /// Every archive, with the digest the packaging recorded.
    pub archives: Vec<Archive>,
    /// Tool → version text, e.g. `rustc` → `rustc 1.95.0 (59807616e 2026-04-14)`.
    pub toolchain: BTreeMap<String, String>,
    /// relman's own version (`builder.version.relman`).
    pub relman_version: String,
    pub ci: CiContext,
    /// When the build started and finished, seconds since the Unix epoch.
    pub started_on: Option<i64>,
    pub finished_on: Option<i64>,
    /// More `resolvedDependencies` after the source (SLSA ResourceDescriptors): an image's base
    /// image by digest, its Dockerfile by sha256.
    pub dependencies: Vec<Value>,
}

/// The in-toto statement for `input`. Fails when there is no archive, or two archives share a
/// name with different digests.
pub fn statement(input: &ProvenanceInput) -> Result<Value, Failure> {
    let release = &input.release;
    let mut subjects: BTreeMap<&str, &Sha256> = BTreeMap::new();
    for a in &input.archives {
        if a.name.trim().is_empty() {
            return Err(Failure::package("a provenance subject has an empty name"));
        }
        if let Some(other) = subjects.insert(&a.name, &a.sha256) {
            if other != &a.sha256 {
                return Err(Failure::package(format!(
                    "archive `{}` is listed twice with different digests ({} and {})",
                    a.name,
                    other.short(),
                    a.sha256.short()
                )));
            }
        }
    }
    if subjects.is_empty() {
        return Err(Failure::package(format!("no archives to attest for {} {}", release.name, release.version))
            .with_hint("run `relman package` first"));
    }
    let subject: Vec<Value> = subjects
        .iter()
        .map(|(name, digest)| json!({ "name": name, "digest": { "sha256": digest.as_str() } }))
        .collect();

    let git_ref = if input.tag.is_empty() { release.commit.clone() } else { format!("refs/tags/{}", input.tag) };
    // Any URL scheme will do here (`file://` too), unlike SPDX's download locations.
    let source_uri = release.repository_url().or_else(|| input.ci.repository_url()).map(|u| {
        if u.starts_with("git+") {
            format!("{u}@{git_ref}")
        } else {
            format!("git+{u}@{git_ref}")
        }
    });
    let mut source = Map::new();
    match source_uri {
        Some(uri) => source.insert("uri".into(), json!(uri)),
        None => source.insert("name".into(), json!(format!("{}@{git_ref}", release.name))),
    };
    source.insert("digest".into(), json!({ "gitCommit": release.commit }));

    let targets: BTreeSet<&String> = input.targets.iter().collect();
    let mut external = Map::new();
    external.insert("version".into(), json!(release.version));
    if !input.tag.is_empty() {
        external.insert("tag".into(), json!(input.tag));
    }
    external.insert("targets".into(), json!(targets));
    if input.ci.provider != CiProvider::Local {
        let mut wf = Map::new();
        for (k, v) in
            [("ref", &input.ci.workflow_ref), ("name", &input.ci.workflow), ("repository", &input.ci.repository)]
        {
            if let Some(v) = v {
                wf.insert(k.into(), json!(v));
            }
        }
        if !wf.is_empty() {
            external.insert("workflow".into(), Value::Object(wf));
        }
    }

    let mut internal = Map::new();
    if !input.toolchain.is_empty() {
        internal.insert("toolchain".into(), json!(input.toolchain));
    }
    internal.insert("ci".into(), input.ci.to_json());

    let mut metadata = Map::new();
    let invocation = input.ci.invocation_id().unwrap_or_else(|| {
        let started = input.started_on.map(|t| t.to_string()).unwrap_or_default();
        format!("urn:uuid:{}", stable_uuid(&["invocation", &release.name, &release.version, &release.commit, &started]))
    });
    metadata.insert("invocationId".into(), json!(invocation));
    if let Some(t) = input.started_on {
        metadata.insert("startedOn".into(), json!(rfc3339(t)));
    }
    if let Some(t) = input.finished_on {
        metadata.insert("finishedOn".into(), json!(rfc3339(t)));
    }
    let mut builder = Map::new();
    builder.insert("id".into(), json!(input.ci.builder_id()));
    if !input.relman_version.is_empty() {
        builder.insert("version".into(), json!({ "relman": input.relman_version }));
    }

    Ok(json!({
        "_type": STATEMENT_TYPE,
        "subject": subject,
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": external,
                "internalParameters": internal,
                "resolvedDependencies": std::iter::once(Value::Object(source)).chain(input.dependencies.iter().cloned()).collect::<Vec<_>>(),
            },
            "runDetails": {
                "builder": builder,
                "metadata": metadata,
            }
        }
    }))
}

/// The statement as compact JSON (one line, no trailing newline): the DSSE payload.
pub fn statement_json(input: &ProvenanceInput) -> Result<String, Failure> {
    Ok(serde_json::to_string(&statement(input)?).expect("a statement serialises"))
}

/// The subjects of an SLSA provenance statement (for verification): fails unless the text is
/// an in-toto Statement v1 with an SLSA Provenance v1 predicate and well-formed subjects.
pub fn subjects(statement_text: &str, origin: &str) -> Result<Vec<Archive>, Failure> {
    let bad = |why: String| Failure::verify(format!("provenance `{origin}`: {why}"));
    let v: Value = serde_json::from_str(statement_text).map_err(|e| bad(format!("not JSON: {e}")))?;
    if v["_type"] != STATEMENT_TYPE {
        return Err(bad(format!("`_type` is not `{STATEMENT_TYPE}`")));
    }
    if v["predicateType"] != PREDICATE_TYPE {
        return Err(bad(format!("`predicateType` is not `{PREDICATE_TYPE}`")));
    }
    let list = v["subject"].as_array().ok_or_else(|| bad("`subject` is not a list".into()))?;
    let mut out = Vec::new();
    for (i, s) in list.iter().enumerate() {
        let name = s["name"].as_str().ok_or_else(|| bad(format!("`subject[{i}].name` is missing")))?;
        let sha256 = s["digest"]["sha256"]
            .as_str()
            .and_then(Sha256::parse)
            .ok_or_else(|| bad(format!("`subject[{i}].digest.sha256` is not a sha256 digest")))?;
        out.push(Archive { name: name.to_string(), sha256 });
    }
    Ok(out)
}
