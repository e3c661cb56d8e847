//! Go: modules from `go.sum` (and `go.work.sum`), members from `go.work`.
//!
//! Each `go.sum` line is `<module> <version>[/go.mod] <hash>`. A module version usually has
//! two lines: the hash of its whole tree and the hash of its `go.mod` alone; they are one
//! package here. Versions with only a `/go.mod` line were consulted for version selection but
//! not downloaded or built: they are left out, and a note says how many.
//!
//! The hash (`h1:<base64>`) is Go's dirhash: a SHA-256 over a sorted list of the SHA-256s of
//! the files in the module zip, not a hash of any file a user can download. So it is not
//! written as a checksum (that would claim the zip hashes to it); it is kept as the property
//! `relman:go.sum:h1` (the text exactly as in `go.sum`), which `go mod verify` can check.
//! go.sum has no edges and no licences.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use relman_manifest::Failure;

use super::lockfile::invalid;
use super::model::{Ecosystem, Package, Role};
use super::purl;

const HINT: &str = "regenerate it with `go mod tidy`, or restore it from git";

/// The property under which a module's `go.sum` tree hash is recorded.
pub const H1_PROPERTY: &str = "relman:go.sum:h1";

/// Reads the go.sum-format `file` in `dir` (`origin` names it in messages). Modules in
/// `own` (the workspace's own module paths) are skipped.
pub fn read(
    dir: &Path,
    file: &str,
    origin: &str,
    own: &BTreeSet<String>,
) -> Result<(Vec<Package>, Vec<String>), Failure> {
    let text = crate::fsutil::read_to_string(&dir.join(file))?;
    parse(&text, origin, own)
}

fn parse(text: &str, origin: &str, own: &BTreeSet<String>) -> Result<(Vec<Package>, Vec<String>), Failure> {
    // (module, version) → tree hash, if a tree line was seen.
    let mut modules: BTreeMap<(String, String), Option<String>> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [module, version, hash] = fields.as_slice() else {
            return Err(invalid(
                origin,
                Some(i + 1),
                "",
                &format!("expected `<module> <version> <hash>`, found `{line}`"),
                HINT,
            ));
        };
        if !version.starts_with('v') || !hash.contains(':') {
            return Err(invalid(origin, Some(i + 1), "", &format!("`{line}` is not a go.sum line"), HINT));
        }
        match version.strip_suffix("/go.mod") {
            Some(v) => {
                modules.entry((module.to_string(), v.to_string())).or_insert(None);
            }
            None => {
                modules.insert((module.to_string(), version.to_string()), Some(hash.to_string()));
            }
        }
    }
    let mut out = Vec::new();
    let mut gomod_only = 0;
    for ((module, version), tree) in modules {
        if own.contains(&module) {
            continue;
        }
        let Some(h1) = tree else {
            gomod_only += 1;
            continue;
        };
        let mut p = Package::new(
            Ecosystem::Golang,
            Role::Dependency,
            &module,
            &version,
            purl::golang(&module, &version),
            origin,
        );
        p.download_location = Some(format!("https://proxy.golang.org/{}/@v/{}.zip", escape(&module), escape(&version)));
        p.properties.insert(H1_PROPERTY.to_string(), h1);
        out.push(p);
    }
    let mut notes = Vec::new();
    if gomod_only > 0 {
        notes.push(format!(
            "`{origin}`: {gomod_only} module version(s) listed only for their `go.mod` (used to select versions, not built) were left out"
        ));
    }
    Ok((out, notes))
}

/// The module proxy's case encoding: `A` → `!a`.
fn escape(path: &str) -> String {
    let mut s = String::with_capacity(path.len());
    for c in path.chars() {
        if c.is_ascii_uppercase() {
            s.push('!');
            s.push(c.to_ascii_lowercase());
        } else {
            s.push(c);
        }
    }
    s
}

/// The `module` path declared in a `go.mod`.
pub fn module_path(go_mod: &str) -> Option<String> {
    go_mod.lines().find_map(|l| {
        let l = l.split("//").next().unwrap_or_default().trim();
        let rest = l.strip_prefix("module")?;
        rest.starts_with(char::is_whitespace).then(|| rest.trim().trim_matches('"').to_string())
    })
}

/// The directories a `go.work` file `use`s (`use ./a` and `use ( ./a ./b )`), as written.
pub fn work_dirs(go_work: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_block = false;
    for line in go_work.lines() {
        let line = line.split("//").next().unwrap_or_default().trim();
        if in_block {
            if line == ")" {
                in_block = false;
            } else if !line.is_empty() {
                out.push(line.trim_matches('"').to_string());
            }
        } else if let Some(rest) = line.strip_prefix("use") {
            let rest = rest.trim();
            if rest == "(" {
                in_block = true;
            } else if !rest.is_empty() && line.starts_with("use ") {
                out.push(rest.trim_matches('"').to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUM: &str = "\
github.com/BurntSushi/toml v1.3.2 h1:o7IhLm0Msx3BaB+n3Ag7L8EVlByGnpq14C4YWiu/gL8=
github.com/BurntSushi/toml v1.3.2/go.mod h1:CxXYINrC8qIiEnFrOxCa7Jy5BFHlXnUU2pbicEuybxQ=
golang.org/x/text v0.3.0/go.mod h1:NqM8EUOU14njkJ3fqMW+pc6Ldnwhi/IjpwHt7yyuwOQ=
github.com/docker/docker v24.0.7+incompatible h1:Wo6l37AuwP3JaMnZa226lzVXGA3F9Ig1seQen0cKYlM=
example.com/me/app v0.0.0-00010101000000-000000000000 h1:abc=
";

    #[test]
    fn tree_and_gomod_lines_are_one_package() {
        let own = BTreeSet::from(["example.com/me/app".to_string()]);
        let (pkgs, notes) = parse(SUM, "go.sum", &own).unwrap();
        let purls: Vec<&str> = pkgs.iter().map(|p| p.purl.as_str()).collect();
        assert_eq!(
            purls,
            [
                "pkg:golang/github.com/burntsushi/toml@v1.3.2",
                "pkg:golang/github.com/docker/docker@v24.0.7%2Bincompatible"
            ]
        );
        assert_eq!(pkgs[0].properties[H1_PROPERTY], "h1:o7IhLm0Msx3BaB+n3Ag7L8EVlByGnpq14C4YWiu/gL8=");
        assert!(pkgs[0].checksums.is_empty(), "h1 is not a file hash");
        assert_eq!(
            pkgs[0].download_location.as_deref(),
            Some("https://proxy.golang.org/github.com/!burnt!sushi/toml/@v/v1.3.2.zip")
        );
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("1 module version(s)"), "{notes:?}");
    }

    #[test]
    fn a_malformed_line_names_the_file_and_line() {
        let err = parse("golang.org/x/text v0.3.0 h1:x=\nnot a go.sum line at all\n", "sub/go.sum", &BTreeSet::new())
            .unwrap_err();
        assert!(err.message.contains("`sub/go.sum` line 2"), "{}", err.message);
    }

    #[test]
    fn go_work_and_go_mod() {
        assert_eq!(
            work_dirs("go 1.22\n\nuse ./tools\nuse (\n\t./a // main\n\t\"./b\"\n)\n"),
            ["./tools", "./a", "./b"]
        );
        assert_eq!(
            module_path("// c\nmodule example.com/me/app // x\n\ngo 1.22\n").as_deref(),
            Some("example.com/me/app")
        );
        assert_eq!(module_path("modules x"), None);
    }
}
