//! `relman ci`: the release workflows of a project, generated from its relman.toml.
//!
//! A tag push runs: a plan job (`relman ci matrix` gives the build matrix and the version), one
//! build job per target on a runner that builds it natively (`relman build --target T --part
//! dist/parts/T`, uploaded as an artifact), and a publish job that downloads every part,
//! `relman merge`s them and runs `relman release` (package, sign, publish: phase 1). Promote
//! (phase 2) is a separate workflow run by hand with the version, or a job after publish that
//! waits in an environment's approval. Every job is idempotent when re-run.
//!
//! Files are written as relman's marked blocks (`blocks`) with the user's text between them
//! kept on regeneration; `check` compares the committed files with what would be generated.

pub mod blocks;
mod github;
mod gitlab;

use std::path::{Path, PathBuf};

use relman_manifest::Failure;
use serde::Serialize;

use crate::config::CiPromote;
use crate::destination::CiNeeds;
use crate::settings::{BuildKind, Settings};
use blocks::Blocks;

/// The CI systems relman writes workflows for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Forge {
    Github,
    Forgejo,
    Gitlab,
}

impl Forge {
    pub fn parse(s: &str) -> Result<Forge, Failure> {
        match s {
            "github" => Ok(Forge::Github),
            "forgejo" => Ok(Forge::Forgejo),
            "gitlab" => Ok(Forge::Gitlab),
            _ => Err(Failure::usage(format!("unknown CI `{s}`")).with_hint("relman ci generate github|forgejo|gitlab")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Forge::Github => "github",
            Forge::Forgejo => "forgejo",
            Forge::Gitlab => "gitlab",
        }
    }

    pub const ALL: [Forge; 3] = [Forge::Github, Forge::Forgejo, Forge::Gitlab];

    /// The release workflow's path (relative to the project root); `check` looks for it.
    pub fn release_file(self) -> &'static str {
        match self {
            Forge::Github => ".github/workflows/release.yml",
            Forge::Forgejo => ".forgejo/workflows/release.yml",
            Forge::Gitlab => ".gitlab-ci.yml",
        }
    }
}

/// One build job of the matrix.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MatrixEntry {
    pub target: String,
    /// `runs-on` label (GitLab: runner tag; empty: the CI's default runners).
    pub runner: String,
    /// Container image the build runs in (empty: none).
    pub container: String,
    /// Shell commands that make the runner able to build this target (`rustup target add`, a
    /// cross linker); `:` when it needs none.
    pub setup: String,
}

