//! Command line: subcommands, flags, and the one place where flags, profile and defaults become a
//! [`RunConfig`].

mod reports;

pub use reports::{CapacityArgs, CompareArgs, MergeArgs, PlotArgs};

use crate::brokers::kafka::KafkaSettings;
use crate::brokers::nats::NatsSettings;
use crate::profile::{parse_assert, parse_duration, KnobLayer, LaneKind, Profile, ProfileError};
use crate::report::threshold::Threshold;
use crate::report::ExportPaths;
use crate::vocab::{Knobs, Step};
use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Publish to Apache Kafka and NATS JetStream side by side and see what each publish really costs.
///
/// pubduel runs the same workload against both brokers at once and records, per message, the
/// time of the publish call (submit), the time to the broker's ack (ack) and, with --e2e, the time
/// until an in-process consumer sees it (e2e). In a terminal it shows a live dashboard whose keys
/// change the knobs while it runs; with --headless (or when stdout is not a terminal) it prints a
/// progress line per second and a final table. Without a subcommand, pubduel runs.
#[derive(Debug, Parser)]
#[command(
    name = "pubduel",
    version,
    after_help = AFTER_HELP,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to do (default: run).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The run's flags, when no subcommand is given.
    #[command(flatten)]
    pub run: RunArgs,
}

/// pubduel's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a workload against the brokers (the default).
    Run(Box<RunArgs>),
    /// Compare reports side by side: BASE, NEW and more, with ratios and gates for CI.
    Compare(CompareArgs),
    /// Draw reports: latency by percentile per stage, and throughput and p99 over time.
    Plot(PlotArgs),
    /// Merge reports of runs taken at the same time (several load generators) into one.
    Merge(MergeArgs),
    /// Find the highest rate at which each lane still meets an SLO, e.g. 'ack.p99 < 10ms'.
    Capacity(Box<CapacityArgs>),
}

impl Cli {
    /// The subcommand, `run` when none was given.
    pub fn command(self) -> Command {
        self.command.unwrap_or(Command::Run(Box::new(self.run)))
    }
}

/// Everything a run takes.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Workload profile (TOML); see profiles/ for examples.
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// Stop after this long, e.g. 10s, 2m (default: run until quit; 10s when headless).
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Write the final report (TOML) to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Write an HdrHistogram interval log: a histogram per lane and stage each second, tagged
    /// like `nats.ack` (for HistogramLogAnalyzer and any HdrHistogram log reader).
    #[arg(long, value_name = "FILE")]
    pub hlog: Option<PathBuf>,
    /// Write the per-second series (throughput, errors, in-flight, p50/p99) as CSV.
    #[arg(long, value_name = "FILE")]
    pub series: Option<PathBuf>,
    /// A threshold the run must meet, e.g. 'nats.ack.p99 < 5ms' or 'kafka.errors == 0'
    /// (repeatable); a headless run exits 3 when one fails.
    #[arg(long = "assert", value_name = "EXPR", value_parser = parse_assert)]
    pub asserts: Vec<Threshold>,
    /// Kafka bootstrap address.
    #[arg(long, value_name = "HOST:PORT", env = "PUBDUEL_KAFKA")]
    pub kafka: Option<String>,
    /// NATS server URL.
    #[arg(long, value_name = "URL", env = "PUBDUEL_NATS")]
    pub nats: Option<String>,
    /// Lanes to run.
    #[arg(long, value_delimiter = ',', value_name = "LANES")]
    pub lanes: Option<Vec<LaneKind>>,
    /// The knobs, for every lane (over the profile's).
    #[command(flatten)]
    pub knobs: KnobLayer,
    /// Warm-up left out of each phase's percentiles, e.g. 2s, 0s.
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub warmup: Option<Duration>,
    /// Consume in the same process and record end-to-end latency.
    #[arg(long)]
    pub e2e: bool,
    /// Pace open-loop slots by spinning their last microseconds: generator lag near zero, at the
    /// cost of CPU (a core's share per lane at high rates).
    #[arg(long)]
    pub precise: bool,
    /// Validate the settings, print them resolved, and exit.
    #[arg(long)]
    pub dry_run: bool,
    /// No dashboard: a progress line per second and a final table.
    #[arg(long)]
    pub headless: bool,
    /// Log file while the dashboard runs (headless logs go to stderr).
    #[arg(long, value_name = "FILE", default_value = "pubduel.log")]
    pub log_file: PathBuf,
}

