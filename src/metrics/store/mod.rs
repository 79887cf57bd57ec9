//! The metrics store: lanes' recorders and counters, phases, series, outages and the published
//! snapshot.

mod memory;
mod outages;
mod view;

pub use memory::{log_heap, HistogramBytes};

use super::e2e::E2eBook;
use super::histo::StageSet;
use super::phase::PhaseResult;
use super::recorder::{CounterValues, Counters, Recorders};
use super::snapshot::{Quantiles, SeriesPoint, Snapshot};
use crate::brokers::BrokerStatus;
use crate::vocab::{Finding, Knobs, Stage};
use outages::OutageLog;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};
use view::{lane_result, snapshot_of};

/// Points kept per lane for sparklines: ten minutes at one tick a second.
const SERIES_LEN: usize = 600;
/// Shortest stats interval that makes a series point (a knob change may drain in between).
const MIN_INTERVAL_S: f64 = 0.05;

/// Runs the analysis over a phase's results, one list of findings per lane. The layer that owns
/// the rules hands it (through the engine) to the store, which runs it outside its lock: once
/// when a phase closes, and on each tick for the current phase.
pub type Analyser = Arc<dyn Fn(&PhaseResult) -> Vec<Vec<Finding>> + Send + Sync>;

/// An analyser that finds nothing, for stores whose results nobody reads for advice.
pub fn no_analysis() -> Analyser {
    Arc::new(|p: &PhaseResult| vec![Vec::new(); p.lanes.len()])
}

/// A lane's recording handles, shared with its workers.
pub struct LaneMetrics {
    /// Lane name.
    pub name: String,
    /// Counters and the in-flight gauge.
    pub counters: Arc<Counters>,
    /// Striped histogram recorders.
    pub recorders: Arc<Recorders>,
    /// End-to-end accounting by publishing phase (kept with `--e2e`).
    pub e2e: E2eBook,
    last_error: Mutex<Option<String>>,
}

impl LaneMetrics {
    /// Remembers the latest broker error, to show it in the lane.
    pub fn set_last_error(&self, message: String) {
        *self.last_error.lock() = Some(message);
    }
}

/// One lane's part of the phase that is still going on.
struct PhaseLane {
    knobs: Knobs,
    base: CounterValues,
    measure_base: Option<(Instant, CounterValues)>,
    /// Shared with the views handed out by `close`; copied only if one is still held when the
    /// next tick records (a report being written), never on every snapshot.
    measured: Arc<StageSet>,
    warm: Arc<StageSet>,
}

impl PhaseLane {
    fn new(knobs: Knobs, start: Instant, warmup: Duration, values: CounterValues) -> PhaseLane {
        PhaseLane {
            knobs,
            base: values,
            measure_base: warmup.is_zero().then_some((start, values)),
            measured: Arc::new(StageSet::accumulating()),
            warm: Arc::default(),
        }
    }
}

/// One lane's samples and counts between two stats ticks, for the interval log and the series
/// file; kept only when asked for ([`MetricsStore::keep_intervals`]).
#[derive(Clone)]
pub struct IntervalRecord {
    /// Lane position.
    pub lane: usize,
    /// The phase the interval ended in.
    pub phase: u32,
    /// Start, seconds since the run started.
    pub start_s: f64,
    /// End, seconds since the run started.
    pub end_s: f64,
    /// Counter growth within the interval.
    pub counts: CounterValues,
    /// Messages in flight at its end.
    pub in_flight: u64,
    /// Every sample recorded within it.
    pub stages: StageSet,
    /// Its samples are the phase's warm-up (left out of its percentiles): an interval never
    /// holds both, nor two phases' samples.
    pub warm: bool,
}

/// Everything the store keeps about one lane.
struct LaneBook {
    phase: PhaseLane,
    last_values: CounterValues,
    /// Samples drained since the last interval closed (a knob change may drain in between).
    pending: StageSet,
    /// The tick's scratch set: what the recorders held, before it goes to the phase and run.
    drained: StageSet,
    /// Every measured sample of the run (each phase's warm-up left out), for thresholds.
    run: StageSet,
    interval: StageSet,
    series: VecDeque<SeriesPoint>,
    outages: OutageLog,
}

/// The phase that is still going on.
struct LivePhase {
    index: u32,
    start: Instant,
    measure_from: Instant,
    paused: bool,
    note: Option<String>,
}

struct Inner {
    start: Instant,
    last_tick: Instant,
    closed: Vec<PhaseResult>,
    phase: LivePhase,
    lanes: Vec<LaneBook>,
    /// Closed intervals not yet taken, when someone takes them.
    intervals: Option<Vec<IntervalRecord>>,
}

