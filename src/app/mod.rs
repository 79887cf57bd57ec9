//! The one run lifecycle: connect the lanes, start the engine, hand it to a front end until the
//! stop signal, finish, write the report. The dashboard and the headless front end differ only in
//! how they implement [`FrontEnd`].

pub mod capacity;
mod script;

pub use script::{Script, ScriptPosition};

use crate::analysis;
use crate::brokers::{kafka, nats, BrokerError, Publisher};
use crate::config::RunConfig;
use crate::engine::{Engine, EngineConfig, EngineHandle, LaneSetup};
use crate::metrics::{Analyser, HistogramError, PhaseResult};
use crate::vocab::{Durability, LaneKind};

use crate::report::{ExportError, Exporter, Report, RunInfo};
use serde::Serialize;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Connects every lane of `cfg` at once and returns them ready to run.
pub async fn connect_lanes(cfg: &RunConfig) -> Result<Vec<LaneSetup>, BrokerError> {
    let connects = cfg.lanes.iter().map(|(kind, knobs)| async move {
        let publisher: Arc<dyn Publisher> = match kind {
            LaneKind::Kafka => kafka::connect(&cfg.kafka).await?,
            LaneKind::Nats => nats::connect(&cfg.nats).await?,
        };
        Ok::<_, BrokerError>(LaneSetup {
            publisher,
            knobs: *knobs,
        })
    });
    // Every lane is tried, and every failure is reported: with both brokers down, both are named.
    let (ok, failed): (Vec<_>, Vec<_>) = futures::future::join_all(connects)
        .await
        .into_iter()
        .partition(Result::is_ok);
    match BrokerError::combine(failed.into_iter().filter_map(Result::err).collect()) {
        Some(e) => Err(e),
        None => Ok(ok.into_iter().filter_map(Result::ok).collect()),
    }
}

/// What an ack of `kind`'s lane means: storage, copies, linger.
fn lane_durability(cfg: &RunConfig, kind: LaneKind) -> Durability {
    match kind {
        LaneKind::Kafka => cfg.kafka.durability(),
        LaneKind::Nats => cfg.nats.durability(),
    }
}

/// The analysis of `cfg`'s phases: the rules, with what each lane's acks mean.
pub fn analyser(cfg: &RunConfig) -> Analyser {
    let durability: Vec<Durability> = cfg
        .lanes
        .iter()
        .map(|(kind, _)| lane_durability(cfg, *kind))
        .collect();
    Arc::new(move |p| analysis::analyse(p, &durability))
}

/// Connects and starts the engine for `cfg`.
pub async fn start(cfg: &RunConfig) -> Result<(Engine, RunInfo), BrokerError> {
    let setups = connect_lanes(cfg).await?;
    let info = run_info(cfg, SystemTime::now());
    let engine = Engine::start(
        setups,
        EngineConfig {
            warmup: cfg.warmup,
            e2e: cfg.e2e,
            keep_intervals: cfg.export.any(),
            precise: cfg.precise,
            analyse: analyser(cfg),
            ..EngineConfig::default()
        },
    )
    .await?;
    Ok((engine, info))
}

/// The report's view of the run settings, broker settings redacted (it goes to the dashboard
/// and every report).
pub fn run_info(cfg: &RunConfig, started_at: SystemTime) -> RunInfo {
    let has = |k: LaneKind| cfg.lanes.iter().any(|(x, _)| *x == k);
    RunInfo {
        started_at,
        profile: cfg.profile_name.clone(),
        profile_path: cfg.profile_path.clone(),
        warmup_s: cfg.warmup.as_secs_f64(),
        e2e: cfg.e2e,
        planned: cfg.duration,
        kafka: has(LaneKind::Kafka).then(|| cfg.kafka.redacted()),
        nats: has(LaneKind::Nats).then(|| cfg.nats.redacted()),
    }
}

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

/// What shows a run and lets the user steer it: the dashboard, or headless progress lines.
/// [`run`] does everything else, the same way for both.
pub trait FrontEnd {
    /// Says what is about to start, before the lanes connect.
    fn starting(&mut self, cfg: &RunConfig);

