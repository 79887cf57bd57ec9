//! TOML reports: data transfer objects apart from live state, built from phase results, written
//! atomically, read back for comparison.

pub mod compare;
mod export;
pub mod histogram;
mod merge;
pub mod openmetrics;
pub mod summary;
pub mod threshold;
mod totals;
mod types;

pub use export::{ExportError, ExportPaths, ExportSender, Exporter};
pub use merge::{merge, MergeError};
pub use totals::LaneTotals;

pub use types::*;

use crate::brokers::kafka::KafkaSettings;
use crate::brokers::nats::NatsSettings;
use crate::metrics::{
    outages_of, HistogramError, LaneResult, PhaseResult, Quantiles, SeriesPoint, StageSummary,
};
use crate::vocab::{Finding, Knobs, LaneKind};
use crate::vocab::{PhaseMode, Stage};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The report format version; bumped on incompatible changes. Version 2 added the histograms
/// and the per-second series; version 1 reports still read.
pub const SCHEMA: u32 = 2;

/// Report format versions this build reads.
pub const READABLE_SCHEMAS: [u32; 2] = [1, 2];

/// A report file that cannot be used: it names the file and, where it can, the key.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ReportError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong, naming the key.
    pub message: String,
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
    /// The planned length of the run, if it had one.
    pub planned: Option<std::time::Duration>,
    /// The `[kafka]` settings, if a Kafka lane ran.
    pub kafka: Option<KafkaSettings>,
    /// The `[nats]` settings, if a NATS lane ran.
    pub nats: Option<NatsSettings>,
    /// Every lane by name: its kind, and for a named lane the settings it changes.
    pub lanes: Vec<LaneInfo>,
    /// Client and server versions, as the report's `[meta.versions]` holds them.
    pub versions: BTreeMap<String, String>,
}

/// A lane as the report records it besides its figures.
#[derive(Debug, Clone, PartialEq)]
pub struct LaneInfo {
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: LaneKind,
    /// The broker settings in which it differs from its kind's section (redacted).
    pub differs: BTreeMap<String, toml::Value>,
}

