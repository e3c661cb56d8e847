//! The OS packages of a container image, read from its layers: the distribution from
//! os-release, the packages from dpkg's database (`/var/lib/dpkg/status`, and distroless's
//! `/var/lib/dpkg/status.d/<package>`, one stanza per file) or apk's
//! (`/lib/apk/db/installed`), with dependency edges between them.
//!
//! Each package is a [`Package`] of ecosystem `Deb` or `Apk` (role `Dependency`), its purl
//! `pkg:deb/<ID>/<name>@<version>?arch=<arch>&distro=<ID>-<VERSION_ID>` (or `pkg:apk/...`),
//! its "lockfile" the database path in the image. dpkg records no licence (`NOASSERTION`);
//! apk's `L:` is the declared licence. The source package (dpkg `Source`, apk `o:`) is a
//! property. [`image_inventory`] merges the result with the binaries' own inventory into the
//! one [`Inventory`] the image's SPDX and CycloneDX documents are written from.

use std::collections::{BTreeMap, HashMap};

use relman_manifest::Failure;

use super::layers::{ImageFiles, LayerFile};
use super::model::{Ecosystem, Inventory, Package, Role};
use super::purl;

/// dpkg's database of installed packages.
pub const DPKG_STATUS: &str = "/var/lib/dpkg/status";
/// distroless's dpkg database: one file per package.
pub const DPKG_STATUS_D: &str = "/var/lib/dpkg/status.d";
/// apk's database of installed packages (apk-tools 3 may keep it under `/usr/lib`).
pub const APK_INSTALLED: [&str; 2] = ["/lib/apk/db/installed", "/usr/lib/apk/db/installed"];
/// os-release, in the order the os-release specification says to look.
pub const OS_RELEASE: [&str; 2] = ["/etc/os-release", "/usr/lib/os-release"];

/// The `Source` of a dpkg package (the source package it was built from).
pub const DEB_SOURCE_PROPERTY: &str = "relman:deb:source";
/// The source package's version, when it differs from the binary package's.
pub const DEB_SOURCE_VERSION_PROPERTY: &str = "relman:deb:source-version";
/// The `o:` (origin: the aport it was built from) of an apk package.
pub const APK_ORIGIN_PROPERTY: &str = "relman:apk:origin";

/// The distribution an image is based on, from its os-release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Distro {
    /// `ID`, lowercase, e.g. `debian`, `ubuntu`, `alpine`: the purls' namespace.
    pub id: String,
    /// `VERSION_ID`, e.g. `12`, `22.04`, `3.19.1`; testing and rolling releases have none.
    pub version_id: Option<String>,
    /// `PRETTY_NAME`, e.g. `Debian GNU/Linux 12 (bookworm)`.
    pub pretty_name: Option<String>,
}

impl Distro {
    /// The purls' `distro` qualifier: `<ID>-<VERSION_ID>` (`debian-12`), or `<ID>` alone.
    pub fn qualifier(&self) -> String {
        match &self.version_id {
            Some(v) => format!("{}-{v}", self.id),
            None => self.id.clone(),
        }
    }

    /// Parses os-release text (`KEY=value` lines, values optionally quoted shell-style);
    /// `None` without an `ID`.
    pub fn parse(text: &str) -> Option<Distro> {
        let fields = os_release_fields(text);
        let get = |k: &str| fields.get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        Some(Distro { id: get("ID")?.to_lowercase(), version_id: get("VERSION_ID"), pretty_name: get("PRETTY_NAME") })
    }
}

/// The OS packages of an image.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OsInventory {
    /// From `/etc/os-release` (else `/usr/lib/os-release`); `None` when the image has neither.
    pub distro: Option<Distro>,
    /// Unique by purl, sorted by purl; edges only to packages listed here.
    pub packages: Vec<Package>,
}

impl OsInventory {
    /// The package databases the packages were read from (paths in the image), sorted.
    pub fn databases(&self) -> Vec<String> {
        let mut dbs: Vec<String> = self.packages.iter().flat_map(|p| p.lockfiles.iter().cloned()).collect();
        dbs.sort();
        dbs.dedup();
        dbs
    }

