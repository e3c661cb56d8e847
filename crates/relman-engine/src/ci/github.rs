//! GitHub Actions and Forgejo Actions workflows (the same language; Forgejo has its own
//! directory, runner labels, actions URL and artifact actions).

use super::{block_scalar, q, Forge, Generated, Inputs};
use crate::ci::blocks::Blocks;
use crate::config::CiPromote;

/// A third-party action: its name, the commit it is pinned to and that commit's tag.
struct Action {
    name: &'static str,
    commit: &'static str,
    tag: &'static str,
}

const CHECKOUT: Action =
    Action { name: "actions/checkout", commit: "34e114876b0b11c390a56381ad16ebd13914f8d5", tag: "v4.3.1" };
const UPLOAD: Action =
    Action { name: "actions/upload-artifact", commit: "ea165f8d65b6e75b540449e92b4886f43607fa02", tag: "v4.6.2" };
const DOWNLOAD: Action =
    Action { name: "actions/download-artifact", commit: "d3f86a106a0bac45b974a628896c90dbdf5c8093", tag: "v4.3.0" };
// Forgejo's artifact store speaks the v3 protocol (the node20 builds of v3).
const UPLOAD_V3: Action = Action {
    name: "actions/upload-artifact",
    commit: "c24449f33cd45d4826c6702db7e49f7cdb9b551d",
    tag: "v3.2.1-node20",
};
const SETUP_GO: Action =
    Action { name: "actions/setup-go", commit: "b7ad1dad31e06c5925ef5d2fc7ad053ef454303e", tag: "v7.0.0" };
const SETUP_NODE: Action =
    Action { name: "actions/setup-node", commit: "820762786026740c76f36085b0efc47a31fe5020", tag: "v7.0.0" };
const SETUP_PYTHON: Action =
    Action { name: "actions/setup-python", commit: "5fda3b95a4ea91299a34e894583c3862153e4b97", tag: "v7.0.0" };
const DOWNLOAD_V3: Action = Action {
    name: "actions/download-artifact",
    commit: "ad191675b41f6a5b46da9a048cb6893812da158b",
    tag: "v3.1.0-node20",
};

/// The workflows: release, check (pull requests and pushes), and promote unless promote waits
/// for an approval.
pub(crate) fn workflows(i: &Inputs) -> Vec<Generated> {
    let release_file = i.forge.release_file();
    let mut out = vec![
        Generated { path: release_file.to_string(), blocks: release(i) },
        Generated { path: release_file.replace("release.yml", "check.yml"), blocks: check_workflow(i) },
    ];
    if i.promote == CiPromote::Manual {
        let promote_file = release_file.replace("release.yml", "promote.yml");
        out.push(Generated { path: promote_file, blocks: promote_workflow(i) });
    }
    if i.dependabot {
        out.push(Generated { path: DEPENDABOT_FILE.into(), blocks: dependabot() });
    }
    out
}

/// `[ci] dependabot = true`: Dependabot's configuration.
pub(crate) const DEPENDABOT_FILE: &str = ".github/dependabot.yml";

