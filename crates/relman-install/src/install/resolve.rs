//! From what the user typed (`--from`, `--version`, `--target`, `--sha256`) to one archive to
//! fetch and the digest it must have.
//!
//! `from` may be an archive, an `index.json`, a version directory (holding `index.json`) or a
//! release root (holding `channels.json`, or version directories when `--version` is given),
//! local or over HTTP. The result is a [`Plan`]: nothing has been downloaded or written yet.
//!
//! Invariants: every name that becomes a path at the prefix (program name, binary names) is a
//! plain file name; paths read from documents are relative and stay inside the release; an
//! archive always comes with an expected digest, or the install stops here.

use relman_manifest::{ArchiveFormat, Channels, Failure, Index, Sha256};

use super::receipt::check_program_name;
use super::receipt::now_rfc3339;
use super::run::InstallOptions;
use crate::checksums::{self, check_file_name};
use crate::hash::sha256_bytes;
use crate::platform::{compatible, host_target};
use crate::source::{self, Location};
use crate::verify::{
    check_relative, parse_channels, parse_index, read_channels, Freshness, TrustedChannels, CHANNELS_FILE,
    DOCUMENT_LIMIT, INDEX_FILE,
};

/// Everything decided before the download.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    pub name: String,
    pub version: String,
    pub target: String,
    pub archive: Location,
    /// The archive's file name, for messages.
    pub archive_name: String,
    pub format: ArchiveFormat,
    pub expected: Sha256,
    pub expected_size: Option<u64>,
    /// Which document gave the digest: `index.json`, `checksums.txt` or `--sha256`.
    pub digest_from: &'static str,
    /// Binaries to install by file name; `None` means every executable file in the archive.
    pub binaries: Option<Vec<String>>,
    /// The release root, when known.
    pub root: Option<Location>,
    /// The directory of the `index.json` the plan comes from: where a later upgrade looks for
    /// a newer index when there is no release root (a forge's `releases/latest/download/`).
    pub index_dir: Option<Location>,
    /// Whether a missing archive means a broken release (listed in an index) or a bad argument.
    pub listed: bool,
    /// The `index.json` the plan comes from and the sha256 of its bytes as read (its
    /// signature is checked against that); `None` for a bare archive.
    pub index: Option<(Location, Sha256)>,
    /// The serial of the signed channels the plan went through (kept in the receipt).
    pub channels_serial: Option<u64>,
    /// What the user should hear about the channels (unsigned, expired).
    pub warnings: Vec<String>,
}

/// `v1.2.0` → `1.2.0`; other strings unchanged.
pub(crate) fn normalize_version(v: &str) -> &str {
    match v.strip_prefix(['v', 'V']) {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => rest,
        _ => v,
    }
}

