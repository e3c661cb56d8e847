//! Helm charts: `Chart.yaml` loading, version checks against the release, reproducible
//! packaging (checked with the system's `tar` and `gzip`), and the OCI config blob and
//! annotations `helm push` would write.
//!
//! Every fixture (`tests/fixtures/chart/<name>`) is copied to its own temp dir; files that
//! must be ignored are created there, so the repository holds none of them.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use relman_engine::chart::{self, ChartMeta, ChartProblem};
use relman_engine::ErrorClass;

const MTIME: u64 = 1_714_521_600; // 2024-05-01T00:00:00Z
const RELEASE: &str = "1.2.3";

fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/chart").join(name)
}

/// A copy of `tests/fixtures/chart/<name>` in a fresh temp dir; the chart is `<tmp>/<name>`.
fn fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    fn copy(src: &Path, dst: &Path) {
        fs::create_dir_all(dst).unwrap();
        for e in fs::read_dir(src).unwrap() {
            let e = e.unwrap();
            let to = dst.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                copy(&e.path(), &to);
            } else {
                fs::copy(e.path(), &to).unwrap();
            }
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(name);
    copy(&fixture_dir(name), &dir);
    (tmp, dir)
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// The demo chart plus files `.helmignore` and Helm's default rule exclude, and a subchart
/// archive that must be packaged as a file.
fn demo_with_extras() -> (tempfile::TempDir, PathBuf) {
    let (tmp, dir) = fixture("demo");
    write(&dir.join("values.yaml.bak"), "old: values\n");
    write(&dir.join("templates/deployment.yaml.bak"), "old: template\n");
    write(&dir.join("ci/test-values.yaml"), "replicaCount: 2\n");
    write(&dir.join("templates/.hidden.yaml"), "kind: Nothing\n");
    write(&dir.join("notes~"), "editor backup\n");
    fs::create_dir_all(dir.join("charts")).unwrap();
    fs::write(dir.join("charts/redis-1.0.0.tgz"), b"\x1f\x8b\x08\x00subchart bytes, packaged as they are").unwrap();
    (tmp, dir)
}

const DEMO_LISTING: &[&str] = &[
    "demo/",
    "demo/Chart.yaml",
    "demo/.helmignore",
    "demo/Chart.lock",
    "demo/README.md",
    "demo/charts/",
    "demo/charts/redis-1.0.0.tgz",
    "demo/templates/",
    "demo/templates/NOTES.txt",
    "demo/templates/_helpers.tpl",
    "demo/templates/deployment.yaml",
    "demo/values.yaml",
];

fn tar_listing(archive: &Path) -> Vec<String> {
    let out = Command::new("tar").arg("-tzf").arg(archive).output().expect("run tar");
    assert!(out.status.success(), "tar -tzf: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect()
}

/// Every entry of the archive: (path, mode, uid, gid, mtime, contents).
fn entries(archive: &Path) -> Vec<(String, u32, u64, u64, u64, Vec<u8>)> {
    let gz = flate2::read::GzDecoder::new(fs::File::open(archive).unwrap());
    let mut tar = tar::Archive::new(gz);
    tar.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let h = e.header().clone();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            let path = String::from_utf8(e.path_bytes().into_owned()).unwrap();
            (path, h.mode().unwrap(), h.uid().unwrap(), h.gid().unwrap(), h.mtime().unwrap(), data)
        })
        .collect()
}

