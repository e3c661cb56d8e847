//! `relman.toml`: the project's release configuration.
//!
//! Strict by design: an unknown key or a wrong type is an error that names the file, the line
//! and the key path (`relman.toml:7: build.targts: unknown field ...`). Every key is optional;
//! [`crate::settings`] fills the gaps from the project (Cargo metadata, host target) and the
//! command line, once, into plain structs the stages read.
//!
//! The JSON Schema (`relman schema`) is generated from these types; a committed copy under
//! `schema/` is checked by a test.

use std::collections::BTreeMap;
use std::path::Path;

use relman_manifest::{ArchiveFormat, Failure};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The file name relman looks for at the repository root.
pub const CONFIG_FILE: &str = "relman.toml";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "relman.toml")]
pub struct Config {
    #[serde(default)]
    pub project: ProjectConfig,
    #[serde(default)]
    pub build: BuildConfig,
    #[serde(default)]
    pub package: PackageConfig,
    #[serde(default)]
    pub release: ReleaseConfig,
    #[serde(default)]
    pub sign: SignConfig,
    /// `[notes]`: release notes and changelog.
    #[serde(default)]
    pub notes: crate::notes::NotesConfig,
    /// `[versions]`: files that record the version, checked and bumped in lockstep.
    #[serde(default)]
    pub versions: crate::version_files::VersionsConfig,
    /// `[[image]]`: container images, one entry per image (e.g. an API and a worker).
    #[serde(default, rename = "image", skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<ImageConfig>,
    /// `[[chart]]`: Helm charts released with the same version.
    #[serde(default, rename = "chart", skip_serializing_if = "Vec::is_empty")]
    pub charts: Vec<ChartConfig>,
    /// `[installer]`: the POSIX `install.sh` published with every release that has archives.
    #[serde(default)]
    pub installer: InstallerConfig,
    /// `[docs]`: a versioned docs site released with the version (mike-compatible).
    #[serde(default)]
    pub docs: DocsConfig,
    /// `[gate]`: release gates beyond the built-in ones.
    #[serde(default)]
    pub gate: GateConfig,
    /// `[ci]`: the release workflows `relman ci generate github|forgejo|gitlab` writes.
    #[serde(default)]
    pub ci: CiConfig,
    /// `[hooks]`: the project's own commands at fixed points of a release.
    #[serde(default)]
    pub hooks: HooksConfig,
    /// `[smoke]`: run the host target's built binary before anything is published.
    pub smoke: Option<HostSmokeConfig>,
}

/// `[hooks]`: shell commands (`sh -c`, in the project root) run in order at fixed points; a
/// failing one stops the release (exit 12) with its last lines. They get `RELMAN_HOOK`,
/// `RELMAN_VERSION`, `RELMAN_COMMIT`, `RELMAN_DIST` (dist/<version>) and `SOURCE_DATE_EPOCH`;
/// output goes to dist/<version>/logs/hook-<point>-<n>.log.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HooksConfig {
    /// Before anything is built (`relman build`, `relman release`), e.g. `["go test ./..."]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub before: Vec<String>,
    /// After every target of the run is built (and the host smoke test passed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after_build: Vec<String>,
    /// After packaging, before the first write at any destination (`relman publish`, `release`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub before_publish: Vec<String>,
    /// After promote moved every pointer, e.g. to dispatch a downstream test or merge a
    /// release branch (`relman promote`, `release --promote`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after_promote: Vec<String>,
}

/// `[smoke]`: the host target's built binary, run after the build and before anything is
/// published; it must exit 0 and print `expect`. Skipped when the host target is not built.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostSmokeConfig {
    /// Arguments, e.g. `["--version"]`. Placeholder `{version}`.
    #[serde(default)]
    pub args: Vec<String>,
    /// Text the output (stdout and stderr) must contain, e.g. `"tool {version}"`.
    pub expect: Option<String>,
    /// Which binary (default: the first of build.binaries).
    pub binary: Option<String>,
    /// Seconds it may run (default 60).
    pub timeout: Option<u64>,
}

