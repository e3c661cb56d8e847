//! The S3-compatible destination, `s3://BUCKET/PREFIX`: versions written immutably under
//! `PREFIX/<version>/`; promote makes `PREFIX/latest/` a server-side copy of the stable version
//! (its `index.json` last) and writes `channels.json` last of all.
//!
//! Requests are signed with AWS Signature Version 4 (written here: hmac + sha2; the payload
//! hash is the digest packaging recorded, so nothing is hashed twice). Every object carries its
//! sha256 as `x-amz-meta-sha256`: a re-publish HEADs each object and skips those with the same
//! digest (one request per file, no PUT), and refuses a different one naming both digests.
//! Files above 64 MiB go as multipart uploads (16 MiB parts; `RELMAN_S3_MULTIPART_ABOVE` and
//! `RELMAN_S3_PART_SIZE` change both); files are uploaded 4 at a time.
//!
//! Configuration comes in [`S3Options`] (endpoint, region, credentials, part sizes), which the CLI
//! reads once from the standard AWS environment (`crate::remote`). Secrets are never printed.

use std::io::Read;
use std::time::Duration;

use hmac::{Hmac, Mac};
use relman_manifest::{Failure, Sha256};
use semver::Version;

use crate::destination::{
    Asset, Destination, DestinationState, Gate, Kind, LocalFile, Pointer, PromotePlan, PromoteReport, PutOutcome,
    YankReport, YankScope,
};
use crate::planned::Planned;
use crate::remote::{percent_encode as encode, Credentials, S3Options};
use crate::report::Reporter;

const UPLOADS_AT_ONCE: usize = 4;
const META_SHA256: &str = "x-amz-meta-sha256";
/// `PREFIX/latest/`: a server-side copy of the stable version, moved by promote.
const LATEST_DIR: &str = "latest";

/// `s3://bucket/prefix`, parsed.
pub struct S3Destination {
    url: String,
    bucket: String,
    prefix: String,
    opts: S3Options,
    agent: ureq::Agent,
    /// What the preflight found per version (the names already there with this release's
    /// digest), so publish does not ask again: one request per file in all.
    decided: std::sync::Mutex<Option<(String, Vec<String>)>>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut m = Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key length");
    m.update(data.as_bytes());
    m.finalize().into_bytes().to_vec()
}

/// The SigV4 `Authorization` header of a request: `headers` lowercase and sorted (all of
/// them are signed), `path` and `query` already canonical.
#[allow(clippy::too_many_arguments)]
fn authorization(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(String, String)],
    payload_hash: &str,
    amz_date: &str,
    region: &str,
    c: &Credentials,
) -> String {
    let date = &amz_date[..8];
    let signed = headers.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(";");
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{}\n", v.trim())).collect();
    let canonical = format!("{method}\n{path}\n{query}\n{canonical_headers}\n{signed}\n{payload_hash}");
    let scope = format!("{date}/{region}/s3/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        relman_install::hash::sha256_bytes(canonical.as_bytes()).as_str()
    );
    let mut k = hmac(format!("AWS4{}", c.secret_key).as_bytes(), date);
    for part in [region, "s3", "aws4_request"] {
        k = hmac(&k, part);
    }
    let signature = hex(&hmac(&k, &to_sign));
    format!("AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={signature}", c.access_key)
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}

/// Retries after the first attempt of a request that failed on the way.
const RETRIES: u32 = 4;

/// Makes the body of a request (again, for a retry).
type BodyFn<'b> = dyn Fn() -> Result<Box<dyn Read + Send + 'b>, Failure> + Sync + 'b;

/// The `Content-Type` a file is served with, by its extension.
pub fn content_type(name: &str) -> &'static str {
    let ext = name.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" | "jsonl" => "application/json",
        "txt" | "md" | "sh" => "text/plain; charset=utf-8",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "ico" => "image/x-icon",
        "webp" => "image/webp",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "gz" | "tgz" => "application/gzip",
        "zip" => "application/zip",
        "zst" => "application/zstd",
        _ => "application/octet-stream",
    }
}

const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// An answer: status, headers we read, body.
struct Answer {
    status: u16,
    meta_sha256: Option<String>,
    etag: Option<String>,
    body: Vec<u8>,
}

