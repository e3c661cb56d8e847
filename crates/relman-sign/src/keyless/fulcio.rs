//! Fulcio v2 (`POST /api/v2/signingCert`): the request body and the certificate chain it
//! answers. The HTTP call belongs to the caller.
//!
//! Request: the identity token, the ephemeral public key (PEM) and the proof of possession — a
//! signature by that key over the identity Fulcio will certify ([`IdentityToken::challenge`]).
//! Answer: `signedCertificateEmbeddedSct.chain.certificates` (or `...DetachedSct`), PEM, leaf
//! first.

use relman_manifest::Failure;
use serde_json::json;

use super::token::IdentityToken;
use crate::signer::Signer;
use crate::{pem, PublicKey};

/// The path of the signing-certificate endpoint below Fulcio's base URL.
pub const SIGNING_CERT_PATH: &str = "/api/v2/signingCert";

/// The JSON body of a signing-certificate request.
pub fn request_body(token: &IdentityToken, key: &PublicKey, signer: &dyn Signer) -> Result<String, Failure> {
    let proof = signer.sign(token.challenge().as_bytes())?;
    Ok(json!({
        "credentials": {"oidcIdentityToken": token.expose()},
        "publicKeyRequest": {
            "publicKey": {"algorithm": "ECDSA", "content": key.to_pem()},
            "proofOfPossession": proof.to_base64(),
        }
    })
    .to_string())
}

/// The certificate chain (DER, leaf first) from Fulcio's answer; `origin` is its URL.
pub fn parse_chain(answer: &str, origin: &str) -> Result<Vec<Vec<u8>>, Failure> {
    let bad = |why: String| Failure::network(format!("Fulcio at {origin} answered {why}"));
    let value: serde_json::Value =
        serde_json::from_str(answer).map_err(|e| bad(format!("something that is not JSON ({e})")))?;
    let signed = value
        .get("signedCertificateEmbeddedSct")
        .or_else(|| value.get("signedCertificateDetachedSct"))
        .ok_or_else(|| bad("no `signedCertificateEmbeddedSct` or `signedCertificateDetachedSct`".into()))?;
    let pems = signed
        .pointer("/chain/certificates")
        .and_then(|c| c.as_array())
        .ok_or_else(|| bad("no `chain.certificates`".into()))?;
    let mut chain = Vec::new();
    for p in pems {
        let text = p.as_str().ok_or_else(|| bad("a certificate that is not a string".into()))?;
        let blocks = pem::parse(text).map_err(|e| bad(format!("a certificate that is not PEM: {e}")))?;
        for b in blocks.into_iter().filter(|b| b.label == "CERTIFICATE") {
            chain.push(b.der.to_vec());
        }
    }
    if chain.is_empty() {
        return Err(bad("an empty certificate chain".into()));
    }
    Ok(chain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_without_a_chain_are_named() {
        for (answer, why) in [
            ("nope", "not JSON"),
            ("{}", "no `signedCertificateEmbeddedSct`"),
            (r#"{"signedCertificateEmbeddedSct":{}}"#, "no `chain.certificates`"),
            (r#"{"signedCertificateDetachedSct":{"chain":{"certificates":[]}}}"#, "empty certificate chain"),
        ] {
            let err = parse_chain(answer, "http://f").unwrap_err();
            assert!(err.message.starts_with("Fulcio at http://f answered"), "{}", err.message);
            assert!(err.message.contains(why), "{why}: {}", err.message);
        }
    }
}
