//! The shipped profiles as a user meets them: `default` (what `sbx run` applies without
//! --profile), `strict` (for untrusted tools) and `web` (a web server started as root).
//!
//! Each profile's promises are checked from inside, against a control run under the bare
//! profile (or, for `strict`, under `default`) that shows the same operations allowed.

#[macro_use]
mod common;

use std::path::Path;

use common::*;

sbx_test!(default_profile, |ctx| {
    let cwd_file = ctx.cwd().join("written").to_str().unwrap().to_string();
    let data = format!("{}/new", ctx.mkdir("data"));
    let tmp = Path::new("/tmp").join(ctx.unique("tmp"));
    ctx.remove_later(&tmp);
    let home_new = ctx.home().join(ctx.unique("home"));
    ctx.remove_later(&home_new);
    let ops = [
        "write",
        &cwd_file,
        "write",
        &data,
        "write",
        tmp.to_str().unwrap(),
        "write",
        home_new.to_str().unwrap(),
        "caps",
        "ls",
        "/dev",
    ];
    let t = ctx.run_probe(&[] as &[&str], &ops);
    t.assert_code(0);
    t.ok(0); // the working directory stays writable
    assert_eq!(t.err(1), "EROFS", "ProtectSystem=strict\n{t}");
    t.ok(2); // a private, writable /tmp
    assert!(!tmp.exists(), "PrivateTmp=yes: the write must not reach the host's /tmp");
    assert_eq!(t.err(3), "EROFS", "ProtectHome=read-only\n{t}");
    assert_eq!(t.field(4, "CapBnd"), "0000000000000000", "empty CapabilityBoundingSet=\n{t}");
    assert_eq!(t.field(4, "NoNewPrivs"), "1", "{t}");
    assert!(!t.words(5).contains(&"kmsg"), "PrivateDevices=yes\n{t}");

    let c = ctx.probe(&[], &ops);
    c.ok(1);
    c.ok(3);
    assert_eq!(c.field(4, "NoNewPrivs"), "0", "{c}");
    assert_ne!(c.field(4, "CapBnd"), "0000000000000000", "{c}");
    if Path::new("/dev/kmsg").exists() {
        assert!(c.words(5).contains(&"kmsg"), "{c}");
    }
});

sbx_test!(strict_profile, |ctx| {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp = listener.local_addr().unwrap().to_string();
    let ops = ["ifaces", "tcp-connect", &tcp, "ls", "/home", "caps", "ls", "/proc", "ns", "uts", "ns", "ipc"];
    let host = ctx.direct(&["ns", "uts", "ns", "ipc"]);
    let t = ctx.run_probe(&["--profile", "strict"], &ops);
    t.assert_code(0);
    // Listing interfaces takes a netlink socket, which RestrictAddressFamilies= refuses;
    // PrivateNetwork= itself shows in the refused connection to the host's listener.
    assert_eq!(t.err(0), "EAFNOSUPPORT", "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6\n{t}");
    assert!(t.line(1).starts_with("err "), "{t}");
    assert!(t.line(2) == "ok" || t.line(2).starts_with("err "), "ProtectHome=tmpfs\n{t}");
    assert_eq!(t.mask(3, "CapBnd"), 0, "{t}");
    assert_eq!(t.field(3, "NoNewPrivs"), "1", "{t}");
    for name in t.words(4) {
        let pid_or_self = name.bytes().all(|b| b.is_ascii_digit()) || name == "self" || name == "thread-self";
        assert!(pid_or_self, "ProcSubset=pid: /proc/{name}\n{t}");
    }
    assert_ne!(t.line(5), host.line(0), "ProtectHostname=yes\n{t}");
    assert_ne!(t.line(6), host.line(1), "PrivateIPC=yes\n{t}");

    let c = ctx.run_probe(&["--profile", "default"], &ops);
    c.assert_code(0);
    c.ok(1);
    assert!(c.words(4).contains(&"meminfo"), "{c}");
    assert_eq!(c.line(5), host.line(0), "{c}");
});

sbx_test!(root: web_profile, |ctx| {
    let Some((uid, _)) = user_ids("www-data") else {
        ctx.skip("there is no www-data user on this host");
        return;
    };
    let name = ctx.unique("web");
    let dirs = ctx.state_dirs(&name);
    ctx.remove_later(&dirs.runtime);
    ctx.remove_later(&dirs.logs);
    let etc = Path::new("/etc").join(ctx.unique("etc"));
    ctx.remove_later(&etc);
    let ops = ["ids", "caps", "write", etc.to_str().unwrap(), "env", "RUNTIME_DIRECTORY", "write", &format!("{}/f", dirs.logs.display())];
    let args = ["--profile", "web", "--name", &name];
    let t = ctx.run_probe(&args, &ops);
    t.assert_code(0);
    assert_eq!(t.field(0, "uid"), uid.to_string(), "User=www-data\n{t}");
    assert_eq!(t.mask(1, "CapEff"), cap(CAP_NET_BIND_SERVICE), "{t}");
    assert_eq!(t.field(1, "NoNewPrivs"), "1", "{t}");
    assert_eq!(t.err(2), "EROFS", "ProtectSystem=strict\n{t}");
    assert_eq!(t.ok(3), dirs.runtime.to_str().unwrap(), "RuntimeDirectory=%N\n{t}");
    t.ok(4); // LogsDirectory=%N
    assert!(!dirs.runtime.exists(), "the runtime directory is removed at exit");

    let c = ctx.probe(&[], &ops);
    c.ok(2);
    assert_eq!(c.field(0, "uid"), "0", "{c}");
});

// Issue 16: like systemd's hardened web units, the web profile lets its server create no
// namespace (a user namespace would hand it every capability over objects it then owns) and no
// socket outside AF_UNIX/AF_INET/AF_INET6 (netlink reaches the kernel's routing and audit
// interfaces). Root only: the profile is for a server started as root (User=www-data).
sbx_test!(root: issue_16_web_profile_allows_no_namespace_and_no_netlink, |ctx| {
    if user_ids("www-data").is_none() {
        ctx.skip("there is no www-data user on this host");
        return;
    }
    let ops = [
        "unshare", "USER", "unshare", "NET", "socket", "AF_NETLINK", "RAW", "socket", "AF_PACKET", "DGRAM",
        "socket", "AF_INET", "STREAM", "socket", "AF_UNIX", "STREAM",
    ];
    let run = |extra: &[&str]| {
        let name = ctx.unique("web");
        let dirs = ctx.state_dirs(&name);
        ctx.remove_later(&dirs.runtime);
        ctx.remove_later(&dirs.logs);
        let mut args = vec!["--profile", "web", "--name", &name];
        args.extend(extra);
        let out = ctx.run_probe(&args, &ops);
        out.assert_code(0);
        out
    };
    let t = run(&[]);
    assert_eq!(t.err(0), "EPERM", "a user namespace\n{t}");
    assert_eq!(t.err(1), "EPERM", "a network namespace\n{t}");
    assert_eq!(t.err(2), "EAFNOSUPPORT", "a netlink socket\n{t}");
    assert_eq!(t.err(3), "EAFNOSUPPORT", "a packet socket\n{t}");
    t.ok(4);
    t.ok(5);
    // Control: the same profile with the two directives reset.
    let c = run(&["-p", "RestrictNamespaces=no", "-p", "RestrictAddressFamilies="]);
    c.ok(0);
    c.ok(2);
});
