//! `build`: make the binaries for each planned target and stage them under
//! `dist/<version>/build/<target>/`.
//!
//! Cargo projects run `cargo build --release --locked --target T --bin ...` (so a stale
//! lockfile fails); other projects run `build.command` with `{target}` placeholders. The
//! tool's output goes to `dist/<version>/logs/build-<target>.log`; a failure names the target,
//! the command, the log and its last line. Outputs are staged by hard link (copy across file
//! systems), so packaging never depends on the build tool's own directories.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use relman_manifest::{os_arch, Failure};

use crate::planned::Planned;
use crate::report::Reporter;
use crate::settings::BuildKind;

/// Builds `targets` (all planned targets when empty).
pub fn build(planned: &Planned, targets: &[String], reporter: &dyn Reporter) -> Result<(), Failure> {
    reporter.stage("build");
    let s = &planned.settings;
    let selected: Vec<&String> =
        planned.manifest.targets.iter().filter(|t| targets.is_empty() || targets.contains(t)).collect();
    crate::fsutil::create_dir_all(&planned.logs_dir())?;
    for target in selected {
        let (os, arch) = os_arch(target);
        let (program, args, shown) = build_command(planned, target)?;
        // Nothing changed since the last build of this target: same commit, clean tree, same
        // command, every staged output as recorded. Skipped (unless --force-rebuild).
        let stamp_path = planned.build_dir(target).join(BUILD_STAMP);
        let header = stamp_header(planned, &shown);
        if !s.force_rebuild && tree_clean(planned)? {
            if let (Ok(old), Some(now)) = (fs::read_to_string(&stamp_path), staged_outputs_stamp(planned, target)) {
                if old == format!("{header}{now}") {
                    reporter.step(&format!("{target}: unchanged (same commit, command and outputs), not rebuilt"));
                    continue;
                }
            }
        }
        let _ = fs::remove_file(&stamp_path);
        reporter.step(&format!("{target}: {shown}"));
        let log_path = planned.logs_dir().join(format!("build-{target}.log"));
        let (goos, goarch) = relman_manifest::go_os_arch(target);
        let mut env: Vec<(&str, &str)> = vec![
            ("RELMAN_TARGET", target),
            ("RELMAN_OS", &os),
            ("RELMAN_ARCH", &arch),
            ("RELMAN_GOOS", &goos),
            ("RELMAN_GOARCH", &goarch),
            ("RELMAN_COMMIT", &planned.manifest.commit),
        ];
        // Go builds cross-compile from these; `[build] env` still wins.
        if !s.env.contains_key("GOOS") {
            env.push(("GOOS", &goos));
        }
        if !s.env.contains_key("GOARCH") {
            env.push(("GOARCH", &goarch));
        }
        run_logged(planned, &program, &args, &env, &log_path).map_err(|f| {
            Failure::build(format!("build for `{target}` {}: `{shown}`", f.message))
                .with_hint(f.hint.unwrap_or_default())
        })?;
        stage_outputs(planned, target)?;
        record_built(planned, target)?;
        reporter.step(&format!("{target}: built {}", s.binaries.join(", ")));
    }
    Ok(())
}

/// Per target, what the last build was made from (commit, command, staged outputs).
const BUILD_STAMP: &str = ".relman-build";

/// How `target` is built: the program, its arguments, and the command as shown and recorded.
pub fn build_command(planned: &Planned, target: &str) -> Result<(String, Vec<String>, String), Failure> {
    let s = &planned.settings;
    Ok(match &s.build {
        BuildKind::Cargo => {
            // `cargo zigbuild` for Linux targets when `[build] cross = "zigbuild"`.
            let sub = if zigbuild(s, target) { "zigbuild" } else { "build" };
            let mut args: Vec<String> =
                [sub, "--release", "--locked", "--target", target].iter().map(|a| a.to_string()).collect();
            for b in &s.binaries {
                args.push("--bin".into());
                args.push(b.clone());
            }
            let shown = format!("cargo {}", args.join(" "));
            ("cargo".to_string(), args, shown)
        }
        BuildKind::Command(cmd) => {
            let cmd = expand_command(planned, cmd, target)?;
            ("sh".to_string(), vec!["-c".to_string(), cmd.clone()], cmd)
        }
    })
}