/// `[ci]`: how the generated release workflows run. A tag push runs a plan job, one build job
/// per target (on the runner below), and a job that merges the parts, packages, signs and
/// publishes; promote runs after it, by hand or behind an approval.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CiConfig {
    /// The shell command that puts `relman` on a runner's PATH, instead of relman's own
    /// release (e.g. `cargo install --locked --git https://github.com/relman-dev/relman --tag
    /// v0.1.0 relman`). Default: the archive of relman's release for the runner's platform,
    /// downloaded and checked against the sha256 written into the workflow (see
    /// `relman_index`).
    pub install: Option<String>,
    /// The `index.json` of the relman release the runners install (a URL, or a path relative to
    /// the project): `relman ci generate` writes each platform's archive and sha256 from it into
    /// the workflows, and the archives are downloaded from beside it (a mirror, an internal
    /// artifact store). Default: this relman's own release,
    /// `https://github.com/relman-dev/relman/releases/download/v<version>/index.json`.
    pub relman_index: Option<String>,
    /// The environment the publish job runs in (GitHub/Forgejo `environment:`, GitLab
    /// `environment:`), so the signing key, tokens and cloud secrets can be scoped to it and to
    /// protected tags. Default `release`.
    pub publish_environment: Option<String>,
    /// The runner (`runs-on` label; GitLab: a runner tag) of the jobs that are not builds: plan,
    /// publish, promote. Default: `ubuntu-latest` (GitHub), `docker` (Forgejo), none (GitLab).
    pub runner: Option<String>,
    /// GitLab: the image jobs run in (default `rust:1-bookworm` for Cargo projects, else
    /// `buildpack-deps:bookworm`).
    pub image: Option<String>,
    /// `[ci.targets."<triple>"]`: where each target is built. Default: a runner that builds it
    /// natively (GitHub: ubuntu-24.04, ubuntu-24.04-arm, macos-13, macos-14, windows-2022;
    /// GitLab.com: its SaaS runner tags; Forgejo: `docker`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub targets: std::collections::BTreeMap<String, CiTargetConfig>,
    /// How phase 2 runs: `manual` (a separate promote workflow started by hand with the version;
    /// GitLab: a manual job) or `approval` (a promote job after publish, in `environment`, which
    /// waits for its required reviewers). Default `manual`.
    pub promote: Option<CiPromote>,
    /// The environment of the promote job (its protection rules are the approval). Default
    /// `release`.
    pub environment: Option<String>,
    /// Pin third-party actions by commit (default true); `false` uses their version tags.
    pub pin_actions: Option<bool>,
    /// GitHub: also write `.github/dependabot.yml`, which keeps the pinned actions fresh (one
    /// grouped pull request a week, same major). relman keeps the newer pins Dependabot writes
    /// inside its blocks. Default false.
    pub dependabot: Option<bool>,
    /// Forgejo: the base URL actions come from, written as full-URL `uses:` (e.g.
    /// `https://code.forgejo.org`; a Forgejo extension that actionlint does not know). Default:
    /// short names, fetched from the instance's DEFAULT_ACTIONS_URL.
    pub actions_url: Option<String>,
    /// The name of the secret holding the signing key's file contents (written to `sign.key`
    /// for the publish job only). Default `RELMAN_SIGNING_KEY`; its passphrase comes from the
    /// secret `RELMAN_PASSWORD`.
    pub key_secret: Option<String>,
}

/// `[ci.targets."<triple>"]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CiTargetConfig {
    /// The runner label (GitLab: runner tag) that builds this target.
    pub runner: Option<String>,
    /// A container image the build runs in (GitHub/Forgejo `container:`, GitLab `image:`).
    pub container: Option<String>,
}

