//! `install` from every kind of source, and everything it must refuse.

mod common;

use std::fs;
use std::path::Path;

use common::*;
use relman_install::{install, InstallOptions, Receipt};
use relman_manifest::{ArchiveFormat, ErrorClass, Failure};

fn opts(from: impl Into<String>, prefix: &Path) -> InstallOptions {
    InstallOptions { from: from.into(), prefix: prefix.to_path_buf(), ..InstallOptions::default() }
}

fn receipt(prefix: &Path) -> Receipt {
    serde_json::from_slice(&fs::read(prefix.join(".relman/receipts/app.json")).unwrap()).unwrap()
}

fn assert_installed(prefix: &Path, version: &str) {
    assert_eq!(installed(prefix, NAME), binary_bytes(NAME, version, &host()), "bin/app is {version}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(prefix.join("bin/app")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
    }
}

/// Nothing left behind in the prefix's scratch directory.
fn assert_tmp_clean(prefix: &Path) {
    let tmp = prefix.join(".relman/tmp");
    if tmp.exists() {
        assert_eq!(fs::read_dir(&tmp).unwrap().count(), 0, "leftovers in {}", tmp.display());
    }
}

#[test]
fn from_index_json_path() {
    let root = tempfile::tempdir().unwrap();
    let prefix = tempfile::tempdir().unwrap();
    let dir = publish(root.path(), &Spec::standard("1.0.0"));
    let from = dir.join("index.json").display().to_string();
    let outcome = install(&opts(&from, prefix.path())).unwrap();
    assert_eq!((outcome.name.as_str(), outcome.version.as_str()), (NAME, "1.0.0"));
    assert_eq!(outcome.target, host());
    assert_eq!(outcome.binaries, vec![prefix.path().join("bin/app")]);
    assert_eq!(outcome.previous, None);
    assert!(!outcome.already_installed);
    let archive = fs::read(dir.join(archive_name("1.0.0", &host(), ArchiveFormat::TarGz))).unwrap();
    assert_eq!(outcome.archive_sha256, digest(&archive));
    assert_installed(prefix.path(), "1.0.0");
    // Only the binary is installed, not the README.
    assert_eq!(bin_listing(prefix.path()), vec!["app"]);
    let r = receipt(prefix.path());
    assert_eq!(r.version, "1.0.0");
    assert_eq!(r.source, from);
    // No channels.json above this version: upgrade looks at the index's own location.
    assert_eq!(r.root.as_deref(), Some(dir.display().to_string().as_str()));
    assert_eq!(r.binaries[0].sha256, digest(&binary_bytes(NAME, "1.0.0", &host())));
    assert_tmp_clean(prefix.path());
}

#[test]
fn from_version_dir_and_root() {
    let root = tempfile::tempdir().unwrap();
    publish(root.path(), &Spec::standard("1.0.0"));
    publish(root.path(), &Spec::standard("1.1.0"));
    promote(root.path(), "1.1.0");

    let a = tempfile::tempdir().unwrap();
    let outcome = install(&opts(root.path().join("1.0.0").display().to_string(), a.path())).unwrap();
    assert_eq!(outcome.version, "1.0.0");
    assert_installed(a.path(), "1.0.0");
    assert_eq!(
        receipt(a.path()).root.as_deref(),
        Some(root.path().to_str().unwrap()),
        "root found above the version dir"
    );

    let b = tempfile::tempdir().unwrap();
    let outcome = install(&opts(root.path().display().to_string(), b.path())).unwrap();
    assert_eq!(outcome.version, "1.1.0", "the stable channel");
    assert_installed(b.path(), "1.1.0");

    let c = tempfile::tempdir().unwrap();
    let outcome = install(&InstallOptions {
        version: Some("v1.0.0".into()),
        ..opts(root.path().display().to_string(), c.path())
    })
    .unwrap();
    assert_eq!(outcome.version, "1.0.0", "`--version v1.0.0` picks the older one");
    assert_installed(c.path(), "1.0.0");

    let d = tempfile::tempdir().unwrap();
    let err =
        install(&InstallOptions { version: Some("9.9.9".into()), ..opts(root.path().display().to_string(), d.path()) })
            .unwrap_err();
    assert_eq!(err.class, ErrorClass::Install);
    assert!(err.message.starts_with("no version `9.9.9` at"), "{}", err.message);
    assert_eq!(err.hint.as_deref(), Some("the stable version is `1.1.0`"));
    assert!(bin_listing(d.path()).is_empty());
}

