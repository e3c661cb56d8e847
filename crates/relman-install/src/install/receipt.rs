//! The install prefix's bookkeeping: where things go and the receipts that remember them.
//!
//! Layout under a prefix:
//!
//! ```text
//! <prefix>/bin/<binary>                     installed binaries (mode 0755)
//! <prefix>/.relman/receipts/<name>.json     one receipt per installed program
//! <prefix>/.relman/backup/<binary>          the previous version of each binary, for rollback
//! <prefix>/.relman/tmp/                     downloads and unpacking (same file system as bin/)
//! ```
//!
//! Invariants: receipts are written atomically (temporary file + rename) and hold no
//! credentials and no secret key material (a pinned key is the *public* key PEM and its hint);
//! `previous` names the version whose binaries are in `backup/`.
//!
//! Format versions: 1 is a receipt without a pinned key; 2 adds `signing_key`; 3 adds
//! `signing_identity` (keyless: who must sign, and the trusted root). A receipt with a pin is
//! written with the first version that knows it, so that an older relman, which would ignore
//! the pin, refuses the receipt instead of installing unverified releases over it.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use relman_manifest::{Failure, Sha256};
use serde::{Deserialize, Serialize};

/// The newest receipt format this build reads (and writes when a key is pinned).
pub const RECEIPT_FORMAT_VERSION: u32 = 3;
/// The format written for a receipt with a pinned key.
pub const RECEIPT_FORMAT_VERSION_KEY: u32 = 2;
/// The format written for a receipt without a pinned key (older relman versions read it).
pub const RECEIPT_FORMAT_VERSION_UNPINNED: u32 = 1;

/// What relman installed for one program.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    pub format_version: u32,
    pub name: String,
    pub version: String,
    pub target: String,
    /// What the install was asked to install from (credentials redacted).
    pub source: String,
    /// Where `upgrade` looks: the release root (holding `channels.json`) when known, else the
    /// location of the `index.json` installed from (a flat release location).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
    /// Digest of the archive the binaries came from, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_sha256: Option<Sha256>,
    pub binaries: Vec<InstalledBinary>,
    /// The version kept in `.relman/backup/`, which `rollback` restores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_archive_sha256: Option<Sha256>,
    /// RFC 3339 UTC time of the install (or of the last rollback).
    pub installed_at: String,
    /// The public key every later release of this program must be signed with: pinned at
    /// the first install with a key, replaced only by an explicit `--key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<PinnedKey>,
    /// Keyless: the identity every later release must be signed by, pinned like a key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_identity: Option<PinnedIdentity>,
    /// The highest serial of signed channels this program was installed through: a release
    /// root whose channels are older is refused (a rollback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels_serial: Option<u64>,
}

/// An identity policy pinned in a receipt: regular expressions (exact values are pinned
/// anchored and escaped) and the trusted root's JSON, so later upgrades need no flags.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinnedIdentity {
    pub identity_regexp: String,
    pub issuer_regexp: String,
    pub trusted_root: String,
}

/// A public key pinned in a receipt (public material only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinnedKey {
    /// base64(sha256(SubjectPublicKeyInfo DER)), as Sigstore bundles name the key.
    pub hint: String,
    /// The `PUBLIC KEY` PEM.
    pub pem: String,
}

