//! Findings: rules that say what a phase's numbers mean, in words a user can act on.

use crate::engine::AckStrategy;
use crate::metrics::{fmt_us, ClosedPhase, LanePhase, PhaseMode, Stage};
use serde::{Deserialize, Serialize};

/// One explanation of a lane's numbers within a phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable identifier: `max-pending-stall`, `client-queue-full`, `generator-lag`,
    /// `broker-saturated`, `unfair-comparison`.
    pub kind: String,
    /// What happened and what to change.
    pub message: String,
}

impl Finding {
    fn new(kind: &str, message: String) -> Finding {
        Finding {
            kind: kind.to_string(),
            message,
        }
    }
}

/// How durable a lane's acknowledgement is, for comparing lanes fairly.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Durability {
    /// Where the broker keeps messages: `file` or `memory`.
    pub storage: String,
    /// What an ack waits for, e.g. `leader` (Kafka acks=1), `all replicas`, `none` (acks=0).
    pub ack_scope: String,
    /// Copies kept of each message.
    pub replicas: u32,
}

/// Smallest sample of submits worth judging.
const MIN_SENT: u64 = 20;

/// Findings for every lane of a phase (outer index = lane order); `durability` is per lane.
pub fn analyse(phase: &ClosedPhase, durability: &[Durability]) -> Vec<Vec<Finding>> {
    let mut out: Vec<Vec<Finding>> = phase.lanes.iter().map(lane_findings).collect();
    for (i, f) in unfair(phase, durability).into_iter().enumerate() {
        if let Some(f) = f {
            out[i].push(f);
        }
    }
    out
}

