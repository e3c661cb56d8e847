//! The vulnerability gate: every package of every SBOM of the release (each archive's and each
//! image platform's SPDX document) matched, offline, against a database of OSV records or
//! RustSec advisories ([`db`]), each ecosystem with its own version order ([`version`]).
//! Aliases fold into one finding; ignores carry a reason and may expire; findings at or above
//! the threshold fail `package` (before anything is published) and `promote` (the database
//! may know more by then) with exit 9.

pub mod db;
pub mod version;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use relman_manifest::Failure;
use serde::Serialize;

pub use crate::advisory::{Ignore, Severity, VulnConfig};
use crate::planned::Planned;
use relman_install::source::percent_decode as decode;
use version::Eco;

/// One package of an SBOM.
#[derive(Clone, Debug)]
pub struct SbomPackage {
    pub name: String,
    pub version: String,
    pub purl: Option<String>,
    /// The source package (Debian), also matched.
    pub source: Option<String>,
}

/// What was scanned: where (`archive x86_64-unknown-linux-gnu`, `image api linux/amd64`) and
/// its packages.
pub struct Scanned {
    pub place: String,
    pub packages: Vec<SbomPackage>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub package: String,
    pub version: String,
    pub ecosystem: String,
    pub id: String,
    pub aliases: Vec<String>,
    pub severity: Option<Severity>,
    pub fixed: Option<String>,
    pub summary: String,
    pub found_in: Vec<String>,
    /// The ignore's reason when one applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct VulnReport {
    pub database: String,
    pub database_digest: String,
    pub database_date: Option<String>,
    pub threshold: Severity,
    pub packages_checked: usize,
    /// Packages without a purl, or of an ecosystem the database cannot speak for.
    pub packages_not_checked: usize,
    pub findings: Vec<Finding>,
    pub warnings: Vec<String>,
}

impl VulnReport {
    /// Findings that fail the gate: not ignored, at or above the threshold (or unrated).
    pub fn blocking(&self) -> Vec<&Finding> {
        self.findings.iter().filter(|f| f.ignored.is_none() && f.severity.is_none_or(|s| s >= self.threshold)).collect()
    }

    /// The gate's failure, when anything blocks.
    pub fn gate(&self, stage: &str) -> Result<(), Failure> {
        let blocking = self.blocking();
        if blocking.is_empty() {
            return Ok(());
        }
        let list: Vec<String> = blocking
            .iter()
            .map(|f| {
                format!(
                    "{} ({}) in {}@{}{} [{}]",
                    f.id,
                    f.severity.map(|s| s.as_str()).unwrap_or("severity unknown"),
                    f.package,
                    f.version,
                    f.fixed.as_ref().map(|x| format!(", fixed in {x}")).unwrap_or_default(),
                    f.found_in.join(", ")
                )
            })
            .collect();
        Err(Failure::gate(format!(
            "{stage}: {} vulnerabilit{} at or above {}: {}",
            blocking.len(),
            if blocking.len() == 1 { "y" } else { "ies" },
            self.threshold.as_str(),
            list.join("; ")
        ))
        .with_hint(
            "upgrade the package, or accept it for now in gate.vulnerabilities.ignore with a reason and an expiry date",
        ))
    }

    /// What the release record keeps of this check.
    pub fn record(&self, stage: &str) -> relman_manifest::VulnerabilityCheck {
        relman_manifest::VulnerabilityCheck {
            stage: stage.to_string(),
            database_digest: self.database_digest.clone(),
            database_date: self.database_date.clone(),
            packages_checked: self.packages_checked,
            packages_not_checked: self.packages_not_checked,
            findings: self.findings.len(),
            blocking: self.blocking().len(),
        }
    }

    /// `vulnerabilities.md`: one table row per finding.
    pub fn markdown(&self) -> String {
        let mut t = format!(
            "# Vulnerabilities\n\nDatabase `{}` (sha256 {}, newest record {}); threshold {}; {} packages checked, {} not checked.\n\n",
            self.database,
            &self.database_digest[..12.min(self.database_digest.len())],
            self.database_date.as_deref().unwrap_or("undated"),
            self.threshold.as_str(),
            self.packages_checked,
            self.packages_not_checked
        );
        if self.findings.is_empty() {
            t.push_str("No known vulnerabilities.\n");
            return t;
        }
        t.push_str("| package | version | id | aliases | severity | fixed in | found in | status |\n|---|---|---|---|---|---|---|---|\n");
        let cell = |s: &str| s.replace('|', "\\|");
        for f in &self.findings {
            t.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
                cell(&f.package),
                cell(&f.version),
                cell(&f.id),
                cell(&f.aliases.join(", ")),
                f.severity.map(|s| s.as_str()).unwrap_or("unknown"),
                cell(f.fixed.as_deref().unwrap_or("")),
                cell(&f.found_in.join(", ")),
                f.ignored.as_ref().map(|r| format!("ignored: {}", cell(r))).unwrap_or_else(|| "open".into())
            ));
        }
        t
    }
}

