//! Per-architecture system call tables: kernel names and numbers for x86-64 and arm64.
//!
//! Invariant: a table holds the names the kernel and systemd use for the architecture's
//! native ABI, each name and each number at most once. The tables are static data that
//! build.rs generates from the `syscalls` crate with its known mistakes corrected
//! (`source.rs`), sorted by number and by name for binary search. Nothing here reads the
//! host: the running architecture is the one the binary was compiled for.

use super::data::Text;
use super::generated;

use serde::Serialize;

/// An architecture sbx can build a syscall filter for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    /// Every architecture with a table.
    pub const ALL: [Arch; 2] = [Arch::X86_64, Arch::Aarch64];

    /// The architecture of the running binary, or None when sbx has no table for it.
    pub fn native() -> Option<Arch> {
        if cfg!(target_arch = "x86_64") {
            Some(Arch::X86_64)
        } else if cfg!(target_arch = "aarch64") {
            Some(Arch::Aarch64)
        } else {
            None
        }
    }

    /// The AUDIT_ARCH_* value the kernel puts in `seccomp_data.arch`.
    pub fn audit_arch(self) -> u32 {
        match self {
            // EM_X86_64 (62) | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE
            Arch::X86_64 => 0xc000_003e,
            // EM_AARCH64 (183) | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE
            Arch::Aarch64 => 0xc000_00b7,
        }
    }

    /// The name as systemd's SystemCallArchitectures= spells it.
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86-64",
            Arch::Aarch64 => "arm64",
        }
    }

    /// The inverse of `name`; "native" is the caller's business (see `native`).
    pub fn from_systemd_name(s: &str) -> Option<Arch> {
        Arch::ALL.into_iter().find(|a| a.name() == s)
    }
}

/// One architecture's calls: (number, name) sorted by number, and the same rows' indices
/// sorted by name.
struct Table {
    by_nr: &'static [(u16, Text)],
    by_name: &'static [u16],
}

fn table(arch: Arch) -> Table {
    match arch {
        Arch::X86_64 => Table { by_nr: generated::X86_64_BY_NR, by_name: generated::X86_64_BY_NAME },
        Arch::Aarch64 => Table { by_nr: generated::AARCH64_BY_NR, by_name: generated::AARCH64_BY_NAME },
    }
}

impl Table {
    fn row(&self, i: usize) -> (u32, &'static str) {
        let (nr, name) = self.by_nr[i];
        (u32::from(nr), name.get())
    }
}

/// The number of `name` on `arch`, or None when the architecture has no such call.
pub fn number(arch: Arch, name: &str) -> Option<u32> {
    let t = table(arch);
    let i = t.by_name.binary_search_by(|&i| t.row(usize::from(i)).1.cmp(name)).ok()?;
    Some(t.row(usize::from(t.by_name[i])).0)
}

/// The name of syscall `nr` on `arch`.
#[allow(dead_code, reason = "for naming a refused syscall; tests use it now")]
pub fn name_of(arch: Arch, nr: u32) -> Option<&'static str> {
    let t = table(arch);
    t.by_nr.binary_search_by_key(&nr, |e| u32::from(e.0)).ok().map(|i| t.row(i).1)
}

/// The highest syscall number in the table of `arch`.
pub fn max_number(arch: Arch) -> u32 {
    table(arch).by_nr.last().map_or(0, |e| u32::from(e.0))
}