    /// As an [`Inventory`] of its own: lockfiles are the database paths, the notes say which
    /// distribution it is (or that the image has no os-release or no package database).
    pub fn into_inventory(self) -> Inventory {
        let lockfiles = self.databases();
        let mut notes = Vec::new();
        match &self.distro {
            Some(d) => notes.push(format!(
                "OS packages of the image's base, {} (distro {}), read from its package database in the image layers.",
                d.pretty_name.as_deref().unwrap_or(&d.id),
                d.qualifier()
            )),
            None if !self.packages.is_empty() => notes.push(
                "The image has no os-release: its OS packages' purls have no vendor namespace and no distro qualifier."
                    .to_string(),
            ),
            None => {}
        }
        if self.packages.is_empty() {
            notes.push(
                "The image has no OS package database (dpkg or apk): its base lists no OS packages (distroless static, scratch or an unsupported distribution)."
                    .to_string(),
            );
        }
        Inventory::new(None, self.packages, lockfiles, notes)
    }
}

/// One inventory for a container image: the OS packages of its base and the inventory of the
/// binaries built into it (from [`super::collect`]), with the binaries' target. Write it with
/// [`super::spdx_json`] and [`super::cyclonedx_json`].
pub fn image_inventory(os: OsInventory, binaries: Inventory) -> Inventory {
    let target = binaries.target.clone();
    Inventory::merge(target, [os.into_inventory(), binaries])
}

/// Reads the OS packages of the image made of `layers` (base first), streaming each layer
/// once and keeping only os-release and the package databases. A layer that is not a tar
/// archive in its media type's compression is a package error naming the layer file.
pub fn os_packages(layers: &[LayerFile]) -> Result<OsInventory, Failure> {
    let files = ImageFiles::read(layers)?;
    let distro = OS_RELEASE.iter().find_map(|p| files.file(p)).and_then(|t| Distro::parse(&String::from_utf8_lossy(t)));

    let mut debs: Vec<DebRecord> = Vec::new();
    if let Some(text) = files.file(DPKG_STATUS) {
        debs.extend(parse_dpkg(&String::from_utf8_lossy(text), DPKG_STATUS, true)?);
    }
    for (name, text) in files.dir_files(DPKG_STATUS_D) {
        let db = format!("{DPKG_STATUS_D}/{name}");
        // distroless writes the control fields only: a file there is an installed package.
        debs.extend(parse_dpkg(&String::from_utf8_lossy(text), &db, false)?);
    }
    let mut apks: Vec<ApkRecord> = Vec::new();
    if let Some((db, text)) = APK_INSTALLED.iter().find_map(|p| files.file(p).map(|t| (*p, t))) {
        apks.extend(parse_apk(&String::from_utf8_lossy(text), db)?);
    }

    let vendor = distro.as_ref().map(|d| d.id.as_str());
    let qualifier = distro.as_ref().map(Distro::qualifier);
    let mut packages = deb_packages(debs, vendor, qualifier.as_deref());
    packages.extend(apk_packages(apks, vendor, qualifier.as_deref()));
    let packages = Inventory::new(None, packages, Vec::new(), Vec::new()).packages;
    Ok(OsInventory { distro, packages })
}

/// os-release's `KEY=value` pairs. Values may be in double quotes (with `\"`, `\\`, `\$`,
/// `` \` `` escapes) or single quotes; comments and malformed lines are skipped.
fn os_release_fields(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, raw)) = line.split_once('=') else { continue };
        let key = key.trim();
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            continue;
        }
        let raw = raw.trim();
        let value = if let Some(inner) = raw.strip_prefix('"') {
            let mut v = String::new();
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => match chars.next() {
                        Some(e @ ('"' | '\\' | '$' | '`')) => v.push(e),
                        Some(e) => {
                            v.push('\\');
                            v.push(e);
                        }
                        None => {}
                    },
                    c => v.push(c),
                }
            }
            v
        } else if let Some(inner) = raw.strip_prefix('\'') {
            inner.split('\'').next().unwrap_or_default().to_string()
        } else {
            raw.to_string()
        };
        out.insert(key.to_string(), value);
    }
    out
}

