//! A lane's in-flight gauge (against max-pending) and its counters since the run started.
//!
//! ```text
//! in-flight ━━━━━━━━━━━───────────────── 12/1024
//! sent 12345  acked 12333  errors 0  stalls 0
//! ```

use super::text;
use crate::metrics::LaneSnapshot;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols;
use ratatui::text::{Line, Span};
use ratatui::widgets::{LineGauge, Widget};

/// Draws the in-flight gauge on one line.
pub fn render_gauge(area: Rect, buf: &mut Buffer, lane: &LaneSnapshot) {
    let max = u64::from(lane.knobs.max_pending.max(1));
    let ratio = (lane.in_flight as f64 / max as f64).clamp(0.0, 1.0);
    let colour = if ratio >= 0.9 {
        Color::Red
    } else if ratio >= 0.5 {
        Color::Yellow
    } else {
        Color::Green
    };
    let label = format!("in-flight {}/{}", lane.in_flight, max);
    LineGauge::default()
        .ratio(ratio)
        .label(Span::styled(
            label,
            Style::new().add_modifier(Modifier::BOLD),
        ))
        .line_set(symbols::line::THICK)
        .filled_style(Style::new().fg(colour))
        .unfilled_style(Style::new().fg(Color::DarkGray))
        .render(area, buf);
}

/// The counter items, packed into lines of `width`.
pub fn lines(lane: &LaneSnapshot, width: u16) -> Vec<Line<'static>> {
    let t = &lane.total;
    let item = |name: &str, v: u64, warn: bool| {
        let style = if warn && v > 0 {
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        };
        Span::styled(format!("{name} {}", text::count(v)), style)
    };
    // Every counter, in its declared order: the first four always, the rest once they count;
    // those that mean trouble in red.
    let items = t
        .named()
        .into_iter()
        .enumerate()
        .filter(|(i, (_, v))| *i < 4 || *v > 0)
        .map(|(_, (name, v))| {
            let warn = matches!(name, "errors" | "stalls" | "queue_full" | "duplicates");
            item(&name.replace('_', "-"), v, warn)
        })
        .collect();
    text::pack(items, width)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauge_shows_in_flight_against_max_pending() {
        let lane = LaneSnapshot {
            in_flight: 512,
            knobs: crate::vocab::Knobs {
                max_pending: 1024,
                ..Default::default()
            },
            ..Default::default()
        };
        let area = Rect::new(0, 0, 40, 1);
        let mut buf = Buffer::empty(area);
        render_gauge(area, &mut buf, &lane);
        let line = &super::super::buffer_lines(&buf)[0];
        assert!(line.starts_with("in-flight 512/1024 "), "{line}");
        let filled = (19..40)
            .filter(|x| buf[(*x, 0)].fg == Color::Yellow && buf[(*x, 0)].symbol() == "━")
            .count();
        assert_eq!(
            filled, 10,
            "half of the 21-cell bar, in the half-full colour"
        );
    }

    #[test]
    fn counters_wrap_and_show_rare_ones_only_when_seen() {
        let mut lane = LaneSnapshot::default();
        lane.total.sent = 10;
        lane.total.acked = 9;
        let text: Vec<String> = lines(&lane, 80).iter().map(|l| l.to_string()).collect();
        assert_eq!(text, ["sent 10  acked 9  errors 0  stalls 0"]);
        lane.total.queue_full = 3;
        assert_eq!(lines(&lane, 20).len(), 3);
    }
}
