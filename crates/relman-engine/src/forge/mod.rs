//! Forge release pages: `github:OWNER/REPO` (or `github:https://HOST/OWNER/REPO` for GitHub
//! Enterprise, API at `https://HOST/api/v3`; `GITHUB_API_URL` moves the short form),
//! `gitea:https://HOST/OWNER/REPO` and `forgejo:https://HOST/OWNER/REPO` (API at `/api/v1`).
//!
//! Publish makes a **draft** for the tag — found by listing releases (on GitHub a draft is not
//! found by tag), or created with the release notes as its body and the pre-release flag — and
//! uploads every file of the release to it, 4 at a time, with retries. An asset already there
//! with the same name and digest (GitHub gives one; Gitea only a size) is skipped; a different
//! one is refused naming both, unless `--replace`; a broken one (an upload cut short) is
//! replaced. A published release is never changed: one that holds exactly the release is "already
//! published", any other is refused at preflight, before anything is uploaded anywhere.
//!
//! Promote publishes the draft after the release-wide gates and its own (the draft exists and
//! holds every file its `manifest.json` lists, with the digests it lists), marking it latest
//! only when it is the newest stable version. Yank deletes the release (draft or published) with
//! its assets, never an immutable one.

mod api;
mod gitlab;

pub use gitlab::GitLabDestination;

use std::sync::Mutex;

use relman_manifest::{Failure, Manifest};
use semver::Version;
use serde_json::{json, Value};

use api::{Answer, Api, Body, Flavor};

/// The release-page forges with drafts: GitHub, and Gitea (Forgejo keeps its API).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Page {
    GitHub,
    Gitea,
}

impl Page {
    fn flavor(self) -> Flavor {
        match self {
            Page::GitHub => Flavor::GitHub,
            Page::Gitea => Flavor::Gitea,
        }
    }
}

use crate::destination::{
    Asset as StateAsset, Destination, DestinationState, Gate, Kind, LocalFile, Pointer, PromotePlan, PromoteReport,
    PutOutcome, YankReport, YankScope,
};
use crate::planned::{Planned, MANIFEST_FILE, NOTES_FILE};
use crate::remote::Remote;

/// Percent-encodes a query value or path segment.
fn encode(s: &str) -> String {
    crate::remote::percent_encode(s, false)
}
use crate::report::Reporter;

const UPLOADS_AT_ONCE: usize = 4;

/// A forge release page destination, parsed.
pub struct ForgeDestination {
    url: String,
    flavor: Page,
    owner: String,
    repo: String,
    /// `https://api.github.com`, `https://HOST/api/v3` or `https://HOST/api/v1`.
    api_base: String,
    api: Api,
    /// The variable the token comes from, for messages.
    token_var: &'static str,
    /// Statuses / check runs that must have succeeded on the tag's commit (`release.required_checks`).
    required_checks: Vec<String>,
}

/// A release on the forge, as listed.
#[derive(Clone, Debug)]
struct Release {
    id: u64,
    tag: String,
    draft: bool,
    immutable: bool,
    html_url: String,
    /// Where assets are uploaded (GitHub's `upload_url` without its template).
    upload_url: String,
    body: String,
}

/// An asset of a release, as listed.
#[derive(Clone, Debug)]
pub(crate) struct RemoteAsset {
    id: u64,
    name: String,
    size: u64,
    /// Hex sha256 when the forge gives one (GitHub's `digest`).
    sha256: Option<String>,
    /// False for an upload cut short (GitHub's `state` other than `uploaded`).
    complete: bool,
    download_url: String,
}

/// What publishing does at a draft: the files to upload (indexes into the release's files),
/// the assets to delete first, and the names already there.
type AssetPlan = (Vec<usize>, Vec<RemoteAsset>, Vec<String>);

/// How an asset there compares with a file of the release.
pub(crate) enum Compared {
    Same,
    Broken,
    Different(String),
}

pub(crate) fn compare(a: &RemoteAsset, sha256: &str, size: u64) -> Compared {
    if !a.complete {
        return Compared::Broken;
    }
    match &a.sha256 {
        Some(d) if d == sha256 => Compared::Same,
        Some(d) => Compared::Different(format!("sha256 {d}")),
        None if a.size == size => Compared::Same,
        None => Compared::Different(format!("{} bytes", a.size)),
    }
}

/// The name GitHub gives an uploaded file (it rewrites special characters, leading and
/// trailing dots): gh's rule, `[^A-Za-z0-9-_+@]+` → `.`.
fn github_asset_name(name: &str) -> String {
    let base = if name.starts_with('.') { format!("default{name}") } else { name.to_string() };
    let mut out = String::new();
    let mut dot = false;
    for c in base.chars() {
        if c.is_ascii_alphanumeric() || "-_+@".contains(c) {
            out.push(c);
            dot = false;
        } else if !dot {
            out.push('.');
            dot = true;
        }
    }
    out.trim_matches('.').to_string()
}

fn valid_segment(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) && s != "." && s != ".."
}

