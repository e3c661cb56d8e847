//! Rekor v1: the entries relman proposes, the bundle's `tlogEntries` made from Rekor's answer,
//! and the checks of an entry at verification. The HTTP calls belong to the caller.
//!
//! * Proposals (`POST /api/v1/log/entries`): `hashedrekord` 0.0.1 for blobs (digest, signature,
//!   certificate) and `dsse` 0.0.1 for attestations (the envelope and the certificate).
//! * Answer: `{"<uuid>": {"body", "integratedTime", "logID", "logIndex", "verification":
//!   {"signedEntryTimestamp", "inclusionProof"}}}`, also what `GET .../entries/<uuid>` returns
//!   after a 409 (the entry exists).
//! * Verification ([`check_entry`]): the log is one of the trusted root's; the signed entry
//!   timestamp (the log's signature over the canonical JSON of body, integrated time, log ID
//!   and index) verifies; the inclusion proof leads from the body's leaf hash to the root hash
//!   (RFC 9162), and that root is the one the log's signed checkpoint names; and the body
//!   records this signature, this certificate and these bytes.

use std::collections::BTreeMap;

use relman_manifest::{Failure, Sha256};
use serde_json::{json, Value};

use super::cert::verify_with_spki;
use super::trust::TransparencyLog;
use crate::b64;
use crate::dsse::Envelope;

/// The path of the entries endpoint below Rekor's base URL.
pub const ENTRIES_PATH: &str = "/api/v1/log/entries";

fn cert_pem(der: &[u8]) -> String {
    crate::pem::encode("CERTIFICATE", der)
}

/// A `hashedrekord` proposal for a blob signature.
pub fn hashedrekord(sha256: &Sha256, signature_der: &[u8], cert_der: &[u8]) -> Value {
    json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": sha256.as_str()}},
            "signature": {
                "content": b64::encode(signature_der),
                "publicKey": {"content": b64::encode(cert_pem(cert_der).as_bytes())},
            },
        },
    })
}

/// A `dsse` proposal for a signed envelope.
pub fn dsse(envelope: &Envelope, cert_der: &[u8]) -> Value {
    json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {"proposedContent": {
            "envelope": envelope.to_json(),
            "verifiers": [b64::encode(cert_pem(cert_der).as_bytes())],
        }},
    })
}

/// The bundle's transparency log entry (protobuf JSON: 64-bit integers as strings, bytes as
/// base64) from Rekor's answer; `origin` is the URL asked.
pub fn to_bundle_entry(answer: &str, origin: &str) -> Result<Value, Failure> {
    let bad = |why: String| Failure::network(format!("Rekor at {origin} answered {why}"));
    let value: Value = serde_json::from_str(answer).map_err(|e| bad(format!("something that is not JSON ({e})")))?;
    let (_, entry) = value.as_object().and_then(|o| o.iter().next()).ok_or_else(|| bad("no log entry".into()))?;
    let text = |key: &str| entry.get(key).and_then(Value::as_str).map(str::to_string);
    let int = |v: Option<&Value>| v.and_then(Value::as_i64);
    let body = text("body").ok_or_else(|| bad("an entry without `body`".into()))?;
    let body_json: Value = b64::decode(&body)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| bad("an entry whose `body` is not base64 JSON".into()))?;
    let kind = body_json.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
    let version = body_json.get("apiVersion").and_then(Value::as_str).unwrap_or_default().to_string();
    let log_id =
        text("logID").and_then(|h| hex::decode(h).ok()).ok_or_else(|| bad("an entry without a hex `logID`".into()))?;
    let index = int(entry.get("logIndex")).ok_or_else(|| bad("an entry without `logIndex`".into()))?;
    let time = int(entry.get("integratedTime")).ok_or_else(|| bad("an entry without `integratedTime`".into()))?;
    let mut out = json!({
        "logIndex": index.to_string(),
        "logId": {"keyId": b64::encode(&log_id)},
        "kindVersion": {"kind": kind, "version": version},
        "integratedTime": time.to_string(),
    });
    if let Some(set) = entry.pointer("/verification/signedEntryTimestamp").and_then(Value::as_str) {
        out["inclusionPromise"] = json!({"signedEntryTimestamp": set});
    }
    if let Some(proof) = entry.pointer("/verification/inclusionProof") {
        let hashes: Option<Vec<String>> = proof.get("hashes").and_then(Value::as_array).map(|h| {
            h.iter().filter_map(|x| x.as_str().and_then(|s| hex::decode(s).ok())).map(|b| b64::encode(&b)).collect()
        });
        let root = proof.get("rootHash").and_then(Value::as_str).and_then(|h| hex::decode(h).ok());
        if let (Some(hashes), Some(root), Some(i), Some(size)) =
            (hashes, root, int(proof.get("logIndex")), int(proof.get("treeSize")))
        {
            let mut p = json!({
                "logIndex": i.to_string(),
                "rootHash": b64::encode(&root),
                "treeSize": size.to_string(),
                "hashes": hashes,
            });
            if let Some(cp) = proof.get("checkpoint").and_then(Value::as_str) {
                p["checkpoint"] = json!({"envelope": cp});
            }
            out["inclusionProof"] = p;
        }
    }
    out["canonicalizedBody"] = Value::String(body);
    Ok(out)
}

