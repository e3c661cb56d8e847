//! The registry client and image transfer against a real CNCF distribution 2.8 registry
//! (`relman_oci::testing`), checked with skopeo; faults (503s, resets, refusals, bearer tokens)
//! come from a small proxy and fake servers on loopback.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use relman_manifest::ErrorClass;
use relman_oci::auth::Credentials;
use relman_oci::media;
use relman_oci::testing::{free_port, Registry};
use relman_oci::transfer::{pull_to_layout, push_layout, PushEvent};
use relman_oci::{Client, ClientOptions, Descriptor, Digest, ImageIndex, ImageManifest, Layout, Platform, Reference};

// ---------------------------------------------------------------------------------------------
// Helpers: images in a layout, skopeo.

/// Deterministic pseudo-random bytes (xorshift), so blobs differ per seed.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A gzip layer (skopeo would recompress uncompressed layers on their way to a registry) and
/// its diff id.
fn gzip_layer(layout: &Layout, content: &[u8]) -> (Descriptor, Digest) {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(content).unwrap();
    let desc = layout.write_json_blob(media::OCI_LAYER_GZIP, &gz.finish().unwrap()).unwrap();
    (desc, Digest::of(content))
}

struct Image {
    index: Descriptor,
    /// Per platform: (platform, manifest descriptor, its blobs).
    platforms: Vec<(Platform, Descriptor, Vec<Descriptor>)>,
    shared_layer: Descriptor,
}

/// An index of one image per platform: each has a config, a layer of its own and a layer all
/// share.
fn build_index(layout: &Layout, platforms: &[&str], seed: u64, layer_size: usize) -> Image {
    let (shared, shared_diff) = gzip_layer(layout, &noise(layer_size, seed));
    let mut entries = Vec::new();
    let mut out = Vec::new();
    for (i, p) in platforms.iter().enumerate() {
        let platform = Platform::parse(p).unwrap();
        let (own, own_diff) = gzip_layer(layout, &noise(layer_size / 2 + i, seed + 1 + i as u64));
        let config = serde_json::json!({
            "architecture": platform.architecture, "os": platform.os,
            "rootfs": {"type": "layers", "diff_ids": [shared_diff.to_string(), own_diff.to_string()]},
            "config": {}
        });
        let config = layout.write_json_blob(media::OCI_CONFIG, &serde_json::to_vec(&config).unwrap()).unwrap();
        let manifest = ImageManifest::new(config.clone(), vec![shared.clone(), own.clone()]);
        let mut desc = layout.write_json_blob(media::OCI_MANIFEST, &manifest.to_bytes()).unwrap();
        desc.platform = Some(platform.clone());
        entries.push(desc.clone());
        out.push((platform, desc, vec![config, shared.clone(), own]));
    }
    let index = layout.write_json_blob(media::OCI_INDEX, &ImageIndex::new(entries).to_bytes()).unwrap();
    Image { index, platforms: out, shared_layer: shared }
}

fn distinct_blobs(image: &Image) -> usize {
    let mut all: Vec<&Digest> = image.platforms.iter().flat_map(|(_, _, b)| b.iter().map(|d| &d.digest)).collect();
    all.sort();
    all.dedup();
    all.len()
}

