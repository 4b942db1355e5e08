//! `sbx run --unit`: a unit file, its drop-ins, then `--profile` and `-p`, into Settings; what
//! a foreground run does not use, said once; and the `[Unit]` conditions, checked on the host
//! before anything starts.
//!
//! Invariant: nothing of a unit is dropped unseen: the table applies its `[Service]` keys
//! (warning about those it ignores), the conditions are evaluated or refused, and the other
//! `[Unit]` and `[Install]` keys are listed in one warning. No default profile is added: the
//! unit is the profile.

use std::path::Path;

use crate::cli::ProfileArgs;
use crate::cmd::common::{self, Resolved};
use crate::cmd::conditions;
use crate::error::{Error, PlanError, ProfileError};
use crate::host::HostFacts;
use crate::profile::load::{self, Loaded};
use crate::profile::specifiers;
use crate::profile::unit::{self, Condition, UnitFile};
use crate::settings::{Phase, Settings};

pub struct UnitRun {
    pub unit: UnitFile,
    /// The name for %N, the state directories and messages: the unit's, unless `--name`.
    pub name: String,
    pub resolved: Resolved,
}

pub fn resolve(path: &str, profile: &ProfileArgs, name: Option<String>, host: &HostFacts) -> Result<UnitRun, Error> {
    let unit = unit::load_unit(Path::new(path))?;
    let name = name.unwrap_or_else(|| unit.name.stem().to_string());
    let extra = load::load(&profile.profiles, &profile.set)?;
    let mut loaded = Loaded {
        assignments: unit.applied(),
        warnings: unit.loaded.warnings.clone(),
        sources: unit.loaded.sources.clone(),
    };
    loaded.assignments.extend(extra.assignments);
    loaded.warnings.extend(extra.warnings);
    loaded.sources.extend(extra.sources);
    let resolved = common::resolve_loaded(loaded, &name, host)?;
    report_unused(&unit, &name);
    Ok(UnitRun { unit, name, resolved })
}

/// One line for the `[Unit]` and `[Install]` keys a foreground run has no use for.
fn report_unused(unit: &UnitFile, name: &str) {
    let unused = unit.unused();
    if unused.is_empty() {
        return;
    }
    let keys: Vec<String> = unused.iter().map(|a| format!("{}= ({})", a.key, a.origin)).collect();
    eprintln!(
        "sbx: warning: {name}: not used by a foreground run (ordering, dependencies, installation): {}",
        keys.join(", ")
    );
}

/// With a COMMAND, a profile's unit keys run nothing: say so, for each.
pub fn warn_unit_keys(settings: &Settings) {
    let why = "is not used: the command comes from the sbx command line (sbx run --unit runs a unit's commands)";
    if let Some(t) = &settings.service_type {
        eprintln!("sbx: warning: {}: Type= {why}", t.origin);
    }
    for phase in Phase::ALL {
        for c in &settings.commands[phase.index()] {
            eprintln!("sbx: warning: {}: {}= {why}", c.origin, phase.directive());
        }
    }
}

/// Evaluates the conditions, then the assertions, as systemd does before it starts a unit:
/// `Ok(Some(why))` when a condition does not hold (the run is skipped), an error when an
/// assertion does not hold or a condition cannot be evaluated without systemd.
pub fn check_conditions(run: &UnitRun, host: &HostFacts) -> Result<Option<String>, Error> {
    let all = run.unit.conditions();
    let mut results = Vec::with_capacity(all.len());
    for c in &all {
        results.push((c, evaluate(c, run, host)?));
    }
    let (conds, asserts): (Vec<_>, Vec<_>) = results.into_iter().partition(|(c, _)| !c.assert);
    if let Some(why) = unmet(&conds) {
        return Ok(Some(why));
    }
    match (unmet(&asserts), asserts.first()) {
        (Some(why), Some((first, _))) => {
            let failed = asserts.iter().find(|(c, ok)| !ok && !c.trigger).map_or(*first, |(c, _)| *c);
            Err(PlanError::directive(&failed.directive(), &failed.origin, format!("assertion failed: {why}")).into())
        }
        _ => Ok(None),
    }
}

fn evaluate(c: &Condition, run: &UnitRun, host: &HostFacts) -> Result<bool, Error> {
    let value_error = |message: String| ProfileError::Value {
        origin: c.origin.clone(),
        key: c.directive(),
        value: c.value.clone(),
        message,
    };
    let value = specifiers::expand(&c.value, &run.resolved.specifiers).map_err(value_error)?;
    match conditions::test(&c.check, &value, host) {
        Some(result) => Ok(result.map_err(value_error)? != c.negate),
        None => Err(ProfileError::Rejected {
            origin: c.origin.clone(),
            key: c.directive(),
            reason: format!(
                "sbx evaluates only {} without systemd; remove the line (a drop-in can reset the conditions with an empty {}=)",
                conditions::SUPPORTED.join(", "),
                if c.assert { "Assert…" } else { "Condition…" }
            ),
        }
        .into()),
    }
}

/// systemd's rule: every plain condition must hold, and at least one of the triggering (`|`)
/// ones if there are any. Says which did not.
fn unmet(results: &[(&Condition, bool)]) -> Option<String> {
    let describe = |c: &Condition| format!("{} ({})", c.written(), c.origin);
    if let Some((c, _)) = results.iter().find(|(c, ok)| !c.trigger && !ok) {
        return Some(format!("{} is not met", describe(c)));
    }
    let triggers: Vec<&(&Condition, bool)> = results.iter().filter(|(c, _)| c.trigger).collect();
    if !triggers.is_empty() && triggers.iter().all(|(_, ok)| !ok) {
        let list: Vec<String> = triggers.iter().map(|(c, _)| describe(c)).collect();
        return Some(format!("none of the triggering conditions is met: {}", list.join(", ")));
    }
    None
}
