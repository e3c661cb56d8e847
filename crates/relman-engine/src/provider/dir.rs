//! The directory destination (`dir:PATH`), relman's embedded default.
//!
//! Layout: `PATH/<version>/<files>`, `PATH/latest` → `<version>` (a relative symlink), and
//! `PATH/channels.json`. A new version directory is filled under a staging name and renamed
//! into place, so readers see all of it or none of it; files added to an existing version
//! directory appear one by one, each atomically. `put_release` never touches `latest`.
//!
//! Both take the destination's lock (the directory itself, see [`relman_install::lock`]):
//! two promotes never interleave their `latest` and `channels.json` writes, and what a killed
//! run left (`.relman-staging-*`, `.relman-tmp-*`) is removed by the next one.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use relman_install::hash::{sha256_file, HashingWriter};
use relman_install::lock::{Lock, STAGING_PREFIX, TEMP_PREFIX};
use relman_install::source::Location;
use relman_install::verify::verify_release;
use relman_manifest::{ChannelEntry, Channels, Failure, Index};
use semver::Version;

use super::{ApplyMoves, Gate, LocalFile, PromotePlan, PromoteReport, PutOutcome, YankReport};
use crate::fsutil;
use crate::planned::CHANNELS_FILE;
use crate::report::Reporter;

pub const LATEST_LINK: &str = "latest";

pub struct DirProvider {
    pub(super) url: String,
    pub(super) root: PathBuf,
}

impl DirProvider {
    pub fn new(url: &str, root: PathBuf) -> Self {
        DirProvider { url: url.to_string(), root }
    }

    /// Takes the destination's lock (the directory itself: nothing is added to what is
    /// published) and removes what dead runs left in `PATH` and in `dirs` (staging
    /// directories, temp files).
    fn lock(&self, doing: &str, dirs: &[&Path]) -> Result<Lock, Failure> {
        fsutil::create_dir_all(&self.root)?;
        let lock = Lock::acquire_dir(
            &self.root,
            &format!("the destination `{}`", self.url),
            doing,
            relman_install::lock::wait(),
        )?;
        lock.sweep(&self.root)?;
        for dir in dirs {
            lock.sweep(dir)?;
        }
        Ok(lock)
    }

    fn read_channels(&self) -> Result<Option<Channels>, Failure> {
        let path = self.root.join(CHANNELS_FILE);
        match fs::read_to_string(&path) {
            Ok(t) => Channels::from_json(&t)
                .map(Some)
                .map_err(|e| Failure::verify(format!("`{}` is not a valid channels file: {e}", path.display()))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Failure::io("read", &path, e)),
        }
    }
}

impl DirProvider {
    /// The version directory re-hashed and verified (signatures with `key`), and `latest` and
    /// the stable channel as they are.
    pub fn fetch_state(
        &self,
        version: &Version,
        key: Option<&relman_sign::PublicKey>,
    ) -> Result<super::DestinationState, Failure> {
        let v = version.to_string();
        let dir = self.root.join(&v);
        let mut state = super::DestinationState {
            destination: self.url.clone(),
            assets: Vec::new(),
            pointers: vec![
                super::Pointer {
                    name: LATEST_LINK.into(),
                    target: fs::read_link(self.root.join(LATEST_LINK)).ok().map(|t| t.display().to_string()),
                },
                super::Pointer {
                    name: format!("{CHANNELS_FILE} stable"),
                    target: self.read_channels()?.and_then(|c| c.stable).map(|e| e.version),
                },
            ],
            problems: Vec::new(),
            verify_commands: vec![
                format!("relman verify {}{}", dir.display(), if key.is_some() { " --key <public key>" } else { "" }),
                format!("relman install --from {}", self.root.display()),
            ],
        };
        if !dir.join(crate::planned::INDEX_FILE).is_file() {
            state.problems.push(format!("{v} is not published at `{}`", self.url));
            return Ok(state);
        }
        let opts = relman_install::verify::VerifyOptions { key: key.cloned(), ..Default::default() };
        let report = relman_install::verify::verify_release_with(&Location::Path(dir), &opts)?;
        use relman_install::verify::FileStatus;
        for f in &report.files {
            let status = match f.status {
                FileStatus::Ok => "ok",
                FileStatus::Missing => "missing",
                FileStatus::Extra => "extra",
                FileStatus::Mismatch | FileStatus::SizeMismatch => "different",
            };
            state.assets.push(super::Asset {
                name: f.name.clone(),
                status,
                expected: f.expected.as_ref().map(|d| d.to_string()),
                found: f.found.as_ref().map(|d| d.to_string()),
            });
        }
        state.problems.extend(report.problems);
        Ok(state)
    }
}

