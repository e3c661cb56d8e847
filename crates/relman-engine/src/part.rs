//! Release parts: what one runner of a build matrix built, and the merge that joins them.
//!
//! `relman build --target T --part DIR` writes a self-contained part: the target's staged
//! outputs, their build logs and `relman-part.json` (version, commit, plan id, and every file
//! with its size and sha256), written last. `relman merge DIR...` on the job that packages
//! checks that every part belongs to this release (same project, version, commit and plan), that
//! every planned target comes from exactly one part, and that every file has the digest its part
//! recorded (read once, while it is linked or copied into place); then it records the targets as
//! built, so the build stage skips them and the rest of the release runs as on one machine.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use relman_manifest::{Failure, Sha256};
use serde::{Deserialize, Serialize};

use crate::planned::Planned;
use crate::report::Reporter;

/// The record at the root of a part directory.
pub const PART_FILE: &str = "relman-part.json";
const PART_FORMAT: u32 = 1;

/// `relman-part.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartRecord {
    pub format_version: u32,
    /// The relman that wrote the part.
    pub relman: String,
    pub project: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    pub commit: String,
    /// [`Planned::plan_id`] of the runner's plan.
    pub plan: Sha256,
    pub targets: Vec<PartTarget>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartTarget {
    pub target: String,
    /// The build command as the runner ran it.
    pub command: String,
    /// The staged outputs, under `<target>/` in the part.
    pub files: Vec<PartFile>,
    /// The build log, under `logs/` in the part (absent when the build was skipped and left none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<PartFile>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartFile {
    /// Path inside the part directory (`/`-separated).
    pub path: String,
    pub size: u64,
    pub sha256: Sha256,
}

/// What `write_part` wrote.
#[derive(Clone, Debug, Serialize)]
pub struct WrittenPart {
    pub dir: PathBuf,
    pub targets: Vec<String>,
    pub files: usize,
    pub bytes: u64,
}

/// Writes the part of `targets` (already built) into `dir`: the outputs (hard links where the
/// file system allows), the logs, then `relman-part.json`. A `dir` that holds an earlier part is
/// replaced; one that holds anything else is refused.
pub fn write_part(planned: &Planned, targets: &[String], dir: &Path) -> Result<WrittenPart, Failure> {
    if dir.exists() {
        let empty = fs::read_dir(dir).map_err(|e| Failure::io("read", dir, e))?.next().is_none();
        if !empty && !dir.join(PART_FILE).is_file() {
            return Err(Failure::usage(format!(
                "`{}` is not empty and holds no {PART_FILE}: a part is written only into a new directory",
                dir.display()
            ))
            .with_hint("choose another --part directory, e.g. dist/parts/<target>"));
        }
        fs::remove_dir_all(dir).map_err(|e| Failure::io("replace", dir, e))?;
    }
    crate::fsutil::create_dir_all(&dir.join("logs"))?;
    let mut record = PartRecord {
        format_version: PART_FORMAT,
        relman: env!("CARGO_PKG_VERSION").to_string(),
        project: planned.manifest.project.name.clone(),
        version: planned.manifest.version.clone(),
        tag: planned.manifest.tag.clone(),
        commit: planned.manifest.commit.clone(),
        plan: planned.plan_id()?,
        targets: Vec::new(),
    };
    let (mut files, mut bytes) = (0, 0);
    for target in targets {
        let out_dir = dir.join(target);
        crate::fsutil::create_dir_all(&out_dir)?;
        let names = crate::build::output_names(planned, target);
        let sources: Vec<PathBuf> = names.iter().map(|n| planned.build_dir(target).join(n)).collect();
        for (name, src) in names.iter().zip(&sources) {
            if !src.is_file() {
                return Err(Failure::build(format!(
                    "`{target}` has no built `{name}` at `{}` to put in the part",
                    src.display()
                ))
                .with_hint(format!("run `relman build --target {target}` first")));
            }
            crate::build::link_or_copy(src, &out_dir.join(name))?;
        }
        let mut part_files = Vec::new();
        for ((name, src), digest) in names.iter().zip(&sources).zip(relman_install::hash::sha256_files(&sources)) {
            let (sha256, size) = digest.map_err(|e| Failure::io("read", src, e))?;
            files += 1;
            bytes += size;
            part_files.push(PartFile { path: format!("{target}/{name}"), size, sha256 });
        }
        let log_name = format!("build-{target}.log");
        let log_src = planned.logs_dir().join(&log_name);
        let log = if log_src.is_file() {
            let dst = dir.join("logs").join(&log_name);
            fs::copy(&log_src, &dst).map_err(|e| Failure::io("copy", &log_src, e))?;
            let (sha256, size) = relman_install::hash::sha256_file(&dst).map_err(|e| Failure::io("read", &dst, e))?;
            Some(PartFile { path: format!("logs/{log_name}"), size, sha256 })
        } else {
            None
        };
        let (_, _, command) = crate::build::build_command(planned, target)?;
        record.targets.push(PartTarget { target: target.clone(), command, files: part_files, log });
    }
    let json = serde_json::to_string_pretty(&record).map_err(|e| Failure::internal(e.to_string()))? + "\n";
    crate::fsutil::write_atomic(&dir.join(PART_FILE), json.as_bytes())?;
    Ok(WrittenPart { dir: dir.to_path_buf(), targets: targets.to_vec(), files, bytes })
}

