//! One reproducible image layer: a gzip tar of the files relman adds to a base image.
//!
//! Entries sorted byte-wise, parent directories listed explicitly (0755, root), the given mtime
//! on every entry, no user or group names, a gzip stream without name or time from relman's
//! parallel encoder. The uncompressed tar is hashed on the way (the config's `diff_id`) and the
//! compressed stream too (the layer digest), so each byte is read once and hashed twice.

use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};

use relman_install::hash::HashingWriter;
use relman_manifest::Failure;
use relman_oci::{Digest, Layout};

use crate::config::LayerCompression;
use crate::pgzip::ParGzEncoder;
use crate::report::Reporter;

/// A file (or directory) of a layer: the same entry the archive writer takes, with its owner.
pub use crate::archive::Entry as LayerEntry;

#[derive(Clone, Debug, PartialEq)]
pub struct BuiltLayer {
    /// Digest of the compressed blob (the layer descriptor's).
    pub digest: Digest,
    /// Digest of the uncompressed tar (the config's `rootfs.diff_ids`).
    pub diff_id: Digest,
    /// Compressed size.
    pub size: u64,
}

/// Sorts the files and adds every parent directory they need, once.
pub fn with_parents(files: Vec<LayerEntry>) -> Vec<LayerEntry> {
    let mut all: BTreeMap<String, LayerEntry> = BTreeMap::new();
    for f in files {
        let mut parent = String::new();
        let parts: Vec<&str> = f.path.trim_end_matches('/').split('/').collect();
        for part in &parts[..parts.len().saturating_sub(1)] {
            parent.push_str(part);
            parent.push('/');
            all.entry(parent.clone()).or_insert_with(|| LayerEntry {
                path: parent.clone(),
                source: None,
                size: 0,
                mode: 0o755,
                uid: 0,
                gid: 0,
            });
        }
        all.insert(f.path.clone(), f);
    }
    all.into_values().collect()
}

/// The compressor of a layer: relman's parallel gzip, or zstd on every core (its
/// multi-threaded output does not depend on the thread count).
enum Compressor<W: Write> {
    Gzip(ParGzEncoder<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

impl<W: Write> Compressor<W> {
    fn new(w: W, compression: LayerCompression, level: u32) -> io::Result<Compressor<W>> {
        Ok(match compression {
            LayerCompression::Gzip => Compressor::Gzip(ParGzEncoder::new(w, level.clamp(1, 9), 0)),
            LayerCompression::Zstd => {
                let mut z = zstd::stream::write::Encoder::new(w, level.clamp(1, 19) as i32)?;
                let threads = std::thread::available_parallelism().map(|n| n.get() as u32).unwrap_or(1);
                z.multithread(threads.max(1))?;
                Compressor::Zstd(z)
            }
        })
    }

    fn finish(self) -> io::Result<W> {
        match self {
            Compressor::Gzip(g) => g.finish(),
            Compressor::Zstd(z) => z.finish(),
        }
    }
}

impl<W: Write> Write for Compressor<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Compressor::Gzip(g) => g.write(buf),
            Compressor::Zstd(z) => z.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Compressor::Gzip(g) => g.flush(),
            Compressor::Zstd(z) => z.flush(),
        }
    }
}

/// The layer media type for `compression`.
pub fn media_type(compression: LayerCompression) -> &'static str {
    match compression {
        LayerCompression::Gzip => relman_oci::media::OCI_LAYER_GZIP,
        LayerCompression::Zstd => relman_oci::media::OCI_LAYER_ZSTD,
    }
}

