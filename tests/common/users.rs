//! Who runs sbx in each variant: root, the test user the harness drops to with setpriv, or
//! the unprivileged user running the tests; and whether that user can create a user namespace.

use std::ffi::{CStr, CString, OsStr};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::{DEFAULT_USER, PATH};

/// The account sbx runs as in a variant.
#[derive(Clone, Debug)]
pub struct Caller {
    pub uid: u32,
    pub gid: u32,
    pub name: String,
    pub home: PathBuf,
    /// $XDG_RUNTIME_DIR for an unprivileged caller.
    pub runtime_dir: Option<PathBuf>,
    /// Whether the harness drops from root to this user with setpriv.
    pub drop_privileges: bool,
}

struct Passwd {
    name: String,
    uid: u32,
    gid: u32,
    home: PathBuf,
}

fn getpw(name: Option<&str>, uid: u32) -> Option<Passwd> {
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0u8; 16384];
    let mut out: *mut libc::passwd = std::ptr::null_mut();
    let cname = name.map(|n| CString::new(n).expect("user name without NUL"));
    // SAFETY: the *_r variants write only into `pw` and `buf`, whose sizes are given.
    let rc = unsafe {
        match &cname {
            Some(c) => libc::getpwnam_r(c.as_ptr(), &mut pw, buf.as_mut_ptr().cast(), buf.len(), &mut out),
            None => libc::getpwuid_r(uid, &mut pw, buf.as_mut_ptr().cast(), buf.len(), &mut out),
        }
    };
    if rc != 0 || out.is_null() {
        return None;
    }
    // SAFETY: on success the strings point into `buf`, which is still alive.
    let (n, d) = unsafe { (CStr::from_ptr(pw.pw_name), CStr::from_ptr(pw.pw_dir)) };
    Some(Passwd {
        name: n.to_string_lossy().into_owned(),
        uid: pw.pw_uid,
        gid: pw.pw_gid,
        home: PathBuf::from(OsStr::from_bytes(d.to_bytes())),
    })
}

/// Looks up a user's uid and gid by name (e.g. `www-data`).
pub fn user_ids(name: &str) -> Option<(u32, u32)> {
    getpw(Some(name), 0).map(|p| (p.uid, p.gid))
}

pub(super) fn root_caller() -> Caller {
    let home = getpw(None, 0).map_or_else(|| PathBuf::from("/root"), |p| p.home);
    Caller { uid: 0, gid: 0, name: "root".into(), home, runtime_dir: None, drop_privileges: false }
}

/// The unprivileged user the rootless variant drops to when the tests run as root.
pub(super) fn test_user() -> Result<Caller, String> {
    static USER: OnceLock<Result<Caller, String>> = OnceLock::new();
    USER.get_or_init(|| {
        let name = std::env::var("SBX_TEST_USER").unwrap_or_else(|_| DEFAULT_USER.to_string());
        let pw = getpw(Some(&name), 0).ok_or_else(|| {
            format!("no user {name:?} to run rootless sandboxes as (create it as .ci/run does, or set SBX_TEST_USER)")
        })?;
        if pw.uid == 0 {
            return Err(format!("SBX_TEST_USER={name} is root"));
        }
        if which("setpriv").is_none() {
            return Err("setpriv (util-linux) is not installed".into());
        }
        let runtime = PathBuf::from(format!("/run/user/{}", pw.uid));
        if !runtime.is_dir() {
            fs::create_dir_all("/run/user").map_err(|e| format!("mkdir /run/user: {e}"))?;
            fs::create_dir(&runtime).map_err(|e| format!("mkdir {}: {e}", runtime.display()))?;
            std::os::unix::fs::chown(&runtime, Some(pw.uid), Some(pw.gid))
                .map_err(|e| format!("chown {}: {e}", runtime.display()))?;
            fs::set_permissions(&runtime, fs::Permissions::from_mode(0o700))
                .map_err(|e| format!("chmod {}: {e}", runtime.display()))?;
        }
        if !pw.home.is_dir() {
            return Err(format!("home directory {} of {name} does not exist", pw.home.display()));
        }
        Ok(Caller {
            uid: pw.uid,
            gid: pw.gid,
            name: pw.name,
            home: pw.home,
            runtime_dir: Some(runtime),
            drop_privileges: true,
        })
    })
    .clone()
}

/// The current unprivileged user, when the tests do not run as root.
pub(super) fn current_user() -> Caller {
    // SAFETY: these getters cannot fail.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    let pw = getpw(None, uid);
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .or_else(|| pw.as_ref().map(|p| p.home.clone()))
        .unwrap_or_else(|| PathBuf::from("/"));
    let runtime = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .or_else(|| Some(PathBuf::from(format!("/run/user/{uid}"))).filter(|p| p.is_dir()));
    Caller {
        uid,
        gid,
        name: pw.map_or_else(|| uid.to_string(), |p| p.name),
        home,
        runtime_dir: runtime,
        drop_privileges: false,
    }
}

/// Whether `caller` can create a user namespace: forks, drops to the caller's ids, unshares.
pub(super) fn userns_available(caller: &Caller) -> Result<(), String> {
    static RESULT: OnceLock<Result<(), String>> = OnceLock::new();
    RESULT
        .get_or_init(|| {
            let (uid, gid, drop) = (caller.uid, caller.gid, caller.drop_privileges);
            // SAFETY: the child makes only async-signal-safe system calls and _exits.
            let pid = unsafe { libc::fork() };
            if pid < 0 {
                return Err(format!("fork: {}", std::io::Error::last_os_error()));
            }
            if pid == 0 {
                unsafe {
                    if drop
                        && (libc::setgroups(0, std::ptr::null()) != 0
                            || libc::setresgid(gid, gid, gid) != 0
                            || libc::setresuid(uid, uid, uid) != 0)
                    {
                        libc::_exit(2);
                    }
                    let ok = libc::unshare(libc::CLONE_NEWUSER) == 0;
                    libc::_exit(if ok { 0 } else { 1 });
                }
            }
            let mut status = 0;
            // SAFETY: waits for the child forked above.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            match libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)) {
                Some(0) => Ok(()),
                Some(2) => Err("cannot switch to the test user's ids".into()),
                _ => Err(format!(
                    "unprivileged user namespaces are unavailable here (user.max_user_namespaces={})",
                    fs::read_to_string("/proc/sys/user/max_user_namespaces").unwrap_or_default().trim()
                )),
            }
        })
        .clone()
}

pub(super) fn which(program: &str) -> Option<PathBuf> {
    PATH.split(':').map(|d| Path::new(d).join(program)).find(|p| p.is_file())
}
