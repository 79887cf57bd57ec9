//! The store's memory housekeeping: saying where the heap goes. Freed memory goes back to the
//! system by itself: every allocation of the process, the C libraries' (librdkafka) included, is
//! mimalloc's, which hands freed pages back on its own.

use super::MetricsStore;

/// Logs, at debug level under the `pubduel::memory` target, what the allocator holds: the memory
/// mimalloc has committed (now and at its peak; the C libraries' allocations are mimalloc's too),
/// and how much the histograms take: the recording stripes, the sets refilled every tick, and
/// those that accumulate (phase, warm-up, run, closed phases). `benches/soak.sh` prints these
/// each minute. Reads nothing unless that log is on.
pub fn log_heap(store: &MetricsStore) {
    if !tracing::enabled!(target: "pubduel::memory", tracing::Level::DEBUG) {
        return;
    }
    let (mut committed, mut peak) = (0usize, 0usize);
    let none = std::ptr::null_mut();
    // SAFETY: every pointer is null (not wanted) or points to a live usize it writes.
    unsafe {
        libmimalloc_sys::mi_process_info(
            none,
            none,
            none,
            none,
            none,
            &mut committed,
            &mut peak,
            none,
        );
    }
    let h = store.histogram_bytes();
    tracing::debug!(
        target: "pubduel::memory",
        "heap: committed {} kB (peak {} kB); histograms: stripes {} kB, ticks {} kB, \
         accumulated {} kB",
        committed / 1024,
        peak / 1024,
        h.stripes / 1024,
        h.ticks / 1024,
        h.accumulated / 1024
    );
}

/// What the store's histograms take, in bytes ([`MetricsStore::histogram_bytes`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct HistogramBytes {
    /// The lanes' recording stripes and their spares.
    pub stripes: usize,
    /// Sets refilled every tick: the tick's scratch set, the pending and the interval set.
    pub ticks: usize,
    /// Sets that keep every sample: the phase's (measured and warm-up), the run's, closed phases'.
    pub accumulated: usize,
}

impl MetricsStore {
    /// What the histograms take now, by kind of set (for the memory log).
    pub fn histogram_bytes(&self) -> HistogramBytes {
        let stripes = self.lanes.iter().map(|l| l.recorders.bytes()).sum();
        let inner = self.inner.lock();
        let mut b = HistogramBytes {
            stripes,
            ..HistogramBytes::default()
        };
        for l in &inner.lanes {
            b.ticks += l.pending.bytes() + l.drained.bytes() + l.interval.bytes();
            b.accumulated += l.run.bytes() + l.phase.measured.bytes() + l.phase.warm.bytes();
        }
        for lane in inner.closed.iter().flat_map(|p| &p.lanes) {
            b.accumulated += lane.measured.bytes() + lane.warm.bytes();
        }
        b
    }
}
