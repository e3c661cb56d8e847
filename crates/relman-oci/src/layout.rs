//! OCI image layouts on disk (`oci-layout`, `index.json`, `blobs/sha256/<hex>`), the format
//! skopeo (`oci:DIR`), podman, buildah and `docker buildx --output type=oci` read and write.
//!
//! Every file appears atomically (temporary file in the same directory, then rename); blobs are
//! content-addressed, so writing one that exists is a no-op.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::digest::Digest;
use crate::types::{Descriptor, ImageIndex, Manifest};

/// The annotation that names an entry of a layout's `index.json` (`skopeo copy ... oci:DIR:NAME`).
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

const LAYOUT_FILE: &str = "oci-layout";
const LAYOUT_CONTENT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

#[derive(Clone, Debug)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    /// Opens `root` as a layout, creating an empty one when it does not exist yet.
    pub fn create(root: &Path) -> io::Result<Layout> {
        fs::create_dir_all(root.join("blobs").join("sha256"))?;
        let layout = Layout { root: root.to_path_buf() };
        if !root.join(LAYOUT_FILE).exists() {
            write_atomic(&root.join(LAYOUT_FILE), LAYOUT_CONTENT)?;
        }
        if !root.join("index.json").exists() {
            write_atomic(&root.join("index.json"), &ImageIndex::new(Vec::new()).to_bytes())?;
        }
        Ok(layout)
    }

    /// Opens an existing layout; the error says which file is missing or wrong.
    pub fn open(root: &Path) -> Result<Layout, String> {
        let marker = root.join(LAYOUT_FILE);
        let text = fs::read(&marker).map_err(|e| format!("{}: not an OCI image layout ({e})", root.display()))?;
        let value: serde_json::Value =
            serde_json::from_slice(&text).map_err(|e| format!("{}: not JSON ({e})", marker.display()))?;
        if value.get("imageLayoutVersion").and_then(|v| v.as_str()).is_none() {
            return Err(format!("{}: has no imageLayoutVersion", marker.display()));
        }
        Ok(Layout { root: root.to_path_buf() })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs").join("sha256").join(digest.hex())
    }

    pub fn has_blob(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    /// Stores `bytes` as a blob and returns its digest.
    pub fn write_blob(&self, bytes: &[u8]) -> io::Result<Digest> {
        let digest = Digest::of(bytes);
        if !self.has_blob(&digest) {
            write_atomic(&self.blob_path(&digest), bytes)?;
        }
        Ok(digest)
    }

    /// Stores a JSON object (manifest, index, config) and returns its descriptor.
    pub fn write_json_blob(&self, media_type: &str, bytes: &[u8]) -> io::Result<Descriptor> {
        let digest = self.write_blob(bytes)?;
        Ok(Descriptor::new(media_type, digest, bytes.len() as u64))
    }

    /// Moves a finished file whose digest the caller computed into the blob store (hard link
    /// when `src` must stay, rename otherwise). A blob that exists is left as it is.
    pub fn adopt_blob(&self, src: &Path, digest: &Digest, keep_src: bool) -> io::Result<()> {
        let dest = self.blob_path(digest);
        if dest.is_file() {
            if !keep_src {
                let _ = fs::remove_file(src);
            }
            return Ok(());
        }
        if keep_src {
            if fs::hard_link(src, &dest).is_err() {
                let tmp = temp_path(&dest);
                fs::copy(src, &tmp)?;
                fs::rename(&tmp, &dest)?;
            }
            Ok(())
        } else {
            fs::rename(src, &dest).or_else(|_| {
                let tmp = temp_path(&dest);
                fs::copy(src, &tmp)?;
                fs::rename(&tmp, &dest)?;
                fs::remove_file(src)
            })
        }
    }

    pub fn read_blob(&self, digest: &Digest) -> io::Result<Vec<u8>> {
        fs::read(self.blob_path(digest))
    }

    /// Reads a blob and checks that its bytes have the digest that names them.
    pub fn read_verified(&self, digest: &Digest) -> Result<Vec<u8>, String> {
        let path = self.blob_path(digest);
        let bytes = fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let actual = Digest::of(&bytes);
        if &actual != digest {
            return Err(format!("{}: content is {actual}, not {digest}", path.display()));
        }
        Ok(bytes)
    }

    /// The layout's `index.json`.
    pub fn index(&self) -> Result<ImageIndex, String> {
        let path = self.root.join("index.json");
        let bytes = fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_slice(&bytes).map_err(|e| format!("{}: not an image index ({e})", path.display()))
    }

    pub fn write_index(&self, index: &ImageIndex) -> io::Result<()> {
        write_atomic(&self.root.join("index.json"), &index.to_bytes())
    }

    /// Points the entry named `name` at `desc` (replacing an entry of that name).
    pub fn set_ref(&self, name: &str, mut desc: Descriptor) -> Result<(), String> {
        let mut index = self.index()?;
        index.manifests.retain(|d| d.annotations.get(REF_NAME).map(String::as_str) != Some(name));
        desc.annotations.insert(REF_NAME.into(), name.into());
        index.manifests.push(desc);
        index.manifests.sort_by(|a, b| a.annotations.get(REF_NAME).cmp(&b.annotations.get(REF_NAME)));
        self.write_index(&index).map_err(|e| format!("{}: {e}", self.root.display()))
    }

    /// The entry named `name`, or the only entry when `name` is `None`.
    pub fn resolve(&self, name: Option<&str>) -> Result<Descriptor, String> {
        let index = self.index()?;
        let found: Vec<&Descriptor> = match name {
            Some(n) => {
                index.manifests.iter().filter(|d| d.annotations.get(REF_NAME).map(String::as_str) == Some(n)).collect()
            }
            None => index.manifests.iter().collect(),
        };
        match (found.as_slice(), name) {
            ([one], _) => {
                let mut d = (*one).clone();
                d.annotations.remove(REF_NAME);
                Ok(d)
            }
            ([], Some(n)) => Err(format!("{}: no image named `{n}` in index.json", self.root.display())),
            ([], None) => Err(format!("{}: index.json lists no image", self.root.display())),
            (_, _) => {
                let names: Vec<&str> =
                    found.iter().filter_map(|d| d.annotations.get(REF_NAME).map(String::as_str)).collect();
                Err(format!(
                    "{}: index.json lists {} images ({}); name one as DIR:NAME",
                    self.root.display(),
                    found.len(),
                    names.join(", ")
                ))
            }
        }
    }

    /// Reads the manifest or index a descriptor points at.
    pub fn manifest(&self, desc: &Descriptor) -> Result<Manifest, String> {
        let bytes = self.read_verified(&desc.digest)?;
        Manifest::parse(&bytes, Some(&desc.media_type))
            .map_err(|e| format!("{}: {e}", self.blob_path(&desc.digest).display()))
    }
}