/// The one shared metrics store of a run.
pub struct MetricsStore {
    analyse: Analyser,
    warmup: Duration,
    lanes: Vec<Arc<LaneMetrics>>,
    inner: Mutex<Inner>,
    snapshot: Mutex<Arc<Snapshot>>,
    /// Where the lanes run, when elsewhere ([`MetricsStore::set_source`]).
    source: Mutex<Option<String>>,
}

impl MetricsStore {
    /// A store for the given lanes and their first knobs; phase 0 starts at `start`.
    pub fn new(
        lanes: &[(String, Knobs)],
        analyse: Analyser,
        warmup: Duration,
        start: Instant,
    ) -> MetricsStore {
        let metrics = lanes
            .iter()
            .map(|(name, _)| {
                Arc::new(LaneMetrics {
                    name: name.clone(),
                    counters: Arc::default(),
                    recorders: Arc::default(),
                    e2e: E2eBook::default(),
                    last_error: Mutex::new(None),
                })
            })
            .collect();
        let states = lanes
            .iter()
            .map(|(_, knobs)| LaneBook {
                phase: PhaseLane::new(*knobs, start, warmup, CounterValues::default()),
                last_values: CounterValues::default(),
                pending: StageSet::default(),
                drained: StageSet::default(),
                run: StageSet::accumulating(),
                interval: StageSet::default(),
                series: VecDeque::new(),
                outages: OutageLog::new(),
            })
            .collect();
        let store = MetricsStore {
            analyse,
            warmup,
            lanes: metrics,
            inner: Mutex::new(Inner {
                start,
                last_tick: start,
                closed: Vec::new(),
                phase: LivePhase {
                    index: 0,
                    start,
                    measure_from: start + warmup,
                    paused: false,
                    note: None,
                },
                lanes: states,
                intervals: None,
            }),
            snapshot: Mutex::new(Arc::new(Snapshot::default())),
            source: Mutex::new(None),
        };
        store.publish_now(start);
        store
    }

    /// The recording handles of every lane, in lane order.
    pub fn lanes(&self) -> &[Arc<LaneMetrics>] {
        &self.lanes
    }

    /// Follows the broker availability of lane `lane` as its client reports it.
    pub fn watch_status(&self, lane: usize, status: Arc<BrokerStatus>) {
        if let Some(l) = self.inner.lock().lanes.get_mut(lane) {
            l.outages.watch(status);
        }
    }

    /// When the run started.
    pub fn start(&self) -> Instant {
        self.inner.lock().start
    }

    /// Moves the start of the run (and of phase 0) to `now`; for setup done before publishing.
    /// Only meaningful before the first tick.
    pub fn restart(&self, now: Instant) {
        let mut inner = self.inner.lock();
        inner.start = now;
        inner.last_tick = now;
        inner.phase.start = now;
        inner.phase.measure_from = now + self.warmup;
        for lane in inner.lanes.iter_mut() {
            if let Some(base) = lane.phase.measure_base.as_mut() {
                base.0 = now;
            }
        }
        drop(inner);
        self.publish_now(now);
    }

    /// The moment the current phase's warm-up ends, if it is still ahead of `now`.
    pub fn warmup_deadline(&self, now: Instant) -> Option<Instant> {
        let inner = self.inner.lock();
        let from = inner.phase.measure_from;
        let pending = inner.lanes.iter().any(|l| l.phase.measure_base.is_none());
        (pending && from > now).then_some(from)
    }

    /// Keeps every closed interval until [`MetricsStore::take_intervals`] takes it.
    pub fn keep_intervals(&self) {
        self.inner.lock().intervals.get_or_insert_with(Vec::new);
    }