/// Everything the templates need, resolved once from the settings.
pub(crate) struct Inputs {
    pub forge: Forge,
    pub tag_prefix: String,
    pub install: String,
    pub runner: String,
    pub image: String,
    pub matrix: Vec<MatrixEntry>,
    pub needs: CiNeeds,
    pub registries: Vec<String>,
    /// (secret name, key path relative to the root) when the release is signed with a key.
    pub key: Option<(String, String)>,
    /// `sign.mode = "keyless"`: the publish job gets an OIDC identity token.
    pub keyless: bool,
    pub promote: CiPromote,
    pub environment: String,
    pub publish_environment: String,
    /// `uses:` steps that set up the project's own toolchain in build jobs (Go, Node, Python),
    /// as (action, `with:` lines).
    pub toolchains: Vec<(&'static str, Vec<(String, String)>)>,
    pub pin: bool,
    pub actions_url: Option<String>,
    /// Actions the repository's workflows already pin to a newer release of the same major
    /// than relman's (a Dependabot update inside relman's blocks): name → (commit, tag).
    pub newer_pins: std::collections::BTreeMap<String, (String, String)>,
    /// `[ci] dependabot`: write `.github/dependabot.yml` (GitHub).
    pub dependabot: bool,
}

/// A generated file: its path (relative to the project root) and its blocks.
pub struct Generated {
    pub path: String,
    pub blocks: Blocks,
}

/// The default runner that builds `target` natively on `forge` (GitHub's current images:
/// macos-13 is retired, `macos-15-intel` is the last Intel image).
fn default_runner(forge: Forge, target: &str) -> String {
    let (os, arch) = relman_manifest::os_arch(target);
    match forge {
        Forge::Github => match (os.as_str(), arch.as_str()) {
            ("macos", "x86_64") => "macos-15-intel",
            ("macos", _) => "macos-15",
            ("windows", "aarch64") => "windows-11-arm",
            ("windows", _) => "windows-2022",
            (_, "aarch64") => "ubuntu-24.04-arm",
            _ => "ubuntu-24.04",
        }
        .to_string(),
        Forge::Forgejo => "docker".to_string(),
        Forge::Gitlab => match (os.as_str(), arch.as_str()) {
            ("macos", _) => "saas-macos-medium-m1",
            ("windows", _) => "saas-windows-medium-amd64",
            (_, "aarch64") => "saas-linux-small-arm64",
            _ => "",
        }
        .to_string(),
    }
}

/// The `cargo-zigbuild` and `ziglang` releases the generated jobs install (`[build] cross =
/// "zigbuild"`), pinned: checked together by the cross-build test (crates/relman/tests/ci.rs).
pub const ZIGBUILD_PINS: &str = "cargo-zigbuild==0.24.1 ziglang==0.15.2";

/// What a runner of `forge` needs before `cargo build --target <target>`: the target's
/// standard library, and a C toolchain for it where the default runner's is another (musl,
/// 32-bit x86, 32-bit ARM) — or, with `[build] cross = "zigbuild"`, cargo-zigbuild and zig in
/// a virtual environment of the job (every Linux target then builds on x86_64). A container
/// or a runner of the user's choice is theirs to set up, but for the standard library and
/// zigbuild. GitHub's and Forgejo's jobs run as a user with sudo; GitLab's as root in the image.
fn rust_setup(forge: Forge, target: &str, custom_runner: bool, zigbuild: bool) -> String {
    let mut lines = vec![format!("rustup target add {target}")];
    if zigbuild && target.contains("-linux-") {
        // PEP 668: no pip into the system Python; `python3 -m ziglang` (cargo-zigbuild's way
        // to zig) then finds the venv's Python first on PATH.
        let (tmp, path) = match forge {
            Forge::Gitlab => ("${CI_BUILDS_DIR:-/tmp}", "export PATH=\"$zig/bin:$PATH\""),
            _ => ("$RUNNER_TEMP", "echo \"$zig/bin\" >> \"$GITHUB_PATH\""),
        };
        lines.push(format!(
            "zig=\"{tmp}/relman-zigbuild\" && python3 -m venv \"$zig\" && \"$zig/bin/pip\" install -q {ZIGBUILD_PINS} && {path}"
        ));
        return lines.join(" && ");
    }
    if !custom_runner && target.contains("-linux-") {
        let sudo = if forge == Forge::Gitlab { "" } else { "sudo " };
        let apt = |pkgs: &str| format!("{sudo}apt-get update -qq && {sudo}apt-get install -y -qq {pkgs}");
        let linker = |var: &str, cc: &str| match forge {
            Forge::Gitlab => format!("export {var}={cc}"),
            _ => format!("echo {var}={cc} >> \"$GITHUB_ENV\""),
        };
        if target.ends_with("-musl") {
            lines.push(apt("musl-tools"));
        } else if target.starts_with("i686-") {
            lines.push(apt("gcc-multilib"));
        } else if target.starts_with("armv7-") && target.ends_with("gnueabihf") {
            lines.push(apt("gcc-arm-linux-gnueabihf"));
            lines.push(linker("CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_LINKER", "arm-linux-gnueabihf-gcc"));
        }
    }
    lines.join(" && ")
}

/// Whether the default runners build `target` (natively, or with the cross toolchain
/// [`rust_setup`] installs, or with zigbuild): Linux on x86_64 and aarch64 (and armv7, i686,
/// musl by cross linker), macOS and Windows. Others (FreeBSD, riscv64, s390x…) need a runner
/// or container of the user's choice.
fn has_default_runner(target: &str, zigbuild: bool) -> bool {
    let (os, arch) = relman_manifest::os_arch(target);
    match os.as_str() {
        "macos" | "windows" => true,
        "linux" => zigbuild || matches!(arch.as_str(), "x86_64" | "aarch64" | "armv7" | "i686"),
        _ => false,
    }
}

/// The build matrix: one entry per configured target. A target no default runner builds
/// (and none is configured for) is named, with the keys that give it one.
pub fn matrix(s: &Settings, forge: Forge) -> Result<Vec<MatrixEntry>, Failure> {
    s.all_targets
        .iter()
        .map(|t| {
            let c = s.ci_config.targets.get(t);
            let custom = c.is_some_and(|c| c.runner.is_some() || c.container.is_some());
            let zig = s.build == BuildKind::Cargo && crate::build::zigbuild(s, t);
            // A build command cross-compiles as it likes (Go builds every target on Linux).
            if !custom && s.build == BuildKind::Cargo && !has_default_runner(t, zig) {
                return Err(Failure::config(format!("no default CI runner builds `{t}` ({})", forge.as_str()))
                    .with_hint(format!(
                        "give it one in relman.toml: [ci.targets.\"{t}\"] runner = \"<label>\" (or container = \"<image>\"){}",
                        if t.contains("-linux-") { ", or build Linux targets with [build] cross = \"zigbuild\"" } else { "" }
                    )));
            }
            // zigbuild builds every Linux target on the x86_64 runner.
            let native = if zig { default_runner(forge, "x86_64-unknown-linux-gnu") } else { default_runner(forge, t) };
            Ok(MatrixEntry {
                target: t.clone(),
                runner: c.and_then(|c| c.runner.clone()).unwrap_or(native),
                container: c.and_then(|c| c.container.clone()).unwrap_or_default(),
                setup: match s.build {
                    BuildKind::Cargo => rust_setup(forge, t, custom, zig),
                    _ => ":".into(),
                },
            })
        })
        .collect()
}

/// The default index.json of relman's own release of this version.
pub fn default_relman_index() -> String {
    format!("https://github.com/relman-dev/relman/releases/download/v{0}/index.json", env!("CARGO_PKG_VERSION"))
}

/// The install step: `[ci] install` as written, else relman's release archive for the
/// runner's platform, pinned by version and sha256 from the release's index.json.
fn install_script(s: &Settings) -> Result<String, Failure> {
    if let Some(custom) = &s.ci_config.install {
        return Ok(custom.clone());
    }
    let index_at = s.ci_config.relman_index.clone().unwrap_or_else(default_relman_index);
    let loc = if index_at.contains("://") {
        relman_install::Location::parse(&index_at)
    } else {
        relman_install::Location::Path(s.root.join(&index_at))
    };
    let unreadable = |why: String| {
        Failure::config(format!("the relman release the runners install cannot be read at `{index_at}`: {why}"))
            .with_hint(
                "set [ci] relman_index to its index.json (a mirror, or a file), or [ci] install to your own command",
            )
    };
    let bytes = relman_install::source::read_optional(&loc, 16 << 20)
        .map_err(|e| unreadable(e.message))?
        .ok_or_else(|| unreadable("no such file".into()))?;
    let index: relman_manifest::Index =
        serde_json::from_slice(&bytes).map_err(|e| unreadable(format!("not a relman index.json ({e})")))?;
    // Where the runner fetches the archives: beside the index. A URL as it is; a file as a
    // file:// URL — a relative one from the job's checkout (`$PWD`), where it is committed.
    let base = match index_at.rfind('/') {
        Some(i) if index_at.contains("://") => sh(&index_at[..i]),
        _ if Path::new(&index_at).is_absolute() => {
            sh(&format!("file://{}", Path::new(&index_at).parent().unwrap_or(Path::new("/")).display()))
        }
        _ => {
            let dir = Path::new(&index_at).parent().map(|p| p.display().to_string()).unwrap_or_default();
            let safe: String = dir.chars().filter(|c| !matches!(c, '"' | '$' | '`' | '\\')).collect();
            format!("\"file://$PWD/{safe}\"")
        }
    };
    // uname -s / uname -m of each platform; musl before gnu (static binaries run anywhere).
    let mut arms: Vec<(String, &relman_manifest::Platform)> = Vec::new();
    let mut platforms: Vec<&relman_manifest::Platform> =
        index.platforms.iter().filter(|p| p.binaries.iter().any(|b| b == "relman" || b == "relman.exe")).collect();
    platforms.sort_by_key(|p| (!p.target.ends_with("-musl"), p.target.clone()));
    for p in platforms {
        let os = match p.os.as_str() {
            "linux" => "Linux",
            "macos" => "Darwin",
            "windows" => "MINGW*|MSYS*|CYGWIN*",
            _ => continue,
        };
        let arch = match p.arch.as_str() {
            "x86_64" => "x86_64|amd64",
            "aarch64" => "aarch64|arm64",
            _ => continue,
        };
        let pattern =
            os.split('|').flat_map(|o| arch.split('|').map(move |a| format!("{o}-{a}"))).collect::<Vec<_>>().join("|");
        if arms.iter().any(|(pat, _)| *pat == pattern) {
            continue;
        }
        arms.push((pattern, p));
    }
    if arms.is_empty() {
        return Err(unreadable(format!("release {} has no relman archive for Linux, macOS or Windows", index.version)));
    }
    let mut out = format!(
        "# relman {v}, each platform's archive pinned by sha256 (from {index_at})\nv={v}\ncase \"$(uname -s)-$(uname -m)\" in\n",
        v = index.version
    );
    for (pattern, p) in &arms {
        out.push_str(&format!("  {pattern}) f={}; sum={} ;;\n", sh(&p.file), p.sha256.as_str()));
    }
    let lines = [
        "  *) echo \"relman $v: no pinned archive for $(uname -s)-$(uname -m)\" >&2; exit 1 ;;",
        "esac",
        // A directory of this job's own: jobs that share a host (a shell runner running
        // several at once) never write into each other's relman.
        "t=\"${RUNNER_TEMP:-${TMPDIR:-/tmp}}\"; mkdir -p \"$t\"; d=$(mktemp -d \"$t/relman-$v.XXXXXX\")",
        "curl -fsSL --retry 3 -o \"$d/$f\" BASE/\"$f\"",
        "if command -v sha256sum >/dev/null 2>&1; then got=$(sha256sum \"$d/$f\" | cut -d' ' -f1); else got=$(shasum -a 256 \"$d/$f\" | cut -d' ' -f1); fi",
        "if [ \"$got\" != \"$sum\" ]; then echo \"relman $v: $f has sha256 $got; the workflow pins $sum\" >&2; exit 1; fi",
        "case \"$f\" in",
        "  *.zip) (cd \"$d\" && unzip -oq \"$f\") ;;",
        "  *.tar.zst) tar --zstd -xf \"$d/$f\" -C \"$d\" ;;",
        "  *) tar -xf \"$d/$f\" -C \"$d\" ;;",
        "esac",
        "bin=$(find \"$d\" -type f \\( -name relman -o -name relman.exe \\) | head -n 1)",
        "chmod +x \"$bin\"",
        "PATH=\"$(dirname \"$bin\"):$PATH\"",
        "if [ -n \"${GITHUB_PATH:-}\" ]; then dirname \"$bin\" >> \"$GITHUB_PATH\"; fi",
        "relman --version",
    ];
    for l in lines {
        out.push_str(&l.replace("BASE", &base));
        out.push('\n');
    }
    Ok(out)
}

/// The relman version a generated workflow installs (`v=…` of relman's install block).
pub fn pinned_relman(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let rest = l.trim_start().strip_prefix("# relman ")?;
        let (version, _) = rest.split_once(", each platform's archive pinned by sha256")?;
        Some(version.trim().to_string())
    })
}

