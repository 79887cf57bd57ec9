//! The open-loop schedule: when each message of a paced lane is due, released by a pacer thread.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

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
