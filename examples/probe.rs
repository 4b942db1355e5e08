//! probe: the checker the integration tests run inside sandboxes.
//!
//! `probe OP [ARG]... [OP [ARG]...]...` performs each operation in order and prints one line per
//! operation on stdout, so a test can run several checks in one sandbox and compare line N with
//! the Nth operation. Every operation has a fixed number of arguments. Lines are machine-checkable:
//!
//! - `ok` or `ok VALUE...` when the operation succeeded (values separated by single spaces),
//! - `err ENAME` when it failed, with the errno's symbolic name (`err EROFS`, `err EACCES`).
//!
//! Exceptions: `ready` and the first line of `wait-signal` print `ready`; `exit` and
//! `kill-self` end the process and print nothing. A malformed command line prints
//! `probe: ...` on stderr and exits 100, a value no test expects from a payload.
//!
//! The probe uses only std and libc, opens nothing it does not close, and never reads its own
//! environment except for the `env` operations, so it reports the sandbox and not itself. It
//! has its own C `main` (`no_main`) so that Rust's runtime start-up does not set SIGPIPE to
//! ignored: `sigstate` shows the signal state the probe inherited from whoever started it.

// `cargo test --all-targets` also builds examples as test harnesses; then libtest owns main.
#![cfg_attr(not(test), no_main)]
#![cfg_attr(test, allow(dead_code))]

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{CStr, CString};
use std::fs;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::os::unix::net::{SocketAddr as UnixAddr, UnixStream};
use std::path::Path;
use std::time::{Duration, Instant};

const USAGE: &str = "\
usage: probe OP [ARG]... [OP [ARG]...]...
  files:      write FILE | read FILE | open FILE | mkdir DIR | ls DIR | stat PATH
              chown PATH UID:GID | mount PATH | mountinfo | umount PATH WHERE (WHERE: `here`,
              or `nested` in a new user and mount namespace)
  identity:   ids | caps | sigstate
  process:    pid | ppid | sid | pgid | fds | cwd | umask | nice | rlimit NAME
              env NAME | env-names | hostname | sethostname NAME | ns NAME
  network:    ifaces | tcp-connect HOST:PORT | tcp-bind HOST:PORT
              unix-connect-abstract NAME | sysv-msgq KEY
  keyrings:   keyring-id RING | key-add DESC DATA RING | key-search RING DESC | key-read ID
              key-unlink ID RING
              (RING: @u @s @us @p @t or a serial number)
  lifecycle:  ready | marker TOKEN | sleep SECS | wait-signal | exit N | kill-self SIG
              orphan | spawn-zombies N | fork-sleep SECS
  syscalls:   syscall NR ARGS | int80 NR ARGS (ARGS: comma-separated integers or `buf`, `-`
              for none) | socket FAMILY TYPE | unshare FLAGS | mmap-wx | mmap-rx | mprotect-x
              chmod PATH MODE | fchmod PATH MODE | mkdir-mode PATH MODE | open-creat PATH MODE
              personality N | sched POLICY | clock-settime-invalid | settimeofday-invalid
              adjtimex | syslog TYPE | ioctl ABI FD REQUEST | pty-ioctl ABI REQUEST
              child-syscall NR ARGS | clone-flags FLAGS";

/// Contents written by `write`.
const WRITE_CONTENT: &[u8] = b"probe\n";

/// The C entry point; std still reads argv on Linux without its own `main`.
#[cfg(not(test))]
#[unsafe(no_mangle)]
pub extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    run_all();
    0
}

fn run_all() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        usage_error("no operation given");
    }
    let mut i = 0;
    while i < args.len() {
        let op = args[i].as_str();
        let arity = arity(op).unwrap_or_else(|| usage_error(&format!("unknown operation {op:?}")));
        if i + arity >= args.len() {
            usage_error(&format!("{op} needs {arity} argument(s)"));
        }
        let operands = &args[i + 1..i + 1 + arity];
        i += 1 + arity;
        let line = run(op, operands);
        emit(&line);
    }
}

/// The number of arguments each operation takes; `None` for an unknown operation.
fn arity(op: &str) -> Option<usize> {
    Some(match op {
        "ids"
        | "caps"
        | "sigstate"
        | "pid"
        | "ppid"
        | "sid"
        | "pgid"
        | "fds"
        | "cwd"
        | "umask"
        | "nice"
        | "env-names"
        | "hostname"
        | "ifaces"
        | "mountinfo"
        | "ready"
        | "wait-signal"
        | "orphan"
        | "mmap-wx"
        | "mmap-rx"
        | "mprotect-x"
        | "clock-settime-invalid"
        | "settimeofday-invalid"
        | "adjtimex" => 0,
        "write"
        | "read"
        | "open"
        | "mkdir"
        | "ls"
        | "stat"
        | "mount"
        | "mounts-at"
        | "rlimit"
        | "env"
        | "sethostname"
        | "ns"
        | "tcp-connect"
        | "tcp-bind"
        | "unix-connect-abstract"
        | "unix-connect"
        | "sysv-msgq"
        | "marker"
        | "sleep"
        | "exit"
        | "kill-self"
        | "spawn-zombies"
        | "fork-sleep"
        | "unshare"
        | "personality"
        | "sched"
        | "syslog"
        | "clone-flags"
        | "keyring-id"
        | "key-read" => 1,
        "same-file" | "chown" | "syscall" | "int80" | "socket" | "chmod" | "fchmod" | "mkdir-mode" | "open-creat"
        | "pty-ioctl" | "child-syscall" | "umount" | "key-search" | "key-unlink" => 2,
        "ioctl" | "key-add" => 3,
        _ => return None,
    })
}