/// Reads a part's record.
pub fn read_part(dir: &Path) -> Result<PartRecord, Failure> {
    let path = dir.join(PART_FILE);
    let text = fs::read_to_string(&path).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            Failure::usage(format!("`{}` is not a relman part: it has no {PART_FILE}", dir.display()))
                .with_hint("pass the directories `relman build --target T --part DIR` wrote (one per runner)")
        } else {
            Failure::io("read", &path, e)
        }
    })?;
    let record: PartRecord = serde_json::from_str(&text)
        .map_err(|e| Failure::verify(format!("`{}` is not a valid part record: {e}", path.display())))?;
    if record.format_version != PART_FORMAT {
        return Err(Failure::verify(format!(
            "`{}` has format_version {}; this relman reads {PART_FORMAT}",
            path.display(),
            record.format_version
        )));
    }
    Ok(record)
}

/// What `merge` did.
#[derive(Clone, Debug, Serialize)]
pub struct MergeReport {
    pub version: String,
    pub commit: String,
    /// Each target and the part it came from.
    pub targets: Vec<(String, PathBuf)>,
    pub files: usize,
    pub bytes: u64,
}

/// Joins the parts in `dirs` into this release's build directories (see the module docs).
/// Nothing is placed until every record has been checked; a file whose bytes differ from its
/// record is refused and its target left unrecorded.
pub fn merge(planned: &Planned, dirs: &[PathBuf], reporter: &dyn Reporter) -> Result<MergeReport, Failure> {
    reporter.stage("merge");
    if dirs.is_empty() {
        return Err(Failure::usage("no parts to merge").with_hint("relman merge dist/parts/*"));
    }
    let plan = planned.plan_id()?;
    let m = &planned.manifest;
    let mut by_target: BTreeMap<String, (PathBuf, PartTarget)> = BTreeMap::new();
    for dir in dirs {
        let record = read_part(dir)?;
        let shown = dir.display();
        let differs = |what: &str, theirs: &str, ours: &str| {
            Failure::verify(format!("part `{shown}` is for {what} `{theirs}`; this release is {what} `{ours}`"))
                .with_hint("merge only the parts of one workflow run (the same tag and commit)")
        };
        if record.project != m.project.name {
            return Err(differs("project", &record.project, &m.project.name));
        }
        if record.version != m.version {
            return Err(differs("version", &record.version, &m.version));
        }
        if record.commit != m.commit {
            return Err(differs("commit", &record.commit, &m.commit));
        }
        if record.plan != plan {
            return Err(Failure::verify(format!(
                "part `{shown}` was built from another plan (plan {}, this release's is {}): relman {} or relman.toml, targets or SOURCE_DATE_EPOCH differ",
                record.plan.short(),
                plan.short(),
                record.relman
            ))
            .with_hint("run every job of the workflow with the same relman version and the same SOURCE_DATE_EPOCH"));
        }
        for t in record.targets {
            if !m.targets.contains(&t.target) {
                return Err(Failure::verify(format!(
                    "part `{shown}` holds target `{}`, which this release does not plan ({})",
                    t.target,
                    m.targets.join(", ")
                )));
            }
            if let Some((other, earlier)) = by_target.get(&t.target) {
                let clash = earlier
                    .files
                    .iter()
                    .find_map(|a| t.files.iter().find(|b| b.path == a.path && b.sha256 != a.sha256).map(|b| (a, b)));
                return Err(match clash {
                    Some((a, b)) => Failure::verify(format!(
                        "`{}` differs between parts: `{}` has sha256:{}, `{shown}` has sha256:{}",
                        a.path,
                        other.display(),
                        a.sha256.as_str(),
                        b.sha256.as_str()
                    )),
                    None => Failure::verify(format!(
                        "target `{}` is in two parts: `{}` and `{shown}`",
                        t.target,
                        other.display()
                    )),
                }
                .with_hint("each target must be built by exactly one runner: remove the extra part"));
            }
            let (_, _, command) = crate::build::build_command(planned, &t.target)?;
            if t.command != command {
                return Err(Failure::verify(format!(
                    "part `{shown}` built `{}` with `{}`; this release builds it with `{command}`",
                    t.target, t.command
                )));
            }
            let expected = crate::build::output_names(planned, &t.target);
            let listed: Vec<String> =
                t.files.iter().map(|f| f.path.rsplit('/').next().unwrap_or_default().to_string()).collect();
            if let Some(missing) = expected.iter().find(|n| !listed.contains(n)) {
                return Err(Failure::verify(format!(
                    "part `{shown}` has no `{missing}` for `{}` (its record lists {})",
                    t.target,
                    listed.join(", ")
                )));
            }
            for f in t.files.iter().chain(t.log.iter()) {
                if f.path.split('/').any(|c| c.is_empty() || c == "." || c == "..") || f.path.starts_with('/') {
                    return Err(Failure::verify(format!("part `{shown}` lists an unsafe path `{}`", f.path)));
                }
            }
            by_target.insert(t.target.clone(), (dir.clone(), t));
        }
    }
    let missing: Vec<&String> = m.targets.iter().filter(|t| !by_target.contains_key(*t)).collect();
    if !missing.is_empty() {
        return Err(Failure::verify(format!(
            "no part for target{} {} (parts given: {})",
            if missing.len() == 1 { "" } else { "s" },
            missing.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", "),
            dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ")
        ))
        .with_hint("a build job failed or its artifact was not downloaded: re-run the failed jobs"));
    }

    // Only regular files are taken from a part, reached through real directories: a symlink
    // (to `/etc/hostname`, to another part), a device or a FIFO is refused before anything is
    // placed, so nothing outside the part is packaged and signed.
    for (dir, t) in by_target.values() {
        for f in t.files.iter().chain(t.log.iter()) {
            let mut at = dir.clone();
            for component in f.path.split('/') {
                at.push(component);
                let meta = fs::symlink_metadata(&at).map_err(|e| Failure::io("read", &at, e))?;
                let last = at == dir.join(&f.path);
                let what = if meta.file_type().is_symlink() {
                    Some("a symbolic link")
                } else if last && !meta.is_file() {
                    Some(if meta.is_dir() { "a directory" } else { "not a regular file (a device, FIFO or socket)" })
                } else {
                    None
                };
                if let Some(what) = what {
                    return Err(Failure::verify(format!(
                        "part `{}`: `{}` is {what}; a part holds regular files only",
                        dir.display(),
                        at.strip_prefix(dir).unwrap_or(&at).display()
                    ))
                    .with_hint("the part was altered after `relman build --part` wrote it: rebuild it"));
                }
            }
        }
    }

    // Every record checked: place the files, each read once (hashed through the link, or while
    // it is copied), on all cores.
    let mut jobs: Vec<(PathBuf, PathBuf, PartFile)> = Vec::new();
    for (target, (dir, t)) in &by_target {
        let build_dir = planned.build_dir(target);
        crate::fsutil::create_dir_all(&build_dir)?;
        for f in &t.files {
            let name = f.path.rsplit('/').next().unwrap_or_default();
            jobs.push((dir.join(&f.path), build_dir.join(name), f.clone()));
        }
        if let Some(log) = &t.log {
            crate::fsutil::create_dir_all(&planned.logs_dir())?;
            jobs.push((dir.join(&log.path), planned.logs_dir().join(format!("build-{target}.log")), log.clone()));
        }
    }
    let results = place_all(&jobs);
    let mut failed = None;
    for ((src, _, f), r) in jobs.iter().zip(results) {
        if let Err(e) = r {
            failed.get_or_insert(match e {
                PlaceError::Io(e) => Failure::io("read", src, e),
                PlaceError::Digest(found, size) => Failure::verify(format!(
                    "`{}` does not match its part record: sha256:{} ({size} bytes), recorded sha256:{} ({} bytes)",
                    src.display(),
                    found.as_str(),
                    f.sha256.as_str(),
                    f.size
                ))
                .with_hint("the part was changed after it was built: download it again or re-run its build job"),
            });
        }
    }
    if let Some(f) = failed {
        return Err(f);
    }
    let mut report =
        MergeReport { version: m.version.clone(), commit: m.commit.clone(), targets: Vec::new(), files: 0, bytes: 0 };
    for (target, (dir, t)) in &by_target {
        crate::build::record_built(planned, target)?;
        report.files += t.files.len();
        report.bytes += t.files.iter().map(|f| f.size).sum::<u64>();
        reporter.step(&format!("{target}: {} file(s) from {}", t.files.len(), dir.display()));
        report.targets.push((target.clone(), dir.clone()));
    }
    Ok(report)
}

