//! Workload profiles: TOML files of knobs, per-lane overrides and broker settings.
//! Unknown keys, wrong types and out-of-range values are errors that name the file, line and key.

use crate::brokers::kafka::{self, KafkaSettings};
use crate::brokers::nats::{self, NatsSettings};
use crate::report::threshold::{Threshold, ThresholdError};
use crate::vocab::KnobLayer;
use crate::vocab::Knobs;
use serde::{Deserialize, Deserializer};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod lanes;
mod steps;

pub use lanes::{default_lanes, valid_name, LaneSection};
pub use steps::StepSpec;

/// A workload profile as written in a TOML file. Unknown keys are refused by [`Profile::parse`]
/// (which names the line and the key that was probably meant), not by serde.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Profile {
    /// Short name (the file stem when absent).
    pub name: Option<String>,
    /// What the profile is for.
    pub description: Option<String>,
    /// Run length, e.g. `30s`, `2m` (runs until quit when absent).
    #[serde(default, deserialize_with = "de_duration")]
    pub duration: Option<Duration>,
    /// Warm-up left out of each phase's percentiles, e.g. `2s`.
    #[serde(default, deserialize_with = "de_duration")]
    pub warmup: Option<Duration>,
    /// Run an in-process consumer per lane and record end-to-end latency.
    pub e2e: Option<bool>,
    /// Spin the last microseconds before each open-loop slot (precise pacing, costs CPU).
    pub precise: Option<bool>,
    /// A file whose bytes every message carries (e.g. a JSON envelope), relative to the
    /// profile's folder; the message size is then the file's.
    pub payload: Option<PathBuf>,
    /// Lanes to run, by name (`kafka` and `nats` when absent).
    pub lanes: Option<Vec<String>>,
    /// The knobs for every lane, at the top level of the file.
    #[serde(flatten)]
    pub knobs: KnobLayer,
    /// Each lane's own section: kind, knob overrides and broker settings.
    #[serde(default)]
    pub lane: std::collections::BTreeMap<String, LaneSection>,
    /// Kafka lane settings.
    pub kafka: Option<KafkaSettings>,
    /// NATS lane settings.
    pub nats: Option<NatsSettings>,
    /// Scripted knob changes, each opening a phase (a scenario).
    #[serde(default)]
    pub steps: Vec<StepSpec>,
    /// Thresholds the run must meet: `[[assert]]` tables.
    #[serde(default, rename = "assert")]
    pub asserts: Vec<AssertSpec>,
}

/// A threshold in a profile: `[[assert]]` with `expr = "nats.ack.p99 < 5ms"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssertSpec {
    /// The threshold, as `--assert` takes it.
    pub expr: String,
}

fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let s = String::deserialize(d)?;
    parse_duration(&s)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

/// Largest payload file: the brokers' default limits (Kafka's `message.max.bytes`, NATS's
/// `max_payload`) are about 1 MiB.
pub const MAX_PAYLOAD_FILE: u64 = 1024 * 1024;

/// The bytes of payload file `path`, or why it cannot be one.
pub fn read_payload(path: &Path) -> Result<bytes::Bytes, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{} is not a file", path.display()));
    }
    if meta.len() > MAX_PAYLOAD_FILE {
        return Err(format!(
            "{} is {} bytes, larger than the brokers' default message limit ({MAX_PAYLOAD_FILE})",
            path.display(),
            meta.len()
        ));
    }
    if meta.len() == 0 {
        return Err(format!("{} is empty", path.display()));
    }
    std::fs::read(path)
        .map(bytes::Bytes::from)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// A duration that does not parse.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid duration `{text}` ({source}); use e.g. 10s, 2m, 500ms")]
pub struct DurationError {
    /// What was written.
    pub text: String,
    /// Why it does not parse.
    pub source: humantime::DurationError,
}

/// Parses `10s`, `2m`, `1h30m`, `500ms`.
pub fn parse_duration(s: &str) -> Result<Duration, DurationError> {
    humantime::parse_duration(s.trim()).map_err(|source| DurationError {
        text: s.to_string(),
        source,
    })
}

/// A profile that cannot be used, with where in which file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileError {
    /// The profile file.
    pub path: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// The key at fault, when known.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        write!(f, ": ")?;
        if let Some(k) = &self.key {
            write!(f, "key `{k}`")?;
            if let Some(l) = self.line {
                write!(f, " (line {l})")?;
            }
            write!(f, ": ")?;
        }
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for ProfileError {}

