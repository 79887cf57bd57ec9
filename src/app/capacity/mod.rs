//! `pubduel capacity`: the highest open-loop rate at which each lane still meets an SLO.
//!
//! Each lane is searched alone (the other lane would take CPU and network from it), on its own
//! engine, in fixed steps: every step is a phase with its own warm-up, judged on the
//! coordinated-omission corrected latencies of its measured part and on the schedule. The rate
//! doubles from `start` until a step breaks (or `max` is reached), then a bisection narrows the
//! gap to `resolution`, then the best rate is measured once more: a rate is reported only if its
//! last measurement met the SLO. A broken step is followed by a pause until the lane has no
//! messages in flight, so its backlog never counts against the next step.

use super::{start, FrontEnd, Script, Stop};
use crate::config::RunConfig;
use crate::engine::{Engine, EngineHandle};
use crate::metrics::{LaneResult, PhaseResult};
use crate::report::threshold::{Metric, Threshold};
use crate::report::{CapacityReport, Report};
use crate::vocab::Knobs;
use std::time::{Duration, Instant};

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
const MAX_STEPS: u32 = 24;
/// Longest wait for a broken step's backlog to drain.
const DRAIN_LIMIT: Duration = Duration::from_secs(15);

/// Why a step did not meet the SLO.
#[derive(Debug, Clone, PartialEq)]
pub struct Broke(pub String);

/// The search itself, apart from any engine: which rate to try next, given the verdicts so far.
#[derive(Debug, Clone)]
pub struct Search {
    plan: Plan,
    /// Rates whose last measurement met the SLO (below every rate that broke).
    passed: std::collections::BTreeSet<u64>,
    /// The lowest rate that did not, and why.
    bad: Option<(u64, Broke)>,
    /// The best rate was measured a second time and held.
    confirmed: bool,
    steps: u32,
}

impl Search {
    /// A search by `plan`.
    pub fn new(plan: Plan) -> Search {
        Search {
            plan,
            passed: Default::default(),
            bad: None,
            confirmed: false,
            steps: 0,
        }
    }

    /// The next rate to measure, or `None` when the search is over.
    pub fn next(&self) -> Option<u64> {
        if self.steps >= MAX_STEPS {
            return None;
        }
        let p = &self.plan;
        let next = match (self.good(), &self.bad) {
            (None, None) => p.start.min(p.max),
            (Some(g), None) if g >= p.max => return self.confirm(g),
            (Some(g), None) => (g * 2).min(p.max),
            (None, Some((b, _))) if *b <= 1 => return None,
            (None, Some((b, _))) => b / 2,
            (Some(g), Some((b, _))) if (b - g) as f64 <= p.resolution * g as f64 => {
                return self.confirm(g)
            }
            (Some(g), Some((b, _))) => round_rate((g + b) / 2, *b - g),
        };
        Some(next.max(1))
    }

    fn confirm(&self, good: u64) -> Option<u64> {
        (!self.confirmed).then_some(good)
    }

    /// The highest rate whose last measurement met the SLO.
    fn good(&self) -> Option<u64> {
        self.passed.last().copied()
    }

    /// Records the verdict of a step at `rate`.
    pub fn record(&mut self, rate: u64, verdict: Result<(), Broke>) {
        self.steps += 1;
        match verdict {
            Ok(()) => {
                self.confirmed = self.good() == Some(rate);
                self.passed.insert(rate);
            }
            Err(why) => {
                // A rate that broke rules out every rate from it up, even one that held before:
                // that was luck, not capacity.
                self.passed.retain(|r| *r < rate);
                self.confirmed = false;
                if self.bad.as_ref().is_none_or(|(b, _)| rate <= *b) {
                    self.bad = Some((rate, why));
                }
            }
        }
    }

    /// What the search found for `lane`.
    pub fn result(&self, lane: &str) -> CapacityReport {
        let reason = match (&self.bad, self.good()) {
            (Some((b, why)), _) => format!("{} at {b} msg/s", why.0),
            (None, Some(g)) if g >= self.plan.max => {
                format!("met the SLO up to --max-rate {}", self.plan.max)
            }
            (None, _) => "the search stopped before a rate broke".into(),
        };
        CapacityReport {
            lane: lane.to_string(),
            slo: self.plan.slo.text.clone(),
            max_rate: self.good().unwrap_or(0),
            broke_at: self.bad.as_ref().map(|(b, _)| *b),
            reason,
            steps: self.steps,
        }
    }
}

/// A bisection midpoint rounded to a readable rate, never onto either end of the gap.
fn round_rate(mid: u64, gap: u64) -> u64 {
    let unit = [1000, 500, 100, 50, 10, 5, 1]
        .into_iter()
        .find(|u| u * 4 <= gap)
        .unwrap_or(1);
    (mid / unit) * unit
}

