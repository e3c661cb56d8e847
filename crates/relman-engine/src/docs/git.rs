//! `git:BRANCH[@REMOTE]`: the docs site on a branch of a git remote (`origin` by default),
//! written with plumbing in the project's repository, without a worktree: the branch is
//! fetched into `refs/relman/docs/BRANCH`, a temporary index is built from its tip plus the
//! changes, and one commit (fixed author `relman`, the release's date: the same inputs give
//! the same commit id) is pushed without force. A rejected push (the branch moved) is
//! [`Applied::Moved`]: the step is recomputed on the new tip.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use relman_manifest::Failure;

use super::store::{Applied, Change, Snapshot, Store};

const AUTHOR: &str = "relman";
const EMAIL: &str = "relman@localhost";

#[derive(Clone)]
pub struct GitStore {
    url: String,
    branch: String,
    remote: String,
    repo: PathBuf,
}

struct Out {
    ok: bool,
    stdout: Vec<u8>,
    stderr: String,
}

impl GitStore {
    /// `rest` is what follows `git:`: `BRANCH` or `BRANCH@REMOTE` (a remote name or URL).
    pub fn parse(url: &str, rest: &str) -> Result<GitStore, Failure> {
        let (branch, remote) = rest.split_once('@').unwrap_or((rest, "origin"));
        let bad_branch = branch.is_empty()
            || branch.starts_with('-')
            || branch.starts_with('/')
            || branch.contains("..")
            || branch.chars().any(|c| c.is_whitespace() || "~^:?*[\\".contains(c));
        if bad_branch || remote.is_empty() || remote.starts_with('-') {
            return Err(Failure::usage(format!("destination `{url}` is not like git:BRANCH or git:BRANCH@REMOTE"))
                .with_hint("e.g. git:gh-pages (a branch of origin) or git:gh-pages@https://HOST/OWNER/REPO.git"));
        }
        if crate::remote::has_userinfo(remote) {
            return Err(Failure::usage(format!(
                "destination `{}` has credentials in it",
                relman_install::source::redact(url)
            ))
            .with_hint("name the remote (git:gh-pages@origin) and keep credentials in git's credential helper"));
        }
        let cwd = std::env::current_dir().map_err(|e| Failure::internal(format!("current directory: {e}")))?;
        let repo = crate::git::Repo::discover(&cwd)?.root().to_path_buf();
        Ok(GitStore { url: url.to_string(), branch: branch.to_string(), remote: remote.to_string(), repo })
    }

    fn local_ref(&self) -> String {
        format!("refs/relman/docs/{}", self.branch)
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> Result<Out, Failure> {
        let mut cmd = Command::new("git");
        cmd.arg("-C").arg(&self.repo).args(args).envs(env.iter().copied());
        cmd.env("GIT_TERMINAL_PROMPT", "0");
        cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child =
            cmd.spawn().map_err(|e| Failure::git(format!("failed to run `git {}`: {e}", args.join(" "))))?;
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().expect("piped");
            let input = input.to_vec();
            // Written from a thread: git may answer before it has read everything.
            let writer = std::thread::spawn(move || pipe.write_all(&input));
            let out = child.wait_with_output().map_err(|e| Failure::git(format!("`git {}`: {e}", args.join(" "))))?;
            let _ = writer.join();
            return Ok(Out {
                ok: out.status.success(),
                stdout: out.stdout,
                stderr: String::from_utf8_lossy(&out.stderr).into(),
            });
        }
        let out = child.wait_with_output().map_err(|e| Failure::git(format!("`git {}`: {e}", args.join(" "))))?;
        Ok(Out { ok: out.status.success(), stdout: out.stdout, stderr: String::from_utf8_lossy(&out.stderr).into() })
    }

