//! The image stage: multi-platform OCI images, without a daemon.
//!
//! For each `[[image]]` and platform, relman takes the base image's manifest and config (from a
//! registry, pulled once into `dist/.cache/oci`, or from a local OCI layout), adds one
//! reproducible layer with the platform's built files, writes the config (entrypoint, env,
//! labels, the OCI labels) and the manifest, then one image index over the platforms. Everything
//! lands in an OCI image layout at `dist/<version>/oci/<name>` — which skopeo, podman and buildah
//! read — named by the version tag. Images made by other builders (an OCI layout per platform, or
//! a Dockerfile built with buildah) are copied in as they are. Same inputs → same digests.

pub mod base;
pub mod elf;
pub mod layer;
pub mod pin;
pub mod sbom;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use relman_manifest::{Failure, ImagePlatform, ImageRecord};
use relman_oci::types::Manifest as OciManifest;
use relman_oci::{media, Descriptor, Digest, ImageIndex, ImageManifest, Layout, Platform};
use serde_json::{json, Value};

use crate::config::{ImageConfig, ImageFile, LayerCompression};
use crate::planned::Planned;
use crate::report::Reporter;
use crate::settings::Settings;

use base::BaseRef;
use layer::LayerEntry;

/// Where images live under the version directory.
pub const LAYOUT_DIR: &str = "oci";
/// The shared blob cache for pulled base images, under `dist/`.
pub const CACHE_DIR: &str = ".cache/oci";

/// The OCI platform a Rust target triple runs on (Linux targets only).
pub fn platform_of_target(target: &str) -> Option<Platform> {
    let (os, arch) = relman_manifest::os_arch(target);
    if os != "linux" {
        return None;
    }
    let (arch, variant) = match arch.as_str() {
        "x86_64" => ("amd64", None),
        "aarch64" => ("arm64", None),
        "i686" | "i586" => ("386", None),
        "armv7" => ("arm", Some("v7")),
        "arm" => ("arm", Some("v6")),
        "riscv64gc" | "riscv64" => ("riscv64", None),
        "powerpc64le" => ("ppc64le", None),
        "s390x" => ("s390x", None),
        "loongarch64" => ("loong64", None),
        _ => return None,
    };
    Some(Platform::new("linux", arch, variant))
}

/// The usual Linux target triple of an image platform (the inverse of [`platform_of_target`]).
fn triple_of_platform(p: &Platform) -> String {
    let text = p.to_string();
    let arch = match text.as_str() {
        "linux/amd64" => "x86_64-unknown-linux-gnu",
        "linux/arm64" | "linux/arm64/v8" => "aarch64-unknown-linux-gnu",
        "linux/386" => "i686-unknown-linux-gnu",
        "linux/arm/v7" => "armv7-unknown-linux-gnueabihf",
        "linux/arm/v6" => "arm-unknown-linux-gnueabihf",
        "linux/riscv64" => "riscv64gc-unknown-linux-gnu",
        "linux/ppc64le" => "powerpc64le-unknown-linux-gnu",
        "linux/s390x" => "s390x-unknown-linux-gnu",
        "linux/loong64" => "loongarch64-unknown-linux-gnu",
        _ => "x86_64-unknown-linux-gnu",
    };
    arch.to_string()
}

/// An OCI tag for a version (`+` is not allowed in tags: build metadata maps to `_`).
pub fn version_tag(version: &str) -> String {
    version.replace('+', "_")
}

/// The image's name as configured (default: the project name).
pub fn image_name(settings: &Settings, cfg: &ImageConfig) -> String {
    cfg.name.clone().unwrap_or_else(|| settings.name.clone())
}

fn source_of(cfg: &ImageConfig) -> &'static str {
    if cfg.layout.is_some() {
        "layout"
    } else if cfg.dockerfile.is_some() {
        "dockerfile"
    } else {
        "files"
    }
}

/// Decides every image and platform (no digest yet); the config is checked here, so a bad
/// `[[image]]` fails at plan time, before anything is built.
pub fn plan_images(s: &Settings) -> Result<Vec<ImageRecord>, Failure> {
    let mut out = Vec::new();
    let mut names = Vec::new();
    for (i, cfg) in s.images.iter().enumerate() {
        let name = image_name(s, cfg);
        let at = format!("relman.toml: image[{i}] (`{name}`)");
        if !valid_name(&name) {
            return Err(Failure::config(format!("{at}: `{name}` is not a valid image name"))
                .with_hint("use lowercase letters, digits and . _ - / (e.g. `app` or `acme/app-worker`)"));
        }
        if names.contains(&name) {
            return Err(Failure::config(format!("{at}: a second image is named `{name}`"))
                .with_hint("give each [[image]] its own `name`"));
        }
        names.push(name.clone());
        let ways = [cfg.base.is_some(), cfg.layout.is_some(), cfg.dockerfile.is_some()].iter().filter(|b| **b).count();
        if ways != 1 {
            return Err(Failure::config(format!(
                "{at}: set exactly one of `base` (files on a base image), `layout` or `dockerfile`"
            ))
            .with_hint("e.g. base = \"registry.example/base@sha256:...\" (or \"scratch\")"));
        }
        if let Some(b) = &cfg.base {
            BaseRef::parse(b).map_err(|e| Failure::config(format!("{at}: base: {e}")))?;
        }
        if source_of(cfg) != "files" && (!cfg.files.is_empty() || cfg.entrypoint.is_some()) {
            return Err(Failure::config(format!(
                "{at}: `files` and `entrypoint` apply to images built from files on a `base`"
            )));
        }
        for f in &cfg.files {
            check_file(f, s).map_err(|e| Failure::config(format!("{at}: files: {e}")))?;
        }
        for p in &cfg.ports {
            parse_port(p).map_err(|e| Failure::config(format!("{at}: ports: {e}")))?;
        }
        let platforms = image_platforms(s, cfg).map_err(|e| Failure::config(format!("{at}: {e}")))?;
        out.push(ImageRecord {
            name: name.clone(),
            layout: format!("{LAYOUT_DIR}/{name}"),
            source: source_of(cfg).to_string(),
            digest: None,
            base: cfg.base.clone().filter(|b| b != "scratch"),
            platforms: platforms
                .into_iter()
                .map(|(p, t)| ImagePlatform { platform: p.to_string(), target: t, digest: None, size: None })
                .collect(),
        });
    }
    Ok(out)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('/').all(|part| {
            !part.is_empty()
                && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
                && part.as_bytes()[0].is_ascii_alphanumeric()
        })
}

