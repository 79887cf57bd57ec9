//! The report's own types: built from live ones, never the live ones themselves, so a change to
//! the engine or the metrics cannot silently change the file format ([`super::SCHEMA`]).

use crate::brokers::kafka::KafkaSettings;
use crate::brokers::nats::NatsSettings;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A whole report: a run so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Format version ([`SCHEMA`]).
    pub schema: u32,
    /// Who, when, where.
    pub meta: Meta,
    /// Broker settings of the lanes that ran (credentials left out).
    pub brokers: Brokers,
    /// One entry per phase, in order.
    pub phases: Vec<PhaseReport>,
    /// Stretches of time a lane's broker could not be reached.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outages: Vec<OutageReport>,
    /// Thresholds checked on the run (`--assert`, a profile's `[[assert]]`), one per lane each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assertions: Vec<AssertionReport>,
    /// What `pubduel capacity` found, one entry per lane.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity: Vec<CapacityReport>,
}

/// The highest open-loop rate at which one lane met an SLO.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityReport {
    /// Lane name.
    pub lane: String,
    /// The SLO, e.g. `ack.p99 < 10ms`.
    pub slo: String,
    /// The highest rate (msg/s) that met it; 0 when none did.
    pub max_rate: u64,
    /// The lowest rate that did not, if one was tried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broke_at: Option<u64>,
    /// Why it broke there (the SLO, the schedule, errors), or why the search stopped.
    pub reason: String,
    /// Rates measured, each a phase of this report.
    pub steps: u32,
}

/// One threshold checked on one lane of the whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssertionReport {
    /// The threshold as written, e.g. `nats.ack.p99 < 5ms`.
    pub expr: String,
    /// The lane it was checked on.
    pub lane: String,
    /// The measured value, in `unit` (`us` for latencies); absent when the lane had no samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// Unit of `value`: `us`, `msg/s` or `messages`.
    pub unit: String,
    /// Whether the threshold held.
    pub passed: bool,
}

/// One outage of one lane's broker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutageReport {
    /// Lane name.
    pub lane: String,
    /// Start, seconds since the run started.
    pub start_s: f64,
    /// Length, seconds (until the end of the run when it was still going on).
    pub duration_s: f64,
    /// The broker was still away when the run ended.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ongoing: bool,
    /// What the client said when it lost the broker.
    pub reason: String,
}

/// Run metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// Always `pubduel`.
    pub tool: String,
    /// pubduel version.
    pub version: String,
    /// Run start, RFC 3339 (UTC).
    pub started_at: String,
    /// Profile name.
    pub profile: String,
    /// Profile file, when one was used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_path: Option<String>,
    /// Host name of the machine that ran pubduel.
    pub host: String,
    /// Length of the run so far, seconds.
    pub duration_s: f64,
    /// Warm-up left out of each phase's percentiles, seconds.
    pub warmup_s: f64,
    /// Whether end-to-end consumers ran.
    pub e2e: bool,
    /// Lanes, in order.
    pub lanes: Vec<String>,
    /// The run was cut short (Ctrl-C, SIGTERM, quit) before its planned duration.
    #[serde(default)]
    pub interrupted: bool,
    /// The planned length, seconds, when the run had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_duration_s: Option<f64>,
    /// What was measured with: client libraries and servers, e.g. `librdkafka = "2.12.1"`,
    /// `nats-server = "2.12.3"` (with the lane's name when lanes of a kind differ).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub versions: BTreeMap<String, String>,
}

/// Broker settings as used.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Brokers {
    /// The `[kafka]` settings every Kafka lane started from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka: Option<KafkaSettings>,
    /// The `[nats]` settings every NATS lane started from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nats: Option<NatsSettings>,
    /// Each named lane (other than `kafka` and `nats`): its kind and the settings in which it
    /// differs from its kind's section.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub lanes: BTreeMap<String, LaneSettingsReport>,
}

/// A named lane's kind and the broker settings in which it differs from its kind's section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LaneSettingsReport {
    /// `kafka` or `nats`.
    pub kind: String,
    /// The settings that differ, with this lane's values (nothing that may carry a secret).
    #[serde(flatten)]
    pub differs: BTreeMap<String, toml::Value>,
}

