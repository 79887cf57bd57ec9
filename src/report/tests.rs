//! Reports without a broker: built from synthetic phases, written, read back, and held to the
//! schema by a snapshot of the file itself.

use super::*;
use crate::vocab::{FindingKind, Stage};

use crate::metrics::{no_analysis, MetricsStore};
use crate::vocab::{AckStrategy, Knobs};
use std::time::{Duration, Instant, UNIX_EPOCH};

fn phases() -> Vec<PhaseResult> {
    let t0 = Instant::now();
    let k = Knobs::default();
    let nats = Knobs {
        ack: AckStrategy::TaskPerMessage,
        max_pending: 4000,
        ..k
    };
    let store = MetricsStore::new(
        &[("kafka".into(), k), ("nats".into(), nats)],
        no_analysis(),
        Duration::ZERO,
        t0,
    );
    for (i, lane) in store.lanes().iter().enumerate() {
        let rec = lane.recorders.recorder(0);
        for n in 1..=100u64 {
            rec.record(&[
                (Stage::Submit, Duration::from_micros(10 * n)),
                (Stage::Ack, Duration::from_micros(1000 * n + i as u64)),
            ]);
        }
        lane.counters
            .sent
            .fetch_add(100, std::sync::atomic::Ordering::Relaxed);
        lane.counters
            .acked
            .fetch_add(100, std::sync::atomic::Ordering::Relaxed);
    }
    let mut phases = store.phases(t0 + Duration::from_secs(4));
    phases[0].lanes[1].findings = vec![Finding::new(
        FindingKind::MaxPendingStall,
        "submits waited".into(),
    )];
    phases
}

fn report() -> Report {
    let info = RunInfo {
        started_at: UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        profile: "test".into(),
        profile_path: None,
        warmup_s: 0.0,
        e2e: false,
        planned: None,
        kafka: Some(KafkaSettings::default()),
        nats: Some(NatsSettings::default()),
        lanes: Vec::new(),
        versions: Default::default(),
    };
    let mut r = Report::build(&info, &phases()).unwrap();
    r.meta.host = "host".into();
    r.meta.version = "x.y.z".into();
    r
}

#[test]
fn a_report_round_trips_through_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/run.toml");
    let r = report();
    r.write(&path).unwrap();
    assert_eq!(Report::load(&path).unwrap(), r);
    let lane = &r.phases[0].lanes[1];
    assert_eq!(lane.knobs.ack.as_deref(), Some("task-per-message"));
    assert_eq!(lane.findings[0].kind, "max-pending-stall");
    assert_eq!(r.phases[0].knobs.max_pending, None, "lanes differ");
    assert_eq!(r.phases[0].knobs.concurrency, Some(4));
    assert_eq!(lane.stages["ack"].count, 100);
}

#[test]
fn the_file_format_only_changes_on_purpose() {
    let text = toml::to_string(&report()).unwrap();
    insta::assert_snapshot!("report_schema_2", text);
}

#[test]
fn an_unreadable_report_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.toml");
    std::fs::write(&path, "schema = 1\nmeta = 3\n").unwrap();
    let e = Report::load(&path).unwrap_err().to_string();
    assert!(e.contains("broken.toml"), "{e}");
}

#[test]
fn a_histogram_that_does_not_decode_names_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    let mut r = report();
    r.phases[0].lanes[1]
        .stages
        .get_mut("ack")
        .unwrap()
        .histogram = Some("bm90IGEgaGlzdG9ncmFt".into());
    r.write(&path).unwrap();
    let e = Report::load(&path).unwrap_err().to_string();
    assert!(
        e.contains("bad.toml") && e.contains("phases[0].lanes[1].stages.ack.histogram"),
        "{e}"
    );
}

#[test]
fn the_histograms_hold_every_sample_and_the_series_every_second() {
    let r = report();
    for lane in &r.phases[0].lanes {
        for (name, s) in &lane.stages {
            let h = s.decode().unwrap().expect("a histogram");
            assert_eq!(h.len(), s.count, "{name}");
            assert_eq!(h.value_at_quantile(0.99), s.p99_us, "{name}");
            // One point covers the whole phase: its quantiles are the phase's.
            let second = &lane.series.as_ref().unwrap().stages[name];
            assert_eq!(
                (second.p50_us[0], second.p99_us[0], second.max_us[0]),
                (s.p50_us, s.p99_us, s.max_us),
                "{name}"
            );
        }
    }
}

#[test]
fn a_report_without_per_second_quantiles_still_reads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.toml");
    let mut r = report();
    for lane in &mut r.phases[0].lanes {
        lane.series.as_mut().unwrap().stages.clear();
    }
    r.write(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("series.stages"), "{text}");
    assert_eq!(Report::load(&path).unwrap(), r);
}
