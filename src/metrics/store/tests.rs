//! The store on synthetic recordings: phases, warm-up, series, outages, findings.

use super::*;
use crate::brokers::BrokerStatus;
use crate::metrics::Counters;
use crate::vocab::FindingKind;

fn store(warmup: Duration) -> (MetricsStore, Instant) {
    let t0 = Instant::now();
    let k = Knobs::default();
    let s = MetricsStore::new(
        &[("kafka".into(), k), ("nats".into(), k)],
        no_analysis(),
        warmup,
        t0,
    );
    (s, t0)
}

#[test]
fn phases_split_samples_and_counts() {
    let (s, t0) = store(Duration::ZERO);
    let lane = &s.lanes()[0];
    lane.recorders
        .recorder(0)
        .record(&[(Stage::Ack, Duration::from_millis(1))]);
    Counters::bump(&lane.counters.acked);
    s.tick(t0 + Duration::from_secs(1));
    let k2 = Knobs {
        concurrency: 9,
        ..Knobs::default()
    };
    s.begin_phase(t0 + Duration::from_secs(2), &[k2, k2], false, None);
    lane.recorders
        .recorder(3)
        .record(&[(Stage::Ack, Duration::from_millis(5))]);
    Counters::bump(&lane.counters.acked);
    Counters::bump(&lane.counters.acked);
    let phases = s.phases(t0 + Duration::from_secs(4));
    assert_eq!(phases.len(), 2);
    assert_eq!(phases[0].lanes[0].counts.acked, 1);
    assert_eq!(phases[1].lanes[0].counts.acked, 2);
    assert_eq!(phases[1].lanes[0].knobs.concurrency, 9);
    assert_eq!(phases[0].lanes[0].measured.count(Stage::Ack), 1);
    assert_eq!(phases[1].lanes[0].measured.count(Stage::Ack), 1);
    assert!((phases[1].lanes[0].throughput - 1.0).abs() < 0.01);
    assert!((phases[1].start_s - 2.0).abs() < 1e-9);
}

#[test]
fn a_phase_counts_its_messages_seen_after_it_closed() {
    let (s, t0) = store(Duration::ZERO);
    let book = &s.lanes()[0].e2e;
    book.enable();
    book.acked(0);
    book.acked(1);
    book.received(0);
    book.begin_phase(|| 2);
    s.begin_phase(
        t0 + Duration::from_secs(1),
        &[Knobs::default(); 2],
        false,
        None,
    );
    // Message 1 of phase 0 arrives while phase 1 runs.
    book.received(1);
    let phases = s.phases(t0 + Duration::from_secs(2));
    let e2e = phases[0].lanes[0].e2e.unwrap();
    assert_eq!((e2e.acked, e2e.received, e2e.missing()), (2, 2, 0));
}

#[test]
fn warmup_samples_are_kept_apart() {
    let (s, t0) = store(Duration::from_secs(2));
    let rec = s.lanes()[1].recorders.recorder(0);
    rec.record(&[(Stage::Submit, Duration::from_millis(50))]);
    s.tick(t0 + Duration::from_secs(1));
    let early = s.phases(t0 + Duration::from_secs(1));
    assert!(early[0].lanes[1].warmup_only, "only warm-up samples so far");
    assert_eq!(
        s.warmup_deadline(t0 + Duration::from_secs(1)),
        Some(t0 + Duration::from_secs(2))
    );
    s.tick(t0 + Duration::from_secs(2));
    rec.record(&[(Stage::Submit, Duration::from_micros(10))]);
    let later = s.phases(t0 + Duration::from_secs(3));
    let lane = &later[0].lanes[1];
    assert!(!lane.warmup_only);
    assert_eq!(lane.measured.count(Stage::Submit), 1);
    assert_eq!(lane.warm.count(Stage::Submit), 1);
    assert!(lane.measured.summary(Stage::Submit).unwrap().max_us < 100);
}

#[test]
fn snapshot_has_series_and_phase_marks() {
    let (s, t0) = store(Duration::ZERO);
    for i in 1..=3 {
        Counters::bump(&s.lanes()[0].counters.sent);
        s.tick(t0 + Duration::from_secs(i));
    }
    s.begin_phase(
        t0 + Duration::from_secs(4),
        &[Knobs::default(); 2],
        true,
        None,
    );
    let snap = s.snapshot();
    assert_eq!(snap.lanes.len(), 2);
    assert_eq!(snap.lanes[0].series.len(), 4);
    assert!((snap.lanes[0].series[0].sent_per_s - 1.0).abs() < 0.01);
    assert_eq!(snap.phase_starts.len(), 2);
    assert_eq!(snap.phase, 1);
    assert!(snap.paused);
}

