//! Keys become actions: the dashboard's whole key map, in one place.

use crate::vocab::KnobChange;
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// Something the user asked for (or the answer to it); the dashboard state changes only by
/// [`super::state::Dashboard::update`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Leave the dashboard (`q`, Ctrl-C).
    Quit,
    /// Cycle which lanes the knob keys act on: all, then each lane (`Tab`; `Shift-Tab` backwards).
    CycleTarget(bool),
    /// Make the knob keys act on every lane (`0`) or on one lane by position (`1`, `2`, ...).
    SelectTarget(Option<usize>),
    /// Change a knob on the selected lanes.
    Knob(KnobChange),
    /// Pause or resume publishing (space).
    TogglePause,
    /// Reset the histograms: start a new phase with the same knobs (`x`).
    NewPhase,
    /// Write a report (TOML) of the run so far (`s`).
    SaveReport,
    /// A report asked for with `s` was written, or could not be.
    Saved(super::state::Saved),
    /// Show or hide the help overlay (`?`).
    ToggleHelp,
    /// Close the help overlay (Esc).
    CloseHelp,
}

/// One line of the help overlay: the keys and what they do.
pub struct KeyHelp {
    /// The keys, as printed.
    pub keys: &'static str,
    /// What they do.
    pub what: &'static str,
}

/// Every key the dashboard knows, in the order the help overlay lists them.
pub const KEYS: &[KeyHelp] = &[
    KeyHelp {
        keys: "q  Ctrl-C",
        what: "quit (writes --report if given)",
    },
    KeyHelp {
        keys: "Tab  Shift-Tab",
        what: "cycle the lanes the knob keys act on: all, kafka, nats",
    },
    KeyHelp {
        keys: "0  1  2",
        what: "knob keys act on all lanes / on lane 1 / on lane 2",
    },
    KeyHelp {
        keys: "c  C",
        what: "concurrency -1 / +1 (publisher tasks)",
    },
    KeyHelp {
        keys: "m  M",
        what: "max-pending /2 / x2 (un-acked messages in flight)",
    },
    KeyHelp {
        keys: "a",
        what: "next ack strategy: sync, async, task-per-message, batch, none",
    },
    KeyHelp {
        keys: "r  R",
        what: "rate /2 / x2 (msg/s per lane; max = as fast as possible)",
    },
    KeyHelp {
        keys: "z  Z",
        what: "message size /2 / x2",
    },
    KeyHelp {
        keys: "b  B",
        what: "batch /2 / x2 (for the batch strategy)",
    },
    KeyHelp {
        keys: "space",
        what: "pause / resume publishing",
    },
    KeyHelp {
        keys: "x",
        what: "reset the histograms (starts a new phase)",
    },
    KeyHelp {
        keys: "s",
        what: "write a snapshot to reports/pubduel-<time>.toml",
    },
    KeyHelp {
        keys: "?  Esc",
        what: "show / close this help",
    },
];

/// The footer's short list of the main keys.
pub const FOOTER_KEYS: &[(&str, &str)] = &[
    ("q", "quit"),
    ("?", "help"),
    ("Tab", "lanes"),
    ("c/C", "concurrency"),
    ("m/M", "max-pending"),
    ("a", "ack"),
    ("r/R", "rate"),
    ("z/Z", "size"),
    ("b/B", "batch"),
    ("space", "pause"),
    ("x", "reset"),
    ("s", "snapshot"),
];

/// The action for a key press, if any. With the help overlay open only help and quit keys act.
pub fn from_key(key: KeyEvent, help_open: bool) -> Option<Action> {
    if key.kind != KeyEventKind::Press {
        return None;
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return matches!(key.code, KeyCode::Char('c') | KeyCode::Char('C')).then_some(Action::Quit);
    }
    let action = match key.code {
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Char('?') => Action::ToggleHelp,
        KeyCode::Esc => Action::CloseHelp,
        _ if help_open => return None,
        KeyCode::Tab => Action::CycleTarget(true),
        KeyCode::BackTab => Action::CycleTarget(false),
        KeyCode::Char('0') => Action::SelectTarget(None),
        KeyCode::Char(d @ '1'..='9') => Action::SelectTarget(Some(d as usize - '1' as usize)),
        KeyCode::Char(' ') => Action::TogglePause,
        KeyCode::Char('x') => Action::NewPhase,
        KeyCode::Char('s') => Action::SaveReport,
        KeyCode::Char(c) => Action::Knob(knob_key(c)?),
        _ => return None,
    };
    Some(action)
}

fn knob_key(c: char) -> Option<KnobChange> {
    Some(match c {
        'c' => KnobChange::Concurrency(-1),
        'C' => KnobChange::Concurrency(1),
        'm' => KnobChange::MaxPending(false),
        'M' => KnobChange::MaxPending(true),
        'a' => KnobChange::NextAck,
        'r' => KnobChange::Rate(false),
        'R' => KnobChange::Rate(true),
        'z' => KnobChange::MessageSize(false),
        'Z' => KnobChange::MessageSize(true),
        'b' => KnobChange::Batch(false),
        'B' => KnobChange::Batch(true),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn contract_keys_map_to_actions() {
        let k = |c| from_key(press(KeyCode::Char(c)), false);
        assert_eq!(k('q'), Some(Action::Quit));
        assert_eq!(k('C'), Some(Action::Knob(KnobChange::Concurrency(1))));
        assert_eq!(k('c'), Some(Action::Knob(KnobChange::Concurrency(-1))));
        assert_eq!(k('M'), Some(Action::Knob(KnobChange::MaxPending(true))));
        assert_eq!(k('a'), Some(Action::Knob(KnobChange::NextAck)));
        assert_eq!(k('r'), Some(Action::Knob(KnobChange::Rate(false))));
        assert_eq!(k('Z'), Some(Action::Knob(KnobChange::MessageSize(true))));
        assert_eq!(k('b'), Some(Action::Knob(KnobChange::Batch(false))));
        assert_eq!(k(' '), Some(Action::TogglePause));
        assert_eq!(k('x'), Some(Action::NewPhase));
        assert_eq!(k('s'), Some(Action::SaveReport));
        assert_eq!(k('?'), Some(Action::ToggleHelp));
        assert_eq!(k('2'), Some(Action::SelectTarget(Some(1))));
        assert_eq!(k('w'), None);
        assert_eq!(
            from_key(press(KeyCode::Tab), false),
            Some(Action::CycleTarget(true))
        );
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(from_key(ctrl_c, false), Some(Action::Quit));
    }

    #[test]
    fn help_overlay_swallows_knob_keys() {
        assert_eq!(from_key(press(KeyCode::Char('C')), true), None);
        assert_eq!(from_key(press(KeyCode::Esc), true), Some(Action::CloseHelp));
        assert_eq!(
            from_key(press(KeyCode::Char('q')), true),
            Some(Action::Quit)
        );
    }

    #[test]
    fn releases_are_ignored() {
        let mut k = press(KeyCode::Char('q'));
        k.kind = KeyEventKind::Release;
        assert_eq!(from_key(k, false), None);
    }
}