fn run(op: &str, a: &[String]) -> String {
    match op {
        "write" => result(write_file(&a[0])),
        "read" => read_file(&a[0]),
        "open" => result(open_nonblock(&a[0])),
        "mkdir" => result(fs::create_dir(&a[0])),
        "ls" => list_dir(&a[0]),
        "stat" => stat(&a[0]),
        "chown" => chown(&a[0], &a[1]),
        "mount" => mount_of(&a[0]),
        "mounts-at" => mounts_at(&a[0]),
        "same-file" => same_file(&a[0], &a[1]),
        "mountinfo" => match fs::read_to_string("/proc/self/mountinfo") {
            Ok(text) => format!("ok {}", text.lines().count()),
            Err(e) => err(&e),
        },
        "ids" => ids(),
        "caps" => status_fields(&["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs"]),
        "sigstate" => status_fields(&["SigBlk", "SigIgn"]),
        // SAFETY: these calls take no pointers and cannot fail.
        "pid" => format!("ok {}", unsafe { libc::getpid() }),
        "ppid" => format!("ok {}", unsafe { libc::getppid() }),
        "sid" => errno_or(unsafe { libc::getsid(0) }),
        "pgid" => errno_or(unsafe { libc::getpgid(0) }),
        "fds" => fds(),
        "cwd" => match std::env::current_dir() {
            Ok(p) => format!("ok {}", p.display()),
            Err(e) => err(&e),
        },
        "umask" => {
            // SAFETY: umask cannot fail; the old value is put back at once.
            let old = unsafe { libc::umask(0o022) };
            unsafe { libc::umask(old) };
            format!("ok {:04o}", old)
        }
        "nice" => nice(),
        "rlimit" => rlimit(&a[0]),
        "env" => match std::env::var_os(&a[0]) {
            Some(v) => format!("ok {}", escape(v.as_bytes())),
            None => "err unset".to_string(),
        },
        "env-names" => {
            let names: BTreeSet<String> = std::env::vars_os().map(|(k, _)| k.to_string_lossy().into_owned()).collect();
            ok_list(names)
        }
        "hostname" => hostname(),
        "sethostname" => sethostname(&a[0]),
        "ns" => match fs::read_link(format!("/proc/self/ns/{}", a[0])) {
            Ok(t) => format!("ok {}", t.display()),
            Err(e) => err(&e),
        },
        "ifaces" => ifaces(),
        "tcp-connect" => tcp_connect(&a[0]),
        "tcp-bind" => tcp_bind(&a[0]),
        "unix-connect-abstract" => unix_connect_abstract(&a[0]),
        "unix-connect" => result(UnixStream::connect(&a[0]).map(drop)),
        "sysv-msgq" => sysv_msgq(&a[0]),
        "keyring-id" => keyring_id(&a[0]),
        "key-add" => key_add(&a[0], &a[1], &a[2]),
        "key-search" => key_search(&a[0], &a[1]),
        "key-read" => key_read(&a[0]),
        "key-unlink" => key_unlink(&a[0], &a[1]),
        "ready" => "ready".to_string(),
        "marker" => "ok".to_string(),
        "sleep" => {
            let secs: f64 = parse(&a[0]);
            std::thread::sleep(Duration::from_secs_f64(secs));
            "ok".to_string()
        }
        "wait-signal" => wait_signal(),
        "exit" => {
            let code: i32 = parse(&a[0]);
            std::process::exit(code)
        }
        "kill-self" => kill_self(&a[0]),
        "orphan" => orphan(),
        "spawn-zombies" => spawn_zombies(parse(&a[0])),
        "fork-sleep" => fork_sleep(parse(&a[0])),
        "syscall" => raw_syscall(&a[0], &a[1]),
        "int80" => i386_syscall(&a[0], &a[1]),
        "socket" => socket(&a[0], &a[1]),
        "child-syscall" => child_syscall(&a[0], &a[1]),
        "unshare" => unshare(&a[0]),
        "umount" => umount(&a[0], &a[1]),
        "clone-flags" => clone_flags(&a[0]),
        "mmap-wx" => mmap_prot(libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC),
        "mmap-rx" => mmap_prot(libc::PROT_READ | libc::PROT_EXEC),
        "mprotect-x" => mprotect_exec(),
        "chmod" => chmod(&a[0], &a[1]),
        "fchmod" => fchmod(&a[0], &a[1]),
        "mkdir-mode" => mkdir_mode(&a[0], &a[1]),
        "open-creat" => open_creat(&a[0], &a[1]),
        "personality" => personality(&a[0]),
        "sched" => sched(&a[0]),
        "clock-settime-invalid" => clock_settime_invalid(),
        "settimeofday-invalid" => settimeofday_invalid(),
        "adjtimex" => adjtimex_read(),
        "syslog" => syslog(&a[0]),
        "ioctl" => ioctl(&a[0], &a[1], &a[2]),
        "pty-ioctl" => pty_ioctl(&a[0], &a[1]),
        _ => unreachable!("arity() accepted {op}"),
    }
}

// ---- output helpers ----

fn emit(line: &str) {
    let mut out = io::stdout().lock();
    // A closed stdout is not the probe's problem to report.
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn usage_error(msg: &str) -> ! {
    eprintln!("probe: {msg}\n{USAGE}");
    std::process::exit(100)
}

fn parse<T: std::str::FromStr>(s: &str) -> T {
    s.parse().unwrap_or_else(|_| usage_error(&format!("cannot parse {s:?}")))
}

fn result(r: io::Result<()>) -> String {
    match r {
        Ok(()) => "ok".to_string(),
        Err(e) => err(&e),
    }
}

fn err(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => format!("err {}", errno_name(n)),
        None if e.kind() == io::ErrorKind::TimedOut => "err ETIMEDOUT".to_string(),
        None => format!("err {:?}", e.kind()),
    }
}

fn last_err() -> String {
    err(&io::Error::last_os_error())
}

/// `ok N` for a non-negative return value, `err ENAME` for -1.
fn errno_or(ret: i32) -> String {
    if ret < 0 { last_err() } else { format!("ok {ret}") }
}

fn ok_list<I: IntoIterator<Item = String>>(items: I) -> String {
    let mut line = "ok".to_string();
    for item in items {
        line.push(' ');
        line.push_str(&item);
    }
    line
}

