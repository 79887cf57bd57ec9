//! The current phase's latency distribution: `ack` (and `e2e` when measured) at p50, p90, p99,
//! p99.9, p99.99 and max, one bar per lane and percentile, every bar on one shared log scale.
//!
//! ```text
//! ╭ distribution  ack by percentile · phase 2 · log scale ─────────────╮
//! │p50    kafka ████████████████████▍                          2.40ms  │
//! │       nats  ███████████████▏                                900us  │
//! │...                                                                 │
//! │             │100us          │1ms            │10ms           │100ms │
//! ╰────────────────────────────────────────────────────────────────────╯
//! ```

use super::lane_colour;
use crate::metrics::{LaneSnapshot, Snapshot, StageSummary};
use crate::vocab::{fmt_us, Stage};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph, Widget};

/// Picks one figure, in microseconds, out of a stage's summary.
pub type Pick = fn(&StageSummary) -> u64;

/// The percentiles shown, top to bottom.
pub const PERCENTILES: [(&str, Pick); 6] = [
    ("p50", |s| s.p50_us),
    ("p90", |s| s.p90_us),
    ("p99", |s| s.p99_us),
    ("p99.9", |s| s.p999_us),
    ("p99.99", |s| s.p9999_us),
    ("max", |s| s.max_us),
];

/// Width of the percentile label column.
const PCT_W: usize = 7;
/// Width of a value after its bar.
const VALUE_W: usize = 8;
/// Partial blocks, by eighths of a cell.
const EIGHTHS: [&str; 8] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];

/// A log scale from a decade at or below the smallest value to the largest value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogScale {
    /// Left end, in microseconds (a power of ten).
    pub lo: f64,
    /// Right end, in microseconds.
    pub hi: f64,
}

impl LogScale {
    /// The scale that holds `values` (microseconds), if any is above zero.
    pub fn of(values: impl IntoIterator<Item = u64>) -> Option<LogScale> {
        let vals: Vec<f64> = values
            .into_iter()
            .filter(|v| *v > 0)
            .map(|v| v as f64)
            .collect();
        let min = vals.iter().copied().fold(f64::INFINITY, f64::min);
        let max = vals.iter().copied().fold(0.0, f64::max);
        if vals.is_empty() {
            return None;
        }
        // A decade below the smallest value, so that its bar has a length too.
        let lo =
            10f64.powf(min.log10().floor() - if min.log10().fract() < 0.3 { 1.0 } else { 0.0 });
        Some(LogScale {
            lo,
            hi: max.max(lo * 10.0),
        })
    }

    /// Where `v` falls, from 0 (at `lo`) to 1 (at `hi`).
    pub fn frac(&self, v: f64) -> f64 {
        if v <= self.lo {
            return 0.0;
        }
        ((v.ln() - self.lo.ln()) / (self.hi.ln() - self.lo.ln())).clamp(0.0, 1.0)
    }

    /// A bar for `v` in a field of `width` cells, in eighths of a cell.
    pub fn bar(&self, v: u64, width: usize) -> String {
        let eighths = (self.frac(v as f64) * (width * 8) as f64).round() as usize;
        let mut s = "█".repeat(eighths / 8);
        s.push_str(EIGHTHS[eighths % 8]);
        s
    }

    /// The axis under bars of `width` cells: a tick at each decade, labelled right of it
    /// (`│1ms`) or, at the right end, left of it (`100ms│`), where the label fits.
    pub fn axis(&self, width: usize) -> String {
        let mut cells = vec![' '; width];
        let mut free_from = 0;
        let mut d = self.lo;
        while d <= self.hi * 1.0001 {
            let x = ((self.frac(d) * width as f64).round() as usize).min(width.saturating_sub(1));
            let name = decade(d);
            let right: Vec<char> = format!("│{name}").chars().collect();
            let left: Vec<char> = format!("{name}│").chars().collect();
            let start = if x >= free_from && x + right.len() <= width {
                Some((x, right))
            } else {
                (x + 1)
                    .checked_sub(left.len())
                    .filter(|s| *s >= free_from)
                    .map(|s| (s, left))
            };
            if let Some((at, label)) = start {
                cells[at..at + label.len()].copy_from_slice(&label);
                free_from = at + label.len() + 1;
            }
            d *= 10.0;
        }
        cells.into_iter().collect()
    }
}

