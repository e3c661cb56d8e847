//! The committed JSON Schemas under `schema/` must match what relman generates.
//! Regenerate with `RELMAN_BLESS=1 cargo test -p relman --test schema`.

mod common;

use std::path::PathBuf;

fn check(doc: &str, file: &str) {
    let out = common::run_in(std::path::Path::new("."), &["schema", doc]);
    out.ok();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schema").join(file);
    if std::env::var_os("RELMAN_BLESS").is_some() {
        std::fs::write(&path, &out.stdout).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == out.stdout,
        "{} is stale: run `RELMAN_BLESS=1 cargo test -p relman --test schema` and commit it",
        path.display()
    );
    // And it is a JSON Schema.
    let v: serde_json::Value = serde_json::from_str(&committed).unwrap();
    assert!(v["$schema"].as_str().unwrap().contains("json-schema.org"));
}

#[test]
fn config_schema_is_committed_and_current() {
    check("config", "relman.schema.json");
}

#[test]
fn manifest_schema_is_committed_and_current() {
    check("manifest", "manifest.schema.json");
}

#[test]
fn index_schema_is_committed_and_current() {
    check("index", "index.schema.json");
}

#[test]
fn config_schema_forbids_unknown_keys() {
    let out = common::run_in(std::path::Path::new("."), &["schema"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["additionalProperties"], false);
    assert_eq!(v["definitions"]["BuildConfig"]["additionalProperties"], false);
}

/// A reader that goes away (`relman schema | head -1`, `relman notes | head -1`) ends relman
/// quietly with 141, as coreutils end under SIGPIPE: no panic, no message. The pipe's read end
/// is closed before relman writes anything.
#[test]
fn a_closed_stdout_ends_quietly() {
    use std::process::{Command, Stdio};
    for args in [&["schema"][..], &["completions", "bash"][..], &["man"][..]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_relman"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(141), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}
