//! Keyless signing against Sigstore's own service doubles (npm `@sigstore/mock`: a Fulcio CA,
//! a CT log and a Rekor log, served on loopback by `scripts/sigstore-services.mjs`, with a fake
//! GitHub Actions OIDC token service). Every bundle relman writes is verified by sigstore-js
//! (`@sigstore/verify`, thresholds of 1 for the log, the CT log and the timestamp) with the
//! expected identity and issuer, and by `relman verify` by identity; each way a keyless
//! release can be wrong is refused with its reason.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::sigstore_doubles::*;
use common::*;

fn bundles(dir: &Path) -> Vec<PathBuf> {
    let mut b: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".sigstore.json"))
        .collect();
    b.sort();
    b
}

fn verify_args<'a>(dir: &'a str, root: &'a str, identity: &'a str, issuer: &'a str) -> Vec<&'a str> {
    vec!["verify", dir, "--certificate-identity", identity, "--certificate-oidc-issuer", issuer, "--trusted-root", root]
}

#[test]
fn a_keyless_release_verifies_by_identity_with_sigstore_js_and_relman() {
    let sig = Sigstore::start();
    let p = keyless_project(&sig);
    let served = p.outside("served");
    let to = format!("dir:{}", served.display());
    let env = sig.actions_env("");
    let out = p.relman_env(&["release", "--promote", "--to", &to], &env_refs(&env));
    out.ok();
    assert!(!out.stdout.contains("runner-bearer-secret") && !out.stderr.contains("runner-bearer-secret"));
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(all.contains(&format!("certificate for `{IDENTITY}`")), "{all}");
    let v = served.join("1.0.0");
    // Its installer knows it cannot check Sigstore bundles (tests/install_sh.rs runs that path).
    let installer = fs::read_to_string(v.join("install.sh")).unwrap();
    assert!(installer.contains("KEYLESS='1'") && installer.contains("PUBLIC_KEY=''"), "{installer}");
    let found = bundles(&v);
    // Every archive, SBOM, checksums.txt, index.json, the installer, manifest.json and the
    // provenance: each a bundle with a certificate and a log entry; no bare `.sig`.
    assert!(found.len() >= 6, "{found:?}");
    assert!(!fs::read_dir(&v).unwrap().any(|e| e.unwrap().path().extension().is_some_and(|x| x == "sig")));
    let stats = sig.stats();
    assert_eq!(stats["fulcio"], 1, "one certificate per run: {stats}");
    assert_eq!(stats["oidc"], 1, "{stats}");
    assert_eq!(stats["rekor_post"].as_u64().unwrap() as usize, found.len(), "one log entry per bundle: {stats}");

    for b in &found {
        let name = b.file_name().unwrap().to_string_lossy().to_string();
        let subject = name.strip_suffix(".sigstore.json").unwrap();
        let text = fs::read_to_string(b).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(json["verificationMaterial"]["certificate"]["rawBytes"].is_string(), "{name}");
        let entry = &json["verificationMaterial"]["tlogEntries"][0];
        assert!(entry["inclusionPromise"]["signedEntryTimestamp"].is_string(), "{name}");
        assert!(entry["inclusionProof"]["checkpoint"]["envelope"].is_string(), "{name}");
        let artifact = if json["dsseEnvelope"].is_object() {
            None
        } else if subject == "manifest.json" {
            // The published manifest is the release view relman wrote beside the record.
            Some(v.join("manifest.json"))
        } else {
            Some(v.join(subject))
        };
        let verdict = sigstore_js(&sig.trusted_root, b, artifact.as_deref(), IDENTITY, &sig.issuer());
        assert_eq!(verdict["ok"], true, "{name}: {verdict}");
        assert_eq!(verdict["identity"], IDENTITY);
    }

    let root = sig.trusted_root.display().to_string();
    let dir = v.display().to_string();
    let issuer = sig.issuer();
    let report = p.relman(&[&verify_args(&dir, &root, IDENTITY, &issuer)[..], &["--json"]].concat()).ok().json();
    assert_eq!(report["problems"], serde_json::json!([]), "{report}");
    assert!(report["identity"].as_str().unwrap().contains(IDENTITY), "{report}");
    // The regexp forms. relman anchors them at both ends (cosign searches): a prefix without
    // `.*` does not match, and neither does a pattern that a longer SAN merely contains.
    let prefix_only = p.relman(&[
        "verify",
        &dir,
        "--certificate-identity-regexp",
        "^https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v",
        "--certificate-oidc-issuer",
        &issuer,
        "--trusted-root",
        &root,
    ]);
    assert_eq!(prefix_only.code, 7, "{}{}", prefix_only.stdout, prefix_only.stderr);
    assert!(prefix_only.stderr.contains("not by identity matching the whole of `^https://"), "{}", prefix_only.stderr);
    p.relman(&[
        "verify",
        &dir,
        "--certificate-identity-regexp",
        "^https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v.*",
        "--certificate-oidc-issuer-regexp",
        "^http://127.0.0.1:[0-9]+/oidc$",
        "--trusted-root",
        &root,
    ])
    .ok();

    // The notes name the exact commands; relman's runs as written (with the URL and the
    // trusted root filled in).
    let notes = fs::read_to_string(v.join("release-notes.md")).unwrap();
    let line = notes.lines().find(|l| l.starts_with("relman verify ")).unwrap().to_string();
    assert!(line.contains(&format!("--certificate-identity '{IDENTITY}'")), "{line}");
    assert!(line.contains(&format!("--certificate-oidc-issuer '{issuer}'")), "{line}");
    assert!(
        notes.contains("cosign verify-blob --bundle ") && notes.contains("--new-bundle-format --certificate-identity"),
        "{notes}"
    );
    let filled = line.replace("<release URL>/1.0.0/", &dir).replace("trusted_root.json", &root).replace('\'', "");
    let words: Vec<&str> = filled.split_whitespace().skip(1).collect();
    p.relman(&words).ok();

    // Install by identity pins it; a later install needs no flags and still checks it.
    let prefix = p.outside("prefix");
    let from = served.display().to_string();
    let pre = prefix.display().to_string();
    let out = p
        .relman(&[
            "install",
            "--from",
            &from,
            "--prefix",
            &pre,
            "--certificate-identity",
            IDENTITY,
            "--certificate-oidc-issuer",
            &issuer,
            "--trusted-root",
            &root,
            "--require-signature",
        ])
        .ok()
        .stdout
        .clone();
    assert!(out.contains(&format!("verified with identity `{IDENTITY}`")), "{out}");
    let receipt: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(prefix.join(".relman/receipts/tool.json")).unwrap()).unwrap();
    assert_eq!(receipt["format_version"], 3, "{receipt}");
    assert!(
        receipt["signing_identity"]["identity_regexp"].as_str().unwrap().starts_with("^https://github"),
        "{receipt}"
    );
    let out = p.relman(&["install", "--from", &from, "--prefix", &pre, "--force"]).ok().stdout.clone();
    assert!(out.contains("(pinned)"), "{out}");
    // A flipped byte in the archive: the pinned identity refuses it, nothing installed.
    let tampered = p.outside("tampered");
    let copy = tampered.join("1.0.0");
    fs::create_dir_all(&copy).unwrap();
    for e in fs::read_dir(&v).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), copy.join(e.file_name())).unwrap();
    }
    let archive = fs::read_dir(&copy)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".tar.gz"))
        .unwrap();
    let mut bytes = fs::read(&archive).unwrap();
    let n = bytes.len() - 30;
    bytes[n] ^= 0x40;
    fs::write(&archive, bytes).unwrap();
    let bin_before = fs::read(prefix.join("bin/tool")).unwrap();
    let out = p.relman(&["install", "--from", &copy.display().to_string(), "--prefix", &pre, "--force"]);
    assert_ne!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(fs::read(prefix.join("bin/tool")).unwrap(), bin_before);
    // Another identity than the signer's is refused at install too.
    let bad = p.relman(&[
        "install",
        "--from",
        &from,
        "--prefix",
        &p.outside("prefix2").display().to_string(),
        "--certificate-identity",
        "https://github.com/evil/x/.github/workflows/r.yml@refs/tags/v1.0.0",
        "--certificate-oidc-issuer",
        &issuer,
        "--trusted-root",
        &root,
    ]);
    bad.fails(7, "not by identity");
    // The hint talks about identities, not keys.
    assert!(!bad.stderr.contains("--key") && bad.stderr.contains("--certificate-identity"), "{}", bad.stderr);

    // A re-run on the same commit signs nothing and asks for no token or certificate.
    p.relman_env(&["release", "--to", &to], &env_refs(&env)).ok();
    let again = sig.stats();
    assert_eq!(again["fulcio"], 1, "{again}");
    assert_eq!(again["oidc"], 1, "{again}");
    assert_eq!(again["rekor_post"], stats["rekor_post"], "{again}");
}

