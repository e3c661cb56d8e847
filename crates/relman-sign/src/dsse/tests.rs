//! DSSE: the PAE bytes, envelope shape, bundles, JSON Lines, and every tamper case.

use std::sync::OnceLock;

use relman_manifest::{ErrorClass, Failure};

use super::*;
use crate::keys::{generate, KeyPair};

fn pair() -> &'static KeyPair {
    static PAIR: OnceLock<KeyPair> = OnceLock::new();
    PAIR.get_or_init(|| generate().unwrap())
}

const STATEMENT: &[u8] = br#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"app.tar.gz","digest":{"sha256":"00"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{}}"#;

fn assert_verify_failure<T: std::fmt::Debug>(result: Result<T, Failure>, expected: &str) {
    let err = result.expect_err(expected);
    assert_eq!(err.class, ErrorClass::Verify, "{}", err.message);
    assert!(err.message.contains(expected), "expected `{expected}` in: {}", err.message);
}

#[test]
fn pae_is_exactly_the_spec() {
    // The example from the DSSE protocol document.
    assert_eq!(
        pae("http://example.com/HelloWorld", b"hello world"),
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    );
    assert_eq!(pae("", b""), b"DSSEv1 0  0 ");
    // Lengths count bytes, not characters.
    assert_eq!(pae("t", "é".as_bytes()), b"DSSEv1 1 t 2 \xc3\xa9");
}

#[test]
fn envelope_shape_and_round_trip() {
    let envelope = Envelope::sign(pair().signing_key(), INTOTO_PAYLOAD_TYPE, STATEMENT).unwrap();
    let text = envelope.to_json();
    let sig = &envelope.signatures[0].sig;
    assert_eq!(
        text,
        format!(
            r#"{{"payload":"{}","payloadType":"application/vnd.in-toto+json","signatures":[{{"keyid":"","sig":"{sig}"}}]}}"#,
            b64::encode(STATEMENT)
        )
    );
    // The signature is over the PAE, not the payload.
    let der = b64::decode(sig).unwrap();
    assert!(pair().public_key().verifies_message(&pae(INTOTO_PAYLOAD_TYPE, STATEMENT), &der));
    assert!(!pair().public_key().verifies_message(STATEMENT, &der));

    let parsed = Envelope::parse(&text, "prov.json").unwrap();
    let verified = parsed.verify(pair().public_key(), "prov.json").unwrap();
    assert_eq!(verified, Verified { payload_type: INTOTO_PAYLOAD_TYPE.into(), payload: STATEMENT.to_vec() });
}

#[test]
fn tampering_with_the_envelope_is_caught() {
    let envelope = Envelope::sign(pair().signing_key(), INTOTO_PAYLOAD_TYPE, STATEMENT).unwrap();
    let expected = "no signature in `prov.intoto.jsonl` verifies with `generated key`";

    let mut payload = STATEMENT.to_vec();
    payload[60] ^= 0x01;
    let mut edited = envelope.clone();
    edited.payload = b64::encode(&payload);
    assert_verify_failure(edited.verify(pair().public_key(), "prov.intoto.jsonl"), expected);

    let mut edited = envelope.clone();
    edited.payload_type = "application/json".into();
    assert_verify_failure(edited.verify(pair().public_key(), "prov.intoto.jsonl"), expected);

    let mut der = b64::decode(&envelope.signatures[0].sig).unwrap();
    der[10] ^= 0x01;
    let mut edited = envelope.clone();
    edited.signatures[0].sig = b64::encode(&der);
    assert_verify_failure(edited.verify(pair().public_key(), "prov.intoto.jsonl"), expected);

    let other = generate().unwrap();
    assert_verify_failure(envelope.verify(other.public_key(), "prov.intoto.jsonl"), "verifies with `generated key`");

    let mut edited = envelope.clone();
    edited.signatures.clear();
    assert_verify_failure(edited.verify(pair().public_key(), "p"), "`p` has no signatures");
    let mut edited = envelope.clone();
    edited.payload = "%%%".into();
    assert_verify_failure(edited.verify(pair().public_key(), "p"), "payload is not base64");
}

