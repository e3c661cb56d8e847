//! The verdict: one line per problem, one entry per artifact, and the report files.
//!
//! Checks record what they find in [`Findings`] under the name of the artifact concerned:
//! a failure (which is also a problem line `<artifact>: <reason>`), a taint (the artifact
//! fails because something about it failed, e.g. its signature; the problem line is the other
//! artifact's), something left unchecked, or a note. The artifact list is built from that:
//! `fail` when anything failed, else `unchecked` when something could not be checked, else
//! `pass`; the reason says why in one line.
//!
//! [`write_files`] writes the report as `remote-verify.json` and `remote-verify.md` (a table
//! for people), each through a temporary file and a rename.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use relman_manifest::{ArtifactKind, Failure, Sha256};
use serde::Serialize;

/// File names of the report files.
pub const REPORT_JSON: &str = "remote-verify.json";
pub const REPORT_MARKDOWN: &str = "remote-verify.md";

/// The outcome of verifying one release version.
#[derive(Clone, Debug, Serialize)]
pub struct VerifyReport {
    /// The version directory verified (credentials redacted).
    pub location: String,
    /// The program's name, as `index.json` gives it.
    pub name: String,
    pub version: String,
    pub files: Vec<FileCheck>,
    /// One line per problem, each naming a file.
    pub problems: Vec<String>,
    /// Hint (base64 sha256 of the public key) of the key signatures were checked with; `None`
    /// when no key was given and signatures were not checked.
    pub key_hint: Option<String>,
    /// The identity policy keyless signatures were checked against (`identity `X` (issuer
    /// `Y`)`), when verifying by identity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// Whether unsigned archives, `checksums.txt` and `index.json` were problems.
    pub require_signatures: bool,
    /// Every artifact of the release with its verdict, in manifest order, then the others.
    pub artifacts: Vec<ArtifactCheck>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// The verdict for the artifact `name`, if the report has one.
    pub fn artifact(&self, name: &str) -> Option<&ArtifactCheck> {
        self.artifacts.iter().find(|a| a.name == name)
    }

    /// The report as a Markdown page: a summary, a table of artifacts, the problems.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!("# Verification of {} {}\n\n", cell(&self.name), cell(&self.version)));
        out.push_str(&format!("- location: `{}`\n", cell(&self.location)));
        match (&self.key_hint, &self.identity) {
            (Some(hint), _) => out.push_str(&format!("- signatures checked with key `{hint}`\n")),
            (None, Some(who)) => out.push_str(&format!("- signatures checked by {}\n", cell(who))),
            (None, None) => out.push_str("- signatures not checked (no key)\n"),
        }
        if self.require_signatures {
            out.push_str("- signatures required\n");
        }
        let count = |s: ArtifactStatus| self.artifacts.iter().filter(|a| a.status == s).count();
        out.push_str(&format!(
            "- result: **{}** ({} pass, {} fail, {} unchecked)\n\n",
            if self.is_ok() { "PASS" } else { "FAIL" },
            count(ArtifactStatus::Pass),
            count(ArtifactStatus::Fail),
            count(ArtifactStatus::Unchecked),
        ));
        out.push_str("| artifact | kind | status | reason |\n|---|---|---|---|\n");
        for a in &self.artifacts {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                cell(&a.name),
                a.kind.map(kind_name).unwrap_or("-"),
                a.status.as_str(),
                cell(&a.reason)
            ));
        }
        if !self.problems.is_empty() {
            out.push_str(&format!("\n## Problems ({})\n\n", self.problems.len()));
            for p in &self.problems {
                out.push_str(&format!("- {}\n", cell(p)));
            }
        }
        out
    }
}

/// One file of the release and what was found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FileCheck {
    pub name: String,
    pub status: FileStatus,
    /// The digest a listing promised.
    pub expected: Option<Sha256>,
    /// The digest of the bytes found.
    pub found: Option<Sha256>,
    /// The size found, in bytes.
    pub size: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileStatus {
    Ok,
    Mismatch,
    Missing,
    Extra,
    SizeMismatch,
}

