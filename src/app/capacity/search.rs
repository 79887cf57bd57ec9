//! The search itself, apart from any engine: which rate to try next, given the verdicts so far.

use super::{Plan, MAX_STEPS};
use crate::report::CapacityReport;

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
            confirmed: false,
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
        if self.steps >= MAX_STEPS || self.stopped {
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
            _ if self.stopped => format!(
                "the search was stopped after {} steps (Ctrl-C, SIGTERM or q)",
                self.steps
            ),
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
