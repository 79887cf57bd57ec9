//! `pubduel capacity`: the highest open-loop rate at which each lane still meets an SLO.
//!
//! Each lane is searched alone (the other lane would take CPU and network from it), as one leg of
//! the run lifecycle with an engine of its own, in fixed steps: every step is a phase with its own warm-up, judged on the
//! coordinated-omission corrected latencies of its measured part and on the schedule. The rate
//! doubles from `start` until a step breaks (or `max` is reached), then a bisection narrows the
//! gap to `resolution`, then the best rate is measured once more: a rate is reported only if its
//! last measurement met the SLO. A broken step is followed by a pause until the lane has no
//! messages in flight, so its backlog never counts against the next step.

//! Ctrl-C, SIGTERM or `q` stop the search; the report then keeps what was measured.

mod search;

pub use search::{sureness, Broke, Search};

use super::limits;
use super::{FrontEnd, Script, Stop};
use crate::brokers::BrokerSettings;
use crate::config::{LaneConfig, RunConfig};
use crate::control::AgentFigures;
use crate::engine::EngineHandle;
use crate::metrics::{LaneResult, PhaseResult, SeriesPoint};
use crate::report::threshold::{Metric, Threshold};
use crate::report::CapacityReport;
use crate::vocab::{Knobs, Stage};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How the search steps.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The SLO each step must meet.
    pub slo: Threshold,
    /// First rate tried, msg/s.
    pub start: u64,
    /// Highest rate tried, msg/s.
    pub max: u64,
    /// Measured length of a step (after its warm-up).
    pub step: Duration,
    /// Stop bisecting when the gap is this share of the rate that met the SLO.
    pub resolution: f64,
    /// Print a line per step (headless); the dashboard shows the steps as captioned phases.
    pub verbose: bool,
}

/// Sent rates below this share of the target mean the lane fell behind its schedule.
const BEHIND: f64 = 0.95;
/// Steps at most per lane, whatever happens.
pub(crate) const MAX_STEPS: u32 = 24;
/// Longest wait for a broken step's backlog to drain.
const DRAIN_LIMIT: Duration = Duration::from_secs(15);
/// Longest wait, after a step on agents, for every agent's figures of the whole step (each sends
/// an interval a second).
const AGENT_FIGURES_LIMIT: Duration = Duration::from_secs(5);

/// What a step is judged against: the SLO, and the lane's settings that may rule it out.
#[derive(Debug, Clone)]
pub struct Bar<'a> {
    /// The SLO.
    pub slo: &'a Threshold,
    /// The lane's broker settings.
    pub settings: &'a BrokerSettings,
    /// The highest rate the search may try.
    pub max_rate: u64,
}

/// Judges one step: the SLO on the measured samples, the schedule, errors; a break names the
/// lane setting behind it when one is ([`super::limits`]), and says whether it was a spike (a
/// second or so of the step) or a trend.
pub fn judge(phase: &PhaseResult, rate: u64, bar: &Bar) -> (Option<f64>, Result<(), Broke>) {
    let Some(lane) = phase.lanes.first() else {
        return (None, Err(Broke::new("no lane measured")));
    };
    let from_s = phase.start_s + phase.warmup_s;
    let slo = bar.slo;
    let value = slo_value(lane, slo);
    let verdict = if lane.counts.errors > 0 {
        Err(Broke {
            cause: limits::timeout_note(bar.settings, slo),
            ..Broke::new(format!("{} errors", lane.counts.errors))
        })
    } else if lane.sent_rate < BEHIND * rate as f64 {
        let capped = (lane.reported().summary(Stage::AckRaw))
            .or_else(|| lane.reported().summary(Stage::Ack))
            .and_then(|s| limits::rate_cap(&lane.knobs, rate, s.p50_us as f64));
        Err(Broke {
            cause: capped,
            ..Broke::new(format!(
                "fell behind its schedule ({:.0} of {rate} msg/s sent{})",
                lane.sent_rate,
                seconds_behind(lane, from_s, rate),
            ))
        })
    } else {
        match value {
            None => Err(Broke::new("no acks to measure")),
            Some(v) if !slo.passes(v) => Err(slo_broken(lane, from_s, v, bar)),
            Some(_) => Ok(()),
        }
    };
    (value, verdict.map_err(|b| starved(lane, b)))
}

/// A break on a starved host says so: the host, not the broker, may have set it.
fn starved(lane: &LaneResult, b: Broke) -> Broke {
    let kind = crate::vocab::FindingKind::HostStarved;
    if b.cause.is_some() || !lane.findings.iter().any(|f| f.kind == kind) {
        return b;
    }
    Broke {
        cause: Some("the host was starved of CPU meanwhile (host-starved): the host, not the broker, may have set this".into()),
        ..b
    }
}

