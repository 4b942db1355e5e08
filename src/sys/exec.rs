//! execve(2) with argument arrays prepared before fork, and signal-mask reset.

use std::ffi::{CStr, c_char};

use super::Errno;

/// NULL-terminated pointer arrays over C strings owned elsewhere.
pub struct ExecArrays {
    pub argv: Vec<*const c_char>,
    pub envp: Vec<*const c_char>,
}

/// execve(path, argv, envp); returns only on failure.
pub fn execve(path: &CStr, arrays: &ExecArrays) -> Errno {
    // SAFETY: `path` is a valid C string; both arrays end with a null pointer and point to C
    // strings kept alive by the prepared plan for the life of this process.
    unsafe { libc::execve(path.as_ptr(), arrays.argv.as_ptr(), arrays.envp.as_ptr()) };
    Errno::from_raw_os_error(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
}

/// Resets every signal disposition to the default (ignored ones survive execve otherwise)
/// and unblocks all signals.
pub fn reset_signals() {
    for sig in 1..libc::SIGRTMAX() {
        // SAFETY: setting SIG_DFL is always valid; SIGKILL/SIGSTOP return EINVAL, ignored.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    }
    // SAFETY: an empty, initialised sigset_t is passed by pointer and only read.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}
