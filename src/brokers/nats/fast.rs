//! NATS fast-ingest batch publish (nats-server 2.14+): a batch's messages go out as plain
//! publishes whose reply subject carries the batch, its sequence and the operation
//! (`<inbox>.<flow>.<gap>.<seq>.<op>.$FI`); the server acks every few messages it has stored
//! (a flow ack, `{"type":"ack","seq":N,"msgs":M}`, saying how many the next one will cover), and
//! the publisher waits once `max_outstanding_acks` of them are due. The commit's ack ends the
//! batch. As the server does it in `processJetStreamFastBatchMsg` and the Go client
//! `jetstreamext.FastPublisher` (orbit.go) speaks it.

use super::{Address, NatsPublisher};
use crate::brokers::{AckFuture, AckResult, BrokerError, FastBatch, FastFlow, Message};
use async_nats::Client;
use futures::future::{BoxFuture, FutureExt};
use futures::StreamExt;
use parking_lot::Mutex;
use serde::Deserialize;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, Notify};
use tokio_util::sync::CancellationToken;

/// Operations of a fast batch, the reply subject's second-to-last token.
const OP_START: u8 = 0;
const OP_APPEND: u8 = 1;
const OP_COMMIT: u8 = 2;
const OP_COMMIT_EOB: u8 = 3;
const OP_PING: u8 = 4;

/// The largest flow a publisher may ask for (the reply subject's 16-bit field).
const MAX_FLOW: u32 = 65_535;

impl NatsPublisher {
    /// A fast batch on this lane's subject.
    pub(super) fn fast_batch(&self, flow: FastFlow) -> FastSession {
        let client = self.js.client();
        // The inbox's last token is the batch's id: unique among the stream's open batches.
        let inbox = client.new_inbox();
        let prefix = format!("{inbox}.{}.fail.", flow.batch.clamp(1, MAX_FLOW));
        FastSession {
            client,
            inbox,
            address: Arc::clone(&self.address),
            prefix,
            outstanding: u64::from(flow.max_outstanding_acks.max(1)),
            ack_timeout: Duration::from_millis(self.settings.ack_timeout_ms),
            seq: 0,
            subject: None,
            shared: Arc::new(Shared::default()),
            done: false,
        }
    }
}

/// One fast batch, driven by one worker.
pub(super) struct FastSession {
    client: Client,
    /// Where the server's replies to the batch come (`<inbox>.>`).
    inbox: String,
    address: Arc<Address>,
    /// `<inbox>.<flow>.fail.`: every reply subject of the batch starts with it.
    prefix: String,
    /// Flow acks that may be due before `add` waits.
    outstanding: u64,
    ack_timeout: Duration,
    /// The last batch sequence sent.
    seq: u64,
    /// The subject of the batch's first message (its end-of-batch commit goes there too).
    subject: Option<async_nats::Subject>,
    shared: Arc<Shared>,
    /// The commit (or the end-of-batch commit) has gone out.
    done: bool,
}

/// What the reader of the batch's replies and its publisher share.
#[derive(Default)]
struct Shared {
    flow: Mutex<Flow>,
    /// A flow ack moved the window (the publisher waits on it).
    moved: Notify,
    /// The commit went out: the reader now waits at most the ack timeout.
    committed: Notify,
    /// The publisher gave the batch up: the reader fails what is left and stops.
    abandoned: CancellationToken,
}

/// The batch's flow, as the server's replies set it.
#[derive(Default)]
struct Flow {
    /// The highest batch sequence a flow ack covers.
    acked: u64,
    /// Messages each flow ack covers, as the server last said; 0 before its first reply.
    every: u64,
    /// Messages sent and not yet acked, in order.
    waiting: VecDeque<(u64, oneshot::Sender<AckResult>)>,
    /// The last error the server reported for a message of the batch.
    error: Option<String>,
    /// The batch is over (its commit acked, or failed).
    over: bool,
}

