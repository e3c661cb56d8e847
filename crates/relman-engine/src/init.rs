//! `relman init`: write a commented `relman.toml` for the project in a directory.

use std::path::Path;

use relman_manifest::Failure;

use crate::config::{Config, CONFIG_FILE};
use crate::fsutil;
use crate::settings::{cargo_project, host_target};

/// Writes `<dir>/relman.toml`; refuses to overwrite unless `force`. Returns the text written.
/// With `dry_run`, writes nothing and returns the text it would write.
pub fn init(dir: &Path, force: bool, dry_run: bool) -> Result<String, Failure> {
    let path = dir.join(CONFIG_FILE);
    if path.exists() && !force && !dry_run {
        return Err(
            Failure::config(format!("`{}` already exists", path.display())).with_hint("pass --force to replace it")
        );
    }
    let cargo = if dir.join("Cargo.toml").is_file() { Some(cargo_project(dir)?) } else { None };
    let other = if cargo.is_none() { detect(dir) } else { None };
    let name = cargo
        .as_ref()
        .and_then(|c| c.name.clone())
        .or_else(|| other.as_ref().and_then(|o| o.name.clone()))
        .unwrap_or_else(|| dir.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "app".into()));
    let bins = cargo
        .as_ref()
        .map(|c| c.binaries.clone())
        .or_else(|| other.as_ref().map(|o| o.binaries.iter().map(|(b, _)| b.clone()).collect()))
        .filter(|b: &Vec<String>| !b.is_empty())
        .unwrap_or_else(|| vec![name.clone()]);
    let repo =
        cargo.as_ref().and_then(|c| c.repository.clone()).or_else(|| other.as_ref().and_then(|o| o.repository.clone()));
    let q = |s: &str| serde_json::to_string(s).expect("string");
    let list = |v: &[String]| v.iter().map(|s| q(s)).collect::<Vec<_>>().join(", ");
    let mut text = String::new();
    text.push_str("# relman.toml: how this project is released. Every key is optional.\n");
    text.push_str("# Reference: `relman schema` prints the JSON Schema of this file.\n\n");
    text.push_str("[project]\n");
    text.push_str(&format!("name = {}\n", q(&name)));
    match repo {
        Some(r) => text.push_str(&format!("repository = {}\n", q(&r))),
        None => text.push_str("# repository = \"https://github.com/OWNER/REPO\"\n"),
    }
    text.push_str("# Release tags look like v1.2.3; set \"\" for bare versions.\ntag_prefix = \"v\"\n\n");
    let charts = find_charts(dir);
    let dockerfile = dir.join("Dockerfile").is_file();
    // Node or Python without `bin`/scripts, or no manifest at all (Go's module builds one).
    let no_binaries =
        cargo.is_none() && !dir.join("go.mod").is_file() && other.as_ref().is_none_or(|o| o.binaries.is_empty());
    let service = no_binaries && (dockerfile || !charts.is_empty());
    if service {
        // A service: what it ships is images and charts, and nothing is built per target.
        text.push_str("# A service: released as its image(s) and chart(s); nothing is built per target.\n");
        text.push_str("# To ship executables too, add [build] with binaries, command and output.\n\n");
    } else {
        text.push_str("[build]\n");
        text.push_str(&format!(
            "# Targets to build. Only installed targets build locally; for others cross-compile (below)\n\
         # or build each on a CI runner of its own (`relman ci generate`).\n\
         targets = [{}]\n",
            match other.as_ref().and_then(|o| o.targets.as_ref()) {
                Some(t) => t.iter().map(|t| q(t)).collect::<Vec<_>>().join(", "),
                None => q(&host_target()),
            }
        ));
        text.push_str(&format!("binaries = [{}]\n", list(&bins)));
        if cargo.is_some() {
            text.push_str("# Cargo projects build with `cargo build --release --locked --target T`. With\n");
            text.push_str("# cross = \"zigbuild\", every Linux target (aarch64, armv7, musl) builds on one x86_64\n");
            text.push_str("# machine with cargo-zigbuild (`pip install cargo-zigbuild ziglang`; CI sets it up).\n");
            text.push_str("# cross = \"zigbuild\"\n");
            text.push_str("# For another build system, set a command and where the binaries land:\n");
            text.push_str("# command = \"make TARGET={target}\"\n# output = \"out/{target}/{binary}{exe}\"\n\n");
        } else if let Some(o) = &other {
            text.push_str(&o.build);
            text.push_str("output = \"out/{target}/{binary}{exe}\"\n\n");
        } else {
            text.push_str("command = \"make TARGET={target}\"\noutput = \"out/{target}/{binary}{exe}\"\n\n");
        }
        text.push_str(
            "[package]\n# format = \"tar.gz\"          # or \"tar.zst\", \"zip\"\n# windows_format = \"zip\"\n",
        );
        let extras: Vec<String> = ["README.md", "LICENSE", "LICENSE-MIT", "LICENSE-APACHE"]
            .iter()
            .filter(|f| dir.join(f).is_file())
            .map(|s| s.to_string())
            .collect();
        text.push_str(&format!("files = [{}]\n\n", list(&extras)));
    }
    text.push_str(&service_sections(dir, &name, dockerfile, &charts));
    text.push_str("[release]\n# dist = \"dist\"\nto = [\"dir:./dist/releases\"]\n");
    text.push_str(EXAMPLES);
    Config::parse(&text, &path.display().to_string())?;
    if dry_run {
        return Ok(text);
    }
    fsutil::write_atomic(&path, text.as_bytes())?;
    // The build command's outputs (`out/`) are build products too: a tree they dirty could not
    // be released again.
    let mut ignored = vec!["dist"];
    if text.contains("\noutput = \"out/") {
        ignored.push("out");
    }
    ensure_ignored(dir, &ignored)?;
    Ok(text)
}