#[test]
fn from_url_root() {
    let root = tempfile::tempdir().unwrap();
    publish(root.path(), &Spec::standard("1.0.0"));
    promote(root.path(), "1.0.0");
    let server = TestServer::serve(root.path());
    let prefix = tempfile::tempdir().unwrap();
    let outcome = install(&opts(&server.base, prefix.path())).unwrap();
    assert_eq!(outcome.version, "1.0.0");
    assert_installed(prefix.path(), "1.0.0");
    assert_eq!(receipt(prefix.path()).root.as_deref(), Some(server.base.as_str()));

    let other = tempfile::tempdir().unwrap();
    install(&opts(server.url("1.0.0/index.json"), other.path())).unwrap();
    assert_installed(other.path(), "1.0.0");
}

#[test]
fn bare_archive_with_checksums_beside_it() {
    let root = tempfile::tempdir().unwrap();
    let dir = publish(root.path(), &Spec::standard("1.0.0"));
    let prefix = tempfile::tempdir().unwrap();
    let archive = dir.join(archive_name("1.0.0", &host(), ArchiveFormat::TarGz));
    let outcome = install(&opts(archive.display().to_string(), prefix.path())).unwrap();
    assert_eq!((outcome.name.as_str(), outcome.version.as_str()), ("app", "1.0.0"));
    assert_installed(prefix.path(), "1.0.0");
    assert_eq!(bin_listing(prefix.path()), vec!["app"], "executables only");

    // Over HTTP too: checksums.txt is fetched from the same URL directory.
    let server = TestServer::serve(root.path());
    let other = tempfile::tempdir().unwrap();
    let name = archive_name("1.0.0", &host(), ArchiveFormat::TarGz);
    install(&opts(server.url(&format!("1.0.0/{name}")), other.path())).unwrap();
    assert_installed(other.path(), "1.0.0");
}

#[test]
fn bare_archive_needs_a_digest() {
    let root = tempfile::tempdir().unwrap();
    let dir = publish(root.path(), &Spec::standard("1.0.0"));
    let lonely = tempfile::tempdir().unwrap();
    let name = archive_name("1.0.0", &host(), ArchiveFormat::TarGz);
    let bytes = fs::read(dir.join(&name)).unwrap();
    let archive = lonely.path().join(&name);
    fs::write(&archive, &bytes).unwrap();
    let from = archive.display().to_string();

    let prefix = tempfile::tempdir().unwrap();
    let err = install(&opts(&from, prefix.path())).unwrap_err();
    assert_eq!(err.class, ErrorClass::Verify);
    assert!(err.message.starts_with(&format!("no digest for `{name}`")), "{}", err.message);
    assert!(err.hint.as_deref().unwrap().contains("--sha256"));

    let wrong = digest(b"something else");
    let err = install(&InstallOptions { sha256: Some(wrong.clone()), ..opts(&from, prefix.path()) }).unwrap_err();
    assert_eq!(err.class, ErrorClass::Verify);
    assert!(err.message.contains(wrong.as_str()) && err.message.contains(digest(&bytes).as_str()), "{}", err.message);
    assert!(bin_listing(prefix.path()).is_empty());

    install(&InstallOptions { sha256: Some(digest(&bytes)), ..opts(&from, prefix.path()) }).unwrap();
    assert_installed(prefix.path(), "1.0.0");
}

