//! The HTTP side of forge destinations: one client for GitHub's REST API and Gitea/Forgejo's
//! (`/api/v1`), with the forge's auth header, retries (refused, reset, timed out, 5xx, and rate
//! limits: `retry-after`, or `x-ratelimit-remaining: 0` until `x-ratelimit-reset`), and `Link`
//! pagination. Tokens are sent, never shown: errors name the URL without them.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use relman_manifest::Failure;
use serde_json::Value;

use crate::remote::Token;

/// Retries after the first attempt.
const RETRIES: u32 = 4;
/// The longest relman waits for a rate limit to lift before it gives up.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// Which API dialect a forge speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    GitHub,
    /// Gitea and Forgejo (Forgejo keeps Gitea's API).
    Gitea,
    /// GitLab's `/api/v4`, with a personal token (`PRIVATE-TOKEN`) or a CI job token
    /// (`JOB-TOKEN`).
    GitLab {
        job_token: bool,
    },
}

impl Flavor {
    /// The auth header for `token`.
    fn auth(self, token: &Token) -> (&'static str, String) {
        match self {
            Flavor::GitHub => ("Authorization", format!("Bearer {}", token.expose())),
            Flavor::Gitea => ("Authorization", format!("token {}", token.expose())),
            Flavor::GitLab { job_token: false } => ("PRIVATE-TOKEN", token.expose().to_string()),
            Flavor::GitLab { job_token: true } => ("JOB-TOKEN", token.expose().to_string()),
        }
    }
}

/// A request body.
pub(crate) enum Body<'a> {
    Json(Vec<u8>),
    /// A file sent as it is, with its media type.
    File {
        path: &'a Path,
        size: u64,
        content_type: &'a str,
    },
    /// A file as the `attachment` field of a multipart form (Gitea's upload).
    Multipart {
        path: &'a Path,
        size: u64,
        name: &'a str,
    },
}

/// An answer, whatever its status.
pub(crate) struct Answer {
    pub status: u16,
    /// The `Link` header's `rel="next"` URL.
    pub next: Option<String>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The forge's own message (`message`, and GitHub's `errors[].code` / `message`).
    pub fn message(&self) -> String {
        let v = self.json();
        let mut m = v.get("message").and_then(Value::as_str).unwrap_or("").to_string();
        if let Some(errors) = v.get("errors").and_then(Value::as_array) {
            let details: Vec<String> = errors
                .iter()
                .map(|e| {
                    let field = e.get("field").and_then(Value::as_str).unwrap_or("");
                    let code = e.get("code").and_then(Value::as_str).unwrap_or("");
                    let msg = e.get("message").and_then(Value::as_str).unwrap_or("");
                    [field, code, msg].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join(" ")
                })
                .collect();
            if !details.is_empty() {
                m = format!("{m} ({})", details.join("; "));
            }
        }
        if m.is_empty() {
            String::from_utf8_lossy(&self.body).chars().take(200).collect()
        } else {
            m
        }
    }

    /// GitHub's `errors[].code == "already_exists"`.
    pub fn already_exists(&self) -> bool {
        self.json()
            .get("errors")
            .and_then(Value::as_array)
            .is_some_and(|e| e.iter().any(|e| e.get("code").and_then(Value::as_str) == Some("already_exists")))
    }
}

#[derive(Clone)]
pub(crate) struct Api {
    agent: ureq::Agent,
    flavor: Flavor,
    token: Option<Token>,
}

