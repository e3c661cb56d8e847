//! `install.sh`, the POSIX installer published with every release: run for real under dash,
//! bash and busybox sh (with busybox's own tar, wget and sha256sum), piped from `curl` as users
//! run it, against a loopback HTTP server; every refusal (a flipped byte, a wrong signature, a
//! missing platform, hostile archives) leaves nothing installed and nothing outside the prefix.

mod common;

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

const PASS: (&str, &str) = ("RELMAN_PASSWORD", "install-sh-test");

/// A directory of tools for one shell run: busybox's applets (all of them, or none), plus the
/// named system tools, minus `without`. The script sees only this PATH.
fn toolbox(dir: &Path, busybox: bool, system: &[&str], without: &[&str]) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    let link = |name: &str, target: &Path| {
        let at = dir.join(name);
        let _ = fs::remove_file(&at);
        std::os::unix::fs::symlink(target, at).unwrap();
    };
    if busybox {
        let bb = which("busybox");
        let list = Command::new(&bb).arg("--list").output().expect("busybox --list");
        for name in String::from_utf8_lossy(&list.stdout).lines() {
            if !without.contains(&name) {
                link(name, &bb);
            }
        }
    }
    for name in system {
        if !without.contains(name) {
            link(name, &which(name));
        }
    }
    dir.to_path_buf()
}

fn which(tool: &str) -> PathBuf {
    let out = Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().unwrap();
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(!path.is_empty(), "`{tool}` is not installed; run scripts/setup-test-deps");
    PathBuf::from(path)
}

/// The coreutils/system tools the script uses outside busybox.
const SYSTEM: &[&str] = &[
    "sh",
    "cat",
    "cp",
    "mv",
    "rm",
    "mkdir",
    "mktemp",
    "chmod",
    "cut",
    "sed",
    "awk",
    "tr",
    "wc",
    "uname",
    "find",
    "grep",
    "gzip",
    "tar",
    "zstd",
    "getconf",
    "ldd",
    "sha256sum",
    "openssl",
    "curl",
    "printf",
];

/// One shell to run the script under, with its PATH.
struct Shell {
    name: &'static str,
    argv: Vec<String>,
    path: PathBuf,
}

fn shells(root: &Path) -> Vec<Shell> {
    vec![
        Shell {
            name: "dash",
            argv: vec![which("dash").display().to_string()],
            path: toolbox(&root.join("dash"), false, SYSTEM, &[]),
        },
        Shell {
            name: "bash",
            argv: vec![which("bash").display().to_string()],
            path: toolbox(&root.join("bash"), false, SYSTEM, &[]),
        },
        // busybox's tar, gzip, wget and sha256sum; openssl from the system (busybox has none).
        Shell {
            name: "busybox sh",
            argv: vec![which("busybox").display().to_string(), "sh".into()],
            path: toolbox(&root.join("busybox"), true, &["openssl"], &[]),
        },
    ]
}

/// The result of one installer run in a sandbox: its own HOME, TMPDIR and prefix.
struct Run {
    code: i32,
    stderr: String,
    prefix: PathBuf,
    sandbox: PathBuf,
}

/// `curl -fsSL URL | SHELL -s -- ARGS`, as a user runs it. The curl runs outside the sandbox
/// PATH (it is the user's), the script inside it.
fn run_piped(shell: &Shell, script_url: &str, args: &[&str], sandbox: &Path) -> Run {
    let home = sandbox.join("home");
    let tmp = sandbox.join("tmp");
    let prefix = sandbox.join("prefix");
    fs::create_dir_all(&home).unwrap();
    fs::create_dir_all(&tmp).unwrap();
    let mut cmd = format!(
        "{} -fsSL '{script_url}' | PATH='{}' HOME='{}' TMPDIR='{}'",
        which("curl").display(),
        shell.path.display(),
        home.display(),
        tmp.display()
    );
    for a in &shell.argv {
        cmd.push_str(&format!(" '{a}'"));
    }
    cmd.push_str(&format!(" -s -- --prefix '{}'", prefix.display()));
    for a in args {
        cmd.push_str(&format!(" '{a}'"));
    }
    let out = Command::new("bash").args(["-o", "pipefail", "-c", &cmd]).output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).to_string(),
        prefix,
        sandbox: sandbox.to_path_buf(),
    }
}

