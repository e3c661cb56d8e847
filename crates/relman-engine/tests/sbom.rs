//! SBOMs from real lockfile formats, checked by validators we did not write.
//!
//! Every fixture is copied to its own temp dir (tests run in parallel and `cargo` may write
//! there). Every document generated is validated by `pyspdxtools -i` (SPDX 2.3) or by
//! cyclonedx-python-lib's `JsonStrictValidator(SchemaVersion.V1_6)`, both from the repo's
//! `.venv` (installed by `scripts/setup-test-deps`); a missing validator fails the test.

mod validators;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use relman_engine::sbom::{
    self, license, CollectOptions, Ecosystem, HashAlg, Inventory, Package, ReleaseSubject, Role,
};
use relman_engine::ErrorClass;
use serde_json::Value;

const COMMIT: &str = "4f2c1d0e9b8a7f6e5d4c3b2a1908f7e6d5c4b3a2";
const SDE: i64 = 1_714_521_600; // 2024-05-01T00:00:00Z

/// A copy of `tests/fixtures/sbom/<name>` in a fresh temp dir.
fn fixture(name: &str) -> tempfile::TempDir {
    fn copy(src: &Path, dst: &Path) {
        std::fs::create_dir_all(dst).unwrap();
        for e in std::fs::read_dir(src).unwrap() {
            let e = e.unwrap();
            let to = dst.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                copy(&e.path(), &to);
            } else {
                std::fs::copy(e.path(), &to).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sbom").join(name), dir.path());
    dir
}

fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("cargo"))
}

fn opts(target: Option<&str>) -> CollectOptions {
    CollectOptions { target: target.map(str::to_string), cargo: Some(cargo()), ..Default::default() }
}

fn subject(name: &str) -> ReleaseSubject {
    ReleaseSubject {
        name: name.into(),
        version: "1.4.2".into(),
        commit: COMMIT.into(),
        repository: Some("https://github.com/acme/app".into()),
        source_date_epoch: SDE,
    }
}

/// Both documents: non-empty, reproducible, valid; every inventory purl is in both, and every
/// CycloneDX component has one.
fn documents(label: &str, subject: &ReleaseSubject, inv: &Inventory) -> (Value, Value) {
    assert!(!inv.is_empty(), "{label}: the package count must be > 0");
    let (spdx, cdx) = validators::documents(label, subject, inv);
    for c in cdx["components"].as_array().unwrap() {
        assert!(c["purl"].is_string(), "{label}: a CycloneDX component without a purl: {c}");
    }
    (spdx, cdx)
}

fn get<'a>(inv: &'a Inventory, purl: &str) -> &'a Package {
    inv.get(purl)
        .unwrap_or_else(|| panic!("{purl} not in {:?}", inv.packages.iter().map(|p| &p.purl).collect::<Vec<_>>()))
}

fn deps(p: &Package) -> Vec<&str> {
    p.dependencies.iter().map(String::as_str).collect()
}

fn names(inv: &Inventory) -> Vec<&str> {
    inv.packages.iter().map(|p| p.name.as_str()).collect()
}

/// The SPDX package with this purl.
fn spdx_package<'a>(doc: &'a Value, purl: &str) -> &'a Value {
    doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["externalRefs"].as_array().into_iter().flatten().any(|r| r["referenceLocator"] == purl))
        .unwrap_or_else(|| panic!("{purl} not in the SPDX document"))
}

fn spdx_id_of(doc: &Value, purl: &str) -> String {
    spdx_package(doc, purl)["SPDXID"].as_str().unwrap().to_string()
}

fn has_relationship(doc: &Value, a: &str, kind: &str, b: &str) -> bool {
    doc["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["spdxElementId"] == a && r["relationshipType"] == kind && r["relatedSpdxElement"] == b)
}

fn cdx_component<'a>(doc: &'a Value, purl: &str) -> &'a Value {
    doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["purl"] == purl)
        .unwrap_or_else(|| panic!("{purl} not a component"))
}

