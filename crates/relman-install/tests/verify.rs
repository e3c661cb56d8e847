//! `verify_release` against real release directories, locally and over HTTP.

mod common;

use std::fs;

use common::*;
use relman_install::verify::{verify_release, FileStatus, VerifyReport};
use relman_install::Location;
use relman_manifest::{ArchiveFormat, ErrorClass};

fn verify_dir(dir: &std::path::Path) -> VerifyReport {
    verify_release(&Location::Path(dir.to_path_buf())).unwrap()
}

fn status_of(report: &VerifyReport, name: &str) -> FileStatus {
    report.files.iter().find(|f| f.name == name).unwrap_or_else(|| panic!("no check for {name}: {report:#?}")).status
}

#[test]
fn clean_version_dir_verifies() {
    let root = tempfile::tempdir().unwrap();
    let dir = publish(root.path(), &Spec::standard("1.2.0"));
    let report = verify_dir(&dir);
    assert!(report.is_ok(), "{:#?}", report.problems);
    assert_eq!(report.version, "1.2.0");
    let archive = archive_name("1.2.0", &host(), ArchiveFormat::TarGz);
    assert_eq!(status_of(&report, &archive), FileStatus::Ok);
    assert_eq!(status_of(&report, "index.json"), FileStatus::Ok);
    assert_eq!(status_of(&report, "checksums.txt"), FileStatus::Ok);
    let check = report.files.iter().find(|f| f.name == archive).unwrap();
    assert_eq!(check.expected, check.found);
    assert_eq!(check.size, Some(fs::metadata(dir.join(&archive)).unwrap().len()));
    // The report is what `--json` prints.
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["files"][0]["status"], "ok");
}

#[test]
fn release_root_verifies_its_stable_version() {
    let root = tempfile::tempdir().unwrap();
    publish(root.path(), &Spec::standard("1.0.0"));
    publish(root.path(), &Spec::standard("1.1.0"));
    promote(root.path(), "1.1.0");
    // A broken older version does not matter: only stable is checked.
    flip_byte(&root.path().join("1.0.0").join(archive_name("1.0.0", &host(), ArchiveFormat::TarGz)), 40);
    let report = verify_dir(root.path());
    assert!(report.is_ok(), "{:#?}", report.problems);
    assert_eq!(report.version, "1.1.0");
    assert!(report.location.ends_with("1.1.0"), "{}", report.location);
}

#[test]
fn flipped_byte_in_archive_is_a_mismatch() {
    let root = tempfile::tempdir().unwrap();
    let dir = publish(root.path(), &Spec::standard("1.2.0"));
    let archive = archive_name("1.2.0", &host(), ArchiveFormat::TarGz);
    flip_byte(&dir.join(&archive), 100);
    let report = verify_dir(&dir);
    assert!(!report.is_ok());
    assert_eq!(status_of(&report, &archive), FileStatus::Mismatch);
    assert_eq!(report.problems.len(), 1, "{:#?}", report.problems);
    let problem = &report.problems[0];
    assert!(problem.starts_with(&format!("{archive}: sha256 mismatch (checksums.txt says ")), "{problem}");
    let check = report.files.iter().find(|f| f.name == archive).unwrap();
    assert!(problem.contains(check.expected.as_ref().unwrap().short()), "{problem}");
    assert!(problem.contains(check.found.as_ref().unwrap().short()), "{problem}");
    // The other archive is untouched.
    assert_eq!(status_of(&report, &archive_name("1.2.0", OTHER_TARGET, ArchiveFormat::Zip)), FileStatus::Ok);
}

#[test]
fn edited_checksums_txt_is_caught_three_ways() {
    let root = tempfile::tempdir().unwrap();
    let dir = publish(root.path(), &Spec::standard("1.2.0"));
    let path = dir.join("checksums.txt");
    let text = fs::read_to_string(&path).unwrap();
    // Change the first digest's first hex character.
    let first = text.chars().next().unwrap();
    let edited = format!("{}{}", if first == '0' { '1' } else { '0' }, &text[1..]);
    fs::write(&path, edited).unwrap();
    let report = verify_dir(&dir);
    let all = report.problems.join("\n");
    // The file no longer matches its listed digest ...
    assert!(report.problems.iter().any(|p| p.contains(": sha256 mismatch (checksums.txt says")), "{all}");
    // ... the index and manifest disagree with the listing ...
    assert!(all.contains("(index.json says"), "{all}");
    assert!(all.contains("(manifest.json says"), "{all}");
    // ... and checksums.txt no longer has the bytes the manifest recorded.
    assert!(all.contains("checksums.txt: sha256 mismatch (manifest.json says"), "{all}");
    assert_eq!(status_of(&report, "checksums.txt"), FileStatus::Mismatch);
}

