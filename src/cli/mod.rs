//! Command line: subcommands and flags, as clap parses them. What they mean together with a
//! profile is resolved in the `config` module.

mod reports;

pub use reports::{CapacityArgs, CompareArgs, MergeArgs, PlotArgs};

use crate::profile::{parse_assert, parse_duration};
use crate::report::threshold::Threshold;
use crate::vocab::KnobLayer;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
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
    /// Lanes to run, by name: `kafka`, `nats`, or the profile's own (`--lanes k0,k5`).
    #[arg(long, value_delimiter = ',', value_name = "LANES")]
    pub lanes: Option<Vec<String>>,
    /// The knobs, for every lane (over the profile's).
    #[command(flatten)]
    pub knobs: KnobLayer,
    /// Warm-up left out of each phase's percentiles, e.g. 2s, 0s.
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub warmup: Option<Duration>,
    /// Send this file's bytes as every message (e.g. a JSON envelope); the message size is then
    /// the file's, and the end-to-end timing travels in a header.
    #[arg(long, value_name = "FILE")]
    pub payload: Option<PathBuf>,
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
