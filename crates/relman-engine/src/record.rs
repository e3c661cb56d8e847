//! The release record for the steps that act on what was published — promote, smoke, summary,
//! yank — wherever they run: one entry point, [`load`].
//!
//! Where the record comes from, in order:
//! 1. `dist/<version>/manifest.json` of this checkout (the machine that published, or a CI job
//!    that downloaded `dist/`);
//! 2. the `manifest.json` a configured destination holds (a fresh clone, the promote job of a
//!    pipeline): every destination kind that keeps files answers
//!    [`crate::destination::Destination::published_record`] — `dir:`, `s3://`, and the release
//!    pages of GitHub, Gitea, Forgejo and GitLab. With `sign.public_key`, or a keyless
//!    `sign.certificate_identity` and `sign.trusted_root`, the record is checked against its
//!    signature first (`manifest.json.sigstore.json`, or `.sig`): an unsigned record, or one
//!    signed by another key or identity, is refused, naming where it was read;
//! 3. otherwise one made from relman.toml alone ([`Origin::Config`]: the images by name, no
//!    artifacts). Gates that compare a destination with the record skip such a record; the
//!    registry's own state decides there. The CLI says where relman looked.
//!
//! The published record is the release view (`Manifest::release_view`: no per-destination
//! states), which is what promote and the gates read.

use relman_manifest::{Failure, Manifest};
use semver::Version;

use crate::planned::{Origin, Planned, MANIFEST_FILE};
use crate::remote::Remote;
use crate::settings::Settings;

/// The record, and where relman looked when it found none (for the CLI's note).
pub struct Loaded {
    pub planned: Planned,
    /// Every place looked at, in order, when the record was made from relman.toml.
    pub looked: Vec<String>,
}

/// Loads the release record of `version` for `settings`, looking at the destinations `urls`
/// (the configured ones, or `--to`) when this checkout has none.
pub fn load(settings: Settings, version: &Version, urls: &[String], remote: &Remote) -> Result<Loaded, Failure> {
    let version_dir = settings.dist.join(version.to_string());
    let local = version_dir.join(MANIFEST_FILE);
    let planned = |settings: Settings, manifest: Manifest, origin: Origin| Planned {
        settings,
        manifest,
        version_dir: version_dir.clone(),
        lock: None,
        origin,
    };
    if local.is_file() {
        let manifest = crate::planned::load_manifest(&local)?;
        return Ok(Loaded { planned: planned(settings, manifest, Origin::Local), looked: Vec::new() });
    }
    let mut looked = vec![local.display().to_string()];
    for url in urls {
        let dest = crate::provider::open(url, remote)?;
        let Some(found) = dest.published_record(&settings, version)? else {
            looked.push(url.clone());
            continue;
        };
        let text = String::from_utf8(found.manifest.clone())
            .map_err(|_| Failure::verify(format!("`{}` is not UTF-8 text", found.location)))?;
        let manifest = Manifest::from_json(&text)
            .map_err(|e| Failure::verify(format!("`{}` is not a valid relman manifest: {e}", found.location)))?;
        if manifest.version != version.to_string() || manifest.project.name != settings.name {
            return Err(Failure::verify(format!(
                "`{}` is the record of {} {}, not of {} {version}",
                found.location, manifest.project.name, manifest.version, settings.name
            )));
        }
        check_signed(&settings, &found)?;
        return Ok(Loaded { planned: planned(settings, manifest, Origin::Published(found.location)), looked });
    }
    let manifest = Manifest {
        format_version: relman_manifest::MANIFEST_FORMAT_VERSION,
        project: relman_manifest::Project { name: settings.name.clone(), repository: settings.repository.clone() },
        version: version.to_string(),
        tag: None,
        channel: crate::version::channel_of(version),
        snapshot: false,
        commit: String::new(),
        source_date_epoch: 0,
        targets: settings.targets.clone(),
        artifacts: Vec::new(),
        images: crate::image::plan_images(&settings)?,
        destinations: Vec::new(),
        vulnerability_check: None,
    };
    Ok(Loaded { planned: planned(settings, manifest, Origin::Config), looked })
}

/// A published record is used only when it verifies with the project's key or identity (when
/// one is configured).
fn check_signed(settings: &Settings, found: &crate::destination::PublishedRecord) -> Result<(), Failure> {
    let sha = relman_install::hash::sha256_bytes(&found.manifest);
    let signature = |name: &str| {
        found.signatures.iter().find(|(n, _)| n == name).map(|(_, b)| String::from_utf8_lossy(b).to_string())
    };
    let bundle_name = format!("{MANIFEST_FILE}.sigstore.json");
    let unsigned = |who: String| {
        Failure::verify(format!(
            "the release record `{}` has no signature, and relman.toml expects records signed by {who}",
            found.location
        ))
        .with_hint("re-run `relman publish` for this version, which signs and uploads manifest.json")
    };
    let refused = |e: Failure| {
        Failure::verify(format!("the release record `{}` is not the project's: {}", found.location, e.message))
            .with_hint("the destination holds a record signed by someone else: check it before promoting from it")
    };
    if settings.keyless {
        let Some(expected) = &settings.expected_signer else { return Ok(()) };
        let policy = expected.policy()?;
        let text = signature(&bundle_name).ok_or_else(|| unsigned(policy.describe()))?;
        let bundle = relman_sign::Bundle::parse(&text, &bundle_name).map_err(refused)?;
        policy.verify_blob(&bundle, &bundle_name, MANIFEST_FILE, &sha).map_err(refused)?;
        return Ok(());
    }
    let Some(key_path) = &settings.public_key else { return Ok(()) };
    let key = relman_sign::PublicKey::from_file(key_path)?;
    let who = format!("the key {}", key.hint());
    if let Some(text) = signature(&bundle_name) {
        return relman_sign::blob::verify_bundle(&text, &bundle_name, &key, MANIFEST_FILE, &sha).map_err(refused);
    }
    let legacy = format!("{MANIFEST_FILE}.sig");
    let text = signature(&legacy).ok_or_else(|| unsigned(who))?;
    relman_sign::blob::verify_legacy(text.trim(), &legacy, &key, MANIFEST_FILE, &sha).map_err(refused)
}
