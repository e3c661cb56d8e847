//! sigstore-js verifies what relman signs; relman verifies what sigstore-js builds.

use std::path::Path;

use relman_sign::dsse::{self, INTOTO_PAYLOAD_TYPE};
use relman_sign::{blob, generate, KeyPair, PublicKey};

use crate::support::{fixture, node, read, Ran};

/// sigstore-js's verdict on `bundle` with `key` (and the artifact for a message signature).
fn sigstore_js_verify(bundle: &Path, key: &Path, artifact: Option<&Path>) -> Ran {
    let mut cmd = node("verify-bundle.cjs");
    cmd.arg(bundle).arg(key);
    if let Some(artifact) = artifact {
        cmd.arg(artifact);
    }
    crate::support::run(&mut cmd)
}

struct Release {
    dir: tempfile::TempDir,
    pair: KeyPair,
}

impl Release {
    fn new() -> Self {
        let release = Release { dir: tempfile::tempdir().unwrap(), pair: generate().unwrap() };
        std::fs::write(release.path("cosign.pub"), release.pair.public_key_pem()).unwrap();
        release
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `name` with `bytes` and its `.sigstore.json` and `.sig` as relman signs them.
    fn archive(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.path(name), bytes).unwrap();
        let signed = blob::sign_file(self.pair.signing_key(), &self.path(name)).unwrap();
        std::fs::write(self.path(&format!("{name}.sigstore.json")), signed.bundle_json()).unwrap();
        std::fs::write(self.path(&format!("{name}.sig")), signed.legacy()).unwrap();
    }

    fn verify(&self, bundle: &str, artifact: &str) -> Ran {
        sigstore_js_verify(&self.path(bundle), &self.path("cosign.pub"), Some(&self.path(artifact)))
    }
}

fn archive_bytes(seed: u8) -> Vec<u8> {
    (0..300_000u32).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

#[test]
fn sigstore_js_verifies_a_relman_blob_bundle() {
    let release = Release::new();
    release.archive("app-1.0.0-x86_64-unknown-linux-gnu.tar.gz", &archive_bytes(1));
    let ran = release
        .verify("app-1.0.0-x86_64-unknown-linux-gnu.tar.gz.sigstore.json", "app-1.0.0-x86_64-unknown-linux-gnu.tar.gz")
        .expect_ok("sigstore-js verify");
    let verdict = ran.json();
    assert_eq!(verdict["ok"], true);
    assert_eq!(verdict["hint"], release.pair.key_hint());
}

#[test]
fn sigstore_js_rejects_a_tampered_artifact() {
    let release = Release::new();
    let mut bytes = archive_bytes(2);
    release.archive("app.tar.gz", &bytes);
    release.verify("app.tar.gz.sigstore.json", "app.tar.gz").expect_ok("untampered");
    bytes[150_000] ^= 0x01;
    std::fs::write(release.path("app.tar.gz"), &bytes).unwrap();
    let ran = release.verify("app.tar.gz.sigstore.json", "app.tar.gz");
    assert!(!ran.ok, "sigstore-js accepted a tampered archive: {}", ran.stdout);
    let verdict = ran.json();
    assert_eq!(verdict["ok"], false);
    assert!(verdict["error"].as_str().unwrap().contains("signature"), "{verdict}");
}

#[test]
fn sigstore_js_rejects_swapped_bundles_a_flipped_signature_and_the_wrong_key() {
    let release = Release::new();
    release.archive("linux.tar.gz", &archive_bytes(3));
    release.archive("macos.tar.gz", &archive_bytes(4));
    release.verify("linux.tar.gz.sigstore.json", "linux.tar.gz").expect_ok("linux");
    release.verify("macos.tar.gz.sigstore.json", "macos.tar.gz").expect_ok("macos");
    assert!(!release.verify("macos.tar.gz.sigstore.json", "linux.tar.gz").ok);
    assert!(!release.verify("linux.tar.gz.sigstore.json", "macos.tar.gz").ok);

    let mut bundle: serde_json::Value =
        serde_json::from_str(&read(&release.path("linux.tar.gz.sigstore.json"))).unwrap();
    let sig = bundle["messageSignature"]["signature"].as_str().unwrap().to_string();
    // Flip one bit inside the base64 text of the signature (a character in the middle).
    let mut chars: Vec<char> = sig.chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    bundle["messageSignature"]["signature"] = chars.into_iter().collect::<String>().into();
    std::fs::write(release.path("flipped.sigstore.json"), bundle.to_string()).unwrap();
    assert!(!release.verify("flipped.sigstore.json", "linux.tar.gz").ok);

    // The right bundle and file, another public key.
    let other = generate().unwrap();
    std::fs::write(release.path("other.pub"), other.public_key_pem()).unwrap();
    let ran = sigstore_js_verify(
        &release.path("linux.tar.gz.sigstore.json"),
        &release.path("other.pub"),
        Some(&release.path("linux.tar.gz")),
    );
    assert!(!ran.ok, "sigstore-js accepted another key: {}", ran.stdout);
}

#[test]
fn sigstore_js_verifies_a_relman_dsse_bundle_and_rejects_an_edited_statement() {
    let release = Release::new();
    let statement = serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "app.tar.gz", "digest": {"sha256": "ab".repeat(32)}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {"buildDefinition": {"buildType": "https://relman.dev/build/v1", "externalParameters": {}}},
    })
    .to_string();
    let signed = dsse::sign(release.pair.signing_key(), INTOTO_PAYLOAD_TYPE, statement.as_bytes()).unwrap();
    std::fs::write(release.path("prov.sigstore.json"), signed.bundle_json()).unwrap();
    let ran = sigstore_js_verify(&release.path("prov.sigstore.json"), &release.path("cosign.pub"), None)
        .expect_ok("sigstore-js DSSE verify");
    assert_eq!(ran.json()["payloadType"], INTOTO_PAYLOAD_TYPE);
    assert_eq!(ran.json()["hint"], release.pair.key_hint());

    let edited = statement.replace(&"ab".repeat(32), &"cd".repeat(32));
    let mut bundle = signed.bundle.clone();
    bundle.dsse_envelope.as_mut().unwrap().payload = base64_standard(edited.as_bytes());
    std::fs::write(release.path("edited.sigstore.json"), bundle.to_json()).unwrap();
    let ran = sigstore_js_verify(&release.path("edited.sigstore.json"), &release.path("cosign.pub"), None);
    assert!(!ran.ok, "sigstore-js accepted an edited statement: {}", ran.stdout);
}

