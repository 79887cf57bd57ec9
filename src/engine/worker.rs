//! Publisher tasks: take a schedule slot, a max-pending permit, submit, and handle the ack the way
//! the lane's strategy says.

use super::shared::{LaneShared, PhaseOrders};
use super::ticket::{self, complete, sleep_or_cancel, Pending, Ticket};
use crate::brokers::{BrokerError, FastFlow, Message, Settle};
use crate::metrics::{Counters, Dedicated, Recorder};
use crate::vocab::AckStrategy;
use crate::vocab::Stage;
use bytes::Bytes;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Pause after a failed submit, so a broker that is away is retried, not hammered.
const ERROR_BACKOFF: Duration = Duration::from_millis(20);
/// Pause before retrying a submit the client's queue refused.
const QUEUE_FULL_BACKOFF: Duration = Duration::from_millis(1);

/// Why a worker gave up on its current step.
enum Interrupt {
    Cancelled,
    KnobsChanged,
}

/// Runs one publisher task until `cancel` fires.
pub(crate) async fn run(
    shared: Arc<LaneShared>,
    id: usize,
    mut state_rx: watch::Receiver<Arc<PhaseOrders>>,
    cancel: CancellationToken,
) {
    let rec = shared.metrics.recorders.recorder(id);
    let mut state = Arc::clone(&state_rx.borrow_and_update());
    let mut refresh = false;
    while !cancel.is_cancelled() {
        // A submit that never waits (a fast client, `none`) must still let other tasks run.
        tokio::task::consume_budget().await;
        // `changed()` below marks a new state as seen, so an interrupt also asks for a refresh.
        if refresh || state_rx.has_changed().unwrap_or(false) {
            state = Arc::clone(&state_rx.borrow_and_update());
            refresh = false;
        }
        if state.paused {
            tokio::select! {
                _ = cancel.cancelled() => break,
                r = state_rx.changed() => if r.is_err() { break },
            }
            refresh = true;
            continue;
        }
        let step = match state.knobs.ack {
            AckStrategy::Batch => batch(&shared, &state, &rec, &mut state_rx, &cancel).await,
            // Boxed: its batch-sized future would otherwise make every worker's larger.
            AckStrategy::Atomic => {
                Box::pin(atomic(&shared, &state, &rec, &mut state_rx, &cancel)).await
            }
            AckStrategy::Fast => {
                Box::pin(fast(&shared, &state, &rec, &mut state_rx, &cancel)).await
            }
            strategy => one(&shared, &state, &rec, &mut state_rx, &cancel, strategy).await,
        };
        match step {
            Err(Interrupt::Cancelled) => break,
            Err(Interrupt::KnobsChanged) => refresh = true,
            Ok(()) => {}
        }
    }
}

async fn one(
    shared: &Arc<LaneShared>,
    state: &PhaseOrders,
    rec: &Recorder,
    state_rx: &mut watch::Receiver<Arc<PhaseOrders>>,
    cancel: &CancellationToken,
    strategy: AckStrategy,
) -> Result<(), Interrupt> {
    // `async` on a client that reports acks by callback settles them there: no task hop.
    let inline = strategy == AckStrategy::Async && shared.settles_inline;
    let Some(pending) = submit(shared, state, rec, state_rx, cancel, inline).await? else {
        return Ok(());
    };
    let metrics = &shared.metrics;
    match strategy {
        AckStrategy::Sync => complete(metrics, rec, pending).await,
        AckStrategy::Async => {
            if let Err(e) = shared.collector.send(pending) {
                // The collector is gone only at shutdown: settle the ack here instead.
                complete(metrics, rec, e.0).await;
            }
        }
        AckStrategy::TaskPerMessage => {
            tokio::spawn(ticket::complete_owned(
                Arc::clone(metrics),
                rec.clone(),
                pending,
            ));
        }
        // Nobody waits for this ack: dropping it gives the permit back at once.
        AckStrategy::None | AckStrategy::Batch | AckStrategy::Atomic | AckStrategy::Fast => {
            drop(pending)
        }
    }
    Ok(())
}

async fn batch(
    shared: &Arc<LaneShared>,
    state: &PhaseOrders,
    rec: &Recorder,
    state_rx: &mut watch::Receiver<Arc<PhaseOrders>>,
    cancel: &CancellationToken,
) -> Result<(), Interrupt> {
    let mut pending = Vec::with_capacity(state.knobs.batch as usize);
    let mut outcome = Ok(());
    for _ in 0..state.knobs.batch {
        match submit(shared, state, rec, state_rx, cancel, false).await {
            Ok(Some(p)) => pending.push(p),
            Ok(None) => {}
            Err(e) => {
                outcome = Err(e);
                break;
            }
        }
    }
    futures::future::join_all(
        pending
            .into_iter()
            .map(|p| complete(&shared.metrics, rec, p)),
    )
    .await;
    outcome
}

