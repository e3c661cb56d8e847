//! Image references: `registry/repository[:tag][@digest]`, as docker, podman, skopeo and cosign
//! write them.
//!
//! Inputs: a string such as `127.0.0.1:5000/acme/app:1.0`, `ghcr.io/acme/app@sha256:…`,
//! `busybox` or `oci://ghcr.io/acme/app`. Output: a [`Reference`] whose parts are checked
//! (lowercase repository components, a valid tag, a sha256 digest).
//!
//! Normalisation follows docker: a first component that has no `.` or `:` and is not
//! `localhost` is part of the repository on `docker.io`, and a single-component repository on
//! `docker.io` gets `library/`. `docker.io` stays the registry *name* (what [`Reference::name`]
//! and `Display` show); [`Reference::api_host`] maps it to the host that serves the API
//! (`registry-1.docker.io`).

use std::fmt;

use crate::digest::Digest;

/// The registry name docker uses for Docker Hub, and the host that answers its API.
pub const DOCKER_HUB: &str = "docker.io";
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// A parsed image reference.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Reference {
    /// `host[:port]`, e.g. `ghcr.io`, `127.0.0.1:5000`, `docker.io`.
    pub registry: String,
    /// `acme/app`, lowercase, `/`-separated.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

impl Reference {
    /// Parses a reference; the error names the input and what is wrong with it.
    pub fn parse(s: &str) -> Result<Reference, String> {
        let text = s.trim();
        let text = text.strip_prefix("oci://").or_else(|| text.strip_prefix("docker://")).unwrap_or(text);
        if text.is_empty() {
            return Err(format!("`{s}` is not an image reference (expected registry/repository[:tag][@digest])"));
        }
        let (rest, digest) = match text.split_once('@') {
            Some((rest, d)) => {
                let digest = Digest::parse(d).map_err(|e| format!("`{s}`: {e}"))?;
                (rest, Some(digest))
            }
            None => (text, None),
        };
        // A tag is what follows the last `:` after the last `/` (a `:` before it is a port).
        let last_slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(tag) = tag {
            if !valid_tag(tag) {
                return Err(format!(
                    "`{s}`: `{tag}` is not a valid tag (letters, digits, `_`, `.`, `-`; at most 128; not starting with `.` or `-`)"
                ));
            }
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest)) if first.contains('.') || first.contains(':') || first == "localhost" => {
                (first.to_string(), rest.to_string())
            }
            _ => (DOCKER_HUB.to_string(), name.to_string()),
        };
        let registry = match registry.as_str() {
            "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_string(),
            _ => registry,
        };
        let repository = if registry == DOCKER_HUB && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        if !valid_host(&registry) {
            return Err(format!("`{s}`: `{registry}` is not a registry host (host[:port])"));
        }
        if !valid_repository(&repository) {
            return Err(format!(
                "`{s}`: `{repository}` is not a valid repository (lowercase letters, digits and `._-` separators, `/` between components)"
            ));
        }
        Ok(Reference { registry, repository, tag: tag.map(str::to_string), digest })
    }

    /// The same repository with `tag` (and no digest).
    pub fn with_tag(&self, tag: &str) -> Reference {
        Reference { tag: Some(tag.to_string()), digest: None, ..self.clone() }
    }

    /// The same repository pinned to `digest` (the tag is kept for display).
    pub fn with_digest(&self, d: &Digest) -> Reference {
        Reference { digest: Some(d.clone()), ..self.clone() }
    }

    /// `registry/repository`, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The host (and port) that serves the distribution API for this registry.
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            &self.registry
        }
    }

    /// What a manifest request names: the digest when there is one, else the tag, else `latest`.
    pub fn tag_or_digest(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".to_string(),
        }
    }

    /// Whether the registry is on this machine (`localhost`, `127.0.0.0/8`, `::1`); such
    /// registries are spoken to over plain HTTP.
    pub fn is_loopback(&self) -> bool {
        is_loopback_host(&self.registry)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Reference {
    type Err = String;
    fn from_str(s: &str) -> Result<Reference, String> {
        Reference::parse(s)
    }
}

/// `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`, the distribution spec's tag grammar.
pub fn valid_tag(tag: &str) -> bool {
    let b = tag.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// Whether `host` (with or without a port) is a loopback name or address.
pub fn is_loopback_host(host: &str) -> bool {
    let bare = strip_port(host);
    let bare = bare.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost") || bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `host` without its `:port` (IPv6 literals keep their brackets).
pub(crate) fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(i) => &host[..=i],
            None => host,
        };
    }
    match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

fn valid_host(host: &str) -> bool {
    let bare = strip_port(host);
    let port_ok = host.len() == bare.len()
        || host[bare.len()..].strip_prefix(':').is_some_and(|p| !p.is_empty() && p.parse::<u16>().is_ok());
    let bare_ok = if let Some(inner) = bare.strip_prefix('[').and_then(|b| b.strip_suffix(']')) {
        inner.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        !bare.is_empty()
            && bare.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
            })
    };
    port_ok && bare_ok
}

