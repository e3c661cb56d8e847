//! Signatures, bundles and provenance, checked with the public key.
//!
//! A signature file is named after its subject: `<file>.sig` (legacy: base64 DER ECDSA over
//! sha256(file)) or `<file>.sigstore.json` (Sigstore bundle v0.3). Every one found is checked
//! against the digest of the subject's bytes as they were hashed here, never against a digest
//! a document claims. A bundle holding a DSSE envelope is the signature of a provenance file:
//! its verified statement must be the one that file holds.
//!
//! Provenance (`.intoto.jsonl`) is read one envelope per line; with a key, each envelope must
//! verify and only its verified payload is read ([`super::content::check_statement`]).
//!
//! Without a key nothing is verified: signatures are reported `unchecked` ("not checked (no
//! key)"). With a key the release must be signed by it: every archive, `checksums.txt`,
//! `index.json` and `manifest.json` needs a signature (bundle or legacy) that verifies — a
//! release whose signatures were stripped fails, however well its files agree. With
//! `require_signatures` each must have a bundle (a legacy `.sig` alone is not enough).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use relman_manifest::{ArtifactKind, Failure, Manifest, Sha256};
use relman_sign::bundle::Content;
use relman_sign::keyless::Trust;
use relman_sign::{blob, dsse, Bundle};

use super::content::check_statement;
use super::report::Findings;
use super::{INDEX_FILE, MANIFEST_FILE};
use crate::hash::sha256_bytes;

pub(super) const BUNDLE_SUFFIX: &str = ".sigstore.json";
pub(super) const LEGACY_SUFFIX: &str = ".sig";

/// What was read of a release, for the signature checks.
pub(super) struct Release<'a> {
    pub manifest: &'a Manifest,
    pub checksums_name: &'a str,
    /// The archives (manifest and index), in order.
    pub archives: &'a [String],
    /// The digest of every file that was read, as hashed.
    pub found: &'a BTreeMap<String, Sha256>,
    /// Files looked for and not found.
    pub missing: &'a BTreeSet<String>,
    /// The bytes of the small files (signatures, bundles, SBOMs, provenance).
    pub contents: &'a BTreeMap<String, Vec<u8>>,
    /// Signature and bundle files present, in order.
    pub signature_files: &'a [String],
    /// Provenance files present or listed, in order.
    pub provenance_files: &'a [String],
}

/// Whether `name` is a signature or a bundle (by name, or by the manifest's kind).
pub(super) fn is_signature_file(name: &str, manifest: &Manifest) -> bool {
    name.ends_with(LEGACY_SUFFIX)
        || name.ends_with(BUNDLE_SUFFIX)
        || manifest.artifact(name).is_some_and(|a| matches!(a.kind, ArtifactKind::Signature | ArtifactKind::Bundle))
}

fn is_legacy(name: &str, manifest: &Manifest) -> bool {
    name.ends_with(LEGACY_SUFFIX)
        || (!name.ends_with(BUNDLE_SUFFIX)
            && manifest.artifact(name).is_some_and(|a| a.kind == ArtifactKind::Signature))
}

/// The file a signature file signs: its name without the suffix, which the manifest's
/// `subject` (when it has one) must agree with.
fn subject_of(name: &str, manifest: &Manifest) -> Result<String, String> {
    let by_name =
        name.strip_suffix(BUNDLE_SUFFIX).or_else(|| name.strip_suffix(LEGACY_SUFFIX)).filter(|s| !s.is_empty());
    let recorded = manifest.artifact(name).and_then(|a| a.subject.as_deref());
    match (by_name, recorded) {
        (Some(n), Some(r)) if n != r => {
            Err(format!("manifest.json records `{r}` as its subject, but its name says `{n}`"))
        }
        (Some(n), _) => Ok(n.to_string()),
        (None, Some(r)) => Ok(r.to_string()),
        (None, None) => Err("names no subject (neither by its name nor in manifest.json)".into()),
    }
}

/// What the signatures of one subject gave: `Some(true)` verified, `Some(false)` failed.
#[derive(Default, Clone, Copy)]
struct Signed {
    bundle: Option<bool>,
    legacy: Option<bool>,
}