fn skopeo(args: &[&str]) -> std::process::Output {
    let out = Command::new("skopeo")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run skopeo ({e}): run scripts/setup-test-deps"));
    assert!(out.status.success(), "skopeo {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn quiet(_: PushEvent) {}

fn client_with(opts: ClientOptions) -> Client {
    Client::new(ClientOptions { lookup_credentials: false, ..opts })
}

// ---------------------------------------------------------------------------------------------
// Push, pull, manifests, tags.

#[test]
fn pushed_index_reads_back_with_skopeo_and_repush_uploads_nothing() {
    let reg = Registry::start();
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path()).unwrap();
    let image = build_index(&layout, &["linux/amd64", "linux/arm64"], 1, 300_000);
    let client = reg.client();
    let dest = reg.reference("acme/app");

    let events = Mutex::new(Vec::new());
    let report =
        push_layout(&client, &layout, &image.index, &dest, Some("1.0"), None, &|e| events.lock().unwrap().push(e))
            .unwrap();
    assert_eq!(report.blobs_uploaded, distinct_blobs(&image), "{report:?}");
    assert_eq!(report.blobs_skipped, 0);
    assert_eq!(report.manifests.len(), 3);
    assert_eq!(report.manifests.last(), Some(&image.index.digest), "the root goes last");
    let events = events.into_inner().unwrap();
    let tag_at =
        events.iter().position(|e| matches!(e, PushEvent::Manifest { tag: Some(t), .. } if t == "1.0")).unwrap();
    assert_eq!(tag_at, events.len() - 1, "the tag is written last");
    let done = events.iter().filter(|e| matches!(e, PushEvent::BlobDone { skipped: false, .. })).count();
    assert_eq!(done, distinct_blobs(&image));

    // skopeo sees the same index bytes under the tag…
    let url = format!("docker://{}/acme/app:1.0", reg.host);
    let raw = skopeo(&["inspect", "--tls-verify=false", "--raw", &url]).stdout;
    assert_eq!(Digest::of(&raw), image.index.digest);
    // …and copies every platform out into a layout with the same digests.
    let copy = tempfile::tempdir().unwrap();
    let target = format!("oci:{}:copied", copy.path().display());
    skopeo(&["copy", "--all", "--quiet", "--src-tls-verify=false", &url, &target]);
    let copied = Layout::open(copy.path()).unwrap();
    assert_eq!(copied.resolve(Some("copied")).unwrap().digest, image.index.digest);
    for (_, manifest, blobs) in &image.platforms {
        copied.read_verified(&manifest.digest).unwrap();
        for b in blobs {
            copied.read_verified(&b.digest).unwrap();
        }
    }

    // Pushing again uploads nothing.
    let again = push_layout(&client, &layout, &image.index, &dest, Some("1.0"), None, &quiet).unwrap();
    assert_eq!((again.blobs_uploaded, again.bytes_uploaded), (0, 0), "{again:?}");
    assert_eq!(again.blobs_skipped, distinct_blobs(&image));

    // A new root over the same blobs: each blob is found by HEAD and skipped.
    let mut index = ImageIndex::new(image.platforms.iter().map(|(_, d, _)| d.clone()).collect());
    index.annotations.insert("org.opencontainers.image.version".into(), "1.1".into());
    let root = layout.write_json_blob(media::OCI_INDEX, &index.to_bytes()).unwrap();
    let third = push_layout(&client, &layout, &root, &dest, Some("1.1"), None, &quiet).unwrap();
    assert_eq!((third.blobs_uploaded, third.blobs_skipped), (0, distinct_blobs(&image)), "{third:?}");
    assert_eq!(client.list_tags(&dest).unwrap(), vec!["1.0".to_string(), "1.1".to_string()]);
}

#[test]
fn cross_repository_mount() {
    let reg = Registry::start();
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path()).unwrap();
    let image = build_index(&layout, &["linux/amd64", "linux/arm64"], 2, 100_000);
    let client = reg.client();
    push_layout(&client, &layout, &image.index, &reg.reference("team/a"), Some("v1"), None, &quiet).unwrap();

    let b = reg.reference("team/b");
    let report = push_layout(&client, &layout, &image.index, &b, Some("v1"), Some("team/a"), &quiet).unwrap();
    assert_eq!(report.blobs_uploaded, 0, "{report:?}");
    assert_eq!(report.blobs_mounted, distinct_blobs(&image), "{report:?}");
    let got = client.get_manifest(&b.with_tag("v1")).unwrap().unwrap();
    assert_eq!(got.digest, image.index.digest);
    assert_eq!(client.get_blob(&b, &image.shared_layer.digest).unwrap().len() as u64, image.shared_layer.size);

    // A source that lacks the blob: the registry opens a session instead and the blob is uploaded.
    let path = dir.path().join("extra");
    std::fs::write(&path, noise(5000, 99)).unwrap();
    let (d, size) = Digest::of_file(&path).unwrap();
    let pushed = client.push_blob_file(&b, &d, size, &path, Some("team/nothing-here")).unwrap();
    assert!(pushed.uploaded && !pushed.mounted, "{pushed:?}");
    assert!(client.blob_exists(&b, &d).unwrap());
}

#[test]
fn chunked_upload_of_a_large_blob() {
    let reg = Registry::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big");
    std::fs::write(&path, noise(20 * 1024 * 1024 + 13, 3)).unwrap();
    let (digest, size) = Digest::of_file(&path).unwrap();
    let client =
        client_with(ClientOptions { chunk_size: 3 * 1024 * 1024, monolithic_limit: 1024 * 1024, ..Default::default() });
    let repo = reg.reference("acme/big");
    let seen = AtomicU64::new(0);
    let pushed = client
        .push_blob_file_with_progress(&repo, &digest, size, &path, None, &|n| {
            seen.fetch_max(n, Ordering::Relaxed);
        })
        .unwrap();
    assert_eq!(pushed, relman_oci::registry::BlobPush { uploaded: true, mounted: false, bytes: size });
    assert_eq!(seen.load(Ordering::Relaxed), size, "progress reaches the blob's size");
    assert!(client.blob_exists(&repo, &digest).unwrap());
    let back = dir.path().join("back");
    assert_eq!(client.get_blob_to_file(&repo, &digest, &back).unwrap(), size);
    assert_eq!(Digest::of_file(&back).unwrap(), (digest.clone(), size));

    // A wrong digest is refused by the registry, as a publish failure naming the blob.
    let wrong = Digest::of(b"something else");
    let err = client.push_blob_file(&repo, &wrong, size, &path, None).unwrap_err();
    assert_eq!(err.class, ErrorClass::Publish, "{}", err.message);
    assert!(err.message.contains(&wrong.to_string()) && err.message.contains("acme/big"), "{}", err.message);
}

