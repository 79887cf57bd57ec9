//! Hot-path recording: atomic counters and striped recorders ([`Tally`]: counts in HdrHistogram's
//! buckets, moved into histograms by the stats tick).

use super::histo::StageSet;
use super::tally::Tally;
use crate::vocab::Stage;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

/// Stripes per lane. Each worker owns a stripe (`worker_id % 28`), the collector, the consumer,
/// the client callback and what agents send own one each, so a stripe's lock is almost never contended: the stats tick
/// is the only other party that takes it.
const STRIPES: usize = 32;

/// A value on a cache line of its own (128 bytes: two 64-byte lines, as adjacent-line
/// prefetching pairs them).
#[derive(Debug, Default)]
#[repr(align(128))]
pub struct Line<T>(pub T);

impl<T> std::ops::Deref for Line<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// Declares the lane's counters once: the atomic [`Counters`], the plain [`CounterValues`],
/// reading them all, differences, and the list of names.
macro_rules! counters {
    ($($(#[doc = $doc:literal])* $name:ident,)*) => {
        /// The lane's counters, updated with relaxed atomics on the hot path. Each has a cache
        /// line of its own: publishers count `sent` while the client's callback thread counts
        /// `acked`, and counters side by side would make each thread's writes the other's misses.
        #[derive(Debug, Default)]
        pub struct Counters {
            $($(#[doc = $doc])* pub $name: Line<AtomicU64>,)*
            /// Messages submitted and not yet acknowledged (or failed).
            pub in_flight: Line<AtomicI64>,
        }

        /// A plain copy of the counters at one moment (or their growth over a span).
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        #[serde(default)]
        pub struct CounterValues {
            $($(#[doc = $doc])* pub $name: u64,)*
        }

        impl Counters {
            /// Reads every counter.
            pub fn values(&self) -> CounterValues {
                CounterValues { $($name: self.$name.load(Relaxed),)* }
            }

            /// Adds counts measured elsewhere (an agent's interval), and sets the in-flight
            /// gauge to `in_flight`, what is un-acked there now.
            pub fn add(&self, d: &CounterValues, in_flight: u64) {
                $(self.$name.fetch_add(d.$name, Relaxed);)*
                self.in_flight
                    .store(i64::try_from(in_flight).unwrap_or(i64::MAX), Relaxed);
            }
        }

        impl CounterValues {
            /// The growth from `base` to `self`.
            pub fn since(&self, base: &CounterValues) -> CounterValues {
                CounterValues { $($name: self.$name.saturating_sub(base.$name),)* }
            }

            /// `self` and `other` added, counter by counter.
            pub fn plus(&self, other: &CounterValues) -> CounterValues {
                CounterValues { $($name: self.$name + other.$name,)* }
            }

            /// Every counter with its name, in declaration order.
            pub fn named(&self) -> Vec<(&'static str, u64)> {
                vec![$((stringify!($name), self.$name),)*]
            }

            /// Every counter's name with what it counts (its doc comment), in declaration
            /// order: the same list as [`CounterValues::named`].
            pub const DESCRIBED: &'static [(&'static str, &'static str)] =
                &[$((stringify!($name), concat!($($doc),*)),)*];
        }
    };
}

counters! {
    /// Messages handed to the client successfully.
    sent,
    /// Messages the broker acknowledged.
    acked,
    /// Failed submits and failed acks.
    errors,
    /// Submits that had to wait for a max-pending permit.
    stalls,
    /// Submits the client library refused, or held back, because its own queue was full.
    queue_full,
    /// Messages taken by the in-process consumer (end to end).
    received,
    /// Messages the consumer saw more than once.
    duplicates,
}

impl Counters {
    /// Current in-flight messages (never negative).
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Relaxed).max(0) as u64
    }

    /// Counts one increment of `c`.
    pub fn bump(c: &AtomicU64) {
        c.fetch_add(1, Relaxed);
    }
}

/// The striped tallies of one lane.
pub struct Recorders {
    stripes: Box<[Mutex<Tally>]>,
    /// One emptied tally per stripe, swapped in by the stats tick so that merging happens
    /// outside the stripe's lock; only the tick takes this lock.
    spares: Mutex<Box<[Tally]>>,
}

impl Default for Recorders {
    fn default() -> Self {
        let sets = || (0..STRIPES).map(|_| Tally::default());
        Recorders {
            stripes: sets().map(Mutex::new).collect(),
            spares: Mutex::new(sets().collect()),
        }
    }
}

/// Recorders that are not a worker's: each gets a stripe of its own, shared with nobody.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dedicated {
    /// The lane's ack collector task (`async` strategy on clients with ack futures).
    Collector,
    /// The end-to-end consumer.
    Consumer,
    /// Acks settled in a client's own callback thread (Kafka delivery reports).
    Callback,
    /// Samples recorded elsewhere and added whole (agents' intervals).
    Remote,
}

/// Stripes kept for [`Dedicated`] recorders; workers share the rest.
const DEDICATED: usize = 4;

impl Recorders {
    /// A worker's recorder: worker `id` owns stripe `id % 28` of the 28 worker stripes.
    pub fn recorder(self: &Arc<Self>, id: usize) -> Recorder {
        Recorder {
            recorders: Arc::clone(self),
            stripe: DEDICATED + id % (STRIPES - DEDICATED),
        }
    }

    /// The recorder of a [`Dedicated`] party, on a stripe no worker uses.
    pub fn dedicated(self: &Arc<Self>, who: Dedicated) -> Recorder {
        Recorder {
            recorders: Arc::clone(self),
            stripe: who as usize,
        }
    }

    /// `who`'s stripe, borrowed: recording through it clones nothing (a [`Recorder`] holds the
    /// recorders by `Arc`).
    pub fn stripe(&self, who: Dedicated) -> Stripe<'_> {
        Stripe {
            recorders: self,
            stripe: who as usize,
        }
    }

    /// Adds every sample of `set`, recorded elsewhere, to the [`Dedicated::Remote`] stripe.
    pub fn add(&self, set: &StageSet) {
        self.stripes[Dedicated::Remote as usize].lock().merge(set);
    }

    /// Moves every recorded sample into `into`; called by the stats tick. Each stripe's lock is
    /// held only to swap its set with an empty spare; the merge runs outside it. A histogram that
    /// a burst had grown is dropped ([`StageSet::drain_into`]).
    pub fn drain_into(&self, into: &mut StageSet) {
        let mut spares = self.spares.lock();
        for (stripe, spare) in self.stripes.iter().zip(spares.iter_mut()) {
            std::mem::swap(&mut *stripe.lock(), spare);
            spare.drain_into(into);
        }
    }

    /// Bytes the stripes' and spares' histograms take.
    pub fn bytes(&self) -> usize {
        let spares: usize = self.spares.lock().iter().map(Tally::bytes).sum();
        spares + self.stripes.iter().map(|s| s.lock().bytes()).sum::<usize>()
    }
}

/// A worker's handle for recording latencies; cheap to clone.
#[derive(Clone)]
pub struct Recorder {
    recorders: Arc<Recorders>,
    stripe: usize,
}

impl Recorder {
    /// Records several stages of one event under a single, almost always uncontended, lock.
    pub fn record(&self, samples: &[(Stage, Duration)]) {
        let mut set = self.recorders.stripes[self.stripe].lock();
        for (stage, d) in samples {
            set.record_duration(*stage, *d);
        }
    }
}

/// Anything latencies are recorded through: a worker's [`Recorder`], or a borrowed [`Stripe`].
pub trait Record {
    /// Records several stages of one event under a single lock.
    fn record(&self, samples: &[(Stage, Duration)]);
}

impl Record for Recorder {
    fn record(&self, samples: &[(Stage, Duration)]) {
        Recorder::record(self, samples);
    }
}

/// A [`Dedicated`] party's stripe, borrowed from the lane's recorders.
pub struct Stripe<'a> {
    recorders: &'a Recorders,
    stripe: usize,
}

impl Record for Stripe<'_> {
    fn record(&self, samples: &[(Stage, Duration)]) {
        self.hold().record(samples);
    }
}