impl DirProvider {
    /// Checks, writing nothing, that `files` can be put for `version`: the destination is
    /// usable and holds no different file under the version.
    pub(super) fn preflight_files(&self, version: &str, files: &[LocalFile]) -> Result<(), Failure> {
        // The nearest existing ancestor must be a directory (the rest is created).
        let mut at = self.root.as_path();
        loop {
            match fs::metadata(at) {
                Ok(m) if m.is_dir() => break,
                Ok(_) => {
                    return Err(Failure::usage(format!(
                        "destination `{}`: `{}` is not a directory",
                        self.url,
                        at.display()
                    )))
                }
                Err(_) => match at.parent().filter(|p| !p.as_os_str().is_empty()) {
                    Some(parent) => at = parent,
                    None => break,
                },
            }
        }
        let dest = self.root.join(version);
        for f in files {
            let target = dest.join(&f.name);
            if target.exists() {
                let (found, _) = sha256_file(&target).map_err(|e| Failure::io("read", &target, e))?;
                if found != f.sha256 {
                    return Err(collision(&self.url, version, f, &found));
                }
            }
        }
        Ok(())
    }

    /// Puts the immutable files of `version`. Never touches mutable pointers.
    pub(super) fn put_release(
        &self,
        version: &str,
        files: &[LocalFile],
        reporter: &dyn Reporter,
    ) -> Result<PutOutcome, Failure> {
        let dest = self.root.join(version);
        let _lock = self.lock(&format!("publish {version}"), &[&dest])?;
        let mut outcome = PutOutcome {
            destination: self.url.clone(),
            location: dest.display().to_string(),
            written: Vec::new(),
            skipped: Vec::new(),
        };
        // Decide everything before writing anything: a collision leaves the destination as it was.
        let mut missing = Vec::new();
        for f in files {
            let target = dest.join(&f.name);
            match fs::metadata(&target) {
                Ok(_) => {
                    let (found, _) = sha256_file(&target).map_err(|e| Failure::io("read", &target, e))?;
                    if found == f.sha256 {
                        outcome.skipped.push(f.name.clone());
                    } else {
                        return Err(collision(&self.url, version, f, &found));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => missing.push(f),
                Err(e) => return Err(Failure::io("read", &target, e)),
            }
        }
        if missing.is_empty() {
            // A run killed after the version directory appeared left the root page behind:
            // written now (only when it changes).
            self.write_versions_page()?;
            return Ok(outcome);
        }
        if !dest.exists() {
            // Fill a staging directory, then rename it into place in one step.
            let staging = tempfile::Builder::new()
                .prefix(&format!("{STAGING_PREFIX}{version}-"))
                .tempdir_in(&self.root)
                .map_err(|e| Failure::io("create a staging directory in", &self.root, e))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                fs::set_permissions(staging.path(), fs::Permissions::from_mode(0o755))
                    .map_err(|e| Failure::io("set permissions of", staging.path(), e))?;
            }
            for f in &missing {
                copy_verified(f, &staging.path().join(&f.name))?;
                relman_install::crashpoint::point(&format!("staged:{}", f.name));
                reporter.step(&format!("{}: copied", f.name));
            }
            let staged = staging.keep();
            match fs::rename(&staged, &dest) {
                Ok(()) => {
                    outcome.written.extend(missing.iter().map(|f| f.name.clone()));
                    self.write_versions_page()?;
                    return Ok(outcome);
                }
                Err(_) if dest.exists() => {
                    // Someone else published meanwhile: fall through to the per-file path.
                    let _ = fs::remove_dir_all(&staged);
                }
                Err(e) => {
                    let _ = fs::remove_dir_all(&staged);
                    return Err(Failure::io("move the staged release to", &dest, e));
                }
            }
        }
        for f in missing {
            let target = dest.join(&f.name);
            if target.exists() {
                let (found, _) = sha256_file(&target).map_err(|e| Failure::io("read", &target, e))?;
                if found != f.sha256 {
                    return Err(collision(&self.url, version, f, &found));
                }
                outcome.skipped.push(f.name.clone());
                continue;
            }
            let tmp = dest.join(format!("{TEMP_PREFIX}{}", f.name));
            copy_verified(f, &tmp)?;
            relman_install::crashpoint::point(&format!("copied:{}", f.name));
            fs::rename(&tmp, &target).map_err(|e| Failure::io("write", &target, e))?;
            reporter.step(&format!("{}: copied", f.name));
            outcome.written.push(f.name.clone());
        }
        self.write_versions_page()?;
        Ok(outcome)
    }

    /// `PATH/index.html`: every version here, newest first, `latest` marked (rewritten only
    /// when it changes; under the destination's lock).
    fn write_versions_page(&self) -> Result<(), Failure> {
        let latest = self.read_channels()?.and_then(|c| c.stable).map(|e| e.version);
        let mut found: Vec<crate::page::Listed> = Vec::new();
        let mut name = None;
        for e in fs::read_dir(&self.root).map_err(|e| Failure::io("read", &self.root, e))?.flatten() {
            let Some(dir_name) = e.file_name().to_str().map(str::to_string) else { continue };
            if Version::parse(&dir_name).is_err() {
                continue;
            }
            let Ok(text) = fs::read_to_string(e.path().join(crate::planned::INDEX_FILE)) else { continue };
            let Ok(index) = Index::from_json(&text) else { continue };
            let date = fs::read_to_string(e.path().join(crate::planned::MANIFEST_FILE))
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .and_then(|m| m["source_date_epoch"].as_i64())
                .map(relman_manifest::time::date);
            name.get_or_insert(index.name.clone());
            found.push(crate::page::Listed {
                version: dir_name.clone(),
                channel: index.channel.as_str().to_string(),
                date,
                latest: latest.as_deref() == Some(dir_name.as_str()),
            });
        }
        let Some(name) = name else { return Ok(()) };
        let html = crate::page::versions_page(&name, &found);
        let path = self.root.join(crate::page::PAGE_FILE);
        if fs::read(&path).ok().as_deref() != Some(html.as_bytes()) {
            fsutil::write_atomic(&path, html.as_bytes())?;
        }
        Ok(())
    }

    /// Checks the gates for `version`, writing nothing; the plan moves the pointers.
    pub(super) fn check_promote_dir(
        &self,
        record: Option<&crate::planned::Planned>,
        version: &Version,
        allow_downgrade: bool,
        reporter: &dyn Reporter,
    ) -> Result<PromotePlan, Failure> {
        let v = version.to_string();
        let dir = self.root.join(&v);
        // One promote at a time: `latest` and channels.json move together or not at all. The
        // lock is held from the check until the plan is applied or dropped.
        let lock = self.lock(&format!("promote {v}"), &[])?;
        let mut gates = Vec::new();
        let mut gate = crate::gates::logged(reporter, &mut gates);

        let index_path = dir.join(crate::planned::INDEX_FILE);
        let published = index_path.is_file();
        gate(Gate {
            name: "published",
            passed: published,
            detail: if published {
                format!("{} exists", dir.display())
            } else {
                format!("no {} at {}", v, dir.display())
            },
        });
        if published {
            gate(match verify_release(&Location::Path(dir.clone())) {
                Ok(report) if report.is_ok() => Gate {
                    name: "verified",
                    passed: true,
                    detail: format!("{} files match checksums.txt, index.json and manifest.json", report.files.len()),
                },
                Ok(report) => Gate { name: "verified", passed: false, detail: report.problems.join("; ") },
                Err(e) => Gate { name: "verified", passed: false, detail: e.message },
            });
            if let Some(g) = crate::gates::signed(record, &Location::Path(dir.clone()))? {
                gate(g);
            }
        }
        let (shared, previous) = crate::gates::from_channels(version, self.read_channels()?.as_ref(), allow_downgrade);
        shared.into_iter().for_each(&mut gate);
        drop(gate);
        let report = PromoteReport::checked(
            &self.url,
            &v,
            gates,
            previous.clone(),
            vec![LATEST_LINK.into(), CHANNELS_FILE.into()],
            Vec::new(),
        );
        let link = self.root.join(LATEST_LINK);
        let link_ok = fs::read_link(&link).map(|t| t == Path::new(&v)).unwrap_or(false);
        if !report.passed() || (previous.as_deref() == Some(v.as_str()) && link_ok) {
            return Ok(PromotePlan { report, apply: None });
        }
        let name = fs::read_to_string(&index_path)
            .ok()
            .and_then(|t| Index::from_json(&t).ok())
            .map(|i| i.name)
            .unwrap_or_default();
        let stable = ChannelEntry { version: v.clone(), index: format!("{v}/{}", crate::planned::INDEX_FILE) };
        let identity = crate::sign::promote_identity(record, reporter)?;
        let valid_days = record.map(|r| r.settings.channels_valid_days).unwrap_or(30);
        let clock = crate::sign::promote_clock(record);
        let channels_path = self.root.join(CHANNELS_FILE);
        let signed_path = self.root.join(relman_manifest::CHANNELS_SIGNED_FILE);
        let this = DirProvider { url: self.url.clone(), root: self.root.clone() };
        let apply: ApplyMoves = Box::new(move |reporter: &dyn Reporter, moved: &mut Vec<String>| {
            let _lock = lock;
            if !link_ok {
                replace_link(&link, &v)?;
                moved.push(LATEST_LINK.into());
            }
            relman_install::crashpoint::point("latest-moved");
            let current = this.read_channels()?;
            let (text, signed) = crate::sign::next_channels(
                current.as_ref(),
                name,
                stable,
                valid_days,
                clock,
                identity.as_ref(),
                reporter,
            )?;
            // The signed form first, then the plain one: a reader that trusts the signature
            // reads only the signed form, whose payload is the whole document.
            match &signed {
                Some(bundle) => fsutil::write_atomic(&signed_path, bundle.as_bytes())?,
                None => match fs::remove_file(&signed_path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Failure::io("remove", &signed_path, e)),
                },
            }
            fsutil::write_atomic(&channels_path, text.as_bytes())?;
            moved.push(CHANNELS_FILE.into());
            this.write_versions_page()
        });
        Ok(PromotePlan { report, apply: Some(apply) })
    }

