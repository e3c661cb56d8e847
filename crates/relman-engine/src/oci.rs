//! OCI registry destinations (`oci://REGISTRY/PATH`): images and charts.
//!
//! * [`publish`] pushes each image of the release to `REGISTRY/PATH/<image>`: blobs (skipping
//!   what the registry has), platform manifests and the index by digest, then — when a key is
//!   configured — cosign signatures (`sha256-<hex>.sig`) and attestations (`sha256-<hex>.att`:
//!   SLSA provenance, and per platform the SBOM of the image's contents) for the index and
//!   every platform manifest, the same as Sigstore bundles in OCI 1.1 referrers (fallback tag
//!   index, since registries such as distribution 2.8 have no referrers API); charts the same
//!   way (Helm's media types). Only when every image and chart is pushed and signed are the
//!   version tags written. A version tag already on another digest is refused before anything
//!   is pushed, naming both digests (and again just before tagging).
//! * [`yank`] deletes a version by digest: the index (and with it the tag) first, then the
//!   attachments, then platform manifests no other tagged index lists.
//! * [`check_promote`] checks the gates; its plan points `X.Y` and `latest` at the version's index: the
//!   same manifest bytes, so the same digest; signatures follow the digest.
//! * [`verify_image`] checks signatures per platform and attestations with the public key.

use std::collections::BTreeMap;

use relman_manifest::{Failure, ImageRecord};
use relman_oci::cosign::{self, Attachment};
use relman_oci::reference::Reference;
use relman_oci::registry::Client;
use relman_oci::transfer::{self, PushEvent};
use relman_oci::types::Manifest as OciManifest;
use relman_oci::{media, Descriptor, Digest, ImageIndex, ImageManifest, Layout, Platform};
use relman_sign::keyless::Trust;
use relman_sign::{blob, dsse, PublicKey};
use semver::Version;
use serde::Serialize;

use crate::destination::{ApplyMoves, Gate, PromotePlan, PromoteReport, PutOutcome, YankReport};
use crate::image::version_tag;
use crate::planned::Planned;
use crate::report::Reporter;

/// SLSA provenance predicate type.
pub const SLSA_PREDICATE: &str = "https://slsa.dev/provenance/v1";
/// SPDX predicate type (the SBOM of an image's contents).
pub const SPDX_PREDICATE: &str = "https://spdx.dev/Document";
/// The smoke-test result predicate relman records.
pub const SMOKE_PREDICATE: &str = "https://relman.dev/smoke/v1";
const INTOTO_PAYLOAD: &str = "application/vnd.in-toto+json";

/// A parsed `oci://REGISTRY[/PATH]` destination.
#[derive(Clone, Debug, PartialEq)]
pub struct OciDest {
    pub url: String,
    pub registry: String,
    pub path: String,
}

impl OciDest {
    pub fn parse(url: &str) -> Result<OciDest, Failure> {
        let rest = url
            .strip_prefix("oci://")
            .ok_or_else(|| Failure::usage(format!("`{url}` is not an oci:// destination")))?;
        let rest = rest.trim_end_matches('/');
        let (registry, path) = rest.split_once('/').unwrap_or((rest, ""));
        refuse_credentials(url)?;
        if registry.is_empty() || rest.contains('@') || path.rsplit('/').next().is_some_and(|p| p.contains(':')) {
            return Err(Failure::usage(format!("destination `{url}` is not like oci://REGISTRY/PATH"))
                .with_hint("e.g. oci://ghcr.io/acme or oci://127.0.0.1:5000/acme (no tag: relman tags by version)"));
        }
        let d = OciDest { url: url.to_string(), registry: registry.to_string(), path: path.to_string() };
        d.repo("probe")?;
        Ok(d)
    }

    /// The repository of image (or chart) `name` at this destination.
    pub fn repo(&self, name: &str) -> Result<Reference, Failure> {
        let text = if self.path.is_empty() {
            format!("{}/{name}", self.registry)
        } else {
            format!("{}/{}/{name}", self.registry, self.path)
        };
        Reference::parse(&text).map_err(|e| Failure::usage(format!("destination `{}`: {e}", self.url)))
    }
}

/// An `oci://REGISTRY/PATH` destination: images and charts, pushed by digest, signed, tagged
/// last; promote moves `X.Y` and `latest`.
pub struct OciDestination {
    dest: OciDest,
    client: Client,
}

impl OciDestination {
    /// Parses `oci://REGISTRY/PATH`; `remote` says how to talk to the registry.
    pub fn parse(url: &str, remote: &crate::remote::Remote) -> Result<OciDestination, Failure> {
        Ok(OciDestination { dest: OciDest::parse(url)?, client: remote.registry_client() })
    }

    fn record<'a>(&self, record: Option<&'a Planned>) -> Result<&'a Planned, Failure> {
        record.ok_or_else(|| {
            Failure::usage(format!("promoting at `{}` needs the project's release record", self.dest.url))
                .with_hint("run relman promote in the project directory (a clone at the tag will do)")
        })
    }
}

impl crate::destination::Destination for OciDestination {
    fn url(&self) -> &str {
        &self.dest.url
    }
    fn ci_needs(&self) -> crate::destination::CiNeeds {
        crate::destination::CiNeeds { registry: Some(self.dest.registry.clone()), ..Default::default() }
    }
    fn kind(&self) -> crate::destination::Kind {
        crate::destination::Kind::Oci
    }
    fn accepts(&self, planned: &Planned) -> Result<(), Failure> {
        if crate::planned::has_oci_content(planned) {
            return Ok(());
        }
        Err(Failure::usage(format!("destination `{}`: the release has no image or chart to push", self.dest.url))
            .with_hint("add an [[image]] or [[chart]] to relman.toml, or publish files to a dir: destination"))
    }
    fn signs(&self, planned: &Planned) -> bool {
        crate::planned::has_oci_content(planned)
    }
    fn needs_record(&self) -> bool {
        true
    }
    fn preflight(&self, planned: &Planned, _files: &[crate::destination::LocalFile]) -> Result<(), Failure> {
        preflight(planned, &self.dest.url, &self.client)
    }
    fn publish(
        &self,
        planned: &Planned,
        files: &[crate::destination::LocalFile],
        identity: Option<&crate::sign::Identity>,
        reporter: &dyn Reporter,
    ) -> Result<PutOutcome, Failure> {
        let mut outcome = publish(planned, &self.dest.url, &self.client, identity, reporter)?.0;
        if let Some(what) = put_record(planned, &self.dest, &self.client, files)? {
            outcome.written.push(what);
        }
        Ok(outcome)
    }
    fn published_record(
        &self,
        settings: &crate::settings::Settings,
        version: &Version,
    ) -> Result<Option<crate::destination::PublishedRecord>, Failure> {
        published_record(&self.dest, &self.client, settings, &version.to_string())
    }
    fn check_promote(
        &self,
        record: Option<&Planned>,
        version: &Version,
        allow_downgrade: bool,
        reporter: &dyn Reporter,
    ) -> Result<PromotePlan, Failure> {
        let planned = self.record(record)?;
        let key = match &planned.settings.public_key {
            Some(p) if !planned.settings.keyless => Some(PublicKey::from_file(p)?),
            _ => None,
        };
        let identity = match &planned.settings.expected_signer {
            Some(e) if planned.settings.keyless => Some(e.policy()?),
            _ => None,
        };
        let trust = key.as_ref().map(Trust::Key).or(identity.as_ref().map(Trust::Identity));
        check_promote(planned, &self.dest.url, &self.client, version, allow_downgrade, trust, reporter)
    }
    fn yank(
        &self,
        scope: &crate::destination::YankScope<'_>,
        version: &Version,
        apply: bool,
        force: bool,
    ) -> Result<YankReport, Failure> {
        if scope.repositories.is_empty() {
            return Err(Failure::config(format!(
                "relman.toml has no [[image]] or [[chart]] to yank at `{}`",
                self.dest.url
            )));
        }
        let empty = RecordedImages::new();
        yank(&self.client, scope.repositories, scope.recorded.unwrap_or(&empty), &self.dest.url, version, apply, force)
    }
    fn state(
        &self,
        record: Option<&Planned>,
        version: &Version,
        key: Option<&PublicKey>,
    ) -> Result<crate::destination::DestinationState, Failure> {
        use crate::destination::{Asset, Pointer};
        let planned = self.record(record)?;
        let client = &self.client;
        let tag = version_tag(&version.to_string());
        let minor = format!("{}.{}", version.major, version.minor);
        let mut state = crate::destination::DestinationState {
            destination: self.dest.url.clone(),
            assets: Vec::new(),
            pointers: Vec::new(),
            problems: Vec::new(),
            verify_commands: Vec::new(),
        };
        let mut repos: Vec<(String, Option<String>)> =
            planned.manifest.images.iter().map(|i| (i.name.clone(), i.digest.clone())).collect();
        for c in &planned.settings.charts {
            let m = &planned.manifest;
            let meta = crate::chart::load_for_release(&planned.settings.root, c, &m.version, m.snapshot)?;
            repos.push((crate::chart::repository_name(c, &meta.name), None));
        }
        for (name, expected) in repos {
            let repo = self.dest.repo(&name)?;
            let found = client.head_manifest(&repo.with_tag(&tag))?.map(|d| d.digest.to_string());
            let status = match (&expected, &found) {
                (_, None) => "missing",
                (Some(e), Some(f)) if e != f => "different",
                (Some(_), Some(_)) => "ok",
                (None, Some(_)) => "unchecked",
            };
            match status {
                "missing" => state.problems.push(format!("{}:{tag} is not in the registry", repo.name())),
                "different" => state.problems.push(format!(
                    "{}:{tag} is {}, the release record says {}",
                    repo.name(),
                    found.as_deref().unwrap_or("?"),
                    expected.as_deref().unwrap_or("?")
                )),
                _ => {}
            }
            if let (Some(key), Some(_)) = (key, &found) {
                let report = verify_image(client, &repo.with_tag(&tag), Trust::Key(key))?;
                state.problems.extend(report.problems.iter().map(|p| format!("{}: {p}", repo.name())));
            }
            state.assets.push(Asset { name: format!("{}:{tag}", repo.name()), status, expected, found });
            for t in [minor.as_str(), "latest"] {
                let target = client.head_manifest(&repo.with_tag(t))?.map(|d| d.digest.to_string());
                state.pointers.push(Pointer { name: format!("{}:{t}", repo.name()), target });
            }
            state.verify_commands.push(format!("relman verify oci://{}:{tag} --key <public key>", repo.name()));
        }
        Ok(state)
    }
}