#[test]
fn cargo_dependencies_differ_by_target() {
    let dir = fixture("cargo-targets");
    let project = dir.path().join("project");
    // semver resolves from the local registry cache, which building this crate filled.
    let out = Command::new(cargo()).args(["generate-lockfile", "--offline"]).current_dir(&project).output().unwrap();
    assert!(out.status.success(), "cargo generate-lockfile: {}", String::from_utf8_lossy(&out.stderr));
    let lock: toml::Table = std::fs::read_to_string(project.join("Cargo.lock")).unwrap().parse().unwrap();
    let semver_lock =
        lock["package"].as_array().unwrap().iter().find(|p| p["name"].as_str() == Some("semver")).unwrap();
    let semver_purl = format!("pkg:cargo/semver@{}", semver_lock["version"].as_str().unwrap());

    let linux = sbom::collect(&project, &opts(Some("x86_64-unknown-linux-gnu"))).unwrap();
    assert!(linux.notes.is_empty(), "cargo metadata works offline here: {:?}", linux.notes);
    assert_eq!(
        names(&linux),
        ["app", "applib", "buildonly", "common", "semver", "unixonly"],
        "dev-only and Windows-only left out"
    );
    let windows = sbom::collect(&project, &opts(Some("x86_64-pc-windows-msvc"))).unwrap();
    assert_eq!(names(&windows), ["app", "applib", "buildonly", "common", "semver", "winonly"]);
    assert_eq!(linux.target.as_deref(), Some("x86_64-unknown-linux-gnu"));

    let app = get(&linux, "pkg:cargo/app@1.4.2");
    assert_eq!(app.role, Role::Own);
    assert_eq!(get(&linux, "pkg:cargo/applib@1.4.2").role, Role::Own);
    assert_eq!(get(&linux, "pkg:cargo/common@0.1.0").role, Role::Dependency, "a path dependency outside the workspace");
    assert_eq!(deps(app), {
        let mut d = vec![
            "pkg:cargo/applib@1.4.2",
            "pkg:cargo/buildonly@0.1.0",
            "pkg:cargo/common@0.1.0",
            &semver_purl,
            "pkg:cargo/unixonly@0.1.0",
        ];
        d.sort();
        d
    });
    let semver = get(&linux, &semver_purl);
    assert_eq!(semver.checksums.len(), 1);
    assert_eq!(semver.checksums[0].alg, HashAlg::Sha256);
    assert_eq!(semver.checksums[0].hex, semver_lock["checksum"].as_str().unwrap(), "the Cargo.lock checksum");
    assert_eq!(semver.license.as_deref(), Some("MIT OR Apache-2.0"), "read offline from the registry cache");
    assert!(semver.download_location.as_deref().unwrap().starts_with("https://crates.io/api/v1/crates/semver/"));
    assert_eq!(get(&linux, "pkg:cargo/unixonly@0.1.0").license.as_deref(), Some("MIT/Apache-2.0"));

    for (label, inv) in [("cargo-linux", &linux), ("cargo-windows", &windows)] {
        let (spdx, cdx) = documents(label, &subject("app"), inv);
        if label == "cargo-linux" {
            let unixonly = spdx_package(&spdx, "pkg:cargo/unixonly@0.1.0");
            assert_eq!(unixonly["licenseDeclared"], "MIT OR Apache-2.0", "Cargo's old `/` syntax, normalised");
        }
        // The release is the `app` package: it takes its purl and licence.
        let release = spdx_package(&spdx, "pkg:cargo/app@1.4.2");
        assert_eq!(release["SPDXID"], "SPDXRef-Release");
        assert_eq!(release["licenseDeclared"], "MIT OR Apache-2.0");
        assert_eq!(release["downloadLocation"], format!("git+https://github.com/acme/app@{COMMIT}"));
        assert!(has_relationship(&spdx, "SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Release"));
        assert!(has_relationship(&spdx, "SPDXRef-Release", "CONTAINS", &spdx_id_of(&spdx, "pkg:cargo/applib@1.4.2")));
        assert!(has_relationship(&spdx, "SPDXRef-Release", "DEPENDS_ON", &spdx_id_of(&spdx, &semver_purl)));
        assert!(has_relationship(
            &spdx,
            &spdx_id_of(&spdx, "pkg:cargo/applib@1.4.2"),
            "DEPENDS_ON",
            &spdx_id_of(&spdx, "pkg:cargo/common@0.1.0")
        ));
        let semver_spdx = spdx_package(&spdx, &semver_purl);
        assert_eq!(semver_spdx["checksums"][0]["algorithm"], "SHA256");
        assert_eq!(semver_spdx["licenseDeclared"], "MIT OR Apache-2.0");
        assert_eq!(cdx["metadata"]["component"]["purl"], "pkg:cargo/app@1.4.2");
        assert_eq!(cdx_component(&cdx, &semver_purl)["hashes"][0]["alg"], "SHA-256");
        let root_deps =
            cdx["dependencies"].as_array().unwrap().iter().find(|d| d["ref"] == "pkg:cargo/app@1.4.2").unwrap();
        assert!(root_deps["dependsOn"].as_array().unwrap().iter().any(|d| d == "pkg:cargo/applib@1.4.2"));
    }
}