fn check_file(f: &ImageFile, s: &Settings) -> Result<(), String> {
    match (&f.binary, &f.src) {
        (Some(b), None) => {
            if !s.binaries.contains(b) {
                return Err(format!("binary `{b}` is not built (binaries: {})", s.binaries.join(", ")));
            }
        }
        (None, Some(_)) => {}
        _ => return Err(format!("`{}`: set exactly one of `binary` or `src`", f.dest)),
    }
    if !f.dest.starts_with('/') || f.dest.ends_with('/') || f.dest.split('/').any(|p| p == "..") {
        return Err(format!("dest `{}` must be an absolute file path in the image", f.dest));
    }
    if let Some(m) = &f.mode {
        parse_mode(m)?;
    }
    Ok(())
}

fn parse_mode(m: &str) -> Result<u32, String> {
    u32::from_str_radix(m.trim_start_matches("0o"), 8)
        .ok()
        .filter(|v| *v <= 0o7777)
        .ok_or_else(|| format!("mode `{m}` is not an octal file mode like \"0755\""))
}

fn parse_port(p: &str) -> Result<String, String> {
    let (num, proto) = p.split_once('/').unwrap_or((p, "tcp"));
    if num.parse::<u16>().map(|n| n == 0).unwrap_or(true) || !matches!(proto, "tcp" | "udp" | "sctp") {
        return Err(format!("`{p}` is not a port like 8080, 8080/tcp or 53/udp"));
    }
    Ok(format!("{num}/{proto}"))
}

/// The platforms of an image, each with the build target whose files it holds.
fn image_platforms(s: &Settings, cfg: &ImageConfig) -> Result<Vec<(Platform, Option<String>)>, String> {
    let from_targets: Vec<(Platform, String)> =
        s.targets.iter().filter_map(|t| platform_of_target(t).map(|p| (p, t.clone()))).collect();
    // Built binaries come from a platform's build target; project files alone need none.
    let needs_target = source_of(cfg) == "files"
        && (cfg.files.iter().any(|f| f.binary.is_some()) || (cfg.files.is_empty() && !s.binaries.is_empty()));
    match &cfg.platforms {
        None => {
            if from_targets.is_empty() && !needs_target {
                // A service without build targets: its image (a Dockerfile, a layout, project
                // files on a base) is made for the machine's platform unless `platforms` says
                // otherwise.
                let host = crate::settings::host_target();
                if let Some(p) = platform_of_target(&host) {
                    return Ok(vec![(p, None)]);
                }
            }
            if from_targets.is_empty() {
                return Err(format!(
                    "no Linux build target to make an image for (targets: {}); set the image's platforms, e.g. platforms = [\"linux/amd64\", \"linux/arm64\"]",
                    if s.targets.is_empty() { "none".to_string() } else { s.targets.join(", ") }
                ));
            }
            Ok(from_targets.into_iter().map(|(p, t)| (p, Some(t))).collect())
        }
        Some(list) => {
            let mut out = Vec::new();
            for text in list {
                let p = Platform::parse(text).ok_or_else(|| format!("platform `{text}` is not like linux/amd64"))?;
                let target = from_targets.iter().find(|(q, _)| q.matches(&p) || p.matches(q)).map(|(_, t)| t.clone());
                if needs_target && target.is_none() {
                    let targets = if s.targets.is_empty() { "none".to_string() } else { s.targets.join(", ") };
                    return Err(format!(
                        "platform `{p}` has no build target for the image's binaries (targets: {targets})"
                    ));
                }
                out.push((p, target));
            }
            Ok(out)
        }
    }
}

/// What the image stage did for one image.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BuiltImage {
    pub name: String,
    pub digest: String,
    pub layout: PathBuf,
    pub platforms: Vec<ImagePlatform>,
}