fn temp_path(dest: &Path) -> PathBuf {
    let name = dest.file_name().and_then(|n| n.to_str()).unwrap_or("blob");
    // relman's temp prefix: a run that dies leaves nothing the next one does not sweep.
    dest.with_file_name(format!(".relman-tmp-{name}.{}", std::process::id()))
}

/// Writes `bytes` to `path` so that readers see the old file or the new one, never a part.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new().prefix(".relman-tmp-").tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_data()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media;
    use crate::types::ImageManifest;

    #[test]
    fn round_trip_and_refs() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::create(dir.path()).unwrap();
        let cfg = layout.write_json_blob(media::OCI_CONFIG, b"{}").unwrap();
        let m = ImageManifest::new(cfg, vec![]);
        let desc = layout.write_json_blob(media::OCI_MANIFEST, &m.to_bytes()).unwrap();
        layout.set_ref("1.0.0", desc.clone()).unwrap();
        layout.set_ref("1.0.0", desc.clone()).unwrap();
        let again = Layout::open(dir.path()).unwrap();
        assert_eq!(again.index().unwrap().manifests.len(), 1);
        assert_eq!(again.resolve(Some("1.0.0")).unwrap().digest, desc.digest);
        assert_eq!(again.resolve(None).unwrap().digest, desc.digest);
        assert!(again.resolve(Some("2.0.0")).unwrap_err().contains("no image named `2.0.0`"));
        assert!(matches!(again.manifest(&desc).unwrap(), Manifest::Image(_)));
    }

    #[test]
    fn tampered_blob_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::create(dir.path()).unwrap();
        let d = layout.write_blob(b"hello").unwrap();
        fs::write(layout.blob_path(&d), b"hellO").unwrap();
        let err = layout.read_verified(&d).unwrap_err();
        assert!(err.contains(d.hex()), "{err}");
    }

    #[test]
    fn open_refuses_a_plain_directory() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Layout::open(dir.path()).unwrap_err().contains("not an OCI image layout"));
    }
}
