//! The footer: feedback of the last action (such as where a report went) and the main keys.
//!
//! ```text
//! report written to reports/pubduel-20250101T120000.toml
//! q quit  Tab lanes  c/C concurrency  m/M max-pending  a ack  ...  ? help
//! ```

use super::text;
use crate::tui::keys::KEYS;
use crate::tui::state::UiState;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

/// Lines the footer takes.
pub const HEIGHT: u16 = 2;

/// Draws the status line and the key line.
pub fn render(area: Rect, buf: &mut Buffer, ui: &UiState) {
    let status = match &ui.status {
        Some(s) if s.error => Line::styled(s.text.clone(), Style::new().fg(Color::Red)),
        Some(s) => Line::styled(s.text.clone(), Style::new().fg(Color::Cyan)),
        None => Line::styled(
            "each knob change starts a new phase; s saves a report of the run so far",
            Style::new().fg(Color::DarkGray),
        ),
    };
    let key = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
    let items: Vec<Vec<Span>> = KEYS
        .iter()
        .filter_map(|g| g.footer)
        .map(|(k, what)| vec![Span::styled(k, key), Span::raw(format!(" {what}"))])
        .collect();
    let mut lines = vec![status];
    // One line of keys; the help overlay lists them all.
    lines.extend(text::pack_groups(items, area.width).into_iter().take(1));
    Paragraph::new(lines).render(area, buf);
}
