//! What the charts show, taken from the reports before anything is drawn: per stage, one
//! percentile curve per lane per report (the lane's phases merged); per lane, its per-second
//! series across phases; and the phase boundaries.

use super::style::{nines, Look};
use super::{PlotError, Plotted};
use crate::vocab::{fmt_us, Stage};

use crate::report::{LaneReport, Report, SeriesReport, StageReport};
use hdrhistogram::Histogram;

/// The highest point of the nines scale drawn: 99.999%.
pub(super) const NINES_MAX: f64 = 5.0;
/// Spacing of the points sampled from a histogram along the nines scale.
const NINES_STEP: f64 = 0.02;

/// (x, y) points of a line, in chart coordinates.
pub(super) type Points = Vec<(f64, f64)>;

/// Everything one figure shows.
#[derive(Debug)]
pub(super) struct Figure {
    /// The line above all charts.
    pub title: String,
    /// One percentile chart per stage that has samples, in stage order.
    pub stages: Vec<StageChart>,
    /// The per-second charts, when any report has series.
    pub timeline: Option<Timeline>,
}

/// The percentile distribution of one stage.
#[derive(Debug)]
pub(super) struct StageChart {
    /// Stage name (`ack`, `submit`, ...).
    pub stage: String,
    /// One curve per lane per report.
    pub curves: Vec<Curve>,
    /// Right end of the nines axis.
    pub x_max: f64,
}

/// One line of a chart: points, legend label and look.
#[derive(Debug)]
pub(super) struct Curve {
    /// Legend text.
    pub label: String,
    /// Colour and dash.
    pub look: Look,
    /// The line's points.
    pub points: Points,
    /// Only a few summary points (schema 1): drawn with markers.
    pub sparse: bool,
    /// The last point is the largest sample, not a percentile: labelled `max`.
    pub ends_at_max: bool,
}

/// Throughput and ack p99 against run time.
#[derive(Debug)]
pub(super) struct Timeline {
    /// Acked msg/s, one curve per lane per report.
    pub acked: Vec<Curve>,
    /// Ack p99 in microseconds; a second without acks splits a curve in two.
    pub ack_p99: Vec<Curve>,
    /// Phase starts of the first report with series.
    pub phases: Vec<Boundary>,
    /// Run time covered, seconds.
    pub t_max: f64,
}

/// The start of a phase on the timeline.
#[derive(Debug)]
pub(super) struct Boundary {
    /// Seconds since the run started.
    pub t_s: f64,
    /// The phase's note, or `phase N`.
    pub caption: String,
}

/// One lane of one report, as the charts name and colour it.
struct Line<'r> {
    report: &'r Report,
    lane: String,
    label: String,
    /// `label` padded to the longest label, so the numbers after it in a legend line up.
    padded: String,
    look: Look,
}

impl Figure {
    /// Takes what to draw from `reports`; fails when a histogram does not decode.
    pub(super) fn of(reports: &[Plotted<'_>]) -> Result<Figure, PlotError> {
        let lines = lines(reports);
        let mut stages = Vec::new();
        for stage in Stage::ALL.iter().map(|s| s.as_str()) {
            if stage.ends_with("_raw") {
                continue;
            }
            let mut curves = Vec::new();
            for line in &lines {
                curves.extend(stage_curve(line, stage)?);
            }
            if !curves.is_empty() {
                stages.push(StageChart::new(stage, curves));
            }
        }
        Ok(Figure {
            title: title(reports),
            stages,
            timeline: Timeline::of(&lines),
        })
    }

    /// True when no chart has anything to show.
    pub(super) fn is_empty(&self) -> bool {
        self.stages.is_empty() && self.timeline.is_none()
    }
}

impl StageChart {
    fn new(stage: &str, curves: Vec<Curve>) -> StageChart {
        let reach = curves
            .iter()
            .flat_map(|c| c.points.last())
            .map(|p| p.0)
            .fold(0.0, f64::max);
        StageChart {
            stage: stage.to_string(),
            curves,
            x_max: (reach - 0.05).ceil().clamp(2.0, NINES_MAX),
        }
    }

