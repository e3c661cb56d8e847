//! The release summary: per destination, what the release record expects against what is
//! really there (fetched, never assumed), the pointers, the promotion gates, and the commands
//! a user runs to verify it. Written as `release-summary.json` and `release-summary.md` in
//! `dist/<version>/`.

use relman_manifest::Failure;
use semver::Version;
use serde::Serialize;

use crate::fsutil;
use crate::planned::Planned;
use crate::provider::{self, DestinationState, Gate};
use crate::report::Silent;

pub const SUMMARY_JSON: &str = "release-summary.json";
pub const SUMMARY_MARKDOWN: &str = "release-summary.md";

#[derive(Clone, Debug, Serialize)]
pub struct DestinationSummary {
    #[serde(flatten)]
    pub state: DestinationState,
    /// The promotion gates as they stand (evaluated, nothing moved).
    pub gates: Vec<Gate>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub name: String,
    pub version: String,
    pub destinations: Vec<DestinationSummary>,
    /// No missing, different or extra asset anywhere, every signature verifies.
    pub ok: bool,
    /// The release record's last vulnerability check (database digest and date, findings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vulnerabilities: Option<relman_manifest::VulnerabilityCheck>,
}

/// Fetches the state of `version` at every destination in `urls` and evaluates the gates.
pub fn summarize(
    record: &Planned,
    urls: &[String],
    version: &Version,
    key: Option<&relman_sign::PublicKey>,
) -> Result<Summary, Failure> {
    let mut destinations = Vec::new();
    for url in urls {
        let d = provider::open(url, &record.settings.remote)?;
        let mut state = d.state(Some(record), version, key)?;
        if record.settings.keyless {
            // A keyless release is verified by who signed it, not with a key.
            let flags = keyless_flags(&record.settings);
            for c in &mut state.verify_commands {
                if c.contains("--key <public key>") {
                    *c = c.replace("--key <public key>", &flags);
                } else if c.starts_with("relman verify ") {
                    *c = format!("{c} {flags}");
                }
            }
        }
        let gates = match d.check_promote(Some(record), version, false, &Silent) {
            Ok(plan) => plan.report.gates,
            Err(e) => vec![Gate { name: "checked", passed: false, detail: e.message }],
        };
        destinations.push(DestinationSummary { state, gates });
    }
    let ok = destinations.iter().all(|d| d.state.problems.is_empty());
    Ok(Summary {
        name: record.manifest.project.name.clone(),
        version: version.to_string(),
        destinations,
        ok,
        vulnerabilities: record.manifest.vulnerability_check.clone(),
    })
}

/// The verify flags of a keyless release: the identity promote checks, when configured.
fn keyless_flags(s: &crate::settings::Settings) -> String {
    let pick = |(exact, regexp): &(Option<String>, Option<String>), flag: &str, placeholder: &str| match (exact, regexp)
    {
        (Some(e), _) => format!("--{flag} '{e}'"),
        (None, Some(r)) => format!("--{flag}-regexp '{}'", relman_sign::keyless::Matcher::anchored(r)),
        (None, None) => format!("--{flag} {placeholder}"),
    };
    match &s.expected_signer {
        Some(e) => format!(
            "{} {} --trusted-root {}",
            pick(&e.identity, "certificate-identity", "<identity>"),
            pick(&e.issuer, "certificate-oidc-issuer", "<issuer>"),
            e.trusted_root.strip_prefix(&s.root).unwrap_or(&e.trusted_root).display()
        ),
        None => "--certificate-identity <identity> --certificate-oidc-issuer <issuer> --trusted-root trusted_root.json"
            .into(),
    }
}

/// The summary as Markdown.
pub fn markdown(s: &Summary) -> String {
    let mut out = format!("# {} {} — release summary\n\n", s.name, s.version);
    out.push_str(if s.ok {
        "Every destination holds what the release record expects.\n"
    } else {
        "**Problems found.**\n"
    });
    if let Some(v) = &s.vulnerabilities {
        out.push_str(&format!(
            "\nVulnerabilities (checked at {} against database sha256 {}, newest record {}): {} packages checked, {} not checked, {} findings, {} blocking.\n",
            v.stage,
            v.database_digest,
            v.database_date.as_deref().unwrap_or("undated"),
            v.packages_checked,
            v.packages_not_checked,
            v.findings,
            v.blocking
        ));
    }
    for d in &s.destinations {
        out.push_str(&format!("\n## `{}`\n\n| asset | status | digest |\n|---|---|---|\n", d.state.destination));
        for a in &d.state.assets {
            let digest = a.found.as_deref().or(a.expected.as_deref()).unwrap_or("");
            out.push_str(&format!("| `{}` | {} | `{}` |\n", a.name, a.status, digest));
        }
        out.push_str("\n| pointer | points at |\n|---|---|\n");
        for p in &d.state.pointers {
            out.push_str(&format!("| `{}` | {} |\n", p.name, p.target.as_deref().unwrap_or("(not set)")));
        }
        out.push_str("\n| gate | result |\n|---|---|\n");
        for g in &d.gates {
            out.push_str(&format!("| {} | {} ({}) |\n", g.name, if g.passed { "pass" } else { "FAIL" }, g.detail));
        }
        for p in &d.state.problems {
            out.push_str(&format!("\n- problem: {p}"));
        }
        out.push_str("\n\nVerify it yourself:\n\n```sh\n");
        for c in &d.state.verify_commands {
            out.push_str(&format!("{c}\n"));
        }
        out.push_str("```\n");
    }
    out
}

/// Writes `release-summary.json` and `.md` into `dir` (created if needed), atomically.
pub fn write(dir: &std::path::Path, s: &Summary) -> Result<(), Failure> {
    let json = serde_json::to_string_pretty(s).map_err(|e| Failure::internal(e.to_string()))?;
    fsutil::write_atomic(&dir.join(SUMMARY_JSON), json.as_bytes())?;
    fsutil::write_atomic(&dir.join(SUMMARY_MARKDOWN), markdown(s).as_bytes())
}
