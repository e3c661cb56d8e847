//! Blob signatures: round trips, the exact bundle shape, and one test per way to fail.

use std::sync::OnceLock;

use p256::ecdsa::signature::Verifier;
use p256::pkcs8::DecodePublicKey;
use relman_manifest::{ErrorClass, Failure};

use super::*;
use crate::keys::{generate, KeyPair};

fn pair() -> &'static KeyPair {
    static PAIR: OnceLock<KeyPair> = OnceLock::new();
    PAIR.get_or_init(|| generate().unwrap())
}

fn other_pair() -> &'static KeyPair {
    static PAIR: OnceLock<KeyPair> = OnceLock::new();
    PAIR.get_or_init(|| generate().unwrap())
}

const ARCHIVE: &[u8] = b"pretend this is app-1.0.0-x86_64-unknown-linux-gnu.tar.gz";

fn verify(bundle: &str, bytes: &[u8]) -> Result<(), Failure> {
    verify_bundle(bundle, "app.tar.gz.sigstore.json", pair().public_key(), "app.tar.gz", &sha256_bytes(bytes))
}

fn assert_verify_failure(result: Result<(), Failure>, expected: &str) {
    let err = result.expect_err(expected);
    assert_eq!(err.class, ErrorClass::Verify, "{}", err.message);
    assert!(err.message.contains(expected), "expected `{expected}` in: {}", err.message);
}

#[test]
fn signs_once_and_both_forms_verify() {
    let signed = sign_bytes(pair().signing_key(), ARCHIVE).unwrap();
    assert_eq!(signed.sha256, sha256_bytes(ARCHIVE));
    verify(&signed.bundle_json(), ARCHIVE).unwrap();
    verify_legacy(&signed.legacy(), "app.tar.gz.sig", pair().public_key(), "app.tar.gz", &signed.sha256).unwrap();
    // The .sig file is base64 of the DER signature, nothing else (no newline), and the bundle
    // carries the same signature.
    assert_eq!(b64::decode(&signed.legacy()).unwrap(), signed.signature.as_der());
    assert!(!signed.legacy().ends_with('\n'));
    let sig = p256::ecdsa::Signature::from_der(signed.signature.as_der()).unwrap();
    let raw = p256::ecdsa::VerifyingKey::from_public_key_der(pair().public_key().to_der()).unwrap();
    // ECDSA P-256 over SHA-256(file), as `cosign sign-blob` signs: the p256 crate's own
    // hash-then-verify agrees.
    raw.verify(ARCHIVE, &sig).unwrap();
}

