//! Every rule, just above and just below its threshold, on synthetic phase results.

use super::rules::{ACKED_SHARE, BACKLOG, LAG_P99_US, LINGER_SHARE, MIN_SENT};
use super::*;
use crate::metrics::host::HostLoad;
use crate::metrics::{CounterValues, LaneResult, Outage, PhaseResult, SeriesPoint, StageSet};
use crate::vocab::Stage;
use crate::vocab::{AckStrategy, Knobs};
use std::sync::Arc;

fn lane(name: &str, knobs: Knobs, counts: CounterValues, stages: &[(Stage, u64)]) -> LaneResult {
    let mut set = StageSet::default();
    for &(stage, us) in stages {
        for _ in 0..100 {
            set.record(stage, us);
        }
    }
    LaneResult {
        counts,
        throughput: counts.acked as f64,
        sent_rate: counts.sent as f64,
        measured: Arc::new(set),
        ..LaneResult::empty(name, knobs)
    }
}

fn sent(sent: u64, acked: u64) -> CounterValues {
    CounterValues {
        sent,
        acked,
        ..CounterValues::default()
    }
}

fn phase(lanes: Vec<LaneResult>) -> PhaseResult {
    PhaseResult {
        index: 0,
        start_s: 0.0,
        duration_s: 10.0,
        warmup_s: 0.0,
        paused: false,
        note: None,
        lanes,
        host: None,
    }
}

fn kinds(f: &[Finding]) -> Vec<FindingKind> {
    f.iter().map(|f| f.kind).collect()
}

fn has(l: &LaneResult, d: Option<&Durability>, kind: FindingKind) -> bool {
    kinds(&lane_findings(l, d)).contains(&kind)
}

#[test]
fn max_pending_stall_needs_a_tenth_of_submits_waiting() {
    let mut c = sent(1000, 1000);
    c.stalls = 100;
    let l = lane("nats", Knobs::default(), c, &[(Stage::Submit, 900)]);
    assert!(has(&l, None, FindingKind::MaxPendingStall));
    c.stalls = 99;
    let l = lane("nats", Knobs::default(), c, &[(Stage::Submit, 900)]);
    assert!(!has(&l, None, FindingKind::MaxPendingStall));
    let mut few = sent(MIN_SENT - 1, MIN_SENT - 1);
    few.stalls = MIN_SENT - 1;
    assert!(!has(
        &lane("nats", Knobs::default(), few, &[]),
        None,
        FindingKind::MaxPendingStall
    ));
}

#[test]
fn client_queue_full_fires_on_the_first_refusal() {
    let mut c = sent(100, 100);
    assert!(!has(
        &lane("kafka", Knobs::default(), c, &[]),
        None,
        FindingKind::ClientQueueFull
    ));
    c.queue_full = 1;
    assert!(has(
        &lane("kafka", Knobs::default(), c, &[]),
        None,
        FindingKind::ClientQueueFull
    ));
}

#[test]
fn generator_lag_needs_a_late_schedule_or_a_low_rate() {
    let knobs = Knobs {
        rate: 1000,
        ..Knobs::default()
    };
    let late = lane(
        "kafka",
        knobs,
        sent(1000, 1000),
        &[(Stage::Lag, LAG_P99_US)],
    );
    assert!(has(&late, None, FindingKind::GeneratorLag));
    let on_time = lane("kafka", knobs, sent(1000, 1000), &[(Stage::Lag, 4_000)]);
    assert!(!has(&on_time, None, FindingKind::GeneratorLag));
    let mut behind = on_time.clone();
    behind.sent_rate = 890.0;
    assert!(has(&behind, None, FindingKind::GeneratorLag));
    behind.sent_rate = 910.0;
    assert!(!has(&behind, None, FindingKind::GeneratorLag));
}

