//! A broker killed (SIGKILL) mid-run and restarted on its data, once per lane, against real
//! Apache Kafka and nats-server started for each test: the lane says so within a second or two,
//! counts what fails, recovers by itself, and the other lane goes on untouched.

use pubduel::app;
use pubduel::config::RunConfig;
use pubduel::engine::EngineHandle;
use pubduel::metrics::outages_of;
use pubduel::report::{Report, RunInfo};
use pubduel::testkit::{self, BrokerProcess, LocalBrokers, TestNames};
use pubduel::vocab::{AckStrategy, FindingKind, Knobs};
use std::time::{Duration, SystemTime};

fn config(b: &LocalBrokers, tag: &str) -> RunConfig {
    let knobs = Knobs {
        concurrency: 4,
        max_pending: 256,
        ack: AckStrategy::Async,
        rate: 200,
        ..Knobs::default()
    };
    TestNames::new(tag).run_config(b.kafka_addr(), b.nats_url(), knobs)
}

/// Waits (up to `limit`) until `cond` holds for the latest snapshot; returns how long it took.
async fn until(
    handle: &EngineHandle,
    limit: Duration,
    what: &str,
    cond: impl Fn(&pubduel::metrics::Snapshot) -> bool,
) -> Duration {
    testkit::until(what, limit, || cond(&handle.snapshot())).await
}

/// Acked count of lane `i` in the latest snapshot.
fn acked(handle: &EngineHandle, i: usize) -> u64 {
    handle.snapshot().lanes[i].total.acked
}

async fn outage(lane: usize) {
    let mut brokers = LocalBrokers::start().expect("brokers start");
    let other = 1 - lane;
    let cfg = config(&brokers, &format!("outage-{lane}"));
    let (engine, info) = app::start(&cfg).await.expect("both lanes start");
    let handle = engine.handle();
    until(&handle, Duration::from_secs(20), "both lanes ack", |s| {
        s.lanes.iter().all(|l| l.total.acked > 200)
    })
    .await;

    let broker: &mut BrokerProcess = if lane == 0 {
        &mut brokers.kafka
    } else {
        &mut brokers.nats
    };
    broker.kill();
    let seen = until(&handle, Duration::from_secs(5), "the outage shown", |s| {
        s.lanes[lane].unavailable.is_some()
    })
    .await;
    assert!(
        seen < Duration::from_millis(2500),
        "outage seen after {seen:?}"
    );
    assert!(handle.snapshot().lanes[other].unavailable.is_none());
    let other_before = acked(&handle, other);
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Restarting blocks until the broker serves again; the engine runs on the other worker.
    tokio::task::block_in_place(|| broker.restart()).expect("the broker restarts on its data");
    until(&handle, Duration::from_secs(30), "the lane back", |s| {
        s.lanes[lane].unavailable.is_none()
    })
    .await;
    let back = acked(&handle, lane);
    until(&handle, Duration::from_secs(30), "acks again", |s| {
        s.lanes[lane].total.acked > back + 400
    })
    .await;
    assert!(
        acked(&handle, other) > other_before + 600,
        "the other lane went on during the outage"
    );

    let phases = engine.finish().await;
    drop(brokers);
    let outages = outages_of(&phases);
    assert_eq!(outages.len(), 1, "{outages:?}");
    assert_eq!(outages[0].lane, lane);
    assert!(!outages[0].ongoing);
    assert!(outages[0].duration_s > 2.5, "{outages:?}");
    let last = phases.last().unwrap();
    assert_eq!(
        last.lanes[other].counts.errors, 0,
        "the other lane had errors"
    );
    assert!(last.lanes[lane].in_flight_end <= 10, "left in flight");
    let kinds: Vec<FindingKind> = last.lanes[lane].findings.iter().map(|f| f.kind).collect();
    assert!(kinds.contains(&FindingKind::BrokerUnavailable), "{kinds:?}");
    assert!(
        !kinds.contains(&FindingKind::GeneratorLag)
            && !kinds.contains(&FindingKind::MaxPendingStall),
        "advice about knobs during an outage: {kinds:?}"
    );
    let report = report_of(&info, &phases);
    assert_eq!(report.outages.len(), 1);
    assert_eq!(report.outages[0].lane, ["kafka", "nats"][lane]);
}

fn report_of(info: &RunInfo, phases: &[pubduel::metrics::PhaseResult]) -> Report {
    let mut info = info.clone();
    info.started_at = SystemTime::now();
    let text = toml::to_string(&Report::build(&info, phases).expect("histograms encode"))
        .expect("report serialises");
    toml::from_str(&text).expect("report reads back")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kafka_outage_is_seen_counted_and_survived() {
    outage(0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nats_outage_is_seen_counted_and_survived() {
    outage(1).await;
}
