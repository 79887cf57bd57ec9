//! A message in flight: its ticket (start times, max-pending permit, in-flight count) and how its
//! ack is settled. Dropping a ticket gives the permit back and takes the message out of the
//! in-flight count, whichever way the message ends.

use super::payload::PayloadBuilder;
use crate::brokers::{AckFuture, AckResult, PayloadAcks, TaggedAck};
use crate::metrics::{Counters, Dedicated, LaneMetrics, Record, Recorder};
use crate::vocab::Stage;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// A lane's max-pending permits and its in-flight gauge: what every ticket takes and gives back.
pub(crate) struct Gate {
    /// Permits for messages not yet acked; resized live.
    pub(crate) permits: Semaphore,
    /// The lane's counters, whose `in_flight` gauge tickets keep.
    counters: Arc<Counters>,
}

impl Gate {
    /// A gate of `max_pending` permits over the lane's counters.
    pub(crate) fn new(max_pending: u32, counters: Arc<Counters>) -> Gate {
        Gate {
            permits: Semaphore::new(max_pending as usize),
            counters,
        }
    }

    /// `n` messages in flight ended: they leave the in-flight count and give their permits back.
    fn release(&self, n: usize) {
        self.counters.in_flight.fetch_sub(n as i64, Relaxed);
        self.permits.add_permits(n);
    }
}

/// One message's claim on the lane: when it started (and, in open loop, when it should have),
/// its max-pending permit, and, once handed to the client, its place in the in-flight count.
pub(crate) struct Ticket {
    start: Instant,
    intended: Option<Instant>,
    /// When the client took the message (the submit returned); `flight` runs from here.
    handed: Option<Instant>,
    gate: Arc<Gate>,
    flying: bool,
    /// The message's sequence number, once it has one.
    seq: u64,
    /// The ack's settle gives the permit back instead (see [`Ticket::hand_over`]).
    handed_over: bool,
}

impl Ticket {
    /// A ticket for a message starting at `start` (due at `intended` in open loop), holding a
    /// permit already taken from `gate` (and forgotten there: the ticket gives it back).
    pub(crate) fn new(gate: Arc<Gate>, start: Instant, intended: Option<Instant>) -> Ticket {
        Ticket {
            start,
            intended,
            handed: None,
            gate,
            flying: false,
            seq: 0,
            handed_over: false,
        }
    }

    /// Gives the ticket its message's sequence number.
    pub(crate) fn numbered(&mut self, seq: u64) {
        self.seq = seq;
    }

    /// Counts the message in flight until the ticket is dropped.
    pub(crate) fn fly(&mut self) {
        if !self.flying {
            self.gate.counters.in_flight.fetch_add(1, Relaxed);
            self.flying = true;
        }
    }

    /// When the message started, and when it was due (open loop).
    pub(crate) fn times(&self) -> (Instant, Option<Instant>) {
        (self.start, self.intended)
    }

    /// The client took the message at `at`: records `submit` (and, in open loop, its raw figure
    /// and the lag) and the `permit` wait, and starts the `flight`.
    pub(crate) fn handed(&mut self, rec: &impl Record, at: Instant, permit: Duration) {
        self.handed = Some(at);
        let (start, intended) = (self.start, self.intended);
        record_at(
            rec,
            start,
            intended,
            at,
            Stage::Submit,
            Stage::SubmitRaw,
            permit,
        );
    }

    /// Marks the hand-over without recording: for clients that may settle the ack before the
    /// submit call returns, the call's start stands in for it.
    pub(crate) fn handing(&mut self, at: Instant) {
        self.handed = Some(at);
    }

    /// The message, in flight, went with a tag ([`tag`]): its ack settles through the lane's
    /// [`TaggedAcks`], which takes it out of the in-flight count and gives the permit back.
    pub(crate) fn hand_over(mut self) {
        debug_assert!(self.flying, "only a message in flight is handed over");
        self.handed_over = true;
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.handed_over {
            return;
        }
        if self.flying {
            self.gate.release(1);
        } else {
            self.gate.permits.add_permits(1);
        }
    }
}

