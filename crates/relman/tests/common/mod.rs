//! Test context: real git repositories in temp dirs, the real `relman` binary, a real HTTP
//! server on loopback. Every test gets its own directories and ports, so tests run in parallel.

#![allow(dead_code)]

pub mod forge_double;
pub mod moto;
pub mod sigstore_doubles;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    #[track_caller]
    pub fn ok(&self) -> &Self {
        assert_eq!(self.code, 0, "expected success\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    #[track_caller]
    pub fn fails(&self, code: i32, needle: &str) -> &Self {
        assert_eq!(self.code, code, "expected exit {code}\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        assert!(self.stderr.contains(needle), "stderr does not contain {needle:?}\nstderr:\n{}", self.stderr);
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

pub struct Project {
    pub tmp: tempfile::TempDir,
    pub dir: PathBuf,
}

pub const HOST: &str = env!("RELMAN_TEST_HOST");

impl Project {
    /// An empty git repository with a committer configured.
    pub fn empty() -> Project {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("proj");
        fs::create_dir_all(&dir).unwrap();
        let p = Project { tmp, dir };
        p.git(&["init", "-q", "-b", "main"]);
        p.git(&["config", "user.email", "dev@example.com"]);
        p.git(&["config", "user.name", "Dev"]);
        p.git(&["config", "commit.gpgsign", "false"]);
        p.git(&["config", "tag.gpgsign", "false"]);
        p
    }

    /// A Cargo project with one binary `hello` that prints its version; committed.
    pub fn cargo() -> Project {
        let p = Project::empty();
        p.write(
            "Cargo.toml",
            "[package]\nname = \"hello\"\nversion = \"0.1.0\"\nedition = \"2021\"\nrepository = \"https://example.com/acme/hello\"\n\n[dependencies]\n",
        );
        p.write("src/main.rs", "fn main() { println!(\"hello {}\", env!(\"CARGO_PKG_VERSION\")); }\n");
        p.write("README.md", "# hello\n");
        p.write(".gitignore", "/target\n/dist\n");
        let out = Command::new("cargo")
            .current_dir(&p.dir)
            .args(["generate-lockfile", "--offline"])
            .env_remove("CARGO_TARGET_DIR")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        p.commit("initial");
        p
    }

    /// A project built by a generic command producing one file per target.
    pub fn generic(targets: &[&str]) -> Project {
        let p = Project::empty();
        let list = targets.iter().map(|t| format!("\"{t}\"")).collect::<Vec<_>>().join(", ");
        p.write(
            "relman.toml",
            &format!(
                "[project]\nname = \"tool\"\n\n[build]\ntargets = [{list}]\nbinaries = [\"tool\"]\n\
                 command = \"test -e out/{{version}}/{{target}}/tool$( case {{target}} in *windows*) echo .exe;; esac ) || {{ mkdir -p out/{{version}}/{{target}} && printf '#!/bin/sh\\\\necho tool {{version}} {{target}}\\\\n' > out/{{version}}/{{target}}/tool$( case {{target}} in *windows*) echo .exe;; esac ) && chmod +x out/{{version}}/{{target}}/tool*; }}\"\n\
                 output = \"out/{{version}}/{{target}}/{{binary}}{{exe}}\"\n\n[package]\nfiles = [\"README.md\", \"docs/guide.md\"]\n"
            ),
        );
        p.write("README.md", "# tool\n");
        p.write("docs/guide.md", "guide\n");
        p.write(".gitignore", "/out\n/dist\n");
        p.commit("initial");
        p
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) {
        let path = self.dir.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    pub fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git").current_dir(&self.dir).args(args).output().expect("git");
        assert!(out.status.success(), "git {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    pub fn commit(&self, msg: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", msg]);
    }

    pub fn tag(&self, tag: &str) {
        self.git(&["tag", "-a", tag, "-m", tag]);
    }

    /// Runs relman in the project directory.
    pub fn relman(&self, args: &[&str]) -> Out {
        run_in(&self.dir, args)
    }

    /// A directory beside the project (not inside the repository).
    pub fn outside(&self, name: &str) -> PathBuf {
        let p = self.tmp.path().join(name);
        fs::create_dir_all(&p).unwrap();
        p
    }
}

pub fn run_in(dir: &Path, args: &[&str]) -> Out {
    run_with_env(dir, args, &[])
}

impl Project {
    /// Runs relman in the project directory with extra environment variables.
    pub fn relman_env(&self, args: &[&str], env: &[(&str, &str)]) -> Out {
        run_with_env(&self.dir, args, env)
    }
}

pub fn run_with_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_relman"))
        .current_dir(dir)
        .args(args)
        .env_remove("RELMAN_PASSWORD")
        .env_remove("COSIGN_PASSWORD")
        // A CI runner's own identity token must never sign a test's release.
        .env_remove("SIGSTORE_ID_TOKEN")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        // The test's own environment never leaks in; what the test passes does.
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("CARGO_TARGET_DIR")
        .envs(env.iter().copied())
        .env("CI", "true")
        .output()
        .expect("run relman");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs a tool (not relman), asserting success; returns stdout.
#[track_caller]
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e} (run scripts/setup-test-deps)"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(bytes))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A static file server on 127.0.0.1 for a directory (a directory's URL serves its
/// `index.html`); stops when dropped.
pub struct Server {
    pub url: String,
    server: std::sync::Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    pub fn serve(root: &Path) -> Server {
        let server = std::sync::Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind"));
        let port = server.server_addr().to_ip().expect("ip").port();
        let s = server.clone();
        let root = root.to_path_buf();
        let thread = std::thread::spawn(move || {
            for req in s.incoming_requests() {
                let rel = req.url().trim_start_matches('/').split('?').next().unwrap_or("").to_string();
                let mut path = root.join(rel);
                if path.is_dir() {
                    path = path.join("index.html"); // as static web servers do
                }
                let resp = match fs::read(&path) {
                    Ok(bytes) if path.is_file() => tiny_http::Response::from_data(bytes).boxed(),
                    _ => tiny_http::Response::from_string("not found").with_status_code(404).boxed(),
                };
                let _ = req.respond(resp);
            }
        });
        Server { url: format!("http://127.0.0.1:{port}"), server, thread: Some(thread) }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Lists a .tar.gz archive: (path, mode, mtime, uid, gid, size).
pub fn list_tar_gz(path: &Path) -> Vec<(String, u32, u64, u64, u64, u64)> {
    let f = fs::File::open(path).unwrap();
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(f));
    ar.entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let h = e.header();
            (
                e.path().unwrap().display().to_string(),
                h.mode().unwrap(),
                h.mtime().unwrap(),
                h.uid().unwrap(),
                h.gid().unwrap(),
                h.size().unwrap(),
            )
        })
        .collect()
}

/// Runs relman in `dir` until it reaches the crash point `point`, then SIGKILLs it.
pub fn kill_at(dir: &Path, args: &[&str], point: &str) {
    kill_at_with(dir, args, point, &[])
}

/// [`kill_at`] with extra environment variables.
pub fn kill_at_with(dir: &Path, args: &[&str], point: &str, env: &[(&str, &str)]) {
    let ready = dir.join(format!("../crash-ready-{}", std::process::id()));
    let log = dir.join(format!("../crash-stderr-{}", std::process::id()));
    let _ = fs::remove_file(&ready);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_relman"))
        .current_dir(dir)
        .args(args)
        .env("CI", "true")
        .env("RELMAN_TEST_CRASH_AT", point)
        .env("RELMAN_TEST_CRASH_READY", &ready)
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("CARGO_TARGET_DIR")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while !ready.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            let err = fs::read_to_string(&log).unwrap_or_default();
            panic!("relman {args:?} ended ({status}) before reaching the point `{point}`:\n{err}");
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(120), "`{point}` not reached in 120 s");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let _ = fs::remove_file(&ready);
    let _ = fs::remove_file(&log);
}

