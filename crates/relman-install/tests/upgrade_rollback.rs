//! `upgrade` follows the stable channel and never goes back; `rollback` swaps the backups in.

mod common;

use std::fs;
use std::path::Path;

use common::*;
use relman_install::{install, rollback, upgrade, InstallOptions, Receipt, UpgradeOptions, UpgradeOutcome};
use relman_manifest::ErrorClass;

fn receipt(prefix: &Path) -> Receipt {
    serde_json::from_slice(&fs::read(prefix.join(".relman/receipts/app.json")).unwrap()).unwrap()
}

fn upgrade_opts(prefix: &Path) -> UpgradeOptions {
    UpgradeOptions { prefix: prefix.to_path_buf(), ..UpgradeOptions::default() }
}

fn bytes_of(version: &str) -> Vec<u8> {
    binary_bytes(NAME, version, &host())
}

/// A root with 1.0.0 stable, and a prefix with 1.0.0 installed from it.
fn installed_root() -> (tempfile::TempDir, tempfile::TempDir) {
    let root = tempfile::tempdir().unwrap();
    publish(root.path(), &Spec::standard("1.0.0"));
    promote(root.path(), "1.0.0");
    let prefix = tempfile::tempdir().unwrap();
    install(&InstallOptions {
        from: root.path().display().to_string(),
        prefix: prefix.path().to_path_buf(),
        ..Default::default()
    })
    .unwrap();
    (root, prefix)
}

#[test]
fn upgrade_is_a_no_op_when_current() {
    let (_root, prefix) = installed_root();
    let receipt_before = fs::read(prefix.path().join(".relman/receipts/app.json")).unwrap();
    let outcome = upgrade(&upgrade_opts(prefix.path())).unwrap();
    assert_eq!(
        outcome,
        UpgradeOutcome::UpToDate { name: NAME.into(), version: "1.0.0".into(), available: "1.0.0".into() }
    );
    assert_eq!(fs::read(prefix.path().join(".relman/receipts/app.json")).unwrap(), receipt_before);
    assert_eq!(installed(prefix.path(), NAME), bytes_of("1.0.0"));
}

#[test]
fn upgrade_to_newer_stable_keeps_the_old_for_rollback() {
    let (root, prefix) = installed_root();
    publish(root.path(), &Spec::standard("1.1.0"));
    // Published but not promoted: nothing to do yet.
    assert!(matches!(upgrade(&upgrade_opts(prefix.path())).unwrap(), UpgradeOutcome::UpToDate { .. }));
    promote(root.path(), "1.1.0");

    let outcome = upgrade(&UpgradeOptions { name: Some(NAME.into()), ..upgrade_opts(prefix.path()) }).unwrap();
    let UpgradeOutcome::Upgraded { from_version, outcome } = outcome else { panic!("{outcome:?}") };
    assert_eq!(from_version, "1.0.0");
    assert_eq!(outcome.version, "1.1.0");
    assert_eq!(outcome.previous.as_deref(), Some("1.0.0"));
    assert_eq!(installed(prefix.path(), NAME), bytes_of("1.1.0"));
    assert_eq!(fs::read(prefix.path().join(".relman/backup/app")).unwrap(), bytes_of("1.0.0"));
    let r = receipt(prefix.path());
    assert_eq!((r.version.as_str(), r.previous.as_deref()), ("1.1.0", Some("1.0.0")));

    let json = serde_json::to_value(UpgradeOutcome::Upgraded { from_version, outcome }).unwrap();
    assert_eq!(json["result"], "upgraded");
}

#[test]
fn upgrade_never_downgrades() {
    let (root, prefix) = installed_root();
    publish(root.path(), &Spec::standard("0.9.0"));
    promote(root.path(), "0.9.0");
    let outcome = upgrade(&upgrade_opts(prefix.path())).unwrap();
    assert_eq!(
        outcome,
        UpgradeOutcome::UpToDate { name: NAME.into(), version: "1.0.0".into(), available: "0.9.0".into() }
    );
    assert_eq!(installed(prefix.path(), NAME), bytes_of("1.0.0"));
}

