//! Base images and where they come from: a registry (pinned by digest), a local OCI layout,
//! or nothing (`scratch`).

use std::path::{Path, PathBuf};

use relman_manifest::Failure;
use relman_oci::reference::Reference;
use relman_oci::Digest;

/// A parsed `base = ...` (or Dockerfile `FROM`).
#[derive(Clone, Debug, PartialEq)]
pub enum BaseRef {
    Scratch,
    /// `registry/repo[:tag]@sha256:...`; `digest` is `None` when only a tag was given.
    Registry {
        reference: Reference,
        text: String,
    },
    /// `oci:DIR[:NAME][@sha256:...]`, DIR relative to the project root.
    Layout {
        dir: PathBuf,
        name: Option<String>,
        digest: Option<Digest>,
        text: String,
    },
}

impl BaseRef {
    pub fn parse(text: &str) -> Result<BaseRef, String> {
        let text = text.trim();
        if text == "scratch" {
            return Ok(BaseRef::Scratch);
        }
        if let Some(rest) = text.strip_prefix("oci:") {
            let (rest, digest) = match rest.rsplit_once('@') {
                Some((r, d)) => (r, Some(Digest::parse(d)?)),
                None => (rest, None),
            };
            // `DIR:NAME`: a colon after the last slash names an image of the layout.
            let (dir, name) = match rest.rfind(':') {
                Some(i) if !rest[i..].contains('/') => (&rest[..i], Some(rest[i + 1..].to_string())),
                _ => (rest, None),
            };
            if dir.is_empty() {
                return Err(format!("`{text}` names no directory"));
            }
            return Ok(BaseRef::Layout { dir: PathBuf::from(dir), name, digest, text: text.to_string() });
        }
        let reference = Reference::parse(text)?;
        Ok(BaseRef::Registry { reference, text: text.to_string() })
    }

    pub fn digest(&self) -> Option<&Digest> {
        match self {
            BaseRef::Scratch => None,
            BaseRef::Registry { reference, .. } => reference.digest.as_ref(),
            BaseRef::Layout { digest, .. } => digest.as_ref(),
        }
    }

    /// Whether this base is pinned (scratch always is).
    pub fn is_pinned(&self) -> bool {
        matches!(self, BaseRef::Scratch) || self.digest().is_some()
    }

    /// The text as written.
    pub fn text(&self) -> &str {
        match self {
            BaseRef::Scratch => "scratch",
            BaseRef::Registry { text, .. } | BaseRef::Layout { text, .. } => text,
        }
    }

    /// `text` with `digest` appended (what `relman pin` writes): a tag stays for humans.
    pub fn pinned_text(&self, digest: &Digest) -> String {
        let t = self.text();
        let t = t.rsplit_once('@').map(|(a, _)| a).unwrap_or(t);
        format!("{t}@{digest}")
    }

    /// The one-line refusal for an unpinned base.
    pub fn unpinned_failure(&self, origin: &str) -> Failure {
        Failure::config(format!(
            "{origin}: base image `{}` is not pinned by digest (a tag can move under a release)",
            self.text()
        ))
        .with_hint("run `relman pin` to resolve it to `...@sha256:<digest>` and rewrite the line")
    }
}

/// The `FROM` lines of a Dockerfile: (line number, image text, byte span of the image text).
pub fn dockerfile_froms(text: &str) -> Vec<(usize, String, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let mut stages: Vec<String> = Vec::new();
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let trimmed = line.trim_start();
        let lead = line.len() - trimmed.len();
        let mut words = trimmed.split_whitespace();
        if words.next().is_some_and(|w| w.eq_ignore_ascii_case("FROM")) {
            // Skip flags such as --platform=...
            let mut image = None;
            for w in words.by_ref() {
                if !w.starts_with("--") {
                    image = Some(w);
                    break;
                }
            }
            if let Some(image) = image {
                let rest: Vec<&str> = words.collect();
                if rest.len() >= 2 && rest[0].eq_ignore_ascii_case("AS") {
                    stages.push(rest[1].to_ascii_lowercase());
                }
                let is_stage = stages[..stages.len().saturating_sub(if rest.len() >= 2 { 1 } else { 0 })]
                    .contains(&image.to_ascii_lowercase());
                if !is_stage && !image.contains('$') {
                    let start = offset + lead + trimmed.find(image).unwrap_or(0);
                    out.push((i + 1, image.to_string(), start..start + image.len()));
                }
            }
        }
        offset += line.len();
    }
    out
}

/// The project-relative directory of a layout base.
pub fn layout_dir(root: &Path, dir: &Path) -> PathBuf {
    if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        root.join(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

    #[test]
    fn parses_bases() {
        assert_eq!(BaseRef::parse("scratch").unwrap(), BaseRef::Scratch);
        let b = BaseRef::parse(&format!("127.0.0.1:5000/base:1.36@{D}")).unwrap();
        assert!(b.is_pinned());
        let b = BaseRef::parse("127.0.0.1:5000/base:1.36").unwrap();
        assert!(!b.is_pinned());
        assert_eq!(b.pinned_text(&Digest::parse(D).unwrap()), format!("127.0.0.1:5000/base:1.36@{D}"));
        match BaseRef::parse(&format!("oci:vendor/base:main@{D}")).unwrap() {
            BaseRef::Layout { dir, name, digest, .. } => {
                assert_eq!(dir, PathBuf::from("vendor/base"));
                assert_eq!(name.as_deref(), Some("main"));
                assert!(digest.is_some());
            }
            other => panic!("{other:?}"),
        }
        match BaseRef::parse("oci:./vendor/base").unwrap() {
            BaseRef::Layout { dir, name, .. } => {
                assert_eq!(dir, PathBuf::from("./vendor/base"));
                assert_eq!(name, None);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn dockerfile_from_lines_skip_stages_and_flags() {
        let text = "# syntax\nFROM --platform=$BUILDPLATFORM rust:1.80 AS build\nRUN make\nFROM debian:12-slim\nCOPY --from=build /x /x\nFROM build AS again\n";
        let froms = dockerfile_froms(text);
        let images: Vec<&str> = froms.iter().map(|f| f.1.as_str()).collect();
        assert_eq!(images, vec!["rust:1.80", "debian:12-slim"]);
        assert_eq!(froms[0].0, 2);
        assert_eq!(&text[froms[1].2.clone()], "debian:12-slim");
    }
}
