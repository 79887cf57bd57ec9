//! Thresholds: `nats.ack.p99 < 5ms` checked on a run (`--assert`, a profile's `[[assert]]`) and
//! `ack.p99 > 1.2x` checked on a comparison (`compare --fail-if`). One grammar for both:
//! `[lane.]metric op bound`, where a metric is a stage statistic (`ack.p99`, `submit.max`) or a
//! lane figure (`throughput`, `errors`), and a bound a duration (`5ms`), a number, or a ratio
//! (`1.2x`, compare only).

use crate::metrics::StageSummary;
use crate::vocab::{fmt_us, Stage};
use std::fmt;
use std::str::FromStr;

/// A statistic of one stage's latency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    /// Median.
    P50,
    /// 90th percentile.
    P90,
    /// 99th percentile.
    P99,
    /// 99.9th percentile.
    P999,
    /// Largest sample.
    Max,
    /// Mean.
    Mean,
}

impl Stat {
    /// This statistic of a stage's summary, in microseconds.
    pub fn of(self, s: &StageSummary) -> f64 {
        match self {
            Stat::P50 => s.p50_us as f64,
            Stat::P90 => s.p90_us as f64,
            Stat::P99 => s.p99_us as f64,
            Stat::P999 => s.p999_us as f64,
            Stat::Max => s.max_us as f64,
            Stat::Mean => s.mean_us,
        }
    }

    const NAMES: [(&'static str, Stat); 7] = [
        ("p50", Stat::P50),
        ("p90", Stat::P90),
        ("p99", Stat::P99),
        ("p999", Stat::P999),
        ("p99.9", Stat::P999),
        ("max", Stat::Max),
        ("mean", Stat::Mean),
    ];
}

/// A figure of a lane that is not a latency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaneStat {
    /// Acked msg/s over the measured part of the run.
    Throughput,
    /// Messages acked.
    Acked,
    /// Messages sent.
    Sent,
    /// Failed submits and acks.
    Errors,
    /// End to end: acked messages the consumer never saw.
    Missing,
}

impl LaneStat {
    const NAMES: [(&'static str, LaneStat); 5] = [
        ("throughput", LaneStat::Throughput),
        ("acked", LaneStat::Acked),
        ("sent", LaneStat::Sent),
        ("errors", LaneStat::Errors),
        ("missing", LaneStat::Missing),
    ];

    /// The unit its values are in.
    pub fn unit(self) -> &'static str {
        match self {
            LaneStat::Throughput => "msg/s",
            _ => "messages",
        }
    }
}

/// What a threshold measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// A statistic of a stage's latency, in microseconds.
    Stage(Stage, Stat),
    /// A lane figure.
    Lane(LaneStat),
}

impl Metric {
    /// The unit of its values: `us` for latencies.
    pub fn unit(self) -> &'static str {
        match self {
            Metric::Stage(..) => "us",
            Metric::Lane(s) => s.unit(),
        }
    }

    /// `value` in this metric's unit, shown for people: `812us`, `12.3ms`, `4812.5 msg/s`.
    pub fn show(self, value: f64) -> String {
        match self {
            Metric::Stage(..) => fmt_us(value.round() as u64),
            Metric::Lane(LaneStat::Throughput) => format!("{value:.1} msg/s"),
            Metric::Lane(_) => format!("{value:.0}"),
        }
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
}

impl Op {
    /// Longest first, so `<=` is not read as `<`.
    const SYMBOLS: [(&'static str, Op); 5] = [
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("==", Op::Eq),
        ("<", Op::Lt),
        (">", Op::Gt),
    ];

    /// Whether `left op right` holds.
    pub fn holds(self, left: f64, right: f64) -> bool {
        match self {
            Op::Lt => left < right,
            Op::Le => left <= right,
            Op::Gt => left > right,
            Op::Ge => left >= right,
            Op::Eq => (left - right).abs() < 1e-9,
        }
    }
}

/// The right-hand side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    /// A value in the metric's unit (microseconds for latencies).
    Value(f64),
    /// A ratio to a baseline's value (`1.2x`); only `compare` has a baseline.
    Ratio(f64),
}

/// One parsed threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// The expression as written.
    pub text: String,
    /// The lane it is about, or every lane.
    pub lane: Option<String>,
    /// What it measures.
    pub metric: Metric,
    /// How the value must compare to the bound.
    pub op: Op,
    /// The bound.
    pub bound: Bound,
}

