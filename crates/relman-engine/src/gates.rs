//! Promotion gates shared by every destination kind, written once.
//!
//! A destination gathers its own facts (what is published, what `latest` holds) and turns
//! them into [`Gate`]s with these functions, so `stable` and `not-older` read the same
//! everywhere.

use semver::Version;

use serde::Serialize;

use crate::report::Reporter;

/// One promotion gate and its result.
#[derive(Clone, Debug, Serialize)]
pub struct Gate {
    pub name: &'static str,
    pub passed: bool,
    pub detail: String,
}

/// Pre-releases never become latest.
pub fn stable(version: &Version) -> Gate {
    let passed = version.pre.is_empty();
    Gate {
        name: "stable",
        passed,
        detail: if passed {
            format!("{version} is a stable version")
        } else {
            format!("{version} is a pre-release; pre-releases never become latest")
        },
    }
}

/// Never backwards: `version` against what `pointer` holds now (`current`), unless
/// `allow_downgrade`.
pub fn not_older(version: &Version, pointer: &str, current: Option<&Version>, allow_downgrade: bool) -> Gate {
    let Some(current) = current else {
        return Gate { name: "not-older", passed: true, detail: format!("no {pointer} yet") };
    };
    let older = version.cmp_precedence(current).is_lt();
    Gate {
        name: "not-older",
        passed: !older || allow_downgrade,
        detail: if older && allow_downgrade {
            format!("{version} is older than {pointer} {current}, allowed by --allow-downgrade")
        } else if older {
            format!("{version} is older than {pointer} {current}")
        } else {
            format!("{pointer} is {current}")
        },
    }
}

/// `stable`, then `not-older` against the stable version `channels` names (the pointer of
/// file destinations); also that version, for the report.
pub fn from_channels(
    version: &Version,
    channels: Option<&relman_manifest::Channels>,
    allow_downgrade: bool,
) -> ([Gate; 2], Option<String>) {
    let previous = channels.and_then(|c| c.stable.as_ref()).map(|e| e.version.clone());
    let previous_v = previous.as_deref().and_then(|p| Version::parse(p).ok());
    ([stable(version), not_older(version, "latest", previous_v.as_ref(), allow_downgrade)], previous)
}

/// Whether version `a` is newer than `b` (both semver; an unreadable one is not newer).
pub fn newer(a: &str, b: &str) -> bool {
    matches!((Version::parse(a), Version::parse(b)), (Ok(a), Ok(b)) if a > b)
}

/// A sink for gates as a destination evaluates them: each is reported as a step
/// (`gate NAME: pass|FAIL (detail)`) and kept in `gates`.
pub fn logged<'a>(reporter: &'a dyn Reporter, gates: &'a mut Vec<Gate>) -> impl FnMut(Gate) + 'a {
    move |g: Gate| {
        reporter.step(&format!("gate {}: {} ({})", g.name, if g.passed { "pass" } else { "FAIL" }, g.detail));
        gates.push(g);
    }
}

/// The `signed` gate of a file destination, when the project says who signs: with
/// `sign.public_key`, every file must be signed by that key; keyless with `sign.trusted_root`
/// and `sign.certificate_*`, by that identity. `None` when the project names neither (or there
/// is no project record).
pub fn signed(
    record: Option<&crate::planned::Planned>,
    at: &relman_install::Location,
) -> Result<Option<Gate>, relman_manifest::Failure> {
    let Some(planned) = record else { return Ok(None) };
    let s = &planned.settings;
    let mut opts = relman_install::verify::VerifyOptions { require_signatures: true, ..Default::default() };
    if s.keyless {
        let Some(expected) = &s.expected_signer else { return Ok(None) };
        opts.identity = Some(expected.policy()?);
    } else if let Some(p) = &s.public_key {
        opts.key = Some(relman_sign::PublicKey::from_file(p)?);
    } else {
        return Ok(None);
    }
    let who = opts.trust().map(|t| t.describe()).unwrap_or_default();
    Ok(Some(match relman_install::verify::verify_release_with(at, &opts) {
        Ok(report) if report.is_ok() => {
            Gate { name: "signed", passed: true, detail: format!("every file is signed by {who}") }
        }
        Ok(report) => Gate { name: "signed", passed: false, detail: report.problems.join("; ") },
        Err(e) => Gate { name: "signed", passed: false, detail: e.message },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn stable_and_not_older() {
        assert!(stable(&v("1.0.0")).passed);
        assert!(!stable(&v("1.0.0-rc.1")).passed);
        assert!(not_older(&v("1.0.0"), "latest", None, false).passed);
        assert!(not_older(&v("1.1.0"), "latest", Some(&v("1.0.0")), false).passed);
        assert!(not_older(&v("1.0.0"), "latest", Some(&v("1.0.0")), false).passed);
        let g = not_older(&v("0.9.0"), "latest", Some(&v("1.0.0")), false);
        assert!(!g.passed && g.detail == "0.9.0 is older than latest 1.0.0");
        assert!(not_older(&v("0.9.0"), "latest", Some(&v("1.0.0")), true).passed);
    }
}