pub use crate::remote::{is_oci, refuse_credentials};

/// One image as pushed.
#[derive(Clone, Debug, Serialize)]
pub struct PushedImage {
    pub name: String,
    pub repository: String,
    pub tag: String,
    pub digest: String,
    pub blobs_uploaded: usize,
    pub blobs_skipped: usize,
    pub blobs_mounted: usize,
    pub bytes_uploaded: u64,
    pub signed: bool,
    /// False when the version tag was already there with this digest.
    pub tagged: bool,
}

/// What the image stage built, read back from the version directory.
struct LocalImage {
    record: ImageRecord,
    layout: Layout,
    index: Descriptor,
    index_bytes: Vec<u8>,
    platforms: Vec<Descriptor>,
}

fn local_image(planned: &Planned, record: &ImageRecord) -> Result<LocalImage, Failure> {
    let Some(digest) = &record.digest else {
        return Err(Failure::publish(format!("image `{}` has not been built", record.name))
            .with_hint("run `relman package` (or `relman release`) first"));
    };
    let dir = planned.version_dir.join(&record.layout);
    let layout = Layout::open(&dir).map_err(|e| Failure::publish(format!("image `{}`: {e}", record.name)))?;
    let digest = Digest::parse(digest).map_err(Failure::verify)?;
    let index_bytes = layout.read_verified(&digest).map_err(|e| {
        Failure::verify(format!("image `{}`: {e}", record.name)).with_hint("rebuild it with `relman package`")
    })?;
    let index: ImageIndex = serde_json::from_slice(&index_bytes)
        .map_err(|e| Failure::verify(format!("image `{}`: index {digest} is not an image index: {e}", record.name)))?;
    Ok(LocalImage {
        record: record.clone(),
        layout,
        index: Descriptor::new(media::OCI_INDEX, digest, index_bytes.len() as u64),
        platforms: index.manifests.clone(),
        index_bytes,
    })
}

/// A manifest to be tagged once everything is pushed and signed.
#[derive(Clone)]
struct ToTag {
    repo: Reference,
    tag: String,
    digest: Digest,
    bytes: Vec<u8>,
    media_type: &'static str,
    /// The tag already pointed at this digest before publishing began.
    already: bool,
    /// What to do when the tag is on another digest.
    hint: &'static str,
}

impl ToTag {
    /// Refuses a tag on another digest, naming both. Returns whether the tag is there with
    /// this digest.
    fn check(&self, client: &Client, what: &str) -> Result<bool, Failure> {
        match client.head_manifest(&self.repo.with_tag(&self.tag))? {
            Some(remote) if remote.digest != self.digest => Err(Failure::publish(format!(
                "{}:{} already points at {}, not this release's {what} {}",
                self.repo.name(),
                self.tag,
                remote.digest,
                self.digest
            ))
            .with_hint(self.hint)),
            Some(_) => Ok(true),
            None => Ok(false),
        }
    }
}

/// A packaged chart as Helm's OCI artifact, ready to push.
struct ChartPush {
    file: String,
    path: std::path::PathBuf,
    config: Vec<u8>,
    layer: Descriptor,
    manifest: ToTag,
}

/// Pushes every image and chart of the release to `url`, in the order the module docs give:
/// every version tag is checked first (one on another digest refuses the whole publish before
/// anything is pushed); then every image and chart is pushed and signed; then — last — the
/// version tags are written, each checked again.
pub fn publish(
    planned: &Planned,
    url: &str,
    client: &Client,
    identity: Option<&crate::sign::Identity>,
    reporter: &dyn Reporter,
) -> Result<(PutOutcome, Vec<PushedImage>), Failure> {
    let (dest, tag, images, charts, image_tags, extra_tags) = check_tags(planned, url, client)?;
    publish_checked(planned, url, identity, reporter, client, dest, tag, images, charts, image_tags, extra_tags)
}

/// The preflight of an OCI destination, writing nothing: every version tag this release would
/// write is absent or already on this release's digest (credentials that cannot read the
/// repositories fail here too), and no two things would share a name.
pub fn preflight(planned: &Planned, url: &str, client: &Client) -> Result<(), Failure> {
    check_tags(planned, url, client).map(|_| ())
}

type Checked = (OciDest, String, Vec<LocalImage>, Vec<ChartPush>, Vec<ToTag>, Vec<ToTag>);

/// Step 1 of [`publish`]: what would be tagged, checked against the registry.
fn check_tags(planned: &Planned, url: &str, client: &Client) -> Result<Checked, Failure> {
    let dest = OciDest::parse(url)?;
    let tag = version_tag(&planned.manifest.version);
    let images: Vec<LocalImage> =
        planned.manifest.images.iter().map(|r| local_image(planned, r)).collect::<Result<_, _>>()?;
    let mut charts = Vec::new();
    for a in planned.manifest.artifacts.iter().filter(|a| a.kind == relman_manifest::ArtifactKind::Chart) {
        charts.push(chart_push(planned, &dest, &a.name, &planned.artifact_path(&a.name))?);
    }

    // 1. Refuse a moved version tag before pushing anything anywhere.
    let mut image_tags = Vec::new();
    for img in &images {
        let mut t = ToTag {
            repo: dest.repo(&img.record.name)?,
            tag: tag.clone(),
            digest: img.index.digest.clone(),
            bytes: img.index_bytes.clone(),
            media_type: media::OCI_INDEX,
            already: false,
            hint: "a published version is immutable: release a new version (or `relman yank` this one first)",
        };
        t.already = t.check(client, "image index")?;
        image_tags.push(t);
    }
    // [[image]] tags: more immutable names of the same index (`v1.2.3`), checked the same way.
    let mut extra_tags = Vec::new();
    for (img, t) in images.iter().zip(&image_tags) {
        for tmpl in image_tag_templates(planned, &img.record.name)? {
            let mut x = ToTag { tag: version_tag(&tmpl.replace("{version}", &planned.manifest.version)), ..t.clone() };
            if x.tag == tag {
                continue;
            }
            x.already = x.check(client, "image index")?;
            extra_tags.push(x);
        }
    }
    for c in &mut charts {
        c.manifest.already = c.manifest.check(client, "chart")?;
    }
    let mut seen = std::collections::BTreeSet::new();
    for t in image_tags.iter().chain(&extra_tags).chain(charts.iter().map(|c| &c.manifest)) {
        let name = format!("{}:{}", t.repo.name(), t.tag);
        if !seen.insert(name.clone()) {
            return Err(Failure::config(format!("two things of this release would be pushed as `{name}`"))
                .with_hint("give the image and the chart different names ([[image]] name, Chart.yaml name)"));
        }
    }
    Ok((dest, tag, images, charts, image_tags, extra_tags))
}

/// The `tags` of the image named `name` (each must contain `{version}`).
fn image_tag_templates(planned: &Planned, name: &str) -> Result<Vec<String>, Failure> {
    let s = &planned.settings;
    let Some(cfg) = s.images.iter().find(|c| crate::image::image_name(s, c) == name) else { return Ok(Vec::new()) };
    for t in &cfg.tags {
        if !t.contains("{version}") {
            return Err(Failure::config(format!(
                "image `{name}`: tag `{t}` in [[image]] tags has no {{version}}: such a tag would move"
            ))
            .with_hint("moving tags (X.Y, latest) are set by `relman promote`; use e.g. \"v{version}\""));
        }
    }
    Ok(cfg.tags.clone())
}

