//! The rules, one function each, over one phase's results.

use super::{Finding, FindingKind};
use crate::vocab::{fmt_us, Durability, PhaseMode, Stage};

use crate::metrics::{LaneResult, PhaseResult, SeriesPoint, StageSummary};
use crate::vocab::AckStrategy;

/// Smallest sample of submits worth judging.
pub(super) const MIN_SENT: u64 = 20;
/// Share of submits that must have waited for a permit before it is called a stall.
const STALL_SHARE: f64 = 0.1;
/// Generator lag p99 above which the schedule counts as missed.
pub(super) const LAG_P99_US: u64 = 5_000;
/// Sent rate below this share of the target counts as behind the schedule.
const BEHIND_SHARE: f64 = 0.9;
/// Acks below this share of sends, with in-flight growing, mean the broker falls behind.
pub(super) const ACKED_SHARE: f64 = 0.9;
/// In-flight that must have piled up before a growing backlog is called saturation.
pub(super) const BACKLOG: u64 = 1_000;
/// Ack p50 at or above this share of `linger.ms` means the linger is what the ack waits for.
pub(super) const LINGER_SHARE: f64 = 0.8;

fn p(lane: &LaneResult, stage: Stage, f: impl Fn(&StageSummary) -> u64) -> Option<u64> {
    lane.reported().summary(stage).map(|s| f(&s))
}

/// The lane's broker could not be reached during the phase.
pub(super) fn broker_unavailable(lane: &LaneResult) -> Option<Finding> {
    let first = lane.outages.first()?;
    let away: f64 = lane.outages.iter().map(|o| o.duration_s).sum();
    let times = match lane.outages.len() {
        1 => String::new(),
        n => format!(" ({n} times)"),
    };
    let still = if lane.outages.iter().any(|o| o.ongoing) {
        " and was still away at the end"
    } else {
        ""
    };
    Some(Finding::new(
        FindingKind::BrokerUnavailable,
        format!(
            "the {} broker could not be reached for {away:.1}s from {:.1}s{times}{still} ({}): {} \
             publishes failed meanwhile, and this phase's latencies and rates describe the outage, \
             not the broker's speed or pubduel's knobs, so no other advice is given for it.",
            lane.name, first.start_s, first.reason, lane.counts.errors
        ),
    ))
}

/// Submits waited for a max-pending permit.
pub(super) fn max_pending_stall(lane: &LaneResult) -> Option<Finding> {
    let c = &lane.counts;
    if c.sent < MIN_SENT || (c.stalls as f64) < STALL_SHARE * c.sent as f64 {
        return None;
    }
    let pct = 100.0 * c.stalls as f64 / c.sent.max(1) as f64;
    let submit = p(lane, Stage::Submit, |s| s.p99_us).map_or("-".into(), fmt_us);
    let permit = p(lane, Stage::Permit, |s| s.p99_us).map_or("-".into(), fmt_us);
    let ack = p(lane, Stage::Ack, |s| s.p50_us).map_or("-".into(), fmt_us);
    Some(Finding::new(
        FindingKind::MaxPendingStall,
        format!(
            "{} of {} submits ({pct:.0}%) waited for a max-pending permit (max-pending {}): submit p99 {submit}, \
             of which the permit wait p99 {permit}, is waiting for earlier acks (ack p50 {ack}), not the client. \
             Raise max-pending (key M) or lower concurrency/rate to time the publish call itself.",
            c.stalls, c.sent, lane.knobs.max_pending
        ),
    ))
}

/// The client's own queue held publishes back.
pub(super) fn client_queue_full(lane: &LaneResult) -> Option<Finding> {
    let n = lane.counts.queue_full;
    (n > 0).then(|| {
        Finding::new(
            FindingKind::ClientQueueFull,
            format!(
                "the {} client's own queue was full for {n} submits (refused and retried, or held \
                 back inside the client): the client's limit, not pubduel's max-pending ({}) or the \
                 broker, set the pace. Raise the client's limit or lower max-pending.",
                lane.name, lane.knobs.max_pending
            ),
        )
    })
}