/// Top-level keys besides the knobs (which come from [`KnobLayer::KEYS`]).
const OTHER_KEYS: [&str; 13] = [
    "name",
    "payload",
    "description",
    "duration",
    "warmup",
    "e2e",
    "precise",
    "lanes",
    "lane",
    "kafka",
    "nats",
    "steps",
    "assert",
];

/// Every key a profile may set at its top level.
fn top_keys() -> Vec<&'static str> {
    OTHER_KEYS.iter().chain(KnobLayer::KEYS).copied().collect()
}

impl Profile {
    /// Reads, parses and validates a profile file.
    pub fn load(path: &Path) -> Result<Profile, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|e| ProfileError {
            path: path.to_path_buf(),
            line: None,
            column: None,
            key: None,
            message: format!("cannot read the profile: {e}"),
        })?;
        Profile::parse(path, &text)
    }

    /// Parses and validates profile text; `path` is only used in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Profile, ProfileError> {
        let at = |fault: Fault| {
            let line = match fault.entry {
                Some((table, i)) => locate_entry(text, table, i, &fault.key),
                None => locate(text, fault.section.as_deref(), &fault.key).or_else(|| {
                    fault
                        .section
                        .as_deref()
                        .and_then(|s| locate_header(text, s))
                }),
            };
            ProfileError {
                path: path.to_path_buf(),
                line,
                column: line.map(|_| 1),
                key: Some(fault.key),
                message: fault.message,
            }
        };
        let table: toml::Table = toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
        check_keys(&table).map_err(at)?;
        let mut profile: Profile = toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
        let folder = path.parent().filter(|d| !d.as_os_str().is_empty());
        if let (Some(p), Some(dir)) = (profile.payload.as_mut(), folder) {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        }
        profile.validate().map_err(at)?;
        Ok(profile)
    }

    /// Checks every value against its allowed range.
    fn validate(&self) -> Result<(), Fault> {
        let knobs = self.knobs.over(Knobs::default());
        knobs.validate().map_err(Fault::top)?;
        for (name, section) in &self.lane {
            let k = section.knobs.over(knobs);
            k.validate()
                .map_err(|e| Fault::in_section(&format!("lane.{name}"), e))?;
        }
        if let Some(k) = &self.kafka {
            if let Some((property, message)) = k.typed_property() {
                return Err(Fault::in_section("kafka.properties", (&property, message)));
            }
            k.validate().map_err(|e| Fault::in_section("kafka", e))?;
        }
        if let Some(n) = &self.nats {
            n.validate().map_err(|e| Fault::in_section("nats", e))?;
        }
        self.validate_lanes()?;
        if let Some(p) = &self.payload {
            read_payload(p).map_err(|m| Fault::top(("payload", m)))?;
        }
        let lanes: Vec<(String, Knobs)> = (self.lane_names().into_iter())
            .map(|name| {
                let k = self.lane_knobs(&name).over(knobs);
                (name, k)
            })
            .collect();
        let played = steps::play(&self.steps, &lanes, self.duration)?;
        for (i, (name, first)) in lanes.iter().enumerate() {
            let kind = self.lane_kind(name)?;
            let all = std::iter::once(first).chain(played.iter().map(|s| &s.knobs[i]));
            if let Some((knob, msg)) = all.filter_map(|k| crate::brokers::refuses(kind, k)).next() {
                let msg = format!("lane `{name}`: {msg}");
                return Err(match self.lane.get(name) {
                    Some(s) if s.knobs.batch.is_some() => {
                        Fault::in_section(&format!("lane.{name}"), (knob, msg))
                    }
                    _ => Fault::top((knob, msg)),
                });
            }
        }
        let names = self.lane_names();
        for (i, t) in self.thresholds()?.iter().enumerate() {
            let Some(lane) = t.lane.as_deref() else {
                continue;
            };
            if !names.iter().any(|n| n == lane) && !crate::brokers::is_default_lane(lane) {
                let msg = format!("`{}`: unknown lane `{lane}` ({})", t.text, names.join(", "));
                return Err(Fault {
                    entry: Some(("assert", i)),
                    section: Some("assert".into()),
                    ..Fault::top(("expr", msg))
                });
            }
        }
        Ok(())
    }

    /// The profile's `[[assert]]` thresholds, parsed.
    pub fn thresholds(&self) -> Result<Vec<Threshold>, Fault> {
        (self.asserts.iter().enumerate())
            .map(|(i, a)| {
                parse_assert(&a.expr).map_err(|e| Fault {
                    entry: Some(("assert", i)),
                    section: Some("assert".into()),
                    ..Fault::top(("expr", e.to_string()))
                })
            })
            .collect()
    }

    /// The profile's steps played out over `lanes` (each lane with its first knobs, flags
    /// included) for a run of `duration`.
    pub fn steps_for(
        &self,
        lanes: &[(String, Knobs)],
        duration: Option<Duration>,
    ) -> Result<Vec<crate::vocab::Step>, Fault> {
        steps::play(&self.steps, lanes, duration)
    }
}

