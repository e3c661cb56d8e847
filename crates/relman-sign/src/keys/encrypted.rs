//! cosign's encrypted private key body (go-securesystemslib's `encrypted` package).
//!
//! The PEM body is base64 of compact JSON, fields in this order:
//! `{"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},"salt":"<b64>"},
//!   "cipher":{"name":"nacl/secretbox","nonce":"<b64>"},"ciphertext":"<b64>"}`.
//! key = scrypt(passphrase, salt, N, r, p, 32); ciphertext = NaCl secretbox (XSalsa20-Poly1305,
//! 16-byte tag first) of the PKCS#8 DER private key, under that key and the 24-byte nonce.
//!
//! Invariants:
//! * Written with N = 32768, r = 8, p = 1, a fresh 32-byte salt and a fresh nonce: the oldest
//!   readers accept only that.
//! * Read with N ∈ {32768, 65536, 131072}, r = 8, p = 1, checked *before* deriving, so a
//!   hostile file cannot make relman spend gigabytes or minutes (go-securesystemslib refuses the
//!   same way).
//! * A secretbox that does not open means the passphrase is wrong (the tag authenticates the
//!   ciphertext): that is the only way this layer tells a wrong passphrase.
//! * Derived keys and plaintexts are zeroized on drop; no message quotes them.

use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::{Key, Nonce, XSalsa20Poly1305};
use rand_core::{OsRng, RngCore};
use relman_manifest::Failure;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::b64;

/// The PEM label cosign ≥ 2.0.1 writes (and relman writes).
pub const SIGSTORE_LABEL: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
/// The PEM label older cosign versions wrote; still read.
pub const COSIGN_LABEL: &str = "ENCRYPTED COSIGN PRIVATE KEY";

/// The scrypt cost relman writes.
pub const WRITE_SCRYPT_N: u32 = 32_768;
/// Every scrypt cost relman reads (go-securesystemslib's legacy, standard and OWASP values).
pub const READ_SCRYPT_N: [u32; 3] = [32_768, 65_536, 131_072];
const SCRYPT_R: u32 = 8;
const SCRYPT_P: u32 = 1;
const SALT_LEN: usize = 32;
const NONCE_LEN: usize = 24;
const KDF_NAME: &str = "scrypt";
const CIPHER_NAME: &str = "nacl/secretbox";

#[derive(Serialize, Deserialize)]
struct Body {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
struct Kdf {
    name: String,
    params: ScryptParams,
    salt: String,
}

#[derive(Serialize, Deserialize)]
struct ScryptParams {
    #[serde(rename = "N")]
    n: u64,
    r: u64,
    p: u64,
}

#[derive(Serialize, Deserialize)]
struct Cipher {
    name: String,
    nonce: String,
}

/// Fills `buf` from the operating system's random source.
pub(crate) fn random_bytes(buf: &mut [u8]) -> Result<(), Failure> {
    OsRng
        .try_fill_bytes(buf)
        .map_err(|e| Failure::internal(format!("failed to read random bytes from the system: {e}")))
}

/// Encrypts `plaintext` (a PKCS#8 DER key) under `passphrase`; returns the JSON body.
pub(crate) fn encrypt(plaintext: &[u8], passphrase: &[u8]) -> Result<Vec<u8>, Failure> {
    let mut salt = [0u8; SALT_LEN];
    let mut nonce = [0u8; NONCE_LEN];
    random_bytes(&mut salt)?;
    random_bytes(&mut nonce)?;
    encrypt_with(plaintext, passphrase, WRITE_SCRYPT_N, &salt, &nonce)
}

/// [`encrypt`] with every input given, so tests can pin the output and try other costs.
pub(crate) fn encrypt_with(
    plaintext: &[u8],
    passphrase: &[u8],
    n: u32,
    salt: &[u8],
    nonce: &[u8; NONCE_LEN],
) -> Result<Vec<u8>, Failure> {
    let key = derive(passphrase, salt, n).ok_or_else(|| Failure::internal(format!("scrypt refused N = {n}")))?;
    let ciphertext = XSalsa20Poly1305::new(&key)
        .encrypt(Nonce::from_slice(nonce), plaintext)
        .map_err(|_| Failure::internal("failed to encrypt the private key"))?;
    let body = Body {
        kdf: Kdf {
            name: KDF_NAME.into(),
            params: ScryptParams { n: n.into(), r: SCRYPT_R.into(), p: SCRYPT_P.into() },
            salt: b64::encode(salt),
        },
        cipher: Cipher { name: CIPHER_NAME.into(), nonce: b64::encode(nonce) },
        ciphertext: b64::encode(&ciphertext),
    };
    serde_json::to_vec(&body).map_err(|e| Failure::internal(format!("failed to encode a key: {e}")))
}

/// Opens the JSON `body` of the key file `origin` with `passphrase`; returns the PKCS#8 DER.
pub(crate) fn decrypt(body: &[u8], passphrase: &[u8], origin: &str) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let corrupt = |what: &str| Failure::config(format!("`{origin}` is not a valid encrypted private key: {what}"));
    let body: Body = serde_json::from_slice(body).map_err(|e| corrupt(&e.to_string()))?;
    if body.kdf.name != KDF_NAME {
        return Err(Failure::config(format!(
            "`{origin}` uses the key derivation `{}`; relman reads `{KDF_NAME}` keys (cosign's)",
            body.kdf.name
        )));
    }
    if body.cipher.name != CIPHER_NAME {
        return Err(Failure::config(format!(
            "`{origin}` uses the cipher `{}`; relman reads `{CIPHER_NAME}` keys (cosign's)",
            body.cipher.name
        )));
    }
    let ScryptParams { n, r, p } = body.kdf.params;
    let Some(n) = accepted_cost(n, r, p) else {
        return Err(Failure::config(format!(
            "`{origin}` has scrypt parameters N = {n}, r = {r}, p = {p}, which relman refuses"
        ))
        .with_hint("cosign's key files use N = 32768, 65536 or 131072 with r = 8 and p = 1"));
    };
    let salt = b64::decode(&body.kdf.salt).ok_or_else(|| corrupt("the salt is not base64"))?;
    let nonce = b64::decode(&body.cipher.nonce).ok_or_else(|| corrupt("the nonce is not base64"))?;
    let nonce: [u8; NONCE_LEN] =
        nonce.try_into().map_err(|_| corrupt(&format!("the nonce is not {NONCE_LEN} bytes long")))?;
    let ciphertext = b64::decode(&body.ciphertext).ok_or_else(|| corrupt("the ciphertext is not base64"))?;
    let key = derive(passphrase, &salt, n).ok_or_else(|| corrupt("bad scrypt cost"))?;
    let plaintext =
        XSalsa20Poly1305::new(&key).decrypt(Nonce::from_slice(&nonce), ciphertext.as_slice()).map_err(|_| {
            Failure::config(format!("wrong passphrase for `{origin}`")).with_hint(
                "the passphrase comes from RELMAN_PASSWORD or COSIGN_PASSWORD, or the prompt; \
                 an empty passphrase is a passphrase too",
            )
        })?;
    Ok(Zeroizing::new(plaintext))
}

