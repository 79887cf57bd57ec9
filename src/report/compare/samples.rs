//! What one side of a row holds: each run's figure with its range of chance, the figure of each
//! measured second, and for a group of runs the median figure and the seconds of all its runs.

use super::spread::{self, Spread};
use super::verdict::{median, Side};
use crate::report::threshold::{LaneStat, Metric, Stat};
use crate::report::{LaneReport, PhaseReport, SeriesReport, SeriesStageReport};

/// A point shorter than this (seconds) is not a whole second: a phase's partial last one.
const FULL_SECOND_S: f64 = 0.75;
/// Slack for a tick that lands just before a warm-up's end, seconds.
const EDGE_S: f64 = 0.02;

/// One run's lane in the phase being compared, with that phase.
pub type RunLane<'a> = (&'a PhaseReport, &'a LaneReport);

/// A figure of a lane with its range of chance by the older rule ([`spread`]).
pub fn figure(l: &LaneReport, m: Metric) -> Option<Spread> {
    match m {
        Metric::Stage(stage, stat) => spread::of_stage(l.stages.get(stage.as_str())?, stat),
        Metric::Lane(LaneStat::Throughput) => Some(spread::of_throughput(l)),
        Metric::Lane(LaneStat::Acked) => Some(spread::of_count(l.acked)),
        Metric::Lane(LaneStat::Sent) => Some(spread::of_count(l.sent)),
        Metric::Lane(LaneStat::Errors) => Some(spread::of_count(l.errors)),
        Metric::Lane(LaneStat::Missing) => l.missing.map(spread::of_count),
    }
}

/// Whether `m` is a count, judged by Poisson ranges rather than by its seconds.
pub fn is_count(m: Metric) -> bool {
    matches!(
        m,
        Metric::Lane(LaneStat::Acked | LaneStat::Sent | LaneStat::Errors | LaneStat::Missing)
    )
}

/// The positions in `series` of the phase's measured seconds: those that start after its
/// warm-up, less a final partial one. Each point ends at its `t_s` and starts where the one
/// before it ended (the first at the phase's start).
pub fn measured_seconds(phase: &PhaseReport, series: &SeriesReport) -> Vec<usize> {
    let from = phase.start_s + phase.warmup_s - EDGE_S;
    let mut start = phase.start_s;
    let mut kept = Vec::new();
    for (i, &end) in series.t_s.iter().enumerate() {
        if start >= from && end - start >= FULL_SECOND_S {
            kept.push(i);
        }
        start = end;
    }
    kept
}

/// The column of `stat` in a stage's per-second quantiles.
fn column(s: &SeriesStageReport, stat: Stat) -> Option<&[u64]> {
    match stat {
        Stat::P50 => Some(&s.p50_us),
        Stat::P90 => Some(&s.p90_us),
        Stat::P99 => Some(&s.p99_us),
        Stat::P999 => Some(&s.p999_us),
        Stat::Max => Some(&s.max_us),
        Stat::Mean => None,
    }
}

/// The figure `m` of each measured second of one run's lane: a stage's quantile (seconds
/// without samples of the stage left out) or the acked msg/s. Empty for counts, and for
/// stages of a report written before the per-second quantiles.
pub fn seconds((phase, lane): RunLane<'_>, m: Metric) -> Vec<f64> {
    let Some(series) = &lane.series else {
        return Vec::new();
    };
    let at = measured_seconds(phase, series);
    match m {
        Metric::Stage(stage, stat) => {
            let values = (series.stages.get(stage.as_str())).and_then(|s| column(s, stat));
            let Some(values) = values else {
                return Vec::new();
            };
            (at.iter().filter_map(|&i| values.get(i)))
                .filter(|&&v| v > 0)
                .map(|&v| v as f64)
                .collect()
        }
        Metric::Lane(LaneStat::Throughput) => (at.iter())
            .filter_map(|&i| series.acked_per_s.get(i).copied())
            .collect(),
        Metric::Lane(_) => Vec::new(),
    }
}

/// A group's side of the row of `m`: the median of its runs' figures, the seconds of all its
/// runs, each run's figure, and its runs' ranges of chance taken together. `None` when no run has the figure.
pub fn side(runs: &[RunLane<'_>], m: Metric) -> Option<Side> {
    let figures: Vec<Spread> = runs.iter().filter_map(|(_, l)| figure(l, m)).collect();
    let values: Vec<f64> = figures.iter().map(|f| f.value).collect();
    let value = median(&values)?;
    let low = figures.iter().map(|f| f.low).fold(f64::INFINITY, f64::min);
    let high = figures
        .iter()
        .map(|f| f.high)
        .fold(f64::NEG_INFINITY, f64::max);
    Some(Side {
        value,
        seconds: runs.iter().flat_map(|r| seconds(*r, m)).collect(),
        runs: values,
        spread: Spread { value, low, high },
    })
}
