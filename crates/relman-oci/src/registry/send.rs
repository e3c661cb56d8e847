//! One request to a registry: authentication, retries, and the failures they end in.
//!
//! Authentication follows the `WWW-Authenticate` challenge of a `401`: `Basic` → the request
//! is sent again with the credentials (and every later request to that host carries them);
//! `Bearer realm=…,service=…,scope=…` → a token is fetched from the realm (with basic
//! credentials when there are some, anonymously otherwise) and cached per host and scope until
//! it expires. A `401` after that is [`Failure::publish`] ("credentials were refused").
//!
//! Retries: `429`, `5xx` and I/O errors (refused, reset, timed out) are retried `retries` times
//! with backoff 100 ms × 2ⁿ (at most 5 s; `Retry-After` is honoured up to 10 s). Requests whose
//! body cannot simply be sent again (upload chunks) are sent with retries off: the upload
//! restarts or resumes as a whole (see `blobs`).

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::time::{Duration, Instant};

use relman_manifest::Failure;

use super::client::{encode_query, Client};
use crate::auth::Credentials;

/// What a request may do, which decides the token scope it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Access {
    Pull,
    Push,
    Delete,
}

/// The repository access a request needs (and, for a cross-repository mount, the source).
#[derive(Clone, Debug)]
pub(super) struct Scope {
    pub repo: String,
    pub access: Access,
    pub mount_from: Option<String>,
}

impl Scope {
    pub fn new(repo: &str, access: Access) -> Scope {
        Scope { repo: repo.to_string(), access, mount_from: None }
    }

    /// Token scopes, as the token endpoint takes them.
    fn scopes(&self) -> Vec<String> {
        let actions = match self.access {
            Access::Pull => "pull",
            Access::Push => "pull,push",
            Access::Delete => "delete",
        };
        let mut out = vec![format!("repository:{}:{actions}", self.repo)];
        if let Some(from) = &self.mount_from {
            out.push(format!("repository:{from}:pull"));
        }
        out
    }

    fn key(&self) -> String {
        self.scopes().join(" ")
    }
}

/// The body of a request, as something that can be produced again for a retry.
pub(super) enum Body<'a> {
    None,
    Bytes(&'a [u8]),
    /// `len` bytes of `path` from `offset`, streamed; `progress` gets the bytes sent so far
    /// (of this body).
    File {
        path: &'a Path,
        offset: u64,
        len: u64,
        progress: &'a dyn Fn(u64),
    },
}

pub(super) struct Req<'a> {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Body<'a>,
    /// The API host, for the auth cache and messages.
    pub host: &'a str,
    pub scope: Scope,
    /// Retry 5xx / 429 / I/O errors here (off for bodies an upload must resume instead).
    pub retry: bool,
    /// What the request does, for messages: `push blob `sha256:…` to `host/repo``.
    pub what: String,
}

impl<'a> Req<'a> {
    pub fn new(method: &'static str, url: String, host: &'a str, scope: Scope, what: String) -> Req<'a> {
        Req { method, url, headers: Vec::new(), body: Body::None, host, scope, retry: true, what }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Req<'a> {
        self.headers.push((name, value.into()));
        self
    }

    pub fn body(mut self, body: Body<'a>) -> Req<'a> {
        self.body = body;
        self
    }

    pub fn no_retry(mut self) -> Req<'a> {
        self.retry = false;
        self
    }

    /// The URL as messages show it: without the query (upload URLs carry session state).
    pub fn shown_url(&self) -> &str {
        self.url.split('?').next().unwrap_or(&self.url)
    }
}

