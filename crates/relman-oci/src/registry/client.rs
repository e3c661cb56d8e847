//! [`Client`]: options, the shared agent and caches, and URL building.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use relman_manifest::Failure;

use super::send::AuthCache;
use crate::auth::{self, Credentials};
use crate::reference::{is_loopback_host, strip_port, Reference};

/// How a [`Client`] talks to registries.
///
/// Defaults: 4 blobs at a time, blobs up to 256 MiB in one streamed `PUT`, larger ones in
/// 64 MiB `PATCH` chunks, 4 retries. Chunk sizes were measured on the 2-core development VM
/// (shared, load 4–7) pushing one 200 MiB blob to a local distribution 2.8, 3 runs each: one
/// `PUT` 1.1–1.7 s; 64 MiB chunks 1.5–1.7 s; 8 MiB 1.8–2.2 s; 1 MiB 4.9–5.2 s (every `PATCH`
/// costs the registry a session resume and a hash-state save). The registry is the bottleneck:
/// the client itself used 0.09 s of CPU for those 200 MiB.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Blobs transferred at once by `push_layout` / `pull_to_layout`.
    pub concurrency: usize,
    /// Bytes per `PATCH` for blobs larger than `monolithic_limit`. A failed chunked upload asks
    /// the registry where it stands and resumes from there (distribution 2.8 can only resume
    /// when the failure fell between requests; a cut inside a chunk makes it drop the session,
    /// and the upload restarts).
    pub chunk_size: u64,
    /// Blobs up to this size go in one streamed `PUT` (after the `POST` that opens the
    /// session); a failure restarts them from zero.
    pub monolithic_limit: u64,
    /// Retries after the first attempt, for 5xx, 429 and I/O errors (connection refused or
    /// reset, timeouts), with exponential backoff from 100 ms (capped at 5 s). 4 → 5 attempts
    /// in about 1.5 s when nothing answers.
    pub retries: u32,
    /// Registries (`host[:port]`, or `host` for every port) spoken to over plain HTTP.
    /// Loopback registries (`localhost`, `127.0.0.0/8`, `::1`) always are.
    pub plain_http: Vec<String>,
    /// Credentials for every registry this client talks to; they override the environment and
    /// auth files.
    pub credentials: Option<Credentials>,
    /// When `credentials` is `None`: look credentials up per registry with [`auth::lookup`]
    /// over the process environment (on the first `401`). `false`: anonymous unless
    /// `credentials` are given.
    pub lookup_credentials: bool,
    /// The registries `RELMAN_REGISTRY_USERNAME`/`_PASSWORD` go to when `RELMAN_REGISTRY_HOST`
    /// is unset (`auth::lookup_bound`); `None`: every registry.
    pub env_credential_hosts: Option<Vec<String>>,
    /// Longest wait for a read or a write on a connection before the attempt counts as failed
    /// (and is retried): 60 s.
    pub timeout: Duration,
}

impl ClientOptions {
    /// Whether `plain_http` lists `host` (`host:port`, or its bare host for every port).
    pub fn lists_plain_http(&self, host: &str) -> bool {
        let bare = strip_port(host);
        self.plain_http.iter().any(|h| h.eq_ignore_ascii_case(host) || h.eq_ignore_ascii_case(bare))
    }
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            concurrency: 4,
            chunk_size: 64 * 1024 * 1024,
            monolithic_limit: 256 * 1024 * 1024,
            retries: 4,
            plain_http: Vec::new(),
            credentials: None,
            lookup_credentials: true,
            env_credential_hosts: None,
            timeout: Duration::from_secs(60),
        }
    }
}

/// A registry client: `Clone + Send + Sync`; clones share the connection pool and the token
/// cache.
#[derive(Clone)]
pub struct Client {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) agent: ureq::Agent,
    pub(super) opts: ClientOptions,
    pub(super) auth: Mutex<AuthCache>,
    /// Credentials resolved per API host (`None`: anonymous).
    pub(super) creds: Mutex<HashMap<String, Option<Credentials>>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client").field("opts", &self.inner.opts).finish_non_exhaustive()
    }
}

