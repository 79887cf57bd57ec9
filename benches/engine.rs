//! Engine + metrics overhead per message, against an in-process fake publisher that acks at once.
//!
//! Every case runs on a tokio runtime with one worker thread, so "msg/s" is "msg/s per core".
//! The baselines run in the same process just before the engine cases: a bare loop that calls the
//! same `FakePublisher`'s submit and awaits its ack, then the same loop plus what pubduel records
//! per message (timestamps, HDR histogram recorder, counters), then plus the stamped payload.
//! Figures are ratios against the bare loop of the same run, never absolute pass/fail limits.
//!
//! The fake's submit and ack are always ready, so an engine worker never waits on them; the
//! engine spends one unit of tokio's cooperative budget per message (`consume_budget`) so such a
//! worker still lets the controller and the collector run. A case whose engine does not stop
//! within 20 s of `Engine::finish` (a worker that holds the thread) ends the bench with an error;
//! the `ticks` column shows how many stats ticks ran while a case was measured (0 = starved).
//!
//! Each case is sampled over several one-second windows and the best window is reported: on a
//! shared machine, other processes can only make a window slower.
//!
//! Run: `cargo bench --bench engine` (all cases, about 45 s) or
//! `cargo bench --bench engine -- async` (only cases whose name contains `async`).
//! `PUBDUEL_BENCH_WINDOWS=5` samples five one-second windows per case instead of three.

use bytes::Bytes;
use pubduel::brokers::fake::FakePublisher;
use pubduel::vocab::{AckStrategy, Knobs, Stage};

use pubduel::brokers::{Message, Publisher};
use pubduel::engine::payload::PayloadBuilder;
use pubduel::engine::{Engine, EngineConfig, LaneSetup};
use pubduel::metrics::{no_analysis, Counters, Recorders};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

/// Payload size of every message, as in the default knobs.
const SIZE: u32 = 256;
/// "Large" max-pending: the semaphore is never the limit.
const BIG_PENDING: u32 = 1_000_000;
/// max-pending for `task-per-message`: each pending ack is a spawned task, and on one runtime
/// thread a million of them queue up ahead of the controller, so `Engine::finish` would take a
/// minute (the spawned tasks overflow into tokio's global queue, which is polled once per 61).
const TASKS_PENDING: u32 = 4096;
/// Time each case runs before it is measured.
const WARM: Duration = Duration::from_millis(300);
/// Length of one measured window.
const WINDOW: Duration = Duration::from_secs(1);

/// What a case runs.
#[derive(Clone, Copy)]
enum Kind {
    /// submit + await ack, nothing else.
    Bare,
    /// Bare plus timestamps, submit/ack histogram recording and counters, as a worker does.
    BareMetrics,
    /// BareMetrics plus a stamped payload built per message, as a worker does.
    BarePayloadMetrics,
    /// pubduel's engine with these knobs (ack, concurrency, max_pending).
    Engine(AckStrategy, u32, u32),
}

struct Case {
    name: String,
    kind: Kind,
}

/// One measured case.
struct Outcome {
    name: String,
    rate: f64,
    /// Stats ticks the engine managed during the measured span (engine cases only).
    ticks: Option<u64>,
    /// Messages sent and acked over the whole case (engine cases only).
    sent_acked: Option<(u64, u64)>,
}

fn cases() -> Vec<Case> {
    let mut v = vec![
        Case {
            name: "bare: submit + await ack".into(),
            kind: Kind::Bare,
        },
        Case {
            name: "bare + metrics".into(),
            kind: Kind::BareMetrics,
        },
        Case {
            name: "bare + payload + metrics".into(),
            kind: Kind::BarePayloadMetrics,
        },
    ];
    let engine = [
        (AckStrategy::Async, 1, BIG_PENDING),
        (AckStrategy::Async, 4, BIG_PENDING),
        (AckStrategy::Async, 16, BIG_PENDING),
        (AckStrategy::Async, 1, 1024),
        (AckStrategy::Sync, 1, BIG_PENDING),
        (AckStrategy::TaskPerMessage, 1, TASKS_PENDING),
        (AckStrategy::TaskPerMessage, 4, TASKS_PENDING),
        (AckStrategy::None, 1, BIG_PENDING),
    ];
    v.extend(engine.into_iter().map(|(ack, c, p)| Case {
        name: format!("engine {ack} c={c} max_pending={p}"),
        kind: Kind::Engine(ack, c, p),
    }));
    v
}

