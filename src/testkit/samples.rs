//! Sample data with fixed or seeded figures, for the tests and for the examples that show a
//! person what the dashboard and the charts look like (`cargo run --example screens`,
//! `cargo run --example plots -- DIR`).

use crate::metrics::{
    CounterValues, LaneSnapshot, PhaseStats, SeriesPoint, Snapshot, StageSummary,
};
use crate::report::{
    Brokers, LaneReport, Meta, PhaseReport, Report, ReportKnobs, SeriesReport, StageReport, SCHEMA,
};
use crate::tui::render;
use crate::tui::state::UiState;
use crate::vocab::{AckStrategy, Finding, Knobs, PhaseMode, Stage};
use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use std::collections::BTreeMap;
use std::time::Duration;

/// Summary figures around `p50`.
fn summary(p50: u64) -> StageSummary {
    StageSummary {
        count: 30_000,
        mean_us: p50 as f64 * 1.2,
        p50_us: p50,
        p90_us: p50 * 2,
        p99_us: p50 * 5,
        p999_us: p50 * 20,
        p9999_us: p50 * 50,
        max_us: p50 * 90,
    }
}

/// One lane of [`dashboard`]: open loop at 600 msg/s, with the given latencies.
fn dashboard_lane(name: &str, ack_us: u64, submit_us: u64, permit_us: u64) -> LaneSnapshot {
    let series = (1..=150u64)
        .map(|t| SeriesPoint {
            t_s: t as f64,
            phase: match t {
                0..=100 => 0,
                101..=130 => 1,
                _ => 2,
            },
            sent_per_s: if t > 100 { 600.0 } else { 300.0 },
            acked_per_s: if t > 100 { 590.0 } else { 300.0 } + (t % 7) as f64 * 4.0,
            submit_p99_us: submit_us + (t % 5) * submit_us / 4,
            ack_p99_us: ack_us + (t % 10) * ack_us / 8,
            ack_raw_p99_us: 0,
            e2e_p99_us: 0,
            in_flight: 12,
            ..SeriesPoint::default()
        })
        .collect();
    LaneSnapshot {
        name: name.to_string(),
        knobs: Knobs {
            concurrency: 8,
            max_pending: 4000,
            ack: AckStrategy::Async,
            rate: 600,
            message_size: 256,
            batch: 64,
            ..Knobs::default()
        },
        total: CounterValues {
            sent: 61_000,
            acked: 60_988,
            errors: 0,
            stalls: 0,
            ..CounterValues::default()
        },
        in_flight: 1200,
        phase: PhaseStats {
            mode: PhaseMode::Open,
            counts: CounterValues::default(),
            throughput: 598.0,
            sent_rate: 600.0,
            stages: vec![
                (Stage::Submit, summary(submit_us)),
                (Stage::Ack, summary(ack_us)),
                (Stage::Lag, summary(40)),
                (Stage::Permit, summary(permit_us)),
                (Stage::Flight, summary(ack_us - 40 - submit_us)),
                (Stage::SubmitRaw, summary(submit_us / 2)),
                (Stage::AckRaw, summary(ack_us / 2)),
            ],
            warmup_only: false,
        },
        interval: Vec::new(),
        run: vec![(Stage::Ack, summary(ack_us))],
        series,
        last_error: None,
        unavailable: None,
        findings: Vec::new(),
    }
}

/// A two-lane dashboard snapshot with fixed numbers: three phases on the timeline, open loop.
pub fn dashboard() -> Snapshot {
    let kafka = dashboard_lane("kafka", 2_400, 35, 2);
    let mut nats = dashboard_lane("nats", 900, 420, 380);
    nats.knobs.ack = AckStrategy::Batch;
    nats.phase.warmup_only = true;
    nats.total.stalls = 17;
    nats.findings = vec![Finding {
        kind: crate::vocab::FindingKind::MaxPendingStall,
        message: "17 submits waited for a max-pending permit; submit includes that wait. \
                  Raise max-pending (M) to see the publish call alone."
            .into(),
    }];
    nats.last_error = Some("publish ack timed out\ndetail".into());
    nats.total.errors = 2;
    Snapshot {
        elapsed: Duration::from_secs(150),
        phase: 2,
        phase_elapsed: Duration::from_secs(20),
        phase_starts: vec![0.0, 100.0, 130.0],
        paused: false,
        note: None,
        lanes: vec![kafka, nats],
        source: None,
    }
}

/// [`dashboard`] with four lanes: two Kafka lanes (linger 0 and 5) and two NATS lanes.
pub fn dashboard_four() -> Snapshot {
    let mut snap = dashboard();
    let (kafka, nats) = (snap.lanes[0].clone(), snap.lanes[1].clone());
    let named = |mut l: LaneSnapshot, name: &str| {
        l.name = name.into();
        l
    };
    snap.lanes = vec![
        named(kafka.clone(), "k0"),
        named(kafka, "k5"),
        named(nats.clone(), "file"),
        named(nats, "mem"),
    ];
    snap
}

/// The dashboard's own state for [`dashboard_four`].
pub fn dashboard_four_ui() -> UiState {
    let lanes = ["k0", "k5", "file", "mem"].map(String::from).to_vec();
    let mut ui = UiState::new("four", lanes, None);
    ui.warmup = Duration::from_secs(30);
    ui
}

/// The dashboard's own state for [`dashboard`]: the default profile, both lanes.
pub fn dashboard_ui() -> UiState {
    let mut ui = UiState::new("default", vec!["kafka".into(), "nats".into()], None);
    ui.warmup = Duration::from_secs(30);
    ui
}

/// The screen `snap` and `ui` draw at `w` x `h`, as text.
pub fn screen(w: u16, h: u16, snap: &Snapshot, ui: &UiState) -> String {
    let area = Rect::new(0, 0, w, h);
    let mut buf = Buffer::empty(area);
    render::render(area, &mut buf, snap, ui);
    render::buffer_lines(&buf).join("\n")
}

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

/// One lane of `phase` with latencies around `median_us`.
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
        kind: Some(name.into()),
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

/// A three-phase report of a Kafka and a NATS lane with random-looking but seeded figures;
/// `slower` scales every latency.
pub fn report(slower: f64, seed: u64) -> Report {
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
            end_s: 20.0 * i as f64 + 20.0,
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
        schema: SCHEMA,
        degraded: false,
        meta: meta(),
        brokers: Brokers::default(),
        phases,
        outages: Vec::new(),
        assertions: Vec::new(),
        capacity: Vec::new(),
        agents: Vec::new(),
    }
}

/// The metadata of [`report`].
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
        versions: Default::default(),
    }
}

/// The report as schema 1 wrote it: summary percentiles only, no histograms, no series.
pub fn schema_1(mut r: Report) -> Report {
    r.schema = 1;
    for lane in r.phases.iter_mut().flat_map(|p| p.lanes.iter_mut()) {
        lane.series = None;
        lane.stages.values_mut().for_each(|s| s.histogram = None);
    }
    r
}
