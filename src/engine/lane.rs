//! One lane at run time: its publisher, workers, max-pending permits, ack collector and schedule.

use super::knobs::Knobs;
use super::payload::PayloadBuilder;
use super::worker::{self, Pending};
use crate::brokers::Publisher;
use crate::metrics::{Dedicated, LaneMetrics, Recorder};
use futures::stream::{FuturesUnordered, StreamExt};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Open-loop schedule: slot `i` is due at `start + i / rate`.
///
/// A pacer thread releases one token per slot when it falls due (`std::thread::sleep` is precise
/// to tens of microseconds, tokio timers only to a millisecond); a worker takes a token, then
/// claims the next slot. Tokens pile up when workers fall behind, so lag is measured, not hidden.
pub(crate) struct Schedule {
    start: Instant,
    rate: u64,
    next: AtomicU64,
    tokens: Arc<Semaphore>,
    stop: Arc<AtomicBool>,
}

/// Longest the pacer sleeps before it looks at its stop flag again.
const PACER_NAP: Duration = Duration::from_millis(2);

impl Schedule {
    /// A schedule of `rate` msg/s starting at `start`, with its pacer running.
    pub(crate) fn new(start: Instant, rate: u64) -> Schedule {
        let rate = rate.max(1);
        let tokens = Arc::new(Semaphore::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (t, s) = (Arc::clone(&tokens), Arc::clone(&stop));
        let spawned = std::thread::Builder::new()
            .name("pubduel-pacer".into())
            .spawn(move || pace(start, rate, &t, &s));
        if spawned.is_err() {
            // Without a pacer, release every slot at once: the lane runs flat out and lag shows it.
            tokens.add_permits(Semaphore::MAX_PERMITS / 2);
        }
        Schedule {
            start,
            rate,
            next: AtomicU64::new(0),
            tokens,
            stop,
        }
    }

    /// The intended start of slot `i`.
    fn slot_time(&self, i: u64) -> Instant {
        slot_time(self.start, self.rate, i)
    }

    /// Waits until the next slot is due, claims it and returns its intended start.
    pub(crate) async fn next_slot(&self) -> Instant {
        if let Ok(p) = self.tokens.acquire().await {
            p.forget();
        }
        self.slot_time(self.next.fetch_add(1, Relaxed))
    }
}

impl Drop for Schedule {
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
    }
}

fn slot_time(start: Instant, rate: u64, i: u64) -> Instant {
    let ns = u128::from(i) * 1_000_000_000 / u128::from(rate);
    start + Duration::from_nanos(ns.min(u128::from(u64::MAX)) as u64)
}

/// Asks Linux to wake this thread within a microsecond of its deadline (the default slack is
/// 50 us, which would show up as generator lag).
fn tight_timer_slack() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_TIMERSLACK only changes this thread's timer slack; no memory is passed.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
    }
}

/// The pacer thread: releases tokens as slots fall due until told to stop.
fn pace(start: Instant, rate: u64, tokens: &Semaphore, stop: &AtomicBool) {
    tight_timer_slack();
    let mut released: u64 = 0;
    while !stop.load(Relaxed) {
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(start).as_nanos();
        let due = (elapsed * u128::from(rate) / 1_000_000_000) as u64 + 1;
        if due > released {
            tokens.add_permits((due - released).min(1 << 30) as usize);
            released = due;
        }
        let next = slot_time(start, rate, released);
        std::thread::sleep(
            next.saturating_duration_since(Instant::now())
                .min(PACER_NAP),
        );
    }
}

/// What workers read before each message: the knobs, pause, and the schedule of this phase.
pub(crate) struct LaneState {
    pub(crate) knobs: Knobs,
    pub(crate) paused: bool,
    pub(crate) schedule: Option<Arc<Schedule>>,
}

/// The parts of a lane its workers share.
pub(crate) struct LaneShared {
    pub(crate) publisher: Arc<dyn Publisher>,
    pub(crate) metrics: Arc<LaneMetrics>,
    pub(crate) permits: Arc<Semaphore>,
    pub(crate) seq: AtomicU64,
    pub(crate) payloads: PayloadBuilder,
    pub(crate) collector: mpsc::UnboundedSender<Pending>,
    /// In-flight count at which the client holds publishes back by itself, if it does.
    pub(crate) client_cap: Option<u64>,
    /// The client can settle acks in its own callback (read once, not per message).
    pub(crate) settles_inline: bool,
}

struct Worker {
    cancel: CancellationToken,
    join: JoinHandle<()>,
}

/// The controller's handle on one lane.
pub(crate) struct Lane {
    shared: Arc<LaneShared>,
    state_tx: watch::Sender<Arc<LaneState>>,
    knobs: Knobs,
    permits_total: u32,
    workers: Vec<Worker>,
    next_worker_id: usize,
    collector: JoinHandle<()>,
}

impl Lane {
    /// Starts a lane with `knobs`, its workers running from `now`.
    pub(crate) fn start(
        publisher: Arc<dyn Publisher>,
        metrics: Arc<LaneMetrics>,
        payloads: PayloadBuilder,
        knobs: Knobs,
        now: Instant,
    ) -> Lane {
        let (tx, rx) = mpsc::unbounded_channel();
        let (client_cap, settles_inline) = (publisher.client_cap(), publisher.settles_inline());
        let shared = Arc::new(LaneShared {
            publisher,
            metrics,
            permits: Arc::new(Semaphore::new(knobs.max_pending as usize)),
            seq: AtomicU64::new(0),
            payloads,
            collector: tx,
            client_cap,
            settles_inline,
        });
        let rec = shared.metrics.recorders.dedicated(Dedicated::Collector);
        let collector = tokio::spawn(collect(Arc::clone(&shared), rec, rx));
        let (state_tx, _) = watch::channel(Arc::new(state(knobs, false, now)));
        let mut lane = Lane {
            shared,
            state_tx,
            knobs,
            permits_total: knobs.max_pending,
            workers: Vec::new(),
            next_worker_id: 0,
            collector,
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
            .send_replace(Arc::new(state(knobs, paused, now)));
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
        let sem = &self.shared.permits;
        if total > self.permits_total {
            sem.add_permits((total - self.permits_total) as usize);
        } else if total < self.permits_total {
            let want = (self.permits_total - total) as usize;
            let taken = sem.forget_permits(want);
            if taken < want {
                let sem = Arc::clone(sem);
                let rest = (want - taken) as u32;
                tokio::spawn(async move {
                    if let Ok(p) = sem.acquire_many_owned(rest).await {
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

fn state(knobs: Knobs, paused: bool, now: Instant) -> LaneState {
    let schedule =
        (worker::is_open_loop(&knobs) && !paused).then(|| Arc::new(Schedule::new(now, knobs.rate)));
    LaneState {
        knobs,
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
                Some(p) => acks.push(worker::complete_owned(Arc::clone(&shared), rec.clone(), p)),
                None => break,
            },
        }
    }
    while acks.next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn schedule_releases_slots_on_time() {
        let t0 = Instant::now();
        let s = Schedule::new(t0, 1000);
        assert_eq!(s.next_slot().await, t0);
        let second = s.next_slot().await;
        assert_eq!(second, t0 + Duration::from_millis(1));
        assert!(
            Instant::now() >= second,
            "a slot is not handed out before it is due"
        );
        for _ in 0..48 {
            s.next_slot().await;
        }
        assert_eq!(s.next_slot().await, t0 + Duration::from_millis(50));
        assert!(Instant::now() >= t0 + Duration::from_millis(50));
    }
}
