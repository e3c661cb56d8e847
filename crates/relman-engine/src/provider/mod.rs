//! Destinations by URL: [`open`] parses a URL once into the [`Destination`] of its kind, and
//! the `dir:` kind lives here ([`DirProvider`]). The trait and its values are in
//! `crate::destination` (re-exported here); `oci://` is `crate::oci`, `s3://` is `crate::s3`.

mod dir;

use std::path::PathBuf;

use relman_manifest::Failure;
use semver::Version;

pub use crate::destination::*;
use crate::planned::Planned;
pub use crate::planned::CHANNELS_FILE;
use crate::remote::Remote;
use crate::report::Reporter;

pub use dir::DirProvider;

/// Parses a destination URL once into its kind: `dir:PATH`, `oci://REGISTRY/PATH` or
/// `s3://BUCKET/PREFIX`; `remote` says how to reach registries and stores.
pub fn open(url: &str, remote: &Remote) -> Result<Box<dyn Destination>, Failure> {
    if crate::remote::is_oci(url) {
        return Ok(Box::new(crate::oci::OciDestination::parse(url, remote)?));
    }
    if url.starts_with("gitlab:") {
        return Ok(Box::new(crate::forge::GitLabDestination::parse(url, remote)?));
    }
    if crate::forge::is_forge(url) {
        return Ok(Box::new(crate::forge::ForgeDestination::parse(url, remote)?));
    }
    if crate::docs::is_docs(url) {
        return crate::docs::open(url, remote);
    }
    if url.starts_with("s3://") {
        return Ok(Box::new(crate::s3::S3Destination::parse(url, remote.s3.clone())?));
    }
    Ok(Box::new(open_dir(url)?))
}

/// Opens a `dir:` destination.
pub fn open_dir(url: &str) -> Result<DirProvider, Failure> {
    if let Some(path) = url.strip_prefix("dir:") {
        if path.is_empty() {
            return Err(
                Failure::usage(format!("destination `{url}` has no path")).with_hint("write it as dir:./releases")
            );
        }
        return Ok(DirProvider::new(url, PathBuf::from(path)));
    }
    Err(Failure::usage(format!("destination `{url}` has an unknown scheme")).with_hint(
        "use --to dir:PATH, oci://REGISTRY/PATH, s3://BUCKET/PREFIX, github:OWNER/REPO, gitea:/forgejo:/gitlab:https://HOST/OWNER/REPO, git:BRANCH or docs+dir:PATH (docs)",
    ))
}

impl Destination for DirProvider {
    fn published_record(
        &self,
        _settings: &crate::settings::Settings,
        version: &Version,
    ) -> Result<Option<crate::destination::PublishedRecord>, Failure> {
        let dir = self.root.join(version.to_string());
        let read = |name: &str| -> Result<Option<Vec<u8>>, Failure> {
            match std::fs::read(dir.join(name)) {
                Ok(b) => Ok(Some(b)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(Failure::io("read", &dir.join(name), e)),
            }
        };
        let Some(manifest) = read(crate::planned::MANIFEST_FILE)? else { return Ok(None) };
        let location = dir.join(crate::planned::MANIFEST_FILE).display().to_string();
        crate::destination::PublishedRecord::gather(location, manifest, &read).map(Some)
    }
    fn url(&self) -> &str {
        &self.url
    }
    fn kind(&self) -> Kind {
        Kind::Dir
    }
    fn preflight(&self, planned: &Planned, files: &[LocalFile]) -> Result<(), Failure> {
        self.preflight_files(&planned.manifest.version, files)
    }
    fn publish(
        &self,
        planned: &Planned,
        files: &[LocalFile],
        _identity: Option<&crate::sign::Identity>,
        reporter: &dyn Reporter,
    ) -> Result<PutOutcome, Failure> {
        self.put_release(&planned.manifest.version, files, reporter)
    }
    fn check_promote(
        &self,
        record: Option<&Planned>,
        version: &Version,
        allow_downgrade: bool,
        reporter: &dyn Reporter,
    ) -> Result<PromotePlan, Failure> {
        self.check_promote_dir(record, version, allow_downgrade, reporter)
    }
    fn yank(&self, _scope: &YankScope<'_>, version: &Version, apply: bool, force: bool) -> Result<YankReport, Failure> {
        self.yank_dir(version, apply, force)
    }
    fn state(
        &self,
        _record: Option<&Planned>,
        version: &Version,
        key: Option<&relman_sign::PublicKey>,
    ) -> Result<DestinationState, Failure> {
        self.fetch_state(version, key)
    }
}