    /// Shows the running engine and lets the user steer it, until `stop` completes (the run's
    /// duration, Ctrl-C, SIGTERM or SIGHUP; its output says which) or the user quits.
    fn drive(
        &mut self,
        handle: EngineHandle,
        info: &RunInfo,
        script: &Script,
        stop: impl Future<Output = Stop> + Send,
    ) -> impl Future<Output = anyhow::Result<()>>;

    /// Shows the final results of every phase.
    fn finished(&mut self, phases: &[PhaseResult]);
}

/// How a run ended, for the exit code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunOutcome {
    /// A signal (Ctrl-C, SIGTERM, SIGHUP) cut the run short.
    pub interrupted: bool,
    /// The thresholds that failed, as `lane: expr (value)`.
    pub failed: Vec<String>,
}

/// Runs `cfg` with `front`: connect, start, drive until the stop signal or quit, finish (waiting
/// for outstanding acks), show the results, check the thresholds and write `--report`. The
/// report is written however the front end ended, an error included.
pub async fn run<F: FrontEnd>(cfg: RunConfig, mut front: F) -> anyhow::Result<RunOutcome> {
    front.starting(&cfg);
    let (engine, info) = start(&cfg).await?;
    let export = Export::start(&cfg, &info, engine.handle())?;
    let script = Script::new(cfg.steps.clone(), engine.handle().started());
    let player = tokio::spawn(script.clone().play(engine.handle()));
    let signalled = Arc::new(AtomicBool::new(false));
    let stop = {
        let signalled = Arc::clone(&signalled);
        async move {
            let why = stop_signal(cfg.duration).await;
            if why == Stop::Signal {
                signalled.store(true, Ordering::Relaxed);
            }
            why
        }
    };
    let outcome = front.drive(engine.handle(), &info, &script, stop).await;
    player.abort();
    if cfg.e2e {
        let grace = humantime::format_duration(crate::engine::E2E_GRACE);
        println!("stopping: waiting for outstanding acks, then up to {grace} for the end-to-end consumers to catch up...");
    } else {
        println!("stopping: waiting for outstanding acks...");
    }
    let phases = engine.finish().await;
    let exported = export.finish().await;
    front.finished(&phases);
    let interrupted = signalled.load(Ordering::Relaxed);
    let failed = conclude(&cfg, &info, phases, interrupted).await?;
    exported?;
    outcome.map(|()| RunOutcome {
        interrupted,
        failed,
    })
}

/// Builds the report, checks the thresholds on it (printing each), writes it when asked, and
/// returns the thresholds that failed.
async fn conclude(
    cfg: &RunConfig,
    info: &RunInfo,
    phases: Vec<PhaseResult>,
    signalled: bool,
) -> anyhow::Result<Vec<String>> {
    if cfg.report.is_none() && cfg.asserts.is_empty() {
        return Ok(Vec::new());
    }
    let mut report = Report::build(info, &phases)?;
    let short = cfg
        .duration
        .is_some_and(|d| report.meta.duration_s + 0.5 < d.as_secs_f64());
    report.meta.interrupted = signalled || short;
    report.check(&cfg.asserts);
    let failed: Vec<String> = report
        .assertions
        .iter()
        .filter(|a| !a.passed)
        .map(|a| format!("{}: {} ({})", a.lane, a.expr, shown(a)))
        .collect();
    for a in &report.assertions {
        let verdict = if a.passed { "passed" } else { "FAILED" };
        println!("assert {verdict}: {} on {}: {}", a.expr, a.lane, shown(a));
    }
    if let Some(path) = &cfg.report {
        write_report(report, path).await?;
        println!("\nreport written to {}", path.display());
    }
    Ok(failed)
}

fn shown(a: &crate::report::AssertionReport) -> String {
    match a.value {
        Some(v) if a.unit == "us" => crate::vocab::fmt_us(v.round() as u64),
        Some(v) => format!("{v} {}", a.unit),
        None => "no samples".into(),
    }
}

/// The interval log and series file, fed from the engine's closed intervals on every tick.
struct Export {
    pump: Option<(tokio::task::JoinHandle<()>, Exporter, EngineHandle)>,
}

