//! GitLab release pages, `gitlab:https://HOST/GROUP/PROJECT` (API at `/api/v4`; a token from
//! `GITLAB_TOKEN`, sent as `PRIVATE-TOKEN`, else `CI_JOB_TOKEN` as `JOB-TOKEN`).
//!
//! GitLab has no draft releases: publish uploads every file to the project's generic package
//! registry (package = the project's path, version = the release's), one at a time (GitLab
//! races concurrent first uploads into a new package); an existing file with the same name and
//! sha256 is skipped, a different one refused unless `--replace`, extra copies (GitLab keeps a
//! second file of a name) removed. Promote creates the release, its notes the package's
//! `release-notes.md`, with a link per file, after every gate passed — so the page exists only
//! once the release is complete. Yank deletes the release and the package.

use relman_manifest::Failure;
use semver::Version;
use serde_json::{json, Value};

use super::api::{Answer, Api, Body, Flavor};
use super::{
    check_against_manifest, compare, encode, plan_assets, save_assets, tag_version, valid_segment, Compared,
    RemoteAsset,
};
use crate::destination::{
    Destination, DestinationState, Gate, Kind, LocalFile, Pointer, PromotePlan, PromoteReport, PutOutcome, YankReport,
    YankScope,
};
use crate::planned::{Planned, MANIFEST_FILE, NOTES_FILE};
use crate::remote::Remote;
use crate::report::Reporter;

pub struct GitLabDestination {
    url: String,
    /// `group/sub/project`.
    project: String,
    /// The generic package's name: the project's path.
    package: String,
    api_base: String,
    api: Api,
    token_var: &'static str,
}

impl GitLabDestination {
    pub fn parse(url: &str, remote: &Remote) -> Result<GitLabDestination, Failure> {
        let bad = |what: &str| {
            Failure::usage(format!("destination `{}` {what}", relman_install::source::redact(url)))
                .with_hint("write gitlab:https://HOST/GROUP/PROJECT")
        };
        let rest = url.strip_prefix("gitlab:").ok_or_else(|| bad("is not a gitlab: destination"))?;
        let after = rest
            .strip_prefix("https://")
            .or_else(|| rest.strip_prefix("http://"))
            .ok_or_else(|| bad("needs the server: gitlab:https://HOST/GROUP/PROJECT"))?;
        let scheme = &rest[..rest.len() - after.len()];
        let mut parts = after.trim_end_matches('/').split('/');
        let host = parts.next().unwrap_or("");
        if host.contains('@') {
            return Err(Failure::usage(format!(
                "`{}` has credentials in it; relman reads GitLab tokens from GITLAB_TOKEN or CI_JOB_TOKEN",
                relman_install::source::redact(url)
            )));
        }
        let path: Vec<&str> = parts.collect();
        if host.is_empty() || path.len() < 2 || !path.iter().all(|s| valid_segment(s)) {
            return Err(bad("is not like gitlab:https://HOST/GROUP/PROJECT"));
        }
        let project = path.join("/").trim_end_matches(".git").to_string();
        let package = project.rsplit('/').next().unwrap_or("").to_string();
        let (token, job, token_var) = match (&remote.forge.gitlab_token, &remote.forge.ci_job_token) {
            (Some(t), _) => (Some(t.clone()), false, "GITLAB_TOKEN"),
            (None, Some(t)) => (Some(t.clone()), true, "CI_JOB_TOKEN"),
            (None, None) => (None, false, "GITLAB_TOKEN (or CI_JOB_TOKEN)"),
        };
        Ok(GitLabDestination {
            url: url.to_string(),
            project,
            package,
            api_base: format!("{scheme}{host}/api/v4"),
            api: Api::new(Flavor::GitLab { job_token: job }, token),
            token_var,
        })
    }

    fn project_url(&self) -> String {
        format!("{}/projects/{}", self.api_base, encode(&self.project))
    }

    fn file_url(&self, version: &str, name: &str) -> String {
        format!(
            "{}/packages/generic/{}/{}/{}",
            self.project_url(),
            encode(&self.package),
            encode(version),
            encode(name)
        )
    }

    fn unexpected(&self, what: &str, a: &Answer) -> Failure {
        let f = Failure::publish(format!("`{}`: {what} answered HTTP {}: {}", self.url, a.status, a.message()));
        match a.status {
            401 => f.with_hint(format!("the token in {} was refused; check it", self.token_var)),
            403 => f.with_hint(format!("the token in {} needs the Developer role (api scope)", self.token_var)),
            _ => f,
        }
    }

