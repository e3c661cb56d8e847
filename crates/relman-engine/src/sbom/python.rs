//! Python: packages from `uv.lock` and `poetry.lock`.
//!
//! Both list each package's distribution files (sdist and wheels) with their sha256. A Python
//! package is not one file, so every file is kept as a [`Distribution`]; the package's own
//! checksum and download location are those of its sdist (or of its only file when it has
//! one). uv also gives URLs, edges (`dependencies`, optional and dev groups, by name with a
//! version/source only when ambiguous) and marks the project's own packages by their
//! `editable`/`virtual` source. Poetry gives edges by name under `[package.dependencies]`;
//! poetry 1.x kept the files under `[metadata.files]`. Neither records licences.

use std::collections::BTreeMap;
use std::path::Path;

use relman_manifest::Failure;
use serde::Deserialize;

use super::lockfile::{invalid, parse_toml};
use super::model::{Checksum, Distribution, Ecosystem, Package, Role};
use super::purl::{self, normalize_python_name};

const UV_HINT: &str = "regenerate it with `uv lock`, or restore it from git";
const POETRY_HINT: &str = "regenerate it with `poetry lock`, or restore it from git";

#[derive(Deserialize)]
struct UvLock {
    #[serde(default)]
    package: Vec<UvPackage>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct UvPackage {
    name: String,
    version: Option<String>,
    #[serde(default)]
    source: BTreeMap<String, toml::Value>,
    #[serde(default)]
    dependencies: Vec<UvDep>,
    #[serde(default)]
    optional_dependencies: BTreeMap<String, Vec<UvDep>>,
    #[serde(default)]
    dev_dependencies: BTreeMap<String, Vec<UvDep>>,
    sdist: Option<UvFile>,
    #[serde(default)]
    wheels: Vec<UvFile>,
}

#[derive(Deserialize)]
struct UvDep {
    name: String,
    version: Option<String>,
    #[serde(default)]
    source: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize)]
struct UvFile {
    url: Option<String>,
    path: Option<String>,
    hash: Option<String>,
}

#[derive(Deserialize)]
struct PoetryLock {
    #[serde(default)]
    package: Vec<PoetryPackage>,
    #[serde(default)]
    metadata: PoetryMetadata,
}

#[derive(Deserialize)]
struct PoetryPackage {
    name: String,
    version: String,
    #[serde(default)]
    files: Vec<PoetryFile>,
    #[serde(default)]
    dependencies: BTreeMap<String, toml::Value>,
    source: Option<PoetrySource>,
}

#[derive(Deserialize)]
struct PoetryFile {
    file: String,
    hash: Option<String>,
}

#[derive(Deserialize)]
struct PoetrySource {
    #[serde(rename = "type")]
    kind: Option<String>,
    url: Option<String>,
    resolved_reference: Option<String>,
}

#[derive(Deserialize, Default)]
struct PoetryMetadata {
    /// poetry 1.x: `[metadata.files] name = [{file, hash}]`.
    #[serde(default)]
    files: BTreeMap<String, Vec<PoetryFile>>,
}

/// The sdist's checksum and URL, or the only file's.
fn primary(p: &mut Package) {
    let is_sdist = |f: &str| f.ends_with(".tar.gz") || f.ends_with(".zip") || f.ends_with(".tar.bz2");
    let chosen = match p.distributions.iter().find(|d| is_sdist(&d.file)) {
        Some(d) => Some(d.clone()),
        None if p.distributions.len() == 1 => Some(p.distributions[0].clone()),
        None => None,
    };
    if let Some(d) = chosen {
        p.checksums = d.checksums;
        p.download_location = d.url;
    }
}

fn file_name(url: &str) -> String {
    url.rsplit('/').next().unwrap_or(url).split(['?', '#']).next().unwrap_or_default().to_string()
}

fn https(url: &str) -> Option<String> {
    (url.starts_with("https://") || url.starts_with("http://")).then(|| crate::git::redact_userinfo(url))
}

