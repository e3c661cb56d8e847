//! Container images end to end through the real binary: a real CNCF distribution registry on
//! loopback, a busybox-static base built with umoci (scripts/make-base-image), skopeo reading
//! what relman pushed, podman running it as UID 12345 for the smoke test.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;
use relman_oci::testing::Registry;

const PASS: &str = "correct horse";
const AMD64: &str = "x86_64-unknown-linux-gnu";
const ARM64: &str = "aarch64-unknown-linux-gnu";

/// The DER of the first PEM block.
fn pem_to_der(pem: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    let text = String::from_utf8_lossy(pem);
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD.decode(body.trim()).unwrap()
}

fn project(reg: &Registry, base: &str, smoke: bool) -> Project {
    let p = Project::generic(&[AMD64, ARM64]);
    let mut toml = std::fs::read_to_string(p.path("relman.toml")).unwrap();
    toml.push_str(&format!(
        "\n[[image]]\nname = \"tool\"\nbase = \"{base}\"\nenv = {{ TOOL_MODE = \"server\" }}\nlabels = {{ \"com.example.team\" = \"infra\" }}\nports = [\"8080\"]\nuser = \"65534\"\n"
    ));
    if smoke {
        toml.push_str("[image.smoke]\nargs = []\nexpect = \"tool {version}\"\n");
    }
    let _ = reg;
    p.write("relman.toml", &toml);
    let k = p.relman_env(&["keygen"], &[("RELMAN_PASSWORD", PASS)]);
    k.ok();
    p.commit("images");
    p
}

/// A loopback registry with the busybox base as `base:1`, the project that holds its layout,
/// and a project whose `tool` image is built on it, pinned by digest (smoke test configured
/// when `smoke`).
fn tool_on_base(smoke: bool) -> (Registry, Project, Project) {
    let reg = Registry::start();
    let holder = Project::empty();
    let base = format!("{}/base:1@{}", reg.host, base_image(&holder, &reg));
    let p = project(&reg, &base, smoke);
    (reg, holder, p)
}

fn podman_env(p: &Project) -> Vec<(String, String)> {
    let dir = p.outside("podman");
    let out = run(Command::new(repo_root().join("scripts/podman-env")).arg(&dir));
    out.lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches(|c| c == '\'' || c == '"').to_string()))
        .collect()
}

#[test]
fn images_build_push_sign_smoke_promote_verify_yank() {
    let (reg, _base, p) = tool_on_base(true);
    p.tag("v1.2.3");
    let dest = format!("oci://{}/acme", reg.host);
    let env = [("RELMAN_PASSWORD", PASS)];

    // Publish: images built from files on the pinned base, pushed, signed, tagged 1.2.3.
    p.relman_env(&["release", "--to", &dest, "--json"], &env).ok();
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.path("dist/1.2.3/manifest.json")).unwrap()).unwrap();
    let image = &manifest["images"][0];
    let index_digest = image["digest"].as_str().unwrap().to_string();
    let repo = format!("{}/acme/tool", reg.host);
    let (pushed, index) = skopeo_raw(&format!("{repo}:1.2.3"));
    assert_eq!(pushed, index_digest, "the registry serves the index relman built");
    // The notes name the image by digest, with the commands that verify it.
    let notes = std::fs::read_to_string(p.path("dist/1.2.3/release-notes.md")).unwrap();
    for line in [
        format!("- `{repo}@{index_digest}`"),
        format!("cosign verify --key relman.pub --insecure-ignore-tlog=true {repo}@{index_digest}"),
        format!("relman verify oci://{repo}:1.2.3 --key relman.pub"),
    ] {
        assert!(notes.contains(&line), "{line:?} not in the notes:\n{notes}");
    }
    let platforms: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!("{}/{}", m["platform"]["os"].as_str().unwrap(), m["platform"]["architecture"].as_str().unwrap())
        })
        .collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);
    assert_eq!(index["annotations"]["org.opencontainers.image.version"], "1.2.3");

    // skopeo reads the config: labels, env, user, entrypoint, base layer kept.
    let cfg = run(Command::new("skopeo")
        .args(["inspect", "--config", "--tls-verify=false", "--override-arch", "arm64"])
        .arg(format!("docker://{repo}:1.2.3")));
    let cfg: serde_json::Value = serde_json::from_str(&cfg).unwrap();
    assert_eq!(cfg["architecture"], "arm64");
    let labels = &cfg["config"]["Labels"];
    assert_eq!(labels["org.opencontainers.image.version"], "1.2.3");
    assert_eq!(labels["org.opencontainers.image.revision"], manifest["commit"]);
    assert_eq!(labels["com.example.team"], "infra");
    assert_eq!(cfg["config"]["Entrypoint"], serde_json::json!(["/usr/local/bin/tool"]));
    assert_eq!(cfg["config"]["User"], "65534");
    assert!(cfg["config"]["ExposedPorts"]["8080/tcp"].is_object());
    let env_list: Vec<&str> = cfg["config"]["Env"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(env_list.contains(&"TOOL_MODE=server") && env_list.iter().any(|e| e.starts_with("PATH=")), "{env_list:?}");
    assert_eq!(cfg["rootfs"]["diff_ids"].as_array().unwrap().len(), 2, "base layer + relman's layer");

    // Signatures for the index and each platform, attestations, referrers fallback index.
    for m in std::iter::once(index_digest.clone())
        .chain(index["manifests"].as_array().unwrap().iter().map(|m| m["digest"].as_str().unwrap().to_string()))
    {
        let hex = m.trim_start_matches("sha256:");
        let (_, sig) = skopeo_raw(&format!("{repo}:sha256-{hex}.sig"));
        assert_eq!(sig["layers"][0]["mediaType"], "application/vnd.dev.cosign.simplesigning.v1+json");
        let (_, att) = skopeo_raw(&format!("{repo}:sha256-{hex}.att"));
        assert!(att["layers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["annotations"]["predicateType"] == "https://slsa.dev/provenance/v1"));
        let (_, refs) = skopeo_raw(&format!("{repo}:sha256-{hex}"));
        assert!(refs["manifests"].as_array().unwrap().len() >= 2, "message bundle + provenance bundle referrers");
    }

    // skopeo copies the whole thing, signatures included.
    let copy = p.outside("copy");
    run(Command::new("skopeo")
        .args(["copy", "-q", "--all", "--src-tls-verify=false"])
        .arg(format!("docker://{repo}:1.2.3"))
        .arg(format!("oci:{}:x", copy.display())));
    let hex = index_digest.trim_start_matches("sha256:");
    run(Command::new("skopeo")
        .args(["copy", "-q", "--src-tls-verify=false"])
        .arg(format!("docker://{repo}:sha256-{hex}.sig"))
        .arg(format!("oci:{}:sig", copy.display())));

    // relman verify oci:// checks every platform with the public key; a wrong key fails.
    let v = p.relman(&["verify", &format!("oci://{repo}:1.2.3"), "--key", "relman.pub"]);
    v.ok();
    assert!(v.stdout.contains("linux/amd64") && v.stdout.contains("linux/arm64"), "{}", v.stdout);
    assert!(v.stdout.contains(&format!("verified oci://{repo}:1.2.3 ({index_digest}): 3 manifest(s)")), "{}", v.stdout);
    let other = Project::empty();
    other.relman_env(&["keygen", "--no-config"], &[("RELMAN_PASSWORD", PASS)]).ok();
    p.relman(&["verify", &format!("oci://{repo}:1.2.3"), "--key", other.path("relman.pub").to_str().unwrap()])
        .fails(7, "no valid signature");

    // Promote needs the smoke test; latest does not exist yet.
    p.relman(&["promote", "1.2.3", "--to", &dest]).fails(9, "smoke");
    assert!(
        Command::new("skopeo")
            .args(["inspect", "--raw", "--tls-verify=false"])
            .arg(format!("docker://{repo}:latest"))
            .output()
            .unwrap()
            .status
            .code()
            != Some(0)
    );

    // Smoke test with podman as UID 12345, then promote: latest and 1.2 = the same digest.
    let penv = podman_env(&p);
    let mut senv: Vec<(&str, &str)> = penv.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    senv.push(("RELMAN_PASSWORD", PASS));
    let s = p.relman_env(&["smoke", "--to", &dest], &senv);
    s.ok();
    assert!(s.stdout.contains("passed"), "{}", s.stdout);
    p.relman(&["promote", "1.2.3", "--to", &dest]).ok();
    assert_eq!(skopeo_raw(&format!("{repo}:latest")).0, index_digest);
    assert_eq!(skopeo_raw(&format!("{repo}:1.2")).0, index_digest);
    // The signatures and attestations follow the digest: latest verifies as 1.2.3 does.
    p.relman(&["verify", &format!("oci://{repo}:latest"), "--key", "relman.pub"]).ok();

    // Publishing again — from another CI run, whose provenance would name another run —
    // uploads nothing and changes no digest, the attestations' included.
    let att_tag = format!("{repo}:sha256-{}.att", index_digest.trim_start_matches("sha256:"));
    let att_before = skopeo_raw(&att_tag).0;
    let ci = [
        ("RELMAN_PASSWORD", PASS),
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_SERVER_URL", "https://github.com"),
        ("GITHUB_REPOSITORY", "acme/tool"),
        ("GITHUB_RUN_ID", "987654321"),
        ("GITHUB_RUN_ATTEMPT", "2"),
    ];
    let again = p.relman_env(&["publish", "--to", &dest, "--json"], &ci);
    again.ok();
    assert_eq!(skopeo_raw(&format!("{repo}:1.2.3")).0, index_digest);
    assert_eq!(skopeo_raw(&att_tag).0, att_before, "no second provenance");

    // Yank refuses while latest points at it.
    p.relman(&["yank", "1.2.3", "--to", &dest, "--yes"]).fails(9, "latest");
    // A yank cut short after deleting the index (its tags went with it): running yank again
    // finishes from the release record's digest — attachments and platform manifests go.
    run(Command::new("skopeo").args(["delete", "--tls-verify=false"]).arg(format!("docker://{repo}@{index_digest}")));
    let y = p.relman(&["yank", "1.2.3", "--to", &dest, "--yes"]);
    y.ok();
    assert!(y.stdout.contains("removed"), "{}", y.stdout);
    let platform_sigs: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| format!("{}.sig", m["digest"].as_str().unwrap().replace(':', "-")))
        .collect();
    for t in ["1.2.3", "latest", &format!("sha256-{hex}.sig"), &platform_sigs[0], &platform_sigs[1]] {
        let st = Command::new("skopeo")
            .args(["inspect", "--raw", "--tls-verify=false"])
            .arg(format!("docker://{repo}:{t}"))
            .output()
            .unwrap();
        assert!(!st.status.success(), "{t} is still there after yank");
    }
}

#[test]
fn same_inputs_same_digests_and_moved_tag_refused() {
    let (reg, _base, p) = tool_on_base(false);
    // zstd for relman's layer: reproducible too, and runtimes read it.
    let toml = std::fs::read_to_string(p.path("relman.toml"))
        .unwrap()
        .replace("[[image]]\n", "[[image]]\ncompression = \"zstd\"\n");
    p.write("relman.toml", &toml);
    p.commit("zstd layers");
    p.tag("v2.0.0");
    let env = [("RELMAN_PASSWORD", PASS)];
    p.relman(&["build"]).ok();
    p.relman_env(&["package"], &env).ok();
    let read = |p: &Project| -> String {
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p.path("dist/2.0.0/manifest.json")).unwrap()).unwrap();
        m["images"][0]["digest"].as_str().unwrap().to_string()
    };
    let first = read(&p);
    std::fs::remove_dir_all(p.path("dist/2.0.0")).unwrap();
    p.relman(&["build"]).ok();
    p.relman_env(&["package"], &env).ok();
    assert_eq!(read(&p), first, "same inputs give the same index digest");
    // skopeo reads the local layout relman wrote: the base's gzip layer, relman's zstd layer.
    let layout = format!("oci:{}:2.0.0", p.path("dist/2.0.0/oci/tool").display());
    let raw = run(Command::new("skopeo").args(["inspect", "--raw", "--override-arch", "amd64"]).arg(&layout));
    let m: serde_json::Value = serde_json::from_str(&raw).unwrap();
    let m = if m["manifests"].is_array() {
        let d = m["manifests"][0]["digest"].as_str().unwrap().trim_start_matches("sha256:").to_string();
        let blob = std::fs::read(p.path(&format!("dist/2.0.0/oci/tool/blobs/sha256/{d}"))).unwrap();
        serde_json::from_slice::<serde_json::Value>(&blob).unwrap()
    } else {
        m
    };
    assert_eq!(m["layers"][0]["mediaType"], "application/vnd.oci.image.layer.v1.tar+gzip");
    assert_eq!(m["layers"][1]["mediaType"], "application/vnd.oci.image.layer.v1.tar+zstd");
    // podman runs it (as UID 12345): the binary in the zstd layer prints its version.
    let penv = podman_env(&p);
    run(Command::new("skopeo")
        .envs(penv.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .args(["copy", "-q", "--override-arch", "amd64"])
        .arg(&layout)
        .arg("containers-storage:localhost/zstd-tool:2.0.0"));
    let out = run(Command::new("podman").envs(penv.iter().map(|(k, v)| (k.as_str(), v.as_str()))).args([
        "run",
        "--rm",
        "--user",
        "12345",
        "localhost/zstd-tool:2.0.0",
    ]));
    assert!(out.contains("tool 2.0.0"), "{out}");

    // Someone else's image already at tool:2.0.0 → refused, naming both digests; not overwritten.
    let (other, _) = skopeo_raw(&format!("{}/base:1", reg.host));
    run(Command::new("skopeo")
        .args(["copy", "-q", "--all", "--src-tls-verify=false", "--dest-tls-verify=false"])
        .arg(format!("docker://{}/base:1", reg.host))
        .arg(format!("docker://{}/acme/tool:2.0.0", reg.host)));
    let out = p.relman_env(&["publish", "--to", &format!("oci://{}/acme", reg.host)], &env);
    out.fails(8, &other);
    assert!(out.stderr.contains(&first), "{}", out.stderr);
    assert_eq!(skopeo_raw(&format!("{}/acme/tool:2.0.0", reg.host)).0, other);
}

