//! Forged keyless releases, built as an attacker would (`scripts/sigstore-forge.py`), refused by
//! every verifier relman has — `verify`, `install`, `upgrade`, the promote `signed` gate — and by
//! the reference verifiers, sigstore-js (`@sigstore/verify`) and sigstore-python (PyPI
//! `sigstore`), each case with its reason.
//!
//! The forge re-signs a whole release (a trojaned archive, the provenance, checksums.txt,
//! index.json, the manifest and its records), so a forged release is self-consistent and differs
//! from a genuine one only in the weakness under test. Its genuine variant (`none`: its own CA,
//! CT log and transparency log in a trusted root it writes) verifies and installs the trojan:
//! that is what shows each refusal is for the weakness, not for some other slip of the forge.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::sigstore_doubles::*;
use common::*;

const FORGE_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// One attack: its name, the words relman's refusal holds (empty: it must verify), and whether
/// sigstore-js and sigstore-python accept it (asserted exactly, so a change in either shows).
struct Case {
    attack: &'static str,
    refusal: &'static str,
    js_accepts: bool,
    py_accepts: bool,
}

const CASES: &[Case] = &[
    Case { attack: "none", refusal: "", js_accepts: true, py_accepts: true },
    // A one-leaf tree anyone can compute, with no checkpoint and no signed entry timestamp.
    Case {
        attack: "self-rooted",
        refusal: "no inclusion proof with a checkpoint signed by the log",
        js_accepts: false,
        py_accepts: false,
    },
    Case {
        attack: "forged-checkpoint",
        refusal: "checkpoint the log's key did not sign",
        js_accepts: false,
        py_accepts: false,
    },
    Case {
        attack: "expired-chosen-time",
        refusal: "no inclusion proof with a checkpoint signed by the log",
        js_accepts: false,
        py_accepts: false,
    },
    Case {
        attack: "late-stripped-set",
        refusal: "no signed time shows when it was signed",
        js_accepts: false,
        py_accepts: false,
    },
    Case {
        attack: "late-with-set",
        refusal: "outside its certificate's validity",
        js_accepts: false,
        py_accepts: false,
    },
    Case {
        attack: "two-entries",
        refusal: "no inclusion proof with a checkpoint signed by the log",
        js_accepts: false,
        py_accepts: false,
    },
    Case {
        attack: "other-origin",
        refusal: "has a checkpoint for the log `rekor.evil.test",
        js_accepts: false,
        py_accepts: false,
    },
    Case {
        attack: "ca-false-intermediate",
        refusal: "is not a certificate authority (no basic constraints CA:TRUE)",
        js_accepts: false,
        py_accepts: false,
    },
    // sigstore-js checks neither key usage nor extended key usage, nor unknown critical
    // extensions; sigstore-python (cryptography's path validation) does.
    Case {
        attack: "server-auth-leaf",
        refusal: "does not allow digitalSignature",
        js_accepts: true,
        py_accepts: false,
    },
    Case {
        attack: "unknown-critical",
        refusal: "critical extension 1.3.6.1.4.1.99999.7",
        js_accepts: true,
        py_accepts: false,
    },
    Case {
        attack: "ca-leaf",
        refusal: "is a CA certificate (basic constraints CA:TRUE), not a signing certificate",
        js_accepts: true,
        py_accepts: false,
    },
    Case {
        attack: "no-keycertsign-intermediate",
        refusal: "does not allow keyCertSign in its key usage",
        js_accepts: false,
        py_accepts: false,
    },
    // The trust anchor's own path length: sigstore-js holds the path to it, cryptography's path
    // validation (sigstore-python) does not (RFC 5280 leaves a trust anchor's constraints to
    // the verifier); relman does.
    Case {
        attack: "path-length",
        refusal: "allows 0 intermediate CA(s) below it (path length), and the path has 1",
        js_accepts: false,
        py_accepts: true,
    },
    // sigstore-python does not hold a log entry to its key's validity period; sigstore-js does.
    Case {
        attack: "expired-log-key",
        refusal: "outside the validity of the log's key",
        js_accepts: false,
        py_accepts: true,
    },
];

