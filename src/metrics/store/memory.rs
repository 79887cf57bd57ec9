//! The store's memory housekeeping: giving freed memory back to the system, and saying where the
//! heap goes.

use super::MetricsStore;

/// Asks the allocator to return the memory the store freed to the system. glibc keeps freed
/// memory in its arenas, so without this the resident size would stay at the high-water mark of
/// the worst burst the run has seen. It walks the arenas (a fraction of a millisecond): call it
/// off the async workers, after a [tick](MetricsStore::tick) that freed something.
pub fn give_back_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointers; it only releases free pages of the arenas.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Logs, at debug level under the `pubduel::memory` target, what the allocator holds (the bytes
/// in use, those it keeps free in its arenas, those mapped on their own) and how much of it the
/// histograms take: the recording stripes, the sets refilled every tick, and those that
/// accumulate (phase, warm-up, run, closed phases). Resident memory that grows while `in use`
/// does not is the allocator's, not pubduel's data (`benches/soak.sh` prints these each minute).
/// Reads nothing unless that log is on.
pub fn log_heap(store: &MetricsStore) {
    if !tracing::enabled!(target: "pubduel::memory", tracing::Level::DEBUG) {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallinfo2 takes nothing and only reads the allocator's counters.
        let m = unsafe { libc::mallinfo2() };
        let h = store.histogram_bytes();
        tracing::debug!(
            target: "pubduel::memory",
            "heap: in use {} kB, free in arenas {} kB, mapped {} kB; histograms: stripes {} kB, \
             ticks {} kB, accumulated {} kB",
            m.uordblks / 1024,
            m.fordblks / 1024,
            m.hblkhd / 1024,
            h.stripes / 1024,
            h.ticks / 1024,
            h.accumulated / 1024
        );
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = store;
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
