//! An isolated configuration for the podman and buildah relman runs (Dockerfile builds, the
//! smoke test), so they work on a CI runner or a bare VM without the user setting them up.
//!
//! Unless the user gave their own (any of `CONTAINERS_CONF`, `CONTAINERS_STORAGE_CONF`,
//! `CONTAINERS_REGISTRIES_CONF` set: then relman passes nothing and theirs applies), relman
//! writes under `dist/.cache/containers/` and points the child processes — only them — at it:
//!
//! * `containers.conf`: the `runc` runtime when it is installed (crun fails on some hosts'
//!   cgroups), the `cgroupfs` manager (no systemd needed), no network namespace setup (no
//!   host iptables changes), events in a file (no journald), file locks and temporary files in
//!   the cache, ulimits under common hard limits;
//! * `storage.conf`: the `vfs` driver in the cache (works unprivileged and in containers);
//! * `registries.conf`: no short-name resolution (never a prompt), and plain HTTP for
//!   loopback registries and `RELMAN_INSECURE_REGISTRIES` hosts — the registries relman
//!   itself speaks HTTP to.
//!
//! The user's and the system's files are neither read nor changed while these are in force.

use std::path::Path;

use relman_manifest::Failure;

use crate::planned::Planned;

/// The environment for a podman or buildah child process: relman's configuration, or
/// nothing when the user set their own.
pub fn env(planned: &Planned) -> Result<Vec<(String, String)>, Failure> {
    let s = &planned.settings;
    if s.remote.registry.containers_conf_given {
        return Ok(Vec::new());
    }
    let dir = s.dist.join(".cache").join("containers");
    write(&dir, &s.remote.registry.plain_http)?;
    Ok(vec![
        ("CONTAINERS_CONF".into(), dir.join("containers.conf").display().to_string()),
        ("CONTAINERS_STORAGE_CONF".into(), dir.join("storage.conf").display().to_string()),
        ("CONTAINERS_REGISTRIES_CONF".into(), dir.join("registries.conf").display().to_string()),
    ])
}

fn toml_str(p: &Path) -> String {
    format!("{:?}", p.display().to_string())
}

/// Writes the three files (atomically, only when they change).
fn write(dir: &Path, insecure: &[String]) -> Result<(), Failure> {
    for sub in ["storage", "run", "tmp", "networks"] {
        crate::fsutil::create_dir_all(&dir.join(sub))?;
    }
    let runtime = if crate::fsutil::on_path("runc") { "runtime = \"runc\"\n" } else { "" };
    let containers = format!(
        "# Written by relman for the podman and buildah it runs (see relman's containers module).\n\
         [containers]\nnetns = \"none\"\ndefault_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"]\n\n\
         [engine]\n{runtime}cgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\nevents_logfile_path = {}\n\
         lock_type = \"file\"\ntmp_dir = {}\n\n[network]\nnetwork_config_dir = {}\n",
        toml_str(&dir.join("tmp/events.log")),
        toml_str(&dir.join("tmp")),
        toml_str(&dir.join("networks")),
    );
    let storage = format!(
        "[storage]\ndriver = \"vfs\"\ngraphroot = {}\nrunroot = {}\n",
        toml_str(&dir.join("storage")),
        toml_str(&dir.join("run"))
    );
    let mut registries = String::from("unqualified-search-registries = []\nshort-name-mode = \"disabled\"\n");
    let mut hosts = vec!["127.0.0.1".to_string(), "localhost".to_string(), "[::1]".to_string()];
    hosts.extend(insecure.iter().cloned());
    for h in hosts {
        registries.push_str(&format!("\n[[registry]]\nlocation = {h:?}\ninsecure = true\n"));
    }
    for (name, text) in [("containers.conf", containers), ("storage.conf", storage), ("registries.conf", registries)] {
        let path = dir.join(name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            crate::fsutil::write_atomic(&path, text.as_bytes())?;
        }
    }
    Ok(())
}