#[test]
fn outages_follow_availability_even_between_ticks() {
    let (s, t0) = store(Duration::ZERO);
    let status = BrokerStatus::new();
    s.watch_status(1, Arc::clone(&status));
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    // A blip that ends before the next tick is still an outage.
    status.set_down(at(200), "gone");
    status.set_up(at(500));
    s.tick(at(1000));
    status.set_down(at(1500), "gone again");
    s.tick(at(2000));
    assert_eq!(
        s.snapshot().lanes[1].unavailable,
        Some((1.5, "gone again".into()))
    );
    assert_eq!(s.snapshot().lanes[0].unavailable, None);
    let phases = s.phases(at(3000));
    let o = &phases[0].lanes[1].outages;
    assert_eq!(o.len(), 2);
    assert!((o[0].start_s - 0.2).abs() < 1e-9 && (o[0].duration_s - 0.3).abs() < 1e-9);
    assert!(o[1].ongoing && (o[1].duration_s - 1.5).abs() < 1e-9);
    assert!(phases[0].lanes[0].outages.is_empty());
}

#[test]
fn a_closed_phase_is_analysed_once_and_keeps_its_findings() {
    let t0 = Instant::now();
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let analyse: Analyser = Arc::new(move |p: &PhaseResult| {
        seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let f = Finding::new(FindingKind::GeneratorLag, format!("phase {}", p.index));
        vec![vec![f]; p.lanes.len()]
    });
    let k = Knobs::default();
    let s = MetricsStore::new(&[("kafka".into(), k)], analyse, Duration::ZERO, t0);
    s.begin_phase(t0 + Duration::from_secs(1), &[k], false, None);
    let before = calls.load(std::sync::atomic::Ordering::Relaxed);
    let phases = s.phases(t0 + Duration::from_secs(2));
    // Only the current phase is analysed again; the closed one keeps what it was given.
    assert_eq!(calls.load(std::sync::atomic::Ordering::Relaxed), before + 1);
    assert_eq!(phases[0].lanes[0].findings[0].message, "phase 0");
    assert_eq!(phases[1].lanes[0].findings[0].message, "phase 1");
    assert_eq!(s.snapshot().lanes[0].findings[0].message, "phase 1");
}

#[test]
fn the_warmups_last_second_stays_warmup() {
    let (s, t0) = store(Duration::from_secs(2));
    let rec = s.lanes()[1].recorders.recorder(0);
    s.tick(t0 + Duration::from_secs(1));
    // Recorded before the warm-up ends, taken by the tick at its end.
    rec.record(&[(Stage::Submit, Duration::from_millis(50))]);
    s.tick(t0 + Duration::from_secs(2));
    rec.record(&[(Stage::Submit, Duration::from_micros(10))]);
    s.tick(t0 + Duration::from_secs(3));
    let phases = s.phases(t0 + Duration::from_secs(3));
    let lane = &phases[0].lanes[1];
    assert_eq!(lane.warm.count(Stage::Submit), 1);
    assert_eq!(lane.measured.count(Stage::Submit), 1);
    // Each second's point holds that second's samples only.
    let maxes: Vec<u32> = (lane.series.iter())
        .map(|p| p.quantiles(Stage::Submit).max_us)
        .collect();
    assert_eq!(maxes.len(), 3);
    assert!(
        maxes[0] == 0 && maxes[1] > 40_000 && maxes[2] < 100,
        "{maxes:?}"
    );
}

#[test]
fn each_series_point_keeps_every_stages_quantiles() {
    let (s, t0) = store(Duration::ZERO);
    let rec = s.lanes()[0].recorders.recorder(0);
    for us in 1..=1000u64 {
        rec.record(&[
            (Stage::Ack, Duration::from_micros(us)),
            (Stage::Flight, Duration::from_micros(2 * us)),
        ]);
    }
    s.tick(t0 + Duration::from_secs(1));
    let p = s.snapshot().lanes[0].series[0];
    let ack = p.quantiles(Stage::Ack);
    assert_eq!((ack.p50_us, ack.p90_us, ack.max_us), (500, 900, 1000));
    assert!(
        (990..=991).contains(&ack.p99_us) && ack.p999_us >= 999,
        "{ack:?}"
    );
    assert_eq!(u64::from(ack.p99_us), p.ack_p99_us);
    assert!(p.quantiles(Stage::Flight).p50_us >= 999);
    assert_eq!(p.quantiles(Stage::Submit), Quantiles::default());
}