impl Run {
    #[track_caller]
    fn ok(&self, shell: &str) -> &Self {
        assert_eq!(self.code, 0, "{shell}: expected success:\n{}", self.stderr);
        self.left_nothing_behind(shell);
        self
    }

    /// A refusal: the exit code, the message, nothing installed, nothing left anywhere.
    #[track_caller]
    fn refused(&self, shell: &str, code: i32, needle: &str) {
        assert_eq!(self.code, code, "{shell}: expected exit {code}:\n{}", self.stderr);
        assert!(self.stderr.contains(needle), "{shell}: stderr does not say {needle:?}:\n{}", self.stderr);
        assert!(!self.prefix.exists(), "{shell}: the prefix was created: {:?}", files_under(&self.prefix));
        self.left_nothing_behind(shell);
    }

    /// HOME and TMPDIR are empty again; nothing beside them but the prefix.
    #[track_caller]
    fn left_nothing_behind(&self, shell: &str) {
        for d in ["home", "tmp"] {
            let left = files_under(&self.sandbox.join(d));
            assert!(left.is_empty(), "{shell}: left in {d}: {left:?}");
        }
        let mut names: Vec<String> =
            fs::read_dir(&self.sandbox).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into()).collect();
        names.sort();
        names.retain(|n| n != "home" && n != "tmp" && n != "prefix");
        assert!(names.is_empty(), "{shell}: written outside the prefix: {names:?}");
    }
}

/// A project released to a `dir:` destination served over HTTP, with `[installer] url` set
/// to the server's URL. Returns (project, served root, server).
fn released(signed: bool, targets: &[&str], version: &str) -> (Project, PathBuf, Server) {
    let p = Project::generic(targets);
    let served = p.outside("served");
    let server = Server::serve(&served);
    let mut cfg = fs::read_to_string(p.path("relman.toml")).unwrap();
    cfg.push_str(&format!("\n[installer]\nurl = \"{}\"\n", server.url));
    p.write("relman.toml", &cfg);
    if signed {
        p.relman_env(&["keygen"], &[PASS]).ok();
    }
    p.commit("installer url");
    p.tag(&format!("v{version}"));
    let to = format!("dir:{}", served.display());
    p.relman_env(&["release", "--promote", "--to", &to], &[PASS]).ok();
    (p, served, server)
}

#[test]
fn a_signed_release_installs_from_curl_pipe_sh_under_every_shell() {
    let (p, served, server) = released(true, &[HOST], "1.4.0");
    let script = served.join("1.4.0/install.sh");
    let text = fs::read_to_string(&script).unwrap();
    assert!(text.contains("-----BEGIN PUBLIC KEY-----"), "the public key is embedded");
    assert!(text.contains(&format!("RELEASES_URL='{}'", server.url)), "the URL is embedded");
    // Listed in checksums.txt and signed like every other download.
    let sums = fs::read_to_string(served.join("1.4.0/checksums.txt")).unwrap();
    assert!(sums.contains(&format!("{}  install.sh", sha256_hex(text.as_bytes()))), "{sums}");
    assert!(served.join("1.4.0/install.sh.sig").is_file() && served.join("1.4.0/install.sh.sigstore.json").is_file());
    p.relman(&["verify", &served.join("1.4.0").display().to_string(), "--key", "relman.pub", "--require-signatures"])
        .ok();
    let notes = fs::read_to_string(served.join("1.4.0/release-notes.md")).unwrap();
    assert!(notes.contains(&format!("curl -fsSL {}/1.4.0/install.sh | sh", server.url)), "{notes}");

    let work = p.outside("runs");
    for shell in shells(&work.join("tools")) {
        let sandbox = work.join(shell.name.replace(' ', "-"));
        let run = run_piped(&shell, &format!("{}/1.4.0/install.sh", server.url), &[], &sandbox);
        run.ok(shell.name);
        assert!(run.stderr.contains("sha256 and signatures verified"), "{}: {}", shell.name, run.stderr);
        let bin = run.prefix.join("bin/tool");
        let out = Command::new(&bin).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("tool 1.4.0 {HOST}"), "{}", shell.name);
        let entries: Vec<String> = fs::read_dir(run.prefix.join("bin"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into())
            .collect();
        assert_eq!(entries, vec!["tool".to_string()], "{}: no temp files left in bin", shell.name);
    }
}