/// Steps 2 and 3 of [`publish`], after [`check_tags`].
#[allow(clippy::too_many_arguments)]
fn publish_checked(
    planned: &Planned,
    url: &str,
    key: Option<&crate::sign::Identity>,
    reporter: &dyn Reporter,
    client: &Client,
    dest: OciDest,
    tag: String,
    images: Vec<LocalImage>,
    charts: Vec<ChartPush>,
    image_tags: Vec<ToTag>,
    extra_tags: Vec<ToTag>,
) -> Result<(PutOutcome, Vec<PushedImage>), Failure> {
    let client = client.clone();

    // 2. Push and sign (by digest: nothing tagged yet).
    let mut pushed = Vec::new();
    for (img, t) in images.iter().zip(&image_tags) {
        let repo = &t.repo;
        let total: u64 = img.record.platforms.iter().filter_map(|p| p.size).sum();
        reporter.work_start(&format!("push {}", img.record.name), total);
        let report = {
            let advance = ByteProgress::new(reporter);
            transfer::push_layout(&client, &img.layout, &img.index, repo, None, None, &|e| advance.event(e))?
        };
        reporter.work_end();
        relman_install::crashpoint::point(&format!("pushed:{}", img.record.name));
        if let Some(key) = key {
            let provenance = image_provenance(planned, repo, img)?;
            let mut subjects =
                vec![Subject { desc: img.index.clone(), bytes: img.index_bytes.clone(), platform: None }];
            for p in &img.platforms {
                let bytes = img.layout.read_verified(&p.digest).map_err(Failure::verify)?;
                let desc = Descriptor::new(&p.media_type, p.digest.clone(), p.size);
                subjects.push(Subject { desc, bytes, platform: p.platform.clone() });
            }
            let sbom = |platform: &Platform, digest: &Digest| image_sbom(planned, img, platform, digest);
            attach_all(&client, repo, planned, &subjects, &provenance, &sbom, key, reporter)?;
            relman_install::crashpoint::point(&format!("signed:{}", img.record.name));
        }
        reporter.step(&format!(
            "{}@{} ({} blobs uploaded, {} already there{})",
            repo.name(),
            img.index.digest,
            report.blobs_uploaded,
            report.blobs_skipped,
            if key.is_some() { ", signed and attested" } else { "" }
        ));
        pushed.push(PushedImage {
            name: img.record.name.clone(),
            repository: repo.name(),
            tag: tag.clone(),
            digest: img.index.digest.to_string(),
            blobs_uploaded: report.blobs_uploaded,
            blobs_skipped: report.blobs_skipped,
            blobs_mounted: report.blobs_mounted,
            bytes_uploaded: report.bytes_uploaded,
            signed: key.is_some(),
            tagged: !t.already,
        });
    }
    for c in &charts {
        push_chart(planned, &client, c, key, reporter)?;
    }

    // 3. The extra tags, then the version tags, last.
    let mut written = Vec::new();
    let mut skipped = Vec::new();
    for t in extra_tags.iter().chain(&image_tags).chain(charts.iter().map(|c| &c.manifest)) {
        let name = format!("{}:{}", t.repo.name(), t.tag);
        if t.already || t.check(&client, "manifest")? {
            skipped.push(name);
            continue;
        }
        client.put_manifest(&t.repo, &t.tag, &t.bytes, t.media_type)?;
        relman_install::crashpoint::point(&format!("tagged:{name}"));
        reporter.step(&format!("{name} → {}", t.digest));
        written.push(name);
    }
    let location = dest.repo("").map(|r| r.name()).unwrap_or_else(|_| url.to_string());
    Ok((
        PutOutcome {
            destination: url.to_string(),
            location: location.trim_end_matches('/').to_string(),
            written,
            skipped,
        },
        pushed,
    ))
}

/// Turns [`PushEvent`]s into the reporter's byte increments: `BlobProgress` says how far one
/// blob is (cumulative, from 0 again when a transfer restarts), a skipped or mounted blob
/// counts whole.
struct ByteProgress<'a> {
    reporter: &'a dyn Reporter,
    seen: std::sync::Mutex<BTreeMap<Digest, u64>>,
}

impl<'a> ByteProgress<'a> {
    fn new(reporter: &'a dyn Reporter) -> Self {
        ByteProgress { reporter, seen: Default::default() }
    }

    fn event(&self, e: PushEvent) {
        let mut seen = self.seen.lock().expect("progress lock");
        let (digest, upto) = match e {
            PushEvent::BlobProgress { digest, bytes } => (digest, bytes),
            PushEvent::BlobDone { digest, size, .. } => (digest, size),
            _ => return,
        };
        let last = seen.entry(digest).or_insert(0);
        if upto > *last {
            self.reporter.work_advance(upto - *last);
        }
        *last = upto;
    }
}

/// The chart `file` (packaged at `path`) as Helm's OCI artifact for `<dest>/<chart name>`,
/// tagged with the chart version.
fn chart_push(planned: &Planned, dest: &OciDest, file: &str, path: &std::path::Path) -> Result<ChartPush, Failure> {
    let (cfg, meta) = planned
        .settings
        .charts
        .iter()
        .map(|c| {
            let m = &planned.manifest;
            crate::chart::load_for_release(&planned.settings.root, c, &m.version, m.snapshot).map(|meta| (c, meta))
        })
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .find(|(_, m)| m.archive_name() == file)
        .ok_or_else(|| Failure::internal(format!("chart `{file}` is not configured")))?;
    let config = crate::chart::helm_config_json(&meta);
    let (layer_digest, layer_size) = Digest::of_file(path).map_err(|e| Failure::io("read", path, e))?;
    let mut layer = Descriptor::new(media::HELM_CHART, layer_digest, layer_size);
    layer.annotations.insert("org.opencontainers.image.title".into(), file.to_string());
    let mut manifest = ImageManifest::new(Descriptor::of(media::HELM_CONFIG, &config), vec![layer.clone()]);
    manifest.annotations =
        crate::chart::oci_annotations(&meta, &relman_manifest::time::rfc3339(planned.manifest.source_date_epoch));
    let bytes = manifest.to_bytes();
    Ok(ChartPush {
        file: file.to_string(),
        path: path.to_path_buf(),
        config,
        layer,
        manifest: ToTag {
            repo: dest.repo(&crate::chart::repository_name(cfg, &meta.name))?,
            tag: version_tag(&meta.version),
            digest: Digest::of(&bytes),
            bytes,
            media_type: media::OCI_MANIFEST,
            already: false,
            hint: "a published chart version is immutable: bump the chart's version (and the release's)",
        },
    })
}

/// Pushes a chart's blobs and manifest by digest and, with a key, signs and attests it like an
/// image (provenance about the chart manifest and the `.tgz`). The tag is the caller's.
fn push_chart(
    planned: &Planned,
    client: &Client,
    c: &ChartPush,
    key: Option<&crate::sign::Identity>,
    reporter: &dyn Reporter,
) -> Result<(), Failure> {
    let m = &c.manifest;
    client.push_blob_bytes(&m.repo, &c.config)?;
    client.push_blob_file(&m.repo, &c.layer.digest, c.layer.size, &c.path, None)?;
    client.put_manifest(&m.repo, &m.digest.to_string(), &m.bytes, m.media_type)?;
    if let Some(key) = key {
        let sha = |d: &Digest| relman_manifest::Sha256::parse(d.hex()).expect("hex");
        let provenance = oci_provenance(
            planned,
            vec![
                crate::provenance::Archive { name: m.repo.name(), sha256: sha(&m.digest) },
                crate::provenance::Archive { name: c.file.clone(), sha256: sha(&c.layer.digest) },
            ],
        )?;
        let subject = Subject {
            desc: Descriptor::new(m.media_type, m.digest.clone(), m.bytes.len() as u64),
            bytes: m.bytes.clone(),
            platform: None,
        };
        attach_all(client, &m.repo, planned, &[subject], &provenance, &|_, _| Ok(None), key, reporter)?;
    }
    Ok(())
}

/// A manifest that gets signatures and attestations: its descriptor, its bytes, and its
/// platform (`None` for an index or a chart).
struct Subject {
    desc: Descriptor,
    bytes: Vec<u8>,
    platform: Option<Platform>,
}

/// The SPDX document of a platform manifest's contents, when there is one.
type SbomOf<'a> = dyn Fn(&Platform, &Digest) -> Result<Option<serde_json::Value>, Failure> + 'a;

