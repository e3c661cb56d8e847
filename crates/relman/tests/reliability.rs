//! The reliability suites, through the real binary: crashes (SIGKILL at named points inside
//! release, publish, promote and install, then a re-run), concurrency (two promotes, two
//! publishes, a held lock), leftovers, tampering with a signed release, and secrets.
//!
//! The crash suite runs a selection of points by default; `RELMAN_FULL_SWEEP=1` runs every
//! point (README, "Reliability suites").

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

const T1: &str = "x86_64-unknown-linux-gnu";
const ARCHIVE: &str = "tool-1.0.0-x86_64-unknown-linux-gnu.tar.gz";

fn full_sweep() -> bool {
    std::env::var_os("RELMAN_FULL_SWEEP").is_some_and(|v| v == "1")
}

/// A clone of `origin` in a new directory beside it: the same commit, so the same release.
fn clone_of(origin: &Project, name: &str) -> PathBuf {
    let dir = origin.outside(name);
    let out = Command::new("git").arg("clone").arg("-q").arg(&origin.dir).arg(&dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    dir
}

/// Every file and link under `dir`, relative, with its bytes (or `-> target` for links).
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in fs::read_dir(dir).unwrap().flatten() {
            let path = e.path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            if e.file_name() == relman_install::lock::LOCK_FILE {
                continue; // who held the lock last, not release content
            }
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.file_type().is_symlink() {
                out.insert(rel, format!("-> {}", fs::read_link(&path).unwrap().display()).into_bytes());
            } else if meta.is_dir() {
                walk(root, &path, out);
            } else {
                out.insert(rel, fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out
}

/// Names under `dir` that a run leaves only when it dies (temp files, staging directories).
fn litter(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(".relman-tmp-")
                || name.starts_with(".relman-staging-")
                || name.ends_with(".relman-tmp")
                || name.starts_with(".latest-")
                || name.ends_with(".relman-new")
                || name.ends_with(".relman-backup")
            {
                found.push(e.path().display().to_string());
            }
            if e.file_type().is_ok_and(|t| t.is_dir()) && name != ".git" {
                stack.push(e.path());
            }
        }
    }
    found
}

/// `latest` and `channels.json` agree, and point at a complete, verifying version.
#[track_caller]
fn pointers_agree(dest: &Path) -> Option<String> {
    let (link, channels) = pointers_complete(dest);
    assert_eq!(link, channels, "latest and channels.json disagree");
    link
}

/// `latest` and `channels.json` each point at a complete, verifying version (a promote killed
/// between its two writes leaves them one apart until the re-run).
#[track_caller]
fn pointers_complete(dest: &Path) -> (Option<String>, Option<String>) {
    let link = fs::read_link(dest.join("latest")).ok().map(|t| t.display().to_string());
    let channels = fs::read_to_string(dest.join("channels.json")).ok().map(|t| {
        serde_json::from_str::<serde_json::Value>(&t).unwrap()["stable"]["version"].as_str().unwrap().to_string()
    });
    for v in link.iter().chain(channels.iter()) {
        assert!(dest.join(v).join("index.json").is_file(), "a pointer at {v}, which is not complete");
        run_in(dest, &["verify", &dest.join(v).display().to_string()]).ok();
    }
    (link, channels)
}

/// Points inside release (build, package, publish) and promote: the default selection, then
/// (full sweep) the rest.
fn release_points() -> Vec<String> {
    let mut points: Vec<String> = vec![
        "built:tool".into(),
        format!("written:{ARCHIVE}"),
        format!("copying:{ARCHIVE}"),
        "staged:index.json".into(),
        "latest-moved".into(),
    ];
    if full_sweep() {
        points.extend(
            [
                "written:checksums.txt",
                "written:index.json",
                "written:release-notes.md",
                "written:release-manifest.json",
                "copying:manifest.json",
                "staged:manifest.json",
                "copying:checksums.txt",
                &format!("staged:{ARCHIVE}"),
                "written:channels.json",
            ]
            .iter()
            .map(|s| s.to_string()),
        );
    }
    points
}

/// SIGKILL `release --promote` at each point, re-run it: exit 0, the release verifies, no
/// leftovers anywhere, `latest` never ahead of content, and the destination byte for byte
/// what an uninterrupted run made.
#[test]
fn crash_suite_release_publish_promote() {
    let origin = Project::generic(&[T1]);
    origin.tag("v1.0.0");
    // SOURCE_DATE_EPOCH stands for the clock (channels.json's expiry): every run the same bytes.
    let epoch = origin.git(&["log", "-1", "--format=%ct"]);
    let sde = [("SOURCE_DATE_EPOCH", epoch.trim())];
    let reference = clone_of(&origin, "reference");
    let ref_dest = origin.outside("ref-dest");
    run_with_env(&reference, &["release", "--promote", "--to", &format!("dir:{}", ref_dest.display())], &sde).ok();
    let expected = tree(&ref_dest);
    assert!(expected.contains_key(&format!("1.0.0/{ARCHIVE}")) && expected.contains_key("latest"));

    let points = release_points();
    for (i, point) in points.iter().enumerate() {
        let work = clone_of(&origin, &format!("crash-{i}"));
        let dest = origin.outside(&format!("crash-{i}-dest"));
        let to = format!("dir:{}", dest.display());
        kill_at_with(&work, &["release", "--promote", "--to", &to], point, &sde);
        // Pointers are never ahead of content, even right after the kill.
        if point == "latest-moved" || point == "written:channels.json" {
            pointers_complete(&dest);
        } else {
            pointers_agree(&dest);
        }
        let out = run_with_env(&work, &["release", "--promote", "--to", &to], &sde);
        assert_eq!(out.code, 0, "re-run after a kill at `{point}`:\n{}", out.stderr);
        assert_eq!(pointers_agree(&dest).as_deref(), Some("1.0.0"), "{point}");
        let mut left = litter(&work);
        left.extend(litter(&dest));
        assert!(left.is_empty(), "after a kill at `{point}`, leftovers: {left:?}");
        let got = tree(&dest);
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "after a kill at `{point}`, the destination holds other files"
        );
        for (name, bytes) in &expected {
            assert!(
                got[name] == *bytes,
                "after a kill at `{point}`, `{name}` differs from an uninterrupted run's:\n{}\n--- expected:\n{}",
                String::from_utf8_lossy(&got[name]),
                String::from_utf8_lossy(bytes)
            );
        }
    }
    eprintln!("crash suite: {} points killed and recovered", points.len());
}

