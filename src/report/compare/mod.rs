//! `pubduel compare`: two or more reports side by side, per lane, phase and stage, with the ratio
//! NEW/BASE and a verdict that reads `same` when the runs' own spread allows the difference
//! ([`spread`]); `--fail-if` gates on the ratio.

mod render;
pub mod spread;

pub use render::Format;

use super::threshold::{Bound, LaneStat, Metric, Stat, Threshold};
use super::{LaneReport, PhaseReport, Report};
use crate::vocab::Stage;

use serde::Serialize;
use spread::Spread;

/// How phases of two reports are paired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum MatchBy {
    /// Phase 0 with phase 0, 1 with 1, ...
    #[default]
    Index,
    /// Each BASE phase with the first NEW phase whose lanes ran the same knobs.
    Knobs,
}

/// Whether NEW is better, worse or the same as BASE within the runs' spread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Better beyond the spread.
    Better,
    /// Worse beyond the spread.
    Worse,
    /// Within the spread.
    Same,
}

/// One figure of one report against BASE.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cell {
    /// The report's phase paired with BASE's.
    pub phase: u32,
    /// Its value (microseconds for latencies).
    pub value: f64,
    /// value / BASE's value.
    pub ratio: Option<f64>,
    /// Against BASE.
    pub verdict: Verdict,
}

/// One figure (`ack.p99`, `throughput`) of one lane in one BASE phase, across the reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// Lane name.
    pub lane: String,
    /// BASE's phase.
    pub phase: u32,
    /// The figure, as a threshold names it: `ack.p99`, `throughput`.
    pub metric: String,
    /// Unit of the values: `us`, `msg/s`, `messages`.
    pub unit: String,
    /// BASE's value.
    pub base: f64,
    /// Each further report's value, in order; `None` where it has no such figure.
    pub others: Vec<Option<Cell>>,
    #[serde(skip)]
    kind: Metric,
}

/// A `--fail-if` that held: what regressed, where.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    /// The expression.
    pub expr: String,
    /// Which report, lane and phase, with the values.
    pub detail: String,
}

/// Everything `compare` found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Report labels (file names), BASE first.
    pub reports: Vec<String>,
    /// One row per lane, BASE phase and figure.
    pub rows: Vec<Row>,
    /// BASE phases no other report could be paired with, per report.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unmatched: Vec<String>,
    /// Gates that failed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<Failure>,
    /// Client or server versions that differ between BASE and another report, e.g.
    /// `nats-server: 2.12.3 in base.toml, 2.15.3 in new.toml`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
}

/// What to compare and how.
#[derive(Debug, Clone, Default)]
pub struct CompareOptions {
    /// How phases pair up.
    pub match_by: MatchBy,
    /// Stages to show (`ack`, `submit`, ...); those a gate names are always included.
    pub stages: Vec<Stage>,
    /// Gates: a comparison fails when one of these holds.
    pub fail_if: Vec<Threshold>,
}

const STATS: [(Stat, &str); 5] = [
    (Stat::P50, "p50"),
    (Stat::P90, "p90"),
    (Stat::P99, "p99"),
    (Stat::P999, "p99.9"),
    (Stat::Max, "max"),
];

/// Compares `reports` (label, report), the first being BASE.
pub fn compare(reports: &[(String, Report)], opts: &CompareOptions) -> Comparison {
    let (base, others) = reports.split_first().expect("compare needs a BASE report");
    let mut rows = Vec::new();
    let mut unmatched = Vec::new();
    let pairs: Vec<Vec<Option<&PhaseReport>>> = others
        .iter()
        .map(|(label, r)| {
            let paired: Vec<Option<&PhaseReport>> = base
                .1
                .phases
                .iter()
                .map(|p| pair(p, &r.phases, opts.match_by))
                .collect();
            for (p, _) in base
                .1
                .phases
                .iter()
                .zip(&paired)
                .filter(|(_, x)| x.is_none())
            {
                unmatched.push(format!(
                    "{label} has no phase paired with phase {}",
                    p.index
                ));
            }
            paired
        })
        .collect();
    let stages = shown_stages(opts);
    for (i, bp) in base.1.phases.iter().enumerate() {
        for bl in &bp.lanes {
            let theirs: Vec<Option<(u32, &LaneReport)>> = pairs
                .iter()
                .map(|p| p[i].and_then(|op| Some((op.index, lane(op, &bl.name)?))))
                .collect();
            rows.extend(lane_rows(bp.index, bl, &theirs, &stages));
        }
    }
    let failures = gate(&rows, &reports[1..], &opts.fail_if);
    Comparison {
        reports: reports.iter().map(|(l, _)| l.clone()).collect(),
        rows,
        unmatched,
        failures,
        versions: version_differences(base, others),
    }
}

/// What measured BASE and each other report differently: every client or server version that
/// one report records and the other does not, or records as another.
fn version_differences(base: &(String, Report), others: &[(String, Report)]) -> Vec<String> {
    let mut out = Vec::new();
    let shown = |v: Option<&String>| v.map_or("not recorded".to_string(), String::clone);
    for (label, r) in others {
        let (mine, theirs) = (&base.1.meta.versions, &r.meta.versions);
        let names: std::collections::BTreeSet<&String> = mine.keys().chain(theirs.keys()).collect();
        for name in names {
            let (a, b) = (mine.get(name), theirs.get(name));
            if a != b {
                out.push(format!(
                    "{name}: {} in {}, {} in {label}",
                    shown(a),
                    base.0,
                    shown(b)
                ));
            }
        }
    }
    out
}

