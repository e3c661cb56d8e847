//! Cargo: packages from `Cargo.lock`, selected per target with `cargo metadata` when it can run.
//!
//! `Cargo.lock` lists every package any target could need, with its source and the sha256 of
//! its `.crate` (`checksum`; v1 lockfiles keep it under `[metadata]`), and edges by name. It
//! does not say which packages a target needs, which are dev-dependencies, or licences. So,
//! when a `cargo` program is given, `cargo metadata --format-version 1 --offline --locked
//! [--filter-platform <T>]` is asked: its resolve graph, walked from the workspace members over
//! normal and build edges (not dev), selects the packages, its edges become the dependency
//! edges and its package licences (read from the sources in the registry cache) are used.
//! It needs those sources locally; when it fails, every `Cargo.lock` package is listed and the
//! returned note says so. Either way the workspace's own packages have [`Role::Own`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};

use relman_manifest::Failure;
use serde::Deserialize;

use super::lockfile::{invalid, parse_toml};
use super::model::{Checksum, Ecosystem, HashAlg, Package, Role};
use super::purl;

const HINT: &str = "regenerate it with `cargo generate-lockfile`, or restore it from git";

#[derive(Deserialize)]
struct LockFile {
    #[serde(default)]
    package: Vec<LockPackage>,
    /// v1 lockfiles: `"checksum <name> <version> (<source>)" = "<hex>"`.
    #[serde(default)]
    metadata: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize)]
struct LockPackage {
    name: String,
    version: String,
    source: Option<String>,
    checksum: Option<String>,
    #[serde(default)]
    dependencies: Vec<String>,
}

/// What `cargo metadata` says (the fields relman reads).
#[derive(Deserialize)]
struct Metadata {
    packages: Vec<MetaPackage>,
    workspace_members: Vec<String>,
    resolve: Option<Resolve>,
}

#[derive(Deserialize)]
struct MetaPackage {
    id: String,
    name: String,
    version: String,
    source: Option<String>,
    license: Option<String>,
}

#[derive(Deserialize)]
struct Resolve {
    nodes: Vec<Node>,
}

#[derive(Deserialize)]
struct Node {
    id: String,
    #[serde(default)]
    deps: Vec<NodeDep>,
}

#[derive(Deserialize)]
struct NodeDep {
    pkg: String,
    #[serde(default)]
    dep_kinds: Vec<DepKind>,
}

#[derive(Deserialize)]
struct DepKind {
    kind: Option<String>,
}

type Key = (String, String, Option<String>);

/// Reads the `Cargo.lock` at `dir` (`origin` names it in messages). Returns the packages and
/// the notes for the caller.
pub fn read(
    dir: &Path,
    origin: &str,
    target: Option<&str>,
    cargo: Option<&Path>,
) -> Result<(Vec<Package>, Vec<String>), Failure> {
    let path = dir.join("Cargo.lock");
    let text = crate::fsutil::read_to_string(&path)?;
    let lock: LockFile = parse_toml(&text, origin, HINT)?;
    let checksums = lock_checksums(&lock, origin)?;
    let mut notes = Vec::new();

    let manifest = dir.join("Cargo.toml");
    if let Some(cargo) = cargo.filter(|_| manifest.is_file()) {
        match cargo_metadata(cargo, &manifest, target, false) {
            Ok(meta) => return Ok((from_metadata(&meta, &checksums, origin), notes)),
            Err(why) => {
                let filter = target.map(|t| format!(" --filter-platform {t}")).unwrap_or_default();
                notes.push(format!(
                    "`{origin}`: every package listed, for all targets and with dev-dependencies, \
                     because `cargo metadata --offline{filter}` failed: {why} (run `cargo fetch` first to select packages per target)"
                ));
            }
        }
    } else if let Some(t) = target {
        notes.push(format!("`{origin}`: every package listed, not only those of `{t}`: `cargo metadata` was not run"));
    }
    // The members, to tell them from path dependencies; `--no-deps` needs no registry cache.
    let members: Option<BTreeSet<(String, String)>> =
        cargo.filter(|_| manifest.is_file()).and_then(|c| cargo_metadata(c, &manifest, None, true).ok()).map(|m| {
            let ids: BTreeSet<&String> = m.workspace_members.iter().collect();
            m.packages.iter().filter(|p| ids.contains(&p.id)).map(|p| (p.name.clone(), p.version.clone())).collect()
        });
    Ok((from_lock(&lock, &checksums, members.as_ref(), origin)?, notes))
}