#[test]
fn install_sh_takes_a_version_latest_and_each_sha256_tool() {
    let (p, served, server) = released(false, &[HOST], "2.0.0");
    // A second release: the 2.0.0 script installs 2.1.0 with --version and with latest.
    p.write("README.md", "# tool\n\nnewer\n");
    p.commit("fix: newer");
    p.tag("v2.1.0");
    p.relman(&["release", "--promote", "--to", &format!("dir:{}", served.display())]).ok();
    assert!(served.join("latest/index.json").is_file());
    let url = format!("{}/2.0.0/install.sh", server.url);
    let work = p.outside("runs");
    let dash = &shells(&work.join("tools"))[0];
    for (i, (args, want)) in
        [(vec![], "2.0.0"), (vec!["--version", "2.1.0"], "2.1.0"), (vec!["--version", "latest"], "2.1.0")]
            .into_iter()
            .enumerate()
    {
        let run = run_piped(dash, &url, &args, &work.join(format!("v{i}")));
        run.ok("dash");
        let out = Command::new(run.prefix.join("bin/tool")).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("tool {want} {HOST}"), "{args:?}");
    }
    // Each sha256 tool on its own: sha256sum, shasum, openssl.
    for (tool, without) in [
        ("sha256sum", vec!["shasum", "openssl"]),
        ("shasum", vec!["sha256sum", "openssl"]),
        ("openssl", vec!["sha256sum", "shasum"]),
    ] {
        let mut system: Vec<&str> = SYSTEM.to_vec();
        system.push("shasum");
        system.push("perl");
        let shell = Shell {
            name: "dash",
            argv: dash.argv.clone(),
            path: toolbox(&work.join(format!("tools-{tool}")), false, &system, &without),
        };
        let run = run_piped(&shell, &url, &[], &work.join(format!("tool-{tool}")));
        run.ok(tool);
    }
    // No sha256 tool at all: a clear refusal.
    let mut system: Vec<&str> = SYSTEM.to_vec();
    system.retain(|t| !["sha256sum", "openssl"].contains(t));
    let shell =
        Shell { name: "dash", argv: dash.argv.clone(), path: toolbox(&work.join("tools-none"), false, &system, &[]) };
    run_piped(&shell, &url, &[], &work.join("none")).refused("dash", 7, "no sha256 tool found");
    // A version that is not there names it.
    run_piped(dash, &url, &["--version", "9.9.9"], &work.join("missing")).refused("dash", 2, "is 9.9.9 released?");
    run_piped(dash, &url, &["--version", "../x"], &work.join("badversion")).refused("dash", 1, "is not a version");
}

#[test]
fn install_sh_refuses_a_flipped_byte_and_wrong_signatures() {
    let (p, served, server) = released(true, &[HOST], "1.0.0");
    let v = served.join("1.0.0");
    let archive = format!("tool-1.0.0-{HOST}.tar.gz");
    let work = p.outside("runs");
    let shells = shells(&work.join("tools"));
    type Tamper<'a> = Box<dyn Fn(&Path) + 'a>;
    let cases: Vec<(&str, Tamper, i32, &str)> = vec![
        ("flipped byte", Box::new(|d: &Path| flip_byte(&d.join(&archive), 50)), 3, "do not use this download"),
        (
            "index.json signed with another file signature",
            Box::new(|d: &Path| {
                fs::copy(d.join(format!("{archive}.sig")), d.join("index.json.sig")).map(|_| ()).unwrap()
            }),
            4,
            "the signature of index.json does not verify",
        ),
        (
            "archive signature swapped",
            Box::new(|d: &Path| {
                fs::copy(d.join("checksums.txt.sig"), d.join(format!("{archive}.sig"))).map(|_| ()).unwrap()
            }),
            4,
            &*Box::leak(format!("the signature of {archive} does not verify").into_boxed_str()),
        ),
        (
            "index.json edited to match a swapped archive",
            Box::new(|d: &Path| {
                flip_byte(&d.join(&archive), 60);
                rewrite_index(d, &archive);
            }),
            4,
            "the signature of index.json does not verify",
        ),
        (
            "signature missing",
            Box::new(|d: &Path| fs::remove_file(d.join(format!("{archive}.sig"))).unwrap()),
            2,
            ".sig",
        ),
    ];
    for (what, tamper, code, needle) in cases {
        let copy = served.join(format!("t-{}", what.replace(' ', "-")));
        copy_dir(&v, &copy);
        tamper(&copy);
        for shell in &shells {
            let sandbox = work.join(format!("{}-{}", what.replace(' ', "-"), shell.name.replace(' ', "-")));
            let base = format!("{}/{}", server.url, copy.file_name().unwrap().to_string_lossy());
            run_piped(shell, &format!("{}/1.0.0/install.sh", server.url), &["--base-url", &base], &sandbox).refused(
                &format!("{what} under {}", shell.name),
                code,
                needle,
            );
        }
    }
}

