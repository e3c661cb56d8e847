//! The few files of a container image's filesystem that say what OS packages it holds, read
//! from its layers without unpacking them.
//!
//! Layers are applied in order, as a container runtime would: an entry replaces what lower
//! layers had at its path (a file or link also hides everything under that path), `.wh.<name>`
//! deletes `<name>` from the lower layers and `.wh..wh..opq` empties its directory of what lower
//! layers put there (both only affect lower layers, never entries of their own layer). Each
//! layer is streamed once through its decompressor; only the contents of files whose path
//! [`wanted`] selects are kept (a few MB at most), plus every symbolic link, so paths can be
//! resolved the way the image would resolve them (`/etc/os-release` → `../usr/lib/os-release`,
//! `/lib` → `usr/lib`).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::PathBuf;

use relman_manifest::Failure;

/// One layer of an image: the blob on disk and its media type as the manifest gives it, e.g.
/// `application/vnd.oci.image.layer.v1.tar+gzip`, `...tar+zstd`, `...tar` or Docker's
/// `application/vnd.docker.image.rootfs.diff.tar.gzip`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerFile {
    pub path: PathBuf,
    pub media_type: String,
}

/// The largest single file kept (a dpkg status of a large system is a few MB).
const MAX_FILE: u64 = 64 << 20;

/// How many symbolic links one lookup follows (Linux's limit).
const MAX_LINKS: usize = 40;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    fn of(media_type: &str) -> Option<Compression> {
        // Parameters (`; charset=...`) are not part of the type.
        let t = media_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        if t.ends_with(".tar+gzip") || t.ends_with(".tar.gzip") {
            Some(Compression::Gzip)
        } else if t.ends_with(".tar+zstd") {
            Some(Compression::Zstd)
        } else if t.ends_with(".tar") || t == "application/x-tar" {
            Some(Compression::None)
        } else {
            None
        }
    }

    fn name(self) -> &'static str {
        match self {
            Compression::None => "tar",
            Compression::Gzip => "gzip-compressed tar",
            Compression::Zstd => "zstd-compressed tar",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    /// A regular file whose contents were kept.
    File(Vec<u8>),
    /// A symbolic link and its target, as written.
    Symlink(String),
    /// A regular file whose contents were not kept (only that it is there).
    Present,
}

/// The kept part of an image's filesystem after all its layers: paths are relative to the
/// image root, without a leading `/`, components separated by one `/`.
#[derive(Debug, Default)]
pub struct ImageFiles {
    nodes: BTreeMap<String, Node>,
}

/// The files whose contents are kept: the os-release files and the package databases, at their
/// usual places or at any place a symbolic link could send their lookup to (same last
/// components), and distroless's one-stanza-per-file `status.d` entries (not their `.md5sums`).
pub fn wanted(path: &str) -> bool {
    let mut rev = path.rsplit('/');
    let name = rev.next().unwrap_or_default();
    let parent = rev.next().unwrap_or_default();
    let grandparent = rev.next().unwrap_or_default();
    match name {
        "os-release" => true,
        "status" => parent == "dpkg",
        "installed" => parent == "db" && grandparent == "apk",
        _ => parent == "status.d" && grandparent == "dpkg" && !name.starts_with('.') && !name.ends_with(".md5sums"),
    }
}

