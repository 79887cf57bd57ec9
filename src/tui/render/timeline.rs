//! The timeline: a block-glyph sparkline of one metric over the last two minutes, with phase
//! changes marked.
//!
//! ```text
//! throughput  ▃▄▄▅▅▅┊▇▇█▇▇▇▇
//! 498/s       ██████┊███████
//! top 512/s          ^ phase change (also drawn in the mark colour)
//! ```

use super::text;
use crate::metrics::SeriesPoint;
use crate::vocab::fmt_us;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::Widget;

/// Seconds of history a timeline shows.
pub const WINDOW_S: f64 = 120.0;

/// Glyphs for a cell filled by 1/8 to 8/8.
const EIGHTHS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
/// Glyph for an empty cell on a phase change.
const MARK: char = '┊';

/// A metric of the per-second series that a timeline can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Acked messages per second (sent per second when nothing is acked, as with `ack none`).
    Throughput,
    /// Ack p99 of each second.
    AckP99,
    /// Submit p99 of each second.
    SubmitP99,
}

impl Metric {
    /// The metrics shown in every lane column, top to bottom.
    pub const ALL: [Metric; 3] = [Metric::Throughput, Metric::AckP99, Metric::SubmitP99];

    /// The label shown left of the bars.
    pub fn label(self) -> &'static str {
        match self {
            Metric::Throughput => "throughput",
            Metric::AckP99 => "ack p99",
            Metric::SubmitP99 => "submit p99",
        }
    }

    /// The value of one series point.
    pub fn value(self, p: &SeriesPoint) -> f64 {
        match self {
            Metric::Throughput if p.acked_per_s > 0.0 => p.acked_per_s,
            Metric::Throughput => p.sent_per_s,
            Metric::AckP99 => p.ack_p99_us as f64,
            Metric::SubmitP99 => p.submit_p99_us as f64,
        }
    }

    /// A value as the label prints it.
    pub fn format(self, v: f64) -> String {
        match self {
            Metric::Throughput => text::rate(v),
            _ => fmt_us(v.round() as u64),
        }
    }

    fn merge(self, values: &[f64]) -> f64 {
        match self {
            Metric::Throughput => values.iter().sum::<f64>() / values.len().max(1) as f64,
            _ => values.iter().copied().fold(0.0, f64::max),
        }
    }
}

/// The last [`WINDOW_S`] seconds of `metric`, fitted to `width` columns (newest on the right),
/// and for each column whether a phase starts in it.
pub fn columns(series: &[SeriesPoint], metric: Metric, width: u16) -> (Vec<f64>, Vec<bool>) {
    let width = usize::from(width);
    let Some(last) = series.last() else {
        return (Vec::new(), Vec::new());
    };
    if width == 0 {
        return (Vec::new(), Vec::new());
    }
    let first = series
        .iter()
        .position(|p| p.t_s > last.t_s - WINDOW_S)
        .unwrap_or(0);
    let marks: Vec<bool> = (first..series.len())
        .map(|i| i > 0 && series[i].phase != series[i - 1].phase)
        .collect();
    let values: Vec<f64> = series[first..].iter().map(|p| metric.value(p)).collect();
    let per = values.len().div_ceil(width).max(1);
    // Buckets end at the newest point, so the right edge is always "now".
    let mut out_v = Vec::new();
    let mut out_m = Vec::new();
    let mut end = values.len();
    while end > 0 && out_v.len() < width {
        let start = end.saturating_sub(per);
        out_v.push(metric.merge(&values[start..end]));
        out_m.push(marks[start..end].iter().any(|m| *m));
        end = start;
    }
    out_v.reverse();
    out_m.reverse();
    (out_v, out_m)
}

/// Bars of `values` scaled to `top`, right-aligned in the area; marked columns get [`MARK`].
pub struct Timeline<'a> {
    /// One value per column.
    pub values: &'a [f64],
    /// Phase change per column.
    pub marks: &'a [bool],
    /// The value that fills the full height.
    pub top: f64,
    /// Style of the bars.
    pub bar_style: Style,
    /// Style of marked columns.
    pub mark_style: Style,
}

impl Widget for Timeline<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.is_empty() {
            return;
        }
        let h = usize::from(area.height);
        let n = self.values.len().min(usize::from(area.width));
        let skip = self.values.len() - n;
        let x0 = area.right() - n as u16;
        for (i, v) in self.values[skip..].iter().enumerate() {
            let marked = self.marks.get(skip + i).copied().unwrap_or(false);
            let style = if marked {
                self.mark_style
            } else {
                self.bar_style
            };
            let eighths = level(*v, self.top, h);
            let x = x0 + i as u16;
            for row in 0..h {
                let fill = eighths.saturating_sub(row * 8).min(8);
                let glyph = match fill {
                    0 if marked => MARK,
                    0 => continue,
                    _ if row + 1 == h && *v > self.top * 1.001 => OVER,
                    f => EIGHTHS[f - 1],
                };
                let y = area.bottom() - 1 - row as u16;
                buf[(x, y)].set_char(glyph).set_style(style);
            }
        }
    }
}

