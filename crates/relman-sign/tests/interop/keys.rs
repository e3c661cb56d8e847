//! Key files across implementations: relman ⇄ the `sigstore` crate, relman ⇄ Python
//! (`cryptography` + PyNaCl + `hashlib.scrypt`), and fixtures from Python and OpenSSL.
//!
//! scrypt at cosign's cost takes seconds in an unoptimized build, so relman's side derives as
//! few keys as the checks allow (one shared encrypted key for the two peers that read it).

use std::path::Path;
use std::sync::OnceLock;

use relman_manifest::ErrorClass;
use relman_sign::keys::{COSIGN_LABEL, SIGSTORE_LABEL};
use relman_sign::{blob, generate, KeyPair, PublicKey, Signer, SigningKey};
use sigstore::crypto::signing_key::ecdsa::{ECDSAKeys, EllipticCurve};
use sigstore::crypto::signing_key::SigStoreKeyPair;
use sigstore::crypto::{CosignVerificationKey, Signature, SigningScheme};

use crate::support::{fixture, python, read, run};

const PASSPHRASE: &str = "relman interop passphrase";

/// A relman key pair and its encrypted PEM under [`PASSPHRASE`].
fn relman_key() -> &'static (KeyPair, String) {
    static KEY: OnceLock<(KeyPair, String)> = OnceLock::new();
    KEY.get_or_init(|| {
        let pair = generate().unwrap();
        let pem = pair.to_encrypted_pem(PASSPHRASE.as_bytes()).unwrap();
        (pair, pem)
    })
}

fn same_key(a_pem: &str, b_pem: &str) -> bool {
    PublicKey::from_pem(a_pem, "a").unwrap() == PublicKey::from_pem(b_pem, "b").unwrap()
}

/// Python's verdict on a base64 signature of `file` with the public key `pub_pem`.
fn python_verifies(dir: &Path, pub_pem: &str, file: &Path, signature: &str) -> bool {
    let key = dir.join("verify.pub");
    std::fs::write(&key, pub_pem).unwrap();
    let ran = run(python("cosign_keys.py").arg("verify").arg(&key).arg(file).arg(signature));
    assert!(ran.stdout.contains("verified") || ran.stdout.contains("invalid"), "{} {}", ran.stdout, ran.stderr);
    ran.ok
}

#[test]
fn relman_keys_load_in_python() {
    let dir = tempfile::tempdir().unwrap();
    let (pair, pem) = relman_key();
    let empty_pair = generate().unwrap();
    let cases = [(pair, pem.clone(), PASSPHRASE), (&empty_pair, empty_pair.to_encrypted_pem(b"").unwrap(), "")];
    let file = dir.path().join("checksums.txt");
    std::fs::write(&file, "0123  app.tar.gz\n").unwrap();
    for (pair, pem, passphrase) in cases {
        let key = dir.path().join("cosign.key");
        std::fs::write(&key, pem).unwrap();
        let public = run(python("cosign_keys.py").env("RELMAN_TEST_PASSPHRASE", passphrase).arg("public").arg(&key))
            .expect_ok("python reads relman's key")
            .stdout;
        assert!(same_key(&public, &pair.public_key_pem()), "python: {public}");
        // The private key Python decrypted signs what relman's public key verifies.
        let sig =
            run(python("cosign_keys.py").env("RELMAN_TEST_PASSPHRASE", passphrase).arg("sign").arg(&key).arg(&file))
                .expect_ok("python signs")
                .stdout;
        let digest = blob::sha256_file(&file).unwrap();
        blob::verify_legacy(&sig, "python.sig", pair.public_key(), "checksums.txt", &digest).unwrap();
        // A wrong passphrase fails in Python too (the file really is encrypted).
        let ran = run(python("cosign_keys.py").env("RELMAN_TEST_PASSPHRASE", "nope").arg("public").arg(&key));
        assert!(!ran.ok && ran.stderr.contains("CryptoError"), "{}", ran.stderr);
    }
}

#[test]
fn relman_keys_load_in_the_sigstore_crate() {
    let (pair, pem) = relman_key();
    assert!(pem.starts_with(&format!("-----BEGIN {SIGSTORE_LABEL}-----")));
    let theirs = SigStoreKeyPair::from_encrypted_pem(pem.as_bytes(), PASSPHRASE.as_bytes())
        .expect("the sigstore crate reads relman's key");
    assert!(same_key(&theirs.public_key_to_pem().unwrap(), &pair.public_key_pem()));

    // Their signer with our key; our verifier.
    let signer = theirs.to_sigstore_signer(&SigningScheme::ECDSA_P256_SHA256_ASN1).unwrap();
    let message = b"index.json bytes";
    let sig = signer.sign(message).unwrap();
    let digest = blob::sha256_bytes(message);
    let b64 = base64_standard(&sig);
    blob::verify_legacy(&b64, "sigstore.sig", pair.public_key(), "index.json", &digest).unwrap();

    // Our signature (cosign sign-blob's format); their verifier, from our public key PEM.
    let ours = blob::sign_bytes(pair.signing_key(), message).unwrap();
    let verifier =
        CosignVerificationKey::from_pem(pair.public_key_pem().as_bytes(), &SigningScheme::ECDSA_P256_SHA256_ASN1)
            .unwrap();
    verifier.verify_signature(Signature::Base64Encoded(ours.legacy().as_bytes()), message).unwrap();
    assert!(verifier.verify_signature(Signature::Base64Encoded(ours.legacy().as_bytes()), b"other").is_err());
    // DSSE: their verifier over the PAE bytes.
    let envelope = relman_sign::dsse::Envelope::sign(pair.signing_key(), "text/plain", b"hi").unwrap();
    let pae = relman_sign::dsse::pae("text/plain", b"hi");
    verifier.verify_signature(Signature::Base64Encoded(envelope.signatures[0].sig.as_bytes()), &pae).unwrap();
}