/// For every subject: a simple-signing `.sig`, a `.att` with the SLSA `provenance` statement
/// (and, for platform manifests, the SBOM `sbom` gives), and the same as Sigstore bundle
/// referrers (a message signature over the manifest bytes, the DSSE bundles).
#[allow(clippy::too_many_arguments)]
fn attach_all(
    client: &Client,
    repo: &Reference,
    planned: &Planned,
    subjects: &[Subject],
    provenance: &str,
    sbom: &SbomOf,
    identity: &crate::sign::Identity,
    reporter: &dyn Reporter,
) -> Result<(), Failure> {
    // Keyless: who signs this release (read from its signed files when there are some, so a
    // re-publish with everything signed asks for no certificate).
    let me = identity.keyless_identity(&planned.version_dir, reporter)?.map(|(i, _)| i);
    let mut todo = Vec::new();
    for s in subjects {
        // The `.sig` is written last for each subject: keyless (a new certificate each run), a
        // signature by this release's identity there means the subject is done — a re-publish
        // logs and uploads nothing new.
        match &me {
            Some(me) if signed_by_identity(client, repo, &s.desc.digest, me)? => {}
            _ => todo.push(s),
        }
    }
    if todo.is_empty() {
        return Ok(());
    }
    let key = identity.signer(reporter)?;
    let chain = key.chain_pem();
    // Keyless: each layer carries its certificate, the chain and the Rekor bundle, as cosign's.
    let keyless = |mut a: Attachment, bundle: &relman_sign::Bundle| {
        a.annotations.extend(relman_sign::keyless::cosign::annotations(bundle, &chain));
        a
    };
    let prov_env = dsse::sign(key, INTOTO_PAYLOAD, provenance.as_bytes())?;
    let created = relman_manifest::time::rfc3339(planned.manifest.source_date_epoch);
    for Subject { desc: subject, bytes, platform } in todo {
        // One provenance per subject: a re-publish from another CI run (another invocation id
        // in the statement) must not add a second one.
        let mut atts = Vec::new();
        if !has_provenance(client, repo, &subject.digest, identity)? {
            atts.push((
                keyless(
                    Attachment::attestation(prov_env.envelope.to_json().into_bytes(), SLSA_PREDICATE),
                    &prov_env.bundle,
                ),
                prov_env.bundle_json(),
                SLSA_PREDICATE,
            ));
        }
        // The SBOM of a platform manifest; for an index, each of its platforms' SBOMs about the
        // index too, so what a tag names has its packages (`cosign download attestation` on a
        // tag resolves to the index).
        let sboms: Vec<serde_json::Value> = match platform {
            Some(platform) => sbom(platform, &subject.digest)?.into_iter().collect(),
            None => {
                let mut all = Vec::new();
                for s in subjects.iter().filter(|s| s.platform.is_some()) {
                    if let Some(doc) = sbom(s.platform.as_ref().expect("filtered"), &s.desc.digest)? {
                        all.push(doc);
                    }
                }
                all
            }
        };
        for sbom in sboms {
            {
                let stmt = serde_json::json!({
                    "_type": "https://in-toto.io/Statement/v1",
                    "subject": [{"name": repo.name(), "digest": {"sha256": subject.digest.hex()}}],
                    "predicateType": SPDX_PREDICATE,
                    "predicate": sbom,
                });
                let env = dsse::sign(key, INTOTO_PAYLOAD, serde_json::to_string(&stmt).expect("json").as_bytes())?;
                atts.push((
                    keyless(Attachment::attestation(env.envelope.to_json().into_bytes(), SPDX_PREDICATE), &env.bundle),
                    env.bundle_json(),
                    SPDX_PREDICATE,
                ));
            }
        }
        let adds: Vec<Attachment> = atts.iter().map(|a| a.0.clone()).collect();
        put_attachments(client, repo, &cosign::attestation_tag(&subject.digest), &adds)?;
        // The same as Sigstore bundles in OCI 1.1 referrers (with the fallback tag index).
        let message = blob::sign_bytes(key, bytes)?;
        let message = message.bundle_json().into_bytes();
        let mut referrers = vec![(cosign::bundle_referrer(subject, &message, None, &created), vec![message])];
        for (_, bundle, predicate) in &atts {
            let bundle = bundle.clone().into_bytes();
            referrers.push((cosign::bundle_referrer(subject, &bundle, Some(predicate), &created), vec![bundle]));
        }
        put_referrers(client, repo, subject, &referrers)?;
        let payload = cosign::simple_signing_payload(&repo.name(), &subject.digest);
        let sig = blob::sign_bytes(key, &payload)?;
        put_attachments(
            client,
            repo,
            &cosign::signature_tag(&subject.digest),
            &[keyless(Attachment::signature(payload, &sig.legacy()), &sig.bundle)],
        )?;
    }
    Ok(())
}

/// Adds `adds` to the attachment manifest at `tag` (signatures or attestations), keeping what
/// is there; `Ok(false)` when every one was already attached.
pub fn put_attachments(client: &Client, repo: &Reference, tag: &str, adds: &[Attachment]) -> Result<bool, Failure> {
    put_attachments_replacing(client, repo, tag, adds, None)
}

/// [`put_attachments`], but first dropping the attestations of `predicate_type` already there
/// (a smoke result replaces the earlier one: the newest result is the only one).
pub fn put_attachments_replacing(
    client: &Client,
    repo: &Reference,
    tag: &str,
    adds: &[Attachment],
    predicate_type: Option<&str>,
) -> Result<bool, Failure> {
    let fetched = client.get_manifest(&repo.with_tag(tag))?;
    let existing = match &fetched {
        Some(f) => match OciManifest::parse(&f.bytes, Some(&f.content_type)) {
            Ok(OciManifest::Image(m)) => Some(m),
            _ => return Err(not_ours(repo, tag, &f.digest, "an image manifest")),
        },
        None => None,
    };
    let kept = existing.clone().map(|mut m| {
        if let Some(p) = predicate_type {
            m.layers.retain(|l| l.annotations.get(cosign::PREDICATE_TYPE_ANNOTATION).map(String::as_str) != Some(p));
        }
        m
    });
    let removed = match (&existing, &kept) {
        (Some(e), Some(k)) => e.layers.len() != k.layers.len(),
        _ => false,
    };
    let am = cosign::add_attachments(kept.as_ref(), adds);
    let bytes = am.manifest.to_bytes();
    if fetched.as_ref().is_some_and(|f| f.bytes == bytes) || (!am.changed && !removed) {
        return Ok(false);
    }
    client.push_blob_bytes(repo, &am.config)?;
    for a in adds {
        client.push_blob_bytes(repo, &a.bytes)?;
    }
    client.put_manifest(repo, tag, &bytes, media::OCI_MANIFEST)?;
    Ok(true)
}

/// An attachment tag holding something relman would have to overwrite to add to it.
fn not_ours(repo: &Reference, tag: &str, digest: &Digest, expected: &str) -> Failure {
    Failure::publish(format!(
        "{}:{tag} is {digest}, which is not {expected}; refusing to replace what another tool put there",
        repo.name()
    ))
    .with_hint("inspect it (skopeo inspect --raw docker://…); delete it if it is debris")
}

/// The artifact type of the release record a registry holds (see [`put_record`]).
pub const RECORD_ARTIFACT_TYPE: &str = "application/vnd.relman.release-record.v1+json";
/// The media type of `manifest.json` as a layer of the record.
const RECORD_MANIFEST_MEDIA: &str = "application/vnd.relman.manifest.v1+json";
/// A record layer larger than this is not read.
const RECORD_LAYER_LIMIT: u64 = 16 << 20;
const TITLE: &str = "org.opencontainers.image.title";

/// Where a registry keeps the record of `version`: the repository and version tag of the
/// release's first image, or, with no image, of its first chart (its chart version).
fn record_home(
    dest: &OciDest,
    settings: &crate::settings::Settings,
    version: &str,
    snapshot: bool,
) -> Result<Option<(Reference, String)>, Failure> {
    if let Some(img) = crate::image::plan_images(settings)?.first() {
        return Ok(Some((dest.repo(&img.name)?, version_tag(version))));
    }
    if let Some(cfg) = settings.charts.first() {
        let meta = crate::chart::load_for_release(&settings.root, cfg, version, snapshot)?;
        return Ok(Some((dest.repo(&crate::chart::repository_name(cfg, &meta.name))?, version_tag(&meta.version))));
    }
    Ok(None)
}

/// Pushes the release record — `manifest.json` and the signature files beside it, as the
/// file destinations hold them — as an OCI 1.1 referrer of the version's first image index
/// (or first chart), artifact type [`RECORD_ARTIFACT_TYPE`], each layer titled with its file
/// name; listed in the referrers fallback tag as the signatures are, and removed with them by
/// `yank`. A promote, summary or yank from a fresh clone reads it back
/// ([`published_record`]). Returns what was written (`None`: already there, or no record).
fn put_record(
    planned: &Planned,
    dest: &OciDest,
    client: &Client,
    files: &[crate::destination::LocalFile],
) -> Result<Option<String>, Failure> {
    let m = &planned.manifest;
    let Some((repo, tag)) = record_home(dest, &planned.settings, &m.version, m.snapshot)? else { return Ok(None) };
    let wanted = std::iter::once(crate::planned::MANIFEST_FILE).chain(crate::planned::MANIFEST_SIGNATURES);
    let mut layers = Vec::new();
    let mut blobs = Vec::new();
    for name in wanted {
        let Some(f) = files.iter().find(|f| f.name == name) else { continue };
        let bytes = std::fs::read(&f.path).map_err(|e| Failure::io("read", &f.path, e))?;
        let media_type = if name == crate::planned::MANIFEST_FILE {
            RECORD_MANIFEST_MEDIA
        } else if name.ends_with(".sigstore.json") {
            media::SIGSTORE_BUNDLE
        } else {
            "text/plain"
        };
        let mut d = Descriptor::of(media_type, &bytes);
        d.annotations.insert(TITLE.into(), name.to_string());
        layers.push(d);
        blobs.push(bytes);
    }
    if layers.is_empty() {
        return Ok(None);
    }
    let subject = client.head_manifest(&repo.with_tag(&tag))?.ok_or_else(|| {
        Failure::publish(format!("`{}:{tag}` is not there after it was pushed", repo.name()))
            .with_hint("the registry lost a manifest it accepted: re-run `relman publish`")
    })?;
    let mut r = ImageManifest::new(Descriptor::empty_json(), layers);
    r.artifact_type = Some(RECORD_ARTIFACT_TYPE.into());
    r.subject = Some(Descriptor::new(&subject.media_type, subject.digest.clone(), subject.size));
    r.annotations
        .insert("org.opencontainers.image.created".into(), relman_manifest::time::rfc3339(m.source_date_epoch));
    r.annotations.insert("org.opencontainers.image.version".into(), m.version.clone());
    let digest = Digest::of(&r.to_bytes());
    let written = put_referrers(client, &repo, &subject, &[(r, blobs)])?;
    Ok(written.then(|| format!("{}@{digest} (release record)", repo.name())))
}

