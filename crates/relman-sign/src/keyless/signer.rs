//! [`KeylessSigner`]: an ephemeral key, the certificate Fulcio issued for it, and a
//! transparency log every signature goes into.

use relman_manifest::{Failure, Sha256};
use serde_json::Value;

use super::cert::Cert;
use super::rekor;
use crate::bundle::{RawBytes, VerificationMaterial};
use crate::signer::{Signature, Signed, Signer};
use crate::{b64, SigningKey};

/// Where log entries go: posts a proposal and returns the bundle's `tlogEntries` item (the
/// existing entry when the log already has it). Implemented over HTTP by the caller.
pub trait LogClient: Send + Sync {
    fn log(&self, proposal: &Value) -> Result<Value, Failure>;
}

/// Signs with a key that lives only in memory, certified by Fulcio for an OIDC identity.
pub struct KeylessSigner {
    key: SigningKey,
    /// DER, leaf first.
    chain: Vec<Vec<u8>>,
    log: Box<dyn LogClient>,
    pub identity: String,
    pub issuer: String,
    /// The certificate's expiry, seconds since the epoch.
    pub not_after: i64,
}

impl KeylessSigner {
    /// `chain` is Fulcio's answer for `key`'s public key; refused when its leaf certifies
    /// another key.
    pub fn new(key: SigningKey, chain: Vec<Vec<u8>>, log: Box<dyn LogClient>, origin: &str) -> Result<Self, Failure> {
        let leaf = Cert::parse(chain.first().map(Vec::as_slice).unwrap_or_default(), origin)?;
        if leaf.public_key_der()? != key.public_key().to_der() {
            return Err(Failure::network(format!("{origin} certified another key than the one relman sent")));
        }
        let identity = leaf.identities().into_iter().next().unwrap_or_default();
        let issuer = leaf.oidc_issuer().unwrap_or_default();
        Ok(KeylessSigner { key, chain, log, identity, issuer, not_after: leaf.not_after })
    }

    /// The leaf certificate, DER.
    pub fn certificate(&self) -> &[u8] {
        &self.chain[0]
    }
}

impl Signer for KeylessSigner {
    fn sign(&self, message: &[u8]) -> Result<Signature, Failure> {
        self.key.sign(message)
    }

    fn sign_sha256(&self, digest: &Sha256) -> Result<Signature, Failure> {
        self.key.sign_sha256(digest)
    }

    fn verification_material(&self) -> VerificationMaterial {
        VerificationMaterial {
            certificate: Some(RawBytes { raw_bytes: b64::encode(self.certificate()) }),
            ..Default::default()
        }
    }

    /// The chain, PEM, leaf first (cosign's `chain` annotation holds the rest).
    fn chain_pem(&self) -> Vec<String> {
        self.chain.iter().map(|d| crate::pem::encode("CERTIFICATE", d)).collect()
    }

    fn log_entries(&self, signed: Signed<'_>) -> Result<Vec<Value>, Failure> {
        let proposal = match signed {
            Signed::MessageDigest { sha256, signature } => {
                rekor::hashedrekord(sha256, signature.as_der(), self.certificate())
            }
            Signed::Dsse(envelope) => rekor::dsse(envelope, self.certificate()),
        };
        Ok(vec![self.log.log(&proposal)?])
    }
}
