//! Running sbx (or the probe) as the variant's caller with a clean environment and a timeout,
//! in the foreground (`Output`) or the background (`Running`).

use std::ffi::OsString;
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::users::which;
use super::{Ctx, LEAKED_FD, Mode, PATH};

/// A command to run as the variant's caller, with a clean environment, in `Ctx::cwd()`,
/// stdin on /dev/null, stdout and stderr captured.
pub struct SbxCmd<'a> {
    pub(super) ctx: &'a Ctx,
    pub(super) program: PathBuf,
    pub(super) args: Vec<OsString>,
    pub(super) env: Vec<(String, String)>,
    pub(super) cwd: Option<PathBuf>,
    pub(super) timeout: Duration,
    pub(super) dirty: bool,
    pub(super) stdin_closed: bool,
}

impl SbxCmd<'_> {
    /// Adds a variable to sbx's own environment (on top of PATH, HOME, USER, LOGNAME, LANG
    /// and, rootless, XDG_RUNTIME_DIR).
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.retain(|(n, _)| n != name);
        self.env.push((name.into(), value.into()));
        self
    }

    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// Starts sbx the way a careless parent would: descriptor `LEAKED_FD` open without
    /// close-on-exec, SIGUSR1 ignored and SIGUSR2 blocked. sbx must not pass any of it on.
    pub fn dirty(mut self) -> Self {
        self.dirty = true;
        self
    }

    /// Starts sbx with descriptor 0 closed instead of on /dev/null.
    pub fn stdin_closed(mut self) -> Self {
        self.stdin_closed = true;
        self
    }

    fn environment(&self) -> Vec<(String, String)> {
        let c = &self.ctx.caller;
        let mut env = vec![
            ("PATH".to_string(), PATH.to_string()),
            ("HOME".to_string(), c.home.to_string_lossy().into_owned()),
            ("USER".to_string(), c.name.clone()),
            ("LOGNAME".to_string(), c.name.clone()),
            ("LANG".to_string(), "C".to_string()),
        ];
        if self.ctx.mode == Mode::Rootless {
            if let Some(r) = &c.runtime_dir {
                env.push(("XDG_RUNTIME_DIR".into(), r.to_string_lossy().into_owned()));
            }
        }
        for pass in ["RUST_BACKTRACE", "RUST_LIB_BACKTRACE"] {
            if let Ok(v) = std::env::var(pass) {
                env.push((pass.into(), v));
            }
        }
        for (k, v) in &self.env {
            env.retain(|(n, _)| n != k);
            env.push((k.clone(), v.clone()));
        }
        env
    }

    fn command(&self) -> (Command, String) {
        let c = &self.ctx.caller;
        let env = self.environment();
        let mut cmd;
        if c.drop_privileges {
            cmd = Command::new(which("setpriv").expect("setpriv"));
            cmd.arg(format!("--reuid={}", c.uid)).arg(format!("--regid={}", c.gid)).args([
                "--init-groups",
                "--reset-env",
                "--",
                "/usr/bin/env",
                "-i",
            ]);
            cmd.args(env.iter().map(|(k, v)| format!("{k}={v}")));
            cmd.arg(&self.program);
        } else {
            cmd = Command::new(&self.program);
            cmd.env_clear().envs(env.iter().map(|(k, v)| (k, v)));
        }
        cmd.args(&self.args)
            .current_dir(self.cwd.clone().unwrap_or_else(|| self.ctx.cwd()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        if self.dirty {
            // SAFETY: the closure makes only async-signal-safe calls between fork and exec.
            unsafe {
                cmd.pre_exec(|| {
                    let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
                    if fd >= 0 && fd != LEAKED_FD {
                        libc::dup2(fd, LEAKED_FD);
                        libc::close(fd);
                    }
                    libc::signal(libc::SIGUSR1, libc::SIG_IGN);
                    let mut set: libc::sigset_t = std::mem::zeroed();
                    libc::sigemptyset(&mut set);
                    libc::sigaddset(&mut set, libc::SIGUSR2);
                    libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
                    Ok(())
                });
            }
        }
        if self.stdin_closed {
            // SAFETY: close is async-signal-safe.
            unsafe {
                cmd.pre_exec(|| {
                    libc::close(0);
                    Ok(())
                });
            }
        }
        let shown = std::iter::once(self.program.as_os_str())
            .chain(self.args.iter().map(|a| a.as_os_str()))
            .map(|a| shell_quote(&a.to_string_lossy()))
            .collect::<Vec<_>>()
            .join(" ");
        let who = if c.drop_privileges { format!("[as {}] ", c.name) } else { String::new() };
        (cmd, format!("{who}{shown}"))
    }

    /// Starts the command in the background.
    pub fn spawn(self) -> Running {
        let (mut cmd, cmdline) = self.command();
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {cmdline}: {e}"));
        let stdout_acc = Arc::new(Mutex::new(String::new()));
        let stderr_acc = Arc::new(Mutex::new(String::new()));
        let (line_tx, lines) = mpsc::channel();
        let (done_tx, done) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        let acc = Arc::clone(&stdout_acc);
        let tx = done_tx.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(out);
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                acc.lock().unwrap().push_str(&line);
                let _ = line_tx.send(line.trim_end_matches('\n').to_string());
                line.clear();
            }
            let _ = tx.send(());
        });
        let err = child.stderr.take().unwrap();
        let acc = Arc::clone(&stderr_acc);
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let mut err = err;
            let mut chunk = [0u8; 4096];
            while let Ok(n) = err.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                *acc.lock().unwrap() = String::from_utf8_lossy(&buf).into_owned();
            }
            let _ = done_tx.send(());
        });
        Running {
            child,
            cmdline,
            timeout: self.timeout,
            lines,
            done,
            stdout: stdout_acc,
            stderr: stderr_acc,
            status: None,
        }
    }

    /// Runs the command to completion (killing it and failing the test after the timeout).
    pub fn run(self) -> Output {
        let timeout = self.timeout;
        self.spawn().wait(timeout)
    }
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// A command running in the background. Dropping it kills the command (SIGKILL).
pub struct Running {
    child: Child,
    cmdline: String,
    timeout: Duration,
    lines: Receiver<String>,
    done: Receiver<()>,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    status: Option<std::process::ExitStatus>,
}