impl S3Destination {
    pub fn parse(url: &str, opts: S3Options) -> Result<S3Destination, Failure> {
        let rest = url.strip_prefix("s3://").ok_or_else(|| Failure::usage(format!("`{url}` is not an s3:// URL")))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid = !bucket.is_empty()
            && bucket.len() <= 63
            && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !valid || rest.contains('@') {
            return Err(Failure::usage(format!(
                "destination `{}` is not like s3://BUCKET/PREFIX",
                relman_install::source::redact(url)
            ))
            .with_hint("bucket names are 3-63 lowercase letters, digits, `-` and `.`; credentials come from the AWS environment"));
        }
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(15))
            .timeout_read(Duration::from_secs(120))
            .timeout_write(Duration::from_secs(120))
            .user_agent(concat!("relman/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(S3Destination {
            url: url.trim_end_matches('/').to_string(),
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
            opts,
            agent,
            decided: std::sync::Mutex::new(None),
        })
    }

    /// The object key of `rel` below the prefix.
    pub(crate) fn key(&self, rel: &str) -> String {
        if self.prefix.is_empty() {
            rel.to_string()
        } else {
            format!("{}/{rel}", self.prefix)
        }
    }

    /// (URL, host, canonical path) of an object key (empty: the bucket).
    fn locate(&self, key: &str) -> (String, String, String) {
        let (scheme, host) = self.opts.endpoint.split_once("://").unwrap_or(("https", &self.opts.endpoint));
        let path_key = encode(key, true);
        if self.opts.path_style {
            let path =
                if key.is_empty() { format!("/{}", self.bucket) } else { format!("/{}/{path_key}", self.bucket) };
            (format!("{scheme}://{host}{path}"), host.to_string(), path)
        } else {
            let host = format!("{}.{host}", self.bucket);
            let path = format!("/{path_key}");
            (format!("{scheme}://{host}{path}"), host, path)
        }
    }

    /// The public HTTP URL of the release root (for verify and install over HTTP).
    pub fn http_root(&self) -> String {
        self.locate(&self.key("")).0.trim_end_matches('/').to_string() + "/"
    }

    /// Sends a signed request, again (with a fresh body from `body`) after a failure on the way
    /// — refused, reset, timed out, an answer cut short, HTTP 429 or 5xx — up to 4 times with
    /// backoff. Every request relman makes is idempotent, but completing a multipart upload
    /// (see [`Self::put_file`]).
    #[allow(clippy::too_many_arguments)]
    fn send(
        &self,
        method: &str,
        key: &str,
        query: &[(&str, &str)],
        extra: &[(&str, String)],
        payload_hash: &str,
        body: Option<&BodyFn<'_>>,
        length: u64,
    ) -> Result<Answer, Failure> {
        let mut failed = 0;
        loop {
            let reader = match body {
                Some(make) => Some(make()?),
                None => None,
            };
            match self.send_once(method, key, query, extra, payload_hash, reader, length) {
                Ok(a) if matches!(a.status, 429 | 500 | 502 | 503 | 504) && failed < RETRIES => {}
                Err(f) if f.class == relman_manifest::ErrorClass::Network && failed < RETRIES => {}
                other => return other,
            }
            std::thread::sleep(Duration::from_millis(100 << failed));
            failed += 1;
        }
    }

    /// Sends one signed request. `query` pairs are already unencoded; `payload` is the body's
    /// sha256 (hex).
    #[allow(clippy::too_many_arguments)]
    fn send_once(
        &self,
        method: &str,
        key: &str,
        query: &[(&str, &str)],
        extra: &[(&str, String)],
        payload_hash: &str,
        body: Option<Box<dyn Read + Send + '_>>,
        length: u64,
    ) -> Result<Answer, Failure> {
        let (url, host, path) = self.locate(key);
        let mut q: Vec<(String, String)> = query.iter().map(|(k, v)| (encode(k, false), encode(v, false))).collect();
        q.sort();
        let canonical_query = q.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let (y, mo, d, h, mi, s) = relman_manifest::time::civil(now as i64);
        let date = format!("{y:04}{mo:02}{d:02}");
        let amz_date = format!("{date}T{h:02}{mi:02}{s:02}Z");
        let mut headers: Vec<(String, String)> = vec![
            ("host".into(), host.clone()),
            ("x-amz-content-sha256".into(), payload_hash.to_string()),
            ("x-amz-date".into(), amz_date.clone()),
        ];
        let creds = self.opts.credentials.clone();
        if let Some(t) = creds.as_ref().and_then(|c| c.token.clone()) {
            headers.push(("x-amz-security-token".into(), t));
        }
        for (k, v) in extra {
            headers.push((k.to_ascii_lowercase(), v.clone()));
        }
        headers.sort();
        let target = if canonical_query.is_empty() { url.clone() } else { format!("{url}?{canonical_query}") };
        let mut req = self.agent.request(method, &target);
        for (k, v) in &headers {
            if k != "host" {
                req = req.set(k, v);
            }
        }
        if let Some(c) = &creds {
            let auth =
                authorization(method, &path, &canonical_query, &headers, payload_hash, &amz_date, &self.opts.region, c);
            req = req.set("Authorization", &auth);
        }
        let shown = format!("{method} {}", self.locate(key).0);
        let result = match body {
            Some(reader) => req.set("Content-Length", &length.to_string()).send(reader),
            None => req.call(),
        };
        let response = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(ureq::Error::Transport(t)) => {
                return Err(Failure::network(format!("cannot reach the S3 endpoint ({shown}): {t}")))
            }
        };
        let status = response.status();
        let meta_sha256 = response.header(META_SHA256).map(str::to_string);
        let etag = response.header("ETag").map(str::to_string);
        let mut body = Vec::new();
        if method != "HEAD" {
            response
                .into_reader()
                .take(16 << 20)
                .read_to_end(&mut body)
                .map_err(|e| Failure::network(format!("reading the answer to {shown} failed: {e}")))?;
        }
        Ok(Answer { status, meta_sha256, etag, body })
    }

    /// A failure for an unexpected answer, with S3's error code when it gave one.
    fn unexpected(&self, what: &str, a: &Answer) -> Failure {
        let text = String::from_utf8_lossy(&a.body);
        let code = text.split("<Code>").nth(1).and_then(|r| r.split("</Code>").next()).unwrap_or("");
        let f = Failure::publish(
            format!("`{}`: {what} answered HTTP {} {code}", self.url, a.status).trim_end().to_string(),
        );
        match (a.status, code) {
            (_, "NoSuchBucket") => f.with_hint(format!("create the bucket `{}` first", self.bucket)),
            (403, _) | (_, "InvalidAccessKeyId" | "SignatureDoesNotMatch") => {
                f.with_hint("check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the AWS profile)")
            }
            _ => f,
        }
    }

    /// The sha256 an object records (`None`: absent). HEAD, one request.
    pub(crate) fn head(&self, key: &str) -> Result<Option<String>, Failure> {
        let a = self.send("HEAD", key, &[], &[], EMPTY_SHA256, None, 0)?;
        match a.status {
            200 => Ok(Some(a.meta_sha256.unwrap_or_default())),
            404 => Ok(None),
            _ => Err(self.unexpected(&format!("HEAD {key}"), &a)),
        }
    }

    pub(crate) fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Failure> {
        let a = self.send("GET", key, &[], &[], EMPTY_SHA256, None, 0)?;
        match a.status {
            200 => Ok(Some(a.body)),
            404 => Ok(None),
            _ => Err(self.unexpected(&format!("GET {key}"), &a)),
        }
    }

    pub(crate) fn put_bytes(&self, key: &str, bytes: &[u8], content_type: &str) -> Result<(), Failure> {
        let sha = relman_install::hash::sha256_bytes(bytes).as_str().to_string();
        let extra = [("content-type", content_type.to_string()), (META_SHA256, sha.clone())];
        let body = || Ok(Box::new(bytes) as Box<dyn Read + Send>);
        let a = self.send("PUT", key, &[], &extra, &sha, Some(&body), bytes.len() as u64)?;
        if a.status != 200 {
            return Err(self.unexpected(&format!("PUT {key}"), &a));
        }
        Ok(())
    }

    /// An object's bytes and ETag (`None`: absent).
    fn get_tagged(&self, key: &str) -> Result<Option<(Vec<u8>, String)>, Failure> {
        let a = self.send("GET", key, &[], &[], EMPTY_SHA256, None, 0)?;
        match a.status {
            200 => Ok(Some((a.body, a.etag.unwrap_or_default()))),
            404 => Ok(None),
            _ => Err(self.unexpected(&format!("GET {key}"), &a)),
        }
    }

    /// Writes `bytes` at `key` only while it is as read: `etag` (`If-Match`), or absent
    /// (`None`: `If-None-Match: *`) — S3's conditional writes. `Ok(false)` when another writer
    /// changed it first (HTTP 412, or 409 for a concurrent conditional write). A retried write
    /// that finds its own bytes there counts as written.
    fn put_bytes_if(&self, key: &str, bytes: &[u8], content_type: &str, etag: Option<&str>) -> Result<bool, Failure> {
        let sha = relman_install::hash::sha256_bytes(bytes).as_str().to_string();
        let condition = match etag {
            Some(e) => ("if-match", e.to_string()),
            None => ("if-none-match", "*".to_string()),
        };
        let extra = [("content-type", content_type.to_string()), (META_SHA256, sha.clone()), condition];
        let body = || Ok(Box::new(bytes) as Box<dyn Read + Send>);
        let a = self.send("PUT", key, &[], &extra, &sha, Some(&body), bytes.len() as u64)?;
        match a.status {
            200 => Ok(true),
            412 | 409 => Ok(self.get(key)?.as_deref() == Some(bytes)),
            _ => Err(self.unexpected(&format!("PUT {key}"), &a)),
        }
    }

    /// Copies `from` to `to` inside the bucket (server-side: no bytes travel through relman),
    /// metadata included: the copy keeps its `x-amz-meta-sha256`.
    fn copy_object(&self, from: &str, to: &str) -> Result<(), Failure> {
        let source = format!("/{}/{}", self.bucket, encode(from, true));
        let extra = [("x-amz-copy-source", source), ("x-amz-metadata-directive", "COPY".to_string())];
        let a = self.send("PUT", to, &[], &extra, EMPTY_SHA256, None, 0)?;
        // A copy can fail after its 200 (the error is in the body).
        if a.status != 200 || String::from_utf8_lossy(&a.body).contains("<Error>") {
            return Err(self.unexpected(&format!("copy {from} to {to}"), &a));
        }
        Ok(())
    }

    pub(crate) fn delete(&self, key: &str) -> Result<(), Failure> {
        let a = self.send("DELETE", key, &[], &[], EMPTY_SHA256, None, 0)?;
        if !matches!(a.status, 200 | 204 | 404) {
            return Err(self.unexpected(&format!("DELETE {key}"), &a));
        }
        Ok(())
    }

    /// Makes `PREFIX/latest/` a copy of `PREFIX/<v>/` (objects already there with the same
    /// digest are kept, others copied server-side, then those not in the version deleted);
    /// `Ok(true)` when anything changed. `index.json` is copied last and deleted first, so
    /// `latest/` is installable only once complete.
    fn mirror_latest(&self, v: &str) -> Result<bool, Failure> {
        let from = self.key(&format!("{v}/"));
        let to = self.key(&format!("{LATEST_DIR}/"));
        let wanted = self.list(&from)?;
        let present = self.list(&to)?;
        let index = crate::planned::INDEX_FILE;
        let mut changed = false;
        let mut names: Vec<&str> = wanted.iter().map(|k| &k[from.len()..]).filter(|n| *n != index).collect();
        names.push(index);
        for name in names {
            let (src, dst) = (format!("{from}{name}"), format!("{to}{name}"));
            let same = match (self.head(&src)?, present.contains(&dst)) {
                (Some(sha), true) => self.head(&dst)?.is_some_and(|d| d == sha),
                _ => false,
            };
            if !same {
                if name == index && present.contains(&dst) {
                    self.delete(&dst)?; // not installable while its files change
                }
                self.copy_object(&src, &dst)?;
                changed = true;
            }
        }
        for k in present.iter().filter(|k| !wanted.contains(&format!("{from}{}", &k[to.len()..]))) {
            self.delete(k)?;
            changed = true;
        }
        Ok(changed)
    }

    /// Whether `latest/` is exactly `v/`: the same names, each with the same digest (a listing
    /// of each and one HEAD per object). What an "already promoted" answer rests on.
    fn latest_matches(&self, v: &str) -> Result<bool, Failure> {
        let from = self.key(&format!("{v}/"));
        let to = self.key(&format!("{LATEST_DIR}/"));
        let wanted = self.list(&from)?;
        let present = self.list(&to)?;
        let names = |keys: &[String], prefix: &str| {
            let mut n: Vec<String> = keys.iter().map(|k| k[prefix.len()..].to_string()).collect();
            n.sort();
            n
        };
        if wanted.is_empty() || names(&wanted, &from) != names(&present, &to) {
            return Ok(false);
        }
        for name in names(&wanted, &from) {
            if self.head(&format!("{from}{name}"))? != self.head(&format!("{to}{name}"))? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The version `latest/` mirrors: its `index.json`'s digest against `v`'s (one HEAD each).
    fn latest_is(&self, v: &str) -> Result<Option<bool>, Failure> {
        let index = crate::planned::INDEX_FILE;
        let Some(latest) = self.head(&self.key(&format!("{LATEST_DIR}/{index}")))? else { return Ok(None) };
        Ok(Some(self.head(&self.key(&format!("{v}/{index}")))?.is_some_and(|sha| sha == latest)))
    }

    /// Uploads a local file under `key`, its sha256 recorded as metadata.
    pub(crate) fn put_file(&self, key: &str, f: &LocalFile) -> Result<(), Failure> {
        let meta = (META_SHA256, f.sha256.to_string());
        // Served as what it is: a release page or a docs site renders in a browser.
        let ct = ("content-type", content_type(key).to_string());
        if f.size <= self.opts.multipart_above {
            let body = || {
                let file = std::fs::File::open(&f.path).map_err(|e| Failure::io("open", &f.path, e))?;
                Ok(Box::new(file) as Box<dyn Read + Send>)
            };
            let a = self.send("PUT", key, &[], &[meta, ct], f.sha256.as_str(), Some(&body), f.size)?;
            if a.status != 200 {
                return Err(self.unexpected(&format!("PUT {key}"), &a));
            }
            return Ok(());
        }
        let a = self.send("POST", key, &[("uploads", "")], &[meta, ct], EMPTY_SHA256, None, 0)?;
        let text = String::from_utf8_lossy(&a.body).into_owned();
        let upload_id = text.split("<UploadId>").nth(1).and_then(|r| r.split("</UploadId>").next());
        let Some(upload_id) = upload_id.filter(|_| a.status == 200).map(str::to_string) else {
            return Err(self.unexpected(&format!("starting a multipart upload of {key}"), &a));
        };
        let mut file = std::fs::File::open(&f.path).map_err(|e| Failure::io("open", &f.path, e))?;
        let mut parts = Vec::new();
        let mut number = 1;
        loop {
            let mut buf = Vec::with_capacity(self.opts.part_size as usize);
            (&mut file).take(self.opts.part_size).read_to_end(&mut buf).map_err(|e| Failure::io("read", &f.path, e))?;
            if buf.is_empty() {
                break;
            }
            let sha = relman_install::hash::sha256_bytes(&buf).as_str().to_string();
            let n = number.to_string();
            let len = buf.len() as u64;
            let part = || Ok(Box::new(buf.as_slice()) as Box<dyn Read + Send>);
            let a =
                self.send("PUT", key, &[("partNumber", &n), ("uploadId", &upload_id)], &[], &sha, Some(&part), len)?;
            let Some(etag) = a.etag.clone().filter(|_| a.status == 200) else {
                return Err(self.unexpected(&format!("uploading part {n} of {key}"), &a));
            };
            parts.push(format!("<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>"));
            number += 1;
        }
        let body = format!("<CompleteMultipartUpload>{}</CompleteMultipartUpload>", parts.concat());
        let sha = relman_install::hash::sha256_bytes(body.as_bytes()).as_str().to_string();
        let len = body.len() as u64;
        let complete = || Ok(Box::new(body.as_bytes()) as Box<dyn Read + Send>);
        let a = self.send("POST", key, &[("uploadId", &upload_id)], &[], &sha, Some(&complete), len)?;
        if a.status != 200 || String::from_utf8_lossy(&a.body).contains("<Error>") {
            // A retry of a completion whose answer was lost finds the upload gone: the object
            // is what counts.
            if self.head(key)?.as_deref() == Some(f.sha256.as_str()) {
                return Ok(());
            }
            return Err(self.unexpected(&format!("completing the multipart upload of {key}"), &a));
        }
        Ok(())
    }

    /// Every file of the release: absent (to put), there with the same sha256 (skipped), or
    /// there with another (refused, naming both).
    fn decide<'f>(&self, version: &str, files: &'f [LocalFile]) -> Result<(Vec<&'f LocalFile>, Vec<String>), Failure> {
        if let Some((v, present)) = self.decided.lock().expect("decided").take() {
            if v == version {
                let (skipped, missing): (Vec<&LocalFile>, Vec<&LocalFile>) =
                    files.iter().partition(|f| present.contains(&f.name));
                return Ok((missing, skipped.iter().map(|f| f.name.clone()).collect()));
            }
        }
        let mut missing = Vec::new();
        let mut skipped = Vec::new();
        for f in files {
            match self.head(&self.key(&format!("{version}/{}", f.name)))? {
                None => missing.push(f),
                Some(found) if found == f.sha256.as_str() => skipped.push(f.name.clone()),
                Some(found) => {
                    let found = if found.is_empty() { "none recorded".to_string() } else { found };
                    return Err(Failure::publish(format!(
                        "`{}` already holds a different `{}` for {version}: published sha256 {found}, this release has {}",
                        self.url, f.name, f.sha256
                    ))
                    .with_hint("a published version is immutable: release a new version instead"));
                }
            }
        }
        Ok((missing, skipped))
    }

    /// Every object key below `prefix` (ListObjectsV2, following continuation tokens).
    pub(crate) fn list(&self, prefix: &str) -> Result<Vec<String>, Failure> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut q: Vec<(&str, &str)> = vec![("list-type", "2"), ("prefix", prefix)];
            if let Some(t) = &token {
                q.push(("continuation-token", t));
            }
            let a = self.send("GET", "", &q, &[], EMPTY_SHA256, None, 0)?;
            if a.status != 200 {
                return Err(self.unexpected(&format!("listing {prefix}"), &a));
            }
            let text = String::from_utf8_lossy(&a.body).into_owned();
            keys.extend(text.split("<Key>").skip(1).filter_map(|r| r.split("</Key>").next()).map(xml_unescape));
            token = text
                .split("<NextContinuationToken>")
                .nth(1)
                .and_then(|r| r.split("</NextContinuationToken>").next())
                .map(xml_unescape);
            if token.is_none() {
                return Ok(keys);
            }
        }
    }

    /// `PREFIX/index.html`: every version here (each `<version>/index.json`), newest first,
    /// `latest` marked; written only when it changes.
    fn write_versions_page(&self) -> Result<(), Failure> {
        let latest = self.channels()?.and_then(|c| c.stable).map(|e| e.version);
        let root = self.key("");
        let mut found: Vec<crate::page::Listed> = Vec::new();
        let mut name = None;
        for key in self.list(&root)? {
            let Some(rel) = key.strip_prefix(&root) else { continue };
            let Some(dir) = rel.strip_suffix(&format!("/{}", crate::planned::INDEX_FILE)) else { continue };
            if semver::Version::parse(dir).is_err() {
                continue;
            }
            let Some(bytes) = self.get(&key)? else { continue };
            let Ok(index) = relman_manifest::Index::from_json(&String::from_utf8_lossy(&bytes)) else { continue };
            name.get_or_insert(index.name.clone());
            found.push(crate::page::Listed {
                version: dir.to_string(),
                channel: index.channel.as_str().to_string(),
                date: None,
                latest: latest.as_deref() == Some(dir),
            });
        }
        let Some(name) = name else { return Ok(()) };
        let html = crate::page::versions_page(&name, &found);
        let key = self.key(crate::page::PAGE_FILE);
        if self.get(&key)?.as_deref() != Some(html.as_bytes()) {
            self.put_bytes(&key, html.as_bytes(), content_type(&key))?;
        }
        Ok(())
    }

    fn channels(&self) -> Result<Option<relman_manifest::Channels>, Failure> {
        match self.get(&self.key(crate::planned::CHANNELS_FILE))? {
            None => Ok(None),
            Some(bytes) => self.parse_channels(&bytes).map(Some),
        }
    }

    fn parse_channels(&self, bytes: &[u8]) -> Result<relman_manifest::Channels, Failure> {
        relman_manifest::Channels::from_json(&String::from_utf8_lossy(bytes))
            .map_err(|e| Failure::verify(format!("`{}/channels.json` is not a valid channels file: {e}", self.url)))
    }

    /// The release record: the local one, or the published `manifest.json`.
    fn record(&self, version: &str, record: Option<&Planned>) -> Result<Option<relman_manifest::Manifest>, Failure> {
        if let Some(p) = record.filter(|p| p.manifest.version == version && p.origin.is_record()) {
            return Ok(Some(p.manifest.release_view()));
        }
        match self.get(&self.key(&format!("{version}/{}", crate::planned::MANIFEST_FILE)))? {
            None => Ok(None),
            Some(bytes) => {
                relman_manifest::Manifest::from_json(&String::from_utf8_lossy(&bytes)).map(Some).map_err(|e| {
                    Failure::verify(format!("`{}/{version}/manifest.json` is not a valid manifest: {e}", self.url))
                })
            }
        }
    }
}