/// `N` when (N, r, p) is one of the costs relman reads, checked before any work is done.
fn accepted_cost(n: u64, r: u64, p: u64) -> Option<u32> {
    let n = READ_SCRYPT_N.into_iter().find(|&ok| u64::from(ok) == n)?;
    (r == u64::from(SCRYPT_R) && p == u64::from(SCRYPT_P)).then_some(n)
}

/// scrypt(passphrase, salt, N, 8, 1) → a 32-byte secretbox key; `None` if N is not a power of 2.
fn derive(passphrase: &[u8], salt: &[u8], n: u32) -> Option<Zeroizing<Key>> {
    if !n.is_power_of_two() || n < 2 {
        return None;
    }
    let log_n = n.trailing_zeros() as u8;
    let params = scrypt::Params::new(log_n, SCRYPT_R, SCRYPT_P, 32).ok()?;
    let mut key = Zeroizing::new(Key::default());
    scrypt::scrypt(passphrase, salt, &params, key.as_mut_slice()).ok()?;
    Some(key)
}

#[cfg(test)]
mod tests {
    //! scrypt at cosign's costs takes seconds in an unoptimized build, so these tests derive as
    //! few keys as they can: refusals use a fixture's text and must not derive at all. Decryption (right and wrong
    //! passphrase, both labels) is tested through `SigningKey::from_pem` in `keys/tests.rs`.
    use super::*;
    use relman_manifest::ErrorClass;

    const SALT: [u8; 32] = [7; 32];
    const NONCE: [u8; 24] = [9; 24];

    /// `b"secret der"` encrypted under `b"pw"` at N = 32768.
    fn sample() -> String {
        let body = encrypt_with(b"secret der", b"pw", WRITE_SCRYPT_N, &SALT, &NONCE).unwrap();
        String::from_utf8(body).unwrap()
    }

    /// The JSON body of a key file an independent implementation wrote (tests/fixtures), for
    /// the refusals, which must happen before any derivation.
    fn fixture_body() -> String {
        let text = include_str!("../../tests/fixtures/sigstore-n32768.key");
        let blocks = crate::pem::parse(text).unwrap();
        String::from_utf8(blocks[0].der.to_vec()).unwrap()
    }

    #[test]
    fn body_is_compact_json_in_cosigns_field_order() {
        let salt = b64::encode(&SALT);
        let nonce = b64::encode(&NONCE);
        let prefix = format!(
            r#"{{"kdf":{{"name":"scrypt","params":{{"N":32768,"r":8,"p":1}},"salt":"{salt}"}},"cipher":{{"name":"nacl/secretbox","nonce":"{nonce}"}},"ciphertext":""#
        );
        let sample = sample();
        assert!(sample.starts_with(&prefix), "{sample}");
        // Tag (16 bytes) + plaintext.
        let value: serde_json::Value = serde_json::from_str(&sample).unwrap();
        let ct = b64::decode(value["ciphertext"].as_str().unwrap()).unwrap();
        assert_eq!(ct.len(), 16 + b"secret der".len());
    }

