//! Version ordering per ecosystem, as each ecosystem defines it: semver (crates.io, npm, Go),
//! PEP 440 (PyPI), dpkg's (Debian) and apk's (Alpine). OSV's `"0"` is below every version.

use std::cmp::Ordering;

/// The ecosystems relman matches, by OSV's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Eco {
    Crates,
    Npm,
    PyPI,
    Go,
    Debian,
    Alpine,
}

impl Eco {
    /// OSV's ecosystem name (`Debian:12` and `Alpine:v3.19` count as Debian and Alpine).
    pub fn from_osv(name: &str) -> Option<Eco> {
        let base = name.split(':').next().unwrap_or(name);
        Some(match base {
            "crates.io" => Eco::Crates,
            "npm" => Eco::Npm,
            "PyPI" => Eco::PyPI,
            "Go" => Eco::Go,
            "Debian" => Eco::Debian,
            "Alpine" => Eco::Alpine,
            _ => return None,
        })
    }

    pub fn osv_name(self) -> &'static str {
        match self {
            Eco::Crates => "crates.io",
            Eco::Npm => "npm",
            Eco::PyPI => "PyPI",
            Eco::Go => "Go",
            Eco::Debian => "Debian",
            Eco::Alpine => "Alpine",
        }
    }

    /// Compares two versions of this ecosystem; `None` when either cannot be read.
    pub fn compare(self, a: &str, b: &str) -> Option<Ordering> {
        if a == "0" || b == "0" {
            return Some(match (a == "0", b == "0") {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Less,
                _ => Ordering::Greater,
            });
        }
        match self {
            Eco::Crates | Eco::Npm | Eco::Go => {
                let pa = semver::Version::parse(a.trim_start_matches('v')).ok()?;
                let pb = semver::Version::parse(b.trim_start_matches('v')).ok()?;
                Some(pa.cmp_precedence(&pb))
            }
            Eco::PyPI => Some(pep440(a)?.cmp(&pep440(b)?)),
            Eco::Debian => Some(dpkg_compare(a, b)),
            Eco::Alpine => Some(apk_compare(a, b)),
        }
    }
}

// ---- Debian: dpkg's algorithm (deb-version(7)) ----------------------------------------------

/// `[epoch:]upstream[-revision]`, compared as dpkg does.
pub fn dpkg_compare(a: &str, b: &str) -> Ordering {
    let split = |v: &str| -> (u64, String, String) {
        let (epoch, rest) = match v.split_once(':') {
            Some((e, r)) if e.chars().all(|c| c.is_ascii_digit()) => (e.parse().unwrap_or(0), r),
            _ => (0, v),
        };
        match rest.rsplit_once('-') {
            Some((u, r)) => (epoch, u.to_string(), r.to_string()),
            None => (epoch, rest.to_string(), String::new()),
        }
    };
    let (ea, ua, ra) = split(a);
    let (eb, ub, rb) = split(b);
    ea.cmp(&eb).then_with(|| dpkg_part(&ua, &ub)).then_with(|| dpkg_part(&ra, &rb))
}

/// One part (upstream or revision): alternating non-digit and digit runs; in the non-digit
/// runs `~` sorts before everything (even the end), letters before non-letters.
fn dpkg_part(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    let order = |c: Option<&u8>| -> i32 {
        match c {
            None => 0,
            Some(b'~') => -1,
            Some(c) if c.is_ascii_digit() => 0,
            Some(c) if c.is_ascii_alphabetic() => *c as i32,
            Some(c) => *c as i32 + 256,
        }
    };
    while i < a.len() || j < b.len() {
        // Non-digit run.
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let ca = if i < a.len() && !a[i].is_ascii_digit() { order(a.get(i)) } else { order(None) };
            let cb = if j < b.len() && !b[j].is_ascii_digit() { order(b.get(j)) } else { order(None) };
            if ca != cb {
                return ca.cmp(&cb);
            }
            if i < a.len() && !a[i].is_ascii_digit() {
                i += 1;
            }
            if j < b.len() && !b[j].is_ascii_digit() {
                j += 1;
            }
        }
        // Digit run, numerically.
        let start_a = i;
        while i < a.len() && a[i].is_ascii_digit() {
            i += 1;
        }
        let start_b = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        let na = trim_zeros(&a[start_a..i]);
        let nb = trim_zeros(&b[start_b..j]);
        let c = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
        if c != Ordering::Equal {
            return c;
        }
    }
    Ordering::Equal
}

