//! The harness for sbx's integration tests (tier 2): real sandboxes, run as root and as an
//! unprivileged user, with the probe (`examples/probe.rs`) reporting from inside.
//!
//! - `sbx_test!(name, |ctx| { ... })` turns one body into two tests, `name::root` and
//!   `name::rootless`; `sbx_test!(root: name, ...)` and `sbx_test!(rootless: name, ...)` make
//!   only one. The root variant runs sbx as uid 0 and is skipped when the tests do not run as
//!   root. The rootless variant runs sbx as an unprivileged user: when the tests run as root it
//!   drops to `sbx-test` (or `$SBX_TEST_USER`) with `setpriv`, otherwise it runs sbx directly. A
//!   variant that cannot run here is skipped with the reason on stderr; with
//!   `SBX_TEST_STRICT=1` (CI) every skip is a failure.
//! - A `Ctx` owns a host-side scratch directory the caller of sbx can use and that is visible
//!   inside sandboxes (outside /tmp and the home directories), a `bare` profile (a `[Service]`
//!   section and nothing else) to apply single directives to, and helpers that run sbx with a
//!   timeout and return its exit status and output.
//! - When the tests run as root, the sbx and probe binaries are copied into
//!   /var/lib/sbx-tests/bin-* so that the test user and www-data can execute them wherever the
//!   repository lives, and so that no sandbox hides the probe (ProtectHome=, PrivateTmp=).
//!
//! Environment: `SBX_TEST_STRICT=1` (skips fail), `SBX_TEST_USER` (the unprivileged user),
//! `SBX_TEST_TMPDIR` (where scratch directories go), `SBX_TEST_BIN_DIR` (where binaries are
//! staged), `SBX_TEST_SBX` (the sbx binary to test; default: this build's),
//! `SBX_TEST_TIMEOUT` (seconds per sbx run, default 60), `SBX_TEST_KEEP=1` (keep the scratch
//! directory of a failed test).
//!
//! Every check a test makes should be paired with a control run that shows the forbidden thing
//! is allowed without the directive under test; `Ctx::pair` runs both.
//!
//! Here: the macro, `Ctx` and its helpers. `users.rs` who runs sbx, `bins.rs` the binaries,
//! `command.rs` running commands (`SbxCmd`, `Running`, `Output`), `host.rs` host observations.

#![allow(dead_code)] // each test crate uses a different part of the harness

mod bins;
mod command;
mod host;
mod users;

#[allow(unused_imports)]
pub use bins::{probe_path, sbx_path};
#[allow(unused_imports)]
pub use command::{Output, Running, SbxCmd, field};
#[allow(unused_imports)]
pub use host::*;
#[allow(unused_imports)]
pub use users::{Caller, user_ids};

use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bins::{bins, make_dir};
use users::{current_user, root_caller, test_user, userns_available};

/// Turns one test body into a root and a rootless variant (or just one, with a `root:` or
/// `rootless:` prefix). The body gets `ctx: &Ctx`.
macro_rules! sbx_test {
    (root: $name:ident, |$ctx:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[test]
            fn root() {
                crate::common::run_variant(crate::common::Mode::Root, module_path!(), |$ctx| $body)
            }
        }
    };
    (rootless: $name:ident, |$ctx:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[test]
            fn rootless() {
                crate::common::run_variant(crate::common::Mode::Rootless, module_path!(), |$ctx| $body)
            }
        }
    };
    ($name:ident, |$ctx:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[test]
            fn root() {
                crate::common::run_variant(crate::common::Mode::Root, module_path!(), |$ctx| $body)
            }
            #[test]
            fn rootless() {
                crate::common::run_variant(crate::common::Mode::Rootless, module_path!(), |$ctx| $body)
            }
        }
    };
}

/// How sbx is run in a variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// sbx runs as uid 0.
    Root,
    /// sbx runs as an unprivileged user and must use a user namespace.
    Rootless,
}

/// The fixed PATH the harness gives sbx (systemd's search path, so lookups are predictable).
pub const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// The descriptor `SbxCmd::dirty` leaks into sbx.
pub const LEAKED_FD: i32 = 9;
/// Generous bound for anything the tests wait for (a server answering, a process vanishing).
pub const WAIT: Duration = Duration::from_secs(20);

const DEFAULT_USER: &str = "sbx-test";
const ROOT_STATE: &str = "/var/lib/sbx-tests";
/// Where the scratch directories go when the tests run as root.
const ROOT_WORK: &str = "/srv/sbx-tests";

// ---------------------------------------------------------------------------------------------
// Variants and skips

