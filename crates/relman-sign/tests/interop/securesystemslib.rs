//! securesystemslib (in-toto's DSSE implementation) verifies relman's envelopes.

use relman_sign::dsse::{self, INTOTO_PAYLOAD_TYPE};
use relman_sign::generate;

use crate::support::python;

fn statement() -> String {
    serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "app-1.0.0.tar.gz", "digest": {"sha256": "0f".repeat(32)}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {},
    })
    .to_string()
}

#[test]
fn securesystemslib_verifies_relman_envelopes_and_rejects_edits() {
    let dir = tempfile::tempdir().unwrap();
    let pair = generate().unwrap();
    let key = dir.path().join("cosign.pub");
    std::fs::write(&key, pair.public_key_pem()).unwrap();
    let statement = statement();
    let signed = dsse::sign(pair.signing_key(), INTOTO_PAYLOAD_TYPE, statement.as_bytes()).unwrap();

    // The .intoto.jsonl file as written.
    let jsonl = dir.path().join("app-1.0.0.intoto.jsonl");
    std::fs::write(&jsonl, signed.intoto_jsonl()).unwrap();
    let ran = crate::support::run(python("dsse_verify.py").arg(&jsonl).arg(&key)).expect_ok("securesystemslib");
    let verdict = ran.json();
    assert_eq!(verdict["ok"], true);
    assert_eq!(verdict["payloadType"], INTOTO_PAYLOAD_TYPE);
    // securesystemslib's own PAE of the envelope is the one relman signed.
    assert_eq!(verdict["payload"].as_str().unwrap().as_bytes(), dsse::pae(INTOTO_PAYLOAD_TYPE, statement.as_bytes()));

    // The envelope inside the bundle is the same envelope.
    let bundle: serde_json::Value = serde_json::from_str(&signed.bundle_json()).unwrap();
    let from_bundle = dir.path().join("from-bundle.json");
    std::fs::write(&from_bundle, bundle["dsseEnvelope"].to_string()).unwrap();
    crate::support::run(python("dsse_verify.py").arg(&from_bundle).arg(&key)).expect_ok("envelope from bundle");

    // An edited subject digest.
    let mut edited = signed.envelope.clone();
    edited.payload = {
        use base64::Engine as _;
        let text = statement.replace(&"0f".repeat(32), &"f0".repeat(32));
        base64::engine::general_purpose::STANDARD.encode(text)
    };
    let edited_path = dir.path().join("edited.intoto.jsonl");
    std::fs::write(&edited_path, dsse::intoto_jsonl(&edited)).unwrap();
    let ran = crate::support::run(python("dsse_verify.py").arg(&edited_path).arg(&key));
    assert!(!ran.ok, "securesystemslib accepted an edited statement: {}", ran.stdout);
    assert_eq!(ran.json()["ok"], false);

    // Another key.
    let other = dir.path().join("other.pub");
    std::fs::write(&other, generate().unwrap().public_key_pem()).unwrap();
    let ran = crate::support::run(python("dsse_verify.py").arg(&jsonl).arg(&other));
    assert!(!ran.ok, "securesystemslib accepted another key: {}", ran.stdout);
}