/// The release record of `version` a registry holds ([`put_record`]): found through the
/// referrers API and the fallback tag of the version's first image (or chart); the newest
/// when several were pushed (a re-signed record). `None` when there is none.
pub fn published_record(
    dest: &OciDest,
    client: &Client,
    settings: &crate::settings::Settings,
    version: &str,
) -> Result<Option<crate::destination::PublishedRecord>, Failure> {
    let Some((repo, tag)) = record_home(dest, settings, version, false)? else { return Ok(None) };
    let Some(subject) = client.head_manifest(&repo.with_tag(&tag))? else { return Ok(None) };
    let mut listed: Vec<Descriptor> = Vec::new();
    if let Some(f) = client.get_manifest(&repo.with_tag(&cosign::fallback_tag(&subject.digest)))? {
        if let Ok(OciManifest::Index(i)) = OciManifest::parse(&f.bytes, Some(&f.content_type)) {
            listed.extend(i.manifests);
        }
    }
    if let Some(i) = client.referrers(&repo, &subject.digest)? {
        listed.extend(
            i.manifests.into_iter().filter(|d| !listed.iter().any(|l| l.digest == d.digest)).collect::<Vec<_>>(),
        );
    }
    let Some(found) = listed.iter().rev().find(|d| d.artifact_type.as_deref() == Some(RECORD_ARTIFACT_TYPE)) else {
        return Ok(None);
    };
    let location = format!("{}@{} (release record of {}:{tag})", repo.name(), found.digest, repo.name());
    let bad = |why: &str| {
        Failure::verify(format!("the release record `{location}` {why}"))
            .with_hint("inspect it (skopeo inspect --raw docker://…); re-run `relman publish` to push it again")
    };
    let fetched =
        client.get_manifest(&repo.with_digest(&found.digest))?.ok_or_else(|| bad("is listed but not there"))?;
    let Ok(OciManifest::Image(record)) = OciManifest::parse(&fetched.bytes, Some(&fetched.content_type)) else {
        return Err(bad("is not an image manifest"));
    };
    if record.subject.as_ref().map(|s| &s.digest) != Some(&subject.digest) {
        return Err(bad("refers to another manifest"));
    }
    let mut manifest = None;
    let mut signatures = Vec::new();
    for layer in &record.layers {
        let Some(title) = layer.annotations.get(TITLE) else { continue };
        let known =
            title == crate::planned::MANIFEST_FILE || crate::planned::MANIFEST_SIGNATURES.contains(&title.as_str());
        if !known {
            continue;
        }
        if layer.size > RECORD_LAYER_LIMIT {
            return Err(bad(&format!("has a `{title}` of {} bytes", layer.size)));
        }
        let bytes = client.get_blob(&repo, &layer.digest)?;
        if title == crate::planned::MANIFEST_FILE {
            manifest = Some(bytes);
        } else {
            signatures.push((title.clone(), bytes));
        }
    }
    let manifest = manifest.ok_or_else(|| bad("holds no manifest.json"))?;
    Ok(Some(crate::destination::PublishedRecord { location, manifest, signatures }))
}

/// Pushes referrers (their blobs, empty config, manifest by digest), then adds them to the
/// fallback tag index (the referrer before the index that lists it). True when the index
/// changed (a referrer was not listed yet).
fn put_referrers(
    client: &Client,
    repo: &Reference,
    subject: &Descriptor,
    referrers: &[(ImageManifest, Vec<Vec<u8>>)],
) -> Result<bool, Failure> {
    let tag = cosign::fallback_tag(&subject.digest);
    let mut index = match client.get_manifest(&repo.with_tag(&tag))? {
        Some(f) => match OciManifest::parse(&f.bytes, Some(&f.content_type)) {
            Ok(OciManifest::Index(i)) => Some(i),
            _ => return Err(not_ours(repo, &tag, &f.digest, "an image index")),
        },
        None => None,
    };
    let mut changed = false;
    for (r, blobs) in referrers {
        let bytes = r.to_bytes();
        let digest = Digest::of(&bytes);
        if client.head_manifest(&repo.with_digest(&digest))?.is_none() {
            client.push_blob_bytes(repo, media::EMPTY_JSON)?;
            for blob in blobs {
                client.push_blob_bytes(repo, blob)?;
            }
            client.put_manifest(repo, &digest.to_string(), &bytes, media::OCI_MANIFEST)?;
        }
        let (next, c) = cosign::add_to_fallback(index.as_ref(), r);
        changed |= c;
        index = Some(next);
    }
    if changed {
        if let Some(index) = index {
            client.put_manifest(repo, &tag, &index.to_bytes(), media::OCI_INDEX)?;
        }
    }
    Ok(changed)
}

/// The SLSA provenance statement of an image: subjects are the index and the platform manifests.
fn image_provenance(planned: &Planned, repo: &Reference, img: &LocalImage) -> Result<String, Failure> {
    let mut archives = vec![crate::provenance::Archive {
        name: repo.name(),
        sha256: relman_manifest::Sha256::parse(img.index.digest.hex()).expect("hex"),
    }];
    for p in &img.platforms {
        let plat = p.platform.as_ref().map(|p| p.to_string()).unwrap_or_default();
        archives.push(crate::provenance::Archive {
            name: format!("{}@{plat}", repo.name()),
            sha256: relman_manifest::Sha256::parse(p.digest.hex()).expect("hex"),
        });
    }
    oci_provenance_with(planned, archives, image_dependencies(planned, img)?)
}

/// What an image was made from, beside the source: its base image by digest (`base`, or each
/// pinned `FROM` of its Dockerfile) and the Dockerfile itself by sha256.
fn image_dependencies(planned: &Planned, img: &LocalImage) -> Result<Vec<serde_json::Value>, Failure> {
    let s = &planned.settings;
    let mut deps = Vec::new();
    let base_dep = |reference: &str| -> Option<serde_json::Value> {
        let (name, digest) = reference.rsplit_once('@')?;
        let hex = digest.strip_prefix("sha256:")?;
        Some(
            serde_json::json!({"uri": format!("oci://{name}@{digest}"), "digest": {"sha256": hex}, "name": "base image"}),
        )
    };
    if let Some(b) = img.record.base.as_deref().and_then(base_dep) {
        deps.push(b);
    }
    let cfg = s.images.iter().find(|c| crate::image::image_name(s, c) == img.record.name);
    if let Some(file) = cfg.and_then(|c| c.dockerfile.as_deref()) {
        let path = s.root.join(file);
        let text = crate::fsutil::read_to_string(&path)?;
        for (_, from, _) in crate::image::base::dockerfile_froms(&text) {
            if let Some(b) = base_dep(&from) {
                if !deps.contains(&b) {
                    deps.push(b);
                }
            }
        }
        let sha = relman_install::hash::sha256_bytes(text.as_bytes());
        let uri = match (&s.repository, &planned.manifest.tag) {
            (Some(repo), Some(tag)) => format!("git+{repo}@refs/tags/{tag}#{file}"),
            _ => file.to_string(),
        };
        deps.push(serde_json::json!({"uri": uri, "digest": {"sha256": sha.as_str()}, "name": "Dockerfile"}));
    }
    Ok(deps)
}

/// The release's SLSA provenance statement about `subjects` (pushed manifests and files).
fn oci_provenance(planned: &Planned, subjects: Vec<crate::provenance::Archive>) -> Result<String, Failure> {
    oci_provenance_with(planned, subjects, Vec::new())
}

fn oci_provenance_with(
    planned: &Planned,
    subjects: Vec<crate::provenance::Archive>,
    dependencies: Vec<serde_json::Value>,
) -> Result<String, Failure> {
    let m = &planned.manifest;
    let input = crate::provenance::ProvenanceInput {
        release: crate::sbom::ReleaseSubject::of(m),
        tag: m.tag.clone().unwrap_or_default(),
        targets: m.targets.clone(),
        archives: subjects,
        toolchain: BTreeMap::new(),
        relman_version: env!("CARGO_PKG_VERSION").to_string(),
        ci: planned.settings.ci.clone(),
        started_on: None,
        finished_on: None,
        dependencies,
    };
    crate::provenance::statement_json(&input)
}

/// The SPDX document of one platform image's contents (OS packages + the binaries' own).
fn image_sbom(
    planned: &Planned,
    img: &LocalImage,
    platform: &Platform,
    digest: &Digest,
) -> Result<Option<serde_json::Value>, Failure> {
    crate::image::sbom::platform_sbom(planned, &img.record, &img.layout, platform, digest)
}