fn main() {
    let windows: u32 = std::env::var("PUBDUEL_BENCH_WINDOWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    println!(
        "pubduel engine bench: fake publisher acking at once, {SIZE} B messages, rate 0 (closed loop), \
         1 tokio worker thread; per case {} ms warm-up, then the best of {windows} windows of {} s\n",
        WARM.as_millis(),
        WINDOW.as_secs_f64()
    );
    let mut results: Vec<Outcome> = Vec::new();
    for case in cases() {
        let always = matches!(case.kind, Kind::Bare);
        if !always && !filters.is_empty() && !filters.iter().any(|f| case.name.contains(f)) {
            continue;
        }
        let outcome = match case.kind {
            Kind::Engine(ack, c, p) => run_engine(&rt, &case.name, (ack, c, p), windows),
            other => run_bare(&rt, &case.name, other, windows),
        };
        print_row(&outcome, results.first());
        results.push(outcome);
    }
    summary(&results);
    rt.shutdown_timeout(Duration::from_secs(1));
}

/// Waits out the warm-up, then returns the best submit rate of `fake` over `windows` windows.
fn measure(fake: &FakePublisher, windows: u32) -> f64 {
    std::thread::sleep(WARM);
    let mut best = 0.0f64;
    let (mut n0, mut t0) = (fake.submitted.load(Relaxed), Instant::now());
    for _ in 0..windows.max(1) {
        std::thread::sleep(WINDOW);
        let (n1, t1) = (fake.submitted.load(Relaxed), Instant::now());
        best = best.max((n1 - n0) as f64 / (t1 - t0).as_secs_f64());
        (n0, t0) = (n1, t1);
    }
    best
}

fn run_bare(rt: &Runtime, name: &str, kind: Kind, windows: u32) -> Outcome {
    let fake = FakePublisher::new(Duration::ZERO);
    let stop = Arc::new(AtomicBool::new(false));
    let task = rt.spawn(bare_loop(fake.clone(), Arc::clone(&stop), kind));
    let rate = measure(&fake, windows);
    stop.store(true, Relaxed);
    rt.block_on(task).expect("the bare loop ends");
    Outcome {
        name: name.into(),
        rate,
        ticks: None,
        sent_acked: None,
    }
}

/// The baseline loops: what a worker does per message, without the engine around it.
async fn bare_loop(publisher: Arc<dyn Publisher>, stop: Arc<AtomicBool>, kind: Kind) {
    let fixed = Bytes::from(vec![0xA5u8; SIZE as usize]);
    let payloads = PayloadBuilder::new(SIZE as usize, Instant::now(), 7);
    let recorders = Arc::new(Recorders::default());
    let rec = recorders.recorder(0);
    let counters = Counters::default();
    let mut seq = 0u64;
    while !stop.load(Relaxed) {
        let start = Instant::now();
        let payload = match kind {
            Kind::BarePayloadMetrics => payloads.build(SIZE as usize, seq, start, None),
            _ => fixed.clone(),
        };
        let ack = publisher
            .submit(&Message::plain(seq, payload))
            .await
            .expect("the fake takes every message");
        if matches!(kind, Kind::Bare) {
            let _ = ack.await;
        } else {
            let submitted = Instant::now();
            Counters::bump(&counters.sent);
            rec.record(&[(Stage::Submit, submitted - start)]);
            if let Ok(at) = ack.await {
                Counters::bump(&counters.acked);
                rec.record(&[(Stage::Ack, at.saturating_duration_since(start))]);
            }
        }
        seq += 1;
    }
    let mut drained = Default::default();
    recorders.drain_into(&mut drained);
}

