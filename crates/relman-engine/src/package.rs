//! `package`: per-target archives, `checksums.txt` and `index.json`, all reproducible.
//!
//! Input: a planned manifest and the staged binaries under `dist/<version>/build/<target>/`.
//! Output: the files in `dist/<version>/`, each written to a temp file and renamed into place,
//! with size and sha256 recorded in the manifest (saved after every archive, so a killed run
//! resumes).
//!
//! Invariants: entries sorted byte-wise, directories listed explicitly, mtime =
//! `SOURCE_DATE_EPOCH`, uid = gid = 0 with empty names, modes 0755/0644; gzip header without
//! time or name. Every input file is read once: compression runs on all cores (pigz-style
//! blocks, see [`crate::pgzip`]) and the archive is hashed while it is written.

use std::fs::{self};
use std::io::{self, BufWriter, Write};
use std::path::Path;

use relman_install::checksums;
use relman_install::hash::{sha256_file, HashingWriter};
use relman_manifest::{ArchiveFormat, Artifact, ArtifactKind, Failure, Index, Sha256};

pub use crate::archive::human_size;
pub use crate::archive::Entry;
use crate::archive::{write_tar, write_tar_gz, write_zip};
use crate::fsutil;
use crate::planned::write_small;
pub use crate::planned::Packaged;
use crate::planned::{Planned, CHECKSUMS_FILE, INDEX_FILE};
use crate::report::Reporter;
use crate::sbom;