fn trim_zeros(d: &[u8]) -> &[u8] {
    let k = d.iter().position(|c| *c != b'0').unwrap_or(d.len());
    &d[k..]
}

// ---- Alpine: apk's version comparison ----------------------------------------------------------

/// apk versions: `1.2.3[letter][_suffix[N]]...[-rN]`; suffixes `_alpha` < `_beta` < `_pre` <
/// `_rc` < (none) < `_cvs` < `_svn` < `_git` < `_hg` < `_p`.
pub fn apk_compare(a: &str, b: &str) -> Ordering {
    let pa = apk_parse(a);
    let pb = apk_parse(b);
    pa.cmp(&pb)
}

#[derive(PartialEq, Eq, PartialOrd, Ord, Debug)]
struct ApkVersion {
    numbers: Vec<u64>,
    letter: u8,
    suffixes: Vec<(i8, u64)>,
    revision: u64,
}

fn apk_parse(v: &str) -> ApkVersion {
    let (main, revision) = match v.rsplit_once("-r") {
        Some((m, r)) if r.chars().all(|c| c.is_ascii_digit()) && !r.is_empty() => (m, r.parse().unwrap_or(0)),
        _ => (v, 0),
    };
    let (head, suffix_part) = match main.find('_') {
        Some(k) => (&main[..k], &main[k..]),
        None => (main, ""),
    };
    let (nums, letter) = match head.chars().last() {
        Some(c) if c.is_ascii_alphabetic() => (&head[..head.len() - 1], c as u8),
        _ => (head, 0),
    };
    let numbers = nums.split('.').map(|n| n.parse().unwrap_or(0)).collect();
    let mut suffixes = Vec::new();
    for s in suffix_part.split('_').filter(|s| !s.is_empty()) {
        let name: String = s.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
        let n: u64 = s[name.len()..].parse().unwrap_or(0);
        let rank = match name.as_str() {
            "alpha" => -4,
            "beta" => -3,
            "pre" => -2,
            "rc" => -1,
            "cvs" => 1,
            "svn" => 2,
            "git" => 3,
            "hg" => 4,
            "p" => 5,
            _ => 0,
        };
        suffixes.push((rank, n));
    }
    // No suffix sorts between the pre-release ones and the post-release ones.
    suffixes.push((0, 0));
    ApkVersion { numbers, letter, suffixes, revision }
}

// ---- PyPI: PEP 440 -------------------------------------------------------------------------------

/// A PEP 440 version as a sortable key: epoch, release (trailing zeros dropped), pre, post, dev.
#[derive(PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct Pep440 {
    epoch: u64,
    release: Vec<u64>,
    /// (phase, n): dev-only releases sort first (-1), then a/b/rc (0..=2), then none (3).
    pre: (i8, u64),
    /// `None` sorts before any post release.
    post: Option<u64>,
    /// No dev release sorts after any dev release.
    dev: (u8, u64),
}

