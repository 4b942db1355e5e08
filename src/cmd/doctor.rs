//! `sbx doctor`: probe the host, print the findings (text or `--json`), and exit 0 when full
//! isolation is possible, 1 when some protection cannot be enforced here.

use std::io::Write;

use crate::cli::DoctorArgs;
use crate::doctor;
use crate::error::Error;

pub fn doctor(args: DoctorArgs) -> Result<i32, Error> {
    let report = doctor::run();
    let text = if args.json {
        let mut s = serde_json::to_string_pretty(&report).map_err(|e| Error::io("serialize the report", e.into()))?;
        s.push('\n');
        s
    } else {
        doctor::render::text(&report)
    };
    std::io::stdout().lock().write_all(text.as_bytes()).map_err(|e| Error::io("write the report", e))?;
    Ok(report.exit_code)
}