#[test]
fn checksum_mismatch_leaves_existing_binary_untouched() {
    let root = tempfile::tempdir().unwrap();
    publish(root.path(), &Spec::standard("1.0.0"));
    let newer = publish(root.path(), &Spec::standard("1.1.0"));
    promote(root.path(), "1.0.0");
    let prefix = tempfile::tempdir().unwrap();
    install(&opts(root.path().display().to_string(), prefix.path())).unwrap();
    let before = installed(prefix.path(), NAME);
    let receipt_before = fs::read(prefix.path().join(".relman/receipts/app.json")).unwrap();

    let name = archive_name("1.1.0", &host(), ArchiveFormat::TarGz);
    flip_byte(&newer.join(&name), 200);
    let tampered = digest(&fs::read(newer.join(&name)).unwrap());
    let err = install(&InstallOptions {
        version: Some("1.1.0".into()),
        ..opts(root.path().display().to_string(), prefix.path())
    })
    .unwrap_err();
    assert_eq!(err.class, ErrorClass::Verify);
    assert!(err.message.starts_with(&format!("`{name}`: sha256 mismatch (index.json says ")), "{}", err.message);
    assert!(err.message.contains(&format!("download has {tampered}")), "{}", err.message);

    assert_eq!(installed(prefix.path(), NAME), before, "byte-identical");
    assert_eq!(fs::read(prefix.path().join(".relman/receipts/app.json")).unwrap(), receipt_before);
    assert_eq!(fs::read_dir(prefix.path().join(".relman/backup")).unwrap().count(), 0, "no backup made");
    assert_tmp_clean(prefix.path());
}

#[test]
fn missing_platform_lists_what_the_index_has() {
    let root = tempfile::tempdir().unwrap();
    let dir = publish(root.path(), &Spec::standard("1.0.0"));
    let prefix = tempfile::tempdir().unwrap();
    let err = install(&InstallOptions {
        target: Some("riscv64gc-unknown-linux-gnu".into()),
        ..opts(dir.display().to_string(), prefix.path())
    })
    .unwrap_err();
    assert_eq!(err.class, ErrorClass::Install);
    assert!(err.message.starts_with("no build of `app` 1.0.0 for `riscv64gc-unknown-linux-gnu`"), "{}", err.message);
    assert!(
        err.message.contains(&format!("`{}`", host())) && err.message.contains(&format!("`{OTHER_TARGET}`")),
        "{}",
        err.message
    );
    assert!(bin_listing(prefix.path()).is_empty());

    // An index without the host platform at all.
    let only_mac = tempfile::tempdir().unwrap();
    let spec = Spec {
        version: "1.0.0".into(),
        platforms: vec![PlatformSpec::new(OTHER_TARGET, ArchiveFormat::Zip, &["app"], None)],
    };
    let dir = publish(only_mac.path(), &spec);
    let err = install(&opts(dir.display().to_string(), prefix.path())).unwrap_err();
    assert_eq!(err.class, ErrorClass::Install);
    assert!(err.message.ends_with(&format!("the index has: `{OTHER_TARGET}`")), "{}", err.message);
}

#[test]
fn other_formats_and_binary_locations() {
    for (format, layout) in [
        (ArchiveFormat::TarZst, "top"),
        (ArchiveFormat::Zip, "top"),
        (ArchiveFormat::TarGz, "root"),
        (ArchiveFormat::Zip, "nested"),
    ] {
        let root = tempfile::tempdir().unwrap();
        let bytes = binary_bytes(NAME, "1.0.0", &host());
        let items = match layout {
            "top" => None,
            "root" => Some(vec![
                Item::File { path: "README.md".into(), mode: 0o644, data: b"readme".to_vec() },
                Item::File { path: "app".into(), mode: 0o755, data: bytes.clone() },
            ]),
            _ => Some(vec![
                Item::Dir("pkg/".into()),
                Item::Dir("pkg/bin/".into()),
                Item::File { path: "pkg/bin/app".into(), mode: 0o755, data: bytes.clone() },
                Item::File { path: "pkg/share/doc/app".into(), mode: 0o644, data: b"not the binary".to_vec() },
            ]),
        };
        let dir = publish(root.path(), &Spec::host_only("1.0.0", format, &["app"], items));
        let prefix = tempfile::tempdir().unwrap();
        install(&opts(dir.display().to_string(), prefix.path())).unwrap_or_else(|e| panic!("{format} {layout}: {e}"));
        assert_installed(prefix.path(), "1.0.0");
    }
}