#[test]
fn unpinned_base_is_refused_and_pin_rewrites_it() {
    let reg = Registry::start();
    let p0 = Project::empty();
    let digest = base_image(&p0, &reg);
    let p = project(&reg, &format!("{}/base:1", reg.host), false);
    p.write("Dockerfile", &format!("FROM {}/base:1 AS run\nCOPY x /x\n", reg.host));
    p.commit("dockerfile");
    p.tag("v1.0.0");
    let c = p.relman(&["check"]);
    c.fails(12, "not ready");
    assert!(c.stderr.contains("not pinned by digest"), "{}", c.stderr);
    p.relman(&["release", "--to", &format!("oci://{}/acme", reg.host)]).fails(12, "not ready");
    let pin = p.relman(&["pin"]);
    pin.ok();
    let toml = std::fs::read_to_string(p.path("relman.toml")).unwrap();
    assert!(toml.contains(&format!("base = \"{}/base:1@{digest}\"", reg.host)), "{toml}");
    assert!(toml.contains("[[image]]") && toml.contains("TOOL_MODE"), "rest of the file kept");
}

#[test]
fn platform_missing_from_base_and_registry_down() {
    let reg = Registry::start();
    let p0 = Project::empty();
    let digest = base_image(&p0, &reg);
    let p = Project::generic(&[AMD64, "s390x-unknown-linux-gnu"]);
    let mut toml = std::fs::read_to_string(p.path("relman.toml")).unwrap();
    toml.push_str(&format!("\n[[image]]\nname = \"tool\"\nbase = \"{}/base:1@{digest}\"\n", reg.host));
    p.write("relman.toml", &toml);
    p.commit("image");
    p.tag("v1.0.0");
    p.relman(&["build"]).ok();
    let out = p.relman(&["package"]);
    out.fails(6, "linux/s390x");
    assert!(out.stderr.contains("linux/amd64, linux/arm64"), "names what the base has: {}", out.stderr);

    // Registry down: a network error naming the registry, exit 11.
    let dead = format!("127.0.0.1:{}", relman_oci::testing::free_port());
    let q = Project::generic(&[AMD64]);
    let mut toml = std::fs::read_to_string(q.path("relman.toml")).unwrap();
    toml.push_str(&format!("\n[[image]]\nname = \"tool\"\nbase = \"{dead}/base:1@{digest}\"\n"));
    q.write("relman.toml", &toml);
    q.commit("image");
    q.tag("v1.0.0");
    q.relman(&["build"]).ok();
    q.relman(&["package"]).fails(11, &dead);
}

#[test]
fn helm_chart_is_packaged_pushed_with_helm_media_types_and_signed() {
    let reg = Registry::start();
    let p = Project::generic(&[AMD64]);
    let mut toml = std::fs::read_to_string(p.path("relman.toml")).unwrap();
    toml.push_str("\n[[chart]]\npath = \"deploy/chart\"\n");
    p.write("relman.toml", &toml);
    p.write(
        "deploy/chart/Chart.yaml",
        "apiVersion: v2\nname: tool-chart\ndescription: The tool\nversion: 1.2.3\nappVersion: 1.2.3\n",
    );
    p.write("deploy/chart/values.yaml", "image:\n  repository: registry.example/acme/tool\n  tag: \"\"\n");
    p.write("deploy/chart/templates/deployment.yaml", "kind: Deployment\n");
    p.relman_env(&["keygen"], &[("RELMAN_PASSWORD", PASS)]).ok();
    p.commit("chart");
    p.tag("v1.2.3");
    let dest = format!("oci://{}/charts", reg.host);
    p.relman_env(&["release", "--to", &dest], &[("RELMAN_PASSWORD", PASS)]).ok();
    let sums = std::fs::read_to_string(p.path("dist/1.2.3/checksums.txt")).unwrap();
    assert!(sums.contains("tool-chart-1.2.3.tgz"), "{sums}");
    let (digest, m) = skopeo_raw(&format!("{}/charts/tool-chart:1.2.3", reg.host));
    assert_eq!(m["config"]["mediaType"], "application/vnd.cncf.helm.config.v1+json");
    assert_eq!(m["layers"][0]["mediaType"], "application/vnd.cncf.helm.chart.content.v1.tar+gzip");
    assert_eq!(m["annotations"]["org.opencontainers.image.version"], "1.2.3");
    let tgz = std::fs::read(p.path("dist/1.2.3/tool-chart-1.2.3.tgz")).unwrap();
    assert_eq!(m["layers"][0]["digest"], format!("sha256:{}", relman_install::hash::sha256_bytes(&tgz)));
    let (_, sig) =
        skopeo_raw(&format!("{}/charts/tool-chart:sha256-{}.sig", reg.host, digest.trim_start_matches("sha256:")));
    assert_eq!(sig["layers"][0]["mediaType"], "application/vnd.dev.cosign.simplesigning.v1+json");
    // Signed and attested like an image: relman verify checks both with the key.
    let v = p.relman(&["verify", &format!("oci://{}/charts/tool-chart:1.2.3", reg.host), "--key", "relman.pub"]);
    v.ok();
    assert!(v.stdout.starts_with("chart") && v.stdout.contains("1 signature(s)"), "{}", v.stdout);
    assert!(v.stdout.contains("https://slsa.dev/provenance/v1"), "{}", v.stdout);

    // A chart whose version disagrees with the release: refused before anything is published.
    p.write("deploy/chart/Chart.yaml", "apiVersion: v2\nname: tool-chart\nversion: 1.2.3\nappVersion: 1.2.2\n");
    p.write("deploy/chart/values.yaml", "image:\n  tag: \"1.2.3\"\n");
    p.commit("wrong appVersion");
    p.tag("v1.2.4");
    let c = p.relman(&["check"]);
    c.fails(12, "3 problems");
    assert!(c.stderr.contains("deploy/chart/Chart.yaml:3: `version`"), "{}", c.stderr);
    assert!(c.stderr.contains("deploy/chart/Chart.yaml:4: `appVersion`"), "{}", c.stderr);
    assert!(c.stderr.contains("deploy/chart/values.yaml:2: chart `image.tag`: expected empty"), "{}", c.stderr);
    let out = p.relman_env(&["release", "--to", &dest], &[("RELMAN_PASSWORD", PASS)]);
    assert!(out.code != 0, "{}", out.stderr);
    assert!(out.stderr.contains("appVersion") || out.stderr.contains("Chart.yaml"), "{}", out.stderr);
}

/// One of relman-sign's interop scripts (`tests/py`, `tests/js`), run by the tools
/// `scripts/setup-test-deps` installs: `.venv`'s Python or `node` with `.tools/node_modules`.
fn peer(script: &str) -> Command {
    let root = repo_root();
    let scripts = root.join("crates/relman-sign/tests");
    if script.ends_with(".py") {
        let python = root.join(".venv/bin/python");
        assert!(python.is_file(), "no {} (run scripts/setup-test-deps)", python.display());
        let mut cmd = Command::new(python);
        cmd.arg(scripts.join("py").join(script));
        cmd
    } else {
        let modules = root.join(".tools/node_modules");
        assert!(
            modules.join("@sigstore/verify").is_dir(),
            "no sigstore-js in {} (run scripts/setup-test-deps)",
            modules.display()
        );
        let mut cmd = Command::new("node");
        cmd.arg(scripts.join("js").join(script)).env("NODE_PATH", modules);
        cmd
    }
}