/// Printable ASCII stays, everything else (including space) becomes `\xNN`, newline `\n`.
fn escape(bytes: &[u8]) -> String {
    let mut s = String::new();
    for &b in bytes {
        match b {
            b'\n' => s.push_str("\\n"),
            b'\\' => s.push_str("\\\\"),
            0x21..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s
}

fn errno_name(n: i32) -> String {
    let name = match n {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::ENXIO => "ENXIO",
        libc::E2BIG => "E2BIG",
        libc::ENOEXEC => "ENOEXEC",
        libc::EBADF => "EBADF",
        libc::ECHILD => "ECHILD",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::EXDEV => "EXDEV",
        libc::ENODEV => "ENODEV",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::ENFILE => "ENFILE",
        libc::EMFILE => "EMFILE",
        libc::ENOTTY => "ENOTTY",
        libc::ETXTBSY => "ETXTBSY",
        libc::EFBIG => "EFBIG",
        libc::ENOSPC => "ENOSPC",
        libc::ESPIPE => "ESPIPE",
        libc::EROFS => "EROFS",
        libc::EMLINK => "EMLINK",
        libc::EPIPE => "EPIPE",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::ENOSYS => "ENOSYS",
        libc::ENOTEMPTY => "ENOTEMPTY",
        libc::ELOOP => "ELOOP",
        libc::ENOTSOCK => "ENOTSOCK",
        libc::EPROTONOSUPPORT => "EPROTONOSUPPORT",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EAFNOSUPPORT => "EAFNOSUPPORT",
        libc::EADDRINUSE => "EADDRINUSE",
        libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
        libc::ENETDOWN => "ENETDOWN",
        libc::ENETUNREACH => "ENETUNREACH",
        libc::ECONNABORTED => "ECONNABORTED",
        libc::ECONNRESET => "ECONNRESET",
        libc::ENOTCONN => "ENOTCONN",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::ECONNREFUSED => "ECONNREFUSED",
        libc::EHOSTUNREACH => "EHOSTUNREACH",
        libc::EDQUOT => "EDQUOT",
        libc::ESTALE => "ESTALE",
        libc::ENOMEDIUM => "ENOMEDIUM",
        _ => return format!("E{n}"),
    };
    name.to_string()
}

const SIGNALS: &[(&str, i32)] = &[
    ("SIGHUP", libc::SIGHUP),
    ("SIGINT", libc::SIGINT),
    ("SIGQUIT", libc::SIGQUIT),
    ("SIGILL", libc::SIGILL),
    ("SIGTRAP", libc::SIGTRAP),
    ("SIGABRT", libc::SIGABRT),
    ("SIGBUS", libc::SIGBUS),
    ("SIGFPE", libc::SIGFPE),
    ("SIGKILL", libc::SIGKILL),
    ("SIGUSR1", libc::SIGUSR1),
    ("SIGSEGV", libc::SIGSEGV),
    ("SIGUSR2", libc::SIGUSR2),
    ("SIGPIPE", libc::SIGPIPE),
    ("SIGALRM", libc::SIGALRM),
    ("SIGTERM", libc::SIGTERM),
    ("SIGCHLD", libc::SIGCHLD),
    ("SIGCONT", libc::SIGCONT),
    ("SIGSTOP", libc::SIGSTOP),
    ("SIGTSTP", libc::SIGTSTP),
    ("SIGTTIN", libc::SIGTTIN),
    ("SIGTTOU", libc::SIGTTOU),
    ("SIGURG", libc::SIGURG),
    ("SIGXCPU", libc::SIGXCPU),
    ("SIGXFSZ", libc::SIGXFSZ),
    ("SIGVTALRM", libc::SIGVTALRM),
    ("SIGPROF", libc::SIGPROF),
    ("SIGWINCH", libc::SIGWINCH),
    ("SIGIO", libc::SIGIO),
    ("SIGPWR", libc::SIGPWR),
    ("SIGSYS", libc::SIGSYS),
];

fn signal_name(n: i32) -> String {
    SIGNALS.iter().find(|(_, v)| *v == n).map(|(name, _)| name.to_string()).unwrap_or_else(|| format!("SIG{n}"))
}

/// `TERM`, `SIGTERM` or `15`.
fn signal_number(s: &str) -> i32 {
    if let Ok(n) = s.parse() {
        return n;
    }
    let upper = s.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") { upper } else { format!("SIG{upper}") };
    SIGNALS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
        .unwrap_or_else(|| usage_error(&format!("unknown signal {s:?}")))
}

// ---- files ----

fn write_file(path: &str) -> io::Result<()> {
    let mut f = fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o666).open(path)?;
    f.write_all(WRITE_CONTENT)
}

/// One read(2) of up to 64 KiB (a whole record from /dev/kmsg, a whole small file); the line
/// shows the first 200 bytes.
fn read_file(path: &str) -> String {
    let f = fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path);
    let mut buf = vec![0u8; 65536];
    match f.and_then(|mut f| f.read(&mut buf)) {
        Ok(0) => "ok".to_string(),
        Ok(n) => format!("ok {}", escape(&buf[..n.min(200)])),
        Err(e) => err(&e),
    }
}

fn open_nonblock(path: &str) -> io::Result<()> {
    fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path).map(drop)
}

fn list_dir(path: &str) -> String {
    match fs::read_dir(path) {
        Ok(entries) => {
            let mut names = BTreeSet::new();
            for e in entries {
                match e {
                    Ok(e) => names.insert(escape(e.file_name().as_bytes())),
                    Err(e) => return err(&e),
                };
            }
            ok_list(names)
        }
        Err(e) => err(&e),
    }
}

/// lstat: symlinks are reported as `type=link`.
fn stat(path: &str) -> String {
    match fs::symlink_metadata(path) {
        Ok(m) => {
            let ty = match m.mode() & libc::S_IFMT {
                libc::S_IFREG => "file",
                libc::S_IFDIR => "dir",
                libc::S_IFLNK => "link",
                libc::S_IFCHR => "char",
                libc::S_IFBLK => "block",
                libc::S_IFIFO => "fifo",
                libc::S_IFSOCK => "socket",
                _ => "unknown",
            };
            format!("ok type={ty} mode={:04o} uid={} gid={}", m.mode() & 0o7777, m.uid(), m.gid())
        }
        Err(e) => err(&e),
    }
}

/// How many mounts are stacked at `path` (mountinfo lines with that mount point).
fn mounts_at(path: &str) -> String {
    match fs::read_to_string("/proc/self/mountinfo") {
        Ok(text) => {
            let n =
                text.lines().filter(|l| l.split(' ').nth(4).map(unescape_mountinfo).as_deref() == Some(path)).count();
            format!("ok {n}")
        }
        Err(e) => err(&e),
    }
}

/// Whether two paths name the same inode: "ok yes" or "ok no".
fn same_file(a: &str, b: &str) -> String {
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(x), Ok(y)) => format!("ok {}", if (x.dev(), x.ino()) == (y.dev(), y.ino()) { "yes" } else { "no" }),
        (Err(e), _) | (_, Err(e)) => err(&e),
    }
}

fn chown(path: &str, ids: &str) -> String {
    let Some((u, g)) = ids.split_once(':') else { usage_error("chown needs UID:GID") };
    result(std::os::unix::fs::lchown(path, Some(parse(u)), Some(parse(g))))
}

