//! Sigstore bundle v0.3 (JSON), key-based: the serde types and the reader.
//!
//! Written as (field order fixed, camelCase as the protobuf JSON mapping spells it):
//!
//! ```json
//! {"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json",
//!  "verificationMaterial":{"publicKey":{"hint":"<base64 sha256 of SPKI DER>"}},
//!  "messageSignature":{"messageDigest":{"algorithm":"SHA2_256","digest":"<base64>"},"signature":"<base64 DER>"}}
//! ```
//!
//! with `dsseEnvelope` in place of `messageSignature` for attestations. `tlogEntries` appears
//! only when a signer logged the signature (key-based signing does not).
//!
//! Reading ([`Bundle::parse`]) checks the media type first, so a bundle of another version gets
//! that message rather than a field error. Both spellings of v0.3 are accepted
//! (`application/vnd.dev.sigstore.bundle.v0.3+json` and `...bundle+json;version=0.3`), and v0.2
//! (`...bundle+json;version=0.2`, what sigstore-js writes for blobs). Fields
//! relman does not use (`timestampVerificationData`, certificates) are ignored when reading;
//! a bundle without a public key in its verification material is refused at verification.

use relman_manifest::Failure;
use serde::{Deserialize, Serialize};

use crate::dsse::Envelope;

/// The media type relman writes.
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// The other spelling of v0.3 (sigstore-js and sigstore-go read both).
const BUNDLE_MEDIA_TYPE_ALT: &str = "application/vnd.dev.sigstore.bundle+json;version=0.3";
/// v0.2, read too: what sigstore-js writes for a blob (the same fields; the certificate as a
/// one-element `x509CertificateChain`, inclusion proofs required as in v0.3).
const BUNDLE_MEDIA_TYPE_V02: &str = "application/vnd.dev.sigstore.bundle+json;version=0.2";
/// v0.1: not read from files; the form of cosign's OCI layer annotations, which keep a signed
/// entry timestamp and no inclusion proof (`keyless::cosign::bundle_of_layer`).
pub const BUNDLE_MEDIA_TYPE_V01: &str = "application/vnd.dev.sigstore.bundle+json;version=0.1";
/// `messageDigest.algorithm` for SHA-256.
pub const SHA2_256: &str = "SHA2_256";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    pub media_type: String,
    pub verification_material: VerificationMaterial,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_signature: Option<MessageSignature>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dsse_envelope: Option<Envelope>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationMaterial {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<PublicKeyIdentifier>,
    /// The signing certificate (keyless signing: Fulcio's leaf, v0.3's single certificate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<RawBytes>,
    /// A certificate chain, leaf first (bundles v0.1/v0.2 and some v0.3 writers); read only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x509_certificate_chain: Option<CertificateChain>,
    /// Transparency log entries, kept as JSON (relman writes none for key-based signatures).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tlog_entries: Vec<serde_json::Value>,
    /// RFC 3161 signed timestamps (read only: the signed time when no log entry has a SET).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_verification_data: Option<TimestampVerificationData>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimestampVerificationData {
    #[serde(default)]
    pub rfc3161_timestamps: Vec<Rfc3161Timestamp>,
}

/// base64 of a DER `TimeStampResp` (or `TimeStampToken`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rfc3161Timestamp {
    pub signed_timestamp: String,
}

/// DER bytes, base64 in JSON (`{"rawBytes":"..."}`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawBytes {
    pub raw_bytes: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateChain {
    #[serde(default)]
    pub certificates: Vec<RawBytes>,
}