/// The verdict on one artifact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ArtifactCheck {
    pub name: String,
    /// The manifest's kind, or the one its name implies; `None` for files that are no
    /// artifact (`manifest.json`, `channels.json`, unknown extra files).
    pub kind: Option<ArtifactKind>,
    pub status: ArtifactStatus,
    /// Why, in one line: the failures, or what was checked.
    pub reason: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ArtifactStatus {
    Pass,
    Fail,
    Unchecked,
}

impl ArtifactStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ArtifactStatus::Pass => "pass",
            ArtifactStatus::Fail => "fail",
            ArtifactStatus::Unchecked => "unchecked",
        }
    }
}

/// The kebab-case name serde gives the kind (`sbom`, `bundle`, ...).
pub fn kind_name(kind: ArtifactKind) -> &'static str {
    match kind {
        ArtifactKind::Archive => "archive",
        ArtifactKind::Checksums => "checksums",
        ArtifactKind::Index => "index",
        ArtifactKind::Sbom => "sbom",
        ArtifactKind::Provenance => "provenance",
        ArtifactKind::Signature => "signature",
        ArtifactKind::Bundle => "bundle",
        ArtifactKind::Notes => "notes",
        ArtifactKind::Chart => "chart",
        ArtifactKind::Installer => "installer",
        ArtifactKind::Page => "page",
    }
}

/// A table cell: one line, no `|`.
fn cell(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>().replace('|', "\\|")
}

#[derive(Default)]
struct State {
    kind: Option<ArtifactKind>,
    fails: Vec<String>,
    unchecked: Vec<String>,
    notes: Vec<String>,
}

/// What the checks found, by artifact name, in the order names were first seen.
#[derive(Default)]
pub(crate) struct Findings {
    problems: Vec<String>,
    order: Vec<String>,
    states: HashMap<String, State>,
}

impl Findings {
    fn state(&mut self, name: &str) -> &mut State {
        if !self.states.contains_key(name) {
            self.order.push(name.to_string());
            self.states.insert(name.to_string(), State { kind: kind_from_name(name), ..State::default() });
        }
        self.states.get_mut(name).expect("just inserted")
    }

    /// Makes `name` an artifact of the report with the manifest's `kind`.
    pub fn declare(&mut self, name: &str, kind: ArtifactKind) {
        self.state(name).kind = Some(kind);
    }

    /// A problem: the line `<name>: <reason>`, and `name` fails.
    pub fn fail(&mut self, name: &str, reason: impl Into<String>) {
        let reason = reason.into();
        self.problems.push(format!("{name}: {reason}"));
        self.state(name).fails.push(reason);
    }

    /// `name` fails because of a problem recorded under another artifact.
    pub fn taint(&mut self, name: &str, reason: impl Into<String>) {
        let reason = reason.into();
        let state = self.state(name);
        if !state.fails.contains(&reason) {
            state.fails.push(reason);
        }
    }

    /// Something about `name` that could not be checked (not a problem).
    pub fn unchecked(&mut self, name: &str, reason: impl Into<String>) {
        self.state(name).unchecked.push(reason.into());
    }

    /// What was checked and held.
    pub fn note(&mut self, name: &str, note: impl Into<String>) {
        let note = note.into();
        let state = self.state(name);
        if !state.notes.contains(&note) {
            state.notes.push(note);
        }
    }

    /// The problem lines and the artifact list.
    pub fn finish(mut self) -> (Vec<String>, Vec<ArtifactCheck>) {
        let artifacts = self
            .order
            .iter()
            .map(|name| {
                let s = self.states.remove(name).unwrap_or_default();
                let (status, parts) = if !s.fails.is_empty() {
                    (ArtifactStatus::Fail, s.fails)
                } else if !s.unchecked.is_empty() {
                    (ArtifactStatus::Unchecked, [s.unchecked, s.notes].concat())
                } else {
                    (ArtifactStatus::Pass, s.notes)
                };
                ArtifactCheck {
                    name: name.clone(),
                    kind: s.kind,
                    status,
                    reason: if parts.is_empty() { "present".to_string() } else { parts.join("; ") },
                }
            })
            .collect();
        (self.problems, artifacts)
    }
}

