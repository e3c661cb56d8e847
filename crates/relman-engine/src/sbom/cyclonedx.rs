//! CycloneDX 1.6 JSON for a release.
//!
//! `metadata.component` is the release (an `application`, with its repository as a `vcs`
//! reference and the commit as a property); `components` are the inventory's packages
//! (`library`; npm scopes as `group`), each with purl (also its `bom-ref`), hashes, declared
//! licence (an SPDX expression when every id is listed, else the declared text as a licence
//! name) and its download location as a `distribution` reference; Python distribution files
//! are references or properties, Go's `go.sum` hash the property `relman:go.sum:h1`.
//! `dependencies` has one entry per component and the release, edges sorted.
//!
//! Reproducible: the timestamp is the release's `SOURCE_DATE_EPOCH`, the serial number a
//! name-based (v5) UUID of the release, target and package set; everything is sorted.

use serde::Serialize;
use serde_json::{json, Value};

use super::graph::describe;
use super::license;
use super::model::{Checksum, Ecosystem, Inventory, Package};
use super::subject::{rfc3339, stable_uuid, ReleaseSubject};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Bom {
    #[serde(rename = "$schema")]
    schema: &'static str,
    bom_format: &'static str,
    spec_version: &'static str,
    serial_number: String,
    version: u32,
    metadata: Metadata,
    components: Vec<Component>,
    dependencies: Vec<Dependency>,
}

#[derive(Serialize)]
struct Metadata {
    timestamp: String,
    tools: Tools,
    component: Component,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<Property>,
}

#[derive(Serialize)]
struct Tools {
    components: Vec<Component>,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct Component {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "bom-ref", skip_serializing_if = "Option::is_none")]
    bom_ref: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<String>,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purl: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hashes: Vec<Hash>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    licenses: Vec<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_references: Vec<ExternalReference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<Property>,
}

#[derive(Serialize, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Hash {
    alg: &'static str,
    content: String,
}

#[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
struct ExternalReference {
    #[serde(rename = "type")]
    kind: &'static str,
    url: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hashes: Vec<Hash>,
}