/// Packages every archive, then `checksums.txt` and `index.json`.
pub fn package(planned: &mut Planned, reporter: &dyn Reporter) -> Result<Vec<Packaged>, Failure> {
    reporter.stage("package");
    // Load the key first: a wrong passphrase fails before minutes of compression.
    if crate::sign::snapshot_unsigned(planned).is_none() {
        planned.settings.check_sign_key()?;
    }
    let identity = crate::sign::release_identity(planned, reporter)?;
    let mut done = Vec::new();
    let archives: Vec<Artifact> = planned.manifest.archives().cloned().collect();
    for artifact in &archives {
        let path = planned.artifact_path(&artifact.name);
        let entries = archive_entries(planned, artifact)?;
        let fingerprint = inputs_fingerprint(&entries, planned.manifest.source_date_epoch)?;
        let stamp = planned.version_dir.join(format!(".{}.inputs", artifact.name));
        let stamped = fs::read_to_string(&stamp).unwrap_or_default();
        let (stamped_inputs, stamped_output) = stamped.split_once('\n').unwrap_or((stamped.as_str(), ""));
        if stamped_inputs == fingerprint {
            // The archive as it was when hashed (size, mtime, inode): its recorded digest holds.
            let output_now = fs::metadata(&path).map(|m| fsutil::file_identity(&m)).unwrap_or_default();
            if !planned.settings.force_rebuild && !stamped_output.is_empty() && stamped_output == output_now {
                if let (Some(sha256), Some(size)) = (artifact.sha256.clone(), artifact.size) {
                    reporter.step(&format!("{}: unchanged", artifact.name));
                    done.push(Packaged { name: artifact.name.clone(), size, sha256, written: false });
                    continue;
                }
            }
            if let Some(p) = already_done(artifact, &path)? {
                let output_now = fs::metadata(&path).map(|m| fsutil::file_identity(&m)).unwrap_or_default();
                fsutil::write_atomic(&stamp, format!("{fingerprint}\n{output_now}").as_bytes())?;
                reporter.step(&format!("{}: unchanged", artifact.name));
                done.push(p);
                continue;
            }
        }
        let total: u64 = entries.iter().map(|e| e.size).sum();
        reporter.work_start(&artifact.name, total);
        let result = write_archive(planned, artifact, &entries, &path, reporter);
        reporter.work_end();
        let (sha256, size) = result?;
        reporter.step(&format!("{}: {} ({})", artifact.name, human_size(size), sha256.short()));
        let a = planned.manifest.artifact_mut(&artifact.name).expect("planned artifact");
        a.size = Some(size);
        a.sha256 = Some(sha256.clone());
        planned.save()?;
        let output_now = fs::metadata(&path).map(|m| fsutil::file_identity(&m)).unwrap_or_default();
        fsutil::write_atomic(&stamp, format!("{fingerprint}\n{output_now}").as_bytes())?;
        done.push(Packaged { name: artifact.name.clone(), size, sha256, written: true });
    }

    done.extend(write_sboms(planned, reporter)?);
    done.extend(write_charts(planned, reporter)?);
    done.extend(crate::sign::write_provenance(planned, identity.as_ref(), reporter)?);

    if planned.manifest.artifact(crate::planned::INSTALLER_FILE).is_some() {
        let script = crate::installer::render(
            planned,
            identity.as_ref().and_then(|i| i.key()).map(|k| k.public_key().to_pem()),
        )?;
        done.push(write_small(planned, crate::planned::INSTALLER_FILE, script.as_bytes())?);
    }

    // checksums.txt: every archive, SBOM and provenance file, sorted by name.
    let entries: Vec<(String, Sha256)> = planned
        .manifest
        .artifacts
        .iter()
        .filter(|a| in_checksums(a.kind))
        .filter_map(|a| a.sha256.clone().map(|sha| (a.name.clone(), sha)))
        .collect();
    let text = checksums::render(&entries);
    done.push(write_small(planned, CHECKSUMS_FILE, text.as_bytes())?);

    let index = Index::from_manifest(&planned.manifest, CHECKSUMS_FILE).map_err(Failure::package)?;
    done.push(write_small(planned, INDEX_FILE, index.to_json().as_bytes())?);
    // Images before the notes, which name each image by its digest.
    crate::image::build_images(planned, reporter)?;
    // The vulnerability gate, on every SBOM of the release, before anything is signed or
    // published.
    if let Some(cfg) = planned.settings.vulnerabilities.clone() {
        let report = crate::vuln::check_release(planned, &cfg)?;
        for w in &report.warnings {
            reporter.warn(w);
        }
        reporter.step(&format!(
            "vulnerabilities: {} packages checked ({} not checked), {} findings, {} blocking (database sha256 {}, {})",
            report.packages_checked,
            report.packages_not_checked,
            report.findings.len(),
            report.blocking().len(),
            &report.database_digest[..12],
            report.database_date.as_deref().unwrap_or("undated")
        ));
        planned.manifest.vulnerability_check = Some(report.record("package"));
        planned.save()?;
        report.gate("package")?;
    }
    let signed_as = match &identity {
        Some(i) => i.keyless_identity(&planned.version_dir, reporter)?,
        None => None,
    };
    let notes = release_notes(planned, signed_as.as_ref())?;
    done.push(write_small(planned, crate::planned::NOTES_FILE, notes.as_bytes())?);
    planned.save()?;
    if let Some(identity) = &identity {
        done.extend(crate::sign::write_signatures(planned, identity, reporter)?);
    }
    // Last: the page shows every file's size and digest, signatures included.
    if planned.manifest.artifact(crate::page::PAGE_FILE).is_some() {
        let signer = match (&signed_as, &planned.settings.public_key) {
            (Some((identity, issuer)), _) => {
                Some(crate::page::PageSigner::Identity { identity: identity.clone(), issuer: issuer.clone() })
            }
            (None, Some(path)) if identity.is_some() => {
                let pem = crate::fsutil::read_to_string(path)?;
                let hint = relman_sign::PublicKey::from_file(path)?.hint().to_string();
                Some(crate::page::PageSigner::Key { pem, hint })
            }
            _ => None,
        };
        let url = crate::installer::version_url(planned);
        let html = crate::page::release_page(
            &planned.manifest,
            &notes,
            &image_references(planned),
            signer.as_ref(),
            url.as_deref(),
        );
        done.push(write_small(planned, crate::page::PAGE_FILE, html.as_bytes())?);
        planned.save()?;
    }
    Ok(done)
}

