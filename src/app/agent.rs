//! `pubduel agent`: a load host that waits on the control server for runs and generates its
//! share of each with the local engine, sending what it measures every second. It joins as a
//! NATS service (`pubduel-agent`, its name and host in the metadata), so coordinators find it and
//! `nats micro ls` lists it. Between runs it waits; a run ends with the coordinator's last order,
//! or when the coordinator has been silent for [`ORPHAN_AFTER`].

use super::start::connect_lanes;
use super::{LiveMetrics, MetricsServer};
use crate::brokers::BrokerSettings;
use crate::cli::AgentArgs;
use crate::config::{LaneConfig, RunConfig};
use crate::control::share::knobs_of;
use crate::control::wire::{self, Applied, Interval, KnobOrder, LaneInterval, StartOrder};
use crate::control::{self, ORPHAN_AFTER};
use crate::engine::{Engine, EngineConfig, EngineHandle};
use crate::metrics::host::HostLoad;
use crate::metrics::{no_analysis, E2eCounts, IntervalRecord};
use crate::report::ExportPaths;
use crate::vocab::Knobs;
use async_nats::service::ServiceExt;
use base64::Engine as _;
use futures::StreamExt;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Serves runs until Ctrl-C or SIGTERM; with `--metrics-listen`, serves the live metrics of
/// each run too, its endpoint bound before the control server is contacted.
pub async fn serve(args: &AgentArgs) -> anyhow::Result<()> {
    let server = MetricsServer::bind_if_asked(args.metrics_listen.as_deref()).await?;
    let live = (server.as_ref()).map_or_else(LiveMetrics::default, |s| s.live().clone());
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    let name = (args.name.clone()).unwrap_or_else(|| name_of_host(&host));
    let client = control::connect(&login(args)?).await?;
    let metadata = HashMap::from([
        ("agent".to_string(), name.clone()),
        ("host".to_string(), host.clone()),
    ]);
    let service = (client.service_builder())
        .description("pubduel load agent: runs its share of a coordinator's runs")
        .metadata(metadata)
        .start(wire::SERVICE, wire::VERSION)
        .await
        .map_err(|e| anyhow::anyhow!("cannot join the control server as a service: {e}"))?;
    let mut starts = (service.endpoint(wire::endpoint(&name, "start")).await)
        .map_err(|e| anyhow::anyhow!("cannot listen for runs: {e}"))?;
    println!(
        "agent {name} on {host}, pubduel {}: waiting for runs on the control server",
        wire::VERSION
    );
    loop {
        let request = tokio::select! {
            r = starts.next() => match r {
                Some(r) => r,
                None => break,
            },
            _ = super::stop_signal(None) => break,
        };
        let order: Result<StartOrder, _> = serde_json::from_slice(&request.message.payload);
        let prepared = match order {
            Ok(order) => prepare(&name, order).await,
            Err(e) => Err(anyhow::anyhow!("a start order that cannot be read: {e}")),
        };
        match prepared {
            Ok(share) => {
                let _ = request.respond(Ok(r#"{"ok":true}"#.into())).await;
                println!("agent {name}: run {} started", share.order.run);
                live.follow(share.engine.handle());
                match share.run(&client, &name).await {
                    Ok(()) => println!("agent {name}: run done; waiting for the next"),
                    Err(e) => eprintln!("agent {name}: the run ended with an error: {e:#}"),
                }
                live.settle();
            }
            Err(e) => {
                let answer = serde_json::json!({ "error": format!("{e:#}") });
                let _ = request.respond(Ok(answer.to_string().into())).await;
                eprintln!("agent {name}: refused a run: {e:#}");
            }
        }
    }
    let _ = service.stop().await;
    Ok(())
}

/// The agent name a host's name makes: its letters, digits and `-`, anything else as `_`.
fn name_of_host(host: &str) -> String {
    host.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The control server with its login: the `[agents]` section of `--profile`, if given.
fn login(args: &AgentArgs) -> anyhow::Result<crate::brokers::nats::NatsSettings> {
    Ok(match &args.profile {
        Some(p) => {
            let profile = crate::profile::Profile::load(p)?;
            profile.agents.unwrap_or_default().login(&args.control)
        }
        None => crate::brokers::nats::NatsSettings {
            url: args.control.clone(),
            ..Default::default()
        },
    })
}

/// An agent's share of a run, its lanes connected and publishing.
struct Share {
    order: StartOrder,
    engine: Engine,
}

/// Connects the lanes of `order` with this agent's share of the knobs and starts publishing.
async fn prepare(name: &str, order: StartOrder) -> anyhow::Result<Share> {
    if order.version != wire::VERSION {
        anyhow::bail!(
            "agent {name} runs pubduel {}, the coordinator {}",
            wire::VERSION,
            order.version
        );
    }
    let cfg = run_config(&order)?;
    // Watch this host, so each phase can say whether it was starved.
    crate::metrics::host::start();
    let setups = connect_lanes(&cfg).await?;
    let engine = Engine::start(
        setups,
        EngineConfig {
            warmup: cfg.warmup,
            e2e: cfg.e2e,
            keep_intervals: true,
            precise: cfg.precise,
            analyse: no_analysis(),
            payload: cfg.payload.clone(),
            ..EngineConfig::default()
        },
    )
    .await?;
    Ok(Share { order, engine })
}

/// The run an order describes, with this agent's share of every lane's knobs.
fn run_config(order: &StartOrder) -> anyhow::Result<RunConfig> {
    let mine = |k: &Knobs| knobs_of(k, &order.weights, order.index);
    let lanes = (order.lanes.iter())
        .map(|l| {
            let own = match (&l.kafka, &l.nats) {
                (Some(k), _) => BrokerSettings::Kafka(k.clone()),
                (None, Some(n)) => BrokerSettings::Nats(n.clone()),
                (None, None) => anyhow::bail!("lane {} comes without its settings", l.name),
            };
            Ok(LaneConfig {
                name: l.name.clone(),
                kind: l.kind,
                knobs: mine(&l.knobs),
                own: Some(own),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let payload = match &order.payload {
        Some(b64) => Some(base64::prelude::BASE64_STANDARD.decode(b64)?.into()),
        None => None,
    };
    Ok(RunConfig {
        profile_name: format!("run {}", order.run),
        profile_path: None,
        duration: None,
        warmup: Duration::from_millis(order.warmup_ms),
        e2e: order.e2e,
        precise: order.precise,
        threads: None,
        lanes,
        kafka: Default::default(),
        nats: Default::default(),
        report: None,
        steps: Vec::new(),
        asserts: Vec::new(),
        export: ExportPaths::default(),
        payload,
        agents: None,
        metrics_listen: None,
    })
}

impl Share {
    /// Follows the coordinator's orders and sends an interval each second, until the last order
    /// or the coordinator falls silent; then settles what is in flight and sends the rest.
    async fn run(self, client: &async_nats::Client, name: &str) -> anyhow::Result<()> {
        let run = &self.order.run;
        let mut orders = client.subscribe(wire::orders_subject(run)).await?;
        let mut beats = client.subscribe(wire::beat_subject(run)).await?;
        let handle = self.engine.handle();
        let mut ticks = handle.ticks();
        let mut out = Sender {
            client: client.clone(),
            subject: wire::data_subject(run),
            agent: name.to_string(),
            seq: 0,
            versions: vec![0],
            e2e: Vec::new(),
            hosts: Vec::new(),
        };
        let mut heard = Instant::now();
        let mut check = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                r = ticks.changed() => {
                    if r.is_err() { break; }
                    out.send(&handle, false).await;
                }
                m = orders.next() => {
                    let Some(m) = m else { break };
                    heard = Instant::now();
                    let Ok(o) = serde_json::from_slice::<KnobOrder>(&m.payload) else { continue };
                    if o.end {
                        break;
                    }
                    // Never an order older than one applied; the first knobs are version 0.
                    if o.version > out.applied() {
                        self.apply(&handle, &o);
                        out.took(o.version, run).await;
                    }
                }
                m = beats.next() => {
                    if m.is_none() { break; }
                    heard = Instant::now();
                }
                _ = check.tick() => {
                    if heard.elapsed() > ORPHAN_AFTER {
                        eprintln!("agent {name}: the coordinator of run {run} is silent for {}s: stopping", ORPHAN_AFTER.as_secs());
                        break;
                    }
                }
            }
        }
        let phases = self.engine.finish().await;
        let version_of = |p: &crate::metrics::PhaseResult| {
            out.versions.get(p.index as usize).copied().unwrap_or(0)
        };
        out.e2e = (phases.iter())
            .filter(|p| p.lanes.iter().any(|l| l.e2e.is_some()))
            .map(|p| (version_of(p), p.lanes.iter().map(|l| l.e2e).collect()))
            .collect();
        out.hosts = (phases.iter())
            .filter_map(|p| Some((version_of(p), p.host.clone()?)))
            .collect();
        out.send(&handle, true).await;
        Ok(())
    }

    /// Applies a knob order: this agent's share of each lane's knobs, and the pause, as one
    /// phase.
    fn apply(&self, handle: &EngineHandle, o: &KnobOrder) {
        let (weights, index) = (&self.order.weights, self.order.index);
        let knobs: Vec<Knobs> = (o.knobs.iter())
            .map(|k| knobs_of(k, weights, index))
            .collect();
        handle.set(knobs, o.paused, o.note.clone());
    }
}

/// Sends the intervals the engine closed to the coordinator, each tagged with the knob order
/// of its phase.
struct Sender {
    client: async_nats::Client,
    subject: String,
    agent: String,
    seq: u64,
    /// The knob order of each of the engine's phases, by phase index.
    versions: Vec<u64>,
    /// Each phase's end-to-end counts, for the last interval.
    e2e: Vec<(u64, Vec<Option<E2eCounts>>)>,
    /// Each phase's host load, for the last interval.
    hosts: Vec<(u64, HostLoad)>,
}

impl Sender {
    /// The newest knob order applied.
    fn applied(&self) -> u64 {
        self.versions.last().copied().unwrap_or(0)
    }

    /// Notes that knob order `version` is applied (the engine's next phase is its) and tells the
    /// coordinator at once.
    async fn took(&mut self, version: u64, run: &str) {
        self.versions.push(version);
        let said = Applied {
            agent: self.agent.clone(),
            version,
        };
        if let Err(e) = wire::publish_json(&self.client, wire::applied_subject(run), &said).await {
            tracing::warn!("agent: knob order v{version} applied, but not said: {e}");
        }
        let _ = self.client.flush().await;
    }

    /// Sends every interval closed since the last call, one message each; with `last`, says it
    /// is the run's last (sent even when nothing closed).
    async fn send(&mut self, handle: &EngineHandle, last: bool) {
        let records = handle.take_intervals();
        let mut groups: Vec<Vec<IntervalRecord>> = Vec::new();
        for r in records {
            match groups.last_mut() {
                Some(g) if g[0].end_s == r.end_s => g.push(r),
                _ => groups.push(vec![r]),
            }
        }
        if last && groups.is_empty() {
            groups.push(Vec::new());
        }
        let n = groups.len();
        for (i, group) in groups.into_iter().enumerate() {
            let first = group.first();
            let phase = first.map_or(0, |r| r.phase) as usize;
            let lanes = (group.iter())
                .map(|r| LaneInterval::of(r.counts, r.in_flight, &r.stages).unwrap_or_default())
                .collect();
            let iv = Interval {
                agent: self.agent.clone(),
                seq: self.seq,
                version: self.applied(),
                phase_version: self.versions.get(phase).copied().unwrap_or(0),
                warm: first.is_some_and(|r| r.warm),
                start_s: first.map_or(0.0, |r| r.start_s),
                end_s: first.map_or(0.0, |r| r.end_s),
                lanes,
                last: last && i + 1 == n,
                e2e: if last && i + 1 == n {
                    std::mem::take(&mut self.e2e)
                } else {
                    Vec::new()
                },
                hosts: if last && i + 1 == n {
                    std::mem::take(&mut self.hosts)
                } else {
                    Vec::new()
                },
            };
            self.seq += 1;
            match serde_json::to_vec(&iv) {
                Ok(body) => {
                    if let Err(e) = self.client.publish(self.subject.clone(), body.into()).await {
                        tracing::warn!("agent: an interval did not go out: {e}");
                    }
                }
                Err(e) => tracing::warn!("agent: an interval cannot be written: {e}"),
            }
        }
        let _ = self.client.flush().await;
    }
}
