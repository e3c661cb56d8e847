//! `verify_release_with` on signed releases (real keys, real signatures, real DSSE), and every
//! tamper case: each must fail with a problem line naming the artifact.

mod common;

use std::fs;
use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use common::*;
use relman_install::verify::{
    verify_release, verify_release_with, ArtifactStatus, VerifyOptions, VerifyReport, REPORT_JSON, REPORT_MARKDOWN,
};
use relman_install::Location;
use relman_manifest::{ArchiveFormat, ArtifactKind, ErrorClass};

const V: &str = "1.2.0";

fn host_archive() -> String {
    archive_name(V, &host(), ArchiveFormat::TarGz)
}

fn other_archive() -> String {
    archive_name(V, OTHER_TARGET, ArchiveFormat::Zip)
}

fn with_key(which: usize) -> VerifyOptions {
    VerifyOptions { key: Some(key(which).public_key().clone()), ..VerifyOptions::default() }
}

fn verify(dir: &Path, opts: &VerifyOptions) -> VerifyReport {
    verify_release_with(&Location::Path(dir.to_path_buf()), opts).unwrap()
}

fn status(report: &VerifyReport, name: &str) -> ArtifactStatus {
    report.artifact(name).unwrap_or_else(|| panic!("no verdict for {name}: {:#?}", report.artifacts)).status
}

/// The problem lines about `name` (`<name>: ...`).
fn problems_of<'a>(report: &'a VerifyReport, name: &str) -> Vec<&'a str> {
    let prefix = format!("{name}: ");
    report.problems.iter().filter(|p| p.starts_with(&prefix)).map(String::as_str).collect()
}

/// Asserts a problem line about `name` containing `text`.
#[track_caller]
fn assert_problem(report: &VerifyReport, name: &str, text: &str) {
    assert!(
        problems_of(report, name).iter().any(|p| p.contains(text)),
        "no problem `{name}: …{text}…` in:\n{}",
        report.problems.join("\n")
    );
}

fn signed_release() -> (tempfile::TempDir, std::path::PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let dir = publish_signed(root.path(), &Spec::standard(V), key(0));
    (root, dir)
}

