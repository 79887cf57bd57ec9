//! What the store shows of itself: the snapshot of the phase going on, and a lane's results as
//! of a moment.

use super::{Inner, LaneBook, LaneMetrics, PhaseLane};
use crate::metrics::{CounterValues, LaneResult, LaneSnapshot, PhaseResult, PhaseStats, Snapshot};
use crate::vocab::PhaseMode;
use std::sync::Arc;
use std::time::Instant;

/// The snapshot of `current`, the phase going on, with the store's series and run figures.
pub(super) fn snapshot_of(
    metrics: &[Arc<LaneMetrics>],
    inner: &Inner,
    current: &PhaseResult,
    now: Instant,
) -> Snapshot {
    let lanes = metrics
        .iter()
        .zip(&inner.lanes)
        .zip(&current.lanes)
        .map(|((metrics, state), lp)| lane_snapshot(metrics, state, lp))
        .collect();
    let mut phase_starts: Vec<f64> = inner.closed.iter().map(|p| p.start_s).collect();
    phase_starts.push(current.start_s);
    Snapshot {
        elapsed: now.saturating_duration_since(inner.start),
        phase: current.index,
        phase_elapsed: now.saturating_duration_since(inner.phase.start),
        phase_starts,
        paused: inner.phase.paused,
        note: inner.phase.note.clone(),
        lanes,
        // Filled in when published.
        source: None,
    }
}

fn lane_snapshot(metrics: &LaneMetrics, state: &LaneBook, lp: &LaneResult) -> LaneSnapshot {
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
        // The analysis fills them in once the store's lock is given back.
        findings: Vec::new(),
    }
}

pub(super) fn lane_result(
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