const AFTER_HELP: &str = "\
Precedence: flags (and PUBDUEL_KAFKA / PUBDUEL_NATS) over the profile over built-in defaults.
Exit codes: 0 done, 1 runtime failure (e.g. a broker unreachable at start), 2 invalid input,
3 a threshold failed (--assert, compare --fail-if), 130 interrupted (Ctrl-C, SIGTERM).
Local brokers: scripts/brokers.sh start (Apache Kafka + nats-server), or docker compose up -d.";

/// Headless runs without --duration stop after this long.
pub const HEADLESS_DEFAULT_DURATION: Duration = Duration::from_secs(10);

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
    /// Lanes in order, with their first knobs.
    pub lanes: Vec<(LaneKind, Knobs)>,
    /// Kafka settings.
    pub kafka: KafkaSettings,
    /// NATS settings.
    pub nats: NatsSettings,
    /// Final report path.
    pub report: Option<PathBuf>,
    /// Scripted knob changes, in time order (a profile's `[[steps]]`, ramps expanded).
    pub steps: Vec<Step>,
    /// Thresholds checked on the whole run (`--assert`, then the profile's `[[assert]]`).
    pub asserts: Vec<Threshold>,
    /// Files streamed while the run goes on.
    pub export: ExportPaths,
}

/// Input that cannot be used (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The profile is invalid.
    #[error("{0}")]
    Profile(#[from] ProfileError),
    /// The profile's steps do not fit the knobs the flags set.
    #[error("the profile's steps with these flags: {0}")]
    Steps(String),
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

impl RunArgs {
    /// Resolves flags over the profile over defaults, in one place.
    pub fn resolve(&self, headless: bool) -> Result<RunConfig, ConfigError> {
        let profile = match &self.profile {
            Some(p) => Profile::load(p)?,
            None => Profile::default(),
        };
        let lanes = self.lanes_over(&profile)?;
        let mut kafka = profile.kafka.clone().unwrap_or_default();
        if let Some(addr) = &self.kafka {
            kafka.bootstrap = addr.clone();
        }
        let mut nats = profile.nats.clone().unwrap_or_default();
        if let Some(url) = &self.nats {
            nats.url = url.clone();
        }
        let duration = self
            .duration
            .or(profile.duration)
            .or(headless.then_some(HEADLESS_DEFAULT_DURATION));
        if duration.is_some_and(|d| d.is_zero()) {
            return Err(flag_error("duration", "must be longer than zero".into()));
        }
        let warmup = self
            .warmup
            .or(profile.warmup)
            .unwrap_or(Duration::from_secs(2));
        if let Some(d) = duration.filter(|d| warmup > *d) {
            let msg = format!(
                "{} is longer than the run ({}): nothing would be measured",
                humantime::format_duration(warmup),
                humantime::format_duration(d)
            );
            return Err(flag_error("warmup", msg));
        }
        let steps = profile
            .steps_for(&lanes, duration)
            .map_err(ConfigError::Steps)?;
        let mut asserts = self.asserts.clone();
        // The profile's were checked when it loaded.
        asserts.extend(profile.thresholds().unwrap_or_default());
        for (flag, path) in [
            ("report", &self.report),
            ("hlog", &self.hlog),
            ("series", &self.series),
        ] {
            if let Some(p) = path {
                writable(p).map_err(|message| ConfigError::Output {
                    flag,
                    path: p.display().to_string(),
                    message,
                })?;
            }
        }
        Ok(RunConfig {
            profile_name: self.profile_name(&profile),
            profile_path: self.profile.clone(),
            duration,
            warmup,
            e2e: self.e2e || profile.e2e.unwrap_or(false),
            precise: self.precise || profile.precise.unwrap_or(false),
            lanes,
            kafka,
            nats,
            report: self.report.clone(),
            steps,
            asserts,
            export: ExportPaths {
                hlog: self.hlog.clone(),
                series: self.series.clone(),
            },
        })
    }

    /// The lanes to run, each with its knobs: flags over the lane's override over the profile
    /// over the defaults.
    fn lanes_over(&self, profile: &Profile) -> Result<Vec<(LaneKind, Knobs)>, ConfigError> {
        let base = profile.knobs.over(Knobs::default());
        if let Err((knob, msg)) = self.knobs.over(base).validate() {
            return Err(flag_error(knob, msg));
        }
        let mut kinds = self
            .lanes
            .clone()
            .or(profile.lanes.clone())
            .unwrap_or(vec![LaneKind::Kafka, LaneKind::Nats]);
        kinds.sort();
        kinds.dedup();
        if kinds.is_empty() {
            return Err(flag_error(
                "lanes",
                "name at least one lane (kafka, nats)".into(),
            ));
        }
        Ok(kinds
            .iter()
            .map(|k| (*k, self.knobs.over(profile.lane.get(*k).over(base))))
            .collect())
    }

    /// The profile's name, else its file's stem, else `default`.
    fn profile_name(&self, profile: &Profile) -> String {
        profile
            .name
            .clone()
            .or_else(|| {
                self.profile
                    .as_ref()
                    .and_then(|p| p.file_stem())
                    .map(|s| s.to_string_lossy().into_owned())
            })
            .unwrap_or_else(|| "default".into())
    }
}

/// Whether a file can be written at `path`, found out before the run rather than after it: not
/// a folder, and its folder can be made and written to.
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
mod tests {
    use super::*;
    use crate::vocab::AckStrategy;

    fn cli(args: &[&str]) -> RunArgs {
        let mut all = vec!["pubduel"];
        all.extend_from_slice(args);
        match Cli::try_parse_from(all).unwrap().command() {
            Command::Run(r) => *r,
            other => panic!("not a run: {other:?}"),
        }
    }

    #[test]
    fn flags_beat_profile_beat_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.toml");
        std::fs::write(&p, "concurrency = 7\nrate = 50\n[lane.nats]\nack = \"task-per-message\"\nmax_pending = 4000\n").unwrap();
        let c = cli(&["--profile", p.to_str().unwrap(), "--rate", "99"])
            .resolve(true)
            .unwrap();
        let (kafka, nats) = (c.lanes[0].1, c.lanes[1].1);
        assert_eq!(
            (kafka.concurrency, kafka.rate, kafka.ack),
            (7, 99, AckStrategy::Async)
        );
        assert_eq!(
            (nats.ack, nats.max_pending),
            (AckStrategy::TaskPerMessage, 4000)
        );
        assert_eq!(kafka.max_pending, Knobs::default().max_pending);
        assert_eq!(c.profile_name, "p");
        assert_eq!(c.duration, Some(HEADLESS_DEFAULT_DURATION));
        let c = cli(&["--profile", p.to_str().unwrap(), "--ack", "sync"])
            .resolve(false)
            .unwrap();
        assert_eq!(
            c.lanes[1].1.ack,
            AckStrategy::Sync,
            "a flag overrides per-lane profile knobs"
        );
        assert_eq!(c.duration, None);
    }

    #[test]
    fn zero_concurrency_is_a_flag_error() {
        let e = cli(&["--concurrency", "0"]).resolve(true).unwrap_err();
        assert!(e.to_string().starts_with("--concurrency:"), "{e}");
    }

    #[test]
    fn lanes_and_addresses() {
        let c = cli(&[
            "--lanes",
            "nats",
            "--nats",
            "nats://127.0.0.1:1",
            "--kafka",
            "h:1",
        ])
        .resolve(true)
        .unwrap();
        assert_eq!(c.lanes.len(), 1);
        assert_eq!(c.lanes[0].0, LaneKind::Nats);
        assert_eq!(c.nats.url, "nats://127.0.0.1:1");
        assert_eq!(c.kafka.bootstrap, "h:1");
    }

    #[test]
    fn a_warm_up_longer_than_the_run_is_refused() {
        let e = cli(&["--warmup", "5s", "--duration", "2s"])
            .resolve(true)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--warmup") && e.contains("longer than the run"),
            "{e}"
        );
        assert!(cli(&["--warmup", "2s", "--duration", "2s"])
            .resolve(true)
            .is_ok());
    }
}
