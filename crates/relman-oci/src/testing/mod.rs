//! A real registry for integration tests (feature `testing`): Debian's `docker-registry`, i.e.
//! CNCF distribution 2.8, serving a temporary directory on a free loopback port.
//!
//! Each [`Registry`] has its own port and storage, so tests run in parallel. The registry logs
//! (errors only) to `registry.log` in its directory, never to the test's output. Dropping the
//! value kills the process and waits for it. A missing binary is a panic that says how to
//! install it: tests never skip silently.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

mod faults;
pub use faults::{FaultPlan, FaultProxy, FaultStats};

use crate::reference::Reference;
use crate::registry::{Client, ClientOptions};

/// Where Debian installs CNCF distribution.
pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

/// A running registry; killed on drop.
pub struct Registry {
    /// `127.0.0.1:PORT`.
    pub host: String,
    root: TempDir,
    child: Child,
}

impl Registry {
    /// Starts an open registry (no authentication, deletes enabled).
    pub fn start() -> Registry {
        Registry::launch(None)
    }

    /// Starts a registry that wants HTTP basic authentication as `user` / `pass` (htpasswd,
    /// bcrypt). distribution serves it over plain HTTP without complaint.
    pub fn start_with_htpasswd(user: &str, pass: &str) -> Registry {
        Registry::launch(Some((user, pass)))
    }

    fn launch(auth: Option<(&str, &str)>) -> Registry {
        if !Path::new(REGISTRY_BIN).is_file() {
            panic!("{REGISTRY_BIN} is missing (Debian package `docker-registry`): run scripts/setup-test-deps");
        }
        let root = tempfile::Builder::new().prefix("relman-registry-").tempdir().expect("temporary directory");
        let auth_section = match auth {
            Some((user, pass)) => {
                let hash = bcrypt::hash(pass, 4).expect("bcrypt");
                let file = root.path().join("htpasswd");
                fs::write(&file, format!("{user}:{hash}\n")).expect("write htpasswd");
                format!("auth:\n  htpasswd:\n    realm: relman-test\n    path: {}\n", file.display())
            }
            None => String::new(),
        };
        let mut last_log = String::new();
        // A free port can be taken between asking and binding: try a few.
        for _ in 0..5 {
            let port = free_port();
            let host = format!("127.0.0.1:{port}");
            let config = root.path().join("config.yml");
            let storage = root.path().join("storage");
            fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n{auth_section}",
                    storage.display()
                ),
            )
            .expect("write registry config");
            let log_path = root.path().join("registry.log");
            let log = fs::File::create(&log_path).expect("registry log");
            let mut command = Command::new(REGISTRY_BIN);
            command
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log handle"))
                .stderr(log);
            // The registry reads REGISTRY_* variables as configuration overrides.
            for (k, _) in std::env::vars_os() {
                if k.to_string_lossy().starts_with("REGISTRY_") {
                    command.env_remove(k);
                }
            }
            let mut child = command.spawn().unwrap_or_else(|e| panic!("cannot start {REGISTRY_BIN}: {e}"));
            let deadline = Instant::now() + Duration::from_secs(5);
            let agent = ureq::AgentBuilder::new().timeout(Duration::from_millis(500)).build();
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    last_log = fs::read_to_string(&log_path).unwrap_or_default();
                    break;
                }
                match agent.get(&format!("http://{host}/v2/")).call() {
                    Ok(_) | Err(ureq::Error::Status(_, _)) => return Registry { host, root, child },
                    Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
                    Err(e) => {
                        let _ = child.kill();
                        let _ = child.wait();
                        panic!(
                            "{REGISTRY_BIN} did not answer on {host} within 5 s ({e}); its log:\n{}",
                            fs::read_to_string(&log_path).unwrap_or_default()
                        );
                    }
                }
            }
        }
        panic!("{REGISTRY_BIN} exited at start five times; its last log:\n{last_log}");
    }

    /// `127.0.0.1:PORT/<repository>`.
    pub fn reference(&self, repository: &str) -> Reference {
        Reference::parse(&format!("{}/{repository}", self.host)).expect("valid repository")
    }

    /// A client with default options that does not read credentials from the environment.
    pub fn client(&self) -> Client {
        Client::new(ClientOptions { lookup_credentials: false, ..Default::default() })
    }

    /// The registry's storage directory.
    pub fn storage(&self) -> PathBuf {
        self.root.path().join("storage")
    }

    /// What the registry logged (errors only).
    pub fn log(&self) -> String {
        fs::read_to_string(self.root.path().join("registry.log")).unwrap_or_default()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("bind a loopback port")
}
