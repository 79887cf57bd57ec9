//! Message payloads: a small header that lets the end-to-end consumer time and de-duplicate
//! each message, then filler bytes up to `message_size`.

use bytes::{BufMut, Bytes, BytesMut};
use std::cell::RefCell;
use std::time::{Duration, Instant};

thread_local! {
    /// The buffer payloads are cut from, one per publishing thread.
    static SCRATCH: RefCell<BytesMut> = RefCell::new(BytesMut::new());
    /// A payload stamped in place, one per publishing thread: the filler of the builder that last
    /// used it (its address, length and nonce), with each message's stamp written over its head.
    static STAMPED: RefCell<((usize, usize, u32), Vec<u8>)> =
        const { RefCell::new(((0, 0, 0), Vec::new())) };
}

/// Bytes of header a payload needs to carry end-to-end timing.
pub const HEADER_LEN: usize = 32;
const MAGIC: u32 = 0x7075_6264; // "pubd"

/// Where a message came from and when it started, as carried in its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Run nonce, so messages of other runs in a reused topic or stream are ignored.
    pub nonce: u32,
    /// Sequence number within the lane.
    pub seq: u64,
    /// Actual publish start, nanoseconds since the run's clock epoch.
    pub start_ns: u64,
    /// Intended start (open loop), nanoseconds since the epoch; 0 in closed loop.
    pub intended_ns: u64,
}

/// Builds payloads of a given size from a fixed block of incompressible filler, or sends the
/// bytes of a payload file.
#[derive(Clone)]
pub struct PayloadBuilder {
    filler: Bytes,
    epoch: Instant,
    nonce: u32,
    file: Option<Bytes>,
}