#[test]
fn manifests_tags_deletes_and_referrers() {
    let reg = Registry::start();
    let client = reg.client();
    let repo = reg.reference("acme/tags");
    assert!(client.get_manifest(&repo.with_tag("nope")).unwrap().is_none());
    assert!(client.head_manifest(&repo.with_tag("nope")).unwrap().is_none());
    assert_eq!(client.list_tags(&repo).unwrap(), Vec::<String>::new());

    let config = client.push_blob_bytes(&repo, media::EMPTY_JSON).unwrap();
    assert!(config.uploaded);
    assert!(!client.push_blob_bytes(&repo, media::EMPTY_JSON).unwrap().uploaded, "second push is skipped");
    let one = ImageManifest::new(Descriptor::empty_json(), vec![]);
    let mut two = one.clone();
    two.annotations.insert("n".into(), "2".into());
    let (one, two) = (one.to_bytes(), two.to_bytes());
    let d1 = client.put_manifest(&repo, "b", &one, media::OCI_MANIFEST).unwrap();
    assert_eq!(client.put_manifest(&repo, "a", &one, media::OCI_MANIFEST).unwrap(), d1);
    let d2 = client.put_manifest(&repo, "c", &two, media::OCI_MANIFEST).unwrap();
    assert_eq!(client.list_tags(&repo).unwrap(), vec!["a", "b", "c"]);

    let got = client.get_manifest(&repo.with_tag("a")).unwrap().unwrap();
    assert_eq!(
        (got.bytes.as_slice(), &got.digest, got.content_type.as_str()),
        (one.as_slice(), &d1, media::OCI_MANIFEST)
    );
    let head = client.head_manifest(&repo.with_digest(&d2)).unwrap().unwrap();
    assert_eq!((head.digest, head.size, head.media_type.as_str()), (d2.clone(), two.len() as u64, media::OCI_MANIFEST));

    assert_eq!(client.referrers(&repo, &d1).unwrap(), None, "distribution 2.8 has no referrers API");

    assert!(client.delete_manifest(&repo, &d1).unwrap());
    assert_eq!(client.list_tags(&repo).unwrap(), vec!["c"], "deleting by digest removes every tag on it");
    assert!(client.get_manifest(&repo.with_digest(&d1)).unwrap().is_none());
    assert!(!client.delete_manifest(&repo, &d1).unwrap());

    let err = client.put_manifest(&repo, "bad+tag", &one, media::OCI_MANIFEST).unwrap_err();
    assert_eq!(err.class, ErrorClass::Usage);
    // A manifest whose config the registry lacks is refused by the registry.
    let missing = ImageManifest::new(Descriptor::of(media::OCI_CONFIG, b"{\"x\":1}"), vec![]).to_bytes();
    let err = client.put_manifest(&repo, "broken", &missing, media::OCI_MANIFEST).unwrap_err();
    assert_eq!(err.class, ErrorClass::Publish, "{}", err.message);
    assert!(
        err.message.contains("acme/tags:broken") && err.message.contains("MANIFEST_BLOB_UNKNOWN"),
        "{}",
        err.message
    );
}

#[test]
fn pull_one_platform_fetches_only_its_blobs() {
    let reg = Registry::start();
    let src_dir = tempfile::tempdir().unwrap();
    let src_layout = Layout::create(src_dir.path()).unwrap();
    let image = build_index(&src_layout, &["linux/amd64", "linux/arm64"], 4, 200_000);
    let client = reg.client();
    let repo = reg.reference("acme/pull");
    push_layout(&client, &src_layout, &image.index, &repo, Some("2.0"), None, &quiet).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path()).unwrap();
    let arm = Platform::parse("linux/arm64").unwrap();
    let root = pull_to_layout(&client, &repo.with_tag("2.0"), std::slice::from_ref(&arm), &layout, &quiet).unwrap();
    assert_eq!(root.digest, image.index.digest);
    assert_eq!(root.media_type, media::OCI_INDEX);
    layout.read_verified(&image.index.digest).unwrap();
    for (platform, manifest, blobs) in &image.platforms {
        let wanted = platform == &arm;
        assert_eq!(layout.has_blob(&manifest.digest), wanted, "{platform} manifest");
        for b in blobs {
            let expected = wanted || b.digest == image.shared_layer.digest;
            assert_eq!(layout.has_blob(&b.digest), expected, "{platform} blob {}", b.digest);
            if expected {
                layout.read_verified(&b.digest).unwrap();
            }
        }
    }

    // Again: everything is there, nothing is fetched.
    let fetched = AtomicUsize::new(0);
    pull_to_layout(&client, &repo.with_tag("2.0"), &[arm], &layout, &|e| {
        if matches!(e, PushEvent::BlobStart { .. }) {
            fetched.fetch_add(1, Ordering::Relaxed);
        }
    })
    .unwrap();
    assert_eq!(fetched.load(Ordering::Relaxed), 0);

    // All platforms by digest.
    let all_dir = tempfile::tempdir().unwrap();
    let all = Layout::create(all_dir.path()).unwrap();
    pull_to_layout(&client, &repo.with_digest(&image.index.digest), &[], &all, &quiet).unwrap();
    for (_, m, blobs) in &image.platforms {
        all.read_verified(&m.digest).unwrap();
        blobs.iter().for_each(|b| assert!(all.has_blob(&b.digest)));
    }

    let err =
        pull_to_layout(&client, &repo.with_tag("2.0"), &[Platform::parse("linux/s390x").unwrap()], &layout, &quiet)
            .unwrap_err();
    assert_eq!(err.class, ErrorClass::Usage);
    assert!(
        err.message.contains("linux/s390x")
            && err.message.contains("linux/amd64")
            && err.message.contains("linux/arm64"),
        "{}",
        err.message
    );
    let err = pull_to_layout(&client, &repo.with_tag("9.9"), &[], &layout, &quiet).unwrap_err();
    assert!(err.message.contains("acme/pull:9.9"), "{}", err.message);
}

// ---------------------------------------------------------------------------------------------
// Failures: unreachable, refused, retried, resumed.

