//! relman's signing: cosign-compatible keys, blob signatures, Sigstore bundles and DSSE.
//!
//! Everything here is pure computation over bytes: no printing, no environment, no prompts,
//! and only two file reads ([`blob::sign_file`] / [`blob::sha256_file`] stream a file;
//! [`key_file_warning`] looks at permissions). Passphrases and key files are read by the caller
//! and handed in; results and warnings are returned.
//!
//! ## The story of a release signature
//!
//! 1. `relman keygen`: [`generate`] → [`KeyPair::to_encrypted_pem`] (cosign's
//!    `ENCRYPTED SIGSTORE PRIVATE KEY`, to be written with mode [`keys::PRIVATE_KEY_MODE`]) and
//!    [`KeyPair::public_key_pem`] (`PUBLIC KEY`, committed and published).
//! 2. `relman sign` / `release`: [`SigningKey::from_file`] (or [`SigningKey::from_pem`]) reads
//!    the private key: cosign's two encrypted labels, PKCS#8, SEC1. [`keys::needs_passphrase`]
//!    says whether to ask for a passphrase; [`key_file_warning`] says when others can read the
//!    file. Each archive is signed from the digest packaging recorded ([`blob::sign_digest`]),
//!    small files from their bytes ([`blob::sign_bytes`]): write
//!    [`blob::BlobSignature::legacy`] to `<file>.sig` and [`blob::BlobSignature::bundle_json`]
//!    to `<file>.sigstore.json`. The provenance statement is signed with [`dsse::sign`]:
//!    [`dsse::DsseSignature::intoto_jsonl`] to `<name>.intoto.jsonl` and a bundle.
//! 3. `relman verify` / `install`: [`PublicKey::from_file`], then [`blob::verify_bundle`] /
//!    [`blob::verify_legacy`] against the file's digest, and [`dsse::verify_bundle`] /
//!    [`dsse::Envelope::verify`] for attestations, whose returned payload is the only one to
//!    trust.
//!
//! ## Cost
//!
//! Measured with `examples/sign_cost.rs` (release build, 2-core development VM): a blob
//! signature (both forms) from a known digest takes about 0.25 ms, verifying one about 0.45 ms,
//! a DSSE signature of a 20 kB statement about 0.25 ms. Reading or writing an encrypted key runs
//! scrypt at N = 32768: about 0.1 s, once per run. Hashing is the only cost that grows with the
//! release (about 1 GB/s), and the release reuses the digests packaging computed.
//!
//! ## Invariants
//!
//! * Formats are the standard ones, byte for byte (see `FORMATS.md`): other tools (cosign,
//!   sigstore-js, securesystemslib) read what relman writes, and relman reads what they write.
//! * ECDSA P-256 with SHA-256 only; other key types are refused by name.
//! * Every expected failure is a [`Failure`]: config for unusable key files (wrong passphrase,
//!   unsupported key type, corrupt PEM), verify for signatures and bundles that do not check
//!   out, each naming the file. Nothing panics on bad input.
//! * Secrets (passphrases, private key bytes) never reach a message or `Debug` output, and
//!   private key bytes are zeroized when dropped.
//! * Signing goes through the [`Signer`] trait: a key file ([`SigningKey`]) or keyless
//!   ([`keyless::KeylessSigner`]: Fulcio certificate, Rekor entries).

pub mod blob;
pub mod bundle;
pub mod dsse;
pub mod keyless;
pub mod keys;
pub mod signer;

mod b64;
mod pem;

pub use bundle::Bundle;
pub use keys::{generate, key_file_warning, KeyPair, PublicKey, SigningKey};
pub use relman_manifest::{Failure, Sha256};
pub use signer::{Signature, Signer};

/// The 32 raw bytes of a digest (internal failure if the value is not hex, which the type rules
/// out).
pub(crate) fn digest_bytes(digest: &Sha256) -> Result<[u8; 32], Failure> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(digest.as_str(), &mut out)
        .map_err(|e| Failure::internal(format!("digest `{digest}` is not hex: {e}")))?;
    Ok(out)
}