#[test]
fn verify_by_identity_refuses_every_wrong_release_with_its_reason() {
    let sig = Sigstore::start();
    let other = Sigstore::start();
    let p = keyless_project(&sig);
    let served = p.outside("served");
    let to = format!("dir:{}", served.display());
    p.relman_env(&["release", "--to", &to], &env_refs(&sig.actions_env(""))).ok();
    let v = served.join("1.0.0");
    let root = sig.trusted_root.display().to_string();
    let issuer = sig.issuer();
    let archive = fs::read_dir(&v)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .find(|n| n.ends_with(".tar.gz"))
        .unwrap();

    // Each case on a fresh copy of the release.
    let case = |name: &str, change: &dyn Fn(&Path), args: &dyn Fn(&str) -> Vec<String>, needle: &str| {
        let copy = p.outside(&format!("case-{name}"));
        for e in fs::read_dir(&v).unwrap() {
            let e = e.unwrap();
            fs::copy(e.path(), copy.join(e.file_name())).unwrap();
        }
        change(&copy);
        let a = args(&copy.display().to_string());
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let out = p.relman(&a);
        assert_eq!(out.code, 7, "{name}: expected a verify failure\n{}\n{}", out.stdout, out.stderr);
        let all = format!("{}{}", out.stdout, out.stderr);
        assert!(all.contains(needle), "{name}: expected {needle:?} in\n{all}");
    };
    let std_args = |d: &str| verify_args(d, &root, IDENTITY, &issuer).iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let nothing = |_: &Path| {};

    case(
        "wrong-identity",
        &nothing,
        &|d| {
            verify_args(
                d,
                &root,
                "https://github.com/evil/fork/.github/workflows/release.yml@refs/tags/v1.0.0",
                &issuer,
            )
            .iter()
            .map(|s| s.to_string())
            .collect()
        },
        "not by identity `https://github.com/evil/fork",
    );
    case(
        "wrong-issuer",
        &nothing,
        &|d| {
            verify_args(d, &root, IDENTITY, "https://token.actions.githubusercontent.com")
                .iter()
                .map(|s| s.to_string())
                .collect()
        },
        "not issuer `https://token.actions.githubusercontent.com`",
    );
    // Another Sigstore's trusted root: its log is unknown.
    let other_root = other.trusted_root.display().to_string();
    case(
        "other-root",
        &nothing,
        &|d| verify_args(d, &other_root, IDENTITY, &issuer).iter().map(|s| s.to_string()).collect(),
        "from a log the trusted root does not know",
    );
    // This log, but another CA: the certificate does not chain.
    let mut mixed: serde_json::Value = serde_json::from_str(&fs::read_to_string(&sig.trusted_root).unwrap()).unwrap();
    let other_json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&other.trusted_root).unwrap()).unwrap();
    mixed["certificateAuthorities"] = other_json["certificateAuthorities"].clone();
    let mixed_path = p.outside("roots").join("mixed.json");
    fs::write(&mixed_path, mixed.to_string()).unwrap();
    let mixed_root = mixed_path.display().to_string();
    case(
        "other-ca",
        &nothing,
        &|d| verify_args(d, &mixed_root, IDENTITY, &issuer).iter().map(|s| s.to_string()).collect(),
        "was not issued by a certificate authority",
    );
    // A flipped byte in an archive.
    case(
        "flipped-byte",
        &|d| {
            let path = d.join(&archive);
            let mut b = fs::read(&path).unwrap();
            let mid = b.len() / 2;
            b[mid] ^= 1;
            fs::write(&path, b).unwrap();
        },
        &std_args,
        &archive,
    );
    // A stripped signature.
    case(
        "stripped",
        &|d| fs::remove_file(d.join(format!("{archive}.sigstore.json"))).unwrap(),
        &std_args,
        "unsigned: there is no",
    );
    // The log entry of another file: it records other bytes.
    case(
        "swapped-entry",
        &|d| {
            let a = d.join(format!("{archive}.sigstore.json"));
            let c = d.join("checksums.txt.sigstore.json");
            let mut av: serde_json::Value = serde_json::from_str(&fs::read_to_string(&a).unwrap()).unwrap();
            let cv: serde_json::Value = serde_json::from_str(&fs::read_to_string(&c).unwrap()).unwrap();
            av["verificationMaterial"]["tlogEntries"] = cv["verificationMaterial"]["tlogEntries"].clone();
            fs::write(&a, av.to_string()).unwrap();
        },
        &std_args,
        "not the signed file's",
    );
    // No log entry at all.
    case(
        "no-entry",
        &|d| {
            let a = d.join(format!("{archive}.sigstore.json"));
            let mut av: serde_json::Value = serde_json::from_str(&fs::read_to_string(&a).unwrap()).unwrap();
            av["verificationMaterial"]["tlogEntries"] = serde_json::json!([]);
            fs::write(&a, av.to_string()).unwrap();
        },
        &std_args,
        "has no transparency log entry",
    );
    // An altered integrated time: the log's promise no longer holds.
    case(
        "altered-time",
        &|d| {
            let a = d.join(format!("{archive}.sigstore.json"));
            let mut av: serde_json::Value = serde_json::from_str(&fs::read_to_string(&a).unwrap()).unwrap();
            let t: i64 =
                av["verificationMaterial"]["tlogEntries"][0]["integratedTime"].as_str().unwrap().parse().unwrap();
            av["verificationMaterial"]["tlogEntries"][0]["integratedTime"] = serde_json::json!((t + 1).to_string());
            fs::write(&a, av.to_string()).unwrap();
        },
        &std_args,
        "signed entry timestamp the log's key did not make",
    );

    // Usage: an identity without an issuer or a root.
    p.relman(&["verify", &v.display().to_string(), "--certificate-identity", IDENTITY, "--trusted-root", &root])
        .fails(2, "needs --certificate-oidc-issuer");
    p.relman(&[
        "verify",
        &v.display().to_string(),
        "--certificate-identity",
        IDENTITY,
        "--certificate-oidc-issuer",
        &issuer,
    ])
    .fails(2, "needs --trusted-root");
    // A key cannot verify a keyless release: named, with the fix.
    p.relman_env(&["keygen"], &[("RELMAN_PASSWORD", "k")]).ok();
    let out = p.relman(&["verify", &v.display().to_string(), "--key", "relman.pub"]);
    assert_eq!(out.code, 7);
    assert!(out.stdout.contains("is a keyless bundle"), "{}{}", out.stdout, out.stderr);
}

