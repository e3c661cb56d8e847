//! A checker for Go's text/template syntax as Helm uses it: what `helm lint` would refuse in a
//! chart's templates, found without Helm.
//!
//! It reads each action (`{{ … }}`, with `{{-`/`-}}` trim markers and `{{/* */}}` comments),
//! its strings (quoted, raw, character), parentheses and words, and reports with the line:
//! an unclosed action, comment or string; an unbalanced `)`; `{{ else }}`/`{{ end }}` without
//! their opening; `{{ break }}`/`{{ continue }}` outside `range`; an `if`/`range`/`with`/
//! `define`/`block` never closed; and every function that is neither Go's, sprig's nor Helm's
//! (`env` and `expandenv` are sprig's, but Helm removes them).

/// One problem in a template: the 1-based line and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateProblem {
    pub line: usize,
    pub message: String,
}

/// Go's text/template built-ins.
const GO: &[&str] = &[
    "and", "call", "html", "index", "slice", "js", "len", "not", "or", "print", "printf", "println", "urlquery", "eq",
    "ge", "gt", "le", "lt", "ne",
];

/// Helm's own functions (pkg/engine/funcs.go), current and recent.
const HELM: &[&str] = &[
    "include",
    "tpl",
    "required",
    "lookup",
    "toToml",
    "fromToml",
    "toYaml",
    "toYamlPretty",
    "mustToYaml",
    "fromYaml",
    "fromYamlArray",
    "toJson",
    "fromJson",
    "fromJsonArray",
];

/// Masterminds/sprig v3's function map (functions.go, `genericMap`).
const SPRIG: &[&str] = &[
    "abbrev",
    "abbrevboth",
    "add",
    "add1",
    "add1f",
    "addf",
    "adler32sum",
    "ago",
    "all",
    "any",
    "append",
    "atoi",
    "b32dec",
    "b32enc",
    "b64dec",
    "b64enc",
    "base",
    "bcrypt",
    "biggest",
    "buildCustomCert",
    "camelcase",
    "cat",
    "ceil",
    "chunk",
    "clean",
    "coalesce",
    "compact",
    "concat",
    "contains",
    "date",
    "dateInZone",
    "dateModify",
    "date_in_zone",
    "date_modify",
    "decryptAES",
    "deepCopy",
    "deepEqual",
    "default",
    "derivePassword",
    "dict",
    "dig",
    "dir",
    "div",
    "divf",
    "duration",
    "durationRound",
    "empty",
    "encryptAES",
    "ext",
    "fail",
    "first",
    "float64",
    "floor",
    "fromJson",
    "genCA",
    "genCAWithKey",
    "genPrivateKey",
    "genSelfSignedCert",
    "genSelfSignedCertWithKey",
    "genSignedCert",
    "genSignedCertWithKey",
    "get",
    "getHostByName",
    "has",
    "hasKey",
    "hasPrefix",
    "hasSuffix",
    "hello",
    "htmlDate",
    "htmlDateInZone",
    "htpasswd",
    "indent",
    "initial",
    "initials",
    "int",
    "int64",
    "isAbs",
    "join",
    "kebabcase",
    "keys",
    "kindIs",
    "kindOf",
    "last",
    "list",
    "lower",
    "max",
    "maxf",
    "merge",
    "mergeOverwrite",
    "min",
    "minf",
    "mod",
    "mul",
    "mulf",
    "mustAppend",
    "mustChunk",
    "mustCompact",
    "mustDateModify",
    "mustDeepCopy",
    "mustFirst",
    "mustFromJson",
    "mustHas",
    "mustInitial",
    "mustLast",
    "mustMerge",
    "mustMergeOverwrite",
    "mustPrepend",
    "mustRegexFind",
    "mustRegexFindAll",
    "mustRegexMatch",
    "mustRegexReplaceAll",
    "mustRegexReplaceAllLiteral",
    "mustRegexSplit",
    "mustRest",
    "mustReverse",
    "mustSlice",
    "mustToDate",
    "mustToJson",
    "mustToPrettyJson",
    "mustToRawJson",
    "mustUniq",
    "mustWithout",
    "must_date_modify",
    "nindent",
    "nospace",
    "now",
    "omit",
    "osBase",
    "osClean",
    "osDir",
    "osExt",
    "osIsAbs",
    "pick",
    "pluck",
    "plural",
    "prepend",
    "quote",
    "randAlpha",
    "randAlphaNum",
    "randAscii",
    "randBytes",
    "randInt",
    "randNumeric",
    "regexFind",
    "regexFindAll",
    "regexMatch",
    "regexQuoteMeta",
    "regexReplaceAll",
    "regexReplaceAllLiteral",
    "regexSplit",
    "repeat",
    "replace",
    "rest",
    "reverse",
    "round",
    "semver",
    "semverCompare",
    "seq",
    "set",
    "sha1sum",
    "sha256sum",
    "sha512sum",
    "shuffle",
    "slice",
    "snakecase",
    "sortAlpha",
    "split",
    "splitList",
    "splitn",
    "squote",
    "sub",
    "subf",
    "substr",
    "swapcase",
    "ternary",
    "title",
    "toDate",
    "toDecimal",
    "toJson",
    "toPrettyJson",
    "toRawJson",
    "toString",
    "toStrings",
    "trim",
    "trimAll",
    "trimPrefix",
    "trimSuffix",
    "trimall",
    "trunc",
    "tuple",
    "typeIs",
    "typeIsLike",
    "typeOf",
    "uniq",
    "unixEpoch",
    "unset",
    "until",
    "untilStep",
    "untitle",
    "upper",
    "urlJoin",
    "urlParse",
    "uuidv4",
    "values",
    "without",
    "wrap",
    "wrapWith",
];

