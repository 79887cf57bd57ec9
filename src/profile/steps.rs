//! Scripted phases: a profile's `[[steps]]`, checked and played out into concrete [`Step`]s.
//!
//! ```toml
//! [[steps]]
//! at = "10s"            # or after = "5s": since the previous step
//! lane = "nats"         # optional: only this lane's knobs change
//! ack = "sync"          # any knob
//! note = "nats goes sync: watch its submit p50"
//!
//! [[steps]]
//! after = "10s"
//! rate_to = 8000        # a ramp: the rate moves there in one-second phases
//! over = "10s"
//! ```

use super::{de_duration, Fault};
use crate::vocab::{KnobLayer, Knobs, Step};
use serde::Deserialize;
use std::time::Duration;

/// Keys a step may set besides the knobs.
pub(super) const STEP_KEYS: [&str; 6] = ["at", "after", "lane", "note", "rate_to", "over"];

/// One `[[steps]]` entry as written.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct StepSpec {
    /// When, from the start of the run.
    #[serde(default, deserialize_with = "de_duration")]
    pub at: Option<Duration>,
    /// When, from the previous step (or the start, for the first).
    #[serde(default, deserialize_with = "de_duration")]
    pub after: Option<Duration>,
    /// The only lane it changes, by name; every lane when absent.
    pub lane: Option<String>,
    /// The knobs it sets.
    #[serde(flatten)]
    pub knobs: KnobLayer,
    /// The caption shown while the step's phase runs.
    pub note: Option<String>,
    /// A ramp: the rate to reach, in one-second phases ...
    pub rate_to: Option<u64>,
    /// ... over this long.
    #[serde(default, deserialize_with = "de_duration")]
    pub over: Option<Duration>,
}

/// A fault in step `i` (0-based) at `key`.
fn fault(i: usize, key: &str, message: String) -> Fault {
    Fault {
        key: key.to_string(),
        section: Some("steps".into()),
        entry: Some(("steps", i)),
        message,
    }
}

impl StepSpec {
    /// When this step happens, given when the previous one did.
    fn time(&self, i: usize, previous: Duration) -> Result<Duration, Fault> {
        match (self.at, self.after) {
            (Some(at), None) if at < previous => Err(fault(
                i,
                "at",
                format!(
                    "{} is before the previous step ({}): steps go in time order",
                    humantime::format_duration(at),
                    humantime::format_duration(previous)
                ),
            )),
            (Some(at), None) => Ok(at),
            (None, Some(after)) => Ok(previous + after),
            (Some(_), Some(_)) => Err(fault(i, "after", "give `at` or `after`, not both".into())),
            (None, None) => Err(fault(i, "at", "a step needs `at` or `after`".into())),
        }
    }

    /// Checks the ramp keys go together.
    fn ramp(&self, i: usize) -> Result<Option<(u64, Duration)>, Fault> {
        match (self.rate_to, self.over, self.knobs.rate) {
            (None, None, _) => Ok(None),
            (Some(_), _, Some(_)) => Err(fault(
                i,
                "rate_to",
                "a ramp (`rate_to`) and a `rate` in one step: give one".into(),
            )),
            (Some(to), Some(over), None) if over >= Duration::from_secs(1) => Ok(Some((to, over))),
            (Some(_), Some(_), None) => Err(fault(i, "over", "must be at least 1s".into())),
            (Some(_), None, _) => Err(fault(i, "over", "`rate_to` needs `over`".into())),
            (None, Some(_), _) => Err(fault(i, "rate_to", "`over` needs `rate_to`".into())),
        }
    }
}

/// Plays `specs` out over `lanes` (each lane's first knobs): one [`Step`] per step, and one per
/// second of a ramp. Every knob set it reaches is checked; `duration` bounds the times.
pub(super) fn play(
    specs: &[StepSpec],
    lanes: &[(String, Knobs)],
    duration: Option<Duration>,
) -> Result<Vec<Step>, Fault> {
    let mut state: Vec<Knobs> = lanes.iter().map(|(_, k)| *k).collect();
    let mut out = Vec::new();
    let mut previous = Duration::ZERO;
    for (i, spec) in specs.iter().enumerate() {
        let at = spec.time(i, previous)?;
        check_place(spec, i, at, lanes, duration)?;
        let first = state.clone();
        for (t, ramp) in points(at, spec.ramp(i)?) {
            for (((name, _), knobs), from) in lanes.iter().zip(state.iter_mut()).zip(&first) {
                if spec.lane.as_ref().is_some_and(|l| l != name) {
                    continue;
                }
                let mut next = spec.knobs.over(*from);
                if let Some((to, k, n)) = ramp {
                    next.rate = ramp_rate(from.rate, to, k, n);
                }
                next.validate().map_err(|(key, msg)| fault(i, key, msg))?;
                *knobs = next;
            }
            let note = if t == at { spec.note.clone() } else { None };
            out.push(Step {
                at: t,
                knobs: state.clone(),
                note,
            });
        }
        previous = at;
    }
    Ok(out)
}