#[test]
fn package_is_reproducible_and_honours_helmignore() {
    let (tmp, dir) = demo_with_extras();
    let meta = chart::load(&dir).unwrap();
    assert_eq!(meta.archive_name(), "demo-1.2.3.tgz");

    let a = chart::package(&meta, MTIME, &tmp.path().join("out-a")).unwrap();
    let b = chart::package(&meta, MTIME, &tmp.path().join("out-b")).unwrap();
    assert_eq!(a.path, tmp.path().join("out-a/demo-1.2.3.tgz"));
    let bytes = fs::read(&a.path).unwrap();
    assert_eq!(bytes, fs::read(&b.path).unwrap(), "same chart, same mtime: same bytes");
    assert_eq!(a.sha256, b.sha256);
    assert_eq!(a.size, bytes.len() as u64);
    assert_eq!(a.sha256, relman_install::hash::sha256_bytes(&bytes));

    // Packaging again over the existing file gives the same file.
    let again = chart::package(&meta, MTIME, &tmp.path().join("out-a")).unwrap();
    assert_eq!(again.sha256, a.sha256);
    let leftovers: Vec<_> = fs::read_dir(tmp.path().join("out-a")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers, vec!["demo-1.2.3.tgz"], "no temp file left behind");

    // Another mtime changes the bytes (the headers carry it).
    let later = chart::package(&meta, MTIME + 1, &tmp.path().join("out-c")).unwrap();
    assert_ne!(later.sha256, a.sha256);

    // The listing: Chart.yaml first, then sorted; nothing .helmignore or Helm's default
    // `templates/.?*` excludes.
    assert_eq!(tar_listing(&a.path), DEMO_LISTING);

    // gzip: valid, one member, no name and no time in the header.
    let status = Command::new("gzip").arg("-t").arg(&a.path).status().expect("run gzip");
    assert!(status.success(), "gzip -t failed");
    assert_eq!(&bytes[..3], b"\x1f\x8b\x08");
    assert_eq!(bytes[3], 0, "no FNAME/FCOMMENT/FEXTRA flags");
    assert_eq!(&bytes[4..8], &[0, 0, 0, 0], "gzip mtime is zero");

    // Headers: fixed owner, modes and time; file bytes as in the chart directory.
    for (path, mode, uid, gid, mtime, data) in entries(&a.path) {
        assert_eq!((uid, gid, mtime), (0, 0, MTIME), "{path}");
        if path.ends_with('/') {
            assert_eq!(mode, 0o755, "{path}");
        } else {
            assert_eq!(mode, 0o644, "{path}");
            let rel = path.strip_prefix("demo/").unwrap();
            assert_eq!(data, fs::read(dir.join(rel)).unwrap(), "{path} is packaged verbatim");
        }
    }
    let chart_yaml = entries(&a.path).into_iter().find(|e| e.0 == "demo/Chart.yaml").unwrap().5;
    assert_eq!(chart_yaml, fs::read(dir.join("Chart.yaml")).unwrap());
}

#[test]
fn package_never_includes_its_own_output() {
    let (tmp, dir) = demo_with_extras();
    let meta = chart::load(&dir).unwrap();
    let reference = chart::package(&meta, MTIME, &tmp.path().join("out")).unwrap();

    // Into the chart directory itself (`helm package .`), twice: the first archive is not
    // packed into the second.
    let first = chart::package(&meta, MTIME, &dir).unwrap();
    let second = chart::package(&meta, MTIME, &dir).unwrap();
    assert_eq!(first.sha256, reference.sha256);
    assert_eq!(second.sha256, reference.sha256);
    assert_eq!(tar_listing(&second.path), DEMO_LISTING);
    fs::remove_file(&second.path).unwrap();

    // Into a directory inside the chart: the whole output directory stays out.
    write(&dir.join("dist/older-0.9.0.tgz"), "an older archive\n");
    let nested = chart::package(&meta, MTIME, &dir.join("dist")).unwrap();
    let nested_again = chart::package(&meta, MTIME, &dir.join("dist")).unwrap();
    assert_eq!(nested.sha256, reference.sha256);
    assert_eq!(nested_again.sha256, reference.sha256);
}

#[test]
fn helmignore_rules_like_helm() {
    let (tmp, dir) = fixture("demo");
    write(&dir.join(".helmignore"), "# comment\n\n/README.md\ntemplates/*.tpl\ndocs/\nsecret.txt\n");
    write(&dir.join("docs/guide.md"), "guide\n");
    write(&dir.join("templates/secret.txt"), "nested secret, matched by base name\n");
    write(&dir.join("files/README.md"), "not at the root: kept\n");
    let meta = chart::load(&dir).unwrap();
    let p = chart::package(&meta, MTIME, &tmp.path().join("out")).unwrap();
    assert_eq!(
        tar_listing(&p.path),
        [
            "demo/",
            "demo/Chart.yaml",
            "demo/.helmignore",
            "demo/Chart.lock",
            "demo/files/",
            "demo/files/README.md",
            "demo/templates/",
            "demo/templates/NOTES.txt",
            "demo/templates/deployment.yaml",
            "demo/values.yaml",
        ]
    );
}

#[test]
fn helmignore_negation_and_double_star_are_refused() {
    for (line, expected) in [("!keep.bak", "negation"), ("docs/**/*.md", "**")] {
        let (tmp, dir) = fixture("demo");
        write(&dir.join(".helmignore"), &format!("*.bak\n{line}\n"));
        let meta = chart::load(&dir).unwrap();
        let err = chart::package(&meta, MTIME, &tmp.path().join("out")).unwrap_err();
        assert_eq!(err.class, ErrorClass::Config);
        assert!(err.message.contains(".helmignore` line 2"), "{}", err.message);
        assert!(err.message.contains(expected), "{}", err.message);
        assert!(!tmp.path().join("out/demo-1.2.3.tgz").exists());
    }
}

