//! Namespaces: the pid namespace every sandbox has (the payload is pid 2 under sbx's init,
//! /proc shows only sandbox pids), the user namespace of rootless sandboxes, and the optional
//! ones: PrivateNetwork= (only `lo`, up; host TCP listeners and abstract unix sockets are
//! unreachable), PrivateIPC= (host System V objects invisible) and ProtectHostname=.
//!
//! The control for a namespace is the same run without the directive: the probe then reports
//! the host's namespace (compared with the probe run directly on the host) and reaches what the
//! treatment cannot.

#[macro_use]
mod common;

use std::net::TcpListener;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener};
use std::path::Path;

use common::*;

sbx_test!(pid_namespace_payload_is_pid_2, |ctx| {
    let out = ctx.probe(&[], &["pid", "ppid", "ls", "/proc", "ns", "pid"]);
    assert_eq!(out.ok(0), "2", "{out}");
    assert_eq!(out.ok(1), "1", "{out}");
    let pids: Vec<&str> = out.words(2).into_iter().filter(|w| w.bytes().all(|b| b.is_ascii_digit())).collect();
    assert_eq!(pids, ["1", "2"], "/proc must show only the sandbox's processes\n{out}");
    let host = ctx.direct(&["ns", "pid", "ls", "/proc"]);
    assert_ne!(out.line(3), host.line(0), "{out}");
    assert!(host.words(1).len() > 3, "the host's /proc shows more processes\n{host}");
});

sbx_test!(user_namespace_only_rootless, |ctx| {
    let out = ctx.probe(&[], &["ns", "user"]);
    let host = ctx.direct(&["ns", "user"]);
    if ctx.is_root() {
        assert_eq!(out.line(0), host.line(0), "as root sbx needs no user namespace\n{out}");
    } else {
        assert_ne!(out.line(0), host.line(0), "rootless sandboxes live in a user namespace\n{out}");
    }
});

sbx_test!(private_network_leaves_only_loopback, |ctx| {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a host listener");
    let tcp = listener.local_addr().unwrap().to_string();
    let name = ctx.unique("abstract");
    let abs = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let _unix = UnixListener::bind_addr(&abs).expect("bind a host abstract socket");
    let ops = ["ifaces", "tcp-connect", &tcp, "unix-connect-abstract", &name, "ns", "net"];
    let t = ctx.probe(&["PrivateNetwork=yes"], &ops);
    assert_eq!(t.ok(0), "lo:UP", "only lo, and it is up\n{t}");
    assert!(t.line(1).starts_with("err "), "the host's 127.0.0.1 must be unreachable\n{t}");
    assert!(t.line(2).starts_with("err "), "host abstract sockets must be unreachable\n{t}");
    let c = ctx.probe(&["PrivateNetwork=no"], &ops);
    let host = ctx.direct(&["ifaces", "ns", "net"]);
    assert_eq!(c.line(0), host.line(0), "{c}");
    c.ok(1);
    c.ok(2);
    assert_eq!(c.line(3), host.line(1), "{c}");
    assert_ne!(t.line(3), host.line(1), "{t}");
});

sbx_test!(private_ipc_hides_host_sysv_objects, |ctx| {
    let key = ctx.host_msg_queue().to_string();
    let ops = ["sysv-msgq", &key, "ns", "ipc"];
    let t = ctx.probe(&["PrivateIPC=yes"], &ops);
    assert_eq!(t.err(0), "ENOENT", "{t}");
    let c = ctx.probe(&["PrivateIPC=no"], &ops);
    c.ok(0);
    let host = ctx.direct(&["ns", "ipc"]);
    assert_eq!(c.line(1), host.line(0), "{c}");
    assert_ne!(t.line(1), host.line(0), "{t}");
});

sbx_test!(protect_hostname_gives_own_uts_namespace, |ctx| {
    let ops = ["ns", "uts", "hostname"];
    let host = ctx.direct(&ops);
    let t = ctx.probe(&["ProtectHostname=yes"], &ops);
    assert_ne!(t.line(0), host.line(0), "{t}");
    assert_eq!(t.line(1), host.line(1), "the sandbox starts with the host's name\n{t}");
    let c = ctx.probe(&["ProtectHostname=no"], &ops);
    assert_eq!(c.line(0), host.line(0), "{c}");

    if ctx.is_root() {
        // Only now that the namespace is known to be private is it safe to try renaming:
        // systemd's ProtectHostname= also refuses sethostname(2) with EPERM, even for root.
        let before = host_hostname();
        let name = format!("sbxt{}", std::process::id());
        let out = ctx.probe(&["ProtectHostname=yes"], &["sethostname", &name, "hostname"]);
        assert_eq!(out.err(0), "EPERM", "{out}");
        assert_eq!(out.ok(1), before, "{out}");
        assert_eq!(host_hostname(), before, "the host's hostname changed");
    }
});

sbx_test!(root: forbidden_user_namespaces_are_diagnosed, |ctx| {
    // A user namespace whose user.max_user_namespaces is 0 forbids nested ones: sbx (root in
    // it) asked for PrivateUsers= must name the sysctl and the fix, and start nothing.
    let sbx = sbx_path();
    let marker = ctx.path("started");
    let script = format!(
        "echo 0 > /proc/sys/user/max_user_namespaces && exec {} run --profile {} -p PrivateUsers=yes -- /bin/touch {marker}",
        sbx.display(),
        ctx.bare()
    );
    let out = std::process::Command::new("unshare").args(["-Ur", "sh", "-c", &script]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{stderr}");
    assert!(stderr.contains("user.max_user_namespaces is 0") && stderr.contains("fix: sysctl"), "{stderr}");
    assert!(!Path::new(&marker).exists());
    // Control: the same command without the limit runs.
    let script = format!("exec {} run --profile {} -p PrivateUsers=yes -- /bin/touch {marker}", sbx.display(), ctx.bare());
    let out = std::process::Command::new("unshare").args(["-Ur", "sh", "-c", &script]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(Path::new(&marker).exists());
});

sbx_test!(socket_bind_deny_keeps_tcp_binds_to_the_allowed_ports, |ctx| {
    // Two free high ports (rootless can bind them), both bound in the sandbox's own network.
    let free = || std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (allowed, other) = (free(), free());
    let ops = ["tcp-bind", &format!("127.0.0.1:{allowed}"), "tcp-bind", &format!("127.0.0.1:{other}")];
    let directives = ["PrivateNetwork=yes", "SocketBindDeny=tcp", &format!("SocketBindAllow=tcp:{allowed}")];
    let t = ctx.run_probe(&bare_args(&ctx.bare(), &directives), &ops);
    if landlock_abi() < 4 {
        // Before Linux 6.7 nothing can enforce it without cgroup BPF: sbx refuses, naming why.
        t.assert_code(125);
        assert!(t.stderr.contains("sbx: SocketBindDeny (") && t.stderr.contains("Landlock's TCP rules (ABI 4"), "{t}");
        assert!(t.stdout.is_empty(), "nothing ran\n{t}");
        return;
    }
    t.assert_code(0);
    t.ok(0);
    assert_eq!(t.err(1), "EACCES", "{t}");
    let c = ctx.probe(&["PrivateNetwork=yes"], &ops);
    c.ok(0);
    c.ok(1);
});
