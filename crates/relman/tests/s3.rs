//! The S3 destination against moto's S3 server on loopback (`.venv/bin/moto_server`), read
//! back with boto3 (an S3 client we did not write), and by relman's own verify and install
//! over plain HTTP.

mod common;

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use common::moto::*;
use common::*;

const T1: &str = "x86_64-unknown-linux-gnu";

/// A project signed with a key, tagged v1.0.0 (passphrase `pw` in the env it is used with).
fn signed_project_at_v1(env: &[(&str, &str)]) -> Project {
    let p = Project::generic(&[T1]);
    p.relman_env(&["keygen"], env).ok();
    p.commit("key");
    p.tag("v1.0.0");
    p
}

#[test]
fn s3_publish_promote_read_back_verify_install_and_refusals() {
    let moto = Moto::start();
    // A release bucket readable by anyone (a bucket policy, as maintainers serve downloads).
    moto.boto(
        "s3.create_bucket(Bucket='rel')\n\
         s3.put_bucket_policy(Bucket='rel', Policy=json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Principal': '*', 'Action': 's3:GetObject', 'Resource': 'arn:aws:s3:::rel/*'}]}))",
    );
    let env_owned = moto.env();
    let mut env: Vec<(&str, &str)> = env_owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.push(("RELMAN_PASSWORD", "pw"));
    let p = signed_project_at_v1(&env);
    let to = "s3://rel/releases";
    let out = p.relman_env(&["release", "--promote", "--to", to], &env);
    out.ok();
    assert!(!out.stderr.contains(SECRET) && !out.stdout.contains(SECRET));

    // boto3 reads back every object: its bytes hash to the x-amz-meta-sha256 relman recorded
    // and to the file in dist/.
    let listing = moto.boto(
        "r = s3.list_objects_v2(Bucket='rel', Prefix='releases/1.0.0/')\n\
         for o in r['Contents']:\n\
         \x20   h = s3.head_object(Bucket='rel', Key=o['Key'])\n\
         \x20   b = s3.get_object(Bucket='rel', Key=o['Key'])['Body'].read()\n\
         \x20   print(o['Key'], hashlib.sha256(b).hexdigest(), h['Metadata'].get('sha256'))",
    );
    let mut seen = 0;
    for line in listing.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(parts[1], parts[2], "{line}");
        let name = parts[0].trim_start_matches("releases/1.0.0/");
        let local = if name == "manifest.json" { "release-manifest.json" } else { name };
        let local = if name == "manifest.json.sigstore.json" { "release-manifest.json.sigstore.json" } else { local };
        let bytes = fs::read(p.path(&format!("dist/1.0.0/{local}"))).unwrap();
        assert_eq!(sha256_hex(&bytes), parts[1], "{name}");
        seen += 1;
    }
    assert!(seen >= 10, "{listing}");
    let channels =
        moto.boto("print(s3.get_object(Bucket='rel', Key='releases/channels.json')['Body'].read().decode())");
    assert!(channels.contains("\"version\": \"1.0.0\"") || channels.contains("\"version\":\"1.0.0\""), "{channels}");

    // Read over HTTP by relman verify and install (path-style URLs of the same server).
    let http = format!("{}/rel/releases/", moto.endpoint);
    p.relman(&[
        "verify",
        &format!("{http}1.0.0/"),
        "--key",
        "relman.pub",
        "--report-dir",
        p.outside("r").to_str().unwrap(),
    ])
    .ok();
    let prefix = p.outside("prefix");
    p.relman(&["install", "--from", &http, "--prefix", prefix.to_str().unwrap(), "--target", T1]).ok();
    assert!(fs::read_to_string(prefix.join("bin/tool")).unwrap().contains("tool 1.0.0"));

    // Again: nothing uploaded.
    let again = p.relman_env(&["publish", "--to", to], &env);
    again.ok();
    assert!(again.stderr.contains("already published, nothing to do"), "{}", again.stderr);
    // The summary fetches every object's digest.
    let sum = p.relman_env(&["summary", "1.0.0", "--to", to], &env);
    sum.ok();
    assert!(sum.stdout.contains(&format!("ok        tool-1.0.0-{T1}.tar.gz")), "{}", sum.stdout);

    // latest/ is a server-side copy of the stable version: every object with its digest, and
    // relman verify reads it over HTTP.
    let same = moto.boto(
        "a = {o['Key'].split('/')[-1]: s3.head_object(Bucket='rel', Key=o['Key'])['Metadata'].get('sha256') for o in s3.list_objects_v2(Bucket='rel', Prefix='releases/1.0.0/')['Contents']}\n\
         b = {o['Key'].split('/')[-1]: s3.head_object(Bucket='rel', Key=o['Key'])['Metadata'].get('sha256') for o in s3.list_objects_v2(Bucket='rel', Prefix='releases/latest/')['Contents']}\n\
         print(a == b, len(b))",
    );
    assert!(same.starts_with("True"), "latest/ differs from 1.0.0/: {same}");
    p.relman(&[
        "verify",
        &format!("{http}latest/"),
        "--key",
        "relman.pub",
        "--report-dir",
        p.outside("r").to_str().unwrap(),
    ])
    .ok();

    // The next version moves latest/: its objects copied, the old version's removed.
    p.write("src.txt", "two");
    p.commit("two");
    p.tag("v1.1.0");
    let next = p.relman_env(&["release", "--promote", "--to", to], &env);
    next.ok();
    let names = moto.boto(
        "print(' '.join(sorted(o['Key'] for o in s3.list_objects_v2(Bucket='rel', Prefix='releases/latest/')['Contents'])))",
    );
    assert!(names.contains(&format!("releases/latest/tool-1.1.0-{T1}.tar.gz")), "{names}");
    assert!(!names.contains("1.0.0"), "a 1.0.0 object stayed in latest/: {names}");
    p.relman(&[
        "verify",
        &format!("{http}latest/"),
        "--key",
        "relman.pub",
        "--report-dir",
        p.outside("r").to_str().unwrap(),
    ])
    .ok();

    // A different object under the version: refused naming both digests, nothing written.
    moto.boto("s3.put_object(Bucket='rel', Key='other/1.1.0/index.json', Body=b'{}', Metadata={'sha256': 'beef'})");
    let out = p.relman_env(&["publish", "--to", "s3://rel/other"], &env);
    out.fails(8, "already holds a different `index.json` for 1.1.0: published sha256 beef");
    let listed = moto.boto("print(len(s3.list_objects_v2(Bucket='rel', Prefix='other/')['Contents']))");
    assert_eq!(listed.trim(), "1");

    // Yank: the stable version is refused (exit 9) unless --force; --force removes the
    // channel first, then every object of the version.
    // An older version goes without --force.
    p.relman_env(&["yank", "1.1.0", "--to", to, "--yes"], &env).fails(9, "channels.json (stable)");
    p.relman_env(&["yank", "1.0.0", "--to", to, "--yes"], &env).ok();
    p.relman_env(&["yank", "1.1.0", "--to", to, "--yes", "--force"], &env).ok();
    let left = moto.boto(
        "print(s3.list_objects_v2(Bucket='rel', Prefix='releases/1.1.0/').get('KeyCount'), s3.list_objects_v2(Bucket='rel', Prefix='releases/latest/').get('KeyCount'), s3.list_objects_v2(Bucket='rel', Prefix='releases/1.0.0/').get('KeyCount'))",
    );
    assert_eq!(left.split_whitespace().collect::<Vec<_>>(), ["0", "0", "0"], "{left}");
    let channels =
        moto.boto("print(s3.get_object(Bucket='rel', Key='releases/channels.json')['Body'].read().decode())");
    assert!(!channels.contains("1.1.0"), "{channels}");

    // A bucket that does not exist; a malformed URL; no credentials.
    p.relman_env(&["publish", "--to", "s3://nosuch/x"], &env).fails(8, "the bucket `nosuch` does not exist");
    p.relman_env(&["publish", "--to", "s3://Bad_Name/x"], &env).fails(2, "is not like s3://BUCKET/PREFIX");
    let mut no_creds: Vec<(&str, &str)> = env.iter().copied().filter(|(k, _)| !k.starts_with("AWS_S")).collect();
    no_creds.retain(|(k, _)| *k != "AWS_ACCESS_KEY_ID");
    no_creds.push(("HOME", "/nonexistent"));
    p.relman_env(&["publish", "--to", to], &no_creds).fails(2, "no AWS credentials");
}

