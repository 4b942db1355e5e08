//! RuntimeMaxSec=: after that long the payload gets SIGTERM, and SIGKILL if it is still
//! running TimeoutStopSec= later (default 90 s, as in systemd). Also when the monitor releases
//! its code pages (`RELEASE_CODE_AFTER`, see `sys::image`).
//!
//! Invariant: the monitor's only clock; it decides poll timeouts and sends at most one
//! SIGTERM and one SIGKILL, both to pid 1 (which relays SIGTERM; SIGKILL ends the sandbox),
//! and says once that the release is due.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::launch::RELEASE_CODE_AFTER;
use crate::plan::Plan;

const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(90);

pub struct StopTimer {
    term_at: Option<Instant>,
    kill_at: Option<Instant>,
    stop_timeout: Option<Duration>,
    release_at: Option<Instant>,
}

impl StopTimer {
    pub fn new(plan: &Plan) -> Self {
        let after = plan.exec.runtime_max.map(Duration::from_micros);
        let stop_timeout = plan.exec.timeout_stop.map_or(Some(DEFAULT_STOP_TIMEOUT), |t| t.map(Duration::from_micros));
        let now = Instant::now();
        StopTimer {
            term_at: after.map(|d| now + d),
            kill_at: None,
            stop_timeout,
            release_at: Some(now + RELEASE_CODE_AFTER),
        }
    }

    /// How long poll may sleep before the next deadline (None: no deadline).
    pub fn next_timeout(&self) -> Option<rustix::time::Timespec> {
        let next = [self.term_at, self.kill_at, self.release_at].into_iter().flatten().min()?;
        rustix::time::Timespec::try_from(next.saturating_duration_since(Instant::now())).ok()
    }

    /// True once, when the time to release the code pages has come (then the caller does it,
    /// right before it blocks).
    pub fn release_due(&mut self) -> bool {
        let due = self.release_at.is_some_and(|at| at <= Instant::now());
        if due {
            self.release_at = None;
        }
        due
    }

    /// Sends what is due.
    pub fn fire(&mut self, plan: &Plan, pid1: Pid) {
        let now = Instant::now();
        if self.term_at.is_some_and(|t| t <= now) {
            self.term_at = None;
            let secs = plan.exec.runtime_max.map_or(0.0, |u| u as f64 / 1e6);
            eprintln!("sbx: {}: stopping: RuntimeMaxSec={secs}s reached", plan.name);
            let _ = nix::sys::signal::kill(pid1, Signal::SIGTERM);
            self.kill_at = self.stop_timeout.map(|t| now + t);
        }
        if self.kill_at.is_some_and(|t| t <= now) {
            self.kill_at = None;
            eprintln!("sbx: {}: still running TimeoutStopSec= after SIGTERM: killing it", plan.name);
            let _ = nix::sys::signal::kill(pid1, Signal::SIGKILL);
        }
    }
}
