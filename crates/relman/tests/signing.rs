//! Signed releases through the real binary: keygen, signatures and provenance written and
//! published, idempotent re-runs, and the bad inputs around keys.

mod common;

use std::fs;

use common::*;

const T1: &str = "x86_64-unknown-linux-gnu";
const PASS: (&str, &str) = ("RELMAN_PASSWORD", "correct horse");

fn signed_project() -> Project {
    let p = Project::generic(&[T1]);
    let out = p.relman_env(&["keygen"], &[PASS]);
    out.ok();
    p.commit("signing key");
    p
}

#[test]
fn keygen_records_the_key_pair_and_ignores_the_private_key() {
    let p = signed_project();
    let cfg = fs::read_to_string(p.path("relman.toml")).unwrap();
    assert!(
        cfg.contains("[sign]") && cfg.contains("key = \"relman.key\"") && cfg.contains("public_key = \"relman.pub\""),
        "{cfg}"
    );
    // The rest of the file is kept as it was.
    assert!(cfg.contains("[package]\nfiles = [\"README.md\", \"docs/guide.md\"]"), "{cfg}");
    assert!(fs::read_to_string(p.path(".gitignore")).unwrap().lines().any(|l| l == "/relman.key"));
    let key = fs::read_to_string(p.path("relman.key")).unwrap();
    assert!(key.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----"), "{key}");
    assert!(!key.contains("correct horse"));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(fs::metadata(p.path("relman.key")).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(fs::read_to_string(p.path("relman.pub")).unwrap().starts_with("-----BEGIN PUBLIC KEY-----"));
    // The private key is not tracked by git; the public key is.
    let tracked = p.git(&["ls-files"]);
    assert!(tracked.contains("relman.pub") && !tracked.contains("relman.key"), "{tracked}");
    // Refuses to overwrite.
    p.relman_env(&["keygen"], &[PASS]).fails(2, "already exists");
}

#[test]
fn a_signed_release_publishes_signatures_and_provenance_and_reruns_as_a_no_op() {
    let p = signed_project();
    p.tag("v1.0.0");
    let dest = p.outside("rel");
    let to = format!("dir:{}", dest.display());
    p.relman_env(&["release", "--to", &to], &[PASS]).ok();
    let v = dest.join("1.0.0");
    let archive = format!("tool-1.0.0-{T1}.tar.gz");
    for f in [
        format!("{archive}.sig"),
        format!("{archive}.sigstore.json"),
        "checksums.txt.sig".into(),
        "checksums.txt.sigstore.json".into(),
        "index.json.sigstore.json".into(),
        "tool-1.0.0.intoto.jsonl".into(),
        "tool-1.0.0.intoto.jsonl.sigstore.json".into(),
    ] {
        assert!(v.join(&f).is_file(), "{f} missing");
    }
    let bundle: serde_json::Value =
        serde_json::from_slice(&fs::read(v.join(format!("{archive}.sigstore.json"))).unwrap()).unwrap();
    assert_eq!(bundle["mediaType"], "application/vnd.dev.sigstore.bundle.v0.3+json");
    let digest = bundle["messageSignature"]["messageDigest"]["digest"].as_str().unwrap().to_string();
    // The bundle signs the exact published bytes.
    use sha2::Digest;
    let expected = {
        let d = sha2::Sha256::digest(fs::read(v.join(&archive)).unwrap());
        base64_encode(&d)
    };
    assert_eq!(digest, expected);
    // Provenance subjects are the archives; the envelope carries no secrets.
    let jsonl = fs::read_to_string(v.join("tool-1.0.0.intoto.jsonl")).unwrap();
    assert!(!jsonl.contains("correct horse"));
    let env: serde_json::Value = serde_json::from_str(jsonl.trim()).unwrap();
    assert_eq!(env["payloadType"], "application/vnd.in-toto+json");
    let payload = base64_decode(env["payload"].as_str().unwrap());
    let statement: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(statement["subject"][0]["name"], archive.as_str());
    assert_eq!(
        statement["subject"][0]["digest"]["sha256"].as_str().unwrap(),
        sha256_hex(&fs::read(v.join(&archive)).unwrap())
    );
    assert!(!String::from_utf8_lossy(&payload).contains("correct horse"));
    // checksums.txt covers the provenance; sha256sum -c passes.
    let sums = fs::read_to_string(v.join("checksums.txt")).unwrap();
    assert!(sums.contains("tool-1.0.0.intoto.jsonl"), "{sums}");

    // Running the release again changes nothing at the destination.
    let before: Vec<(String, Vec<u8>)> = list(&v);
    let out = p.relman_env(&["release", "--to", &to], &[PASS]);
    out.ok();
    assert!(out.stdout.contains("0 written"), "{}", out.stdout);
    assert_eq!(list(&v), before);
}

#[test]
fn signed_release_verifies_with_the_key_and_tampering_is_named() {
    let p = signed_project();
    p.tag("v1.0.0");
    let dest = p.outside("rel");
    let to = format!("dir:{}", dest.display());
    p.relman_env(&["release", "--promote", "--to", &to], &[PASS]).ok();
    let v = dest.join("1.0.0");
    let vs = v.to_str().unwrap();
    // The key comes from relman.toml's sign.public_key when run in the project.
    let out = p.relman(&["verify", vs, "--require-signatures"]);
    out.ok();
    assert!(out.stdout.contains("signatures checked with key"), "{}", out.stdout);
    assert!(out.stdout.contains("tool-1.0.0.intoto.jsonl"), "{}", out.stdout);

    // Another key: every signature fails, naming the artifact.
    let other = p.outside("other");
    run_with_env(&other, &["keygen", "--no-config"], &[PASS]).ok();
    let out = p.relman(&["verify", vs, "--key", other.join("relman.pub").to_str().unwrap()]);
    assert_eq!(out.code, 7, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains(&format!("tool-1.0.0-{T1}.tar.gz")), "{}", out.stderr);

    // A flipped byte in a bundle's signature.
    let bundle = v.join("index.json.sigstore.json");
    let original = fs::read_to_string(&bundle).unwrap();
    let b: serde_json::Value = serde_json::from_str(&original).unwrap();
    let sig = b["messageSignature"]["signature"].as_str().unwrap();
    let flipped = format!("{}{}", if sig.starts_with('M') { "N" } else { "M" }, &sig[1..]);
    fs::write(&bundle, original.replace(sig, &flipped)).unwrap();
    let out = p.relman(&["verify", vs]);
    assert_eq!(out.code, 7, "{}", out.stderr);
    assert!(out.stderr.contains("index.json"), "{}", out.stderr);
    fs::write(&bundle, original).unwrap();

    // Install verifies against the key and pins it.
    let prefix = p.outside("prefix");
    let key = p.path("relman.pub");
    let out = p.relman(&[
        "install",
        "--from",
        dest.to_str().unwrap(),
        "--prefix",
        prefix.to_str().unwrap(),
        "--target",
        T1,
        "--key",
        key.to_str().unwrap(),
    ]);
    out.ok();
    assert!(out.stdout.contains("verified with key"), "{}", out.stdout);
}

#[test]
fn wrong_passphrase_is_a_clear_config_error() {
    let p = signed_project();
    p.tag("v1.0.0");
    let out = p.relman_env(&["package"], &[("RELMAN_PASSWORD", "hunter2-xyz")]);
    out.fails(3, "passphrase");
    assert!(out.stderr.contains("relman.key"), "{}", out.stderr);
    assert!(!out.stderr.contains("hunter2-xyz"), "the passphrase must not be echoed: {}", out.stderr);
    assert!(
        !p.path(&format!("dist/1.0.0/tool-1.0.0-{T1}.tar.gz")).exists(),
        "nothing is packaged with an unusable key"
    );
    // No passphrase at all: the hint names the variable.
    p.relman(&["package"]).fails(3, "RELMAN_PASSWORD");
}

#[test]
fn required_signatures_without_a_key_fail_before_building() {
    let p = Project::generic(&[T1]);
    p.tag("v1.0.0");
    p.relman(&["release", "--require-signatures"]).fails(3, "signatures are required");
    assert!(!p.path("out").exists());
}

#[test]
fn corrupt_key_file_is_named() {
    let p = signed_project();
    p.write(
        "relman.key",
        "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nnot base64!\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n",
    );
    p.tag("v1.0.0");
    p.relman_env(&["package", "--allow-dirty"], &[PASS]).fails(3, "relman.key");
}

fn list(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name().into_string().unwrap(), fs::read(e.path()).unwrap())
        })
        .collect();
    v.sort();
    v
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_decode(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.bytes().filter(|&c| c != b'=') {
        let v = B64.iter().position(|&x| x == c).expect("base64") as u32;
        buf = buf << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    out
}

#[test]
fn a_missing_passphrase_is_said_before_anything_is_built() {
    let p = Project::generic(&[common::HOST]);
    p.relman_env(&["keygen"], &[("RELMAN_PASSWORD", "pw")]).ok();
    p.commit("signing key");
    p.tag("v1.0.0");
    // No RELMAN_PASSWORD and no terminal: "no passphrase", not "wrong passphrase", at once.
    let out = p.relman(&["release"]);
    out.fails(3, "no passphrase for the signing key");
    assert!(out.stderr.contains("set RELMAN_PASSWORD"), "{}", out.stderr);
    assert!(!out.stderr.contains("== build"), "nothing was built:\n{}", out.stderr);
    assert!(!p.path("dist/1.0.0/build").exists());
    // A wrong one is still "wrong passphrase"; plan and build need none.
    p.relman(&["plan"]).ok();
    p.relman(&["build"]).ok();
    p.relman_env(&["release"], &[("RELMAN_PASSWORD", "nope")]).fails(3, "wrong passphrase");
    p.relman_env(&["release"], &[("RELMAN_PASSWORD", "pw")]).ok();
}

/// Channels a client can trust: promote signs `channels.json` (serial, expiry) with the
/// release key into `channels.sigstore.json`, and `install`/`upgrade` check it: a rollback to
/// an older signed list is refused once a newer one was seen, a list signed by another key is
/// refused, an unsigned list warns (refused with --require-fresh), an expired list warns
/// (refused with --require-fresh), and a list whose stable version and index disagree is
/// refused. A promote without the passphrase writes an unsigned list and removes the stale
/// signed one.
#[test]
fn signed_channels_refuse_rollbacks_other_keys_and_stale_lists() {
    let p = signed_project();
    p.tag("v1.0.0");
    let root = p.outside("rel");
    let to = format!("dir:{}", root.display());
    p.relman_env(&["release", "--promote", "--to", &to], &[PASS]).ok();
    let read = |name: &str| fs::read(root.join(name)).unwrap();
    let c1: serde_json::Value = serde_json::from_slice(&read("channels.json")).unwrap();
    assert_eq!(c1["serial"], 1, "{c1}");
    assert!(c1["expires"].as_str().unwrap() > "2026-", "{c1}");
    let (old_plain, old_signed) = (read("channels.json"), read("channels.sigstore.json"));
    let payload = relman_sign::dsse::unverified_payload(&String::from_utf8_lossy(&old_signed)).unwrap();
    assert_eq!(payload, old_plain, "the signed form carries exactly channels.json");

    p.write("docs/guide.md", "guide, second edition\n");
    p.commit("docs");
    p.tag("v1.1.0");
    p.relman_env(&["release", "--promote", "--to", &to], &[PASS]).ok();
    let c2: serde_json::Value = serde_json::from_slice(&read("channels.json")).unwrap();
    assert_eq!((c2["serial"].as_u64(), c2["stable"]["version"].as_str()), (Some(2), Some("1.1.0")));
    let prefix = p.outside("prefix");
    let pfx = prefix.to_str().unwrap();
    let root_s = root.to_str().unwrap();
    p.relman(&["install", "--from", root_s, "--prefix", pfx, "--key", "relman.pub"]).ok();
    let receipt = relman_install::install::receipt::installed(&prefix, Some("tool")).unwrap().unwrap();
    assert_eq!((receipt.version.as_str(), receipt.channels_serial), ("1.1.0", Some(2)));

    // The server rolls its channels back to the old signed list: this machine refuses it.
    let (new_plain, new_signed) = (read("channels.json"), read("channels.sigstore.json"));
    fs::write(root.join("channels.json"), &old_plain).unwrap();
    fs::write(root.join("channels.sigstore.json"), &old_signed).unwrap();
    p.relman(&["install", "--from", root_s, "--prefix", pfx, "--version", "1.0.0"])
        .fails(7, "older than serial 2 this machine has already seen: a rollback");
    p.relman(&["upgrade", "--prefix", pfx]).fails(7, "a rollback");

    // Signed by someone else: refused.
    let other = Project::generic(&[T1]);
    other.relman_env(&["keygen"], &[PASS]).ok();
    other.commit("their key");
    other.tag("v1.1.0");
    let their_root = other.outside("rel");
    other.relman_env(&["release", "--promote", "--to", &format!("dir:{}", their_root.display())], &[PASS]).ok();
    fs::write(root.join("channels.json"), &new_plain).unwrap();
    fs::write(root.join("channels.sigstore.json"), fs::read(their_root.join("channels.sigstore.json")).unwrap())
        .unwrap();
    let fresh = p.outside("fresh");
    let fresh_s = fresh.to_str().unwrap();
    p.relman(&["install", "--from", root_s, "--prefix", fresh_s, "--key", "relman.pub"])
        .fails(7, "is not signed by the release's signer");

    // No signed list: a warning, or a refusal with --require-fresh.
    fs::remove_file(root.join("channels.sigstore.json")).unwrap();
    let out = p.relman(&["install", "--from", root_s, "--prefix", fresh_s, "--key", "relman.pub"]);
    out.ok();
    assert!(out.stderr.contains("warning:") && out.stderr.contains("is not signed"), "{}", out.stderr);
    let strict = p.outside("strict");
    p.relman(&[
        "install",
        "--from",
        root_s,
        "--prefix",
        strict.to_str().unwrap(),
        "--key",
        "relman.pub",
        "--require-fresh",
    ])
    .fails(7, "is not signed");
    fs::write(root.join("channels.sigstore.json"), &new_signed).unwrap();

    // Stable and index disagree (a mixed-up root): refused.
    let mixed = String::from_utf8(new_plain.clone()).unwrap().replace("\"1.1.0/index.json\"", "\"1.0.0/index.json\"");
    fs::write(root.join("channels.json"), mixed).unwrap();
    fs::remove_file(root.join("channels.sigstore.json")).unwrap();
    p.relman(&["install", "--from", root_s, "--prefix", p.outside("mixed").to_str().unwrap()])
        .fails(7, "names 1.1.0 as stable, but the index it points at is version 1.0.0");

    // An expired list (valid 0 days): a warning, or a refusal with --require-fresh.
    let toml = fs::read_to_string(p.path("relman.toml")).unwrap();
    p.write("relman.toml", &format!("{toml}\n[release]\nchannels_valid_days = 0\n"));
    p.commit("short-lived channels");
    p.tag("v1.2.0");
    p.relman_env(&["release", "--promote", "--to", &to], &[PASS]).ok();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out =
        p.relman(&["install", "--from", root_s, "--prefix", p.outside("exp").to_str().unwrap(), "--key", "relman.pub"]);
    out.ok();
    assert!(out.stderr.contains("expired at"), "{}", out.stderr);
    p.relman(&[
        "install",
        "--from",
        root_s,
        "--prefix",
        p.outside("exp2").to_str().unwrap(),
        "--key",
        "relman.pub",
        "--require-fresh",
    ])
    .fails(7, "expired at");

    // A promote without the passphrase: channels.json unsigned (with a warning), and the
    // signed list, which would name the older version, removed.
    p.relman(&["promote", "1.2.0", "--to", &to, "--allow-downgrade"]).ok();
    let out = p.relman(&["promote", "1.1.0", "--to", &to, "--allow-downgrade"]);
    out.ok();
    assert!(out.stderr.contains("channels.json is written unsigned"), "{}", out.stderr);
    assert!(!root.join("channels.sigstore.json").exists());
}
