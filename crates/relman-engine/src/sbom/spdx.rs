//! SPDX 2.3 JSON for a release.
//!
//! One package for the release itself (`SPDXRef-Release`, described by the document, its
//! download location `git+<repository>@<commit>`), one per inventory package with its purl
//! in `externalRefs`, sha checksums, declared licence (or `NOASSERTION`) and the lockfiles it
//! came from in `sourceInfo`. Relationships: the document `DESCRIBES` the release, the release
//! `CONTAINS` the project's other own packages, every lockfile edge is `DEPENDS_ON`, and the
//! release `DEPENDS_ON` whatever no edge reaches. Licences outside relman's list become
//! `LicenseRef-`s declared in `hasExtractedLicensingInfos` with the declared text.
//!
//! Reproducible: `created` is the release's `SOURCE_DATE_EPOCH`, `documentNamespace` a
//! name-based UUID of the release, target and package set; everything is sorted.

use std::collections::BTreeMap;

use serde::Serialize;

use super::graph::describe;
use super::license;
use super::model::{Inventory, Package, Role};
use super::subject::{rfc3339, stable_uuid, ReleaseSubject};

const NOASSERTION: &str = "NOASSERTION";
const RELEASE_ID: &str = "SPDXRef-Release";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    spdx_version: &'static str,
    data_license: &'static str,
    #[serde(rename = "SPDXID")]
    spdx_id: &'static str,
    name: String,
    document_namespace: String,
    creation_info: CreationInfo,
    packages: Vec<SpdxPackage>,
    relationships: Vec<Relationship>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    has_extracted_licensing_infos: Vec<ExtractedLicense>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreationInfo {
    created: String,
    creators: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpdxPackage {
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    name: String,
    version_info: String,
    download_location: String,
    files_analyzed: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    checksums: Vec<Checksum>,
    license_concluded: String,
    license_declared: String,
    copyright_text: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_refs: Vec<ExternalRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_package_purpose: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_info: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Checksum {
    algorithm: &'static str,
    checksum_value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef {
    reference_category: &'static str,
    reference_type: &'static str,
    reference_locator: String,
}

#[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
struct Relationship {
    spdx_element_id: String,
    relationship_type: &'static str,
    related_spdx_element: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExtractedLicense {
    license_id: String,
    extracted_text: String,
    name: String,
}

/// `[A-Za-z0-9.]` kept, runs of anything else one `-`, none at the ends (`@acme/ui` → `acme-ui`).
fn id_part(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            s.push(c);
        } else if !s.is_empty() && !s.ends_with('-') {
            s.push('-');
        }
    }
    s.trim_end_matches('-').to_string()
}

/// Declared licences → SPDX expressions, collecting the `LicenseRef-`s to declare.
#[derive(Default)]
struct Licenses {
    refs: BTreeMap<String, Vec<String>>,
}

impl Licenses {
    fn declared(&mut self, declared: Option<&str>) -> String {
        let Some(expr) = declared.and_then(license::normalize) else { return NOASSERTION.to_string() };
        for (id, text) in expr.refs {
            let texts = self.refs.entry(id).or_default();
            if !texts.contains(&text) {
                texts.push(text);
            }
        }
        expr.expression
    }

    fn into_extracted(self, inventory_refs: &[String]) -> Vec<ExtractedLicense> {
        let mut out: BTreeMap<String, ExtractedLicense> = BTreeMap::new();
        for (id, texts) in self.refs {
            let text = format!(
                "The licence was declared as `{}` in the package metadata; relman recorded the declaration, not the licence text.",
                texts.join("`, `")
            );
            out.insert(id.clone(), ExtractedLicense { name: texts.join(", "), extracted_text: text, license_id: id });
        }
        // A `LicenseRef-` written as such in a declaration must be declared too.
        for id in inventory_refs {
            out.entry(id.clone()).or_insert_with(|| ExtractedLicense {
                license_id: id.clone(),
                extracted_text: format!(
                    "The licence `{id}` was declared in the package metadata; its text was not recorded."
                ),
                name: id.trim_start_matches("LicenseRef-").to_string(),
            });
        }
        out.into_values().collect()
    }
}

fn package_comment(p: &Package) -> Option<String> {
    let mut lines = Vec::new();
    if let Some(h1) = p.properties.get(super::gomod::H1_PROPERTY) {
        lines.push(format!(
            "go.sum {h1} (Go's dirhash of the module zip, checked by `go mod verify`; not a file checksum)"
        ));
    }
    for (k, v) in p.properties.iter().filter(|(k, _)| k.as_str() != super::gomod::H1_PROPERTY) {
        lines.push(format!("{k}: {v}"));
    }
    for d in &p.distributions {
        let sums: Vec<String> =
            d.checksums.iter().map(|c| format!("{}:{}", c.alg.spdx_name().to_lowercase(), c.hex)).collect();
        lines.push(format!("distribution {} {}", d.file, sums.join(" ")).trim_end().to_string());
    }
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// The SPDX 2.3 JSON document of `inventory` for the release `subject` (pretty, with a final
/// newline). The same inputs always give the same bytes.
pub fn spdx_json(subject: &ReleaseSubject, inventory: &Inventory) -> String {
    let described = describe(subject, inventory);
    let mut licenses = Licenses::default();
    let target = inventory.target.as_deref().unwrap_or_default();
    let purls: Vec<&str> = inventory.packages.iter().map(|p| p.purl.as_str()).collect();

    // SPDX ids: readable, unique (a numeric suffix on the rare collision after sanitising).
    let mut ids: Vec<String> = Vec::with_capacity(inventory.packages.len());
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (i, p) in inventory.packages.iter().enumerate() {
        if Some(i) == described.root {
            ids.push(RELEASE_ID.to_string());
            continue;
        }
        let base = format!("SPDXRef-Package-{}-{}-{}", p.ecosystem.purl_type(), id_part(&p.name), id_part(&p.version));
        let n = seen.entry(base.clone()).or_insert(0);
        *n += 1;
        // `--` never occurs in a base id (runs are collapsed), so a suffixed id cannot collide.
        ids.push(if *n == 1 { base } else { format!("{base}--{n}") });
    }

    let root_pkg = described.root.map(|r| &inventory.packages[r]);
    let mut packages = vec![SpdxPackage {
        spdx_id: RELEASE_ID.to_string(),
        name: subject.name.clone(),
        version_info: subject.version.clone(),
        download_location: subject.vcs_location(&subject.commit).unwrap_or_else(|| NOASSERTION.to_string()),
        files_analyzed: false,
        checksums: Vec::new(),
        license_concluded: NOASSERTION.to_string(),
        license_declared: licenses.declared(root_pkg.and_then(|p| p.license.as_deref())),
        copyright_text: NOASSERTION.to_string(),
        external_refs: root_pkg.map(|p| purl_ref(&p.purl)).into_iter().collect(),
        primary_package_purpose: Some("APPLICATION"),
        source_info: Some(format!("built from commit {}", subject.commit)),
        comment: None,
    }];
    for (i, p) in inventory.packages.iter().enumerate() {
        if Some(i) == described.root {
            continue;
        }
        packages.push(SpdxPackage {
            spdx_id: ids[i].clone(),
            name: p.name.clone(),
            version_info: p.version.clone(),
            download_location: p.download_location.clone().unwrap_or_else(|| NOASSERTION.to_string()),
            files_analyzed: false,
            checksums: p
                .checksums
                .iter()
                .map(|c| Checksum { algorithm: c.alg.spdx_name(), checksum_value: c.hex.clone() })
                .collect(),
            license_concluded: NOASSERTION.to_string(),
            license_declared: licenses.declared(p.license.as_deref()),
            copyright_text: NOASSERTION.to_string(),
            external_refs: vec![purl_ref(&p.purl)],
            primary_package_purpose: (p.role == Role::Dependency).then_some("LIBRARY"),
            source_info: Some(format!("listed in {}", p.lockfiles.iter().cloned().collect::<Vec<_>>().join(", "))),
            comment: package_comment(p),
        });
    }

    let index = |purl: &str| purls.binary_search(&purl).ok();
    let rel = |a: &str, t: &'static str, b: &str| Relationship {
        spdx_element_id: a.to_string(),
        relationship_type: t,
        related_spdx_element: b.to_string(),
    };
    let mut relationships = Vec::new();
    for &m in &described.members {
        relationships.push(rel(RELEASE_ID, "CONTAINS", &ids[m]));
    }
    for &d in &described.direct {
        relationships.push(rel(RELEASE_ID, "DEPENDS_ON", &ids[d]));
    }
    for (i, p) in inventory.packages.iter().enumerate() {
        if Some(i) == described.root {
            continue;
        }
        for d in p.dependencies.iter().filter_map(|d| index(d)) {
            relationships.push(rel(&ids[i], "DEPENDS_ON", &ids[d]));
        }
    }
    relationships.sort();
    relationships.dedup();
    relationships.insert(0, rel("SPDXRef-DOCUMENT", "DESCRIBES", RELEASE_ID));

    let declared_refs: Vec<String> = packages
        .iter()
        .flat_map(|p| {
            p.license_declared.split([' ', '(', ')']).filter(|t| t.starts_with("LicenseRef-")).map(str::to_string)
        })
        .collect();
    let doc_name = if target.is_empty() {
        format!("{}-{}", subject.name, subject.version)
    } else {
        format!("{}-{}-{target}", subject.name, subject.version)
    };
    let mut uuid_parts = vec!["spdx", subject.name.as_str(), subject.version.as_str(), subject.commit.as_str(), target];
    uuid_parts.extend(&purls);
    let uuid = stable_uuid(&uuid_parts);
    let mut comment = Vec::new();
    if !inventory.lockfiles.is_empty() {
        comment.push(format!("Packages read from {}.", inventory.lockfiles.join(", ")));
    }
    comment.extend(inventory.notes.iter().cloned());
    let doc = Document {
        spdx_version: "SPDX-2.3",
        data_license: "CC0-1.0",
        spdx_id: "SPDXRef-DOCUMENT",
        name: doc_name.clone(),
        document_namespace: format!("https://spdx.org/spdxdocs/{}-{uuid}", id_part(&doc_name)),
        creation_info: CreationInfo {
            created: rfc3339(subject.source_date_epoch),
            creators: vec![format!("Tool: relman-{}", env!("CARGO_PKG_VERSION"))],
            comment: (!comment.is_empty()).then(|| comment.join("\n")),
        },
        packages,
        relationships,
        has_extracted_licensing_infos: licenses.into_extracted(&declared_refs),
    };
    let mut text = serde_json::to_string_pretty(&doc).expect("an SPDX document serialises");
    text.push('\n');
    text
}

fn purl_ref(purl: &str) -> ExternalRef {
    ExternalRef { reference_category: "PACKAGE-MANAGER", reference_type: "purl", reference_locator: purl.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sbom::model::{Ecosystem, Package, Role};
    use crate::sbom::purl;

    #[test]
    fn spdx_ids_are_readable_and_unique() {
        assert_eq!(id_part("@acme/ui"), "acme-ui");
        assert_eq!(id_part("v2.0.0+incompatible"), "v2.0.0-incompatible");
        let pkg = |name: &str| {
            Package::new(Ecosystem::Npm, Role::Dependency, name, "1.0.0", purl::npm(name, "1.0.0"), "package-lock.json")
        };
        let inv = Inventory::new(None, vec![pkg("@acme/ui"), pkg("acme-ui"), pkg("acme_ui")], vec![], vec![]);
        let doc: serde_json::Value = serde_json::from_str(&spdx_json(&ReleaseSubject::default(), &inv)).unwrap();
        let ids: Vec<&str> =
            doc["packages"].as_array().unwrap().iter().map(|p| p["SPDXID"].as_str().unwrap()).collect();
        assert_eq!(
            ids,
            [
                "SPDXRef-Release",
                "SPDXRef-Package-npm-acme-ui-1.0.0",
                "SPDXRef-Package-npm-acme-ui-1.0.0--2",
                "SPDXRef-Package-npm-acme-ui-1.0.0--3"
            ]
        );
    }
}