/// `release-notes.md`: the notes from the commits since the previous release, ending with the
/// commands a user runs to verify what they downloaded.
fn release_notes(planned: &Planned, keyless: Option<&(String, String)>) -> Result<String, Failure> {
    let s = &planned.settings;
    let m = &planned.manifest;
    let notes_settings = crate::notes::NotesSettings {
        root: s.root.clone(),
        tag_prefix: s.tag_prefix.clone(),
        repository: s.repository.clone(),
        config: s.notes.clone(),
    };
    let repo = crate::git::Repo::discover(&s.root)?;
    let version = semver::Version::parse(&m.version)
        .map_err(|e| Failure::internal(format!("planned version `{}`: {e}", m.version)))?;
    let tag = m.tag.clone().unwrap_or_else(|| format!("{}{}", s.tag_prefix, m.version));
    let verify = verification_section(planned, keyless);
    let facts = crate::notes::ReleaseFacts {
        artifacts: m
            .artifacts
            .iter()
            .map(|a| {
                let (os, arch) = a.target.as_deref().map(relman_manifest::os_arch).unzip();
                crate::notes::ArtifactFact {
                    name: a.name.clone(),
                    kind: format!("{:?}", a.kind).to_lowercase(),
                    size: a.size,
                    sha256: a.sha256.as_ref().map(|d| d.as_str().to_string()),
                    target: a.target.clone(),
                    os,
                    arch,
                }
            })
            .collect(),
        images: image_references(planned)
            .into_iter()
            .map(|(reference, digest)| crate::notes::ImageFact { reference, digest })
            .collect(),
        install: crate::installer::script_url(planned).map(|url| format!("curl -fsSL {url} | sh")),
        verify: verify.clone(),
    };
    let mut text = crate::notes::release_notes_for(&repo, &notes_settings, &version, &tag, Some(&facts))?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    // A template that shows `release.verify` itself does not get it twice.
    if !text.contains(verify.trim()) {
        text.push_str(&verify);
    }
    Ok(text)
}

/// The exact commands that verify this release: sha256sum, relman, and cosign for signatures
/// (by key, or by the keyless signer's identity and issuer).
fn verification_section(planned: &Planned, keyless: Option<&(String, String)>) -> String {
    let m = &planned.manifest;
    let example = m.archives().next().map(|a| a.name.clone()).unwrap_or_else(|| "<archive>".into());
    let signed = m.artifacts.iter().any(|a| a.kind == ArtifactKind::Bundle);
    let mut t = String::new();
    if let Some(url) = crate::installer::script_url(planned) {
        let checks = match (signed, keyless) {
            (true, None) => " and signatures",
            _ => "",
        };
        t.push_str(&format!("\n## Install\n\n```sh\ncurl -fsSL {url} | sh\n```\n\nThe script checks the archive's sha256{checks} before installing into `~/.local/bin` (`sh -s -- --help` lists its options).\n"));
    }
    t.push_str("\n## Verify this release\n\nIn the directory holding the files you downloaded:\n\n```sh\n");
    t.push_str("sha256sum --ignore-missing -c checksums.txt\n");
    match (signed, keyless) {
        (true, Some((identity, issuer))) => {
            let who = format!("--certificate-identity '{identity}' --certificate-oidc-issuer '{issuer}'");
            t.push_str(&format!(
                "relman verify <release URL>/{}/ {who} --trusted-root trusted_root.json --require-signatures\n",
                m.version
            ));
            t.push_str(&format!(
                "cosign verify-blob --bundle {example}.sigstore.json --new-bundle-format {who} {example}\n"
            ));
        }
        (true, None) => {
            t.push_str(&format!("relman verify <release URL>/{}/ --key relman.pub --require-signatures\n", m.version));
            t.push_str(&format!(
                "cosign verify-blob --key relman.pub --signature {example}.sig --insecure-ignore-tlog=true {example}\n"
            ));
            t.push_str(&format!(
                "cosign verify-blob --key relman.pub --bundle {example}.sigstore.json --new-bundle-format --insecure-ignore-tlog=true {example}\n"
            ));
        }
        (false, _) => t.push_str(&format!("relman verify <release URL>/{}/\n", m.version)),
    }
    t.push_str("```\n");
    let images = image_references(planned);
    if !images.is_empty() {
        t.push_str("\n### Container images\n\n");
        for (reference, digest) in &images {
            t.push_str(&format!("- `{reference}@{digest}`\n"));
        }
        if signed {
            t.push_str("\n```sh\n");
            for (reference, digest) in &images {
                match keyless {
                    Some((identity, issuer)) => {
                        let who = format!("--certificate-identity '{identity}' --certificate-oidc-issuer '{issuer}'");
                        t.push_str(&format!("cosign verify {who} {reference}@{digest}\n"));
                        t.push_str(&format!(
                            "relman verify oci://{reference}:{} {who} --trusted-root trusted_root.json\n",
                            m.version
                        ));
                    }
                    None => {
                        t.push_str(&format!(
                            "cosign verify --key relman.pub --insecure-ignore-tlog=true {reference}@{digest}\n"
                        ));
                        t.push_str(&format!("relman verify oci://{reference}:{} --key relman.pub\n", m.version));
                    }
                }
            }
            t.push_str("```\n");
        }
    }
    match (signed, keyless) {
        (true, Some((identity, _))) => t.push_str(&format!(
            "\nSigned keylessly: each signature's certificate names `{identity}` and is logged in the transparency log. `trusted_root.json` is the Sigstore instance's trusted root (the public-good one is `targets/trusted_root.json` of github.com/sigstore/root-signing); cosign finds it itself.\n"
        )),
        (true, None) => t.push_str("\n`relman.pub` is the project's public key, committed in its repository.\n"),
        _ => {}
    }
    t
}

