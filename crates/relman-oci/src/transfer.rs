//! Whole images between an OCI layout on disk and a registry.
//!
//! [`push_layout`] walks the graph below a root descriptor in a [`Layout`] (index → child
//! manifests → configs and layers), pushes every blob (concurrently, `concurrency` threads,
//! largest first, so the longest upload starts first), then the child manifests by digest
//! (children before parents), then the root by digest and — last — the tag. A tag therefore
//! never points at something incomplete. When the registry already has the root and every
//! child manifest by digest, the blobs are there too (manifests are pushed after what they
//! reference), so only the tag is written; a child deleted since (a yank of a version sharing
//! it) makes the push go through every blob again (HEAD-skipping what is there).
//!
//! [`pull_to_layout`] is the reverse, for the platforms asked for; blobs the layout has are
//! not fetched. It stores blobs only: naming the result in the layout's `index.json`
//! ([`Layout::set_ref`]) is the caller's choice.
//!
//! Progress goes through a callback ([`PushEvent`]); nothing here prints.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use relman_manifest::Failure;

use crate::digest::Digest;
use crate::layout::Layout;
use crate::reference::{valid_tag, Reference};
use crate::registry::{BlobPush, Client};
use crate::types::{Descriptor, Manifest, Platform};

/// Progress of a push or pull.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushEvent {
    /// A blob transfer begins.
    BlobStart { digest: Digest, size: u64 },
    /// Bytes of the blob transferred so far (about every MiB; starts again at 0 if the
    /// transfer restarts).
    BlobProgress { digest: Digest, bytes: u64 },
    /// A blob is at its destination: `skipped` when it was there already, `mounted` when the
    /// registry mounted it from another repository.
    BlobDone { digest: Digest, size: u64, skipped: bool, mounted: bool },
    /// A manifest is at its destination (`tag` for the tagged root).
    Manifest { digest: Digest, tag: Option<String> },
}

/// What [`push_layout`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PushReport {
    pub blobs_uploaded: usize,
    pub blobs_skipped: usize,
    pub blobs_mounted: usize,
    pub bytes_uploaded: u64,
    /// Every manifest of the image at the destination, children first, the root last.
    pub manifests: Vec<Digest>,
}

/// The manifests (children first) and distinct blobs (configs, layers) below a root.
struct Graph {
    manifests: Vec<(Descriptor, Vec<u8>)>,
    blobs: Vec<Descriptor>,
}

fn walk(
    layout: &Layout,
    desc: &Descriptor,
    graph: &mut Graph,
    seen: &mut HashSet<Digest>,
    fail: &dyn Fn(String) -> Failure,
) -> Result<(), Failure> {
    if !seen.insert(desc.digest.clone()) {
        return Ok(());
    }
    let bytes = layout.read_verified(&desc.digest).map_err(fail)?;
    match Manifest::parse(&bytes, Some(&desc.media_type))
        .map_err(|e| fail(format!("manifest `{}`: {e}", desc.digest)))?
    {
        Manifest::Index(index) => {
            for child in &index.manifests {
                walk(layout, child, graph, seen, fail)?;
            }
        }
        Manifest::Image(m) => {
            for blob in std::iter::once(&m.config).chain(&m.layers) {
                if seen.insert(blob.digest.clone()) {
                    if !layout.has_blob(&blob.digest) {
                        return Err(fail(format!(
                            "the layout has no blob `{}` ({}), which manifest `{}` lists",
                            blob.digest,
                            layout.blob_path(&blob.digest).display(),
                            desc.digest
                        )));
                    }
                    graph.blobs.push(blob.clone());
                }
            }
        }
    }
    graph.manifests.push((desc.clone(), bytes));
    Ok(())
}

/// Runs `job` over `items` on up to `threads` threads, largest-first order kept as given; stops
/// handing out work after the first failure and returns it.
fn parallel<T: Sync>(
    items: &[T],
    threads: usize,
    job: &(dyn Fn(&T) -> Result<(), Failure> + Sync),
) -> Result<(), Failure> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let first: Mutex<Option<Failure>> = Mutex::new(None);
    let worker = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= items.len() || failed.load(Ordering::Relaxed) {
            break;
        }
        if let Err(f) = job(&items[i]) {
            failed.store(true, Ordering::Relaxed);
            first.lock().unwrap().get_or_insert(f);
            break;
        }
    };
    let threads = threads.clamp(1, items.len().max(1));
    if threads == 1 {
        worker();
    } else {
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(worker);
            }
        });
    }
    match first.into_inner().unwrap() {
        Some(f) => Err(f),
        None => Ok(()),
    }
}

