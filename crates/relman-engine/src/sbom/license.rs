//! Declared licences → SPDX licence expressions that validators accept.
//!
//! Lockfiles and registry metadata declare licences loosely: `MIT/Apache-2.0` (Cargo's old
//! syntax), `mit or apache-2.0`, `SEE LICENSE IN LICENSE.md`, `UNLICENSED`. SPDX documents
//! must use ids from the SPDX licence list or a `LicenseRef-` declared in the document. So
//! [`normalize`] parses the declaration, gives known ids their canonical spelling (from the
//! common subset in [`LICENSE_IDS`]), and turns anything else into a `LicenseRef-<name>` whose
//! original text the writer records; a declaration that does not parse becomes one
//! `LicenseRef-` as a whole. Nothing is guessed: an unknown licence is never mapped to a
//! "close" known one.

/// SPDX licence ids relman recognises (the ones seen in practice on crates.io, npm and PyPI).
/// Every id here must be on the SPDX licence list; a test validates a document using them all.
/// (`MPL-2.0-no-copyleft-exception` is left out on purpose: the `license-expression` parser
/// behind pyspdxtools takes any id ending in `-exception` for a `WITH` exception.)
pub const LICENSE_IDS: &[&str] = &[
    "0BSD",
    "AFL-2.1",
    "AFL-3.0",
    "AGPL-3.0",
    "AGPL-3.0-only",
    "AGPL-3.0-or-later",
    "Apache-1.1",
    "Apache-2.0",
    "Artistic-1.0",
    "Artistic-1.0-Perl",
    "Artistic-2.0",
    "Beerware",
    "BlueOak-1.0.0",
    "BSD-1-Clause",
    "BSD-2-Clause",
    "BSD-2-Clause-Patent",
    "BSD-3-Clause",
    "BSD-3-Clause-Clear",
    "BSD-4-Clause",
    "BSL-1.0",
    "BUSL-1.1",
    "bzip2-1.0.6",
    "CC-BY-3.0",
    "CC-BY-4.0",
    "CC-BY-NC-4.0",
    "CC-BY-SA-3.0",
    "CC-BY-SA-4.0",
    "CC-PDDC",
    "CC0-1.0",
    "CDDL-1.0",
    "CDDL-1.1",
    "CDLA-Permissive-2.0",
    "CECILL-2.1",
    "curl",
    "ECL-2.0",
    "Elastic-2.0",
    "EPL-1.0",
    "EPL-2.0",
    "EUPL-1.1",
    "EUPL-1.2",
    "GPL-2.0",
    "GPL-2.0-only",
    "GPL-2.0-or-later",
    "GPL-3.0",
    "GPL-3.0-only",
    "GPL-3.0-or-later",
    "HPND",
    "ICU",
    "IJG",
    "ISC",
    "LGPL-2.0",
    "LGPL-2.0-only",
    "LGPL-2.0-or-later",
    "LGPL-2.1",
    "LGPL-2.1-only",
    "LGPL-2.1-or-later",
    "LGPL-3.0",
    "LGPL-3.0-only",
    "LGPL-3.0-or-later",
    "Libpng",
    "libpng-2.0",
    "MIT",
    "MIT-0",
    "MIT-CMU",
    "MIT-Modern-Variant",
    "MPL-1.0",
    "MPL-1.1",
    "MPL-2.0",
    "MS-PL",
    "MS-RL",
    "MulanPSL-2.0",
    "NCSA",
    "NTP",
    "OFL-1.1",
    "OLDAP-2.8",
    "OpenSSL",
    "OSL-3.0",
    "PHP-3.01",
    "PostgreSQL",
    "PSF-2.0",
    "Python-2.0",
    "Python-2.0.1",
    "Ruby",
    "Sleepycat",
    "SSPL-1.0",
    "Unicode-3.0",
    "Unicode-DFS-2016",
    "Unlicense",
    "UPL-1.0",
    "Vim",
    "W3C",
    "WTFPL",
    "X11",
    "Zlib",
    "zlib-acknowledgement",
    "ZPL-2.1",
];

/// SPDX licence exception ids (after `WITH`) relman recognises.
pub const EXCEPTION_IDS: &[&str] = &[
    "Autoconf-exception-3.0",
    "Bison-exception-2.2",
    "Classpath-exception-2.0",
    "Font-exception-2.0",
    "GCC-exception-2.0",
    "GCC-exception-3.1",
    "Linux-syscall-note",
    "LLVM-exception",
    "Qt-LGPL-exception-1.1",
    "Swift-exception",
    "WxWindows-exception-3.1",
];

/// A declared licence as an SPDX expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expression {
    /// Valid SPDX 2.3 licence expression syntax; ids are listed ones or `LicenseRef-`s.
    pub expression: String,
    /// The `LicenseRef-` ids this expression introduced, each with the declared text it stands
    /// for (the writer declares them in `hasExtractedLicensingInfos`).
    pub refs: Vec<(String, String)>,
}

impl Expression {
    /// True when every id is on the SPDX licence list (no `LicenseRef-` was needed).
    pub fn is_listed(&self) -> bool {
        self.refs.is_empty() && !self.expression.contains("LicenseRef-")
    }
}

/// Normalises a declared licence; `None` for an empty declaration.
pub fn normalize(declared: &str) -> Option<Expression> {
    let declared = declared.trim();
    if declared.is_empty() || declared.eq_ignore_ascii_case("NOASSERTION") || declared.eq_ignore_ascii_case("NONE") {
        return None;
    }
    let tokens = tokenize(&declared.replace('/', " OR "));
    let mut parser = Parser { tokens: &tokens, pos: 0, out: String::new(), refs: Vec::new() };
    if parser.expr().is_some() && parser.pos == tokens.len() {
        return Some(Expression { expression: parser.out, refs: parser.refs });
    }
    let id = license_ref(declared);
    Some(Expression { expression: id.clone(), refs: vec![(id, declared.to_string())] })
}

