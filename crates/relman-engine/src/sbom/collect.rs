//! Finding the project's lockfiles and reading them into one [`Inventory`].
//!
//! Looked for at the project root and in each workspace member directory (Cargo
//! `workspace.members`, npm `workspaces`, uv `tool.uv.workspace.members`, `go.work` `use`),
//! plus any lockfile the caller names: `Cargo.lock`, `npm-shrinkwrap.json` (else
//! `package-lock.json`), `uv.lock`, `poetry.lock`, `go.sum`, and `go.work.sum` at the root.
//! Reading never changes a file. A lockfile that cannot be parsed is a config error naming it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use relman_manifest::Failure;

use super::model::{Inventory, Package};
use super::{cargo, gomod, npm, python};

/// What [`collect`] reads and how.
#[derive(Clone, Debug)]
pub struct CollectOptions {
    /// Select the Cargo packages one target needs (`cargo metadata --filter-platform`);
    /// `None`: every target.
    pub target: Option<String>,
    /// The `cargo` program used for `cargo metadata`; `None`: read `Cargo.lock` only.
    pub cargo: Option<PathBuf>,
    /// More lockfiles, relative to the root, recognised by their file name.
    pub extra_lockfiles: Vec<PathBuf>,
    /// The release's version: a Go module's own package (`pkg:golang/<module>@v<version>`,
    /// from `go.mod`: Go records no version in a file) is listed with it.
    pub own_version: Option<String>,
}

impl Default for CollectOptions {
    fn default() -> Self {
        CollectOptions {
            target: None,
            cargo: Some(PathBuf::from("cargo")),
            extra_lockfiles: Vec::new(),
            own_version: None,
        }
    }
}

/// The kinds of lockfile relman reads, by file name.
const KINDS: &[&str] =
    &["Cargo.lock", "npm-shrinkwrap.json", "package-lock.json", "uv.lock", "poetry.lock", "go.sum", "go.work.sum"];

/// Reads every lockfile of the project at `root` into one inventory.
pub fn collect(root: &Path, opts: &CollectOptions) -> Result<Inventory, Failure> {
    let dirs = member_dirs(root);
    let mut lockfiles: Vec<String> = Vec::new();
    for dir in &dirs {
        let has = |f: &str| root.join(rel_join(dir, f)).is_file();
        for kind in KINDS {
            let skip = (*kind == "package-lock.json" && has("npm-shrinkwrap.json"))
                || (*kind == "go.work.sum" && !dir.is_empty());
            if !skip && has(kind) {
                lockfiles.push(rel_join(dir, kind));
            }
        }
    }
    for extra in &opts.extra_lockfiles {
        let rel = extra.to_string_lossy().replace('\\', "/").trim_start_matches("./").to_string();
        let name = rel.rsplit('/').next().unwrap_or_default();
        if !KINDS.contains(&name) {
            return Err(Failure::config(format!("`{rel}` is not a lockfile relman reads"))
                .with_hint(format!("name one of: {}", KINDS.join(", "))));
        }
        if !root.join(&rel).is_file() {
            return Err(Failure::config(format!("lockfile `{rel}` does not exist in `{}`", root.display())));
        }
        lockfiles.push(rel);
    }
    lockfiles.sort();
    lockfiles.dedup();

    let own_modules: BTreeSet<String> = dirs
        .iter()
        .filter_map(|d| std::fs::read_to_string(root.join(rel_join(d, "go.mod"))).ok())
        .filter_map(|text| gomod::module_path(&text))
        .collect();
    let mut packages: Vec<Package> = Vec::new();
    let mut notes = Vec::new();
    for rel in &lockfiles {
        let (dir, name) = match rel.rsplit_once('/') {
            Some((d, n)) => (root.join(d), n),
            None => (root.to_path_buf(), rel.as_str()),
        };
        match name {
            "Cargo.lock" => {
                let (p, n) = cargo::read(&dir, rel, opts.target.as_deref(), opts.cargo.as_deref())?;
                packages.extend(p);
                notes.extend(n);
            }
            "package-lock.json" | "npm-shrinkwrap.json" => packages.extend(npm::read(&dir, name, rel)?),
            "uv.lock" => packages.extend(python::read_uv(&dir, rel)?),
            "poetry.lock" => packages.extend(python::read_poetry(&dir, rel)?),
            _ => {
                let (p, n) = gomod::read(&dir, name, rel, &own_modules)?;
                packages.extend(p);
                notes.extend(n);
            }
        }
    }
    // Each Go module of the project is a package of its own, at the release's version.
    if let Some(version) = &opts.own_version {
        let v = format!("v{}", version.trim_start_matches('v'));
        for dir in &dirs {
            let rel = rel_join(dir, "go.mod");
            let Some(module) = std::fs::read_to_string(root.join(&rel)).ok().and_then(|t| gomod::module_path(&t))
            else {
                continue;
            };
            let purl = super::purl::golang(&module, &v);
            packages.push(Package::new(super::Ecosystem::Golang, super::Role::Own, &module, &v, purl, &rel));
            lockfiles.push(rel);
        }
        lockfiles.sort();
        lockfiles.dedup();
    }
    Ok(Inventory::new(opts.target.clone(), packages, lockfiles, notes))
}

