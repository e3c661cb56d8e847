//! Names of key algorithms, for "unsupported key type" messages.
//!
//! relman signs and verifies with ECDSA P-256 only (cosign's default key type). Any other key a
//! user hands over is refused by name, so they know what they gave and what to give instead.

use p256::pkcs8::ObjectIdentifier;
use relman_manifest::Failure;

const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// secp256r1 / prime256v1 / NIST P-256.
pub(crate) const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");

/// Is this (algorithm, parameters) pair an ECDSA P-256 key?
pub(crate) fn is_p256(algorithm: ObjectIdentifier, parameters: Option<ObjectIdentifier>) -> bool {
    algorithm == ID_EC_PUBLIC_KEY && parameters == Some(P256)
}

/// The failure for a key of another type than ECDSA P-256: a config failure naming the type.
pub(crate) fn unsupported(algorithm: &str, origin: &str) -> Failure {
    Failure::config(format!("unsupported key type {algorithm} in `{origin}`"))
        .with_hint("relman signs with ECDSA P-256 keys (cosign's default); create one with `relman keygen`")
}

/// A readable name for a key algorithm: `ECDSA P-384`, `Ed25519`, `RSA`, or the OID.
pub(crate) fn name(algorithm: ObjectIdentifier, parameters: Option<ObjectIdentifier>) -> String {
    match algorithm.to_string().as_str() {
        "1.2.840.10045.2.1" => match parameters {
            Some(curve) => format!("ECDSA {}", curve_name(curve)),
            None => "ECDSA (no curve named)".to_string(),
        },
        "1.2.840.113549.1.1.1" => "RSA".to_string(),
        "1.2.840.113549.1.1.10" => "RSA-PSS".to_string(),
        "1.3.101.110" => "X25519".to_string(),
        "1.3.101.111" => "X448".to_string(),
        "1.3.101.112" => "Ed25519".to_string(),
        "1.3.101.113" => "Ed448".to_string(),
        "1.2.840.10040.4.1" => "DSA".to_string(),
        other => format!("with algorithm OID {other}"),
    }
}

/// A readable name for an elliptic curve OID.
pub(crate) fn curve_name(curve: ObjectIdentifier) -> String {
    match curve.to_string().as_str() {
        "1.2.840.10045.3.1.7" => "P-256".to_string(),
        "1.3.132.0.34" => "P-384".to_string(),
        "1.3.132.0.35" => "P-521".to_string(),
        "1.3.132.0.10" => "secp256k1".to_string(),
        "1.3.36.3.3.2.8.1.1.7" => "brainpoolP256r1".to_string(),
        other => format!("curve {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let oid = ObjectIdentifier::new_unwrap;
        assert!(is_p256(ID_EC_PUBLIC_KEY, Some(P256)));
        assert!(!is_p256(ID_EC_PUBLIC_KEY, Some(oid("1.3.132.0.34"))));
        assert_eq!(name(ID_EC_PUBLIC_KEY, Some(oid("1.3.132.0.34"))), "ECDSA P-384");
        assert_eq!(name(oid("1.3.101.112"), None), "Ed25519");
        assert_eq!(name(oid("1.2.840.113549.1.1.1"), None), "RSA");
        assert_eq!(name(oid("1.2.3.4"), None), "with algorithm OID 1.2.3.4");
    }
}