pub(super) fn check(f: &mut Findings, r: &Release<'_>, key: Option<Trust<'_>>, require: bool) {
    let statements = check_provenance(f, r, key);

    let mut signed: BTreeMap<String, Signed> = BTreeMap::new();
    for name in r.signature_files {
        let subject = match subject_of(name, r.manifest) {
            Ok(s) => s,
            Err(why) => {
                f.fail(name, why);
                continue;
            }
        };
        let legacy = is_legacy(name, r.manifest);
        let Some(digest) = r.found.get(&subject) else {
            let why = if r.missing.contains(&subject) {
                format!("not checked: its subject `{subject}` is missing")
            } else {
                format!("not checked: its subject `{subject}` is not part of the release")
            };
            f.unchecked(name, why);
            continue;
        };
        let Some(key) = key else {
            f.unchecked(name, "not checked (no key)");
            f.note(&subject, format!("signature `{name}` not checked (no key)"));
            continue;
        };
        let public_key = match key {
            Trust::Key(k) => Some(k),
            Trust::Identity(_) => None,
        };
        if legacy && public_key.is_none() {
            // A bare signature names no certificate: an identity is checked through bundles.
            f.unchecked(name, "legacy signature not checked (verifying by identity: the bundle is checked)");
            continue;
        }
        let result = match r.contents.get(name).map(|b| std::str::from_utf8(b)) {
            None => Err(Failure::verify(format!("`{name}` is too large to be a signature"))),
            Some(Err(_)) => Err(Failure::verify(format!("`{name}` is not UTF-8 text"))),
            Some(Ok(text)) if legacy => {
                blob::verify_legacy(text, name, public_key.expect("key checked above"), &subject, digest)
            }
            Some(Ok(text)) => verify_bundle(text, name, key, &subject, digest, r, &statements),
        };
        let verified = result.is_ok();
        let entry = signed.entry(subject.clone()).or_default();
        if legacy {
            entry.legacy = Some(entry.legacy.unwrap_or(true) && verified);
        } else {
            entry.bundle = Some(entry.bundle.unwrap_or(true) && verified);
        }
        match result {
            Ok(()) => {
                f.note(name, format!("verifies `{subject}` with {}", key.describe()));
                f.note(&subject, format!("signature `{name}` verifies"));
            }
            Err(e) => {
                f.fail(name, e.message);
                f.taint(&subject, format!("its signature `{name}` does not verify"));
            }
        }
    }

    if key.is_none() {
        return;
    }
    // With a key, the release must be signed by it: every archive and every document verify
    // reports from (checksums, index, manifest) needs a signature that verifies.
    let mut required: Vec<&str> = r.archives.iter().map(String::as_str).collect();
    required.extend([r.checksums_name, INDEX_FILE, MANIFEST_FILE]);
    for subject in required {
        if !r.found.contains_key(subject) {
            continue; // missing, or never listed: reported elsewhere
        }
        let s = signed.get(subject).copied().unwrap_or_default();
        if require && s.bundle.is_none() {
            f.fail(subject, format!("unsigned: there is no `{subject}{BUNDLE_SUFFIX}`, and signatures are required"));
        } else if s.bundle.is_none() && matches!(key, Some(Trust::Identity(_))) {
            f.fail(
                subject,
                format!("unsigned: there is no `{subject}{BUNDLE_SUFFIX}`, and an identity was given to check it with"),
            );
        } else if s.bundle.is_none() && s.legacy.is_none() {
            f.fail(
                subject,
                format!(
                    "unsigned: there is no `{subject}{BUNDLE_SUFFIX}` or `{subject}{LEGACY_SUFFIX}`, and a key was given to check it with"
                ),
            );
        }
    }
}

/// Checks every provenance file; returns the verified statements as (file, payload).
fn check_provenance(f: &mut Findings, r: &Release<'_>, key: Option<Trust<'_>>) -> Vec<(String, Vec<u8>)> {
    let mut statements = Vec::new();
    let mut checked: HashSet<(String, Sha256)> = HashSet::new();
    for prov in r.provenance_files {
        let Some(bytes) = r.contents.get(prov) else {
            if r.found.contains_key(prov) {
                f.fail(prov, "is too large to be a provenance file");
            }
            continue;
        };
        let Ok(text) = std::str::from_utf8(bytes) else {
            f.fail(prov, "is not UTF-8 text");
            continue;
        };
        let envelopes = match dsse::parse_intoto_jsonl(text, prov) {
            Ok(e) => e,
            Err(e) => {
                f.fail(prov, e.message);
                continue;
            }
        };
        // The key envelopes are checked with: the given one, or for an identity the key of the
        // certificate in the provenance's verified bundle.
        let envelope_key = match key {
            Some(Trust::Key(k)) => Some(Ok((k.clone(), format!("key {}", k.hint())))),
            Some(trust @ Trust::Identity(_)) => Some(provenance_bundle_key(r, prov, trust)),
            None => None,
        };
        if let Some(Err(why)) = &envelope_key {
            f.fail(prov, why.clone());
            continue;
        }
        for envelope in &envelopes {
            let (payload_type, payload, verified) = match &envelope_key {
                Some(Ok((key, who))) => match envelope.verify(key, prov) {
                    Ok(v) => {
                        f.note(prov, format!("DSSE signature verifies with {who}"));
                        (v.payload_type, v.payload, true)
                    }
                    Err(e) => {
                        f.fail(prov, e.message);
                        continue;
                    }
                },
                Some(Err(_)) => continue,
                None => {
                    f.unchecked(prov, "DSSE signature not checked (no key)");
                    match decode_base64(&envelope.payload) {
                        Some(p) => (envelope.payload_type.clone(), p, false),
                        None => {
                            f.fail(prov, "its payload is not base64");
                            continue;
                        }
                    }
                }
            };
            if checked.insert((prov.clone(), sha256_bytes(&payload))) {
                check_statement(f, prov, &payload_type, &payload, r.archives, r.found, verified);
            }
            if verified {
                statements.push((prov.clone(), payload));
            }
        }
    }
    statements
}

