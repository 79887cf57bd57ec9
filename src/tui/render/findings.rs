//! A lane's findings (what its numbers mean) and its latest broker error, wrapped to the column.
//!
//! ```text
//! ⚑ max-pending-stall: 31% of submits waited for a max-pending
//!   permit; raise max-pending (M) or ...
//! ✖ error: Message production error: QueueFull
//! ```

use super::text;
use crate::metrics::LaneSnapshot;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

/// The finding and error lines of `lane` at `width`, findings first.
pub fn lines(lane: &LaneSnapshot, width: u16) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    if let Some((since, why)) = &lane.unavailable {
        let msg = format!("broker unavailable since {since:.1}s: {why}");
        block(&mut out, "✖ ", &msg, Style::new().fg(Color::Red), width);
    }
    let finding = Style::new().fg(Color::Yellow);
    for f in &lane.findings {
        block(
            &mut out,
            "⚑ ",
            &format!("{}: {}", f.kind, f.message),
            finding,
            width,
        );
    }
    if let Some(e) = &lane.last_error {
        let first = e.lines().next().unwrap_or("");
        let msg = format!("{} errors, last: {first}", text::count(lane.total.errors));
        block(&mut out, "✖ ", &msg, Style::new().fg(Color::Red), width);
    }
    out
}

fn block(out: &mut Vec<Line<'static>>, mark: &str, msg: &str, style: Style, width: u16) {
    for (i, l) in text::wrap(msg, width.saturating_sub(2))
        .into_iter()
        .enumerate()
    {
        let lead = if i == 0 { mark } else { "  " };
        out.push(Line::from(vec![
            Span::styled(lead.to_string(), style.add_modifier(Modifier::BOLD)),
            Span::styled(l, style),
        ]));
    }
}

/// Draws the lines that fit; the last visible line says how many more there are.
pub fn render(area: Rect, buf: &mut Buffer, lines: Vec<Line<'static>>) {
    let h = usize::from(area.height);
    if h == 0 {
        return;
    }
    let mut lines = lines;
    if lines.len() > h {
        let hidden = lines.len() - (h - 1);
        lines.truncate(h - 1);
        lines.push(Line::styled(
            format!("… {hidden} more lines"),
            Style::new().fg(Color::DarkGray),
        ));
    }
    Paragraph::new(lines).render(area, buf);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::Finding;

    #[test]
    fn findings_wrap_under_their_mark_and_overflow_is_counted() {
        let lane = LaneSnapshot {
            findings: vec![Finding {
                kind: crate::vocab::FindingKind::MaxPendingStall,
                message: "submits waited for a permit".into(),
            }],
            last_error: Some("broker down\nmore".into()),
            ..Default::default()
        };
        let l: Vec<String> = lines(&lane, 24).iter().map(|l| l.to_string()).collect();
        assert_eq!(
            l,
            [
                "⚑ max-pending-stall:",
                "  submits waited for a",
                "  permit",
                "✖ 0 errors, last: broker",
                "  down",
            ]
        );
        let area = Rect::new(0, 0, 30, 2);
        let mut buf = Buffer::empty(area);
        render(area, &mut buf, lines(&lane, 30));
        let shown = super::super::buffer_lines(&buf);
        assert!(shown[0].starts_with("⚑ max-pending-stall:"));
        assert!(shown[1].starts_with("… 2 more lines"), "{shown:?}");
    }
}