/// The step is inside the run and names a lane that runs.
fn check_place(
    spec: &StepSpec,
    i: usize,
    at: Duration,
    lanes: &[(String, Knobs)],
    duration: Option<Duration>,
) -> Result<(), Fault> {
    if let Some(d) = duration.filter(|d| at >= *d) {
        let key = if spec.at.is_some() { "at" } else { "after" };
        let msg = format!(
            "{} is after the run ends ({})",
            humantime::format_duration(at),
            humantime::format_duration(d)
        );
        return Err(fault(i, key, msg));
    }
    if let Some(lane) = spec
        .lane
        .as_ref()
        .filter(|l| !lanes.iter().any(|(k, _)| k == *l))
    {
        let names: Vec<&str> = lanes.iter().map(|(n, _)| n.as_str()).collect();
        let msg = format!(
            "lane `{lane}` does not run in this profile ({})",
            names.join(", ")
        );
        return Err(fault(i, "lane", msg));
    }
    Ok(())
}

/// A point of a ramp: its target rate, the point's number (1-based) and the number of points.
type RampPoint = (u64, u64, u64);

/// When each phase of a step starts: once, or once a second along a ramp.
fn points(at: Duration, ramp: Option<(u64, Duration)>) -> Vec<(Duration, Option<RampPoint>)> {
    match ramp {
        None => vec![(at, None)],
        Some((to, over)) => {
            let n = over.as_secs().max(1);
            (1..=n)
                .map(|k| (at + Duration::from_secs(k - 1), Some((to, k, n))))
                .collect()
        }
    }
}

/// The rate `k` of `n` points of the way from `from` to `to`: `to` itself at the last point.
fn ramp_rate(from: u64, to: u64, k: u64, n: u64) -> u64 {
    let (from, to) = (i128::from(from), i128::from(to));
    (from + (to - from) * i128::from(k) / i128::from(n.max(1))) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lanes() -> Vec<(String, Knobs)> {
        let k = Knobs {
            rate: 200,
            ..Knobs::default()
        };
        vec![("kafka".into(), k), ("nats".into(), k)]
    }

    fn at(secs: u64) -> Option<Duration> {
        Some(Duration::from_secs(secs))
    }

    #[test]
    fn steps_set_knobs_on_the_lanes_they_name() {
        let specs = [
            StepSpec {
                at: at(3),
                knobs: KnobLayer {
                    rate: Some(400),
                    ..KnobLayer::default()
                },
                note: Some("double".into()),
                ..StepSpec::default()
            },
            StepSpec {
                after: at(3),
                lane: Some("nats".into()),
                knobs: KnobLayer {
                    ack: Some(crate::vocab::AckStrategy::Sync),
                    ..KnobLayer::default()
                },
                ..StepSpec::default()
            },
        ];
        let steps = play(&specs, &lanes(), at(10)).unwrap();
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[0].at, Duration::from_secs(3));
        assert!(steps[0].knobs.iter().all(|k| k.rate == 400));
        assert_eq!(steps[0].note.as_deref(), Some("double"));
        assert_eq!(steps[1].at, Duration::from_secs(6));
        assert_eq!(steps[1].knobs[0].ack, crate::vocab::AckStrategy::Async);
        assert_eq!(steps[1].knobs[1].ack, crate::vocab::AckStrategy::Sync);
        assert_eq!(steps[1].knobs[1].rate, 400, "earlier steps stay in force");
    }

    #[test]
    fn a_ramp_moves_the_rate_in_one_second_phases() {
        let spec = StepSpec {
            at: at(2),
            rate_to: Some(800),
            over: at(4),
            note: Some("ramp".into()),
            ..StepSpec::default()
        };
        let steps = play(&[spec], &lanes(), at(8)).unwrap();
        let rates: Vec<u64> = steps.iter().map(|s| s.knobs[0].rate).collect();
        assert_eq!(rates, [350, 500, 650, 800]);
        let times: Vec<u64> = steps.iter().map(|s| s.at.as_secs()).collect();
        assert_eq!(times, [2, 3, 4, 5]);
        assert_eq!(steps[0].note.as_deref(), Some("ramp"));
        assert!(steps[1..].iter().all(|s| s.note.is_none()));
    }

    #[test]
    fn bad_steps_name_their_key() {
        let key = |spec: StepSpec| play(&[spec], &lanes(), at(10)).unwrap_err().key;
        assert_eq!(key(StepSpec::default()), "at");
        assert_eq!(
            key(StepSpec {
                at: at(11),
                ..StepSpec::default()
            }),
            "at"
        );
        assert_eq!(
            key(StepSpec {
                at: at(1),
                rate_to: Some(5),
                ..StepSpec::default()
            }),
            "over"
        );
        assert_eq!(
            key(StepSpec {
                at: at(1),
                knobs: KnobLayer {
                    concurrency: Some(0),
                    ..KnobLayer::default()
                },
                ..StepSpec::default()
            }),
            "concurrency"
        );
        let out_of_order = [
            StepSpec {
                at: at(5),
                ..StepSpec::default()
            },
            StepSpec {
                at: at(4),
                ..StepSpec::default()
            },
        ];
        let f = play(&out_of_order, &lanes(), None).unwrap_err();
        assert_eq!((f.key.as_str(), f.entry), ("at", Some(("steps", 1))));
    }
}
