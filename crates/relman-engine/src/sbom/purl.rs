//! Package URLs (purl, ECMA-427) for the ecosystems relman reads lockfiles of.
//!
//! Each type follows its purl-spec definition: `pkg:cargo/<name>@<version>` (case kept);
//! `pkg:npm/%40scope/name@<version>` (lowercased, the scope's `@` always encoded);
//! `pkg:pypi/<name>@<version>` (PEP 503: lowercase, runs of `-_.` become `-`);
//! `pkg:golang/<module path>@<version>` (lowercased, as the golang type definition requires);
//! OS packages `pkg:deb/<vendor>/<name>@<version>?arch=<arch>&distro=<id>-<version_id>` and
//! `pkg:apk/<vendor>/<name>@<version>?arch=<arch>&distro=<id>-<version_id>` (vendor and name
//! lowercased, the vendor being os-release's `ID`; qualifiers sorted).
//! Every component is percent-encoded except the alphanumerics, `.-_~` and `:`, so
//! `v2.0.0+incompatible` becomes `v2.0.0%2Bincompatible`; deb and apk versions also encode
//! `:` (a Debian epoch: `1:2.3-1` becomes `1%3A2.3-1`), as the purl-spec test suite does.

/// Percent-encodes one purl component (a namespace segment, name, version or qualifier value).
/// `keep` lists separators that stay as they are (qualifier values keep `/`).
fn encode(text: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~' | b':') || keep.contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn version_part(version: &str) -> String {
    if version.is_empty() {
        String::new()
    } else {
        format!("@{}", encode(version, &[]))
    }
}

fn qualifiers(pairs: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(&str, &str)> = pairs.iter().copied().filter(|(_, v)| !v.is_empty()).collect();
    pairs.sort();
    if pairs.is_empty() {
        return String::new();
    }
    let joined: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={}", encode(v, b"/"))).collect();
    format!("?{}", joined.join("&"))
}

/// The crates.io index, in both its git and sparse spellings.
pub fn is_crates_io(source: &str) -> bool {
    matches!(
        source.trim_end_matches('/'),
        "registry+https://github.com/rust-lang/crates.io-index" | "sparse+https://index.crates.io"
    )
}

/// `pkg:cargo/<name>@<version>`.
pub fn cargo(name: &str, version: &str) -> String {
    format!("pkg:cargo/{}{}", encode(name, &[]), version_part(version))
}

/// A Cargo package with its `Cargo.lock` source: crates.io and local paths get the plain purl,
/// another registry adds `repository_url`, a git source `vcs_url` (with the commit).
pub fn cargo_with_source(name: &str, version: &str, source: Option<&str>) -> String {
    let base = cargo(name, version);
    let Some(source) = source.filter(|s| !is_crates_io(s)) else { return base };
    if let Some(url) = source.strip_prefix("registry+").or_else(|| source.strip_prefix("sparse+")) {
        format!("{base}{}", qualifiers(&[("repository_url", url)]))
    } else if let Some(rest) = source.strip_prefix("git+") {
        // `git+https://host/repo?branch=x#<commit>` → `git+https://host/repo@<commit>`.
        let (url, commit) = rest.split_once('#').unwrap_or((rest, ""));
        let url = url.split('?').next().unwrap_or(url);
        let vcs = if commit.is_empty() { format!("git+{url}") } else { format!("git+{url}@{commit}") };
        format!("{base}{}", qualifiers(&[("vcs_url", &vcs)]))
    } else {
        base
    }
}

/// `pkg:npm/<name>@<version>`, or `pkg:npm/%40<scope>/<name>@<version>` for `@scope/name`.
pub fn npm(name: &str, version: &str) -> String {
    let name = name.to_lowercase();
    let path = match name.strip_prefix('@').and_then(|s| s.split_once('/')) {
        Some((scope, n)) => format!("{}/{}", encode(&format!("@{scope}"), &[]), encode(n, &[])),
        None => encode(&name, &[]),
    };
    format!("pkg:npm/{path}{}", version_part(version))
}

