//! The SBOM of a container image's contents: OS packages read from real layer files (built
//! here with the `tar` crate from this machine's own dpkg database and os-release, and from
//! the hand-written Alpine database in `tests/fixtures/os/`), merged with a project's lockfile
//! inventory, and checked by `pyspdxtools -i` and cyclonedx-python-lib's strict 1.6 validator
//! from the repo's `.venv` (installed by `scripts/setup-test-deps`). Expected packages come
//! from `dpkg-query` and a POSIX shell reading os-release, never from a list in this file.

mod validators;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use relman_engine::sbom::{self, CollectOptions, Ecosystem, Inventory, LayerFile, OsInventory, ReleaseSubject, Role};
use relman_engine::ErrorClass;
use validators::documents;

const COMMIT: &str = "4f2c1d0e9b8a7f6e5d4c3b2a1908f7e6d5c4b3a2";
const SDE: i64 = 1_714_521_600;

const OCI_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const OCI_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
const OCI_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
const DOCKER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn subject(name: &str, version: &str) -> ReleaseSubject {
    ReleaseSubject {
        name: name.into(),
        version: version.into(),
        commit: COMMIT.into(),
        repository: Some("https://github.com/acme/app".into()),
        source_date_epoch: SDE,
    }
}

// ---------------------------------------------------------------- layers

/// One entry of a test layer.
enum Item {
    File(String, Vec<u8>),
    Symlink(String, String),
    Dir(String),
    /// `<dir>/.wh.<name>`: deletes `<dir>/<name>` from the layers below.
    Whiteout(String),
    /// `<dir>/.wh..wh..opq`: hides what the layers below have in `<dir>`.
    Opaque(String),
}

fn file(path: &str, data: impl Into<Vec<u8>>) -> Item {
    Item::File(path.to_string(), data.into())
}

fn header(kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h.set_mtime(SDE as u64);
    h
}

