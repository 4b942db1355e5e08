//! The enforcement report of a best-effort run: for every directive the profile sets,
//! enforced (and by what), weakened, or not enforced.
//!
//! Invariant: one line per directive key, in the order the profile first sets it; a key
//! without a note from the tier is enforced by the mechanism of its table row.

use crate::plan::no_namespaces::{Fate, Note};
use crate::profile::Assignment;
use crate::profile::directives::{self, Stage, Status};

/// Which sandbox the report describes: it decides what enforces a directive without a note.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    /// No namespace at all (plan::no_namespaces).
    NoNamespaces,
    /// Every namespace (perhaps with the container's /proc bound in, plan::host_proc).
    Namespaces,
}

pub fn lines(assignments: &[Assignment], notes: &[Note], tier: Tier) -> Vec<String> {
    let mut keys: Vec<&str> = Vec::new();
    for a in assignments {
        let supported =
            directives::find(&a.key).is_some_and(|d| d.status == Status::Supported && d.stage != Stage::Meta);
        if supported && !a.value.is_empty() && !keys.contains(&a.key.as_str()) {
            keys.push(&a.key);
        }
    }
    keys.iter()
        .map(|key| {
            let fate = notes.iter().find(|n| n.directive == *key).map(|n| &n.fate);
            let what = match fate {
                Some(Fate::Substituted(how)) => format!("enforced: {how}"),
                Some(Fate::Weakened(why)) => format!("weakened: {why}"),
                Some(Fate::NotEnforced(why)) => format!("NOT enforced: {why}"),
                None => format!("enforced ({})", mechanism(key, tier)),
            };
            format!("{key}=: {what}")
        })
        .collect()
}

/// One note as a report line: `MemoryMax=: weakened: ...`.
pub fn note_line(n: &Note) -> String {
    match &n.fate {
        Fate::Substituted(how) => format!("{}=: enforced: {how}", n.directive),
        Fate::Weakened(why) => format!("{}=: weakened: {why}", n.directive),
        Fate::NotEnforced(why) => format!("{}=: NOT enforced: {why}", n.directive),
    }
}

fn mechanism(key: &str, tier: Tier) -> &'static str {
    let stage = directives::find(key).map(|d| d.stage);
    if tier == Tier::Namespaces {
        match stage {
            Some(Stage::Mounts) => return "mounts",
            Some(Stage::Namespaces) => return "namespaces",
            Some(Stage::StateDirs) => return "created on the host, bound into the sandbox",
            _ => {}
        }
    }
    match stage {
        Some(Stage::Mounts) => "Landlock",
        Some(Stage::StateDirs) => "created on the host, writable through Landlock",
        Some(Stage::Seccomp) => "seccomp",
        Some(Stage::Caps) => "capabilities and no_new_privs",
        Some(Stage::Ids) => "id switch",
        Some(Stage::Rlimits) => "rlimits",
        _ => "process attributes",
    }
}
