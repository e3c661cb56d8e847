//! `install` / `upgrade` with signatures: verified before anything is written, the key pinned
//! in the receipt, a re-keyed release refused unless `--key` names the new key.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use relman_install::install::{KeySource, SignatureForm};
use relman_install::{install, upgrade, InstallOptions, Receipt, UpgradeOptions, UpgradeOutcome};
use relman_manifest::{ArchiveFormat, ErrorClass, Failure};

fn receipt(prefix: &Path) -> Receipt {
    serde_json::from_slice(&fs::read(prefix.join(".relman/receipts/app.json")).unwrap()).unwrap()
}

fn opts(from: impl Into<String>, prefix: &Path, key: Option<PathBuf>) -> InstallOptions {
    InstallOptions { from: from.into(), prefix: prefix.to_path_buf(), key, ..InstallOptions::default() }
}

fn upgrade_opts(prefix: &Path, key: Option<PathBuf>) -> UpgradeOptions {
    UpgradeOptions { prefix: prefix.to_path_buf(), key, ..UpgradeOptions::default() }
}

/// A prefix that was never written to: not even `.relman/` exists.
#[track_caller]
fn assert_untouched(prefix: &Path) {
    let entries: Vec<_> = match fs::read_dir(prefix) {
        Ok(dir) => dir.map(|e| e.unwrap().file_name()).collect(),
        Err(_) => vec![],
    };
    assert!(entries.is_empty(), "prefix was written to: {entries:?}");
}

#[track_caller]
fn assert_verify_failure(err: &Failure, contains: &[&str]) {
    assert_eq!(err.class, ErrorClass::Verify, "{err:?}");
    assert!(!err.message.contains('\n'), "{}", err.message);
    for c in contains {
        assert!(err.message.contains(c), "`{c}` not in: {}", err.message);
    }
}

struct Keys {
    _dir: tempfile::TempDir,
    a: PathBuf,
    b: PathBuf,
}

fn keys() -> Keys {
    let dir = tempfile::tempdir().unwrap();
    Keys {
        a: write_public_key(dir.path(), "a.pub", key(0)),
        b: write_public_key(dir.path(), "b.pub", key(1)),
        _dir: dir,
    }
}

/// 1.0.0 signed with key 0, promoted, and installed with that key given (so pinned): the
/// release root and the prefix.
fn installed_with_pinned_key(k: &Keys) -> (tempfile::TempDir, tempfile::TempDir) {
    let root = tempfile::tempdir().unwrap();
    let prefix = tempfile::tempdir().unwrap();
    publish_signed(root.path(), &Spec::standard("1.0.0"), key(0));
    promote(root.path(), "1.0.0");
    install(&opts(root.path().display().to_string(), prefix.path(), Some(k.a.clone()))).unwrap();
    (root, prefix)
}

#[test]
fn install_with_a_key_verifies_and_pins_it() {
    let k = keys();
    let root = tempfile::tempdir().unwrap();
    let prefix = tempfile::tempdir().unwrap();
    publish_signed(root.path(), &Spec::standard("1.0.0"), key(0));
    promote(root.path(), "1.0.0");

    let outcome = install(&opts(root.path().display().to_string(), prefix.path(), Some(k.a.clone()))).unwrap();
    assert_eq!(outcome.version, "1.0.0");
    let sig = outcome.signature.clone().expect("signatures were checked");
    assert_eq!(sig.key_hint, key(0).key_hint());
    assert_eq!(sig.key_source, KeySource::Explicit);
    assert_eq!(sig.index, Some(SignatureForm::Bundle));
    assert_eq!(sig.archive, SignatureForm::Bundle);
    assert_eq!(sig.replaced_key_hint, None);
    let json = serde_json::to_value(&outcome).unwrap();
    assert_eq!(json["signature"]["key_source"], "explicit");

    // The receipt pins the public key (and nothing secret).
    let r = receipt(prefix.path());
    let pin = r.signing_key.clone().unwrap();
    assert_eq!(pin.hint, key(0).key_hint());
    assert_eq!(pin.pem, key(0).public_key_pem());
    assert_eq!(r.format_version, 2);
    let text = fs::read_to_string(prefix.path().join(".relman/receipts/app.json")).unwrap();
    assert!(!text.contains("PRIVATE"), "{text}");

    // Without a key, nothing is checked or pinned (and the format stays readable by older
    // versions).
    let plain = tempfile::tempdir().unwrap();
    let outcome = install(&opts(root.path().display().to_string(), plain.path(), None)).unwrap();
    assert_eq!(outcome.signature, None);
    let r = receipt(plain.path());
    assert_eq!((r.signing_key, r.format_version), (None, 1));
}

