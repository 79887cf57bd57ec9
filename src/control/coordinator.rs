//! The coordinator's side: find the agents, start each with its share, send the knob orders,
//! add what they measure into the fed engine's store, and notice the ones that fall silent.

use super::books::{behind, fill, Book, Parts, Standing};
use super::discovery::{connect, discover};
use super::pump::Pump;
use super::share::unsplittable;
use super::wire::{self, AgentInfo, KnobOrder, LaneOrder, StartOrder};
use super::ControlError;
use crate::brokers::BrokerSettings;
use crate::config::{AgentsConfig as AgentsPlan, RunConfig};
use crate::engine::{Engine, EngineConfig};
use crate::metrics::{Analyser, PhaseResult};
use crate::report::AgentReport;
use base64::Engine as _;
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How long an agent may take to connect its lanes and start.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A run of agents going on: who takes part and how they stand.
pub struct Coordination {
    books: Arc<Mutex<Vec<Book>>>,
    parts: Arc<Mutex<Parts>>,
    task: Option<JoinHandle<()>>,
    cancel: CancellationToken,
}

impl Coordination {
    /// Every agent as the report keeps it.
    pub fn agents(&self) -> Vec<AgentReport> {
        (self.books.lock().iter())
            .map(|b| AgentReport {
                name: b.info.name.clone(),
                host: b.info.host.clone(),
                version: b.info.version.clone(),
                status: match b.standing {
                    Standing::Lost(_) => "lost".into(),
                    _ => "ok".into(),
                },
                lost_at_s: match b.standing {
                    Standing::Lost(at) => Some((at * 1000.0).round() / 1000.0),
                    _ => None,
                },
                acked: b.acked,
            })
            .collect()
    }

    /// `phases` (the fed engine's, whose samples were placed as they arrived) with every lane's
    /// figures made again from the agents' intervals, each placed in the phase and warm-up it was
    /// measured in by its agent: the counts, rates and histograms of the run are exactly the sum
    /// of the agents' own ([`Coordination::agent_phases`]). `analyse` finds again what they mean.
    pub fn exact(&self, phases: Vec<PhaseResult>, analyse: &Analyser) -> Vec<PhaseResult> {
        self.placed(phases, None, Some(analyse))
    }

    /// The phases as agent `name` alone measured them, its share of the knobs left as the
    /// run's (its report beside the run's; `pubduel merge` of them all gives the run's figures).
    pub fn agent_phases(&self, phases: &[PhaseResult], name: &str) -> Vec<PhaseResult> {
        let who = self.books.lock().iter().position(|b| b.info.name == name);
        match who {
            Some(i) => self.placed(phases.to_vec(), Some(i), None),
            None => Vec::new(),
        }
    }

    fn placed(
        &self,
        mut phases: Vec<PhaseResult>,
        agent: Option<usize>,
        analyse: Option<&Analyser>,
    ) -> Vec<PhaseResult> {
        let parts = self.parts.lock();
        for p in phases.iter_mut() {
            for (l, lane) in p.lanes.iter_mut().enumerate() {
                let mine = (parts.iter())
                    .filter(|((a, v, li), _)| {
                        *v == u64::from(p.index) && *li == l && agent.is_none_or(|x| x == *a)
                    })
                    .map(|(_, part)| part);
                fill(lane, mine);
            }
            if let Some(analyse) = analyse {
                let found = analyse(p);
                let books = self.books.lock();
                for (l, (lane, found)) in p.lanes.iter_mut().zip(found).enumerate() {
                    lane.findings = found;
                    let mine = (parts.iter())
                        .filter(|((_, v, li), _)| *v == u64::from(p.index) && *li == l)
                        .filter_map(|((a, _, _), part)| {
                            books.get(*a).map(|b| (*a, b.info.name.as_str(), part))
                        });
                    let weights: Vec<u64> = books.iter().map(|b| b.weight).collect();
                    lane.findings
                        .extend(behind(lane.knobs.rate, &weights, mine.clone()));
                    starved(&mut lane.findings, mine);
                }
            } else {
                p.lanes.iter_mut().for_each(|l| l.findings.clear());
            }
        }
        phases
    }

