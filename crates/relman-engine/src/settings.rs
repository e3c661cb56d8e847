//! Settings resolved once from the config file, the project and the command line.
//!
//! The CLI turns flags and environment into [`Options`]; [`Settings::resolve`] merges them with
//! `relman.toml` and what the project says about itself (Cargo metadata, the host target) into
//! plain values. Stages read only [`Settings`], never clap, the environment or the config file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use relman_manifest::{ArchiveFormat, Failure};

use crate::config::{Config, CONFIG_FILE};

/// What the command line says (already resolved against the environment by the CLI).
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Project directory (where `relman.toml` is, or would be).
    pub dir: PathBuf,
    /// Explicit config file, instead of `<dir>/relman.toml`.
    pub config: Option<PathBuf>,
    /// Build a snapshot: version derived from the last tag and the commit; dirty tree allowed.
    pub snapshot: bool,
    /// Release even with uncommitted changes.
    pub allow_dirty: bool,
    /// The tag to release, when several point at HEAD.
    pub tag: Option<String>,
    /// Restrict to these targets (must be among the configured ones).
    pub targets: Vec<String>,
    /// Destinations replacing the configured ones (absolute `dir:` paths).
    pub to: Vec<String>,
    /// `SOURCE_DATE_EPOCH` from the environment, when set.
    pub source_date_epoch: Option<i64>,
    /// Passphrase of the signing key (`RELMAN_PASSWORD` / `COSIGN_PASSWORD` or a prompt).
    pub passphrase: Option<Secret>,
    /// Refuse to release unsigned (`--require-signatures`).
    pub require_signatures: bool,
    /// CI facts for provenance, read by the CLI from the documented variables only.
    pub ci: Option<crate::provenance::CiContext>,
    /// How to reach registries and stores (read by the CLI from the environment).
    pub remote: crate::remote::Remote,
    /// Replace an asset of a forge draft whose bytes differ (`--replace`), instead of refusing.
    pub replace_assets: bool,
    /// Build and hash again even when nothing changed (`--force-rebuild`).
    pub force_rebuild: bool,
}

/// Sigstore's public-good services, keyless signing's defaults.
pub const DEFAULT_FULCIO: &str = "https://fulcio.sigstore.dev";
pub const DEFAULT_REKOR: &str = "https://rekor.sigstore.dev";

/// A secret string: never shown by `Debug` or `Display`.
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Secret {
        Secret(s)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(****)")
    }
}