impl VerificationMaterial {
    /// The DER of the signing certificate, from `certificate` or the chain's first entry.
    pub fn leaf_certificate(&self) -> Option<Vec<u8>> {
        let raw = self
            .certificate
            .as_ref()
            .or_else(|| self.x509_certificate_chain.as_ref().and_then(|c| c.certificates.first()))?;
        crate::b64::decode(&raw.raw_bytes)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKeyIdentifier {
    /// base64(sha256(SPKI DER)); optional in the format, always written by relman.
    #[serde(default)]
    pub hint: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageSignature {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_digest: Option<HashOutput>,
    /// base64 of the DER signature.
    pub signature: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HashOutput {
    /// `SHA2_256`.
    pub algorithm: String,
    /// base64 of the raw digest.
    pub digest: String,
}

/// What a bundle signs.
#[derive(Clone, Copy, Debug)]
pub enum Content<'a> {
    MessageSignature(&'a MessageSignature),
    DsseEnvelope(&'a Envelope),
}

impl Bundle {
    /// A bundle with relman's media type.
    pub fn new(verification_material: VerificationMaterial, content: Content<'_>) -> Self {
        let (message_signature, dsse_envelope) = match content {
            Content::MessageSignature(m) => (Some(m.clone()), None),
            Content::DsseEnvelope(e) => (None, Some(e.clone())),
        };
        Bundle { media_type: BUNDLE_MEDIA_TYPE.to_string(), verification_material, message_signature, dsse_envelope }
    }

    /// What the bundle's version requires of its transparency log entries: v0.2 and v0.3 an
    /// inclusion proof with a signed checkpoint, v0.1 a signed entry timestamp.
    pub fn entry_rule(&self) -> crate::keyless::rekor::EntryRule {
        use crate::keyless::rekor::EntryRule;
        if self.media_type == BUNDLE_MEDIA_TYPE_V01 {
            EntryRule::Promise
        } else {
            EntryRule::ProofWithCheckpoint
        }
    }

    /// Reads a bundle; `origin` names the file in messages. Failures are verify failures: a
    /// bundle that cannot be read is a signature that does not verify.
    pub fn parse(text: &str, origin: &str) -> Result<Self, Failure> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| Failure::verify(format!("`{origin}` is not a Sigstore bundle: {e}")))?;
        let Some(media_type) = value.get("mediaType").and_then(|m| m.as_str()) else {
            return Err(Failure::verify(format!("`{origin}` is not a Sigstore bundle: it has no `mediaType`")));
        };
        if ![BUNDLE_MEDIA_TYPE, BUNDLE_MEDIA_TYPE_ALT, BUNDLE_MEDIA_TYPE_V02].contains(&media_type) {
            return Err(Failure::verify(format!("`{origin}` has the unknown bundle media type `{media_type}`"))
                .with_hint(format!("relman reads Sigstore bundles v0.3 (`{BUNDLE_MEDIA_TYPE}`)")));
        }
        let bundle: Bundle = serde_json::from_value(value)
            .map_err(|e| Failure::verify(format!("`{origin}` is not a valid Sigstore bundle: {e}")))?;
        bundle.content(origin)?;
        Ok(bundle)
    }

    /// The signed content; a verify failure unless there is exactly one.
    pub fn content(&self, origin: &str) -> Result<Content<'_>, Failure> {
        match (&self.message_signature, &self.dsse_envelope) {
            (Some(m), None) => Ok(Content::MessageSignature(m)),
            (None, Some(e)) => Ok(Content::DsseEnvelope(e)),
            (None, None) => {
                Err(Failure::verify(format!("`{origin}` has neither a `messageSignature` nor a `dsseEnvelope`")))
            }
            (Some(_), Some(_)) => {
                Err(Failure::verify(format!("`{origin}` has both a `messageSignature` and a `dsseEnvelope`")))
            }
        }
    }

    /// Whether the bundle's message signature records `sha256` as what it signs (not a
    /// verification: the signature is not checked).
    pub fn signs_digest(&self, sha256: &relman_manifest::Sha256) -> bool {
        let recorded = self.message_signature.as_ref().and_then(|s| s.message_digest.as_ref());
        let want = crate::digest_bytes(sha256).ok();
        recorded.is_some_and(|d| {
            d.algorithm == SHA2_256 && crate::b64::decode(&d.digest).as_deref() == want.as_ref().map(|w| &w[..])
        })
    }

    /// Compact JSON, the bytes of a `.sigstore.json` file.
    pub fn to_json(&self) -> String {
        // Plain structs of strings and JSON values: serialization cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Checks that the bundle was made with `key`, when it names a key (verify failure
    /// naming both keys otherwise). A bundle with no public key at all is refused.
    pub(crate) fn check_key(&self, key: &crate::PublicKey, origin: &str) -> Result<(), Failure> {
        let Some(public_key) = &self.verification_material.public_key else {
            if self.verification_material.leaf_certificate().is_none() {
                return Err(Failure::verify(format!("`{origin}` names no public key and carries no certificate")));
            }
            return Err(Failure::verify(format!(
                "`{origin}` is a keyless bundle (it carries a certificate, not a key hint); a key cannot verify it"
            ))
            .with_hint("verify by identity: --certificate-identity(-regexp) and --certificate-oidc-issuer(-regexp)"));
        };
        if !public_key.hint.is_empty() && public_key.hint != key.hint() {
            return Err(Failure::verify(format!(
                "`{origin}` was signed by another key (hint {}), not by `{}` (hint {})",
                public_key.hint,
                key.origin(),
                key.hint()
            ))
            .with_hint("verify with the public key of the key pair that signed the release"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use relman_manifest::ErrorClass;

    fn message_bundle() -> Bundle {
        Bundle::new(
            VerificationMaterial {
                public_key: Some(PublicKeyIdentifier { hint: "aGludA==".into() }),
                ..Default::default()
            },
            Content::MessageSignature(&MessageSignature {
                message_digest: Some(HashOutput { algorithm: SHA2_256.into(), digest: "ZGc=".into() }),
                signature: "c2ln".into(),
            }),
        )
    }

    #[test]
    fn writes_the_documented_shape_in_order() {
        assert_eq!(
            message_bundle().to_json(),
            r#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"aGludA=="}},"messageSignature":{"messageDigest":{"algorithm":"SHA2_256","digest":"ZGc="},"signature":"c2ln"}}"#
        );
    }

    #[test]
    fn parse_round_trips_and_accepts_both_v03_spellings() {
        let bundle = message_bundle();
        assert_eq!(Bundle::parse(&bundle.to_json(), "b").unwrap(), bundle);
        let alt = bundle.to_json().replace(BUNDLE_MEDIA_TYPE, BUNDLE_MEDIA_TYPE_ALT);
        assert!(Bundle::parse(&alt, "b").is_ok());
    }

    #[test]
    fn unknown_media_type_is_named() {
        for media_type in [
            "application/vnd.dev.sigstore.bundle+json;version=0.1",
            "application/vnd.dev.sigstore.bundle.v0.4+json",
            "text/plain",
        ] {
            let text = message_bundle().to_json().replace(BUNDLE_MEDIA_TYPE, media_type);
            let err = Bundle::parse(&text, "app.tar.gz.sigstore.json").unwrap_err();
            assert_eq!(err.class, ErrorClass::Verify);
            assert_eq!(
                err.message,
                format!("`app.tar.gz.sigstore.json` has the unknown bundle media type `{media_type}`")
            );
        }
    }

    #[test]
    fn refuses_non_bundles_and_ambiguous_content() {
        let cases = [
            ("not json".to_string(), "is not a Sigstore bundle"),
            ("{}".to_string(), "has no `mediaType`"),
            (format!(r#"{{"mediaType":"{BUNDLE_MEDIA_TYPE}","verificationMaterial":{{}}}}"#), "neither"),
            (format!(r#"{{"mediaType":"{BUNDLE_MEDIA_TYPE}"}}"#), "not a valid Sigstore bundle"),
        ];
        for (text, expected) in cases {
            let err = Bundle::parse(&text, "x.sigstore.json").unwrap_err();
            assert_eq!(err.class, ErrorClass::Verify);
            assert!(err.message.contains(expected), "{expected}: {}", err.message);
            assert!(err.message.contains("`x.sigstore.json`"), "{}", err.message);
        }
    }
}