/// Components of `[a-z0-9]+` joined by `.`, `_`, `__` or runs of `-`, separated by `/`.
fn valid_repository(repo: &str) -> bool {
    !repo.is_empty()
        && repo.len() <= 255
        && repo.split('/').all(|component| {
            let b = component.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'_' | b'-'))
                && !component.contains("..")
                && !component.contains("._")
                && !component.contains("_.")
                && !component.contains("___")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

    #[test]
    fn parses_local_registry_with_port_and_tag() {
        let r = Reference::parse("127.0.0.1:5000/acme/app:1.0").unwrap();
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "acme/app");
        assert_eq!(r.tag.as_deref(), Some("1.0"));
        assert!(r.digest.is_none());
        assert!(r.is_loopback());
        assert_eq!(r.name(), "127.0.0.1:5000/acme/app");
        assert_eq!(r.to_string(), "127.0.0.1:5000/acme/app:1.0");
    }

    #[test]
    fn parses_digest_and_oci_prefix() {
        let r = Reference::parse(&format!("oci://reg.example.com/x@{D}")).unwrap();
        assert_eq!(r.registry, "reg.example.com");
        assert_eq!(r.repository, "x");
        assert_eq!(r.digest.as_ref().unwrap().to_string(), D);
        assert_eq!(r.tag_or_digest(), D);
        assert!(!r.is_loopback());
        let both = Reference::parse(&format!("localhost:5000/a/b:v1@{D}")).unwrap();
        assert_eq!(both.tag.as_deref(), Some("v1"));
        assert_eq!(both.to_string(), format!("localhost:5000/a/b:v1@{D}"));
        assert!(both.is_loopback());
    }

    #[test]
    fn docker_hub_normalisation() {
        let r = Reference::parse("docker.io/library/busybox").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.api_host()),
            ("docker.io", "library/busybox", DOCKER_HUB_API)
        );
        assert_eq!(Reference::parse("busybox:1.36").unwrap().name(), "docker.io/library/busybox");
        assert_eq!(Reference::parse("acme/app").unwrap().name(), "docker.io/acme/app");
        assert_eq!(Reference::parse("index.docker.io/acme/app").unwrap().name(), "docker.io/acme/app");
        assert_eq!(Reference::parse("localhost/app").unwrap().registry, "localhost");
    }

    #[test]
    fn refuses_bad_parts() {
        assert!(Reference::parse("reg.io/Acme/app").unwrap_err().contains("not a valid repository"));
        assert!(Reference::parse("reg.io/acme/app:-x").unwrap_err().contains("not a valid tag"));
        assert!(Reference::parse("reg.io/acme/app@sha256:abc").is_err());
        assert!(Reference::parse("reg.io:99999/app").is_err());
        assert!(Reference::parse("").is_err());
        assert!(Reference::parse("reg.io/a//b").is_err());
    }

    #[test]
    fn with_tag_and_digest() {
        let r = Reference::parse(&format!("reg.io/app@{D}")).unwrap();
        let t = r.with_tag("2.0");
        assert_eq!(t.to_string(), "reg.io/app:2.0");
        let d = t.with_digest(&Digest::parse(D).unwrap());
        assert_eq!(d.to_string(), format!("reg.io/app:2.0@{D}"));
    }

    #[test]
    fn tag_grammar() {
        assert!(valid_tag("1.2.3"));
        assert!(valid_tag("_x"));
        assert!(valid_tag("sha256-abc.sig"));
        assert!(valid_tag(&"a".repeat(128)));
        assert!(!valid_tag(&"a".repeat(129)));
        assert!(!valid_tag(".x"));
        assert!(!valid_tag("1.0+build"));
        assert!(!valid_tag(""));
    }

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback_host("localhost"));
        assert!(is_loopback_host("127.0.0.2:80"));
        assert!(is_loopback_host("[::1]:5000"));
        assert!(!is_loopback_host("10.0.0.1:5000"));
        assert!(!is_loopback_host("localhost.example.com"));
    }
}