/// How binaries are built.
#[derive(Clone, Debug, PartialEq)]
pub enum BuildKind {
    /// `cargo build --release --locked --target T --bin ...`.
    Cargo,
    /// A shell command run per target.
    Command(String),
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub root: PathBuf,
    pub config_path: PathBuf,
    pub config_found: bool,
    pub name: String,
    pub repository: Option<String>,
    pub tag_prefix: String,
    pub build: BuildKind,
    /// `[build] cross`: how Cargo builds Linux targets.
    pub cross: crate::config::Cross,
    /// The targets of this run, in order (the configured ones, or those `--target` chose).
    pub targets: Vec<String>,
    /// Every configured target, whatever `--target` chose (a build matrix's whole plan).
    pub all_targets: Vec<String>,
    /// Whether `build.targets` lists the targets (not the host's default).
    pub targets_explicit: bool,
    /// `[ci]`: how the generated release workflows run.
    pub ci_config: crate::config::CiConfig,
    /// SOURCE_DATE_EPOCH was given (not the commit time by default): as reproducible-builds.org
    /// asks, it replaces the clock in everything written (the provenance's start and end).
    pub source_date_given: bool,
    /// `[release] channels_valid_days`: how long a promoted channels.json stays fresh.
    pub channels_valid_days: u32,
    /// `[hooks]`.
    pub hooks: crate::config::HooksConfig,
    /// `[smoke]`: the host binary's smoke test.
    pub host_smoke: Option<crate::config::HostSmokeConfig>,
    pub binaries: Vec<String>,
    /// Output path template relative to `root` (`{target}`, `{binary}`, `{exe}`, `{version}`).
    pub output: String,
    pub env: BTreeMap<String, String>,
    pub format: ArchiveFormat,
    pub windows_format: ArchiveFormat,
    pub level: Option<u32>,
    pub files: Vec<String>,
    pub dist: PathBuf,
    pub destinations: Vec<String>,
    /// Private signing key (absolute), when configured.
    pub sign_key: Option<PathBuf>,
    /// Public key (absolute), when configured.
    pub public_key: Option<PathBuf>,
    /// `sign.mode = "keyless"`: Fulcio certificates and Rekor entries instead of `sign_key`.
    pub keyless: bool,
    pub fulcio_url: String,
    pub rekor_url: String,
    /// `sign.trusted_root` and `sign.certificate_*`: who promote expects signed (keyless).
    pub expected_signer: Option<ExpectedSigner>,
    pub require_signatures: bool,
    pub passphrase: Option<Secret>,
    pub ci: crate::provenance::CiContext,
    pub notes: crate::notes::NotesConfig,
    pub versions: crate::version_files::VersionsConfig,
    pub images: Vec<crate::config::ImageConfig>,
    pub charts: Vec<crate::config::ChartConfig>,
    /// How to reach registries and stores.
    pub remote: crate::remote::Remote,
    /// Replace a differing asset of a forge draft (`--replace`).
    pub replace_assets: bool,
    /// `--force-rebuild`.
    pub force_rebuild: bool,
    /// `[installer]`: whether and where `install.sh` installs from.
    pub installer: crate::config::InstallerConfig,
    /// `release.page`: write `index.html`, the release page.
    pub page: bool,
    /// `[docs]`.
    pub docs: crate::config::DocsConfig,
    /// `[gate.vulnerabilities]`.
    pub vulnerabilities: Option<crate::advisory::VulnConfig>,
}

/// What `cargo metadata` tells about a Cargo project.
#[derive(Clone, Debug, Default)]
pub struct CargoProject {
    pub name: Option<String>,
    pub repository: Option<String>,
    pub binaries: Vec<String>,
    pub target_dir: PathBuf,
}

/// `[sign]`'s identity policy for promote's `signed` gate, read when the gate runs.
#[derive(Clone, Debug)]
pub struct ExpectedSigner {
    pub trusted_root: PathBuf,
    pub identity: (Option<String>, Option<String>),
    pub issuer: (Option<String>, Option<String>),
}

impl ExpectedSigner {
    /// The policy, with the trusted root read (config failures name `sign.*`).
    pub fn policy(&self) -> Result<relman_sign::keyless::IdentityPolicy, Failure> {
        use relman_sign::keyless::{IdentityPolicy, Matcher, TrustedRoot};
        let matcher = |pair: &(Option<String>, Option<String>), key: &str| -> Result<Matcher, Failure> {
            match pair {
                (Some(exact), _) => Ok(Matcher::Exact(exact.clone())),
                (None, Some(r)) => {
                    Matcher::regex(r, &format!("sign.{key}_regexp")).map_err(|e| Failure::config(e.message))
                }
                (None, None) => Err(Failure::config(format!(
                    "sign.trusted_root is set but neither sign.{key} nor sign.{key}_regexp"
                ))),
            }
        };
        let identity = matcher(&self.identity, "certificate_identity")?;
        let issuer = matcher(&self.issuer, "certificate_oidc_issuer")?;
        let text = crate::fsutil::read_to_string(&self.trusted_root)?;
        let root = TrustedRoot::parse(&text, &self.trusted_root.display().to_string())?;
        Ok(IdentityPolicy { identity, issuer, root })
    }
}

impl Settings {
    /// Whether the release is signed (with a key, or keylessly).
    pub fn signs(&self) -> bool {
        self.keyless || self.sign_key.is_some()
    }