fn rel_join(dir: &str, file: &str) -> String {
    if dir.is_empty() {
        file.to_string()
    } else {
        format!("{dir}/{file}")
    }
}

/// `""` (the root) and every workspace member directory, relative, sorted, unique.
fn member_dirs(root: &Path) -> Vec<String> {
    let mut dirs: BTreeSet<String> = BTreeSet::from([String::new()]);
    let toml_doc = |file: &str| -> Option<toml::Table> { std::fs::read_to_string(root.join(file)).ok()?.parse().ok() };
    let strings = |v: Option<&toml::Value>| -> Vec<String> {
        v.and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    if let Some(ws) = toml_doc("Cargo.toml").as_ref().and_then(|d| d.get("workspace")) {
        dirs.extend(expand_all(root, &strings(ws.get("members")), &strings(ws.get("exclude"))));
    }
    if let Some(ws) =
        toml_doc("pyproject.toml").as_ref().and_then(|d| d.get("tool")?.get("uv")?.get("workspace").cloned())
    {
        dirs.extend(expand_all(root, &strings(ws.get("members")), &strings(ws.get("exclude"))));
    }
    if let Some(json) = std::fs::read_to_string(root.join("package.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
    {
        let list = match json.get("workspaces") {
            Some(serde_json::Value::Array(a)) => a.clone(),
            Some(serde_json::Value::Object(o)) => {
                o.get("packages").and_then(|p| p.as_array()).cloned().unwrap_or_default()
            }
            _ => Vec::new(),
        };
        let patterns: Vec<String> = list.iter().filter_map(|v| v.as_str().map(str::to_string)).collect();
        dirs.extend(expand_all(root, &patterns, &[]));
    }
    if let Ok(work) = std::fs::read_to_string(root.join("go.work")) {
        let patterns: Vec<String> = gomod::work_dirs(&work);
        dirs.extend(expand_all(root, &patterns, &[]));
    }
    dirs.into_iter().collect()
}

/// Directories under `root` matching any of `patterns` and none of `exclude`.
fn expand_all(root: &Path, patterns: &[String], exclude: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for pattern in patterns {
        let clean = pattern.trim().trim_start_matches("./").trim_matches('/');
        if clean.is_empty() || clean == "." || clean.split('/').any(|c| c == "..") {
            continue;
        }
        out.extend(crate::version_files::expand_glob(root, clean));
    }
    out.retain(|d| !exclude.iter().any(|e| crate::version_files::glob_match(e.trim_start_matches("./"), d)));
    out
}
