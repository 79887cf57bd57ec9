//! An in-process publisher for unit tests of the engine and for overhead benchmarks.
//! It never stands in for a broker in an integration test.

use super::{
    AckFuture, BrokerError, ConsumerTask, FastBatch, FastFlow, Message, OnMessage, PayloadAcks,
    Publisher, TaggedAck,
};
use futures::future::{self, BoxFuture, FutureExt};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// A publisher that acks after a fixed delay (or at once) and can fail every n-th message; with a
/// service rate it behaves like a broker with one server of that capacity, whose latency rises
/// without bound past that rate (a known knee).
#[derive(Default)]
pub struct FakePublisher {
    /// Delay before each ack; zero acks at once.
    pub ack_delay: Duration,
    /// Fail the ack of every n-th message (0 = never).
    pub fail_every: u64,
    /// Messages a second the one server handles (0 = no limit): each message waits for the
    /// ones before it, then takes `1 / service_rate`.
    pub service_rate: u64,
    /// Messages submitted.
    pub submitted: AtomicU64,
    /// Fast batches closed before their last message.
    pub fast_closed: Arc<AtomicU64>,
    /// When the server is free again (bookkeeping of `service_rate`; leave it default).
    pub busy_until: parking_lot::Mutex<Option<Instant>>,
    /// Settle acks from their payload and tag, as librdkafka's delivery reports let the Kafka
    /// lane do (each ack `ack_delay` later, on a task of its own).
    pub tagged: bool,
    /// Where tagged acks go (set by the lane).
    pub tagged_acks: std::sync::OnceLock<Arc<dyn PayloadAcks>>,
}

impl FakePublisher {
    /// A publisher that acks after `ack_delay`.
    pub fn new(ack_delay: Duration) -> Arc<FakePublisher> {
        Arc::new(FakePublisher {
            ack_delay,
            ..FakePublisher::default()
        })
    }
}

impl FakePublisher {
    /// A publisher whose one server handles `per_s` messages a second: below that rate an ack
    /// takes `1 / per_s`, above it a queue builds and latency climbs.
    pub fn with_capacity(per_s: u64) -> Arc<FakePublisher> {
        Arc::new(FakePublisher {
            service_rate: per_s,
            ..FakePublisher::default()
        })
    }

    /// When a message submitted now is served: after the ones before it.
    fn served_at(&self, now: Instant) -> Option<Instant> {
        if self.service_rate == 0 {
            return None;
        }
        let service = Duration::from_secs_f64(1.0 / self.service_rate as f64);
        let mut busy = self.busy_until.lock();
        let done = busy.map_or(now, |b| b.max(now)) + service;
        *busy = Some(done);
        Some(done)
    }
}

impl Publisher for FakePublisher {
    fn name(&self) -> &'static str {
        "fake"
    }

    fn submit(&self, msg: &Message) -> BoxFuture<'_, Result<AckFuture, BrokerError>> {
        self.submitted.fetch_add(1, Relaxed);
        let fail = self.fail_every > 0 && msg.seq % self.fail_every == self.fail_every - 1;
        let seq = msg.seq;
        let delay = self.ack_delay;
        if let Some(done) = self.served_at(Instant::now()) {
            let ack = async move {
                tokio::time::sleep_until(done.into()).await;
                Ok(Instant::now())
            };
            return future::ready(Ok(ack.boxed() as AckFuture)).boxed();
        }
        let ack: AckFuture = if delay.is_zero() && !fail {
            future::ready(Ok(Instant::now())).boxed()
        } else {
            async move {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                if fail {
                    Err(BrokerError::Ack(format!("fake failure of message {}", seq)))
                } else {
                    Ok(Instant::now())
                }
            }
            .boxed()
        };
        future::ready(Ok(ack)).boxed()
    }

    fn lacks(&self, _ack: crate::vocab::AckStrategy) -> Option<String> {
        None
    }

    fn settles_inline(&self) -> bool {
        self.tagged
    }

    fn settle_tagged(&self, acks: Arc<dyn PayloadAcks>) -> bool {
        self.tagged && self.tagged_acks.set(acks).is_ok()
    }

    fn submit_tagged(&self, msg: &Message, payload: &[u8], tag: u64) -> Result<(), BrokerError> {
        self.submitted.fetch_add(1, Relaxed);
        let fail = self.fail_every > 0 && msg.seq % self.fail_every == self.fail_every - 1;
        let (acks, payload, delay) = (
            self.tagged_acks.get().cloned(),
            bytes::Bytes::copy_from_slice(payload),
            self.ack_delay,
        );
        let acks = acks.ok_or_else(|| BrokerError::Publish("no tagged acks set".into()))?;
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let result = match fail {
                true => Err(BrokerError::Ack("fake failure".into())),
                false => Ok(Instant::now()),
            };
            acks.settle(&[TaggedAck {
                payload: &payload,
                tag,
                result,
            }]);
        });
        Ok(())
    }

    /// Every message acked after `ack_delay`, as a flow of one; `fast_closed` counts the batches
    /// closed before their last message.
    fn open_fast(&self, _flow: FastFlow) -> Result<Box<dyn FastBatch>, BrokerError> {
        Ok(Box::new(FakeFast {
            ack_delay: self.ack_delay,
            closed: Arc::clone(&self.fast_closed),
        }))
    }

    /// A batch is acked as a whole, when its last message would be.
    fn submit_atomic(&self, msgs: &[Message]) -> BoxFuture<'_, Result<AckFuture, BrokerError>> {
        let mut last = None;
        for m in msgs {
            last = Some(self.submit(m));
        }
        match last {
            Some(ack) => ack,
            None => future::ready(Err(BrokerError::Publish("an empty batch".into()))).boxed(),
        }
    }

    fn consume(
        &self,
        _on_message: OnMessage,
        _cancel: CancellationToken,
    ) -> BoxFuture<'_, Result<ConsumerTask, BrokerError>> {
        future::ready(Err(BrokerError::Setup {
            lane: "fake",
            detail: "the fake publisher has no consumer".into(),
        }))
        .boxed()
    }
}

/// The fake's fast batch: each message acked after the delay.
struct FakeFast {
    ack_delay: Duration,
    closed: Arc<AtomicU64>,
}

impl FastBatch for FakeFast {
    fn add<'a>(
        &'a mut self,
        _msg: &'a Message,
        _last: bool,
    ) -> BoxFuture<'a, Result<AckFuture, BrokerError>> {
        let delay = self.ack_delay;
        let ack: AckFuture = async move {
            tokio::time::sleep(delay).await;
            Ok(Instant::now())
        }
        .boxed();
        future::ready(Ok(ack)).boxed()
    }

    fn close(&mut self) -> BoxFuture<'_, ()> {
        self.closed.fetch_add(1, Relaxed);
        future::ready(()).boxed()
    }
}
