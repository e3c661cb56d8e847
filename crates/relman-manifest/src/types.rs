//! Small domain types: digests, channels, archive formats.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

/// A SHA-256 digest as 64 lowercase hex characters.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Sha256(#[schemars(regex(pattern = r"^[0-9a-f]{64}$"))] String);

impl Sha256 {
    /// Parses 64 hex characters (either case); `None` otherwise.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            Some(Self(s.to_ascii_lowercase()))
        } else {
            None
        }
    }

    /// Builds a digest from raw bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(64);
        for b in bytes {
            s.push(HEX[(b >> 4) as usize] as char);
            s.push(HEX[(b & 15) as usize] as char);
        }
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 hex characters, for messages.
    pub fn short(&self) -> &str {
        &self.0[..12]
    }
}

impl<'de> Deserialize<'de> for Sha256 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Sha256::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not a sha256 hex digest")))
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.0)
    }
}

/// Release channel: stable versions move `latest`; pre-releases never do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Channel {
    Stable,
    Prerelease,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Stable => "stable",
            Channel::Prerelease => "prerelease",
        }
    }
}

/// Archive container and compression.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ArchiveFormat {
    #[serde(rename = "tar.gz")]
    TarGz,
    #[serde(rename = "tar.zst")]
    TarZst,
    #[serde(rename = "zip")]
    Zip,
}

impl ArchiveFormat {
    /// File-name extension without the leading dot.
    pub fn extension(self) -> &'static str {
        match self {
            ArchiveFormat::TarGz => "tar.gz",
            ArchiveFormat::TarZst => "tar.zst",
            ArchiveFormat::Zip => "zip",
        }
    }

    /// Guesses the format from a file name.
    pub fn from_file_name(name: &str) -> Option<Self> {
        if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
            Some(Self::TarGz)
        } else if name.ends_with(".tar.zst") || name.ends_with(".tzst") {
            Some(Self::TarZst)
        } else if name.ends_with(".zip") {
            Some(Self::Zip)
        } else {
            None
        }
    }
}

impl fmt::Display for ArchiveFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_parse_normalises_case_and_rejects_junk() {
        let upper = "A".repeat(64);
        assert_eq!(Sha256::parse(&upper).unwrap().as_str(), "a".repeat(64));
        assert!(Sha256::parse("abc").is_none());
        assert!(Sha256::parse(&"g".repeat(64)).is_none());
        let from = Sha256::from_bytes(&[0xab; 32]);
        assert_eq!(from.as_str(), "ab".repeat(32));
    }

    #[test]
    fn archive_format_from_name() {
        assert_eq!(ArchiveFormat::from_file_name("a-1-x.tar.gz"), Some(ArchiveFormat::TarGz));
        assert_eq!(ArchiveFormat::from_file_name("a.zip"), Some(ArchiveFormat::Zip));
        assert_eq!(ArchiveFormat::from_file_name("a.tar.zst"), Some(ArchiveFormat::TarZst));
        assert_eq!(ArchiveFormat::from_file_name("a.txt"), None);
    }
}
