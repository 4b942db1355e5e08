//! System call names, numbers and systemd's syscall groups: the vocabulary of
//! SystemCallFilter=, SystemCallLog= and `sbx syscall-filter`.
//!
//! Invariant: names are the kernel's and systemd's (`newfstatat`, not `fstatat`); a group's
//! membership is systemd's, kept as data in `groups.txt` and checked against
//! `systemd-analyze` by the tests; numbers come from `table.rs`, per architecture. A name
//! that no table of the running architecture has is not an error here: callers skip it
//! when `is_known` says systemd knows it, as systemd does, and report it otherwise.
//! Nothing here reads the host or builds a filter (that is `plan::seccomp`).

mod data;
mod groups;
mod numbers;
#[cfg(test)]
mod source;
mod table;

/// The tables build.rs generates from `groups.txt` and the `syscalls` crate.
mod generated {
    use super::data::Text;
    use super::groups::Group;
    use super::numbers::NrSet;
    include!(concat!(env!("OUT_DIR"), "/syscall_tables.rs"));

    impl Text {
        /// The string at this place of the generated text.
        pub fn get(self) -> &'static str {
            &TEXT[usize::from(self.0)..][..usize::from(self.1)]
        }
    }
}

pub use groups::{Group, expand, group, groups};
pub use numbers::{entry_numbers, group_numbers};
#[allow(unused_imports, reason = "name_of is for naming a refused syscall; tests use it now")]
pub use table::name_of;
pub use table::{Arch, all, max_number, number};

/// Whether systemd or one of sbx's tables knows `name`: in @known (or another group), or a
/// syscall of some architecture. An unknown name in a profile is an error; a known one that
/// the running architecture lacks is skipped.
pub fn is_known(name: &str) -> bool {
    groups::is_member(name) || Arch::ALL.into_iter().any(|arch| number(arch, name).is_some())
}

/// For tests that compare with the installed systemd.
#[cfg(test)]
pub(crate) mod testing {
    use std::process::Command;

    /// The stdout of `systemd-analyze ARGS` when systemd-analyze 252 (the version the data
    /// comes from) is installed; otherwise prints why the comparison is skipped.
    pub fn systemd_analyze_252(args: &[&str]) -> Option<String> {
        let run = |args: &[&str]| {
            Command::new("systemd-analyze").args(args).env("SYSTEMD_COLORS", "0").env("SYSTEMD_PAGER", "").output()
        };
        let version = match run(&["--version"]) {
            Ok(out) if out.status.success() => {
                String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or("").to_owned()
            }
            _ => {
                println!("skip: systemd-analyze is not installed; not comparing with systemd 252");
                return None;
            }
        };
        if !version.starts_with("systemd 252 ") {
            println!("skip: {version} is installed; the data is systemd 252's");
            return None;
        }
        let out = run(args).ok()?;
        assert!(out.status.success(), "systemd-analyze {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        Some(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn syscalls_is_known() {
        for name in ["read", "newfstatat", "mmap2", "_llseek", "vm86", "arc_gettls", "_sysctl", "cachestat"] {
            assert!(is_known(name), "{name}");
        }
        for name in ["fstatat", "@system-service", "", "no_such_call", "READ"] {
            assert!(!is_known(name), "{name:?}");
        }
    }

    /// Names of @system-service that x86-64 does not have: calls of 32-bit ABIs (i386, arm:
    /// *32, *64, *_time64, old*, sig*), of other architectures (arm, riscv, powerpc), and the
    /// multiplexers and legacy calls x86-64 never had (ipc, socketcall, nice, waitpid).
    const NOT_ON_X86_64: &[&str] = &[
        "_llseek",
        "_newselect",
        "arm_fadvise64_64",
        "cacheflush",
        "chown32",
        "clock_getres_time64",
        "clock_gettime64",
        "clock_nanosleep_time64",
        "fadvise64_64",
        "fchown32",
        "fcntl64",
        "fstat64",
        "fstatat64",
        "fstatfs64",
        "ftruncate64",
        "futex_time64",
        "getegid32",
        "geteuid32",
        "getgid32",
        "getgroups32",
        "getresgid32",
        "getresuid32",
        "getuid32",
        "io_pgetevents_time64",
        "ipc",
        "lchown32",
        "lstat64",
        "mmap2",
        "mq_timedreceive_time64",
        "mq_timedsend_time64",
        "nice",
        "oldfstat",
        "oldlstat",
        "oldolduname",
        "olduname",
        "oldstat",
        "ppoll_time64",
        "pselect6_time64",
        "readdir",
        "recv",
        "recvmmsg_time64",
        "riscv_flush_icache",
        "riscv_hwprobe",
        "rt_sigtimedwait_time64",
        "sched_rr_get_interval_time64",
        "semtimedop_time64",
        "send",
        "sendfile64",
        "set_tls",
        "setfsgid32",
        "setfsuid32",
        "setgid32",
        "setgroups32",
        "setregid32",
        "setresgid32",
        "setresuid32",
        "setreuid32",
        "setuid32",
        "sigaction",
        "signal",
        "sigpending",
        "sigprocmask",
        "sigreturn",
        "sigsuspend",
        "socketcall",
        "stat64",
        "statfs64",
        "swapcontext",
        "sync_file_range2",
        "timer_gettime64",
        "timer_settime64",
        "timerfd_gettime64",
        "timerfd_settime64",
        "truncate64",
        "ugetrlimit",
        "utimensat_time64",
        "waitpid",
    ];

    #[test]
    fn syscalls_system_service_resolves_on_x86_64() {
        let service = expand("@system-service").unwrap_or_default();
        let missing: BTreeSet<&str> = service.iter().copied().filter(|n| number(Arch::X86_64, n).is_none()).collect();
        let expected: BTreeSet<&str> = NOT_ON_X86_64.iter().copied().collect();
        assert_eq!(missing, expected, "names of @system-service without an x86-64 number");
        println!("@system-service: {} names, {} on x86-64", service.len(), service.len() - missing.len());
    }

    #[test]
    fn syscalls_known_resolution_per_arch() {
        let known = expand("@known").unwrap_or_default();
        for arch in Arch::ALL {
            let resolved = known.iter().filter(|n| number(arch, n).is_some()).count();
            let table_only: Vec<&str> = all(arch).map(|e| e.1).filter(|n| !known.contains(n)).collect();
            println!(
                "{}: {resolved} of {} @known names resolve; {} of {} table names are not in @known: {}",
                arch.name(),
                known.len(),
                table_only.len(),
                all(arch).count(),
                table_only.join(" ")
            );
            assert!(resolved > 300, "{}: only {resolved} @known names resolve", arch.name());
            assert!(table_only.iter().all(|n| is_known(n)));
        }
        // Listed by systemd 252's groups, but neither in its @known nor in a table here.
        let orphans: Vec<&str> = groups()
            .iter()
            .flat_map(Group::entries)
            .filter(|n| !n.starts_with('@'))
            .collect::<BTreeSet<&str>>()
            .into_iter()
            .filter(|n| !known.contains(n) && Arch::ALL.into_iter().all(|a| number(a, n).is_none()))
            .collect();
        assert_eq!(orphans, ["set_tls"]);
    }

    /// Every name any group lists is one sbx can judge: known to systemd or to a table.
    #[test]
    fn syscalls_group_members_are_known() {
        for g in groups() {
            for name in expand(g.name()).unwrap_or_default() {
                assert!(is_known(name), "{}: {name}", g.name());
            }
        }
    }
}
