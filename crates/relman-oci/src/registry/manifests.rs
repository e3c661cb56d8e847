//! Manifests (by tag or digest), tag lists, deletes and the referrers API.
//!
//! Every manifest `GET`/`HEAD` sends [`media::MANIFEST_ACCEPT`]. A fetched manifest's digest is
//! computed from its bytes (and must equal the digest asked for); a pushed one's is the digest
//! of the bytes sent, checked against the registry's `Docker-Content-Digest` when it sends one.

use relman_manifest::Failure;

use super::client::{with_query, Client};
use super::send::{Access, Req, Scope};
use crate::digest::Digest;
use crate::media;
use crate::reference::{valid_tag, Reference};
use crate::types::{Descriptor, ImageIndex, Manifest};

/// Largest manifest read (the distribution spec lets registries refuse more than 4 MiB).
const MANIFEST_LIMIT: u64 = 8 * 1024 * 1024;
/// Largest tag-list page read.
const TAGS_PAGE_LIMIT: u64 = 16 * 1024 * 1024;
/// Tags asked for per page, and the most pages followed.
const TAGS_PAGE: u32 = 1000;
const TAGS_MAX_PAGES: usize = 10_000;

/// A manifest as a registry served it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchedManifest {
    pub bytes: Vec<u8>,
    /// The `Content-Type` the registry sent (or the manifest's own `mediaType` when it sent
    /// none).
    pub content_type: String,
    /// The sha256 of `bytes`.
    pub digest: Digest,
}

impl FetchedManifest {
    pub fn parse(&self) -> Result<Manifest, String> {
        Manifest::parse(&self.bytes, Some(&self.content_type))
    }

    /// The descriptor of this manifest.
    pub fn descriptor(&self) -> Descriptor {
        Descriptor::new(&self.content_type, self.digest.clone(), self.bytes.len() as u64)
    }
}

/// The media type to record for manifest bytes: what the registry said unless it is generic,
/// else the manifest's `mediaType`, else by shape.
fn media_type_of(bytes: &[u8], content_type: Option<&str>) -> String {
    let declared = content_type.map(|c| c.split(';').next().unwrap_or(c).trim()).filter(|c| {
        !c.is_empty() && *c != "application/json" && *c != "text/plain" && *c != "application/octet-stream"
    });
    if let Some(c) = declared {
        return c.to_string();
    }
    match Manifest::parse(bytes, None) {
        Ok(Manifest::Index(i)) => i.content_type().to_string(),
        Ok(Manifest::Image(m)) => m.content_type().to_string(),
        Err(_) => media::OCI_MANIFEST.to_string(),
    }
}

impl Client {
    /// A `GET`/`HEAD` of the manifest `r` names, accepting every manifest type.
    fn manifest_req<'a>(&self, method: &'static str, r: &'a Reference, what: String) -> Req<'a> {
        Req::new(
            method,
            self.url(r, &format!("manifests/{}", r.tag_or_digest())),
            r.api_host(),
            Scope::new(&r.repository, Access::Pull),
            what,
        )
        .header("Accept", media::MANIFEST_ACCEPT)
    }

    /// Fetches the manifest `r` names (its digest, else its tag, else `latest`); `None` when the
    /// registry does not have it (`404`).
    pub fn get_manifest(&self, r: &Reference) -> Result<Option<FetchedManifest>, Failure> {
        let req = self.manifest_req("GET", r, format!("fetch manifest `{r}`"));
        let Some(answer) = self.send(&req)?.found(&req, &[])? else { return Ok(None) };
        let content_type = answer.header("content-type").map(str::to_string);
        let bytes = answer.bytes(MANIFEST_LIMIT, &req)?;
        let digest = Digest::of(&bytes);
        if let Some(want) = &r.digest {
            if want != &digest {
                return Err(Failure::verify(format!(
                    "manifest `{r}` from the registry has digest `{digest}`; refusing it"
                )));
            }
        }
        let content_type = media_type_of(&bytes, content_type.as_deref());
        Ok(Some(FetchedManifest { bytes, content_type, digest }))
    }

    /// The descriptor of the manifest `r` names (`HEAD`; a `GET` when the registry does not
    /// send `Docker-Content-Digest`); `None` when it does not exist.
    pub fn head_manifest(&self, r: &Reference) -> Result<Option<Descriptor>, Failure> {
        let req = self.manifest_req("HEAD", r, format!("check for manifest `{r}`"));
        let Some(answer) = self.send(&req)?.found(&req, &[])? else { return Ok(None) };
        let digest = answer.header("docker-content-digest").and_then(|d| Digest::parse(d.trim()).ok());
        let size = answer.header("content-length").and_then(|l| l.trim().parse::<u64>().ok());
        let content_type = answer
            .header("content-type")
            .map(|c| c.split(';').next().unwrap_or(c).trim().to_string())
            .filter(|c| media::is_index(c) || media::is_manifest(c) || c.starts_with("application/vnd."));
        answer.drain();
        match (digest, size, content_type) {
            (Some(digest), Some(size), Some(media_type)) => {
                if let Some(want) = &r.digest {
                    if want != &digest {
                        return Err(Failure::verify(format!(
                            "manifest `{r}` is `{digest}` according to the registry; refusing it"
                        )));
                    }
                }
                Ok(Some(Descriptor::new(&media_type, digest, size)))
            }
            _ => Ok(self.get_manifest(r)?.map(|m| m.descriptor())),
        }
    }

