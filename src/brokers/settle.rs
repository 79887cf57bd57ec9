//! [`Settle`]: one message's ack handler, in one allocation behind a thin pointer, so a client
//! can carry it as its per-message opaque (librdkafka's is one `void *`) and a message costs
//! one allocation here instead of two (a boxed closure, and a box for its fat pointer).

use super::AckResult;
use std::ffi::c_void;
use std::ptr::NonNull;

/// Settles one message's ack where the client reports it: [`Settle::settle`] is called at most
/// once, possibly on a client thread, so it must be quick and must not block. Dropped unsettled
/// (a refused submit), it drops what it holds.
pub struct Settle(NonNull<Header>);

/// The start of every settle's allocation: how to call or drop the closure behind it.
struct Header {
    /// Takes the allocation back and calls its closure with the result, or drops it on `None`.
    finish: unsafe fn(NonNull<Header>, Option<AckResult>),
}

#[repr(C)]
struct Repr<F> {
    header: Header,
    f: F,
}

// SAFETY: a Settle only holds closures that are Send + Sync (see `Settle::new`).
unsafe impl Send for Settle {}
// SAFETY: as above; a shared Settle gives no access to its closure.
unsafe impl Sync for Settle {}

impl Settle {
    /// A settle calling `f`.
    pub fn new<F: FnOnce(AckResult) + Send + Sync + 'static>(f: F) -> Settle {
        /// SAFETY (caller): `p` came from `Settle::new::<F>` and is finished once.
        unsafe fn finish<F: FnOnce(AckResult)>(p: NonNull<Header>, result: Option<AckResult>) {
            // SAFETY: `p` is the start of a leaked `Box<Repr<F>>` (repr(C): header first).
            let Repr { f, .. } = *unsafe { Box::from_raw(p.cast::<Repr<F>>().as_ptr()) };
            if let Some(r) = result {
                f(r);
            }
        }
        let repr = Box::new(Repr {
            header: Header {
                finish: finish::<F>,
            },
            f,
        });
        Settle(NonNull::from(Box::leak(repr)).cast())
    }

    /// Calls the closure with the message's ack.
    pub fn settle(self, result: AckResult) {
        let p = self.0;
        std::mem::forget(self);
        // SAFETY: `p` is live (this Settle owned it) and is finished exactly once, here.
        unsafe { (p.as_ref().finish)(p, Some(result)) }
    }

    /// The settle as a raw pointer, to be taken back once with [`Settle::from_raw`].
    pub fn into_raw(self) -> *mut c_void {
        let p = self.0;
        std::mem::forget(self);
        p.as_ptr().cast()
    }

    /// # Safety
    /// `p` came from [`Settle::into_raw`] and is taken back only once.
    pub unsafe fn from_raw(p: *mut c_void) -> Settle {
        // SAFETY: by the caller's promise, `p` is a settle's non-null pointer.
        Settle(unsafe { NonNull::new_unchecked(p.cast()) })
    }
}

impl Drop for Settle {
    fn drop(&mut self) {
        // SAFETY: a Settle still held was neither settled nor given away: finish it once.
        unsafe { (self.0.as_ref().finish)(self.0, None) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
    use std::sync::Arc;
    use std::time::Instant;

    #[test]
    fn a_settle_is_called_once_or_dropped_with_what_it_holds() {
        let calls = Arc::new(AtomicU32::new(0));
        let held = Arc::new(());
        let make = || {
            let (calls, held) = (Arc::clone(&calls), Arc::clone(&held));
            Settle::new(move |r| {
                assert!(r.is_ok());
                let _held = held;
                calls.fetch_add(1, SeqCst);
            })
        };
        make().settle(Ok(Instant::now()));
        // Through a raw pointer, as a client's opaque.
        let raw = make().into_raw();
        unsafe { Settle::from_raw(raw) }.settle(Ok(Instant::now()));
        // Refused: dropped, never called.
        drop(make());
        assert_eq!(calls.load(SeqCst), 2);
        assert_eq!(
            Arc::strong_count(&held),
            1,
            "every closure's capture is gone"
        );
    }
}
