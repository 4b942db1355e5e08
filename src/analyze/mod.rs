//! `sbx analyze`: systemd's exposure score for a profile, and what of it holds here.
//!
//! Invariant: the score is systemd 252's, computed from the profile text alone (`view`,
//! `checks`, `score`), so it equals `systemd-analyze security` for the same directives; the
//! "here" column (`here`) is computed separately from what sbx would do on this host, and
//! never changes the score. Nothing here reads files or the host: the command gathers
//! Settings, the raw assignments and the plan, and prints the report.

pub mod checks;
pub mod here;
pub mod score;
pub mod view;

use checks::{CHECKS, Check};
use here::{Enforcement, Here};
use score::{Scored, Tenths, Verdict};
use view::View;

/// One check's line in the report.
pub struct Row {
    pub check: &'static Check,
    /// 0 to `check.range`; `None` where the check does not apply.
    pub badness: Option<u64>,
    pub description: String,
    /// This row's share of the total, as systemd prints it.
    pub exposure: Option<Tenths>,
    pub here: Here,
}

impl Row {
    /// systemd's mark: ✓ good, ✗ (partly) bad, blank where the check does not apply.
    pub fn mark(&self) -> &'static str {
        match self.badness {
            None => " ",
            Some(0) => "✓",
            Some(_) => "✗",
        }
    }
}

pub struct Report {
    /// In the check table's order.
    pub rows: Vec<Row>,
    pub exposure: Tenths,
    pub verdict: Verdict,
}

/// Judges every check, scores them and adds the "here" column.
pub fn report(view: &View, enforcement: &Enforcement) -> Report {
    let judged: Vec<(&'static Check, checks::Judged)> = CHECKS.iter().map(|c| (c, (c.judge)(view))).collect();
    let scored: Vec<Scored> =
        judged.iter().map(|(c, j)| Scored { badness: j.badness, weight: c.weight, range: c.range }).collect();
    let weights = score::weight_sum(&scored);
    let exposure = score::overall(&scored);
    let rows = judged
        .into_iter()
        .zip(&scored)
        .map(|((check, j), s)| Row {
            check,
            badness: j.badness,
            exposure: score::row_exposure(*s, weights),
            here: enforcement.here(check.id, check.reads, j.badness, check.range),
            description: j.text,
        })
        .collect();
    Report { rows, exposure, verdict: Verdict::of(exposure) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::settings;
    use view::Extra;

    fn exposure(lines: &str) -> String {
        let r = report(&View::new(&settings(lines), &Extra::default()), &Enforcement::default());
        format!("{} {}", r.exposure, r.verdict.name())
    }

    /// Numbers `systemd-analyze security --offline=true` (252) prints for the same lines.
    #[test]
    fn analyze_matches_systemd_on_known_units() {
        assert_eq!(exposure(""), "9.6 UNSAFE");
        assert_eq!(exposure("PrivateNetwork=yes"), "9.1 UNSAFE");
        assert_eq!(exposure("CapabilityBoundingSet="), "7.1 MEDIUM");
        assert_eq!(exposure("DynamicUser=yes"), "8.4 EXPOSED");
        assert_eq!(
            exposure("SystemCallFilter=@system-service\nSystemCallFilter=~@privileged @resources"),
            "8.0 EXPOSED"
        );
        assert_eq!(exposure("PrivateDevices=yes\nProtectClock=yes"), "8.7 EXPOSED");
    }

    #[test]
    fn analyze_rows_follow_the_table() {
        let r = report(&View::new(&settings("User=www-data"), &Extra::default()), &Enforcement::default());
        assert_eq!(r.rows.len(), CHECKS.len());
        let user = &r.rows[0];
        assert_eq!((user.check.id, user.mark(), user.exposure), ("User=/DynamicUser=", "✓", None));
        let net = r.rows.iter().find(|r| r.check.id == "PrivateNetwork=").unwrap();
        assert_eq!((net.mark(), net.exposure.map(|e| e.to_string())), ("✗", Some("0.5".into())));
        assert!(r.rows.iter().all(|r| r.here == Here::NotAskedFor));
    }
}