#[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
struct Property {
    name: String,
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Dependency {
    #[serde(rename = "ref")]
    reference: String,
    depends_on: Vec<String>,
}

fn hashes(checksums: &[Checksum]) -> Vec<Hash> {
    checksums.iter().map(|c| Hash { alg: c.alg.cyclonedx_name(), content: c.hex.clone() }).collect()
}

fn prop(name: &str, value: &str) -> Property {
    Property { name: name.to_string(), value: value.to_string() }
}

fn licenses(declared: Option<&str>) -> Vec<Value> {
    let Some(declared) = declared.map(str::trim).filter(|d| !d.is_empty()) else { return Vec::new() };
    match license::normalize(declared) {
        Some(e) if e.is_listed() => vec![json!({ "expression": e.expression, "acknowledgement": "declared" })],
        Some(_) => vec![json!({ "license": { "name": declared, "acknowledgement": "declared" } })],
        None => Vec::new(),
    }
}

fn component(p: &Package) -> Component {
    let (group, name) = match (p.ecosystem, p.name.strip_prefix('@').and_then(|n| n.split_once('/'))) {
        (Ecosystem::Npm, Some((scope, n))) => (Some(format!("@{scope}")), n.to_string()),
        _ => (None, p.name.clone()),
    };
    let mut refs = Vec::new();
    let mut properties: Vec<Property> = p.properties.iter().map(|(k, v)| prop(k, v)).collect();
    if let Some(loc) = &p.download_location {
        let kind = if loc.starts_with("git+") { "vcs" } else { "distribution" };
        refs.push(ExternalReference { kind, url: loc.clone(), hashes: hashes(&p.checksums) });
    }
    for d in &p.distributions {
        match &d.url {
            Some(url) if p.download_location.as_ref() != Some(url) => {
                refs.push(ExternalReference { kind: "distribution", url: url.clone(), hashes: hashes(&d.checksums) });
            }
            Some(_) => {}
            None => {
                let sums: Vec<String> =
                    d.checksums.iter().map(|c| format!("{}:{}", c.alg.spdx_name().to_lowercase(), c.hex)).collect();
                properties
                    .push(prop("relman:python:distribution", format!("{} {}", d.file, sums.join(" ")).trim_end()));
            }
        }
    }
    refs.sort();
    properties.sort();
    Component {
        kind: "library",
        bom_ref: Some(p.purl.clone()),
        group,
        name,
        version: Some(p.version.clone()),
        purl: Some(p.purl.clone()),
        hashes: hashes(&p.checksums),
        licenses: licenses(p.license.as_deref()),
        external_references: refs,
        properties,
    }
}

/// The CycloneDX 1.6 JSON document of `inventory` for the release `subject` (pretty, with a
/// final newline). The same inputs always give the same bytes.
pub fn cyclonedx_json(subject: &ReleaseSubject, inventory: &Inventory) -> String {
    let described = describe(subject, inventory);
    let target = inventory.target.as_deref().unwrap_or_default();
    let root_pkg = described.root.map(|r| &inventory.packages[r]);
    let root_ref =
        root_pkg.map(|p| p.purl.clone()).unwrap_or_else(|| format!("release:{}@{}", subject.name, subject.version));

    let mut root = Component {
        kind: "application",
        bom_ref: Some(root_ref.clone()),
        name: subject.name.clone(),
        version: Some(subject.version.clone()),
        purl: root_pkg.map(|p| p.purl.clone()),
        licenses: licenses(root_pkg.and_then(|p| p.license.as_deref())),
        properties: vec![prop("relman:git:commit", &subject.commit)],
        ..Component::default()
    };
    if let Some(url) = subject.repository_url() {
        root.external_references.push(ExternalReference { kind: "vcs", url, hashes: Vec::new() });
    }

    let mut components = Vec::new();
    let mut dependencies = Vec::new();
    let mut root_deps: Vec<String> = Vec::new();
    for &i in described.members.iter().chain(&described.direct) {
        root_deps.push(inventory.packages[i].purl.clone());
    }
    root_deps.sort();
    root_deps.dedup();
    dependencies.push(Dependency { reference: root_ref.clone(), depends_on: root_deps });
    for (i, p) in inventory.packages.iter().enumerate() {
        if Some(i) == described.root {
            continue;
        }
        components.push(component(p));
        dependencies
            .push(Dependency { reference: p.purl.clone(), depends_on: p.dependencies.iter().cloned().collect() });
    }
    dependencies.sort_by(|a, b| a.reference.cmp(&b.reference));

    let mut properties = Vec::new();
    if !target.is_empty() {
        properties.push(prop("relman:target", target));
    }
    for l in &inventory.lockfiles {
        properties.push(prop("relman:lockfile", l));
    }
    for n in &inventory.notes {
        properties.push(prop("relman:note", n));
    }
    let purls: Vec<&str> = inventory.packages.iter().map(|p| p.purl.as_str()).collect();
    let mut uuid_parts =
        vec!["cyclonedx", subject.name.as_str(), subject.version.as_str(), subject.commit.as_str(), target];
    uuid_parts.extend(&purls);
    let bom = Bom {
        schema: "http://cyclonedx.org/schema/bom-1.6.schema.json",
        bom_format: "CycloneDX",
        spec_version: "1.6",
        serial_number: format!("urn:uuid:{}", stable_uuid(&uuid_parts)),
        version: 1,
        metadata: Metadata {
            timestamp: rfc3339(subject.source_date_epoch),
            tools: Tools {
                components: vec![Component {
                    kind: "application",
                    name: "relman".into(),
                    version: Some(env!("CARGO_PKG_VERSION").into()),
                    ..Component::default()
                }],
            },
            component: root,
            properties,
        },
        components,
        dependencies,
    };
    let mut text = serde_json::to_string_pretty(&bom).expect("a CycloneDX document serialises");
    text.push('\n');
    text
}
