//! What travels on the control bus, as JSON: the service the agents make themselves known by,
//! the run's start order, the numbered knob orders, the agents' one-second intervals (counters
//! and HdrHistogram V2 compressed histograms, base64) and the coordinator's heartbeat. No secret
//! is ever part of a message: broker settings travel redacted, and secrets are read by each agent
//! on its own host from the `*_env` and `*_file` keys.

use crate::brokers::kafka::KafkaSettings;
use crate::brokers::nats::NatsSettings;
use crate::metrics::host::HostLoad;
use crate::metrics::{decode_v2, CounterValues, E2eCounts, HistogramError, StageSet};
use crate::vocab::{Knobs, LaneKind, Stage};
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// The name agents register as a NATS service (`nats micro ls` lists them under it).
pub const SERVICE: &str = "pubduel-agent";

/// pubduel's version: agents and coordinator must have the same.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The subject of an agent's endpoint `what` (`start`).
pub fn endpoint(agent: &str, what: &str) -> String {
    format!("pubduel.agent.{agent}.{what}")
}

/// Where the coordinator sends a run's knob orders (every agent takes them).
pub fn orders_subject(run: &str) -> String {
    format!("pubduel.run.{run}.orders")
}

/// Where the agents send a run's intervals.
pub fn data_subject(run: &str) -> String {
    format!("pubduel.run.{run}.data")
}

/// Where an agent says, as soon as it has applied a knob order, which one.
pub fn applied_subject(run: &str) -> String {
    format!("pubduel.run.{run}.applied")
}

/// Where the coordinator says, every second, that it is still there.
pub fn beat_subject(run: &str) -> String {
    format!("pubduel.run.{run}.beat")
}

/// An agent as the service discovery shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentInfo {
    /// Its name (`--name`).
    pub name: String,
    /// The host it runs on.
    pub host: String,
    /// Its pubduel version.
    pub version: String,
}

/// Starts a run on one agent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StartOrder {
    /// The run's id (subjects are made of it).
    pub run: String,
    /// The coordinator's pubduel version.
    pub version: String,
    /// This agent's position among the run's agents.
    pub index: usize,
    /// Every agent's weight, in position order: the agent's share is its part of them.
    pub weights: Vec<u64>,
    /// Warm-up per phase, in milliseconds.
    pub warmup_ms: u64,
    /// End-to-end consumers on (each agent consumes its own messages).
    pub e2e: bool,
    /// Spin the last microseconds before each open-loop slot.
    pub precise: bool,
    /// The lanes, with the whole run's first knobs.
    pub lanes: Vec<LaneOrder>,
    /// The payload file's bytes (base64), if one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
}

/// One lane of a start order: its name, kind, knobs and broker settings (redacted).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LaneOrder {
    /// The lane's name.
    pub name: String,
    /// Its kind.
    pub kind: LaneKind,
    /// The whole run's first knobs (the agent takes its share).
    pub knobs: Knobs,
    /// A Kafka lane's settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka: Option<KafkaSettings>,
    /// A NATS lane's settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nats: Option<NatsSettings>,
}

/// A knob order: every lane's knobs for the whole run, numbered; each agent takes its share.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnobOrder {
    /// Counts up from 0; an agent never applies an order older than one it has.
    pub version: u64,
    /// Each lane's knobs, whole.
    pub knobs: Vec<Knobs>,
    /// Publishing paused.
    #[serde(default)]
    pub paused: bool,
    /// The caption of the phase the order opens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Publishing is over: stop, settle, send the rest.
    #[serde(default)]
    pub end: bool,
}

/// An agent has applied a knob order (sent at once, not with its next interval).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Applied {
    /// The agent.
    pub agent: String,
    /// The knob order's version.
    pub version: u64,
}