/// A threshold that does not parse; the reason says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}`: {reason} (expected like `nats.ack.p99 < 5ms`, `ack.p99 > 1.2x`, `kafka.errors == 0`)")]
pub struct ThresholdError {
    /// The expression.
    pub text: String,
    /// What is wrong.
    pub reason: Malformed,
}

/// What is wrong with a threshold expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    /// No operator.
    #[error("no comparison (<, <=, >, >=, ==)")]
    NoComparison,
    /// Two operators in a row.
    #[error("`{0}` followed by another operator")]
    DoubleOperator(&'static str),
    /// Nothing on one side.
    #[error("nothing {0} the comparison")]
    Empty(&'static str),
    /// A left side that is not `[lane.]metric`.
    #[error("`{0}` is not [lane.]metric")]
    NotLaneMetric(String),
    /// A stage without a statistic.
    #[error("`{0}` needs a statistic: {0}.p99, {0}.p50, {0}.max ...")]
    NeedsStatistic(&'static str),
    /// A metric pubduel does not know.
    #[error("unknown metric `{0}`; {known}", known = known_metrics())]
    UnknownMetric(String),
    /// A bound ending in `x` that is not a ratio.
    #[error("`{0}` is not a ratio like 1.2x")]
    NotRatio(String),
    /// A count bound that is not a number.
    #[error("`{0}` is not a number")]
    NotNumber(String),
    /// A latency bound without a unit.
    #[error("`{0}` needs a unit: us, ms or s")]
    NeedsUnit(String),
    /// A latency bound with an unknown unit.
    #[error("`{0}` is not a unit (ns, us, ms, s)")]
    NotUnit(String),
    /// A latency bound that is not a number.
    #[error("`{0}` is not a duration like 5ms")]
    NotDuration(String),
    /// A ratio where only a value can be checked.
    #[error("a ratio like 1.2x compares two reports: use it with `pubduel compare --fail-if`; here give a value like 5ms")]
    RatioHere,
}

impl FromStr for Threshold {
    type Err = ThresholdError;

    fn from_str(text: &str) -> Result<Threshold, ThresholdError> {
        let fail = |reason: Malformed| ThresholdError {
            text: text.to_string(),
            reason,
        };
        let (at, sym, op) = Op::SYMBOLS
            .iter()
            .filter_map(|(sym, op)| text.find(sym).map(|at| (at, *sym, *op)))
            .min_by_key(|(at, sym, _)| (*at, usize::MAX - sym.len()))
            .ok_or_else(|| fail(Malformed::NoComparison))?;
        let (left, right) = (text[..at].trim(), text[at + sym.len()..].trim());
        if right.starts_with(['<', '>', '=']) {
            return Err(fail(Malformed::DoubleOperator(sym)));
        }
        let (lane, metric) = parse_metric(left).map_err(fail)?;
        let bound = parse_bound(right, metric).map_err(fail)?;
        Ok(Threshold {
            text: text.trim().to_string(),
            lane,
            metric,
            op,
            bound,
        })
    }
}

/// `[lane.]stage.stat` or `[lane.]figure`.
fn parse_metric(left: &str) -> Result<(Option<String>, Metric), Malformed> {
    if left.is_empty() {
        return Err(Malformed::Empty("before"));
    }
    let stage_of = |s: &str| Stage::ALL.into_iter().find(|x| x.as_str() == s);
    let stat_of = |s: &str| Stat::NAMES.iter().find(|(n, _)| *n == s).map(|x| x.1);
    let lane_stat_of = |s: &str| LaneStat::NAMES.iter().find(|(n, _)| *n == s).map(|x| x.1);
    // `p99.9` holds a dot of its own: split it off before splitting the rest.
    let (head, stat) = match left.strip_suffix(".p99.9") {
        Some(h) => (h, Some(Stat::P999)),
        None => match left.rsplit_once('.') {
            Some((h, s)) if stat_of(s).is_some() => (h, stat_of(s)),
            _ => (left, None),
        },
    };
    let (lane, name) = match head.rsplit_once('.') {
        Some((lane, name)) => (Some(lane.to_string()), name),
        None => (None, head),
    };
    if lane
        .as_deref()
        .is_some_and(|l| l.is_empty() || l.contains('.'))
    {
        return Err(Malformed::NotLaneMetric(left.to_string()));
    }
    let metric = match (stat, stage_of(name), lane_stat_of(name)) {
        (Some(stat), Some(stage), _) => Metric::Stage(stage, stat),
        (None, _, Some(l)) => Metric::Lane(l),
        (None, Some(stage), _) => return Err(Malformed::NeedsStatistic(stage.as_str())),
        _ => return Err(Malformed::UnknownMetric(name.to_string())),
    };
    Ok((lane, metric))
}

fn known_metrics() -> String {
    let stages: Vec<&str> = Stage::ALL.iter().map(|s| s.as_str()).collect();
    let lane: Vec<&str> = LaneStat::NAMES.iter().map(|(n, _)| *n).collect();
    format!(
        "stages: {} (with .p50 .p90 .p99 .p999 .max .mean); lane figures: {}",
        stages.join(" "),
        lane.join(" ")
    )
}

/// `5ms`, `250us`, `1.2x`, `1000`.
fn parse_bound(right: &str, metric: Metric) -> Result<Bound, Malformed> {
    if right.is_empty() {
        return Err(Malformed::Empty("after"));
    }
    if let Some(r) = right.strip_suffix('x') {
        return match r.trim().parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 => Ok(Bound::Ratio(v)),
            _ => Err(Malformed::NotRatio(right.to_string())),
        };
    }
    match metric {
        Metric::Stage(..) => duration_us(right).map(Bound::Value),
        Metric::Lane(_) => match right.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Bound::Value(v)),
            _ => Err(Malformed::NotNumber(right.to_string())),
        },
    }
}

