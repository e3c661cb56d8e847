//! Each command: resolve options once (flags + environment), call the engine or the installer,
//! render the result. Returns the exit code for outcomes that are reports rather than errors
//! (a verify that found problems).

use std::path::{Path, PathBuf};

use relman_engine::package::human_size;
use relman_engine::plan;
use relman_engine::release::{self, ReleaseOptions};
use relman_engine::remote::Remote;
use relman_engine::report::Reporter;
use relman_engine::settings::{absolutize_dir_url, Options, Secret};
use relman_engine::{build, config::Config, init, package};
use relman_install::install::{self, InstallOptions, UpgradeOptions};
use relman_install::source::Location;
use relman_manifest::{ErrorClass, Failure, Sha256};

use crate::cli::{CiCommand, Cli, Command, ProjectArgs, SchemaDoc};
use crate::render::{self, Term};

pub fn run(cli: Cli) -> Result<i32, Failure> {
    let cwd =
        std::env::current_dir().map_err(|e| Failure::internal(format!("cannot read the current directory: {e}")))?;
    let dir = match &cli.dir {
        Some(d) => cwd.join(d),
        None => cwd.clone(),
    };
    let term = Term::new(cli.json, cli.quiet);
    let json = cli.json;
    match cli.command {
        Command::Init { force, dry_run } => {
            let text = init::init(&dir, force, dry_run)?;
            let next = init::next_tag_hint(&dir);
            if json {
                let written = (!dry_run).then(|| dir.join("relman.toml"));
                render::json(&serde_json::json!({"written": written, "config": text, "next_tag": next}));
            } else if dry_run {
                out!("{text}");
            } else if !cli.quiet {
                outln!("wrote {}", dir.join("relman.toml").display());
                outln!("next: commit it, tag a version (git tag -a {next} -m {next}) and run `relman release`");
                outln!("      to release from CI on a tag push: `relman ci generate github` (or forgejo, gitlab)");
            }
            Ok(0)
        }
        Command::Keygen { key, public_key, force, no_config } => {
            let passphrase = match env_passphrase() {
                Some(p) => p,
                None => prompt_new_passphrase()?,
            };
            let private = dir.join(&key);
            let public = dir.join(&public_key);
            let hint = relman_engine::sign::keygen(&private, &public, passphrase.expose(), force)?;
            let in_project = dir.join("relman.toml").is_file() || dir.join("Cargo.toml").is_file();
            let recorded = in_project && !no_config;
            if recorded {
                relman_engine::sign::record_key_in_config(
                    &dir,
                    &key.display().to_string(),
                    &public_key.display().to_string(),
                )?;
            }
            if json {
                render::json(
                    &serde_json::json!({"private_key": private, "public_key": public, "key_hint": hint, "recorded_in_config": recorded}),
                );
            } else if !cli.quiet {
                outln!("wrote {} (private, mode 0600) and {} (public)", private.display(), public.display());
                outln!("key hint {hint}");
                if recorded {
                    outln!(
                        "recorded in relman.toml [sign]; {} is git-ignored; commit {}",
                        key.display(),
                        public_key.display()
                    );
                }
            }
            Ok(0)
        }
        Command::Check { vulnerabilities: true, .. } => {
            let config = light_config(&dir)?;
            let Some(cfg) = &config.gate.vulnerabilities else {
                return Err(Failure::usage("`relman check --vulnerabilities` needs [gate.vulnerabilities] in relman.toml")
                    .with_hint("add [gate.vulnerabilities] db = \"PATH\" (a directory or zip of OSV records, or a RustSec advisory-db checkout)"));
            };
            let report = relman_engine::vuln::check_project(&dir, cfg)?;
            for w in &report.warnings {
                term.warn(w);
            }
            if json {
                render::json(&report);
            } else if !cli.quiet {
                out!("{}", report.markdown());
            }
            match report.gate("check") {
                Err(f) if json => Ok(f.class.exit_code()),
                Err(f) => Err(f),
                Ok(()) => Ok(0),
            }
        }
        Command::Check { tag, git_ref, allow_dirty, vulnerabilities: false } => {
            let config = light_config(&dir)?;
            let opts = relman_engine::lockstep::CheckOptions {
                root: dir.clone(),
                tag_prefix: config.project.tag_prefix.clone().unwrap_or_else(|| "v".into()),
                versions: config.versions.clone(),
                tag,
                git_ref,
                allow_dirty,
                ignore_dirty: vec![config.release.dist.clone().unwrap_or_else(|| "dist".into())],
                changelog: config.notes.changelog.as_ref().map(PathBuf::from),
            };
            let mut report = relman_engine::lockstep::check(&opts)?;
            relman_engine::lockstep::add_release_problems(
                &mut report,
                &dir,
                "relman.toml",
                &config.images,
                &config.charts,
                &config.ci,
            )?;
            relman_engine::lockstep::add_signing_problems(&mut report, &dir, "relman.toml", &config.sign);
            for w in &report.warnings {
                term.warn(w);
            }
            if json {
                render::json(&report);
            } else {
                for p in &report.problems {
                    eprintln!("problem: {p}");
                }
                if report.is_ok() && !cli.quiet {
                    let files: Vec<&str> = report.files.iter().map(|f| f.path.as_str()).collect();
                    outln!(
                        "{} {} at {}: {} in lockstep ({})",
                        report.tag,
                        report.version,
                        &report.commit[..7.min(report.commit.len())],
                        files.len(),
                        files.join(", ")
                    );
                }
            }
            match report.failure() {
                Some(f) if json => Ok(f.class.exit_code()),
                Some(f) => Err(f),
                None => Ok(0),
            }
        }
        Command::Bump { spec, pre, dry_run } => {
            let config = light_config(&dir)?;
            let opts = relman_engine::bump::BumpOptions {
                root: dir.clone(),
                tag_prefix: config.project.tag_prefix.clone().unwrap_or_else(|| "v".into()),
                repository: config.project.repository.clone(),
                versions: config.versions.clone(),
                notes: config.notes.clone(),
                spec: spec.parse()?,
                pre,
                dry_run,
                source_date_epoch: source_date_epoch()?,
                changelog: config.notes.changelog.as_ref().map(PathBuf::from),
                ignore_dirty: vec![config.release.dist.clone().unwrap_or_else(|| "dist".into())],
            };
            let report = relman_engine::bump::bump(&opts)?;
            for w in &report.warnings {
                term.warn(w);
            }
            if json {
                render::json(&report);
            } else if !cli.quiet {
                let from = report.previous.as_deref().unwrap_or("(no release yet)");
                outln!("{from} → {} ({})", report.tag, report.reason);
                if dry_run {
                    out!("{}", report.diff);
                    outln!("--- notes ---\n{}", report.notes);
                    outln!("dry run: nothing changed");
                } else {
                    outln!("{}", report.notes);
                    for f in &report.files {
                        outln!("  updated {f}");
                    }
                    let commit = report
                        .commit
                        .as_deref()
                        .map(|c| format!("commit {}, ", &c[..7.min(c.len())]))
                        .unwrap_or_default();
                    outln!(
                        "{commit}tag {}{} — push with `git push --follow-tags`",
                        report.tag,
                        if report.signed { " (signed)" } else { "" }
                    );
                }
            }
            Ok(0)
        }
        Command::Notes { from, to, tag } => {
            let settings = notes_settings(&dir)?;
            let opts = relman_engine::notes::NotesOptions { from, to, tag, ..Default::default() };
            let out = relman_engine::notes::notes(&settings, &opts)?;
            if json {
                render::json(&out);
            } else {
                out!("{}", out.markdown);
            }
            Ok(0)
        }
        Command::Changelog { tag, dry_run } => {
            let settings = notes_settings(&dir)?;
            let config = light_config(&dir)?;
            let opts = relman_engine::changelog::ChangelogOptions {
                path: config.notes.changelog.as_ref().map(PathBuf::from),
                notes: relman_engine::notes::NotesOptions { tag, ..Default::default() },
                dry_run,
            };
            let report = relman_engine::changelog::changelog(&settings, &opts)?;
            for w in &report.warnings {
                term.warn(w);
            }
            if json {
                render::json(&report);
            } else if !cli.quiet {
                if dry_run {
                    out!("{}", report.diff);
                }
                if report.changed {
                    outln!(
                        "{}{} {}: section for {} added",
                        if dry_run { "would update " } else { "" },
                        report.path,
                        if report.created { "(created)" } else { "" },
                        report.tag
                    );
                } else {
                    outln!("{} already has a section for {}; nothing to do", report.path, report.tag);
                }
            }
            Ok(0)
        }
        Command::Completions { shell } => {
            let mut cmd = <crate::cli::Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "relman", &mut script);
            out!("{}", String::from_utf8_lossy(&script));
            Ok(0)
        }
        Command::Man => {
            let cmd = <crate::cli::Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .map_err(|e| Failure::internal(format!("rendering the man page: {e}")))?;
            out!("{}", String::from_utf8_lossy(&out));
            Ok(0)
        }
        Command::Schema { document } => {
            let text = match document {
                SchemaDoc::Config => Config::schema(),
                SchemaDoc::Manifest => relman_manifest::manifest_schema(),
                SchemaDoc::Index => relman_manifest::index_schema(),
            };
            out!("{text}");
            Ok(0)
        }
        Command::Plan(args) => {
            let planned = plan::plan(&options(&args, &dir, &cwd)?)?;
            if json {
                render::json(&planned.manifest);
            } else if !cli.quiet {
                let m = &planned.manifest;
                outln!("{} {} ({})", m.project.name, m.version, m.channel.as_str());
                outln!("  commit   {}{}", m.commit, m.tag.as_ref().map(|t| format!(" (tag {t})")).unwrap_or_default());
                outln!("  targets  {}", m.targets.join(", "));
                for a in &m.artifacts {
                    outln!("  artifact {}", a.name);
                }
                for d in &m.destinations {
                    outln!("  to       {}", d.url);
                }
                outln!("  manifest {}", planned.manifest_path().display());
            }
            Ok(0)
        }
        Command::Build(bargs) => {
            let args = &bargs.project;
            let opts = options(args, &dir, &cwd)?;
            let planned = plan::plan(&opts)?;
            relman_engine::hooks::run_planned(&planned, relman_engine::hooks::Point::Before, &term)?;
            build::build(&planned, &args.targets, &term)?;
            relman_engine::hooks::host_smoke(&planned, &term)?;
            relman_engine::hooks::run_planned(&planned, relman_engine::hooks::Point::AfterBuild, &term)?;
            // The docs with the whole build (not with one `--target` of a build matrix).
            if args.targets.is_empty() {
                relman_engine::docs::build_docs(&planned, &term)?;
            }
            let part = match &bargs.part {
                Some(p) => Some(relman_engine::part::write_part(&planned, &planned.manifest.targets, &cwd.join(p))?),
                None => None,
            };
            if json {
                render::json(
                    &serde_json::json!({"version": planned.manifest.version, "targets": planned.manifest.targets, "dir": planned.version_dir.join("build"), "part": part}),
                );
            } else if !cli.quiet {
                outln!("built {} for {}", planned.manifest.version, planned.manifest.targets.join(", "));
                if let Some(p) = &part {
                    outln!("part {} ({} file(s), {})", p.dir.display(), p.files, human_size(p.bytes));
                }
            }
            Ok(0)
        }
        Command::Ci(ci) => run_ci(ci, &dir, &cwd, json, cli.quiet),
        Command::Merge(margs) => {
            let opts = options(&margs.project, &dir, &cwd)?;
            let planned = plan::plan(&opts)?;
            let parts: Vec<PathBuf> = margs.parts.iter().map(|p| cwd.join(p)).collect();
            let report = relman_engine::part::merge(&planned, &parts, &term)?;
            if json {
                render::json(&report);
            } else if !cli.quiet {
                outln!(
                    "merged {} part(s) of {} ({} target(s), {} file(s), {}); `relman release` packages and publishes it",
                    parts.len(),
                    report.version,
                    report.targets.len(),
                    report.files,
                    human_size(report.bytes)
                );
            }
            Ok(0)
        }
        Command::Package(args) => {
            let opts = options(&args, &dir, &cwd)?;
            let mut planned = plan::plan(&opts)?;
            let done = package::package(&mut planned, &term)?;
            if json {
                render::json(&done);
            } else if !cli.quiet {
                for p in &done {
                    outln!(
                        "{}  {:>10}  {}{}",
                        p.sha256,
                        human_size(p.size),
                        p.name,
                        if p.written { "" } else { "  (unchanged)" }
                    );
                }
            }
            Ok(0)
        }
        Command::Publish(args) => {
            let opts = options(&args, &dir, &cwd)?;
            let mut planned = plan::plan(&opts)?;
            relman_engine::hooks::run_planned(&planned, relman_engine::hooks::Point::BeforePublish, &term)?;
            let outcomes = release::publish(&mut planned, &term)?;
            if json {
                render::json(&outcomes);
            } else if !cli.quiet {
                for o in &outcomes {
                    if o.written.is_empty() {
                        outln!(
                            "{}: {} already published ({} files), nothing to do",
                            o.destination,
                            planned.manifest.version,
                            o.skipped.len()
                        );
                    } else {
                        outln!(
                            "{}: published {} to {} ({} written, {} already there)",
                            o.destination,
                            planned.manifest.version,
                            o.location,
                            o.written.len(),
                            o.skipped.len()
                        );
                    }
                }
            }
            Ok(0)
        }
        Command::Promote(args) => {
            let version = relman_engine::version::parse_cli_version(&args.version)?;
            // Without --to: the release's configured destinations (release.to, or the default).
            // relman.toml says which checks gate a page (release.required_checks) and, without
            // --to, where the release is.
            let resolved = relman_engine::settings::Settings::resolve(&Options {
                dir: dir.clone(),
                remote: Remote::from_env(),
                ..Default::default()
            });
            let remote = resolved.as_ref().map(|s| s.remote.clone()).unwrap_or_else(|_| Remote::from_env());
            // The vulnerability gate reads the release's SBOMs from its record.
            let vuln_gate = resolved.as_ref().is_ok_and(|s| s.vulnerabilities.is_some());
            // The `signed` gate of file destinations reads who signs from the project.
            let signer_gate = resolved.as_ref().is_ok_and(|s| {
                if s.keyless {
                    s.expected_signer.is_some()
                } else {
                    s.public_key.is_some()
                }
            });
            if resolved.as_ref().is_ok_and(|s| s.keyless && s.expected_signer.is_none()) {
                term.warn(
                    "keyless signatures are not checked at promote: set sign.trusted_root, sign.certificate_identity and sign.certificate_oidc_issuer for the `signed` gate",
                );
            }
            let hook_settings = resolved.as_ref().ok().filter(|s| !s.hooks.after_promote.is_empty()).cloned();
            let urls: Vec<String> = if args.to.is_empty() {
                resolved?.destinations
            } else {
                args.to.iter().map(|u| absolutize_dir_url(u, &cwd)).collect()
            };
            let needs_record = urls
                .iter()
                .map(|u| relman_engine::provider::open(u, &remote))
                .collect::<Result<Vec<_>, _>>()?
                .iter()
                .any(|d| d.needs_record())
                || vuln_gate
                || signer_gate;
            // Registry credentials go to the registries promoted at (and no other).
            let remote =
                urls.iter().filter(|u| relman_engine::oci::is_oci(u)).fold(remote, |r, u| r.with_credential_host(u));
            let project = if needs_record { Some(released(&dir, &version, Some(&urls))?) } else { None };
            let reports =
                release::promote_all(&urls, &version, args.allow_downgrade, project.as_ref(), &remote, &term)?;
            after_promote(&dir, &urls, &version, project.clone(), json || cli.quiet);
            if json {
                render::json(&reports);
            } else if !cli.quiet {
                for r in &reports {
                    if r.moved {
                        let from = match &r.previous {
                            Some(p) if r.moved_pointers.iter().any(|n| n == "latest") => format!(" (latest was {p})"),
                            _ => String::new(),
                        };
                        outln!("{}: {} → {}{from}", r.destination, r.moved_pointers.join(", "), r.version);
                        if !r.left_pointers.is_empty() {
                            outln!("  already {}: {}", r.version, r.left_pointers.join(", "));
                        }
                    } else {
                        outln!("{}: {} already {}", r.destination, r.pointers.join(", "), r.version);
                    }
                    for n in &r.notes {
                        outln!("  {n}");
                    }
                }
            }
            if let Some(settings) = &hook_settings {
                let commit = project.as_ref().map(|p| p.manifest.commit.clone());
                relman_engine::hooks::run(
                    settings,
                    relman_engine::hooks::Point::AfterPromote,
                    &version.to_string(),
                    commit.as_deref(),
                    None,
                    &term,
                )
                .map_err(|f| Failure { message: format!("{version} is promoted; then {}", f.message), ..f })?;
            }
            Ok(0)
        }
        Command::Verify { target, key, require_signatures: _, report_dir: _, identity }
            if relman_engine::oci::is_oci(&target) =>
        {
            relman_engine::oci::refuse_credentials(&target)?;
            let identity = identity_policy(&identity, &cwd)?;
            let key = match (&key, &identity) {
                (None, Some(_)) => None,
                _ => {
                    let key_path = match key {
                        Some(k) => cwd.join(k),
                        None => Config::load(&dir.join("relman.toml"))
                            .ok()
                            .flatten()
                            .and_then(|c| c.sign.public_key)
                            .map(|k| dir.join(k))
                            .ok_or_else(|| {
                                Failure::usage(format!("verifying `{target}` needs the public key or the signer's identity"))
                                    .with_hint("pass --key cosign.pub, or --certificate-identity, --certificate-oidc-issuer and --trusted-root for a keyless release")
                            })?,
                    };
                    Some(relman_sign::PublicKey::from_file(&key_path)?)
                }
            };
            let signer_name = match (&key, &identity) {
                (Some(k), _) => k.origin().to_string(),
                (None, Some(p)) => p.describe(),
                _ => String::new(),
            };
            let trust = match (&key, &identity) {
                (Some(k), None) => relman_sign::keyless::Trust::Key(k),
                (None, Some(p)) => relman_sign::keyless::Trust::Identity(p),
                _ => return Err(Failure::usage("give a key or an identity to verify with, not both")),
            };
            let reference = relman_oci::reference::Reference::parse(&target).map_err(Failure::usage)?;
            let client = Remote::from_env().with_credential_host(&target).registry_client();
            let report = relman_engine::oci::verify_image(&client, &reference, trust)?;
            if json {
                render::json(&report);
            } else if !cli.quiet {
                for s in &report.subjects {
                    outln!(
                        "{:<14} {}  {} signature(s), attestations: {}",
                        s.platform,
                        s.digest,
                        s.signatures,
                        if s.attestations.is_empty() { "none".to_string() } else { s.attestations.join(", ") }
                    );
                }
                for p in &report.problems {
                    eprintln!("problem: {p}");
                }
                if report.problems.is_empty() {
                    outln!(
                        "verified {target} ({}): {} manifest(s) signed and attested by {}",
                        report.digest,
                        report.subjects.len(),
                        signer_name
                    );
                }
            }
            if report.problems.is_empty() {
                Ok(0)
            } else {
                Err(Failure::verify(format!(
                    "{target}: {} problem(s); first: {}",
                    report.problems.len(),
                    report.problems[0]
                )))
            }
        }
        Command::Smoke(args) => {
            let opts = options(&args, &dir, &cwd)?;
            let planned = plan::plan(&opts)?;
            let key = relman_engine::sign::load_key(&planned.settings, &term)?;
            let urls: Vec<String> = planned
                .manifest
                .destinations
                .iter()
                .map(|d| d.url.clone())
                .filter(|u| relman_engine::oci::is_oci(u))
                .collect();
            let Some(url) = urls.first() else {
                return Err(Failure::usage("no oci:// destination to run the smoke test against")
                    .with_hint("pass --to oci://REGISTRY/PATH or set release.to"));
            };
            let results = relman_engine::smoke::smoke(&planned, url, key.as_ref(), &term)?;
            if json {
                render::json(&results);
            } else if !cli.quiet {
                for r in &results {
                    outln!(
                        "{}: {} ({}){}",
                        r.image,
                        if r.passed { "passed" } else { "FAILED" },
                        r.detail,
                        if r.signed { ", signed result attached" } else { "" }
                    );
                }
            }
            match results.iter().find(|r| !r.passed) {
                Some(r) => Err(Failure::gate(format!("smoke test of `{}` failed: {}", r.image, r.detail))
                    .with_hint(format!("output ends with: {}", r.output.lines().last().unwrap_or("").trim()))),
                None => Ok(0),
            }
        }
        Command::Yank { version, to, yes, force, dry_run, tag, config } => {
            let version = relman_engine::version::parse_cli_version(&version)?;
            let settings = relman_engine::settings::Settings::resolve(&Options {
                dir: dir.clone(),
                config: config.map(|c| cwd.join(c)),
                remote: Remote::from_env(),
                ..Default::default()
            })?;
            let urls: Vec<String> = if to.is_empty() {
                settings.destinations.clone()
            } else {
                to.iter().map(|u| absolutize_dir_url(u, &cwd)).collect()
            };
            // Every repository of the release: its images, and its charts (at their own path).
            let mut names: Vec<String> =
                settings.images.iter().map(|c| relman_engine::image::image_name(&settings, c)).collect();
            for c in &settings.charts {
                let meta = relman_engine::chart::load(&settings.root.join(&c.path))?;
                names.push(relman_engine::chart::repository_name(c, &meta.name));
            }
            // The release record's index digests, to finish a yank whose tag is already gone.
            let recorded =
                released(&dir, &version, Some(&urls)).map(|p| recorded_images(&p.manifest)).unwrap_or_default();
            let scope =
                relman_engine::provider::YankScope { repositories: &names, recorded: Some(&recorded), delete_tag: tag };
            let remote = urls
                .iter()
                .filter(|u| relman_engine::oci::is_oci(u))
                .fold(settings.remote.clone(), |r, u| r.with_credential_host(u));
            let yank_at = |url: &str, apply: bool| -> Result<relman_engine::provider::YankReport, Failure> {
                relman_engine::provider::open(url, &remote)?.yank(&scope, &version, apply, force)
            };
            // Everything is decided at every destination before anything is deleted anywhere.
            let mut plans = Vec::new();
            for url in &urls {
                let plan = yank_at(url, false)?;
                if !plan.blocked_by.is_empty() && !force && !dry_run {
                    return Err(Failure::gate(format!(
                        "cannot yank {version} at `{url}`: {} still point at it",
                        plan.blocked_by.join(", ")
                    ))
                    .with_hint("promote another version first, or pass --force to remove those pointers too"));
                }
                plans.push((url.clone(), plan));
            }
            let mut reports = Vec::new();
            for (url, plan) in plans {
                if plan.removed.is_empty() || dry_run {
                    reports.push(plan);
                    continue;
                }
                if !yes {
                    if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                        return Err(Failure::usage(format!("yank of {version} at `{url}` needs confirmation"))
                            .with_hint("pass --yes to confirm without a prompt (CI), or --dry-run to list only"));
                    }
                    eprintln!("relman yank will delete from {url}:");
                    for r in &plan.removed {
                        eprintln!("  {r}");
                    }
                    eprint!("delete these {} items? [y/N] ", plan.removed.len());
                    let mut answer = String::new();
                    std::io::stdin()
                        .read_line(&mut answer)
                        .map_err(|e| Failure::usage(format!("cannot read the answer: {e}")))?;
                    if !matches!(answer.trim(), "y" | "Y" | "yes") {
                        return Err(Failure::usage("yank cancelled; nothing deleted"));
                    }
                }
                reports.push(yank_at(&url, true)?);
            }
            if json {
                render::json(&reports);
            } else if !cli.quiet {
                for r in &reports {
                    let verb = if dry_run { "would remove" } else { "removed" };
                    for x in &r.removed {
                        outln!("{verb} {x}");
                    }
                    for x in &r.left {
                        outln!("left    {x}");
                    }
                    if dry_run && !force {
                        for b in &r.blocked_by {
                            outln!("blocked {b} points at {} (refused without --force)", r.version);
                        }
                    }
                }
            }
            Ok(0)
        }
        Command::Pin { dry_run, config } => {
            let settings = relman_engine::settings::Settings::resolve(&Options {
                dir: dir.clone(),
                config: config.map(|c| cwd.join(c)),
                remote: Remote::from_env(),
                ..Default::default()
            })?;
            let config_file = settings
                .config_path
                .strip_prefix(&settings.root)
                .unwrap_or(&settings.config_path)
                .display()
                .to_string();
            let changes = relman_engine::image::pin::pin(
                &settings.root,
                &config_file,
                &settings.images,
                &settings.ci_config,
                &settings.remote,
                dry_run,
            )?;
            if json {
                render::json(&changes);
            } else if !cli.quiet {
                if changes.is_empty() {
                    outln!("every base image is pinned by digest");
                }
                for c in &changes {
                    outln!("{}{}:{}: {} → {}", if dry_run { "would pin " } else { "" }, c.file, c.line, c.from, c.to);
                }
            }
            Ok(0)
        }
        Command::Verify { target, key, require_signatures, report_dir, identity } => {
            let identity = identity_policy(&identity, &cwd)?;
            // A forge release page: its assets downloaded, then verified as a directory.
            let mut target_label = target.clone();
            let _downloaded;
            let (loc, from_forge) = if relman_engine::forge::is_forge(&target) {
                let tmp = ScratchDir::new("verify")?;
                let tag = relman_engine::forge::download_release(&target, None, &Remote::from_env(), &tmp.0)?;
                if !target.ends_with(&format!("@{tag}")) {
                    target_label = format!("{target}@{tag}");
                }
                let loc = Location::Path(tmp.0.clone());
                _downloaded = tmp;
                (loc, true)
            } else if relman_engine::s3::is_s3(&target) {
                // An S3 location (a private bucket too): the version's objects, read with the
                // AWS credentials, then verified as a directory.
                let tmp = ScratchDir::new("verify")?;
                let v = relman_engine::s3::download_release(&target, None, Remote::from_env().s3, &tmp.0)?;
                if !target.trim_end_matches('/').ends_with(&format!("/{v}")) {
                    target_label = format!("{}/{v}", target.trim_end_matches('/'));
                }
                let loc = Location::Path(tmp.0.clone());
                _downloaded = tmp;
                (loc, true)
            } else {
                (location(&target, &cwd), false)
            };
            let key_path = match key {
                Some(k) => Some(cwd.join(k)),
                None if identity.is_some() => None,
                None => Config::load(&dir.join("relman.toml"))
                    .ok()
                    .flatten()
                    .and_then(|c| c.sign.public_key)
                    .map(|k| dir.join(k)),
            };
            let key = match &key_path {
                Some(k) => Some(relman_sign::PublicKey::from_file(k)?),
                None => None,
            };
            let report_dir = match report_dir {
                Some(d) => Some(cwd.join(d)),
                None if loc.is_url() || from_forge => Some(cwd.clone()),
                None => None,
            };
            // A root with nothing promoted (or its stable version yanked): every version in it.
            let targets = relman_install::verify::unpromoted_versions(&loc)?.unwrap_or_else(|| vec![loc.clone()]);
            let many = targets.len() > 1;
            let mut reports = Vec::new();
            for target in &targets {
                let report_dir = match (&report_dir, target) {
                    (Some(d), relman_install::Location::Path(p)) if many => {
                        Some(d.join(p.file_name().unwrap_or_default()))
                    }
                    (d, _) => d.clone(),
                };
                let opts = relman_install::verify::VerifyOptions {
                    key: key.clone(),
                    identity: identity.clone(),
                    require_signatures,
                    report_dir: report_dir.clone(),
                    label: from_forge.then(|| target_label.clone()),
                };
                let report = relman_install::verify::verify_release_with(target, &opts)?;
                if !json && !cli.quiet {
                    print_verify_report(&report, report_dir.as_deref());
                }
                reports.push(report);
            }
            if json {
                if many {
                    render::json(&reports);
                } else {
                    render::json(&reports[0]);
                }
            }
            let bad: Vec<&relman_install::verify::VerifyReport> = reports.iter().filter(|r| !r.is_ok()).collect();
            if bad.is_empty() {
                if many && !json && !cli.quiet {
                    outln!("verified {} versions in `{loc}` (none promoted)", reports.len());
                }
                Ok(0)
            } else {
                if !json {
                    for r in &bad {
                        eprintln!("error: {} problem(s) in `{}`", r.problems.len(), r.location);
                    }
                }
                Ok(ErrorClass::Verify.exit_code())
            }
        }
        Command::Checksum { files } => {
            let paths: Vec<PathBuf> = files.iter().map(|f| cwd.join(f)).collect();
            let results = relman_install::hash::sha256_files(&paths);
            let mut entries = Vec::new();
            for (file, result) in files.iter().zip(results) {
                let (sha, size) = result.map_err(|e| Failure::io("read", file, e))?;
                entries.push(serde_json::json!({"file": file, "sha256": sha, "size": size}));
                if !json {
                    outln!("{sha}  {}", file.display());
                }
            }
            if json {
                render::json(&entries);
            }
            Ok(0)
        }
        Command::Install(args) => {
            // A forge: the release's assets downloaded first (the latest, or --version).
            let _downloaded;
            let (from, version, source_label) = if relman_engine::forge::is_forge(&args.from) {
                let tmp = ScratchDir::new("install")?;
                let v = match &args.version {
                    Some(v) => Some(relman_engine::version::parse_cli_version(v)?),
                    None => None,
                };
                let tag = relman_engine::forge::download_release(&args.from, v.as_ref(), &Remote::from_env(), &tmp.0)?;
                let from = tmp.0.display().to_string();
                _downloaded = tmp;
                let spec = args.from.rsplit_once('@').map(|(u, _)| u).unwrap_or(&args.from);
                (from, None, Some(format!("{spec}@{tag}")))
            } else if relman_engine::s3::is_s3(&args.from) {
                // An S3 release (a private bucket too): the version's objects first.
                let tmp = ScratchDir::new("install")?;
                let v = match &args.version {
                    Some(v) => Some(relman_engine::version::parse_cli_version(v)?),
                    None => None,
                };
                let got = relman_engine::s3::download_release(&args.from, v.as_ref(), Remote::from_env().s3, &tmp.0)?;
                let from = tmp.0.display().to_string();
                _downloaded = tmp;
                let root = args.from.trim_end_matches('/');
                let label = if root.ends_with(&format!("/{got}")) { root.to_string() } else { format!("{root}/{got}") };
                (from, None, Some(label))
            } else {
                (source_arg(&args.from, &cwd), args.version.clone(), None)
            };
            let opts = InstallOptions {
                from,
                version,
                prefix: prefix(args.prefix.as_deref(), &cwd)?,
                target: args.target.clone(),
                sha256: match &args.sha256 {
                    Some(h) => Some(
                        Sha256::parse(h)
                            .ok_or_else(|| Failure::usage(format!("--sha256 `{h}` is not 64 hex characters")))?,
                    ),
                    None => None,
                },
                force: args.force,
                key: args.key.as_ref().map(|k| cwd.join(k)),
                identity: identity_policy(&args.identity, &cwd)?,
                require_signature: args.require_signature,
                source_label,
                require_fresh: args.require_fresh,
            };
            let outcome = install::install(&opts)?;
            for w in &outcome.warnings {
                term.warn(w);
            }
            if json {
                render::json(&outcome);
            } else if !cli.quiet && outcome.already_installed {
                outln!(
                    "{} {} ({}) is already installed, intact; nothing to do (--force reinstalls it)",
                    outcome.name,
                    outcome.version,
                    outcome.target
                );
            } else if !cli.quiet {
                let was = outcome.previous.as_deref().map(|p| format!(" (replacing {p})")).unwrap_or_default();
                outln!("installed {} {} ({}){was}", outcome.name, outcome.version, outcome.target);
                for b in &outcome.binaries {
                    outln!("  {}", b.display());
                }
                print_signature(&outcome);
            }
            Ok(0)
        }
        Command::Upgrade(args) => {
            let prefix = prefix(args.prefix.as_deref(), &cwd)?;
            if args.rollback {
                let outcome = install::rollback(&prefix, args.name.as_deref())?;
                if json {
                    render::json(&outcome);
                } else if !cli.quiet {
                    outln!(
                        "rolled back {} to {} (replaced {}, kept as the backup)",
                        outcome.name,
                        outcome.version,
                        outcome.replaced
                    );
                    for b in &outcome.binaries {
                        outln!("  {}", b.display());
                    }
                }
                return Ok(0);
            }
            // From a forge (--from github:…, or the page the receipt names): its latest release.
            let receipt = install::receipt::installed(&prefix, args.name.as_deref())?;
            let page = |s: &str| s.rsplit_once('@').map(|(u, _)| u.to_string()).unwrap_or_else(|| s.to_string());
            let forge_source = match (&args.from, &receipt) {
                (Some(f), _) if relman_engine::forge::is_forge(f) => Some(page(f)),
                (None, Some(r)) if relman_engine::forge::is_forge(&r.source) => Some(page(&r.source)),
                _ => None,
            };
            if let Some(spec) = forge_source {
                let outcome = upgrade_from_forge(&spec, receipt, &prefix, &args, &cwd)?;
                if json {
                    render::json(&outcome);
                } else if !cli.quiet {
                    outln!("{}", describe_upgrade(&outcome));
                }
                return Ok(0);
            }
            let opts = UpgradeOptions {
                name: args.name.clone(),
                from: args.from.as_deref().map(|f| source_arg(f, &cwd)),
                prefix,
                target: args.target.clone(),
                key: args.key.as_ref().map(|k| cwd.join(k)),
                require_signature: args.require_signature,
                require_fresh: args.require_fresh,
            };
            let outcome = install::upgrade(&opts)?;
            if let install::UpgradeOutcome::Upgraded { outcome: o, .. } = &outcome {
                for w in &o.warnings {
                    term.warn(w);
                }
            }
            if json {
                render::json(&outcome);
            } else if !cli.quiet {
                outln!("{}", describe_upgrade(&outcome));
            }
            Ok(0)
        }
        Command::Summary { version, to, key } => {
            let version = relman_engine::version::parse_cli_version(&version)?;
            let to: Vec<String> = to.iter().map(|u| absolutize_dir_url(u, &cwd)).collect();
            let record = released(&dir, &version, (!to.is_empty()).then_some(&to[..]))?;
            let urls: Vec<String> = if to.is_empty() { record.settings.destinations.clone() } else { to };
            let key = match key.map(|k| cwd.join(k)).or_else(|| record.settings.public_key.clone()) {
                Some(k) => Some(relman_sign::PublicKey::from_file(&k)?),
                None => None,
            };
            let summary = write_summary(&record, &urls, &version, key.as_ref())?;
            if json {
                render::json(&summary);
            } else if !cli.quiet {
                for d in &summary.destinations {
                    outln!("{}", d.state.destination);
                    for a in &d.state.assets {
                        outln!("  {:<9} {}", a.status, a.name);
                    }
                    for p in &d.state.pointers {
                        outln!("  pointer   {} → {}", p.name, p.target.as_deref().unwrap_or("(not set)"));
                    }
                    for g in &d.gates {
                        outln!("  gate      {}: {} ({})", g.name, if g.passed { "pass" } else { "FAIL" }, g.detail);
                    }
                    for p in &d.state.problems {
                        eprintln!("problem: {p}");
                    }
                }
                outln!("summary: {}", record.version_dir.join(relman_engine::summary::SUMMARY_MARKDOWN).display());
            }
            if summary.ok {
                Ok(0)
            } else {
                if !json {
                    eprintln!(
                        "error: {} {} is not what its release record says at every destination",
                        summary.name, summary.version
                    );
                }
                Ok(ErrorClass::Verify.exit_code())
            }
        }
        Command::Release(args) => {
            let ro = ReleaseOptions {
                options: options(&args.project, &dir, &cwd)?,
                promote: args.promote,
                allow_downgrade: args.allow_downgrade,
            };
            let summary = release::release(&ro, &term)?;
            if args.promote {
                let version = semver::Version::parse(&summary.version).expect("released versions are semver");
                let urls: Vec<String> = summary.promoted.iter().map(|p| p.destination.clone()).collect::<Vec<_>>();
                after_promote(&dir, &urls, &version, None, json || cli.quiet);
            }
            if json {
                render::json(&summary);
            } else if !cli.quiet {
                outln!("released {} {} ({})", summary.name, summary.version, summary.channel);
                for a in &summary.artifacts {
                    outln!("  {}  {:>10}  {}", a.sha256.short(), human_size(a.size), a.name);
                }
                for i in &summary.images {
                    let digest = i.digest.as_deref().unwrap_or("(not built)");
                    outln!("  image {}  {digest}  {}", i.name, i.platforms.join(", "));
                    for r in &i.pushed {
                        outln!("    {r}@{digest}");
                    }
                }
                for p in &summary.published {
                    outln!(
                        "  published to {} ({} written, {} already there)",
                        p.location,
                        p.written.len(),
                        p.skipped.len()
                    );
                }
                for p in &summary.promoted {
                    outln!("  {} → {} at {}", p.pointers.join(", "), p.version, p.destination);
                }
                outln!("  manifest {}", summary.manifest);
            }
            Ok(0)
        }
    }
}

