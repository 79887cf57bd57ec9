//! One lane's column: knobs, mode, timelines, in-flight gauge, percentiles, counters, where an
//! ack's time goes (on tall screens), findings.
//!
//! ```text
//! ┌ kafka ◀ keys ───────────────────────────────────────────┐
//! │concurrency 4  max-pending 1024  ack async  rate 300/s ...│
//! │open loop  phase 2: 298/s acked, 300/s sent  warming up   │
//! │throughput   ▃▄▄▅▅▅┊▇▇█▇▇▇▇▇▇▇▇█▇▇▇                       │
//! │298/s        ██████┊██████████████                        │
//! │ack p99 ...  / submit p99 ...                             │
//! │in-flight 12/1024 ━━━━━━━──────────────────────           │
//! │stage     p50   p90   p99  p99.9   max                    │
//! │sent 12345  acked 12333  errors 0  stalls 0               │
//! │ack ≈ lag + permit + call + flight  (approx.)             │
//! │p50 1.10ms [lag][permit][call][flight      ]              │
//! │p99 4.00ms [lag][permit      ][call][flight]              │
//! │⚑ findings ...                                            │
//! └──────────────────────────────────────────────────────────┘
//! ```

use super::timeline::{self, Metric, Timeline};
use super::{counters, findings, percentiles, stagebar, text};
use crate::metrics::{LaneSnapshot, Snapshot};
use crate::vocab::PhaseMode;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph, Widget};
use std::time::Duration;

/// Columns taken by a timeline's label, left of its bars.
pub const LABEL_W: u16 = 12;
/// Tallest a timeline gets.
const MAX_TIMELINE_H: u16 = 6;
/// Lines the timelines (three, at their shortest) and findings keep before stage bars are drawn.
const ROOM_BEFORE_BARS: u16 = 12;
/// A phase's rates read `…` rather than `0/s` until it is this old.
const FIRST_FIGURE: Duration = Duration::from_secs(1);

/// Width of the timeline bars in a lane column of `area`.
pub fn bars_width(area: Rect) -> u16 {
    area.width.saturating_sub(2 + LABEL_W)
}

/// What a lane column is drawn from.
pub struct LaneView<'a> {
    /// The whole snapshot (for the phase and pause state).
    pub snap: &'a Snapshot,
    /// This lane.
    pub lane: &'a LaneSnapshot,
    /// The knob keys act on this lane.
    pub selected: bool,
    /// Full-height value per timeline metric, shared by every lane so bars compare.
    pub tops: [f64; 3],
    /// Draw where an ack's time goes, when the column has room.
    pub stage_bars: bool,
    /// Each phase's warm-up, for the `warming up` mark.
    pub warmup: Duration,
}

/// Draws the lane column into `area`.
pub fn render(area: Rect, buf: &mut Buffer, v: &LaneView) {
    let lane = v.lane;
    let block = frame(v);
    let inner = block.inner(area);
    block.render(area, buf);
    let w = inner.width;

    let knobs = knob_lines(lane, w);
    let counters = counters::lines(lane, w);
    let notes = findings::lines(lane, w);
    let mode = mode_lines(v, w);
    let fixed = |table: u16| (knobs.len() + mode.len() + 1 + counters.len()) as u16 + table;
    let mut rows = percentiles::rows(&lane.phase, true);
    let mut rest = inner
        .height
        .saturating_sub(fixed(percentiles::height(&rows)));
    if rest < 6 {
        // Short terminal: the uncorrected rows go first, the timelines stay.
        rows = percentiles::rows(&lane.phase, false);
        rest = inner
            .height
            .saturating_sub(fixed(percentiles::height(&rows)));
    }
    let bars_h = if v.stage_bars && rest >= stagebar::HEIGHT + ROOM_BEFORE_BARS {
        stagebar::HEIGHT
    } else {
        0
    };
    rest -= bars_h;
    let notes_h = (notes.len() as u16).min(rest / 3);
    let tl_h = ((rest - notes_h) / 3).min(MAX_TIMELINE_H);

    let table_h = percentiles::height(&rows);
    let [knobs_a, mode_a, t0, t1, t2, gauge_a, table_a, counters_a, bars_a, notes_a] =
        Layout::vertical([
            Constraint::Length(knobs.len() as u16),
            Constraint::Length(mode.len() as u16),
            Constraint::Length(tl_h),
            Constraint::Length(tl_h),
            Constraint::Length(tl_h),
            Constraint::Length(1),
            Constraint::Length(table_h),
            Constraint::Length(counters.len() as u16),
            Constraint::Length(bars_h),
            Constraint::Fill(1),
        ])
        .areas(inner);
    Paragraph::new(knobs).render(knobs_a, buf);
    Paragraph::new(mode).render(mode_a, buf);
    for ((m, a), top) in Metric::ALL.iter().zip([t0, t1, t2]).zip(v.tops) {
        render_timeline(a, buf, lane, *m, top);
    }
    counters::render_gauge(gauge_a, buf, lane);
    percentiles::render(table_a, buf, &rows);
    Paragraph::new(counters).render(counters_a, buf);
    if bars_h > 0 {
        stagebar::render(bars_a, buf, &lane.phase);
    }
    findings::render(notes_a, buf, notes);
}

