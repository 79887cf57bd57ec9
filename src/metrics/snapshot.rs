//! The cloned view of the metrics that front ends render from.

use super::histo::StageSummary;
use super::recorder::CounterValues;
use crate::vocab::Finding;
use crate::vocab::Knobs;
use crate::vocab::PhaseMode;
use crate::vocab::Stage;
use std::time::Duration;

/// Everything a front end needs for one frame; built on the stats tick, shared as an `Arc`.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Time since the run started.
    pub elapsed: Duration,
    /// Index of the current phase (0-based).
    pub phase: u32,
    /// Time since the current phase started.
    pub phase_elapsed: Duration,
    /// Run times (seconds) at which each phase started, for marks on the timeline.
    pub phase_starts: Vec<f64>,
    /// Whether publishing is paused.
    pub paused: bool,
    /// The caption of the scripted step that opened the current phase, if any.
    pub note: Option<String>,
    /// One entry per lane, in lane order.
    pub lanes: Vec<LaneSnapshot>,
    /// Where the lanes run when not in this process (`agents 3/3  max-pending per agent`).
    pub source: Option<String>,
}

/// One lane's view: knobs, counters, percentiles and the per-second series.
#[derive(Debug, Clone, Default)]
pub struct LaneSnapshot {
    /// Lane name (`kafka`, `nats`).
    pub name: String,
    /// Knobs in force.
    pub knobs: Knobs,
    /// Counters since the run started.
    pub total: CounterValues,
    /// Messages in flight now.
    pub in_flight: u64,
    /// The current phase's counts and percentiles.
    pub phase: PhaseStats,
    /// Percentiles of the last interval (about one second).
    pub interval: Vec<(Stage, StageSummary)>,
    /// Percentiles of every measured sample of the run so far (each phase's warm-up left out).
    pub run: Vec<(Stage, StageSummary)>,
    /// One point per stats tick over the last few minutes.
    pub series: Vec<SeriesPoint>,
    /// The latest broker error, if any.
    pub last_error: Option<String>,
    /// While the lane's broker cannot be reached: since when (run seconds) and why.
    pub unavailable: Option<(f64, String)>,
    /// What the numbers of the current phase mean.
    pub findings: Vec<Finding>,
}

/// Counts, throughput and percentiles of one lane within one phase.
#[derive(Debug, Clone, Default)]
pub struct PhaseStats {
    /// Open or closed loop.
    pub mode: PhaseMode,
    /// Counter growth within the phase.
    pub counts: CounterValues,
    /// Acked messages per second over the measured part of the phase.
    pub throughput: f64,
    /// Sent messages per second over the measured part of the phase.
    pub sent_rate: f64,
    /// Percentiles per stage: after warm-up, or of the warm-up when nothing else is there yet.
    pub stages: Vec<(Stage, StageSummary)>,
    /// True while the percentiles come from the warm-up only.
    pub warmup_only: bool,
}

impl PhaseStats {
    /// The summary of `stage`, if it has samples.
    pub fn stage(&self, stage: Stage) -> Option<&StageSummary> {
        self.stages
            .iter()
            .find(|(s, _)| *s == stage)
            .map(|(_, v)| v)
    }
}

/// One stats tick of one lane, for sparklines.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SeriesPoint {
    /// Run time at the end of the interval, in seconds.
    pub t_s: f64,
    /// Phase the interval belongs to.
    pub phase: u32,
    /// Messages sent per second.
    pub sent_per_s: f64,
    /// Messages acked per second.
    pub acked_per_s: f64,
    /// Submit p99 in the interval (0 when none).
    pub submit_p99_us: u64,
    /// Ack p99 in the interval (0 when none).
    pub ack_p99_us: u64,
    /// Ack p99 in the interval from the actual start (open loop; 0 in closed loop or when none):
    /// the broker's part, without the wait for the schedule.
    pub ack_raw_p99_us: u64,
    /// End-to-end p99 in the interval (0 when none).
    pub e2e_p99_us: u64,
    /// Messages in flight at the tick.
    pub in_flight: u64,
    /// Every stage's quantiles in the interval, by [`Stage::index`] (all 0 for a stage without
    /// samples): the per-second figures `compare` judges a change by.
    pub quantiles: [Quantiles; Stage::ALL.len()],
}

impl SeriesPoint {
    /// The quantiles of `stage` in the interval (all 0 when it had no samples).
    pub fn quantiles(&self, stage: Stage) -> Quantiles {
        self.quantiles[stage.index()]
    }
}

/// One stage's p50, p90, p99, p99.9 and max within one interval, microseconds (0 when the
/// interval had no samples; a latency is at least 1 us).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quantiles {
    /// Median.
    pub p50_us: u32,
    /// 90th percentile.
    pub p90_us: u32,
    /// 99th percentile.
    pub p99_us: u32,
    /// 99.9th percentile.
    pub p999_us: u32,
    /// Largest sample.
    pub max_us: u32,
}

impl Quantiles {
    /// The quantiles of a summary (every latency fits: histograms stop at 60 s).
    pub fn of(s: &StageSummary) -> Quantiles {
        let narrow = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        Quantiles {
            p50_us: narrow(s.p50_us),
            p90_us: narrow(s.p90_us),
            p99_us: narrow(s.p99_us),
            p999_us: narrow(s.p999_us),
            max_us: narrow(s.max_us),
        }
    }
}
