//! Brokers: one [`Publisher`] trait, with a lane for Kafka (rdkafka) and one for NATS JetStream
//! (async-nats), and the secrets of secured clusters ([`secret`]). New lanes plug in by
//! implementing the trait.

#[cfg(any(test, feature = "testkit"))]
pub mod fake;
pub mod kafka;
pub mod nats;
pub mod secret;
mod settings;
mod settle;

pub use settings::{is_default_lane, refuses, BrokerSettings, KAFKA_NO_FAST, NATS_ATOMIC_MAX};
pub use settle::Settle;

use bytes::Bytes;
use futures::future::BoxFuture;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;
use thiserror::Error;

use crate::vocab::{AckStrategy, Durability};
use tokio_util::sync::CancellationToken;

/// What a lane's broker reported for one message: the moment the ack arrived, or an error.
pub type AckResult = Result<Instant, BrokerError>;

/// Resolves when the broker acknowledges (or refuses) one submitted message.
pub type AckFuture = BoxFuture<'static, AckResult>;

/// Settles acks from what comes back with them: the message's payload (the engine's stamp is in
/// it) and a tag the engine gave with the submit. For clients whose ack report carries both
/// (librdkafka's delivery report holds its copy of the payload and one opaque word), so that a
/// message in flight needs nothing of its own on the heap and nothing shared is counted per
/// message on the way in.
pub trait PayloadAcks: Send + Sync {
    /// The acks of one report: messages the broker acknowledged (or refused) together.
    fn settle(&self, report: &[TaggedAck<'_>]);
}

/// One message's ack in a report to [`PayloadAcks`].
pub struct TaggedAck<'a> {
    /// The payload as it was sent.
    pub payload: &'a [u8],
    /// As given to [`Publisher::submit_tagged`].
    pub tag: u64,
    /// When the ack arrived, or why the message failed.
    pub result: AckResult,
}

/// Called by an end-to-end consumer for every message it receives: its payload, the value of
/// its stamp header if it has one, and the receipt time.
pub type OnMessage = Arc<dyn Fn(&[u8], Option<&[u8]>, Instant) + Send + Sync>;

/// A consumer that has been set up and is ready to be driven until its token is cancelled.
pub type ConsumerTask = BoxFuture<'static, ()>;

/// One change of a lane's broker availability, as its client saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Availability {
    /// The client is connected again (or a message was acknowledged).
    Up(Instant),
    /// The client lost every connection to the broker; the reason in its words.
    Down(Instant, String),
}

/// Whether a lane's broker can be reached, as its client sees it: set from the client's own
/// callbacks (connection events, delivery reports), read by the metrics store on its tick.
/// Cheap to call on every ack: only a change takes the lock.
#[derive(Debug, Default)]
pub struct BrokerStatus {
    down: AtomicBool,
    changes: Mutex<Vec<Availability>>,
}

impl BrokerStatus {
    /// A status that starts connected.
    pub fn new() -> Arc<BrokerStatus> {
        Arc::default()
    }

    /// The client lost every connection to the broker at `at`.
    pub fn set_down(&self, at: Instant, reason: &str) {
        if !self.down.swap(true, Ordering::AcqRel) {
            self.changes
                .lock()
                .push(Availability::Down(at, reason.to_string()));
        }
    }

    /// The broker answers again (a connection or an ack) at `at`.
    pub fn set_up(&self, at: Instant) {
        if self.down.load(Ordering::Acquire) && self.down.swap(false, Ordering::AcqRel) {
            self.changes.lock().push(Availability::Up(at));
        }
    }

    /// The changes since the last call, oldest first (so a short blip between two reads is
    /// still seen).
    pub fn take_changes(&self) -> Vec<Availability> {
        std::mem::take(&mut *self.changes.lock())
    }
}

