//! Sigstore's service doubles for keyless tests: `scripts/sigstore-services.mjs` (npm
//! `@sigstore/mock`'s Fulcio CA, CT log and Rekor, a fake Actions OIDC token service) and
//! sigstore-js's verdict on a bundle (`scripts/sigstore-verify.mjs`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

use super::repo_root;

/// The signer's identity, shaped as real Fulcio writes it for a GitHub workflow.
pub const IDENTITY: &str = "https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0";

/// One `scripts/sigstore-services.mjs`: fresh keys, its own trusted root. Stops when dropped
/// (its standard input closes).
pub struct Sigstore {
    child: Child,
    _stdin: ChildStdin,
    pub url: String,
    pub trusted_root: PathBuf,
}

impl Sigstore {
    pub fn start() -> Sigstore {
        let mut child = Command::new("node")
            .arg(repo_root().join("scripts/sigstore-services.mjs"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node (run scripts/setup-test-deps for .tools/)");
        let stdin = child.stdin.take().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        Sigstore {
            child,
            _stdin: stdin,
            url: v["url"].as_str().unwrap().to_string(),
            trusted_root: PathBuf::from(v["trusted_root"].as_str().unwrap()),
        }
    }

    pub fn issuer(&self) -> String {
        format!("{}/oidc", self.url)
    }

    /// The Actions variables relman reads, for a token whose subject is `IDENTITY` and with
    /// `extra` query parameters.
    pub fn actions_env(&self, extra: &str) -> Vec<(String, String)> {
        vec![
            (
                "ACTIONS_ID_TOKEN_REQUEST_URL".into(),
                format!("{}/oidc/token?api-version=2.0&sub={IDENTITY}{extra}", self.url),
            ),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN".into(), "runner-bearer-secret".into()),
        ]
    }

    pub fn stats(&self) -> serde_json::Value {
        serde_json::from_str(&http("GET", &format!("{}/__stats", self.url), None)).unwrap()
    }

    pub fn post(&self, path: &str, body: &str) {
        http("POST", &format!("{}{path}", self.url), Some(body));
    }

    /// A token fetched as a CI would, with `query` (e.g. `audience=other`).
    pub fn token(&self, query: &str) -> String {
        let url = format!("{}/oidc/token?sub={IDENTITY}&{query}", self.url);
        let out = Command::new("curl").args(["-fsS", "-H", "Authorization: bearer x", &url]).output().unwrap();
        assert!(out.status.success());
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["value"].as_str().unwrap().to_string()
    }
}

impl Drop for Sigstore {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn http(method: &str, url: &str, body: Option<&str>) -> String {
    let mut c = Command::new("curl");
    c.args(["-fsS", "-X", method, url]);
    if let Some(b) = body {
        c.args(["-H", "Content-Type: application/json", "--data", b]);
    }
    let out = c.output().unwrap();
    assert!(out.status.success(), "{method} {url}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// sigstore-js's verdict on one bundle (`artifact`: `None` for a DSSE bundle).
pub fn sigstore_js(
    root: &Path,
    bundle: &Path,
    artifact: Option<&Path>,
    identity: &str,
    issuer: &str,
) -> serde_json::Value {
    let mut c = Command::new("node");
    c.arg(repo_root().join("scripts/sigstore-verify.mjs"))
        .arg("--trusted-root")
        .arg(root)
        .arg("--bundle")
        .arg(bundle)
        .args(["--identity", identity, "--issuer", issuer]);
    if let Some(a) = artifact {
        c.arg("--artifact").arg(a);
    }
    let out = c.output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
}

/// A generic project signed keylessly at `sig`'s services, tagged v1.0.0.
pub fn keyless_project(sig: &Sigstore) -> super::Project {
    let p = super::Project::generic(&[super::HOST]);
    let mut cfg = std::fs::read_to_string(p.path("relman.toml")).unwrap();
    cfg.push_str(&format!("\n[sign]\nmode = \"keyless\"\nfulcio_url = \"{}\"\nrekor_url = \"{}\"\n", sig.url, sig.url));
    p.write("relman.toml", &cfg);
    p.commit("sign keylessly");
    p.tag("v1.0.0");
    p
}

pub fn env_refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}
