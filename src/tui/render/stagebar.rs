//! Where the time of an ack goes, in one lane's current phase: a bar at p50 and one at p99, each
//! split into lag | permit | call | flight (`ack ≈ lag + permit + call + flight`, `call` being
//! submit minus permit). Percentiles do not add up exactly, so the parts, each taken at the same
//! percentile, are scaled to fill the bar, and the line above says so.
//!
//! ```text
//! ack ≈ lag + permit + call + flight  (each at the same percentile, scaled: approx.)
//! p50 2.40ms lag permit call    flight
//! p99 12.0ms ...
//! ```

use super::distribution::Pick;
use crate::metrics::PhaseStats;
use crate::vocab::{fmt_us, Stage};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

/// Lines the bars take: the legend, p50 and p99.
pub const HEIGHT: u16 = 3;
/// Width of the label left of a bar (`p99 12.0ms `).
const LABEL_W: usize = 12;

/// One part of an ack's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    /// `lag`, `permit`, `call` or `flight`.
    pub name: &'static str,
    /// Its value at the bar's percentile, in microseconds.
    pub us: u64,
}

/// The part names in bar order, with their colours.
pub const PARTS: [(&str, Color); 4] = [
    ("lag", Color::Yellow),
    ("permit", Color::Red),
    ("call", Color::Magenta),
    ("flight", Color::Blue),
];

fn colour(name: &str) -> Color {
    PARTS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(Color::Gray, |(_, c)| *c)
}

/// The ack value and its parts at one percentile (`pick`), if the phase has acks. `lag` is
/// there in open loop only; `flight` falls back to what the other parts leave of the ack.
pub fn parts(phase: &PhaseStats, pick: Pick) -> Option<(u64, Vec<Part>)> {
    let ack = pick(phase.stage(Stage::Ack)?);
    let at = |s: Stage| phase.stage(s).map(pick);
    let lag = at(Stage::Lag);
    let permit = at(Stage::Permit).unwrap_or(0);
    let submit = at(Stage::Submit).unwrap_or(0);
    let call = submit.saturating_sub(permit);
    let flight =
        at(Stage::Flight).unwrap_or_else(|| ack.saturating_sub(lag.unwrap_or(0) + permit + call));
    let mut out = Vec::new();
    if let Some(lag) = lag {
        out.push(Part {
            name: "lag",
            us: lag,
        });
    }
    out.extend([
        Part {
            name: "permit",
            us: permit,
        },
        Part {
            name: "call",
            us: call,
        },
        Part {
            name: "flight",
            us: flight,
        },
    ]);
    Some((ack, out))
}

/// Cells for each value, in proportion, adding up to `width` (largest remainders get the
/// rounding); all zero when the values are.
pub fn widths(values: &[u64], width: usize) -> Vec<usize> {
    let total: u64 = values.iter().sum();
    if total == 0 {
        return vec![0; values.len()];
    }
    let exact: Vec<f64> = values
        .iter()
        .map(|v| *v as f64 * width as f64 / total as f64)
        .collect();
    let mut cells: Vec<usize> = exact.iter().map(|x| x.floor() as usize).collect();
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|a, b| {
        (exact[*b] - exact[*b].floor()).total_cmp(&(exact[*a] - exact[*a].floor()))
    });
    let short = width - cells.iter().sum::<usize>();
    for i in order.into_iter().take(short) {
        cells[i] += 1;
    }
    cells
}

/// The bar's spans: each part a coloured stretch, named inside when its name fits.
pub fn bar(parts: &[Part], width: usize) -> Vec<Span<'static>> {
    let values: Vec<u64> = parts.iter().map(|p| p.us).collect();
    parts
        .iter()
        .zip(widths(&values, width))
        .filter(|(_, w)| *w > 0)
        .map(|(p, w)| {
            let name = if p.name.len() < w { p.name } else { "" };
            let bg = colour(p.name);
            let fg = if bg == Color::Yellow {
                Color::Black
            } else {
                Color::White
            };
            Span::styled(format!("{name:<w$}"), Style::new().fg(fg).bg(bg))
        })
        .collect()
}

/// The legend: `ack ≈ lag + permit + call + flight`, each name in its colour, and the caveat in
/// the longest form that fits `width`.
fn legend(parts: &[Part], width: usize) -> Line<'static> {
    let mut spans = vec![Span::styled(
        "ack ≈ ",
        Style::new().add_modifier(Modifier::BOLD),
    )];
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw(" + "));
        }
        spans.push(Span::styled(
            p.name,
            Style::new().fg(colour(p.name)).add_modifier(Modifier::BOLD),
        ));
    }
    let used: usize = spans.iter().map(Span::width).sum();
    let caveat = [
        "  (each part at the bar's percentile, scaled: approx.)",
        "  (parts scaled to the ack: approx.)",
        "  (approx.)",
    ]
    .into_iter()
    .find(|c| used + c.chars().count() <= width);
    if let Some(c) = caveat {
        spans.push(Span::styled(c, Style::new().fg(Color::DarkGray)));
    }
    Line::from(spans)
}

