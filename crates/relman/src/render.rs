//! Rendering: the terminal reporter (progress bars on a TTY, plain lines otherwise, nothing
//! under --json or --quiet) and the error format.
//!
//! Errors: `error: <one line>` then `hint: <text>` on stderr; under --json one JSON object
//! on stdout: `{"error":{"class":..,"exit_code":..,"message":..,"hint":..}}`.
//!
//! Everything printed passes [`redact_text`]: a `user:password@` inside any URL becomes
//! `****@`, whichever layer formatted the text (a safety net; the engine redacts too).

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use relman_engine::report::Reporter;
use relman_install::source::redact_text;
use relman_manifest::Failure;

pub fn failure(f: &Failure, json: bool) {
    if json {
        let v = serde_json::json!({
            "error": {
                "class": f.class.name(),
                "exit_code": f.class.exit_code(),
                "message": redact_text(&f.message),
                "hint": f.hint.as_deref().map(redact_text),
            }
        });
        outln!("{v}");
    } else {
        eprintln!("error: {}", redact_text(&f.message));
        if let Some(h) = &f.hint {
            for line in h.lines() {
                eprintln!("hint: {}", redact_text(line));
            }
        }
    }
}

/// Prints a JSON value on stdout.
pub fn json<T: serde::Serialize>(value: &T) {
    outln!("{}", redact_text(&serde_json::to_string_pretty(value).expect("serializable")));
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Silent,
    Plain,
    Fancy,
}

/// Renders engine progress on stderr.
pub struct Term {
    mode: Mode,
    quiet: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl Term {
    pub fn new(json: bool, quiet: bool) -> Term {
        let mode = if json || quiet {
            Mode::Silent
        } else if std::io::stderr().is_terminal() && std::env::var_os("CI").is_none() {
            Mode::Fancy
        } else {
            Mode::Plain
        };
        Term { mode, quiet, bar: Mutex::new(None) }
    }

    fn line(&self, text: &str) {
        let text = &redact_text(text);
        match self.mode {
            Mode::Silent => {}
            Mode::Plain => eprintln!("{text}"),
            Mode::Fancy => match &*self.bar.lock().expect("bar") {
                Some(b) => b.println(text),
                None => eprintln!("{text}"),
            },
        }
    }
}

impl Reporter for Term {
    fn stage(&self, name: &str) {
        if self.mode == Mode::Fancy {
            self.line(&format!("\x1b[1m{name}\x1b[0m"));
        } else {
            self.line(&format!("== {name}"));
        }
    }

    fn step(&self, message: &str) {
        self.line(&format!("   {message}"));
    }

    fn warn(&self, message: &str) {
        // Warnings go to stderr even under --json (stdout stays one JSON document); --quiet drops them.
        if !self.quiet {
            eprintln!("warning: {}", redact_text(message));
        }
    }

    fn work_start(&self, label: &str, total: u64) {
        if self.mode != Mode::Fancy {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("   {msg:40!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}")
                .expect("template")
                .progress_chars("=> "),
        );
        bar.set_message(label.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        *self.bar.lock().expect("bar") = Some(bar);
    }

    fn work_advance(&self, n: u64) {
        if let Some(b) = &*self.bar.lock().expect("bar") {
            b.inc(n);
        }
    }

    fn work_end(&self) {
        if let Some(b) = self.bar.lock().expect("bar").take() {
            b.finish_and_clear();
        }
    }
}