/// pubduel could not keep its open-loop schedule.
pub(super) fn generator_lag(lane: &LaneResult) -> Option<Finding> {
    if lane.mode != PhaseMode::Open || lane.counts.sent < MIN_SENT {
        return None;
    }
    let lag_p99 = p(lane, Stage::Lag, |s| s.p99_us)?;
    let target = lane.knobs.rate as f64;
    let behind = lane.sent_rate < BEHIND_SHARE * target;
    if lag_p99 < LAG_P99_US && !behind {
        return None;
    }
    Some(Finding::new(
        FindingKind::GeneratorLag,
        format!(
            "pubduel could not keep the schedule: lag p99 {}, {:.0} of {} msg/s sent. Corrected latencies \
             include that wait and the raw ones leave it out; both are lower bounds for this rate. {}",
            fmt_us(lag_p99),
            lane.sent_rate,
            lane.knobs.rate,
            sync_cap(lane).unwrap_or_else(|| {
                "Lower the rate, or raise concurrency or max-pending.".to_string()
            })
        ),
    ))
}

/// With `sync`, each publisher waits for its ack: the lane cannot send faster than concurrency /
/// ack time. Says so when that cap is below the rate asked for.
fn sync_cap(lane: &LaneResult) -> Option<String> {
    if lane.knobs.ack != AckStrategy::Sync {
        return None;
    }
    let stage = match lane.mode {
        PhaseMode::Open => Stage::AckRaw,
        PhaseMode::Closed => Stage::Ack,
    };
    let mean_us = lane.reported().summary(stage)?.mean_us;
    let cap = f64::from(lane.knobs.concurrency) * 1e6 / mean_us.max(1.0);
    (cap < BEHIND_SHARE * lane.knobs.rate as f64).then(|| {
        format!(
            "With ack sync each of the {} publishers waits for its ack (mean {}), so the lane \
             sends at most about {cap:.0} msg/s: raise concurrency, or use ack async.",
            lane.knobs.concurrency,
            fmt_us(mean_us as u64)
        )
    })
}

/// The broker acks fewer than are sent while in-flight keeps growing, or its ack p99 climbs
/// while throughput stays flat.
pub(super) fn broker_saturated(lane: &LaneResult) -> Option<Finding> {
    backlog_growing(lane).or_else(|| latency_climbing(lane))
}

fn backlog_growing(lane: &LaneResult) -> Option<Finding> {
    let c = &lane.counts;
    let pts = &lane.series;
    if c.sent < MIN_SENT || pts.len() < 3 || (c.acked as f64) >= ACKED_SHARE * c.sent as f64 {
        return None;
    }
    let (first, mid, last) = (pts[0], pts[pts.len() / 2], pts[pts.len() - 1]);
    let growing = last.in_flight > mid.in_flight && mid.in_flight > first.in_flight;
    if !growing || last.in_flight < BACKLOG {
        return None;
    }
    Some(Finding::new(
        FindingKind::BrokerSaturated,
        format!(
            "the broker acked {} of {} messages sent ({:.0}%) and the backlog kept growing (in-flight \
             {} -> {}): it takes less than is offered, so acks wait in a queue that only gets longer. \
             Lower the rate or concurrency, or cap the backlog with max-pending.",
            c.acked,
            c.sent,
            100.0 * c.acked as f64 / c.sent as f64,
            first.in_flight,
            last.in_flight
        ),
    ))
}