/// The lane's border and title: its name, whether the knob keys act on it, and an outage.
fn frame(v: &LaneView) -> Block<'static> {
    let border = if v.selected {
        Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
    } else {
        Style::new().fg(Color::DarkGray)
    };
    let mut title = vec![Span::styled(
        format!(" {} ", v.lane.name),
        Style::new().add_modifier(Modifier::BOLD).fg(Color::White),
    )];
    if v.selected {
        title.push(Span::styled("◀ keys ", border));
    }
    if let Some((since, _)) = &v.lane.unavailable {
        title.push(Span::styled(
            format!(" ✖ broker unavailable since {since:.1}s "),
            Style::new()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD),
        ));
    }
    Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(border)
        .title(Line::from(title))
}

/// The knobs as `name value` items (value in bold), packed to the width.
fn knob_lines(lane: &LaneSnapshot, w: u16) -> Vec<Line<'static>> {
    let items = lane
        .knobs
        .summary()
        .split("  ")
        .map(|item| {
            let (name, value) = item.split_once(' ').unwrap_or((item, ""));
            vec![
                Span::raw(format!("{name} ")),
                Span::styled(value.to_string(), Style::new().add_modifier(Modifier::BOLD)),
            ]
        })
        .collect();
    text::pack_groups(items, w)
}

/// Loop mode, the phase's rates, and the warming-up and paused marks, packed to the width. In a
/// phase's first second a rate still at zero reads `…`, and `warming up` waits for a figure.
fn mode_lines(v: &LaneView, w: u16) -> Vec<Line<'static>> {
    let p = &v.lane.phase;
    let (mode, colour) = match p.mode {
        PhaseMode::Open => ("open loop", Color::Blue),
        PhaseMode::Closed => ("closed loop", Color::Magenta),
    };
    let mark = Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD);
    let fresh = v.snap.phase_elapsed < FIRST_FIGURE;
    let figure = |r: f64| (!fresh || r >= 0.5).then(|| text::rate(r));
    let acked = figure(p.throughput);
    let shown = |f: &Option<String>| f.clone().unwrap_or_else(|| "…".to_string());
    let mut items = vec![
        Span::styled(mode, Style::new().fg(colour).add_modifier(Modifier::BOLD)),
        Span::raw(format!("phase {}: {} acked", v.snap.phase, shown(&acked))),
        Span::raw(format!("{} sent", shown(&figure(p.sent_rate)))),
    ];
    let warming = p.warmup_only && v.snap.phase_elapsed < v.warmup;
    if warming && acked.is_some() {
        items.push(Span::styled("warming up", mark));
    }
    if v.snap.paused {
        items.push(Span::styled("paused", mark));
    }
    text::pack(items, w)
}

fn render_timeline(area: Rect, buf: &mut Buffer, lane: &LaneSnapshot, m: Metric, top: f64) {
    if area.is_empty() {
        return;
    }
    let label = Rect::new(area.x, area.y, LABEL_W.min(area.width), area.height);
    let bars = Rect::new(
        area.x + label.width,
        area.y,
        area.width - label.width,
        area.height,
    );
    let now = lane.series.last().map(|p| m.value(p));
    let dim = Style::new().fg(Color::DarkGray);
    let lines = vec![
        Line::styled(m.label(), Style::new().add_modifier(Modifier::BOLD)),
        Line::raw(now.map_or("-".to_string(), |v| m.format(v))),
        Line::styled(format!("top {}", m.format(top)), dim),
    ];
    Paragraph::new(lines).render(label, buf);
    let (values, marks) = timeline::columns(&lane.series, m, bars.width);
    let colour = match m {
        Metric::Throughput => Color::Green,
        Metric::AckP99 => Color::LightBlue,
        Metric::SubmitP99 => Color::LightMagenta,
    };
    Timeline {
        values: &values,
        marks: &marks,
        top,
        bar_style: Style::new().fg(colour),
        mark_style: Style::new().fg(Color::Yellow),
    }
    .render(bars, buf);
}
