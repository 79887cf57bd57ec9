//! What a run streams to files while it runs, one interval (about a second) at a time:
//! - `--hlog`: the standard HdrHistogram interval log, one tagged histogram per lane and stage
//!   (`nats.ack`), readable by HistogramLogAnalyzer and any HdrHistogram log reader;
//! - `--series`: a CSV of the per-second figures behind the sparklines.
//!
//! Files are opened before the run starts (a bad path is refused up front) and written on a
//! thread of their own, never on the engine's.

use crate::metrics::IntervalRecord;
use crate::vocab::Stage;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use hdrhistogram::serialization::V2DeflateSerializer;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

/// Where a run streams its intervals.
#[derive(Debug, Clone, Default)]
pub struct ExportPaths {
    /// HdrHistogram interval log.
    pub hlog: Option<PathBuf>,
    /// Per-second series, CSV.
    pub series: Option<PathBuf>,
}

impl ExportPaths {
    /// Whether anything is to be written.
    pub fn any(&self) -> bool {
        self.hlog.is_some() || self.series.is_some()
    }
}

/// The columns of the series file.
const SERIES_HEADER: &str = "t_s,lane,phase,interval_s,sent,acked,errors,in_flight,\
submit_p50_us,submit_p99_us,ack_p50_us,ack_p99_us,e2e_p50_us,e2e_p99_us";

/// The interval log or the series file cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A file (or its folder) cannot be created or written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The interval log writer refused a histogram.
    #[error("cannot write the interval log {path}: {message}")]
    Log {
        /// The interval log.
        path: PathBuf,
        /// What the writer said.
        message: String,
    },
    /// The writer thread could not start, or stopped without finishing.
    #[error("the export writer stopped: {0}")]
    Writer(String),
}

/// An I/O error on `path` (or on nothing named, for a file that was not asked for).
fn io_error(path: &Option<PathBuf>) -> impl FnOnce(std::io::Error) -> ExportError + '_ {
    move |source| ExportError::Io {
        path: path.clone().unwrap_or_default(),
        source,
    }
}

/// A running export: hand it intervals, then finish it.
pub struct Exporter {
    tx: mpsc::Sender<Vec<IntervalRecord>>,
    thread: JoinHandle<Result<(), ExportError>>,
}

/// Queues intervals for an [`Exporter`]; cheap to clone.
#[derive(Clone)]
pub struct ExportSender(mpsc::Sender<Vec<IntervalRecord>>);

impl ExportSender {
    /// Queues closed intervals for writing.
    pub fn send(&self, records: Vec<IntervalRecord>) {
        if !records.is_empty() {
            let _ = self.0.send(records);
        }
    }
}

/// Creates `path` for writing (and its folder), naming it on failure.
fn create(path: &Path) -> Result<BufWriter<File>, ExportError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io_error(&Some(dir.to_path_buf())))?;
    }
    File::create(path)
        .map(BufWriter::new)
        .map_err(io_error(&Some(path.to_path_buf())))
}

impl Exporter {
    /// Opens the files and starts the writer; `lanes` names lane positions, `started_at` is the
    /// run's start (the log's StartTime).
    pub fn start(
        paths: &ExportPaths,
        lanes: Vec<String>,
        started_at: SystemTime,
    ) -> Result<Exporter, ExportError> {
        let hlog = paths.hlog.as_deref().map(create).transpose()?;
        let series = paths.series.as_deref().map(create).transpose()?;
        let names = paths.clone();
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("pubduel-export".into())
            .spawn(move || write_all(rx, hlog, series, &lanes, started_at, &names))
            .map_err(|e| ExportError::Writer(format!("cannot start it: {e}")))?;
        Ok(Exporter { tx, thread })
    }

    /// Queues closed intervals for writing.
    pub fn send(&self, records: Vec<IntervalRecord>) {
        self.sender().send(records);
    }

    /// A handle that queues intervals from another task.
    pub fn sender(&self) -> ExportSender {
        ExportSender(self.tx.clone())
    }

    /// Writes what is queued, flushes and closes the files.
    pub fn finish(self) -> Result<(), ExportError> {
        drop(self.tx);
        self.thread
            .join()
            .map_err(|_| ExportError::Writer("it panicked".into()))?
    }
}

