//! The package model: what every lockfile reader produces and every SBOM writer consumes.
//!
//! A [`Package`] is one (ecosystem, name, version) with its purl, the checksums and licence the
//! lockfile records, and its dependency edges as purls. An [`Inventory`] is the set for one
//! release (optionally one target): unique by purl, sorted by purl, edges only to packages in
//! the set, so the writers can emit it as is and the same input always gives the same bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use relman_manifest::Failure;

/// Which package ecosystem (and so which purl type) a package belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ecosystem {
    Cargo,
    Npm,
    Pypi,
    Golang,
    /// A Debian package installed in a container image (dpkg's database).
    Deb,
    /// An Alpine package installed in a container image (apk's database).
    Apk,
}

impl Ecosystem {
    /// The purl type: `cargo`, `npm`, `pypi`, `golang`, `deb`, `apk`.
    pub fn purl_type(self) -> &'static str {
        match self {
            Ecosystem::Cargo => "cargo",
            Ecosystem::Npm => "npm",
            Ecosystem::Pypi => "pypi",
            Ecosystem::Golang => "golang",
            Ecosystem::Deb => "deb",
            Ecosystem::Apk => "apk",
        }
    }
}

/// Whether a package is part of the project itself or something it depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// A package of the project (a workspace member, the npm root, a uv editable/virtual
    /// project): a described component, not a dependency.
    Own,
    /// A third-party package the project depends on.
    Dependency,
}

/// A hash algorithm a lockfile records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HashAlg {
    Sha1,
    Sha256,
    Sha512,
}

impl HashAlg {
    /// SPDX 2.3 `checksums[].algorithm`.
    pub fn spdx_name(self) -> &'static str {
        match self {
            HashAlg::Sha1 => "SHA1",
            HashAlg::Sha256 => "SHA256",
            HashAlg::Sha512 => "SHA512",
        }
    }

    /// CycloneDX `hashes[].alg`.
    pub fn cyclonedx_name(self) -> &'static str {
        match self {
            HashAlg::Sha1 => "SHA-1",
            HashAlg::Sha256 => "SHA-256",
            HashAlg::Sha512 => "SHA-512",
        }
    }

    fn hex_len(self) -> usize {
        match self {
            HashAlg::Sha1 => 40,
            HashAlg::Sha256 => 64,
            HashAlg::Sha512 => 128,
        }
    }

    fn from_name(name: &str) -> Option<HashAlg> {
        match name.to_ascii_lowercase().as_str() {
            "sha1" => Some(HashAlg::Sha1),
            "sha256" => Some(HashAlg::Sha256),
            "sha512" => Some(HashAlg::Sha512),
            _ => None,
        }
    }
}

/// A plain file hash (of the package's archive: `.crate`, npm tarball, Python sdist or wheel),
/// as lowercase hex.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Checksum {
    pub alg: HashAlg,
    pub hex: String,
}

impl Checksum {
    /// A checksum from hex text of the right length; `None` otherwise.
    pub fn new(alg: HashAlg, hex: &str) -> Option<Checksum> {
        let hex = hex.trim();
        (hex.len() == alg.hex_len() && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| Checksum { alg, hex: hex.to_ascii_lowercase() })
    }

    /// `sha256:<hex>` as uv.lock and poetry.lock write it.
    pub fn from_prefixed(text: &str) -> Option<Checksum> {
        let (alg, hex) = text.split_once(':')?;
        Checksum::new(HashAlg::from_name(alg)?, hex)
    }

