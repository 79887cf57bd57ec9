//! The timeline charts: acked msg/s and ack p99 of each second against run time, with a dashed
//! line where each phase starts, captioned with the phase's note.
//!
//! ```text
//!   ┆ phase 0      ┆ rate 5k          acked msg/s
//!   ┆──────────────┆───────────
//!   ┆              ┆
//!   ┆ ╭╮           ┆    ╭──╮          ack p99
//!   ┆─╯╰───────────┆────╯  ╰──
//!   0s            30s          60s
//! ```

use super::axis::Axis;
use super::data::{span, Curve, Timeline};
use super::style::{axis_rate, axis_us, house_mesh, text, GRID, INK};
use super::{draw_curves, Failed};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Draws the throughput chart into `top` and the ack p99 chart into `bottom`.
pub(super) fn draw<DB: DrawingBackend>(
    top: &DrawingArea<DB, Shift>,
    bottom: &DrawingArea<DB, Shift>,
    timeline: &Timeline,
) -> Result<(), Failed> {
    throughput(top, timeline)?;
    ack_p99(bottom, timeline)
}

fn builder<'a, 'b, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
) -> ChartBuilder<'a, 'b, DB> {
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(caption, text(17))
        .margin(12)
        .margin_right(24)
        .x_label_area_size(44)
        .y_label_area_size(72);
    builder
}

fn throughput<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    timeline: &Timeline,
) -> Result<(), Failed> {
    let hi = span(values(&timeline.acked)).1;
    // Room above the lines for the phase captions.
    let hi = (hi * 1.3).max(10.0);
    let mut ctx = builder(area, "acked msg/s, per second")
        .build_cartesian_2d(0.0..timeline.t_max, 0.0..hi)?;
    house_mesh(
        ctx.configure_mesh()
            .x_label_formatter(&|t| format!("{t:.0}s"))
            .y_label_formatter(&|v| axis_rate(*v))
            .x_desc("run time")
            .y_desc("acked msg/s"),
    )
    .draw()?;
    phase_lines(&mut ctx, timeline, (0.0, hi))?;
    phase_captions(&mut ctx, timeline, hi)?;
    draw_curves(&mut ctx, &timeline.acked)?;
    Ok(())
}

fn ack_p99<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    timeline: &Timeline,
) -> Result<(), Failed> {
    let (lo, hi) = span(values(&timeline.ack_p99));
    // Room below the lowest point and, for the legend, above the highest.
    let (lo, hi) = (lo / 1.5, hi * 6.0);
    let mut ctx = builder(area, "ack p99 of each second")
        .build_cartesian_2d(0.0..timeline.t_max, Axis::log(lo, hi))?;
    house_mesh(
        ctx.configure_mesh()
            .x_label_formatter(&|t| format!("{t:.0}s"))
            .y_label_formatter(&|v| axis_us(*v))
            .x_desc("run time")
            .y_desc("ack p99"),
    )
    .draw()?;
    phase_lines(&mut ctx, timeline, (lo, hi))?;
    draw_curves(&mut ctx, &timeline.ack_p99)?;
    ctx.configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(GRID)
        .label_font(text(12))
        .draw()?;
    Ok(())
}

fn values(curves: &[Curve]) -> impl Iterator<Item = f64> + '_ {
    curves.iter().flat_map(|c| c.points.iter().map(|p| p.1))
}

/// A dashed vertical line at each phase start after the first, from `y.0` to `y.1`.
fn phase_lines<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
    ctx: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, Y>>,
    timeline: &Timeline,
    y: (f64, f64),
) -> Result<(), Failed> {
    for phase in timeline.phases.iter().filter(|p| p.t_s > 0.0) {
        let points = [(phase.t_s, y.0), (phase.t_s, y.1)];
        ctx.draw_series(DashedLineSeries::new(
            points,
            6,
            4,
            INK.mix(0.45).stroke_width(1),
        ))?;
    }
    Ok(())
}

/// Each phase's caption at the top of the chart, right of its start line, cut to the room
/// before the next phase starts.
fn phase_captions<DB: DrawingBackend>(
    ctx: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    timeline: &Timeline,
    y_top: f64,
) -> Result<(), Failed> {
    let colour = INK.mix(0.8);
    let style = text(12).color(&colour);
    let phases = &timeline.phases;
    for (i, phase) in phases.iter().enumerate() {
        let end = phases.get(i + 1).map_or(timeline.t_max, |p| p.t_s);
        let room = ctx.backend_coord(&(end, y_top)).0 - ctx.backend_coord(&(phase.t_s, y_top)).0;
        let area = ctx.plotting_area();
        let fits = |s: &str| {
            area.estimate_text_size(s, &style)
                .is_ok_and(|(w, _)| (w as i32) < room - 10)
        };
        let Some(caption) = fitted(&phase.caption, fits) else {
            continue;
        };
        let at = EmptyElement::at((phase.t_s, y_top)) + Text::new(caption, (5, 5), style.clone());
        area.draw(&at)?;
    }
    Ok(())
}

/// `caption`, or as much of it as `fits`, ending in an ellipsis; `None` when not even a few
/// characters fit.
fn fitted(caption: &str, fits: impl Fn(&str) -> bool) -> Option<String> {
    if fits(caption) {
        return Some(caption.to_string());
    }
    let chars: Vec<char> = caption.chars().collect();
    (3..chars.len())
        .rev()
        .map(|n| format!("{}…", chars[..n].iter().collect::<String>().trim_end()))
        .find(|s| fits(s))
}
