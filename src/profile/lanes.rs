//! Named lanes in a profile: `lanes = ["k0", "k5"]`, and for each a `[lane.NAME]` section with its
//! `kind` (a lane named `kafka` or `nats` needs none) and knob overrides, and in
//! `[lane.NAME.kafka]` (or `[lane.NAME.nats]`) the broker settings that differ from the
//! `[kafka]` (`[nats]`) section.
//!
//! ```toml
//! lanes = ["k0", "k5"]
//!
//! [lane.k0]
//! kind = "kafka"
//! [lane.k0.kafka]
//! linger_ms = 0
//!
//! [lane.k5]
//! kind = "kafka"
//! ack = "sync"          # a knob for this lane only
//! ```

use super::{Fault, Profile};
use crate::brokers::kafka::KafkaSettings;
use crate::brokers::nats::NatsSettings;
use crate::brokers::{is_default_lane, BrokerSettings};
use crate::vocab::{KnobLayer, LaneKind};
use serde::Deserialize;

/// Keys a `[lane.NAME]` section may set besides the knobs.
pub(super) const LANE_KEYS: [&str; 3] = ["kind", "kafka", "nats"];

/// One lane's own section, `[lane.NAME]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct LaneSection {
    /// `kafka` or `nats`; a lane named after a kind may leave it out.
    pub kind: Option<String>,
    /// The knobs for this lane only.
    #[serde(flatten)]
    pub knobs: KnobLayer,
    /// Kafka settings that differ from `[kafka]`.
    pub kafka: Option<toml::Table>,
    /// NATS settings that differ from `[nats]`.
    pub nats: Option<toml::Table>,
}

/// The default lanes, when a profile names none.
pub fn default_lanes() -> Vec<String> {
    vec![
        LaneKind::Kafka.as_str().to_string(),
        LaneKind::Nats.as_str().to_string(),
    ]
}