fn slo_broken(lane: &LaneResult, from_s: f64, v: f64, bar: &Bar) -> Broke {
    let slo = bar.slo;
    let over = seconds_over(lane, from_s, slo);
    let figure = format!(
        "SLO broken ({} {}{over})",
        slo_name(slo),
        slo.metric.show(v)
    );
    match limits::latency_limit(bar.settings, &lane.knobs, slo, bar.max_rate) {
        Some(l) => Broke {
            why: figure,
            cause: Some(l.text),
            unreachable: l.unreachable,
        },
        None => Broke::new(figure),
    }
}

/// The step's seconds after its warm-up (`from_s`, run time).
fn measured_seconds(lane: &LaneResult, from_s: f64) -> Vec<&SeriesPoint> {
    // A point's time is the end of its second: one ending within the warm-up is left out.
    (lane.series.iter())
        .filter(|p| p.t_s > from_s + 0.5)
        .collect()
}

/// `, 1 of 4 s: a spike` when the per-second figures tell; empty with fewer than 3 seconds.
fn spike_or_trend(broke: usize, of: usize) -> String {
    if of < 3 {
        return String::new();
    }
    let kind = if broke * 2 <= of {
        "a spike"
    } else {
        "a trend"
    };
    format!(", in {broke} of {of} s: {kind}")
}

fn seconds_behind(lane: &LaneResult, from_s: f64, rate: u64) -> String {
    let secs = measured_seconds(lane, from_s);
    let behind = (secs.iter())
        .filter(|p| p.sent_per_s < BEHIND * rate as f64)
        .count();
    spike_or_trend(behind, secs.len())
}

fn seconds_over(lane: &LaneResult, from_s: f64, slo: &Threshold) -> String {
    let Metric::Stage(stage, crate::report::threshold::Stat::P99) = slo.metric else {
        return String::new();
    };
    let column = |p: &&SeriesPoint| match stage {
        Stage::Submit => Some(p.submit_p99_us),
        Stage::Ack => Some(p.ack_p99_us),
        Stage::AckRaw => Some(p.ack_raw_p99_us),
        Stage::E2e => Some(p.e2e_p99_us),
        _ => None,
    };
    let secs = measured_seconds(lane, from_s);
    let figures: Vec<u64> = secs.iter().filter_map(column).filter(|v| *v > 0).collect();
    let over = figures.iter().filter(|v| !slo.passes(**v as f64)).count();
    spike_or_trend(over, figures.len())
}

fn slo_name(slo: &Threshold) -> &str {
    slo.text
        .split(['<', '>', '='])
        .next()
        .unwrap_or(&slo.text)
        .trim()
}

fn slo_value(lane: &LaneResult, slo: &Threshold) -> Option<f64> {
    let Metric::Stage(stage, stat) = slo.metric else {
        return None;
    };
    Some(stat.of(&lane.reported().summary(stage)?))
}

/// The legs of a search: one configuration per lane the SLO covers, each running that lane
/// alone and without a duration (the search sets its own pace).
pub fn legs(cfg: &RunConfig, plan: &Plan) -> Vec<RunConfig> {
    (cfg.lanes.iter())
        .filter(|l| plan.slo.covers(&l.name))
        .map(|lane| RunConfig {
            lanes: vec![lane.clone()],
            duration: None,
            steps: Vec::new(),
            ..cfg.clone()
        })
        .collect()
}

/// Says what the search will do.
pub fn announce(cfg: &RunConfig, plan: &Plan, legs: &[RunConfig]) {
    let lanes: Vec<&str> = legs
        .iter()
        .flat_map(|l| &l.lanes)
        .map(|l| l.name.as_str())
        .collect();
    println!(
        "pubduel capacity: SLO {} on {}; steps of {} after {} warm-up, {}..{} msg/s",
        plan.slo.text,
        lanes.join(", "),
        humantime::format_duration(plan.step),
        humantime::format_duration(cfg.warmup),
        plan.start,
        plan.max
    );
}

