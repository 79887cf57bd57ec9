//! Both lanes against real brokers (Apache Kafka in KRaft mode and nats-server -js, started on
//! free loopback ports by `pubduel::testkit`): every ack strategy, max-pending stalls, end-to-end
//! latency, open-loop correction, a broker that goes away mid-run.
//!
//! Tests share one pair of brokers, each with its own topic and stream; the test that kills a
//! broker starts that broker for itself. Runs last until the lanes have done enough for the
//! assertions (with a generous bound), not for a fixed time, so a loaded machine only makes them
//! slower.

use pubduel::app;
use pubduel::config::RunConfig;
use pubduel::engine::EngineHandle;
use pubduel::metrics::{LaneResult, PhaseResult};
use pubduel::vocab::{AckStrategy, Knobs, LaneKind, Stage};

use pubduel::testkit::{self, TestNames};
use std::time::{Duration, Instant};

/// The longest a run waits for its lanes to do enough; the assertions then say what is missing.
const MAX_RUN: Duration = Duration::from_secs(30);

fn config(kafka_addr: String, nats_url: String, knobs: Knobs, tag: &str) -> RunConfig {
    let mut cfg = TestNames::new(tag).run_config(kafka_addr, nats_url, knobs);
    cfg.nats.ack_timeout_ms = 1_000;
    cfg
}

/// A run on the shared brokers.
fn shared_config(knobs: Knobs, tag: &str) -> RunConfig {
    let b = testkit::shared();
    config(b.kafka_addr(), b.nats_url(), knobs, tag)
}

