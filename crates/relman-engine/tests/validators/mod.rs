//! The SBOM validators `scripts/setup-test-deps` installs in `.venv/`: pyspdxtools (SPDX 2.3)
//! and cyclonedx-python-lib's strict CycloneDX 1.6 validator.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

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
