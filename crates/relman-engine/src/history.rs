//! Reading history fast: release tags, ancestry, and a streaming `git log`.
//!
//! Inputs: a [`Repo`] and the tag prefix. Outputs: [`Tags`] (every release tag with the commit
//! it points at, sorted by semver precedence, plus the tags that are not release tags) and a
//! streaming reader of the commits of a range.
//!
//! Invariants and costs:
//! * listing tags is one `git for-each-ref` (peeled objects included), whatever the number
//!   of tags;
//! * finding the previous release walks only from the release back to the candidate: the
//!   candidates are tried newest-first with `git merge-base --is-ancestor`, and only when the
//!   first few are not ancestors does it fall back to one `git for-each-ref --merged`;
//! * the log (NUL-separated, `-z`) goes to an anonymous temporary file and is read back
//!   commit by commit: memory holds what the caller keeps, not the whole output. Merge
//!   commits are listed and flagged ([`RawCommit::is_merge`]); callers leave them out;
//! * the same walk tells whether the start of a range is an ancestor of its end
//!   ([`Log::watching`]), which saves a separate `git merge-base --is-ancestor` walk in the
//!   usual case.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use relman_manifest::Failure;
use semver::Version;

use crate::git::Repo;
use crate::version;

/// A tag that names a release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseTag {
    pub name: String,
    pub version: Version,
    /// The commit the tag points at (peeled).
    pub commit: String,
    /// The tag's date (tagger date, or the commit's for a lightweight tag), `YYYY-MM-DD`.
    pub date: String,
}

/// Every tag of a repository, read once.
#[derive(Clone, Debug, Default)]
pub struct Tags {
    /// Release tags, highest precedence first.
    pub releases: Vec<ReleaseTag>,
    /// Tags that are not `<prefix><semver>` (or do not point at a commit), sorted.
    pub ignored: Vec<String>,
}

impl Tags {
    /// Reads every tag with one `git for-each-ref`.
    pub fn load(repo: &Repo, prefix: &str) -> Result<Tags, Failure> {
        Self::load_in(repo.root(), prefix)
    }

    /// Like [`Tags::load`] for the repository containing `dir`, so it can run while the
    /// repository is being discovered.
    pub fn load_in(dir: &Path, prefix: &str) -> Result<Tags, Failure> {
        let args = [
            "for-each-ref",
            "--format=%(refname:strip=2)%00%(objecttype)%00%(objectname)%00%(*objecttype)%00%(*objectname)%00%(creatordate:short)",
            "refs/tags",
        ];
        let output = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .map_err(|e| Failure::git(format!("failed to run `git for-each-ref`: {e}")))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
            return Err(Failure::git(format!("`git for-each-ref refs/tags` failed in `{}`: {first}", dir.display())));
        }
        let out = String::from_utf8_lossy(&output.stdout);
        let mut tags = Tags::default();
        for line in out.lines() {
            let f: Vec<&str> = line.split('\0').collect();
            if f.len() < 6 {
                continue;
            }
            let (name, kind, id, peeled_kind, peeled, date) = (f[0], f[1], f[2], f[3], f[4], f[5]);
            let commit = match (kind, peeled_kind) {
                ("commit", _) => id,
                ("tag", "commit") => peeled,
                _ => {
                    tags.ignored.push(name.to_string());
                    continue;
                }
            };
            match version::try_parse_tag(name, prefix) {
                Some(v) => tags.releases.push(ReleaseTag {
                    name: name.to_string(),
                    version: v,
                    commit: commit.to_string(),
                    date: date.to_string(),
                }),
                None => tags.ignored.push(name.to_string()),
            }
        }
        tags.releases.sort_by(|a, b| b.version.cmp_precedence(&a.version).then_with(|| a.name.cmp(&b.name)));
        tags.ignored.sort();
        Ok(tags)
    }

    pub fn get(&self, name: &str) -> Option<&ReleaseTag> {
        self.releases.iter().find(|t| t.name == name)
    }

    /// Release tags pointing at `commit`.
    pub fn at(&self, commit: &str) -> Vec<&ReleaseTag> {
        self.releases.iter().filter(|t| t.commit == commit).collect()
    }

    /// The highest-precedence release tag that is an ancestor of (or at) `commit` and passes
    /// `keep`.
    pub fn latest_ancestor(
        &self,
        repo: &Repo,
        commit: &str,
        keep: impl Fn(&ReleaseTag) -> bool,
    ) -> Result<Option<&ReleaseTag>, Failure> {
        const QUICK_TRIES: usize = 8;
        let candidates: Vec<&ReleaseTag> = self.releases.iter().filter(|t| keep(t)).collect();
        for t in candidates.iter().take(QUICK_TRIES) {
            if t.commit == commit || is_ancestor(repo, &t.commit, commit)? {
                return Ok(Some(t));
            }
        }
        if candidates.len() <= QUICK_TRIES {
            return Ok(None);
        }
        // Many newer tags live on other branches: one walk answers for all of them.
        let merged = repo.git(&["for-each-ref", "--format=%(refname:strip=2)", "--merged", commit, "refs/tags"])?;
        let merged: std::collections::HashSet<&str> = merged.lines().collect();
        Ok(candidates.into_iter().skip(QUICK_TRIES).find(|t| merged.contains(t.name.as_str())))
    }

    /// A one-line warning naming the ignored tags, when there are any.
    pub fn ignored_warning(&self, prefix: &str) -> Option<String> {
        if self.ignored.is_empty() {
            return None;
        }
        let shown: Vec<String> = self.ignored.iter().take(5).map(|t| format!("`{t}`")).collect();
        let more = if self.ignored.len() > 5 { format!(" and {} more", self.ignored.len() - 5) } else { String::new() };
        let noun = if self.ignored.len() == 1 { "tag" } else { "tags" };
        Some(format!(
            "ignored {} {noun} that are not release tags (`{prefix}` + semantic version): {}{more}",
            self.ignored.len(),
            shown.join(", ")
        ))
    }
}

