//! `[hooks]`: the project's own commands at fixed points of a release, and `[smoke]`: the host
//! target's built binary run before anything is published — the "validate" half of a release
//! pipeline.
//!
//! Each hook runs with `sh -c` in the project root, in order, with `RELMAN_HOOK`,
//! `RELMAN_VERSION`, `RELMAN_COMMIT` (when known), `RELMAN_DIST` (dist/<version>) and
//! `SOURCE_DATE_EPOCH` set; its output goes to `dist/<version>/logs/hook-<point>-<n>.log`. A
//! failing hook stops the release (exit 12) with its last meaningful lines and the log's path.

use std::fs;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use relman_manifest::Failure;

use crate::config::HostSmokeConfig;
use crate::planned::Planned;
use crate::report::Reporter;
use crate::settings::Settings;

/// Where a hook runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Point {
    /// After the release checks, before anything is built.
    Before,
    /// After every target is built (and the host smoke test), before packaging.
    AfterBuild,
    /// After packaging, before the first write at any destination.
    BeforePublish,
    /// After every pointer moved at every destination.
    AfterPromote,
}

impl Point {
    pub fn name(self) -> &'static str {
        match self {
            Point::Before => "before",
            Point::AfterBuild => "after_build",
            Point::BeforePublish => "before_publish",
            Point::AfterPromote => "after_promote",
        }
    }

    fn commands(self, s: &Settings) -> &[String] {
        let h = &s.hooks;
        match self {
            Point::Before => &h.before,
            Point::AfterBuild => &h.after_build,
            Point::BeforePublish => &h.before_publish,
            Point::AfterPromote => &h.after_promote,
        }
    }
}

/// The last few non-empty lines of a command's output, for an error's hint.
fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim_end).filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(n);
    lines[start..].join("\n")
}

/// Runs the hooks of `point` for `version` (nothing when there are none).
pub fn run(
    s: &Settings,
    point: Point,
    version: &str,
    commit: Option<&str>,
    epoch: Option<i64>,
    reporter: &dyn Reporter,
) -> Result<(), Failure> {
    let commands = point.commands(s);
    if commands.is_empty() {
        return Ok(());
    }
    let version_dir = s.dist.join(version);
    let logs = version_dir.join("logs");
    crate::fsutil::create_dir_all(&logs)?;
    for (i, cmd) in commands.iter().enumerate() {
        reporter.step(&format!("hook {}: {cmd}", point.name()));
        let log_path = logs.join(format!("hook-{}-{}.log", point.name(), i + 1));
        let log = fs::File::create(&log_path).map_err(|e| Failure::io("create", &log_path, e))?;
        let log_err = log.try_clone().map_err(|e| Failure::io("open", &log_path, e))?;
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(cmd)
            .current_dir(&s.root)
            .envs(&s.env)
            .env("RELMAN_HOOK", point.name())
            .env("RELMAN_VERSION", version)
            .env("RELMAN_DIST", &version_dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        if let Some(commit) = commit {
            c.env("RELMAN_COMMIT", commit);
        }
        if let Some(t) = epoch {
            c.env("SOURCE_DATE_EPOCH", t.to_string());
        }
        let status =
            c.status().map_err(|e| Failure::check(format!("hook {} `{cmd}` could not start: {e}", point.name())))?;
        if !status.success() {
            let text = fs::read_to_string(&log_path).unwrap_or_default();
            let code = status.code().map(|c| c.to_string()).unwrap_or_else(|| "a signal".into());
            let tail = last_lines(&text, 5);
            return Err(Failure::check(format!("hook {} `{cmd}` failed (exit {code})", point.name())).with_hint(
                format!(
                    "{}full log: {}",
                    if tail.is_empty() { String::new() } else { format!("{tail}\n") },
                    log_path.display()
                ),
            ));
        }
    }
    Ok(())
}

/// The hooks of `point` for a planned release.
pub fn run_planned(planned: &Planned, point: Point, reporter: &dyn Reporter) -> Result<(), Failure> {
    let m = &planned.manifest;
    run(&planned.settings, point, &m.version, Some(&m.commit), Some(m.source_date_epoch), reporter)
}

/// `[smoke]`: runs the host target's built binary with `args` (in an empty temp directory,
/// stdin closed, at most `timeout` seconds) and requires exit 0 and `expect` in its output.
/// Skipped, with a note, when the host target is not among this run's targets.
pub fn host_smoke(planned: &Planned, reporter: &dyn Reporter) -> Result<(), Failure> {
    let Some(cfg) = &planned.settings.host_smoke else { return Ok(()) };
    let host = crate::settings::host_target();
    if !planned.manifest.targets.contains(&host) {
        reporter.step(&format!("smoke: skipped, the host target {host} is not built in this run"));
        return Ok(());
    }
    let binary = match (&cfg.binary, planned.settings.binaries.as_slice()) {
        (Some(b), _) => b.clone(),
        (None, [first, ..]) => first.clone(),
        (None, []) => return Ok(()),
    };
    if !planned.settings.binaries.contains(&binary) {
        return Err(Failure::config(format!("`smoke.binary` `{binary}` is not among build.binaries")));
    }
    let path = planned.build_dir(&host).join(format!("{binary}{}", crate::settings::exe_suffix(&host)));
    let shown = format!("{binary} {}", cfg.args.join(" "));
    reporter.step(&format!("smoke: {}", shown.trim_end()));
    let (status, output) = run_with_timeout(&path, cfg, &planned.manifest.version)?;
    let expect = cfg.expect.as_ref().map(|e| e.replace("{version}", &planned.manifest.version));
    let failed = |why: String| {
        Failure::build(format!("the smoke test of `{binary}` ({host}) failed: {why}")).with_hint(format!(
            "ran `{}`; its output:\n{}",
            shown.trim_end(),
            last_lines(&output, 5)
        ))
    };
    match status {
        None => return Err(failed(format!("no exit within {} s", cfg.timeout.unwrap_or(60)))),
        Some(code) if code != 0 => return Err(failed(format!("exit {code}"))),
        _ => {}
    }
    if let Some(e) = &expect {
        if !output.contains(e.as_str()) {
            return Err(failed(format!("its output does not contain {e:?}")));
        }
    }
    reporter.step(&format!("smoke: passed{}", expect.map(|e| format!(" (printed {e:?})")).unwrap_or_default()));
    Ok(())
}

fn run_with_timeout(
    path: &std::path::Path,
    cfg: &HostSmokeConfig,
    version: &str,
) -> Result<(Option<i32>, String), Failure> {
    let dir = tempfile::tempdir().map_err(|e| Failure::internal(format!("temp dir for the smoke test: {e}")))?;
    let mut child = Command::new(path)
        .args(cfg.args.iter().map(|a| a.replace("{version}", version)))
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Failure::build(format!("the smoke test could not start `{}`: {e}", path.display())))?;
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let readers = (
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = out.read_to_string(&mut s);
            s
        }),
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        }),
    );
    let limit = Duration::from_secs(cfg.timeout.unwrap_or(60));
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st.code().unwrap_or(-1)),
            Ok(None) if started.elapsed() >= limit => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(Failure::build(format!("the smoke test of `{}`: {e}", path.display()))),
        }
    };
    let output = format!("{}{}", readers.0.join().unwrap_or_default(), readers.1.join().unwrap_or_default());
    Ok((status, output))
}
