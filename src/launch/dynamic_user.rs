//! Claiming a DynamicUser= uid for the length of a run, so two concurrent runs under
//! different names never share one.
//!
//! Invariant: the claim is a lock on /run/sbx/dynamic-users/UID holding the user's name: runs
//! with the same name share it (shared lock), another name is refused while any holder lives.
//! The lock goes away with the last process holding the descriptor.

use std::io::{Read, Seek, Write};
use std::os::fd::AsFd;

use rustix::fs::FlockOperation;

use crate::error::Error;

const DIR: &str = "/run/sbx/dynamic-users";

pub struct Claim {
    _file: std::fs::File,
}

pub fn claim(uid: u32, name: &str) -> Result<Claim, Error> {
    let io = |what: &str, e| Error::io(format!("DynamicUser=: {what} {DIR}/{uid}"), e);
    std::fs::create_dir_all(DIR).map_err(|e| io("create", e))?;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(format!("{DIR}/{uid}"))
        .map_err(|e| io("open", e))?;
    if rustix::fs::flock(file.as_fd(), FlockOperation::NonBlockingLockExclusive).is_ok() {
        file.set_len(0).map_err(|e| io("write", e))?;
        file.write_all(name.as_bytes()).map_err(|e| io("write", e))?;
        rustix::fs::flock(file.as_fd(), FlockOperation::LockShared).map_err(|e| io("lock", e.into()))?;
        return Ok(Claim { _file: file });
    }
    rustix::fs::flock(file.as_fd(), FlockOperation::NonBlockingLockShared).map_err(|e| io("lock", e.into()))?;
    let mut holder = String::new();
    file.rewind().and_then(|()| file.read_to_string(&mut holder)).map_err(|e| io("read", e))?;
    if holder != name {
        return Err(Error::Launch(format!(
            "DynamicUser=: uid {uid} is in use by the transient user {holder:?} of another sbx run; set User= to another name"
        )));
    }
    Ok(Claim { _file: file })
}