impl ForgeDestination {
    /// Parses `github:…`, `gitea:…` or `forgejo:…`.
    pub fn parse(url: &str, remote: &Remote) -> Result<ForgeDestination, Failure> {
        let (scheme, rest) = url.split_once(':').unwrap_or((url, ""));
        let bad = |what: &str| {
            Failure::usage(format!("destination `{}` {what}", relman_install::source::redact(url))).with_hint(
                "write github:OWNER/REPO, github:https://HOST/OWNER/REPO, gitea:https://HOST/OWNER/REPO or forgejo:https://HOST/OWNER/REPO",
            )
        };
        let (flavor, token, token_var) = match scheme {
            "github" => (
                Page::GitHub,
                remote.forge.github_token.clone(),
                if remote.forge.github_token.is_some() { "GITHUB_TOKEN" } else { "GITHUB_TOKEN (or GH_TOKEN)" },
            ),
            "gitea" => (Page::Gitea, remote.forge.gitea_token.clone(), "GITEA_TOKEN"),
            "forgejo" => (Page::Gitea, remote.forge.forgejo_token.clone(), "FORGEJO_TOKEN"),
            _ => return Err(bad("is not a forge destination")),
        };
        let (web_base, path) =
            if let Some(after) = rest.strip_prefix("https://").or_else(|| rest.strip_prefix("http://")) {
                let scheme_len = rest.len() - after.len();
                let authority = after.split('/').next().unwrap_or("");
                if authority.contains('@') {
                    return Err(Failure::usage(format!(
                        "`{}` has credentials in it; relman reads forge tokens from {token_var}",
                        relman_install::source::redact(url)
                    )));
                }
                let parts: Vec<&str> = after.trim_end_matches('/').split('/').collect();
                if parts.len() < 3 {
                    return Err(bad("is not like SCHEME:https://HOST/OWNER/REPO"));
                }
                let base = format!("{}{}", &rest[..scheme_len], parts[..parts.len() - 2].join("/"));
                (Some(base), parts[parts.len() - 2..].join("/"))
            } else {
                if flavor == Page::Gitea {
                    return Err(bad("needs the server: gitea:https://HOST/OWNER/REPO"));
                }
                (None, rest.trim_end_matches('/').to_string())
            };
        let (owner, repo) = path.split_once('/').ok_or_else(|| bad("is not like OWNER/REPO"))?;
        let repo = repo.trim_end_matches(".git");
        if !valid_segment(owner) || !valid_segment(repo) || repo.contains('/') {
            return Err(bad("is not like OWNER/REPO"));
        }
        let api_base = match (flavor, web_base) {
            (Page::GitHub, None) => {
                remote.forge.github_api.clone().unwrap_or_else(|| "https://api.github.com".to_string())
            }
            (Page::GitHub, Some(b)) if b == "https://github.com" => "https://api.github.com".to_string(),
            (Page::GitHub, Some(b)) => format!("{b}/api/v3"),
            (Page::Gitea, Some(b)) => format!("{b}/api/v1"),
            (Page::Gitea, None) => unreachable!("checked above"),
        };
        Ok(ForgeDestination {
            url: url.to_string(),
            flavor,
            owner: owner.to_string(),
            repo: repo.to_string(),
            api_base,
            api: Api::new(flavor.flavor(), token),
            token_var,
            required_checks: remote.forge.required_checks.clone(),
        })
    }