impl Api {
    pub fn new(flavor: Flavor, token: Option<Token>) -> Api {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(15))
            .timeout_read(Duration::from_secs(120))
            .timeout_write(Duration::from_secs(300))
            .user_agent(concat!("relman/", env!("CARGO_PKG_VERSION")))
            .build();
        Api { agent, flavor, token }
    }

    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// Sends a request, again after a failure on the way or a rate limit (see the module docs).
    /// Every request relman sends a forge is safe to repeat but an upload, whose duplicate the
    /// caller recognises (`422 already_exists` on GitHub, a second asset of the name on Gitea).
    pub fn send(&self, method: &str, url: &str, body: Option<&Body<'_>>) -> Result<Answer, Failure> {
        let mut failed = 0;
        loop {
            let (answer, wait) = match self.send_once(method, url, body) {
                Ok((a, wait)) => (Ok(a), wait),
                Err(f) => (Err(f), None),
            };
            let retry = match &answer {
                Ok(a) => matches!(a.status, 429 | 500 | 502 | 503 | 504) || wait.is_some(),
                Err(f) => f.class == relman_manifest::ErrorClass::Network,
            };
            if !retry || failed >= RETRIES {
                return answer;
            }
            let backoff = Duration::from_millis(200 << failed);
            let pause = wait.unwrap_or(backoff);
            if pause > MAX_WAIT {
                return answer;
            }
            std::thread::sleep(pause);
            failed += 1;
        }
    }

    /// One attempt; with the wait a rate limit asks for, when the answer is one.
    fn send_once(
        &self,
        method: &str,
        url: &str,
        body: Option<&Body<'_>>,
    ) -> Result<(Answer, Option<Duration>), Failure> {
        let shown = format!("{method} {}", relman_install::source::redact(url));
        let mut req = self.agent.request(method, url);
        req = match self.flavor {
            Flavor::GitHub => {
                req.set("Accept", "application/vnd.github+json").set("X-GitHub-Api-Version", "2022-11-28")
            }
            Flavor::Gitea | Flavor::GitLab { .. } => req.set("Accept", "application/json"),
        };
        if let Some(t) = &self.token {
            let (name, value) = self.flavor.auth(t);
            req = req.set(name, &value);
        }
        let result = match body {
            None => req.call(),
            Some(Body::Json(bytes)) => req.set("Content-Type", "application/json").send_bytes(bytes),
            Some(Body::File { path, size, content_type }) => {
                let file = std::fs::File::open(path).map_err(|e| Failure::io("open", path, e))?;
                req.set("Content-Type", content_type)
                    .set("Content-Length", &size.to_string())
                    .send(std::io::BufReader::with_capacity(1 << 20, file))
            }
            Some(Body::Multipart { path, size, name }) => {
                let boundary = "relman-5e1f0c0a9d2b4c7e";
                let head = format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                );
                let tail = format!("\r\n--{boundary}--\r\n");
                let file = std::fs::File::open(path).map_err(|e| Failure::io("open", path, e))?;
                let length = head.len() as u64 + size + tail.len() as u64;
                let reader = std::io::Cursor::new(head.into_bytes()).chain(file).chain(std::io::Cursor::new(tail));
                req.set("Content-Type", &format!("multipart/form-data; boundary={boundary}"))
                    .set("Content-Length", &length.to_string())
                    .send(reader)
            }
        };
        let response = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(ureq::Error::Transport(t)) => {
                return Err(Failure::network(format!("cannot reach the forge ({shown}): {t}")));
            }
        };
        let status = response.status();
        let next = response.header("link").and_then(next_link);
        let wait = rate_limit_wait(
            status,
            response.header("retry-after"),
            response.header("x-ratelimit-remaining"),
            response.header("x-ratelimit-reset"),
        );
        let mut body = Vec::new();
        response
            .into_reader()
            .take(64 << 20)
            .read_to_end(&mut body)
            .map_err(|e| Failure::network(format!("reading the answer to {shown} failed: {e}")))?;
        let wait = wait.or_else(|| secondary_limit(status, &body).then_some(SECONDARY_WAIT));
        Ok((Answer { status, next, body }, wait))
    }

    /// An asset's bytes: GitHub's asset API URL with `Accept: application/octet-stream` (it
    /// redirects to the storage), or Gitea's download URL.
    pub fn download(&self, url: &str) -> Result<Answer, Failure> {
        let mut failed = 0;
        loop {
            let mut req = self.agent.get(url).set("Accept", "application/octet-stream");
            if let Some(t) = &self.token {
                let (name, value) = self.flavor.auth(t);
                req = req.set(name, &value);
            }
            let shown = relman_install::source::redact(url);
            let response = match req.call() {
                Ok(r) => r,
                Err(ureq::Error::Status(_, r)) => r,
                Err(ureq::Error::Transport(t)) if failed < RETRIES => {
                    let _ = t;
                    std::thread::sleep(Duration::from_millis(200 << failed));
                    failed += 1;
                    continue;
                }
                Err(ureq::Error::Transport(t)) => {
                    return Err(Failure::network(format!("cannot download {shown}: {t}")));
                }
            };
            let status = response.status();
            if matches!(status, 429 | 500 | 502 | 503 | 504) && failed < RETRIES {
                std::thread::sleep(Duration::from_millis(200 << failed));
                failed += 1;
                continue;
            }
            let mut body = Vec::new();
            response
                .into_reader()
                .take(4 << 30)
                .read_to_end(&mut body)
                .map_err(|e| Failure::network(format!("downloading {shown} failed: {e}")))?;
            return Ok(Answer { status, next: None, body });
        }
    }

    /// A JSON request; the answer, whatever its status.
    pub fn json(&self, method: &str, url: &str, body: &Value) -> Result<Answer, Failure> {
        self.send(method, url, Some(&Body::Json(serde_json::to_vec(body).expect("json"))))
    }

    /// Every item of a paginated list, following `Link: rel="next"`; `Err` with the answer that
    /// was not a 200.
    pub fn get_all(&self, url: &str) -> Result<Result<Vec<Value>, Answer>, Failure> {
        let mut items = Vec::new();
        let mut at = Some(url.to_string());
        let mut pages = 0;
        while let Some(u) = at {
            let a = self.send("GET", &u, None)?;
            if a.status != 200 {
                return Ok(Err(a));
            }
            match a.json() {
                Value::Array(list) => items.extend(list),
                _ => return Ok(Err(a)),
            }
            pages += 1;
            if pages > 1000 {
                return Err(Failure::publish(format!("{url}: more than 1000 pages")));
            }
            at = a.next;
        }
        Ok(Ok(items))
    }
}

