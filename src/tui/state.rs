//! The dashboard's own state and the one place it changes: [`Dashboard::update`].

use super::action::{Action, Saved};
use crate::app::{Script, ScriptPosition};
use crate::engine::{EngineHandle, LaneTarget};
use crate::metrics::{PhaseResult, Snapshot};
use crate::report::threshold::Threshold;
use crate::report::{self, Report, RunInfo};
use crate::vocab::{AckStrategy, Dir, KnobChange};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc;

/// A line of feedback in the footer: what the last key did, or where a snapshot went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The text shown.
    pub text: String,
    /// Shown as an error.
    pub error: bool,
}

/// What the panels need besides the metrics snapshot; cheap to clone.
#[derive(Debug, Clone, PartialEq)]
pub struct UiState {
    /// Profile name, for the header.
    pub profile: String,
    /// Lane names in lane order, for the header and the `Tab` cycle.
    pub lanes: Vec<String>,
    /// Which lanes the knob keys act on.
    pub target: LaneTarget,
    /// The help overlay is open.
    pub help: bool,
    /// Feedback of the last action.
    pub status: Option<Status>,
    /// Run length, when the run stops by itself.
    pub duration: Option<Duration>,
    /// Where a scenario is, when the profile has steps.
    pub script: Option<ScriptPosition>,
    /// Thresholds the run checks, shown live.
    pub asserts: Vec<Threshold>,
    /// How long each phase's first stretch is left out of its percentiles.
    pub warmup: Duration,
    /// The run's duration is over: the screen holds the final numbers until the user quits.
    pub finished: bool,
    /// The lanes the duel and distribution panels compare, by position.
    pub duel: (usize, usize),
    /// Which page of lane columns shows, when not all fit side by side.
    pub page: usize,
}

impl UiState {
    /// A fresh state: knob keys act on every lane, no overlay, no status.
    pub fn new(profile: &str, lanes: Vec<String>, duration: Option<Duration>) -> UiState {
        UiState {
            profile: profile.to_string(),
            lanes,
            target: LaneTarget::All,
            help: false,
            status: None,
            duration,
            script: None,
            asserts: Vec::new(),
            warmup: Duration::ZERO,
            finished: false,
            duel: (0, 1),
            page: 0,
        }
    }

    /// `all lanes` or the selected lane's name.
    pub fn target_name(&self) -> String {
        match self.target {
            LaneTarget::All => "all lanes".to_string(),
            LaneTarget::One(i) => self
                .lanes
                .get(i)
                .cloned()
                .unwrap_or_else(|| format!("lane {}", i + 1)),
        }
    }

    fn cycle(&mut self, forward: bool) {
        let n = self.lanes.len();
        // Positions: 0 = all lanes, 1..=n = one lane.
        let pos = match self.target {
            LaneTarget::All => 0,
            LaneTarget::One(i) => i + 1,
        };
        let next = if forward {
            (pos + 1) % (n + 1)
        } else {
            (pos + n) % (n + 1)
        };
        self.target = match next {
            0 => LaneTarget::All,
            i => LaneTarget::One(i - 1),
        };
    }

    fn say(&mut self, text: String, error: bool) {
        self.status = Some(Status { text, error });
    }
}

/// The run as it stood when its duration ended: what the screen and `s` show from then on.
struct Frozen {
    snap: Arc<Snapshot>,
    phases: Vec<PhaseResult>,
}

/// The running dashboard: its UI state and the engine it steers.
pub struct Dashboard {
    handle: EngineHandle,
    info: RunInfo,
    report_dir: PathBuf,
    saves: mpsc::UnboundedSender<Saved>,
    saved: mpsc::UnboundedReceiver<Saved>,
    script: Option<Script>,
    frozen: Option<Frozen>,
    /// What the panels draw besides the metrics.
    pub ui: UiState,
    /// Set once the user asked to quit.
    pub quit: bool,
    /// Something changed since the screen was last drawn.
    dirty: bool,
}

impl Dashboard {
    /// A dashboard over `handle`; reports asked for with `s` go to `report_dir`.
    pub fn new(handle: EngineHandle, info: RunInfo, ui: UiState, report_dir: PathBuf) -> Dashboard {
        let (saves, saved) = mpsc::unbounded_channel();
        Dashboard {
            handle,
            info,
            report_dir,
            saves,
            saved,
            script: None,
            frozen: None,
            ui,
            quit: false,
            dirty: true,
        }
    }

    /// The engine this dashboard steers.
    pub fn handle(&self) -> &EngineHandle {
        &self.handle
    }