/// One phase: a stretch of time with constant knobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseReport {
    /// 0-based phase number.
    pub index: u32,
    /// Start, seconds since the run started.
    pub start_s: f64,
    /// Length, seconds.
    pub duration_s: f64,
    /// Warm-up at the start of the phase left out of its percentiles, seconds.
    pub warmup_s: f64,
    /// `open` (paced from a schedule), `closed` (as fast as possible) or `mixed`.
    pub mode: String,
    /// Whether publishing was paused.
    pub paused: bool,
    /// The caption of the scripted step that opened the phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Knobs every lane shared in this phase (a knob is absent when lanes differ).
    pub knobs: ReportKnobs,
    /// One entry per lane.
    pub lanes: Vec<LaneReport>,
}

/// Knobs as a report shows them: every knob for a lane; for a phase, those all lanes shared.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportKnobs {
    /// Publisher tasks per lane.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
    /// Un-acked messages allowed per lane.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_pending: Option<u32>,
    /// Ack handling strategy (`sync`, `async`, `task-per-message`, `batch`, `none`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack: Option<String>,
    /// Target msg/s per lane (0 = as fast as possible).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<u64>,
    /// Payload bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_size: Option<u32>,
    /// Batch size for the batch strategy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<u32>,
    /// Headers per message, when there were any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<u32>,
    /// Bytes of each header's value, when there were headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_size: Option<u32>,
    /// Distinct keys, when the knob was set (0: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<u32>,
}

/// Latency of one stage, in microseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StageReport {
    /// Samples.
    pub count: u64,
    /// Mean.
    pub mean_us: f64,
    /// Median.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Largest sample.
    pub max_us: u64,
    /// Every sample: the HdrHistogram V2 compressed encoding, base64 (schema 2; absent in 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histogram: Option<String>,
}

/// A finding as the report keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingReport {
    /// Stable name, e.g. `max-pending-stall`.
    pub kind: String,
    /// What happened and what to change.
    pub message: String,
}

/// One lane within one phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaneReport {
    /// Lane name.
    pub name: String,
    /// `kafka` or `nats` (absent in reports written before named lanes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `open` or `closed`.
    pub mode: String,
    /// Messages handed to the client.
    pub sent: u64,
    /// Messages the broker acknowledged.
    pub acked: u64,
    /// Failed submits and acks.
    pub errors: u64,
    /// Submits that waited for a max-pending permit.
    pub stalls: u64,
    /// Submits the client's own queue refused (retried) or held back.
    pub queue_full: u64,
    /// Messages still un-acked when the phase ended.
    pub in_flight_end: u64,
    /// Acked msg/s over the measured part of the phase.
    pub throughput: f64,
    /// Sent msg/s over the same span.
    pub sent_rate: f64,
    /// True when the phase ended within its warm-up: percentiles then include the warm-up.
    pub warmup_only: bool,
    /// End to end: of the messages this phase published, those the consumer saw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received: Option<u64>,
    /// End to end: of those acked, the ones the consumer never saw (after the end-of-run grace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<u64>,
    /// End to end: of those seen, the ones seen only after publishing had stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late: Option<u64>,
    /// End to end: messages the consumer saw more than once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicates: Option<u64>,
    /// The lane's knobs in this phase.
    pub knobs: ReportKnobs,
    /// Latency per stage (`submit`, `ack`, `e2e`, `lag`, `*_raw`), microseconds.
    pub stages: BTreeMap<String, StageReport>,
    /// What the numbers mean.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<FindingReport>,
    /// One point per second of the phase (schema 2), the data behind the sparklines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<SeriesReport>,
}

/// A lane's per-second points within a phase, as columns of equal length.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SeriesReport {
    /// Run time at the end of each second.
    pub t_s: Vec<f64>,
    /// Messages sent per second.
    pub sent_per_s: Vec<f64>,
    /// Messages acked per second.
    pub acked_per_s: Vec<f64>,
    /// Submit p99 of each second, microseconds (0 when none).
    pub submit_p99_us: Vec<u64>,
    /// Ack p99 of each second, microseconds (0 when none).
    pub ack_p99_us: Vec<u64>,
    /// Messages in flight at the end of each second.
    pub in_flight: Vec<u64>,
}
