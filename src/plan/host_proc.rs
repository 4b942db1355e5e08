//! The best-effort answer to a container whose masked /proc makes the kernel refuse a fresh
//! procfs in the sandbox's user namespace: the sandbox binds the /proc sbx runs under,
//! recursively, so the container's masks (locked overmounts) stay in place, and keeps every
//! namespace. What that costs is reported, never hidden.
//!
//! Invariant: used only with `--best-effort`; `ProcSubset=` is cleared before planning, since
//! the kernel protections below /proc are otherwise planned for a procfs that hides
//! /proc/sys and its siblings, and the bound one does not.

use crate::plan::no_namespaces::{Fate, Note};
use crate::settings::Settings;

/// What the bound /proc shows, for the line that is printed whatever the profile says.
pub const VIEW: &str = "the container's /proc is bound instead of a fresh one: it lists the container's processes (with their command lines and status) besides the sandbox's; the sandbox keeps its own pid namespace, so it cannot signal or ptrace them, and the container's masked paths stay masked";

/// The settings to plan with: the profile's, without `ProcSubset=`.
pub fn settings(s: &Settings) -> Settings {
    let mut s = s.clone();
    s.proc_subset = None;
    s
}

/// The directives the bound /proc cannot honour.
pub fn notes(s: &Settings) -> Vec<Note> {
    let mut notes = Vec::new();
    if let Some(p) = &s.protect_proc {
        notes.push(Note {
            directive: "ProtectProc",
            origin: Some(p.origin.clone()),
            fate: Fate::NotEnforced(
                "hidepid= is an option of a new procfs; the bound /proc keeps the container's".into(),
            ),
        });
    }
    if let Some(p) = &s.proc_subset {
        notes.push(Note {
            directive: "ProcSubset",
            origin: Some(p.origin.clone()),
            fate: Fate::Weakened(
                "the bound /proc shows everything the container's does; ProtectKernelTunables= and friends still cover what they name below it".into(),
            ),
        });
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::fake;
    use crate::plan::mounts::MountOp;
    use crate::plan::tests::settings as parse;
    use crate::plan::{Invocation, build};

    const PROFILE: &str = "ProtectProc=invisible\nProcSubset=pid\nProtectKernelTunables=yes";

    #[test]
    fn the_bound_proc_replaces_the_fresh_one() {
        let inv = |host_proc| Invocation { host_proc, ..Invocation::new(vec!["true".into()], "a") };
        let s = settings(&parse(PROFILE));
        let bound = build(&s, &fake::host(1000), &inv(true)).unwrap();
        let fresh = build(&s, &fake::host(1000), &inv(false)).unwrap();
        let is_proc = |op: &MountOp| matches!(op, MountOp::Proc { .. });
        let is_bind = |op: &MountOp| matches!(op, MountOp::Bind { source, target, recursive: true, nosuid_noexec: true, .. } if source == "/proc" && target == "/proc");
        assert!(!bound.mounts.iter().any(|m| is_proc(&m.op)) && bound.mounts.iter().any(|m| is_bind(&m.op)));
        assert!(fresh.mounts.iter().any(|m| is_proc(&m.op)) && !fresh.mounts.iter().any(|m| is_bind(&m.op)));
    }

    #[test]
    fn proc_subset_is_cleared_and_both_proc_directives_are_reported() {
        let s = parse(PROFILE);
        let n = notes(&s);
        assert_eq!(n.iter().map(|n| n.directive).collect::<Vec<_>>(), ["ProtectProc", "ProcSubset"]);
        assert!(matches!(n[0].fate, Fate::NotEnforced(_)));
        assert!(matches!(n[1].fate, Fate::Weakened(_)));
        assert!(settings(&s).proc_subset.is_none());
        assert!(notes(&parse("")).is_empty());
    }
}
