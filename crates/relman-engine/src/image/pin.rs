//! Images pinned by digest: `relman check` refuses a base given by tag only (in relman.toml
//! or a Dockerfile's `FROM`) and a CI container image given by tag only (`[ci] image`,
//! `[ci.targets."<triple>"] container`: what the build and publish jobs run in), and
//! `relman pin` resolves tags to digests and rewrites those lines (relman.toml with
//! toml_edit, the rest of the file untouched).

use std::path::Path;

use relman_manifest::Failure;
use relman_oci::{Digest, Layout};
use serde::Serialize;

use super::base::{dockerfile_froms, layout_dir, BaseRef};
use crate::config::ImageConfig;
use crate::problem::{Problem, ProblemClass};

/// A base image that is not pinned, and where it is written.
#[derive(Clone, Debug, Serialize)]
pub struct Unpinned {
    /// File relative to the project root.
    pub file: String,
    pub line: usize,
    pub image: String,
    #[serde(skip)]
    base: BaseRef,
    #[serde(skip)]
    place: Place,
}

#[derive(Clone, Debug)]
enum Place {
    Config(usize),
    Dockerfile(std::ops::Range<usize>),
    /// `[ci] image`.
    CiImage,
    /// `[ci.targets."<triple>"] container`.
    CiContainer(String),
}

/// What `relman pin` changed (or would change).
#[derive(Clone, Debug, Serialize)]
pub struct PinChange {
    pub file: String,
    pub line: usize,
    pub from: String,
    pub to: String,
}

/// Every unpinned base of the configured images, and every CI container image given by tag.
pub fn unpinned(
    root: &Path,
    config_file: &str,
    images: &[ImageConfig],
    ci: &crate::config::CiConfig,
) -> Result<Vec<Unpinned>, Failure> {
    let config_text = std::fs::read_to_string(root.join(config_file)).unwrap_or_default();
    let mut out = Vec::new();
    for (i, img) in images.iter().enumerate() {
        if let Some(b) = &img.base {
            let base =
                BaseRef::parse(b).map_err(|e| Failure::config(format!("{config_file}: image[{i}].base: {e}")))?;
            if !base.is_pinned() {
                out.push(Unpinned {
                    file: config_file.to_string(),
                    line: line_of(&config_text, b),
                    image: b.clone(),
                    base,
                    place: Place::Config(i),
                });
            }
        }
        if let Some(df) = &img.dockerfile {
            let path = root.join(df);
            let text = std::fs::read_to_string(&path).map_err(|e| Failure::io("read", &path, e))?;
            for (line, image, span) in dockerfile_froms(&text) {
                if image == "scratch" {
                    continue;
                }
                let base = BaseRef::parse(&image).map_err(|e| Failure::config(format!("{df}:{line}: {e}")))?;
                if !base.is_pinned() {
                    out.push(Unpinned { file: df.clone(), line, image, base, place: Place::Dockerfile(span) });
                }
            }
        }
    }
    let containers = ci.image.iter().map(|i| (i, "[ci]".to_string(), "image", Place::CiImage)).chain(
        ci.targets.iter().filter_map(|(t, c)| {
            c.container
                .as_ref()
                .map(|i| (i, format!("[ci.targets.\"{t}\"]"), "container", Place::CiContainer(t.clone())))
        }),
    );
    for (image, table, key, place) in containers {
        let base = BaseRef::parse(image).map_err(|e| Failure::config(format!("{config_file}: {table} {key}: {e}")))?;
        if matches!(base, BaseRef::Registry { .. }) && !base.is_pinned() {
            // The line under the table's header (the same image can be written twice).
            let line = config_text
                .lines()
                .position(|l| l.trim() == table)
                .and_then(|h| {
                    config_text
                        .lines()
                        .enumerate()
                        .skip(h + 1)
                        .find(|(_, l)| l.trim_start().starts_with(key))
                        .map(|(i, _)| i + 1)
                })
                .unwrap_or_else(|| line_of(&config_text, image));
            out.push(Unpinned { file: config_file.to_string(), line, image: image.clone(), base, place });
        }
    }
    Ok(out)
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(&format!("\"{needle}\"")) || l.contains(&format!("'{needle}'")))
        .map(|i| i + 1)
        .unwrap_or(0)
}

/// `relman check`'s problems for unpinned bases and CI container images.
pub fn problems(
    root: &Path,
    config_file: &str,
    images: &[ImageConfig],
    ci: &crate::config::CiConfig,
) -> Result<Vec<Problem>, Failure> {
    Ok(unpinned(root, config_file, images, ci)?
        .into_iter()
        .map(|u| Problem {
            class: ProblemClass::Check,
            file: Some(u.file),
            line: Some(u.line).filter(|l| *l > 0),
            what: match u.place {
                Place::CiImage | Place::CiContainer(_) => {
                    format!("CI container image `{}` is not pinned by digest (run `relman pin`)", u.image)
                }
                _ => format!("base image `{}` is not pinned by digest (run `relman pin`)", u.image),
            },
            expected: format!("{}@sha256:<digest>", u.image),
            found: u.image,
        })
        .collect())
}

