//! `sign`: SLSA provenance and signatures for a packaged release.
//!
//! Input: the planned release with its archives, SBOMs, `checksums.txt` and `index.json`
//! packaged (digests recorded), and the signing key from `[sign] key`. Output, in
//! `dist/<version>/`: `<name>-<version>.intoto.jsonl` (a DSSE envelope of an in-toto Statement
//! v1 with an SLSA Provenance v1 predicate whose subjects are the archives) with its Sigstore
//! bundle, and for every archive, SBOM, `checksums.txt` and `index.json` a legacy `<file>.sig`
//! and a Sigstore bundle `<file>.sigstore.json`.
//!
//! Invariants: signatures cover the exact bytes published, from the digests packaging
//! recorded (nothing is hashed twice); ECDSA signatures are deterministic (RFC 6979), and the
//! provenance is written once per set of archive digests, so re-running a release produces the
//! same files and re-publishing is a no-op. The passphrase never reaches a message.

use std::fs;
use std::path::Path;

use std::sync::OnceLock;

use relman_manifest::{ArtifactKind, Failure, Sha256};
use relman_sign::keyless::KeylessSigner;
use relman_sign::{blob, dsse, keys, Bundle, Signer, SigningKey};

use crate::fsutil;
use crate::planned::{bundle_name, provenance_name, Planned};
use crate::planned::{write_small, Packaged};
use crate::provenance::{self, Archive, ProvenanceInput};
use crate::report::Reporter;
use crate::sbom::ReleaseSubject;
use crate::settings::Settings;

/// Who signs the release: a key file, or keyless (a Fulcio certificate got when the first
/// signature is needed, so a re-run that signs nothing needs no identity token).
pub enum Identity {
    Key(SigningKey),
    Keyless { services: crate::keyless::Services, signer: OnceLock<std::sync::Arc<KeylessSigner>> },
}

impl Identity {
    /// The signer, getting the certificate on first use (keyless).
    pub fn signer(&self, reporter: &dyn Reporter) -> Result<&(dyn Signer + Sync), Failure> {
        match self {
            Identity::Key(k) => Ok(k),
            Identity::Keyless { services, signer } => {
                if signer.get().is_none() {
                    let (s, fresh) = crate::keyless::shared(services)?;
                    if fresh {
                        reporter.step(&format!(
                            "keyless: certificate for `{}` (issuer `{}`) from {}",
                            s.identity, s.issuer, services.fulcio
                        ));
                    }
                    let _ = signer.set(s);
                }
                Ok(signer.get().expect("set above").as_ref())
            }
        }
    }

    /// The keyless signer, once a certificate was got.
    pub fn keyless_signer(&self) -> Option<&KeylessSigner> {
        match self {
            Identity::Keyless { signer, .. } => signer.get().map(|s| s.as_ref()),
            Identity::Key(_) => None,
        }
    }

    /// The key, for what only a key signs (images, charts, smoke results, install.sh).
    pub fn key(&self) -> Option<&SigningKey> {
        match self {
            Identity::Key(k) => Some(k),
            Identity::Keyless { .. } => None,
        }
    }

    /// Keyless: the identity and issuer the release is signed as — the certificate's when one
    /// was got, else the one recorded in a bundle already written under `dir` (a re-run), else
    /// a certificate is got now. `None` for a key.
    pub fn keyless_identity(&self, dir: &Path, reporter: &dyn Reporter) -> Result<Option<(String, String)>, Failure> {
        let Identity::Keyless { signer, .. } = self else { return Ok(None) };
        if let Some(s) = signer.get() {
            return Ok(Some((s.identity.clone(), s.issuer.clone())));
        }
        let mut names: Vec<_> = fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path()).collect();
        names.sort();
        for path in names.iter().filter(|p| p.to_string_lossy().ends_with(".sigstore.json")) {
            let found = fs::read_to_string(path).ok().and_then(|t| Bundle::parse(&t, "bundle").ok());
            if let Some(who) = found.as_ref().and_then(relman_sign::keyless::trust::bundle_identity) {
                return Ok(Some(who));
            }
        }
        self.signer(reporter)?;
        Ok(signer.get().map(|s| (s.identity.clone(), s.issuer.clone())))
    }

    /// Who signed, for messages: `key HINT` or `identity X`.
    pub fn describe(&self) -> String {
        match self {
            Identity::Key(k) => format!("key {}", k.public_key().hint()),
            Identity::Keyless { signer, .. } => match signer.get() {
                Some(s) => format!("keyless, identity `{}`", s.identity),
                None => "keyless".to_string(),
            },
        }
    }

    /// Whether an existing bundle already signs `sha256` for this identity, so a re-run keeps
    /// it (and publishes the bytes a destination already holds). Key: the bundle verifies with
    /// the key. Keyless: it is a keyless bundle of this digest with a log entry (verified in
    /// full by `relman verify`, which knows the trusted root).
    pub fn keeps(&self, bundle_json: &str, name: &str, subject: &str, sha256: &Sha256) -> bool {
        match self {
            Identity::Key(k) => blob::verify_bundle(bundle_json, name, k.public_key(), subject, sha256).is_ok(),
            Identity::Keyless { .. } => Bundle::parse(bundle_json, name).is_ok_and(|b| keyless_bundle_of(&b, sha256)),
        }
    }
}

