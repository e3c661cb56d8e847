//! Signatures at install time: which key is in force, and the check of `index.json` and of
//! the archive before anything is written at the prefix.
//!
//! The key in force is `--key` when given, else the key pinned in the program's receipt (at
//! its first install with a key), else none. When a key is in force, a release must be
//! signed: `<file>.sigstore.json` (Sigstore bundle) or, failing that, `<file>.sig` (legacy),
//! verified against the digest of the bytes (the index as read, the archive's digest — first
//! the one the index promises, before the download, then the one of the downloaded bytes).
//! A release signed by another key than the pinned one is refused, naming both key hints,
//! unless `--key` names the new key (which is then pinned instead).
//!
//! `require_signature` refuses a release without a bundle; it needs a key in force to check
//! the bundles with (a usage failure otherwise). Without a key and without
//! `require_signature`, nothing is fetched or checked here.

use std::path::Path;

use relman_manifest::{ErrorClass, Failure, Sha256};
use relman_sign::{blob, PublicKey};
use serde::Serialize;

use super::receipt::{PinnedKey, Receipt};
use crate::source::{self, Location};
use crate::verify::DOCUMENT_LIMIT;

const BUNDLE_SUFFIX: &str = ".sigstore.json";
const LEGACY_SUFFIX: &str = ".sig";

/// Where the key that verified an install came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeySource {
    /// `--key` (`InstallOptions::key`).
    Explicit,
    /// The key pinned in the program's receipt.
    Pinned,
}

/// Which signature file verified a document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureForm {
    /// `<file>.sigstore.json`, a Sigstore bundle v0.3.
    Bundle,
    /// `<file>.sig`, a base64 DER signature.
    Legacy,
}

/// What the signature checks of an install found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SignatureCheck {
    /// Hint (base64 sha256 of the public key) of the key that verified the signatures.
    pub key_hint: String,
    pub key_source: KeySource,
    /// How `index.json` was signed; `None` for an install from a bare archive.
    pub index: Option<SignatureForm>,
    pub archive: SignatureForm,
    /// The hint of the previously pinned key, when `--key` replaced it.
    pub replaced_key_hint: Option<String>,
}

/// A signature file that was fetched, not yet checked.
pub(crate) struct Fetched {
    form: SignatureForm,
    loc: Location,
    text: String,
}

/// The key in force for one install and what is required.
pub(crate) struct Trust {
    key: Option<(PublicKey, KeySource)>,
    require: bool,
    program: String,
    /// The hint of the key pinned before this install.
    pinned_hint: Option<String>,
}

impl Trust {
    /// The key in force for `program`: `explicit` (a public key file), else the one pinned in
    /// `receipt`.
    pub fn new(
        explicit: Option<&Path>,
        require: bool,
        receipt: Option<&Receipt>,
        receipt_path: &Path,
        program: &str,
    ) -> Result<Trust, Failure> {
        let pinned = receipt.and_then(|r| r.signing_key.as_ref());
        let key = match (explicit, pinned) {
            (Some(path), _) => Some((PublicKey::from_file(path)?, KeySource::Explicit)),
            (None, Some(pin)) => Some((pinned_key(pin, receipt_path, program)?, KeySource::Pinned)),
            (None, None) => None,
        };
        Ok(Trust { key, require, program: program.to_string(), pinned_hint: pinned.map(|p| p.hint.clone()) })
    }

    /// Whether signatures are looked at at all.
    fn active(&self) -> bool {
        self.key.is_some() || self.require
    }

    /// Fetches the signature of the file at `loc` (named `name` in messages): its bundle, or
    /// its legacy `.sig` when there is no bundle and a bundle is not required. `Ok(None)`
    /// when no key is in force and signatures are not required. An unsigned file is refused
    /// when a key is in force or signatures are required.
    pub fn fetch(&self, loc: &Location, name: &str) -> Result<Option<Fetched>, Failure> {
        if !self.active() {
            return Ok(None);
        }
        let bundle_loc = loc.with_suffix(BUNDLE_SUFFIX);
        let mut found =
            read_text(&bundle_loc)?.map(|text| Fetched { form: SignatureForm::Bundle, loc: bundle_loc.clone(), text });
        if found.is_none() && !self.require {
            let legacy_loc = loc.with_suffix(LEGACY_SUFFIX);
            found = read_text(&legacy_loc)?.map(|text| Fetched { form: SignatureForm::Legacy, loc: legacy_loc, text });
        }
        match (&found, &self.key) {
            (Some(_), Some(_)) => Ok(found),
            (Some(_), None) => Err(Failure::usage(format!(
                "`{name}` of `{}` is signed, but no public key was given or pinned to check it, and signatures are required",
                self.program
            ))
            .with_hint("pass `--key <public key file>` (the `PUBLIC KEY` PEM of the key pair that signs the releases)")),
            (None, key) => {
                let what = if self.require {
                    format!("`{name}` is unsigned: `{bundle_loc}` does not exist, and signatures are required")
                } else {
                    format!(
                        "`{name}` is unsigned: neither `{bundle_loc}` nor its `{LEGACY_SUFFIX}` exists"
                    )
                };
                let failure = Failure::verify(what);
                Err(match key {
                    Some((key, KeySource::Pinned)) => failure.with_hint(format!(
                        "`{}` was installed with signatures checked by key {}, pinned in its receipt; nothing was installed",
                        self.program,
                        key.hint()
                    )),
                    Some((_, KeySource::Explicit)) => failure.with_hint(
                        "`--key` asks for a signed release; nothing was installed",
                    ),
                    None => failure.with_hint("nothing was installed"),
                })
            }
        }
    }

