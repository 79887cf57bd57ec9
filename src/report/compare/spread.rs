//! What a run's own spread allows: the range a figure could take by chance, so that a
//! difference inside it reads `same`, not a change. The verdict uses these ranges for counts,
//! and for figures with too few per-second samples to rank ([`super::verdict`]); they treat
//! every sample of a run as independent, so they are narrow, and the minimum effect applies.
//!
//! - A percentile: the distribution-free confidence interval of a quantile. Of `n` samples the
//!   rank of the q-quantile varies by `sqrt(n q (1-q))`; the values at ranks 2.58 of those away
//!   on either side (99%) bound it, read from the exact histogram.
//! - The max: one sample, the noisiest figure there is; it reads changed only when the two runs'
//!   top 0.1% (p99.9 to max) do not overlap.
//! - The mean: `mean ± 2.58 sd / sqrt(n)`.
//! - Counts: Poisson, `± 2.58 sqrt(n)`.
//! - Throughput: the per-second throughputs of the phase, `mean ± 2.58 sd / sqrt(seconds)`.
//! - Without histograms (schema 1 reports): ±5%.

use crate::report::threshold::Stat;
use crate::report::{LaneReport, StageReport};
use hdrhistogram::Histogram;

/// z for a two-sided 99% interval.
const Z: f64 = 2.58;
/// The tolerance when a report keeps no histograms (schema 1).
const NO_HISTOGRAM_TOLERANCE: f64 = 0.05;

/// A value and the range it could take by chance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    /// The figure itself.
    pub value: f64,
    /// Lowest it could be by chance.
    pub low: f64,
    /// Highest it could be by chance.
    pub high: f64,
}

impl Spread {
    fn tolerance(value: f64, part: f64) -> Spread {
        Spread {
            value,
            low: value * (1.0 - part),
            high: value * (1.0 + part),
        }
    }

    fn exact(value: f64) -> Spread {
        Spread {
            value,
            low: value,
            high: value,
        }
    }

    /// Whether the two ranges overlap: the difference is within what chance allows.
    pub fn overlaps(&self, other: &Spread) -> bool {
        self.low <= other.high && other.low <= self.high
    }
}

/// The spread of `stat` of a stage: from its histogram, or ±5% without one.
pub fn of_stage(stage: &StageReport, stat: Stat) -> Option<Spread> {
    match stage.decode().ok().flatten() {
        Some(h) if !h.is_empty() => Some(of_histogram(&h, stat)),
        _ => (stage.count > 0)
            .then(|| Spread::tolerance(stat.of(&stage.summary()), NO_HISTOGRAM_TOLERANCE)),
    }
}

fn of_histogram(h: &Histogram<u64>, stat: Stat) -> Spread {
    let n = h.len() as f64;
    let quantile = |q: f64| {
        let half = Z * (n * q * (1.0 - q)).sqrt();
        let at = |rank: f64| h.value_at_quantile((rank / n).clamp(0.0, 1.0)) as f64;
        Spread {
            value: h.value_at_quantile(q) as f64,
            low: h.lowest_equivalent(at(n * q - half) as u64) as f64,
            high: h.highest_equivalent(at(n * q + half) as u64) as f64,
        }
    };
    match stat {
        Stat::P50 => quantile(0.50),
        Stat::P90 => quantile(0.90),
        Stat::P99 => quantile(0.99),
        Stat::P999 => quantile(0.999),
        Stat::Max => Spread {
            value: h.max() as f64,
            low: h.value_at_quantile(0.999) as f64,
            high: h.highest_equivalent(h.max()) as f64,
        },
        Stat::Mean => {
            let half = Z * h.stdev() / n.sqrt();
            Spread {
                value: h.mean(),
                low: h.mean() - half,
                high: h.mean() + half,
            }
        }
    }
}

/// The spread of a count: Poisson.
pub fn of_count(n: u64) -> Spread {
    let half = Z * (n as f64).sqrt();
    Spread {
        value: n as f64,
        low: n as f64 - half,
        high: n as f64 + half,
    }
}

/// The spread of a lane's throughput, from its per-second points (measured ones: the phase's
/// first second and its last partial one are left out when there are enough).
pub fn of_throughput(lane: &LaneReport) -> Spread {
    let points: Vec<f64> = lane
        .series
        .as_ref()
        .map(|s| s.acked_per_s.clone())
        .unwrap_or_default();
    let inner = if points.len() > 4 {
        &points[1..points.len() - 1]
    } else {
        &points[..]
    };
    if inner.len() < 3 {
        return Spread::exact(lane.throughput);
    }
    let k = inner.len() as f64;
    let mean = inner.iter().sum::<f64>() / k;
    let var = inner.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (k - 1.0);
    let half = Z * var.sqrt() / k.sqrt();
    Spread {
        value: lane.throughput,
        low: lane.throughput - half,
        high: lane.throughput + half,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram(values: impl Iterator<Item = u64>) -> Histogram<u64> {
        let mut h = Histogram::new_with_bounds(1, 2, 3).unwrap();
        h.auto(true);
        for v in values {
            h.record(v).unwrap();
        }
        h
    }

    #[test]
    fn two_samples_of_one_distribution_read_same_and_a_shift_does_not() {
        // Two runs of the same uniform spread of latencies, sampled in different orders.
        let a = histogram((0..20_000u64).map(|i| 100 + (i * 7919) % 1000));
        let b = histogram((0..20_000u64).map(|i| 100 + (i * 104_729 + 3) % 1000));
        let shifted = histogram((0..20_000u64).map(|i| 130 + (i * 7919) % 1000));
        for stat in [Stat::P50, Stat::P90, Stat::P99, Stat::Mean] {
            let (sa, sb) = (of_histogram(&a, stat), of_histogram(&b, stat));
            assert!(sa.overlaps(&sb), "{stat:?}: {sa:?} {sb:?}");
            assert!(
                !sa.overlaps(&of_histogram(&shifted, stat)),
                "{stat:?} shifted by 30us"
            );
        }
    }

    #[test]
    fn few_samples_allow_more() {
        let few = histogram((0..50u64).map(|i| 100 + i * 20));
        let many = histogram((0..50_000u64).map(|i| 100 + (i % 50) * 20));
        let (f, m) = (
            of_histogram(&few, Stat::P99),
            of_histogram(&many, Stat::P99),
        );
        assert!(f.high - f.low > m.high - m.low, "{f:?} {m:?}");
    }

    #[test]
    fn counts_are_poisson() {
        assert!(of_count(10_000).overlaps(&of_count(10_100)));
        assert!(!of_count(10_000).overlaps(&of_count(11_000)));
    }
}
