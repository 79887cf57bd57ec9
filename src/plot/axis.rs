//! An axis with ticks where a reader expects them: the nines scale ticks at 50%, 90%, 99%, ...;
//! a log latency axis at 1-2-5 steps or powers of ten. A `plotters` coordinate of its own, since
//! the library's logarithmic axis picks its ticks by itself.

use super::style::nines;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use std::ops::Range;

/// A linear or logarithmic axis over `lo..hi` with fixed ticks.
#[derive(Debug, Clone)]
pub(super) struct Axis {
    lo: f64,
    hi: f64,
    log: bool,
    ticks: Vec<f64>,
}

impl Axis {
    /// The nines scale from 0 (0%) to `x_max`, ticked at 50%, 90%, 99%, ... up to `x_max`.
    pub(super) fn nines(x_max: f64) -> Axis {
        let mut ticks = vec![nines(0.5)];
        ticks.extend((1..=x_max.round() as i32).map(f64::from));
        Axis {
            lo: 0.0,
            hi: x_max,
            log: false,
            ticks,
        }
    }

    /// A log axis over `lo..hi` (both above zero): ticks at 1-2-5 steps over up to three
    /// decades, at powers of ten over more.
    pub(super) fn log(lo: f64, hi: f64) -> Axis {
        let steps: &[f64] = if hi / lo <= 1e3 {
            &[1.0, 2.0, 5.0]
        } else {
            &[1.0]
        };
        let mut ticks = Vec::new();
        let mut decade = 10f64.powf(lo.log10().floor());
        while decade <= hi {
            let inside = steps
                .iter()
                .map(|s| s * decade)
                .filter(|v| *v >= lo && *v <= hi);
            ticks.extend(inside);
            decade *= 10.0;
        }
        Axis {
            lo,
            hi,
            log: true,
            ticks,
        }
    }

    fn scaled(&self, v: f64) -> f64 {
        if self.log {
            v.max(f64::MIN_POSITIVE).ln()
        } else {
            v
        }
    }
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let (a, b) = (self.scaled(self.lo), self.scaled(self.hi));
        if (b - a).abs() < f64::EPSILON {
            return (limit.0 + limit.1) / 2;
        }
        let t = (self.scaled(*value) - a) / (b - a);
        limit.0 + (t * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        self.ticks.clone()
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}
