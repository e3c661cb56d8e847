//! How relman reaches remote stores: registry client options and S3 options, resolved once
//! (by the CLI, from the environment: [`Remote::from_env`]) and carried in
//! [`crate::settings::Settings`]. Stages never read the environment themselves. Also the URL
//! hygiene every destination shares ([`refuse_credentials`]).
//!
//! Registries: `RELMAN_INSECURE_REGISTRIES` (hosts spoken to over plain HTTP besides loopback
//! ones) and `RELMAN_REGISTRY_TIMEOUT` (seconds a read or a write may wait before the attempt
//! is retried). Registry credentials are looked up by the client itself (relman-oci's `auth`).
//!
//! S3: credentials from `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`,
//! else the `AWS_PROFILE` (default `default`) section of `~/.aws/credentials`
//! (`AWS_SHARED_CREDENTIALS_FILE`); region from `AWS_REGION` / `AWS_DEFAULT_REGION` (default
//! `us-east-1`); endpoint from `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL` (non-AWS stores:
//! path-style requests), else `https://s3.<region>.amazonaws.com` with virtual-host style;
//! `RELMAN_S3_MULTIPART_ABOVE` / `RELMAN_S3_PART_SIZE` (bytes) size multipart uploads.
//!
//! Forges: tokens from `GITHUB_TOKEN` / `GH_TOKEN`, `GITEA_TOKEN`, `FORGEJO_TOKEN`,
//! `GITLAB_TOKEN`, `CI_JOB_TOKEN` (never printed or recorded); `GITHUB_API_URL` for
//! `github:OWNER/REPO` on GitHub Enterprise.
//!
//! Keyless signing: the identity token from `SIGSTORE_ID_TOKEN`, else requested from
//! `ACTIONS_ID_TOKEN_REQUEST_URL` with `ACTIONS_ID_TOKEN_REQUEST_TOKEN` (GitHub, Forgejo).

use std::path::Path;
use std::time::Duration;

use relman_manifest::Failure;
use relman_oci::registry::{Client, ClientOptions};

pub(crate) const MULTIPART_ABOVE: u64 = 64 << 20;
pub(crate) const PART_SIZE: u64 = 16 << 20;
/// S3's smallest part (but the last).
pub(crate) const MIN_PART_SIZE: u64 = 5 << 20;

/// Everything about reaching remote stores, resolved once.
#[derive(Clone, Debug, Default)]
pub struct Remote {
    pub registry: RegistryOptions,
    pub s3: S3Options,
    pub forge: ForgeOptions,
    pub sigstore: SigstoreOptions,
}

impl Remote {
    /// From the process environment (the CLI calls this once; see the module docs).
    pub fn from_env() -> Remote {
        Remote::from_vars(&|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
    }

    /// From variables looked up with `var` (tests pass a map).
    pub fn from_vars(var: &dyn Fn(&str) -> Option<String>) -> Remote {
        let timeout = var("RELMAN_REGISTRY_TIMEOUT")
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|t| t.is_finite() && *t > 0.0)
            .map(Duration::from_secs_f64);
        let plain_http = var("RELMAN_INSECURE_REGISTRIES")
            .map(|hosts| hosts.split(',').map(|h| h.trim().to_string()).filter(|h| !h.is_empty()).collect())
            .unwrap_or_default();
        Remote {
            registry: RegistryOptions {
                timeout,
                plain_http,
                containers_conf_given: ["CONTAINERS_CONF", "CONTAINERS_STORAGE_CONF", "CONTAINERS_REGISTRIES_CONF"]
                    .iter()
                    .any(|k| var(k).is_some()),
                credential_hosts: Vec::new(),
            },
            s3: S3Options::from_vars(var),
            forge: ForgeOptions::from_vars(var),
            sigstore: SigstoreOptions::from_vars(var),
        }
    }

    /// These options with the environment's registry credentials also offered to `url`'s
    /// registry (an `oci://` URL or an image reference a command was given).
    pub fn with_credential_host(mut self, url: &str) -> Remote {
        let reference = url.strip_prefix("oci://").unwrap_or(url);
        if let Ok(r) = relman_oci::Reference::parse(reference) {
            let host = r.registry.clone();
            if !self.registry.credential_hosts.contains(&host) {
                self.registry.credential_hosts.push(host);
            }
        }
        self
    }

    /// A registry client with these options.
    pub fn registry_client(&self) -> Client {
        let mut opts = ClientOptions::default();
        if let Some(t) = self.registry.timeout {
            opts.timeout = t;
        }
        opts.plain_http.extend(self.registry.plain_http.iter().cloned());
        opts.env_credential_hosts = Some(self.registry.credential_hosts.clone());
        Client::new(opts)
    }
}

/// A forge token: never shown by `Debug` or `Display`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(s: impl Into<String>) -> Token {
        Token(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(****)")
    }
}