/// The repository's root (where `scripts/` and `.venv/` are).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// Every file below `dir` (symlinks not followed), depth first.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = e.path();
        if path.is_dir() && !path.is_symlink() {
            out.extend(files_under(&path));
        } else if path.is_file() {
            out.push(path);
        }
    }
    out
}

/// relman's own release, as the runners install it: a project named `relman` whose build
/// puts the relman under test in each archive, released as `version` to `dir:<root>/releases`.
/// Returns the release's index.json.
pub fn relman_release(root: &Path, version: &str) -> PathBuf {
    let p = Project::empty();
    p.write(
        "relman.toml",
        &format!(
            "[project]\nname = \"relman\"\n\n[build]\ntargets = [\"{}\"]\nbinaries = [\"relman\"]\n\
             command = \"mkdir -p out/{{target}} && cp \\\"$RELMAN_BIN\\\" out/{{target}}/relman\"\n\
             output = \"out/{{target}}/{{binary}}{{exe}}\"\n\n[release]\nto = [\"dir:{}\"]\n",
            HOST,
            root.join("releases").display()
        ),
    );
    p.write(".gitignore", "/out\n/dist\n");
    p.commit("feat: relman");
    p.tag(&format!("v{version}"));
    // The binary under test without its debug information (a tenth of the size): the
    // archive every simulated job downloads stays small.
    std::fs::create_dir_all(root).unwrap();
    let bin = root.join("relman-stripped");
    let st = Command::new("strip")
        .arg("--strip-all")
        .arg("-o")
        .arg(&bin)
        .arg(env!("CARGO_BIN_EXE_relman"))
        .status()
        .unwrap();
    assert!(st.success());
    run_with_env(&p.dir, &["release"], &[("RELMAN_BIN", bin.to_str().unwrap())]).ok();
    let index = root.join("releases").join(version).join("index.json");
    assert!(index.is_file());
    std::mem::forget(p.tmp);
    index
}

/// Builds the busybox base layout (scripts/make-base-image, beside `p`) and pushes it to
/// `reg` as `base:1`; returns its digest.
pub fn base_image(p: &Project, reg: &relman_oci::testing::Registry) -> String {
    let dir = p.outside("base-layout");
    let _ = fs::remove_dir_all(&dir);
    run(Command::new(repo_root().join("scripts/make-base-image")).arg(&dir));
    run(Command::new("skopeo")
        .args(["copy", "-q", "--all", "--dest-tls-verify=false"])
        .arg(format!("oci:{}:base", dir.display()))
        .arg(format!("docker://{}/base:1", reg.host)));
    let raw = run(Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{}/base:1", reg.host)));
    format!("sha256:{}", crate::common::sha256_hex(raw.as_bytes()))
}

/// `skopeo inspect --raw` of a reference on a plain-HTTP registry: the manifest's digest and
/// JSON.
pub fn skopeo_raw(reference: &str) -> (String, serde_json::Value) {
    let raw = run(Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{reference}")));
    (format!("sha256:{}", sha256_hex(raw.as_bytes())), serde_json::from_str(&raw).unwrap())
}