/// Exit status and stdout of a peer tool (no assertion: refusals are expected too).
fn peer_verdict(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e} (run scripts/setup-test-deps)"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn image_signatures_attestations_and_referrers_verify_with_sigstore_securesystemslib_and_sigstore_js() {
    use relman_oci::registry::{Client, ClientOptions};
    use relman_oci::{cosign, Digest, Reference};
    use sigstore::crypto::{CosignVerificationKey, Signature, SigningScheme};

    let (reg, _base, p) = tool_on_base(false);
    p.tag("v3.1.0");
    p.relman_env(&["release", "--to", &format!("oci://{}/acme", reg.host)], &[("RELMAN_PASSWORD", PASS)]).ok();

    let client = Client::new(ClientOptions { lookup_credentials: false, ..ClientOptions::default() });
    let repo = Reference::parse(&format!("{}/acme/tool:3.1.0", reg.host)).unwrap();
    let index = client.get_manifest(&repo).unwrap().expect("tool:3.1.0 is there");
    let relman_oci::types::Manifest::Index(idx) = index.parse().unwrap() else { panic!("not an index") };
    let mut subjects = vec![(index.digest.clone(), index.bytes.clone())];
    for m in &idx.manifests {
        let fetched = client.get_manifest(&repo.with_digest(&m.digest)).unwrap().unwrap();
        subjects.push((m.digest.clone(), fetched.bytes));
    }
    assert_eq!(subjects.len(), 3, "the index and two platform manifests");

    let pem = std::fs::read(p.path("relman.pub")).unwrap();
    let key = CosignVerificationKey::from_pem(&pem, &SigningScheme::ECDSA_P256_SHA256_ASN1).unwrap();
    let other = relman_sign::generate().unwrap();
    let other_key =
        CosignVerificationKey::from_pem(other.public_key_pem().as_bytes(), &SigningScheme::ECDSA_P256_SHA256_ASN1)
            .unwrap();
    let other_pem = p.outside("other-key").join("other.pub");
    std::fs::write(&other_pem, other.public_key_pem()).unwrap();

    let work = p.outside("peer");
    let blob = |d: &Digest| client.get_blob(&repo, d).unwrap();
    let manifest_of = |tag: &str| -> relman_oci::types::ImageManifest {
        let f = client.get_manifest(&repo.with_tag(tag)).unwrap().unwrap_or_else(|| panic!("no tag {tag}"));
        match f.parse().unwrap() {
            relman_oci::types::Manifest::Image(m) => m,
            other => panic!("{tag} is not an image manifest: {other:?}"),
        }
    };
    let mut envelopes = String::new();
    let mut verified_bundles = 0;
    let mut records = Vec::new();
    for (digest, bytes) in &subjects {
        // .sig: the sigstore crate verifies the simple-signing payload's signature; the payload
        // names this manifest's digest; an edited payload and another key are refused.
        let sig = manifest_of(&cosign::signature_tag(digest));
        assert_eq!(sig.layers.len(), 1);
        let layer = &sig.layers[0];
        let payload = blob(&layer.digest);
        let signature = layer.annotations["dev.cosignproject.cosign/signature"].clone();
        key.verify_signature(Signature::Base64Encoded(signature.as_bytes()), &payload)
            .unwrap_or_else(|e| panic!("sigstore refused the .sig of {digest}: {e}"));
        let claim: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(claim["critical"]["image"]["docker-manifest-digest"], digest.to_string());
        assert_eq!(claim["critical"]["type"], "cosign container image signature");
        let mut edited = payload.clone();
        let at = edited.len() / 2;
        edited[at] ^= 1;
        assert!(key.verify_signature(Signature::Base64Encoded(signature.as_bytes()), &edited).is_err());
        assert!(other_key.verify_signature(Signature::Base64Encoded(signature.as_bytes()), &payload).is_err());

        // .att: every envelope goes to securesystemslib; its subjects name this manifest.
        let att = manifest_of(&cosign::attestation_tag(digest));
        assert!(!att.layers.is_empty());
        for layer in &att.layers {
            let envelope = blob(&layer.digest);
            let env: serde_json::Value = serde_json::from_slice(&envelope).unwrap();
            let statement: serde_json::Value = {
                use base64::Engine as _;
                let text = base64::engine::general_purpose::STANDARD.decode(env["payload"].as_str().unwrap()).unwrap();
                serde_json::from_slice(&text).unwrap()
            };
            let hex = digest.to_string().trim_start_matches("sha256:").to_string();
            assert!(
                statement["subject"].as_array().unwrap().iter().any(|s| s["digest"]["sha256"] == hex.as_str()),
                "attestation of {digest} does not name it: {}",
                statement["subject"]
            );
            assert_eq!(statement["predicateType"], layer.annotations["predicateType"].as_str());
            envelopes.push_str(&env.to_string());
            envelopes.push('\n');
        }

        // Referrers (fallback tag index): every Sigstore bundle to sigstore-js, the message
        // signature against this manifest's bytes.
        let f = client.get_manifest(&repo.with_tag(&cosign::fallback_tag(digest))).unwrap().unwrap();
        let relman_oci::types::Manifest::Index(refs) = f.parse().unwrap() else { panic!("fallback is not an index") };
        for r in &refs.manifests {
            // The release record (manifest.json and its bundle) is a referrer of the index.
            if r.artifact_type.as_deref() == Some(relman_engine::oci::RECORD_ARTIFACT_TYPE) {
                records.push(digest.clone());
                continue;
            }
            assert_eq!(r.artifact_type.as_deref(), Some(relman_oci::media::SIGSTORE_BUNDLE));
            let fetched = client.get_manifest(&repo.with_digest(&r.digest)).unwrap().unwrap();
            let relman_oci::types::Manifest::Image(m) = fetched.parse().unwrap() else { panic!("referrer") };
            assert_eq!(m.subject.as_ref().unwrap().digest, *digest, "referrer's subject");
            let bundle_path = work.join(format!("{}.sigstore.json", r.digest.to_string().replace(':', "-")));
            std::fs::write(&bundle_path, blob(&m.layers[0].digest)).unwrap();
            let subject_path = work.join(format!("{}.manifest.json", digest.to_string().replace(':', "-")));
            std::fs::write(&subject_path, bytes).unwrap();
            let message =
                m.annotations.get("dev.sigstore.bundle.content").map(String::as_str) == Some("message-signature");
            let mut cmd = peer("verify-bundle.cjs");
            cmd.arg(&bundle_path).arg(p.path("relman.pub"));
            if message {
                cmd.arg(&subject_path);
            }
            let (ok, out) = peer_verdict(&mut cmd);
            assert!(ok, "sigstore-js refused the referrer bundle {} of {digest}: {out}", r.digest);
            verified_bundles += 1;
            // Another key is refused; a message signature over another manifest is refused.
            let mut cmd = peer("verify-bundle.cjs");
            cmd.arg(&bundle_path).arg(&other_pem);
            if message {
                cmd.arg(&subject_path);
            }
            let (ok, out) = peer_verdict(&mut cmd);
            assert!(!ok, "sigstore-js accepted another key: {out}");
            if message {
                let swapped = work.join("swapped.json");
                let (_, other_bytes) = subjects.iter().find(|(d, _)| d != digest).unwrap();
                std::fs::write(&swapped, other_bytes).unwrap();
                let (ok, out) =
                    peer_verdict(peer("verify-bundle.cjs").arg(&bundle_path).arg(p.path("relman.pub")).arg(&swapped));
                assert!(!ok, "sigstore-js accepted a signature of {digest} for another manifest: {out}");
            }
        }
    }
    assert!(verified_bundles >= 6, "message + provenance bundles for 3 subjects, got {verified_bundles}");
    assert_eq!(records.len(), 1, "one release record, on the index: {records:?}");

    // securesystemslib: all the envelopes with relman's key; an edited one and another key refused.
    let all = work.join("attestations.intoto.jsonl");
    std::fs::write(&all, &envelopes).unwrap();
    let (ok, out) = peer_verdict(peer("dsse_verify.py").arg(&all).arg(p.path("relman.pub")));
    assert!(ok, "securesystemslib refused an image attestation: {out}");
    assert_eq!(out.lines().filter(|l| l.contains("\"ok\": true")).count(), envelopes.lines().count(), "{out}");
    let (ok, out) = peer_verdict(peer("dsse_verify.py").arg(&all).arg(&other_pem));
    assert!(!ok, "securesystemslib accepted another key: {out}");
    let first: serde_json::Value = serde_json::from_str(envelopes.lines().next().unwrap()).unwrap();
    let mut edited = first.clone();
    {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut text = b64.decode(first["payload"].as_str().unwrap()).unwrap();
        let at = text.iter().position(|b| b.is_ascii_hexdigit()).unwrap();
        text[at] = if text[at] == b'0' { b'1' } else { b'0' };
        edited["payload"] = b64.encode(text).into();
    }
    let edited_path = work.join("edited.intoto.jsonl");
    std::fs::write(&edited_path, edited.to_string()).unwrap();
    let (ok, out) = peer_verdict(peer("dsse_verify.py").arg(&edited_path).arg(p.path("relman.pub")));
    assert!(!ok, "securesystemslib accepted an edited attestation: {out}");
}