fn venv_python() -> PathBuf {
    repo_root().join(".venv/bin/python")
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// Runs the forge over `dir`; returns its JSON line.
fn forge(dir: &Path, attack: &str, root_out: Option<&Path>, extra: &[&str]) -> serde_json::Value {
    let mut c = Command::new(venv_python());
    c.arg(repo_root().join("scripts/sigstore-forge.py"))
        .arg("--dir")
        .arg(dir)
        .args(["--identity", IDENTITY, "--issuer", FORGE_ISSUER, "--attack", attack])
        .args(extra);
    if let Some(r) = root_out {
        c.arg("--trusted-root-out").arg(r);
    }
    let out = c.output().unwrap();
    assert!(out.status.success(), "forge {attack}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn sigstore_python(root: &Path, bundle: &Path, artifact: &Path, issuer: &str) -> serde_json::Value {
    let out = Command::new(venv_python())
        .arg(repo_root().join("scripts/sigstore-python-verify.py"))
        .arg("--trusted-root")
        .arg(root)
        .arg("--bundle")
        .arg(bundle)
        .arg("--artifact")
        .arg(artifact)
        .args(["--identity", IDENTITY, "--issuer", issuer])
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
}

fn archive_in(dir: &Path) -> PathBuf {
    fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).find(|p| p.to_string_lossy().ends_with(".tar.gz")).unwrap()
}

fn keyless_release(sig: &Sigstore) -> (Project, PathBuf) {
    let p = keyless_project(sig);
    let served = p.outside("served");
    p.relman_env(&["release", "--to", &format!("dir:{}", served.display())], &env_refs(&sig.actions_env(""))).ok();
    (p, served)
}

#[test]
fn forged_keyless_releases_are_refused_by_verify_install_promote_and_the_reference_verifiers() {
    let sig = Sigstore::start();
    let (p, served) = keyless_release(&sig);
    let base = fs::read_to_string(p.path("relman.toml")).unwrap();
    p.write(
        "relman.toml",
        &base.replace(
            "[sign]\n",
            &format!(
                "[sign]\ntrusted_root = \"trusted_root.json\"\ncertificate_identity = \"{IDENTITY}\"\ncertificate_oidc_issuer = \"{FORGE_ISSUER}\"\n"
            ),
        ),
    );
    let identity_flags = |root: &Path| -> Vec<String> {
        vec![
            "--certificate-identity".into(),
            IDENTITY.into(),
            "--certificate-oidc-issuer".into(),
            FORGE_ISSUER.into(),
            "--trusted-root".into(),
            root.display().to_string(),
        ]
    };
    for case in CASES {
        let attack = case.attack;
        let work = p.outside(&format!("forged-{attack}"));
        let root = work.join("trusted_root.json");
        // A trojaned archive, every document and signature re-made around it.
        let v = work.join("trojan");
        copy_dir(&served.join("1.0.0"), &v);
        forge(&v, attack, Some(&root), &["--replace-archive"]);
        let vs = v.display().to_string();
        let flags = identity_flags(&root);
        let flag_refs: Vec<&str> = flags.iter().map(String::as_str).collect();

        let verify = p.relman(&[&["verify", &vs, "--require-signatures"][..], &flag_refs].concat());
        let prefix = work.join("prefix");
        let pre = prefix.display().to_string();
        let install =
            p.relman(&[&["install", "--from", &vs, "--prefix", &pre, "--require-signature"][..], &flag_refs].concat());
        if case.refusal.is_empty() {
            verify.ok();
            install.ok();
            let ran = Command::new(prefix.join("bin/tool")).output().unwrap();
            assert!(String::from_utf8_lossy(&ran.stdout).contains("pwned"), "the control installs the trojan");
        } else {
            assert_eq!(verify.code, 7, "{attack}: verify\n{}{}", verify.stdout, verify.stderr);
            assert!(verify.stderr.contains(case.refusal), "{attack}: {}", verify.stderr);
            assert_eq!(install.code, 7, "{attack}: install\n{}{}", install.stdout, install.stderr);
            assert!(install.stderr.contains(case.refusal), "{attack}: {}", install.stderr);
            assert!(!prefix.join("bin/tool").exists(), "{attack}: nothing installed");
        }

        // The reference verifiers on the trojaned archive's bundle.
        let archive = archive_in(&v);
        let bundle = PathBuf::from(format!("{}.sigstore.json", archive.display()));
        let js = sigstore_js(&root, &bundle, Some(&archive), IDENTITY, FORGE_ISSUER);
        assert_eq!(js["ok"], case.js_accepts, "{attack}: sigstore-js {js}");
        let py = sigstore_python(&root, &bundle, &archive, FORGE_ISSUER);
        assert_eq!(py["ok"], case.py_accepts, "{attack}: sigstore-python {py}");

        // The promote gate: the same files re-signed in place at a destination (no file
        // changes, so `verified` passes and `signed` must decide).
        let dest = work.join("dest");
        copy_dir(&served, &dest);
        forge(&dest.join("1.0.0"), attack, Some(&root), &[]);
        fs::copy(&root, p.path("trusted_root.json")).unwrap();
        let to = format!("dir:{}", dest.display());
        let promote = p.relman(&["promote", "1.0.0", "--to", &to]);
        if case.refusal.is_empty() {
            promote.ok();
            assert!(dest.join("latest").exists());
        } else {
            assert_eq!(promote.code, 9, "{attack}: promote\n{}{}", promote.stdout, promote.stderr);
            let all = format!("{}{}", promote.stdout, promote.stderr);
            assert!(all.contains("gate signed") && all.contains(case.refusal), "{attack}: {all}");
            assert!(!dest.join("latest").exists(), "{attack}: latest never moved");
        }
    }
}

/// The attack of the security report, on Sigstore's own doubles: a genuine certificate for the
/// release's identity (a stolen CI token at the Fulcio double), signatures never sent to the
/// Rekor double, and "inclusion proofs" the attacker computed. verify and upgrade refuse them.
#[test]
fn a_stolen_token_without_the_log_cannot_make_a_release_that_verifies_or_upgrades() {
    let sig = Sigstore::start();
    let (p, served) = keyless_release(&sig);
    let to = format!("dir:{}", served.display());
    p.relman(&["promote", "1.0.0", "--to", &to]).ok();
    let root = sig.trusted_root.display().to_string();
    let issuer = sig.issuer();
    let prefix = p.outside("prefix");
    let pre = prefix.display().to_string();
    let from = served.display().to_string();
    let who = ["--certificate-identity", IDENTITY, "--certificate-oidc-issuer", &issuer, "--trusted-root", &root];
    p.relman(&[&["install", "--from", &from, "--prefix", &pre][..], &who].concat()).ok();
    let installed = fs::read(prefix.join("bin/tool")).unwrap();
    let logged = sig.stats()["rekor_post"].clone();

    for (attack, refusal) in [
        ("self-rooted", "no inclusion proof with a checkpoint signed by the log"),
        ("forged-checkpoint", "checkpoint the log's key did not sign"),
        ("other-origin", "has a checkpoint for the log `rekor.evil.test"),
    ] {
        // A "1.1.0" made of 1.0.0's files, trojaned and re-signed, and a channel pointing at it.
        let next = served.join("1.1.0");
        let _ = fs::remove_dir_all(&next);
        copy_dir(&served.join("1.0.0"), &next);
        forge(&next, attack, None, &["--fulcio", &sig.url, "--replace-archive", "--set-version", "1.1.0"]);
        let channels = served.join("channels.json");
        let text = fs::read_to_string(&channels).unwrap().replace("1.0.0", "1.1.0");
        fs::write(&channels, text).unwrap();

        let out = p.relman(&[&["verify", &next.display().to_string(), "--require-signatures"][..], &who].concat());
        assert_eq!(out.code, 7, "{attack}: {}{}", out.stdout, out.stderr);
        assert!(out.stderr.contains(refusal), "{attack}: {}", out.stderr);
        // The identity pinned at install decides; nothing changes on disk.
        let up = p.relman(&["upgrade", "--prefix", &pre]);
        assert_eq!(up.code, 7, "{attack}: upgrade\n{}{}", up.stdout, up.stderr);
        assert!(up.stderr.contains(refusal), "{attack}: {}", up.stderr);
        assert_eq!(fs::read(prefix.join("bin/tool")).unwrap(), installed, "{attack}");
        let js = sigstore_js(
            &sig.trusted_root,
            &PathBuf::from(format!("{}.sigstore.json", archive_in(&next).display())),
            Some(&archive_in(&next)),
            IDENTITY,
            &issuer,
        );
        assert_eq!(js["ok"], false, "{attack}: sigstore-js {js}");
        fs::write(&channels, fs::read_to_string(&channels).unwrap().replace("1.1.0", "1.0.0")).unwrap();
    }
    // Nothing the attacker made reached the log.
    assert_eq!(sig.stats()["rekor_post"], logged);
}

/// Rekor v2 writes no signed entry timestamps: the signed time comes from an RFC 3161 timestamp
/// authority of the trusted root. Bundles of a genuine release, their SETs stripped and a
/// timestamp from the TSA double added over each signature, install by identity; sigstore-js
/// agrees. A stamp over other bytes, a flipped byte in a stamp, and a trusted root without the
/// authority are refused, each with its reason.
#[test]
fn rfc3161_timestamps_give_the_signed_time_when_no_set_does() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let sig = Sigstore::start();
    let (p, served) = keyless_release(&sig);
    let issuer = sig.issuer();
    let stamp = |data: &[u8]| -> Vec<u8> {
        use sha2::Digest as _;
        let body = serde_json::json!({
            "artifactHash": b64.encode(sha2::Sha256::digest(data)),
            "hashAlgorithm": "sha256",
        });
        let out = Command::new("curl")
            .args(["-fsS", "-X", "POST", "-H", "Content-Type: application/json", "--data", &body.to_string()])
            .arg(format!("{}/api/v1/timestamp", sig.url))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    };
    // Rewrites the archive's and index.json's bundles: no SET, one timestamp from `make`.
    let rewrite = |dir: &Path, make: &dyn Fn(&[u8]) -> Vec<u8>| {
        for subject in [archive_in(dir), dir.join("index.json")] {
            let path = PathBuf::from(format!("{}.sigstore.json", subject.display()));
            let mut bundle: serde_json::Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
            let signature = b64.decode(bundle["messageSignature"]["signature"].as_str().unwrap()).unwrap();
            let material = bundle["verificationMaterial"].as_object_mut().unwrap();
            material["tlogEntries"][0].as_object_mut().unwrap().remove("inclusionPromise").unwrap();
            material.insert(
                "timestampVerificationData".into(),
                serde_json::json!({"rfc3161Timestamps": [{"signedTimestamp": b64.encode(make(&signature))}]}),
            );
            fs::write(&path, bundle.to_string()).unwrap();
        }
    };
    let install = |dir: &Path, root: &Path| {
        let prefix = dir.parent().unwrap().join(format!("prefix-{}", dir.file_name().unwrap().to_string_lossy()));
        p.relman(&[
            "install",
            "--from",
            &dir.display().to_string(),
            "--prefix",
            &prefix.display().to_string(),
            "--certificate-identity",
            IDENTITY,
            "--certificate-oidc-issuer",
            &issuer,
            "--trusted-root",
            &root.display().to_string(),
            "--require-signature",
        ])
    };

    let good = p.outside("stamped");
    copy_dir(&served.join("1.0.0"), &good);
    rewrite(&good, &|s| stamp(s));
    let archive = archive_in(&good);
    let bundle = PathBuf::from(format!("{}.sigstore.json", archive.display()));
    let text = fs::read_to_string(&bundle).unwrap();
    assert!(!text.contains("signedEntryTimestamp") && text.contains("rfc3161Timestamps"));
    let out = install(&good, &sig.trusted_root);
    out.ok();
    let js = sigstore_js(&sig.trusted_root, &bundle, Some(&archive), IDENTITY, &issuer);
    assert_eq!(js["ok"], true, "sigstore-js: {js}");

    // Without the authority in the trusted root there is no signed time at all.
    let root: serde_json::Value = serde_json::from_str(&fs::read_to_string(&sig.trusted_root).unwrap()).unwrap();
    let mut no_tsa = root.clone();
    no_tsa["timestampAuthorities"] = serde_json::json!([]);
    let no_tsa_path = p.outside("roots").join("no-tsa.json");
    fs::write(&no_tsa_path, no_tsa.to_string()).unwrap();
    let out = install(&good, &no_tsa_path);
    assert_eq!(out.code, 7, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("RFC 3161 timestamp was not made by a timestamp authority of the trusted root"),
        "{}",
        out.stderr
    );

    // A stamp over other bytes.
    let other = p.outside("stamped-other");
    copy_dir(&served.join("1.0.0"), &other);
    rewrite(&other, &|_| stamp(b"another signature"));
    let out = install(&other, &sig.trusted_root);
    assert_eq!(out.code, 7, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("stamps other bytes than this signature"), "{}", out.stderr);

    // One byte of the stamp's signature flipped.
    let flipped = p.outside("stamped-flipped");
    copy_dir(&served.join("1.0.0"), &flipped);
    rewrite(&flipped, &|s| {
        let mut der = stamp(s);
        let n = der.len() - 5;
        der[n] ^= 0x01;
        der
    });
    let out = install(&flipped, &sig.trusted_root);
    assert_eq!(out.code, 7, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("RFC 3161 timestamp"), "{}", out.stderr);
    let archive = archive_in(&flipped);
    let js = sigstore_js(
        &sig.trusted_root,
        &PathBuf::from(format!("{}.sigstore.json", archive.display())),
        Some(&archive),
        IDENTITY,
        &issuer,
    );
    assert_eq!(js["ok"], false, "sigstore-js: {js}");
}
