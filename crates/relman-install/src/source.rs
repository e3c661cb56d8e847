//! Where release files come from: a local path or an `http(s)://` URL.
//!
//! Inputs: a location as the user typed it (`./releases`, `file:///srv/rel`,
//! `https://user:token@example.com/app`). Outputs: bytes of small files, downloads streamed to a
//! file and hashed in the same pass, existence checks.
//!
//! Invariants:
//! * Credentials in a URL (`user:pass@`) are sent as HTTP basic auth and never reach a message:
//!   [`Location`]'s `Display` and `Debug`, and every [`Failure`] built here, use [`redact`].
//! * A URL that fails on the way (refused, reset, timed out, cut short, HTTP 429/5xx) is tried
//!   again up to 4 times with backoff; a download cut short starts again from zero.
//! * One shared HTTP agent with connect and read timeouts; an HTTP error status becomes a
//!   [`ErrorClass::Network`](relman_manifest::ErrorClass) failure naming the URL and the status;
//!   `404`/`410` mean "not there" to the `*_optional` functions and [`exists`].
//! * Small documents are read with a size limit, so a hostile server cannot make us buffer
//!   gigabytes; downloads can be capped at the size the index promises.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use relman_manifest::{Failure, Sha256};

use crate::hash::{HashingWriter, CHUNK_SIZE};

/// A release location: a local path or an `http://` / `https://` URL.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    Path(PathBuf),
    /// The URL as given, credentials included (they are needed for the requests).
    Url(String),
}

impl Location {
    /// `http://` and `https://` give a URL, `file://` a path, anything else is a path.
    pub fn parse(s: &str) -> Location {
        if has_scheme(s, "http") || has_scheme(s, "https") {
            Location::Url(s.to_string())
        } else if has_scheme(s, "file") {
            let rest = &s["file://".len()..];
            let rest = rest.strip_prefix("localhost").filter(|r| r.starts_with('/')).unwrap_or(rest);
            Location::Path(PathBuf::from(percent_decode(rest)))
        } else {
            Location::Path(PathBuf::from(s))
        }
    }

    /// The location of `rel` (a `/`-separated relative path) inside this directory location.
    pub fn join(&self, rel: &str) -> Location {
        match self {
            Location::Path(p) => Location::Path(p.join(rel)),
            Location::Url(u) => {
                let base = strip_query(u).trim_end_matches('/');
                Location::Url(format!("{base}/{}", rel.trim_start_matches("./")))
            }
        }
    }

    /// The directory holding this location; `None` at the top (a bare host or `/`).
    pub fn parent(&self) -> Option<Location> {
        match self {
            Location::Path(p) => {
                let parent = p.parent()?;
                Some(Location::Path(if parent.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    parent.to_path_buf()
                }))
            }
            Location::Url(u) => {
                let base = strip_query(u).trim_end_matches('/');
                let path_start = base.find("://").map(|i| i + 3).unwrap_or(0);
                let host_end = base[path_start..].find('/').map(|i| i + path_start)?;
                let slash = base.rfind('/')?;
                (slash >= host_end).then(|| Location::Url(base[..slash].to_string()))
            }
        }
    }

    /// The last path segment (percent-decoded for URLs), if any.
    pub fn file_name(&self) -> Option<String> {
        match self {
            Location::Path(p) => p.file_name().map(|n| n.to_string_lossy().into_owned()),
            Location::Url(u) => {
                let base = strip_query(u);
                let path_start = base.find("://").map(|i| i + 3).unwrap_or(0);
                let path = &base[path_start..];
                let (_, last) = path.rsplit_once('/')?;
                (!last.is_empty()).then(|| percent_decode(last))
            }
        }
    }

    /// For messages: the path, or the URL with credentials replaced by `****`.
    pub fn display(&self) -> String {
        match self {
            Location::Path(p) => p.display().to_string(),
            Location::Url(u) => redact(u),
        }
    }

    /// The file beside this one whose name is this one's plus `suffix` (`app.tar.gz` →
    /// `app.tar.gz.sigstore.json`). A URL loses its query and fragment.
    pub fn with_suffix(&self, suffix: &str) -> Location {
        match self {
            Location::Path(p) => {
                let mut name = p.as_os_str().to_owned();
                name.push(suffix);
                Location::Path(PathBuf::from(name))
            }
            Location::Url(u) => Location::Url(format!("{}{suffix}", strip_query(u))),
        }
    }

    pub fn is_url(&self) -> bool {
        matches!(self, Location::Url(_))
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Path(p) => f.debug_tuple("Path").field(p).finish(),
            Location::Url(_) => f.debug_tuple("Url").field(&self.display()).finish(),
        }
    }
}