#[test]
fn images_from_per_platform_layouts_and_from_a_dockerfile_with_buildah() {
    let reg = Registry::start();
    let p0 = Project::empty();
    let base_digest = base_image(&p0, &reg);
    let base_layout = p0.outside("base-layout");
    let p = Project::generic(&[AMD64, ARM64]);

    // What `docker buildx --output type=oci` or `buildah push oci:` leave: one layout per platform.
    let mut platform_digests = Vec::new();
    for arch in ["amd64", "arm64"] {
        let dir = p.path(&format!("images/linux-{arch}"));
        std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
        run(Command::new("skopeo")
            .args(["copy", "-q", "--override-os", "linux", "--override-arch", arch])
            .arg(format!("oci:{}:base", base_layout.display()))
            .arg(format!("oci:{}:img", dir.display())));
        let raw = run(Command::new("skopeo").args(["inspect", "--raw"]).arg(format!("oci:{}:img", dir.display())));
        platform_digests.push(format!("sha256:{}", relman_install::hash::sha256_bytes(raw.as_bytes())));
    }

    p.write(
        "Dockerfile",
        &format!(
            "FROM {}/base:1@{base_digest}\nARG VERSION\nARG TARGETARCH\nARG GREETING\nLABEL org.example.version=$VERSION org.example.arch=$TARGETARCH org.example.greeting=$GREETING\nCOPY greeting.txt /etc/greeting\n",
            reg.host
        ),
    );
    p.write("greeting.txt", "hello from a Dockerfile\n");
    let mut toml = std::fs::read_to_string(p.path("relman.toml")).unwrap();
    toml.push_str(concat!(
        "\n[[image]]\nname = \"prebuilt\"\nlayout = \"images/{os}-{arch}:img\"\n",
        "\n[[image]]\nname = \"built\"\ndockerfile = \"Dockerfile\"\nbuild_args = { GREETING = \"hi {version}\" }\n",
        "[image.smoke]\nargs = [\"cat\", \"/etc/greeting\"]\nexpect = \"hello from a Dockerfile\"\n",
    ));
    p.write("relman.toml", &toml);
    p.relman_env(&["keygen"], &[("RELMAN_PASSWORD", PASS)]).ok();
    p.commit("images from other builders");
    p.tag("v0.4.0");

    // No podman-env here: buildah (and podman for the smoke test) run with the isolated
    // configuration relman writes itself under dist/.cache/containers/.
    let env: Vec<(&str, &str)> = vec![("RELMAN_PASSWORD", PASS)];
    let dest = format!("oci://{}/acme", reg.host);
    p.relman_env(&["release", "--to", &dest], &env).ok();
    let registries = std::fs::read_to_string(p.path("dist/.cache/containers/registries.conf")).unwrap();
    assert!(registries.contains("location = \"127.0.0.1\"\ninsecure = true"), "{registries}");

    // The per-platform layouts are taken as they are: the same manifest digests, under relman's index.
    let (_, prebuilt) = skopeo_raw(&format!("{}/acme/prebuilt:0.4.0", reg.host));
    let pushed: Vec<&str> =
        prebuilt["manifests"].as_array().unwrap().iter().map(|m| m["digest"].as_str().unwrap()).collect();
    assert_eq!(pushed, platform_digests, "the builders' manifests, byte for byte");
    assert_eq!(prebuilt["manifests"][1]["platform"]["architecture"], "arm64");

    // The Dockerfile image: both platforms, the base's layer plus the COPY layer, signed.
    let (built_digest, built) = skopeo_raw(&format!("{}/acme/built:0.4.0", reg.host));
    assert_eq!(built["manifests"].as_array().unwrap().len(), 2, "{built}");
    let cfg = run(Command::new("skopeo")
        .args(["inspect", "--config", "--tls-verify=false", "--override-arch", "arm64"])
        .arg(format!("docker://{}/acme/built:0.4.0", reg.host)));
    let cfg: serde_json::Value = serde_json::from_str(&cfg).unwrap();
    assert_eq!(cfg["architecture"], "arm64");
    // Build arguments: relman's VERSION, buildah's TARGETARCH, and the configured ones.
    let labels = &cfg["config"]["Labels"];
    assert_eq!(labels["org.example.version"], "0.4.0", "{cfg}");
    assert_eq!(labels["org.example.arch"], "arm64", "{cfg}");
    assert_eq!(labels["org.example.greeting"], "hi 0.4.0", "{cfg}");
    assert_eq!(cfg["rootfs"]["diff_ids"].as_array().unwrap().len(), 2, "base layer + COPY layer: {cfg}");
    let (_, base_index) = skopeo_raw(&format!("{}/base:1", reg.host));
    let base_cfg = run(Command::new("skopeo").args(["inspect", "--config", "--tls-verify=false"]).arg(format!(
        "docker://{}/base@{}",
        reg.host,
        base_index["manifests"][1]["digest"].as_str().unwrap()
    )));
    let base_cfg: serde_json::Value = serde_json::from_str(&base_cfg).unwrap();
    assert_eq!(cfg["rootfs"]["diff_ids"][0], base_cfg["rootfs"]["diff_ids"][0], "built on the pinned base");
    let v = p.relman(&["verify", &format!("oci://{}/acme/built:0.4.0", reg.host), "--key", "relman.pub"]);
    v.ok();
    // Its provenance names the Dockerfile (by sha256) and the pinned FROM it was built on.
    {
        use relman_oci::registry::{Client, ClientOptions};
        let client = Client::new(ClientOptions { lookup_credentials: false, ..ClientOptions::default() });
        let repo = relman_oci::Reference::parse(&format!("{}/acme/built:0.4.0", reg.host)).unwrap();
        let digest = relman_oci::Digest::parse(&built_digest).unwrap();
        let f = client.get_manifest(&repo.with_tag(&relman_oci::cosign::attestation_tag(&digest))).unwrap().unwrap();
        let relman_oci::types::Manifest::Image(att) = f.parse().unwrap() else { panic!(".att") };
        let slsa = att
            .layers
            .iter()
            .find(|l| l.annotations.get("predicateType").map(String::as_str) == Some("https://slsa.dev/provenance/v1"))
            .unwrap();
        let env: serde_json::Value = serde_json::from_slice(&client.get_blob(&repo, &slsa.digest).unwrap()).unwrap();
        use base64::Engine as _;
        let stmt: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::STANDARD.decode(env["payload"].as_str().unwrap()).unwrap(),
        )
        .unwrap();
        let deps = stmt["predicate"]["buildDefinition"]["resolvedDependencies"].as_array().unwrap().clone();
        let dockerfile = deps.iter().find(|d| d["name"] == "Dockerfile").unwrap_or_else(|| panic!("{deps:?}"));
        let text = std::fs::read(p.path(dockerfile["uri"].as_str().unwrap().rsplit('#').next().unwrap())).unwrap();
        assert_eq!(dockerfile["digest"]["sha256"], relman_install::hash::sha256_bytes(&text).as_str(), "{deps:?}");
        assert!(
            deps.iter().any(|d| d["name"] == "base image" && d["uri"].as_str().unwrap().contains("/base")),
            "{deps:?}"
        );
    }

    // podman runs the Dockerfile image (as UID 12345): the smoke test passes, so promote does.
    let s = p.relman_env(&["smoke", "--to", &dest], &env);
    s.ok();
    assert!(s.stdout.contains("passed"), "{}", s.stdout);
    p.relman(&["promote", "0.4.0", "--to", &dest]).ok();
    assert_eq!(skopeo_raw(&format!("{}/acme/built:latest", reg.host)).0, built_digest);

    // buildah with --timestamp SOURCE_DATE_EPOCH: rebuilding gives the same digests.
    std::fs::remove_dir_all(p.path("dist/0.4.0")).unwrap();
    p.relman(&["build"]).ok();
    p.relman_env(&["package"], &env).ok();
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.path("dist/0.4.0/manifest.json")).unwrap()).unwrap();
    let rebuilt: Vec<&str> = m["images"].as_array().unwrap().iter().map(|i| i["digest"].as_str().unwrap()).collect();
    assert!(rebuilt.contains(&built_digest.as_str()), "{rebuilt:?} vs {built_digest}");
    // Nothing changed: the Dockerfile image is not built again (one line per platform).
    let again = p.relman_env(&["package"], &env);
    again.ok();
    assert_eq!(
        again.stderr.matches("unchanged (same commit, Dockerfile, arguments and context), not rebuilt").count(),
        2,
        "{}",
        again.stderr
    );
    assert!(!again.stderr.contains("buildah build for"), "{}", again.stderr);
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.path("dist/0.4.0/manifest.json")).unwrap()).unwrap();
    assert!(m["images"].as_array().unwrap().iter().any(|i| i["digest"] == built_digest.as_str()));
    // --force-rebuild builds it again.
    let forced = p.relman_env(&["package", "--force-rebuild"], &env);
    forced.ok();
    assert_eq!(forced.stderr.matches("buildah build for").count(), 2, "{}", forced.stderr);

    // 0.4.1 takes the same builder layouts: its index lists the same platform manifests.
    // Yanking 0.4.0 keeps them (and their signatures); 0.4.1 still verifies.
    p.write("NEWS", "0.4.1\n");
    p.commit("0.4.1");
    p.tag("v0.4.1");
    p.relman_env(&["release", "--to", &dest], &env).ok();
    let (_, next) = skopeo_raw(&format!("{}/acme/prebuilt:0.4.1", reg.host));
    let next_platforms: Vec<&str> =
        next["manifests"].as_array().unwrap().iter().map(|m| m["digest"].as_str().unwrap()).collect();
    assert_eq!(next_platforms, platform_digests);
    let y = p.relman(&["yank", "0.4.0", "--to", &dest, "--yes", "--force"]);
    y.ok();
    assert!(y.stdout.contains("also listed by") || y.stderr.contains("also listed by"), "{}{}", y.stdout, y.stderr);
    for d in &platform_digests {
        skopeo_raw(&format!("{}/acme/prebuilt@{d}", reg.host));
    }
    p.relman(&["verify", &format!("oci://{}/acme/prebuilt:0.4.1", reg.host), "--key", "relman.pub"]).ok();
    assert!(
        !Command::new("skopeo")
            .args(["inspect", "--raw", "--tls-verify=false"])
            .arg(format!("docker://{}/acme/prebuilt:0.4.0", reg.host))
            .output()
            .unwrap()
            .status
            .success(),
        "0.4.0 is yanked"
    );

    // A Dockerfile FROM by tag only is refused by check, with the line.
    p.write("Dockerfile", &format!("FROM {}/base:1\nCOPY greeting.txt /etc/greeting\n", reg.host));
    p.commit("unpinned");
    p.tag("v0.4.2");
    let c = p.relman(&["check"]);
    c.fails(12, "not ready");
    assert!(c.stderr.contains("Dockerfile:1"), "{}", c.stderr);
}

/// Every file under `dir`, recursively, as (path, bytes).
fn all_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let path = e.path();
        if path.is_dir() {
            out.extend(all_files(&path));
        } else if path.is_file() {
            out.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    out
}

#[test]
fn wrong_registry_credentials_are_refused_redacted_and_nothing_is_tagged() {
    let (_reg, _base, p) = tool_on_base(false);
    let dest_reg = Registry::start_with_htpasswd("ci-bot", "right-Pa55word-7781");
    p.tag("v1.0.0");
    let dest = format!("oci://{}/acme", dest_reg.host);
    let wrong = "wrong-Pa55word-3346";
    let out = p.relman_env(
        &["release", "--to", &dest],
        &[("RELMAN_PASSWORD", PASS), ("RELMAN_REGISTRY_USERNAME", "ci-bot"), ("RELMAN_REGISTRY_PASSWORD", wrong)],
    );
    out.fails(8, &dest_reg.host);
    assert!(!out.stderr.contains(wrong) && !out.stdout.contains(wrong), "password shown: {}", out.stderr);
    // Nothing was tagged: the repository has no tags at all.
    let tags = Command::new("skopeo")
        .args(["list-tags", "--tls-verify=false", "--creds", "ci-bot:right-Pa55word-7781"])
        .arg(format!("docker://{}/acme/tool", dest_reg.host))
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&tags.stdout);
    assert!(!tags.status.success() || !listed.contains("1.0.0"), "tagged after a refused publish: {listed}");

    // The right credentials: published; neither password is in any file relman wrote.
    let right = "right-Pa55word-7781";
    let ok = p.relman_env(
        &["publish", "--to", &dest],
        &[("RELMAN_PASSWORD", PASS), ("RELMAN_REGISTRY_USERNAME", "ci-bot"), ("RELMAN_REGISTRY_PASSWORD", right)],
    );
    ok.ok();
    assert!(!ok.stderr.contains(right) && !ok.stdout.contains(right));
    let listed = run(Command::new("skopeo")
        .args(["list-tags", "--tls-verify=false", "--creds", &format!("ci-bot:{right}")])
        .arg(format!("docker://{}/acme/tool", dest_reg.host)));
    assert!(listed.contains("\"1.0.0\""), "{listed}");
    for (path, bytes) in all_files(&p.path("dist")) {
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(right) && !text.contains(wrong), "a password in {}", path.display());
    }
}

#[test]
fn a_maintenance_release_moves_its_minor_tag_and_leaves_latest() {
    let (reg, _base, p) = tool_on_base(false);
    let dest = format!("oci://{}/acme", reg.host);
    let repo = format!("{}/acme/tool", reg.host);
    let env = [("RELMAN_PASSWORD", PASS)];
    let mut digests = std::collections::BTreeMap::new();
    for v in ["1.2.3", "1.3.0", "1.2.4"] {
        p.write("NEWS", &format!("{v}\n"));
        p.commit(v);
        p.tag(&format!("v{v}"));
        p.relman_env(&["release", "--to", &dest], &env).ok();
        digests.insert(v, skopeo_raw(&format!("{repo}:{v}")).0);
        if v != "1.2.4" {
            p.relman(&["promote", v, "--to", &dest]).ok();
        }
    }
    assert_eq!(skopeo_raw(&format!("{repo}:latest")).0, digests["1.3.0"]);
    // 1.2.4 after 1.3.0: 1.2 moves to it, latest stays on 1.3.0.
    let out = p.relman(&["promote", "1.2.4", "--to", &dest]);
    out.ok();
    assert!(format!("{}{}", out.stdout, out.stderr).contains("latest stays at 1.3.0"), "{}{}", out.stdout, out.stderr);
    assert_eq!(skopeo_raw(&format!("{repo}:1.2")).0, digests["1.2.4"]);
    assert_eq!(skopeo_raw(&format!("{repo}:latest")).0, digests["1.3.0"]);
    assert_eq!(skopeo_raw(&format!("{repo}:1.3")).0, digests["1.3.0"]);
    // 1.2.3 again: 1.2 would go backwards → refused (exit 9), nothing moved.
    let out = p.relman(&["promote", "1.2.3", "--to", &dest]);
    out.fails(9, "1.2 is 1.2.4");
    assert!(out.stderr.contains("--allow-downgrade to move X.Y backwards"), "{}", out.stderr);
    assert_eq!(skopeo_raw(&format!("{repo}:1.2")).0, digests["1.2.4"]);
    // On purpose: 1.2 goes back to 1.2.3, latest stays on the newer 1.3 line.
    p.relman(&["promote", "1.2.3", "--to", &dest, "--allow-downgrade"]).ok();
    assert_eq!(skopeo_raw(&format!("{repo}:1.2")).0, digests["1.2.3"]);
    assert_eq!(skopeo_raw(&format!("{repo}:latest")).0, digests["1.3.0"]);
}