/// `relman upgrade` of a program installed from a forge release page: the page's latest
/// release, when it is newer than the receipt's version, downloaded and installed (the receipt's
/// pinned key applies; the previous version stays for rollback).
fn upgrade_from_forge(
    spec: &str,
    receipt: Option<install::Receipt>,
    prefix: &Path,
    args: &crate::cli::UpgradeArgs,
    cwd: &Path,
) -> Result<install::UpgradeOutcome, Failure> {
    let remote = Remote::from_env();
    let tag = relman_engine::forge::latest_tag(spec, &remote)?
        .ok_or_else(|| Failure::install(format!("`{spec}` has no published release yet")))?;
    let latest = relman_engine::forge::version_of_tag(&tag)
        .ok_or_else(|| Failure::verify(format!("`{spec}`: its latest tag `{tag}` names no version")))?;
    if let Some(r) = &receipt {
        let installed = semver::Version::parse(r.version.trim_start_matches('v')).ok();
        if installed.as_ref().is_some_and(|v| *v >= latest) {
            return Ok(install::UpgradeOutcome::UpToDate {
                name: r.name.clone(),
                version: r.version.clone(),
                available: latest.to_string(),
            });
        }
    }
    let tmp = ScratchDir::new("upgrade")?;
    relman_engine::forge::download_release(&format!("{spec}@{tag}"), None, &remote, &tmp.0)?;
    let outcome = install::install(&InstallOptions {
        from: tmp.0.display().to_string(),
        version: None,
        prefix: prefix.to_path_buf(),
        target: args.target.clone().or_else(|| receipt.as_ref().map(|r| r.target.clone())),
        sha256: None,
        force: false,
        key: args.key.as_ref().map(|k| cwd.join(k)),
        identity: None,
        require_signature: args.require_signature,
        source_label: Some(format!("{spec}@{tag}")),
        require_fresh: args.require_fresh,
    })?;
    Ok(match receipt {
        Some(r) => install::UpgradeOutcome::Upgraded { from_version: r.version, outcome },
        None => install::UpgradeOutcome::Installed { outcome },
    })
}