fn has_scheme(s: &str, scheme: &str) -> bool {
    s.len() > scheme.len() + 3 && s[..scheme.len()].eq_ignore_ascii_case(scheme) && s[scheme.len()..].starts_with("://")
}

fn strip_query(u: &str) -> &str {
    u.find(['?', '#']).map_or(u, |i| &u[..i])
}

/// Splits `scheme://userinfo@rest` into (`scheme`, userinfo, `rest`); `None` without a scheme.
fn split_userinfo(url: &str) -> Option<(&str, Option<&str>, &str)> {
    let scheme_end = url.find("://")?;
    let after = &url[scheme_end + 3..];
    let authority_end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let authority = &after[..authority_end];
    Some(match authority.rfind('@') {
        Some(at) => (&url[..scheme_end], Some(&authority[..at]), &after[at + 1..]),
        None => (&url[..scheme_end], None, after),
    })
}

/// Replaces any `user:password@` in a URL with `****@`; other strings are returned unchanged.
pub fn redact(url: &str) -> String {
    match split_userinfo(url) {
        Some((scheme, Some(_), rest)) => format!("{scheme}://****@{rest}"),
        _ => url.to_string(),
    }
}

/// Replaces the `user:password@` of every URL inside `text` (a message, a log line, a JSON
/// document) with `****@`. The safety net the CLI applies to everything it prints.
pub fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| {
                c.is_whitespace() || matches!(c, '/' | '?' | '#' | '`' | '\'' | '"' | '<' | '>' | ')' | ',')
            })
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(i) if i > 0 => {
                out.push_str("****");
                out.push_str(&authority[i..]);
            }
            _ => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// True when a URL's credentials were redacted (a receipt keeps no secrets).
pub(crate) fn is_redacted(url: &str) -> bool {
    matches!(split_userinfo(url), Some((_, Some("****"), _)))
}

/// The URL without credentials, and an `Authorization` header value when it had some.
fn request_parts(url: &str) -> (String, Option<String>) {
    match split_userinfo(url) {
        Some((scheme, Some(userinfo), rest)) => {
            let (user, pass) = userinfo.split_once(':').unwrap_or((userinfo, ""));
            let plain = format!("{}:{}", percent_decode(user), percent_decode(pass));
            (format!("{scheme}://{rest}"), Some(format!("Basic {}", base64(plain.as_bytes()))))
        }
        _ => (url.to_string(), None),
    }
}

/// Decodes `%XX` escapes (invalid ones kept as they are).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn base64(input: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(TABLE[(n >> shift & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The HTTP agent relman uses for plain downloads and service calls (one per process).
pub fn agent() -> &'static ureq::Agent {
    static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(15))
            .timeout_read(Duration::from_secs(60))
            .timeout_write(Duration::from_secs(60))
            .user_agent(concat!("relman/", env!("CARGO_PKG_VERSION")))
            .build()
    })
}

fn call(method: &str, url: &str, auth: Option<&str>) -> Result<ureq::Response, Box<ureq::Error>> {
    let mut request = agent().request(method, url);
    if let Some(auth) = auth {
        request = request.set("Authorization", auth);
    }
    request.call().map_err(Box::new)
}

/// Retries after the first attempt for a URL that fails on the way (connection refused or
/// reset, a timeout, an answer cut short, HTTP 429 or 5xx), with backoff from 100 ms.
const RETRIES: u32 = 4;

/// A failed attempt, and whether trying again may help.
type Attempt<T> = Result<T, (Failure, bool)>;

fn fatal(f: Failure) -> (Failure, bool) {
    (f, false)
}

/// Runs `attempt` until it succeeds, fails for good, or has failed `1 + RETRIES` times.
fn retry<T>(mut attempt: impl FnMut() -> Attempt<T>) -> Result<T, Failure> {
    let mut failed = 0;
    loop {
        match attempt() {
            Ok(v) => return Ok(v),
            Err((_, true)) if failed < RETRIES => {
                std::thread::sleep(Duration::from_millis(100u64 << failed.min(4)));
                failed += 1;
            }
            Err((mut f, transient)) => {
                if transient && failed > 0 {
                    f.message.push_str(&format!(" (after {} attempts)", failed + 1));
                }
                return Err(f);
            }
        }
    }
}

