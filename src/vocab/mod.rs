//! The plain vocabulary every layer shares: knobs and ack strategies, lanes, loop modes, what an
//! ack means, findings. Only data and its rules live here; it depends on nothing else in pubduel.

mod finding;
pub mod knobs;
mod stage;

pub use finding::{Finding, FindingKind};
pub use knobs::{limits, AckStrategy, Dir, KnobChange, KnobLayer, Knobs};
pub use stage::{fmt_us, fmt_us_short, Stage};

use serde::{Deserialize, Serialize};

/// A lane pubduel knows how to run.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum LaneKind {
    /// Apache Kafka (or any Kafka-protocol broker), through rdkafka.
    Kafka,
    /// NATS JetStream, through async-nats.
    Nats,
}

impl LaneKind {
    /// `kafka` or `nats`.
    pub fn as_str(self) -> &'static str {
        match self {
            LaneKind::Kafka => "kafka",
            LaneKind::Nats => "nats",
        }
    }
}

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

/// What an ack of a lane means and costs, for comparing lanes fairly: each broker's settings
/// report their own.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Durability {
    /// Where the broker keeps messages: `file` or `memory`.
    pub storage: String,
    /// Copies kept of each message (replication factor, stream replicas).
    pub replicas: u32,
    /// Copies a message is sure to have when its ack arrives (0 when acks are not waited for).
    pub acked_copies: u32,
    /// How long the client holds a message back to batch it (Kafka `linger.ms`; NATS has none).
    pub linger_ms: u32,
}

/// A scripted knob change: at `at` from the start, every lane's knobs become `knobs` (one entry
/// per lane, in lane order), opening a phase with `note` as its caption.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// When, from the start of the run.
    pub at: std::time::Duration,
    /// The knobs of every lane from then on.
    pub knobs: Vec<Knobs>,
    /// The caption: what to look at now.
    pub note: Option<String>,
}