/// Whether Cargo builds `target` with `cargo zigbuild` (`[build] cross = "zigbuild"`, a Linux
/// target).
pub fn zigbuild(s: &crate::settings::Settings, target: &str) -> bool {
    s.cross == crate::config::Cross::Zigbuild && target.contains("-linux-")
}

fn stamp_header(planned: &Planned, shown: &str) -> String {
    format!("v1\ncommit {}\ncommand {shown}\n", planned.manifest.commit)
}

/// Records that `target`'s staged outputs (as they are now) were built from this commit with
/// this release's command, so a later build skips it: after a build, and after `merge` placed
/// outputs a runner built.
pub fn record_built(planned: &Planned, target: &str) -> Result<(), Failure> {
    let (_, _, shown) = build_command(planned, target)?;
    if let Some(now) = staged_outputs_stamp(planned, target) {
        let stamp_path = planned.build_dir(target).join(BUILD_STAMP);
        crate::fsutil::write_atomic(&stamp_path, format!("{}{now}", stamp_header(planned, &shown)).as_bytes())?;
    }
    Ok(())
}

/// The names of `target`'s staged outputs (binaries with `.exe` on Windows).
pub fn output_names(planned: &Planned, target: &str) -> Vec<String> {
    planned.settings.binaries.iter().map(|b| format!("{b}{}", crate::settings::exe_suffix(target))).collect()
}

/// Whether the working tree is clean (`dist/` and the build outputs aside): a build of a
/// dirty tree is never skipped.
pub fn tree_clean(planned: &Planned) -> Result<bool, Failure> {
    let s = &planned.settings;
    let Ok(repo) = crate::git::Repo::discover(&s.root) else { return Ok(false) };
    let dist = s.dist.strip_prefix(&s.root).map(|p| p.display().to_string()).unwrap_or_else(|_| "dist".into());
    Ok(repo.dirty_paths(&[dist])?.is_empty())
}

/// Each staged output's name, size, mtime and inode (`None` when one is missing).
fn staged_outputs_stamp(planned: &Planned, target: &str) -> Option<String> {
    let dir = planned.build_dir(target);
    let mut out = String::new();
    for name in output_names(planned, target) {
        let meta = fs::metadata(dir.join(&name)).ok()?;
        out.push_str(&format!("{name} {}\n", crate::fsutil::file_identity(&meta)));
    }
    Some(out)
}

/// The placeholders of `build.command`, for one target.
pub const COMMAND_PLACEHOLDERS: &str = "{target} (the Rust triple), {os} / {arch} (linux, macos, windows / x86_64, aarch64), {goos} / {goarch} (Go's: linux, darwin / amd64, arm64), {docker_arch} (amd64, arm64, arm, …), {version}, {commit}, {date} (RFC 3339, from SOURCE_DATE_EPOCH), {exe} (.exe on Windows), {binary} (with one binary)";

/// `build.command` with its placeholders filled in for `target`.
pub fn expand_command(planned: &Planned, cmd: &str, target: &str) -> Result<String, Failure> {
    let s = &planned.settings;
    let (os, arch) = os_arch(target);
    let (goos, goarch) = relman_manifest::go_os_arch(target);
    let mut out = cmd
        .replace("{target}", target)
        .replace("{version}", &planned.manifest.version)
        .replace("{goos}", &goos)
        .replace("{goarch}", &goarch)
        .replace("{docker_arch}", &goarch)
        .replace("{os}", &os)
        .replace("{arch}", &arch)
        .replace("{commit}", &planned.manifest.commit)
        .replace("{date}", &relman_manifest::time::rfc3339(planned.manifest.source_date_epoch))
        .replace("{exe}", crate::settings::exe_suffix(target));
    if out.contains("{binary}") {
        match s.binaries.as_slice() {
            [one] => out = out.replace("{binary}", one),
            _ => {
                return Err(Failure::config(format!(
                    "`build.command` uses {{binary}}, and build.binaries lists {}",
                    s.binaries.len()
                ))
                .with_hint("{binary} stands for the one binary; with several, build them all in one command"))
            }
        }
    }
    Ok(out)
}