/// Pushes the image or index `root` (and everything it references) from `layout` to
/// `dest.repository` on `dest.registry`, then tags it `tag`. `mount_from`: another repository
/// on the same registry to mount blobs from before uploading them.
pub fn push_layout(
    client: &Client,
    layout: &Layout,
    root: &Descriptor,
    dest: &Reference,
    tag: Option<&str>,
    mount_from: Option<&str>,
    progress: &(dyn Fn(PushEvent) + Sync),
) -> Result<PushReport, Failure> {
    if let Some(t) = tag {
        if !valid_tag(t) {
            return Err(Failure::usage(format!("cannot push `{}:{t}`: `{t}` is not a valid tag", dest.name()))
                .with_hint("tags are 1-128 of letters, digits, `_`, `.` and `-`, not starting with `.` or `-`"));
        }
    }
    let fail =
        |e: String| Failure::verify(format!("cannot push `{}` from `{}`: {e}", dest.name(), layout.root().display()));
    let mut graph = Graph { manifests: Vec::new(), blobs: Vec::new() };
    walk(layout, root, &mut graph, &mut HashSet::new(), &fail)?;
    let mut report =
        PushReport { manifests: graph.manifests.iter().map(|(d, _)| d.digest.clone()).collect(), ..Default::default() };
    let root_bytes = &graph.manifests.last().expect("the walk records the root").1;

    // The root by digest means everything under it was pushed, unless someone deleted a child
    // since (a yank of another version sharing it): check the child manifests too.
    let mut complete = client.head_manifest(&dest.with_digest(&root.digest))?.is_some();
    for (desc, _) in graph.manifests.iter().rev().skip(1) {
        if !complete {
            break;
        }
        complete = client.head_manifest(&dest.with_digest(&desc.digest))?.is_some();
    }
    if complete {
        for blob in &graph.blobs {
            progress(PushEvent::BlobDone {
                digest: blob.digest.clone(),
                size: blob.size,
                skipped: true,
                mounted: false,
            });
        }
        report.blobs_skipped = graph.blobs.len();
        for (desc, _) in &graph.manifests {
            progress(PushEvent::Manifest { digest: desc.digest.clone(), tag: None });
        }
    } else {
        let mut blobs = graph.blobs.clone();
        blobs.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.digest.cmp(&b.digest)));
        let results: Mutex<Vec<(BlobPush, u64)>> = Mutex::new(Vec::new());
        parallel(&blobs, client.options().concurrency, &|blob: &Descriptor| {
            progress(PushEvent::BlobStart { digest: blob.digest.clone(), size: blob.size });
            let on_bytes = |bytes: u64| progress(PushEvent::BlobProgress { digest: blob.digest.clone(), bytes });
            let pushed = client.push_blob_file_with_progress(
                dest,
                &blob.digest,
                blob.size,
                &layout.blob_path(&blob.digest),
                mount_from,
                &on_bytes,
            )?;
            progress(PushEvent::BlobDone {
                digest: blob.digest.clone(),
                size: blob.size,
                skipped: !pushed.uploaded && !pushed.mounted,
                mounted: pushed.mounted,
            });
            results.lock().unwrap().push((pushed, blob.size));
            Ok(())
        })?;
        for (pushed, _) in results.into_inner().unwrap() {
            if pushed.uploaded {
                report.blobs_uploaded += 1;
                report.bytes_uploaded += pushed.bytes;
            } else if pushed.mounted {
                report.blobs_mounted += 1;
            } else {
                report.blobs_skipped += 1;
            }
        }
        for (desc, bytes) in &graph.manifests {
            client.put_manifest(dest, &desc.digest.to_string(), bytes, &desc.media_type)?;
            progress(PushEvent::Manifest { digest: desc.digest.clone(), tag: None });
        }
    }
    if let Some(t) = tag {
        client.put_manifest(dest, t, root_bytes, &root.media_type)?;
        progress(PushEvent::Manifest { digest: root.digest.clone(), tag: Some(t.to_string()) });
    }
    Ok(report)
}