/// The `uses:` steps that install the project's language toolchain on build runners, from
/// the files that name its version.
fn toolchains(s: &Settings) -> Vec<(&'static str, Vec<(String, String)>)> {
    let root = &s.root;
    let has = |f: &str| root.join(f).is_file();
    let mut out = Vec::new();
    if has("go.mod") {
        out.push(("go", vec![("go-version-file".into(), "go.mod".into())]));
    }
    if has("package.json") {
        let file = if has(".nvmrc") {
            ".nvmrc"
        } else if has(".node-version") {
            ".node-version"
        } else {
            "package.json"
        };
        out.push(("node", vec![("node-version-file".into(), file.into())]));
    }
    if has("pyproject.toml") {
        let file = if has(".python-version") { ".python-version" } else { "pyproject.toml" };
        out.push(("python", vec![("python-version-file".into(), file.into())]));
    }
    out
}

fn inputs(s: &Settings, forge: Forge) -> Result<Inputs, Failure> {
    if !s.targets_explicit {
        return Err(Failure::config(format!(
            "`{}` has no build.targets: a release workflow builds the targets listed there",
            s.config_path.display()
        ))
        .with_hint("list them: [build] targets = [\"x86_64-unknown-linux-gnu\", \"aarch64-apple-darwin\"]"));
    }
    for t in s.ci_config.targets.keys() {
        if !s.all_targets.contains(t) {
            return Err(Failure::config(format!(
                "`[ci.targets.\"{t}\"]` in `{}` names a target that build.targets does not list ({})",
                s.config_path.display(),
                s.all_targets.join(", ")
            )));
        }
    }
    let mut needs = CiNeeds::default();
    let mut registries = Vec::new();
    let mut urls = s.destinations.clone();
    for d in s.docs.to.iter().flatten() {
        if !urls.contains(d) {
            urls.push(d.clone());
        }
    }
    for url in &urls {
        let d = crate::provider::open(url, &s.remote)?;
        let n = d.ci_needs();
        needs.contents_write |= n.contents_write;
        needs.git_push |= n.git_push;
        if needs.token.is_none() {
            needs.token = n.token;
        }
        for v in n.secrets {
            if !needs.secrets.contains(&v) {
                needs.secrets.push(v);
            }
        }
        if let Some(r) = n.registry {
            if !registries.contains(&r) {
                registries.push(r);
            }
        }
    }
    let key = match &s.sign_key {
        Some(k) => {
            let rel = k.strip_prefix(&s.root).unwrap_or(k).display().to_string();
            let secret = s.ci_config.key_secret.clone().unwrap_or_else(|| "RELMAN_SIGNING_KEY".into());
            if !secret.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(Failure::config(format!("`ci.key_secret` `{secret}` is not a secret name (A-Z, 0-9, _)")));
            }
            Some((secret, rel))
        }
        None => None,
    };
    let default_image = match s.build {
        BuildKind::Cargo => "rust:1-bookworm",
        BuildKind::Command(_) => "buildpack-deps:bookworm",
    };
    Ok(Inputs {
        forge,
        tag_prefix: s.tag_prefix.clone(),
        install: install_script(s)?,
        runner: s.ci_config.runner.clone().unwrap_or_else(|| match forge {
            Forge::Github => "ubuntu-latest".into(),
            Forge::Forgejo => "docker".into(),
            Forge::Gitlab => String::new(),
        }),
        image: s.ci_config.image.clone().unwrap_or_else(|| default_image.into()),
        matrix: matrix(s, forge)?,
        needs,
        registries,
        key,
        keyless: s.keyless,
        promote: s.ci_config.promote.unwrap_or(CiPromote::Manual),
        environment: s.ci_config.environment.clone().unwrap_or_else(|| "release".into()),
        publish_environment: s.ci_config.publish_environment.clone().unwrap_or_else(|| "release".into()),
        toolchains: toolchains(s),
        pin: s.ci_config.pin_actions != Some(false),
        actions_url: s.ci_config.actions_url.clone(),
        newer_pins: pins_in(&s.root.join(forge.release_file()).with_file_name("")),
        dependabot: s.ci_config.dependabot == Some(true) && forge == Forge::Github,
    })
}

