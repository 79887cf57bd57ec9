//! The one run lifecycle: connect the lanes, start the engine, hand it to a front end until the
//! stop signal, finish, write the report. The dashboard and the headless front end differ only in
//! how they implement [`FrontEnd`].

mod script;

pub use script::{Script, ScriptPosition};

use crate::brokers::{kafka, nats, BrokerError, Durability, Publisher};
use crate::cli::RunConfig;
use crate::engine::{Engine, EngineConfig, EngineHandle, LaneSetup};
use crate::metrics::PhaseResult;
use crate::profile::LaneKind;
use crate::report::{Report, RunInfo};
use serde::Serialize;
use std::future::Future;
use std::path::Path;
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
            durability: lane_durability(cfg, *kind),
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

/// Connects and starts the engine for `cfg`.
pub async fn start(cfg: &RunConfig) -> Result<(Engine, RunInfo), BrokerError> {
    let setups = connect_lanes(cfg).await?;
    let info = run_info(cfg, SystemTime::now());
    let engine = Engine::start(
        setups,
        EngineConfig {
            warmup: cfg.warmup,
            e2e: cfg.e2e,
            ..EngineConfig::default()
        },
    )
    .await?;
    Ok((engine, info))
}

/// The report's view of the run settings.
pub fn run_info(cfg: &RunConfig, started_at: SystemTime) -> RunInfo {
    let has = |k: LaneKind| cfg.lanes.iter().any(|(x, _)| *x == k);
    RunInfo {
        started_at,
        profile: cfg.profile_name.clone(),
        profile_path: cfg.profile_path.clone(),
        warmup_s: cfg.warmup.as_secs_f64(),
        e2e: cfg.e2e,
        planned: cfg.duration,
        kafka: has(LaneKind::Kafka).then(|| cfg.kafka.clone()),
        nats: has(LaneKind::Nats).then(|| cfg.nats.clone()),
    }
}

/// Builds a report and writes it (with an fsync) on a blocking thread, never on the caller's task.
pub async fn write_report(
    info: &RunInfo,
    phases: Vec<PhaseResult>,
    path: &Path,
) -> Result<Report, String> {
    let (info, path) = (info.clone(), path.to_path_buf());
    tokio::task::spawn_blocking(move || {
        let report = Report::build(&info, &phases);
        report
            .write(&path)
            .map(|()| report)
            .map_err(|e| format!("cannot write the report to {}: {e}", path.display()))
    })
    .await
    .map_err(|e| format!("the report writer stopped: {e}"))?
}

/// What shows a run and lets the user steer it: the dashboard, or headless progress lines.
/// [`run`] does everything else, the same way for both.
pub trait FrontEnd {
    /// Says what is about to start, before the lanes connect.
    fn starting(&mut self, cfg: &RunConfig);

    /// Shows the running engine and lets the user steer it, until `stop` completes (the run's
    /// duration, Ctrl-C, SIGTERM or SIGHUP) or the user quits.
    fn drive(
        &mut self,
        handle: EngineHandle,
        info: &RunInfo,
        script: &Script,
        stop: impl Future<Output = ()> + Send,
    ) -> impl Future<Output = anyhow::Result<()>>;

    /// Shows the final results of every phase.
    fn finished(&mut self, phases: &[PhaseResult]);
}

/// Runs `cfg` with `front`: connect, start, drive until the stop signal or quit, finish (waiting
/// for outstanding acks), show the results and write `--report`. The report is written however
/// the front end ended, an error included.
pub async fn run<F: FrontEnd>(cfg: RunConfig, mut front: F) -> anyhow::Result<()> {
    front.starting(&cfg);
    let (engine, info) = start(&cfg).await?;
    let script = Script::new(cfg.steps.clone(), engine.handle().started());
    let player = tokio::spawn(script.clone().play(engine.handle()));
    let outcome = front
        .drive(engine.handle(), &info, &script, stop_signal(cfg.duration))
        .await;
    player.abort();
    println!("stopping: waiting for outstanding acks...");
    let phases = engine.finish().await;
    front.finished(&phases);
    if let Some(path) = &cfg.report {
        write_report(&info, phases, path)
            .await
            .map_err(anyhow::Error::msg)?;
        println!("\nreport written to {}", path.display());
    }
    outcome
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
    knobs: crate::engine::Knobs,
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

/// Completes on Ctrl-C, SIGTERM or SIGHUP, or when `duration` has passed.
pub async fn stop_signal(duration: Option<Duration>) {
    let timer = async {
        match duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = timer => {}
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate_or_hangup() => {}
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
