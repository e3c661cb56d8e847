//! URLs with credentials: used for basic auth, never shown in messages or stored in receipts.

mod common;

use std::fs;

use common::*;
use relman_install::verify::verify_release;
use relman_install::{install, upgrade, InstallOptions, Location, UpgradeOptions};
use relman_manifest::{ErrorClass, Failure};

const USER: &str = "deploy-bot";
const PASS: &str = "s3cr3t-t0ken";

/// `Basic base64("deploy-bot:s3cr3t-t0ken")`.
const AUTH: &str = "Basic ZGVwbG95LWJvdDpzM2NyM3QtdDBrZW4=";

fn assert_no_secret(failure: &Failure) {
    let everything = format!("{} {:?} {:?}", failure.message, failure.hint, failure);
    assert!(!everything.contains(PASS) && !everything.contains(USER), "leaked: {everything}");
}

fn served_release() -> (tempfile::TempDir, TestServer) {
    let root = tempfile::tempdir().unwrap();
    publish(root.path(), &Spec::standard("1.0.0"));
    promote(root.path(), "1.0.0");
    let server = TestServer::with_basic_auth(root.path(), AUTH);
    (root, server)
}

#[test]
fn credentials_authenticate_and_stay_out_of_receipts() {
    let (_root, server) = served_release();
    let prefix = tempfile::tempdir().unwrap();
    let from = server.url_with_credentials(&format!("{USER}:{PASS}"), "");

    // Without credentials the server refuses.
    let err = install(&InstallOptions {
        from: server.base.clone(),
        prefix: prefix.path().to_path_buf(),
        ..Default::default()
    })
    .unwrap_err();
    assert_eq!(err.class, ErrorClass::Network);
    assert!(err.message.contains("HTTP 401"), "{}", err.message);

    let outcome =
        install(&InstallOptions { from: from.clone(), prefix: prefix.path().to_path_buf(), ..Default::default() })
            .unwrap();
    assert_eq!(outcome.version, "1.0.0");
    let receipt = fs::read_to_string(prefix.path().join(".relman/receipts/app.json")).unwrap();
    assert!(!receipt.contains(PASS) && !receipt.contains(USER), "{receipt}");
    assert!(receipt.contains("****@127.0.0.1"), "{receipt}");

    // Upgrading from the redacted root asks for the credentials instead of sending `****`.
    let err = upgrade(&UpgradeOptions { prefix: prefix.path().to_path_buf(), ..Default::default() }).unwrap_err();
    assert_eq!(err.class, ErrorClass::Usage);
    assert_no_secret(&err);
    let again =
        upgrade(&UpgradeOptions { from: Some(from), prefix: prefix.path().to_path_buf(), ..Default::default() })
            .unwrap();
    assert!(matches!(again, relman_install::UpgradeOutcome::UpToDate { .. }));

    let report =
        verify_release(&Location::parse(&server.url_with_credentials(&format!("{USER}:{PASS}"), "1.0.0"))).unwrap();
    assert!(report.is_ok(), "{:#?}", report.problems);
    assert!(!report.location.contains(PASS), "{}", report.location);
}

#[test]
fn credentials_never_appear_in_errors() {
    let (_root, server) = served_release();
    let prefix = tempfile::tempdir().unwrap();
    let with = |path: &str| server.url_with_credentials(&format!("{USER}:{PASS}"), path);
    let wrong = server.url_with_credentials(&format!("{USER}:wrong-{PASS}"), "");

    let mut failures = Vec::new();
    // 401 (wrong password), 404, 500, unreachable port, verify of a missing release.
    failures.push(
        install(&InstallOptions { from: wrong, prefix: prefix.path().to_path_buf(), ..Default::default() })
            .unwrap_err(),
    );
    failures.push(
        install(&InstallOptions {
            from: with("9.9.9/index.json"),
            prefix: prefix.path().to_path_buf(),
            ..Default::default()
        })
        .unwrap_err(),
    );
    server.set_status("/channels.json", 500);
    failures.push(
        install(&InstallOptions { from: with(""), prefix: prefix.path().to_path_buf(), ..Default::default() })
            .unwrap_err(),
    );
    failures.push(verify_release(&Location::parse(&with(""))).unwrap_err());
    failures.push(
        install(&InstallOptions {
            from: format!("http://{USER}:{PASS}@127.0.0.1:1/app"),
            prefix: prefix.path().to_path_buf(),
            ..Default::default()
        })
        .unwrap_err(),
    );
    let classes: Vec<ErrorClass> = failures.iter().map(|f| f.class).collect();
    assert_eq!(classes, vec![ErrorClass::Network; 5], "{failures:#?}");
    for failure in &failures {
        assert_no_secret(failure);
        assert!(failure.message.contains("http://****@127.0.0.1:"), "{}", failure.message);
    }
    assert!(failures[0].message.contains("HTTP 401"));
    assert!(failures[1].message.contains("HTTP 404"));
    assert!(failures[2].message.contains("HTTP 500"));
    assert!(
        failures[4].message.starts_with("cannot reach `http://****@127.0.0.1:1/app/channels.json`"),
        "{}",
        failures[4].message
    );

    // Debug output of the options redacts too.
    let opts = InstallOptions { from: with(""), ..Default::default() };
    let shown = format!("{opts:?}");
    assert!(!shown.contains(PASS), "{shown}");
}