fn describe_upgrade(outcome: &install::UpgradeOutcome) -> String {
    use install::UpgradeOutcome::*;
    match outcome {
        UpToDate { name, version, available } if version == available => format!("{name} {version} is up to date"),
        UpToDate { name, version, available } => {
            format!("{name} {version} is newer than the latest stable release ({available}); nothing to do")
        }
        Upgraded { from_version, outcome } => {
            format!(
                "upgraded {} {from_version} → {} ({}); undo with `relman upgrade --rollback`",
                outcome.name, outcome.version, outcome.target
            )
        }
        Installed { outcome } => format!("installed {} {} ({})", outcome.name, outcome.version, outcome.target),
    }
}

/// relman.toml of the project directory (defaults when there is none), for the commands that
/// do not build (check, bump, notes, changelog).
fn light_config(dir: &Path) -> Result<Config, Failure> {
    Ok(Config::load(&dir.join("relman.toml"))?.unwrap_or_default())
}

fn notes_settings(dir: &Path) -> Result<relman_engine::notes::NotesSettings, Failure> {
    let config = light_config(dir)?;
    Ok(relman_engine::notes::NotesSettings {
        root: dir.to_path_buf(),
        tag_prefix: config.project.tag_prefix.clone().unwrap_or_else(|| "v".into()),
        repository: config.project.repository.clone(),
        config: config.notes,
    })
}