#[test]
fn cargo_lock_is_listed_whole_with_a_note_when_cargo_metadata_cannot_run() {
    let dir = fixture("cargo-lock");
    let inv = sbom::collect(dir.path(), &opts(Some("x86_64-unknown-linux-gnu"))).unwrap();
    assert_eq!(inv.notes.len(), 1, "{:?}", inv.notes);
    assert!(inv.notes[0].contains("`Cargo.lock`") && inv.notes[0].contains("cargo metadata"), "{}", inv.notes[0]);
    assert!(inv.notes[0].contains("offline"), "the note gives cargo's reason: {}", inv.notes[0]);
    // Every target's packages, since they could not be told apart.
    assert_eq!(names(&inv), ["cfg-if", "forked", "libc", "tool", "windows-link", "windows-sys"]);
    assert_eq!(get(&inv, "pkg:cargo/tool@0.3.0").role, Role::Own, "the member, from `cargo metadata --no-deps`");
    assert_eq!(
        get(&inv, "pkg:cargo/libc@0.2.191").checksums[0].hex,
        "65cd87c9a6d60536580b316ad985726104730a5151c99845f2490428ef91240a"
    );
    let forked_purl = "pkg:cargo/forked@0.2.0?vcs_url=git%2Bhttps://github.com/acme/forked%409f3c1e2d4b5a69788766554433221100ffeeddcc";
    let forked = get(&inv, forked_purl);
    assert!(forked.checksums.is_empty(), "git sources have no checksum");
    assert_eq!(
        forked.download_location.as_deref(),
        Some("git+https://github.com/acme/forked@9f3c1e2d4b5a69788766554433221100ffeeddcc")
    );
    assert_eq!(deps(get(&inv, "pkg:cargo/windows-sys@0.61.2")), ["pkg:cargo/windows-link@0.2.1"]);
    assert!(inv.packages.iter().all(|p| p.license.is_none()), "Cargo.lock has no licences; none is guessed");

    let (spdx, cdx) = documents("cargo-fallback", &subject("tool"), &inv);
    assert_eq!(spdx_package(&spdx, "pkg:cargo/libc@0.2.191")["licenseDeclared"], "NOASSERTION");
    assert!(
        spdx["creationInfo"]["comment"].as_str().unwrap().contains("cargo metadata"),
        "the note is in the document"
    );
    let props = cdx["metadata"]["properties"].as_array().unwrap();
    assert!(props.iter().any(|p| p["name"] == "relman:note"));
    assert!(props.iter().any(|p| p["name"] == "relman:target" && p["value"] == "x86_64-unknown-linux-gnu"));

    // Without a cargo program: the lockfile alone, and a note that the target was not applied.
    let no_cargo = CollectOptions { cargo: None, ..opts(Some("aarch64-apple-darwin")) };
    let inv = sbom::collect(dir.path(), &no_cargo).unwrap();
    assert_eq!(inv.len(), 6);
    assert!(inv.notes[0].contains("aarch64-apple-darwin"), "{:?}", inv.notes);
    assert_eq!(get(&inv, "pkg:cargo/tool@0.3.0").role, Role::Own);
}