/// A response the caller handles (any status but 401/403 and, when retried, 429/5xx).
pub(super) struct Answer {
    pub status: u16,
    pub response: ureq::Response,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.response.header(name)
    }

    /// Reads the body, refusing more than `limit` bytes.
    pub fn bytes(self, limit: u64, req: &Req) -> Result<Vec<u8>, Failure> {
        let mut out = Vec::new();
        self.response.into_reader().take(limit + 1).read_to_end(&mut out).map_err(|e| {
            Failure::network(format!("cannot {}: reading the answer of `{}` failed: {e}", req.what, req.shown_url()))
        })?;
        if out.len() as u64 > limit {
            return Err(Failure::publish(format!(
                "cannot {}: `{}` answered with more than {limit} bytes",
                req.what,
                req.shown_url()
            )));
        }
        Ok(out)
    }

    /// `2xx` → the answer to read; `404` (and the `absent` statuses) → `None`, body drained;
    /// anything else → [`Answer::unexpected`].
    pub fn found(self, req: &Req, absent: &[u16]) -> Result<Option<Answer>, Failure> {
        match self.status {
            200..=299 => Ok(Some(self)),
            s if s == 404 || absent.contains(&s) => {
                self.drain();
                Ok(None)
            }
            _ => Err(self.unexpected(req)),
        }
    }

    /// `2xx` → `true`, `404` → `false` (body drained either way); anything else →
    /// [`Answer::unexpected`].
    pub fn exists(self, req: &Req) -> Result<bool, Failure> {
        Ok(self.found(req, &[])?.map(Answer::drain).is_some())
    }

    /// `2xx` → done (body drained); anything else → [`Answer::unexpected`].
    pub fn done(self, req: &Req) -> Result<(), Failure> {
        match self.status {
            200..=299 => {
                self.drain();
                Ok(())
            }
            _ => Err(self.unexpected(req)),
        }
    }

    /// Reads and drops the body, so the connection goes back to the pool.
    pub fn drain(self) {
        drain(self.response);
    }

    /// The failure for a status the caller did not expect: the registry's own error code and
    /// message when it sent one.
    pub fn unexpected(self, req: &Req) -> Failure {
        let status = self.status;
        let detail = error_detail(self.response);
        Failure::publish(format!("cannot {}: `{}` answered HTTP {status}{detail}", req.what, req.shown_url()))
    }
}

fn drain(response: ureq::Response) {
    let _ = io::copy(&mut response.into_reader().take(1 << 20), &mut io::sink());
}

/// ` UNAUTHORIZED (authentication required)`, from a distribution-spec error body, or the
/// status text; control characters dropped, at most 200 characters.
fn error_detail(response: ureq::Response) -> String {
    let status_text = response.status_text().to_string();
    let mut body = Vec::new();
    let _ = response.into_reader().take(64 * 1024).read_to_end(&mut body);
    let parsed: Option<String> = serde_json::from_slice::<serde_json::Value>(&body).ok().and_then(|v| {
        let first = v.get("errors")?.as_array()?.first()?.clone();
        let code = first.get("code").and_then(|c| c.as_str()).unwrap_or("").to_string();
        let message = first.get("message").and_then(|m| m.as_str()).unwrap_or("").to_string();
        Some(if message.is_empty() { code } else { format!("{code} ({message})") })
    });
    let text = parsed.unwrap_or(status_text);
    let clean: String = text.chars().filter(|c| !c.is_control()).take(200).collect();
    if clean.trim().is_empty() {
        String::new()
    } else {
        format!(" {}", clean.trim())
    }
}

/// Tokens and Basic hosts learnt from challenges.
#[derive(Default)]
pub(crate) struct AuthCache {
    basic_hosts: HashSet<String>,
    tokens: HashMap<(String, String), Token>,
}

struct Token {
    value: String,
    expires: Instant,
}

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Challenge {
    pub scheme: String,
    pub params: HashMap<String, String>,
}

/// Parses `Bearer realm="…",service="…",scope="repository:a:pull,push"` (quoted values may
/// hold commas) and `Basic realm="…"`.
pub(super) fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    if scheme.is_empty() {
        return None;
    }
    let mut params = HashMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ',')).collect();
        if key.is_empty() {
            break;
        }
        if chars.next_if_eq(&'=').is_none() {
            continue;
        }
        let value = if chars.next_if_eq(&'"').is_some() {
            let mut v = String::new();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => v.extend(chars.next()),
                    '"' => break,
                    c => v.push(c),
                }
            }
            v
        } else {
            std::iter::from_fn(|| chars.next_if(|c| *c != ',')).collect::<String>().trim().to_string()
        };
        params.insert(key.trim().to_ascii_lowercase(), value);
    }
    Some(Challenge { scheme: scheme.to_ascii_lowercase(), params })
}

