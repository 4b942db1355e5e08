//! The run's cgroup: created with its limits before the sandbox exists, pid 1 moved into it
//! before it runs a single step, read for OOM kills at the end, and removed.
//!
//! Invariant: the payload never runs outside the limits (the monitor places pid 1 while it
//! still waits for the go-ahead); the directory is removed at the end of every run, by the
//! monitor or, when sbx itself is killed, by the cleanup watcher.

use std::path::Path;

use crate::error::Error;
use crate::plan::cgroup::CgroupPlan;

pub struct RunCgroup {
    pub path: String,
}

fn write(path: &str, value: &str, what: &str) -> Result<(), Error> {
    std::fs::write(path, value).map_err(|e| Error::io(format!("cgroup: {what}: write {value:?} to {path}"), e))
}

pub fn create(plan: &CgroupPlan, name: &str) -> Result<RunCgroup, Error> {
    for dir in &plan.create {
        match std::fs::create_dir(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::io(format!("cgroup: create {dir}"), e)),
        }
    }
    for (dir, controllers) in &plan.enable {
        write(&format!("{dir}/cgroup.subtree_control"), controllers, "enable controllers")?;
    }
    let path = format!("{}/sbx-{}-{}", plan.parent, sanitize(name), std::process::id());
    std::fs::create_dir(&path).map_err(|e| Error::io(format!("cgroup: create {path}"), e))?;
    let cg = RunCgroup { path };
    for (file, value) in &plan.files {
        write(&format!("{}/{file}", cg.path), value, "set a limit")?;
    }
    Ok(cg)
}

fn sanitize(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect()
}

impl RunCgroup {
    /// Moves a process (pid 1 of the sandbox, still waiting) into the run's cgroup.
    pub fn place(&self, pid: i32) -> Result<(), Error> {
        write(&format!("{}/cgroup.procs", self.path), &pid.to_string(), "place the sandbox")
    }

    /// How many times the kernel's OOM killer struck in this cgroup.
    pub fn oom_kills(&self) -> u64 {
        let events = std::fs::read_to_string(format!("{}/memory.events", self.path)).unwrap_or_default();
        events.lines().find_map(|l| l.strip_prefix("oom_kill ")).and_then(|n| n.trim().parse().ok()).unwrap_or(0)
    }
}

/// Kills whatever is left in a run's cgroup and removes it (also used by the watcher).
pub fn remove(path: &str) {
    let kill = format!("{path}/cgroup.kill");
    if Path::new(&kill).exists() {
        let _ = std::fs::write(&kill, "1");
    }
    for _ in 0..200 {
        match std::fs::remove_dir(path) {
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => std::thread::sleep(std::time::Duration::from_millis(5)),
            _ => return,
        }
    }
}