fn keyless_bundle_of(b: &Bundle, sha256: &Sha256) -> bool {
    let m = &b.verification_material;
    m.leaf_certificate().is_some() && !m.tlog_entries.is_empty() && b.signs_digest(sha256)
}

/// The release's signing identity: the key (`sign.key`), keyless (`sign.mode`), or `None`.
pub fn load_identity(settings: &Settings, reporter: &dyn Reporter) -> Result<Option<Identity>, Failure> {
    if settings.keyless {
        let services = crate::keyless::Services {
            fulcio: settings.fulcio_url.clone(),
            rekor: settings.rekor_url.clone(),
            token: settings.remote.sigstore.token.clone(),
        };
        return Ok(Some(Identity::Keyless { services, signer: OnceLock::new() }));
    }
    Ok(load_key(settings, reporter)?.map(Identity::Key))
}

/// The key that signs `channels.json` at promote: the release's key, when its file and (for
/// an encrypted key) its passphrase are at hand here. `None` otherwise — a promote job given
/// no key, a project that signs nothing, a keyless project (not yet: its channels stay
/// unsigned) — and channels.json is then written unsigned, with a warning when the project
/// signs its releases.
pub fn promote_identity(planned: Option<&Planned>, reporter: &dyn Reporter) -> Result<Option<Identity>, Failure> {
    let Some(planned) = planned else { return Ok(None) };
    let s = &planned.settings;
    let Some(path) = s.sign_key.as_ref().filter(|_| !s.keyless) else { return Ok(None) };
    let unsigned = |why: String| {
        reporter.warn(&format!("channels.json is written unsigned ({why}): clients cannot check that it is fresh"));
        Ok(None)
    };
    let Ok(text) = std::fs::read_to_string(path) else {
        return unsigned(format!("no key at `{}`", path.display()));
    };
    if keys::needs_passphrase(&text) && s.passphrase.is_none() {
        return unsigned("the key's passphrase is not set: RELMAN_PASSWORD".into());
    }
    // Signing channels adds to a promote; a key that cannot be used (an empty secret, a
    // wrong passphrase) leaves them unsigned rather than stopping the pointers.
    match load_key(s, reporter) {
        Ok(key) => Ok(key.map(Identity::Key)),
        Err(e) => unsigned(format!("the key at `{}` cannot be used: {}", path.display(), e.message)),
    }
}

/// The clock a promote writes channels' expiry from: SOURCE_DATE_EPOCH when it was given (it
/// replaces the clock, as reproducible-builds.org asks: a re-run writes the same bytes), else
/// now.
pub fn promote_clock(record: Option<&Planned>) -> i64 {
    match record {
        Some(r) if r.settings.source_date_given => r.manifest.source_date_epoch,
        _ => {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
        }
    }
}

