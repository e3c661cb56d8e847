//! cosign's attachments, as data: simple-signing signatures (`sha256-<hex>.sig`), DSSE
//! attestations (`sha256-<hex>.att`), and Sigstore bundles as OCI 1.1 referrers with the
//! fallback tag index (`sha256-<hex>`) for registries without the referrers API.
//!
//! Nothing here signs or talks to a registry: callers sign the payloads (relman-sign) and push
//! the manifests. Adding to an existing attachment keeps what is there (another signer's
//! signature stays) and appends only what is missing, so re-running is a no-op.

use std::collections::BTreeMap;

use serde_json::json;

use crate::digest::Digest;
use crate::media;
use crate::types::{Descriptor, ImageIndex, ImageManifest};

/// The predicate type annotation cosign puts on attestation layers.
pub const PREDICATE_TYPE_ANNOTATION: &str = "predicateType";

/// `sha256-<hex>.sig`
pub fn signature_tag(d: &Digest) -> String {
    format!("{}.sig", d.tag_prefix())
}

/// `sha256-<hex>.att`
pub fn attestation_tag(d: &Digest) -> String {
    format!("{}.att", d.tag_prefix())
}

/// `sha256-<hex>`: the referrers fallback tag.
pub fn fallback_tag(d: &Digest) -> String {
    d.tag_prefix()
}

/// The simple-signing payload, fields in cosign's order, `optional` null (the only forms
/// containers/image accepts besides an object with `creator`/`timestamp`).
pub fn simple_signing_payload(docker_reference: &str, digest: &Digest) -> Vec<u8> {
    // Built by hand so the field order is exactly cosign's.
    format!(
        r#"{{"critical":{{"identity":{{"docker-reference":{}}},"image":{{"docker-manifest-digest":{}}},"type":"cosign container image signature"}},"optional":null}}"#,
        serde_json::to_string(docker_reference).expect("string"),
        serde_json::to_string(&digest.to_string()).expect("string"),
    )
    .into_bytes()
}

/// What a simple-signing payload claims.
#[derive(Clone, Debug, PartialEq)]
pub struct SimpleSigningClaim {
    pub docker_reference: String,
    pub digest: Digest,
}

/// Reads a simple-signing payload; the error says what is wrong.
pub fn parse_simple_signing(payload: &[u8]) -> Result<SimpleSigningClaim, String> {
    let v: serde_json::Value = serde_json::from_slice(payload).map_err(|e| format!("payload is not JSON: {e}"))?;
    let critical = v.get("critical").ok_or("payload has no `critical`")?;
    if critical.get("type").and_then(|t| t.as_str()) != Some("cosign container image signature") {
        return Err("payload type is not `cosign container image signature`".into());
    }
    let reference = critical
        .pointer("/identity/docker-reference")
        .and_then(|r| r.as_str())
        .ok_or("payload has no critical.identity.docker-reference")?;
    let digest = critical
        .pointer("/image/docker-manifest-digest")
        .and_then(|r| r.as_str())
        .ok_or("payload has no critical.image.docker-manifest-digest")?;
    Ok(SimpleSigningClaim { docker_reference: reference.to_string(), digest: Digest::parse(digest)? })
}

/// One layer of a `.sig` or `.att` manifest: the blob's bytes and its annotations.
#[derive(Clone, Debug, PartialEq)]
pub struct Attachment {
    pub media_type: String,
    pub bytes: Vec<u8>,
    pub annotations: BTreeMap<String, String>,
}

impl Attachment {
    /// A simple-signing signature: `signature_b64` is base64 DER ECDSA over the payload.
    pub fn signature(payload: Vec<u8>, signature_b64: &str) -> Attachment {
        let mut annotations = BTreeMap::new();
        annotations.insert(media::COSIGN_SIGNATURE_ANNOTATION.to_string(), signature_b64.to_string());
        Attachment { media_type: media::COSIGN_SIMPLE_SIGNING.into(), bytes: payload, annotations }
    }

    /// A DSSE attestation (the envelope JSON) of `predicate_type`.
    pub fn attestation(envelope: Vec<u8>, predicate_type: &str) -> Attachment {
        let mut annotations = BTreeMap::new();
        annotations.insert(media::COSIGN_SIGNATURE_ANNOTATION.to_string(), String::new());
        annotations.insert(PREDICATE_TYPE_ANNOTATION.to_string(), predicate_type.to_string());
        Attachment { media_type: media::DSSE_ENVELOPE.into(), bytes: envelope, annotations }
    }

    pub fn descriptor(&self) -> Descriptor {
        Descriptor { annotations: self.annotations.clone(), ..Descriptor::of(&self.media_type, &self.bytes) }
    }
}

/// The result of adding attachments to an existing `.sig`/`.att` manifest.
#[derive(Clone, Debug)]
pub struct AttachmentManifest {
    pub manifest: ImageManifest,
    /// The config blob the manifest names.
    pub config: Vec<u8>,
    /// False when every attachment was already there (nothing to push).
    pub changed: bool,
}

/// Appends `adds` to `existing` (or starts a new manifest), skipping layers already present
/// (same digest *and* annotations: every signer of an image signs the same simple-signing
/// payload, so only the signature annotation tells two signers apart, as in cosign). The
/// config is cosign's: an image config whose diff_ids are the layers.
pub fn add_attachments(existing: Option<&ImageManifest>, adds: &[Attachment]) -> AttachmentManifest {
    let mut layers: Vec<Descriptor> = existing.map(|m| m.layers.clone()).unwrap_or_default();
    let mut changed = existing.is_none();
    for a in adds {
        let d = a.descriptor();
        if !layers.iter().any(|l| l.digest == d.digest && l.annotations == d.annotations) {
            layers.push(d);
            changed = true;
        }
    }
    let config = attachment_config(&layers);
    let manifest = ImageManifest::new(Descriptor::of(media::OCI_CONFIG, &config), layers);
    let changed = changed || existing.is_some_and(|m| m.config != manifest.config);
    AttachmentManifest { manifest, config, changed }
}

