//! `sha256:<hex>` digests.

use std::fmt;
use std::io::{self, Read};
use std::path::Path;

use relman_manifest::hash::{sha256_raw, Hasher};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A content digest. Only sha256 is produced; other algorithms are refused when parsed.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest {
    hex: String,
}

impl Digest {
    /// Parses `sha256:<64 lowercase hex>`.
    pub fn parse(text: &str) -> Result<Digest, String> {
        let Some(hex) = text.strip_prefix("sha256:") else {
            return Err(format!("`{text}` is not a sha256 digest (expected sha256:<64 hex digits>)"));
        };
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(format!("`{text}` is not a sha256 digest (expected sha256:<64 hex digits>)"));
        }
        Ok(Digest { hex: hex.to_string() })
    }

    pub fn from_hex(hex: &str) -> Result<Digest, String> {
        Digest::parse(&format!("sha256:{hex}"))
    }

    pub fn of(bytes: &[u8]) -> Digest {
        Digest { hex: hex::encode(sha256_raw(bytes)) }
    }

    pub fn from_sha256(hasher: Hasher) -> Digest {
        Digest { hex: hex::encode(hasher.finish_bytes()) }
    }

    /// Hashes a file, streaming; returns the digest and size.
    pub fn of_file(path: &Path) -> io::Result<(Digest, u64)> {
        let mut file = std::fs::File::open(path)?;
        let mut hasher = Hasher::new();
        let mut buf = vec![0u8; 128 * 1024];
        let mut size = 0u64;
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            size += n as u64;
        }
        Ok((Digest::from_sha256(hasher), size))
    }

    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// cosign's tag for things attached to this digest: `sha256-<hex>` (+ `.sig`, `.att`).
    pub fn tag_prefix(&self) -> String {
        format!("sha256-{}", self.hex)
    }

    /// The first 12 hex digits, for humans.
    pub fn short(&self) -> &str {
        &self.hex[..12]
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Digest::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_json_digest() {
        assert_eq!(Digest::of(b"{}").to_string(), crate::media::EMPTY_JSON_DIGEST);
    }

    #[test]
    fn refuses_other_algorithms_and_bad_hex() {
        assert!(Digest::parse("sha512:00").is_err());
        assert!(Digest::parse("sha256:ABCDEF").is_err());
        assert!(Digest::parse(&format!("sha256:{}", "A".repeat(64))).is_err());
        assert!(Digest::parse(&format!("sha256:{}", "a".repeat(64))).is_ok());
    }
}