/// Whether `spec` names an S3 location (`s3://BUCKET/PREFIX`).
pub fn is_s3(spec: &str) -> bool {
    spec.starts_with("s3://")
}

/// Downloads one version of a release at `url` into `dest` (an empty directory), with the
/// credentials and endpoint of `opts` (the bucket need not be public), so `verify` and
/// `install` read it as a local directory. `url` is a release root (`s3://b/releases`: the
/// version asked for, else the one `channels.json` names) or a version
/// (`s3://b/releases/1.2.0`). Returns the version. Objects are written as S3 holds them; the
/// reader checks them.
pub fn download_release(
    url: &str,
    version: Option<&semver::Version>,
    opts: S3Options,
    dest: &std::path::Path,
) -> Result<String, Failure> {
    let at = S3Destination::parse(url, opts)?;
    let last = at.prefix.rsplit('/').next().unwrap_or("");
    let (root, v) = if semver::Version::parse(last).is_ok() && version.is_none() {
        let parent = at.prefix.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
        (S3Destination::parse(&format!("s3://{}/{parent}", at.bucket), at.opts.clone())?, last.to_string())
    } else {
        let v = match version {
            Some(v) => v.to_string(),
            None => at.channels()?.and_then(|c| c.stable).map(|e| e.version).ok_or_else(|| {
                Failure::usage(format!("`{url}` has no promoted version (no stable release in channels.json)"))
                    .with_hint(format!("pass a version: {url}/<version>, or --version"))
            })?,
        };
        (at, v)
    };
    let from = root.key(&format!("{v}/"));
    let keys = root.list(&from)?;
    if keys.is_empty() {
        return Err(Failure::usage(format!("no version `{v}` at `{}`: nothing under {from}", root.url)));
    }
    std::fs::create_dir_all(dest).map_err(|e| Failure::io("create", dest, e))?;
    for key in keys {
        let name = &key[from.len()..];
        if name.is_empty() || name.contains('/') || name.starts_with('.') {
            continue;
        }
        let bytes = root
            .get(&key)?
            .ok_or_else(|| Failure::publish(format!("`{}/{v}/{name}` vanished while read", root.url)))?;
        crate::fsutil::write_atomic(&dest.join(name), &bytes)?;
    }
    Ok(v)
}

