//! What the SBOMs and the provenance describe: the release, and the small helpers that keep
//! their output reproducible (timestamps from `SOURCE_DATE_EPOCH`, name-based UUIDs).

/// The release an SBOM or a provenance statement is about.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReleaseSubject {
    /// The project's name, e.g. `app`.
    pub name: String,
    /// The version released, without the tag prefix, e.g. `1.4.2`.
    pub version: String,
    /// The full commit id the release was built from.
    pub commit: String,
    /// The source repository URL, when known (credentials are removed before it is written).
    pub repository: Option<String>,
    /// The release's `SOURCE_DATE_EPOCH`: the SBOMs' creation time, so they are reproducible.
    pub source_date_epoch: i64,
}

impl ReleaseSubject {
    /// The release a manifest records.
    pub fn of(m: &relman_manifest::Manifest) -> ReleaseSubject {
        ReleaseSubject {
            name: m.project.name.clone(),
            version: m.version.clone(),
            commit: m.commit.clone(),
            repository: m.project.repository.clone(),
            source_date_epoch: m.source_date_epoch,
        }
    }

    /// The repository as a URL without credentials: `https://...` as given, scp-like
    /// `git@host:path` as `ssh://git@host/path`; `None` when unset or not a URL.
    pub fn repository_url(&self) -> Option<String> {
        let repo = self.repository.as_deref()?.trim();
        if repo.is_empty() {
            return None;
        }
        if repo.contains("://") {
            return Some(crate::git::redact_userinfo(repo));
        }
        // `user@host:path` (scp-like syntax); the user here is a transport name like `git`.
        let (user_host, path) = repo.split_once(':')?;
        let (user, host) = user_host.split_once('@').unwrap_or(("", user_host));
        if host.is_empty() || host.contains('/') || path.is_empty() {
            return None;
        }
        let user = if user.is_empty() { String::new() } else { format!("{user}@") };
        Some(format!("ssh://{user}{host}/{}", path.trim_start_matches('/')))
    }

    /// `git+<repository>@<rev>` (the SPDX and SLSA spelling of a VCS location), when the
    /// repository is an `https://`, `http://` or `ssh://` URL.
    pub fn vcs_location(&self, rev: &str) -> Option<String> {
        let url = self.repository_url()?;
        let scheme_ok = ["https://", "http://", "ssh://"].iter().any(|s| url.starts_with(s));
        if !scheme_ok || rev.is_empty() || url.contains(char::is_whitespace) || rev.contains(char::is_whitespace) {
            return None;
        }
        Some(format!("git+{url}@{rev}"))
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the Unix epoch (UTC).
pub fn rfc3339(epoch: i64) -> String {
    relman_manifest::time::rfc3339(epoch)
}

/// A name-based (version 5) UUID in relman's own namespace: the same parts always give the
/// same UUID, different parts different ones. Parts are length-prefixed so `["ab", "c"]` and
/// `["a", "bc"]` differ.
pub fn stable_uuid(parts: &[&str]) -> String {
    let namespace = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, b"https://relman.dev/");
    let mut name = Vec::new();
    for p in parts {
        name.extend_from_slice(p.len().to_string().as_bytes());
        name.push(b':');
        name.extend_from_slice(p.as_bytes());
        name.push(b'\n');
    }
    uuid::Uuid::new_v5(&namespace, &name).hyphenated().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_714_521_600), "2024-05-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400 + 3_723), "2000-02-29T01:02:03Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn uuids_are_stable_and_distinct() {
        let a = stable_uuid(&["app", "1.0.0", "abc"]);
        assert_eq!(a, stable_uuid(&["app", "1.0.0", "abc"]));
        assert_ne!(a, stable_uuid(&["app", "1.0.1", "abc"]));
        assert_ne!(stable_uuid(&["ab", "c"]), stable_uuid(&["a", "bc"]));
        assert_eq!(&a[14..15], "5", "a version 5 UUID");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "RFC 4122 variant");
    }

    #[test]
    fn repository_urls_lose_credentials() {
        let r = |repo: &str| ReleaseSubject { repository: Some(repo.into()), ..Default::default() };
        assert_eq!(r("https://user:tok@github.com/a/b.git").repository_url().unwrap(), "https://github.com/a/b.git");
        assert_eq!(r("git@github.com:a/b.git").repository_url().unwrap(), "ssh://git@github.com/a/b.git");
        assert_eq!(r("https://github.com/a/b").vcs_location("abc").unwrap(), "git+https://github.com/a/b@abc");
        assert_eq!(r("git@github.com:a/b.git").vcs_location("abc").unwrap(), "git+ssh://git@github.com/a/b.git@abc");
        assert_eq!(r("/srv/git/app").repository_url(), None);
        assert_eq!(r("file:///srv/git/app").vcs_location("abc"), None);
    }
}
