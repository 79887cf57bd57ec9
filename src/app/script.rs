//! A scenario being played: its steps at their times, which a front end can skip ahead or hold.

use crate::engine::EngineHandle;
use crate::vocab::Step;
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Where a scenario is: the steps played so far, how many there are, when the next one plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScriptPosition {
    /// Steps played so far.
    pub played: usize,
    /// Steps in the scenario.
    pub total: usize,
    /// Time until the next step, while one is due and the script is not held.
    pub next_in: Option<Duration>,
    /// The script is held: no step plays until it is released.
    pub held: bool,
}

struct State {
    played: usize,
    /// Time the script was held so far: every later step moves later by it.
    delay: Duration,
    /// Time skipped: every later step moves earlier by it.
    advance: Duration,
    held_since: Option<Instant>,
}

impl State {
    /// When `step` plays, holds and skips counted.
    fn due(&self, start: Instant, step: &Step) -> Instant {
        let t = start + step.at + self.delay;
        t.checked_sub(self.advance).unwrap_or(t)
    }
}

/// A scenario's steps and the player's state; front ends read the position and skip or hold.
#[derive(Clone)]
pub struct Script {
    steps: Arc<Vec<Step>>,
    state: Arc<Mutex<State>>,
    wake: Arc<Notify>,
    start: Instant,
}

impl Script {
    /// A script of `steps`, counted from `start`.
    pub fn new(steps: Vec<Step>, start: Instant) -> Script {
        Script {
            steps: Arc::new(steps),
            state: Arc::new(Mutex::new(State {
                played: 0,
                delay: Duration::ZERO,
                advance: Duration::ZERO,
                held_since: None,
            })),
            wake: Arc::new(Notify::new()),
            start,
        }
    }

    /// Where the script is now.
    pub fn position(&self) -> ScriptPosition {
        let s = self.state.lock();
        let due = self.steps.get(s.played).map(|st| s.due(self.start, st));
        ScriptPosition {
            played: s.played,
            total: self.steps.len(),
            next_in: due
                .filter(|_| s.held_since.is_none())
                .map(|t| t.saturating_duration_since(Instant::now())),
            held: s.held_since.is_some(),
        }
    }

    /// Plays the next step now; the ones after it keep their distance from it.
    pub fn skip(&self) {
        {
            let mut s = self.state.lock();
            if let (Some(step), None) = (self.steps.get(s.played), s.held_since) {
                let early = s
                    .due(self.start, step)
                    .saturating_duration_since(Instant::now());
                s.advance += early;
            }
        }
        self.wake.notify_one();
    }

    /// Holds the script (no further step plays), or releases it.
    pub fn toggle_hold(&self) {
        {
            let mut s = self.state.lock();
            match s.held_since.take() {
                Some(since) => s.delay += since.elapsed(),
                None => s.held_since = Some(Instant::now()),
            }
        }
        self.wake.notify_one();
    }

    /// Plays every step at its time (moved by holds and skips) on `handle`.
    pub async fn play(self, handle: EngineHandle) {
        loop {
            let due = {
                let s = self.state.lock();
                match self.steps.get(s.played) {
                    None => return,
                    Some(_) if s.held_since.is_some() => None,
                    Some(step) => Some(s.due(self.start, step)),
                }
            };
            let wake = self.wake.notified();
            match due {
                Some(t) if t <= Instant::now() => self.play_next(&handle),
                Some(t) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(t.into()) => {}
                        _ = wake => {}
                    }
                }
                None => wake.await,
            }
        }
    }

    fn play_next(&self, handle: &EngineHandle) {
        let mut s = self.state.lock();
        if let Some(step) = self.steps.get(s.played) {
            handle.step(step.knobs.clone(), step.note.clone());
            s.played += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::Knobs;

    fn steps(at: &[u64]) -> Vec<Step> {
        at.iter()
            .map(|s| Step {
                at: Duration::from_secs(*s),
                knobs: vec![Knobs::default()],
                note: None,
            })
            .collect()
    }

    #[test]
    fn skipping_brings_the_next_step_forward_and_holding_stops_the_clock() {
        let script = Script::new(steps(&[10, 20]), Instant::now());
        let p = script.position();
        assert_eq!((p.played, p.total, p.held), (0, 2, false));
        assert!(p.next_in.unwrap() > Duration::from_secs(9));
        script.skip();
        assert!(script.position().next_in.unwrap() < Duration::from_secs(1));
        script.toggle_hold();
        assert!(script.position().held && script.position().next_in.is_none());
        std::thread::sleep(Duration::from_millis(50));
        script.toggle_hold();
        assert!(!script.position().held);
    }
}
