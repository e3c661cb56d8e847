//! Locating the peer tools and running them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub const SETUP: &str = "run `scripts/setup-test-deps` from the repository root first";

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

pub fn fixture(name: &str) -> PathBuf {
    tests_dir().join("fixtures").join(name)
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The output of a peer tool: exit success, stdout, stderr.
pub struct Ran {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    /// stdout's last line as JSON (the scripts print one JSON line per result).
    pub fn json(&self) -> serde_json::Value {
        let line = self.stdout.lines().last().unwrap_or_default();
        serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not JSON ({e}): stdout {:?} stderr {:?}", self.stdout, self.stderr))
    }

    pub fn expect_ok(self, what: &str) -> Self {
        assert!(self.ok, "{what} failed:\nstdout: {}\nstderr: {}", self.stdout, self.stderr);
        self
    }
}

pub fn run(cmd: &mut Command) -> Ran {
    let out = cmd.output().unwrap_or_else(|e| panic!("could not run {cmd:?}: {e}; {SETUP}"));
    Ran {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `node` with `.tools/node_modules` on its module path, after checking sigstore-js is there.
pub fn node(script: &str) -> Command {
    static CHECKED: OnceLock<PathBuf> = OnceLock::new();
    let modules = CHECKED.get_or_init(|| {
        let modules = repo_root().join(".tools/node_modules");
        for package in ["@sigstore/verify", "@sigstore/bundle", "@sigstore/protobuf-specs"] {
            let manifest = modules.join(package).join("package.json");
            assert!(manifest.is_file(), "sigstore-js is missing: no {}; {SETUP}", manifest.display());
        }
        let version = Command::new("node").arg("--version").output();
        assert!(
            version.as_ref().is_ok_and(|o| o.status.success()),
            "`node` is not on PATH ({version:?}); install Node.js 20 and {SETUP}"
        );
        modules
    });
    let mut cmd = Command::new("node");
    cmd.arg(tests_dir().join("js").join(script)).env("NODE_PATH", modules);
    cmd
}

/// `.venv/bin/python` running one of `tests/py/`, after checking the modules it needs import.
pub fn python(script: &str) -> Command {
    static CHECKED: OnceLock<PathBuf> = OnceLock::new();
    let python = CHECKED.get_or_init(|| {
        let python = repo_root().join(".venv/bin/python");
        assert!(python.is_file(), "no Python virtualenv at {}; {SETUP}", python.display());
        let probe = run(Command::new(&python)
            .args(["-c", "import securesystemslib.dsse, securesystemslib.signer, cryptography, nacl.secret"]));
        assert!(probe.ok, "securesystemslib / cryptography / PyNaCl missing: {}; {SETUP}", probe.stderr);
        python
    });
    let mut cmd = Command::new(python);
    cmd.arg(tests_dir().join("py").join(script)).env_remove("RELMAN_TEST_PASSPHRASE");
    cmd
}
