//! GitLab CI: `.gitlab-ci.yml` with stages, one build job per target, `needs:` and artifacts.

use super::{block_scalar, q, sh, Generated, Inputs};
use crate::ci::blocks::Blocks;
use crate::config::CiPromote;

/// A regular-expression literal matching release tags with this prefix.
fn tag_regex(prefix: &str) -> String {
    let mut p = String::new();
    for c in prefix.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
            p.push(c);
        } else {
            p.push('\\');
            p.push(c);
        }
    }
    format!("/^{p}[0-9]+\\.[0-9]+\\.[0-9]+/")
}

fn job_name(target: &str) -> String {
    format!("relman-build-{target}")
}

pub(crate) fn pipeline(i: &Inputs) -> Vec<Generated> {
    let mut b = Blocks::new();
    let rule = format!("$CI_COMMIT_TAG =~ {}", tag_regex(&i.tag_prefix));
    b.block(
        "header",
        "",
        &format!(
            "# The release pipeline: a tag push plans, builds each target on its own runner, merges the\n\
             # parts, packages, signs and publishes (phase 1); promote (phase 2) is the last job, {}.\n\
             # relman rewrites the blocks between `# relman:begin` and `# relman:end` lines (from\n\
             # relman.toml: `relman ci generate gitlab`); everything outside them is yours and is kept.\n\
             # `relman ci check` fails when a block differs from what relman would write.\n\
             # Secrets: scope the signing key, its passphrase and the tokens to the environment\n\
             # `{env}` (Settings > CI/CD > Variables, environment scope) and to protected tags: only\n\
             # the publish and promote jobs run in it; the plan and build jobs see none of them.\n\
             stages:\n  - plan\n  - build\n  - publish\n  - promote\n",
            if i.promote == CiPromote::Manual { "started by hand" } else { "behind its environment's approval" },
            env = i.publish_environment
        ),
    );
    let mut defaults = String::from(".relman:\n");
    defaults.push_str(&format!("  image: {}\n", q(&i.image)));
    defaults.push_str("  variables:\n    GIT_DEPTH: \"0\"\n    GIT_STRATEGY: clone\n");
    defaults.push_str("  before_script:\n    - |\n");
    defaults.push_str(&block_scalar(&i.install, "      "));
    defaults.push_str(&format!("  rules:\n    - if: {}\n", q(&rule)));
    if !i.runner.is_empty() {
        defaults.push_str(&format!("  tags:\n    - {}\n", q(&i.runner)));
    }
    b.block("defaults", "", &defaults);
    b.block("plan", "", "relman-plan:\n  extends: .relman\n  stage: plan\n  script:\n    - relman plan\n");
    for m in &i.matrix {
        let mut j =
            format!("{}:\n  extends: .relman\n  stage: build\n  needs:\n    - relman-plan\n", job_name(&m.target));
        if !m.container.is_empty() {
            j.push_str(&format!("  image: {}\n", q(&m.container)));
        }
        if !m.runner.is_empty() {
            j.push_str(&format!("  tags:\n    - {}\n", q(&m.runner)));
        }
        let part = format!("dist/parts/{}", m.target);
        j.push_str("  script:\n");
        if m.setup != ":" {
            j.push_str(&format!("    - {}\n", q(&m.setup)));
        }
        j.push_str(&format!(
            "    - relman build --target {} --part {}\n  artifacts:\n    paths:\n      - {}/\n    expire_in: 1 week\n",
            sh(&m.target),
            sh(&part),
            part
        ));
        b.block(&format!("build-{}", m.target), "", &j);
    }
    let mut p = String::from("relman-publish:\n  extends: .relman\n  stage: publish\n  needs:\n");
    if i.matrix.is_empty() {
        // A service (images, charts, docs): nothing built per target, nothing to merge.
        p.push_str("    - relman-plan\n  script:\n");
    } else {
        for m in &i.matrix {
            p.push_str(&format!("    - job: {}\n      artifacts: true\n", job_name(&m.target)));
        }
        p.push_str("  script:\n    - relman merge dist/parts/*\n");
    }
    if i.keyless {
        // Keyless signing: GitLab's OIDC token for Sigstore, read by relman from SIGSTORE_ID_TOKEN.
        p = p.replacen("  script:\n", "  id_tokens:\n    SIGSTORE_ID_TOKEN:\n      aud: sigstore\n  script:\n", 1);
    }
    if let Some((secret, path)) = &i.key {
        // A file-type variable holds a path to the key; a plain one the key itself. The copy
        // is removed when the job's script ends, failed or not.
        p.push_str(&format!("    - trap \"rm -f {}\" EXIT\n", sh(path)));
        p.push_str(&format!(
            "    - (umask 077 && if [ -f \"${secret}\" ]; then cp \"${secret}\" {path}; else printf '%s\\n' \"${secret}\" > {path}; fi)\n",
            path = sh(path)
        ));
    }
    p.push_str("    - relman release\n");
    // Re-fetched from every destination and checked; the summary is kept with the job.
    p.push_str(&format!("    - relman summary \"${{CI_COMMIT_TAG#{}}}\"\n", i.tag_prefix));
    p.push_str("  artifacts:\n    paths:\n      - dist/*/release-summary.md\n    when: always\n");
    p.push_str(&format!("  environment:\n    name: {}\n", q(&i.publish_environment)));
    if !i.registries.is_empty() {
        p.push_str(&format!("  variables:\n    RELMAN_REGISTRY_HOST: {}\n", q(&i.registries.join(","))));
    }
    b.block("publish", "", &p);
    let mut pr =
        String::from("relman-promote:\n  extends: .relman\n  stage: promote\n  needs:\n    - relman-publish\n");
    pr.push_str(&format!("  environment:\n    name: {}\n", q(&i.environment)));
    pr.push_str(&format!("  rules:\n    - if: {}\n", q(&rule)));
    if i.promote == CiPromote::Manual {
        pr.push_str("      when: manual\n");
    }
    pr.push_str("  script:\n");
    // The key signs channels.json (its serial and expiry: what clients check for freshness).
    if let Some((secret, path)) = &i.key {
        pr.push_str(&format!("    - trap \"rm -f {}\" EXIT\n", sh(path)));
        pr.push_str(&format!(
            "    - (umask 077 && if [ -f \"${secret}\" ]; then cp \"${secret}\" {path}; else printf '%s\\n' \"${secret}\" > {path}; fi)\n",
            path = sh(path)
        ));
    }
    pr.push_str(&format!("    - relman promote \"${{CI_COMMIT_TAG#{}}}\"\n", i.tag_prefix));
    b.block("promote", "", &pr);
    vec![Generated { path: i.forge.release_file().into(), blocks: b }]
}

#[cfg(test)]
mod tests {
    #[test]
    fn tag_regex_escapes_the_prefix() {
        assert_eq!(super::tag_regex("v"), "/^v[0-9]+\\.[0-9]+\\.[0-9]+/");
        assert_eq!(super::tag_regex("api/v"), "/^api\\/v[0-9]+\\.[0-9]+\\.[0-9]+/");
    }
}