/// Where keyless signing gets its OIDC identity token (`sign.mode = "keyless"`).
#[derive(Clone, Debug, Default)]
pub enum TokenSource {
    /// No source: keyless signing fails, naming the ways to give one.
    #[default]
    None,
    /// A token given whole: `SIGSTORE_ID_TOKEN` (GitLab's `id_tokens`), or
    /// `--identity-token FILE|-`; `origin` names where it came from.
    Given { token: Token, origin: String },
    /// GitHub or Forgejo Actions: `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=sigstore` with
    /// `Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN`.
    Actions { url: String, bearer: Token },
}

/// Keyless signing's identity token source, read from the environment.
#[derive(Clone, Debug, Default)]
pub struct SigstoreOptions {
    pub token: TokenSource,
}

impl SigstoreOptions {
    pub fn from_vars(var: &dyn Fn(&str) -> Option<String>) -> SigstoreOptions {
        let token = if let Some(t) = var("SIGSTORE_ID_TOKEN") {
            TokenSource::Given { token: Token(t.trim().to_string()), origin: "SIGSTORE_ID_TOKEN".into() }
        } else if let (Some(url), Some(bearer)) =
            (var("ACTIONS_ID_TOKEN_REQUEST_URL"), var("ACTIONS_ID_TOKEN_REQUEST_TOKEN"))
        {
            TokenSource::Actions { url: url.trim().to_string(), bearer: Token(bearer.trim().to_string()) }
        } else {
            TokenSource::None
        };
        SigstoreOptions { token }
    }
}

/// How to reach forges: tokens from the usual variables, and GitHub's API base.
#[derive(Clone, Debug, Default)]
pub struct ForgeOptions {
    /// `GITHUB_TOKEN`, else `GH_TOKEN`.
    pub github_token: Option<Token>,
    /// `GITEA_TOKEN`.
    pub gitea_token: Option<Token>,
    /// `FORGEJO_TOKEN`, else `GITEA_TOKEN`.
    pub forgejo_token: Option<Token>,
    /// `GITLAB_TOKEN` (sent as `PRIVATE-TOKEN`).
    pub gitlab_token: Option<Token>,
    /// `CI_JOB_TOKEN` (sent as `JOB-TOKEN`, when no `GITLAB_TOKEN`).
    pub ci_job_token: Option<Token>,
    /// `GITHUB_API_URL` (set by GitHub Actions; GitHub Enterprise: `https://HOST/api/v3`), for
    /// `github:OWNER/REPO`. Default `https://api.github.com`.
    pub github_api: Option<String>,
    /// `release.required_checks` from relman.toml (set by `Settings::resolve`): statuses or
    /// check runs that must have succeeded on the tag's commit before a page is published.
    pub required_checks: Vec<String>,
}

impl ForgeOptions {
    pub fn from_vars(var: &dyn Fn(&str) -> Option<String>) -> ForgeOptions {
        let token = |k: &str| var(k).map(|v| Token(v.trim().to_string()));
        ForgeOptions {
            github_token: token("GITHUB_TOKEN").or_else(|| token("GH_TOKEN")),
            gitea_token: token("GITEA_TOKEN"),
            forgejo_token: token("FORGEJO_TOKEN").or_else(|| token("GITEA_TOKEN")),
            gitlab_token: token("GITLAB_TOKEN"),
            ci_job_token: token("CI_JOB_TOKEN"),
            github_api: var("GITHUB_API_URL").map(|u| u.trim().trim_end_matches('/').to_string()),
            required_checks: Vec::new(),
        }
    }
}

/// How to talk to OCI registries.
#[derive(Clone, Debug, Default)]
pub struct RegistryOptions {
    /// Longest wait for a read or a write (default: the client's).
    pub timeout: Option<Duration>,
    /// Registries spoken to over plain HTTP besides loopback ones.
    pub plain_http: Vec<String>,
    /// The user set `CONTAINERS_CONF`, `CONTAINERS_STORAGE_CONF` or
    /// `CONTAINERS_REGISTRIES_CONF`: podman and buildah use theirs, not relman's own.
    pub containers_conf_given: bool,
    /// The registries `RELMAN_REGISTRY_USERNAME`/`_PASSWORD` are offered to when
    /// `RELMAN_REGISTRY_HOST` is unset: the release's registry destinations (set by
    /// `Settings::resolve`), or the registry a command names (`verify oci://…`). Never a base
    /// image's registry unless it is one of them.
    pub credential_hosts: Vec<String>,
}

impl Default for S3Options {
    fn default() -> S3Options {
        S3Options::from_vars(&|_| None)
    }
}

impl std::fmt::Debug for S3Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Options")
            .field("endpoint", &self.endpoint)
            .field("path_style", &self.path_style)
            .field("region", &self.region)
            .field("credentials", &self.credentials.as_ref().map(|_| "****"))
            .finish()
    }
}

