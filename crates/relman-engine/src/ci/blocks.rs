//! relman's marked blocks in a generated file, and regeneration that keeps everything else.
//!
//! A block is the lines between `# relman:begin NAME` and `# relman:end NAME sha256:DIGEST`
//! (any indentation); the digest is of the block's body as relman wrote it, so `relman ci
//! check` can tell a hand edit (the body no longer matches its digest) from a stale block (it
//! matches, but relman.toml now says something else). Text outside blocks belongs to the user.

use relman_manifest::Failure;

/// One piece of a file: the user's text, or one of relman's blocks.
#[derive(Clone, Debug, PartialEq)]
pub enum Segment {
    Text(String),
    Block { name: String, indent: String, body: String },
}

/// A file made of segments.
#[derive(Clone, Debug, PartialEq)]
pub struct Blocks {
    pub segments: Vec<Segment>,
}

/// A block read back from a file: where it is and whether its body is as relman wrote it.
#[derive(Clone, Debug, PartialEq)]
pub struct FoundBlock {
    pub name: String,
    /// 1-based line of its `relman:begin`.
    pub line: usize,
    pub indent: String,
    pub body: String,
    /// The body's digest matches the one its end marker records.
    pub intact: bool,
}

const BEGIN: &str = "# relman:begin ";
const END: &str = "# relman:end ";

fn digest(body: &str) -> String {
    relman_install::hash::sha256_bytes(body.as_bytes()).as_str()[..16].to_string()
}

impl Blocks {
    pub fn new() -> Blocks {
        Blocks { segments: Vec::new() }
    }

    pub fn text(&mut self, text: &str) -> &mut Self {
        self.segments.push(Segment::Text(text.to_string()));
        self
    }

    /// A block; `body` is whole lines, each ending in a newline; markers get `indent`.
    pub fn block(&mut self, name: &str, indent: &str, body: &str) -> &mut Self {
        self.segments.push(Segment::Block { name: name.into(), indent: indent.into(), body: body.into() });
        self
    }

    /// The file as relman writes it.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for s in &self.segments {
            render_segment(s, &mut out);
        }
        out
    }

    fn find(&self, name: &str) -> Option<&Segment> {
        self.segments.iter().find(|s| matches!(s, Segment::Block { name: n, .. } if n == name))
    }

    /// `existing` with every relman block replaced by this generation's, blocks no longer
    /// generated removed, and new ones inserted after the block that precedes them here. The
    /// user's text is kept byte for byte.
    pub fn regenerate(&self, path: &str, existing: Option<&str>) -> Result<String, Failure> {
        let Some(existing) = existing else { return Ok(self.render()) };
        let found = parse(path, existing)?;
        let present: Vec<&str> = found.iter().filter_map(|s| s.block_name()).collect();
        let mut out = String::new();
        // Generated blocks missing from the file, keyed by the generated block before them.
        let mut pending: Vec<(Option<String>, &Segment)> = Vec::new();
        let mut prev: Option<String> = None;
        for s in &self.segments {
            if let Segment::Block { name, .. } = s {
                if !present.contains(&name.as_str()) {
                    pending.push((prev.clone(), s));
                }
                prev = Some(name.clone());
            }
        }
        flush(None, &mut out, &mut pending);
        for s in &found {
            match s {
                Parsed::Text(t) => out.push_str(t),
                Parsed::Block(b) => {
                    if let Some(seg) = self.find(&b.name) {
                        render_segment(seg, &mut out);
                        flush(Some(&b.name), &mut out, &mut pending);
                    }
                }
            }
        }
        for (_, seg) in pending {
            render_segment(seg, &mut out);
        }
        Ok(out)
    }

    /// How `existing` differs from this generation, block by block: one line per problem,
    /// naming the file, line and block.
    pub fn problems(&self, path: &str, existing: &str) -> Result<Vec<String>, Failure> {
        let found = parse(path, existing)?;
        let mut out = Vec::new();
        for s in &self.segments {
            let Segment::Block { name, body, .. } = s else { continue };
            match found.iter().find_map(|p| p.block().filter(|b| &b.name == name)) {
                None => out.push(format!("{path}: block `{name}` is missing")),
                Some(b) if &b.body == body => {}
                Some(b) if !b.intact => out.push(format!(
                    "{path}:{}: block `{name}` was edited by hand (it no longer matches what relman wrote); edits belong outside relman's blocks",
                    b.line
                )),
                Some(b) => out.push(format!(
                    "{path}:{}: block `{name}` is out of date with relman.toml (or this relman)",
                    b.line
                )),
            }
        }
        for b in found.iter().filter_map(Parsed::block) {
            if self.find(&b.name).is_none() {
                out.push(format!("{path}:{}: block `{}` is no longer generated", b.line, b.name));
            }
        }
        Ok(out)
    }
}

