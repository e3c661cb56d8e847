//! Verifying a published release: re-hash every file, cross-check the documents, and check
//! signatures, provenance and SBOMs.
//!
//! Inputs: a release root (with `channels.json`: its stable version is checked) or a version
//! directory (with `index.json`), local or over HTTP, and [`VerifyOptions`] (a public key,
//! whether signatures are required, where to write the report files). Outputs: a
//! [`VerifyReport`] listing every file with what was expected and found, every artifact with a
//! verdict (`pass`, `fail`, `unchecked`) and its reason, and one line per problem.
//!
//! What is checked:
//! * `checksums.txt`, `index.json` and `manifest.json` are present and parse; a missing,
//!   truncated or corrupt one is a Verify failure naming the file (nothing else can be trusted).
//! * every file listed in `checksums.txt` is re-hashed: local files in parallel from disk,
//!   URLs streamed through the hasher without a temporary file; SBOMs and provenance are read
//!   whole (they are parsed too) and hashed from those bytes: every file is read once;
//! * every `index.json` platform is in `checksums.txt` with the same digest and its size
//!   matches the file; every manifest archive likewise; the manifest's `checksums` and `index`
//!   artifacts match the bytes of `checksums.txt` and `index.json`; the index, manifest (and
//!   channel) agree on name and version;
//! * every other manifest artifact (SBOMs, provenance, signatures, bundles, notes) exists with
//!   the sha256 and size the manifest recorded;
//! * SBOMs are non-empty and every archive has one of each format the manifest lists
//!   (module `content`); provenance subjects are exactly the archives with their digests;
//! * with a key, every signature and bundle verifies against the digest of its subject's bytes
//!   as hashed here, and every provenance envelope verifies (module `signatures`); every
//!   archive, `checksums.txt`, `index.json` and `manifest.json` must be signed (a stripped
//!   signature is a problem, so is an edited manifest); without a key, signatures are
//!   reported "not checked (no key)"; `require_signatures` demands a bundle for each;
//! * a local version directory holds nothing else (signatures, attestations, SBOMs and release
//!   notes that later stages add are allowed).
//!
//! A report with problems is still `Ok`: callers render it and choose the exit code with
//! [`VerifyReport::is_ok`]. With [`VerifyOptions::report_dir`] the report is also written as
//! `remote-verify.json` and `remote-verify.md` ([`write_files`]). [`verify_dir_against_checksums`]
//! is the strict variant the engine's `promote` uses on a local directory.

mod content;
mod report;
mod signatures;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use relman_manifest::{Artifact, ArtifactKind, Channels, ErrorClass, Failure, Index, Manifest, Sha256};

pub use report::{
    kind_name, write_files, ArtifactCheck, ArtifactStatus, FileCheck, FileStatus, VerifyReport, REPORT_JSON,
    REPORT_MARKDOWN,
};

use crate::checksums::{self, check_file_name};
use crate::hash::{sha256_bytes, sha256_files};
use crate::source::{self, Location};
use report::Findings;
use signatures::{is_signature_file, BUNDLE_SUFFIX, LEGACY_SUFFIX};

/// Largest `index.json` / `manifest.json` / `checksums.txt` / `channels.json` read, and the
/// largest signature, bundle, SBOM or provenance file read into memory.
pub const DOCUMENT_LIMIT: u64 = 16 << 20;

/// Name suffixes of files that later stages publish beside the archives.
const ALLOWED_EXTRA_SUFFIXES: [&str; 5] = [".sig", ".sigstore.json", ".intoto.jsonl", ".spdx.json", ".cdx.json"];
const ALLOWED_EXTRA_NAMES: [&str; 1] = ["release-notes.md"];

pub const INDEX_FILE: &str = "index.json";
pub const MANIFEST_FILE: &str = "manifest.json";
pub const CHANNELS_FILE: &str = "channels.json";

/// How to verify: the public key to check signatures with, whether they are required, and
/// where to write the report files.
#[derive(Clone, Debug, Default)]
pub struct VerifyOptions {
    /// Signatures, bundles and provenance are checked with this key; without one they are
    /// reported "not checked (no key)".
    pub key: Option<relman_sign::PublicKey>,
    /// Keyless: who must have signed, and the trusted root (instead of `key`).
    pub identity: Option<relman_sign::keyless::IdentityPolicy>,
    /// Every archive, `checksums.txt` and `index.json` must have a bundle that verifies.
    /// Needs `key` (a usage failure otherwise).
    pub require_signatures: bool,
    /// When set, `remote-verify.json` and `remote-verify.md` are written there (created if
    /// needed), atomically.
    pub report_dir: Option<PathBuf>,
    /// What the report names as the release's location instead of `loc`, when `loc` is a local
    /// copy fetched from elsewhere (a forge release page: `github:acme/tool@v1.2.3`).
    pub label: Option<String>,
}

