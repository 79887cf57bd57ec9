//! Flags of the subcommands that work on reports: compare, plot, merge.

use crate::report::compare::{Format, MatchBy, MIN_EFFECT};
use crate::report::threshold::Threshold;
use crate::vocab::Stage;
use clap::Args;
use std::path::PathBuf;

/// `pubduel compare BASE NEW [MORE...]`, or `pubduel compare BASE... --vs NEW...`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "\
Each figure of NEW (and MORE) is shown against BASE with the ratio NEW/BASE and a verdict, with
what it was based on: `worse (p=0.003, n=18+18)`, `same (p=0.41, n=10+10)`. The samples are the
figure of each measured second of the phase (the warm-up and a partial last second left out):
its p50, p90, p99, p99.9 or max of that second, or the acked msg/s for throughput. A figure is
better or worse only when a Mann-Whitney rank test of the two sides' seconds gives p < 0.05 AND
the ratio moved by at least --min-effect (10%); otherwise it is same. The seconds of one run move
together with the host and the broker, so one run against one says less than it seems: run each
side several times (`pubduel run --repeat 3 --report a.toml` writes a-1.toml, a-2.toml, ...) and
compare the groups: `pubduel compare a-1.toml a-2.toml a-3.toml --vs b-1.toml b-2.toml b-3.toml`.
A group's figure is the median of its runs', its samples all its runs' seconds; with several
runs a side they must also agree, every NEW run's figure beyond every BASE run's (else `runs
overlap`); alternate the two sides' runs on a shared host. The runs of a group must have the
same phases (else exit 2). Fewer than 5 seconds a side (short runs, or reports written
before per-second quantiles): `99% ci`, the older rule (the 99% confidence intervals of each
run's histograms must not overlap), with the same minimum effect. Counts: Poisson ranges.
Two lanes of one run (same timeline, same noise) are the strongest comparison of all.
Gates: --fail-if 'ack.p99 > 1.2x' fails (exit 3) when any lane's ack p99 rose by more than 20%;
'nats.submit.p50 > 2ms' checks a value; several are allowed. Exit codes: 0 done, 2 invalid input
(a report that does not read, an expression that does not parse, runs of a group that do not
line up), 3 a gate failed.")]
pub struct CompareArgs {
    /// BASE then NEW (and MORE), each a report; with --vs, the runs of the BASE group.
    #[arg(value_name = "REPORT.toml", required = true)]
    pub reports: Vec<PathBuf>,
    /// The runs of the NEW group, held as one against the reports before --vs.
    #[arg(long, value_name = "NEW.toml", num_args = 1..)]
    pub vs: Vec<PathBuf>,
    /// The smallest change called better or worse, a share of BASE, e.g. 0.1 (10%).
    #[arg(long, value_name = "SHARE", default_value_t = MIN_EFFECT, value_parser = parse_effect)]
    pub min_effect: f64,
    /// Exit 3 when this holds for any lane and phase, e.g. 'ack.p99 > 1.2x' (repeatable).
    #[arg(long = "fail-if", value_name = "EXPR", value_parser = parse_gate)]
    pub fail_if: Vec<Threshold>,
    /// Output: an aligned table, markdown (for a review) or TOML.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Pair phases by index, or by the knobs their lanes ran (also the runs of a group).
    #[arg(long = "match", value_enum, default_value_t = MatchBy::Index)]
    pub match_by: MatchBy,
    /// Stages to show, e.g. ack,submit,flight, or `all`.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "STAGES",
        default_value = "submit,ack,e2e"
    )]
    pub stages: Vec<String>,
}

fn parse_effect(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..10.0).contains(&v) => Ok(v),
        _ => Err(format!("`{s}` is not a share of BASE, like 0.1 (10%)")),
    }
}