#[test]
fn wrong_key_or_tampered_signatures_write_nothing() {
    let k = keys();
    let root = tempfile::tempdir().unwrap();
    let dir = publish_signed(root.path(), &Spec::standard("1.0.0"), key(0));
    promote(root.path(), "1.0.0");
    let from = root.path().display().to_string();
    let prefix = tempfile::tempdir().unwrap();
    let target = prefix.path().join("p");

    // The wrong key: index.json's bundle names the other key, both hints in the message.
    let err = install(&opts(&from, &target, Some(k.b.clone()))).unwrap_err();
    assert_verify_failure(
        &err,
        &["index.json.sigstore.json` was signed by another key", key(0).key_hint(), key(1).key_hint()],
    );
    assert_untouched(&target);

    // The archive re-signed by another key (the index is still fine).
    let archive = archive_name("1.0.0", &host(), ArchiveFormat::TarGz);
    sign_file(&dir, &archive, key(1));
    let err = install(&opts(&from, &target, Some(k.a.clone()))).unwrap_err();
    assert_verify_failure(&err, &[&format!("{archive}.sigstore.json` was signed by another key")]);
    assert_untouched(&target);

    // A bundle that is not a v0.3 bundle.
    let bundle = dir.join(format!("{archive}.sigstore.json"));
    sign_file(&dir, &archive, key(0));
    let text = fs::read_to_string(&bundle).unwrap();
    fs::write(&bundle, text.replace("bundle.v0.3+json", "bundle.v0.1+json")).unwrap();
    let err = install(&opts(&from, &target, Some(k.a.clone()))).unwrap_err();
    assert_verify_failure(&err, &["has the unknown bundle media type"]);
    assert_untouched(&target);
    sign_file(&dir, &archive, key(0));

    // index.json pointing at another archive digest: its signature no longer matches.
    rewrite_index(&dir, |index| {
        index.platforms[0].sha256 = digest(b"another release's archive");
    });
    let err = install(&opts(&from, &target, Some(k.a.clone()))).unwrap_err();
    assert_verify_failure(&err, &["`index.json` does not match", "index.json.sigstore.json"]);
    assert_untouched(&target);
}

#[test]
fn archive_changed_after_signing_is_refused_before_unpacking() {
    let k = keys();
    let root = tempfile::tempdir().unwrap();
    let dir = publish_signed(root.path(), &Spec::standard("1.0.0"), key(0));
    let archive = archive_name("1.0.0", &host(), ArchiveFormat::TarGz);
    // Another archive of the same size, with index.json and its signatures made to match by
    // someone holding... nothing: the archive's own bundle still signs the old digest.
    let evil = archive_bytes(ArchiveFormat::TarGz, &standard_items("6.6.6", &host(), &[NAME]));
    fs::write(dir.join(&archive), &evil).unwrap();
    rewrite_index(&dir, |index| {
        let p = &mut index.platforms[0];
        p.sha256 = digest(&evil);
        p.size = evil.len() as u64;
    });
    sign_file(&dir, "index.json", key(0)); // say the index was re-signed with the right key
    let prefix = tempfile::tempdir().unwrap();
    let err = install(&opts(dir.display().to_string(), prefix.path(), Some(k.a.clone()))).unwrap_err();
    assert_verify_failure(&err, &[&format!("`{archive}` does not match"), "the bundle signs sha256"]);
    assert_untouched(prefix.path());
}

#[test]
fn pinned_key_refuses_a_rekeyed_release_unless_key_names_the_new_one() {
    let k = keys();
    let (root, prefix) = installed_with_pinned_key(&k);

    // 1.1.0 is signed by another key.
    publish_signed(root.path(), &Spec::standard("1.1.0"), key(1));
    promote(root.path(), "1.1.0");
    let err = upgrade(&upgrade_opts(prefix.path(), None)).unwrap_err();
    assert_verify_failure(
        &err,
        &[
            "was signed by another key",
            &format!("(hint {})", key(1).key_hint()),
            &format!("not by `the key pinned for app` (hint {})", key(0).key_hint()),
        ],
    );
    assert!(err.hint.as_deref().unwrap().contains("--key"), "{:?}", err.hint);
    assert_eq!(installed(prefix.path(), NAME), binary_bytes(NAME, "1.0.0", &host()));
    assert_eq!(receipt(prefix.path()).version, "1.0.0");

    // A plain install of 1.1.0 is refused just the same: the pin is per program.
    let err = install(&opts(root.path().display().to_string(), prefix.path(), None)).unwrap_err();
    assert_verify_failure(&err, &["was signed by another key"]);

    // `--key` naming the new key: accepted, and the new key is pinned.
    let outcome = upgrade(&upgrade_opts(prefix.path(), Some(k.b.clone()))).unwrap();
    let UpgradeOutcome::Upgraded { outcome, .. } = outcome else { panic!("{outcome:?}") };
    assert_eq!(outcome.version, "1.1.0");
    let sig = outcome.signature.unwrap();
    assert_eq!(sig.key_source, KeySource::Explicit);
    assert_eq!(sig.replaced_key_hint.as_deref(), Some(key(0).key_hint()));
    assert_eq!(receipt(prefix.path()).signing_key.unwrap().hint, key(1).key_hint());

    // Later upgrades without `--key` use the new pin.
    publish_signed(root.path(), &Spec::standard("1.2.0"), key(1));
    promote(root.path(), "1.2.0");
    let outcome = upgrade(&upgrade_opts(prefix.path(), None)).unwrap();
    let UpgradeOutcome::Upgraded { outcome, .. } = outcome else { panic!("{outcome:?}") };
    let sig = outcome.signature.unwrap();
    assert_eq!((sig.key_source, sig.key_hint.as_str()), (KeySource::Pinned, key(1).key_hint()));

    // A rollback keeps the pin.
    relman_install::rollback(prefix.path(), None).unwrap();
    assert_eq!(receipt(prefix.path()).signing_key.unwrap().hint, key(1).key_hint());
}