/// Every `uses: NAME@<40 hex> # TAG` in the workflow files of `dir`: name → (commit, tag),
/// the highest tag of each name.
fn pins_in(dir: &Path) -> std::collections::BTreeMap<String, (String, String)> {
    let mut out: std::collections::BTreeMap<String, (String, String)> = Default::default();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for e in entries.flatten() {
        let Ok(text) = std::fs::read_to_string(e.path()) else { continue };
        for line in text.lines() {
            let Some(rest) = line.trim_start().trim_start_matches("- ").trim_start().strip_prefix("uses:") else {
                continue;
            };
            let Some((used, tag)) = rest.split_once('#') else { continue };
            let Some((name, commit)) = used.trim().rsplit_once('@') else { continue };
            let name = name.rsplit_once("://").map(|(_, n)| n.split_once('/').map_or(n, |x| x.1)).unwrap_or(name);
            let tag = tag.trim().to_string();
            if commit.len() != 40 || !commit.chars().all(|c| c.is_ascii_hexdigit()) || action_version(&tag).is_none() {
                continue;
            }
            let newer = out.get(name).is_none_or(|(_, t)| action_version(&tag) > action_version(t));
            if newer {
                out.insert(name.to_string(), (commit.to_string(), tag));
            }
        }
    }
    out
}