/// Sends a request once; `Ok(None)` for 404 and 410. A `HEAD` refused with 403/405/501 is
/// sent again as `GET`.
fn http_once(method: &str, url: &str) -> Attempt<Option<ureq::Response>> {
    let (clean, auth) = request_parts(url);
    let mut result = call(method, &clean, auth.as_deref());
    // Some servers refuse HEAD where GET works (405/501; a 403 from stores whose policy names
    // only GetObject): ask with GET.
    if method == "HEAD" && matches!(result.as_ref().map_err(|e| &**e), Err(ureq::Error::Status(403 | 405 | 501, _))) {
        result = call("GET", &clean, auth.as_deref());
    }
    match result.map_err(|e| *e) {
        Ok(response) => Ok(Some(response)),
        Err(ureq::Error::Status(404 | 410, _)) => Ok(None),
        Err(ureq::Error::Status(code, response)) => {
            let failure = Failure::network(format!(
                "`{}` answered HTTP {code} {}",
                redact(url),
                response.status_text().chars().filter(|c| !c.is_control()).collect::<String>()
            ));
            match code {
                401 | 403 => {
                    Err(fatal(failure.with_hint("check the credentials in the URL (`https://user:token@host/...`)")))
                }
                429 | 500..=599 => Err((failure, true)),
                _ => Err(fatal(failure)),
            }
        }
        Err(ureq::Error::Transport(t)) => {
            let kind = t.kind().to_string().to_lowercase();
            let mut message = format!("cannot reach `{}`: {kind}", redact(url));
            if let Some(detail) = t.message() {
                message.push_str(": ");
                message.push_str(detail);
            }
            if let Some(source) = std::error::Error::source(&t) {
                message.push_str(": ");
                message.push_str(&source.to_string());
            }
            Err((Failure::network(message), true))
        }
    }
}

/// The failure for a location that does not exist.
pub(crate) fn not_found(loc: &Location) -> Failure {
    match loc {
        Location::Path(p) => Failure::usage(format!("`{}` does not exist", p.display())),
        Location::Url(u) => Failure::network(format!("`{}` answered HTTP 404 not found", redact(u))),
    }
}

fn too_large(loc: &Location, limit: u64) -> Failure {
    Failure::verify(format!("`{loc}` is larger than {limit} bytes; refusing to read it"))
}

/// Reads a small file (JSON, checksums) whole; refuses more than `limit` bytes.
pub fn read_bytes(loc: &Location, limit: u64) -> Result<Vec<u8>, Failure> {
    read_optional(loc, limit)?.ok_or_else(|| not_found(loc))
}

/// Like [`read_bytes`], but a missing file (or HTTP 404/410) is `Ok(None)`.
pub fn read_optional(loc: &Location, limit: u64) -> Result<Option<Vec<u8>>, Failure> {
    let read = |reader: Box<dyn Read>| -> Attempt<Vec<u8>> {
        let mut bytes = Vec::new();
        reader.take(limit + 1).read_to_end(&mut bytes).map_err(|e| (read_failure(loc, 0, e), loc.is_url()))?;
        if bytes.len() as u64 > limit {
            return Err(fatal(too_large(loc, limit)));
        }
        Ok(bytes)
    };
    match loc {
        Location::Path(p) => match File::open(p) {
            Ok(f) => {
                let meta = f.metadata().map_err(|e| Failure::io("read", p, e))?;
                if meta.is_dir() {
                    return Err(Failure::usage(format!("`{}` is a directory, not a file", p.display())));
                }
                if meta.len() > limit {
                    return Err(too_large(loc, limit));
                }
                read(Box::new(f)).map(Some).map_err(|(f, _)| f)
            }
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(Failure::io("read", p, e)),
        },
        Location::Url(u) => retry(|| {
            let Some(response) = http_once("GET", u)? else {
                return Ok(None);
            };
            if response.header("Content-Length").and_then(|v| v.trim().parse::<u64>().ok()).is_some_and(|n| n > limit) {
                return Err(fatal(too_large(loc, limit)));
            }
            read(response.into_reader()).map(Some)
        }),
    }
}

fn is_missing(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory)
}

fn read_failure(loc: &Location, after: u64, e: io::Error) -> Failure {
    match loc {
        Location::Path(p) => Failure::io("read", p, e),
        Location::Url(u) => Failure::network(format!("download of `{}` failed after {after} bytes: {e}", redact(u))),
    }
}

/// Whether the location exists (a 404/410 answer means no).
pub fn exists(loc: &Location) -> Result<bool, Failure> {
    match loc {
        Location::Path(p) => match fs::metadata(p) {
            Ok(_) => Ok(true),
            Err(e) if is_missing(&e) => Ok(false),
            Err(e) => Err(Failure::io("read", p, e)),
        },
        Location::Url(u) => Ok(retry(|| http_once("HEAD", u))?.is_some()),
    }
}