    /// Pushes manifest bytes under a tag or their digest; returns their digest.
    pub fn put_manifest(
        &self,
        repo: &Reference,
        tag_or_digest: &str,
        bytes: &[u8],
        content_type: &str,
    ) -> Result<Digest, Failure> {
        let digest = Digest::of(bytes);
        if tag_or_digest.starts_with("sha256:") {
            let want = Digest::parse(tag_or_digest).map_err(Failure::usage)?;
            if want != digest {
                return Err(Failure::internal(format!(
                    "cannot push manifest `{}@{want}`: its bytes have digest `{digest}`",
                    repo.name()
                )));
            }
        } else if !valid_tag(tag_or_digest) {
            return Err(Failure::usage(format!(
                "cannot push manifest to `{}:{tag_or_digest}`: `{tag_or_digest}` is not a valid tag",
                repo.name()
            ))
            .with_hint("tags are 1-128 of letters, digits, `_`, `.` and `-`, not starting with `.` or `-`"));
        }
        let sep = if tag_or_digest.starts_with("sha256:") { '@' } else { ':' };
        let req = Req::new(
            "PUT",
            self.url(repo, &format!("manifests/{tag_or_digest}")),
            repo.api_host(),
            Scope::new(&repo.repository, Access::Push),
            format!("push manifest `{}{sep}{tag_or_digest}`", repo.name()),
        )
        .header("Content-Type", content_type)
        .body(super::send::Body::Bytes(bytes));
        let answer = self.send(&req)?;
        if !(200..=299).contains(&answer.status) {
            return Err(answer.unexpected(&req));
        }
        let stored = answer.header("docker-content-digest").and_then(|d| Digest::parse(d.trim()).ok());
        answer.drain();
        if let Some(stored) = stored {
            if stored != digest {
                return Err(Failure::publish(format!(
                    "{}: the registry stored manifest `{digest}` as `{stored}`",
                    req.what
                )));
            }
        }
        Ok(digest)
    }

    /// Deletes the manifest `digest` (and so every tag on it); `false` when it did not exist.
    pub fn delete_manifest(&self, repo: &Reference, digest: &Digest) -> Result<bool, Failure> {
        let req = Req::new(
            "DELETE",
            self.url(repo, &format!("manifests/{digest}")),
            repo.api_host(),
            Scope::new(&repo.repository, Access::Delete),
            format!("delete manifest `{}@{digest}`", repo.name()),
        );
        let answer = self.send(&req)?;
        if answer.status == 405 {
            return Err(answer.unexpected(&req).with_hint(
                "the registry does not allow deletes (CNCF distribution: set storage.delete.enabled: true)",
            ));
        }
        answer.exists(&req)
    }

    /// Every tag of `repo`, following `Link` pagination, sorted; empty when the repository does
    /// not exist.
    pub fn list_tags(&self, repo: &Reference) -> Result<Vec<String>, Failure> {
        let mut tags = Vec::new();
        let mut url = with_query(&self.url(repo, "tags/list"), "n", &TAGS_PAGE.to_string());
        for _ in 0..TAGS_MAX_PAGES {
            let req = Req::new(
                "GET",
                url.clone(),
                repo.api_host(),
                Scope::new(&repo.repository, Access::Pull),
                format!("list the tags of `{}`", repo.name()),
            );
            let Some(answer) = self.send(&req)?.found(&req, &[])? else { break };
            let next = answer.header("link").and_then(next_link).map(|l| self.resolve_location(repo, &l));
            let bytes = answer.bytes(TAGS_PAGE_LIMIT, &req)?;
            let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| {
                Failure::publish(format!("cannot {}: `{}` did not answer with JSON", req.what, req.shown_url()))
            })?;
            if let Some(page) = value.get("tags").and_then(|t| t.as_array()) {
                tags.extend(page.iter().filter_map(|t| t.as_str()).map(str::to_string));
            }
            match next {
                Some(n) if n != url => url = n,
                _ => break,
            }
        }
        tags.sort();
        tags.dedup();
        Ok(tags)
    }

    /// The referrers of `digest` (OCI 1.1 referrers API); `None` when the registry has no such
    /// API (`404`, `405`, or an answer that is not an image index).
    pub fn referrers(&self, repo: &Reference, digest: &Digest) -> Result<Option<ImageIndex>, Failure> {
        let req = Req::new(
            "GET",
            self.url(repo, &format!("referrers/{digest}")),
            repo.api_host(),
            Scope::new(&repo.repository, Access::Pull),
            format!("list the referrers of `{}@{digest}`", repo.name()),
        )
        .header("Accept", media::OCI_INDEX);
        let Some(answer) = self.send(&req)?.found(&req, &[405])? else { return Ok(None) };
        let content_type = answer.header("content-type").unwrap_or("").to_string();
        let bytes = answer.bytes(MANIFEST_LIMIT, &req)?;
        if !content_type.starts_with(media::OCI_INDEX) {
            return Ok(None);
        }
        Ok(serde_json::from_slice::<ImageIndex>(&bytes).ok())
    }
}

/// The target of `rel="next"` in a `Link` header: `</v2/x/tags/list?last=a&n=2>; rel="next"`.
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim().replace(' ', "");
            p == "rel=\"next\"" || p == "rel=next"
        });
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        is_next.then(|| target.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_header() {
        assert_eq!(
            next_link(r#"</v2/acme/app/tags/list?last=b&n=2>; rel="next""#).as_deref(),
            Some("/v2/acme/app/tags/list?last=b&n=2")
        );
        assert_eq!(next_link(r#"<https://x/y>; rel="prev""#), None);
    }

    #[test]
    fn media_type_falls_back_to_the_manifest() {
        let idx = ImageIndex::new(vec![]).to_bytes();
        assert_eq!(media_type_of(&idx, Some("application/json")), media::OCI_INDEX);
        assert_eq!(media_type_of(&idx, Some(media::DOCKER_INDEX)), media::DOCKER_INDEX);
        assert_eq!(media_type_of(&idx, None), media::OCI_INDEX);
    }
}