#[test]
fn a_signature_logged_after_its_certificate_expired_is_refused() {
    let sig = Sigstore::start();
    // Rekor integrates every entry 15 minutes from now: after the 10-minute certificate ends.
    sig.post("/__clock", r#"{"rekor_offset":900}"#);
    let p = keyless_project(&sig);
    let served = p.outside("served");
    p.relman_env(&["release", "--to", &format!("dir:{}", served.display())], &env_refs(&sig.actions_env(""))).ok();
    let v = served.join("1.0.0");
    let b = v.join("checksums.txt.sigstore.json");
    let verdict = sigstore_js(&sig.trusted_root, &b, Some(&v.join("checksums.txt")), IDENTITY, &sig.issuer());
    assert_eq!(verdict["ok"], false, "sigstore-js refuses it too: {verdict}");
    let root = sig.trusted_root.display().to_string();
    let out = p.relman(&verify_args(&v.display().to_string(), &root, IDENTITY, &sig.issuer()));
    assert_eq!(out.code, 7, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("outside its certificate's validity"), "{}", out.stdout);
}

#[test]
fn bad_tokens_and_unreachable_services_fail_before_anything_is_published_and_a_rerun_completes() {
    let sig = Sigstore::start();
    let p = keyless_project(&sig);
    let served = p.outside("served");
    let to = format!("dir:{}", served.display());
    let published = || served.join("1.0.0").exists();

    // No token source at all: said before anything is built.
    p.relman(&["release", "--to", &to]).fails(3, "needs an OIDC identity token");
    assert!(!published());
    // An expired token from the Actions service.
    p.relman_env(&["release", "--to", &to], &env_refs(&sig.actions_env("&exp_in=-60"))).fails(3, "expired");
    assert!(!published());
    // A token for another audience, given as a file.
    let tok = p.outside("tok").join("token");
    fs::write(&tok, sig.token("audience=other")).unwrap();
    let out = p.relman(&["release", "--to", &to, "--identity-token", &tok.display().to_string()]);
    out.fails(3, "audience `other`, not `sigstore`");
    assert!(!published());
    // A given token never shows in output.
    let secret = sig.token("audience=sigstore");
    fs::write(&tok, &secret).unwrap();

    // Rekor down (every attempt answers 503): a network failure naming Rekor, nothing published.
    sig.post("/__fail", r#"{"rekor":1000}"#);
    let out = p.relman(&["release", "--to", &to, "--identity-token", &tok.display().to_string()]);
    out.fails(11, "Rekor at");
    assert!(!out.stderr.contains(&secret) && !out.stdout.contains(&secret));
    // Nor in any file written: manifests, provenance, bundles, logs, the published copy.
    for f in files_under(&p.path("dist")).into_iter().chain(files_under(&served)) {
        let bytes = fs::read(&f).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains(&secret), "the identity token is in {}", f.display());
    }
    assert!(!published());
    // No bundle without its log entry was left behind.
    for b in bundles(&p.path("dist/1.0.0")) {
        let j: serde_json::Value = serde_json::from_str(&fs::read_to_string(&b).unwrap()).unwrap();
        assert!(!j["verificationMaterial"]["tlogEntries"].as_array().unwrap().is_empty(), "{}", b.display());
    }
    // Fulcio down.
    sig.post("/__fail", r#"{"rekor":0,"fulcio":1000}"#);
    p.relman(&["release", "--to", &to, "--identity-token", &tok.display().to_string()]).fails(11, "Fulcio at");
    assert!(!published());

    // Back up: the re-run completes and verifies (the token as GitLab gives it this time).
    sig.post("/__fail", r#"{"rekor":0,"fulcio":0}"#);
    let out = p.relman_env(&["release", "--to", &to], &[("SIGSTORE_ID_TOKEN", &secret)]);
    out.ok();
    assert!(!out.stderr.contains(&secret) && !out.stdout.contains(&secret));
    let root = sig.trusted_root.display().to_string();
    p.relman(&verify_args(&served.join("1.0.0").display().to_string(), &root, IDENTITY, &sig.issuer())).ok();
}

#[test]
fn promote_checks_keyless_signatures_against_the_configured_identity() {
    let sig = Sigstore::start();
    let p = keyless_project(&sig);
    let served = p.outside("served");
    let to = format!("dir:{}", served.display());
    p.relman_env(&["release", "--to", &to], &env_refs(&sig.actions_env(""))).ok();
    let base = fs::read_to_string(p.path("relman.toml")).unwrap();
    fs::copy(&sig.trusted_root, p.path("trusted_root.json")).unwrap();
    let with = |identity: &str| {
        p.write(
            "relman.toml",
            &base.replace(
                "[sign]\n",
                &format!(
                    "[sign]\ntrusted_root = \"trusted_root.json\"\ncertificate_identity = \"{identity}\"\ncertificate_oidc_issuer = \"{}\"\n",
                    sig.issuer()
                ),
            ),
        );
    };
    // `relman check` names what promote would trip on: no such trusted root, no identity.
    p.write("relman.toml", &base.replace("[sign]\n", "[sign]\ntrusted_root = \"missing.json\"\n"));
    let out = p.relman(&["check", "--allow-dirty"]);
    out.fails(12, "relman.toml: `sign.trusted_root`: expected a readable trusted_root.json");
    assert!(
        out.stderr.contains("`sign.certificate_identity`: expected the identity promote expects, found none"),
        "{}",
        out.stderr
    );
    p.write("relman.toml", &base);
    let out = p.relman(&["check", "--allow-dirty"]);
    out.ok();
    assert!(out.stderr.contains("without sign.trusted_root: promote will not check the signatures"), "{}", out.stderr);
    // Another identity than the one that signed: the gate fails, nothing moves.
    with("https://github.com/octo-org/octo-repo/.github/workflows/other.yml@refs/tags/v1.0.0");
    p.relman(&["promote", "1.0.0", "--to", &to]).fails(9, "gate signed");
    assert!(!served.join("latest").exists());
    // A stripped bundle fails it too.
    with(IDENTITY);
    let archive = fs::read_dir(served.join("1.0.0"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".tar.gz.sigstore.json"))
        .unwrap();
    let kept = fs::read(&archive).unwrap();
    fs::remove_file(&archive).unwrap();
    p.relman(&["promote", "1.0.0", "--to", &to]).fails(9, "gate signed");
    fs::write(&archive, kept).unwrap();
    // A fresh clone (no dist/): the record comes from the destination, checked by identity
    // before it is used; another identity refuses it before any gate runs.
    let clone = p.outside("clone");
    let _ = fs::remove_dir(&clone);
    let st = std::process::Command::new("git").args(["clone", "-q"]).arg(&p.dir).arg(&clone).status().unwrap();
    assert!(st.success());
    fs::copy(&sig.trusted_root, clone.join("trusted_root.json")).unwrap();
    with("https://github.com/octo-org/octo-repo/.github/workflows/other.yml@refs/tags/v1.0.0");
    fs::copy(p.path("relman.toml"), clone.join("relman.toml")).unwrap();
    let out = common::run_in(&clone, &["promote", "1.0.0", "--to", &to]);
    out.fails(7, "is not the project's");
    assert!(out.stderr.contains("the release record `") && out.stderr.contains("manifest.json"), "{}", out.stderr);
    assert!(!served.join("latest").exists());
    with(IDENTITY);
    fs::copy(p.path("relman.toml"), clone.join("relman.toml")).unwrap();
    let out = common::run_in(&clone, &["promote", "1.0.0", "--to", &to]);
    out.ok();
    assert!(out.stderr.contains("(none in dist/)") && out.stderr.contains("gate signed: pass"), "{}", out.stderr);
    // The signer's identity: promoted.
    let out = p.relman(&["promote", "1.0.0", "--to", &to]);
    out.ok();
    assert!(served.join("latest").exists());
    // The summary names the keyless verify command, not a key.
    let summary = fs::read_to_string(p.path("dist/1.0.0/release-summary.md")).unwrap();
    assert!(summary.contains(&format!("--certificate-identity '{IDENTITY}'")), "{summary}");
    assert!(!summary.contains("--key <public key>"), "{summary}");
    // Without an identity to expect, promote says that signatures went unchecked.
    p.write("relman.toml", &base);
    let out = p.relman(&["promote", "1.0.0", "--to", &to]);
    out.ok();
    assert!(out.stderr.contains("keyless signatures are not checked at promote"), "{}", out.stderr);
}

/// Bundles another implementation made: sigstore-js (`sigstore` 4, `scripts/sigstore-sign.mjs`)
/// signs the release's files (v0.2 and v0.3 blob bundles) and its provenance (a DSSE bundle)
/// at the same services; `relman verify` by identity accepts them, and refuses one for other
/// bytes.
#[test]
fn bundles_made_by_sigstore_js_verify_by_identity() {
    let sig = Sigstore::start();
    let p = keyless_project(&sig);
    let served = p.outside("served");
    p.relman_env(&["release", "--to", &format!("dir:{}", served.display())], &env_refs(&sig.actions_env(""))).ok();
    let v = served.join("1.0.0");
    let token = p.outside("tok").join("token");
    fs::write(&token, sig.token("audience=sigstore")).unwrap();
    let sign = |args: &[&str], out: &Path| {
        let o = std::process::Command::new("node")
            .arg(repo_root().join("scripts/sigstore-sign.mjs"))
            .args(["--url", &sig.url, "--token-file", &token.display().to_string()])
            .args(args)
            .arg("--out")
            .arg(out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    };
    let mut versions = 0;
    for b in bundles(&v) {
        let name = b.file_name().unwrap().to_string_lossy().to_string();
        let subject = name.strip_suffix(".sigstore.json").unwrap();
        let json: serde_json::Value = serde_json::from_str(&fs::read_to_string(&b).unwrap()).unwrap();
        if json["dsseEnvelope"].is_object() {
            // The provenance: sigstore-js attests the same statement; its envelope replaces
            // relman's line in the .intoto.jsonl (the bundle's certificate verifies it).
            use base64::Engine as _;
            let payload = base64::engine::general_purpose::STANDARD
                .decode(json["dsseEnvelope"]["payload"].as_str().unwrap())
                .unwrap();
            let stmt = p.outside("stmt").join("statement.json");
            fs::write(&stmt, payload).unwrap();
            sign(&["--attest", &stmt.display().to_string(), "--payload-type", "application/vnd.in-toto+json"], &b);
            let theirs: serde_json::Value = serde_json::from_str(&fs::read_to_string(&b).unwrap()).unwrap();
            fs::write(v.join(subject), format!("{}\n", theirs["dsseEnvelope"])).unwrap();
        } else {
            let file = if subject == "manifest.json" { v.join("manifest.json") } else { v.join(subject) };
            // Alternate the two bundle versions sigstore-js writes for blobs.
            let version: &[&str] = if versions % 2 == 0 { &[] } else { &["--bundle-version", "0.3"] };
            versions += 1;
            sign(&[&["--blob", &file.display().to_string()][..], version].concat(), &b);
        }
    }
    let media: Vec<String> = bundles(&v)
        .iter()
        .map(|b| {
            serde_json::from_str::<serde_json::Value>(&fs::read_to_string(b).unwrap()).unwrap()["mediaType"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(media.iter().any(|m| m.ends_with("version=0.2")) && media.iter().any(|m| m.contains("v0.3")), "{media:?}");
    let root = sig.trusted_root.display().to_string();
    let out = p.relman(&verify_args(&v.display().to_string(), &root, IDENTITY, &sig.issuer()));
    // The replaced files' bytes differ from what manifest.json recorded (reported as digest
    // mismatches, rightly); what matters here is that every signature verifies.
    let all = format!("{}{}", out.stdout, out.stderr);
    let problems: Vec<&str> = all.lines().filter(|l| l.starts_with("problem: ")).collect();
    assert!(!problems.is_empty(), "the replaced bundles do not match the record: {all}");
    for line in &problems {
        assert!(
            line.contains("sha256 mismatch") || line.contains("size mismatch"),
            "a signature problem: {line}\n{all}"
        );
    }
    for b in bundles(&v) {
        let name = b.file_name().unwrap().to_string_lossy().to_string();
        if name.ends_with(".intoto.jsonl.sigstore.json") {
            continue;
        }
        assert!(all.contains(&format!("signature `{name}` verifies")), "{name}:\n{all}");
    }
    // And a sigstore-js bundle for other bytes is refused with the reason.
    let a = bundles(&v).into_iter().find(|b| b.to_string_lossy().ends_with(".tar.gz.sigstore.json")).unwrap();
    let c = v.join("checksums.txt.sigstore.json");
    fs::copy(&c, &a).unwrap();
    let out = p.relman(&verify_args(&v.display().to_string(), &root, IDENTITY, &sig.issuer()));
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(all.contains("does not match") || all.contains("signs another digest"), "{all}");
}
