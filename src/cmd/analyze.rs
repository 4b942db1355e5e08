//! `sbx analyze`: profiles or a unit → systemd's exposure table (`analyze::report`) → text or
//! JSON.
//!
//! Invariant: a profile is scored as systemd would score the same lines, so keys sbx rejects
//! (and the few keys only systemd's score reads) are set aside before Settings are built, kept
//! for the score, and shown as not supported here; every other key goes the way `sbx run`
//! takes it (`common::resolve_loaded`). Planning is only asked, never acted on: nothing is
//! started.

use std::path::Path;

use serde::Serialize;

use crate::analyze::here::{self, Enforcement};
use crate::analyze::view::{EXTRA_KEYS, Extra, View};
use crate::analyze::{self, Report};
use crate::cli::AnalyzeArgs;
use crate::cmd::common;
use crate::error::Error;
use crate::host::HostFacts;
use crate::plan::{self, Invocation};
use crate::profile::directives::{self, Status};
use crate::profile::load::{self, Loaded};
use crate::profile::{Assignment, unit};
use crate::settings::Settings;

/// The unit-like name (%N) profiles are planned with; a unit uses its own.
const NAME: &str = "analyze";

/// What the report is about: Settings for the plan, every assignment for the score.
struct Input {
    settings: Settings,
    assignments: Vec<Assignment>,
    sources: Vec<String>,
    name: String,
    label: String,
}

pub fn analyze(args: AnalyzeArgs) -> Result<i32, Error> {
    let host = HostFacts::probe();
    let input = gather(&args, &host)?;
    let (extra, warnings) = Extra::from_assignments(&input.assignments);
    for w in &warnings {
        eprintln!("sbx: warning: {w}");
    }
    let inv = Invocation::new(vec!["/bin/true".into()], &input.name);
    let plan = plan::build(&input.settings, &host, &inv);
    let enforcement = Enforcement::from_plan(&here::set_keys(&input.assignments), &plan);
    let report = analyze::report(&View::new(&input.settings, &extra), &enforcement);
    if args.json {
        let json = serde_json::to_string_pretty(&to_json(&report, &input.sources))
            .map_err(|e| Error::Launch(format!("cannot print the report: {e}")))?;
        println!("{json}");
    } else {
        print!("{}", render(&report, &input.label));
    }
    Ok(0)
}

/// Keys left out of Settings: rejected by the directive table, or read only by the score.
fn set_aside(key: &str) -> bool {
    EXTRA_KEYS.contains(&key) || directives::find(key).is_some_and(|d| matches!(d.status, Status::Rejected(_)))
}

/// The unit (with its drop-ins) or the profiles, then `--profile`/`-p` on top of a unit; Settings
/// from what the directive table takes, as `sbx run` builds them.
fn gather(args: &AnalyzeArgs, host: &HostFacts) -> Result<Input, Error> {
    let unit = args.unit.as_deref().map(|path| unit::load_unit(Path::new(path))).transpose()?;
    let profiles = match unit {
        Some(_) => args.profile.profiles.clone(),
        None => common::profiles_or_default(&args.profile.profiles),
    };
    let on_top = load::load(&profiles, &args.profile.set)?;
    // Every assignment counts for the score; the directive table takes a unit's applied ones.
    let (name, label, mut all, mut applied) = match unit {
        Some(u) => {
            let applied = u.applied();
            (u.name.stem().to_string(), u.name.full.clone(), u.loaded, applied)
        }
        None => (NAME.to_string(), profiles.join(" + "), Loaded::default(), Vec::new()),
    };
    applied.extend(on_top.assignments.iter().cloned());
    all.assignments.extend(on_top.assignments);
    all.warnings.extend(on_top.warnings);
    all.sources.extend(on_top.sources);
    for a in all.assignments.iter().filter(|a| !a.value.is_empty()) {
        if let Some(Status::Rejected(why)) = directives::find(&a.key).map(|d| d.status) {
            eprintln!("sbx: note: {}: {}= is not supported by sbx ({why}); sbx run refuses it", a.origin, a.key);
        }
    }
    let kept = Loaded {
        assignments: applied.into_iter().filter(|a| !set_aside(&a.key)).collect(),
        warnings: all.warnings.clone(),
        sources: all.sources.clone(),
    };
    let resolved = common::resolve_loaded(kept, &name, host)?;
    Ok(Input { settings: resolved.settings, assignments: all.assignments, sources: all.sources, name, label })
}

/// The table as `systemd-analyze security` lays it out, worst rows first, plus "here".
pub fn render(report: &Report, label: &str) -> String {
    let mut rows: Vec<&analyze::Row> = report.rows.iter().collect();
    rows.sort_by_key(|r| std::cmp::Reverse((r.exposure, r.badness.is_some_and(|b| b > 0), r.badness.is_some())));
    let name_w = rows.iter().map(|r| r.check.id.chars().count()).max().unwrap_or(4);
    let desc_w = rows.iter().map(|r| r.description.chars().count()).max().unwrap_or(11);
    let mut out = format!("  {:<name_w$} {:<desc_w$} {:>8}  HERE\n", "NAME", "DESCRIPTION", "EXPOSURE");
    for r in rows {
        let exposure = r.exposure.map_or(String::new(), |e| e.to_string());
        let line = format!("{} {:<name_w$} {:<desc_w$} {exposure:>8}  {}", r.mark(), r.check.id, r.description, r.here);
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str(&format!("\n→ Overall exposure level for {label}: {} {}\n", report.exposure, report.verdict.name()));
    out
}

#[derive(Serialize)]
struct JsonReport<'a> {
    /// The files read, in order.
    sources: &'a [String],
    exposure: String,
    verdict: &'static str,
    checks: Vec<JsonCheck>,
}

/// systemd's `--json=short` fields, then the arithmetic's inputs, then sbx's column.
#[derive(Serialize)]
struct JsonCheck {
    set: Option<bool>,
    name: &'static str,
    json_field: &'static str,
    description: String,
    exposure: Option<String>,
    weight: u64,
    badness: Option<u64>,
    range: u64,
    here: String,
    here_status: &'static str,
}

fn to_json<'a>(report: &Report, sources: &'a [String]) -> JsonReport<'a> {
    let checks = report
        .rows
        .iter()
        .map(|r| JsonCheck {
            set: r.badness.map(|b| b == 0),
            name: r.check.id,
            json_field: r.check.json_field,
            description: r.description.clone(),
            exposure: r.exposure.map(|e| e.to_string()),
            weight: r.check.weight,
            badness: r.badness,
            range: r.check.range,
            here: r.here.to_string(),
            here_status: r.here.status(),
        })
        .collect();
    JsonReport { sources, exposure: report.exposure.to_string(), verdict: report.verdict.name(), checks }
}
