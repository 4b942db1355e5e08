//! The seed scenario, as root: lighttpd (the Debian package) under
//! `sbx run --profile web -p PrivateNetwork=no -- lighttpd -D -f CONF` serves a page on
//! 127.0.0.1:80, runs as www-data with only CAP_NET_BIND_SERVICE, writes its pid file in
//! /run/lighttpd and its log in /var/log/lighttpd (RuntimeDirectory=%N, LogsDirectory=%N),
//! cannot write /etc, stops on SIGTERM and leaves no /run/lighttpd behind.

#[macro_use]
mod common;

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use common::*;

const LIGHTTPD: &str = "/usr/sbin/lighttpd";

/// `GET /` over HTTP/1.0 on 127.0.0.1:80; the whole response, or None if nothing answers.
fn http_get() -> Option<String> {
    let addr: SocketAddr = "127.0.0.1:80".parse().unwrap();
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut response = String::new();
    s.read_to_string(&mut response).ok()?;
    Some(response)
}

fn lighttpd_running() -> bool {
    host_ls("/proc").iter().any(|p| fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == "lighttpd"))
}

sbx_test!(root: lighttpd_under_the_web_profile, |ctx| {
    if !Path::new(LIGHTTPD).is_file() {
        ctx.skip("lighttpd is not installed (apt-get install lighttpd)");
        return;
    }
    let Some((www_uid, www_gid)) = user_ids("www-data") else {
        ctx.skip("there is no www-data user on this host");
        return;
    };
    assert!(http_get().is_none(), "something already serves 127.0.0.1:80; stop it first");
    let run_dir = Path::new("/run/lighttpd");
    if run_dir.exists() && !lighttpd_running() {
        fs::remove_dir_all(run_dir).unwrap(); // left by the package or an earlier failed run
    }
    let log = Path::new("/var/log/lighttpd/error.log");
    let log_before = fs::metadata(log).map(|m| m.len()).unwrap_or(0);

    let token = ctx.unique("page");
    let www = ctx.mkdir("www");
    ctx.write("www/index.html", &format!("<html><body>{token}</body></html>\n"));
    let conf = ctx.write(
        "lighttpd.conf",
        &format!(
            "server.document-root = \"{www}\"\n\
             server.bind = \"127.0.0.1\"\n\
             server.port = 80\n\
             server.pid-file = \"/run/lighttpd/lighttpd.pid\"\n\
             server.errorlog = \"/var/log/lighttpd/error.log\"\n\
             index-file.names = ( \"index.html\" )\n\
             mimetype.assign = ( \".html\" => \"text/html\" )\n"
        ),
    );

    let mut sbx = ctx.spawn(&[
        "run", "--profile", "web", "-p", "PrivateNetwork=no", "--", "lighttpd", "-D", "-f", &conf,
    ]);
    let mut page = None;
    let served = wait_until(WAIT, || {
        page = http_get();
        page.is_some() || sbx.has_exited()
    });
    let page = page.unwrap_or_else(|| panic!("no answer on :80 (served={served})\n{}", sbx.snapshot()));
    assert!(page.starts_with("HTTP/1.0 200"), "{page}");
    assert!(page.contains(&token), "{page}");

    let servers: Vec<i32> = descendants(sbx.pid())
        .into_iter()
        .filter(|p| fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == "lighttpd"))
        .collect();
    assert_eq!(servers.len(), 1, "one lighttpd under sbx: {servers:?}");
    let server = servers[0];
    let ids = |key| proc_status(server, key).unwrap_or_default();
    for (key, want) in [("Uid", www_uid), ("Gid", www_gid)] {
        let line = ids(key);
        assert!(line.split_whitespace().all(|id| id == want.to_string()), "{key}: {line}");
    }
    assert_eq!(ids("CapEff"), format!("{:016x}", cap(CAP_NET_BIND_SERVICE)), "only CAP_NET_BIND_SERVICE");
    assert_eq!(ids("NoNewPrivs"), "1");

    let pid_file = fs::read_to_string(run_dir.join("lighttpd.pid")).expect("the pid file in /run/lighttpd");
    assert!(pid_file.trim().parse::<u32>().is_ok(), "pid file: {pid_file:?}");
    let log_text = fs::read_to_string(log).expect("the error log in /var/log/lighttpd");
    assert!(log_text.len() as u64 > log_before, "lighttpd logged its start to {}", log.display());

    // The same profile forbids writing /etc; the control shows the refusal is the profile's.
    let etc = Path::new("/etc").join(ctx.unique("etc"));
    ctx.remove_later(&etc);
    let name = ctx.unique("web-probe");
    let dirs = ctx.state_dirs(&name);
    ctx.remove_later(&dirs.runtime);
    ctx.remove_later(&dirs.logs);
    let ops = ["write", etc.to_str().unwrap()];
    let t = ctx.run_probe(&["--profile", "web", "--name", &name], &ops);
    t.assert_code(0);
    assert_eq!(t.err(0), "EROFS", "{t}");
    let c = ctx.run_probe(&["--profile", "web", "--name", &name, "-p", "ProtectSystem=no"], &ops);
    c.assert_code(0);
    assert_ne!(c.line(0), "err EROFS", "{c}");

    sbx.signal(libc::SIGTERM);
    let out = sbx.wait(WAIT);
    out.assert_code(0);
    assert!(!run_dir.exists(), "/run/lighttpd must be removed when the run ends");
    assert!(!Path::new(&format!("/proc/{server}")).exists(), "lighttpd outlived sbx");
    assert!(http_get().is_none(), "port 80 still answers");
});