/// For an identity: the key of the certificate in `<prov>.sigstore.json`, once that bundle
/// verifies by identity.
fn provenance_bundle_key(
    r: &Release<'_>,
    prov: &str,
    trust: Trust<'_>,
) -> Result<(relman_sign::PublicKey, String), String> {
    let name = format!("{prov}{BUNDLE_SUFFIX}");
    let Some(text) = r.contents.get(&name).and_then(|b| std::str::from_utf8(b).ok()) else {
        return Err(format!("has no bundle `{name}`: keyless provenance is verified through it"));
    };
    let bundle = Bundle::parse(text, &name).map_err(|e| e.message)?;
    let (_, key) = trust.verify_dsse_bundle(&bundle, &name).map_err(|e| e.message)?;
    Ok((key, trust.describe()))
}

/// Verifies a `.sigstore.json` file: a message signature against the subject's digest, or a
/// DSSE envelope whose statement must be one the subject (a provenance file) holds.
fn verify_bundle(
    text: &str,
    name: &str,
    key: Trust<'_>,
    subject: &str,
    digest: &Sha256,
    r: &Release<'_>,
    statements: &[(String, Vec<u8>)],
) -> Result<(), Failure> {
    let bundle = Bundle::parse(text, name)?;
    match bundle.content(name)? {
        Content::MessageSignature(_) => key.verify_blob_bundle(&bundle, name, subject, digest).map(|_| ()),
        Content::DsseEnvelope(_) => {
            if !r.provenance_files.iter().any(|p| p == subject) {
                return Err(Failure::verify(format!(
                    "`{name}` holds a DSSE envelope, not the signature of `{subject}`"
                )));
            }
            let (verified, _) = key.verify_dsse_bundle(&bundle, name)?;
            if !statements.iter().any(|(p, payload)| p == subject && *payload == verified.payload) {
                return Err(Failure::verify(format!(
                    "`{name}` holds another statement than the verified ones in `{subject}`"
                )));
            }
            Ok(())
        }
    }
}

/// Standard or URL-safe base64, padded or not (DSSE readers accept all four).
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    use base64::Engine as _;
    let text = text.trim();
    [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD].iter().find_map(|engine| engine.decode(text).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(artifacts: &str) -> Manifest {
        Manifest::from_json(&format!(
            r#"{{"format_version":1,"project":{{"name":"app"}},"version":"1.0.0","channel":"stable",
                "commit":"c","source_date_epoch":0,"targets":[],"artifacts":[{artifacts}]}}"#
        ))
        .unwrap()
    }

    #[test]
    fn subjects_by_name_and_manifest() {
        let m = manifest(
            r#"{"name":"a.tar.gz.sig","kind":"signature","subject":"a.tar.gz"},
               {"name":"b.zip.sigstore.json","kind":"bundle","subject":"a.tar.gz"},
               {"name":"odd","kind":"signature","subject":"a.tar.gz"}"#,
        );
        assert_eq!(subject_of("a.tar.gz.sig", &m).unwrap(), "a.tar.gz");
        assert_eq!(subject_of("c.sigstore.json", &m).unwrap(), "c");
        assert!(subject_of("b.zip.sigstore.json", &m)
            .unwrap_err()
            .contains("records `a.tar.gz` as its subject, but its name says `b.zip`"));
        assert_eq!(subject_of("odd", &m).unwrap(), "a.tar.gz");
        assert!(is_legacy("odd", &m) && is_signature_file("odd", &m));
        assert!(!is_legacy("b.zip.sigstore.json", &m));
        assert!(subject_of(".sig", &m).is_err());
    }
}