    /// What removing `version` takes (`apply`: and removes it); what a pointer names is kept
    /// unless `force`.
    pub(super) fn yank_dir(&self, version: &Version, apply: bool, force: bool) -> Result<YankReport, Failure> {
        let v = version.to_string();
        let dir = self.root.join(&v);
        let _lock = self.lock(&format!("yank {v}"), &[])?;
        let mut report = YankReport { version: v.clone(), ..YankReport::default() };
        if !dir.is_dir() {
            report.left.push(format!("{v} is not at `{}`", self.url));
            report.done = true;
            return Ok(report);
        }
        let link = self.root.join(LATEST_LINK);
        let link_here = fs::read_link(&link).is_ok_and(|t| t == Path::new(&v));
        let mut channels = self.read_channels()?;
        let stable_here = channels.as_ref().and_then(|c| c.stable.as_ref()).is_some_and(|e| e.version == v);
        if link_here {
            report.blocked_by.push("latest".into());
        }
        if stable_here {
            report.blocked_by.push(format!("{CHANNELS_FILE} (stable)"));
        }
        let mut names: Vec<String> = fs::read_dir(&dir)
            .map_err(|e| Failure::io("read", &dir, e))?
            .filter_map(|e| e.ok().and_then(|e| e.file_name().into_string().ok()))
            .collect();
        names.sort();
        report.removed = names.iter().map(|n| format!("{v}/{n}")).collect();
        if force {
            report.removed.extend(report.blocked_by.iter().map(|b| format!("{b} (pointed at {v})")));
        }
        if !apply || (!report.blocked_by.is_empty() && !force) {
            return Ok(report);
        }
        // The pointers first (never a pointer at a missing version), then the directory, in
        // one rename out of sight; a yank killed after it leaves only what the next run sweeps.
        if stable_here {
            if let Some(c) = channels.as_mut() {
                c.stable = None;
                // Its signed form named the yanked version: removed (yank holds no key).
                let signed = self.root.join(relman_manifest::CHANNELS_SIGNED_FILE);
                if let Err(e) = fs::remove_file(&signed) {
                    if e.kind() != io::ErrorKind::NotFound {
                        return Err(Failure::io("remove", &signed, e));
                    }
                }
                fsutil::write_atomic(&self.root.join(CHANNELS_FILE), c.to_json().as_bytes())?;
            }
        }
        if link_here {
            fs::remove_file(&link).map_err(|e| Failure::io("remove", &link, e))?;
        }
        let gone = self.root.join(format!("{STAGING_PREFIX}yank-{v}-{}", std::process::id()));
        fs::rename(&dir, &gone).map_err(|e| Failure::io("remove", &dir, e))?;
        relman_install::crashpoint::point("yanked");
        fs::remove_dir_all(&gone).map_err(|e| Failure::io("remove", &gone, e))?;
        self.write_versions_page()?;
        report.done = true;
        Ok(report)
    }
}

