//! `pubduel merge`: runs taken at the same time (several load generators against one cluster)
//! become one report. Histograms merge exactly; counts and rates add up; phases pair by index and
//! lanes by name.

use super::totals::merge_into;
use super::{LaneReport, PhaseReport, Report, StageReport, SCHEMA};
use crate::metrics::HistogramError;
use std::collections::BTreeMap;

/// Reports that cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// Nothing to merge.
    #[error("merge needs reports")]
    Empty,
    /// A report without histograms.
    #[error("{label}: a schema {schema} report keeps no histograms; merge needs schema 2")]
    NoHistograms {
        /// The report's label (its file).
        label: String,
        /// Its schema.
        schema: u32,
    },
    /// Phases that do not pair up.
    #[error(
        "{label} has {phases} phases and {first} has {first_phases}: merge pairs phases by index"
    )]
    Phases {
        /// The report's label.
        label: String,
        /// Its phases.
        phases: usize,
        /// The first report's label.
        first: String,
        /// The first report's phases.
        first_phases: usize,
    },
    /// A stage with samples but no histogram.
    #[error("lane {lane} stage {stage} has no histogram")]
    MissingHistogram {
        /// The lane.
        lane: String,
        /// The stage.
        stage: String,
    },
    /// A histogram that does not decode or encode.
    #[error(transparent)]
    Histogram(#[from] HistogramError),
}

/// Merges `reports` (label, report) into one. Every report needs its histograms (schema 2) and
/// the same number of phases.
pub fn merge(reports: &[(String, Report)]) -> Result<Report, MergeError> {
    let (first, rest) = reports.split_first().ok_or(MergeError::Empty)?;
    for (label, r) in reports {
        if r.schema < 2 {
            return Err(MergeError::NoHistograms {
                label: label.clone(),
                schema: r.schema,
            });
        }
        if r.phases.len() != first.1.phases.len() {
            return Err(MergeError::Phases {
                label: label.clone(),
                phases: r.phases.len(),
                first: first.0.clone(),
                first_phases: first.1.phases.len(),
            });
        }
    }
    let mut out = first.1.clone();
    out.schema = SCHEMA;
    out.assertions.clear();
    for (_, r) in rest {
        merge_meta(&mut out, r);
        for (mine, theirs) in out.phases.iter_mut().zip(&r.phases) {
            merge_phase(mine, theirs)?;
        }
        out.outages.extend(r.outages.iter().cloned());
    }
    for lane in out.phases.iter_mut().flat_map(|p| p.lanes.iter_mut()) {
        // Per-host advice and per-second points do not add up; the merged report keeps neither.
        lane.findings.clear();
        lane.series = None;
    }
    Ok(out)
}

fn merge_meta(out: &mut Report, r: &Report) {
    let m = &mut out.meta;
    m.started_at = m.started_at.clone().min(r.meta.started_at.clone());
    m.duration_s = m.duration_s.max(r.meta.duration_s);
    m.interrupted |= r.meta.interrupted;
    if !m.host.split(" + ").any(|h| h == r.meta.host) {
        m.host = format!("{} + {}", m.host, r.meta.host);
    }
    for lane in &r.meta.lanes {
        if !m.lanes.contains(lane) {
            m.lanes.push(lane.clone());
        }
    }
}

fn merge_phase(mine: &mut PhaseReport, theirs: &PhaseReport) -> Result<(), MergeError> {
    mine.duration_s = mine.duration_s.max(theirs.duration_s);
    for t in &theirs.lanes {
        match mine.lanes.iter_mut().find(|l| l.name == t.name) {
            Some(l) => merge_lane(l, t)?,
            None => mine.lanes.push(t.clone()),
        }
    }
    Ok(())
}

fn merge_lane(l: &mut LaneReport, t: &LaneReport) -> Result<(), MergeError> {
    l.sent += t.sent;
    l.acked += t.acked;
    l.errors += t.errors;
    l.stalls += t.stalls;
    l.queue_full += t.queue_full;
    l.in_flight_end += t.in_flight_end;
    l.throughput += t.throughput;
    l.sent_rate += t.sent_rate;
    l.warmup_only &= t.warmup_only;
    let add = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
    };
    l.received = add(l.received, t.received);
    l.missing = add(l.missing, t.missing);
    l.duplicates = add(l.duplicates, t.duplicates);
    if l.knobs != t.knobs {
        l.knobs = super::ReportKnobs::default();
    }
    let mut merged = BTreeMap::new();
    for (name, s) in l.stages.iter().chain(&t.stages) {
        match s.decode()? {
            Some(h) => merge_into(&mut merged, name, &h),
            None if s.count == 0 => {}
            None => {
                return Err(MergeError::MissingHistogram {
                    lane: l.name.clone(),
                    stage: name.clone(),
                })
            }
        }
    }
    l.stages = merged
        .into_iter()
        .map(|(name, h)| Ok((name, StageReport::of(&h)?)))
        .collect::<Result<_, HistogramError>>()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testdata::{lane, report};

    #[test]
    fn merging_adds_samples_and_counts_exactly() {
        let a = report(vec![vec![lane("kafka", 1000, 500), lane("nats", 300, 500)]]);
        let b = report(vec![vec![lane("kafka", 5000, 500), lane("nats", 300, 500)]]);
        let m = merge(&[("a".into(), a.clone()), ("b".into(), b.clone())]).unwrap();
        let k = &m.phases[0].lanes[0];
        assert_eq!(k.stages["ack"].count, 40_000);
        assert_eq!(k.acked, 40_000);
        assert_eq!(k.throughput, 2000.0);
        // Half the acks near 1 ms, half near 5 ms: the merged median sits between the two.
        let (pa, pb) = (a.phases[0].lanes[0].stages["ack"].p50_us, 5500);
        assert!(k.stages["ack"].p50_us > pa && k.stages["ack"].p50_us <= pb);
        assert!(m.meta.host.contains('+') || a.meta.host == b.meta.host);
    }

    #[test]
    fn a_report_without_histograms_or_with_other_phases_is_refused() {
        let a = report(vec![vec![lane("kafka", 1000, 500)]]);
        let mut old = a.clone();
        old.schema = 1;
        let e = merge(&[("a".into(), a.clone()), ("old.toml".into(), old)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("old.toml") && e.contains("schema 1"), "{e}");
        let two = report(vec![
            vec![lane("kafka", 1000, 500)],
            vec![lane("kafka", 1000, 500)],
        ]);
        let e = merge(&[("a".into(), a), ("two.toml".into(), two)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("two.toml has 2 phases"), "{e}");
    }
}
