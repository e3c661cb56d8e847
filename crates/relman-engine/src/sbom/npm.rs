//! npm: packages from `package-lock.json` / `npm-shrinkwrap.json`.
//!
//! Lockfile v2 and v3 list every installed package under `packages`, keyed by its path
//! (`""` is the project, `node_modules/@scope/name`, nested `.../node_modules/x`, workspace
//! members by their directory, `link` entries pointing at them). v1 has only the nested
//! `dependencies` tree. Each entry gives `version`, `resolved` (the tarball URL), `integrity`
//! (Subresource Integrity, converted to hex checksums) and, in v2/v3, often `license`.
//! Edges follow Node's resolution: a dependency named `d` of the package at `p` is the
//! nearest `<p>/node_modules/d`, then up the tree to the root. Every package is kept,
//! `dev` ones too: front-end bundles are built from them.

use std::collections::BTreeMap;
use std::path::Path;

use relman_manifest::Failure;
use serde::Deserialize;
use serde_json::Value;

use super::lockfile::{invalid, parse_json};
use super::model::{Checksum, Ecosystem, Package, Role};
use super::purl;

const HINT: &str = "regenerate it with `npm install --package-lock-only`, or restore it from git";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LockFile {
    name: Option<String>,
    version: Option<String>,
    lockfile_version: Option<u32>,
    packages: Option<BTreeMap<String, Entry>>,
    dependencies: Option<BTreeMap<String, V1Entry>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    name: Option<String>,
    version: Option<String>,
    resolved: Option<String>,
    integrity: Option<String>,
    license: Option<Value>,
    #[serde(default)]
    link: bool,
    #[serde(default)]
    dependencies: BTreeMap<String, Value>,
    #[serde(default)]
    optional_dependencies: BTreeMap<String, Value>,
    #[serde(default)]
    peer_dependencies: BTreeMap<String, Value>,
    #[serde(default)]
    dev_dependencies: BTreeMap<String, Value>,
}

#[derive(Deserialize)]
struct V1Entry {
    version: Option<String>,
    resolved: Option<String>,
    integrity: Option<String>,
    #[serde(default)]
    requires: BTreeMap<String, Value>,
    #[serde(default)]
    dependencies: BTreeMap<String, V1Entry>,
}

/// Reads the npm lockfile `file` in `dir` (`origin` names it in messages).
pub fn read(dir: &Path, file: &str, origin: &str) -> Result<Vec<Package>, Failure> {
    let text = crate::fsutil::read_to_string(&dir.join(file))?;
    let lock: LockFile = parse_json(&text, origin, HINT)?;
    match (&lock.packages, &lock.dependencies) {
        (Some(packages), _) => Ok(from_packages(packages, origin)),
        (None, Some(deps)) => Ok(from_v1(&lock, deps, origin)),
        (None, None) if lock.lockfile_version.is_some() => Ok(Vec::new()),
        (None, None) => Err(invalid(origin, None, "", "neither `packages` nor `dependencies` is present", HINT)),
    }
}

/// The package name of a `packages` key: what follows the last `node_modules/`.
fn name_from_key(key: &str) -> Option<&str> {
    key.rfind("node_modules/").map(|i| &key[i + "node_modules/".len()..]).filter(|n| !n.is_empty())
}

/// The key of the package a dependency `dep` of the package at `from` resolves to.
fn resolve<'a>(packages: &'a BTreeMap<String, Entry>, from: &str, dep: &str) -> Option<&'a str> {
    let mut base = from.to_string();
    loop {
        let candidate =
            if base.is_empty() { format!("node_modules/{dep}") } else { format!("{base}/node_modules/{dep}") };
        if let Some((key, _)) = packages.get_key_value(&candidate) {
            return Some(key.as_str());
        }
        if base.is_empty() {
            return None;
        }
        // Up one level: strip the last `/node_modules/<name>` (a scoped name has a slash), or
        // go from a workspace member's directory to the root.
        base = match base.rfind("/node_modules/") {
            Some(i) => base[..i].to_string(),
            None => String::new(),
        };
    }
}