pub(crate) fn resolve(opts: &InstallOptions) -> Result<Plan, Failure> {
    if opts.from.trim().is_empty() {
        return Err(Failure::usage("nothing to install from: `--from` is empty"));
    }
    let loc = Location::parse(&opts.from);
    let file_name = loc.file_name().unwrap_or_default();
    if let Some(format) = ArchiveFormat::from_file_name(&file_name) {
        return plan_bare_archive(&loc, &file_name, format, opts);
    }
    if file_name == CHANNELS_FILE {
        let root = loc.parent().ok_or_else(|| Failure::usage(format!("`{loc}` has no parent directory")))?;
        let trusted =
            trusted_channels(&root, opts.key.as_deref(), opts.identity.as_ref(), opts.require_fresh, &opts.prefix)?
                .ok_or_else(|| Failure::usage(format!("`{loc}` does not exist")))?;
        return plan_through(&root, trusted, opts);
    }
    if file_name.ends_with(".json") {
        let bytes = source::read_bytes(&loc, DOCUMENT_LIMIT)?;
        let root = guess_root(&loc)?;
        return plan_from_index(&loc, &bytes, root, opts);
    }

    if let Some(trusted) =
        trusted_channels(&loc, opts.key.as_deref(), opts.identity.as_ref(), opts.require_fresh, &opts.prefix)?
    {
        return plan_through(&loc, trusted, opts);
    }
    if let Some(version) = &opts.version {
        // A root that has not been promoted yet: version directories but no channels.json.
        for dir in version_dirs(version) {
            let index_loc = loc.join(&dir).join(INDEX_FILE);
            if let Some(bytes) = source::read_optional(&index_loc, DOCUMENT_LIMIT)? {
                return plan_from_index(&index_loc, &bytes, Some(loc.clone()), opts);
            }
        }
    }
    let index_loc = loc.join(INDEX_FILE);
    if let Some(bytes) = source::read_optional(&index_loc, DOCUMENT_LIMIT)? {
        let root = guess_root(&index_loc)?;
        return plan_from_index(&index_loc, &bytes, root, opts);
    }
    if let Location::Path(p) = &loc {
        if !p.exists() {
            return Err(Failure::usage(format!("`{}` does not exist", p.display())));
        }
        // A release root whose versions are published but none promoted yet.
        let mut versions: Vec<String> = std::fs::read_dir(p)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().join(INDEX_FILE).is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        versions.sort();
        if let Some(newest) = versions.last() {
            return Err(Failure::usage(format!(
                "`{loc}` has no `{CHANNELS_FILE}`: no version is promoted there yet (published: {})",
                versions.join(", ")
            ))
            .with_hint(format!("pass --version {newest} to install a published version, or promote one first")));
        }
    }
    Err(Failure::usage(format!(
        "`{loc}` is not a release: no archive name, no `{CHANNELS_FILE}` and no `{INDEX_FILE}`"
    ))
    .with_hint(
        "pass a release root, a version directory, an `index.json`, or an archive (`.tar.gz`, `.tar.zst`, `.zip`)",
    ))
}

/// The channels of `root` as an install of it may trust them
/// ([`crate::verify::read_channels`]): checked with the key or identity in force for the
/// program — given, or pinned in its receipt at `prefix` — against the highest serial that
/// receipt saw. `Ok(None)`: no channels there.
pub(crate) fn trusted_channels(
    root: &Location,
    key: Option<&std::path::Path>,
    identity: Option<&relman_sign::keyless::IdentityPolicy>,
    require_fresh: bool,
    prefix: &std::path::Path,
) -> Result<Option<TrustedChannels>, Failure> {
    let plain_loc = root.join(CHANNELS_FILE);
    let Some(bytes) = source::read_optional(&plain_loc, DOCUMENT_LIMIT)? else {
        // A root whose only channels are signed is read below as well.
        if !source::exists(&root.join(relman_manifest::CHANNELS_SIGNED_FILE))? {
            return Ok(None);
        }
        return read_channels(root, &Freshness { trust: None, require_fresh, seen_serial: None, now: now_rfc3339() });
    };
    // The program's name, only to find its receipt (what is trusted is checked below).
    let name = parse_channels(&plain_loc, &bytes)?.name;
    let layout = super::receipt::Layout::new(prefix)?;
    let receipt = if check_program_name(&name).is_ok() { layout.read_receipt(&name)? } else { None };
    let trust =
        super::signature::Trust::new(key, identity, false, receipt.as_ref(), &layout.receipt_path(&name), &name)?;
    let f = Freshness {
        trust: trust.in_force(),
        require_fresh,
        seen_serial: receipt.and_then(|r| r.channels_serial),
        now: now_rfc3339(),
    };
    read_channels(root, &f)
}

/// A plan through a root's trusted channels; the index the stable channel names must be of
/// that version (a mixed-up or tampered root is refused).
fn plan_through(root: &Location, trusted: TrustedChannels, opts: &InstallOptions) -> Result<Plan, Failure> {
    let serial = if trusted.signed { trusted.channels.serial } else { None };
    let stable = trusted.channels.stable.clone();
    let mut plan = plan_from_root(root, trusted.channels, opts)?;
    if let (None, Some(stable)) = (&opts.version, &stable) {
        if normalize_version(&plan.version) != normalize_version(&stable.version) {
            return Err(Failure::verify(format!(
                "`{}` names {} as stable, but the index it points at is version {}; nothing was installed",
                root.join(CHANNELS_FILE),
                stable.version,
                plan.version
            ))
            .with_hint("the release root is inconsistent or was tampered with; report it to the publisher"));
        }
    }
    plan.channels_serial = serial;
    plan.warnings = trusted.warnings;
    Ok(plan)
}

