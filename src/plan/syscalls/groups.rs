//! systemd's syscall groups (@default, @system-service, ... @known), from `groups.txt`.
//!
//! Invariant: the groups are the data file's, in its order, with members as systemd lists
//! them (names for any architecture, and @references to other groups, not flattened).
//! build.rs parses the file into static data, so a malformed file fails the build with its
//! line; nothing is parsed at run time. Resolving names to numbers is `table.rs`'s job.

use std::collections::BTreeSet;

use super::data::Text;
use super::generated::{ENTRIES, GROUPS, MEMBERS};

/// One systemd syscall group, as a row of the generated tables.
#[derive(Debug, PartialEq, Eq)]
pub struct Group {
    pub(super) name: Text,
    pub(super) description: Text,
    /// Its entries are `ENTRIES[first..first + count]`.
    pub(super) first: u16,
    pub(super) count: u16,
}

impl Group {
    /// With the leading @, e.g. "@system-service".
    pub fn name(&self) -> &'static str {
        self.name.get()
    }

    /// One line, sbx's own words.
    pub fn description(&self) -> &'static str {
        self.description.get()
    }

    /// Syscall names and @group references, sorted byte-wise (references first).
    pub fn entries(&self) -> impl Iterator<Item = &'static str> + Clone + use<> {
        let first = usize::from(self.first);
        ENTRIES[first..first + usize::from(self.count)].iter().map(|t| t.get())
    }
}

/// Every group, in systemd's order (@default first, @known last).
pub fn groups() -> &'static [Group] {
    GROUPS
}

/// The group called `name` (with the leading @).
pub fn group(name: &str) -> Option<&'static Group> {
    groups().iter().find(|g| g.name() == name)
}

/// All syscall names a group stands for, with nested groups expanded (cycle-safe).
pub fn expand(group_name: &str) -> Option<BTreeSet<&'static str>> {
    expand_with(|name| group(name).map(Group::entries), group_name)
}

/// `expand` over any groups, given each group's entries by name; each group is visited at
/// most once.
fn expand_with<I: Iterator<Item = &'static str>>(
    entries_of: impl Fn(&str) -> Option<I>,
    group_name: &str,
) -> Option<BTreeSet<&'static str>> {
    let mut names = BTreeSet::new();
    let mut seen = vec![group_name];
    let mut pending = vec![entries_of(group_name)?];
    while let Some(entries) = pending.pop() {
        for entry in entries {
            if !entry.starts_with('@') {
                names.insert(entry);
            } else if !seen.contains(&entry) {
                if let Some(sub) = entries_of(entry) {
                    seen.push(entry);
                    pending.push(sub);
                }
            }
        }
    }
    Some(names)
}