impl Default for Blocks {
    fn default() -> Self {
        Blocks::new()
    }
}

fn render_segment(s: &Segment, out: &mut String) {
    match s {
        Segment::Text(t) => out.push_str(t),
        Segment::Block { name, indent, body } => {
            out.push_str(&format!("{indent}{BEGIN}{name}\n"));
            out.push_str(body);
            out.push_str(&format!("{indent}{END}{name} sha256:{}\n", digest(body)));
        }
    }
}

/// Renders, in order, the pending blocks that come after `after` (and, recursively, those after
/// them).
fn flush(after: Option<&str>, out: &mut String, pending: &mut Vec<(Option<String>, &Segment)>) {
    let mut i = 0;
    while i < pending.len() {
        if pending[i].0.as_deref() == after {
            let (_, seg) = pending.remove(i);
            render_segment(seg, out);
            if let Segment::Block { name, .. } = seg {
                let name = name.clone();
                flush(Some(&name), out, pending);
            }
            i = 0;
        } else {
            i += 1;
        }
    }
}

enum Parsed {
    Text(String),
    Block(FoundBlock),
}

impl Parsed {
    fn block(&self) -> Option<&FoundBlock> {
        match self {
            Parsed::Block(b) => Some(b),
            Parsed::Text(_) => None,
        }
    }
    fn block_name(&self) -> Option<&str> {
        self.block().map(|b| b.name.as_str())
    }
}

/// Reads the blocks of a file (see the module docs); unbalanced or repeated markers are
/// refused, naming the line.
pub fn read_blocks(path: &str, text: &str) -> Result<Vec<FoundBlock>, Failure> {
    Ok(parse(path, text)?.into_iter().filter_map(|p| if let Parsed::Block(b) = p { Some(b) } else { None }).collect())
}

