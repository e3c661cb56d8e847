//! Registry credentials: where they come from and how they are kept out of output.
//!
//! [`lookup`] finds a username and password for a registry host in the places podman, skopeo
//! and docker keep them (first found wins):
//!
//! 1. `RELMAN_REGISTRY_USERNAME` + `RELMAN_REGISTRY_PASSWORD`, for the hosts listed in
//!    `RELMAN_REGISTRY_HOST` (comma-separated `host[:port]`); when it is unset, for the hosts
//!    the client is bound to ([`lookup_bound`]: relman binds them to the release's registry
//!    destinations), or every host for a client bound to none (then a pull whose token request
//!    they fail falls back to anonymous access);
//! 2. `$REGISTRY_AUTH_FILE`;
//! 3. `$XDG_RUNTIME_DIR/containers/auth.json`;
//! 4. `$HOME/.config/containers/auth.json`;
//! 5. `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`.
//!
//! In each file, `auths.<key>` matches the host when the key is the host itself or the host
//! written as `https://host`, `http://host`, `host/v1/` or `https://host/v2/`; Docker Hub's
//! names (`docker.io`, `index.docker.io`, `registry-1.docker.io`) are one host. An entry holds
//! `auth` (base64 of `user:password`) or `username` + `password`. Credential helpers
//! (`credHelpers`, `credsStore`) are not supported: such hosts get `None`, silently.
//!
//! The environment comes in as a closure so tests (and the engine's settings) decide what it is.
//! [`Credentials`] never shows its password: `Debug` prints `***` and there is no `Display`.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use relman_manifest::Failure;

/// A username and password (or token used as a password) for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl Credentials {
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Credentials {
        Credentials { username: username.into(), password: password.into() }
    }

    /// The `Authorization` header value for HTTP basic authentication.
    pub(crate) fn basic_header(&self) -> String {
        let raw = format!("{}:{}", self.username, self.password);
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(raw))
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials").field("username", &self.username).field("password", &"***").finish()
    }
}

/// The environment variables that hold credentials for every registry (or those in
/// [`HOST_VAR`]).
pub const USERNAME_VAR: &str = "RELMAN_REGISTRY_USERNAME";
pub const PASSWORD_VAR: &str = "RELMAN_REGISTRY_PASSWORD";
/// Limits [`USERNAME_VAR`]/[`PASSWORD_VAR`] to these registries (comma-separated).
pub const HOST_VAR: &str = "RELMAN_REGISTRY_HOST";