/// One all-or-nothing batch of `batch` messages: each waits for its slot and permit, the client
/// takes them all at once (every message's `submit` ends there), and the batch's one commit ack
/// is every message's ack.
async fn atomic(
    shared: &Arc<LaneShared>,
    state: &PhaseOrders,
    rec: &Recorder,
    state_rx: &mut watch::Receiver<Arc<PhaseOrders>>,
    cancel: &CancellationToken,
) -> Result<(), Interrupt> {
    let n = state.knobs.batch as usize;
    let (mut held, mut msgs) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let mut outcome = Ok(());
    for _ in 0..n {
        match prepare(shared, state, state_rx, cancel).await {
            Ok((ticket, permit, msg)) => {
                held.push((ticket, permit));
                msgs.push(msg);
            }
            Err(e) => {
                outcome = Err(e);
                break;
            }
        }
    }
    if msgs.is_empty() {
        return outcome;
    }
    let counters = &shared.metrics.counters;
    match shared.publisher.submit_atomic(&msgs).await {
        Ok(ack) => {
            let now = Instant::now();
            for (ticket, permit) in &mut held {
                Counters::bump(&counters.sent);
                ticket.fly();
                ticket.handed(rec, now, *permit);
            }
            let result = ack.await;
            for (ticket, _) in held {
                let each = match &result {
                    Ok(at) => Ok(*at),
                    Err(e) => Err(BrokerError::Ack(e.to_string())),
                };
                ticket::settle(&shared.metrics, rec, ticket, each);
            }
        }
        Err(e) => {
            // The whole batch failed: every message of it is an error.
            for _ in 1..held.len() {
                Counters::bump(&counters.errors);
            }
            drop(held);
            submit_failed(shared, e, cancel).await?;
        }
    }
    outcome
}

/// One fast-ingest batch of `batch` messages: each goes out as its slot and permit come, the
/// client returns once the server's flow lets the next one go (its `submit`), and the flow ack
/// that covers a message is its ack, taken by the collector. New knobs or the end close the batch
/// early, so no message goes out under old knobs.
async fn fast(
    shared: &Arc<LaneShared>,
    state: &PhaseOrders,
    rec: &Recorder,
    state_rx: &mut watch::Receiver<Arc<PhaseOrders>>,
    cancel: &CancellationToken,
) -> Result<(), Interrupt> {
    let (n, max_outstanding_acks) = (state.knobs.batch, state.knobs.max_outstanding_acks);
    let flow = FastFlow {
        batch: n,
        max_outstanding_acks,
    };
    let mut batch = match shared.publisher.open_fast(flow) {
        Ok(b) => b,
        Err(e) => return submit_failed(shared, e, cancel).await,
    };
    for i in 0..n {
        if i > 0 && (cancel.is_cancelled() || state_rx.has_changed().unwrap_or(false)) {
            batch.close().await;
            return Ok(());
        }
        let (mut ticket, permit, msg) = match prepare(shared, state, state_rx, cancel).await {
            Ok(prepared) => prepared,
            Err(e) => {
                batch.close().await;
                return Err(e);
            }
        };
        match batch.add(&msg, i + 1 == n).await {
            Ok(ack) => {
                Counters::bump(&shared.metrics.counters.sent);
                ticket.fly();
                ticket.handed(rec, Instant::now(), permit);
                if let Err(e) = shared.collector.send(Pending { ticket, ack }) {
                    complete(&shared.metrics, rec, e.0).await;
                }
            }
            Err(e) => {
                drop(ticket);
                batch.close().await;
                return submit_failed(shared, e, cancel).await;
            }
        }
    }
    Ok(())
}

/// Waits for the schedule slot (open loop) and a permit, and numbers and builds the message.
async fn prepare(
    shared: &LaneShared,
    state: &PhaseOrders,
    state_rx: &mut watch::Receiver<Arc<PhaseOrders>>,
    cancel: &CancellationToken,
) -> Result<(Ticket, Duration, Message), Interrupt> {
    let intended = slot(state, state_rx, cancel).await?;
    let start = Instant::now();
    let (mut ticket, permit) = acquire(shared, cancel, start, intended).await?;
    let msg = message(shared, state, &mut ticket, start, intended);
    Ok((ticket, permit, msg))
}

