//! Reading and writing keys: round trips, every accepted format, every refusal.

use p256::pkcs8::der::asn1::BitStringRef;
use p256::pkcs8::der::{AnyRef, Encode};
use p256::pkcs8::spki::{AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};
use p256::pkcs8::{EncodePrivateKey, ObjectIdentifier, PrivateKeyInfo};
use relman_manifest::ErrorClass;
use sha2::Digest;

use super::*;
use crate::signer::Signer;
use crate::{b64, pem};

const ID_EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");

/// A cosign key written by an independent implementation (see `tests/fixtures/README.md`):
/// tests that only need an encrypted key's text use it, since running scrypt at cosign's cost
/// takes seconds in an unoptimized build.
const FIXTURE_KEY: &str = include_str!("../../tests/fixtures/sigstore-n32768.key");
const FIXTURE_PUB: &str = include_str!("../../tests/fixtures/sigstore-n32768.pub");
const FIXTURE_PASSPHRASE: &[u8] = b"relman-fixture";

/// A P-256 key whose scalar the test knows, read through the PKCS#8 path.
fn known_key() -> (p256::SecretKey, SigningKey) {
    let secret = p256::SecretKey::random(&mut rand_core::OsRng);
    let key = SigningKey::from_pkcs8_der(secret.to_pkcs8_der().unwrap().as_bytes(), "known").unwrap();
    (secret, key)
}

fn assert_config(err: relman_manifest::Failure, expected: &str) {
    assert_eq!(err.class, ErrorClass::Config, "{}", err.message);
    assert!(err.message.contains(expected), "expected `{expected}` in: {}", err.message);
}