impl RunInfo {
    /// The kind of lane `name`, as the report writes it.
    fn kind_of(&self, name: &str) -> Option<String> {
        (self.lanes.iter())
            .find(|l| l.name == name)
            .map(|l| l.kind.as_str().to_string())
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

impl Report {
    /// Builds a report from the phases of a run; fails only when a histogram cannot be encoded.
    pub fn build(run: &RunInfo, phases: &[PhaseResult]) -> Result<Report, HistogramError> {
        let duration_s = phases.last().map_or(0.0, |p| p.start_s + p.duration_s);
        let lanes = phases
            .first()
            .map(|p| p.lanes.iter().map(|l| l.name.clone()).collect())
            .unwrap_or_default();
        Ok(Report {
            schema: SCHEMA,
            degraded: false,
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
                interrupted: false,
                planned_duration_s: run.planned.map(|d| round3(d.as_secs_f64())),
                versions: run.versions.clone(),
            },
            brokers: Brokers {
                kafka: run.kafka.as_ref().map(KafkaSettings::redacted),
                nats: run.nats.as_ref().map(NatsSettings::redacted),
                lanes: (run.lanes.iter())
                    .filter(|l| !crate::brokers::is_default_lane(&l.name))
                    .map(|l| {
                        let settings = LaneSettingsReport {
                            kind: l.kind.as_str().to_string(),
                            differs: l.differs.clone(),
                        };
                        (l.name.clone(), settings)
                    })
                    .collect(),
            },
            phases: phases
                .iter()
                .map(|p| phase_report(p, run))
                .collect::<Result<_, _>>()?,
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
            assertions: Vec::new(),
            capacity: Vec::new(),
            agents: Vec::new(),
        })
    }

    /// Appends a run that followed this one: its phases renumbered after these and its times
    /// shifted by this run's length, its lanes and outages added, and its agents' counts added
    /// to theirs (an agent lost in either is lost).
    pub fn append(&mut self, next: Report) {
        let (offset, first) = (self.meta.duration_s, self.phases.len() as u32);
        for lane in next.meta.lanes {
            if !self.meta.lanes.contains(&lane) {
                self.meta.lanes.push(lane);
            }
        }
        self.phases.extend(next.phases.into_iter().map(|mut p| {
            p.index += first;
            p.start_s = round3(p.start_s + offset);
            p.end_s = round3(p.end_s + offset);
            for series in p.lanes.iter_mut().filter_map(|l| l.series.as_mut()) {
                series.t_s.iter_mut().for_each(|t| *t = round3(*t + offset));
            }
            p
        }));
        self.outages.extend(next.outages.into_iter().map(|mut o| {
            o.start_s = round3(o.start_s + offset);
            o
        }));
        self.brokers.kafka = self.brokers.kafka.take().or(next.brokers.kafka);
        self.brokers.nats = self.brokers.nats.take().or(next.brokers.nats);
        self.brokers.lanes.extend(next.brokers.lanes);
        self.meta.duration_s = round3(offset + next.meta.duration_s);
        self.meta.interrupted |= next.meta.interrupted;
        for (k, v) in next.meta.versions {
            self.meta.versions.entry(k).or_insert(v);
        }
        self.capacity.extend(next.capacity);
        self.degraded |= next.degraded;
        for a in next.agents {
            let lost_at_s = a.lost_at_s.map(|t| round3(t + offset));
            match self.agents.iter_mut().find(|x| x.name == a.name) {
                Some(x) => {
                    x.acked += a.acked;
                    if a.status == "lost" && x.status != "lost" {
                        x.status = a.status;
                        x.lost_at_s = lost_at_s;
                    }
                }
                None => self.agents.push(AgentReport { lost_at_s, ..a }),
            }
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
        f.write_all(b"# pubduel report; format described in docs/report-format.md\n")?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    }

    /// Reads a report file of any readable schema and checks that its histograms decode.
    pub fn load(path: &Path) -> Result<Report, ReportError> {
        let fail = |message: String| ReportError {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        let raw: toml::Table = toml::from_str(&text).map_err(|e| fail(format!("not TOML: {e}")))?;
        match raw.get("schema").and_then(toml::Value::as_integer) {
            Some(v) if READABLE_SCHEMAS.iter().any(|s| i64::from(*s) == v) => {}
            Some(v) => {
                return Err(fail(format!(
                    "key `schema`: report schema {v} is not one this pubduel reads ({READABLE_SCHEMAS:?}); \
                     a newer pubduel wrote it?"
                )))
            }
            None => return Err(fail("key `schema` is missing: not a pubduel report".into())),
        }
        let mut report: Report = toml::from_str(&text).map_err(|e| fail(e.to_string()))?;
        report.check_histograms(path)?;
        for p in report.phases.iter_mut().filter(|p| p.end_s == 0.0) {
            p.end_s = round3(p.start_s + p.duration_s);
        }
        Ok(report)
    }

    /// Decodes every histogram once, naming the first that does not decode or does not match
    /// its own count.
    fn check_histograms(&self, path: &Path) -> Result<(), ReportError> {
        let fail = |message: String| ReportError {
            path: path.to_path_buf(),
            message,
        };
        for (p, phase) in self.phases.iter().enumerate() {
            for (l, lane) in phase.lanes.iter().enumerate() {
                for (name, stage) in &lane.stages {
                    let key = format!("phases[{p}].lanes[{l}].stages.{name}.histogram");
                    match stage.decode() {
                        Ok(Some(h)) if h.len() != stage.count => {
                            return Err(fail(format!(
                                "key `{key}` holds {} samples, but `count` says {}",
                                h.len(),
                                stage.count
                            )))
                        }
                        Err(e) => return Err(fail(format!("key `{key}`: {e}"))),
                        _ => {}
                    }
                }
            }
        }
        Ok(())
    }
}

impl StageReport {
    /// Count, mean, percentiles and the encoded histogram of `h`.
    pub fn of(h: &hdrhistogram::Histogram<u64>) -> Result<StageReport, HistogramError> {
        Ok(StageReport::from_parts(
            &StageSummary::of(h),
            &crate::metrics::encode_v2(h)?,
        ))
    }

    /// A stage from its summary and its histogram's V2 form.
    pub fn from_parts(s: &StageSummary, v2: &[u8]) -> StageReport {
        StageReport {
            count: s.count,
            mean_us: s.mean_us,
            p50_us: s.p50_us,
            p90_us: s.p90_us,
            p99_us: s.p99_us,
            p999_us: s.p999_us,
            max_us: s.max_us,
            histogram: Some(histogram::base64_of(v2)),
        }
    }

    /// Count, mean and percentiles as a summary.
    pub fn summary(&self) -> StageSummary {
        StageSummary {
            count: self.count,
            mean_us: self.mean_us,
            p50_us: self.p50_us,
            p90_us: self.p90_us,
            p99_us: self.p99_us,
            p999_us: self.p999_us,
            max_us: self.max_us,
            ..StageSummary::default()
        }
    }

    /// The stage's histogram, if the report kept it (schema 2).
    pub fn decode(&self) -> Result<Option<hdrhistogram::Histogram<u64>>, HistogramError> {
        self.histogram.as_deref().map(histogram::decode).transpose()
    }
}

fn lanes_named(phases: &[PhaseResult], lane: usize) -> String {
    phases
        .first()
        .and_then(|p| p.lanes.get(lane))
        .map_or_else(|| format!("lane {lane}"), |l| l.name.clone())
}

fn phase_report(p: &PhaseResult, run: &RunInfo) -> Result<PhaseReport, HistogramError> {
    let modes: Vec<PhaseMode> = p.lanes.iter().map(|l| l.mode).collect();
    let mode = match modes.first() {
        Some(m) if modes.iter().all(|x| x == m) => m.as_str().to_string(),
        Some(_) => "mixed".to_string(),
        None => "closed".to_string(),
    };
    Ok(PhaseReport {
        index: p.index,
        start_s: round3(p.start_s),
        duration_s: round3(p.duration_s),
        end_s: round3(p.start_s + p.duration_s),
        warmup_s: round3(p.warmup_s),
        mode,
        paused: p.paused,
        note: p.note.clone(),
        knobs: ReportKnobs::common(&p.lanes),
        lanes: (p.lanes.iter())
            .map(|l| lane_report(l, run.kind_of(&l.name)))
            .collect::<Result<_, _>>()?,
    })
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
            headers: (k.headers > 0).then_some(k.headers),
            header_size: (k.headers > 0).then_some(k.header_size),
            keys: k.keys,
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
            keep(&mut common.headers, k.headers);
            keep(&mut common.header_size, k.header_size);
            keep(&mut common.keys, k.keys);
        }
        common
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

fn lane_report(l: &LaneResult, kind: Option<String>) -> Result<LaneReport, HistogramError> {
    let c = &l.counts;
    let set = l.reported();
    let mut stages = std::collections::BTreeMap::new();
    for s in Stage::ALL {
        if let (Some(summary), Some(v2)) = (set.summary(s), set.encoded(s)?) {
            let report = StageReport::from_parts(&summary, &v2);
            stages.insert(s.as_str().to_string(), report);
        }
    }
    Ok(LaneReport {
        name: l.name.clone(),
        kind,
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
        received: l.e2e.map(|x| x.received),
        missing: l.e2e.map(|x| x.missing()),
        late: l.e2e.map(|x| x.late),
        duplicates: l.e2e.map(|_| c.duplicates),
        knobs: ReportKnobs::of(&l.knobs),
        stages: stages.into_iter().collect(),
        findings: l.findings.iter().map(FindingReport::from).collect(),
        series: (!l.series.is_empty()).then(|| series_report(&l.series)),
    })
}

fn series_report(points: &[SeriesPoint]) -> SeriesReport {
    SeriesReport {
        t_s: points.iter().map(|p| round3(p.t_s)).collect(),
        sent_per_s: points.iter().map(|p| round1(p.sent_per_s)).collect(),
        acked_per_s: points.iter().map(|p| round1(p.acked_per_s)).collect(),
        submit_p99_us: points.iter().map(|p| p.submit_p99_us).collect(),
        ack_p99_us: points.iter().map(|p| p.ack_p99_us).collect(),
        in_flight: points.iter().map(|p| p.in_flight).collect(),
        stages: (Stage::ALL.into_iter())
            .filter(|s| points.iter().any(|p| p.quantiles(*s).max_us > 0))
            .map(|s| (s.as_str().to_string(), series_stage(points, s)))
            .collect(),
    }
}

/// The quantiles of `stage` in each of `points`.
fn series_stage(points: &[SeriesPoint], stage: Stage) -> SeriesStageReport {
    let column = |f: fn(&Quantiles) -> u32| -> Vec<u64> {
        (points.iter())
            .map(|p| u64::from(f(&p.quantiles(stage))))
            .collect()
    };
    SeriesStageReport {
        p50_us: column(|q| q.p50_us),
        p90_us: column(|q| q.p90_us),
        p99_us: column(|q| q.p99_us),
        p999_us: column(|q| q.p999_us),
        max_us: column(|q| q.max_us),
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
mod testdata;
#[cfg(test)]
mod tests;