    fn forge_name(&self) -> &'static str {
        match (self.flavor, self.url.starts_with("forgejo:")) {
            (Page::GitHub, _) => "GitHub",
            (Page::Gitea, true) => "Forgejo",
            (Page::Gitea, false) => "Gitea",
        }
    }

    fn repo_url(&self) -> String {
        format!("{}/repos/{}/{}", self.api_base, self.owner, self.repo)
    }

    /// A failure for an answer relman did not expect, with the forge's own message.
    fn unexpected(&self, what: &str, a: &Answer) -> Failure {
        let f = Failure::publish(format!("`{}`: {what} answered HTTP {}: {}", self.url, a.status, a.message()));
        match a.status {
            401 => f.with_hint(format!("the token in {} was refused; check it", self.token_var)),
            403 => f.with_hint(format!(
                "the token in {} cannot write releases here (GitHub: `contents: write`; Gitea/Forgejo: write access to the repository)",
                self.token_var
            )),
            404 => f.with_hint(format!("check that {}/{} exists and the token can see it", self.owner, self.repo)),
            _ => f,
        }
    }

    /// The repository is there and the token may write to it.
    fn check_access(&self) -> Result<(), Failure> {
        if !self.api.has_token() {
            return Err(Failure::usage(format!(
                "no token for `{}`: set {} (it is read from the environment, never from the URL)",
                self.url, self.token_var
            )));
        }
        let a = self.api.send("GET", &self.repo_url(), None)?;
        match a.status {
            200 => {}
            404 => {
                return Err(Failure::publish(format!(
                    "the repository {}/{} does not exist at {} (or the token cannot see it)",
                    self.owner,
                    self.repo,
                    self.forge_name()
                ))
                .with_hint("check the destination URL and the token's repository access"))
            }
            _ => return Err(self.unexpected("reading the repository", &a)),
        }
        let can_push = a.json().pointer("/permissions/push").and_then(Value::as_bool);
        if can_push == Some(false) {
            return Err(Failure::publish(format!(
                "the token in {} cannot write to {}/{} (read-only); nothing was created",
                self.token_var, self.owner, self.repo
            ))
            .with_hint("give it write access (GitHub Actions: permissions: contents: write)"));
        }
        Ok(())
    }

    /// The tag exists on the forge (a release is made from a pushed tag, never a new one).
    fn check_tag(&self, tag: &str) -> Result<(), Failure> {
        let url = match self.flavor {
            Page::GitHub => format!("{}/git/ref/tags/{tag}", self.repo_url()),
            Page::Gitea => format!("{}/tags/{tag}", self.repo_url()),
        };
        let a = self.api.send("GET", &url, None)?;
        match a.status {
            200 => Ok(()),
            404 => Err(Failure::publish(format!("the tag {tag} is not on `{}`", self.url))
                .with_hint(format!("push it first: git push origin {tag}"))),
            _ => Err(self.unexpected(&format!("reading the tag {tag}"), &a)),
        }
    }

    fn release_of(&self, v: &Value) -> Option<Release> {
        let id = v.get("id")?.as_u64()?;
        let upload_url = match self.flavor {
            Page::GitHub => v
                .get("upload_url")
                .and_then(Value::as_str)
                .map(|u| u.split('{').next().unwrap_or(u).to_string())
                .unwrap_or_else(|| format!("{}/releases/{id}/assets", self.repo_url())),
            Page::Gitea => format!("{}/releases/{id}/assets", self.repo_url()),
        };
        Some(Release {
            id,
            tag: v.get("tag_name")?.as_str()?.to_string(),
            draft: v.get("draft").and_then(Value::as_bool).unwrap_or(false),
            immutable: v.get("immutable").and_then(Value::as_bool).unwrap_or(false),
            html_url: v.get("html_url").and_then(Value::as_str).unwrap_or("").to_string(),
            upload_url,
            body: v.get("body").and_then(Value::as_str).unwrap_or("").to_string(),
        })
    }

    /// Every release with `tag`, drafts included (listed, every page: on GitHub a draft is not
    /// found by its tag): the published one first, then drafts, oldest first.
    fn releases_for(&self, tag: &str) -> Result<Vec<Release>, Failure> {
        self.list_releases(|r| r.tag == tag)
    }

    fn list_releases(&self, keep: impl Fn(&Release) -> bool) -> Result<Vec<Release>, Failure> {
        let page = match self.flavor {
            Page::GitHub => "per_page=100",
            Page::Gitea => "limit=50",
        };
        let list = self.api.get_all(&format!("{}/releases?{page}", self.repo_url()))?;
        let list = list.map_err(|a| self.unexpected("listing releases", &a))?;
        let mut found: Vec<Release> = list.iter().filter_map(|v| self.release_of(v)).filter(|r| keep(r)).collect();
        found.sort_by_key(|r| (r.draft, r.id));
        Ok(found)
    }

    fn assets(&self, r: &Release) -> Result<Vec<RemoteAsset>, Failure> {
        let url = match self.flavor {
            Page::GitHub => format!("{}/releases/{}/assets?per_page=100", self.repo_url(), r.id),
            Page::Gitea => format!("{}/releases/{}/assets", self.repo_url(), r.id),
        };
        let list = self.api.get_all(&url)?.map_err(|a| self.unexpected("listing the release's assets", &a))?;
        Ok(list
            .iter()
            .filter_map(|v| {
                Some(RemoteAsset {
                    id: v.get("id")?.as_u64()?,
                    name: v.get("name")?.as_str()?.to_string(),
                    size: v.get("size").and_then(Value::as_u64).unwrap_or(0),
                    sha256: v
                        .get("digest")
                        .and_then(Value::as_str)
                        .and_then(|d| d.strip_prefix("sha256:"))
                        .map(str::to_string),
                    complete: v.get("state").and_then(Value::as_str).is_none_or(|s| s == "uploaded"),
                    download_url: match self.flavor {
                        Page::GitHub => v.get("url").and_then(Value::as_str).unwrap_or("").to_string(),
                        Page::Gitea => v.get("browser_download_url").and_then(Value::as_str).unwrap_or("").to_string(),
                    },
                })
            })
            .collect())
    }

    fn delete_asset(&self, r: &Release, a: &RemoteAsset) -> Result<(), Failure> {
        let url = match self.flavor {
            Page::GitHub => format!("{}/releases/assets/{}", self.repo_url(), a.id),
            Page::Gitea => format!("{}/releases/{}/assets/{}", self.repo_url(), r.id, a.id),
        };
        let ans = self.api.send("DELETE", &url, None)?;
        if !matches!(ans.status, 200 | 204 | 404) {
            return Err(self.unexpected(&format!("deleting the asset `{}`", a.name), &ans));
        }
        Ok(())
    }

    fn download(&self, a: &RemoteAsset) -> Result<Vec<u8>, Failure> {
        let ans = self.api.download(&a.download_url)?;
        if ans.status != 200 {
            return Err(self.unexpected(&format!("downloading `{}`", a.name), &ans));
        }
        Ok(ans.body)
    }

    /// Uploads one file; a duplicate left by an attempt whose answer was lost is recognised
    /// (kept when intact, replaced when broken). A forge that keeps failing — 5xx answers
    /// after the client's own retries — is a network failure (exit 11), named as such, never
    /// the `already_exists` its half-finished attempts leave behind.
    fn upload(&self, r: &Release, f: &LocalFile) -> Result<(), Failure> {
        const ATTEMPTS: usize = 3;
        let mut gateway_failures = 0;
        for _attempt in 0..ATTEMPTS {
            let ans = match self.flavor {
                Page::GitHub => {
                    let url = format!("{}?name={}&label=", r.upload_url, encode(&f.name));
                    let body = Body::File { path: &f.path, size: f.size, content_type: content_type(&f.name) };
                    self.api.send("POST", &url, Some(&body))?
                }
                Page::Gitea => {
                    let url = format!("{}?name={}", r.upload_url, encode(&f.name));
                    let body = Body::Multipart { path: &f.path, size: f.size, name: &f.name };
                    self.api.send("POST", &url, Some(&body))?
                }
            };
            match ans.status {
                200 | 201 => return Ok(()),
                422 if ans.already_exists() => {
                    // An earlier attempt got there (or left a broken asset): look at it.
                    let there = self.assets(r)?.into_iter().find(|a| a.name == f.name);
                    match there.as_ref().map(|a| compare(a, f.sha256.as_str(), f.size)) {
                        Some(Compared::Same) => return Ok(()),
                        Some(Compared::Broken) => {
                            // A cut-short upload (the answer lost on the way): a gateway failure.
                            gateway_failures += 1;
                            self.delete_asset(r, there.as_ref().expect("found"))?
                        }
                        _ if gateway_failures > 0 => break,
                        _ => return Err(self.unexpected(&format!("uploading `{}`", f.name), &ans)),
                    }
                }
                500..=599 => gateway_failures += 1,
                _ => return Err(self.unexpected(&format!("uploading `{}`", f.name), &ans)),
            }
        }
        if gateway_failures > 0 {
            return Err(Failure::network(format!(
                "`{}`: uploading `{}` kept failing: {gateway_failures} attempt(s) cut short or answered HTTP 5xx after retries",
                self.url, f.name
            ))
            .with_hint("the forge or a proxy before it is failing: run the same command again later (it resumes)"));
        }
        Err(Failure::publish(format!("`{}`: uploading `{}` did not complete", self.url, f.name)))
    }

    fn plan_assets(
        &self,
        tag: &str,
        there: &[RemoteAsset],
        files: &[LocalFile],
        replace: bool,
    ) -> Result<AssetPlan, Failure> {
        plan_assets(&self.url, &format!("the draft for {tag}"), there, files, replace)
    }

    /// The published release of `tag` holds exactly `files` (a re-run after promote).
    fn published_complete(&self, r: &Release, files: &[LocalFile]) -> Result<bool, Failure> {
        let there = self.assets(r)?;
        Ok(files.iter().all(|f| {
            there.iter().any(|a| a.name == f.name && matches!(compare(a, f.sha256.as_str(), f.size), Compared::Same))
        }))
    }

    fn tag_of(planned: &Planned) -> Result<String, Failure> {
        planned.manifest.tag.clone().ok_or_else(|| {
            Failure::usage("a snapshot has no tag, so it has no release page").with_hint("release a tagged version")
        })
    }

    fn refuse_published(&self, tag: &str, r: &Release) -> Failure {
        let what = if r.immutable { "published and immutable" } else { "already published" };
        Failure::publish(format!(
            "`{}`: the release {tag} is {what} ({}) and holds other files; a published release is never changed",
            self.url, r.html_url
        ))
        .with_hint("release a new version (or yank this one first, when it is not immutable)")
    }

    /// The releases of `version`: by the record's tag when there is one, else every release
    /// whose tag names the version (`v1.2.3`, `tool-v1.2.3`); and the tag.
    fn releases_of(&self, version: &Version, record: Option<&Planned>) -> Result<(String, Vec<Release>), Failure> {
        if let Some(tag) = record.and_then(|p| p.manifest.tag.clone()) {
            let found = self.releases_for(&tag)?;
            return Ok((tag, found));
        }
        let found = self.list_releases(|r| tag_version(&r.tag).as_ref() == Some(version))?;
        let tag = found.first().map(|r| r.tag.clone()).unwrap_or_else(|| format!("v{version}"));
        Ok((tag, found))
    }

    /// The expected files of the release at `r`: its `manifest.json` asset (downloaded), and
    /// the problems of what is there against it.
    fn check_assets(&self, r: &Release, record: Option<&Planned>) -> Result<(Vec<StateAsset>, Vec<String>), Failure> {
        let there = self.assets(r)?;
        let manifest = match there.iter().find(|a| a.name == MANIFEST_FILE) {
            Some(m) => Some(self.download(m)?),
            None => None,
        };
        check_against_manifest(&self.url, &there, manifest.as_deref(), record)
    }

    /// What keeps the required checks from having passed on `tag`'s commit: each one that has
    /// not reported, is still pending, or failed (GitHub: check runs and commit statuses;
    /// Gitea/Forgejo: commit statuses). The newest report of a name decides (both lists come
    /// newest first).
    fn check_runs(&self, tag: &str) -> Result<Vec<String>, Failure> {
        let mut seen: Vec<(String, String)> = Vec::new();
        if self.flavor == Page::GitHub {
            let url = format!("{}/commits/{tag}/check-runs?per_page=100", self.repo_url());
            let a = self.api.send("GET", &url, None)?;
            if a.status != 200 {
                return Err(self.unexpected(&format!("reading the check runs of {tag}"), &a));
            }
            for r in a.json().get("check_runs").and_then(Value::as_array).cloned().unwrap_or_default() {
                let name = r.get("name").and_then(Value::as_str).unwrap_or("").to_string();
                let state = match (r.get("status").and_then(Value::as_str), r.get("conclusion").and_then(Value::as_str))
                {
                    (Some("completed"), Some(c)) => c.to_string(),
                    (Some(s), _) => s.to_string(),
                    _ => "unknown".into(),
                };
                seen.push((name, state));
            }
        }
        let a = self.api.send("GET", &format!("{}/commits/{tag}/status", self.repo_url()), None)?;
        match a.status {
            200 => {
                for st in a.json().get("statuses").and_then(Value::as_array).cloned().unwrap_or_default() {
                    let name = st.get("context").and_then(Value::as_str).unwrap_or("").to_string();
                    let state =
                        st.get("state").or_else(|| st.get("status")).and_then(Value::as_str).unwrap_or("unknown");
                    seen.push((name, state.to_string()));
                }
            }
            404 => {}
            _ => return Err(self.unexpected(&format!("reading the commit statuses of {tag}"), &a)),
        }
        let mut problems = Vec::new();
        for want in &self.required_checks {
            match seen.iter().find(|(n, _)| n == want).map(|(_, s)| s.as_str()) {
                Some("success") => {}
                Some(s @ ("pending" | "queued" | "in_progress" | "requested" | "waiting")) => {
                    problems.push(format!("check `{want}` is {s} on {tag}'s commit"))
                }
                Some(s) => problems.push(format!("check `{want}` ended `{s}` on {tag}'s commit")),
                None => problems.push(format!("check `{want}` has not reported on {tag}'s commit")),
            }
        }
        Ok(problems)
    }

    /// The version of the forge's latest release (`None`: there is none).
    fn latest(&self) -> Result<Option<(u64, String)>, Failure> {
        let a = self.api.send("GET", &format!("{}/releases/latest", self.repo_url()), None)?;
        match a.status {
            200 => {
                let v = a.json();
                Ok(v.get("id")
                    .and_then(Value::as_u64)
                    .zip(v.get("tag_name").and_then(Value::as_str).map(str::to_string)))
            }
            404 => Ok(None),
            _ => Err(self.unexpected("reading the latest release", &a)),
        }
    }
}

