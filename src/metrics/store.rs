//! The metrics store: lanes' recorders and counters, phases, series, outages and the published
//! snapshot.

use super::e2e::E2eBook;
use super::histo::{Stage, StageSet};
use super::phase::{LaneResult, Outage, PhaseResult};
use super::recorder::{CounterValues, Counters, Recorders};
use super::snapshot::{LaneSnapshot, PhaseStats, SeriesPoint, Snapshot};
use crate::brokers::{Availability, BrokerStatus};
use crate::vocab::{Finding, Knobs, PhaseMode};
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Points kept per lane for sparklines: ten minutes at one tick a second.
const SERIES_LEN: usize = 600;
/// Shortest stats interval that makes a series point (a knob change may drain in between).
const MIN_INTERVAL_S: f64 = 0.05;

/// Runs the analysis over a phase's results, one list of findings per lane. The layer that owns
/// the rules hands it to the store, which runs it once when a phase closes and on each tick for
/// the current phase.
pub type Analyser = Box<dyn Fn(&PhaseResult) -> Vec<Vec<Finding>> + Send + Sync>;

/// An analyser that finds nothing, for stores whose results nobody reads for advice.
pub fn no_analysis() -> Analyser {
    Box::new(|p: &PhaseResult| vec![Vec::new(); p.lanes.len()])
}