    /// An npm `integrity` value (Subresource Integrity: `sha512-<base64> sha1-<base64>`), each
    /// known algorithm converted to hex. Unknown algorithms and malformed parts are skipped.
    pub fn from_sri(integrity: &str) -> Vec<Checksum> {
        let mut out = Vec::new();
        for part in integrity.split_whitespace() {
            let Some((alg, b64)) = part.split_once('-') else { continue };
            let Some(alg) = HashAlg::from_name(alg) else { continue };
            // SRI allows `?options` after the digest.
            let b64 = b64.split('?').next().unwrap_or_default();
            if let Some(c) = base64_decode(b64).and_then(|bytes| Checksum::new(alg, &to_hex(&bytes))) {
                out.push(c);
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

/// Lowercase hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

/// Standard base64 (with or without `=` padding); `None` on any other character.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let text = text.trim_end_matches('=');
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.as_bytes().chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= value(c)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

/// One distribution file of a Python package (an sdist or a wheel), as the lockfile lists it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Distribution {
    /// The file name, e.g. `idna-3.7-py3-none-any.whl`.
    pub file: String,
    /// Where it is downloaded from, when the lockfile says (uv does, poetry does not).
    pub url: Option<String>,
    pub checksums: Vec<Checksum>,
}

/// One package of the release's dependency graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Package {
    pub ecosystem: Ecosystem,
    pub role: Role,
    pub name: String,
    pub version: String,
    /// The package URL, unique within an [`Inventory`]; also the package's identity.
    pub purl: String,
    /// Where the package's archive is downloaded from, when known (an `https://` URL or a
    /// `git+https://...@<rev>` VCS location).
    pub download_location: Option<String>,
    /// Plain hashes of that archive.
    pub checksums: Vec<Checksum>,
    /// Python: every distribution file the lockfile lists, with its hashes.
    pub distributions: Vec<Distribution>,
    /// The licence as declared (an SPDX expression or free text), when known offline.
    pub license: Option<String>,
    /// Facts without a standard field, e.g. `relman:go.sum:h1` (Go's dirhash of the module zip,
    /// which is not a plain file hash).
    pub properties: BTreeMap<String, String>,
    /// The purls of the packages this one depends on.
    pub dependencies: BTreeSet<String>,
    /// The lockfiles (relative to the project root) that list this package.
    pub lockfiles: BTreeSet<String>,
}

impl Package {
    pub fn new(ecosystem: Ecosystem, role: Role, name: &str, version: &str, purl: String, lockfile: &str) -> Package {
        Package {
            ecosystem,
            role,
            name: name.to_string(),
            version: version.to_string(),
            purl,
            download_location: None,
            checksums: Vec::new(),
            distributions: Vec::new(),
            license: None,
            properties: BTreeMap::new(),
            dependencies: BTreeSet::new(),
            lockfiles: BTreeSet::from([lockfile.to_string()]),
        }
    }

    /// Folds another record of the same purl (from another lockfile) into this one.
    fn merge(&mut self, other: Package) {
        if other.role == Role::Own {
            self.role = Role::Own;
        }
        if self.download_location.is_none() {
            self.download_location = other.download_location;
        }
        if self.license.is_none() {
            self.license = other.license;
        }
        self.checksums.extend(other.checksums);
        self.distributions.extend(other.distributions);
        for (k, v) in other.properties {
            self.properties.entry(k).or_insert(v);
        }
        self.dependencies.extend(other.dependencies);
        self.lockfiles.extend(other.lockfiles);
    }

    fn normalise(&mut self) {
        self.checksums.sort();
        self.checksums.dedup();
        for d in &mut self.distributions {
            d.checksums.sort();
            d.checksums.dedup();
        }
        self.distributions.sort();
        self.distributions.dedup();
    }
}

/// The packages of one release (or one target of it), ready to be written as an SBOM.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inventory {
    /// The target triple the Cargo packages were selected for; `None`: every target.
    pub target: Option<String>,
    /// Unique by purl, sorted by purl; dependency edges point only at packages listed here.
    pub packages: Vec<Package>,
    /// The lockfiles read, relative to the project root, sorted.
    pub lockfiles: Vec<String>,
    /// What the caller should know about how complete the list is (e.g. Cargo packages not
    /// filtered by target because `cargo metadata` could not run offline).
    pub notes: Vec<String>,
}

impl Inventory {
    /// Builds an inventory: packages with the same purl are merged, the result sorted by purl,
    /// and edges to packages not in the set dropped.
    pub fn new(
        target: Option<String>,
        packages: Vec<Package>,
        mut lockfiles: Vec<String>,
        notes: Vec<String>,
    ) -> Inventory {
        let mut by_purl: BTreeMap<String, Package> = BTreeMap::new();
        for p in packages {
            match by_purl.get_mut(&p.purl) {
                Some(existing) => existing.merge(p),
                None => {
                    by_purl.insert(p.purl.clone(), p);
                }
            }
        }
        let known: BTreeSet<String> = by_purl.keys().cloned().collect();
        let packages = by_purl
            .into_values()
            .map(|mut p| {
                p.dependencies.retain(|d| known.contains(d) && *d != p.purl);
                p.normalise();
                p
            })
            .collect();
        lockfiles.sort();
        lockfiles.dedup();
        Inventory { target, packages, lockfiles, notes }
    }

    /// Several inventories as one, e.g. a container image's: the OS packages of its base and
    /// the inventory of the binaries built into it. Packages with the same purl are merged
    /// (edges between parts kept when both ends are listed), lockfiles are the union, notes
    /// are kept in order without repeats; `target` is the merged inventory's.
    pub fn merge(target: Option<String>, parts: impl IntoIterator<Item = Inventory>) -> Inventory {
        let mut packages = Vec::new();
        let mut lockfiles = Vec::new();
        let mut notes: Vec<String> = Vec::new();
        for part in parts {
            packages.extend(part.packages);
            lockfiles.extend(part.lockfiles);
            for n in part.notes {
                if !notes.contains(&n) {
                    notes.push(n);
                }
            }
        }
        Inventory::new(target, packages, lockfiles, notes)
    }

