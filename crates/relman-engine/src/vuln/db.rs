//! The vulnerability database: OSV records (a directory of `.json` files, or a zip of them as
//! osv.dev publishes `all.zip` per ecosystem) and RustSec advisories (an advisory-db checkout:
//! `crates/<name>/RUSTSEC-*.md`, TOML front matter), read into one index by package.

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use relman_manifest::hash::{sha256_raw, Hasher};
use relman_manifest::Failure;
use serde::Deserialize;

use super::version::Eco;
use crate::advisory::Severity;

#[derive(Clone, Debug)]
pub enum Event {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
    Limit(String),
}

#[derive(Clone, Debug)]
pub enum Range {
    /// OSV `SEMVER` or `ECOSYSTEM` events, in the ecosystem's own order.
    Events(Vec<Event>),
    /// RustSec: affected unless a `patched` or `unaffected` requirement matches.
    NotMatching(Vec<semver::VersionReq>),
}

#[derive(Clone, Debug)]
pub struct Affected {
    pub eco: Eco,
    pub name: String,
    pub ranges: Vec<Range>,
    pub versions: Vec<String>,
    pub severity: Option<Severity>,
}

#[derive(Clone, Debug)]
pub struct Record {
    pub id: String,
    pub aliases: Vec<String>,
    pub summary: String,
    pub severity: Option<Severity>,
    pub affected: Vec<Affected>,
}

pub struct Database {
    pub path: PathBuf,
    pub records: Vec<Record>,
    /// (ecosystem, package name) → (record, affected entry).
    pub by_package: HashMap<(Eco, String), Vec<(usize, usize)>>,
    /// sha256 of the database's contents (the zip file, or every file's path and digest).
    pub digest: String,
    /// The newest `modified` (OSV) or `date` (RustSec) of its records.
    pub date: Option<String>,
    pub withdrawn: usize,
    /// Records or ranges skipped, with why (an unknown range type is never silently passed).
    pub warnings: Vec<String>,
}

/// How a package name is compared within an ecosystem (PyPI: PEP 503).
pub fn normalize(eco: Eco, name: &str) -> String {
    match eco {
        Eco::PyPI => crate::sbom::purl::normalize_python_name(name),
        Eco::Debian | Eco::Alpine => name.to_ascii_lowercase(),
        _ => name.to_string(),
    }
}