/// A large file goes as a multipart upload (three 5 MiB parts here); boto3 reads back the
/// whole object with the digest relman recorded.
#[test]
fn s3_multipart_upload_of_a_large_archive() {
    let moto = Moto::start();
    moto.boto("s3.create_bucket(Bucket='big')");
    let env_owned = moto.env();
    let mut env: Vec<(&str, &str)> = env_owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.push(("RELMAN_S3_MULTIPART_ABOVE", "1048576"));
    env.push(("RELMAN_S3_PART_SIZE", "5242880"));
    let p = Project::generic(&[T1]);
    // 12 MB of noise in the archive: it does not compress.
    let mut noise = Vec::with_capacity(12 << 20);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    while noise.len() < 12 << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        noise.extend_from_slice(&x.to_le_bytes());
    }
    fs::write(p.path("docs/guide.md"), &noise).unwrap();
    p.commit("big");
    p.tag("v1.0.0");
    p.relman_env(&["release", "--to", "s3://big/r"], &env).ok();
    let archive = format!("tool-1.0.0-{T1}.tar.gz");
    let local = fs::read(p.path(&format!("dist/1.0.0/{archive}"))).unwrap();
    assert!(local.len() > 11 << 20, "{}", local.len());
    let out = moto.boto(&format!(
        "h = s3.head_object(Bucket='big', Key='r/1.0.0/{archive}')\n\
         b = s3.get_object(Bucket='big', Key='r/1.0.0/{archive}')['Body'].read()\n\
         print(hashlib.sha256(b).hexdigest(), h['Metadata'].get('sha256'), h['ETag'])"
    ));
    let parts: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(parts[0], sha256_hex(&local));
    assert_eq!(parts[1], parts[0]);
    assert!(parts[2].ends_with("-3\""), "a 3-part multipart ETag: {}", parts[2]);
}

