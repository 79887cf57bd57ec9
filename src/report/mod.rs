//! TOML reports: data transfer objects apart from live state, built from closed phases, written
//! atomically, read back for comparison.

use crate::brokers::kafka::KafkaSettings;
use crate::brokers::nats::NatsSettings;
use crate::metrics::{outages_of, ClosedPhase, LanePhase, PhaseMode, StageSummary};
use crate::vocab::Finding;
use crate::vocab::{AckStrategy, Knobs};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The report format version; bumped on incompatible changes.
pub const SCHEMA: u32 = 1;

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
}

/// Broker settings as used.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Brokers {
    /// Kafka lane settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka: Option<KafkaSettings>,
    /// NATS lane settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nats: Option<NatsSettings>,
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
    /// Knobs every lane shared in this phase (a knob is absent when lanes differ).
    pub knobs: CommonKnobs,
    /// One entry per lane.
    pub lanes: Vec<LaneReport>,
}

/// Knobs shared by every lane of a phase.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CommonKnobs {
    /// Publisher tasks per lane.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
    /// Un-acked messages allowed per lane.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_pending: Option<u32>,
    /// Ack handling strategy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack: Option<AckStrategy>,
    /// Target msg/s per lane (0 = as fast as possible).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<u64>,
    /// Payload bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_size: Option<u32>,
    /// Batch size for the batch strategy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<u32>,
}

/// One lane within one phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaneReport {
    /// Lane name.
    pub name: String,
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
    /// End to end: messages the consumer received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received: Option<u64>,
    /// End to end: acked messages the consumer did not see.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<u64>,
    /// End to end: messages the consumer saw more than once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicates: Option<u64>,
    /// The lane's knobs in this phase.
    pub knobs: Knobs,
    /// Latency per stage (`submit`, `ack`, `e2e`, `lag`, `*_raw`), microseconds.
    pub stages: BTreeMap<String, StageSummary>,
    /// What the numbers mean.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
}

/// What a report needs to know about the run besides its phases.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// Wall-clock start.
    pub started_at: SystemTime,
    /// Profile name.
    pub profile: String,
    /// Profile file.
    pub profile_path: Option<PathBuf>,
    /// Warm-up per phase, seconds.
    pub warmup_s: f64,
    /// End-to-end consumers ran.
    pub e2e: bool,
    /// Kafka settings, if the lane ran.
    pub kafka: Option<KafkaSettings>,
    /// NATS settings, if the lane ran.
    pub nats: Option<NatsSettings>,
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

impl Report {
    /// Builds a report from the phases of a run.
    pub fn build(run: &RunInfo, phases: &[ClosedPhase]) -> Report {
        let duration_s = phases.last().map_or(0.0, |p| p.start_s + p.duration_s);
        let lanes = phases
            .first()
            .map(|p| p.lanes.iter().map(|l| l.name.clone()).collect())
            .unwrap_or_default();
        Report {
            schema: SCHEMA,
            meta: Meta {
                tool: "pubduel".into(),
                version: env!("CARGO_PKG_VERSION").into(),
                started_at: humantime::format_rfc3339_seconds(run.started_at).to_string(),
                profile: run.profile.clone(),
                profile_path: run.profile_path.as_ref().map(|p| p.display().to_string()),
                host: gethostname::gethostname().to_string_lossy().into_owned(),
                duration_s: round3(duration_s),
                warmup_s: round3(run.warmup_s),
                e2e: run.e2e,
                lanes,
            },
            brokers: Brokers {
                kafka: run.kafka.as_ref().map(KafkaSettings::redacted),
                nats: run.nats.as_ref().map(NatsSettings::redacted),
            },
            phases: phases.iter().map(|p| phase_report(run, p)).collect(),
            outages: outages_of(phases)
                .into_iter()
                .map(|o| OutageReport {
                    lane: lanes_named(phases, o.lane),
                    start_s: round3(o.start_s),
                    duration_s: round3(o.duration_s),
                    ongoing: o.ongoing,
                    reason: o.reason,
                })
                .collect(),
        }
    }

    /// Writes the report atomically (temporary file, then rename), creating the folder.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let text = toml::to_string(self).map_err(std::io::Error::other)?;
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "report".into());
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(b"# pubduel report; format described in README.md (Report format)\n")?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    }

    /// Reads a report file.
    pub fn load(path: &Path) -> Result<Report, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

fn lanes_named(phases: &[ClosedPhase], lane: usize) -> String {
    phases
        .first()
        .and_then(|p| p.lanes.get(lane))
        .map_or_else(|| format!("lane {lane}"), |l| l.name.clone())
}

fn phase_report(run: &RunInfo, p: &ClosedPhase) -> PhaseReport {
    let modes: Vec<PhaseMode> = p.lanes.iter().map(|l| l.mode).collect();
    let mode = match modes.first() {
        Some(m) if modes.iter().all(|x| x == m) => m.as_str().to_string(),
        Some(_) => "mixed".to_string(),
        None => "closed".to_string(),
    };
    PhaseReport {
        index: p.index,
        start_s: round3(p.start_s),
        duration_s: round3(p.duration_s),
        warmup_s: round3(p.warmup_s),
        mode,
        paused: p.paused,
        knobs: common_knobs(&p.lanes),
        lanes: p.lanes.iter().map(|l| lane_report(l, run.e2e)).collect(),
    }
}

fn common_knobs(lanes: &[LanePhase]) -> CommonKnobs {
    fn same<T: PartialEq + Copy>(lanes: &[LanePhase], f: impl Fn(&Knobs) -> T) -> Option<T> {
        let first = f(&lanes.first()?.knobs);
        lanes.iter().all(|l| f(&l.knobs) == first).then_some(first)
    }
    CommonKnobs {
        concurrency: same(lanes, |k| k.concurrency),
        max_pending: same(lanes, |k| k.max_pending),
        ack: same(lanes, |k| k.ack),
        rate: same(lanes, |k| k.rate),
        message_size: same(lanes, |k| k.message_size),
        batch: same(lanes, |k| k.batch),
    }
}

fn lane_report(l: &LanePhase, e2e: bool) -> LaneReport {
    let c = &l.counts;
    LaneReport {
        name: l.name.clone(),
        mode: l.mode.as_str().into(),
        sent: c.sent,
        acked: c.acked,
        errors: c.errors,
        stalls: c.stalls,
        queue_full: c.queue_full,
        in_flight_end: l.in_flight_end,
        throughput: round1(l.throughput),
        sent_rate: round1(l.sent_rate),
        warmup_only: l.warmup_only,
        received: e2e.then_some(c.received),
        missing: e2e.then_some(c.acked.saturating_sub(c.received)),
        duplicates: e2e.then_some(c.duplicates),
        knobs: l.knobs,
        stages: l
            .reported()
            .summaries()
            .into_iter()
            .map(|(s, v)| (s.as_str().to_string(), v))
            .collect(),
        findings: l.findings.clone(),
    }
}

/// The path of a report of the run so far, taken at `at`: `<dir>/pubduel-<UTC timestamp>.toml`.
pub fn report_path_now(dir: &Path, at: SystemTime) -> PathBuf {
    let stamp = humantime::format_rfc3339_seconds(at)
        .to_string()
        .replace([':', '-'], "");
    dir.join(format!("pubduel-{}.toml", stamp.trim_end_matches('Z')))
}