/// Errors from a broker or its client; during a run they are counted as data, not crashes.
#[derive(Debug, Clone, Error)]
pub enum BrokerError {
    /// The broker could not be reached when the lane started.
    #[error(
        "cannot reach {lane} at {addr}: {detail}\n  Is the broker running? Start local brokers with \
         `scripts/brokers.sh start` (or `docker compose up -d`), or point {flag} (env {env}) at yours."
    )]
    Unreachable {
        /// Lane name.
        lane: &'static str,
        /// The address that was tried.
        addr: String,
        /// What the client said.
        detail: String,
        /// The flag that sets the address.
        flag: &'static str,
        /// The environment variable that sets the address.
        env: &'static str,
    },
    /// The broker answered but the lane could not get in: a login refused, a certificate not
    /// trusted, TLS on one side only. The detail is the client's own words (never a secret).
    #[error("cannot connect to {lane} at {addr}: {detail}\n  {hint}")]
    Refused {
        /// Lane name.
        lane: &'static str,
        /// The address that was tried (without any credentials).
        addr: String,
        /// What the client said.
        detail: String,
        /// What to check, naming the profile keys.
        hint: String,
    },
    /// Setting up the topic, stream or consumer failed.
    #[error("{lane} setup failed: {detail}")]
    Setup {
        /// Lane name.
        lane: &'static str,
        /// What went wrong.
        detail: String,
    },
    /// The client's own queue is full; the submit may be retried.
    #[error("client queue full")]
    QueueFull,
    /// Several lanes failed to start; each error is kept.
    #[error("{}", join_errors(.0))]
    Several(Vec<BrokerError>),
    /// The client refused the message.
    #[error("publish failed: {0}")]
    Publish(String),
    /// The broker refused or never acknowledged the message.
    #[error("ack failed: {0}")]
    Ack(String),
}

fn join_errors(errors: &[BrokerError]) -> String {
    errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

impl BrokerError {
    /// One error from several: the only one, or all of them together.
    pub fn combine(mut errors: Vec<BrokerError>) -> Option<BrokerError> {
        match errors.len() {
            0 => None,
            1 => errors.pop(),
            _ => Some(BrokerError::Several(errors)),
        }
    }
}

/// One message to publish.
#[derive(Debug, Clone)]
pub struct Message {
    /// Sequence number within the lane.
    pub seq: u64,
    /// Payload, `message_size` bytes, or the payload file's.
    pub payload: Bytes,
    /// Headers and keys, when the knobs ask for them; `None` for plain messages.
    pub shape: Option<Arc<Shape>>,
    /// The end-to-end stamp's header value, when it travels in a header.
    pub stamp: Option<String>,
}

impl Message {
    /// A plain message: a payload, no headers, the lane's own keys.
    pub fn plain(seq: u64, payload: Bytes) -> Message {
        Message {
            seq,
            payload,
            shape: None,
            stamp: None,
        }
    }

    /// The key index of this message: `None` for the lane's own way, `Some(None)` for no key.
    pub fn key(&self) -> Option<Option<u64>> {
        let keys = self.shape.as_ref()?.keys?;
        Some((keys > 0).then(|| self.seq % u64::from(keys)))
    }

    /// The headers to send: the shape's, then the stamp's.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        let shape = self.shape.iter().flat_map(|s| s.headers.iter());
        let stamp = self.stamp.iter().map(|v| (STAMP_HEADER, v.as_str()));
        shape.map(|(k, v)| (k.as_str(), v.as_str())).chain(stamp)
    }

    /// Whether there is any header to send.
    pub fn has_headers(&self) -> bool {
        self.stamp.is_some() || self.shape.as_ref().is_some_and(|s| !s.headers.is_empty())
    }
}

/// The name of the header that carries the end-to-end stamp when it travels in a header.
pub const STAMP_HEADER: &str = "Pubduel-Stamp";

/// What the messages of a phase carry besides their payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    /// Headers, name and value.
    pub headers: Vec<(String, String)>,
    /// Distinct keys (see [`crate::vocab::Knobs::keys`]).
    pub keys: Option<u32>,
}

impl Shape {
    /// The shape `headers`, `header_size` and `keys` ask for; `None` for plain messages.
    pub fn of(headers: u32, header_size: u32, keys: Option<u32>) -> Option<Shape> {
        if headers == 0 && keys.is_none() {
            return None;
        }
        let value = "x".repeat(header_size as usize);
        let headers = (0..headers)
            .map(|i| (format!("X-Pubduel-{i}"), value.clone()))
            .collect();
        Some(Shape { headers, keys })
    }
}

/// How a fast-ingest batch runs: its length and how many flow acks may be due before the
/// publisher waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FastFlow {
    /// Messages in the batch; the last commits it.
    pub batch: u32,
    /// Flow acks that may be due before [`FastBatch::add`] waits for one.
    pub max_outstanding_acks: u32,
}

/// One fast-ingest batch: messages go out one after another, in order, from one task.
pub trait FastBatch: Send {
    /// Publishes `msg` as the batch's next message (`last`: its commit) and returns once the
    /// client has it and the server's flow lets the next one go (the `submit` stage), with a
    /// future for the flow ack (or the commit's ack) that covers it.
    fn add<'a>(
        &'a mut self,
        msg: &'a Message,
        last: bool,
    ) -> BoxFuture<'a, Result<AckFuture, BrokerError>>;

    /// Ends a batch that stopped before its last message: the server commits what it has, and
    /// the messages not yet acked get their ack (or their error) from that commit.
    fn close(&mut self) -> BoxFuture<'_, ()>;
}