fn parse(path: &str, text: &str) -> Result<Vec<Parsed>, Failure> {
    let mut out = Vec::new();
    let mut text_buf = String::new();
    let mut open: Option<(String, usize, String, String)> = None; // name, line, indent, body
    let mut seen: Vec<String> = Vec::new();
    let bad = |line: usize, what: String| {
        Failure::check(format!("{path}:{line}: {what}")).with_hint(
            "restore the relman:begin / relman:end lines, or delete the file and run `relman ci generate` again",
        )
    };
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let n = i + 1;
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let trimmed = trimmed.trim_end();
        if let Some(name) = trimmed.strip_prefix(BEGIN) {
            let name = name.trim().to_string();
            if let Some((open_name, open_line, _, _)) = &open {
                return Err(bad(
                    n,
                    format!("`relman:begin {name}` inside block `{open_name}` (opened at line {open_line})"),
                ));
            }
            if seen.contains(&name) {
                return Err(bad(n, format!("block `{name}` appears twice")));
            }
            if !text_buf.is_empty() {
                out.push(Parsed::Text(std::mem::take(&mut text_buf)));
            }
            open = Some((name, n, indent.to_string(), String::new()));
        } else if let Some(rest) = trimmed.strip_prefix(END) {
            let mut parts = rest.split_whitespace();
            let name = parts.next().unwrap_or_default().to_string();
            let recorded = parts.next().and_then(|d| d.strip_prefix("sha256:")).map(str::to_string);
            let Some((open_name, open_line, open_indent, body)) = open.take() else {
                return Err(bad(n, format!("`relman:end {name}` without its relman:begin")));
            };
            if open_name != name {
                return Err(bad(
                    n,
                    format!("`relman:end {name}` closes block `{open_name}` (opened at line {open_line})"),
                ));
            }
            let intact = recorded.as_deref() == Some(digest(&body).as_str());
            seen.push(name.clone());
            out.push(Parsed::Block(FoundBlock { name, line: open_line, indent: open_indent, body, intact }));
        } else if let Some((_, _, _, body)) = open.as_mut() {
            body.push_str(line);
        } else {
            text_buf.push_str(line);
        }
    }
    if let Some((name, line, _, _)) = open {
        return Err(bad(line, format!("block `{name}` has no relman:end")));
    }
    if !text_buf.is_empty() {
        out.push(Parsed::Text(text_buf));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gen(a: &str, b: &str) -> Blocks {
        let mut g = Blocks::new();
        g.text("# head\n").block("a", "", a).text("jobs:\n").block("b", "  ", b);
        g
    }

    #[test]
    fn regeneration_keeps_text_outside_blocks_and_replaces_blocks() {
        let first = gen("x: 1\n", "  y: 2\n").render();
        let edited = first.replace("jobs:\n", "jobs:\n  mine:\n    runs-on: self\n").replace("# head\n", "# my head\n");
        let again = gen("x: 10\n", "  y: 2\n").regenerate("f.yml", Some(&edited)).unwrap();
        assert!(again.contains("# my head\n"), "{again}");
        assert!(again.contains("  mine:\n    runs-on: self\n"), "{again}");
        assert!(again.contains("x: 10\n") && !again.contains("x: 1\n"), "{again}");
        // Regenerating what was just generated changes nothing.
        assert_eq!(gen("x: 10\n", "  y: 2\n").regenerate("f.yml", Some(&again)).unwrap(), again);
    }

    #[test]
    fn new_blocks_go_after_their_predecessor_and_old_ones_go() {
        let old = gen("x: 1\n", "  y: 2\n").render();
        let mut g = Blocks::new();
        g.text("# head\n").block("a", "", "x: 1\n").block("c", "", "z: 3\n").text("jobs:\n");
        let out = g.regenerate("f.yml", Some(&old)).unwrap();
        let a = out.find("x: 1").unwrap();
        let c = out.find("z: 3").unwrap();
        assert!(a < c && !out.contains("y: 2"), "{out}");
    }

    #[test]
    fn problems_tell_hand_edits_from_stale_blocks() {
        let file = gen("x: 1\n", "  y: 2\n").render();
        assert!(gen("x: 1\n", "  y: 2\n").problems("f.yml", &file).unwrap().is_empty());
        let stale = gen("x: 2\n", "  y: 2\n").problems("f.yml", &file).unwrap();
        assert!(stale[0].contains("f.yml:2: block `a` is out of date"), "{stale:?}");
        let edited = file.replace("  y: 2\n", "  y: 3\n");
        let p = gen("x: 1\n", "  y: 2\n").problems("f.yml", &edited).unwrap();
        assert!(p[0].contains("block `b` was edited by hand"), "{p:?}");
    }

    #[test]
    fn broken_markers_are_named() {
        let e = parse("f.yml", "# relman:begin a\nx\n").err().unwrap();
        assert!(e.message.contains("f.yml:1: block `a` has no relman:end"), "{}", e.message);
        let e = parse("f.yml", "# relman:begin a\n# relman:end b\n").err().unwrap();
        assert!(e.message.contains("f.yml:2"), "{}", e.message);
    }
}
