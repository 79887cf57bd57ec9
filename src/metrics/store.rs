//! The metrics store: lanes' recorders and counters, phases, series and the published snapshot.

use super::histo::{Stage, StageSet};
use super::recorder::{CounterValues, Counters, Recorders};
use super::snapshot::{LaneSnapshot, PhaseStats, SeriesPoint, Snapshot};
use crate::analysis;
use crate::brokers::{Availability, BrokerStatus, Durability};
use crate::engine::Knobs;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Points kept per lane for sparklines: ten minutes at one tick a second.
const SERIES_LEN: usize = 600;

/// Whether a phase paces from a schedule (open loop) or publishes as fast as it can (closed loop).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PhaseMode {
    /// `rate` > 0: latencies are measured from the intended start.
    Open,
    /// `rate` = 0: no schedule, no correction.
    #[default]
    Closed,
}

impl PhaseMode {
    /// The mode that `knobs` run in.
    pub fn of(knobs: &Knobs) -> PhaseMode {
        if knobs.rate > 0 {
            PhaseMode::Open
        } else {
            PhaseMode::Closed
        }
    }

    /// `open` or `closed`.
    pub fn as_str(self) -> &'static str {
        match self {
            PhaseMode::Open => "open",
            PhaseMode::Closed => "closed",
        }
    }
}

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

/// An outage as the store follows it, on the monotonic clock.
#[derive(Debug, Clone)]
struct OutageSpan {
    lane: usize,
    start: Instant,
    end: Option<Instant>,
    reason: String,
}

/// A lane's recording handles, shared with its workers.
pub struct LaneMetrics {
    /// Lane name.
    pub name: String,
    /// Counters and the in-flight gauge.
    pub counters: Arc<Counters>,
    /// Striped histogram recorders.
    pub recorders: Arc<Recorders>,
    last_error: Mutex<Option<String>>,
}

impl LaneMetrics {
    /// Remembers the latest broker error, to show it in the lane.
    pub fn set_last_error(&self, message: String) {
        *self.last_error.lock() = Some(message);
    }
}

/// One lane's results for one phase (closed, or the current one as of now).
#[derive(Clone)]
pub struct LanePhase {
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
    /// Samples after warm-up (shared with the open phase until it records again).
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
}

impl LanePhase {
    /// The samples to report: measured ones, or the warm-up's when there are none.
    pub fn reported(&self) -> &StageSet {
        if self.warmup_only {
            &self.warm
        } else {
            &self.measured
        }
    }
}

/// A phase: a stretch of time with constant knobs.
#[derive(Clone)]
pub struct ClosedPhase {
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
    /// One entry per lane.
    pub lanes: Vec<LanePhase>,
}

struct OpenLane {
    knobs: Knobs,
    base: CounterValues,
    measure_base: Option<(Instant, CounterValues)>,
    /// Shared with the views handed out by `close`; copied only if one is still held when the
    /// next tick records (a report being written), never on every snapshot.
    measured: Arc<StageSet>,
    warm: Arc<StageSet>,
}

struct OpenPhase {
    index: u32,
    start: Instant,
    measure_from: Instant,
    paused: bool,
    lanes: Vec<OpenLane>,
}

struct Inner {
    start: Instant,
    closed: Vec<ClosedPhase>,
    current: OpenPhase,
    last_tick: Instant,
    last_values: Vec<CounterValues>,
    interval: Vec<StageSet>,
    series: Vec<VecDeque<SeriesPoint>>,
    statuses: Vec<Arc<BrokerStatus>>,
    outages: Vec<OutageSpan>,
}

/// The one shared metrics store of a run.
pub struct MetricsStore {
    durability: Vec<Durability>,
    warmup: Duration,
    lanes: Vec<Arc<LaneMetrics>>,
    inner: Mutex<Inner>,
    snapshot: Mutex<Arc<Snapshot>>,
}

impl MetricsStore {
    /// A store for the given lanes and their first knobs; phase 0 starts at `start`.
    pub fn new(
        lanes: &[(String, Knobs)],
        durability: Vec<Durability>,
        warmup: Duration,
        start: Instant,
    ) -> MetricsStore {
        let metrics: Vec<Arc<LaneMetrics>> = lanes
            .iter()
            .map(|(name, _)| {
                Arc::new(LaneMetrics {
                    name: name.clone(),
                    counters: Arc::default(),
                    recorders: Arc::default(),
                    last_error: Mutex::new(None),
                })
            })
            .collect();
        let knobs: Vec<Knobs> = lanes.iter().map(|(_, k)| *k).collect();
        let zero = vec![CounterValues::default(); lanes.len()];
        let current = open_phase(0, start, warmup, false, &knobs, &zero);
        let store = MetricsStore {
            durability,
            warmup,
            inner: Mutex::new(Inner {
                start,
                closed: Vec::new(),
                current,
                last_tick: start,
                last_values: zero,
                interval: vec![StageSet::default(); lanes.len()],
                series: vec![VecDeque::new(); lanes.len()],
                statuses: (0..lanes.len()).map(|_| BrokerStatus::new()).collect(),
                outages: Vec::new(),
            }),
            lanes: metrics,
            snapshot: Mutex::new(Arc::new(Snapshot::default())),
        };
        store.publish(&store.inner.lock(), start);
        store
    }

