//! The header: profile, elapsed time, phase, running or paused, and the lanes the knob keys act on;
//! once the run's duration is over, that it finished and what keys are left.
//!
//! ```text
//! pubduel  profile default  elapsed 1m23s  phase 3 (12s)  ● running  knob keys act on: all lanes (Tab)
//! pubduel  profile default  elapsed 2m00s of 2m00s  phase 3 (49s)  ■ finished: s save, q quit
//! ```

use crate::metrics::Snapshot;
use crate::tui::state::UiState;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};
use std::time::Duration;

/// `1m23s`, `59s`, `1h02m`.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// Draws the header line.
pub fn render(area: Rect, buf: &mut Buffer, snap: &Snapshot, ui: &UiState) {
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let dim = Style::new().fg(Color::DarkGray);
    // Below 110 columns the labels go, the values stay.
    let wide = area.width >= 110;
    let label = |s: &'static str| Span::raw(if wide { s } else { "  " });
    let mut spans = vec![
        Span::styled(" pubduel ", bold.fg(Color::Black).bg(Color::Cyan)),
        label("  profile "),
        Span::styled(ui.profile.clone(), bold),
        label("  elapsed "),
        Span::styled(clock(snap.elapsed), bold),
    ];
    if let Some(d) = ui.duration {
        spans.push(Span::styled(format!(" of {}", clock(d)), dim));
    }
    spans.extend([
        Span::raw("  phase "),
        Span::styled(snap.phase.to_string(), bold),
        Span::styled(format!(" ({})", clock(snap.phase_elapsed)), dim),
        Span::raw("  "),
    ]);
    if ui.finished {
        spans.push(Span::styled(
            "■ finished: s save, q quit",
            bold.fg(Color::Black).bg(Color::Yellow),
        ));
        Paragraph::new(Line::from(spans)).render(area, buf);
        return;
    }
    if let Some(p) = ui.script {
        spans.push(Span::styled(
            format!("step {}/{}", p.played, p.total),
            bold.fg(Color::Magenta),
        ));
        let next = match (p.held, p.next_in) {
            (true, _) => " (held: p)".to_string(),
            (false, Some(d)) => format!(" (next in {})", clock(d)),
            (false, None) => String::new(),
        };
        spans.extend([Span::styled(next, dim), Span::raw("  ")]);
    }
    spans.push(if snap.paused {
        Span::styled("❚❚ paused", bold.fg(Color::Yellow))
    } else {
        Span::styled("● running", bold.fg(Color::Green))
    });
    if let Some(source) = &snap.source {
        spans.push(Span::styled(format!("  {source}"), bold.fg(Color::Magenta)));
    }
    let n = snap.lanes.len();
    let per_page = super::lanes_per_page(area.width, n);
    if n > per_page {
        let (first, shown) = super::page_of(ui, n, per_page);
        let pages = format!("  lanes {}-{} of {n} (l)", first + 1, first + shown);
        spans.push(Span::styled(pages, bold.fg(Color::Cyan)));
    }
    spans.extend([
        Span::raw(if wide {
            "  knob keys act on: "
        } else {
            "  keys: "
        }),
        Span::styled(ui.target_name(), bold.fg(Color::Cyan)),
        Span::styled(" (Tab)", dim),
    ]);
    Paragraph::new(Line::from(spans)).render(area, buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_of_agents_says_how_many_publish() {
        let mut snap = crate::testkit::samples::dashboard();
        snap.source = Some("agents 2/3 (a3 lost)  knobs v4 on 2/2  max-pending per agent".into());
        let ui = UiState::new("agents", vec!["kafka".into(), "nats".into()], None);
        let area = Rect::new(0, 0, 200, 1);
        let mut buf = Buffer::empty(area);
        render(area, &mut buf, &snap, &ui);
        let line: String = (0..area.width)
            .map(|x| buf[(x, 0)].symbol().to_string())
            .collect();
        assert!(
            line.contains("agents 2/3 (a3 lost)  knobs v4 on 2/2"),
            "{line}"
        );
    }

    #[test]
    fn clock_reads_naturally() {
        assert_eq!(clock(Duration::from_secs(59)), "59s");
        assert_eq!(clock(Duration::from_secs(83)), "1m23s");
        assert_eq!(clock(Duration::from_secs(3720)), "1h02m");
    }
}
