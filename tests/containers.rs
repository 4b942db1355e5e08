//! The container tier: sbx inside real Docker and podman containers on this machine, one test
//! per configuration of issue 8, each checking what must hold there:
//!
//! 1. without options sbx runs the payload fully isolated, or refuses before starting anything
//!    (a marker file stays absent) naming the cause and the fixes on the container's side (the
//!    engine's run option) and the profile's side; as root also with `-p PrivateUsers=yes`,
//!    the profile-side fix, which meets the container's next limit;
//! 2. `sbx doctor --json` inside names the same cause in a finding;
//! 3. with `--best-effort` the `strict` profile runs and a line per directive is printed;
//! 4. the escape battery under `strict` (with `--best-effort` where sbx refuses without it):
//!    each check is paired with a control, the probe run directly in the same container, and
//!    the checks that stay open must be exactly the ones the configuration is known to leave
//!    open (a limit of that container, named in README.md's table).
//!
//! bubblewrap runs beside sbx in each configuration (the same image ships it) and its outcome
//! is printed with sbx's, for README.md's table.
//!
//! The image is built by tests/containers/image.sh from the sbx and probe binaries under test.
//! Docker needs a running dockerd (.ci/run starts one); podman runs with runc (crun fails on
//! this host's cgroup hybrid). A configuration whose engine cannot run is skipped with the
//! reason, which SBX_TEST_STRICT=1 (CI) turns into a failure.

#[allow(unused_macros)]
#[macro_use]
mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use common::{probe_path, sbx_path, skip};
use serde_json::Value;

const TAG: &str = "sbx-test";
/// podman as root cannot lower the container's rlimits below what the runtime sets otherwise.
const PODMAN_ULIMITS: [&str; 4] = ["--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768"];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Engine {
    Docker,
    /// podman as root.
    Podman,
    /// podman as the unprivileged test user (its own storage and user namespace).
    PodmanRootless,
}

/// Docker's own client when installed from Debian (another one may come first in PATH).
fn docker() -> &'static str {
    if Path::new("/usr/bin/docker").exists() { "/usr/bin/docker" } else { "docker" }
}

fn test_user() -> String {
    std::env::var("SBX_TEST_USER").unwrap_or_else(|_| "sbx-test".into())
}

/// The command that runs the engine's CLI (as the test user for rootless podman).
fn engine_cmd(e: Engine) -> Result<Command, String> {
    Ok(match e {
        Engine::Docker => Command::new(docker()),
        Engine::Podman => {
            let mut c = Command::new("podman");
            c.args(["--runtime", "runc"]);
            c
        }
        Engine::PodmanRootless => {
            let user = test_user();
            let (uid, gid) = common::user_ids(&user).ok_or(format!("no user {user} (.ci/run creates it)"))?;
            let runtime = format!("/run/user/{uid}");
            if !Path::new(&runtime).is_dir() {
                return Err(format!("{runtime} is missing (.ci/run creates it)"));
            }
            let mut c = Command::new("setpriv");
            c.args([&format!("--reuid={uid}"), &format!("--regid={gid}"), "--init-groups", "env", "-i"])
                .arg(format!("HOME=/home/{user}"))
                .arg(format!("XDG_RUNTIME_DIR={runtime}"))
                .args(["PATH=/usr/local/bin:/usr/bin:/bin", "podman", "--runtime", "runc"]);
            c
        }
    })
}

/// Whether the engine answers, and the image is imported into it (once per engine).
fn ready(e: Engine) -> Result<(), String> {
    static READY: OnceLock<Mutex<HashMap<Engine, Result<(), String>>>> = OnceLock::new();
    let mut map = READY.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    map.entry(e).or_insert_with(|| prepare(e)).clone()
}