/// Reads `uv.lock` in `dir` (`origin` names it in messages).
pub fn read_uv(dir: &Path, origin: &str) -> Result<Vec<Package>, Failure> {
    let text = crate::fsutil::read_to_string(&dir.join("uv.lock"))?;
    let lock: UvLock = parse_toml(&text, origin, UV_HINT)?;
    let own_source = |s: &BTreeMap<String, toml::Value>| s.contains_key("editable") || s.contains_key("virtual");
    let purl_of = |p: &UvPackage| p.version.as_deref().map(|v| purl::pypi(&p.name, v));

    let mut out = Vec::new();
    for (i, p) in lock.package.iter().enumerate() {
        let own = own_source(&p.source);
        let Some(version) = p.version.as_deref() else {
            // A workspace root without a version (dynamic, or virtual) is described by the
            // release itself; a third-party package always has one.
            if own {
                continue;
            }
            return Err(invalid(origin, None, &format!("package[{i}].version"), "missing field `version`", UV_HINT));
        };
        let role = if own { Role::Own } else { Role::Dependency };
        let mut pkg = Package::new(Ecosystem::Pypi, role, &p.name, version, purl::pypi(&p.name, version), origin);
        for f in p.sdist.iter().chain(&p.wheels) {
            let Some(loc) = f.url.as_deref().or(f.path.as_deref()) else { continue };
            let checksums = f.hash.as_deref().and_then(Checksum::from_prefixed).into_iter().collect();
            pkg.distributions.push(Distribution {
                file: file_name(loc),
                url: f.url.as_deref().and_then(https),
                checksums,
            });
        }
        primary(&mut pkg);
        if pkg.download_location.is_none() {
            pkg.download_location = p.source.get("git").and_then(|v| v.as_str()).and_then(uv_git_location);
        }
        let mut edges: Vec<(String, &UvDep)> =
            p.dependencies.iter().enumerate().map(|(j, d)| (format!("package[{i}].dependencies[{j}]"), d)).collect();
        for (table, groups) in
            [("optional-dependencies", &p.optional_dependencies), ("dev-dependencies", &p.dev_dependencies)]
        {
            for (group, list) in groups {
                edges.extend(list.iter().enumerate().map(|(j, d)| (format!("package[{i}].{table}.{group}[{j}]"), d)));
            }
        }
        for (key, d) in edges {
            let name = normalize_python_name(&d.name);
            let matches: Vec<&UvPackage> = lock
                .package
                .iter()
                .filter(|c| normalize_python_name(&c.name) == name)
                .filter(|c| d.version.is_none() || c.version == d.version)
                .filter(|c| d.source.is_empty() || c.source == d.source)
                .collect();
            match matches.as_slice() {
                [one] => pkg.dependencies.extend(purl_of(one)),
                _ => {
                    return Err(invalid(
                        origin,
                        None,
                        &key,
                        &format!("`{}` names {} packages of the lockfile, not one", d.name, matches.len()),
                        UV_HINT,
                    ))
                }
            }
        }
        out.push(pkg);
    }
    Ok(out)
}

/// uv's `git = "https://host/repo?rev=x#<commit>"` → `git+https://host/repo@<commit>`.
fn uv_git_location(git: &str) -> Option<String> {
    let (url, commit) = git.split_once('#')?;
    let url = url.split('?').next().unwrap_or(url);
    https(url).filter(|_| !commit.is_empty()).map(|u| format!("git+{u}@{commit}"))
}