/// Asks the allocator to return the memory the store freed to the system. glibc keeps freed
/// memory in its arenas, so without this the resident size would stay at the high-water mark of
/// the worst burst the run has seen. It walks the arenas (a fraction of a millisecond): call it
/// off the async workers, after a [tick](MetricsStore::tick) that freed something.
pub fn give_back_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointers; it only releases free pages of the arenas.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Logs, at debug level under the `pubduel::memory` target, what the allocator holds (the bytes
/// in use, those it keeps free in its arenas, those mapped on their own) and how much of it the
/// histograms take: the recording stripes, the sets refilled every tick, and those that
/// accumulate (phase, warm-up, run, closed phases). Resident memory that grows while `in use`
/// does not is the allocator's, not pubduel's data (`benches/soak.sh` prints these each minute).
/// Reads nothing unless that log is on.
pub fn log_heap(store: &MetricsStore) {
    if !tracing::enabled!(target: "pubduel::memory", tracing::Level::DEBUG) {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallinfo2 takes nothing and only reads the allocator's counters.
        let m = unsafe { libc::mallinfo2() };
        let h = store.histogram_bytes();
        tracing::debug!(
            target: "pubduel::memory",
            "heap: in use {} kB, free in arenas {} kB, mapped {} kB; histograms: stripes {} kB, \
             ticks {} kB, accumulated {} kB",
            m.uordblks / 1024,
            m.fordblks / 1024,
            m.hblkhd / 1024,
            h.stripes / 1024,
            h.ticks / 1024,
            h.accumulated / 1024
        );
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = store;
}

/// What the store's histograms take, in bytes ([`MetricsStore::histogram_bytes`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct HistogramBytes {
    /// The lanes' recording stripes and their spares.
    pub stripes: usize,
    /// Sets refilled every tick: the tick's scratch set, the pending and the interval set.
    pub ticks: usize,
    /// Sets that keep every sample: the phase's (measured and warm-up), the run's, closed phases'.
    pub accumulated: usize,
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

/// An outage as the store follows it, on the monotonic clock.
#[derive(Debug, Clone)]
struct OutageSpan {
    start: Instant,
    end: Option<Instant>,
    reason: String,
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
}

/// Everything the store keeps about one lane.
struct LaneState {
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
    status: Arc<BrokerStatus>,
    outages: Vec<OutageSpan>,
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
    lanes: Vec<LaneState>,
    /// Closed intervals not yet taken, when someone takes them.
    intervals: Option<Vec<IntervalRecord>>,
    /// Histograms were freed since the last tick (a burst's grown ones, a closed phase's).
    freed: bool,
}

/// The one shared metrics store of a run.
pub struct MetricsStore {
    analyse: Analyser,
    warmup: Duration,
    lanes: Vec<Arc<LaneMetrics>>,
    inner: Mutex<Inner>,
    snapshot: Mutex<Arc<Snapshot>>,
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
            .map(|(_, knobs)| LaneState {
                phase: PhaseLane::new(*knobs, start, warmup, CounterValues::default()),
                last_values: CounterValues::default(),
                pending: StageSet::default(),
                drained: StageSet::default(),
                run: StageSet::accumulating(),
                interval: StageSet::default(),
                series: VecDeque::new(),
                status: BrokerStatus::new(),
                outages: Vec::new(),
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
                freed: false,
            }),
            snapshot: Mutex::new(Arc::new(Snapshot::default())),
        };
        store.publish(&store.inner.lock(), start);
        store
    }

    /// What the histograms take now, by kind of set (for the memory log).
    pub fn histogram_bytes(&self) -> HistogramBytes {
        let stripes = self.lanes.iter().map(|l| l.recorders.bytes()).sum();
        let inner = self.inner.lock();
        let mut b = HistogramBytes {
            stripes,
            ..HistogramBytes::default()
        };
        for l in &inner.lanes {
            b.ticks += l.pending.bytes() + l.drained.bytes() + l.interval.bytes();
            b.accumulated += l.run.bytes() + l.phase.measured.bytes() + l.phase.warm.bytes();
        }
        for lane in inner.closed.iter().flat_map(|p| &p.lanes) {
            b.accumulated += lane.measured.bytes() + lane.warm.bytes();
        }
        b
    }

    /// The recording handles of every lane, in lane order.
    pub fn lanes(&self) -> &[Arc<LaneMetrics>] {
        &self.lanes
    }

    /// Follows the broker availability of lane `lane` as its client reports it.
    pub fn watch_status(&self, lane: usize, status: Arc<BrokerStatus>) {
        if let Some(l) = self.inner.lock().lanes.get_mut(lane) {
            l.status = status;
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
        self.publish(&inner, now);
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
    /// publishes a new snapshot. Returns true when histograms were freed since the last tick, so
    /// the caller can [give the memory back](give_back_memory).
    pub fn tick(&self, now: Instant) -> bool {
        let mut inner = self.inner.lock();
        self.drain(&mut inner, now, false);
        self.publish(&inner, now);
        std::mem::take(&mut inner.freed)
    }

    /// Closes the current phase at `now` and opens the next with `knobs` (one per lane); the
    /// closed phase is analysed once, here.
    pub fn begin_phase(&self, now: Instant, knobs: &[Knobs], paused: bool, note: Option<String>) {
        let mut inner = self.inner.lock();
        self.drain(&mut inner, now, false);
        // One reading closes the old phase and opens the new one, so no message falls between.
        let values: Vec<CounterValues> = self.lanes.iter().map(|l| l.counters.values()).collect();
        let closed = self.result_with(&inner, now, &values);
        inner.closed.push(closed);
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
        // The closed phase will not record again: its histograms are kept compressed, so a run
        // of thousands of phases stays small.
        for l in inner
            .closed
            .last_mut()
            .into_iter()
            .flat_map(|p| p.lanes.iter_mut())
        {
            Arc::make_mut(&mut l.measured).pack();
            Arc::make_mut(&mut l.warm).pack();
        }
        inner.freed = true;
        self.publish(&inner, now);
    }

    /// Every phase so far, the current one closed as of `now` (for reports); the interval up to
    /// `now` closes too, however short.
    pub fn phases(&self, now: Instant) -> Vec<PhaseResult> {
        let mut inner = self.inner.lock();
        self.drain(&mut inner, now, true);
        let mut all = inner.closed.clone();
        all.push(self.result_now(&inner, now));
        all
    }

    /// The latest snapshot (a cheap `Arc` clone).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.snapshot.lock())
    }

    /// Drains the recorders into the phase; closes the interval when it is long enough to make a
    /// series point, or when `close` says so.
    fn drain(&self, inner: &mut Inner, now: Instant, close: bool) {
        let dt = now.saturating_duration_since(inner.last_tick).as_secs_f64();
        let close = dt > MIN_INTERVAL_S || (close && dt > 0.0);
        let warm_done = now >= inner.phase.measure_from;
        let mut freed = false;
        for (lane, metrics) in inner.lanes.iter_mut().zip(&self.lanes) {
            track_outages(lane);
            let drained = &mut lane.drained;
            freed |= metrics.recorders.drain_into(drained);
            if warm_done {
                Arc::make_mut(&mut lane.phase.measured).merge(drained);
                lane.run.merge(drained);
                if lane.phase.measure_base.is_none() {
                    lane.phase.measure_base = Some((now, metrics.counters.values()));
                    // The warm-up will not record again.
                    Arc::make_mut(&mut lane.phase.warm).pack();
                    freed = true;
                }
            } else {
                Arc::make_mut(&mut lane.phase.warm).merge(drained);
            }
            lane.pending.merge(drained);
            freed |= drained.clear();
        }
        inner.freed |= freed;
        if close {
            self.close_interval(inner, now, dt);
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
            inner.freed |= lane.pending.clear();
            let interval = &lane.interval;
            let p99 = |s: Stage| interval.summary(s).map_or(0, |v| v.p99_us);
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

    /// The current phase's results as of `now`, with its findings.
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
                result.outages = (lane.outages.iter())
                    .filter(|o| o.end.is_none_or(|e| e >= phase.start))
                    .map(|o| outage_view(i, o, inner.start, now))
                    .collect();
                result
            })
            .collect();
        let since_start = |t: Instant| t.saturating_duration_since(phase.start).as_secs_f64();
        let mut closed = PhaseResult {
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
        };
        let found = (self.analyse)(&closed);
        for (lane, found) in closed.lanes.iter_mut().zip(found) {
            lane.findings = found;
        }
        closed
    }

    fn publish(&self, inner: &Inner, now: Instant) {
        let current = self.result_now(inner, now);
        let lanes = self
            .lanes
            .iter()
            .zip(&inner.lanes)
            .zip(current.lanes)
            .map(|((metrics, state), lp)| lane_snapshot(metrics, state, lp))
            .collect();
        let mut phase_starts: Vec<f64> = inner.closed.iter().map(|p| p.start_s).collect();
        phase_starts.push(current.start_s);
        let snap = Snapshot {
            elapsed: now.saturating_duration_since(inner.start),
            phase: current.index,
            phase_elapsed: now.saturating_duration_since(inner.phase.start),
            phase_starts,
            paused: inner.phase.paused,
            note: inner.phase.note.clone(),
            lanes,
        };
        *self.snapshot.lock() = Arc::new(snap);
    }
}

