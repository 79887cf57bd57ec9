//! The one place where flags, the profile and the defaults become a [`RunConfig`]: flags (and
//! their environment variables) over the profile over built-in defaults, validated once.

use crate::brokers::kafka::KafkaSettings;
use crate::brokers::nats::NatsSettings;
use crate::brokers::{is_default_lane, refuses, BrokerSettings};
use crate::cli::RunArgs;
use crate::profile::{Fault, Profile, ProfileError};
use crate::report::threshold::Threshold;
use crate::report::ExportPaths;
use crate::vocab::{Knobs, LaneKind, Step};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Headless runs without --duration stop after this long.
pub const HEADLESS_DEFAULT_DURATION: Duration = Duration::from_secs(10);

/// Warm-up per phase when neither a flag nor the profile sets one.
pub const DEFAULT_WARMUP: Duration = Duration::from_secs(2);

/// Every setting of a run, resolved and validated.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Profile name (`default` without a profile).
    pub profile_name: String,
    /// Profile file, when one was given.
    pub profile_path: Option<PathBuf>,
    /// Run length; `None` runs until quit.
    pub duration: Option<Duration>,
    /// Warm-up per phase.
    pub warmup: Duration,
    /// End-to-end consumers on.
    pub e2e: bool,
    /// Spin the wait for each open-loop slot.
    pub precise: bool,
    /// Lanes in order, each with its kind, first knobs and broker settings.
    pub lanes: Vec<LaneConfig>,
    /// The `[kafka]` section with the flags over it: what every Kafka lane starts from.
    pub kafka: KafkaSettings,
    /// The `[nats]` section with the flags over it: what every NATS lane starts from.
    pub nats: NatsSettings,
    /// Final report path.
    pub report: Option<PathBuf>,
    /// Scripted knob changes, in time order (a profile's `[[steps]]`, ramps expanded).
    pub steps: Vec<Step>,
    /// Thresholds checked on the whole run (`--assert`, then the profile's `[[assert]]`).
    pub asserts: Vec<Threshold>,
    /// Files streamed while the run goes on.
    pub export: ExportPaths,
    /// The payload file's bytes, sent as every message, if one was given.
    pub payload: Option<bytes::Bytes>,
}

/// One lane of a run, resolved.
#[derive(Debug, Clone)]
pub struct LaneConfig {
    /// Its name: `kafka`, `nats`, or the profile's own.
    pub name: String,
    /// Its kind.
    pub kind: LaneKind,
    /// Its first knobs.
    pub knobs: Knobs,
    /// Its own broker settings, when they are not its kind's section as it is
    /// ([`RunConfig::broker`]).
    pub own: Option<BrokerSettings>,
}

impl LaneConfig {
    /// A lane named after its kind, on that kind's section: the lanes of every run before
    /// named lanes.
    pub fn of_kind(kind: LaneKind, knobs: Knobs) -> LaneConfig {
        LaneConfig {
            name: kind.as_str().to_string(),
            kind,
            knobs,
            own: None,
        }
    }
}

impl RunConfig {
    /// The broker settings of `lane`: its own, else its kind's section.
    pub fn broker(&self, lane: &LaneConfig) -> BrokerSettings {
        lane.own.clone().unwrap_or_else(|| self.section(lane.kind))
    }

    /// The section of `kind`, with the flags over it: what each lane of that kind starts from.
    pub fn section(&self, kind: LaneKind) -> BrokerSettings {
        match kind {
            LaneKind::Kafka => BrokerSettings::Kafka(self.kafka.clone()),
            LaneKind::Nats => BrokerSettings::Nats(self.nats.clone()),
        }
    }
}