/// Each built image at each `oci://` destination of the release: `REGISTRY/PATH/NAME` and its
/// index digest.
fn image_references(planned: &Planned) -> Vec<(String, String)> {
    let m = &planned.manifest;
    let mut out = Vec::new();
    for d in m.destinations.iter().filter(|d| crate::remote::is_oci(&d.url)) {
        let Ok(dest) = crate::oci::OciDest::parse(&d.url) else { continue };
        for img in &m.images {
            let (Some(digest), Ok(repo)) = (&img.digest, dest.repo(&img.name)) else { continue };
            out.push((repo.name(), digest.clone()));
        }
    }
    out
}

/// Whether `checksums.txt` lists artifacts of this kind.
pub fn in_checksums(kind: ArtifactKind) -> bool {
    matches!(
        kind,
        ArtifactKind::Archive
            | ArtifactKind::Sbom
            | ArtifactKind::Provenance
            | ArtifactKind::Chart
            | ArtifactKind::Installer
    )
}

/// Packages every `[[chart]]` (reproducible `<name>-<version>.tgz`), after checking that its
/// version and appVersion are the release's.
fn write_charts(planned: &mut Planned, reporter: &dyn Reporter) -> Result<Vec<Packaged>, Failure> {
    let mut done = Vec::new();
    let mtime = planned.manifest.source_date_epoch.max(0) as u64;
    for c in planned.settings.charts.clone() {
        let m = &planned.manifest;
        let meta = crate::chart::load_for_release(&planned.settings.root, &c, &m.version, m.snapshot)?;
        // A snapshot's chart carries the snapshot's version; its templates are still checked.
        let problems =
            if m.snapshot { crate::chart::check_templates_only(&meta) } else { crate::chart::check(&meta, &m.version) };
        if let Some(first) = problems.first() {
            return Err(Failure::package(format!("chart `{}`: {first}", meta.name))
                .with_hint("set the chart's version and appVersion to the release version (relman bump does)"));
        }
        let out = crate::chart::package(&meta, mtime, &planned.version_dir)?;
        let name = meta.archive_name();
        if let Some(a) = planned.manifest.artifact_mut(&name) {
            a.sha256 = Some(out.sha256.clone());
            a.size = Some(out.size);
        }
        reporter.step(&format!("{name}: {} ({})", human_size(out.size), out.sha256.short()));
        done.push(Packaged { name, size: out.size, sha256: out.sha256, written: true });
    }
    planned.save()?;
    Ok(done)
}

