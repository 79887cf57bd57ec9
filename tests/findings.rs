//! Findings checked against real Apache Kafka and nats-server (the shared pair of
//! `pubduel::testkit`): the linger that `sync` waits out on Kafka, and `unfair-comparison`,
//! silent when the lanes are alike and naming what differs when they are not.

use pubduel::app;
use pubduel::brokers::nats::Storage;
use pubduel::config::RunConfig;
use pubduel::vocab::{AckStrategy, Finding, FindingKind, Knobs, LaneKind, Stage};

use pubduel::metrics::PhaseResult;

use pubduel::testkit::{self, TestNames};
use std::time::{Duration, Instant};

fn config(lanes: &[LaneKind], knobs: Knobs, tag: &str) -> RunConfig {
    let b = testkit::shared();
    let mut cfg = TestNames::new(tag).run_config(b.kafka_addr(), b.nats_url(), knobs);
    cfg.warmup = Duration::from_millis(300);
    cfg.lanes.retain(|l| lanes.contains(&l.kind));
    cfg.kafka.linger_ms = 0;
    cfg
}

/// Runs `cfg` until every lane has `acked` measured acks (at most 30 s); returns the findings
/// of the last phase and the phases.
async fn run(cfg: &RunConfig, acked: u64) -> (Vec<Vec<Finding>>, Vec<PhaseResult>) {
    let (engine, _) = app::start(cfg).await.expect("lanes start");
    let handle = engine.handle();
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let phases = handle.phases();
        let done = phases.last().is_some_and(|p| {
            p.lanes
                .iter()
                .all(|l| l.measured.count(Stage::Ack) >= acked)
        });
        if done {
            break;
        }
    }
    let phases = engine.finish().await;
    let found = phases
        .last()
        .unwrap()
        .lanes
        .iter()
        .map(|l| l.findings.clone())
        .collect();
    (found, phases)
}

fn kinds(found: &[Finding]) -> Vec<FindingKind> {
    found.iter().map(|f| f.kind).collect()
}

fn sync_one_at_a_time() -> Knobs {
    Knobs {
        concurrency: 1,
        max_pending: 1,
        ack: AckStrategy::Sync,
        rate: 0,
        ..Knobs::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_on_a_lingering_kafka_producer_is_named() {
    let mut cfg = config(&[LaneKind::Kafka], sync_one_at_a_time(), "linger-5");
    cfg.kafka.linger_ms = 5;
    let (lingering, slow) = run(&cfg, 200).await;
    assert!(
        kinds(&lingering[0]).contains(&FindingKind::LingerWait),
        "{lingering:?}"
    );
    let cfg = config(&[LaneKind::Kafka], sync_one_at_a_time(), "linger-0");
    let (prompt, fast) = run(&cfg, 200).await;
    assert!(
        !kinds(&prompt[0]).contains(&FindingKind::LingerWait),
        "{prompt:?}"
    );
    let p50 = |phases: &[PhaseResult]| {
        let lane = &phases.last().unwrap().lanes[0];
        lane.reported().summary(Stage::Ack).unwrap().p50_us as f64
    };
    let ratio = p50(&slow) / p50(&fast);
    assert!(ratio > 2.0, "linger 5 ms vs 0: ack p50 only {ratio:.1}x");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alike_lanes_are_not_called_unfair_and_unalike_ones_are() {
    let knobs = Knobs {
        concurrency: 2,
        max_pending: 64,
        ack: AckStrategy::Async,
        rate: 300,
        ..Knobs::default()
    };
    let both = [LaneKind::Kafka, LaneKind::Nats];
    let (alike, _) = run(&config(&both, knobs, "alike"), 100).await;
    for lane in &alike {
        assert!(
            !kinds(lane).contains(&FindingKind::UnfairComparison),
            "{alike:?}"
        );
    }
    let mut cfg = config(&both, knobs, "memory");
    cfg.nats.storage = Storage::Memory;
    cfg.kafka.linger_ms = 5;
    let (unalike, _) = run(&cfg, 100).await;
    let unfair = unalike[0]
        .iter()
        .find(|f| f.kind == FindingKind::UnfairComparison)
        .unwrap_or_else(|| panic!("no unfair-comparison: {unalike:?}"));
    for words in ["storage differs (kafka file vs nats memory)", "lingers"] {
        assert!(
            unfair.message.contains(words),
            "{words}: {}",
            unfair.message
        );
    }
}

/// Busy loops beside a run, twice as many as the host has CPUs: the host, not the broker or the
/// knobs, holds the figures back, and the finding says so (and drops the advice to lower the
/// rate).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_loops_beside_a_run_are_a_starved_host() {
    let knobs = Knobs {
        concurrency: 4,
        rate: 20_000,
        ..Knobs::default()
    };
    let cfg = config(&[LaneKind::Nats], knobs, "starved");
    let loops = testkit::BusyLoops::starving_the_host();
    pubduel::metrics::host::start();
    let (engine, _) = app::start(&cfg).await.expect("lanes start");
    tokio::time::sleep(Duration::from_secs(5)).await;
    let phases = engine.finish().await;
    drop(loops);
    let found = &phases.last().unwrap().lanes[0].findings;
    let starved = found.iter().find(|f| f.kind == FindingKind::HostStarved);
    let starved = starved.unwrap_or_else(|| panic!("no host-starved among {found:?}"));
    assert!(
        starved.message.contains("sh "),
        "the busy loops are named: {starved:?}"
    );
    assert!(
        !kinds(found).contains(&FindingKind::GeneratorLag),
        "{found:?}"
    );
}