impl VerifyOptions {
    /// What signatures are checked against, when anything.
    pub fn trust(&self) -> Option<relman_sign::keyless::Trust<'_>> {
        use relman_sign::keyless::Trust;
        self.key.as_ref().map(Trust::Key).or(self.identity.as_ref().map(Trust::Identity))
    }
}

fn is_allowed_extra(name: &str) -> bool {
    ALLOWED_EXTRA_NAMES.contains(&name) || ALLOWED_EXTRA_SUFFIXES.iter().any(|s| name.ends_with(s))
}

/// A relative path from a document (`1.2.0/index.json`): no scheme, not absolute, no `..`.
pub(crate) fn check_relative(rel: &str) -> Result<(), String> {
    if rel.is_empty()
        || rel.contains("://")
        || rel.starts_with(['/', '\\'])
        || rel.split(['/', '\\']).any(|p| p == "..")
        || rel.chars().any(char::is_control)
    {
        return Err(format!("`{}` is not a relative path inside the release", rel.escape_debug()));
    }
    Ok(())
}

/// The version directory to verify, and the version `channels.json` says it is (if used).
fn locate_version(loc: &Location) -> Result<(Location, Option<String>), Failure> {
    if loc.file_name().as_deref() == Some(INDEX_FILE) {
        let dir = loc.parent().ok_or_else(|| Failure::usage(format!("`{loc}` has no parent directory")))?;
        return Ok((dir, None));
    }
    if source::exists(&loc.join(INDEX_FILE))? {
        return Ok((loc.clone(), None));
    }
    let channels_loc = loc.join(CHANNELS_FILE);
    if let Some(bytes) = source::read_optional(&channels_loc, DOCUMENT_LIMIT)? {
        let channels = parse_channels(&channels_loc, &bytes)?;
        let stable = channels.stable.ok_or_else(|| {
            Failure::verify(format!("`{channels_loc}` has no stable release to verify"))
                .with_hint(format!("pass a version directory such as `{}`", loc.join("<version>")))
        })?;
        check_relative(&stable.index)
            .map_err(|why| Failure::verify(format!("`{channels_loc}`: stable index {why}")))?;
        let dir = loc
            .join(&stable.index)
            .parent()
            .ok_or_else(|| Failure::verify(format!("`{channels_loc}`: stable index has no directory")))?;
        return Ok((dir, Some(stable.version)));
    }
    for other in [checksums::FILE_NAME, MANIFEST_FILE] {
        if source::exists(&loc.join(other))? {
            let hint = format!("`{loc}` looks like a version directory (it has `{other}`)");
            return Err(Failure::verify(format!("`{}` is missing", loc.join(INDEX_FILE))).with_hint(hint));
        }
    }
    if let Location::Path(p) = loc {
        if !p.exists() {
            return Err(Failure::usage(format!("`{}` does not exist", p.display())));
        }
    }
    Err(Failure::usage(format!("`{loc}` is not a release: it has neither `{CHANNELS_FILE}` nor `{INDEX_FILE}`"))
        .with_hint("pass a release root (holding `channels.json`, written by promote) or a version directory such as `<root>/1.2.0`"))
}

/// The version directories of a local release root that has no stable version (no
/// `channels.json`, or one without `stable`: nothing promoted yet, or the stable one yanked):
/// each subdirectory holding an `index.json`, oldest first. `None` for anything else (a
/// version directory, a root with a stable version, a URL: those verify as one).
pub fn unpromoted_versions(loc: &Location) -> Result<Option<Vec<Location>>, Failure> {
    let Location::Path(root) = loc else { return Ok(None) };
    if !root.is_dir() || root.join(INDEX_FILE).exists() {
        return Ok(None);
    }
    let channels_loc = loc.join(CHANNELS_FILE);
    if let Some(bytes) = source::read_optional(&channels_loc, DOCUMENT_LIMIT)? {
        if parse_channels(&channels_loc, &bytes)?.stable.is_some() {
            return Ok(None);
        }
    }
    let mut versions: Vec<(semver::Version, PathBuf)> = Vec::new();
    for e in fs::read_dir(root).map_err(|e| Failure::io("read", root, e))?.flatten() {
        let path = e.path();
        let Some(v) = e.file_name().to_str().and_then(|n| semver::Version::parse(n).ok()) else { continue };
        if path.join(INDEX_FILE).is_file() {
            versions.push((v, path));
        }
    }
    if versions.is_empty() {
        return Ok(None);
    }
    versions.sort();
    Ok(Some(versions.into_iter().map(|(_, p)| Location::Path(p)).collect()))
}

pub(crate) fn parse_channels(loc: &Location, bytes: &[u8]) -> Result<Channels, Failure> {
    let text = std::str::from_utf8(bytes).map_err(|e| Failure::verify(format!("`{loc}` is not valid UTF-8: {e}")))?;
    Channels::from_json(text).map_err(|e| Failure::verify(format!("`{loc}` is not a valid channels file: {e}")))
}