/// Helm charts in the usual places: `Chart.yaml` at the root, in `chart/`, `deploy/chart/`,
/// `helm/`, or one level below `charts/`, `helm/` or `deploy/`.
fn find_charts(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for d in ["", "chart", "helm", "deploy/chart", "deploy/helm"] {
        if dir.join(d).join("Chart.yaml").is_file() {
            out.push(if d.is_empty() { ".".to_string() } else { d.to_string() });
        }
    }
    for parent in ["charts", "helm", "deploy"] {
        if let Ok(entries) = std::fs::read_dir(dir.join(parent)) {
            let mut found: Vec<String> = entries
                .flatten()
                .filter(|e| e.path().join("Chart.yaml").is_file())
                .map(|e| format!("{parent}/{}", e.file_name().to_string_lossy()))
                .filter(|p| !out.contains(p))
                .collect();
            found.sort();
            out.extend(found);
        }
    }
    out
}

/// `[[image]]` for a Dockerfile at the root (its FROM lines checked for digests) and one
/// `[[chart]]` per chart found.
fn service_sections(dir: &Path, name: &str, dockerfile: bool, charts: &[String]) -> String {
    let q = |s: &str| serde_json::to_string(s).expect("string");
    let mut t = String::new();
    if dockerfile {
        let text = std::fs::read_to_string(dir.join("Dockerfile")).unwrap_or_default();
        let unpinned: Vec<String> = text
            .lines()
            .filter_map(|l| {
                let l = l.trim();
                let rest = l.strip_prefix("FROM ").or_else(|| l.strip_prefix("from "))?;
                let image = rest.split_whitespace().find(|w| !w.starts_with("--"))?;
                (!image.contains("@sha256:") && image != "scratch" && !image.starts_with('$'))
                    .then(|| image.to_string())
            })
            .collect();
        t.push_str("# From the Dockerfile (built with buildah for each platform).\n");
        for u in &unpinned {
            t.push_str(&format!(
                "# FROM {u} is not pinned by digest: the same tag can give another base tomorrow.\n\
                 # Pin it in the Dockerfile as {u}@sha256:<digest> (`skopeo inspect docker://{u}` shows it).\n"
            ));
        }
        t.push_str(&format!(
            "[[image]]\nname = {}\ndockerfile = \"Dockerfile\"\n# platforms = [\"linux/amd64\", \"linux/arm64\"]\n\n",
            q(name)
        ));
    }
    for c in charts {
        t.push_str(&format!(
            "# From {c}/Chart.yaml: packaged with the release's version.\n[[chart]]\npath = {}\n",
            q(c)
        ));
        if dockerfile {
            // Beside an image of the same name: at its own path in a registry.
            t.push_str("repository = \"charts\"\n");
        }
        t.push('\n');
    }
    t
}