impl<'a> Stripe<'a> {
    /// The stripe, locked until the result is dropped: for a run of records in one go (a
    /// delivery report's acks), one lock for all of them.
    pub fn hold(&self) -> Held<'a> {
        Held(std::cell::RefCell::new(
            self.recorders.stripes[self.stripe].lock(),
        ))
    }
}

/// A [`Stripe`] held locked ([`Stripe::hold`]).
pub struct Held<'a>(std::cell::RefCell<parking_lot::MutexGuard<'a, Tally>>);

impl Held<'_> {
    /// Records several stages, each in whole microseconds.
    pub fn record_us(&self, samples: &[(Stage, u64)]) {
        let mut set = self.0.borrow_mut();
        for (stage, us) in samples {
            set.record(*stage, *us);
        }
    }
}

impl Record for Held<'_> {
    fn record(&self, samples: &[(Stage, Duration)]) {
        let mut set = self.0.borrow_mut();
        for (stage, d) in samples {
            set.record_duration(*stage, *d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorders_drain_every_stripe() {
        let r = Arc::new(Recorders::default());
        for id in 0..100 {
            r.recorder(id).record(&[
                (Stage::Submit, Duration::from_micros(5)),
                (Stage::Ack, Duration::from_millis(2)),
            ]);
        }
        let mut out = StageSet::default();
        r.drain_into(&mut out);
        assert_eq!(out.count(Stage::Submit), 100);
        assert_eq!(out.count(Stage::Ack), 100);
        let mut again = StageSet::default();
        r.drain_into(&mut again);
        assert_eq!(again.count(Stage::Submit), 0);
    }

    #[test]
    fn dedicated_stripes_are_nobody_elses() {
        let r = Arc::new(Recorders::default());
        let dedicated: Vec<usize> = [
            Dedicated::Collector,
            Dedicated::Consumer,
            Dedicated::Callback,
            Dedicated::Remote,
        ]
        .iter()
        .map(|d| r.dedicated(*d).stripe)
        .collect();
        assert_eq!(dedicated, vec![0, 1, 2, 3]);
        for id in 0..200 {
            assert!(!dedicated.contains(&r.recorder(id).stripe));
        }
    }

    #[test]
    fn counter_deltas() {
        let c = Counters::default();
        let base = c.values();
        Counters::bump(&c.sent);
        Counters::bump(&c.sent);
        Counters::bump(&c.acked);
        let d = c.values().since(&base);
        assert_eq!((d.sent, d.acked, d.errors), (2, 1, 0));
        assert_eq!(d.named()[..2], [("sent", 2), ("acked", 1)]);
        let names: Vec<&str> = d.named().iter().map(|(n, _)| *n).collect();
        let described: Vec<&str> = CounterValues::DESCRIBED.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, described);
        assert_eq!(
            CounterValues::DESCRIBED[1].1.trim(),
            "Messages the broker acknowledged."
        );
    }
}