impl Flow {
    /// Acks every waiting message up to `seq`.
    fn ack_to(&mut self, seq: u64, at: Instant) {
        while self.waiting.front().is_some_and(|(s, _)| *s <= seq) {
            if let Some((_, tx)) = self.waiting.pop_front() {
                let _ = tx.send(Ok(at));
            }
        }
    }

    /// Fails every message still waiting, and ends the batch.
    fn fail_rest(&mut self, why: &str) {
        for (_, tx) in self.waiting.drain(..) {
            let _ = tx.send(Err(BrokerError::Ack(why.to_string())));
        }
        self.over = true;
    }
}

/// One reply of the server to a fast batch: a flow ack, a gap, an error, or the commit's ack.
#[derive(Debug, Deserialize)]
struct Reply {
    #[serde(rename = "type")]
    kind: Option<String>,
    seq: Option<u64>,
    msgs: Option<u64>,
    last_seq: Option<u64>,
    count: Option<u64>,
    error: Option<ApiError>,
}

#[derive(Debug, Deserialize)]
struct ApiError {
    #[serde(default)]
    err_code: u64,
    #[serde(default)]
    description: String,
}

impl ApiError {
    /// The server's words, with what to change where they alone do not say it.
    fn explain(&self) -> String {
        let d = format!("{} (error {})", self.description, self.err_code);
        match self.err_code {
            10205 => format!(
                "{d}: the stream was made without allow_batched; remove it, or name another \
                 [nats] stream, so pubduel makes it anew"
            ),
            10211 => format!("{d}: too many fast batches open on the stream; lower concurrency"),
            _ => d,
        }
    }
}

impl FastSession {
    /// Subscribes to the batch's replies and starts reading them.
    async fn open(&mut self) -> Result<(), BrokerError> {
        let sub = (self.client)
            .subscribe(format!("{}.>", self.inbox))
            .await
            .map_err(|e| BrokerError::Publish(format!("fast batch replies: {e}")))?;
        tokio::spawn(read(sub, Arc::clone(&self.shared), self.ack_timeout));
        Ok(())
    }

    fn reply(&self, seq: u64, op: u8) -> String {
        format!("{}{seq}.{op}.$FI", self.prefix)
    }

    /// Publishes one message of the batch with its reply subject.
    async fn send(
        &mut self,
        msg: &Message,
        op: u8,
    ) -> Result<oneshot::Receiver<AckResult>, BrokerError> {
        let subject = self.address.subject_of(msg);
        let reply = self.reply(self.seq, op);
        let (tx, rx) = oneshot::channel();
        self.shared.flow.lock().waiting.push_back((self.seq, tx));
        let payload = msg.payload.clone();
        match self.address.headers_of(msg) {
            Some(h) => {
                (self.client)
                    .publish_with_reply_and_headers(subject.clone(), reply, h, payload)
                    .await
            }
            None => {
                (self.client)
                    .publish_with_reply(subject.clone(), reply, payload)
                    .await
            }
        }
        .map_err(|e| BrokerError::Publish(e.to_string()))?;
        self.subject.get_or_insert(subject);
        Ok(rx)
    }