/// `v4.3.1` → (4, 3, 1, ""); `v3.2.1-node20` → (3, 2, 1, "node20"). None for anything else.
pub(crate) fn action_version(tag: &str) -> Option<(u64, u64, u64, String)> {
    let t = tag.strip_prefix('v')?;
    let (nums, suffix) = t.split_once('-').unwrap_or((t, ""));
    let mut it = nums.split('.').map(|n| n.parse::<u64>().ok());
    let v = (it.next()??, it.next().flatten().unwrap_or(0), it.next().flatten().unwrap_or(0), suffix.to_string());
    Some(v)
}

/// The files `relman ci generate <forge>` writes.
pub fn generate(s: &Settings, forge: Forge) -> Result<Vec<Generated>, Failure> {
    let i = inputs(s, forge)?;
    Ok(match forge {
        Forge::Github | Forge::Forgejo => github::workflows(&i),
        Forge::Gitlab => gitlab::pipeline(&i),
    })
}

/// One file of `generate`, as it would be written now.
#[derive(Clone, Debug, Serialize)]
pub struct FileOutcome {
    pub path: PathBuf,
    /// `created`, `updated`, `unchanged` or `removed` (no longer needed).
    pub status: &'static str,
}

/// Every file relman may write for `forge` (the promote workflow only exists with manual
/// promotion).
fn owned_files(forge: Forge) -> Vec<String> {
    let release = forge.release_file().to_string();
    if forge == Forge::Gitlab {
        return vec![release];
    }
    let promote = release.replace("release.yml", "promote.yml");
    let check = release.replace("release.yml", "check.yml");
    let mut files = vec![release, check, promote];
    if forge == Forge::Github {
        files.push(github::DEPENDABOT_FILE.to_string());
    }
    files
}