/// A publishing target. Implementations must be cheap to call from many tasks at once.
pub trait Publisher: Send + Sync + 'static {
    /// Lane name (`kafka`, `nats`).
    fn name(&self) -> &'static str;

    /// Hands one message to the client. Returns once the client has taken it (this is the
    /// `submit` stage), with a future for the broker's ack.
    fn submit(&self, msg: &Message) -> BoxFuture<'_, Result<AckFuture, BrokerError>>;

    /// The number of un-acked messages at which the client itself holds back further publishes
    /// (async-nats's `max_ack_inflight` when its own defaults are kept), if it does so silently.
    /// Clients that refuse instead report [`BrokerError::QueueFull`].
    fn client_cap(&self) -> Option<u64> {
        None
    }

    /// Why the lane cannot publish with `ack`, naming what it lacks; `None` when it can. Every
    /// client waits for acks in the plain ways; an all-or-nothing batch (`atomic`) needs
    /// [`Publisher::submit_atomic`], a fast-ingest batch (`fast`) [`Publisher::open_fast`].
    fn lacks(&self, ack: AckStrategy) -> Option<String> {
        matches!(ack, AckStrategy::Atomic | AckStrategy::Fast)
            .then(|| format!("{} has no {ack} batches", self.name()))
    }

    /// Hands `msgs` to the client as one all-or-nothing batch and returns once it has taken
    /// them all, with a future for the one ack of the batch's commit.
    fn submit_atomic(&self, msgs: &[Message]) -> BoxFuture<'_, Result<AckFuture, BrokerError>> {
        let _ = msgs;
        let e = BrokerError::Publish(format!("{} has no atomic batches", self.name()));
        Box::pin(async move { Err(e) })
    }

    /// Opens a fast-ingest batch of `flow.batch` messages, published one at a time through
    /// [`FastBatch::add`]. Only called when [`Publisher::lacks`] has nothing against `fast`.
    fn open_fast(&self, flow: FastFlow) -> Result<Box<dyn FastBatch>, BrokerError> {
        let _ = flow;
        Err(BrokerError::Publish(format!(
            "{} has no fast batches",
            self.name()
        )))
    }

    /// What was measured: the client library's version and, where the client learns it, the
    /// server's, as (`librdkafka`, `2.12.1`) pairs for the report.
    fn versions(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// The broker's availability as the client sees it; the lane shows it and the report lists
    /// outages. Clients without connection events report a broker that is always up.
    fn status(&self) -> Arc<BrokerStatus> {
        BrokerStatus::new()
    }

    /// Whether [`Publisher::submit_settled`] is supported: the client reports acks through a
    /// callback, so they can be settled there with no task in between.
    fn settles_inline(&self) -> bool {
        false
    }

    /// Hands one message to the client and has `settle` called with its ack where the ack
    /// arrives. Only called when [`Publisher::settles_inline`] is true.
    fn submit_settled(&self, msg: &Message, settle: Settle) -> Result<(), (BrokerError, Settle)> {
        let _ = msg;
        Err((
            BrokerError::Publish(format!("{} cannot settle acks inline", self.name())),
            settle,
        ))
    }

    /// Has the client settle the acks of [`Publisher::submit_tagged`] through `acks`, for the
    /// client's whole life. False when it cannot, or when another lane's acks came first: that
    /// lane then settles each ack with a [`Settle`].
    fn settle_tagged(&self, acks: Arc<dyn PayloadAcks>) -> bool {
        let _ = acks;
        false
    }

    /// Hands one message to the client, with `payload` as its bytes (the message's own
    /// `payload` is left empty): the client copies them before it returns. Its ack goes, with
    /// that payload and `tag` (at most 63 bits), to the [`PayloadAcks`] given to
    /// [`Publisher::settle_tagged`]. Only called after that returned true.
    fn submit_tagged(&self, msg: &Message, payload: &[u8], tag: u64) -> Result<(), BrokerError> {
        let _ = (msg, payload, tag);
        Err(BrokerError::Publish(format!(
            "{} cannot settle acks from their payload",
            self.name()
        )))
    }

    /// Sets up an end-to-end consumer that sees only messages published from now on, and
    /// returns the task that drives it until `cancel` fires.
    fn consume(
        &self,
        on_message: OnMessage,
        cancel: CancellationToken,
    ) -> BoxFuture<'_, Result<ConsumerTask, BrokerError>>;
}
