//! Per lane, unthrottled async throughput of pubduel's engine against a minimal raw-client loop on
//! the same local broker, in the same run, reported as the ratio pubduel / raw.
//!
//! Brokers: Apache Kafka (one KRaft node, file storage) and `nats-server -js` (file storage),
//! started by `pubduel::testkit` on free loopback ports and stopped at the end; they come from
//! `scripts/install-brokers.sh` (see `pubduel::testkit` for where they are looked for). A lane
//! whose broker is missing is skipped with a note.
//!
//! Both sides publish the same number of bytes per message with the same in-flight cap (pubduel's
//! `max_pending`; the raw loops use a semaphore of the same size, released on ack) and the same
//! number of publisher tasks, on a tokio runtime like the app's (one worker thread per core).
//! Every run gets its own topic or stream. Runs go raw, pubduel, pubduel, raw (ABBA) so a broker
//! that slows down as it fills does not favour either side.
//!
//! Run: `cargo bench --bench lanes` (about 70 s) or `cargo bench --bench lanes -- nats`.
//! Environment: `PUBDUEL_BENCH_SECS` (measured span per run, default 5),
//! `PUBDUEL_BENCH_CONCURRENCY` (default 4), `PUBDUEL_BENCH_MAX_PENDING` (default 4096),
//! `PUBDUEL_BENCH_SIZE` (bytes, default 256), `PUBDUEL_BENCH_ROUNDS` (ABBA rounds, default 1),
//! `PUBDUEL_BENCH_ACK` (pubduel's ack strategy, default `async`; the raw loops do not change),
//! `PUBDUEL_BENCH_SIDE` (`raw` or `pubduel`: run only that side, four times, for a profiler).

use async_nats::jetstream;
use bytes::Bytes;
use futures::stream::{FuturesUnordered, StreamExt};
use pubduel::brokers::kafka::{self, KafkaSettings};
use pubduel::brokers::nats::{self, NatsSettings};
use pubduel::vocab::{AckStrategy, Knobs, Stage};

use pubduel::engine::{Engine, EngineConfig, LaneSetup};

use pubduel::testkit;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::ClientContext;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

/// Time each run publishes before it is measured.
const WARM: Duration = Duration::from_secs(1);
/// Keys the Kafka lane rotates through (as `src/brokers/kafka.rs` does).
const KEYS: u64 = 64;
/// async-nats's in-flight cap as pubduel sets it (above max-pending).
const NATS_CLIENT_INFLIGHT: usize = 8_000_000;