/// Files relman wrote for `forge` that the configuration no longer needs (a promote.yml after
/// `[ci] promote = "approval"`): those of `owned_files` not generated now that still carry
/// relman's blocks.
fn stale_files(s: &Settings, forge: Forge, generated: &[Generated]) -> Vec<String> {
    owned_files(forge)
        .into_iter()
        .filter(|f| !generated.iter().any(|g| &g.path == f))
        .filter(|f| std::fs::read_to_string(s.root.join(f)).is_ok_and(|t| t.contains("# relman:begin ")))
        .collect()
}

/// The CI container images relman.toml gives by tag only (`[ci] image`, a target's
/// `container`): a tag moves, so each job could run in another image than the one reviewed.
/// `relman pin` pins them; `relman check` reports them.
pub fn unpinned_containers(s: &Settings) -> Result<Vec<String>, Failure> {
    let config_file = s.config_path.strip_prefix(&s.root).unwrap_or(&s.config_path).display().to_string();
    let found = crate::image::pin::unpinned(&s.root, &config_file, &[], &s.ci_config)?;
    Ok(found
        .into_iter()
        .map(|u| {
            format!(
                "{}:{}: the CI container image `{}` is given by tag: run `relman pin` to pin it by digest",
                u.file, u.line, u.image
            )
        })
        .collect())
}

