//! An in-process publisher for unit tests of the engine and for overhead benchmarks.
//! It never stands in for a broker in an integration test.

use super::{AckFuture, BrokerError, ConsumerTask, Message, OnMessage, Publisher};
use futures::future::{self, BoxFuture, FutureExt};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// A publisher that acks after a fixed delay (or at once) and can fail every n-th message.
#[derive(Debug, Default)]
pub struct FakePublisher {
    /// Delay before each ack; zero acks at once.
    pub ack_delay: Duration,
    /// Fail the ack of every n-th message (0 = never).
    pub fail_every: u64,
    /// Messages submitted.
    pub submitted: AtomicU64,
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

impl Publisher for FakePublisher {
    fn name(&self) -> &'static str {
        "fake"
    }

    fn submit(&self, msg: &Message) -> BoxFuture<'_, Result<AckFuture, BrokerError>> {
        self.submitted.fetch_add(1, Relaxed);
        let fail = self.fail_every > 0 && msg.seq % self.fail_every == self.fail_every - 1;
        let seq = msg.seq;
        let delay = self.ack_delay;
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