/// Waits at least `min`, then until every lane of the current phase satisfies `enough` (or
/// [`MAX_RUN`] has passed).
async fn wait_for(handle: &EngineHandle, min: Duration, enough: impl Fn(&LaneResult) -> bool) {
    let t0 = Instant::now();
    tokio::time::sleep(min).await;
    while t0.elapsed() < MAX_RUN {
        let phases = handle.phases();
        if phases
            .last()
            .is_some_and(|p| !p.lanes.is_empty() && p.lanes.iter().all(&enough))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs `cfg` for at least `min` and until every lane satisfies `enough`; returns the phases.
async fn run_until(
    cfg: &RunConfig,
    min: Duration,
    enough: impl Fn(&LaneResult) -> bool,
) -> Vec<PhaseResult> {
    let (engine, _) = app::start(cfg)
        .await
        .expect("both lanes connect and the engine starts");
    wait_for(&engine.handle(), min, enough).await;
    engine.finish().await
}

fn lane<'a>(phases: &'a [PhaseResult], name: &str) -> &'a LaneResult {
    phases
        .last()
        .unwrap()
        .lanes
        .iter()
        .find(|l| l.name == name)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_ack_strategy_publishes_on_both_lanes() {
    // `fast` is NATS's only (and nats-server 2.14+'s): tests/cli.rs runs it on its own.
    for ack in AckStrategy::ALL
        .into_iter()
        .filter(|a| *a != AckStrategy::Fast)
    {
        let knobs = Knobs {
            concurrency: 2,
            max_pending: 32,
            ack,
            rate: 0,
            message_size: 128,
            batch: 16,
            ..Knobs::default()
        };
        let cfg = shared_config(knobs, &format!("ack-{ack}"));
        let phases = run_until(&cfg, Duration::from_millis(500), |l| {
            l.counts.sent > 100 && (ack == AckStrategy::None || l.counts.acked > 100)
        })
        .await;
        for name in ["kafka", "nats"] {
            let l = lane(&phases, name);
            assert_eq!(l.counts.errors, 0, "{name} {ack}: errors");
            assert!(
                l.counts.sent > 50,
                "{name} {ack}: only {} sent",
                l.counts.sent
            );
            assert!(
                l.measured.count(Stage::Submit) > 50,
                "{name} {ack}: submit latencies"
            );
            if ack == AckStrategy::None {
                assert_eq!(
                    l.measured.count(Stage::Ack),
                    0,
                    "{name}: none waits for no ack"
                );
            } else {
                assert!(
                    l.counts.acked >= l.counts.sent - l.in_flight_end,
                    "{name} {ack}: acks lost"
                );
                let s = l.measured.summary(Stage::Ack).expect("ack latencies");
                assert!(
                    s.count > 50 && s.p50_us <= s.p99_us && s.p99_us <= s.max_us,
                    "{name} {ack}: {s:?}"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tight_max_pending_shows_in_submit() {
    let tight = Knobs {
        concurrency: 8,
        max_pending: 1,
        ack: AckStrategy::Async,
        rate: 0,
        ..Knobs::default()
    };
    let enough = |l: &LaneResult| l.counts.acked > 200;
    let phases = run_until(
        &shared_config(tight, "tight"),
        Duration::from_secs(1),
        enough,
    )
    .await;
    let wide = Knobs {
        max_pending: 4096,
        rate: 2000,
        ..tight
    };
    let wide_phases = run_until(&shared_config(wide, "wide"), Duration::from_secs(1), enough).await;
    for name in ["kafka", "nats"] {
        let (t, w) = (lane(&phases, name), lane(&wide_phases, name));
        assert!(
            t.counts.stalls * 2 > t.counts.sent,
            "{name}: most submits stall with max-pending 1"
        );
        let (tp, wp) = (
            t.measured.summary(Stage::Submit).unwrap().p50_us,
            w.measured.summary(Stage::SubmitRaw).unwrap().p50_us,
        );
        assert!(
            tp > 3 * wp.max(1),
            "{name}: submit p50 {tp}us with max-pending 1 vs {wp}us with 4096"
        );
        assert!(t.in_flight_end <= 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_to_end_latency_is_recorded() {
    let knobs = Knobs {
        concurrency: 2,
        rate: 300,
        ..Knobs::default()
    };
    let mut cfg = shared_config(knobs, "e2e");
    cfg.e2e = true;
    let phases = run_until(&cfg, Duration::from_secs(1), |l| {
        l.counts.acked > 600 && l.counts.received > 550
    })
    .await;
    for name in ["kafka", "nats"] {
        let l = lane(&phases, name);
        let (e2e, ack) = (l.measured.count(Stage::E2e), l.measured.count(Stage::Ack));
        assert!(
            ack > 500 && e2e as f64 > 0.9 * ack as f64,
            "{name}: e2e {e2e} of {ack} acked"
        );
        assert_eq!(l.counts.duplicates, 0, "{name}: duplicates");
        assert!(
            l.measured.count(Stage::E2eRaw) > 0,
            "{name}: open loop keeps raw e2e"
        );
        // After the end-of-run grace every acked message of the phase has arrived: none is
        // missing, and the ones still on their way when publishing stopped are late.
        let e = l.e2e.expect("end-to-end counts with --e2e");
        assert!(e.acked > 500, "{name}: {e:?}");
        assert_eq!((e.missing(), e.received), (0, e.acked), "{name}: {e:?}");
        assert!(e.late < e.received / 10, "{name}: {e:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overloaded_open_loop_is_corrected() {
    let knobs = Knobs {
        concurrency: 1,
        max_pending: 1,
        ack: AckStrategy::Async,
        rate: 200_000,
        ..Knobs::default()
    };
    let phases = run_until(&shared_config(knobs, "over"), Duration::from_secs(1), |l| {
        l.counts.acked > 100
    })
    .await;
    for name in ["kafka", "nats"] {
        let l = lane(&phases, name);
        let ack = l.measured.summary(Stage::Ack).unwrap();
        let raw = l.measured.summary(Stage::AckRaw).unwrap();
        let lag = l.measured.summary(Stage::Lag).unwrap();
        assert!(
            ack.p99_us > raw.p99_us,
            "{name}: corrected {ack:?} vs raw {raw:?}"
        );
        assert!(lag.p99_us > 10_000, "{name}: lag {lag:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_that_goes_away_is_counted_not_fatal() {
    // This test kills its NATS server, so it has one of its own; Kafka is the shared one.
    let mut nats = testkit::start_nats().expect("nats-server starts");
    let nats_url = format!("nats://127.0.0.1:{}", nats.port);
    let knobs = Knobs {
        concurrency: 2,
        max_pending: 64,
        rate: 200,
        ..Knobs::default()
    };
    let cfg = config(testkit::shared().kafka_addr(), nats_url, knobs, "fault");
    let (engine, _) = app::start(&cfg).await.unwrap();
    let handle = engine.handle();
    wait_for(&handle, Duration::from_secs(1), |l| l.counts.acked > 100).await;
    nats.kill();
    wait_for(&handle, Duration::from_secs(1), |l| match l.name.as_str() {
        "nats" => l.counts.errors > 0,
        _ => l.counts.acked > 700,
    })
    .await;
    let phases = tokio::time::timeout(Duration::from_secs(15), engine.finish())
        .await
        .expect("the run ends");
    let (k, n) = (lane(&phases, "kafka"), lane(&phases, "nats"));
    assert!(
        n.counts.errors > 0,
        "nats errors are counted: {:?}",
        n.counts
    );
    assert_eq!(k.counts.errors, 0, "kafka goes on");
    assert!(
        k.counts.acked > 600,
        "kafka keeps publishing: {:?}",
        k.counts
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_client_queue_is_named() {
    let knobs = Knobs {
        concurrency: 8,
        max_pending: 20_000,
        ack: AckStrategy::Async,
        rate: 0,
        ..Knobs::default()
    };
    let mut cfg = shared_config(knobs, "native");
    cfg.nats.native_defaults = true;
    cfg.lanes.retain(|l| l.kind == LaneKind::Nats);
    let phases = run_until(&cfg, Duration::from_secs(1), |l| {
        l.counts.queue_full > 0 && l.counts.acked > 5_000
    })
    .await;
    let nats = lane(&phases, "nats");
    assert!(
        nats.counts.queue_full > 0,
        "async-nats's cap of 5000 was never full: {:?}",
        nats.counts
    );
    let found = pubduel::analysis::analyse(phases.last().unwrap(), &[]);
    assert!(
        found[0]
            .iter()
            .any(|f| f.kind == pubduel::vocab::FindingKind::ClientQueueFull),
        "{found:?}"
    );
    assert_eq!(nats.counts.errors, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_the_server_has_no_room_for_is_explained() {
    // A server whose JetStream file store is smaller than the stream's max_bytes reservation.
    let nats = testkit::start_nats_with_config("jetstream { max_file_store: 64MB }\n")
        .expect("nats-server starts");
    let nats_url = format!("nats://127.0.0.1:{}", nats.port);
    let mut cfg = config(String::new(), nats_url, Knobs::default(), "full");
    cfg.lanes.retain(|l| l.kind == LaneKind::Nats);
    let Err(refused) = app::start(&cfg).await else {
        panic!("a 1 GiB stream fits a 64 MB store");
    };
    let text = refused.to_string();
    for part in [
        "10047",
        "1073741824 bytes",
        "[nats] max_bytes",
        "max_file_store",
    ] {
        assert!(text.contains(part), "{part:?} missing from: {text}");
    }
    cfg.nats.max_bytes = 32 << 20;
    let phases = run_until(&cfg, Duration::from_millis(200), |l| l.counts.acked > 10).await;
    assert!(
        lane(&phases, "nats").counts.acked > 10,
        "a 32 MiB stream fits"
    );
}