/// `./usr//lib/x` → `usr/lib/x`; `None` for the root itself or a path that climbs out (`..`).
fn normalise(path: &str) -> Option<String> {
    let mut parts = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => return None,
            c => parts.push(c),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

fn parent_of(path: &str) -> &str {
    path.rsplit_once('/').map(|(p, _)| p).unwrap_or_default()
}

/// Removes `path` and everything under it.
fn remove_tree(nodes: &mut BTreeMap<String, Node>, path: &str) {
    nodes.remove(path);
    remove_children(nodes, path);
}

/// Removes everything under `dir` (`""`: everything), keeping `dir` itself.
fn remove_children(nodes: &mut BTreeMap<String, Node>, dir: &str) {
    if dir.is_empty() {
        nodes.clear();
        return;
    }
    let prefix = format!("{dir}/");
    let under: Vec<String> =
        nodes.range(prefix.clone()..).take_while(|(k, _)| k.starts_with(&prefix)).map(|(k, _)| k.clone()).collect();
    for k in under {
        nodes.remove(&k);
    }
}

impl ImageFiles {
    /// Applies `layers` in order (the first is the base).
    pub fn read(layers: &[LayerFile]) -> Result<ImageFiles, Failure> {
        let mut files = ImageFiles::default();
        for layer in layers {
            files.apply(layer)?;
        }
        Ok(files)
    }

    fn apply(&mut self, layer: &LayerFile) -> Result<(), Failure> {
        let shown = layer.path.display();
        let compression = Compression::of(&layer.media_type).ok_or_else(|| {
            Failure::package(format!(
                "image layer `{shown}` has media type `{}`, which relman cannot read",
                layer.media_type
            ))
            .with_hint("layers must be tar archives, plain or compressed with gzip or zstd")
        })?;
        let file = File::open(&layer.path).map_err(|e| Failure::io("open image layer", &layer.path, e))?;
        let input = BufReader::with_capacity(256 << 10, file);
        let bad = |e: io::Error| {
            // One line: some tar errors span several.
            let e = e.to_string().split_whitespace().collect::<Vec<_>>().join(" ");
            Failure::package(format!("image layer `{shown}` is not a valid {}: {e}", compression.name()))
                .with_hint("the layer file is corrupt or its media type is wrong")
        };
        let decoded: Box<dyn Read> = match compression {
            Compression::None => Box::new(input),
            Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(input)),
            Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(input).map_err(bad)?),
        };
        let mut archive = tar::Archive::new(decoded);
        // This layer's entries; `self.nodes` holds the lower layers' until the layer is done,
        // so whiteouts and replacements reach only what is below.
        let mut upper: BTreeMap<String, Node> = BTreeMap::new();
        for entry in archive.entries().map_err(bad)? {
            let mut entry = entry.map_err(bad)?;
            let kind = entry.header().entry_type();
            if matches!(
                kind,
                tar::EntryType::XGlobalHeader
                    | tar::EntryType::XHeader
                    | tar::EntryType::GNULongName
                    | tar::EntryType::GNULongLink
            ) {
                continue;
            }
            let raw = entry.path().map_err(bad)?.to_string_lossy().replace('\\', "/");
            let Some(path) = normalise(&raw) else { continue };
            let (dir, name) = (parent_of(&path), path.rsplit('/').next().unwrap_or_default());
            if let Some(hidden) = name.strip_prefix(".wh.") {
                if hidden == ".wh..opq" {
                    remove_children(&mut self.nodes, dir);
                } else if !hidden.starts_with(".wh.") && !hidden.is_empty() {
                    let target = if dir.is_empty() { hidden.to_string() } else { format!("{dir}/{hidden}") };
                    remove_tree(&mut self.nodes, &target);
                }
                // `.wh..wh.<other>` are aufs's own bookkeeping files: nothing to apply.
                continue;
            }
            if kind.is_dir() {
                // A directory merges with a lower one, but replaces a lower file or link.
                self.nodes.remove(&path);
                upper.remove(&path);
                continue;
            }
            remove_tree(&mut self.nodes, &path);
            let node = if kind.is_symlink() {
                let target = entry.link_name().map_err(bad)?.map(|t| t.to_string_lossy().replace('\\', "/"));
                target.map(Node::Symlink)
            } else if kind.is_hard_link() {
                // A hard link names an earlier entry of the same archive (or, loosely, a lower
                // layer's file): it has that entry's contents.
                let target =
                    entry.link_name().map_err(bad)?.and_then(|t| normalise(&t.to_string_lossy().replace('\\', "/")));
                let found = target.and_then(|t| upper.get(&t).or_else(|| self.nodes.get(&t)).cloned());
                found.map(|n| match n {
                    Node::File(_) if !wanted(&path) => Node::Present,
                    n => n,
                })
            } else if (kind.is_file() || kind.is_contiguous() || kind.is_gnu_sparse()) && wanted(&path) {
                let size = entry.header().size().map_err(bad)?;
                if size > MAX_FILE {
                    return Err(Failure::package(format!(
                        "`/{path}` in image layer `{shown}` is {size} bytes, more than relman reads of a package database ({MAX_FILE})"
                    )));
                }
                let mut data = Vec::with_capacity(size as usize);
                (&mut entry).take(MAX_FILE).read_to_end(&mut data).map_err(bad)?;
                Some(Node::File(data))
            } else if kind.is_file() || kind.is_contiguous() || kind.is_gnu_sparse() {
                Some(Node::Present)
            } else {
                None
            };
            match node {
                Some(n) => {
                    upper.insert(path, n);
                }
                None => {
                    upper.remove(&path);
                }
            }
        }
        // Read the rest of the stream (the tar end blocks, padding, the gzip trailer) so that a
        // truncated or corrupt layer is noticed even when the archive's end marker came first.
        let mut rest = archive.into_inner();
        io::copy(&mut rest, &mut io::sink()).map_err(bad)?;
        self.nodes.extend(upper);
        Ok(())
    }

    /// Resolves `path` (absolute within the image) through the image's symbolic links, the
    /// last component included; `None` when a link loops or climbs too far.
    fn resolve(&self, path: &str) -> Option<String> {
        let mut pending: Vec<String> = path.split('/').rev().filter(|c| !c.is_empty()).map(str::to_string).collect();
        let mut current: Vec<String> = Vec::new();
        let mut followed = 0;
        while let Some(component) = pending.pop() {
            match component.as_str() {
                "." => continue,
                // `..` at the root stays at the root, as in the kernel.
                ".." => {
                    current.pop();
                    continue;
                }
                _ => {}
            }
            current.push(component);
            let here = current.join("/");
            match self.nodes.get(&here) {
                Some(Node::Symlink(target)) => {
                    followed += 1;
                    if followed > MAX_LINKS {
                        return None;
                    }
                    current.pop();
                    if target.starts_with('/') {
                        current.clear();
                    }
                    pending.extend(target.split('/').rev().filter(|c| !c.is_empty()).map(str::to_string));
                }
                Some(Node::File(_) | Node::Present) if !pending.is_empty() => return None,
                _ => {}
            }
        }
        Some(current.join("/"))
    }

    /// The contents of the regular file at `path` (absolute within the image, links
    /// followed), when it exists and was kept.
    pub fn file(&self, path: &str) -> Option<&[u8]> {
        match self.nodes.get(&self.resolve(path)?)? {
            Node::File(data) => Some(data),
            Node::Symlink(_) | Node::Present => None,
        }
    }

    /// Whether a regular file is at `path` (absolute within the image, links followed).
    pub fn exists(&self, path: &str) -> bool {
        self.resolve(path).and_then(|p| self.nodes.get(&p)).is_some_and(|n| !matches!(n, Node::Symlink(_)))
    }

    /// The kept regular files directly in the directory `dir` (links followed), by name.
    pub fn dir_files(&self, dir: &str) -> Vec<(String, &[u8])> {
        let Some(resolved) = self.resolve(dir) else { return Vec::new() };
        let prefix = if resolved.is_empty() { String::new() } else { format!("{resolved}/") };
        let names: Vec<&str> = self
            .nodes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| &k[prefix.len()..])
            .filter(|rest| !rest.contains('/'))
            .collect();
        let mut out = Vec::new();
        for name in names {
            if let Some(data) = self.file(&format!("{resolved}/{name}")) {
                out.push((name.to_string(), data));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types() {
        assert_eq!(Compression::of("application/vnd.oci.image.layer.v1.tar+gzip"), Some(Compression::Gzip));
        assert_eq!(Compression::of("application/vnd.oci.image.layer.v1.tar+zstd"), Some(Compression::Zstd));
        assert_eq!(Compression::of("application/vnd.oci.image.layer.v1.tar"), Some(Compression::None));
        assert_eq!(Compression::of("application/vnd.docker.image.rootfs.diff.tar.gzip"), Some(Compression::Gzip));
        assert_eq!(
            Compression::of("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"),
            Some(Compression::Gzip)
        );
        assert_eq!(Compression::of("application/vnd.oci.image.config.v1+json"), None);
    }

    #[test]
    fn wanted_paths() {
        for p in [
            "etc/os-release",
            "usr/lib/os-release",
            "var/lib/dpkg/status",
            "lib/apk/db/installed",
            "usr/lib/apk/db/installed",
            "var/lib/dpkg/status.d/libc6",
        ] {
            assert!(wanted(p), "{p}");
        }
        for p in [
            "var/lib/dpkg/status.d/libc6.md5sums",
            "var/lib/dpkg/available",
            "usr/share/doc/x/status",
            "var/lib/dpkg/status-old",
            "etc/installed",
        ] {
            assert!(!wanted(p), "{p}");
        }
    }

    fn files(nodes: &[(&str, Node)]) -> ImageFiles {
        ImageFiles { nodes: nodes.iter().map(|(k, v)| (k.to_string(), v.clone())).collect() }
    }

    #[test]
    fn links_resolve_within_the_image() {
        let f = files(&[
            ("etc/os-release", Node::Symlink("../usr/lib/os-release".into())),
            ("usr/lib/os-release", Node::File(b"ID=debian\n".to_vec())),
            ("lib", Node::Symlink("usr/lib".into())),
            ("abs", Node::Symlink("/../../usr/lib/os-release".into())),
            ("loop", Node::Symlink("loop".into())),
        ]);
        assert_eq!(f.file("/etc/os-release"), Some(&b"ID=debian\n"[..]));
        assert_eq!(f.file("/lib/os-release"), Some(&b"ID=debian\n"[..]));
        assert_eq!(f.file("/abs"), Some(&b"ID=debian\n"[..]));
        assert_eq!(f.file("/loop"), None);
        assert_eq!(f.file("/usr/lib/os-release/x"), None);
        assert_eq!(f.dir_files("/lib").len(), 1);
    }

    #[test]
    fn presence_of_files_whose_contents_are_not_kept() {
        // Debian's loader: /lib64/ld-linux-x86-64.so.2 → /lib/x86_64-linux-gnu/…, /lib → usr/lib.
        let f = files(&[
            ("lib", Node::Symlink("usr/lib".into())),
            ("lib64", Node::Symlink("usr/lib64".into())),
            ("usr/lib64/ld-linux-x86-64.so.2", Node::Symlink("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2".into())),
            ("usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", Node::Present),
            ("dangling", Node::Symlink("/nowhere".into())),
        ]);
        assert!(f.exists("/lib64/ld-linux-x86-64.so.2"));
        assert_eq!(f.file("/lib64/ld-linux-x86-64.so.2"), None, "contents not kept");
        assert!(!f.exists("/lib/ld-musl-x86_64.so.1"));
        assert!(!f.exists("/dangling"));
        assert!(!f.exists("/lib"), "a directory link is not a file");
    }
}