/// One installed dpkg package.
#[derive(Debug)]
struct DebRecord {
    name: String,
    version: String,
    arch: String,
    source: Option<(String, Option<String>)>,
    /// `Pre-Depends` and `Depends`: groups of alternatives, each a package name.
    depends: Vec<Vec<String>>,
    provides: Vec<String>,
    db: String,
}

/// A dependency or `Provides` item's package name: `libc6:amd64 (>= 2.34) [linux-any] <!nocheck>`
/// → `libc6` (an architecture qualifier such as `:any` dropped).
fn relation_name(item: &str) -> Option<String> {
    let name = item.trim().split([' ', '(', '[', '<', '\t']).next()?.trim();
    let name = name.split(':').next().unwrap_or(name);
    (!name.is_empty()).then(|| name.to_ascii_lowercase())
}

fn relations(value: &str) -> Vec<Vec<String>> {
    value
        .split(',')
        .map(|group| group.split('|').filter_map(relation_name).collect::<Vec<_>>())
        .filter(|g| !g.is_empty())
        .collect()
}

/// The stanzas of a dpkg database (`Field: value` lines, continuation lines starting with a
/// space or tab, stanzas separated by blank lines). Only installed packages are kept: those
/// whose `Status` says `installed` (dpkg's own test; `install ok installed`, or `hold ok
/// installed` for a held package). `require_status: false` (distroless's `status.d`) keeps a
/// stanza without `Status` too.
fn parse_dpkg(text: &str, db: &str, require_status: bool) -> Result<Vec<DebRecord>, Failure> {
    let field = |line: &str| line.split_once(':').map(|(k, v)| (k.trim().to_string(), v.trim().to_string()));
    let mut out = Vec::new();
    for (start, fields) in stanzas(text, db, "dpkg", "a `Field: value`", true, field)? {
        if let Some(r) = dpkg_record(&fields, db, require_status).map_err(|w| invalid_db("dpkg", db, start, &w))? {
            out.push(r);
        }
    }
    Ok(out)
}

/// A package database's records: blocks of lines separated by blank lines, each line parsed
/// by `field` (a line it refuses is an error naming its number, `shape` saying what was
/// expected), with `continuation` lines (starting with a space or tab) appended to the field
/// before. Returns each record's first line number and its fields.
fn stanzas<K>(
    text: &str,
    db: &str,
    kind: &str,
    shape: &str,
    continuation: bool,
    field: impl Fn(&str) -> Option<(K, String)>,
) -> Result<Vec<Stanza<K>>, Failure> {
    let mut out = Vec::new();
    let mut fields: Vec<(K, String)> = Vec::new();
    let mut start = 1;
    for (i, line) in text.lines().chain(std::iter::once("")).enumerate() {
        if line.trim().is_empty() {
            if !fields.is_empty() {
                out.push((start, std::mem::take(&mut fields)));
            }
            start = i + 2;
            continue;
        }
        if continuation && line.starts_with([' ', '\t']) {
            let Some((_, value)) = fields.last_mut() else {
                return Err(invalid_db(kind, db, i + 1, "a continuation line before any field"));
            };
            value.push('\n');
            value.push_str(line.trim());
            continue;
        }
        let Some(f) = field(line) else {
            let shown: String = line.chars().take(60).collect();
            return Err(invalid_db(kind, db, i + 1, &format!("`{shown}` is not {shape} line")));
        };
        fields.push(f);
    }
    Ok(out)
}

/// A record's first line number and its fields.
type Stanza<K> = (usize, Vec<(K, String)>);

fn invalid_db(kind: &str, db: &str, line: usize, what: &str) -> Failure {
    Failure::package(format!("invalid {kind} database `{db}` in the image, line {line}: {what}"))
        .with_hint("the base image's package database is damaged; rebuild or re-pull the base image")
}