/// The value drawn at full height for a metric shared by all lanes. Latency timelines are not
/// flattened by one spike: when the largest value is over three times the 95th percentile of the
/// visible ones, the scale stops at twice that percentile and taller columns end in [`OVER`].
pub fn scale_top(values: &[f64], metric: Metric) -> f64 {
    let max = values.iter().copied().fold(0.0, f64::max);
    if metric == Metric::Throughput {
        return max;
    }
    let mut seen: Vec<f64> = values.iter().copied().filter(|v| *v > 0.0).collect();
    if seen.len() < 10 {
        return max;
    }
    seen.sort_by(f64::total_cmp);
    let p95 = seen[(seen.len() * 95 / 100).min(seen.len() - 1)];
    if max > 3.0 * p95 {
        2.0 * p95
    } else {
        max
    }
}

/// Drawn at the top of a column whose value is above the scale.
pub const OVER: char = '▲';

/// How many eighths of a cell `v` fills in a column `h` cells tall; any positive value shows.
fn level(v: f64, top: f64, h: usize) -> usize {
    if v <= 0.0 || top <= 0.0 || !v.is_finite() {
        return 0;
    }
    let full = h * 8;
    ((v / top * full as f64).round() as usize).clamp(1, full)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(t: f64, phase: u32, acked: f64) -> SeriesPoint {
        SeriesPoint {
            t_s: t,
            phase,
            acked_per_s: acked,
            ack_p99_us: (acked * 10.0) as u64,
            ack_raw_p99_us: 0,
            ..SeriesPoint::default()
        }
    }

    fn draw(values: &[f64], marks: &[bool], top: f64, w: u16, h: u16) -> Buffer {
        let area = Rect::new(0, 0, w, h);
        let mut buf = Buffer::empty(area);
        Timeline {
            values,
            marks,
            top,
            bar_style: Style::default(),
            mark_style: Style::default(),
        }
        .render(area, &mut buf);
        buf
    }

    #[test]
    fn one_spike_does_not_flatten_a_latency_timeline() {
        let mut values = vec![100.0; 30];
        values[10] = 50_000.0;
        let top = scale_top(&values, Metric::AckP99);
        assert!((top - 200.0).abs() < 1e-9, "top {top}");
        assert_eq!(scale_top(&values, Metric::Throughput), 50_000.0);
        let buf = draw(&values, &[], top, 30, 2);
        assert_eq!(buf[(10, 0)].symbol(), OVER.to_string());
        assert_eq!(buf[(11, 1)].symbol(), "█");
        let steady = vec![100.0; 30];
        assert_eq!(scale_top(&steady, Metric::AckP99), 100.0);
    }

    #[test]
    fn bars_fill_eighths_and_align_right() {
        let buf = draw(&[4.0, 8.0, 1.0], &[false; 3], 8.0, 5, 1);
        assert_eq!(buf, Buffer::with_lines(["  ▄█▁"]));
    }

    #[test]
    fn tall_bars_stack_and_marks_show_in_empty_cells() {
        let buf = draw(&[16.0, 0.0, 12.0], &[false, true, false], 16.0, 3, 2);
        assert_eq!(buf, Buffer::with_lines(["█┊▄", "█┊█"]));
    }

    #[test]
    fn small_positive_values_stay_visible_and_zero_top_draws_nothing() {
        let buf = draw(&[0.01, 0.0], &[false, false], 100.0, 2, 1);
        assert_eq!(buf, Buffer::with_lines(["▁ "]));
        let buf = draw(&[5.0], &[false], 0.0, 1, 1);
        assert_eq!(buf, Buffer::with_lines([" "]));
    }

    #[test]
    fn columns_keep_the_last_two_minutes_and_mark_phase_starts() {
        let series: Vec<_> = (1..=200)
            .map(|t| point(t as f64, u32::from(t > 150), t as f64))
            .collect();
        let (v, m) = columns(&series, Metric::Throughput, 200);
        assert_eq!(v.len(), 120, "only the last 120 s");
        assert_eq!(v[0], 81.0);
        assert_eq!(*v.last().unwrap(), 200.0);
        assert_eq!(m.iter().filter(|m| **m).count(), 1);
        assert!(m[151 - 81]);
    }

    #[test]
    fn columns_merge_points_when_narrow() {
        let series: Vec<_> = (1..=8).map(|t| point(t as f64, 0, t as f64)).collect();
        let (v, _) = columns(&series, Metric::Throughput, 4);
        assert_eq!(v, [1.5, 3.5, 5.5, 7.5], "throughput is averaged");
        let (v, _) = columns(&series, Metric::AckP99, 4);
        assert_eq!(v, [20.0, 40.0, 60.0, 80.0], "latency keeps the worst");
    }
}