#[test]
fn signed_release_passes_with_its_key() {
    let (_root, dir) = signed_release();
    let report = verify(&dir, &with_key(0));
    assert!(report.is_ok(), "{:#?}", report.problems);
    assert_eq!(report.key_hint.as_deref(), Some(key(0).key_hint()));
    assert_eq!(report.name, NAME);

    // Every manifest artifact has a verdict, and every one passed.
    let manifest =
        relman_manifest::Manifest::from_json(&fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    for a in &manifest.artifacts {
        let check = report.artifact(&a.name).unwrap();
        assert_eq!(check.kind, Some(a.kind), "{}", a.name);
        assert_eq!(check.status, ArtifactStatus::Pass, "{check:?}");
    }
    // 2 archives, 4 SBOMs, the provenance and its bundle, checksums, index, and a .sig and a
    // .sigstore.json for each archive, SBOM, checksums.txt and index.json, a .sig for the
    // provenance; plus manifest.json and its bundle (the manifest cannot list its own).
    assert_eq!(manifest.artifacts.len(), 2 + 4 + 2 + 2 + 2 * 8 + 1);
    assert_eq!(report.artifacts.len(), manifest.artifacts.len() + 2);
    let signed = report.artifact("manifest.json").unwrap();
    assert!(signed.reason.contains("signature `manifest.json.sigstore.json` verifies"), "{}", signed.reason);

    let archive = report.artifact(&host_archive()).unwrap();
    for said in ["sha256 matches checksums.txt", "signature `", "SBOM `", "in provenance `app-1.2.0.intoto.jsonl`"] {
        assert!(archive.reason.contains(said), "{said}: {}", archive.reason);
    }
    let prov = report.artifact(&provenance_name(V)).unwrap();
    assert!(
        prov.reason.contains("DSSE signature verifies with key")
            && prov.reason.contains("its 2 subjects are exactly the archives"),
        "{}",
        prov.reason
    );
    let bundle = report.artifact(&format!("{}.sigstore.json", host_archive())).unwrap();
    assert_eq!(
        bundle.reason,
        format!("sha256 matches manifest.json; verifies `{}` with key {}", host_archive(), key(0).key_hint())
    );
    let sbom = report.artifact(&format!("app-{V}-{OTHER_TARGET}.cdx.json")).unwrap();
    assert!(sbom.reason.contains("CycloneDX document, 2 components"), "{}", sbom.reason);

    // Required signatures are there.
    let report = verify(&dir, &VerifyOptions { require_signatures: true, ..with_key(0) });
    assert!(report.is_ok(), "{:#?}", report.problems);
}

#[test]
fn without_a_key_signatures_are_not_checked() {
    let (_root, dir) = signed_release();
    let report = verify_release(&Location::Path(dir.clone())).unwrap();
    assert!(report.is_ok(), "{:#?}", report.problems);
    assert_eq!(report.key_hint, None);
    for suffix in [".sig", ".sigstore.json"] {
        let check = report.artifact(&format!("{}{suffix}", host_archive())).unwrap();
        assert_eq!(check.status, ArtifactStatus::Unchecked);
        assert!(check.reason.starts_with("not checked (no key)"), "{}", check.reason);
    }
    let prov = report.artifact(&provenance_name(V)).unwrap();
    assert_eq!(prov.status, ArtifactStatus::Unchecked);
    assert!(prov.reason.contains("DSSE signature not checked (no key)"), "{}", prov.reason);
    // The archives themselves pass: their digests were checked.
    assert_eq!(status(&report, &host_archive()), ArtifactStatus::Pass);

    // Requiring signatures needs a key.
    let err = verify_release_with(
        &Location::Path(dir),
        &VerifyOptions { require_signatures: true, ..VerifyOptions::default() },
    )
    .unwrap_err();
    assert_eq!(err.class, ErrorClass::Usage);
    assert!(err.message.contains("no public key"), "{}", err.message);
}

#[test]
fn flipped_byte_in_an_archive() {
    let (_root, dir) = signed_release();
    let archive = host_archive();
    flip_byte(&dir.join(&archive), 100);
    let report = verify(&dir, &with_key(0));
    assert_problem(&report, &archive, "sha256 mismatch (checksums.txt says");
    assert_problem(
        &report,
        &format!("{archive}.sigstore.json"),
        &format!("`{archive}` does not match `{archive}.sigstore.json`: the bundle signs sha256"),
    );
    assert_problem(&report, &format!("{archive}.sig"), &format!("does not verify for `{archive}`"));
    assert_problem(&report, &provenance_name(V), &format!("subject `{archive}` has sha256"));
    assert_eq!(status(&report, &archive), ArtifactStatus::Fail);
    assert_eq!(status(&report, &other_archive()), ArtifactStatus::Pass);
}

#[test]
fn flipped_byte_in_a_signature() {
    let (_root, dir) = signed_release();
    let archive = host_archive();

    // The legacy signature: its recorded digest no longer matches, and it does not verify.
    let sig = format!("{archive}.sig");
    let text = fs::read_to_string(dir.join(&sig)).unwrap();
    let mut der = B64.decode(text.trim()).unwrap();
    let last = der.len() - 1;
    der[last] ^= 0x01;
    fs::write(dir.join(&sig), B64.encode(&der)).unwrap();
    let report = verify(&dir, &with_key(0));
    assert_problem(&report, &sig, "sha256 mismatch (manifest.json says");
    assert_problem(&report, &sig, &format!("the signature `{sig}` does not verify for `{archive}`"));
    // With the manifest rewritten to match, the signature itself still fails.
    rerecord(&dir, &sig);
    let report = verify(&dir, &with_key(0));
    assert_eq!(problems_of(&report, &sig).len(), report.problems.len(), "{:#?}", report.problems);
    assert_problem(&report, &sig, "does not verify");
    assert_eq!(status(&report, &archive), ArtifactStatus::Fail);
    assert!(report.artifact(&archive).unwrap().reason.contains(&format!("its signature `{sig}` does not verify")));

    // The signature inside a bundle.
    let (_root2, dir) = signed_release();
    let bundle_name = format!("{}.sigstore.json", other_archive());
    let mut bundle: serde_json::Value = serde_json::from_slice(&fs::read(dir.join(&bundle_name)).unwrap()).unwrap();
    let sig = bundle["messageSignature"]["signature"].as_str().unwrap();
    let mut der = B64.decode(sig).unwrap();
    let last = der.len() - 1;
    der[last] ^= 0x01;
    bundle["messageSignature"]["signature"] = B64.encode(&der).into();
    fs::write(dir.join(&bundle_name), bundle.to_string()).unwrap();
    rerecord(&dir, &bundle_name);
    let report = verify(&dir, &with_key(0));
    assert_eq!(
        report.problems,
        vec![format!(
            "{bundle_name}: the signature in `{bundle_name}` does not verify for `{}` with `generated key`",
            other_archive()
        )]
    );
    assert_eq!(status(&report, &other_archive()), ArtifactStatus::Fail);
}

#[test]
fn two_archives_bundles_swapped() {
    let (_root, dir) = signed_release();
    let (a, b) = (format!("{}.sigstore.json", host_archive()), format!("{}.sigstore.json", other_archive()));
    let (bytes_a, bytes_b) = (fs::read(dir.join(&a)).unwrap(), fs::read(dir.join(&b)).unwrap());
    fs::write(dir.join(&a), bytes_b).unwrap();
    fs::write(dir.join(&b), bytes_a).unwrap();
    // Even with the (unsigned) manifest rewritten to match, each bundle fails.
    rerecord(&dir, &a);
    rerecord(&dir, &b);
    let report = verify(&dir, &with_key(0));
    assert_eq!(report.problems.len(), 2, "{:#?}", report.problems);
    assert_problem(&report, &a, &format!("`{}` does not match `{a}`", host_archive()));
    assert_problem(&report, &b, &format!("`{}` does not match `{b}`", other_archive()));
    assert_eq!(status(&report, &host_archive()), ArtifactStatus::Fail);
    assert_eq!(status(&report, &other_archive()), ArtifactStatus::Fail);
}

#[test]
fn wrong_public_key() {
    let (_root, dir) = signed_release();
    let report = verify(&dir, &with_key(1));
    assert!(!report.is_ok());
    let archive = host_archive();
    let bundle = format!("{archive}.sigstore.json");
    assert_problem(
        &report,
        &bundle,
        &format!(
            "`{bundle}` was signed by another key (hint {}), not by `generated key` (hint {})",
            key(0).key_hint(),
            key(1).key_hint()
        ),
    );
    assert_problem(&report, &format!("{archive}.sig"), "does not verify");
    assert_problem(&report, &provenance_name(V), &format!("no signature in `{}` verifies", provenance_name(V)));
    // Every signature, bundle and provenance fails; so does every signed file.
    for a in &report.artifacts {
        match a.kind {
            Some(
                ArtifactKind::Signature
                | ArtifactKind::Bundle
                | ArtifactKind::Provenance
                | ArtifactKind::Archive
                | ArtifactKind::Sbom
                | ArtifactKind::Checksums
                | ArtifactKind::Index,
            ) => assert_eq!(a.status, ArtifactStatus::Fail, "{a:?}"),
            // manifest.json and its bundle are not listed in the manifest.
            None => assert_eq!(a.status, ArtifactStatus::Fail, "{a:?}"),
            _ => assert_eq!(a.status, ArtifactStatus::Pass, "{a:?}"),
        }
    }
}

#[test]
fn edited_checksums_txt() {
    let (_root, dir) = signed_release();
    let path = dir.join("checksums.txt");
    let text = fs::read_to_string(&path).unwrap();
    let first = text.chars().next().unwrap();
    fs::write(&path, format!("{}{}", if first == '0' { '1' } else { '0' }, &text[1..])).unwrap();
    rerecord(&dir, "checksums.txt");
    let report = verify(&dir, &with_key(0));
    assert_problem(
        &report,
        "checksums.txt.sigstore.json",
        "`checksums.txt` does not match `checksums.txt.sigstore.json`",
    );
    assert_problem(&report, "checksums.txt.sig", "does not verify for `checksums.txt`");
    assert_eq!(status(&report, "checksums.txt"), ArtifactStatus::Fail);
}

/// The provenance envelope with its payload changed by `edit`, signature kept.
fn edit_provenance_payload(dir: &Path, edit: impl Fn(&mut serde_json::Value)) {
    let path = dir.join(provenance_name(V));
    let mut envelope: serde_json::Value = serde_json::from_str(fs::read_to_string(&path).unwrap().trim()).unwrap();
    let payload = B64.decode(envelope["payload"].as_str().unwrap()).unwrap();
    let mut statement: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    edit(&mut statement);
    envelope["payload"] = B64.encode(statement.to_string()).into();
    fs::write(&path, format!("{envelope}\n")).unwrap();
}

#[test]
fn edited_provenance_subject_breaks_its_signature() {
    let (_root, dir) = signed_release();
    edit_provenance_payload(&dir, |s| {
        s["subject"][0]["digest"]["sha256"] = "0".repeat(64).into();
    });
    rerecord(&dir, &provenance_name(V));
    let prov = provenance_name(V);
    let report = verify(&dir, &with_key(0));
    assert_problem(&report, &prov, &format!("no signature in `{prov}` verifies with `generated key`"));
    // Its bundle still holds the signed statement, which the edited file no longer has.
    assert_problem(&report, &format!("{prov}.sigstore.json"), "holds another statement than the verified ones");
    // The edited statement is never read: no subject complaint from an unverified payload.
    assert!(!report.problems.iter().any(|p| p.contains("has sha256 000000")), "{:#?}", report.problems);
    assert_eq!(status(&report, &prov), ArtifactStatus::Fail);
}

fn publish_with_statement(root: &Path, edit: &dyn Fn(&mut serde_json::Value)) -> std::path::PathBuf {
    publish_with(
        root,
        &Spec::standard(V),
        &Extras { sboms: true, key: Some(key(0)), statement: Some(edit), ..Extras::default() },
    )
}

#[test]
fn signed_statement_with_wrong_subjects() {
    let prov = provenance_name(V);

    // A wrong digest, signed by the right key: the signature verifies, the subject does not.
    let root = tempfile::tempdir().unwrap();
    let dir = publish_with_statement(root.path(), &|s| {
        s["subject"][0]["digest"]["sha256"] = "0".repeat(64).into();
    });
    let report = verify(&dir, &with_key(0));
    assert_eq!(report.problems.len(), 1, "{:#?}", report.problems);
    assert!(
        report.problems[0]
            .starts_with(&format!("{prov}: subject `{}` has sha256 000000000000…, the archive has ", host_archive())),
        "{}",
        report.problems[0]
    );
    assert_eq!(status(&report, &host_archive()), ArtifactStatus::Fail);
    assert_eq!(status(&report, &other_archive()), ArtifactStatus::Pass);
    // Without a key the statement is still compared (its signature is not checked).
    let report = verify_release(&Location::Path(dir.clone())).unwrap();
    assert_eq!(report.problems.len(), 1, "{:#?}", report.problems);
    assert!(report.problems[0].contains("has sha256 000000000000…"));
    assert_eq!(status(&report, &prov), ArtifactStatus::Fail);

    // A missing archive.
    let root = tempfile::tempdir().unwrap();
    let dir = publish_with_statement(root.path(), &|s| {
        s["subject"].as_array_mut().unwrap().pop();
    });
    let report = verify(&dir, &with_key(0));
    assert_eq!(report.problems, vec![format!("{prov}: archive `{}` is not among its subjects", other_archive())]);
    assert_eq!(status(&report, &other_archive()), ArtifactStatus::Fail);

    // An extra subject.
    let root = tempfile::tempdir().unwrap();
    let dir = publish_with_statement(root.path(), &|s| {
        s["subject"].as_array_mut().unwrap().push(serde_json::json!(
            {"name": "app-9.9.9-evil.tar.gz", "digest": {"sha256": "1".repeat(64)}}
        ));
    });
    let report = verify(&dir, &with_key(0));
    assert_eq!(
        report.problems,
        vec![format!("{prov}: subject `app-9.9.9-evil.tar.gz` is not an archive of this release")]
    );
}

#[test]
fn index_pointing_at_another_releases_archive() {
    let root = tempfile::tempdir().unwrap();
    let old = publish_signed(root.path(), &Spec::standard("1.1.0"), key(0));
    let dir = publish_signed(root.path(), &Spec::standard(V), key(0));
    let old_index = relman_manifest::Index::from_json(&fs::read_to_string(old.join("index.json")).unwrap()).unwrap();
    rewrite_index(&dir, |index| {
        let p = index.platforms.iter_mut().find(|p| p.target == host()).unwrap();
        let o = old_index.platforms.iter().find(|p| p.target == host()).unwrap();
        p.file = o.file.clone();
        p.sha256 = o.sha256.clone();
        p.size = o.size;
    });
    rerecord(&dir, "index.json");
    let report = verify(&dir, &with_key(0));
    assert_problem(&report, "index.json.sigstore.json", "`index.json` does not match `index.json.sigstore.json`");
    assert_problem(
        &report,
        &archive_name("1.1.0", &host(), ArchiveFormat::TarGz),
        "in index.json but not in checksums.txt",
    );
    assert_eq!(status(&report, "index.json"), ArtifactStatus::Fail);

    // The other release's index.json with its valid signatures, copied over.
    let (_root2, dir) = {
        let root = tempfile::tempdir().unwrap();
        let old = publish_signed(root.path(), &Spec::standard("1.1.0"), key(0));
        let dir = publish_signed(root.path(), &Spec::standard(V), key(0));
        for name in ["index.json", "index.json.sig", "index.json.sigstore.json"] {
            fs::copy(old.join(name), dir.join(name)).unwrap();
        }
        (root, dir)
    };
    let report = verify(&dir, &with_key(0));
    assert_problem(&report, "index.json", "version `1.1.0` does not match manifest.json's `1.2.0`");
    assert_problem(
        &report,
        &archive_name("1.1.0", &host(), ArchiveFormat::TarGz),
        "in index.json but not in checksums.txt",
    );
}

#[test]
fn bundle_with_an_unknown_media_type() {
    let (_root, dir) = signed_release();
    let name = format!("{}.sigstore.json", host_archive());
    let text = fs::read_to_string(dir.join(&name)).unwrap();
    let edited =
        text.replace("application/vnd.dev.sigstore.bundle.v0.3+json", "application/vnd.dev.sigstore.bundle.v0.9+json");
    assert_ne!(text, edited);
    fs::write(dir.join(&name), edited).unwrap();
    rerecord(&dir, &name);
    let report = verify(&dir, &with_key(0));
    assert_eq!(
        report.problems,
        vec![format!(
            "{name}: `{name}` has the unknown bundle media type `application/vnd.dev.sigstore.bundle.v0.9+json`"
        )]
    );
}

#[test]
fn require_signatures_on_an_unsigned_release() {
    let root = tempfile::tempdir().unwrap();
    let dir = publish(root.path(), &Spec::standard(V));
    let opts = VerifyOptions { require_signatures: true, ..with_key(0) };
    let report = verify(&dir, &opts);
    let mut expected: Vec<String> = [host_archive(), other_archive()]
        .into_iter()
        .chain(["checksums.txt".to_string(), "index.json".to_string(), "manifest.json".to_string()])
        .map(|n| format!("{n}: unsigned: there is no `{n}.sigstore.json`, and signatures are required"))
        .collect();
    expected.sort();
    let mut got = report.problems.clone();
    got.sort();
    assert_eq!(got, expected);
    assert_eq!(status(&report, "index.json"), ArtifactStatus::Fail);

    // A key alone means the same: the release must be signed by it.
    let report = verify(&dir, &with_key(0));
    assert_eq!(report.problems.len(), 5, "{:#?}", report.problems);
    assert_problem(&report, &host_archive(), "unsigned: there is no");
    assert_problem(&report, "manifest.json", "and a key was given to check it with");
    // Without a key, nothing is claimed about signatures.
    assert!(verify_release(&Location::Path(dir)).unwrap().is_ok());
}

/// The outside harness's case: every signature removed, and the binary, checksums, index and
/// manifest rewritten to agree. Every file is consistent; only the key can tell.
#[test]
fn a_release_stripped_of_every_signature_fails_with_a_key() {
    let (root, dir) = signed_release();
    let archive = host_archive();
    flip_byte(&dir.join(&archive), 100);
    let path = dir.join("manifest.json");
    let mut manifest = relman_manifest::Manifest::from_json(&fs::read_to_string(&path).unwrap()).unwrap();
    for name in fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()) {
        // The provenance goes too: its signed subjects would give the archive away.
        if name.ends_with(".sig") || name.ends_with(".sigstore.json") || name.ends_with(".intoto.jsonl") {
            fs::remove_file(dir.join(&name)).unwrap();
            manifest.artifacts.retain(|a| a.name != name);
        }
    }
    // checksums.txt, index.json and manifest.json rewritten to agree with the changed archive.
    let new_digest = digest(&fs::read(dir.join(&archive)).unwrap());
    let sums = dir.join("checksums.txt");
    let old_digest = manifest.artifact(&archive).unwrap().sha256.clone().unwrap();
    let text = fs::read_to_string(&sums).unwrap().replace(&old_digest.to_string(), &new_digest.to_string());
    let text: String = text.lines().filter(|l| !l.ends_with(".intoto.jsonl")).map(|l| format!("{l}\n")).collect();
    fs::write(&sums, text).unwrap();
    rewrite_index(&dir, |index| {
        for p in &mut index.platforms {
            if p.file == archive {
                p.sha256 = new_digest.clone();
            }
        }
    });
    for name in [archive.as_str(), "checksums.txt", "index.json"] {
        let bytes = fs::read(dir.join(name)).unwrap();
        let a = manifest.artifact_mut(name).unwrap();
        a.sha256 = Some(digest(&bytes));
        a.size = Some(bytes.len() as u64);
    }
    fs::write(&path, manifest.to_json()).unwrap();
    // Every file agrees: without a key, it passes.
    let report = verify_release(&Location::Path(dir.clone())).unwrap();
    assert!(report.is_ok(), "{:#?}", report.problems);
    // From the directory and over HTTP (where signatures are looked for by URL).
    let server = TestServer::serve(root.path());
    for report in
        [verify(&dir, &with_key(0)), verify_release_with(&Location::parse(&server.url(V)), &with_key(0)).unwrap()]
    {
        assert!(!report.is_ok());
        for name in
            [host_archive(), other_archive(), "checksums.txt".into(), "index.json".into(), "manifest.json".into()]
        {
            assert_problem(&report, &name, "unsigned: there is no");
            assert_eq!(status(&report, &name), ArtifactStatus::Fail, "{name}");
        }
    }
}