impl Receipt {
    /// The format version this receipt is written with.
    pub fn format_version_for(signing_key: Option<&PinnedKey>, identity: Option<&PinnedIdentity>) -> u32 {
        match (signing_key, identity) {
            (_, Some(_)) => RECEIPT_FORMAT_VERSION,
            (Some(_), None) => RECEIPT_FORMAT_VERSION_KEY,
            (None, None) => RECEIPT_FORMAT_VERSION_UNPINNED,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstalledBinary {
    pub path: PathBuf,
    pub sha256: Sha256,
}

/// Paths under one prefix.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    pub prefix: PathBuf,
    pub bin: PathBuf,
    pub receipts: PathBuf,
    pub backup: PathBuf,
    pub tmp: PathBuf,
}

pub(crate) fn write_failure(path: &Path, e: io::Error) -> Failure {
    Failure::install(format!("cannot write `{}`: {e}", path.display()))
}

impl Layout {
    pub fn new(prefix: &Path) -> Result<Layout, Failure> {
        if prefix.as_os_str().is_empty() {
            return Err(Failure::usage("the install prefix is empty"));
        }
        let prefix = std::path::absolute(prefix).map_err(|e| Failure::io("resolve", prefix, e))?;
        let state = prefix.join(".relman");
        Ok(Layout {
            bin: prefix.join("bin"),
            receipts: state.join("receipts"),
            backup: state.join("backup"),
            tmp: state.join("tmp"),
            prefix,
        })
    }

    /// Takes the prefix's lock (`.relman/.relman-lock`: one install, upgrade or rollback at a
    /// time) and sweeps what killed runs left in `.relman/tmp`, `bin`, the backups and the
    /// receipts. `doing` says what for, in the message another run shows.
    pub fn lock(&self, doing: &str) -> Result<crate::lock::Lock, Failure> {
        let state = self.receipts.parent().unwrap_or(&self.prefix);
        let lock = crate::lock::Lock::acquire(
            &state.join(crate::lock::LOCK_FILE),
            &format!("the install prefix `{}`", self.prefix.display()),
            doing,
            crate::lock::wait(),
        )?;
        for dir in [&self.tmp, &self.bin, &self.backup, &self.receipts] {
            lock.sweep(dir)?;
        }
        Ok(lock)
    }

    /// Creates the directories an install writes to.
    pub fn create(&self) -> Result<(), Failure> {
        for dir in [&self.bin, &self.receipts, &self.backup, &self.tmp] {
            fs::create_dir_all(dir).map_err(|e| write_failure(dir, e))?;
        }
        Ok(())
    }

    pub fn receipt_path(&self, name: &str) -> PathBuf {
        self.receipts.join(format!("{name}.json"))
    }

    pub fn read_receipt(&self, name: &str) -> Result<Option<Receipt>, Failure> {
        let path = self.receipt_path(name);
        match fs::read(&path) {
            Ok(bytes) => parse_receipt(&path, &bytes).map(Some),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Failure::io("read", &path, e)),
        }
    }

    /// Every receipt, sorted by program name.
    pub fn receipts(&self) -> Result<Vec<Receipt>, Failure> {
        let dir = match fs::read_dir(&self.receipts) {
            Ok(dir) => dir,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Failure::io("list", &self.receipts, e)),
        };
        let mut receipts = Vec::new();
        for entry in dir {
            let path = entry.map_err(|e| Failure::io("list", &self.receipts, e))?.path();
            if path.extension().is_some_and(|x| x == "json") && path.is_file() {
                let bytes = fs::read(&path).map_err(|e| Failure::io("read", &path, e))?;
                receipts.push(parse_receipt(&path, &bytes)?);
            }
        }
        receipts.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(receipts)
    }

    /// The receipt named `name`, or the only receipt when no name is given.
    pub fn select(&self, name: Option<&str>) -> Result<Option<Receipt>, Failure> {
        if let Some(name) = name {
            check_program_name(name).map_err(|why| Failure::usage(format!("`{name}`: {why}")))?;
            return self.read_receipt(name);
        }
        let mut all = self.receipts()?;
        match all.len() {
            0 => Ok(None),
            1 => Ok(all.pop()),
            _ => {
                let names: Vec<String> = all.iter().map(|r| format!("`{}`", r.name)).collect();
                Err(Failure::usage(format!(
                    "several programs are installed in `{}`: {}",
                    self.prefix.display(),
                    names.join(", ")
                ))
                .with_hint("name the one you mean"))
            }
        }
    }