impl CompareArgs {
    /// The stages `--stages` names.
    pub fn stages(&self) -> Result<Vec<Stage>, String> {
        if self.stages.iter().any(|s| s == "all") {
            return Ok(Stage::ALL.to_vec());
        }
        self.stages
            .iter()
            .map(|s| {
                Stage::ALL
                    .into_iter()
                    .find(|x| x.as_str() == s)
                    .ok_or_else(|| {
                        let all: Vec<&str> = Stage::ALL.iter().map(|x| x.as_str()).collect();
                        format!("--stages: unknown stage `{s}` ({}, all)", all.join(", "))
                    })
            })
            .collect()
    }
}

fn parse_gate(s: &str) -> Result<Threshold, String> {
    s.parse::<Threshold>().map_err(|e| e.to_string())
}

/// `pubduel plot REPORT [MORE...] -o FILE`.
#[derive(Debug, Clone, Args)]
pub struct PlotArgs {
    /// Reports to draw, overlaid.
    #[arg(value_name = "REPORT.toml", required = true)]
    pub reports: Vec<PathBuf>,
    /// The image to write: .svg or .png.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
}

/// `pubduel merge A B [MORE...] -o FILE`.
#[derive(Debug, Clone, Args)]
pub struct MergeArgs {
    /// Reports of runs taken at the same time, with the same phases.
    #[arg(value_name = "REPORT.toml", required = true, num_args = 2..)]
    pub reports: Vec<PathBuf>,
    /// The merged report to write.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
}

/// `pubduel capacity --slo EXPR`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "\
Each lane is searched alone, in steps of --step after a warm-up (--warmup, 1s by default): the
open-loop rate doubles from --start-rate until a step breaks the SLO, falls behind its schedule
or fails messages, then a bisection narrows the gap to --resolution (5%), and the best rate is
measured once more. A break counts only when the rate breaks again on a second measurement (one
slow second would otherwise settle the answer); each says whether it was a spike or a trend, and
the table lists the rates measured again and how they came out. A lane setting that rules the
SLO out (Kafka's linger_ms under an ack bound) is named and ends the search. Latencies are corrected for coordinated omission (measured from each
message's intended start). Every step is a phase of the report (--report), which adds
[[capacity]] per lane; --hlog and --series record every step. Ctrl-C, SIGTERM or q stop the
search: the report keeps what was measured, and a headless search exits 130.")]
pub struct CapacityArgs {
    /// The SLO each step must meet, e.g. 'ack.p99 < 10ms' (a stage statistic below a duration).
    #[arg(long, value_name = "EXPR", value_parser = parse_slo)]
    pub slo: Threshold,
    /// Highest rate tried, msg/s.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub max_rate: u64,
    /// First rate tried, msg/s.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub start_rate: u64,
    /// Measured length of each step (after its warm-up), e.g. 4s.
    #[arg(long, value_name = "DUR", default_value = "4s", value_parser = crate::profile::parse_duration)]
    pub step: std::time::Duration,
    /// Stop bisecting when the gap between a rate that met the SLO and one that broke it is
    /// this share of the former, e.g. 0.05 (5%).
    #[arg(long, value_name = "SHARE", default_value_t = 0.05, value_parser = parse_resolution)]
    pub resolution: f64,
    /// Brokers, lanes, knobs, profile and report, as for a run (--rate and --duration are set
    /// by the search).
    #[command(flatten)]
    pub run: super::RunArgs,
}

fn parse_resolution(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v < 1.0 => Ok(v),
        _ => Err(format!("`{s}` is not a share between 0 and 1, like 0.05")),
    }
}

/// An SLO: a stage statistic that must stay below a duration.
fn parse_slo(s: &str) -> Result<Threshold, String> {
    use crate::report::threshold::{Metric, Op};
    let t = crate::profile::parse_assert(s).map_err(|e| e.to_string())?;
    match (t.metric, t.op) {
        (Metric::Stage(..), Op::Lt | Op::Le) => Ok(t),
        _ => Err(format!(
            "`{s}`: an SLO is a latency that must stay below a bound, like 'ack.p99 < 10ms'"
        )),
    }
}
