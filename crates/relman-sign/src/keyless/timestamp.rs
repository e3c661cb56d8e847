//! RFC 3161 signed timestamps: a bundle's `timestampVerificationData.rfc3161Timestamps`, the
//! signed time of a keyless signature when its log entry carries no signed entry timestamp
//! (Rekor v2 writes none).
//!
//! A timestamp counts when (as sigstore-js and sigstore-go check it):
//! * it is a granted `TimeStampResp` (or a bare `TimeStampToken`): CMS `SignedData` whose
//!   encapsulated content is a `TSTInfo`;
//! * the `TSTInfo` message imprint is the hash of the signature bytes it stamps;
//! * the signer's signed attributes carry the hash of that `TSTInfo` (`messageDigest`), and
//!   the signature over them verifies with the key of a timestamp authority of the trusted root
//!   (its leaf named by the signer's issuer and serial number);
//! * that authority's chain holds at the stamped time under the timestamping policy: leaf with
//!   the timeStamping extended key usage, issuers CAs ([`super::cert::Cert::check_policy`]).
//!
//! The stamped time (`genTime`) is what the certificate's validity is checked against.

use cms::cert::IssuerAndSerialNumber;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier};
use x509_cert::der::asn1::{Any, GeneralizedTime, Int, ObjectIdentifier, OctetString};
use x509_cert::der::{Decode, Encode, Reader, SliceReader, Tagged};
use x509_cert::spki::AlgorithmIdentifierOwned;

use super::cert::{chain_holds, Cert, Role};
use super::trust::CertificateAuthority;

const SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");

fn digest(alg: &ObjectIdentifier, data: &[u8]) -> Option<Vec<u8>> {
    let alg = match *alg {
        SHA256 => &ring::digest::SHA256,
        SHA384 => &ring::digest::SHA384,
        SHA512 => &ring::digest::SHA512,
        _ => return None,
    };
    Some(ring::digest::digest(alg, data).as_ref().to_vec())
}

/// The token from a `TimeStampResp` (status granted) or a bare `TimeStampToken`.
fn token(der: &[u8]) -> Result<ContentInfo, String> {
    if let Ok(ci) = ContentInfo::from_der(der) {
        return Ok(ci);
    }
    let mut r = SliceReader::new(der).map_err(|e| format!("is not DER: {e}"))?;
    let (status, token) = r
        .sequence(|r| {
            let status: Any = r.decode()?;
            let token: Option<ContentInfo> = r.decode()?;
            Ok((status, token))
        })
        .map_err(|e| format!("is neither a TimeStampResp nor a TimeStampToken: {e}"))?;
    let mut s = SliceReader::new(status.value()).map_err(|e| e.to_string())?;
    let granted: Int = s.decode().map_err(|e| format!("has an unreadable status: {e}"))?;
    if !matches!(granted.as_bytes(), [0] | [1]) {
        return Err("is a refused timestamp response (status not granted)".into());
    }
    token.ok_or_else(|| "is a timestamp response without a token".to_string())
}

/// The fields of `TSTInfo` a verifier needs: the message imprint and the time.
struct TstInfo {
    imprint_alg: ObjectIdentifier,
    imprint: Vec<u8>,
    gen_time: i64,
}

fn tst_info(der: &[u8]) -> Result<TstInfo, String> {
    let mut r = SliceReader::new(der).map_err(|e| e.to_string())?;
    r.sequence(|r| {
        let _version: Int = r.decode()?;
        let _policy: ObjectIdentifier = r.decode()?;
        let (alg, imprint) = r.sequence(|r| {
            let alg: AlgorithmIdentifierOwned = r.decode()?;
            let hashed: OctetString = r.decode()?;
            Ok((alg.oid, hashed.as_bytes().to_vec()))
        })?;
        let _serial: Int = r.decode()?;
        let time: Any = r.decode()?;
        // accuracy, ordering, nonce, tsa, extensions: not needed.
        let rest = r.remaining_len();
        r.read_slice(rest)?;
        Ok((alg, imprint, time))
    })
    .map_err(|e| format!("has an unreadable TSTInfo: {e}"))
    .and_then(|(imprint_alg, imprint, time)| {
        let gen_time = generalized_time(&time).ok_or("has a TSTInfo whose genTime is not a GeneralizedTime")?;
        Ok(TstInfo { imprint_alg, imprint, gen_time })
    })
}

/// `YYYYMMDDHHMMSS[.f*]Z` (RFC 3161 allows fractions of a second, which `der`'s type refuses),
/// as whole seconds since the epoch.
fn generalized_time(any: &Any) -> Option<i64> {
    if any.tag() != x509_cert::der::Tag::GeneralizedTime {
        return None;
    }
    let text = std::str::from_utf8(any.value()).ok()?.strip_suffix('Z')?;
    let whole =
        text.split_once('.').map_or(text, |(w, frac)| if frac.bytes().all(|b| b.is_ascii_digit()) { w } else { "" });
    if whole.len() != 14 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| whole[r].parse::<u32>().ok();
    let dt = GeneralizedTime::from_date_time(
        x509_cert::der::DateTime::new(
            n(0..4)? as u16,
            n(4..6)? as u8,
            n(6..8)? as u8,
            n(8..10)? as u8,
            n(10..12)? as u8,
            n(12..14)? as u8,
        )
        .ok()?,
    );
    Some(dt.to_unix_duration().as_secs() as i64)
}