    /// Writes the receipt atomically; returns its path.
    pub fn write_receipt(&self, receipt: &Receipt) -> Result<PathBuf, Failure> {
        let path = self.receipt_path(&receipt.name);
        let text = serde_json::to_string_pretty(receipt).map_err(|e| Failure::internal(e.to_string()))? + "\n";
        write_atomic(&path, text.as_bytes())?;
        Ok(path)
    }
}

/// Writes `bytes` to a temporary file beside `path`, syncs it, and renames it into place.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(crate::lock::TEMP_PREFIX)
        .tempfile_in(dir)
        .map_err(|e| write_failure(path, e))?;
    tmp.write_all(bytes).map_err(|e| write_failure(path, e))?;
    tmp.as_file().sync_all().map_err(|e| write_failure(path, e))?;
    tmp.persist(path).map_err(|e| write_failure(path, e.error))?;
    Ok(())
}

fn parse_receipt(path: &Path, bytes: &[u8]) -> Result<Receipt, Failure> {
    let invalid = |why: String| {
        Failure::install(format!("`{}` is not a valid receipt: {why}", path.display()))
            .with_hint("remove it and install the program again")
    };
    let receipt: Receipt = serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
    if receipt.format_version > RECEIPT_FORMAT_VERSION {
        return Err(invalid(format!(
            "format_version {} is newer than this relman reads ({RECEIPT_FORMAT_VERSION}); upgrade relman",
            receipt.format_version
        )));
    }
    check_program_name(&receipt.name).map_err(invalid)?;
    Ok(receipt)
}

/// Program names become file names: letters, digits, `.`, `_`, `+`, `-`; not starting with `.`.
pub(crate) fn check_program_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!("`{}` is not a valid program name", name.escape_debug()))
    }
}

/// The current time as RFC 3339 UTC, e.g. `2025-01-31T12:00:00Z`.
pub(crate) fn now_rfc3339() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    rfc3339(secs)
}

fn rfc3339(secs: u64) -> String {
    relman_manifest::time::rfc3339(secs as i64)
}

/// The receipt of the program `name` installed under `prefix` (without a name: the only one
/// installed there); `None` when nothing matches. For callers deciding how to upgrade.
pub fn installed(prefix: &Path, name: Option<&str>) -> Result<Option<Receipt>, Failure> {
    Layout::new(prefix)?.select(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_735_689_599), "2024-12-31T23:59:59Z");
    }

    #[test]
    fn program_names() {
        assert!(check_program_name("app").is_ok());
        assert!(check_program_name("my_app-2.x").is_ok());
        for bad in ["", ".hidden", "../x", "a/b", "a b"] {
            assert!(check_program_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn receipts_round_trip_and_selection() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path()).unwrap();
        assert_eq!(layout.select(None).unwrap(), None);
        layout.create().unwrap();
        let receipt = Receipt {
            format_version: 1,
            name: "app".into(),
            version: "1.0.0".into(),
            target: "x86_64-unknown-linux-gnu".into(),
            source: "/r".into(),
            root: Some("/r".into()),
            archive_sha256: None,
            binaries: vec![],
            previous: None,
            previous_archive_sha256: None,
            installed_at: now_rfc3339(),
            signing_key: None,
            signing_identity: None,
            channels_serial: None,
        };
        layout.write_receipt(&receipt).unwrap();
        assert_eq!(layout.select(None).unwrap(), Some(receipt.clone()));
        assert_eq!(layout.select(Some("app")).unwrap(), Some(receipt.clone()));
        assert_eq!(layout.select(Some("other")).unwrap(), None);
        layout.write_receipt(&Receipt { name: "other".into(), ..receipt }).unwrap();
        let err = layout.select(None).unwrap_err();
        assert!(err.message.contains("`app`, `other`"), "{}", err.message);
        fs::write(layout.receipt_path("app"), "{").unwrap();
        let err = layout.select(Some("app")).unwrap_err();
        assert_eq!(err.class, relman_manifest::ErrorClass::Install);
        assert!(err.message.contains("app.json` is not a valid receipt"), "{}", err.message);
    }
}