/// What a client trusts of a release root's channels (see [`read_channels`]).
#[derive(Clone, Debug)]
pub struct TrustedChannels {
    pub channels: Channels,
    /// Read from the signed form, whose signature verified.
    pub signed: bool,
    /// What the client should hear: unsigned, or expired.
    pub warnings: Vec<String>,
}

/// How [`read_channels`] judges a root's channels.
pub struct Freshness<'a> {
    /// Who must have signed them (a key or an identity); `None`: nothing to check against.
    pub trust: Option<relman_sign::keyless::Trust<'a>>,
    /// Refuse channels that are unsigned or past their expiry instead of warning.
    pub require_fresh: bool,
    /// The highest serial this client has seen for the program (its receipt): a lower one is
    /// a rollback, refused.
    pub seen_serial: Option<u64>,
    /// Now, RFC 3339 UTC.
    pub now: String,
}

/// `root`'s channels as a client may trust them. With a key or identity, the signed form
/// (`channels.sigstore.json`: a DSSE bundle whose payload is the channels document) must
/// verify, and its document is what counts; when there is none, the plain `channels.json`
/// is used with a warning (refused with `require_fresh`). A document past its `expires`
/// warns (refused with `require_fresh`); a `serial` below `seen_serial` is refused. Threats
/// (see ARCHITECTURE.md, "Channels a client can trust"): a rollback to an older signed
/// document (serial), a mirror frozen on one (expiry), a forged or mixed document (the
/// signature covers the whole document; the index it names is checked against its version
/// by the caller). `Ok(None)`: the root has no channels.
pub fn read_channels(root: &Location, f: &Freshness<'_>) -> Result<Option<TrustedChannels>, Failure> {
    let plain_loc = root.join(CHANNELS_FILE);
    let signed_loc = root.join(relman_manifest::CHANNELS_SIGNED_FILE);
    let mut warnings = Vec::new();
    let signed_bytes = match &f.trust {
        Some(_) => source::read_optional(&signed_loc, DOCUMENT_LIMIT)?,
        None => None,
    };
    let (channels, signed) = match (signed_bytes, &f.trust) {
        (Some(bytes), Some(trust)) => {
            let text = std::str::from_utf8(&bytes)
                .map_err(|e| Failure::verify(format!("`{signed_loc}` is not valid UTF-8: {e}")))?;
            let bundle = relman_sign::Bundle::parse(text, &signed_loc.to_string())?;
            let (verified, _) = trust.verify_dsse_bundle(&bundle, &signed_loc.to_string()).map_err(|e| {
                Failure::verify(format!("`{signed_loc}` is not signed by the release's signer: {}", e.message))
                    .with_hint("do not install from this location: its channels were altered or signed by someone else")
            })?;
            if verified.payload_type != relman_manifest::CHANNELS_PAYLOAD_TYPE {
                return Err(Failure::verify(format!(
                    "`{signed_loc}` signs a `{}`, not a channels document",
                    verified.payload_type
                )));
            }
            (parse_channels(&signed_loc, &verified.payload)?, true)
        }
        _ => {
            let Some(bytes) = source::read_optional(&plain_loc, DOCUMENT_LIMIT)? else { return Ok(None) };
            let channels = parse_channels(&plain_loc, &bytes)?;
            if f.trust.is_some() {
                let why = format!(
                    "`{plain_loc}` is not signed (no `{}`): that it is current cannot be checked",
                    relman_manifest::CHANNELS_SIGNED_FILE
                );
                if f.require_fresh {
                    return Err(Failure::verify(why).with_hint(
                        "the publisher promotes without the signing key; drop --require-fresh to accept it, or pass --version",
                    ));
                }
                warnings.push(why);
            }
            (channels, false)
        }
    };
    if let (Some(seen), serial) = (f.seen_serial, channels.serial) {
        if serial.is_none_or(|s| s < seen) {
            return Err(Failure::verify(format!(
                "`{}` is serial {}, older than serial {seen} this machine has already seen: a rollback",
                if signed { &signed_loc } else { &plain_loc },
                serial.map(|s| s.to_string()).unwrap_or_else(|| "none".into())
            ))
            .with_hint("the server went back to an older release list; do not install from it"));
        }
    }
    if signed {
        let expires = channels.expires.as_deref().unwrap_or("");
        let well_formed = expires.len() == 20 && expires.ends_with('Z') && expires.as_bytes()[10] == b'T';
        if !well_formed {
            return Err(Failure::verify(format!("`{signed_loc}` has no valid `expires` (RFC 3339 UTC)")));
        }
        if expires < f.now.as_str() {
            let why = format!("`{signed_loc}` expired at {expires}: the release list may be frozen on an old version");
            if f.require_fresh {
                return Err(Failure::verify(why)
                    .with_hint("the publisher has not promoted since; drop --require-fresh to accept it"));
            }
            warnings.push(why);
        }
    }
    Ok(Some(TrustedChannels { channels, signed, warnings }))
}

