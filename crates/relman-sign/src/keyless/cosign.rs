//! Keyless signatures in cosign's OCI layout: the annotations of a `.sig` / `.att` layer.
//!
//! A keyless cosign layer carries, besides `dev.cosignproject.cosign/signature`:
//!
//! * `dev.sigstore.cosign/certificate`: the signing certificate, PEM;
//! * `dev.sigstore.cosign/chain`: the rest of the chain, PEM, concatenated;
//! * `dev.sigstore.cosign/bundle`: the Rekor bundle
//!   `{"SignedEntryTimestamp":"<base64>","Payload":{"body":"<base64>","integratedTime":N,"logIndex":N,"logID":"<hex>"}}`.
//!
//! [`annotations`] writes them from a v0.3 bundle relman made; [`bundle_of_layer`] reads them
//! back into a v0.1-form bundle (inclusion promise only: cosign's annotation keeps no proof), which
//! [`super::IdentityPolicy`] verifies like any other.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::bundle::{Bundle, Content, RawBytes, VerificationMaterial};
use crate::{b64, pem};

pub const CERTIFICATE_ANNOTATION: &str = "dev.sigstore.cosign/certificate";
pub const CHAIN_ANNOTATION: &str = "dev.sigstore.cosign/chain";
pub const BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";

/// The keyless annotations for a layer signed as `bundle` (with `chain_pem`, leaf first).
/// Empty for a key-signed bundle.
pub fn annotations(bundle: &Bundle, chain_pem: &[String]) -> Vec<(String, String)> {
    let material = &bundle.verification_material;
    let (Some(leaf), Some(entry)) = (material.leaf_certificate(), material.tlog_entries.first()) else {
        return Vec::new();
    };
    let int = |v: &Value| v.as_str().and_then(|s| s.parse::<i64>().ok()).or_else(|| v.as_i64()).unwrap_or(0);
    let log_id = entry.pointer("/logId/keyId").and_then(Value::as_str).and_then(b64::decode).unwrap_or_default();
    let rekor = json!({
        "SignedEntryTimestamp": entry.pointer("/inclusionPromise/signedEntryTimestamp").cloned().unwrap_or(Value::Null),
        "Payload": {
            "body": entry.get("canonicalizedBody").cloned().unwrap_or(Value::Null),
            "integratedTime": int(&entry["integratedTime"]),
            "logIndex": int(&entry["logIndex"]),
            "logID": hex::encode(log_id),
        }
    });
    vec![
        (CERTIFICATE_ANNOTATION.to_string(), pem::encode("CERTIFICATE", &leaf)),
        (CHAIN_ANNOTATION.to_string(), chain_pem.iter().skip(1).cloned().collect::<String>()),
        (BUNDLE_ANNOTATION.to_string(), rekor.to_string()),
    ]
}

/// A v0.3 bundle from a keyless layer's annotations and what it signs; `None` when the layer
/// has no certificate (a key-signed layer).
pub fn bundle_of_layer(annotations: &BTreeMap<String, String>, content: Content<'_>) -> Option<Bundle> {
    let cert = annotations.get(CERTIFICATE_ANNOTATION)?;
    let der = pem::parse(cert).ok()?.into_iter().find(|b| b.label == "CERTIFICATE")?.der.to_vec();
    let mut tlog_entries = Vec::new();
    if let Some(rekor) = annotations.get(BUNDLE_ANNOTATION).and_then(|t| serde_json::from_str::<Value>(t).ok()) {
        let p = &rekor["Payload"];
        let body = p["body"].as_str().unwrap_or_default();
        let kind = b64::decode(body)
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .map(|b| (b["kind"].as_str().unwrap_or("").to_string(), b["apiVersion"].as_str().unwrap_or("").to_string()))
            .unwrap_or_default();
        let log_id = hex::decode(p["logID"].as_str().unwrap_or_default()).unwrap_or_default();
        tlog_entries.push(json!({
            "logIndex": p["logIndex"].as_i64().unwrap_or(0).to_string(),
            "logId": {"keyId": b64::encode(&log_id)},
            "kindVersion": {"kind": kind.0, "version": kind.1},
            "integratedTime": p["integratedTime"].as_i64().unwrap_or(0).to_string(),
            "inclusionPromise": {"signedEntryTimestamp": rekor["SignedEntryTimestamp"].clone()},
            "canonicalizedBody": body,
        }));
    }
    let material = VerificationMaterial {
        certificate: Some(RawBytes { raw_bytes: b64::encode(&der) }),
        tlog_entries,
        ..Default::default()
    };
    let mut bundle = Bundle::new(material, content);
    // cosign's annotation keeps the SET and no proof: v0.1's rules apply.
    bundle.media_type = crate::bundle::BUNDLE_MEDIA_TYPE_V01.to_string();
    Some(bundle)
}

/// The identity (SAN) a keyless layer's certificate names, unverified: whether a layer is by
/// the identity signing now (a re-publish skips what it already signed).
pub fn layer_identity(annotations: &BTreeMap<String, String>) -> Option<String> {
    let pem = annotations.get(CERTIFICATE_ANNOTATION)?;
    let der = pem::parse(pem).ok()?.into_iter().find(|b| b.label == "CERTIFICATE")?.der.to_vec();
    super::cert::Cert::parse(&der, "layer").ok()?.identities().into_iter().next()
}