/// Streams the location into a new file at `dest`, hashing in the same pass.
pub fn download_to(loc: &Location, dest: &Path) -> Result<(Sha256, u64), Failure> {
    download_limited(loc, dest, None)?.ok_or_else(|| not_found(loc))
}

/// [`download_to`] that stops with a Verify failure past `max` bytes; `Ok(None)` when missing.
/// A download cut short is started again from zero (the file is rewritten, and rehashed).
pub(crate) fn download_limited(
    loc: &Location,
    dest: &Path,
    max: Option<u64>,
) -> Result<Option<(Sha256, u64)>, Failure> {
    attempts(loc, || {
        let Some(mut reader) = open(loc)? else {
            return Ok(None);
        };
        let file = File::create(dest).map_err(|e| fatal(write_failure(dest, e)))?;
        let mut out = HashingWriter::new(file);
        stream(loc, &mut reader, &mut out, max, dest)?;
        let (file, digest, size) = out.finish();
        file.sync_all().map_err(|e| fatal(write_failure(dest, e)))?;
        Ok(Some((digest, size)))
    })
}

/// Runs `attempt` once for a path, with retries for a URL.
fn attempts<T>(loc: &Location, attempt: impl FnMut() -> Attempt<T>) -> Result<T, Failure> {
    let mut attempt = attempt;
    match loc {
        Location::Path(_) => attempt().map_err(|(f, _)| f),
        Location::Url(_) => retry(attempt),
    }
}

/// Hashes the location without keeping it; `Ok(None)` when missing.
pub fn hash_location(loc: &Location) -> Result<Option<(Sha256, u64)>, Failure> {
    if let Location::Path(p) = loc {
        return match crate::hash::sha256_file(p) {
            Ok(found) => Ok(Some(found)),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(Failure::io("read", p, e)),
        };
    }
    attempts(loc, || {
        let Some(mut reader) = open(loc)? else {
            return Ok(None);
        };
        let mut out = HashingWriter::new(io::sink());
        stream(loc, &mut reader, &mut out, None, Path::new("-"))?;
        let (_, digest, size) = out.finish();
        Ok(Some((digest, size)))
    })
}

fn open(loc: &Location) -> Attempt<Option<Box<dyn Read>>> {
    match loc {
        Location::Path(p) => match File::open(p) {
            Ok(f) if f.metadata().is_ok_and(|m| m.is_dir()) => {
                Err(fatal(Failure::usage(format!("`{}` is a directory, not a file", p.display()))))
            }
            Ok(f) => Ok(Some(Box::new(f))),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(fatal(Failure::io("read", p, e))),
        },
        Location::Url(u) => Ok(http_once("GET", u)?.map(|r| -> Box<dyn Read> { r.into_reader() })),
    }
}

fn write_failure(dest: &Path, e: io::Error) -> Failure {
    Failure::install(format!("cannot write `{}`: {e}", dest.display()))
}