fn dpkg_record(fields: &[(String, String)], db: &str, require_status: bool) -> Result<Option<DebRecord>, String> {
    let get = |k: &str| fields.iter().find(|(f, _)| f.eq_ignore_ascii_case(k)).map(|(_, v)| v.trim());
    let Some(name) = get("Package").filter(|n| !n.is_empty()) else {
        return Err("a stanza without `Package`".to_string());
    };
    match get("Status") {
        Some(status) if status.split_whitespace().nth(2) != Some("installed") => return Ok(None),
        None if require_status => return Ok(None),
        _ => {}
    }
    let Some(version) = get("Version").filter(|v| !v.is_empty()) else {
        return Err(format!("installed package `{name}` has no `Version`"));
    };
    let source = get("Source").filter(|s| !s.is_empty()).map(|s| {
        // `Source: glibc` or `Source: bash (5.2.15-2)` when the versions differ.
        match s.split_once('(') {
            Some((n, v)) => (n.trim().to_string(), Some(v.trim_end_matches(')').trim().to_string())),
            None => (s.to_string(), None),
        }
    });
    let mut depends = Vec::new();
    for key in ["Pre-Depends", "Depends"] {
        if let Some(v) = get(key) {
            depends.extend(relations(v));
        }
    }
    Ok(Some(DebRecord {
        name: name.to_string(),
        version: version.to_string(),
        arch: get("Architecture").unwrap_or_default().to_string(),
        source,
        depends,
        provides: get("Provides").map(relations).unwrap_or_default().into_iter().flatten().collect(),
        db: db.to_string(),
    }))
}

/// Picks, for each dependency group, the first alternative installed (by name, else by
/// `Provides`), preferring the depending package's architecture, then `all`.
fn resolve_edges<'a>(
    groups: &[Vec<String>],
    arch: &str,
    by_name: &'a HashMap<String, Vec<(String, String)>>,
    provided: &'a HashMap<String, Vec<(String, String)>>,
) -> Vec<String> {
    let mut out = Vec::new();
    for group in groups {
        let pick = group.iter().find_map(|name| {
            let candidates = by_name.get(name).or_else(|| provided.get(name))?;
            candidates
                .iter()
                .find(|(a, _)| a == arch)
                .or_else(|| candidates.iter().find(|(a, _)| a == "all" || a == "noarch"))
                .or_else(|| candidates.first())
                .map(|(_, purl)| purl.clone())
        });
        out.extend(pick);
    }
    out
}

fn index(entries: impl Iterator<Item = (String, String, String)>) -> HashMap<String, Vec<(String, String)>> {
    let mut map: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for (name, arch, purl) in entries {
        map.entry(name).or_default().push((arch, purl));
    }
    for v in map.values_mut() {
        v.sort_by(|a, b| a.1.cmp(&b.1));
        v.dedup();
    }
    map
}

fn deb_packages(records: Vec<DebRecord>, vendor: Option<&str>, distro: Option<&str>) -> Vec<Package> {
    let purls: Vec<String> = records.iter().map(|r| purl::deb(vendor, &r.name, &r.version, &r.arch, distro)).collect();
    let by_name =
        index(records.iter().zip(&purls).map(|(r, p)| (r.name.to_ascii_lowercase(), r.arch.clone(), p.clone())));
    let provided = index(
        records
            .iter()
            .zip(&purls)
            .flat_map(|(r, p)| r.provides.iter().map(move |v| (v.clone(), r.arch.clone(), p.clone()))),
    );
    records
        .iter()
        .zip(&purls)
        .map(|(r, purl)| {
            let mut p = Package::new(Ecosystem::Deb, Role::Dependency, &r.name, &r.version, purl.clone(), &r.db);
            if let Some((source, version)) = &r.source {
                p.properties.insert(DEB_SOURCE_PROPERTY.to_string(), source.clone());
                if let Some(v) = version.as_ref().filter(|v| **v != r.version) {
                    p.properties.insert(DEB_SOURCE_VERSION_PROPERTY.to_string(), v.clone());
                }
            }
            p.dependencies.extend(resolve_edges(&r.depends, &r.arch, &by_name, &provided));
            p
        })
        .collect()
}