impl Running {
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Sends a signal to the command's own process (sbx).
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill takes no pointers; the child has not been reaped while `status` is None.
        if self.status.is_none() {
            unsafe { libc::kill(self.pid(), sig) };
        }
    }

    /// Waits for a stdout line equal to `want`, failing the test on timeout or exit.
    pub fn wait_for_line(&mut self, want: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line == want => return,
                Ok(_) => continue,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("no line {want:?} within {timeout:?}\n{}", self.snapshot())
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let _ = self.child.try_wait().map(|s| self.status = s);
                    panic!("stdout closed before a line {want:?}\n{}", self.snapshot())
                }
            }
        }
    }

    /// Whether the command has exited (without waiting).
    pub fn has_exited(&mut self) -> bool {
        if self.status.is_none() {
            self.status = self.child.try_wait().expect("try_wait");
        }
        self.status.is_some()
    }

    /// Waits for the exit and the end of its output; on timeout kills it and fails the test.
    pub fn wait(&mut self, timeout: Duration) -> Output {
        let deadline = Instant::now() + timeout;
        while !self.has_exited() {
            if Instant::now() >= deadline {
                self.kill();
                panic!("timed out after {timeout:?}, killed\n{}", self.snapshot());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        // Both readers finish at EOF; a process that outlived sbx may hold the pipes open.
        let mut held = false;
        for _ in 0..2 {
            if self.done.recv_timeout(Duration::from_secs(5)).is_err() {
                held = true;
            }
        }
        let mut out = self.snapshot();
        if held {
            out.stderr.push_str("\n[harness: stdout/stderr still open after sbx exited]\n");
        }
        out
    }

    /// Waits with the command's default timeout.
    pub fn finish(&mut self) -> Output {
        let t = self.timeout;
        self.wait(t)
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) {
        if !self.has_exited() {
            // SAFETY: as in `signal`.
            unsafe { libc::kill(self.pid(), libc::SIGKILL) };
            self.status = self.child.wait().ok();
        }
    }

    /// What the command printed so far, and its status if it has exited.
    pub fn snapshot(&self) -> Output {
        Output {
            cmdline: self.cmdline.clone(),
            code: self.status.and_then(|s| s.code()),
            signal: self.status.and_then(|s| s.signal()),
            stdout: self.stdout.lock().unwrap().clone(),
            stderr: self.stderr.lock().unwrap().clone(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}

// ---------------------------------------------------------------------------------------------
// Results

/// What a finished command did. `code` is None when a signal (`signal`) killed it.
#[derive(Clone, Debug)]
pub struct Output {
    pub cmdline: String,
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "$ {}", self.cmdline)?;
        match (self.code, self.signal) {
            (Some(c), _) => writeln!(f, "exit status {c}")?,
            (None, Some(s)) => writeln!(f, "killed by signal {s}")?,
            (None, None) => writeln!(f, "still running")?,
        }
        writeln!(f, "--- stdout\n{}--- stderr\n{}---", self.stdout, self.stderr)
    }
}

impl Output {
    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    /// Line `i` of stdout (the `i`th probe operation's result).
    pub fn line(&self, i: usize) -> &str {
        self.stdout.lines().nth(i).unwrap_or_else(|| panic!("no stdout line {i}\n{self}"))
    }

    /// The value after `ok` on line `i` (empty for a bare `ok`); fails the test on `err`.
    pub fn ok(&self, i: usize) -> &str {
        let line = self.line(i);
        match line.strip_prefix("ok") {
            Some(rest) if rest.is_empty() || rest.starts_with(' ') => rest.trim_start(),
            _ => panic!("line {i} is {line:?}, expected ok\n{self}"),
        }
    }

    /// The errno name on line `i`; fails the test if the operation succeeded.
    pub fn err(&self, i: usize) -> &str {
        let line = self.line(i);
        line.strip_prefix("err ").unwrap_or_else(|| panic!("line {i} is {line:?}, expected err\n{self}"))
    }

    /// Whether line `i` reports success.
    pub fn is_ok(&self, i: usize) -> bool {
        let line = self.line(i);
        line == "ok" || line.starts_with("ok ")
    }

    /// The space-separated words after `ok` on line `i` (e.g. from `ls`).
    pub fn words(&self, i: usize) -> Vec<&str> {
        self.ok(i).split(' ').filter(|w| !w.is_empty()).collect()
    }

    /// `KEY=VALUE` field of line `i` (from `ids`, `caps`, `stat`, ...).
    pub fn field(&self, i: usize, key: &str) -> &str {
        field(self.ok(i), key).unwrap_or_else(|| panic!("no {key}= on line {i}\n{self}"))
    }

    /// A hexadecimal `caps`/`sigstate` field of line `i` as a number.
    pub fn mask(&self, i: usize, key: &str) -> u64 {
        u64::from_str_radix(self.field(i, key), 16).unwrap_or_else(|_| panic!("{key} is not hexadecimal\n{self}"))
    }

    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "expected exit status {code}\n{self}");
        self
    }

    /// sbx's own failure: status 125, a message starting with `sbx: `.
    pub fn assert_sbx_error(&self) -> &Self {
        self.assert_code(125);
        assert!(
            self.stderr.starts_with("sbx: ") || self.stderr.contains("\nsbx: "),
            "expected an `sbx: ` message\n{self}"
        );
        self
    }
}

/// `KEY=VALUE` among space-separated words.
pub fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split(' ').find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}
