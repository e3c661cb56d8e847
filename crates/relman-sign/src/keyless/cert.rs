//! X.509 for keyless verification: the signing certificate's identity, its validity, and
//! its chain up to a certificate authority of the trusted root.
//!
//! Fulcio certificates name the signer in the Subject Alternative Name (a URI for CI
//! workflows, an email for people) and the OIDC issuer in the extension
//! `1.3.6.1.4.1.57264.1.8` (a DER UTF8String; the deprecated `.1.1` holds the raw string).
//! Signatures are ECDSA over P-256 or P-384 with SHA-256 or SHA-384, checked with `ring`.

use relman_manifest::Failure;
use x509_cert::der::asn1::{ObjectIdentifier, Utf8StringRef};
use x509_cert::der::{Decode, Encode};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAltName};
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;

const SAN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
const ISSUER_V2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");
const ISSUER_V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
const TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
/// The extensions a verifier here understands, and so may be critical: key usage, basic
/// constraints, extended key usage and the subject alternative name (critical in Fulcio
/// certificates, whose subject is empty).
const UNDERSTOOD_CRITICAL: [ObjectIdentifier; 4] = [KEY_USAGE, BASIC_CONSTRAINTS, EXT_KEY_USAGE, SAN];

/// Where a certificate stands in a path, for [`Cert::check_policy`].
#[derive(Clone, Copy, Debug)]
pub enum Role {
    /// The signing certificate.
    Leaf,
    /// A timestamp authority's signing certificate (RFC 3161 2.3: timeStamping).
    TimestampLeaf,
    /// An issuer, with this many intermediate CA certificates between it and the leaf.
    Issuer { below: usize },
}

/// A parsed certificate and what verification reads of it.
pub struct Cert {
    pub der: Vec<u8>,
    cert: Certificate,
    /// Validity, seconds since the epoch.
    pub not_before: i64,
    pub not_after: i64,
}

impl Cert {
    pub fn parse(der: &[u8], origin: &str) -> Result<Self, Failure> {
        let cert = Certificate::from_der(der)
            .map_err(|e| Failure::verify(format!("{origin}: the certificate is not valid X.509 DER: {e}")))?;
        let v = &cert.tbs_certificate.validity;
        let not_before = v.not_before.to_unix_duration().as_secs() as i64;
        let not_after = v.not_after.to_unix_duration().as_secs() as i64;
        Ok(Cert { der: der.to_vec(), cert, not_before, not_after })
    }

    /// The Subject Alternative Names (URIs, emails, other names as text), in order.
    pub fn identities(&self) -> Vec<String> {
        let Some(ext) = self.extension(SAN) else { return Vec::new() };
        let Ok(san) = SubjectAltName::from_der(ext) else { return Vec::new() };
        san.0
            .iter()
            .filter_map(|name| match name {
                GeneralName::UniformResourceIdentifier(s) | GeneralName::Rfc822Name(s) => Some(s.to_string()),
                GeneralName::OtherName(other) => {
                    other.value.decode_as::<Utf8StringRef<'_>>().ok().map(|s| s.as_str().to_string())
                }
                _ => None,
            })
            .collect()
    }

    /// The OIDC issuer Fulcio recorded.
    pub fn oidc_issuer(&self) -> Option<String> {
        if let Some(v2) = self.extension(ISSUER_V2) {
            if let Ok(s) = Utf8StringRef::from_der(v2) {
                return Some(s.as_str().to_string());
            }
        }
        self.extension(ISSUER_V1).and_then(|raw| String::from_utf8(raw.to_vec()).ok())
    }

    fn extension(&self, oid: ObjectIdentifier) -> Option<&[u8]> {
        self.cert
            .tbs_certificate
            .extensions
            .as_ref()?
            .iter()
            .find(|e| e.extn_id == oid)
            .map(|e| e.extn_value.as_bytes())
    }