/// Runs one variant of a test: builds its `Ctx` or reports why the variant cannot run here.
pub fn run_variant(mode: Mode, module: &str, body: impl FnOnce(&Ctx)) {
    let name = module.split_once("::").map_or(module, |(_, rest)| rest).to_string();
    match Ctx::new(mode, &name) {
        Ok(ctx) => body(&ctx),
        Err(reason) => skip(&format!("{module}::{}", mode.label()), &reason),
    }
}

/// Records a skipped test: a note on the real stderr (not captured by the test runner), or a
/// failure when `SBX_TEST_STRICT=1`.
pub fn skip(test: &str, reason: &str) {
    if strict() {
        panic!("{test} cannot run here and SBX_TEST_STRICT=1 makes skips fatal: {reason}");
    }
    let _ = writeln!(std::io::stderr(), "note: skipped {test}: {reason}");
}

pub fn strict() -> bool {
    std::env::var("SBX_TEST_STRICT").is_ok_and(|v| v == "1")
}

pub fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

impl Mode {
    pub fn label(self) -> &'static str {
        match self {
            Mode::Root => "root",
            Mode::Rootless => "rootless",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The test context

/// One test variant's world: who runs sbx, a scratch directory, and runners.
pub struct Ctx {
    mode: Mode,
    name: String,
    caller: Caller,
    dir: PathBuf,
    id: u32,
    seq: AtomicU32,
    cleanup: Mutex<Vec<PathBuf>>,
    msg_queues: Mutex<Vec<i32>>,
}

static CTX_SEQ: AtomicU32 = AtomicU32::new(0);

impl Ctx {
    fn new(mode: Mode, name: &str) -> Result<Ctx, String> {
        let caller = match mode {
            Mode::Root if !is_root() => return Err("the tests are not running as root".into()),
            Mode::Root => root_caller(),
            Mode::Rootless if is_root() => test_user()?,
            Mode::Rootless => current_user(),
        };
        if mode == Mode::Rootless {
            userns_available(&caller)?;
        }
        bins()?;
        let base = match std::env::var_os("SBX_TEST_TMPDIR") {
            Some(d) => PathBuf::from(d),
            // A project directory as users have them: not below /var, /etc or /usr, where
            // WritableWorkingDirectory= is refused (it would undo ProtectSystem=).
            None if is_root() => PathBuf::from(ROOT_WORK),
            None => Path::new(env!("CARGO_BIN_EXE_sbx")).parent().unwrap().join("sbx-tests"),
        };
        if is_root() {
            make_dir(Path::new(ROOT_STATE), 0o755)?;
        }
        fs::create_dir_all(&base).map_err(|e| format!("mkdir {}: {e}", base.display()))?;
        fs::set_permissions(&base, fs::Permissions::from_mode(0o755)).ok();
        let short: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
        let n = CTX_SEQ.fetch_add(1, Ordering::Relaxed);
        let dir = base.join(format!("{short}-{}-{}-{n}", mode.label(), std::process::id()));
        if dir.exists() {
            fs::remove_dir_all(&dir).map_err(|e| format!("rm -r {}: {e}", dir.display()))?;
        }
        make_dir(&dir, 0o755)?;
        let ctx = Ctx {
            mode,
            name: name.to_string(),
            caller,
            dir,
            id: n,
            seq: AtomicU32::new(0),
            cleanup: Mutex::new(Vec::new()),
            msg_queues: Mutex::new(Vec::new()),
        };
        ctx.give(&ctx.dir);
        ctx.mkdir("cwd");
        ctx.write("bare.conf", "# A profile with no directives: only what every sandbox has.\n[Service]\n");
        Ok(ctx)
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    pub fn is_root(&self) -> bool {
        self.mode == Mode::Root
    }

    /// `module::test` of the running test.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// The caller's host uid and gid.
    pub fn uid(&self) -> u32 {
        self.caller.uid
    }

    pub fn gid(&self) -> u32 {
        self.caller.gid
    }

    /// The caller's home directory (what sbx sees as $HOME).
    pub fn home(&self) -> &Path {
        &self.caller.home
    }

    /// Skips the rest of this variant (returning is up to the caller), failing under strict.
    pub fn skip(&self, reason: &str) {
        skip(&format!("{}::{}", self.name, self.mode.label()), reason);
    }

    // ---- host-side files ----

    /// The scratch directory, owned by the caller, mode 0755, visible inside sandboxes.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// sbx's working directory in every run (a subdirectory of `dir()`).
    pub fn cwd(&self) -> PathBuf {
        self.dir.join("cwd")
    }

    /// `dir()/rel` as a string, for command lines.
    pub fn path(&self, rel: &str) -> String {
        self.dir.join(rel).to_str().expect("UTF-8 path").to_string()
    }

    /// The bare profile (`[Service]` only), to apply single directives to.
    pub fn bare(&self) -> String {
        self.path("bare.conf")
    }

    /// A name no other test or run uses, e.g. for state directories and markers.
    pub fn unique(&self, what: &str) -> String {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        format!("sbx-test-{what}-{}-{}-{n}", std::process::id(), self.id)
    }

    /// Makes `path` owned by the caller (a no-op when the caller is the test process).
    pub fn give(&self, path: &Path) {
        if self.caller.drop_privileges {
            std::os::unix::fs::lchown(path, Some(self.caller.uid), Some(self.caller.gid))
                .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
        }
    }

    pub fn chmod(&self, path: &Path, mode: u32) {
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
            .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
    }

    /// Creates `dir()/rel` (and parents), owned by the caller, mode 0755.
    pub fn mkdir(&self, rel: &str) -> String {
        let p = self.dir.join(rel);
        fs::create_dir_all(&p).unwrap_or_else(|e| panic!("mkdir {}: {e}", p.display()));
        self.chmod(&p, 0o755);
        self.give(&p);
        p.to_str().unwrap().to_string()
    }

    /// Writes `dir()/rel`, owned by the caller, mode 0644.
    pub fn write(&self, rel: &str, content: &str) -> String {
        let p = self.dir.join(rel);
        fs::write(&p, content).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
        self.chmod(&p, 0o644);
        self.give(&p);
        p.to_str().unwrap().to_string()
    }

    /// Writes a profile `dir()/name` and returns its path.
    pub fn profile(&self, name: &str, text: &str) -> String {
        self.write(name, text)
    }

    /// Creates a file at an absolute host path (e.g. in the caller's home or /tmp), owned by
    /// the caller, removed when the test ends.
    pub fn host_file(&self, path: &Path, content: &str) -> String {
        self.remove_later(path);
        fs::write(path, content).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        self.chmod(path, 0o644);
        self.give(path);
        path.to_str().unwrap().to_string()
    }

    /// Removes `path` (file or tree) when the test ends, e.g. what a control run created on
    /// the host.
    pub fn remove_later(&self, path: &Path) {
        self.cleanup.lock().unwrap().push(path.to_path_buf());
    }

    /// Creates a System V message queue in the host's IPC namespace, removed at the end.
    pub fn host_msg_queue(&self) -> i32 {
        for attempt in 0..100 {
            let key = 0x5b00_0000 + ((std::process::id() as i32 & 0xffff) << 8) + attempt;
            // SAFETY: msgget takes no pointers.
            let id = unsafe { libc::msgget(key, libc::IPC_CREAT | libc::IPC_EXCL | 0o666) };
            if id >= 0 {
                self.msg_queues.lock().unwrap().push(id);
                return key;
            }
        }
        panic!("cannot create a System V message queue: {}", std::io::Error::last_os_error());
    }

    /// The bounding set a payload has when no directive changes it: the caller's own as
    /// root; in a user namespace the kernel starts every new namespace with the full set.
    pub fn default_bounding_set(&self) -> u64 {
        match self.mode {
            Mode::Root => self.direct(&["caps"]).mask(0, "CapBnd"),
            Mode::Rootless => {
                let last: u32 = fs::read_to_string("/proc/sys/kernel/cap_last_cap")
                    .expect("read cap_last_cap")
                    .trim()
                    .parse()
                    .expect("cap_last_cap is a number");
                (1u64 << (last + 1)) - 1
            }
        }
    }

    /// The host directories the state-directory directives use for `name` in this mode:
    /// systemd's system locations as root, the XDG locations of user services rootless.
    pub fn state_dirs(&self, name: &str) -> StateDirs {
        match self.mode {
            Mode::Root => StateDirs {
                runtime: Path::new("/run").join(name),
                state: Path::new("/var/lib").join(name),
                cache: Path::new("/var/cache").join(name),
                logs: Path::new("/var/log").join(name),
                config: Path::new("/etc").join(name),
            },
            Mode::Rootless => {
                let home = &self.caller.home;
                let runtime = self
                    .caller
                    .runtime_dir
                    .clone()
                    .unwrap_or_else(|| panic!("no XDG_RUNTIME_DIR for {}", self.caller.name));
                StateDirs {
                    runtime: runtime.join(name),
                    state: home.join(".local/state").join(name),
                    cache: home.join(".cache").join(name),
                    logs: home.join(".local/state/log").join(name),
                    config: home.join(".config").join(name),
                }
            }
        }
    }

    // ---- running things ----

    /// A command line for sbx with `args`; see `SbxCmd` for options.
    pub fn cmd<S: AsRef<OsStr>>(&self, args: &[S]) -> SbxCmd<'_> {
        SbxCmd {
            ctx: self,
            program: sbx_path(),
            args: args.iter().map(|a| a.as_ref().to_os_string()).collect(),
            env: Vec::new(),
            cwd: None,
            timeout: default_timeout(),
            dirty: false,
            stdin_closed: false,
        }
    }

    /// Runs `sbx ARGS...` to completion.
    pub fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        self.cmd(args).run()
    }

    /// `sbx run SBX_ARGS... -- PROBE OPS...`, whatever its exit status.
    pub fn run_probe<S: AsRef<str>>(&self, sbx_args: &[S], ops: &[&str]) -> Output {
        self.cmd(&probe_args(sbx_args, ops)).run()
    }

    /// The probe under the bare profile plus `-p` for each directive; asserts exit status 0.
    pub fn probe(&self, directives: &[&str], ops: &[&str]) -> Output {
        let out = self.run_probe(&bare_args(&self.bare(), directives), ops);
        out.assert_code(0);
        out
    }

    /// A treatment and a control run of the same probe operations under the bare profile:
    /// `(with treatment directives, with control directives)`.
    pub fn pair(&self, treatment: &[&str], control: &[&str], ops: &[&str]) -> (Output, Output) {
        (self.probe(treatment, ops), self.probe(control, ops))
    }

    /// The probe on the host, outside any sandbox, as the caller (the baseline for controls);
    /// asserts exit status 0.
    pub fn direct(&self, ops: &[&str]) -> Output {
        let out = self.direct_cmd(ops).run();
        out.assert_code(0);
        out
    }

    /// A command line for the probe on the host, as the caller, with `SbxCmd`'s options.
    pub fn direct_cmd(&self, ops: &[&str]) -> SbxCmd<'_> {
        let mut cmd = self.cmd(ops);
        cmd.program = probe_path();
        cmd
    }