/// Draws the legend and the p50 and p99 bars of `phase` into `area`.
pub fn render(area: Rect, buf: &mut Buffer, phase: &PhaseStats) {
    let bar_w = usize::from(area.width).saturating_sub(LABEL_W);
    let mut lines = Vec::new();
    for (pct, pick) in [("p50", (|s| s.p50_us) as Pick), ("p99", |s| s.p99_us)] {
        let Some((ack, parts)) = parts(phase, pick) else {
            lines = vec![Line::styled(
                "where an ack's time goes: no acks in this phase yet",
                Style::new().fg(Color::DarkGray),
            )];
            break;
        };
        if lines.is_empty() {
            lines.push(legend(&parts, usize::from(area.width)));
        }
        let mut spans = vec![Span::styled(
            format!("{pct} {:<w$}", fmt_us(ack), w = LABEL_W - 4),
            Style::new().add_modifier(Modifier::BOLD),
        )];
        spans.extend(bar(&parts, bar_w));
        lines.push(Line::from(spans));
    }
    Paragraph::new(lines).render(area, buf);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::StageSummary;

    fn at(p50: u64) -> StageSummary {
        StageSummary {
            count: 10,
            p50_us: p50,
            p99_us: p50 * 3,
            ..StageSummary::default()
        }
    }

    fn phase(open: bool) -> PhaseStats {
        let mut stages = vec![
            (Stage::Submit, at(400)),
            (Stage::Ack, at(1_000)),
            (Stage::Permit, at(300)),
            (Stage::Flight, at(500)),
        ];
        if open {
            stages.push((Stage::Lag, at(100)));
        }
        PhaseStats {
            stages,
            ..PhaseStats::default()
        }
    }

    #[test]
    fn widths_always_fill_the_bar() {
        for (values, width) in [
            (vec![1, 1, 1], 10),
            (vec![100, 300, 100, 500], 64),
            (vec![7, 0, 13, 1_000_000], 33),
            (vec![5], 1),
        ] {
            let w = widths(&values, width);
            assert_eq!(w.iter().sum::<usize>(), width, "{values:?}");
        }
        assert_eq!(widths(&[100, 300, 100, 500], 10), [1, 3, 1, 5]);
        assert_eq!(widths(&[0, 0], 10), [0, 0]);
    }

    #[test]
    fn call_is_submit_without_permit_and_lag_is_open_loop_only() {
        let (ack, p) = parts(&phase(true), |s| s.p50_us).unwrap();
        assert_eq!(ack, 1_000);
        let named: Vec<(&str, u64)> = p.iter().map(|p| (p.name, p.us)).collect();
        assert_eq!(
            named,
            [
                ("lag", 100),
                ("permit", 300),
                ("call", 100),
                ("flight", 500)
            ]
        );
        let (_, p) = parts(&phase(false), |s| s.p99_us).unwrap();
        assert_eq!(p[0].name, "permit");
        assert!(parts(&PhaseStats::default(), |s| s.p50_us).is_none());
    }

    #[test]
    fn the_bars_fill_their_width_in_part_colours_under_a_legend() {
        let area = Rect::new(0, 0, 72, 3);
        let mut buf = Buffer::empty(area);
        render(area, &mut buf, &phase(true));
        let lines = super::super::buffer_lines(&buf);
        assert!(
            lines[0].starts_with("ack ≈ lag + permit + call + flight  ("),
            "{lines:#?}"
        );
        assert!(lines[0].contains("approx."));
        assert!(lines[1].starts_with("p50 1.00ms  "), "{lines:#?}");
        assert!(lines[2].starts_with("p99 3.00ms  "), "{lines:#?}");
        for y in 1..3 {
            let bg: Vec<Color> = (LABEL_W as u16..72).map(|x| buf[(x, y)].bg).collect();
            assert_eq!(bg.len(), 60);
            assert!(
                bg.iter().all(|c| PARTS.iter().any(|(_, p)| p == c)),
                "row {y}"
            );
            // lag 6 | permit 18 | call 6 | flight 30 cells: 100/300/100/500 of 60.
            let count = |c: Color| bg.iter().filter(|b| **b == c).count();
            assert_eq!(
                [Color::Yellow, Color::Red, Color::Magenta, Color::Blue].map(count),
                [6, 18, 6, 30]
            );
        }
        assert!(lines[1].contains("permit") && lines[1].contains("flight"));
    }

    #[test]
    fn no_acks_no_bars() {
        let area = Rect::new(0, 0, 60, 3);
        let mut buf = Buffer::empty(area);
        render(area, &mut buf, &PhaseStats::default());
        assert!(super::super::buffer_lines(&buf)[0].contains("no acks in this phase yet"));
    }
}