/// The mount that covers PATH (the longest mount point that is PATH or a parent of it; the
/// topmost when several are stacked): `ok MOUNTPOINT FSTYPE MOUNT-OPTIONS SUPER-OPTIONS`.
fn mount_of(path: &str) -> String {
    let text = match fs::read_to_string("/proc/self/mountinfo") {
        Ok(t) => t,
        Err(e) => return err(&e),
    };
    let mut best: Option<(usize, String)> = None;
    for line in text.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(dash) = fields.iter().position(|f| *f == "-") else {
            continue;
        };
        if fields.len() < dash + 4 || dash < 6 {
            continue;
        }
        let mp = unescape_mountinfo(fields[4]);
        let covers = path == mp || mp == "/" || (path.starts_with(&mp) && path.as_bytes().get(mp.len()) == Some(&b'/'));
        if covers && best.as_ref().is_none_or(|(len, _)| mp.len() >= *len) {
            let summary = format!("ok {} {} {} {}", fields[4], fields[dash + 1], fields[5], fields[dash + 3]);
            best = Some((mp.len(), summary));
        }
    }
    best.map(|(_, s)| s).unwrap_or_else(|| "err ENOENT".to_string())
}

fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---- identity ----

fn ids() -> String {
    // SAFETY: the id getters cannot fail; getgroups writes at most `n` entries into `groups`.
    let (uid, gid, euid, egid) = unsafe { (libc::getuid(), libc::getgid(), libc::geteuid(), libc::getegid()) };
    let mut groups = vec![0 as libc::gid_t; 256];
    let n = unsafe { libc::getgroups(groups.len() as i32, groups.as_mut_ptr()) };
    let groups: Vec<String> =
        if n < 0 { vec!["?".to_string()] } else { groups[..n as usize].iter().map(|g| g.to_string()).collect() };
    format!("ok uid={uid} gid={gid} euid={euid} egid={egid} groups={}", groups.join(","))
}

/// Selected `Name:\tvalue` lines of /proc/self/status as `Name=value`.
fn status_fields(names: &[&str]) -> String {
    let text = match fs::read_to_string("/proc/self/status") {
        Ok(t) => t,
        Err(e) => return err(&e),
    };
    let map: BTreeMap<&str, &str> =
        text.lines().filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim(), v.trim())).collect();
    ok_list(names.iter().map(|n| format!("{n}={}", map.get(n).copied().unwrap_or("?"))))
}

// ---- process ----

/// Open descriptors, after the directory handle used to list them is closed again.
fn fds() -> String {
    let numbers: Vec<i32> = match fs::read_dir("/proc/self/fd") {
        Ok(entries) => entries.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect(),
        Err(e) => return err(&e),
    };
    let mut open: Vec<i32> = numbers
        .into_iter()
        // SAFETY: F_GETFD only queries the descriptor table.
        .filter(|&fd| unsafe { libc::fcntl(fd, libc::F_GETFD) } != -1)
        .collect();
    open.sort();
    ok_list(open.iter().map(|fd| fd.to_string()))
}

fn nice() -> String {
    // getpriority can return -1 legitimately; errno tells.
    // SAFETY: __errno_location returns this thread's errno slot.
    unsafe { *libc::__errno_location() = 0 };
    let v = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
    if v == -1 && io::Error::last_os_error().raw_os_error() != Some(0) {
        return last_err();
    }
    format!("ok {v}")
}

fn rlimit(name: &str) -> String {
    let upper = name.to_ascii_uppercase();
    let short = upper.trim_start_matches("LIMIT").trim_start_matches("RLIMIT_");
    let resource = match short {
        "CPU" => libc::RLIMIT_CPU,
        "FSIZE" => libc::RLIMIT_FSIZE,
        "DATA" => libc::RLIMIT_DATA,
        "STACK" => libc::RLIMIT_STACK,
        "CORE" => libc::RLIMIT_CORE,
        "RSS" => libc::RLIMIT_RSS,
        "NOFILE" => libc::RLIMIT_NOFILE,
        "AS" => libc::RLIMIT_AS,
        "NPROC" => libc::RLIMIT_NPROC,
        "MEMLOCK" => libc::RLIMIT_MEMLOCK,
        "LOCKS" => libc::RLIMIT_LOCKS,
        "SIGPENDING" => libc::RLIMIT_SIGPENDING,
        "MSGQUEUE" => libc::RLIMIT_MSGQUEUE,
        "NICE" => libc::RLIMIT_NICE,
        "RTPRIO" => libc::RLIMIT_RTPRIO,
        "RTTIME" => libc::RLIMIT_RTTIME,
        _ => usage_error(&format!("unknown rlimit {name:?}")),
    };
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `lim` is a valid rlimit for the kernel to fill.
    if unsafe { libc::getrlimit(resource, &mut lim) } != 0 {
        return last_err();
    }
    let show = |v: libc::rlim_t| {
        if v == libc::RLIM_INFINITY { "infinity".to_string() } else { v.to_string() }
    };
    format!("ok {} {}", show(lim.rlim_cur), show(lim.rlim_max))
}

fn hostname() -> String {
    // SAFETY: uname fills the zeroed struct; nodename is NUL-terminated.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut u) } != 0 {
        return last_err();
    }
    let name = unsafe { CStr::from_ptr(u.nodename.as_ptr()) };
    format!("ok {}", escape(name.to_bytes()))
}

fn sethostname(name: &str) -> String {
    // SAFETY: the pointer and length describe `name`.
    let r = unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) };
    if r == 0 { "ok".to_string() } else { last_err() }
}

// ---- network and IPC ----

/// Interface names with their state: `ok eth0:UP lo:UP` (sorted by name).
fn ifaces() -> String {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs allocates a list that is walked read-only and freed below.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return last_err();
    }
    let mut found: BTreeMap<String, bool> = BTreeMap::new();
    let mut cur = head;
    while !cur.is_null() {
        let entry = unsafe { &*cur };
        let name = unsafe { CStr::from_ptr(entry.ifa_name) }.to_string_lossy().into_owned();
        let up = entry.ifa_flags & libc::IFF_UP as u32 != 0;
        *found.entry(name).or_insert(false) |= up;
        cur = entry.ifa_next;
    }
    unsafe { libc::freeifaddrs(head) };
    ok_list(found.into_iter().map(|(n, up)| format!("{n}:{}", if up { "UP" } else { "DOWN" })))
}

fn socket_addr(s: &str) -> SocketAddr {
    s.to_socket_addrs().ok().and_then(|mut a| a.next()).unwrap_or_else(|| usage_error(&format!("bad address {s:?}")))
}