#[test]
fn generator_lag_names_the_sync_cap_when_it_is_the_limit() {
    let sync = |concurrency: u32| Knobs {
        rate: 2000,
        concurrency,
        ack: AckStrategy::Sync,
        ..Knobs::default()
    };
    // 4 publishers x 1 / 2.5 ms = 1600 msg/s, under 90% of 2000: the cap is named.
    let capped = lane(
        "kafka",
        sync(4),
        sent(1000, 1000),
        &[(Stage::Lag, 50_000), (Stage::AckRaw, 2_500)],
    );
    let f = lane_findings(&capped, None);
    let m = &f[0].message;
    assert!(
        m.contains("4 publishers") && m.contains("at most about 1"),
        "{f:?}"
    );
    // 8 publishers: 3200 msg/s would do; the lag has another cause, and the advice stays general.
    let roomy = lane(
        "kafka",
        sync(8),
        sent(1000, 1000),
        &[(Stage::Lag, 50_000), (Stage::AckRaw, 2_500)],
    );
    let f = lane_findings(&roomy, None);
    assert!(f[0].message.contains("Lower the rate"), "{f:?}");
}

fn with_in_flight(mut l: LaneResult, in_flight: &[u64]) -> LaneResult {
    l.series = in_flight
        .iter()
        .enumerate()
        .map(|(i, &n)| SeriesPoint {
            t_s: i as f64,
            in_flight: n,
            ..SeriesPoint::default()
        })
        .collect();
    l
}

#[test]
fn broker_saturated_when_acks_trail_sends_and_the_backlog_grows() {
    let acked = (ACKED_SHARE * 10_000.0) as u64;
    let trailing = lane("kafka", Knobs::default(), sent(10_000, acked - 1), &[]);
    let growing = [100, 400, 700, 1_000];
    assert!(has(
        &with_in_flight(trailing.clone(), &growing),
        None,
        FindingKind::BrokerSaturated
    ));
    // Acks keep up: no finding, however the backlog looks.
    let keeping_up = lane("kafka", Knobs::default(), sent(10_000, acked), &[]);
    assert!(!has(
        &with_in_flight(keeping_up, &growing),
        None,
        FindingKind::BrokerSaturated
    ));
    // A backlog that stays below the threshold, or stops growing, is not saturation.
    let small = [100, 400, 700, BACKLOG - 1];
    assert!(!has(
        &with_in_flight(trailing.clone(), &small),
        None,
        FindingKind::BrokerSaturated
    ));
    let flat = [5_000, 5_000, 5_000, 5_000];
    assert!(!has(
        &with_in_flight(trailing, &flat),
        None,
        FindingKind::BrokerSaturated
    ));
}

#[test]
fn broker_saturated_when_ack_p99_climbs_at_flat_throughput() {
    let series = |late_p99: u64| -> Vec<SeriesPoint> {
        (0..6)
            .map(|i| SeriesPoint {
                t_s: i as f64,
                acked_per_s: 1000.0,
                ack_p99_us: if i < 3 { 2_000 } else { late_p99 },
                ack_raw_p99_us: if i < 3 { 2_000 } else { late_p99 },
                ..SeriesPoint::default()
            })
            .collect()
    };
    let closed = Knobs {
        rate: 0,
        ..Knobs::default()
    };
    let mut l = lane("kafka", closed, sent(6000, 6000), &[]);
    l.series = series(6_000);
    assert!(has(&l, None, FindingKind::BrokerSaturated));
    l.series = series(4_000);
    assert!(!has(&l, None, FindingKind::BrokerSaturated));
    // Open loop: acking the whole target rate is keeping up, however the latency moves.
    let paced = |rate: u64| {
        let mut l = lane("kafka", Knobs { rate, ..closed }, sent(6000, 6000), &[]);
        l.series = series(6_000);
        l
    };
    assert!(!has(&paced(1000), None, FindingKind::BrokerSaturated));
    assert!(has(&paced(1200), None, FindingKind::BrokerSaturated));
    // Open loop, and only the corrected figure climbs: the lane fell behind its schedule (e.g.
    // sync at too low a concurrency) while the broker's own acks stayed flat.
    let mut behind = paced(1200);
    for p in behind.series.iter_mut() {
        p.ack_raw_p99_us = 2_000;
    }
    assert!(!has(&behind, None, FindingKind::BrokerSaturated));
}

