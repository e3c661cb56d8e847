//! Named points where the crash suite kills relman (`tests/crash.rs` of the `relman` crate).
//!
//! With `RELMAN_TEST_CRASH_AT=<name>` set, the process that reaches the point `name` creates
//! the file `RELMAN_TEST_CRASH_READY` (a path) and stops there, until the test SIGKILLs it: a
//! kill driven by an event, at an exact point inside a write, not by a timer. Without the
//! variable (every real run) a point is one environment lookup, done once per process.

use std::sync::OnceLock;

/// The point to stop at, read once.
fn target() -> Option<&'static str> {
    static AT: OnceLock<Option<String>> = OnceLock::new();
    AT.get_or_init(|| std::env::var("RELMAN_TEST_CRASH_AT").ok().filter(|s| !s.is_empty())).as_deref()
}

/// Marks the point `name`; see the module notes.
pub fn point(name: &str) {
    if target() != Some(name) {
        return;
    }
    if let Some(ready) = std::env::var_os("RELMAN_TEST_CRASH_READY") {
        let _ = std::fs::write(ready, name);
    }
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}