    /// The recording handles of every lane, in lane order.
    pub fn lanes(&self) -> &[Arc<LaneMetrics>] {
        &self.lanes
    }

    /// Follows the broker availability of lane `lane` as its client reports it.
    pub fn watch_status(&self, lane: usize, status: Arc<BrokerStatus>) {
        if let Some(s) = self.inner.lock().statuses.get_mut(lane) {
            *s = status;
        }
    }

    /// Every outage so far, as of `now`.
    pub fn outages(&self, now: Instant) -> Vec<Outage> {
        let mut inner = self.inner.lock();
        track_outages(&mut inner);
        inner
            .outages
            .iter()
            .map(|o| outage_view(o, inner.start, now))
            .collect()
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
        inner.current.start = now;
        inner.current.measure_from = now + self.warmup;
        for lane in inner.current.lanes.iter_mut() {
            if let Some(base) = lane.measure_base.as_mut() {
                base.0 = now;
            }
        }
        self.publish(&inner, now);
    }

    /// The moment the current phase's warm-up ends, if it is still ahead of `now`.
    pub fn warmup_deadline(&self, now: Instant) -> Option<Instant> {
        let inner = self.inner.lock();
        let from = inner.current.measure_from;
        let pending = inner.current.lanes.iter().any(|l| l.measure_base.is_none());
        (pending && from > now).then_some(from)
    }

    /// The stats tick: drains recorders into interval and phase histograms, extends the series and
    /// publishes a new snapshot.
    pub fn tick(&self, now: Instant) {
        let mut inner = self.inner.lock();
        self.drain(&mut inner, now);
        self.publish(&inner, now);
    }

    fn drain(&self, inner: &mut Inner, now: Instant) {
        track_outages(inner);
        let dt = now.saturating_duration_since(inner.last_tick).as_secs_f64();
        let t_s = now.saturating_duration_since(inner.start).as_secs_f64();
        let warm_done = now >= inner.current.measure_from;
        let phase = inner.current.index;
        for (i, lane) in self.lanes.iter().enumerate() {
            let mut interval = StageSet::default();
            lane.recorders.drain_into(&mut interval);
            let values = lane.counters.values();
            let open = &mut inner.current.lanes[i];
            if warm_done {
                Arc::make_mut(&mut open.measured).merge(&interval);
                open.measure_base.get_or_insert((now, values));
            } else {
                Arc::make_mut(&mut open.warm).merge(&interval);
            }
            if dt > 0.05 {
                let d = values.since(&inner.last_values[i]);
                let p99 = |s: Stage| interval.summary(s).map_or(0, |v| v.p99_us);
                let point = SeriesPoint {
                    t_s,
                    phase,
                    sent_per_s: d.sent as f64 / dt,
                    acked_per_s: d.acked as f64 / dt,
                    submit_p99_us: p99(Stage::Submit),
                    ack_p99_us: p99(Stage::Ack),
                    e2e_p99_us: p99(Stage::E2e),
                    in_flight: lane.counters.in_flight(),
                };
                let series = &mut inner.series[i];
                if series.len() == SERIES_LEN {
                    series.pop_front();
                }
                series.push_back(point);
                inner.last_values[i] = values;
                inner.interval[i] = interval;
            }
        }
        if dt > 0.05 {
            inner.last_tick = now;
        }
    }

    /// Closes the current phase at `now` and opens the next with `knobs` (one per lane).
    pub fn begin_phase(&self, now: Instant, knobs: &[Knobs], paused: bool) {
        let mut inner = self.inner.lock();
        self.drain(&mut inner, now);
        // One reading closes the old phase and opens the new one, so no message falls between.
        let values: Vec<CounterValues> = self.lanes.iter().map(|l| l.counters.values()).collect();
        let closed = self.close_with(&inner, now, &values);
        inner.closed.push(closed);
        let index = inner.current.index + 1;
        inner.current = open_phase(index, now, self.warmup, paused, knobs, &values);
        self.publish(&inner, now);
    }