fn source_date_epoch() -> Result<Option<i64>, Failure> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| Failure::usage(format!("SOURCE_DATE_EPOCH `{v}` is not a number of seconds"))),
        _ => Ok(None),
    }
}

/// Resolves project flags and the environment into engine options.
/// Settings for commands that only read relman.toml (no tag, no plan).
fn config_settings(
    dir: &Path,
    cwd: &Path,
    config: Option<&PathBuf>,
) -> Result<relman_engine::settings::Settings, Failure> {
    relman_engine::settings::Settings::resolve(&Options {
        dir: dir.to_path_buf(),
        config: config.map(|c| cwd.join(c)),
        remote: Remote::from_env(),
        ..Default::default()
    })
}

fn run_ci(ci: CiCommand, dir: &Path, cwd: &Path, json: bool, quiet: bool) -> Result<i32, Failure> {
    use relman_engine::ci;
    match ci {
        CiCommand::Generate { forge, dry_run, config } => {
            let forge = ci::Forge::parse(&forge)?;
            let s = config_settings(dir, cwd, config.as_ref())?;
            let written = ci::write(&s, forge, dry_run)?;
            for w in ci::competing_workflows(&s, forge) {
                eprintln!("warning: {w}");
            }
            for w in ci::unpinned_containers(&s)? {
                eprintln!("warning: {w}");
            }
            if json {
                render::json(&written.iter().map(|(o, _)| o).collect::<Vec<_>>());
            } else if dry_run {
                for (o, text) in &written {
                    outln!("# {} ({})", o.path.strip_prefix(&s.root).unwrap_or(&o.path).display(), o.status);
                    out!("{text}");
                }
            } else if !quiet {
                for (o, _) in &written {
                    outln!("{} {}", o.status, o.path.strip_prefix(&s.root).unwrap_or(&o.path).display());
                }
                if written.iter().any(|(o, _)| o.status != "unchanged") {
                    outln!("commit them; `relman ci check` keeps them in step with relman.toml");
                }
            }
            Ok(0)
        }
        CiCommand::Check { forges, config } => {
            let forges = forges.iter().map(|f| ci::Forge::parse(f)).collect::<Result<Vec<_>, _>>()?;
            let s = config_settings(dir, cwd, config.as_ref())?;
            let reports = ci::check(&s, &forges)?;
            let problems: Vec<&String> = reports.iter().flat_map(|r| &r.problems).collect();
            let differs = !problems.is_empty() || reports.iter().any(|r| !r.diff.is_empty());
            if json {
                render::json(&reports);
                return Ok(if differs { ErrorClass::Check.exit_code() } else { 0 });
            } else if differs {
                for p in &problems {
                    eprintln!("{p}");
                }
                for r in &reports {
                    eprint!("{}", r.diff);
                }
            } else if !quiet {
                for r in &reports {
                    outln!("{}: the workflow files are as relman generates them", r.forge.as_str());
                }
            }
            if differs {
                let first =
                    problems.first().map(|p| p.to_string()).unwrap_or_else(|| "the workflow files differ".into());
                let names: Vec<&str> = reports.iter().map(|r| r.forge.as_str()).collect();
                return Err(Failure::check(format!("{first} ({} problem(s))", problems.len().max(1))).with_hint(
                    format!(
                    "run `relman ci generate {}` and commit the result (your edits outside relman's blocks are kept)",
                    names.join(" / ")
                ),
                ));
            }
            Ok(0)
        }
        CiCommand::Matrix { forge, format, project } => {
            let forge = ci::Forge::parse(&forge)?;
            let planned = plan::plan(&options(&project, dir, cwd)?)?;
            let matrix = ci::matrix(&planned.settings, forge)?;
            let doc = serde_json::json!({"include": matrix});
            match format.as_str() {
                "json" => render::json(&serde_json::json!({"version": planned.manifest.version, "matrix": doc})),
                "github-output" => {
                    outln!("matrix={doc}");
                    outln!("version={}", planned.manifest.version);
                }
                other => {
                    return Err(Failure::usage(format!("unknown --format `{other}`")).with_hint("json or github-output"))
                }
            }
            Ok(0)
        }
    }
}

