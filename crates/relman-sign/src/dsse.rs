//! DSSE envelopes (in-toto attestations): PAE, sign, verify, bundle, `.intoto.jsonl`.
//!
//! The signature covers the pre-authentication encoding, never the raw payload:
//! `PAE(type, body) = "DSSEv1" SP len(type) SP type SP len(body) SP body`, lengths as ASCII
//! decimal byte counts ([`pae`]). The envelope is
//! `{"payload":"<b64>","payloadType":"application/vnd.in-toto+json","signatures":[{"keyid":"","sig":"<b64 DER>"}]}`;
//! `keyid` is empty (cosign's and securesystemslib's key-based envelopes too), the verifier
//! brings the key.
//!
//! A signed statement is written twice: as `<name>.intoto.jsonl` ([`intoto_jsonl`], one
//! envelope per line, the SLSA convention) and as a Sigstore bundle v0.3 whose `dsseEnvelope`
//! holds the same envelope ([`DsseSignature::bundle`]).
//!
//! Verification ([`Envelope::verify`], [`verify_bundle`]) returns the payload type and the
//! payload bytes only when a signature verifies over their PAE with the given key: callers
//! must read the statement from that return value, never from the envelope they passed in.

use relman_manifest::Failure;
use serde::{Deserialize, Serialize};

use crate::bundle::{Bundle, Content};
use crate::signer::{Signed, Signer};
use crate::{b64, PublicKey};

/// The payload type of an in-toto statement.
pub const INTOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// DSSE v1 pre-authentication encoding of `payload_type` and `payload`.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload_type.len() + payload.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// A DSSE envelope (field order and names as the DSSE spec and Sigstore bundles spell them).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// base64 of the payload bytes.
    pub payload: String,
    pub payload_type: String,
    pub signatures: Vec<EnvelopeSignature>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    #[serde(default)]
    pub keyid: String,
    /// base64 of the DER signature over the PAE.
    pub sig: String,
}

/// The result of a verification: what was signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub payload_type: String,
    pub payload: Vec<u8>,
}

impl Envelope {
    /// Signs `payload` of type `payload_type` with one signature.
    pub fn sign(signer: &dyn Signer, payload_type: &str, payload: &[u8]) -> Result<Self, Failure> {
        let signature = signer.sign(&pae(payload_type, payload))?;
        Ok(Envelope {
            payload: b64::encode(payload),
            payload_type: payload_type.to_string(),
            signatures: vec![EnvelopeSignature { keyid: String::new(), sig: signature.to_base64() }],
        })
    }

    /// An envelope of `payload` without signatures (a statement published unsigned; verifying
    /// it with any key fails).
    pub fn unsigned(payload_type: &str, payload: &[u8]) -> Self {
        Envelope { payload: b64::encode(payload), payload_type: payload_type.to_string(), signatures: Vec::new() }
    }

    /// Reads one envelope from JSON; `origin` names it in messages.
    pub fn parse(text: &str, origin: &str) -> Result<Self, Failure> {
        serde_json::from_str(text).map_err(|e| Failure::verify(format!("`{origin}` is not a DSSE envelope: {e}")))
    }

    /// Compact JSON.
    pub fn to_json(&self) -> String {
        // Plain structs of strings: serialization cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Returns what was signed when at least one signature verifies with `key`; a verify
    /// failure naming `origin` and the key otherwise.
    pub fn verify(&self, key: &PublicKey, origin: &str) -> Result<Verified, Failure> {
        let payload = b64::decode(&self.payload).ok_or_else(|| {
            Failure::verify(format!("`{origin}` is not a valid DSSE envelope: its payload is not base64"))
        })?;
        if self.signatures.is_empty() {
            return Err(Failure::verify(format!("`{origin}` has no signatures")));
        }
        let message = pae(&self.payload_type, &payload);
        let verifies =
            self.signatures.iter().any(|s| b64::decode(&s.sig).is_some_and(|sig| key.verifies_message(&message, &sig)));
        if !verifies {
            return Err(Failure::verify(format!("no signature in `{origin}` verifies with `{}`", key.origin()))
                .with_hint("the envelope was altered, or another key signed it"));
        }
        Ok(Verified { payload_type: self.payload_type.clone(), payload })
    }
}

/// A signed payload, in both forms.
#[derive(Clone, Debug)]
pub struct DsseSignature {
    pub envelope: Envelope,
    pub bundle: Bundle,
}

impl DsseSignature {
    /// The contents of `<name>.intoto.jsonl`.
    pub fn intoto_jsonl(&self) -> String {
        intoto_jsonl(&self.envelope)
    }

    /// The contents of `<name>.sigstore.json`.
    pub fn bundle_json(&self) -> String {
        self.bundle.to_json()
    }
}

/// Signs `payload` (e.g. an in-toto statement, type [`INTOTO_PAYLOAD_TYPE`]) into an envelope
/// and a bundle holding it.
pub fn sign(signer: &dyn Signer, payload_type: &str, payload: &[u8]) -> Result<DsseSignature, Failure> {
    let envelope = Envelope::sign(signer, payload_type, payload)?;
    let mut material = signer.verification_material();
    material.tlog_entries = signer.log_entries(Signed::Dsse(&envelope))?;
    let bundle = Bundle::new(material, Content::DsseEnvelope(&envelope));
    Ok(DsseSignature { envelope, bundle })
}

/// Verifies a bundle holding a DSSE envelope, read from the file `bundle_name`, with `key`.
pub fn verify_bundle(bundle_json: &str, bundle_name: &str, key: &PublicKey) -> Result<Verified, Failure> {
    let bundle = Bundle::parse(bundle_json, bundle_name)?;
    verify_parsed_bundle(&bundle, bundle_name, key)
}

/// [`verify_bundle`] for a bundle already parsed with [`Bundle::parse`].
pub fn verify_parsed_bundle(bundle: &Bundle, bundle_name: &str, key: &PublicKey) -> Result<Verified, Failure> {
    let Content::DsseEnvelope(envelope) = bundle.content(bundle_name)? else {
        return Err(Failure::verify(format!("`{bundle_name}` holds a message signature, not a DSSE envelope")));
    };
    bundle.check_key(key, bundle_name)?;
    envelope.verify(key, bundle_name)
}

/// The payload a DSSE bundle carries, read without checking any signature (to compare it
/// with a document beside it; never to trust it). `None` when it is not such a bundle.
pub fn unverified_payload(bundle_json: &str) -> Option<Vec<u8>> {
    let bundle = Bundle::parse(bundle_json, "bundle").ok()?;
    let Content::DsseEnvelope(envelope) = bundle.content("bundle").ok()? else { return None };
    b64::decode(&envelope.payload)
}

/// One envelope as a JSON Lines record: compact JSON and a final newline.
pub fn intoto_jsonl(envelope: &Envelope) -> String {
    let mut line = envelope.to_json();
    line.push('\n');
    line
}

/// Every envelope of a `.intoto.jsonl` text (blank lines skipped); `origin` names the file.
pub fn parse_intoto_jsonl(text: &str, origin: &str) -> Result<Vec<Envelope>, Failure> {
    let envelopes = text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| Envelope::parse(line, &format!("{origin}:{}", i + 1)))
        .collect::<Result<Vec<_>, _>>()?;
    if envelopes.is_empty() {
        return Err(Failure::verify(format!("`{origin}` holds no envelope")));
    }
    Ok(envelopes)
}

#[cfg(test)]
mod tests;