/// What publishing would do at a draft (or package): the files to upload and the assets to delete
/// first; a different asset is an error (unless `replace`).
pub(crate) fn plan_assets(
    url: &str,
    place: &str,
    there: &[RemoteAsset],
    files: &[LocalFile],
    replace: bool,
) -> Result<AssetPlan, Failure> {
    let (mut upload, mut delete, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
    for (i, f) in files.iter().enumerate() {
        let same_name: Vec<&RemoteAsset> = there.iter().filter(|a| a.name == f.name).collect();
        let matching = same_name.iter().position(|a| matches!(compare(a, f.sha256.as_str(), f.size), Compared::Same));
        match matching {
            Some(keep) => {
                // Gitea accepts a second asset of a name: extra copies (of retries) go.
                delete.extend(same_name.iter().enumerate().filter(|(j, _)| *j != keep).map(|(_, a)| (*a).clone()));
                skipped.push(f.name.clone());
            }
            None => {
                for a in &same_name {
                    if let Compared::Different(found) = compare(a, f.sha256.as_str(), f.size) {
                        if !replace {
                            return Err(Failure::publish(format!(
                            "`{url}`: {place} already holds a different `{}`: {found} there, sha256 {} ({} bytes) here",
                            f.name, f.sha256, f.size
                        ))
                            .with_hint("pass --replace to replace it, or delete the asset on the forge"));
                        }
                    }
                    delete.push((*a).clone());
                }
                upload.push(i);
            }
        }
    }
    Ok((upload, delete, skipped))
}

/// What is there against what its `manifest.json` (`manifest`, downloaded from there) lists,
/// and against the release record when there is one: each asset's status, and the problems.
pub(crate) fn check_against_manifest(
    url: &str,
    there: &[RemoteAsset],
    manifest: Option<&[u8]>,
    record: Option<&Planned>,
) -> Result<(Vec<StateAsset>, Vec<String>), Failure> {
    let mut problems = Vec::new();
    let mut assets = Vec::new();
    let Some(bytes) = manifest else {
        problems.push(format!("no {MANIFEST_FILE} in the release at `{url}`"));
        return Ok((assets, problems));
    };
    let parsed = Manifest::from_json(&String::from_utf8_lossy(bytes))
        .map_err(|e| Failure::verify(format!("`{url}`: its {MANIFEST_FILE} is not a relman manifest: {e}")))?;
    let sha = relman_install::hash::sha256_bytes(bytes);
    // A record made from relman.toml alone (no record found) has nothing to compare with.
    if let Some(p) = record.filter(|p| p.origin.is_record()) {
        let local = relman_install::hash::sha256_bytes(p.manifest.release_view().to_json().as_bytes());
        if local != sha {
            problems.push(format!(
                "{MANIFEST_FILE}: the one published there (sha256 {}…) is not the release record used here ({}, sha256 {}…): {}",
                sha.short(),
                p.origin.describe(),
                local.short(),
                match &p.origin {
                    crate::planned::Origin::Local => "the local dist/ holds another build of this version (remove it to use the published record)",
                    _ => "the destinations hold different releases under this version",
                }
            ));
        }
    }
    assets.push(StateAsset { name: MANIFEST_FILE.into(), status: "ok", expected: None, found: Some(sha.to_string()) });
    for art in &parsed.artifacts {
        let (Some(expected), Some(size)) = (&art.sha256, art.size) else { continue };
        let found = there.iter().filter(|a| a.name == art.name).find(|a| a.complete);
        let status = match found.map(|a| compare(a, expected.as_str(), size)) {
            None => "missing",
            Some(Compared::Same) => "ok",
            Some(_) => "different",
        };
        if status != "ok" {
            problems.push(format!("{}: {status}", art.name));
        }
        assets.push(StateAsset {
            name: art.name.clone(),
            status,
            expected: Some(expected.to_string()),
            found: found.map(|a| a.sha256.clone().unwrap_or_else(|| format!("{} bytes", a.size))),
        });
    }
    Ok((assets, problems))
}

/// The longest release body GitHub takes (GoReleaser truncates at the same length).
const MAX_BODY: usize = 125_000;

/// The notes as a page body: cut (at a line) to what GitHub accepts, saying where the rest is.
fn page_body(notes: String) -> String {
    if notes.len() <= MAX_BODY {
        return notes;
    }
    let tail = format!("\n\n… (cut to {MAX_BODY} bytes: the full notes are the attached `{NOTES_FILE}`)\n");
    let mut end = MAX_BODY - tail.len();
    while !notes.is_char_boundary(end) {
        end -= 1;
    }
    let end = notes[..end].rfind('\n').unwrap_or(end);
    format!("{}{tail}", &notes[..end])
}

fn content_type(name: &str) -> &'static str {
    if name.ends_with(".json") || name.ends_with(".jsonl") {
        "application/json"
    } else if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
        "application/gzip"
    } else if name.ends_with(".zip") {
        "application/zip"
    } else if name.ends_with(".txt") || name.ends_with(".md") {
        "text/plain"
    } else {
        "application/octet-stream"
    }
}

