//! Expected failures and the stable exit-code table.
//!
//! A [`Failure`] is an error the user can act on: bad config, bad tag, a checksum that does not
//! match, a remote that holds something else. Its message is one line that names the file, key,
//! tag, URL or artifact; an optional hint says what to do. Anything that is not a `Failure` is a
//! bug and exits with [`ErrorClass::Internal`].
//!
//! Exit codes are part of relman's interface: never renumber, only add.

use std::fmt;

/// One class of failure, each with its own exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// 1: an unexpected error (a bug, or an I/O failure outside relman's control).
    Internal,
    /// 2: the command line is wrong.
    Usage,
    /// 3: `relman.toml` is missing a value, has an unknown key or a wrong type.
    Config,
    /// 4: the repository is not in a releasable state (tag missing, not semver, not at HEAD, dirty).
    Git,
    /// 5: a build command failed or an expected output is missing.
    Build,
    /// 6: packaging failed (archive, checksums, index).
    Package,
    /// 7: verification failed: a digest, size or listing does not match.
    Verify,
    /// 8: a destination refused the release or holds something else under the same version.
    Publish,
    /// 9: a promotion gate failed (pre-release, downgrade, unverified files).
    PromoteGate,
    /// 10: installing failed: no build for this platform, an unsafe archive, nothing to roll back.
    Install,
    /// 11: a remote could not be reached or answered with an error.
    Network,
    /// 12: `relman check` found versions out of lockstep or an unfinished changelog.
    Check,
    /// 13: another relman holds the lock of this destination, prefix or project.
    Busy,
}

impl ErrorClass {
    pub const ALL: [ErrorClass; 13] = [
        ErrorClass::Internal,
        ErrorClass::Usage,
        ErrorClass::Config,
        ErrorClass::Git,
        ErrorClass::Build,
        ErrorClass::Package,
        ErrorClass::Verify,
        ErrorClass::Publish,
        ErrorClass::PromoteGate,
        ErrorClass::Install,
        ErrorClass::Network,
        ErrorClass::Check,
        ErrorClass::Busy,
    ];

    /// The process exit code for this class.
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorClass::Internal => 1,
            ErrorClass::Usage => 2,
            ErrorClass::Config => 3,
            ErrorClass::Git => 4,
            ErrorClass::Build => 5,
            ErrorClass::Package => 6,
            ErrorClass::Verify => 7,
            ErrorClass::Publish => 8,
            ErrorClass::PromoteGate => 9,
            ErrorClass::Install => 10,
            ErrorClass::Network => 11,
            ErrorClass::Check => 12,
            ErrorClass::Busy => 13,
        }
    }

    /// Short machine name, used in `--json` output.
    pub fn name(self) -> &'static str {
        match self {
            ErrorClass::Internal => "internal",
            ErrorClass::Usage => "usage",
            ErrorClass::Config => "config",
            ErrorClass::Git => "git",
            ErrorClass::Build => "build",
            ErrorClass::Package => "package",
            ErrorClass::Verify => "verify",
            ErrorClass::Publish => "publish",
            ErrorClass::PromoteGate => "promote-gate",
            ErrorClass::Install => "install",
            ErrorClass::Network => "network",
            ErrorClass::Check => "check",
            ErrorClass::Busy => "busy",
        }
    }
}

/// An expected failure: class, one-line message, optional hint.
#[derive(Debug, Clone)]
pub struct Failure {
    pub class: ErrorClass,
    pub message: String,
    pub hint: Option<String>,
}

impl Failure {
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        Failure { class, message: message.into(), hint: None }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Internal, message)
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Usage, message)
    }
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Config, message)
    }
    pub fn git(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Git, message)
    }
    pub fn build(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Build, message)
    }
    pub fn package(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Package, message)
    }
    pub fn verify(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Verify, message)
    }
    pub fn publish(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Publish, message)
    }
    pub fn gate(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::PromoteGate, message)
    }
    pub fn install(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Install, message)
    }
    pub fn network(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Network, message)
    }
    pub fn check(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Check, message)
    }
    pub fn busy(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Busy, message)
    }

    /// An I/O error on a named path, as an internal failure (message names the path).
    pub fn io(what: &str, path: &std::path::Path, err: std::io::Error) -> Self {
        Self::internal(format!("failed to {what} `{}`: {err}", path.display()))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_distinct_and_stable() {
        let codes: Vec<i32> = ErrorClass::ALL.iter().map(|c| c.exit_code()).collect();
        assert_eq!(codes, (1..=13).collect::<Vec<_>>());
    }
}