/// The `channels.json` a promote of `stable` writes over `current`: its serial one above
/// `current`'s, its expiry `valid_days` after `now`; and, with `identity`, its signed form
/// ([`relman_manifest::CHANNELS_SIGNED_FILE`]: a DSSE bundle whose payload is exactly these
/// bytes).
#[allow(clippy::too_many_arguments)]
pub fn next_channels(
    current: Option<&relman_manifest::Channels>,
    name: String,
    stable: relman_manifest::ChannelEntry,
    valid_days: u32,
    now: i64,
    identity: Option<&Identity>,
    reporter: &dyn Reporter,
) -> Result<(String, Option<String>), Failure> {
    let channels = relman_manifest::Channels {
        format_version: relman_manifest::CHANNELS_FORMAT_VERSION,
        name,
        stable: Some(stable),
        serial: Some(current.and_then(|c| c.serial).unwrap_or(0) + 1),
        expires: Some(relman_manifest::time::rfc3339(now + i64::from(valid_days) * 86_400)),
    };
    let text = channels.to_json();
    let signed = match identity {
        Some(id) => Some(
            relman_sign::dsse::sign(id.signer(reporter)?, relman_manifest::CHANNELS_PAYLOAD_TYPE, text.as_bytes())?
                .bundle_json(),
        ),
        None => None,
    };
    Ok((text, signed))
}

/// [`load_identity`] for a release: a snapshot (a pull request's check, a local try) whose
/// signing material is not at hand — no key file, no identity token — is packaged unsigned,
/// with a warning, rather than refused: only tagged releases must be signed.
pub fn release_identity(planned: &Planned, reporter: &dyn Reporter) -> Result<Option<Identity>, Failure> {
    if let Some(why) = snapshot_unsigned(planned) {
        reporter.warn(&format!("snapshot {}: not signed ({why}); a tagged release is", planned.manifest.version));
        return Ok(None);
    }
    load_identity(&planned.settings, reporter)
}

/// Why a snapshot goes unsigned (its signing material is not at hand), or `None`: a tagged
/// release, signatures required, or the key or token there.
pub fn snapshot_unsigned(planned: &Planned) -> Option<String> {
    planned.settings.snapshot_unsigned(planned.manifest.snapshot)
}

/// Loads the configured signing key; `None` when the project signs nothing.
pub fn load_key(settings: &Settings, reporter: &dyn Reporter) -> Result<Option<SigningKey>, Failure> {
    let Some(path) = &settings.sign_key else { return Ok(None) };
    if let Some(w) = relman_sign::key_file_warning(path) {
        reporter.warn(&w);
    }
    let text = fsutil::read_to_string(path)?;
    let passphrase = settings.passphrase.as_ref().map(|p| p.expose().as_bytes()).unwrap_or(b"");
    let needs = keys::needs_passphrase(&text);
    SigningKey::from_pem(&text, needs.then_some(passphrase), &path.display().to_string()).map(Some).map_err(|f| {
        if needs && settings.passphrase.is_none() && f.hint.is_none() {
            f.with_hint("set RELMAN_PASSWORD (or COSIGN_PASSWORD) to the key's passphrase")
        } else {
            f
        }
    })
}

