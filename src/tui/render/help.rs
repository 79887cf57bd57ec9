//! The help overlay: every key and what it does, over the dashboard. Esc or `?` closes it.

use crate::tui::keys::KEYS;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Widget, Wrap};

/// Draws the overlay centred in `area`, naming the run's `lanes`.
pub fn render(area: Rect, buf: &mut Buffer, lanes: &[String]) {
    let whats: Vec<String> = KEYS.iter().map(|k| k.describe(lanes)).collect();
    let key_w = KEYS.iter().map(|k| k.label.len()).max().unwrap_or(0) + 2;
    let text_w = whats.iter().map(String::len).max().unwrap_or(0);
    let w = (key_w + text_w + 4).min(usize::from(area.width)) as u16;
    let h = (KEYS.len() + 6).min(usize::from(area.height)) as u16;
    let [row] = Layout::vertical([Constraint::Length(h)])
        .flex(Flex::Center)
        .areas(area);
    let [popup] = Layout::horizontal([Constraint::Length(w)])
        .flex(Flex::Center)
        .areas(row);
    let key = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
    let mut lines: Vec<Line> = KEYS
        .iter()
        .zip(whats)
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!("{:<key_w$}", k.label), key),
                Span::raw(what),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "Knob changes start a new phase; the report keeps every phase.",
        Style::new().fg(Color::DarkGray),
    ));
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .title(Line::styled(" help: keys ", key))
        .title_bottom(Line::from(" Esc or ? closes ").right_aligned());
    Clear.render(popup, buf);
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(block)
        .render(popup, buf);
}
