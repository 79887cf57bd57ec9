//! What the user can ask of the dashboard; [`super::keys`] says which key asks for what.

use crate::vocab::{Dir, KnobChange};
use std::path::PathBuf;

/// Where a report asked for with `s` went, or why it could not be written.
pub type Saved = Result<PathBuf, String>;

/// Something the user asked for (or the answer to it); the dashboard state changes only by
/// [`super::state::Dashboard::update`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Leave the dashboard (`q`, Ctrl-C).
    Quit,
    /// Cycle which lanes the knob keys act on: all, then each lane (`Tab`; `Shift-Tab` backwards).
    CycleTarget(Dir),
    /// Make the knob keys act on every lane (`0`) or on one lane by position (`1`, `2`, ...).
    SelectTarget(Option<usize>),
    /// Compare the next pair of lanes in the duel and distribution panels (`d`).
    NextDuel,
    /// Show the next page of lane columns, when not all fit side by side (`l`).
    NextLanes,
    /// Change a knob on the selected lanes.
    Knob(KnobChange),
    /// Pause or resume publishing (space).
    TogglePause,
    /// Reset the histograms: start a new phase with the same knobs (`x`).
    NewPhase,
    /// Play the scenario's next step now (`n`).
    NextStep,
    /// Hold the scenario, or release it (`p`).
    HoldStep,
    /// Write a report (TOML) of the run so far (`s`).
    SaveReport,
    /// A report asked for with `s` was written, or could not be.
    Saved(Saved),
    /// Show or hide the help overlay (`?`).
    ToggleHelp,
    /// Close the help overlay (Esc).
    CloseHelp,
    /// The run's duration is over: hold the final numbers until the user quits.
    RunEnded,
    /// A frame is due: follow the scenario's position for the header.
    Frame,
    /// The terminal changed size: draw again.
    Resized,
    /// The screen now shows the state: nothing to draw until it changes.
    Drawn,
}

impl Action {
    /// Whether the action still acts once the run has finished: quitting, saving, help and
    /// answers; knob, pause, reset, step and lane keys then change nothing.
    pub fn acts_when_finished(&self) -> bool {
        matches!(
            self,
            Action::Quit
                | Action::SaveReport
                | Action::Saved(_)
                | Action::ToggleHelp
                | Action::CloseHelp
                | Action::RunEnded
                | Action::NextDuel
                | Action::NextLanes
                | Action::Frame
                | Action::Resized
                | Action::Drawn
        )
    }
}