#[test]
fn generated_key_round_trips_through_cosigns_encrypted_format() {
    let pair = generate().unwrap();
    let text = &pair.to_encrypted_pem(b"correct horse").unwrap();
    assert!(text.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"), "{text}");
    assert!(text.ends_with("-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n"), "{text}");
    let body = &pem::parse(text).unwrap()[0].der;
    let json: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(json["kdf"]["params"], serde_json::json!({"N": 32768, "r": 8, "p": 1}));
    assert_eq!(b64::decode(json["kdf"]["salt"].as_str().unwrap()).unwrap().len(), 32);
    assert_eq!(b64::decode(json["cipher"]["nonce"].as_str().unwrap()).unwrap().len(), 24);

    let loaded = SigningKey::from_pem(text, Some(b"correct horse"), "cosign.key").unwrap();
    assert_eq!(loaded.public_key(), pair.public_key());
    assert_eq!(loaded.origin(), "cosign.key");
}

#[test]
fn other_scrypt_costs_are_refused_through_the_pem_path() {
    let body = String::from_utf8(pem::parse(FIXTURE_KEY).unwrap()[0].der.to_vec()).unwrap();
    let body = body.replace("\"N\":32768", "\"N\":262144");
    let err = SigningKey::from_pem(&pem::encode(SIGSTORE_LABEL, body.as_bytes()), Some(FIXTURE_PASSPHRASE), "k.key");
    assert_config(err.unwrap_err(), "N = 262144");
}

#[test]
fn wrong_or_missing_passphrase_is_a_clear_config_failure_without_the_secret() {
    let text = FIXTURE_KEY;
    let err = SigningKey::from_pem(text, Some(b"guess-passphrase"), "keys/cosign.key").unwrap_err();
    assert_eq!(err.class, ErrorClass::Config);
    assert_eq!(err.message, "wrong passphrase for `keys/cosign.key`");
    let shown = format!("{err:?} {}", err.hint.clone().unwrap_or_default());
    assert!(!shown.contains("guess-") && !shown.contains("relman-fixture"), "{shown}");

    let err = SigningKey::from_pem(text, None, "keys/cosign.key").unwrap_err();
    assert_config(err, "`keys/cosign.key` is encrypted and no passphrase was given");
}

#[test]
fn plain_pkcs8_and_sec1_keys_are_read() {
    let (secret, key) = known_key();
    let pkcs8 = secret.to_pkcs8_pem(Default::default()).unwrap();
    let sec1 = pem::encode("EC PRIVATE KEY", &secret.to_sec1_der().unwrap());
    // What `openssl ecparam -name prime256v1 -genkey` prints: parameters, then the key.
    let with_params = format!("{}{sec1}", pem::encode("EC PARAMETERS", &P256_PARAMS));
    for (text, what) in [(pkcs8.as_str(), "pkcs8"), (sec1.as_str(), "sec1"), (with_params.as_str(), "params")] {
        let loaded = SigningKey::from_pem(text, None, "plain.pem").unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(loaded.public_key(), key.public_key(), "{what}");
        // A passphrase given for a plain key is ignored.
        assert!(SigningKey::from_pem(text, Some(b"x"), "plain.pem").is_ok());
    }
}

/// DER of the namedCurve OID prime256v1.
const P256_PARAMS: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

fn p384_sec1_der() -> Vec<u8> {
    let scalar = [0x11u8; 48];
    sec1::EcPrivateKey {
        private_key: &scalar,
        parameters: Some(sec1::EcParameters::NamedCurve(P384)),
        public_key: None,
    }
    .to_der()
    .unwrap()
}

fn pkcs8_der(algorithm: ObjectIdentifier, curve: Option<&ObjectIdentifier>, key: &[u8]) -> Vec<u8> {
    let algorithm = AlgorithmIdentifierRef { oid: algorithm, parameters: curve.map(AnyRef::from) };
    PrivateKeyInfo::new(algorithm, key).to_der().unwrap()
}

#[test]
fn other_key_types_are_refused_by_name() {
    // An Ed25519 PKCS#8 key (RFC 8410 layout), a fresh random seed.
    let mut seed = [0u8; 32];
    encrypted::random_bytes(&mut seed).unwrap();
    let mut seed_octets = vec![0x04, 0x20];
    seed_octets.extend_from_slice(&seed);
    let ed25519 = pkcs8_der(ObjectIdentifier::new_unwrap("1.3.101.112"), None, &seed_octets);
    let p384_sec1 = p384_sec1_der();
    let p384_pkcs8 = pkcs8_der(ID_EC, Some(&P384), &p384_sec1);
    let rsa = pkcs8_der(ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1"), None, &[0x30, 0x00]);
    let cases = [
        (pem::encode("PRIVATE KEY", &ed25519), "unsupported key type Ed25519 in `k.pem`"),
        (pem::encode("PRIVATE KEY", &p384_pkcs8), "unsupported key type ECDSA P-384 in `k.pem`"),
        (pem::encode("EC PRIVATE KEY", &p384_sec1), "unsupported key type ECDSA P-384 in `k.pem`"),
        (pem::encode("PRIVATE KEY", &rsa), "unsupported key type RSA in `k.pem`"),
        (pem::encode("RSA PRIVATE KEY", &[0x30, 0]), "unsupported key type RSA in `k.pem`"),
        (pem::encode("OPENSSH PRIVATE KEY", &[0]), "unsupported key type OpenSSH in `k.pem`"),
    ];
    for (text, expected) in &cases {
        let err = SigningKey::from_pem(text, None, "k.pem").unwrap_err();
        assert_eq!(&err.message, expected);
        assert_eq!(err.class, ErrorClass::Config);
        assert!(err.hint.unwrap().contains("ECDSA P-256"));
    }
    // The same refusal from inside cosign's encrypted format, under the older label and the
    // empty passphrase: the key type is known only once they opened it.
    let body = encrypt_with(&ed25519, b"", 32_768, &[1; 32], &[2; 24]).unwrap();
    let err = SigningKey::from_pem(&pem::encode(COSIGN_LABEL, &body), Some(b""), "k.key").unwrap_err();
    assert_eq!(err.message, "unsupported key type Ed25519 in `k.key`");

    // And for public keys.
    let point = [0x04u8; 97];
    let spki = SubjectPublicKeyInfoRef {
        algorithm: AlgorithmIdentifierRef { oid: ID_EC, parameters: Some(AnyRef::from(&P384)) },
        subject_public_key: BitStringRef::from_bytes(&point).unwrap(),
    }
    .to_der()
    .unwrap();
    let err = PublicKey::from_pem(&pem::encode("PUBLIC KEY", &spki), "p384.pub").unwrap_err();
    assert_config(err, "unsupported key type ECDSA P-384 in `p384.pub`");
}

#[test]
fn corrupt_or_misplaced_pem_is_a_config_failure_naming_the_file() {
    let encrypted = FIXTURE_KEY;
    let truncated = &encrypted[..encrypted.len() / 2];
    let mut lines: Vec<&str> = encrypted.lines().collect();
    lines[1] = "%%%% not base64 %%%%";
    let bad_base64 = lines.join("\n");
    let cases: Vec<(String, &str)> = vec![
        ("".into(), "`k.key` is not a PEM private key: no `-----BEGIN"),
        ("just text".into(), "`k.key` is not a PEM private key"),
        (truncated.into(), "no `-----END ENCRYPTED SIGSTORE PRIVATE KEY-----` line"),
        (bad_base64, "block is not valid base64"),
        (pem::encode("PRIVATE KEY", b"garbage"), "`k.key` is not a valid PKCS#8 private key"),
        (pem::encode("EC PRIVATE KEY", b"garbage"), "`k.key` is not a valid EC private key"),
        (pem::encode(SIGSTORE_LABEL, b"garbage"), "`k.key` is not a valid encrypted private key"),
        (FIXTURE_PUB.to_string(), "`k.key` is a public key; signing needs the private key"),
        (pem::encode("CERTIFICATE", b"x"), "`k.key` holds a `CERTIFICATE` block"),
        (pem::encode("EC PARAMETERS", &P256_PARAMS), "`k.key` holds no private key"),
        (
            "-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nAQID\n-----END EC PRIVATE KEY-----\n".into(),
            "OpenSSL's legacy PEM encryption",
        ),
        (pem::encode("ENCRYPTED PRIVATE KEY", b"x"), "is an encrypted PKCS#8 key"),
    ];
    for (text, expected) in cases {
        assert_config(SigningKey::from_pem(&text, Some(b"pw"), "k.key").unwrap_err(), expected);
    }

    let public_cases: Vec<(String, &str)> = vec![
        ("".into(), "`k.pub` is not a PEM public key"),
        (encrypted.to_string(), "`k.pub` holds no public key (found `ENCRYPTED SIGSTORE PRIVATE KEY`)"),
        (pem::encode("PUBLIC KEY", b"garbage"), "`k.pub` is not a valid public key"),
    ];
    for (text, expected) in public_cases {
        assert_config(PublicKey::from_pem(&text, "k.pub").unwrap_err(), expected);
    }
}

#[test]
fn public_key_pem_and_hint() {
    let pair = generate().unwrap();
    let text = pair.public_key_pem();
    assert!(text.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    let public = PublicKey::from_pem(&text, "cosign.pub").unwrap();
    assert_eq!(&public, pair.public_key());
    assert_eq!(public.to_pem(), text);
    // SPKI of an uncompressed P-256 point is 91 bytes; the hint is base64(sha256(it)).
    assert_eq!(public.to_der().len(), 91);
    assert_eq!(public.hint(), b64::encode(&sha2::Sha256::digest(public.to_der())));
    assert_eq!(pair.key_hint(), public.hint());
    assert_eq!(public.origin(), "cosign.pub");
}

#[test]
fn signing_key_signs_what_its_public_key_verifies() {
    let pair = generate().unwrap();
    let key = pair.signing_key();
    let signature = key.sign(b"message").unwrap();
    assert!(pair.public_key().verifies_message(b"message", signature.as_der()));
    assert!(!pair.public_key().verifies_message(b"messagE", signature.as_der()));
    assert!(!generate().unwrap().public_key().verifies_message(b"message", signature.as_der()));
    let material = key.verification_material();
    assert_eq!(material.public_key.unwrap().hint, pair.key_hint());
    assert!(material.tlog_entries.is_empty());
}

#[test]
fn debug_output_shows_no_key_material() {
    let (secret, key) = known_key();
    let scalar = secret.to_bytes();
    let shown = format!("{key:?} {:?}", key.public_key());
    assert!(shown.contains(key.public_key().hint()), "{shown}");
    for needle in [hex::encode(scalar), b64::encode(&scalar), format!("{:?}", scalar.as_slice())] {
        assert!(!shown.contains(&needle), "{shown}");
    }
    assert!(!shown.contains("SecretKey") && !shown.contains("scalar"), "{shown}");
    // A key pair shows its signing key the same way.
    let pair = format!("{:?}", generate().unwrap());
    assert!(pair.starts_with("KeyPair { key: SigningKey { origin: \"generated key\", hint: "), "{pair}");
}

#[test]
fn truncated_and_garbled_inputs_fail_without_panicking() {
    let (secret, key) = known_key();
    let spki = key.public_key().to_der().to_vec();
    let pkcs8 = secret.to_pkcs8_der().unwrap().as_bytes().to_vec();
    let sec1 = secret.to_sec1_der().unwrap().to_vec();
    for der in [&spki, &pkcs8, &sec1] {
        for len in 0..der.len() {
            let cut = &der[..len];
            assert!(PublicKey::from_der(cut, "k").is_err());
            assert!(SigningKey::from_pkcs8_der(cut, "k").is_err());
            assert!(SigningKey::from_sec1_der(cut, "k").is_err());
        }
        for i in 0..der.len() {
            let mut flipped = der.clone();
            flipped[i] ^= 0xff;
            // Any answer but a panic; a flipped byte may still be a valid key.
            let _ = PublicKey::from_der(&flipped, "k");
            let _ = SigningKey::from_pkcs8_der(&flipped, "k");
            let _ = SigningKey::from_sec1_der(&flipped, "k");
        }
    }
    // The JSON body of an encrypted key, cut anywhere: refused before any key derivation.
    let body = pem::parse(FIXTURE_KEY).unwrap()[0].der.to_vec();
    for len in (0..body.len() - 1).step_by(7) {
        let err = SigningKey::from_pem(&pem::encode(SIGSTORE_LABEL, &body[..len]), Some(b""), "k").unwrap_err();
        assert_eq!(err.class, ErrorClass::Config);
    }
}

#[test]
fn key_files_are_read_by_path_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let text = FIXTURE_KEY;
    let public = dir.path().join("cosign.pub");
    std::fs::write(&public, FIXTURE_PUB).unwrap();
    let loaded = PublicKey::from_file(&public).unwrap();
    assert_eq!(loaded, PublicKey::from_pem(FIXTURE_PUB, "fixture").unwrap());
    assert_eq!(loaded.origin(), public.display().to_string());

    let missing = dir.path().join("missing.key");
    let err = SigningKey::from_file(&missing, None).unwrap_err();
    assert_config(err, &format!("cannot read the key file `{}`", missing.display()));
    assert_config(PublicKey::from_file(&missing).unwrap_err(), "cannot read the key file");

    let (secret, _) = known_key();
    let plain = dir.path().join("plain.pem");
    std::fs::write(&plain, secret.to_pkcs8_pem(Default::default()).unwrap().as_bytes()).unwrap();
    let key = SigningKey::from_file(&plain, None).unwrap();
    assert_eq!(key.origin(), plain.display().to_string());

    assert!(needs_passphrase(text));
    assert!(needs_passphrase(&text.replace(SIGSTORE_LABEL, COSIGN_LABEL)));
    assert!(!needs_passphrase(&secret.to_pkcs8_pem(Default::default()).unwrap()));
    assert!(!needs_passphrase("garbage"));
}