fn latency_climbing(lane: &LaneResult) -> Option<Finding> {
    // The broker's part of an ack: in open loop the raw figure, without the wait for the
    // schedule (which a lane that cannot keep up, e.g. `sync` at too low a concurrency, adds).
    let ack = |p: &SeriesPoint| match lane.mode {
        PhaseMode::Open => p.ack_raw_p99_us,
        PhaseMode::Closed => p.ack_p99_us,
    } as f64;
    let pts: Vec<&SeriesPoint> = lane.series.iter().filter(|p| ack(p) > 0.0).collect();
    if pts.len() < 6 {
        return None;
    }
    let mean = |xs: &[&SeriesPoint], f: &dyn Fn(&SeriesPoint) -> f64| {
        xs.iter().map(|p| f(p)).sum::<f64>() / xs.len() as f64
    };
    let (a, b) = pts.split_at(pts.len() / 2);
    let (ack_a, ack_b) = (mean(a, &ack), mean(b, &ack));
    let (tp_a, tp_b) = (mean(a, &|p| p.acked_per_s), mean(b, &|p| p.acked_per_s));
    let flat = tp_a > 0.0 && (tp_b - tp_a).abs() / tp_a < 0.15;
    // In open loop a broker that acks everything it is offered is keeping up, whatever its
    // latency does (a busy machine slows it too): only falling behind the rate is saturation.
    let keeping_up = lane.mode == PhaseMode::Open && tp_b >= BEHIND_SHARE * lane.knobs.rate as f64;
    if keeping_up || !(flat && ack_b > 2.0 * ack_a && ack_b > 5_000.0) {
        return None;
    }
    Some(Finding::new(
        FindingKind::BrokerSaturated,
        format!(
            "ack p99 climbed from {} to {} while throughput stayed near {:.0} msg/s: the broker (or the \
             path to it) is saturated, and more load only queues. Lower the rate or concurrency.",
            fmt_us(ack_a as u64),
            fmt_us(ack_b as u64),
            tp_b
        ),
    ))
}

/// `sync` on a lingering client: every publish waits out the linger before it is sent.
pub(super) fn linger_wait(lane: &LaneResult, d: &Durability) -> Option<Finding> {
    if lane.knobs.ack != AckStrategy::Sync || d.linger_ms == 0 || lane.counts.acked < MIN_SENT {
        return None;
    }
    let ack_p50 = p(lane, Stage::Ack, |s| s.p50_us)?;
    let linger_us = u64::from(d.linger_ms) * 1000;
    if (ack_p50 as f64) < LINGER_SHARE * linger_us as f64 {
        return None;
    }
    Some(Finding::new(
        FindingKind::LingerWait,
        format!(
            "with ack sync each publish waits for its ack before the next, and the {} client holds \
             every message for linger.ms = {} before it sends it: ack p50 {} is mostly that wait, \
             not the broker. Set linger_ms = 0 to publish one at a time, or use ack async to let \
             the linger fill batches.",
            lane.name,
            d.linger_ms,
            fmt_us(ack_p50)
        ),
    ))
}

/// The lanes are not set up alike: ack handling, storage, copies, linger or max-pending differ.
pub(super) fn unfair(phase: &PhaseResult, durability: &[Durability]) -> Option<Finding> {
    let lanes = &phase.lanes;
    if lanes.len() < 2 {
        return None;
    }
    let differs = |what: &str, values: Vec<String>| -> Option<String> {
        values.iter().any(|v| *v != values[0]).then(|| {
            let list: Vec<String> = lanes
                .iter()
                .zip(&values)
                .map(|(l, v)| format!("{} {v}", l.name))
                .collect();
            format!("{what} ({})", list.join(" vs "))
        })
    };
    let knob = |f: fn(&LaneResult) -> String| lanes.iter().map(f).collect::<Vec<_>>();
    let mut reasons = vec![differs(
        "ack handling differs",
        knob(|l| l.knobs.ack.to_string()),
    )];
    if durability.len() == lanes.len() {
        let of = |f: fn(&Durability) -> String| durability.iter().map(f).collect::<Vec<_>>();
        reasons.extend([
            differs("storage differs", of(|d| d.storage.clone())),
            differs(
                "copies sure to exist at the ack differ",
                of(|d| d.acked_copies.to_string()),
            ),
            differs(
                "replication differs",
                of(|d| format!("{} replica(s)", d.replicas)),
            ),
            differs(
                "the client lingers before sending",
                of(|d| format!("{} ms", d.linger_ms)),
            ),
        ]);
    }
    reasons.push(differs(
        "max-pending differs",
        knob(|l| l.knobs.max_pending.to_string()),
    ));
    let reasons: Vec<String> = reasons.into_iter().flatten().collect();
    (!reasons.is_empty()).then(|| {
        Finding::new(
            FindingKind::UnfairComparison,
            format!(
                "the lanes are not measured alike: {}. Compare like with like before reading one \
                 lane as slower.",
                reasons.join("; ")
            ),
        )
    })
}