/// The version a tag names (`v1.2.3`, `tool-v1.2.3`, `1.2.3`).
fn tag_version(tag: &str) -> Option<Version> {
    let start = tag.find(|c: char| c.is_ascii_digit())?;
    Version::parse(&tag[start..]).ok()
}

impl Destination for ForgeDestination {
    fn published_record(
        &self,
        _settings: &crate::settings::Settings,
        version: &Version,
    ) -> Result<Option<crate::destination::PublishedRecord>, Failure> {
        let (tag, releases) = self.releases_of(version, None)?;
        let Some(r) = releases.first() else { return Ok(None) };
        let there = self.assets(r)?;
        let Some(m) = there.iter().find(|a| a.name == MANIFEST_FILE) else { return Ok(None) };
        let location = format!("{}@{tag} {MANIFEST_FILE}", self.url);
        let read = |name: &str| there.iter().find(|a| a.name == name).map(|a| self.download(a)).transpose();
        crate::destination::PublishedRecord::gather(location, self.download(m)?, &read).map(Some)
    }
    fn url(&self) -> &str {
        &self.url
    }
    fn ci_needs(&self) -> crate::destination::CiNeeds {
        crate::destination::CiNeeds {
            contents_write: true,
            // `token_var` may read "GITHUB_TOKEN (or GH_TOKEN)": the variable is its first word.
            token: self.token_var.split_whitespace().next(),
            ..Default::default()
        }
    }
    fn kind(&self) -> Kind {
        Kind::Forge
    }

    fn preflight(&self, planned: &Planned, files: &[LocalFile]) -> Result<(), Failure> {
        let tag = Self::tag_of(planned)?;
        if self.flavor == Page::GitHub {
            if let Some(f) = files.iter().find(|f| github_asset_name(&f.name) != f.name) {
                return Err(Failure::usage(format!(
                    "`{}`: GitHub would rename the asset `{}` to `{}`; refused before anything is uploaded",
                    self.url,
                    f.name,
                    github_asset_name(&f.name)
                ))
                .with_hint(
                    "use names of letters, digits, `.`, `-`, `_`, `+` and `@` (archive names come from project.name)",
                ));
            }
        }
        self.check_access()?;
        self.check_tag(&tag)?;
        let releases = self.releases_for(&tag)?;
        if let Some(r) = releases.iter().find(|r| !r.draft) {
            if !self.published_complete(r, files)? {
                return Err(self.refuse_published(&tag, r));
            }
            return Ok(());
        }
        if let Some(r) = releases.first() {
            self.plan_assets(&tag, &self.assets(r)?, files, planned.settings.replace_assets)?;
        }
        Ok(())
    }