    #[test]
    fn secretbox_matches_pynacl() {
        // Key and nonce from NaCl's tests/secretbox.c; the expected output was computed with
        // PyNaCl 1.6 (`SecretBox(key).encrypt(msg, nonce).ciphertext.hex()`): the 16-byte tag
        // first, then the ciphertext, as cosign's (Go's) secretbox writes it.
        let key = hex::decode("1b27556473e985d462cd51197a9a46c76009549eac6474f206c4ee0844f68389").unwrap();
        let nonce = hex::decode("69696ee955b62b73cd62bda875fc73d68219e0036b7a0b37").unwrap();
        let cipher = XSalsa20Poly1305::new(Key::from_slice(&key));
        let out = cipher.encrypt(Nonce::from_slice(&nonce), &b"relman signs releases"[..]).unwrap();
        assert_eq!(hex::encode(&out), "90d3b5b6036d1b863ab6bb7f6612975842fb08371587c0d564e52ddff9651fd97f7a98e829");
    }

    #[test]
    fn scrypt_matches_rfc7914() {
        // RFC 7914 §12, first vector: P = "", S = "", N = 16, r = 1, p = 1, 64 bytes.
        let params = scrypt::Params::new(4, 1, 1, 64).unwrap();
        let mut out = [0u8; 64];
        scrypt::scrypt(b"", b"", &params, &mut out).unwrap();
        assert_eq!(
            hex::encode(out),
            "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442\
             fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906"
        );
    }

    #[test]
    fn accepted_costs_are_cosigns_three() {
        for n in [32_768, 65_536, 131_072] {
            assert_eq!(accepted_cost(n, 8, 1), Some(n as u32));
        }
        for (n, r, p) in [(16_384, 8, 1), (262_144, 8, 1), (32_768, 16, 1), (32_768, 8, 2), (0, 8, 1)] {
            assert_eq!(accepted_cost(n, r, p), None, "{n} {r} {p}");
        }
    }

    #[test]
    fn refuses_other_costs_before_deriving() {
        for (from, to, expected) in [
            ("\"N\":32768", "\"N\":16384", "N = 16384, r = 8, p = 1"),
            ("\"N\":32768", "\"N\":1073741824", "N = 1073741824, r = 8, p = 1"),
            ("\"r\":8", "\"r\":16", "N = 32768, r = 16, p = 1"),
        ] {
            let text = fixture_body().replace(from, to);
            assert_ne!(text, fixture_body());
            let started = std::time::Instant::now();
            let err = decrypt(text.as_bytes(), b"relman-fixture", "k.key").unwrap_err();
            assert_eq!(err.class, ErrorClass::Config);
            assert!(err.message.contains(expected), "{}", err.message);
            // Refused at once, not after a derivation.
            assert!(started.elapsed().as_millis() < 500, "{:?}", started.elapsed());
        }
    }

    #[test]
    fn refuses_other_algorithms_and_corrupt_bodies() {
        let good = fixture_body();
        let value: serde_json::Value = serde_json::from_str(&good).unwrap();
        let salt = value["kdf"]["salt"].as_str().unwrap();
        let nonce = value["cipher"]["nonce"].as_str().unwrap();
        let cases = [
            (good.replace("\"scrypt\"", "\"argon2\""), "key derivation `argon2`"),
            (good.replace("nacl/secretbox", "aes-gcm"), "cipher `aes-gcm`"),
            (good.replace(nonce, &b64::encode(&[1u8; 12])), "nonce is not 24 bytes"),
            (good.replace(salt, "!!"), "salt is not base64"),
            ("{}".to_string(), "not a valid encrypted private key"),
            ("not json".to_string(), "not a valid encrypted private key"),
        ];
        for (body, expected) in cases {
            let err = decrypt(body.as_bytes(), b"relman-fixture", "k.key").unwrap_err();
            assert_eq!(err.class, ErrorClass::Config);
            assert!(err.message.contains(expected), "{expected}: {}", err.message);
            assert!(err.message.contains("`k.key`"), "{}", err.message);
        }
    }

    #[test]
    fn a_flipped_ciphertext_byte_does_not_open() {
        // What `decrypt` reports as a wrong passphrase: the Poly1305 tag refuses any change.
        let cipher = XSalsa20Poly1305::new(&Key::from([3u8; 32]));
        let nonce = Nonce::from([4u8; 24]);
        let sealed = cipher.encrypt(&nonce, &b"pkcs8 der"[..]).unwrap();
        for i in [0, 16, sealed.len() - 1] {
            let mut tampered = sealed.clone();
            tampered[i] ^= 1;
            assert!(cipher.decrypt(&nonce, tampered.as_slice()).is_err(), "byte {i}");
        }
        assert_eq!(cipher.decrypt(&nonce, sealed.as_slice()).unwrap(), b"pkcs8 der");
    }
}