    /// Checks a fetched signature of the file `name` against the digest of its bytes.
    pub fn check(&self, sig: &Fetched, name: &str, digest: &Sha256) -> Result<(), Failure> {
        let Some((key, source)) = &self.key else {
            return Err(Failure::internal("a signature was fetched without a key"));
        };
        let sig_name = sig.loc.display();
        let result = match sig.form {
            SignatureForm::Bundle => blob::verify_bundle(&sig.text, &sig_name, key, name, digest),
            SignatureForm::Legacy => blob::verify_legacy(&sig.text, &sig_name, key, name, digest).map_err(|mut e| {
                e.message = format!("{} (key hint {})", e.message, key.hint());
                e
            }),
        };
        result.map_err(|e| {
            let e = Failure {
                class: ErrorClass::Verify,
                ..e
            };
            match source {
                KeySource::Pinned => e.with_hint(format!(
                    "`{}` is pinned to key {} since it was first installed; nothing was installed. If the publisher moved to a new key you trust, pass `--key <its public key file>`",
                    self.program,
                    key.hint()
                )),
                KeySource::Explicit => {
                    let hint = "nothing was installed; check that `--key` is the public key of the key pair that signed the release";
                    e.with_hint(hint)
                }
            }
        })
    }

    /// Fetches and checks the signature of a document already read (`index.json`).
    pub fn verify(&self, loc: &Location, name: &str, digest: &Sha256) -> Result<Option<SignatureForm>, Failure> {
        match self.fetch(loc, name)? {
            Some(sig) => {
                self.check(&sig, name, digest)?;
                Ok(Some(sig.form))
            }
            None => Ok(None),
        }
    }

    /// The key to record in the receipt after a verified install.
    pub fn pin(&self) -> Option<PinnedKey> {
        self.key.as_ref().map(|(key, _)| PinnedKey { hint: key.hint().to_string(), pem: key.to_pem() })
    }

    /// What to report, once the archive's signature (`archive`) was checked.
    pub fn summary(&self, index: Option<SignatureForm>, archive: Option<SignatureForm>) -> Option<SignatureCheck> {
        let (key, source) = self.key.as_ref()?;
        Some(SignatureCheck {
            key_hint: key.hint().to_string(),
            key_source: *source,
            index,
            archive: archive?,
            replaced_key_hint: self.pinned_hint.clone().filter(|old| old != key.hint()),
        })
    }
}

impl Fetched {
    pub fn form(&self) -> SignatureForm {
        self.form
    }
}

/// The key pinned in a receipt, checked against its recorded hint.
fn pinned_key(pin: &PinnedKey, receipt_path: &Path, program: &str) -> Result<PublicKey, Failure> {
    let broken = |why: String| {
        Failure::install(format!("`{}` pins a signing key that cannot be used: {why}", receipt_path.display()))
            .with_hint(format!("reinstall `{program}` with `--key <public key file>` to pin the right key"))
    };
    let key = PublicKey::from_pem(&pin.pem, &format!("the key pinned for {program}")).map_err(|e| broken(e.message))?;
    if key.hint() != pin.hint {
        return Err(broken(format!("its PEM has hint {}, the receipt says {}", key.hint(), pin.hint)));
    }
    Ok(key)
}

/// A small signature file as text; `None` when it does not exist.
fn read_text(loc: &Location) -> Result<Option<String>, Failure> {
    let Some(bytes) = source::read_optional(loc, DOCUMENT_LIMIT)? else {
        return Ok(None);
    };
    String::from_utf8(bytes).map(Some).map_err(|_| Failure::verify(format!("`{loc}` is not UTF-8 text")))
}