/// A purl's parts, decoded: (type, namespace, name, version, qualifiers).
pub type PurlParts = (String, Option<String>, String, String, BTreeMap<String, String>);

/// `pkg:TYPE/NS/NAME@VERSION?…` → its parts, decoded.
pub fn parse_purl(purl: &str) -> Option<PurlParts> {
    let rest = purl.strip_prefix("pkg:")?;
    let rest = rest.split('#').next()?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (path, version) = path.rsplit_once('@')?;
    let mut segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if segs.len() < 2 {
        return None;
    }
    let kind = segs.remove(0).to_ascii_lowercase();
    let name = decode(segs.pop()?);
    let ns = (!segs.is_empty()).then(|| segs.iter().map(|s| decode(s)).collect::<Vec<_>>().join("/"));
    let q = query.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_string(), decode(v))).collect();
    Some((kind, ns, name, decode(version), q))
}

/// The ecosystem and database name of a purl.
fn eco_name(purl: &str) -> Option<(Eco, String, String)> {
    let (kind, ns, name, version, _) = parse_purl(purl)?;
    let eco = match kind.as_str() {
        "cargo" => Eco::Crates,
        "npm" => Eco::Npm,
        "pypi" => Eco::PyPI,
        "golang" => Eco::Go,
        "deb" => Eco::Debian,
        "apk" => Eco::Alpine,
        _ => return None,
    };
    let full = match (eco, ns) {
        (Eco::Npm | Eco::Go, Some(ns)) => format!("{ns}/{name}"),
        _ => name,
    };
    Some((eco, db::normalize(eco, &full), version))
}

/// The packages of an SPDX 2.3 JSON document.
pub fn spdx_packages(text: &str, origin: &str) -> Result<Vec<SbomPackage>, Failure> {
    let doc: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| Failure::package(format!("`{origin}` is not an SPDX JSON document: {e}")))?;
    let mut out = Vec::new();
    for p in doc["packages"].as_array().into_iter().flatten() {
        let purl = p["externalRefs"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["referenceType"] == "purl")
            .and_then(|r| r["referenceLocator"].as_str())
            .map(str::to_string);
        let source = p["comment"].as_str().and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix(&format!("{}: ", crate::sbom::DEB_SOURCE_PROPERTY)).map(str::to_string))
        });
        out.push(SbomPackage {
            name: p["name"].as_str().unwrap_or("").to_string(),
            version: p["versionInfo"].as_str().unwrap_or("").to_string(),
            purl,
            source,
        });
    }
    Ok(out)
}

/// The release's SBOMs: each archive's SPDX document and each image platform's.
pub fn release_sboms(planned: &Planned) -> Result<Vec<Scanned>, Failure> {
    let mut out = Vec::new();
    for a in planned
        .manifest
        .artifacts
        .iter()
        .filter(|a| a.kind == relman_manifest::ArtifactKind::Sbom && a.name.ends_with(crate::planned::SPDX_EXT))
    {
        let path = planned.artifact_path(&a.name);
        let text = crate::fsutil::read_to_string(&path)?;
        let place = format!("archive {}", a.target.as_deref().unwrap_or(&a.name));
        out.push(Scanned { place, packages: spdx_packages(&text, &path.display().to_string())? });
    }
    let images = planned.version_dir.join("images");
    if let Ok(entries) = std::fs::read_dir(&images) {
        let mut paths: Vec<PathBuf> =
            entries.flatten().map(|e| e.path()).filter(|p| p.to_string_lossy().ends_with(".spdx.json")).collect();
        paths.sort();
        for path in paths {
            let text = crate::fsutil::read_to_string(&path)?;
            let stem =
                path.file_name().unwrap_or_default().to_string_lossy().trim_end_matches(".spdx.json").to_string();
            out.push(Scanned {
                place: format!("image {stem}"),
                packages: spdx_packages(&text, &path.display().to_string())?,
            });
        }
    }
    Ok(out)
}

/// Today, `YYYY-MM-DD` (UTC), for ignores' expiry.
pub fn today() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    relman_manifest::time::date(now as i64)
}

