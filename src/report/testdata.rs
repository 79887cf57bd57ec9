//! Synthetic reports for the report layer's tests.

use super::*;
use hdrhistogram::Histogram;

pub fn stage(values: impl Iterator<Item = u64>) -> StageReport {
    let mut h = Histogram::<u64>::new_with_bounds(1, 2, 3).unwrap();
    h.auto(true);
    for v in values {
        h.record(v).unwrap();
    }
    StageReport::of(&h).unwrap()
}

/// A lane whose acks take `base_us` plus a uniform spread of 1 ms, 20000 of them.
pub fn lane(name: &str, base_us: u64, rate: u64) -> LaneReport {
    let ack = stage((0..20_000u64).map(|i| base_us + (i * 7919) % 1000));
    let submit = stage((0..20_000u64).map(|i| 5 + (i * 31) % 20));
    LaneReport {
        name: name.into(),
        kind: None,
        mode: "open".into(),
        sent: 20_000,
        acked: 20_000,
        errors: 0,
        stalls: 0,
        queue_full: 0,
        in_flight_end: 0,
        throughput: 1000.0,
        sent_rate: 1000.0,
        warmup_only: false,
        received: None,
        missing: None,
        late: None,
        duplicates: None,
        knobs: ReportKnobs {
            rate: Some(rate),
            ..ReportKnobs::default()
        },
        stages: [("ack".to_string(), ack), ("submit".to_string(), submit)].into(),
        findings: Vec::new(),
        series: None,
    }
}

pub fn report(phases: Vec<Vec<LaneReport>>) -> Report {
    Report {
        schema: crate::report::SCHEMA,
        degraded: false,
        meta: Meta {
            tool: "pubduel".into(),
            version: "0".into(),
            started_at: "2026-01-01T00:00:00Z".into(),
            profile: "t".into(),
            profile_path: None,
            host: "h".into(),
            duration_s: 20.0,
            warmup_s: 0.0,
            e2e: false,
            lanes: vec!["kafka".into(), "nats".into()],
            interrupted: false,
            planned_duration_s: None,
            versions: Default::default(),
        },
        brokers: Brokers::default(),
        phases: phases
            .into_iter()
            .enumerate()
            .map(|(i, lanes)| PhaseReport {
                index: i as u32,
                start_s: 20.0 * i as f64,
                duration_s: 20.0,
                end_s: 20.0 * i as f64 + 20.0,
                warmup_s: 0.0,
                mode: "open".into(),
                paused: false,
                note: None,
                knobs: ReportKnobs::default(),
                lanes,
            })
            .collect(),
        outages: Vec::new(),
        assertions: Vec::new(),
        capacity: Vec::new(),
        agents: Vec::new(),
    }
}
