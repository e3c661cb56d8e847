//! The SBOM validators `scripts/setup-test-deps` installs in `.venv/`: pyspdxtools (SPDX 2.3)
//! and cyclonedx-python-lib's strict CycloneDX 1.6 validator.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use relman_engine::sbom::{self, Inventory, ReleaseSubject};
use serde_json::Value;

fn venv_tool(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin").join(name);
    assert!(
        path.exists(),
        "`{}` is missing: run `scripts/setup-test-deps` (it installs the SBOM validators)",
        path.display()
    );
    path
}

/// `pyspdxtools -i` must accept the document.
pub fn validate_spdx(text: &str, label: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("{label}.spdx.json"));
    std::fs::write(&file, text).unwrap();
    let out = Command::new(venv_tool("pyspdxtools")).arg("-i").arg(&file).output().expect("run pyspdxtools");
    assert!(
        out.status.success(),
        "pyspdxtools rejected the SPDX document of {label}:\n{}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

const CDX_VALIDATE: &str = r#"
import sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(open(sys.argv[1]).read(), all_errors=True)
if errors is not None:
    for e in errors:
        d = getattr(e, "data", e)
        print(getattr(d, "json_path", ""), getattr(d, "message", d))
    sys.exit(1)
"#;

/// cyclonedx-python-lib's strict 1.6 validator must accept the document.
pub fn validate_cyclonedx(text: &str, label: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("{label}.cdx.json"));
    std::fs::write(&file, text).unwrap();
    let out = Command::new(venv_tool("python")).arg("-c").arg(CDX_VALIDATE).arg(&file).output().expect("run python");
    assert!(
        out.status.success(),
        "the CycloneDX 1.6 validator rejected the document of {label}:\n{}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Both documents of `inv`: reproducible, accepted by both validators, every inventory purl in
/// both; returned parsed.
pub fn documents(label: &str, subject: &ReleaseSubject, inv: &Inventory) -> (Value, Value) {
    let spdx = sbom::spdx_json(subject, inv);
    let cdx = sbom::cyclonedx_json(subject, inv);
    assert_eq!(spdx, sbom::spdx_json(subject, inv), "{label}: SPDX output is not reproducible");
    assert_eq!(cdx, sbom::cyclonedx_json(subject, inv), "{label}: CycloneDX output is not reproducible");
    validate_spdx(&spdx, label);
    validate_cyclonedx(&cdx, label);
    let spdx: Value = serde_json::from_str(&spdx).unwrap();
    let cdx: Value = serde_json::from_str(&cdx).unwrap();
    let spdx_purls: BTreeSet<&str> = spdx["packages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["externalRefs"].as_array().into_iter().flatten())
        .filter(|r| r["referenceType"] == "purl")
        .map(|r| r["referenceLocator"].as_str().unwrap())
        .collect();
    let mut cdx_purls: BTreeSet<&str> =
        cdx["components"].as_array().unwrap().iter().filter_map(|c| c["purl"].as_str()).collect();
    cdx_purls.extend(cdx["metadata"]["component"]["purl"].as_str());
    for p in &inv.packages {
        assert!(spdx_purls.contains(p.purl.as_str()), "{label}: {} missing from SPDX", p.purl);
        assert!(cdx_purls.contains(p.purl.as_str()), "{label}: {} missing from CycloneDX", p.purl);
    }
    (spdx, cdx)
}
