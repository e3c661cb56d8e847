//! Private keys: generate, write in cosign's encrypted format, read every format users have.
//!
//! Reading ([`SigningKey::from_pem`]) takes the first private key block of a PEM text:
//!
//! | label | what it is | passphrase |
//! |---|---|---|
//! | `ENCRYPTED SIGSTORE PRIVATE KEY` | cosign ≥ 2.0.1, relman | needed (may be empty) |
//! | `ENCRYPTED COSIGN PRIVATE KEY` | older cosign | needed (may be empty) |
//! | `PRIVATE KEY` | PKCS#8 (`openssl genpkey`, most tools) | ignored |
//! | `EC PRIVATE KEY` | SEC1 (`openssl ecparam -genkey`; an `EC PARAMETERS` block before it is skipped) | ignored |
//!
//! Only ECDSA P-256 keys are accepted; any other key type is refused with its name (RSA,
//! Ed25519, ECDSA P-384, ...). Every failure is a config failure naming the file.
//!
//! Invariants: private key bytes live in zeroizing buffers; `Debug` shows the origin and the
//! key hint, never the key; no message quotes a passphrase or key bytes.

use std::fmt;
use std::path::Path;

use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::pkcs8::{EncodePrivateKey, PrivateKeyInfo};
use relman_manifest::{Failure, Sha256};
use sha2::Digest;
use zeroize::Zeroizing;

use super::encrypted::{self, COSIGN_LABEL, SIGSTORE_LABEL};
use super::{algorithm, public::PublicKey};
use crate::bundle::{PublicKeyIdentifier, VerificationMaterial};
use crate::signer::{Signature, Signer};
use crate::{digest_bytes, pem};

/// A freshly generated key pair, as `relman keygen` writes it.
#[derive(Debug)]
pub struct KeyPair {
    key: SigningKey,
}

/// Generates a new ECDSA P-256 key pair from the operating system's random source.
pub fn generate() -> Result<KeyPair, Failure> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    loop {
        encrypted::random_bytes(bytes.as_mut_slice())?;
        // Fails only for 0 or a value ≥ the group order: probability about 2^-32.
        if let Ok(secret) = p256::SecretKey::from_slice(bytes.as_slice()) {
            return Ok(KeyPair { key: SigningKey::new(secret, "generated key")? });
        }
    }
}

impl KeyPair {
    /// The private key in cosign's encrypted format (label `ENCRYPTED SIGSTORE PRIVATE KEY`,
    /// scrypt N = 32768, r = 8, p = 1, NaCl secretbox). An empty passphrase is allowed.
    /// Write it with mode 0600.
    pub fn to_encrypted_pem(&self, passphrase: &[u8]) -> Result<String, Failure> {
        self.key.to_encrypted_pem(passphrase)
    }

    /// The `PUBLIC KEY` PEM (SubjectPublicKeyInfo), meant to be committed and published.
    pub fn public_key_pem(&self) -> String {
        self.key.public.to_pem()
    }

    /// base64(sha256(SPKI DER)).
    pub fn key_hint(&self) -> &str {
        self.key.public.hint()
    }

    pub fn public_key(&self) -> &PublicKey {
        &self.key.public
    }

    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    pub fn into_signing_key(self) -> SigningKey {
        self.key
    }
}

/// An ECDSA P-256 private key that signs: the key-based [`Signer`].
#[derive(Clone)]
pub struct SigningKey {
    key: p256::ecdsa::SigningKey,
    public: PublicKey,
}

impl SigningKey {
    fn new(secret: p256::SecretKey, origin: &str) -> Result<Self, Failure> {
        let key = p256::ecdsa::SigningKey::from(secret);
        let public = PublicKey::new(*key.verifying_key(), origin)?;
        Ok(SigningKey { key, public })
    }

    /// Reads a private key PEM (see the module notes for the formats). `passphrase` is needed
    /// for the two encrypted formats and ignored otherwise; `origin` names the file in messages.
    pub fn from_pem(text: &str, passphrase: Option<&[u8]>, origin: &str) -> Result<Self, Failure> {
        let blocks =
            pem::parse(text).map_err(|e| Failure::config(format!("`{origin}` is not a PEM private key: {e}")))?;
        for block in &blocks {
            match block.label.as_str() {
                "EC PARAMETERS" => continue,
                SIGSTORE_LABEL | COSIGN_LABEL => {
                    let Some(passphrase) = passphrase else {
                        return Err(Failure::config(format!(
                            "`{origin}` is encrypted and no passphrase was given"
                        ))
                        .with_hint("set RELMAN_PASSWORD (or COSIGN_PASSWORD), or run in a terminal"));
                    };
                    let der = encrypted::decrypt(&block.der, passphrase, origin)?;
                    return Self::from_pkcs8_der(&der, origin);
                }
                "PRIVATE KEY" => return Self::from_pkcs8_der(&block.der, origin),
                "EC PRIVATE KEY" if block.has_headers => {
                    return Err(Failure::config(format!(
                        "`{origin}` is encrypted with OpenSSL's legacy PEM encryption, which relman does not read"
                    ))
                    .with_hint(format!(
                        "decrypt it: `openssl ec -in {origin} -out plain.pem`, or import it: `cosign import-key-pair --key {origin}`"
                    )))
                }
                "EC PRIVATE KEY" => return Self::from_sec1_der(&block.der, origin),
                "ENCRYPTED PRIVATE KEY" => {
                    return Err(Failure::config(format!(
                        "`{origin}` is an encrypted PKCS#8 key, which relman does not read"
                    ))
                    .with_hint(format!(
                        "convert it to cosign's format: `cosign import-key-pair --key {origin}`"
                    )))
                }
                "RSA PRIVATE KEY" => return Err(algorithm::unsupported("RSA", origin)),
                "DSA PRIVATE KEY" => return Err(algorithm::unsupported("DSA", origin)),
                "OPENSSH PRIVATE KEY" => return Err(algorithm::unsupported("OpenSSH", origin)),
                "PUBLIC KEY" => {
                    return Err(Failure::config(format!(
                        "`{origin}` is a public key; signing needs the private key"
                    )))
                }
                other => {
                    return Err(Failure::config(format!(
                        "`{origin}` holds a `{other}` block, not a private key relman reads"
                    ))
                    .with_hint("relman reads cosign key files and PKCS#8 or SEC1 ECDSA P-256 keys"))
                }
            }
        }
        Err(Failure::config(format!("`{origin}` holds no private key")))
    }

