//! The percentile distribution chart of one stage, the classic HdrHistogram plot: percentiles on
//! a "nines" scale to the right, latency upwards on a log scale, one line per lane per report.
//!
//! ```text
//!   ack latency by percentile
//!   50ms ┤ kafka p99 …          ╭─
//!    5ms ┤                 ╭────╯   (kafka)
//!  500µs ┤────────────────╯ ╭──     (nats)
//!        └──┬─────┬─────┬─────┬──
//!          50%   90%   99%  99.9%
//! ```

use super::axis::Axis;
use super::data::StageChart;
use super::style::{axis_us, house_mesh, nines_label, text, GRID};
use super::{draw_curves, Failed};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Draws `chart` into `area`.
pub(super) fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &StageChart,
) -> Result<(), Failed> {
    let (lo, hi) = chart.y_range();
    // Room below the lowest point and, for the legend, above the highest.
    let (lo, hi) = (lo / 1.5, hi * 4.0);
    let mut ctx = ChartBuilder::on(area)
        .caption(format!("{} latency by percentile", chart.stage), text(17))
        .margin(12)
        .margin_right(40)
        .x_label_area_size(44)
        .y_label_area_size(72)
        .build_cartesian_2d(Axis::nines(chart.x_max), Axis::log(lo, hi))?;
    house_mesh(
        ctx.configure_mesh()
            .x_label_formatter(&nines_label)
            .y_label_formatter(&|v| axis_us(*v))
            .x_desc("percentile")
            .y_desc("latency"),
    )
    .draw()?;
    draw_curves(&mut ctx, &chart.curves)?;
    ctx.configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(GRID)
        .label_font(text(12))
        .draw()?;
    Ok(())
}