/// Directory names a version may live under: `1.2.0`, then `v1.2.0`.
fn version_dirs(version: &str) -> Vec<String> {
    let bare = normalize_version(version);
    let mut dirs = vec![bare.to_string(), format!("v{bare}")];
    dirs.dedup();
    dirs
}

/// The root above a version's `index.json`, if it has a `channels.json`.
fn guess_root(index_loc: &Location) -> Result<Option<Location>, Failure> {
    let Some(root) = index_loc.parent().and_then(|dir| dir.parent()) else {
        return Ok(None);
    };
    Ok(source::exists(&root.join(CHANNELS_FILE))?.then_some(root))
}

fn plan_from_root(root: &Location, channels: Channels, opts: &InstallOptions) -> Result<Plan, Failure> {
    let channels_loc = root.join(CHANNELS_FILE);
    let index_rel = match (&opts.version, &channels.stable) {
        (None, Some(stable)) => stable.index.clone(),
        (None, None) => {
            return Err(Failure::install(format!("`{channels_loc}` has no stable release yet"))
                .with_hint("pass `--version` to install a published version that was not promoted"))
        }
        (Some(v), Some(stable)) if normalize_version(v) == normalize_version(&stable.version) => stable.index.clone(),
        (Some(v), stable) => {
            let mut found = None;
            for dir in version_dirs(v) {
                let candidate = format!("{dir}/{INDEX_FILE}");
                if source::exists(&root.join(&candidate))? {
                    found = Some(candidate);
                    break;
                }
            }
            found.ok_or_else(|| {
                let failure = Failure::install(format!(
                    "no version `{}` at `{root}`: `{}` does not exist",
                    normalize_version(v),
                    root.join(&format!("{}/{INDEX_FILE}", normalize_version(v)))
                ));
                match stable {
                    Some(s) => failure.with_hint(format!("the stable version is `{}`", s.version)),
                    None => failure,
                }
            })?
        }
    };
    check_relative(&index_rel).map_err(|why| Failure::verify(format!("`{channels_loc}`: index {why}")))?;
    let index_loc = root.join(&index_rel);
    let bytes = source::read_optional(&index_loc, DOCUMENT_LIMIT)?.ok_or_else(|| {
        Failure::verify(format!("`{index_loc}` is missing")).with_hint(format!("`{channels_loc}` points at it"))
    })?;
    plan_from_index(&index_loc, &bytes, Some(root.clone()), opts)
}

fn plan_from_index(
    index_loc: &Location,
    bytes: &[u8],
    root: Option<Location>,
    opts: &InstallOptions,
) -> Result<Plan, Failure> {
    let index: Index = parse_index(index_loc, bytes)?;
    check_program_name(&index.name).map_err(|why| Failure::verify(format!("`{index_loc}`: {why}")))?;
    if let Some(wanted) = &opts.version {
        if root.is_some() && normalize_version(wanted) != normalize_version(&index.version) {
            // Found through the release root: the root's own files disagree.
            return Err(Failure::verify(format!(
                "`{index_loc}` is version `{}`, where `{}` was expected; nothing was installed",
                index.version,
                normalize_version(wanted)
            ))
            .with_hint("the release root is inconsistent or was tampered with; report it to the publisher"));
        }
        if normalize_version(wanted) != normalize_version(&index.version) {
            return Err(Failure::usage(format!(
                "`{index_loc}` is version `{}`, not `{}`",
                index.version,
                normalize_version(wanted)
            ))
            .with_hint("pass the release root to pick a version with `--version`"));
        }
    }
    let target = opts.target.clone().unwrap_or_else(host_target);
    let platform = index.platform_for(&target).ok_or_else(|| {
        let available: Vec<String> = index.platforms.iter().map(|p| format!("`{}`", p.target)).collect();
        let available = if available.is_empty() { "none".to_string() } else { available.join(", ") };
        Failure::install(format!(
            "no build of `{}` {} for `{target}`; the index has: {available}",
            index.name, index.version
        ))
        .with_hint("pass `--target <triple>` to install one of those anyway")
    })?;
    check_relative(&platform.file).map_err(|why| Failure::verify(format!("`{index_loc}`: archive {why}")))?;
    for binary in &platform.binaries {
        check_file_name(binary).map_err(|why| Failure::verify(format!("`{index_loc}`: binary {why}")))?;
    }
    if let Some(pinned) = &opts.sha256 {
        if *pinned != platform.sha256 {
            return Err(Failure::verify(format!(
                "`{}`: sha256 mismatch (`--sha256` says {pinned}, {INDEX_FILE} says {})",
                platform.file, platform.sha256
            )));
        }
    }
    let dir = index_loc.parent().ok_or_else(|| Failure::usage(format!("`{index_loc}` has no parent directory")))?;
    Ok(Plan {
        name: index.name.clone(),
        version: index.version.clone(),
        target: platform.target.clone(),
        archive: dir.join(&platform.file),
        archive_name: platform.file.rsplit('/').next().unwrap_or(&platform.file).to_string(),
        format: platform.format,
        expected: platform.sha256.clone(),
        expected_size: Some(platform.size),
        digest_from: INDEX_FILE,
        binaries: (!platform.binaries.is_empty()).then(|| platform.binaries.clone()),
        root,
        index_dir: Some(dir.clone()),
        listed: true,
        index: Some((index_loc.clone(), sha256_bytes(bytes))),
        channels_serial: None,
        warnings: Vec::new(),
    })
}