/// Credentials (never printed: no `Debug`).
#[derive(Clone)]
pub(crate) struct Credentials {
    pub(crate) access_key: String,
    pub(crate) secret_key: String,
    pub(crate) token: Option<String>,
}

/// Where and how to reach the store.
#[derive(Clone)]
pub struct S3Options {
    /// `https://s3.us-east-1.amazonaws.com` or the configured endpoint, without a trailing `/`.
    pub(crate) endpoint: String,
    pub(crate) path_style: bool,
    pub(crate) region: String,
    pub(crate) credentials: Option<Credentials>,
    /// Files larger than this go as multipart uploads (`RELMAN_S3_MULTIPART_ABOVE`, bytes).
    pub(crate) multipart_above: u64,
    /// Bytes per part (`RELMAN_S3_PART_SIZE`, at least 5 MiB).
    pub(crate) part_size: u64,
}

impl S3Options {
    /// From the standard AWS variables and profile files, looked up with `var`.
    pub fn from_vars(var: &dyn Fn(&str) -> Option<String>) -> S3Options {
        let region = var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")).unwrap_or_else(|| "us-east-1".into());
        let endpoint = var("AWS_ENDPOINT_URL_S3").or_else(|| var("AWS_ENDPOINT_URL"));
        let path_style = endpoint.is_some();
        let endpoint = endpoint
            .map(|e| e.trim_end_matches('/').to_string())
            .unwrap_or_else(|| format!("https://s3.{region}.amazonaws.com"));
        let credentials = match (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
            (Some(access_key), Some(secret_key)) => {
                Some(Credentials { access_key, secret_key, token: var("AWS_SESSION_TOKEN") })
            }
            _ => profile_credentials(
                &var("AWS_SHARED_CREDENTIALS_FILE")
                    .map(std::path::PathBuf::from)
                    .or_else(|| var("HOME").map(|h| Path::new(&h).join(".aws/credentials")))
                    .unwrap_or_default(),
                &var("AWS_PROFILE").unwrap_or_else(|| "default".into()),
            ),
        };
        let bytes = |k: &str, default: u64| var(k).and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(default);
        S3Options {
            endpoint,
            path_style,
            region,
            credentials,
            multipart_above: bytes("RELMAN_S3_MULTIPART_ABOVE", MULTIPART_ABOVE),
            part_size: bytes("RELMAN_S3_PART_SIZE", PART_SIZE).max(MIN_PART_SIZE),
        }
    }
}

/// The `[profile]` section of an AWS credentials file.
pub(crate) fn profile_credentials(path: &Path, profile: &str) -> Option<Credentials> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut in_section = false;
    let (mut access_key, mut secret_key, mut token) = (None, None, None);
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = line.trim_matches(['[', ']']).trim() == profile;
            continue;
        }
        let Some((k, v)) = line.split_once('=') else { continue };
        if !in_section {
            continue;
        }
        let v = v.trim().to_string();
        match k.trim() {
            "aws_access_key_id" => access_key = Some(v),
            "aws_secret_access_key" => secret_key = Some(v),
            "aws_session_token" => token = Some(v),
            _ => {}
        }
    }
    Some(Credentials { access_key: access_key?, secret_key: secret_key?, token })
}

/// Whether `url` names an OCI registry destination.
pub fn is_oci(url: &str) -> bool {
    url.starts_with("oci://")
}

/// Whether a `scheme://…` URL carries credentials (`user[:password]@` before the host).
pub fn has_userinfo(url: &str) -> bool {
    url.split_once("://").is_some_and(|(_, rest)| rest.split('/').next().unwrap_or("").contains('@'))
}

/// Refuses an `oci://user:password@…` URL without echoing it: registry credentials come from
/// the environment or a login, never from a URL that ends up in logs and records.
pub fn refuse_credentials(url: &str) -> Result<(), Failure> {
    let rest = url.strip_prefix("oci://").unwrap_or(url);
    let authority = rest.split('/').next().unwrap_or(rest);
    if !authority.contains('@') {
        return Ok(());
    }
    Err(Failure::usage(format!(
        "`{}` has credentials in it; relman does not read them from an oci:// URL",
        relman_install::source::redact(url)
    ))
    .with_hint(format!(
        "drop them from the URL and set {} and {} (or log in with docker or podman)",
        relman_oci::auth::USERNAME_VAR,
        relman_oci::auth::PASSWORD_VAR
    )))
}

/// Percent-encodes `s` for a URL path or query (RFC 3986 unreserved characters kept; `/` kept
/// when `keep_slash`): S3 keys and SigV4's canonical request, forge query values and GitLab's
/// `group%2Fproject`.
pub(crate) fn percent_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
