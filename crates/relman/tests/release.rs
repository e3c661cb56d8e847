//! The foundation, end to end through the real binary: plan, build, package, publish,
//! promote, verify, release — and every bad input the foundation issue names.

mod common;

use std::fs;
use std::process::Command;

use common::*;

const T1: &str = "x86_64-unknown-linux-gnu";
const T2: &str = "aarch64-apple-darwin";
const TW: &str = "x86_64-pc-windows-msvc";

#[test]
fn snapshot_release_of_a_cargo_project_without_config() {
    let p = Project::cargo();
    let dest = p.outside("releases");
    let to = format!("dir:{}", dest.display());
    let out = p.relman(&["release", "--snapshot", "--to", &to, "--json"]);
    out.ok();
    let summary = out.json();
    let version = summary["version"].as_str().unwrap().to_string();
    assert!(version.starts_with("0.0.0-snapshot.1.g"), "{version}");
    assert_eq!(summary["channel"], "prerelease");

    // The archive holds a binary that really runs.
    let archive = dest.join(&version).join(format!("hello-{version}-{HOST}.tar.gz"));
    assert!(archive.is_file(), "{archive:?}");
    let unpack = p.outside("unpack");
    let st = Command::new("tar").arg("xzf").arg(&archive).arg("-C").arg(&unpack).status().unwrap();
    assert!(st.success());
    let bin = unpack.join(format!("hello-{version}-{HOST}/hello"));
    let run = Command::new(&bin).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&run.stdout).trim(), "hello 0.1.0");

    // sha256sum -c passes on the published checksums.
    let check =
        Command::new("sha256sum").arg("-c").arg("checksums.txt").current_dir(dest.join(&version)).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));

    // SBOMs of the archive, from Cargo.lock, are published and listed in checksums.txt.
    let spdx: serde_json::Value = serde_json::from_slice(
        &fs::read(dest.join(&version).join(format!("hello-{version}-{HOST}.spdx.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(spdx["spdxVersion"], "SPDX-2.3");
    assert!(spdx["packages"].as_array().unwrap().iter().any(|p| p["name"] == "hello"), "{spdx}");
    let cdx: serde_json::Value = serde_json::from_slice(
        &fs::read(dest.join(&version).join(format!("hello-{version}-{HOST}.cdx.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(cdx["specVersion"], "1.6");
    let sums = fs::read_to_string(dest.join(&version).join("checksums.txt")).unwrap();
    assert!(sums.contains(".spdx.json") && sums.contains(".cdx.json"), "{sums}");

    // Publish never touches latest.
    assert!(!dest.join("latest").exists());
    assert!(!dest.join("channels.json").exists());

    // A project without dependencies: its CycloneDX document has the project itself as
    // `metadata.component` and no `components`; verify accepts that (as promote must).
    assert_eq!(cdx["metadata"]["component"]["name"], "hello");
    p.relman(&["verify", dest.join(&version).to_str().unwrap()]).ok();
}

#[test]
fn init_writes_a_valid_commented_config_and_ignores_dist() {
    let p = Project::cargo();
    // --dry-run prints what it would write and writes nothing.
    let dry = p.relman(&["init", "--dry-run"]);
    dry.ok();
    assert!(
        dry.stdout.contains("[project]\nname = \"hello\"") && dry.stdout.contains("# [gate.vulnerabilities]"),
        "{}",
        dry.stdout
    );
    assert!(!p.path("relman.toml").exists());
    // The next-step hint names the version Cargo.toml records (no tag yet).
    let out = p.relman(&["init"]);
    out.ok();
    assert!(out.stdout.contains("git tag -a v0.1.0 -m v0.1.0"), "{}", out.stdout);
    assert_eq!(fs::read_to_string(p.path("relman.toml")).unwrap(), dry.stdout, "the dry run printed what init wrote");
    let text = fs::read_to_string(p.path("relman.toml")).unwrap();
    assert!(text.contains("binaries = [\"hello\"]"), "{text}");
    assert!(text.contains(&format!("targets = [\"{HOST}\"]")), "{text}");
    assert!(text.contains("files = [\"README.md\"]"), "{text}");
    assert!(text.lines().any(|l| l.starts_with('#')));
    assert!(fs::read_to_string(p.path(".gitignore")).unwrap().contains("/dist"));
    // Refuses to overwrite.
    p.relman(&["init"]).fails(3, "already exists");
    // The written config is accepted by plan.
    p.commit("config");
    p.tag("v0.1.0");
    let out = p.relman(&["plan", "--json"]);
    out.ok();
    assert_eq!(out.json()["version"], "0.1.0");
    // With a release tag, the hint names the next patch version.
    let out = p.relman(&["init", "--force", "--json"]);
    out.ok();
    assert_eq!(out.json()["next_tag"], "v0.1.1");
}

/// `relman init` reads package.json, pyproject.toml and go.mod: the name, the binaries and a
/// build command that makes them. The Node and Python configs release as written.
#[test]
fn init_recognises_node_python_and_go_projects() {
    let node = Project::empty();
    node.write(
        "package.json",
        r#"{"name": "@acme/greet-cli", "version": "0.4.0", "bin": {"greet": "bin/greet.js"}, "repository": {"type": "git", "url": "git+https://github.com/acme/greet.git"}}"#,
    );
    node.write("bin/greet.js", "#!/usr/bin/env node\nconsole.log('greet');\n");
    node.relman(&["init"]).ok();
    let text = fs::read_to_string(node.path("relman.toml")).unwrap();
    for want in [
        "name = \"greet-cli\"",
        "repository = \"https://github.com/acme/greet\"",
        "binaries = [\"greet\"]",
        "command = \"mkdir -p out/{target} && cp bin/greet.js out/{target}/greet\"",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }
    node.commit("node project");
    node.tag("v0.4.0");
    node.relman(&["release"]).ok();
    let archive = node.path(&format!("dist/0.4.0/greet-cli-0.4.0-{HOST}.tar.gz"));
    assert!(archive.is_file(), "no archive at {}", archive.display());

    let py = Project::empty();
    py.write(
        "pyproject.toml",
        "[project]\nname = \"hello-svc\"\nversion = \"0.3.0\"\n\n[project.scripts]\nhello = \"hello_svc.cli:main\"\n\n[project.urls]\nRepository = \"https://github.com/acme/hello-svc\"\n",
    );
    py.write("src/hello_svc/__init__.py", "");
    py.write("src/hello_svc/cli.py", "def main():\n    print('hello-svc 0.3.0')\n");
    py.relman(&["init"]).ok();
    let text = fs::read_to_string(py.path("relman.toml")).unwrap();
    for want in ["name = \"hello-svc\"", "binaries = [\"hello\"]", "python3 -m zipapp src -m 'hello_svc.cli:main'"] {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }
    py.commit("python project");
    py.tag("v0.3.0");
    py.relman(&["release"]).ok();
    let built = py.path(&format!("dist/0.3.0/build/{HOST}/hello"));
    let out = Command::new("python3").arg(&built).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "hello-svc 0.3.0",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let go = Project::empty();
    go.write("go.mod", "module github.com/acme/gotool\n\ngo 1.22\n");
    go.relman(&["init"]).ok();
    let text = fs::read_to_string(go.path("relman.toml")).unwrap();
    for want in [
        "name = \"gotool\"",
        "repository = \"https://github.com/acme/gotool\"",
        "go build -trimpath -ldflags '-s -w -X main.version={version}' -o out/{target}/{binary}{exe} .",
        // Go cross-compiles: GoReleaser's default platforms.
        "targets = [\"x86_64-unknown-linux-gnu\", \"aarch64-unknown-linux-gnu\", \"x86_64-apple-darwin\", \"aarch64-apple-darwin\", \"x86_64-pc-windows-msvc\"]",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }

    // Main packages under cmd/: one binary each, each built from its package.
    let go = Project::empty();
    go.write("go.mod", "module github.com/acme/suite\n\ngo 1.22\n");
    go.write("cmd/api/main.go", "package main\n\nfunc main() {}\n");
    go.write("cmd/worker/main.go", "package main\n\nfunc main() {}\n");
    go.write("internal/lib/lib.go", "package lib\n");
    let out = go.relman(&["init"]);
    out.ok();
    let text = fs::read_to_string(go.path("relman.toml")).unwrap();
    assert!(text.contains("binaries = [\"api\", \"worker\"]"), "{text}");
    assert!(text.contains("-o out/{target}/api{exe} ./cmd/api && "), "{text}");
    assert!(text.contains("-o out/{target}/worker{exe} ./cmd/worker\""), "{text}");
    assert!(out.stdout.contains("relman ci generate github"), "{}", out.stdout);

    // No tag yet: the next tag is the version the project records (pyproject.toml here).
    let py = Project::empty();
    py.write("pyproject.toml", "[project]\nname = \"svc\"\nversion = \"0.3.0\"\n");
    let out = py.relman(&["--json", "init"]);
    out.ok();
    assert_eq!(out.json()["next_tag"], "v0.3.0");
}

#[test]
fn plan_decides_everything_and_writes_the_manifest() {
    let p = Project::generic(&[T1, T2, TW]);
    p.tag("v1.2.0");
    let out = p.relman(&["plan", "--json", "--to", "dir:../rel"]);
    out.ok();
    let m = out.json();
    assert_eq!(m["format_version"], 1);
    assert_eq!(m["version"], "1.2.0");
    assert_eq!(m["tag"], "v1.2.0");
    assert_eq!(m["channel"], "stable");
    assert_eq!(m["commit"].as_str().unwrap(), p.git(&["rev-parse", "HEAD"]));
    let names: Vec<&str> = m["artifacts"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            format!("tool-1.2.0-{T1}.tar.gz").as_str(),
            &format!("tool-1.2.0-{T2}.tar.gz"),
            &format!("tool-1.2.0-{TW}.zip"),
            // The provenance is written unsigned without a key.
            "tool-1.2.0.intoto.jsonl",
            "install.sh",
            "checksums.txt",
            "index.json",
            "release-notes.md",
            "index.html"
        ]
    );
    assert_eq!(m["artifacts"][2]["binaries"][0], "tool.exe");
    assert!(m["destinations"][0]["url"].as_str().unwrap().ends_with("/rel"));
    let on_disk: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(p.path("dist/1.2.0/manifest.json")).unwrap()).unwrap();
    assert_eq!(on_disk, m);
    // Nothing was built.
    assert!(!p.path("out").exists());
}

#[test]
fn multi_target_package_is_reproducible_and_complete() {
    let p = Project::generic(&[T1, T2, TW]);
    p.tag("v1.2.0");
    p.relman(&["build"]).ok();
    let out = p.relman(&["package", "--json"]);
    out.ok();
    let v = p.path("dist/1.2.0");
    let tgz = v.join(format!("tool-1.2.0-{T1}.tar.gz"));
    let first = fs::read(&tgz).unwrap();
    let zip1 = fs::read(v.join(format!("tool-1.2.0-{TW}.zip"))).unwrap();

    // Entries: sorted, explicit dirs, commit time, root-owned, normalised modes.
    let commit_time: u64 = p.git(&["show", "-s", "--format=%ct", "HEAD"]).parse().unwrap();
    let entries = list_tar_gz(&tgz);
    let base = format!("tool-1.2.0-{T1}");
    let paths: Vec<&str> = entries.iter().map(|e| e.0.trim_end_matches('/')).collect();
    assert_eq!(
        paths,
        [
            format!("{base}/"),
            format!("{base}/README.md"),
            format!("{base}/docs/"),
            format!("{base}/docs/guide.md"),
            format!("{base}/tool")
        ]
        .iter()
        .map(|s| s.trim_end_matches('/'))
        .collect::<Vec<_>>()
    );
    for (path, mode, mtime, uid, gid, _) in &entries {
        assert_eq!(*mtime, commit_time, "{path}");
        assert_eq!((*uid, *gid), (0, 0), "{path}");
        let want = if path.ends_with(".md") { 0o644 } else { 0o755 };
        assert_eq!(*mode, want, "{path}");
    }
    // gzip header: no mtime, no name.
    assert_eq!(&first[4..8], &[0, 0, 0, 0]);
    assert_eq!(first[3] & 0x08, 0);

    // A second, clean run from the same commit gives the same bytes.
    fs::remove_dir_all(p.path("dist")).unwrap();
    fs::remove_dir_all(p.path("out")).unwrap();
    p.relman(&["build"]).ok();
    p.relman(&["package"]).ok();
    assert_eq!(fs::read(&tgz).unwrap(), first, "tar.gz not reproducible");
    assert_eq!(fs::read(v.join(format!("tool-1.2.0-{TW}.zip"))).unwrap(), zip1, "zip not reproducible");

    // checksums.txt passes sha256sum -c; index.json lists every platform with digests.
    let check = Command::new("sha256sum").arg("-c").arg("checksums.txt").current_dir(&v).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
    let index: serde_json::Value = serde_json::from_str(&fs::read_to_string(v.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["version"], "1.2.0");
    assert_eq!(index["platforms"].as_array().unwrap().len(), 3);
    assert_eq!(index["platforms"][0]["sha256"].as_str().unwrap(), sha256_hex(&first));
    assert_eq!(index["platforms"][0]["size"].as_u64().unwrap(), first.len() as u64);
    assert_eq!(index["platforms"][2]["os"], "windows");
    assert_eq!(index["platforms"][2]["format"], "zip");
    // The manifest records every digest.
    let m: serde_json::Value = serde_json::from_str(&fs::read_to_string(v.join("manifest.json")).unwrap()).unwrap();
    for a in m["artifacts"].as_array().unwrap() {
        let bytes = fs::read(v.join(a["name"].as_str().unwrap())).unwrap();
        assert_eq!(a["sha256"].as_str().unwrap(), sha256_hex(&bytes), "{}", a["name"]);
    }
    // SOURCE_DATE_EPOCH overrides the commit time.
    let zst = Command::new(env!("CARGO_BIN_EXE_relman"))
        .current_dir(&p.dir)
        .args(["package", "--json"])
        .env("SOURCE_DATE_EPOCH", "1000000000")
        .env("CI", "1")
        .output()
        .unwrap();
    assert!(zst.status.success());
    assert!(list_tar_gz(&tgz).iter().all(|e| e.2 == 1_000_000_000));
}

#[test]
fn tar_zst_on_request() {
    let p = Project::generic(&[T1]);
    let cfg =
        fs::read_to_string(p.path("relman.toml")).unwrap().replace("[package]\n", "[package]\nformat = \"tar.zst\"\n");
    p.write("relman.toml", &cfg);
    p.commit("zst");
    p.tag("v0.3.0");
    p.relman(&["build"]).ok();
    p.relman(&["package"]).ok();
    let path = p.path(&format!("dist/0.3.0/tool-0.3.0-{T1}.tar.zst"));
    let out = Command::new("sh").arg("-c").arg(format!("zstd -dc {} | tar tf -", path.display())).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("tool-0.3.0-{T1}/tool")));
}

#[test]
fn publish_is_idempotent_and_refuses_a_different_file() {
    let p = Project::generic(&[T1]);
    p.tag("v1.0.0");
    let dest = p.outside("rel");
    let to = format!("dir:{}", dest.display());
    p.relman(&["release", "--to", &to]).ok();
    let published = dest.join("1.0.0");
    let names: Vec<String> = {
        let mut v: Vec<String> =
            fs::read_dir(&published).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        v.sort();
        v
    };
    assert_eq!(
        names,
        [
            "checksums.txt",
            "index.html",
            "index.json",
            "install.sh",
            "manifest.json",
            "release-notes.md",
            &format!("tool-1.0.0-{T1}.tar.gz"),
            "tool-1.0.0.intoto.jsonl"
        ]
    );
    assert!(!dest.join("latest").exists(), "publish must not move latest");

    let again = p.relman(&["publish", "--to", &to]);
    again.ok();
    assert!(again.stdout.contains("already published"), "{}", again.stdout);

    // Rebuild the same version from different content: publish is refused, naming both digests.
    let before = fs::read(published.join(format!("tool-1.0.0-{T1}.tar.gz"))).unwrap();
    p.write("README.md", "# tool, changed\n");
    let out = p.relman(&["release", "--allow-dirty", "--to", &to]);
    out.fails(8, "already holds a different");
    let new_sha = {
        let m: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(p.path("dist/1.0.0/manifest.json")).unwrap()).unwrap();
        m["artifacts"][0]["sha256"].as_str().unwrap().to_string()
    };
    assert!(out.stderr.contains(&sha256_hex(&before)), "{}", out.stderr);
    assert!(out.stderr.contains(&new_sha), "{}", out.stderr);
    assert_eq!(fs::read(published.join(format!("tool-1.0.0-{T1}.tar.gz"))).unwrap(), before, "published file changed");
}

#[test]
fn promote_moves_latest_with_gates() {
    let p = Project::generic(&[T1]);
    let dest = p.outside("rel");
    let to = format!("dir:{}", dest.display());
    p.tag("v1.0.0");
    p.relman(&["release", "--to", &to]).ok();
    p.write("src.txt", "2");
    p.commit("two");
    p.tag("v1.1.0");
    p.relman(&["release", "--to", &to]).ok();
    p.write("src.txt", "3");
    p.commit("three");
    p.tag("v1.2.0-rc.1");
    p.relman(&["release", "--to", &to]).ok();

    let out = p.relman(&["promote", "1.1.0", "--to", &to]);
    out.ok();
    assert!(out.stdout.contains("latest, channels.json → 1.1.0"), "{}", out.stdout);
    assert_eq!(fs::read_link(dest.join("latest")).unwrap().to_str().unwrap(), "1.1.0");
    let ch: serde_json::Value = serde_json::from_str(&fs::read_to_string(dest.join("channels.json")).unwrap()).unwrap();
    assert_eq!(ch["stable"]["version"], "1.1.0");
    assert_eq!(ch["stable"]["index"], "1.1.0/index.json");
    // Released files are world-readable, so any web server can serve them.
    use std::os::unix::fs::PermissionsExt;
    for f in
        [dest.join("channels.json"), dest.join("1.1.0/index.json"), dest.join(format!("1.1.0/tool-1.1.0-{T1}.tar.gz"))]
    {
        assert_eq!(fs::metadata(&f).unwrap().permissions().mode() & 0o777, 0o644, "{f:?}");
    }
    assert_eq!(fs::metadata(dest.join("1.1.0")).unwrap().permissions().mode() & 0o777, 0o755);
    assert_eq!(
        fs::metadata(p.path(&format!("dist/1.1.0/tool-1.1.0-{T1}.tar.gz"))).unwrap().permissions().mode() & 0o777,
        0o644
    );

    // Promoting again is a no-op.
    p.relman(&["promote", "v1.1.0", "--to", &to]).ok();

    // A pre-release never becomes latest.
    p.relman(&["promote", "1.2.0-rc.1", "--to", &to]).fails(9, "pre-release");
    // Older than latest: refused unless --allow-downgrade.
    p.relman(&["promote", "1.0.0", "--to", &to]).fails(9, "older than latest 1.1.0");
    assert_eq!(fs::read_link(dest.join("latest")).unwrap().to_str().unwrap(), "1.1.0");
    p.relman(&["promote", "1.0.0", "--to", &to, "--allow-downgrade"]).ok();
    assert_eq!(fs::read_link(dest.join("latest")).unwrap().to_str().unwrap(), "1.0.0");

    // A tampered published file fails the verification gate; latest stays.
    let archive = dest.join(format!("1.1.0/tool-1.1.0-{T1}.tar.gz"));
    let mut bytes = fs::read(&archive).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    fs::write(&archive, bytes).unwrap();
    p.relman(&["promote", "1.1.0", "--to", &to]).fails(9, "verified");
    assert_eq!(fs::read_link(dest.join("latest")).unwrap().to_str().unwrap(), "1.0.0");
    // An unknown version is not published.
    p.relman(&["promote", "9.9.9", "--to", &to]).fails(9, "published");
}

#[test]
fn release_with_promote_runs_the_whole_chain() {
    let p = Project::generic(&[T1, T2]);
    p.tag("v2.0.0");
    let dest = p.outside("rel");
    let to = format!("dir:{}", dest.display());
    let out = p.relman(&["release", "--promote", "--to", &to]);
    out.ok();
    assert!(out.stdout.contains("released tool 2.0.0 (stable)"), "{}", out.stdout);
    assert!(out.stderr.contains("== package"), "progress lines go to stderr: {}", out.stderr);
    assert_eq!(fs::read_link(dest.join("latest")).unwrap().to_str().unwrap(), "2.0.0");
    let m: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(p.path("dist/2.0.0/manifest.json")).unwrap()).unwrap();
    assert_eq!(m["destinations"][0]["state"], "promoted");
    // verify the published release (root → latest).
    let v = p.relman(&["verify", dest.to_str().unwrap()]);
    v.ok();
    assert!(v.stdout.contains("verified"), "{}", v.stdout);
}

#[test]
fn release_resumes_after_a_failed_publish() {
    let p = Project::generic(&[T1, T2]);
    p.tag("v1.0.0");
    let blocker = p.outside("x").join("file");
    fs::write(&blocker, "not a directory").unwrap();
    let to = format!("dir:{}", blocker.display());
    let out = p.relman(&["release", "--to", &to]);
    assert_ne!(out.code, 0, "publishing into a file must fail: {}", out.stderr);
    assert!(out.stderr.contains(&blocker.display().to_string()), "{}", out.stderr);
    // Fix the destination and run again: archives already packaged are skipped.
    let dest = p.outside("rel");
    let out = p.relman(&["release", "--to", &format!("dir:{}", dest.display())]);
    out.ok();
    assert!(out.stderr.contains(&format!("tool-1.0.0-{T1}.tar.gz: unchanged")), "{}", out.stderr);
    assert!(dest.join("1.0.0/index.json").is_file());
}

#[test]
fn verify_names_missing_extra_and_mismatched_files() {
    let p = Project::generic(&[T1, T2]);
    p.tag("v1.0.0");
    let dest = p.outside("rel");
    p.relman(&["release", "--to", &format!("dir:{}", dest.display())]).ok();
    let v = dest.join("1.0.0");
    let vs = v.to_str().unwrap();
    p.relman(&["verify", vs]).ok();

    let a1 = v.join(format!("tool-1.0.0-{T1}.tar.gz"));
    let original = fs::read(&a1).unwrap();
    let mut flipped = original.clone();
    flipped[10] ^= 0x40;
    fs::write(&a1, &flipped).unwrap();
    let out = p.relman(&["verify", vs]);
    assert_eq!(out.code, 7, "{}", out.stderr);
    assert!(out.stderr.contains(&format!("tool-1.0.0-{T1}.tar.gz")), "{}", out.stderr);
    fs::write(&a1, &original).unwrap();

    fs::write(v.join("stray.bin"), "x").unwrap();
    let out = p.relman(&["verify", vs]);
    assert_eq!(out.code, 7);
    assert!(out.stderr.contains("stray.bin"), "{}", out.stderr);
    fs::remove_file(v.join("stray.bin")).unwrap();

    let a2 = v.join(format!("tool-1.0.0-{T2}.tar.gz"));
    fs::rename(&a2, v.join("moved")).unwrap();
    let out = p.relman(&["verify", vs]);
    assert_eq!(out.code, 7);
    assert!(out.stderr.contains(&format!("tool-1.0.0-{T2}.tar.gz")), "{}", out.stderr);
    fs::rename(v.join("moved"), &a2).unwrap();

    // Edited checksums.txt disagrees with the manifest.
    let sums = fs::read_to_string(v.join("checksums.txt")).unwrap();
    fs::write(v.join("checksums.txt"), sums.replacen('a', "b", 1)).unwrap();
    let out = p.relman(&["verify", vs]);
    assert_eq!(out.code, 7, "{}", out.stderr);
    assert!(out.stderr.contains("checksums.txt"), "{}", out.stderr);
    fs::write(v.join("checksums.txt"), sums).unwrap();

    // Truncated index.json.
    let index = fs::read_to_string(v.join("index.json")).unwrap();
    fs::write(v.join("index.json"), &index[..index.len() / 2]).unwrap();
    let out = p.relman(&["verify", vs]);
    assert_eq!(out.code, 7, "{}", out.stderr);
    assert!(out.stderr.contains("index.json"), "{}", out.stderr);
    fs::write(v.join("index.json"), index).unwrap();
    p.relman(&["verify", vs]).ok();
}

#[test]
fn verify_and_install_over_http() {
    let p = Project::generic(&[T1, HOST_OR_OTHER]);
    p.tag("v1.0.0");
    let dest = p.outside("rel");
    let to = format!("dir:{}", dest.display());
    p.relman(&["release", "--promote", "--to", &to]).ok();
    let server = Server::serve(&dest);
    let out = p.relman(&["verify", &format!("{}/1.0.0/", server.url), "--json"]);
    out.ok();
    assert_eq!(out.json()["version"], "1.0.0");

    let prefix = p.outside("prefix");
    let out = p.relman(&["install", "--from", &server.url, "--prefix", prefix.to_str().unwrap(), "--target", T1]);
    out.ok();
    let installed = prefix.join("bin/tool");
    let text = fs::read_to_string(&installed).unwrap();
    assert!(text.contains(&format!("tool 1.0.0 {T1}")), "{text}");
    // The same version again: said so, nothing done.
    let again = p.relman(&["install", "--from", &server.url, "--prefix", prefix.to_str().unwrap(), "--target", T1]);
    again.ok();
    assert!(again.stdout.contains(&format!("tool 1.0.0 ({T1}) is already installed")), "{}", again.stdout);
    assert!(!again.stdout.contains("installed tool 1.0.0"), "{}", again.stdout);
    let forced =
        p.relman(&["install", "--from", &server.url, "--prefix", prefix.to_str().unwrap(), "--target", T1, "--force"]);
    forced.ok();
    assert!(forced.stdout.contains("installed tool 1.0.0"), "{}", forced.stdout);

    // Flip a byte on the server: install refuses and leaves the installed binary alone.
    let archive = dest.join(format!("1.0.0/tool-1.0.0-{T1}.tar.gz"));
    let mut bytes = fs::read(&archive).unwrap();
    let n = bytes.len();
    bytes[n - 20] ^= 0xff;
    fs::write(&archive, bytes).unwrap();
    fs::write(&installed, "#!/bin/sh\necho previous\n").unwrap();
    let out = p.relman(&["install", "--from", &server.url, "--prefix", prefix.to_str().unwrap(), "--target", T1]);
    assert_eq!(out.code, 7, "{}", out.stderr);
    assert!(out.stderr.contains(&format!("tool-1.0.0-{T1}.tar.gz")), "{}", out.stderr);
    assert_eq!(fs::read_to_string(&installed).unwrap(), "#!/bin/sh\necho previous\n");

    // A platform the index does not have: the error lists what it has.
    let out = p.relman(&[
        "install",
        "--from",
        &server.url,
        "--prefix",
        prefix.to_str().unwrap(),
        "--target",
        "riscv64gc-unknown-linux-gnu",
    ]);
    assert_eq!(out.code, 10, "{}", out.stderr);
    assert!(out.stderr.contains(T1), "{}", out.stderr);
}

const HOST_OR_OTHER: &str = "aarch64-unknown-linux-gnu";

/// A file in bin/ that relman did not install is refused, with `--force` as the hint; with
/// `--force` it is replaced and kept in the backup.
#[test]
fn install_force_replaces_a_file_relman_did_not_install() {
    let p = Project::generic(&[T1]);
    let dest = p.outside("rel");
    p.tag("v1.0.0");
    p.relman(&["release", "--promote", "--to", &format!("dir:{}", dest.display())]).ok();
    let prefix = p.outside("prefix");
    fs::create_dir_all(prefix.join("bin")).unwrap();
    fs::write(prefix.join("bin/tool"), "#!/bin/sh\necho mine\n").unwrap();
    let (root, pfx) = (dest.to_str().unwrap(), prefix.to_str().unwrap());
    let refused = p.relman(&["install", "--from", root, "--prefix", pfx, "--target", T1]);
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("--force"), "{}", refused.stderr);
    assert_eq!(fs::read_to_string(prefix.join("bin/tool")).unwrap(), "#!/bin/sh\necho mine\n");
    p.relman(&["install", "--from", root, "--prefix", pfx, "--target", T1, "--force"]).ok();
    assert!(fs::read_to_string(prefix.join("bin/tool")).unwrap().contains("tool 1.0.0"));
    let kept = files_under(&prefix.join(".relman"))
        .into_iter()
        .filter(|f| f.file_name().is_some_and(|n| n.to_string_lossy().starts_with("tool")))
        .any(|f| fs::read_to_string(&f).is_ok_and(|t| t == "#!/bin/sh\necho mine\n"));
    assert!(kept, "the replaced file is not kept under .relman/");
}

#[test]
fn install_upgrade_and_rollback_from_a_directory() {
    let p = Project::generic(&[T1]);
    let dest = p.outside("rel");
    let to = format!("dir:{}", dest.display());
    p.tag("v1.0.0");
    p.relman(&["release", "--promote", "--to", &to]).ok();
    let prefix = p.outside("prefix");
    let pfx = prefix.to_str().unwrap();
    let root = dest.to_str().unwrap();
    p.relman(&["install", "--from", root, "--prefix", pfx, "--target", T1]).ok();
    let bin = prefix.join("bin/tool");
    assert!(fs::read_to_string(&bin).unwrap().contains("tool 1.0.0"));

    // Up to date: a no-op.
    let out = p.relman(&["upgrade", "--prefix", pfx, "--target", T1, "--json"]);
    out.ok();
    assert!(out.stdout.contains("1.0.0"), "{}", out.stdout);

    p.write("x.txt", "x");
    p.commit("next");
    p.tag("v1.1.0");
    p.relman(&["release", "--promote", "--to", &to]).ok();
    p.relman(&["upgrade", "--prefix", pfx, "--target", T1]).ok();
    assert!(fs::read_to_string(&bin).unwrap().contains("tool 1.1.0"));

    p.relman(&["upgrade", "--rollback", "--prefix", pfx]).ok();
    assert!(fs::read_to_string(&bin).unwrap().contains("tool 1.0.0"));
}

/// A flat release location (as a forge's `releases/latest/download/` serves the newest
/// release's files, index.json among them, over HTTP): install records it, and upgrade follows
/// its index.json to the next version.
#[test]
fn upgrade_follows_a_flat_location_serving_the_latest_index() {
    let p = Project::generic(&[T1]);
    let dest = p.outside("rel");
    let to = format!("dir:{}", dest.display());
    let latest = p.outside("served").join("download");
    let serve_latest = |version: &str| {
        let _ = fs::remove_dir_all(&latest);
        fs::create_dir_all(&latest).unwrap();
        for e in fs::read_dir(dest.join(version)).unwrap() {
            let e = e.unwrap();
            fs::copy(e.path(), latest.join(e.file_name())).unwrap();
        }
    };
    p.tag("v1.0.0");
    p.relman(&["release", "--to", &to]).ok();
    serve_latest("1.0.0");
    let server = Server::serve(latest.parent().unwrap());
    let url = format!("{}/download/", server.url);
    let prefix = p.outside("prefix");
    let pfx = prefix.to_str().unwrap();
    p.relman(&["install", "--from", &url, "--prefix", pfx, "--target", T1]).ok();
    let bin = prefix.join("bin/tool");
    assert!(fs::read_to_string(&bin).unwrap().contains("tool 1.0.0"));
    let receipt: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(prefix.join(".relman/receipts/tool.json")).unwrap()).unwrap();
    assert_eq!(receipt["root"], url.trim_end_matches('/'), "{receipt}");
    // Nothing newer yet: up to date.
    let out = p.relman(&["upgrade", "--prefix", pfx, "--json"]);
    out.ok();
    assert!(out.stdout.contains("up-to-date"), "{}", out.stdout);

    p.write("x.txt", "x");
    p.commit("next");
    p.tag("v1.1.0");
    p.relman(&["release", "--to", &to]).ok();
    serve_latest("1.1.0");
    p.relman(&["upgrade", "--prefix", pfx]).ok();
    assert!(fs::read_to_string(&bin).unwrap().contains("tool 1.1.0"));
    // A location serving another program is refused by name.
    let other = p.outside("other");
    fs::write(
        other.join("index.json"),
        fs::read_to_string(latest.join("index.json")).unwrap().replace("\"tool\"", "\"other\""),
    )
    .unwrap();
    p.relman(&["upgrade", "--prefix", pfx, "--from", other.to_str().unwrap()]).fails(2, "is `other`, not `tool`");
}