/// One SPDX and one CycloneDX document per target, from the project's lockfiles. Each
/// target's inventory is collected once (Cargo resolves per platform); an inventory without
/// packages fails the release.
fn write_sboms(planned: &mut Planned, reporter: &dyn Reporter) -> Result<Vec<Packaged>, Failure> {
    let sboms: Vec<Artifact> =
        planned.manifest.artifacts.iter().filter(|a| a.kind == ArtifactKind::Sbom).cloned().collect();
    if sboms.is_empty() {
        return Ok(Vec::new());
    }
    // Same commit, same lockfiles, the SBOMs as written: nothing to collect again (collecting
    // runs `cargo metadata` per target).
    let stamp_path = planned.version_dir.join(".sboms.stamp");
    let stamp = |planned: &Planned| -> String {
        let root = &planned.settings.root;
        let mut t = format!("v1 {}\n", planned.manifest.commit);
        for f in crate::planned::LOCKFILES.iter().chain(["Cargo.toml"].iter()) {
            if let Ok(m) = fs::metadata(root.join(f)) {
                t.push_str(&format!("{f} {}\n", fsutil::file_identity(&m)));
            }
        }
        for a in planned.manifest.artifacts.iter().filter(|a| a.kind == ArtifactKind::Sbom) {
            let id =
                fs::metadata(planned.artifact_path(&a.name)).map(|m| fsutil::file_identity(&m)).unwrap_or_default();
            t.push_str(&format!("{} {id} {:?}\n", a.name, a.sha256.as_ref().map(|s| s.as_str().to_string())));
        }
        t
    };
    if !planned.settings.force_rebuild
        && sboms.iter().all(|a| a.sha256.is_some())
        && fs::read_to_string(&stamp_path).ok().as_deref() == Some(stamp(planned).as_str())
    {
        reporter.step(&format!("{} SBOMs: unchanged", sboms.len()));
        return Ok(sboms
            .iter()
            .map(|a| Packaged {
                name: a.name.clone(),
                size: a.size.unwrap_or(0),
                sha256: a.sha256.clone().expect("checked"),
                written: false,
            })
            .collect());
    }
    let m = &planned.manifest;
    let subject = sbom::ReleaseSubject::of(m);
    let mut inventories: std::collections::BTreeMap<String, sbom::Inventory> = Default::default();
    let mut done = Vec::new();
    for a in sboms {
        let target = a.target.clone().unwrap_or_default();
        if !inventories.contains_key(&target) {
            let opts = sbom::CollectOptions {
                target: Some(target.clone()),
                own_version: Some(planned.manifest.version.clone()),
                ..Default::default()
            };
            let inventory = sbom::collect(&planned.settings.root, &opts)?;
            inventory.require_packages(&planned.settings.root)?;
            for note in &inventory.notes {
                reporter.warn(&format!("sbom for `{target}`: {note}"));
            }
            inventories.insert(target.clone(), inventory);
        }
        let inventory = &inventories[&target];
        let text = if a.name.ends_with(crate::planned::SPDX_EXT) {
            sbom::spdx_json(&subject, inventory)
        } else {
            sbom::cyclonedx_json(&subject, inventory)
        };
        let p = write_small(planned, &a.name, text.as_bytes())?;
        reporter.step(&format!("{}: {}", a.name, crate::report::count(inventory.len(), "package")));
        done.push(p);
    }
    planned.save()?;
    fsutil::write_atomic(&stamp_path, stamp(planned).as_bytes())?;
    Ok(done)
}

/// What an archive is made of, cheaply: entry paths, modes, and each source's size, mtime and
/// inode. Stored beside the archive (`.<name>.inputs`, not in the manifest, which must stay
/// reproducible) so a re-run repackages when a staged binary or an extra file changed, even
/// within one commit (`--allow-dirty`, `--snapshot`).
fn inputs_fingerprint(entries: &[Entry], source_date_epoch: i64) -> Result<String, Failure> {
    let mut text = format!("v1 {source_date_epoch}\n");
    for e in entries {
        text.push_str(&format!("{} {:o} {}", e.path, e.mode, e.size));
        if let Some(src) = &e.source {
            let meta = fs::metadata(src).map_err(|err| Failure::io("read", src, err))?;
            text.push_str(&format!(" {}", fsutil::file_identity(&meta)));
        }
        text.push('\n');
    }
    Ok(relman_install::hash::sha256_bytes(text.as_bytes()).to_string())
}

fn already_done(artifact: &Artifact, path: &Path) -> Result<Option<Packaged>, Failure> {
    let (Some(sha), Some(size)) = (&artifact.sha256, artifact.size) else { return Ok(None) };
    match fs::metadata(path) {
        Ok(m) if m.len() == size => {}
        _ => return Ok(None),
    }
    let (found, _) = sha256_file(path).map_err(|e| Failure::io("read", path, e))?;
    if &found == sha {
        Ok(Some(Packaged { name: artifact.name.clone(), size, sha256: found, written: false }))
    } else {
        Ok(None)
    }
}