/// Base64 without relman's helper (which is private): the envelope's payload encoding.
fn base64_standard(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn relman_verifies_bundles_sigstore_js_built() {
    let dir = tempfile::tempdir().unwrap();
    let artifact = dir.path().join("app.tar.gz");
    std::fs::write(&artifact, archive_bytes(5)).unwrap();
    let key = PublicKey::from_pem(&read(&fixture("openssl-p256-pkcs8.pub")), "openssl-p256-pkcs8.pub").unwrap();

    let mut cmd = node("make-bundle.cjs");
    cmd.arg("message").arg(fixture("openssl-p256-pkcs8.pem")).arg(&artifact);
    let message = crate::support::run(&mut cmd).expect_ok("sigstore-js message bundle").stdout;
    let digest = blob::sha256_file(&artifact).unwrap();
    blob::verify_bundle(&message, "js.sigstore.json", &key, "app.tar.gz", &digest).unwrap();
    let other = blob::sha256_bytes(b"another file");
    let err = blob::verify_bundle(&message, "js.sigstore.json", &key, "app.tar.gz", &other).unwrap_err();
    assert!(err.message.contains("does not match"), "{}", err.message);

    let payload = dir.path().join("statement.json");
    std::fs::write(&payload, br#"{"_type":"https://in-toto.io/Statement/v1"}"#).unwrap();
    let mut cmd = node("make-bundle.cjs");
    cmd.arg("dsse").arg(fixture("openssl-p256-pkcs8.pem")).arg(&payload).arg(INTOTO_PAYLOAD_TYPE);
    let dsse_bundle = crate::support::run(&mut cmd).expect_ok("sigstore-js DSSE bundle").stdout;
    let verified = dsse::verify_bundle(&dsse_bundle, "js-prov.sigstore.json", &key).unwrap();
    assert_eq!(verified.payload, std::fs::read(&payload).unwrap());
    assert_eq!(verified.payload_type, INTOTO_PAYLOAD_TYPE);

    let wrong = generate().unwrap();
    let err = dsse::verify_bundle(&dsse_bundle, "js-prov.sigstore.json", wrong.public_key()).unwrap_err();
    assert!(err.message.contains("signed by another key"), "{}", err.message);
}
