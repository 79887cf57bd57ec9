//! The histogram set that holds one histogram per stage.

use crate::vocab::Stage;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Highest latency a histogram tracks: 60 s, in microseconds. Larger values are clamped.
pub const HIGHEST_US: u64 = 60_000_000;
/// Significant digits kept by every histogram.
const SIGFIG: u8 = 3;
/// A histogram refilled every interval that has grown to cover more than this (about 130 ms,
/// 64 KB) is dropped when the interval it held needed a quarter of its range
/// ([`StageSet::clear`]); below it, a histogram keeps its memory from one interval to the next.
pub const KEEP_RANGE_US: u64 = 1 << 17;

/// Converts a duration to whole microseconds, clamped to the histogram range.
#[inline]
pub fn us(d: Duration) -> u64 {
    // Whole seconds and micros apart: `as_micros` takes a u128 path on every sample.
    let secs = d.as_secs().min(HIGHEST_US / 1_000_000 + 1);
    (secs * 1_000_000 + u64::from(d.subsec_micros())).clamp(1, HIGHEST_US)
}

/// One histogram per stage, created on first use (idle stages cost nothing) at the size it keeps,
/// so that recording does not reallocate: a set refilled every interval with room for
/// [`KEEP_RANGE_US`], an [accumulating](StageSet::accumulating) one for the whole range. A set
/// that will not record again (a closed phase's) can be [packed](StageSet::pack): each histogram
/// is kept in the HdrHistogram V2 compressed form (a few KB instead of tens), with its summary.
#[derive(Clone, Default)]
pub struct StageSet {
    hists: [Option<Histogram<u64>>; Stage::ALL.len()],
    packed: [Option<Packed>; Stage::ALL.len()],
    sizing: Sizing,
}

/// How large a set makes a histogram when its stage first records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Sizing {
    /// Refilled every interval (a recording stripe, a tick's set): room for [`KEEP_RANGE_US`]
    /// (64 KB). A burst above it widens the histogram, and [`StageSet::clear`] drops it once
    /// the burst is over.
    #[default]
    Refilled,
    /// Keeps every sample (a phase's, the run's): room for the whole range up to [`HIGHEST_US`]
    /// (136 KB), so a new worst latency never reallocates it.
    Accumulating,
}

/// A histogram kept compressed, with the figures read from it before.
#[derive(Clone)]
struct Packed {
    summary: StageSummary,
    v2: std::sync::Arc<[u8]>,
}

/// A histogram that cannot be written or read in the HdrHistogram V2 form.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HistogramError {
    /// The serialiser refused the histogram (a count beyond the format's range).
    #[error("cannot encode the histogram in the HdrHistogram V2 form: {0}")]
    Encode(String),
    /// The bytes are not a V2 histogram.
    #[error("not an HdrHistogram V2 histogram: {0}")]
    Decode(String),
}

/// The HdrHistogram V2 compressed (deflate) form of `h`, which any HdrHistogram library reads.
pub fn encode_v2(h: &Histogram<u64>) -> Result<Vec<u8>, HistogramError> {
    use hdrhistogram::serialization::{Serializer, V2DeflateSerializer};
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(h, &mut bytes)
        .map_err(|e| HistogramError::Encode(format!("{e:?}")))?;
    Ok(bytes)
}

/// Reads a histogram in the HdrHistogram V2 form, compressed or not.
pub fn decode_v2(bytes: &[u8]) -> Result<Histogram<u64>, HistogramError> {
    use hdrhistogram::serialization::Deserializer;
    Deserializer::new()
        .deserialize(&mut &bytes[..])
        .map_err(|e| HistogramError::Decode(format!("{e:?}")))
}

/// A histogram at the size `sizing` gives, every count written once so that all of its memory
/// is resident from its first sample, rather than page by page as slower samples arrive.
fn new_histogram(sizing: Sizing) -> Histogram<u64> {
    let high = match sizing {
        Sizing::Refilled => KEEP_RANGE_US - 1,
        Sizing::Accumulating => HIGHEST_US,
    };
    let mut h = Histogram::new_with_bounds(1, high, SIGFIG).expect("valid histogram bounds");
    h.auto(true);
    h.reset();
    h
}

impl StageSet {
    /// A set that keeps every sample (a phase's, the run's): its histograms are made for the
    /// whole range at once, so its memory does not grow with the worst latency seen.
    pub fn accumulating() -> StageSet {
        StageSet {
            sizing: Sizing::Accumulating,
            ..StageSet::default()
        }
    }