/// A power of ten of microseconds, as the axis labels it: `100us`, `1ms`, `10s`.
fn decade(us: f64) -> String {
    let us = us.round() as u64;
    match us {
        0..=999 => format!("{us}us"),
        1_000..=999_999 => format!("{}ms", us / 1_000),
        _ => format!("{}s", us / 1_000_000),
    }
}

/// The stages shown: `ack`, and `e2e` when a lane measures it.
fn stages(snap: &Snapshot) -> Vec<Stage> {
    let e2e = snap
        .lanes
        .iter()
        .any(|l| l.phase.stage(Stage::E2e).is_some());
    if e2e {
        vec![Stage::Ack, Stage::E2e]
    } else {
        vec![Stage::Ack]
    }
}

/// Rows the panel takes inside its border for `snap`.
pub fn height(snap: &Snapshot) -> u16 {
    let heading = u16::from(stages(snap).len() > 1);
    heading + (PERCENTILES.len() * snap.lanes.len().max(1)) as u16 + 1
}

/// Draws the panel, bordered, into `area`.
pub fn render(area: Rect, buf: &mut Buffer, snap: &Snapshot) {
    let shown = stages(snap);
    let names: Vec<&str> = shown.iter().map(|s| s.as_str()).collect();
    let title = Line::from(vec![
        Span::styled(
            " distribution ",
            Style::new()
                .fg(Color::Black)
                .bg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
        ),
        Span::styled(
            format!(
                " {} by percentile · phase {} · log scale ",
                names.join(" and "),
                snap.phase
            ),
            Style::new().add_modifier(Modifier::BOLD),
        ),
    ]);
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(Style::new().fg(Color::Cyan))
        .title(title);
    let inner = block.inner(area);
    block.render(area, buf);
    let values = snap.lanes.iter().flat_map(|l| {
        shown
            .iter()
            .filter_map(|s| l.phase.stage(*s))
            .flat_map(|v| PERCENTILES.map(|(_, f)| f(v)))
    });
    let lines = match LogScale::of(values) {
        Some(scale) => chart(&snap.lanes, &shown, scale, usize::from(inner.width)),
        None => vec![Line::styled(
            "waiting for data...",
            Style::new().fg(Color::DarkGray),
        )],
    };
    Paragraph::new(lines).render(inner, buf);
}