/// Backoff before retry `attempt` (0-based): 100 ms × 2ⁿ, at most 5 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(100u64.saturating_mul(1u64 << attempt.min(16))).min(Duration::from_secs(5))
}

pub(super) fn sleep_before_retry(attempt: u32) {
    std::thread::sleep(backoff(attempt));
}

fn retry_after(response: &ureq::Response) -> Option<Duration> {
    let secs: u64 = response.header("retry-after")?.trim().parse().ok()?;
    Some(Duration::from_secs(secs.min(10)))
}

fn retriable_transport(t: &ureq::Transport) -> bool {
    matches!(t.kind(), ureq::ErrorKind::ConnectionFailed | ureq::ErrorKind::Io | ureq::ErrorKind::BadStatus)
}

fn transport_text(t: &ureq::Transport) -> String {
    let mut text = t.kind().to_string().to_lowercase();
    if let Some(m) = t.message() {
        text.push_str(": ");
        text.push_str(m);
    }
    if let Some(source) = std::error::Error::source(t) {
        text.push_str(": ");
        text.push_str(&source.to_string());
    }
    without_url_secrets(&text)
}

/// `text` with every URL's query string and userinfo cut (a redirect to pre-signed storage
/// carries its signature in the query).
fn without_url_secrets(text: &str) -> String {
    text.split(' ')
        .map(|word| match word.find("://") {
            Some(i) => {
                let (scheme, rest) = word.split_at(i + 3);
                let rest = rest.split(['?', '#']).next().unwrap_or("");
                let rest = match rest.split_once('/') {
                    Some((authority, path)) => {
                        format!("{}/{path}", authority.rsplit_once('@').map_or(authority, |(_, h)| h))
                    }
                    None => rest.rsplit_once('@').map_or(rest, |(_, h)| h).to_string(),
                };
                format!("{scheme}{rest}")
            }
            None => word.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// How to log in, for `401`/`403` hints.
fn login_hint(host: &str) -> String {
    format!(
        "log in with `podman login {host}` (or `docker login {host}`), or set RELMAN_REGISTRY_USERNAME and RELMAN_REGISTRY_PASSWORD"
    )
}

/// A reader over part of a file that reports progress.
struct FileBody<'a> {
    inner: io::Take<BufReader<File>>,
    sent: u64,
    reported: u64,
    progress: &'a dyn Fn(u64),
}

impl Read for FileBody<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sent += n as u64;
        if n == 0 || self.sent - self.reported >= 1 << 20 {
            self.reported = self.sent;
            (self.progress)(self.sent);
        }
        Ok(n)
    }
}

/// Read buffer for streamed uploads (the file is read in pieces this large).
const UPLOAD_READ_BUFFER: usize = 256 * 1024;