    /// Every phase so far, the current one closed as of `now` (for reports).
    pub fn phases(&self, now: Instant) -> Vec<ClosedPhase> {
        let mut inner = self.inner.lock();
        self.drain(&mut inner, now);
        let mut all = inner.closed.clone();
        all.push(self.close(&inner, now));
        all
    }

    /// The latest snapshot (a cheap `Arc` clone).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.snapshot.lock())
    }

    fn close(&self, inner: &Inner, now: Instant) -> ClosedPhase {
        let values: Vec<CounterValues> = self.lanes.iter().map(|l| l.counters.values()).collect();
        self.close_with(inner, now, &values)
    }

    fn close_with(&self, inner: &Inner, now: Instant, values: &[CounterValues]) -> ClosedPhase {
        let phase = &inner.current;
        let lanes = phase
            .lanes
            .iter()
            .zip(self.lanes.iter())
            .zip(inner.series.iter())
            .zip(values)
            .map(|(((open, metrics), series), values)| {
                let mut lane = close_lane(open, metrics, *values, phase.start, now);
                lane.series = series
                    .iter()
                    .filter(|p| p.phase == phase.index)
                    .copied()
                    .collect();
                lane
            })
            .enumerate()
            .map(|(i, mut lane)| {
                lane.outages = inner
                    .outages
                    .iter()
                    .filter(|o| o.lane == i && o.end.is_none_or(|e| e >= phase.start))
                    .map(|o| outage_view(o, inner.start, now))
                    .collect();
                lane
            })
            .collect();
        ClosedPhase {
            index: phase.index,
            start_s: phase
                .start
                .saturating_duration_since(inner.start)
                .as_secs_f64(),
            duration_s: now.saturating_duration_since(phase.start).as_secs_f64(),
            warmup_s: phase
                .measure_from
                .saturating_duration_since(phase.start)
                .as_secs_f64(),
            paused: phase.paused,
            lanes,
        }
    }

    fn publish(&self, inner: &Inner, now: Instant) {
        let current = self.close(inner, now);
        let all_findings = analysis::analyse(&current, &self.durability);
        let lanes = self
            .lanes
            .iter()
            .zip(current.lanes.iter())
            .enumerate()
            .map(|(i, (metrics, lp))| LaneSnapshot {
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
                    warming: lp.warmup_only,
                },
                interval: inner.interval[i].summaries(),
                series: inner.series[i].iter().copied().collect(),
                last_error: metrics.last_error.lock().clone(),
                unavailable: lp
                    .outages
                    .iter()
                    .find(|o| o.ongoing)
                    .map(|o| (o.start_s, o.reason.clone())),
                findings: all_findings.get(i).cloned().unwrap_or_default(),
            })
            .collect();
        let mut phase_starts: Vec<f64> = inner.closed.iter().map(|p| p.start_s).collect();
        phase_starts.push(current.start_s);
        let snap = Snapshot {
            elapsed: now.saturating_duration_since(inner.start),
            phase: current.index,
            phase_elapsed: now.saturating_duration_since(inner.current.start),
            phase_starts,
            paused: inner.current.paused,
            lanes,
        };
        *self.snapshot.lock() = Arc::new(snap);
    }
}

fn open_phase(
    index: u32,
    start: Instant,
    warmup: Duration,
    paused: bool,
    knobs: &[Knobs],
    values: &[CounterValues],
) -> OpenPhase {
    OpenPhase {
        index,
        start,
        measure_from: start + warmup,
        paused,
        lanes: knobs
            .iter()
            .zip(values.iter())
            .map(|(k, v)| OpenLane {
                knobs: *k,
                base: *v,
                measure_base: warmup.is_zero().then_some((start, *v)),
                measured: Arc::default(),
                warm: Arc::default(),
            })
            .collect(),
    }
}

fn close_lane(
    open: &OpenLane,
    metrics: &LaneMetrics,
    values: CounterValues,
    start: Instant,
    now: Instant,
) -> LanePhase {
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
    let warmup_only = open.measured.is_empty() && !open.warm.is_empty();
    LanePhase {
        name: metrics.name.clone(),
        knobs: open.knobs,
        mode: PhaseMode::of(&open.knobs),
        counts,
        throughput: per_s(part.acked),
        sent_rate: per_s(part.sent),
        measured: Arc::clone(&open.measured),
        warm: Arc::clone(&open.warm),
        warmup_only,
        in_flight_end: metrics.counters.in_flight(),
        series: Vec::new(),
        outages: Vec::new(),
    }
}