/// `[ci] promote`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CiPromote {
    Manual,
    Approval,
}

/// `[gate]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GateConfig {
    /// `[gate.vulnerabilities]`: fail `package` and `promote` (exit 9) on known
    /// vulnerabilities in the release's SBOMs, matched offline against OSV or RustSec data.
    pub vulnerabilities: Option<crate::advisory::VulnConfig>,
}

/// `[docs]`: the project's docs site, one immutable `<version>/` per release, with mike's
/// `versions.json`, a `latest` alias and a root redirect moved by promote.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DocsConfig {
    /// The command that builds the site into `{out}` (run by `sh -c` in the project root, with
    /// `SOURCE_DATE_EPOCH` and `RELMAN_VERSION` set), e.g. `mkdocs build -d {out}`. A failing
    /// build stops the release before anything is published.
    pub build: Option<String>,
    /// A directory holding the site already built (relative to the project root), when there
    /// is no `build`, or where `build` writes it when it ignores `{out}`.
    pub dir: Option<String>,
    /// Where the site goes: `git:BRANCH` (a branch of `origin`, e.g. `git:gh-pages`, or
    /// `git:BRANCH@REMOTE`), `docs+dir:PATH`. Default: `docs+dir:<dist>/docs-site`. `--to`
    /// on the command line replaces these too.
    pub to: Option<Vec<String>>,
}

/// `[installer]`: `install.sh`, a POSIX shell installer for users without relman
/// (`curl -fsSL <URL>/install.sh | sh`). It checks the archive's size and sha256 and, for a
/// signed release, the signatures with `openssl` against the public key it carries.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InstallerConfig {
    /// Write `install.sh` (default: true when the release has archives).
    pub enabled: Option<bool>,
    /// Where the releases are served over HTTPS: the URL whose `<version>/` and `latest/`
    /// hold each release's files (what a `dir:` or `s3:` destination is served as), e.g.
    /// `https://dl.example.com/hello`. Default: the first `github:`, `gitea:` or `forgejo:`
    /// destination's download URLs; without either, the script asks for `--base-url`.
    pub url: Option<String>,
}

/// `[[image]]`: a multi-platform container image.
///
/// Made one of three ways: from built files on a `base` image (relman adds one reproducible
/// layer per platform, no daemon); taken as is from another builder's OCI layout per platform
/// (`layout`); or built from a `dockerfile` with buildah.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageConfig {
    /// Image name: pushed to `<oci destination>/<name>`. Default: the project name.
    pub name: Option<String>,
    /// Base image pinned by digest: `registry/repo@sha256:<hex>` (a tag may stay for humans:
    /// `registry/repo:1.36@sha256:<hex>`), `oci:DIR@sha256:<hex>` for a local OCI layout, or
    /// `scratch`. A tag alone is refused; `relman pin` resolves it.
    pub base: Option<String>,
    /// Per-platform OCI layouts made by another builder (buildah, `docker buildx --output
    /// type=oci`), taken as they are. Placeholders `{os}`, `{arch}`, `{variant}`, `{target}`;
    /// add `:NAME` to pick a named image of the layout.
    pub layout: Option<String>,
    /// A Dockerfile built with buildah for each platform (buildah must be installed).
    pub dockerfile: Option<String>,
    /// Build context for `dockerfile`, relative to the project root. Default: the project root.
    pub context: Option<String>,
    /// Build arguments for `dockerfile` (`ARG NAME`), beside the ones relman always passes:
    /// `VERSION`, `COMMIT`, `SOURCE_DATE_EPOCH` (buildah adds `TARGETPLATFORM`, `TARGETOS`,
    /// `TARGETARCH`, `TARGETVARIANT`). Placeholders `{version}`, `{commit}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub build_args: BTreeMap<String, String>,
    /// Platforms (`linux/amd64`, `linux/arm64`, `linux/arm/v7`). Default: one per Linux build target.
    pub platforms: Option<Vec<String>>,
    /// Files added to the image. Default: every binary at `/usr/local/bin/<binary>`, 0755.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<ImageFile>,
    /// Entrypoint. Default: the binary, when the image has exactly one.
    pub entrypoint: Option<Vec<String>>,
    /// Default arguments.
    pub cmd: Option<Vec<String>>,
    /// Environment, added to (and overriding) the base image's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// User (name or `UID[:GID]`). Default: the base image's.
    pub user: Option<String>,
    /// Working directory. Default: the base image's.
    pub workdir: Option<String>,
    /// Labels, added to the base image's and to the OCI labels relman sets
    /// (`org.opencontainers.image.source`, `revision`, `version`, `created`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Exposed ports: `8080`, `8080/tcp`, `53/udp`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<String>,
    /// `relman smoke`: a command run in the pushed image.
    pub smoke: Option<SmokeConfig>,
    /// More immutable tags for each published version beside `<version>`, e.g. `["v{version}"]`
    /// for projects whose tags carry the v. Each must contain `{version}` (moving tags, X.Y and
    /// latest, are promote's). Pushed before the version tag, refused like it when taken.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Compression of the layer relman adds: `gzip` (the default; every runtime reads it) or
    /// `zstd` (smaller, faster to unpack; podman/CRI-O, containerd 1.5+, Docker 23+).
    pub compression: Option<LayerCompression>,
}

