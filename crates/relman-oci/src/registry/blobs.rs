//! Blobs: existence checks, uploads and downloads.
//!
//! Upload (`push_blob_file`): `HEAD` (present → skipped) → with `mount_from`, `POST
//! ?mount=&from=` (`201` → mounted; `202` → its session is used for the upload) → else `POST`
//! for a session → blobs up to `monolithic_limit`: one streamed `PUT <Location>&digest=`
//! (distribution 2.8 does not complete a `POST ?digest=` with a body); larger: `PATCH` chunks
//! of `chunk_size` with `Content-Range`, then an empty `PUT …&digest=`. Bodies are streamed
//! from the file with a `Content-Length`, never read whole. The registry checks the digest.
//!
//! When an upload fails on the way (reset, timeout, 5xx), it is tried again up to `retries`
//! times: first a `HEAD` (the blob may have landed although the answer was lost); a monolithic
//! upload restarts in a new session; a chunked one asks the session where it stands (`GET
//! <Location>` → `Range: 0-<last>`) and resumes from there, or restarts when the session is
//! gone.
//!
//! Download (`get_blob_to_file`): streamed into a temporary file next to the destination,
//! hashed while written, renamed into place only when the digest matches; an interrupted
//! download starts again (up to `retries` times).

use std::io::{BufWriter, Read, Write};
use std::path::Path;

use relman_manifest::hash::Hasher;
use relman_manifest::{ErrorClass, Failure};

use super::client::{with_query, Client};
use super::send::{sleep_before_retry, Access, Answer, Body, Req, Scope};
use crate::digest::Digest;
use crate::reference::Reference;

/// What pushing one blob did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlobPush {
    /// The bytes were sent (false: the registry had the blob, or mounted it).
    pub uploaded: bool,
    /// The registry mounted it from `mount_from`.
    pub mounted: bool,
    /// Bytes sent (0 unless `uploaded`).
    pub bytes: u64,
}

impl BlobPush {
    const PRESENT: BlobPush = BlobPush { uploaded: false, mounted: false, bytes: 0 };
}

/// Largest blob `get_blob` reads into memory.
const IN_MEMORY_LIMIT: u64 = 256 * 1024 * 1024;
/// Read and write buffer of downloads.
const DOWNLOAD_BUFFER: usize = 256 * 1024;

