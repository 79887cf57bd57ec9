//! The producer's event loop: one thread serves librdkafka's main queue (delivery reports,
//! errors, statistics, logs). A delivery report is every ack of one produce response: its acks
//! arrived together, so they are timed with one clock read, and a lane that settles acks from
//! their payload ([`crate::brokers::PayloadAcks`]) gets the whole report at once, so it gives the
//! report's permits back together and its waiting publishers go on together.

use super::produce::Opaque;
use super::AckContext;
use crate::brokers::BrokerError;
use rdkafka::bindings as rdsys;
use rdkafka::error::KafkaError;
use rdkafka::util::IntoOpaque;
use rdkafka::ClientContext;
use std::ffi::CStr;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

/// How long one wait for an event lasts, so that a stop is seen within it.
const POLL_MS: i32 = 100;

/// The running event loop; stopped (and joined) on drop, which must come before the client's.
pub(super) struct Reports {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// A handle of librdkafka's main queue, released on drop.
struct Queue(NonNull<rdsys::rd_kafka_queue_t>);

// SAFETY: librdkafka's queues are thread-safe; the handle is used by the loop's thread only.
unsafe impl Send for Queue {}

impl Drop for Queue {
    fn drop(&mut self) {
        // SAFETY: the handle came from rd_kafka_queue_get_main and is released once.
        unsafe { rdsys::rd_kafka_queue_destroy(self.0.as_ptr()) }
    }
}

/// One event taken from the queue, destroyed on drop.
struct Event(NonNull<rdsys::rd_kafka_event_t>);

impl Drop for Event {
    fn drop(&mut self) {
        // SAFETY: the event came from rd_kafka_queue_poll and is destroyed once.
        unsafe { rdsys::rd_kafka_event_destroy(self.0.as_ptr()) }
    }
}

impl Reports {
    /// Starts serving the events of the client `rk` with `ctx`.
    pub(super) fn start(
        rk: *mut rdsys::rd_kafka_t,
        ctx: Arc<AckContext>,
    ) -> Result<Reports, String> {
        // SAFETY: `rk` is a live client; the handle is released by `Queue`'s drop.
        let queue = NonNull::new(unsafe { rdsys::rd_kafka_queue_get_main(rk) })
            .map(Queue)
            .ok_or("librdkafka gave no main queue")?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("kafka-reports".into())
            .spawn(move || serve(&queue, &ctx, &stopped))
            .map_err(|e| format!("cannot start the delivery-report thread: {e}"))?;
        Ok(Reports {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Reports {
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(queue: &Queue, ctx: &AckContext, stop: &AtomicBool) {
    let mut msgs = Vec::new();
    while !stop.load(Relaxed) {
        // SAFETY: the queue handle is live for the loop's life.
        let Some(event) =
            NonNull::new(unsafe { rdsys::rd_kafka_queue_poll(queue.0.as_ptr(), POLL_MS) })
        else {
            continue;
        };
        let event = Event(event);
        let ev = event.0.as_ptr();
        // SAFETY (every arm): `ev` is live until `event` drops, and each accessor matches its type.
        match unsafe { rdsys::rd_kafka_event_type(ev) } {
            rdsys::RD_KAFKA_EVENT_DR => delivered(ev, ctx, &mut msgs),
            rdsys::RD_KAFKA_EVENT_ERROR => {
                let code = unsafe { rdsys::rd_kafka_event_error(ev) };
                let reason = unsafe { CStr::from_ptr(rdsys::rd_kafka_event_error_string(ev)) };
                ctx.error(
                    KafkaError::Global(code.into()),
                    reason.to_string_lossy().trim(),
                );
            }
            rdsys::RD_KAFKA_EVENT_STATS => {
                let json = unsafe { CStr::from_ptr(rdsys::rd_kafka_event_stats(ev)) };
                ctx.stats_raw(json.to_bytes());
            }
            rdsys::RD_KAFKA_EVENT_LOG => {
                let (mut fac, mut text, mut level) = (std::ptr::null(), std::ptr::null(), 0);
                if unsafe { rdsys::rd_kafka_event_log(ev, &mut fac, &mut text, &mut level) } == 0 {
                    let text = unsafe { CStr::from_ptr(text) }.to_string_lossy();
                    tracing::debug!("librdkafka log (level {level}): {text}");
                }
            }
            _ => {}
        }
    }
}

/// Settles every ack of one delivery report, with the one moment the report arrived.
/// `msgs` is the loop's own, reused for every report.
fn delivered(
    ev: *mut rdsys::rd_kafka_event_t,
    ctx: &AckContext,
    msgs: &mut Vec<*const rdsys::rd_kafka_message_t>,
) {
    let now = Instant::now();
    // SAFETY: `ev` is a live delivery report; librdkafka fills at most `count` pointers, valid
    // until the event is destroyed.
    unsafe {
        let count = rdsys::rd_kafka_event_message_count(ev);
        msgs.clear();
        msgs.reserve(count);
        let got = rdsys::rd_kafka_event_message_array(ev, msgs.as_mut_ptr().cast(), count);
        msgs.set_len(got);
    }
    let mut tagged = Vec::with_capacity(msgs.len());
    let mut up = false;
    for &m in msgs.iter() {
        // SAFETY: each pointer is one of the report's messages, live with the event.
        let m = unsafe { &*m };
        let result = if m.err == rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            up = true;
            Ok(now)
        } else {
            Err(BrokerError::Ack(
                KafkaError::MessageProduction(m.err.into()).to_string(),
            ))
        };
        // SAFETY: every message's opaque is one of ours, handed back once, here.
        let opaque = unsafe { Opaque::from_ptr(m._private) };
        ctx.settle(opaque, payload(m), result, &mut tagged);
    }
    if up {
        ctx.status.set_up(now);
    }
    ctx.settle_tagged(&tagged);
}

/// A reported message's payload (librdkafka's copy, live with the report).
fn payload(m: &rdsys::rd_kafka_message_t) -> &[u8] {
    if m.payload.is_null() {
        return &[];
    }
    // SAFETY: librdkafka's payload pointer and length describe its copy of the payload.
    unsafe { std::slice::from_raw_parts(m.payload.cast::<u8>(), m.len) }
}