/// Whether `name` can name a lane: letters, digits, `-` and `_` (it goes into thresholds like
/// `k0.ack.p99`, topics and subjects).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl Profile {
    /// The lanes the profile runs, in order: its `lanes`, else `kafka` and `nats`.
    pub fn lane_names(&self) -> Vec<String> {
        self.lanes.clone().unwrap_or_else(default_lanes)
    }

    /// The knobs lane `name` sets for itself.
    pub fn lane_knobs(&self, name: &str) -> KnobLayer {
        self.lane.get(name).map(|s| s.knobs).unwrap_or_default()
    }

    /// The kind of lane `name`: its `kind`, or the kind it is named after.
    pub fn lane_kind(&self, name: &str) -> Result<LaneKind, Fault> {
        let section = format!("lane.{name}");
        let written = self.lane.get(name).and_then(|s| s.kind.as_deref());
        let implied = [LaneKind::Kafka, LaneKind::Nats]
            .into_iter()
            .find(|k| k.as_str() == name);
        match (written, implied) {
            (None, Some(k)) => Ok(k),
            (None, None) if self.lane.contains_key(name) => Err(Fault::in_section(
                &section,
                (
                    "kind",
                    format!("lane `{name}` needs kind = \"kafka\" or kind = \"nats\""),
                ),
            )),
            (None, None) => Err(Fault::top((
                "lanes",
                format!(
                    "lane `{name}` needs kind = \"kafka\" or kind = \"nats\" in a [lane.{name}] section"
                ),
            ))),
            (Some(w), _) => {
                let kind = [LaneKind::Kafka, LaneKind::Nats]
                    .into_iter()
                    .find(|k| k.as_str() == w)
                    .ok_or_else(|| {
                        let msg = format!("`{w}` is not a kind of lane: kafka or nats");
                        Fault::in_section(&section, ("kind", msg))
                    })?;
                match implied {
                    Some(i) if i != kind => Err(Fault::in_section(
                        &section,
                        (
                            "kind",
                            format!("the lane named `{name}` is a {name} lane, not {w}"),
                        ),
                    )),
                    _ => Ok(kind),
                }
            }
        }
    }

    /// Lane `name`'s broker settings: `kafka` (or `nats`), the section the flags have already
    /// changed, with what `[lane.NAME.kafka]` (`[lane.NAME.nats]`) changes, and the lane's own
    /// topic, stream and subject unless that section names them.
    pub fn lane_broker(
        &self,
        name: &str,
        kafka: &KafkaSettings,
        nats: &NatsSettings,
    ) -> Result<BrokerSettings, Fault> {
        let kind = self.lane_kind(name)?;
        let own = self.lane.get(name);
        let section = format!("lane.{name}.{}", kind.as_str());
        let other = match kind {
            LaneKind::Kafka => ("nats", own.and_then(|s| s.nats.as_ref())),
            LaneKind::Nats => ("kafka", own.and_then(|s| s.kafka.as_ref())),
        };
        if let (key, Some(_)) = other {
            let msg = format!(
                "lane `{name}` is a {} lane: it has no [{key}] settings",
                kind.as_str()
            );
            return Err(Fault::in_section(&format!("lane.{name}.{key}"), (key, msg)));
        }
        let changes = match kind {
            LaneKind::Kafka => own.and_then(|s| s.kafka.clone()),
            LaneKind::Nats => own.and_then(|s| s.nats.clone()),
        }
        .unwrap_or_default();
        let fail = |key: String, message: String| Fault {
            key,
            section: Some(section.clone()),
            entry: None,
            message,
        };
        let merged = |base: toml::Table| {
            let mut table = base;
            table.extend(changes.clone());
            table
        };
        let read = |e: toml::de::Error| fail(first_key(&changes), e.message().into());
        let settings = match kind {
            LaneKind::Kafka => {
                let k: KafkaSettings = merged(toml::Table::try_from(kafka).unwrap_or_default())
                    .try_into()
                    .map_err(read)?;
                k.validate().map_err(|(key, m)| fail(key.into(), m))?;
                BrokerSettings::Kafka(k)
            }
            LaneKind::Nats => {
                let n: NatsSettings = merged(toml::Table::try_from(nats).unwrap_or_default())
                    .try_into()
                    .map_err(read)?;
                n.validate().map_err(|(key, m)| fail(key.into(), m))?;
                BrokerSettings::Nats(n)
            }
        };
        let explicit: Vec<&str> = changes.keys().map(String::as_str).collect();
        Ok(settings.own_names(name, &explicit))
    }

    /// Checks the lanes: valid and distinct names, every `[lane.NAME]` section for a lane that
    /// can run, its keys known, its kind and its broker settings.
    pub(super) fn validate_lanes(&self) -> Result<(), Fault> {
        let names = self.lane_names();
        if names.is_empty() {
            let msg = "must name at least one lane (e.g. kafka, nats)".to_string();
            return Err(Fault::top(("lanes", msg)));
        }
        for (i, name) in names.iter().enumerate() {
            if !valid_name(name) {
                let msg = format!("`{name}` is not a lane name: use letters, digits, `-` and `_`");
                return Err(Fault::top(("lanes", msg)));
            }
            if names[..i].contains(name) {
                return Err(Fault::top((
                    "lanes",
                    format!("two lanes are named `{name}`"),
                )));
            }
        }
        for name in self.lane.keys() {
            if !names.contains(name) && !is_default_lane(name) {
                let msg = format!(
                    "lane `{name}` is not in `lanes` ({}): add it there, or remove [lane.{name}]",
                    names.join(", ")
                );
                return Err(Fault::in_section(&format!("lane.{name}"), ("kind", msg)));
            }
        }
        let (kafka, nats) = (
            self.kafka.clone().unwrap_or_default(),
            self.nats.clone().unwrap_or_default(),
        );
        for name in &names {
            self.lane_broker(name, &kafka, &nats)?;
        }
        Ok(())
    }
}

/// The first key of `table`, to point an error at when the deserialiser does not say which.
fn first_key(table: &toml::Table) -> String {
    table
        .keys()
        .next()
        .cloned()
        .unwrap_or_else(|| "kind".into())
}

/// Refuses unknown keys in the `[lane.NAME]` sections (the knobs are flattened there, where
/// serde's errors lose their place).
pub(super) fn check_lane_keys(table: &toml::Table) -> Result<(), Fault> {
    let Some(lanes) = table.get("lane").and_then(toml::Value::as_table) else {
        return Ok(());
    };
    let known: Vec<&str> = LANE_KEYS.iter().chain(KnobLayer::KEYS).copied().collect();
    for (name, section) in lanes {
        let here = format!("lane.{name}");
        let Some(section) = section.as_table() else {
            let msg = format!("[lane.{name}] must be a table");
            return Err(Fault::top(("lane", msg)));
        };
        if let Some(k) = section.keys().find(|k| !known.contains(&k.as_str())) {
            let hint = super::closest(k, &known)
                .map(|c| format!("; did you mean `{c}`?"))
                .unwrap_or_default();
            let msg = format!(
                "unknown key `{k}` in [{here}]{hint} (known keys: {})",
                known.join(", ")
            );
            return Err(Fault::in_section(&here, (k, msg)));
        }
        super::check_knob_types(section).map_err(|e| Fault::in_section(&here, e))?;
        super::check_inline_secrets(section, &format!("{here}."))?;
    }
    Ok(())
}