/// GitHub's advice for a secondary rate limit without `retry-after`: wait at least a minute.
const SECONDARY_WAIT: Duration = Duration::from_secs(60);

/// A 403/429 whose body says a secondary rate limit was hit (GitHub: "You have exceeded a
/// secondary rate limit", or a `documentation_url` ending in `secondary-rate-limits`).
fn secondary_limit(status: u16, body: &[u8]) -> bool {
    matches!(status, 403 | 429) && {
        let text = String::from_utf8_lossy(body).to_ascii_lowercase();
        text.contains("secondary rate limit") || text.contains("secondary-rate-limits") || text.contains("abuse")
    }
}

/// The `rel="next"` URL of a `Link` header.
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"")
            .then(|| url.trim().trim_start_matches('<').trim_end_matches('>').to_string())
    })
}

/// How long a rate limit asks to wait: `retry-after` (seconds) on a 403 or 429, else until
/// `x-ratelimit-reset` when `x-ratelimit-remaining` is 0 (GitHub's primary limit).
fn rate_limit_wait(
    status: u16,
    retry_after: Option<&str>,
    remaining: Option<&str>,
    reset: Option<&str>,
) -> Option<Duration> {
    if !matches!(status, 403 | 429) {
        return None;
    }
    if let Some(s) = retry_after.and_then(|v| v.trim().parse::<u64>().ok()) {
        return Some(Duration::from_secs(s.max(1)));
    }
    if remaining.map(str::trim) == Some("0") {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let reset = reset.and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(now + 1);
        return Some(Duration::from_secs(reset.saturating_sub(now).max(1)));
    }
    (status == 429).then(|| Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers() {
        let h = r#"<https://api.github.com/repositories/1/releases?page=2>; rel="next", <https://api.github.com/repositories/1/releases?page=5>; rel="last""#;
        assert_eq!(next_link(h).as_deref(), Some("https://api.github.com/repositories/1/releases?page=2"));
        assert_eq!(next_link(r#"<https://x/?page=1>; rel="prev""#), None);
    }

    #[test]
    fn rate_limits() {
        assert_eq!(rate_limit_wait(429, Some("3"), None, None), Some(Duration::from_secs(3)));
        assert_eq!(rate_limit_wait(403, None, Some("5"), None), None, "a plain 403 is not a rate limit");
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let w = rate_limit_wait(403, None, Some("0"), Some(&(now + 2).to_string())).unwrap();
        assert!(w >= Duration::from_secs(1) && w <= Duration::from_secs(2));
        assert_eq!(rate_limit_wait(200, Some("3"), Some("0"), None), None);
    }

    #[test]
    fn secondary_rate_limits_are_recognised() {
        let body = br#"{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}"#;
        assert!(secondary_limit(403, body));
        assert!(!secondary_limit(403, br#"{"message":"Resource not accessible by personal access token"}"#));
        assert!(!secondary_limit(200, body));
    }
}