fn license_text(v: &Option<Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        // The deprecated `{ "type": "MIT", "url": ... }` form.
        Some(Value::Object(o)) => o.get("type").and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

fn http_url(url: Option<&String>) -> Option<String> {
    url.filter(|u| u.starts_with("https://") || u.starts_with("http://")).map(|u| crate::git::redact_userinfo(u))
}

fn from_packages(packages: &BTreeMap<String, Entry>, origin: &str) -> Vec<Package> {
    // Follow `link` entries to their target, so edges point at the member itself.
    let target_of = |key: &str| -> Option<String> {
        let e = packages.get(key)?;
        if e.link {
            return e.resolved.clone().filter(|r| packages.contains_key(r.as_str()));
        }
        Some(key.to_string())
    };
    let identity = |key: &str, e: &Entry| -> Option<(String, String)> {
        let name = e.name.clone().or_else(|| name_from_key(key).map(str::to_string))?;
        Some((name, e.version.clone()?))
    };
    let mut out = Vec::new();
    for (key, e) in packages {
        if e.link {
            continue;
        }
        let Some((name, version)) = identity(key, e) else { continue };
        let own = !key.contains("node_modules/");
        let role = if own { Role::Own } else { Role::Dependency };
        let mut p = Package::new(Ecosystem::Npm, role, &name, &version, purl::npm(&name, &version), origin);
        p.download_location = http_url(e.resolved.as_ref());
        p.checksums = e.integrity.as_deref().map(Checksum::from_sri).unwrap_or_default();
        p.license = license_text(&e.license);
        let mut deps: Vec<&String> =
            e.dependencies.keys().chain(e.optional_dependencies.keys()).chain(e.peer_dependencies.keys()).collect();
        if own {
            deps.extend(e.dev_dependencies.keys());
        }
        for dep in deps {
            let Some(found) = resolve(packages, key, dep).and_then(target_of) else { continue };
            if let Some((n, v)) = packages.get(found.as_str()).and_then(|t| identity(&found, t)) {
                p.dependencies.insert(purl::npm(&n, &v));
            }
        }
        out.push(p);
    }
    out
}

fn from_v1(lock: &LockFile, deps: &BTreeMap<String, V1Entry>, origin: &str) -> Vec<Package> {
    let mut out = Vec::new();
    let mut root = lock
        .name
        .as_ref()
        .zip(lock.version.as_ref())
        .map(|(n, v)| Package::new(Ecosystem::Npm, Role::Own, n, v, purl::npm(n, v), origin));
    let mut scopes: Vec<&BTreeMap<String, V1Entry>> = vec![deps];
    walk_v1(deps, &mut scopes, origin, &mut out);
    if let Some(root) = root.as_mut() {
        for (name, e) in deps {
            if let Some(v) = &e.version {
                root.dependencies.insert(purl::npm(name, v));
            }
        }
    }
    out.extend(root);
    out
}

/// Walks one level of the v1 tree; `scopes` is the chain of enclosing `dependencies` maps,
/// innermost last, where `requires` are looked up.
fn walk_v1<'a>(
    level: &'a BTreeMap<String, V1Entry>,
    scopes: &mut Vec<&'a BTreeMap<String, V1Entry>>,
    origin: &str,
    out: &mut Vec<Package>,
) {
    for (name, e) in level {
        let Some(version) = &e.version else { continue };
        let mut p = Package::new(Ecosystem::Npm, Role::Dependency, name, version, purl::npm(name, version), origin);
        p.download_location = http_url(e.resolved.as_ref());
        p.checksums = e.integrity.as_deref().map(Checksum::from_sri).unwrap_or_default();
        scopes.push(&e.dependencies);
        for dep in e.requires.keys() {
            let found = scopes.iter().rev().find_map(|s| s.get(dep));
            if let Some(v) = found.and_then(|f| f.version.as_ref()) {
                p.dependencies.insert(purl::npm(dep, v));
            }
        }
        walk_v1(&e.dependencies, scopes, origin, out);
        scopes.pop();
        out.push(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_give_names() {
        assert_eq!(name_from_key("node_modules/@types/node"), Some("@types/node"));
        assert_eq!(name_from_key("node_modules/a/node_modules/b"), Some("b"));
        assert_eq!(name_from_key("packages/web"), None);
    }

    #[test]
    fn nested_packages_shadow_hoisted_ones() {
        let json = r#"{"lockfileVersion":3,"packages":{
            "": {"name":"root","version":"1.0.0","dependencies":{"a":"^1","b":"^1"}},
            "node_modules/a": {"version":"1.0.0","dependencies":{"b":"^2"}},
            "node_modules/a/node_modules/b": {"version":"2.0.0"},
            "node_modules/b": {"version":"1.0.0"}
        }}"#;
        let lock: LockFile = parse_json(json, "package-lock.json", HINT).unwrap();
        let pkgs = from_packages(lock.packages.as_ref().unwrap(), "package-lock.json");
        let get = |purl: &str| pkgs.iter().find(|p| p.purl == purl).unwrap();
        assert_eq!(get("pkg:npm/a@1.0.0").dependencies.iter().collect::<Vec<_>>(), ["pkg:npm/b@2.0.0"]);
        assert_eq!(
            get("pkg:npm/root@1.0.0").dependencies.iter().collect::<Vec<_>>(),
            ["pkg:npm/a@1.0.0", "pkg:npm/b@1.0.0"]
        );
        assert_eq!(get("pkg:npm/root@1.0.0").role, Role::Own);
    }

    #[test]
    fn v1_requires_resolve_through_the_tree() {
        let json = r#"{"name":"old","version":"0.1.0","lockfileVersion":1,"dependencies":{
            "a": {"version":"1.0.0","integrity":"sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk=","requires":{"b":"^2"},
                  "dependencies":{"b":{"version":"2.0.0"}}},
            "b": {"version":"1.0.0","requires":{"a":"^1"}}
        }}"#;
        let lock: LockFile = parse_json(json, "package-lock.json", HINT).unwrap();
        let pkgs = from_v1(&lock, lock.dependencies.as_ref().unwrap(), "package-lock.json");
        let get = |purl: &str| pkgs.iter().find(|p| p.purl == purl).unwrap();
        assert_eq!(get("pkg:npm/a@1.0.0").dependencies.iter().collect::<Vec<_>>(), ["pkg:npm/b@2.0.0"]);
        assert_eq!(get("pkg:npm/b@1.0.0").dependencies.iter().collect::<Vec<_>>(), ["pkg:npm/a@1.0.0"]);
        assert_eq!(get("pkg:npm/a@1.0.0").checksums[0].hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(get("pkg:npm/old@0.1.0").role, Role::Own);
        assert_eq!(pkgs.len(), 4);
    }
}
