//! What a lane's controller and its workers share: the knobs of the phase and the lane's parts.

use super::payload::PayloadBuilder;
use super::schedule::Schedule;
use super::ticket::{Gate, Pending};
use crate::brokers::{Publisher, Shape};
use crate::metrics::LaneMetrics;
use crate::vocab::Knobs;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use tokio::sync::mpsc;

/// The orders workers follow in this phase, read before each message: the knobs, pause, and
/// the open-loop schedule.
pub(crate) struct PhaseOrders {
    pub(crate) knobs: Knobs,
    /// The headers and keys the knobs ask for (`None`: plain messages).
    pub(crate) shape: Option<Arc<Shape>>,
    pub(crate) paused: bool,
    pub(crate) schedule: Option<Arc<Schedule>>,
}

/// The parts of a lane its workers share.
pub(crate) struct LaneShared {
    pub(crate) publisher: Arc<dyn Publisher>,
    pub(crate) metrics: Arc<LaneMetrics>,
    pub(crate) gate: Arc<Gate>,
    pub(crate) seq: AtomicU64,
    pub(crate) payloads: PayloadBuilder,
    pub(crate) collector: mpsc::UnboundedSender<Pending>,
    /// In-flight count at which the client holds publishes back by itself, if it does.
    pub(crate) client_cap: Option<u64>,
    /// The client can settle acks in its own callback (read once, not per message).
    pub(crate) settles_inline: bool,
    /// The client settles this lane's acks from their payload and tag (see
    /// [`crate::brokers::PayloadAcks`]).
    pub(crate) tagged: bool,
}