impl Client {
    pub fn new(opts: ClientOptions) -> Client {
        let idle = opts.concurrency.max(1) * 2 + 2;
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(10))
            .timeout_read(opts.timeout)
            .timeout_write(opts.timeout)
            .max_idle_connections(idle.max(16))
            .max_idle_connections_per_host(idle)
            .user_agent(concat!("relman/", env!("CARGO_PKG_VERSION")))
            .build();
        Client {
            inner: Arc::new(Inner {
                agent,
                opts,
                auth: Mutex::new(AuthCache::default()),
                creds: Mutex::new(HashMap::new()),
            }),
        }
    }

    pub fn options(&self) -> &ClientOptions {
        &self.inner.opts
    }

    /// Whether this client speaks plain HTTP to `host` (loopback, or listed in `plain_http`).
    pub fn plain_http(&self, host: &str) -> bool {
        self.scheme(host) == "http"
    }

    /// `http` or `https` for a registry host.
    pub(super) fn scheme(&self, host: &str) -> &'static str {
        if is_loopback_host(host) || self.inner.opts.lists_plain_http(host) {
            "http"
        } else {
            "https"
        }
    }

    /// `scheme://api-host`, no trailing slash.
    pub(super) fn origin(&self, r: &Reference) -> String {
        format!("{}://{}", self.scheme(r.api_host()), r.api_host())
    }

    /// `scheme://api-host/v2/<repository>/<rest>`.
    pub(super) fn url(&self, r: &Reference, rest: &str) -> String {
        format!("{}/v2/{}/{rest}", self.origin(r), r.repository)
    }

    /// The credentials to answer a challenge from `host` with (resolved once per host).
    pub(super) fn credentials_for(&self, host: &str) -> Result<Option<Credentials>, Failure> {
        let opts = &self.inner.opts;
        if let Some(c) = &opts.credentials {
            return Ok(Some(c.clone()));
        }
        if !opts.lookup_credentials {
            return Ok(None);
        }
        if let Some(found) = self.inner.creds.lock().unwrap().get(host) {
            return Ok(found.clone());
        }
        let found = auth::lookup_bound(host, &|k| std::env::var(k).ok(), opts.env_credential_hosts.as_deref())?;
        self.inner.creds.lock().unwrap().insert(host.to_string(), found.clone());
        Ok(found)
    }

    /// Resolves an upload `Location` (absolute, or relative to the registry) to a full URL.
    pub(super) fn resolve_location(&self, r: &Reference, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            location.to_string()
        } else if location.starts_with('/') {
            format!("{}{location}", self.origin(r))
        } else {
            format!("{}/v2/{}/blobs/uploads/{location}", self.origin(r), r.repository)
        }
    }
}

/// Appends `key=value` to a URL that may already carry a query string.
pub(super) fn with_query(url: &str, key: &str, value: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{key}={}", encode_query(value))
}

/// Percent-encodes a query value (unreserved characters stay).
pub(super) fn encode_query(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_for_loopback_and_listed_hosts() {
        let c = Client::new(ClientOptions { plain_http: vec!["reg.lan".into()], ..Default::default() });
        assert_eq!(c.scheme("127.0.0.1:5000"), "http");
        assert_eq!(c.scheme("localhost"), "http");
        assert_eq!(c.scheme("reg.lan:5000"), "http");
        assert_eq!(c.scheme("ghcr.io"), "https");
        let hub = Reference::parse("busybox").unwrap();
        assert_eq!(c.url(&hub, "tags/list"), "https://registry-1.docker.io/v2/library/busybox/tags/list");
    }

    #[test]
    fn locations_and_queries() {
        let c = Client::new(ClientOptions::default());
        let r = Reference::parse("127.0.0.1:5000/a/b").unwrap();
        assert_eq!(
            c.resolve_location(&r, "/v2/a/b/blobs/uploads/u?_state=x"),
            "http://127.0.0.1:5000/v2/a/b/blobs/uploads/u?_state=x"
        );
        assert_eq!(c.resolve_location(&r, "https://s3.example/up?x=1"), "https://s3.example/up?x=1");
        assert_eq!(with_query("http://h/u?_state=x", "digest", "sha256:ab"), "http://h/u?_state=x&digest=sha256%3Aab");
        assert_eq!(with_query("http://h/u", "digest", "sha256:ab"), "http://h/u?digest=sha256%3Aab");
    }

    #[test]
    fn client_is_send_sync_clone_and_debug_hides_the_password() {
        fn assert_traits<T: Send + Sync + Clone>() {}
        assert_traits::<Client>();
        let c = Client::new(ClientOptions {
            credentials: Some(Credentials::new("u", "pa55w0rd-xyz")),
            ..Default::default()
        });
        let shown = format!("{c:?}");
        assert!(!shown.contains("pa55w0rd-xyz") && shown.contains("***"), "{shown}");
    }
}