fn options(args: &ProjectArgs, dir: &Path, cwd: &Path) -> Result<Options, Failure> {
    let source_date_epoch = source_date_epoch()?;
    let mut passphrase = env_passphrase();
    if passphrase.is_none() {
        passphrase = prompt_key_passphrase(dir, args.config.as_ref().map(|c| cwd.join(c)).as_deref())?;
    }
    Ok(Options {
        passphrase,
        require_signatures: args.require_signatures,
        ci: Some(relman_engine::provenance::CiContext::from_env(|k| std::env::var(k).ok())),
        dir: dir.to_path_buf(),
        config: args.config.as_ref().map(|c| cwd.join(c)),
        snapshot: args.snapshot,
        allow_dirty: args.allow_dirty,
        tag: args.tag.clone(),
        targets: args.targets.clone(),
        to: args.to.iter().map(|u| absolutize_dir_url(u, cwd)).collect(),
        source_date_epoch,
        remote: {
            let mut r = Remote::from_env();
            if let Some(file) = &args.identity_token {
                r.sigstore.token = identity_token_from(file, cwd)?;
            }
            r
        },
        replace_assets: args.replace,
        force_rebuild: args.force_rebuild,
    })
}

/// `--identity-token FILE|-`: the token, read whole (never shown).
fn identity_token_from(file: &Path, cwd: &Path) -> Result<relman_engine::remote::TokenSource, Failure> {
    use std::io::Read;
    let (text, origin) = if file == Path::new("-") {
        let mut t = String::new();
        std::io::stdin().read_to_string(&mut t).map_err(|e| Failure::io("read", Path::new("standard input"), e))?;
        (t, "--identity-token - (standard input)".to_string())
    } else {
        let path = cwd.join(file);
        let t = std::fs::read_to_string(&path).map_err(|e| Failure::io("read", &path, e))?;
        (t, format!("--identity-token {}", file.display()))
    };
    Ok(relman_engine::remote::TokenSource::Given { token: relman_engine::remote::Token::new(text.trim()), origin })
}

