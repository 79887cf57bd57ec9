//! The one run lifecycle: connect the lanes, start the engine, hand it to a front end until the
//! stop signal, finish, write the report. The dashboard and the headless front end differ only in
//! how they implement [`FrontEnd`]; a plain run and a capacity search differ only in what
//! [`Drive`]s the engine between start and stop. A search runs one leg per lane, each on its own
//! engine, through the same stop, export and report paths.

pub mod agent;
pub mod capacity;
mod export;
mod finish;
pub mod limits;
mod resolved;
mod script;
mod serve_metrics;
mod start;
mod stop;

pub use finish::{write_report, OutputError};
pub use resolved::resolved_toml;
pub use script::{Script, ScriptPosition};
pub use serve_metrics::{LiveMetrics, MetricsListenError, MetricsServer};
pub use start::{analyser, connect_lanes, engine_config, run_info, start};
pub use stop::{stop_signal, Stop};

use crate::config::RunConfig;
use crate::control::AgentFigures;
use crate::engine::EngineHandle;
use crate::metrics::PhaseResult;
use crate::report::{CapacityReport, Report, RunInfo};
use export::{Export, Shift};
use parking_lot::Mutex;
use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

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
    /// Agents lost during the run, by name.
    pub lost_agents: Vec<String>,
}

/// What drives the engine between its start and its stop.
#[derive(Debug, Clone)]
pub enum Drive {
    /// The profile's steps, until the run's duration passes, a signal or the user quits.
    Steps,
    /// A capacity search of each lane the SLO covers, one lane after the other, until every
    /// search is over, a signal or the user quits.
    Capacity(capacity::Plan),
}

/// One leg of a run, finished: its report, why it stopped (`None`: the user quit) and how its
/// front end ended.
struct Leg {
    report: Report,
    /// With agents: each agent's own part of the leg, by name.
    parts: Vec<(String, Report)>,
    stop: Option<Stop>,
    shown: anyhow::Result<()>,
}

/// Runs `cfg` as `drive` says, with `front`: for each leg connect, start, drive until the stop
/// signal or quit, finish (waiting for outstanding acks) and show the results; then check the
/// thresholds and write `--report`, `--hlog` and `--series`. The report is written however the
/// front end ended, an error included, and keeps what a cut-short run measured. The
/// `--metrics-listen` endpoint is bound first, before any broker is connected, and serves each
/// leg's engine in turn.
pub async fn run<F: FrontEnd>(
    cfg: RunConfig,
    drive: Drive,
    mut front: F,
) -> anyhow::Result<RunOutcome> {
    let server = MetricsServer::bind_if_asked(cfg.metrics_listen.as_deref()).await?;
    let live = (server.as_ref()).map_or_else(LiveMetrics::default, |s| s.live().clone());
    // Watch the host from the start, so every phase can say whether it was starved.
    crate::metrics::host::start();
    let legs = match &drive {
        Drive::Steps => vec![cfg.clone()],
        Drive::Capacity(plan) => capacity::legs(&cfg, plan),
    };
    if let Drive::Capacity(plan) = &drive {
        capacity::announce(&cfg, plan, &legs);
    }
    let names = (legs.iter().flat_map(|l| &l.lanes))
        .map(|l| l.name.clone())
        .collect();
    let export = Export::open(&cfg, names, SystemTime::now())?;
    let (mut report, mut shift, mut signalled, mut shown) = (None, Shift::default(), false, Ok(()));
    let (mut lost_agents, mut parts) = (Vec::new(), Vec::<(String, Report)>::new());
    for leg in &legs {
        front.starting(leg);
        let done = run_leg(leg, &drive, &mut front, &export, shift, &live).await?;
        shift = Shift {
            lane: shift.lane + leg.lanes.len(),
            phase: shift.phase + done.report.phases.len() as u32,
            t_s: shift.t_s + done.report.meta.duration_s,
        };
        lost_agents.extend(
            (done.report.agents.iter())
                .filter(|a| a.status == "lost")
                .map(|a| a.name.clone()),
        );
        match report.as_mut() {
            Some(all) => Report::append(all, done.report),
            None => report = Some(done.report),
        }
        for (name, part) in done.parts {
            match parts.iter_mut().find(|(n, _)| *n == name) {
                Some((_, all)) => all.append(part),
                None => parts.push((name, part)),
            }
        }
        signalled = done.stop == Some(Stop::Signal);
        shown = done.shown;
        if done.stop != Some(Stop::Done) || shown.is_err() {
            break;
        }
    }
    let exported = export.finish().await;
    write_agent_parts(&cfg, parts).await?;
    let Some(report) = report else {
        return Ok(RunOutcome::default());
    };
    if matches!(drive, Drive::Capacity(_)) {
        print!("{}", capacity::table(&report.capacity));
    }
    let failed = finish::conclude(&cfg, report, signalled).await?;
    exported?;
    shown.map(|()| RunOutcome {
        interrupted: signalled,
        failed,
        lost_agents,
    })
}