/// One installed apk package.
#[derive(Debug)]
struct ApkRecord {
    name: String,
    version: String,
    arch: String,
    license: Option<String>,
    origin: Option<String>,
    /// `D:` items (each its own group): package names, `so:`/`cmd:`/`pc:` names.
    depends: Vec<Vec<String>>,
    provides: Vec<String>,
    db: String,
}

/// `so:libc.musl-x86_64.so.1=1` → `so:libc.musl-x86_64.so.1`; `musl>=1.2` → `musl`.
fn apk_name(item: &str) -> String {
    item.split(['=', '<', '>', '~']).next().unwrap_or(item).trim().to_string()
}

/// apk's installed database: records of `X:value` lines separated by blank lines (`P:` name,
/// `V:` version, `A:` architecture, `L:` licence, `o:` origin, `D:` dependencies, `p:`
/// provides; the file lists that follow are skipped).
fn parse_apk(text: &str, db: &str) -> Result<Vec<ApkRecord>, Failure> {
    let field = |line: &str| {
        let mut chars = line.chars();
        match (chars.next(), chars.next()) {
            (Some(k), Some(':')) if k.is_ascii_alphabetic() => Some((k, chars.as_str().to_string())),
            _ => None,
        }
    };
    let mut out = Vec::new();
    for (start, fields) in stanzas(text, db, "apk", "an `X:value`", false, field)? {
        let get = |k: char| fields.iter().find(|(f, _)| *f == k).map(|(_, v)| v.trim());
        let Some(name) = get('P').filter(|n| !n.is_empty()) else {
            return Err(invalid_db("apk", db, start, "a record without `P:` (package name)"));
        };
        let Some(version) = get('V').filter(|v| !v.is_empty()) else {
            return Err(invalid_db("apk", db, start, &format!("package `{name}` has no `V:` (version)")));
        };
        let items = |k: char| -> Vec<String> {
            get(k)
                .unwrap_or_default()
                .split_whitespace()
                .filter(|d| !d.starts_with('!') && !d.starts_with('/'))
                .map(apk_name)
                .filter(|d| !d.is_empty())
                .collect()
        };
        out.push(ApkRecord {
            name: name.to_string(),
            version: version.to_string(),
            arch: get('A').unwrap_or_default().to_string(),
            license: get('L').filter(|l| !l.is_empty()).map(str::to_string),
            origin: get('o').filter(|o| !o.is_empty()).map(str::to_string),
            depends: items('D').into_iter().map(|d| vec![d]).collect(),
            provides: items('p'),
            db: db.to_string(),
        });
    }
    Ok(out)
}

