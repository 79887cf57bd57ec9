//! Starting a run: connect every lane, hand the engine the analysis, and describe the run for
//! the dashboard and the report.

use crate::analysis;
use crate::brokers::BrokerError;
use crate::config::RunConfig;
use crate::engine::{Engine, EngineConfig, LaneSetup};
use crate::metrics::Analyser;
use crate::report::{LaneInfo, RunInfo};
use crate::vocab::{Durability, LaneKind};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

/// Connects every lane of `cfg` at once and returns them ready to run.
pub async fn connect_lanes(cfg: &RunConfig) -> Result<Vec<LaneSetup>, BrokerError> {
    let connects = cfg.lanes.iter().enumerate().map(|(i, lane)| async move {
        let publisher = cfg.broker(lane).connect().await?;
        // A strategy this server cannot do (an older nats-server's `fast`) is refused now,
        // not found out mid-run; the `a` key skips them.
        let asked = std::iter::once(lane.knobs.ack).chain(cfg.steps.iter().map(|s| s.knobs[i].ack));
        if let Some((ack, why)) = asked.filter_map(|a| Some((a, publisher.lacks(a)?))).next() {
            return Err(BrokerError::Setup {
                lane: lane.kind.as_str(),
                detail: format!("lane `{}` cannot publish with ack {ack}: {why}", lane.name),
            });
        }
        Ok::<_, BrokerError>(LaneSetup {
            name: lane.name.clone(),
            publisher,
            knobs: lane.knobs,
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

/// The analysis of `cfg`'s phases: the rules, with what each lane's acks mean.
pub fn analyser(cfg: &RunConfig) -> Analyser {
    let durability: Vec<Durability> = (cfg.lanes.iter())
        .map(|l| cfg.broker(l).durability())
        .collect();
    Arc::new(move |p| analysis::analyse(p, &durability))
}

/// Connects and starts the engine for `cfg`.
pub async fn start(cfg: &RunConfig) -> Result<(Engine, RunInfo), BrokerError> {
    let setups = connect_lanes(cfg).await?;
    let mut info = run_info(cfg, SystemTime::now());
    info.versions = versions_of(&setups);
    let engine = Engine::start(setups, engine_config(cfg)).await?;
    Ok((engine, info))
}

/// The engine settings of `cfg`: warm-up, end to end, pacing, analysis, payload.
pub fn engine_config(cfg: &RunConfig) -> EngineConfig {
    EngineConfig {
        warmup: cfg.warmup,
        e2e: cfg.e2e,
        keep_intervals: cfg.export.any(),
        precise: cfg.precise,
        analyse: analyser(cfg),
        payload: cfg.payload.clone(),
        ..EngineConfig::default()
    }
}

/// The client and server versions the lanes report: one entry per name (`nats-server`), and
/// one per lane (`nats-server (r3)`) where a lane's differs from the first.
pub fn versions_of(setups: &[LaneSetup]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for s in setups {
        for (what, version) in s.publisher.versions() {
            match out.get(what) {
                None => {
                    out.insert(what.to_string(), version);
                }
                Some(v) if *v == version => {}
                Some(_) => {
                    out.insert(format!("{what} ({})", s.name), version);
                }
            }
        }
    }
    out
}

/// The report's view of the run settings, broker settings redacted (it goes to the dashboard
/// and every report).
pub fn run_info(cfg: &RunConfig, started_at: SystemTime) -> RunInfo {
    let has = |k: LaneKind| cfg.lanes.iter().any(|l| l.kind == k);
    RunInfo {
        started_at,
        profile: cfg.profile_name.clone(),
        profile_path: cfg.profile_path.clone(),
        warmup_s: cfg.warmup.as_secs_f64(),
        e2e: cfg.e2e,
        planned: cfg.duration,
        kafka: has(LaneKind::Kafka).then(|| cfg.kafka.redacted()),
        nats: has(LaneKind::Nats).then(|| cfg.nats.redacted()),
        lanes: (cfg.lanes.iter())
            .map(|l| LaneInfo {
                name: l.name.clone(),
                kind: l.kind,
                differs: cfg.broker(l).differences(&cfg.section(l.kind)),
            })
            .collect(),
        versions: BTreeMap::new(),
    }
}
