//! `index.json`: what an installer needs to pick, fetch and check the right archive.
//!
//! A projection of the manifest: one entry per platform with file, size, sha256 and the
//! binaries inside. Paths are relative to the directory holding `index.json`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::manifest::{ArtifactKind, Manifest};
use crate::types::{ArchiveFormat, Channel, Sha256};

pub const INDEX_FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Index {
    pub format_version: u32,
    pub name: String,
    pub version: String,
    pub channel: Channel,
    pub commit: String,
    /// File name of the checksums file, relative to the index.
    pub checksums: String,
    pub platforms: Vec<Platform>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Platform {
    /// Target triple, e.g. `x86_64-unknown-linux-gnu`.
    pub target: String,
    /// Operating system (`linux`, `macos`, `windows`, ...), derived from the target.
    pub os: String,
    /// CPU architecture (`x86_64`, `aarch64`, ...), derived from the target.
    pub arch: String,
    pub format: ArchiveFormat,
    /// Archive file name, relative to the index.
    pub file: String,
    pub size: u64,
    pub sha256: Sha256,
    /// Binaries inside the archive, by file name.
    pub binaries: Vec<String>,
}

impl Index {
    /// Projects a packaged manifest. Every archive must have its size and digest.
    pub fn from_manifest(m: &Manifest, checksums: &str) -> Result<Index, String> {
        let mut platforms = Vec::new();
        for a in m.artifacts.iter().filter(|a| a.kind == ArtifactKind::Archive) {
            let target = a.target.clone().ok_or_else(|| format!("archive `{}` has no target", a.name))?;
            let (os, arch) = os_arch(&target);
            platforms.push(Platform {
                os,
                arch,
                target,
                format: a
                    .format
                    .or_else(|| ArchiveFormat::from_file_name(&a.name))
                    .ok_or_else(|| format!("archive `{}` has no known format", a.name))?,
                file: a.name.clone(),
                size: a.size.ok_or_else(|| format!("archive `{}` has not been packaged", a.name))?,
                sha256: a.sha256.clone().ok_or_else(|| format!("archive `{}` has not been packaged", a.name))?,
                binaries: a.binaries.clone(),
            });
        }
        Ok(Index {
            format_version: INDEX_FORMAT_VERSION,
            name: m.project.name.clone(),
            version: m.version.clone(),
            channel: m.channel,
            commit: m.commit.clone(),
            checksums: checksums.to_string(),
            platforms,
        })
    }

    /// Parses an index, with a message fit for "`<url>` is not a valid index: ...".
    pub fn from_json(text: &str) -> Result<Index, String> {
        let index: Index = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if index.format_version > INDEX_FORMAT_VERSION {
            return Err(format!(
                "format_version {} is newer than this relman reads ({INDEX_FORMAT_VERSION}); upgrade relman",
                index.format_version
            ));
        }
        Ok(index)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("index serializes") + "\n"
    }

    /// Finds the platform for `target`: the exact triple first, then the same OS and arch.
    pub fn platform_for(&self, target: &str) -> Option<&Platform> {
        if let Some(p) = self.platforms.iter().find(|p| p.target == target) {
            return Some(p);
        }
        let (os, arch) = os_arch(target);
        self.platforms.iter().find(|p| p.os == os && p.arch == arch)
    }
}

/// Splits a target triple into (os, arch) with the names installers use.
pub fn os_arch(target: &str) -> (String, String) {
    let arch = target.split('-').next().unwrap_or("unknown").to_string();
    let os = if target.contains("windows") {
        "windows"
    } else if target.contains("apple-darwin") {
        "macos"
    } else if target.contains("linux") {
        "linux"
    } else if target.contains("freebsd") {
        "freebsd"
    } else {
        target.rsplit('-').next().unwrap_or("unknown")
    };
    (os.to_string(), arch)
}

/// Go's (and Docker's) names for a target's OS and architecture: `x86_64-unknown-linux-gnu` →
/// (`linux`, `amd64`), `aarch64-apple-darwin` → (`darwin`, `arm64`), `armv7-…` → `arm`.
pub fn go_os_arch(target: &str) -> (String, String) {
    let (os, arch) = os_arch(target);
    let goos = match os.as_str() {
        "macos" => "darwin".to_string(),
        _ => os,
    };
    let goarch = match arch.as_str() {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "i686" | "i586" | "i386" => "386",
        "armv7" | "arm" | "armv6" => "arm",
        "riscv64gc" | "riscv64" => "riscv64",
        "powerpc64le" => "ppc64le",
        "powerpc64" => "ppc64",
        "s390x" => "s390x",
        "loongarch64" => "loong64",
        "mips64el" => "mips64le",
        "wasm32" => "wasm",
        other => other,
    };
    (goos, goarch.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_names() {
        assert_eq!(go_os_arch("x86_64-unknown-linux-gnu"), ("linux".into(), "amd64".into()));
        assert_eq!(go_os_arch("aarch64-apple-darwin"), ("darwin".into(), "arm64".into()));
        assert_eq!(go_os_arch("x86_64-pc-windows-msvc"), ("windows".into(), "amd64".into()));
        assert_eq!(go_os_arch("armv7-unknown-linux-gnueabihf"), ("linux".into(), "arm".into()));
    }

    #[test]
    fn os_arch_of_common_triples() {
        assert_eq!(os_arch("x86_64-unknown-linux-gnu"), ("linux".into(), "x86_64".into()));
        assert_eq!(os_arch("aarch64-apple-darwin"), ("macos".into(), "aarch64".into()));
        assert_eq!(os_arch("x86_64-pc-windows-msvc"), ("windows".into(), "x86_64".into()));
    }
}