    /// The intervals closed since the last call, in time order (empty unless kept).
    pub fn take_intervals(&self) -> Vec<IntervalRecord> {
        self.inner
            .lock()
            .intervals
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// The stats tick: drains recorders into interval and phase histograms, extends the series and
    /// publishes a new snapshot. The analysis runs after the store's lock is given back.
    pub fn tick(&self, now: Instant) {
        let (current, snap) = {
            let mut inner = self.inner.lock();
            self.drain(&mut inner, now, false);
            let current = self.result_now(&inner, now);
            let snap = snapshot_of(&self.lanes, &inner, &current, now);
            (current, snap)
        };
        self.publish(current, snap);
    }

    /// Closes the current phase at `now` and opens the next with `knobs` (one per lane); the
    /// closed phase is analysed once, here, outside the store's lock.
    pub fn begin_phase(&self, now: Instant, knobs: &[Knobs], paused: bool, note: Option<String>) {
        let (closed, current, snap) = {
            let mut inner = self.inner.lock();
            // The interval closes with the phase: no interval holds two phases' samples.
            self.drain(&mut inner, now, true);
            // One reading closes the old phase and opens the new one, so no message falls between.
            let values: Vec<CounterValues> =
                self.lanes.iter().map(|l| l.counters.values()).collect();
            let closed = self.result_with(&inner, now, &values);
            inner.closed.push(closed.clone());
            inner.phase = LivePhase {
                index: inner.phase.index + 1,
                start: now,
                measure_from: now + self.warmup,
                paused,
                note,
            };
            for ((lane, k), v) in inner.lanes.iter_mut().zip(knobs).zip(values) {
                lane.phase = PhaseLane::new(*k, now, self.warmup, v);
            }
            let current = self.result_now(&inner, now);
            let snap = snapshot_of(&self.lanes, &inner, &current, now);
            (closed, current, snap)
        };
        let index = closed.index;
        let found = (self.analyse)(&closed);
        // The views of its histograms are gone before they are packed, so nothing is copied.
        drop(closed);
        self.file_closed(index, found);
        self.publish(current, snap);
    }

    /// Gives closed phase `index` its findings and keeps its histograms compressed: it will not
    /// record again, so a run of thousands of phases stays small.
    fn file_closed(&self, index: u32, found: Vec<Vec<Finding>>) {
        let mut inner = self.inner.lock();
        if let Some(p) = inner.closed.iter_mut().rev().find(|p| p.index == index) {
            for (l, found) in p.lanes.iter_mut().zip(found) {
                l.findings = found;
                Arc::make_mut(&mut l.measured).pack();
                Arc::make_mut(&mut l.warm).pack();
            }
        }
    }

    /// Every phase so far, the current one closed as of `now` (for reports); the interval up to
    /// `now` closes too, however short. A closed phase's end-to-end counts are read again: the
    /// messages it published and the consumer saw after it closed still count for it.
    pub fn phases(&self, now: Instant) -> Vec<PhaseResult> {
        let (mut all, current) = {
            let mut inner = self.inner.lock();
            self.drain(&mut inner, now, true);
            (inner.closed.clone(), self.result_now(&inner, now))
        };
        for p in &mut all {
            for (lane, metrics) in p.lanes.iter_mut().zip(&self.lanes) {
                lane.e2e = metrics.e2e.counts(p.index);
            }
        }
        all.push(self.analysed(current));
        all
    }

    /// Publishes the snapshot of the phase going on as of `now`, drained or not.
    fn publish_now(&self, now: Instant) {
        let (current, snap) = {
            let inner = self.inner.lock();
            let current = self.result_now(&inner, now);
            let snap = snapshot_of(&self.lanes, &inner, &current, now);
            (current, snap)
        };
        self.publish(current, snap);
    }

    /// `result` with its findings.
    fn analysed(&self, mut result: PhaseResult) -> PhaseResult {
        let found = (self.analyse)(&result);
        for (lane, found) in result.lanes.iter_mut().zip(found) {
            lane.findings = found;
        }
        result
    }

    /// Says where the lanes run when they run elsewhere (agents), for every snapshot from now.
    pub fn set_source(&self, line: Option<String>) {
        *self.source.lock() = line;
    }

    /// Publishes `snap`, the snapshot of `current`, with the findings of `current`.
    fn publish(&self, current: PhaseResult, mut snap: Snapshot) {
        snap.source.clone_from(&self.source.lock());
        let current = self.analysed(current);
        for (lane, result) in snap.lanes.iter_mut().zip(current.lanes) {
            lane.findings = result.findings;
        }
        *self.snapshot.lock() = Arc::new(snap);
    }

    /// The latest snapshot (a cheap `Arc` clone).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.snapshot.lock())
    }

    /// Drains the recorders into the phase; closes the interval when it is long enough to make a
    /// series point, or when `close` says so.
    fn drain(&self, inner: &mut Inner, now: Instant, close: bool) {
        let mut dt = now.saturating_duration_since(inner.last_tick).as_secs_f64();
        let warm_done = now >= inner.phase.measure_from;
        let crossing = warm_done && inner.lanes.iter().any(|l| l.phase.measure_base.is_none());
        if crossing && dt > 0.0 {
            // What the recorders hold was recorded before the warm-up ended: it goes to the
            // warm-up's last interval, which closes before measured samples come in.
            self.take_samples(inner, now, false);
            self.close_interval(inner, now, dt);
            dt = 0.0;
        }
        self.take_samples(inner, now, warm_done);
        let close = dt > MIN_INTERVAL_S || (close && dt > 0.0);
        if close {
            self.close_interval(inner, now, dt);
        }
    }

