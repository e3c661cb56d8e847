//! Where values sit in a JSON document, so they can be replaced in place.
//!
//! `package.json` and `package-lock.json` must keep their formatting (indentation, key order,
//! final newline) when a version changes, so they are never re-serialised: this scanner
//! validates the whole document (RFC 8259) and returns the byte span of the values at the
//! requested key paths. One linear pass, no allocation per value.

use std::ops::Range;

/// A value found at one of the requested paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// Span of the value: for a string, the text between the quotes.
    pub range: Range<usize>,
    /// Whether the value is a string.
    pub is_string: bool,
}

/// A syntax error at a byte offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub offset: usize,
    pub message: String,
}

/// Scans `text` and returns, for each path of `targets` (object keys from the root), the
/// value found there, if any. With duplicate keys the last one wins, as in most parsers.
pub fn find(text: &str, targets: &[&[&str]]) -> Result<Vec<Option<Found>>, Error> {
    let mut s = Scanner { b: text.as_bytes(), text, i: 0, path: Vec::new(), targets, found: vec![None; targets.len()] };
    s.ws();
    if s.i < s.b.len() && s.b[s.i] == 0xEF {
        // A UTF-8 byte-order mark.
        s.i += 3;
        s.ws();
    }
    s.value(0)?;
    s.ws();
    if s.i != s.b.len() {
        return Err(s.err("unexpected text after the JSON value"));
    }
    Ok(s.found)
}

struct Scanner<'a, 't> {
    b: &'a [u8],
    text: &'a str,
    i: usize,
    path: Vec<std::borrow::Cow<'a, str>>,
    targets: &'t [&'t [&'t str]],
    found: Vec<Option<Found>>,
}

impl<'a> Scanner<'a, '_> {
    fn err(&self, message: &str) -> Error {
        Error { offset: self.i.min(self.b.len()), message: message.to_string() }
    }

    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn record(&mut self, range: Range<usize>, is_string: bool) {
        for (k, t) in self.targets.iter().enumerate() {
            if t.len() == self.path.len() && t.iter().zip(&self.path).all(|(a, b)| *a == b.as_ref()) {
                self.found[k] = Some(Found { range: range.clone(), is_string });
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<(), Error> {
        if depth > 256 {
            return Err(self.err("nesting too deep"));
        }
        self.ws();
        let start = self.i;
        match self.b.get(self.i) {
            None => Err(self.err("unexpected end of the document")),
            Some(b'{') => {
                self.object(depth)?;
                self.record(start..self.i, false);
                Ok(())
            }
            Some(b'[') => {
                self.array(depth)?;
                self.record(start..self.i, false);
                Ok(())
            }
            Some(b'"') => {
                let inner = self.string()?;
                self.record(inner, true);
                Ok(())
            }
            Some(b't') => self.literal("true", start),
            Some(b'f') => self.literal("false", start),
            Some(b'n') => self.literal("null", start),
            Some(c) if *c == b'-' || c.is_ascii_digit() => {
                self.number()?;
                self.record(start..self.i, false);
                Ok(())
            }
            Some(_) => Err(self.err("expected a value")),
        }
    }

    fn literal(&mut self, word: &str, start: usize) -> Result<(), Error> {
        if self.b[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            self.record(start..self.i, false);
            Ok(())
        } else {
            Err(self.err("expected a value"))
        }
    }

    fn number(&mut self) -> Result<(), Error> {
        let start = self.i;
        if self.b[self.i] == b'-' {
            self.i += 1;
        }
        let digits = |s: &mut Self| {
            let d = s.i;
            while s.i < s.b.len() && s.b[s.i].is_ascii_digit() {
                s.i += 1;
            }
            s.i > d
        };
        if !digits(self) {
            return Err(self.err("invalid number"));
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if !digits(self) {
                return Err(self.err("invalid number"));
            }
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !digits(self) {
                return Err(self.err("invalid number"));
            }
        }
        debug_assert!(self.i > start);
        Ok(())
    }

    /// Scans a string starting at `"`; returns the span between the quotes.
    fn string(&mut self) -> Result<Range<usize>, Error> {
        self.i += 1;
        let start = self.i;
        while let Some(&c) = self.b.get(self.i) {
            match c {
                b'"' => {
                    let r = start..self.i;
                    self.i += 1;
                    return Ok(r);
                }
                b'\\' => self.i += 2,
                c if c < 0x20 => return Err(self.err("control character in a string")),
                _ => self.i += 1,
            }
        }
        Err(self.err("unterminated string"))
    }

    fn object(&mut self, depth: usize) -> Result<(), Error> {
        self.i += 1;
        self.ws();
        if self.b.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.ws();
            if self.b.get(self.i) != Some(&b'"') {
                return Err(self.err("expected a key in double quotes"));
            }
            let key = self.string()?;
            let raw = &self.text[key];
            let key = if raw.contains('\\') {
                std::borrow::Cow::Owned(
                    serde_json::from_str::<String>(&format!("\"{raw}\""))
                        .map_err(|_| self.err("invalid escape in a key"))?,
                )
            } else {
                std::borrow::Cow::Borrowed(raw)
            };
            self.ws();
            if self.b.get(self.i) != Some(&b':') {
                return Err(self.err("expected `:` after a key"));
            }
            self.i += 1;
            self.path.push(key);
            self.value(depth + 1)?;
            self.path.pop();
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(self.err("expected `,` or `}`")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<(), Error> {
        self.i += 1;
        self.ws();
        if self.b.get(self.i) == Some(&b']') {
            self.i += 1;
            return Ok(());
        }
        let mut index = 0usize;
        loop {
            self.path.push(std::borrow::Cow::Owned(index.to_string()));
            self.value(depth + 1)?;
            self.path.pop();
            index += 1;
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(self.err("expected `,` or `]`")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_strings() {
        let text = r#"{
  "name": "app",
  "version": "1.2.3",
  "packages": { "": { "version": "1.2.3" }, "node_modules/x": { "version": "9.0.0" } },
  "list": [1, 2.5e3, -0, true, null, "a\"b"]
}"#;
        let f = find(text, &[&["version"], &["packages", "", "version"], &["missing"], &["packages"]]).unwrap();
        let v = f[0].as_ref().unwrap();
        assert!(v.is_string);
        assert_eq!(&text[v.range.clone()], "1.2.3");
        assert_eq!(&text[f[1].as_ref().unwrap().range.clone()], "1.2.3");
        assert_eq!(f[2], None);
        assert!(!f[3].as_ref().unwrap().is_string);
    }

    #[test]
    fn rejects_broken_documents() {
        for bad in ["{", "{\"a\" 1}", "{\"a\": 1,}", "[1 2]", "{\"a\": tru}", "{} x", "\"abc"] {
            assert!(find(bad, &[]).is_err(), "{bad}");
        }
        let e = find("{\n  \"version\": 1.2.3\n}", &[]).unwrap_err();
        assert_eq!(&"{\n  \"version\": 1.2.3\n}"[..e.offset], "{\n  \"version\": 1.2");
    }
}