    /// A command line for any host program, run as the caller with `SbxCmd`'s options (e.g.
    /// a shell that starts sbx itself).
    pub fn host_cmd<S: AsRef<OsStr>>(&self, program: &Path, args: &[S]) -> SbxCmd<'_> {
        let mut cmd = self.cmd(args);
        cmd.program = program.to_path_buf();
        cmd
    }

    /// Starts `sbx ARGS...` in the background.
    pub fn spawn<S: AsRef<OsStr>>(&self, args: &[S]) -> Running {
        self.cmd(args).spawn()
    }
}

/// `sbx run` arguments for the bare profile plus `-p DIRECTIVE` each.
pub fn bare_args(bare: &str, directives: &[&str]) -> Vec<String> {
    let mut args = vec!["--profile".to_string(), bare.to_string()];
    for d in directives {
        args.push("-p".into());
        args.push(d.to_string());
    }
    args
}

/// `run SBX_ARGS... -- PROBE OPS...`
pub fn probe_args<S: AsRef<str>>(sbx_args: &[S], ops: &[&str]) -> Vec<String> {
    let mut args = vec!["run".to_string()];
    args.extend(sbx_args.iter().map(|a| a.as_ref().to_string()));
    args.push("--".into());
    args.push(probe_path().to_str().expect("UTF-8 probe path").into());
    args.extend(ops.iter().map(|o| o.to_string()));
    args
}

impl Drop for Ctx {
    fn drop(&mut self) {
        for id in self.msg_queues.lock().unwrap().drain(..) {
            // SAFETY: removes a queue this test created; no pointers are read.
            unsafe { libc::msgctl(id, libc::IPC_RMID, std::ptr::null_mut()) };
        }
        for p in self.cleanup.lock().unwrap().drain(..) {
            let _ = fs::remove_dir_all(&p).or_else(|_| fs::remove_file(&p));
        }
        let keep = std::thread::panicking() && std::env::var_os("SBX_TEST_KEEP").is_some();
        if keep {
            let _ = writeln!(std::io::stderr(), "note: kept {}", self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Host paths of the five state directories for one name.
#[derive(Clone, Debug)]
pub struct StateDirs {
    pub runtime: PathBuf,
    pub state: PathBuf,
    pub cache: PathBuf,
    pub logs: PathBuf,
    pub config: PathBuf,
}

fn default_timeout() -> Duration {
    let secs = std::env::var("SBX_TEST_TIMEOUT").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    Duration::from_secs(secs)
}