/// Runs one of the project's commands in its root with the release's environment
/// (`[build] env`, `RELMAN_VERSION`, `SOURCE_DATE_EPOCH`, and `extra`), its output in
/// `log_path`. A failure says how it ended (`failed (exit 2)`) and hints at the log's last
/// meaningful line.
pub fn run_logged(
    planned: &Planned,
    program: &str,
    args: &[String],
    extra: &[(&str, &str)],
    log_path: &Path,
) -> Result<(), Failure> {
    crate::fsutil::create_dir_all(&planned.logs_dir())?;
    let log = fs::File::create(log_path).map_err(|e| Failure::io("create", log_path, e))?;
    let log_err = log.try_clone().map_err(|e| Failure::io("open", log_path, e))?;
    let status = Command::new(program)
        .args(args)
        .current_dir(&planned.settings.root)
        .envs(&planned.settings.env)
        .envs(extra.iter().copied())
        .env("RELMAN_VERSION", &planned.manifest.version)
        .env("SOURCE_DATE_EPOCH", planned.manifest.source_date_epoch.to_string())
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .status()
        .map_err(|e| Failure::build(format!("failed to start `{program}`: {e}")))?;
    if !status.success() {
        let text = fs::read_to_string(log_path).unwrap_or_default();
        let last = crate::report::last_meaningful_line(&text);
        let code = status.code().map(|c| c.to_string()).unwrap_or_else(|| "a signal".into());
        return Err(Failure::build(format!("failed (exit {code})"))
            .with_hint(format!("{last}\nfull log: {}", log_path.display())));
    }
    Ok(())
}

/// Copies (or links) each expected output into the staging directory.
fn stage_outputs(planned: &Planned, target: &str) -> Result<(), Failure> {
    let s = &planned.settings;
    let dir = planned.build_dir(target);
    crate::fsutil::create_dir_all(&dir)?;
    for b in &s.binaries {
        let src = s.output_path(target, b, &planned.manifest.version);
        if !src.is_file() {
            return Err(Failure::build(format!(
                "build for `{target}` did not produce binary `{b}` at `{}`",
                src.display()
            ))
            .with_hint("check `build.output` (and `build.binaries`) in relman.toml"));
        }
        let name = src.file_name().expect("file").to_owned();
        let dst = dir.join(&name);
        link_or_copy(&src, &dst)?;
    }
    Ok(())
}

/// Puts `src` at `dst` atomically (a hard link, or a copy across file systems), through a
/// temp name beside it. Renaming a link onto a name that already links the same inode does
/// nothing (POSIX), so the temp name is removed afterwards whatever happened.
pub fn link_or_copy(src: &Path, dst: &Path) -> Result<(), Failure> {
    let name = dst.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dst.with_file_name(format!("{}{name}", relman_install::lock::TEMP_PREFIX));
    let _ = fs::remove_file(&tmp);
    if fs::hard_link(src, &tmp).is_err() {
        fs::copy(src, &tmp).map_err(|e| Failure::io("copy", src, e))?;
    }
    relman_install::crashpoint::point(&format!("built:{name}"));
    let renamed = fs::rename(&tmp, dst).map_err(|e| Failure::io("stage", dst, e));
    let _ = fs::remove_file(&tmp);
    renamed
}