fn tcp_connect(addr: &str) -> String {
    result(TcpStream::connect_timeout(&socket_addr(addr), Duration::from_secs(5)).map(drop))
}

fn tcp_bind(addr: &str) -> String {
    result(TcpListener::bind(socket_addr(addr)).map(drop))
}

fn unix_connect_abstract(name: &str) -> String {
    let addr = match UnixAddr::from_abstract_name(name.as_bytes()) {
        Ok(a) => a,
        Err(e) => return err(&e),
    };
    result(UnixStream::connect_addr(&addr).map(drop))
}

/// Whether the System V message queue with this key is visible (`msgget(key, 0)`).
fn sysv_msgq(key: &str) -> String {
    let key: libc::key_t = parse(key);
    // SAFETY: msgget takes no pointers.
    let id = unsafe { libc::msgget(key, 0) };
    if id < 0 { last_err() } else { "ok".to_string() }
}

// ---- keyrings ----

const KEYCTL_GET_KEYRING_ID: libc::c_long = 0;
const KEYCTL_UNLINK: libc::c_long = 9;
const KEYCTL_SEARCH: libc::c_long = 10;
const KEYCTL_READ: libc::c_long = 11;

/// A keyring named as keyctl(1) names it (`@u` the user keyring, `@s` the session keyring...)
/// or by its serial number.
fn ring(name: &str) -> libc::c_long {
    match name {
        "@t" => -1,
        "@p" => -2,
        "@s" => -3,
        "@u" => -4,
        "@us" => -5,
        n => parse(n),
    }
}

/// The `KEYCTL_*` return value as `ok N`, or the errno.
fn key_ret(r: libc::c_long) -> String {
    if r < 0 { last_err() } else { format!("ok {r}") }
}

/// The serial number of a keyring, without creating it (`keyctl(KEYCTL_GET_KEYRING_ID, RING, 0)`).
fn keyring_id(name: &str) -> String {
    // SAFETY: no pointers are passed.
    key_ret(unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_GET_KEYRING_ID, ring(name), 0) })
}

/// Adds (or updates) a `user` key DESC holding DATA to RING; prints its serial number.
fn key_add(desc: &str, data: &str, to: &str) -> String {
    let desc = CString::new(desc).expect("description without NUL");
    // SAFETY: the type and description are NUL-terminated; data is valid for its length.
    key_ret(unsafe {
        libc::syscall(libc::SYS_add_key, c"user".as_ptr(), desc.as_ptr(), data.as_ptr(), data.len(), ring(to))
    })
}

/// Searches RING (and the keyrings it links) for the `user` key DESC; prints its serial number.
fn key_search(from: &str, desc: &str) -> String {
    let desc = CString::new(desc).expect("description without NUL");
    // SAFETY: the type and description are NUL-terminated; no keyring is linked (0).
    key_ret(unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_SEARCH, ring(from), c"user".as_ptr(), desc.as_ptr(), 0) })
}

/// Removes key ID from RING.
fn key_unlink(id: &str, from: &str) -> String {
    // SAFETY: no pointers are passed.
    key_ret(unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_UNLINK, ring(id), ring(from)) })
}

/// The payload of key ID, as text.
fn key_read(id: &str) -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; the kernel writes at most that much.
    let n = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_READ, ring(id), buf.as_mut_ptr(), buf.len()) };
    if n < 0 {
        return last_err();
    }
    format!("ok {}", String::from_utf8_lossy(&buf[..(n as usize).min(buf.len())]))
}

// ---- lifecycle ----

/// Blocks every signal, prints `ready`, then prints the first signal delivered as `ok SIGNAME`.
fn wait_signal() -> String {
    // SAFETY: the set is initialised by sigfillset before use.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    unsafe {
        libc::sigfillset(&mut set);
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
    emit("ready");
    loop {
        let sig = unsafe { libc::sigwaitinfo(&set, std::ptr::null_mut()) };
        if sig > 0 {
            return format!("ok {}", signal_name(sig));
        }
        if io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return last_err();
        }
    }
}

/// Dies of SIG with the default action (nothing printed).
fn kill_self(sig: &str) -> String {
    let sig = signal_number(sig);
    // SAFETY: resetting the disposition and unblocking only affect this process.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::kill(libc::getpid(), sig);
    }
    // A signal whose default action is not to terminate (or is ignored by force) lands here.
    std::thread::sleep(Duration::from_secs(2));
    "err survived".to_string()
}

/// Forks a child that forks a grandchild and exits, so the grandchild is re-parented to the
/// sandbox's pid 1. The grandchild reports its new parent and exits. Prints
/// `ok reaped ppid=P` once /proc no longer lists it (pid 1 reaped it), `err zombie ppid=P`
/// when it is still a zombie after 10 s.
fn orphan() -> String {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills `fds`; the probe is single-threaded, so fork is safe.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return last_err();
    }
    let (rd, wr) = (fds[0], fds[1]);
    let child = unsafe { libc::fork() };
    if child < 0 {
        return last_err();
    }
    if child == 0 {
        unsafe {
            libc::close(rd);
            let parent = libc::getpid();
            let grandchild = libc::fork();
            if grandchild == 0 {
                // Wait (bounded) until the intermediate child is gone, then report the new parent.
                for _ in 0..5000 {
                    if libc::getppid() != parent {
                        break;
                    }
                    libc::usleep(1000);
                }
                let msg = format!("{} {}\n", libc::getpid(), libc::getppid());
                libc::write(wr, msg.as_ptr().cast(), msg.len());
                libc::_exit(0);
            }
            libc::_exit(if grandchild < 0 { 1 } else { 0 });
        }
    }
    // SAFETY: closing our copy of the write end lets read_to_string see EOF.
    unsafe {
        libc::close(wr);
        libc::waitpid(child, std::ptr::null_mut(), 0);
    }
    let mut report = String::new();
    let mut pipe = unsafe { <fs::File as std::os::fd::FromRawFd>::from_raw_fd(rd) };
    let _ = pipe.read_to_string(&mut report);
    let mut words = report.split_whitespace();
    let (Some(gpid), Some(ppid)) = (words.next(), words.next()) else {
        return "err no-report".to_string();
    };
    let proc_dir = format!("/proc/{gpid}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if !Path::new(&proc_dir).exists() {
            return format!("ok reaped ppid={ppid}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    format!("err zombie ppid={ppid}")
}

/// Forks N children that exit at once and are never waited for.
fn spawn_zombies(n: u32) -> String {
    for _ in 0..n {
        // SAFETY: single-threaded; the child only calls _exit.
        match unsafe { libc::fork() } {
            0 => unsafe { libc::_exit(0) },
            -1 => return last_err(),
            _ => {}
        }
    }
    format!("ok {n}")
}

/// Forks a child that sleeps SECS with stdout and stderr on /dev/null (so it holds no pipe of
/// the caller's) and the probe's own argv; prints `ok PID` (PID as the probe sees it).
fn fork_sleep(secs: u32) -> String {
    let devnull = CString::new("/dev/null").expect("no NUL");
    // SAFETY: single-threaded; the child only makes async-signal-safe calls.
    match unsafe { libc::fork() } {
        0 => unsafe {
            let fd = libc::open(devnull.as_ptr(), libc::O_RDWR);
            if fd >= 0 {
                libc::dup2(fd, 1);
                libc::dup2(fd, 2);
            }
            libc::sleep(secs);
            libc::_exit(0)
        },
        -1 => last_err(),
        pid => format!("ok {pid}"),
    }
}

// ---- system calls (for the syscall-filter directives) ----

/// An integer in decimal (`-1`, `65`) or hexadecimal (`0x40000027`), as the 64 bits a
/// register holds.
fn parse_int(s: &str) -> u64 {
    let parsed = match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse::<i64>().ok().map(|v| v as u64),
    };
    parsed.unwrap_or_else(|| usage_error(&format!("cannot parse {s:?} as an integer")))
}