/// Findings from a lane's own numbers.
fn lane_findings(lane: &LanePhase) -> Vec<Finding> {
    [
        max_pending_stall(lane),
        client_queue_full(lane),
        generator_lag(lane),
        broker_saturated(lane),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn p(
    lane: &LanePhase,
    stage: Stage,
    f: impl Fn(&crate::metrics::StageSummary) -> u64,
) -> Option<u64> {
    lane.reported().summary(stage).map(|s| f(&s))
}

fn max_pending_stall(lane: &LanePhase) -> Option<Finding> {
    let c = &lane.counts;
    if c.sent < MIN_SENT || c.stalls * 10 < c.sent {
        return None;
    }
    let pct = 100.0 * c.stalls as f64 / c.sent.max(1) as f64;
    let submit = p(lane, Stage::Submit, |s| s.p50_us).map_or("-".into(), fmt_us);
    let ack = p(lane, Stage::Ack, |s| s.p50_us).map_or("-".into(), fmt_us);
    Some(Finding::new(
        "max-pending-stall",
        format!(
            "{} of {} submits ({pct:.0}%) waited for a max-pending permit (max-pending {}): submit p50 {submit} \
             is mostly waiting for earlier acks (ack p50 {ack}), not the client. Raise max-pending (key M) \
             or lower concurrency/rate to time the publish call itself.",
            c.stalls, c.sent, lane.knobs.max_pending
        ),
    ))
}

fn client_queue_full(lane: &LanePhase) -> Option<Finding> {
    let n = lane.counts.queue_full;
    (n > 0).then(|| {
        Finding::new(
            "client-queue-full",
            format!(
                "the {} client's own queue was full for {n} submits (refused and retried, or held \
                 back inside the client): the client's limit, not pubduel's max-pending ({}) or the \
                 broker, set the pace. Raise the client's limit or lower max-pending.",
                lane.name, lane.knobs.max_pending
            ),
        )
    })
}

fn generator_lag(lane: &LanePhase) -> Option<Finding> {
    if lane.mode != PhaseMode::Open || lane.counts.sent < MIN_SENT {
        return None;
    }
    let lag_p99 = p(lane, Stage::Lag, |s| s.p99_us)?;
    let target = lane.knobs.rate as f64;
    let behind = lane.sent_rate < 0.9 * target;
    if lag_p99 < 5_000 && !behind {
        return None;
    }
    Some(Finding::new(
        "generator-lag",
        format!(
            "pubduel could not keep the schedule: lag p99 {}, {:.0} of {} msg/s sent. Corrected latencies \
             include that wait and the raw ones leave it out; both are lower bounds for this rate. \
             Lower the rate, or raise concurrency or max-pending.",
            fmt_us(lag_p99),
            lane.sent_rate,
            lane.knobs.rate
        ),
    ))
}

fn broker_saturated(lane: &LanePhase) -> Option<Finding> {
    let pts: Vec<_> = lane.series.iter().filter(|p| p.ack_p99_us > 0).collect();
    if pts.len() < 6 {
        return None;
    }
    let half = pts.len() / 2;
    let mean = |xs: &[&crate::metrics::SeriesPoint], f: fn(&crate::metrics::SeriesPoint) -> f64| {
        xs.iter().map(|p| f(p)).sum::<f64>() / xs.len() as f64
    };
    let (a, b) = pts.split_at(half);
    let (ack_a, ack_b) = (
        mean(a, |p| p.ack_p99_us as f64),
        mean(b, |p| p.ack_p99_us as f64),
    );
    let (tp_a, tp_b) = (mean(a, |p| p.acked_per_s), mean(b, |p| p.acked_per_s));
    let flat = tp_a > 0.0 && (tp_b - tp_a).abs() / tp_a < 0.15;
    if !(flat && ack_b > 2.0 * ack_a && ack_b > 5_000.0) {
        return None;
    }
    Some(Finding::new(
        "broker-saturated",
        format!(
            "ack p99 climbed from {} to {} while throughput stayed near {:.0} msg/s: the broker (or the \
             path to it) is saturated, and more load only queues. Lower the rate or concurrency.",
            fmt_us(ack_a as u64),
            fmt_us(ack_b as u64),
            tp_b
        ),
    ))
}

fn unfair(phase: &ClosedPhase, durability: &[Durability]) -> Vec<Option<Finding>> {
    let lanes = &phase.lanes;
    let mut out = vec![None; lanes.len()];
    if lanes.len() < 2 {
        return out;
    }
    let mut reasons = Vec::new();
    let acks: Vec<AckStrategy> = lanes.iter().map(|l| l.knobs.ack).collect();
    if acks.iter().any(|a| *a != acks[0]) {
        let list: Vec<String> = lanes
            .iter()
            .map(|l| format!("{} {}", l.name, l.knobs.ack))
            .collect();
        reasons.push(format!("ack handling differs ({})", list.join(" vs ")));
    }
    if durability.len() == lanes.len() {
        let describe = |f: fn(&Durability) -> String| -> Option<String> {
            let v: Vec<String> = durability.iter().map(f).collect();
            v.iter().any(|x| *x != v[0]).then(|| {
                lanes
                    .iter()
                    .zip(v.iter())
                    .map(|(l, x)| format!("{} {x}", l.name))
                    .collect::<Vec<_>>()
                    .join(" vs ")
            })
        };
        if let Some(s) = describe(|d| d.storage.clone()) {
            reasons.push(format!("storage differs ({s})"));
        }
        if let Some(s) = describe(|d| d.ack_scope.clone()) {
            reasons.push(format!("acks wait for different things ({s})"));
        }
        if let Some(s) = describe(|d| format!("{} replica(s)", d.replicas)) {
            reasons.push(format!("replication differs ({s})"));
        }
    }
    let limits: Vec<u32> = lanes.iter().map(|l| l.knobs.max_pending).collect();
    if limits.iter().any(|m| *m != limits[0]) {
        let list: Vec<String> = lanes
            .iter()
            .map(|l| format!("{} {}", l.name, l.knobs.max_pending))
            .collect();
        reasons.push(format!("max-pending differs ({})", list.join(" vs ")));
    }
    if reasons.is_empty() {
        return out;
    }
    let msg = format!(
        "the lanes are not measured alike: {}. Compare like with like before reading one lane as slower.",
        reasons.join("; ")
    );
    for slot in out.iter_mut() {
        *slot = Some(Finding::new("unfair-comparison", msg.clone()));
    }
    out
}
