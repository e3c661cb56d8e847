//! Reproducible archive writers: tar, `.tar.gz` (relman's parallel gzip) and zip, from a list
//! of [`Entry`]s in order, with one mtime and fixed owners. Used by packaging, chart `.tgz`s
//! and image layers; the caller decides names, order and modes.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;

use relman_install::hash::HashingWriter;
use relman_manifest::Sha256;

use crate::pgzip::ParGzEncoder;
use crate::report::Reporter;

/// One file (or directory) inside an archive or an image layer.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Path inside the archive; directories end with `/`.
    pub path: String,
    /// The file's bytes; `None` for a directory.
    pub source: Option<PathBuf>,
    pub mode: u32,
    pub size: u64,
    /// Owner and group (0 in archives; configurable in image layers).
    pub uid: u64,
    pub gid: u64,
}

/// Writes `entries` to `file` as a reproducible `.tar.gz` (relman's parallel gzip at `level`,
/// no name or time in the gzip header); returns the sha256 and size of what it wrote.
pub(crate) fn write_tar_gz(
    file: File,
    entries: &[Entry],
    mtime: u64,
    level: u32,
    reporter: &dyn Reporter,
) -> io::Result<(Sha256, u64)> {
    let hashing = HashingWriter::new(BufWriter::with_capacity(1 << 20, file));
    let gz = ParGzEncoder::new(hashing, level.min(9), 0);
    let gz = write_tar(gz, entries, mtime, reporter)?;
    let (mut w, sha, n) = gz.finish()?.finish();
    w.flush()?;
    Ok((sha, n))
}

/// Writes a reproducible tar of `entries` (in order) with `mtime` on every entry.
pub(crate) fn write_tar<W: Write>(w: W, entries: &[Entry], mtime: u64, reporter: &dyn Reporter) -> io::Result<W> {
    let mut builder = tar::Builder::new(w);
    for e in entries {
        let mut header = tar::Header::new_gnu();
        header.set_mtime(mtime);
        header.set_uid(e.uid);
        header.set_gid(e.gid);
        header.set_username("")?;
        header.set_groupname("")?;
        header.set_mode(e.mode);
        match &e.source {
            None => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                builder.append_data(&mut header, &e.path, io::empty())?;
            }
            Some(src) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(e.size);
                let file =
                    File::open(src).map_err(|err| io::Error::new(err.kind(), format!("{}: {err}", src.display())))?;
                let reader = Progress { inner: file, reporter, remaining: e.size };
                builder.append_data(&mut header, &e.path, reader)?;
            }
        }
    }
    builder.into_inner()
}

pub(crate) fn write_zip(
    file: File,
    entries: &[Entry],
    mtime: u64,
    level: Option<u32>,
    reporter: &dyn Reporter,
) -> io::Result<()> {
    use zip::write::SimpleFileOptions;
    let mut zip = zip::ZipWriter::new(BufWriter::with_capacity(1 << 20, file));
    let (y, mo, d, h, mi, s) = relman_manifest::time::civil(mtime as i64);
    let time =
        zip::DateTime::from_date_and_time(y.clamp(1980, 2107) as u16, mo as u8, d as u8, h as u8, mi as u8, s as u8)
            .unwrap_or_default();
    for e in entries {
        let opts = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(level.unwrap_or(6).min(9) as i64))
            .last_modified_time(time)
            .unix_permissions(e.mode);
        match &e.source {
            None => zip.add_directory(e.path.trim_end_matches('/'), opts).map_err(io::Error::other)?,
            Some(src) => {
                zip.start_file(e.path.as_str(), opts).map_err(io::Error::other)?;
                let mut reader = Progress { inner: File::open(src)?, reporter, remaining: e.size };
                io::copy(&mut reader, &mut zip)?;
            }
        }
    }
    let mut w = zip.finish().map_err(io::Error::other)?;
    w.flush()
}

/// Reports bytes read to the reporter.
struct Progress<'a, R> {
    inner: R,
    reporter: &'a dyn Reporter,
    remaining: u64,
}

impl<R: Read> Read for Progress<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && self.remaining > 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "file shrank while it was being archived"));
        }
        self.remaining = self.remaining.saturating_sub(n as u64);
        self.reporter.work_advance(n as u64);
        Ok(n)
    }
}

/// A size for people: `12 B`, `1.5 MiB`.
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