#[derive(Clone, Copy)]
enum Source<'a> {
    File(&'a Path),
    Bytes(&'a [u8]),
}

/// Where an upload stands between attempts.
struct Upload {
    location: Option<String>,
    offset: u64,
    /// The last request failed mid-way: ask the session for its offset before going on.
    ask_status: bool,
}

enum Started {
    Mounted,
    Session(String),
}

fn no_progress(_: u64) {}

impl Client {
    /// Whether `repo` has the blob (`HEAD`).
    pub fn blob_exists(&self, repo: &Reference, digest: &Digest) -> Result<bool, Failure> {
        self.blob_exists_as(repo, digest, Access::Pull)
    }

    fn blob_exists_as(&self, repo: &Reference, digest: &Digest, access: Access) -> Result<bool, Failure> {
        let req = Req::new(
            "HEAD",
            self.url(repo, &format!("blobs/{digest}")),
            repo.api_host(),
            Scope::new(&repo.repository, access),
            format!("check for blob `{digest}` in `{}`", repo.name()),
        );
        self.send(&req)?.exists(&req)
    }

    /// Pushes the blob stored at `path` (`size` bytes, digest `digest`) unless `repo` has it,
    /// mounting it from `mount_from` (a repository on the same registry) when that works.
    pub fn push_blob_file(
        &self,
        repo: &Reference,
        digest: &Digest,
        size: u64,
        path: &Path,
        mount_from: Option<&str>,
    ) -> Result<BlobPush, Failure> {
        self.push_blob_file_with_progress(repo, digest, size, path, mount_from, &no_progress)
    }

    /// [`Client::push_blob_file`], calling `progress` with the bytes of this blob sent so far
    /// (about every MiB; it goes back when an upload restarts).
    pub fn push_blob_file_with_progress(
        &self,
        repo: &Reference,
        digest: &Digest,
        size: u64,
        path: &Path,
        mount_from: Option<&str>,
        progress: &dyn Fn(u64),
    ) -> Result<BlobPush, Failure> {
        let actual = std::fs::metadata(path).map_err(|e| Failure::io("read", path, e))?.len();
        if actual != size {
            return Err(Failure::verify(format!(
                "cannot push blob `{digest}`: `{}` has {actual} bytes, its descriptor says {size}",
                path.display()
            )));
        }
        self.push_blob(repo, digest, size, Source::File(path), mount_from, progress)
    }

    /// Pushes `bytes` as a blob (a config, a small artifact) unless `repo` has it.
    pub fn push_blob_bytes(&self, repo: &Reference, bytes: &[u8]) -> Result<BlobPush, Failure> {
        let digest = Digest::of(bytes);
        self.push_blob(repo, &digest, bytes.len() as u64, Source::Bytes(bytes), None, &no_progress)
    }

    fn push_blob(
        &self,
        repo: &Reference,
        digest: &Digest,
        size: u64,
        src: Source,
        mount_from: Option<&str>,
        progress: &dyn Fn(u64),
    ) -> Result<BlobPush, Failure> {
        if self.blob_exists_as(repo, digest, Access::Push)? {
            return Ok(BlobPush::PRESENT);
        }
        let mut session = None;
        if let Some(from) = mount_from.filter(|f| *f != repo.repository) {
            match self.start_upload(repo, digest, Some(from))? {
                Started::Mounted => return Ok(BlobPush { uploaded: false, mounted: true, bytes: 0 }),
                Started::Session(location) => session = Some(location),
            }
        }
        let opts = &self.inner.opts;
        let chunked = matches!(src, Source::File(_)) && size > opts.monolithic_limit && opts.chunk_size > 0;
        let mut state = Upload { location: session, offset: 0, ask_status: false };
        let mut attempt = 0;
        loop {
            let result = if chunked {
                self.upload_chunked(repo, digest, size, src, &mut state, progress)
            } else {
                self.upload_whole(repo, digest, size, src, &mut state, progress)
            };
            match result {
                Ok(()) => return Ok(BlobPush { uploaded: true, mounted: false, bytes: size }),
                Err(f) if f.class == ErrorClass::Network && attempt < opts.retries => {
                    sleep_before_retry(attempt);
                    attempt += 1;
                    // The upload may have completed although its answer was lost.
                    if self.blob_exists_as(repo, digest, Access::Push)? {
                        return Ok(BlobPush { uploaded: true, mounted: false, bytes: size });
                    }
                }
                Err(f) => return Err(f),
            }
        }
    }

    fn push_what(repo: &Reference, digest: &Digest) -> String {
        format!("push blob `{digest}` to `{}`", repo.name())
    }

    fn push_scope(repo: &Reference) -> Scope {
        Scope::new(&repo.repository, Access::Push)
    }

    /// `POST …/blobs/uploads/` (with `?mount=&from=` when mounting).
    fn start_upload(&self, repo: &Reference, digest: &Digest, mount_from: Option<&str>) -> Result<Started, Failure> {
        let mut url = self.url(repo, "blobs/uploads/");
        let mut scope = Self::push_scope(repo);
        if let Some(from) = mount_from {
            url = with_query(&with_query(&url, "mount", &digest.to_string()), "from", from);
            scope.mount_from = Some(from.to_string());
        }
        let req = Req::new("POST", url, repo.api_host(), scope, Self::push_what(repo, digest));
        let answer = self.send(&req)?;
        match answer.status {
            201 if mount_from.is_some() => {
                answer.drain();
                Ok(Started::Mounted)
            }
            202 => {
                let location = self.location(repo, &answer, &req)?;
                answer.drain();
                Ok(Started::Session(location))
            }
            _ => Err(answer.unexpected(&req)),
        }
    }

    fn location(&self, repo: &Reference, answer: &Answer, req: &Req) -> Result<String, Failure> {
        match answer.header("location").filter(|l| !l.is_empty()) {
            Some(l) => Ok(self.resolve_location(repo, l)),
            None => Err(Failure::publish(format!(
                "cannot {}: `{}` answered HTTP {} without a Location",
                req.what,
                req.shown_url(),
                answer.status
            ))),
        }
    }

    fn body<'a>(src: Source<'a>, offset: u64, len: u64, progress: &'a dyn Fn(u64)) -> Body<'a> {
        match src {
            Source::File(path) => Body::File { path, offset, len, progress },
            Source::Bytes(b) => Body::Bytes(&b[offset as usize..(offset + len) as usize]),
        }
    }

    /// One session, one streamed `PUT`. A failure spoils the session: the next attempt opens a
    /// new one.
    fn upload_whole(
        &self,
        repo: &Reference,
        digest: &Digest,
        size: u64,
        src: Source,
        state: &mut Upload,
        progress: &dyn Fn(u64),
    ) -> Result<(), Failure> {
        let location = match state.location.take() {
            Some(l) => l,
            None => match self.start_upload(repo, digest, None)? {
                Started::Session(l) => l,
                Started::Mounted => unreachable!("no mount was asked for"),
            },
        };
        let req = Req::new(
            "PUT",
            with_query(&location, "digest", &digest.to_string()),
            repo.api_host(),
            Self::push_scope(repo),
            Self::push_what(repo, digest),
        )
        .header("Content-Type", "application/octet-stream")
        .body(Self::body(src, 0, size, progress))
        .no_retry();
        self.send(&req)?.done(&req)
    }

    /// `PATCH` chunks then an empty `PUT`, resuming from what the session holds.
    fn upload_chunked(
        &self,
        repo: &Reference,
        digest: &Digest,
        size: u64,
        src: Source,
        state: &mut Upload,
        progress: &dyn Fn(u64),
    ) -> Result<(), Failure> {
        if state.ask_status {
            state.ask_status = false;
            if let Some(location) = state.location.take() {
                if let Some((location, offset)) = self.upload_status(repo, digest, &location)? {
                    state.location = Some(location);
                    state.offset = offset;
                }
            }
        }
        let mut location = match state.location.take() {
            Some(l) => l,
            None => {
                state.offset = 0;
                match self.start_upload(repo, digest, None)? {
                    Started::Session(l) => l,
                    Started::Mounted => unreachable!("no mount was asked for"),
                }
            }
        };
        let chunk = self.inner.opts.chunk_size.max(1);
        while state.offset < size {
            let offset = state.offset;
            let len = chunk.min(size - offset);
            let chunk_progress = move |n: u64| progress(offset + n);
            let req = Req::new(
                "PATCH",
                location.clone(),
                repo.api_host(),
                Self::push_scope(repo),
                Self::push_what(repo, digest),
            )
            .header("Content-Type", "application/octet-stream")
            .header("Content-Range", format!("{offset}-{}", offset + len - 1))
            .body(Self::body(src, offset, len, &chunk_progress))
            .no_retry();
            state.location = Some(location.clone());
            let answer = match self.send(&req) {
                Ok(a) => a,
                Err(f) => {
                    state.ask_status = true;
                    return Err(f);
                }
            };
            match answer.status {
                202 | 204 => {
                    location = self.location(repo, &answer, &req)?;
                    answer.drain();
                    state.offset = offset + len;
                    state.location = Some(location.clone());
                }
                416 => {
                    answer.drain();
                    state.ask_status = true;
                    return Err(Failure::network(format!(
                        "cannot {}: the upload session at `{}` is not at byte {offset}",
                        req.what,
                        req.shown_url()
                    )));
                }
                404 => {
                    answer.drain();
                    state.location = None;
                    return Err(Failure::network(format!(
                        "cannot {}: the upload session at `{}` is gone",
                        req.what,
                        req.shown_url()
                    )));
                }
                _ => return Err(answer.unexpected(&req)),
            }
        }
        let req = Req::new(
            "PUT",
            with_query(&location, "digest", &digest.to_string()),
            repo.api_host(),
            Self::push_scope(repo),
            Self::push_what(repo, digest),
        )
        .no_retry();
        let answer = match self.send(&req) {
            Ok(a) => a,
            Err(f) => {
                state.ask_status = true;
                return Err(f);
            }
        };
        answer.done(&req)
    }

    /// Where an upload session stands: its new location and the next byte it expects, or
    /// `None` when it is gone (or cannot say unambiguously).
    fn upload_status(
        &self,
        repo: &Reference,
        digest: &Digest,
        location: &str,
    ) -> Result<Option<(String, u64)>, Failure> {
        let req = Req::new(
            "GET",
            location.to_string(),
            repo.api_host(),
            Self::push_scope(repo),
            Self::push_what(repo, digest),
        );
        let answer = self.send(&req)?;
        if !(200..=299).contains(&answer.status) {
            answer.drain();
            return Ok(None);
        }
        let range =
            answer.header("range").and_then(|r| r.trim().strip_prefix("0-")).and_then(|end| end.parse::<u64>().ok());
        let location =
            answer.header("location").map(|l| self.resolve_location(repo, l)).unwrap_or_else(|| location.to_string());
        answer.drain();
        // `0-0` means both "nothing" and "one byte" to distribution: start over then.
        Ok(range.filter(|end| *end > 0).map(|end| (location, end + 1)))
    }

    /// Fetches a blob into memory and checks its digest (at most 256 MiB: large blobs go to
    /// files with [`Client::get_blob_to_file`]).
    pub fn get_blob(&self, repo: &Reference, digest: &Digest) -> Result<Vec<u8>, Failure> {
        let mut attempt = 0;
        loop {
            let mut out = Vec::new();
            match self.download(repo, digest, &mut out, IN_MEMORY_LIMIT, &no_progress) {
                Ok(_) => {
                    let actual = Digest::of(&out);
                    return if &actual == digest { Ok(out) } else { Err(mismatch(repo, digest, &actual)) };
                }
                Err(f) if f.class == ErrorClass::Network && attempt < self.inner.opts.retries => {
                    sleep_before_retry(attempt);
                    attempt += 1;
                }
                Err(f) => return Err(f),
            }
        }
    }

    /// Streams a blob to `dest` (atomically: a temporary file in the same directory, renamed
    /// when complete and verified); returns its size.
    pub fn get_blob_to_file(&self, repo: &Reference, digest: &Digest, dest: &Path) -> Result<u64, Failure> {
        self.get_blob_to_file_with_progress(repo, digest, None, dest, &no_progress)
    }

    /// [`Client::get_blob_to_file`], calling `progress` with the bytes received so far. With
    /// `size` (the descriptor's), a registry sending more is cut off there: a file never grows
    /// past what the manifest promised.
    pub fn get_blob_to_file_with_progress(
        &self,
        repo: &Reference,
        digest: &Digest,
        size: Option<u64>,
        dest: &Path,
        progress: &dyn Fn(u64),
    ) -> Result<u64, Failure> {
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let mut attempt = 0;
        loop {
            let tmp = tempfile::Builder::new()
                .prefix(".download-")
                .tempfile_in(dir)
                .map_err(|e| Failure::io("create a temporary file in", dir, e))?;
            let mut writer = BufWriter::with_capacity(DOWNLOAD_BUFFER, tmp);
            match self.download(repo, digest, &mut writer, size.unwrap_or(u64::MAX), progress) {
                Ok((actual, size)) => {
                    if &actual != digest {
                        return Err(mismatch(repo, digest, &actual));
                    }
                    let tmp = writer.into_inner().map_err(|e| Failure::io("write", dest, e.into_error()))?;
                    tmp.as_file().sync_data().map_err(|e| Failure::io("write", dest, e))?;
                    tmp.persist(dest).map_err(|e| Failure::io("write", dest, e.error))?;
                    return Ok(size);
                }
                Err(f) if f.class == ErrorClass::Network && attempt < self.inner.opts.retries => {
                    sleep_before_retry(attempt);
                    attempt += 1;
                }
                Err(f) => return Err(f),
            }
        }
    }

    /// One `GET` of a blob into `out`, hashed on the way; network failures are retriable.
    fn download(
        &self,
        repo: &Reference,
        digest: &Digest,
        out: &mut dyn Write,
        limit: u64,
        progress: &dyn Fn(u64),
    ) -> Result<(Digest, u64), Failure> {
        let req = Req::new(
            "GET",
            self.url(repo, &format!("blobs/{digest}")),
            repo.api_host(),
            Scope::new(&repo.repository, Access::Pull),
            format!("fetch blob `{digest}` from `{}`", repo.name()),
        );
        let answer = self.send(&req)?;
        if answer.status != 200 {
            return Err(answer.unexpected(&req));
        }
        let mut reader = answer.response.into_reader();
        let mut hasher = Hasher::new();
        let mut buf = vec![0u8; DOWNLOAD_BUFFER];
        let mut total = 0u64;
        let mut reported = 0u64;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(Failure::network(format!(
                        "cannot {}: the download from `{}` broke off after {total} bytes: {e}",
                        req.what,
                        req.shown_url()
                    )))
                }
            };
            total += n as u64;
            if total > limit {
                return Err(if limit == IN_MEMORY_LIMIT {
                    Failure::publish(format!(
                        "cannot {}: it is larger than {limit} bytes; fetch it to a file",
                        req.what
                    ))
                } else {
                    Failure::verify(format!(
                        "cannot {}: the registry sent more than the {limit} bytes its descriptor says",
                        req.what
                    ))
                });
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n])
                .map_err(|e| Failure::internal(format!("cannot {}: writing failed: {e}", req.what)))?;
            if total - reported >= 1 << 20 {
                reported = total;
                progress(total);
            }
        }
        out.flush().map_err(|e| Failure::internal(format!("cannot {}: writing failed: {e}", req.what)))?;
        progress(total);
        Ok((Digest::from_sha256(hasher), total))
    }
}

fn mismatch(repo: &Reference, digest: &Digest, actual: &Digest) -> Failure {
    Failure::verify(format!("blob `{digest}` from `{}` has the content of `{actual}`; refusing it", repo.name()))
}