/// One gate per check, evaluated from what the registry holds (nothing written); the plan
/// moves `X.Y` (and `latest`) when all pass.
pub fn check_promote(
    planned: &Planned,
    url: &str,
    client: &Client,
    version: &Version,
    allow_downgrade: bool,
    trust: Option<Trust<'_>>,
    _reporter: &dyn Reporter,
) -> Result<PromotePlan, Failure> {
    let public_key = match trust {
        Some(Trust::Key(k)) => Some(k),
        _ => None,
    };
    let dest = OciDest::parse(url)?;
    let tag = version_tag(&version.to_string());
    let mut gates = Vec::new();
    let mut fetched = Vec::new();
    let mut missing = Vec::new();
    for r in &planned.manifest.images {
        let repo = dest.repo(&r.name)?;
        match client.get_manifest(&repo.with_tag(&tag))? {
            Some(f) if r.digest.as_deref().is_none_or(|d| d == f.digest.to_string()) => {
                fetched.push((r.clone(), repo, f))
            }
            Some(f) => missing.push(format!(
                "{}:{tag} is {} (manifest says {})",
                repo.name(),
                f.digest,
                r.digest.as_deref().unwrap_or("?")
            )),
            None => missing.push(format!("{}:{tag} is not in the registry", repo.name())),
        }
    }
    gates.push(Gate {
        name: "published",
        passed: missing.is_empty(),
        detail: if missing.is_empty() { format!("{} images at {tag}", fetched.len()) } else { missing.join("; ") },
    });
    if let Some(trust) = trust {
        let mut problems = Vec::new();
        for (_, repo, f) in &fetched {
            let report = verify_image(client, &repo.with_digest(&f.digest), trust)?;
            problems.extend(report.problems.iter().map(|p| format!("{}: {p}", repo.name())));
        }
        gates.push(Gate {
            name: "signed",
            passed: problems.is_empty(),
            detail: if problems.is_empty() {
                "every signature and attestation verifies".into()
            } else {
                problems.join("; ")
            },
        });
    }
    let smoke_needed: Vec<&(ImageRecord, Reference, relman_oci::registry::FetchedManifest)> = fetched
        .iter()
        .filter(|(r, _, _)| {
            planned.settings.images.iter().any(|c| {
                crate::image::image_name(&planned.settings, c) == r.name
                    && c.smoke.as_ref().is_some_and(|s| s.required.unwrap_or(true))
            })
        })
        .collect();
    if !smoke_needed.is_empty() {
        let mut problems = Vec::new();
        for (_, repo, f) in smoke_needed {
            match public_key {
                None => problems.push(format!("{}: no public key to check the smoke result with", repo.name())),
                Some(key) => {
                    if let Err(e) = recorded_pass(client, repo, &f.digest, key) {
                        problems.push(e);
                    }
                }
            }
        }
        gates.push(Gate {
            name: "smoke",
            passed: problems.is_empty(),
            detail: if problems.is_empty() { "smoke test passed (signed result)".into() } else { problems.join("; ") },
        });
    }
    gates.push(crate::gates::stable(version));
    // Never backwards (read from the indexes' version annotation): `X.Y` must not hold a newer
    // patch. A maintenance release of an older line (1.2.6 while latest is 2.0.0) moves only
    // its `X.Y`; `latest` stays on the newer line, even with --allow-downgrade (which moves
    // `X.Y`, and `latest` within the same line, backwards).
    let minor = format!("{}.{}", version.major, version.minor);
    let mut previous = None;
    let mut older = Vec::new();
    let mut latest_stays = Vec::new();
    for (_, repo, _) in &fetched {
        if let Some(v) = tagged_version(client, repo, &minor)? {
            if v > *version {
                older.push(format!("{}:{minor} is {v}", repo.name()));
            }
        }
        if let Some(v) = tagged_version(client, repo, "latest")? {
            let newer_line = (v.major, v.minor) > (version.major, version.minor);
            if v > *version && (newer_line || !allow_downgrade) {
                latest_stays.push(format!("{}:latest stays at {v}", repo.name()));
            }
            previous = Some(v.to_string());
        }
    }
    gates.push(Gate {
        name: "not-older",
        passed: older.is_empty() || allow_downgrade,
        detail: match (older.is_empty(), latest_stays.is_empty()) {
            (false, _) => older.join("; "),
            (true, true) => format!("newer than {minor} and latest"),
            (true, false) => format!("newer than {minor}; {} (newer)", latest_stays.join("; ")),
        },
    });
    let passed = gates.iter().all(|g| g.passed);
    // The moves, decided now: every tag that does not already name the version's index.
    let mut moves = Vec::new();
    if passed {
        for (_, repo, f) in &fetched {
            let keep_latest = latest_stays.iter().any(|s| s.starts_with(&format!("{}:", repo.name())));
            let tags: &[&str] = if keep_latest { &[minor.as_str()] } else { &[minor.as_str(), "latest"] };
            moves.push((repo.clone(), tags.iter().map(|t| t.to_string()).collect::<Vec<_>>(), f.clone()));
        }
    }
    // Every tag this promote is about, per repository: `repo:X.Y`, and `repo:latest` unless a
    // newer version holds it.
    let pointers: Vec<String> =
        moves.iter().flat_map(|(repo, tags, _)| tags.iter().map(move |t| format!("{}:{t}", repo.name()))).collect();
    let report = PromoteReport::checked(url, &version.to_string(), gates, previous, pointers, latest_stays);
    let apply: Option<ApplyMoves> = passed.then(|| {
        let client = client.clone();
        let version = version.clone();
        Box::new(move |reporter: &dyn Reporter, moved: &mut Vec<String>| {
            for (repo, tags, f) in &moves {
                // The promotion is recorded first (an immutable-by-convention tag on the same
                // index); --allow-downgrade withdraws the newer ones of this line.
                client.put_manifest(repo, &promoted_tag(&version), &f.bytes, &f.content_type)?;
                if allow_downgrade {
                    for (v, t) in promoted_versions(&client, repo)? {
                        if v > version && (v.major, v.minor) == (version.major, version.minor) {
                            withdraw(&client, repo, &t)?;
                        }
                    }
                }
                for t in tags {
                    let current = client.head_manifest(&repo.with_tag(t))?;
                    if current.as_ref().map(|d| &d.digest) != Some(&f.digest) {
                        client.put_manifest(repo, t, &f.bytes, &f.content_type)?;
                        relman_install::crashpoint::point(&format!("moved:{}:{t}", repo.name()));
                        moved.push(format!("{}:{t}", repo.name()));
                    }
                }
                converge(&client, repo, &version, tags, moved)?;
                reporter.step(&format!("{}: {} → {}", repo.name(), tags.join(" and "), f.digest));
            }
            Ok(())
        }) as ApplyMoves
    });
    Ok(PromotePlan { report, apply })
}

/// The tag that records that `version` was promoted in a repository (on the version's index).
fn promoted_tag(version: &Version) -> String {
    format!("promoted-{}", version_tag(&version.to_string()))
}

/// What a `promoted-*` tag of a version that `--allow-downgrade` took back names: the same
/// bytes every time (registries cannot delete a tag alone, so it is re-pointed).
fn withdrawn_manifest() -> ImageManifest {
    let mut m = ImageManifest::new(Descriptor::empty_json(), vec![Descriptor::empty_json()]);
    m.artifact_type = Some("application/vnd.relman.promotion-withdrawn.v1+json".into());
    m
}

fn withdraw(client: &Client, repo: &Reference, tag: &str) -> Result<(), Failure> {
    client.push_blob_bytes(repo, media::EMPTY_JSON)?;
    client.put_manifest(repo, tag, &withdrawn_manifest().to_bytes(), media::OCI_MANIFEST)?;
    Ok(())
}

/// Every `promoted-*` tag of `repo`, with its version (withdrawn ones included).
fn promoted_versions(client: &Client, repo: &Reference) -> Result<Vec<(Version, String)>, Failure> {
    Ok(client
        .list_tags(repo)?
        .into_iter()
        .filter_map(|t| {
            let v = t.strip_prefix("promoted-").and_then(|v| Version::parse(v).ok())?;
            Some((v, t))
        })
        .collect())
}

/// After its moves, a promote makes each of its tags name the newest promoted version that
/// tag may hold (`latest`: any; `X.Y`: that line), as the `promoted-*` tags record them, and
/// re-reads until a pass writes nothing. Registries have no compare-and-swap: a concurrent
/// promote of an older version may have written after a newer one; the last promote to finish
/// this pass leaves every tag on the newest (ARCHITECTURE.md, "Concurrent promotes").
fn converge(
    client: &Client,
    repo: &Reference,
    version: &Version,
    tags: &[String],
    moved: &mut Vec<String>,
) -> Result<(), Failure> {
    for _ in 0..20 {
        let mut promoted = promoted_versions(client, repo)?;
        promoted.sort_by(|a, b| b.0.cmp(&a.0));
        let withdrawn = Digest::of(&withdrawn_manifest().to_bytes());
        let mut wrote = false;
        for t in tags {
            let line = (t != "latest").then_some((version.major, version.minor));
            let mut want = None;
            for (_, marker) in promoted.iter().filter(|(v, _)| line.is_none_or(|l| (v.major, v.minor) == l)) {
                match client.get_manifest(&repo.with_tag(marker))? {
                    Some(f) if f.digest != withdrawn => {
                        want = Some(f);
                        break;
                    }
                    _ => {}
                }
            }
            let Some(want) = want else { continue };
            let current = client.head_manifest(&repo.with_tag(t))?;
            if current.as_ref().map(|d| &d.digest) != Some(&want.digest) {
                client.put_manifest(repo, t, &want.bytes, &want.content_type)?;
                let name = format!("{}:{t}", repo.name());
                if !moved.contains(&name) {
                    moved.push(name);
                }
                wrote = true;
            }
        }
        if !wrote {
            return Ok(());
        }
    }
    Err(Failure::publish(format!("`{}`: its tags kept changing while promoting {version}", repo.name()))
        .with_hint("another promote is moving them: run `relman promote` again once it finished"))
}

/// The version an index at `repo:tag` says it is (`org.opencontainers.image.version`).
fn tagged_version(client: &Client, repo: &Reference, tag: &str) -> Result<Option<Version>, Failure> {
    Ok(client.get_manifest(&repo.with_tag(tag))?.and_then(|f| {
        serde_json::from_slice::<ImageIndex>(&f.bytes)
            .ok()
            .and_then(|i| i.annotations.get("org.opencontainers.image.version").cloned())
            .and_then(|v| Version::parse(&v).ok())
    }))
}

/// What `verify_image` found for one image.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ImageVerifyReport {
    pub reference: String,
    pub digest: String,
    /// Per subject (the index, then each platform): what verified.
    pub subjects: Vec<SubjectReport>,
    pub problems: Vec<String>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct SubjectReport {
    pub platform: String,
    pub digest: String,
    pub signatures: usize,
    pub attestations: Vec<String>,
}