    /// Waits while the server's flow holds the batch back: before its first reply, and while
    /// `outstanding` flow acks are due. Pings the server (which resends its last flow ack) when
    /// one seems lost; gives up after the ack timeout.
    async fn wait_for_flow(&self) -> Result<(), BrokerError> {
        let ping_every = self.ack_timeout / 3;
        let deadline = Instant::now() + self.ack_timeout;
        loop {
            {
                let flow = self.shared.flow.lock();
                if flow.over {
                    let why = flow
                        .error
                        .clone()
                        .unwrap_or_else(|| "the batch ended".into());
                    return Err(BrokerError::Publish(why));
                }
                if flow.every > 0 && self.seq < flow.acked + flow.every * self.outstanding {
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                return Err(BrokerError::Publish(format!(
                    "no flow ack from the server within {} ms: the fast batch stalled",
                    self.ack_timeout.as_millis()
                )));
            }
            if tokio::time::timeout(ping_every, self.shared.moved.notified())
                .await
                .is_err()
            {
                self.ping().await;
            }
        }
    }

    /// Asks the server to send its last flow ack again.
    async fn ping(&self) {
        if let Some(subject) = &self.subject {
            let reply = self.reply(self.seq, OP_PING);
            let _ = (self.client)
                .publish_with_reply(subject.clone(), reply, bytes::Bytes::new())
                .await;
        }
    }

    /// The ack of one message: its flow ack, or the commit's.
    fn ack_of(rx: oneshot::Receiver<AckResult>) -> AckFuture {
        async move {
            rx.await.unwrap_or_else(|_| {
                Err(BrokerError::Ack(
                    "the fast batch ended without its ack".into(),
                ))
            })
        }
        .boxed()
    }
}

impl FastBatch for FastSession {
    fn add<'a>(
        &'a mut self,
        msg: &'a Message,
        last: bool,
    ) -> BoxFuture<'a, Result<AckFuture, BrokerError>> {
        async move {
            if self.seq == 0 {
                self.open().await?;
            }
            self.seq += 1;
            let op = match (last, self.seq) {
                (true, _) => OP_COMMIT,
                (false, 1) => OP_START,
                (false, _) => OP_APPEND,
            };
            let rx = self.send(msg, op).await?;
            if last {
                self.done = true;
                self.shared.committed.notify_one();
            } else {
                self.wait_for_flow().await?;
            }
            Ok(FastSession::ack_of(rx))
        }
        .boxed()
    }

    fn close(&mut self) -> BoxFuture<'_, ()> {
        async move {
            if self.seq == 0 || self.done {
                return;
            }
            self.done = true;
            let Some(subject) = self.subject.clone() else {
                self.shared.abandoned.cancel();
                return;
            };
            // The end-of-batch commit carries no message: its sequence is one past the last.
            let reply = self.reply(self.seq + 1, OP_COMMIT_EOB);
            let sent = (self.client)
                .publish_with_reply(subject, reply, bytes::Bytes::new())
                .await;
            match sent {
                Ok(()) => self.shared.committed.notify_one(),
                Err(_) => self.shared.abandoned.cancel(),
            }
        }
        .boxed()
    }
}

impl Drop for FastSession {
    fn drop(&mut self) {
        // A batch dropped without its commit (the run ended under it): nothing acks the rest.
        if self.seq > 0 && !self.done {
            self.shared.abandoned.cancel();
        }
    }
}

/// Reads the server's replies to one batch until its commit is acked, the batch is given up,
/// or the commit's ack is later than the ack timeout.
async fn read(mut sub: async_nats::Subscriber, shared: Arc<Shared>, ack_timeout: Duration) {
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        let wait = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        let m = tokio::select! {
            m = sub.next() => m,
            () = shared.abandoned.cancelled() => {
                shared.flow.lock().fail_rest("the fast batch was given up before its commit");
                return;
            }
            () = shared.committed.notified() => {
                deadline = Some(tokio::time::Instant::now() + ack_timeout);
                continue;
            }
            () = wait => {
                let why = format!("no ack for the fast batch's commit within {} ms", ack_timeout.as_millis());
                shared.flow.lock().fail_rest(&why);
                return;
            }
        };
        let Some(m) = m else {
            shared
                .flow
                .lock()
                .fail_rest("the connection closed under the fast batch");
            return;
        };
        if settle(&shared, &m.payload, Instant::now()) {
            return;
        }
    }
}