/// The variables an S3 job reads from the CI's secret store.
pub const S3_CI_SECRETS: &[&str] = &["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_ENDPOINT_URL"];

impl Destination for S3Destination {
    fn published_record(
        &self,
        _settings: &crate::settings::Settings,
        version: &Version,
    ) -> Result<Option<crate::destination::PublishedRecord>, Failure> {
        let key = |name: &str| self.key(&format!("{version}/{name}"));
        let Some(manifest) = self.get(&key(crate::planned::MANIFEST_FILE))? else { return Ok(None) };
        let location = format!("{}/{version}/{}", self.url, crate::planned::MANIFEST_FILE);
        crate::destination::PublishedRecord::gather(location, manifest, &|name| self.get(&key(name))).map(Some)
    }
    fn url(&self) -> &str {
        &self.url
    }
    fn ci_needs(&self) -> crate::destination::CiNeeds {
        crate::destination::CiNeeds { secrets: S3_CI_SECRETS.to_vec(), ..Default::default() }
    }
    fn kind(&self) -> Kind {
        Kind::S3
    }
    fn preflight(&self, planned: &Planned, files: &[LocalFile]) -> Result<(), Failure> {
        if self.opts.credentials.is_none() {
            return Err(Failure::usage(format!("`{}`: no AWS credentials", self.url))
                .with_hint("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with ~/.aws/credentials"));
        }
        let a = self.send("HEAD", "", &[], &[], EMPTY_SHA256, None, 0)?;
        match a.status {
            200 => {}
            404 => {
                return Err(Failure::publish(format!("`{}`: the bucket `{}` does not exist", self.url, self.bucket))
                    .with_hint(format!("create the bucket `{}` first", self.bucket)))
            }
            _ => return Err(self.unexpected("HEAD of the bucket", &a)),
        }
        let (_, present) = self.decide(&planned.manifest.version, files)?;
        *self.decided.lock().expect("decided") = Some((planned.manifest.version.clone(), present));
        Ok(())
    }
    fn publish(
        &self,
        planned: &Planned,
        files: &[LocalFile],
        _identity: Option<&crate::sign::Identity>,
        reporter: &dyn Reporter,
    ) -> Result<PutOutcome, Failure> {
        let version = &planned.manifest.version;
        let (missing, skipped) = self.decide(version, files)?;
        // index.json and manifest.json last: a reader never finds an index whose files are
        // not all there yet.
        let (last, first): (Vec<&LocalFile>, Vec<&LocalFile>) = missing
            .into_iter()
            .partition(|f| f.name == crate::planned::INDEX_FILE || f.name == crate::planned::MANIFEST_FILE);
        let upload = |batch: &[&LocalFile]| -> Result<(), Failure> {
            for chunk in batch.chunks(UPLOADS_AT_ONCE) {
                std::thread::scope(|s| {
                    let handles: Vec<_> = chunk
                        .iter()
                        .map(|f| s.spawn(move || self.put_file(&self.key(&format!("{version}/{}", f.name)), f)))
                        .collect();
                    handles.into_iter().map(|h| h.join().expect("upload thread")).collect::<Result<Vec<_>, _>>()
                })?;
                for f in chunk {
                    relman_install::crashpoint::point(&format!("uploaded:{}", f.name));
                    reporter.step(&format!("{}: uploaded", f.name));
                }
            }
            Ok(())
        };
        upload(&first)?;
        upload(&last)?;
        // Also when everything was there: a run killed after its last upload left the root
        // page behind (written only when it changes).
        self.write_versions_page()?;
        Ok(PutOutcome {
            destination: self.url.clone(),
            location: format!("{}/{version}", self.url),
            written: first.iter().chain(&last).map(|f| f.name.clone()).collect(),
            skipped,
        })
    }
    fn check_promote(
        &self,
        record: Option<&Planned>,
        version: &Version,
        allow_downgrade: bool,
        reporter: &dyn Reporter,
    ) -> Result<PromotePlan, Failure> {
        let v = version.to_string();
        let mut gates = Vec::new();
        let mut gate = crate::gates::logged(reporter, &mut gates);
        let manifest = self.record(&v, record)?;
        let index_there = self.head(&self.key(&format!("{v}/{}", crate::planned::INDEX_FILE)))?.is_some();
        gate(Gate {
            name: "published",
            passed: index_there && manifest.is_some(),
            detail: if index_there { format!("{}/{v} exists", self.url) } else { format!("no {v} at {}", self.url) },
        });
        if let (true, Some(m)) = (index_there, &manifest) {
            let mut problems = Vec::new();
            for a in &m.artifacts {
                let Some(expected) = &a.sha256 else { continue };
                match self.head(&self.key(&format!("{v}/{}", a.name)))? {
                    None => problems.push(format!("{} is missing", a.name)),
                    Some(found) if found != expected.as_str() => {
                        problems.push(format!("{}: sha256 {found}, the manifest says {expected}", a.name))
                    }
                    Some(_) => {}
                }
            }
            gate(Gate {
                name: "verified",
                passed: problems.is_empty(),
                detail: if problems.is_empty() {
                    format!("{} objects carry the digests the manifest records", m.artifacts.len())
                } else {
                    problems.join("; ")
                },
            });
        }
        let (shared, previous) = crate::gates::from_channels(version, self.channels()?.as_ref(), allow_downgrade);
        shared.into_iter().for_each(&mut gate);
        drop(gate);
        let report = PromoteReport::checked(
            &self.url,
            &v,
            gates,
            previous.clone(),
            vec![format!("{LATEST_DIR}/"), crate::planned::CHANNELS_FILE.into()],
            Vec::new(),
        );
        // "Already promoted" only when `latest/` really is this version, object by object: a
        // promote cut short (or raced) is finished by the next one.
        if !report.passed() || (previous.as_deref() == Some(v.as_str()) && self.latest_matches(&v)?) {
            return Ok(PromotePlan { report, apply: None });
        }
        let name = manifest.map(|m| m.project.name).unwrap_or_default();
        let stable =
            relman_manifest::ChannelEntry { version: v.clone(), index: format!("{v}/{}", crate::planned::INDEX_FILE) };
        let identity = crate::sign::promote_identity(record, reporter)?;
        let valid_days = record.map(|r| r.settings.channels_valid_days).unwrap_or(30);
        let clock = crate::sign::promote_clock(record);
        let key = self.key(crate::planned::CHANNELS_FILE);
        let signed_key = self.key(relman_manifest::CHANNELS_SIGNED_FILE);
        let this = S3Destination {
            url: self.url.clone(),
            bucket: self.bucket.clone(),
            prefix: self.prefix.clone(),
            opts: self.opts.clone(),
            agent: self.agent.clone(),
            decided: std::sync::Mutex::new(None),
        };
        // Concurrent promotes (several runners, no lock in S3): `channels.json` is claimed first,
        // by a conditional write against the ETag read, so the promotes are put in one order
        // and none moves it backwards; then `latest/` is mirrored from the version
        // `channels.json` names, re-read after each mirror until they agree — a promote whose
        // copy finished after a newer one's mirrors the newer version too. Whatever the
        // interleaving, the last promote to finish leaves `latest/` on the newest claimed
        // version (ARCHITECTURE.md, "Concurrent promotes").
        let apply: crate::destination::ApplyMoves = Box::new(move |r: &dyn Reporter, moved: &mut Vec<String>| {
            loop {
                let (current, etag) = match this.get_tagged(&key)? {
                    Some((b, etag)) => (Some(this.parse_channels(&b)?), Some(etag)),
                    None => (None, None),
                };
                let (bytes, _) = crate::sign::next_channels(
                    current.as_ref(),
                    name.clone(),
                    stable.clone(),
                    valid_days,
                    clock,
                    None,
                    r,
                )?;
                let named = current.and_then(|c| c.stable).map(|e| e.version);
                if named.as_deref() == Some(v.as_str()) {
                    break;
                }
                if let Some(n) = named.as_deref().filter(|_| !allow_downgrade) {
                    if crate::gates::newer(n, &v) {
                        return Err(Failure::gate(format!(
                            "cannot promote {v} at `{}`: {n} was promoted meanwhile (never backwards); nothing was moved",
                            this.url
                        ))
                        .with_hint(format!("{v} is older than what `latest` is on; pass --allow-downgrade to move it back")));
                    }
                }
                if this.put_bytes_if(&key, bytes.as_bytes(), "application/json", etag.as_deref())? {
                    moved.push(crate::planned::CHANNELS_FILE.into());
                    break;
                }
            }
            relman_install::crashpoint::point("s3-channels-claimed");
            let mut target = v.clone();
            loop {
                if this.mirror_latest(&target)? && !moved.iter().any(|m| m.starts_with(LATEST_DIR)) {
                    moved.push(format!("{LATEST_DIR}/"));
                }
                let named = this.channels()?.and_then(|c| c.stable).map(|e| e.version);
                match named {
                    Some(n) if n != target => target = n,
                    _ => break,
                }
            }
            // The signed form follows channels.json, whoever wrote it last: signed again until
            // its payload is channels.json's bytes (without the key: removed, never stale).
            while let Some(current) = this.get(&key)? {
                let there = this.get(&signed_key)?;
                let matches = there
                    .as_deref()
                    .and_then(|b| relman_sign::dsse::unverified_payload(&String::from_utf8_lossy(b)))
                    .is_some_and(|p| p == current);
                if matches {
                    break;
                }
                match &identity {
                    Some(id) => {
                        let bundle =
                            relman_sign::dsse::sign(id.signer(r)?, relman_manifest::CHANNELS_PAYLOAD_TYPE, &current)?
                                .bundle_json();
                        this.put_bytes(&signed_key, bundle.as_bytes(), "application/json")?;
                    }
                    None => {
                        if there.is_some() {
                            this.delete(&signed_key)?;
                        }
                        break;
                    }
                }
            }
            this.write_versions_page()
        });
        Ok(PromotePlan { report, apply: Some(apply) })
    }
    fn yank(&self, _scope: &YankScope<'_>, version: &Version, apply: bool, force: bool) -> Result<YankReport, Failure> {
        let v = version.to_string();
        let mut report = YankReport { version: v.clone(), ..YankReport::default() };
        let keys = self.list(&self.key(&format!("{v}/")))?;
        if keys.is_empty() {
            report.left.push(format!("{v} is not at `{}`", self.url));
            report.done = true;
            return Ok(report);
        }
        let mut channels = self.channels()?;
        let stable_here = channels.as_ref().and_then(|c| c.stable.as_ref()).is_some_and(|e| e.version == v);
        let latest_here = self.latest_is(&v)? == Some(true);
        if stable_here {
            report.blocked_by.push(format!("{} (stable)", crate::planned::CHANNELS_FILE));
        }
        if latest_here {
            report.blocked_by.push(format!("{LATEST_DIR}/"));
        }
        report.removed = keys.clone();
        if !apply || ((stable_here || latest_here) && !force) {
            return Ok(report);
        }
        // The pointer first (never a channel naming a missing version), then index.json (the
        // version stops being installable), then the rest.
        if stable_here {
            if let Some(c) = channels.as_mut() {
                c.stable = None;
                // Its signed form named the yanked version: removed (yank holds no key).
                self.delete(&self.key(relman_manifest::CHANNELS_SIGNED_FILE))?;
                self.put_bytes(&self.key(crate::planned::CHANNELS_FILE), c.to_json().as_bytes(), "application/json")?;
            }
        }
        let mut ordered: Vec<String> = Vec::new();
        if latest_here {
            // latest/ goes with the version it mirrors, its index.json first.
            let latest = self.list(&self.key(&format!("{LATEST_DIR}/")))?;
            let li = self.key(&format!("{LATEST_DIR}/{}", crate::planned::INDEX_FILE));
            ordered.extend(latest.iter().filter(|k| **k == li).cloned());
            ordered.extend(latest.into_iter().filter(|k| *k != li));
        }
        let index = self.key(&format!("{v}/{}", crate::planned::INDEX_FILE));
        ordered.extend(keys.iter().filter(|k| **k == index).cloned());
        ordered.extend(keys.iter().filter(|k| **k != index).cloned());
        for k in &ordered {
            self.delete(k)?;
        }
        self.write_versions_page()?;
        report.done = true;
        Ok(report)
    }
    fn state(
        &self,
        record: Option<&Planned>,
        version: &Version,
        _key: Option<&relman_sign::PublicKey>,
    ) -> Result<DestinationState, Failure> {
        let v = version.to_string();
        let mut state = DestinationState {
            destination: self.url.clone(),
            assets: Vec::new(),
            pointers: vec![
                Pointer {
                    name: format!("{} stable", crate::planned::CHANNELS_FILE),
                    target: self.channels()?.and_then(|c| c.stable).map(|e| e.version),
                },
                Pointer {
                    name: format!("{LATEST_DIR}/"),
                    target: match self.latest_is(&v)? {
                        None => None,
                        Some(true) => Some(v.clone()),
                        Some(false) => Some("another version".into()),
                    },
                },
            ],
            problems: Vec::new(),
            verify_commands: vec![
                format!("relman verify {}{v}/ --key <public key>", self.http_root()),
                format!("relman install --from {}", self.http_root()),
            ],
        };
        let Some(m) = self.record(&v, record)? else {
            state.problems.push(format!("{v} is not published at `{}`", self.url));
            return Ok(state);
        };
        let mut names: Vec<(String, Option<Sha256>)> =
            m.artifacts.iter().map(|a| (a.name.clone(), a.sha256.clone())).collect();
        names.push((crate::planned::MANIFEST_FILE.into(), None));
        for (name, expected) in names {
            let found = self.head(&self.key(&format!("{v}/{name}")))?;
            let status = match (&expected, &found) {
                (_, None) => "missing",
                (Some(e), Some(f)) if f != e.as_str() => "different",
                (Some(_), Some(_)) => "ok",
                (None, Some(_)) => "unchecked",
            };
            if matches!(status, "missing" | "different") {
                state.problems.push(format!("{name}: {status} at `{}`", self.url));
            }
            state.assets.push(Asset { name, status, expected: expected.map(|e| e.to_string()), found });
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::profile_credentials;

    /// The worked example of AWS's "Signature Calculations for the Authorization Header"
    /// (GET Object with a Range header), its published signature.
    #[test]
    fn sigv4_matches_the_aws_documentation_example() {
        let c = Credentials {
            access_key: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            token: None,
        };
        let headers = vec![
            ("host".to_string(), "examplebucket.s3.amazonaws.com".to_string()),
            ("range".to_string(), "bytes=0-9".to_string()),
            ("x-amz-content-sha256".to_string(), EMPTY_SHA256.to_string()),
            ("x-amz-date".to_string(), "20130524T000000Z".to_string()),
        ];
        let auth = authorization("GET", "/test.txt", "", &headers, EMPTY_SHA256, "20130524T000000Z", "us-east-1", &c);
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn urls_and_profiles() {
        assert!(S3Destination::parse("s3://Bad_Bucket/x", S3Options::default()).is_err());
        let err = S3Destination::parse("s3://k:secret@bucket/x", S3Options::default()).err().unwrap();
        assert!(!err.message.contains("secret"), "{}", err.message);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("credentials");
        std::fs::write(&file, "[default]\naws_access_key_id = A\naws_secret_access_key = B\n[ci]\naws_access_key_id = C\naws_secret_access_key = D\naws_session_token = T\n").unwrap();
        let ci = profile_credentials(&file, "ci").unwrap();
        assert_eq!((ci.access_key.as_str(), ci.secret_key.as_str(), ci.token.as_deref()), ("C", "D", Some("T")));
        assert!(profile_credentials(&file, "missing").is_none());
        assert_eq!(encode("a b/c+d", true), "a%20b/c%2Bd");
    }
}
