//! The end of a run: check the thresholds on its report, print them, write the report.

use crate::config::RunConfig;
use crate::metrics::HistogramError;
use crate::report::{AssertionReport, ExportError, Report};
use crate::vocab::fmt_us;
use std::path::{Path, PathBuf};

/// What a finished run could not write.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The report file.
    #[error("cannot write the report to {path}: {source}")]
    Report {
        /// Where it was to go.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A histogram of the report.
    #[error(transparent)]
    Histogram(#[from] HistogramError),
    /// The interval log or the series file.
    #[error(transparent)]
    Export(#[from] ExportError),
    /// A writer thread stopped before it finished.
    #[error("the {what} writer stopped: {message}")]
    Writer {
        /// Which writer.
        what: &'static str,
        /// Why.
        message: String,
    },
}

/// Writes a report (with an fsync) on a blocking thread, never on the caller's task.
pub async fn write_report(report: Report, path: &Path) -> Result<Report, OutputError> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || match report.write(&path) {
        Ok(()) => Ok(report),
        Err(source) => Err(OutputError::Report { path, source }),
    })
    .await
    .map_err(|e| OutputError::Writer {
        what: "report",
        message: e.to_string(),
    })?
}

/// Marks `report` interrupted when a signal or a short run cut it, checks the thresholds on it
/// (printing each), writes it when asked, and returns the thresholds that failed.
pub async fn conclude(
    cfg: &RunConfig,
    mut report: Report,
    signalled: bool,
) -> Result<Vec<String>, OutputError> {
    let short = cfg
        .duration
        .is_some_and(|d| report.meta.duration_s + 0.5 < d.as_secs_f64());
    report.meta.interrupted = signalled || short;
    report.check(&cfg.asserts);
    name_causes(cfg, &mut report.assertions);
    let failed: Vec<String> = report
        .assertions
        .iter()
        .filter(|a| !a.passed)
        .map(|a| format!("{}: {} ({})", a.lane, a.expr, shown(a)))
        .collect();
    for a in &report.assertions {
        let verdict = if a.passed { "passed" } else { "FAILED" };
        let cause = a.cause.as_ref().map_or(String::new(), |c| format!("; {c}"));
        println!(
            "assert {verdict}: {} on {}: {}{cause}",
            a.expr,
            a.lane,
            shown(a)
        );
    }
    if let Some(path) = &cfg.report {
        write_report(report, path).await?;
        println!("\nreport written to {}", path.display());
    }
    Ok(failed)
}

/// Names the lane setting behind each failed latency threshold, when one is behind it.
fn name_causes(cfg: &RunConfig, assertions: &mut [AssertionReport]) {
    for a in assertions.iter_mut().filter(|a| !a.passed) {
        let lane = cfg.lanes.iter().find(|l| l.name == a.lane);
        let t = cfg.asserts.iter().find(|t| t.text == a.expr);
        let (Some(lane), Some(t)) = (lane, t) else {
            continue;
        };
        let top = if lane.knobs.rate == 0 {
            u64::MAX
        } else {
            lane.knobs.rate
        };
        a.cause =
            super::limits::latency_limit(&cfg.broker(lane), &lane.knobs, t, top).map(|l| l.text);
    }
}

fn shown(a: &AssertionReport) -> String {
    match a.value {
        Some(v) if a.unit == "us" => fmt_us(v.round() as u64),
        Some(v) => format!("{v} {}", a.unit),
        None => "no samples".into(),
    }
}