fn plan_bare_archive(
    loc: &Location,
    file_name: &str,
    format: ArchiveFormat,
    opts: &InstallOptions,
) -> Result<Plan, Failure> {
    let parsed = parse_archive_name(file_name);
    check_program_name(&parsed.name).map_err(|why| Failure::usage(format!("`{loc}`: {why}")))?;
    let (expected, digest_from) = match &opts.sha256 {
        Some(pinned) => (pinned.clone(), "--sha256"),
        None => (digest_from_checksums(loc, file_name)?, checksums::FILE_NAME),
    };
    let version = match (&parsed.version, &opts.version) {
        (Some(found), Some(wanted)) if normalize_version(wanted) != found => {
            return Err(Failure::usage(format!(
                "`{file_name}` is version `{found}`, not `{}`",
                normalize_version(wanted)
            )))
        }
        (Some(found), _) => found.clone(),
        (None, Some(wanted)) => normalize_version(wanted).to_string(),
        (None, None) => "unknown".to_string(),
    };
    let host = host_target();
    let target = match (&opts.target, parsed.target) {
        (Some(t), _) => t.clone(),
        (None, Some(built_for)) if !compatible(&built_for, &host) => {
            return Err(Failure::install(format!(
                "`{file_name}` is built for `{built_for}`, not for this machine (`{host}`)"
            ))
            .with_hint(format!("pass `--target {built_for}` to install it anyway")))
        }
        (None, Some(built_for)) => built_for,
        (None, None) => host,
    };
    Ok(Plan {
        name: parsed.name,
        version,
        target,
        archive: loc.clone(),
        archive_name: file_name.to_string(),
        format,
        expected,
        expected_size: None,
        digest_from,
        binaries: None,
        root: None,
        index_dir: None,
        listed: false,
        index: None,
        channels_serial: None,
        warnings: Vec::new(),
    })
}

fn digest_from_checksums(loc: &Location, file_name: &str) -> Result<Sha256, Failure> {
    let no_digest = |why: String| {
        Failure::verify(format!("no digest for `{file_name}`: {why}"))
            .with_hint("pass `--sha256 <hex>` with the digest the publisher announced")
    };
    let checksums_loc = loc
        .parent()
        .map(|dir| dir.join(checksums::FILE_NAME))
        .ok_or_else(|| no_digest("it has no directory to hold `checksums.txt`".to_string()))?;
    let bytes = source::read_optional(&checksums_loc, DOCUMENT_LIMIT)?
        .ok_or_else(|| no_digest(format!("no `--sha256` and no `{checksums_loc}`")))?;
    let entries = std::str::from_utf8(&bytes)
        .map_err(|e| e.to_string())
        .and_then(checksums::parse)
        .map_err(|e| Failure::verify(format!("`{checksums_loc}` is not valid: {e}")))?;
    checksums::lookup(&entries, file_name)
        .cloned()
        .ok_or_else(|| no_digest(format!("`{checksums_loc}` does not list it")))
}

