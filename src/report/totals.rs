//! A lane over the whole run, from the report itself: histograms merged exactly across phases,
//! counts summed. Thresholds (`--assert`) are checked on it.

use super::threshold::{LaneStat, Metric, Threshold};
use super::{AssertionReport, LaneReport, Report};
use crate::metrics::StageSummary;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;

/// One lane over every phase of a run.
#[derive(Debug, Clone)]
pub struct LaneTotals {
    /// Lane name.
    pub name: String,
    /// Every measured sample per stage (warm-up left out, as in each phase).
    pub stages: BTreeMap<String, Histogram<u64>>,
    /// Messages sent.
    pub sent: u64,
    /// Messages acked.
    pub acked: u64,
    /// Failed submits and acks.
    pub errors: u64,
    /// End to end: acked messages the consumer never saw (when it ran).
    pub missing: Option<u64>,
    /// Acked msg/s over the measured parts of the phases.
    pub throughput: f64,
}

impl LaneTotals {
    fn new(name: &str) -> LaneTotals {
        LaneTotals {
            name: name.to_string(),
            stages: BTreeMap::new(),
            sent: 0,
            acked: 0,
            errors: 0,
            missing: None,
            throughput: 0.0,
        }
    }

    /// The value of `metric` on this lane, if it has one.
    pub fn value(&self, metric: Metric) -> Option<f64> {
        match metric {
            Metric::Stage(stage, stat) => {
                let h = self.stages.get(stage.as_str()).filter(|h| !h.is_empty())?;
                Some(stat.of(&StageSummary::of(h)))
            }
            Metric::Lane(LaneStat::Throughput) => Some(self.throughput),
            Metric::Lane(LaneStat::Acked) => Some(self.acked as f64),
            Metric::Lane(LaneStat::Sent) => Some(self.sent as f64),
            Metric::Lane(LaneStat::Errors) => Some(self.errors as f64),
            Metric::Lane(LaneStat::Missing) => self.missing.map(|m| m as f64),
        }
    }
}

/// The seconds of a phase whose samples the lane reports: after warm-up, or all of it when the
/// phase never got past its warm-up.
fn measured_s(duration_s: f64, warmup_s: f64, lane: &LaneReport) -> f64 {
    if lane.warmup_only {
        duration_s
    } else {
        (duration_s - warmup_s).max(0.0)
    }
}

impl Report {
    /// Every lane over the whole run, in lane order. Stages of schema 1 reports (no histograms)
    /// are left empty; a histogram that does not decode was refused when the report was loaded.
    pub fn totals(&self) -> Vec<LaneTotals> {
        let mut lanes: Vec<LaneTotals> = Vec::new();
        let mut spans: Vec<f64> = Vec::new();
        for phase in &self.phases {
            for l in &phase.lanes {
                let i = match lanes.iter().position(|t| t.name == l.name) {
                    Some(i) => i,
                    None => {
                        lanes.push(LaneTotals::new(&l.name));
                        spans.push(0.0);
                        lanes.len() - 1
                    }
                };
                let t = &mut lanes[i];
                t.sent += l.sent;
                t.acked += l.acked;
                t.errors += l.errors;
                if let Some(m) = l.missing {
                    t.missing = Some(t.missing.unwrap_or(0) + m);
                }
                let span = measured_s(phase.duration_s, phase.warmup_s, l);
                t.throughput += l.throughput * span;
                spans[i] += span;
                for (name, stage) in &l.stages {
                    if let Ok(Some(h)) = stage.decode() {
                        merge_into(&mut t.stages, name, &h);
                    }
                }
            }
        }
        for (t, span) in lanes.iter_mut().zip(spans) {
            t.throughput = if span > 0.0 { t.throughput / span } else { 0.0 };
        }
        lanes
    }

    /// Checks `thresholds` on the whole run, one entry per threshold and lane it covers, and
    /// keeps the results in `assertions`. Returns whether all held.
    pub fn check(&mut self, thresholds: &[Threshold]) -> bool {
        let totals = self.totals();
        self.assertions = thresholds
            .iter()
            .flat_map(|th| {
                let covered: Vec<&LaneTotals> =
                    totals.iter().filter(|t| th.covers(&t.name)).collect();
                let missing_lane = covered.is_empty().then(|| AssertionReport {
                    expr: th.text.clone(),
                    lane: th.lane.clone().unwrap_or_default(),
                    value: None,
                    unit: th.metric.unit().into(),
                    passed: false,
                    cause: None,
                });
                covered
                    .into_iter()
                    .map(|t| {
                        let value = t.value(th.metric);
                        AssertionReport {
                            expr: th.text.clone(),
                            lane: t.name.clone(),
                            value: value.map(|v| (v * 10.0).round() / 10.0),
                            unit: th.metric.unit().into(),
                            passed: value.is_some_and(|v| th.passes(v)),
                            cause: None,
                        }
                    })
                    .chain(missing_lane)
                    .collect::<Vec<_>>()
            })
            .collect();
        self.assertions.iter().all(|a| a.passed)
    }
}

/// Adds `h` into the histogram of `name` in `into`.
pub(crate) fn merge_into(
    into: &mut BTreeMap<String, Histogram<u64>>,
    name: &str,
    h: &Histogram<u64>,
) {
    match into.get_mut(name) {
        // Both came from auto-resizing histograms, so adding cannot run out of range.
        Some(mine) => {
            let _ = mine.add(h);
        }
        None => {
            let mut mine = h.clone();
            mine.auto(true);
            into.insert(name.to_string(), mine);
        }
    }
}
