//! The raw (number, name) lists of each architecture, from the `syscalls` crate with its
//! known mistakes corrected: compiled into build.rs, which turns them into static tables,
//! and into sbx's unit tests, which check those tables against the crate.
//!
//! Invariant: each list holds the names the kernel and systemd use for the architecture's
//! native ABI, by number; nothing here depends on another module of sbx.

/// Walks first..=last with `Sysno::new` rather than `Sysno::iter()`, which in syscalls 0.8.1
/// stops before the last entry (`next` compares with `<` against the last number).
macro_rules! walk {
    ($sysno:ty) => {
        (<$sysno>::first().id()..=<$sysno>::last().id())
            .filter_map(|id| <$sysno>::new(usize::try_from(id).ok()?))
            .filter_map(|s| Some((u32::try_from(s.id()).ok()?, s.name())))
    };
}

/// x86-64's calls, by number.
pub fn x86_64() -> Vec<(u32, &'static str)> {
    walk!(syscalls::x86_64::Sysno).collect()
}

/// arm64's calls, by number.
pub fn aarch64() -> Vec<(u32, &'static str)> {
    walk!(syscalls::aarch64::Sysno).filter_map(|(nr, name)| aarch64_fixup(nr, name)).collect()
}

/// Corrections to the aarch64 table of `syscalls` 0.8.
fn aarch64_fixup(nr: u32, name: &'static str) -> Option<(u32, &'static str)> {
    match (nr, name) {
        // asm-generic's __NR3264_fstatat is __NR_newfstatat on 64-bit ABIs; the kernel,
        // libseccomp and systemd all call it newfstatat.
        (79, "fstatat") => Some((79, "newfstatat")),
        // 403..=423 are the *_time64 calls of 32-bit ABIs (ABI "32" in the kernel's
        // scripts/syscall.tbl); on arm64 these numbers are holes that return ENOSYS.
        (403..=423, _) => None,
        _ => Some((nr, name)),
    }
}
