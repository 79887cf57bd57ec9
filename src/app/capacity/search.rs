//! The search itself, apart from any engine: which rate to try next, given the verdicts so far.

use super::{Plan, MAX_STEPS};
use crate::report::{CapacityRepeat, CapacityReport};
use std::collections::{BTreeMap, BTreeSet};

/// Why a step did not meet the SLO.
#[derive(Debug, Clone, PartialEq)]
pub struct Broke {
    /// What broke, with the figure.
    pub why: String,
    /// The lane setting behind it, when one is.
    pub cause: Option<String>,
    /// A lane setting rules the SLO out at every rate the search may try: measuring more
    /// cannot change the answer.
    pub unreachable: bool,
}

/// What a break says: the figure, then the setting behind it.
impl std::fmt::Display for Broke {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.why)?;
        match &self.cause {
            Some(c) => write!(f, "; {c}"),
            None => Ok(()),
        }
    }
}

impl Broke {
    /// A break the lane's settings do not explain.
    pub fn new(why: impl Into<String>) -> Broke {
        Broke {
            why: why.into(),
            cause: None,
            unreachable: false,
        }
    }
}

/// The search itself, apart from any engine: which rate to try next, given the verdicts so far.
///
/// A break counts only when it happens twice at a rate (one slow step, a GC pause or a log roll,
/// would otherwise settle the answer, since a rate that broke rules out every rate above it),
/// unless a setting makes the SLO unreachable: then the search ends at once.
#[derive(Debug, Clone)]
pub struct Search {
    plan: Plan,
    /// Rates whose last measurement met the SLO (below every rate that broke).
    passed: BTreeSet<u64>,
    /// The lowest rate that broke twice, and why.
    bad: Option<(u64, Broke)>,
    /// A rate that broke once, to measure again before it counts.
    suspect: Option<u64>,
    /// The best rate was measured a second time and held.
    confirmed: bool,
    /// Every verdict per rate, in order (true: held).
    history: BTreeMap<u64, Vec<bool>>,
    steps: u32,
    /// Stopped (Ctrl-C, SIGTERM, `q`) before it was over.
    stopped: bool,
}

impl Search {
    /// A search by `plan`.
    pub fn new(plan: Plan) -> Search {
        Search {
            plan,
            passed: Default::default(),
            bad: None,
            suspect: None,
            confirmed: false,
            history: Default::default(),
            steps: 0,
            stopped: false,
        }
    }

    /// Steps measured so far.
    pub fn steps(&self) -> u32 {
        self.steps
    }

    /// Ends the search early: it measures nothing more and says so.
    pub fn stop(&mut self) {
        self.stopped = true;
    }

    /// The next rate to measure, or `None` when the search is over.
    pub fn next(&self) -> Option<u64> {
        if self.steps >= MAX_STEPS || self.stopped || self.unreachable() {
            return None;
        }
        if let Some(rate) = self.suspect {
            return Some(rate);
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

    fn unreachable(&self) -> bool {
        self.bad.as_ref().is_some_and(|(_, b)| b.unreachable)
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
        let seen = self.history.entry(rate).or_default();
        seen.push(verdict.is_ok());
        let breaks = seen.iter().filter(|held| !**held).count();
        match verdict {
            Ok(()) => {
                self.suspect = None;
                self.confirmed = self.good() == Some(rate);
                self.passed.insert(rate);
            }
            Err(why) if !why.unreachable && breaks < 2 => self.suspect = Some(rate),
            Err(why) => {
                // A rate that broke twice rules out every rate from it up, even one that held
                // before: that was luck, not capacity.
                self.suspect = None;
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
            _ if self.stopped => format!(
                "the search was stopped after {} steps (Ctrl-C, SIGTERM or q)",
                self.steps
            ),
            (Some((b, why)), _) => format!(
                "{} at {b} msg/s{}{}",
                why.why,
                if why.unreachable { "" } else { " (twice)" },
                why.cause
                    .as_ref()
                    .map_or(String::new(), |c| format!("; {c}"))
            ),
            (None, Some(g)) if g >= self.plan.max => {
                format!("met the SLO up to --max-rate {}", self.plan.max)
            }
            (None, _) => "the search stopped before a rate broke".into(),
        };
        let split: Vec<String> = (self.history.iter())
            .filter(|(_, seen)| seen.contains(&true) && seen.contains(&false))
            .map(|(rate, _)| rate.to_string())
            .collect();
        let reason = match split.len() {
            0 => reason,
            _ => format!(
                "{reason}; uncertain: {} msg/s met the SLO on one measurement and broke it on \
                 another, so the SLO is within the run-to-run noise there",
                split.join(", ")
            ),
        };
        CapacityReport {
            lane: lane.to_string(),
            slo: self.plan.slo.text.clone(),
            max_rate: self.good().unwrap_or(0),
            broke_at: self.bad.as_ref().map(|(b, _)| *b),
            reason,
            steps: self.steps,
            repeats: self.repeats(),
        }
    }

    /// The rates measured more than once, and how each measurement came out: how sure the
    /// answer is.
    fn repeats(&self) -> Vec<CapacityRepeat> {
        (self.history.iter())
            .filter(|(_, seen)| seen.len() > 1)
            .map(|(rate, seen)| CapacityRepeat {
                rate: *rate,
                held: seen.clone(),
            })
            .collect()
    }
}

/// How sure a search's answer is, in a line: `1000 held 2/2, 2000 broke 2/2, 1500 broke then held`.
pub fn sureness(repeats: &[CapacityRepeat]) -> String {
    let one = |r: &CapacityRepeat| {
        let held = r.held.iter().filter(|h| **h).count();
        let n = r.held.len();
        match held {
            0 => format!("{} broke {n}/{n}", r.rate),
            h if h == n => format!("{} held {n}/{n}", r.rate),
            h => format!("{} held {h}/{n}", r.rate),
        }
    };
    repeats.iter().map(one).collect::<Vec<_>>().join(", ")
}

/// A bisection midpoint rounded to a readable rate, never onto either end of the gap.
fn round_rate(mid: u64, gap: u64) -> u64 {
    let unit = [1000, 500, 100, 50, 10, 5, 1]
        .into_iter()
        .find(|u| u * 4 <= gap)
        .unwrap_or(1);
    (mid / unit) * unit
}