#[test]
fn several_binaries_and_a_missing_one() {
    let root = tempfile::tempdir().unwrap();
    let dir = publish(root.path(), &Spec::host_only("1.0.0", ArchiveFormat::TarGz, &["app", "app-helper"], None));
    let prefix = tempfile::tempdir().unwrap();
    let outcome = install(&opts(dir.display().to_string(), prefix.path())).unwrap();
    assert_eq!(outcome.binaries.len(), 2);
    assert_eq!(bin_listing(prefix.path()), vec!["app", "app-helper"]);
    assert_eq!(installed(prefix.path(), "app-helper"), binary_bytes("app-helper", "1.0.0", &host()));

    // The index lists a binary the archive does not have.
    let broken = publish(root.path(), &Spec::host_only("2.0.0", ArchiveFormat::TarGz, &["app"], None));
    rewrite_index(&broken, |index| index.platforms[0].binaries.push("ghost".into()));
    let other = tempfile::tempdir().unwrap();
    let err = install(&opts(broken.display().to_string(), other.path())).unwrap_err();
    assert_eq!(err.class, ErrorClass::Verify);
    assert!(err.message.contains("does not contain the binary `ghost`"), "{}", err.message);
    assert!(bin_listing(other.path()).is_empty(), "nothing placed when one binary is missing");
}

#[test]
fn index_binary_names_cannot_escape_bin() {
    let root = tempfile::tempdir().unwrap();
    let dir = publish(root.path(), &Spec::host_only("1.0.0", ArchiveFormat::TarGz, &["app"], None));
    rewrite_index(&dir, |index| index.platforms[0].binaries = vec!["../evil".into()]);
    let prefix = tempfile::tempdir().unwrap();
    let err = install(&opts(dir.display().to_string(), prefix.path())).unwrap_err();
    assert_eq!(err.class, ErrorClass::Verify);
    assert!(err.message.contains("`../evil` is not a plain file name"), "{}", err.message);
    assert!(!prefix.path().join("evil").exists());
}

fn unsafe_case(format: ArchiveFormat, evil: Vec<Item>, outside: &Path) -> (Failure, tempfile::TempDir) {
    let root = tempfile::tempdir().unwrap();
    let mut items = standard_items("1.0.0", &host(), &["app"]);
    items.extend(evil);
    let dir = publish(root.path(), &Spec::host_only("1.0.0", format, &["app"], Some(items)));
    let prefix = tempfile::tempdir().unwrap();
    let err = install(&opts(dir.display().to_string(), prefix.path())).unwrap_err();
    assert!(bin_listing(prefix.path()).is_empty(), "nothing written to bin/");
    assert!(!outside.exists(), "{} was written", outside.display());
    assert!(!prefix.path().join("x").exists() && !prefix.path().join(".relman/x").exists());
    assert_tmp_clean(prefix.path());
    (err, prefix)
}