/// The one place a latency is recorded twice in open loop (corrected and raw) and once in closed
/// loop, with the stage that belongs to it: the submit's `permit` wait (and, in open loop, the
/// generator's `lag`), or the ack's `flight`.
pub(crate) fn record_at(
    rec: &impl Record,
    start: Instant,
    intended: Option<Instant>,
    at: Instant,
    corrected: Stage,
    raw: Stage,
    part: Duration,
) {
    let from_start = at.saturating_duration_since(start);
    let part_stage = if corrected == Stage::Submit {
        Stage::Permit
    } else {
        Stage::Flight
    };
    match intended {
        None => rec.record(&[(corrected, from_start), (part_stage, part)]),
        Some(t) if corrected == Stage::Submit => rec.record(&[
            (corrected, at.saturating_duration_since(t)),
            (raw, from_start),
            (Stage::Lag, start.saturating_duration_since(t)),
            (part_stage, part),
        ]),
        Some(t) => rec.record(&[
            (corrected, at.saturating_duration_since(t)),
            (raw, from_start),
            (part_stage, part),
        ]),
    }
}

/// A submitted message whose ack is still to come.
pub(crate) struct Pending {
    pub(crate) ticket: Ticket,
    pub(crate) ack: AckFuture,
}

/// Records one ack (or its failure); the ticket goes first, so the permit is free at once.
pub(crate) fn settle(metrics: &LaneMetrics, rec: &impl Record, ticket: Ticket, result: AckResult) {
    let (start, intended, handed, seq) = (ticket.start, ticket.intended, ticket.handed, ticket.seq);
    drop(ticket);
    match result {
        Ok(at) => {
            Counters::bump(&metrics.counters.acked);
            metrics.e2e.acked(seq);
            let flight = at.saturating_duration_since(handed.unwrap_or(start));
            record_at(rec, start, intended, at, Stage::Ack, Stage::AckRaw, flight);
        }
        Err(e) => {
            Counters::bump(&metrics.counters.errors);
            metrics.set_last_error(e.to_string());
        }
    }
}

/// Bits of a short tag's permit wait, in microseconds (up to about 4.2 s).
const PERMIT_BITS: u32 = 22;
/// Bits of a short tag's hand-over, in microseconds since the run's epoch (about 12.7 days).
const HANDED_BITS: u32 = 40;

/// The tag a message's ack comes back with when the client settles it from its payload (63 bits).
/// Short, bit 0 clear: when the message was handed to the client and how long it waited for its
/// permit, both to the microsecond the histograms keep, so the ack reads nothing else. Long, bit 0
/// set, when the ack needs the payload's stamp anyway (an intended start in open loop, the
/// sequence number for end to end) or the times do not fit: the permit wait in nanoseconds and
/// whether the message had an intended start. `start_ns` is the start's
/// [`PayloadBuilder::nanos`].
pub(crate) fn tag(start_ns: u64, permit: Duration, stamp: bool, open_loop: bool) -> u64 {
    let permit_us = u64::try_from(permit.as_micros()).unwrap_or(u64::MAX);
    let handed_us = (start_ns / 1000).saturating_add(permit_us);
    if stamp || permit_us >> PERMIT_BITS != 0 || handed_us >> HANDED_BITS != 0 {
        let permit_ns = u64::try_from(permit.as_nanos())
            .unwrap_or(u64::MAX)
            .min(1 << 59);
        return (permit_ns << 2) | (u64::from(open_loop) << 1) | 1;
    }
    (handed_us << (PERMIT_BITS + 1)) | (permit_us << 1)
}

/// A short [`tag`]'s hand-over (microseconds since the epoch) and permit wait (microseconds).
fn short(tag: u64) -> (u64, u64) {
    (
        tag >> (PERMIT_BITS + 1),
        (tag >> 1) & ((1 << PERMIT_BITS) - 1),
    )
}

/// A message's start, intended start and hand-over from its long [`tag`] and its payload's
/// stamp; `None` when the payload has no stamp of this run.
fn stamped_times(
    payloads: &PayloadBuilder,
    e2e: &crate::metrics::E2eBook,
    payload: &[u8],
    tag: u64,
) -> Option<(Instant, Option<Instant>, Instant)> {
    let stamp = payloads.parse(payload)?;
    e2e.acked(stamp.seq);
    let start = payloads.instant(stamp.start_ns);
    let intended = (tag & 2 == 2).then(|| payloads.instant(stamp.intended_ns));
    Some((start, intended, start + Duration::from_nanos(tag >> 2)))
}

/// A lane's acks settled from their payload's stamp and [`tag`], on the client's callback thread:
/// what a [`Ticket`] and its settle closure would do, with nothing allocated per message.
pub(crate) struct TaggedAcks {
    pub(crate) metrics: Arc<LaneMetrics>,
    pub(crate) gate: Arc<Gate>,
    pub(crate) payloads: PayloadBuilder,
}