/// PEP 503 normalisation: lowercase, runs of `-`, `_` and `.` become one `-`.
pub fn normalize_python_name(name: &str) -> String {
    crate::version_files::normalize_python_name(name.trim())
}

/// `pkg:pypi/<normalised name>@<version>`.
pub fn pypi(name: &str, version: &str) -> String {
    format!("pkg:pypi/{}{}", encode(&normalize_python_name(name), &[]), version_part(version))
}

/// `pkg:golang/<module path>@<version>`: the path's last segment is the name, the rest the
/// namespace, each segment encoded.
pub fn golang(module: &str, version: &str) -> String {
    let path: Vec<String> =
        module.to_lowercase().split('/').filter(|s| !s.is_empty()).map(|s| encode(s, &[])).collect();
    format!("pkg:golang/{}{}", path.join("/"), version_part(version))
}

/// `pkg:deb/<vendor>/<name>@<version>?arch=<arch>&distro=<distro>` for a Debian package
/// (`vendor`: os-release's `ID`, e.g. `debian` or `ubuntu`; `distro`: `<ID>-<VERSION_ID>`, e.g.
/// `debian-12`). An absent vendor or distro, or an empty arch, is left out.
pub fn deb(vendor: Option<&str>, name: &str, version: &str, arch: &str, distro: Option<&str>) -> String {
    os_package("deb", vendor, name, version, arch, distro)
}

/// `pkg:apk/<vendor>/<name>@<version>?arch=<arch>&distro=<distro>` for an Alpine package
/// (`vendor`: os-release's `ID`, e.g. `alpine`; `distro` e.g. `alpine-3.19.1`).
pub fn apk(vendor: Option<&str>, name: &str, version: &str, arch: &str, distro: Option<&str>) -> String {
    os_package("apk", vendor, name, version, arch, distro)
}