const KEYWORDS: &[&str] =
    &["if", "else", "end", "range", "with", "define", "block", "template", "break", "continue", "nil", "true", "false"];

/// Whether Helm knows the function `name`.
pub fn helm_function(name: &str) -> bool {
    GO.contains(&name) || HELM.contains(&name) || SPRIG.contains(&name)
}

/// What one action holds: its first word (a keyword, when it is one) and every bare word.
struct Action {
    line: usize,
    words: Vec<(usize, String)>,
}

/// Checks a template; `known` says which functions exist (Helm's: [`helm_function`]).
pub fn check(text: &str, known: &dyn Fn(&str) -> bool) -> Vec<TemplateProblem> {
    let (actions, mut problems) = lex(text);
    let mut open: Vec<(&str, usize)> = Vec::new();
    for a in &actions {
        let first = a.words.first().map(|(_, w)| w.as_str());
        match first {
            Some(kw @ ("if" | "range" | "with" | "define" | "block")) => open.push((kw, a.line)),
            Some("else") => match open.last() {
                Some(("if" | "with" | "range", _)) => {}
                _ => problems.push(TemplateProblem {
                    line: a.line,
                    message: "{{ else }} outside {{ if }}, {{ with }} or {{ range }}".into(),
                }),
            },
            Some("end") if open.pop().is_none() => {
                problems.push(TemplateProblem { line: a.line, message: "unexpected {{ end }}".into() });
            }
            Some(kw @ ("break" | "continue")) if !open.iter().any(|(k, _)| *k == "range") => {
                problems
                    .push(TemplateProblem { line: a.line, message: format!("{{{{ {kw} }}}} outside {{{{ range }}}}") });
            }
            _ => {}
        }
        for (line, w) in &a.words {
            if KEYWORDS.contains(&w.as_str()) || known(w) {
                continue;
            }
            let message = if matches!(w.as_str(), "env" | "expandenv") {
                format!("function \"{w}\" not defined (Helm removes sprig's {w})")
            } else {
                format!("function \"{w}\" not defined")
            };
            problems.push(TemplateProblem { line: *line, message });
        }
    }
    for (kw, line) in open {
        problems.push(TemplateProblem { line, message: format!("{{{{ {kw} }}}} has no {{{{ end }}}}") });
    }
    problems.sort_by_key(|p| p.line);
    problems
}

