//! How the charts look: the embedded font, one colour per lane, one line style per report, and the
//! axis labels (latency units, the "nines" percentile scale, throughput).

use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use std::sync::OnceLock;

/// Width of the whole figure, pixels.
pub(super) const WIDTH: u32 = 1200;
/// Height of one row of percentile charts, pixels.
pub(super) const STAGE_ROW: u32 = 400;
/// Height of one timeline chart, pixels.
pub(super) const TIMELINE_ROW: u32 = 320;
/// Height of the figure's title band, pixels.
pub(super) const TITLE_BAND: u32 = 48;

/// The font every text is drawn with: DejaVu Sans, shipped in `assets/` (see `assets/README.md`).
const FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// Registers the embedded font as `sans-serif`, once; false when the font does not load.
pub(super) fn font_ready() -> bool {
    static READY: OnceLock<bool> = OnceLock::new();
    *READY.get_or_init(|| register_font("sans-serif", FontStyle::Normal, FONT).is_ok())
}

/// Text of `size` pixels in the chart font.
pub(super) fn text(size: u32) -> TextStyle<'static> {
    ("sans-serif", size).into_font().color(&INK)
}

/// Axis and caption colour: near black.
pub(super) const INK: RGBColor = RGBColor(40, 40, 40);
/// Grid lines and phase boundaries.
pub(super) const GRID: RGBColor = RGBColor(200, 200, 200);

/// Colours for lanes with no colour of their own, in order.
const PALETTE: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(117, 107, 177),
    RGBColor(140, 86, 75),
    RGBColor(188, 189, 34),
];

/// The lane's colour: Kafka orange-red, NATS teal, others from a palette by their place in `lanes`.
pub(super) fn lane_colour(lane: &str, lanes: &[String]) -> RGBColor {
    match lane {
        "kafka" => RGBColor(230, 85, 13),
        "nats" => RGBColor(0, 137, 123),
        _ => {
            let at = lanes.iter().position(|l| l == lane).unwrap_or(0);
            PALETTE[at % PALETTE.len()]
        }
    }
}

/// How the lines of one report look: the first solid, the others dashed and lighter.
#[derive(Debug, Clone, Copy)]
pub(super) struct Look {
    /// Line colour.
    pub colour: RGBColor,
    /// Dash and gap length in pixels; `None` for a solid line.
    pub dash: Option<(i32, i32)>,
}

impl Look {
    /// The look of `lane` in the report at `report` (0-based).
    pub(super) fn of(lane: &str, lanes: &[String], report: usize) -> Look {
        let base = lane_colour(lane, lanes);
        if report == 0 {
            return Look {
                colour: base,
                dash: None,
            };
        }
        let light = |c: u8| c + ((255 - c) as f64 * 0.35) as u8;
        let dash = if report == 1 { (10, 5) } else { (3, 4) };
        Look {
            colour: RGBColor(light(base.0), light(base.1), light(base.2)),
            dash: Some(dash),
        }
    }

    /// The stroke of a series line.
    pub(super) fn stroke(&self) -> ShapeStyle {
        self.colour.stroke_width(2)
    }
}

/// A latency axis label from microseconds, short and without trailing zeros: `250µs`, `1.5ms`, `2s`.
pub(super) fn axis_us(us: f64) -> String {
    let (x, unit) = if us < 1e3 {
        (us, "µs")
    } else if us < 1e6 {
        (us / 1e3, "ms")
    } else {
        (us / 1e6, "s")
    };
    format!("{}{unit}", trim(x))
}

/// A throughput axis label: `0`, `500`, `12k`, `1.5M`.
pub(super) fn axis_rate(v: f64) -> String {
    if v.abs() < 1e3 {
        trim(v)
    } else if v.abs() < 1e6 {
        format!("{}k", trim(v / 1e3))
    } else {
        format!("{}M", trim(v / 1e6))
    }
}

/// `x` with at most two decimals and none that are zero.
fn trim(x: f64) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The x position of quantile `q` on the nines scale: `log10(1 / (1 - q))`, so 90% is 1, 99% is 2.
pub(super) fn nines(q: f64) -> f64 {
    (1.0 / (1.0 - q)).log10()
}

/// The percentile a nines-scale position stands for, as a label: `50%`, `99.9%`.
pub(super) fn nines_label(x: &f64) -> String {
    let p = 100.0 * (1.0 - 10f64.powf(-x));
    let decimals = (x.round() as i64 - 2).clamp(0, 6) as usize;
    format!("{p:.decimals$}%")
}

/// The house style of a chart's mesh: label sizes, a quiet grid, no minor lines.
pub(super) fn house_mesh<'m, 'a, 'b, X, Y, DB>(
    mesh: &'m mut plotters::chart::MeshStyle<'a, 'b, X, Y, DB>,
) -> &'m mut plotters::chart::MeshStyle<'a, 'b, X, Y, DB>
where
    X: plotters::coord::ranged1d::Ranged,
    Y: plotters::coord::ranged1d::Ranged,
    DB: DrawingBackend,
{
    mesh.label_style(text(12))
        .axis_desc_style(text(13))
        .axis_style(INK)
        .bold_line_style(GRID.mix(0.7))
        .light_line_style(TRANSPARENT)
}
