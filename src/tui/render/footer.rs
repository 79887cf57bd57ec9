//! The footer: feedback of the last action (such as where a report went) and the main keys.
//!
//! ```text
//! report written to reports/pubduel-20250101T120000.toml
//! q quit  s save report  Tab lanes  c/C concurrency  m/M max-pending  a ack  ...  ? help
//! ```
//!
//! The key line always fits its width: the table's words when they all fit, else the short
//! words, dropping the keys that still do not fit (last in the table first); `?` help stays last.
//! Once the run has finished it lists only the keys that still act.

use crate::tui::keys::{Footer, KEYS};
use crate::tui::state::UiState;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

/// Lines the footer takes.
pub const HEIGHT: u16 = 2;

/// Columns between two keys.
const GAP: usize = 2;

/// Draws the status line and the key line.
pub fn render(area: Rect, buf: &mut Buffer, ui: &UiState) {
    let status = match &ui.status {
        Some(s) if s.error => Line::styled(s.text.clone(), Style::new().fg(Color::Red)),
        Some(s) => Line::styled(s.text.clone(), Style::new().fg(Color::Cyan)),
        None if ui.finished => Line::styled(
            "the run is over: these are its final numbers until you quit",
            Style::new().fg(Color::DarkGray),
        ),
        None => Line::styled(
            "each knob change starts a new phase; s saves a report of the run so far",
            Style::new().fg(Color::DarkGray),
        ),
    };
    let key = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
    let spans: Vec<Span> = keys_shown(usize::from(area.width), ui.finished)
        .into_iter()
        .enumerate()
        .flat_map(|(i, (keys, word))| {
            let gap = Span::raw(if i == 0 { "" } else { "  " });
            [gap, Span::styled(keys, key), Span::raw(format!(" {word}"))]
        })
        .collect();
    Paragraph::new(vec![status, Line::from(spans)]).render(area, buf);
}

/// The (keys, word) pairs of the key line at `width` columns, in order, help last.
pub fn keys_shown(width: usize, finished: bool) -> Vec<(&'static str, &'static str)> {
    let groups: Vec<_> = KEYS
        .iter()
        .filter(|g| !finished || g.acts_when_finished())
        .filter_map(|g| g.footer.map(|f| (f, g.is_help())))
        .collect();
    let help: Vec<Footer> = groups.iter().filter(|(_, h)| *h).map(|(f, _)| *f).collect();
    let rest: Vec<Footer> = groups
        .iter()
        .filter(|(_, h)| !*h)
        .map(|(f, _)| *f)
        .collect();
    let width_of = |keys: &str, word: &str| keys.chars().count() + 1 + word.chars().count();
    let long: Vec<_> = rest.iter().chain(&help).map(|f| (f.keys, f.word)).collect();
    let total: usize = long.iter().map(|(k, w)| width_of(k, w) + GAP).sum();
    if total <= width + GAP {
        return long;
    }
    let tail: usize = help.iter().map(|f| width_of(f.keys, f.short) + GAP).sum();
    let budget = (width + GAP).saturating_sub(tail);
    let mut used = 0;
    let mut shown = Vec::new();
    for f in &rest {
        let w = width_of(f.keys, f.short) + GAP;
        if used + w <= budget {
            used += w;
            shown.push((f.keys, f.short));
        }
    }
    shown.extend(help.iter().map(|f| (f.keys, f.short)));
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(width: usize, finished: bool) -> String {
        let items: Vec<String> = keys_shown(width, finished)
            .iter()
            .map(|(k, w)| format!("{k} {w}"))
            .collect();
        items.join("  ")
    }

    #[test]
    fn the_key_line_fits_and_ends_with_help() {
        for width in [80, 100, 120, 160, 200] {
            let l = line(width, false);
            assert!(l.chars().count() <= width, "{width}: {l}");
            assert!(l.ends_with("? help"), "{width}: {l}");
            assert!(l.starts_with("q quit  s save"), "{width}: {l}");
        }
        assert!(line(160, false).contains("c/C concurrency"));
        assert!(line(80, false).contains("c/C conc "), "{}", line(80, false));
    }

    #[test]
    fn a_finished_run_lists_only_the_keys_that_still_act() {
        assert_eq!(line(160, true), "q quit  s save report  ? help");
    }
}