/// Writes the layer into `layout`'s blob store and returns its digests.
pub fn write_layer(
    entries: &[LayerEntry],
    mtime: u64,
    compression: LayerCompression,
    level: u32,
    layout: &Layout,
    reporter: &dyn Reporter,
) -> Result<BuiltLayer, Failure> {
    let dir = layout.root().join("blobs").join("sha256");
    let tmp = tempfile::Builder::new()
        .prefix(&format!("{}layer-", relman_install::lock::TEMP_PREFIX))
        .tempfile_in(&dir)
        .map_err(|e| Failure::io("create a temporary file in", &dir, e))?;
    let file = tmp.as_file().try_clone().map_err(|e| Failure::io("open", tmp.path(), e))?;
    let io_err = |e: io::Error| Failure::package(format!("failed to write an image layer in `{}`: {e}", dir.display()));
    let total: u64 = entries.iter().map(|e| e.size).sum();
    reporter.work_start("layer", total);
    let compressed = HashingWriter::new(BufWriter::with_capacity(1 << 20, file));
    let gz = Compressor::new(compressed, compression, level).map_err(io_err)?;
    let tar_hashing = HashingWriter::new(gz);
    let tar_hashing = crate::archive::write_tar(tar_hashing, entries, mtime, reporter).map_err(io_err)?;
    let (gz, diff_sha, _) = tar_hashing.finish();
    let compressed = gz.finish().map_err(io_err)?;
    let (mut w, sha, size) = compressed.finish();
    w.flush().map_err(io_err)?;
    reporter.work_end();
    drop(w);
    let digest = Digest::from_hex(sha.as_str()).map_err(Failure::internal)?;
    let diff_id = Digest::from_hex(diff_sha.as_str()).map_err(Failure::internal)?;
    let path = tmp.into_temp_path();
    let keep = path.keep().map_err(|e| Failure::io("keep", &dir, e.error))?;
    layout.adopt_blob(&keep, &digest, false).map_err(|e| Failure::io("store", &keep, e))?;
    Ok(BuiltLayer { digest, diff_id, size })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str) -> LayerEntry {
        LayerEntry { path: path.into(), source: None, size: 0, mode: 0o644, uid: 0, gid: 0 }
    }

    #[test]
    fn parents_are_added_once_and_sorted() {
        let got = with_parents(vec![file("usr/local/bin/b"), file("etc/app.toml"), file("usr/local/bin/a")]);
        let paths: Vec<&str> = got.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            ["etc/", "etc/app.toml", "usr/", "usr/local/", "usr/local/bin/", "usr/local/bin/a", "usr/local/bin/b"]
        );
    }

    #[test]
    fn gzip_and_zstd_layers_are_reproducible_and_their_diff_id_is_the_tar() {
        use std::io::Read;
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("app");
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8 ^ (i >> 13) as u8).collect();
        std::fs::write(&src, &data).unwrap();
        let entries = with_parents(vec![LayerEntry {
            path: "usr/local/bin/app".into(),
            source: Some(src),
            size: data.len() as u64,
            mode: 0o755,
            uid: 0,
            gid: 0,
        }]);
        let build = |c: LayerCompression, n: &str| {
            let layout = Layout::create(&dir.path().join(n)).unwrap();
            let built = write_layer(&entries, 1_700_000_000, c, 3, &layout, &crate::report::Silent).unwrap();
            (built, layout)
        };
        for (c, magic) in
            [(LayerCompression::Gzip, &[0x1f, 0x8b][..]), (LayerCompression::Zstd, &[0x28, 0xb5, 0x2f, 0xfd][..])]
        {
            let (a, layout) = build(c, &format!("{c:?}-1"));
            let (b, _) = build(c, &format!("{c:?}-2"));
            assert_eq!(a, b, "{c:?}: same inputs, same layer");
            let blob = layout.read_blob(&a.digest).unwrap();
            assert!(blob.starts_with(magic), "{c:?}");
            let mut tar = Vec::new();
            match c {
                LayerCompression::Gzip => flate2::read::GzDecoder::new(&blob[..]).read_to_end(&mut tar).unwrap(),
                LayerCompression::Zstd => {
                    zstd::stream::read::Decoder::new(&blob[..]).unwrap().read_to_end(&mut tar).unwrap()
                }
            };
            assert_eq!(a.diff_id, Digest::of(&tar), "{c:?}: diff_id is the uncompressed tar's digest");
        }
    }
}