/// Reads `poetry.lock` in `dir` (`origin` names it in messages).
pub fn read_poetry(dir: &Path, origin: &str) -> Result<Vec<Package>, Failure> {
    let text = crate::fsutil::read_to_string(&dir.join("poetry.lock"))?;
    let lock: PoetryLock = parse_toml(&text, origin, POETRY_HINT)?;
    let mut by_name: BTreeMap<String, Vec<&PoetryPackage>> = BTreeMap::new();
    for p in &lock.package {
        by_name.entry(normalize_python_name(&p.name)).or_default().push(p);
    }
    let mut out = Vec::new();
    for p in &lock.package {
        // poetry.lock never lists the project itself; a `directory` source is a path
        // dependency, like a Cargo path dependency outside the workspace.
        let mut pkg = Package::new(
            Ecosystem::Pypi,
            Role::Dependency,
            &p.name,
            &p.version,
            purl::pypi(&p.name, &p.version),
            origin,
        );
        let legacy = lock.metadata.files.get(&p.name).or_else(|| {
            lock.metadata
                .files
                .iter()
                .find(|(k, _)| normalize_python_name(k) == normalize_python_name(&p.name))
                .map(|(_, v)| v)
        });
        for f in p.files.iter().chain(legacy.into_iter().flatten()) {
            let checksums = f.hash.as_deref().and_then(Checksum::from_prefixed).into_iter().collect();
            pkg.distributions.push(Distribution { file: f.file.clone(), url: None, checksums });
        }
        primary(&mut pkg);
        if let Some(s) = &p.source {
            if s.kind.as_deref() == Some("git") {
                if let (Some(url), Some(rev)) = (s.url.as_deref().and_then(https), s.resolved_reference.as_deref()) {
                    pkg.download_location = Some(format!("git+{url}@{rev}"));
                }
            }
        }
        for dep in p.dependencies.keys() {
            // Several versions of one name exist only under exclusive markers: link them all.
            for target in by_name.get(&normalize_python_name(dep)).into_iter().flatten() {
                pkg.dependencies.insert(purl::pypi(&target.name, &target.version));
            }
        }
        out.push(pkg);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poetry_1_keeps_files_under_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let sdist = "a".repeat(64);
        let wheel = "b".repeat(64);
        std::fs::write(
            dir.path().join("poetry.lock"),
            format!(
                "[[package]]\nname = \"PyYAML\"\nversion = \"6.0.1\"\ndescription = \"\"\ncategory = \"main\"\noptional = false\npython-versions = \">=3.6\"\n\n\
                 [metadata]\nlock-version = \"1.1\"\npython-versions = \"^3.8\"\ncontent-hash = \"x\"\n\n[metadata.files]\n\
                 pyyaml = [\n    {{file = \"PyYAML-6.0.1-cp311-cp311-manylinux_2_17_x86_64.whl\", hash = \"sha256:{wheel}\"}},\n    \
                 {{file = \"PyYAML-6.0.1.tar.gz\", hash = \"sha256:{sdist}\"}},\n]\n"
            ),
        )
        .unwrap();
        let pkgs = read_poetry(dir.path(), "poetry.lock").unwrap();
        assert_eq!(pkgs[0].purl, "pkg:pypi/pyyaml@6.0.1");
        assert_eq!(pkgs[0].distributions.len(), 2);
        assert_eq!(pkgs[0].checksums[0].hex, sdist, "the sdist is the package's file");
    }

    #[test]
    fn uv_edges_to_a_name_with_two_versions_need_the_version() {
        let dir = tempfile::tempdir().unwrap();
        let lock = "version = 1\n\n\
            [[package]]\nname = \"app\"\nversion = \"1.0\"\nsource = { virtual = \".\" }\ndependencies = [{ name = \"numpy\" }]\n\n\
            [[package]]\nname = \"numpy\"\nversion = \"1.26.4\"\nsource = { registry = \"https://pypi.org/simple\" }\n\n\
            [[package]]\nname = \"numpy\"\nversion = \"2.0.0\"\nsource = { registry = \"https://pypi.org/simple\" }\n";
        std::fs::write(dir.path().join("uv.lock"), lock).unwrap();
        let err = read_uv(dir.path(), "uv.lock").unwrap_err();
        assert!(err.message.contains("at `package[0].dependencies[0]`: `numpy` names 2 packages"), "{}", err.message);
        std::fs::write(
            dir.path().join("uv.lock"),
            lock.replace("{ name = \"numpy\" }", "{ name = \"numpy\", version = \"2.0.0\" }"),
        )
        .unwrap();
        let pkgs = read_uv(dir.path(), "uv.lock").unwrap();
        assert_eq!(pkgs[0].dependencies.iter().collect::<Vec<_>>(), ["pkg:pypi/numpy@2.0.0"]);
        assert_eq!(pkgs[0].role, Role::Own);
    }
}
