//! Turning badness into exposure with systemd 252's arithmetic, integer roundings included.
//!
//! Invariant: everything is integer arithmetic in tenths, rounded up where systemd rounds up:
//! (1) each check contributes ⌈badness × weight ÷ range⌉, and (2) the overall exposure is
//! ⌈100 × Σ contributions ÷ Σ weights⌉ tenths, the sums taken over the checks that apply. A
//! row's own exposure is ⌈⌈badness × weight × 100 ÷ range⌉ ÷ Σ weights⌉ tenths, so rows need
//! not add up to the total — as in systemd. Nothing here knows what a check is about.

use std::fmt;

use serde::Serialize;

/// One check's outcome as the arithmetic sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scored {
    /// `None`: the check does not apply and weighs nothing.
    pub badness: Option<u64>,
    pub weight: u64,
    pub range: u64,
}

/// Exposure in tenths: 0 to 100 shows as 0.0 to 10.0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Tenths(pub u64);

impl fmt::Display for Tenths {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0 / 10, self.0 % 10)
    }
}

/// The sum of the weights of the checks that apply.
pub fn weight_sum(rows: &[Scored]) -> u64 {
    rows.iter().filter(|r| r.badness.is_some()).map(|r| r.weight).sum()
}

/// The overall exposure (rounding points 1 and 2).
pub fn overall(rows: &[Scored]) -> Tenths {
    let weights = weight_sum(rows);
    let badness: u64 = rows.iter().filter_map(|r| r.badness.map(|b| (b * r.weight).div_ceil(r.range.max(1)))).sum();
    Tenths(if weights == 0 { 0 } else { (badness * 100).div_ceil(weights) })
}

/// A row's own share, as systemd prints it; `None` for a good check or one that does not apply.
pub fn row_exposure(row: Scored, weights: u64) -> Option<Tenths> {
    let b = row.badness.filter(|b| *b > 0)?;
    if weights == 0 {
        return None;
    }
    Some(Tenths((b * row.weight * 100).div_ceil(row.range.max(1)).div_ceil(weights)))
}

/// systemd's words for an exposure, with its boundaries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    Perfect,
    Safe,
    Ok,
    Medium,
    Exposed,
    Unsafe,
    Dangerous,
}

impl Verdict {
    pub fn of(exposure: Tenths) -> Verdict {
        match exposure.0 {
            100.. => Verdict::Dangerous,
            90..=99 => Verdict::Unsafe,
            75..=89 => Verdict::Exposed,
            50..=74 => Verdict::Medium,
            10..=49 => Verdict::Ok,
            1..=9 => Verdict::Safe,
            0 => Verdict::Perfect,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Verdict::Perfect => "PERFECT",
            Verdict::Safe => "SAFE",
            Verdict::Ok => "OK",
            Verdict::Medium => "MEDIUM",
            Verdict::Exposed => "EXPOSED",
            Verdict::Unsafe => "UNSAFE",
            Verdict::Dangerous => "DANGEROUS",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(badness: Option<u64>, weight: u64, range: u64) -> Scored {
        Scored { badness, weight, range }
    }

    #[test]
    fn score_rounds_each_contribution_up_then_the_total() {
        // ⌈1×1000/3⌉ = 334; ⌈334×100/1000⌉ = 34 (33.4 rounded up).
        assert_eq!(overall(&[row(Some(1), 1000, 3)]), Tenths(34));
        // ⌈5×25/10⌉ = 13 (12.5 up); ⌈13×100/(25+1000)⌉ = ⌈1.268⌉ = 2.
        assert_eq!(overall(&[row(Some(5), 25, 10), row(Some(0), 1000, 1)]), Tenths(2));
        // Without the first rounding it would be ⌈12.5×100/1025⌉ = 2 too; this one differs:
        // ⌈1×10/3⌉ = 4, ⌈4×100/10⌉ = 40, where exact arithmetic gives 33.4 → 34.
        assert_eq!(overall(&[row(Some(1), 10, 3)]), Tenths(40));
    }

    #[test]
    fn score_skips_checks_that_do_not_apply() {
        let rows = [row(None, 200, 1), row(Some(1), 100, 1), row(Some(0), 100, 1)];
        assert_eq!(weight_sum(&rows), 200);
        assert_eq!(overall(&rows), Tenths(50));
        assert_eq!(overall(&[row(None, 200, 1)]), Tenths(0), "no weight at all: no exposure, no panic");
    }

    #[test]
    fn score_row_exposure() {
        // PrivateNetwork= alone on a bare service: ⌈⌈2500×100⌉/56160⌉ = ⌈4.45⌉ = 5 → 0.5.
        assert_eq!(row_exposure(row(Some(1), 2500, 1), 56160), Some(Tenths(5)));
        // ProtectHome=read-only: ⌈⌈5×1000×100/10⌉/56160⌉ = 1 → 0.1.
        assert_eq!(row_exposure(row(Some(5), 1000, 10), 56160), Some(Tenths(1)));
        assert_eq!(row_exposure(row(Some(0), 2500, 1), 56160), None);
        assert_eq!(row_exposure(row(None, 2500, 1), 56160), None);
        assert_eq!(Tenths(96).to_string(), "9.6");
        assert_eq!(Tenths(0).to_string(), "0.0");
    }

    #[test]
    fn score_verdict_boundaries() {
        let cases = [
            (0, "PERFECT"),
            (1, "SAFE"),
            (9, "SAFE"),
            (10, "OK"),
            (49, "OK"),
            (50, "MEDIUM"),
            (74, "MEDIUM"),
            (75, "EXPOSED"),
            (89, "EXPOSED"),
            (90, "UNSAFE"),
            (99, "UNSAFE"),
            (100, "DANGEROUS"),
        ];
        for (t, name) in cases {
            assert_eq!(Verdict::of(Tenths(t)).name(), name, "{t}");
        }
    }
}
