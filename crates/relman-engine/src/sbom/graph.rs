//! The shape both SBOM formats share: which package is the release itself, and which packages
//! hang directly off it so that every package is reachable from the described release.

use std::collections::BTreeSet;

use super::model::{Ecosystem, Inventory, Role};
use super::purl::normalize_python_name;
use super::subject::ReleaseSubject;

/// The release's place in the dependency graph.
pub struct Described {
    /// The own package that *is* the release (same name), if any: the release takes its purl,
    /// licence and edges instead of listing it separately.
    pub root: Option<usize>,
    /// The other own packages: parts of the release (SPDX `CONTAINS`).
    pub members: Vec<usize>,
    /// The release's direct dependencies: the root package's, plus every package no other
    /// edge reaches (lockfiles without edges, such as go.sum, or dev-only groups).
    pub direct: Vec<usize>,
}

pub fn describe(subject: &ReleaseSubject, inv: &Inventory) -> Described {
    let same_name = |eco: Ecosystem, name: &str| match eco {
        Ecosystem::Pypi => normalize_python_name(name) == normalize_python_name(&subject.name),
        _ => name.eq_ignore_ascii_case(&subject.name),
    };
    let root = inv.packages.iter().position(|p| p.role == Role::Own && same_name(p.ecosystem, &p.name));
    let members: Vec<usize> = inv
        .packages
        .iter()
        .enumerate()
        .filter(|(i, p)| p.role == Role::Own && Some(*i) != root)
        .map(|(i, _)| i)
        .collect();
    let index = |purl: &str| inv.packages.binary_search_by(|p| p.purl.as_str().cmp(purl)).ok();

    let mut direct: BTreeSet<usize> = BTreeSet::new();
    if let Some(r) = root {
        direct.extend(inv.packages[r].dependencies.iter().filter_map(|d| index(d)));
    }
    let mut reached: BTreeSet<usize> = root.into_iter().chain(members.iter().copied()).collect();
    let mut stack: Vec<usize> = reached.iter().copied().chain(direct.iter().copied()).collect();
    let visit = |stack: &mut Vec<usize>, reached: &mut BTreeSet<usize>| {
        while let Some(i) = stack.pop() {
            reached.insert(i);
            for d in &inv.packages[i].dependencies {
                if let Some(j) = index(d) {
                    if !reached.contains(&j) {
                        stack.push(j);
                    }
                }
            }
        }
    };
    visit(&mut stack, &mut reached);
    // What nothing depends on hangs off the release; then, for cycles nothing enters, the
    // first package (by purl) of each.
    let mut depended_on: BTreeSet<usize> = BTreeSet::new();
    for p in &inv.packages {
        depended_on.extend(p.dependencies.iter().filter_map(|d| index(d)));
    }
    let unreached: Vec<usize> = (0..inv.packages.len()).filter(|i| !reached.contains(i)).collect();
    for i in unreached.iter().copied().filter(|i| !depended_on.contains(i)).chain(unreached.iter().copied()) {
        if !reached.contains(&i) {
            direct.insert(i);
            stack.push(i);
            visit(&mut stack, &mut reached);
        }
    }
    Described { root, members, direct: direct.into_iter().collect() }
}