#[test]
fn pinned_key_refuses_an_unsigned_release() {
    let k = keys();
    let (root, prefix) = installed_with_pinned_key(&k);
    publish(root.path(), &Spec::standard("1.1.0"));
    promote(root.path(), "1.1.0");
    let err = upgrade(&upgrade_opts(prefix.path(), None)).unwrap_err();
    assert_verify_failure(&err, &["`index.json` is unsigned", "index.json.sigstore.json"]);
    assert!(err.hint.as_deref().unwrap().contains(key(0).key_hint()), "{:?}", err.hint);
    assert_eq!(receipt(prefix.path()).version, "1.0.0");
}

#[test]
fn require_signature() {
    let k = keys();
    let root = tempfile::tempdir().unwrap();
    publish(root.path(), &Spec::standard("1.0.0"));
    promote(root.path(), "1.0.0");
    let from = root.path().display().to_string();
    let prefix = tempfile::tempdir().unwrap();
    let target = prefix.path().join("p");

    // An unsigned release is refused, with or without a key.
    for key in [None, Some(k.a.clone())] {
        let err = install(&InstallOptions { require_signature: true, ..opts(&from, &target, key) }).unwrap_err();
        assert_verify_failure(&err, &["`index.json` is unsigned", "and signatures are required"]);
        assert_untouched(&target);
    }

    // A signed one needs a key to check it with.
    let signed_root = tempfile::tempdir().unwrap();
    publish_signed(signed_root.path(), &Spec::standard("1.0.0"), key(0));
    promote(signed_root.path(), "1.0.0");
    let signed = signed_root.path().display().to_string();
    let err = install(&InstallOptions { require_signature: true, ..opts(&signed, &target, None) }).unwrap_err();
    assert_eq!(err.class, ErrorClass::Usage, "{err:?}");
    assert!(err.message.contains("no public key"), "{}", err.message);
    assert_untouched(&target);

    // A legacy `.sig` alone does not satisfy it (a bundle is required) ...
    let legacy_root = tempfile::tempdir().unwrap();
    let dir = publish_signed(legacy_root.path(), &Spec::standard("1.0.0"), key(0));
    for name in ["index.json", &archive_name("1.0.0", &host(), ArchiveFormat::TarGz)] {
        fs::remove_file(dir.join(format!("{name}.sigstore.json"))).unwrap();
    }
    let legacy = dir.display().to_string();
    let err =
        install(&InstallOptions { require_signature: true, ..opts(&legacy, &target, Some(k.a.clone())) }).unwrap_err();
    assert_verify_failure(&err, &["is unsigned", "signatures are required"]);
    // ... but is enough for a plain `--key` install.
    let outcome = install(&opts(&legacy, &target, Some(k.a.clone()))).unwrap();
    let sig = outcome.signature.unwrap();
    assert_eq!((sig.index, sig.archive), (Some(SignatureForm::Legacy), SignatureForm::Legacy));

    // With a key and the bundles, it installs.
    let other = prefix.path().join("q");
    let outcome =
        install(&InstallOptions { require_signature: true, ..opts(&signed, &other, Some(k.a.clone())) }).unwrap();
    assert_eq!(outcome.signature.unwrap().archive, SignatureForm::Bundle);
}