/// `(name, version, source)` → sha256, from `checksum` fields and v1's `[metadata]`.
fn lock_checksums(lock: &LockFile, origin: &str) -> Result<BTreeMap<Key, Checksum>, Failure> {
    let mut out = BTreeMap::new();
    for (i, p) in lock.package.iter().enumerate() {
        if let Some(hex) = &p.checksum {
            let c = Checksum::new(HashAlg::Sha256, hex).ok_or_else(|| {
                invalid(
                    origin,
                    None,
                    &format!("package[{i}].checksum"),
                    &format!("`{hex}` is not a sha256 hex digest"),
                    HINT,
                )
            })?;
            out.insert((p.name.clone(), p.version.clone(), p.source.clone()), c);
        }
    }
    for (key, value) in &lock.metadata {
        let Some(rest) = key.strip_prefix("checksum ") else { continue };
        let mut parts = rest.splitn(3, ' ');
        let (Some(name), Some(version), source) = (parts.next(), parts.next(), parts.next()) else { continue };
        let source = source.map(|s| s.trim_start_matches('(').trim_end_matches(')').to_string());
        if let Some(c) = value.as_str().and_then(|hex| Checksum::new(HashAlg::Sha256, hex)) {
            out.entry((name.to_string(), version.to_string(), source)).or_insert(c);
        }
    }
    Ok(out)
}

fn package(name: &str, version: &str, source: Option<&str>, role: Role, origin: &str) -> Package {
    let mut p =
        Package::new(Ecosystem::Cargo, role, name, version, purl::cargo_with_source(name, version, source), origin);
    p.download_location = download_location(name, version, source);
    p
}

/// crates.io's download URL, or `git+<url>@<commit>` for a git source.
fn download_location(name: &str, version: &str, source: Option<&str>) -> Option<String> {
    let source = source?;
    if purl::is_crates_io(source) {
        return Some(format!("https://crates.io/api/v1/crates/{name}/{version}/download"));
    }
    let rest = source.strip_prefix("git+")?;
    let (url, commit) = rest.split_once('#')?;
    let url = url.split('?').next().unwrap_or(url);
    let ok = url.starts_with("https://") || url.starts_with("http://") || url.starts_with("ssh://");
    (ok && !commit.is_empty()).then(|| format!("git+{}@{commit}", crate::git::redact_userinfo(url)))
}

/// Every `Cargo.lock` package, with the lockfile's edges. Own: the workspace members when
/// known, else every package without a source.
fn from_lock(
    lock: &LockFile,
    checksums: &BTreeMap<Key, Checksum>,
    members: Option<&BTreeSet<(String, String)>>,
    origin: &str,
) -> Result<Vec<Package>, Failure> {
    let purls: Vec<String> =
        lock.package.iter().map(|p| purl::cargo_with_source(&p.name, &p.version, p.source.as_deref())).collect();
    let mut out = Vec::with_capacity(lock.package.len());
    for (i, p) in lock.package.iter().enumerate() {
        let own = match members {
            Some(m) => p.source.is_none() && m.contains(&(p.name.clone(), p.version.clone())),
            None => p.source.is_none(),
        };
        let role = if own { Role::Own } else { Role::Dependency };
        let mut pkg = package(&p.name, &p.version, p.source.as_deref(), role, origin);
        pkg.checksums.extend(checksums.get(&(p.name.clone(), p.version.clone(), p.source.clone())).cloned());
        for (j, dep) in p.dependencies.iter().enumerate() {
            let k = resolve_dependency(lock, dep).ok_or_else(|| {
                invalid(
                    origin,
                    None,
                    &format!("package[{i}].dependencies[{j}]"),
                    &format!("`{dep}` names no single package of the lockfile"),
                    HINT,
                )
            })?;
            pkg.dependencies.insert(purls[k].clone());
        }
        out.push(pkg);
    }
    Ok(out)
}