/// The commented examples at the end of a new relman.toml.
const EXAMPLES: &str = r#"# More destinations, each a --to too: an OCI registry (images and charts), S3, a forge page.
# to = ["dir:./dist/releases", "oci://ghcr.io/OWNER", "s3://BUCKET/PREFIX", "github:OWNER/REPO"]

# Signing: `relman keygen` writes the key pair and fills this in.
# [sign]
# key = "relman.key"
# public_key = "relman.pub"

# A container image from a Dockerfile (or from built files on a pinned base: base = "…@sha256:…").
# [[image]]
# name = "api"
# dockerfile = "Dockerfile"
# platforms = ["linux/amd64", "linux/arm64"]

# A Helm chart released with the same version.
# [[chart]]
# path = "charts/api"

# Where install.sh downloads from (the URL your dir:/s3: destination is served at).
# [installer]
# url = "https://dl.example.com/PROJECT"

# Versioned docs (mike-compatible): built with the release, `latest` moved by promote.
# [docs]
# build = "mkdocs build -d {out}"
# to = ["git:gh-pages"]

# Fail package and promote on known vulnerabilities in the release's SBOMs (offline).
# [gate.vulnerabilities]
# db = "vendor/osv-all.zip"
# severity = "high"
"#;

/// The tag to suggest after `init`: the next patch of the newest release tag, else the version a
/// Cargo.toml records, else `v0.1.0`.
pub fn next_tag_hint(dir: &Path) -> String {
    let tags = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["tag", "--list", "v*"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let newest = tags
        .lines()
        .filter_map(|t| semver::Version::parse(t.trim().trim_start_matches('v')).ok())
        .filter(|v| v.pre.is_empty())
        .max();
    let recorded = recorded_version(dir);
    match (newest, recorded) {
        // The files already record a newer version than the last tag (a bump not yet tagged).
        (Some(v), Some(r)) if r > v => format!("v{r}"),
        (Some(v), _) => format!("v{}.{}.{}", v.major, v.minor, v.patch + 1),
        (None, Some(r)) => format!("v{r}"),
        (None, None) => "v0.1.0".to_string(),
    }
}

/// The version the project's manifest records: Cargo.toml, package.json, pyproject.toml
/// (`[project]` or Poetry's `[tool.poetry]`), or a Chart.yaml at the root or in `chart/`.
fn recorded_version(dir: &Path) -> Option<semver::Version> {
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).ok();
    let toml_at = |f: &str, path: &[&str]| {
        let t: toml::Table = read(f)?.parse().ok()?;
        let mut v = toml::Value::Table(t);
        for k in path {
            v = v.get(k)?.clone();
        }
        v.as_str().map(str::to_string)
    };
    let chart = |f: &str| {
        read(f)?
            .lines()
            .find_map(|l| l.strip_prefix("version:"))
            .map(|v| v.trim().trim_matches('"').trim_matches('\'').to_string())
    };
    let candidates = [
        toml_at("Cargo.toml", &["package", "version"]),
        read("package.json")
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|j| j.get("version")?.as_str().map(str::to_string)),
        toml_at("pyproject.toml", &["project", "version"]),
        toml_at("pyproject.toml", &["tool", "poetry", "version"]),
        chart("Chart.yaml"),
        chart("chart/Chart.yaml"),
    ];
    candidates.into_iter().flatten().find_map(|v| semver::Version::parse(&v).ok())
}