#[test]
fn bundle_has_the_documented_shape() {
    let signed = sign_bytes(pair().signing_key(), ARCHIVE).unwrap();
    let json: serde_json::Value = serde_json::from_str(&signed.bundle_json()).unwrap();
    let digest = b64::encode(&digest_bytes(&signed.sha256).unwrap());
    assert_eq!(
        json,
        serde_json::json!({
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {"publicKey": {"hint": pair().key_hint()}},
            "messageSignature": {
                "messageDigest": {"algorithm": "SHA2_256", "digest": digest},
                "signature": signed.legacy(),
            },
        })
    );
    // Keys in the documented order, compact.
    let text = signed.bundle_json();
    let order =
        ["\"mediaType\"", "\"verificationMaterial\"", "\"messageSignature\"", "\"messageDigest\"", "\"signature\""];
    let positions: Vec<usize> = order.iter().map(|k| text.find(k).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
    assert!(!text.contains('\n') && !text.contains(": "));
}

#[test]
fn a_precomputed_digest_is_signed_without_reading_anything() {
    let digest = sha256_bytes(ARCHIVE);
    let signed = sign_digest(pair().signing_key(), &digest).unwrap();
    verify(&signed.bundle_json(), ARCHIVE).unwrap();
}

#[test]
fn sign_file_streams_the_same_digest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    // Larger than one read, not a multiple of it.
    let bytes: Vec<u8> = (0..(CHUNK_SIZE * 2 + 12345)).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(sha256_file(&path).unwrap(), sha256_bytes(&bytes));
    let signed = sign_file(pair().signing_key(), &path).unwrap();
    verify(&signed.bundle_json(), &bytes).unwrap();
    // SHA-256("abc"), FIPS 180-2.
    assert_eq!(sha256_bytes(b"abc").as_str(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    let missing = sign_file(pair().signing_key(), &dir.path().join("missing")).unwrap_err();
    assert!(missing.message.contains("missing"), "{}", missing.message);
}

#[test]
fn a_flipped_byte_in_the_file_is_a_digest_mismatch() {
    let signed = sign_bytes(pair().signing_key(), ARCHIVE).unwrap();
    let mut tampered = ARCHIVE.to_vec();
    tampered[10] ^= 0x01;
    let result = verify(&signed.bundle_json(), &tampered);
    assert_verify_failure(result, "`app.tar.gz` does not match `app.tar.gz.sigstore.json`: the bundle signs sha256 ");
    let result =
        verify_legacy(&signed.legacy(), "app.tar.gz.sig", pair().public_key(), "app.tar.gz", &sha256_bytes(&tampered));
    assert_verify_failure(result, "the signature `app.tar.gz.sig` does not verify for `app.tar.gz`");
}

#[test]
fn a_flipped_byte_in_the_signature_does_not_verify() {
    let signed = sign_bytes(pair().signing_key(), ARCHIVE).unwrap();
    for index in [8, signed.signature.as_der().len() - 1] {
        let mut der = signed.signature.as_der().to_vec();
        der[index] ^= 0x01;
        let mut bundle = signed.bundle.clone();
        bundle.message_signature.as_mut().unwrap().signature = b64::encode(&der);
        assert_verify_failure(
            verify(&bundle.to_json(), ARCHIVE),
            "the signature in `app.tar.gz.sigstore.json` does not verify for `app.tar.gz`",
        );
        assert_verify_failure(
            verify_legacy(&b64::encode(&der), "app.tar.gz.sig", pair().public_key(), "app.tar.gz", &signed.sha256),
            "does not verify",
        );
    }
    let mut bundle = signed.bundle.clone();
    bundle.message_signature.as_mut().unwrap().signature = "not base64!".into();
    assert_verify_failure(verify(&bundle.to_json(), ARCHIVE), "does not verify");
    assert_verify_failure(
        verify_legacy("not base64!", "app.tar.gz.sig", pair().public_key(), "app.tar.gz", &signed.sha256),
        "`app.tar.gz.sig` is not a base64 signature",
    );
}

#[test]
fn an_edited_digest_in_the_bundle_is_caught() {
    let signed = sign_bytes(pair().signing_key(), ARCHIVE).unwrap();
    let other = b"another archive";
    // The recorded digest now matches another file: the signature does not cover it.
    let mut bundle = signed.bundle.clone();
    bundle.message_signature.as_mut().unwrap().message_digest.as_mut().unwrap().digest =
        b64::encode(&digest_bytes(&sha256_bytes(other)).unwrap());
    assert_verify_failure(verify(&bundle.to_json(), other), "does not verify");
    // A flipped digest byte matches no file.
    let mut digest = digest_bytes(&signed.sha256).unwrap();
    digest[0] ^= 0x80;
    bundle.message_signature.as_mut().unwrap().message_digest.as_mut().unwrap().digest = b64::encode(&digest);
    assert_verify_failure(verify(&bundle.to_json(), ARCHIVE), "does not match");
    // Other algorithms, a missing digest, a digest of the wrong size.
    let mut edited = signed.bundle.clone();
    edited.message_signature.as_mut().unwrap().message_digest.as_mut().unwrap().algorithm = "SHA2_512".into();
    assert_verify_failure(verify(&edited.to_json(), ARCHIVE), "signs a `SHA2_512` digest");
    edited.message_signature.as_mut().unwrap().message_digest = None;
    assert_verify_failure(verify(&edited.to_json(), ARCHIVE), "records no message digest");
    let mut short = signed.bundle.clone();
    short.message_signature.as_mut().unwrap().message_digest.as_mut().unwrap().digest = b64::encode(&[1; 20]);
    assert_verify_failure(verify(&short.to_json(), ARCHIVE), "not a base64 SHA-256");
}

#[test]
fn swapped_bundles_of_two_files_do_not_verify() {
    let a = b"archive for linux";
    let b = b"archive for macos";
    let bundle_a = sign_bytes(pair().signing_key(), a).unwrap().bundle_json();
    let bundle_b = sign_bytes(pair().signing_key(), b).unwrap().bundle_json();
    verify(&bundle_a, a).unwrap();
    verify(&bundle_b, b).unwrap();
    assert_verify_failure(verify(&bundle_b, a), "does not match");
    assert_verify_failure(verify(&bundle_a, b), "does not match");
}

#[test]
fn the_wrong_key_is_named() {
    let signed = sign_bytes(other_pair().signing_key(), ARCHIVE).unwrap();
    let err = verify(&signed.bundle_json(), ARCHIVE).unwrap_err();
    assert_eq!(err.class, ErrorClass::Verify);
    assert_eq!(
        err.message,
        format!(
            "`app.tar.gz.sigstore.json` was signed by another key (hint {}), not by `generated key` (hint {})",
            other_pair().key_hint(),
            pair().key_hint()
        )
    );
    // Without the hint, the signature check itself refuses the other key.
    let mut bundle = signed.bundle.clone();
    bundle.verification_material.public_key.as_mut().unwrap().hint.clear();
    assert_verify_failure(verify(&bundle.to_json(), ARCHIVE), "does not verify");
    // A hint forged to match does not help either.
    bundle.verification_material.public_key.as_mut().unwrap().hint = pair().key_hint().to_string();
    assert_verify_failure(verify(&bundle.to_json(), ARCHIVE), "does not verify");
    assert_verify_failure(
        verify_legacy(&signed.legacy(), "app.tar.gz.sig", pair().public_key(), "app.tar.gz", &signed.sha256),
        "does not verify",
    );
}

#[test]
fn an_unknown_media_type_and_the_wrong_content_are_refused() {
    let signed = sign_bytes(pair().signing_key(), ARCHIVE).unwrap();
    let text = signed.bundle_json().replace("bundle.v0.3+json", "bundle.v0.9+json");
    assert_verify_failure(
        verify(&text, ARCHIVE),
        "`app.tar.gz.sigstore.json` has the unknown bundle media type `application/vnd.dev.sigstore.bundle.v0.9+json`",
    );
    let dsse = crate::dsse::sign(pair().signing_key(), "text/plain", b"x").unwrap();
    assert_verify_failure(
        verify(&dsse.bundle_json(), ARCHIVE),
        "holds a DSSE envelope, not the signature of `app.tar.gz`",
    );
    let mut keyless = signed.bundle.clone();
    keyless.verification_material.public_key = None;
    assert_verify_failure(verify(&keyless.to_json(), ARCHIVE), "names no public key");
    keyless.verification_material.certificate = Some(crate::bundle::RawBytes { raw_bytes: "MAA=".into() });
    assert_verify_failure(verify(&keyless.to_json(), ARCHIVE), "is a keyless bundle");
}

#[test]
fn high_s_signatures_from_other_signers_verify() {
    // Go's and OpenSSL's ECDSA do not normalize s; a verifier must accept both forms.
    let signed = sign_bytes(pair().signing_key(), ARCHIVE).unwrap();
    let sig = p256::ecdsa::Signature::from_der(signed.signature.as_der()).unwrap();
    let (r, s) = (sig.r(), sig.s());
    let flipped_s = -*s.as_ref();
    let other = p256::ecdsa::Signature::from_scalars(r.to_bytes(), flipped_s.to_bytes()).unwrap();
    let der = other.to_der().as_bytes().to_vec();
    assert_ne!(der, signed.signature.as_der());
    verify_legacy(&b64::encode(&der), "app.tar.gz.sig", pair().public_key(), "app.tar.gz", &signed.sha256).unwrap();
}