/// True when `ancestor` is an ancestor of (or equal to) `descendant`.
pub fn is_ancestor(repo: &Repo, ancestor: &str, descendant: &str) -> Result<bool, Failure> {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo.root())
        .args(["merge-base", "--is-ancestor", ancestor, descendant])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| Failure::git(format!("failed to run `git merge-base`: {e}")))?;
    match out.status.code() {
        Some(0) => Ok(true),
        Some(1) => Ok(false),
        _ => {
            let err = String::from_utf8_lossy(&out.stderr);
            Err(Failure::git(format!(
                "`git merge-base --is-ancestor {ancestor} {descendant}` failed: {}",
                err.lines().next().unwrap_or("").trim()
            )))
        }
    }
}

/// Resolves a revision to a commit id, or a Git failure naming it.
pub fn resolve_commit(repo: &Repo, rev: &str) -> Result<String, Failure> {
    let spec = format!("{rev}^{{commit}}");
    repo.git(&["rev-parse", "--verify", "--quiet", "--end-of-options", &spec])
        .ok()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            Failure::git(format!("`{rev}` is not a commit, branch or tag of `{}`", repo.root().display()))
                .with_hint("list tags with `git tag`; fetch them with `git fetch --tags`")
        })
}

/// One commit of a log, as read from git.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawCommit {
    pub id: String,
    /// Number of parents (2 or more: a merge commit).
    pub parents: usize,
    pub author: String,
    pub subject: String,
    pub body: String,
}

impl RawCommit {
    pub fn is_merge(&self) -> bool {
        self.parents > 1
    }
}

/// The commits of `range` (`a..b`, or a single revision for its whole history), newest
/// first, merges included (see [`RawCommit::is_merge`]).
///
/// git writes the log to an anonymous temporary file, which is then read back field by
/// field: through a pipe, every 4 KiB write of git wakes the reader, and on a busy machine
/// those context switches cost as much as git's own work (measured: 1.8× slower on two
/// cores); a file costs none and keeps memory flat whatever the range.
pub struct Log {
    reader: BufReader<std::fs::File>,
    buf: Vec<u8>,
    range: String,
    /// A commit to look for among the parents (see [`Log::watching`]).
    watch: Option<String>,
    watched_is_parent: bool,
}