/// Copies `reader` to `out`; a read failure of a URL may be retried, nothing else.
fn stream(loc: &Location, reader: &mut dyn Read, out: &mut dyn Write, max: Option<u64>, dest: &Path) -> Attempt<()> {
    let mut buf = vec![0u8; CHUNK_SIZE];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return out.flush().map_err(|e| fatal(write_failure(dest, e))),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err((read_failure(loc, total, e), loc.is_url())),
        };
        total += n as u64;
        if let Some(max) = max.filter(|&max| total > max) {
            return Err(fatal(Failure::verify(format!("`{loc}` is larger than the {max} bytes expected"))));
        }
        out.write_all(&buf[..n]).map_err(|e| fatal(write_failure(dest, e)))?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_inside_text_are_redacted() {
        assert_eq!(
            redact_text("`oci://u:p4ss@host:5000/a/b` and https://tok@x.dev/y?q, http://plain/z"),
            "`oci://****@host:5000/a/b` and https://****@x.dev/y?q, http://plain/z"
        );
        assert_eq!(redact_text("{\"url\":\"https://a:b@c\"}"), "{\"url\":\"https://****@c\"}");
        assert_eq!(redact_text("no urls: a@b, ://@x"), "no urls: a@b, ://@x");
        assert_eq!(redact_text("oci://u:p@ss@host/x"), "oci://****@host/x");
    }

    #[test]
    fn parse_recognises_schemes() {
        assert_eq!(Location::parse("https://h/x"), Location::Url("https://h/x".into()));
        assert_eq!(Location::parse("HTTP://h/x"), Location::Url("HTTP://h/x".into()));
        assert_eq!(Location::parse("file:///srv/a%20b"), Location::Path("/srv/a b".into()));
        assert_eq!(Location::parse("file://localhost/srv"), Location::Path("/srv".into()));
        assert_eq!(Location::parse("./rel"), Location::Path("./rel".into()));
        assert_eq!(Location::parse("http:/x"), Location::Path("http:/x".into()));
    }

    #[test]
    fn join_parent_and_file_name() {
        let root = Location::parse("https://u:p@h:8/r/?sig=1");
        assert_eq!(root.join("1.2.0/index.json"), Location::Url("https://u:p@h:8/r/1.2.0/index.json".into()));
        let idx = root.join("1.2.0/index.json");
        assert_eq!(idx.file_name().as_deref(), Some("index.json"));
        assert_eq!(idx.parent().unwrap(), Location::Url("https://u:p@h:8/r/1.2.0".into()));
        assert_eq!(Location::parse("https://h/r").parent().unwrap(), Location::Url("https://h".into()));
        assert_eq!(Location::parse("https://h").parent(), None);
        assert_eq!(Location::parse("https://h/").file_name(), None);
        assert_eq!(Location::parse("https://h/a%2Bb.zip").file_name().as_deref(), Some("a+b.zip"));
        assert_eq!(Location::parse("index.json").parent().unwrap(), Location::Path(".".into()));
        assert_eq!(Location::parse("/r").join("x"), Location::Path("/r/x".into()));
    }

    #[test]
    fn suffixes_name_the_file_beside() {
        assert_eq!(
            Location::parse("https://u:p@h/r/a.tar.gz?x=1").with_suffix(".sig"),
            Location::Url("https://u:p@h/r/a.tar.gz.sig".into())
        );
        assert_eq!(
            Location::parse("/r/index.json").with_suffix(".sigstore.json"),
            Location::Path("/r/index.json.sigstore.json".into())
        );
    }

    #[test]
    fn credentials_never_displayed() {
        let loc = Location::parse("https://alice:s3cr3t@example.com/app/1.0/index.json");
        for shown in [loc.display(), loc.to_string(), format!("{loc:?}")] {
            assert!(!shown.contains("alice") && !shown.contains("s3cr3t"), "{shown}");
            assert!(shown.contains("https://****@example.com/app/1.0/index.json"), "{shown}");
        }
        assert_eq!(redact("https://tok@h/x@y"), "https://****@h/x@y");
        assert_eq!(redact("https://h/x@y"), "https://h/x@y");
        assert_eq!(redact("/plain/path"), "/plain/path");
        assert!(is_redacted(&redact("https://a:b@h/")));
    }

    #[test]
    fn basic_auth_from_userinfo() {
        let (url, auth) = request_parts("https://Aladdin:open%20sesame@h/x");
        assert_eq!(url, "https://h/x");
        assert_eq!(auth.as_deref(), Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="));
        assert_eq!(request_parts("https://h/x"), ("https://h/x".to_string(), None));
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
    }

    #[test]
    fn local_reads_respect_limits_and_absence() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f.json");
        fs::write(&file, b"0123456789").unwrap();
        let loc = Location::Path(file.clone());
        assert_eq!(read_bytes(&loc, 10).unwrap(), b"0123456789");
        let err = read_bytes(&loc, 9).unwrap_err();
        assert_eq!(err.class, relman_manifest::ErrorClass::Verify);
        assert!(err.message.contains("larger than 9 bytes"), "{}", err.message);
        let missing = Location::Path(dir.path().join("nope"));
        assert_eq!(read_optional(&missing, 10).unwrap(), None);
        assert!(!exists(&missing).unwrap());
        assert!(!exists(&loc.join("below-a-file")).unwrap());
        assert!(exists(&loc).unwrap());
        let err = read_bytes(&missing, 10).unwrap_err();
        assert!(err.message.contains("does not exist"));
    }

    #[test]
    fn download_hashes_and_caps() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        fs::write(&src, b"hello").unwrap();
        let dest = dir.path().join("dest");
        let (digest, n) = download_to(&Location::Path(src.clone()), &dest).unwrap();
        assert_eq!((digest, n), (crate::hash::sha256_bytes(b"hello"), 5));
        assert_eq!(fs::read(&dest).unwrap(), b"hello");
        let err = download_limited(&Location::Path(src), &dest, Some(4)).unwrap_err();
        assert!(err.message.contains("larger than the 4 bytes expected"), "{}", err.message);
    }
}