fn lingering(ms: u32) -> Durability {
    Durability {
        storage: "file".into(),
        replicas: 1,
        acked_copies: 1,
        linger_ms: ms,
    }
}

#[test]
fn linger_wait_when_sync_acks_take_the_linger() {
    let sync = Knobs {
        ack: AckStrategy::Sync,
        ..Knobs::default()
    };
    let at = |p50: u64| lane("kafka", sync, sent(500, 500), &[(Stage::Ack, p50)]);
    let d = lingering(5);
    let threshold = (LINGER_SHARE * 5_000.0) as u64;
    assert!(has(&at(threshold + 10), Some(&d), FindingKind::LingerWait));
    assert!(!has(&at(threshold - 10), Some(&d), FindingKind::LingerWait));
    assert!(!has(
        &at(6_000),
        Some(&lingering(0)),
        FindingKind::LingerWait
    ));
    let asynch = lane(
        "kafka",
        Knobs::default(),
        sent(500, 500),
        &[(Stage::Ack, 6_000)],
    );
    assert!(!has(&asynch, Some(&d), FindingKind::LingerWait));
}

#[test]
fn an_outage_is_named_and_silences_advice_about_that_lane() {
    let knobs = Knobs {
        rate: 1000,
        ..Knobs::default()
    };
    let mut c = sent(1000, 400);
    c.stalls = 500;
    c.errors = 300;
    let mut l = lane("kafka", knobs, c, &[(Stage::Lag, 2_000_000)]);
    assert!(has(&l, None, FindingKind::GeneratorLag));
    assert!(has(&l, None, FindingKind::MaxPendingStall));
    l.outages.push(Outage {
        lane: 0,
        start_s: 6.1,
        duration_s: 9.5,
        ongoing: false,
        reason: "all brokers down".into(),
    });
    let found = lane_findings(&l, Some(&lingering(5)));
    assert_eq!(kinds(&found), vec![FindingKind::BrokerUnavailable]);
    assert!(found[0].message.contains("9.5s from 6.1s"), "{found:?}");
    assert!(
        found[0].message.contains("300 publishes failed"),
        "{found:?}"
    );
}

fn two_lanes(kafka: Durability, nats: Durability) -> Vec<Vec<Finding>> {
    let l = |name: &str| lane(name, Knobs::default(), sent(100, 100), &[]);
    analyse(&phase(vec![l("kafka"), l("nats")]), &[kafka, nats])
}

#[test]
fn unfair_comparison_names_what_differs_and_is_silent_when_alike() {
    let r3 = Durability {
        storage: "file".into(),
        replicas: 3,
        acked_copies: 2,
        linger_ms: 0,
    };
    let alike = two_lanes(r3.clone(), r3.clone());
    assert!(alike.iter().all(|f| f.is_empty()), "{alike:?}");
    let cases = [
        (
            Durability {
                replicas: 1,
                acked_copies: 1,
                ..r3.clone()
            },
            "replication differs",
        ),
        (
            Durability {
                acked_copies: 1,
                ..r3.clone()
            },
            "copies sure to exist",
        ),
        (
            Durability {
                storage: "memory".into(),
                ..r3.clone()
            },
            "storage differs",
        ),
        (
            Durability {
                linger_ms: 5,
                ..r3.clone()
            },
            "lingers",
        ),
    ];
    for (kafka, words) in cases {
        let found = two_lanes(kafka, r3.clone());
        for lane in &found {
            assert_eq!(kinds(lane), vec![FindingKind::UnfairComparison]);
            assert!(lane[0].message.contains(words), "{words}: {lane:?}");
        }
    }
}

#[test]
fn unfair_comparison_sees_knobs_that_differ() {
    let d = lingering(0);
    let mut kafka = lane("kafka", Knobs::default(), sent(100, 100), &[]);
    let nats = lane("nats", Knobs::default(), sent(100, 100), &[]);
    kafka.knobs.max_pending = 4000;
    let found = analyse(
        &phase(vec![kafka.clone(), nats.clone()]),
        &[d.clone(), d.clone()],
    );
    assert!(found[0][0]
        .message
        .contains("max-pending differs (kafka 4000 vs"));
    kafka.knobs = nats.knobs;
    kafka.knobs.ack = AckStrategy::Sync;
    let found = analyse(&phase(vec![kafka, nats]), &[d.clone(), d]);
    let m = &found[1][0].message;
    assert!(
        m.contains("ack handling differs (kafka sync vs nats async)"),
        "{m}"
    );
}

