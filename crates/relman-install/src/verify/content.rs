//! What is inside SBOMs and provenance statements, checked against the release's archives.
//!
//! * SBOMs (`.spdx.json`, `.cdx.json`): valid JSON with at least one package (SPDX
//!   `packages`) or component (CycloneDX `components`); the subject is an archive of this
//!   release; and when the manifest lists SBOMs of a format, every archive has one of it.
//! * Provenance statements (in-toto Statement v1, read from a verified DSSE payload): the
//!   subjects are exactly the archives, each with the sha256 of the bytes that were hashed.
//!   A missing archive, an extra subject and a wrong digest are each a problem naming the
//!   archive and the provenance file.

use std::collections::{BTreeMap, BTreeSet};

use relman_manifest::{ArtifactKind, Manifest, Sha256};
use serde::Deserialize;

use super::report::Findings;

/// The SBOM formats relman publishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum SbomFormat {
    Spdx,
    CycloneDx,
}

impl SbomFormat {
    fn of_name(name: &str) -> Option<SbomFormat> {
        if name.ends_with(".spdx.json") {
            Some(SbomFormat::Spdx)
        } else if name.ends_with(".cdx.json") {
            Some(SbomFormat::CycloneDx)
        } else {
            None
        }
    }

    fn label(self) -> &'static str {
        match self {
            SbomFormat::Spdx => "SPDX",
            SbomFormat::CycloneDx => "CycloneDX",
        }
    }

    /// The array that must not be empty.
    fn list(self) -> &'static str {
        match self {
            SbomFormat::Spdx => "packages",
            SbomFormat::CycloneDx => "components",
        }
    }
}

/// Whether a file name is an SBOM's.
pub(super) fn is_sbom_name(name: &str) -> bool {
    SbomFormat::of_name(name).is_some()
}

/// The archive an SBOM describes: the manifest's `subject`, else the archive whose name
/// without its extension is the SBOM's name without `.spdx.json` / `.cdx.json`.
fn sbom_subject(name: &str, manifest: &Manifest, archives: &[String]) -> Option<String> {
    if let Some(subject) = manifest.artifact(name).and_then(|a| a.subject.clone()) {
        return Some(subject);
    }
    let stem = name.strip_suffix(".spdx.json").or_else(|| name.strip_suffix(".cdx.json"))?;
    archives
        .iter()
        .find(|a| a.strip_prefix(stem).is_some_and(|ext| ext.starts_with('.') && !ext[1..].contains('-')))
        .cloned()
}

/// Checks every SBOM the manifest lists or `checksums.txt` lists; `contents` holds the bytes
/// read (a missing SBOM was reported when it was looked for).
pub(super) fn check_sboms(
    f: &mut Findings,
    manifest: &Manifest,
    listed: &[String],
    archives: &[String],
    contents: &BTreeMap<String, Vec<u8>>,
    found: &BTreeMap<String, Sha256>,
) {
    let mut names: Vec<String> =
        manifest.artifacts.iter().filter(|a| a.kind == ArtifactKind::Sbom).map(|a| a.name.clone()).collect();
    for name in listed {
        if is_sbom_name(name) && !names.contains(name) {
            names.push(name.clone());
        }
    }
    // (format, archive) pairs that have an SBOM, and the formats the manifest promises.
    let mut covered: BTreeSet<(SbomFormat, String)> = BTreeSet::new();
    let mut formats: BTreeSet<SbomFormat> = BTreeSet::new();
    for name in &names {
        let in_manifest = manifest.artifact(name).is_some_and(|a| a.kind == ArtifactKind::Sbom);
        let subject = sbom_subject(name, manifest, archives);
        match &subject {
            Some(s) if archives.contains(s) => {}
            Some(s) => f.fail(name, format!("its subject `{s}` is not an archive of this release")),
            None => f.fail(name, "names no archive of this release as its subject"),
        }
        // Present is present: an empty or unreadable SBOM is its own problem.
        if let Some(format) = SbomFormat::of_name(name) {
            if in_manifest {
                formats.insert(format);
            }
            if let Some(s) = subject.as_ref().filter(|_| found.contains_key(name)) {
                covered.insert((format, s.clone()));
            }
        }
        let Some(bytes) = contents.get(name) else {
            if found.contains_key(name) {
                f.unchecked(name, "too large to inspect");
            }
            continue;
        };
        let value: serde_json::Value = match serde_json::from_slice(bytes) {
            Ok(v) => v,
            Err(e) => {
                f.fail(name, format!("is not valid JSON: {e}"));
                continue;
            }
        };
        let format = SbomFormat::of_name(name).or_else(|| {
            if value.get("spdxVersion").is_some() {
                Some(SbomFormat::Spdx)
            } else if value.get("bomFormat").is_some() {
                Some(SbomFormat::CycloneDx)
            } else {
                None
            }
        });
        let Some(format) = format else {
            f.fail(name, "is neither an SPDX nor a CycloneDX document");
            continue;
        };
        let mut count = value.get(format.list()).and_then(|v| v.as_array()).map_or(0, Vec::len);
        // CycloneDX describes the released project itself in `metadata.component` (SPDX lists
        // it among `packages`): a project without dependencies has no other component.
        let root =
            format == SbomFormat::CycloneDx && value.pointer("/metadata/component").is_some_and(|c| c.is_object());
        if root {
            count += 1;
        }
        if count == 0 {
            let also = if format == SbomFormat::CycloneDx { ", and no `metadata.component`" } else { "" };
            f.fail(
                name,
                format!(
                    "the {} document lists no {} (`{}` is empty or absent{also})",
                    format.label(),
                    format.list(),
                    format.list()
                ),
            );
            if let Some(s) = subject.as_ref().filter(|s| archives.contains(s)) {
                f.taint(s, format!("its SBOM `{name}` is empty"));
            }
            continue;
        }
        f.note(name, format!("{} document, {count} {}", format.label(), format.list()));
        if let Some(s) = subject.filter(|s| archives.contains(s)) {
            f.note(&s, format!("SBOM `{name}`"));
        }
    }
    for archive in archives {
        for &format in &formats {
            if !covered.contains(&(format, archive.clone())) {
                f.fail(
                    archive,
                    format!("has no {} SBOM, while the manifest lists them for other archives", format.label()),
                );
            }
        }
    }
}