/// The workload both sides run.
#[derive(Clone, Copy)]
struct Load {
    ack: AckStrategy,
    concurrency: u32,
    max_pending: u32,
    size: u32,
    run: Duration,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Lane {
    Kafka,
    Nats,
}

impl Lane {
    fn as_str(self) -> &'static str {
        match self {
            Lane::Kafka => "kafka",
            Lane::Nats => "nats",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Raw,
    Pubduel,
}

/// Where the lane's broker listens.
enum Target {
    Kafka(String),
    Nats(String),
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let load = Load {
        ack: env_or("PUBDUEL_BENCH_ACK", AckStrategy::Async),
        concurrency: env_or("PUBDUEL_BENCH_CONCURRENCY", 4),
        max_pending: env_or("PUBDUEL_BENCH_MAX_PENDING", 4096),
        size: env_or("PUBDUEL_BENCH_SIZE", 256),
        run: Duration::from_secs_f64(env_or("PUBDUEL_BENCH_SECS", 5.0)),
    };
    let rounds: usize = env_or("PUBDUEL_BENCH_ROUNDS", 1);
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted = |l: Lane| filters.is_empty() || filters.iter().any(|f| l.as_str().contains(f));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    println!(
        "pubduel lanes bench: ack {}, rate 0, concurrency {}, max_pending {}, {} B messages, \
         {:.1} s measured after {} s warm-up per run, {} tokio worker threads\n",
        load.ack,
        load.concurrency,
        load.max_pending,
        load.size,
        load.run.as_secs_f64(),
        WARM.as_secs(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
    );
    let mut summary = Vec::new();
    for lane in [Lane::Kafka, Lane::Nats] {
        if !wanted(lane) {
            continue;
        }
        let started = match lane {
            Lane::Kafka => testkit::start_kafka(),
            Lane::Nats => testkit::start_nats(),
        };
        let broker = match started {
            Ok(b) => b,
            Err(e) => {
                println!("{}: skipped, broker did not start: {e}\n", lane.as_str());
                continue;
            }
        };
        let target = match lane {
            Lane::Kafka => Target::Kafka(format!("127.0.0.1:{}", broker.port)),
            Lane::Nats => Target::Nats(format!("nats://127.0.0.1:{}", broker.port)),
        };
        if let Some(r) = bench_lane(&rt, lane, &target, load, rounds) {
            summary.push(r);
        }
        drop(broker);
    }
    if !summary.is_empty() {
        println!(
            "{:<6} {:>14} {:>14} {:>16}",
            "lane", "raw msg/s", "pubduel msg/s", "pubduel / raw"
        );
        for (lane, raw, pd) in &summary {
            println!(
                "{:<6} {:>14.0} {:>14.0} {:>16.3}{}",
                lane,
                raw,
                pd,
                pd / raw,
                if pd / raw >= 0.9 {
                    ""
                } else {
                    "  (below the 0.9 goal)"
                }
            );
        }
    }
    rt.shutdown_timeout(Duration::from_secs(2));
}

/// Runs the lane's ABBA sequence and prints each run; returns the lane's mean rates.
fn bench_lane(
    rt: &Runtime,
    lane: Lane,
    target: &Target,
    load: Load,
    rounds: usize,
) -> Option<(&'static str, f64, f64)> {
    let (mut raw, mut pd) = (Vec::new(), Vec::new());
    let order = [Side::Raw, Side::Pubduel, Side::Pubduel, Side::Raw];
    // For profiling one side alone: PUBDUEL_BENCH_SIDE=raw or pubduel.
    let only = std::env::var("PUBDUEL_BENCH_SIDE").ok();
    let keep = |s: &Side| match only.as_deref() {
        Some("raw") => *s == Side::Raw,
        Some("pubduel") => *s == Side::Pubduel,
        _ => true,
    };
    for (i, side) in order
        .iter()
        .filter(|s| keep(s))
        .cycle()
        .take(4 * rounds)
        .enumerate()
    {
        let name = format!("bench-{}-{}", lane.as_str(), i);
        let result = match side {
            Side::Raw => run_raw(rt, target, &name, load),
            Side::Pubduel => run_pubduel(rt, target, &name, load),
        };
        let who = if *side == Side::Raw { "raw" } else { "pubduel" };
        match result {
            Ok((rate, note)) => {
                println!(
                    "{:<6} {:<8} run {i}: {rate:>10.0} acked msg/s  {note}",
                    lane.as_str(),
                    who
                );
                if *side == Side::Raw {
                    &mut raw
                } else {
                    &mut pd
                }
                .push(rate);
            }
            Err(e) => {
                println!("{:<6} {:<8} run {i}: failed: {e}", lane.as_str(), who);
                return None;
            }
        }
    }
    println!();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    Some((lane.as_str(), mean(&raw), mean(&pd)))
}

/// Acked messages per second of `acked` over the measured span, after the warm-up.
fn measure(acked: impl Fn() -> u64, run: Duration) -> f64 {
    std::thread::sleep(WARM);
    let (n0, t0) = (acked(), Instant::now());
    std::thread::sleep(run);
    let (n1, t1) = (acked(), Instant::now());
    n1.saturating_sub(n0) as f64 / (t1 - t0).as_secs_f64()
}

fn kafka_settings(bootstrap: &str, topic: &str) -> KafkaSettings {
    KafkaSettings {
        bootstrap: bootstrap.into(),
        topic: topic.into(),
        ..KafkaSettings::default()
    }
}

fn nats_settings(url: &str, name: &str) -> NatsSettings {
    NatsSettings {
        url: url.into(),
        stream: name.replace('-', "_").to_uppercase(),
        subject: name.replace('-', "."),
        ..NatsSettings::default()
    }
}

/// pubduel's engine, one lane, ack async, rate 0.
fn run_pubduel(
    rt: &Runtime,
    target: &Target,
    name: &str,
    load: Load,
) -> Result<(f64, String), String> {
    let publisher: Arc<dyn pubduel::brokers::Publisher> = rt
        .block_on(async {
            Ok::<_, pubduel::brokers::BrokerError>(match target {
                Target::Kafka(addr) => kafka::connect(&kafka_settings(addr, name)).await? as _,
                Target::Nats(url) => nats::connect(&nats_settings(url, name)).await? as _,
            })
        })
        .map_err(|e| e.to_string())?;
    let knobs = Knobs {
        concurrency: load.concurrency,
        max_pending: load.max_pending,
        ack: load.ack,
        rate: 0,
        message_size: load.size,
        batch: 64,
        ..Knobs::default()
    };
    let setup = LaneSetup {
        name: publisher.name().to_string(),
        publisher,
        knobs,
    };
    let config = EngineConfig {
        warmup: WARM,
        e2e: false,
        drain: Duration::from_secs(5),
        keep_intervals: false,
        e2e_grace: Duration::from_secs(2),
        precise: false,
        analyse: pubduel::metrics::no_analysis(),
        payload: None,
    };
    let engine = rt
        .block_on(Engine::start(vec![setup], config))
        .map_err(|e| e.to_string())?;
    let handle = engine.handle();
    let acked = || {
        handle
            .phases()
            .iter()
            .flat_map(|p| p.lanes.iter())
            .map(|l| l.counts.acked)
            .sum()
    };
    let rate = measure(acked, load.run);
    // Little's law: client and broker hold about rate x mean ack latency messages; the rest of
    // the in-flight count are acks that have arrived but that the lane has not settled yet.
    let snap = handle.snapshot();
    let in_flight = snap.lanes.first().map_or(0, |l| l.in_flight);
    let ack_mean_us = handle
        .phases()
        .last()
        .and_then(|p| p.lanes.first())
        .and_then(|l| l.reported().summary(Stage::Ack))
        .map_or(0, |s| s.mean_us as u64);
    let phases = rt.block_on(engine.finish());
    let (mut errors, mut sent, mut stalls) = (0, 0, 0);
    for l in phases.iter().flat_map(|p| &p.lanes) {
        (errors, sent, stalls) = (
            errors + l.counts.errors,
            sent + l.counts.sent,
            stalls + l.counts.stalls,
        );
    }
    if errors > 0 {
        return Err(format!("{errors} errors"));
    }
    let pct = 100.0 * stalls as f64 / sent.max(1) as f64;
    let at_broker = rate * ack_mean_us as f64 / 1e6;
    Ok((
        rate,
        format!(
            "{pct:.0}% of submits waited for a permit; in flight {in_flight}, ack mean {ack_mean_us} us \
             (~{at_broker:.0} at the broker)"
        ),
    ))
}

/// The raw loops' shared state: the in-flight cap and the tallies.
struct Tally {
    permits: Arc<Semaphore>,
    sent: AtomicU64,
    stalls: AtomicU64,
    acked: AtomicU64,
    errors: AtomicU64,
}

impl Tally {
    /// Counts a stall when no permit is free (pubduel counts the same), without changing how
    /// the loop waits.
    fn note_stall(&self) {
        if self.permits.available_permits() == 0 {
            self.stalls.fetch_add(1, Relaxed);
        }
    }