/// Waits for the next schedule slot (open loop; at once in closed loop), unless new knobs or
/// the end come first. Biased: new knobs (or a pause) win over a slot that is already due, so
/// no message goes out under the old knobs once they changed.
async fn slot(
    state: &PhaseOrders,
    state_rx: &mut watch::Receiver<Arc<PhaseOrders>>,
    cancel: &CancellationToken,
) -> Result<Option<Instant>, Interrupt> {
    let Some(schedule) = &state.schedule else {
        return Ok(None);
    };
    tokio::select! {
        biased;
        _ = cancel.cancelled() => Err(Interrupt::Cancelled),
        _ = state_rx.changed() => Err(Interrupt::KnobsChanged),
        slot = schedule.next_slot() => Ok(Some(slot)),
    }
}

/// Numbers the next message of the lane and builds it, as the phase's knobs say.
fn message(
    shared: &LaneShared,
    state: &PhaseOrders,
    ticket: &mut Ticket,
    start: Instant,
    intended: Option<Instant>,
) -> Message {
    let seq = shared.seq.fetch_add(1, Relaxed);
    ticket.numbered(seq);
    let size = state.knobs.message_size as usize;
    let in_header = state.knobs.headers > 0;
    let (payload, stamp) = (shared.payloads).build_message(size, seq, start, intended, in_header);
    Message {
        seq,
        payload,
        shape: state.shape.clone(),
        stamp,
    }
}

/// Waits for the schedule slot (open loop) and a permit, then submits one message.
/// `Ok(None)` means the submit failed and was counted as an error, or (with `inline`) that the
/// client settles the ack itself.
async fn submit(
    shared: &LaneShared,
    state: &PhaseOrders,
    rec: &Recorder,
    state_rx: &mut watch::Receiver<Arc<PhaseOrders>>,
    cancel: &CancellationToken,
    inline: bool,
) -> Result<Option<Pending>, Interrupt> {
    // The steps of `prepare`, here without a future of their own: this is the hot path.
    let intended = if state.schedule.is_some() {
        slot(state, state_rx, cancel).await?
    } else {
        None
    };
    let start = Instant::now();
    let (mut ticket, permit) = acquire(shared, cancel, start, intended).await?;
    if shared
        .client_cap
        .is_some_and(|cap| shared.metrics.counters.in_flight() >= cap)
    {
        // The client's own in-flight cap is full: this publish will wait inside the client.
        Counters::bump(&shared.metrics.counters.queue_full);
    }
    let size = state.knobs.message_size as usize;
    if inline && shared.tagged && (shared.payloads).stamps_payload(size, state.knobs.headers > 0) {
        return submit_tagged(shared, state, rec, (ticket, permit), cancel)
            .await
            .map(|()| None);
    }
    let msg = message(shared, state, &mut ticket, start, intended);
    if inline {
        return submit_inline(shared, rec, msg, (ticket, permit), cancel)
            .await
            .map(|()| None);
    }
    let counters = &shared.metrics.counters;
    let result = loop {
        match shared.publisher.submit(&msg).await {
            Err(BrokerError::QueueFull) => queue_full_backoff(shared, cancel).await?,
            other => break other,
        }
    };
    match result {
        Ok(ack) => {
            Counters::bump(&counters.sent);
            ticket.fly();
            ticket.handed(rec, Instant::now(), permit);
            Ok(Some(Pending { ticket, ack }))
        }
        Err(e) => {
            drop(ticket);
            submit_failed(shared, e, cancel).await.map(|()| None)
        }
    }
}

/// Submits with the ack settled where the client reports it.
async fn submit_inline(
    shared: &LaneShared,
    rec: &Recorder,
    msg: Message,
    (mut ticket, permit): (Ticket, Duration),
    cancel: &CancellationToken,
) -> Result<(), Interrupt> {
    // The ack may be settled before the submit even returns: count it in flight first. A
    // refused submit drops the settle closure, and the ticket in it gives everything back.
    ticket.fly();
    let (start, intended) = ticket.times();
    // The permit's arrival stands in for the call's start (the message is built in between, no
    // wait): one clock read fewer per message on the hot path.
    ticket.handing(start + permit);
    // Settled on the client's callback thread: record on a stripe no worker takes.
    let metrics = Arc::clone(&shared.metrics);
    let mut settle = Settle::new(move |result| {
        let r = metrics.recorders.stripe(Dedicated::Callback);
        ticket::settle(&metrics, &r, ticket, result)
    });
    loop {
        match shared.publisher.submit_settled(&msg, settle) {
            Ok(()) => {
                taken(shared, rec, (start, intended), permit);
                return Ok(());
            }
            Err((BrokerError::QueueFull, back)) => {
                settle = back;
                queue_full_backoff(shared, cancel).await?;
            }
            Err((e, back)) => {
                drop(back);
                return submit_failed(shared, e, cancel).await;
            }
        }
    }
}