/// Writes the provenance of the archives (once per set of archive digests): DSSE-signed with
/// its bundle when the release is signed, else an envelope without signatures (the statement
/// for whoever wants to read it; it proves nothing).
pub fn write_provenance(
    planned: &mut Planned,
    identity: Option<&Identity>,
    reporter: &dyn Reporter,
) -> Result<Vec<Packaged>, Failure> {
    let m = &planned.manifest;
    let name = provenance_name(&m.project.name, &m.version);
    if m.artifact(&name).is_none() {
        return Ok(Vec::new());
    }
    let archives: Vec<Archive> = m
        .archives()
        .map(|a| Archive { name: a.name.clone(), sha256: a.sha256.clone().expect("packaged before provenance") })
        .collect();
    let fingerprint: String = archives.iter().map(|a| format!("{} {}\n", a.sha256, a.name)).collect();
    let stamp = planned.version_dir.join(format!(".{name}.inputs"));
    let path = planned.artifact_path(&name);
    let bundle = bundle_name(&name);
    let unchanged = fs::read_to_string(&stamp).map(|s| s == fingerprint).unwrap_or(false)
        && path.is_file()
        && (identity.is_none() || planned.artifact_path(&bundle).is_file());
    let (jsonl, bundle_json) = if unchanged {
        let bundle_json = match identity {
            Some(_) => Some(fsutil::read_to_string(&planned.artifact_path(&bundle))?),
            None => None,
        };
        (fsutil::read_to_string(&path)?, bundle_json)
    } else {
        // SOURCE_DATE_EPOCH given: it stands for the clock, so the same commit makes the same
        // provenance on any machine (a build matrix's release equals one machine's).
        let now = if planned.settings.source_date_given {
            Some(m.source_date_epoch)
        } else if identity.is_none() {
            // Unsigned: no clock in it, so every run (a resumed one too) writes the same bytes.
            None
        } else {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).ok()
        };
        let input = ProvenanceInput {
            release: ReleaseSubject::of(m),
            tag: m.tag.clone().unwrap_or_default(),
            targets: m.targets.clone(),
            archives,
            toolchain: toolchain(&planned.settings),
            relman_version: env!("CARGO_PKG_VERSION").to_string(),
            ci: planned.settings.ci.clone(),
            started_on: now,
            finished_on: now,
            dependencies: Vec::new(),
        };
        let statement = provenance::statement_json(&input)?;
        match identity {
            Some(identity) => {
                let signed = dsse::sign(identity.signer(reporter)?, provenance::PAYLOAD_TYPE, statement.as_bytes())?;
                (signed.intoto_jsonl(), Some(signed.bundle_json()))
            }
            None => {
                let unsigned = dsse::Envelope::unsigned(provenance::PAYLOAD_TYPE, statement.as_bytes());
                (dsse::intoto_jsonl(&unsigned), None)
            }
        }
    };
    let mut done = vec![write_small(planned, &name, jsonl.as_bytes())?];
    if let Some(bundle_json) = bundle_json {
        done.push(write_small(planned, &bundle, bundle_json.as_bytes())?);
    }
    fsutil::write_atomic(&stamp, fingerprint.as_bytes())?;
    let archives = crate::report::count(planned.manifest.archives().count(), "archive");
    let how = if identity.is_some() { "signed" } else { "unsigned (no key)" };
    reporter.step(&format!("{name}: SLSA provenance of {archives}, {how}"));
    planned.save()?;
    Ok(done)
}

/// Signs every archive, SBOM, `checksums.txt` and `index.json` from its recorded digest. A
/// signature that already signs the same digest for the same identity is kept. Keyless, the
/// log entries are made in parallel (each is a round trip to Rekor).
pub fn write_signatures(
    planned: &mut Planned,
    identity: &Identity,
    reporter: &dyn Reporter,
) -> Result<Vec<Packaged>, Failure> {
    let mut jobs: Vec<(String, String, ArtifactKind, Sha256)> = Vec::new();
    for a in
        planned.manifest.artifacts.iter().filter(|a| matches!(a.kind, ArtifactKind::Signature | ArtifactKind::Bundle))
    {
        let Some(subject) = a.subject.clone() else { continue };
        let Some(sha) = planned.manifest.artifact(&subject).and_then(|a| a.sha256.clone()) else {
            return Err(Failure::package(format!("cannot sign `{subject}`: it has not been packaged")));
        };
        if planned.manifest.artifact(&subject).map(|a| a.kind) == Some(ArtifactKind::Provenance) {
            continue; // DSSE-signed by write_provenance.
        }
        jobs.push((a.name.clone(), subject, a.kind, sha));
    }
    // What is already signed stays as it is (a re-run signs nothing new).
    let mut kept = Vec::new();
    let mut to_sign = Vec::new();
    for job in jobs {
        let path = planned.artifact_path(&job.0);
        let existing = match job.2 {
            ArtifactKind::Bundle => {
                fs::read_to_string(&path).ok().filter(|t| identity.keeps(t, &job.0, &job.1, &job.3))
            }
            _ => None,
        };
        match existing {
            Some(text) => kept.push((job.0, text)),
            None => to_sign.push(job),
        }
    }
    let mut texts: Vec<(String, String)> = kept;
    if !to_sign.is_empty() {
        let signer = identity.signer(reporter)?;
        let digests: Vec<Sha256> = {
            let mut d: Vec<Sha256> = to_sign.iter().map(|j| j.3.clone()).collect();
            d.sort_by(|a, b| a.as_str().cmp(b.as_str()));
            d.dedup();
            d
        };
        // One signature per digest (its `.sig` and bundle share it), made in parallel.
        let signed = relman_install::hash::par_map_n(&digests, 8, |sha| blob::sign_digest(signer, sha));
        let mut by_digest = std::collections::HashMap::new();
        for (sha, result) in digests.iter().zip(signed) {
            by_digest.insert(sha.as_str().to_string(), result?);
        }
        for (name, _, kind, sha) in &to_sign {
            let sig = &by_digest[sha.as_str()];
            let text = match kind {
                ArtifactKind::Signature => sig.legacy(),
                _ => sig.bundle_json(),
            };
            texts.push((name.clone(), text));
        }
    }
    let mut done = Vec::new();
    for (name, text) in &texts {
        done.push(write_small(planned, name, text.as_bytes())?);
    }
    let signed_files = texts.len() - if identity.key().is_some() { texts.len() / 2 } else { 0 };
    reporter.step(&format!("signed {signed_files} files ({})", identity.describe()));
    planned.save()?;
    Ok(done)
}