#[test]
fn npm_lockfile_v3_scopes_nesting_workspaces_and_licences() {
    let dir = fixture("npm-v3");
    let inv = sbom::collect(dir.path(), &opts(None)).unwrap();
    assert_eq!(inv.lockfiles, ["package-lock.json"]);
    let purls: Vec<&str> = inv.packages.iter().map(|p| p.purl.as_str()).collect();
    assert_eq!(
        purls,
        [
            "pkg:npm/%40acme/ui@0.3.0",
            "pkg:npm/%40babel/runtime@7.24.5",
            "pkg:npm/js-tokens@4.0.0",
            "pkg:npm/js-tokens@8.0.3",
            "pkg:npm/loose-envify@1.4.0",
            "pkg:npm/old-thing@1.0.0",
            "pkg:npm/react@18.3.1",
            "pkg:npm/regenerator-runtime@0.14.1",
            "pkg:npm/typescript@5.4.5",
            "pkg:npm/web-app@1.4.2",
        ]
    );
    assert_eq!(get(&inv, "pkg:npm/%40acme/ui@0.3.0").role, Role::Own, "a workspace member");
    assert_eq!(get(&inv, "pkg:npm/web-app@1.4.2").role, Role::Own);
    // Node's resolution: the member's nested js-tokens shadows the hoisted one.
    assert_eq!(deps(get(&inv, "pkg:npm/%40acme/ui@0.3.0")), ["pkg:npm/js-tokens@8.0.3", "pkg:npm/react@18.3.1"]);
    assert_eq!(deps(get(&inv, "pkg:npm/loose-envify@1.4.0")), ["pkg:npm/js-tokens@4.0.0"]);
    assert!(
        deps(get(&inv, "pkg:npm/web-app@1.4.2")).contains(&"pkg:npm/%40acme/ui@0.3.0"),
        "edges follow `link` entries"
    );
    let react = get(&inv, "pkg:npm/react@18.3.1");
    assert_eq!(react.checksums[0].alg, HashAlg::Sha512);
    assert_eq!(
        react.checksums[0].hex,
        "dbed5ddf5d86bff17491adcbf966a7c67bcf43ddfe9be8f61cb396939e2bcd693f9403f129c8a6695482fa446697593e96a0046a571cd2d4227b8fd6b9bcff66"
    );
    assert_eq!(react.download_location.as_deref(), Some("https://registry.npmjs.org/react/-/react-18.3.1.tgz"));
    let old = get(&inv, "pkg:npm/old-thing@1.0.0");
    assert_eq!(
        (old.checksums[0].alg, old.checksums[0].hex.as_str()),
        (HashAlg::Sha1, "9d58bff3defbfb6c5569a5437b71f6e11d41a780")
    );
    assert_eq!(
        get(&inv, "pkg:npm/typescript@5.4.5").license.as_deref(),
        Some("Apache-2.0"),
        "licences from the lockfile"
    );

    let (spdx, cdx) = documents("npm-v3", &subject("web-app"), &inv);
    assert_eq!(spdx_package(&spdx, "pkg:npm/typescript@5.4.5")["licenseDeclared"], "Apache-2.0");
    assert_eq!(spdx_package(&spdx, "pkg:npm/react@18.3.1")["checksums"][0]["algorithm"], "SHA512");
    let old_licence = spdx_package(&spdx, "pkg:npm/old-thing@1.0.0")["licenseDeclared"].as_str().unwrap();
    assert_eq!(old_licence, "LicenseRef-SEE-LICENSE-IN-LICENSE.txt");
    let extracted = spdx["hasExtractedLicensingInfos"].as_array().unwrap();
    assert!(extracted.iter().any(|e| e["licenseId"] == old_licence
        && e["extractedText"].as_str().unwrap().contains("SEE LICENSE IN LICENSE.txt")));
    let babel = cdx_component(&cdx, "pkg:npm/%40babel/runtime@7.24.5");
    assert_eq!((babel["group"].as_str(), babel["name"].as_str()), (Some("@babel"), Some("runtime")));
    assert_eq!(babel["licenses"][0]["expression"], "MIT");
    assert_eq!(
        cdx_component(&cdx, "pkg:npm/old-thing@1.0.0")["licenses"][0]["license"]["name"],
        "SEE LICENSE IN LICENSE.txt"
    );
    assert_eq!(cdx_component(&cdx, "pkg:npm/react@18.3.1")["hashes"][0]["alg"], "SHA-512");
}

#[test]
fn npm_lockfile_v1_nested_dependencies() {
    let dir = fixture("npm-v1");
    let inv = sbom::collect(dir.path(), &opts(None)).unwrap();
    let purls: Vec<&str> = inv.packages.iter().map(|p| p.purl.as_str()).collect();
    assert_eq!(
        purls,
        [
            "pkg:npm/%40types/node@20.11.5",
            "pkg:npm/debug@2.6.9",
            "pkg:npm/legacy-site@0.9.0",
            "pkg:npm/ms@2.0.0",
            "pkg:npm/ms@2.1.3"
        ]
    );
    assert_eq!(deps(get(&inv, "pkg:npm/debug@2.6.9")), ["pkg:npm/ms@2.0.0"], "the nested ms, not the hoisted one");
    assert_eq!(get(&inv, "pkg:npm/ms@2.0.0").checksums[0].alg, HashAlg::Sha1);
    assert_eq!(get(&inv, "pkg:npm/legacy-site@0.9.0").role, Role::Own);
    documents("npm-v1", &subject("legacy-site"), &inv);
}