/// The chart's lines at `width` columns: a heading when there are two stages, one line per
/// percentile and lane, and the axis.
fn chart(
    lanes: &[LaneSnapshot],
    stages: &[Stage],
    scale: LogScale,
    width: usize,
) -> Vec<Line<'static>> {
    let lane_w = lanes.iter().map(|l| l.name.len()).max().unwrap_or(0) + 1;
    let n = stages.len().max(1);
    let group = width.saturating_sub(PCT_W + lane_w) / n;
    let bar_w = group.saturating_sub(VALUE_W + 2);
    let lead = " ".repeat(PCT_W + lane_w);
    let mut out = Vec::new();
    if n > 1 {
        let mut spans = vec![Span::raw(lead.clone())];
        for s in stages {
            spans.push(Span::styled(
                format!("{:<group$}", s.as_str()),
                Style::new().add_modifier(Modifier::BOLD),
            ));
        }
        out.push(Line::from(spans));
    }
    for (pct, f) in PERCENTILES {
        for (i, lane) in lanes.iter().enumerate() {
            let label = if i == 0 { pct } else { "" };
            let colour = Style::new().fg(lane_colour(i));
            let mut spans = vec![
                Span::styled(
                    format!("{label:<PCT_W$}"),
                    Style::new().add_modifier(Modifier::BOLD),
                ),
                Span::styled(format!("{:<lane_w$}", lane.name), colour),
            ];
            for s in stages {
                let v = lane.phase.stage(*s).map(f);
                let bar = v.map_or(String::new(), |v| scale.bar(v, bar_w));
                let shown = v.map_or("-".to_string(), fmt_us);
                spans.push(Span::styled(format!("{bar:<bar_w$}"), colour));
                spans.push(Span::raw(format!("{shown:>VALUE_W$}  ")));
            }
            out.push(Line::from(spans));
        }
    }
    let mut axis = vec![Span::raw(lead)];
    for _ in stages {
        axis.push(Span::styled(
            format!("{}{}", scale.axis(bar_w), " ".repeat(VALUE_W + 2)),
            Style::new().fg(Color::DarkGray),
        ));
    }
    out.push(Line::from(axis));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::PhaseStats;

    fn at(p50: u64) -> StageSummary {
        StageSummary {
            count: 1_000,
            mean_us: p50 as f64,
            p50_us: p50,
            p90_us: p50 * 2,
            p99_us: p50 * 4,
            p999_us: p50 * 8,
            p9999_us: p50 * 16,
            max_us: p50 * 32,
        }
    }

    fn lane(name: &str, stages: Vec<(Stage, StageSummary)>) -> LaneSnapshot {
        LaneSnapshot {
            name: name.into(),
            phase: PhaseStats {
                stages,
                ..PhaseStats::default()
            },
            ..LaneSnapshot::default()
        }
    }

    fn shown(snap: &Snapshot, w: u16) -> (Vec<String>, Buffer) {
        let area = Rect::new(0, 0, w, height(snap) + 2);
        let mut buf = Buffer::empty(area);
        render(area, &mut buf, snap);
        (super::super::buffer_lines(&buf), buf)
    }

    fn bar_len(line: &str) -> usize {
        line.chars().filter(|c| *c == '█').count()
    }

    #[test]
    fn the_scale_starts_a_decade_below_and_ends_at_the_largest() {
        let s = LogScale::of([900, 216_000]).unwrap();
        assert_eq!((s.lo, s.hi), (100.0, 216_000.0));
        assert_eq!(LogScale::of([1_100]).unwrap().lo, 100.0);
        assert!(LogScale::of([0]).is_none());
        assert_eq!(s.bar(216_000, 10), "█".repeat(10));
        assert_eq!(s.bar(100, 10), "");
        assert!(s.axis(40).starts_with("│100us"), "{}", s.axis(40));
        assert!(s.axis(40).contains("│1ms") && s.axis(40).contains("│10ms"));
    }

    #[test]
    fn every_percentile_of_both_lanes_on_one_scale() {
        let snap = Snapshot {
            lanes: vec![
                lane("kafka", vec![(Stage::Ack, at(4_000))]),
                lane("nats", vec![(Stage::Ack, at(250))]),
            ],
            ..Snapshot::default()
        };
        let (lines, buf) = shown(&snap, 70);
        assert!(lines[0].contains("distribution") && lines[0].contains("log scale"));
        for (i, (pct, _)) in PERCENTILES.iter().enumerate() {
            let (k, n) = (&lines[1 + 2 * i], &lines[2 + 2 * i]);
            assert!(k.starts_with(&format!("│{pct:<7}kafka")), "{k}");
            assert!(n.starts_with("│       nats"), "{n}");
            assert!(bar_len(k) > bar_len(n), "kafka is slower: {k} / {n}");
        }
        assert!(
            lines[9].contains("64.0ms") && lines[10].contains("4.00ms"),
            "p99.99"
        );
        assert_eq!(buf[(14, 1)].fg, lane_colour(0));
        assert_eq!(buf[(14, 2)].fg, lane_colour(1));
        assert!(lines[13].contains("│100us"), "the axis: {}", lines[13]);
    }

    #[test]
    fn e2e_gets_its_own_column_on_the_same_scale() {
        let both = vec![(Stage::Ack, at(1_000)), (Stage::E2e, at(2_000))];
        let snap = Snapshot {
            lanes: vec![lane("kafka", both.clone()), lane("nats", both)],
            ..Snapshot::default()
        };
        let (lines, _) = shown(&snap, 90);
        assert!(lines[0].contains("ack and e2e by percentile"));
        assert!(
            lines[1].contains("ack") && lines[1].contains("e2e"),
            "{}",
            lines[1]
        );
        let p50 = &lines[2];
        assert!(p50.contains("1.00ms") && p50.contains("2.00ms"), "{p50}");
    }

    #[test]
    fn no_samples_says_so() {
        let (lines, _) = shown(&Snapshot::default(), 50);
        assert!(lines[1].contains("waiting for data"));
    }
}