    /// Reads the private key file `path` (see [`SigningKey::from_pem`]); the path names it in
    /// messages. A file that cannot be read is a config failure.
    pub fn from_file(path: &Path, passphrase: Option<&[u8]>) -> Result<Self, Failure> {
        let text = Zeroizing::new(read_key_file(path)?);
        Self::from_pem(&text, passphrase, &path.display().to_string())
    }

    /// Reads a PKCS#8 DER private key (P-256 only).
    pub fn from_pkcs8_der(der: &[u8], origin: &str) -> Result<Self, Failure> {
        let invalid =
            |e: &dyn fmt::Display| Failure::config(format!("`{origin}` is not a valid PKCS#8 private key: {e}"));
        let info = PrivateKeyInfo::try_from(der).map_err(|e| invalid(&e))?;
        let (alg, params) = info.algorithm.oids().map_err(|e| invalid(&e))?;
        if !algorithm::is_p256(alg, params) {
            return Err(algorithm::unsupported(&algorithm::name(alg, params), origin));
        }
        let secret = p256::SecretKey::try_from(info).map_err(|e| invalid(&e))?;
        Self::new(secret, origin)
    }

    /// Reads a SEC1 `ECPrivateKey` DER (P-256 only; a key that names no curve is read as P-256).
    pub fn from_sec1_der(der: &[u8], origin: &str) -> Result<Self, Failure> {
        let invalid = |e: &dyn fmt::Display| Failure::config(format!("`{origin}` is not a valid EC private key: {e}"));
        let parsed = sec1::EcPrivateKey::try_from(der).map_err(|e| invalid(&e))?;
        if let Some(curve) = parsed.parameters.and_then(|p| p.named_curve()) {
            if curve != algorithm::P256 {
                let name = format!("ECDSA {}", algorithm::curve_name(curve));
                return Err(algorithm::unsupported(&name, origin));
            }
        }
        let secret = p256::SecretKey::try_from(parsed).map_err(|e| invalid(&e))?;
        Self::new(secret, origin)
    }

    /// This key in cosign's encrypted format (see [`KeyPair::to_encrypted_pem`]).
    pub fn to_encrypted_pem(&self, passphrase: &[u8]) -> Result<String, Failure> {
        let der =
            self.key.to_pkcs8_der().map_err(|e| Failure::internal(format!("failed to encode the private key: {e}")))?;
        let body = Zeroizing::new(encrypted::encrypt(der.as_bytes(), passphrase)?);
        Ok(pem::encode(SIGSTORE_LABEL, &body))
    }

    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Where the key came from (a path, or `generated key`).
    pub fn origin(&self) -> &str {
        self.public.origin()
    }

    fn sign_digest(&self, digest: &[u8; 32]) -> Result<Signature, Failure> {
        let sig: p256::ecdsa::Signature = self
            .key
            .sign_prehash(digest)
            .map_err(|e| Failure::internal(format!("failed to sign with `{}`: {e}", self.origin())))?;
        Ok(Signature::from_der(sig.to_der().as_bytes().to_vec()))
    }
}

/// Does this private key text need a passphrase (is it in cosign's encrypted format)? Lets the
/// caller prompt only when it must.
pub fn needs_passphrase(text: &str) -> bool {
    pem::parse(text).is_ok_and(|blocks| blocks.iter().any(|b| b.label == SIGSTORE_LABEL || b.label == COSIGN_LABEL))
}

/// The text of a key file; a config failure naming it when it cannot be read.
pub(crate) fn read_key_file(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .map_err(|e| Failure::config(format!("cannot read the key file `{}`: {e}", path.display())))
}

impl Signer for SigningKey {
    fn sign(&self, message: &[u8]) -> Result<Signature, Failure> {
        self.sign_digest(&sha2::Sha256::digest(message).into())
    }

    fn sign_sha256(&self, digest: &Sha256) -> Result<Signature, Failure> {
        self.sign_digest(&digest_bytes(digest)?)
    }

    fn verification_material(&self) -> VerificationMaterial {
        VerificationMaterial {
            public_key: Some(PublicKeyIdentifier { hint: self.public.hint().to_string() }),
            ..Default::default()
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("origin", &self.public.origin())
            .field("hint", &self.public.hint())
            .finish_non_exhaustive()
    }
}
