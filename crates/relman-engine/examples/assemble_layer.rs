//! A small driver for `scripts/bench-oci`: writes one image layer of a directory's files the way
//! `relman package` writes an image's layer, into an OCI layout, and prints its digests.
//!
//! ```text
//! assemble_layer DIR OUT_LAYOUT_DIR
//! ```
//!
//! Entries: every regular file and directory under DIR (symlinks and others skipped), paths
//! relative to DIR, modes from the files, uid = gid = 0, mtime = `SOURCE_DATE_EPOCH` (0 when
//! unset), level 6 (the engine's default for image layers). Output: one line of JSON,
//! `{"digest":..., "diff_id":..., "size":...}`.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use relman_engine::config::LayerCompression;
use relman_engine::image::layer::{self, LayerEntry};
use relman_engine::report::Silent;
use relman_oci::Layout;

/// The level `image::image_from_files` uses when `level` is not configured.
const LEVEL: u32 = 6;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, out] = args.as_slice() else {
        eprintln!("usage: assemble_layer DIR OUT_LAYOUT_DIR");
        return ExitCode::from(2);
    };
    let mut entries = Vec::new();
    if let Err(e) = walk(Path::new(dir), "", &mut entries) {
        eprintln!("assemble_layer: {dir}: {e}");
        return ExitCode::FAILURE;
    }
    let entries = layer::with_parents(entries);
    let mtime = std::env::var("SOURCE_DATE_EPOCH").ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    let layout = match Layout::create(Path::new(out)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("assemble_layer: {out}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match layer::write_layer(&entries, mtime, LayerCompression::Gzip, LEVEL, &layout, &Silent) {
        Ok(built) => {
            let json = serde_json::json!({
                "digest": built.digest.to_string(),
                "diff_id": built.diff_id.to_string(),
                "size": built.size,
            });
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("assemble_layer: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Adds the directories and regular files under `dir` (as `prefix`...), sorted by name.
fn walk(dir: &Path, prefix: &str, entries: &mut Vec<LayerEntry>) -> io::Result<()> {
    let mut children: Vec<(String, PathBuf)> = fs::read_dir(dir)?
        .map(|e| e.map(|e| (e.file_name().to_string_lossy().into_owned(), e.path())))
        .collect::<io::Result<_>>()?;
    children.sort();
    for (name, path) in children {
        let meta = fs::symlink_metadata(&path)?;
        let mode = meta.permissions().mode() & 0o7777;
        if meta.is_dir() {
            let rel = format!("{prefix}{name}/");
            entries.push(LayerEntry { path: rel.clone(), source: None, size: 0, mode, uid: 0, gid: 0 });
            walk(&path, &rel, entries)?;
        } else if meta.is_file() {
            let rel = format!("{prefix}{name}");
            entries.push(LayerEntry { path: rel, source: Some(path), size: meta.len(), mode, uid: 0, gid: 0 });
        }
    }
    Ok(())
}
