//! The rule that calls a change: a figure is better or worse only when the samples say it moved
//! (a rank test on the per-second figures, p below [`ALPHA`]) and it moved by at least the
//! minimum effect ([`MIN_EFFECT`], 10%). Seconds of one run move together with the host and
//! the broker, so a run's own samples understate the spread between runs; the minimum effect
//! keeps that run-to-run noise from reading as a change.
//!
//! - Latency percentiles and throughput, with five or more measured seconds a side: the
//!   Mann-Whitney U test of the two sides' per-second figures ([`super::rank`]).
//! - With fewer seconds (a short run, or a report written before the per-second quantiles):
//!   the older rule, the two sides' ranges of chance ([`super::spread`]) must not overlap.
//! - Counts (acked, errors): Poisson ranges.
//! - With several runs on a side, the runs must agree too: every NEW run's figure beyond every
//!   BASE run's. Seconds of one run are not independent samples; runs are.

use super::rank::mann_whitney;
use super::spread::Spread;
use serde::Serialize;

/// Significance level of the rank test, two-sided.
pub const ALPHA: f64 = 0.05;
/// The smallest change called better or worse, as a share of BASE's figure.
pub const MIN_EFFECT: f64 = 0.10;
/// Per-second samples a side needs for the rank test.
pub const MIN_SECONDS: usize = 5;

/// Whether NEW is better, worse or the same as BASE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Better, beyond chance and by at least the minimum effect.
    Better,
    /// Worse, beyond chance and by at least the minimum effect.
    Worse,
    /// Not shown to differ, or by less than the minimum effect.
    Same,
}

/// What a verdict was based on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Basis {
    /// The rank test of the per-second figures.
    Rank,
    /// The older rule: ranges of chance from each run's histograms (too few seconds).
    Interval,
    /// Poisson ranges of two counts.
    Poisson,
}

/// One side of a row: a group's figure with what chance allows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Side {
    /// The group's figure: the median of its runs' figures.
    pub value: f64,
    /// The per-second figures of every run's measured seconds, pooled.
    pub seconds: Vec<f64>,
    /// Each run's own figure.
    pub runs: Vec<f64>,
    /// The range of chance by the older rule: the runs' ranges together.
    pub spread: Spread,
}

/// A verdict and how it was reached.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    /// The verdict.
    pub verdict: Verdict,
    /// What it was based on.
    pub basis: Basis,
    /// The rank test's p-value, when it decided.
    pub p: Option<f64>,
    /// Why a difference the samples show still reads `same`.
    pub note: Option<String>,
}

/// How a figure is judged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    /// A count (Poisson), rather than a latency or a rate.
    pub count: bool,
    /// A larger value is the better one (throughput, acked).
    pub higher_is_better: bool,
    /// The smallest change called better or worse, a share of BASE.
    pub min_effect: f64,
}

/// `|new / base - 1|`: 0 when both are 0, infinite when only BASE is.
pub fn effect(base: f64, new: f64) -> f64 {
    match (base == 0.0, new == 0.0) {
        (true, true) => 0.0,
        (true, false) => f64::INFINITY,
        _ => (new / base - 1.0).abs(),
    }
}

