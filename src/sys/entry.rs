//! The process entry point: `main` as the C library calls it, in place of Rust's start-up.
//!
//! Rust's own start-up locates the main thread's stack guard by reading /proc/self/maps and
//! installs stack-overflow handlers on an alternate signal stack: 16 system calls and a
//! parse of the maps text before sbx's first instruction, on every start of a sandbox. sbx
//! keeps the two parts of it that it relies on: the standard descriptors are open (on
//! /dev/null when closed, so that no file sbx opens becomes its stdout or stderr), and
//! SIGPIPE is ignored (a closed pipe is an EPIPE error, not a silent death). A stack
//! overflow still ends the process with SIGSEGV, only without Rust's message.
//!
//! Invariant: runs once, single-threaded, before any other code of sbx.

use std::ffi::{CStr, OsString, c_char, c_int};
use std::os::unix::ffi::OsStringExt;

/// Called by the C library's start-up code with the process's arguments. They are handed on
/// from here: `std::env::args` is filled by Rust's start-up, which does not run.
#[unsafe(no_mangle)]
// SAFETY: the binary defines no other `main` (the crate is `no_main` outside tests).
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    standard_descriptors_open();
    ignore_sigpipe();
    super::proc::remember_parent();
    crate::run(arguments(argc, argv))
}

/// argv as owned strings (any bytes; Linux arguments need not be UTF-8).
fn arguments(argc: c_int, argv: *const *const c_char) -> Vec<OsString> {
    (0..usize::try_from(argc).unwrap_or(0))
        .map(|i| {
            // SAFETY: the C start-up passes argc valid pointers to NUL-terminated strings that
            // live as long as the process.
            let arg = unsafe { CStr::from_ptr(*argv.add(i)) };
            OsString::from_vec(arg.to_bytes().to_vec())
        })
        .collect()
}

/// Opens /dev/null on any of descriptors 0, 1 and 2 that is closed; aborts if it cannot.
fn standard_descriptors_open() {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd { fd, events: 0, revents: 0 });
    // SAFETY: `fds` is a valid array of three pollfd that lives across the call; a zero
    // timeout returns at once.
    let ret = unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) };
    for p in &fds {
        let closed = if ret < 0 {
            // SAFETY: F_GETFD on a plain integer descriptor reads no memory.
            let flags = unsafe { libc::fcntl(p.fd, libc::F_GETFD) };
            flags == -1
        } else {
            p.revents & libc::POLLNVAL != 0
        };
        if closed {
            // SAFETY: a static C string; the lowest free descriptor is the closed one.
            let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
            if fd != p.fd {
                std::process::abort();
            }
        }
    }
}

fn ignore_sigpipe() {
    // SAFETY: SIG_IGN needs no handler code; SIGPIPE is a valid signal.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
}