#[test]
fn stripped_signatures_are_noticed_when_the_rest_is_signed() {
    let (_root, dir) = signed_release();
    let archive = other_archive();
    // Remove the archive's signatures and their manifest entries (and re-sign the manifest:
    // the archive's own check must catch it).
    let path = dir.join("manifest.json");
    let mut manifest = relman_manifest::Manifest::from_json(&fs::read_to_string(&path).unwrap()).unwrap();
    for suffix in [".sig", ".sigstore.json"] {
        let name = format!("{archive}{suffix}");
        fs::remove_file(dir.join(&name)).unwrap();
        manifest.artifacts.retain(|a| a.name != name);
    }
    fs::write(&path, manifest.to_json()).unwrap();
    sign_manifest(&dir, key(0));
    let report = verify(&dir, &with_key(0));
    assert_eq!(
        report.problems,
        vec![format!(
            "{archive}: unsigned: there is no `{archive}.sigstore.json` or `{archive}.sig`, and a key was given to check it with"
        )]
    );
}

/// What verify reports as fact (the commit, the version) is covered by the manifest's
/// signature: an edited field fails, a manifest signed by another key fails, a removed
/// manifest signature fails.
#[test]
fn the_manifest_is_signed() {
    let (root, dir) = signed_release();
    let server = TestServer::serve(root.path());
    let over_http = || verify_release_with(&Location::parse(&server.url(V)), &with_key(0)).unwrap();
    assert!(over_http().is_ok(), "{:#?}", over_http().problems);
    assert!(verify(&dir, &with_key(0)).is_ok());
    let path = dir.join("manifest.json");
    let original = fs::read_to_string(&path).unwrap();
    let edited =
        original.replace("0123456789abcdef0123456789abcdef01234567", "fedcba9876543210fedcba9876543210fedcba98");
    assert_ne!(original, edited);
    fs::write(&path, &edited).unwrap();
    let report = verify(&dir, &with_key(0));
    assert_eq!(report.problems.len(), 1, "{:#?}", report.problems);
    assert_problem(
        &report,
        "manifest.json.sigstore.json",
        "`manifest.json` does not match `manifest.json.sigstore.json`",
    );
    assert_eq!(status(&report, "manifest.json"), ArtifactStatus::Fail);
    let reason = &report.artifact("manifest.json").unwrap().reason;
    assert!(reason.contains("its signature `manifest.json.sigstore.json` does not verify"), "{reason}");
    assert_problem(&over_http(), "manifest.json.sigstore.json", "does not match");

    // Signed by another key.
    sign_manifest(&dir, key(1));
    let report = verify(&dir, &with_key(0));
    assert_problem(&report, "manifest.json.sigstore.json", "was signed by another key");
    assert_eq!(status(&report, "manifest.json"), ArtifactStatus::Fail);
    // Its signature removed.
    fs::remove_file(dir.join("manifest.json.sigstore.json")).unwrap();
    let report = verify(&dir, &with_key(0));
    assert_eq!(
        report.problems,
        vec!["manifest.json: unsigned: there is no `manifest.json.sigstore.json` or `manifest.json.sig`, and a key was given to check it with".to_string()]
    );
    // Re-signed with the right key, the edit is the release's own record again.
    sign_manifest(&dir, key(0));
    assert!(verify(&dir, &with_key(0)).is_ok());
}