// ---- bad input -------------------------------------------------------------------------

#[test]
fn tag_that_is_not_semver_is_refused() {
    let p = Project::generic(&[T1]);
    p.tag("v1.2");
    p.relman(&["plan"]).fails(4, "tag `v1.2` is not a semantic version");
}

#[test]
fn no_tag_at_head_is_refused_with_a_hint() {
    let p = Project::generic(&[T1]);
    p.tag("v1.0.0");
    p.write("more.txt", "x");
    p.commit("more");
    let out = p.relman(&["plan"]);
    out.fails(4, "no release tag points at HEAD");
    assert!(out.stderr.contains("hint:"), "{}", out.stderr);
    p.relman(&["plan", "--tag", "v1.0.0"]).fails(4, "not at HEAD");
    // A snapshot works and derives from the last tag.
    let out = p.relman(&["plan", "--snapshot", "--json"]);
    out.ok();
    assert!(out.json()["version"].as_str().unwrap().starts_with("1.0.1-snapshot.1.g"));
}

#[test]
fn several_tags_on_one_commit_need_a_choice() {
    let p = Project::generic(&[T1]);
    p.tag("v1.0.0-rc.1");
    p.tag("v1.0.0");
    let out = p.relman(&["plan"]);
    out.fails(4, "several release tags point at HEAD");
    assert!(out.stderr.contains("v1.0.0-rc.1") && out.stderr.contains("--tag"), "{}", out.stderr);
    let out = p.relman(&["plan", "--tag", "v1.0.0-rc.1", "--json"]);
    out.ok();
    assert_eq!(out.json()["version"], "1.0.0-rc.1");
    assert_eq!(out.json()["channel"], "prerelease");
}