/// Every outage seen in `phases`, once each, as last seen (a later phase sees it longer),
/// ordered by start.
pub fn outages_of(phases: &[ClosedPhase]) -> Vec<Outage> {
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

/// Turns each lane's availability changes into outages (a short blip between two ticks included).
fn track_outages(inner: &mut Inner) {
    for (lane, status) in inner.statuses.iter().enumerate() {
        for change in status.take_changes() {
            let open = inner
                .outages
                .iter_mut()
                .rev()
                .find(|o| o.lane == lane && o.end.is_none());
            match (change, open) {
                (Availability::Down(at, reason), None) => inner.outages.push(OutageSpan {
                    lane,
                    start: at,
                    end: None,
                    reason,
                }),
                (Availability::Up(at), Some(o)) => o.end = Some(at.max(o.start)),
                _ => {}
            }
        }
    }
}

fn outage_view(o: &OutageSpan, run_start: Instant, now: Instant) -> Outage {
    let end = o.end.unwrap_or(now).max(o.start);
    Outage {
        lane: o.lane,
        start_s: o.start.saturating_duration_since(run_start).as_secs_f64(),
        duration_s: end.saturating_duration_since(o.start).as_secs_f64(),
        ongoing: o.end.is_none(),
        reason: o.reason.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Counters;

    fn store(warmup: Duration) -> (MetricsStore, Instant) {
        let t0 = Instant::now();
        let k = Knobs::default();
        let s = MetricsStore::new(
            &[("kafka".into(), k), ("nats".into(), k)],
            Vec::new(),
            warmup,
            t0,
        );
        (s, t0)
    }

    #[test]
    fn phases_split_samples_and_counts() {
        let (s, t0) = store(Duration::ZERO);
        let lane = &s.lanes()[0];
        lane.recorders
            .recorder(0)
            .record(&[(Stage::Ack, Duration::from_millis(1))]);
        Counters::bump(&lane.counters.acked);
        s.tick(t0 + Duration::from_secs(1));
        let k2 = Knobs {
            concurrency: 9,
            ..Knobs::default()
        };
        s.begin_phase(t0 + Duration::from_secs(2), &[k2, k2], false);
        lane.recorders
            .recorder(3)
            .record(&[(Stage::Ack, Duration::from_millis(5))]);
        Counters::bump(&lane.counters.acked);
        Counters::bump(&lane.counters.acked);
        let phases = s.phases(t0 + Duration::from_secs(4));
        assert_eq!(phases.len(), 2);
        assert_eq!(phases[0].lanes[0].counts.acked, 1);
        assert_eq!(phases[1].lanes[0].counts.acked, 2);
        assert_eq!(phases[1].lanes[0].knobs.concurrency, 9);
        assert_eq!(phases[0].lanes[0].measured.count(Stage::Ack), 1);
        assert_eq!(phases[1].lanes[0].measured.count(Stage::Ack), 1);
        assert!((phases[1].lanes[0].throughput - 1.0).abs() < 0.01);
        assert!((phases[1].start_s - 2.0).abs() < 1e-9);
    }

    #[test]
    fn warmup_samples_are_kept_apart() {
        let (s, t0) = store(Duration::from_secs(2));
        let rec = s.lanes()[1].recorders.recorder(0);
        rec.record(&[(Stage::Submit, Duration::from_millis(50))]);
        s.tick(t0 + Duration::from_secs(1));
        let early = s.phases(t0 + Duration::from_secs(1));
        assert!(early[0].lanes[1].warmup_only, "only warm-up samples so far");
        assert_eq!(
            s.warmup_deadline(t0 + Duration::from_secs(1)),
            Some(t0 + Duration::from_secs(2))
        );
        s.tick(t0 + Duration::from_secs(2));
        rec.record(&[(Stage::Submit, Duration::from_micros(10))]);
        let later = s.phases(t0 + Duration::from_secs(3));
        let lane = &later[0].lanes[1];
        assert!(!lane.warmup_only);
        assert_eq!(lane.measured.count(Stage::Submit), 1);
        assert_eq!(lane.warm.count(Stage::Submit), 1);
        assert!(lane.measured.summary(Stage::Submit).unwrap().max_us < 100);
    }

    #[test]
    fn snapshot_has_series_and_phase_marks() {
        let (s, t0) = store(Duration::ZERO);
        for i in 1..=3 {
            Counters::bump(&s.lanes()[0].counters.sent);
            s.tick(t0 + Duration::from_secs(i));
        }
        s.begin_phase(t0 + Duration::from_secs(4), &[Knobs::default(); 2], true);
        let snap = s.snapshot();
        assert_eq!(snap.lanes.len(), 2);
        assert_eq!(snap.lanes[0].series.len(), 4);
        assert!((snap.lanes[0].series[0].sent_per_s - 1.0).abs() < 0.01);
        assert_eq!(snap.phase_starts.len(), 2);
        assert_eq!(snap.phase, 1);
        assert!(snap.paused);
    }
}