/// Whether any group lists syscall `name` (@known included: systemd 252's @known lacks a few
/// names its other groups list, e.g. arm's set_tls).
pub(super) fn is_member(name: &str) -> bool {
    MEMBERS.binary_search_by(|t| t.get().cmp(name)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::syscalls::data::{self, parse};

    /// `expand` over parsed groups.
    fn expand_in(all: &[data::Group], group_name: &str) -> Option<BTreeSet<&'static str>> {
        expand_with(|name| all.iter().find(|g| g.name == name).map(|g| g.entries.iter().copied()), group_name)
    }

    /// The data file, parsed afresh for comparison with what build.rs generated.
    const DATA: &str = include_str!("groups.txt");

    /// The 30 groups the issue asks for, in systemd's order.
    const EXPECTED: [&str; 30] = [
        "@default",
        "@aio",
        "@basic-io",
        "@chown",
        "@clock",
        "@cpu-emulation",
        "@debug",
        "@file-system",
        "@io-event",
        "@ipc",
        "@keyring",
        "@memlock",
        "@module",
        "@mount",
        "@network-io",
        "@obsolete",
        "@pkey",
        "@privileged",
        "@process",
        "@raw-io",
        "@reboot",
        "@resources",
        "@sandbox",
        "@setuid",
        "@signal",
        "@swap",
        "@sync",
        "@system-service",
        "@timer",
        "@known",
    ];

    #[test]
    fn syscalls_data_file_parses_into_the_generated_groups() {
        let parsed = parse(DATA).unwrap_or_else(|e| panic!("{e}"));
        let generated: Vec<data::Group> = groups()
            .iter()
            .map(|g| data::Group {
                name: g.name(),
                description: g.description(),
                entries: g.entries().collect::<Vec<_>>().leak(),
            })
            .collect();
        assert_eq!(parsed, generated);
        assert_eq!(groups().len(), EXPECTED.len());
        let mut members: Vec<&str> = groups().iter().flat_map(Group::entries).collect();
        members.retain(|e| !e.starts_with('@'));
        members.sort_unstable();
        members.dedup();
        assert_eq!(members, MEMBERS.iter().map(|t| t.get()).collect::<Vec<_>>());
        assert!(is_member("set_tls") && is_member("read") && !is_member("@default") && !is_member("no_such_call"));
    }

    #[test]
    fn syscalls_group_names_are_systemds() {
        let names: Vec<&str> = groups().iter().map(Group::name).collect();
        assert_eq!(names, EXPECTED);
        for g in groups() {
            let description = g.description();
            assert!(!description.is_empty() && description.len() < 90, "{}: {description:?}", g.name());
            assert_eq!(group(g.name()), Some(g));
        }
        assert_eq!(group("aio"), None, "the @ is part of the name");
        assert_eq!(group("@nonexistent"), None);
    }

    #[test]
    fn syscalls_references_resolve_and_expansion_terminates() {
        for g in groups() {
            for r in g.entries().filter(|e| e.starts_with('@')) {
                assert!(group(r).is_some(), "{} references undefined {r}", g.name());
            }
            let names = expand(g.name()).unwrap_or_default();
            assert!(!names.is_empty(), "{}", g.name());
            assert!(names.iter().all(|n| !n.starts_with('@')));
        }
        assert_eq!(expand("@nonexistent"), None);
    }

    #[test]
    fn syscalls_expansion_follows_references() {
        let service = expand("@system-service").unwrap_or_default();
        for sub in ["@default", "@basic-io", "@file-system", "@network-io", "@process", "@timer"] {
            let names = expand(sub).unwrap_or_default();
            assert!(names.is_subset(&service), "{sub} ⊄ @system-service");
        }
        for name in ["io_uring_setup", "unshare", "setns", "keyctl", "personality", "ioctl", "execve"] {
            assert!(service.contains(name), "@system-service lacks {name}");
        }
        for name in ["mount", "reboot", "ptrace", "init_module", "swapon", "seccomp"] {
            assert!(!service.contains(name), "@system-service has {name}");
        }
        // directives.md: in systemd 252, @system-service expands to 376 names.
        assert_eq!(service.len(), 376);
        let privileged = expand("@privileged").unwrap_or_default();
        assert!(privileged.contains("chown") && privileged.contains("reboot") && privileged.contains("acct"));
        assert!(expand("@known").unwrap_or_default().contains("_sysctl"), "@known includes @obsolete");
    }

    /// Each group holds at least what systemd 252 lists, entry by entry and expanded.
    #[test]
    fn syscalls_groups_contain_what_systemd_252_lists() {
        let Some(output) = crate::plan::syscalls::testing::systemd_analyze_252(&["syscall-filter", "--no-pager"])
        else {
            return;
        };
        // systemd-analyze prints the data file's format; its trailing sections are comments.
        let theirs = parse(Box::leak(output.into_boxed_str()));
        assert!(theirs.is_ok(), "{theirs:?}");
        let theirs = theirs.unwrap_or_default();
        assert!(theirs.len() >= 29, "systemd-analyze listed {} groups", theirs.len());
        for t in &theirs {
            let Some(ours) = group(t.name) else { panic!("systemd 252 has {}, sbx does not", t.name) };
            let missing: Vec<&str> = t.entries.iter().copied().filter(|e| !ours.entries().any(|o| o == *e)).collect();
            assert!(missing.is_empty(), "{} lacks {missing:?}", t.name);
            let expanded = expand(t.name).unwrap_or_default();
            let missing: Vec<&str> =
                expand_in(&theirs, t.name).unwrap_or_default().difference(&expanded).copied().collect();
            assert!(missing.is_empty(), "{} (expanded) lacks {missing:?}", t.name);
        }
    }

    #[test]
    fn syscalls_expansion_is_cycle_safe() {
        static CYCLE: &str = "@a\n    # a\n    @b\n    x\n\n@b\n    # b\n    @a\n    @b\n    y\n";
        let groups = parse(CYCLE);
        assert!(groups.is_ok(), "{groups:?}");
        let groups = groups.unwrap_or_default();
        assert_eq!(expand_in(&groups, "@a"), Some(BTreeSet::from(["x", "y"])));
        assert_eq!(expand_in(&groups, "@b"), Some(BTreeSet::from(["x", "y"])));
    }

    #[test]
    fn syscalls_malformed_data_is_an_error_with_a_line() {
        let cases: [(&'static str, usize, &str); 8] = [
            ("aio\n", 1, "expected @group-name"),
            ("    read\n", 1, "before the first @group"),
            ("@a\n    read\n", 2, "first line must be"),
            ("@a\n    # a\n    read\n    # again\n", 4, "description must be"),
            ("@a\n    # a\n    write\n    read\n", 4, "out of order"),
            ("@a\n    # a\n    read\n    read\n", 4, "duplicate"),
            ("@a\n    # a\n    Read!\n", 3, "neither a syscall name"),
            ("@a\n    # a\n    @b\n", 3, "undefined group @b"),
        ];
        for (text, line, message) in cases {
            match parse(text) {
                Err(e) => {
                    assert_eq!(e.line, line, "{text:?}: {e}");
                    assert!(e.message.contains(message), "{text:?}: {e}");
                }
                Ok(g) => panic!("{text:?} parsed: {g:?}"),
            }
        }
        let twice = parse("@a\n    # a\n    x\n@a\n    # a\n    y\n");
        assert!(twice.is_err_and(|e| e.line == 4 && e.message.contains("twice")));
        let empty = parse("@a\n    # a\n\n@b\n    # b\n    x\n");
        assert!(empty.is_err_and(|e| e.line == 1 && e.message.contains("no members")));
    }
}