#[test]
fn missing_archive_is_reported() {
    let root = tempfile::tempdir().unwrap();
    let dir = publish(root.path(), &Spec::standard("1.2.0"));
    let archive = archive_name("1.2.0", OTHER_TARGET, ArchiveFormat::Zip);
    fs::remove_file(dir.join(&archive)).unwrap();
    let report = verify_dir(&dir);
    assert_eq!(status_of(&report, &archive), FileStatus::Missing);
    assert_eq!(report.problems, vec![format!("{archive}: listed in checksums.txt but missing")]);
}

#[test]
fn extra_file_is_reported_but_later_stage_files_are_not() {
    let root = tempfile::tempdir().unwrap();
    let dir = publish(root.path(), &Spec::standard("1.2.0"));
    fs::write(dir.join("notes.txt"), "surprise").unwrap();
    for allowed in [
        "checksums.txt.sig",
        "app.spdx.json",
        "app.cdx.json",
        "prov.intoto.jsonl",
        "x.sigstore.json",
        "release-notes.md",
    ] {
        fs::write(dir.join(allowed), "later stages").unwrap();
    }
    let report = verify_dir(&dir);
    assert_eq!(report.problems, vec!["notes.txt: not listed in checksums.txt".to_string()]);
    assert_eq!(status_of(&report, "notes.txt"), FileStatus::Extra);
}

#[test]
fn truncated_index_is_a_verify_failure_naming_it() {
    let root = tempfile::tempdir().unwrap();
    let dir = publish(root.path(), &Spec::standard("1.2.0"));
    let path = dir.join("index.json");
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, &text[..text.len() / 2]).unwrap();
    let err = verify_release(&Location::Path(dir.clone())).unwrap_err();
    assert_eq!(err.class, ErrorClass::Verify);
    assert!(err.message.contains("index.json` is not a valid index"), "{}", err.message);
    assert!(!err.message.contains('\n'));
}

#[test]
fn missing_or_corrupt_documents_are_verify_failures() {
    let root = tempfile::tempdir().unwrap();
    let dir = publish(root.path(), &Spec::standard("1.2.0"));
    fs::write(dir.join("manifest.json"), "{\"format_version\": 1,").unwrap();
    let err = verify_release(&Location::Path(dir.clone())).unwrap_err();
    assert_eq!(err.class, ErrorClass::Verify);
    assert!(err.message.contains("manifest.json` is not a valid manifest"), "{}", err.message);

    fs::remove_file(dir.join("manifest.json")).unwrap();
    let err = verify_release(&Location::Path(dir.clone())).unwrap_err();
    assert_eq!(err.class, ErrorClass::Verify);
    assert!(err.message.ends_with("manifest.json` is missing"), "{}", err.message);

    fs::write(dir.join("checksums.txt"), "").unwrap();
    let err = verify_release(&Location::Path(dir.clone())).unwrap_err();
    assert!(err.message.contains("checksums.txt` is not valid: no entries"), "{}", err.message);

    fs::remove_file(dir.join("index.json")).unwrap();
    let err = verify_release(&Location::Path(dir.clone())).unwrap_err();
    assert_eq!(err.class, ErrorClass::Verify);
    assert!(err.message.ends_with("index.json` is missing"), "{}", err.message);
}

