//! Verification by identity: Sigstore's `trusted_root.json`, the identity policy, and the
//! checks of a keyless bundle.
//!
//! A keyless bundle verifies when, in order:
//! 1. its certificate chains to a certificate authority of the trusted root (each link's
//!    signature checked; the CA valid when the log saw the signature);
//! 2. at least one transparency log entry verifies ([`super::rekor::check_entry`]): a trusted
//!    log, its promise or proof, and a body recording this signature and certificate;
//! 3. the log's integrated time lies inside the certificate's validity (Fulcio certificates
//!    live minutes: a signature made after expiry is refused);
//! 4. the certificate's identity (SAN) and OIDC issuer match the policy; and
//! 5. the signature verifies with the certificate's key over the file's digest (or the DSSE
//!    envelope's PAE).
//!
//! Signed certificate timestamps (the CT log's) are not checked: the transparency log entry
//! is, and its time bounds the certificate's use.

use relman_manifest::{Failure, Sha256};
use serde::Deserialize;

use super::cert::{chain_holds, Cert, Role};
use super::rekor::{self, Expected};
use crate::bundle::{Bundle, Content, SHA2_256};
use crate::dsse::{self, Verified};
use crate::{b64, digest_bytes, PublicKey};

/// The media type of a trusted root.
pub const TRUSTED_ROOT_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.trustedroot+json;version=0.1";

/// A transparency log of the trusted root.
#[derive(Clone, Debug)]
pub struct TransparencyLog {
    pub base_url: String,
    pub log_id: Vec<u8>,
    /// SPKI DER.
    pub public_key: Vec<u8>,
    start: Option<i64>,
    end: Option<i64>,
}

/// Whether `t` lies in a trusted root's `validFor` (either end open).
fn within(start: Option<i64>, end: Option<i64>, t: i64) -> bool {
    start.is_none_or(|s| t >= s) && end.is_none_or(|e| t <= e)
}

impl TransparencyLog {
    pub(crate) fn valid_at(&self, t: i64) -> bool {
        within(self.start, self.end, t)
    }
}

/// A certificate authority: its chain (intermediates first, root last), DER. For a timestamp
/// authority the chain starts with its signing certificate.
#[derive(Clone, Debug)]
pub struct CertificateAuthority {
    pub uri: String,
    pub chain: Vec<Vec<u8>>,
    start: Option<i64>,
    end: Option<i64>,
}

impl CertificateAuthority {
    pub(crate) fn valid_at(&self, t: i64) -> bool {
        within(self.start, self.end, t)
    }
}