#[test]
fn helmignore_cannot_drop_chart_yaml() {
    let (tmp, dir) = fixture("demo");
    write(&dir.join(".helmignore"), "*.yaml\n");
    let meta = chart::load(&dir).unwrap();
    let err = chart::package(&meta, MTIME, &tmp.path().join("out")).unwrap_err();
    assert_eq!(err.class, ErrorClass::Config);
    assert!(err.message.contains("Chart.yaml"), "{}", err.message);
}

#[test]
fn check_accepts_a_chart_that_matches_the_release() {
    let (_tmp, dir) = fixture("demo");
    let meta = chart::load(&dir).unwrap();
    assert_eq!(chart::check(&meta, RELEASE), Vec::<ChartProblem>::new());

    // appVersion and image tags may carry one leading `v`; tags may also be the version.
    let text =
        fs::read_to_string(dir.join("Chart.yaml")).unwrap().replace("appVersion: \"1.2.3\"", "appVersion: v1.2.3");
    write(&dir.join("Chart.yaml"), &text);
    write(&dir.join("values.yaml"), "image:\n  tag: v1.2.3\napi:\n  image:\n    tag: \"1.2.3\"\n");
    let meta = chart::load(&dir).unwrap();
    assert_eq!(chart::check(&meta, RELEASE), Vec::<ChartProblem>::new());

    // No values.yaml at all is fine too.
    fs::remove_file(dir.join("values.yaml")).unwrap();
    assert_eq!(chart::check(&meta, RELEASE), Vec::<ChartProblem>::new());
}

#[test]
fn check_reports_every_mismatch_with_its_line() {
    let (_tmp, dir) = fixture("demo");
    let text = fs::read_to_string(dir.join("Chart.yaml"))
        .unwrap()
        .replace("version: 1.2.3", "version: 1.2.2")
        .replace("appVersion: \"1.2.3\"", "appVersion: \"1.2.0\"");
    write(&dir.join("Chart.yaml"), &text);
    write(
        &dir.join("values.yaml"),
        "replicaCount: 1\n\
         image:\n\
         \x20 repository: ghcr.io/relman-dev/demo\n\
         \x20 tag: 1.0.0\n\
         worker:\n\
         \x20 image:\n\
         \x20   repository: ghcr.io/relman-dev/worker\n\
         \x20   tag: \"1.2.3\"\n\
         migrations:\n\
         \x20 image:\n\
         \x20   tag: 1.1\n",
    );
    let meta = chart::load(&dir).unwrap();
    let problems = chart::check(&meta, RELEASE);
    let chart_yaml = dir.join("Chart.yaml");
    let values = dir.join("values.yaml");
    let got: Vec<(PathBuf, Option<usize>, String)> =
        problems.iter().map(|p| (p.file.clone(), p.line, p.message())).collect();
    assert_eq!(
        got,
        vec![
            (chart_yaml.clone(), Some(5), "`version`: expected `1.2.3` (the release version), found `1.2.2`".into()),
            (chart_yaml.clone(), Some(6), "`appVersion`: expected `1.2.3` (the release version), found `1.2.0`".into()),
            (
                values.clone(),
                Some(4),
                "`image.tag`: expected empty (Helm then uses appVersion) or `1.2.3` (the release version), found `1.0.0`"
                    .into()
            ),
            (
                values.clone(),
                Some(11),
                "`migrations.image.tag`: expected empty (Helm then uses appVersion) or `1.2.3` (the release version), found `1.1`"
                    .into()
            ),
        ]
    );
    assert_eq!(problems[0].to_string(), format!("{}:5: {}", chart_yaml.display(), problems[0].message()));
}

#[test]
fn check_reports_a_missing_app_version_and_bad_values_yaml() {
    let (_tmp, dir) = fixture("demo");
    let text = fs::read_to_string(dir.join("Chart.yaml")).unwrap().replace("appVersion: \"1.2.3\"\n", "");
    write(&dir.join("Chart.yaml"), &text);
    write(&dir.join("values.yaml"), "image:\n  tag: [unclosed\n");
    let meta = chart::load(&dir).unwrap();
    let problems = chart::check(&meta, RELEASE);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(problems[0].line, None);
    assert!(problems[0].message().contains("`appVersion`: expected `1.2.3`"), "{}", problems[0].message());
    assert!(problems[0].message().ends_with("found none"), "{}", problems[0].message());
    assert_eq!(problems[1].file, dir.join("values.yaml"));
    assert!(problems[1].line.is_some());
    assert!(problems[1].message().starts_with("invalid YAML"), "{}", problems[1].message());
}