/// Judges NEW against BASE by `rule`.
pub fn judge(base: &Side, new: &Side, rule: Rule) -> Judgement {
    let large = effect(base.value, new.value) >= rule.min_effect - 1e-12;
    let small_note = || format!("under {}%", fmt_share(rule.min_effect));
    let enough = base.seconds.len() >= MIN_SECONDS && new.seconds.len() >= MIN_SECONDS;
    let (basis, p, shown) = if rule.count {
        (Basis::Poisson, None, !base.spread.overlaps(&new.spread))
    } else if enough {
        let t = mann_whitney(&base.seconds, &new.seconds).expect("samples on both sides");
        let figure_way = new.value.total_cmp(&base.value);
        let agree = t.b_against_a() == figure_way;
        if t.p < ALPHA && large && !agree {
            let note = "the seconds and the figure disagree".to_string();
            return same(Basis::Rank, Some(t.p), Some(note));
        }
        (Basis::Rank, Some(t.p), t.p < ALPHA)
    } else {
        (Basis::Interval, None, !base.spread.overlaps(&new.spread))
    };
    if !shown {
        return same(basis, p, None);
    }
    if !large {
        return same(basis, p, Some(small_note()));
    }
    if runs_overlap(&base.runs, &new.runs) {
        return same(basis, p, Some("runs overlap".to_string()));
    }
    let verdict = if (new.value > base.value) == rule.higher_is_better {
        Verdict::Better
    } else {
        Verdict::Worse
    };
    Judgement {
        verdict,
        basis,
        p,
        note: None,
    }
}

/// Whether any NEW run's figure lies within the range of BASE's runs, or the other way round
/// (never for one run against one that differ).
fn runs_overlap(base: &[f64], new: &[f64]) -> bool {
    let range = |v: &[f64]| {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        (lo, v.iter().copied().fold(f64::NEG_INFINITY, f64::max))
    };
    let ((b_lo, b_hi), (n_lo, n_hi)) = (range(base), range(new));
    n_lo <= b_hi && b_lo <= n_hi
}

fn same(basis: Basis, p: Option<f64>, note: Option<String>) -> Judgement {
    Judgement {
        verdict: Verdict::Same,
        basis,
        p,
        note,
    }
}

/// `0.1` as `10`, `0.025` as `2.5`.
pub fn fmt_share(share: f64) -> String {
    let pct = share * 100.0;
    if (pct - pct.round()).abs() < 1e-9 {
        format!("{pct:.0}")
    } else {
        format!("{pct}")
    }
}