/// Submits with the ack settled from the message's payload and a [`ticket::tag`] where the
/// client reports it: nothing is allocated for the message (its payload is stamped in place, for
/// a client that copies it), and the ticket is handed over.
async fn submit_tagged(
    shared: &LaneShared,
    state: &PhaseOrders,
    rec: &Recorder,
    (mut ticket, permit): (Ticket, Duration),
    cancel: &CancellationToken,
) -> Result<(), Interrupt> {
    let seq = shared.seq.fetch_add(1, Relaxed);
    let msg = Message {
        seq,
        payload: Bytes::new(),
        shape: state.shape.clone(),
        stamp: None,
    };
    // In flight first: the ack may be settled before the submit even returns.
    ticket.fly();
    let (start, intended) = ticket.times();
    let stamp = intended.is_some() || shared.metrics.e2e.enabled();
    let start_ns = shared.payloads.nanos(start);
    let tag = ticket::tag(start_ns, permit, stamp, intended.is_some());
    let size = state.knobs.message_size as usize;
    loop {
        let submitted = (shared.payloads).stamped(size, seq, start_ns, intended, |payload| {
            shared.publisher.submit_tagged(&msg, payload, tag)
        });
        match submitted {
            Ok(()) => {
                ticket.hand_over();
                taken(shared, rec, (start, intended), permit);
                return Ok(());
            }
            Err(BrokerError::QueueFull) => queue_full_backoff(shared, cancel).await?,
            Err(e) => {
                drop(ticket);
                return submit_failed(shared, e, cancel).await;
            }
        }
    }
}

/// The client took a message whose ack it settles itself: counts it sent and records its
/// `submit` (and the `permit` wait in it) up to now.
fn taken(shared: &LaneShared, rec: &Recorder, times: (Instant, Option<Instant>), permit: Duration) {
    Counters::bump(&shared.metrics.counters.sent);
    let (start, intended) = times;
    let (submit, raw) = (Stage::Submit, Stage::SubmitRaw);
    ticket::record_at(rec, start, intended, Instant::now(), submit, raw, permit);
}

async fn queue_full_backoff(
    shared: &LaneShared,
    cancel: &CancellationToken,
) -> Result<(), Interrupt> {
    Counters::bump(&shared.metrics.counters.queue_full);
    backoff(QUEUE_FULL_BACKOFF, cancel).await
}

/// Waits `d` before the next try, unless the worker is cancelled meanwhile.
async fn backoff(d: Duration, cancel: &CancellationToken) -> Result<(), Interrupt> {
    if sleep_or_cancel(d, cancel).await {
        Ok(())
    } else {
        Err(Interrupt::Cancelled)
    }
}

/// Counts a failed submit and backs off before the next one.
async fn submit_failed(
    shared: &LaneShared,
    e: BrokerError,
    cancel: &CancellationToken,
) -> Result<(), Interrupt> {
    Counters::bump(&shared.metrics.counters.errors);
    shared.metrics.set_last_error(e.to_string());
    backoff(ERROR_BACKOFF, cancel).await
}

/// Takes a max-pending permit for a message starting at `start`, counting a stall when none was
/// free at once and one then came; the ticket gives it back. Also returns how long the wait was.
async fn acquire(
    shared: &LaneShared,
    cancel: &CancellationToken,
    start: Instant,
    intended: Option<Instant>,
) -> Result<(Ticket, Duration), Interrupt> {
    let ticket = || Ticket::new(Arc::clone(&shared.gate), start, intended);
    if let Ok(p) = shared.gate.permits.try_acquire() {
        p.forget();
        return Ok((ticket(), Duration::ZERO));
    }
    tokio::select! {
        _ = cancel.cancelled() => return Err(Interrupt::Cancelled),
        p = shared.gate.permits.acquire() => p.map_err(|_| Interrupt::Cancelled)?.forget(),
    };
    Counters::bump(&shared.metrics.counters.stalls);
    Ok((ticket(), start.elapsed()))
}