/// Builds every planned image into its layout and records the digests in the manifest.
pub fn build_images(planned: &mut Planned, reporter: &dyn Reporter) -> Result<Vec<BuiltImage>, Failure> {
    if planned.manifest.images.is_empty() {
        return Ok(Vec::new());
    }
    reporter.stage("image");
    let mut built = Vec::new();
    for i in 0..planned.manifest.images.len() {
        let record = planned.manifest.images[i].clone();
        let cfg = planned
            .settings
            .images
            .iter()
            .find(|c| image_name(&planned.settings, c) == record.name)
            .cloned()
            .ok_or_else(|| Failure::internal(format!("image `{}` is not configured", record.name)))?;
        let out = build_image(planned, &cfg, &record, reporter)?;
        planned.manifest.images[i] =
            ImageRecord { digest: Some(out.digest.clone()), platforms: out.platforms.clone(), ..record };
        planned.save()?;
        let platforms = crate::report::count(out.platforms.len(), "platform");
        reporter.step(&format!("{}: {} ({platforms})", out.name, out.digest));
        built.push(out);
    }
    Ok(built)
}

fn build_image(
    planned: &Planned,
    cfg: &ImageConfig,
    record: &ImageRecord,
    reporter: &dyn Reporter,
) -> Result<BuiltImage, Failure> {
    let layout_dir = planned.version_dir.join(&record.layout);
    let layout = Layout::create(&layout_dir).map_err(|e| Failure::io("create", &layout_dir, e))?;
    let mut descs = Vec::new();
    let mut platforms = Vec::new();
    for p in &record.platforms {
        let platform = Platform::parse(&p.platform).expect("planned platforms parse");
        let desc = match record.source.as_str() {
            "files" => image_from_files(planned, cfg, record, &platform, p.target.as_deref(), &layout, reporter)?,
            "layout" => {
                let tmpl = cfg.layout.as_deref().expect("layout source");
                let text = expand_platform(tmpl, &platform, p.target.as_deref());
                let (dir, name) = split_layout_name(&text);
                let dir = base::layout_dir(&planned.settings.root, Path::new(dir));
                copy_platform_image(&dir, name, None, &platform, &layout, &record.name)?
            }
            _ => {
                let dir = buildah_build(planned, cfg, record, &platform, reporter)?;
                copy_platform_image(&dir, Some("image"), None, &platform, &layout, &record.name)?
            }
        };
        let size = layers_size(&layout, &desc)?;
        platforms.push(ImagePlatform {
            platform: p.platform.clone(),
            target: p.target.clone(),
            digest: Some(desc.digest.to_string()),
            size: Some(size),
        });
        descs.push(Descriptor { platform: Some(platform), ..desc });
    }
    let mut index = ImageIndex::new(descs);
    index.annotations = oci_annotations(planned);
    let bytes = index.to_bytes();
    let index_desc =
        layout.write_json_blob(media::OCI_INDEX, &bytes).map_err(|e| Failure::io("write", &layout_dir, e))?;
    layout.set_ref(&version_tag(&planned.manifest.version), index_desc.clone()).map_err(Failure::package)?;
    Ok(BuiltImage { name: record.name.clone(), digest: index_desc.digest.to_string(), layout: layout_dir, platforms })
}

/// `org.opencontainers.image.*` facts of the release (labels of configs, annotations of indexes).
fn oci_annotations(planned: &Planned) -> BTreeMap<String, String> {
    let m = &planned.manifest;
    let mut a = BTreeMap::new();
    a.insert("org.opencontainers.image.created".into(), relman_manifest::time::rfc3339(m.source_date_epoch));
    a.insert("org.opencontainers.image.revision".into(), m.commit.clone());
    a.insert("org.opencontainers.image.version".into(), m.version.clone());
    if let Some(repo) = &m.project.repository {
        a.insert("org.opencontainers.image.source".into(), repo.clone());
    }
    a
}

fn layers_size(layout: &Layout, desc: &Descriptor) -> Result<u64, Failure> {
    match layout.manifest(desc).map_err(Failure::package)? {
        OciManifest::Image(m) => Ok(m.layers.iter().map(|l| l.size).sum()),
        OciManifest::Index(_) => Ok(0),
    }
}

fn expand_platform(tmpl: &str, p: &Platform, target: Option<&str>) -> String {
    tmpl.replace("{os}", &p.os)
        .replace("{arch}", &p.architecture)
        .replace("{variant}", p.variant.as_deref().unwrap_or(""))
        .replace("{target}", target.unwrap_or(""))
}

/// `DIR:NAME` → (DIR, Some(NAME)); a colon inside the last path component names an image.
fn split_layout_name(text: &str) -> (&str, Option<&str>) {
    match text.rfind(':') {
        Some(i) if !text[i..].contains('/') && i > 0 => (&text[..i], Some(&text[i + 1..])),
        _ => (text, None),
    }
}

/// The manifest for `platform` in a layout (the named or only entry: an index or a manifest),
/// with every blob it needs copied into `out`. The manifest's bytes are kept as they are.
fn copy_platform_image(
    dir: &Path,
    name: Option<&str>,
    pinned: Option<&Digest>,
    platform: &Platform,
    out: &Layout,
    image: &str,
) -> Result<Descriptor, Failure> {
    let src = Layout::open(dir).map_err(|e| Failure::package(format!("image `{image}`: {e}")))?;
    let desc = find_platform_manifest(&src, name, pinned, platform, image)?;
    copy_image_blobs(&src, &desc, out)?;
    Ok(desc)
}

