//! Charts of synthetic reports: SVG and PNG files are written and checked for their shape.
//! Set `PUBDUEL_PLOT_SAMPLES` to a folder to keep sample images there and look at them.

use super::style::{axis_rate, axis_us, nines, nines_label};
use super::*;
use crate::report::StageReport;
use crate::report::{Brokers, LaneReport, Meta, PhaseReport, Report, ReportKnobs, SeriesReport};
use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;

/// A histogram of `n` log-normal latencies around `median_us`, with a slow tail.
fn latencies(median_us: f64, n: usize, rng: &mut StdRng) -> Histogram<u64> {
    let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    for _ in 0..n {
        let (u, v): (f64, f64) = (rng.gen_range(1e-9..1.0), rng.gen());
        let normal = (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos();
        let tail = if rng.gen_bool(0.002) { 8.0 } else { 1.0 };
        h.record((median_us * (0.45 * normal).exp() * tail) as u64 + 1)
            .unwrap();
    }
    h
}

/// One second-by-second series over `secs` seconds from `t0` at about `rate` msg/s.
fn series(t0: f64, secs: usize, rate: f64, p99_us: u64, rng: &mut StdRng) -> SeriesReport {
    let mut s = SeriesReport::default();
    for i in 0..secs {
        let r = rate * rng.gen_range(0.92..1.05);
        s.t_s.push(t0 + i as f64 + 1.0);
        s.sent_per_s.push(r);
        s.acked_per_s.push(r);
        s.submit_p99_us.push(p99_us / 10);
        // One second without acks in the middle: no p99 for it.
        let p99 = if i == secs / 2 { 0 } else { p99_us };
        s.ack_p99_us
            .push((p99 as f64 * rng.gen_range(0.8..1.3)) as u64);
        s.in_flight.push(10);
    }
    s
}

fn lane(name: &str, median_us: f64, phase: &PhaseReport, rng: &mut StdRng) -> LaneReport {
    let rate = 5_000.0 * f64::from(phase.index + 1);
    let mut stages = BTreeMap::new();
    for (stage, share) in [("submit", 0.1), ("ack", 1.0), ("flight", 0.9), ("e2e", 1.4)] {
        let h = latencies(median_us * share, 20_000, rng);
        stages.insert(stage.to_string(), StageReport::of(&h).unwrap());
    }
    let p99 = (median_us * 3.0) as u64;
    LaneReport {
        name: name.into(),
        mode: "open".into(),
        sent: 1000,
        acked: 1000,
        errors: 0,
        stalls: 0,
        queue_full: 0,
        in_flight_end: 0,
        throughput: rate,
        sent_rate: rate,
        warmup_only: false,
        received: None,
        missing: None,
        late: None,
        duplicates: None,
        knobs: ReportKnobs::default(),
        stages,
        findings: Vec::new(),
        series: Some(series(
            phase.start_s,
            phase.duration_s as usize,
            rate,
            p99,
            rng,
        )),
    }
}

/// A three-phase report of a Kafka and a NATS lane; `slower` scales every latency.
fn report(slower: f64, seed: u64) -> Report {
    let mut rng = StdRng::seed_from_u64(seed);
    let notes = [
        None,
        Some("rate 10k: both keep up"),
        Some("rate 15k with max-pending 64"),
    ];
    let mut phases = Vec::new();
    for (i, note) in notes.into_iter().enumerate() {
        let mut phase = PhaseReport {
            index: i as u32,
            start_s: 20.0 * i as f64,
            duration_s: 20.0,
            warmup_s: 0.0,
            mode: "open".into(),
            paused: false,
            note: note.map(str::to_string),
            knobs: ReportKnobs::default(),
            lanes: Vec::new(),
        };
        let kafka = lane("kafka", 2_500.0 * slower, &phase, &mut rng);
        let nats = lane("nats", 600.0 * slower, &phase, &mut rng);
        phase.lanes = vec![kafka, nats];
        phases.push(phase);
    }
    Report {
        schema: crate::report::SCHEMA,
        meta: meta(),
        brokers: Brokers::default(),
        phases,
        outages: Vec::new(),
        assertions: Vec::new(),
        capacity: Vec::new(),
    }
}

fn meta() -> Meta {
    Meta {
        tool: "pubduel".into(),
        version: "x.y.z".into(),
        started_at: "2027-01-15T10:00:00Z".into(),
        profile: "seed".into(),
        profile_path: None,
        host: "host".into(),
        duration_s: 60.0,
        warmup_s: 0.0,
        e2e: true,
        lanes: vec!["kafka".into(), "nats".into()],
        interrupted: false,
        planned_duration_s: None,
    }
}

/// The report as schema 1 wrote it: summary percentiles only, no histograms, no series.
fn schema_1(mut r: Report) -> Report {
    r.schema = 1;
    for lane in r.phases.iter_mut().flat_map(|p| p.lanes.iter_mut()) {
        lane.series = None;
        lane.stages.values_mut().for_each(|s| s.histogram = None);
    }
    r
}

fn one<'r>(label: &str, report: &'r Report) -> Vec<Plotted<'r>> {
    vec![Plotted {
        label: label.into(),
        report,
    }]
}