/// Applies one reply; true when the batch is over.
fn settle(shared: &Shared, payload: &[u8], at: Instant) -> bool {
    let reply: Reply = match serde_json::from_slice(payload) {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!("nats fast batch: a reply that is not JSON ({e})");
            return false;
        }
    };
    let mut flow = shared.flow.lock();
    match reply.kind.as_deref() {
        Some("ack") => {
            let seq = reply.seq.unwrap_or(0);
            flow.acked = flow.acked.max(seq);
            flow.every = reply.msgs.unwrap_or(1).max(1);
            flow.ack_to(seq, at);
            drop(flow);
            shared.moved.notify_one();
            false
        }
        Some("gap") => {
            flow.error = Some(format!(
                "the server missed messages {} to {} of the fast batch",
                reply.last_seq.unwrap_or(0),
                reply.seq.unwrap_or(0)
            ));
            false
        }
        Some(_) => {
            let why = reply
                .error
                .as_ref()
                .map_or_else(String::new, ApiError::explain);
            flow.error = Some(format!(
                "message {} of the fast batch: {why}",
                reply.seq.unwrap_or(0)
            ));
            false
        }
        None => {
            match (&reply.error, reply.count) {
                (Some(e), _) => {
                    let why = e.explain();
                    flow.error = Some(why.clone());
                    flow.fail_rest(&why);
                }
                (None, count) => {
                    let count = count.unwrap_or(0);
                    flow.ack_to(count, at);
                    let why = flow.error.clone().unwrap_or_else(|| {
                        format!("the fast batch's commit stored {count} messages")
                    });
                    flow.fail_rest(&why);
                }
            }
            drop(flow);
            shared.moved.notify_one();
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiting(
        shared: &Shared,
        seqs: std::ops::RangeInclusive<u64>,
    ) -> Vec<oneshot::Receiver<AckResult>> {
        let mut flow = shared.flow.lock();
        seqs.map(|s| {
            let (tx, rx) = oneshot::channel();
            flow.waiting.push_back((s, tx));
            rx
        })
        .collect()
    }

    #[test]
    fn a_flow_ack_acks_the_messages_it_covers_and_sets_the_flow() {
        let shared = Shared::default();
        let mut rx = waiting(&shared, 1..=5);
        let at = Instant::now();
        assert!(!settle(&shared, br#"{"type":"ack","seq":0,"msgs":2}"#, at));
        assert_eq!(shared.flow.lock().every, 2);
        assert!(!settle(&shared, br#"{"type":"ack","seq":3,"msgs":4}"#, at));
        let flow = shared.flow.lock();
        assert_eq!((flow.acked, flow.every, flow.waiting.len()), (3, 4, 2));
        drop(flow);
        for r in rx.iter_mut().take(3) {
            assert!(matches!(r.try_recv(), Ok(Ok(_))));
        }
        assert!(rx[3].try_recv().is_err(), "message 4 is not covered yet");
    }

    #[test]
    fn the_commit_acks_what_it_stored_and_fails_the_rest() {
        let shared = Shared::default();
        let mut rx = waiting(&shared, 1..=4);
        let commit = br#"{"stream":"S","seq":10,"batch":"b","count":3}"#;
        assert!(settle(&shared, commit, Instant::now()));
        assert!(matches!(rx[2].try_recv(), Ok(Ok(_))));
        match rx[3].try_recv() {
            Ok(Err(e)) => assert!(e.to_string().contains("stored 3"), "{e}"),
            other => panic!("{other:?}"),
        }
        assert!(shared.flow.lock().over);
    }

    #[test]
    fn a_refused_batch_names_what_to_change() {
        let shared = Shared::default();
        let mut rx = waiting(&shared, 1..=1);
        let refused = br#"{"error":{"code":400,"err_code":10205,"description":"batch publish is disabled"},"stream":"S","seq":0}"#;
        assert!(settle(&shared, refused, Instant::now()));
        match rx[0].try_recv() {
            Ok(Err(e)) => assert!(e.to_string().contains("allow_batched"), "{e}"),
            other => panic!("{other:?}"),
        }
    }
}