impl Client {
    /// Sends `req`, authenticating and retrying as the module notes say. `Ok` for every status
    /// the caller decides about.
    pub(super) fn send(&self, req: &Req) -> Result<Answer, Failure> {
        let retries = if req.retry { self.inner.opts.retries } else { 0 };
        let mut attempt = 0u32;
        let mut challenged = false;
        loop {
            let result = self.send_once(req, self.cached_auth(req));
            let (status, response) = match result.map_err(|e| *e) {
                Ok(r) => (r.status(), r),
                Err(ureq::Error::Status(code, r)) => (code, r),
                Err(ureq::Error::Transport(t)) => {
                    if retriable_transport(&t) && attempt < retries {
                        sleep_before_retry(attempt);
                        attempt += 1;
                        continue;
                    }
                    let tries = if attempt > 0 { format!(" (after {} attempts)", attempt + 1) } else { String::new() };
                    return Err(Failure::network(format!(
                        "cannot {}: cannot reach `{}`: {}{tries}",
                        req.what,
                        req.shown_url(),
                        transport_text(&t)
                    )));
                }
            };
            match status {
                401 if !challenged => {
                    challenged = true;
                    let header = response.header("www-authenticate").map(str::to_string);
                    drain(response);
                    self.answer_challenge(req, header.as_deref())?;
                }
                401 => {
                    let detail = error_detail(response);
                    let who = match self.credentials_for(req.host)? {
                        Some(c) => format!("the credentials for `{}` were refused", c.username),
                        None => "it needs credentials and none were found".to_string(),
                    };
                    return Err(Failure::publish(format!(
                        "cannot {}: registry `{}` answered HTTP 401{detail}: {who}",
                        req.what, req.host
                    ))
                    .with_hint(login_hint(req.host)));
                }
                403 => {
                    let detail = error_detail(response);
                    let who = match self.credentials_for(req.host)? {
                        Some(c) => format!("`{}` may not do this", c.username),
                        None => "anonymous access is not allowed".to_string(),
                    };
                    return Err(Failure::publish(format!(
                        "cannot {}: registry `{}` answered HTTP 403{detail}: {who}",
                        req.what, req.host
                    ))
                    .with_hint(login_hint(req.host)));
                }
                429 | 500..=599 if attempt < retries => {
                    let wait = retry_after(&response).unwrap_or_else(|| backoff(attempt));
                    drain(response);
                    std::thread::sleep(wait);
                    attempt += 1;
                }
                429 | 500..=599 => {
                    let detail = error_detail(response);
                    let tries = if attempt > 0 { format!(" (after {} attempts)", attempt + 1) } else { String::new() };
                    return Err(Failure::network(format!(
                        "cannot {}: `{}` answered HTTP {status}{detail}{tries}",
                        req.what,
                        req.shown_url()
                    )));
                }
                _ => return Ok(Answer { status, response }),
            }
        }
    }

    fn send_once(&self, req: &Req, auth: Option<String>) -> Result<ureq::Response, Box<ureq::Error>> {
        let mut r = self.inner.agent.request(req.method, &req.url);
        for (k, v) in &req.headers {
            r = r.set(k, v);
        }
        if let Some(a) = &auth {
            if url_host(&req.url) == Some(req.host) {
                r = r.set("Authorization", a);
            }
        }
        let result = match &req.body {
            Body::None if matches!(req.method, "POST" | "PUT" | "PATCH") => r.set("Content-Length", "0").call(),
            Body::None => r.call(),
            Body::Bytes(b) => r.send_bytes(b),
            Body::File { path, offset, len, progress } => {
                let mut file = File::open(path).map_err(|e| io_transport(path, e))?;
                file.seek(SeekFrom::Start(*offset)).map_err(|e| io_transport(path, e))?;
                let body = FileBody {
                    inner: BufReader::with_capacity(UPLOAD_READ_BUFFER, file).take(*len),
                    sent: 0,
                    reported: 0,
                    progress: *progress,
                };
                r.set("Content-Length", &len.to_string()).send(body)
            }
        };
        result.map_err(Box::new)
    }

    /// The `Authorization` value to send before any challenge, from what earlier ones taught.
    fn cached_auth(&self, req: &Req) -> Option<String> {
        let cache = self.inner.auth.lock().unwrap();
        if let Some(t) = cache.tokens.get(&(req.host.to_string(), req.scope.key())) {
            if t.expires > Instant::now() {
                return Some(format!("Bearer {}", t.value));
            }
        }
        if cache.basic_hosts.contains(req.host) {
            drop(cache);
            return self.credentials_for(req.host).ok().flatten().map(|c| c.basic_header());
        }
        None
    }