/// Matches every scanned package against `db`.
pub fn scan(db: &db::Database, scanned: &[Scanned], cfg: &VulnConfig, today: &str) -> VulnReport {
    let mut warnings = db.warnings.clone();
    let mut checked = 0;
    let mut not_checked = 0;
    // (ecosystem, package, version) → record index → (fixed, places)
    type Places = BTreeMap<usize, (Option<String>, BTreeSet<String>)>;
    let mut hits: BTreeMap<(String, String, String), Places> = BTreeMap::new();
    for s in scanned {
        for p in &s.packages {
            let Some((eco, name, version)) = p.purl.as_deref().and_then(eco_name) else {
                not_checked += 1;
                continue;
            };
            checked += 1;
            let mut names = vec![name.clone()];
            if let Some(src) = &p.source {
                names.push(db::normalize(eco, src));
            }
            for n in &names {
                for &(ri, ai) in db.by_package.get(&(eco, n.clone())).into_iter().flatten() {
                    let a = &db.records[ri].affected[ai];
                    match affected(eco, a, &version) {
                        Ok(Some(fixed)) => {
                            let e = hits
                                .entry((eco.osv_name().to_string(), name.clone(), version.clone()))
                                .or_default()
                                .entry(ri)
                                .or_insert((None, BTreeSet::new()));
                            e.0 = e.0.take().or(fixed);
                            e.1.insert(s.place.clone());
                        }
                        Ok(None) => {}
                        Err(why) => warnings.push(format!("{}: {why}", db.records[ri].id)),
                    }
                }
            }
        }
    }
    let mut findings = Vec::new();
    for ((eco, package, version), records) in hits {
        // Aliases fold: records sharing an id or alias are one finding.
        let mut groups: Vec<(BTreeSet<String>, Vec<usize>)> = Vec::new();
        for &ri in records.keys() {
            let r = &db.records[ri];
            let ids: BTreeSet<String> = std::iter::once(r.id.clone()).chain(r.aliases.iter().cloned()).collect();
            let mut merged = (ids, vec![ri]);
            groups.retain(|g| {
                if g.0.is_disjoint(&merged.0) {
                    true
                } else {
                    merged.0.extend(g.0.iter().cloned());
                    merged.1.extend(&g.1);
                    false
                }
            });
            groups.push(merged);
        }
        for (ids, members) in groups {
            let primary = members
                .iter()
                .map(|&ri| db.records[ri].id.clone())
                .min_by_key(|id| (id.starts_with("CVE-"), id.clone()))
                .unwrap_or_default();
            let severity = members
                .iter()
                .filter_map(|&ri| {
                    let r = &db.records[ri];
                    r.affected.iter().filter(|a| a.name == package).filter_map(|a| a.severity).max().or(r.severity)
                })
                .max();
            let fixed = members.iter().filter_map(|&ri| records[&ri].0.clone()).next();
            let found_in: BTreeSet<String> = members.iter().flat_map(|&ri| records[&ri].1.iter().cloned()).collect();
            let summary =
                members.iter().map(|&ri| db.records[ri].summary.clone()).find(|s| !s.is_empty()).unwrap_or_default();
            let mut ignored = None;
            for ig in cfg.ignore.iter().filter(|ig| ids.contains(&ig.id)) {
                match &ig.expires {
                    Some(exp) if exp.as_str() < today => {
                        warnings.push(format!("the ignore of {} expired on {exp}: it counts again", ig.id))
                    }
                    _ => ignored = Some(ig.reason.clone()),
                }
            }
            findings.push(Finding {
                package: package.clone(),
                version: version.clone(),
                ecosystem: eco.clone(),
                aliases: ids.iter().filter(|i| **i != primary).cloned().collect(),
                id: primary,
                severity,
                fixed,
                summary,
                found_in: found_in.into_iter().collect(),
                ignored,
            });
        }
    }
    findings.sort_by(|a, b| {
        b.severity.cmp(&a.severity).then_with(|| a.package.cmp(&b.package)).then_with(|| a.id.cmp(&b.id))
    });
    VulnReport {
        database: db.path.display().to_string(),
        database_digest: db.digest.clone(),
        database_date: db.date.clone(),
        threshold: cfg.severity.unwrap_or(Severity::High),
        packages_checked: checked,
        packages_not_checked: not_checked,
        findings,
        warnings,
    }
}