fn load_error(chart_yaml: Option<&str>) -> relman_engine::Failure {
    let tmp = tempfile::tempdir().unwrap();
    if let Some(text) = chart_yaml {
        write(&tmp.path().join("Chart.yaml"), text);
    }
    let err = chart::load(tmp.path()).unwrap_err();
    assert_eq!(err.class, ErrorClass::Config, "{}", err.message);
    err
}

#[test]
fn load_errors_name_the_file_the_key_and_the_line() {
    let err = load_error(None);
    assert!(err.message.contains("no `Chart.yaml`"), "{}", err.message);

    let err = load_error(Some("apiVersion: v1\nname: old\nversion: 1.0.0\n"));
    assert!(err.message.contains("Chart.yaml` line 1: `apiVersion` is `v1`"), "{}", err.message);

    let err = load_error(Some("name: x\nversion: 1.0.0\n"));
    assert!(err.message.contains("Chart.yaml`: `apiVersion` is missing"), "{}", err.message);

    let err = load_error(Some("apiVersion: v2\nname: demo\nappVersion: 1.0.0\n"));
    assert!(err.message.contains("Chart.yaml`: `version` is missing"), "{}", err.message);

    let err = load_error(Some("apiVersion: v2\nname: demo\nversion: \"1.2\"\n"));
    assert!(err.message.contains("Chart.yaml` line 3: `version` `1.2` is not a semantic version"), "{}", err.message);

    let err = load_error(Some("apiVersion: v2\nname: demo\nversion: v1.2.3\n"));
    assert!(err.message.contains("`version` `v1.2.3` is not a semantic version"), "{}", err.message);

    let err = load_error(Some("apiVersion: v2\nversion: 1.0.0\n"));
    assert!(err.message.contains("`name` is missing"), "{}", err.message);

    let err = load_error(Some("apiVersion: v2\nname: ../evil\nversion: 1.0.0\n"));
    assert!(err.message.contains("line 2: `name` `../evil` is not a valid chart name"), "{}", err.message);

    let err = load_error(Some("apiVersion: v2\nname: demo\nversion: 1.0.0\ntype: plugin\n"));
    assert!(err.message.contains("line 4: `type` is `plugin`"), "{}", err.message);

    let err = load_error(Some("apiVersion: v2\nname: demo\nversion: 1.0.0\nsources: https://example.com\n"));
    assert!(err.message.contains("line 4: `sources` must be a list of strings, found a string"), "{}", err.message);

    let err = load_error(Some("apiVersion: v2\nname: demo\nversion: 1.0.0\nmaintainers:\n  - name: [a]\n"));
    assert!(err.message.contains("line 5: `maintainers[0].name` must be a string, found a list"), "{}", err.message);

    let err = load_error(Some("apiVersion: v2\nname: [demo\n"));
    assert!(err.message.contains("invalid YAML"), "{}", err.message);

    let err = load_error(Some("- just\n- a list\n"));
    assert!(err.message.contains("must be a mapping"), "{}", err.message);
}

#[test]
fn load_reads_every_helm_field() {
    let meta = chart::load(&fixture_dir("metadata")).unwrap();
    assert_eq!(meta.name, "full");
    assert_eq!(meta.version, "2.0.0-rc.1+build.5");
    assert_eq!(meta.app_version.as_deref(), Some("2.0.0"));
    assert_eq!(meta.description.as_deref(), Some("A chart with <every> field & more "), "sanitized as Helm does");
    assert_eq!(meta.maintainer_names(), ["Ada Lovelace", "Bot"]);
    assert_eq!(meta.dependencies.len(), 2);
    assert_eq!(meta.dependencies[0].alias.as_deref(), Some("cache"));
    assert!(meta.dependencies[1].enabled);
    assert!(meta.deprecated);
    assert_eq!(meta.lines.get("version"), Some(&4));
    assert_eq!(meta.chart_yaml, fixture_dir("metadata").join("Chart.yaml"));
}