/// Each image's index digest and platform manifests, as the release record has them.
fn recorded_images(m: &relman_manifest::Manifest) -> relman_engine::oci::RecordedImages {
    let parse = |d: &str| relman_oci::Digest::parse(d).ok();
    m.images
        .iter()
        .filter_map(|i| {
            let index = parse(i.digest.as_deref()?)?;
            let platforms =
                i.platforms.iter().filter_map(|p| Some((parse(p.digest.as_deref()?)?, p.platform.clone()))).collect();
            Some((i.name.clone(), (index, platforms)))
        })
        .collect()
}

/// The project's record of a released version (settings + `dist/<version>/manifest.json`), for
/// steps that act on what was published (promote at an OCI destination).
///
/// From a fresh checkout (no `dist/`), the record published at one of the configured `dir:`
/// destinations is used; else one made from relman.toml alone (the images by name: the gates
/// check what the registry holds under the version tag, signatures with the public key).
fn released(
    dir: &Path,
    version: &semver::Version,
    urls: Option<&[String]>,
) -> Result<relman_engine::plan::Planned, Failure> {
    let settings = relman_engine::settings::Settings::resolve(&Options {
        dir: dir.to_path_buf(),
        remote: Remote::from_env(),
        // Promote signs channels.json when the key and its passphrase are at hand; and
        // SOURCE_DATE_EPOCH, when given, stands for the clock there.
        passphrase: env_passphrase(),
        source_date_epoch: source_date_epoch()?,
        ..Default::default()
    })?;
    let urls = urls.map(<[String]>::to_vec).unwrap_or_else(|| settings.destinations.clone());
    let remote = settings.remote.clone();
    let loaded = relman_engine::record::load(settings, version, &urls, &remote)?;
    match &loaded.planned.origin {
        relman_engine::planned::Origin::Published(at) => eprintln!("release record: {at} (none in dist/)"),
        relman_engine::planned::Origin::Config => eprintln!(
            "release record: none for {version} (looked at {}); gates read the destinations themselves",
            loaded.looked.join(", ")
        ),
        relman_engine::planned::Origin::Local => {}
    }
    Ok(loaded.planned)
}