#[derive(Deserialize)]
struct OsvRecord {
    id: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    details: Option<String>,
    #[serde(default)]
    withdrawn: Option<String>,
    #[serde(default)]
    modified: Option<String>,
    #[serde(default)]
    severity: Vec<OsvSeverity>,
    #[serde(default)]
    affected: Vec<OsvAffected>,
    #[serde(default)]
    database_specific: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct OsvSeverity {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

#[derive(Deserialize)]
struct OsvAffected {
    #[serde(default)]
    package: Option<OsvPackage>,
    #[serde(default)]
    ranges: Vec<OsvRange>,
    #[serde(default)]
    versions: Vec<String>,
    #[serde(default)]
    severity: Vec<OsvSeverity>,
    #[serde(default)]
    ecosystem_specific: Option<serde_json::Value>,
    #[serde(default)]
    database_specific: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct OsvPackage {
    ecosystem: String,
    name: String,
}

#[derive(Deserialize)]
struct OsvRange {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    events: Vec<serde_json::Map<String, serde_json::Value>>,
}

fn severity_of(list: &[OsvSeverity], specific: &[Option<&serde_json::Value>]) -> Option<Severity> {
    let scored = list
        .iter()
        .filter(|s| s.kind.starts_with("CVSS_V3") || s.kind.starts_with("CVSS_V4"))
        .filter_map(|s| crate::advisory::from_cvss(&s.score))
        .max();
    scored.or_else(|| {
        specific
            .iter()
            .flatten()
            .filter_map(|v| v.get("severity").and_then(|s| s.as_str()))
            .filter_map(Severity::from_name)
            .max()
    })
}

/// Reads an OSV record's text; `Ok(None)` for a withdrawn one.
fn parse_osv(
    text: &[u8],
    origin: &str,
    warnings: &mut Vec<String>,
) -> Result<Option<(Record, Option<String>)>, Failure> {
    let r: OsvRecord = serde_json::from_slice(text)
        .map_err(|e| Failure::config(format!("vulnerability database: `{origin}` is not an OSV record: {e}")))?;
    if r.withdrawn.is_some() {
        return Ok(None);
    }
    let record_severity = severity_of(&r.severity, &[r.database_specific.as_ref()]);
    let mut affected = Vec::new();
    for a in r.affected {
        let Some(pkg) = a.package else { continue };
        let Some(eco) = Eco::from_osv(&pkg.ecosystem) else { continue };
        let mut ranges = Vec::new();
        for range in a.ranges {
            match range.kind.as_str() {
                "SEMVER" | "ECOSYSTEM" => {}
                "GIT" => continue, // commits, not package versions: the explicit versions list covers it
                other => {
                    warnings.push(format!("{}: range type `{other}` is not known; that range was skipped", r.id));
                    continue;
                }
            }
            let mut events = Vec::new();
            for e in range.events {
                for (k, v) in e {
                    let v = v.as_str().unwrap_or_default().to_string();
                    events.push(match k.as_str() {
                        "introduced" => Event::Introduced(v),
                        "fixed" => Event::Fixed(v),
                        "last_affected" => Event::LastAffected(v),
                        "limit" => Event::Limit(v),
                        other => {
                            warnings.push(format!("{}: range event `{other}` is not known; skipped", r.id));
                            continue;
                        }
                    });
                }
            }
            ranges.push(Range::Events(events));
        }
        let severity = severity_of(&a.severity, &[a.database_specific.as_ref(), a.ecosystem_specific.as_ref()])
            .or(record_severity);
        affected.push(Affected { eco, name: normalize(eco, &pkg.name), ranges, versions: a.versions, severity });
    }
    let summary = r.summary.or(r.details.map(|d| d.lines().next().unwrap_or("").to_string())).unwrap_or_default();
    Ok(Some((Record { id: r.id, aliases: r.aliases, summary, severity: record_severity, affected }, r.modified)))
}

#[derive(Deserialize)]
struct RustSecFile {
    advisory: RustSecAdvisory,
    #[serde(default)]
    versions: RustSecVersions,
}

#[derive(Deserialize)]
struct RustSecAdvisory {
    id: String,
    package: String,
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    cvss: Option<String>,
    #[serde(default)]
    informational: Option<String>,
    #[serde(default)]
    withdrawn: Option<String>,
    #[serde(default)]
    title: Option<String>,
}

#[derive(Deserialize, Default)]
struct RustSecVersions {
    #[serde(default)]
    patched: Vec<String>,
    #[serde(default)]
    unaffected: Vec<String>,
}

/// Reads a RustSec advisory (Markdown with a ```toml front matter). Informational advisories
/// (unmaintained, unsound) are not vulnerabilities: `cargo audit` lists them as warnings.
fn parse_rustsec(text: &str, origin: &str) -> Result<Option<(Record, Option<String>)>, Failure> {
    let bad =
        |why: String| Failure::config(format!("vulnerability database: `{origin}` is not a RustSec advisory: {why}"));
    let body = text.trim_start().strip_prefix("```toml").ok_or_else(|| bad("no ```toml front matter".into()))?;
    let end = body.find("\n```").ok_or_else(|| bad("the ```toml block is not closed".into()))?;
    let f: RustSecFile = toml::from_str(&body[..end]).map_err(|e| bad(e.to_string()))?;
    if f.advisory.withdrawn.is_some() || f.advisory.informational.is_some() {
        return Ok(None);
    }
    let mut reqs = Vec::new();
    for r in f.versions.patched.iter().chain(&f.versions.unaffected) {
        reqs.push(semver::VersionReq::parse(r).map_err(|e| bad(format!("version requirement `{r}`: {e}")))?);
    }
    let severity = f.advisory.cvss.as_deref().and_then(crate::advisory::from_cvss);
    let title = f.advisory.title.clone().unwrap_or_else(|| {
        text[text.find("\n# ").map(|k| k + 3).unwrap_or(0)..].lines().next().unwrap_or("").trim().to_string()
    });
    Ok(Some((
        Record {
            id: f.advisory.id,
            aliases: f.advisory.aliases,
            summary: title,
            severity,
            affected: vec![Affected {
                eco: Eco::Crates,
                name: f.advisory.package,
                ranges: vec![Range::NotMatching(reqs)],
                versions: Vec::new(),
                severity,
            }],
        },
        f.advisory.date,
    )))
}

/// Loads the database at `path` (a directory or a `.zip`).
pub fn load(path: &Path) -> Result<Database, Failure> {
    let meta = fs::metadata(path).map_err(|_| {
        Failure::config(format!("vulnerability database `{}` does not exist", path.display())).with_hint(
            "set gate.vulnerabilities.db to a directory or zip of OSV records, or a RustSec advisory-db checkout",
        )
    })?;
    let mut hasher = Hasher::new();
    let parsed = if meta.is_dir() {
        let mut paths = Vec::new();
        walk(path, path, &mut paths)?;
        paths.sort();
        // Read, hash and parse on every core; the digest is made in path order after.
        let parsed = parse_all(&paths, path, |(rel, p): &(String, PathBuf)| {
            fs::read(p).map(|b| (rel.clone(), b)).map_err(|e| Failure::io("read", p, e))
        });
        for p in parsed.iter().flatten() {
            hasher.update(p.name.as_bytes());
            hasher.update(&[0]);
            hasher.update(&p.sha256);
        }
        parsed
    } else {
        let bytes = fs::read(path).map_err(|e| Failure::io("read", path, e))?;
        hasher.update(&bytes);
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| {
            Failure::config(format!("vulnerability database `{}` is not a zip of OSV records: {e}", path.display()))
        })?;
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        for i in 0..zip.len() {
            let mut entry = zip
                .by_index(i)
                .map_err(|e| Failure::config(format!("vulnerability database `{}` is corrupt: {e}", path.display())))?;
            let name = entry.name().map(|n| n.to_string()).unwrap_or_default();
            if !entry.is_file() || !name.ends_with(".json") {
                continue;
            }
            let mut data = Vec::with_capacity(entry.size() as usize);
            entry.read_to_end(&mut data).map_err(|e| {
                Failure::config(format!("vulnerability database `{}`: `{name}` is corrupt: {e}", path.display()))
            })?;
            files.push((name, data));
        }
        parse_all(&files, path, |(n, b): &(String, Vec<u8>)| Ok((n.clone(), b.clone())))
    };
    let digest = hex::encode(hasher.finish_bytes());
    let mut db = Database {
        path: path.to_path_buf(),
        records: Vec::new(),
        by_package: HashMap::new(),
        digest,
        date: None,
        withdrawn: 0,
        warnings: Vec::new(),
    };
    for p in parsed {
        let Parsed { record, warnings, .. } = p?;
        db.warnings.extend(warnings);
        let Some((record, date)) = record else {
            db.withdrawn += 1;
            continue;
        };
        if let Some(d) = date {
            if db.date.as_deref().is_none_or(|cur| d.as_str() > cur) {
                db.date = Some(d);
            }
        }
        let n = db.records.len();
        for (k, a) in record.affected.iter().enumerate() {
            db.by_package.entry((a.eco, a.name.clone())).or_default().push((n, k));
        }
        db.records.push(record);
    }
    if db.records.is_empty() && db.withdrawn == 0 {
        return Err(Failure::config(format!(
            "vulnerability database `{}` holds no OSV records or RustSec advisories",
            path.display()
        ))
        .with_hint(
            "point gate.vulnerabilities.db at the unpacked all.zip, the zip itself, or an advisory-db checkout",
        ));
    }
    Ok(db)
}

/// One file of the database, read and parsed.
struct Parsed {
    name: String,
    sha256: [u8; 32],
    record: Option<(Record, Option<String>)>,
    warnings: Vec<String>,
}

/// Reads (with `read`) and parses every item, on all cores, in order.
fn parse_all<T: Sync>(
    items: &[T],
    root: &Path,
    read: impl Fn(&T) -> Result<(String, Vec<u8>), Failure> + Sync,
) -> Vec<Result<Parsed, Failure>> {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).max(1);
    let chunk = items.len().div_ceil(threads).max(1);
    let read = &read;
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|item| {
                            let (name, bytes) = read(item)?;
                            let origin = format!("{}/{name}", root.display());
                            let mut warnings = Vec::new();
                            let record = if name.ends_with(".md") {
                                parse_rustsec(&String::from_utf8_lossy(&bytes), &origin)?
                            } else {
                                parse_osv(&bytes, &origin, &mut warnings)?
                            };
                            Ok(Parsed { sha256: sha256_raw(&bytes), name, record, warnings })
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("parse thread")).collect()
    })
}

/// OSV `.json` files anywhere; RustSec `.md` advisories under `crates/`.
fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<(), Failure> {
    for e in fs::read_dir(dir).map_err(|e| Failure::io("read", dir, e))?.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with('.') {
            continue;
        }
        if p.is_dir() {
            walk(root, &p, out)?;
            continue;
        }
        let rel = p.strip_prefix(root).unwrap_or(&p).to_string_lossy().replace('\\', "/");
        let rustsec = name.ends_with(".md") && name.starts_with("RUSTSEC-") && rel.contains("crates/");
        if name.ends_with(".json") || rustsec {
            out.push((rel, p));
        }
    }
    Ok(())
}