#[test]
fn verify_oci_refuses_a_flipped_payload_a_swapped_signature_and_a_missing_attestation() {
    use relman_oci::registry::{Client, ClientOptions};
    use relman_oci::types::Manifest;
    use relman_oci::{cosign, media, Reference};

    let (reg, _base, p) = tool_on_base(false);
    p.tag("v5.0.0");
    p.relman_env(&["release", "--to", &format!("oci://{}/acme", reg.host)], &[("RELMAN_PASSWORD", PASS)]).ok();
    let target = format!("oci://{}/acme/tool:5.0.0", reg.host);
    let verify = || p.relman(&["verify", &target, "--key", "relman.pub"]);
    verify().ok();

    let client = Client::new(ClientOptions { lookup_credentials: false, ..ClientOptions::default() });
    let repo = Reference::parse(&format!("{}/acme/tool", reg.host)).unwrap();
    let index = client.get_manifest(&repo.with_tag("5.0.0")).unwrap().unwrap();
    let Manifest::Index(idx) = index.parse().unwrap() else { panic!("index") };
    let (amd, arm) = (idx.manifests[0].digest.clone(), idx.manifests[1].digest.clone());
    let sig_of =
        |d: &relman_oci::Digest| client.get_manifest(&repo.with_tag(&cosign::signature_tag(d))).unwrap().unwrap();
    let put = |tag: &str, bytes: &[u8]| {
        client.put_manifest(&repo, tag, bytes, media::OCI_MANIFEST).unwrap();
    };

    // Swapped: arm64's signature tag holds amd64's signature (valid, but for another digest).
    let arm_sig = sig_of(&arm);
    put(&cosign::signature_tag(&arm), &sig_of(&amd).bytes);
    let out = verify();
    out.fails(7, "linux/arm64");
    assert!(out.stderr.contains("no valid signature"), "{}", out.stderr);
    put(&cosign::signature_tag(&arm), &arm_sig.bytes);
    verify().ok();

    // One byte of the index's signed payload flipped (the signature annotation kept).
    let index_sig = sig_of(&index.digest);
    let Manifest::Image(mut m) = index_sig.parse().unwrap() else { panic!("sig manifest") };
    let mut payload = client.get_blob(&repo, &m.layers[0].digest).unwrap();
    let at = payload.iter().position(|b| *b == b'"').unwrap() + 1;
    payload[at] ^= 0x01;
    client.push_blob_bytes(&repo, &payload).unwrap();
    m.layers[0].digest = relman_oci::Digest::of(&payload);
    m.layers[0].size = payload.len() as u64;
    put(&cosign::signature_tag(&index.digest), &m.to_bytes());
    let out = verify();
    out.fails(7, "index");
    put(&cosign::signature_tag(&index.digest), &index_sig.bytes);
    verify().ok();

    // Lifted: the image and every signature and attestation copied as they are into another
    // repository. Each signature names `acme/tool` (critical.identity.docker-reference), so it
    // does not vouch for `acme/mirror`.
    for tag in ["5.0.0".to_string()]
        .into_iter()
        .chain([&index.digest, &amd, &arm].iter().flat_map(|d| [cosign::signature_tag(d), cosign::attestation_tag(d)]))
    {
        let st = std::process::Command::new("skopeo")
            .args(["copy", "--all", "--preserve-digests", "--src-tls-verify=false", "--dest-tls-verify=false"])
            .arg(format!("docker://{}/acme/tool:{tag}", reg.host))
            .arg(format!("docker://{}/acme/mirror:{tag}", reg.host))
            .output()
            .unwrap();
        assert!(st.status.success(), "skopeo copy {tag}: {}", String::from_utf8_lossy(&st.stderr));
    }
    let out = p.relman(&["verify", &format!("oci://{}/acme/mirror:5.0.0", reg.host), "--key", "relman.pub"]);
    out.fails(7, &format!("names the repository `{}/acme/tool`, not `{}/acme/mirror`", reg.host, reg.host));

    // Missing: amd64's attestations deleted.
    let att = client.head_manifest(&repo.with_tag(&cosign::attestation_tag(&amd))).unwrap().unwrap();
    assert!(client.delete_manifest(&repo, &att.digest).unwrap());
    let out = verify();
    out.fails(7, "linux/amd64");
    assert!(out.stderr.contains("no attestation"), "{}", out.stderr);

    // Someone else's manifest (not an index) at the index's referrers tag: publishing again
    // refuses to overwrite it, naming the tag; it is still there.
    let fallback = cosign::fallback_tag(&index.digest);
    put(&fallback, &index_sig.bytes);
    let out = p.relman_env(&["publish", "--to", &format!("oci://{}/acme", reg.host)], &[("RELMAN_PASSWORD", PASS)]);
    out.fails(8, "not an image index");
    assert!(out.stderr.contains(&fallback), "{}", out.stderr);
    assert_eq!(client.get_manifest(&repo.with_tag(&fallback)).unwrap().unwrap().digest, index_sig.digest);
}

#[test]
fn a_dynamically_linked_binary_on_a_base_without_its_loader_is_refused() {
    let reg = Registry::start();
    let p0 = Project::empty();
    let digest = base_image(&p0, &reg);
    let p = Project::generic(&[AMD64]);
    // A glibc executable of this machine, on the busybox-static base (no C library at all).
    let elf = std::fs::read("/bin/true").unwrap();
    std::fs::create_dir_all(p.path("bin")).unwrap();
    std::fs::write(p.path("bin/true"), &elf).unwrap();
    let mut toml = std::fs::read_to_string(p.path("relman.toml")).unwrap();
    toml.push_str(&format!(
        "\n[[image]]\nname = \"tool\"\nbase = \"{}/base:1@{digest}\"\n[[image.files]]\nsrc = \"bin/true\"\ndest = \"/usr/local/bin/true\"\nmode = \"0755\"\n",
        reg.host
    ));
    p.write("relman.toml", &toml);
    p.commit("a dynamic binary");
    p.tag("v1.0.0");
    p.relman(&["build"]).ok();
    let out = p.relman(&["package"]);
    out.fails(6, "`/usr/local/bin/true` is dynamically linked and needs `/lib64/ld-linux-x86-64.so.2`");
    assert!(out.stderr.contains("musl"), "a hint: {}", out.stderr);

    // With the loader in the layer (here: a stand-in file), the check is satisfied.
    toml.push_str("[[image.files]]\nsrc = \"bin/true\"\ndest = \"/lib64/ld-linux-x86-64.so.2\"\nmode = \"0755\"\n");
    p.write("relman.toml", &toml);
    p.commit("loader");
    p.tag("v1.0.1");
    p.relman(&["build"]).ok();
    p.relman(&["package"]).ok();
}

/// Fault suite through the binary: `release` to a registry behind the fault proxy (503s,
/// dropped connections, stalls past the read timeout, truncated answers, seeded). It succeeds
/// through retries or fails with a network/publish error; the version tag never names an
/// incomplete image; `publish` again without faults converges, and the image verifies.
#[test]
fn fault_suite_release_to_a_faulty_registry_converges() {
    use relman_oci::testing::{FaultPlan, FaultProxy};
    let (reg, _base, p) = tool_on_base(false);
    p.tag("v1.0.0");
    let proxy = FaultProxy::start(&reg.host, FaultPlan { seed: 7, rate: 0.15, stall: Duration::from_millis(2500) });
    let dest = format!("oci://{}/acme", proxy.host);
    let env = [("RELMAN_PASSWORD", PASS), ("RELMAN_REGISTRY_TIMEOUT", "1")];
    let first = p.relman_env(&["release", "--to", &dest], &env);
    assert!(
        [0, 8, 11].contains(&first.code),
        "neither success nor a clean failure (exit {}):\n{}",
        first.code,
        first.stderr
    );
    if first.code != 0 {
        assert!(first.stderr.lines().any(|l| l.starts_with("error: ")), "{}", first.stderr);
    }
    // Never half-tagged: if 1.0.0 exists it is the whole signed index (checked by verify
    // below, after the re-run; here, its platforms are all present).
    let repo = format!("{}/acme/tool", reg.host);
    if let Ok(out) = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{repo}:1.0.0"))
        .output()
    {
        if out.status.success() {
            let index: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            for m in index["manifests"].as_array().unwrap() {
                let d = m["digest"].as_str().unwrap();
                skopeo_raw(&format!("{repo}@{d}"));
            }
        }
    }
    let injected = proxy.stats().injected();
    proxy.set_rate(0.0);
    p.relman_env(&["publish", "--to", &dest], &env).ok();
    p.relman(&["verify", &format!("oci://{repo}:1.0.0"), "--key", "relman.pub"]).ok();
    eprintln!("fault suite (binary): {}; first run exit {}; re-run converged", proxy.stats().summary(), first.code);
    assert!(injected > 0, "no fault was injected: {}", proxy.stats().summary());
}

/// Crash suite at an OCI destination: SIGKILL `release --promote` after the images are pushed
/// (unsigned, untagged), after they are signed, after the version tag, after `X.Y` moved; and
/// `yank` after its first deletion. Right after each kill, a version tag names a complete,
/// signed image (or does not exist) and `latest` is never ahead of it; the re-run exits 0 and
/// converges on the digest an uninterrupted run pushed.
#[test]
fn crash_suite_at_an_oci_destination() {
    let (reg, _base, p) = tool_on_base(false);
    p.tag("v1.0.0");
    let env = [("RELMAN_PASSWORD", PASS)];
    let head = |repo: &str, tag: &str| -> Option<String> {
        let out = Command::new("skopeo")
            .args(["inspect", "--raw", "--tls-verify=false"])
            .arg(format!("docker://{repo}:{tag}"))
            .output()
            .unwrap();
        out.status.success().then(|| format!("sha256:{}", sha256_hex(&out.stdout)))
    };
    // The uninterrupted run.
    let reference = format!("oci://{}/ref", reg.host);
    p.relman_env(&["release", "--promote", "--to", &reference], &env).ok();
    let expected = head(&format!("{}/ref/tool", reg.host), "1.0.0").expect("tagged");
    let points = ["pushed:tool", "signed:tool", "moved:", "tagged:"];
    for (i, point) in points.iter().enumerate() {
        let path = format!("c{i}");
        let dest = format!("oci://{}/{path}", reg.host);
        let repo = format!("{}/{path}/tool", reg.host);
        let point = match *point {
            "tagged:" => format!("tagged:{repo}:1.0.0"),
            "moved:" => format!("moved:{repo}:1.0"),
            p => p.to_string(),
        };
        kill_at_with(&p.dir, &["release", "--promote", "--to", &dest], &point, &env);
        // Never ahead: a version tag is a complete, signed image; latest only after it.
        if let Some(tagged) = head(&repo, "1.0.0") {
            assert_eq!(tagged, expected, "{point}");
            p.relman(&["verify", &format!("oci://{repo}:1.0.0"), "--key", "relman.pub"]).ok();
        }
        if let Some(latest) = head(&repo, "latest") {
            assert_eq!(Some(latest), head(&repo, "1.0.0"), "{point}: latest ahead of the version tag");
        }
        let out = p.relman_env(&["release", "--promote", "--to", &dest], &env);
        assert_eq!(out.code, 0, "re-run after a kill at `{point}`:\n{}", out.stderr);
        assert_eq!(head(&repo, "1.0.0").as_deref(), Some(expected.as_str()), "{point}");
        assert_eq!(head(&repo, "latest").as_deref(), Some(expected.as_str()), "{point}");
        p.relman(&["verify", &format!("oci://{repo}:latest"), "--key", "relman.pub"]).ok();
    }
    // Yank killed after its first deletion: the re-run finishes it.
    let repo = format!("{}/c0/tool", reg.host);
    kill_at(&p.dir, &["yank", "1.0.0", "--to", &format!("oci://{}/c0", reg.host), "--yes", "--force"], "deleted");
    let out = p.relman(&["yank", "1.0.0", "--to", &format!("oci://{}/c0", reg.host), "--yes", "--force"]);
    assert_eq!(out.code, 0, "yank re-run:\n{}", out.stderr);
    assert_eq!(head(&repo, "1.0.0"), None);
    eprintln!("crash suite (oci): {} points in release/promote and 1 in yank killed and recovered", points.len());
}