#[derive(Deserialize)]
struct Statement {
    #[serde(rename = "_type")]
    kind: String,
    #[serde(default)]
    subject: Vec<Subject>,
}

#[derive(Deserialize)]
struct Subject {
    #[serde(default)]
    name: String,
    #[serde(default)]
    digest: BTreeMap<String, String>,
}

/// Checks one in-toto statement (the payload of an envelope in `prov`) against the archives
/// and their digests as hashed (`found`). `verified`: the payload came from a signature that
/// verified.
pub(super) fn check_statement(
    f: &mut Findings,
    prov: &str,
    payload_type: &str,
    payload: &[u8],
    archives: &[String],
    found: &BTreeMap<String, Sha256>,
    verified: bool,
) {
    if payload_type != relman_sign::dsse::INTOTO_PAYLOAD_TYPE {
        f.fail(prov, format!("its payload type is `{payload_type}`, not `{}`", relman_sign::dsse::INTOTO_PAYLOAD_TYPE));
        return;
    }
    let statement: Statement = match serde_json::from_slice(payload) {
        Ok(s) => s,
        Err(e) => {
            f.fail(prov, format!("its payload is not an in-toto statement: {e}"));
            return;
        }
    };
    if !statement.kind.starts_with("https://in-toto.io/Statement/") {
        f.fail(prov, format!("its payload has `_type` `{}`, not an in-toto statement", statement.kind));
        return;
    }
    let mut bad = false;
    let mut seen = BTreeSet::new();
    for subject in &statement.subject {
        let name = subject.name.as_str();
        if !archives.iter().any(|a| a == name) {
            f.fail(prov, format!("subject `{name}` is not an archive of this release"));
            bad = true;
            continue;
        }
        if !seen.insert(name) {
            continue;
        }
        let claimed = subject.digest.get("sha256").and_then(|d| Sha256::parse(d));
        match (claimed, found.get(name)) {
            (None, _) => {
                f.fail(prov, format!("subject `{name}` has no sha256 digest"));
                f.taint(name, format!("provenance `{prov}` records no sha256 for it"));
                bad = true;
            }
            (Some(claimed), Some(actual)) if claimed != *actual => {
                f.fail(
                    prov,
                    format!("subject `{name}` has sha256 {}…, the archive has {}…", claimed.short(), actual.short()),
                );
                f.taint(name, format!("provenance `{prov}` records sha256 {}…", claimed.short()));
                bad = true;
            }
            // A missing archive was reported where it was looked for.
            _ => {}
        }
    }
    for archive in archives {
        if !seen.contains(archive.as_str()) {
            f.fail(prov, format!("archive `{archive}` is not among its subjects"));
            f.taint(archive, format!("provenance `{prov}` does not name it"));
            bad = true;
        }
    }
    if !bad {
        f.note(
            prov,
            format!(
                "its {} subjects are exactly the archives{}",
                statement.subject.len(),
                if verified { "" } else { " (unverified statement)" }
            ),
        );
        for archive in archives {
            if verified {
                f.note(archive, format!("in provenance `{prov}`"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sbom_subjects_by_name() {
        let manifest = Manifest::from_json(
            r#"{"format_version":1,"project":{"name":"app"},"version":"1.0.0","channel":"stable",
                "commit":"c","source_date_epoch":0,"targets":[],"artifacts":[]}"#,
        )
        .unwrap();
        let archives = vec![
            "app-1.0.0-x86_64-unknown-linux-gnu.tar.gz".to_string(),
            "app-1.0.0-x86_64-unknown-linux-musl.tar.gz".to_string(),
        ];
        assert_eq!(
            sbom_subject("app-1.0.0-x86_64-unknown-linux-gnu.spdx.json", &manifest, &archives).as_deref(),
            Some("app-1.0.0-x86_64-unknown-linux-gnu.tar.gz")
        );
        assert_eq!(sbom_subject("app-1.0.0-x86_64.cdx.json", &manifest, &archives), None);
    }
}