#[test]
fn install_sh_lists_the_platforms_when_this_one_is_missing() {
    let (p, _served, server) = released(false, &["aarch64-apple-darwin", "riscv64gc-unknown-linux-gnu"], "0.3.0");
    let work = p.outside("runs");
    for shell in shells(&work.join("tools")) {
        let run = run_piped(
            &shell,
            &format!("{}/0.3.0/install.sh", server.url),
            &[],
            &work.join(shell.name.replace(' ', "-")),
        );
        run.refused(shell.name, 5, "no archive for this machine");
        assert!(
            run.stderr.contains("aarch64-apple-darwin") && run.stderr.contains("riscv64gc-unknown-linux-gnu"),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains("--target"), "{}", run.stderr);
    }
}

#[test]
fn install_sh_refuses_hostile_archives_and_writes_nothing() {
    let (p, served, server) = released(false, &[HOST], "1.0.0");
    let v = served.join("1.0.0");
    let archive = format!("tool-1.0.0-{HOST}.tar.gz");
    let base = format!("tool-1.0.0-{HOST}");
    let work = p.outside("runs");
    let shells = shells(&work.join("tools"));
    // (case, entries: (name, kind, link target)) — kind 0 file, 2 symlink, 1 hard link.
    type Entries<'a> = Vec<(String, u8, &'a str)>;
    let cases: Vec<(&str, Entries, &str)> = vec![
        ("dot-dot", vec![(format!("{base}/tool"), b'0', ""), ("../escaped".into(), b'0', "")], "unsafe path"),
        (
            "dot-dot-inside",
            vec![(format!("{base}/tool"), b'0', ""), (format!("{base}/../../escaped"), b'0', "")],
            "unsafe path",
        ),
        (
            "absolute",
            vec![(format!("{base}/tool"), b'0', ""), ("/tmp/relman-install-sh-escaped".into(), b'0', "")],
            "unsafe path",
        ),
        ("symlink-out", vec![(format!("{base}/tool"), b'2', "/etc/passwd")], "link"),
        (
            "symlink-then-write",
            vec![(format!("{base}/lib"), b'2', "../../.."), (format!("{base}/tool"), b'0', "")],
            "link",
        ),
        ("hard-link", vec![(format!("{base}/x"), b'0', ""), (format!("{base}/tool"), b'1', "/etc/passwd")], "link"),
    ];
    for (what, entries, needle) in cases {
        let copy = served.join(format!("h-{what}"));
        copy_dir(&v, &copy);
        write_hostile_tar_gz(&copy.join(&archive), &entries);
        rewrite_index(&copy, &archive);
        for shell in &shells {
            let sandbox = work.join(format!("{what}-{}", shell.name.replace(' ', "-")));
            let url = format!("{}/{}", server.url, copy.file_name().unwrap().to_string_lossy());
            run_piped(shell, &format!("{}/1.0.0/install.sh", server.url), &["--base-url", &url], &sandbox).refused(
                &format!("{what} under {}", shell.name),
                6,
                needle,
            );
        }
    }
    assert!(!Path::new("/tmp/relman-install-sh-escaped").exists());
}

#[test]
fn the_generated_script_passes_shellcheck() {
    for signed in [false, true] {
        let (_p, served, _server) = released(signed, &[HOST], "1.0.0");
        let out = Command::new(which("shellcheck"))
            .args(["-s", "sh", "-S", "style"])
            .arg(served.join("1.0.0/install.sh"))
            .output()
            .unwrap();
        assert!(out.status.success(), "shellcheck (signed: {signed}):\n{}", String::from_utf8_lossy(&out.stdout));
    }
}

