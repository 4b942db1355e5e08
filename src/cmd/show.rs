//! `sbx show`: the merged profile in unit-file syntax, each line with its origin.
//!
//! Merging is systemd's: a scalar keeps its last assignment, a list what came after its last
//! empty assignment; a key whose last word is an empty assignment is shown as reset.

use crate::cli::ShowArgs;
use crate::cmd::common;
use crate::error::Error;
use crate::host::HostFacts;
use crate::profile::directives::{self, Kind, Merge};
use crate::profile::{Assignment, Section};

pub fn show(args: ShowArgs) -> Result<i32, Error> {
    let host = HostFacts::probe();
    let resolved = common::resolve(&args.profiles, &args.set, "show", &host)?;
    print!("{}", render(&resolved.loaded.assignments, &resolved.loaded.sources));
    Ok(0)
}

pub fn render(assignments: &[Assignment], sources: &[String]) -> String {
    let mut out = format!("# merged from: {}\n", sources.join(", "));
    for section in [Section::Unit, Section::Service, Section::XSbx] {
        let lines = effective(assignments, section);
        if lines.is_empty() {
            continue;
        }
        out.push_str(&format!("\n[{}]\n", section.name()));
        for a in lines {
            // On its own line: in unit syntax a later '#' would be part of the value.
            out.push_str(&format!("# {}\n{}={}\n", a.origin, a.key, a.value));
        }
    }
    out
}

fn effective(assignments: &[Assignment], section: Section) -> Vec<&Assignment> {
    let mut keys: Vec<&str> = Vec::new();
    for a in assignments.iter().filter(|a| a.section == section) {
        if !keys.contains(&a.key.as_str()) {
            keys.push(&a.key);
        }
    }
    let mut out = Vec::new();
    for key in keys {
        let all: Vec<&Assignment> = assignments.iter().filter(|a| a.section == section && a.key == key).collect();
        let kind = directives::find(key).map(|d| d.kind);
        let list = kind.is_some_and(|k| k.merge() == Merge::List);
        let from = all.iter().rposition(|a| a.value.is_empty()).map_or(0, |i| i + 1);
        match (list, all.last()) {
            (true, _) => out.extend(&all[from..]),
            // Capability sets OR together; an empty value (none) or a lone ~ (all) replaces.
            (false, Some(_)) if kind == Some(Kind::Caps) => {
                let from = all.iter().rposition(|a| a.value.is_empty() || a.value == "~").unwrap_or(0);
                out.extend(&all[from..]);
            }
            (false, Some(last)) if !last.value.is_empty() => out.push(*last),
            _ => {}
        }
    }
    out
}