    /// Runs git; a failure names the command and git's first line.
    fn git(&self, args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> Result<Vec<u8>, Failure> {
        let out = self.run(args, env, stdin)?;
        if !out.ok {
            let first = out.stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string();
            return Err(Failure::git(format!(
                "`git {}` failed for `{}`: {}",
                args.join(" "),
                self.url,
                relman_install::source::redact_text(&first)
            )));
        }
        Ok(out.stdout)
    }

    fn text(&self, args: &[&str]) -> Result<String, Failure> {
        Ok(String::from_utf8_lossy(&self.git(args, &[], None)?).trim().to_string())
    }

    /// Fetches the branch; its tip, or `None` when the remote has no such branch yet.
    fn fetch(&self) -> Result<Option<String>, Failure> {
        let refspec = format!("+refs/heads/{}:{}", self.branch, self.local_ref());
        let out = self.run(&["fetch", "--no-tags", "--quiet", &self.remote, &refspec], &[], None)?;
        if out.ok {
            return Ok(Some(self.text(&["rev-parse", "--verify", &format!("{}^{{commit}}", self.local_ref())])?));
        }
        if out.stderr.contains("couldn't find remote ref") || out.stderr.contains("could not find remote ref") {
            let _ = self.run(&["update-ref", "-d", &self.local_ref()], &[], None);
            return Ok(None);
        }
        let first = out.stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string();
        Err(Failure::publish(format!(
            "cannot fetch branch `{}` from `{}`: {}",
            self.branch,
            relman_install::source::redact(&self.remote),
            relman_install::source::redact_text(&first)
        ))
        .with_hint("check the remote's URL and that git can reach it (`git fetch` by hand)"))
    }

    /// `git hash-object -w` of each path (objects written, so a commit can use them).
    fn hash_paths(&self, paths: &[PathBuf]) -> Result<Vec<String>, Failure> {
        if paths.is_empty() {
            return Ok(Vec::new());
        }
        let mut input = Vec::new();
        for p in paths {
            let s = p.to_str().ok_or_else(|| Failure::build(format!("`{}` is not a UTF-8 path", p.display())))?;
            if s.contains('\n') {
                return Err(Failure::build(format!("`{}` has a newline in its name", p.display())));
            }
            input.extend_from_slice(s.as_bytes());
            input.push(b'\n');
        }
        let out = self.git(&["hash-object", "-w", "--no-filters", "--stdin-paths"], &[], Some(&input))?;
        let ids: Vec<String> = String::from_utf8_lossy(&out).lines().map(|l| l.trim().to_string()).collect();
        if ids.len() != paths.len() {
            return Err(Failure::git(format!("`git hash-object` gave {} ids for {} files", ids.len(), paths.len())));
        }
        Ok(ids)
    }
}

impl Store for GitStore {
    fn ci_needs(&self) -> crate::destination::CiNeeds {
        crate::destination::CiNeeds { contents_write: true, git_push: true, ..Default::default() }
    }
    fn location(&self) -> String {
        format!("branch {} of {}", self.branch, relman_install::source::redact(&self.remote))
    }

    fn snapshot(&self) -> Result<Snapshot, Failure> {
        let tip = self.fetch()?;
        let mut files = BTreeMap::new();
        let mut epoch = 0;
        if let Some(tip) = &tip {
            let out = self.git(&["ls-tree", "-r", "-z", "--full-tree", tip], &[], None)?;
            for entry in out.split(|b| *b == 0).filter(|e| !e.is_empty()) {
                let entry = String::from_utf8_lossy(entry);
                let Some((meta, path)) = entry.split_once('\t') else { continue };
                let mut parts = meta.split(' ');
                let (_mode, kind, id) = (parts.next(), parts.next(), parts.next());
                if kind == Some("blob") {
                    files.insert(path.to_string(), id.unwrap_or("").to_string());
                }
            }
            epoch = self.text(&["show", "-s", "--format=%ct", tip])?.parse().unwrap_or(0);
        }
        let this = self.clone();
        let ids = files.clone();
        Snapshot::new(files, epoch, tip, &self.url, &mut |paths| {
            // One `cat-file --batch` for all of them, by blob id.
            let mut input = Vec::new();
            for p in paths {
                input.extend_from_slice(ids[*p].as_bytes());
                input.push(b'\n');
            }
            let out = this.git(&["cat-file", "--batch"], &[], Some(&input))?;
            let mut contents = Vec::new();
            let mut rest = &out[..];
            for _ in paths {
                let nl = rest
                    .iter()
                    .position(|b| *b == b'\n')
                    .ok_or_else(|| Failure::git("short `git cat-file --batch` answer"))?;
                let header = String::from_utf8_lossy(&rest[..nl]).to_string();
                let size: usize = header
                    .rsplit(' ')
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| Failure::git(format!("unexpected `git cat-file --batch` answer `{header}`")))?;
                let start = nl + 1;
                contents.push(rest[start..start + size].to_vec());
                rest = &rest[(start + size + 1).min(rest.len())..];
            }
            Ok(contents)
        })
    }

