//! Public keys: the `PUBLIC KEY` PEM (SubjectPublicKeyInfo DER) and the key hint.
//!
//! A [`PublicKey`] remembers where it came from (`origin`, a path or a name) so every
//! verification message can say which key was used. The key hint is base64(sha256(SPKI DER)),
//! computed from the canonical encoding (uncompressed point), as cosign and sigstore-go compute
//! it; bundles carry it in `verificationMaterial.publicKey.hint`.

use std::fmt;
use std::path::Path;

use p256::ecdsa::signature::hazmat::PrehashVerifier;
use p256::ecdsa::VerifyingKey;
use p256::pkcs8::spki::SubjectPublicKeyInfoRef;
use p256::pkcs8::{DecodePublicKey, EncodePublicKey};
use relman_manifest::Failure;
use sha2::{Digest, Sha256};

use super::algorithm;
use crate::{b64, pem};

/// The PEM label of a public key file.
pub const PUBLIC_KEY_LABEL: &str = "PUBLIC KEY";

/// An ECDSA P-256 public key, with the name of the file it came from.
#[derive(Clone)]
pub struct PublicKey {
    key: VerifyingKey,
    spki_der: Vec<u8>,
    hint: String,
    origin: String,
}

impl PublicKey {
    pub(crate) fn new(key: VerifyingKey, origin: &str) -> Result<Self, Failure> {
        let spki_der = key
            .to_public_key_der()
            .map_err(|e| Failure::internal(format!("failed to encode the public key: {e}")))?
            .into_vec();
        let hint = b64::encode(&Sha256::digest(&spki_der));
        Ok(PublicKey { key, spki_der, hint, origin: origin.to_string() })
    }

    /// Reads a `PUBLIC KEY` PEM (what `cosign generate-key-pair` and `relman keygen` write).
    ///
    /// `origin` names the file in messages. Fails with a config failure when the text is not
    /// PEM, holds no public key, or holds a key of another type than ECDSA P-256.
    pub fn from_pem(text: &str, origin: &str) -> Result<Self, Failure> {
        let blocks =
            pem::parse(text).map_err(|e| Failure::config(format!("`{origin}` is not a PEM public key: {e}")))?;
        let Some(block) = blocks.iter().find(|b| b.label == PUBLIC_KEY_LABEL) else {
            let labels: Vec<String> = blocks.iter().map(|b| format!("`{}`", b.label)).collect();
            return Err(Failure::config(format!("`{origin}` holds no public key (found {})", labels.join(", ")))
                .with_hint("give the `PUBLIC KEY` file of the key pair, e.g. `cosign.pub`"));
        };
        Self::from_der(&block.der, origin)
    }

    /// Reads the public key file `path`; the path names it in messages.
    pub fn from_file(path: &Path) -> Result<Self, Failure> {
        Self::from_pem(&super::signing::read_key_file(path)?, &path.display().to_string())
    }

    /// Reads a SubjectPublicKeyInfo DER.
    pub fn from_der(der: &[u8], origin: &str) -> Result<Self, Failure> {
        let invalid = |e: &dyn fmt::Display| Failure::config(format!("`{origin}` is not a valid public key: {e}"));
        let spki = SubjectPublicKeyInfoRef::try_from(der).map_err(|e| invalid(&e))?;
        let (alg, params) = spki.algorithm.oids().map_err(|e| invalid(&e))?;
        if !algorithm::is_p256(alg, params) {
            return Err(algorithm::unsupported(&algorithm::name(alg, params), origin));
        }
        let key = VerifyingKey::from_public_key_der(der).map_err(|e| invalid(&e))?;
        Self::new(key, origin)
    }

    /// The `PUBLIC KEY` PEM, with a final newline.
    pub fn to_pem(&self) -> String {
        pem::encode(PUBLIC_KEY_LABEL, &self.spki_der)
    }

    /// The SubjectPublicKeyInfo DER.
    pub fn to_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// base64(sha256(SPKI DER)): the key hint in bundles.
    pub fn hint(&self) -> &str {
        &self.hint
    }

    /// Where the key came from (a path, or a name such as `generated key`).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Does `signature` (DER) verify over the SHA-256 digest `digest`?
    pub fn verifies_sha256(&self, digest: &[u8; 32], signature: &[u8]) -> bool {
        match p256::ecdsa::Signature::from_der(signature) {
            Ok(sig) => self.key.verify_prehash(digest, &sig).is_ok(),
            Err(_) => false,
        }
    }

    /// Does `signature` (DER) verify over SHA-256(`message`)?
    pub(crate) fn verifies_message(&self, message: &[u8], signature: &[u8]) -> bool {
        self.verifies_sha256(&Sha256::digest(message).into(), signature)
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.spki_der == other.spki_der
    }
}

impl Eq for PublicKey {}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey").field("origin", &self.origin).field("hint", &self.hint).finish()
    }
}