/// SIGKILL `install` after unpacking and after placing the binary, re-run: installed, the
/// receipt written, nothing left in the prefix.
#[test]
fn crash_suite_install() {
    let p = Project::generic(&[T1]);
    p.tag("v1.0.0");
    let dest = p.outside("rel");
    p.relman(&["release", "--promote", "--to", &format!("dir:{}", dest.display())]).ok();
    for point in ["unpacked", "placed:tool"] {
        let prefix = p.outside(&format!("prefix-{}", point.replace(':', "-")));
        let args = ["install", "--from", dest.to_str().unwrap(), "--prefix", prefix.to_str().unwrap(), "--target", T1];
        kill_at(&p.dir, &args, point);
        let out = p.relman(&args);
        assert_eq!(out.code, 0, "re-run after a kill at `{point}`:\n{}", out.stderr);
        assert!(fs::read_to_string(prefix.join("bin/tool")).unwrap().contains("tool 1.0.0"));
        assert!(prefix.join(".relman/receipts/tool.json").is_file());
        let left = litter(&prefix);
        assert!(left.is_empty(), "after a kill at `{point}`: {left:?}");
        let tmp: Vec<_> = fs::read_dir(prefix.join(".relman/tmp")).unwrap().collect();
        assert!(tmp.is_empty(), "after a kill at `{point}`: {tmp:?}");
    }
}