    fn ids(&self, files: &[PathBuf]) -> Result<Vec<String>, Failure> {
        self.hash_paths(files)
    }

    fn apply(&self, base: &Snapshot, changes: &[Change], message: &str, epoch: i64) -> Result<Applied, Failure> {
        let tmp = tempfile::tempdir().map_err(|e| Failure::internal(format!("temp dir: {e}")))?;
        let index = tmp.path().join("index");
        let index_s = index.display().to_string();
        let env_index = [("GIT_INDEX_FILE", index_s.as_str())];
        match &base.tip {
            Some(tip) => self.git(&["read-tree", tip], &env_index, None)?,
            None => self.git(&["read-tree", "--empty"], &env_index, None)?,
        };
        // Bytes to blobs: through files in the temp dir, hashed in one call.
        let mut byte_paths = Vec::new();
        for (i, c) in changes.iter().enumerate() {
            if let Change::Put(_, bytes) = c {
                let p = tmp.path().join(format!("blob-{i}"));
                std::fs::write(&p, bytes).map_err(|e| Failure::io("write", &p, e))?;
                byte_paths.push(p);
            }
        }
        let mut byte_ids = self.hash_paths(&byte_paths)?.into_iter();
        let mut info = Vec::new();
        for c in changes {
            let line = match c {
                Change::Put(p, _) => format!("100644 {}\t{p}", byte_ids.next().expect("one id per blob")),
                Change::PutFile(p, _, id) => format!("100644 {id}\t{p}"),
                Change::Delete(p) => format!("0 0000000000000000000000000000000000000000\t{p}"),
            };
            info.extend_from_slice(line.as_bytes());
            info.push(0);
        }
        self.git(&["update-index", "-z", "--index-info"], &env_index, Some(&info))?;
        let tree = String::from_utf8_lossy(&self.git(&["write-tree"], &env_index, None)?).trim().to_string();
        if let Some(tip) = &base.tip {
            if self.text(&["rev-parse", &format!("{tip}^{{tree}}")])? == tree {
                return Ok(Applied::Done); // nothing changed: no commit
            }
        }
        let date = format!("@{epoch} +0000");
        let env = [
            ("GIT_AUTHOR_NAME", AUTHOR),
            ("GIT_AUTHOR_EMAIL", EMAIL),
            ("GIT_AUTHOR_DATE", date.as_str()),
            ("GIT_COMMITTER_NAME", AUTHOR),
            ("GIT_COMMITTER_EMAIL", EMAIL),
            ("GIT_COMMITTER_DATE", date.as_str()),
        ];
        let mut args = vec!["commit-tree", tree.as_str(), "-m", message];
        if let Some(tip) = &base.tip {
            args.push("-p");
            args.push(tip);
        }
        // No signing config of the user's applies: the commit must be reproducible.
        let commit = String::from_utf8_lossy(&self.git(&args, &env, None)?).trim().to_string();
        relman_install::crashpoint::point("docs-committed");
        let refspec = format!("{commit}:refs/heads/{}", self.branch);
        let out = self.run(&["push", "--porcelain", &self.remote, &refspec], &[], None)?;
        if !out.ok {
            let said = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), out.stderr);
            // Rejected because the branch moved, or was created by someone else meanwhile.
            if said.contains("[rejected]")
                || said.contains("non-fast-forward")
                || said.contains("fetch first")
                || said.contains("reference already exists")
            {
                return Ok(Applied::Moved);
            }
            let first = out.stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string();
            return Err(Failure::publish(format!(
                "cannot push branch `{}` to `{}`: {}",
                self.branch,
                relman_install::source::redact(&self.remote),
                relman_install::source::redact_text(&first)
            ))
            .with_hint("check that git can push there (credentials, branch protection); nothing was changed"));
        }
        self.git(&["update-ref", &self.local_ref(), &commit], &[], None)?;
        Ok(Applied::Done)
    }

    fn clone_box(&self) -> Box<dyn Store> {
        Box::new(self.clone())
    }
}