    /// Moves what the recorders hold into the interval and the phase: its measured samples (and
    /// the run's) when `measured`, else its warm-up. The first measured take starts the phase's
    /// measured span at `now`.
    fn take_samples(&self, inner: &mut Inner, now: Instant, measured: bool) {
        for (lane, metrics) in inner.lanes.iter_mut().zip(&self.lanes) {
            lane.outages.track();
            let drained = &mut lane.drained;
            metrics.recorders.drain_into(drained);
            if measured {
                Arc::make_mut(&mut lane.phase.measured).merge(drained);
                lane.run.merge(drained);
                if lane.phase.measure_base.is_none() {
                    lane.phase.measure_base = Some((now, metrics.counters.values()));
                    // The warm-up will not record again.
                    Arc::make_mut(&mut lane.phase.warm).pack();
                }
            } else {
                Arc::make_mut(&mut lane.phase.warm).merge(drained);
            }
            lane.pending.merge(drained);
            drained.clear();
        }
    }

    /// Ends the interval since the last tick: a series point per lane, and a record when kept.
    fn close_interval(&self, inner: &mut Inner, now: Instant, dt: f64) {
        let (start_s, end_s) = (
            inner
                .last_tick
                .saturating_duration_since(inner.start)
                .as_secs_f64(),
            now.saturating_duration_since(inner.start).as_secs_f64(),
        );
        let phase = inner.phase.index;
        for (i, (lane, metrics)) in inner.lanes.iter_mut().zip(&self.lanes).enumerate() {
            let values = metrics.counters.values();
            let d = values.since(&lane.last_values);
            // The interval's samples move to `interval`; the set they replace is refilled next.
            std::mem::swap(&mut lane.pending, &mut lane.interval);
            lane.pending.clear();
            let interval = &lane.interval;
            let mut quantiles = [Quantiles::default(); Stage::ALL.len()];
            for (stage, summary) in interval.summaries() {
                quantiles[stage.index()] = Quantiles::of(&summary);
            }
            let p99 = |s: Stage| u64::from(quantiles[s.index()].p99_us);
            // A short closing interval (the end of the run) makes a record, not a spiky point.
            let point = (dt > MIN_INTERVAL_S).then_some(SeriesPoint {
                t_s: end_s,
                phase,
                sent_per_s: d.sent as f64 / dt,
                acked_per_s: d.acked as f64 / dt,
                submit_p99_us: p99(Stage::Submit),
                ack_p99_us: p99(Stage::Ack),
                ack_raw_p99_us: p99(Stage::AckRaw),
                e2e_p99_us: p99(Stage::E2e),
                in_flight: metrics.counters.in_flight(),
                quantiles,
            });
            if let Some(p) = point {
                if lane.series.len() == SERIES_LEN {
                    lane.series.pop_front();
                }
                lane.series.push_back(p);
            }
            if let Some(kept) = inner.intervals.as_mut() {
                kept.push(IntervalRecord {
                    lane: i,
                    phase,
                    start_s,
                    end_s,
                    counts: d,
                    in_flight: metrics.counters.in_flight(),
                    stages: interval.clone(),
                    warm: lane.phase.measure_base.is_none(),
                });
            }
            lane.last_values = values;
        }
        inner.last_tick = now;
    }

    fn result_now(&self, inner: &Inner, now: Instant) -> PhaseResult {
        let values: Vec<CounterValues> = self.lanes.iter().map(|l| l.counters.values()).collect();
        self.result_with(inner, now, &values)
    }

    /// The current phase's results as of `now`, before the analysis.
    fn result_with(&self, inner: &Inner, now: Instant, values: &[CounterValues]) -> PhaseResult {
        let phase = &inner.phase;
        let lanes = inner
            .lanes
            .iter()
            .zip(&self.lanes)
            .zip(values)
            .enumerate()
            .map(|(i, ((lane, metrics), v))| {
                let mut result = lane_result(&lane.phase, metrics, *v, phase.start, now);
                result.e2e = metrics.e2e.counts(phase.index);
                result.series = (lane.series.iter())
                    .filter(|p| p.phase == phase.index)
                    .copied()
                    .collect();
                result.outages = lane.outages.since(i, phase.start, inner.start, now);
                result
            })
            .collect();
        let since_start = |t: Instant| t.saturating_duration_since(phase.start).as_secs_f64();
        PhaseResult {
            index: phase.index,
            start_s: phase
                .start
                .saturating_duration_since(inner.start)
                .as_secs_f64(),
            duration_s: since_start(now),
            warmup_s: since_start(phase.measure_from),
            paused: phase.paused,
            note: phase.note.clone(),
            lanes,
            // The lanes of a run of agents publish on other hosts: this one's load says nothing.
            host: (self.source.lock().is_none())
                .then(|| super::host::between(phase.measure_from, now))
                .flatten(),
        }
    }
}

#[cfg(test)]
mod tests;
