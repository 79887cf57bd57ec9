//! Charts of reports, drawn with `plotters` into one SVG or PNG image: per stage the percentile
//! distribution of every lane, then throughput and ack p99 per second against run time. Several
//! reports overlay, each lane keeping its colour, the later reports dashed and lighter.
//!
//! ```text
//! ┌───────────── title: report, profile, host ─────────────┐
//! │ submit by percentile       │ ack by percentile         │
//! │ e2e by percentile          │ flight by percentile      │
//! │ acked msg/s per second, phase starts marked            │
//! │ ack p99 per second                                     │
//! └────────────────────────────────────────────────────────┘
//! ```

mod axis;
mod data;
mod percentile;
mod style;
mod timeline;

use data::{Curve, Figure};
use plotters::coord::Shift;
use plotters::drawing::DrawingAreaErrorKind;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// One report to draw, with the label that tells it apart when several are overlaid (the file stem).
#[derive(Debug, Clone)]
pub struct Plotted<'a> {
    /// Name in legends and the title, e.g. `baseline`.
    pub label: String,
    /// The report.
    pub report: &'a crate::report::Report,
}

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The output's extension names no image format this build writes.
    #[error("{path}: unknown image format; name the file .svg or .png")]
    UnknownFormat {
        /// The output file.
        path: PathBuf,
    },
    /// The reports hold no latency samples and no per-second series.
    #[error("nothing to draw: the reports hold no latency samples and no per-second series")]
    Empty,
    /// A stage's histogram in a report does not decode or merge.
    #[error("lane {lane}, stage {stage}: {message}")]
    Histogram {
        /// The lane, as the legend names it.
        lane: String,
        /// The stage.
        stage: String,
        /// What is wrong.
        message: String,
    },
    /// Drawing or writing the image failed.
    #[error("{path}: {message}")]
    Draw {
        /// The output file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
}

impl PlotError {
    /// Whether the input is at fault (a bad name or report), rather than drawing or writing.
    pub fn is_input(&self) -> bool {
        !matches!(self, PlotError::Draw { .. })
    }
}

/// Image formats by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Svg,
    Png,
}

impl Format {
    fn of(out: &Path) -> Result<Format, PlotError> {
        let ext = out
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match ext.as_deref() {
            Some("svg") => Ok(Format::Svg),
            Some("png") => Ok(Format::Png),
            _ => Err(PlotError::UnknownFormat {
                path: out.to_path_buf(),
            }),
        }
    }
}

/// A drawing step that failed, in words.
#[derive(Debug)]
struct Failed(String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for Failed {
    fn from(e: DrawingAreaErrorKind<E>) -> Failed {
        Failed(e.to_string())
    }
}

/// Draws every chart of `reports` into one image file; SVG or PNG by the extension of `out`.
pub fn plot(reports: &[Plotted<'_>], out: &Path) -> Result<(), PlotError> {
    let format = Format::of(out)?;
    let figure = Figure::of(reports)?;
    if figure.is_empty() {
        return Err(PlotError::Empty);
    }
    let fail = |message: String| PlotError::Draw {
        path: out.to_path_buf(),
        message,
    };
    if !style::font_ready() {
        return Err(fail("the embedded font does not load".into()));
    }
    let size = (style::WIDTH, height(&figure));
    let drawn = match format {
        Format::Svg => draw(SVGBackend::new(out, size).into_drawing_area(), &figure),
        Format::Png => draw(BitMapBackend::new(out, size).into_drawing_area(), &figure),
    };
    drawn.map_err(|Failed(message)| fail(message))
}

/// Rows of percentile charts: two charts a row, the last alone when their number is odd.
fn stage_rows(figure: &Figure) -> u32 {
    figure.stages.len().div_ceil(2) as u32
}

fn height(figure: &Figure) -> u32 {
    let timeline = figure
        .timeline
        .as_ref()
        .map_or(0, |_| 2 * style::TIMELINE_ROW);
    style::TITLE_BAND + stage_rows(figure) * style::STAGE_ROW + timeline
}

/// Lays out and draws the whole figure, then writes it.
fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, figure: &Figure) -> Result<(), Failed> {
    root.fill(&WHITE)?;
    let body = root.titled(&figure.title, style::text(20))?;
    let pairs = figure.stages.len() / 2;
    let (paired, rest) = body.split_vertically(pairs as u32 * style::STAGE_ROW);
    let cells = match pairs {
        0 => Vec::new(),
        _ => paired.split_evenly((pairs, 2)),
    };
    let (single, rest) = match figure.stages.len() % 2 {
        1 => rest.split_vertically(style::STAGE_ROW),
        _ => rest.split_vertically(0),
    };
    let areas = cells.iter().chain(std::iter::once(&single));
    for (chart, area) in figure.stages.iter().zip(areas) {
        percentile::draw(area, chart)?;
    }
    if let Some(t) = &figure.timeline {
        let (top, bottom) = rest.split_vertically(style::TIMELINE_ROW);
        timeline::draw(&top, &bottom, t)?;
    }
    root.present()?;
    Ok(())
}

/// Draws each curve as a line (dashed for later reports), with markers when it has only a few
/// summary points, and adds its legend entry when it has a label.
fn draw_curves<'a, DB, X, Y>(
    ctx: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    curves: &[Curve],
) -> Result<(), Failed>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    for curve in curves {
        let look = curve.look;
        let points = curve.points.iter().copied();
        let anno = match look.dash {
            None => ctx.draw_series(LineSeries::new(points, look.stroke()))?,
            Some((dash, gap)) => {
                ctx.draw_series(DashedLineSeries::new(points, dash, gap, look.stroke()))?
            }
        };
        if !curve.label.is_empty() {
            anno.label(curve.label.as_str()).legend(move |(x, y)| {
                let (a, b) = if look.dash.is_some() {
                    (9, 15)
                } else {
                    (12, 12)
                };
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(0, 0), (a, 0)], look.stroke())
                    + PathElement::new(vec![(b, 0), (24, 0)], look.stroke())
            });
        }
        if curve.sparse {
            let marker = |p: &(f64, f64)| Circle::new(*p, 4, look.colour.filled());
            ctx.draw_series(curve.points.iter().map(marker))?;
        }
        if let Some(last) = curve.points.last().filter(|_| curve.ends_at_max) {
            let note = Text::new("max", (6, -16), style::text(11).color(&look.colour));
            ctx.plotting_area()
                .draw(&(EmptyElement::at(*last) + note))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