/// `LicenseRef-<text>` with every character outside `[A-Za-z0-9.-]` made `-`.
pub fn license_ref(text: &str) -> String {
    let mut s = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            s.push(c);
        } else if !s.ends_with('-') {
            s.push('-');
        }
    }
    let s = s.trim_matches('-');
    format!("LicenseRef-{}", if s.is_empty() { "unknown" } else { s })
}

fn tokenize(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c == '(' || c == ')' || c.is_whitespace() {
            if !word.is_empty() {
                tokens.push(std::mem::take(&mut word));
            }
            if !c.is_whitespace() {
                tokens.push(c.to_string());
            }
        } else {
            word.push(c);
        }
    }
    if !word.is_empty() {
        tokens.push(word);
    }
    tokens
}

struct Parser<'a> {
    tokens: &'a [String],
    pos: usize,
    out: String,
    refs: Vec<(String, String)>,
}

impl Parser<'_> {
    fn peek_op(&self, op: &str) -> bool {
        self.tokens.get(self.pos).is_some_and(|t| t.eq_ignore_ascii_case(op))
    }

    /// expr := and ( OR and )*
    fn expr(&mut self) -> Option<()> {
        self.and()?;
        while self.peek_op("OR") {
            self.pos += 1;
            self.out.push_str(" OR ");
            self.and()?;
        }
        Some(())
    }

    /// and := term ( AND term )*
    fn and(&mut self) -> Option<()> {
        self.term()?;
        while self.peek_op("AND") {
            self.pos += 1;
            self.out.push_str(" AND ");
            self.term()?;
        }
        Some(())
    }

    /// term := '(' expr ')' | id [ WITH exception ]
    fn term(&mut self) -> Option<()> {
        let token = self.tokens.get(self.pos)?;
        if token == "(" {
            self.pos += 1;
            self.out.push('(');
            self.expr()?;
            (self.tokens.get(self.pos)? == ")").then_some(())?;
            self.pos += 1;
            self.out.push(')');
            return Some(());
        }
        if token == ")" || ["AND", "OR", "WITH"].iter().any(|op| token.eq_ignore_ascii_case(op)) {
            return None;
        }
        self.pos += 1;
        let id = self.license_id(token);
        self.out.push_str(&id);
        if self.peek_op("WITH") {
            self.pos += 1;
            let exception = self.tokens.get(self.pos)?;
            let known = EXCEPTION_IDS.iter().find(|e| e.eq_ignore_ascii_case(exception))?;
            self.pos += 1;
            self.out.push_str(" WITH ");
            self.out.push_str(known);
        }
        Some(())
    }

    fn license_id(&mut self, token: &str) -> String {
        let (base, plus) = match token.strip_suffix('+') {
            Some(b) if !b.is_empty() => (b, "+"),
            _ => (token, ""),
        };
        if let Some(known) = LICENSE_IDS.iter().find(|id| id.eq_ignore_ascii_case(base)) {
            return format!("{known}{plus}");
        }
        if base.len() > "LicenseRef-".len()
            && base[.."LicenseRef-".len()].eq_ignore_ascii_case("LicenseRef-")
            && base.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        {
            return format!("LicenseRef-{}", &base["LicenseRef-".len()..]);
        }
        let id = license_ref(token);
        if !self.refs.iter().any(|(r, _)| *r == id) {
            self.refs.push((id.clone(), token.to_string()));
        }
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expr(s: &str) -> String {
        normalize(s).unwrap().expression
    }

    #[test]
    fn known_ids_get_their_canonical_spelling() {
        assert_eq!(expr("MIT"), "MIT");
        assert_eq!(expr("mit or apache-2.0"), "MIT OR Apache-2.0");
        assert_eq!(expr("MIT/Apache-2.0"), "MIT OR Apache-2.0");
        assert_eq!(expr("(MIT OR Apache-2.0) AND Unicode-3.0"), "(MIT OR Apache-2.0) AND Unicode-3.0");
        assert_eq!(expr("Apache-2.0 WITH LLVM-exception"), "Apache-2.0 WITH LLVM-exception");
        assert_eq!(expr("GPL-2.0+"), "GPL-2.0+");
        assert!(normalize("MIT OR Apache-2.0").unwrap().is_listed());
        assert_eq!(normalize("  "), None);
        assert_eq!(normalize("NOASSERTION"), None);
    }

    #[test]
    fn unknown_ids_become_license_refs_with_their_text() {
        let e = normalize("MIT OR Foo-Bar").unwrap();
        assert_eq!(e.expression, "MIT OR LicenseRef-Foo-Bar");
        assert_eq!(e.refs, [("LicenseRef-Foo-Bar".to_string(), "Foo-Bar".to_string())]);
        assert!(!e.is_listed());
        let e = normalize("SEE LICENSE IN LICENSE.md").unwrap();
        assert_eq!(e.expression, "LicenseRef-SEE-LICENSE-IN-LICENSE.md");
        assert_eq!(e.refs[0].1, "SEE LICENSE IN LICENSE.md");
        assert_eq!(expr("UNLICENSED"), "LicenseRef-UNLICENSED");
        assert_eq!(expr("LicenseRef-acme-eula"), "LicenseRef-acme-eula");
        // Broken syntax and unknown exceptions: the whole declaration is one reference.
        assert_eq!(expr("MIT AND"), "LicenseRef-MIT-AND");
        assert_eq!(expr("(MIT"), "LicenseRef-MIT");
        assert_eq!(expr("GPL-2.0 WITH Some-exception"), "LicenseRef-GPL-2.0-WITH-Some-exception");
    }
}