/// A latency bound in microseconds: a number with a unit (`ns`, `us`, `µs`, `ms`, `s`).
fn duration_us(text: &str) -> Result<f64, Malformed> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (num, unit) = (&text[..split], text[split..].trim());
    let scale = match unit {
        "ns" => 0.001,
        "us" | "µs" => 1.0,
        "ms" => 1_000.0,
        "s" => 1_000_000.0,
        "" => return Err(Malformed::NeedsUnit(text.to_string())),
        _ => return Err(Malformed::NotUnit(unit.to_string())),
    };
    match num.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v * scale),
        _ => Err(Malformed::NotDuration(text.to_string())),
    }
}

impl Threshold {
    /// Whether it applies to `lane`.
    pub fn covers(&self, lane: &str) -> bool {
        self.lane.as_deref().is_none_or(|l| l == lane)
    }

    /// Refuses a ratio, which only a comparison can check.
    pub fn absolute(self) -> Result<Threshold, ThresholdError> {
        match self.bound {
            Bound::Ratio(_) => Err(ThresholdError {
                text: self.text,
                reason: Malformed::RatioHere,
            }),
            Bound::Value(_) => Ok(self),
        }
    }

    /// Whether `value` passes; for a ratio bound, `value` is NEW/BASE.
    pub fn passes(&self, value: f64) -> bool {
        let bound = match self.bound {
            Bound::Value(v) | Bound::Ratio(v) => v,
        };
        self.op.holds(value, bound)
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Threshold {
        s.parse().unwrap()
    }

    #[test]
    fn lane_stage_stat_and_units() {
        let t = parse("nats.ack.p99 < 5ms");
        assert_eq!(t.lane.as_deref(), Some("nats"));
        assert_eq!(t.metric, Metric::Stage(Stage::Ack, Stat::P99));
        assert_eq!((t.op, t.bound), (Op::Lt, Bound::Value(5000.0)));
        assert!(t.passes(4999.0) && !t.passes(5000.0));
        let t = parse("submit.p99.9<=250us");
        assert_eq!(
            (t.lane, t.metric, t.op),
            (None, Metric::Stage(Stage::Submit, Stat::P999), Op::Le)
        );
        assert_eq!(parse("ack_raw.max >= 1.5s").bound, Bound::Value(1.5e6));
        assert_eq!(
            parse("kafka.errors == 0").metric,
            Metric::Lane(LaneStat::Errors)
        );
        assert_eq!(parse("ack.p99 > 1.2x").bound, Bound::Ratio(1.2));
    }

    #[test]
    fn what_does_not_parse_says_why() {
        for (bad, why) in [
            ("nats.ack.p99 <<< fast", "another operator"),
            ("nats.ack.p99 5ms", "no comparison"),
            ("nats.akc.p99 < 5ms", "unknown metric"),
            ("ack < 5ms", "needs a statistic"),
            ("ack.p99 < 5", "needs a unit"),
            ("ack.p99 < 5 hours", "not a unit"),
            ("throughput > lots", "not a number"),
            (" < 5ms", "nothing before"),
            ("ack.p99 <", "nothing after"),
        ] {
            let e = bad.parse::<Threshold>().unwrap_err().to_string();
            assert!(e.contains(why) && e.contains(bad.trim()), "{bad}: {e}");
        }
        let e = parse("ack.p99 > 1.2x").absolute().unwrap_err().to_string();
        assert!(e.contains("compare"), "{e}");
    }
}
