//! The forge double (`scripts/forge-double`: GitHub's REST API, Gitea/Forgejo's and GitLab's on
//! loopback, as their published API descriptions say), for the tests that publish to forges.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use super::repo_root;

/// A token the double accepts for writing, and one for reading.
pub const RW: &str = "ghp_RelmanTestWrite7x1";
pub const RO: &str = "ghp_RelmanTestRead9k2";

/// The forge double on a free loopback port; killed on drop.
pub struct Double {
    child: Child,
    pub base: String,
}

impl Double {
    pub fn start(extra: &[&str]) -> Double {
        let mut child = Command::new(repo_root().join("scripts/forge-double"))
            .args(["--port", "0", "--token", &format!("{RW}=write"), "--token", &format!("{RO}=read")])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("scripts/forge-double");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let host = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("forge double said {line:?}"));
        Double { child, base: format!("http://{host}") }
    }

    /// A control or API call with curl; the body.
    pub fn call(&self, method: &str, path: &str, body: Option<&str>) -> String {
        let mut cmd = Command::new("curl");
        cmd.args(["-s", "-X", method, &format!("{}{path}", self.base)]);
        cmd.args(["-H", &format!("Authorization: Bearer {RW}"), "-H", "Content-Type: application/json"]);
        if let Some(b) = body {
            cmd.args(["--data-binary", b]);
        }
        let out = cmd.output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn state(&self) -> serde_json::Value {
        serde_json::from_str(&self.call("GET", "/_double/state", None)).unwrap()
    }

    pub fn log(&self) -> Vec<serde_json::Value> {
        serde_json::from_str(&self.call("GET", "/_double/log", None)).unwrap()
    }

    pub fn fault(&self, kind: &str, count: u32, path: &str) {
        self.call("POST", "/_double/fault", Some(&format!(r#"{{"kind":"{kind}","count":{count},"path":"{path}"}}"#)));
    }

    /// The releases of `owner/repo` in the double's state.
    pub fn releases(&self, flavor: &str, repo: &str) -> Vec<serde_json::Value> {
        let s = self.state();
        let repos = s["repos"].as_array().cloned().unwrap_or_default();
        repos
            .iter()
            .find(|r| {
                r["flavor"] == flavor
                    && format!("{}/{}", r["owner"].as_str().unwrap_or(""), r["repo"].as_str().unwrap_or("")) == repo
            })
            .and_then(|r| r["releases"].as_array().cloned())
            .unwrap_or_default()
    }
}

impl Drop for Double {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
