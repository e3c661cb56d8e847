//! moto's S3 server (`.venv/bin/moto_server`) on loopback, and boto3 to read it back.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::repo_root;

/// The secret key the tests give relman (it must never be printed).
pub const SECRET: &str = "s3-Secret-Kq72Zx";

/// moto's server on a free loopback port; killed on drop.
pub struct Moto {
    pub endpoint: String,
    child: Child,
}

impl Moto {
    pub fn start() -> Moto {
        let bin = repo_root().join(".venv/bin/moto_server");
        assert!(bin.is_file(), "{} is missing: run scripts/setup-test-deps", bin.display());
        let port = relman_oci::testing::free_port();
        let child = Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let endpoint = format!("http://127.0.0.1:{port}");
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(start.elapsed() < Duration::from_secs(30), "moto_server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Moto { endpoint, child }
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "relman-test".into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET.into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
        ]
    }

    /// Runs a boto3 snippet (`s3` is a client on this server); its stdout.
    pub fn boto(&self, code: &str) -> String {
        let script = format!(
            "import boto3, hashlib, json, sys\ns3 = boto3.client('s3', endpoint_url='{}', region_name='us-east-1', aws_access_key_id='x', aws_secret_access_key='y')\n{code}\n",
            self.endpoint
        );
        let out = Command::new(repo_root().join(".venv/bin/python")).arg("-c").arg(script).output().unwrap();
        assert!(out.status.success(), "boto3: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