pub(crate) fn parse_index(loc: &Location, bytes: &[u8]) -> Result<Index, Failure> {
    let text = std::str::from_utf8(bytes).map_err(|e| Failure::verify(format!("`{loc}` is not valid UTF-8: {e}")))?;
    Index::from_json(text).map_err(|e| Failure::verify(format!("`{loc}` is not a valid index: {e}")))
}

fn required(loc: &Location) -> Result<Vec<u8>, Failure> {
    source::read_optional(loc, DOCUMENT_LIMIT)?.ok_or_else(|| {
        Failure::verify(format!("`{loc}` is missing"))
            .with_hint("every release version has `checksums.txt`, `index.json` and `manifest.json`")
    })
}

/// Verifies the release at `loc` (a version directory, or a release root's stable version)
/// without a key: digests and documents, SBOMs and provenance subjects; signatures are
/// reported "not checked (no key)".
pub fn verify_release(loc: &Location) -> Result<VerifyReport, Failure> {
    verify_release_with(loc, &VerifyOptions::default())
}

/// Verifies the release at `loc` as `opts` says; see the module notes for what is checked.
///
/// Problems (a changed file, a signature that does not verify, an unsigned file when
/// signatures are required, ...) are lines of the report. `Err` is for what stops the check:
/// a missing or corrupt `checksums.txt` / `index.json` / `manifest.json`, a network error,
/// `require_signatures` without a key, a report file that cannot be written.
pub fn verify_release_with(loc: &Location, opts: &VerifyOptions) -> Result<VerifyReport, Failure> {
    if opts.key.is_some() && opts.identity.is_some() {
        return Err(Failure::usage("give a key or an identity to verify with, not both"));
    }
    if opts.require_signatures && opts.trust().is_none() {
        return Err(Failure::usage("signatures are required, but no public key was given to check them with")
            .with_hint("pass the `PUBLIC KEY` file of the key pair that signed the release (`--key`)"));
    }
    let mut report = check_release(loc, opts)?;
    if let Some(label) = &opts.label {
        report.location = label.clone();
    }
    if let Some(dir) = &opts.report_dir {
        write_files(dir, &report)?;
    }
    Ok(report)
}

/// A file that was read: its digest and size, and its bytes when it was read whole.
struct Fetched {
    digest: Sha256,
    size: u64,
    bytes: Option<Vec<u8>>,
}

/// Everything read so far, by file name.
#[derive(Default)]
struct Seen {
    found: BTreeMap<String, Sha256>,
    sizes: BTreeMap<String, u64>,
    contents: BTreeMap<String, Vec<u8>>,
    missing: BTreeSet<String>,
}

impl Seen {
    fn record(&mut self, name: &str, got: Fetched) -> (Sha256, u64) {
        self.found.insert(name.to_string(), got.digest.clone());
        self.sizes.insert(name.to_string(), got.size);
        if let Some(bytes) = got.bytes {
            self.contents.insert(name.to_string(), bytes);
        }
        (got.digest, got.size)
    }
}

/// Files read whole (they are parsed): signatures, bundles, SBOMs, provenance.
fn wants_bytes(name: &str, manifest: &Manifest) -> bool {
    [LEGACY_SUFFIX, BUNDLE_SUFFIX, ".intoto.jsonl"].iter().any(|s| name.ends_with(s))
        || content::is_sbom_name(name)
        || manifest.artifact(name).is_some_and(|a| {
            matches!(
                a.kind,
                ArtifactKind::Sbom | ArtifactKind::Provenance | ArtifactKind::Signature | ArtifactKind::Bundle
            )
        })
}