/// Every (number, name) of `arch`, by number.
pub fn all(arch: Arch) -> impl Iterator<Item = (u32, &'static str)> {
    let t = table(arch);
    (0..t.by_nr.len()).map(move |i| t.row(i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::syscalls::source;
    use std::collections::HashSet;

    fn entries(arch: Arch) -> Vec<(u32, &'static str)> {
        match arch {
            Arch::X86_64 => source::x86_64(),
            Arch::Aarch64 => source::aarch64(),
        }
    }

    /// The generated tables are the source lists, whole.
    #[test]
    fn syscalls_generated_tables_are_the_source_lists() {
        for arch in Arch::ALL {
            let mut want = entries(arch);
            want.sort_unstable();
            assert_eq!(all(arch).collect::<Vec<_>>(), want, "{}", arch.name());
        }
    }

    #[test]
    fn syscalls_x86_64_spot_checks() {
        let known = [
            ("read", 0),
            ("write", 1),
            ("ioctl", 16),
            ("socket", 41),
            ("mount", 165),
            ("openat", 257),
            ("newfstatat", 262),
            ("clone3", 435),
        ];
        for (name, nr) in known {
            assert_eq!(number(Arch::X86_64, name), Some(nr), "x86-64 {name}");
            assert_eq!(name_of(Arch::X86_64, nr), Some(name), "x86-64 {nr}");
        }
        assert_eq!(number(Arch::X86_64, "mmap2"), None, "32-bit only");
    }

    #[test]
    fn syscalls_aarch64_spot_checks() {
        let known = [
            ("openat", 56),
            ("mount", 40),
            ("read", 63),
            ("write", 64),
            ("newfstatat", 79),
            ("fstat", 80),
            ("clone3", 435),
        ];
        for (name, nr) in known {
            assert_eq!(number(Arch::Aarch64, name), Some(nr), "arm64 {name}");
            assert_eq!(name_of(Arch::Aarch64, nr), Some(name), "arm64 {nr}");
        }
        // The crate's quirks are corrected, and calls arm64 never had are absent.
        for absent in ["fstatat", "clock_gettime64", "futex_time64", "open", "fork", "stat"] {
            assert_eq!(number(Arch::Aarch64, absent), None, "arm64 {absent}");
        }
        assert!((403..=423).all(|nr| name_of(Arch::Aarch64, nr).is_none()));
        assert_eq!(number(Arch::Aarch64, "pidfd_send_signal"), Some(424));
    }

    #[test]
    fn syscalls_tables_are_bijections() {
        for arch in Arch::ALL {
            let raw = entries(arch);
            let nrs: HashSet<u32> = raw.iter().map(|e| e.0).collect();
            let names: HashSet<&str> = raw.iter().map(|e| e.1).collect();
            assert_eq!(nrs.len(), raw.len(), "{}: duplicate numbers", arch.name());
            assert_eq!(names.len(), raw.len(), "{}: duplicate names", arch.name());
            for (nr, name) in all(arch) {
                assert_eq!(number(arch, name), Some(nr));
                assert_eq!(name_of(arch, nr), Some(name));
                assert!(nr <= max_number(arch));
            }
            assert!(raw.len() > 300, "{}: only {} entries", arch.name(), raw.len());
        }
    }

    /// Every entry of the crate is there (bar the ones dropped on purpose), the last included.
    #[test]
    fn syscalls_tables_are_complete() {
        assert_eq!(entries(Arch::X86_64).len(), syscalls::x86_64::Sysno::count());
        assert_eq!(max_number(Arch::X86_64), syscalls::x86_64::Sysno::last().id() as u32);
        let dropped = syscalls::aarch64::Sysno::iter().filter(|s| (403..=423).contains(&s.id())).count();
        assert_eq!(entries(Arch::Aarch64).len(), syscalls::aarch64::Sysno::count() - dropped);
        assert_eq!(max_number(Arch::Aarch64), syscalls::aarch64::Sysno::last().id() as u32);
    }

    #[test]
    fn syscalls_max_numbers() {
        // At least clone3 (435); the crate may know newer calls.
        for arch in Arch::ALL {
            assert!(max_number(arch) >= 435);
            assert_eq!(name_of(arch, max_number(arch)), all(arch).last().map(|e| e.1));
        }
    }

    #[test]
    fn syscalls_arch_names() {
        for arch in Arch::ALL {
            assert_eq!(Arch::from_systemd_name(arch.name()), Some(arch));
        }
        assert_eq!(Arch::from_systemd_name("x86"), None);
        assert_eq!(Arch::from_systemd_name("native"), None);
        assert_eq!(Arch::X86_64.audit_arch(), 0xc000003e);
        assert_eq!(Arch::Aarch64.audit_arch(), 0xc00000b7);
        #[cfg(target_arch = "x86_64")]
        assert_eq!(Arch::native(), Some(Arch::X86_64));
        #[cfg(target_arch = "aarch64")]
        assert_eq!(Arch::native(), Some(Arch::Aarch64));
    }
}
