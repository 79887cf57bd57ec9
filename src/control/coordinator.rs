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
    figures: AgentFigures,
    task: Option<JoinHandle<()>>,
    cancel: CancellationToken,
}

/// The agents' figures of a run going on, for a search that judges each step while the agents
/// keep publishing (a capacity search): a step is judged on what every agent measured in it, not
/// on what happened to have arrived by then (each agent sends an interval a second, and applies
/// an order some milliseconds after it was given).
#[derive(Clone)]
pub struct AgentFigures {
    books: Arc<Mutex<Vec<Book>>>,
    parts: Arc<Mutex<Parts>>,
}

impl AgentFigures {
    /// Waits until every agent still in the run has sent `measured` of phase `p`'s measured
    /// seconds on each lane, or `limit` passes; then gives `p` with each lane's counts, rates
    /// and histograms as the agents measured them (its findings kept), and the names of the
    /// agents whose figures had not all come.
    pub async fn settled(
        &self,
        mut p: PhaseResult,
        measured: Duration,
        limit: Duration,
    ) -> (PhaseResult, Vec<String>) {
        let until = tokio::time::Instant::now() + limit;
        let short = loop {
            let short = self.short_of(&p, measured);
            if short.is_empty() || tokio::time::Instant::now() >= until {
                break short;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        fill_lanes(&mut p, &self.parts.lock(), None);
        (p, short)
    }

    /// The agents in the run (not lost, not finished) with less than `measured` of `p` on
    /// some lane.
    fn short_of(&self, p: &PhaseResult, measured: Duration) -> Vec<String> {
        // An agent's intervals are cut by its own clock: a few milliseconds short is whole.
        let need = measured.as_secs_f64() - 0.01;
        let (books, parts) = (self.books.lock(), self.parts.lock());
        let has = |a: usize, l: usize| {
            (parts.get(&(a, u64::from(p.index), l))).map_or(0.0, |part| part.measured_s)
        };
        (books.iter().enumerate())
            .filter(|(_, b)| !b.done && !matches!(b.standing, Standing::Lost(_)))
            .filter(|(a, _)| (0..p.lanes.len()).any(|l| has(*a, l) < need))
            .map(|(_, b)| b.info.name.clone())
            .collect()
    }
}

impl Coordination {
    /// The agents' figures, to judge steps by while the run goes on.
    pub fn figures(&self) -> AgentFigures {
        self.figures.clone()
    }

    /// Every agent as the report keeps it.
    pub fn agents(&self) -> Vec<AgentReport> {
        (self.figures.books.lock().iter())
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
        let who = self
            .figures
            .books
            .lock()
            .iter()
            .position(|b| b.info.name == name);
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
        let parts = self.figures.parts.lock();
        for p in phases.iter_mut() {
            if let Some(a) = agent {
                own_warmup(p, &parts, a);
            }
            fill_lanes(p, &parts, agent);
            if let Some(analyse) = analyse {
                let found = analyse(p);
                let books = self.figures.books.lock();
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

/// Sets each lane of phase `p` to the sum of the parts measured in it ([`fill`]): every agent's,
/// or `agent`'s alone.
fn fill_lanes(p: &mut PhaseResult, parts: &Parts, agent: Option<usize>) {
    for (l, lane) in p.lanes.iter_mut().enumerate() {
        let mine = (parts.iter())
            .filter(|((a, v, li), _)| {
                *v == u64::from(p.index) && *li == l && agent.is_none_or(|x| x == *a)
            })
            .map(|(_, part)| part);
        fill(lane, mine);
    }
}

/// An agent's own part of phase `p`: when the agent measured less of it than the run did (it
/// applied the phase's order late, its warm-up began then), its warm-up is longer by as much, so
/// the part says how long the agent itself measured.
fn own_warmup(p: &mut PhaseResult, parts: &Parts, agent: usize) {
    let measured = (parts.iter())
        .filter(|((a, v, _), _)| *a == agent && *v == u64::from(p.index))
        .map(|(_, part)| part.measured_s)
        .fold(None, |m: Option<f64>, s| Some(m.map_or(s, |m| m.max(s))));
    if let Some(measured) = measured {
        let warmup = (p.duration_s - measured).clamp(0.0, p.duration_s);
        p.warmup_s = p.warmup_s.max(warmup);
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
            figures: AgentFigures { books, parts },
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{CounterValues, LaneResult};
    use crate::vocab::Knobs;

    fn book(name: &str) -> Book {
        Book {
            info: AgentInfo {
                name: name.into(),
                host: "h".into(),
                version: wire::VERSION.into(),
            },
            weight: 1,
            last_seen: Instant::now(),
            standing: Standing::Ok,
            acked: 0,
            in_flight: vec![0],
            done: false,
            version: 3,
        }
    }

    fn part(sent: u64, secs: f64) -> super::super::books::Part {
        super::super::books::Part {
            measured_counts: CounterValues {
                sent,
                acked: sent,
                ..CounterValues::default()
            },
            measured_s: secs,
            ..Default::default()
        }
    }

    /// Phase 3 as the fed engine saw it: what happened to have arrived (one interval of a1).
    fn arrived() -> PhaseResult {
        PhaseResult {
            index: 3,
            start_s: 10.0,
            duration_s: 3.0,
            warmup_s: 1.0,
            paused: false,
            note: None,
            host: None,
            lanes: vec![LaneResult {
                throughput: 100.0,
                sent_rate: 100.0,
                ..LaneResult::empty("nats", Knobs::default())
            }],
        }
    }

    #[test]
    fn an_agents_part_says_how_long_it_measured_when_it_started_late() {
        let mut parts = Parts::new();
        parts.insert((0, 3, 0), part(900, 0.9));
        parts.insert((1, 3, 0), part(3000, 2.2));
        let (mut late, mut on_time) = (arrived(), arrived());
        own_warmup(&mut late, &parts, 0);
        own_warmup(&mut on_time, &parts, 1);
        // The run measured 2 s of the 3 s phase; a1 only its last 0.9 s.
        assert!((late.warmup_s - 2.1).abs() < 1e-9, "{}", late.warmup_s);
        assert_eq!(on_time.warmup_s, 1.0, "measuring longer shortens nothing");
    }

    #[tokio::test(start_paused = true)]
    async fn a_step_waits_for_every_agents_whole_step_and_names_one_that_never_sends_it() {
        let figures = AgentFigures {
            books: Arc::new(Mutex::new(vec![book("a1"), book("a2")])),
            parts: Arc::new(Mutex::new(Parts::new())),
        };
        figures.parts.lock().insert((0, 3, 0), part(400, 2.0));
        // a2 applied the order late and fell behind early on: 100 msg/s so far.
        figures.parts.lock().insert((1, 3, 0), part(50, 0.5));
        // a2's next interval comes a second later: the step is judged on it.
        let later = figures.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            later.parts.lock().insert((1, 3, 0), part(400, 2.0));
        });
        let step = Duration::from_secs(2);
        let (p, short) = figures
            .settled(arrived(), step, Duration::from_secs(5))
            .await;
        assert!(short.is_empty(), "{short:?}");
        assert_eq!(p.lanes[0].sent_rate, 400.0, "each agent's own rate, added");
        // An agent that never sends its whole step is named when the limit passes.
        figures.parts.lock().insert((1, 3, 0), part(50, 0.5));
        let (p, short) = figures
            .settled(arrived(), step, Duration::from_secs(5))
            .await;
        assert_eq!(short, ["a2"]);
        assert_eq!(p.lanes[0].sent_rate, 300.0, "200 + 100, as far as known");
        // A lost agent is not waited for.
        figures.books.lock()[1].standing = Standing::Lost(12.0);
        let (_, short) = figures.settled(arrived(), step, Duration::ZERO).await;
        assert!(short.is_empty(), "{short:?}");
    }
}
