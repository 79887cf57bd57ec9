//! Groups of runs: each side of a comparison is one report, or several runs of the same settings
//! (`compare A1 A2 A3 --vs B1 B2 B3`) whose phases line up.

use super::{CompareError, MatchBy};
use crate::report::{LaneReport, PhaseReport, Report};

/// One side of a comparison: one run, or several runs of the same settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Each run with its label (its file name), in the order given.
    pub runs: Vec<(String, Report)>,
}

impl Group {
    /// A group of one report.
    pub fn one(label: String, report: Report) -> Group {
        Group {
            runs: vec![(label, report)],
        }
    }

    /// The group's short label: its first run's, with how many more (`a1.toml+2`).
    pub fn label(&self) -> String {
        match self.runs.len() {
            1 => self.runs[0].0.clone(),
            n => format!("{}+{}", self.runs[0].0, n - 1),
        }
    }

    /// Who is in the group: `a1.toml`, or `3 runs: a1.toml a2.toml a3.toml`.
    pub fn members(&self) -> String {
        match self.runs.len() {
            1 => self.runs[0].0.clone(),
            n => {
                let labels: Vec<&str> = self.runs.iter().map(|(l, _)| l.as_str()).collect();
                format!("{n} runs: {}", labels.join(" "))
            }
        }
    }

    /// The first run, whose phases the group's rows follow.
    pub fn first(&self) -> &Report {
        &self.runs[0].1
    }

    /// For each phase of the first run, that phase of every run (the first's own first), paired
    /// as `by` says. Runs that do not line up (another number of phases, a phase without a
    /// partner, a lane missing) are an error that names the report and the phase.
    pub fn aligned(&self, by: MatchBy) -> Result<Vec<Vec<&PhaseReport>>, CompareError> {
        let (first_label, first) = (&self.runs[0].0, self.first());
        let mut out: Vec<Vec<&PhaseReport>> = first.phases.iter().map(|p| vec![p]).collect();
        for (label, run) in &self.runs[1..] {
            let (theirs, mine) = (run.phases.len(), first.phases.len());
            if theirs != mine {
                return Err(CompareError(format!(
                    "{label} has {theirs} phase(s) and {first_label} {mine}: the runs of a \
                     group must have the same phases"
                )));
            }
            for (p, paired) in first.phases.iter().zip(out.iter_mut()) {
                let at = pair(p, &run.phases, by).ok_or_else(|| {
                    CompareError(format!(
                        "{label}: no phase pairs with phase {} of {first_label} (--match {})",
                        p.index,
                        by.name()
                    ))
                })?;
                let q = &run.phases[at];
                if let Some(l) = p.lanes.iter().find(|l| lane(q, &l.name).is_none()) {
                    return Err(CompareError(format!(
                        "{label}: phase {} has no lane `{}`, which phase {} of {first_label} has",
                        q.index, l.name, p.index
                    )));
                }
                paired.push(q);
            }
        }
        Ok(out)
    }
}

/// The lane named `name` in a phase.
pub fn lane<'a>(p: &'a PhaseReport, name: &str) -> Option<&'a LaneReport> {
    p.lanes.iter().find(|l| l.name == name)
}

/// The position in `theirs` of the phase paired with `mine`.
pub fn pair(mine: &PhaseReport, theirs: &[PhaseReport], by: MatchBy) -> Option<usize> {
    match by {
        MatchBy::Index => theirs.iter().position(|p| p.index == mine.index),
        MatchBy::Knobs => theirs.iter().position(|p| {
            p.lanes.len() == mine.lanes.len()
                && mine
                    .lanes
                    .iter()
                    .all(|l| lane(p, &l.name).is_some_and(|o| o.knobs == l.knobs))
        }),
    }
}