    /// Learns from a `401` challenge what to send next time (a token, or basic credentials).
    fn answer_challenge(&self, req: &Req, header: Option<&str>) -> Result<(), Failure> {
        let creds = self.credentials_for(req.host)?;
        let refused = |why: &str| {
            Failure::publish(format!("cannot {}: registry `{}` answered HTTP 401: {why}", req.what, req.host))
                .with_hint(login_hint(req.host))
        };
        let challenge = header.and_then(parse_challenge);
        match challenge {
            Some(c) if c.scheme == "bearer" => {
                let token = self.fetch_token(req, &c, creds.as_ref())?;
                self.inner.auth.lock().unwrap().tokens.insert((req.host.to_string(), req.scope.key()), token);
                Ok(())
            }
            Some(c) if c.scheme == "basic" => {
                if creds.is_none() {
                    return Err(refused("it needs credentials and none were found"));
                }
                self.inner.auth.lock().unwrap().basic_hosts.insert(req.host.to_string());
                Ok(())
            }
            Some(c) => Err(refused(&format!("authentication scheme `{}` is not supported", c.scheme))),
            None => Err(refused("no usable WWW-Authenticate challenge")),
        }
    }

    /// Fetches a bearer token from the challenge's realm.
    fn fetch_token(&self, req: &Req, c: &Challenge, creds: Option<&Credentials>) -> Result<Token, Failure> {
        let realm = c.params.get("realm").filter(|r| !r.is_empty()).ok_or_else(|| {
            Failure::publish(format!(
                "cannot {}: registry `{}` asked for a bearer token without saying where to get one (no realm)",
                req.what, req.host
            ))
        })?;
        let mut url = realm.clone();
        let mut sep = if url.contains('?') { '&' } else { '?' };
        if let Some(service) = c.params.get("service") {
            url.push_str(&format!("{sep}service={}", encode_query(service)));
            sep = '&';
        }
        let scopes: Vec<String> = match c.params.get("scope").filter(|s| !s.is_empty()) {
            Some(s) => {
                let mut v: Vec<String> = s.split(' ').map(str::to_string).collect();
                // A mount needs the source repository too, which a challenge may leave out.
                for extra in req.scope.scopes() {
                    if !v.contains(&extra) {
                        v.push(extra);
                    }
                }
                v
            }
            None => req.scope.scopes(),
        };
        for s in scopes {
            url.push_str(&format!("{sep}scope={}", encode_query(&s)));
            sep = '&';
        }
        let what = format!("get a token for `{}` from the registry's token service", req.host);
        let realm_host = url_host(&url).unwrap_or("").to_string();
        // Never send a password in the clear to a token service off this machine, unless the
        // user listed it as a plain-HTTP registry.
        let plain = url.get(..7).is_some_and(|p| p.eq_ignore_ascii_case("http://"));
        if creds.is_some() && plain && self.scheme(&realm_host) == "https" {
            return Err(Failure::publish(format!(
                "cannot {what}: its token service `{realm_host}` is plain HTTP; refusing to send credentials there"
            ))
            .with_hint("the registry's WWW-Authenticate realm should be https://"));
        }
        // Pull-only requests may fall back to anonymous access when credentials are refused
        // (credentials meant for another registry, or expired ones on a public image).
        let pull_only = req.scope.scopes().iter().all(|s| s.ends_with(":pull"));
        let given = creds;
        let mut creds = creds;
        let mut attempt = 0;
        let response = loop {
            let mut r = self.inner.agent.get(&url);
            if let Some(creds) = creds {
                r = r.set("Authorization", &creds.basic_header());
            }
            let shown = url.split('?').next().unwrap_or(&url).to_string();
            match r.call() {
                Ok(resp) => break resp,
                Err(ureq::Error::Status(401 | 403, resp)) if creds.is_some() && pull_only => {
                    drain(resp);
                    creds = None;
                }
                Err(ureq::Error::Status(401 | 403, resp)) => {
                    let detail = error_detail(resp);
                    let who = match (creds, given) {
                        (Some(c), _) => format!("the credentials for `{}` were refused", c.username),
                        (None, Some(c)) => {
                            format!("the credentials for `{}` were refused, and anonymous access too", c.username)
                        }
                        (None, None) => "it needs credentials and none were found".to_string(),
                    };
                    return Err(Failure::publish(format!(
                        "cannot {}: token service `{shown}` of registry `{}` refused{detail}: {who}",
                        req.what, req.host
                    ))
                    .with_hint(login_hint(req.host)));
                }
                Err(ureq::Error::Status(code @ (429 | 500..=599), resp)) if attempt < self.inner.opts.retries => {
                    let _ = code;
                    drain(resp);
                    sleep_before_retry(attempt);
                    attempt += 1;
                }
                Err(ureq::Error::Status(code, resp)) => {
                    let detail = error_detail(resp);
                    let f = format!("cannot {what}: `{shown}` answered HTTP {code}{detail}");
                    return Err(if code >= 500 { Failure::network(f) } else { Failure::publish(f) });
                }
                Err(ureq::Error::Transport(t)) if retriable_transport(&t) && attempt < self.inner.opts.retries => {
                    sleep_before_retry(attempt);
                    attempt += 1;
                }
                Err(ureq::Error::Transport(t)) => {
                    return Err(Failure::network(format!(
                        "cannot {what}: cannot reach `{shown}` ({realm_host}): {}",
                        transport_text(&t)
                    )))
                }
            }
        };
        let body = response.into_string().map_err(|e| Failure::network(format!("cannot {what}: {e}")))?;
        let value: serde_json::Value = serde_json::from_str(&body)
            .map_err(|_| Failure::publish(format!("cannot {what}: the token service did not answer with JSON")))?;
        let token = value
            .get("token")
            .or_else(|| value.get("access_token"))
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Failure::publish(format!("cannot {what}: the token service's answer holds no token")))?;
        let lifetime = value.get("expires_in").and_then(|e| e.as_u64()).unwrap_or(60).max(10);
        // Renew a little early so a token never expires between the check and the request.
        Ok(Token { value: token.to_string(), expires: Instant::now() + Duration::from_secs(lifetime - 5) })
    }
}