    fn check_access(&self) -> Result<(), Failure> {
        if !self.api.has_token() {
            return Err(Failure::usage(format!("no token for `{}`: set {}", self.url, self.token_var)));
        }
        let a = self.api.send("GET", &self.project_url(), None)?;
        match a.status {
            200 => {}
            404 => {
                return Err(Failure::publish(format!(
                    "the project {} does not exist at GitLab (or the token cannot see it)",
                    self.project
                ))
                .with_hint("check the destination URL and the token's project access"))
            }
            _ => return Err(self.unexpected("reading the project", &a)),
        }
        let v = a.json();
        let level = ["/permissions/project_access/access_level", "/permissions/group_access/access_level"]
            .iter()
            .filter_map(|p| v.pointer(p).and_then(Value::as_u64))
            .max();
        if level.is_some_and(|l| l < 30) {
            return Err(Failure::publish(format!(
                "the token in {} cannot write to {} (below the Developer role); nothing was created",
                self.token_var, self.project
            )));
        }
        Ok(())
    }

    fn check_tag(&self, tag: &str) -> Result<(), Failure> {
        let a = self.api.send("GET", &format!("{}/repository/tags/{}", self.project_url(), encode(tag)), None)?;
        match a.status {
            200 => Ok(()),
            404 => Err(Failure::publish(format!("the tag {tag} is not on `{}`", self.url))
                .with_hint(format!("push it first: git push origin {tag}"))),
            _ => Err(self.unexpected(&format!("reading the tag {tag}"), &a)),
        }
    }

    /// The generic package of `version` and its files (`None`: no package yet).
    fn package_files(&self, version: &str) -> Result<Option<(u64, Vec<RemoteAsset>)>, Failure> {
        let url = format!(
            "{}/packages?package_type=generic&package_name={}&package_version={}&per_page=100",
            self.project_url(),
            encode(&self.package),
            encode(version)
        );
        let list = self.api.get_all(&url)?.map_err(|a| self.unexpected("listing packages", &a))?;
        let Some(id) = list
            .iter()
            .find(|p| {
                p.get("name").and_then(Value::as_str) == Some(self.package.as_str())
                    && p.get("version").and_then(Value::as_str) == Some(version)
            })
            .and_then(|p| p.get("id").and_then(Value::as_u64))
        else {
            return Ok(None);
        };
        let files = self
            .api
            .get_all(&format!("{}/packages/{id}/package_files?per_page=100", self.project_url()))?
            .map_err(|a| self.unexpected("listing the package's files", &a))?;
        let assets = files
            .iter()
            .filter_map(|f| {
                let name = f.get("file_name")?.as_str()?.to_string();
                Some(RemoteAsset {
                    id: f.get("id")?.as_u64()?,
                    size: f.get("size").and_then(Value::as_u64).unwrap_or(0),
                    sha256: f.get("file_sha256").and_then(Value::as_str).map(str::to_string),
                    complete: true,
                    download_url: self.file_url(version, &name),
                    name,
                })
            })
            .collect();
        Ok(Some((id, assets)))
    }