/// Fault suite at S3: the seeded fault proxy in front of moto (503s, dropped connections,
/// stalls, truncated answers). Publish and promote succeed through retries or fail cleanly;
/// the re-run converges; boto3 (straight to moto) finds every object with its digest.
#[test]
fn s3_fault_suite_publish_and_promote_converge() {
    use relman_oci::testing::{FaultPlan, FaultProxy};
    let moto = Moto::start();
    moto.boto("s3.create_bucket(Bucket='flaky')");
    let upstream = moto.endpoint.trim_start_matches("http://").to_string();
    let p = Project::generic(&[T1]);
    p.tag("v1.0.0");
    p.relman(&["build"]).ok();
    p.relman(&["package"]).ok();
    let (mut injected, mut first_ok) = (0, 0);
    let seeds = 4;
    for seed in 1..=seeds {
        let proxy = FaultProxy::start(&upstream, FaultPlan { seed, rate: 0.2, stall: Duration::from_millis(300) });
        let endpoint = format!("http://{}", proxy.host);
        let mut env: Vec<(&str, String)> = moto.env();
        env.retain(|(k, _)| *k != "AWS_ENDPOINT_URL");
        env.push(("AWS_ENDPOINT_URL", endpoint));
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let to = format!("s3://flaky/s{seed}");
        for args in [vec!["publish", "--to", &to], vec!["promote", "1.0.0", "--to", &to]] {
            let out = p.relman_env(&args, &env);
            match out.code {
                0 => first_ok += 1,
                8 | 9 | 11 => assert!(out.stderr.lines().any(|l| l.starts_with("error: ")), "{}", out.stderr),
                c => panic!("{args:?} exit {c}:\n{}", out.stderr),
            }
        }
        injected += proxy.stats().injected();
        proxy.set_rate(0.0);
        p.relman_env(&["publish", "--to", &to], &env).ok();
        p.relman_env(&["promote", "1.0.0", "--to", &to], &env).ok();
        let check = moto.boto(&format!(
            "bad = 0\n\
             for o in s3.list_objects_v2(Bucket='flaky', Prefix='s{seed}/1.0.0/')['Contents']:\n\
             \x20   b = s3.get_object(Bucket='flaky', Key=o['Key'])\n\
             \x20   bad += hashlib.sha256(b['Body'].read()).hexdigest() != b['Metadata'].get('sha256')\n\
             print(bad, s3.get_object(Bucket='flaky', Key='s{seed}/channels.json')['Body'].read().decode().count('1.0.0'))"
        ));
        assert_eq!(check.split_whitespace().collect::<Vec<_>>(), ["0", "2"], "seed {seed}: {check}");
    }
    eprintln!("fault suite (s3): {seeds} seeds, {injected} faults injected; {first_ok} of {} runs succeeded through them; every re-run converged", seeds * 2);
    assert!(injected > 0);
}