#[test]
fn sboms_must_be_non_empty_and_cover_every_archive() {
    let root = tempfile::tempdir().unwrap();
    let dir = publish_with(
        root.path(),
        &Spec::standard(V),
        &Extras { sboms: true, empty_sboms: vec![OTHER_TARGET.to_string()], ..Extras::default() },
    );
    let report = verify_release(&Location::Path(dir.clone())).unwrap();
    let spdx = format!("app-{V}-{OTHER_TARGET}.spdx.json");
    let cdx = format!("app-{V}-{OTHER_TARGET}.cdx.json");
    assert_problem(&report, &spdx, "the SPDX document lists no packages");
    assert_problem(&report, &cdx, "the CycloneDX document lists no components");
    assert_eq!(report.problems.len(), 2, "{:#?}", report.problems);
    assert_eq!(status(&report, &other_archive()), ArtifactStatus::Fail);

    // A release whose manifest lists SBOMs, but not for one archive.
    let root = tempfile::tempdir().unwrap();
    let dir = publish_with(root.path(), &Spec::standard(V), &Extras { sboms: true, ..Extras::default() });
    let path = dir.join("manifest.json");
    let mut manifest = relman_manifest::Manifest::from_json(&fs::read_to_string(&path).unwrap()).unwrap();
    manifest.artifacts.retain(|a| a.name != cdx);
    fs::write(&path, manifest.to_json()).unwrap();
    fs::remove_file(dir.join(&cdx)).unwrap();
    let report = verify_release(&Location::Path(dir)).unwrap();
    assert_problem(
        &report,
        &other_archive(),
        "has no CycloneDX SBOM, while the manifest lists them for other archives",
    );
    // (and checksums.txt still lists the removed file)
    assert_problem(&report, &cdx, "listed in checksums.txt but missing");
}