fn check_release(loc: &Location, opts: &VerifyOptions) -> Result<VerifyReport, Failure> {
    let (dir, channel_version) = locate_version(loc)?;
    let mut f = Findings::default();

    let index_loc = dir.join(INDEX_FILE);
    let index_bytes = required(&index_loc)?;
    let index = parse_index(&index_loc, &index_bytes)?;

    let checksums_name = match check_file_name(&index.checksums) {
        Ok(()) => index.checksums.clone(),
        Err(why) => {
            f.fail(INDEX_FILE, format!("checksums {why}"));
            checksums::FILE_NAME.to_string()
        }
    };
    let checksums_loc = dir.join(&checksums_name);
    let checksums_bytes = required(&checksums_loc)?;
    let entries = std::str::from_utf8(&checksums_bytes)
        .map_err(|e| e.to_string())
        .and_then(checksums::parse)
        .map_err(|e| Failure::verify(format!("`{checksums_loc}` is not valid: {e}")))?;

    let manifest_loc = dir.join(MANIFEST_FILE);
    let manifest_bytes = required(&manifest_loc)?;
    let manifest = std::str::from_utf8(&manifest_bytes)
        .map_err(|e| e.to_string())
        .and_then(Manifest::from_json)
        .map_err(|e| Failure::verify(format!("`{manifest_loc}` is not a valid manifest: {e}")))?;
    for a in &manifest.artifacts {
        f.declare(&a.name, a.kind);
    }

    // Re-hash every listed file (read whole when it is parsed later).
    let mut seen = Seen::default();
    let fetched = fetch_listed(&dir, &entries, &|name| wants_bytes(name, &manifest))?;
    let mut files = Vec::new();
    for ((name, expected), result) in entries.iter().zip(fetched) {
        let check = match result {
            Some(got) => {
                let (digest, size) = seen.record(name, got);
                let status = if digest == *expected {
                    f.note(name, format!("sha256 matches {checksums_name}"));
                    FileStatus::Ok
                } else {
                    f.fail(
                        name,
                        format!(
                            "sha256 mismatch ({checksums_name} says {}…, file has {}…)",
                            expected.short(),
                            digest.short()
                        ),
                    );
                    FileStatus::Mismatch
                };
                FileCheck {
                    name: name.clone(),
                    status,
                    expected: Some(expected.clone()),
                    found: Some(digest),
                    size: Some(size),
                }
            }
            None => {
                seen.missing.insert(name.clone());
                f.fail(name, format!("listed in {checksums_name} but missing"));
                FileCheck {
                    name: name.clone(),
                    status: FileStatus::Missing,
                    expected: Some(expected.clone()),
                    found: None,
                    size: None,
                }
            }
        };
        files.push(check);
    }

    // index.json against checksums.txt and the files.
    for p in &index.platforms {
        match checksums::lookup(&entries, &p.file) {
            None => f.fail(&p.file, format!("in {INDEX_FILE} but not in {checksums_name}")),
            Some(listed) if *listed != p.sha256 => f.fail(
                &p.file,
                format!(
                    "sha256 mismatch ({INDEX_FILE} says {}…, {checksums_name} says {}…)",
                    p.sha256.short(),
                    listed.short()
                ),
            ),
            Some(_) => {}
        }
        size_check(&mut f, &mut files, &seen, &p.file, INDEX_FILE, p.size);
    }

    // manifest.json archives against checksums.txt and the files.
    for a in manifest.archives() {
        match (checksums::lookup(&entries, &a.name), &a.sha256) {
            (None, _) => f.fail(&a.name, format!("in {MANIFEST_FILE} but not in {checksums_name}")),
            (Some(_), None) => f.fail(&a.name, format!("{MANIFEST_FILE} records no sha256 for it")),
            (Some(listed), Some(recorded)) if listed != recorded => f.fail(
                &a.name,
                format!(
                    "sha256 mismatch ({MANIFEST_FILE} says {}…, {checksums_name} says {}…)",
                    recorded.short(),
                    listed.short()
                ),
            ),
            _ => {}
        }
        match a.size {
            Some(size) => size_check(&mut f, &mut files, &seen, &a.name, MANIFEST_FILE, size),
            None => f.fail(&a.name, format!("{MANIFEST_FILE} records no size for it")),
        }
    }

    // The documents themselves, as the manifest recorded them.
    for (kind, label, name, bytes) in [
        (ArtifactKind::Checksums, "checksums", checksums_name.as_str(), &checksums_bytes),
        (ArtifactKind::Index, "index", INDEX_FILE, &index_bytes),
    ] {
        let digest = sha256_bytes(bytes);
        let size = bytes.len() as u64;
        seen.found.insert(name.to_string(), digest.clone());
        seen.sizes.insert(name.to_string(), size);
        let recorded = manifest.artifacts.iter().find(|a| a.kind == kind);
        let mut status = FileStatus::Ok;
        match recorded {
            None => f.fail(MANIFEST_FILE, format!("no `{label}` artifact records {name}")),
            Some(a) => {
                if a.name != name {
                    f.fail(MANIFEST_FILE, format!("the `{label}` artifact is `{}`, not `{name}`", a.name));
                }
                status = against_manifest(&mut f, a, name, &digest, size);
            }
        }
        files.push(FileCheck {
            name: name.to_string(),
            status,
            expected: recorded.and_then(|a| a.sha256.clone()),
            found: Some(digest),
            size: Some(size),
        });
    }
    let manifest_digest = sha256_bytes(&manifest_bytes);
    seen.found.insert(MANIFEST_FILE.to_string(), manifest_digest.clone());
    f.note(MANIFEST_FILE, "a valid manifest");
    files.push(FileCheck {
        name: MANIFEST_FILE.to_string(),
        status: FileStatus::Ok,
        expected: None,
        found: Some(manifest_digest),
        size: Some(manifest_bytes.len() as u64),
    });

    // Names and versions agree.
    if index.version != manifest.version {
        f.fail(
            INDEX_FILE,
            format!("version `{}` does not match {MANIFEST_FILE}'s `{}`", index.version, manifest.version),
        );
    }
    if index.name != manifest.project.name {
        f.fail(
            INDEX_FILE,
            format!("name `{}` does not match {MANIFEST_FILE}'s `{}`", index.name, manifest.project.name),
        );
    }
    if let Some(channel) = channel_version.filter(|v| *v != index.version) {
        f.fail(CHANNELS_FILE, format!("stable is `{channel}` but its {INDEX_FILE} says `{}`", index.version));
    }

    // Every other manifest artifact: present, with the recorded digest and size.
    let listed: BTreeSet<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    for a in &manifest.artifacts {
        if matches!(a.kind, ArtifactKind::Archive | ArtifactKind::Checksums | ArtifactKind::Index)
            || !done.insert(a.name.as_str())
        {
            continue;
        }
        if let Err(why) = check_file_name(&a.name) {
            f.fail(MANIFEST_FILE, format!("artifact {why}"));
            continue;
        }
        if listed.contains(a.name.as_str()) {
            // Hashed above; a missing one is reported already.
            if let Some(digest) = seen.found.get(&a.name).cloned() {
                let size = seen.sizes[&a.name];
                against_manifest(&mut f, a, &a.name, &digest, size);
            }
            continue;
        }
        let file_loc = dir.join(&a.name);
        let got = if wants_bytes(&a.name, &manifest) {
            fetch_document(&file_loc)?
        } else {
            source::hash_location(&file_loc)?.map(|(digest, size)| Fetched { digest, size, bytes: None })
        };
        let check = match got {
            Some(got) => {
                let (digest, size) = seen.record(&a.name, got);
                let status = against_manifest(&mut f, a, &a.name, &digest, size);
                FileCheck {
                    name: a.name.clone(),
                    status,
                    expected: a.sha256.clone(),
                    found: Some(digest),
                    size: Some(size),
                }
            }
            None => {
                seen.missing.insert(a.name.clone());
                f.fail(&a.name, format!("listed in {MANIFEST_FILE} but missing"));
                FileCheck {
                    name: a.name.clone(),
                    status: FileStatus::Missing,
                    expected: a.sha256.clone(),
                    found: None,
                    size: None,
                }
            }
        };
        files.push(check);
    }

    // Signatures and bundles the manifest does not list: on disk, or (with a key) looked for
    // beside every file that was read.
    let local_names = match &dir {
        Location::Path(p) => Some(list_dir(p)?),
        Location::Url(_) => None,
    };
    let signs_a_file_read = |n: &&String| {
        n.strip_suffix(BUNDLE_SUFFIX)
            .or_else(|| n.strip_suffix(LEGACY_SUFFIX))
            .is_some_and(|subject| seen.found.contains_key(subject))
    };
    let candidates: Vec<String> = match &local_names {
        Some(names) => names.iter().filter(signs_a_file_read).cloned().collect(),
        None if opts.trust().is_some() => seen
            .found
            .keys()
            .filter(|n| !is_signature_file(n, &manifest))
            .flat_map(|n| [format!("{n}{BUNDLE_SUFFIX}"), format!("{n}{LEGACY_SUFFIX}")])
            .collect(),
        None => Vec::new(),
    };
    for name in candidates {
        if seen.found.contains_key(&name) || seen.missing.contains(&name) {
            continue;
        }
        if let Some(got) = fetch_document(&dir.join(&name))? {
            let (digest, size) = seen.record(&name, got);
            files.push(FileCheck {
                name,
                status: FileStatus::Ok,
                expected: None,
                found: Some(digest),
                size: Some(size),
            });
        }
    }

    // Archives: the manifest's and the index's.
    let mut archives: Vec<String> = manifest.archives().map(|a| a.name.clone()).collect();
    for p in &index.platforms {
        if !archives.contains(&p.file) {
            archives.push(p.file.clone());
        }
    }
    content::check_sboms(
        &mut f,
        &manifest,
        &entries.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(),
        &archives,
        &seen.contents,
        &seen.found,
    );
    let signature_files: Vec<String> = seen.found.keys().filter(|n| is_signature_file(n, &manifest)).cloned().collect();
    let mut provenance_files: Vec<String> =
        manifest.artifacts.iter().filter(|a| a.kind == ArtifactKind::Provenance).map(|a| a.name.clone()).collect();
    for (name, _) in &entries {
        if name.ends_with(".intoto.jsonl") && !provenance_files.contains(name) {
            provenance_files.push(name.clone());
        }
    }
    signatures::check(
        &mut f,
        &signatures::Release {
            manifest: &manifest,
            checksums_name: &checksums_name,
            archives: &archives,
            found: &seen.found,
            missing: &seen.missing,
            contents: &seen.contents,
            signature_files: &signature_files,
            provenance_files: &provenance_files,
        },
        opts.trust(),
        opts.require_signatures,
    );

    // Nothing unlisted in a local version directory. Verifying with a key or an identity is
    // strict: every file is listed (checksums.txt, manifest.json) or is the signature of a file
    // that is, so an unsigned provenance, an SBOM or a signature of something the release does
    // not hold cannot ride along. Without one, the names later stages add are let through.
    if let Some(names) = local_names {
        let mut known: BTreeSet<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
        known.extend([checksums_name.as_str(), INDEX_FILE, MANIFEST_FILE]);
        known.extend(manifest.artifacts.iter().map(|a| a.name.as_str()));
        let strict = opts.trust().is_some();
        let signs_known = |name: &str| {
            name.strip_suffix(BUNDLE_SUFFIX)
                .or_else(|| name.strip_suffix(LEGACY_SUFFIX))
                .is_some_and(|subject| known.contains(subject))
        };
        for name in names {
            if known.contains(name.as_str()) || signs_known(&name) || (!strict && is_allowed_extra(&name)) {
                continue;
            }
            let why = if strict && is_allowed_extra(&name) {
                format!(
                    "not part of the release: neither {checksums_name} nor {MANIFEST_FILE} lists it, nor the file it would sign"
                )
            } else {
                format!("not listed in {checksums_name}")
            };
            f.fail(&name, why);
            files.push(FileCheck { name, status: FileStatus::Extra, expected: None, found: None, size: None });
        }
    }

    let (problems, artifacts) = f.finish();
    Ok(VerifyReport {
        location: dir.display(),
        name: index.name,
        version: index.version,
        files,
        problems,
        key_hint: opts.key.as_ref().map(|k| k.hint().to_string()),
        identity: opts.identity.as_ref().map(|p| p.describe()),
        require_signatures: opts.require_signatures,
        artifacts,
    })
}