impl PayloadBuilder {
    /// A builder for payloads up to `max_size` bytes, stamped relative to `epoch`.
    pub fn new(max_size: usize, epoch: Instant, nonce: u32) -> PayloadBuilder {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ u64::from(nonce);
        let filler: Vec<u8> = (0..max_size)
            .map(|_| {
                // xorshift: cheap bytes that compress about as badly as real data.
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        PayloadBuilder {
            filler: Bytes::from(filler),
            epoch,
            nonce,
            file: None,
        }
    }

    /// Sends `file`'s bytes as every payload, whatever the message size.
    pub fn with_file(mut self, file: Option<Bytes>) -> PayloadBuilder {
        self.file = file;
        self
    }

    /// Whether every payload is a file's bytes (which the stamp must not touch).
    pub fn has_file(&self) -> bool {
        self.file.is_some()
    }

    /// A payload and, when the stamp goes in a header (`in_header`, or a payload file), the
    /// header's value: the stamp in hex.
    #[inline]
    pub fn build_message(
        &self,
        size: usize,
        seq: u64,
        start: Instant,
        intended: Option<Instant>,
        in_header: bool,
    ) -> (Bytes, Option<String>) {
        if !in_header && self.file.is_none() {
            return (self.build(size, seq, start, intended), None);
        }
        let stamp = self.build(HEADER_LEN, seq, start, intended);
        let hex: String = stamp.iter().map(|b| format!("{b:02x}")).collect();
        let payload = match &self.file {
            Some(f) => f.clone(),
            None => self.filler.slice(..size.min(self.filler.len())),
        };
        (payload, Some(hex))
    }

    /// Whether a payload of `size` carries the stamp in itself: not in a header, not a file's
    /// bytes, and room for it.
    pub fn stamps_payload(&self, size: usize, in_header: bool) -> bool {
        !in_header && self.file.is_none() && size.min(self.filler.len()) >= HEADER_LEN
    }

    /// Reads a stamp header of this run; `None` for anything else.
    pub fn parse_header(&self, hex: &[u8]) -> Option<Stamp> {
        let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
        let bytes: Option<Vec<u8>> = hex
            .chunks(2)
            .map(|p| Some(digit(*p.first()?)? << 4 | digit(*p.get(1)?)?))
            .collect();
        self.parse(&bytes?)
    }

    /// The run nonce stamped into every header.
    pub fn nonce(&self) -> u32 {
        self.nonce
    }

    /// A payload of `size` bytes; it carries a header when `size` leaves room for one.
    #[inline]
    pub fn build(&self, size: usize, seq: u64, start: Instant, intended: Option<Instant>) -> Bytes {
        let size = size.min(self.filler.len());
        if size < HEADER_LEN {
            return self.filler.slice(..size);
        }
        SCRATCH.with_borrow_mut(|b| {
            // Takes the space back once the messages cut from it are gone: no allocation per
            // message then, and one per block of them otherwise.
            b.reserve(size);
            let intended_ns = intended.map_or(0, |t| self.nanos(t));
            b.put_slice(&self.stamp(seq, self.nanos(start), intended_ns));
            b.put_slice(&self.filler[HEADER_LEN..size]);
            b.split().freeze()
        })
    }

    /// Calls `f` with a payload of `size` bytes (at least [`HEADER_LEN`]: see
    /// [`stamps_payload`](Self::stamps_payload)) that lives only for the call, for a client that
    /// copies it before it returns (librdkafka): the same bytes [`build`](Self::build) gives,
    /// but only the stamp is written per message, over a copy of the filler kept per thread.
    /// `start_ns` is the start's [`nanos`](Self::nanos).
    #[inline]
    pub fn stamped<R>(
        &self,
        size: usize,
        seq: u64,
        start_ns: u64,
        intended: Option<Instant>,
        f: impl FnOnce(&[u8]) -> R,
    ) -> R {
        let size = size.min(self.filler.len());
        let owner = (self.filler.as_ptr() as usize, self.filler.len(), self.nonce);
        STAMPED.with_borrow_mut(|(held, buf)| {
            if *held != owner {
                buf.clear();
                buf.extend_from_slice(&self.filler);
                *held = owner;
            }
            let intended_ns = intended.map_or(0, |t| self.nanos(t));
            buf[..HEADER_LEN].copy_from_slice(&self.stamp(seq, start_ns, intended_ns));
            f(&buf[..size])
        })
    }

    /// The header of message `seq`, started `start_ns` after the epoch (due `intended_ns` after
    /// it in open loop, 0 in closed loop).
    #[inline]
    fn stamp(&self, seq: u64, start_ns: u64, intended_ns: u64) -> [u8; HEADER_LEN] {
        let mut h = [0; HEADER_LEN];
        h[..4].copy_from_slice(&MAGIC.to_be_bytes());
        h[4..8].copy_from_slice(&self.nonce.to_be_bytes());
        h[8..16].copy_from_slice(&seq.to_be_bytes());
        h[16..24].copy_from_slice(&start_ns.to_be_bytes());
        h[24..].copy_from_slice(&intended_ns.to_be_bytes());
        h
    }

    /// Reads the header of a payload of this run; `None` for anything else.
    pub fn parse(&self, payload: &[u8]) -> Option<Stamp> {
        if payload.len() < HEADER_LEN {
            return None;
        }
        let u32_at =
            |i: usize| u32::from_be_bytes(payload[i..i + 4].try_into().unwrap_or_default());
        let u64_at =
            |i: usize| u64::from_be_bytes(payload[i..i + 8].try_into().unwrap_or_default());
        (u32_at(0) == MAGIC && u32_at(4) == self.nonce).then(|| Stamp {
            nonce: self.nonce,
            seq: u64_at(8),
            start_ns: u64_at(16),
            intended_ns: u64_at(24),
        })
    }

    /// How long after the epoch `t` is, in nanoseconds (zero before it).
    #[inline]
    pub fn nanos(&self, t: Instant) -> u64 {
        let d = t.saturating_duration_since(self.epoch);
        d.as_secs() * 1_000_000_000 + u64::from(d.subsec_nanos())
    }

    /// The instant `ns` nanoseconds after the epoch.
    pub fn instant(&self, ns: u64) -> Instant {
        self.epoch + Duration::from_nanos(ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips() {
        let epoch = Instant::now();
        let b = PayloadBuilder::new(1024, epoch, 7);
        let start = epoch + Duration::from_millis(5);
        let p = b.build(256, 42, start, Some(epoch + Duration::from_millis(4)));
        assert_eq!(p.len(), 256);
        let s = b.parse(&p).unwrap();
        assert_eq!((s.seq, s.nonce), (42, 7));
        assert_eq!(b.instant(s.start_ns), start);
        assert_eq!(s.intended_ns, 4_000_000);
        let other = PayloadBuilder::new(1024, epoch, 8);
        assert!(
            other.parse(&p).is_none(),
            "another run's messages are ignored"
        );
        assert_eq!(b.build(10, 1, start, None).len(), 10);
        // Stamped in place: the same bytes, whichever builder used the thread's copy last.
        for (builder, size) in [(&b, 256), (&other, 300), (&b, 1024), (&b, 40)] {
            let built = builder.build(size, 9, start, None);
            builder.stamped(size, 9, builder.nanos(start), None, |p| {
                assert_eq!(p, &built[..])
            });
        }
        assert!(b.parse(&b.build(10, 1, start, None)).is_none());
    }
}
