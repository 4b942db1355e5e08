//! `sbx run`: profile → Settings → Plan → (print | launch).

use crate::cli::RunArgs;
use crate::cmd::{common, report};
use crate::error::Error;
use crate::host::HostFacts;
use crate::launch;
use crate::launch::pty::Pty;
use crate::plan::{self, Invocation, Plan};

pub fn run(args: RunArgs) -> Result<i32, Error> {
    let host = HostFacts::probe();
    let name = args.name.clone().unwrap_or_else(|| basename(&args.command[0]));
    let profiles = common::profiles_or_default(&args.profile.profiles);
    let resolved = common::resolve(&profiles, &args.profile.set, &name, &host)?;
    let pty = if args.pty { Some(Pty::open()?) } else { None };
    let inv = Invocation {
        argv: args.command.clone(),
        name,
        pty: pty.as_ref().map(|p| p.slave_path().to_string()),
        log_refused: args.log_refused,
    };
    let plan = plan::build(&resolved.settings, &host, &inv)?;
    if args.dry_run {
        if args.json {
            let json = serde_json::to_string_pretty(&plan)
                .map_err(|e| Error::Launch(format!("cannot print the plan: {e}")))?;
            println!("{json}");
        } else {
            print!("{}", render(&plan));
        }
        return Ok(0);
    }
    match launch::run(&plan, pty) {
        Err(Error::Namespaces(why)) if args.best_effort => best_effort(&resolved, &host, &inv, &why),
        other => other,
    }
}

/// No namespace can be created here: run with what needs none, and say what that means for
/// every directive of the profile.
fn best_effort(resolved: &common::Resolved, host: &HostFacts, inv: &Invocation, why: &str) -> Result<i32, Error> {
    let (plan, notes) = plan::no_namespaces::build(&resolved.settings, host, inv)?;
    for line in why.lines().filter(|l| !l.starts_with("or: ")) {
        eprintln!("sbx: {line}");
    }
    eprintln!("sbx: --best-effort: running without namespaces; for each directive of the profile:");
    for line in report::lines(&resolved.loaded.assignments, &notes) {
        eprintln!("sbx:   {line}");
    }
    let pty = if inv.pty.is_some() { Some(Pty::open()?) } else { None };
    launch::run(&plan, pty)
}

fn basename(cmd: &str) -> String {
    let b = cmd.rsplit('/').next().unwrap_or(cmd);
    if b.is_empty() { "sbx".into() } else { b.to_string() }
}

/// The plan as text, grouped by mechanism, one mount per line with its cause.
pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    let n = &plan.namespaces;
    let ns: Vec<&str> = [
        (n.user, "user"),
        (n.mount, "mount"),
        (n.pid, "pid"),
        (n.net, "net"),
        (n.ipc, "ipc"),
        (n.uts, "uts"),
        (n.cgroup, "cgroup"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, name)| *name)
    .collect();
    line(format!("name: {}", plan.name));
    line(format!("mode: {:?}", plan.mode).to_lowercase());
    line(format!("namespaces: {}", ns.join(" ")));
    if let Some(m) = &plan.id_map {
        line(format!("uid_map: {}", m.uid_map.trim().replace('\n', ", ")));
        line(format!(
            "gid_map: {}{}",
            m.gid_map.trim().replace('\n', ", "),
            if m.deny_setgroups { " (setgroups denied)" } else { "" }
        ));
    }
    let id = &plan.identity;
    let groups = id.groups.as_ref().map_or("unchanged".to_string(), |g| format!("{g:?}"));
    line(format!(
        "identity: {} uid={} gid={} groups={groups}{}",
        id.user_name,
        id.uid,
        id.gid,
        if id.switch { " (switched)" } else { " (mapped)" }
    ));
    line("mounts:".into());
    for (i, m) in plan.mounts.iter().enumerate() {
        line(format!("  {:3}. {}    [{}]", i + 1, launch::report::describe_op(&m.op), m.cause));
    }
    if plan.loopback_up {
        line("network: lo up, nothing else".into());
    }
    let c = &plan.caps;
    line(format!(
        "capability bounding set: {}",
        if c.bounding.is_empty() { "(empty)".into() } else { c.bounding.join(" ") }
    ));
    line(format!("ambient capabilities: {}", if c.ambient.is_empty() { "(none)".into() } else { c.ambient.join(" ") }));
    line(format!("no_new_privs: {}", if c.no_new_privs { "yes" } else { "no" }));
    for d in &plan.state_dirs {
        line(format!(
            "state directory: {} mode {:04o}{}",
            d.path,
            d.mode,
            if d.remove_at_exit { " (removed at exit)" } else { "" }
        ));
    }
    let e = &plan.exec;
    for r in &e.rlimits {
        let v = |x: Option<u64>| x.map_or("infinity".to_string(), |v| v.to_string());
        line(format!("rlimit: {}={}:{}", r.name, v(r.soft), v(r.hard)));
    }
    line(format!("umask: {:04o}", e.umask));
    if let Some(nice) = e.nice {
        line(format!("nice: {nice}"));
    }
    line(format!("working directory: {}", e.cwd));
    line("environment:".into());
    for v in &e.env {
        line(format!("  {v}"));
    }
    line(format!("argv: {:?}", e.argv));
    line(format!("executable: {}", e.candidates.join(" | ")));
    out
}
