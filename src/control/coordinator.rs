//! The coordinator's side: find the agents, start each with its share, send the knob orders,
//! add what they measure into the fed engine's store, and notice the ones that fall silent.

use super::share::unsplittable;
use super::wire::{self, AgentInfo, Interval, KnobOrder, LaneOrder, StartOrder};
use super::{ControlError, CONNECT_TIMEOUT, LOST_AFTER, SUSPECT_AFTER};
use crate::brokers::BrokerSettings;
use crate::cli::AgentsArg as Want;
use crate::config::{AgentsConfig as AgentsPlan, RunConfig};
use crate::engine::{Engine, EngineConfig, Feed, Orders};
use crate::metrics::{Analyser, CounterValues, LaneResult, MetricsStore, PhaseResult, StageSet};
use crate::report::AgentReport;
use base64::Engine as _;
use futures::StreamExt;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How long a discovery round gathers answers.
const GATHER: Duration = Duration::from_millis(300);
/// How long an agent may take to connect its lanes and start.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// An agent's standing during a run.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Standing {
    Ok,
    /// No interval for [`SUSPECT_AFTER`].
    Suspect,
    /// No interval for [`LOST_AFTER`], since this many seconds into the run.
    Lost(f64),
}

/// What the coordinator knows of one agent during a run.
#[derive(Debug, Clone)]
struct Book {
    info: AgentInfo,
    last_seen: Instant,
    standing: Standing,
    acked: u64,
    /// Un-acked messages per lane, as its last interval said.
    in_flight: Vec<u64>,
    /// Its last interval has come.
    done: bool,
    /// The newest knob order it has applied.
    version: u64,
}

/// What one agent measured in one phase on one lane, from its intervals.
#[derive(Clone, Default)]
struct Part {
    counts: CounterValues,
    measured_counts: CounterValues,
    measured: StageSet,
    warm: StageSet,
    /// Seconds of its measured intervals.
    measured_s: f64,
}

