//! RuntimeMaxSec=: after that long the payload gets SIGTERM, and SIGKILL if it is still
//! running TimeoutStopSec= later (default 90 s, as in systemd).
//!
//! Invariant: the monitor's only clock; it decides poll timeouts and sends at most one
//! SIGTERM and one SIGKILL, both to pid 1 (which relays SIGTERM; SIGKILL ends the sandbox).

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::plan::Plan;

const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(90);

pub struct StopTimer {
    term_at: Option<Instant>,
    kill_at: Option<Instant>,
    stop_timeout: Option<Duration>,
}

impl StopTimer {
    pub fn new(plan: &Plan) -> Self {
        let after = plan.exec.runtime_max.map(Duration::from_micros);
        let stop_timeout = plan.exec.timeout_stop.map_or(Some(DEFAULT_STOP_TIMEOUT), |t| t.map(Duration::from_micros));
        StopTimer { term_at: after.map(|d| Instant::now() + d), kill_at: None, stop_timeout }
    }

    /// How long poll may sleep before the next deadline (None: no deadline).
    pub fn next_timeout(&self) -> Option<rustix::time::Timespec> {
        let next = [self.term_at, self.kill_at].into_iter().flatten().min()?;
        let d = next.saturating_duration_since(Instant::now());
        Some(rustix::time::Timespec { tv_sec: d.as_secs() as i64, tv_nsec: i64::from(d.subsec_nanos()) })
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
