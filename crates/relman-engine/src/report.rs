//! How the engine tells the world what it is doing: a [`Reporter`] the CLI implements.
//!
//! The engine never prints. Stages call the reporter; the CLI renders progress bars on a
//! terminal, plain lines otherwise, and nothing but the final JSON under `--json`.

/// Receives progress from the engine. Implementations must be cheap and thread-safe.
pub trait Reporter: Sync {
    /// A stage starts (`build`, `package`, `publish`, ...).
    fn stage(&self, _name: &str) {}
    /// Something happened inside the current stage, one line.
    fn step(&self, _message: &str) {}
    /// A long piece of work starts: `total` bytes are expected (0 when unknown).
    fn work_start(&self, _label: &str, _total: u64) {}
    /// `n` more bytes of the current work are done.
    fn work_advance(&self, _n: u64) {}
    /// The current work is finished.
    fn work_end(&self) {}
    /// A warning the user should see.
    fn warn(&self, _message: &str) {}
}

/// A reporter that drops everything (tests, library callers).
pub struct Silent;
impl Reporter for Silent {}

/// `1 package`, `2 packages`: a count and a regular English noun.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The line of a command's log worth showing in an error: the last `error…` line, else the
/// last non-empty one.
pub fn last_meaningful_line(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    lines
        .iter()
        .rev()
        .find(|l| l.starts_with("error"))
        .or_else(|| lines.last())
        .map(|l| format!("last output: {l}"))
        .unwrap_or_else(|| "the build printed nothing".into())
}