fn write_tar<W: Write>(out: W, items: &[Item]) -> W {
    let mut b = tar::Builder::new(out);
    for item in items {
        match item {
            Item::File(path, data) => {
                let mut h = header(tar::EntryType::Regular, data.len() as u64, 0o644);
                b.append_data(&mut h, path, data.as_slice()).unwrap();
            }
            Item::Symlink(path, target) => {
                let mut h = header(tar::EntryType::Symlink, 0, 0o777);
                b.append_link(&mut h, path, target).unwrap();
            }
            Item::Dir(path) => {
                let mut h = header(tar::EntryType::Directory, 0, 0o755);
                b.append_data(&mut h, format!("{}/", path.trim_end_matches('/')), std::io::empty()).unwrap();
            }
            Item::Whiteout(path) => {
                let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
                let wh = if dir.is_empty() { format!(".wh.{name}") } else { format!("{dir}/.wh.{name}") };
                let mut h = header(tar::EntryType::Regular, 0, 0o644);
                b.append_data(&mut h, wh, std::io::empty()).unwrap();
            }
            Item::Opaque(dir) => {
                let mut h = header(tar::EntryType::Regular, 0, 0o644);
                b.append_data(&mut h, format!("{}/.wh..wh..opq", dir.trim_end_matches('/')), std::io::empty()).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

/// Writes `items` as a layer file `name` in `dir`, compressed as `media_type` says.
fn layer(dir: &Path, name: &str, media_type: &str, items: &[Item]) -> LayerFile {
    let path = dir.join(name);
    let f = std::fs::File::create(&path).unwrap();
    if media_type.ends_with("gzip") {
        write_tar(flate2::write::GzEncoder::new(f, flate2::Compression::default()), items).finish().unwrap();
    } else if media_type.ends_with("zstd") {
        write_tar(zstd::stream::write::Encoder::new(f, 3).unwrap(), items).finish().unwrap();
    } else {
        write_tar(f, items).sync_all().unwrap();
    }
    LayerFile { path, media_type: media_type.to_string() }
}

// ---------------------------------------------------------------- this machine's Debian

/// This machine's os-release as layer items: `/etc/os-release` as it is here (a symlink to
/// `../usr/lib/os-release` on Debian 12) and the file it points to.
fn os_release_items() -> Vec<Item> {
    let etc = Path::new("/etc/os-release");
    let meta = std::fs::symlink_metadata(etc).expect("this machine has /etc/os-release");
    let real = std::fs::canonicalize(etc).unwrap();
    let data = std::fs::read(&real).unwrap();
    let mut items = vec![Item::Dir("etc".into()), Item::Dir("usr".into()), Item::Dir("usr/lib".into())];
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(etc).unwrap().to_string_lossy().into_owned();
        items.push(Item::Symlink("etc/os-release".into(), target));
        items.push(Item::File(real.to_string_lossy().trim_start_matches('/').to_string(), data));
    } else {
        items.push(Item::File("etc/os-release".into(), data));
    }
    items
}

fn dpkg_dirs() -> Vec<Item> {
    ["var", "var/lib", "var/lib/dpkg"].iter().map(|d| Item::Dir(d.to_string())).collect()
}

/// `ID` and `VERSION_ID` as a POSIX shell reads this machine's os-release.
fn machine_distro() -> (String, String) {
    let out = Command::new("sh")
        .args(["-c", ". /etc/os-release; printf '%s\\n%s\\n' \"$ID\" \"$VERSION_ID\""])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    (lines.next().unwrap().to_string(), lines.next().unwrap_or_default().to_string())
}

/// One installed package as `dpkg-query` reports it.
#[derive(Debug)]
struct Installed {
    arch: String,
    version: String,
    source: String,
    source_version: String,
    depends: String,
}

/// Every package dpkg considers installed here, by name:arch.
fn dpkg_query() -> BTreeMap<(String, String), Installed> {
    let out = Command::new("dpkg-query")
        .args([
            "-W",
            "-f",
            "${db:Status-Status}\t${Package}\t${Architecture}\t${Version}\t${source:Package}\t${source:Version}\t${Pre-Depends}, ${Depends}\n",
        ])
        .output()
        .expect("run dpkg-query (this test needs a Debian-based machine)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut map = BTreeMap::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if f[0] != "installed" {
            continue;
        }
        map.insert(
            (f[1].to_string(), f[2].to_string()),
            Installed {
                arch: f[2].into(),
                version: f[3].into(),
                source: f[4].into(),
                source_version: f[5].into(),
                depends: f[6].into(),
            },
        );
    }
    assert!(!map.is_empty(), "dpkg-query lists no installed package");
    map
}

/// The purl-spec encoding of a Debian package name or version (their characters are
/// `[A-Za-z0-9.+~:-]`).
fn enc(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

fn expected_deb_purl(id: &str, version_id: &str, name: &str, i: &Installed) -> String {
    let distro = if version_id.is_empty() { id.to_string() } else { format!("{id}-{version_id}") };
    format!("pkg:deb/{id}/{}@{}?arch={}&distro={distro}", enc(name), enc(&i.version), i.arch)
}

fn debian_base(dir: &Path, name: &str) -> LayerFile {
    let mut items = os_release_items();
    items.extend(dpkg_dirs());
    items.push(file("var/lib/dpkg/status", std::fs::read("/var/lib/dpkg/status").unwrap()));
    layer(dir, name, OCI_GZIP, &items)
}

/// The status file's stanzas, as written.
fn stanzas(text: &str) -> Vec<&str> {
    text.split("\n\n").filter(|s| !s.trim().is_empty()).collect()
}

fn stanza_field<'a>(stanza: &'a str, field: &str) -> Option<&'a str> {
    stanza.lines().find_map(|l| l.strip_prefix(field)?.strip_prefix(':')).map(str::trim)
}

fn by_purl(os: &OsInventory) -> BTreeMap<&str, &sbom::Package> {
    os.packages.iter().map(|p| (p.purl.as_str(), p)).collect()
}

#[test]
fn debian_base_lists_what_dpkg_lists_with_spec_purls() {
    let dir = tempfile::tempdir().unwrap();
    let base = debian_base(dir.path(), "base.tar.gz");
    let os = sbom::os_packages(std::slice::from_ref(&base)).unwrap();

    let (id, version_id) = machine_distro();
    let distro = os.distro.as_ref().expect("os-release read through the /etc/os-release symlink");
    assert_eq!(distro.id, id);
    assert_eq!(distro.version_id.as_deref().unwrap_or_default(), version_id);
    assert!(distro.pretty_name.is_some());

    let installed = dpkg_query();
    assert_eq!(os.packages.len(), installed.len(), "one package per installed dpkg package");
    let expected: BTreeSet<String> =
        installed.iter().map(|((name, _), i)| expected_deb_purl(&id, &version_id, name, i)).collect();
    let got: BTreeSet<String> = os.packages.iter().map(|p| p.purl.clone()).collect();
    assert_eq!(got.difference(&expected).collect::<Vec<_>>(), Vec::<&String>::new(), "read but not installed");
    assert_eq!(expected.difference(&got).collect::<Vec<_>>(), Vec::<&String>::new(), "installed but not read");
    let sorted: Vec<&str> = os.packages.iter().map(|p| p.purl.as_str()).collect();
    assert!(sorted.windows(2).all(|w| w[0] < w[1]), "sorted by purl, unique");

    let index = by_purl(&os);
    for ((name, _), i) in &installed {
        let p = index[expected_deb_purl(&id, &version_id, name, i).as_str()];
        assert_eq!((p.ecosystem, p.role), (Ecosystem::Deb, Role::Dependency));
        assert_eq!((p.name.as_str(), p.version.as_str()), (name.as_str(), i.version.as_str()));
        assert_eq!(p.lockfiles.iter().collect::<Vec<_>>(), [sbom::DPKG_STATUS]);
        assert_eq!(p.license, None, "dpkg records no licence");
        let source = p.properties.get(sbom::DEB_SOURCE_PROPERTY).map(String::as_str).unwrap_or(name);
        assert_eq!(source, i.source, "source package of {name}");
        let source_version = p.properties.get(sbom::DEB_SOURCE_VERSION_PROPERTY).unwrap_or(&p.version);
        assert_eq!(*source_version, i.source_version, "source version of {name}");
    }

    // Known packages, their purls built here from dpkg-query's answers.
    for name in ["bash", "coreutils"] {
        let (_, i) = installed.iter().find(|((n, _), _)| n == name).unwrap_or_else(|| panic!("{name} is installed"));
        let purl = expected_deb_purl(&id, &version_id, name, i);
        assert!(purl.starts_with(&format!("pkg:deb/debian/{name}@")), "{purl}");
        assert!(purl.ends_with("&distro=debian-12"), "{purl}");
        let p = index[purl.as_str()];
        // Every dependency whose first alternative is installed is an edge.
        for group in i.depends.split(',') {
            let first = group.split('|').next().unwrap().trim();
            let dep = first.split([' ', '(', ':']).next().unwrap();
            if dep.is_empty() {
                continue;
            }
            let target = installed.iter().find(|((n, a), _)| n == dep && (*a == i.arch || a == "all"));
            if let Some(((n, _), t)) = target {
                let edge = expected_deb_purl(&id, &version_id, n, t);
                assert!(p.dependencies.contains(&edge), "{name} → {dep}: {edge} not in {:?}", p.dependencies);
            }
        }
        assert!(!p.dependencies.is_empty(), "{name} depends on something");
    }
    // Epochs and `+` are encoded wherever they occur on this machine.
    for p in &os.packages {
        let v = p.purl.split('@').nth(1).unwrap().split('?').next().unwrap();
        assert!(!v.contains(':') && !v.contains('+'), "{}", p.purl);
    }
}

#[test]
fn upper_layers_replace_and_white_out_the_dpkg_database() {
    let dir = tempfile::tempdir().unwrap();
    let base = debian_base(dir.path(), "base.tar.gz");
    let full = sbom::os_packages(std::slice::from_ref(&base)).unwrap();
    let (id, version_id) = machine_distro();

    // A second layer (Docker's media type) replaces the status file with one package less,
    // as `dpkg --purge` in a Dockerfile would.
    let status = std::fs::read_to_string("/var/lib/dpkg/status").unwrap();
    let installed = dpkg_query();
    let all = stanzas(&status);
    let victim_at = all
        .iter()
        .position(|s| {
            let name = stanza_field(s, "Package").unwrap();
            stanza_field(s, "Status") == Some("install ok installed") && !["bash", "coreutils"].contains(&name)
        })
        .expect("an installed package to remove");
    let victim = all[victim_at];
    let victim_name = stanza_field(victim, "Package").unwrap();
    let victim_arch = stanza_field(victim, "Architecture").unwrap();
    let victim_purl = expected_deb_purl(
        &id,
        &version_id,
        victim_name,
        &installed[&(victim_name.to_string(), victim_arch.to_string())],
    );
    let mut without: String =
        all.iter().enumerate().filter(|(i, _)| *i != victim_at).map(|(_, s)| format!("{s}\n\n")).collect();
    without.pop();
    let mut items = dpkg_dirs();
    items.push(file("var/lib/dpkg/status", without.clone()));
    let purge = layer(dir.path(), "purge.tar.gz", DOCKER_GZIP, &items);
    let os = sbom::os_packages(&[base.clone(), purge.clone()]).unwrap();
    assert_eq!(os.packages.len(), full.packages.len() - 1);
    assert!(by_purl(&full).contains_key(victim_purl.as_str()));
    assert!(!by_purl(&os).contains_key(victim_purl.as_str()), "{victim_purl} was purged in the upper layer");
    for p in &os.packages {
        assert!(!p.dependencies.contains(&victim_purl), "no edge to a package the image no longer has");
    }

    // A whiteout of the status file: no dpkg database left, the distro still known.
    let mut items = dpkg_dirs();
    items.push(Item::Whiteout("var/lib/dpkg/status".into()));
    let gone = layer(dir.path(), "gone.tar", OCI_TAR, &items);
    let os = sbom::os_packages(&[base.clone(), gone.clone()]).unwrap();
    assert!(os.packages.is_empty());
    assert!(os.distro.is_some());
    let inv = os.into_inventory();
    assert!(inv.notes.iter().any(|n| n.contains("no OS package database")), "{:?}", inv.notes);

    // A whiteout hides only lower layers: the same layer's new status file stays.
    let mut items = dpkg_dirs();
    items.push(file("var/lib/dpkg/status", without));
    items.push(Item::Whiteout("var/lib/dpkg/status".into()));
    let both = layer(dir.path(), "both.tar.zst", OCI_ZSTD, &items);
    let os = sbom::os_packages(&[base.clone(), both]).unwrap();
    assert_eq!(os.packages.len(), full.packages.len() - 1);
    // ...and a later layer's whiteout hides it again.
    let os = sbom::os_packages(&[base.clone(), purge, gone]).unwrap();
    assert!(os.packages.is_empty());

    // An opaque /usr/lib hides the file /etc/os-release points to: no distro, purls without
    // vendor or distro.
    let opaque =
        layer(dir.path(), "opaque.tar.gz", OCI_GZIP, &[Item::Dir("usr/lib".into()), Item::Opaque("usr/lib".into())]);
    let os = sbom::os_packages(&[base, opaque]).unwrap();
    assert_eq!(os.distro, None);
    assert_eq!(os.packages.len(), full.packages.len());
    let bash = os.packages.iter().find(|p| p.name == "bash").unwrap();
    assert!(bash.purl.starts_with("pkg:deb/bash@") && !bash.purl.contains("distro="), "{}", bash.purl);
    assert!(os.into_inventory().notes.iter().any(|n| n.contains("no os-release")));
}

#[test]
fn distroless_status_d_one_stanza_per_file() {
    let dir = tempfile::tempdir().unwrap();
    let status = std::fs::read_to_string("/var/lib/dpkg/status").unwrap();
    let installed = dpkg_query();
    let (id, version_id) = machine_distro();
    // What distroless ships: a few real control stanzas, one per file, no `Status` field,
    // next to the packages' md5sums.
    let wanted = ["base-files", "libc6", "tzdata", "netbase", "libssl3", "ca-certificates"];
    let chosen: Vec<&str> = stanzas(&status)
        .into_iter()
        .filter(|s| wanted.contains(&stanza_field(s, "Package").unwrap()))
        .filter(|s| stanza_field(s, "Status") == Some("install ok installed"))
        .collect();
    assert!(chosen.len() >= 3, "this machine has base-files, libc6 and some of {wanted:?}");
    let mut items = os_release_items();
    items.extend(dpkg_dirs());
    items.push(Item::Dir("var/lib/dpkg/status.d".into()));
    let mut names = Vec::new();
    for s in &chosen {
        let name = stanza_field(s, "Package").unwrap();
        names.push(name.to_string());
        let without_status: String =
            s.lines().filter(|l| !l.starts_with("Status:")).map(|l| format!("{l}\n")).collect();
        items.push(file(&format!("var/lib/dpkg/status.d/{name}"), without_status));
        let arch = stanza_field(s, "Architecture").unwrap();
        let md5 = std::fs::read(format!("/var/lib/dpkg/info/{name}.md5sums"))
            .or_else(|_| std::fs::read(format!("/var/lib/dpkg/info/{name}:{arch}.md5sums")))
            .unwrap_or_else(|_| b"d41d8cd98f00b204e9800998ecf8427e  usr/share/doc/empty\n".to_vec());
        items.push(file(&format!("var/lib/dpkg/status.d/{name}.md5sums"), md5));
    }
    let base = layer(dir.path(), "distroless.tar.gz", OCI_GZIP, &items);
    let os = sbom::os_packages(std::slice::from_ref(&base)).unwrap();
    let got: BTreeSet<&str> = os.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(got, names.iter().map(String::as_str).collect::<BTreeSet<_>>());
    for p in &os.packages {
        let arch = p.purl.split("arch=").nth(1).unwrap().split('&').next().unwrap();
        let i = &installed[&(p.name.clone(), arch.to_string())];
        assert_eq!(p.purl, expected_deb_purl(&id, &version_id, &p.name, i));
        assert_eq!(p.lockfiles.iter().collect::<Vec<_>>(), [&format!("{}/{}", sbom::DPKG_STATUS_D, p.name)]);
    }
    let libc = os.packages.iter().find(|p| p.name == "libc6").unwrap();
    assert_eq!(libc.properties.get(sbom::DEB_SOURCE_PROPERTY).map(String::as_str), Some("glibc"));
    assert_eq!(os.databases().len(), names.len());

    // A whiteout of one package's file removes that package.
    let dropped = names.iter().find(|n| *n != "libc6").unwrap().clone();
    let wh = layer(dir.path(), "wh.tar", OCI_TAR, &[Item::Whiteout(format!("var/lib/dpkg/status.d/{dropped}"))]);
    let os = sbom::os_packages(&[base.clone(), wh]).unwrap();
    assert_eq!(os.packages.len(), names.len() - 1);
    assert!(os.packages.iter().all(|p| p.name != dropped));

    // An opaque status.d with one new file: only that file counts.
    let libc_stanza = chosen.iter().find(|s| stanza_field(s, "Package") == Some("libc6")).unwrap();
    let opq = layer(
        dir.path(),
        "opq.tar.zst",
        OCI_ZSTD,
        &[
            Item::Dir("var/lib/dpkg/status.d".into()),
            Item::Opaque("var/lib/dpkg/status.d".into()),
            file("var/lib/dpkg/status.d/libc6", libc_stanza.to_string()),
        ],
    );
    let os = sbom::os_packages(&[base, opq]).unwrap();
    assert_eq!(os.packages.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["libc6"]);
}

// ---------------------------------------------------------------- Alpine

/// The fixture's records as plain `field → value` maps (first value of each field).
fn apk_fixture() -> (Vec<u8>, Vec<u8>, Vec<BTreeMap<char, String>>) {
    let root = fixtures().join("os/alpine");
    let installed = std::fs::read(root.join("lib/apk/db/installed")).unwrap();
    let os_release = std::fs::read(root.join("etc/os-release")).unwrap();
    let records = String::from_utf8(installed.clone())
        .unwrap()
        .split("\n\n")
        .filter(|r| !r.trim().is_empty())
        .map(|r| {
            let mut m = BTreeMap::new();
            for l in r.lines() {
                let (k, v) = l.split_once(':').unwrap();
                m.entry(k.chars().next().unwrap()).or_insert_with(|| v.to_string());
            }
            m
        })
        .collect();
    (os_release, installed, records)
}

#[test]
fn alpine_base_in_a_zstd_layer() {
    let dir = tempfile::tempdir().unwrap();
    let (os_release, installed, records) = apk_fixture();
    let base = layer(
        dir.path(),
        "alpine.tar.zst",
        OCI_ZSTD,
        &[
            Item::Dir("etc".into()),
            file("etc/os-release", os_release.clone()),
            Item::Dir("lib".into()),
            Item::Dir("lib/apk".into()),
            Item::Dir("lib/apk/db".into()),
            file("lib/apk/db/installed", installed.clone()),
        ],
    );
    let os = sbom::os_packages(std::slice::from_ref(&base)).unwrap();
    let distro = os.distro.clone().unwrap();
    assert_eq!((distro.id.as_str(), distro.version_id.as_deref()), ("alpine", Some("3.19.1")));
    assert_eq!(distro.pretty_name.as_deref(), Some("Alpine Linux v3.19"));
    assert_eq!(os.packages.len(), records.len());
    let index = by_purl(&os);
    for r in &records {
        let purl = format!("pkg:apk/alpine/{}@{}?arch={}&distro=alpine-3.19.1", r[&'P'], r[&'V'], r[&'A']);
        let p = index.get(purl.as_str()).unwrap_or_else(|| panic!("{purl} in {:?}", index.keys()));
        assert_eq!(p.ecosystem, Ecosystem::Apk);
        assert_eq!(p.license.as_deref(), Some(r[&'L'].as_str()));
        assert_eq!(p.properties.get(sbom::APK_ORIGIN_PROPERTY), r.get(&'o'));
        assert_eq!(p.lockfiles.iter().collect::<Vec<_>>(), ["/lib/apk/db/installed"]);
    }
    let musl = "pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64&distro=alpine-3.19.1";
    assert!(index[&"pkg:apk/alpine/busybox@1.36.1-r15?arch=x86_64&distro=alpine-3.19.1"].dependencies.contains(musl));

    // The documents: licences normalised (`MPL-2.0 AND MIT` stays an expression).
    let inv = os.clone().into_inventory();
    let (spdx, cdx) = documents("alpine", &subject("alpine-app", "1.0.0"), &inv);
    let bundle = spdx["packages"].as_array().unwrap().iter().find(|p| p["name"] == "ca-certificates-bundle").unwrap();
    assert_eq!(bundle["licenseDeclared"], "MPL-2.0 AND MIT");
    let musl_c = cdx["components"].as_array().unwrap().iter().find(|c| c["purl"] == musl).unwrap();
    assert_eq!(musl_c["licenses"][0]["expression"], "MIT");

    // apk-tools 3 layout: `/lib` a link to `usr/lib`, the database under it.
    let merged = layer(
        dir.path(),
        "merged.tar.gz",
        OCI_GZIP,
        &[
            file("etc/os-release", os_release),
            Item::Symlink("lib".into(), "usr/lib".into()),
            Item::Dir("usr/lib/apk/db".into()),
            file("usr/lib/apk/db/installed", installed),
        ],
    );
    let os2 = sbom::os_packages(&[merged]).unwrap();
    assert_eq!(
        os2.packages.iter().map(|p| &p.purl).collect::<Vec<_>>(),
        os.packages.iter().map(|p| &p.purl).collect::<Vec<_>>()
    );
}

// ---------------------------------------------------------------- errors

#[test]
fn a_corrupt_layer_is_a_package_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = debian_base(dir.path(), "good.tar.gz");
    let bytes = std::fs::read(&good.path).unwrap();

    let check = |name: &str, data: &[u8], media_type: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, data).unwrap();
        let bad = LayerFile { path: path.clone(), media_type: media_type.to_string() };
        let err = sbom::os_packages(&[good.clone(), bad]).unwrap_err();
        assert_eq!(err.class, ErrorClass::Package, "{name}: {}", err.message);
        assert!(err.message.contains(&path.display().to_string()), "{name}: {}", err.message);
        err
    };
    // Not gzip at all.
    let noise: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    check("noise.tar.gz", &noise, OCI_GZIP);
    // Valid gzip of something that is not a tar archive.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&b"this is not a tar archive\n".repeat(100)).unwrap();
    check("text.tar.gz", &gz.finish().unwrap(), OCI_GZIP);
    // A real layer cut short.
    let err = check("cut.tar.gz", &bytes[..bytes.len() / 2], OCI_GZIP);
    assert!(err.message.contains("gzip"), "{}", err.message);
    // gzip bytes under the zstd media type.
    check("wrong.tar.zst", &bytes, OCI_ZSTD);
    // Not a layer media type.
    let err = check("config.json", b"{}", "application/vnd.oci.image.config.v1+json");
    assert!(err.message.contains("media type"), "{}", err.message);
}