    /// Records one latency, in microseconds, for `stage`.
    #[inline]
    pub fn record(&mut self, stage: Stage, value_us: u64) {
        let sizing = self.sizing;
        let h = self.hists[stage.index()].get_or_insert_with(|| new_histogram(sizing));
        // Auto-resize cannot fail within the clamped range.
        let _ = h.record(value_us.clamp(1, HIGHEST_US));
    }

    /// Records `count` latencies of `value_us` microseconds for `stage`.
    pub fn record_n(&mut self, stage: Stage, value_us: u64, count: u64) {
        let sizing = self.sizing;
        let h = self.hists[stage.index()].get_or_insert_with(|| new_histogram(sizing));
        let _ = h.record_n(value_us.clamp(1, HIGHEST_US), count);
    }

    /// Records a duration for `stage`.
    #[inline]
    pub fn record_duration(&mut self, stage: Stage, d: Duration) {
        self.record(stage, us(d));
    }

    /// Adds all samples of `other` into this set (histograms stay mergeable across phases and
    /// hosts); packed stages of `other` are read back first.
    pub fn merge(&mut self, other: &StageSet) {
        self.unpack();
        let sizing = self.sizing;
        for (i, mine) in self.hists.iter_mut().enumerate() {
            let unpacked = other.packed[i].as_ref().and_then(|p| decode_v2(&p.v2).ok());
            let theirs = other.hists[i].as_ref().or(unpacked.as_ref());
            if let Some(t) = theirs.filter(|t| !t.is_empty()) {
                let h = mine.get_or_insert_with(|| new_histogram(sizing));
                let _ = h.add(t);
            }
        }
    }

    /// Adds the samples of `h` (read from elsewhere: an agent's interval) to `stage`.
    pub fn add_histogram(&mut self, stage: Stage, h: &Histogram<u64>) {
        if h.is_empty() {
            return;
        }
        self.unpack();
        let sizing = self.sizing;
        let mine = self.hists[stage.index()].get_or_insert_with(|| new_histogram(sizing));
        let _ = mine.add(h);
    }

    /// Keeps every histogram compressed, with its summary: for a set that will not record again.
    pub fn pack(&mut self) {
        for (h, p) in self.hists.iter_mut().zip(self.packed.iter_mut()) {
            let Some(full) = h.as_ref().filter(|h| !h.is_empty()) else {
                *h = None;
                continue;
            };
            // A histogram the encoder refuses stays as it is: nothing is lost, it only stays big.
            if let Ok(v2) = encode_v2(full) {
                *p = Some(Packed {
                    summary: StageSummary::of(full),
                    v2: v2.into(),
                });
                *h = None;
            }
        }
    }

    /// Reads packed histograms back, so the set can record again.
    fn unpack(&mut self) {
        for (h, p) in self.hists.iter_mut().zip(self.packed.iter_mut()) {
            if let Some(p) = p.take() {
                if let Ok(mut back) = decode_v2(&p.v2) {
                    back.auto(true);
                    *h = Some(back);
                }
            }
        }
    }

    /// The V2 compressed form of `stage`'s histogram, if it has samples.
    pub fn encoded(&self, stage: Stage) -> Result<Option<std::sync::Arc<[u8]>>, HistogramError> {
        match &self.packed[stage.index()] {
            Some(p) => Ok(Some(std::sync::Arc::clone(&p.v2))),
            None => match self.histogram(stage) {
                Some(h) => Ok(Some(encode_v2(h)?.into())),
                None => Ok(None),
            },
        }
    }

    /// Moves every sample into `into` and leaves this set empty, as [`clear`](Self::clear) does.
    /// Returns true when it dropped a histogram.
    pub fn drain_into(&mut self, into: &mut StageSet) -> bool {
        into.merge(self);
        self.clear()
    }

    /// Empties the set for the next interval. A histogram keeps its memory unless a burst of slow
    /// samples grew it past [`KEEP_RANGE_US`] and to four times the range this interval needed:
    /// then it is dropped, and made again at its first size on its next sample. So sets that are
    /// refilled every interval stay as large as the latencies they see now, not as the worst the
    /// run has seen. Returns true when it dropped one.
    pub fn clear(&mut self) -> bool {
        self.packed = Default::default();
        let refilled = self.sizing == Sizing::Refilled;
        let mut dropped = false;
        for slot in self.hists.iter_mut() {
            match slot {
                Some(h) if refilled && h.high() > KEEP_RANGE_US && h.max() < h.high() / 4 => {
                    *slot = None;
                    dropped = true;
                }
                Some(h) => h.reset(),
                None => {}
            }
        }
        dropped
    }