/// Input that cannot be used (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The profile is invalid.
    #[error("{0}")]
    Profile(#[from] ProfileError),
    /// A lane's settings do not hold with the flags over the profile.
    #[error("the profile's lanes with these flags: {0}")]
    Lane(Fault),
    /// The profile's steps do not fit the knobs the flags set.
    #[error("the profile's steps with these flags: {0}")]
    Steps(Fault),
    /// An output file cannot be written.
    #[error("--{flag} {path}: {message}")]
    Output {
        /// The flag, without dashes.
        flag: &'static str,
        /// The path given.
        path: String,
        /// Why it cannot be written.
        message: String,
    },
    /// A flag is out of range.
    #[error("--{flag}: {message}")]
    Flag {
        /// The flag, without dashes.
        flag: String,
        /// What is wrong.
        message: String,
    },
}

impl RunConfig {
    /// Resolves `args` over their profile over the defaults, in one place; `headless` runs get a
    /// default duration.
    pub fn resolve(args: &RunArgs, headless: bool) -> Result<RunConfig, ConfigError> {
        let profile = match &args.profile {
            Some(p) => Profile::load(p)?,
            None => Profile::default(),
        };
        let (kafka, nats) = brokers(args, &profile);
        let lanes = lanes(args, &profile, &kafka, &nats)?;
        let (duration, warmup) = timing(args, &profile, headless)?;
        let named: Vec<(String, Knobs)> =
            (lanes.iter()).map(|l| (l.name.clone(), l.knobs)).collect();
        let steps = profile
            .steps_for(&named, duration)
            .map_err(ConfigError::Steps)?;
        for (i, lane) in lanes.iter().enumerate() {
            let all = std::iter::once(&lane.knobs).chain(steps.iter().map(|s| &s.knobs[i]));
            if let Some((knob, msg)) = all.filter_map(|k| refuses(lane.kind, k)).next() {
                return Err(flag_error(knob, format!("lane `{}`: {msg}", lane.name)));
            }
        }
        let mut asserts = args.asserts.clone();
        // The profile's were checked when it loaded.
        asserts.extend(profile.thresholds().unwrap_or_default());
        check_assert_lanes(&asserts, &profile)?;
        check_outputs(args)?;
        let payload = match args.payload.as_ref().or(profile.payload.as_ref()) {
            Some(p) => Some(crate::profile::read_payload(p).map_err(|m| flag_error("payload", m))?),
            None => None,
        };
        Ok(RunConfig {
            profile_name: profile_name(args, &profile),
            profile_path: args.profile.clone(),
            duration,
            warmup,
            e2e: args.e2e || profile.e2e.unwrap_or(false),
            precise: args.precise || profile.precise.unwrap_or(false),
            lanes,
            kafka,
            nats,
            report: args.report.clone(),
            steps,
            asserts,
            export: ExportPaths {
                hlog: args.hlog.clone(),
                series: args.series.clone(),
            },
            payload,
        })
    }
}

/// The lanes to run (`--lanes`, else the profile's, else `kafka` and `nats`), each with its
/// knobs (flags over the lane's own over the profile's over the defaults) and its broker
/// settings.
fn lanes(
    args: &RunArgs,
    profile: &Profile,
    kafka: &KafkaSettings,
    nats: &NatsSettings,
) -> Result<Vec<LaneConfig>, ConfigError> {
    let base = profile.knobs.over(Knobs::default());
    if let Err((knob, msg)) = args.knobs.over(base).validate() {
        return Err(flag_error(knob, msg));
    }
    let known = profile.lane_names();
    let names = match &args.lanes {
        Some(picked) => picked_lanes(picked, &known)?,
        None => known,
    };
    names
        .into_iter()
        .map(|name| {
            let knobs = args.knobs.over(profile.lane_knobs(&name).over(base));
            let broker = (profile.lane_broker(&name, kafka, nats)).map_err(ConfigError::Lane)?;
            let section = match broker.kind() {
                LaneKind::Kafka => BrokerSettings::Kafka(kafka.clone()),
                LaneKind::Nats => BrokerSettings::Nats(nats.clone()),
            };
            Ok(LaneConfig {
                name,
                kind: broker.kind(),
                knobs,
                own: (broker != section).then_some(broker),
            })
        })
        .collect()
}