#[test]
fn remote_verify_downloads_once_and_writes_the_report_files() {
    let root = tempfile::tempdir().unwrap();
    let dir = publish_signed(root.path(), &Spec::standard(V), key(0));
    promote(root.path(), V);
    let server = TestServer::serve(root.path());
    let out = tempfile::tempdir().unwrap();
    let report_dir = out.path().join("reports");
    let opts = VerifyOptions { report_dir: Some(report_dir.clone()), require_signatures: true, ..with_key(0) };
    let report = verify_release_with(&Location::parse(&server.base), &opts).unwrap();
    assert!(report.is_ok(), "{:#?}", report.problems);
    assert_eq!(report.location, server.url(V));

    // Every file of the version directory was fetched, each exactly once.
    let requests = server.requests.lock().unwrap().clone();
    let mut gets: Vec<&str> = requests.iter().filter_map(|r| r.strip_prefix("GET ")).collect();
    let total = gets.len();
    gets.sort();
    gets.dedup();
    assert_eq!(gets.len(), total, "fetched twice: {requests:#?}");
    for entry in fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(gets.contains(&format!("/{V}/{name}").as_str()), "{name} was not fetched: {requests:#?}");
    }

    // The report files: the JSON report and a Markdown table.
    let json: serde_json::Value = serde_json::from_slice(&fs::read(report_dir.join(REPORT_JSON)).unwrap()).unwrap();
    assert_eq!(json["version"], V);
    assert_eq!(json["problems"].as_array().unwrap().len(), 0);
    assert_eq!(json["artifacts"].as_array().unwrap().len(), report.artifacts.len());
    assert_eq!(
        json["artifacts"][0],
        serde_json::json!({"name": host_archive(), "kind": "archive", "status": "pass",
            "reason": report.artifacts[0].reason})
    );
    let md = fs::read_to_string(report_dir.join(REPORT_MARKDOWN)).unwrap();
    assert!(md.contains("| artifact | kind | status | reason |"), "{md}");
    assert!(md.contains("**PASS**"), "{md}");
    assert!(md.contains(&format!("| `{}` | archive | pass |", host_archive())), "{md}");
    let leftovers: Vec<_> = fs::read_dir(&report_dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 2, "{leftovers:?}");

    // A tampered remote release: the report names the archive, and the files say FAIL.
    flip_byte(&dir.join(host_archive()), 50);
    let report = verify_release_with(&Location::parse(&server.url(V)), &opts).unwrap();
    assert_eq!(status(&report, &host_archive()), ArtifactStatus::Fail);
    assert_problem(&report, &format!("{}.sigstore.json", host_archive()), "does not match");
    let md = fs::read_to_string(report_dir.join(REPORT_MARKDOWN)).unwrap();
    assert!(md.contains("**FAIL**") && md.contains("## Problems"), "{md}");
    let json: serde_json::Value = serde_json::from_slice(&fs::read(report_dir.join(REPORT_JSON)).unwrap()).unwrap();
    assert_eq!(json["problems"].as_array().unwrap().len(), report.problems.len());
}