/// Toolchain versions for the provenance (`rustc -V`, `cargo -V` for Cargo builds).
fn toolchain(settings: &Settings) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    if settings.build == crate::settings::BuildKind::Cargo {
        for tool in ["rustc", "cargo"] {
            if let Ok(o) = std::process::Command::new(tool).arg("-V").current_dir(&settings.root).output() {
                if o.status.success() {
                    out.insert(tool.to_string(), String::from_utf8_lossy(&o.stdout).trim().to_string());
                }
            }
        }
    }
    out
}

/// Writes a new key pair: the private key encrypted with `passphrase` (mode 0600, refused when it
/// exists unless `force`) and the public key beside it.
pub fn keygen(private: &Path, public: &Path, passphrase: &str, force: bool) -> Result<String, Failure> {
    for p in [private, public] {
        if p.exists() && !force {
            return Err(
                Failure::usage(format!("`{}` already exists", p.display())).with_hint("pass --force to replace it")
            );
        }
    }
    let pair = relman_sign::generate()?;
    let pem = pair.to_encrypted_pem(passphrase.as_bytes())?;
    fsutil::write_atomic(private, pem.as_bytes())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(private, fs::Permissions::from_mode(keys::PRIVATE_KEY_MODE))
            .map_err(|e| Failure::io("set permissions of", private, e))?;
    }
    fsutil::write_atomic(public, pair.public_key_pem().as_bytes())?;
    Ok(pair.key_hint().to_string())
}

/// Records the key pair in `<root>/relman.toml` (`[sign] key`, `public_key`), keeping the rest
/// of the file as it is, and git-ignores the private key. Paths are relative to `root`.
pub fn record_key_in_config(root: &Path, private_rel: &str, public_rel: &str) -> Result<(), Failure> {
    let path = root.join(crate::config::CONFIG_FILE);
    let text = fs::read_to_string(&path).unwrap_or_default();
    let mut doc: toml_edit::DocumentMut =
        text.parse().map_err(|e| Failure::config(format!("cannot update `{}`: {e}", path.display())))?;
    if !doc.contains_key("sign") {
        let mut t = toml_edit::Table::new();
        t.decor_mut().set_prefix(
            "\n# Release signing (written by `relman keygen`). The passphrase comes from RELMAN_PASSWORD.\n",
        );
        doc.insert("sign", toml_edit::Item::Table(t));
    }
    let sign = doc["sign"]
        .as_table_mut()
        .ok_or_else(|| Failure::config(format!("`{}`: `sign` is not a table", path.display())))?;
    sign["key"] = toml_edit::value(private_rel);
    sign["public_key"] = toml_edit::value(public_rel);
    let new = doc.to_string();
    crate::config::Config::parse(&new, &path.display().to_string())?;
    fsutil::write_atomic(&path, new.as_bytes())?;
    let ignore = root.join(".gitignore");
    let current = fs::read_to_string(&ignore).unwrap_or_default();
    let entry = format!("/{}", private_rel.trim_start_matches("./"));
    if !current.lines().any(|l| l.trim() == entry || l.trim() == private_rel) {
        let mut next = current;
        if !next.is_empty() && !next.ends_with('\n') {
            next.push('\n');
        }
        next.push_str(&entry);
        next.push('\n');
        fsutil::write_atomic(&ignore, next.as_bytes())?;
    }
    Ok(())
}
