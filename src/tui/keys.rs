//! The key table: every key the dashboard knows, written once. Matching a key press to an
//! action, the help overlay and the footer all read [`KEYS`].

use super::action::Action;
use crate::vocab::{Dir, KnobChange};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// A key press, as the table names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A printable key (case matters: `c` and `C` differ).
    Char(char),
    /// Ctrl and a letter.
    Ctrl(char),
    /// Tab.
    Tab,
    /// Shift-Tab.
    BackTab,
    /// Escape.
    Esc,
}

impl Key {
    /// The table's name for a key event, if it has one.
    fn of(event: &KeyEvent) -> Option<Key> {
        if event.modifiers.contains(KeyModifiers::CONTROL) {
            return match event.code {
                KeyCode::Char(c) => Some(Key::Ctrl(c.to_ascii_lowercase())),
                _ => None,
            };
        }
        match event.code {
            KeyCode::Char(c) => Some(Key::Char(c)),
            KeyCode::Tab => Some(Key::Tab),
            KeyCode::BackTab => Some(Key::BackTab),
            KeyCode::Esc => Some(Key::Esc),
            _ => None,
        }
    }
}

/// How the footer shows a key group: its keys and a word, or a shorter word on narrow screens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footer {
    /// The keys, e.g. `c/C`.
    pub keys: &'static str,
    /// What they do, in a word or two.
    pub word: &'static str,
    /// The same, shorter, for narrow screens.
    pub short: &'static str,
}

const fn foot(keys: &'static str, word: &'static str, short: &'static str) -> Option<Footer> {
    Some(Footer { keys, word, short })
}

/// One line of the key table: its keys with their actions, and how help and the footer show it.
pub struct KeyGroup {
    /// The keys as the help overlay prints them.
    pub label: &'static str,
    /// What they do; `{lanes}` stands for the run's lanes, `{numbered}` for them with their
    /// position keys ([`KeyGroup::describe`]).
    pub what: &'static str,
    /// The footer's form for the main keys; the footer keeps the table's order, drops the last
    /// ones first when the screen is narrow, and always shows help (`?`) last.
    pub footer: Option<Footer>,
    /// Whether the keys act while the help overlay is open.
    pub in_help: bool,
    /// Each key and the action it asks for.
    pub bindings: &'static [(Key, Action)],
}

const fn knob(change: KnobChange) -> Action {
    Action::Knob(change)
}

impl KeyGroup {
    /// What the keys do in a run of `lanes`.
    pub fn describe(&self, lanes: &[String]) -> String {
        let numbered: Vec<String> = (lanes.iter().enumerate())
            .map(|(i, l)| format!("{} {l}", i + 1))
            .collect();
        self.what
            .replace("{lanes}", &lanes.join(", "))
            .replace("{numbered}", &numbered.join(", "))
    }

    /// Whether these keys still act once the run has finished (quit, save, help).
    pub fn acts_when_finished(&self) -> bool {
        self.bindings.iter().any(|(_, a)| a.acts_when_finished())
    }

    /// Whether this group opens the help overlay (the footer shows it last, always).
    pub fn is_help(&self) -> bool {
        self.bindings.iter().any(|(_, a)| *a == Action::ToggleHelp)
    }
}