/// Resolves every unpinned base to its current digest and rewrites the lines (unless `dry_run`).
pub fn pin(
    root: &Path,
    config_file: &str,
    images: &[ImageConfig],
    ci: &crate::config::CiConfig,
    remote: &crate::remote::Remote,
    dry_run: bool,
) -> Result<Vec<PinChange>, Failure> {
    let found = unpinned(root, config_file, images, ci)?;
    let client = remote.registry_client();
    let mut changes = Vec::new();
    let mut resolved = Vec::new();
    for u in &found {
        let digest = resolve(root, &client, &u.base)?;
        let to = u.base.pinned_text(&digest);
        changes.push(PinChange { file: u.file.clone(), line: u.line, from: u.image.clone(), to: to.clone() });
        resolved.push((u, to));
    }
    if dry_run || resolved.is_empty() {
        return Ok(changes);
    }
    // relman.toml through toml_edit; Dockerfiles by span, last span first.
    let config_edits: Vec<(&Place, &String)> = resolved
        .iter()
        .filter(|(u, _)| !matches!(u.place, Place::Dockerfile(_)))
        .map(|(u, to)| (&u.place, to))
        .collect();
    if !config_edits.is_empty() {
        let path = root.join(config_file);
        let text = std::fs::read_to_string(&path).map_err(|e| Failure::io("read", &path, e))?;
        let mut doc: toml_edit::DocumentMut =
            text.parse().map_err(|e| Failure::config(format!("{config_file}: {e}")))?;
        for (place, to) in config_edits {
            let (table, key, what) = match place {
                Place::Config(i) => (
                    doc.get_mut("image")
                        .and_then(|v| v.as_array_of_tables_mut())
                        .and_then(|a| a.get_mut(*i))
                        .map(|t| t as &mut dyn toml_edit::TableLike),
                    "base",
                    format!("image[{i}]"),
                ),
                Place::CiImage => (doc.get_mut("ci").and_then(|v| v.as_table_like_mut()), "image", "[ci]".to_string()),
                Place::CiContainer(t) => (
                    doc.get_mut("ci")
                        .and_then(|v| v.as_table_like_mut())
                        .and_then(|c| c.get_mut("targets"))
                        .and_then(|v| v.as_table_like_mut())
                        .and_then(|c| c.get_mut(t))
                        .and_then(|v| v.as_table_like_mut()),
                    "container",
                    format!("[ci.targets.\"{t}\"]"),
                ),
                Place::Dockerfile(_) => unreachable!("filtered"),
            };
            let item = table.ok_or_else(|| Failure::config(format!("{config_file}: {what} is not a table")))?;
            let old = item.get(key).and_then(|b| b.as_value()).map(|v| v.decor().clone());
            let mut v = toml_edit::Value::from(to.as_str());
            if let Some(d) = old {
                *v.decor_mut() = d;
            }
            item.insert(key, toml_edit::Item::Value(v));
        }
        crate::fsutil::write_atomic(&path, doc.to_string().as_bytes())?;
    }
    let mut by_file: std::collections::BTreeMap<&str, Vec<(std::ops::Range<usize>, &String)>> = Default::default();
    for (u, to) in &resolved {
        if let Place::Dockerfile(span) = &u.place {
            by_file.entry(u.file.as_str()).or_default().push((span.clone(), to));
        }
    }
    for (file, mut edits) in by_file {
        let path = root.join(file);
        let mut text = std::fs::read_to_string(&path).map_err(|e| Failure::io("read", &path, e))?;
        edits.sort_by_key(|(span, _)| std::cmp::Reverse(span.start));
        for (span, to) in edits {
            text.replace_range(span, to);
        }
        crate::fsutil::write_atomic(&path, text.as_bytes())?;
    }
    Ok(changes)
}

fn resolve(root: &Path, client: &relman_oci::registry::Client, base: &BaseRef) -> Result<Digest, Failure> {
    match base {
        BaseRef::Scratch => Err(Failure::internal("scratch needs no pin")),
        BaseRef::Registry { reference, text } => match client.head_manifest(reference)? {
            Some(d) => Ok(d.digest),
            None => Err(Failure::config(format!("cannot pin `{text}`: {reference} is not in the registry"))
                .with_hint("check the image name and tag")),
        },
        BaseRef::Layout { dir, name, text, .. } => {
            let layout = Layout::open(&layout_dir(root, dir))
                .map_err(|e| Failure::config(format!("cannot pin `{text}`: {e}")))?;
            let d =
                layout.resolve(name.as_deref()).map_err(|e| Failure::config(format!("cannot pin `{text}`: {e}")))?;
            Ok(d.digest)
        }
    }
}