#[test]
fn remote_signatures_not_in_the_manifest_are_found_with_a_key() {
    let root = tempfile::tempdir().unwrap();
    let dir = publish_signed(root.path(), &Spec::standard(V), key(0));
    // The manifest forgets every signature and bundle (it is not signed itself).
    let path = dir.join("manifest.json");
    let mut manifest = relman_manifest::Manifest::from_json(&fs::read_to_string(&path).unwrap()).unwrap();
    manifest.artifacts.retain(|a| !matches!(a.kind, ArtifactKind::Signature | ArtifactKind::Bundle));
    fs::write(&path, manifest.to_json()).unwrap();
    // ... and an archive bundle is replaced with one made by another key.
    sign_file(&dir, &other_archive(), key(1));
    let server = TestServer::serve(root.path());
    let report = verify_release_with(&Location::parse(&server.url(V)), &with_key(0)).unwrap();
    let bundle = format!("{}.sigstore.json", other_archive());
    assert_problem(&report, &bundle, "was signed by another key");
    assert_eq!(status(&report, &format!("{}.sigstore.json", host_archive())), ArtifactStatus::Pass);
    assert_eq!(status(&report, "index.json.sigstore.json"), ArtifactStatus::Pass);
}

/// Strict verify: with a key, every file at the location is listed or signs a listed file. An
/// orphan signature, a bundle of nothing, an unsigned provenance and a fake SBOM each fail by
/// name; without a key they are let through as what later stages add.
#[test]
fn unlisted_documents_fail_strict_verify() {
    let (_root, dir) = signed_release();
    assert!(verify(&dir, &with_key(0)).is_ok());
    let sig = fs::read(dir.join(format!("{}.sig", host_archive()))).unwrap();
    let bundle = fs::read(dir.join(format!("{}.sigstore.json", host_archive()))).unwrap();
    fs::write(dir.join("evil.sh.sig"), &sig).unwrap();
    fs::write(dir.join("payload.bin.sigstore.json"), &bundle).unwrap();
    fs::write(
        dir.join("extra.intoto.jsonl"),
        "{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":\"e30=\",\"signatures\":[]}\n",
    )
    .unwrap();
    fs::write(dir.join("fake.spdx.json"), "{\"spdxVersion\":\"SPDX-2.3\",\"packages\":[]}").unwrap();
    let report = verify(&dir, &VerifyOptions { require_signatures: true, ..with_key(0) });
    assert!(!report.is_ok());
    for name in ["evil.sh.sig", "payload.bin.sigstore.json", "extra.intoto.jsonl", "fake.spdx.json"] {
        assert_problem(&report, name, "not part of the release");
    }
    assert_eq!(report.problems.len(), 4, "{:#?}", report.problems);
    // Without a key nothing is verified, and the names later stages add pass as before.
    assert!(verify_release(&Location::Path(dir)).unwrap().is_ok());
}