#[test]
fn bare_archive_uses_the_bundle_beside_it() {
    let k = keys();
    let root = tempfile::tempdir().unwrap();
    let dir = publish_signed(root.path(), &Spec::standard("1.0.0"), key(0));
    let archive = archive_name("1.0.0", &host(), ArchiveFormat::TarGz);
    let from = dir.join(&archive).display().to_string();
    let prefix = tempfile::tempdir().unwrap();

    let outcome = install(&opts(&from, prefix.path(), Some(k.a.clone()))).unwrap();
    let sig = outcome.signature.unwrap();
    assert_eq!((sig.index, sig.archive), (None, SignatureForm::Bundle));
    assert_eq!(receipt(prefix.path()).signing_key.unwrap().hint, key(0).key_hint());

    // Another key is refused.
    let other = tempfile::tempdir().unwrap();
    let err = install(&opts(&from, other.path(), Some(k.b.clone()))).unwrap_err();
    assert_verify_failure(&err, &[&format!("{archive}.sigstore.json` was signed by another key")]);
    assert_untouched(other.path());

    // Without the bundle, the legacy signature; without both, unsigned.
    fs::remove_file(dir.join(format!("{archive}.sigstore.json"))).unwrap();
    let outcome = install(&InstallOptions { force: true, ..opts(&from, prefix.path(), Some(k.a.clone())) }).unwrap();
    assert_eq!(outcome.signature.unwrap().archive, SignatureForm::Legacy);
    fs::remove_file(dir.join(format!("{archive}.sig"))).unwrap();
    let err = install(&opts(&from, other.path(), Some(k.a.clone()))).unwrap_err();
    assert_verify_failure(&err, &[&format!("`{archive}` is unsigned")]);
    assert_untouched(other.path());
}

#[test]
fn over_http_with_credentials_that_never_show() {
    const AUTH: &str = "Basic ZGVwbG95LWJvdDpzM2NyM3QtdDBrZW4=";
    let k = keys();
    let root = tempfile::tempdir().unwrap();
    publish_signed(root.path(), &Spec::standard("1.0.0"), key(0));
    promote(root.path(), "1.0.0");
    let server = TestServer::with_basic_auth(root.path(), AUTH);
    let from = server.url_with_credentials("deploy-bot:s3cr3t-t0ken", "");
    let prefix = tempfile::tempdir().unwrap();

    let err = install(&opts(&from, prefix.path(), Some(k.b.clone()))).unwrap_err();
    assert_verify_failure(&err, &["was signed by another key"]);
    let everything = format!("{err:?}");
    assert!(!everything.contains("s3cr3t") && !everything.contains("deploy-bot"), "{everything}");
    assert_untouched(prefix.path());

    let outcome = install(&opts(&from, prefix.path(), Some(k.a.clone()))).unwrap();
    assert_eq!(outcome.signature.unwrap().key_hint, key(0).key_hint());
}

#[test]
fn a_bad_key_file_is_a_config_failure() {
    let root = tempfile::tempdir().unwrap();
    publish_signed(root.path(), &Spec::standard("1.0.0"), key(0));
    promote(root.path(), "1.0.0");
    let prefix = tempfile::tempdir().unwrap();
    let bad = prefix.path().join("bad.pub");
    fs::write(&bad, "not a key").unwrap();
    let target = prefix.path().join("p");
    let err = install(&opts(root.path().display().to_string(), &target, Some(bad))).unwrap_err();
    assert_eq!(err.class, ErrorClass::Config, "{err:?}");
    assert!(err.message.contains("bad.pub"), "{}", err.message);
    assert_untouched(&target);
}

/// Files swapped between versions, all validly signed: 1.1.0's directory holds 1.0.0's
/// release, and channels.json says 1.1.0. An upgrade must not install 1.0.0 as 1.1.0 (nor
/// go backwards): the signed index's own version must be the one asked for.
#[test]
fn a_version_directory_swapped_for_an_older_signed_one_is_refused() {
    let k = keys();
    let (root, prefix) = installed_with_pinned_key(&k);
    let staging = tempfile::tempdir().unwrap();
    let old = publish_signed(staging.path(), &Spec::standard("1.0.0"), key(0));
    let target = root.path().join("1.1.0");
    fs::create_dir_all(&target).unwrap();
    for e in fs::read_dir(&old).unwrap().flatten() {
        fs::copy(e.path(), target.join(e.file_name())).unwrap();
    }
    promote(root.path(), "1.1.0");
    let before = fs::read(prefix.path().join(".relman/receipts/app.json")).unwrap();
    let err = upgrade(&upgrade_opts(prefix.path(), None)).unwrap_err();
    assert_eq!(err.class, ErrorClass::Verify, "{err:?}");
    assert!(err.message.contains("1.1.0") && err.message.contains("1.0.0"), "{}", err.message);
    assert_eq!(installed(prefix.path(), NAME), binary_bytes(NAME, "1.0.0", &host()));
    assert_eq!(fs::read(prefix.path().join(".relman/receipts/app.json")).unwrap(), before);
}
