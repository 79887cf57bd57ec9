//! What a recording stripe holds between two stats ticks: for each stage, plain counts laid out
//! as an HdrHistogram's buckets (1 us to [`KEEP_RANGE_US`], three significant digits, the
//! stripes' own histograms), so that recording a sample is one index and one add. The tick moves
//! them into a [`StageSet`], bucket for bucket: the histograms come out as if every sample had
//! been recorded there. Samples beyond the range, and sets added whole, go to a [`StageSet`]
//! kept beside the counts.

use super::histo::{us, StageSet, KEEP_RANGE_US};
use crate::vocab::Stage;
use std::time::Duration;

/// log2 of half the sub-buckets of a bucket: 2048 sub-buckets give three significant digits.
const HALF_MAGNITUDE: u32 = 10;
/// Sub-buckets of a bucket, less one.
const SUB_MASK: u64 = (1 << (HALF_MAGNITUDE + 1)) - 1;
/// Leading zeros of the largest value bucket 0 holds (unit magnitude 0: the lowest value is 1).
const LEADING_ZERO_BASE: u32 = 64 - (HALF_MAGNITUDE + 1);
/// Counts per stage: every bucket below [`KEEP_RANGE_US`].
const SLOTS: usize = index(KEEP_RANGE_US - 1) + 1;

/// The bucket of `value` (below [`KEEP_RANGE_US`]), as HdrHistogram numbers them.
#[inline]
const fn index(value: u64) -> usize {
    let bucket = LEADING_ZERO_BASE - (value | SUB_MASK).leading_zeros();
    let sub = (value >> bucket) as usize;
    ((bucket as usize + 1) << HALF_MAGNITUDE) + sub - (1 << HALF_MAGNITUDE)
}

/// The lowest value of bucket `i`: recorded into a histogram, it lands in the same bucket.
fn value(i: usize) -> u64 {
    let half = 1usize << HALF_MAGNITUDE;
    let bucket = (i >> HALF_MAGNITUDE) as i64 - 1;
    let sub = (i & (half - 1)) + half;
    match bucket {
        b if b < 0 => (sub - half) as u64,
        b => (sub as u64) << b,
    }
}

/// One stripe's samples since the last tick.
#[derive(Default)]
pub struct Tally {
    counts: [Option<Box<[u32]>>; Stage::ALL.len()],
    /// Samples beyond the counts' range, and sets added whole.
    rest: StageSet,
}

impl Tally {
    /// Records one latency, in microseconds (at least 1), for `stage`.
    #[inline]
    pub fn record(&mut self, stage: Stage, value_us: u64) {
        match &mut self.counts[stage.index()] {
            Some(counts) if value_us < KEEP_RANGE_US => {
                let slot = &mut counts[index(value_us.max(1))];
                *slot = slot.saturating_add(1);
            }
            _ => self.record_first_or_beyond(stage, value_us),
        }
    }

    /// [`record`](Self::record) for a stage's first sample or one beyond the counts' range.
    #[cold]
    #[inline(never)]
    fn record_first_or_beyond(&mut self, stage: Stage, value_us: u64) {
        if value_us >= KEEP_RANGE_US {
            return self.rest.record(stage, value_us);
        }
        let counts = self.counts[stage.index()].insert(vec![0; SLOTS].into());
        counts[index(value_us.max(1))] = 1;
    }

    /// Records a duration for `stage`.
    #[inline]
    pub fn record_duration(&mut self, stage: Stage, d: Duration) {
        self.record(stage, us(d));
    }

    /// Adds every sample of `set`.
    pub fn merge(&mut self, set: &StageSet) {
        self.rest.merge(set);
    }

    /// Moves every sample into `into` and leaves the tally empty (its counts keep their
    /// memory). Returns true when the set beside the counts dropped a histogram that a burst had
    /// grown ([`StageSet::clear`]).
    pub fn drain_into(&mut self, into: &mut StageSet) -> bool {
        for stage in Stage::ALL {
            let Some(counts) = &mut self.counts[stage.index()] else {
                continue;
            };
            for (i, n) in counts.iter_mut().enumerate().filter(|(_, n)| **n > 0) {
                into.record_n(stage, value(i), u64::from(*n));
                *n = 0;
            }
        }
        self.rest.drain_into(into)
    }

    /// Bytes its counts and histograms take.
    pub fn bytes(&self) -> usize {
        let counts = self.counts.iter().flatten().map(|c| c.len() * 4);
        counts.sum::<usize>() + self.rest.bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::histo::HIGHEST_US;

    #[test]
    fn every_value_lands_in_the_bucket_a_histogram_gives_it() {
        let h = hdrhistogram::Histogram::<u64>::new_with_bounds(1, HIGHEST_US, 3).unwrap();
        for v in 1..KEEP_RANGE_US {
            assert_eq!(value(index(v)), h.lowest_equivalent(v), "value {v}");
        }
        assert_eq!(SLOTS, index(KEEP_RANGE_US - 1) + 1);
    }

    #[test]
    fn a_drained_tally_gives_the_histograms_recording_would() {
        let (mut tally, mut direct) = (Tally::default(), StageSet::default());
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for i in 0..50_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Mostly below the counts' range, some beyond it, a few at the very top.
            let v = match i % 100 {
                0 => HIGHEST_US,
                1..=4 => KEEP_RANGE_US + x % 10_000_000,
                _ => 1 + x % (KEEP_RANGE_US - 1),
            };
            let stage = [Stage::Ack, Stage::Submit, Stage::Flight][(i % 3) as usize];
            tally.record(stage, v);
            direct.record(stage, v);
        }
        let mut drained = StageSet::default();
        tally.drain_into(&mut drained);
        for stage in [Stage::Ack, Stage::Submit, Stage::Flight] {
            let (a, b) = (drained.histogram(stage), direct.histogram(stage));
            let (a, b) = (a.unwrap(), b.unwrap());
            assert_eq!(a.len(), b.len());
            assert_eq!((a.min(), a.max()), (b.min(), b.max()));
            for q in [0.0, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0] {
                assert_eq!(
                    a.value_at_quantile(q),
                    b.value_at_quantile(q),
                    "{stage:?} q{q}"
                );
            }
        }
        let mut again = StageSet::default();
        tally.drain_into(&mut again);
        assert!(again.is_empty(), "drained means empty");
    }
}
