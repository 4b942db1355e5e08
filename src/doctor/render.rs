//! The report as text for a person: one line per finding (status, title, summary), its
//! details and fixes indented below it, then the verdict that matches the exit code.
//!
//! Invariant: says exactly what `--json` says, in the same order; adds no finding.

use super::{Finding, Impact, Report, Status};

const INDENT: &str = "         ";

pub fn text(r: &Report) -> String {
    let mut out = format!("sbx doctor: Linux {} on {}, uid {} ({} mode)\n\n", r.kernel, r.arch, r.euid, r.mode);
    for f in &r.findings {
        finding(&mut out, f);
    }
    out.push('\n');
    out.push_str(&verdict(r));
    out
}

fn finding(out: &mut String, f: &Finding) {
    out.push_str(&format!("{:<8} {}: {}\n", f.status.label(), f.title, f.summary));
    for d in &f.details {
        out.push_str(&format!("{INDENT}{d}\n"));
    }
    for fix in &f.fixes {
        let text = fix.to_string();
        let mut lines = text.lines();
        out.push_str(&format!("{INDENT}fix: {}\n", lines.next().unwrap_or("")));
        for l in lines {
            out.push_str(&format!("{INDENT}     {l}\n"));
        }
    }
    if let (true, Impact::Directives(names)) = (f.status != Status::Ok && !f.degrades, &f.impact) {
        if f.enforced_directives().is_empty() {
            out.push_str(&format!("{INDENT}not counted: sbx does not enforce {} yet\n", some(names)));
        }
    }
}

/// "A=, B=, C= and 4 more".
fn some(names: &[&str]) -> String {
    let shown: Vec<String> = names.iter().take(3).map(|n| format!("{n}=")).collect();
    match names.len() {
        n if n > 3 => format!("{} and {} more", shown.join(", "), n - 3),
        _ => shown.join(", "),
    }
}

fn verdict(r: &Report) -> String {
    if r.full_isolation {
        return "verdict: full isolation is possible here (exit 0)\n".into();
    }
    let mut s = format!("verdict: degraded (exit {}): some protections cannot be enforced here\n", r.exit_code);
    for f in r.findings.iter().filter(|f| f.degrades) {
        let what = match &f.impact {
            Impact::EverySandbox => "every sandbox".to_string(),
            _ => some(&f.enforced_directives()),
        };
        s.push_str(&format!("  {}: {what}\n", f.title));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::{Fix, degrades, enforced};

    fn report(findings: Vec<Finding>) -> Report {
        let mut findings = findings;
        for f in &mut findings {
            f.degrades = degrades(f, enforced);
        }
        let full = !findings.iter().any(|f| f.degrades);
        Report {
            kernel: "6.18.44".into(),
            arch: "x86_64".into(),
            uid: 1000,
            euid: 1000,
            mode: "rootless",
            findings,
            full_isolation: full,
            exit_code: if full { 0 } else { 1 },
        }
    }

    #[test]
    fn lists_details_fixes_and_the_verdict() {
        let r = report(vec![
            Finding::new("userns", "user namespaces", Status::Missing, "unshare fails")
                .detail("cause: user.max_user_namespaces is 0")
                .fixes([Fix::sysctl("user.max_user_namespaces", "15000")])
                .impact(Impact::EverySandbox),
            Finding::new("bpf", "cgroup BPF", Status::Missing, "none").impact(Impact::Directives(vec![
                "IPAddressAllow",
                "IPAddressDeny",
                "DeviceAllow",
                "DevicePolicy",
            ])),
            Finding::new("x", "apparmor", Status::Ok, "fine").fixes([Fix::File {
                path: "/etc/apparmor.d/sbx".into(),
                content: "abi <abi/4.0>,\nprofile sbx {\n}\n".into(),
            }]),
        ]);
        let t = text(&r);
        assert!(t.starts_with("sbx doctor: Linux 6.18.44 on x86_64, uid 1000 (rootless mode)\n\n"), "{t}");
        assert!(t.contains("missing  user namespaces: unshare fails\n         cause: user.max_user_namespaces is 0\n         fix: sysctl -w user.max_user_namespaces=15000"), "{t}");
        assert!(
            t.contains(
                "not counted: sbx does not enforce IPAddressAllow=, IPAddressDeny=, DeviceAllow= and 1 more yet"
            ),
            "{t}"
        );
        assert!(
            t.contains("fix: write /etc/apparmor.d/sbx:\n              abi <abi/4.0>,\n              profile sbx {\n"),
            "{t}"
        );
        assert!(t.ends_with("verdict: degraded (exit 1): some protections cannot be enforced here\n  user namespaces: every sandbox\n"), "{t}");
    }

    #[test]
    fn full_isolation() {
        let r = report(vec![Finding::new("k", "kernel", Status::Ok, "fine").impact(Impact::EverySandbox)]);
        assert!(text(&r).ends_with("\nverdict: full isolation is possible here (exit 0)\n"));
    }
}