fn prepare(e: Engine) -> Result<(), String> {
    let mut info = engine_cmd(e)?;
    info.current_dir("/").arg("info");
    let out = info.output().map_err(|err| format!("cannot run {:?}: {err}", info.get_program()))?;
    if !out.status.success() {
        let hint = if e == Engine::Docker {
            " (start the daemon: dockerd --iptables=false --ip6tables=false --bridge=none &)"
        } else {
            ""
        };
        return Err(format!("{e:?} does not answer{hint}: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    let engine = match e {
        Engine::Docker => "docker".to_string(),
        Engine::Podman => "podman".to_string(),
        Engine::PodmanRootless => format!("podman-as:{}", test_user()),
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/containers/image.sh");
    let path = format!("/usr/bin:{}", std::env::var("PATH").unwrap_or_default());
    let out = Command::new(&script)
        .args([sbx_path().as_os_str(), probe_path().as_os_str()])
        .args([TAG, &engine])
        .env("PATH", path)
        .current_dir("/")
        .output()
        .map_err(|err| format!("cannot run {}: {err}", script.display()))?;
    if !out.status.success() {
        return Err(format!("building the image failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(())
}

/// What one container run printed.
struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl std::fmt::Display for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {:?}\n--- stdout\n{}--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

/// One configuration: an engine and its run options.
struct Config {
    name: &'static str,
    engine: Engine,
    options: &'static [&'static str],
}

impl Config {
    /// `sh -c SCRIPT` in a fresh container of this configuration.
    fn run(&self, script: &str) -> Out {
        let mut c = engine_cmd(self.engine).expect("engine command");
        c.current_dir("/").args(["run", "--rm", "--network", "none"]);
        if self.engine == Engine::Podman {
            c.args(PODMAN_ULIMITS);
        }
        c.args(self.options).args([TAG, "sh", "-c", script]);
        let out = c.output().unwrap_or_else(|e| panic!("cannot run the engine: {e}"));
        Out {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `sbx run SBX_ARGS -- /bin/touch marker` in a scratch directory; whether sbx exited 0,
    /// whether the marker exists afterwards, and the run's output.
    fn marker_run(&self, sbx_args: &str) -> (bool, bool, Out) {
        let script = format!(
            "d=$(mktemp -d /work/m.XXXXXX) && cd $d && /sbx run {sbx_args} -- /bin/touch marker; echo rc=$?; \
             [ -e marker ] && echo marker=yes || echo marker=no"
        );
        let out = self.run(&script);
        assert_eq!(out.code, Some(0), "the container ran\n{out}");
        (out.stdout.contains("rc=0"), out.stdout.contains("marker=yes"), out)
    }
}

/// What sbx does without options in a configuration.
enum Plain {
    /// Runs the payload, fully isolated.
    Runs,
    /// Refuses, with these fragments in its message (cause, container fix, profile fix).
    Refuses(&'static [&'static str]),
}

struct Expect {
    plain: Plain,
    /// As root inside: with `-p PrivateUsers=yes` (the profile-side fix of root mode).
    private_users: Option<Plain>,
    /// `sbx doctor --json`: a finding id and fragments of its details and fixes (None: the
    /// user-namespace and fresh-/proc findings are ok).
    doctor: Option<(&'static str, &'static [&'static str])>,
    /// The headline of the `--best-effort` run under `strict` (None: it runs fully, no report).
    best_effort: Option<&'static str>,
    /// Escape-battery checks that stay open under `strict` here.
    open: &'static [&'static str],
    /// bubblewrap's outcome here, as README.md's table gives it: "runs", or a fragment of its
    /// first error line.
    bwrap: &'static str,
}

const SECCOMP_FIX: &str = "run --security-opt seccomp=unconfined";
const PRIVATE_USERS_FIX: &str = "fix: set PrivateUsers=yes in the profile";
const NO_NAMESPACES: &str = "--best-effort: running without namespaces";
const HOST_PROC: &str = "--best-effort: running with every namespace";
const MASKED: &str = "cause: /proc is masked: ";
const NO_SYS_ADMIN: &str = "sbx runs as root without CAP_SYS_ADMIN";
const RETRY: &str = "--best-effort: trying again in a user namespace of its own";

fn check(config: &Config, expect: &Expect) {
    if let Err(reason) = ready(config.engine) {
        skip(&format!("containers::{}", config.name), &reason);
        return;
    }
    let mut table = vec![format!("{}: sbx: {}", config.name, outcome(config, &expect.plain, ""))];
    // Issue 16: the refusal offers PrivateUsers=yes exactly where it then runs.
    let works = matches!(expect.private_users, Some(Plain::Runs));
    let (_, _, plain) = config.marker_run("--profile default");
    assert_eq!(plain.stderr.contains(PRIVATE_USERS_FIX), works, "PrivateUsers=yes offered iff it works\n{plain}");
    if let Some(pu) = &expect.private_users {
        table.push(format!("{}: sbx -p PrivateUsers=yes: {}", config.name, outcome(config, pu, "-p PrivateUsers=yes")));
    }
    doctor(config, expect.doctor);
    let headline = best_effort(config, expect.best_effort);
    let open = battery(config, expect);
    table.push(format!("{}: sbx --best-effort: {headline}; battery open: {open:?}", config.name));
    let bwrap = bwrap(config);
    assert!(bwrap.contains(expect.bwrap), "bwrap here: {bwrap:?}, README.md's table says {:?}", expect.bwrap);
    table.push(format!("{}: bwrap: {bwrap}", config.name));
    eprintln!("{}", table.join("\n"));
}

/// Checks sbx's run without options (and with `extra`), returns a line for the table.
fn outcome(config: &Config, expect: &Plain, extra: &str) -> String {
    let (ran, marker, out) = config.marker_run(&format!("--profile default {extra}"));
    match expect {
        Plain::Runs => {
            assert!(ran && marker, "sbx runs fully here\n{out}");
            // Control for the refusals elsewhere: the same check sees a marker made.
            "runs fully".into()
        }
        Plain::Refuses(fragments) => {
            assert!(!ran, "sbx refuses here\n{out}");
            assert!(!marker, "nothing ran: no marker\n{out}");
            assert!(out.stderr.contains("sbx: ") && !out.stderr.contains("os error"), "{out}");
            for f in *fragments {
                assert!(out.stderr.contains(f), "the refusal names {f:?}\n{out}");
            }
            assert!(out.stderr.contains("fix: "), "{out}");
            assert!(out.stderr.contains("or: sbx run --best-effort"), "{out}");
            format!("refuses: {}", out.stderr.lines().find(|l| l.starts_with("cause: ")).unwrap_or("?"))
        }
    }
}

fn doctor(config: &Config, expect: Option<(&str, &[&str])>) {
    let out = config.run("/sbx doctor --json");
    let v: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("doctor --json: {e}\n{out}"));
    let find = |id: &str| v["findings"].as_array().unwrap().iter().find(|f| f["id"] == id).cloned();
    let container = find("container").expect("a container finding");
    assert_eq!(container["status"], "limited", "doctor knows it is in a container: {container:#}");
    let Some((id, fragments)) = expect else {
        for id in ["userns", "procfs"] {
            assert_eq!(find(id).expect(id)["status"], "ok", "{out}");
        }
        return;
    };
    assert_eq!(v["exit_code"], 1, "doctor reports a degraded host\n{out}");
    let f = find(id).unwrap_or_else(|| panic!("{id}\n{out}"));
    assert_ne!(f["status"], "ok", "{f:#}");
    let text = format!(
        "{} {} {}",
        f["summary"],
        f["details"],
        f["fixes"].as_array().unwrap().iter().map(|x| x.to_string()).collect::<Vec<_>>().join(" ")
    );
    for frag in fragments {
        assert!(text.contains(frag), "doctor's {id} finding names {frag:?}: {f:#}");
    }
}

/// `--best-effort` under strict: runs, and reports every directive the profile sets.
fn best_effort(config: &Config, headline: Option<&str>) -> String {
    let out = config
        .run("d=$(mktemp -d /work/b.XXXXXX) && chmod 755 $d && cd $d && /sbx run --best-effort --profile strict -- /probe pid; echo rc=$?");
    assert!(out.stdout.starts_with("ok ") && out.stdout.contains("\nrc=0"), "the payload ran\n{out}");
    match headline {
        Some(h) => {
            assert!(out.stderr.contains(h), "{out}");
            if h == NO_NAMESPACES {
                // A user namespace of its own cannot help where none can be made or mapped:
                // sbx does not try (and report) it in vain.
                assert!(!out.stderr.contains(RETRY), "{out}");
            }
            for d in ["ProtectSystem=", "PrivateNetwork=", "ProtectProc=", "SystemCallFilter=", "KeyringMode="] {
                assert!(out.stderr.lines().any(|l| l.starts_with(&format!("sbx:   {d}: "))), "{d}\n{out}");
            }
            h.trim_start_matches("--best-effort: ").to_string()
        }
        None => {
            assert!(!out.stderr.contains("--best-effort:"), "nothing to report\n{out}");
            "runs fully".into()
        }
    }
}

/// The escape battery: (name, probe operation, whether its result line means "open").
/// `$SLEEPER` is a process of the container outside the sandbox.
const BATTERY: &[(&str, &str)] = &[
    ("write-system", "write /work/escape"),
    ("read-home", "ls /home/user"),
    ("see-container-tmp", "ls /tmp"),
    ("tcp-connect", "tcp-connect 127.0.0.1:7777"),
    ("see-container-pid1", "read /proc/1/cmdline"),
    ("signal-outside", "syscall 62 $SLEEPER,0"),
    ("new-namespace", "unshare USER"),
    ("wx-memory", "mmap-wx"),
];

fn is_open(name: &str, line: &str) -> bool {
    match name {
        "read-home" | "see-container-tmp" => line.contains("secret") || line.contains("outside"),
        "see-container-pid1" => line.starts_with("ok sh"),
        _ => line.starts_with("ok"),
    }
}

/// Runs the battery directly (control) and in sbx under strict; returns the open checks.
fn battery(config: &Config, expect: &Expect) -> Vec<&'static str> {
    let ops: Vec<&str> = BATTERY.iter().map(|(_, op)| *op).collect();
    let ops = ops.join(" ");
    let sbx = if expect.best_effort.is_some() { "/sbx run --best-effort" } else { "/sbx run" };
    let script = format!(
        "touch /tmp/outside; sleep 60 & SLEEPER=$!; (nc -l -p 7777 >/dev/null 2>&1 &); \
         i=0; until /probe tcp-bind 127.0.0.1:7777 | grep -q EADDRINUSE || [ $i -gt 50 ]; do i=$((i+1)); sleep 0.1; done; \
         mkdir -p /work/cwd; cd /work/cwd; echo '--- sandbox'; {sbx} --profile strict -- /probe {ops}; \
         (nc -l -p 7777 >/dev/null 2>&1 &); i=0; \
         until /probe tcp-bind 127.0.0.1:7777 | grep -q EADDRINUSE || [ $i -gt 50 ]; do i=$((i+1)); sleep 0.1; done; \
         echo '--- control'; /probe {ops}; kill $SLEEPER"
    );
    let out = config.run(&script);
    let section = |name: &str| -> Vec<String> {
        let start = out.stdout.find(&format!("--- {name}\n")).unwrap_or_else(|| panic!("{name}\n{out}"));
        out.stdout[start..].lines().skip(1).take(BATTERY.len()).map(str::to_string).collect()
    };
    let (sandbox, control) = (section("sandbox"), section("control"));
    assert_eq!(sandbox.len(), BATTERY.len(), "{out}");
    let mut open = Vec::new();
    for (i, (name, _)) in BATTERY.iter().enumerate() {
        let in_control = is_open(name, &control[i]);
        let in_sandbox = is_open(name, &sandbox[i]);
        if !in_control {
            // The container closes it already; sbx must not open it.
            assert!(!in_sandbox, "{name}: closed by the container, open in sbx\n{out}");
            continue;
        }
        if in_sandbox {
            open.push(*name);
        }
    }
    assert_eq!(open, expect.open, "the checks left open under strict\n{out}");
    open
}

/// bubblewrap's usual sandbox in the same container: its outcome for README.md's table.
fn bwrap(config: &Config) -> String {
    let out = config.run(
        "/usr/bin/bwrap --unshare-all --die-with-parent --ro-bind / / --proc /proc --dev /dev --tmpfs /tmp -- /bin/true; echo rc=$?",
    );
    if out.stdout.contains("rc=0") {
        "runs".into()
    } else {
        format!("fails: {}", out.stderr.lines().next().unwrap_or("?"))
    }
}

// ---------------------------------------------------------------------------------------------
// The configurations

#[test]
fn docker_default() {
    let config = Config { name: "docker-default", engine: Engine::Docker, options: &[] };
    check(
        &config,
        &Expect {
            plain: Plain::Refuses(&[
                "a seccomp filter refuses clone(2)",
                "Docker's default seccomp profile",
                SECCOMP_FIX,
            ]),
            private_users: Some(Plain::Refuses(&[
                "a seccomp filter refuses",
                "docker run --security-opt seccomp=unconfined",
            ])),
            doctor: Some(("userns", &["Docker's default seccomp profile", "seccomp=unconfined"])),
            best_effort: Some(NO_NAMESPACES),
            open: &["see-container-tmp", "see-container-pid1"],
            bwrap: "No permissions to create new namespace",
        },
    );
}

#[test]
fn docker_default_non_root_user() {
    let config = Config { name: "docker-default-user", engine: Engine::Docker, options: &["--user", "1000:1000"] };
    check(
        &config,
        &Expect {
            plain: Plain::Refuses(&[
                "a seccomp filter refuses unshare(CLONE_NEWUSER)",
                "docker run --security-opt seccomp=unconfined",
            ]),
            private_users: None,
            doctor: Some(("userns", &["Docker's default seccomp profile", "seccomp=unconfined"])),
            best_effort: Some(NO_NAMESPACES),
            open: &["see-container-tmp", "see-container-pid1"],
            bwrap: "No permissions to create new namespace",
        },
    );
}

#[test]
fn docker_seccomp_unconfined() {
    let config = Config {
        name: "docker-seccomp-unconfined",
        engine: Engine::Docker,
        options: &["--security-opt", "seccomp=unconfined"],
    };
    check(
        &config,
        &Expect {
            plain: Plain::Refuses(&[NO_SYS_ADMIN, "docker run --cap-add SYS_ADMIN"]),
            private_users: Some(Plain::Refuses(&[MASKED, "docker run --security-opt systempaths=unconfined"])),
            // PrivateUsers=yes meets the masked /proc too: not offered (issue 16).
            doctor: Some(("procfs", &["without CAP_SYS_ADMIN"])),
            best_effort: Some(HOST_PROC),
            open: &["see-container-pid1"],
            bwrap: "Can't mount proc",
        },
    );
}

/// podman's default, as root or rootless: its masked /proc is the limit either way.
const PODMAN_MASKED_PROC: Expect = Expect {
    plain: Plain::Refuses(&[NO_SYS_ADMIN]),
    private_users: Some(Plain::Refuses(&[MASKED, "podman run --security-opt unmask=ALL"])),
    doctor: Some(("procfs", &["without CAP_SYS_ADMIN"])),
    best_effort: Some(HOST_PROC),
    open: &["see-container-pid1"],
    bwrap: "Can't mount proc",
};

#[test]
fn podman_default_root() {
    let config = Config { name: "podman-default", engine: Engine::Podman, options: &[] };
    check(&config, &PODMAN_MASKED_PROC);
}

#[test]
fn podman_default_rootless() {
    let config = Config { name: "podman-rootless", engine: Engine::PodmanRootless, options: &[] };
    check(&config, &PODMAN_MASKED_PROC);
}

#[test]
fn podman_unmask_all() {
    let config =
        Config { name: "podman-unmask-all", engine: Engine::Podman, options: &["--security-opt", "unmask=ALL"] };
    check(
        &config,
        &Expect {
            plain: Plain::Refuses(&[NO_SYS_ADMIN, PRIVATE_USERS_FIX]),
            private_users: Some(Plain::Runs),
            doctor: Some(("procfs", &["without CAP_SYS_ADMIN", "PrivateUsers=yes"])),
            // strict runs in a user namespace of its own (HostRoot=no): nothing to retry.
            best_effort: None,
            open: &[],
            bwrap: "runs",
        },
    );
}

#[test]
fn podman_unmask_all_non_root_user() {
    // The control of the refusals above: a configuration where sbx needs no option at all.
    let config = Config {
        name: "podman-unmask-all-user",
        engine: Engine::Podman,
        options: &["--security-opt", "unmask=ALL", "--user", "1000:1000"],
    };
    let expect =
        Expect { plain: Plain::Runs, private_users: None, doctor: None, best_effort: None, open: &[], bwrap: "runs" };
    check(&config, &expect);
}

#[test]
fn uid_0_without_cap_setfcap() {
    let config = Config { name: "podman-no-setfcap", engine: Engine::Podman, options: &["--cap-drop", "SETFCAP"] };
    check(
        &config,
        &Expect {
            plain: Plain::Refuses(&[NO_SYS_ADMIN]),
            private_users: Some(Plain::Refuses(&[
                "write \"0 0 1\\n\" to /proc/",
                "sbx runs as uid 0 without CAP_SETFCAP",
                "podman run --cap-add SETFCAP",
            ])),
            doctor: Some(("root-map", &["CAP_SETFCAP", "--cap-add SETFCAP"])),
            best_effort: Some(HOST_PROC),
            open: &["see-container-pid1"],
            bwrap: "setting up uid map: Operation not permitted",
        },
    );
}