#[test]
fn unreachable_registry_is_a_network_failure_naming_the_url() {
    let port = free_port();
    let client = client_with(ClientOptions { retries: 2, ..Default::default() });
    let repo = Reference::parse(&format!("127.0.0.1:{port}/acme/app")).unwrap();
    let start = Instant::now();
    let err = client.blob_exists(&repo, &Digest::of(b"x")).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(5), "took {:?}", start.elapsed());
    assert_eq!(err.class, ErrorClass::Network);
    assert!(err.message.contains(&format!("http://127.0.0.1:{port}/v2/acme/app/blobs/")), "{}", err.message);
    assert!(err.message.contains("after 3 attempts"), "{}", err.message);
    assert!(!err.message.contains('\n'));
}

#[test]
fn wrong_credentials_are_refused_without_showing_the_password() {
    let password = "correct-horse-battery";
    let reg = Registry::start_with_htpasswd("alice", password);
    let repo = reg.reference("acme/private");
    let wrong = "Wr0ng-Pa55word-xyz";

    let client =
        client_with(ClientOptions { credentials: Some(Credentials::new("alice", wrong)), ..Default::default() });
    let err = client.push_blob_bytes(&repo, b"data").unwrap_err();
    assert_eq!(err.class, ErrorClass::Publish, "{}", err.message);
    assert!(err.message.contains(&reg.host) && err.message.contains("refused"), "{}", err.message);
    let hint = err.hint.clone().unwrap();
    assert!(hint.contains("login"), "{hint}");
    for shown in [err.message.clone(), hint, format!("{err:?}"), format!("{client:?}")] {
        assert!(!shown.contains(wrong), "{shown}");
    }

    let anonymous = reg.client();
    let err = anonymous.get_manifest(&repo.with_tag("x")).unwrap_err();
    assert_eq!(err.class, ErrorClass::Publish);
    assert!(err.message.contains("none were found"), "{}", err.message);

    let right =
        client_with(ClientOptions { credentials: Some(Credentials::new("alice", password)), ..Default::default() });
    assert!(right.push_blob_bytes(&repo, b"data").unwrap().uploaded);
    let d = right.put_manifest(
        &repo,
        "1",
        &ImageManifest::new(Descriptor::empty_json(), vec![]).to_bytes(),
        media::OCI_MANIFEST,
    );
    assert_eq!(d.unwrap_err().class, ErrorClass::Publish, "the config blob is missing: the registry says so");
    right.push_blob_bytes(&repo, media::EMPTY_JSON).unwrap();
    right
        .put_manifest(&repo, "1", &ImageManifest::new(Descriptor::empty_json(), vec![]).to_bytes(), media::OCI_MANIFEST)
        .unwrap();
    assert_eq!(right.list_tags(&repo).unwrap(), vec!["1"]);
}

