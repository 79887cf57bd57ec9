//! `pubduel compare`: reports side by side, per lane, phase and stage, with the ratio NEW/BASE
//! and a verdict ([`verdict`]) that reads `same` unless the per-second figures show a change
//! (a rank test, [`rank`]) of at least the minimum effect. Each side is one report or a group
//! of runs of the same settings ([`Group`]); `--fail-if` gates on the ratio.

mod group;
pub mod rank;
mod render;
mod samples;
pub mod spread;
pub mod verdict;

pub use group::Group;
pub use render::Format;
pub use verdict::{Basis, Verdict, ALPHA, MIN_EFFECT};

use super::threshold::{Bound, LaneStat, Metric, Stat, Threshold};
use super::PhaseReport;
use crate::vocab::Stage;

use samples::RunLane;
use serde::Serialize;
use verdict::Rule;

/// How phases of two reports are paired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum MatchBy {
    /// Phase 0 with phase 0, 1 with 1, ...
    #[default]
    Index,
    /// Each BASE phase with the first NEW phase whose lanes ran the same knobs.
    Knobs,
}

impl MatchBy {
    /// The name `--match` takes.
    pub fn name(self) -> &'static str {
        match self {
            MatchBy::Index => "index",
            MatchBy::Knobs => "knobs",
        }
    }
}

/// Reports that cannot be compared: the runs of a group do not line up.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct CompareError(pub String);

/// One figure of one group against BASE.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cell {
    /// The phase paired with BASE's (of the group's first run).
    pub phase: u32,
    /// Its value (microseconds for latencies): the median of the group's runs.
    pub value: f64,
    /// value / BASE's value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
    /// Against BASE.
    pub verdict: Verdict,
    /// What the verdict was based on.
    pub basis: Basis,
    /// The rank test's p-value, when it decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p: Option<f64>,
    /// BASE's per-second samples (measured seconds of all its runs; 0 for counts).
    pub n_base: usize,
    /// This group's per-second samples.
    pub n_new: usize,
    /// Why a difference still reads `same`, e.g. `under 10%`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One figure (`ack.p99`, `throughput`) of one lane in one BASE phase, across the groups.
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
    /// BASE's value: the median of its runs.
    pub base: f64,
    /// Each further group's value, in order; `None` where it has no such figure (in TOML a
    /// table `{ missing = true }`, as TOML has no empty value).
    #[serde(serialize_with = "cells")]
    pub others: Vec<Option<Cell>>,
    #[serde(skip)]
    kind: Metric,
}

/// Each cell, or `{ missing = true }` where there is none.
fn cells<S: serde::Serializer>(cells: &[Option<Cell>], s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    #[serde(untagged)]
    enum Shown<'a> {
        Cell(&'a Cell),
        Missing { missing: bool },
    }
    s.collect_seq(cells.iter().map(|c| match c {
        Some(c) => Shown::Cell(c),
        None => Shown::Missing { missing: true },
    }))
}

/// A `--fail-if` that held: what regressed, where.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    /// The expression.
    pub expr: String,
    /// Which group, lane and phase, with the values.
    pub detail: String,
}

/// Everything `compare` found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Group labels (a file name, or `a1.toml+2` for a group of three), BASE first.
    pub reports: Vec<String>,
    /// Who is in each group, BASE first: `a1.toml`, or `3 runs: a1.toml a2.toml a3.toml`.
    pub members: Vec<String>,
    /// The smallest change called better or worse, a share of BASE.
    pub min_effect: f64,
    /// One row per lane, BASE phase and figure.
    pub rows: Vec<Row>,
    /// BASE phases no other group could be paired with, per group.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unmatched: Vec<String>,
    /// Gates that failed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<Failure>,
    /// Client or server versions that differ between BASE's first run and another run, e.g.
    /// `nats-server: 2.12.3 in base.toml, 2.15.3 in new.toml`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
}

/// What to compare and how.
#[derive(Debug, Clone)]
pub struct CompareOptions {
    /// How phases pair up (between groups, and between the runs of a group).
    pub match_by: MatchBy,
    /// Stages to show (`ack`, `submit`, ...); those a gate names are always included.
    pub stages: Vec<Stage>,
    /// Gates: a comparison fails when one of these holds.
    pub fail_if: Vec<Threshold>,
    /// The smallest change called better or worse, a share of BASE ([`MIN_EFFECT`]).
    pub min_effect: f64,
}

impl Default for CompareOptions {
    fn default() -> CompareOptions {
        CompareOptions {
            match_by: MatchBy::default(),
            stages: Vec::new(),
            fail_if: Vec::new(),
            min_effect: MIN_EFFECT,
        }
    }
}

const STATS: [(Stat, &str); 5] = [
    (Stat::P50, "p50"),
    (Stat::P90, "p90"),
    (Stat::P99, "p99"),
    (Stat::P999, "p99.9"),
    (Stat::Max, "max"),
];