    /// Bytes its histograms' counts take (packed ones: their compressed size).
    pub fn bytes(&self) -> usize {
        let counts = self.hists.iter().flatten();
        let packed = self.packed.iter().flatten();
        counts
            .map(|h| h.distinct_values() * std::mem::size_of::<u64>())
            .sum::<usize>()
            + packed.map(|p| p.v2.len()).sum::<usize>()
    }

    /// True when no stage holds a sample.
    pub fn is_empty(&self) -> bool {
        self.packed.iter().all(Option::is_none) && self.hists.iter().flatten().all(|h| h.is_empty())
    }

    /// Samples held for `stage`.
    pub fn count(&self, stage: Stage) -> u64 {
        self.summary(stage).map_or(0, |s| s.count)
    }

    /// The histogram of `stage`, if it has samples and is not packed.
    pub fn histogram(&self, stage: Stage) -> Option<&Histogram<u64>> {
        self.hists[stage.index()].as_ref().filter(|h| !h.is_empty())
    }

    /// Count, mean and percentiles of `stage`, if it has samples.
    pub fn summary(&self, stage: Stage) -> Option<StageSummary> {
        match &self.packed[stage.index()] {
            Some(p) => Some(p.summary),
            None => self.histogram(stage).map(StageSummary::of),
        }
    }

    /// Summaries of every stage that has samples, in display order.
    pub fn summaries(&self) -> Vec<(Stage, StageSummary)> {
        Stage::ALL
            .iter()
            .filter_map(|s| self.summary(*s).map(|v| (*s, v)))
            .collect()
    }
}

/// Count, mean and the percentiles pubduel reports, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct StageSummary {
    /// Samples.
    pub count: u64,
    /// Mean, in microseconds.
    pub mean_us: f64,
    /// Median.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// 99.99th percentile (the tail the dashboard's distribution panel shows).
    #[serde(default)]
    pub p9999_us: u64,
    /// Largest sample.
    pub max_us: u64,
}