#[test]
fn sigstore_crate_keys_load_in_relman() {
    let theirs = SigStoreKeyPair::ECDSA(ECDSAKeys::new(EllipticCurve::P256).unwrap());
    let pem = theirs.private_key_to_encrypted_pem(b"their passphrase").unwrap();
    let ours = SigningKey::from_pem(&pem, Some(b"their passphrase"), "sigstore-rs.key").unwrap();
    assert!(same_key(&theirs.public_key_to_pem().unwrap(), &ours.public_key().to_pem()));
    // Their plain PKCS#8 export too.
    let plain = theirs.private_key_to_pem().unwrap();
    let from_plain = SigningKey::from_pem(&plain, None, "sigstore-rs.pem").unwrap();
    assert_eq!(from_plain.public_key(), ours.public_key());

    let message = b"release bytes";
    let sig = ours.sign(message).unwrap();
    let verifier = theirs.to_verification_key(&SigningScheme::ECDSA_P256_SHA256_ASN1).unwrap();
    verifier.verify_signature(Signature::Raw(sig.as_der()), message).unwrap();
}

/// What a fixture is, as its README says.
struct Fixture {
    key: &'static str,
    public: &'static str,
    label: &'static str,
    scrypt_n: Option<u64>,
    passphrase: Option<&'static str>,
}

const FIXTURES: [Fixture; 5] = [
    Fixture {
        key: "sigstore-n32768.key",
        public: "sigstore-n32768.pub",
        label: SIGSTORE_LABEL,
        scrypt_n: Some(32_768),
        passphrase: Some("relman-fixture"),
    },
    Fixture {
        key: "cosign-n65536.key",
        public: "cosign-n65536.pub",
        label: COSIGN_LABEL,
        scrypt_n: Some(65_536),
        passphrase: Some("relman-fixture"),
    },
    Fixture {
        key: "cosign-n32768-empty.key",
        public: "cosign-n32768-empty.pub",
        label: COSIGN_LABEL,
        scrypt_n: Some(32_768),
        passphrase: Some(""),
    },
    Fixture {
        key: "openssl-p256-pkcs8.pem",
        public: "openssl-p256-pkcs8.pub",
        label: "PRIVATE KEY",
        scrypt_n: None,
        passphrase: None,
    },
    Fixture {
        key: "openssl-p256-sec1.pem",
        public: "openssl-p256-sec1.pub",
        label: "EC PRIVATE KEY",
        scrypt_n: None,
        passphrase: None,
    },
];

/// The PEM label of the key block and, for cosign's format, scrypt's N: proves each fixture
/// is what the table says before relman reads it.
fn describe(text: &str) -> (String, Option<u64>) {
    use base64::Engine as _;
    let block = text.split("-----BEGIN ").last().unwrap();
    let label = block.split("-----").next().unwrap().to_string();
    if !label.starts_with("ENCRYPTED") {
        return (label, None);
    }
    let body: String = block.lines().skip(1).take_while(|l| !l.starts_with("-----")).collect();
    let json = base64::engine::general_purpose::STANDARD.decode(body).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    (label, json["kdf"]["params"]["N"].as_u64())
}

#[test]
fn fixtures_from_other_implementations_load_and_sign_verifiably() {
    let dir = tempfile::tempdir().unwrap();
    let artifact = dir.path().join("app.tar.gz");
    std::fs::write(&artifact, b"an archive signed with a fixture key").unwrap();
    for fixture_spec in &FIXTURES {
        let text = read(&fixture(fixture_spec.key));
        assert_eq!(describe(&text), (fixture_spec.label.to_string(), fixture_spec.scrypt_n), "{}", fixture_spec.key);
        let key = SigningKey::from_pem(&text, fixture_spec.passphrase.map(str::as_bytes), fixture_spec.key)
            .unwrap_or_else(|e| panic!("{}: {e}", fixture_spec.key));
        let public_pem = read(&fixture(fixture_spec.public));
        let public = PublicKey::from_pem(&public_pem, fixture_spec.public).unwrap();
        assert_eq!(key.public_key(), &public, "{}", fixture_spec.key);

        // Signed by relman, verified by Python's `cryptography` with the fixture's public key.
        let signed = blob::sign_file(&key, &artifact).unwrap();
        assert!(python_verifies(dir.path(), &public_pem, &artifact, &signed.legacy()), "{}", fixture_spec.key);
        blob::verify_bundle(&signed.bundle_json(), "b", &public, "app.tar.gz", &signed.sha256).unwrap();
    }
}

#[test]
fn other_key_types_from_openssl_are_refused_by_name() {
    for (file, name) in
        [("openssl-ed25519.pem", "Ed25519"), ("openssl-p384.pem", "ECDSA P-384"), ("openssl-rsa.pem", "RSA")]
    {
        let err = SigningKey::from_pem(&read(&fixture(file)), None, file).unwrap_err();
        assert_eq!(err.class, ErrorClass::Config);
        assert_eq!(err.message, format!("unsupported key type {name} in `{file}`"));
    }
    let err = PublicKey::from_pem(&read(&fixture("openssl-p384.pub")), "openssl-p384.pub").unwrap_err();
    assert_eq!(err.message, "unsupported key type ECDSA P-384 in `openssl-p384.pub`");
}

fn base64_standard(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