    fn publish(
        &self,
        planned: &Planned,
        files: &[LocalFile],
        _identity: Option<&crate::sign::Identity>,
        reporter: &dyn Reporter,
    ) -> Result<PutOutcome, Failure> {
        let tag = Self::tag_of(planned)?;
        let releases = self.releases_for(&tag)?;
        let names = || files.iter().map(|f| f.name.clone()).collect::<Vec<_>>();
        if let Some(r) = releases.iter().find(|r| !r.draft) {
            if self.published_complete(r, files)? {
                return Ok(PutOutcome {
                    destination: self.url.clone(),
                    location: r.html_url.clone(),
                    written: Vec::new(),
                    skipped: names(),
                });
            }
            return Err(self.refuse_published(&tag, r));
        }
        let notes = page_body(std::fs::read_to_string(planned.artifact_path(NOTES_FILE)).unwrap_or_default());
        let prerelease = Version::parse(&planned.manifest.version).is_ok_and(|v| !v.pre.is_empty());
        let release = match releases.into_iter().next() {
            Some(r) => {
                if r.body != notes {
                    let a = self.api.json(
                        "PATCH",
                        &format!("{}/releases/{}", self.repo_url(), r.id),
                        &json!({"body": notes, "prerelease": prerelease}),
                    )?;
                    if a.status != 200 {
                        return Err(self.unexpected("updating the draft's notes", &a));
                    }
                }
                r
            }
            None => {
                reporter.step(&format!("{}: creating the draft release {tag}", self.url));
                let body = json!({
                    "tag_name": tag,
                    "target_commitish": planned.manifest.commit,
                    "name": tag,
                    "body": notes,
                    "draft": true,
                    "prerelease": prerelease,
                });
                let a = self.api.json("POST", &format!("{}/releases", self.repo_url()), &body)?;
                if a.status != 201 {
                    return Err(self.unexpected(&format!("creating the draft release {tag}"), &a));
                }
                self.release_of(&a.json())
                    .ok_or_else(|| Failure::publish(format!("`{}`: the new release has no id", self.url)))?
            }
        };
        let there = self.assets(&release)?;
        let (upload, delete, skipped) = self.plan_assets(&tag, &there, files, planned.settings.replace_assets)?;
        for a in &delete {
            self.delete_asset(&release, a)?;
        }
        let queue = Mutex::new(upload.clone().into_iter());
        let failures: Mutex<Vec<Failure>> = Mutex::new(Vec::new());
        let done = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..UPLOADS_AT_ONCE.min(upload.len()) {
                s.spawn(|| loop {
                    let next = queue.lock().unwrap().next();
                    let Some(i) = next else { return };
                    if !failures.lock().unwrap().is_empty() {
                        return;
                    }
                    let f = &files[i];
                    match self.upload(&release, f) {
                        Ok(()) => {
                            reporter.step(&format!("{}: uploaded {}", self.url, f.name));
                            if done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                                relman_install::crashpoint::point("forge-uploaded-one");
                            }
                        }
                        Err(e) => failures.lock().unwrap().push(e),
                    }
                });
            }
        });
        if let Some(f) = failures.into_inner().unwrap().into_iter().next() {
            return Err(f);
        }
        if !upload.is_empty() {
            // What is there now (one listing): extra copies of a name, left by an upload retried
            // after its answer was lost (Gitea keeps both), go; anything still missing is an error.
            let after = self.assets(&release)?;
            let (missing, extra, _) = self.plan_assets(&tag, &after, files, true)?;
            for a in &extra {
                self.delete_asset(&release, a)?;
            }
            if let Some(i) = missing.first() {
                return Err(Failure::publish(format!(
                    "`{}`: `{}` is not in the draft with its digest after uploading it",
                    self.url, files[*i].name
                ))
                .with_hint("run relman publish again"));
            }
        }
        Ok(PutOutcome {
            destination: self.url.clone(),
            location: release.html_url.clone(),
            written: upload.iter().map(|i| files[*i].name.clone()).collect(),
            skipped,
        })
    }

    fn check_promote(
        &self,
        record: Option<&Planned>,
        version: &Version,
        _allow_downgrade: bool,
        reporter: &dyn Reporter,
    ) -> Result<PromotePlan, Failure> {
        let (tag, releases) = self.releases_of(version, record)?;
        let mut gates = Vec::new();
        let mut gate = crate::gates::logged(reporter, &mut gates);
        let release = releases.first().cloned();
        gate(Gate {
            name: "draft",
            passed: release.is_some(),
            detail: match &release {
                Some(r) if r.draft => format!("the draft {tag} is at {}", self.url),
                Some(r) => format!("{tag} is already published ({})", r.html_url),
                None => format!("no release {tag} at {} (run relman publish)", self.url),
            },
        });
        let mut notes = Vec::new();
        let mut make_latest = false;
        if let Some(r) = &release {
            let (assets, problems) = self.check_assets(r, record)?;
            gate(Gate {
                name: "assets",
                passed: problems.is_empty(),
                detail: if problems.is_empty() {
                    format!("{} assets, each with the digest its manifest.json records", assets.len())
                } else {
                    problems.join("; ")
                },
            });
            if !self.required_checks.is_empty() {
                let problems = self.check_runs(&tag)?;
                gate(Gate {
                    name: "checks",
                    passed: problems.is_empty(),
                    detail: if problems.is_empty() {
                        format!("{} succeeded on {tag}'s commit", self.required_checks.join(", "))
                    } else {
                        problems.join("; ")
                    },
                });
            }
            let latest = self.latest()?;
            let newer =
                latest.as_ref().and_then(|(_, t)| tag_version(t)).filter(|l| l > version).map(|l| l.to_string());
            make_latest = version.pre.is_empty() && newer.is_none();
            if let Some(n) = newer {
                notes.push(format!("latest stays at {n} (newer)"));
            } else if !version.pre.is_empty() {
                notes.push(format!("{version} is a pre-release: published, never latest"));
            }
        }
        let mut pointers = vec![format!("release {tag}")];
        if make_latest {
            pointers.push("latest".into());
        }
        drop(gate);
        let report = PromoteReport::checked(&self.url, &version.to_string(), gates, None, pointers, notes);
        let Some(r) = release.filter(|r| r.draft) else {
            return Ok(PromotePlan { report, apply: None });
        };
        if !report.passed() {
            return Ok(PromotePlan { report, apply: None });
        }
        let this = ForgeDestination {
            url: self.url.clone(),
            flavor: self.flavor,
            owner: self.owner.clone(),
            repo: self.repo.clone(),
            api_base: self.api_base.clone(),
            api: self.api.clone(),
            token_var: self.token_var,
            required_checks: Vec::new(),
        };
        let apply: crate::destination::ApplyMoves = Box::new(move |_r: &dyn Reporter, moved: &mut Vec<String>| {
            let mut body = json!({"draft": false});
            if this.flavor == Page::GitHub {
                body["make_latest"] = json!(if make_latest { "true" } else { "false" });
            }
            let a = this.api.json("PATCH", &format!("{}/releases/{}", this.repo_url(), r.id), &body)?;
            if a.status != 200 {
                return Err(this.unexpected(&format!("publishing the draft {tag}"), &a));
            }
            moved.push(format!("release {tag}"));
            if make_latest {
                moved.push("latest".into());
            }
            Ok(())
        });
        Ok(PromotePlan { report, apply: Some(apply) })
    }

    fn yank(&self, scope: &YankScope<'_>, version: &Version, apply: bool, force: bool) -> Result<YankReport, Failure> {
        let (tag, releases) = self.releases_of(version, None)?;
        let mut report = YankReport { version: version.to_string(), ..YankReport::default() };
        if releases.is_empty() {
            report.left.push(format!("no release {tag} at `{}`", self.url));
            report.done = true;
            return Ok(report);
        }
        if let Some(r) = releases.iter().find(|r| r.immutable) {
            return Err(Failure::gate(format!(
                "`{}`: the release {tag} is immutable ({}): GitHub keeps it, its assets and its tag; it cannot be yanked",
                self.url, r.html_url
            ))
            .with_hint("publish a fixed version instead; an immutable release's tag can never be reused"));
        }
        let latest = self.latest()?.map(|(id, _)| id);
        for r in &releases {
            let n = self.assets(r)?.len();
            report.removed.push(format!("release {tag} ({}, {n} assets)", if r.draft { "draft" } else { "published" }));
            if latest == Some(r.id) {
                report.blocked_by.push(format!("latest ({tag})"));
            }
        }
        if scope.delete_tag && !apply {
            report.removed.push(format!("tag {tag}"));
        }
        if !apply || (!report.blocked_by.is_empty() && !force) {
            return Ok(report);
        }
        for r in &releases {
            let a = self.api.send("DELETE", &format!("{}/releases/{}", self.repo_url(), r.id), None)?;
            if !matches!(a.status, 200 | 204 | 404) {
                return Err(self.unexpected(&format!("deleting the release {tag}"), &a));
            }
        }
        if scope.delete_tag {
            let url = match self.flavor {
                Page::GitHub => format!("{}/git/refs/tags/{tag}", self.repo_url()),
                Page::Gitea => format!("{}/tags/{tag}", self.repo_url()),
            };
            let a = self.api.send("DELETE", &url, None)?;
            if !matches!(a.status, 200 | 204 | 404) {
                return Err(self.unexpected(&format!("deleting the tag {tag}"), &a));
            }
            report.removed.push(format!("tag {tag}"));
        }
        report.done = true;
        Ok(report)
    }

    fn state(
        &self,
        record: Option<&Planned>,
        version: &Version,
        _key: Option<&relman_sign::PublicKey>,
    ) -> Result<DestinationState, Failure> {
        let (tag, releases) = self.releases_of(version, record)?;
        let release = releases.first();
        let latest = self.latest()?;
        let mut state = DestinationState {
            destination: self.url.clone(),
            assets: Vec::new(),
            pointers: vec![
                Pointer {
                    name: format!("release {tag}"),
                    target: release.map(|r| if r.draft { "draft".into() } else { "published".into() }),
                },
                Pointer { name: "latest".into(), target: latest.map(|(_, t)| t) },
            ],
            problems: Vec::new(),
            verify_commands: Vec::new(),
        };
        let Some(r) = release else {
            state.problems.push(format!("no release {tag} at `{}`", self.url));
            return Ok(state);
        };
        let (assets, problems) = self.check_assets(r, record)?;
        state.assets = assets;
        state.problems = problems;
        state.verify_commands.push(format!("relman verify {}@{tag} --key <public key>", self.url));
        if self.flavor == Page::GitHub && !r.draft {
            state.verify_commands.push(format!(
                "gh release download {tag} -R {}/{} -D {tag} && relman verify {tag} --key <public key>",
                self.owner, self.repo
            ));
        }
        Ok(state)
    }
}