/// Verifies the image at `reference` (tag or digest): for the index and every platform, at
/// least one simple-signing signature by `key` naming that digest, and a provenance
/// attestation signed by `key` whose subjects include it; platforms also an SBOM attestation.
pub fn verify_image(client: &Client, reference: &Reference, key: Trust<'_>) -> Result<ImageVerifyReport, Failure> {
    let Some(root) = client.get_manifest(reference)? else {
        return Err(Failure::verify(format!("{reference}: no such image in the registry")));
    };
    let repo = Reference { tag: None, digest: None, ..reference.clone() };
    let mut report =
        ImageVerifyReport { reference: reference.to_string(), digest: root.digest.to_string(), ..Default::default() };
    let parsed = OciManifest::parse(&root.bytes, Some(&root.content_type));
    // An index, a Helm chart (no SBOM: its contents are templates), or a single image.
    let label = match &parsed {
        Ok(OciManifest::Index(_)) => "index",
        Ok(OciManifest::Image(m)) if m.config.media_type == media::HELM_CONFIG => "chart",
        _ => "manifest",
    };
    let mut subjects = vec![(label.to_string(), root.digest.clone())];
    if let Ok(OciManifest::Index(i)) = parsed {
        for d in &i.manifests {
            let plat = d.platform.as_ref().map(|p| p.to_string()).unwrap_or_else(|| "unknown".into());
            // Check that the platform manifest exists and has the digest the index says.
            if client.get_manifest(&repo.with_digest(&d.digest))?.is_none() {
                report.problems.push(format!("{plat}: manifest {} is missing", d.digest));
                continue;
            }
            subjects.push((plat, d.digest.clone()));
        }
    }
    for (plat, digest) in subjects {
        let mut s = SubjectReport { platform: plat.clone(), digest: digest.to_string(), ..Default::default() };
        // Signatures.
        match fetch_attachment(client, &repo, &cosign::signature_tag(&digest))? {
            None => report.problems.push(format!("{plat}: no signature ({})", cosign::signature_tag(&digest))),
            Some(m) => {
                let mut bad = Vec::new();
                for l in &m.layers {
                    if l.media_type != media::COSIGN_SIMPLE_SIGNING {
                        continue;
                    }
                    let payload = client.get_blob(&repo, &l.digest)?;
                    let sig = l.annotations.get(media::COSIGN_SIGNATURE_ANNOTATION).cloned().unwrap_or_default();
                    match check_simple_signing(&payload, &sig, &l.annotations, &repo, &digest, key) {
                        Ok(()) => s.signatures += 1,
                        Err(e) => bad.push(e),
                    }
                }
                if s.signatures == 0 {
                    let why = if bad.is_empty() { "no simple-signing layer".to_string() } else { bad.join(", ") };
                    report.problems.push(format!("{plat}: no valid signature by {} ({why})", key.describe()));
                }
            }
        }
        // Attestations.
        match fetch_attachment(client, &repo, &cosign::attestation_tag(&digest))? {
            None => report.problems.push(format!("{plat}: no attestation ({})", cosign::attestation_tag(&digest))),
            Some(m) => {
                for l in &m.layers {
                    if l.media_type != media::DSSE_ENVELOPE {
                        continue;
                    }
                    let bytes = client.get_blob(&repo, &l.digest)?;
                    let text = String::from_utf8_lossy(&bytes).to_string();
                    let predicate = l.annotations.get(cosign::PREDICATE_TYPE_ANNOTATION).cloned().unwrap_or_default();
                    match check_attestation(&text, &l.annotations, &digest, key) {
                        Ok(pt) if pt == predicate || predicate.is_empty() => s.attestations.push(pt),
                        Ok(pt) => {
                            report.problems.push(format!("{plat}: attestation says {pt} but is annotated {predicate}"))
                        }
                        Err(e) => report.problems.push(format!("{plat}: attestation {}: {e}", l.digest.short())),
                    }
                }
                if !s.attestations.iter().any(|p| p == SLSA_PREDICATE) {
                    report.problems.push(format!("{plat}: no valid SLSA provenance attestation"));
                }
                if plat != "index" && plat != "chart" && !s.attestations.iter().any(|p| p == SPDX_PREDICATE) {
                    report.problems.push(format!("{plat}: no valid SBOM attestation"));
                }
            }
        }
        report.subjects.push(s);
    }
    Ok(report)
}