/// Judges one step: the SLO on the measured samples, the schedule, errors.
pub fn judge(lane: &LaneResult, rate: u64, slo: &Threshold) -> (Option<f64>, Result<(), Broke>) {
    let value = slo_value(lane, slo);
    let verdict = if lane.counts.errors > 0 {
        Err(Broke(format!("{} errors", lane.counts.errors)))
    } else if lane.sent_rate < BEHIND * rate as f64 {
        Err(Broke(format!(
            "fell behind its schedule ({:.0} of {rate} msg/s sent)",
            lane.sent_rate
        )))
    } else {
        match value {
            None => Err(Broke("no acks to measure".into())),
            Some(v) if !slo.passes(v) => Err(Broke(format!(
                "SLO broken ({} {})",
                slo_name(slo),
                slo.metric.show(v)
            ))),
            Some(_) => Ok(()),
        }
    };
    (value, verdict)
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

/// Searches one lane of `cfg` (which runs only that lane) while `front` shows it, and returns
/// its report, the capacity entry included. Quitting the front end ends the search.
pub async fn search_lane<F: FrontEnd>(
    cfg: &RunConfig,
    plan: &Plan,
    front: &mut F,
) -> anyhow::Result<Report> {
    let (engine, info) = start(cfg).await?;
    let handle = engine.handle();
    let (kind, knobs) = cfg.lanes[0];
    let (warmup, plan_owned) = (cfg.warmup, plan.clone());
    let task =
        tokio::spawn(
            async move { search(engine, kind.as_str(), knobs, warmup, &plan_owned).await },
        );
    // The front end shows the search until it is done, or until the user quits.
    let stop = async {
        while !task.is_finished() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Stop::Signal
    };
    let script = Script::new(Vec::new(), handle.started());
    front.drive(handle, &info, &script, stop).await?;
    if !task.is_finished() {
        task.abort();
        anyhow::bail!("the capacity search of {} was stopped", kind.as_str());
    }
    let (phases, found) = task.await?;
    let mut r = Report::build(&info, &phases)?;
    r.capacity.push(found);
    Ok(r)
}

/// Runs the search on a started one-lane `engine` whose warm-up per phase is `warmup`.
pub async fn search(
    engine: Engine,
    lane: &str,
    knobs: Knobs,
    warmup: Duration,
    plan: &Plan,
) -> (Vec<PhaseResult>, CapacityReport) {
    let handle = engine.handle();
    let mut search = Search::new(plan.clone());
    while let Some(rate) = search.next() {
        let note = format!("capacity: {rate} msg/s, SLO {}", plan.slo.text);
        handle.resume_with(vec![Knobs { rate, ..knobs }], Some(note));
        tokio::time::sleep(warmup + plan.step).await;
        let phases = handle.phases();
        let (value, verdict) = match phases.last().and_then(|p| p.lanes.first()) {
            Some(l) => judge(l, rate, &plan.slo),
            None => (None, Err(Broke("no phase measured".into()))),
        };
        if plan.verbose {
            say_step(lane, search.steps + 1, rate, plan, value, &verdict);
        }
        let broke = verdict.is_err();
        search.record(rate, verdict);
        if broke && search.next().is_some() {
            drain(&handle).await;
        }
    }
    (engine.finish().await, search.result(lane))
}

/// Pauses publishing until the lane has nothing in flight (or a limit passes).
async fn drain(handle: &EngineHandle) {
    handle.toggle_pause();
    let until = Instant::now() + DRAIN_LIMIT;
    while Instant::now() < until {
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
) {
    let shown = value.map_or("-".into(), |v| plan.slo.metric.show(v));
    let verdict = match verdict {
        Ok(()) => "met".to_string(),
        Err(why) => format!("broke: {}", why.0),
    };
    println!(
        "capacity {lane} step {step}: {rate} msg/s for {}: {} {shown}: {verdict}",
        humantime::format_duration(plan.step),
        slo_name(&plan.slo),
    );
}

/// Searches every lane of `cfg` the SLO covers, one after the other, shown by `front`, prints
/// the table and writes the report (every lane's steps as phases, and `[[capacity]]`) when `cfg`
/// asks.
pub async fn run<F: FrontEnd>(
    cfg: RunConfig,
    plan: Plan,
    mut front: F,
) -> anyhow::Result<Vec<CapacityReport>> {
    let lanes: Vec<_> = (cfg.lanes.iter())
        .filter(|(k, _)| plan.slo.covers(k.as_str()))
        .copied()
        .collect();
    println!(
        "pubduel capacity: SLO {} on {}; steps of {} after {} warm-up, {}..{} msg/s",
        plan.slo.text,
        lanes
            .iter()
            .map(|(k, _)| k.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        humantime::format_duration(plan.step),
        humantime::format_duration(cfg.warmup),
        plan.start,
        plan.max
    );
    let mut all: Option<Report> = None;
    for lane in lanes {
        let one = RunConfig {
            lanes: vec![lane],
            ..cfg.clone()
        };
        front.starting(&one);
        let r = search_lane(&one, &plan, &mut front).await?;
        match all.as_mut() {
            Some(a) => a.append(r),
            None => all = Some(r),
        }
    }
    let found = all.as_ref().map(|r| r.capacity.clone()).unwrap_or_default();
    print!("{}", table(&found));
    if let (Some(r), Some(path)) = (all, &cfg.report) {
        super::write_report(r, path)
            .await
            .map_err(anyhow::Error::msg)?;
        println!("\nreport written to {}", path.display());
    }
    Ok(found)
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
    }
    out
}

#[cfg(test)]
mod tests;
