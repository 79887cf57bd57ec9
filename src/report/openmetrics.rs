//! Live metrics in the OpenMetrics text format, which Prometheus scrapes: one snapshot's counters,
//! gauges and last-interval percentiles per lane, encoded with `prometheus-client`.
//!
//! Every name starts with `pubduel_`; per-lane metrics carry a `lane` label, latencies also
//! `stage` and `quantile` (`1` is the interval's largest sample). Nothing of a broker's address
//! or login is ever part of them.

use crate::metrics::{CounterValues, LaneSnapshot, Snapshot, StageSummary};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};
use std::fmt;
use std::sync::Arc;

/// The prefix of every metric's name.
pub const PREFIX: &str = "pubduel";

/// The HTTP content type of [`encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The latency family: per lane, stage and quantile, in seconds (`pubduel_interval_latency_seconds`).
const LATENCY: &str = "interval_latency";

/// A `quantile` label and the figure of a stage's summary it stands for, in microseconds.
type Quantile = (&'static str, fn(&StageSummary) -> u64);

/// The quantiles of the last interval, by their `quantile` label; `1` is the largest sample.
const QUANTILES: [Quantile; 5] = [
    ("0.5", |s| s.p50_us),
    ("0.9", |s| s.p90_us),
    ("0.99", |s| s.p99_us),
    ("0.999", |s| s.p999_us),
    ("1", |s| s.max_us),
];

/// One gauge per lane: its name (after the prefix), its help and its value.
type LaneGauge = (&'static str, &'static str, fn(&LaneSnapshot) -> f64);

/// The gauges of each lane.
const LANE_GAUGES: [LaneGauge; 5] = [
    (
        "in_flight",
        "Messages submitted and not yet acknowledged (or failed).",
        |l| l.in_flight as f64,
    ),
    (
        "knob_rate",
        "The rate knob: target messages per second (0: as fast as possible, closed loop).",
        |l| l.knobs.rate as f64,
    ),
    (
        "knob_concurrency",
        "The concurrency knob: publisher tasks.",
        |l| f64::from(l.knobs.concurrency),
    ),
    (
        "knob_max_pending",
        "The max_pending knob: un-acked messages allowed in flight.",
        |l| f64::from(l.knobs.max_pending),
    ),
    (
        "broker_available",
        "1 while the lane's broker can be reached, 0 while it cannot.",
        |l| f64::from(u8::from(l.unavailable.is_none())),
    ),
];

/// The gauges of the whole run: name, help, unit and value.
type RunGauge = (
    &'static str,
    &'static str,
    Option<Unit>,
    fn(&Snapshot) -> f64,
);

/// The gauges of the run.
fn run_gauges() -> [RunGauge; 2] {
    [
        (
            "phase",
            "Index of the current phase (0-based); every knob change opens the next.",
            None,
            |s| f64::from(s.phase),
        ),
        (
            "elapsed",
            "Time since the run started.",
            Some(Unit::Seconds),
            |s| s.elapsed.as_secs_f64(),
        ),
    ]
}

/// The text of `/metrics` for `snapshot` (only the version when no run has started yet),
/// ending in `# EOF`.
pub fn encode(snapshot: Option<Arc<Snapshot>>) -> String {
    let mut registry = Registry::with_prefix(PREFIX);
    registry.register(
        "build",
        // The registry ends the help with a full stop.
        "The pubduel that serves these metrics",
        Info::new([("version", env!("CARGO_PKG_VERSION"))]),
    );
    registry.register_collector(Box::new(Live(snapshot)));
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
    out
}

/// The snapshot a scrape reads, encoded as the scrape asks for it.
#[derive(Debug)]
struct Live(Option<Arc<Snapshot>>);

impl Collector for Live {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let Some(s) = &self.0 else {
            return Ok(());
        };
        counters(&mut encoder, s)?;
        for (name, help, value) in LANE_GAUGES {
            let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for lane in &s.lanes {
                let labels = [("lane", lane.name.as_str())];
                ConstGauge::new(value(lane)).encode(metric.encode_family(&labels)?)?;
            }
        }
        latencies(&mut encoder, s)?;
        for (name, help, unit, value) in run_gauges() {
            let metric = encoder.encode_descriptor(name, help, unit.as_ref(), MetricType::Gauge)?;
            ConstGauge::new(value(s)).encode(metric)?;
        }
        Ok(())
    }
}