/// A destination that stops answering between publish and promote: promote fails naming it
/// and moves nothing anywhere (the `dir:` before it keeps no `latest`); once it answers again
/// but refuses writes, the move fails midway and the error names each pointer moved (at the
/// `dir:`) and each left (at S3); the re-run finishes, and says what was already there.
#[test]
fn s3_stops_answering_between_publish_and_promote() {
    use relman_oci::testing::{FaultPlan, FaultProxy};
    let moto = Moto::start();
    moto.boto("s3.create_bucket(Bucket='gone')");
    let upstream = moto.endpoint.trim_start_matches("http://").to_string();
    let proxy = FaultProxy::start(&upstream, FaultPlan { seed: 1, rate: 0.0, stall: Duration::from_millis(100) });
    let mut env: Vec<(&str, String)> = moto.env();
    env.retain(|(k, _)| *k != "AWS_ENDPOINT_URL");
    env.push(("AWS_ENDPOINT_URL", format!("http://{}", proxy.host)));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let p = Project::generic(&[T1]);
    p.tag("v1.0.0");
    let files = p.outside("files");
    let to_dir = format!("dir:{}", files.display());
    let to_s3 = "s3://gone/rel";
    p.relman_env(&["release", "--to", &to_dir, "--to", to_s3], &env).ok();

    proxy.set_down(true);
    let down = p.relman_env(&["promote", "1.0.0", "--to", &to_dir, "--to", to_s3], &env);
    assert_eq!(down.code, 11, "{}", down.stderr);
    assert!(down.stderr.contains("s3://gone/rel") || down.stderr.contains(&proxy.host), "{}", down.stderr);
    assert!(!files.join("latest").exists() && !files.join("channels.json").exists(), "nothing moved at the dir:");

    proxy.set_down(false);
    proxy.refuse_method(Some("PUT"));
    let midway = p.relman_env(&["promote", "1.0.0", "--to", &to_dir, "--to", to_s3], &env);
    assert_eq!(midway.code, 8, "{}", midway.stderr);
    for needle in [
        "promote of 1.0.0 stopped at `s3://gone/rel`",
        "answered HTTP 503; moved there: none; not moved there: latest/, channels.json",
        &format!("done at `{to_dir}` (moved: latest, channels.json)"),
        "run `relman promote 1.0.0` again",
    ] {
        assert!(midway.stderr.contains(needle), "{needle:?} not in:\n{}", midway.stderr);
    }
    assert_eq!(fs::read_link(files.join("latest")).unwrap(), PathBuf::from("1.0.0"));

    proxy.refuse_method(None);
    let again = p.relman_env(&["promote", "1.0.0", "--to", &to_dir, "--to", to_s3], &env);
    again.ok();
    assert!(again.stdout.contains(&format!("{to_dir}: latest, channels.json already 1.0.0")), "{}", again.stdout);
    // channels.json is claimed first (concurrent promotes are ordered by it), then latest/.
    assert!(again.stdout.contains("s3://gone/rel: channels.json, latest/ → 1.0.0"), "{}", again.stdout);
    let channels = moto.boto("print(s3.get_object(Bucket='gone', Key='rel/channels.json')['Body'].read().decode())");
    assert!(channels.contains("\"version\": \"1.0.0\""), "{channels}");
}

