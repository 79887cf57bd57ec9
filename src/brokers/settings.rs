//! A lane's broker settings, of either kind: its section of the profile (`[kafka]` or `[nats]`)
//! with what the lane's own `[lane.NAME.kafka]` (`[lane.NAME.nats]`) changes, and the topic,
//! stream and subject made the lane's own unless that section names them.

use super::kafka::{self, KafkaSettings};
use super::nats::{self, NatsSettings};
use super::{BrokerError, Publisher};
use crate::vocab::{AckStrategy, Durability, Knobs, LaneKind};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The settings of one lane's broker.
#[derive(Debug, Clone, PartialEq)]
pub enum BrokerSettings {
    /// A Kafka lane's.
    Kafka(KafkaSettings),
    /// A NATS lane's.
    Nats(NatsSettings),
}

/// Most messages in one NATS atomic batch (the server's limit).
pub const NATS_ATOMIC_MAX: u32 = 1000;

/// Why a lane of `kind` cannot run with `knobs`, as (knob, message); `None` when it can.
pub fn refuses(kind: LaneKind, knobs: &Knobs) -> Option<(&'static str, String)> {
    match (kind, knobs.ack) {
        (LaneKind::Nats, AckStrategy::Atomic) if knobs.batch > NATS_ATOMIC_MAX => Some((
            "batch",
            format!(
                "a NATS atomic batch holds at most {NATS_ATOMIC_MAX} messages (the server's \
                 limit); batch is {}",
                knobs.batch
            ),
        )),
        (LaneKind::Kafka, AckStrategy::Fast) => Some(("ack", KAFKA_NO_FAST.into())),
        _ => None,
    }
}

/// Why a Kafka lane cannot take `fast`.
pub const KAFKA_NO_FAST: &str = "a Kafka lane has no `fast` ack strategy: fast-ingest batch \
     publish is NATS's (nats-server 2.14+); Kafka's nearest are `async` with linger_ms and \
     `atomic` (transactions)";

/// The lane names that are also kinds: their lanes keep the section's topic, stream and subject
/// as they are, as every profile before named lanes did.
pub fn is_default_lane(name: &str) -> bool {
    name == LaneKind::Kafka.as_str() || name == LaneKind::Nats.as_str()
}

impl BrokerSettings {
    /// The lane's kind.
    pub fn kind(&self) -> LaneKind {
        match self {
            BrokerSettings::Kafka(_) => LaneKind::Kafka,
            BrokerSettings::Nats(_) => LaneKind::Nats,
        }
    }

    /// What an ack of the lane means: storage, copies, linger.
    pub fn durability(&self) -> Durability {
        match self {
            BrokerSettings::Kafka(k) => k.durability(),
            BrokerSettings::Nats(n) => n.durability(),
        }
    }

    /// Connects the lane's client.
    pub async fn connect(&self) -> Result<Arc<dyn Publisher>, BrokerError> {
        Ok(match self {
            BrokerSettings::Kafka(k) => kafka::connect(k).await?,
            BrokerSettings::Nats(n) => nats::connect(n).await?,
        })
    }

    /// Makes the topic (Kafka), or the stream and subject (NATS), lane `name`'s own, unless
    /// `explicit` (the keys the lane's own section sets) names them, or the lane is one of the
    /// default lanes: two lanes on one broker then never count each other's messages.
    pub fn own_names(mut self, name: &str, explicit: &[&str]) -> BrokerSettings {
        if is_default_lane(name) {
            return self;
        }
        let set = |key: &str| explicit.contains(&key);
        match &mut self {
            BrokerSettings::Kafka(k) if !set("topic") => k.topic = format!("{}-{name}", k.topic),
            BrokerSettings::Kafka(_) => {}
            BrokerSettings::Nats(n) => {
                if !set("stream") {
                    let token: String = (name.chars())
                        .map(|c| match c {
                            'a'..='z' | 'A'..='Z' | '0'..='9' => c.to_ascii_uppercase(),
                            _ => '_',
                        })
                        .collect();
                    n.stream = format!("{}_{token}", n.stream);
                }
                if !set("subject") {
                    // A sibling of the subject, not a child: the keyed form of the default
                    // lane's subject (`subject.KEY`) must not take in this lane's messages.
                    n.subject = format!("{}-{name}", n.subject);
                }
            }
        }
        self
    }

    /// The settings as a report shows them (nothing that may carry a secret), as a TOML table.
    pub fn redacted_table(&self) -> toml::Table {
        let table = match self {
            BrokerSettings::Kafka(k) => toml::Table::try_from(k.redacted()),
            BrokerSettings::Nats(n) => toml::Table::try_from(n.redacted()),
        };
        table.unwrap_or_default()
    }

    /// The keys whose values differ from `base`'s (of the same kind), with this lane's values,
    /// redacted: what a report records of a lane, beside its section.
    pub fn differences(&self, base: &BrokerSettings) -> BTreeMap<String, toml::Value> {
        let (mine, theirs) = (self.redacted_table(), base.redacted_table());
        mine.into_iter()
            .filter(|(k, v)| theirs.get(k) != Some(v))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_lane_gets_its_own_topic_stream_and_subject_unless_it_names_them() {
        let k = BrokerSettings::Kafka(KafkaSettings::default());
        let BrokerSettings::Kafka(own) = k.clone().own_names("k-linger0", &[]) else {
            unreachable!()
        };
        assert_eq!(own.topic, "pubduel-k-linger0");
        let BrokerSettings::Kafka(kept) = k.clone().own_names("k0", &["topic"]) else {
            unreachable!()
        };
        assert_eq!(kept.topic, "pubduel");
        assert_eq!(
            k.clone().own_names("kafka", &[]),
            k,
            "a default lane keeps its names"
        );
        let n = BrokerSettings::Nats(NatsSettings::default());
        let BrokerSettings::Nats(own) = n.own_names("mem-r1", &[]) else {
            unreachable!()
        };
        assert_eq!(
            (own.stream.as_str(), own.subject.as_str()),
            ("PUBDUEL_MEM_R1", "pubduel.bench-mem-r1")
        );
    }

    #[test]
    fn differences_name_only_what_the_lane_changes() {
        let base = BrokerSettings::Kafka(KafkaSettings::default());
        let lane = BrokerSettings::Kafka(KafkaSettings {
            linger_ms: 0,
            ..KafkaSettings::default()
        })
        .own_names("k0", &[]);
        let d = lane.differences(&base);
        assert_eq!(
            d.keys().map(String::as_str).collect::<Vec<_>>(),
            ["linger_ms", "topic"]
        );
        assert_eq!(d["linger_ms"], toml::Value::Integer(0));
    }
}
