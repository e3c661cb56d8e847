//! Version orders of the vulnerability matcher against implementations we did not write:
//! every Debian pair the tests use is compared by `dpkg --compare-versions` too; and OS
//! packages of an image SBOM (Debian by source package, Alpine) matched against OSV records
//! with ECOSYSTEM ranges in those orders.

use std::cmp::Ordering;
use std::process::Command;

use relman_engine::vuln::version::{apk_compare, dpkg_compare, Eco};
use relman_engine::vuln::{db, scan, SbomPackage, Scanned, VulnConfig};

const DEBIAN_PAIRS: &[(&str, &str)] = &[
    ("1.0", "1.0"),
    ("1.0~rc1", "1.0"),
    ("1.0~~", "1.0~"),
    ("1.0", "1.0+b1"),
    ("1:0.9", "2.0"),
    ("2.36-9+deb12u3", "2.36-9+deb12u10"),
    ("2.36-9+deb12u10", "2.36-9+deb12u9"),
    ("1.2.3-1", "1.2.3-1~bpo12+1"),
    ("3.0.11-1~deb12u2", "3.0.11-1"),
    ("1.0a", "1.0"),
    ("1.0-1", "1.0"),
    ("1.0.0", "1.0"),
    ("7.88.1-10+deb12u5", "7.88.1-10+deb12u8"),
    ("2:1.0", "1:9.9"),
    ("1.0-0", "1.0"),
    ("0.9.9+dfsg-1", "0.9.9-1"),
    ("252.22-1~deb12u1", "252.5-2"),
    ("1.2a", "1.2+"),
    ("1.01", "1.1"),
];

#[test]
fn debian_order_agrees_with_dpkg_on_every_pair() {
    for (a, b) in DEBIAN_PAIRS {
        let ours = dpkg_compare(a, b);
        for (op, want) in [("lt", Ordering::Less), ("eq", Ordering::Equal), ("gt", Ordering::Greater)] {
            let status = Command::new("dpkg").args(["--compare-versions", a, op, b]).status().expect("dpkg");
            assert_eq!(
                status.success(),
                ours == want,
                "dpkg says `{a} {op} {b}` is {}, relman says {ours:?}",
                status.success()
            );
        }
    }
}

#[test]
fn alpine_order() {
    assert_eq!(apk_compare("3.1.4-r5", "3.1.4-r10"), Ordering::Less);
    assert_eq!(apk_compare("1.36.1-r15", "1.36.1-r2"), Ordering::Greater);
    assert_eq!(apk_compare("3.0.12_rc1-r0", "3.0.12-r0"), Ordering::Less);
    assert_eq!(apk_compare("3.0.12_p1-r0", "3.0.12-r0"), Ordering::Greater);
    assert_eq!(Eco::Alpine.compare("1.2.13-r0", "0"), Some(Ordering::Greater));
}

#[test]
fn os_packages_match_in_their_own_order() {
    let dir = tempfile::tempdir().unwrap();
    let rec = |id: &str, eco: &str, name: &str, events: serde_json::Value| {
        let j = serde_json::json!({"id": id, "modified": "2024-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": eco, "name": name}, "ranges": [{"type": "ECOSYSTEM", "events": events}]}],
            "database_specific": {"severity": "HIGH"}});
        std::fs::write(dir.path().join(format!("{id}.json")), j.to_string()).unwrap();
    };
    // Debian by source package (glibc, installed as libc6): 2.36-9+deb12u3 < fixed 2.36-9+deb12u4 → affected;
    // semver would not even read these versions.
    rec(
        "DEBIAN-CVE-2024-0001",
        "Debian:12",
        "glibc",
        serde_json::json!([{"introduced": "0"}, {"fixed": "2.36-9+deb12u4"}]),
    );
    // ~ sorts before the release: 1.0~rc1 is below fixed 1.0 → affected.
    rec("DEBIAN-CVE-2024-0002", "Debian:12", "tool", serde_json::json!([{"introduced": "0"}, {"fixed": "1.0"}]));
    // Alpine: -r10 is above fixed -r9 (numerically, not as text) → not affected.
    rec(
        "ALPINE-CVE-2024-0003",
        "Alpine:v3.19",
        "busybox",
        serde_json::json!([{"introduced": "0"}, {"fixed": "1.36.1-r9"}]),
    );
    // Alpine: _rc is below the release → affected.
    rec(
        "ALPINE-CVE-2024-0004",
        "Alpine:v3.19",
        "openssl",
        serde_json::json!([{"introduced": "3.0.0-r0"}, {"last_affected": "3.0.12-r0"}]),
    );
    let db = db::load(dir.path()).unwrap();
    let pkg = |name: &str, purl: &str, source: Option<&str>| SbomPackage {
        name: name.into(),
        version: String::new(),
        purl: Some(purl.into()),
        source: source.map(str::to_string),
    };
    let scanned = vec![Scanned {
        place: "image api linux/amd64".into(),
        packages: vec![
            pkg("libc6", "pkg:deb/debian/libc6@2.36-9%2Bdeb12u3?arch=amd64&distro=debian-12", Some("glibc")),
            pkg("tool", "pkg:deb/debian/tool@1.0~rc1?arch=amd64&distro=debian-12", None),
            pkg("busybox", "pkg:apk/alpine/busybox@1.36.1-r10?arch=x86_64&distro=alpine-3.19.1", None),
            pkg("openssl", "pkg:apk/alpine/openssl@3.0.12_rc1-r0?arch=x86_64&distro=alpine-3.19.1", None),
            SbomPackage { name: "no-purl".into(), version: "1".into(), purl: None, source: None },
        ],
    }];
    let report = scan(&db, &scanned, &VulnConfig::default(), "2026-12-03");
    let ids: Vec<&str> = report.findings.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, ["DEBIAN-CVE-2024-0001", "ALPINE-CVE-2024-0004", "DEBIAN-CVE-2024-0002"], "{:?}", report.findings);
    assert_eq!(report.packages_checked, 4);
    assert_eq!(report.packages_not_checked, 1, "a package without a purl is counted, not passed");
    let glibc = report.findings.iter().find(|f| f.id == "DEBIAN-CVE-2024-0001").unwrap();
    assert_eq!((glibc.package.as_str(), glibc.fixed.as_deref()), ("libc6", Some("2.36-9+deb12u4")));
}
