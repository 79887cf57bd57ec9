use super::*;
use crate::brokers::fake::FakePublisher;

use crate::engine::{Engine, EngineConfig, LaneSetup};
use crate::vocab::AckStrategy;

fn plan(slo: &str, start: u64, max: u64) -> Plan {
    Plan {
        slo: crate::profile::parse_assert(slo).unwrap(),
        start,
        max,
        step: Duration::from_millis(600),
        resolution: 0.05,
        verbose: true,
    }
}

/// Plays a search against a lane that meets the SLO up to `capacity` (and, with `flaky`, once
/// at `flaky` but not again); returns the rates tried and what it found.
fn play(p: Plan, capacity: u64, flaky: Option<u64>) -> (Vec<u64>, CapacityReport) {
    let mut s = Search::new(p);
    let mut tried = Vec::new();
    while let Some(rate) = s.next() {
        let seen_before = tried.contains(&rate);
        tried.push(rate);
        let lucky = flaky == Some(rate) && !seen_before;
        let verdict = if rate <= capacity || lucky {
            Ok(())
        } else {
            Err(Broke::new("SLO broken"))
        };
        s.record(rate, verdict);
    }
    (tried, s.result("lane"))
}

#[test]
fn the_search_doubles_then_bisects_to_the_knee_and_confirms_it() {
    let (tried, found) = play(plan("ack.p99 < 10ms", 1000, 100_000), 13_700, None);
    assert_eq!(&tried[..5], &[1000, 2000, 4000, 8000, 16_000]);
    assert!(
        (13_700 * 95 / 100..=13_700).contains(&found.max_rate),
        "{found:?} after {tried:?}"
    );
    let broke = found.broke_at.unwrap();
    assert!(broke > found.max_rate && broke - found.max_rate <= found.max_rate / 20);
    assert_eq!(
        tried.last(),
        Some(&found.max_rate),
        "the best rate is measured last"
    );
    assert_eq!(tried.iter().filter(|r| **r == found.max_rate).count(), 2);
    assert_eq!(
        tried.iter().filter(|r| **r == broke).count(),
        2,
        "a break counts when it happens again"
    );
    assert!(found.reason.contains("SLO broken at"), "{}", found.reason);
    assert!(found
        .repeats
        .iter()
        .any(|r| r.rate == broke && r.held == [false, false]));
}

#[test]
fn one_slow_step_does_not_settle_the_answer() {
    // The lane holds up to 9000, but the first step at 8000 is slow (a GC pause, a log roll).
    let mut s = Search::new(plan("ack.p99 < 10ms", 1000, 100_000));
    let (mut tried, mut spiked) = (Vec::new(), false);
    while let Some(rate) = s.next() {
        tried.push(rate);
        let spike = rate == 8000 && !spiked;
        spiked |= spike;
        let verdict = if rate <= 9000 && !spike {
            Ok(())
        } else {
            Err(Broke::new("SLO broken"))
        };
        s.record(rate, verdict);
    }
    let found = s.result("lane");
    assert!(found.max_rate > 8000, "{found:?} after {tried:?}");
    assert_eq!(&tried[3..5], &[8000, 8000], "measured again at once");
    assert!(
        sureness(&found.repeats).contains("8000 held 1/2"),
        "{found:?}"
    );
    assert!(
        found.reason.contains(
            "uncertain: 8000 msg/s met the SLO on one measurement and broke it on another"
        ),
        "{}",
        found.reason
    );
}

#[test]
fn a_setting_that_rules_the_slo_out_ends_the_search_at_once() {
    let mut s = Search::new(plan("ack.p99 < 3ms", 1000, 20_000));
    assert_eq!(s.next(), Some(1000));
    s.record(
        1000,
        Err(Broke {
            why: "SLO broken (ack.p99 5.2ms)".into(),
            cause: Some("unreachable while linger_ms = 5".into()),
            unreachable: true,
        }),
    );
    assert_eq!(s.next(), None);
    let found = s.result("kafka");
    assert_eq!(
        (found.max_rate, found.broke_at, found.steps),
        (0, Some(1000), 1)
    );
    assert!(found.reason.contains("linger_ms = 5"), "{}", found.reason);
}

