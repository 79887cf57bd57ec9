//! The percentile table of one lane's current phase: one row per stage, units per value.
//!
//! ```text
//! stage        p50     p90     p99   p99.9     max
//! submit      12us    30us    95us   1.2ms   3.4ms
//! ack        1.1ms   1.9ms   4.0ms   9.8ms  12.0ms
//! ```

use super::text;
use crate::metrics::{PhaseStats, StageSummary};
use crate::vocab::Stage;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Row, Table, Widget};

/// The rows the table would show for `phase`, with or without the detail rows: the uncorrected
/// `_raw` stages and the parts (`permit`, `flight`).
pub fn rows(phase: &PhaseStats, raw: bool) -> Vec<(Stage, StageSummary)> {
    let detail = |s: &Stage| {
        matches!(
            s,
            Stage::SubmitRaw | Stage::AckRaw | Stage::E2eRaw | Stage::Permit | Stage::Flight
        )
    };
    Stage::ALL
        .iter()
        .filter(|s| raw || !detail(s))
        .filter_map(|s| phase.stage(*s).map(|v| (*s, *v)))
        .collect()
}

/// Lines the table takes: a heading and one line per row (at least one, for "no samples yet").
pub fn height(rows: &[(Stage, StageSummary)]) -> u16 {
    1 + rows.len().max(1) as u16
}

fn label(stage: Stage, wide: bool) -> &'static str {
    match (stage, wide) {
        (Stage::SubmitRaw, false) => "sub raw",
        (Stage::AckRaw, false) => "ack raw",
        (Stage::E2eRaw, false) => "e2e raw",
        (Stage::SubmitRaw, true) => "submit raw",
        (Stage::AckRaw, true) => "ack raw",
        (Stage::E2eRaw, true) => "e2e raw",
        (s, _) => s.as_str(),
    }
}

/// Draws the table for `rows` into `area`.
pub fn render(area: Rect, buf: &mut Buffer, rows: &[(Stage, StageSummary)]) {
    let wide = area.width >= 60;
    let stage_w: u16 = if wide { 10 } else { 7 };
    let value_w = (area.width.saturating_sub(stage_w) / 5)
        .saturating_sub(1)
        .clamp(4, 8);
    let right = |s: String| Cell::from(Line::from(s).right_aligned());
    let head = ["stage", "p50", "p90", "p99", "p99.9", "max"]
        .iter()
        .enumerate()
        .map(|(i, h)| {
            if i == 0 {
                Cell::from(*h)
            } else {
                right(h.to_string())
            }
        });
    let header = Row::new(head).style(Style::new().add_modifier(Modifier::BOLD));
    let w = usize::from(value_w);
    let body: Vec<Row> = if rows.is_empty() {
        vec![Row::new([Cell::from("no samples yet")])]
    } else {
        rows.iter()
            .map(|(stage, v)| {
                let vals = [v.p50_us, v.p90_us, v.p99_us, v.p999_us, v.max_us];
                let mut cells = vec![Cell::from(label(*stage, wide))];
                cells.extend(vals.iter().map(|u| right(text::latency(*u, w))));
                Row::new(cells)
            })
            .collect()
    };
    let mut widths = vec![Constraint::Length(stage_w)];
    widths.extend([Constraint::Length(value_w); 5]);
    Widget::render(Table::new(body, widths).header(header), area, buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(base: u64) -> StageSummary {
        StageSummary {
            count: 10,
            mean_us: base as f64,
            p50_us: base,
            p90_us: base * 2,
            p99_us: base * 10,
            p999_us: base * 100,
            p9999_us: base * 500,
            max_us: base * 1000,
        }
    }

    #[test]
    fn units_are_chosen_per_value() {
        let rows = vec![(Stage::Submit, summary(12)), (Stage::Ack, summary(1_234))];
        let area = Rect::new(0, 0, 48, 3);
        let mut buf = Buffer::empty(area);
        render(area, &mut buf, &rows);
        assert_eq!(
            super::super::buffer_lines(&buf),
            [
                "stage       p50     p90     p99   p99.9     max ",
                "submit     12us    24us   120us  1.20ms  12.0ms ",
                "ack      1.23ms  2.47ms  12.3ms 123.4ms   1.23s ",
            ]
        );
    }

    #[test]
    fn narrow_tables_shorten_values_but_keep_units() {
        let rows = vec![(Stage::Ack, summary(1_234)), (Stage::AckRaw, summary(5))];
        let area = Rect::new(0, 0, 38, 3);
        let mut buf = Buffer::empty(area);
        render(area, &mut buf, &rows);
        assert_eq!(
            super::super::buffer_lines(&buf),
            [
                "stage     p50   p90   p99 p99.9   max ",
                "ack     1.2ms 2.5ms  12ms 123ms 1.23s ",
                "ack raw   5us  10us  50us 500us 5.0ms ",
            ]
        );
    }

    #[test]
    fn raw_rows_are_optional() {
        let phase = PhaseStats {
            stages: vec![
                (Stage::Submit, summary(1)),
                (Stage::Lag, summary(2)),
                (Stage::SubmitRaw, summary(3)),
            ],
            ..PhaseStats::default()
        };
        assert_eq!(rows(&phase, true).len(), 3);
        assert_eq!(rows(&phase, false).len(), 2);
        assert_eq!(height(&[]), 2);
    }
}
