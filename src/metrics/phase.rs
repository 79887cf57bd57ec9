//! A phase's results: what each lane did while the knobs stayed the same, and the outages.

use super::e2e::E2eCounts;
use super::histo::StageSet;
use super::recorder::CounterValues;
use super::snapshot::SeriesPoint;
use crate::vocab::{Finding, Knobs, PhaseMode};
use std::sync::Arc;

/// A stretch of time in which a lane's broker could not be reached.
#[derive(Debug, Clone, PartialEq)]
pub struct Outage {
    /// Lane position.
    pub lane: usize,
    /// Start, seconds since the run started.
    pub start_s: f64,
    /// Length in seconds (up to now while it lasts).
    pub duration_s: f64,
    /// Whether the broker was still away when this was read.
    pub ongoing: bool,
    /// What the client said when it lost the broker.
    pub reason: String,
}

/// One lane's results for one phase (closed, or the current one as of now).
#[derive(Clone)]
pub struct LaneResult {
    /// Lane name.
    pub name: String,
    /// Knobs in force during the phase.
    pub knobs: Knobs,
    /// Open or closed loop.
    pub mode: PhaseMode,
    /// Counter growth within the phase.
    pub counts: CounterValues,
    /// Acked msg/s over the measured part (or the whole phase when it never got past warm-up).
    pub throughput: f64,
    /// Sent msg/s over the same span.
    pub sent_rate: f64,
    /// Samples after warm-up (shared with the live phase until it records again).
    pub measured: Arc<StageSet>,
    /// Samples during warm-up.
    pub warm: Arc<StageSet>,
    /// True when the phase ended inside its warm-up: percentiles then come from `warm`.
    pub warmup_only: bool,
    /// Messages in flight when the phase ended.
    pub in_flight_end: u64,
    /// The per-tick series points that fall in this phase.
    pub series: Vec<SeriesPoint>,
    /// Times the lane's broker was away during this phase.
    pub outages: Vec<Outage>,
    /// What the numbers mean: the analysis, run once when the phase closed (and on every tick
    /// for the current phase).
    pub findings: Vec<Finding>,
    /// End to end: what became of the messages this phase published (with `--e2e`).
    pub e2e: Option<E2eCounts>,
}

impl LaneResult {
    /// The samples to report: measured ones, or the warm-up's when there are none.
    pub fn reported(&self) -> &StageSet {
        if self.warmup_only {
            &self.warm
        } else {
            &self.measured
        }
    }

    /// A lane `name` under `knobs` that measured nothing, for tests to fill in what they need.
    #[cfg(test)]
    pub(crate) fn empty(name: &str, knobs: Knobs) -> LaneResult {
        LaneResult {
            name: name.into(),
            knobs,
            mode: PhaseMode::of(&knobs),
            counts: CounterValues::default(),
            throughput: 0.0,
            sent_rate: 0.0,
            measured: Arc::default(),
            warm: Arc::default(),
            warmup_only: false,
            in_flight_end: 0,
            series: Vec::new(),
            outages: Vec::new(),
            findings: Vec::new(),
            e2e: None,
        }
    }
}

/// A phase's results: a stretch of time with constant knobs, closed or (the current one) as of now.
#[derive(Clone)]
pub struct PhaseResult {
    /// 0-based phase number.
    pub index: u32,
    /// Start, in seconds since the run started.
    pub start_s: f64,
    /// Length in seconds.
    pub duration_s: f64,
    /// Warm-up left out of the percentiles, in seconds.
    pub warmup_s: f64,
    /// Whether publishing was paused.
    pub paused: bool,
    /// The caption of the scripted step that opened the phase, if any.
    pub note: Option<String>,
    /// One entry per lane.
    pub lanes: Vec<LaneResult>,
    /// What the host did over the measured part of the phase, when it was watched.
    pub host: Option<super::host::HostLoad>,
}

/// Every outage seen in `phases`, once each, as last seen (a later phase sees it longer),
/// ordered by start.
pub fn outages_of(phases: &[PhaseResult]) -> Vec<Outage> {
    let mut all: Vec<Outage> = Vec::new();
    for o in phases
        .iter()
        .flat_map(|p| p.lanes.iter().flat_map(|l| &l.outages))
    {
        match all
            .iter_mut()
            .find(|x| x.lane == o.lane && x.start_s == o.start_s)
        {
            Some(x) if o.duration_s > x.duration_s || !o.ongoing => *x = o.clone(),
            Some(_) => {}
            None => all.push(o.clone()),
        }
    }
    all.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
    all
}