    /// Smallest and largest latency drawn, microseconds.
    pub(super) fn y_range(&self) -> (f64, f64) {
        span(
            self.curves
                .iter()
                .flat_map(|c| c.points.iter().map(|p| p.1)),
        )
    }
}

/// Smallest and largest of `values`, (1, 1) when there are none.
pub(super) fn span(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::MAX, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if hi <= 0.0 {
        (1.0, 1.0)
    } else {
        (lo.max(1.0), hi.max(1.0))
    }
}

/// The lanes of every report, in the order they first appear, each with its label and look.
fn lines<'r>(reports: &[Plotted<'r>]) -> Vec<Line<'r>> {
    let mut all: Vec<String> = Vec::new();
    for p in reports {
        for lane in lane_names(p.report) {
            if !all.contains(&lane) {
                all.push(lane);
            }
        }
    }
    let mut lines = Vec::new();
    for (i, p) in reports.iter().enumerate() {
        for lane in lane_names(p.report) {
            let label = match reports.len() {
                1 => lane.clone(),
                _ => format!("{}: {lane}", p.label),
            };
            let look = Look::of(&lane, &all, i);
            lines.push(Line {
                report: p.report,
                lane,
                padded: label.clone(),
                label,
                look,
            });
        }
    }
    let width = lines
        .iter()
        .map(|l| l.label.chars().count())
        .max()
        .unwrap_or(0);
    for line in &mut lines {
        line.padded = format!("{:width$}", line.label);
    }
    lines
}

/// The report's lanes: those its metadata names, then any other a phase holds.
fn lane_names(report: &Report) -> Vec<String> {
    let mut names = report.meta.lanes.clone();
    for lane in report.phases.iter().flat_map(|p| &p.lanes) {
        if !names.contains(&lane.name) {
            names.push(lane.name.clone());
        }
    }
    names
}

/// The lane's entries in every phase, leaving out warm-up-only ones unless there is nothing else.
fn lane_phases<'r>(report: &'r Report, lane: &str) -> Vec<&'r LaneReport> {
    let all: Vec<&LaneReport> = report
        .phases
        .iter()
        .flat_map(|p| p.lanes.iter().filter(|l| l.name == lane))
        .collect();
    let measured: Vec<&LaneReport> = all.iter().copied().filter(|l| !l.warmup_only).collect();
    if measured.is_empty() {
        all
    } else {
        measured
    }
}

/// The percentile curve of `stage` for one lane of one report: from the merged histograms when
/// the report kept them, else the summary points of the phase with the most samples.
fn stage_curve(line: &Line<'_>, stage: &str) -> Result<Option<Curve>, PlotError> {
    let found: Vec<&StageReport> = lane_phases(line.report, &line.lane)
        .into_iter()
        .filter_map(|l| l.stages.get(stage))
        .filter(|s| s.count > 0)
        .collect();
    if found.is_empty() {
        return Ok(None);
    }
    let fail = |message: String| PlotError::Histogram {
        lane: line.label.clone(),
        stage: stage.to_string(),
        message,
    };
    let mut merged: Option<Histogram<u64>> = None;
    for s in &found {
        let Some(h) = s.decode().map_err(|e| fail(e.to_string()))? else {
            continue;
        };
        match merged.as_mut() {
            None => {
                let mut first = h;
                first.auto(true);
                merged = Some(first);
            }
            Some(m) => m
                .add(&h)
                .map_err(|e| fail(format!("cannot merge phases: {e:?}")))?,
        }
    }
    Ok(Some(match merged {
        Some(h) => exact_curve(line, &h),
        None => summary_curve(line, &found),
    }))
}

fn exact_curve(line: &Line<'_>, h: &Histogram<u64>) -> Curve {
    let reach = (h.len() as f64).log10().min(NINES_MAX);
    let steps = (reach / NINES_STEP).floor() as usize;
    let mut points: Vec<(f64, f64)> = (0..=steps)
        .map(|i| i as f64 * NINES_STEP)
        .map(|x| (x, h.value_at_quantile(1.0 - 10f64.powf(-x)) as f64))
        .collect();
    let last = if reach < NINES_MAX {
        h.max()
    } else {
        h.value_at_quantile(1.0 - 10f64.powf(-NINES_MAX))
    };
    points.push((reach, last as f64));
    Curve {
        label: legend(&line.padded, h.value_at_quantile(0.99), h.max()),
        look: line.look,
        points,
        sparse: false,
        ends_at_max: false,
    }
}