/// Resolves `name` (or the only entry) in `src` to the image manifest for `platform`.
fn find_platform_manifest(
    src: &Layout,
    name: Option<&str>,
    pinned: Option<&Digest>,
    platform: &Platform,
    image: &str,
) -> Result<Descriptor, Failure> {
    let root = match pinned {
        Some(d) => {
            let bytes = src.read_verified(d).map_err(|e| {
                Failure::package(format!("image `{image}`: base {d} is not in {}: {e}", src.root().display()))
                    .with_hint("the layout changed since it was pinned; run `relman pin` again if that was intended")
            })?;
            let mt = match OciManifest::parse(&bytes, None).map_err(Failure::package)? {
                OciManifest::Index(i) => i.content_type().to_string(),
                OciManifest::Image(m) => m.content_type().to_string(),
            };
            Descriptor::new(&mt, d.clone(), bytes.len() as u64)
        }
        None => src.resolve(name).map_err(|e| Failure::package(format!("image `{image}`: {e}")))?,
    };
    match src.manifest(&root).map_err(Failure::package)? {
        OciManifest::Index(index) => {
            let found = index.for_platform(platform).cloned();
            found.ok_or_else(|| {
                let have: Vec<String> =
                    index.manifests.iter().filter_map(|d| d.platform.as_ref().map(|p| p.to_string())).collect();
                Failure::package(format!(
                    "image `{image}`: {} has no {platform} image (it has: {})",
                    src.root().display(),
                    if have.is_empty() { "none".to_string() } else { have.join(", ") }
                ))
                .with_hint("pick a base that has every platform of the image, or set the image's `platforms`")
            })
        }
        OciManifest::Image(m) => {
            let cfg: Value = serde_json::from_slice(&src.read_verified(&m.config.digest).map_err(Failure::package)?)
                .map_err(|e| Failure::package(format!("image `{image}`: config is not JSON: {e}")))?;
            let os = cfg.get("os").and_then(Value::as_str).unwrap_or("");
            let arch = cfg.get("architecture").and_then(Value::as_str).unwrap_or("");
            let variant = cfg.get("variant").and_then(Value::as_str);
            let have = Platform::new(os, arch, variant);
            if !have.matches(platform) && !platform.matches(&have) {
                return Err(Failure::package(format!(
                    "image `{image}`: {} holds a {have} image, not {platform}",
                    src.root().display()
                )));
            }
            Ok(root)
        }
    }
}

fn copy_image_blobs(src: &Layout, desc: &Descriptor, out: &Layout) -> Result<(), Failure> {
    let m = match src.manifest(desc).map_err(Failure::package)? {
        OciManifest::Image(m) => m,
        OciManifest::Index(_) => return Err(Failure::package(format!("{}: nested index", desc.digest))),
    };
    for d in std::iter::once(&m.config).chain(&m.layers).chain(std::iter::once(desc)) {
        let path = src.blob_path(&d.digest);
        if !path.is_file() {
            return Err(Failure::package(format!("{}: blob {} is missing", src.root().display(), d.digest)));
        }
        out.adopt_blob(&path, &d.digest, true).map_err(|e| Failure::io("copy", &path, e))?;
    }
    Ok(())
}

/// The base image's manifest and config for `platform`, its blobs present in `out`.
fn base_for(
    planned: &Planned,
    base: &BaseRef,
    platform: &Platform,
    out: &Layout,
    image: &str,
    reporter: &dyn Reporter,
) -> Result<Option<(ImageManifest, Value)>, Failure> {
    let desc = match base {
        BaseRef::Scratch => return Ok(None),
        BaseRef::Layout { dir, name, digest, .. } => {
            let dir = base::layout_dir(&planned.settings.root, dir);
            let src = Layout::open(&dir).map_err(|e| Failure::package(format!("image `{image}`: base: {e}")))?;
            let desc = find_platform_manifest(&src, name.as_deref(), digest.as_ref(), platform, image)?;
            copy_image_blobs(&src, &desc, out)?;
            desc
        }
        BaseRef::Registry { reference, .. } => {
            let cache_dir = planned.settings.dist.join(CACHE_DIR);
            let cache = Layout::create(&cache_dir).map_err(|e| Failure::io("create", &cache_dir, e))?;
            let root = pull_base(&planned.settings.remote.registry_client(), reference, platform, &cache, reporter)?;
            let desc = match cache.manifest(&root).map_err(Failure::package)? {
                OciManifest::Index(_) => find_platform_manifest(&cache, None, Some(&root.digest), platform, image)?,
                OciManifest::Image(_) => root,
            };
            copy_image_blobs(&cache, &desc, out)?;
            desc
        }
    };
    let m = match out.manifest(&desc).map_err(Failure::package)? {
        OciManifest::Image(m) => m,
        OciManifest::Index(_) => return Err(Failure::package(format!("image `{image}`: base resolves to an index"))),
    };
    let cfg: Value = serde_json::from_slice(&out.read_verified(&m.config.digest).map_err(Failure::package)?)
        .map_err(|e| Failure::package(format!("image `{image}`: base config is not JSON: {e}")))?;
    Ok(Some((m, cfg)))
}