/// Sigstore's trusted root: the CAs and logs a verifier trusts.
#[derive(Clone, Debug)]
pub struct TrustedRoot {
    pub authorities: Vec<CertificateAuthority>,
    /// RFC 3161 timestamp authorities.
    pub timestamp_authorities: Vec<CertificateAuthority>,
    pub logs: Vec<TransparencyLog>,
    pub origin: String,
    /// The JSON it was read from (pinned in install receipts).
    pub json: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RootJson {
    #[serde(default)]
    media_type: String,
    #[serde(default)]
    tlogs: Vec<LogJson>,
    #[serde(default)]
    certificate_authorities: Vec<CaJson>,
    #[serde(default)]
    timestamp_authorities: Vec<CaJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogJson {
    #[serde(default)]
    base_url: String,
    public_key: KeyJson,
    log_id: LogIdJson,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyJson {
    raw_bytes: String,
    #[serde(default)]
    valid_for: Option<ValidFor>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogIdJson {
    key_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CaJson {
    #[serde(default)]
    uri: String,
    cert_chain: ChainJson,
    #[serde(default)]
    valid_for: Option<ValidFor>,
}

#[derive(Deserialize)]
struct ChainJson {
    certificates: Vec<RawJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawJson {
    raw_bytes: String,
}

#[derive(Deserialize, Clone)]
struct ValidFor {
    #[serde(default)]
    start: Option<String>,
    #[serde(default)]
    end: Option<String>,
}

fn seconds(t: &Option<String>, origin: &str) -> Result<Option<i64>, Failure> {
    let Some(t) = t else { return Ok(None) };
    let parsed = humantime::parse_rfc3339_weak(t.trim_end_matches('Z').split('.').next().unwrap_or(t))
        .map_err(|e| Failure::config(format!("`{origin}`: `{t}` is not an RFC 3339 time: {e}")))?;
    Ok(Some(parsed.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)))
}

impl TrustedRoot {
    /// Reads a `trusted_root.json`; `origin` names it. Failures are config failures.
    pub fn parse(text: &str, origin: &str) -> Result<Self, Failure> {
        let root: RootJson = serde_json::from_str(text)
            .map_err(|e| Failure::config(format!("`{origin}` is not a Sigstore trusted root: {e}")))?;
        if !root.media_type.starts_with("application/vnd.dev.sigstore.trustedroot") {
            return Err(Failure::config(format!(
                "`{origin}` has media type `{}`, not a Sigstore trusted root's",
                root.media_type
            ))
            .with_hint(format!("a trusted root has `\"mediaType\": \"{TRUSTED_ROOT_MEDIA_TYPE}\"`")));
        }
        let bytes = |s: &str, what: &str| {
            b64::decode(s).ok_or_else(|| Failure::config(format!("`{origin}`: {what} is not base64")))
        };
        let mut logs = Vec::new();
        for l in &root.tlogs {
            let valid = l.public_key.valid_for.clone().unwrap_or(ValidFor { start: None, end: None });
            logs.push(TransparencyLog {
                base_url: l.base_url.clone(),
                log_id: bytes(&l.log_id.key_id, "a log ID")?,
                public_key: bytes(&l.public_key.raw_bytes, "a log key")?,
                start: seconds(&valid.start, origin)?,
                end: seconds(&valid.end, origin)?,
            });
        }
        let read_cas = |cas: &[CaJson]| -> Result<Vec<CertificateAuthority>, Failure> {
            let mut out = Vec::new();
            for ca in cas {
                let valid = ca.valid_for.clone().unwrap_or(ValidFor { start: None, end: None });
                let chain = ca
                    .cert_chain
                    .certificates
                    .iter()
                    .map(|c| bytes(&c.raw_bytes, "a CA certificate"))
                    .collect::<Result<_, _>>()?;
                out.push(CertificateAuthority {
                    uri: ca.uri.clone(),
                    chain,
                    start: seconds(&valid.start, origin)?,
                    end: seconds(&valid.end, origin)?,
                });
            }
            Ok(out)
        };
        let authorities = read_cas(&root.certificate_authorities)?;
        let timestamp_authorities = read_cas(&root.timestamp_authorities)?;
        if authorities.is_empty() || logs.is_empty() {
            return Err(Failure::config(format!(
                "`{origin}` names no certificate authority or no transparency log: it cannot verify keyless signatures"
            )));
        }
        Ok(TrustedRoot { authorities, timestamp_authorities, logs, origin: origin.to_string(), json: text.to_string() })
    }
}

/// Exact text or a regular expression that must match the **whole** value.
///
/// cosign searches its `-regexp` patterns, so `https://github.com/acme/app/` also matches
/// `https://github.com/evil/x/...?https://github.com/acme/app/`. relman anchors every pattern
/// (`^(?:pattern)$`): a pattern that means "starts with" says so with `.*`. The pattern is
/// kept as written (receipts record it so), and [`Matcher::anchored`] gives the form to print
/// for cosign, which does not anchor.
#[derive(Clone, Debug)]
pub enum Matcher {
    Exact(String),
    Regex { pattern: String, re: regex::Regex },
}

impl Matcher {
    /// A regular expression, anchored at both ends; a usage failure naming `flag` when it does
    /// not compile.
    pub fn regex(pattern: &str, flag: &str) -> Result<Self, Failure> {
        regex::Regex::new(&format!("^(?:{pattern})$"))
            .map(|re| Matcher::Regex { pattern: pattern.to_string(), re })
            .map_err(|e| Failure::usage(format!("{flag} `{pattern}` is not a regular expression: {e}")))
    }

    pub fn matches(&self, value: &str) -> bool {
        match self {
            Matcher::Exact(s) => s == value,
            Matcher::Regex { re, .. } => re.is_match(value),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Matcher::Exact(s) => format!("`{s}`"),
            Matcher::Regex { pattern, .. } => format!("matching the whole of `{pattern}`"),
        }
    }

    /// The pattern as the user wrote it (`^escaped$` for exact text), for receipts.
    pub fn as_regex(&self) -> String {
        match self {
            Matcher::Exact(s) => format!("^{}$", regex::escape(s)),
            Matcher::Regex { pattern, .. } => pattern.clone(),
        }
    }

    /// `pattern` as a regular expression that means the same to a verifier that searches
    /// (cosign, sigstore-js): `^` and `$` added where missing.
    pub fn anchored(pattern: &str) -> String {
        if pattern.contains('|') {
            return format!("^(?:{pattern})$");
        }
        let start = if pattern.starts_with('^') { "" } else { "^" };
        let end = if pattern.ends_with('$') && !pattern.ends_with("\\$") { "" } else { "$" };
        format!("{start}{pattern}{end}")
    }
}

/// Who must have signed: an identity and an OIDC issuer, against a trusted root.
#[derive(Clone, Debug)]
pub struct IdentityPolicy {
    pub identity: Matcher,
    pub issuer: Matcher,
    pub root: TrustedRoot,
}

/// What a verified keyless bundle tells: the signer, the issuer, when, and its key.
#[derive(Clone, Debug)]
pub struct Signer {
    pub identity: String,
    pub issuer: String,
    pub integrated_time: i64,
    pub log_index: i64,
    pub key: PublicKey,
}

impl IdentityPolicy {
    pub fn describe(&self) -> String {
        format!("identity {} (issuer {})", self.identity.describe(), self.issuer.describe())
    }

    /// Verifies a keyless bundle holding a blob signature of the file `artifact` (digest
    /// `sha256`).
    pub fn verify_blob(&self, bundle: &Bundle, name: &str, artifact: &str, sha256: &Sha256) -> Result<Signer, Failure> {
        let Content::MessageSignature(message) = bundle.content(name)? else {
            return Err(Failure::verify(format!("`{name}` holds a DSSE envelope, not the signature of `{artifact}`")));
        };
        let actual = digest_bytes(sha256)?;
        if let Some(recorded) = &message.message_digest {
            let recorded_bytes = b64::decode(&recorded.digest);
            if recorded.algorithm != SHA2_256 || recorded_bytes.as_deref() != Some(&actual[..]) {
                return Err(Failure::verify(format!(
                    "`{artifact}` does not match `{name}`: the bundle signs another digest than the file's sha256 {}…",
                    sha256.short()
                ))
                .with_hint("the file was changed, or the bundle belongs to another file"));
            }
        }
        let signature = b64::decode(&message.signature)
            .ok_or_else(|| Failure::verify(format!("`{name}` has a signature that is not base64")))?;
        let signer = self.verify_material(bundle, name, &Expected::Blob { sha256: &actual, signature: &signature })?;
        if !signer.key.verifies_sha256(&actual, &signature) {
            return Err(Failure::verify(format!(
                "the signature in `{name}` does not verify for `{artifact}` with its certificate's key"
            ))
            .with_hint("the bundle was altered, or it belongs to another file"));
        }
        Ok(signer)
    }

    /// Verifies a keyless bundle holding a DSSE envelope; returns the verified payload.
    pub fn verify_dsse(&self, bundle: &Bundle, name: &str) -> Result<(Verified, Signer), Failure> {
        let Content::DsseEnvelope(envelope) = bundle.content(name)? else {
            return Err(Failure::verify(format!("`{name}` holds a blob signature, not a DSSE envelope")));
        };
        let payload = b64::decode(&envelope.payload)
            .ok_or_else(|| Failure::verify(format!("`{name}`: the envelope's payload is not base64")))?;
        let first = envelope.signatures.first().and_then(|s| b64::decode(&s.sig)).unwrap_or_default();
        let payload_sha256 = relman_manifest::hash::sha256_raw(&payload);
        let signer = self.verify_material(bundle, name, &Expected::Dsse { payload_sha256, signature: &first })?;
        let verified = envelope.verify(&signer.key, name)?;
        Ok((verified, signer))
    }

    /// Steps 1 to 4 of the module's list.
    fn verify_material(&self, bundle: &Bundle, name: &str, expected: &Expected<'_>) -> Result<Signer, Failure> {
        let material = &bundle.verification_material;
        let Some(leaf_der) = material.leaf_certificate() else {
            return Err(Failure::verify(format!(
                "`{name}` carries no certificate: it is key-signed, and an identity cannot verify it"
            ))
            .with_hint("verify with --key and the release's public key"));
        };
        let leaf = Cert::parse(&leaf_der, name)?;
        if material.tlog_entries.is_empty() {
            return Err(Failure::verify(format!(
                "`{name}` has no transparency log entry, and keyless signatures need one"
            ))
            .with_hint("the signature was never logged: re-sign the release"));
        }
        // Every entry must hold: a bundle carrying a forged entry beside a genuine one was
        // tampered with.
        let rule = bundle.entry_rule();
        let mut entries = Vec::new();
        for entry in &material.tlog_entries {
            entries.push(rekor::check_entry(entry, &self.root.logs, expected, &leaf_der, name, rule)?);
        }
        // The time of signing is what a log (a SET) or a timestamp authority (RFC 3161) signed;
        // a time the bundle merely states is not evidence, and without one an expired
        // certificate would sign forever. Every signed time must fall in the certificate's life.
        let mut times: Vec<i64> = entries.iter().filter_map(|e| e.signed_time).collect();
        let stamps = material.timestamp_verification_data.as_ref().map(|d| d.rfc3161_timestamps.as_slice());
        for stamp in stamps.unwrap_or_default() {
            let der = b64::decode(&stamp.signed_timestamp)
                .ok_or_else(|| Failure::verify(format!("`{name}`: an RFC 3161 timestamp is not base64")))?;
            let t = super::timestamp::verify(&der, expected.signature(), &self.root.timestamp_authorities)
                .map_err(|why| Failure::verify(format!("`{name}`: its RFC 3161 timestamp {why}")))?;
            times.push(t);
        }
        let (Some(&t), Some(&latest)) = (times.iter().min(), times.iter().max()) else {
            return Err(Failure::verify(format!(
                "`{name}`: no signed time shows when it was signed (its log entry has no signed entry timestamp and it has no RFC 3161 timestamp)"
            ))
            .with_hint("without a signed time the certificate's validity cannot be checked: re-sign the release"));
        };
        let log_index = entries[0].log_index;
        self.check_chain(&leaf, t, name)?;
        for when in [t, latest] {
            if when < leaf.not_before || when > leaf.not_after {
                return Err(Failure::verify(format!(
                    "`{name}` was signed at {} (the log's signed time), outside its certificate's validity ({} to {})",
                    rfc3339(when),
                    rfc3339(leaf.not_before),
                    rfc3339(leaf.not_after)
                ))
                .with_hint("keyless certificates live minutes: the signature was made after the certificate expired"));
            }
        }
        let identities = leaf.identities();
        let Some(identity) = identities.iter().find(|i| self.identity.matches(i)) else {
            return Err(Failure::verify(format!(
                "`{name}` was signed by `{}`, not by identity {}",
                identities.join("`, `"),
                self.identity.describe()
            ))
            .with_hint(match &self.identity {
                Matcher::Regex { .. } => "relman matches --certificate-identity-regexp against the whole identity (cosign searches): end a prefix with `.*`; the release's notes name its signer",
                Matcher::Exact(_) => "check --certificate-identity(-regexp): the release's notes name its signer",
            }));
        };
        let issuer = leaf.oidc_issuer().unwrap_or_default();
        if !self.issuer.matches(&issuer) {
            return Err(Failure::verify(format!(
                "`{name}` was certified for issuer `{issuer}`, not issuer {}",
                self.issuer.describe()
            ))
            .with_hint("check --certificate-oidc-issuer(-regexp)"));
        }
        let key = PublicKey::from_der(&leaf.public_key_der()?, &format!("the certificate of `{identity}`"))
            .map_err(|e| Failure::verify(format!("`{name}`: {}", e.message)))?;
        Ok(Signer { identity: identity.clone(), issuer, integrated_time: t, log_index, key })
    }

    /// The leaf chains to a certificate authority of the trusted root, every link signed and
    /// valid at `t`, and the path follows the code-signing policy ([`Cert::check_policy`]).
    fn check_chain(&self, leaf: &Cert, t: i64, name: &str) -> Result<(), Failure> {
        let mut policy_failure = None;
        for ca in &self.root.authorities {
            if !ca.valid_at(t) {
                continue;
            }
            let Ok(chain) = ca.chain.iter().map(|d| Cert::parse(d, &self.root.origin)).collect::<Result<Vec<_>, _>>()
            else {
                continue;
            };
            if !chain_holds(leaf, &chain, t) {
                continue;
            }
            let policy =
                leaf.check_policy(Role::Leaf).map_err(|why| format!("its certificate ({}) {why}", leaf.describe()));
            let policy = policy.and_then(|()| {
                chain.iter().enumerate().try_for_each(|(below, ca_cert)| {
                    ca_cert
                        .check_policy(Role::Issuer { below })
                        .map_err(|why| format!("the CA certificate `{}` of its chain {why}", ca_cert.describe()))
                })
            });
            match policy {
                Ok(()) => return Ok(()),
                Err(why) => policy_failure = Some(why),
            }
        }
        if let Some(why) = policy_failure {
            return Err(Failure::verify(format!("`{name}`: {why}"))
                .with_hint("a release is signed by a code-signing certificate issued under a CA; this path breaks the code-signing policy"));
        }
        Err(Failure::verify(format!(
            "`{name}`: its certificate ({}) was not issued by a certificate authority of `{}`",
            leaf.describe(),
            self.root.origin
        ))
        .with_hint("pass the --trusted-root of the Sigstore instance that signed the release"))
    }
}

/// The identity a bundle's certificate names, unverified (for messages and notes).
pub fn bundle_identity(bundle: &Bundle) -> Option<(String, String)> {
    let der = bundle.verification_material.leaf_certificate()?;
    let cert = Cert::parse(&der, "bundle").ok()?;
    Some((cert.identities().into_iter().next()?, cert.oidc_issuer().unwrap_or_default()))
}

fn rfc3339(t: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(t.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Reads `verify_dsse`'s counterpart for `.intoto.jsonl` lines: an envelope verified with the
/// key of a verified keyless bundle.
pub fn verify_envelope_with(signer: &Signer, envelope: &dsse::Envelope, origin: &str) -> Result<Verified, Failure> {
    envelope.verify(&signer.key, origin)
}

/// What a verifier trusts: a public key, or an identity policy with its trusted root.
#[derive(Clone, Copy, Debug)]
pub enum Trust<'a> {
    Key(&'a PublicKey),
    Identity(&'a IdentityPolicy),
}

impl Trust<'_> {
    /// "key HINT" or "identity `X` (issuer `Y`)", for reports.
    pub fn describe(&self) -> String {
        match self {
            Trust::Key(k) => format!("key {}", k.hint()),
            Trust::Identity(p) => p.describe(),
        }
    }

    /// Verifies a bundle holding a blob signature; returns who signed (a key hint, or the
    /// certificate's identity).
    pub fn verify_blob_bundle(
        &self,
        bundle: &Bundle,
        name: &str,
        artifact: &str,
        sha256: &Sha256,
    ) -> Result<String, Failure> {
        match self {
            Trust::Key(k) => crate::blob::verify_parsed_bundle(bundle, name, k, artifact, sha256)
                .map(|()| format!("key {}", k.hint())),
            Trust::Identity(p) => {
                p.verify_blob(bundle, name, artifact, sha256).map(|s| format!("identity `{}`", s.identity))
            }
        }
    }

    /// Verifies a bundle holding a DSSE envelope; returns the payload and the key that signed
    /// it (the certificate's, for an identity).
    pub fn verify_dsse_bundle(&self, bundle: &Bundle, name: &str) -> Result<(Verified, PublicKey), Failure> {
        match self {
            Trust::Key(k) => crate::dsse::verify_parsed_bundle(bundle, name, k).map(|v| (v, (*k).clone())),
            Trust::Identity(p) => p.verify_dsse(bundle, name).map(|(v, s)| (v, s.key)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Matcher;

    #[test]
    fn identity_patterns_match_the_whole_value() {
        let m = Matcher::regex("https://github.com/acme/app/", "--certificate-identity-regexp").unwrap();
        // The security report's SAN: the pattern is inside it, at the end.
        assert!(!m
            .matches("https://github.com/evil/x/.github/workflows/r.yml@refs/heads/main?https://github.com/acme/app/"));
        assert!(!m.matches("https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1"));
        assert!(m.matches("https://github.com/acme/app/"));
        let prefix = Matcher::regex("https://github.com/acme/app/.*", "flag").unwrap();
        assert!(prefix.matches("https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1"));
        assert!(!prefix.matches("x https://github.com/acme/app/"));
        // An alternation is anchored as a whole, not at its ends only.
        let alt = Matcher::regex("a|b", "flag").unwrap();
        assert!(alt.matches("a") && alt.matches("b") && !alt.matches("ab") && !alt.matches("xa"));
        // Receipts keep what the user wrote; printed patterns for searching verifiers are anchored.
        assert_eq!(m.as_regex(), "https://github.com/acme/app/");
        assert_eq!(Matcher::anchored("https://github.com/acme/app/"), "^https://github.com/acme/app/$");
        assert_eq!(Matcher::anchored("^x$"), "^x$");
        assert_eq!(Matcher::anchored("^a|b$"), "^(?:^a|b$)$");
        assert_eq!(Matcher::anchored("x\\$"), "^x\\$$");
    }
}