/// Verifies one RFC 3161 timestamp (DER) over `signature` against the trusted root's timestamp
/// authorities; returns the stamped time (seconds since the epoch). The error says why not.
pub fn verify(der: &[u8], signature: &[u8], authorities: &[CertificateAuthority]) -> Result<i64, String> {
    let ci = token(der)?;
    if ci.content_type != SIGNED_DATA {
        return Err(format!("holds content of type {}, not CMS SignedData", ci.content_type));
    }
    let sd: SignedData = ci.content.decode_as().map_err(|e| format!("holds unreadable SignedData: {e}"))?;
    if sd.encap_content_info.econtent_type != TST_INFO {
        return Err(format!("encapsulates {}, not a TSTInfo", sd.encap_content_info.econtent_type));
    }
    let econtent = sd.encap_content_info.econtent.as_ref().ok_or("encapsulates no TSTInfo")?;
    let tst_der = econtent.decode_as::<OctetString>().map_err(|e| format!("has an unreadable TSTInfo: {e}"))?;
    let tst_der = tst_der.as_bytes();
    let tst = tst_info(tst_der)?;
    if digest(&tst.imprint_alg, signature).as_deref() != Some(&tst.imprint[..]) {
        return Err("stamps other bytes than this signature (message imprint)".into());
    }
    let [si] = sd.signer_infos.0.as_slice() else {
        return Err("has not exactly one signer".into());
    };
    let attrs = si.signed_attrs.as_ref().ok_or("has no signed attributes")?;
    let recorded = attrs
        .iter()
        .find(|a| a.oid == MESSAGE_DIGEST)
        .and_then(|a| a.values.iter().next())
        .and_then(|v| v.decode_as::<OctetString>().ok())
        .ok_or("has no messageDigest attribute")?;
    if digest(&si.digest_alg.oid, tst_der).as_deref() != Some(recorded.as_bytes()) {
        return Err("signs another TSTInfo than the one it holds (messageDigest)".into());
    }
    let signed = attrs.to_der().map_err(|e| format!("has signed attributes that do not encode: {e}"))?;
    let sig = si.signature.as_bytes();
    let named = |leaf: &Cert| match &si.sid {
        SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber { issuer, serial_number }) => {
            leaf.issuer_and_serial() == (issuer.to_der().unwrap_or_default(), serial_number.as_bytes().to_vec())
        }
        SignerIdentifier::SubjectKeyIdentifier(_) => true,
    };
    let t = tst.gen_time;
    let mut why = "was not made by a timestamp authority of the trusted root".to_string();
    for tsa in authorities {
        if !tsa.valid_at(t) {
            continue;
        }
        let Ok(chain) = tsa.chain.iter().map(|d| Cert::parse(d, "trusted root")).collect::<Result<Vec<_>, _>>() else {
            continue;
        };
        let Some((leaf, issuers)) = chain.split_first() else { continue };
        if !named(leaf) || !leaf.verifies(&si.signature_algorithm.oid, &signed, sig) {
            continue;
        }
        if t < leaf.not_before || t > leaf.not_after {
            why = format!("was stamped at {t}, outside its authority's certificate validity");
            continue;
        }
        // A timestamp authority given as its signing certificate alone is trusted as it is.
        if !issuers.is_empty() && !chain_holds(leaf, issuers, t) {
            why = "has an authority whose chain does not hold at the stamped time".into();
            continue;
        }
        let policy = leaf.check_policy(Role::TimestampLeaf).and_then(|()| {
            issuers.iter().enumerate().try_for_each(|(below, c)| c.check_policy(Role::Issuer { below }))
        });
        match policy {
            Ok(()) => return Ok(t),
            Err(e) => why = format!("has an authority certificate that {e}"),
        }
    }
    Err(why)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gt(text: &str) -> Any {
        Any::new(x509_cert::der::Tag::GeneralizedTime, text.as_bytes()).unwrap()
    }

    #[test]
    fn generalized_times_with_and_without_fractions() {
        assert_eq!(generalized_time(&gt("20261208003512Z")), Some(1796690112));
        assert_eq!(generalized_time(&gt("20261208003512.123Z")), Some(1796690112));
        assert_eq!(generalized_time(&gt("20261208003512")), None);
        assert_eq!(generalized_time(&gt("2026120800351Z")), None);
        assert_eq!(generalized_time(&gt("20261308003512Z")), None);
        assert_eq!(generalized_time(&gt("20261208003512.1xZ")), None);
        let utc = Any::new(x509_cert::der::Tag::UtcTime, b"261208003512Z".as_slice()).unwrap();
        assert_eq!(generalized_time(&utc), None);
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        assert!(verify(b"\x30\x03\x02\x01\x02", b"sig", &[]).is_err());
        assert!(verify(b"not der", b"sig", &[]).is_err());
    }
}