fn summary_curve(line: &Line<'_>, found: &[&StageReport]) -> Curve {
    let s = found
        .iter()
        .max_by_key(|s| s.count)
        .copied()
        .unwrap_or(found[0]);
    let mut points: Vec<(f64, f64)> = [
        (nines(0.5), s.p50_us),
        (nines(0.9), s.p90_us),
        (nines(0.99), s.p99_us),
        (nines(0.999), s.p999_us),
    ]
    .into_iter()
    .filter(|p| p.1 > 0)
    .map(|(x, v)| (x, v as f64))
    .collect();
    let reach = (s.count as f64).log10();
    let ends_at_max = s.max_us > 0 && reach <= NINES_MAX;
    if ends_at_max {
        points.push((reach.max(nines(0.999)), s.max_us as f64));
    }
    Curve {
        label: legend(&line.padded, s.p99_us, s.max_us) + "  (summary points)",
        look: line.look,
        points,
        sparse: true,
        ends_at_max,
    }
}

fn legend(label: &str, p99_us: u64, max_us: u64) -> String {
    format!(
        "{label}   p99 {}   max {}",
        legend_us(p99_us),
        legend_us(max_us)
    )
}

/// [`fmt_us`] with the micro sign the axes use: `745µs`, `12.3ms`.
fn legend_us(v: u64) -> String {
    let s = fmt_us(v);
    match s.strip_suffix("us") {
        Some(n) => format!("{n}µs"),
        None => s,
    }
}

impl Timeline {
    /// The per-second curves of every lane; `None` when no report has series.
    fn of(lines: &[Line<'_>]) -> Option<Timeline> {
        let mut acked = Vec::new();
        let mut ack_p99 = Vec::new();
        let mut phases = None;
        let mut t_max = 0.0f64;
        for line in lines {
            let Some((rate, p99)) = line.per_second() else {
                continue;
            };
            t_max = t_max.max(rate.iter().map(|p| p.0).fold(0.0, f64::max));
            acked.push(line.curve(rate));
            for (i, run) in runs(&p99).into_iter().enumerate() {
                let mut curve = line.curve(run);
                if i > 0 {
                    curve.label.clear();
                }
                ack_p99.push(curve);
            }
            phases.get_or_insert_with(|| boundaries(line.report));
        }
        Some(Timeline {
            acked,
            ack_p99,
            phases: phases?,
            t_max: t_max.max(1.0),
        })
    }
}

impl Line<'_> {
    /// The lane's (run time, acked msg/s) and (run time, ack p99) points across its phases;
    /// `None` when the report kept no series.
    fn per_second(&self) -> Option<(Points, Points)> {
        let series: Vec<&SeriesReport> = self
            .report
            .phases
            .iter()
            .flat_map(|p| p.lanes.iter().filter(|l| l.name == self.lane))
            .filter_map(|l| l.series.as_ref())
            .collect();
        if series.is_empty() {
            return None;
        }
        let mut rate = Vec::new();
        let mut p99 = Vec::new();
        for s in series {
            for (i, t) in s.t_s.iter().copied().enumerate() {
                rate.push((t, s.acked_per_s.get(i).copied().unwrap_or(0.0)));
                p99.push((t, s.ack_p99_us.get(i).copied().unwrap_or(0) as f64));
            }
        }
        Some((rate, p99))
    }

    fn curve(&self, points: Vec<(f64, f64)>) -> Curve {
        Curve {
            label: self.label.clone(),
            look: self.look,
            points,
            sparse: false,
            ends_at_max: false,
        }
    }
}

/// The stretches of `points` with a positive value: a second without acks has no p99.
fn runs(points: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    points
        .split(|p| p.1 <= 0.0)
        .filter(|run| !run.is_empty())
        .map(<[(f64, f64)]>::to_vec)
        .collect()
}

fn boundaries(report: &Report) -> Vec<Boundary> {
    report
        .phases
        .iter()
        .map(|p| Boundary {
            t_s: p.start_s,
            caption: p
                .note
                .clone()
                .unwrap_or_else(|| format!("phase {}", p.index)),
        })
        .collect()
}

fn title(reports: &[Plotted<'_>]) -> String {
    match reports {
        [one] => {
            let m = &one.report.meta;
            format!(
                "{}: profile {}, {} on {}, {:.0} s",
                one.label, m.profile, m.started_at, m.host, m.duration_s
            )
        }
        _ => {
            let names: Vec<String> = reports
                .iter()
                .map(|p| format!("{} ({})", p.label, p.report.meta.profile))
                .collect();
            names.join("  vs  ")
        }
    }
}
