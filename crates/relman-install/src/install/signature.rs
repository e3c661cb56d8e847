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
//! Keyless: an identity policy (`--certificate-identity*`, `--certificate-oidc-issuer*`,
//! `--trusted-root`) stands in for the key — given, or pinned in the receipt at the first
//! install by identity — and only bundles count (a bare `.sig` names no certificate).
//!
//! `require_signature` refuses a release without a bundle; it needs a key in force to check
//! the bundles with (a usage failure otherwise). Without a key and without
//! `require_signature`, nothing is fetched or checked here.

use std::path::Path;

use relman_manifest::{ErrorClass, Failure, Sha256};
use relman_sign::keyless::{IdentityPolicy, Matcher, TrustedRoot};
use relman_sign::{blob, Bundle, PublicKey};
use serde::Serialize;

use super::receipt::{PinnedIdentity, PinnedKey, Receipt};
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
    /// Hint (base64 sha256 of the public key) of the key that verified the signatures (for an
    /// identity: its description, as in `signed_by`).
    pub key_hint: String,
    /// What verified them: `key HINT`, or `identity `X` (issuer `Y`)`.
    pub signed_by: String,
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

/// What signatures are checked with: a public key, or who must have signed (keyless).
pub(crate) enum Verifier {
    Key(PublicKey),
    Identity(Box<IdentityPolicy>),
}

impl Verifier {
    fn hint(&self) -> String {
        match self {
            Verifier::Key(k) => k.hint().to_string(),
            Verifier::Identity(p) => p.describe(),
        }
    }
}