/// Compares a file's digest and size with what the manifest recorded for `a`.
fn against_manifest(f: &mut Findings, a: &Artifact, name: &str, digest: &Sha256, size: u64) -> FileStatus {
    let mut status = FileStatus::Ok;
    match &a.sha256 {
        Some(r) if r != digest => {
            f.fail(
                name,
                format!("sha256 mismatch ({MANIFEST_FILE} says {}…, file has {}…)", r.short(), digest.short()),
            );
            status = FileStatus::Mismatch;
        }
        Some(_) => f.note(name, format!("sha256 matches {MANIFEST_FILE}")),
        None => f.fail(name, format!("{MANIFEST_FILE} records no sha256 for it")),
    }
    if let Some(s) = a.size.filter(|&s| s != size) {
        f.fail(name, format!("size mismatch ({MANIFEST_FILE} says {s} bytes, file has {size})"));
        if status == FileStatus::Ok {
            status = FileStatus::SizeMismatch;
        }
    }
    status
}

/// A size a listing promised, against the size of the file found (if it was read).
fn size_check(f: &mut Findings, files: &mut [FileCheck], seen: &Seen, name: &str, listing: &str, expected: u64) {
    if let Some(&size) = seen.sizes.get(name) {
        if size != expected {
            f.fail(name, format!("size mismatch ({listing} says {expected} bytes, file has {size})"));
            if let Some(check) = files.iter_mut().find(|c| c.name == name && c.status == FileStatus::Ok) {
                check.status = FileStatus::SizeMismatch;
            }
        }
    }
}