    fn stall_note(&self) -> String {
        let pct = 100.0 * self.stalls.load(Relaxed) as f64 / self.sent.load(Relaxed).max(1) as f64;
        format!("{pct:.0}% of submits waited for a permit")
    }

    fn new(max_pending: u32) -> Arc<Tally> {
        Arc::new(Tally {
            permits: Arc::new(Semaphore::new(max_pending as usize)),
            sent: AtomicU64::new(0),
            stalls: AtomicU64::new(0),
            acked: AtomicU64::new(0),
            errors: AtomicU64::new(0),
        })
    }
}

fn run_raw(rt: &Runtime, target: &Target, name: &str, load: Load) -> Result<(f64, String), String> {
    let tally = Tally::new(load.max_pending);
    let payload = Bytes::from(vec![0xA5u8; load.size as usize]);
    let tasks: Vec<JoinHandle<()>> = match target {
        Target::Kafka(addr) => {
            let producer = raw_kafka_producer(rt, addr, name, &tally)?;
            let keys: Arc<Vec<String>> = Arc::new((0..KEYS).map(|i| format!("key-{i}")).collect());
            let tasks = (0..load.concurrency)
                .map(|id| {
                    let (p, t, k) = (Arc::clone(&producer), Arc::clone(&tally), Arc::clone(&keys));
                    let (topic, payload) = (name.to_string(), payload.clone());
                    rt.spawn(kafka_raw_loop(
                        p,
                        topic,
                        k,
                        payload,
                        t,
                        id,
                        load.concurrency,
                    ))
                })
                .collect();
            // The producer is flushed (and its poll thread stopped) when the last Arc goes.
            drop(producer);
            tasks
        }
        Target::Nats(url) => {
            let js = raw_nats_context(rt, url, name)?;
            let subject = async_nats::Subject::from(nats_settings(url, name).subject);
            (0..load.concurrency)
                .map(|_| {
                    let (js, t) = (js.clone(), Arc::clone(&tally));
                    rt.spawn(nats_raw_loop(js, subject.clone(), payload.clone(), t))
                })
                .collect()
        }
    };
    let rate = measure(|| tally.acked.load(Relaxed), load.run);
    tally.permits.close();
    rt.block_on(async {
        let _ =
            tokio::time::timeout(Duration::from_secs(10), futures::future::join_all(tasks)).await;
    });
    match tally.errors.load(Relaxed) {
        0 => Ok((rate, tally.stall_note())),
        n => Err(format!("{n} errors")),
    }
}

/// Counts delivery reports and gives each message's permit back, like pubduel's ack collector.
struct RawContext(Arc<Tally>);

impl ClientContext for RawContext {}

impl ProducerContext for RawContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => self.0.acked.fetch_add(1, Relaxed),
            Err(_) => self.0.errors.fetch_add(1, Relaxed),
        };
        self.0.permits.add_permits(1);
    }
}