/// The key in force for one install and what is required.
pub(crate) struct Trust {
    key: Option<(Verifier, KeySource)>,
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
        identity: Option<&IdentityPolicy>,
        require: bool,
        receipt: Option<&Receipt>,
        receipt_path: &Path,
        program: &str,
    ) -> Result<Trust, Failure> {
        let pinned = receipt.and_then(|r| r.signing_key.as_ref());
        let pinned_identity = receipt.and_then(|r| r.signing_identity.as_ref());
        let key = match (explicit, identity, pinned, pinned_identity) {
            (Some(path), _, _, _) => Some((Verifier::Key(PublicKey::from_file(path)?), KeySource::Explicit)),
            (None, Some(p), _, _) => Some((Verifier::Identity(Box::new(p.clone())), KeySource::Explicit)),
            (None, None, Some(pin), _) => {
                Some((Verifier::Key(pinned_key(pin, receipt_path, program)?), KeySource::Pinned))
            }
            (None, None, None, Some(pin)) => Some((
                Verifier::Identity(Box::new(pinned_identity_policy(pin, receipt_path, program)?)),
                KeySource::Pinned,
            )),
            (None, None, None, None) => None,
        };
        let pinned_hint = pinned.map(|p| p.hint.clone()).or_else(|| {
            pinned_identity.and_then(|p| pinned_identity_policy(p, receipt_path, program).ok()).map(|p| p.describe())
        });
        Ok(Trust { key, require, program: program.to_string(), pinned_hint })
    }

    /// The key or identity in force, as relman-sign checks bundles with it.
    pub fn in_force(&self) -> Option<relman_sign::keyless::Trust<'_>> {
        match &self.key {
            Some((Verifier::Key(k), _)) => Some(relman_sign::keyless::Trust::Key(k)),
            Some((Verifier::Identity(p), _)) => Some(relman_sign::keyless::Trust::Identity(p)),
            None => None,
        }
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
        let keyless = matches!(self.key, Some((Verifier::Identity(_), _)));
        if found.is_none() && !self.require && !keyless {
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
                        "`{}` was installed with signatures checked by {}, pinned in its receipt; nothing was installed",
                        self.program,
                        describe(key)
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
        let result = match (sig.form, key) {
            (SignatureForm::Bundle, Verifier::Key(key)) => blob::verify_bundle(&sig.text, &sig_name, key, name, digest),
            (SignatureForm::Bundle, Verifier::Identity(policy)) => Bundle::parse(&sig.text, &sig_name)
                .and_then(|b| policy.verify_blob(&b, &sig_name, name, digest))
                .map(|_| ()),
            (SignatureForm::Legacy, Verifier::Key(key)) => blob::verify_legacy(&sig.text, &sig_name, key, name, digest)
                .map_err(|mut e| {
                    e.message = format!("{} (key hint {})", e.message, key.hint());
                    e
                }),
            (SignatureForm::Legacy, Verifier::Identity(_)) => Err(Failure::verify(format!(
                "`{sig_name}` is a bare signature; an identity is checked through `{name}{BUNDLE_SUFFIX}`"
            ))),
        };
        result.map_err(|e| {
            let e = Failure {
                class: ErrorClass::Verify,
                ..e
            };
            match source {
                KeySource::Pinned => e.with_hint(format!(
                    "`{}` is pinned to {} since it was first installed; nothing was installed. If the publisher moved to a new key or identity you trust, pass `--key <its public key file>` or `--certificate-identity …`",
                    self.program,
                    describe(key)
                )),
                KeySource::Explicit => match key {
                    Verifier::Key(_) => e.with_hint(
                        "nothing was installed; check that `--key` is the public key of the key pair that signed the release",
                    ),
                    Verifier::Identity(_) => e.with_hint(
                        "nothing was installed; check --certificate-identity(-regexp), --certificate-oidc-issuer(-regexp) and --trusted-root against the signer the release's notes name",
                    ),
                },
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
        match &self.key {
            Some((Verifier::Key(key), _)) => Some(PinnedKey { hint: key.hint().to_string(), pem: key.to_pem() }),
            _ => None,
        }
    }

    /// The identity policy to record in the receipt after a verified install by identity.
    pub fn pin_identity(&self) -> Option<PinnedIdentity> {
        match &self.key {
            Some((Verifier::Identity(p), _)) => Some(PinnedIdentity {
                identity_regexp: p.identity.as_regex(),
                issuer_regexp: p.issuer.as_regex(),
                trusted_root: p.root.json.clone(),
            }),
            _ => None,
        }
    }

    /// What to report, once the archive's signature (`archive`) was checked.
    pub fn summary(&self, index: Option<SignatureForm>, archive: Option<SignatureForm>) -> Option<SignatureCheck> {
        let (key, source) = self.key.as_ref()?;
        let hint = key.hint();
        Some(SignatureCheck {
            replaced_key_hint: self.pinned_hint.clone().filter(|old| *old != hint),
            key_hint: hint,
            signed_by: describe(key),
            key_source: *source,
            index,
            archive: archive?,
        })
    }
}

impl Fetched {
    pub fn form(&self) -> SignatureForm {
        self.form
    }
}

fn describe(v: &Verifier) -> String {
    match v {
        Verifier::Key(k) => format!("key {}", k.hint()),
        Verifier::Identity(p) => p.describe(),
    }
}

/// The identity policy pinned in a receipt.
fn pinned_identity_policy(pin: &PinnedIdentity, receipt_path: &Path, program: &str) -> Result<IdentityPolicy, Failure> {
    let broken = |why: String| {
        Failure::install(format!("`{}` pins a signing identity that cannot be used: {why}", receipt_path.display()))
            .with_hint(format!(
                "reinstall `{program}` with --certificate-identity, --certificate-oidc-issuer and --trusted-root"
            ))
    };
    let identity = Matcher::regex(&pin.identity_regexp, "identity_regexp").map_err(|e| broken(e.message))?;
    let issuer = Matcher::regex(&pin.issuer_regexp, "issuer_regexp").map_err(|e| broken(e.message))?;
    let root = TrustedRoot::parse(&pin.trusted_root, &format!("the trusted root pinned for {program}"))
        .map_err(|e| broken(e.message))?;
    Ok(IdentityPolicy { identity, issuer, root })
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