/// `name`, `name version` or `name version (source)` → the index of the one matching package.
fn resolve_dependency(lock: &LockFile, dep: &str) -> Option<usize> {
    let mut parts = dep.splitn(3, ' ');
    let name = parts.next()?;
    let version = parts.next();
    let source = parts.next().map(|s| s.trim_start_matches('(').trim_end_matches(')'));
    let mut found = lock.package.iter().enumerate().filter(|(_, p)| {
        p.name == name
            && version.is_none_or(|v| p.version == v)
            && source.is_none_or(|s| p.source.as_deref() == Some(s))
    });
    let (i, _) = found.next()?;
    found.next().is_none().then_some(i)
}

/// The packages `cargo metadata` selects: reachable from the workspace members over normal
/// and build edges.
fn from_metadata(meta: &Metadata, checksums: &BTreeMap<Key, Checksum>, origin: &str) -> Vec<Package> {
    let by_id: BTreeMap<&str, &MetaPackage> = meta.packages.iter().map(|p| (p.id.as_str(), p)).collect();
    let nodes: BTreeMap<&str, &Node> =
        meta.resolve.iter().flat_map(|r| r.nodes.iter()).map(|n| (n.id.as_str(), n)).collect();
    let members: BTreeSet<&str> = meta.workspace_members.iter().map(String::as_str).collect();
    let not_dev = |d: &NodeDep| d.dep_kinds.is_empty() || d.dep_kinds.iter().any(|k| k.kind.as_deref() != Some("dev"));

    let mut reached: BTreeSet<&str> = BTreeSet::new();
    let mut stack: Vec<&str> = members.iter().copied().collect();
    while let Some(id) = stack.pop() {
        if !reached.insert(id) {
            continue;
        }
        if let Some(node) = nodes.get(id) {
            stack.extend(node.deps.iter().filter(|d| not_dev(d)).map(|d| d.pkg.as_str()));
        }
    }
    let purl_of = |p: &MetaPackage| purl::cargo_with_source(&p.name, &p.version, p.source.as_deref());
    let mut out = Vec::new();
    for id in &reached {
        let Some(p) = by_id.get(id) else { continue };
        let role = if members.contains(id) { Role::Own } else { Role::Dependency };
        let mut pkg = package(&p.name, &p.version, p.source.as_deref(), role, origin);
        pkg.checksums.extend(checksums.get(&(p.name.clone(), p.version.clone(), p.source.clone())).cloned());
        pkg.license = p.license.clone().filter(|l| !l.trim().is_empty());
        if let Some(node) = nodes.get(id) {
            for d in node.deps.iter().filter(|d| not_dev(d)) {
                if let Some(dep) = by_id.get(d.pkg.as_str()) {
                    pkg.dependencies.insert(purl_of(dep));
                }
            }
        }
        out.push(pkg);
    }
    out
}