#[test]
fn unsafe_archives_are_refused_before_writing() {
    let scratch = tempfile::tempdir().unwrap();
    let abs = scratch.path().join("outside-x");
    let top = format!("app-1.0.0-{}", host());
    let cases: Vec<(ArchiveFormat, Item, &str)> = vec![
        (
            ArchiveFormat::TarGz,
            Item::File { path: "../x".into(), mode: 0o755, data: b"evil".to_vec() },
            "`../x`: the path has a `..` component",
        ),
        (
            ArchiveFormat::TarGz,
            Item::File { path: format!("{top}/../../x"), mode: 0o644, data: b"evil".to_vec() },
            "`..` component",
        ),
        (
            ArchiveFormat::TarZst,
            Item::File { path: abs.display().to_string(), mode: 0o644, data: b"evil".to_vec() },
            "absolute path",
        ),
        (
            ArchiveFormat::TarGz,
            Item::Symlink { path: format!("{top}/link"), target: "../../x".into() },
            "symlink to `../../x` leaves the archive",
        ),
        (
            ArchiveFormat::TarGz,
            Item::Symlink { path: "link".into(), target: abs.display().to_string() },
            "symlink to the absolute path",
        ),
        (
            ArchiveFormat::TarGz,
            Item::Hardlink { path: format!("{top}/hard"), target: "../x".into() },
            "hard link to `../x` leaves the archive",
        ),
        (ArchiveFormat::TarGz, Item::CharDevice(format!("{top}/null")), "device file"),
        (ArchiveFormat::Zip, Item::File { path: "../x".into(), mode: 0o644, data: b"evil".to_vec() }, "`..` component"),
        (
            ArchiveFormat::Zip,
            Item::Symlink { path: format!("{top}/link"), target: "../../x".into() },
            "leaves the archive",
        ),
    ];
    let cases: Vec<(ArchiveFormat, Item, &str)> = cases
        .into_iter()
        .chain([
            (
                ArchiveFormat::Zip,
                Item::File { path: "..\\x".into(), mode: 0o644, data: b"evil".to_vec() },
                "`..` component",
            ),
            (
                ArchiveFormat::Zip,
                Item::File { path: abs.display().to_string(), mode: 0o644, data: b"evil".to_vec() },
                "absolute path",
            ),
            (
                ArchiveFormat::Zip,
                Item::File { path: "C:\\x".into(), mode: 0o644, data: b"evil".to_vec() },
                "absolute path",
            ),
            (
                ArchiveFormat::TarGz,
                Item::File { path: format!("{top}/README.md"), mode: 0o644, data: b"twice".to_vec() },
                "the path appears twice",
            ),
        ])
        .collect();
    for (format, evil, expected) in cases {
        let (err, _prefix) = unsafe_case(format, vec![evil], &abs);
        assert_eq!(err.class, ErrorClass::Verify, "{}", err.message);
        assert!(err.message.contains("has an unsafe entry `"), "{}", err.message);
        assert!(err.message.contains(expected), "{format}: {} does not say {expected}", err.message);
    }
}

#[test]
fn symlinked_directory_cannot_be_written_through() {
    let top = format!("app-1.0.0-{}", host());
    let link = Item::Symlink { path: format!("{top}/d"), target: ".".into() };
    // A symlink that stays inside the archive is fine on its own ...
    let root = tempfile::tempdir().unwrap();
    let mut items = standard_items("1.0.0", &host(), &["app"]);
    items.push(link.clone());
    let dir = publish(root.path(), &Spec::host_only("1.0.0", ArchiveFormat::TarGz, &["app"], Some(items)));
    let prefix = tempfile::tempdir().unwrap();
    install(&opts(dir.display().to_string(), prefix.path())).unwrap();
    assert_installed(prefix.path(), "1.0.0");

    // ... but nothing may be written below it: chains of links could lead outside.
    let scratch = tempfile::tempdir().unwrap();
    let (err, _prefix) = unsafe_case(
        ArchiveFormat::TarGz,
        vec![link, Item::File { path: format!("{top}/d/x"), mode: 0o644, data: b"x".to_vec() }],
        &scratch.path().join("nothing"),
    );
    assert_eq!(err.class, ErrorClass::Verify);
    assert!(err.message.contains(&format!("`{top}/d/x`: its parent `{top}/d` is a symlink")), "{}", err.message);
}