/// Writes each asset (downloaded with `download`) into `into`, checked against the digest the
/// forge gives: plain file names only.
fn save_assets(
    url: &str,
    assets: &[RemoteAsset],
    download: impl Fn(&RemoteAsset) -> Result<Vec<u8>, Failure>,
    into: &std::path::Path,
) -> Result<(), Failure> {
    std::fs::create_dir_all(into).map_err(|e| Failure::io("create", into, e))?;
    for a in assets {
        if !valid_segment(&a.name) {
            return Err(Failure::verify(format!("`{url}`: the asset name `{}` is not a plain file name", a.name)));
        }
        let bytes = download(a)?;
        if let Some(expected) = &a.sha256 {
            let got = relman_install::hash::sha256_bytes(&bytes);
            if got.as_str() != expected {
                return Err(Failure::verify(format!(
                    "`{url}`: `{}` downloaded with sha256 {got}, the forge says {expected}",
                    a.name
                )));
            }
        }
        crate::fsutil::write_atomic(&into.join(&a.name), &bytes)?;
    }
    Ok(())
}

/// Whether `s` names a forge (`github:`, `gitea:`, `forgejo:`, `gitlab:`), for verify and
/// install.
pub fn is_forge(s: &str) -> bool {
    ["github:", "gitea:", "forgejo:", "gitlab:"].iter().any(|p| s.starts_with(p))
}