impl PayloadAcks for TaggedAcks {
    fn settle(&self, report: &[TaggedAck<'_>]) {
        // The permits first, all at once: the publishers waiting for them go on together.
        self.gate.release(report.len());
        let (metrics, payloads) = (&self.metrics, &self.payloads);
        // One lock for the whole report: nobody else records on this stripe.
        let rec = metrics.recorders.stripe(Dedicated::Callback).hold();
        let (mut acked, mut errors) = (0, 0);
        // A report's acks arrived together: their time since the epoch is worked out once.
        let mut arrived: Option<(Instant, u64)> = None;
        for ack in report {
            let at = match &ack.result {
                Ok(at) => *at,
                Err(e) => {
                    errors += 1;
                    metrics.set_last_error(e.to_string());
                    continue;
                }
            };
            acked += 1;
            if ack.tag & 1 == 0 {
                // Closed loop, short tag: `ack` and its `flight`, in whole microseconds.
                let at_us = match arrived {
                    Some((t, us)) if t == at => us,
                    _ => {
                        let us = payloads.nanos(at) / 1000;
                        arrived = Some((at, us));
                        us
                    }
                };
                let (handed_us, permit_us) = short(ack.tag);
                let flight = at_us.saturating_sub(handed_us);
                rec.record_us(&[(Stage::Ack, flight + permit_us), (Stage::Flight, flight)]);
                continue;
            }
            let Some((start, intended, handed)) =
                stamped_times(payloads, &metrics.e2e, ack.payload, ack.tag)
            else {
                continue;
            };
            let flight = at.saturating_duration_since(handed);
            record_at(&rec, start, intended, at, Stage::Ack, Stage::AckRaw, flight);
        }
        metrics.counters.acked.fetch_add(acked, Relaxed);
        metrics.counters.errors.fetch_add(errors, Relaxed);
    }
}

/// Awaits one ack and settles it.
pub(crate) async fn complete(metrics: &LaneMetrics, rec: &Recorder, p: Pending) {
    let result = p.ack.await;
    settle(metrics, rec, p.ticket, result);
}

/// [`complete`] for futures that must own their inputs (the collector's set, spawned tasks).
pub(crate) async fn complete_owned(metrics: Arc<LaneMetrics>, rec: Recorder, p: Pending) {
    complete(&metrics, &rec, p).await
}

/// Sleeps for `d` unless `cancel` fires first; false when cancelled.
pub(crate) async fn sleep_or_cancel(
    d: Duration,
    cancel: &tokio_util::sync::CancellationToken,
) -> bool {
    tokio::select! {
        _ = cancel.cancelled() => false,
        _ = tokio::time::sleep(d) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::E2eBook;

    #[test]
    fn a_tag_gives_back_the_start_and_hand_over_to_the_microsecond_or_reads_the_stamp() {
        let epoch = Instant::now();
        let payloads = PayloadBuilder::new(256, epoch, 9);
        let e2e = E2eBook::default();
        let start = epoch + Duration::from_nanos(3_600_000_123_456);
        let start_ns = payloads.nanos(start);
        let permit = Duration::from_nanos(1_500_700);
        let payload = payloads.build(256, 7, start, None);
        // Short: nothing read from the payload.
        let t = tag(start_ns, permit, false, false);
        assert_eq!(t & 1, 0);
        let (handed_us, permit_us) = short(t);
        assert_eq!(permit_us, 1_500);
        assert_eq!(handed_us, 3_600_000_123 + 1_500);
        // Long: a permit wait beyond the short tag's bits, an intended start, or a stamp asked for.
        let intended_at = start - Duration::from_millis(3);
        let stamped = payloads.build(256, 7, start, Some(intended_at));
        for (p, t, open) in [
            (
                &payload,
                tag(start_ns, Duration::from_secs(5), false, false),
                false,
            ),
            (&stamped, tag(start_ns, permit, true, true), true),
            (&payload, tag(start_ns, permit, true, false), false),
        ] {
            assert_eq!(t & 1, 1);
            let (s, intended, handed) = stamped_times(&payloads, &e2e, p, t).unwrap();
            assert_eq!(s, start);
            assert_eq!(intended, open.then_some(intended_at));
            assert_eq!(handed - s, Duration::from_nanos(t >> 2));
        }
        let long = tag(start_ns, permit, true, false);
        assert!(
            stamped_times(&payloads, &e2e, &[], long).is_none(),
            "no stamp, no times"
        );
    }
}