/// Pulls `src` (by tag or digest) into `layout`: the root manifest or index and, for the
/// `platforms` asked (all when empty), their manifests, configs and layers. Returns the root's
/// descriptor. Blobs the layout has are not fetched (a `BlobDone` with `skipped`).
pub fn pull_to_layout(
    client: &Client,
    src: &Reference,
    platforms: &[Platform],
    layout: &Layout,
    progress: &(dyn Fn(PushEvent) + Sync),
) -> Result<Descriptor, Failure> {
    let store_fail = |e: std::io::Error| Failure::io("write into", layout.root(), e);
    let fetched = client.get_manifest(src)?.ok_or_else(|| {
        Failure::network(format!("cannot pull `{src}`: the registry has no such manifest (HTTP 404)"))
    })?;
    let root = fetched.descriptor();
    let parsed = fetched.parse().map_err(|e| Failure::publish(format!("cannot pull `{src}`: {e}")))?;
    let mut blobs: Vec<Descriptor> = Vec::new();
    let mut manifests: Vec<(Descriptor, Vec<u8>)> = Vec::new();
    match parsed {
        Manifest::Index(index) => {
            let chosen: Vec<Descriptor> = if platforms.is_empty() {
                index.manifests.clone()
            } else {
                let mut chosen = Vec::new();
                for p in platforms {
                    match index.for_platform(p) {
                        Some(d) => {
                            if !chosen.iter().any(|c: &Descriptor| c.digest == d.digest) {
                                chosen.push(d.clone());
                            }
                        }
                        None => {
                            let have: Vec<String> = index
                                .manifests
                                .iter()
                                .filter_map(|d| d.platform.as_ref())
                                .map(|p| p.to_string())
                                .collect();
                            return Err(Failure::usage(format!(
                                "cannot pull `{src}`: it has no image for {p} (it has {})",
                                if have.is_empty() { "no platform images".to_string() } else { have.join(", ") }
                            )));
                        }
                    }
                }
                chosen
            };
            let mut queue = chosen;
            let mut seen = HashSet::new();
            while let Some(child) = queue.pop() {
                if !seen.insert(child.digest.clone()) {
                    continue;
                }
                let bytes = if layout.has_blob(&child.digest) {
                    layout.read_verified(&child.digest).map_err(Failure::verify)?
                } else {
                    client
                        .get_manifest(&src.with_digest(&child.digest))?
                        .ok_or_else(|| {
                            Failure::publish(format!(
                                "cannot pull `{src}`: its index lists manifest `{}`, which the registry does not have",
                                child.digest
                            ))
                        })?
                        .bytes
                };
                match Manifest::parse(&bytes, Some(&child.media_type))
                    .map_err(|e| Failure::publish(format!("cannot pull `{src}`: manifest `{}`: {e}", child.digest)))?
                {
                    Manifest::Index(nested) => queue.extend(nested.manifests),
                    Manifest::Image(m) => blobs.extend(std::iter::once(m.config).chain(m.layers)),
                }
                manifests.push((child, bytes));
            }
        }
        Manifest::Image(m) => {
            if !platforms.is_empty() {
                let config = if layout.has_blob(&m.config.digest) {
                    layout.read_verified(&m.config.digest).map_err(Failure::verify)?
                } else {
                    client.get_blob(src, &m.config.digest)?
                };
                let value: serde_json::Value = serde_json::from_slice(&config).unwrap_or_default();
                let field = |k: &str| value.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
                let has =
                    Platform::new(&field("os"), &field("architecture"), value.get("variant").and_then(|v| v.as_str()));
                if !field("os").is_empty() && !platforms.iter().any(|p| has.matches(p)) {
                    let asked: Vec<String> = platforms.iter().map(|p| p.to_string()).collect();
                    return Err(Failure::usage(format!(
                        "cannot pull `{src}`: it has no image for {} (it is a single image for {has})",
                        asked.join(", ")
                    )));
                }
                layout.write_blob(&config).map_err(store_fail)?;
            }
            blobs.extend(std::iter::once(m.config).chain(m.layers));
        }
    }

    let mut seen = HashSet::new();
    blobs.retain(|b| seen.insert(b.digest.clone()));
    blobs.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.digest.cmp(&b.digest)));
    let (present, missing): (Vec<Descriptor>, Vec<Descriptor>) =
        blobs.into_iter().partition(|b| layout.has_blob(&b.digest));
    for b in &present {
        progress(PushEvent::BlobDone { digest: b.digest.clone(), size: b.size, skipped: true, mounted: false });
    }
    parallel(&missing, client.options().concurrency, &|blob: &Descriptor| {
        progress(PushEvent::BlobStart { digest: blob.digest.clone(), size: blob.size });
        let on_bytes = |bytes: u64| progress(PushEvent::BlobProgress { digest: blob.digest.clone(), bytes });
        let got = client.get_blob_to_file_with_progress(
            src,
            &blob.digest,
            Some(blob.size),
            &layout.blob_path(&blob.digest),
            &on_bytes,
        )?;
        if got != blob.size {
            let _ = std::fs::remove_file(layout.blob_path(&blob.digest));
            return Err(Failure::verify(format!(
                "cannot pull `{src}`: blob `{}` has {got} bytes, its descriptor says {}",
                blob.digest, blob.size
            )));
        }
        progress(PushEvent::BlobDone { digest: blob.digest.clone(), size: blob.size, skipped: false, mounted: false });
        Ok(())
    })?;
    // Manifests after their blobs, the root last: a layout never references what it lacks.
    for (desc, bytes) in manifests.iter().rev() {
        layout.write_blob(bytes).map_err(store_fail)?;
        progress(PushEvent::Manifest { digest: desc.digest.clone(), tag: None });
    }
    layout.write_blob(&fetched.bytes).map_err(store_fail)?;
    progress(PushEvent::Manifest { digest: root.digest.clone(), tag: src.tag.clone() });
    Ok(root)
}
