//! The syscall layer: the only place with `unsafe` code.
//!
//! Invariant: one system call per wrapper, typed arguments, the raw errno returned as
//! `Errno`; no policy, no logging, no allocation. Safe rustix calls are used directly by
//! `launch/`; what rustix lacks (clone with namespace flags, mount_setattr, close_range,
//! execve with prepared arrays, the interface ioctl, setrlimit by number, prctl on
//! capabilities by number) lives here, each block with a `// SAFETY:` line; so does the
//! process entry point (`entry`), which replaces Rust's start-up.
#![allow(unsafe_code)]

pub mod caps;
#[cfg(not(test))]
mod entry;
pub mod exec;
pub mod fd;
pub mod image;
pub mod landlock;
pub mod mount;
pub mod net;
pub mod ns;
pub mod probe;
pub mod proc;
pub mod seccomp;

pub use rustix::io::Errno;

/// Converts a libc-style return value into a `Result`, reading errno on -1.
fn check(ret: libc::c_long) -> Result<libc::c_long, Errno> {
    if ret == -1 {
        Err(Errno::from_raw_os_error(std::io::Error::last_os_error().raw_os_error().unwrap_or(0)))
    } else {
        Ok(ret)
    }
}