/// Weekly updates of every pinned action (relman's and the user's), grouped into one pull
/// request, within the major each is on: relman keeps a newer pin of the same major that
/// Dependabot writes into its blocks; a new major comes with a new relman.
fn dependabot() -> Blocks {
    let mut b = Blocks::new();
    b.block(
        "dependabot",
        "",
        "# Keeps the pinned actions fresh: one grouped pull request a week, commit and tag comment
         # updated together. Inside relman's blocks, `relman ci generate` and `ci check` keep a newer
         # pin of the same major; majors move with relman itself.
         version: 2
         updates:
           - package-ecosystem: \"github-actions\"
             directory: \"/\"
             schedule:
               interval: \"weekly\"
             groups:
               actions:
                 patterns: [\"*\"]
             ignore:
               - dependency-name: \"*\"
                 update-types: [\"version-update:semver-major\"]
",
    );
    b
}

fn uses(i: &Inputs, a: &Action) -> String {
    let prefix = match (&i.actions_url, i.forge) {
        (Some(u), Forge::Forgejo) => format!("{}/", u.trim_end_matches('/')),
        _ => String::new(),
    };
    if i.pin {
        // A newer release of the same major, pinned in the repository already (Dependabot
        // updates the commit and its tag comment inside relman's blocks), is kept: `ci check`
        // then passes, and relman never moves an action backwards.
        let ours = super::action_version(a.tag);
        if let Some((commit, tag)) = i.newer_pins.get(a.name) {
            let theirs = super::action_version(tag);
            if let (Some(o), Some(t)) = (&ours, &theirs) {
                if t.0 == o.0 && t.3 == o.3 && t > o {
                    return format!("{prefix}{}@{commit} # {tag}", a.name);
                }
            }
        }
        format!("{prefix}{}@{} # {}", a.name, a.commit, a.tag)
    } else {
        format!("{prefix}{}@{}", a.name, a.tag)
    }
}

fn cli_name(i: &Inputs) -> &'static str {
    match i.forge {
        Forge::Forgejo => "forgejo",
        _ => "github",
    }
}

const NOTICE: &str = "\
# relman rewrites the blocks between `# relman:begin` and `# relman:end` lines (from relman.toml:
# `relman ci generate {cli}`); everything outside them is yours and is kept. `relman ci check`
# fails when a block differs from what relman would write.
";

/// The checkout and install steps every job starts with.
fn setup_steps(i: &Inputs, git_push: bool, git_ref: Option<&str>) -> String {
    let mut s = String::new();
    s.push_str(&format!("      - uses: {}\n        with:\n", uses(i, &CHECKOUT)));
    if let Some(r) = git_ref {
        s.push_str(&format!("          ref: {r}\n"));
    }
    s.push_str("          fetch-depth: 0\n");
    s.push_str(&format!("          persist-credentials: {git_push}\n"));
    s.push_str("      - name: Install relman\n        run: |\n");
    s.push_str(&block_scalar(&i.install, "          "));
    s
}

/// The `permissions:` of a job that publishes or promotes.
fn permissions(i: &Inputs) -> String {
    let mut p = String::from("    permissions:\n");
    p.push_str(if i.needs.contents_write { "      contents: write\n" } else { "      contents: read\n" });
    if i.forge == Forge::Github && i.registries.iter().any(|r| r == "ghcr.io") {
        p.push_str("      packages: write\n");
    }
    p
}

/// The environment of a step that publishes or promotes: each variable from the secret store.
fn secret_env(i: &Inputs, with_key: bool) -> String {
    let mut vars: Vec<(String, String)> = Vec::new();
    if let Some(t) = i.needs.token {
        // Forgejo refuses secret names starting with GITHUB_, GITEA_ or FORGEJO_, and its own
        // `secrets.GITHUB_TOKEN` is the instance's token: it serves a forgejo: page of this
        // instance; a page elsewhere (github:, gitlab:) takes a secret of the user's, RELMAN_<NAME>.
        let value = match (i.forge, t) {
            (Forge::Forgejo, "FORGEJO_TOKEN" | "GITEA_TOKEN") => "${{ secrets.GITHUB_TOKEN }}".to_string(),
            (Forge::Forgejo, _) if ["GITHUB_", "GITEA_", "FORGEJO_"].iter().any(|p| t.starts_with(p)) => {
                format!("${{{{ secrets.RELMAN_{t} }}}}")
            }
            _ => format!("${{{{ secrets.{t} }}}}"),
        };
        vars.push((t.to_string(), value));
    }
    if let Some(r) = i.registries.first() {
        // The credentials are for these registries only (relman never offers them to another).
        vars.push(("RELMAN_REGISTRY_HOST".into(), q(&i.registries.join(","))));
        if i.forge == Forge::Github && r == "ghcr.io" {
            vars.push(("RELMAN_REGISTRY_USERNAME".into(), "${{ github.actor }}".into()));
            vars.push(("RELMAN_REGISTRY_PASSWORD".into(), "${{ secrets.GITHUB_TOKEN }}".into()));
        } else {
            vars.push(("RELMAN_REGISTRY_USERNAME".into(), "${{ secrets.RELMAN_REGISTRY_USERNAME }}".into()));
            vars.push(("RELMAN_REGISTRY_PASSWORD".into(), "${{ secrets.RELMAN_REGISTRY_PASSWORD }}".into()));
        }
    }
    for s in &i.needs.secrets {
        vars.push((s.to_string(), format!("${{{{ secrets.{s} }}}}")));
    }
    if with_key && i.key.is_some() {
        vars.push(("RELMAN_PASSWORD".into(), "${{ secrets.RELMAN_PASSWORD }}".into()));
    }
    if vars.is_empty() {
        return String::new();
    }
    let mut s = String::from("        env:\n");
    for (k, v) in vars {
        s.push_str(&format!("          {k}: {v}\n"));
    }
    s
}

fn release(i: &Inputs) -> Blocks {
    let mut b = Blocks::new();
    let glob = format!("{}[0-9]+.[0-9]+.[0-9]+*", i.tag_prefix);
    b.block(
        "header",
        "",
        &format!(
            "# The release workflow: a tag push plans, builds each target on its own runner, merges\n\
             # the parts, packages, signs and publishes (phase 1).{}\n{}\
             name: Release\n\
             on:\n  push:\n    tags:\n      - {}\n\
             permissions: {{}}\n\
             defaults:\n  run:\n    shell: bash\n\
             concurrency:\n  group: relman-release-${{{{ github.ref }}}}\n  cancel-in-progress: false\n",
            if i.promote == CiPromote::Manual {
                " Promote (phase 2) is promote.yml, run by hand."
            } else {
                " Promote (phase 2) waits for the approval of its environment."
            },
            NOTICE.replace("{cli}", cli_name(i)),
            q(&glob)
        ),
    );
    b.text("jobs:\n");

    // Plan: the matrix and the version, from relman.toml at the tag.
    let mut plan = String::from("  plan:\n    name: Plan\n");
    plan.push_str(&format!("    runs-on: {}\n", q(&i.runner)));
    plan.push_str("    permissions:\n      contents: read\n");
    plan.push_str("    outputs:\n      matrix: ${{ steps.plan.outputs.matrix }}\n      version: ${{ steps.plan.outputs.version }}\n");
    plan.push_str("    steps:\n");
    plan.push_str(&setup_steps(i, false, None));
    plan.push_str("      - name: Plan the release\n        id: plan\n        run: relman ci matrix ");
    plan.push_str(cli_name(i));
    plan.push_str(" --format github-output >> \"$GITHUB_OUTPUT\"\n");
    b.block("plan", "  ", &plan);

    let (upload, download) = match i.forge {
        Forge::Forgejo => (&UPLOAD_V3, &DOWNLOAD_V3),
        _ => (&UPLOAD, &DOWNLOAD),
    };
    // A service (images, charts, docs) has no targets: no build jobs, nothing to merge.
    let builds = !i.matrix.is_empty();
    if builds {
        // Build: one job per target, each uploading its part.
        let any_container = i.matrix.iter().any(|m| !m.container.is_empty());
        let mut build = String::from("  build:\n    name: Build ${{ matrix.target }}\n    needs: plan\n");
        build.push_str("    runs-on: ${{ matrix.runner }}\n");
        if any_container {
            build.push_str("    container: ${{ matrix.container }}\n");
        }
        build.push_str("    permissions:\n      contents: read\n");
        build.push_str(
            "    strategy:\n      fail-fast: false\n      matrix: ${{ fromJSON(needs.plan.outputs.matrix) }}\n",
        );
        build.push_str("    steps:\n");
        build.push_str(&setup_steps(i, false, None));
        for (tool, with) in &i.toolchains {
            let action = match *tool {
                "go" => &SETUP_GO,
                "node" => &SETUP_NODE,
                _ => &SETUP_PYTHON,
            };
            build.push_str(&format!("      - uses: {}\n        with:\n", uses(i, action)));
            for (k, v) in with {
                build.push_str(&format!("          {k}: {}\n", q(v)));
            }
        }
        if i.matrix.iter().any(|m| m.setup != ":") {
            // The target's standard library and C toolchain (relman ci matrix says which).
            build.push_str("      - name: Set up ${{ matrix.target }}\n        run: ${{ matrix.setup }}\n");
        }
        b.block("build", "  ", &build);
        b.text("      # Your build setup (toolchains, caches) goes here, between relman's blocks: it is kept.\n");
        let mut build_steps = String::from(
            "      - name: Build ${{ matrix.target }}\n        env:\n          TARGET: ${{ matrix.target }}\n        run: relman build --target \"$TARGET\" --part \"dist/parts/$TARGET\"\n",
        );
        build_steps.push_str(&format!(
            "      - name: Upload the part\n        uses: {}\n        with:\n          name: relman-part-${{{{ matrix.target }}}}\n          path: dist/parts/${{{{ matrix.target }}}}\n          if-no-files-found: error\n",
            uses(i, upload)
        ));
        b.block("build-steps", "  ", &build_steps);
    }

    // Publish: merge the parts, package, sign, publish.
    let mut publish = String::from(if builds {
        "  publish:\n    name: Publish\n    needs: [plan, build]\n"
    } else {
        "  publish:\n    name: Publish\n    needs: plan\n"
    });
    publish.push_str(&format!("    runs-on: {}\n", q(&i.runner)));
    // The signing key, tokens and cloud secrets can be scoped to this environment (and its
    // protected tags): the plan and build jobs run in none and see none of them.
    publish.push_str(&format!("    environment: {}\n", q(&i.publish_environment)));
    publish.push_str(&permissions(i));
    if i.keyless {
        // Keyless signing: the job's OIDC token (audience sigstore) is its signing identity.
        publish.push_str("      id-token: write\n");
    }
    publish.push_str("    steps:\n");
    publish.push_str(&setup_steps(i, i.needs.git_push, None));
    b.block("publish", "  ", &publish);
    b.text("      # Your publish setup (e.g. tools a docs build needs) goes here: it is kept.\n");
    let mut steps = String::new();
    if builds {
        if i.forge == Forge::Forgejo {
            // download-artifact v3 takes every artifact of the run without a name: each part
            // by its name, so a user's own artifacts never reach `merge`.
            for m in &i.matrix {
                steps.push_str(&format!(
                    "      - name: Download the part of {t}\n        uses: {}\n        with:\n          name: relman-part-{t}\n          path: dist/parts/relman-part-{t}\n",
                    uses(i, download),
                    t = m.target
                ));
            }
        } else {
            steps.push_str(&format!(
                "      - name: Download the parts\n        uses: {}\n        with:\n          pattern: relman-part-*\n          path: dist/parts\n",
                uses(i, download)
            ));
        }
        steps.push_str("      - name: Merge the parts\n        run: relman merge dist/parts/*\n");
    }
    if let Some((secret, path)) = &i.key {
        steps.push_str(&format!(
            "      - name: Write the signing key\n        env:\n          RELMAN_SIGNING_KEY: ${{{{ secrets.{secret} }}}}\n        run: |\n          umask 077\n          printf '%s\\n' \"$RELMAN_SIGNING_KEY\" > {}\n",
            super::sh(path)
        ));
    }
    steps.push_str("      - name: Package, sign and publish\n");
    steps.push_str(&secret_env(i, true));
    steps.push_str("        run: relman release\n");
    // Re-fetched from every destination and checked: the release summary, also on the run's page.
    steps.push_str(
        "      - name: Verify the release and summarize it\n        env:\n          VERSION: ${{ needs.plan.outputs.version }}\n        run: |\n          relman summary \"$VERSION\"\n          cat \"dist/$VERSION/release-summary.md\" >> \"${GITHUB_STEP_SUMMARY:-/dev/null}\"\n",
    );
    if let Some((_, path)) = &i.key {
        steps.push_str(&format!(
            "      - name: Remove the signing key\n        if: always()\n        run: rm -f {}\n",
            super::sh(path)
        ));
    }
    b.block("publish-steps", "  ", &steps);

    if i.promote == CiPromote::Approval {
        let p = promote_job(i, "Promote\n    needs: [plan, publish]", "${{ needs.plan.outputs.version }}", None);
        b.block("promote", "  ", &p);
    }
    b
}

/// The promote job: `name` (and what follows it, e.g. `needs:`), the version expression, and
/// the ref its checkout takes (default: the tag of the run).
fn promote_job(i: &Inputs, name: &str, version: &str, git_ref: Option<&str>) -> String {
    let mut p = format!("  promote:\n    name: {name}\n");
    p.push_str(&format!("    runs-on: {}\n", q(&i.runner)));
    p.push_str(&format!("    environment: {}\n", q(&i.environment)));
    p.push_str(&permissions(i));
    p.push_str("    steps:\n");
    p.push_str(&setup_steps(i, i.needs.git_push, git_ref));
    // The key signs channels.json (its serial and expiry: what clients check for freshness).
    if let Some((secret, path)) = &i.key {
        p.push_str(&format!(
            "      - name: Write the signing key\n        env:\n          RELMAN_SIGNING_KEY: ${{{{ secrets.{secret} }}}}\n        run: |\n          umask 077\n          printf '%s\\n' \"$RELMAN_SIGNING_KEY\" > {}\n",
            super::sh(path)
        ));
    }
    p.push_str("      - name: Promote\n");
    let mut env = secret_env(i, true);
    if env.is_empty() {
        env.push_str("        env:\n");
    }
    env.push_str(&format!("          VERSION: {version}\n"));
    p.push_str(&env);
    p.push_str("        run: relman promote \"$VERSION\"\n");
    if let Some((_, path)) = &i.key {
        p.push_str(&format!(
            "      - name: Remove the signing key\n        if: always()\n        run: rm -f {}\n",
            super::sh(path)
        ));
    }
    p
}

/// Every pull request and branch push: the workflows agree with relman.toml, and a snapshot
/// release of a Linux target (unsigned: no secrets here) packages and verifies; it is kept as
/// an artifact for reviewers.
fn check_workflow(i: &Inputs) -> Blocks {
    let mut b = Blocks::new();
    b.block(
        "header",
        "",
        &format!(
            "# Checks every pull request and branch push: the workflows are as relman.toml says, and a\n\
             # snapshot release builds, packages and verifies (unsigned: this workflow has no secrets).\n{}\
             name: Check\n\
             on:\n  pull_request:\n  push:\n    branches:\n      - '**'\n\
             permissions: {{}}\n\
             defaults:\n  run:\n    shell: bash\n",
            NOTICE.replace("{cli}", cli_name(i))
        ),
    );
    b.text("jobs:\n");
    let mut c = String::from("  check:\n    name: Check\n");
    c.push_str(&format!("    runs-on: {}\n", q(&i.runner)));
    c.push_str("    permissions:\n      contents: read\n    steps:\n");
    c.push_str(&setup_steps(i, false, None));
    c.push_str(&format!(
        "      - name: The workflows are as relman.toml says\n        run: relman ci check {}\n",
        cli_name(i)
    ));
    let linux = i.matrix.iter().find(|m| m.target.starts_with("x86_64-unknown-linux-")).map(|m| m.target.as_str());
    if i.matrix.is_empty() || linux.is_some() {
        let target = linux.map(|t| format!(" --target {t}")).unwrap_or_default();
        c.push_str(&format!(
            "      - name: Snapshot release\n        run: relman release --snapshot{target} --to dir:dist/snapshot\n"
        ));
        c.push_str("      - name: Verify the snapshot\n        run: relman verify dist/snapshot/*/\n");
        let upload = if i.forge == Forge::Forgejo { &UPLOAD_V3 } else { &UPLOAD };
        c.push_str(&format!(
            "      - name: Keep the snapshot\n        uses: {}\n        with:\n          name: relman-snapshot\n          path: dist/snapshot\n",
            uses(i, upload)
        ));
    }
    b.block("check", "  ", &c);
    b
}

fn promote_workflow(i: &Inputs) -> Blocks {
    let mut b = Blocks::new();
    b.block(
        "header",
        "",
        &format!(
            "# Phase 2: checks every gate at every destination, then moves latest (and X.Y) to the\n\
             # version. Run it by hand (Actions → Promote → Run workflow) once the release is checked.\n{}\
             name: Promote\n\
             on:\n  workflow_dispatch:\n    inputs:\n      version:\n        description: {}\n        required: true\n        type: string\n\
             permissions: {{}}\n\
             defaults:\n  run:\n    shell: bash\n\
             concurrency:\n  group: relman-promote\n  cancel-in-progress: false\n",
            NOTICE.replace("{cli}", cli_name(i)),
            q("The published version to promote, e.g. 1.4.2")
        ),
    );
    b.text("jobs:\n");
    let r = format!("refs/tags/{}${{{{ inputs.version }}}}", i.tag_prefix);
    let p = promote_job(i, "Promote ${{ inputs.version }}", "${{ inputs.version }}", Some(&r));
    b.block("promote", "  ", &p);
    b
}