/// What an archive's file name says: `<name>-<version>[-<target>].<ext>`.
#[derive(Debug, PartialEq)]
pub(crate) struct ArchiveName {
    pub name: String,
    pub version: Option<String>,
    pub target: Option<String>,
}

const ARCHES: [&str; 24] = [
    "x86_64",
    "aarch64",
    "i686",
    "i586",
    "i386",
    "arm",
    "armv5te",
    "armv6",
    "armv7",
    "armv7l",
    "thumbv7neon",
    "riscv64gc",
    "riscv64",
    "powerpc",
    "powerpc64",
    "powerpc64le",
    "s390x",
    "loongarch64",
    "sparc64",
    "mips",
    "mips64",
    "wasm32",
    "universal",
    "universal2",
];

pub(crate) fn parse_archive_name(file_name: &str) -> ArchiveName {
    let stem = [".tar.gz", ".tgz", ".tar.zst", ".tzst", ".zip"]
        .iter()
        .find_map(|ext| file_name.strip_suffix(ext))
        .unwrap_or(file_name);
    let parts: Vec<&str> = stem.split('-').collect();
    for i in 1..parts.len() {
        if !normalize_version(parts[i]).starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        // The shortest version followed by nothing or by an architecture; else the shortest.
        let mut first_valid = None;
        let mut chosen = None;
        for j in i + 1..=parts.len() {
            let candidate = parts[i..j].join("-");
            if semver::Version::parse(normalize_version(&candidate)).is_err() {
                continue;
            }
            first_valid.get_or_insert(j);
            if j == parts.len() || ARCHES.contains(&parts[j]) {
                chosen = Some(j);
                break;
            }
        }
        let Some(j) = chosen.or(first_valid) else {
            continue;
        };
        let target = parts[j..].join("-");
        let target = (parts.get(j).is_some_and(|arch| ARCHES.contains(arch))).then_some(target);
        return ArchiveName {
            name: parts[..i].join("-"),
            version: Some(normalize_version(&parts[i..j].join("-")).to_string()),
            target,
        };
    }
    ArchiveName { name: stem.to_string(), version: None, target: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(n: &str, v: Option<&str>, t: Option<&str>) -> ArchiveName {
        ArchiveName { name: n.into(), version: v.map(Into::into), target: t.map(Into::into) }
    }

    #[test]
    fn archive_names() {
        assert_eq!(
            parse_archive_name("app-1.2.0-x86_64-unknown-linux-gnu.tar.gz"),
            name("app", Some("1.2.0"), Some("x86_64-unknown-linux-gnu"))
        );
        assert_eq!(
            parse_archive_name("my-tool-v2.0.0-rc.1-aarch64-apple-darwin.zip"),
            name("my-tool", Some("2.0.0-rc.1"), Some("aarch64-apple-darwin"))
        );
        assert_eq!(parse_archive_name("app-1.2.0.tar.zst"), name("app", Some("1.2.0"), None));
        // Ambiguous: `linux` is not an architecture, so it reads as a pre-release tag.
        assert_eq!(parse_archive_name("app-1.2.0-linux.tar.gz"), name("app", Some("1.2.0-linux"), None));
        assert_eq!(parse_archive_name("app-1.2.0-rc.1.tar.gz"), name("app", Some("1.2.0-rc.1"), None));
        assert_eq!(parse_archive_name("tool.zip"), name("tool", None, None));
        assert_eq!(parse_archive_name("app-2fa-1.0.0.tgz"), name("app-2fa", Some("1.0.0"), None));
    }

    #[test]
    fn versions_normalize() {
        assert_eq!(normalize_version("v1.2.0"), "1.2.0");
        assert_eq!(normalize_version("1.2.0"), "1.2.0");
        assert_eq!(normalize_version("vnext"), "vnext");
        assert_eq!(version_dirs("v1.0.0"), vec!["1.0.0".to_string(), "v1.0.0".to_string()]);
    }
}
