//! The SBOM of one platform image: the base's OS packages (dpkg / apk databases read from the
//! layers) plus the project's own packages from its lockfiles, as one SPDX 2.3 document. It is
//! attested on the platform manifest (`.att`, predicate `https://spdx.dev/Document`) and a copy
//! is kept at `dist/<version>/images/<image>-<os>-<arch>.spdx.json`.

use relman_manifest::{Failure, ImageRecord};
use relman_oci::types::Manifest as OciManifest;
use relman_oci::{Digest, Layout, Platform};

use crate::planned::{Planned, LOCKFILES};
use crate::sbom::{self, CollectOptions, LayerFile, ReleaseSubject};

pub fn platform_sbom(
    planned: &Planned,
    record: &ImageRecord,
    layout: &Layout,
    platform: &Platform,
    digest: &Digest,
) -> Result<Option<serde_json::Value>, Failure> {
    let desc = relman_oci::Descriptor::new(relman_oci::media::OCI_MANIFEST, digest.clone(), 0);
    let m = match layout.manifest(&desc).map_err(Failure::package)? {
        OciManifest::Image(m) => m,
        OciManifest::Index(_) => return Ok(None),
    };
    let layers: Vec<LayerFile> = m
        .layers
        .iter()
        .map(|l| LayerFile { path: layout.blob_path(&l.digest), media_type: l.media_type.clone() })
        .collect();
    let os = sbom::os_packages(&layers)?;
    let s = &planned.settings;
    let target = record.platforms.iter().find(|p| p.platform == platform.to_string()).and_then(|p| p.target.clone());
    let own = if LOCKFILES.iter().any(|f| s.root.join(f).is_file()) && record.source == "files" {
        sbom::collect(
            &s.root,
            &CollectOptions { target, own_version: Some(planned.manifest.version.clone()), ..Default::default() },
        )?
    } else {
        sbom::Inventory::merge(None, Vec::new())
    };
    let inventory = sbom::image_inventory(os, own);
    let mm = &planned.manifest;
    let subject = ReleaseSubject {
        name: format!("{}-{}", record.name.replace('/', "-"), platform.to_string().replace('/', "-")),
        ..ReleaseSubject::of(mm)
    };
    let text = sbom::spdx_json(&subject, &inventory);
    let dir = planned.version_dir.join("images");
    crate::fsutil::create_dir_all(&dir)?;
    crate::fsutil::write_atomic(&dir.join(format!("{}.spdx.json", subject.name)), text.as_bytes())?;
    let value = serde_json::from_str(&text).map_err(|e| Failure::internal(format!("SPDX output is not JSON: {e}")))?;
    Ok(Some(value))
}