/// The kind a file's name implies.
pub(crate) fn kind_from_name(name: &str) -> Option<ArtifactKind> {
    Some(if name.ends_with(".sig") {
        ArtifactKind::Signature
    } else if name.ends_with(".sigstore.json") {
        ArtifactKind::Bundle
    } else if name.ends_with(".intoto.jsonl") {
        ArtifactKind::Provenance
    } else if name.ends_with(".spdx.json") || name.ends_with(".cdx.json") {
        ArtifactKind::Sbom
    } else if name == crate::checksums::FILE_NAME {
        ArtifactKind::Checksums
    } else if name == super::INDEX_FILE {
        ArtifactKind::Index
    } else if name == "release-notes.md" {
        ArtifactKind::Notes
    } else if relman_manifest::ArchiveFormat::from_file_name(name).is_some() {
        ArtifactKind::Archive
    } else {
        return None;
    })
}

/// Writes `remote-verify.json` and `remote-verify.md` into `dir` (created if needed), each
/// atomically. Returns their paths.
pub fn write_files(dir: &Path, report: &VerifyReport) -> Result<Vec<PathBuf>, Failure> {
    std::fs::create_dir_all(dir).map_err(|e| Failure::io("create", dir, e))?;
    let json = serde_json::to_string_pretty(report)
        .map_err(|e| Failure::internal(format!("cannot serialise the report: {e}")))?
        + "\n";
    let mut written = Vec::new();
    for (name, text) in [(REPORT_JSON, json), (REPORT_MARKDOWN, report.to_markdown())] {
        let path = dir.join(name);
        let mut tmp = tempfile::Builder::new()
            .prefix(crate::lock::TEMP_PREFIX)
            .tempfile_in(dir)
            .map_err(|e| Failure::io("write", &path, e))?;
        tmp.write_all(text.as_bytes())
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(|e| Failure::io("write", &path, e))?;
        tmp.persist(&path).map_err(|e| Failure::io("write", &path, e.error))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_worst_finding() {
        let mut f = Findings::default();
        f.declare("a.tar.gz", ArtifactKind::Archive);
        f.note("a.tar.gz", "sha256 matches checksums.txt");
        f.unchecked("a.tar.gz.sig", "not checked (no key)");
        f.note("b.zip", "sha256 matches checksums.txt");
        f.fail("b.zip.sigstore.json", "does not verify");
        f.taint("b.zip", "its bundle `b.zip.sigstore.json` does not verify");
        f.unchecked("manifest.json", "x");
        let (problems, artifacts) = f.finish();
        assert_eq!(problems, vec!["b.zip.sigstore.json: does not verify"]);
        let got: Vec<(&str, Option<ArtifactKind>, ArtifactStatus)> =
            artifacts.iter().map(|a| (a.name.as_str(), a.kind, a.status)).collect();
        assert_eq!(
            got,
            vec![
                ("a.tar.gz", Some(ArtifactKind::Archive), ArtifactStatus::Pass),
                ("a.tar.gz.sig", Some(ArtifactKind::Signature), ArtifactStatus::Unchecked),
                ("b.zip", Some(ArtifactKind::Archive), ArtifactStatus::Fail),
                ("b.zip.sigstore.json", Some(ArtifactKind::Bundle), ArtifactStatus::Fail),
                ("manifest.json", None, ArtifactStatus::Unchecked),
            ]
        );
        assert_eq!(artifacts[2].reason, "its bundle `b.zip.sigstore.json` does not verify");
        assert_eq!(
            serde_json::to_value(&artifacts[0]).unwrap(),
            serde_json::json!({"name": "a.tar.gz", "kind": "archive", "status": "pass", "reason": "sha256 matches checksums.txt"})
        );
    }

    #[test]
    fn markdown_cells_stay_on_one_line() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }
}