fn apk_packages(records: Vec<ApkRecord>, vendor: Option<&str>, distro: Option<&str>) -> Vec<Package> {
    let purls: Vec<String> = records.iter().map(|r| purl::apk(vendor, &r.name, &r.version, &r.arch, distro)).collect();
    let by_name = index(records.iter().zip(&purls).map(|(r, p)| (r.name.clone(), r.arch.clone(), p.clone())));
    let provided = index(
        records
            .iter()
            .zip(&purls)
            .flat_map(|(r, p)| r.provides.iter().map(move |v| (v.clone(), r.arch.clone(), p.clone()))),
    );
    records
        .iter()
        .zip(&purls)
        .map(|(r, purl)| {
            let mut p = Package::new(Ecosystem::Apk, Role::Dependency, &r.name, &r.version, purl.clone(), &r.db);
            p.license = r.license.clone();
            if let Some(o) = &r.origin {
                p.properties.insert(APK_ORIGIN_PROPERTY.to_string(), o.clone());
            }
            p.dependencies.extend(resolve_edges(&r.depends, &r.arch, &by_name, &provided));
            p
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_values() {
        let text = "# comment\nNAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine \\\"Linux\\\" v3.19\"\nX='a b'\nbad line\n";
        let f = os_release_fields(text);
        assert_eq!(f["NAME"], "Alpine Linux");
        assert_eq!(f["PRETTY_NAME"], "Alpine \"Linux\" v3.19");
        assert_eq!(f["X"], "a b");
        let d = Distro::parse(text).unwrap();
        assert_eq!(d.qualifier(), "alpine-3.19.1");
        assert_eq!(Distro::parse("ID=Debian\n").unwrap().qualifier(), "debian");
        assert_eq!(Distro::parse("NAME=x\n"), None);
    }

    #[test]
    fn dpkg_stanzas() {
        let text = "Package: a\nStatus: install ok installed\nVersion: 1:2.0-1+b1\nArchitecture: amd64\nSource: src (2.0-1)\nDepends: b (>= 1) | c, d:any\nDescription: x\n more\n .\n\n\
                    Package: b\nStatus: deinstall ok config-files\nVersion: 1\n\n\
                    Package: d\nStatus: hold ok installed\nVersion: 3\nArchitecture: all\nProvides: c (= 1)\n";
        let r = parse_dpkg(text, DPKG_STATUS, true).unwrap();
        assert_eq!(r.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["a", "d"]);
        assert_eq!(r[0].source, Some(("src".to_string(), Some("2.0-1".to_string()))));
        assert_eq!(r[0].depends, [vec!["b".to_string(), "c".to_string()], vec!["d".to_string()]]);
        let pkgs = deb_packages(r, Some("debian"), Some("debian-12"));
        assert_eq!(pkgs[0].purl, "pkg:deb/debian/a@1%3A2.0-1%2Bb1?arch=amd64&distro=debian-12");
        // `b` is not installed: the group resolves to `c`, which `d` provides.
        assert_eq!(pkgs[0].dependencies.iter().collect::<Vec<_>>(), ["pkg:deb/debian/d@3?arch=all&distro=debian-12"]);
        assert!(parse_dpkg("Package: x\nStatus: install ok installed\n", DPKG_STATUS, true)
            .unwrap_err()
            .message
            .contains("line 1"));
        let e = parse_dpkg("Package: x\n\nnonsense\n", DPKG_STATUS, true).unwrap_err();
        assert!(e.message.contains("`/var/lib/dpkg/status`") && e.message.contains("line 3"), "{}", e.message);
        assert_eq!(parse_dpkg("Package: y\nVersion: 1\n", "/var/lib/dpkg/status.d/y", false).unwrap().len(), 1);
        let e = parse_dpkg(" orphan\nPackage: x\n", DPKG_STATUS, true).unwrap_err();
        assert!(e.message.contains("line 1: a continuation line before any field"), "{}", e.message);
    }

    #[test]
    fn apk_records() {
        let text = "C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\no:musl\np:so:libc.musl-x86_64.so.1=1\nF:lib\nR:ld-musl-x86_64.so.1\n\n\
                    P:busybox\nV:1.36.1-r15\nA:x86_64\nL:GPL-2.0-only\nD:so:libc.musl-x86_64.so.1 !foo /bin/sh\n\n";
        let r = parse_apk(text, APK_INSTALLED[0]).unwrap();
        let pkgs = apk_packages(r, Some("alpine"), Some("alpine-3.19.1"));
        assert_eq!(pkgs[1].purl, "pkg:apk/alpine/busybox@1.36.1-r15?arch=x86_64&distro=alpine-3.19.1");
        assert_eq!(pkgs[1].dependencies.iter().collect::<Vec<_>>(), [&pkgs[0].purl]);
        assert_eq!(pkgs[0].properties[APK_ORIGIN_PROPERTY], "musl");
        assert!(parse_apk("P:x\n\n", APK_INSTALLED[0]).unwrap_err().message.contains("`V:`"));
        let e = parse_apk("P:x\nV:1\n\nnot apk\n", APK_INSTALLED[0]).unwrap_err();
        assert!(e.message.contains("invalid apk database") && e.message.contains("line 4"), "{}", e.message);
        assert!(e.message.contains("not an `X:value` line"), "{}", e.message);
        // apk has no continuation lines.
        assert!(parse_apk(" P:x\n", APK_INSTALLED[0]).is_err());
    }
}