/// Whether the `.att` of `digest` already holds an SLSA provenance about it signed by `key`.
fn has_provenance(
    client: &Client,
    repo: &Reference,
    digest: &Digest,
    identity: &crate::sign::Identity,
) -> Result<bool, Failure> {
    let Some(m) = fetch_attachment(client, repo, &cosign::attestation_tag(digest))? else { return Ok(false) };
    for l in &m.layers {
        let predicate = l.annotations.get(cosign::PREDICATE_TYPE_ANNOTATION).map(String::as_str);
        if l.media_type != media::DSSE_ENVELOPE || predicate != Some(SLSA_PREDICATE) {
            continue;
        }
        let ours = match identity.key() {
            Some(key) => {
                let text = String::from_utf8_lossy(&client.get_blob(repo, &l.digest)?).to_string();
                check_attestation(&text, &l.annotations, digest, Trust::Key(key.public_key()))
                    .is_ok_and(|p| p == SLSA_PREDICATE)
            }
            // Keyless: a provenance certified for this release's identity is there (each run
            // has its own certificate; the identity is what stays).
            None => identity.keyless_signer().is_some_and(|me| {
                relman_sign::keyless::cosign::layer_identity(&l.annotations).is_some_and(|i| i == me.identity)
            }),
        };
        if ours {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether `digest`'s `.sig` holds a keyless signature certified for the identity signing now.
fn signed_by_identity(client: &Client, repo: &Reference, digest: &Digest, me: &str) -> Result<bool, Failure> {
    let Some(m) = fetch_attachment(client, repo, &cosign::signature_tag(digest))? else { return Ok(false) };
    Ok(m.layers.iter().any(|l| relman_sign::keyless::cosign::layer_identity(&l.annotations).is_some_and(|i| i == me)))
}

fn fetch_attachment(client: &Client, repo: &Reference, tag: &str) -> Result<Option<ImageManifest>, Failure> {
    Ok(match client.get_manifest(&repo.with_tag(tag))? {
        Some(f) => match OciManifest::parse(&f.bytes, Some(&f.content_type)) {
            Ok(OciManifest::Image(m)) => Some(m),
            _ => None,
        },
        None => None,
    })
}

/// Verifies a simple-signing layer: it claims this digest in this repository, and its signature
/// verifies. cosign leaves `docker-reference` unchecked so that copies keep their signatures;
/// relman compares the repository path (`acme/tool`), so a signature made for the same digest
/// in another repository (a fork's, a sibling image's) does not vouch for this one. The
/// registry host is not compared: one registry answers under several names (a mirror, a
/// pull-through proxy, `localhost:5000` vs `127.0.0.1:5000`), and who signed is what the key or
/// identity check decides.
fn check_simple_signing(
    payload: &[u8],
    sig_b64: &str,
    annotations: &BTreeMap<String, String>,
    repo: &Reference,
    digest: &Digest,
    trust: Trust<'_>,
) -> Result<(), String> {
    let claim = cosign::parse_simple_signing(payload)?;
    if &claim.digest != digest {
        return Err(format!("signature is for {}, not {digest}", claim.digest));
    }
    let path = |r: &str| Reference::parse(r).map(|p| p.repository).unwrap_or_else(|_| r.to_string());
    if path(&claim.docker_reference) != repo.repository {
        return Err(format!(
            "signature names the repository `{}`, not `{}` (critical.identity.docker-reference)",
            claim.docker_reference,
            repo.name()
        ));
    }
    let sha = blob::sha256_bytes(payload);
    match trust {
        Trust::Key(key) => {
            blob::verify_legacy(sig_b64.trim(), "signature", key, "image manifest", &sha).map_err(|f| f.message)?
        }
        Trust::Identity(policy) => {
            let message =
                relman_sign::bundle::MessageSignature { message_digest: None, signature: sig_b64.trim().to_string() };
            let bundle = relman_sign::keyless::cosign::bundle_of_layer(
                annotations,
                relman_sign::bundle::Content::MessageSignature(&message),
            )
            .ok_or("the signature carries no certificate (signed with a key?)")?;
            policy.verify_blob(&bundle, "signature", "image manifest", &sha).map_err(|f| f.message)?;
        }
    }
    Ok(())
}

/// Verifies a DSSE attestation (by key, or keyless from its layer's annotations); its
/// statement must name `digest`. Returns the predicate type.
fn check_attestation(
    text: &str,
    annotations: &BTreeMap<String, String>,
    digest: &Digest,
    trust: Trust<'_>,
) -> Result<String, String> {
    let env = dsse::Envelope::parse(text, "attestation").map_err(|f| f.message)?;
    let verified = match trust {
        Trust::Key(key) => env.verify(key, "attestation").map_err(|f| f.message)?,
        Trust::Identity(policy) => {
            let bundle = relman_sign::keyless::cosign::bundle_of_layer(
                annotations,
                relman_sign::bundle::Content::DsseEnvelope(&env),
            )
            .ok_or("the attestation carries no certificate (signed with a key?)")?;
            policy.verify_dsse(&bundle, "attestation").map_err(|f| f.message)?.0
        }
    };
    let stmt: serde_json::Value =
        serde_json::from_slice(&verified.payload).map_err(|e| format!("statement is not JSON: {e}"))?;
    let names = stmt
        .get("subject")
        .and_then(|s| s.as_array())
        .map(|a| a.iter().any(|s| s.pointer("/digest/sha256").and_then(|d| d.as_str()) == Some(digest.hex())))
        .unwrap_or(false);
    if !names {
        return Err(format!("its subjects do not include {digest}"));
    }
    Ok(stmt.get("predicateType").and_then(|p| p.as_str()).unwrap_or("").to_string())
}

/// The manifests that a tag other than one on `root` (cosign's `sha256-…` attachment tags
/// aside) points at or lists: manifest digest → one such tag. Tags are HEADed; each other
/// digest is fetched once.
fn manifests_listed_elsewhere(
    client: &Client,
    repo: &Reference,
    root: &Digest,
) -> Result<BTreeMap<Digest, String>, Failure> {
    let mut listed = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    for t in client.list_tags(repo)? {
        if t.starts_with("sha256-") {
            continue;
        }
        let Some(head) = client.head_manifest(&repo.with_tag(&t))? else { continue };
        if &head.digest == root || !seen.insert(head.digest.clone()) {
            continue;
        }
        listed.entry(head.digest.clone()).or_insert_with(|| t.clone());
        if media::is_index(&head.media_type) {
            if let Some(f) = client.get_manifest(&repo.with_digest(&head.digest))? {
                if let Ok(OciManifest::Index(i)) = OciManifest::parse(&f.bytes, Some(&f.content_type)) {
                    for d in i.manifests {
                        listed.entry(d.digest).or_insert_with(|| t.clone());
                    }
                }
            }
        }
    }
    Ok(listed)
}

/// Each image's index digest and its platform manifests (digest, platform), by image name.
pub use crate::destination::RecordedImages;

/// Plans (and with `apply`, performs) the removal of `version`'s images from `url`, by digest:
/// the index first (which removes the version tag, so a yank cut short never leaves a tagged
/// image without its signatures), then the attachments (signatures, attestations, referrers
/// and their fallback index), then the platform manifests no other tag lists. Distribution
/// deletes by digest only, which removes every tag on that digest: a digest also tagged
/// `latest` or `X.Y` is refused unless `force`. `recorded` (image name → index digest and
/// platform manifests with their platforms, from the release record) lets a yank cut short be
/// finished once the version tag is gone.
pub fn yank(
    client: &Client,
    names: &[String],
    recorded: &RecordedImages,
    url: &str,
    version: &Version,
    apply: bool,
    force: bool,
) -> Result<YankReport, Failure> {
    let dest = OciDest::parse(url)?;
    let tag = version_tag(&version.to_string());
    let mut report = YankReport { version: version.to_string(), ..Default::default() };
    let mut deletions: Vec<(Reference, Digest, String)> = Vec::new();
    for name in names {
        let repo = dest.repo(name)?;
        // The index and its platform manifests: from the registry, or — when the tag is gone
        // (a yank cut short after deleting the index) — from the release record.
        let (root_digest, children, index_there) = match client.get_manifest(&repo.with_tag(&tag))? {
            Some(root) => {
                let children: Vec<(Digest, String)> = match OciManifest::parse(&root.bytes, Some(&root.content_type)) {
                    Ok(OciManifest::Index(i)) => i
                        .manifests
                        .iter()
                        .map(|d| (d.digest.clone(), d.platform.as_ref().map(|p| p.to_string()).unwrap_or_default()))
                        .collect(),
                    _ => Vec::new(),
                };
                (root.digest, children, true)
            }
            None => match recorded.get(name) {
                Some(r)
                    if client.head_manifest(&repo.with_tag(&cosign::signature_tag(&r.0)))?.is_some()
                        || client.head_manifest(&repo.with_digest(&r.0))?.is_some() =>
                {
                    let there = client.head_manifest(&repo.with_digest(&r.0))?.is_some();
                    (r.0.clone(), r.1.clone(), there)
                }
                _ => {
                    report.left.push(format!("{}:{tag}: not in the registry", repo.name()));
                    continue;
                }
            },
        };
        let minor = format!("{}.{}", version.major, version.minor);
        for t in ["latest", minor.as_str()] {
            if client.head_manifest(&repo.with_tag(t))?.is_some_and(|d| d.digest == root_digest) {
                report.blocked_by.push(format!("{}:{t}", repo.name()));
            }
        }
        // Platform manifests another tagged index still lists (builders' layouts are copied
        // byte for byte, so two versions can share them) stay, with their attachments.
        let shared = manifests_listed_elsewhere(client, &repo, &root_digest)?;
        let mut subjects = vec![(root_digest.clone(), "index".to_string())];
        for (d, p) in &children {
            match shared.get(d) {
                Some(other) => report.left.push(format!(
                    "{}@{d}: {p} manifest, also listed by {}:{other}",
                    repo.name(),
                    repo.name()
                )),
                None => subjects.push((d.clone(), format!("{p} manifest"))),
            }
        }
        // Order: the index first (the version tag goes with it), so a yank cut short never
        // leaves a tagged image without its signatures; then each subject's attachments, then
        // the platform manifests (those still there).
        if index_there {
            deletions.push((repo.clone(), root_digest.clone(), format!("{tag} (image index)")));
        }
        for (d, what) in &subjects {
            let pairs: [(String, &str); 2] =
                [(cosign::signature_tag(d), "signatures"), (cosign::attestation_tag(d), "attestations")];
            for (t, kind) in pairs {
                if let Some(a) = client.head_manifest(&repo.with_tag(&t))? {
                    deletions.push((repo.clone(), a.digest, format!("{t} ({kind} of the {what})")));
                }
            }
            let fb = cosign::fallback_tag(d);
            if let Some(f) = client.get_manifest(&repo.with_tag(&fb))? {
                match OciManifest::parse(&f.bytes, Some(&f.content_type)) {
                    Ok(OciManifest::Index(idx)) => {
                        for r in &idx.manifests {
                            deletions.push((repo.clone(), r.digest.clone(), format!("referrer of the {what}")));
                        }
                        deletions.push((repo.clone(), f.digest, format!("{fb} (referrers index of the {what})")));
                    }
                    _ => report.left.push(format!("{}:{fb}: not a referrers index; left as it is", repo.name())),
                }
            }
        }
        for (d, what) in subjects.into_iter().skip(1) {
            if client.head_manifest(&repo.with_digest(&d))?.is_some() {
                deletions.push((repo.clone(), d, what));
            }
        }
    }
    for (repo, d, what) in &deletions {
        report.removed.push(format!("{}@{d}: {what}", repo.name()));
    }
    if !report.blocked_by.is_empty() && !force {
        report.left.extend(report.blocked_by.iter().map(|t| format!("{t} points at this version")));
        return Ok(report);
    }
    if apply {
        for (repo, d, _) in &deletions {
            client.delete_manifest(repo, d)?;
            relman_install::crashpoint::point("deleted");
        }
        report.done = true;
        report.left.push("blobs (layers, configs): the registry's garbage collector removes unreferenced ones".into());
    }
    Ok(report)
}

/// Whether the smoke result attached to `digest` passed: of the results signed by `key` about
/// `digest`, the newest decides (smoke replaces its earlier result; a registry holding several,
/// from an older relman, is read in the order they were attached). A FAILED newest result fails
/// the gate even when an earlier run passed.
pub fn recorded_pass(client: &Client, repo: &Reference, digest: &Digest, key: &PublicKey) -> Result<(), String> {
    let tag = cosign::attestation_tag(digest);
    let m = match client.get_manifest(&repo.with_tag(&tag)) {
        Ok(Some(f)) => match relman_oci::types::Manifest::parse(&f.bytes, Some(&f.content_type)) {
            Ok(relman_oci::types::Manifest::Image(m)) => m,
            _ => return Err(format!("{}: {tag} is not an attestation manifest", repo.name())),
        },
        Ok(None) => return Err(format!("{}: no smoke result recorded (run `relman smoke`)", repo.name())),
        Err(f) => return Err(f.message),
    };
    let mut newest: Option<serde_json::Value> = None;
    for l in m.layers.iter().filter(|l| l.media_type == media::DSSE_ENVELOPE) {
        if l.annotations.get(cosign::PREDICATE_TYPE_ANNOTATION).map(String::as_str) != Some(SMOKE_PREDICATE) {
            continue;
        }
        let bytes = client.get_blob(repo, &l.digest).map_err(|f| f.message)?;
        let env = dsse::Envelope::parse(&String::from_utf8_lossy(&bytes), "smoke result").map_err(|f| f.message)?;
        let Ok(v) = env.verify(key, "smoke result") else { continue };
        let stmt: serde_json::Value = serde_json::from_slice(&v.payload).map_err(|e| e.to_string())?;
        // What was signed decides, not the layer's annotation.
        let smoke = stmt.get("predicateType").and_then(|p| p.as_str()) == Some(SMOKE_PREDICATE);
        let about = stmt.get("subject").and_then(|s| s.as_array()).is_some_and(|s| {
            s.iter().any(|s| s.pointer("/digest/sha256").and_then(|d| d.as_str()) == Some(digest.hex()))
        });
        if smoke && about {
            newest = Some(stmt);
        }
    }
    match newest {
        None => Err(format!("{}: no smoke result signed by the key (run `relman smoke`)", repo.name())),
        Some(stmt) if stmt.pointer("/predicate/passed").and_then(|p| p.as_bool()) == Some(true) => Ok(()),
        Some(stmt) => Err(format!(
            "{}: the newest smoke result FAILED ({}; fix it and run `relman smoke` again)",
            repo.name(),
            stmt.pointer("/predicate/detail").and_then(|d| d.as_str()).unwrap_or("no detail")
        )),
    }
}