#[test]
fn unmanaged_binary_needs_force_and_is_backed_up() {
    let root = tempfile::tempdir().unwrap();
    let dir = publish(root.path(), &Spec::standard("1.0.0"));
    let prefix = tempfile::tempdir().unwrap();
    fs::create_dir_all(prefix.path().join("bin")).unwrap();
    fs::write(prefix.path().join("bin/app"), "hand-installed").unwrap();
    let from = dir.display().to_string();
    let err = install(&opts(&from, prefix.path())).unwrap_err();
    assert_eq!(err.class, ErrorClass::Install);
    assert!(err.message.ends_with("bin/app` exists and was not installed by relman"), "{}", err.message);
    assert_eq!(installed(prefix.path(), NAME), b"hand-installed");

    install(&InstallOptions { force: true, ..opts(&from, prefix.path()) }).unwrap();
    assert_installed(prefix.path(), "1.0.0");
    assert_eq!(fs::read(prefix.path().join(".relman/backup/app")).unwrap(), b"hand-installed");
}

#[test]
fn reinstalling_the_same_version_is_a_no_op_unless_forced_or_damaged() {
    let root = tempfile::tempdir().unwrap();
    let dir = publish(root.path(), &Spec::standard("1.0.0"));
    let prefix = tempfile::tempdir().unwrap();
    let from = dir.display().to_string();
    install(&opts(&from, prefix.path())).unwrap();
    let again = install(&opts(&from, prefix.path())).unwrap();
    assert!(again.already_installed);

    // A damaged binary is repaired.
    fs::write(prefix.path().join("bin/app"), "damaged").unwrap();
    let repaired = install(&opts(&from, prefix.path())).unwrap();
    assert!(!repaired.already_installed);
    assert_installed(prefix.path(), "1.0.0");
    assert_eq!(repaired.previous, None, "a repair keeps no backup of the damage");

    let forced = install(&InstallOptions { force: true, ..opts(&from, prefix.path()) }).unwrap();
    assert!(!forced.already_installed);
}

#[test]
fn bad_from_arguments() {
    let prefix = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let err = install(&opts(empty.path().display().to_string(), prefix.path())).unwrap_err();
    assert_eq!(err.class, ErrorClass::Usage);
    assert!(err.hint.is_some());
    let err = install(&opts(empty.path().join("missing").display().to_string(), prefix.path())).unwrap_err();
    assert_eq!(err.class, ErrorClass::Usage);
    assert!(err.message.contains("does not exist"), "{}", err.message);
    let err = install(&opts("", prefix.path())).unwrap_err();
    assert_eq!(err.class, ErrorClass::Usage);
}

/// A gzip of 1 GiB of zeros (about 1 MiB, 1000×): refused at its first header, nothing unpacked,
/// nothing installed, nothing left in the prefix.
#[test]
fn a_decompression_bomb_is_refused_naming_the_archive() {
    let dir = tempfile::tempdir().unwrap();
    let name = archive_name("1.0.0", &host(), ArchiveFormat::TarGz);
    let path = dir.path().join(&name);
    // Concatenated gzip members decompress as one stream (gzip(1) and relman both read
    // them): a tar header for a 1 GiB file, then one compressed MiB of zeros 1024 times.
    let gz = |bytes: &[u8]| {
        use std::io::Write as _;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    };
    let size: u64 = 1 << 30;
    let mut header = tar::Header::new_gnu();
    header.set_path("app-1.0.0/app").unwrap();
    header.set_mode(0o755);
    header.set_size(size);
    header.set_cksum();
    let mut bytes = gz(header.as_bytes());
    let block = gz(&vec![0u8; 1 << 20]);
    for _ in 0..1024 {
        bytes.extend_from_slice(&block);
    }
    bytes.extend_from_slice(&gz(&[0u8; 1024]));
    fs::write(&path, &bytes).unwrap();
    let compressed = fs::read(&path).unwrap();
    assert!(compressed.len() < 4 << 20, "{}", compressed.len());

    let prefix = tempfile::tempdir().unwrap();
    let from = path.display().to_string();
    let err = install(&InstallOptions { sha256: Some(digest(&compressed)), ..opts(&from, prefix.path()) }).unwrap_err();
    assert_eq!(err.class, ErrorClass::Verify);
    assert!(err.message.starts_with(&format!("`{name}` would unpack to more than 256.0 MiB")), "{}", err.message);
    assert!(err.message.contains("nothing was installed"), "{}", err.message);
    assert!(bin_listing(prefix.path()).is_empty());
    assert_tmp_clean(prefix.path());
}