/// Refuses an image whose dynamically linked executables ask for a loader (`PT_INTERP`) that
/// the image's filesystem — the base's layers with relman's `layer` on top — does not have: it
/// would fail with `exec …: no such file or directory` when it runs.
#[allow(clippy::too_many_arguments)]
fn check_loaders(
    entries: &[LayerEntry],
    base: Option<&ImageManifest>,
    layer: &Descriptor,
    layout: &Layout,
    image: &str,
    platform: &Platform,
    base_text: &str,
) -> Result<(), Failure> {
    let mut needs = Vec::new();
    for e in entries.iter().filter(|e| e.mode & 0o111 != 0) {
        if let Some(src) = &e.source {
            if let Some(loader) = elf::interpreter(src).map_err(|err| Failure::io("read", src, err))? {
                needs.push((e.path.clone(), loader));
            }
        }
    }
    if needs.is_empty() {
        return Ok(());
    }
    let layers: Vec<crate::sbom::LayerFile> = base
        .map(|m| m.layers.as_slice())
        .unwrap_or_default()
        .iter()
        .chain(std::iter::once(layer))
        .map(|l| crate::sbom::LayerFile { path: layout.blob_path(&l.digest), media_type: l.media_type.clone() })
        .collect();
    let files = crate::sbom::ImageFiles::read(&layers)?;
    for (path, loader) in needs {
        if !files.exists(&loader) {
            return Err(Failure::package(format!(
                "image `{image}` ({platform}): `/{path}` is dynamically linked and needs `{loader}`, which base `{base_text}` does not have"
            ))
            .with_hint(
                "use a base with the C library it was built against (e.g. gcr.io/distroless/cc, debian:stable-slim), or build it statically (e.g. a *-unknown-linux-musl target)",
            ));
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn image_from_files(
    planned: &Planned,
    cfg: &ImageConfig,
    record: &ImageRecord,
    platform: &Platform,
    target: Option<&str>,
    out: &Layout,
    reporter: &dyn Reporter,
) -> Result<Descriptor, Failure> {
    let s = &planned.settings;
    // Project files only: no build target; the platform's usual triple stands in for the
    // `{target}`, `{os}`, `{arch}` placeholders of `src`.
    let pseudo;
    let target = match target {
        Some(t) => t,
        None => {
            pseudo = triple_of_platform(platform);
            pseudo.as_str()
        }
    };
    let base = BaseRef::parse(cfg.base.as_deref().unwrap_or("scratch")).map_err(Failure::config)?;
    if !base.is_pinned() {
        return Err(base.unpinned_failure(&format!("relman.toml: image `{}`", record.name)));
    }
    let base_parts = base_for(planned, &base, platform, out, &record.name, reporter)?;
    // The layer.
    let entries = layer_entries(planned, cfg, target)?;
    let mtime = planned.manifest.source_date_epoch.max(0) as u64;
    let compression = cfg.compression.unwrap_or_default();
    let level = match compression {
        LayerCompression::Gzip => s.level.unwrap_or(6).min(9),
        LayerCompression::Zstd => s.level.unwrap_or(3),
    };
    let built = layer::write_layer(&entries, mtime, compression, level, out, reporter)?;
    let ours = Descriptor::new(layer::media_type(compression), built.digest.clone(), built.size);
    let base_text = cfg.base.as_deref().unwrap_or("scratch");
    check_loaders(&entries, base_parts.as_ref().map(|(m, _)| m), &ours, out, &record.name, platform, base_text)?;
    // The config.
    let (base_manifest, base_config) = match base_parts {
        Some((m, c)) => (Some(m), c),
        None => (None, json!({"config": {}, "rootfs": {"type": "layers", "diff_ids": []}})),
    };
    let config = image_config(planned, cfg, base_config, platform, &built.diff_id, base_manifest.is_some());
    let config_bytes = serde_json::to_vec(&config).expect("config serialises");
    let config_desc =
        out.write_json_blob(media::OCI_CONFIG, &config_bytes).map_err(|e| Failure::io("write", out.root(), e))?;
    let mut layers: Vec<Descriptor> =
        base_manifest.as_ref().map(|m| m.layers.iter().map(oci_layer).collect()).unwrap_or_default();
    layers.push(ours);
    let mut manifest = ImageManifest::new(config_desc, layers);
    if let (Some(d), BaseRef::Registry { reference, .. }) = (base.digest(), &base) {
        manifest.annotations.insert("org.opencontainers.image.base.digest".into(), d.to_string());
        manifest.annotations.insert("org.opencontainers.image.base.name".into(), reference.name());
    }
    let bytes = manifest.to_bytes();
    out.write_json_blob(media::OCI_MANIFEST, &bytes).map_err(|e| Failure::io("write", out.root(), e))
}

/// A base layer's descriptor with Docker's media types mapped to OCI's (same bytes).
fn oci_layer(d: &Descriptor) -> Descriptor {
    let media_type = match d.media_type.as_str() {
        media::DOCKER_LAYER_GZIP => media::OCI_LAYER_GZIP.to_string(),
        other => other.to_string(),
    };
    Descriptor { media_type, ..d.clone() }
}

/// The files of the image for `target`, with their parent directories.
fn layer_entries(planned: &Planned, cfg: &ImageConfig, target: &str) -> Result<Vec<LayerEntry>, Failure> {
    let s = &planned.settings;
    let exe = if target.contains("windows") { ".exe" } else { "" };
    let defaults: Vec<ImageFile>;
    let files = if cfg.files.is_empty() {
        defaults = s
            .binaries
            .iter()
            .map(|b| ImageFile { binary: Some(b.clone()), dest: format!("/usr/local/bin/{b}"), ..Default::default() })
            .collect();
        &defaults
    } else {
        &cfg.files
    };
    let (os, arch) = relman_manifest::os_arch(target);
    let mut entries = Vec::new();
    for f in files {
        let (src, default_mode) = match (&f.binary, &f.src) {
            (Some(b), _) => (planned.build_dir(target).join(format!("{b}{exe}")), 0o755),
            (None, Some(src)) => {
                let rel = src.replace("{target}", target).replace("{os}", &os).replace("{arch}", &arch);
                (s.root.join(rel), 0o644)
            }
            (None, None) => unreachable!("checked at plan time"),
        };
        let meta = std::fs::metadata(&src).map_err(|e| {
            let what = if f.binary.is_some() { "built binary" } else { "file" };
            Failure::package(format!("image file `{}`: {what} `{}`: {e}", f.dest, src.display())).with_hint(
                if f.binary.is_some() { "run `relman build` first" } else { "check `src` in [[image.files]]" },
            )
        })?;
        if !meta.is_file() {
            return Err(Failure::package(format!("image file `{}`: `{}` is not a file", f.dest, src.display())));
        }
        let mode = match &f.mode {
            Some(m) => parse_mode(m).map_err(Failure::config)?,
            None => default_mode,
        };
        entries.push(LayerEntry {
            path: f.dest.trim_start_matches('/').to_string(),
            source: Some(src),
            size: meta.len(),
            mode,
            uid: f.uid.unwrap_or(0),
            gid: f.gid.unwrap_or(0),
        });
    }
    Ok(layer::with_parents(entries))
}

/// The image config: the base's, with the platform, the new layer, the configured process
/// settings and labels, and relman's OCI labels.
fn image_config(
    planned: &Planned,
    cfg: &ImageConfig,
    mut config: Value,
    platform: &Platform,
    diff_id: &Digest,
    has_base: bool,
) -> Value {
    let created = relman_manifest::time::rfc3339(planned.manifest.source_date_epoch);
    let obj = config.as_object_mut().expect("configs are objects");
    obj.insert("created".into(), json!(created));
    obj.insert("architecture".into(), json!(platform.architecture));
    obj.insert("os".into(), json!(platform.os));
    match &platform.variant {
        Some(v) => obj.insert("variant".into(), json!(v)),
        None => obj.remove("variant"),
    };
    let process = obj.entry("config").or_insert_with(|| json!({}));
    if process.is_null() {
        *process = json!({});
    }
    let process = process.as_object_mut().expect("config.config is an object");
    // Environment: the base's, each configured variable replacing one of the same name.
    let mut env: Vec<String> = process
        .get("Env")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    for (k, v) in &cfg.env {
        let entry = format!("{k}={v}");
        match env.iter().position(|e| e.split('=').next() == Some(k.as_str())) {
            Some(i) => env[i] = entry,
            None => env.push(entry),
        }
    }
    if !has_base && !env.iter().any(|e| e.starts_with("PATH=")) {
        env.insert(0, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    }
    process.insert("Env".into(), json!(env));
    let entrypoint = cfg.entrypoint.clone().or_else(|| {
        let files = &cfg.files;
        if files.is_empty() && planned.settings.binaries.len() == 1 {
            Some(vec![format!("/usr/local/bin/{}", planned.settings.binaries[0])])
        } else {
            let bins: Vec<&ImageFile> = files.iter().filter(|f| f.binary.is_some()).collect();
            (bins.len() == 1).then(|| vec![bins[0].dest.clone()])
        }
    });
    if let Some(ep) = entrypoint {
        process.insert("Entrypoint".into(), json!(ep));
        // As in a Dockerfile: a new ENTRYPOINT drops the base's CMD.
        if cfg.cmd.is_none() {
            process.remove("Cmd");
        }
    }
    if let Some(cmd) = &cfg.cmd {
        process.insert("Cmd".into(), json!(cmd));
    }
    if let Some(u) = &cfg.user {
        process.insert("User".into(), json!(u));
    }
    if let Some(w) = &cfg.workdir {
        process.insert("WorkingDir".into(), json!(w));
    }
    if !cfg.ports.is_empty() {
        let ports = process.entry("ExposedPorts").or_insert_with(|| json!({}));
        if let Some(ports) = ports.as_object_mut() {
            for p in &cfg.ports {
                ports.insert(parse_port(p).expect("checked at plan time"), json!({}));
            }
        }
    }
    let labels = process.entry("Labels").or_insert_with(|| json!({}));
    if labels.is_null() {
        *labels = json!({});
    }
    if let Some(labels) = labels.as_object_mut() {
        for (k, v) in &cfg.labels {
            labels.insert(k.clone(), json!(v));
        }
        for (k, v) in oci_annotations(planned) {
            labels.insert(k, json!(v));
        }
    }
    // rootfs and history.
    let rootfs = obj.entry("rootfs").or_insert_with(|| json!({"type": "layers", "diff_ids": []}));
    if let Some(ids) = rootfs.get_mut("diff_ids").and_then(Value::as_array_mut) {
        ids.push(json!(diff_id.to_string()));
    }
    let history_ok = obj.get("history").and_then(Value::as_array).is_some_and(|h| !h.is_empty()) || !has_base;
    if history_ok {
        let history = obj.entry("history").or_insert_with(|| json!([]));
        if let Some(h) = history.as_array_mut() {
            h.push(json!({
                "created": created,
                "created_by": format!("relman {} (image {})", env!("CARGO_PKG_VERSION"), cfg.name.as_deref().unwrap_or(&planned.settings.name)),
                "comment": format!("{} {}", planned.settings.name, planned.manifest.version),
            }));
        }
    }
    config
}

/// Builds a Dockerfile for one platform with buildah; returns an OCI layout holding it as `image`.
fn buildah_build(
    planned: &Planned,
    cfg: &ImageConfig,
    record: &ImageRecord,
    platform: &Platform,
    reporter: &dyn Reporter,
) -> Result<PathBuf, Failure> {
    let s = &planned.settings;
    let dockerfile = s.root.join(cfg.dockerfile.as_deref().expect("dockerfile source"));
    let context = s.root.join(cfg.context.as_deref().unwrap_or("."));
    let text = std::fs::read_to_string(&dockerfile).map_err(|e| Failure::io("read", &dockerfile, e))?;
    for (line, image, _) in base::dockerfile_froms(&text) {
        let b = BaseRef::parse(&image).map_err(|e| Failure::config(format!("{}:{line}: {e}", dockerfile.display())))?;
        if !b.is_pinned() {
            return Err(b.unpinned_failure(&format!("{}:{line}", dockerfile.display())));
        }
    }
    let which = Command::new("buildah").arg("--version").output();
    if which.is_err() {
        return Err(Failure::build(format!(
            "image `{}`: building `{}` needs buildah, which is not installed",
            record.name,
            dockerfile.display()
        ))
        .with_hint("install buildah (apt-get install buildah), or build the image elsewhere and use `layout`"));
    }
    let work = planned.settings.dist.join(".cache").join("buildah");
    let out = planned.version_dir.join("build").join("images").join(format!(
        "{}-{}",
        record.name.replace('/', "-"),
        platform.to_string().replace('/', "-")
    ));
    let m = &planned.manifest;
    let mut args: Vec<(String, String)> = vec![
        ("VERSION".into(), m.version.clone()),
        ("COMMIT".into(), m.commit.clone()),
        ("SOURCE_DATE_EPOCH".into(), m.source_date_epoch.max(0).to_string()),
    ];
    for (k, v) in &cfg.build_args {
        args.retain(|(name, _)| name != k);
        args.push((k.clone(), v.replace("{version}", &m.version).replace("{commit}", &m.commit)));
    }
    // Nothing changed since this platform was last built: the same commit (tree clean), the
    // same Dockerfile and arguments, every git-ignored file of the context as it was. Skipped.
    let stamp_path = out.join(".relman-image");
    let stamp = image_stamp(planned, &text, &args, platform, &context)?;
    if !s.force_rebuild && out.join("index.json").is_file() {
        if let (Some(now), Ok(old)) = (&stamp, std::fs::read_to_string(&stamp_path)) {
            if &old == now {
                reporter.step(&format!(
                    "{}: {platform} unchanged (same commit, Dockerfile, arguments and context), not rebuilt",
                    record.name
                ));
                return Ok(out);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&out);
    crate::fsutil::create_dir_all(&out)?;
    let tag = format!("localhost/relman-build/{}:{}", record.name, platform.to_string().replace('/', "-"));
    let log = planned.logs_dir().join(format!(
        "image-{}-{}.log",
        record.name.replace('/', "-"),
        platform.to_string().replace('/', "-")
    ));
    crate::fsutil::create_dir_all(&planned.logs_dir())?;
    reporter.step(&format!("{}: buildah build for {platform}", record.name));
    let store = [
        "--root",
        &work.join("root").display().to_string(),
        "--runroot",
        &work.join("run").display().to_string(),
        "--storage-driver",
        "vfs",
    ]
    .map(str::to_string);
    let containers = crate::containers::env(planned)?;
    let mut build = Command::new("buildah");
    build
        .envs(containers.iter().map(|(k, v)| (k, v)))
        .args(&store)
        .args([
            "build",
            "--isolation",
            "chroot",
            "--platform",
            &platform.to_string(),
            // Resolve the base from the registry every time: an image already in the store
            // makes buildah record a shortened base name, and the digests would depend on what
            // an earlier build left there.
            "--pull=always",
            "--timestamp",
            &planned.manifest.source_date_epoch.max(0).to_string(),
            "-f",
        ])
        .arg(&dockerfile)
        .args(["-t", &tag]);
    for (k, v) in &args {
        build.arg("--build-arg").arg(format!("{k}={v}"));
    }
    build.arg(&context);
    run_logged(build, &log, &record.name)?;
    let mut push = Command::new("buildah");
    push.envs(containers.iter().map(|(k, v)| (k, v)))
        .args(&store)
        .args(["push", &tag])
        .arg(format!("oci:{}:image", out.display()));
    run_logged(push, &log, &record.name)?;
    if let Some(stamp) = stamp {
        crate::fsutil::write_atomic(&stamp_path, stamp.as_bytes())?;
    }
    Ok(out)
}

/// What a Dockerfile build of one platform was made from, or `None` when that cannot be told
/// cheaply (a dirty tree: then it always builds): the commit, the Dockerfile, the arguments,
/// and the size, mtime and inode of every git-ignored file in the context (build outputs a
/// `COPY` may take), `dist/` aside.
fn image_stamp(
    planned: &Planned,
    dockerfile: &str,
    args: &[(String, String)],
    platform: &Platform,
    context: &Path,
) -> Result<Option<String>, Failure> {
    let s = &planned.settings;
    if !crate::build::tree_clean(planned)? {
        return Ok(None);
    }
    let out = Command::new("git")
        .arg("-C")
        .arg(&s.root)
        .args(["ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--"])
        .arg(context)
        .output()
        .map_err(|e| Failure::git(format!("git ls-files: {e}")))?;
    if !out.status.success() {
        return Ok(None);
    }
    let dist = s.dist.strip_prefix(&s.root).map(|p| format!("{}/", p.display())).unwrap_or_else(|_| "dist/".into());
    let mut files: Vec<&[u8]> = out.stdout.split(|b| *b == 0).filter(|f| !f.is_empty()).collect();
    files.sort();
    let mut text = format!(
        "v1\ncommit {}\ndockerfile {}\nplatform {platform}\n",
        planned.manifest.commit,
        relman_install::hash::sha256_bytes(dockerfile.as_bytes()).as_str()
    );
    for (k, v) in args {
        text.push_str(&format!("arg {k}={v}\n"));
    }
    for f in files {
        let rel = String::from_utf8_lossy(f);
        if rel.starts_with(&dist) {
            continue;
        }
        let Ok(meta) = std::fs::metadata(s.root.join(rel.as_ref())) else { return Ok(None) };
        text.push_str(&format!("file {rel} {}\n", crate::fsutil::file_identity(&meta)));
    }
    Ok(Some(text))
}

fn run_logged(mut cmd: Command, log: &Path, image: &str) -> Result<(), Failure> {
    let output = cmd.output().map_err(|e| Failure::build(format!("image `{image}`: cannot run buildah: {e}")))?;
    let mut text = String::from_utf8_lossy(&output.stdout).to_string();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    let mut prev = std::fs::read_to_string(log).unwrap_or_default();
    prev.push_str(&text);
    let _ = std::fs::write(log, prev);
    if !output.status.success() {
        let last = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string();
        return Err(Failure::build(format!("image `{image}`: buildah failed: {last}"))
            .with_hint(format!("full log: {}", log.display())));
    }
    Ok(())
}

/// Pulls a base image (only `platform`) into the cache layout; returns its root descriptor.
pub fn pull_base(
    client: &relman_oci::registry::Client,
    reference: &relman_oci::reference::Reference,
    platform: &Platform,
    cache: &Layout,
    reporter: &dyn Reporter,
) -> Result<Descriptor, Failure> {
    if let Some(d) = &reference.digest {
        if cache.has_blob(d) {
            // Already pulled: the blobs of the platform are checked when copied.
            let bytes = cache.read_verified(d).map_err(Failure::package)?;
            let mt = match OciManifest::parse(&bytes, None).map_err(Failure::package)? {
                OciManifest::Index(i) => i.content_type().to_string(),
                OciManifest::Image(m) => m.content_type().to_string(),
            };
            let desc = Descriptor::new(&mt, d.clone(), bytes.len() as u64);
            if platform_complete(cache, &desc, platform) {
                return Ok(desc);
            }
        }
    }
    reporter.step(&format!("pulling base {reference} ({platform})"));
    relman_oci::transfer::pull_to_layout(client, reference, std::slice::from_ref(platform), cache, &|_| {}).map_err(
        |f| {
            // A base that lacks the platform is a packaging problem, not a failed publish.
            if f.class == relman_manifest::ErrorClass::Network {
                f
            } else {
                relman_manifest::Failure { class: relman_manifest::ErrorClass::Package, ..f }
            }
        },
    )
}

fn platform_complete(cache: &Layout, root: &Descriptor, platform: &Platform) -> bool {
    let m = match cache.manifest(root) {
        Ok(OciManifest::Image(m)) => m,
        Ok(OciManifest::Index(i)) => match i.for_platform(platform).and_then(|d| cache.manifest(d).ok()) {
            Some(OciManifest::Image(m)) => m,
            _ => return false,
        },
        Err(_) => return false,
    };
    std::iter::once(&m.config).chain(&m.layers).all(|d| cache.has_blob(&d.digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_map_to_platforms() {
        assert_eq!(platform_of_target("x86_64-unknown-linux-gnu").unwrap().to_string(), "linux/amd64");
        assert_eq!(platform_of_target("aarch64-unknown-linux-musl").unwrap().to_string(), "linux/arm64");
        assert_eq!(platform_of_target("armv7-unknown-linux-gnueabihf").unwrap().to_string(), "linux/arm/v7");
        assert!(platform_of_target("x86_64-apple-darwin").is_none());
    }

    #[test]
    fn tags_and_names() {
        assert_eq!(version_tag("1.2.3+build.5"), "1.2.3_build.5");
        assert!(valid_name("acme/app-worker"));
        assert!(!valid_name("App"));
        assert!(!valid_name("app/"));
        assert_eq!(parse_port("8080").unwrap(), "8080/tcp");
        assert!(parse_port("0").is_err());
        assert!(parse_port("53/icmp").is_err());
        assert_eq!(parse_mode("0755").unwrap(), 0o755);
        assert!(parse_mode("9").is_err());
    }
}
