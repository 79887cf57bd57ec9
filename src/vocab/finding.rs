//! Findings: what a phase's numbers mean, as the analysis says it.

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
    /// An agent of a run of agents could not keep its share of the rate: its host, not the
    /// broker, set its part of the figures.
    AgentBehind,
    /// The host's CPUs were too busy for pubduel's threads to run when they were ready: the
    /// host, not the broker or the knobs, set the figures.
    HostStarved,
    /// pubduel's own threads kept the CPUs it can use busy: the load generator, not the broker,
    /// set the pace.
    ClientBound,
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
            FindingKind::AgentBehind => "agent-behind",
            FindingKind::HostStarved => "host-starved",
            FindingKind::ClientBound => "client-bound",
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
    /// A finding of `kind` saying `message`.
    pub fn new(kind: FindingKind, message: String) -> Finding {
        Finding { kind, message }
    }
}