/// Splits a template into its actions; problems of the lexical kind come back at once.
fn lex(text: &str) -> (Vec<Action>, Vec<TemplateProblem>) {
    let b = text.as_bytes();
    let mut actions = Vec::new();
    let mut problems = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let count_lines = |from: usize, to: usize| b[from..to].iter().filter(|c| **c == b'\n').count();
    while let Some(off) = text[i..].find("{{") {
        line += count_lines(i, i + off);
        let start_line = line;
        let mut j = i + off + 2;
        if b.get(j) == Some(&b'-') && b.get(j + 1).is_some_and(|c| c.is_ascii_whitespace()) {
            j += 1;
        }
        // A comment: `{{/*` … `*/}}` (trim markers allowed around it).
        let mut k = j;
        while b.get(k).is_some_and(|c| *c == b' ' || *c == b'\t' || *c == b'\n' || *c == b'\r') {
            k += 1;
        }
        if text[k..].starts_with("/*") {
            match text[k + 2..].find("*/") {
                Some(close) => {
                    let mut e = k + 2 + close + 2;
                    let rest = &text[e..];
                    let trimmed = rest.trim_start_matches([' ', '\t', '\n', '\r']);
                    let skip = rest.len() - trimmed.len();
                    let after = if let Some(r) = trimmed.strip_prefix("-}}") {
                        Some(trimmed.len() - r.len())
                    } else {
                        trimmed.strip_prefix("}}").map(|r| trimmed.len() - r.len())
                    };
                    match after {
                        Some(n) if skip == 0 || trimmed.starts_with('-') => {
                            e += skip + n;
                            line += count_lines(i + off, e);
                            i = e;
                        }
                        _ => {
                            problems.push(TemplateProblem {
                                line: start_line,
                                message: "comment ends before closing delimiter".into(),
                            });
                            line += count_lines(i + off, e);
                            i = e;
                        }
                    }
                    continue;
                }
                None => {
                    problems.push(TemplateProblem { line: start_line, message: "unclosed comment".into() });
                    return (actions, problems);
                }
            }
        }
        // An action: words, strings and parentheses up to `}}`.
        let mut words = Vec::new();
        let mut depth = 0i32;
        let mut cur = j;
        let mut cur_line = start_line;
        let mut closed = false;
        while cur < b.len() {
            let c = b[cur];
            match c {
                b'\n' => {
                    cur_line += 1;
                    cur += 1;
                }
                b'}' if b.get(cur + 1) == Some(&b'}') => {
                    cur += 2;
                    closed = true;
                    break;
                }
                b'-' if text[cur + 1..].starts_with("}}") && cur > 0 && b[cur - 1].is_ascii_whitespace() => {
                    cur += 3;
                    closed = true;
                    break;
                }
                b'"' | b'\'' => {
                    let quote = c;
                    let mut e = cur + 1;
                    let mut ok = false;
                    while e < b.len() {
                        match b[e] {
                            b'\\' => e += 2,
                            b'\n' => break,
                            q if q == quote => {
                                ok = true;
                                break;
                            }
                            _ => e += 1,
                        }
                    }
                    if !ok {
                        let what = if quote == b'"' { "quoted string" } else { "character constant" };
                        problems.push(TemplateProblem { line: cur_line, message: format!("unterminated {what}") });
                        return (actions, problems);
                    }
                    cur = e + 1;
                }
                b'`' => match text[cur + 1..].find('`') {
                    Some(e) => {
                        cur_line += count_lines(cur, cur + 1 + e);
                        cur = cur + 1 + e + 1;
                    }
                    None => {
                        problems
                            .push(TemplateProblem { line: cur_line, message: "unterminated raw quoted string".into() });
                        return (actions, problems);
                    }
                },
                b'(' => {
                    depth += 1;
                    cur += 1;
                }
                b')' => {
                    depth -= 1;
                    if depth < 0 {
                        problems.push(TemplateProblem { line: cur_line, message: "unexpected right paren".into() });
                        depth = 0;
                    }
                    cur += 1;
                }
                b'.' | b'$' => {
                    // A field chain or a variable: `.Values.image`, `$x.y`, `$`.
                    cur += 1;
                    while cur < b.len() && (b[cur].is_ascii_alphanumeric() || b[cur] == b'_' || b[cur] == b'.') {
                        cur += 1;
                    }
                }
                c if c.is_ascii_digit() => {
                    while cur < b.len() && (b[cur].is_ascii_alphanumeric() || b[cur] == b'_' || b[cur] == b'.') {
                        cur += 1;
                    }
                }
                c if c.is_ascii_alphabetic() || c == b'_' => {
                    let s = cur;
                    while cur < b.len() && (b[cur].is_ascii_alphanumeric() || b[cur] == b'_') {
                        cur += 1;
                    }
                    words.push((cur_line, text[s..cur].to_string()));
                    // A field access on a word's result (`(x).Field` aside): `.Field` follows.
                    while cur < b.len() && b[cur] == b'.' {
                        cur += 1;
                        while cur < b.len() && (b[cur].is_ascii_alphanumeric() || b[cur] == b'_') {
                            cur += 1;
                        }
                    }
                }
                _ => cur += 1,
            }
        }
        if !closed {
            problems.push(TemplateProblem { line: start_line, message: "unclosed action".into() });
            return (actions, problems);
        }
        if depth > 0 {
            problems.push(TemplateProblem { line: start_line, message: "unclosed left paren".into() });
        }
        line = cur_line;
        actions.push(Action { line: start_line, words });
        i = cur;
    }
    (actions, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<String> {
        check(text, &helm_function).into_iter().map(|p| format!("{}: {}", p.line, p.message)).collect()
    }

    #[test]
    fn a_typical_helm_template_is_clean() {
        let t = r#"{{- /* a comment */ -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "svc.fullname" . }}
  labels:
    {{- include "svc.labels" . | nindent 4 }}
spec:
  {{- if not .Values.autoscaling.enabled }}
  replicas: {{ .Values.replicaCount }}
  {{- end }}
  template:
    spec:
      containers:
        - image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
          {{- with .Values.resources }}
          resources: {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- range $k, $v := .Values.env }}
          - name: {{ $k | quote }}
            value: {{ tpl $v $ | quote }}
          {{- else }}
          {{- end }}
{{- define "x" }}{{ printf `raw
string` }}{{ end }}
"#;
        assert_eq!(problems(t), Vec::<String>::new());
    }

    #[test]
    fn structure_and_functions_are_checked_with_lines() {
        assert_eq!(problems("a\n{{ if .x }}\nb\n"), vec!["2: {{ if }} has no {{ end }}"]);
        assert_eq!(problems("{{ end }}"), vec!["1: unexpected {{ end }}"]);
        assert_eq!(problems("x\n{{ .Values.a | toYml }}"), vec!["2: function \"toYml\" not defined"]);
        assert_eq!(problems("{{ env \"HOME\" }}"), vec!["1: function \"env\" not defined (Helm removes sprig's env)"]);
        assert_eq!(problems("line\n{{ .Values.a "), vec!["2: unclosed action"]);
        assert_eq!(problems("{{ \"abc }}\n"), vec!["1: unterminated quoted string"]);
        assert_eq!(problems("{{/* never closed }}"), vec!["1: unclosed comment"]);
        assert_eq!(problems("{{ else }}"), vec!["1: {{ else }} outside {{ if }}, {{ with }} or {{ range }}"]);
        assert_eq!(problems("{{ break }}"), vec!["1: {{ break }} outside {{ range }}"]);
        assert_eq!(problems("{{ (default 1 .x }}"), vec!["1: unclosed left paren"]);
        assert_eq!(problems("{{ if .a }}{{ else if .b }}{{ end }}"), Vec::<String>::new());
    }
}