    /// Every package, the project's own included.
    pub fn len(&self) -> usize {
        self.packages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.packages.is_empty()
    }

    /// The third-party packages.
    pub fn dependencies(&self) -> impl Iterator<Item = &Package> {
        self.packages.iter().filter(|p| p.role == Role::Dependency)
    }

    /// The project's own packages (workspace members).
    pub fn own(&self) -> impl Iterator<Item = &Package> {
        self.packages.iter().filter(|p| p.role == Role::Own)
    }

    pub fn get(&self, purl: &str) -> Option<&Package> {
        self.packages.binary_search_by(|p| p.purl.as_str().cmp(purl)).ok().map(|i| &self.packages[i])
    }

    /// An error when the inventory lists no package: an SBOM must not be empty.
    pub fn require_packages(&self, root: &Path) -> Result<(), Failure> {
        if !self.is_empty() {
            return Ok(());
        }
        let read = if self.lockfiles.is_empty() {
            "no lockfile was found".to_string()
        } else {
            format!("read {}", self.lockfiles.join(", "))
        };
        Err(Failure::package(format!("no packages for the SBOM in `{}` ({read})", root.display())).with_hint(
            "commit the project's lockfile (Cargo.lock, package-lock.json, uv.lock, poetry.lock or go.sum) at its root",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_known_vectors() {
        assert_eq!(base64_decode("").unwrap(), b"");
        assert_eq!(base64_decode("Zg==").unwrap(), b"f");
        assert_eq!(base64_decode("Zm8=").unwrap(), b"fo");
        assert_eq!(base64_decode("Zm9v").unwrap(), b"foo");
        assert_eq!(base64_decode("Zm9vYg").unwrap(), b"foob");
        assert!(base64_decode("Zm9v!").is_none());
        assert!(base64_decode("Z").is_none());
    }

    #[test]
    fn sri_integrity_becomes_hex() {
        // sha512 of the empty string, as npm writes it.
        let sri = "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==";
        let c = Checksum::from_sri(sri);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].alg, HashAlg::Sha512);
        assert_eq!(
            c[0].hex,
            "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
        );
        // Two algorithms (sha1 of the empty string too), an unknown one and garbage skipped.
        let c = Checksum::from_sri(&format!(
            "{sri} sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk= md5-1B2M2Y8AsgTpgAmY7PhCfg== sha256-!!"
        ));
        assert_eq!(c.iter().map(|c| c.alg).collect::<Vec<_>>(), [HashAlg::Sha1, HashAlg::Sha512]);
        assert_eq!(c[0].hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    }

    #[test]
    fn prefixed_and_plain_hex() {
        let c =
            Checksum::from_prefixed("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855").unwrap();
        assert_eq!(c.hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert!(Checksum::from_prefixed("sha256:abc").is_none());
        assert!(Checksum::from_prefixed("md5:d41d8cd98f00b204e9800998ecf8427e").is_none());
        assert!(Checksum::new(HashAlg::Sha256, "zz").is_none());
    }

    #[test]
    fn inventory_merges_same_purl_and_drops_dangling_edges() {
        let mut a =
            Package::new(Ecosystem::Pypi, Role::Dependency, "idna", "3.7", "pkg:pypi/idna@3.7".into(), "a/poetry.lock");
        a.checksums.push(Checksum::new(HashAlg::Sha256, &"a".repeat(64)).unwrap());
        a.dependencies.insert("pkg:pypi/missing@1".into());
        let mut b = a.clone();
        b.lockfiles = BTreeSet::from(["b/poetry.lock".to_string()]);
        b.license = Some("BSD-3-Clause".into());
        let c = Package::new(Ecosystem::Pypi, Role::Own, "app", "1.0", "pkg:pypi/app@1.0".into(), "a/poetry.lock");
        let inv = Inventory::new(None, vec![c, a, b], vec!["b".into(), "a".into(), "a".into()], vec![]);
        assert_eq!(inv.len(), 2);
        assert_eq!(inv.packages[0].purl, "pkg:pypi/app@1.0");
        let idna = inv.get("pkg:pypi/idna@3.7").unwrap();
        assert_eq!(idna.checksums.len(), 1, "the same hash twice is kept once");
        assert_eq!(idna.license.as_deref(), Some("BSD-3-Clause"));
        assert_eq!(idna.lockfiles.len(), 2);
        assert!(idna.dependencies.is_empty(), "an edge to a package not in the set is dropped");
        assert_eq!(inv.lockfiles, ["a", "b"]);
        assert_eq!(inv.own().count(), 1);
        assert_eq!(inv.dependencies().count(), 1);
    }
}