/// How an image layer is compressed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LayerCompression {
    #[default]
    Gzip,
    Zstd,
}

/// `[[image.files]]`: one file of an image.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageFile {
    /// A built binary (by name), taken from the platform's build target.
    pub binary: Option<String>,
    /// A project file, relative to the root. Placeholders `{target}`, `{os}`, `{arch}`.
    pub src: Option<String>,
    /// Absolute destination path in the image.
    pub dest: String,
    /// Octal mode, e.g. `"0755"`. Default 0755 for binaries, 0644 for other files.
    pub mode: Option<String>,
    /// Owner. Default 0.
    pub uid: Option<u64>,
    /// Group. Default 0.
    pub gid: Option<u64>,
}

/// `[image.smoke]`: the smoke test `relman smoke` runs against the pushed image.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SmokeConfig {
    /// Arguments given to the image (after its entrypoint), e.g. `["--version"]`.
    pub args: Vec<String>,
    /// Text the output must contain. Placeholder `{version}`.
    pub expect: Option<String>,
    /// Promotion requires a passing, signed smoke result. Default true.
    pub required: Option<bool>,
}

/// `[[chart]]`: a Helm chart released with the project's version.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChartConfig {
    /// The chart directory (with `Chart.yaml`), relative to the project root.
    pub path: String,
    /// Path below each `oci://` destination the chart is pushed under, e.g. `charts`: the
    /// chart goes to `oci://REGISTRY/PATH/charts/<chart name>`, beside the images at
    /// `oci://REGISTRY/PATH/<image>`. Default: none (`oci://REGISTRY/PATH/<chart name>`).
    pub repository: Option<String>,
}

