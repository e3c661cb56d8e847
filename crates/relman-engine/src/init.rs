//! `relman init`: write a commented `relman.toml` for the project in a directory.

use std::path::Path;

use relman_manifest::Failure;

use crate::config::{Config, CONFIG_FILE};
use crate::fsutil;
use crate::settings::{cargo_project, host_target};

/// Writes `<dir>/relman.toml`; refuses to overwrite unless `force`. Returns the text written.
pub fn init(dir: &Path, force: bool) -> Result<String, Failure> {
    let path = dir.join(CONFIG_FILE);
    if path.exists() && !force {
        return Err(
            Failure::config(format!("`{}` already exists", path.display())).with_hint("pass --force to replace it")
        );
    }
    let cargo = if dir.join("Cargo.toml").is_file() { Some(cargo_project(dir)?) } else { None };
    let name = cargo
        .as_ref()
        .and_then(|c| c.name.clone())
        .unwrap_or_else(|| dir.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "app".into()));
    let bins =
        cargo.as_ref().map(|c| c.binaries.clone()).filter(|b| !b.is_empty()).unwrap_or_else(|| vec![name.clone()]);
    let repo = cargo.as_ref().and_then(|c| c.repository.clone());
    let q = |s: &str| serde_json::to_string(s).expect("string");
    let list = |v: &[String]| v.iter().map(|s| q(s)).collect::<Vec<_>>().join(", ");
    let mut text = String::new();
    text.push_str("# relman.toml: how this project is released. Every key is optional.\n");
    text.push_str("# Reference: `relman schema` prints the JSON Schema of this file.\n\n");
    text.push_str("[project]\n");
    text.push_str(&format!("name = {}\n", q(&name)));
    match repo {
        Some(r) => text.push_str(&format!("repository = {}\n", q(&r))),
        None => text.push_str("# repository = \"https://github.com/OWNER/REPO\"\n"),
    }
    text.push_str("# Release tags look like v1.2.3; set \"\" for bare versions.\ntag_prefix = \"v\"\n\n");
    text.push_str("[build]\n");
    text.push_str(&format!(
        "# Targets to build. Only installed targets build locally; for others use cross-compilers\n\
         # (`command = \"cross build --release --target {{target}}\"`) or one CI runner per target.\n\
         targets = [{}]\n",
        q(&host_target())
    ));
    text.push_str(&format!("binaries = [{}]\n", list(&bins)));
    if cargo.is_some() {
        text.push_str("# Cargo projects build with `cargo build --release --locked --target T`.\n");
        text.push_str("# For another build system, set a command and where the binaries land:\n");
        text.push_str("# command = \"make TARGET={target}\"\n# output = \"out/{target}/{binary}{exe}\"\n\n");
    } else {
        text.push_str("command = \"make TARGET={target}\"\noutput = \"out/{target}/{binary}{exe}\"\n\n");
    }
    text.push_str("[package]\n# format = \"tar.gz\"          # or \"tar.zst\", \"zip\"\n# windows_format = \"zip\"\n");
    let extras: Vec<String> = ["README.md", "LICENSE", "LICENSE-MIT", "LICENSE-APACHE"]
        .iter()
        .filter(|f| dir.join(f).is_file())
        .map(|s| s.to_string())
        .collect();
    text.push_str(&format!("files = [{}]\n\n", list(&extras)));
    text.push_str("[release]\n# dist = \"dist\"\nto = [\"dir:./dist/releases\"]\n");
    Config::parse(&text, &path.display().to_string())?;
    fsutil::write_atomic(&path, text.as_bytes())?;
    ensure_ignored(dir)?;
    Ok(text)
}

/// Adds `/dist` to `.gitignore` when it is not there.
fn ensure_ignored(dir: &Path) -> Result<(), Failure> {
    let path = dir.join(".gitignore");
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    if current.lines().any(|l| matches!(l.trim(), "/dist" | "dist" | "dist/" | "/dist/")) {
        return Ok(());
    }
    let mut next = current;
    if !next.is_empty() && !next.ends_with('\n') {
        next.push('\n');
    }
    next.push_str("/dist\n");
    fsutil::write_atomic(&path, next.as_bytes())
}
