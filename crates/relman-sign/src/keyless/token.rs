//! OIDC identity tokens, read (not verified: Fulcio verifies them) to fail early and clearly.
//!
//! A token is a JWT: `base64url(header).base64url(claims).base64url(signature)`. Before anything
//! is signed or published relman checks what Fulcio would refuse later, halfway through a
//! release: the token is a JWT, it has not expired, and its audience includes `sigstore`. The
//! token itself is a secret (a bearer credential for the CI's identity): it never reaches a
//! message or `Debug` output — only its issuer and subject do.

use std::fmt;

use relman_manifest::Failure;
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::b64;

/// The audience Fulcio accepts.
pub const SIGSTORE_AUDIENCE: &str = "sigstore";

/// Issuers whose certificates name the token's `email` rather than its `sub` (Fulcio's rule,
/// which the proof of possession must follow).
const EMAIL_ISSUERS: &[&str] = &["https://accounts.google.com", "https://oauth2.sigstore.dev/auth"];

/// An identity token and the claims relman reads from it.
pub struct IdentityToken {
    raw: Zeroizing<String>,
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    /// Expiry, seconds since the epoch.
    pub expires: Option<i64>,
    pub audiences: Vec<String>,
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    iss: String,
    #[serde(default)]
    sub: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    exp: Option<i64>,
    #[serde(default)]
    aud: Option<Audience>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl IdentityToken {
    /// Reads a JWT; `origin` says where it came from (`ACTIONS_ID_TOKEN_REQUEST_URL`,
    /// `SIGSTORE_ID_TOKEN`, a file) for messages.
    pub fn parse(text: &str, origin: &str) -> Result<Self, Failure> {
        let raw = text.trim();
        let bad = |why: &str| {
            Failure::config(format!("the identity token from {origin} is not a JWT: {why}"))
                .with_hint("give the OIDC token itself (three base64url parts joined by dots)")
        };
        let parts: Vec<&str> = raw.split('.').collect();
        if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
            return Err(bad("it does not have three non-empty parts"));
        }
        let claims = b64::decode(parts[1]).ok_or_else(|| bad("its claims are not base64url"))?;
        let claims: Claims = serde_json::from_slice(&claims).map_err(|_| bad("its claims are not a JSON object"))?;
        if claims.iss.is_empty() || claims.sub.is_empty() {
            return Err(bad("it has no `iss` or no `sub` claim"));
        }
        let audiences = match claims.aud {
            Some(Audience::One(a)) => vec![a],
            Some(Audience::Many(a)) => a,
            None => Vec::new(),
        };
        Ok(IdentityToken {
            raw: Zeroizing::new(raw.to_string()),
            issuer: claims.iss,
            subject: claims.sub,
            email: claims.email,
            expires: claims.exp,
            audiences,
        })
    }

    /// The token, for the Fulcio request only.
    pub fn expose(&self) -> &str {
        &self.raw
    }

    /// What the proof of possession signs: the identity Fulcio will certify.
    pub fn challenge(&self) -> &str {
        match &self.email {
            Some(email) if EMAIL_ISSUERS.contains(&self.issuer.as_str()) => email,
            _ => &self.subject,
        }
    }

    /// Refuses a token Fulcio would refuse: expired at `now` (seconds since the epoch, with a
    /// margin for the requests still to come) or not meant for Sigstore.
    pub fn check_usable(&self, now: i64, origin: &str) -> Result<(), Failure> {
        if let Some(exp) = self.expires {
            if exp <= now + 10 {
                let ago = now - exp;
                let when = if ago >= 0 { format!("{ago} s ago") } else { format!("in {} s", -ago) };
                return Err(Failure::config(format!(
                    "the identity token from {origin} (subject `{}`) expired {when}",
                    self.subject
                ))
                .with_hint("request a fresh token: CI tokens live minutes, so sign right after fetching one"));
            }
        }
        if !self.audiences.iter().any(|a| a == SIGSTORE_AUDIENCE) {
            let had = if self.audiences.is_empty() { "none".to_string() } else { self.audiences.join(", ") };
            return Err(Failure::config(format!(
                "the identity token from {origin} is for audience `{had}`, not `{SIGSTORE_AUDIENCE}`"
            ))
            .with_hint(
                "request the token with audience `sigstore` (GitLab: `id_tokens: SIGSTORE_ID_TOKEN: aud: sigstore`)",
            ));
        }
        Ok(())
    }
}

impl fmt::Debug for IdentityToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityToken").field("issuer", &self.issuer).field("subject", &self.subject).finish()
    }
}

#[cfg(test)]
pub(crate) fn unsigned_jwt(claims: &serde_json::Value) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"ES256","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(b"sig")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_claims_and_hides_the_token() {
        let jwt = unsigned_jwt(
            &json!({"iss":"https://token.actions.githubusercontent.com","sub":"repo:o/r:ref:refs/tags/v1.0.0","aud":"sigstore","exp":2000}),
        );
        let t = IdentityToken::parse(&format!("{jwt}\n"), "a file").unwrap();
        assert_eq!(t.subject, "repo:o/r:ref:refs/tags/v1.0.0");
        assert_eq!(t.challenge(), t.subject);
        assert_eq!(t.expose(), jwt);
        assert!(!format!("{t:?}").contains(&jwt));
        t.check_usable(1000, "a file").unwrap();
    }

    #[test]
    fn email_issuers_prove_the_email() {
        let jwt = unsigned_jwt(
            &json!({"iss":"https://accounts.google.com","sub":"1234","email":"a@b.c","aud":["x","sigstore"]}),
        );
        let t = IdentityToken::parse(&jwt, "f").unwrap();
        assert_eq!(t.challenge(), "a@b.c");
        t.check_usable(0, "f").unwrap();
    }

    #[test]
    fn expired_and_wrong_audience_are_named() {
        let jwt = unsigned_jwt(&json!({"iss":"i","sub":"s","aud":"sigstore","exp":100}));
        let err = IdentityToken::parse(&jwt, "SIGSTORE_ID_TOKEN")
            .unwrap()
            .check_usable(160, "SIGSTORE_ID_TOKEN")
            .unwrap_err();
        assert_eq!(err.message, "the identity token from SIGSTORE_ID_TOKEN (subject `s`) expired 60 s ago");
        let jwt = unsigned_jwt(&json!({"iss":"i","sub":"s","aud":"api://AzureADTokenExchange","exp":1000}));
        let err = IdentityToken::parse(&jwt, "f").unwrap().check_usable(0, "f").unwrap_err();
        assert!(err.message.contains("audience `api://AzureADTokenExchange`, not `sigstore`"), "{}", err.message);
    }

    #[test]
    fn non_jwts_are_refused_without_quoting_them() {
        for text in ["", "secret-value", "a.b", "a.!!!.c", "a.e30.c"] {
            let err = IdentityToken::parse(text, "f").unwrap_err();
            assert!(err.message.starts_with("the identity token from f is not a JWT"), "{}", err.message);
            if !text.is_empty() {
                assert!(!err.message.contains(text), "{}", err.message);
            }
        }
    }
}