/// Runs one leg: its engine, driven as `drive` says and shown by `front`, until it stops.
async fn run_leg<F: FrontEnd>(
    leg: &RunConfig,
    drive: &Drive,
    front: &mut F,
    export: &Export,
    shift: Shift,
    live: &LiveMetrics,
) -> anyhow::Result<Leg> {
    let (engine, info, agents) = match &leg.agents {
        Some(plan) => {
            let (engine, c) = crate::control::coordinate(leg, plan, engine_config(leg)).await?;
            (engine, run_info(leg, SystemTime::now()), Some(c))
        }
        None => {
            let (engine, info) = start(leg).await?;
            (engine, info, None)
        }
    };
    live.follow(engine.handle());
    let pump = export.pump(engine.handle(), shift);
    let script = Script::new(leg.steps.clone(), engine.handle().started());
    let (cancel, done) = (CancellationToken::new(), CancellationToken::new());
    let figures = agents.as_ref().map(|c| c.figures());
    let driver = spawn_driver(
        leg,
        drive,
        &script,
        (engine.handle(), figures),
        &cancel,
        &done,
    );
    let stopped = Arc::new(Mutex::new(None));
    let stop = {
        let (stopped, duration) = (Arc::clone(&stopped), leg.duration);
        async move {
            let why = tokio::select! {
                why = stop_signal(duration) => why,
                _ = done.cancelled() => Stop::Done,
            };
            *stopped.lock() = Some(why);
            why
        }
    };
    let shown = front.drive(engine.handle(), &info, &script, stop).await;
    cancel.cancel();
    let found = driver.await.ok().flatten();
    say_stopping(leg);
    let phases = engine.finish().await;
    live.settle();
    let phases = match &agents {
        Some(c) => c.exact(phases, &analyser(leg)),
        None => phases,
    };
    pump.finish().await;
    front.finished(&phases);
    let mut report = Report::build(&info, &phases)?;
    report.capacity.extend(found);
    let mut parts = Vec::new();
    if let Some(c) = agents {
        report.agents = c.agents();
        parts = agent_parts(&info, &phases, &c, &report)?;
        c.finish().await;
        for a in report.agents.iter().filter(|a| a.status == "lost") {
            let at = a.lost_at_s.unwrap_or(0.0);
            println!(
                "degraded: agent {} ({}) was lost at {at:.1}s; its share of the run stopped there",
                a.name, a.host
            );
        }
        report.degraded = report.agents.iter().any(|a| a.status == "lost");
    }
    let stop = *stopped.lock();
    Ok(Leg {
        report,
        parts,
        stop,
        shown,
    })
}

/// Starts what drives a leg: the scenario's steps, or a capacity search of its one lane, which
/// fires `done` when it is over. Both end when `cancel` fires.
fn spawn_driver(
    leg: &RunConfig,
    drive: &Drive,
    script: &Script,
    (handle, figures): (EngineHandle, Option<AgentFigures>),
    cancel: &CancellationToken,
    done: &CancellationToken,
) -> JoinHandle<Option<CapacityReport>> {
    let (cancel, done) = (cancel.clone(), done.clone());
    match drive {
        Drive::Steps => {
            let player = script.clone().play(handle);
            tokio::spawn(async move {
                tokio::select! {
                    () = player => {}
                    () = cancel.cancelled() => {}
                }
                None
            })
        }
        Drive::Capacity(plan) => {
            let lane = leg.lanes[0].clone();
            let (plan, warmup, settings) = (plan.clone(), leg.warmup, leg.broker(&lane));
            tokio::spawn(async move {
                let found =
                    capacity::search(handle, figures, &lane, &settings, warmup, &plan, cancel)
                        .await;
                done.cancel();
                Some(found)
            })
        }
    }
}

/// Each agent's own part of a leg, by name: `pubduel merge` of them all gives the leg's counts
/// and percentiles exactly.
fn agent_parts(
    info: &RunInfo,
    phases: &[PhaseResult],
    c: &crate::control::Coordination,
    report: &Report,
) -> anyhow::Result<Vec<(String, Report)>> {
    let mut parts = Vec::new();
    for a in &report.agents {
        let mut part = Report::build(info, &c.agent_phases(phases, &a.name))?;
        part.meta.host.clone_from(&a.host);
        part.agents = vec![a.clone()];
        parts.push((a.name.clone(), part));
    }
    Ok(parts)
}

/// Beside `--report FILE`, each agent's own part of the run (`FILE-agent-NAME.toml`), every leg
/// of it.
async fn write_agent_parts(cfg: &RunConfig, parts: Vec<(String, Report)>) -> anyhow::Result<()> {
    let Some(path) = &cfg.report else {
        return Ok(());
    };
    for (name, part) in parts {
        write_report(part, &agent_part_path(path, &name)).await?;
    }
    Ok(())
}

/// `r.toml` -> `r-agent-a1.toml`.
pub fn agent_part_path(report: &std::path::Path, agent: &str) -> std::path::PathBuf {
    let stem = report.file_stem().map_or_else(
        || "report".to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    report.with_file_name(format!("{stem}-agent-{agent}.toml"))
}

fn say_stopping(leg: &RunConfig) {
    if leg.e2e {
        let grace = humantime::format_duration(crate::engine::E2E_GRACE);
        println!("stopping: waiting for outstanding acks, then up to {grace} for the end-to-end consumers to catch up...");
    } else {
        println!("stopping: waiting for outstanding acks...");
    }
}