    /// Plays `script` under this dashboard: `n` skips to its next step, `p` holds it.
    pub fn with_script(mut self, script: Script) -> Dashboard {
        self.script = Some(script).filter(|s| s.position().total > 0);
        self
    }

    /// The snapshot to draw: the engine's latest, or the final one once the run has finished.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        match &self.frozen {
            Some(f) => Arc::clone(&f.snap),
            None => self.handle.snapshot(),
        }
    }

    /// Whether the screen must be drawn again though the snapshot has not changed.
    pub fn needs_drawing(&self) -> bool {
        self.dirty
    }

    /// Reads where the scenario is, for the header: once per frame.
    fn follow_script(&mut self) {
        if self.frozen.is_some() {
            return;
        }
        let now = self.script.as_ref().map(Script::position);
        if now != self.ui.script {
            self.ui.script = now;
            self.dirty = true;
        }
    }

    /// Completes when a report asked for with `s` has been written (or has failed).
    pub async fn saved(&mut self) -> Option<Saved> {
        self.saved.recv().await
    }

    /// Applies one action: the only place the dashboard's state changes.
    pub fn update(&mut self, action: Action) {
        match action {
            Action::Frame => return self.follow_script(),
            Action::Drawn => return self.dirty = false,
            _ => self.dirty = true,
        }
        match action {
            Action::Frame | Action::Drawn | Action::Resized => {}
            Action::Quit => self.quit = true,
            Action::ToggleHelp => self.ui.help = !self.ui.help,
            Action::CloseHelp => self.ui.help = false,
            Action::RunEnded => self.finish(),
            Action::SaveReport => self.save_report(),
            Action::Saved(Ok(path)) => self
                .ui
                .say(format!("report written to {}", path.display()), false),
            Action::Saved(Err(e)) => self.ui.say(e, true),
            a if self.ui.finished && !a.acts_when_finished() => self.ui.say(
                "the run is finished: nothing changes now; s saves a report, q quits".into(),
                false,
            ),
            a => self.steer(a),
        }
    }

    /// Applies an action that steers the run (targets, knobs, pause, reset, steps).
    fn steer(&mut self, action: Action) {
        match action {
            Action::CycleTarget(dir) => {
                self.ui.cycle(dir == Dir::Up);
                let t = self.ui.target_name();
                self.ui.say(format!("knob keys now act on {t}"), false);
            }
            Action::SelectTarget(None) => self.ui.target = LaneTarget::All,
            Action::SelectTarget(Some(i)) if i < self.ui.lanes.len() => {
                self.ui.target = LaneTarget::One(i)
            }
            Action::SelectTarget(Some(i)) => {
                self.ui.say(format!("there is no lane {}", i + 1), true)
            }
            Action::NextDuel => self.next_duel(),
            Action::NextLanes => {
                self.ui.page += 1;
                self.ui.say("next page of lanes".into(), false);
            }
            Action::Knob(change) => self.change_knob(change),
            Action::TogglePause => {
                let paused = !self.handle.snapshot().paused;
                self.handle.toggle_pause();
                let msg = if paused {
                    "paused: space resumes (a new phase)"
                } else {
                    "resumed: a new phase"
                };
                self.ui.say(msg.into(), false);
            }
            Action::NewPhase => {
                self.handle.new_phase();
                self.ui
                    .say("histograms reset: new phase".to_string(), false);
            }
            Action::NextStep | Action::HoldStep if self.script.is_none() => {
                self.ui.say("this profile has no steps".into(), true)
            }
            Action::NextStep => {
                if let Some(s) = &self.script {
                    s.skip();
                }
                self.ui.say("next step: now".into(), false);
            }
            Action::HoldStep => {
                if let Some(s) = &self.script {
                    s.toggle_hold();
                    let msg = if s.position().held {
                        "scenario held: p resumes it"
                    } else {
                        "scenario resumed"
                    };
                    self.ui.say(msg.into(), false);
                }
            }
            _ => {}
        }
    }

    /// The run's duration is over: keeps the final numbers on screen (and for `s`), and
    /// freezes the engine and holds the scenario, so nothing runs on behind the frozen screen:
    /// the run's phases end here, however long the screen stays.
    /// Moves the duel to the next pair of lanes: (0,1), (0,2) ... (1,2) ... and round again.
    fn next_duel(&mut self) {
        let n = self.ui.lanes.len();
        if n < 3 {
            let msg = "the duel already compares the only two lanes";
            return self.ui.say(msg.into(), false);
        }
        let (a, b) = self.ui.duel;
        self.ui.duel = match (a, b + 1) {
            (a, b) if b < n => (a, b),
            (a, _) if a + 2 < n => (a + 1, a + 2),
            _ => (0, 1),
        };
        let (a, b) = self.ui.duel;
        let msg = format!("duel: {} vs {}", self.ui.lanes[a], self.ui.lanes[b]);
        self.ui.say(msg, false);
    }

    fn finish(&mut self) {
        if self.frozen.is_some() {
            return;
        }
        let snap = self.handle.snapshot();
        let phases = self.handle.phases();
        self.handle.freeze();
        if let Some(s) = self.script.as_ref().filter(|s| !s.position().held) {
            s.toggle_hold();
        }
        self.frozen = Some(Frozen { snap, phases });
        self.ui.finished = true;
        self.ui.help = false;
        self.ui
            .say("time is up: these are the final numbers".into(), false);
    }

    /// Applies a knob change to the selected lanes, unless it would change nothing there (a rate
    /// at max, a batch under another strategy): then it says why and opens no phase.
    fn change_knob(&mut self, change: KnobChange) {
        let t = self.ui.target_name();
        let snap = self.handle.snapshot();
        let selected: Vec<_> = (snap.lanes.iter().enumerate())
            .filter(|(i, _)| {
                self.ui.target == LaneTarget::All || self.ui.target == LaneTarget::One(*i)
            })
            .map(|(_, l)| l.knobs)
            .collect();
        let idle = match change {
            KnobChange::Rate(_) if selected.iter().all(|k| k.rate == 0) => {
                Some("the rate is max (closed loop) on {t}: r and R act on a set rate (--rate)")
            }
            KnobChange::Batch(_) if selected.iter().all(|k| k.ack != AckStrategy::Batch) => {
                Some("batch applies to the batch strategy (a), not used on {t}: nothing changed")
            }
            _ => None,
        };
        if let Some(why) = idle {
            self.ui.say(why.replace("{t}", &t), false);
            return;
        }
        self.handle.apply(self.ui.target, change);
        self.ui
            .say(format!("{} on {t}: new phase", describe(change)), false);
    }

    /// Writes a report of the run so far on a blocking thread (it ends with an fsync), never on
    /// the UI task; [`Action::Saved`] says how it went.
    fn save_report(&mut self) {
        let path = report::report_path_now(&self.report_dir, SystemTime::now());
        self.ui
            .say(format!("writing a report to {}...", path.display()), false);
        let phases = match &self.frozen {
            Some(f) => f.phases.clone(),
            None => self.handle.phases(),
        };
        let (info, tx) = (self.info.clone(), self.saves.clone());
        tokio::task::spawn_blocking(move || {
            let written = match Report::build(&info, &phases) {
                Ok(r) => r
                    .write(&path)
                    .map(|()| path.clone())
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            }
            .map_err(|e| format!("cannot write the report {}: {e}", path.display()));
            let _ = tx.send(written);
        });
    }
}