/// Every counter of [`CounterValues`], per lane, since the run started (`pubduel_acked_total`).
fn counters(encoder: &mut DescriptorEncoder, s: &Snapshot) -> fmt::Result {
    let values: Vec<Vec<(&str, u64)>> = s.lanes.iter().map(|l| l.total.named()).collect();
    for (i, (name, doc)) in CounterValues::DESCRIBED.iter().enumerate() {
        let help = format!("{} Since the run started.", doc.trim());
        let mut metric = encoder.encode_descriptor(name, &help, None, MetricType::Counter)?;
        for (lane, values) in s.lanes.iter().zip(&values) {
            let labels = [("lane", lane.name.as_str())];
            ConstCounter::new(values[i].1).encode(metric.encode_family(&labels)?)?;
        }
    }
    Ok(())
}

/// The last interval's percentiles of each lane and stage that has samples in it, in seconds.
fn latencies(encoder: &mut DescriptorEncoder, s: &Snapshot) -> fmt::Result {
    let help = "Latency percentiles of the last interval (about a second) per lane and stage; \
                quantile 1 is the largest sample.";
    let unit = Unit::Seconds;
    let mut metric = encoder.encode_descriptor(LATENCY, help, Some(&unit), MetricType::Gauge)?;
    for lane in &s.lanes {
        for (stage, summary) in &lane.interval {
            for (quantile, value) in QUANTILES {
                let labels = [
                    ("lane", lane.name.as_str()),
                    ("stage", stage.as_str()),
                    ("quantile", quantile),
                ];
                let seconds = value(summary) as f64 / 1e6;
                ConstGauge::new(seconds).encode(metric.encode_family(&labels)?)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{CounterValues, LaneSnapshot};
    use crate::vocab::{Knobs, Stage};
    use std::time::Duration;

    fn lane(name: &str, acked: u64) -> LaneSnapshot {
        let ack = StageSummary {
            count: 500,
            p50_us: 800,
            p90_us: 1_500,
            p99_us: 2_500,
            p999_us: 4_000,
            max_us: 9_000,
            ..StageSummary::default()
        };
        LaneSnapshot {
            name: name.into(),
            knobs: Knobs {
                rate: 500,
                ..Knobs::default()
            },
            total: CounterValues {
                sent: acked + 3,
                acked,
                errors: 1,
                ..CounterValues::default()
            },
            in_flight: 3,
            interval: vec![(Stage::Ack, ack)],
            last_error: Some("nats://user:hunter2@broker:4222 refused".into()),
            unavailable: Some((1.5, "kafka://admin:hunter2@b:9092 is down".into())),
            ..LaneSnapshot::default()
        }
    }

    fn snapshot() -> Snapshot {
        Snapshot {
            elapsed: Duration::from_millis(4_500),
            phase: 2,
            lanes: vec![lane("kafka", 1_000), lane("nats", 2_000)],
            ..Snapshot::default()
        }
    }

    #[test]
    fn a_snapshot_is_counters_gauges_and_interval_percentiles_per_lane() {
        let text = encode(Some(Arc::new(snapshot())));
        let has = |line: &str| text.lines().any(|l| l == line);
        for line in [
            r#"pubduel_acked_total{lane="kafka"} 1000"#,
            r#"pubduel_acked_total{lane="nats"} 2000"#,
            r#"pubduel_sent_total{lane="nats"} 2003"#,
            r#"pubduel_errors_total{lane="nats"} 1"#,
            r#"pubduel_stalls_total{lane="kafka"} 0"#,
            r#"pubduel_queue_full_total{lane="kafka"} 0"#,
            r#"pubduel_in_flight{lane="kafka"} 3.0"#,
            r#"pubduel_knob_rate{lane="nats"} 500.0"#,
            r#"pubduel_broker_available{lane="nats"} 0.0"#,
            r#"pubduel_interval_latency_seconds{lane="nats",stage="ack",quantile="0.99"} 0.0025"#,
            r#"pubduel_interval_latency_seconds{lane="kafka",stage="ack",quantile="1"} 0.009"#,
            "pubduel_phase 2.0",
            "pubduel_elapsed_seconds 4.5",
            concat!(
                r#"pubduel_build_info{version=""#,
                env!("CARGO_PKG_VERSION"),
                r#""} 1"#
            ),
            "# TYPE pubduel_acked counter",
            "# UNIT pubduel_interval_latency_seconds seconds",
            "# EOF",
        ] {
            assert!(has(line), "no `{line}` in:\n{text}");
        }
        assert!(!text.contains("hunter2") && !text.contains("://"), "{text}");
        let samples = text.lines().filter(|l| !l.starts_with('#'));
        assert!(samples.clone().all(|l| l.starts_with("pubduel_")), "{text}");
        assert_eq!(
            samples.filter(|l| l.contains("stage=")).count(),
            2 * QUANTILES.len()
        );
    }

    #[test]
    fn before_a_run_only_the_version_is_shown() {
        let text = encode(None);
        let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(samples.len(), 1, "{text}");
        assert!(samples[0].starts_with("pubduel_build_info{"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