/// Paths relative to the current directory; URLs as they are.
fn source_arg(s: &str, cwd: &Path) -> String {
    if s.starts_with("http://") || s.starts_with("https://") || s.starts_with("file://") || Path::new(s).is_absolute() {
        s.to_string()
    } else {
        cwd.join(s).display().to_string()
    }
}

fn location(s: &str, cwd: &Path) -> Location {
    Location::parse(&source_arg(s, cwd))
}

fn prefix(p: Option<&Path>, cwd: &Path) -> Result<PathBuf, Failure> {
    match p {
        Some(p) => Ok(cwd.join(p)),
        None => std::env::var_os("HOME")
            .map(|h| PathBuf::from(h).join(".local"))
            .ok_or_else(|| Failure::usage("no --prefix given and HOME is not set").with_hint("pass --prefix DIR")),
    }
}

/// The signing key's passphrase from the environment (`RELMAN_PASSWORD`, then `COSIGN_PASSWORD`).
fn env_passphrase() -> Option<Secret> {
    ["RELMAN_PASSWORD", "COSIGN_PASSWORD"].iter().find_map(|v| std::env::var(v).ok()).map(Secret::new)
}

/// Asks for the passphrase of the configured key when it is encrypted and a person is at the
/// terminal; `None` otherwise (the engine then tries an empty passphrase and says what to set).
fn prompt_key_passphrase(dir: &Path, config: Option<&Path>) -> Result<Option<Secret>, Failure> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Ok(None);
    }
    let path = config.map(Path::to_path_buf).unwrap_or_else(|| dir.join("relman.toml"));
    let Ok(Some(config)) = Config::load(&path) else { return Ok(None) };
    let Some(key) = config.sign.key else { return Ok(None) };
    let key_path = dir.join(&key);
    let Ok(text) = std::fs::read_to_string(&key_path) else { return Ok(None) };
    if !relman_sign::keys::needs_passphrase(&text) {
        return Ok(None);
    }
    let p = rpassword::prompt_password(format!("passphrase for {}: ", key_path.display()))
        .map_err(|e| Failure::usage(format!("cannot read the passphrase: {e}")))?;
    Ok(Some(Secret::new(p)))
}