#[test]
fn bearer_tokens_are_fetched_with_credentials_and_never_shown() {
    const TOKEN: &str = "tok-SECRET-4242-abcdef";
    const PASSWORD: &str = "s3cret-pw-for-token";
    let token_requests = Arc::new(AtomicUsize::new(0));
    let counted = token_requests.clone();
    let port = free_port();
    let server = FakeServer::start_on(port, move |req: &FakeRequest| {
        if req.path.starts_with("/token") {
            counted.fetch_add(1, Ordering::Relaxed);
            let basic = Credentials::new("bob", PASSWORD);
            let expected = format!("Basic {}", base64_of(&format!("{}:{}", basic.username, basic.password)));
            if req.header("authorization") != Some(expected.as_str()) {
                return FakeResponse::new(401, "{}");
            }
            assert!(req.path.contains("scope=repository%3Aacme%2Fapp%3Apull"), "{}", req.path);
            return FakeResponse::new(200, &format!(r#"{{"token":"{TOKEN}","expires_in":300}}"#));
        }
        if req.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
            return FakeResponse::new(
                401,
                r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
            )
            .header(
                "WWW-Authenticate",
                &format!(
                    r#"Bearer realm="http://127.0.0.1:{port}/token",service="fake",scope="repository:acme/app:pull""#
                ),
            );
        }
        if req.path.contains("/manifests/ok") {
            let body = ImageManifest::new(Descriptor::empty_json(), vec![]).to_bytes();
            return FakeResponse::bytes(200, body).header("Content-Type", media::OCI_MANIFEST);
        }
        FakeResponse::new(500, r#"{"errors":[{"code":"UNKNOWN","message":"boom"}]}"#)
    });
    let repo = Reference::parse(&format!("127.0.0.1:{}/acme/app", server.port)).unwrap();
    let client = client_with(ClientOptions {
        retries: 1,
        credentials: Some(Credentials::new("bob", PASSWORD)),
        ..Default::default()
    });
    assert!(client.get_manifest(&repo.with_tag("ok")).unwrap().is_some());
    assert!(client.get_manifest(&repo.with_tag("ok")).unwrap().is_some());
    assert_eq!(token_requests.load(Ordering::Relaxed), 1, "the token is cached per scope");
    let err = client.get_manifest(&repo.with_tag("fails")).unwrap_err();
    assert_eq!(err.class, ErrorClass::Network);
    assert!(err.message.contains("acme/app:fails") && err.message.contains("UNKNOWN"), "{}", err.message);
    for shown in [err.message.clone(), format!("{err:?}"), format!("{client:?}")] {
        assert!(!shown.contains(TOKEN) && !shown.contains(PASSWORD), "{shown}");
    }

    let wrong =
        client_with(ClientOptions { credentials: Some(Credentials::new("bob", "nope-wrong")), ..Default::default() });
    let err = wrong.get_manifest(&repo.with_tag("ok")).unwrap_err();
    assert_eq!(err.class, ErrorClass::Publish);
    assert!(err.message.contains("refused") && !format!("{err:?}").contains("nope-wrong"), "{}", err.message);
}

#[test]
fn refused_credentials_fall_back_to_anonymous_for_pulls_only() {
    // Like Docker Hub given another registry's token: the token service refuses the
    // credentials, but hands out anonymous pull tokens.
    const ANON: &str = "anonymous-token-1";
    let port = free_port();
    let server = FakeServer::start_on(port, move |req: &FakeRequest| {
        if req.path.starts_with("/token") {
            if req.header("authorization").is_some() {
                return FakeResponse::new(401, r#"{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}"#);
            }
            if req.path.contains("push") {
                return FakeResponse::new(401, r#"{"errors":[{"code":"DENIED","message":"anonymous push"}]}"#);
            }
            return FakeResponse::new(200, &format!(r#"{{"token":"{ANON}","expires_in":300}}"#));
        }
        if req.header("authorization") != Some(&format!("Bearer {ANON}")) {
            let scope = if req.method == "PUT" { "pull,push" } else { "pull" };
            return FakeResponse::new(401, "{}").header(
                "WWW-Authenticate",
                &format!(r#"Bearer realm="http://127.0.0.1:{port}/token",service="fake",scope="repository:library/base:{scope}""#),
            );
        }
        let body = ImageManifest::new(Descriptor::empty_json(), vec![]).to_bytes();
        FakeResponse::bytes(200, body).header("Content-Type", media::OCI_MANIFEST)
    });
    let repo = Reference::parse(&format!("127.0.0.1:{}/library/base", server.port)).unwrap();
    let client = client_with(ClientOptions {
        retries: 0,
        credentials: Some(Credentials::new("ghcr-bot", "ghp_not-for-this-registry")),
        ..Default::default()
    });
    assert!(client.get_manifest(&repo.with_tag("1")).unwrap().is_some(), "pulled anonymously");
    let bytes = ImageManifest::new(Descriptor::empty_json(), vec![]).to_bytes();
    let err = client.put_manifest(&repo, "2", &bytes, media::OCI_MANIFEST).unwrap_err();
    assert_eq!(err.class, ErrorClass::Publish);
    assert!(err.message.contains("credentials for `ghcr-bot` were refused"), "{}", err.message);
    assert!(!format!("{err:?}").contains("ghp_not-for-this-registry"));
}

#[test]
fn credentials_never_go_to_a_plain_http_token_service_elsewhere() {
    let server = FakeServer::start_on(free_port(), |_req: &FakeRequest| {
        FakeResponse::new(401, "{}").header(
            "WWW-Authenticate",
            r#"Bearer realm="HTTP://auth.example.invalid/token",service="x",scope="repository:acme/app:pull""#,
        )
    });
    let repo = Reference::parse(&format!("127.0.0.1:{}/acme/app", server.port)).unwrap();
    let client = client_with(ClientOptions {
        retries: 0,
        credentials: Some(Credentials::new("bob", "pw-never-in-clear")),
        ..Default::default()
    });
    let err = client.get_manifest(&repo.with_tag("1")).unwrap_err();
    assert_eq!(err.class, ErrorClass::Publish);
    assert!(err.message.contains("auth.example.invalid") && err.message.contains("plain HTTP"), "{}", err.message);
    assert!(!format!("{err:?}").contains("pw-never-in-clear"));
}

#[test]
fn retries_503_then_succeeds_and_gives_up_on_constant_500() {
    let reg = Registry::start();
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path()).unwrap();
    let image = build_index(&layout, &["linux/amd64"], 5, 50_000);

    // The first two connections are answered 503; then everything is forwarded.
    let proxy = Proxy::start(&reg.host, Fault::ServiceUnavailable { connections: 2 });
    let client = client_with(ClientOptions { concurrency: 1, ..Default::default() });
    let dest = Reference::parse(&format!("{}/acme/retry", proxy.host())).unwrap();
    let report = push_layout(&client, &layout, &image.index, &dest, Some("1"), None, &quiet).unwrap();
    assert_eq!(report.blobs_uploaded, distinct_blobs(&image));
    assert_eq!(proxy.refused.load(Ordering::Relaxed), 2);
    assert!(reg.client().get_manifest(&reg.reference("acme/retry").with_tag("1")).unwrap().is_some());

    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let server = FakeServer::start_on(free_port(), move |_req: &FakeRequest| {
        counted.fetch_add(1, Ordering::Relaxed);
        FakeResponse::new(500, "")
    });
    let client = client_with(ClientOptions { retries: 3, ..Default::default() });
    let repo = Reference::parse(&format!("127.0.0.1:{}/acme/app", server.port)).unwrap();
    let err = client.get_manifest(&repo.with_tag("1")).unwrap_err();
    assert_eq!(err.class, ErrorClass::Network);
    assert_eq!(hits.load(Ordering::Relaxed), 4, "one attempt and three retries");
    assert!(err.message.contains("HTTP 500") && err.message.contains("after 4 attempts"), "{}", err.message);
    assert!(err.message.contains(&format!("127.0.0.1:{}", server.port)), "{}", err.message);
}

#[test]
fn interrupted_uploads_resume_or_restart() {
    let reg = Registry::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blob");
    std::fs::write(&path, noise(12 * 1024 * 1024, 6)).unwrap();
    let (digest, size) = Digest::of_file(&path).unwrap();
    let mib = 1024 * 1024;
    let chunked = client_with(ClientOptions { chunk_size: 3 * mib, monolithic_limit: mib, ..Default::default() });

    // Chunked, the connection lost between chunks (as the third PATCH starts): the upload
    // resumes from what the registry acknowledged, so the bytes cross the proxy about once.
    let proxy = Proxy::start(&reg.host, Fault::DropAtRequest { marker: "PATCH /v2/", nth: 3 });
    let repo = Reference::parse(&format!("{}/acme/resume", proxy.host())).unwrap();
    assert!(chunked.push_blob_file(&repo, &digest, size, &path, None).unwrap().uploaded);
    assert!(proxy.cut.load(Ordering::Relaxed), "the fault happened");
    let sent = proxy.upstream_bytes.load(Ordering::Relaxed);
    assert!(sent < size + mib, "resumed, not restarted: {sent} bytes for {size}");
    assert!(reg.client().blob_exists(&reg.reference("acme/resume"), &digest).unwrap());

    // Chunked, cut in the middle of a chunk: distribution 2.8 cancels a session whose size no
    // longer matches its state, so the upload starts again in a new one, and succeeds.
    let proxy = Proxy::start(&reg.host, Fault::CutFirstConnection { after: 7 * mib });
    let repo = Reference::parse(&format!("{}/acme/rechunk", proxy.host())).unwrap();
    assert!(chunked.push_blob_file(&repo, &digest, size, &path, None).unwrap().uploaded);
    assert!(proxy.cut.load(Ordering::Relaxed));
    assert!(reg.client().blob_exists(&reg.reference("acme/rechunk"), &digest).unwrap());

    // Monolithic, cut mid-way: a new session, from the start.
    let proxy = Proxy::start(&reg.host, Fault::CutFirstConnection { after: 5 * mib });
    let repo = Reference::parse(&format!("{}/acme/restart", proxy.host())).unwrap();
    let pushed = reg.client().push_blob_file(&repo, &digest, size, &path, None).unwrap();
    assert!(pushed.uploaded && proxy.cut.load(Ordering::Relaxed));
    let sent = proxy.upstream_bytes.load(Ordering::Relaxed);
    assert!(sent > size + 4 * mib, "restarted from zero: {sent} bytes for {size}");
    let back = reg.client().get_blob(&reg.reference("acme/restart"), &digest).unwrap();
    assert_eq!(Digest::of(&back), digest);
}

#[test]
fn downloads_are_verified() {
    // A registry that serves the wrong bytes for a digest: refused, and no file appears.
    let server =
        FakeServer::start_on(free_port(), |_req: &FakeRequest| FakeResponse::new(200, "not what you asked for"));
    let client = client_with(ClientOptions::default());
    let repo = Reference::parse(&format!("127.0.0.1:{}/acme/app", server.port)).unwrap();
    let digest = Digest::of(b"expected");
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("blob");
    let err = client.get_blob_to_file(&repo, &digest, &dest).unwrap_err();
    assert_eq!(err.class, ErrorClass::Verify);
    assert!(err.message.contains(&digest.to_string()), "{}", err.message);
    assert!(!dest.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no temporary file left");
    assert_eq!(client.get_blob(&repo, &digest).unwrap_err().class, ErrorClass::Verify);
    let err = client.get_manifest(&repo.with_digest(&digest)).unwrap_err();
    assert_eq!(err.class, ErrorClass::Verify);
    // More bytes than the descriptor's size: cut off there, nothing written.
    let err = client.get_blob_to_file_with_progress(&repo, &digest, Some(8), &dest, &|_| {}).unwrap_err();
    assert_eq!(err.class, ErrorClass::Verify);
    assert!(err.message.contains("more than the 8 bytes"), "{}", err.message);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no temporary file left");
}

#[test]
fn tag_list_follows_link_pagination() {
    let server = FakeServer::start_on(free_port(), |req: &FakeRequest| {
        if req.path.contains("last=m") {
            FakeResponse::new(200, r#"{"name":"acme/app","tags":["z","n"]}"#)
        } else {
            FakeResponse::new(200, r#"{"name":"acme/app","tags":["m","a"]}"#)
                .header("Link", r#"</v2/acme/app/tags/list?last=m&n=2>; rel="next""#)
        }
    });
    let client = client_with(ClientOptions::default());
    let repo = Reference::parse(&format!("127.0.0.1:{}/acme/app", server.port)).unwrap();
    assert_eq!(client.list_tags(&repo).unwrap(), vec!["a", "m", "n", "z"]);
}

// ---------------------------------------------------------------------------------------------
// A fault-injecting TCP proxy and a tiny HTTP/1.1 server.

enum Fault {
    /// The first `connections` connections get `503` to their first request, then are closed.
    ServiceUnavailable { connections: usize },
    /// The first connection is forwarded for `after` client bytes, then both ends are shut.
    CutFirstConnection { after: u64 },
    /// The first connection is forwarded until the client sends `marker` (a request line) for
    /// the `nth` time; what precedes it is forwarded, then both ends are shut. Request heads
    /// start a fresh read here: the client waits for the previous answer first.
    DropAtRequest { marker: &'static str, nth: usize },
}

struct Proxy {
    port: u16,
    refused: Arc<AtomicUsize>,
    cut: Arc<std::sync::atomic::AtomicBool>,
    upstream_bytes: Arc<AtomicU64>,
}

impl Proxy {
    fn start(upstream: &str, fault: Fault) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let proxy = Proxy {
            port,
            refused: Arc::new(AtomicUsize::new(0)),
            cut: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            upstream_bytes: Arc::new(AtomicU64::new(0)),
        };
        let (refused, cut, bytes) = (proxy.refused.clone(), proxy.cut.clone(), proxy.upstream_bytes.clone());
        let upstream = upstream.to_string();
        std::thread::spawn(move || {
            for (n, conn) in listener.incoming().enumerate() {
                let Ok(client) = conn else { return };
                match fault {
                    Fault::ServiceUnavailable { connections } if n < connections => {
                        refused.fetch_add(1, Ordering::Relaxed);
                        let mut reader = BufReader::new(client.try_clone().unwrap());
                        let mut line = String::new();
                        while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) && line != "\r\n" {
                            line.clear();
                        }
                        let mut c = client;
                        let _ = c.write_all(
                            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                        );
                        let _ = c.shutdown(Shutdown::Both);
                    }
                    _ => {
                        let limit = match fault {
                            Fault::CutFirstConnection { after } if n == 0 => Some(Cut::After(after)),
                            Fault::DropAtRequest { marker, nth } if n == 0 => Some(Cut::At(marker, nth)),
                            _ => None,
                        };
                        let (cut, bytes, upstream) = (cut.clone(), bytes.clone(), upstream.clone());
                        std::thread::spawn(move || forward(client, &upstream, limit, &cut, &bytes));
                    }
                }
            }
        });
        proxy
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

#[derive(Clone, Copy)]
enum Cut {
    After(u64),
    At(&'static str, usize),
}

fn forward(
    client: TcpStream,
    upstream: &str,
    limit: Option<Cut>,
    cut: &std::sync::atomic::AtomicBool,
    bytes: &AtomicU64,
) {
    let Ok(server) = TcpStream::connect(upstream) else { return };
    let (mut c_read, mut s_write) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let (mut s_read, mut c_write) = (server.try_clone().unwrap(), client.try_clone().unwrap());
    let back = std::thread::spawn(move || {
        let _ = std::io::copy(&mut s_read, &mut c_write);
        let _ = c_write.shutdown(Shutdown::Write);
    });
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    let mut seen = 0usize;
    loop {
        let mut n = match c_read.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let stop = match limit {
            Some(Cut::After(after)) if total + n as u64 > after => true,
            Some(Cut::At(marker, nth)) => match buf[..n].windows(marker.len()).position(|w| w == marker.as_bytes()) {
                Some(at) => {
                    seen += 1;
                    if seen == nth {
                        n = at;
                    }
                    seen == nth
                }
                None => false,
            },
            _ => false,
        };
        if stop {
            cut.store(true, Ordering::Relaxed);
            let _ = s_write.write_all(&buf[..n]);
            bytes.fetch_add(n as u64, Ordering::Relaxed);
            let _ = client.shutdown(Shutdown::Both);
            let _ = server.shutdown(Shutdown::Both);
            break;
        }
        total += n as u64;
        bytes.fetch_add(n as u64, Ordering::Relaxed);
        if s_write.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = s_write.shutdown(Shutdown::Write);
    let _ = back.join();
}

struct FakeRequest {
    method: String,
    path: String,
    headers: HashMap<String, String>,
}

impl FakeRequest {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

struct FakeResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl FakeResponse {
    fn new(status: u16, body: &str) -> FakeResponse {
        FakeResponse::bytes(status, body.as_bytes().to_vec()).header("Content-Type", "application/json")
    }

    fn bytes(status: u16, body: Vec<u8>) -> FakeResponse {
        FakeResponse { status, headers: Vec::new(), body }
    }

    fn header(mut self, k: &str, v: &str) -> FakeResponse {
        self.headers.retain(|(name, _)| !name.eq_ignore_ascii_case(k));
        self.headers.push((k.to_string(), v.to_string()));
        self
    }
}

struct FakeServer {
    port: u16,
}

impl FakeServer {
    fn start_on(port: u16, handler: impl Fn(&FakeRequest) -> FakeResponse + Send + Sync + 'static) -> FakeServer {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let handler = Arc::new(handler);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(stream) = conn else { return };
                let handler = handler.clone();
                std::thread::spawn(move || serve(stream, &*handler));
            }
        });
        FakeServer { port }
    }
}

fn serve(stream: TcpStream, handler: &dyn Fn(&FakeRequest) -> FakeResponse) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let path = parts.next().unwrap_or("").to_string();
        let mut headers = HashMap::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let len: u64 = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
        let _ = std::io::copy(&mut (&mut reader).take(len), &mut std::io::sink());
        let response = handler(&FakeRequest { method: method.clone(), path, headers });
        let mut head = format!("HTTP/1.1 {} X\r\nContent-Length: {}\r\n", response.status, response.body.len());
        for (k, v) in &response.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        if out.write_all(head.as_bytes()).is_err() {
            return;
        }
        if method != "HEAD" && out.write_all(&response.body).is_err() {
            return;
        }
    }
}

fn base64_of(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

// ---------------------------------------------------------------------------------------------
// Fault suite: seeded faults (503, dropped connections, stalls past the read timeout,
// truncated answers) in front of the real registry.

/// Pushes an index through the fault proxy for several seeds. Each push either succeeds
/// through retries or fails with a Network failure naming the registry; a tag, when it exists,
/// always names a complete image (never half-tagged); a re-push without faults converges on
/// the same digest. `RELMAN_FULL_SWEEP=1` runs 24 seeds instead of 6.
#[test]
fn fault_suite_pushes_survive_or_fail_cleanly_and_never_half_tag() {
    use relman_oci::testing::{FaultPlan, FaultProxy};
    let full = std::env::var_os("RELMAN_FULL_SWEEP").is_some_and(|v| v == "1");
    let seeds: u64 = if full { 24 } else { 6 };
    let reg = Registry::start();
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path()).unwrap();
    let image = build_index(&layout, &["linux/amd64", "linux/arm64"], 40, 300_000);
    let client = client_with(ClientOptions {
        concurrency: 2,
        retries: 6,
        timeout: Duration::from_millis(700),
        chunk_size: 128 * 1024,
        monolithic_limit: 64 * 1024,
        ..Default::default()
    });
    let (mut injected, mut requests, mut survived, mut failed) = (0, 0, 0, 0);
    for seed in 1..=seeds {
        let proxy = FaultProxy::start(&reg.host, FaultPlan { seed, rate: 0.2, stall: Duration::from_millis(1500) });
        let repo = format!("acme/faults-{seed}");
        let dest = Reference::parse(&format!("{}/{repo}", proxy.host)).unwrap();
        match push_layout(&client, &layout, &image.index, &dest, Some("1"), None, &quiet) {
            Ok(_) => survived += 1,
            Err(e) => {
                failed += 1;
                assert_eq!(e.class, ErrorClass::Network, "seed {seed}: {}", e.message);
                assert!(e.message.contains(&proxy.host), "seed {seed}: {}", e.message);
            }
        }
        // Never half-tagged: a tag, when there is one, is the whole index, every blob present.
        let direct = reg.client();
        if let Some(tagged) = direct.get_manifest(&reg.reference(&repo).with_tag("1")).unwrap() {
            assert_eq!(tagged.digest, image.index.digest, "seed {seed}: the tag names another index");
            for (_, manifest, blobs) in &image.platforms {
                let by_digest = reg.reference(&repo).with_digest(&manifest.digest);
                assert!(direct.get_manifest(&by_digest).unwrap().is_some(), "seed {seed}: a platform is missing");
                for b in blobs {
                    assert!(direct.blob_exists(&reg.reference(&repo), &b.digest).unwrap(), "seed {seed}: blob missing");
                }
            }
        }
        // The re-run converges.
        injected += proxy.stats().injected();
        requests += proxy.stats().requests.load(Ordering::Relaxed);
        proxy.set_rate(0.0);
        push_layout(&client, &layout, &image.index, &dest, Some("1"), None, &quiet).unwrap();
        let tagged = direct.get_manifest(&reg.reference(&repo).with_tag("1")).unwrap().unwrap();
        assert_eq!(tagged.digest, image.index.digest);
    }
    eprintln!(
        "fault suite: {seeds} seeds, {requests} requests, {injected} faults injected; {survived} pushes survived them, {failed} failed cleanly; every re-run converged"
    );
    assert!(injected >= seeds as usize, "too few faults to mean anything: {injected}");
    assert!(survived > 0, "no push survived its faults");
}

/// Hostile registry answers: an oversized manifest, a manifest that is not JSON, one whose
/// bytes do not match the digest asked for, and an error body of garbage — each a one-line
/// failure naming the URL, never a panic or an unbounded read.
#[test]
fn hostile_registry_answers_are_refused_naming_the_url() {
    let digest_of_other = Digest::of(b"{}");
    let big = vec![b' '; 9 * 1024 * 1024];
    let server = FakeServer::start_on(free_port(), move |req: &FakeRequest| {
        if req.path.ends_with("/manifests/big") {
            FakeResponse::bytes(200, big.clone()).header("Content-Type", media::OCI_MANIFEST)
        } else if req.path.ends_with("/manifests/garbage") {
            FakeResponse::bytes(200, b"\x00\xffnot json".to_vec()).header("Content-Type", media::OCI_MANIFEST)
        } else if req.path.contains("/manifests/sha256:") {
            FakeResponse::bytes(200, b"{\"schemaVersion\":2}".to_vec()).header("Content-Type", media::OCI_MANIFEST)
        } else {
            FakeResponse::bytes(418, b"\x00\x01\x02 teapot garbage".to_vec())
        }
    });
    let client = client_with(ClientOptions { retries: 0, ..Default::default() });
    let repo = Reference::parse(&format!("127.0.0.1:{}/acme/app", server.port)).unwrap();
    let url = format!("127.0.0.1:{}", server.port);
    let cases = [
        (repo.with_tag("big"), "answered with more than 8388608 bytes"),
        (repo.with_digest(&digest_of_other), ""),
        (repo.with_tag("teapot"), "418"),
    ];
    for (reference, says) in cases {
        let err = client.get_manifest(&reference).unwrap_err();
        assert!(!err.message.contains('\n'), "{}", err.message);
        assert!(err.message.contains(&url), "{}", err.message);
        assert!(err.message.contains(says), "{reference}: {}", err.message);
    }
    // Not JSON: fetched as bytes, refused when read as a manifest (pull), one line.
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path()).unwrap();
    let err = pull_to_layout(&client, &repo.with_tag("garbage"), &[], &layout, &quiet).unwrap_err();
    assert!(!err.message.contains('\n') && !err.message.is_empty(), "{}", err.message);
}