/// The archive's entries, sorted, with explicit directories.
fn archive_entries(planned: &Planned, artifact: &Artifact) -> Result<Vec<Entry>, Failure> {
    let target = artifact.target.as_deref().expect("archives have a target");
    let base = archive_base(artifact);
    let mut entries = vec![Entry { path: format!("{base}/"), source: None, mode: 0o755, size: 0, uid: 0, gid: 0 }];
    let build_dir = planned.build_dir(target);
    for b in &artifact.binaries {
        let src = build_dir.join(b);
        let meta = fs::metadata(&src).map_err(|_| {
            Failure::package(format!("binary `{b}` for `{target}` has not been built (no `{}`)", src.display()))
                .with_hint(format!("run `relman build --target {target}` first"))
        })?;
        entries.push(Entry {
            path: format!("{base}/{b}"),
            source: Some(src),
            mode: 0o755,
            size: meta.len(),
            uid: 0,
            gid: 0,
        });
    }
    let mut dirs = std::collections::BTreeSet::new();
    for f in &artifact.files {
        let src = planned.settings.root.join(f);
        let meta = fs::metadata(&src).map_err(|e| Failure::io("read", &src, e))?;
        if meta.is_dir() {
            return Err(Failure::config(format!("`package.files` entry `{f}` is a directory; list its files")));
        }
        let rel = f.trim_start_matches("./").replace('\\', "/");
        let mut acc = String::new();
        let parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
        for dir in &parts[..parts.len().saturating_sub(1)] {
            acc.push_str(dir);
            acc.push('/');
            dirs.insert(format!("{base}/{acc}"));
        }
        entries.push(Entry {
            path: format!("{base}/{}", parts.join("/")),
            source: Some(src),
            mode: if is_executable(&meta) { 0o755 } else { 0o644 },
            size: meta.len(),
            uid: 0,
            gid: 0,
        });
    }
    for d in dirs {
        entries.push(Entry { path: d, source: None, mode: 0o755, size: 0, uid: 0, gid: 0 });
    }
    entries.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
    entries.dedup_by(|a, b| a.path == b.path);
    Ok(entries)
}

/// The archive's top-level directory: its file name without the extension.
pub fn archive_base(artifact: &Artifact) -> String {
    let ext = artifact.format.map(|f| f.extension()).unwrap_or("");
    artifact.name.strip_suffix(&format!(".{ext}")).unwrap_or(&artifact.name).to_string()
}

#[cfg(unix)]
fn is_executable(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}
#[cfg(not(unix))]
fn is_executable(_: &fs::Metadata) -> bool {
    false
}

fn write_archive(
    planned: &Planned,
    artifact: &Artifact,
    entries: &[Entry],
    path: &Path,
    reporter: &dyn Reporter,
) -> Result<(Sha256, u64), Failure> {
    let mtime = planned.manifest.source_date_epoch.max(0) as u64;
    let format = artifact.format.unwrap_or(ArchiveFormat::TarGz);
    let level = planned.settings.level;
    let io_err = |e: io::Error| Failure::package(format!("failed to write `{}`: {e}", artifact.name));
    fsutil::write_atomic_with(path, |file, tmp| match format {
        ArchiveFormat::TarGz => write_tar_gz(file, entries, mtime, level.unwrap_or(6), reporter).map_err(io_err),
        ArchiveFormat::TarZst => {
            let hashing = HashingWriter::new(BufWriter::with_capacity(1 << 20, file));
            let mut z = zstd::stream::write::Encoder::new(hashing, level.unwrap_or(3) as i32).map_err(io_err)?;
            let threads = std::thread::available_parallelism().map(|n| n.get() as u32).unwrap_or(1);
            z.multithread(threads.max(1)).map_err(io_err)?;
            let z = write_tar(z, entries, mtime, reporter).map_err(io_err)?;
            let hashing = z.finish().map_err(io_err)?;
            let (mut w, sha, n) = hashing.finish();
            w.flush().map_err(io_err)?;
            Ok((sha, n))
        }
        ArchiveFormat::Zip => {
            write_zip(file, entries, mtime, level, reporter).map_err(io_err)?;
            sha256_file(tmp).map_err(|e| Failure::io("read", tmp, e))
        }
    })
}

/// True for the metadata artifacts relman generates itself.
pub fn is_generated(kind: ArtifactKind) -> bool {
    matches!(kind, ArtifactKind::Checksums | ArtifactKind::Index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes() {
        assert_eq!(human_size(12), "12 B");
        assert_eq!(human_size(1536), "1.5 KiB");
    }
}