/// The lanes `--lanes` picks, in its order: the profile's, or a default lane.
fn picked_lanes(picked: &[String], known: &[String]) -> Result<Vec<String>, ConfigError> {
    let mut names: Vec<String> = Vec::new();
    for name in picked.iter().map(|n| n.trim()) {
        if !known.iter().any(|k| k == name) && !is_default_lane(name) {
            let msg = format!("unknown lane `{name}` (this run has {})", known.join(", "));
            return Err(flag_error("lanes", msg));
        }
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    if names.is_empty() {
        let msg = format!("name at least one lane ({})", known.join(", "));
        return Err(flag_error("lanes", msg));
    }
    Ok(names)
}

/// Every threshold names a lane of the profile (or a default lane), or none.
fn check_assert_lanes(asserts: &[Threshold], profile: &Profile) -> Result<(), ConfigError> {
    let known = profile.lane_names();
    for t in asserts {
        if let Some(l) = t.lane.as_deref() {
            if !known.iter().any(|k| k == l) && !is_default_lane(l) {
                let msg = format!(
                    "`{}`: unknown lane `{l}` (this run has {})",
                    t.text,
                    known.join(", ")
                );
                return Err(flag_error("assert", msg));
            }
        }
    }
    Ok(())
}

/// The brokers' settings: the profile's sections, the addresses from the flags.
fn brokers(args: &RunArgs, profile: &Profile) -> (KafkaSettings, NatsSettings) {
    let mut kafka = profile.kafka.clone().unwrap_or_default();
    if let Some(addr) = &args.kafka {
        kafka.bootstrap = addr.clone();
    }
    let mut nats = profile.nats.clone().unwrap_or_default();
    if let Some(url) = &args.nats {
        nats.url = url.clone();
    }
    (kafka, nats)
}

/// The run's length and each phase's warm-up, checked against each other.
fn timing(
    args: &RunArgs,
    profile: &Profile,
    headless: bool,
) -> Result<(Option<Duration>, Duration), ConfigError> {
    let duration = args
        .duration
        .or(profile.duration)
        .or(headless.then_some(HEADLESS_DEFAULT_DURATION));
    if duration.is_some_and(|d| d.is_zero()) {
        return Err(flag_error("duration", "must be longer than zero".into()));
    }
    let warmup = args.warmup.or(profile.warmup).unwrap_or(DEFAULT_WARMUP);
    if let Some(d) = duration.filter(|d| warmup > *d) {
        let msg = format!(
            "{} is longer than the run ({}): nothing would be measured",
            humantime::format_duration(warmup),
            humantime::format_duration(d)
        );
        return Err(flag_error("warmup", msg));
    }
    Ok((duration, warmup))
}

/// Every output file can be written, found out before the run rather than after it.
fn check_outputs(args: &RunArgs) -> Result<(), ConfigError> {
    for (flag, path) in [
        ("report", &args.report),
        ("hlog", &args.hlog),
        ("series", &args.series),
    ] {
        if let Some(p) = path {
            writable(p).map_err(|message| ConfigError::Output {
                flag,
                path: p.display().to_string(),
                message,
            })?;
        }
    }
    Ok(())
}

/// The profile's name, else its file's stem, else `default`.
fn profile_name(args: &RunArgs, profile: &Profile) -> String {
    profile
        .name
        .clone()
        .or_else(|| {
            args.profile
                .as_ref()
                .and_then(|p| p.file_stem())
                .map(|s| s.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "default".into())
}

/// Whether a file can be written at `path`: not a folder, and its folder can be made and
/// written to.
fn writable(path: &Path) -> Result<(), String> {
    if path.is_dir() {
        return Err("is a folder; give a file name, e.g. DIR/run.toml".into());
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot make its folder: {e}"))?;
    let probe = dir.join(format!(".pubduel-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

fn flag_error(knob: &str, message: String) -> ConfigError {
    ConfigError::Flag {
        flag: knob.replace('_', "-"),
        message,
    }
}

#[cfg(test)]
mod tests;