/// What a log entry must record: the signed content and the certificate.
pub enum Expected<'a> {
    /// A blob signature: its digest and signature.
    Blob { sha256: &'a [u8; 32], signature: &'a [u8] },
    /// A DSSE envelope: the payload's digest and the signature.
    Dsse { payload_sha256: [u8; 32], signature: &'a [u8] },
}

/// What a bundle's version asks of its log entries (the Sigstore bundle specification).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryRule {
    /// v0.2 and v0.3: an inclusion proof with a checkpoint signed by the log is required.
    ProofWithCheckpoint,
    /// v0.1 (and cosign's OCI layer annotations, which keep no proof): a signed entry timestamp
    /// is required; a proof, when present, must hold too.
    Promise,
}

impl Expected<'_> {
    /// The signature bytes (what an RFC 3161 timestamp stamps).
    pub fn signature(&self) -> &[u8] {
        match self {
            Expected::Blob { signature, .. } | Expected::Dsse { signature, .. } => signature,
        }
    }
}

/// A verified entry: its index and, when a signed entry timestamp covers it, when the log saw
/// it. `integrated_time` without a verified SET is the bundle writer's word and is not returned.
pub struct CheckedEntry {
    pub signed_time: Option<i64>,
    pub log_index: i64,
}

fn int_field(v: &Value, key: &str) -> Option<i64> {
    match v.get(key)? {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

/// Checks one bundle `tlogEntries` item against the trusted logs and what it must record.
///
/// The log vouches for the entry only through its own signatures: a signed entry timestamp
/// (SET) over body, time, log ID and index, or an inclusion proof whose root the log signed in
/// a checkpoint for its origin. A proof without a checkpoint is a tree anyone can build (one
/// leaf, root = leaf hash) and counts for nothing. `rule` says which the bundle's version
/// requires.
pub fn check_entry(
    entry: &Value,
    logs: &[TransparencyLog],
    expected: &Expected<'_>,
    cert_der: &[u8],
    origin: &str,
    rule: EntryRule,
) -> Result<CheckedEntry, Failure> {
    let bad = |why: String| Failure::verify(format!("`{origin}`: its transparency log entry {why}"));
    let key_id = entry
        .pointer("/logId/keyId")
        .and_then(Value::as_str)
        .and_then(b64::decode)
        .ok_or_else(|| bad("has no log ID".into()))?;
    let log = logs.iter().find(|l| l.log_id == key_id).ok_or_else(|| {
        bad(format!("is from a log the trusted root does not know (log ID {})", hex::encode(&key_id)))
            .with_hint("pass the --trusted-root of the Sigstore instance that signed the release")
    })?;
    let body_b64 = entry.get("canonicalizedBody").and_then(Value::as_str).ok_or_else(|| bad("has no body".into()))?;
    let body = b64::decode(body_b64).ok_or_else(|| bad("has a body that is not base64".into()))?;
    let time = int_field(entry, "integratedTime");
    let index = int_field(entry, "logIndex").ok_or_else(|| bad("has no log index".into()))?;

    let mut signed_time = None;
    if let Some(set) = entry.pointer("/inclusionPromise/signedEntryTimestamp").and_then(Value::as_str) {
        let set = b64::decode(set).ok_or_else(|| bad("has a signed entry timestamp that is not base64".into()))?;
        let time = time.ok_or_else(|| bad("has a signed entry timestamp but no integrated time".into()))?;
        let mut payload = BTreeMap::new();
        payload.insert("body", Value::String(b64::encode(&body)));
        payload.insert("integratedTime", json!(time));
        payload.insert("logID", Value::String(hex::encode(&key_id)));
        payload.insert("logIndex", json!(index));
        let canonical = serde_json::to_vec(&payload).unwrap_or_default();
        if !verify_with_spki(&log.public_key, &canonical, &set) {
            return Err(bad("has a signed entry timestamp the log's key did not make".into())
                .with_hint("the entry was altered, or it belongs to another signature"));
        }
        if !log.valid_at(time) {
            return Err(bad(format!("was integrated at {time}, outside the validity of the log's key")));
        }
        signed_time = Some(time);
    }
    let mut proven_by_checkpoint = false;
    if let Some(proof) = entry.get("inclusionProof") {
        proven_by_checkpoint = check_inclusion(proof, &body, log).map_err(bad)?;
    }
    match rule {
        EntryRule::ProofWithCheckpoint if !proven_by_checkpoint => {
            return Err(bad(
                "has no inclusion proof with a checkpoint signed by the log, which this bundle version requires".into(),
            )
            .with_hint("the signature was never logged, or the bundle was stripped: re-sign the release"));
        }
        EntryRule::Promise if signed_time.is_none() => {
            return Err(bad("has no signed entry timestamp, which this bundle form requires".into())
                .with_hint("the signature was never logged, or the bundle was stripped: re-sign the release"));
        }
        _ => {}
    }
    check_body(&body, expected, cert_der)
        .map_err(|why| bad(why).with_hint("the log entry belongs to other bytes or another signature"))?;
    Ok(CheckedEntry { signed_time, log_index: index })
}

/// RFC 9162 inclusion: from the leaf hash of `body` along `hashes` to `rootHash`; `Ok(true)`
/// when the log's signed checkpoint names that root, `Ok(false)` when there is no checkpoint
/// (the proof then shows nothing: anyone can build a tree).
fn check_inclusion(proof: &Value, body: &[u8], log: &TransparencyLog) -> Result<bool, String> {
    // Protobuf JSON leaves out zero values: no `logIndex` is index 0, no `hashes` an empty path.
    let index = int_field(proof, "logIndex").unwrap_or(0);
    let size = int_field(proof, "treeSize").ok_or("has an inclusion proof without a tree size")?;
    let root = proof
        .get("rootHash")
        .and_then(Value::as_str)
        .and_then(b64::decode)
        .ok_or("has an inclusion proof without a root hash")?;
    let hashes: Vec<Vec<u8>> = proof
        .get("hashes")
        .and_then(Value::as_array)
        .map(|h| h.iter().filter_map(|x| x.as_str().and_then(b64::decode)).collect())
        .unwrap_or_default();
    let leaf = hash_children(0x00, &[body]);
    let computed = root_from_inclusion(index as u64, size as u64, leaf, &hashes)
        .ok_or("has an inclusion proof whose path does not fit the tree")?;
    if computed.as_slice() != root.as_slice() {
        return Err("has an inclusion proof that does not lead to its root hash".into());
    }
    match proof.pointer("/checkpoint/envelope").and_then(Value::as_str) {
        Some(checkpoint) => check_checkpoint(checkpoint, size as u64, &root, log).map(|()| true),
        None => Ok(false),
    }
}

fn hash_children(prefix: u8, parts: &[&[u8]]) -> [u8; 32] {
    let mut h = relman_manifest::hash::Hasher::new();
    h.update(&[prefix]);
    for p in parts {
        h.update(p);
    }
    h.finish_bytes()
}

/// The root hash an inclusion proof implies (RFC 9162 2.1.3.2); `None` when it cannot fit.
pub(crate) fn root_from_inclusion(index: u64, size: u64, leaf: [u8; 32], path: &[Vec<u8>]) -> Option<[u8; 32]> {
    if index >= size {
        return None;
    }
    let (mut fn_, mut sn, mut r) = (index, size - 1, leaf);
    for p in path {
        if sn == 0 {
            return None;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = hash_children(0x01, &[p, &r]);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = hash_children(0x01, &[&r, p]);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    (sn == 0).then_some(r)
}

/// The host a log's checkpoints name as their origin: its base URL's authority
/// (`https://rekor.sigstore.dev` → `rekor.sigstore.dev`).
fn log_host(base_url: &str) -> &str {
    let rest = base_url.split_once("://").map_or(base_url, |(_, r)| r);
    rest.split(['/', '?', '#']).next().unwrap_or_default()
}

/// A signed note (`origin\nsize\nbase64 root\n...\n\n— name base64(keyhint ‖ signature)`): the
/// origin is the log's (`<host>` or `<host> - <tree ID>`, the host of its base URL), the size and
/// root are the proof's, and a signature line named for that host verifies with the log's key.
fn check_checkpoint(note: &str, size: u64, root: &[u8], log: &TransparencyLog) -> Result<(), String> {
    let (text, signatures) = note.split_once("\n\n").ok_or("has a checkpoint that is not a signed note")?;
    let signed = format!("{text}\n");
    let mut lines = text.lines();
    let origin = lines.next().unwrap_or_default();
    let host = log_host(&log.base_url);
    if host.is_empty() {
        return Err(
            "has a checkpoint, and the trusted root gives its log no base URL to check the origin against".into()
        );
    }
    let origin_host = origin.split_once(" - ").map_or(origin, |(h, _)| h);
    if origin_host != host {
        return Err(format!("has a checkpoint for the log `{origin}`, not for `{host}`"));
    }
    let cp_size: Option<u64> = lines.next().and_then(|l| l.parse().ok());
    let cp_root = lines.next().and_then(b64::decode);
    if cp_size != Some(size) || cp_root.as_deref() != Some(root) {
        return Err("has a checkpoint for another tree than its inclusion proof".into());
    }
    let hint = &log.log_id[..4.min(log.log_id.len())];
    let verified = signatures.lines().filter_map(|l| l.strip_prefix("— ")).any(|l| {
        let Some((name, sig)) = l.split_once(' ') else { return false };
        let Some(sig) = b64::decode(sig.trim()) else { return false };
        name == host
            && sig.len() > 4
            && &sig[..4] == hint
            && verify_with_spki(&log.public_key, signed.as_bytes(), &sig[4..])
    });
    if !verified {
        return Err("has a checkpoint the log's key did not sign".into());
    }
    Ok(())
}

/// The entry's body records this content, this signature and this certificate.
fn check_body(body: &[u8], expected: &Expected<'_>, cert_der: &[u8]) -> Result<(), String> {
    let body: Value = serde_json::from_slice(body).map_err(|_| "has a body that is not JSON".to_string())?;
    let kind = body.get("kind").and_then(Value::as_str).unwrap_or_default();
    let spec = body.get("spec").cloned().unwrap_or(Value::Null);
    let same_cert = |b64_pem: Option<&str>| -> bool {
        b64_pem
            .and_then(b64::decode)
            .and_then(|pem| String::from_utf8(pem).ok())
            .and_then(|pem| crate::pem::parse(&pem).ok())
            .is_some_and(|blocks| blocks.iter().any(|b| b.der.as_slice() == cert_der))
    };
    match (expected, kind) {
        (Expected::Blob { sha256, signature }, "hashedrekord") => {
            let value = spec.pointer("/data/hash/value").and_then(Value::as_str).unwrap_or_default();
            if !value.eq_ignore_ascii_case(&hex::encode(sha256)) {
                return Err(format!("records sha256 {value}, not the signed file's {}", hex::encode(sha256)));
            }
            let sig = spec.pointer("/signature/content").and_then(Value::as_str).and_then(b64::decode);
            if sig.as_deref() != Some(*signature) {
                return Err("records another signature".into());
            }
            if !same_cert(spec.pointer("/signature/publicKey/content").and_then(Value::as_str)) {
                return Err("records another certificate".into());
            }
            Ok(())
        }
        (Expected::Dsse { payload_sha256, signature }, "dsse") => {
            let value = spec.pointer("/payloadHash/value").and_then(Value::as_str).unwrap_or_default();
            if !value.eq_ignore_ascii_case(&hex::encode(payload_sha256)) {
                return Err(format!("records payload sha256 {value}, not the envelope's"));
            }
            let signatures = spec.get("signatures").and_then(Value::as_array).cloned().unwrap_or_default();
            let matches = signatures.iter().any(|s| {
                s.get("signature").and_then(Value::as_str).and_then(b64::decode).as_deref() == Some(*signature)
                    && same_cert(s.get("verifier").and_then(Value::as_str))
            });
            if !matches {
                return Err("records another signature or certificate".into());
            }
            Ok(())
        }
        (_, other) => Err(format!("is of kind `{other}`, not the kind this signature is logged as")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(i: u8) -> [u8; 32] {
        hash_children(0x00, &[&[i]])
    }

    /// MTH of RFC 9162, for reference.
    fn mth(leaves: &[[u8; 32]]) -> [u8; 32] {
        if leaves.len() == 1 {
            return leaves[0];
        }
        let k = leaves.len().next_power_of_two() / 2;
        let k = if k == leaves.len() { k / 2 } else { k };
        hash_children(0x01, &[&mth(&leaves[..k]), &mth(&leaves[k..])])
    }

    fn path(leaves: &[[u8; 32]], m: usize) -> Vec<Vec<u8>> {
        if leaves.len() == 1 {
            return Vec::new();
        }
        let k = leaves.len().next_power_of_two() / 2;
        let k = if k == leaves.len() { k / 2 } else { k };
        if m < k {
            let mut p = path(&leaves[..k], m);
            p.push(mth(&leaves[k..]).to_vec());
            p
        } else {
            let mut p = path(&leaves[k..], m - k);
            p.push(mth(&leaves[..k]).to_vec());
            p
        }
    }

    #[test]
    fn inclusion_proofs_of_every_leaf_of_every_small_tree_verify() {
        for size in 1..=17usize {
            let leaves: Vec<[u8; 32]> = (0..size as u8).map(leaf).collect();
            let root = mth(&leaves);
            for m in 0..size {
                let p = path(&leaves, m);
                assert_eq!(root_from_inclusion(m as u64, size as u64, leaves[m], &p), Some(root), "{size} {m}");
                if !p.is_empty() {
                    let mut bad = p.clone();
                    bad[0][0] ^= 1;
                    assert_ne!(root_from_inclusion(m as u64, size as u64, leaves[m], &bad), Some(root));
                }
                assert_ne!(root_from_inclusion(m as u64, size as u64, leaf(200), &p), Some(root));
            }
        }
        assert_eq!(root_from_inclusion(3, 3, leaf(0), &[]), None);
    }
}
