//! End-to-end accounting by the phase a message was published in: of the messages a phase
//! published and the broker acked, how many the consumer saw, how many only after publishing had
//! stopped (`late`), and so how many never arrived (`missing`). A phase is a range of sequence
//! numbers, so a message acked or seen in a later phase still counts for its own.

use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

/// End-to-end counts of the messages one phase published.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct E2eCounts {
    /// Acked by the broker.
    pub acked: u64,
    /// Seen by the consumer (once each).
    pub received: u64,
    /// Of those, seen only after publishing had stopped (while the consumers drained).
    pub late: u64,
}

impl E2eCounts {
    /// Acked messages the consumer never saw.
    pub fn missing(&self) -> u64 {
        self.acked.saturating_sub(self.received)
    }
}

#[derive(Default)]
struct Book {
    /// First sequence number of each phase, ascending.
    starts: Vec<u64>,
    counts: Vec<E2eCounts>,
    closing: bool,
}

impl Book {
    fn phase_of(&mut self, seq: u64) -> &mut E2eCounts {
        if self.starts.is_empty() {
            self.starts.push(0);
            self.counts.push(E2eCounts::default());
        }
        let i = self.starts.partition_point(|s| *s <= seq).saturating_sub(1);
        &mut self.counts[i]
    }
}

/// One lane's end-to-end book; inert until enabled (runs without `--e2e` pay nothing).
#[derive(Default)]
pub struct E2eBook {
    on: AtomicBool,
    book: Mutex<Book>,
}

impl E2eBook {
    /// Starts keeping the book.
    pub fn enable(&self) {
        self.on.store(true, Relaxed);
    }

    /// Whether the book is kept.
    pub fn enabled(&self) -> bool {
        self.on.load(Relaxed)
    }

    /// A phase opens: its messages are numbered from `first_seq()` on. The number is read under
    /// the book's lock, so an ack or a receipt of a message numbered from it on (which takes
    /// the lock too) is booked to the new phase even when it comes while the phase opens;
    /// read before the lock, such a message's ack could land in the old phase and its receipt
    /// in the new one, and the old phase would show it missing.
    pub fn begin_phase(&self, first_seq: impl FnOnce() -> u64) {
        let mut b = self.book.lock();
        if b.starts.is_empty() {
            b.starts.push(0);
            b.counts.push(E2eCounts::default());
        }
        let first = first_seq();
        b.starts.push(first);
        b.counts.push(E2eCounts::default());
    }

    /// The broker acked message `seq`.
    pub fn acked(&self, seq: u64) {
        if self.enabled() {
            self.book.lock().phase_of(seq).acked += 1;
        }
    }

    /// The consumer saw message `seq` for the first time.
    pub fn received(&self, seq: u64) {
        if self.enabled() {
            let mut b = self.book.lock();
            let late = b.closing;
            let c = b.phase_of(seq);
            c.received += 1;
            c.late += u64::from(late);
        }
    }

    /// Publishing has stopped: what arrives from now on is late.
    pub fn closing(&self) {
        self.book.lock().closing = true;
    }

    /// The counts of phase `index` (0-based), if the book is kept.
    pub fn counts(&self, index: u32) -> Option<E2eCounts> {
        self.enabled().then(|| {
            let b = self.book.lock();
            b.counts.get(index as usize).copied().unwrap_or_default()
        })
    }

    /// Acked messages of every phase not yet seen by the consumer.
    pub fn outstanding(&self) -> u64 {
        let b = self.book.lock();
        b.counts.iter().map(E2eCounts::missing).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_count_for_the_phase_that_published_them() {
        let book = E2eBook::default();
        book.enable();
        for seq in 0..10 {
            book.acked(seq);
        }
        book.begin_phase(|| 10);
        for seq in 10..15 {
            book.acked(seq);
        }
        // Phase 0's last messages are seen while phase 1 runs; phase 1's last one only after
        // publishing stopped; one of phase 0's never.
        for seq in (0..9).chain(10..14) {
            book.received(seq);
        }
        assert_eq!(book.outstanding(), 2);
        book.closing();
        book.received(14);
        let (p0, p1) = (book.counts(0).unwrap(), book.counts(1).unwrap());
        assert_eq!(
            (p0.acked, p0.received, p0.late, p0.missing()),
            (10, 9, 0, 1)
        );
        assert_eq!((p1.acked, p1.received, p1.late, p1.missing()), (5, 5, 1, 0));
        assert_eq!(book.counts(7), Some(E2eCounts::default()));
    }

    #[test]
    fn an_ack_racing_the_phase_boundary_counts_for_the_new_phase() {
        let book = std::sync::Arc::new(E2eBook::default());
        book.enable();
        book.acked(0);
        // Message 1 is numbered just as phase 1 opens at 1, and acked at once, while the
        // engine is between reading the number and booking the phase.
        let racer = std::sync::Arc::clone(&book);
        let mut ack = None;
        book.begin_phase(|| {
            ack = Some(std::thread::spawn(move || racer.acked(1)));
            std::thread::sleep(std::time::Duration::from_millis(50));
            1
        });
        ack.unwrap().join().unwrap();
        book.received(0);
        book.received(1);
        let (p0, p1) = (book.counts(0).unwrap(), book.counts(1).unwrap());
        assert_eq!((p0.acked, p0.received), (1, 1), "phase 0 keeps its own");
        assert_eq!(
            (p1.acked, p1.received),
            (1, 1),
            "the racing ack is phase 1's"
        );
        assert_eq!(book.outstanding(), 0);
    }

    #[test]
    fn a_book_not_enabled_counts_nothing() {
        let book = E2eBook::default();
        book.acked(1);
        book.received(1);
        assert_eq!(book.counts(0), None);
        assert_eq!(book.outstanding(), 0);
    }
}