fn io_transport(path: &Path, e: io::Error) -> Box<ureq::Error> {
    // Reading the local file failed: surface it as an I/O error of the request; the message
    // names the file.
    Box::new(ureq::Error::from(io::Error::new(e.kind(), format!("reading `{}`: {e}", path.display()))))
}

/// The `host[:port]` of an absolute URL.
pub(super) fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    Some(rest.split(['/', '?', '#']).next().unwrap_or(rest))
}

#[cfg(test)]
mod tests {

    #[test]
    fn url_secrets_are_cut_from_transport_errors() {
        assert_eq!(
            super::without_url_secrets("bad redirection: https://u:p@s3.example/b/k?X-Amz-Signature=abc, again"),
            "bad redirection: https://s3.example/b/k again",
        );
        assert_eq!(
            super::without_url_secrets("dns failed for http://tok@host:5000"),
            "dns failed for http://host:5000"
        );
    }
    use super::*;

    #[test]
    fn parses_bearer_and_basic_challenges() {
        let c = parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push repository:a:pull""#,
        )
        .unwrap();
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.params["realm"], "https://auth.docker.io/token");
        assert_eq!(c.params["service"], "registry.docker.io");
        assert_eq!(c.params["scope"], "repository:library/busybox:pull,push repository:a:pull");
        let b = parse_challenge(r#"Basic realm="relman-test""#).unwrap();
        assert_eq!((b.scheme.as_str(), b.params["realm"].as_str()), ("basic", "relman-test"));
        let unquoted = parse_challenge("Bearer realm=https://t.example/token, service=reg").unwrap();
        assert_eq!(unquoted.params["realm"], "https://t.example/token");
        assert_eq!(unquoted.params["service"], "reg");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(0), Duration::from_millis(100));
        assert_eq!(backoff(3), Duration::from_millis(800));
        assert_eq!(backoff(30), Duration::from_secs(5));
    }

    #[test]
    fn scopes_include_the_mount_source() {
        let mut s = Scope::new("b", Access::Push);
        s.mount_from = Some("a".into());
        assert_eq!(s.key(), "repository:b:pull,push repository:a:pull");
        assert_eq!(url_host("http://127.0.0.1:5000/v2/x?y"), Some("127.0.0.1:5000"));
    }
}