/// The credentials for `host` (`host[:port]`), first found of the places listed in the module
/// notes. `Ok(None)`: none configured (anonymous access). A file that exists but cannot be read
/// or parsed is a [`Failure::config`] naming it (never its content).
pub fn lookup(host: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Option<Credentials>, Failure> {
    lookup_bound(host, env, None)
}

/// [`lookup`], with the environment's credentials bound to `bound` (`host[:port]` each) when
/// `RELMAN_REGISTRY_HOST` is unset: a caller that knows which registries it publishes to never
/// offers them to another (a base image's registry, a registry named in a manifest). `None`:
/// every host, as [`lookup`].
pub fn lookup_bound(
    host: &str,
    env: &dyn Fn(&str) -> Option<String>,
    bound: Option<&[String]>,
) -> Result<Option<Credentials>, Failure> {
    let nonempty = |k: &str| env(k).filter(|v| !v.is_empty());
    if let (Some(user), Some(pass)) = (nonempty(USERNAME_VAR), nonempty(PASSWORD_VAR)) {
        let listed = |list: &mut dyn Iterator<Item = &str>| {
            list.map(|h| canonical_host(&key_host(h.trim()))).any(|h| h == canonical_host(host))
        };
        let for_host = match (nonempty(HOST_VAR), bound) {
            (Some(list), _) => listed(&mut list.split(',')),
            (None, Some(hosts)) => listed(&mut hosts.iter().map(String::as_str)),
            (None, None) => true,
        };
        if for_host {
            return Ok(Some(Credentials::new(user, pass)));
        }
    }
    for file in auth_files(env) {
        let text = match std::fs::read(&file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Failure::config(format!("cannot read `{}`: {e}", file.display()))),
        };
        if let Some(found) = from_file(&file, &text, host)? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

fn auth_files(env: &dyn Fn(&str) -> Option<String>) -> Vec<PathBuf> {
    let var = |k: &str| env(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let mut files = Vec::new();
    if let Some(f) = var("REGISTRY_AUTH_FILE") {
        files.push(f);
    }
    if let Some(d) = var("XDG_RUNTIME_DIR") {
        files.push(d.join("containers").join("auth.json"));
    }
    let home = var("HOME");
    if let Some(h) = &home {
        files.push(h.join(".config").join("containers").join("auth.json"));
    }
    match (var("DOCKER_CONFIG"), &home) {
        (Some(d), _) => files.push(d.join("config.json")),
        (None, Some(h)) => files.push(h.join(".docker").join("config.json")),
        (None, None) => {}
    }
    files
}

/// The entry for `host` in one auth file, if it has one with a usable secret.
fn from_file(path: &Path, text: &[u8], host: &str) -> Result<Option<Credentials>, Failure> {
    let value: serde_json::Value = serde_json::from_slice(text).map_err(|e| {
        Failure::config(format!("`{}` is not JSON (line {}, column {})", path.display(), e.line(), e.column()))
    })?;
    let Some(auths) = value.get("auths").and_then(|a| a.as_object()) else {
        return Ok(None);
    };
    let want = canonical_host(host);
    for (key, entry) in auths {
        if canonical_host(&key_host(key)) != want {
            continue;
        }
        if let Some(auth) = entry.get("auth").and_then(|a| a.as_str()).filter(|a| !a.is_empty()) {
            let bad = || {
                Failure::config(format!(
                    "`{}`: `auths.{key}.auth` is not base64 of `username:password`",
                    path.display()
                ))
            };
            let decoded = base64::engine::general_purpose::STANDARD.decode(auth.trim()).map_err(|_| bad())?;
            let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
            let (user, pass) = decoded.split_once(':').ok_or_else(bad)?;
            return Ok(Some(Credentials::new(user, pass)));
        }
        let user = entry.get("username").and_then(|u| u.as_str()).filter(|u| !u.is_empty());
        let pass = entry.get("password").and_then(|p| p.as_str()).filter(|p| !p.is_empty());
        if let (Some(user), Some(pass)) = (user, pass) {
            return Ok(Some(Credentials::new(user, pass)));
        }
    }
    Ok(None)
}

/// `https://host/v1/` → `host`; `host/namespace` (containers' per-repository keys) stays as is,
/// so it never matches a bare host.
fn key_host(key: &str) -> String {
    let k = key.strip_prefix("https://").or_else(|| key.strip_prefix("http://")).unwrap_or(key);
    let k = k.strip_suffix('/').unwrap_or(k);
    let k = k.strip_suffix("/v1").or_else(|| k.strip_suffix("/v2")).unwrap_or(k);
    k.to_ascii_lowercase()
}

fn canonical_host(host: &str) -> String {
    let h = host.to_ascii_lowercase();
    match h.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "docker.io" => "docker.io".to_string(),
        _ => h,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env_of(pairs: &[(&str, String)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        move |k: &str| map.get(k).cloned()
    }

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn environment_comes_first() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("auth.json");
        std::fs::write(&file, format!(r#"{{"auths":{{"reg.io":{{"auth":"{}"}}}}}}"#, b64("fileuser:filepass")))
            .unwrap();
        let env = env_of(&[
            (USERNAME_VAR, "envuser".into()),
            (PASSWORD_VAR, "envpass".into()),
            ("REGISTRY_AUTH_FILE", file.display().to_string()),
        ]);
        assert_eq!(lookup("reg.io", &env).unwrap(), Some(Credentials::new("envuser", "envpass")));
        let env = env_of(&[(USERNAME_VAR, "envuser".into()), ("REGISTRY_AUTH_FILE", file.display().to_string())]);
        assert_eq!(lookup("reg.io", &env).unwrap(), Some(Credentials::new("fileuser", "filepass")));
    }

    #[test]
    fn registry_host_limits_the_environment_credentials() {
        let env = env_of(&[
            (USERNAME_VAR, "envuser".into()),
            (PASSWORD_VAR, "envpass".into()),
            (HOST_VAR, "ghcr.io, https://registry-1.docker.io/v2/".into()),
        ]);
        assert_eq!(lookup("ghcr.io", &env).unwrap(), Some(Credentials::new("envuser", "envpass")));
        assert_eq!(lookup("docker.io", &env).unwrap(), Some(Credentials::new("envuser", "envpass")));
        assert_eq!(lookup("quay.io", &env).unwrap(), None, "not for another registry");
        assert_eq!(lookup("ghcr.io:5000", &env).unwrap(), None, "the port is part of the host");
    }

    #[test]
    fn a_bound_client_offers_the_environment_credentials_to_its_registries_only() {
        let bound = vec!["ghcr.io".to_string(), "127.0.0.1:5000".to_string()];
        let env = env_of(&[(USERNAME_VAR, "envuser".into()), (PASSWORD_VAR, "envpass".into())]);
        let creds = Some(Credentials::new("envuser", "envpass"));
        assert_eq!(lookup_bound("ghcr.io", &env, Some(&bound)).unwrap(), creds);
        assert_eq!(lookup_bound("127.0.0.1:5000", &env, Some(&bound)).unwrap(), creds);
        // A base image's registry, a registry another manifest names: nothing offered.
        assert_eq!(lookup_bound("docker.io", &env, Some(&bound)).unwrap(), None);
        assert_eq!(lookup_bound("127.0.0.1:5001", &env, Some(&bound)).unwrap(), None);
        assert_eq!(lookup_bound("docker.io", &env, Some(&[])).unwrap(), None, "bound to none: none");
        // RELMAN_REGISTRY_HOST, when set, says where they go.
        let env = env_of(&[(USERNAME_VAR, "u".into()), (PASSWORD_VAR, "p".into()), (HOST_VAR, "docker.io".into())]);
        assert_eq!(lookup_bound("docker.io", &env, Some(&bound)).unwrap(), Some(Credentials::new("u", "p")));
        assert_eq!(lookup_bound("ghcr.io", &env, Some(&bound)).unwrap(), None);
    }

    #[test]
    fn file_order_and_key_spellings() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let containers = home.join(".config/containers");
        std::fs::create_dir_all(&containers).unwrap();
        std::fs::create_dir_all(home.join(".docker")).unwrap();
        std::fs::write(
            containers.join("auth.json"),
            format!(
                r#"{{"auths":{{"one.io":{{"auth":"{}"}},"one.io/team":{{"auth":"{}"}}}}}}"#,
                b64("a:1"),
                b64("t:9")
            ),
        )
        .unwrap();
        std::fs::write(
            home.join(".docker/config.json"),
            format!(
                r#"{{"auths":{{"one.io":{{"auth":"{}"}},"https://two.io/v1/":{{"auth":"{}"}},"https://index.docker.io/v1/":{{"auth":"{}"}},"three.io:5000":{{"username":"u3","password":"p:3"}},"helper.io":{{}}}},"credHelpers":{{"helper.io":"secretservice"}}}}"#,
                b64("b:2"),
                b64("c:3"),
                b64("hub:pw")
            ),
        )
        .unwrap();
        let env = env_of(&[("HOME", home.display().to_string())]);
        assert_eq!(lookup("one.io", &env).unwrap(), Some(Credentials::new("a", "1")));
        assert_eq!(lookup("two.io", &env).unwrap(), Some(Credentials::new("c", "3")));
        assert_eq!(lookup("registry-1.docker.io", &env).unwrap(), Some(Credentials::new("hub", "pw")));
        assert_eq!(lookup("three.io:5000", &env).unwrap(), Some(Credentials::new("u3", "p:3")));
        assert_eq!(lookup("three.io", &env).unwrap(), None);
        assert_eq!(lookup("helper.io", &env).unwrap(), None);
        assert_eq!(lookup("team", &env).unwrap(), None);
        let with_docker_config =
            env_of(&[("HOME", "/nonexistent".into()), ("DOCKER_CONFIG", home.join(".docker").display().to_string())]);
        assert_eq!(lookup("one.io", &with_docker_config).unwrap(), Some(Credentials::new("b", "2")));
    }

    #[test]
    fn broken_files_are_named_without_their_content() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("auth.json");
        std::fs::write(&file, r#"{"auths":{"reg.io":{"auth":"c2VjcmV0LW5vLWNvbG9u"}}}"#).unwrap();
        let env = env_of(&[("REGISTRY_AUTH_FILE", file.display().to_string())]);
        let err = lookup("reg.io", &env).unwrap_err();
        assert!(err.message.contains("auth.json") && err.message.contains("auths.reg.io.auth"), "{}", err.message);
        assert!(!err.message.contains("secret"), "{}", err.message);
        std::fs::write(&file, "{not json").unwrap();
        assert!(lookup("reg.io", &env).unwrap_err().message.contains("is not JSON"));
        assert_eq!(lookup("reg.io", &env_of(&[])).unwrap(), None);
    }

    #[test]
    fn debug_hides_the_password() {
        let c = Credentials::new("alice", "hunter2-very-secret");
        let shown = format!("{c:?}");
        assert!(shown.contains("alice") && shown.contains("***") && !shown.contains("hunter2"), "{shown}");
    }
}