fn run_engine(
    rt: &Runtime,
    name: &str,
    (ack, concurrency, max_pending): (AckStrategy, u32, u32),
    windows: u32,
) -> Outcome {
    let fake = FakePublisher::new(Duration::ZERO);
    let knobs = Knobs {
        concurrency,
        max_pending,
        ack,
        rate: 0,
        message_size: SIZE,
        batch: 64,
        ..Knobs::default()
    };
    let setup = LaneSetup {
        name: "fake".into(),
        publisher: fake.clone(),
        knobs,
    };
    let config = EngineConfig {
        warmup: Duration::ZERO,
        e2e: false,
        drain: Duration::from_secs(5),
        keep_intervals: false,
        e2e_grace: Duration::from_secs(2),
        precise: false,
        analyse: no_analysis(),
        payload: None,
    };
    let engine = rt
        .block_on(Engine::start(vec![setup], config))
        .expect("the engine starts on a fake publisher");
    let ticks = engine.handle().ticks();
    let before = *ticks.borrow();
    let rate = measure(&fake, windows);
    let after = *ticks.borrow();
    let phases = with_watchdog(name, || rt.block_on(engine.finish()));
    let (sent, acked) = phases
        .iter()
        .flat_map(|p| p.lanes.iter())
        .fold((0, 0), |(s, a), l| (s + l.counts.sent, a + l.counts.acked));
    Outcome {
        name: name.into(),
        rate,
        ticks: Some(after - before),
        sent_acked: Some((sent, acked)),
    }
}

/// Runs `f`, ending the process with a message if it takes longer than 20 s.
fn with_watchdog<T>(name: &str, f: impl FnOnce() -> T) -> T {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let name = name.to_string();
    let dog = std::thread::spawn(move || {
        if rx.recv_timeout(Duration::from_secs(20)).is_err() {
            eprintln!("{name}: the engine did not stop within 20 s of finish(); its workers hold the runtime thread");
            std::process::exit(1);
        }
    });
    let out = f();
    let _ = tx.send(());
    let _ = dog.join();
    out
}

fn ns_per_msg(rate: f64) -> f64 {
    if rate > 0.0 {
        1e9 / rate
    } else {
        f64::INFINITY
    }
}

fn print_row(o: &Outcome, bare: Option<&Outcome>) {
    if bare.is_none() {
        println!(
            "{:<42} {:>10} {:>8} {:>8} {:>12} {:>6}  sent/acked",
            "case", "msg/s", "ns/msg", "vs bare", "overhead ns", "ticks"
        );
    }
    let base = bare.unwrap_or(o);
    let ticks = o.ticks.map_or("-".into(), |t| t.to_string());
    let counts = o.sent_acked.map_or("-".into(), |(s, a)| format!("{s}/{a}"));
    println!(
        "{:<42} {:>10.0} {:>8.1} {:>7.1}% {:>12.1} {:>6}  {counts}",
        o.name,
        o.rate,
        ns_per_msg(o.rate),
        100.0 * o.rate / base.rate,
        ns_per_msg(o.rate) - ns_per_msg(base.rate),
        ticks,
    );
}

fn summary(results: &[Outcome]) {
    let find = |name: &str| results.iter().find(|o| o.name == name);
    let Some(bare) = find("bare: submit + await ack") else {
        return;
    };
    println!();
    if let (Some(m), Some(p)) = (find("bare + metrics"), find("bare + payload + metrics")) {
        println!(
            "metrics alone (2 timestamps, 2 histogram records, 2 counters): {:.1} ns/msg; \
             stamped payload: {:.1} ns/msg more",
            ns_per_msg(m.rate) - ns_per_msg(bare.rate),
            ns_per_msg(p.rate) - ns_per_msg(m.rate),
        );
    }
    if let Some(e) = find(&format!("engine async c=1 max_pending={BIG_PENDING}")) {
        println!(
            "engine+metrics overhead per message (async, c=1): {:.1} ns; the engine reaches \
             {:.1}% of the bare loop; {:.2} M msg/s per core (goal: well over 1 M; {} 1 M)",
            ns_per_msg(e.rate) - ns_per_msg(bare.rate),
            100.0 * e.rate / bare.rate,
            e.rate / 1e6,
            if e.rate > 1e6 { "above" } else { "BELOW" }
        );
    }
    let starved: Vec<&str> = results
        .iter()
        .filter(|o| o.ticks == Some(0))
        .map(|o| o.name.as_str())
        .collect();
    if !starved.is_empty() {
        println!(
            "no stats tick ran while these cases were measured (workers held the thread): {}",
            starved.join(", ")
        );
    }
}