fn write_all(
    rx: mpsc::Receiver<Vec<IntervalRecord>>,
    mut hlog: Option<BufWriter<File>>,
    mut series: Option<BufWriter<File>>,
    lanes: &[String],
    started_at: SystemTime,
    paths: &ExportPaths,
) -> Result<(), ExportError> {
    if let Some(f) = series.as_mut() {
        writeln!(f, "{SERIES_HEADER}").map_err(io_error(&paths.series))?;
    }
    let mut serializer = V2DeflateSerializer::new();
    let mut log = match hlog.as_mut() {
        Some(f) => {
            hlog_header(f, started_at).map_err(io_error(&paths.hlog))?;
            let log = IntervalLogWriterBuilder::new()
                .begin_log_with(f, &mut serializer)
                .map_err(io_error(&paths.hlog))?;
            Some(log)
        }
        None => None,
    };
    for batch in rx {
        for r in &batch {
            let lane = lanes.get(r.lane).map_or("lane", String::as_str);
            if let Some(log) = log.as_mut() {
                for stage in Stage::ALL {
                    let Some(h) = r.stages.histogram(stage) else {
                        continue;
                    };
                    let tag = format!("{lane}.{}", stage.as_str());
                    let start = Duration::from_secs_f64(r.start_s);
                    let len = Duration::from_secs_f64((r.end_s - r.start_s).max(0.0));
                    log.write_histogram(h, start, len, Tag::new(&tag))
                        .map_err(|e| ExportError::Log {
                            path: paths.hlog.clone().unwrap_or_default(),
                            message: format!("{e:?}"),
                        })?;
                }
            }
            if let Some(f) = series.as_mut() {
                writeln!(f, "{}", series_line(r, lane)).map_err(io_error(&paths.series))?;
            }
        }
        // A second at a time reaches the file, so a reader (a notebook, `tail -f`) keeps up.
        if let Some(f) = series.as_mut() {
            f.flush().map_err(io_error(&paths.series))?;
        }
    }
    drop(log);
    for (f, p) in [(hlog, &paths.hlog), (series, &paths.series)] {
        if let Some(mut f) = f {
            f.flush().map_err(io_error(p))?;
        }
    }
    Ok(())
}

/// The header HdrHistogram's own writers put first: format version, start and base time
/// (timestamps below are seconds since the start), the unit, and the column legend.
fn hlog_header(f: &mut impl Write, started_at: SystemTime) -> std::io::Result<()> {
    let start = started_at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    writeln!(f, "#[Logged with pubduel {}]", env!("CARGO_PKG_VERSION"))?;
    writeln!(f, "#[Histogram log format version 1.3]")?;
    writeln!(f, "#[Values in microseconds; tags are <lane>.<stage>]")?;
    writeln!(f, "#[StartTime: {start:.3} (seconds since epoch)]")?;
    writeln!(f, "#[BaseTime: {start:.3} (seconds since epoch)]")?;
    writeln!(
        f,
        "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\""
    )
}

fn series_line(r: &IntervalRecord, lane: &str) -> String {
    let q = |s: Stage, q: f64| {
        r.stages
            .histogram(s)
            .map_or(String::new(), |h| h.value_at_quantile(q).to_string())
    };
    let c = &r.counts;
    format!(
        "{:.3},{lane},{},{:.3},{},{},{},{},{},{},{},{},{},{}",
        r.end_s,
        r.phase,
        r.end_s - r.start_s,
        c.sent,
        c.acked,
        c.errors,
        r.in_flight,
        q(Stage::Submit, 0.5),
        q(Stage::Submit, 0.99),
        q(Stage::Ack, 0.5),
        q(Stage::Ack, 0.99),
        q(Stage::E2e, 0.5),
        q(Stage::E2e, 0.99),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{CounterValues, StageSet};
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};

    fn record(lane: usize, start_s: f64, n: u64) -> IntervalRecord {
        let mut stages = StageSet::default();
        for v in 1..=n {
            stages.record(Stage::Ack, 100 * v);
            stages.record(Stage::Submit, v);
        }
        IntervalRecord {
            lane,
            phase: 0,
            start_s,
            end_s: start_s + 1.0,
            counts: CounterValues {
                sent: n,
                acked: n,
                ..CounterValues::default()
            },
            in_flight: 3,
            stages,
            warm: false,
        }
    }

    #[test]
    fn intervals_become_a_tagged_log_and_a_csv() {
        let dir = tempfile::tempdir().unwrap();
        let paths = ExportPaths {
            hlog: Some(dir.path().join("run.hlog")),
            series: Some(dir.path().join("sub/run.csv")),
        };
        let lanes = vec!["kafka".to_string(), "nats".to_string()];
        let ex = Exporter::start(&paths, lanes, SystemTime::now()).unwrap();
        ex.send(vec![record(0, 0.0, 10), record(1, 0.0, 20)]);
        ex.send(vec![record(0, 1.0, 30), record(1, 1.0, 40)]);
        ex.finish().unwrap();
        let log = std::fs::read(paths.hlog.as_ref().unwrap()).unwrap();
        let mut acks = std::collections::BTreeMap::new();
        for entry in IntervalLogIterator::new(&log) {
            if let LogEntry::Interval(h) = entry.unwrap() {
                let tag = h.tag().unwrap().as_str().to_string();
                let n = crate::report::histogram::decode(h.encoded_histogram())
                    .unwrap()
                    .len();
                *acks.entry(tag).or_insert(0) += n;
            }
        }
        assert_eq!(acks["kafka.ack"], 40);
        assert_eq!(acks["nats.ack"], 60);
        assert_eq!(acks["nats.submit"], 60);
        let csv = std::fs::read_to_string(paths.series.as_ref().unwrap()).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], SERIES_HEADER);
        assert_eq!(lines.len(), 5);
        assert!(
            lines[4].starts_with("2.000,nats,0,1.000,40,40,0,3,"),
            "{}",
            lines[4]
        );
    }

    #[test]
    fn a_path_that_cannot_be_written_is_refused_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let paths = ExportPaths {
            hlog: Some(dir.path().to_path_buf()),
            series: None,
        };
        let e = Exporter::start(&paths, vec![], SystemTime::now())
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains(&dir.path().display().to_string()), "{e}");
    }
}
