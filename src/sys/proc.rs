//! Per-process attributes rustix does not take by number: setrlimit, setpriority; and the
//! parent sbx had when it started, for `--die-with-parent`.

use std::sync::atomic::{AtomicI32, Ordering};

use super::{Errno, check};

/// getppid() as sbx's first step saw it; 0 until recorded.
static PARENT_AT_START: AtomicI32 = AtomicI32::new(0);

/// Records getppid(); called once by the entry point (which unit tests do not run).
#[cfg_attr(test, allow(dead_code))]
pub fn remember_parent() {
    PARENT_AT_START.store(rustix::process::Pid::as_raw(rustix::process::getppid()), Ordering::Relaxed);
}

/// The parent recorded at start, if it was.
pub fn parent_at_start() -> Option<i32> {
    Some(PARENT_AT_START.load(Ordering::Relaxed)).filter(|p| *p != 0)
}

/// setrlimit(resource, {soft, hard}); `None` is RLIM_INFINITY.
pub fn set_rlimit(resource: i32, soft: Option<u64>, hard: Option<u64>) -> Result<(), Errno> {
    let lim =
        libc::rlimit { rlim_cur: soft.unwrap_or(libc::RLIM_INFINITY), rlim_max: hard.unwrap_or(libc::RLIM_INFINITY) };
    // SAFETY: `lim` is a valid rlimit read by the kernel; the resource is a plain integer.
    check(unsafe { libc::setrlimit(resource as _, &lim) } as libc::c_long)?;
    Ok(())
}

/// Writes a prepared value to a file (/proc/self/oom_score_adj), without allocating.
pub fn write_file(path: &std::ffi::CStr, value: &std::ffi::CStr) -> Result<(), Errno> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(path, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty())?;
    rustix::io::write(&fd, value.to_bytes())?;
    Ok(())
}

/// setpriority(PRIO_PROCESS, 0, nice).
pub fn set_nice(nice: i32) -> Result<(), Errno> {
    // SAFETY: plain integer arguments.
    check(unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) } as libc::c_long)?;
    Ok(())
}