    fn delete_file(&self, package: u64, a: &RemoteAsset) -> Result<(), Failure> {
        let url = format!("{}/packages/{package}/package_files/{}", self.project_url(), a.id);
        let ans = self.api.send("DELETE", &url, None)?;
        if !matches!(ans.status, 200 | 204 | 404) {
            return Err(self.unexpected(&format!("deleting the package file `{}`", a.name), &ans));
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

    /// The release of `tag` (`None`: none yet).
    fn release(&self, tag: &str) -> Result<Option<Value>, Failure> {
        let a = self.api.send("GET", &format!("{}/releases/{}", self.project_url(), encode(tag)), None)?;
        match a.status {
            200 => Ok(Some(a.json())),
            404 => Ok(None),
            _ => Err(self.unexpected(&format!("reading the release {tag}"), &a)),
        }
    }

    /// The newest release's tag (GitLab's list is sorted by `released_at`, newest first).
    fn newest(&self) -> Result<Option<String>, Failure> {
        let a = self.api.send("GET", &format!("{}/releases?per_page=1", self.project_url()), None)?;
        if a.status != 200 {
            return Err(self.unexpected("listing releases", &a));
        }
        Ok(a.json().get(0).and_then(|r| r.get("tag_name")).and_then(Value::as_str).map(str::to_string))
    }

    fn tag_of(planned: &Planned) -> Result<String, Failure> {
        planned.manifest.tag.clone().ok_or_else(|| Failure::usage("a snapshot has no tag, so it has no release page"))
    }

    fn release_links(release: &Value) -> Vec<String> {
        release
            .pointer("/assets/links")
            .and_then(Value::as_array)
            .map(|l| l.iter().filter_map(|x| x.get("name").and_then(Value::as_str).map(str::to_string)).collect())
            .unwrap_or_default()
    }

    /// The tag of `version`: the record's, else the newest release whose tag names it, else
    /// `v<version>`.
    fn tag_for(&self, version: &Version, record: Option<&Planned>) -> Result<String, Failure> {
        if let Some(t) = record.and_then(|p| p.manifest.tag.clone()) {
            return Ok(t);
        }
        let list = self
            .api
            .get_all(&format!("{}/releases?per_page=100", self.project_url()))?
            .map_err(|a| self.unexpected("listing releases", &a))?;
        Ok(list
            .iter()
            .filter_map(|r| r.get("tag_name").and_then(Value::as_str))
            .find(|t| tag_version(t).as_ref() == Some(version))
            .map(str::to_string)
            .unwrap_or_else(|| format!("v{version}")))
    }

    /// Downloads the files of `version`'s package into `into` (verify and install).
    pub(crate) fn download_version(&self, version: &Version, into: &std::path::Path) -> Result<(), Failure> {
        let Some((_, files)) = self.package_files(&version.to_string())? else {
            return Err(Failure::install(format!("no release {version} at `{}`", self.url)));
        };
        save_assets(&self.url, &files, |a| self.download(a), into)
    }

    /// The version of the newest release (install's default).
    pub(crate) fn newest_version(&self) -> Result<Option<Version>, Failure> {
        Ok(self.newest()?.and_then(|t| tag_version(&t)))
    }
}

impl Destination for GitLabDestination {
    fn published_record(
        &self,
        _settings: &crate::settings::Settings,
        version: &Version,
    ) -> Result<Option<crate::destination::PublishedRecord>, Failure> {
        let v = version.to_string();
        let Some((_, there)) = self.package_files(&v)? else { return Ok(None) };
        let Some(m) = there.iter().find(|a| a.name == MANIFEST_FILE) else { return Ok(None) };
        let location = format!("{} package {}/{v} {MANIFEST_FILE}", self.url, self.package);
        let read = |name: &str| there.iter().find(|a| a.name == name).map(|a| self.download(a)).transpose();
        crate::destination::PublishedRecord::gather(location, self.download(m)?, &read).map(Some)
    }
    fn url(&self) -> &str {
        &self.url
    }
    fn ci_needs(&self) -> crate::destination::CiNeeds {
        // In GitLab CI the job token (CI_JOB_TOKEN) is there already.
        crate::destination::CiNeeds { contents_write: true, ..Default::default() }
    }
    fn kind(&self) -> Kind {
        Kind::Forge
    }

    fn preflight(&self, planned: &Planned, files: &[LocalFile]) -> Result<(), Failure> {
        let tag = Self::tag_of(planned)?;
        self.check_access()?;
        self.check_tag(&tag)?;
        let there = self.package_files(&planned.manifest.version)?.map(|(_, f)| f).unwrap_or_default();
        if let Some(r) = self.release(&tag)? {
            let complete = files.iter().all(|f| {
                there
                    .iter()
                    .any(|a| a.name == f.name && matches!(compare(a, f.sha256.as_str(), f.size), Compared::Same))
            });
            if !complete {
                return Err(Failure::publish(format!(
                    "`{}`: the release {tag} is already published ({}) and holds other files; a published release is never changed",
                    self.url,
                    r.pointer("/_links/self").and_then(Value::as_str).unwrap_or("")
                ))
                .with_hint("release a new version (or yank this one first)"));
            }
            return Ok(());
        }
        let place = format!("the package {}/{}", self.package, planned.manifest.version);
        plan_assets(&self.url, &place, &there, files, planned.settings.replace_assets)?;
        Ok(())
    }

    fn publish(
        &self,
        planned: &Planned,
        files: &[LocalFile],
        _identity: Option<&crate::sign::Identity>,
        reporter: &dyn Reporter,
    ) -> Result<PutOutcome, Failure> {
        let version = planned.manifest.version.clone();
        let place = format!("the package {}/{version}", self.package);
        let location = format!("{}/-/packages", self.url.trim_start_matches("gitlab:"));
        let listed = self.package_files(&version)?;
        let there = listed.as_ref().map(|(_, f)| f.clone()).unwrap_or_default();
        let (upload, delete, skipped) = plan_assets(&self.url, &place, &there, files, planned.settings.replace_assets)?;
        if let Some((id, _)) = &listed {
            for a in &delete {
                self.delete_file(*id, a)?;
            }
        }
        for (n, i) in upload.iter().enumerate() {
            let f = &files[*i];
            let url = format!("{}?select=package_file", self.file_url(&version, &f.name));
            let body = Body::File { path: &f.path, size: f.size, content_type: "application/octet-stream" };
            let a = self.api.send("PUT", &url, Some(&body))?;
            if !matches!(a.status, 200 | 201) {
                return Err(self.unexpected(&format!("uploading `{}`", f.name), &a));
            }
            reporter.step(&format!("{}: uploaded {}", self.url, f.name));
            if n == 0 {
                relman_install::crashpoint::point("forge-uploaded-one");
            }
        }
        if !upload.is_empty() {
            // A retried upload whose answer was lost leaves a second file of the name: it goes.
            if let Some((id, after)) = self.package_files(&version)? {
                let (missing, extra, _) = plan_assets(&self.url, &place, &after, files, true)?;
                for a in &extra {
                    self.delete_file(id, a)?;
                }
                if let Some(i) = missing.first() {
                    return Err(Failure::publish(format!(
                        "`{}`: `{}` is not in {place} with its digest after uploading it",
                        self.url, files[*i].name
                    )));
                }
            }
        }
        Ok(PutOutcome {
            destination: self.url.clone(),
            location,
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
        let tag = self.tag_for(version, record)?;
        let v = version.to_string();
        let mut gates = Vec::new();
        let mut gate = crate::gates::logged(reporter, &mut gates);
        let files = self.package_files(&v)?;
        gate(Gate {
            name: "package",
            passed: files.is_some(),
            detail: match &files {
                Some((_, f)) => format!("the package {}/{v} holds {} files", self.package, f.len()),
                None => format!("no package {}/{v} at {} (run relman publish)", self.package, self.url),
            },
        });
        let there = files.map(|(_, f)| f).unwrap_or_default();
        let manifest = match there.iter().find(|a| a.name == MANIFEST_FILE) {
            Some(m) => Some(self.download(m)?),
            None => None,
        };
        let (assets, problems) = check_against_manifest(&self.url, &there, manifest.as_deref(), record)?;
        gate(Gate {
            name: "assets",
            passed: problems.is_empty(),
            detail: if problems.is_empty() {
                format!("{} files, each with the digest its manifest.json records", assets.len())
            } else {
                problems.join("; ")
            },
        });
        let existing = self.release(&tag)?;
        drop(gate);
        let report = PromoteReport::checked(&self.url, &v, gates, None, vec![format!("release {tag}")], Vec::new());
        let links_there = existing.as_ref().map(Self::release_links).unwrap_or_default();
        let missing_links: Vec<RemoteAsset> =
            there.iter().filter(|a| !links_there.contains(&a.name)).cloned().collect();
        if !report.passed() || (existing.is_some() && missing_links.is_empty()) {
            return Ok(PromotePlan { report, apply: None });
        }
        let notes = match there.iter().find(|a| a.name == NOTES_FILE) {
            Some(n) => String::from_utf8_lossy(&self.download(n)?).into_owned(),
            None => String::new(),
        };
        let this = GitLabDestination {
            url: self.url.clone(),
            project: self.project.clone(),
            package: self.package.clone(),
            api_base: self.api_base.clone(),
            api: self.api.clone(),
            token_var: self.token_var,
        };
        let exists = existing.is_some();
        let apply: crate::destination::ApplyMoves = Box::new(move |_r: &dyn Reporter, moved: &mut Vec<String>| {
            let link = |a: &RemoteAsset| json!({"name": a.name, "url": a.download_url, "direct_asset_path": format!("/{}", a.name), "link_type": "package"});
            if exists {
                // A release made by a run cut short: its missing links, one by one.
                for a in &missing_links {
                    let url = format!("{}/releases/{}/assets/links", this.project_url(), encode(&tag));
                    let ans = this.api.json("POST", &url, &link(a))?;
                    if !matches!(ans.status, 200 | 201 | 400) {
                        return Err(this.unexpected(&format!("linking `{}`", a.name), &ans));
                    }
                }
            } else {
                let body = json!({
                    "tag_name": tag,
                    "name": tag,
                    "description": notes,
                    "assets": {"links": missing_links.iter().map(link).collect::<Vec<_>>()},
                });
                let ans = this.api.json("POST", &format!("{}/releases", this.project_url()), &body)?;
                if !matches!(ans.status, 200 | 201 | 409) {
                    return Err(this.unexpected(&format!("creating the release {tag}"), &ans));
                }
            }
            moved.push(format!("release {tag}"));
            Ok(())
        });
        Ok(PromotePlan { report, apply: Some(apply) })
    }

    fn yank(&self, scope: &YankScope<'_>, version: &Version, apply: bool, force: bool) -> Result<YankReport, Failure> {
        let tag = self.tag_for(version, None)?;
        let v = version.to_string();
        let mut report = YankReport { version: v.clone(), ..YankReport::default() };
        let release = self.release(&tag)?;
        let package = self.package_files(&v)?;
        if release.is_none() && package.is_none() {
            report.left.push(format!("no release {tag} at `{}`", self.url));
            report.done = true;
            return Ok(report);
        }
        if release.is_some() {
            report.removed.push(format!("release {tag}"));
            if self.newest()?.as_deref() == Some(tag.as_str()) {
                report.blocked_by.push(format!("latest ({tag}, the newest release)"));
            }
        }
        if let Some((_, files)) = &package {
            report.removed.push(format!("package {}/{v} ({} files)", self.package, files.len()));
        }
        if scope.delete_tag && !apply {
            report.removed.push(format!("tag {tag}"));
        }
        if !apply || (!report.blocked_by.is_empty() && !force) {
            return Ok(report);
        }
        if release.is_some() {
            let a = self.api.send("DELETE", &format!("{}/releases/{}", self.project_url(), encode(&tag)), None)?;
            if !matches!(a.status, 200 | 204 | 404) {
                return Err(self.unexpected(&format!("deleting the release {tag}"), &a));
            }
        }
        if let Some((id, _)) = package {
            let a = self.api.send("DELETE", &format!("{}/packages/{id}", self.project_url()), None)?;
            if !matches!(a.status, 200 | 204 | 404) {
                return Err(self.unexpected(&format!("deleting the package {}/{v}", self.package), &a));
            }
        }
        if scope.delete_tag {
            let url = format!("{}/repository/tags/{}", self.project_url(), encode(&tag));
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
        let tag = self.tag_for(version, record)?;
        let v = version.to_string();
        let there = self.package_files(&v)?.map(|(_, f)| f).unwrap_or_default();
        let manifest = match there.iter().find(|a| a.name == MANIFEST_FILE) {
            Some(m) => Some(self.download(m)?),
            None => None,
        };
        let (assets, problems) = check_against_manifest(&self.url, &there, manifest.as_deref(), record)?;
        let release = self.release(&tag)?;
        Ok(DestinationState {
            destination: self.url.clone(),
            assets,
            pointers: vec![
                Pointer { name: format!("release {tag}"), target: release.map(|_| "published".to_string()) },
                Pointer { name: "newest release".into(), target: self.newest()? },
            ],
            problems,
            verify_commands: vec![format!("relman verify {}@{tag} --key <public key>", self.url)],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let r = Remote::default();
        let d = GitLabDestination::parse("gitlab:https://gitlab.example.com/acme/sub/tool", &r).unwrap();
        assert_eq!(d.project_url(), "https://gitlab.example.com/api/v4/projects/acme%2Fsub%2Ftool");
        assert_eq!(d.package, "tool");
        assert_eq!(
            d.file_url("1.2.3", "tool-1.2.3.tar.gz"),
            "https://gitlab.example.com/api/v4/projects/acme%2Fsub%2Ftool/packages/generic/tool/1.2.3/tool-1.2.3.tar.gz"
        );
        for bad in ["gitlab:acme/tool", "gitlab:https://h/tool", "gitlab:https://u:p@h/a/b"] {
            assert!(GitLabDestination::parse(bad, &r).is_err(), "{bad}");
        }
    }
}
