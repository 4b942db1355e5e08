//! The kernel and architecture: the version sbx's launch needs, and whether sbx has a system
//! call table for the architecture (every sandbox's filter is built from it).
//!
//! Invariant: pure over the uname strings and the architecture the binary was built for.

use super::{Finding, Fix, Impact, Status};
use crate::host::HostFacts;
use crate::plan::syscalls::Arch;

/// mount_setattr(2), which the launch uses for read-only and nosuid mounts, came in 5.12.
const MIN_KERNEL: (u32, u32) = (5, 12);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Facts {
    pub release: String,
    pub machine: String,
    /// (major, minor), as HostFacts parsed it.
    pub version: (u32, u32),
    /// sbx's syscall table for the architecture it was built for, if any.
    pub table: Option<Arch>,
}

impl Facts {
    pub fn read(host: &HostFacts) -> Facts {
        let u = rustix::system::uname();
        Facts {
            release: u.release().to_string_lossy().into_owned(),
            machine: u.machine().to_string_lossy().into_owned(),
            version: host.kernel,
            table: Arch::native(),
        }
    }
}

pub fn finding(f: &Facts) -> Finding {
    const ID: &str = "kernel";
    const TITLE: &str = "kernel and architecture";
    let v = f.version;
    let Some(arch) = f.table else {
        return Finding::new(ID, TITLE, Status::Missing, format!("Linux {} on {}: sbx has no system call table for this architecture, so it cannot build a sandbox's filter", f.release, f.machine))
            .fixes([Fix::note("sbx supports x86-64 and arm64")])
            .impact(Impact::EverySandbox);
    };
    if v < MIN_KERNEL {
        return Finding::new(
            ID,
            TITLE,
            Status::Missing,
            format!("Linux {}: sbx needs {}.{} or newer (mount_setattr)", f.release, MIN_KERNEL.0, MIN_KERNEL.1),
        )
        .fixes([Fix::note(format!("use Linux {}.{} or newer", MIN_KERNEL.0, MIN_KERNEL.1))])
        .impact(Impact::EverySandbox);
    }
    Finding::new(
        ID,
        TITLE,
        Status::Ok,
        format!("Linux {} on {}; sbx has a system call table for {}", f.release, f.machine, arch.name()),
    )
    .impact(Impact::EverySandbox)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(release: &str, version: (u32, u32), table: Option<Arch>) -> Facts {
        Facts { release: release.into(), machine: "x86_64".into(), version, table }
    }

    #[test]
    fn needs_a_table_and_a_recent_kernel() {
        let ok = finding(&facts("6.18.44-fc-v782", (6, 18), Some(Arch::X86_64)));
        assert_eq!(ok.status, Status::Ok);
        assert!(ok.summary.ends_with("system call table for x86-64"), "{}", ok.summary);
        let old = finding(&facts("5.10.0-30-amd64", (5, 10), Some(Arch::X86_64)));
        assert_eq!((old.status, old.impact), (Status::Missing, Impact::EverySandbox));
        let riscv = finding(&Facts { machine: "riscv64".into(), ..facts("6.18.1", (6, 18), None) });
        assert!(riscv.summary.contains("no system call table"), "{}", riscv.summary);
    }
}