impl Log {
    pub fn start(repo: &Repo, range: &str) -> Result<Log, Failure> {
        Self::run(repo, range, None)
    }

    /// Like [`Log::start`] for `start..end`, also telling ([`Log::start_is_ancestor`], once
    /// read) whether `start` is an ancestor of `end`: it is exactly when it is the parent of
    /// a commit of the range (the commit after it on a path from `end` down to it is in the
    /// range). One walk instead of a `git merge-base --is-ancestor` walk and a log.
    pub fn watching(repo: &Repo, start: &str, end: &str) -> Result<Log, Failure> {
        Self::run(repo, &range(Some(start), end), Some(start.to_string()))
    }

    /// After reading the whole log of [`Log::watching`]: whether its start is an ancestor.
    pub fn start_is_ancestor(&self) -> bool {
        self.watched_is_parent
    }

    fn run(repo: &Repo, range: &str, watch: Option<String>) -> Result<Log, Failure> {
        use std::io::{Seek, SeekFrom};
        let mut file =
            tempfile::tempfile().map_err(|e| Failure::internal(format!("failed to create a temporary file: {e}")))?;
        let out = file.try_clone().map_err(|e| Failure::internal(format!("failed to share a temporary file: {e}")))?;
        let mut cmd = Command::new("git");
        cmd.arg("-C").arg(repo.root()).args([
            "-c",
            "log.showSignature=false",
            "log",
            "--no-color",
            "--no-decorate",
            "-z",
            "--format=%H%x00%P%x00%an%x00%s%x00%b",
        ]);
        let output = cmd
            .args([range, "--"])
            .stdout(out)
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| Failure::git(format!("failed to run `git log`: {e}")))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
            return Err(Failure::git(format!("`git log {range}` failed: {first}")));
        }
        file.seek(SeekFrom::Start(0))
            .map_err(|e| Failure::internal(format!("failed to read `git log` output: {e}")))?;
        Ok(Log {
            reader: BufReader::with_capacity(256 * 1024, file),
            buf: Vec::with_capacity(4096),
            range: range.to_string(),
            watch,
            watched_is_parent: false,
        })
    }

    /// Reads the next NUL-terminated field, `None` at the end.
    fn field(&mut self) -> Result<Option<String>, Failure> {
        self.buf.clear();
        let n = self
            .reader
            .read_until(0, &mut self.buf)
            .map_err(|e| Failure::git(format!("failed to read `git log {}`: {e}", self.range)))?;
        if n == 0 {
            return Ok(None);
        }
        if self.buf.last() == Some(&0) {
            self.buf.pop();
        }
        Ok(Some(match std::str::from_utf8(&self.buf) {
            Ok(s) => s.to_string(),
            Err(_) => String::from_utf8_lossy(&self.buf).into_owned(),
        }))
    }

    fn next_commit(&mut self) -> Result<Option<RawCommit>, Failure> {
        let Some(id) = self.field()? else { return Ok(None) };
        let truncated = || Failure::git("`git log` output ended in the middle of a commit");
        let parents = self.field()?.ok_or_else(truncated)?;
        if let Some(w) = &self.watch {
            if !self.watched_is_parent && parents.split_whitespace().any(|p| p == w) {
                self.watched_is_parent = true;
            }
        }
        let author = self.field()?.ok_or_else(truncated)?;
        let subject = self.field()?.ok_or_else(truncated)?;
        let body = self.field()?.ok_or_else(truncated)?;
        Ok(Some(RawCommit {
            id: id.trim_start_matches('\n').to_string(),
            parents: parents.split_whitespace().count(),
            author,
            subject,
            body,
        }))
    }
}

impl Iterator for Log {
    type Item = Result<RawCommit, Failure>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_commit().transpose()
    }
}

/// The range expression for the commits after `from` up to `to` (`from = None`: all history).
pub fn range(from: Option<&str>, to: &str) -> String {
    match from {
        Some(f) => format!("{f}..{to}"),
        None => to.to_string(),
    }
}
