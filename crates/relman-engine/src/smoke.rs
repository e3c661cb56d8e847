//! `relman smoke`: run the pushed image and record a signed result.
//!
//! For each image with `[image.smoke]`, podman runs `REGISTRY/PATH/<image>@<index digest>` as a
//! non-root arbitrary UID (12345) with the configured arguments; the test passes when the
//! command exits 0 and its output contains `expect`. The result is an in-toto statement
//! (predicate `https://relman.dev/smoke/v1`) about the index digest, DSSE-signed with the
//! release key, attached to the image as a cosign attestation and written to
//! `dist/<version>/smoke-<image>.intoto.jsonl`. `promote` requires a passing, verified result
//! for images whose smoke test is `required` (the default).

use std::process::Command;

use relman_manifest::Failure;
use relman_oci::cosign::{self, Attachment};
use relman_oci::Digest;
use relman_sign::{dsse, SigningKey};
use serde::Serialize;

use crate::oci::{self, OciDest, SMOKE_PREDICATE};
use crate::planned::Planned;
use crate::report::Reporter;

/// The UID the image runs as: arbitrary and non-root, as OpenShift-style platforms do.
pub const SMOKE_UID: &str = "12345";

#[derive(Clone, Debug, Serialize)]
pub struct SmokeResult {
    pub image: String,
    pub reference: String,
    pub digest: String,
    pub command: Vec<String>,
    pub exit_code: i32,
    pub passed: bool,
    /// Why it failed, or what matched.
    pub detail: String,
    /// The last lines of the output (at most 2 KiB).
    pub output: String,
    pub signed: bool,
}

/// Runs every configured smoke test against the images pushed to `url`.
pub fn smoke(
    planned: &Planned,
    url: &str,
    key: Option<&SigningKey>,
    reporter: &dyn Reporter,
) -> Result<Vec<SmokeResult>, Failure> {
    reporter.stage("smoke");
    let dest = OciDest::parse(url)?;
    let client = planned.settings.remote.registry_client();
    let mut results = Vec::new();
    for cfg in &planned.settings.images {
        let Some(smoke) = &cfg.smoke else { continue };
        let name = crate::image::image_name(&planned.settings, cfg);
        let record = planned
            .manifest
            .images
            .iter()
            .find(|r| r.name == name)
            .ok_or_else(|| Failure::internal(format!("image `{name}` not planned")))?;
        let digest = record.digest.as_deref().ok_or_else(|| {
            Failure::usage(format!("image `{name}` has not been built"))
                .with_hint("run `relman release` (or package + publish) first")
        })?;
        let digest = Digest::parse(digest).map_err(Failure::verify)?;
        let repo = dest.repo(&name)?;
        if client.head_manifest(&repo.with_digest(&digest))?.is_none() {
            return Err(Failure::usage(format!("{}@{digest} is not in the registry", repo.name()))
                .with_hint(format!("publish first: relman publish --to {url}")));
        }
        let reference = format!("{}@{digest}", repo.name());
        let mut cmd = Command::new("podman");
        cmd.envs(crate::containers::env(planned)?).args(["run", "--rm", "--user", SMOKE_UID]);
        if client.plain_http(&repo.registry) {
            cmd.arg("--tls-verify=false");
        }
        cmd.arg(&reference).args(&smoke.args);
        let mut shown = vec![
            "podman".to_string(),
            "run".into(),
            "--rm".into(),
            "--user".into(),
            SMOKE_UID.into(),
            reference.clone(),
        ];
        shown.extend(smoke.args.iter().cloned());
        reporter.step(&format!("{name}: {}", shown.join(" ")));
        let out = cmd.output().map_err(|e| {
            Failure::usage(format!("cannot run podman for the smoke test of `{name}`: {e}"))
                .with_hint("install podman (apt-get install podman runc)")
        })?;
        let mut text = String::from_utf8_lossy(&out.stdout).to_string();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        let code = out.status.code().unwrap_or(-1);
        let expect = smoke.expect.as_ref().map(|e| e.replace("{version}", &planned.manifest.version));
        let (passed, detail) = match (&expect, code) {
            (_, c) if c != 0 => (false, format!("exit code {c}")),
            (Some(e), _) if !text.contains(e.as_str()) => (false, format!("output does not contain `{e}`")),
            (Some(e), _) => (true, format!("exit 0, output contains `{e}`")),
            (None, _) => (true, "exit 0".to_string()),
        };
        let tail: String = {
            let start = text.len().saturating_sub(2048);
            let mut s = start;
            while !text.is_char_boundary(s) {
                s += 1;
            }
            text[s..].to_string()
        };
        let mut result = SmokeResult {
            image: name.clone(),
            reference: reference.clone(),
            digest: digest.to_string(),
            command: shown,
            exit_code: code,
            passed,
            detail,
            output: tail,
            signed: false,
        };
        if let Some(key) = key {
            let stmt = serde_json::json!({
                "_type": "https://in-toto.io/Statement/v1",
                "subject": [{"name": repo.name(), "digest": {"sha256": digest.hex()}}],
                "predicateType": SMOKE_PREDICATE,
                "predicate": {
                    "passed": result.passed,
                    "exitCode": result.exit_code,
                    "detail": result.detail,
                    "command": result.command,
                    "runner": "podman",
                    "uid": SMOKE_UID,
                    "version": planned.manifest.version,
                },
            });
            let env = dsse::sign(
                key,
                "application/vnd.in-toto+json",
                serde_json::to_string(&stmt).expect("json").as_bytes(),
            )?;
            let path = planned.version_dir.join(format!("smoke-{}.intoto.jsonl", name.replace('/', "-")));
            crate::fsutil::write_atomic(&path, env.intoto_jsonl().as_bytes())?;
            // Passed or not, the result replaces the earlier one: the promote gate reads the
            // newest, so a failure after a pass blocks promotion until a run passes again.
            oci::put_attachments_replacing(
                &client,
                &repo,
                &cosign::attestation_tag(&digest),
                &[Attachment::attestation(env.envelope.to_json().into_bytes(), SMOKE_PREDICATE)],
                Some(SMOKE_PREDICATE),
            )?;
            result.signed = true;
        }
        reporter.step(&format!(
            "{name}: smoke test {} ({})",
            if result.passed { "passed" } else { "FAILED" },
            result.detail
        ));
        results.push(result);
    }
    if results.is_empty() {
        return Err(Failure::config("no image has a smoke test")
            .with_hint("add [image.smoke] args = [\"--version\"] to an [[image]] in relman.toml"));
    }
    Ok(results)
}