/// Every key the dashboard knows, in the order the help overlay lists them (and the footer, by
/// priority).
pub const KEYS: &[KeyGroup] = &[
    KeyGroup {
        label: "q  Ctrl-C",
        what: "quit (writes --report if given)",
        footer: foot("q", "quit", "quit"),
        in_help: true,
        bindings: &[
            (Key::Char('q'), Action::Quit),
            (Key::Ctrl('c'), Action::Quit),
        ],
    },
    KeyGroup {
        label: "?  Esc",
        what: "show / close this help",
        footer: foot("?", "help", "help"),
        in_help: true,
        bindings: &[
            (Key::Char('?'), Action::ToggleHelp),
            (Key::Esc, Action::CloseHelp),
        ],
    },
    KeyGroup {
        label: "s",
        what: "write a report of the run so far to reports/pubduel-<time>.toml",
        footer: foot("s", "save report", "save"),
        in_help: false,
        bindings: &[(Key::Char('s'), Action::SaveReport)],
    },
    KeyGroup {
        label: "Tab  Shift-Tab",
        what: "cycle the lanes the knob keys act on: all, then {lanes}",
        footer: foot("Tab", "lanes", "lanes"),
        in_help: false,
        bindings: &[
            (Key::Tab, Action::CycleTarget(Dir::Up)),
            (Key::BackTab, Action::CycleTarget(Dir::Down)),
        ],
    },
    KeyGroup {
        label: "0  1  2  3  4",
        what: "knob keys act on all lanes (0) or on one: {numbered}",
        footer: None,
        in_help: false,
        bindings: &[
            (Key::Char('0'), Action::SelectTarget(None)),
            (Key::Char('1'), Action::SelectTarget(Some(0))),
            (Key::Char('2'), Action::SelectTarget(Some(1))),
            (Key::Char('3'), Action::SelectTarget(Some(2))),
            (Key::Char('4'), Action::SelectTarget(Some(3))),
        ],
    },
    KeyGroup {
        label: "d",
        what: "the duel and distribution compare the next pair of lanes",
        footer: None,
        in_help: false,
        bindings: &[(Key::Char('d'), Action::NextDuel)],
    },
    KeyGroup {
        label: "l",
        what: "the next page of lane columns, when not all fit side by side",
        footer: None,
        in_help: false,
        bindings: &[(Key::Char('l'), Action::NextLanes)],
    },
    KeyGroup {
        label: "c  C",
        what: "concurrency -1 / +1 (publisher tasks)",
        footer: foot("c/C", "concurrency", "conc"),
        in_help: false,
        bindings: &[
            (Key::Char('c'), knob(KnobChange::Concurrency(-1))),
            (Key::Char('C'), knob(KnobChange::Concurrency(1))),
        ],
    },
    KeyGroup {
        label: "m  M",
        what: "max-pending /2 / x2 (un-acked messages in flight)",
        footer: foot("m/M", "max-pending", "pending"),
        in_help: false,
        bindings: &[
            (Key::Char('m'), knob(KnobChange::MaxPending(Dir::Down))),
            (Key::Char('M'), knob(KnobChange::MaxPending(Dir::Up))),
        ],
    },
    KeyGroup {
        label: "a",
        what: "next ack strategy the lane has: sync async task-per-message batch none atomic fast",
        footer: foot("a", "ack", "ack"),
        in_help: false,
        bindings: &[(Key::Char('a'), knob(KnobChange::NextAck))],
    },
    KeyGroup {
        label: "r  R",
        what: "rate /2 / x2 (msg/s per lane; max = as fast as possible)",
        footer: foot("r/R", "rate", "rate"),
        in_help: false,
        bindings: &[
            (Key::Char('r'), knob(KnobChange::Rate(Dir::Down))),
            (Key::Char('R'), knob(KnobChange::Rate(Dir::Up))),
        ],
    },
    KeyGroup {
        label: "z  Z",
        what: "message size /2 / x2",
        footer: foot("z/Z", "size", "size"),
        in_help: false,
        bindings: &[
            (Key::Char('z'), knob(KnobChange::MessageSize(Dir::Down))),
            (Key::Char('Z'), knob(KnobChange::MessageSize(Dir::Up))),
        ],
    },
    KeyGroup {
        label: "b  B",
        what: "batch /2 / x2 (for the batch, atomic and fast strategies)",
        footer: foot("b/B", "batch", "batch"),
        in_help: false,
        bindings: &[
            (Key::Char('b'), knob(KnobChange::Batch(Dir::Down))),
            (Key::Char('B'), knob(KnobChange::Batch(Dir::Up))),
        ],
    },
    KeyGroup {
        label: "space",
        what: "pause / resume publishing",
        footer: foot("space", "pause", "pause"),
        in_help: false,
        bindings: &[(Key::Char(' '), Action::TogglePause)],
    },
    KeyGroup {
        label: "x",
        what: "reset the histograms (starts a new phase)",
        footer: foot("x", "reset", "reset"),
        in_help: false,
        bindings: &[(Key::Char('x'), Action::NewPhase)],
    },
    KeyGroup {
        label: "n  p",
        what: "scenario: play the next step now / hold the steps (again: release)",
        footer: foot("n/p", "step", "step"),
        in_help: false,
        bindings: &[
            (Key::Char('n'), Action::NextStep),
            (Key::Char('p'), Action::HoldStep),
        ],
    },
];

