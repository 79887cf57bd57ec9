//! TOML reports: data transfer objects apart from live state, built from phase results, written
//! atomically, read back for comparison.

mod types;

pub use types::*;

use crate::brokers::kafka::KafkaSettings;
use crate::brokers::nats::NatsSettings;
use crate::metrics::{outages_of, LaneResult, PhaseMode, PhaseResult, StageSummary};
use crate::vocab::{Finding, Knobs};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The report format version; bumped on incompatible changes.
pub const SCHEMA: u32 = 1;

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
    pub fn build(run: &RunInfo, phases: &[PhaseResult]) -> Report {
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

fn lanes_named(phases: &[PhaseResult], lane: usize) -> String {
    phases
        .first()
        .and_then(|p| p.lanes.get(lane))
        .map_or_else(|| format!("lane {lane}"), |l| l.name.clone())
}

fn phase_report(run: &RunInfo, p: &PhaseResult) -> PhaseReport {
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
        note: p.note.clone(),
        knobs: ReportKnobs::common(&p.lanes),
        lanes: p.lanes.iter().map(|l| lane_report(l, run.e2e)).collect(),
    }
}

impl ReportKnobs {
    /// Every knob of `k`.
    pub fn of(k: &Knobs) -> ReportKnobs {
        ReportKnobs {
            concurrency: Some(k.concurrency),
            max_pending: Some(k.max_pending),
            ack: Some(k.ack.to_string()),
            rate: Some(k.rate),
            message_size: Some(k.message_size),
            batch: Some(k.batch),
        }
    }

    /// The knobs every lane shares; a knob the lanes differ in is left out.
    fn common(lanes: &[LaneResult]) -> ReportKnobs {
        let mut all = lanes.iter().map(|l| ReportKnobs::of(&l.knobs));
        let Some(mut common) = all.next() else {
            return ReportKnobs::default();
        };
        fn keep<T: PartialEq>(mine: &mut Option<T>, theirs: Option<T>) {
            if *mine != theirs {
                *mine = None;
            }
        }
        for k in all {
            keep(&mut common.concurrency, k.concurrency);
            keep(&mut common.max_pending, k.max_pending);
            keep(&mut common.ack, k.ack);
            keep(&mut common.rate, k.rate);
            keep(&mut common.message_size, k.message_size);
            keep(&mut common.batch, k.batch);
        }
        common
    }
}

impl From<&StageSummary> for StageReport {
    fn from(s: &StageSummary) -> StageReport {
        StageReport {
            count: s.count,
            mean_us: s.mean_us,
            p50_us: s.p50_us,
            p90_us: s.p90_us,
            p99_us: s.p99_us,
            p999_us: s.p999_us,
            max_us: s.max_us,
        }
    }
}

impl From<&Finding> for FindingReport {
    fn from(f: &Finding) -> FindingReport {
        FindingReport {
            kind: f.kind.to_string(),
            message: f.message.clone(),
        }
    }
}

fn lane_report(l: &LaneResult, e2e: bool) -> LaneReport {
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
        knobs: ReportKnobs::of(&l.knobs),
        stages: l
            .reported()
            .summaries()
            .into_iter()
            .map(|(s, v)| (s.as_str().to_string(), StageReport::from(&v)))
            .collect(),
        findings: l.findings.iter().map(FindingReport::from).collect(),
    }
}

/// The path of a report of the run so far, taken at `at`: `<dir>/pubduel-<UTC timestamp>.toml`.
pub fn report_path_now(dir: &Path, at: SystemTime) -> PathBuf {
    let stamp = humantime::format_rfc3339_seconds(at)
        .to_string()
        .replace([':', '-'], "");
    dir.join(format!("pubduel-{}.toml", stamp.trim_end_matches('Z')))
}

#[cfg(test)]
mod tests;
