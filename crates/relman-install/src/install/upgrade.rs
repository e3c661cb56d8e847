//! `upgrade`: follow a release root's stable channel, never backwards.
//!
//! Inputs: the prefix, optionally a program name, a release root (`from`) and a target.
//! The installed version comes from the receipt, the candidate from `<root>/channels.json`.
//! Equal or older candidate: nothing happens ([`UpgradeOutcome::UpToDate`]). Newer: a normal
//! [`install`] of that version, which keeps the current binaries for rollback. No receipt: a
//! first install from `from`. Signatures are checked by that install: with `key`, or with the
//! key pinned in the receipt (a release signed by another key is refused unless `key` names
//! it, and then it is pinned instead).

use std::fmt;
use std::path::PathBuf;

use relman_manifest::Failure;
use serde::Serialize;

use super::receipt::Layout;
use super::resolve::normalize_version;
use super::run::{install, InstallOptions, InstallOutcome};
use crate::source::{self, is_redacted, redact, Location};
use crate::verify::{CHANNELS_FILE, DOCUMENT_LIMIT};

#[derive(Clone, Default)]
pub struct UpgradeOptions {
    /// The program to upgrade; may be left out when the prefix holds only one.
    pub name: Option<String>,
    /// The release root; defaults to the one recorded at install time.
    pub from: Option<String>,
    pub prefix: PathBuf,
    /// Target triple; defaults to the installed one.
    pub target: Option<String>,
    /// A public key file the new release must be signed with; replaces the pinned key.
    /// Without it, the key pinned in the receipt (if any) is used.
    pub key: Option<PathBuf>,
    /// Refuse a release without Sigstore bundles (needs a key, given or pinned).
    pub require_signature: bool,
    /// Refuse a release root whose channels are unsigned or past their expiry.
    pub require_fresh: bool,
}

impl fmt::Debug for UpgradeOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpgradeOptions")
            .field("name", &self.name)
            .field("from", &self.from.as_deref().map(redact))
            .field("prefix", &self.prefix)
            .field("target", &self.target)
            .field("key", &self.key)
            .field("require_signature", &self.require_signature)
            .finish()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum UpgradeOutcome {
    /// The installed version is the stable one, or newer.
    UpToDate {
        name: String,
        version: String,
        available: String,
    },
    Upgraded {
        from_version: String,
        outcome: InstallOutcome,
    },
    /// Nothing was installed before.
    Installed {
        outcome: InstallOutcome,
    },
}

pub fn upgrade(opts: &UpgradeOptions) -> Result<UpgradeOutcome, Failure> {
    let layout = Layout::new(&opts.prefix)?;
    let Some(receipt) = layout.select(opts.name.as_deref())? else {
        let what = opts
            .name
            .as_deref()
            .map(|n| format!("`{n}` is not installed"))
            .unwrap_or_else(|| "nothing is installed".into());
        let from = opts.from.clone().ok_or_else(|| {
            Failure::usage(format!("{what} in `{}` and no release to install from", layout.prefix.display()))
                .with_hint("pass `--from <release root>` for a first install")
        })?;
        let outcome = install(&InstallOptions {
            from,
            prefix: opts.prefix.clone(),
            target: opts.target.clone(),
            key: opts.key.clone(),
            require_signature: opts.require_signature,
            ..InstallOptions::default()
        })?;
        return Ok(UpgradeOutcome::Installed { outcome });
    };

    let root = match (&opts.from, &receipt.root) {
        (Some(from), _) => from.clone(),
        (None, Some(root)) if is_redacted(root) => {
            return Err(Failure::usage(format!("`{root}` needs credentials, which relman does not store"))
                .with_hint("pass `--from` with the release root URL and its credentials"))
        }
        (None, Some(root)) => root.clone(),
        (None, None) => {
            return Err(Failure::usage(format!(
                "`{}` was installed from `{}`, not from a release root",
                receipt.name, receipt.source
            ))
            .with_hint("pass `--from <release root>` (the directory or URL holding `channels.json`)"))
        }
    };
    let root_loc = Location::parse(&root);
    let channels_loc = root_loc.join(CHANNELS_FILE);
    // A release root follows its stable channel; a flat location (an index.json and its files,
    // as a forge's `releases/latest/download/` serves them) is its index's version.
    // The channels as trusted: signed by the pinned key (or --key), not older than what this
    // machine saw (see verify::read_channels).
    let trusted =
        super::resolve::trusted_channels(&root_loc, opts.key.as_deref(), None, opts.require_fresh, &opts.prefix)?;
    let (available_text, from_version, what) = match trusted {
        Some(trusted) => {
            let channels = trusted.channels;
            if channels.name != receipt.name {
                return Err(Failure::usage(format!(
                    "`{root_loc}` publishes `{}`, not `{}`",
                    channels.name, receipt.name
                )));
            }
            let stable = channels
                .stable
                .ok_or_else(|| Failure::install(format!("`{channels_loc}` has no stable release yet")))?;
            (stable.version.clone(), Some(stable.version), channels_loc.to_string())
        }
        None => {
            let index_loc = root_loc.join(crate::verify::INDEX_FILE);
            let Some(bytes) = source::read_optional(&index_loc, DOCUMENT_LIMIT)? else {
                return Err(Failure::install(format!("neither `{channels_loc}` nor `{index_loc}` exists")).with_hint(
                    "upgrade follows a promoted release root or a location serving the latest index.json; pass `--from`",
                ));
            };
            let index = crate::verify::parse_index(&index_loc, &bytes)?;
            if index.name != receipt.name {
                return Err(Failure::usage(format!("`{index_loc}` is `{}`, not `{}`", index.name, receipt.name)));
            }
            (index.version, None, index_loc.to_string())
        }
    };
    let available = semver::Version::parse(normalize_version(&available_text))
        .map_err(|e| Failure::verify(format!("`{what}`: version `{available_text}` is not semver: {e}")))?;
    // An unparsable installed version (a bare archive without one) is treated as older.
    let installed = semver::Version::parse(normalize_version(&receipt.version)).ok();
    if installed.is_some_and(|v| available <= v) {
        return Ok(UpgradeOutcome::UpToDate {
            name: receipt.name,
            version: receipt.version,
            available: available_text,
        });
    }
    let outcome = install(&InstallOptions {
        from: root,
        version: from_version,
        prefix: opts.prefix.clone(),
        target: opts.target.clone().or(Some(receipt.target)),
        sha256: None,
        force: false,
        key: opts.key.clone(),
        // The identity pinned in the receipt applies (as a pinned key does).
        identity: None,
        require_signature: opts.require_signature,
        source_label: None,
        require_fresh: opts.require_fresh,
    })?;
    Ok(UpgradeOutcome::Upgraded { from_version: receipt.version, outcome })
}