    /// Why a snapshot goes unsigned — its signing material is not at hand (no key file, no
    /// identity token) — or `None`: a tagged release, signatures required, or the material
    /// there. A pull request's check builds snapshots without the release's secrets.
    pub fn snapshot_unsigned(&self, snapshot: bool) -> Option<String> {
        if !snapshot || self.require_signatures {
            return None;
        }
        if self.keyless {
            matches!(self.remote.sigstore.token, crate::remote::TokenSource::None)
                .then(|| "no identity token".to_string())
        } else {
            self.sign_key.as_ref().filter(|k| !k.exists()).map(|k| format!("no key at `{}`", k.display()))
        }
    }

    /// The signing key file exists (checked by the stages that sign, before they start; the
    /// others — promote, yank, verify — work without the private key).
    pub fn check_sign_key(&self) -> Result<(), Failure> {
        if self.keyless {
            // The identity token, before anything is built: none at all, or a given one that
            // has expired or is for another audience (a requested one is checked when fetched).
            use crate::remote::TokenSource;
            return match &self.remote.sigstore.token {
                TokenSource::None => Err(Failure::config(
                    "sign.mode = \"keyless\" needs an OIDC identity token, and there is none",
                )
                .with_hint("in GitHub or Forgejo Actions give the job `permissions: id-token: write`; in GitLab set `id_tokens: SIGSTORE_ID_TOKEN: aud: sigstore`; elsewhere pass --identity-token FILE")),
                TokenSource::Given { token, origin } => {
                    let t = relman_sign::keyless::IdentityToken::parse(token.expose(), origin)?;
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_secs() as i64)
                        .unwrap_or(0);
                    t.check_usable(now, origin)
                }
                TokenSource::Actions { .. } => Ok(()),
            };
        }
        match &self.sign_key {
            Some(k) if !k.is_file() => {
                Err(Failure::config(format!("signing key `{}` (sign.key) does not exist", k.display()))
                    .with_hint("run `relman keygen`, or fix sign.key in relman.toml"))
            }
            // An encrypted key and no passphrase from anywhere (no RELMAN_PASSWORD or
            // COSIGN_PASSWORD, no terminal to ask on): said now, before anything is built.
            Some(k) if self.passphrase.is_none() && key_is_encrypted(k) => Err(Failure::config(format!(
                "no passphrase for the signing key `{}`",
                k.display()
            ))
            .with_hint(
                "set RELMAN_PASSWORD (or COSIGN_PASSWORD), in CI from a secret; an empty one is a passphrase too: RELMAN_PASSWORD=",
            )),
            _ => Ok(()),
        }
    }

    pub fn resolve(opts: &Options) -> Result<Settings, Failure> {
        let root = std::path::absolute(&opts.dir).map_err(|e| Failure::io("resolve", &opts.dir, e))?;
        let config_path = opts.config.clone().unwrap_or_else(|| root.join(CONFIG_FILE));
        let loaded = Config::load(&config_path)?;
        if opts.config.is_some() && loaded.is_none() {
            return Err(Failure::config(format!("config file `{}` does not exist", config_path.display())));
        }
        let config_found = loaded.is_some();
        let config = loaded.unwrap_or_default();

        let build = match &config.build.command {
            Some(c) => BuildKind::Command(c.clone()),
            None => BuildKind::Cargo,
        };
        let cross = config.build.cross.unwrap_or_default();
        if cross != crate::config::Cross::Cargo && build != BuildKind::Cargo {
            return Err(Failure::config(format!(
                "`build.cross` in `{}` applies to Cargo builds, and `build.command` is set",
                config_path.display()
            ))
            .with_hint("remove `cross`, or call the cross-compiler in build.command (`cargo zigbuild --release --target {target}`)"));
        }
        let cargo = if build == BuildKind::Cargo || config.project.name.is_none() || config.build.binaries.is_none() {
            if root.join("Cargo.toml").is_file() {
                Some(cargo_project(&root)?)
            } else {
                None
            }
        } else {
            None
        };
        // A service: images, charts or docs and nothing built per target (no Cargo.toml, no
        // build.command, no binaries): no archives, SBOMs of archives, or installer.
        let ships_other = !config.images.is_empty()
            || !config.charts.is_empty()
            || config.docs.build.is_some()
            || config.docs.dir.is_some();
        let service = build == BuildKind::Cargo
            && cargo.is_none()
            && config.build.binaries.as_ref().is_none_or(|b| b.is_empty())
            && ships_other;
        if build == BuildKind::Cargo && cargo.is_none() && !service {
            return Err(Failure::config(format!(
                "no `Cargo.toml` in `{}` and no `build.command` in `{}`",
                root.display(),
                config_path.display()
            ))
            .with_hint("run relman in a Cargo project, or set build.command and build.output in relman.toml"));
        }
        let name =
            config.project.name.clone().or_else(|| cargo.as_ref().and_then(|c| c.name.clone())).ok_or_else(|| {
                Failure::config(format!("`project.name` is not set in `{}`", config_path.display()))
                    .with_hint("add `[project]` with `name = \"...\"`")
            })?;
        let binaries = match &config.build.binaries {
            Some(b) => b.clone(),
            None => cargo.as_ref().map(|c| c.binaries.clone()).unwrap_or_default(),
        };
        if binaries.is_empty() && !service {
            return Err(Failure::config(format!("no binaries to release in `{}`", root.display())).with_hint(
                "list them in relman.toml: [build] binaries = [\"app\"]; a service released as images, charts or docs needs none",
            ));
        }
        let output = match (&config.build.output, &cargo) {
            _ if service => String::new(),
            (Some(o), _) => o.clone(),
            (None, Some(c)) => {
                let td = c.target_dir.strip_prefix(&root).map(Path::to_path_buf).unwrap_or(c.target_dir.clone());
                format!("{}/{{target}}/release/{{binary}}{{exe}}", td.display())
            }
            (None, None) => unreachable!("command builds require build.output (validated)"),
        };
        let mut targets = match &config.build.targets {
            _ if service => Vec::new(),
            Some(t) => t.clone(),
            None => vec![host_target()],
        };
        let all_targets = targets.clone();
        if !opts.targets.is_empty() {
            for t in &opts.targets {
                if !targets.contains(t) {
                    return Err(Failure::usage(format!(
                        "target `{t}` is not among the configured targets: {}",
                        targets.join(", ")
                    ))
                    .with_hint("add it to build.targets in relman.toml"));
                }
            }
            targets.retain(|t| opts.targets.contains(t));
        }
        let dist = root.join(config.release.dist.as_deref().unwrap_or("dist"));
        let destinations = if !opts.to.is_empty() {
            opts.to.clone()
        } else {
            let mut d: Vec<String> = match &config.release.to {
                Some(to) => to.iter().map(|d| absolutize_dir_url(d, &root)).collect(),
                // The embedded default: a directory inside dist/, no server needed.
                None => vec![format!("dir:{}", dist.join("releases").display())],
            };
            if config.docs.build.is_some() || config.docs.dir.is_some() {
                match &config.docs.to {
                    Some(to) => d.extend(to.iter().map(|u| absolutize_dir_url(u, &root))),
                    None => d.push(format!("docs+dir:{}", dist.join("docs-site").display())),
                }
            }
            d
        };
        // A destination is recorded in the manifest: one with a password in it is refused
        // before anything is written (and without echoing it).
        for d in &destinations {
            if crate::remote::is_oci(d) {
                crate::remote::refuse_credentials(d)?;
            }
        }
        let files = config.package.files.clone().unwrap_or_default();
        for f in &files {
            let p = Path::new(f);
            if p.is_absolute() || p.components().any(|c| matches!(c, std::path::Component::ParentDir)) {
                return Err(Failure::config(format!("`package.files` entry `{f}` must be a path inside the project")));
            }
        }
        let keyless = config.sign.mode == Some(crate::config::SignMode::Keyless);
        let sign_key = if keyless { None } else { config.sign.key.as_ref().map(|k| root.join(k)) };
        if keyless && config.images.iter().any(|i| i.smoke.is_some()) {
            return Err(Failure::config(format!(
                "`{}`: sign.mode = \"keyless\" with an [[image]] smoke test: smoke results are signed with a key, and promote's smoke gate checks them with sign.public_key",
                config_path.display()
            ))
            .with_hint("sign with a key (remove sign.mode, set sign.key), or drop [image.smoke]"));
        }
        for (k, v) in [("sign.fulcio_url", &config.sign.fulcio_url), ("sign.rekor_url", &config.sign.rekor_url)] {
            if let Some(v) = v {
                if !(v.starts_with("https://") || v.starts_with("http://")) {
                    return Err(Failure::config(format!("`{k}` `{v}` is not an http(s) URL")));
                }
                crate::remote::refuse_credentials(v)?;
            }
        }
        let require_signatures = opts.require_signatures || config.sign.required;
        if require_signatures && sign_key.is_none() && !keyless {
            return Err(Failure::config(format!(
                "signatures are required but `{}` names no `sign.key`",
                config_path.display()
            ))
            .with_hint("run `relman keygen` to create a key pair and record it in relman.toml"));
        }
        Ok(Settings {
            remote: {
                let mut r = opts.remote.clone();
                r.forge.required_checks = config.release.required_checks.clone().unwrap_or_default();
                // Registry credentials from the environment go to the release's registries only.
                for d in destinations.iter().filter(|d| crate::remote::is_oci(d)) {
                    r = r.with_credential_host(d);
                }
                r
            },
            replace_assets: opts.replace_assets,
            force_rebuild: opts.force_rebuild,
            installer: config.installer.clone(),
            page: config.release.page != Some(false),
            docs: config.docs.clone(),
            vulnerabilities: config.gate.vulnerabilities.clone(),
            public_key: config.sign.public_key.as_ref().map(|k| root.join(k)),
            sign_key,
            keyless,
            fulcio_url: config.sign.fulcio_url.clone().unwrap_or_else(|| DEFAULT_FULCIO.to_string()),
            rekor_url: config.sign.rekor_url.clone().unwrap_or_else(|| DEFAULT_REKOR.to_string()),
            expected_signer: config.sign.trusted_root.as_ref().map(|r| ExpectedSigner {
                trusted_root: root.join(r),
                identity: (config.sign.certificate_identity.clone(), config.sign.certificate_identity_regexp.clone()),
                issuer: (
                    config.sign.certificate_oidc_issuer.clone(),
                    config.sign.certificate_oidc_issuer_regexp.clone(),
                ),
            }),
            require_signatures,
            passphrase: opts.passphrase.clone(),
            ci: opts.ci.clone().unwrap_or_else(crate::provenance::CiContext::local),
            notes: config.notes.clone(),
            versions: config.versions.clone(),
            images: config.images.clone(),
            charts: config.charts.clone(),
            repository: config.project.repository.clone().or_else(|| cargo.as_ref().and_then(|c| c.repository.clone())),
            tag_prefix: config.project.tag_prefix.clone().unwrap_or_else(|| "v".to_string()),
            env: config.build.env.clone(),
            format: config.package.format.unwrap_or(ArchiveFormat::TarGz),
            windows_format: config.package.windows_format.unwrap_or(ArchiveFormat::Zip),
            level: config.package.level,
            root,
            config_path,
            config_found,
            name,
            build,
            cross,
            targets,
            all_targets,
            targets_explicit: config.build.targets.is_some() || service,
            ci_config: config.ci.clone(),
            source_date_given: opts.source_date_epoch.is_some(),
            channels_valid_days: config.release.channels_valid_days.unwrap_or(30),
            hooks: config.hooks.clone(),
            host_smoke: config.smoke.clone(),
            binaries,
            output,
            files,
            dist,
            destinations,
        })
    }

    /// Archive format for a target.
    pub fn format_for(&self, target: &str) -> ArchiveFormat {
        if is_windows(target) {
            self.windows_format
        } else {
            self.format
        }
    }

    /// Path where the build leaves `binary` for `target`.
    pub fn output_path(&self, target: &str, binary: &str, version: &str) -> PathBuf {
        let (os, arch) = relman_manifest::os_arch(target);
        let (goos, goarch) = relman_manifest::go_os_arch(target);
        let rel = self
            .output
            .replace("{target}", target)
            .replace("{version}", version)
            .replace("{binary}", binary)
            .replace("{exe}", exe_suffix(target))
            .replace("{goos}", &goos)
            .replace("{goarch}", &goarch)
            .replace("{docker_arch}", &goarch)
            .replace("{os}", &os)
            .replace("{arch}", &arch);
        self.root.join(rel)
    }
}

