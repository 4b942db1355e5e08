//! Applying the Landlock plan in the payload, after no_new_privs and before the syscall
//! filter (systemd's order).
//!
//! Invariant: no allocation (paths are prepared C strings); a path that vanished since
//! planning, that sbx's user cannot reach, or that became a symlink gets no rule, which only
//! makes the sandbox stricter.

use std::ffi::CString;
use std::os::fd::AsFd;

use crate::launch::report::{Failure, Step, Sub};
use crate::sys::Errno;
use crate::sys::landlock as ll;

pub struct LandlockPrep {
    pub abi: u32,
    pub handled_fs: u64,
    pub handled_net: u64,
    pub scoped: u64,
    pub paths: Vec<(CString, u64)>,
    pub ports: Vec<(u16, u64)>,
}

impl LandlockPrep {
    fn is_empty(&self) -> bool {
        self.handled_fs == 0 && self.handled_net == 0 && self.scoped == 0
    }
}

pub fn apply(p: &LandlockPrep) -> Result<(), Failure> {
    if p.is_empty() {
        return Ok(());
    }
    let fail = |sub, i, e| Failure::at(Step::Landlock, sub, i, e);
    let ruleset =
        ll::create_ruleset(p.handled_fs, p.handled_net, p.scoped, p.abi).map_err(|e| fail(Sub::NewFilesystem, 0, e))?;
    for (i, (path, access)) in p.paths.iter().enumerate() {
        let fd = match ll::open_path(path) {
            Ok(fd) => fd,
            Err(Errno::NOENT | Errno::ACCESS | Errno::LOOP) => continue,
            Err(e) => return Err(fail(Sub::OpenTarget, i, e)),
        };
        ll::add_path_rule(ruleset.as_fd(), fd.as_fd(), *access).map_err(|e| fail(Sub::Configure, i, e))?;
    }
    for (i, (port, access)) in p.ports.iter().enumerate() {
        ll::add_port_rule(ruleset.as_fd(), *port, *access).map_err(|e| fail(Sub::Configure, i, e))?;
    }
    ll::restrict_self(ruleset.as_fd()).map_err(|e| fail(Sub::None, 0, e))
}