pub fn pep440(v: &str) -> Option<Pep440> {
    let s = v.trim().to_ascii_lowercase();
    let s = s.trim_start_matches('v');
    let s = s.split('+').next().unwrap_or(s); // local versions are ignored in ranges
    let (epoch, rest) = match s.split_once('!') {
        Some((e, r)) => (e.parse().ok()?, r),
        None => (0, s),
    };
    let mut i = 0;
    let b = rest.as_bytes();
    let mut release = Vec::new();
    loop {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if start == i {
            return None;
        }
        release.push(rest[start..i].parse().ok()?);
        if i < b.len() && b[i] == b'.' && b.get(i + 1).is_some_and(|c| c.is_ascii_digit()) {
            i += 1;
        } else {
            break;
        }
    }
    while release.len() > 1 && release.last() == Some(&0) {
        release.pop();
    }
    let mut tail = rest[i..].replace(['-', '_'], ".");
    let mut pre = None;
    let mut post = None;
    let mut dev = None;
    let take_num = |t: &mut String| -> u64 {
        let t2 = t.trim_start_matches('.');
        let digits: String = t2.chars().take_while(|c| c.is_ascii_digit()).collect();
        *t = t2[digits.len()..].to_string();
        digits.parse().unwrap_or(0)
    };
    while !tail.is_empty() {
        let t = tail.trim_start_matches('.').to_string();
        let (phase, word) = [
            ("alpha", 0),
            ("beta", 1),
            ("preview", 2),
            ("pre", 2),
            ("rc", 2),
            ("c", 2),
            ("a", 0),
            ("b", 1),
            ("post", 10),
            ("rev", 10),
            ("r", 10),
            ("dev", 20),
        ]
        .iter()
        .find(|(w, _)| t.starts_with(w))
        .map(|(w, p)| (*p, *w))?;
        tail = t[word.len()..].to_string();
        let n = take_num(&mut tail);
        match phase {
            0..=2 => pre = Some((phase as i8, n)),
            10 => post = Some(n),
            _ => dev = Some(n),
        }
    }
    let pre = match (pre, post, dev) {
        (Some(p), _, _) => p,
        (None, None, Some(_)) => (-1, 0),
        _ => (3, 0),
    };
    let dev = match dev {
        Some(n) => (0, n),
        None => (1, 0),
    };
    Some(Pep440 { epoch, release, pre, post, dev })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    #[test]
    fn dpkg_cases() {
        for (a, b, want) in [
            ("1.0", "1.0", Equal),
            ("1.0~rc1", "1.0", Less),
            ("1.0", "1.0+b1", Less),
            ("1:0.9", "2.0", Greater),
            ("2.36-9+deb12u3", "2.36-9+deb12u10", Less),
            ("1.2.3-1", "1.2.3-1~bpo12+1", Greater),
            ("3.0.11-1~deb12u2", "3.0.11-1", Less),
            ("1.0a", "1.0", Greater),
            ("1.0-1", "1.0", Greater),
        ] {
            assert_eq!(dpkg_compare(a, b), want, "{a} vs {b}");
        }
    }

    #[test]
    fn apk_cases() {
        for (a, b, want) in [
            ("1.2.3-r0", "1.2.3-r1", Less),
            ("1.2.3_rc1-r0", "1.2.3-r0", Less),
            ("1.2.3_p1-r0", "1.2.3-r0", Greater),
            ("1.2.3a-r0", "1.2.3-r0", Greater),
            ("1.10.0-r0", "1.9.9-r5", Greater),
            ("3.1.4_alpha2", "3.1.4_beta1", Less),
        ] {
            assert_eq!(apk_compare(a, b), want, "{a} vs {b}");
        }
    }

    #[test]
    fn pep440_cases() {
        let c = |a: &str, b: &str| pep440(a).unwrap().cmp(&pep440(b).unwrap());
        assert_eq!(c("1.0.dev1", "1.0a1"), Less);
        assert_eq!(c("1.0a1", "1.0b1"), Less);
        assert_eq!(c("1.0rc1", "1.0"), Less);
        assert_eq!(c("1.0", "1.0.post1"), Less);
        assert_eq!(c("1.0", "1.0.0"), Equal);
        assert_eq!(c("2.0", "1!0.1"), Less);
        assert_eq!(c("1.10", "1.9"), Greater);
    }
}