/// `release --promote` runs the configured smoke test (podman), whose signed result the
/// promote gate then reads: the whole chain passes in one command and moves latest.
#[test]
fn release_with_promote_runs_the_smoke_test() {
    let (reg, _base, p) = tool_on_base(true);
    p.tag("v2.0.0");
    let dest = format!("oci://{}/acme", reg.host);
    let repo = format!("{}/acme/tool", reg.host);
    let penv = podman_env(&p);
    let mut env: Vec<(&str, &str)> = penv.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    env.push(("RELMAN_PASSWORD", PASS));
    let out = p.relman_env(&["release", "--promote", "--to", &dest], &env);
    out.ok();
    assert!(out.stderr.contains("== smoke"), "{}", out.stderr);
    let (digest, _) = skopeo_raw(&format!("{repo}:2.0.0"));
    assert_eq!(skopeo_raw(&format!("{repo}:latest")).0, digest);
    assert_eq!(skopeo_raw(&format!("{repo}:2.0")).0, digest);

    // A later smoke run FAILS (the expectation changed): its signed result replaces the pass,
    // and promote of the version latest already names is refused by the smoke gate.
    let toml = std::fs::read_to_string(p.path("relman.toml")).unwrap();
    p.write("relman.toml", &toml.replace("expect = \"tool {version}\"", "expect = \"no such output\""));
    p.relman_env(&["smoke", "--to", &dest, "--allow-dirty"], &env).fails(9, "smoke test of `tool` failed");
    let refused = p.relman(&["promote", "2.0.0", "--to", &dest]);
    refused.fails(9, "the newest smoke result FAILED");
    // Passing again replaces the failure (identical to the first pass, byte for byte): the
    // gate passes again.
    p.write("relman.toml", &toml);
    p.relman_env(&["smoke", "--to", &dest], &env).ok();
    p.relman(&["promote", "2.0.0", "--to", &dest]).ok();
    assert_eq!(skopeo_raw(&format!("{repo}:latest")).0, digest);
}

/// Wrong credentials at the registry, the second of two destinations: refused in the
/// preflight, so the directory destination listed first receives nothing.
#[test]
fn wrong_credentials_at_one_destination_write_nothing_anywhere() {
    let (_reg, _base, p) = tool_on_base(false);
    let dest_reg = Registry::start_with_htpasswd("ci-bot", "right-Pa55word-1204");
    p.tag("v1.0.0");
    let dir = p.outside("files");
    let to_dir = format!("dir:{}", dir.display());
    let to_oci = format!("oci://{}/acme", dest_reg.host);
    let out = p.relman_env(
        &["release", "--to", &to_dir, "--to", &to_oci],
        &[
            ("RELMAN_PASSWORD", PASS),
            ("RELMAN_REGISTRY_USERNAME", "ci-bot"),
            ("RELMAN_REGISTRY_PASSWORD", "wrong-Pa55word-9"),
        ],
    );
    assert!([8, 11].contains(&out.code), "exit {}:\n{}", out.code, out.stderr);
    assert!(out.stderr.contains(&dest_reg.host), "{}", out.stderr);
    assert!(!dir.join("1.0.0").exists(), "the dir: destination was written before the registry was checked");
}

/// Destinations go in dependency order, whatever order they are listed in: the registry (that
/// file stores and pages link to) before the `dir:`, at publish and at promote.
#[test]
fn destinations_publish_and_promote_in_dependency_order() {
    let (reg, _base, p) = tool_on_base(false);
    p.tag("v1.0.0");
    let dir = p.outside("files");
    let to_dir = format!("dir:{}", dir.display());
    let to_oci = format!("oci://{}/acme", reg.host);
    let out = p.relman_env(&["release", "--to", &to_dir, "--to", &to_oci], &[("RELMAN_PASSWORD", PASS)]);
    out.ok();
    let at = |needle: &str| out.stderr.find(needle).unwrap_or_else(|| panic!("{needle:?} not in:\n{}", out.stderr));
    assert!(at(&format!("{to_oci}: ")) < at(&format!("{to_dir}: ")), "{}", out.stderr);
    let promoted = p.relman(&["promote", "1.0.0", "--to", &to_dir, "--to", &to_oci]);
    promoted.ok();
    let (o, d) = (promoted.stdout.find(&to_oci).unwrap(), promoted.stdout.find(&to_dir).unwrap());
    assert!(o < d, "{}", promoted.stdout);
}

/// The second phase from a fresh clone at the tag (a separate promote workflow): no `dist/`,
/// no private key (git-ignored). Promote gates on what the registry holds, signatures checked
/// with the committed public key, and moves latest and X.Y.
#[test]
fn promote_from_a_fresh_clone_without_dist_or_private_key() {
    let (reg, _base, p) = tool_on_base(false);
    p.tag("v1.0.0");
    let dest = format!("oci://{}/acme", reg.host);
    p.relman_env(&["release", "--to", &dest], &[("RELMAN_PASSWORD", PASS)]).ok();
    let clone = p.outside("clone");
    let out = Command::new("git").args(["clone", "-q", "--branch", "v1.0.0"]).arg(&p.dir).arg(&clone).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!clone.join("dist").exists() && !clone.join("relman.key").exists() && clone.join("relman.pub").exists());
    let out = run_in(&clone, &["promote", "1.0.0", "--to", &dest]);
    out.ok();
    let repo = format!("{}/acme/tool", reg.host);
    let (digest, _) = skopeo_raw(&format!("{repo}:1.0.0"));
    assert_eq!(skopeo_raw(&format!("{repo}:latest")).0, digest);
    assert_eq!(skopeo_raw(&format!("{repo}:1.0")).0, digest);
    // The summary from the clone: the image fetched and verified, both pointers on it.
    let sum = run_in(&clone, &["summary", "1.0.0", "--to", &dest]);
    sum.ok();
    assert!(
        sum.stdout.contains(&format!("unchecked {repo}:1.0.0"))
            || sum.stdout.contains(&format!("ok        {repo}:1.0.0")),
        "{}",
        sum.stdout
    );
    assert!(sum.stdout.contains(&format!("pointer   {repo}:latest → {digest}")), "{}", sum.stdout);
    // A release signed by another key is refused: the registry's record first (it is the
    // project's only when signed by the committed key), so no gate runs on it.
    let other = p.outside("otherkey");
    run_with_env(&other, &["keygen", "--no-config"], &[("RELMAN_PASSWORD", PASS)]).ok();
    std::fs::copy(other.join("relman.pub"), clone.join("relman.pub")).unwrap();
    run_in(&clone, &["promote", "1.0.0", "--to", &dest]).fails(7, "is not the project's");
}

/// An image and a chart of the same name: refused before anything is built; with the chart
/// at its own path (`repository = "charts"`) both are pushed side by side, and yank removes
/// the chart with its signature and attestation tags too.
#[test]
fn charts_get_their_own_path_and_are_yanked_with_the_images() {
    let (reg, _base, p) = tool_on_base(false);
    let toml = std::fs::read_to_string(p.path("relman.toml")).unwrap();
    p.write("relman.toml", &format!("{toml}\n[[chart]]\npath = \"deploy/chart\"\n"));
    p.write("deploy/chart/Chart.yaml", "apiVersion: v2\nname: tool\nversion: 1.0.0\nappVersion: 1.0.0\n");
    p.write("deploy/chart/values.yaml", "image:\n  tag: \"\"\n");
    p.write("deploy/chart/templates/deployment.yaml", "kind: Deployment\n");
    p.commit("chart");
    p.tag("v1.0.0");
    let dest = format!("oci://{}/acme", reg.host);
    let env = [("RELMAN_PASSWORD", PASS)];
    let out = p.relman_env(&["release", "--to", &dest], &env);
    out.fails(3, "the chart `tool` (deploy/chart) and the image `tool` would be pushed to the same repository");
    assert!(out.stderr.contains("repository = \"charts\""), "{}", out.stderr);
    assert!(!out.stderr.contains("== build"), "refused after building:\n{}", out.stderr);

    p.write("relman.toml", &format!("{toml}\n[[chart]]\npath = \"deploy/chart\"\nrepository = \"charts\"\n"));
    p.commit("chart path");
    p.git(&["tag", "-f", "-a", "v1.0.0", "-m", "v1.0.0"]);
    p.relman_env(&["release", "--to", &dest], &env).ok();
    let (image, _) = skopeo_raw(&format!("{}/acme/tool:1.0.0", reg.host));
    let (chart, m) = skopeo_raw(&format!("{}/acme/charts/tool:1.0.0", reg.host));
    assert_ne!(image, chart);
    assert_eq!(m["config"]["mediaType"], "application/vnd.cncf.helm.config.v1+json");
    let chart_sig = format!("{}/acme/charts/tool:sha256-{}.sig", reg.host, chart.trim_start_matches("sha256:"));
    skopeo_raw(&chart_sig);

    p.relman(&["yank", "1.0.0", "--to", &dest, "--yes"]).ok();
    for gone in [format!("{}/acme/tool:1.0.0", reg.host), format!("{}/acme/charts/tool:1.0.0", reg.host), chart_sig] {
        let st = Command::new("skopeo")
            .args(["inspect", "--raw", "--tls-verify=false"])
            .arg(format!("docker://{gone}"))
            .output()
            .unwrap();
        assert!(!st.status.success(), "{gone} is still there after yank");
    }
}

#[test]
fn image_tag_templates_are_immutable_names_of_the_same_index() {
    let (reg, _base, p) = tool_on_base(false);
    let toml = std::fs::read_to_string(p.path("relman.toml"))
        .unwrap()
        .replace("[[image]]\n", "[[image]]\ntags = [\"v{version}\", \"{version}-busybox\"]\n");
    p.write("relman.toml", &toml);
    p.commit("v-prefixed image tags");
    p.tag("v1.0.0");
    let env = [("RELMAN_PASSWORD", PASS)];
    let dest = format!("oci://{}/acme", reg.host);
    let out = p.relman_env(&["release", "--to", &dest], &env);
    out.ok();
    let (version, _) = skopeo_raw(&format!("{}/acme/tool:1.0.0", reg.host));
    assert_eq!(skopeo_raw(&format!("{}/acme/tool:v1.0.0", reg.host)).0, version);
    assert_eq!(skopeo_raw(&format!("{}/acme/tool:1.0.0-busybox", reg.host)).0, version);
    // The extra tags go before the version tag (the version tag is the last word).
    let v = out.stderr.find("acme/tool:v1.0.0 →").expect(&out.stderr);
    let plain = out.stderr.find("acme/tool:1.0.0 →").expect(&out.stderr);
    assert!(v < plain, "{}", out.stderr);
    // Re-publishing writes nothing; a taken extra tag is refused before anything is pushed.
    p.relman_env(&["publish", "--to", &dest], &env).ok();
    p.write("NEWS", "1.1.0\n");
    p.commit("fix: news");
    p.tag("v1.1.0");
    let (other, _) = skopeo_raw(&format!("{}/base:1", reg.host));
    run(Command::new("skopeo")
        .args(["copy", "-q", "--all", "--src-tls-verify=false", "--dest-tls-verify=false"])
        .arg(format!("docker://{}/base:1", reg.host))
        .arg(format!("docker://{}/acme/tool:v1.1.0", reg.host)));
    p.relman_env(&["release", "--to", &dest], &env).fails(8, &other);
    assert!(
        !Command::new("skopeo")
            .args(["inspect", "--raw", "--tls-verify=false"])
            .arg(format!("docker://{}/acme/tool:1.1.0", reg.host))
            .output()
            .unwrap()
            .status
            .success(),
        "nothing of 1.1.0 was tagged"
    );
    // A tag without {version} would move: refused as config.
    let toml = std::fs::read_to_string(p.path("relman.toml")).unwrap().replace("\"{version}-busybox\"", "\"stable\"");
    p.write("relman.toml", &toml);
    p.relman_env(&["publish", "--allow-dirty", "--to", &dest], &env)
        .fails(3, "tag `stable` in [[image]] tags has no {version}");
}