/// The destination holds other bytes under an immutable version: name both digests.
fn collision(url: &str, version: &str, f: &LocalFile, found: &relman_manifest::Sha256) -> Failure {
    Failure::publish(format!(
        "`{url}` already holds a different `{}` for {version}: published sha256 {found}, this release has {}",
        f.name, f.sha256
    ))
    .with_hint("a published version is immutable: release a new version instead")
}

/// Copies `f` to `to`, hashing on the way; refuses bytes that differ from the recorded digest.
fn copy_verified(f: &LocalFile, to: &Path) -> Result<(), Failure> {
    let mut src = File::open(&f.path).map_err(|e| Failure::io("open", &f.path, e))?;
    let out = File::create(to).map_err(|e| Failure::io("create", to, e))?;
    let mut w = HashingWriter::new(out);
    // In two halves: the crash suite kills a copy in the middle ("copying:<name>").
    io::copy(&mut io::Read::take(&mut src, f.size / 2), &mut w).map_err(|e| Failure::io("copy", &f.path, e))?;
    relman_install::crashpoint::point(&format!("copying:{}", f.name));
    io::copy(&mut src, &mut w).map_err(|e| Failure::io("copy", &f.path, e))?;
    let (out, sha, _) = w.finish();
    out.sync_all().map_err(|e| Failure::io("sync", to, e))?;
    if sha != f.sha256 {
        let _ = fs::remove_file(to);
        return Err(Failure::publish(format!(
            "`{}` changed since it was packaged: manifest says {}, file has {sha}",
            f.path.display(),
            f.sha256
        ))
        .with_hint("run `relman package` again"));
    }
    Ok(())
}

/// Points `link` at `target` atomically (a new link renamed over the old one).
fn replace_link(link: &Path, target: &str) -> Result<(), Failure> {
    if let Ok(meta) = fs::symlink_metadata(link) {
        if !meta.file_type().is_symlink() {
            return Err(Failure::publish(format!("`{}` exists and is not a symlink", link.display()))
                .with_hint("remove it; relman manages `latest` as a link to the version directory"));
        }
    }
    let tmp = link.with_file_name(format!("{TEMP_PREFIX}latest-{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    #[cfg(unix)]
    std::os::unix::fs::symlink(target, &tmp).map_err(|e| Failure::io("create link", &tmp, e))?;
    #[cfg(not(unix))]
    fs::write(&tmp, target).map_err(|e| Failure::io("write", &tmp, e))?;
    fs::rename(&tmp, link).map_err(|e| Failure::io("replace", link, e))
}