impl Export {
    fn start(cfg: &RunConfig, info: &RunInfo, handle: EngineHandle) -> Result<Export, ExportError> {
        if !cfg.export.any() {
            return Ok(Export { pump: None });
        }
        let lanes = cfg
            .lanes
            .iter()
            .map(|(k, _)| k.as_str().to_string())
            .collect();
        let exporter = Exporter::start(&cfg.export, lanes, info.started_at)?;
        let sender = exporter.sender();
        let h = handle.clone();
        let task = tokio::spawn(async move {
            let mut ticks = h.ticks();
            while ticks.changed().await.is_ok() {
                sender.send(h.take_intervals());
            }
        });
        Ok(Export {
            pump: Some((task, exporter, handle)),
        })
    }

    /// Writes the intervals closed up to the end of the run and closes the files.
    async fn finish(self) -> Result<(), OutputError> {
        let Some((task, exporter, handle)) = self.pump else {
            return Ok(());
        };
        task.abort();
        // Its sender must be gone before the writer can see the end of the queue.
        let _ = task.await;
        exporter.send(handle.take_intervals());
        let written = tokio::task::spawn_blocking(move || exporter.finish())
            .await
            .map_err(|e| OutputError::Writer {
                what: "export",
                message: e.to_string(),
            })?;
        Ok(written?)
    }
}

#[derive(Serialize)]
struct Resolved<'a> {
    profile: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration: Option<String>,
    warmup: String,
    e2e: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<String>,
    lanes: Vec<ResolvedLane>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    steps: Vec<ResolvedStep>,
    brokers: crate::report::Brokers,
}

#[derive(Serialize)]
struct ResolvedStep {
    at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    lanes: Vec<ResolvedLane>,
}

#[derive(Serialize)]
struct ResolvedLane {
    name: &'static str,
    knobs: crate::vocab::Knobs,
}

/// The resolved settings as TOML, for `--dry-run`.
pub fn resolved_toml(cfg: &RunConfig) -> String {
    let info = run_info(cfg, SystemTime::now());
    let r = Resolved {
        profile: &cfg.profile_name,
        duration: cfg
            .duration
            .map(|d| humantime::format_duration(d).to_string()),
        warmup: humantime::format_duration(cfg.warmup).to_string(),
        e2e: cfg.e2e,
        report: cfg.report.as_ref().map(|p| p.display().to_string()),
        lanes: cfg
            .lanes
            .iter()
            .map(|(k, knobs)| ResolvedLane {
                name: k.as_str(),
                knobs: *knobs,
            })
            .collect(),
        steps: cfg
            .steps
            .iter()
            .map(|s| ResolvedStep {
                at: humantime::format_duration(s.at).to_string(),
                note: s.note.clone(),
                lanes: cfg
                    .lanes
                    .iter()
                    .zip(&s.knobs)
                    .map(|((k, _), knobs)| ResolvedLane {
                        name: k.as_str(),
                        knobs: *knobs,
                    })
                    .collect(),
            })
            .collect(),
        brokers: crate::report::Brokers {
            kafka: info.kafka.as_ref().map(|k| k.redacted()),
            nats: info.nats.as_ref().map(|n| n.redacted()),
        },
    };
    toml::to_string(&r).unwrap_or_else(|e| format!("# cannot show settings: {e}\n"))
}

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Its duration passed.
    Elapsed,
    /// Ctrl-C, SIGTERM or SIGHUP.
    Signal,
}

/// Completes on Ctrl-C, SIGTERM or SIGHUP, or when `duration` has passed, saying which.
pub async fn stop_signal(duration: Option<Duration>) -> Stop {
    let timer = async {
        match duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = timer => Stop::Elapsed,
        _ = tokio::signal::ctrl_c() => Stop::Signal,
        _ = terminate_or_hangup() => Stop::Signal,
    }
}

#[cfg(unix)]
async fn terminate_or_hangup() {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) {
        (Ok(mut term), Ok(mut hup)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = hup.recv() => {}
            }
        }
        _ => std::future::pending().await,
    }
}

#[cfg(not(unix))]
async fn terminate_or_hangup() {
    std::future::pending().await
}
