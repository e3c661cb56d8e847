//! One problem found by a check: where (file and line), what, expected and found, and the exit
//! class it belongs to. Shared by `relman check` ([`crate::lockstep`]), charts and images.

use std::fmt;

use relman_manifest::ErrorClass;
use serde::Serialize;

/// Which exit class a problem belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProblemClass {
    /// A file that cannot be read or a configured file that is missing.
    Config,
    /// The tag or the working tree.
    Git,
    /// A version or the changelog out of lockstep.
    Check,
}

impl ProblemClass {
    pub fn error_class(self) -> ErrorClass {
        match self {
            ProblemClass::Config => ErrorClass::Config,
            ProblemClass::Git => ErrorClass::Git,
            ProblemClass::Check => ErrorClass::Check,
        }
    }
}

/// One problem: where, what, expected and found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub class: ProblemClass,
    /// File relative to the root; `None` for the tag and the tree.
    pub file: Option<String>,
    /// 1-based line.
    pub line: Option<usize>,
    /// A lowercase fragment: "`package.version` is not the tagged version".
    pub what: String,
    pub expected: String,
    pub found: String,
}

impl Problem {
    /// `Cargo.toml:3`, `Cargo.toml`, or `git`.
    pub fn location(&self) -> String {
        match (&self.file, self.line) {
            (Some(f), Some(l)) => format!("{f}:{l}"),
            (Some(f), None) => f.clone(),
            (None, _) => "git".to_string(),
        }
    }
}

impl fmt::Display for Problem {
    /// `Cargo.toml:3: `package.version` is not the tagged version: expected `1.2.3`, found `1.2.2``
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: expected {}, found {}", self.location(), self.what, self.expected, self.found)
    }
}