/// Keyless: images and a chart signed with a Fulcio certificate from Sigstore's own doubles
/// (`@sigstore/mock`), every signature logged in Rekor. `relman verify oci://` checks them by
/// identity; sigstore-js (`@sigstore/verify`, log and timestamp thresholds 1) verifies every
/// referrer bundle with the identity and issuer; the `.sig` layers carry cosign's keyless
/// annotations; a wrong identity and a key are refused.
#[test]
fn keyless_images_and_charts_verify_by_identity_with_relman_and_sigstore_js() {
    use common::sigstore_doubles::*;
    use relman_oci::registry::{Client, ClientOptions};
    use relman_oci::{cosign, Reference};

    let sig = Sigstore::start();
    let reg = Registry::start();
    let holder = Project::empty();
    let base = format!("{}/base:1@{}", reg.host, base_image(&holder, &reg));
    let p = Project::generic(&[AMD64, ARM64]);
    let mut toml = std::fs::read_to_string(p.path("relman.toml")).unwrap();
    toml.push_str(&format!(
        "\n[[image]]\nname = \"tool\"\nbase = \"{base}\"\n\n[[chart]]\npath = \"deploy/chart\"\n\n[sign]\nmode = \"keyless\"\nfulcio_url = \"{0}\"\nrekor_url = \"{0}\"\n",
        sig.url
    ));
    p.write("relman.toml", &toml);
    p.write("deploy/chart/Chart.yaml", "apiVersion: v2\nname: tool-chart\nversion: 1.0.0\nappVersion: 1.0.0\n");
    p.write("deploy/chart/values.yaml", "image:\n  repository: registry.example/acme/tool\n  tag: \"\"\n");
    p.write("deploy/chart/templates/deployment.yaml", "kind: Deployment\n");
    p.commit("keyless images");
    p.tag("v1.0.0");
    let env = sig.actions_env("");
    p.relman_env(&["release", "--to", &format!("oci://{}/acme", reg.host)], &env_refs(&env)).ok();
    let stats = sig.stats();
    assert_eq!(stats["fulcio"], 1, "one certificate for files, images and the chart: {stats}");
    // The notes name the image's keyless verify commands, cosign's and relman's.
    let notes = std::fs::read_to_string(p.path("dist/1.0.0/release-notes.md")).unwrap();
    let who = format!("--certificate-identity '{IDENTITY}' --certificate-oidc-issuer '{}'", sig.issuer());
    assert!(notes.contains(&format!("cosign verify {who} {}/acme/tool@sha256:", reg.host)), "{notes}");
    assert!(notes.contains(&format!("relman verify oci://{}/acme/tool:1.0.0 {who}", reg.host)), "{notes}");
    assert!(!notes.contains("--key relman.pub"), "{notes}");

    let root = sig.trusted_root.display().to_string();
    let issuer = sig.issuer();
    for what in ["tool", "tool-chart"] {
        let target = format!("oci://{}/acme/{what}:1.0.0", reg.host);
        let v = p.relman(&[
            "verify",
            &target,
            "--certificate-identity",
            IDENTITY,
            "--certificate-oidc-issuer",
            &issuer,
            "--trusted-root",
            &root,
        ]);
        v.ok();
        assert!(v.stdout.contains(&format!("signed and attested by identity `{IDENTITY}`")), "{}", v.stdout);
        // Another identity, and a key, are refused.
        p.relman(&[
            "verify",
            &target,
            "--certificate-identity",
            "https://github.com/evil/x/.github/workflows/r.yml@refs/tags/v1.0.0",
            "--certificate-oidc-issuer",
            &issuer,
            "--trusted-root",
            &root,
        ])
        .fails(7, "not by identity");
    }
    // A re-run with everything published asks Sigstore for nothing and pushes no signature.
    let before = sig.stats();
    p.relman_env(&["release", "--to", &format!("oci://{}/acme", reg.host)], &env_refs(&env)).ok();
    let after = sig.stats();
    assert_eq!(after["fulcio"], before["fulcio"], "{after}");
    assert_eq!(after["oidc"], before["oidc"], "{after}");
    assert_eq!(after["rekor_post"], before["rekor_post"], "{after}");
    p.relman_env(&["keygen"], &[("RELMAN_PASSWORD", PASS)]).ok();
    p.relman(&["verify", &format!("oci://{}/acme/tool:1.0.0", reg.host), "--key", "relman.pub"]).fails(7, "problem");

    // The .sig layers carry cosign's keyless annotations; every referrer bundle verifies in
    // sigstore-js by identity.
    let client = Client::new(ClientOptions { lookup_credentials: false, ..ClientOptions::default() });
    let work = p.outside("peer");
    let mut verified = 0;
    for what in ["tool", "tool-chart"] {
        let repo = Reference::parse(&format!("{}/acme/{what}:1.0.0", reg.host)).unwrap();
        let root_manifest = client.get_manifest(&repo).unwrap().unwrap();
        let mut subjects = vec![(root_manifest.digest.clone(), root_manifest.bytes.clone())];
        if let relman_oci::types::Manifest::Index(idx) = root_manifest.parse().unwrap() {
            for m in &idx.manifests {
                subjects.push((
                    m.digest.clone(),
                    client.get_manifest(&repo.with_digest(&m.digest)).unwrap().unwrap().bytes,
                ));
            }
        }
        if what == "tool" {
            // The tag's index has the platforms' SBOMs too: its packages can be counted.
            let (index_digest, _) = &subjects[0];
            let f = client.get_manifest(&repo.with_tag(&cosign::attestation_tag(index_digest))).unwrap().unwrap();
            let relman_oci::types::Manifest::Image(att) = f.parse().unwrap() else { panic!(".att") };
            let spdx: Vec<_> = att
                .layers
                .iter()
                .filter(|l| l.annotations.get("predicateType").map(String::as_str) == Some("https://spdx.dev/Document"))
                .collect();
            assert_eq!(spdx.len(), 2, "one SBOM per platform on the index: {:?}", att.layers);
            for l in spdx {
                let env: serde_json::Value =
                    serde_json::from_slice(&client.get_blob(&repo, &l.digest).unwrap()).unwrap();
                use base64::Engine as _;
                let stmt: serde_json::Value = serde_json::from_slice(
                    &base64::engine::general_purpose::STANDARD.decode(env["payload"].as_str().unwrap()).unwrap(),
                )
                .unwrap();
                assert_eq!(stmt["subject"][0]["digest"]["sha256"], index_digest.hex());
                assert!(!stmt["predicate"]["packages"].as_array().unwrap().is_empty(), "{stmt}");
            }
            // The provenance names the base image by digest among what the image was made from.
            let slsa = att
                .layers
                .iter()
                .find(|l| {
                    l.annotations.get("predicateType").map(String::as_str) == Some("https://slsa.dev/provenance/v1")
                })
                .unwrap();
            let env: serde_json::Value =
                serde_json::from_slice(&client.get_blob(&repo, &slsa.digest).unwrap()).unwrap();
            use base64::Engine as _;
            let stmt: serde_json::Value = serde_json::from_slice(
                &base64::engine::general_purpose::STANDARD.decode(env["payload"].as_str().unwrap()).unwrap(),
            )
            .unwrap();
            let deps = stmt["predicate"]["buildDefinition"]["resolvedDependencies"].as_array().unwrap();
            let base_digest = base.rsplit_once('@').unwrap().1;
            assert!(
                deps.iter().any(|d| d["name"] == "base image"
                    && d["uri"] == format!("oci://{base}")
                    && d["digest"]["sha256"] == base_digest.trim_start_matches("sha256:")),
                "{deps:?}"
            );
        }
        for (digest, bytes) in &subjects {
            let f = client.get_manifest(&repo.with_tag(&cosign::signature_tag(digest))).unwrap().unwrap();
            let relman_oci::types::Manifest::Image(sigm) = f.parse().unwrap() else { panic!(".sig") };
            let a = &sigm.layers[0].annotations;
            assert!(a["dev.sigstore.cosign/certificate"].starts_with("-----BEGIN CERTIFICATE-----"), "{a:?}");
            // The sigstore crate checks the simple-signing signature with the certificate's key,
            // and that the certificate names the signer; an edited payload is refused.
            {
                use sigstore::crypto::{CosignVerificationKey, Signature};
                let pem = a["dev.sigstore.cosign/certificate"].as_bytes();
                let der = pem_to_der(pem);
                let cert = relman_sign::keyless::cert::Cert::parse(&der, "sig").unwrap();
                assert_eq!(cert.identities(), [IDENTITY]);
                let key = CosignVerificationKey::try_from_der(&cert.public_key_der().unwrap()).unwrap();
                let payload = client.get_blob(&repo, &sigm.layers[0].digest).unwrap();
                let signature = a["dev.cosignproject.cosign/signature"].clone();
                key.verify_signature(Signature::Base64Encoded(signature.as_bytes()), &payload)
                    .unwrap_or_else(|e| panic!("sigstore refused the keyless .sig of {digest}: {e}"));
                let mut edited = payload.clone();
                let at = edited.len() / 2;
                edited[at] ^= 1;
                assert!(key.verify_signature(Signature::Base64Encoded(signature.as_bytes()), &edited).is_err());
            }
            let rekor: serde_json::Value = serde_json::from_str(&a["dev.sigstore.cosign/bundle"]).unwrap();
            assert!(rekor["SignedEntryTimestamp"].is_string() && rekor["Payload"]["logID"].is_string(), "{rekor}");
            let f = client.get_manifest(&repo.with_tag(&cosign::fallback_tag(digest))).unwrap().unwrap();
            let relman_oci::types::Manifest::Index(refs) = f.parse().unwrap() else { panic!("fallback") };
            for r in &refs.manifests {
                // The release record is a referrer of the image index, not a bundle.
                if r.artifact_type.as_deref() == Some(relman_engine::oci::RECORD_ARTIFACT_TYPE) {
                    continue;
                }
                let fetched = client.get_manifest(&repo.with_digest(&r.digest)).unwrap().unwrap();
                let relman_oci::types::Manifest::Image(m) = fetched.parse().unwrap() else { panic!("referrer") };
                let bundle_path = work.join(format!("{}.sigstore.json", r.digest.to_string().replace(':', "-")));
                std::fs::write(&bundle_path, client.get_blob(&repo, &m.layers[0].digest).unwrap()).unwrap();
                let message =
                    m.annotations.get("dev.sigstore.bundle.content").map(String::as_str) == Some("message-signature");
                let subject_path = work.join("subject.json");
                std::fs::write(&subject_path, bytes).unwrap();
                let artifact = message.then_some(subject_path.as_path());
                let verdict = sigstore_js(&sig.trusted_root, &bundle_path, artifact, IDENTITY, &issuer);
                assert_eq!(verdict["ok"], true, "{what} {digest} referrer {}: {verdict}", r.digest);
                verified += 1;
            }
        }
    }
    // tool: index + 2 platforms (message, provenance, and SBOMs on the platforms); chart: 2.
    assert!(verified >= 10, "{verified}");

    // Promote's signed gate checks the images by the configured identity.
    std::fs::copy(&sig.trusted_root, p.path("trusted_root.json")).unwrap();
    let dest = format!("oci://{}/acme", reg.host);
    let with = |identity: &str| {
        p.write(
            "relman.toml",
            &toml.replace(
                "[sign]\n",
                &format!("[sign]\ntrusted_root = \"trusted_root.json\"\ncertificate_identity = \"{identity}\"\ncertificate_oidc_issuer = \"{issuer}\"\n"),
            ),
        );
    };
    with("https://github.com/evil/x/.github/workflows/r.yml@refs/tags/v1.0.0");
    p.relman(&["promote", "1.0.0", "--to", &dest]).fails(9, "gate signed");
    with(IDENTITY);
    p.relman(&["promote", "1.0.0", "--to", &dest]).ok();
    let (_, latest) = skopeo_raw(&format!("{}/acme/tool:latest", reg.host));
    assert_eq!(latest["mediaType"], "application/vnd.oci.image.index.v1+json");
}