/// A binary another program relman installed is refused naming that program, whatever the
/// archive is called; `--force` does not take it over either.
#[test]
fn a_binary_of_another_installed_program_is_refused_naming_it() {
    let root = tempfile::tempdir().unwrap();
    let dir = publish(root.path(), &Spec::standard("1.0.0"));
    let prefix = tempfile::tempdir().unwrap();
    install(&opts(dir.display().to_string(), prefix.path())).unwrap();

    // The same archive under another program's name (`tool`), with the same binary `app`.
    let elsewhere = tempfile::tempdir().unwrap();
    let bytes = fs::read(dir.join(archive_name("1.0.0", &host(), ArchiveFormat::TarGz))).unwrap();
    let tool = elsewhere.path().join(format!("tool-1.0.0-{}.tar.gz", host()));
    fs::write(&tool, &bytes).unwrap();
    for force in [false, true] {
        let err = install(&InstallOptions {
            sha256: Some(digest(&bytes)),
            force,
            ..opts(tool.display().to_string(), prefix.path())
        })
        .unwrap_err();
        assert_eq!(err.class, ErrorClass::Install);
        assert!(
            err.message.contains("bin/app` belongs to `app`, which relman installed in")
                && err.message.ends_with("`tool` would replace it"),
            "{}",
            err.message
        );
    }
    assert_installed(prefix.path(), "1.0.0");
    assert!(!prefix.path().join(".relman/receipts/tool.json").exists());
    assert_tmp_clean(prefix.path());
}

/// Installs into one prefix at once take turns (the prefix's lock): every one succeeds, the
/// prefix ends with one intact binary, one receipt and no scratch files.
#[test]
fn concurrent_installs_into_one_prefix_take_turns() {
    let root = tempfile::tempdir().unwrap();
    publish(root.path(), &Spec::standard("1.0.0"));
    publish(root.path(), &Spec::standard("1.1.0"));
    promote(root.path(), "1.1.0");
    let prefix = tempfile::tempdir().unwrap();
    let from_old = root.path().join("1.0.0").display().to_string();
    let from_new = root.path().display().to_string();
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|i| {
                let from = if i % 2 == 0 { from_old.clone() } else { from_new.clone() };
                let prefix = prefix.path().to_path_buf();
                s.spawn(move || install(&opts(from, &prefix)))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for r in &results {
        assert!(r.is_ok(), "{r:?}");
    }
    let r = receipt(prefix.path());
    assert_installed(prefix.path(), &r.version);
    assert_eq!(r.binaries[0].sha256, digest(&binary_bytes(NAME, &r.version, &host())));
    assert_tmp_clean(prefix.path());
    let leftovers: Vec<String> = fs::read_dir(prefix.path().join("bin"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "app")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// What a killed install leaves (a half-unpacked work directory, half-copied binaries) is
/// swept by the next run that holds the prefix's lock.
#[test]
fn leftovers_of_a_killed_install_are_swept() {
    let root = tempfile::tempdir().unwrap();
    let dir = publish(root.path(), &Spec::standard("1.0.0"));
    let prefix = tempfile::tempdir().unwrap();
    let p = prefix.path();
    fs::create_dir_all(p.join(".relman/tmp/.relman-tmp-install-abc/unpacked")).unwrap();
    fs::write(p.join(".relman/tmp/.relman-tmp-install-abc/archive.tar.gz"), b"half").unwrap();
    fs::create_dir_all(p.join("bin")).unwrap();
    fs::write(p.join("bin/.relman-tmp-app.relman-new"), b"half").unwrap();
    fs::write(p.join("bin/mine"), b"a user's file").unwrap();
    install(&opts(dir.display().to_string(), p)).unwrap();
    assert_installed(p, "1.0.0");
    assert_tmp_clean(p);
    assert_eq!(bin_listing(p), vec!["app", "mine"]);
}