/// A threshold a run cannot check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssertError {
    /// It does not parse, or it is a ratio.
    #[error(transparent)]
    Threshold(#[from] ThresholdError),
    /// It names a lane that does not run.
    #[error("`{expr}`: unknown lane `{lane}`")]
    UnknownLane {
        /// The expression.
        expr: String,
        /// The lane it names.
        lane: String,
    },
}

/// Parses a threshold a run checks (`--assert`, `[[assert]]`): a value, not a ratio, on a lane
/// that can be named (whether it runs is for the run's settings to say).
pub fn parse_assert(expr: &str) -> Result<Threshold, AssertError> {
    let t = expr.parse::<Threshold>().and_then(Threshold::absolute)?;
    match t.lane.as_deref() {
        Some(l) if !valid_name(l) => Err(AssertError::UnknownLane {
            expr: expr.to_string(),
            lane: l.to_string(),
        }),
        _ => Ok(t),
    }
}

/// What is wrong with a profile, and at which key of which section (and, for an array of
/// tables, which entry).
#[derive(Debug, thiserror::Error)]
#[error("{}key `{key}`: {message}", entry.map_or(String::new(), |(t, i)| format!("[[{t}]] #{} ", i + 1)))]
pub struct Fault {
    key: String,
    section: Option<String>,
    /// The entry at fault of an array of tables (`steps`, 0-based), if any.
    entry: Option<(&'static str, usize)>,
    message: String,
}

impl Fault {
    fn top((key, message): (&str, String)) -> Fault {
        Fault {
            key: key.to_string(),
            section: None,
            entry: None,
            message,
        }
    }

    fn in_section(section: &str, (key, message): (&str, String)) -> Fault {
        Fault {
            section: Some(section.to_string()),
            ..Fault::top((key, message))
        }
    }
}

/// Refuses unknown top-level keys (suggesting the key that was meant) and knob values of the
/// wrong type. Knobs are flattened into the top level, where serde's errors lose their place:
/// each is read alone here, so a bad value names its own key and line.
fn check_keys(table: &toml::Table) -> Result<(), Fault> {
    let known = top_keys();
    if let Some(k) = table.keys().find(|k| !known.contains(&k.as_str())) {
        let hint = closest(k, &known)
            .map(|c| format!("; did you mean `{c}`?"))
            .unwrap_or_default();
        let msg = format!("unknown key `{k}`{hint} (known keys: {})", known.join(", "));
        return Err(Fault::top((k, msg)));
    }
    check_knob_types(table).map_err(Fault::top)?;
    check_inline_secrets(table, "")?;
    lanes::check_lane_keys(table)?;
    let steps = table.get("steps").and_then(toml::Value::as_array);
    for (i, step) in steps.into_iter().flatten().enumerate() {
        let in_step = |(key, message): (&str, String)| Fault {
            entry: Some(("steps", i)),
            section: Some("steps".into()),
            ..Fault::top((key, message))
        };
        let Some(step) = step.as_table() else {
            return Err(in_step(("steps", "each step is a [[steps]] table".into())));
        };
        let known: Vec<&str> = steps::STEP_KEYS
            .iter()
            .chain(KnobLayer::KEYS)
            .copied()
            .collect();
        if let Some(k) = step.keys().find(|k| !known.contains(&k.as_str())) {
            let hint = closest(k, &known)
                .map(|c| format!("; did you mean `{c}`?"))
                .unwrap_or_default();
            let msg = format!(
                "unknown key `{k}` in a step{hint} (known keys: {})",
                known.join(", ")
            );
            return Err(in_step((k, msg)));
        }
        check_knob_types(step).map_err(in_step)?;
    }
    Ok(())
}

/// Refuses a secret written in the profile itself (`[kafka] sasl_password`, `[nats] password`),
/// saying where it comes from instead.
fn check_inline_secrets(table: &toml::Table, prefix: &str) -> Result<(), Fault> {
    let sections = [
        ("kafka", &kafka::INLINE_SECRETS[..]),
        ("nats", &nats::INLINE_SECRETS[..]),
    ];
    for (section, keys) in sections {
        let Some(t) = table.get(section).and_then(toml::Value::as_table) else {
            continue;
        };
        if let Some((key, instead)) = keys.iter().find(|(k, _)| t.contains_key(*k)) {
            let msg = format!("a secret is never written in the profile: use {instead}");
            return Err(Fault::in_section(&format!("{prefix}{section}"), (key, msg)));
        }
    }
    Ok(())
}

/// Reads each knob of `table` alone, so a bad value names its own key.
fn check_knob_types(table: &toml::Table) -> Result<(), (&'static str, String)> {
    for key in KnobLayer::KEYS {
        if let Some(value) = table.get(*key) {
            let one = toml::Table::from_iter([(key.to_string(), value.clone())]);
            if let Err(e) = one.try_into::<KnobLayer>() {
                return Err((key, e.message().trim().to_string()));
            }
        }
    }
    Ok(())
}

/// The 1-based line where `key` is set in the `i`-th (0-based) `[[table]]`.
fn locate_entry(text: &str, table: &str, i: usize, key: &str) -> Option<usize> {
    let header = format!("[[{table}]]");
    let mut seen = 0;
    let mut inside = false;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('[') {
            inside = line == header && {
                seen += 1;
                seen == i + 1
            };
            continue;
        }
        let k = line
            .split_once('=')
            .map(|(k, _)| k.trim().trim_matches('"'));
        if inside && k == Some(key) {
            return Some(n + 1);
        }
    }
    None
}

fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> ProfileError {
    let (line, column) = match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            (Some(line), Some(column))
        }
        None => (None, None),
    };
    // The key set on the offending line (a type error points at the value, not the key).
    let key = line
        .and_then(|l| text.lines().nth(l - 1))
        .and_then(|l| l.split_once('='))
        .map(|(k, _)| k.trim().trim_matches('"').to_string())
        .filter(|k| !k.is_empty() && !k.starts_with('['));
    ProfileError {
        path: path.to_path_buf(),
        line,
        column,
        key,
        message: with_hint(e.message().trim()),
    }
}

/// serde's "unknown field `x`, expected one of `a`, `b`" with the field that was probably meant.
fn with_hint(message: &str) -> String {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return message.to_string();
    };
    let Some((word, rest)) = rest.split_once('`') else {
        return message.to_string();
    };
    let known: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    match closest(word, &known) {
        Some(c) => format!("{message}; did you mean `{c}`?"),
        None => message.to_string(),
    }
}

/// The 1-based line of the `[section]` header: where a missing key belongs.
fn locate_header(text: &str, section: &str) -> Option<usize> {
    text.lines()
        .position(|l| l.trim().trim_matches(|c| c == '[' || c == ']').trim() == section)
        .map(|i| i + 1)
}

/// The 1-based line where `key` is set, inside `[section]` (or at top level for `None`).
fn locate(text: &str, section: Option<&str>, key: &str) -> Option<usize> {
    let mut current: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('[') {
            current = Some(
                line.trim_matches(|c| c == '[' || c == ']')
                    .trim()
                    .to_string(),
            );
            continue;
        }
        let Some((k, _)) = line.split_once('=') else {
            continue;
        };
        let k = k.trim().trim_matches('"');
        let full = match &current {
            Some(s) => format!("{s}.{k}"),
            None => k.to_string(),
        };
        let want = match section {
            Some(s) => format!("{s}.{key}"),
            None => key.to_string(),
        };
        if full == want {
            return Some(i + 1);
        }
    }
    None
}

/// The known key closest to a misspelt one, if any is close.
fn closest<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    fn distance(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut prev: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut cur = vec![i + 1];
            for (j, cb) in b.iter().enumerate() {
                cur.push(
                    (prev[j] + usize::from(ca != *cb))
                        .min(prev[j + 1] + 1)
                        .min(cur[j] + 1),
                );
            }
            prev = cur;
        }
        prev[b.len()]
    }
    known
        .iter()
        .map(|k| (distance(word, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests;