fn list_dir(dir: &Path) -> Result<Vec<String>, Failure> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| Failure::io("list", dir, e))? {
        let entry = entry.map_err(|e| Failure::io("list", dir, e))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// Reads a small file whole and hashes those bytes; `None` when missing. One larger than
/// [`DOCUMENT_LIMIT`] is streamed through the hasher instead (no bytes kept).
fn fetch_document(loc: &Location) -> Result<Option<Fetched>, Failure> {
    match source::read_optional(loc, DOCUMENT_LIMIT) {
        Ok(Some(bytes)) => {
            Ok(Some(Fetched { digest: sha256_bytes(&bytes), size: bytes.len() as u64, bytes: Some(bytes) }))
        }
        Ok(None) => Ok(None),
        Err(e) if e.class == ErrorClass::Verify => {
            Ok(source::hash_location(loc)?.map(|(digest, size)| Fetched { digest, size, bytes: None }))
        }
        Err(e) => Err(e),
    }
}

/// Reads every listed file once; `None` for a missing one. Files `keep` names are read whole
/// (and hashed from those bytes); the others (archives) are streamed through the hasher:
/// local ones in parallel, URLs one after the other without a temporary file.
fn fetch_listed(
    dir: &Location,
    entries: &[(String, Sha256)],
    keep: &dyn Fn(&str) -> bool,
) -> Result<Vec<Option<Fetched>>, Failure> {
    let mut out: Vec<Option<Fetched>> = entries.iter().map(|_| None).collect();
    let (whole, streamed): (Vec<usize>, Vec<usize>) = (0..entries.len()).partition(|&i| keep(&entries[i].0));
    match dir {
        Location::Path(p) => {
            let paths: Vec<PathBuf> = streamed.iter().map(|&i| p.join(&entries[i].0)).collect();
            for ((&i, path), result) in streamed.iter().zip(&paths).zip(sha256_files(&paths)) {
                out[i] = match result {
                    Ok((digest, size)) => Some(Fetched { digest, size, bytes: None }),
                    Err(e) if matches!(e.kind(), io::ErrorKind::NotFound) => None,
                    Err(e) => return Err(Failure::io("read", path, e)),
                };
            }
        }
        Location::Url(_) => {
            for &i in &streamed {
                out[i] = source::hash_location(&dir.join(&entries[i].0))?.map(|(digest, size)| Fetched {
                    digest,
                    size,
                    bytes: None,
                });
            }
        }
    }
    for &i in &whole {
        out[i] = fetch_document(&dir.join(&entries[i].0))?;
    }
    Ok(out)
}

/// Re-hashes every file `dir/checksums.txt` lists; returns the entries when all match.
///
/// The failure names the first bad file and how many others are bad.
pub fn verify_dir_against_checksums(dir: &Path) -> Result<Vec<(String, Sha256)>, Failure> {
    let path = dir.join(checksums::FILE_NAME);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Failure::verify(format!("`{}` is missing", path.display())))
        }
        Err(e) => return Err(Failure::io("read", &path, e)),
    };
    let entries =
        checksums::parse(&text).map_err(|e| Failure::verify(format!("`{}` is not valid: {e}", path.display())))?;
    let paths: Vec<PathBuf> = entries.iter().map(|(n, _)| dir.join(n)).collect();
    let mut bad = Vec::new();
    for (((name, expected), path), result) in entries.iter().zip(&paths).zip(sha256_files(&paths)) {
        match result {
            Ok((digest, _)) if digest == *expected => {}
            Ok((digest, _)) => bad.push(format!(
                "`{}`: sha256 mismatch (checksums.txt says {}…, file has {}…)",
                path.display(),
                expected.short(),
                digest.short()
            )),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                bad.push(format!("`{}` is listed in checksums.txt but missing", path.display()))
            }
            Err(e) => bad.push(format!("cannot read `{}` ({name}): {e}", path.display())),
        }
    }
    match bad.len() {
        0 => Ok(entries),
        1 => Err(Failure::verify(bad.swap_remove(0))),
        2 => Err(Failure::verify(format!("{} (and 1 other file)", bad[0]))),
        n => Err(Failure::verify(format!("{} (and {} other files)", bad[0], n - 1))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_extras() {
        assert!(is_allowed_extra("app-1.0-x.tar.gz.sig"));
        assert!(is_allowed_extra("app.spdx.json"));
        assert!(is_allowed_extra("release-notes.md"));
        assert!(!is_allowed_extra("notes.txt"));
    }

    #[test]
    fn relative_paths() {
        assert!(check_relative("1.2.0/index.json").is_ok());
        assert!(check_relative("../x/index.json").is_err());
        assert!(check_relative("/etc/index.json").is_err());
        assert!(check_relative("https://evil/index.json").is_err());
        assert!(check_relative("").is_err());
    }

    #[test]
    fn dir_against_checksums_names_first_bad_file_and_count() {
        let dir = tempfile::tempdir().unwrap();
        let mut entries = Vec::new();
        for name in ["a", "b", "c"] {
            fs::write(dir.path().join(name), name).unwrap();
            entries.push((name.to_string(), sha256_bytes(name.as_bytes())));
        }
        fs::write(dir.path().join("checksums.txt"), checksums::render(&entries)).unwrap();
        assert_eq!(verify_dir_against_checksums(dir.path()).unwrap(), entries);

        fs::write(dir.path().join("a"), "changed").unwrap();
        let err = verify_dir_against_checksums(dir.path()).unwrap_err();
        assert_eq!(err.class, relman_manifest::ErrorClass::Verify);
        assert!(err.message.contains("/a`: sha256 mismatch"), "{}", err.message);
        assert!(!err.message.contains("other files"), "{}", err.message);

        fs::remove_file(dir.path().join("c")).unwrap();
        let err = verify_dir_against_checksums(dir.path()).unwrap_err();
        assert!(err.message.ends_with("(and 1 other file)"), "{}", err.message);

        fs::remove_file(dir.path().join("checksums.txt")).unwrap();
        let err = verify_dir_against_checksums(dir.path()).unwrap_err();
        assert!(err.message.contains("checksums.txt` is missing"), "{}", err.message);
    }
}
