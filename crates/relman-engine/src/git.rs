//! The git facts a release needs, read with the `git` command line.
//!
//! relman shells out to `git` (as GoReleaser does): it is on every machine that has a
//! repository, honours the user's configuration, and keeps the build lean. Every failure names
//! the repository and the command.

use std::path::{Path, PathBuf};
use std::process::Command;

use relman_manifest::Failure;

/// A repository opened at its top-level directory.
#[derive(Clone, Debug)]
pub struct Repo {
    root: PathBuf,
}

impl Repo {
    /// Finds the repository containing `dir`.
    pub fn discover(dir: &Path) -> Result<Repo, Failure> {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["rev-parse", "--show-toplevel"])
            .output()
            .map_err(|e| Failure::git(format!("failed to run `git`: {e}")).with_hint("install git"))?;
        if !out.status.success() {
            return Err(Failure::git(format!("`{}` is not inside a git repository", dir.display()))
                .with_hint("run `git init` and commit, or use relman from the project's repository"));
        }
        let root = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        Ok(Repo { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Runs git with `args`, returning trimmed stdout, or a failure naming the command.
    pub fn git(&self, args: &[&str]) -> Result<String, Failure> {
        let out = Command::new("git")
            .arg("-C")
            .arg(&self.root)
            .args(args)
            .output()
            .map_err(|e| Failure::git(format!("failed to run `git {}`: {e}", args.join(" "))))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
            return Err(Failure::git(format!("`git {}` failed: {first}", args.join(" "))));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
    }

    /// The commit at HEAD (full id). Fails on a repository without commits.
    pub fn head(&self) -> Result<String, Failure> {
        self.git(&["rev-parse", "--verify", "HEAD^{commit}"]).map_err(|_| {
            Failure::git(format!("repository `{}` has no commits", self.root.display()))
                .with_hint("commit the project first")
        })
    }

    /// The commit a tag points at, or `None` when the tag does not exist.
    pub fn tag_commit(&self, tag: &str) -> Result<Option<String>, Failure> {
        let spec = format!("refs/tags/{tag}^{{commit}}");
        match self.git(&["rev-parse", "--verify", "--quiet", &spec]) {
            Ok(c) if !c.is_empty() => Ok(Some(c)),
            _ => Ok(None),
        }
    }

    /// Tags pointing at `commit`.
    pub fn tags_at(&self, commit: &str) -> Result<Vec<String>, Failure> {
        let out = self.git(&["tag", "--points-at", commit])?;
        Ok(out.lines().map(str::to_string).filter(|s| !s.is_empty()).collect())
    }

    /// Tags reachable from `commit`.
    pub fn tags_merged(&self, commit: &str) -> Result<Vec<String>, Failure> {
        let out = self.git(&["tag", "--merged", commit])?;
        Ok(out.lines().map(str::to_string).filter(|s| !s.is_empty()).collect())
    }

    /// Number of commits in `from..to` (`from` = None: all ancestors of `to`).
    pub fn count_commits(&self, from: Option<&str>, to: &str) -> Result<u64, Failure> {
        let range = match from {
            Some(f) => format!("{f}..{to}"),
            None => to.to_string(),
        };
        let out = self.git(&["rev-list", "--count", &range])?;
        out.trim()
            .parse()
            .map_err(|_| Failure::git(format!("unexpected output of `git rev-list --count {range}`: {out}")))
    }

    /// Committer time of `commit`, seconds since the epoch.
    pub fn commit_time(&self, commit: &str) -> Result<i64, Failure> {
        let out = self.git(&["show", "-s", "--format=%ct", commit])?;
        out.trim().parse().map_err(|_| Failure::git(format!("unexpected commit time for {commit}: {out}")))
    }

    /// Paths with uncommitted changes (tracked or untracked), excluding `exclude` (relative to
    /// the repository root, e.g. the dist directory).
    pub fn dirty_paths(&self, exclude: &[String]) -> Result<Vec<String>, Failure> {
        let mut args: Vec<String> =
            vec!["status".into(), "--porcelain".into(), "--untracked-files=normal".into(), "--".into(), ".".into()];
        for e in exclude {
            args.push(format!(":(exclude){e}"));
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = self.git(&refs)?;
        Ok(out.lines().map(|l| l.get(3..).unwrap_or(l).to_string()).filter(|s| !s.is_empty()).collect())
    }

    /// The `origin` remote URL, when there is one (credentials removed).
    pub fn origin_url(&self) -> Option<String> {
        let url = self.git(&["remote", "get-url", "origin"]).ok()?;
        Some(redact_userinfo(&url))
    }
}

/// Removes `user:pass@` from a URL so credentials never reach a manifest or a message.
pub fn redact_userinfo(url: &str) -> String {
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let authority_end = rest.find('/').unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@') {
            return format!("{}{}", &url[..scheme_end + 3], &rest[at + 1..]);
        }
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_credentials() {
        assert_eq!(redact_userinfo("https://user:tok@github.com/a/b.git"), "https://github.com/a/b.git");
        assert_eq!(redact_userinfo("https://github.com/a/b"), "https://github.com/a/b");
        assert_eq!(redact_userinfo("git@github.com:a/b.git"), "git@github.com:a/b.git");
    }
}