/// What else in the repository releases on a tag push: another workflow of `forge` that
/// creates release pages or pushes tags, which would race relman's on every tag. One line each,
/// naming the file and what gave it away.
pub fn competing_workflows(s: &Settings, forge: Forge) -> Vec<String> {
    const SIGNS: [(&str, &str); 9] = [
        ("softprops/action-gh-release", "softprops/action-gh-release"),
        ("goreleaser", "GoReleaser"),
        ("cargo-dist", "cargo-dist"),
        ("dist host", "cargo-dist"),
        ("gh release create", "gh release create"),
        ("actions/create-release", "actions/create-release"),
        ("ncipollo/release-action", "ncipollo/release-action"),
        ("taiki-e/upload-rust-binary-action", "taiki-e/upload-rust-binary-action"),
        ("release-please", "release-please"),
    ];
    let dir = match forge {
        Forge::Gitlab => return Vec::new(),
        _ => s.root.join(Path::new(forge.release_file()).parent().unwrap_or(Path::new("."))),
    };
    let owned = owned_files(forge);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let rel = path.strip_prefix(&s.root).unwrap_or(&path).display().to_string();
        if owned.contains(&rel) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        let on_tags = text.contains("tags:") || text.contains("release:");
        let what = SIGNS.iter().find(|(needle, _)| text.contains(needle)).map(|(_, name)| *name).or_else(|| {
            (text.contains("git push") && text.contains("--tags") || text.contains("git push origin v"))
                .then_some("git push of tags")
        });
        if let (true, Some(what)) = (on_tags, what) {
            out.push(format!(
                "{rel} also releases on tag pushes ({what}): it and relman's {} would race on every tag; remove it or its tag trigger",
                forge.release_file()
            ));
        }
    }
    out
}

/// Writes the files (keeping the user's text outside relman's blocks) and removes those the
/// configuration no longer needs; `dry_run` only says what would change.
pub fn write(s: &Settings, forge: Forge, dry_run: bool) -> Result<Vec<(FileOutcome, String)>, Failure> {
    let mut out = Vec::new();
    let generated = generate(s, forge)?;
    for stale in stale_files(s, forge, &generated) {
        let path = s.root.join(&stale);
        if !dry_run {
            std::fs::remove_file(&path).map_err(|e| Failure::io("remove", &path, e))?;
        }
        out.push((FileOutcome { path, status: "removed" }, String::new()));
    }
    for g in generated {
        let path = s.root.join(&g.path);
        let existing = read_existing(&path)?;
        let text = g.blocks.regenerate(&g.path, existing.as_deref())?;
        let status = match &existing {
            None => "created",
            Some(e) if *e == text => "unchanged",
            Some(_) => "updated",
        };
        if !dry_run && status != "unchanged" {
            if let Some(parent) = path.parent() {
                crate::fsutil::create_dir_all(parent)?;
            }
            crate::fsutil::write_atomic(&path, text.as_bytes())?;
        }
        out.push((FileOutcome { path, status }, text));
    }
    Ok(out)
}

fn read_existing(path: &Path) -> Result<Option<String>, Failure> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Failure::io("read", path, e)),
    }
}

