//! One lane at run time: its publisher, workers, max-pending permits, ack collector and schedule.

use super::payload::PayloadBuilder;
use super::schedule::Schedule;
use super::shared::{LaneShared, PhaseOrders};
use super::ticket::{complete_owned, Gate, Pending, TaggedAcks};
use super::worker;
use crate::brokers::{Publisher, Shape};
use crate::metrics::{Dedicated, LaneMetrics, Recorder};
use crate::vocab::{AckStrategy, KnobChange, Knobs, PhaseMode};
use futures::stream::{FuturesUnordered, StreamExt};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

struct Worker {
    cancel: CancellationToken,
    join: JoinHandle<()>,
}

/// The controller's handle on one lane.
pub(crate) struct Lane {
    shared: Arc<LaneShared>,
    state_tx: watch::Sender<Arc<PhaseOrders>>,
    knobs: Knobs,
    permits_total: u32,
    workers: Vec<Worker>,
    next_worker_id: usize,
    collector: JoinHandle<()>,
    /// Spin the wait for each open-loop slot.
    precise: bool,
}

impl Lane {
    /// `knobs` after `change`; the next ack strategy skips those the lane's client does not
    /// have, and a strategy it does not have is refused (the knobs stay as they are).
    pub(crate) fn changed(&self, knobs: Knobs, change: KnobChange) -> Knobs {
        let publisher = &self.shared.publisher;
        let mut next = knobs.apply(change);
        if change == KnobChange::NextAck {
            for _ in 0..AckStrategy::ALL.len() {
                if publisher.lacks(next.ack).is_none() {
                    break;
                }
                next = next.apply(KnobChange::NextAck);
            }
        }
        if publisher.lacks(next.ack).is_none() {
            next
        } else {
            knobs
        }
    }

    /// Starts a lane with `knobs`, its workers running from `now`.
    pub(crate) fn start(
        publisher: Arc<dyn Publisher>,
        metrics: Arc<LaneMetrics>,
        payloads: PayloadBuilder,
        knobs: Knobs,
        now: Instant,
        precise: bool,
    ) -> Lane {
        let (tx, rx) = mpsc::unbounded_channel();
        let (client_cap, settles_inline) = (publisher.client_cap(), publisher.settles_inline());
        let gate = Arc::new(Gate::new(knobs.max_pending, Arc::clone(&metrics.counters)));
        let tagged = settles_inline
            && publisher.settle_tagged(Arc::new(TaggedAcks {
                metrics: Arc::clone(&metrics),
                gate: Arc::clone(&gate),
                payloads: payloads.clone(),
            }));
        let shared = Arc::new(LaneShared {
            publisher,
            metrics,
            gate,
            seq: AtomicU64::new(0),
            payloads,
            collector: tx,
            client_cap,
            settles_inline,
            tagged,
        });
        let rec = shared.metrics.recorders.dedicated(Dedicated::Collector);
        let collector = tokio::spawn(collect(Arc::clone(&shared), rec, rx));
        let (state_tx, _) = watch::channel(Arc::new(state(knobs, false, now, precise)));
        let mut lane = Lane {
            shared,
            state_tx,
            knobs,
            permits_total: knobs.max_pending,
            workers: Vec::new(),
            next_worker_id: 0,
            collector,
            precise,
        };
        lane.resize_workers(knobs.concurrency as usize);
        lane
    }

    /// The knobs in force.
    pub(crate) fn knobs(&self) -> Knobs {
        self.knobs
    }

    /// Applies new knobs (and pause) from `now`: workers, permits and a fresh schedule.
    pub(crate) fn set(&mut self, knobs: Knobs, paused: bool, now: Instant) {
        self.resize_permits(knobs.max_pending);
        self.knobs = knobs;
        self.state_tx
            .send_replace(Arc::new(state(knobs, paused, now, self.precise)));
        self.resize_workers(knobs.concurrency as usize);
    }

    fn resize_workers(&mut self, n: usize) {
        while self.workers.len() < n {
            let cancel = CancellationToken::new();
            let join = tokio::spawn(worker::run(
                Arc::clone(&self.shared),
                self.next_worker_id,
                self.state_tx.subscribe(),
                cancel.clone(),
            ));
            self.next_worker_id += 1;
            self.workers.push(Worker { cancel, join });
        }
        while self.workers.len() > n {
            if let Some(w) = self.workers.pop() {
                w.cancel.cancel();
            }
        }
    }

    /// Resizes the max-pending semaphore. Permits held by in-flight messages cannot be taken
    /// back at once: the shortfall is collected as those messages are acked.
    fn resize_permits(&mut self, total: u32) {
        let gate = &self.shared.gate;
        let sem = &gate.permits;
        if total > self.permits_total {
            sem.add_permits((total - self.permits_total) as usize);
        } else if total < self.permits_total {
            let want = (self.permits_total - total) as usize;
            let taken = sem.forget_permits(want);
            if taken < want {
                let gate = Arc::clone(gate);
                let rest = (want - taken) as u32;
                tokio::spawn(async move {
                    if let Ok(p) = gate.permits.acquire_many(rest).await {
                        p.forget();
                    }
                });
            }
        }
        self.permits_total = total;
    }

    /// Stops every worker and waits (up to `timeout`) for them to finish their current message.
    pub(crate) async fn stop(&mut self, timeout: Duration) {
        for w in &self.workers {
            w.cancel.cancel();
        }
        let joins: Vec<_> = self.workers.drain(..).map(|w| w.join).collect();
        let _ = tokio::time::timeout(timeout, futures::future::join_all(joins)).await;
    }

    /// The sequence number the next message will get.
    pub(crate) fn next_seq(&self) -> u64 {
        self.shared.seq.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Messages still waiting for an ack.
    pub(crate) fn in_flight(&self) -> u64 {
        self.shared.metrics.counters.in_flight()
    }
}

impl Drop for Lane {
    fn drop(&mut self) {
        for w in &self.workers {
            w.cancel.cancel();
        }
        self.collector.abort();
    }
}

fn state(knobs: Knobs, paused: bool, now: Instant, precise: bool) -> PhaseOrders {
    let open = PhaseMode::of(&knobs) == PhaseMode::Open;
    let schedule = (open && !paused).then(|| Arc::new(Schedule::new(now, knobs.rate, precise)));
    PhaseOrders {
        knobs,
        shape: Shape::of(knobs.headers, knobs.header_size, knobs.keys).map(Arc::new),
        paused,
        schedule,
    }
}

/// The `async` strategy's collector: takes pending acks from every worker of the lane.
async fn collect(shared: Arc<LaneShared>, rec: Recorder, mut rx: mpsc::UnboundedReceiver<Pending>) {
    let mut acks = FuturesUnordered::new();
    loop {
        tokio::select! {
            biased;
            Some(()) = acks.next(), if !acks.is_empty() => {}
            p = rx.recv() => match p {
                Some(p) => acks.push(complete_owned(Arc::clone(&shared.metrics), rec.clone(), p)),
                None => break,
            },
        }
    }
    while acks.next().await.is_some() {}
}