/// What `init` read from a project that is not Cargo's: its name, binaries (with the file each
/// comes from, when known), repository, and the `[build]` lines that make those binaries.
struct Detected {
    name: Option<String>,
    binaries: Vec<(String, Option<String>)>,
    repository: Option<String>,
    /// `command = …` (with comments), ending in a newline.
    build: String,
    /// The targets to write instead of the host's (Go cross-compiles to all of them).
    targets: Option<Vec<String>>,
}

/// Recognises `package.json` (name, `bin`, repository), `pyproject.toml` (`[project]` name,
/// scripts, urls) and `go.mod` (module); `None` for anything else.
fn detect(dir: &Path) -> Option<Detected> {
    let q = |s: &str| serde_json::to_string(s).expect("string");
    if let Ok(text) = std::fs::read_to_string(dir.join("package.json")) {
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        let full = v.get("name").and_then(|n| n.as_str()).map(str::to_string);
        let short = full.as_deref().map(|n| n.rsplit('/').next().unwrap_or(n).to_string());
        let mut binaries: Vec<(String, Option<String>)> = match v.get("bin") {
            Some(serde_json::Value::String(path)) => {
                short.clone().map(|n| vec![(n, Some(path.clone()))]).unwrap_or_default()
            }
            Some(serde_json::Value::Object(map)) => {
                map.iter().filter_map(|(k, p)| p.as_str().map(|p| (k.clone(), Some(p.to_string())))).collect()
            }
            _ => Vec::new(),
        };
        binaries.retain(|(b, _)| !b.is_empty() && b.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)));
        let repository = match v.get("repository") {
            Some(serde_json::Value::String(r)) => Some(r.clone()),
            Some(r) => r.get("url").and_then(|u| u.as_str()).map(str::to_string),
            None => None,
        }
        .map(|r| r.trim_start_matches("git+").trim_end_matches(".git").to_string())
        .filter(|r| r.starts_with("https://"));
        let build = if binaries.is_empty() {
            "# package.json has no `bin`: say how the release's executables are made.\n\
             command = \"npm ci && npm run build && mkdir -p out/{target} && cp dist/cli.js out/{target}/{binary}\"\n"
                .to_string()
        } else {
            let copies: Vec<String> =
                binaries.iter().map(|(b, p)| format!("cp {} out/{{target}}/{b}", p.as_deref().unwrap_or(""))).collect();
            format!(
                "# From package.json `bin`: each script is the binary (it runs wherever node does, so one\n\
                 # target is enough; add `npm ci && npm run build && ` in front if the scripts are built).\n\
                 command = {}\n",
                q(&format!("mkdir -p out/{{target}} && {}", copies.join(" && ")))
            )
        };
        return Some(Detected { name: short, binaries, repository, build, targets: None });
    }
    if let Ok(text) = std::fs::read_to_string(dir.join("pyproject.toml")) {
        let v: toml::Value = toml::from_str(&text).ok()?;
        let project = v.get("project").or_else(|| v.get("tool").and_then(|t| t.get("poetry")));
        let name = project.and_then(|p| p.get("name")).and_then(|n| n.as_str()).map(str::to_string);
        let scripts = project.and_then(|p| p.get("scripts")).and_then(|s| s.as_table());
        let binaries: Vec<(String, Option<String>)> = scripts
            .map(|t| t.iter().filter_map(|(k, e)| e.as_str().map(|e| (k.clone(), Some(e.to_string())))).collect())
            .unwrap_or_default();
        let repository = project
            .and_then(|p| p.get("urls"))
            .and_then(|u| u.as_table())
            .and_then(|u| ["Repository", "repository", "Source", "Homepage"].iter().find_map(|k| u.get(*k)))
            .and_then(|r| r.as_str())
            .map(str::to_string);
        let build = match binaries.first() {
            Some((b, Some(entry))) => format!(
                "# From pyproject.toml `[project.scripts]`: one zipapp per script, run by python3 (set the\n\
                 # source directory if the package is not under src/).\n\
                 command = {}\n",
                q(&format!(
                    "mkdir -p out/{{target}} && python3 -m zipapp src -m {} -p '/usr/bin/env python3' -o out/{{target}}/{b}",
                    q(entry).replace('"', "'")
                ))
            ),
            _ => "# pyproject.toml has no [project.scripts]: say how the release's executables are made.\n\
                  command = \"make TARGET={target}\"\n"
                .to_string(),
        };
        return Some(Detected { name, binaries, repository, build, targets: None });
    }
    if let Ok(text) = std::fs::read_to_string(dir.join("go.mod")) {
        let module = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("module "))
            .map(|m| m.trim().trim_matches('"').to_string())?;
        let name = module.rsplit('/').next().map(str::to_string);
        let repository =
            module.contains('.').then(|| format!("https://{module}")).filter(|r| r.matches('/').count() >= 4);
        let mains = go_mains(dir, name.as_deref().unwrap_or("app"));
        let flags = "CGO_ENABLED=0 go build -trimpath -ldflags '-s -w -X main.version={version}'";
        let builds: Vec<String> = mains
            .iter()
            .map(|(b, pkg)| {
                let out = if mains.len() == 1 { "{binary}".to_string() } else { b.clone() };
                format!("{flags} -o out/{{target}}/{out}{{exe}} {pkg}")
            })
            .collect();
        let build = format!(
            "# From go.mod: `go build` of each main package ({}), the version injected with\n\
             # -ldflags -X main.version. relman sets GOOS and GOARCH for each target (also\n\
             # {{goos}}/{{goarch}}), so every target cross-compiles on one machine.\n\
             command = {}\n",
            mains.iter().map(|(_, p)| p.as_str()).collect::<Vec<_>>().join(", "),
            q(&format!("mkdir -p out/{{target}} && {}", builds.join(" && ")))
        );
        let targets = GO_TARGETS.iter().map(|t| t.to_string()).collect();
        let binaries = mains.into_iter().map(|(b, _)| (b, None)).collect();
        return Some(Detected { name, binaries, repository, build, targets: Some(targets) });
    }
    None
}