#[cfg(target_arch = "x86_64")]
const MAP_LOW: libc::c_int = libc::MAP_32BIT;
#[cfg(not(target_arch = "x86_64"))]
const MAP_LOW: libc::c_int = 0;

/// A zeroed page below 4 GiB (so an i386 system call can take its address too), one per call.
fn low_page() -> *mut libc::c_void {
    // SAFETY: a fresh anonymous mapping; nothing else refers to it.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | MAP_LOW,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        usage_error(&format!("mmap: {}", io::Error::last_os_error()));
    }
    p
}

/// `ARGS` of `syscall` and `int80`: up to six comma-separated integers, `buf` for the address
/// of a zeroed page, `-` for none.
fn syscall_args(list: &str) -> [u64; 6] {
    let mut args = [0u64; 6];
    if list == "-" {
        return args;
    }
    let words: Vec<&str> = list.split(',').collect();
    if words.len() > 6 {
        usage_error("at most six system call arguments");
    }
    for (slot, w) in args.iter_mut().zip(words) {
        *slot = if w == "buf" { low_page() as u64 } else { parse_int(w) };
    }
    args
}

/// `syscall(NR, ARGS...)` as it is (NR may carry the x32 bit): `ok RET` or `err ENAME`.
fn raw_syscall(nr: &str, args: &str) -> String {
    let nr = parse_int(nr) as libc::c_long;
    let a = syscall_args(args);
    // SAFETY: the caller picks a call whose pointer arguments, if any, are `buf` pages.
    let ret = unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) };
    if ret < 0 { last_err() } else { format!("ok {ret}") }
}

/// A system call through the i386 ABI (`int 0x80`), six arguments truncated to 32 bits.
#[cfg(target_arch = "x86_64")]
fn int80(nr: u64, a: [u64; 6]) -> i64 {
    let ret: u64;
    // SAFETY: int 0x80 enters the kernel's compat entry; rbx (reserved by LLVM) is swapped in
    // and out around it, and rbp is saved on the stack the same way.
    unsafe {
        std::arch::asm!(
            "xchg {b}, rbx",
            "push rbp",
            "mov ebp, {p:e}",
            "int 0x80",
            "pop rbp",
            "xchg {b}, rbx",
            b = inout(reg) a[0] => _,
            p = in(reg) a[5],
            inlateout("rax") nr => ret,
            in("rcx") a[1],
            in("rdx") a[2],
            in("rsi") a[3],
            in("rdi") a[4],
        );
    }
    i64::from(ret as u32 as i32)
}

#[cfg(not(target_arch = "x86_64"))]
fn int80(_nr: u64, _a: [u64; 6]) -> i64 {
    usage_error("int80 exists only on x86_64")
}

fn i386_syscall(nr: &str, args: &str) -> String {
    let ret = int80(parse_int(nr), syscall_args(args));
    if ret < 0 { format!("err {}", errno_name(-ret as i32)) } else { format!("ok {ret}") }
}

fn family(s: &str) -> libc::c_int {
    match s.trim_start_matches("AF_") {
        "UNIX" => libc::AF_UNIX,
        "INET" => libc::AF_INET,
        "INET6" => libc::AF_INET6,
        "NETLINK" => libc::AF_NETLINK,
        "PACKET" => libc::AF_PACKET,
        other => parse_int(other) as libc::c_int,
    }
}

/// socket(FAMILY, TYPE, 0), closed again: FAMILY `AF_UNIX`, `AF_INET6`, ... or a number;
/// TYPE `STREAM`, `DGRAM` or `RAW`.
fn socket(fam: &str, ty: &str) -> String {
    let ty = match ty {
        "STREAM" => libc::SOCK_STREAM,
        "DGRAM" => libc::SOCK_DGRAM,
        "RAW" => libc::SOCK_RAW,
        _ => usage_error(&format!("unknown socket type {ty:?}")),
    };
    // SAFETY: socket takes no pointers; the descriptor is closed at once.
    let fd = unsafe { libc::socket(family(fam), ty | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return last_err();
    }
    unsafe { libc::close(fd) };
    "ok".to_string()
}

/// Runs `f` in a forked child and prints its result: `f` returns 0 or an errno; a child killed
/// by a signal shows as `err SIGNAME`.
fn in_child(f: impl FnOnce() -> i32) -> String {
    child_line(|| {
        let r = f();
        if r == 0 { "ok".to_string() } else { format!("err {}", errno_name(r)) }
    })
}

/// Runs `f` in a forked child and returns the line it produced; a child killed by a signal
/// shows as `err SIGNAME`.
fn child_line(f: impl FnOnce() -> String) -> String {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills `fds`; the probe is single-threaded, so the child may run `f`.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return last_err();
    }
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return last_err();
    }
    if pid == 0 {
        let line = f();
        unsafe {
            libc::write(fds[1], line.as_ptr().cast(), line.len());
            libc::_exit(0);
        }
    }
    unsafe { libc::close(fds[1]) };
    let mut report = String::new();
    let mut pipe = unsafe { <fs::File as std::os::fd::FromRawFd>::from_raw_fd(fds[0]) };
    let _ = pipe.read_to_string(&mut report);
    let mut status = 0;
    // SAFETY: waits for the child forked above.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    if libc::WIFSIGNALED(status) {
        return format!("err {}", signal_name(libc::WTERMSIG(status)));
    }
    if report.is_empty() { "err no-report".to_string() } else { report }
}

fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// `syscall NR ARGS` in a forked child, so a call the filter kills takes only the child:
/// `ok` or `err ENAME` for the call, `err SIGNAME` when the child was killed.
fn child_syscall(nr: &str, args: &str) -> String {
    let nr = parse_int(nr) as libc::c_long;
    let a = syscall_args(args);
    // SAFETY: as in `raw_syscall`.
    in_child(|| if unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) } < 0 { errno() } else { 0 })
}

/// clone(FLAGS|SIGCHLD) without a new stack; the new child exits at once: `ok` or `err ENAME`.
fn clone_flags(flags: &str) -> String {
    let bits = ns_flags(flags) as libc::c_long | libc::c_long::from(libc::SIGCHLD);
    // SAFETY: the new process shares nothing (no CLONE_VM) and only calls _exit; the probe is
    // single-threaded.
    in_child(|| {
        let pid = unsafe { libc::syscall(libc::SYS_clone, bits, 0, 0, 0, 0) };
        match pid {
            0 => unsafe { libc::_exit(0) },
            p if p < 0 => errno(),
            p => {
                unsafe { libc::waitpid(p as libc::pid_t, std::ptr::null_mut(), 0) };
                0
            }
        }
    })
}

fn ns_flags(flags: &str) -> libc::c_int {
    let mut bits = 0;
    for f in flags.split('|') {
        bits |= match f.trim_start_matches("CLONE_").trim_start_matches("NEW") {
            "USER" => libc::CLONE_NEWUSER,
            "NET" => libc::CLONE_NEWNET,
            "UTS" => libc::CLONE_NEWUTS,
            "IPC" => libc::CLONE_NEWIPC,
            "NS" => libc::CLONE_NEWNS,
            "PID" => libc::CLONE_NEWPID,
            "CGROUP" => libc::CLONE_NEWCGROUP,
            other => parse_int(other) as libc::c_int,
        };
    }
    bits
}

/// umount2(PATH, MNT_DETACH) in a child, in the probe's namespaces (`here`) or in a new user
/// and mount namespace (`nested`), where the probe holds every capability but the mounts it
/// inherited are locked together.
fn umount(path: &str, place: &str) -> String {
    let nested = match place {
        "here" => false,
        "nested" => true,
        other => usage_error(&format!("umount: WHERE is `here` or `nested`, not {other:?}")),
    };
    let c = CString::new(path).unwrap_or_else(|_| usage_error("umount: a path with NUL"));
    in_child(|| {
        // SAFETY: unshare takes no pointers; umount2 reads a valid C string.
        if nested && unsafe { libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS) } != 0 {
            return errno();
        }
        if unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) } == 0 { 0 } else { errno() }
    })
}

/// unshare(FLAGS) in a child (the probe keeps its namespaces): FLAGS like `USER|NET` or hex.
fn unshare(flags: &str) -> String {
    let bits = ns_flags(flags);
    // SAFETY: unshare takes no pointers.
    in_child(|| if unsafe { libc::unshare(bits) } == 0 { 0 } else { errno() })
}

/// An anonymous mapping with PROT.
fn mmap_prot(prot: libc::c_int) -> String {
    // SAFETY: a fresh anonymous mapping, unmapped again.
    let p = unsafe { libc::mmap(std::ptr::null_mut(), 4096, prot, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0) };
    if p == libc::MAP_FAILED {
        return last_err();
    }
    unsafe { libc::munmap(p, 4096) };
    "ok".to_string()
}

/// A writable anonymous mapping made executable with mprotect.
fn mprotect_exec() -> String {
    let rw = libc::PROT_READ | libc::PROT_WRITE;
    // SAFETY: a fresh anonymous mapping, unmapped again.
    let p = unsafe { libc::mmap(std::ptr::null_mut(), 4096, rw, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0) };
    if p == libc::MAP_FAILED {
        return last_err();
    }
    let r = unsafe { libc::mprotect(p, 4096, rw | libc::PROT_EXEC) };
    let line = if r == 0 { "ok".to_string() } else { last_err() };
    unsafe { libc::munmap(p, 4096) };
    line
}

fn octal(s: &str) -> libc::mode_t {
    libc::mode_t::from_str_radix(s, 8).unwrap_or_else(|_| usage_error(&format!("{s:?} is not an octal mode")))
}

fn cpath(p: &str) -> CString {
    CString::new(p).unwrap_or_else(|_| usage_error("path with NUL"))
}

/// chmod(PATH, MODE), MODE octal; `ok` shows the mode afterwards.
fn chmod(path: &str, mode: &str) -> String {
    let c = cpath(path);
    // SAFETY: `c` is a NUL-terminated path.
    if unsafe { libc::chmod(c.as_ptr(), octal(mode)) } != 0 {
        return last_err();
    }
    mode_of(path)
}

/// fchmod on PATH opened read-only.
fn fchmod(path: &str, mode: &str) -> String {
    let f = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) => return err(&e),
    };
    // SAFETY: the descriptor is `f`'s, open for the call.
    if unsafe { libc::fchmod(std::os::fd::AsRawFd::as_raw_fd(&f), octal(mode)) } != 0 {
        return last_err();
    }
    mode_of(path)
}

fn mode_of(path: &str) -> String {
    match fs::symlink_metadata(path) {
        Ok(m) => format!("ok {:04o}", m.mode() & 0o7777),
        Err(e) => err(&e),
    }
}

/// mkdir(PATH, MODE); `ok` shows the mode it got.
fn mkdir_mode(path: &str, mode: &str) -> String {
    let c = cpath(path);
    // SAFETY: `c` is a NUL-terminated path.
    if unsafe { libc::mkdir(c.as_ptr(), octal(mode)) } != 0 {
        return last_err();
    }
    mode_of(path)
}

/// open(PATH, O_CREAT|O_EXCL|O_WRONLY, MODE); `ok` shows the mode it got.
fn open_creat(path: &str, mode: &str) -> String {
    let c = cpath(path);
    let flags = libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_CLOEXEC;
    // SAFETY: `c` is a NUL-terminated path; the descriptor is closed at once.
    let fd = unsafe { libc::open(c.as_ptr(), flags, octal(mode) as libc::c_uint) };
    if fd < 0 {
        return last_err();
    }
    unsafe { libc::close(fd) };
    mode_of(path)
}