#[test]
fn a_rate_that_holds_only_once_is_not_reported() {
    let (tried, found) = play(plan("ack.p99 < 10ms", 1000, 100_000), 9_000, Some(15_000));
    assert!(found.max_rate <= 9_000, "{found:?} after {tried:?}");
    assert!(found.broke_at.unwrap() > found.max_rate);
}

#[test]
fn the_search_stays_within_its_limits() {
    let (tried, found) = play(plan("ack.p99 < 10ms", 1000, 5000), u64::MAX, None);
    assert!(tried.iter().all(|r| *r <= 5000), "{tried:?}");
    assert_eq!((found.max_rate, found.broke_at), (5000, None));
    assert!(found.reason.contains("--max-rate 5000"), "{}", found.reason);
    let (tried, found) = play(plan("ack.p99 < 10ms", 1000, 5000), 0, None);
    assert_eq!(found.max_rate, 0, "{tried:?}");
    assert!(tried.len() <= MAX_STEPS as usize);
}

/// Searches a fake broker of 1000 msg/s with `knobs`, stopped after `stop_after` if given;
/// returns what the search found and the engine's phases.
async fn search_fake(
    knobs: Knobs,
    warmup: Duration,
    p: &Plan,
    stop_after: Option<Duration>,
) -> (CapacityReport, Vec<crate::metrics::PhaseResult>) {
    let setup = LaneSetup {
        name: "fake".into(),
        publisher: FakePublisher::with_capacity(1000),
        knobs,
    };
    let config = EngineConfig {
        warmup,
        ..EngineConfig::default()
    };
    let engine = Engine::start(vec![setup], config).await.unwrap();
    let token = CancellationToken::new();
    if let Some(after) = stop_after {
        let stopper = token.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            stopper.cancel();
        });
    }
    let lane = LaneConfig {
        name: "fake".into(),
        ..LaneConfig::of_kind(crate::vocab::LaneKind::Nats, knobs)
    };
    let nats = BrokerSettings::Nats(Default::default());
    let found = search(engine.handle(), None, &lane, &nats, warmup, p, token).await;
    (found, engine.finish().await)
}

/// A broker with one server of 1000 msg/s: below that an ack takes 1 ms, past it a queue builds
/// and latency climbs without bound (5% over the knee, by 65 ms within a step). The search must
/// find the knee, never above it; below it, the bound leaves room for a loaded test machine, whose
/// scheduling jitter can break the SLO a step early.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_fake_broker_the_search_finds_the_knee() {
    let knobs = Knobs {
        concurrency: 4,
        max_pending: 100_000,
        ack: AckStrategy::Async,
        rate: 250,
        ..Knobs::default()
    };
    let mut p = plan("ack.p99 < 50ms", 250, 8000);
    p.resolution = 0.1;
    p.step = Duration::from_secs(1);
    let (found, phases) = search_fake(knobs, Duration::from_millis(300), &p, None).await;
    assert!(
        (750..=1050).contains(&found.max_rate),
        "knee at 1000, found {found:?}"
    );
    assert!(found.broke_at.unwrap() > found.max_rate, "{found:?}");
    // Every step is a phase with its note, and the last phase measured the reported rate.
    let last = phases.last().unwrap();
    assert_eq!(last.lanes[0].knobs.rate, found.max_rate);
    assert!(last.note.as_deref().unwrap().contains("capacity"));
    assert!(phases.len() as u32 >= found.steps);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_search_says_so_and_keeps_what_it_measured() {
    let knobs = Knobs {
        concurrency: 2,
        rate: 100,
        ..Knobs::default()
    };
    let mut p = plan("ack.p99 < 50ms", 100, 8000);
    p.step = Duration::from_millis(300);
    let stop_after = Some(Duration::from_millis(1000));
    let (found, phases) = search_fake(knobs, Duration::from_millis(100), &p, stop_after).await;
    assert!(found.reason.contains("stopped"), "{found:?}");
    assert!(found.steps >= 1 && found.steps < 6, "{found:?}");
    assert!(
        phases.len() as u32 > found.steps,
        "the step cut short is a phase too"
    );
}