fn os_package(kind: &str, vendor: Option<&str>, name: &str, version: &str, arch: &str, distro: Option<&str>) -> String {
    let namespace = match vendor.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => format!("{}/", encode(&v.to_lowercase(), &[])),
        None => String::new(),
    };
    let version =
        if version.is_empty() { String::new() } else { format!("@{}", encode(version, &[]).replace(':', "%3A")) };
    let distro = distro.map(str::to_lowercase).unwrap_or_default();
    format!(
        "pkg:{kind}/{namespace}{}{version}{}",
        encode(&name.to_lowercase(), &[]),
        qualifiers(&[("arch", arch.trim()), ("distro", distro.trim())])
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_purls() {
        assert_eq!(cargo("serde", "1.0.1"), "pkg:cargo/serde@1.0.1");
        assert_eq!(cargo("serde_json", "1.0.117"), "pkg:cargo/serde_json@1.0.117");
        // Build metadata: `+` is not in the allowed set.
        assert_eq!(cargo("wasi", "0.11.0+wasi-snapshot-preview1"), "pkg:cargo/wasi@0.11.0%2Bwasi-snapshot-preview1");
        let crates_io = "registry+https://github.com/rust-lang/crates.io-index";
        assert_eq!(cargo_with_source("libc", "0.2.155", Some(crates_io)), "pkg:cargo/libc@0.2.155");
        assert_eq!(
            cargo_with_source("libc", "0.2.155", Some("sparse+https://index.crates.io/")),
            "pkg:cargo/libc@0.2.155"
        );
        assert_eq!(cargo_with_source("local", "0.1.0", None), "pkg:cargo/local@0.1.0");
        assert_eq!(
            cargo_with_source("internal", "1.2.0", Some("sparse+https://crates.example.com/index/")),
            "pkg:cargo/internal@1.2.0?repository_url=https://crates.example.com/index/"
        );
        assert_eq!(
            cargo_with_source("forked", "0.3.0", Some("git+https://github.com/acme/forked?branch=main#0123abcd")),
            "pkg:cargo/forked@0.3.0?vcs_url=git%2Bhttps://github.com/acme/forked%400123abcd"
        );
    }

    #[test]
    fn npm_purls() {
        assert_eq!(npm("left-pad", "1.3.0"), "pkg:npm/left-pad@1.3.0");
        assert_eq!(npm("@types/node", "20.11.5"), "pkg:npm/%40types/node@20.11.5");
        assert_eq!(npm("@Acme/Widget", "1.0.0-beta.1"), "pkg:npm/%40acme/widget@1.0.0-beta.1");
        assert_eq!(npm("JSONStream", "1.3.5"), "pkg:npm/jsonstream@1.3.5");
        assert_eq!(npm("lodash", "4.17.21+build.7"), "pkg:npm/lodash@4.17.21%2Bbuild.7");
    }

    #[test]
    fn pypi_purls() {
        assert_eq!(pypi("Django_AllAuth", "1.2"), "pkg:pypi/django-allauth@1.2");
        assert_eq!(pypi("zope.interface", "6.4"), "pkg:pypi/zope-interface@6.4");
        assert_eq!(pypi("ruamel.yaml.clib", "0.2.8"), "pkg:pypi/ruamel-yaml-clib@0.2.8");
        assert_eq!(pypi("A__b-._c", "1.0rc1"), "pkg:pypi/a-b-c@1.0rc1");
        assert_eq!(pypi("torch", "2.3.0+cpu"), "pkg:pypi/torch@2.3.0%2Bcpu");
    }

    #[test]
    fn golang_purls() {
        assert_eq!(golang("github.com/x/y", "v1.2.3"), "pkg:golang/github.com/x/y@v1.2.3");
        assert_eq!(
            golang("github.com/Azure/go-autorest/autorest", "v0.11.29"),
            "pkg:golang/github.com/azure/go-autorest/autorest@v0.11.29"
        );
        assert_eq!(golang("gopkg.in/yaml.v3", "v3.0.1"), "pkg:golang/gopkg.in/yaml.v3@v3.0.1");
        assert_eq!(
            golang("github.com/docker/docker", "v24.0.7+incompatible"),
            "pkg:golang/github.com/docker/docker@v24.0.7%2Bincompatible"
        );
        assert_eq!(
            golang("golang.org/x/sys", "v0.0.0-20240101000000-abcdef123456"),
            "pkg:golang/golang.org/x/sys@v0.0.0-20240101000000-abcdef123456"
        );
    }

    #[test]
    fn os_package_purls() {
        assert_eq!(
            deb(Some("debian"), "curl", "7.88.1-10+deb12u5", "amd64", Some("debian-12")),
            "pkg:deb/debian/curl@7.88.1-10%2Bdeb12u5?arch=amd64&distro=debian-12"
        );
        // An epoch's `:` is encoded; `~` is not.
        assert_eq!(
            deb(Some("Ubuntu"), "libgcrypt20", "1:1.10.1-3ubuntu1~22.04", "arm64", Some("ubuntu-22.04")),
            "pkg:deb/ubuntu/libgcrypt20@1%3A1.10.1-3ubuntu1~22.04?arch=arm64&distro=ubuntu-22.04"
        );
        assert_eq!(deb(None, "tzdata", "2024a-0+deb12u1", "all", None), "pkg:deb/tzdata@2024a-0%2Bdeb12u1?arch=all");
        assert_eq!(
            apk(Some("alpine"), "musl", "1.2.4-r2", "x86_64", Some("alpine-3.19.1")),
            "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.19.1"
        );
        assert_eq!(
            apk(Some("alpine"), "ca-certificates-bundle", "20240226-r0", "", None),
            "pkg:apk/alpine/ca-certificates-bundle@20240226-r0"
        );
    }

    #[test]
    fn odd_characters_are_encoded() {
        assert_eq!(encode("a b/c@d?e#f%", &[]), "a%20b%2Fc%40d%3Fe%23f%25");
        assert_eq!(encode("x:y~z", &[]), "x:y~z");
    }
}