/// Whether `version` is in `a`: `Ok(Some(fixed))` when affected (with the first fixed version
/// above it, if any), `Ok(None)` when not, `Err` when a version cannot be read.
fn affected(eco: Eco, a: &db::Affected, version: &str) -> Result<Option<Option<String>>, String> {
    if a.versions.iter().any(|v| v == version) {
        return Ok(Some(None));
    }
    for range in &a.ranges {
        match range {
            db::Range::NotMatching(reqs) => {
                let v = semver::Version::parse(version).map_err(|e| format!("version `{version}`: {e}"))?;
                if !reqs.iter().any(|r| r.matches(&v)) {
                    let fixed = reqs
                        .iter()
                        .filter_map(|r| r.comparators.first())
                        .filter(|c| matches!(c.op, semver::Op::GreaterEq | semver::Op::Caret | semver::Op::Tilde))
                        .map(|c| format!("{}.{}.{}", c.major, c.minor.unwrap_or(0), c.patch.unwrap_or(0)))
                        .find(|f| semver::Version::parse(f).is_ok_and(|f| f > v));
                    return Ok(Some(fixed));
                }
            }
            db::Range::Events(events) => {
                let cmp =
                    |x: &str, y: &str| eco.compare(x, y).ok_or_else(|| format!("cannot compare `{x}` with `{y}`"));
                let key = |e: &db::Event| match e {
                    db::Event::Introduced(v)
                    | db::Event::Fixed(v)
                    | db::Event::LastAffected(v)
                    | db::Event::Limit(v) => v.clone(),
                };
                let mut sorted: Vec<&db::Event> = events.iter().filter(|e| !matches!(e, db::Event::Limit(_))).collect();
                let mut err = None;
                sorted.sort_by(|x, y| {
                    cmp(&key(x), &key(y)).unwrap_or_else(|e| {
                        err = Some(e);
                        std::cmp::Ordering::Equal
                    })
                });
                if let Some(e) = err {
                    return Err(e);
                }
                let mut hit = false;
                let mut fixed = None;
                for e in sorted {
                    match e {
                        db::Event::Introduced(v) if cmp(version, v)?.is_ge() => hit = true,
                        db::Event::Fixed(v) if cmp(version, v)?.is_ge() => hit = false,
                        db::Event::Fixed(v) if hit && fixed.is_none() => fixed = Some(v.clone()),
                        db::Event::LastAffected(v) if cmp(version, v)?.is_gt() => hit = false,
                        _ => {}
                    }
                }
                let limits: Vec<&String> =
                    events.iter().filter_map(|e| if let db::Event::Limit(v) = e { Some(v) } else { None }).collect();
                if hit && !limits.is_empty() {
                    let mut below = false;
                    for l in limits {
                        below |= cmp(version, l)?.is_lt();
                    }
                    hit = below;
                }
                if hit {
                    return Ok(Some(fixed));
                }
            }
        }
    }
    Ok(None)
}

/// Loads the configured database and scans the release's SBOMs; writes
/// `dist/<version>/vulnerabilities.json` and `.md`.
pub fn check_release(planned: &Planned, cfg: &VulnConfig) -> Result<VulnReport, Failure> {
    let db = db::load(&planned.settings.root.join(&cfg.db))?;
    let scanned = release_sboms(planned)?;
    let report = scan(&db, &scanned, cfg, &today());
    write_report(&planned.version_dir, &report)?;
    Ok(report)
}

/// Scans the project's lockfiles (what its archives' SBOMs will list) without a release:
/// `relman check --vulnerabilities`.
pub fn check_project(root: &Path, cfg: &VulnConfig) -> Result<VulnReport, Failure> {
    let db = db::load(&root.join(&cfg.db))?;
    let inventory = crate::sbom::collect(root, &crate::sbom::CollectOptions::default())?;
    let packages = inventory
        .packages
        .iter()
        .map(|p| SbomPackage {
            name: p.name.clone(),
            version: p.version.clone(),
            purl: Some(p.purl.clone()),
            source: None,
        })
        .collect();
    let place = format!("lockfiles ({})", inventory.lockfiles.join(", "));
    Ok(scan(&db, &[Scanned { place, packages }], cfg, &today()))
}

pub fn write_report(dir: &Path, report: &VulnReport) -> Result<(), Failure> {
    let json = serde_json::to_string_pretty(report).expect("report serializes") + "\n";
    crate::fsutil::write_atomic(&dir.join("vulnerabilities.json"), json.as_bytes())?;
    crate::fsutil::write_atomic(&dir.join("vulnerabilities.md"), report.markdown().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls() {
        let (k, ns, n, v, q) = parse_purl("pkg:deb/debian/libc6@2.36-9%2Bdeb12u3?arch=amd64&distro=debian-12").unwrap();
        assert_eq!(
            (k.as_str(), ns.as_deref(), n.as_str(), v.as_str()),
            ("deb", Some("debian"), "libc6", "2.36-9+deb12u3")
        );
        assert_eq!(q["distro"], "debian-12");
        assert_eq!(eco_name("pkg:npm/%40types/node@20.1.0").unwrap().1, "@types/node");
        assert_eq!(eco_name("pkg:golang/golang.org/x/net@v0.17.0").unwrap().1, "golang.org/x/net");
        assert_eq!(eco_name("pkg:pypi/Django_Rest@1.0").unwrap().1, "django-rest");
    }
}
