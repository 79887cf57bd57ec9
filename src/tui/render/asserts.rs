//! The thresholds of the run (`--assert`, `[[assert]]`), checked live on the run so far: one line
//! above the footer, only when there are any.
//!
//! ```text
//! assert ✔ nats.ack.p99 < 5ms (nats 812us)  ✖ kafka.errors == 0 (kafka 3)
//! ```

use super::text;
use crate::metrics::{LaneSnapshot, Snapshot};
use crate::report::threshold::{LaneStat, Metric, Threshold};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

/// Lines the band takes for `thresholds`.
pub fn height(thresholds: &[Threshold]) -> u16 {
    u16::from(!thresholds.is_empty())
}

/// The value of `metric` on `lane` over the run so far, if it has one yet.
pub fn value(snap: &Snapshot, lane: &LaneSnapshot, metric: Metric) -> Option<f64> {
    let t = &lane.total;
    match metric {
        Metric::Stage(stage, stat) => (lane.run.iter())
            .find(|(s, _)| *s == stage)
            .map(|(_, v)| stat.of(v)),
        Metric::Lane(LaneStat::Throughput) => {
            let secs = snap.elapsed.as_secs_f64();
            (secs > 0.0).then(|| t.acked as f64 / secs)
        }
        Metric::Lane(LaneStat::Acked) => Some(t.acked as f64),
        Metric::Lane(LaneStat::Sent) => Some(t.sent as f64),
        Metric::Lane(LaneStat::Errors) => Some(t.errors as f64),
        Metric::Lane(LaneStat::Missing) => None,
    }
}

/// Draws each threshold on each lane it covers: ✔ held so far, ✖ failed so far, … no data yet.
pub fn render(area: Rect, buf: &mut Buffer, snap: &Snapshot, thresholds: &[Threshold]) {
    if area.height == 0 {
        return;
    }
    let mut items: Vec<Vec<Span>> = vec![vec![Span::styled(
        "assert",
        Style::new().fg(Color::DarkGray),
    )]];
    for th in thresholds {
        for lane in snap.lanes.iter().filter(|l| th.covers(&l.name)) {
            let v = value(snap, lane, th.metric);
            let (mark, color) = match v {
                Some(x) if th.passes(x) => ("✔", Color::Green),
                Some(_) => ("✖", Color::Red),
                None => ("…", Color::DarkGray),
            };
            let shown = v.map_or("no data".into(), |x| th.metric.show(x));
            items.push(vec![
                Span::styled(mark, Style::new().fg(color).add_modifier(Modifier::BOLD)),
                Span::raw(format!(" {} ({} {shown})", th.text, lane.name)),
            ]);
        }
    }
    let lines: Vec<Line> = text::pack_groups(items, area.width)
        .into_iter()
        .take(area.height as usize)
        .collect();
    Paragraph::new(lines).render(area, buf);
}