    /// Stops following the agents (after the engine has finished).
    pub async fn finish(mut self) {
        self.cancel.cancel();
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

/// `host-starved` for each agent whose host was starved of CPU in the phase; then, as on one
/// host, the advice to lower the rate goes: the host, not the schedule, held the figures back.
fn starved<'a>(
    findings: &mut Vec<crate::vocab::Finding>,
    agents: impl Iterator<Item = (usize, &'a str, &'a super::books::Part)>,
) {
    let found: Vec<_> = agents
        .filter_map(|(_, name, part)| crate::analysis::agent_starved(name, part.host.as_ref()?))
        .collect();
    if !found.is_empty() {
        findings.retain(|f| f.kind != crate::vocab::FindingKind::GeneratorLag);
        findings.extend(found);
    }
}

impl Drop for Coordination {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Finds the agents `plan` wants, waiting up to its `wait`; starts every one with its share of
/// `cfg`'s lanes, and returns a [fed engine](Engine::fed) whose lanes they are, and the
/// coordination that follows them.
pub async fn coordinate(
    cfg: &RunConfig,
    plan: &AgentsPlan,
    engine: EngineConfig,
) -> Result<(Engine, Coordination), ControlError> {
    let client = connect(&plan.login).await?;
    let agents = discover(&client, plan).await?;
    if let Some(a) = agents.iter().find(|a| a.version != wire::VERSION) {
        return Err(ControlError::Version {
            agent: a.name.clone(),
            theirs: a.version.clone(),
            ours: wire::VERSION.into(),
        });
    }
    let weights = weights_of(plan, &agents)?;
    check_split(cfg, &weights)?;
    let run = format!("r{:012x}", rand::random::<u64>() >> 16);
    let orders: Vec<StartOrder> = (0..agents.len())
        .map(|i| start_order(cfg, &run, i, &weights))
        .collect();
    // Subscribed before any agent starts, so no interval is missed.
    let data = (client.subscribe(wire::data_subject(&run)).await)
        .map_err(|e| unreachable(plan, e.to_string()))?;
    let applied = (client.subscribe(wire::applied_subject(&run)).await)
        .map_err(|e| unreachable(plan, e.to_string()))?;
    start_all(&client, &run, &agents, &orders).await?;
    let lanes: Vec<(String, crate::vocab::Knobs)> = (cfg.lanes.iter())
        .map(|l| (l.name.clone(), l.knobs))
        .collect();
    let (engine, feed) = Engine::fed(&lanes, engine);
    let now = Instant::now();
    let books = Arc::new(Mutex::new(
        agents
            .into_iter()
            .zip(&weights)
            .map(|(info, weight)| Book {
                info,
                weight: *weight,
                last_seen: now,
                standing: Standing::Ok,
                acked: 0,
                in_flight: vec![0; lanes.len()],
                done: false,
                version: 0,
            })
            .collect::<Vec<_>>(),
    ));
    let cancel = CancellationToken::new();
    let parts = Arc::new(Mutex::new(Parts::new()));
    let pump = Pump {
        client,
        run,
        books: Arc::clone(&books),
        parts: Arc::clone(&parts),
        start: now,
    };
    let task = tokio::spawn(pump.run(feed, [data, applied], cancel.clone()));
    Ok((
        engine,
        Coordination {
            books,
            parts,
            task: Some(task),
            cancel,
        },
    ))
}

fn unreachable(plan: &AgentsPlan, detail: String) -> ControlError {
    ControlError::Unreachable {
        url: plan.login.redacted().url,
        detail,
    }
}

/// Each agent's weight, in position order: 1 unless the plan says otherwise. A weight for an
/// agent that is not in the run is refused, naming those that are.
fn weights_of(plan: &AgentsPlan, agents: &[AgentInfo]) -> Result<Vec<u64>, ControlError> {
    let names: Vec<&str> = agents.iter().map(|a| a.name.as_str()).collect();
    if let Some(stray) = plan.weights.keys().find(|n| !names.contains(&n.as_str())) {
        return Err(ControlError::Weight {
            agent: stray.clone(),
            agents: names.join(", "),
        });
    }
    Ok((names.iter())
        .map(|n| plan.weights.get(*n).copied().unwrap_or(1))
        .collect())
}

/// Every lane's knobs, first and in every step, can be shared by agents of `weights`.
fn check_split(cfg: &RunConfig, weights: &[u64]) -> Result<(), ControlError> {
    for (i, lane) in cfg.lanes.iter().enumerate() {
        let all = std::iter::once(&lane.knobs).chain(cfg.steps.iter().map(|s| &s.knobs[i]));
        if let Some((knob, message)) = all.filter_map(|k| unsplittable(k, weights)).next() {
            return Err(ControlError::Split {
                lane: lane.name.clone(),
                knob: knob.replace('_', "-"),
                message,
            });
        }
    }
    Ok(())
}

/// The start order of agent `i`: the run's lanes with their settings redacted (an agent reads
/// its secrets on its own host).
fn start_order(cfg: &RunConfig, run: &str, i: usize, weights: &[u64]) -> StartOrder {
    let lanes = (cfg.lanes.iter())
        .map(|l| {
            let (kafka, nats) = match cfg.broker(l) {
                BrokerSettings::Kafka(k) => (Some(k.redacted()), None),
                BrokerSettings::Nats(n) => (None, Some(n.redacted())),
            };
            LaneOrder {
                name: l.name.clone(),
                kind: l.kind,
                knobs: l.knobs,
                kafka,
                nats,
            }
        })
        .collect();
    StartOrder {
        run: run.to_string(),
        version: wire::VERSION.into(),
        index: i,
        weights: weights.to_vec(),
        warmup_ms: cfg.warmup.as_millis() as u64,
        e2e: cfg.e2e,
        precise: cfg.precise,
        lanes,
        payload: (cfg.payload.as_ref()).map(|p| base64::prelude::BASE64_STANDARD.encode(p)),
    }
}

/// Starts every agent at once; when one cannot start, the others stop at once again.
async fn start_all(
    client: &async_nats::Client,
    run: &str,
    agents: &[AgentInfo],
    orders: &[StartOrder],
) -> Result<(), ControlError> {
    let started = futures::future::join_all(
        (agents.iter().zip(orders)).map(|(a, o)| start_one(client, a, o)),
    )
    .await;
    match started.into_iter().find_map(Result::err) {
        Some(e) => {
            // The order that ends a run.
            let end = KnobOrder {
                version: u64::MAX,
                knobs: Vec::new(),
                paused: false,
                note: None,
                end: true,
            };
            let _ = wire::publish_json(client, wire::orders_subject(run), &end).await;
            Err(e)
        }
        None => Ok(()),
    }
}

/// Sends agent `a` its start order and waits for its answer.
async fn start_one(
    client: &async_nats::Client,
    a: &AgentInfo,
    order: &StartOrder,
) -> Result<(), ControlError> {
    let fail = |detail: String| ControlError::Start {
        agent: a.name.clone(),
        detail,
    };
    let body = serde_json::to_vec(order).map_err(|e| fail(e.to_string()))?;
    let reply = tokio::time::timeout(
        START_TIMEOUT,
        client.request(wire::endpoint(&a.name, "start"), body.into()),
    )
    .await
    .map_err(|_| fail(format!("no answer within {START_TIMEOUT:?}")))?
    .map_err(|e| fail(e.to_string()))?;
    let answer: serde_json::Value =
        serde_json::from_slice(&reply.payload).map_err(|e| fail(e.to_string()))?;
    match answer.get("error").and_then(|e| e.as_str()) {
        Some(e) => Err(fail(e.to_string())),
        None => Ok(()),
    }
}
