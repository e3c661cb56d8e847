//! Keyless signing over HTTP: the identity token, Fulcio's certificate, Rekor's entries.
//!
//! [`start`] runs once per release, when the first signature is needed (a re-run that signs
//! nothing asks for nothing): it gets the identity token ([`crate::remote::TokenSource`]),
//! refuses an expired one or one for another audience before anything is signed, makes an
//! ephemeral P-256 key (memory only), and asks Fulcio for a certificate — one per run, not
//! per file. The returned signer logs every signature in Rekor; a `409 Conflict` means the
//! entry exists, and it is fetched from the `Location` Rekor names. Requests that fail on the
//! way (connection, 5xx) are tried again, three times in all; then the failure names the URL.
//! Nothing half-made is written: a bundle is written only with its log entry.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use relman_manifest::Failure;
use relman_sign::keyless::{fulcio, rekor, IdentityToken, KeylessSigner, LogClient};
use serde_json::Value;

use crate::remote::TokenSource;

const ATTEMPTS: u32 = 3;

fn agent() -> ureq::Agent {
    relman_install::source::agent().clone()
}

/// An answer: status, body, and the `Location` header.
struct Answer {
    status: u16,
    body: String,
    location: Option<String>,
}

/// One request, tried again on connection failures and 5xx answers.
fn send(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
    what: &str,
) -> Result<Answer, Failure> {
    let mut last = None;
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(250 << attempt));
        }
        let mut req = agent.request(method, url);
        for (k, v) in headers {
            req = req.set(k, v);
        }
        let result = match body {
            Some(b) => req.set("Content-Type", "application/json").send_string(b),
            None => req.call(),
        };
        let response = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(ureq::Error::Transport(t)) => {
                last = Some(Failure::network(format!("{what} at {url} cannot be reached: {t}")));
                continue;
            }
        };
        let status = response.status();
        let location = response.header("Location").map(str::to_string);
        let text = response.into_string().unwrap_or_default();
        if status >= 500 {
            last = Some(Failure::network(format!("{what} at {url} answered {status}: {}", first_line(&text))));
            continue;
        }
        return Ok(Answer { status, body: text, location });
    }
    Err(last.expect("at least one attempt").with_hint("the service is down or the URL is wrong; run the release again when it answers: what is signed and published is kept"))
}

fn first_line(text: &str) -> String {
    let msg = serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v.get("message").or_else(|| v.get("error")).and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| text.lines().next().unwrap_or("").to_string());
    msg.chars().take(200).collect()
}

/// The identity token from where the environment says.
fn identity_token(source: &TokenSource, agent: &ureq::Agent) -> Result<(IdentityToken, String), Failure> {
    match source {
        TokenSource::None => Err(Failure::config("keyless signing needs an OIDC identity token, and there is none")
            .with_hint("in GitHub or Forgejo Actions give the job `permissions: id-token: write`; in GitLab set `id_tokens: SIGSTORE_ID_TOKEN: aud: sigstore`; elsewhere pass --identity-token FILE")),
        TokenSource::Given { token, origin } => Ok((IdentityToken::parse(token.expose(), origin)?, origin.clone())),
        TokenSource::Actions { url, bearer } => {
            let sep = if url.contains('?') { '&' } else { '?' };
            let full = format!("{url}{sep}audience={}", relman_sign::keyless::token::SIGSTORE_AUDIENCE);
            let auth = format!("bearer {}", bearer.expose());
            let shown = relman_install::source::redact(url);
            let answer = send(agent, "GET", &full, &[("Authorization", &auth)], None, "the Actions token service")
                .map_err(|mut f| {
                    f.message = f.message.replace(&full, &shown);
                    f
                })?;
            if answer.status != 200 {
                return Err(Failure::config(format!(
                    "the Actions token service at {shown} refused to issue an identity token ({}): {}",
                    answer.status,
                    first_line(&answer.body)
                ))
                .with_hint("give the job `permissions: id-token: write`"));
            }
            let value: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
            let token = value.get("value").and_then(Value::as_str).ok_or_else(|| {
                Failure::network(format!("the Actions token service at {shown} answered without a `value`"))
            })?;
            let origin = "ACTIONS_ID_TOKEN_REQUEST_URL".to_string();
            Ok((IdentityToken::parse(token, &origin)?, origin))
        }
    }
}