/// personality(N): `ok PREVIOUS` (hex).
fn personality(n: &str) -> String {
    // SAFETY: personality takes no pointers.
    let r = unsafe { libc::personality(parse_int(n) as libc::c_ulong) };
    if r < 0 { last_err() } else { format!("ok {r:#x}") }
}

/// sched_setscheduler(0, POLICY, prio) for this process, in a child (the probe keeps its
/// own policy): POLICY `FIFO` or `RR` (priority 1), `BATCH`, `IDLE` or `OTHER` (priority 0).
fn sched(policy: &str) -> String {
    let (policy, prio) = match policy {
        "FIFO" => (libc::SCHED_FIFO, 1),
        "RR" => (libc::SCHED_RR, 1),
        "BATCH" => (libc::SCHED_BATCH, 0),
        "IDLE" => (libc::SCHED_IDLE, 0),
        "OTHER" => (libc::SCHED_OTHER, 0),
        _ => usage_error(&format!("unknown scheduling policy {policy:?}")),
    };
    let param = libc::sched_param { sched_priority: prio };
    // SAFETY: `param` outlives the call.
    in_child(|| if unsafe { libc::sched_setscheduler(0, policy, &param) } == 0 { 0 } else { errno() })
}

/// clock_settime(CLOCK_REALTIME) with tv_nsec out of range: the kernel checks the value
/// before the caller's privilege and sets nothing (EINVAL); a filter answers before both.
fn clock_settime_invalid() -> String {
    let ts = libc::timespec { tv_sec: 0, tv_nsec: 1_000_000_000 };
    // SAFETY: `ts` outlives the call; the raw call skips any C-library check.
    let r = unsafe { libc::syscall(libc::SYS_clock_settime, libc::CLOCK_REALTIME, &ts as *const libc::timespec) };
    if r < 0 { last_err() } else { "ok".to_string() }
}

/// settimeofday with tv_usec out of range (EINVAL before the privilege check, as above).
fn settimeofday_invalid() -> String {
    let tv = libc::timeval { tv_sec: 0, tv_usec: 1_000_000 };
    // SAFETY: `tv` outlives the call; no time zone.
    let r = unsafe {
        libc::syscall(libc::SYS_settimeofday, &tv as *const libc::timeval, std::ptr::null::<libc::timezone>())
    };
    if r < 0 { last_err() } else { "ok".to_string() }
}

/// adjtimex with modes=0: a read-only query of the clock's state (`ok STATE`).
fn adjtimex_read() -> String {
    // SAFETY: a zeroed timex with modes 0 asks for nothing to change.
    let mut tx: libc::timex = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::adjtimex(&mut tx) };
    if r < 0 { last_err() } else { format!("ok {r}") }
}

/// syslog(TYPE, NULL, 0) (klogctl): `ok RET`. Type 10 asks for the buffer's size.
fn syslog(ty: &str) -> String {
    // SAFETY: no buffer for the actions that take none.
    errno_or(unsafe { libc::klogctl(parse_int(ty) as libc::c_int, std::ptr::null_mut(), 0) })
}

/// ioctl(FD, REQUEST, &'\n') through ABI `native` (REQUEST passed as all 64 bits) or `i386`
/// (`int 0x80`): `ok RET` or `err ENAME`.
fn ioctl_char(abi: &str, fd: i32, request: u64) -> Result<i64, i32> {
    let page = low_page();
    // SAFETY: the page is ours and writable.
    unsafe { *(page as *mut u8) = b'\n' };
    let ret = match abi {
        // SAFETY: the request's argument is a pointer to one byte in `page`.
        "native" => match unsafe { libc::syscall(libc::SYS_ioctl, fd, request, page) } {
            r if r < 0 => -i64::from(errno()),
            r => r,
        },
        "i386" => int80(54, [fd as u64, request, page as u64, 0, 0, 0]),
        _ => usage_error(&format!("unknown ABI {abi:?} (native or i386)")),
    };
    unsafe { libc::munmap(page, 4096) };
    if ret < 0 { Err(-ret as i32) } else { Ok(ret) }
}

fn ioctl(abi: &str, fd: &str, request: &str) -> String {
    match ioctl_char(abi, parse(fd), parse_int(request)) {
        Ok(r) => format!("ok {r}"),
        Err(e) => format!("err {}", errno_name(e)),
    }
}

/// A new pseudo-terminal made the controlling terminal of a child in a session of its own;
/// the child makes ioctl(slave, REQUEST, &'\n') through ABI. `ok queued=N` when the call
/// succeeded (N bytes wait in the slave's input, 1 after a TIOCSTI), `err ENAME` when it failed,
/// `err SIGNAME` when the child was killed, `err setup-ENAME` when the terminal could not be made.
fn pty_ioctl(abi: &str, request: &str) -> String {
    let request = parse_int(request);
    // SAFETY: posix_openpt returns a descriptor or -1; ptsname's result is copied at once.
    let master = unsafe { libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) };
    if master < 0 {
        return format!("err setup-{}", errno_name(errno()));
    }
    let slave = unsafe {
        if libc::grantpt(master) != 0 || libc::unlockpt(master) != 0 {
            let e = errno();
            libc::close(master);
            return format!("err setup-{}", errno_name(e));
        }
        let name = libc::ptsname(master);
        if name.is_null() {
            let e = errno();
            libc::close(master);
            return format!("err setup-{}", errno_name(e));
        }
        CStr::from_ptr(name).to_owned()
    };
    let line = pty_child(&slave, abi, request);
    unsafe { libc::close(master) };
    line
}

fn pty_child(slave: &CStr, abi: &str, request: u64) -> String {
    // SAFETY: in the child: raw calls on the slave it opens, then one line to report.
    child_line(|| unsafe {
        let fd = libc::open(slave.as_ptr(), libc::O_RDWR | libc::O_NOCTTY);
        if libc::setsid() < 0 || fd < 0 || libc::ioctl(fd, libc::TIOCSCTTY, 0) != 0 {
            format!("err setup-{}", errno_name(errno()))
        } else {
            match ioctl_char(abi, fd, request) {
                Ok(_) => {
                    let mut n: libc::c_int = 0;
                    libc::ioctl(fd, libc::FIONREAD, &mut n);
                    format!("ok queued={n}")
                }
                Err(e) => format!("err {}", errno_name(e)),
            }
        }
    })
}
