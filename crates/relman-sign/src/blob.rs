//! Blob signatures: one ECDSA P-256 signature over SHA-256(file), written two ways.
//!
//! * `<file>.sig`: base64 of the DER signature, no newline (what `cosign sign-blob --key`
//!   wrote with `--output-signature`): [`BlobSignature::legacy`].
//! * `<file>.sigstore.json`: a Sigstore bundle v0.3 with a `messageSignature` holding the same
//!   signature and the file's digest: [`BlobSignature::bundle_json`].
//!
//! The file is read once. Packaging already hashed every archive and recorded the digest in the
//! manifest, so the release signs with [`sign_digest`] and never re-reads an archive;
//! [`sign_bytes`] is for small files built in memory (`checksums.txt`, `index.json`) and
//! [`sign_file`] streams a file that was not hashed yet.
//!
//! Verification takes the file's digest (again computed once, by the caller or with
//! [`sha256_file`]) and the public key. Each way a check can fail has its own verify failure,
//! naming the file and the bundle:
//!
//! | what happened | message says |
//! |---|---|
//! | the bundle is of another version | unknown bundle media type |
//! | the bundle was made by another key | signed by another key (both hints) |
//! | the file changed, or the bundle belongs to another file | does not match ... the bundle signs sha256 X, the file has Y |
//! | the signature or the recorded digest was altered | signature ... does not verify |

use std::io::Read;
use std::path::Path;

use relman_manifest::{Failure, Sha256};

use crate::bundle::{Bundle, Content, HashOutput, MessageSignature, SHA2_256};
use crate::signer::{Signature, Signed, Signer};
use crate::{b64, digest_bytes, PublicKey};

/// Read size when hashing a file (the same as relman-install's hasher).
const CHUNK_SIZE: usize = 128 * 1024;

/// The signature of one file, in both forms.
#[derive(Clone, Debug)]
pub struct BlobSignature {
    /// The digest that was signed.
    pub sha256: Sha256,
    pub signature: Signature,
    pub bundle: Bundle,
}

impl BlobSignature {
    /// The contents of `<file>.sig`: base64 of the DER signature, no trailing newline.
    pub fn legacy(&self) -> String {
        self.signature.to_base64()
    }

    /// The contents of `<file>.sigstore.json`: the bundle as compact JSON.
    pub fn bundle_json(&self) -> String {
        self.bundle.to_json()
    }
}

/// Signs a file whose SHA-256 is already known (the packaging stage's digest).
pub fn sign_digest(signer: &dyn Signer, sha256: &Sha256) -> Result<BlobSignature, Failure> {
    let signature = signer.sign_sha256(sha256)?;
    let mut material = signer.verification_material();
    material.tlog_entries = signer.log_entries(Signed::MessageDigest { sha256, signature: &signature })?;
    let message = MessageSignature {
        message_digest: Some(HashOutput {
            algorithm: SHA2_256.to_string(),
            digest: b64::encode(&digest_bytes(sha256)?),
        }),
        signature: signature.to_base64(),
    };
    let bundle = Bundle::new(material, Content::MessageSignature(&message));
    Ok(BlobSignature { sha256: sha256.clone(), signature, bundle })
}

/// Signs bytes held in memory.
pub fn sign_bytes(signer: &dyn Signer, bytes: &[u8]) -> Result<BlobSignature, Failure> {
    sign_digest(signer, &sha256_bytes(bytes))
}

/// Signs a file, reading it once.
pub fn sign_file(signer: &dyn Signer, path: &Path) -> Result<BlobSignature, Failure> {
    sign_digest(signer, &sha256_file(path)?)
}

/// SHA-256 of bytes in memory.
pub fn sha256_bytes(bytes: &[u8]) -> Sha256 {
    Sha256::from_bytes(&relman_manifest::hash::sha256_raw(bytes))
}

/// SHA-256 of a file, streamed in 128 KiB reads.
pub fn sha256_file(path: &Path) -> Result<Sha256, Failure> {
    let mut file = std::fs::File::open(path).map_err(|e| Failure::io("open", path, e))?;
    let mut hasher = relman_manifest::hash::Hasher::new();
    let mut buf = vec![0u8; CHUNK_SIZE];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Failure::io("read", path, e)),
        }
    }
    Ok(hasher.finish())
}

/// Verifies the bundle `bundle_json` (read from the file `bundle_name`) for the file `artifact`
/// whose SHA-256 is `sha256`, with `key`.
pub fn verify_bundle(
    bundle_json: &str,
    bundle_name: &str,
    key: &PublicKey,
    artifact: &str,
    sha256: &Sha256,
) -> Result<(), Failure> {
    let bundle = Bundle::parse(bundle_json, bundle_name)?;
    verify_parsed_bundle(&bundle, bundle_name, key, artifact, sha256)
}

/// [`verify_bundle`] for a bundle already parsed with [`Bundle::parse`].
pub fn verify_parsed_bundle(
    bundle: &Bundle,
    bundle_name: &str,
    key: &PublicKey,
    artifact: &str,
    sha256: &Sha256,
) -> Result<(), Failure> {
    let Content::MessageSignature(message) = bundle.content(bundle_name)? else {
        return Err(Failure::verify(format!(
            "`{bundle_name}` holds a DSSE envelope, not the signature of `{artifact}`"
        )));
    };
    bundle.check_key(key, bundle_name)?;
    let Some(recorded) = &message.message_digest else {
        return Err(Failure::verify(format!("`{bundle_name}` records no message digest")));
    };
    if recorded.algorithm != SHA2_256 {
        return Err(Failure::verify(format!(
            "`{bundle_name}` signs a `{}` digest; relman verifies `{SHA2_256}`",
            recorded.algorithm
        )));
    }
    let recorded_bytes: [u8; 32] = b64::decode(&recorded.digest)
        .and_then(|d| d.try_into().ok())
        .ok_or_else(|| Failure::verify(format!("`{bundle_name}` records a digest that is not a base64 SHA-256")))?;
    let actual = digest_bytes(sha256)?;
    if recorded_bytes != actual {
        let recorded_hex = Sha256::from_bytes(&recorded_bytes);
        return Err(Failure::verify(format!(
            "`{artifact}` does not match `{bundle_name}`: the bundle signs sha256 {}…, the file has {}…",
            recorded_hex.short(),
            sha256.short()
        ))
        .with_hint("the file was changed, or the bundle belongs to another file"));
    }
    let signature = b64::decode(&message.signature).unwrap_or_default();
    if !key.verifies_sha256(&actual, &signature) {
        return Err(Failure::verify(format!(
            "the signature in `{bundle_name}` does not verify for `{artifact}` with `{}`",
            key.origin()
        ))
        .with_hint("the bundle was altered, or another key made it"));
    }
    Ok(())
}

/// Verifies a legacy signature (`<file>.sig`: base64 DER, surrounding whitespace ignored).
pub fn verify_legacy(
    signature: &str,
    signature_name: &str,
    key: &PublicKey,
    artifact: &str,
    sha256: &Sha256,
) -> Result<(), Failure> {
    let der = b64::decode(signature)
        .ok_or_else(|| Failure::verify(format!("`{signature_name}` is not a base64 signature")))?;
    if !key.verifies_sha256(&digest_bytes(sha256)?, &der) {
        return Err(Failure::verify(format!(
            "the signature `{signature_name}` does not verify for `{artifact}` with `{}`",
            key.origin()
        ))
        .with_hint("the file was changed, the signature belongs to another file, or another key made it"));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