/// Crash suite at S3: SIGKILL `release --promote` after the first archive is uploaded and
/// after the index (the last files) is uploaded, before promote. Right after the kill no
/// `channels.json` names the version; the re-run exits 0 and every object has its digest.
#[test]
fn s3_crash_suite_release_converges() {
    let moto = Moto::start();
    moto.boto("s3.create_bucket(Bucket='crash')");
    let env_owned = moto.env();
    let env: Vec<(&str, &str)> = env_owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let p = Project::generic(&[T1]);
    p.tag("v1.0.0");
    for (i, point) in [format!("uploaded:tool-1.0.0-{T1}.tar.gz"), "uploaded:index.json".to_string()].iter().enumerate()
    {
        let to = format!("s3://crash/c{i}");
        kill_at_with(&p.dir, &["release", "--promote", "--to", &to], point, &env);
        let channels = moto.boto(&format!(
            "r = s3.list_objects_v2(Bucket='crash', Prefix='c{i}/channels.json')\nprint(r.get('KeyCount'))"
        ));
        assert_eq!(channels.trim(), "0", "{point}: a channel before the release was complete");
        let out = p.relman_env(&["release", "--promote", "--to", &to], &env);
        assert_eq!(out.code, 0, "re-run after a kill at `{point}`:\n{}", out.stderr);
        let check = moto.boto(&format!(
            "bad = 0\n\
             for o in s3.list_objects_v2(Bucket='crash', Prefix='c{i}/1.0.0/')['Contents']:\n\
             \x20   b = s3.get_object(Bucket='crash', Key=o['Key'])\n\
             \x20   bad += hashlib.sha256(b['Body'].read()).hexdigest() != b['Metadata'].get('sha256')\n\
             print(bad)"
        ));
        assert_eq!(check.trim(), "0", "{point}");
    }
}

/// The docs site at `docs+s3://` and the versions page at an `s3://` release destination:
/// published and promoted, read back by boto3 with the Content-Type a browser needs.
#[test]
fn s3_docs_site_and_versions_page() {
    let moto = Moto::start();
    moto.boto("s3.create_bucket(Bucket='rel')\ns3.create_bucket(Bucket='docs')");
    let env_owned = moto.env();
    let path = format!("{}:{}", repo_root().join(".venv/bin").display(), std::env::var("PATH").unwrap_or_default());
    let mut env: Vec<(&str, &str)> = env_owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.push(("PATH", &path));
    let p = Project::generic(&[T1]);
    p.write("mkdocs.yml", "site_name: tool\n");
    p.write("docs/index.md", "# Tool docs\n");
    let mut cfg = fs::read_to_string(p.path("relman.toml")).unwrap();
    cfg.push_str("\n[docs]\nbuild = \"mkdocs build -q -d {out}\"\n");
    p.write("relman.toml", &cfg);
    p.commit("docs");
    for v in ["1.0.0", "1.1.0"] {
        p.write("docs/index.md", &format!("# Tool docs {v}\n"));
        p.commit(&format!("docs: {v}"));
        p.tag(&format!("v{v}"));
        p.relman_env(&["release", "--promote", "--to", "s3://rel/tool", "--to", "docs+s3://docs/site"], &env).ok();
    }
    let out = moto.boto(
        "import json\n\
         v = json.loads(s3.get_object(Bucket='docs', Key='site/versions.json')['Body'].read())\n\
         print(json.dumps([[e['version'], e['aliases']] for e in v]))\n\
         o = s3.get_object(Bucket='docs', Key='site/latest/index.html')\n\
         print(o['ContentType']); print('url=../1.1.0/' in o['Body'].read().decode())\n\
         o = s3.get_object(Bucket='docs', Key='site/1.0.0/index.html')\n\
         print(o['ContentType']); print('Tool docs 1.0.0' in o['Body'].read().decode())\n\
         print(s3.get_object(Bucket='docs', Key='site/index.html')['ContentType'])\n\
         print(s3.get_object(Bucket='docs', Key='site/1.0.0/css/base.css')['ContentType'])\n\
         o = s3.get_object(Bucket='rel', Key='tool/index.html')\n\
         t = o['Body'].read().decode(); print(o['ContentType']); print('href=\"1.0.0/\"' in t and 'href=\"1.1.0/\"' in t and '1.1.0</a> <small>(latest)' in t)\n\
         print(s3.get_object(Bucket='rel', Key='tool/1.1.0/index.html')['ContentType'])",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], r#"[["1.1.0", ["latest"]], ["1.0.0", []]]"#, "{out}");
    assert_eq!(
        &lines[1..],
        [
            "text/html; charset=utf-8",
            "True",
            "text/html; charset=utf-8",
            "True",
            "text/html; charset=utf-8",
            "text/css; charset=utf-8",
            "text/html; charset=utf-8",
            "True",
            "text/html; charset=utf-8"
        ],
        "{out}"
    );
    // A re-run writes nothing anywhere.
    let out = p.relman_env(&["release", "--promote", "--to", "s3://rel/tool", "--to", "docs+s3://docs/site"], &env);
    out.ok();
    assert!(out.stderr.contains("docs+s3://docs/site: already published, nothing to do"), "{}", out.stderr);
}