fn describe(change: KnobChange) -> String {
    let dir = |d: Dir, what: &str| match d {
        Dir::Up => format!("{what} doubled"),
        Dir::Down => format!("{what} halved"),
    };
    match change {
        KnobChange::Concurrency(d) if d >= 0 => format!("concurrency raised by {d}"),
        KnobChange::Concurrency(d) => format!("concurrency lowered by {}", d.unsigned_abs()),
        KnobChange::MaxPending(up) => dir(up, "max-pending"),
        KnobChange::NextAck => "next ack strategy".to_string(),
        KnobChange::Ack(a) => format!("ack {a}"),
        KnobChange::Rate(up) => dir(up, "rate"),
        KnobChange::MessageSize(up) => dir(up, "message size"),
        KnobChange::Batch(up) => dir(up, "batch"),
        KnobChange::Set(_) => "knobs set".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tab_cycles_all_then_each_lane() {
        let mut ui = UiState::new("p", vec!["kafka".into(), "nats".into()], None);
        assert_eq!(ui.target_name(), "all lanes");
        ui.cycle(true);
        assert_eq!(ui.target_name(), "kafka");
        ui.cycle(true);
        assert_eq!(ui.target_name(), "nats");
        ui.cycle(true);
        assert_eq!(ui.target, LaneTarget::All);
        ui.cycle(false);
        assert_eq!(ui.target_name(), "nats");
    }

    #[test]
    fn changes_are_described() {
        assert_eq!(
            describe(KnobChange::Concurrency(1)),
            "concurrency raised by 1"
        );
        assert_eq!(describe(KnobChange::Rate(Dir::Down)), "rate halved");
    }
}