#[test]
fn index_pointing_at_another_releases_archive_is_caught() {
    let root = tempfile::tempdir().unwrap();
    let old = publish(root.path(), &Spec::standard("1.1.0"));
    let dir = publish(root.path(), &Spec::standard("1.2.0"));
    let old_index = relman_manifest::Index::from_json(&fs::read_to_string(old.join("index.json")).unwrap()).unwrap();
    let archive = archive_name("1.2.0", &host(), ArchiveFormat::TarGz);
    // Same file name, but the digest and size of 1.1.0's archive.
    rewrite_index(&dir, |index| {
        let p = index.platforms.iter_mut().find(|p| p.target == host()).unwrap();
        let o = old_index.platforms.iter().find(|p| p.target == host()).unwrap();
        p.sha256 = o.sha256.clone();
        p.size = o.size + 1;
    });
    let report = verify_dir(&dir);
    let all = report.problems.join("\n");
    assert!(all.contains(&format!("{archive}: sha256 mismatch (index.json says")), "{all}");
    assert!(all.contains(&format!("{archive}: size mismatch (index.json says")), "{all}");
    assert!(all.contains("index.json: sha256 mismatch (manifest.json says"), "{all}");
    assert_eq!(status_of(&report, &archive), FileStatus::SizeMismatch);

    // An index naming the other release's file outright.
    let dir2 = publish(root.path(), &Spec::standard("1.3.0"));
    rewrite_index(&dir2, |index| {
        let p = index.platforms.iter_mut().find(|p| p.target == host()).unwrap();
        p.file = archive_name("1.1.0", &host(), ArchiveFormat::TarGz);
    });
    let report = verify_dir(&dir2);
    let all = report.problems.join("\n");
    assert!(
        all.contains(&format!(
            "{}: in index.json but not in checksums.txt",
            archive_name("1.1.0", &host(), ArchiveFormat::TarGz)
        )),
        "{all}"
    );
}

#[test]
fn version_disagreement_between_index_and_manifest() {
    let root = tempfile::tempdir().unwrap();
    let dir = publish(root.path(), &Spec::standard("1.2.0"));
    rewrite_index(&dir, |index| index.version = "1.2.1".to_string());
    let report = verify_dir(&dir);
    assert!(
        report.problems.iter().any(|p| p == "index.json: version `1.2.1` does not match manifest.json's `1.2.0`"),
        "{:#?}",
        report.problems
    );
}

#[test]
fn neither_root_nor_version_dir_is_a_usage_error_with_hint() {
    let empty = tempfile::tempdir().unwrap();
    let err = verify_release(&Location::Path(empty.path().to_path_buf())).unwrap_err();
    assert_eq!(err.class, ErrorClass::Usage);
    assert!(err.message.contains("neither `channels.json` nor `index.json`"), "{}", err.message);
    assert!(err.hint.is_some());
    let err = verify_release(&Location::Path(empty.path().join("nope"))).unwrap_err();
    assert_eq!(err.class, ErrorClass::Usage);
    assert!(err.message.ends_with("nope` does not exist"), "{}", err.message);
}

#[test]
fn verify_over_http() {
    let root = tempfile::tempdir().unwrap();
    let dir = publish(root.path(), &Spec::standard("1.2.0"));
    promote(root.path(), "1.2.0");
    let server = TestServer::serve(root.path());

    let report = verify_release(&Location::parse(&server.url("1.2.0"))).unwrap();
    assert!(report.is_ok(), "{:#?}", report.problems);
    assert_eq!(report.location, server.url("1.2.0"));
    let report = verify_release(&Location::parse(&server.base)).unwrap();
    assert!(report.is_ok(), "{:#?}", report.problems);
    assert_eq!(report.version, "1.2.0");

    // Corrupt archive, missing archive: problems, not errors.
    let archive = archive_name("1.2.0", &host(), ArchiveFormat::TarGz);
    flip_byte(&dir.join(&archive), 7);
    let other = archive_name("1.2.0", OTHER_TARGET, ArchiveFormat::Zip);
    fs::remove_file(dir.join(&other)).unwrap();
    let report = verify_release(&Location::parse(&server.url("1.2.0/"))).unwrap();
    assert_eq!(status_of(&report, &archive), FileStatus::Mismatch);
    assert_eq!(status_of(&report, &other), FileStatus::Missing);
    assert_eq!(report.problems.len(), 2, "{:#?}", report.problems);

    // A server error is a network failure naming the URL and the status.
    server.set_status("/1.2.0/manifest.json", 500);
    let err = verify_release(&Location::parse(&server.url("1.2.0"))).unwrap_err();
    assert_eq!(err.class, ErrorClass::Network);
    assert!(err.message.contains(&server.url("1.2.0/manifest.json")), "{}", err.message);
    assert!(err.message.contains("HTTP 500"), "{}", err.message);
}