impl StageSummary {
    /// Summarises one histogram.
    pub fn of(h: &Histogram<u64>) -> StageSummary {
        StageSummary {
            count: h.len(),
            mean_us: (h.mean() * 10.0).round() / 10.0,
            p50_us: h.value_at_quantile(0.50),
            p90_us: h.value_at_quantile(0.90),
            p99_us: h.value_at_quantile(0.99),
            p999_us: h.value_at_quantile(0.999),
            p9999_us: h.value_at_quantile(0.9999),
            max_us: h.max(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_merge_and_summarise() {
        let mut a = StageSet::default();
        let mut b = StageSet::default();
        for v in 1..=1000 {
            a.record(Stage::Ack, v);
        }
        b.record(Stage::Ack, 5_000_000);
        b.record(Stage::Submit, 7);
        a.merge(&b);
        let s = a.summary(Stage::Ack).unwrap();
        assert_eq!(s.count, 1001);
        assert!((499..=501).contains(&s.p50_us), "p50 {}", s.p50_us);
        assert!(s.p50_us <= s.p90_us && s.p90_us <= s.p99_us && s.p99_us <= s.max_us);
        assert!(s.p999_us <= s.p9999_us && s.p9999_us <= s.max_us);
        assert!(s.max_us >= 4_990_000);
        assert_eq!(a.count(Stage::Submit), 1);
        assert!(a.summary(Stage::E2e).is_none());
    }

    #[test]
    fn a_duration_is_its_whole_microseconds_within_the_range() {
        for d in [
            1,
            999,
            1_000,
            1_001,
            999_999,
            1_000_000,
            2_500_000_700,
            59_999_999_999,
        ] {
            let d = Duration::from_nanos(d);
            assert_eq!(us(d), (d.as_micros() as u64).clamp(1, HIGHEST_US), "{d:?}");
        }
        assert_eq!(us(Duration::ZERO), 1);
        assert_eq!(us(Duration::from_secs(u64::MAX)), HIGHEST_US);
    }

    #[test]
    fn values_are_clamped_to_the_range() {
        let mut a = StageSet::default();
        a.record(Stage::Lag, 10 * HIGHEST_US);
        a.record(Stage::Lag, 0);
        let s = a.summary(Stage::Lag).unwrap();
        assert!(s.max_us <= HIGHEST_US + HIGHEST_US / 1000);
        assert_eq!(s.count, 2);
    }

    #[test]
    fn drain_empties_the_source() {
        let mut a = StageSet::default();
        let mut b = StageSet::default();
        a.record(Stage::Submit, 3);
        a.drain_into(&mut b);
        assert_eq!(a.count(Stage::Submit), 0);
        assert_eq!(b.count(Stage::Submit), 1);
    }

    #[test]
    fn a_burst_grows_a_recording_set_only_while_it_lasts() {
        let (mut stripe, mut into) = (StageSet::default(), StageSet::default());
        let capacity = |s: &StageSet| {
            s.hists[Stage::Ack.index()]
                .as_ref()
                .map(|h| h.distinct_values())
        };
        stripe.record(Stage::Ack, 2_000);
        assert!(
            !stripe.drain_into(&mut into),
            "a small histogram keeps its memory"
        );
        let small = capacity(&stripe).unwrap();
        stripe.record(Stage::Ack, 3_000_000);
        assert!(
            !stripe.drain_into(&mut into),
            "kept through the interval that needed it"
        );
        assert!(capacity(&stripe).unwrap() > small);
        stripe.record(Stage::Ack, 2_000);
        assert!(
            stripe.drain_into(&mut into),
            "dropped once the burst is over"
        );
        assert_eq!(capacity(&stripe), None);
        stripe.record(Stage::Ack, 2_000);
        assert_eq!(capacity(&stripe), Some(small));
        assert_eq!(into.count(Stage::Ack), 3);
        assert_eq!(into.summary(Stage::Ack).unwrap().max_us / 1000, 3_000);
    }

    #[test]
    fn histograms_are_made_at_the_size_they_keep() {
        let (mut stripe, mut run) = (StageSet::default(), StageSet::accumulating());
        stripe.record(Stage::Ack, 50);
        run.record(Stage::Ack, 50);
        let (stripe_bytes, run_bytes) = (stripe.bytes(), run.bytes());
        assert_eq!(stripe_bytes, 64 << 10, "room for 130 ms from the start");
        // Every latency up to 130 ms fits the stripe, any latency at all the run's set.
        for v in [900, 40_000, KEEP_RANGE_US - 1] {
            stripe.record(Stage::Ack, v);
        }
        assert_eq!(stripe.bytes(), stripe_bytes);
        for v in [40_000, 3_000_000, HIGHEST_US] {
            run.record(Stage::Ack, v);
            run.merge(&stripe);
        }
        assert_eq!(
            run.bytes(),
            run_bytes,
            "a new worst latency reallocates nothing"
        );
        assert_eq!(run.summary(Stage::Ack).unwrap().count, 4 + 3 * 4);
        // An accumulating set is never shrunk, whatever its range.
        assert!(!run.clear());
        assert_eq!(run.bytes(), run_bytes);
    }
}

#[cfg(test)]
mod pack_tests {
    use super::*;

    #[test]
    fn a_packed_set_keeps_its_figures_in_a_fraction_of_the_memory() {
        let mut set = StageSet::default();
        for v in 1..=50_000u64 {
            set.record(Stage::Ack, v);
            set.record(Stage::Submit, v % 700 + 1);
        }
        let before = (set.summary(Stage::Ack), set.summary(Stage::Submit));
        let live = set.bytes();
        set.pack();
        assert_eq!(
            (set.summary(Stage::Ack), set.summary(Stage::Submit)),
            before
        );
        assert_eq!(set.count(Stage::Ack), 50_000);
        assert!(set.histogram(Stage::Ack).is_none() && !set.is_empty());
        let packed = set.bytes();
        assert!(packed * 4 < live, "{packed} bytes packed vs {live} live");
        let back = decode_v2(&set.encoded(Stage::Ack).unwrap().unwrap()).unwrap();
        assert_eq!(back.len(), 50_000);
        let mut merged = StageSet::default();
        merged.merge(&set);
        merged.merge(&set);
        assert_eq!(merged.count(Stage::Ack), 100_000);
    }
}