/// One group's runs of one lane in the phase paired with a BASE phase.
struct Paired<'a> {
    phase: u32,
    runs: Vec<RunLane<'a>>,
}

/// Compares `groups`, the first being BASE. Fails, before comparing anything, when the runs of
/// a group do not line up.
pub fn compare(groups: &[Group], opts: &CompareOptions) -> Result<Comparison, CompareError> {
    let aligned = (groups.iter())
        .map(|g| g.aligned(opts.match_by))
        .collect::<Result<Vec<_>, _>>()?;
    let (base, others) = groups.split_first().expect("compare needs a BASE group");
    let mut unmatched = Vec::new();
    let pairs: Vec<Vec<Option<usize>>> = others
        .iter()
        .map(|g| {
            let paired = (base.first().phases.iter())
                .map(|p| group::pair(p, &g.first().phases, opts.match_by))
                .collect::<Vec<_>>();
            for (p, _) in base
                .first()
                .phases
                .iter()
                .zip(&paired)
                .filter(|x| x.1.is_none())
            {
                let label = g.label();
                unmatched.push(format!(
                    "{label} has no phase paired with phase {}",
                    p.index
                ));
            }
            paired
        })
        .collect();
    let stages = shown_stages(opts);
    let mut rows = Vec::new();
    for (i, bp) in base.first().phases.iter().enumerate() {
        for bl in &bp.lanes {
            let mine = runs_of(&aligned[0][i], &bl.name);
            let theirs: Vec<Option<Paired>> = (pairs.iter().zip(&aligned[1..]))
                .map(|(paired, phases)| {
                    let at = &phases[paired[i]?];
                    let runs = runs_of(at, &bl.name);
                    let phase = at[0].index;
                    (!runs.is_empty()).then_some(Paired { phase, runs })
                })
                .collect();
            rows.extend(lane_rows(bp.index, &bl.name, &mine, &theirs, &stages, opts));
        }
    }
    let labels: Vec<String> = groups.iter().map(Group::label).collect();
    let failures = gate(&rows, &labels[1..], &opts.fail_if);
    Ok(Comparison {
        reports: labels,
        members: groups.iter().map(Group::members).collect(),
        min_effect: opts.min_effect,
        rows,
        unmatched,
        failures,
        versions: version_differences(base, others),
    })
}

/// Each run's lane `name` in its phase of `phases` (one phase per run).
fn runs_of<'a>(phases: &[&'a PhaseReport], name: &str) -> Vec<RunLane<'a>> {
    (phases.iter())
        .filter_map(|p| Some((*p, group::lane(p, name)?)))
        .collect()
}

/// What measured BASE and the other runs differently: every client or server version that
/// BASE's first run records and another run does not, or records as another.
fn version_differences(base: &Group, others: &[Group]) -> Vec<String> {
    let mut out = Vec::new();
    let shown = |v: Option<&String>| v.map_or("not recorded".to_string(), String::clone);
    let (base_label, mine) = (&base.runs[0].0, &base.first().meta.versions);
    let runs = (base.runs[1..].iter()).chain(others.iter().flat_map(|g| &g.runs));
    for (label, r) in runs {
        let theirs = &r.meta.versions;
        let names: std::collections::BTreeSet<&String> = mine.keys().chain(theirs.keys()).collect();
        for name in names {
            let (a, b) = (mine.get(name), theirs.get(name));
            if a != b {
                out.push(format!(
                    "{name}: {} in {base_label}, {} in {label}",
                    shown(a),
                    shown(b)
                ));
            }
        }
    }
    out
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

/// The rows of one lane in one BASE phase: throughput, counts, then each stage's percentiles.
fn lane_rows(
    phase: u32,
    lane: &str,
    base: &[RunLane<'_>],
    theirs: &[Option<Paired<'_>>],
    stages: &[Stage],
    opts: &CompareOptions,
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
            let b = samples::side(base, m)?;
            let rule = Rule {
                count: samples::is_count(m),
                higher_is_better: higher_is_better(m),
                min_effect: opts.min_effect,
            };
            let others = (theirs.iter())
                .map(|t| {
                    let t = t.as_ref()?;
                    let o = samples::side(&t.runs, m)?;
                    let j = verdict::judge(&b, &o, rule);
                    Some(Cell {
                        phase: t.phase,
                        value: o.value,
                        ratio: ratio(o.value, b.value),
                        verdict: j.verdict,
                        basis: j.basis,
                        p: j.p,
                        n_base: b.seconds.len(),
                        n_new: o.seconds.len(),
                        note: j.note,
                    })
                })
                .collect();
            Some(Row {
                lane: lane.to_string(),
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

/// The `--fail-if` gates that hold, each naming report, lane, phase and the values.
fn gate(rows: &[Row], labels: &[String], fail_if: &[Threshold]) -> Vec<Failure> {
    let mut failures = Vec::new();
    for t in fail_if {
        for row in rows
            .iter()
            .filter(|r| r.kind == t.metric && t.covers(&r.lane))
        {
            for (label, cell) in labels.iter().zip(&row.others) {
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