enum PlaceError {
    Io(io::Error),
    Digest(Sha256, u64),
}

/// Places every `(src, dst, expected)` on all cores; results in order.
fn place_all(jobs: &[(PathBuf, PathBuf, PartFile)]) -> Vec<Result<(), PlaceError>> {
    relman_install::hash::par_map(jobs, |(src, dst, f)| place(src, dst, f))
}

/// Puts `src` at `dst` through a temp name, checking its digest on the way: a hard link is
/// hashed (one read), a copy is hashed while it is written (one read). Renamed into place only
/// when the digest and size match.
fn place(src: &Path, dst: &Path, expected: &PartFile) -> Result<(), PlaceError> {
    let name = dst.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dst.with_file_name(format!("{}{name}", relman_install::lock::TEMP_PREFIX));
    let _ = fs::remove_file(&tmp);
    let result = (|| {
        let (digest, size) = if fs::hard_link(src, &tmp).is_ok() {
            relman_install::hash::sha256_file(&tmp).map_err(PlaceError::Io)?
        } else {
            let mut input = fs::File::open(src).map_err(PlaceError::Io)?;
            let out = fs::File::create(&tmp).map_err(PlaceError::Io)?;
            let mut w = relman_install::hash::HashingWriter::new(io::BufWriter::with_capacity(1 << 20, out));
            io::copy(&mut input, &mut w).map_err(PlaceError::Io)?;
            let (mut out, digest, size) = w.finish();
            out.flush().map_err(PlaceError::Io)?;
            let perms = input.metadata().map_err(PlaceError::Io)?.permissions();
            fs::set_permissions(&tmp, perms).map_err(PlaceError::Io)?;
            (digest, size)
        };
        if digest != expected.sha256 || size != expected.size {
            return Err(PlaceError::Digest(digest, size));
        }
        fs::rename(&tmp, dst).map_err(PlaceError::Io)
    })();
    let _ = fs::remove_file(&tmp);
    result
}