/// The action for a key press, if any. With the help overlay open only help and quit keys act.
pub fn action_for(event: KeyEvent, help_open: bool) -> Option<Action> {
    if event.kind != KeyEventKind::Press {
        return None;
    }
    let key = Key::of(&event)?;
    KEYS.iter()
        .filter(|g| g.in_help || !help_open)
        .flat_map(|g| g.bindings)
        .find(|(k, _)| *k == key)
        .map(|(_, a)| a.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn contract_keys_map_to_actions() {
        let k = |c| action_for(press(KeyCode::Char(c)), false);
        assert_eq!(k('q'), Some(Action::Quit));
        assert_eq!(k('C'), Some(Action::Knob(KnobChange::Concurrency(1))));
        assert_eq!(k('c'), Some(Action::Knob(KnobChange::Concurrency(-1))));
        assert_eq!(k('M'), Some(Action::Knob(KnobChange::MaxPending(Dir::Up))));
        assert_eq!(k('a'), Some(Action::Knob(KnobChange::NextAck)));
        assert_eq!(k('r'), Some(Action::Knob(KnobChange::Rate(Dir::Down))));
        assert_eq!(k('Z'), Some(Action::Knob(KnobChange::MessageSize(Dir::Up))));
        assert_eq!(k('b'), Some(Action::Knob(KnobChange::Batch(Dir::Down))));
        assert_eq!(k(' '), Some(Action::TogglePause));
        assert_eq!(k('x'), Some(Action::NewPhase));
        assert_eq!(k('s'), Some(Action::SaveReport));
        assert_eq!(k('?'), Some(Action::ToggleHelp));
        assert_eq!(k('2'), Some(Action::SelectTarget(Some(1))));
        assert_eq!(k('w'), None);
        assert_eq!(
            action_for(press(KeyCode::Tab), false),
            Some(Action::CycleTarget(Dir::Up))
        );
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action_for(ctrl_c, false), Some(Action::Quit));
    }

    #[test]
    fn help_overlay_swallows_knob_keys() {
        assert_eq!(action_for(press(KeyCode::Char('C')), true), None);
        assert_eq!(
            action_for(press(KeyCode::Esc), true),
            Some(Action::CloseHelp)
        );
        assert_eq!(
            action_for(press(KeyCode::Char('q')), true),
            Some(Action::Quit)
        );
    }

    #[test]
    fn releases_are_ignored() {
        let mut k = press(KeyCode::Char('q'));
        k.kind = KeyEventKind::Release;
        assert_eq!(action_for(k, false), None);
    }

    #[test]
    fn no_key_is_bound_twice() {
        let all: Vec<Key> = KEYS
            .iter()
            .flat_map(|g| g.bindings)
            .map(|(k, _)| *k)
            .collect();
        for (i, k) in all.iter().enumerate() {
            assert!(!all[i + 1..].contains(k), "{k:?} is bound twice");
        }
    }

    #[test]
    fn help_names_the_lanes_of_the_run() {
        let lanes_of = |lanes: &[&str]| -> Vec<String> {
            let lanes: Vec<String> = lanes.iter().map(|l| l.to_string()).collect();
            KEYS.iter().map(|k| k.describe(&lanes)).collect()
        };
        let one = lanes_of(&["nats"]).join("\n");
        assert!(
            one.contains("all, then nats") && one.contains("1 nats"),
            "{one}"
        );
        assert!(!one.contains("kafka") && !one.contains('{'), "{one}");
        let two = lanes_of(&["kafka", "nats"]).join("\n");
        assert!(two.contains("1 kafka, 2 nats"), "{two}");
        // Every position key the table binds is in its label.
        for group in KEYS {
            for (key, _) in group.bindings {
                if let Key::Char(c @ '0'..='9') = key {
                    assert!(group.label.contains(*c), "{} lacks {c}", group.label);
                }
            }
        }
    }
}
