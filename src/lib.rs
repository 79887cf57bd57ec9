//! pubduel: publish to Apache Kafka and NATS JetStream side by side and see what each publish
//! really costs. The binary is a thin front end over this library.

#![warn(missing_docs)]

/// The allocator, for the binary and everything built on this library: mimalloc, for the C
/// libraries too (its `override` feature puts it behind `malloc` and `free`). Acks settle, and
/// free, on a client's callback thread what the publishers allocated on theirs (pubduel's
/// settles, librdkafka's records); glibc's malloc takes a slow path for nearly every such
/// message, mimalloc does not. The memory log ([`metrics::log_heap`]) reads its counters.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Keeps this process's memory in small pages. mimalloc asks the kernel for transparent huge
/// pages, and every first touch of one zeroes 2 MiB: that doubled the resident memory of a run
/// and put the kernel's page clearing on the hot path. The binary calls this first thing.
pub fn small_pages() {
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and only sets a flag of this process.
    let _ = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
}

pub mod analysis;
pub mod app;
pub mod brokers;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod control;
pub mod engine;
pub mod headless;
pub mod logging;
pub mod metrics;
pub mod plot;
pub mod profile;
pub mod report;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod tools;
pub mod tui;
pub mod vocab;