/// The median of `values` (the mean of the middle two for an even count); `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LATENCY: Rule = Rule {
        count: false,
        higher_is_better: false,
        min_effect: MIN_EFFECT,
    };

    fn side(value: f64, seconds: Vec<f64>) -> Side {
        Side {
            value,
            seconds,
            runs: vec![value],
            spread: Spread {
                value,
                low: value,
                high: value,
            },
        }
    }

    /// 18 seconds around `centre`, spread by ±3%.
    fn seconds(centre: f64) -> Vec<f64> {
        (0..18)
            .map(|i| centre * (0.97 + 0.06 * f64::from(i) / 17.0))
            .collect()
    }

    #[test]
    fn a_small_shift_that_the_seconds_show_is_still_the_same() {
        // 5% slower every second: the test sees it (p tiny), the rule does not call it.
        let j = judge(
            &side(1000.0, seconds(1000.0)),
            &side(1050.0, seconds(1050.0)),
            LATENCY,
        );
        assert_eq!(j.verdict, Verdict::Same);
        assert!(j.p.unwrap() < 0.01, "{j:?}");
        assert_eq!(j.note.as_deref(), Some("under 10%"));
    }

    #[test]
    fn a_large_shift_with_a_small_p_is_better_or_worse() {
        let (base, slower) = (side(1000.0, seconds(1000.0)), side(1300.0, seconds(1300.0)));
        let j = judge(&base, &slower, LATENCY);
        assert_eq!((j.verdict, j.basis), (Verdict::Worse, Basis::Rank));
        assert!(j.p.unwrap() < 0.001);
        assert_eq!(judge(&slower, &base, LATENCY).verdict, Verdict::Better);
        let throughput = Rule {
            higher_is_better: true,
            ..LATENCY
        };
        assert_eq!(judge(&base, &slower, throughput).verdict, Verdict::Better);
    }

    #[test]
    fn a_large_difference_the_seconds_do_not_show_is_the_same() {
        // The figures differ by 30%, but second by second the two runs overlap throughout.
        let spread: Vec<f64> = (0..10).map(|i| 500.0 + 100.0 * f64::from(i)).collect();
        let j = judge(
            &side(1000.0, spread.clone()),
            &side(1300.0, spread),
            LATENCY,
        );
        assert_eq!(j.verdict, Verdict::Same);
        assert!(j.p.unwrap() > 0.5 && j.note.is_none(), "{j:?}");
    }

    #[test]
    fn seconds_and_figure_that_disagree_are_the_same() {
        // The figure rose, but second by second NEW is lower.
        let j = judge(
            &side(1000.0, seconds(1000.0)),
            &side(1300.0, seconds(700.0)),
            LATENCY,
        );
        assert_eq!(j.verdict, Verdict::Same);
        assert!(j.note.unwrap().contains("disagree"));
    }

    #[test]
    fn too_few_seconds_fall_back_to_the_ranges_with_the_minimum_effect() {
        let ranged = |value: f64, part: f64| Side {
            value,
            seconds: vec![value; 3],
            runs: vec![value],
            spread: Spread {
                value,
                low: value * (1.0 - part),
                high: value * (1.0 + part),
            },
        };
        // Apart, but by 5%: same. Apart by 30%: worse. Overlapping by 30%: same.
        let j = judge(&ranged(1000.0, 0.01), &ranged(1050.0, 0.01), LATENCY);
        assert_eq!((j.verdict, j.basis), (Verdict::Same, Basis::Interval));
        assert_eq!(
            judge(&ranged(1000.0, 0.01), &ranged(1300.0, 0.01), LATENCY).verdict,
            Verdict::Worse
        );
        assert_eq!(
            judge(&ranged(1000.0, 0.2), &ranged(1300.0, 0.2), LATENCY).verdict,
            Verdict::Same
        );
    }

    #[test]
    fn counts_are_poisson_and_respect_the_minimum_effect() {
        let count = |n: f64| Side {
            value: n,
            seconds: Vec::new(),
            runs: vec![n],
            spread: super::super::spread::of_count(n as u64),
        };
        let rule = Rule {
            count: true,
            higher_is_better: false,
            min_effect: MIN_EFFECT,
        };
        // 10000 against 10600 is beyond Poisson chance, but under 10%.
        let j = judge(&count(10_000.0), &count(10_600.0), rule);
        assert_eq!((j.verdict, j.basis), (Verdict::Same, Basis::Poisson));
        assert_eq!(j.note.as_deref(), Some("under 10%"));
        assert_eq!(
            judge(&count(0.0), &count(40.0), rule).verdict,
            Verdict::Worse
        );
        assert_eq!(judge(&count(0.0), &count(0.0), rule).verdict, Verdict::Same);
    }

    #[test]
    fn several_runs_a_side_must_agree() {
        // Three runs a side, 30% apart by their medians, but one NEW run within BASE's runs.
        let group = |runs: [f64; 3], centre: f64| Side {
            runs: runs.to_vec(),
            ..side(centre, seconds(centre))
        };
        let base = group([950.0, 1000.0, 1100.0], 1000.0);
        let j = judge(&base, &group([1050.0, 1300.0, 1350.0], 1300.0), LATENCY);
        assert_eq!(j.verdict, Verdict::Same);
        assert_eq!(j.note.as_deref(), Some("runs overlap"));
        let apart = judge(&base, &group([1250.0, 1300.0, 1350.0], 1300.0), LATENCY);
        assert_eq!(apart.verdict, Verdict::Worse);
        // One BASE run inside NEW's three: they do not agree either.
        let one = side(1200.0, seconds(1000.0));
        let j = judge(&one, &group([1050.0, 1400.0, 1450.0], 1400.0), LATENCY);
        assert_eq!(j.note.as_deref(), Some("runs overlap"));
    }

    #[test]
    fn the_median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(fmt_share(0.1), "10");
        assert_eq!(fmt_share(0.025), "2.5");
    }
}