#[test]
fn uv_lock_distributions_edges_and_forks() {
    let dir = fixture("uv");
    let inv = sbom::collect(dir.path(), &opts(None)).unwrap();
    assert_eq!(inv.len(), 14);
    let app = get(&inv, "pkg:pypi/app@1.4.2");
    assert_eq!(app.role, Role::Own, "the editable project");
    assert_eq!(
        deps(app),
        [
            "pkg:pypi/anyio@4.4.0",
            "pkg:pypi/helper@1.0.0",
            "pkg:pypi/numpy@1.26.4",
            "pkg:pypi/numpy@2.0.0",
            "pkg:pypi/pytest@8.2.0",
            "pkg:pypi/typing-extensions@4.11.0",
            "pkg:pypi/uvloop@0.19.0",
        ],
        "both numpy forks, the optional and the dev group"
    );
    let anyio = get(&inv, "pkg:pypi/anyio@4.4.0");
    assert_eq!(
        anyio.checksums[0].hex, "74618be536889d15e63b4115fcb70769564caf8a9adba59dd72534062ecca362",
        "the sdist's sha256"
    );
    assert!(anyio.download_location.as_deref().unwrap().ends_with("/anyio-4.4.0.tar.gz"));
    assert_eq!(anyio.distributions.len(), 2);
    let numpy2 = get(&inv, "pkg:pypi/numpy@2.0.0");
    assert_eq!(
        numpy2.checksums[0].hex, "10a9ba571a8e47aa323c87d75c848292ea6b909838c3eaa898ea6c9b1dfa65e5",
        "the only wheel's sha256"
    );
    assert_eq!(get(&inv, "pkg:pypi/numpy@1.26.4").distributions.len(), 3);
    let helper = get(&inv, "pkg:pypi/helper@1.0.0");
    assert!(helper.checksums.is_empty());
    assert_eq!(
        helper.download_location.as_deref(),
        Some("git+https://github.com/acme/helper@5f1c0d9e8b7a6f5e4d3c2b1a09f8e7d6c5b4a392")
    );
    assert!(inv.packages.iter().all(|p| p.license.is_none()), "uv.lock records no licences");

    let (spdx, cdx) = documents("uv", &subject("app"), &inv);
    assert_eq!(spdx_package(&spdx, "pkg:pypi/app@1.4.2")["SPDXID"], "SPDXRef-Release");
    let numpy = cdx_component(&cdx, "pkg:pypi/numpy@1.26.4");
    let refs = numpy["externalReferences"].as_array().unwrap();
    assert_eq!(refs.len(), 3, "sdist and both wheels: {refs:?}");
    assert!(refs.iter().all(|r| r["type"] == "distribution" && r["hashes"][0]["alg"] == "SHA-256"));
}