#[test]
fn a_project_without_the_installer_publishes_none() {
    let p = Project::generic(&[HOST]);
    let mut cfg = fs::read_to_string(p.path("relman.toml")).unwrap();
    cfg.push_str("\n[installer]\nenabled = false\n");
    p.write("relman.toml", &cfg);
    p.commit("no installer");
    p.tag("v1.0.0");
    p.relman(&["release"]).ok();
    assert!(!p.path("dist/1.0.0/install.sh").exists());
    assert!(!fs::read_to_string(p.path("dist/1.0.0/checksums.txt")).unwrap().contains("install.sh"));
}

/// Flips one bit at `at` percent into the file.
fn flip_byte(path: &Path, at: usize) {
    let mut bytes = fs::read(path).unwrap();
    let i = bytes.len() * at / 100;
    bytes[i] ^= 0x01;
    fs::write(path, bytes).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap().flatten() {
        if e.file_type().unwrap().is_file() {
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// index.json updated to the archive's new size and sha256 (what an attacker who controls the
/// server, but not the key, can do).
fn rewrite_index(dir: &Path, archive: &str) {
    let bytes = fs::read(dir.join(archive)).unwrap();
    let mut index: serde_json::Value = serde_json::from_slice(&fs::read(dir.join("index.json")).unwrap()).unwrap();
    for p in index["platforms"].as_array_mut().unwrap() {
        if p["file"] == archive {
            p["size"] = bytes.len().into();
            p["sha256"] = sha256_hex(&bytes).into();
        }
    }
    fs::write(dir.join("index.json"), serde_json::to_string_pretty(&index).unwrap()).unwrap();
}

/// A tar.gz with raw entry names (the `tar` crate refuses `..` and absolute paths through its
/// safe setters, so the names are written into the header directly).
fn write_hostile_tar_gz(path: &Path, entries: &[(String, u8, &str)]) {
    let f = fs::File::create(path).unwrap();
    let gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    for (name, kind, link) in entries {
        let data: &[u8] = if *kind == b'0' { b"#!/bin/sh\necho pwned\n" } else { b"" };
        let mut h = tar::Header::new_gnu();
        {
            let gnu = h.as_gnu_mut().unwrap();
            gnu.name[..name.len()].copy_from_slice(name.as_bytes());
            gnu.linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
        h.set_entry_type(tar::EntryType::new(*kind));
        h.set_mode(0o755);
        h.set_size(data.len() as u64);
        h.set_mtime(0);
        h.set_cksum();
        b.append(&h, data).unwrap();
    }
    let gz = b.into_inner().unwrap();
    gz.finish().unwrap().flush().unwrap();
}

/// A tar.gz of one file `name` with `mode` and `size` zero bytes (compressed about 1000:1).
fn write_tar_gz_with(path: &Path, name: &str, mode: u32, size: u64) {
    let f = fs::File::create(path).unwrap();
    let gz = flate2::write::GzEncoder::new(f, flate2::Compression::best());
    let mut b = tar::Builder::new(gz);
    let mut h = tar::Header::new_gnu();
    h.set_path(name).unwrap();
    h.set_mode(mode);
    h.set_size(size);
    h.set_mtime(0);
    h.set_cksum();
    b.append(&h, std::io::repeat(0).take(size)).unwrap();
    let gz = b.into_inner().unwrap();
    gz.finish().unwrap().flush().unwrap();
}

/// install.sh is as strict as `relman install`: an old signed release served as the version
/// asked for is refused (with --version, and with --base-url too), a `latest` older than the
/// installer is refused as a rollback, setuid and setgid files are refused, an archive that
/// unpacks past the cap is refused before it is unpacked, and a keyless release is refused
/// unless --allow-unverified, which then says what was not checked.
#[test]
fn install_sh_checks_the_version_caps_unpacking_and_refuses_what_it_cannot_check() {
    let (p, served, server) = released(true, &[HOST], "1.0.0");
    let work = p.outside("runs");
    let shells = shells(&work.join("tools"));
    let script = format!("{}/1.0.0/install.sh", server.url);
    // The signed 1.0.0, served where 1.1.0 should be.
    copy_dir(&served.join("1.0.0"), &served.join("1.1.0"));
    for shell in &shells {
        let name = shell.name.replace(' ', "-");
        run_piped(shell, &script, &["--version", "1.1.0"], &work.join(format!("old-{name}"))).refused(
            shell.name,
            3,
            "index.json is tool 1.0.0, not the 1.1.0 asked for",
        );
        let url = format!("{}/1.1.0", server.url);
        run_piped(shell, &script, &["--version", "1.1.0", "--base-url", &url], &work.join(format!("old-b-{name}")))
            .refused(shell.name, 3, "not the 1.1.0 asked for");
        // --base-url alone takes what is there: the signed 1.0.0.
        run_piped(shell, &script, &["--base-url", &url], &work.join(format!("any-{name}"))).ok(shell.name);
    }
    // A newer installer (1.2.0) whose `latest` is rolled back to 1.0.0.
    let newer = served.join("newer");
    fs::create_dir_all(&newer).unwrap();
    let text = fs::read_to_string(served.join("1.0.0/install.sh")).unwrap();
    fs::write(newer.join("install.sh"), text.replace("VERSION='1.0.0'", "VERSION='1.2.0'")).unwrap();
    assert!(fs::read_to_string(newer.join("install.sh")).unwrap().contains("VERSION='1.2.0'"));
    for shell in &shells {
        let name = shell.name.replace(' ', "-");
        run_piped(
            shell,
            &format!("{}/newer/install.sh", server.url),
            &["--version", "latest"],
            &work.join(format!("rb-{name}")),
        )
        .refused(shell.name, 3, "older than this installer's 1.2.0");
    }

    // Unsigned copies (the attacker controls the server, not the key): setuid, setgid, a bomb.
    let (q, served_u, server_u) = released(false, &[HOST], "1.0.0");
    let v = served_u.join("1.0.0");
    let archive = format!("tool-1.0.0-{HOST}.tar.gz");
    let base = format!("tool-1.0.0-{HOST}");
    let work = q.outside("runs");
    let script = format!("{}/1.0.0/install.sh", server_u.url);
    for (what, mode, size, needle) in [
        ("setuid", 0o4755, 20, "setuid or setgid"),
        ("setgid", 0o2755, 20, "setuid or setgid"),
        ("bomb", 0o755, 300 << 20, "would unpack to 314572800 bytes, more than"),
    ] {
        let copy = served_u.join(format!("h-{what}"));
        copy_dir(&v, &copy);
        write_tar_gz_with(&copy.join(&archive), &format!("{base}/tool"), mode, size);
        rewrite_index(&copy, &archive);
        let url = format!("{}/h-{what}", server_u.url);
        let shells: Vec<&Shell> =
            if what == "bomb" { shells.iter().take(1).collect() } else { shells.iter().collect() };
        for shell in shells {
            let sandbox = work.join(format!("{what}-{}", shell.name.replace(' ', "-")));
            run_piped(shell, &script, &["--base-url", &url], &sandbox).refused(
                &format!("{what} under {}", shell.name),
                6,
                needle,
            );
        }
    }

    // The installer of a keyless release (KEYLESS set, as relman renders it for
    // sign.mode = "keyless"): refused, then installed with --allow-unverified, saying so.
    let keyless = served_u.join("keyless");
    copy_dir(&v, &keyless);
    let text = fs::read_to_string(v.join("install.sh")).unwrap();
    fs::write(keyless.join("install.sh"), text.replace("KEYLESS=''", "KEYLESS='1'")).unwrap();
    let script = format!("{}/keyless/install.sh", server_u.url);
    let url = format!("{}/keyless", server_u.url);
    for shell in &shells {
        let name = shell.name.replace(' ', "-");
        run_piped(shell, &script, &["--base-url", &url], &work.join(format!("kl-{name}"))).refused(
            shell.name,
            4,
            "signed keylessly (Sigstore), which this installer cannot check",
        );
        let r =
            run_piped(shell, &script, &["--base-url", &url, "--allow-unverified"], &work.join(format!("kl-ok-{name}")));
        r.ok(shell.name);
        assert!(r.stderr.contains("NOT checked: the Sigstore signatures"), "{}", r.stderr);
    }
}