#[test]
fn kinds_keep_their_report_names() {
    let f = Finding::new(FindingKind::MaxPendingStall, "m".into());
    let text = toml::to_string(&f).unwrap();
    assert!(text.contains("kind = \"max-pending-stall\""), "{text}");
    assert_eq!(toml::from_str::<Finding>(&text).unwrap(), f);
    assert_eq!(
        FindingKind::BrokerUnavailable.to_string(),
        "broker-unavailable"
    );
}

fn lane_with_lag() -> LaneResult {
    let knobs = Knobs {
        rate: 1000,
        ..Knobs::default()
    };
    lane(
        "nats",
        knobs,
        sent(1000, 1000),
        &[(Stage::Lag, LAG_P99_US * 4)],
    )
}

fn load(busy: f64, own_cpu: f64, own_wait: f64) -> HostLoad {
    HostLoad {
        seconds: 8.0,
        cpus: 2,
        busy,
        steal: 0.0,
        run_queue: 6.0,
        own_cpu,
        own_wait,
        others: vec![("bash".into(), 1.9), ("nats-server".into(), 0.2)],
        workers: 2,
    }
}

#[test]
fn a_starved_host_is_named_instead_of_lowering_the_rate() {
    let mut p = phase(vec![lane_with_lag()]);
    assert!(kinds(&analyse(&p, &[])[0]).contains(&FindingKind::GeneratorLag));
    p.host = Some(load(0.99, 0.6, 0.5));
    let found = &analyse(&p, &[])[0];
    assert!(
        kinds(found).contains(&FindingKind::HostStarved),
        "{found:?}"
    );
    assert!(
        !kinds(found).contains(&FindingKind::GeneratorLag),
        "{found:?}"
    );
    let text = &found
        .iter()
        .find(|f| f.kind == FindingKind::HostStarved)
        .unwrap()
        .message;
    assert!(
        text.contains("bash 1.9") && text.contains("nats-server 0.2 (a broker"),
        "{text}"
    );
    // A broker among the busy, and pubduel on two runtime threads: one would spend less.
    assert!(
        text.contains("--threads 1") && text.contains("on 2 threads"),
        "{text}"
    );
    let mut one = load(0.99, 0.6, 0.5);
    one.workers = 1;
    p.host = Some(one.clone());
    let said = |p: &_| {
        let found = &analyse(p, &[])[0];
        let f = found.iter().find(|f| f.kind == FindingKind::HostStarved);
        f.unwrap().message.clone()
    };
    assert!(!said(&p).contains("--threads"), "already one thread");
    one.workers = 2;
    one.others = vec![("bash".into(), 1.9)];
    p.host = Some(one);
    assert!(!said(&p).contains("--threads"), "no broker on this host");
}

#[test]
fn a_quiet_or_merely_busy_host_is_not_called_starved() {
    let mut p = phase(vec![lane_with_lag()]);
    p.host = Some(load(0.30, 0.2, 0.01));
    assert!(!kinds(&analyse(&p, &[])[0]).contains(&FindingKind::HostStarved));
    // Busy, but pubduel's threads ran when they were ready: not starved.
    p.host = Some(load(0.95, 0.9, 0.05));
    assert!(!kinds(&analyse(&p, &[])[0]).contains(&FindingKind::HostStarved));
}

#[test]
fn a_load_generator_on_most_of_the_cpus_is_client_bound() {
    let mut p = phase(vec![lane_with_lag()]);
    p.host = Some(load(0.95, 1.7, 0.05));
    assert!(kinds(&analyse(&p, &[])[0]).contains(&FindingKind::ClientBound));
    p.host = Some(load(0.95, 0.7, 0.05));
    assert!(!kinds(&analyse(&p, &[])[0]).contains(&FindingKind::ClientBound));
}