/// `[sign]`: the key pair releases are signed with (written by `relman keygen`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SignConfig {
    /// Private key, relative to the project root: cosign's encrypted format, or a PKCS#8 /
    /// SEC1 PEM. Its passphrase comes from `RELMAN_PASSWORD` (or `COSIGN_PASSWORD`) or a
    /// prompt, never from this file. Keep the key out of git (`relman keygen` ignores it).
    pub key: Option<String>,
    /// Public key (`PUBLIC KEY` PEM), relative to the project root; commit it. `relman verify`
    /// uses it when `--key` is not given.
    pub public_key: Option<String>,
    /// Fail the release when no key is configured (also `--require-signatures`).
    #[serde(default)]
    pub required: bool,
    /// `key` (the default: sign with `sign.key`) or `keyless`: sign with a short-lived
    /// certificate Fulcio issues for the CI's OIDC identity, every signature logged in Rekor,
    /// no key to keep. The identity token comes from GitHub or Forgejo Actions
    /// (`ACTIONS_ID_TOKEN_REQUEST_URL`/`_TOKEN`, with `id-token: write`), GitLab
    /// (`SIGSTORE_ID_TOKEN`), or `--identity-token FILE|-`. Users verify with
    /// `--certificate-identity` and `--certificate-oidc-issuer` instead of a key.
    pub mode: Option<SignMode>,
    /// Fulcio's URL for keyless signing. Default `https://fulcio.sigstore.dev`.
    pub fulcio_url: Option<String>,
    /// Rekor's URL for keyless signing. Default `https://rekor.sigstore.dev`.
    pub rekor_url: Option<String>,
    /// Keyless: Sigstore's `trusted_root.json` (relative to the project root) that promote's
    /// `signed` gate verifies the published release against, with `certificate_identity` and
    /// `certificate_oidc_issuer` (or their `_regexp` forms). Without them the gate is not run.
    pub trusted_root: Option<String>,
    /// Keyless: the identity promote's `signed` gate expects, exactly.
    pub certificate_identity: Option<String>,
    /// Keyless: the identity as a regular expression that must match the whole identity (end a
    /// prefix with `.*`).
    pub certificate_identity_regexp: Option<String>,
    /// Keyless: the OIDC issuer promote's `signed` gate expects, exactly.
    pub certificate_oidc_issuer: Option<String>,
    /// Keyless: the issuer as a regular expression.
    pub certificate_oidc_issuer_regexp: Option<String>,
}

/// `sign.mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SignMode {
    #[default]
    Key,
    Keyless,
}

/// `[project]`: what is released.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectConfig {
    /// Name used in archive names and `index.json`. Default: the Cargo package name.
    pub name: Option<String>,
    /// Source repository URL, recorded in the manifest.
    pub repository: Option<String>,
    /// Prefix of release tags. Default `v` (tags look like `v1.2.3`); `""` for bare versions.
    pub tag_prefix: Option<String>,
}

/// `[build]`: how binaries are made for each target.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BuildConfig {
    /// Target triples to build. Default: the host's.
    pub targets: Option<Vec<String>>,
    /// Binary names to ship. Default: every binary target of the Cargo workspace.
    pub binaries: Option<Vec<String>>,
    /// A build command run once per target with `sh -c`, instead of Cargo. Placeholders:
    /// `{target}` (the Rust triple), `{os}`/`{arch}` (`linux`, `macos`, `windows` /
    /// `x86_64`, `aarch64`), `{goos}`/`{goarch}` (Go's: `linux`, `darwin` / `amd64`, `arm64`),
    /// `{docker_arch}`, `{version}`, `{commit}`, `{date}` (RFC 3339, from SOURCE_DATE_EPOCH),
    /// `{exe}` (`.exe` on Windows), `{binary}` (with one binary). Also exported as
    /// `RELMAN_TARGET`, `RELMAN_VERSION`, `RELMAN_OS`, `RELMAN_ARCH`, `RELMAN_GOOS`,
    /// `RELMAN_GOARCH`, `RELMAN_COMMIT`, `SOURCE_DATE_EPOCH`, and `GOOS`/`GOARCH` (unless
    /// `env` sets them), so `go build -o out/{goos}-{goarch}/{binary}{exe}` cross-compiles.
    /// Use it for other languages and for cross-compilers (`cross build --release --target
    /// {target}`, `cargo zigbuild ...`).
    pub command: Option<String>,
    /// Where a binary is found after the build, relative to the project root. Placeholders:
    /// `{target}`, `{binary}`, `{exe}` (`.exe` on Windows targets), `{version}`, `{os}`,
    /// `{arch}`, `{goos}`, `{goarch}`, `{docker_arch}`. Required with `command`;
    /// default for Cargo: `<target-dir>/{target}/release/{binary}{exe}`.
    pub output: Option<String>,
    /// Extra environment variables for the build command.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// How Cargo builds Linux targets: `"cargo"` (default: `cargo build`, with the runner's
    /// own C toolchain, so each Linux target builds on a runner of its architecture and libc)
    /// or `"zigbuild"` (`cargo zigbuild`: zig is the C compiler and linker, so every Linux
    /// target — aarch64, armv7, musl, i686 — builds on one x86_64 machine, against the oldest
    /// glibc Rust supports). The generated CI installs `cargo-zigbuild` and `ziglang` from the
    /// Python package registry, pinned, and runs every Linux target on the x86_64 runner.
    /// Cargo builds only; with `command`, call the cross-compiler there.
    pub cross: Option<Cross>,
}

