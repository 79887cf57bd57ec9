//! Engine logic against the in-process fake publisher (never a stand-in for a real lane).

use super::*;
use crate::brokers::fake::FakePublisher;
use crate::vocab::Stage;

use crate::vocab::{AckStrategy, Dir};
use std::sync::atomic::Ordering::Relaxed;

fn setup(publisher: Arc<FakePublisher>, knobs: Knobs) -> Vec<LaneSetup> {
    vec![LaneSetup {
        name: "fake".into(),
        publisher,
        knobs,
    }]
}

fn config() -> EngineConfig {
    EngineConfig {
        warmup: Duration::ZERO,
        e2e: false,
        drain: Duration::from_secs(2),
        keep_intervals: false,
        e2e_grace: Duration::from_secs(2),
        precise: false,
        analyse: crate::metrics::no_analysis(),
        payload: None,
    }
}

/// Waits (at most 10 s) for `f`, failing the test naming `what` otherwise.
async fn wait_for(what: &str, f: impl FnMut() -> bool) {
    crate::testkit::until(what, Duration::from_secs(10), f).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knob_changes_open_phases_and_take_effect() {
    let fake = FakePublisher::new(Duration::from_millis(1));
    let knobs = Knobs {
        concurrency: 1,
        max_pending: 4,
        rate: 0,
        ..Knobs::default()
    };
    let engine = Engine::start(setup(Arc::clone(&fake), knobs), config())
        .await
        .unwrap();
    let h = engine.handle();
    tokio::time::sleep(Duration::from_millis(200)).await;
    h.apply(LaneTarget::All, KnobChange::Concurrency(3));
    wait_for("phase 1 to open", || h.snapshot().phase == 1).await;
    assert_eq!(h.snapshot().lanes[0].knobs.concurrency, 4);
    tokio::time::sleep(Duration::from_millis(200)).await;
    h.apply(LaneTarget::One(0), KnobChange::MaxPending(Dir::Up));
    wait_for("phase 2 to open", || h.snapshot().phase == 2).await;
    assert_eq!(h.snapshot().lanes[0].knobs.max_pending, 8);
    tokio::time::sleep(Duration::from_millis(200)).await;
    // A change that changes nothing opens no phase.
    h.apply(LaneTarget::All, KnobChange::Rate(Dir::Up));
    h.apply(LaneTarget::All, KnobChange::NextAck);
    wait_for("phase 3 to open", || h.snapshot().phase == 3).await;
    assert_eq!(h.snapshot().lanes[0].knobs.ack, AckStrategy::TaskPerMessage);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let phases = engine.finish().await;
    assert_eq!(phases.len(), 4);
    for p in &phases {
        assert!(p.lanes[0].counts.acked > 0, "phase {} published", p.index);
        assert_eq!(p.lanes[0].counts.errors, 0);
    }
    assert_eq!(phases[1].lanes[0].knobs.concurrency, 4);
    let sent: u64 = phases.iter().map(|p| p.lanes[0].counts.sent).sum();
    assert_eq!(
        sent,
        fake.submitted.load(Relaxed),
        "every submit is counted in exactly one phase"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_pending_caps_in_flight_and_counts_stalls() {
    let fake = FakePublisher::new(Duration::from_millis(20));
    let knobs = Knobs {
        concurrency: 8,
        max_pending: 3,
        rate: 0,
        ..Knobs::default()
    };
    let engine = Engine::start(setup(fake, knobs), config()).await.unwrap();
    let h = engine.handle();
    let mut most = 0;
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        most = most.max(h.snapshot().lanes[0].in_flight);
        let live = h.phases();
        most = most.max(live[0].lanes[0].in_flight_end);
    }
    assert!(most <= 3, "in flight {most} above max-pending 3");
    // Shrinking below what is in flight takes effect as acks come back.
    h.apply(LaneTarget::All, KnobChange::MaxPending(Dir::Down));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let phases = engine.finish().await;
    let first = &phases[0].lanes[0];
    assert!(
        first.counts.stalls > first.counts.sent / 2,
        "{:?}",
        first.counts
    );
    let s = first.measured.summary(Stage::Submit).unwrap();
    assert!(
        s.p50_us >= 2_000,
        "submit includes the wait for a permit: {s:?}"
    );
    assert!(phases[1].lanes[0].in_flight_end <= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_keeps_the_rate_and_records_lag() {
    let fake = FakePublisher::new(Duration::ZERO);
    let knobs = Knobs {
        concurrency: 2,
        rate: 500,
        ..Knobs::default()
    };
    let engine = Engine::start(setup(fake, knobs), config()).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let phases = engine.finish().await;
    let l = &phases[0].lanes[0];
    // Never ahead of the schedule (a slot per worker of slack: each may hold a slot claimed just
    // before the stop and send it when due); behind it only as far as a busy machine can delay
    // a 2 ms slot, and then it shows as lag.
    let due = phases[0].duration_s * 500.0;
    let sent = l.counts.sent as f64;
    assert!(
        sent <= due + 1.0 + f64::from(knobs.concurrency) && sent >= 0.8 * due,
        "sent {sent} at 500/s over {:.2}s",
        phases[0].duration_s
    );
    for stage in [Stage::Lag, Stage::SubmitRaw, Stage::AckRaw] {
        assert!(l.measured.count(stage) > 0, "{stage:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_stops_publishing_and_failures_are_counted() {
    let fake = Arc::new(FakePublisher {
        fail_every: 4,
        ..FakePublisher::default()
    });
    let knobs = Knobs {
        concurrency: 1,
        rate: 1000,
        ack: AckStrategy::Sync,
        ..Knobs::default()
    };
    let engine = Engine::start(setup(fake, knobs), config()).await.unwrap();
    let h = engine.handle();
    tokio::time::sleep(Duration::from_millis(300)).await;
    h.toggle_pause();
    wait_for("the pause", || h.snapshot().paused).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let phases = engine.finish().await;
    let running = &phases[0].lanes[0].counts;
    assert!(
        running.errors > 0 && running.acked > 2 * running.errors,
        "{running:?}"
    );
    assert!(phases[1].paused);
    assert!(
        phases[1].lanes[0].counts.sent <= 1,
        "paused lanes do not publish: {:?}",
        phases[1].lanes[0].counts
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_strategy_settles_every_message() {
    for ack in AckStrategy::ALL {
        let fake = FakePublisher::new(Duration::from_micros(200));
        let knobs = Knobs {
            concurrency: 3,
            max_pending: 16,
            ack,
            rate: 0,
            batch: 5,
            ..Knobs::default()
        };
        let engine = Engine::start(setup(fake, knobs), config()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let phases = engine.finish().await;
        let l = &phases[0].lanes[0];
        assert!(l.counts.sent > 10, "{ack}: {:?}", l.counts);
        assert_eq!(l.in_flight_end, 0, "{ack}: nothing left in flight");
        if ack != AckStrategy::None {
            assert_eq!(l.counts.acked, l.counts.sent, "{ack}: every message acked");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_settled_from_the_payload_and_tag_count_and_time_every_message() {
    for rate in [0, 2000] {
        let fake = Arc::new(FakePublisher {
            ack_delay: Duration::from_millis(2),
            fail_every: 50,
            tagged: true,
            ..FakePublisher::default()
        });
        let knobs = Knobs {
            concurrency: 4,
            max_pending: 8,
            rate,
            ..Knobs::default()
        };
        let engine = Engine::start(setup(Arc::clone(&fake), knobs), config())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
        let phases = engine.finish().await;
        let l = &phases[0].lanes[0];
        let c = &l.counts;
        assert!(c.sent > 20, "rate {rate}: {c:?}");
        assert_eq!(
            c.acked + c.errors,
            c.sent,
            "rate {rate}: every message settled: {c:?}"
        );
        assert!(
            c.errors > 0 && c.errors * 40 <= c.sent,
            "rate {rate}: one in 50 fails: {c:?}"
        );
        assert_eq!(
            l.in_flight_end, 0,
            "rate {rate}: permits and in-flight given back"
        );
        let count = |s: Stage| l.measured.count(s);
        assert_eq!(count(Stage::Ack), c.acked, "rate {rate}");
        assert_eq!(count(Stage::Flight), c.acked, "rate {rate}");
        assert_eq!(
            count(Stage::AckRaw),
            if rate > 0 { c.acked } else { 0 },
            "rate {rate}"
        );
        let mean = |s: Stage| l.measured.summary(s).unwrap().mean_us;
        let (submit, ack, flight) = (mean(Stage::Submit), mean(Stage::Ack), mean(Stage::Flight));
        assert!(
            flight >= 2000.0,
            "rate {rate}: the fake acks 2 ms later: flight {flight}"
        );
        assert!(
            (ack - (submit + flight)).abs() <= 0.05 * ack + 5.0,
            "rate {rate}: ack {ack} != submit {submit} + flight {flight}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permit_and_flight_add_up_to_submit_and_ack() {
    let fake = FakePublisher::new(Duration::from_millis(2));
    let knobs = Knobs {
        concurrency: 8,
        max_pending: 2,
        rate: 0,
        ..Knobs::default()
    };
    let engine = Engine::start(setup(fake, knobs), config()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let phases = engine.finish().await;
    let l = &phases[0].lanes[0];
    let mean = |s: Stage| l.measured.summary(s).unwrap().mean_us;
    let (submit, ack, permit, flight) = (
        mean(Stage::Submit),
        mean(Stage::Ack),
        mean(Stage::Permit),
        mean(Stage::Flight),
    );
    assert!(
        permit <= submit * 1.01 + 1.0,
        "permit {permit} > submit {submit}"
    );
    assert!(
        permit > 0.5 * submit,
        "8 publishers on 2 permits mostly wait: permit {permit}, submit {submit}"
    );
    assert!(
        (ack - (submit + flight)).abs() <= 0.05 * ack + 5.0,
        "ack {ack} != submit {submit} + flight {flight}"
    );
    assert!(flight >= 1_900.0, "flight holds the fake's 2 ms: {flight}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_ack_strategy_skips_those_the_client_does_not_have() {
    let nats = crate::brokers::nats::server_at_least;
    assert!(nats("2.12.3", (2, 12)) && nats("v2.15.0-dev", (2, 14)) && !nats("2.11.9", (2, 12)));
    // A client without atomic batches: `a` from none goes round to sync.
    struct Plain(Arc<FakePublisher>);
    impl crate::brokers::Publisher for Plain {
        fn name(&self) -> &'static str {
            "plain"
        }
        fn submit(
            &self,
            msg: &crate::brokers::Message,
        ) -> futures::future::BoxFuture<
            '_,
            Result<crate::brokers::AckFuture, crate::brokers::BrokerError>,
        > {
            self.0.submit(msg)
        }
        fn consume(
            &self,
            on: crate::brokers::OnMessage,
            cancel: CancellationToken,
        ) -> futures::future::BoxFuture<
            '_,
            Result<crate::brokers::ConsumerTask, crate::brokers::BrokerError>,
        > {
            self.0.consume(on, cancel)
        }
    }
    let knobs = Knobs {
        ack: AckStrategy::None,
        ..Knobs::default()
    };
    let setup = vec![LaneSetup {
        name: "plain".into(),
        publisher: Arc::new(Plain(FakePublisher::new(Duration::ZERO))),
        knobs,
    }];
    let engine = Engine::start(setup, config()).await.unwrap();
    let h = engine.handle();
    h.apply(LaneTarget::All, KnobChange::NextAck);
    wait_for("the strategy to change", || {
        h.snapshot().lanes[0].knobs.ack != AckStrategy::None
    })
    .await;
    assert_eq!(h.snapshot().lanes[0].knobs.ack, AckStrategy::Sync);
    h.apply(LaneTarget::All, KnobChange::Ack(AckStrategy::Atomic));
    h.apply(LaneTarget::All, KnobChange::Batch(crate::vocab::Dir::Up));
    wait_for("the batch to change", || {
        h.snapshot().lanes[0].knobs.batch != knobs.batch
    })
    .await;
    assert_eq!(
        h.snapshot().lanes[0].knobs.ack,
        AckStrategy::Sync,
        "refused, not applied"
    );
    engine.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_knobs_close_a_fast_batch_before_its_end() {
    let fake = FakePublisher::new(Duration::from_micros(100));
    let closed = Arc::clone(&fake.fast_closed);
    let knobs = Knobs {
        concurrency: 2,
        ack: AckStrategy::Fast,
        rate: 2_000,
        // Far longer than the run: only a close ends a batch.
        batch: 100_000,
        ..Knobs::default()
    };
    let engine = Engine::start(setup(fake, knobs), config()).await.unwrap();
    let h = engine.handle();
    wait_for("messages to go out", || {
        h.snapshot().lanes[0].phase.counts.sent > 50
    })
    .await;
    assert_eq!(closed.load(Relaxed), 0, "no batch closed before new knobs");
    h.apply(LaneTarget::All, KnobChange::Rate(Dir::Up));
    wait_for("both batches to close", || closed.load(Relaxed) >= 2).await;
    let phases = engine.finish().await;
    let (sent, acked) = phases.iter().fold((0, 0), |(s, a), p| {
        (s + p.lanes[0].counts.sent, a + p.lanes[0].counts.acked)
    });
    assert_eq!(acked, sent, "every message of a closed batch is acked");
    let last = &phases.last().unwrap().lanes[0].counts;
    assert!(last.sent > 0, "the new phase publishes too: {last:?}");
}