/// Searches lane 0 of the engine behind `handle` (one lane, first knobs `knobs`, warm-up per
/// phase `warmup`) until the search is over or `cancel` fires, and says what it found: a
/// cancelled search reports what it had measured so far. On `agents`, each step is judged on
/// what every agent measured in it.
pub async fn search(
    handle: EngineHandle,
    agents: Option<AgentFigures>,
    lane: &LaneConfig,
    settings: &BrokerSettings,
    warmup: Duration,
    plan: &Plan,
    cancel: CancellationToken,
) -> CapacityReport {
    let (knobs, bar) = (
        lane.knobs,
        Bar {
            slo: &plan.slo,
            settings,
            max_rate: plan.max,
        },
    );
    let lane = lane.name.as_str();
    let mut search = Search::new(plan.clone());
    while let Some(rate) = search.next() {
        let note = format!("capacity: {rate} msg/s, SLO {}", plan.slo.text);
        handle.resume_with(vec![Knobs { rate, ..knobs }], Some(note));
        tokio::select! {
            _ = tokio::time::sleep(warmup + plan.step) => {}
            _ = cancel.cancelled() => {
                search.stop();
                break;
            }
        }
        let figures = step_figures(&handle, agents.as_ref(), plan, &cancel).await;
        if cancel.is_cancelled() {
            // Stopped while the agents' figures were coming: the step is not judged.
            search.stop();
            break;
        }
        let (value, verdict) = match figures {
            Some((p, short)) if short.is_empty() => judge(&p, rate, &bar),
            Some((_, short)) => (None, Err(not_all_came(&short))),
            None => (None, Err(Broke::new("no phase measured"))),
        };
        let broke = verdict.is_err();
        search.record(rate, verdict.clone());
        if plan.verbose {
            let again = broke && search.next() == Some(rate);
            say_step(lane, search.steps(), rate, plan, value, &verdict, again);
        }
        if broke && search.next().is_some() {
            drain(&handle, &cancel).await;
        }
    }
    search.result(lane)
}

/// The step just measured: the engine's last phase, or, on agents, that phase as every agent
/// measured it once their figures of the whole step have come (with the names of those whose
/// figures had not within [`AGENT_FIGURES_LIMIT`]).
async fn step_figures(
    handle: &EngineHandle,
    agents: Option<&AgentFigures>,
    plan: &Plan,
    cancel: &CancellationToken,
) -> Option<(PhaseResult, Vec<String>)> {
    let last = handle.phases().pop()?;
    let Some(agents) = agents else {
        return Some((last, Vec::new()));
    };
    tokio::select! {
        placed = agents.settled(last, plan.step, AGENT_FIGURES_LIMIT) => Some(placed),
        _ = cancel.cancelled() => None,
    }
}

/// A step some agents' figures of which did not come: it cannot be judged, and counts as broken
/// (a break is measured again before it counts).
fn not_all_came(short: &[String]) -> Broke {
    Broke::new(format!(
        "the figures of agent {} for the whole step did not come within {}s",
        short.join(", "),
        AGENT_FIGURES_LIMIT.as_secs()
    ))
}

/// Pauses publishing until the lane has nothing in flight (or a limit passes).
async fn drain(handle: &EngineHandle, cancel: &CancellationToken) {
    handle.toggle_pause();
    let until = Instant::now() + DRAIN_LIMIT;
    while Instant::now() < until && !cancel.is_cancelled() {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if handle.snapshot().lanes.iter().all(|l| l.in_flight == 0) {
            break;
        }
    }
}

fn say_step(
    lane: &str,
    step: u32,
    rate: u64,
    plan: &Plan,
    value: Option<f64>,
    verdict: &Result<(), Broke>,
    again: bool,
) {
    let shown = value.map_or("-".into(), |v| plan.slo.metric.show(v));
    let verdict = match verdict {
        Ok(()) => "met".to_string(),
        Err(b) if again => format!("broke: {b} (measuring it again before it counts)"),
        Err(b) => format!("broke: {b}"),
    };
    println!(
        "capacity {lane} step {step}: {rate} msg/s for {}: {} {shown}: {verdict}",
        humantime::format_duration(plan.step),
        slo_name(&plan.slo),
    );
}

/// The headless front end of a search: the step lines say it all, nothing else is drawn.
pub struct StepLines;

impl FrontEnd for StepLines {
    fn starting(&mut self, _cfg: &RunConfig) {}

    async fn drive(
        &mut self,
        _handle: EngineHandle,
        _info: &crate::report::RunInfo,
        _script: &Script,
        stop: impl std::future::Future<Output = Stop> + Send,
    ) -> anyhow::Result<()> {
        stop.await;
        Ok(())
    }

    fn finished(&mut self, _phases: &[PhaseResult]) {}
}

/// The headless table of what the search found.
pub fn table(found: &[CapacityReport]) -> String {
    let mut out = format!(
        "\n{:<6} {:>12} {:>12}  {}\n",
        "lane", "max rate", "broke at", "why"
    );
    for c in found {
        out.push_str(&format!(
            "{:<6} {:>10}/s {:>12}  {}\n",
            c.lane,
            c.max_rate,
            c.broke_at.map_or("-".into(), |b| format!("{b}/s")),
            c.reason
        ));
        if !c.repeats.is_empty() {
            out.push_str(&format!(
                "{:<6} measured again: {}\n",
                "",
                sureness(&c.repeats)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests;
