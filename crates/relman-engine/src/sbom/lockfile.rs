//! Parsing helpers shared by the lockfile readers: one-line errors that name the lockfile, the
//! line and the key, and a hint saying how to regenerate it.

use relman_manifest::Failure;
use serde::de::DeserializeOwned;

/// Parses TOML into `T`; on failure a config error naming `origin`, the line and the key path.
pub fn parse_toml<T: DeserializeOwned>(text: &str, origin: &str, hint: &str) -> Result<T, Failure> {
    let de = toml::Deserializer::new(text);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let line = inner.span().map(|s| line_of(text, s.start));
        invalid(origin, line, &path, inner.message(), hint)
    })
}

/// Parses JSON into `T`; on failure a config error naming `origin`, the line and the key path.
pub fn parse_json<T: DeserializeOwned>(text: &str, origin: &str, hint: &str) -> Result<T, Failure> {
    let mut de = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let line = (inner.line() > 0).then_some(inner.line());
        // serde_json appends " at line L column C"; the line is reported separately.
        let msg = inner.to_string();
        let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        invalid(origin, line, &path, &msg, hint)
    })
}

/// `invalid lockfile `<origin>` line <n> at `<key>`: <message>` with `hint`.
pub fn invalid(origin: &str, line: Option<usize>, key: &str, message: &str, hint: &str) -> Failure {
    let at_line = line.map(|l| format!(" line {l}")).unwrap_or_default();
    let at_key = if key.is_empty() || key == "." { String::new() } else { format!(" at `{key}`") };
    let message = message.trim().replace('\n', " ");
    Failure::config(format!("invalid lockfile `{origin}`{at_line}{at_key}: {message}")).with_hint(hint.to_string())
}

/// 1-based line of byte offset `at`.
pub fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}