/// What GoReleaser builds by default, in Rust's names: Linux, macOS and Windows on x86-64 and
/// arm64 (Windows on arm64 aside).
const GO_TARGETS: [&str; 5] = [
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-msvc",
];

/// The Go main packages of a module: the root (named after the module) and each `cmd/NAME/`
/// whose files say `package main`. The root alone when none is found.
fn go_mains(dir: &Path, module_name: &str) -> Vec<(String, String)> {
    let is_main = |d: &Path| {
        std::fs::read_dir(d).into_iter().flatten().flatten().any(|e| {
            let p = e.path();
            p.extension().is_some_and(|x| x == "go")
                && !p.to_string_lossy().ends_with("_test.go")
                && std::fs::read_to_string(&p).map(|t| t.lines().any(|l| l.trim() == "package main")).unwrap_or(false)
        })
    };
    let mut mains = Vec::new();
    if is_main(dir) {
        mains.push((module_name.to_string(), ".".to_string()));
    }
    let mut cmds: Vec<String> = std::fs::read_dir(dir.join("cmd"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_dir() && is_main(&e.path()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    cmds.sort();
    for c in cmds {
        mains.push((c.clone(), format!("./cmd/{c}")));
    }
    if mains.is_empty() {
        mains.push((module_name.to_string(), ".".to_string()));
    }
    mains
}

/// Adds `/<name>` to `.gitignore` for each of `names` not ignored there yet.
fn ensure_ignored(dir: &Path, names: &[&str]) -> Result<(), Failure> {
    let path = dir.join(".gitignore");
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    let mut next = current.clone();
    for name in names {
        let forms = [name.to_string(), format!("/{name}"), format!("{name}/"), format!("/{name}/")];
        if current.lines().any(|l| forms.iter().any(|f| f == l.trim())) {
            continue;
        }
        if !next.is_empty() && !next.ends_with('\n') {
            next.push('\n');
        }
        next.push_str(&format!("/{name}\n"));
    }
    if next == current {
        return Ok(());
    }
    fsutil::write_atomic(&path, next.as_bytes())
}
