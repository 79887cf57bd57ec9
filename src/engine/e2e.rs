//! End-to-end tracking: the in-process consumer's side of a lane.

use super::payload::PayloadBuilder;
use crate::metrics::{Counters, Recorder, Stage};
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Instant;

/// Sequence numbers seen so far, one bit each.
#[derive(Default)]
struct Seen {
    bits: Vec<u64>,
}

impl Seen {
    /// Marks `seq` as seen; false when it was seen before.
    fn insert(&mut self, seq: u64) -> bool {
        let (word, bit) = ((seq / 64) as usize, seq % 64);
        if word >= self.bits.len() {
            self.bits.resize((word + 1).next_power_of_two(), 0);
        }
        let fresh = self.bits[word] & (1 << bit) == 0;
        self.bits[word] |= 1 << bit;
        fresh
    }
}

/// Times each consumed message from its publish start and counts duplicates.
pub(crate) struct E2eTracker {
    payloads: PayloadBuilder,
    rec: Recorder,
    counters: Arc<Counters>,
    seen: Mutex<Seen>,
}

impl E2eTracker {
    /// A tracker recording into a lane's metrics.
    pub(crate) fn new(
        payloads: PayloadBuilder,
        recorders: &Arc<crate::metrics::Recorders>,
        counters: Arc<Counters>,
    ) -> E2eTracker {
        E2eTracker {
            payloads,
            rec: recorders.dedicated(crate::metrics::Dedicated::Consumer),
            counters,
            seen: Mutex::default(),
        }
    }

    /// Handles one consumed payload received at `at`.
    pub(crate) fn on_message(&self, payload: &[u8], at: Instant) {
        let Some(stamp) = self.payloads.parse(payload) else {
            return;
        };
        if !self.seen.lock().insert(stamp.seq) {
            Counters::bump(&self.counters.duplicates);
            return;
        }
        Counters::bump(&self.counters.received);
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
    use crate::metrics::{Recorders, StageSet};
    use std::time::Duration;

    #[test]
    fn counts_duplicates_and_times_messages() {
        let epoch = Instant::now();
        let payloads = PayloadBuilder::new(256, epoch, 3);
        let recorders = Arc::new(Recorders::default());
        let counters = Arc::new(Counters::default());
        let t = E2eTracker::new(payloads.clone(), &recorders, Arc::clone(&counters));
        let start = epoch + Duration::from_millis(1);
        let p = payloads.build(64, 9, start, None);
        t.on_message(&p, start + Duration::from_millis(3));
        t.on_message(&p, start + Duration::from_millis(4));
        t.on_message(b"not ours", start);
        let v = counters.values();
        assert_eq!((v.received, v.duplicates), (1, 1));
        let mut set = StageSet::default();
        recorders.drain_into(&mut set);
        let s = set.summary(Stage::E2e).unwrap();
        assert!((2990..=3010).contains(&s.max_us), "{}", s.max_us);
    }
}