/// Two promotes at once, again and again: each waits for the other (the destination's lock),
/// and `latest` and `channels.json` always agree.
#[test]
fn concurrent_promotes_never_leave_latest_and_channels_disagreeing() {
    let p = Project::generic(&[T1]);
    let dest = p.outside("rel");
    let to = format!("dir:{}", dest.display());
    p.tag("v1.0.0");
    p.relman(&["release", "--to", &to]).ok();
    p.write("two.txt", "2");
    p.commit("two");
    p.tag("v1.1.0");
    p.relman(&["release", "--to", &to]).ok();
    let spawn = |v: &str| {
        Command::new(env!("CARGO_BIN_EXE_relman"))
            .current_dir(&p.dir)
            .args(["promote", v, "--to", &to, "--allow-downgrade", "--json"])
            .env("CI", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    for _ in 0..6 {
        let children = [spawn("1.0.0"), spawn("1.1.0"), spawn("1.0.0")];
        for c in children {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        }
        assert!(pointers_agree(&dest).is_some());
    }
}

/// Two publishes of the same release at once (two checkouts, two CI jobs): both succeed, the
/// destination holds one complete copy.
#[test]
fn concurrent_publishes_of_one_release_converge() {
    let origin = Project::generic(&[T1]);
    origin.tag("v1.0.0");
    let a = clone_of(&origin, "a");
    let b = clone_of(&origin, "b");
    let dest = origin.outside("rel");
    let to = format!("dir:{}", dest.display());
    for dir in [&a, &b] {
        run_in(dir, &["build"]).ok();
        run_in(dir, &["package"]).ok();
    }
    let spawn = |dir: &Path| {
        Command::new(env!("CARGO_BIN_EXE_relman"))
            .current_dir(dir)
            .args(["publish", "--to", &to])
            .env("CI", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let children = [spawn(&a), spawn(&b)];
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    run_in(&a, &["verify", &dest.join("1.0.0").display().to_string()]).ok();
    assert!(litter(&dest).is_empty(), "{:?}", litter(&dest));
}

/// A lock another process holds: exit 13 naming the holder, after the wait
/// `RELMAN_LOCK_TIMEOUT` allows; nothing moved.
#[test]
fn a_held_destination_lock_is_exit_13_naming_its_holder() {
    let p = Project::generic(&[T1]);
    let dest = p.outside("rel");
    let to = format!("dir:{}", dest.display());
    p.tag("v1.0.0");
    p.relman(&["release", "--to", &to]).ok();
    let held =
        relman_install::lock::Lock::acquire_dir(&dest, "the test's destination", "hold it", Duration::ZERO).unwrap();
    let out = p.relman_env(&["promote", "1.0.0", "--to", &to], &[("RELMAN_LOCK_TIMEOUT", "0.2")]);
    out.fails(13, &format!("the destination `{to}` is locked by another relman (lock `{}`)", dest.display()));
    // The lock is the directory itself: no lock file is published with the release.
    assert!(!dest.join(relman_install::lock::LOCK_FILE).exists());
    assert!(out.stderr.contains("hint: wait for it to finish"), "{}", out.stderr);
    assert!(!dest.join("latest").exists() && !dest.join("channels.json").exists());
    let json = p.relman_env(&["promote", "1.0.0", "--to", &to, "--json"], &[("RELMAN_LOCK_TIMEOUT", "0")]);
    assert_eq!(json.code, 13);
    assert_eq!(json.json()["error"]["class"], "busy");
    drop(held);
    p.relman(&["promote", "1.0.0", "--to", &to]).ok();
}

/// Leftovers of killed runs, put there by hand: the next run removes them; and `build` run
/// again leaves no temp link beside its binaries.
#[test]
fn leftovers_of_dead_runs_are_swept_and_rebuilds_leave_none() {
    let p = Project::generic(&[T1]);
    p.tag("v1.0.0");
    let dest = p.outside("rel");
    let to = format!("dir:{}", dest.display());
    p.relman(&["build"]).ok();
    p.relman(&["build"]).ok();
    p.relman(&["build"]).ok();
    assert!(litter(&p.path("dist")).is_empty(), "{:?}", litter(&p.path("dist")));
    fs::create_dir_all(dest.join(".relman-staging-1.0.0-Xy12/sub")).unwrap();
    fs::write(dest.join(".relman-staging-1.0.0-Xy12/sub/big"), vec![0u8; 1 << 20]).unwrap();
    fs::write(dest.join(".relman-tmp-latest-4242"), b"").unwrap();
    fs::write(p.path("dist/1.0.0/.relman-tmp-Ab12"), b"half an archive").unwrap();
    fs::write(p.path(&format!("dist/1.0.0/build/{T1}/.relman-tmp-tool")), b"half").unwrap();
    // An image stage cut short (an OCI publish killed mid-way) left a temp file.
    fs::create_dir_all(p.path("dist/1.0.0/images")).unwrap();
    fs::write(p.path("dist/1.0.0/images/.relman-tmp-layer-77"), b"half a layer").unwrap();
    p.relman(&["release", "--promote", "--to", &to]).ok();
    let mut left = litter(&p.path("dist"));
    left.extend(litter(&dest));
    assert!(left.is_empty(), "{left:?}");
    // A publish killed after the version directory appeared, before the root page: the
    // re-run (everything already there) writes the page.
    fs::remove_file(dest.join("index.html")).unwrap();
    p.relman(&["publish", "--to", &to]).ok();
    assert!(fs::read_to_string(dest.join("index.html")).unwrap().contains("1.0.0"));
}

fn signed_release() -> (Project, PathBuf) {
    let p = Project::generic(&[T1]);
    p.relman_env(&["keygen"], &[("RELMAN_PASSWORD", "pw-for-tamper")]).ok();
    p.commit("key");
    p.tag("v1.0.0");
    let dest = p.outside("rel");
    p.relman_env(
        &["release", "--promote", "--to", &format!("dir:{}", dest.display())],
        &[("RELMAN_PASSWORD", "pw-for-tamper")],
    )
    .ok();
    (p, dest)
}

/// The tamper cases the outside harness found, through `relman verify --key`: an edited
/// manifest field, and a release stripped of every signature with its files rewritten to
/// agree. Both exit 7 naming the file.
#[test]
fn tampered_signed_releases_fail_verify_with_the_key() {
    let (p, dest) = signed_release();
    let dir = dest.join("1.0.0");
    let verify = |dir: &Path| p.relman(&["verify", &dir.display().to_string(), "--key", "relman.pub"]);
    verify(&dir).ok();
    assert!(dir.join("manifest.json.sigstore.json").is_file());

    // An edited commit.
    let edited = dest.join("edited");
    copy_dir(&dir, &edited);
    let path = edited.join("manifest.json");
    let mut m: serde_json::Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    m["commit"] = serde_json::Value::String("0".repeat(40));
    fs::write(&path, serde_json::to_string_pretty(&m).unwrap()).unwrap();
    verify(&edited).fails(7, "manifest.json");
    // Without a key (outside the project, whose relman.toml names one), nothing is checked.
    run_in(&dest, &["verify", &edited.display().to_string()]).ok();

    // Every signature removed, manifest rewritten to list none.
    let stripped = dest.join("stripped");
    copy_dir(&dir, &stripped);
    let path = stripped.join("manifest.json");
    let mut m: serde_json::Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    m["artifacts"].as_array_mut().unwrap().retain(|a| !matches!(a["kind"].as_str(), Some("signature" | "bundle")));
    fs::write(&path, serde_json::to_string_pretty(&m).unwrap()).unwrap();
    for e in fs::read_dir(&stripped).unwrap().flatten() {
        let name = e.file_name().into_string().unwrap();
        if name.ends_with(".sig") || name.ends_with(".sigstore.json") {
            fs::remove_file(e.path()).unwrap();
        }
    }
    let out = verify(&stripped);
    out.fails(7, "problem");
    for name in [ARCHIVE, "checksums.txt", "index.json", "manifest.json"] {
        assert!(
            out.stdout.contains(&format!("{name}: unsigned")) || out.stderr.contains(&format!("{name}: unsigned")),
            "{name} not reported unsigned:\n{}\n{}",
            out.stdout,
            out.stderr
        );
    }
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap().flatten() {
        fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// Unique secrets in every credential variable and URL of the main commands: none appears,
/// plain, base64 or URL-encoded, in any stream or any file relman wrote.
#[test]
fn secrets_never_appear_in_output_or_files() {
    let key_pass = "kp-Zq81xLmW27";
    let reg_pass = "rp-Vb55nQ3Tt9";
    let url_pass = "up-Hh40pK6Ee1";
    let env: Vec<(&str, &str)> = vec![
        ("RELMAN_PASSWORD", key_pass),
        ("COSIGN_PASSWORD", key_pass),
        ("RELMAN_REGISTRY_USERNAME", "ci-bot"),
        ("RELMAN_REGISTRY_PASSWORD", reg_pass),
    ];
    let p = Project::generic(&[T1]);
    let mut outs = Vec::new();
    let keygen = p.relman_env(&["keygen"], &env);
    keygen.ok();
    p.commit("key");
    p.tag("v1.0.0");
    let dest = p.outside("rel");
    let to = format!("dir:{}", dest.display());
    let oci = format!("oci://ci-bot:{url_pass}@127.0.0.1:9/acme");
    let server = Server::serve(&dest);
    let http = server.url.replace("http://", &format!("http://ci-bot:{url_pass}@"));
    let prefix = p.outside("prefix");
    let pfx = prefix.to_str().unwrap().to_string();
    let runs: Vec<(Vec<String>, Option<i32>)> = vec![
        (vec!["release".into(), "--promote".into(), "--to".into(), to.clone()], Some(0)),
        (vec!["release".into(), "--to".into(), oci.clone()], Some(2)),
        (vec!["promote".into(), "1.0.0".into(), "--to".into(), oci.clone()], Some(2)),
        (vec!["verify".into(), format!("{oci}/tool:1.0.0"), "--key".into(), "relman.pub".into()], Some(2)),
        (
            vec![
                "verify".into(),
                format!("{http}/1.0.0/"),
                "--key".into(),
                "relman.pub".into(),
                "--report-dir".into(),
                pfx.clone(),
            ],
            Some(0),
        ),
        (
            vec![
                "install".into(),
                "--from".into(),
                format!("{http}/"),
                "--prefix".into(),
                pfx.clone(),
                "--target".into(),
                T1.into(),
            ],
            Some(0),
        ),
        (
            vec![
                "install".into(),
                "--from".into(),
                format!("{http}/9.9.9/"),
                "--prefix".into(),
                pfx.clone(),
                "--json".into(),
            ],
            None,
        ),
        // Credentials are not stored: upgrade asks for them again (exit 2), without echoing the old.
        (vec!["upgrade".into(), "--prefix".into(), pfx.clone(), "--json".into()], Some(2)),
        (vec!["upgrade".into(), "--prefix".into(), pfx.clone(), "--from".into(), format!("{http}/")], Some(0)),
    ];
    for (args, code) in &runs {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = p.relman_env(&args, &env);
        if let Some(code) = code {
            assert_eq!(out.code, *code, "{args:?}\n{}\n{}", out.stdout, out.stderr);
        }
        outs.push((format!("{args:?}"), out));
    }
    let encodings = |s: &str| {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        vec![s.to_string(), b64.encode(s), b64.encode(format!("ci-bot:{s}")), s.replace('-', "%2D")]
    };
    let needles: Vec<String> = [key_pass, reg_pass, url_pass].iter().flat_map(|s| encodings(s)).collect();
    for (what, out) in &outs {
        for n in &needles {
            assert!(!out.stdout.contains(n) && !out.stderr.contains(n), "`{n}` in the output of {what}");
        }
    }
    let mut files = 0;
    for root in [p.dir.clone(), dest.clone(), prefix.clone()] {
        for (name, bytes) in tree(&root) {
            if name.starts_with(".git/") {
                continue;
            }
            files += 1;
            let text = String::from_utf8_lossy(&bytes);
            for n in &needles {
                assert!(!text.contains(n.as_str()), "`{n}` in {}/{name}", root.display());
            }
        }
    }
    assert!(files > 20, "only {files} files looked at");
}

/// Fault suite at an HTTP release source: `install` and `verify` over a proxy that answers
/// 503, drops connections, stalls and truncates (seeded). Each run succeeds through retries or
/// fails cleanly (network or verify class, one error line) with nothing installed; with the
/// faults off, the same commands succeed.
#[test]
fn fault_suite_install_and_verify_over_a_faulty_http_source() {
    use relman_oci::testing::{FaultPlan, FaultProxy};
    let p = Project::generic(&[T1]);
    p.tag("v1.0.0");
    let dest = p.outside("rel");
    p.relman(&["release", "--promote", "--to", &format!("dir:{}", dest.display())]).ok();
    let server = Server::serve(&dest);
    let upstream = server.url.trim_start_matches("http://").to_string();
    let seeds: u64 = if full_sweep() { 40 } else { 10 };
    let (mut ok, mut clean, mut injected) = (0, 0, 0);
    for seed in 1..=seeds {
        let proxy = FaultProxy::start(&upstream, FaultPlan { seed, rate: 0.2, stall: Duration::from_millis(300) });
        let base = format!("http://{}", proxy.host);
        let prefix = p.outside(&format!("prefix-{seed}"));
        let pfx = prefix.to_str().unwrap();
        for args in [vec!["install", "--from", &base, "--prefix", pfx, "--target", T1], vec!["verify", &base]] {
            let out = run_with_env(&dest, &args, &[("RELMAN_LOCK_TIMEOUT", "0")]);
            match out.code {
                0 => ok += 1,
                7 | 10 | 11 => {
                    clean += 1;
                    assert!(out.stderr.lines().any(|l| l.starts_with("error: ")), "{args:?}: {}", out.stderr);
                    if args[0] == "install" {
                        assert!(!prefix.join("bin/tool").exists(), "a failed install left a binary");
                    }
                }
                code => panic!("{args:?} exit {code}:\n{}", out.stderr),
            }
            assert!(litter(&prefix).is_empty(), "{:?}", litter(&prefix));
        }
        injected += proxy.stats().injected();
        proxy.set_rate(0.0);
        run_with_env(&dest, &["install", "--from", &base, "--prefix", pfx, "--target", T1], &[]).ok();
        assert!(fs::read_to_string(prefix.join("bin/tool")).unwrap().contains("tool 1.0.0"));
    }
    eprintln!(
        "fault suite (http source): {seeds} seeds, {injected} faults injected; {ok} runs succeeded, {clean} failed cleanly; every re-run converged"
    );
    assert!(injected > 0);
    assert!(ok > clean, "retries should carry most runs through: {ok} succeeded, {clean} failed");
}