/// The tag of a forge's latest release (GitHub/Gitea: the one marked latest; GitLab: the
/// newest), for `relman upgrade`; `None` when there is none.
pub fn latest_tag(spec: &str, remote: &Remote) -> Result<Option<String>, Failure> {
    let url = spec.rsplit_once('@').filter(|(_, t)| !t.contains('/')).map(|(u, _)| u).unwrap_or(spec);
    if url.starts_with("gitlab:") {
        return Ok(GitLabDestination::parse(url, remote)?
            .newest_version()?
            .map(|v| v.to_string())
            .map(|v| format!("v{v}")));
    }
    Ok(ForgeDestination::parse(url, remote)?.latest()?.map(|(_, t)| t))
}

/// The version a forge tag names (`v1.2.3`, `tool-v1.2.3`).
pub fn version_of_tag(tag: &str) -> Option<Version> {
    tag_version(tag)
}

/// Downloads a release page's assets into `into` (a new directory): `spec` is a forge
/// destination with `@TAG` (`github:acme/tool@v1.2.3`), or without it for the latest release;
/// `version` picks one by version instead. The published release, or the draft when there is
/// none (with a token that can see it). Every asset whose forge gives a digest is checked
/// against it. Returns the tag.
pub fn download_release(
    spec: &str,
    version: Option<&Version>,
    remote: &Remote,
    into: &std::path::Path,
) -> Result<String, Failure> {
    let (url, tag) = match spec.rsplit_once('@') {
        Some((u, t)) if !t.contains('/') && !t.is_empty() => (u, Some(t.to_string())),
        _ => (spec, None),
    };
    if url.starts_with("gitlab:") {
        let d = GitLabDestination::parse(url, remote)?;
        let v = match (&tag, version) {
            (Some(t), _) => tag_version(t),
            (None, Some(v)) => Some(v.clone()),
            (None, None) => d.newest_version()?,
        };
        let v = v.ok_or_else(|| Failure::install(format!("no release at `{url}`")))?;
        d.download_version(&v, into)?;
        return Ok(tag.unwrap_or_else(|| format!("v{v}")));
    }
    let d = ForgeDestination::parse(url, remote)?;
    let releases = match (&tag, version) {
        (Some(t), _) => d.releases_for(t)?,
        (None, Some(v)) => d.releases_of(v, None)?.1,
        (None, None) => match d.latest()? {
            Some((_, t)) => d.releases_for(&t)?,
            None => Vec::new(),
        },
    };
    let Some(r) = releases.into_iter().next() else {
        let which = tag.or(version.map(|v| v.to_string())).unwrap_or_else(|| "latest".into());
        return Err(Failure::install(format!("no release {which} at `{url}`"))
            .with_hint("name a published release: github:OWNER/REPO@vX.Y.Z"));
    };
    save_assets(url, &d.assets(&r)?, |a| d.download(a), into)?;
    Ok(r.tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_once_into_their_api() {
        let remote = Remote::default();
        let d = ForgeDestination::parse("github:acme/tool", &remote).unwrap();
        assert_eq!(
            (d.api_base.as_str(), d.owner.as_str(), d.repo.as_str()),
            ("https://api.github.com", "acme", "tool")
        );
        let d = ForgeDestination::parse("github:https://ghe.example.com/acme/tool", &remote).unwrap();
        assert_eq!(d.api_base, "https://ghe.example.com/api/v3");
        let d = ForgeDestination::parse("forgejo:https://codeberg.org/acme/tool.git", &remote).unwrap();
        assert_eq!((d.api_base.as_str(), d.repo.as_str()), ("https://codeberg.org/api/v1", "tool"));
        let d = ForgeDestination::parse("gitea:http://127.0.0.1:3000/sub/acme/tool", &remote).unwrap();
        assert_eq!(d.api_base, "http://127.0.0.1:3000/sub/api/v1");
        for bad in [
            "github:acme",
            "github:acme/",
            "gitea:acme/tool",
            "github:a/b/c",
            "github:https://x/acme",
            "gitea:https://h/o/r%20",
        ] {
            assert!(ForgeDestination::parse(bad, &remote).is_err(), "{bad}");
        }
        let e = ForgeDestination::parse("github:https://bob:hunter2@ghe.example.com/acme/tool", &remote).err().unwrap();
        assert!(!e.message.contains("hunter2"), "{}", e.message);
    }

    #[test]
    fn github_renames_like_gh_says() {
        assert_eq!(
            github_asset_name("tool-1.0.0-x86_64-unknown-linux-gnu.tar.gz"),
            "tool-1.0.0-x86_64-unknown-linux-gnu.tar.gz"
        );
        assert_eq!(github_asset_name("my tool (x).zip"), "my.tool.x.zip");
        assert_eq!(github_asset_name(".hidden"), "default.hidden");
        assert_eq!(github_asset_name("a..b."), "a.b");
    }

    #[test]
    fn long_notes_are_cut_at_a_line_to_what_github_takes() {
        let short = "## 1.0.0\n- a fix\n".to_string();
        assert_eq!(page_body(short.clone()), short);
        let long = "- é change\n".repeat(20_000);
        let body = page_body(long.clone());
        assert!(body.len() <= MAX_BODY, "{}", body.len());
        assert!(body.ends_with("the full notes are the attached `release-notes.md`)\n"));
        assert!(long.starts_with(body.split("\n\n… (cut").next().unwrap()));
    }

    #[test]
    fn tags_name_versions() {
        assert_eq!(tag_version("v1.2.3"), Some(Version::new(1, 2, 3)));
        assert_eq!(tag_version("tool-v2.0.0-rc.1").unwrap().to_string(), "2.0.0-rc.1");
        assert_eq!(tag_version("latest"), None);
    }
}
