//! Analysis: rules that say what a phase's numbers mean, in words a user can act on.
//!
//! Each rule is a small function over one phase's results (and, for the comparison rule, over
//! every lane of it). A lane whose broker was away during the phase gets `broker-unavailable`
//! and no advice about its knobs: its numbers then describe the outage, not the lane.

mod rules;
#[cfg(test)]
mod tests;

use crate::brokers::Durability;
use crate::metrics::{ClosedPhase, LanePhase};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a finding is about; stable names, used in reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// The lane's broker could not be reached for part of the phase.
    BrokerUnavailable,
    /// Submits waited for a max-pending permit.
    MaxPendingStall,
    /// The client's own queue (or in-flight cap) held publishes back.
    ClientQueueFull,
    /// pubduel could not keep its open-loop schedule.
    GeneratorLag,
    /// The broker acks fewer than are sent, or its ack latency climbs at a flat throughput.
    BrokerSaturated,
    /// Every one-at-a-time publish waits for the client's linger before it is sent.
    LingerWait,
    /// The lanes are not set up alike.
    UnfairComparison,
}

impl FindingKind {
    /// The stable name, e.g. `max-pending-stall`.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::BrokerUnavailable => "broker-unavailable",
            FindingKind::MaxPendingStall => "max-pending-stall",
            FindingKind::ClientQueueFull => "client-queue-full",
            FindingKind::GeneratorLag => "generator-lag",
            FindingKind::BrokerSaturated => "broker-saturated",
            FindingKind::LingerWait => "linger-wait",
            FindingKind::UnfairComparison => "unfair-comparison",
        }
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One explanation of a lane's numbers within a phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// What it is about.
    pub kind: FindingKind,
    /// What happened and what to change.
    pub message: String,
}

impl Finding {
    fn new(kind: FindingKind, message: String) -> Finding {
        Finding { kind, message }
    }
}

/// Findings for every lane of a phase (outer index = lane order); `durability` is per lane.
pub fn analyse(phase: &ClosedPhase, durability: &[Durability]) -> Vec<Vec<Finding>> {
    let mut out: Vec<Vec<Finding>> = phase
        .lanes
        .iter()
        .enumerate()
        .map(|(i, lane)| lane_findings(lane, durability.get(i)))
        .collect();
    if let Some(f) = rules::unfair(phase, durability) {
        for lane in out.iter_mut() {
            lane.push(f.clone());
        }
    }
    out
}

/// Findings from a lane's own numbers; only the outage when its broker was away.
fn lane_findings(lane: &LanePhase, durability: Option<&Durability>) -> Vec<Finding> {
    if let Some(f) = rules::broker_unavailable(lane) {
        return vec![f];
    }
    [
        rules::max_pending_stall(lane),
        rules::client_queue_full(lane),
        rules::generator_lag(lane),
        rules::broker_saturated(lane),
        durability.and_then(|d| rules::linger_wait(lane, d)),
    ]
    .into_iter()
    .flatten()
    .collect()
}