    /// The subject public key as SPKI DER.
    pub fn public_key_der(&self) -> Result<Vec<u8>, Failure> {
        self.cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|e| Failure::verify(format!("the certificate's public key cannot be encoded: {e}")))
    }

    fn subject_der(&self) -> Vec<u8> {
        self.cert.tbs_certificate.subject.to_der().unwrap_or_default()
    }

    fn issuer_der(&self) -> Vec<u8> {
        self.cert.tbs_certificate.issuer.to_der().unwrap_or_default()
    }

    /// Whether `issuer`'s key signed this certificate.
    pub fn is_signed_by(&self, issuer: &Cert) -> bool {
        if self.issuer_der() != issuer.subject_der() {
            return false;
        }
        let Ok(tbs) = self.cert.tbs_certificate.to_der() else { return false };
        let Some(signature) = self.cert.signature.as_bytes() else { return false };
        let alg = self.cert.signature_algorithm.oid;
        verify_ecdsa(&issuer.cert.tbs_certificate.subject_public_key_info, alg, &tbs, signature)
    }

    /// The code-signing path policy (RFC 5280 4.2.1.3, 4.2.1.9, 4.2.1.12, as Sigstore's
    /// verifiers apply it): no critical extension this verifier does not understand; a leaf
    /// with the codeSigning extended key usage and digitalSignature, and not a CA; an issuer
    /// with CA:TRUE, keyCertSign and a path length that allows the CAs below it.
    pub fn check_policy(&self, role: Role) -> Result<(), String> {
        let extensions = self.cert.tbs_certificate.extensions.as_deref().unwrap_or_default();
        if let Some(e) = extensions.iter().find(|e| e.critical && !UNDERSTOOD_CRITICAL.contains(&e.extn_id)) {
            return Err(format!(
                "has a critical extension {} that a verifier must refuse when it does not know it",
                e.extn_id
            ));
        }
        let constraints = match self.extension(BASIC_CONSTRAINTS) {
            Some(der) => {
                Some(BasicConstraints::from_der(der).map_err(|e| format!("has unreadable basic constraints: {e}"))?)
            }
            None => None,
        };
        let usage = match self.extension(KEY_USAGE) {
            Some(der) => Some(KeyUsage::from_der(der).map_err(|e| format!("has an unreadable key usage: {e}"))?),
            None => None,
        };
        match role {
            Role::Leaf | Role::TimestampLeaf => {
                let (purpose, name) = match role {
                    Role::Leaf => (CODE_SIGNING, "codeSigning"),
                    _ => (TIME_STAMPING, "timeStamping"),
                };
                if constraints.is_some_and(|c| c.ca) {
                    return Err("is a CA certificate (basic constraints CA:TRUE), not a signing certificate".into());
                }
                if !usage.is_some_and(|u| u.digital_signature()) {
                    return Err("does not allow digitalSignature in its key usage".into());
                }
                let eku = match self.extension(EXT_KEY_USAGE) {
                    Some(der) => {
                        ExtendedKeyUsage::from_der(der)
                            .map_err(|e| format!("has an unreadable extended key usage: {e}"))?
                            .0
                    }
                    None => Vec::new(),
                };
                if !eku.contains(&purpose) {
                    return Err(format!("is not for this purpose (no {name} extended key usage)"));
                }
            }
            Role::Issuer { below } => {
                let Some(c) = constraints.filter(|c| c.ca) else {
                    return Err("is not a certificate authority (no basic constraints CA:TRUE), yet issued a certificate of the path".into());
                };
                if !usage.is_some_and(|u| u.key_cert_sign()) {
                    return Err(
                        "does not allow keyCertSign in its key usage, yet issued a certificate of the path".into()
                    );
                }
                if let Some(max) = c.path_len_constraint {
                    if below > max as usize {
                        return Err(format!(
                            "allows {max} intermediate CA(s) below it (path length), and the path has {below}"
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// The DER of the issuer name and the serial number's bytes (how CMS names a signer).
    pub(crate) fn issuer_and_serial(&self) -> (Vec<u8>, Vec<u8>) {
        (self.issuer_der(), self.cert.tbs_certificate.serial_number.as_bytes().to_vec())
    }

    /// Whether this certificate's key made `signature` (ECDSA, hashed as `alg` says) over
    /// `message`.
    pub(crate) fn verifies(&self, alg: &ObjectIdentifier, message: &[u8], signature: &[u8]) -> bool {
        verify_ecdsa(&self.cert.tbs_certificate.subject_public_key_info, *alg, message, signature)
    }

    /// A one-line description for messages: the first identity, else the subject.
    pub fn describe(&self) -> String {
        self.identities().into_iter().next().unwrap_or_else(|| self.cert.tbs_certificate.subject.to_string())
    }
}

/// Whether `issuers` (nearest first) certify `leaf` at `t`: each link signed by the next
/// certificate, every issuer valid at `t`. An empty list certifies nothing.
pub(crate) fn chain_holds(leaf: &Cert, issuers: &[Cert], t: i64) -> bool {
    let mut child = leaf;
    for parent in issuers {
        if !child.is_signed_by(parent) || t < parent.not_before || t > parent.not_after {
            return false;
        }
        child = parent;
    }
    !issuers.is_empty()
}

/// Verifies an ECDSA signature (ASN.1 DER) by the key `spki` over `message`, hashed as `alg`
/// says (`ecdsa-with-SHA256` / `-SHA384`).
fn verify_ecdsa(spki: &SubjectPublicKeyInfoOwned, alg: ObjectIdentifier, message: &[u8], signature: &[u8]) -> bool {
    use ring::signature as s;
    if spki.algorithm.oid != EC_PUBLIC_KEY {
        return false;
    }
    let curve = spki.algorithm.parameters.as_ref().and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    let algorithm: &dyn s::VerificationAlgorithm = match (curve, alg) {
        (Some(P256), ECDSA_SHA256) => &s::ECDSA_P256_SHA256_ASN1,
        (Some(P256), ECDSA_SHA384) => &s::ECDSA_P256_SHA384_ASN1,
        (Some(P384), ECDSA_SHA256) => &s::ECDSA_P384_SHA256_ASN1,
        (Some(P384), ECDSA_SHA384) => &s::ECDSA_P384_SHA384_ASN1,
        _ => return false,
    };
    let Some(point) = spki.subject_public_key.as_bytes() else { return false };
    s::UnparsedPublicKey::new(algorithm, point).verify(message, signature).is_ok()
}

/// Verifies an ECDSA-SHA256 signature by an SPKI DER key (P-256 or P-384): transparency log
/// keys and checkpoint signatures.
pub fn verify_with_spki(spki_der: &[u8], message: &[u8], signature: &[u8]) -> bool {
    match SubjectPublicKeyInfoOwned::from_der(spki_der) {
        Ok(spki) => verify_ecdsa(&spki, ECDSA_SHA256, message, signature),
        Err(_) => false,
    }
}
