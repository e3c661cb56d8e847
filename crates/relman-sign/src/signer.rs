//! The [`Signer`] trait: what every signing identity provides to blobs, DSSE and bundles.
//!
//! Callers (`relman sign`, the release chain) hold a `&dyn Signer` and call [`crate::blob`] and
//! [`crate::dsse`], which call the signer and assemble bundles. Today the one implementation is
//! [`crate::SigningKey`] (a cosign-compatible key file). A keyless signer (an OIDC token
//! exchanged for a short-lived Fulcio certificate, signatures logged in Rekor) fits the same
//! trait without changing callers:
//!
//! * [`Signer::sign`] / [`Signer::sign_sha256`] sign with its ephemeral key;
//! * [`Signer::verification_material`] returns the certificate instead of a key hint;
//! * [`Signer::log_entries`] uploads what was signed to the transparency log and returns the
//!   entries, which the bundle records as `verificationMaterial.tlogEntries`.
//!
//! [`crate::keyless::KeylessSigner`] is that signer.

use relman_manifest::{Failure, Sha256};

use crate::b64;
use crate::bundle::VerificationMaterial;
use crate::dsse::Envelope;

/// An ECDSA signature, ASN.1 DER encoded (what cosign, DSSE and Sigstore bundles carry).
#[derive(Clone, PartialEq, Eq)]
pub struct Signature {
    der: Vec<u8>,
}

impl Signature {
    pub fn from_der(der: Vec<u8>) -> Self {
        Signature { der }
    }

    pub fn as_der(&self) -> &[u8] {
        &self.der
    }

    /// Standard base64 with padding, as every format here writes signatures.
    pub fn to_base64(&self) -> String {
        b64::encode(&self.der)
    }
}

impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signature({})", self.to_base64())
    }
}

/// What was just signed, for a signer that logs signatures in a transparency log.
#[derive(Clone, Copy, Debug)]
pub enum Signed<'a> {
    /// A blob: its SHA-256 and the signature over it (Rekor's `hashedrekord`).
    MessageDigest { sha256: &'a Sha256, signature: &'a Signature },
    /// A signed DSSE envelope (Rekor's `dsse`).
    Dsse(&'a Envelope),
}

/// A signing identity. Object safe: callers hold `&dyn Signer`.
pub trait Signer {
    /// Signs SHA-256(`message`) (DSSE signs its PAE bytes this way).
    fn sign(&self, message: &[u8]) -> Result<Signature, Failure>;

    /// Signs a SHA-256 digest computed elsewhere (blob signatures: the file is hashed once,
    /// by whoever already read it).
    fn sign_sha256(&self, digest: &Sha256) -> Result<Signature, Failure>;

    /// What a verifier needs to find the key: a public key hint for key-based signers.
    fn verification_material(&self) -> VerificationMaterial;

    /// The certificate chain, PEM, leaf first (keyless); none for a key.
    fn chain_pem(&self) -> Vec<String> {
        Vec::new()
    }

    /// Transparency log entries for a signature just made, for the bundle's `tlogEntries`.
    /// Key-based signing logs nothing: the default returns none.
    fn log_entries(&self, signed: Signed<'_>) -> Result<Vec<serde_json::Value>, Failure> {
        let _ = signed;
        Ok(Vec::new())
    }
}