/// The release record travels to a registry too. With only an `oci://` destination, publish
/// pushes `manifest.json` and its signature as an OCI 1.1 referrer of the version's index
/// (skopeo reads it back: its artifact type, the layers titled by file name, listed in the
/// referrers fallback tag), and a fresh clone (no `dist/`) promotes from it, after checking it
/// with the project's key. A clone that trusts another key refuses the record and moves
/// nothing; a version the registry does not hold says where relman looked.
#[test]
fn promote_from_a_fresh_clone_reads_the_record_the_registry_holds() {
    let (reg, _base, p) = tool_on_base(false);
    let dest = format!("oci://{}/acme", reg.host);
    let mut toml = std::fs::read_to_string(p.path("relman.toml")).unwrap();
    toml.push_str(&format!("\n[release]\nto = [\"{dest}\"]\n"));
    p.write("relman.toml", &toml);
    p.commit("release to the registry");
    p.tag("v1.4.0");
    let env = [("RELMAN_PASSWORD", PASS)];
    p.relman_env(&["release"], &env).ok();
    // Idempotent: a re-run pushes no second record.
    let again = p.relman_env(&["publish", "--json"], &env);
    again.ok();
    assert!(!again.stdout.contains("release record"), "{}", again.stdout);

    let repo = format!("{}/acme/tool", reg.host);
    let (index, _) = skopeo_raw(&format!("{repo}:1.4.0"));
    let (_, fallback) = skopeo_raw(&format!("{repo}:sha256-{}", &index["sha256:".len()..]));
    let records: Vec<&serde_json::Value> = fallback["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["artifactType"] == "application/vnd.relman.release-record.v1+json")
        .collect();
    assert_eq!(records.len(), 1, "{fallback:#}");
    let (_, record) = skopeo_raw(&format!("{repo}@{}", records[0]["digest"].as_str().unwrap()));
    assert_eq!(record["subject"]["digest"], index.as_str());
    let titles: Vec<&str> = record["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["annotations"]["org.opencontainers.image.title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["manifest.json", "manifest.json.sigstore.json"]);
    let published = std::fs::read(p.path("dist/1.4.0/release-manifest.json")).unwrap();
    assert_eq!(record["layers"][0]["digest"], format!("sha256:{}", sha256_hex(&published)));

    // A fresh clone that trusts another key refuses the registry's record: nothing moves.
    let clone = p.outside("clone");
    run(Command::new("git").args(["clone", "-q"]).arg(&p.dir).arg(&clone));
    let other = Project::empty();
    other.relman_env(&["keygen"], &[("RELMAN_PASSWORD", "pw2")]).ok();
    let ours = std::fs::read(clone.join("relman.pub")).unwrap();
    std::fs::write(clone.join("relman.pub"), std::fs::read(other.path("relman.pub")).unwrap()).unwrap();
    let out = run_in(&clone, &["promote", "1.4.0"]);
    assert_eq!(out.code, 7, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("is not the project's") && out.stderr.contains("release record of"), "{}", out.stderr);
    let tags = run(Command::new("skopeo").args(["list-tags", "--tls-verify=false"]).arg(format!("docker://{repo}")));
    assert!(!tags.contains("\"latest\""), "{tags}");

    // With the project's key, the fresh clone promotes from the registry's record.
    std::fs::write(clone.join("relman.pub"), ours).unwrap();
    let out = run_in(&clone, &["promote", "1.4.0"]);
    out.ok();
    assert_eq!(skopeo_raw(&format!("{repo}:latest")).0, index, "latest is the published index");
    let summary = run_in(&clone, &["summary", "1.4.0"]);
    summary.ok();
    assert!(summary.stdout.contains(&index), "{}", summary.stdout);
    // A version the registry does not hold: promote says where it looked.
    run_in(&clone, &["promote", "9.9.9"]).fails(9, &dest);
}

/// CI container images given by tag (`[ci] image`, a target's `container`) are reported by
/// `relman check` and `ci generate`, and `relman pin` pins them by digest in relman.toml, as it
/// does bases; the generated jobs then run in the pinned image.
#[test]
fn ci_container_images_given_by_tag_are_reported_and_pinned() {
    let reg = Registry::start();
    let p0 = Project::empty();
    let digest = base_image(&p0, &reg);
    let p = Project::generic(&[AMD64]);
    let tagged = format!("{}/base:1", reg.host);
    let toml = std::fs::read_to_string(p.path("relman.toml")).unwrap();
    p.write(
        "relman.toml",
        &format!(
            "{toml}\n[ci]\ninstall = \"true\"\nimage = \"{tagged}\"  # the jobs' image\n\n[ci.targets.\"{AMD64}\"]\ncontainer = \"{tagged}\"\n"
        ),
    );
    p.commit("ci images");
    p.tag("v1.0.0");
    let c = p.relman(&["check"]);
    c.fails(12, "not ready");
    assert_eq!(
        c.stdout.matches(&format!("CI container image `{tagged}` is not pinned by digest")).count()
            + c.stderr.matches(&format!("CI container image `{tagged}` is not pinned by digest")).count(),
        2,
        "{}{}",
        c.stdout,
        c.stderr
    );
    let g = p.relman(&["ci", "generate", "gitlab", "--dry-run"]);
    g.ok();
    assert!(
        g.stderr.contains(&format!("the CI container image `{tagged}` is given by tag: run `relman pin`")),
        "{}",
        g.stderr
    );
    p.relman(&["pin"]).ok();
    let pinned = format!("{tagged}@{digest}");
    let toml = std::fs::read_to_string(p.path("relman.toml")).unwrap();
    assert!(toml.contains(&format!("image = \"{pinned}\"  # the jobs' image")), "comment kept: {toml}");
    assert!(toml.contains(&format!("container = \"{pinned}\"")), "{toml}");
    p.relman(&["ci", "generate", "gitlab"]).ok();
    let yml = std::fs::read_to_string(p.path(".gitlab-ci.yml")).unwrap();
    assert!(yml.contains(&format!("image: \"{pinned}\"")), "{yml}");
    assert!(!yml.contains(&format!("\"{tagged}\"")), "{yml}");
    p.commit("pinned");
    assert!(!p.relman(&["check"]).stdout.contains("CI container image"));
}

/// Several runners promoting different versions to one registry at once, over several rounds
/// (a fresh repository path each): whatever the interleaving, `latest` ends on the newest
/// version and each `X.Y` on its line's newest — the registry has no compare-and-swap, so
/// every promote records its promotion first and converges the tags after its moves. Each
/// runs in its own clone and reads the record from the registry.
#[test]
fn concurrent_promotes_at_a_registry_never_go_backwards() {
    let (reg, _base, p) = tool_on_base(false);
    let env = [("RELMAN_PASSWORD", PASS)];
    let versions = ["1.1.0", "1.2.0", "1.2.1", "1.3.0"];
    let rounds = 5;
    let dests: Vec<String> = (0..rounds).map(|r| format!("oci://{}/round{r}", reg.host)).collect();
    for v in versions {
        p.write("docs/guide.md", &format!("guide of {v}\n"));
        p.commit(&format!("release {v}"));
        p.tag(&format!("v{v}"));
        let mut args = vec!["release"];
        for d in &dests {
            args.extend(["--to", d.as_str()]);
        }
        p.relman_env(&args, &env).ok();
    }
    let clones: Vec<std::path::PathBuf> = versions
        .iter()
        .map(|v| {
            let c = p.outside(&format!("clone-{v}"));
            run(Command::new("git").args(["clone", "-q"]).arg(&p.dir).arg(&c));
            c
        })
        .collect();
    for (r, dest) in dests.iter().enumerate() {
        let repo = format!("{}/round{r}/tool", reg.host);
        let outs: Vec<Out> = std::thread::scope(|scope| {
            let handles: Vec<_> = versions
                .iter()
                .zip(&clones)
                .map(|(v, c)| scope.spawn(move || run_in(c, &["promote", v, "--to", dest])))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (v, o) in versions.iter().zip(&outs) {
            assert!(
                o.code == 0 || (o.code == 9 && o.stderr.contains("gate not-older")),
                "round {r}, {v}:\n{}",
                o.stderr
            );
        }
        assert_eq!(outs[3].code, 0, "round {r}: the newest always promotes\n{}", outs[3].stderr);
        let digest = |t: &str| skopeo_raw(&format!("{repo}:{t}")).0;
        assert_eq!(digest("latest"), digest("1.3.0"), "round {r}: latest");
        assert_eq!(digest("1.2"), digest("1.2.1"), "round {r}: 1.2");
        assert_eq!(digest("1.1"), digest("1.1.0"), "round {r}: 1.1");
    }
    // --allow-downgrade takes 1.2.1 back on its line; a later promote of 1.2.0 stays there.
    let dest = &dests[0];
    let repo = format!("{}/round0/tool", reg.host);
    run_in(&clones[1], &["promote", "1.2.0", "--to", dest, "--allow-downgrade"]).ok();
    assert_eq!(skopeo_raw(&format!("{repo}:1.2")).0, skopeo_raw(&format!("{repo}:1.2.0")).0);
    assert_eq!(
        skopeo_raw(&format!("{repo}:latest")).0,
        skopeo_raw(&format!("{repo}:1.3.0")).0,
        "latest stays on the newer line"
    );
    run_in(&clones[0], &["promote", "1.1.0", "--to", dest]).ok();
    assert_eq!(
        skopeo_raw(&format!("{repo}:1.2")).0,
        skopeo_raw(&format!("{repo}:1.2.0")).0,
        "the withdrawn 1.2.1 is not brought back"
    );
}

/// Registry credentials are bound to their host: `RELMAN_REGISTRY_USERNAME/PASSWORD` given
/// for the release's destination registry are never offered to the registry the base image
/// comes from — even when that registry would accept them (here it does: same user and
/// password), so a leak would make the build succeed. Naming both hosts in
/// `RELMAN_REGISTRY_HOST` lets them through, which shows what refused the first build.
#[test]
fn registry_credentials_never_reach_the_base_image_registry() {
    let (user, pass) = ("ci-bot", "shared-Pa55word-5150");
    let base_reg = Registry::start_with_htpasswd(user, pass);
    let dest_reg = Registry::start_with_htpasswd(user, pass);
    let holder = Project::empty();
    let dir = holder.outside("base-layout");
    let _ = std::fs::remove_dir_all(&dir);
    run(Command::new(repo_root().join("scripts/make-base-image")).arg(&dir));
    let creds = format!("{user}:{pass}");
    run(Command::new("skopeo")
        .args(["copy", "-q", "--all", "--dest-tls-verify=false", "--dest-creds", &creds])
        .arg(format!("oci:{}:base", dir.display()))
        .arg(format!("docker://{}/base:1", base_reg.host)));
    let raw = run(Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false", "--creds", &creds])
        .arg(format!("docker://{}/base:1", base_reg.host)));
    let base = format!("{}/base:1@sha256:{}", base_reg.host, relman_install::hash::sha256_bytes(raw.as_bytes()));
    let p = Project::generic(&[AMD64]);
    let toml = std::fs::read_to_string(p.path("relman.toml")).unwrap();
    p.write("relman.toml", &format!("{toml}\n[[image]]\nname = \"tool\"\nbase = \"{base}\"\n"));
    p.commit("image");
    p.tag("v1.0.0");
    let dest = format!("oci://{}/acme", dest_reg.host);
    let env = [("RELMAN_REGISTRY_USERNAME", user), ("RELMAN_REGISTRY_PASSWORD", pass)];
    let out = p.relman_env(&["release", "--to", &dest], &env);
    assert_ne!(out.code, 0, "the base registry got the destination's credentials:\n{}", out.stderr);
    assert!(out.stderr.contains(&base_reg.host), "{}", out.stderr);
    assert!(!out.stderr.contains(pass) && !out.stdout.contains(pass));
    // Both hosts named: the same credentials reach the base registry, and the release goes out.
    let both = format!("{},{}", dest_reg.host, base_reg.host);
    let env = [
        ("RELMAN_REGISTRY_USERNAME", user),
        ("RELMAN_REGISTRY_PASSWORD", pass),
        ("RELMAN_REGISTRY_HOST", both.as_str()),
    ];
    p.relman_env(&["release", "--to", &dest], &env).ok();
}