#[test]
fn poetry_lock_files_edges_and_git_sources() {
    let dir = fixture("poetry");
    let inv = sbom::collect(dir.path(), &opts(None)).unwrap();
    assert_eq!(
        inv.packages.iter().map(|p| p.purl.as_str()).collect::<Vec<_>>(),
        [
            "pkg:pypi/certifi@2024.2.2",
            "pkg:pypi/charset-normalizer@3.3.2",
            "pkg:pypi/helper@1.0.0",
            "pkg:pypi/idna@3.7",
            "pkg:pypi/requests@2.31.0",
            "pkg:pypi/setuptools@69.5.1",
            "pkg:pypi/urllib3@2.2.1",
            "pkg:pypi/zope-interface@6.3",
        ]
    );
    assert_eq!(
        deps(get(&inv, "pkg:pypi/requests@2.31.0")),
        [
            "pkg:pypi/certifi@2024.2.2",
            "pkg:pypi/charset-normalizer@3.3.2",
            "pkg:pypi/idna@3.7",
            "pkg:pypi/urllib3@2.2.1"
        ]
    );
    assert_eq!(
        get(&inv, "pkg:pypi/requests@2.31.0").checksums[0].hex,
        "a455365429e6f3fd19b1ca79671da8612354e80640ca15b531c1372adb167005"
    );
    assert_eq!(
        get(&inv, "pkg:pypi/setuptools@69.5.1").checksums[0].hex,
        "4a90b8d25fc8f4e0c751628d0d0f2a4eaac62b4d242f5f1885b18f0b3ed9c2cf"
    );
    assert_eq!(
        get(&inv, "pkg:pypi/helper@1.0.0").download_location.as_deref(),
        Some("git+https://github.com/acme/helper.git@5f1c0d9e8b7a6f5e4d3c2b1a09f8e7d6c5b4a392")
    );
    assert_eq!(
        get(&inv, "pkg:pypi/zope-interface@6.3").name,
        "zope.interface",
        "the name as written, the purl normalised"
    );

    let (spdx, cdx) = documents("poetry", &subject("docs-site"), &inv);
    // The project itself is not in poetry.lock: the release depends on what nothing else does.
    let direct: BTreeSet<String> = spdx["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["spdxElementId"] == "SPDXRef-Release" && r["relationshipType"] == "DEPENDS_ON")
        .map(|r| r["relatedSpdxElement"].as_str().unwrap().to_string())
        .collect();
    let expected: BTreeSet<String> =
        ["pkg:pypi/helper@1.0.0", "pkg:pypi/requests@2.31.0", "pkg:pypi/zope-interface@6.3"]
            .iter()
            .map(|p| spdx_id_of(&spdx, p))
            .collect();
    assert_eq!(direct, expected);
    assert!(spdx_package(&spdx, "pkg:pypi/requests@2.31.0")["comment"]
        .as_str()
        .unwrap()
        .contains("requests-2.31.0-py3-none-any.whl"));
    let props = cdx_component(&cdx, "pkg:pypi/requests@2.31.0")["properties"].as_array().unwrap();
    assert_eq!(
        props.iter().filter(|p| p["name"] == "relman:python:distribution").count(),
        2,
        "poetry gives files without URLs"
    );
}

#[test]
fn go_sum_modules_h1_and_gomod_only_lines() {
    let dir = fixture("go");
    let inv = sbom::collect(dir.path(), &opts(None)).unwrap();
    assert_eq!(
        inv.packages.iter().map(|p| p.purl.as_str()).collect::<Vec<_>>(),
        [
            "pkg:golang/github.com/burntsushi/toml@v1.3.2",
            "pkg:golang/github.com/docker/docker@v24.0.7%2Bincompatible",
            "pkg:golang/golang.org/x/sys@v0.20.0",
            "pkg:golang/golang.org/x/text@v0.14.0",
            "pkg:golang/gopkg.in/yaml.v3@v3.0.1",
        ],
        "tree and go.mod lines of one version are one package; go.mod-only versions are not built"
    );
    assert_eq!(inv.notes.len(), 1);
    assert!(inv.notes[0].contains("`go.sum`: 2 module version(s)"), "{}", inv.notes[0]);
    let toml = get(&inv, "pkg:golang/github.com/burntsushi/toml@v1.3.2");
    assert_eq!(toml.name, "github.com/BurntSushi/toml");
    assert_eq!(toml.properties[sbom::GO_SUM_H1_PROPERTY], "h1:AczMIuUHxSR0hRDEKtoZDl7N2l0fz05lcIkCIEvW/sA=");
    assert!(toml.checksums.is_empty(), "h1 is a dirhash, not a file checksum");
    assert_eq!(toml.ecosystem, Ecosystem::Golang);

    let (spdx, cdx) = documents("go", &subject("app"), &inv);
    let p = spdx_package(&spdx, "pkg:golang/github.com/burntsushi/toml@v1.3.2");
    assert!(p.get("checksums").is_none());
    assert!(p["comment"].as_str().unwrap().contains("h1:AczMIuUHxSR0hRDEKtoZDl7N2l0fz05lcIkCIEvW/sA="));
    assert_eq!(p["downloadLocation"], "https://proxy.golang.org/github.com/!burnt!sushi/toml/@v/v1.3.2.zip");
    let c = cdx_component(&cdx, "pkg:golang/github.com/burntsushi/toml@v1.3.2");
    assert!(c.get("hashes").is_none());
    assert!(c["properties"].as_array().unwrap().iter().any(|p| p["name"] == "relman:go.sum:h1"));
}

#[test]
fn lockfiles_are_found_in_workspace_members() {
    let dir = fixture("polyglot");
    let inv = sbom::collect(dir.path(), &opts(Some("x86_64-unknown-linux-gnu"))).unwrap();
    assert_eq!(inv.lockfiles, ["Cargo.lock", "crates/pybind/uv.lock", "package-lock.json", "tools/gen/go.sum"]);
    assert!(inv.notes.is_empty(), "{:?}", inv.notes);
    let own: Vec<&str> = inv.own().map(|p| p.purl.as_str()).collect();
    assert_eq!(
        own,
        [
            "pkg:cargo/polyglot-py@2.0.0",
            "pkg:cargo/polyglot@2.0.0",
            "pkg:npm/polyglot-ui@2.0.0",
            "pkg:pypi/polyglot@2.0.0"
        ]
    );
    let third: Vec<&str> = inv.dependencies().map(|p| p.purl.as_str()).collect();
    assert_eq!(third, ["pkg:golang/github.com/spf13/pflag@v1.0.5", "pkg:npm/ms@2.1.3", "pkg:pypi/attrs@23.2.0"]);
    assert_eq!(get(&inv, "pkg:pypi/attrs@23.2.0").lockfiles.iter().collect::<Vec<_>>(), ["crates/pybind/uv.lock"]);
    let mut s = subject("polyglot");
    s.version = "2.0.0".into();
    documents("polyglot", &s, &inv);

    // A lockfile outside every workspace is read when named.
    let with_docs = CollectOptions { extra_lockfiles: vec!["./docs/poetry.lock".into()], ..opts(None) };
    let inv = sbom::collect(dir.path(), &with_docs).unwrap();
    assert!(inv.lockfiles.contains(&"docs/poetry.lock".to_string()));
    assert_eq!(get(&inv, "pkg:pypi/mkdocs@1.6.0").checksums.len(), 1);
}

#[test]
fn documents_are_reproducible_and_distinct_per_release_and_target() {
    let dir = fixture("npm-v3");
    let s = subject("web-app");
    let a = sbom::collect(dir.path(), &opts(None)).unwrap();
    let b = sbom::collect(dir.path(), &opts(None)).unwrap();
    assert_eq!(sbom::spdx_json(&s, &a), sbom::spdx_json(&s, &b), "same input, same bytes");
    assert_eq!(sbom::cyclonedx_json(&s, &a), sbom::cyclonedx_json(&s, &b));
    let spdx: Value = serde_json::from_str(&sbom::spdx_json(&s, &a)).unwrap();
    let cdx: Value = serde_json::from_str(&sbom::cyclonedx_json(&s, &a)).unwrap();
    assert_eq!(spdx["creationInfo"]["created"], "2024-05-01T00:00:00Z", "from SOURCE_DATE_EPOCH");
    assert_eq!(cdx["metadata"]["timestamp"], "2024-05-01T00:00:00Z");
    assert_eq!(cdx["version"], 1);
    let serial = cdx["serialNumber"].as_str().unwrap();
    assert!(serial.starts_with("urn:uuid:") && serial.len() == "urn:uuid:".len() + 36, "{serial}");

    let ns = |s: &ReleaseSubject, inv: &Inventory| -> (String, String) {
        let spdx: Value = serde_json::from_str(&sbom::spdx_json(s, inv)).unwrap();
        let cdx: Value = serde_json::from_str(&sbom::cyclonedx_json(s, inv)).unwrap();
        (spdx["documentNamespace"].as_str().unwrap().to_string(), cdx["serialNumber"].as_str().unwrap().to_string())
    };
    let base = ns(&s, &a);
    let other_commit = ReleaseSubject { commit: "0".repeat(40), ..s.clone() };
    let other_version = ReleaseSubject { version: "1.4.3".into(), ..s.clone() };
    let mut other_target = a.clone();
    other_target.target = Some("aarch64-apple-darwin".into());
    for (what, got) in
        [("commit", ns(&other_commit, &a)), ("version", ns(&other_version, &a)), ("target", ns(&s, &other_target))]
    {
        assert_ne!(got.0, base.0, "another {what} gives another documentNamespace");
        assert_ne!(got.1, base.1, "another {what} gives another serialNumber");
    }
    assert_ne!(base.0.rsplit('-').next(), base.1.rsplit('-').next(), "SPDX and CycloneDX identifiers differ");
}

#[test]
fn malformed_lockfiles_are_config_errors_naming_the_file() {
    let cases: &[(&str, &str, Option<&str>)] = &[
        ("Cargo.lock", "version = 4\n\n[[package]]\nname = \"a\"\nversion = \n", Some("line 5")),
        ("Cargo.lock", "version = 4\n\n[[package]]\nname = \"a\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n", Some("package[0]")),
        ("Cargo.lock", "[[package]]\nname = \"a\"\nversion = \"1.0.0\"\nchecksum = \"xyz\"\n", Some("package[0].checksum")),
        ("package-lock.json", "{\n  \"lockfileVersion\": 3,\n  \"packages\": {\n    \"\": {\"name\": \"x\",}\n  }\n}\n", Some("line 4")),
        ("package-lock.json", "{\"lockfileVersion\": 3, \"packages\": []}", Some("`packages`")),
        ("uv.lock", "version = 1\n\n[[package]]\nversion = \"1.0\"\n", Some("package[0]")),
        ("uv.lock", "version = 1\n\n[[package]]\nname = \"a\"\nversion = \"1\"\ndependencies = [{ name = \"missing\" }]\n", Some("missing")),
        ("poetry.lock", "[[package]]\nname = \"x\"\nversion = \"1.0\"\nfiles = [\n    {file = \"x.whl\", hash = \n]\n", Some("line 5")),
        ("go.sum", "golang.org/x/text v0.14.0 h1:abc=\ngolang.org/x/text\n", Some("line 2")),
    ];
    for (file, text, detail) in cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(file), text).unwrap();
        let err = sbom::collect(dir.path(), &CollectOptions { cargo: None, ..opts(None) }).unwrap_err();
        assert_eq!(err.class, ErrorClass::Config, "{file}: {}", err.message);
        assert!(err.message.contains(&format!("`{file}`")), "names the file: {}", err.message);
        if let Some(d) = detail {
            assert!(err.message.contains(d), "{file}: expected `{d}` in: {}", err.message);
        }
        assert!(!err.message.contains('\n'), "one line: {}", err.message);
        assert!(err.hint.as_deref().is_some_and(|h| h.contains("regenerate")), "{file}: {:?}", err.hint);
    }
}