/// Every part, by (agent position, the knob order of the phase, lane position).
type Parts = BTreeMap<(usize, u64, usize), Part>;

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
                for (lane, found) in p.lanes.iter_mut().zip(found) {
                    lane.findings = found;
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

impl Drop for Coordination {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// `agents 3/4 (a4 lost)  knobs v7 on 3/3  max-pending per agent`: who publishes, and whether
/// every live agent has applied knob order `version`, for the header and the progress lines.
fn status_line(books: &[Book], version: u64) -> String {
    let gone = |b: &&Book| matches!(b.standing, Standing::Lost(_));
    let live: Vec<&Book> = books.iter().filter(|b| !gone(b)).collect();
    let mut s = format!("agents {}/{}", live.len(), books.len());
    let odd: Vec<String> = (books.iter())
        .filter_map(|b| match b.standing {
            Standing::Lost(_) => Some(format!("{} lost", b.info.name)),
            Standing::Suspect => Some(format!("{} suspect", b.info.name)),
            Standing::Ok => None,
        })
        .collect();
    if !odd.is_empty() {
        s.push_str(&format!(" ({})", odd.join(", ")));
    }
    let on = live.iter().filter(|b| b.version >= version).count();
    s.push_str(&format!("  knobs v{version} on {on}/{}", live.len()));
    s.push_str("  max-pending per agent");
    s
}

/// Sets `lane`'s counts, rates and histograms to the sum of `parts`: the rates are each agent's
/// own (its measured acks over its measured seconds), added.
fn fill<'a>(lane: &mut LaneResult, parts: impl Iterator<Item = &'a Part>) {
    let (mut counts, mut measured, mut warm) = (
        CounterValues::default(),
        StageSet::accumulating(),
        StageSet::accumulating(),
    );
    let (mut throughput, mut sent_rate) = (0.0, 0.0);
    for part in parts {
        counts = plus(&counts, &part.counts);
        measured.merge(&part.measured);
        warm.merge(&part.warm);
        if part.measured_s > 0.0 {
            throughput += part.measured_counts.acked as f64 / part.measured_s;
            sent_rate += part.measured_counts.sent as f64 / part.measured_s;
        }
    }
    lane.counts = counts;
    lane.throughput = throughput;
    lane.sent_rate = sent_rate;
    lane.warmup_only = measured.is_empty() && !warm.is_empty();
    lane.measured = Arc::new(measured);
    lane.warm = Arc::new(warm);
}

/// `a + b`, counter by counter.
fn plus(a: &CounterValues, b: &CounterValues) -> CounterValues {
    CounterValues {
        sent: a.sent + b.sent,
        acked: a.acked + b.acked,
        errors: a.errors + b.errors,
        stalls: a.stalls + b.stalls,
        queue_full: a.queue_full + b.queue_full,
        received: a.received + b.received,
        duplicates: a.duplicates + b.duplicates,
    }
}

/// Connects to the control server.
pub async fn connect(url: &str) -> Result<async_nats::Client, ControlError> {
    let unreachable = |detail: String| ControlError::Unreachable {
        url: redact(url),
        detail,
    };
    let connect = async_nats::ConnectOptions::new()
        .name("pubduel")
        .connection_timeout(CONNECT_TIMEOUT)
        .connect(url);
    tokio::time::timeout(CONNECT_TIMEOUT + Duration::from_secs(1), connect)
        .await
        .map_err(|_| unreachable("timed out".into()))?
        .map_err(|e| unreachable(e.to_string()))
}

/// A URL as messages may show it: without a user or password.
fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((_, host)) => format!("{scheme}://{host}"),
            None => url.to_string(),
        },
        None => url.to_string(),
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
    let client = connect(&plan.control).await?;
    let agents = discover(&client, plan).await?;
    for a in &agents {
        if a.version != wire::VERSION {
            return Err(ControlError::Version {
                agent: a.name.clone(),
                theirs: a.version.clone(),
                ours: wire::VERSION.into(),
            });
        }
    }
    check_split(cfg, agents.len())?;
    let run = format!("r{:012x}", rand::random::<u64>() >> 16);
    let weights = vec![1; agents.len()];
    let orders: Vec<StartOrder> = (0..agents.len())
        .map(|i| start_order(cfg, &run, i, &weights))
        .collect();
    // Subscribed before any agent starts, so no interval is missed.
    let data = (client.subscribe(wire::data_subject(&run)).await)
        .map_err(|e| unreachable(plan, e.to_string()))?;
    let started = futures::future::join_all(
        agents
            .iter()
            .zip(&orders)
            .map(|(a, o)| start_one(&client, a, o)),
    )
    .await;
    if let Some(e) = started.into_iter().find_map(Result::err) {
        // The others stop at once: the order that ends a run.
        let end = KnobOrder {
            version: u64::MAX,
            knobs: Vec::new(),
            paused: false,
            note: None,
            end: true,
        };
        let _ = publish_json(&client, wire::orders_subject(&run), &end).await;
        return Err(e);
    }
    let lanes: Vec<(String, crate::vocab::Knobs)> = (cfg.lanes.iter())
        .map(|l| (l.name.clone(), l.knobs))
        .collect();
    let (engine, feed) = Engine::fed(&lanes, engine);
    let now = Instant::now();
    let books = Arc::new(Mutex::new(
        agents
            .into_iter()
            .map(|info| Book {
                info,
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
    let task = tokio::spawn(pump.run(feed, data, cancel.clone()));
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
        url: redact(&plan.control),
        detail,
    }
}

/// Every lane's knobs, first and in every step, can be shared by `agents`.
fn check_split(cfg: &RunConfig, agents: usize) -> Result<(), ControlError> {
    for (i, lane) in cfg.lanes.iter().enumerate() {
        let all = std::iter::once(&lane.knobs).chain(cfg.steps.iter().map(|s| &s.knobs[i]));
        if let Some((knob, message)) = all.filter_map(|k| unsplittable(k, agents)).next() {
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

/// Asks the agents (the `pubduel-agent` service's INFO) until those `plan` wants have answered
/// or its wait is over.
async fn discover(
    client: &async_nats::Client,
    plan: &AgentsPlan,
) -> Result<Vec<AgentInfo>, ControlError> {
    let deadline = Instant::now() + plan.wait;
    loop {
        let mut found = ask(client).await;
        found.sort_by(|a, b| a.name.cmp(&b.name));
        found.dedup_by(|a, b| a.name == b.name);
        let picked: Vec<AgentInfo> = match &plan.want {
            Want::Count(n) => found.iter().take(*n).cloned().collect(),
            Want::Names(names) => (found.iter())
                .filter(|a| names.contains(&a.name))
                .cloned()
                .collect(),
        };
        let wanted = match &plan.want {
            Want::Count(n) => *n,
            Want::Names(v) => v.len(),
        };
        if picked.len() == wanted {
            return Ok(picked);
        }
        if Instant::now() >= deadline {
            let names = match &plan.want {
                Want::Names(names) => {
                    let missing: Vec<&str> = (names.iter())
                        .filter(|n| !picked.iter().any(|a| &a.name == *n))
                        .map(String::as_str)
                        .collect();
                    format!(" (missing: {})", missing.join(", "))
                }
                Want::Count(_) if !picked.is_empty() => {
                    let came: Vec<&str> = picked.iter().map(|a| a.name.as_str()).collect();
                    format!(" ({})", came.join(", "))
                }
                Want::Count(_) => String::new(),
            };
            return Err(ControlError::TooFew {
                came: picked.len(),
                wanted,
                wait: plan.wait,
                names,
            });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// One round of the service discovery: every agent that answers INFO within [`GATHER`].
async fn ask(client: &async_nats::Client) -> Vec<AgentInfo> {
    let inbox = client.new_inbox();
    let Ok(mut replies) = client.subscribe(inbox.clone()).await else {
        return Vec::new();
    };
    let subject = format!("$SRV.INFO.{}", wire::SERVICE);
    if client
        .publish_with_reply(subject, inbox, bytes::Bytes::new())
        .await
        .is_err()
    {
        return Vec::new();
    }
    let mut found = Vec::new();
    let until = tokio::time::sleep(GATHER);
    tokio::pin!(until);
    loop {
        tokio::select! {
            () = &mut until => break,
            m = replies.next() => match m {
                Some(m) => found.extend(info_of(&m.payload)),
                None => break,
            },
        }
    }
    found
}

/// An agent from its service INFO reply.
fn info_of(payload: &[u8]) -> Option<AgentInfo> {
    let v: serde_json::Value = serde_json::from_slice(payload).ok()?;
    let meta = v.get("metadata")?;
    let text = |x: Option<&serde_json::Value>| x.and_then(|s| s.as_str()).map(str::to_string);
    Some(AgentInfo {
        name: text(meta.get("agent"))?,
        host: text(meta.get("host")).unwrap_or_default(),
        version: text(v.get("version")).unwrap_or_default(),
    })
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

async fn publish_json<T: serde::Serialize>(
    client: &async_nats::Client,
    subject: String,
    value: &T,
) -> Result<(), String> {
    let body = serde_json::to_vec(value).map_err(|e| e.to_string())?;
    client
        .publish(subject, body.into())
        .await
        .map_err(|e| e.to_string())
}

/// The coordinator's task during a run: orders out, intervals in, heartbeats both ways.
struct Pump {
    client: async_nats::Client,
    run: String,
    books: Arc<Mutex<Vec<Book>>>,
    parts: Arc<Mutex<Parts>>,
    start: Instant,
}

impl Pump {
    async fn run(
        self,
        mut feed: Feed,
        mut data: async_nats::Subscriber,
        cancel: CancellationToken,
    ) {
        let mut beat = tokio::time::interval(Duration::from_secs(1));
        let (mut ended, mut version) = (false, 0);
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                o = feed.orders.recv() => match o {
                    Some(o) => {
                        ended |= o.end;
                        if !o.end {
                            version = o.version;
                        }
                        self.send(&o).await;
                    }
                    None => ended = true,
                },
                m = data.next() => match m {
                    Some(m) => self.take(&feed.store, &m.payload),
                    None => break,
                },
                _ = beat.tick() => {
                    let _ = (self.client)
                        .publish(wire::beat_subject(&self.run), bytes::Bytes::new())
                        .await;
                    self.watch();
                    let line = status_line(&self.books.lock(), version);
                    feed.store.set_source(Some(line));
                }
            }
            if ended && self.all_done() {
                feed.drained.cancel();
            }
        }
        feed.drained.cancel();
    }

    async fn send(&self, o: &Orders) {
        let order = KnobOrder {
            version: o.version,
            knobs: o.knobs.clone(),
            paused: o.paused,
            note: o.note.clone(),
            end: o.end,
        };
        if let Err(e) = publish_json(&self.client, wire::orders_subject(&self.run), &order).await {
            tracing::warn!("agents: the knob order v{} did not go out: {e}", o.version);
        }
    }

    /// Adds one interval of one agent to the store.
    fn take(&self, store: &MetricsStore, payload: &[u8]) {
        let iv: Interval = match serde_json::from_slice(payload) {
            Ok(iv) => iv,
            Err(e) => {
                tracing::warn!("agents: an interval that cannot be read: {e}");
                return;
            }
        };
        let mut books = self.books.lock();
        let Some(i) = books.iter().position(|b| b.info.name == iv.agent) else {
            return;
        };
        let b = &mut books[i];
        b.last_seen = Instant::now();
        b.version = b.version.max(iv.version);
        if b.standing == Standing::Suspect {
            b.standing = Standing::Ok;
        }
        let mut parts = self.parts.lock();
        for (lane, part) in iv.lanes.iter().enumerate() {
            let Some(metrics) = store.lanes().get(lane) else {
                continue;
            };
            let set = match part.stage_set() {
                Ok(set) => set,
                Err(e) => {
                    tracing::warn!("agents: {}'s histograms: {e}", iv.agent);
                    StageSet::default()
                }
            };
            metrics.recorders.add(&set);
            let mine = parts.entry((i, iv.phase_version, lane)).or_default();
            mine.counts = plus(&mine.counts, &part.counts);
            if iv.warm {
                mine.warm.merge(&set);
            } else {
                mine.measured.merge(&set);
                mine.measured_counts = plus(&mine.measured_counts, &part.counts);
                mine.measured_s += (iv.end_s - iv.start_s).max(0.0);
            }
            b.acked += part.counts.acked;
            if let Some(f) = b.in_flight.get_mut(lane) {
                *f = if iv.last { 0 } else { part.in_flight };
            }
        }
        b.done |= iv.last;
        for (lane, metrics) in store.lanes().iter().enumerate() {
            let in_flight = books.iter().filter_map(|b| b.in_flight.get(lane)).sum();
            let counts = iv.lanes.get(lane).map(|p| p.counts).unwrap_or_default();
            metrics.counters.add(&counts, in_flight);
        }
    }

    /// Marks agents silent for too long suspect, then lost (the run goes on without them).
    fn watch(&self) {
        let now = Instant::now();
        let at = now.saturating_duration_since(self.start).as_secs_f64();
        for b in self.books.lock().iter_mut() {
            let silent = now.saturating_duration_since(b.last_seen);
            match b.standing {
                Standing::Lost(_) => {}
                _ if b.done => {}
                _ if silent >= LOST_AFTER => {
                    b.standing = Standing::Lost(at);
                    b.in_flight.iter_mut().for_each(|f| *f = 0);
                    tracing::warn!(
                        "agent {} lost at {at:.1}s: no interval for {}s; the run goes on without it (degraded)",
                        b.info.name,
                        LOST_AFTER.as_secs()
                    );
                }
                Standing::Ok if silent >= SUSPECT_AFTER => {
                    b.standing = Standing::Suspect;
                    tracing::warn!(
                        "agent {} suspect: no interval for {}s",
                        b.info.name,
                        silent.as_secs()
                    );
                }
                _ => {}
            }
        }
    }

    /// Every agent has sent its last interval, or is lost.
    fn all_done(&self) -> bool {
        (self.books.lock().iter()).all(|b| b.done || matches!(b.standing, Standing::Lost(_)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_agent_is_read_from_its_service_info() {
        let info = br#"{"type":"io.nats.micro.v1.info_response","name":"pubduel-agent","id":"x","version":"0.1.0","metadata":{"agent":"a1","host":"h1"},"endpoints":[]}"#;
        assert_eq!(
            info_of(info),
            Some(AgentInfo {
                name: "a1".into(),
                host: "h1".into(),
                version: "0.1.0".into()
            })
        );
        assert_eq!(info_of(br#"{"name":"other"}"#), None);
        assert_eq!(redact("nats://u:p@h:4222"), "nats://h:4222");
    }
}
