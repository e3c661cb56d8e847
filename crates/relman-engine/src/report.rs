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