#[test]
fn one_good_signature_among_others_is_enough() {
    let mut envelope = Envelope::sign(pair().signing_key(), INTOTO_PAYLOAD_TYPE, STATEMENT).unwrap();
    let other = Envelope::sign(generate().unwrap().signing_key(), INTOTO_PAYLOAD_TYPE, STATEMENT).unwrap();
    envelope.signatures.insert(0, other.signatures[0].clone());
    envelope.signatures.insert(0, EnvelopeSignature { keyid: "x".into(), sig: "garbage".into() });
    assert!(envelope.verify(pair().public_key(), "p").is_ok());
}

#[test]
fn dsse_bundle_round_trip_and_shape() {
    let signed = sign(pair().signing_key(), INTOTO_PAYLOAD_TYPE, STATEMENT).unwrap();
    let json: serde_json::Value = serde_json::from_str(&signed.bundle_json()).unwrap();
    assert_eq!(json["mediaType"], "application/vnd.dev.sigstore.bundle.v0.3+json");
    assert_eq!(json["verificationMaterial"], serde_json::json!({"publicKey": {"hint": pair().key_hint()}}));
    assert_eq!(json["dsseEnvelope"], serde_json::from_str::<serde_json::Value>(&signed.envelope.to_json()).unwrap());
    assert!(json.get("messageSignature").is_none());

    let verified = verify_bundle(&signed.bundle_json(), "prov.sigstore.json", pair().public_key()).unwrap();
    assert_eq!(verified.payload, STATEMENT);
    assert_eq!(verified.payload_type, INTOTO_PAYLOAD_TYPE);
}

#[test]
fn dsse_bundle_failures_are_distinct() {
    let signed = sign(pair().signing_key(), INTOTO_PAYLOAD_TYPE, STATEMENT).unwrap();
    let other = generate().unwrap();
    assert_verify_failure(
        verify_bundle(&signed.bundle_json(), "prov.sigstore.json", other.public_key()),
        "`prov.sigstore.json` was signed by another key",
    );
    let mut bundle = signed.bundle.clone();
    let mut payload = STATEMENT.to_vec();
    payload[100] ^= 0x20;
    bundle.dsse_envelope.as_mut().unwrap().payload = b64::encode(&payload);
    assert_verify_failure(
        verify_bundle(&bundle.to_json(), "prov.sigstore.json", pair().public_key()),
        "no signature in `prov.sigstore.json` verifies",
    );
    let text = signed.bundle_json().replace("v0.3+json", "v0.2+json");
    assert_verify_failure(verify_bundle(&text, "prov.sigstore.json", pair().public_key()), "unknown bundle media type");
    let blob = crate::blob::sign_bytes(pair().signing_key(), b"x").unwrap();
    assert_verify_failure(
        verify_bundle(&blob.bundle_json(), "x.sigstore.json", pair().public_key()),
        "holds a message signature, not a DSSE envelope",
    );
}

#[test]
fn intoto_jsonl_is_one_line_per_envelope() {
    let signed = sign(pair().signing_key(), INTOTO_PAYLOAD_TYPE, STATEMENT).unwrap();
    let line = signed.intoto_jsonl();
    assert_eq!(line.matches('\n').count(), 1);
    assert!(line.ends_with("}\n"));
    assert_eq!(line, intoto_jsonl(&signed.envelope));
    let two = format!("{line}\n{line}");
    let envelopes = parse_intoto_jsonl(&two, "app.intoto.jsonl").unwrap();
    assert_eq!(envelopes, vec![signed.envelope.clone(), signed.envelope.clone()]);
    assert_verify_failure(parse_intoto_jsonl("\n", "app.intoto.jsonl"), "`app.intoto.jsonl` holds no envelope");
    assert_verify_failure(
        parse_intoto_jsonl("{}\n", "app.intoto.jsonl"),
        "`app.intoto.jsonl:1` is not a DSSE envelope",
    );
}

#[test]
fn truncated_bundles_and_envelopes_fail_without_panicking() {
    let signed = sign(pair().signing_key(), INTOTO_PAYLOAD_TYPE, STATEMENT).unwrap();
    let blob = crate::blob::sign_bytes(pair().signing_key(), STATEMENT).unwrap();
    let digest = crate::blob::sha256_bytes(STATEMENT);
    for text in [signed.bundle_json(), blob.bundle_json(), signed.envelope.to_json()] {
        for len in 0..text.len() {
            let cut = &text[..len];
            assert!(verify_bundle(cut, "b", pair().public_key()).is_err());
            assert!(crate::blob::verify_bundle(cut, "b", pair().public_key(), "a", &digest).is_err());
            assert!(Envelope::parse(cut, "e").is_err());
        }
    }
}