/// Runs `cargo metadata` offline and locked; the error is the first `error` line of its stderr.
fn cargo_metadata(cargo: &Path, manifest: &Path, target: Option<&str>, no_deps: bool) -> Result<Metadata, String> {
    let mut cmd = Command::new(cargo);
    cmd.args(["metadata", "--format-version", "1", "--offline", "--locked", "--manifest-path"])
        .arg(manifest)
        .stdin(Stdio::null());
    if no_deps {
        cmd.arg("--no-deps");
    }
    if let Some(t) = target {
        cmd.args(["--filter-platform", t]);
    }
    let out = cmd.output().map_err(|e| format!("cannot run `{}`: {e}", cargo.display()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = err.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        // The last line is usually the root cause ("attempting to make an HTTP request, but
        // --offline was specified"); the `error:` line says what failed.
        let first = lines.iter().find(|l| l.starts_with("error")).copied().unwrap_or_default();
        let last = lines.last().copied().unwrap_or("no error message");
        let why = if first.is_empty() || first == last { last.to_string() } else { format!("{first} ({last})") };
        return Err(why);
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("unexpected `cargo metadata` output: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"
version = 3

[[package]]
name = "app"
version = "0.1.0"
dependencies = [
 "log",
 "syn 1.0.109",
 "syn 2.0.66",
]

[[package]]
name = "log"
version = "0.4.21"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "90ed8c1e510134f979dbc4f070f87d4313098b704861a105fe34231c70a3901c"

[[package]]
name = "syn"
version = "1.0.109"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "72b64191b275b66ffe2469e8af2c1cfe3bafa67b529ead792a6d0160888b4237"

[[package]]
name = "syn"
version = "2.0.66"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "c42f3f41a2de00b01c0aaf383c5a45241efc8b2d1eda5661812fda5f3cdcff5c"
"#;

    #[test]
    fn lockfile_edges_resolve_by_name_and_version() {
        let lock: LockFile = parse_toml(LOCK, "Cargo.lock", HINT).unwrap();
        let sums = lock_checksums(&lock, "Cargo.lock").unwrap();
        let pkgs = from_lock(&lock, &sums, None, "Cargo.lock").unwrap();
        assert_eq!(pkgs.len(), 4);
        let app = &pkgs[0];
        assert_eq!(app.role, Role::Own);
        assert_eq!(
            app.dependencies.iter().map(String::as_str).collect::<Vec<_>>(),
            ["pkg:cargo/log@0.4.21", "pkg:cargo/syn@1.0.109", "pkg:cargo/syn@2.0.66"]
        );
        assert_eq!(pkgs[1].checksums[0].hex, "90ed8c1e510134f979dbc4f070f87d4313098b704861a105fe34231c70a3901c");
        assert_eq!(pkgs[1].download_location.as_deref(), Some("https://crates.io/api/v1/crates/log/0.4.21/download"));
        assert_eq!(pkgs[1].license, None, "Cargo.lock carries no licence: nothing is guessed");
    }

    #[test]
    fn ambiguous_dependency_is_an_error_naming_the_key() {
        let lock: LockFile = parse_toml(&LOCK.replace("\"syn 1.0.109\"", "\"syn\""), "Cargo.lock", HINT).unwrap();
        let sums = lock_checksums(&lock, "Cargo.lock").unwrap();
        let err = from_lock(&lock, &sums, None, "Cargo.lock").unwrap_err();
        assert!(
            err.message.contains("`Cargo.lock`") && err.message.contains("package[0].dependencies[1]"),
            "{}",
            err.message
        );
    }

    #[test]
    fn v1_metadata_checksums_are_read() {
        let v1 = r#"
[[package]]
name = "log"
version = "0.4.8"
source = "registry+https://github.com/rust-lang/crates.io-index"

[metadata]
"checksum log 0.4.8 (registry+https://github.com/rust-lang/crates.io-index)" = "14b6052be84e6b71ab17edffc2eeabf5c6e6949fa4c2f3f36b3ad8ed5f1ab9d7"
"#;
        let lock: LockFile = parse_toml(v1, "Cargo.lock", HINT).unwrap();
        let sums = lock_checksums(&lock, "Cargo.lock").unwrap();
        let pkgs = from_lock(&lock, &sums, None, "Cargo.lock").unwrap();
        assert_eq!(pkgs[0].checksums[0].hex, "14b6052be84e6b71ab17edffc2eeabf5c6e6949fa4c2f3f36b3ad8ed5f1ab9d7");
    }

    #[test]
    fn git_sources_get_a_vcs_location() {
        assert_eq!(
            download_location("x", "0.1.0", Some("git+https://tok@github.com/acme/x?branch=main#0123abcd")).as_deref(),
            Some("git+https://github.com/acme/x@0123abcd")
        );
        assert_eq!(download_location("x", "0.1.0", None), None);
        assert_eq!(download_location("x", "0.1.0", Some("registry+https://example.com/index")), None);
    }
}