/// Rekor over HTTP.
struct Rekor {
    agent: ureq::Agent,
    base: String,
}

impl LogClient for Rekor {
    fn log(&self, proposal: &Value) -> Result<Value, Failure> {
        let url = format!("{}{}", self.base, rekor::ENTRIES_PATH);
        let answer =
            send(&self.agent, "POST", &url, &[("Accept", "application/json")], Some(&proposal.to_string()), "Rekor")?;
        match answer.status {
            200 | 201 => rekor::to_bundle_entry(&answer.body, &url),
            409 => {
                // The entry exists (a re-run, or a retried request that had landed).
                let Some(location) = answer.location else {
                    return Err(Failure::network(format!("Rekor at {url} answered 409 without a `Location`")));
                };
                let entry_url =
                    if location.starts_with("http") { location } else { format!("{}{location}", self.base) };
                let got = send(&self.agent, "GET", &entry_url, &[("Accept", "application/json")], None, "Rekor")?;
                if got.status != 200 {
                    return Err(Failure::network(format!(
                        "Rekor at {entry_url} answered {}: {}",
                        got.status,
                        first_line(&got.body)
                    )));
                }
                rekor::to_bundle_entry(&got.body, &entry_url)
            }
            status => Err(Failure::publish(format!(
                "Rekor at {url} refused the log entry ({status}): {}",
                first_line(&answer.body)
            ))),
        }
    }
}

/// Where keyless signing goes: `sign.fulcio_url`, `sign.rekor_url`, and the token's source.
#[derive(Clone, Debug)]
pub struct Services {
    pub fulcio: String,
    pub rekor: String,
    pub token: TokenSource,
}

/// The signer of this process for these services: one certificate per run, shared by the
/// stages that sign (package, then publish's manifest signature), and a new one only when it
/// would expire within a minute. `fresh` says whether it was just made.
pub fn shared(services: &Services) -> Result<(Arc<KeylessSigner>, bool), Failure> {
    static SIGNERS: Mutex<Vec<(String, Arc<KeylessSigner>)>> = Mutex::new(Vec::new());
    let key = format!("{} {}", services.fulcio, services.rekor);
    let now = now();
    let mut signers = SIGNERS.lock().unwrap_or_else(|e| e.into_inner());
    signers.retain(|(_, s)| s.not_after > now + 60);
    if let Some((_, s)) = signers.iter().find(|(k, _)| *k == key) {
        return Ok((s.clone(), false));
    }
    let s = Arc::new(start(services)?);
    signers.push((key, s.clone()));
    Ok((s, true))
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Gets a token and a certificate, and returns the signer.
fn start(services: &Services) -> Result<KeylessSigner, Failure> {
    let agent = agent();
    let (token, origin) = identity_token(&services.token, &agent)?;
    token.check_usable(now(), &origin)?;
    let key = relman_sign::generate()?.into_signing_key();
    let body = fulcio::request_body(&token, key.public_key(), &key)?;
    let url = format!("{}{}", services.fulcio.trim_end_matches('/'), fulcio::SIGNING_CERT_PATH);
    let answer = send(&agent, "POST", &url, &[("Accept", "application/json")], Some(&body), "Fulcio")?;
    if !(200..300).contains(&answer.status) {
        return Err(Failure::config(format!(
            "Fulcio at {url} refused to certify the identity token from {origin} (subject `{}`, {}): {}",
            token.subject,
            answer.status,
            first_line(&answer.body)
        ))
        .with_hint("the token expired, is for another audience, or its issuer is not one this Fulcio trusts"));
    }
    let chain = fulcio::parse_chain(&answer.body, &url)?;
    let log = Rekor { agent, base: services.rekor.trim_end_matches('/').to_string() };
    KeylessSigner::new(key, chain, Box::new(log), &url)
}
