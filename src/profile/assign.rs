//! How one directive's value lands in `Settings`: the parsers and setters the rows of the
//! directive table (directives.rs) point at, one per value shape (a scalar, a list, a split
//! list, capabilities, environment, rlimits, commands, ...).
//!
//! Invariant: a setter stores what it parsed with the assignment's origin, or returns why the
//! value is invalid (the loader then refuses the whole profile, so nothing half-set is ever
//! used). Merge rules (an empty value resets, a later scalar wins) are systemd's.

use std::str::FromStr;

use crate::profile::Origin;
use crate::profile::values::{self, PathEntry};
use crate::settings::{
    CapMask, List, Phase, ProcSubset, ProtectHome, ProtectProc, ProtectSystem, Scalar, ServiceType, Settings, Spanned,
    StateKind, WorkingDir,
};

pub(super) fn set<T>(
    slot: &mut Scalar<T>,
    value: &str,
    origin: &Origin,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<(), String> {
    *slot = if value.is_empty() { None } else { Some(Spanned { value: parse(value)?, origin: origin.clone() }) };
    Ok(())
}

/// A boolean, choice or mode: an empty value is invalid (systemd warns and ignores it; sbx
/// refuses it rather than silently keep or reset a protection).
pub(super) fn set_value<T>(
    slot: &mut Scalar<T>,
    value: &str,
    origin: &Origin,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<(), String> {
    if value.is_empty() {
        return parse(value).map(drop).and(Err("an empty value is not valid here".into()));
    }
    set(slot, value, origin, parse)
}

pub(super) fn set_bool(slot: &mut Scalar<bool>, v: &str, o: &Origin) -> Result<(), String> {
    set_value(slot, v, o, values::parse_bool)
}

type Splitter = fn(&str) -> Result<Vec<String>, String>;

/// A list directive: each word parsed and appended; an empty value clears the list.
pub(super) fn push_split<T>(
    list: &mut List<T>,
    value: &str,
    origin: &Origin,
    split: Splitter,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<(), String> {
    if value.is_empty() {
        list.clear();
        return Ok(());
    }
    for word in split(value)? {
        list.push(Spanned { value: parse(&word)?, origin: origin.clone() });
    }
    Ok(())
}

pub(super) fn push<T>(
    list: &mut List<T>,
    value: &str,
    origin: &Origin,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<(), String> {
    push_split(list, value, origin, values::split_words, parse)
}

/// Bind specs decode their own quoting and `\:` escapes, so words are split raw.
pub(super) fn push_binds(list: &mut List<values::BindSpec>, value: &str, origin: &Origin) -> Result<(), String> {
    push_split(list, value, origin, values::split_raw_words, values::parse_bind_spec)
}

/// A list directive whose whole value is one item (it parses `~` itself); empty resets.
pub(super) fn push_one<T>(
    list: &mut List<T>,
    value: &str,
    origin: &Origin,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<(), String> {
    if value.is_empty() {
        list.clear();
    } else {
        list.push(Spanned { value: parse(value)?, origin: origin.clone() });
    }
    Ok(())
}

pub(super) fn push_paths(list: &mut List<PathEntry>, v: &str, o: &Origin) -> Result<(), String> {
    push(list, v, o, values::parse_path_entry)
}

pub(super) fn enum_value<T: Copy>(value: &str, table: &[(&str, T)], bool_values: Option<(T, T)>) -> Result<T, String> {
    if let Some(&(_, t)) = table.iter().find(|(name, _)| *name == value) {
        return Ok(t);
    }
    if let (Some((yes, no)), Ok(b)) = (bool_values, values::parse_bool(value)) {
        return Ok(if b { yes } else { no });
    }
    let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
    Err(format!("expected {}{}", if bool_values.is_some() { "a boolean or " } else { "" }, names.join(", ")))
}

pub(super) fn protect_system(v: &str) -> Result<ProtectSystem, String> {
    use ProtectSystem::*;
    enum_value(v, &[("full", Full), ("strict", Strict)], Some((Yes, No)))
}

pub(super) fn protect_home(v: &str) -> Result<ProtectHome, String> {
    use ProtectHome::*;
    enum_value(v, &[("read-only", ReadOnly), ("tmpfs", Tmpfs)], Some((Yes, No)))
}

pub(super) fn protect_proc(v: &str) -> Result<ProtectProc, String> {
    use ProtectProc::*;
    let t = [("default", Default), ("noaccess", NoAccess), ("invisible", Invisible), ("ptraceable", Ptraceable)];
    enum_value(v, &t, None)
}

pub(super) fn proc_subset(v: &str) -> Result<ProcSubset, String> {
    enum_value(v, &[("all", ProcSubset::All), ("pid", ProcSubset::Pid)], None)
}

pub(super) fn working_directory(v: &str) -> Result<WorkingDir, String> {
    let (ignore_missing, rest) = match v.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, v),
    };
    if rest == "~" {
        return Ok(WorkingDir { path: None, home: true, ignore_missing });
    }
    let entry = values::parse_path_entry(rest).map_err(|_| "expected an absolute path or ~".to_string())?;
    Ok(WorkingDir { path: Some(entry.path), home: false, ignore_missing })
}

pub(super) fn state_dir_name(word: &str) -> Result<String, String> {
    let bad =
        word.is_empty() || word.starts_with('/') || word.split('/').any(|c| c.is_empty() || c == "." || c == "..");
    if bad {
        return Err("expected relative directory names without . or .. components".into());
    }
    Ok(word.to_string())
}

pub(super) fn state_dirs(s: &mut Settings, kind: StateKind, v: &str, o: &Origin) -> Result<(), String> {
    push(&mut s.state_dirs[kind.index()], v, o, state_dir_name)
}

pub(super) fn state_mode(s: &mut Settings, kind: StateKind, v: &str, o: &Origin) -> Result<(), String> {
    set_value(&mut s.state_dir_modes[kind.index()], v, o, values::parse_mode)
}

pub(super) fn user_name(v: &str) -> Result<String, String> {
    if values::valid_user_or_group(v) {
        Ok(v.to_string())
    } else {
        Err("expected a user or group name, or a numeric id".into())
    }
}

/// All capabilities the `caps` crate knows, as a mask.
pub fn all_caps() -> CapMask {
    caps::all().iter().fold(0, |m, c| m | c.bitmask())
}

/// systemd's capability-set rules: an empty list (`` or a lone `~`) or the first assignment
/// replaces the set (`~` inverting it); after that `LIST` adds and `~LIST` removes.
pub(super) fn capability_set(slot: &mut Scalar<CapMask>, v: &str, o: &Origin) -> Result<(), String> {
    let (invert, list) = match v.strip_prefix('~') {
        Some(rest) => (true, rest),
        None => (false, v),
    };
    let mut listed: CapMask = 0;
    for word in values::split_words(list)? {
        let cap = caps::Capability::from_str(&word.to_ascii_uppercase())
            .map_err(|_| format!("unknown capability {word:?} (expected names like CAP_NET_BIND_SERVICE)"))?;
        listed |= cap.bitmask();
    }
    let value = match slot {
        Some(prev) if listed != 0 => {
            if invert {
                prev.value & !listed
            } else {
                prev.value | listed
            }
        }
        _ => {
            if invert {
                all_caps() & !listed
            } else {
                listed
            }
        }
    };
    *slot = Some(Spanned { value, origin: o.clone() });
    Ok(())
}

pub(super) fn env_var_name(word: &str) -> Result<String, String> {
    let ok = !word.is_empty()
        && !word.starts_with(|c: char| c.is_ascii_digit())
        && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok { Ok(word.to_string()) } else { Err(format!("invalid variable name {word:?}")) }
}

pub(super) fn environment(s: &mut Settings, v: &str, o: &Origin) -> Result<(), String> {
    if v.is_empty() {
        s.environment.clear();
        return Ok(());
    }
    for pair in values::parse_env_assignments(v)? {
        s.environment.push(Spanned { value: pair, origin: o.clone() });
    }
    Ok(())
}

pub(super) fn rlimit(s: &mut Settings, key: &'static str, v: &str, o: &Origin) -> Result<(), String> {
    if v.is_empty() {
        s.rlimits.remove(key);
        return Ok(());
    }
    let value = values::parse_rlimit(key, v)?;
    s.rlimits.insert(key.to_string(), Spanned { value, origin: o.clone() });
    Ok(())
}

pub(super) fn service_type(value: &str) -> Result<ServiceType, String> {
    use ServiceType::*;
    let table = [
        ("simple", Simple),
        ("exec", Exec),
        ("forking", Forking),
        ("oneshot", Oneshot),
        ("dbus", Dbus),
        ("notify", Notify),
        ("notify-reload", NotifyReload),
        ("idle", Idle),
    ];
    enum_value(value, &table, None)
}

/// A command-line directive: each command appended; an empty value clears the list.
pub(super) fn commands(s: &mut Settings, phase: Phase, v: &str, o: &Origin) -> Result<(), String> {
    let list = &mut s.commands[phase.index()];
    if v.is_empty() {
        list.clear();
        return Ok(());
    }
    for command in values::parse_command_lines(v)? {
        list.push(Spanned { value: command, origin: o.clone() });
    }
    Ok(())
}

pub(super) fn ignore(_: &mut Settings, _: &str, _: &Origin) -> Result<(), String> {
    Ok(())
}