/// `[build] cross`: what compiles and links Cargo's Linux targets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Cross {
    /// `cargo build`, linking with the machine's own C toolchain.
    #[default]
    Cargo,
    /// `cargo zigbuild`, linking with zig (from the `ziglang` package).
    Zigbuild,
}

/// `[package]`: what goes into each archive and how it is compressed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PackageConfig {
    /// Archive format for non-Windows targets. Default `tar.gz`.
    pub format: Option<ArchiveFormat>,
    /// Archive format for Windows targets. Default `zip`.
    pub windows_format: Option<ArchiveFormat>,
    /// Extra files to ship in every archive, relative to the project root (README, LICENSE,
    /// shell completions). A listed file that is missing is an error.
    pub files: Option<Vec<String>>,
    /// Gzip level 1-9 for `tar.gz` (default 6); zstd level 1-19 for `tar.zst` (default 3).
    pub level: Option<u32>,
}

/// `[release]`: where the release goes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseConfig {
    /// Directory for build outputs and the manifest, relative to the project root. Default `dist`.
    pub dist: Option<String>,
    /// Destinations, e.g. `["dir:./releases"]`. Default: `dir:<dist>/releases`. `--to` on the
    /// command line replaces them.
    pub to: Option<Vec<String>>,
    /// Commit statuses or check runs (by name/context) that must have succeeded on the tagged
    /// commit before promote publishes a forge release page, e.g. `["smoke-test"]` for a
    /// downstream test that reports back. Checked at github:, gitea: and forgejo: destinations.
    pub required_checks: Option<Vec<String>>,
    /// Write the release page `index.html` into every version directory (default true): the
    /// notes, the downloads per platform with sizes and sha256, SBOMs, provenance,
    /// signatures, images by digest. `dir:` and `s3:` destinations also list every version
    /// in an `index.html` at their root.
    pub page: Option<bool>,
    /// Days a promoted `channels.json` stays fresh (default 30): promote writes its expiry
    /// this far ahead, and clients warn after it (or refuse, with `--require-fresh`) — a
    /// mirror frozen on an old release shows. Promote again (or re-promote) to renew it.
    pub channels_valid_days: Option<u32>,
}