/// What one agent measured in one interval (about a second), for every lane.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Interval {
    /// The agent.
    pub agent: String,
    /// The interval's number from this agent, from 0.
    pub seq: u64,
    /// The newest knob order the agent has applied.
    pub version: u64,
    /// The knob order of the phase the interval belongs to: the coordinator's phase of the same
    /// number.
    #[serde(default)]
    pub phase_version: u64,
    /// Its samples are the phase's warm-up.
    #[serde(default)]
    pub warm: bool,
    /// The interval's start, seconds since the agent's run started.
    #[serde(default)]
    pub start_s: f64,
    /// The interval's end, seconds since the agent's run started.
    pub end_s: f64,
    /// One part per lane, in lane order.
    pub lanes: Vec<LaneInterval>,
    /// The agent's last interval of the run: everything it measured has been sent.
    #[serde(default)]
    pub last: bool,
    /// With the last interval and end to end on: each phase's end-to-end counts (by the knob
    /// order of the phase), one entry per lane.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub e2e: Vec<(u64, Vec<Option<E2eCounts>>)>,
    /// With the last interval: what the agent's host did over each phase's measured part (by
    /// the knob order of the phase), where it could tell.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<(u64, HostLoad)>,
}

/// One lane's part of an interval.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LaneInterval {
    /// Counter growth within the interval.
    pub counts: CounterValues,
    /// Messages in flight at its end.
    pub in_flight: u64,
    /// Each stage's histogram that has samples: stage name and V2 compressed form, base64.
    pub stages: Vec<(String, String)>,
}

impl LaneInterval {
    /// The part of `stages`, `counts` and `in_flight`, histograms encoded.
    pub fn of(
        counts: CounterValues,
        in_flight: u64,
        stages: &StageSet,
    ) -> Result<LaneInterval, HistogramError> {
        let mut out = Vec::new();
        for stage in Stage::ALL {
            if let Some(bytes) = stages.encoded(stage)? {
                let b64 = base64::prelude::BASE64_STANDARD.encode(bytes);
                out.push((stage.as_str().to_string(), b64));
            }
        }
        Ok(LaneInterval {
            counts,
            in_flight,
            stages: out,
        })
    }

    /// The histograms, read back; a stage this version does not know is left out.
    pub fn stage_set(&self) -> Result<StageSet, HistogramError> {
        let mut set = StageSet::default();
        for (name, b64) in &self.stages {
            let Some(stage) = Stage::ALL.into_iter().find(|s| s.as_str() == name) else {
                continue;
            };
            let bytes = base64::prelude::BASE64_STANDARD
                .decode(b64)
                .map_err(|e| HistogramError::Decode(e.to_string()))?;
            set.add_histogram(stage, &decode_v2(&bytes)?);
        }
        Ok(set)
    }
}

/// Publishes `value` as JSON on `subject`.
pub async fn publish_json<T: serde::Serialize>(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interval_round_trips_its_histograms_exactly() {
        let mut set = StageSet::default();
        for v in [3, 70, 1200, 55_000, 59_999_999, 1] {
            set.record(Stage::Ack, v);
            set.record(Stage::Submit, v / 2 + 1);
        }
        let counts = CounterValues {
            sent: 6,
            acked: 5,
            ..CounterValues::default()
        };
        let part = LaneInterval::of(counts, 1, &set).unwrap();
        let json = serde_json::to_string(&part).unwrap();
        let back: LaneInterval = serde_json::from_str(&json).unwrap();
        let got = back.stage_set().unwrap();
        for stage in [Stage::Ack, Stage::Submit] {
            assert_eq!(got.histogram(stage), set.histogram(stage), "{stage:?}");
        }
        assert_eq!(got.count(Stage::E2e), 0);
        assert_eq!(back.counts, counts);
    }

    #[test]
    fn knob_orders_and_start_orders_read_back() {
        let order = KnobOrder {
            version: 7,
            knobs: vec![Knobs::default(); 2],
            paused: false,
            note: Some("double".into()),
            end: false,
        };
        let back: KnobOrder =
            serde_json::from_str(&serde_json::to_string(&order).unwrap()).unwrap();
        assert_eq!(back, order);
        let start = StartOrder {
            run: "r1".into(),
            version: VERSION.into(),
            index: 1,
            weights: vec![1, 1],
            warmup_ms: 1000,
            e2e: false,
            precise: false,
            lanes: vec![LaneOrder {
                name: "nats".into(),
                kind: LaneKind::Nats,
                knobs: Knobs::default(),
                kafka: None,
                nats: Some(NatsSettings::default()),
            }],
            payload: None,
        };
        let json = serde_json::to_string(&start).unwrap();
        let back: StartOrder = serde_json::from_str(&json).unwrap();
        assert_eq!(back.lanes[0].nats, start.lanes[0].nats);
    }
}