#[test]
fn helm_config_json_matches_helms_metadata_encoding() {
    let meta = chart::load(&fixture_dir("metadata")).unwrap();
    let json = chart::helm_config_json(&meta);
    let expected = fs::read_to_string(fixture_dir("metadata/config.json")).unwrap();
    assert_eq!(String::from_utf8(json.clone()).unwrap(), expected.trim_end());
    assert_eq!(json, chart::helm_config_json(&meta), "deterministic");

    // Keys in chart.Metadata's order; empty ones (tags) omitted.
    let keys = json_keys(&json);
    assert_eq!(
        keys,
        [
            "name",
            "home",
            "sources",
            "version",
            "description",
            "keywords",
            "maintainers",
            "icon",
            "apiVersion",
            "condition",
            "appVersion",
            "deprecated",
            "annotations",
            "kubeVersion",
            "dependencies",
            "type"
        ]
    );
}

/// Top-level keys of a JSON object, in document order (serde_json's map may sort them).
fn json_keys(json: &[u8]) -> Vec<String> {
    let value: serde_json::Value = serde_json::from_slice(json).unwrap();
    let mut keys: Vec<(usize, String)> = value
        .as_object()
        .unwrap()
        .keys()
        .map(|k| {
            let needle = format!("\"{k}\":");
            let text = std::str::from_utf8(json).unwrap();
            // Top-level keys come before nested ones of the same name in this fixture.
            (text.find(&needle).unwrap(), k.clone())
        })
        .collect();
    keys.sort();
    keys.into_iter().map(|(_, k)| k).collect()
}

#[test]
fn helm_config_json_omits_empty_fields() {
    let (_tmp, dir) = fixture("demo");
    write(&dir.join("Chart.yaml"), "apiVersion: v2\nname: tiny\nversion: 0.1.0\ndescription: \"\"\nkeywords: []\n");
    let meta = chart::load(&dir).unwrap();
    assert_eq!(
        String::from_utf8(chart::helm_config_json(&meta)).unwrap(),
        r#"{"name":"tiny","version":"0.1.0","apiVersion":"v2"}"#
    );
    let a = chart::oci_annotations(&meta, "");
    assert_eq!(
        a,
        BTreeMap::from([
            ("org.opencontainers.image.title".to_string(), "tiny".to_string()),
            ("org.opencontainers.image.version".to_string(), "0.1.0".to_string()),
        ])
    );
}

#[test]
fn oci_annotations_as_helm_push_sets_them() {
    let meta: ChartMeta = chart::load(&fixture_dir("metadata")).unwrap();
    let a = chart::oci_annotations(&meta, "2024-05-01T00:00:00Z");
    let expected: BTreeMap<String, String> = [
        ("org.opencontainers.image.title", "full"),
        ("org.opencontainers.image.version", "2.0.0-rc.1+build.5"),
        ("org.opencontainers.image.description", "A chart with <every> field & more "),
        // The chart's own annotation overrides `url` (Helm protects only title and version).
        ("org.opencontainers.image.url", "https://override.example.com"),
        ("org.opencontainers.image.created", "2024-05-01T00:00:00Z"),
        ("org.opencontainers.image.source", "https://github.com/relman-dev/full"),
        ("org.opencontainers.image.authors", "Ada Lovelace (ada@example.com), Bot,  (anonymous@example.com)"),
        ("artifacthub.io/license", "MIT"),
        ("category", "Tools"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(a, expected);
}

#[cfg(unix)]
#[test]
fn symlinks_are_followed_and_loops_refused() {
    let (tmp, dir) = fixture("demo");
    std::os::unix::fs::symlink("../README.md", dir.join("templates/readme.txt")).unwrap();
    let meta = chart::load(&dir).unwrap();
    let p = chart::package(&meta, MTIME, &tmp.path().join("out")).unwrap();
    let linked = entries(&p.path).into_iter().find(|e| e.0 == "demo/templates/readme.txt").expect("packaged");
    assert_eq!(linked.1, 0o644);
    assert_eq!(linked.5, fs::read(dir.join("README.md")).unwrap(), "the link's target, as a regular file");

    fs::create_dir_all(dir.join("files")).unwrap();
    std::os::unix::fs::symlink("..", dir.join("files/up")).unwrap();
    let err = chart::package(&meta, MTIME, &tmp.path().join("out")).unwrap_err();
    assert!(err.message.contains("symlink loop"), "{}", err.message);

    // An ignored broken link is no problem; a packaged one is.
    fs::remove_file(dir.join("files/up")).unwrap();
    std::os::unix::fs::symlink("missing", dir.join("files/dangling.bak")).unwrap();
    chart::package(&meta, MTIME, &tmp.path().join("out")).unwrap();
    std::os::unix::fs::symlink("missing", dir.join("files/dangling")).unwrap();
    let err = chart::package(&meta, MTIME, &tmp.path().join("out")).unwrap_err();
    assert!(err.message.contains("files/dangling"), "{}", err.message);
}