#[test]
fn upgrade_without_receipt_installs_from_root_or_asks_for_one() {
    let root = tempfile::tempdir().unwrap();
    publish(root.path(), &Spec::standard("2.0.0"));
    promote(root.path(), "2.0.0");
    let prefix = tempfile::tempdir().unwrap();

    let err = upgrade(&upgrade_opts(prefix.path())).unwrap_err();
    assert_eq!(err.class, ErrorClass::Usage);
    assert!(err.message.starts_with("nothing is installed in `"), "{}", err.message);
    assert!(err.hint.unwrap().contains("--from"));

    let outcome =
        upgrade(&UpgradeOptions { from: Some(root.path().display().to_string()), ..upgrade_opts(prefix.path()) })
            .unwrap();
    let UpgradeOutcome::Installed { outcome } = outcome else { panic!("{outcome:?}") };
    assert_eq!(outcome.version, "2.0.0");
    assert_eq!(installed(prefix.path(), NAME), bytes_of("2.0.0"));
}

#[test]
fn upgrade_over_http_uses_the_recorded_root() {
    let root = tempfile::tempdir().unwrap();
    publish(root.path(), &Spec::standard("1.0.0"));
    promote(root.path(), "1.0.0");
    let server = TestServer::serve(root.path());
    let prefix = tempfile::tempdir().unwrap();
    install(&InstallOptions { from: server.base.clone(), prefix: prefix.path().to_path_buf(), ..Default::default() })
        .unwrap();
    publish(root.path(), &Spec::standard("1.0.1"));
    promote(root.path(), "1.0.1");
    let outcome = upgrade(&upgrade_opts(prefix.path())).unwrap();
    assert!(
        matches!(outcome, UpgradeOutcome::Upgraded { ref from_version, .. } if from_version == "1.0.0"),
        "{outcome:?}"
    );
    assert_eq!(installed(prefix.path(), NAME), bytes_of("1.0.1"));
}

#[test]
fn upgrade_of_a_bare_archive_install_needs_a_root() {
    let root = tempfile::tempdir().unwrap();
    let dir = publish(root.path(), &Spec::standard("1.0.0"));
    let prefix = tempfile::tempdir().unwrap();
    let archive = dir.join(archive_name("1.0.0", &host(), relman_manifest::ArchiveFormat::TarGz));
    install(&InstallOptions {
        from: archive.display().to_string(),
        prefix: prefix.path().to_path_buf(),
        ..Default::default()
    })
    .unwrap();
    let err = upgrade(&upgrade_opts(prefix.path())).unwrap_err();
    assert_eq!(err.class, ErrorClass::Usage);
    assert!(err.message.contains("not from a release root"), "{}", err.message);
}

#[test]
fn rollback_restores_previous_bytes_and_twice_returns() {
    let (root, prefix) = installed_root();
    publish(root.path(), &Spec::standard("1.1.0"));
    promote(root.path(), "1.1.0");
    upgrade(&upgrade_opts(prefix.path())).unwrap();
    assert_eq!(installed(prefix.path(), NAME), bytes_of("1.1.0"));

    let back = rollback(prefix.path(), None).unwrap();
    assert_eq!((back.version.as_str(), back.replaced.as_str()), ("1.0.0", "1.1.0"));
    assert_eq!(back.binaries, vec![prefix.path().join("bin/app")]);
    assert_eq!(installed(prefix.path(), NAME), bytes_of("1.0.0"));
    let r = receipt(prefix.path());
    assert_eq!((r.version.as_str(), r.previous.as_deref()), ("1.0.0", Some("1.1.0")));
    assert_eq!(r.binaries[0].sha256, digest(&bytes_of("1.0.0")));

    let forward = rollback(prefix.path(), Some(NAME)).unwrap();
    assert_eq!((forward.version.as_str(), forward.replaced.as_str()), ("1.1.0", "1.0.0"));
    assert_eq!(installed(prefix.path(), NAME), bytes_of("1.1.0"));
    assert_eq!(receipt(prefix.path()).version, "1.1.0");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(fs::metadata(prefix.path().join("bin/app")).unwrap().permissions().mode() & 0o777, 0o755);
    }
    // No scratch files left beside the backups.
    let backups: Vec<_> =
        fs::read_dir(prefix.path().join(".relman/backup")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(backups, vec!["app"]);
}

#[test]
fn rollback_with_nothing_to_roll_back() {
    let empty = tempfile::tempdir().unwrap();
    let err = rollback(empty.path(), None).unwrap_err();
    assert_eq!(err.class, ErrorClass::Install);
    assert!(err.message.starts_with("nothing to roll back"), "{}", err.message);

    let (_root, prefix) = installed_root();
    let err = rollback(prefix.path(), None).unwrap_err();
    assert_eq!(err.class, ErrorClass::Install);
    assert_eq!(err.message, "nothing to roll back for `app` 1.0.0: no earlier version was kept");
    assert!(err.hint.is_some());
    assert_eq!(installed(prefix.path(), NAME), bytes_of("1.0.0"));
}
