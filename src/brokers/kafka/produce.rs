//! The hot path into librdkafka: a record handed over through a topic handle taken once.
//!
//! rust-rdkafka's `send` names the topic on every record (a C string made, then looked up under
//! librdkafka's lock and reference-counted), which is a fair share of a 256-byte message's cost.
//! librdkafka's own tools keep a topic handle instead; so does this. The delivery opaque is the
//! same value rust-rdkafka's delivery callback takes back, so either path meets one callback.

use crate::brokers::Settle;
use rdkafka::bindings as rdsys;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::util::IntoOpaque;
use std::ffi::{c_void, CString};
use std::ptr::NonNull;

/// librdkafka's per-message opaque, one word: how the delivery report is settled, right in the
/// callback (an awaited future's is sent to it).
pub(super) enum Opaque {
    /// Called with the ack.
    Settle(Settle),
    /// Handed, with the message's payload, to the lane's [`crate::brokers::PayloadAcks`].
    Tag(u64),
}

/// A settle is a pointer to its allocation, aligned to 8: its low bit is free to mark a tag,
/// which is kept in the other 63 bits.
impl IntoOpaque for Opaque {
    fn into_ptr(self) -> *mut c_void {
        match self {
            Opaque::Settle(s) => s.into_raw(),
            Opaque::Tag(tag) => ((tag << 1) | 1) as usize as *mut c_void,
        }
    }

    unsafe fn from_ptr(p: *mut c_void) -> Opaque {
        let word = p as usize;
        if word & 1 == 1 {
            return Opaque::Tag(word as u64 >> 1);
        }
        // SAFETY: rust-rdkafka hands each opaque back once, and only ours are given to it.
        Opaque::Settle(unsafe { Settle::from_raw(p) })
    }
}

/// A librdkafka topic handle for one producer, released on drop (before the producer: keep it
/// declared before the producer in the struct that holds both).
pub(super) struct TopicHandle(NonNull<rdsys::rd_kafka_topic_t>);

// SAFETY: librdkafka's topic handles are thread-safe; the handle is only read after creation.
unsafe impl Send for TopicHandle {}
// SAFETY: as above.
unsafe impl Sync for TopicHandle {}

impl TopicHandle {
    /// The handle of `topic` on the client `rk`, with the producer's default topic settings.
    pub(super) fn new(rk: *mut rdsys::rd_kafka_t, topic: &str) -> Result<TopicHandle, String> {
        let name = CString::new(topic).map_err(|e| format!("topic {topic:?}: {e}"))?;
        // SAFETY: `rk` is a live client; a null configuration takes the client's defaults.
        let rkt = unsafe { rdsys::rd_kafka_topic_new(rk, name.as_ptr(), std::ptr::null_mut()) };
        NonNull::new(rkt)
            .map(TopicHandle)
            .ok_or_else(|| format!("topic {topic}: librdkafka gave no handle"))
    }
}

impl Drop for TopicHandle {
    fn drop(&mut self) {
        // SAFETY: the handle came from rd_kafka_topic_new and is released once.
        unsafe { rdsys::rd_kafka_topic_destroy(self.0.as_ptr()) }
    }
}

/// Hands `payload` (copied) with `key` to librdkafka on `topic`, to any partition the
/// partitioner picks; `opaque` comes back in the delivery report. On a refusal the opaque is
/// the caller's again, with librdkafka's reason.
pub(super) fn produce<T: IntoOpaque>(
    rk: *mut rdsys::rd_kafka_t,
    topic: &TopicHandle,
    payload: &[u8],
    key: Option<&[u8]>,
    opaque: T,
) -> Result<(), (RDKafkaErrorCode, T)> {
    let (key_ptr, key_len) = key.map_or((std::ptr::null(), 0), |k| (k.as_ptr(), k.len()));
    let raw = opaque.into_ptr();
    // SAFETY: every pointer is valid for the call; librdkafka copies the payload and the key
    // (RD_KAFKA_MSG_F_COPY) and keeps only the opaque, which it hands to the delivery callback.
    let err = unsafe {
        rdsys::rd_kafka_producev(
            rk,
            rdsys::rd_kafka_vtype_t::RD_KAFKA_VTYPE_RKT,
            topic.0.as_ptr(),
            rdsys::rd_kafka_vtype_t::RD_KAFKA_VTYPE_PARTITION,
            -1i32, // RD_KAFKA_PARTITION_UA: the partitioner picks
            rdsys::rd_kafka_vtype_t::RD_KAFKA_VTYPE_MSGFLAGS,
            rdsys::RD_KAFKA_MSG_F_COPY,
            rdsys::rd_kafka_vtype_t::RD_KAFKA_VTYPE_VALUE,
            payload.as_ptr() as *mut c_void,
            payload.len(),
            rdsys::rd_kafka_vtype_t::RD_KAFKA_VTYPE_KEY,
            key_ptr as *mut c_void,
            key_len,
            rdsys::rd_kafka_vtype_t::RD_KAFKA_VTYPE_OPAQUE,
            raw,
            rdsys::rd_kafka_vtype_t::RD_KAFKA_VTYPE_END,
        )
    };
    if err == rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
        Ok(())
    } else {
        // SAFETY: librdkafka refused the record, so it did not keep the opaque.
        Err((err.into(), unsafe { T::from_ptr(raw) }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
    use std::sync::Arc;
    use std::time::Instant;

    #[test]
    fn an_opaque_word_comes_back_as_the_settle_or_the_tag_it_was() {
        for tag in [0, 1, 2, 12_345, (1u64 << 61) | 1, u64::MAX >> 1] {
            let back = unsafe { Opaque::from_ptr(Opaque::Tag(tag).into_ptr()) };
            assert!(matches!(back, Opaque::Tag(t) if t == tag), "tag {tag}");
        }
        let calls = Arc::new(AtomicU32::new(0));
        let c = Arc::clone(&calls);
        let settle = Settle::new(move |_| {
            c.fetch_add(1, SeqCst);
        });
        match unsafe { Opaque::from_ptr(Opaque::Settle(settle).into_ptr()) } {
            Opaque::Settle(s) => s.settle(Ok(Instant::now())),
            Opaque::Tag(t) => panic!("a settle came back as tag {t}"),
        }
        assert_eq!(calls.load(SeqCst), 1);
    }
}