/// What `relman ci check` found for one CI.
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    pub forge: Forge,
    /// One line per problem (file:line, block, what is wrong).
    pub problems: Vec<String>,
    /// A unified diff of each differing file against what `relman ci generate` would write.
    pub diff: String,
}

/// Compares the committed workflow files with what would be generated. `forges` empty: every
/// CI whose files exist (an error when none do).
pub fn check(s: &Settings, forges: &[Forge]) -> Result<Vec<CheckReport>, Failure> {
    let chosen: Vec<Forge> = if forges.is_empty() {
        let found: Vec<Forge> = Forge::ALL.into_iter().filter(|f| s.root.join(f.release_file()).is_file()).collect();
        if found.is_empty() {
            return Err(Failure::check(format!("no release workflow generated by relman in `{}`", s.root.display()))
                .with_hint("run `relman ci generate github` (or forgejo, gitlab) and commit the files"));
        }
        found
    } else {
        forges.to_vec()
    };
    let mut reports = Vec::new();
    for forge in chosen {
        let mut report = CheckReport { forge, problems: Vec::new(), diff: String::new() };
        let generated = generate(s, forge)?;
        for stale in stale_files(s, forge, &generated) {
            report.problems.push(format!(
                "{stale}: relman no longer generates it for this relman.toml (ci.promote): `relman ci generate {}` removes it",
                forge.as_str()
            ));
        }
        for g in generated {
            let path = s.root.join(&g.path);
            match read_existing(&path)? {
                None => report.problems.push(format!(
                    "{}: missing (relman ci generate {} writes it)",
                    g.path,
                    forge.as_str()
                )),
                Some(existing) => {
                    if let Some(pinned) = pinned_relman(&existing) {
                        let older = match (
                            semver::Version::parse(&pinned),
                            semver::Version::parse(env!("CARGO_PKG_VERSION")),
                        ) {
                            (Ok(p), Ok(me)) => p < me,
                            _ => false,
                        };
                        if older {
                            report.problems.push(format!(
                                "{}: installs relman {pinned}, older than this relman ({}): run `relman ci generate {}`",
                                g.path,
                                env!("CARGO_PKG_VERSION"),
                                forge.as_str()
                            ));
                        }
                    }
                    let problems = g.blocks.problems(&g.path, &existing)?;
                    let regenerated = g.blocks.regenerate(&g.path, Some(&existing))?;
                    // Every block's body is what relman writes (a Dependabot update relman
                    // keeps leaves only the end markers' digests behind): nothing to report.
                    let differs = !problems.is_empty();
                    report.problems.extend(problems);
                    if differs && regenerated != existing {
                        report.diff.push_str(&crate::textdiff::unified(&g.path, &existing, &regenerated));
                    }
                }
            }
        }
        reports.push(report);
    }
    Ok(reports)
}

/// A YAML double-quoted scalar.
pub(crate) fn q(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A shell word, single-quoted when it needs to be.
pub(crate) fn sh(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:@+".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// `text` as the lines of a YAML block scalar at `indent`.
pub(crate) fn block_scalar(text: &str, indent: &str) -> String {
    text.lines().map(|l| if l.is_empty() { "\n".to_string() } else { format!("{indent}{l}\n") }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_runners_build_natively() {
        assert_eq!(default_runner(Forge::Github, "aarch64-apple-darwin"), "macos-15");
        assert_eq!(default_runner(Forge::Github, "x86_64-apple-darwin"), "macos-15-intel");
        assert_eq!(default_runner(Forge::Github, "aarch64-unknown-linux-gnu"), "ubuntu-24.04-arm");
        assert_eq!(default_runner(Forge::Github, "x86_64-pc-windows-msvc"), "windows-2022");
        assert_eq!(default_runner(Forge::Gitlab, "x86_64-unknown-linux-gnu"), "");
    }

    #[test]
    fn quoting() {
        assert_eq!(q("a\"b"), "\"a\\\"b\"");
        assert_eq!(sh("dist/parts/x"), "dist/parts/x");
        assert_eq!(sh("it's"), "'it'\\''s'");
    }
}