impl Config {
    /// Loads `path`; `Ok(None)` when it does not exist.
    pub fn load(path: &Path) -> Result<Option<Config>, Failure> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Failure::io("read", path, e)),
        };
        Self::parse(&text, &path.display().to_string()).map(Some)
    }

    /// Parses config text; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Config, Failure> {
        let de = toml::Deserializer::new(text);
        let config: Config = serde_path_to_error::deserialize(de).map_err(|err| {
            let path = err.path().to_string();
            let inner = err.into_inner();
            let line = inner.span().map(|s| line_of(text, s.start));
            let location = match line {
                Some(l) => format!("`{origin}` line {l}"),
                None => format!("`{origin}`"),
            };
            let key = if path.is_empty() || path == "." { String::new() } else { format!(" at `{path}`") };
            let msg = inner.message().trim().replace('\n', " ");
            Failure::config(format!("invalid config in {location}{key}: {msg}"))
                .with_hint("see `relman schema` for every key and its type")
        })?;
        config.validate(origin)?;
        Ok(config)
    }

    fn validate(&self, origin: &str) -> Result<(), Failure> {
        if let Some(targets) = &self.build.targets {
            if targets.is_empty() {
                return Err(Failure::config(format!("`{origin}`: `build.targets` is empty"))
                    .with_hint("remove the key to build for the host, or list at least one target"));
            }
            for t in targets {
                if t.trim().is_empty() || t.contains(char::is_whitespace) || t.contains('/') {
                    return Err(Failure::config(format!("`{origin}`: `build.targets` has an invalid target `{t}`")));
                }
            }
        }
        if self.build.command.is_some() && self.build.output.is_none() {
            return Err(Failure::config(format!("`{origin}`: `build.command` is set but `build.output` is not"))
                .with_hint("say where each binary lands, e.g. output = \"out/{target}/{binary}{exe}\""));
        }
        if let Some(bins) = &self.build.binaries {
            for b in bins {
                if b.is_empty() || b.contains('/') || b.contains('\\') {
                    return Err(Failure::config(format!("`{origin}`: `build.binaries` has an invalid name `{b}`")));
                }
            }
        }
        if let Some(level) = self.package.level {
            if !(1..=19).contains(&level) {
                return Err(Failure::config(format!(
                    "`{origin}`: `package.level` must be 1-9 (gzip) or 1-19 (zstd), not {level}"
                )));
            }
        }
        Ok(())
    }

    /// The config's JSON Schema, pretty-printed.
    pub fn schema() -> String {
        let schema = schemars::schema_for!(Config);
        serde_json::to_string_pretty(&schema).expect("schema serializes") + "\n"
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|&b| b == b'\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_names_file_line_and_path() {
        let text = "[project]\nname = \"app\"\n\n[build]\ntargts = [\"x\"]\n";
        let err = Config::parse(text, "relman.toml").unwrap_err();
        assert_eq!(err.class, relman_manifest::ErrorClass::Config);
        assert!(err.message.contains("`relman.toml` line 5"), "{}", err.message);
        assert!(err.message.contains("build.targts"), "{}", err.message);
        assert!(err.message.contains("unknown field `targts`"), "{}", err.message);
    }

    #[test]
    fn wrong_type_names_key() {
        let text = "[build]\ntargets = \"x86_64-unknown-linux-gnu\"\n";
        let err = Config::parse(text, "relman.toml").unwrap_err();
        assert!(err.message.contains("build.targets"), "{}", err.message);
        assert!(err.message.contains("line 2"), "{}", err.message);
    }

    #[test]
    fn bad_archive_format_is_refused() {
        let err = Config::parse("[package]\nformat = \"rar\"\n", "relman.toml").unwrap_err();
        assert!(err.message.contains("package.format"), "{}", err.message);
    }

    #[test]
    fn command_without_output_is_refused() {
        let err = Config::parse("[build]\ncommand = \"make\"\n", "x.toml").unwrap_err();
        assert!(err.message.contains("build.output"), "{}", err.message);
    }

    #[test]
    fn full_config_parses() {
        let text = r#"
[project]
name = "app"
tag_prefix = ""
[build]
targets = ["x86_64-unknown-linux-gnu", "aarch64-apple-darwin"]
binaries = ["app"]
command = "make TARGET={target}"
output = "out/{target}/{binary}{exe}"
env = { CC = "clang" }
[package]
format = "tar.zst"
files = ["README.md"]
[release]
to = ["dir:./releases"]
"#;
        let c = Config::parse(text, "relman.toml").unwrap();
        assert_eq!(c.package.format, Some(ArchiveFormat::TarZst));
        assert_eq!(c.build.env.get("CC").map(String::as_str), Some("clang"));
    }
}
