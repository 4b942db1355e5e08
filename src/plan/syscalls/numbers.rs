//! systemd's syscall groups as sets of one architecture's syscall numbers, for building
//! filters: bit sets, so that a filter is planned with unions and lookups of numbers instead
//! of ordered sets of names (which cost `sbx run --profile strict` a third of a millisecond).
//!
//! Invariant: `group_numbers(arch, g)` holds exactly the numbers, on `arch`, of the names
//! `groups::expand(g)` gives (names the architecture lacks have no number and are left out);
//! each architecture's sets are computed once per process, on first use.

use std::sync::OnceLock;

use super::groups::{Group, groups};
use super::table::{Arch, number};

/// Syscall numbers at or above this are outside every set; no architecture sbx knows has one
/// (a unit test checks the tables).
pub const NR_LIMIT: u32 = 512;

/// A set of syscall numbers below `NR_LIMIT`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NrSet([u64; (NR_LIMIT / 64) as usize]);

impl NrSet {
    pub fn insert(&mut self, nr: u32) {
        if let Some(word) = self.0.get_mut((nr / 64) as usize) {
            *word |= 1 << (nr % 64);
        }
    }

    pub fn remove(&mut self, nr: u32) {
        if let Some(word) = self.0.get_mut((nr / 64) as usize) {
            *word &= !(1 << (nr % 64));
        }
    }

    pub fn contains(&self, nr: u32) -> bool {
        self.0.get((nr / 64) as usize).is_some_and(|word| word & (1 << (nr % 64)) != 0)
    }

    pub fn union_with(&mut self, other: &NrSet) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a |= b;
        }
    }

    /// The numbers, ascending.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        (0..NR_LIMIT).filter(|nr| self.contains(*nr))
    }
}

/// The numbers on `arch` of every name group `name` (with the @) stands for; None for an
/// unknown group.
pub fn group_numbers(arch: Arch, name: &str) -> Option<&'static NrSet> {
    static X86_64: OnceLock<Vec<NrSet>> = OnceLock::new();
    static AARCH64: OnceLock<Vec<NrSet>> = OnceLock::new();
    let cell = match arch {
        Arch::X86_64 => &X86_64,
        Arch::Aarch64 => &AARCH64,
    };
    let sets = cell.get_or_init(|| all_sets(groups(), arch));
    let index = groups().iter().position(|g| g.name == name)?;
    sets.get(index)
}

/// The numbers on `arch` of a SystemCallFilter=-style entry: a group's, or one name's.
pub fn entry_numbers(arch: Arch, entry: &str) -> NrSet {
    if entry.starts_with('@') {
        return group_numbers(arch, entry).cloned().unwrap_or_default();
    }
    let mut set = NrSet::default();
    if let Some(nr) = number(arch, entry) {
        set.insert(nr);
    }
    set
}

/// Every group's set, in the groups' order, each nested group folded in once (cycle-safe).
fn all_sets(all: &[Group], arch: Arch) -> Vec<NrSet> {
    let own: Vec<NrSet> = all
        .iter()
        .map(|g| {
            let mut set = NrSet::default();
            for nr in g.entries.iter().filter(|e| !e.starts_with('@')).filter_map(|e| number(arch, e)) {
                set.insert(nr);
            }
            set
        })
        .collect();
    let subgroups: Vec<Vec<usize>> = all
        .iter()
        .map(|g| {
            let refs = g.entries.iter().filter(|e| e.starts_with('@'));
            refs.filter_map(|r| all.iter().position(|x| x.name == *r)).collect()
        })
        .collect();
    (0..all.len())
        .map(|start| {
            let mut set = NrSet::default();
            let mut seen = vec![false; all.len()];
            let mut pending = vec![start];
            seen[start] = true;
            while let Some(i) = pending.pop() {
                set.union_with(&own[i]);
                for &sub in &subgroups[i] {
                    if !std::mem::replace(&mut seen[sub], true) {
                        pending.push(sub);
                    }
                }
            }
            set
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::syscalls::{expand, max_number};

    #[test]
    fn every_number_fits() {
        for arch in Arch::ALL {
            assert!(max_number(arch) < NR_LIMIT, "{arch:?}: {}", max_number(arch));
        }
    }

    #[test]
    fn group_numbers_are_the_numbers_of_the_expanded_names() {
        for arch in Arch::ALL {
            for g in groups() {
                let want: Vec<u32> = {
                    let mut v: Vec<u32> = expand(g.name).unwrap().into_iter().filter_map(|n| number(arch, n)).collect();
                    v.sort_unstable();
                    v.dedup();
                    v
                };
                let got: Vec<u32> = group_numbers(arch, g.name).unwrap().iter().collect();
                assert_eq!(got, want, "{arch:?} {}", g.name);
            }
        }
        assert!(group_numbers(Arch::X86_64, "@no-such-group").is_none());
    }

    #[test]
    fn entries_are_groups_or_single_names() {
        let one: Vec<u32> = entry_numbers(Arch::X86_64, "read").iter().collect();
        assert_eq!(one, [0]);
        assert_eq!(entry_numbers(Arch::X86_64, "no_such_call"), NrSet::default());
        assert_eq!(&entry_numbers(Arch::X86_64, "@clock"), group_numbers(Arch::X86_64, "@clock").unwrap());
    }

    #[test]
    fn set_operations() {
        let mut s = NrSet::default();
        s.insert(3);
        s.insert(511);
        s.insert(512); // outside: ignored
        assert!(s.contains(3) && s.contains(511) && !s.contains(512) && !s.contains(4));
        s.remove(3);
        assert_eq!(s.iter().collect::<Vec<_>>(), [511]);
        let mut t = NrSet::default();
        t.insert(64);
        t.union_with(&s);
        assert_eq!(t.iter().collect::<Vec<_>>(), [64, 511]);
    }
}