fn lane_snapshot(metrics: &LaneMetrics, state: &LaneState, lp: LaneResult) -> LaneSnapshot {
    LaneSnapshot {
        name: metrics.name.clone(),
        knobs: lp.knobs,
        total: metrics.counters.values(),
        in_flight: metrics.counters.in_flight(),
        phase: PhaseStats {
            mode: lp.mode,
            counts: lp.counts,
            throughput: lp.throughput,
            sent_rate: lp.sent_rate,
            stages: lp.reported().summaries(),
            warmup_only: lp.warmup_only,
        },
        interval: state.interval.summaries(),
        run: state.run.summaries(),
        series: state.series.iter().copied().collect(),
        last_error: metrics.last_error.lock().clone(),
        unavailable: (lp.outages.iter())
            .find(|o| o.ongoing)
            .map(|o| (o.start_s, o.reason.clone())),
        findings: lp.findings,
    }
}

fn lane_result(
    open: &PhaseLane,
    metrics: &LaneMetrics,
    values: CounterValues,
    start: Instant,
    now: Instant,
) -> LaneResult {
    let counts = values.since(&open.base);
    let (from, base) = open.measure_base.unwrap_or((start, open.base));
    let measured_part = values.since(&base);
    let secs = now.saturating_duration_since(from).as_secs_f64();
    // A measured span shorter than a quarter second says little: fall back to the whole phase.
    let (span, part) = if secs >= 0.25 {
        (secs, measured_part)
    } else {
        (now.saturating_duration_since(start).as_secs_f64(), counts)
    };
    let per_s = |n: u64| if span > 0.0 { n as f64 / span } else { 0.0 };
    LaneResult {
        name: metrics.name.clone(),
        knobs: open.knobs,
        mode: PhaseMode::of(&open.knobs),
        counts,
        throughput: per_s(part.acked),
        sent_rate: per_s(part.sent),
        measured: Arc::clone(&open.measured),
        warm: Arc::clone(&open.warm),
        warmup_only: open.measured.is_empty() && !open.warm.is_empty(),
        in_flight_end: metrics.counters.in_flight(),
        series: Vec::new(),
        outages: Vec::new(),
        findings: Vec::new(),
        e2e: None,
    }
}

/// Turns a lane's availability changes into outages (a short blip between two ticks included).
fn track_outages(lane: &mut LaneState) {
    for change in lane.status.take_changes() {
        let open = lane.outages.last_mut().filter(|o| o.end.is_none());
        match (change, open) {
            (Availability::Down(start, reason), None) => lane.outages.push(OutageSpan {
                start,
                end: None,
                reason,
            }),
            (Availability::Up(at), Some(o)) => o.end = Some(at.max(o.start)),
            _ => {}
        }
    }
}

fn outage_view(lane: usize, o: &OutageSpan, run_start: Instant, now: Instant) -> Outage {
    let end = o.end.unwrap_or(now).max(o.start);
    Outage {
        lane,
        start_s: o.start.saturating_duration_since(run_start).as_secs_f64(),
        duration_s: end.saturating_duration_since(o.start).as_secs_f64(),
        ongoing: o.end.is_none(),
        reason: o.reason.clone(),
    }
}

#[cfg(test)]
mod tests;