pub fn is_windows(target: &str) -> bool {
    target.contains("windows")
}

pub fn exe_suffix(target: &str) -> &'static str {
    if is_windows(target) {
        ".exe"
    } else {
        ""
    }
}

/// `dir:relative` → `dir:<base>/relative` (lexically normalised); other URLs unchanged.
pub fn absolutize_dir_url(url: &str, base: &Path) -> String {
    for scheme in ["dir:", "docs+dir:"] {
        if let Some(p) = url.strip_prefix(scheme).filter(|p| !p.is_empty()) {
            return format!("{scheme}{}", normalize(&base.join(p)).display());
        }
    }
    url.to_string()
}

/// Removes `.` and resolves `..` lexically (no file-system access, links not followed).
pub fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The host's target triple: `rustc -vV`, else the triple relman was built for.
/// Whether a key file is an encrypted one (cosign's, or an encrypted PKCS#8 PEM).
fn key_is_encrypted(path: &Path) -> bool {
    std::fs::read_to_string(path).map(|t| t.lines().next().unwrap_or("").contains("ENCRYPTED")).unwrap_or(false)
}

pub fn host_target() -> String {
    Command::new("rustc")
        .arg("-vV")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .find_map(|l| l.strip_prefix("host: ").map(|s| s.trim().to_string()))
        })
        .unwrap_or_else(relman_install::platform::host_target)
}

