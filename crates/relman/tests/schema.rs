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
