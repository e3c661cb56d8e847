//! Release versions from tags: semver 2.0, an optional configured prefix, snapshots.
//!
//! * A release tag is `<prefix><semver>` (`v1.2.3`, `v1.3.0-rc.1`). Build metadata is kept in
//!   the version but ignored for ordering, as semver says.
//! * A snapshot version is derived from the newest release tag reachable from HEAD and the
//!   short commit: `1.2.4-snapshot.<commits since>.g<short>` (or `<pre>.snapshot...` after a
//!   pre-release), so it sorts after the last release and before the next one.

use relman_manifest::{Channel, Failure};
use semver::{Prerelease, Version};

/// Parses a tag with `prefix`. The error says why, naming the tag.
pub fn parse_tag(tag: &str, prefix: &str) -> Result<Version, Failure> {
    let rest = tag.strip_prefix(prefix).ok_or_else(|| {
        Failure::git(format!("tag `{tag}` does not start with the tag prefix `{prefix}`"))
            .with_hint("set `project.tag_prefix` in relman.toml to match your tags")
    })?;
    Version::parse(rest).map_err(|e| {
        Failure::git(format!("tag `{tag}` is not a semantic version: {e}"))
            .with_hint(format!("release tags look like `{prefix}1.2.3` or `{prefix}1.3.0-rc.1`"))
    })
}

/// Like [`parse_tag`] but `None` for tags that are not release tags.
pub fn try_parse_tag(tag: &str, prefix: &str) -> Option<Version> {
    let rest = tag.strip_prefix(prefix)?;
    Version::parse(rest).ok()
}

pub fn channel_of(v: &Version) -> Channel {
    if v.pre.is_empty() {
        Channel::Stable
    } else {
        Channel::Prerelease
    }
}

/// Semver precedence (build metadata ignored).
pub fn precedence(a: &Version, b: &Version) -> std::cmp::Ordering {
    a.cmp_precedence(b)
}

/// The snapshot version after `base` (None: no release yet), `commits` commits later, at
/// `short` commit.
pub fn snapshot_version(base: Option<&Version>, commits: u64, short: &str) -> Version {
    let suffix = format!("snapshot.{commits}.g{short}");
    match base {
        None => Version { pre: Prerelease::new(&suffix).expect("valid"), ..Version::new(0, 0, 0) },
        Some(b) if !b.pre.is_empty() => Version {
            pre: Prerelease::new(&format!("{}.{suffix}", b.pre)).expect("valid"),
            build: Default::default(),
            ..b.clone()
        },
        Some(b) => Version {
            major: b.major,
            minor: b.minor,
            patch: b.patch + 1,
            pre: Prerelease::new(&suffix).expect("valid"),
            build: Default::default(),
        },
    }
}

/// Parses a version given on the command line (`1.2.3` or `v1.2.3`).
pub fn parse_cli_version(s: &str) -> Result<Version, Failure> {
    let rest = s.strip_prefix('v').unwrap_or(s);
    Version::parse(rest).map_err(|e| Failure::usage(format!("`{s}` is not a semantic version: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_parse_with_prefix() {
        assert_eq!(parse_tag("v1.2.3", "v").unwrap(), Version::new(1, 2, 3));
        assert_eq!(parse_tag("1.2.3", "").unwrap(), Version::new(1, 2, 3));
        let err = parse_tag("v1.2", "v").unwrap_err();
        assert!(err.message.contains("`v1.2` is not a semantic version"), "{}", err.message);
        assert!(parse_tag("release-1", "v").unwrap_err().message.contains("prefix"));
    }

    #[test]
    fn snapshots_sort_between_releases() {
        let base = Version::new(1, 2, 3);
        let s = snapshot_version(Some(&base), 4, "abc1234");
        assert_eq!(s.to_string(), "1.2.4-snapshot.4.gabc1234");
        assert!(s > base && s < Version::new(1, 2, 4));
        let rc = Version::parse("2.0.0-rc.1").unwrap();
        let s = snapshot_version(Some(&rc), 1, "0123456");
        assert_eq!(s.to_string(), "2.0.0-rc.1.snapshot.1.g0123456");
        assert!(s > rc && s < Version::parse("2.0.0-rc.2").unwrap());
        assert_eq!(snapshot_version(None, 3, "abcdef0").to_string(), "0.0.0-snapshot.3.gabcdef0");
    }

    #[test]
    fn channel_follows_prerelease() {
        assert_eq!(channel_of(&Version::parse("1.0.0").unwrap()), Channel::Stable);
        assert_eq!(channel_of(&Version::parse("1.0.0-beta.2").unwrap()), Channel::Prerelease);
    }
}