/// Asks twice for a new passphrase; without a terminal, says which variable to set.
fn prompt_new_passphrase() -> Result<Secret, Failure> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return Err(Failure::usage("no passphrase for the new key")
            .with_hint("set RELMAN_PASSWORD (an empty value is allowed) or run keygen at a terminal"));
    }
    let read = |prompt: &str| {
        rpassword::prompt_password(prompt).map_err(|e| Failure::usage(format!("cannot read the passphrase: {e}")))
    };
    let first = read("passphrase for the new private key: ")?;
    let second = read("again: ")?;
    if first != second {
        return Err(Failure::usage("the passphrases differ; nothing was written"));
    }
    Ok(Secret::new(first))
}

fn print_signature(outcome: &install::InstallOutcome) {
    if let Some(sig) = &outcome.signature {
        let source =
            serde_json::to_value(sig.key_source).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        outln!("  verified with {} ({source})", sig.signed_by);
        if let Some(old) = &sig.replaced_key_hint {
            outln!("  pinned signer changed {old} → {}", sig.key_hint);
        }
    }
}

/// Prints a verify report: one line per artifact, the problems, the key, the report files.
fn print_verify_report(report: &relman_install::verify::VerifyReport, report_dir: Option<&Path>) {
    for a in &report.artifacts {
        let status =
            serde_json::to_value(a.status).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        let kind = a.kind.map(relman_install::verify::kind_name).unwrap_or("file");
        let reason = if a.reason.is_empty() { String::new() } else { format!("  {}", a.reason) };
        outln!("{status:<9} {kind:<10} {}{reason}", a.name);
    }
    for p in &report.problems {
        eprintln!("problem: {p}");
    }
    match (&report.key_hint, &report.identity) {
        (Some(h), _) => outln!("signatures checked with key {h}"),
        (None, Some(who)) => outln!("signatures checked by {who}"),
        (None, None) => {
            outln!("signatures not checked (no key: pass --key, or --certificate-identity for a keyless release)")
        }
    }
    if let Some(d) = report_dir {
        outln!(
            "report: {} and {}",
            d.join(relman_install::verify::REPORT_JSON).display(),
            d.join(relman_install::verify::REPORT_MARKDOWN).display()
        );
    }
    if report.is_ok() {
        outln!("verified {} {} ({} files)", report.location, report.version, report.files.len());
    }
}

/// Fetches and writes the release summary into the record's `dist/<version>/`.
fn write_summary(
    record: &relman_engine::plan::Planned,
    urls: &[String],
    version: &semver::Version,
    key: Option<&relman_sign::PublicKey>,
) -> Result<relman_engine::summary::Summary, Failure> {
    let summary = relman_engine::summary::summarize(record, urls, version, key)?;
    relman_engine::summary::write(&record.version_dir, &summary)?;
    Ok(summary)
}

/// After a promote: the release summary, when the project's record can be read (promote also
/// runs outside a project, at a dir: destination, where there is none to write).
fn after_promote(
    dir: &Path,
    urls: &[String],
    version: &semver::Version,
    loaded: Option<relman_engine::plan::Planned>,
    quiet: bool,
) {
    // The record promote already read (and said where from), else read now.
    let record = match loaded {
        Some(r) => r,
        None => match released(dir, version, Some(urls)) {
            Ok(r) => r,
            Err(_) => return,
        },
    };
    let key = record.settings.public_key.as_ref().and_then(|k| relman_sign::PublicKey::from_file(k).ok());
    match write_summary(&record, urls, version, key.as_ref()) {
        Ok(s) if !quiet => {
            eprintln!("summary: {}", record.version_dir.join(relman_engine::summary::SUMMARY_MARKDOWN).display());
            if !s.ok {
                eprintln!("warning: the summary found problems: run `relman summary {version}`");
            }
        }
        Ok(_) => {}
        Err(e) if !quiet => eprintln!("warning: no release summary: {}", e.message),
        Err(_) => {}
    }
}

/// A directory under the system's temp dir for files fetched from a forge, removed on drop.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new(what: &str) -> Result<ScratchDir, Failure> {
        let dir = std::env::temp_dir().join(format!(".relman-tmp-forge-{what}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| Failure::io("create", &dir, e))?;
        Ok(ScratchDir(dir))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The identity policy of `--certificate-identity*`, `--certificate-oidc-issuer*` and
/// `--trusted-root`; `None` when none is given. Both halves and the root are needed.
pub fn identity_policy(
    args: &crate::cli::IdentityArgs,
    cwd: &std::path::Path,
) -> Result<Option<relman_sign::keyless::IdentityPolicy>, Failure> {
    use relman_sign::keyless::{IdentityPolicy, Matcher, TrustedRoot};
    if !args.given() {
        return Ok(None);
    }
    let identity = match (&args.certificate_identity, &args.certificate_identity_regexp) {
        (Some(i), _) => Matcher::Exact(i.clone()),
        (None, Some(r)) => Matcher::regex(r, "--certificate-identity-regexp")?,
        (None, None) => {
            return Err(Failure::usage("verifying by identity needs --certificate-identity or --certificate-identity-regexp")
                .with_hint("the release notes name the signer, e.g. https://github.com/ORG/REPO/.github/workflows/release.yml@refs/tags/v1.2.3"))
        }
    };
    let issuer = match (&args.certificate_oidc_issuer, &args.certificate_oidc_issuer_regexp) {
        (Some(i), _) => Matcher::Exact(i.clone()),
        (None, Some(r)) => Matcher::regex(r, "--certificate-oidc-issuer-regexp")?,
        (None, None) => {
            return Err(Failure::usage(
                "verifying by identity needs --certificate-oidc-issuer or --certificate-oidc-issuer-regexp",
            )
            .with_hint("GitHub Actions: https://token.actions.githubusercontent.com; GitLab: https://gitlab.com"))
        }
    };
    let Some(root_path) = &args.trusted_root else {
        return Err(Failure::usage("verifying by identity needs --trusted-root FILE (Sigstore's trusted_root.json)")
            .with_hint("the public-good root is `trusted_root.json` of github.com/sigstore/root-signing; a private Sigstore publishes its own"));
    };
    let path = cwd.join(root_path);
    let text = std::fs::read_to_string(&path).map_err(|e| Failure::io("read", &path, e))?;
    let root = TrustedRoot::parse(&text, &path.display().to_string())?;
    Ok(Some(IdentityPolicy { identity, issuer, root }))
}