// ---------------------------------------------------------------- the merged image SBOM

#[test]
fn image_sbom_merges_os_packages_and_the_binaries_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let base = debian_base(dir.path(), "base.tar.gz");
    let os = sbom::os_packages(&[base]).unwrap();
    let os_purls: BTreeSet<String> = os.packages.iter().map(|p| p.purl.clone()).collect();

    // The binaries' inventory: a real polyglot project's lockfiles (read only, no cargo run).
    let project = tempfile::tempdir().unwrap();
    copy_dir(&fixtures().join("sbom/polyglot"), project.path());
    let opts = CollectOptions { target: Some("x86_64-unknown-linux-gnu".into()), cargo: None, ..Default::default() };
    let binaries = sbom::collect(project.path(), &opts).unwrap();
    let bin_purls: BTreeSet<String> = binaries.packages.iter().map(|p| p.purl.clone()).collect();
    assert!(!binaries.is_empty());

    let inv = sbom::image_inventory(os.clone(), binaries.clone());
    assert_eq!(inv.len(), os_purls.len() + bin_purls.len());
    assert_eq!(inv.target.as_deref(), Some("x86_64-unknown-linux-gnu"));
    assert!(inv.lockfiles.contains(&sbom::DPKG_STATUS.to_string()));
    assert!(inv.lockfiles.contains(&"Cargo.lock".to_string()));
    assert!(inv.notes.iter().any(|n| n.contains("OS packages of the image's base")), "{:?}", inv.notes);
    assert_eq!(inv.own().count(), binaries.own().count());
    // Edges within each part survive the merge.
    for p in &os.packages {
        assert_eq!(inv.get(&p.purl).unwrap().dependencies, p.dependencies);
    }
    // The packages do not depend on the order of the parts.
    let reversed = Inventory::merge(inv.target.clone(), [binaries.clone(), os.clone().into_inventory()]);
    assert_eq!((&reversed.packages, &reversed.lockfiles), (&inv.packages, &inv.lockfiles));

    let (spdx, cdx) = documents("image", &subject("polyglot", "2.0.0"), &inv);
    let spdx_packages = spdx["packages"].as_array().unwrap();
    // The release plus every package but the one that is the release itself.
    assert_eq!(spdx_packages.len(), inv.len());
    let bash = os.packages.iter().find(|p| p.name == "bash").unwrap();
    let bash_spdx = spdx_packages
        .iter()
        .find(|p| p["externalRefs"].as_array().is_some_and(|r| r.iter().any(|r| r["referenceLocator"] == bash.purl)))
        .unwrap();
    assert_eq!(bash_spdx["licenseDeclared"], "NOASSERTION");
    assert_eq!(bash_spdx["versionInfo"], bash.version.as_str());
    assert!(bash_spdx["sourceInfo"].as_str().unwrap().contains("/var/lib/dpkg/status"));
    let bash_cdx = cdx["components"].as_array().unwrap().iter().find(|c| c["purl"] == bash.purl).unwrap();
    assert_eq!(bash_cdx["bom-ref"], bash.purl.as_str());
    assert_eq!(bash_cdx["type"], "library");
    // Every OS package is reachable from the described image: a dependency entry in CycloneDX
    // for each component, and SPDX relationships from the release.
    let refs: BTreeSet<&str> =
        cdx["dependencies"].as_array().unwrap().iter().map(|d| d["ref"].as_str().unwrap()).collect();
    for purl in &os_purls {
        assert!(refs.contains(purl.as_str()), "{purl}");
    }
    let described = spdx["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["spdxElementId"] == "SPDXRef-DOCUMENT" && r["relationshipType"] == "DESCRIBES");
    assert!(described);
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), &to).unwrap();
        }
    }
}