/// Reads the workspace's packages and binary targets with `cargo metadata --no-deps`.
pub fn cargo_project(root: &Path) -> Result<CargoProject, Failure> {
    let out = Command::new("cargo")
        .current_dir(root)
        .args(["metadata", "--no-deps", "--format-version", "1", "--offline"])
        .output()
        .map_err(|e| {
            Failure::config(format!("failed to run `cargo metadata`: {e}")).with_hint("install Rust's cargo")
        })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let line = err.lines().find(|l| l.contains("error")).unwrap_or_else(|| err.lines().next().unwrap_or("")).trim();
        return Err(Failure::config(format!("`cargo metadata` failed in `{}`: {line}", root.display())));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| Failure::internal(format!("unexpected `cargo metadata` output: {e}")))?;
    let root_manifest = root.join("Cargo.toml");
    let packages = v["packages"].as_array().cloned().unwrap_or_default();
    let mut binaries = Vec::new();
    let mut name = None;
    let mut repository = None;
    for p in &packages {
        let is_root = p["manifest_path"].as_str().map(|m| Path::new(m) == root_manifest).unwrap_or(false);
        let mut has_bin = false;
        for t in p["targets"].as_array().into_iter().flatten() {
            let kinds = t["kind"].as_array().cloned().unwrap_or_default();
            if kinds.iter().any(|k| k == "bin") {
                if let Some(n) = t["name"].as_str() {
                    if !binaries.iter().any(|b| b == n) {
                        binaries.push(n.to_string());
                    }
                    has_bin = true;
                }
            }
        }
        if is_root || (name.is_none() && has_bin) {
            name = p["name"].as_str().map(str::to_string);
            repository = p["repository"].as_str().map(str::to_string);
        }
    }
    Ok(CargoProject {
        name,
        repository,
        binaries,
        target_dir: PathBuf::from(v["target_directory"].as_str().unwrap_or("target")),
    })
}