/// Several runners promoting different versions at once (what approval workflows do), over
/// many rounds: whatever the interleaving, `latest/` ends exactly on the newest version — the
/// same objects with the same digests, nothing stale — and `channels.json` names it. Each
/// promote runs in its own clone (no shared dist/ or lock) and reads the record from S3; a
/// promote that lost to a newer one says so (exit 9) or succeeds, never leaves a mix.
#[test]
fn s3_concurrent_promotes_never_go_backwards() {
    let moto = Moto::start();
    moto.boto("s3.create_bucket(Bucket='rel')");
    let env_owned = moto.env();
    let env: Vec<(&str, &str)> = env_owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let to = "s3://rel/releases";
    let p = Project::generic(&[T1]);
    let versions = ["1.0.0", "1.1.0", "1.2.0", "1.2.1"];
    for v in versions {
        // Each version ships different bytes, and 1.0.0 a file the others do not.
        p.write("docs/guide.md", &format!("guide of {v}\n"));
        p.commit(&format!("release {v}"));
        p.tag(&format!("v{v}"));
        p.relman_env(&["release", "--to", to], &env).ok();
    }
    let clones: Vec<PathBuf> = versions
        .iter()
        .map(|v| {
            let c = p.outside(&format!("clone-{v}"));
            run(std::process::Command::new("git").args(["clone", "-q"]).arg(&p.dir).arg(&c));
            c
        })
        .collect();
    let listing = |prefix: &str| -> Vec<(String, String)> {
        let out = moto.boto(&format!(
            "r = s3.list_objects_v2(Bucket='rel', Prefix='releases/{prefix}/')\n\
             for o in r.get('Contents', []):\n\
             \x20   print(o['Key'][len('releases/{prefix}/'):], o['ETag'])"
        ));
        let mut v: Vec<(String, String)> = out
            .lines()
            .map(|l| {
                let (k, e) = l.rsplit_once(' ').unwrap();
                (k.to_string(), e.to_string())
            })
            .collect();
        v.sort();
        v
    };
    let newest = listing("1.2.1");
    assert!(!newest.is_empty());
    for round in 0..8 {
        // Each round starts from 1.0.0 promoted.
        moto.boto(
            "for o in s3.list_objects_v2(Bucket='rel', Prefix='releases/latest/').get('Contents', []):\n\
             \x20   s3.delete_object(Bucket='rel', Key=o['Key'])\n\
             s3.delete_object(Bucket='rel', Key='releases/channels.json')",
        );
        run_with_env(&clones[0], &["promote", "1.0.0", "--to", to], &env).ok();
        let outs: Vec<Out> = std::thread::scope(|scope| {
            let handles: Vec<_> = versions[1..]
                .iter()
                .zip(&clones[1..])
                .map(|(v, c)| {
                    let env = env.clone();
                    scope.spawn(move || run_with_env(c, &["promote", v, "--to", to], &env))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (v, o) in versions[1..].iter().zip(&outs) {
            assert!(
                o.code == 0
                    || (o.code == 9
                        && (o.stderr.contains("gate not-older") || o.stderr.contains("was promoted meanwhile"))),
                "round {round}, {v}: exit {}\n{}",
                o.code,
                o.stderr
            );
        }
        assert_eq!(outs[2].code, 0, "round {round}: the newest always promotes\n{}", outs[2].stderr);
        assert_eq!(listing("latest"), newest, "round {round}: latest/ is exactly 1.2.1");
        let channels =
            moto.boto("print(s3.get_object(Bucket='rel', Key='releases/channels.json')['Body'].read().decode())");
        let c: serde_json::Value = serde_json::from_str(&channels).unwrap();
        assert_eq!(c["stable"]["version"], "1.2.1", "round {round}: {channels}");
    }
    // "Already promoted" looks at what is there: a stale object under latest/ is swept.
    moto.boto("s3.put_object(Bucket='rel', Key='releases/latest/stale.txt', Body=b'old')");
    run_with_env(&clones[3], &["promote", "1.2.1", "--to", to], &env).ok();
    assert_eq!(listing("latest"), newest);
}

/// `verify s3://…` and `install --from s3://…` read the bucket itself, with the AWS
/// credentials (a private bucket: no public policy), not a local path of that name: the
/// promoted version from a root, or a version given. A changed object fails verify.
#[test]
fn s3_locations_are_verified_and_installed_from_directly() {
    let moto = Moto::start();
    moto.boto("s3.create_bucket(Bucket='priv')");
    let env_owned = moto.env();
    let mut env: Vec<(&str, &str)> = env_owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.push(("RELMAN_PASSWORD", "pw"));
    let p = signed_project_at_v1(&env);
    let to = "s3://priv/releases";
    p.relman_env(&["release", "--promote", "--to", to], &env).ok();
    let out = p.relman_env(&["verify", to, "--key", "relman.pub", "--require-signatures"], &env);
    out.ok();
    assert!(out.stdout.contains("s3://priv/releases/1.0.0"), "{}", out.stdout);
    p.relman_env(&["verify", "s3://priv/releases/1.0.0", "--key", "relman.pub"], &env).ok();
    let prefix = p.outside("prefix");
    let out =
        p.relman_env(&["install", "--from", to, "--prefix", prefix.to_str().unwrap(), "--key", "relman.pub"], &env);
    out.ok();
    let installed = run(&mut std::process::Command::new(prefix.join("bin/tool")));
    assert!(installed.contains("tool 1.0.0"), "{installed}");
    // An object changed in the bucket: verify names it.
    moto.boto(&format!(
        "s3.put_object(Bucket='priv', Key='releases/1.0.0/tool-1.0.0-{T1}.tar.gz', Body=b'not the archive')"
    ));
    let bad = p.relman_env(&["verify", to, "--key", "relman.pub"], &env);
    assert_eq!(bad.code, 7, "{}{}", bad.stdout, bad.stderr);
    assert!(format!("{}{}", bad.stdout, bad.stderr).contains(&format!("tool-1.0.0-{T1}.tar.gz")));
    // Without the endpoint, the bucket is looked for at AWS: a network error (exit 11)
    // naming where, never "no such file" for a local path `s3:/priv/releases`.
    let away = p.relman(&["verify", to]);
    assert_eq!(away.code, 11, "{}", away.stderr);
    assert!(away.stderr.contains("cannot reach the S3 endpoint") && away.stderr.contains("priv"), "{}", away.stderr);
}
