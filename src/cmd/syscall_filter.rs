//! `sbx syscall-filter [@GROUP...]`: systemd's syscall groups and their members, printed the
//! way `systemd-analyze syscall-filter` prints them.
//!
//! Each group is its name, a `# description` line and its members as listed (nested @groups
//! as written, then names, sorted byte-wise), with a blank line between groups. Without
//! arguments every group is printed, then the names only @known has, then the names of the
//! native table that no group lists (systemd's "unlisted" section reads the running kernel;
//! sbx reads its own table). Unknown groups are refused before anything is printed.

use std::collections::BTreeSet;

use crate::cli::SyscallFilterArgs;
use crate::error::Error;
use crate::plan::syscalls::{self, Arch, Group};

pub fn syscall_filter(args: SyscallFilterArgs) -> Result<i32, Error> {
    print!("{}", render(&args.groups)?);
    Ok(0)
}

/// The listing of the named groups, or of all of them when `names` is empty.
pub fn render(names: &[String]) -> Result<String, Error> {
    let selected: Vec<&Group> = if names.is_empty() {
        syscalls::groups().iter().collect()
    } else {
        names.iter().map(|n| syscalls::group(n).ok_or_else(|| unknown(n))).collect::<Result<_, _>>()?
    };
    let mut out = String::new();
    for (i, g) in selected.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!("{}\n    # {}\n", g.name(), g.description()));
        for entry in g.entries() {
            out.push_str(&format!("    {entry}\n"));
        }
    }
    if names.is_empty() {
        let grouped = grouped_names();
        let known = syscalls::expand("@known").unwrap_or_default();
        let ungrouped: Vec<&str> = known.difference(&grouped).copied().collect();
        out.push_str(&section(
            "Ungrouped System Calls (known but not included in any of the groups except @known)",
            &ungrouped,
        ));
        if let Some(arch) = Arch::native() {
            let unlisted: Vec<&str> =
                syscalls::all(arch).map(|e| e.1).filter(|n| !grouped.contains(n) && !known.contains(n)).collect();
            let title = format!(
                "Unlisted System Calls (in sbx's {} table, but not included in any of the groups listed above)",
                arch.name()
            );
            out.push_str(&section(&title, &unlisted));
        }
    }
    Ok(out)
}

/// Every name some group other than @known stands for.
fn grouped_names() -> BTreeSet<&'static str> {
    syscalls::groups()
        .iter()
        .filter(|g| g.name() != "@known")
        .flat_map(|g| syscalls::expand(g.name()).unwrap_or_default())
        .collect()
}

/// A commented list after the groups, as systemd-analyze prints its trailing sections.
fn section(title: &str, names: &[&str]) -> String {
    if names.is_empty() {
        return String::new();
    }
    let mut sorted = names.to_vec();
    sorted.sort_unstable();
    let mut out = format!("\n# {title}:\n");
    for name in sorted {
        out.push_str(&format!("#   {name}\n"));
    }
    out
}