fn lane<'a>(p: &'a PhaseReport, name: &str) -> Option<&'a LaneReport> {
    p.lanes.iter().find(|l| l.name == name)
}

/// The phase of `theirs` paired with `mine`.
fn pair<'a>(mine: &PhaseReport, theirs: &'a [PhaseReport], by: MatchBy) -> Option<&'a PhaseReport> {
    match by {
        MatchBy::Index => theirs.iter().find(|p| p.index == mine.index),
        MatchBy::Knobs => theirs.iter().find(|p| {
            p.lanes.len() == mine.lanes.len()
                && mine
                    .lanes
                    .iter()
                    .all(|l| lane(p, &l.name).is_some_and(|o| o.knobs == l.knobs))
        }),
    }
}

fn shown_stages(opts: &CompareOptions) -> Vec<Stage> {
    let mut stages = opts.stages.clone();
    for t in &opts.fail_if {
        if let Metric::Stage(s, _) = t.metric {
            if !stages.contains(&s) {
                stages.push(s);
            }
        }
    }
    stages
}

/// A figure of a lane with its spread.
fn figure(l: &LaneReport, m: Metric) -> Option<Spread> {
    match m {
        Metric::Stage(stage, stat) => spread::of_stage(l.stages.get(stage.as_str())?, stat),
        Metric::Lane(LaneStat::Throughput) => Some(spread::of_throughput(l)),
        Metric::Lane(LaneStat::Acked) => Some(spread::of_count(l.acked)),
        Metric::Lane(LaneStat::Sent) => Some(spread::of_count(l.sent)),
        Metric::Lane(LaneStat::Errors) => Some(spread::of_count(l.errors)),
        Metric::Lane(LaneStat::Missing) => l.missing.map(spread::of_count),
    }
}

fn metric_name(m: Metric) -> String {
    match m {
        Metric::Stage(stage, stat) => {
            let s = STATS
                .iter()
                .find(|(x, _)| *x == stat)
                .map_or("mean", |x| x.1);
            format!("{}.{s}", stage.as_str())
        }
        Metric::Lane(l) => format!("{l:?}").to_lowercase(),
    }
}

fn lane_rows(
    phase: u32,
    base: &LaneReport,
    theirs: &[Option<(u32, &LaneReport)>],
    stages: &[Stage],
) -> Vec<Row> {
    let mut metrics = vec![
        Metric::Lane(LaneStat::Throughput),
        Metric::Lane(LaneStat::Acked),
        Metric::Lane(LaneStat::Errors),
    ];
    for s in stages {
        metrics.extend(STATS.iter().map(|(stat, _)| Metric::Stage(*s, *stat)));
    }
    metrics
        .into_iter()
        .filter_map(|m| {
            let b = figure(base, m)?;
            let others = theirs
                .iter()
                .map(|t| {
                    let (index, l) = (*t)?;
                    let o = figure(l, m)?;
                    Some(Cell {
                        phase: index,
                        value: o.value,
                        ratio: ratio(o.value, b.value),
                        verdict: verdict(&b, &o, higher_is_better(m)),
                    })
                })
                .collect();
            Some(Row {
                lane: base.name.clone(),
                phase,
                metric: metric_name(m),
                unit: m.unit().into(),
                base: b.value,
                others,
                kind: m,
            })
        })
        .collect()
}

fn higher_is_better(m: Metric) -> bool {
    matches!(
        m,
        Metric::Lane(LaneStat::Throughput | LaneStat::Acked | LaneStat::Sent)
    )
}

/// NEW / BASE; 1 when both are 0, none when only BASE is.
fn ratio(new: f64, base: f64) -> Option<f64> {
    match (new == 0.0, base == 0.0) {
        (true, true) => Some(1.0),
        (_, true) => None,
        _ => Some(new / base),
    }
}

fn verdict(base: &Spread, new: &Spread, higher_is_better: bool) -> Verdict {
    if base.overlaps(new) {
        return Verdict::Same;
    }
    if (new.value > base.value) == higher_is_better {
        Verdict::Better
    } else {
        Verdict::Worse
    }
}

/// The `--fail-if` gates that hold, each naming report, lane, phase and the values.
fn gate(rows: &[Row], others: &[(String, Report)], fail_if: &[Threshold]) -> Vec<Failure> {
    let mut failures = Vec::new();
    for t in fail_if {
        for row in rows
            .iter()
            .filter(|r| r.kind == t.metric && t.covers(&r.lane))
        {
            for ((label, _), cell) in others.iter().zip(&row.others) {
                let Some(c) = cell else { continue };
                let value = match t.bound {
                    Bound::Ratio(_) => c.ratio.unwrap_or(f64::INFINITY),
                    Bound::Value(_) => c.value,
                };
                if t.passes(value) {
                    failures.push(Failure {
                        expr: t.text.clone(),
                        detail: format!(
                            "{label}: {} phase {}: {} -> {} ({})",
                            row.lane,
                            row.phase,
                            t.metric.show(row.base),
                            t.metric.show(c.value),
                            c.ratio.map_or("new".into(), |r| format!("{r:.2}x"))
                        ),
                    });
                }
            }
        }
    }
    failures
}

#[cfg(test)]
mod tests;