#[test]
fn dirty_tree_is_refused_unless_allowed() {
    let p = Project::generic(&[T1]);
    p.tag("v1.0.0");
    p.write("README.md", "changed\n");
    p.relman(&["plan"]).fails(4, "uncommitted changes: README.md");
    p.relman(&["plan", "--allow-dirty"]).ok();
    p.relman(&["plan", "--snapshot"]).ok();
}

#[test]
fn missing_build_output_is_a_build_error() {
    let p = Project::generic(&[T1]);
    let cfg = fs::read_to_string(p.path("relman.toml"))
        .unwrap()
        .replace("output = \"out/{version}/{target}/{binary}{exe}\"", "output = \"elsewhere/{binary}\"");
    p.write("relman.toml", &cfg);
    p.commit("bad output");
    p.tag("v1.0.0");
    let out = p.relman(&["build"]);
    out.fails(5, "did not produce binary `tool`");
    assert!(out.stderr.contains("elsewhere/tool"), "{}", out.stderr);
}

#[test]
fn failing_build_command_names_target_and_log() {
    let p = Project::generic(&[T1]);
    let cfg = fs::read_to_string(p.path("relman.toml")).unwrap();
    let cfg = cfg
        .lines()
        .map(|l| {
            if l.starts_with("command") {
                "command = \"echo 'error: linker exploded' >&2; exit 3\"".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    p.write("relman.toml", &cfg);
    p.commit("failing build");
    p.tag("v1.0.0");
    let out = p.relman(&["build"]);
    out.fails(5, &format!("build for `{T1}` failed (exit 3)"));
    assert!(out.stderr.contains("error: linker exploded"), "{}", out.stderr);
}

#[test]
fn stale_cargo_lockfile_fails_the_build() {
    let p = Project::cargo();
    let toml = fs::read_to_string(p.path("Cargo.toml")).unwrap().replace("version = \"0.1.0\"", "version = \"0.2.0\"");
    p.write("Cargo.toml", &toml);
    p.commit("bump without lockfile");
    p.tag("v0.2.0");
    let out = p.relman(&["build"]);
    out.fails(5, "--locked");
}

#[test]
fn unknown_config_key_and_wrong_type_name_file_line_and_key() {
    let p = Project::generic(&[T1]);
    let cfg = fs::read_to_string(p.path("relman.toml")).unwrap().replace("[package]\n", "[package]\ncompression = 9\n");
    p.write("relman.toml", &cfg);
    let line = cfg.lines().position(|l| l.starts_with("compression")).unwrap() + 1;
    let out = p.relman(&["plan", "--snapshot"]);
    out.fails(3, "unknown field `compression`");
    assert!(out.stderr.contains("relman.toml` line "), "{}", out.stderr);
    assert!(out.stderr.contains(&format!("line {line}")), "{}", out.stderr);
    assert!(out.stderr.contains("package.compression"), "{}", out.stderr);
    assert_eq!(out.stderr.lines().filter(|l| l.starts_with("error:")).count(), 1);

    p.write("relman.toml", "[build]\ntargets = 3\n");
    p.relman(&["plan", "--snapshot"]).fails(3, "build.targets");
}

#[test]
fn errors_under_json_are_machine_readable() {
    let p = Project::generic(&[T1]);
    let out = p.relman(&["plan", "--json"]);
    assert_eq!(out.code, 4);
    let v = out.json();
    assert_eq!(v["error"]["class"], "git");
    assert_eq!(v["error"]["exit_code"], 4);
}

#[test]
fn unsupported_destination_is_a_usage_error() {
    let p = Project::generic(&[T1]);
    p.tag("v1.0.0");
    p.relman(&["release", "--to", "ftp://example.com/x"]).fails(2, "unknown scheme");
}

#[test]
fn help_documents_exit_codes() {
    let out = run_in(std::path::Path::new("."), &["--help"]);
    out.ok();
    assert!(out.stdout.contains("9  promotion gate failed"), "{}", out.stdout);
    assert!(out.stdout.contains("13 busy: another relman holds"), "{}", out.stdout);
}

#[test]
fn release_notes_are_published_and_end_with_verification_commands() {
    let p = Project::generic(&[T1]);
    p.tag("v1.0.0");
    p.write("a.txt", "a");
    p.commit("feat(cli): add --fast (#12)");
    p.write("b.txt", "b");
    p.commit("fix: crash on empty input");
    p.write("c.txt", "c");
    p.commit("tidy things up");
    p.tag("v1.1.0");
    let dest = p.outside("rel");
    p.relman(&["release", "--to", &format!("dir:{}", dest.display())]).ok();
    let notes = fs::read_to_string(dest.join("1.1.0/release-notes.md")).unwrap();
    let feat = notes.find("add --fast").expect(&notes);
    let fix = notes.find("crash on empty input").expect(&notes);
    assert!(feat < fix, "features come before fixes: {notes}");
    assert!(notes.contains("tidy things up"), "non-conventional commits are kept: {notes}");
    assert!(!notes.contains("initial"), "commits of the previous release are not repeated: {notes}");
    assert!(notes.contains("sha256sum --ignore-missing -c checksums.txt"), "{notes}");
    assert!(notes.contains("relman verify"), "{notes}");
}

#[test]
fn release_checks_lockstep_versions_first() {
    let p = Project::cargo();
    // Cargo.toml says 0.1.0 but the tag says 0.2.0: refused before anything is built.
    p.tag("v0.2.0");
    let out = p.relman(&["release"]);
    assert_eq!(out.code, 12, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("Cargo.toml"), "{}", out.stderr);
    assert!(!p.path("dist/0.2.0/build").exists(), "nothing is built when check fails");
    // The standalone command lists the same problem with file:line.
    let out = p.relman(&["check"]);
    assert_eq!(out.code, 12);
    assert!(out.stderr.contains("Cargo.toml:3"), "{}", out.stderr);
}

/// Release-wide promote: a gate failing at one destination moves nothing at any; once every
/// destination passes, both move together. Without --to, the configured destinations.
#[test]
fn a_gate_failing_at_one_destination_moves_nothing_anywhere() {
    let p = Project::generic(&[T1]);
    let (a, b) = (p.outside("a"), p.outside("b"));
    let (to_a, to_b) = (format!("dir:{}", a.display()), format!("dir:{}", b.display()));
    p.tag("v1.0.0");
    p.relman(&["release", "--promote", "--to", &to_a, "--to", &to_b]).ok();
    p.write("two.txt", "2");
    p.commit("two");
    p.tag("v1.1.0");
    p.relman(&["release", "--to", &to_a, "--to", &to_b]).ok();
    // 1.1.0 at b is damaged: its verified gate fails.
    let archive = b.join(format!("1.1.0/tool-1.1.0-{T1}.tar.gz"));
    let mut bytes = fs::read(&archive).unwrap();
    bytes[40] ^= 1;
    fs::write(&archive, &bytes).unwrap();
    let out = p.relman(&["promote", "1.1.0", "--to", &to_a, "--to", &to_b]);
    out.fails(9, &format!("gate verified at `{to_b}`"));
    assert!(out.stderr.contains("at 2 destinations (nothing was moved at any)"), "{}", out.stderr);
    for dest in [&a, &b] {
        assert_eq!(fs::read_link(dest.join("latest")).unwrap().to_str().unwrap(), "1.0.0", "{}", dest.display());
        let ch = fs::read_to_string(dest.join("channels.json")).unwrap();
        assert!(ch.contains("\"1.0.0\""), "{ch}");
    }
    // Repaired (the version published again), both move.
    fs::remove_dir_all(b.join("1.1.0")).unwrap();
    p.relman(&["publish", "--to", &to_b]).ok();
    let out = p.relman(&["promote", "1.1.0", "--to", &to_a, "--to", &to_b]);
    out.ok();
    for dest in [&a, &b] {
        assert_eq!(fs::read_link(dest.join("latest")).unwrap().to_str().unwrap(), "1.1.0");
    }

    // Without --to: release.to of relman.toml.
    let toml = fs::read_to_string(p.path("relman.toml")).unwrap();
    p.write("relman.toml", &format!("{toml}\n[release]\nto = [\"{to_a}\"]\n"));
    p.commit("destinations");
    let out = p.relman(&["promote", "1.0.0", "--allow-downgrade"]);
    out.ok();
    assert_eq!(fs::read_link(a.join("latest")).unwrap().to_str().unwrap(), "1.0.0");
    assert_eq!(fs::read_link(b.join("latest")).unwrap().to_str().unwrap(), "1.1.0");
}

/// Yank at a dir: destination: a dry run lists and removes nothing; the version latest points
/// at is refused with the gate code unless --force (which removes latest and the stable
/// channel first); another version goes, and the release root still verifies.
#[test]
fn yank_at_a_dir_destination() {
    let p = Project::generic(&[T1]);
    let dest = p.outside("rel");
    let to = format!("dir:{}", dest.display());
    p.tag("v1.0.0");
    p.relman(&["release", "--promote", "--to", &to]).ok();
    p.write("two.txt", "2");
    p.commit("two");
    p.tag("v1.1.0");
    p.relman(&["release", "--promote", "--to", &to]).ok();

    let dry = p.relman(&["yank", "1.0.0", "--to", &to, "--dry-run"]);
    dry.ok();
    assert!(dry.stdout.contains(&format!("would remove 1.0.0/tool-1.0.0-{T1}.tar.gz")), "{}", dry.stdout);
    assert!(dest.join("1.0.0/index.json").is_file());
    // Without --yes and no terminal: refused, nothing removed.
    p.relman(&["yank", "1.0.0", "--to", &to]).fails(2, "needs confirmation");
    assert!(dest.join("1.0.0").is_dir());

    // A dry run lists the latest version too, saying what blocks it.
    let dry = p.relman(&["yank", "1.1.0", "--to", &to, "--dry-run"]);
    dry.ok();
    assert!(dry.stdout.contains("blocked latest points at 1.1.0 (refused without --force)"), "{}", dry.stdout);
    p.relman(&["yank", "1.1.0", "--to", &to, "--yes"]).fails(9, "latest");
    assert!(dest.join("1.1.0").is_dir());

    let out = p.relman(&["yank", "1.0.0", "--to", &to, "--yes"]);
    out.ok();
    assert!(!dest.join("1.0.0").exists());
    p.relman(&["verify", dest.to_str().unwrap()]).ok();
    // Again: nothing left to do.
    let again = p.relman(&["yank", "1.0.0", "--to", &to, "--yes"]);
    again.ok();
    assert!(again.stdout.contains("1.0.0 is not at"), "{}", again.stdout);

    // --force on the latest version: the pointers go first, then the directory.
    p.relman(&["yank", "1.1.0", "--to", &to, "--yes", "--force"]).ok();
    assert!(!dest.join("1.1.0").exists() && fs::symlink_metadata(dest.join("latest")).is_err());
    let ch: serde_json::Value = serde_json::from_str(&fs::read_to_string(dest.join("channels.json")).unwrap()).unwrap();
    assert!(ch["stable"].is_null(), "{ch}");
    let names: Vec<String> =
        fs::read_dir(&dest).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert!(names.iter().all(|n| !n.starts_with(".relman-staging-")), "{names:?}");
}

/// `verify` on a release root where nothing is promoted verifies every version in it; a
/// damaged one fails naming its directory.
#[test]
fn verify_of_an_unpromoted_root_checks_every_version() {
    let p = Project::generic(&[T1]);
    let dest = p.outside("rel");
    let to = format!("dir:{}", dest.display());
    p.tag("v1.0.0");
    p.relman(&["release", "--to", &to]).ok();
    p.write("two.txt", "2");
    p.commit("two");
    p.tag("v1.1.0");
    p.relman(&["release", "--to", &to]).ok();
    let root = dest.to_str().unwrap();
    let out = p.relman(&["verify", root]);
    out.ok();
    assert!(out.stdout.contains("verified 2 versions"), "{}", out.stdout);
    let json = p.relman(&["verify", root, "--json"]).json();
    assert_eq!(json.as_array().unwrap().len(), 2);
    assert_eq!(json[0]["version"], "1.0.0");
    let index = dest.join("1.0.0/index.json");
    let text = fs::read_to_string(&index).unwrap().replace("1.0.0", "1.0.9");
    fs::write(&index, text).unwrap();
    let out = p.relman(&["verify", root]);
    assert_eq!(out.code, 7, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains(&format!("problem(s) in `{}`", dest.join("1.0.0").display())), "{}", out.stderr);
}

/// Release-wide publish: every destination is checked before anything is written, so a
/// conflict at the second destination leaves the first untouched.
#[test]
fn a_conflict_at_one_destination_writes_nothing_anywhere() {
    let p = Project::generic(&[T1]);
    let (a, b) = (p.outside("a"), p.outside("b"));
    let (to_a, to_b) = (format!("dir:{}", a.display()), format!("dir:{}", b.display()));
    p.tag("v1.0.0");
    // b already holds another index.json under 1.0.0.
    fs::create_dir_all(b.join("1.0.0")).unwrap();
    fs::write(b.join("1.0.0/index.json"), "{}").unwrap();
    let out = p.relman(&["release", "--to", &to_a, "--to", &to_b]);
    out.fails(8, &format!("`{to_b}` already holds a different `index.json` for 1.0.0"));
    assert!(!a.join("1.0.0").exists(), "written at the first destination before the second was checked");
    // A destination path under a file: a usage error naming it, nothing written.
    let file = p.outside("f").join("plain");
    fs::write(&file, "x").unwrap();
    let out = p.relman(&["release", "--to", &to_a, "--to", &format!("dir:{}/rel", file.display())]);
    out.fails(2, "is not a directory");
    assert!(!a.join("1.0.0").exists());
}

/// `relman summary`: what each destination really holds against the release record, written
/// as release-summary.md/.json (also after promote); a damaged or extra file is exit 7; works
/// from a fresh clone, where the record comes from the destination.
#[test]
fn summary_compares_the_record_with_what_is_there() {
    let p = Project::generic(&[T1]);
    let dest = p.outside("rel");
    let to = format!("dir:{}", dest.display());
    let toml = fs::read_to_string(p.path("relman.toml")).unwrap();
    p.write("relman.toml", &format!("{toml}\n[release]\nto = [\"{to}\"]\n"));
    p.commit("destination");
    p.tag("v1.0.0");
    let out = p.relman(&["release", "--promote"]);
    out.ok();
    assert!(out.stderr.contains("summary: "), "{}", out.stderr);
    let md = fs::read_to_string(p.path("dist/1.0.0/release-summary.md")).unwrap();
    assert!(md.contains("Every destination holds what the release record expects"), "{md}");
    assert!(md.contains("| `latest` | 1.0.0 |") && md.contains("relman verify"), "{md}");

    let json = p.relman(&["summary", "1.0.0", "--json"]);
    json.ok();
    let v = json.json();
    assert_eq!(v["ok"], true);
    let assets = v["destinations"][0]["assets"].as_array().unwrap();
    assert!(assets.iter().any(|a| a["name"] == format!("tool-1.0.0-{T1}.tar.gz") && a["status"] == "ok"), "{v}");
    let gates = v["destinations"][0]["gates"].as_array().unwrap();
    assert!(gates.iter().all(|g| g["passed"] == true), "{v}");

    // Damaged and extra files at the destination.
    let archive = dest.join(format!("1.0.0/tool-1.0.0-{T1}.tar.gz"));
    let mut bytes = fs::read(&archive).unwrap();
    bytes[30] ^= 1;
    fs::write(&archive, &bytes).unwrap();
    fs::write(dest.join("1.0.0/stray.bin"), b"x").unwrap();
    let out = p.relman(&["summary", "1.0.0"]);
    assert_eq!(out.code, 7, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains(&format!("different tool-1.0.0-{T1}.tar.gz")), "{}", out.stdout);
    assert!(out.stdout.contains("extra     stray.bin"), "{}", out.stdout);
    assert!(out.stderr.contains("problem: "), "{}", out.stderr);

    // A fresh clone: no dist/, the record read from the destination.
    let clone = p.outside("clone");
    let st = Command::new("git").args(["clone", "-q"]).arg(&p.dir).arg(&clone).output().unwrap();
    assert!(st.status.success());
    fs::write(&archive, {
        bytes[30] ^= 1;
        &bytes
    })
    .unwrap();
    fs::remove_file(dest.join("1.0.0/stray.bin")).unwrap();
    run_in(&clone, &["summary", "1.0.0"]).ok();
    assert!(clone.join("dist/1.0.0/release-summary.json").is_file());
}

#[test]
fn build_command_placeholders_every_ecosystem_understands() {
    let p = Project::empty();
    p.write(
        "relman.toml",
        "[project]\nname = \"tool\"\n\n[build]\ntargets = [\"x86_64-unknown-linux-gnu\", \"aarch64-apple-darwin\", \"x86_64-pc-windows-msvc\"]\n\
         binaries = [\"tool\"]\n\
         command = \"mkdir -p out/{goos}-{goarch} && echo '{target} {os} {arch} {goos} {goarch} {docker_arch} [{exe}] {binary} {version} {commit} {date}' $GOOS $GOARCH $RELMAN_GOOS $RELMAN_COMMIT > out/{goos}-{goarch}/{binary}{exe}\"\n\
         output = \"out/{goos}-{goarch}/{binary}{exe}\"\n",
    );
    p.write(".gitignore", "/out\n/dist\n");
    p.commit("go-style build");
    p.tag("v2.3.4");
    p.relman(&["build"]).ok();
    let commit = p.git(&["rev-parse", "HEAD"]);
    let epoch = p.git(&["log", "-1", "--format=%ct"]);
    let out = std::process::Command::new("date")
        .args(["-u", "-d", &format!("@{epoch}"), "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .unwrap();
    let date = String::from_utf8_lossy(&out.stdout).trim().to_string();
    for (file, want) in [
        (
            "out/linux-amd64/tool",
            format!("x86_64-unknown-linux-gnu linux x86_64 linux amd64 amd64 [] tool 2.3.4 {commit} "),
        ),
        (
            "out/darwin-arm64/tool",
            format!("aarch64-apple-darwin macos aarch64 darwin arm64 arm64 [] tool 2.3.4 {commit} "),
        ),
        (
            "out/windows-amd64/tool.exe",
            format!("x86_64-pc-windows-msvc windows x86_64 windows amd64 amd64 [.exe] tool 2.3.4 {commit} "),
        ),
    ] {
        let text = fs::read_to_string(p.path(file)).unwrap();
        assert!(text.starts_with(&want), "{file}: {text}");
        let rest: Vec<&str> = text[want.len()..].split_whitespace().collect();
        let (goos, goarch) = (want.split(' ').nth(3).unwrap(), want.split(' ').nth(4).unwrap());
        assert_eq!(rest, [date.as_str(), goos, goarch, goos, commit.as_str()], "{file}: {{date}} and the environment");
    }
    // {binary} with several binaries is refused, naming the key.
    let cfg = fs::read_to_string(p.path("relman.toml"))
        .unwrap()
        .replace("binaries = [\"tool\"]", "binaries = [\"tool\", \"other\"]");
    p.write("relman.toml", &cfg);
    p.relman(&["build", "--allow-dirty"]).fails(3, "`build.command` uses {binary}");
}

#[test]
fn a_rerun_with_nothing_changed_builds_and_packages_nothing() {
    let p = Project::empty();
    p.write(
        "relman.toml",
        "[project]\nname = \"tool\"\n\n[build]\nbinaries = [\"tool\"]\n\
         command = \"echo ran >> runs.log && mkdir -p out && printf '#!/bin/sh\\\\necho tool\\\\n' > out/tool && chmod +x out/tool\"\n\
         output = \"out/{binary}\"\n",
    );
    p.write(".gitignore", "/out\n/dist\n/runs.log\n");
    // A lockfile: SBOMs per archive, which a re-run does not collect again.
    p.write("go.sum", "github.com/google/uuid v1.6.0 h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0=\n");
    p.commit("tool");
    p.tag("v1.0.0");
    let runs = || fs::read_to_string(p.path("runs.log")).unwrap_or_default().lines().count();
    p.relman(&["release"]).ok();
    assert_eq!(runs(), 1);
    let out = p.relman(&["release"]);
    out.ok();
    assert_eq!(runs(), 1, "the build command did not run again");
    assert!(out.stderr.contains("unchanged (same commit, command and outputs), not rebuilt"), "{}", out.stderr);
    assert!(out.stderr.contains(&format!("tool-1.0.0-{HOST}.tar.gz: unchanged")), "{}", out.stderr);
    assert!(out.stderr.contains("2 SBOMs: unchanged"), "{}", out.stderr);
    assert!(out.stderr.contains("already published, nothing to do"), "{}", out.stderr);
    // An output changed behind relman's back: built again.
    fs::write(p.path("out/tool"), "#!/bin/sh\necho changed\n").unwrap();
    p.relman(&["build"]).ok();
    assert_eq!(runs(), 2);
    // --force-rebuild runs it whatever the stamp says.
    p.relman(&["build", "--force-rebuild"]).ok();
    assert_eq!(runs(), 3);
    // A dirty tree is never trusted.
    p.write("README.md", "dirty\n");
    p.relman(&["build", "--allow-dirty"]).ok();
    assert_eq!(runs(), 4);
}

#[test]
fn a_service_without_binaries_releases_its_chart_and_docs() {
    let p = Project::empty();
    p.write(
        "relman.toml",
        "[project]\nname = \"api\"\n\n[[chart]]\npath = \"deploy/chart\"\n\n[docs]\ndir = \"site\"\n",
    );
    p.write(
        "deploy/chart/Chart.yaml",
        "apiVersion: v2\nname: api\ndescription: The API\nversion: 2.0.0\nappVersion: 2.0.0\n",
    );
    p.write("deploy/chart/values.yaml", "replicas: 1\n");
    p.write("deploy/chart/templates/deployment.yaml", "kind: Deployment\n");
    p.write("site/index.html", "<!doctype html><title>api docs</title><p>API docs</p>\n");
    p.write(".gitignore", "/dist\n");
    p.commit("a service: a chart and its docs");
    p.tag("v2.0.0");
    let out = p.relman(&["release", "--promote", "--json"]);
    out.ok();
    let m: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(p.path("dist/2.0.0/manifest.json")).unwrap()).unwrap();
    let kinds: Vec<&str> = m["artifacts"].as_array().unwrap().iter().map(|a| a["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["chart", "checksums", "index", "notes", "page"], "no archive, no installer");
    assert_eq!(m["targets"], serde_json::json!([]));
    let sums = fs::read_to_string(p.path("dist/releases/2.0.0/checksums.txt")).unwrap();
    assert!(sums.contains("api-2.0.0.tgz"), "{sums}");
    assert!(p.path("dist/docs-site/2.0.0/index.html").is_file());
    assert!(p.path("dist/releases/latest").exists());
    p.relman(&["verify", &p.path("dist/releases/2.0.0").display().to_string()]).ok();
    // With nothing to ship at all, the error says what a release needs.
    let q = Project::empty();
    q.write("relman.toml", "[project]\nname = \"nothing\"\n");
    q.commit("nothing");
    q.tag("v1.0.0");
    q.relman(&["plan"]).fails(3, "no `Cargo.toml`");
}

#[test]
fn init_makes_a_service_config_from_a_dockerfile_and_a_chart() {
    let p = Project::empty();
    p.write("pyproject.toml", "[project]\nname = \"pysvc\"\nversion = \"0.4.0\"\n");
    p.write("Dockerfile", "FROM python:3.12-slim AS base\nCOPY . /app\nFROM --platform=$BUILDPLATFORM scratch\n");
    p.write("charts/pysvc/Chart.yaml", "apiVersion: v2\nname: pysvc\nversion: 0.4.0\nappVersion: 0.4.0\n");
    p.write("charts/pysvc/values.yaml", "replicas: 1\n");
    p.write("charts/pysvc/templates/d.yaml", "kind: Deployment\n");
    let out = p.relman(&["init", "--dry-run"]);
    out.ok();
    let text = out.stdout;
    assert!(
        !text.lines().any(|l| l.starts_with("[build]") || l.starts_with("binaries =")),
        "a service builds nothing per target:\n{text}"
    );
    assert!(text.contains("[[image]]\nname = \"pysvc\"\ndockerfile = \"Dockerfile\""), "{text}");
    assert!(text.contains("# FROM python:3.12-slim is not pinned by digest"), "{text}");
    assert!(!text.contains("FROM scratch is not pinned"), "{text}");
    assert!(text.contains("[[chart]]\npath = \"charts/pysvc\"\nrepository = \"charts\""), "{text}");
    // As written, it plans the image and the chart, and no archive.
    p.relman(&["init"]).ok();
    p.write(".gitignore", "/dist\n");
    p.commit("service");
    p.tag("v0.4.0");
    let plan = p.relman(&["plan", "--json"]);
    plan.ok();
    let m = plan.json();
    assert_eq!(m["images"][0]["name"], "pysvc");
    let kinds: Vec<&str> = m["artifacts"].as_array().unwrap().iter().map(|a| a["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"chart") && !kinds.contains(&"archive"), "{kinds:?}");
}

#[test]
fn completions_and_man_page() {
    let p = Project::empty();
    let bash = p.relman(&["completions", "bash"]);
    bash.ok();
    let script = p.path("relman.bash");
    fs::write(&script, &bash.stdout).unwrap();
    // bash loads it and registers the completion; it completes subcommands and their flags.
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source '{}' && complete -p relman && COMP_WORDS=(relman pro) COMP_CWORD=1 COMP_LINE='relman pro' COMP_POINT=10 && _relman relman pro relman && printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display()
        ))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("-F _relman relman") && said.lines().any(|l| l == "promote"), "{said}");
    for shell in ["zsh", "fish"] {
        let o = p.relman(&["completions", shell]);
        o.ok();
        assert!(o.stdout.contains("promote"), "{shell}");
    }
    let man = p.relman(&["man"]);
    man.ok();
    assert!(
        man.stdout.contains(".TH relman 1") && man.stdout.contains("promote"),
        "{}",
        &man.stdout[..200.min(man.stdout.len())]
    );
    p.relman(&["completions", "tcsh"]).fails(2, "invalid value");
}

#[test]
fn install_from_a_root_with_nothing_promoted_names_the_published_versions() {
    let p = Project::generic(&[common::HOST]);
    p.tag("v1.0.0");
    let rel = p.outside("rel");
    p.relman(&["release", "--to", &format!("dir:{}", rel.display())]).ok();
    let prefix = p.outside("prefix");
    let root = rel.display().to_string();
    let prefix_s = prefix.display().to_string();
    let out = p.relman(&["install", "--from", &root, "--prefix", &prefix_s]);
    out.fails(2, "has no `channels.json`: no version is promoted there yet (published: 1.0.0)");
    assert!(out.stderr.contains("pass --version 1.0.0"), "{}", out.stderr);
    assert!(!prefix.join("bin").exists(), "nothing written");
    p.relman(&["install", "--from", &root, "--version", "1.0.0", "--prefix", &prefix_s]).ok();
}

#[test]
fn a_notes_template_gets_the_release_artifacts_images_and_verify_commands() {
    let p = Project::generic(&[T1, TW]);
    p.write(
        "notes.md.j2",
        "# {{ tag }}\n\n{% for a in release.artifacts if a.kind == \"archive\" %}- {{ a.name }}: {{ a.os }}/{{ a.arch }}, {{ a.size }} bytes, sha256 {{ a.sha256[:12] }}\n{% endfor %}\n{{ release.verify }}\n{% if release.install %}Install: `{{ release.install }}`{% endif %}\n",
    );
    let toml = fs::read_to_string(p.path("relman.toml")).unwrap();
    p.write("relman.toml", &format!("{toml}\n[notes]\ntemplate = \"notes.md.j2\"\n"));
    p.commit("feat: notes template");
    p.tag("v1.0.0");
    p.relman(&["release", "--to", &format!("dir:{}", p.outside("rel").display())]).ok();
    let notes = fs::read_to_string(p.path("dist/1.0.0/release-notes.md")).unwrap();
    let m: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(p.path("dist/1.0.0/manifest.json")).unwrap()).unwrap();
    for a in m["artifacts"].as_array().unwrap().iter().filter(|a| a["kind"] == "archive") {
        let line = format!(
            "- {}: {}, {} bytes, sha256 {}",
            a["name"].as_str().unwrap(),
            if a["target"].as_str().unwrap().contains("windows") { "windows/x86_64" } else { "linux/x86_64" },
            a["size"],
            &a["sha256"].as_str().unwrap()[..12]
        );
        assert!(notes.contains(&line), "{line:?} not in:\n{notes}");
    }
    assert_eq!(
        notes.matches("## Verify this release").count(),
        1,
        "shown by the template, not appended again:\n{notes}"
    );

    // A variable that does not exist is named, with the list of those that do.
    p.write("notes.md.j2", "# {{ tag }}\n{{ release.artefacts }}\n");
    let out = p.relman(&["notes"]);
    out.fails(3, "unknown variable `release.artefacts`");
    assert!(
        out.stderr.contains("release.artifacts, release.images, release.install, release.verify"),
        "{}",
        out.stderr
    );
    p.write("notes.md.j2", "# {{ tagg }}\n");
    p.relman(&["notes"]).fails(3, "unknown variable `tagg`");
    // `release` outside a packaged release: the hint says how to guard it.
    p.write("notes.md.j2", "# {{ tag }}\n{{ release.verify }}\n");
    let out = p.relman(&["notes"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("{% if release is defined %}"), "{}", out.stderr);
    p.write("notes.md.j2", "# {{ tag }}\n{% if release is defined %}{{ release.verify }}{% endif %}\n");
    p.relman(&["notes"]).ok();
}

#[test]
fn chart_templates_are_parsed_like_helm_and_problems_named_with_their_line() {
    let p = Project::empty();
    p.write("relman.toml", "[project]\nname = \"api\"\n\n[[chart]]\npath = \"chart\"\n");
    p.write("chart/Chart.yaml", "apiVersion: v2\nname: api\nversion: 1.0.0\nappVersion: 1.0.0\n");
    p.write("chart/values.yaml", "replicas: 1\nimage:\n  tag: \"1.0.0\"\n");
    p.write(
        "chart/templates/_helpers.tpl",
        "{{/* the name */}}\n{{- define \"api.name\" -}}\n{{ .Chart.Name | trunc 63 | trimSuffix \"-\" }}\n{{- end }}\n",
    );
    p.write(
        "chart/templates/deployment.yaml",
        "kind: Deployment\nmetadata:\n  name: {{ include \"api.name\" . }}\nspec:\n  replicas: {{ .Values.replicas }}\n  {{- if .Values.extra }}\n  extra: {{ .Values.extra | toYml | nindent 4 }}\n",
    );
    p.write("chart/templates/cm.yaml", "kind: ConfigMap\ndata:\n  home: {{ env \"HOME\" }}\n  x: {{ \"unclosed }}\n");
    p.write(".gitignore", "/dist\n");
    p.commit("a chart with broken templates");
    p.tag("v1.0.0");
    let out = p.relman(&["check"]);
    out.fails(12, "chart/templates/deployment.yaml:7: chart template: expected a template Helm can parse, found function \"toYml\" not defined");
    for want in [
        "chart/templates/deployment.yaml:6: chart template: expected a template Helm can parse, found {{ if }} has no {{ end }}",
        "chart/templates/cm.yaml:3: chart template: expected a template Helm can parse, found function \"env\" not defined (Helm removes sprig's env)",
    ] {
        assert!(out.stderr.contains(want), "{want:?} not in:\n{}", out.stderr);
    }
    assert!(!out.stderr.contains("_helpers.tpl"), "the helpers are fine:\n{}", out.stderr);
    // The release stops before anything is built or published.
    p.relman(&["release"]).fails(12, "toYml");
    assert!(!p.path("dist/releases/1.0.0").exists());

    // Fixed: check passes and the chart is released.
    p.write(
        "chart/templates/deployment.yaml",
        "kind: Deployment\nmetadata:\n  name: {{ include \"api.name\" . }}\nspec:\n  replicas: {{ .Values.replicas }}\n  {{- if .Values.extra }}\n  extra: {{ .Values.extra | toYaml | nindent 4 }}\n  {{- end }}\n",
    );
    p.write("chart/templates/cm.yaml", "kind: ConfigMap\ndata:\n  home: {{ .Values.home | default \"/\" | quote }}\n");
    p.commit("fix the templates");
    p.git(&["tag", "-d", "v1.0.0"]);
    p.tag("v1.0.0");
    p.relman(&["check"]).ok();
    p.relman(&["release"]).ok();
}

/// With `helm` on PATH, `relman check` runs `helm lint` and `helm template` on each chart and
/// reports a failure with helm's words. (Helm is not packaged for this machine: a stand-in
/// `helm` that behaves like it — the arguments it is given recorded, its exit status and
/// output as helm's — shows the contract; with no helm on PATH nothing is run.)
#[test]
fn with_helm_on_path_check_runs_helm_lint_and_template() {
    let p = Project::empty();
    p.write("relman.toml", "[project]\nname = \"api\"\n\n[[chart]]\npath = \"chart\"\n");
    p.write("chart/Chart.yaml", "apiVersion: v2\nname: api\nversion: 1.0.0\nappVersion: 1.0.0\n");
    p.write("chart/values.yaml", "replicas: 1\n");
    p.write("chart/templates/cm.yaml", "kind: ConfigMap\n");
    p.write(".gitignore", "/dist\n");
    p.commit("a chart");
    p.tag("v1.0.0");
    let bin = p.outside("helm-bin");
    let log = p.outside("helm-log").join("calls");
    let helm = bin.join("helm");
    let script = |fail: bool| {
        format!(
            "#!/bin/sh\necho \"$@\" >> {}\ncase \"$1\" in lint) {} ;; esac\nexit 0\n",
            log.display(),
            if fail {
                "echo '==> Linting chart'; echo '[ERROR] templates/cm.yaml: object name does not conform to Kubernetes naming requirements'; echo 'Error: 1 chart(s) linted, 1 chart(s) failed'; exit 1"
            } else {
                "echo '1 chart(s) linted, 0 chart(s) failed'"
            }
        )
    };
    fs::write(&helm, script(true)).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&helm, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let out = p.relman_env(&["check"], &[("PATH", &path)]);
    out.fails(12, "chart/Chart.yaml: chart `helm lint`: expected success, found [ERROR] templates/cm.yaml: object name does not conform");
    let calls = fs::read_to_string(&log).unwrap();
    assert!(calls.contains(&format!("lint {}", p.path("chart").display())), "{calls}");
    assert!(calls.contains(&format!("template api {}", p.path("chart").display())), "{calls}");
    fs::write(&helm, script(false)).unwrap();
    p.relman_env(&["check"], &[("PATH", &path)]).ok();
    // Without helm, relman's own checks stand alone.
    fs::remove_file(&log).unwrap();
    p.relman(&["check"]).ok();
    assert!(!log.exists());
}

#[test]
fn check_flags_a_lockfile_out_of_step_with_package_json_and_python_without_a_lockfile() {
    let p = Project::generic(&[T1]);
    p.write(
        "package.json",
        "{\n  \"name\": \"tool\",\n  \"version\": \"1.0.0\",\n  \"dependencies\": { \"left-pad\": \"^1.3.0\", \"ms\": \"^2.1.3\" }\n}\n",
    );
    p.write(
        "package-lock.json",
        "{\n  \"name\": \"tool\",\n  \"version\": \"1.0.0\",\n  \"lockfileVersion\": 3,\n  \"packages\": {\n    \"\": { \"name\": \"tool\", \"version\": \"1.0.0\", \"dependencies\": { \"ms\": \"^2.1.2\", \"chalk\": \"^5.0.0\" } }\n  }\n}\n",
    );
    p.commit("feat: node deps");
    p.tag("v1.0.0");
    let out = p.relman(&["check"]);
    out.fails(12, "package-lock.json: dependencies `left-pad` of package.json (run `npm install` to update the lockfile): expected `^1.3.0`, found not in the lockfile");
    assert!(out.stderr.contains("dependencies `ms` of package.json (run `npm install` to update the lockfile): expected `^2.1.3`, found `^2.1.2`"), "{}", out.stderr);
    assert!(out.stderr.contains("dependencies `chalk`, which package.json no longer lists"), "{}", out.stderr);

    // A bin script that loads a file beside it would not run once installed on its own.
    let node = Project::generic(&[T1]);
    node.write(
        "package.json",
        "{\n  \"name\": \"@acme/greet\",\n  \"version\": \"1.0.0\",\n  \"bin\": { \"greet\": \"bin/greet.js\" }\n}\n",
    );
    node.write(
        "bin/greet.js",
        "#!/usr/bin/env node\nconst { version } = require(\"../package.json\");\nconsole.log(version);\n",
    );
    node.commit("feat: greet");
    node.tag("v1.0.0");
    let out = node.relman(&["check"]);
    assert!(out.stderr.contains("package.json bin `bin/greet.js` loads `../package.json` beside it"), "{}", out.stderr);
    node.write(
        "bin/greet.js",
        "#!/usr/bin/env node\nconst VERSION = \"1.0.0\";\nconsole.log(require(\"node:os\").EOL + VERSION);\n",
    );
    node.commit("self-contained");
    node.git(&["tag", "-d", "v1.0.0"]);
    node.tag("v1.0.0");
    assert!(!node.relman(&["check"]).stderr.contains("beside it"));

    let py = Project::generic(&[T1]);
    py.write("pyproject.toml", "[project]\nname = \"tool\"\nversion = \"1.0.0\"\ndependencies = [\"requests>=2\"]\n");
    py.commit("feat: python deps");
    py.tag("v1.0.0");
    let out = py.relman(&["check"]);
    out.ok();
    assert!(out.stderr.contains("pyproject.toml lists dependencies but the project has no lockfile"), "{}", out.stderr);
    py.write("uv.lock", "version = 1\n");
    py.commit("lock");
    py.git(&["tag", "-d", "v1.0.0"]);
    py.tag("v1.0.0");
    assert!(!py.relman(&["check"]).stderr.contains("no lockfile"));
}

#[test]
fn a_snapshot_release_packages_its_chart_with_the_snapshot_version() {
    let p = Project::empty();
    p.write("relman.toml", "[project]\nname = \"api\"\n\n[[chart]]\npath = \"chart\"\n");
    p.write("chart/Chart.yaml", "apiVersion: v2\nname: api\n# the chart\nversion: 1.0.0\nappVersion: \"1.0.0\"\n");
    p.write("chart/values.yaml", "image:\n  tag: \"1.0.0\"\n");
    p.write("chart/templates/d.yaml", "kind: Deployment\nimage: {{ .Values.image.tag | default .Chart.AppVersion }}\n");
    p.write(".gitignore", "/dist\n");
    p.commit("feat: api");
    p.tag("v1.0.0");
    p.write("NEWS", "more\n");
    p.commit("fix: more");
    let out = p.relman(&["--json", "release", "--snapshot"]);
    out.ok();
    let version = out.json()["version"].as_str().unwrap().to_string();
    assert!(version.starts_with("1.0.1-snapshot.1.g"), "{version}");
    let tgz = p.path(&format!("dist/{version}/api-{version}.tgz"));
    let f = fs::File::open(&tgz).unwrap_or_else(|e| panic!("{}: {e}", tgz.display()));
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(f));
    let mut chart_yaml = String::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap().to_str() == Some("api/Chart.yaml") {
            std::io::Read::read_to_string(&mut e, &mut chart_yaml).unwrap();
        }
    }
    assert_eq!(
        chart_yaml,
        format!("apiVersion: v2\nname: api\n# the chart\nversion: {version}\nappVersion: \"{version}\"\n")
    );
    assert_eq!(
        fs::read_to_string(p.path("chart/Chart.yaml")).unwrap().matches("1.0.0").count(),
        2,
        "the tree is untouched"
    );
    p.relman(&["verify", &p.path(&format!("dist/releases/{version}")).display().to_string()]).ok();
}

#[test]
fn bump_moves_the_values_image_tags_that_check_compares() {
    let p = Project::empty();
    p.write("relman.toml", "[project]\nname = \"api\"\n\n[[chart]]\npath = \"chart\"\n");
    p.write("chart/Chart.yaml", "apiVersion: v2\nname: api\nversion: 1.0.0\nappVersion: \"1.0.0\"\n");
    p.write(
        "chart/values.yaml",
        "image:\n  repository: ghcr.io/acme/api\n  tag: \"1.0.0\"\nworker:\n  image:\n    tag: v1.0.0 # the worker\nrelease:\n  tag: 1.0.0\n",
    );
    p.write("chart/templates/d.yaml", "kind: Deployment\n");
    p.write(".gitignore", "/dist\n");
    p.commit("feat: api");
    p.tag("v1.0.0");
    p.write("NEWS", "fix\n");
    p.commit("fix: a bug");
    let out = p.relman(&["bump", "patch"]);
    out.ok();
    assert_eq!(
        fs::read_to_string(p.path("chart/values.yaml")).unwrap(),
        "image:\n  repository: ghcr.io/acme/api\n  tag: \"1.0.1\"\nworker:\n  image:\n    tag: v1.0.1 # the worker\nrelease:\n  tag: 1.0.0\n",
        "the image tags move; a `tag` that is not an image's stays"
    );
    p.relman(&["check"]).ok();
}

#[test]
fn a_failed_install_leaves_no_directories_it_made() {
    let p = Project::generic(&[common::HOST]);
    p.tag("v1.0.0");
    let rel = p.outside("rel");
    p.relman(&["release", "--to", &format!("dir:{}", rel.display())]).ok();
    let archive = rel.join(format!("1.0.0/tool-1.0.0-{}.tar.gz", common::HOST));
    let mut bytes = fs::read(&archive).unwrap();
    bytes[40] ^= 1;
    fs::write(&archive, bytes).unwrap();
    let from = rel.join("1.0.0").display().to_string();
    let fresh = p.tmp.path().join("fresh-prefix");
    let out = p.relman(&["install", "--from", &from, "--prefix", &fresh.display().to_string()]);
    out.fails(7, "sha256 mismatch");
    assert!(!fresh.exists(), "the prefix it would have made is not there");
    // A prefix that was there keeps what it had, and gets nothing new.
    let used = p.outside("used-prefix");
    fs::create_dir_all(used.join("bin")).unwrap();
    fs::write(used.join("bin/other"), "mine").unwrap();
    p.relman(&["install", "--from", &from, "--prefix", &used.display().to_string()]).fails(7, "sha256 mismatch");
    let left: Vec<_> =
        common::files_under(&used).into_iter().map(|f| f.strip_prefix(&used).unwrap().display().to_string()).collect();
    assert_eq!(left, ["bin/other"]);
    assert!(!used.join(".relman").exists());
}

/// A clone of this repository in `tmp`, its HEAD tagged with this relman's version.
fn relman_clone_at_a_tag(tmp: &std::path::Path) -> std::path::PathBuf {
    let clone = tmp.join("relman");
    let st = Command::new("git").args(["clone", "-q"]).arg(common::repo_root()).arg(&clone).status().unwrap();
    assert!(st.success());
    let v = env!("CARGO_PKG_VERSION");
    let st = Command::new("git")
        .current_dir(&clone)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "tag", "-a", &format!("v{v}"), "-m", "t"])
        .status()
        .unwrap();
    assert!(st.success());
    clone
}

/// relman releases relman: its own relman.toml plans the five platforms, keylessly signed,
/// and `relman check` of a tag passes on a clone of this repository (its test fixtures' charts
/// and the sample project keep versions of their own).
#[test]
fn relman_plans_and_checks_its_own_release() {
    let tmp = tempfile::tempdir().unwrap();
    let clone = relman_clone_at_a_tag(tmp.path());
    let v = env!("CARGO_PKG_VERSION");
    let out = common::run_in(&clone, &["check"]);
    out.ok();
    let out = common::run_in(&clone, &["--json", "plan"]);
    let plan = out.ok().json();
    let text = plan.to_string();
    for t in [
        "x86_64-unknown-linux-musl",
        "aarch64-unknown-linux-musl",
        "x86_64-apple-darwin",
        "aarch64-apple-darwin",
        "x86_64-pc-windows-msvc",
    ] {
        assert!(text.contains(&format!("relman-{v}-{t}.")), "{t}: {text}");
    }
    assert!(text.contains("install.sh") && text.contains(".intoto.jsonl"), "{text}");
}

/// relman releases relman, for real: a snapshot of this repository for
/// x86_64-unknown-linux-musl, built as its generated release workflow builds it (the matrix
/// entry's setup run as the job runs it: the target's standard library, and cargo-zigbuild
/// with zig from the Python package registry), packaged, published to a directory and
/// verified. The archive's relman is static and runs. (One real release build: minutes.)
#[test]
fn relman_releases_a_snapshot_of_itself() {
    let tmp = tempfile::tempdir().unwrap();
    // The matrix is planned for a tag, as the workflow's plan job does.
    let clone = relman_clone_at_a_tag(tmp.path());
    let target = "x86_64-unknown-linux-musl";
    let m = run_in(&clone, &["ci", "matrix", "github", "--format", "json"]);
    let m = m.ok().json()["matrix"]["include"].clone();
    let entry = m.as_array().unwrap().iter().find(|e| e["target"] == target).unwrap().clone();
    assert_eq!(entry["runner"], "ubuntu-24.04", "{entry}");
    let runner = tmp.path().join("runner");
    fs::create_dir_all(&runner).unwrap();
    let github_path = runner.join("path");
    fs::write(&github_path, "").unwrap();
    let out = Command::new("bash")
        .args(["-eo", "pipefail", "-c", entry["setup"].as_str().unwrap()])
        .current_dir(&clone)
        .env("RUNNER_TEMP", &runner)
        .env("GITHUB_PATH", &github_path)
        .env("GITHUB_ENV", runner.join("env"))
        .output()
        .unwrap();
    assert!(out.status.success(), "setup: {}", String::from_utf8_lossy(&out.stderr));
    let path = format!("{}:{}", fs::read_to_string(&github_path).unwrap().trim(), std::env::var("PATH").unwrap());
    // A target directory of its own, kept between runs (git-ignored under target/).
    let target_dir = common::repo_root().join("target/self-release");
    let served = tmp.path().join("served");
    let to = format!("dir:{}", served.display());
    let out = run_with_env(
        &clone,
        &["release", "--snapshot", "--target", target, "--to", &to],
        &[("PATH", &path), ("CARGO_TARGET_DIR", target_dir.to_str().unwrap())],
    );
    out.ok();
    assert!(
        out.stderr.contains(&format!("cargo zigbuild --release --locked --target {target} --bin relman")),
        "{}",
        out.stderr
    );
    let version_dir = fs::read_dir(&served).unwrap().flatten().map(|e| e.path()).find(|p| p.is_dir()).unwrap();
    run_in(&clone, &["verify", version_dir.to_str().unwrap()]).ok();
    let archive = fs::read_dir(&version_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(&format!("-{target}.tar.gz")))
        .unwrap();
    let unpacked = tmp.path().join("unpacked");
    fs::create_dir_all(&unpacked).unwrap();
    run(Command::new("tar").arg("-xzf").arg(&archive).arg("-C").arg(&unpacked));
    let bin =
        common::files_under(&unpacked).into_iter().find(|f| f.file_name().is_some_and(|n| n == "relman")).unwrap();
    let file = run(Command::new("file").arg(&bin));
    assert!(file.contains("statically linked") && file.contains("x86-64"), "{file}");
    let version = run(Command::new(&bin).arg("--version"));
    assert!(version.starts_with("relman "), "{version}");
}
