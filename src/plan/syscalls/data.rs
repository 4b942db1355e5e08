//! The format of `groups.txt` and the number sets derived from it: compiled into build.rs,
//! which turns the data file into static tables once per build, and into sbx's unit tests,
//! which check those tables against a fresh parse.
//!
//! Invariant: nothing here touches the host or depends on another module of sbx (build.rs
//! includes this file on its own); a malformed data file is a `DataError` naming the line.

#![allow(dead_code, reason = "parse runs in build.rs and the tests; number_sets and Texts in build.rs only")]

use std::collections::HashMap;
use std::fmt;

/// The data file's name, for error messages.
pub const DATA_NAME: &str = "src/plan/syscalls/groups.txt";

/// Syscall numbers at or above this are outside every set; no architecture sbx knows has one
/// (a unit test checks the tables).
pub const NR_LIMIT: u32 = 512;

/// The 64-bit words of a set of numbers below `NR_LIMIT`.
pub const SET_WORDS: usize = (NR_LIMIT / 64) as usize;

/// One systemd syscall group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// With the leading @, e.g. "@system-service".
    pub name: &'static str,
    /// One line, sbx's own words.
    pub description: &'static str,
    /// Syscall names and @group references, sorted byte-wise (references first).
    pub entries: &'static [&'static str],
}

/// A string of the generated tables: its place (offset, length) in the one text they share.
/// The tables hold these instead of `&str`s because a static PIE relocates every pointer of
/// its data when it starts (3000 of them were the tables' and cost ~0.06 ms per run).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Text(pub u16, pub u16);

/// Builds the shared text of the generated tables, each distinct string once.
#[derive(Default)]
pub struct Texts {
    pub text: String,
    seen: HashMap<&'static str, Text>,
}

impl Texts {
    /// The place of `s` in the text, appending it the first time.
    pub fn intern(&mut self, s: &'static str) -> Text {
        if let Some(&t) = self.seen.get(s) {
            return t;
        }
        let end = u16::try_from(self.text.len() + s.len()).expect("the generated text outgrew 16-bit offsets");
        let len = u16::try_from(s.len()).expect("shorter than the text");
        let t = Text(end - len, len);
        self.text.push_str(s);
        self.seen.insert(s, t);
        t
    }
}

/// A mistake in the data file.
#[derive(Debug, PartialEq, Eq)]
pub struct DataError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{DATA_NAME}:{}: {}", self.line, self.message)
    }
}

fn is_group_name(s: &str) -> bool {
    s.strip_prefix('@').is_some_and(|rest| {
        !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    })
}

fn is_syscall_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// A group while its lines are read.
struct Open {
    name: &'static str,
    description: &'static str,
    entries: Vec<&'static str>,
}

/// Parses the data format described in the header of `groups.txt`. The entry lists are
/// leaked: this runs once per build (and in tests), never at run time.
pub fn parse(text: &'static str) -> Result<Vec<Group>, DataError> {
    let mut groups: Vec<Open> = Vec::new();
    // (line, referenced group) pairs, checked once every group is known.
    let mut references: Vec<(usize, &'static str)> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let err = |message: String| DataError { line, message };
        if raw.trim().is_empty() || raw.starts_with('#') {
            continue;
        }
        if !raw.starts_with(' ') {
            if !is_group_name(raw) {
                return Err(err(format!("expected @group-name at column 0, found {raw:?}")));
            }
            if groups.iter().any(|g| g.name == raw) {
                return Err(err(format!("group {raw} is defined twice")));
            }
            groups.push(Open { name: raw, description: "", entries: Vec::new() });
            continue;
        }
        let Some(current) = groups.last_mut() else {
            return Err(err("member line before the first @group".into()));
        };
        let item = raw.trim();
        if let Some(description) = item.strip_prefix("# ") {
            if !current.description.is_empty() || !current.entries.is_empty() {
                return Err(err(format!("{}: the description must be the one first line", current.name)));
            }
            current.description = description.trim();
            continue;
        }
        if current.description.is_empty() {
            return Err(err(format!("{}: the first line must be \"# description\"", current.name)));
        }
        if is_group_name(item) {
            references.push((line, item));
        } else if !is_syscall_name(item) {
            return Err(err(format!("{}: {item:?} is neither a syscall name nor an @group", current.name)));
        }
        if let Some(&last) = current.entries.last() {
            if last >= item {
                return Err(err(format!("{}: {item} is a duplicate or out of order (after {last})", current.name)));
            }
        }
        current.entries.push(item);
    }
    if let Some(empty) = groups.iter().find(|g| g.entries.is_empty()) {
        let line = text.lines().position(|l| l == empty.name).map_or(0, |i| i + 1);
        return Err(DataError { line, message: format!("group {} has no members", empty.name) });
    }
    if let Some(&(line, name)) = references.iter().find(|(_, name)| !groups.iter().any(|g| g.name == *name)) {
        return Err(DataError { line, message: format!("reference to undefined group {name}") });
    }
    Ok(groups
        .into_iter()
        .map(|g| Group { name: g.name, description: g.description, entries: g.entries.leak() })
        .collect())
}

/// Every group's numbers as a bit set, in the groups' order, each nested group folded in once
/// (cycle-safe); `number` gives a name's number on one architecture (names it lacks are
/// left out).
pub fn number_sets(all: &[Group], number: impl Fn(&str) -> Option<u32>) -> Vec<[u64; SET_WORDS]> {
    let insert = |set: &mut [u64; SET_WORDS], nr: u32| {
        if let Some(word) = set.get_mut((nr / 64) as usize) {
            *word |= 1 << (nr % 64);
        }
    };
    let own: Vec<[u64; SET_WORDS]> = all
        .iter()
        .map(|g| {
            let mut set = [0; SET_WORDS];
            for nr in g.entries.iter().filter(|e| !e.starts_with('@')).filter_map(|e| number(e)) {
                insert(&mut set, nr);
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
            let mut set = [0; SET_WORDS];
            let mut seen = vec![false; all.len()];
            let mut pending = vec![start];
            seen[start] = true;
            while let Some(i) = pending.pop() {
                for (a, b) in set.iter_mut().zip(own[i]) {
                    *a |= b;
                }
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
