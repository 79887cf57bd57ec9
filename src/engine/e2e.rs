//! End-to-end tracking: the in-process consumer's side of a lane.

use super::payload::PayloadBuilder;
use crate::metrics::{Counters, Dedicated, LaneMetrics, Recorder};
use crate::vocab::Stage;
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Instant;

/// Sequence numbers a duplicate is looked for among: the last 2^23 (8 million, 1 MB of bits),
/// minutes of traffic at any rate pubduel reaches.
const WINDOW_BITS: u64 = 1 << 23;

/// Sequence numbers seen lately, one bit each, in a window that slides with the newest: memory
/// stays the same however long the run.
struct Seen {
    bits: Vec<u64>,
    /// The lowest sequence number the window still covers.
    low: u64,
}

impl Default for Seen {
    fn default() -> Seen {
        let mut bits = vec![0u64; (WINDOW_BITS / 64) as usize];
        // Touch every page now: the window's memory is resident from the start instead of
        // growing for the minutes it takes to fill, so memory is flat from the first minute.
        for w in bits.iter_mut().step_by(512) {
            // SAFETY: `w` is a valid, aligned, exclusive reference into `bits`.
            unsafe { std::ptr::write_volatile(w, 0) };
        }
        Seen { bits, low: 0 }
    }
}

impl Seen {
    /// Marks `seq` as seen; false when it was seen before. A number older than the window is
    /// taken as fresh: too old to tell.
    fn insert(&mut self, seq: u64) -> bool {
        if seq < self.low {
            return true;
        }
        if seq >= self.low + WINDOW_BITS {
            self.slide_to(seq + 1 - WINDOW_BITS);
        }
        let (word, bit) = (((seq / 64) % (WINDOW_BITS / 64)) as usize, seq % 64);
        let fresh = self.bits[word] & (1 << bit) == 0;
        self.bits[word] |= 1 << bit;
        fresh
    }

    /// Moves the window's low end up to (the word holding) `low`, forgetting what falls out.
    fn slide_to(&mut self, low: u64) {
        let words = WINDOW_BITS / 64;
        let (from, to) = (self.low / 64, low.div_ceil(64));
        for w in from..to.min(from + words) {
            self.bits[(w % words) as usize] = 0;
        }
        self.low = to * 64;
    }
}

/// Times each consumed message from its publish start and counts duplicates.
pub(crate) struct E2eTracker {
    payloads: PayloadBuilder,
    rec: Recorder,
    metrics: Arc<LaneMetrics>,
    seen: Mutex<Seen>,
}

impl E2eTracker {
    /// A tracker recording into a lane's metrics, keeping its end-to-end book.
    pub(crate) fn new(payloads: PayloadBuilder, metrics: Arc<LaneMetrics>) -> E2eTracker {
        metrics.e2e.enable();
        E2eTracker {
            payloads,
            rec: metrics.recorders.dedicated(Dedicated::Consumer),
            metrics,
            seen: Mutex::default(),
        }
    }

    /// Handles one consumed message received at `at`: its stamp is in its stamp header, if it
    /// has one, else at the start of its payload.
    pub(crate) fn on_message(&self, payload: &[u8], stamp: Option<&[u8]>, at: Instant) {
        let stamp = match stamp {
            Some(h) => self.payloads.parse_header(h),
            None => self.payloads.parse(payload),
        };
        let Some(stamp) = stamp else {
            return;
        };
        let counters = &self.metrics.counters;
        if !self.seen.lock().insert(stamp.seq) {
            Counters::bump(&counters.duplicates);
            return;
        }
        Counters::bump(&counters.received);
        self.metrics.e2e.received(stamp.seq);
        let start = self.payloads.instant(stamp.start_ns);
        let raw = at.saturating_duration_since(start);
        if stamp.intended_ns == 0 {
            self.rec.record(&[(Stage::E2e, raw)]);
        } else {
            let intended = self.payloads.instant(stamp.intended_ns);
            self.rec.record(&[
                (Stage::E2e, at.saturating_duration_since(intended)),
                (Stage::E2eRaw, raw),
            ]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{no_analysis, MetricsStore, StageSet};
    use crate::vocab::Knobs;
    use std::time::Duration;

    #[test]
    fn counts_duplicates_and_times_messages() {
        let epoch = Instant::now();
        let payloads = PayloadBuilder::new(256, epoch, 3);
        let store = MetricsStore::new(
            &[("l".into(), Knobs::default())],
            no_analysis(),
            Duration::ZERO,
            epoch,
        );
        let metrics = Arc::clone(&store.lanes()[0]);
        let t = E2eTracker::new(payloads.clone(), Arc::clone(&metrics));
        let start = epoch + Duration::from_millis(1);
        let p = payloads.build(64, 9, start, None);
        t.on_message(&p, None, start + Duration::from_millis(3));
        t.on_message(&p, None, start + Duration::from_millis(4));
        t.on_message(b"not ours", None, start);
        // A file's payload with the stamp in a header: message 10, timed the same way.
        let file = PayloadBuilder::new(256, epoch, 3).with_file(Some("{\"a\":1}".into()));
        let (body, stamp) = file.build_message(64, 10, start, None, false);
        assert_eq!(&body[..], b"{\"a\":1}", "the file's bytes, untouched");
        t.on_message(&body, stamp.as_deref().map(str::as_bytes), start);
        t.on_message(&body, Some(b"zz"), start);
        let v = metrics.counters.values();
        assert_eq!((v.received, v.duplicates), (2, 1));
        assert_eq!(metrics.e2e.counts(0).unwrap().received, 2);
        let mut set = StageSet::default();
        metrics.recorders.drain_into(&mut set);
        let s = set.summary(Stage::E2e).unwrap();
        assert!((2990..=3010).contains(&s.max_us), "{}", s.max_us);
        assert_eq!(s.count, 2);
    }

    #[test]
    fn the_seen_window_slides_and_keeps_its_size() {
        let mut seen = Seen::default();
        let words = seen.bits.len();
        assert!(seen.insert(5) && !seen.insert(5));
        // Far ahead: the window moves, forgetting 5; a number below it is taken as fresh.
        let far = 3 * WINDOW_BITS + 17;
        assert!(seen.insert(far) && !seen.insert(far));
        assert!(seen.insert(5), "older than the window: too old to tell");
        assert!(seen.insert(far - 1) && !seen.insert(far - 1));
        for seq in far..far + 200_000 {
            seen.insert(seq);
        }
        assert!(!seen.insert(far + 100));
        assert_eq!(seen.bits.len(), words);
    }
}