fn attachment_config(layers: &[Descriptor]) -> Vec<u8> {
    let diff_ids: Vec<String> = layers.iter().map(|l| l.digest.to_string()).collect();
    let history: Vec<serde_json::Value> = layers.iter().map(|_| json!({"created": "0001-01-01T00:00:00Z"})).collect();
    serde_json::to_vec(&json!({
        "architecture": "",
        "config": {},
        "created": "0001-01-01T00:00:00Z",
        "history": history,
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))
    .expect("config serialises")
}

/// An OCI 1.1 referrer holding one Sigstore bundle about `subject`.
pub fn bundle_referrer(
    subject: &Descriptor,
    bundle: &[u8],
    predicate_type: Option<&str>,
    created: &str,
) -> ImageManifest {
    let mut layer = Descriptor::of(media::SIGSTORE_BUNDLE, bundle);
    layer.media_type = media::SIGSTORE_BUNDLE.into();
    let mut m = ImageManifest::new(Descriptor::empty_json(), vec![layer]);
    m.artifact_type = Some(media::SIGSTORE_BUNDLE.into());
    m.subject = Some(Descriptor::new(&subject.media_type, subject.digest.clone(), subject.size));
    m.annotations.insert("org.opencontainers.image.created".into(), created.into());
    m.annotations.insert(
        "dev.sigstore.bundle.content".into(),
        if predicate_type.is_some() { "dsse-envelope" } else { "message-signature" }.into(),
    );
    if let Some(p) = predicate_type {
        m.annotations.insert("dev.sigstore.bundle.predicateType".into(), p.into());
    }
    m
}

/// Adds `referrer` (a pushed manifest) to the fallback tag index, sorted by digest.
pub fn add_to_fallback(existing: Option<&ImageIndex>, referrer: &ImageManifest) -> (ImageIndex, bool) {
    let bytes = referrer.to_bytes();
    let mut desc = Descriptor::of(media::OCI_MANIFEST, &bytes);
    desc.artifact_type = referrer.artifact_type.clone().or_else(|| Some(referrer.config.media_type.clone()));
    desc.annotations = referrer.annotations.clone();
    let mut manifests = existing.map(|i| i.manifests.clone()).unwrap_or_default();
    let changed = !manifests.iter().any(|d| d.digest == desc.digest);
    if changed {
        manifests.push(desc);
    }
    manifests.sort_by(|a, b| a.digest.cmp(&b.digest));
    (ImageIndex::new(manifests), changed || existing.is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d() -> Digest {
        Digest::of(b"image")
    }

    #[test]
    fn payload_is_cosigns_exact_shape() {
        let p = String::from_utf8(simple_signing_payload("127.0.0.1:5000/acme/app", &d())).unwrap();
        assert_eq!(
            p,
            format!(
                r#"{{"critical":{{"identity":{{"docker-reference":"127.0.0.1:5000/acme/app"}},"image":{{"docker-manifest-digest":"{}"}},"type":"cosign container image signature"}},"optional":null}}"#,
                d()
            )
        );
        let claim = parse_simple_signing(p.as_bytes()).unwrap();
        assert_eq!(claim.digest, d());
    }

    #[test]
    fn adding_twice_changes_nothing_and_keeps_other_signers() {
        let other = Attachment::signature(b"other".to_vec(), "b3RoZXI=");
        let first = add_attachments(None, std::slice::from_ref(&other));
        let ours = Attachment::signature(simple_signing_payload("r/x", &d()), "c2ln");
        let second = add_attachments(Some(&first.manifest), std::slice::from_ref(&ours));
        assert!(second.changed);
        assert_eq!(second.manifest.layers.len(), 2);
        let third = add_attachments(Some(&second.manifest), std::slice::from_ref(&ours));
        assert!(!third.changed);
        assert_eq!(third.manifest.to_bytes(), second.manifest.to_bytes());
        // Another key over the very same payload (cosign signing the same image): kept apart.
        let theirs = Attachment::signature(simple_signing_payload("r/x", &d()), "dGhlaXJz");
        let fourth = add_attachments(Some(&third.manifest), std::slice::from_ref(&theirs));
        assert!(fourth.changed);
        assert_eq!(fourth.manifest.layers.len(), 3);
        assert_eq!(fourth.manifest.layers[1].digest, fourth.manifest.layers[2].digest);
        assert!(!add_attachments(Some(&fourth.manifest), &[ours, theirs]).changed);
    }

    #[test]
    fn fallback_index_sorted_and_idempotent() {
        let subject = Descriptor::of(media::OCI_INDEX, b"idx");
        let a = bundle_referrer(&subject, b"bundle-a", None, "2024-01-01T00:00:00Z");
        let b = bundle_referrer(&subject, b"bundle-b", Some("https://slsa.dev/provenance/v1"), "2024-01-01T00:00:00Z");
        let (i1, c1) = add_to_fallback(None, &a);
        let (i2, c2) = add_to_fallback(Some(&i1), &b);
        let (i3, c3) = add_to_fallback(Some(&i2), &a);
        assert!(c1 && c2 && !c3);
        assert_eq!(i3.manifests.len(), 2);
        assert!(i3.manifests[0].digest < i3.manifests[1].digest);
        assert_eq!(i3.manifests[0].artifact_type.as_deref(), Some(media::SIGSTORE_BUNDLE));
    }
}