#[test]
fn a_named_lockfile_must_exist_and_be_known() {
    let dir = fixture("go");
    let bad =
        sbom::collect(dir.path(), &CollectOptions { extra_lockfiles: vec!["requirements.txt".into()], ..opts(None) })
            .unwrap_err();
    assert_eq!(bad.class, ErrorClass::Config);
    assert!(bad.message.contains("`requirements.txt`"), "{}", bad.message);
    let missing = sbom::collect(
        dir.path(),
        &CollectOptions { extra_lockfiles: vec!["web/package-lock.json".into()], ..opts(None) },
    )
    .unwrap_err();
    assert!(missing.message.contains("`web/package-lock.json` does not exist"), "{}", missing.message);
}

#[test]
fn a_project_without_packages_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let inv = sbom::collect(dir.path(), &opts(None)).unwrap();
    assert!(inv.is_empty());
    let err = inv.require_packages(dir.path()).unwrap_err();
    assert_eq!(err.class, ErrorClass::Package);
    assert!(err.message.contains("no lockfile was found"), "{}", err.message);
    let dir = fixture("go");
    sbom::collect(dir.path(), &opts(None)).unwrap().require_packages(dir.path()).unwrap();
}

#[test]
fn every_licence_id_relman_knows_is_on_the_spdx_list() {
    let mut packages = Vec::new();
    let mut declared: Vec<String> = license::LICENSE_IDS.iter().map(|s| s.to_string()).collect();
    declared.extend(license::EXCEPTION_IDS.iter().map(|e| format!("Apache-2.0 WITH {e}")));
    declared.extend(
        ["mit/apache-2.0", "GPL-2.0+ OR (BSD-3-Clause AND ISC)", "Custom licence, see COPYING", "LicenseRef-acme-eula"]
            .map(String::from),
    );
    for (i, l) in declared.iter().enumerate() {
        let name = format!("lic{i}");
        let mut p = Package::new(
            Ecosystem::Npm,
            Role::Dependency,
            &name,
            "1.0.0",
            sbom::purl::npm(&name, "1.0.0"),
            "package-lock.json",
        );
        p.license = Some(l.clone());
        packages.push(p);
    }
    let inv = Inventory::new(None, packages, vec!["package-lock.json".into()], Vec::new());
    documents("licences", &subject("app"), &inv);
}
