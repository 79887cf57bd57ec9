//! The open-loop schedule: when each message of a paced lane is due, released by a pacer thread.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Open-loop schedule: slot `i` is due at `start + i / rate`.
///
/// A pacer thread releases one token per slot a little before it falls due (`std::thread::sleep`
/// is precise to tens of microseconds, tokio timers only to a millisecond); a worker takes a
/// token, claims the next slot and waits out the rest to the exact instant on its own thread.
/// The lead is what waking a worker costs (learnt as the run goes), so the worker is ready when
/// the slot is due instead of starting to wake up then. Tokens pile up when workers fall behind,
/// so lag is measured, not hidden.
pub(crate) struct Schedule {
    start: Instant,
    rate: u64,
    next: AtomicU64,
    tokens: Arc<Semaphore>,
    stop: Arc<AtomicBool>,
    /// How early the pacer releases a slot, in nanoseconds.
    lead_ns: Arc<AtomicU64>,
    /// Spin the last microseconds instead of sleeping them (costs CPU, gains precision).
    precise: bool,
}

/// Longest the pacer sleeps before it looks at its stop flag again.
const PACER_NAP: Duration = Duration::from_millis(2);
/// The lead a schedule starts with, before it has seen a worker wake up.
const FIRST_LEAD_NS: u64 = 50_000;
/// The most a slot is released early (and so the longest a worker waits for it).
const MAX_LEAD_NS: u64 = 300_000;

impl Schedule {
    /// A schedule of `rate` msg/s starting at `start`, with its pacer running; `precise` spins
    /// the wait for each slot.
    pub(crate) fn new(start: Instant, rate: u64, precise: bool) -> Schedule {
        let rate = rate.max(1);
        let tokens = Arc::new(Semaphore::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let lead_ns = Arc::new(AtomicU64::new(FIRST_LEAD_NS));
        let (t, s, l) = (Arc::clone(&tokens), Arc::clone(&stop), Arc::clone(&lead_ns));
        let spawned = std::thread::Builder::new()
            .name("pubduel-pacer".into())
            .spawn(move || pace(start, rate, &t, &s, &l));
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
            lead_ns,
            precise,
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
        let due = self.slot_time(self.next.fetch_add(1, Relaxed));
        let now = Instant::now();
        self.learn(due, now);
        if now < due {
            wait_exactly(due, self.precise);
        }
        due
    }

    /// Moves the lead towards what this wake-up took: from the slot's release to `now`.
    fn learn(&self, due: Instant, now: Instant) {
        let lead = self.lead_ns.load(Relaxed);
        let released = due.checked_sub(Duration::from_nanos(lead)).unwrap_or(due);
        let took = now.saturating_duration_since(released).as_nanos() as u64;
        // A tenth of the way each time: one slow wake-up barely moves it.
        let next = (lead * 9 + took.min(MAX_LEAD_NS)) / 10;
        self.lead_ns.store(next.min(MAX_LEAD_NS), Relaxed);
    }
}

/// Waits on this thread until `due`, at most [`MAX_LEAD_NS`] away: a sleep with a tight timer
/// slack, or with `precise` a spin.
fn wait_exactly(due: Instant, precise: bool) {
    if precise {
        while Instant::now() < due {
            std::hint::spin_loop();
        }
    } else {
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
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
/// 50 us, which would show up as generator lag). The pacer calls it; so should every thread a
/// worker runs on (the runtime's `on_thread_start`).
pub fn tight_timer_slack() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_TIMERSLACK only changes this thread's timer slack; no memory is passed.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
    }
}

/// The pacer thread: releases tokens `lead` before their slots fall due until told to stop.
fn pace(start: Instant, rate: u64, tokens: &Semaphore, stop: &AtomicBool, lead_ns: &AtomicU64) {
    tight_timer_slack();
    let mut released: u64 = 0;
    while !stop.load(Relaxed) {
        let lead = Duration::from_nanos(lead_ns.load(Relaxed));
        let ahead = Instant::now() + lead;
        let elapsed = ahead.saturating_duration_since(start).as_nanos();
        let due = (elapsed * u128::from(rate) / 1_000_000_000) as u64 + 1;
        if due > released {
            tokens.add_permits((due - released).min(1 << 30) as usize);
            released = due;
        }
        let next = slot_time(start, rate, released)
            .checked_sub(lead)
            .unwrap_or(start);
        std::thread::sleep(
            next.saturating_duration_since(Instant::now())
                .min(PACER_NAP),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn schedule_releases_slots_on_time() {
        let t0 = Instant::now();
        let s = Schedule::new(t0, 1000, false);
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

#[cfg(test)]
mod precise_tests {
    use super::*;

    #[tokio::test]
    async fn a_precise_schedule_hands_out_slots_at_their_instant() {
        let t0 = Instant::now();
        let s = Schedule::new(t0, 2000, true);
        for _ in 0..200 {
            let due = s.next_slot().await;
            assert!(Instant::now() >= due);
        }
        let lead = s.lead_ns.load(Relaxed);
        assert!(lead <= MAX_LEAD_NS, "{lead}");
    }
}