fn unknown(name: &str) -> Error {
    let hint = match syscalls::group(&format!("@{name}")) {
        Some(g) => format!(" (did you mean {}?)", g.name()),
        None => String::new(),
    };
    let valid: Vec<&str> = syscalls::groups().iter().map(|g| g.name()).collect();
    Error::Usage(format!("syscall-filter: unknown group {name:?}{hint}; the groups are {}", valid.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::syscalls::testing::systemd_analyze_252;

    fn strings(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn syscalls_render_default() {
        let out = render(&strings(&["@default"])).unwrap_or_default();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "@default");
        assert!(lines[1].starts_with("    # ") && lines[1].len() > 10, "{:?}", lines[1]);
        let members: Vec<&str> = lines[2..].iter().map(|l| l.strip_prefix("    ").unwrap_or("!")).collect();
        assert!(members.iter().all(|m| !m.is_empty() && !m.contains(' ') && !m.starts_with('#')), "{members:?}");
        let mut sorted = members.clone();
        sorted.sort_unstable();
        assert_eq!(members, sorted, "members sorted as systemd prints them");
        for name in ["execve", "exit_group", "rt_sigreturn", "getpid", "clock_gettime"] {
            assert!(members.contains(&name), "{name}");
        }
        assert!(out.ends_with("    uretprobe\n"), "no trailing blank line: {out:?}");
    }

    #[test]
    fn syscalls_render_keeps_references_first_and_separates_groups() {
        let out = render(&strings(&["@swap", "@system-service"])).unwrap_or_default();
        assert!(out.starts_with("@swap\n    # "));
        assert!(out.contains("    swapon\n\n@system-service\n    # "), "{out}");
        let members: Vec<&str> = out.split("@system-service\n").nth(1).unwrap_or("").lines().skip(1).collect();
        assert_eq!(members.first(), Some(&"    @aio"));
        let last_ref = members.iter().rposition(|m| m.starts_with("    @")).unwrap_or(0);
        let first_name = members.iter().position(|m| !m.starts_with("    @")).unwrap_or(0);
        assert_eq!(last_ref + 1, first_name, "references, then names");
    }

    #[test]
    fn syscalls_render_all_has_every_group_and_trailing_sections() {
        let out = render(&[]).unwrap_or_default();
        for g in syscalls::groups() {
            assert!(out.contains(&format!("\n{}\n    # ", g.name())) || out.starts_with(&format!("{}\n", g.name())));
        }
        assert!(
            out.contains(
                "\n# Ungrouped System Calls (known but not included in any of the groups except @known):\n#   "
            )
        );
        assert!(out.contains("#   arc_gettls\n"), "an arc-only call is ungrouped");
    }

    #[test]
    fn syscalls_render_unknown_group_is_a_usage_error() {
        for (arg, hint) in [("@nonexistent", false), ("aio", true)] {
            match render(&strings(&["@aio", arg])) {
                Err(e @ Error::Usage(_)) => {
                    let message = e.to_string();
                    assert_eq!(e.exit_code(), 125);
                    assert!(message.contains(&format!("{arg:?}")), "{message}");
                    assert!(message.contains("@system-service") && message.contains("@known"), "{message}");
                    assert_eq!(message.contains("did you mean @aio?"), hint, "{message}");
                }
                other => panic!("{arg}: {other:?}"),
            }
        }
    }

    /// Our listing of systemd 252's groups is systemd-analyze's, except the descriptions.
    #[test]
    fn syscalls_render_matches_systemd_analyze() {
        let without_descriptions =
            |s: &str| s.lines().filter(|l| !l.starts_with("    # ")).collect::<Vec<_>>().join("\n");
        let names: Vec<String> =
            syscalls::groups().iter().map(|g| g.name().to_string()).filter(|n| n != "@sandbox").collect();
        let mut args = vec!["syscall-filter", "--no-pager"];
        args.extend(names.iter().map(String::as_str));
        let Some(theirs) = systemd_analyze_252(&args) else { return };
        let ours = render(&names).unwrap_or_default();
        assert_eq!(without_descriptions(&ours), without_descriptions(&theirs));

        // And the ungrouped section of the full listing, less what @sandbox (systemd 253) took.
        // The section ends at the next heading: systemd's "Unlisted" one lists what the
        // running kernel's symbols name, which differs from host to host.
        let Some(theirs) = systemd_analyze_252(&["syscall-filter", "--no-pager"]) else { return };
        let ungrouped = |s: &str| -> Vec<String> {
            s.split("# Ungrouped System Calls")
                .nth(1)
                .unwrap_or("")
                .lines()
                .skip(1)
                .map_while(|l| l.strip_prefix("#   "))
                .map(String::from)
                .collect()
        };
        let all = render(&[]).unwrap_or_default();
        let ours = all.split("# Unlisted").next().unwrap_or("");
        let sandbox = syscalls::expand("@sandbox").unwrap_or_default();
        let theirs: Vec<String> = ungrouped(&theirs).into_iter().filter(|n| !sandbox.contains(n.as_str())).collect();
        assert!(theirs.len() > 50, "{theirs:?}");
        assert_eq!(ungrouped(ours), theirs);
    }
}
