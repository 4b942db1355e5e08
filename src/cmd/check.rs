//! `sbx check`: load, merge and plan profiles without starting anything; print findings.

use crate::cli::CheckArgs;
use crate::cmd::common;
use crate::error::Error;
use crate::host::HostFacts;
use crate::plan::{self, Invocation};

pub fn check(args: CheckArgs) -> Result<i32, Error> {
    let host = HostFacts::probe();
    let resolved = common::resolve(&args.profiles, &args.set, "check", &host)?;
    // Planning finds what this host cannot do (missing paths, impossible ids or capabilities).
    let inv = Invocation::new(vec!["/bin/true".into()], "check");
    plan::build(&resolved.settings, &host, &inv)?;
    println!("{}: ok", resolved.loaded.sources.join(", "));
    Ok(0)
}