/// True when every element opened in `svg` is closed, in order.
fn well_formed(svg: &str) -> bool {
    let mut open: Vec<&str> = Vec::new();
    for tag in svg
        .split('<')
        .skip(1)
        .map(|t| t.split('>').next().unwrap_or(""))
    {
        let name = |t: &str| t.split_whitespace().next().unwrap_or("").to_string();
        if tag.starts_with('?') || tag.starts_with('!') || tag.ends_with('/') {
            continue;
        }
        match tag.strip_prefix('/') {
            Some(closing) if open.pop().map(name) != Some(name(closing)) => return false,
            Some(_) => {}
            None => open.push(tag),
        }
    }
    open.is_empty()
}

#[test]
fn an_svg_of_one_report_holds_both_lanes() {
    let r = report(1.0, 1);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run.svg");
    plot(&one("run", &r), &out).unwrap();
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
    assert!(well_formed(&svg), "the SVG is not well formed");
    assert!(svg.len() > 5000, "only {} bytes", svg.len());
    for text in [
        "kafka",
        "nats",
        "ack latency by percentile",
        "99.9%",
        "rate 10k",
    ] {
        assert!(svg.contains(text), "no {text:?} in the SVG");
    }
}

#[test]
fn a_png_of_two_reports_is_a_png() {
    let (a, b) = (report(1.0, 1), report(1.6, 2));
    let reports = [
        Plotted {
            label: "a".into(),
            report: &a,
        },
        Plotted {
            label: "b".into(),
            report: &b,
        },
    ];
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("both.png");
    plot(&reports, &out).unwrap();
    let png = std::fs::read(&out).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert!(png.len() > 20_000, "only {} bytes", png.len());
}

#[test]
fn a_schema_1_report_plots_its_summary_points() {
    let r = schema_1(report(1.0, 1));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("old.svg");
    plot(&one("old", &r), &out).unwrap();
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(svg.contains("(summary points)") && svg.contains("nats"));
    assert!(!svg.contains("acked msg/s"), "no series, so no timeline");
}

#[test]
fn an_unknown_extension_says_which_ones_work() {
    let r = report(1.0, 1);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run.jpg");
    let err = plot(&one("run", &r), &out).unwrap_err();
    assert!(matches!(err, PlotError::UnknownFormat { .. }));
    let message = err.to_string();
    assert!(message.contains("run.jpg") && message.contains(".svg") && message.contains(".png"));
    assert!(!out.exists());
}

#[test]
fn a_report_without_samples_has_nothing_to_draw() {
    let mut r = report(1.0, 1);
    r.phases.clear();
    let dir = tempfile::tempdir().unwrap();
    let err = plot(&one("run", &r), &dir.path().join("run.svg")).unwrap_err();
    assert!(matches!(err, PlotError::Empty), "{err}");
}

#[test]
fn a_file_that_cannot_be_written_is_named() {
    let r = report(1.0, 1);
    let out = std::path::Path::new("/nonexistent-dir/run.png");
    let err = plot(&one("run", &r), out).unwrap_err();
    assert!(matches!(err, PlotError::Draw { .. }));
    assert!(
        err.to_string().contains("/nonexistent-dir/run.png"),
        "{err}"
    );
}

#[test]
fn axis_labels_read_as_a_person_writes_them() {
    assert_eq!(nines_label(&nines(0.5)), "50%");
    assert_eq!(nines_label(&2.0), "99%");
    assert_eq!(nines_label(&3.0), "99.9%");
    assert_eq!(nines_label(&5.0), "99.999%");
    assert_eq!(axis_us(250.0), "250µs");
    assert_eq!(axis_us(1500.0), "1.5ms");
    assert_eq!(axis_us(2_000_000.0), "2s");
    assert_eq!(axis_rate(12_000.0), "12k");
    assert_eq!(axis_rate(0.0), "0");
}

#[test]
fn samples_for_a_person_to_look_at() {
    let Some(dir) = std::env::var_os("PUBDUEL_PLOT_SAMPLES") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let (a, b) = (report(1.0, 1), report(1.6, 2));
    let old = schema_1(report(1.0, 3));
    plot(&one("run", &a), &dir.join("one.svg")).unwrap();
    plot(&one("run", &a), &dir.join("one.png")).unwrap();
    plot(&one("old", &old), &dir.join("schema1.png")).unwrap();
    let two = [
        Plotted {
            label: "before".into(),
            report: &a,
        },
        Plotted {
            label: "after".into(),
            report: &b,
        },
    ];
    plot(&two, &dir.join("two.png")).unwrap();
}
