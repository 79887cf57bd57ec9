//! NATS atomic batch publish (ADR-50, nats-server 2.12+): every message of a batch but the last
//! as a plain publish carrying the batch id and its sequence, the last with the commit header
//! through JetStream; the commit's ack is the batch's.

use super::NatsPublisher;
use crate::brokers::{AckFuture, BrokerError, Message};
use futures::future::FutureExt;
use std::time::Instant;

/// Batch ids of this process: unique among a stream's open batches.
static BATCH_IDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl NatsPublisher {
    /// Publishes `batch` as one atomic batch (ADR-50): every message but the last as a plain
    /// publish carrying the batch id and its sequence, the last with the commit header through
    /// JetStream, whose ack is the batch's.
    pub(super) async fn publish_batch(
        &self,
        batch: Vec<Message>,
    ) -> Result<AckFuture, BrokerError> {
        use async_nats::header::{NATS_BATCH_COMMIT, NATS_BATCH_ID, NATS_BATCH_SEQUENCE};
        let n = batch.len();
        let id = format!(
            "pubduel-{}-{}",
            std::process::id(),
            BATCH_IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let client = self.js.client();
        let subject = self.address.subject.clone();
        let mut commit = None;
        for (i, msg) in batch.into_iter().enumerate() {
            let mut headers = self.address.headers_of(&msg).unwrap_or_default();
            headers.insert(NATS_BATCH_ID, id.as_str());
            headers.insert(NATS_BATCH_SEQUENCE, (i + 1).to_string().as_str());
            if i + 1 < n {
                client
                    .publish_with_headers(subject.clone(), headers, msg.payload)
                    .await
                    .map_err(|e| BrokerError::Publish(e.to_string()))?;
            } else {
                headers.insert(NATS_BATCH_COMMIT, "1");
                let ack = self
                    .js
                    .publish_with_headers(subject.clone(), headers, msg.payload)
                    .await
                    .map_err(|e| BrokerError::Publish(e.to_string()))?;
                commit = Some(ack);
            }
        }
        let ack = commit.ok_or_else(|| BrokerError::Publish("an empty batch".into()))?;
        Ok(async move {
            let done = ack
                .await
                .map_err(|e| BrokerError::Ack(atomic_error(&e.to_string())))?;
            match done.batch_size {
                Some(count) if count as usize == n => Ok(Instant::now()),
                other => Err(BrokerError::Ack(format!(
                    "the commit of an atomic batch of {n} stored {other:?} messages"
                ))),
            }
        }
        .boxed())
    }
}

/// A batch error with what to change where the server's words alone do not say it.
fn atomic_error(detail: &str) -> String {
    if detail.contains("10174") || detail.contains("atomic publish is disabled") {
        format!("{detail} (the stream was made without allow_atomic: remove it, or name another [nats] stream, so pubduel makes it anew)")
    } else if detail.contains("10199") || detail.contains("too large") {
        format!("{detail} (an atomic batch holds at most 1000 messages: lower batch)")
    } else {
        detail.to_string()
    }
}