/// A bare rdkafka producer with the Kafka lane's producer settings; the topic is created (with the
/// lane's partitions) by `kafka::connect`, whose publisher is dropped at once.
fn raw_kafka_producer(
    rt: &Runtime,
    addr: &str,
    topic: &str,
    tally: &Arc<Tally>,
) -> Result<Arc<ThreadedProducer<RawContext>>, String> {
    let s = kafka_settings(addr, topic);
    drop(rt.block_on(kafka::connect(&s)).map_err(|e| e.to_string())?);
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &s.bootstrap)
        .set("client.id", "pubduel-raw")
        .set("acks", &s.acks)
        .set("linger.ms", s.linger_ms.to_string())
        .set("compression.type", &s.compression)
        .set("message.timeout.ms", s.message_timeout_ms.to_string())
        .set(
            "max.in.flight.requests.per.connection",
            s.max_in_flight.to_string(),
        )
        .set("queue.buffering.max.messages", "10000000");
    let producer = c
        .create_with_context(RawContext(Arc::clone(tally)))
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(producer))
}

/// Publisher task `id` of `n`: take a permit, send, and on a full client queue retry after 1 ms.
async fn kafka_raw_loop(
    producer: Arc<ThreadedProducer<RawContext>>,
    topic: String,
    keys: Arc<Vec<String>>,
    payload: Bytes,
    tally: Arc<Tally>,
    id: u32,
    n: u32,
) {
    let mut seq = u64::from(id);
    loop {
        tally.note_stall();
        let Ok(permit) = tally.permits.acquire().await else {
            break;
        };
        permit.forget();
        let key = keys[(seq % KEYS) as usize].as_str();
        loop {
            let record = BaseRecord::to(&topic).key(key).payload(payload.as_ref());
            match producer.send(record) {
                Ok(()) => {
                    tally.sent.fetch_add(1, Relaxed);
                    break;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Err(_) => {
                    tally.errors.fetch_add(1, Relaxed);
                    tally.permits.add_permits(1);
                    break;
                }
            }
        }
        seq += u64::from(n);
    }
    let _ = producer.flush(Duration::from_secs(5));
}

/// A bare async-nats JetStream context with the NATS lane's client settings; the stream is created
/// by `nats::connect`, whose publisher is dropped at once.
fn raw_nats_context(rt: &Runtime, url: &str, name: &str) -> Result<jetstream::Context, String> {
    let s = nats_settings(url, name);
    rt.block_on(async {
        drop(nats::connect(&s).await.map_err(|e| e.to_string())?);
        let client = async_nats::connect(url).await.map_err(|e| e.to_string())?;
        Ok(jetstream::context::ContextBuilder::new()
            .timeout(Duration::from_secs(5))
            .ack_timeout(Duration::from_millis(s.ack_timeout_ms))
            .max_ack_inflight(NATS_CLIENT_INFLIGHT)
            .backpressure_on_inflight(true)
            .build(client))
    })
}

/// Publisher task: take a permit (or settle a ready ack first), publish, keep the ack future with
/// its permit in a local set.
async fn nats_raw_loop(
    js: jetstream::Context,
    subject: async_nats::Subject,
    payload: Bytes,
    tally: Arc<Tally>,
) {
    let mut acks = FuturesUnordered::new();
    let settle = |r: Result<_, _>| match r {
        Ok(_) => tally.acked.fetch_add(1, Relaxed),
        Err(_) => tally.errors.fetch_add(1, Relaxed),
    };
    loop {
        let stalled = tally.permits.available_permits() == 0;
        let permit = tokio::select! {
            biased;
            Some(r) = acks.next(), if !acks.is_empty() => {
                settle(r);
                continue;
            }
            p = Arc::clone(&tally.permits).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        if stalled {
            tally.stalls.fetch_add(1, Relaxed);
        }
        match js.publish(subject.clone(), payload.clone()).await {
            Ok(ack) => {
                tally.sent.fetch_add(1, Relaxed);
                acks.push(async move {
                    let r = ack.await;
                    drop(permit);
                    r
                });
            }
            Err(_) => {
                tally.errors.fetch_add(1, Relaxed);
            }
        }
    }
    while let Some(r) = acks.next().await {
        settle(r);
    }
}
