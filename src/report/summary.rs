//! The summary table both front ends print at the end of a run: the outages, then per phase and
//! lane the counts and the percentiles of every stage, then the phase's findings.

use crate::metrics::{outages_of, LaneResult, PhaseResult};
use crate::vocab::{fmt_us, Finding};
use std::fmt::Write as _;

/// The final table: the outages, then per phase and lane the counts and p50/p90/p99/p99.9/max
/// of every stage, then the phase's findings.
pub fn summary(phases: &[PhaseResult]) -> String {
    let mut out = String::new();
    let names: Vec<&str> = phases
        .first()
        .map(|p| p.lanes.iter().map(|l| l.name.as_str()).collect())
        .unwrap_or_default();
    for o in outages_of(phases) {
        let still = if o.ongoing {
            ", still away at the end"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "\noutage: {} broker unavailable {:.1}s-{:.1}s ({:.1}s{still}): {}",
            names.get(o.lane).unwrap_or(&"?"),
            o.start_s,
            o.start_s + o.duration_s,
            o.duration_s,
            o.reason
        );
    }
    for p in phases {
        let _ = writeln!(
            out,
            "\nphase {}  {:.1}s-{:.1}s  (first {:.1}s left out as warm-up)",
            p.index,
            p.start_s,
            p.start_s + p.duration_s,
            p.warmup_s.min(p.duration_s)
        );
        if let Some(note) = &p.note {
            let _ = writeln!(out, "step: {note}");
        }
        for lane in &p.lanes {
            lane_table(&mut out, lane);
        }
        phase_findings(&mut out, p);
    }
    out
}

/// One lane of one phase: its counts, then a row per stage.
fn lane_table(out: &mut String, lane: &LaneResult) {
    let c = &lane.counts;
    let _ = writeln!(
        out,
        "{:<5} {}  mode {}  sent {}  acked {}  errors {}  stalls {}  throughput {:.0} msg/s{}",
        lane.name,
        lane.knobs.summary(),
        lane.mode.as_str(),
        c.sent,
        c.acked,
        c.errors,
        c.stalls,
        lane.throughput,
        if lane.warmup_only {
            "  (warm-up only)"
        } else {
            ""
        }
    );
    if let Some(e) = lane.e2e {
        let _ = writeln!(
            out,
            "      end to end (messages this phase published): acked {}  received {}  late {}  missing {}  duplicates {}",
            e.acked,
            e.received,
            e.late,
            e.missing(),
            c.duplicates
        );
    }
    let _ = writeln!(
        out,
        "      {:<11}{:>9}{:>10}{:>10}{:>10}{:>10}{:>10}",
        "stage", "count", "p50", "p90", "p99", "p99.9", "max"
    );
    for (stage, v) in lane.reported().summaries() {
        let _ = writeln!(
            out,
            "      {:<11}{:>9}{:>10}{:>10}{:>10}{:>10}{:>10}",
            stage.as_str(),
            v.count,
            fmt_us(v.p50_us),
            fmt_us(v.p90_us),
            fmt_us(v.p99_us),
            fmt_us(v.p999_us),
            fmt_us(v.max_us)
        );
    }
}

/// The phase's findings; one about several lanes (unfair-comparison) is printed once, naming them.
fn phase_findings(out: &mut String, p: &PhaseResult) {
    let mut merged: Vec<(Vec<&str>, &Finding)> = Vec::new();
    for lane in &p.lanes {
        for f in &lane.findings {
            match merged.iter_mut().find(|(_, g)| *g == f) {
                Some((lanes, _)) => lanes.push(&lane.name),
                None => merged.push((vec![&lane.name], f)),
            }
        }
    }
    for (lanes, f) in merged {
        let _ = writeln!(
            out,
            "  finding [{}] {}: {}",
            lanes.join(", "),
            f.kind,
            f.message
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{no_analysis, MetricsStore, Recorders};
    use crate::vocab::{FindingKind, Knobs, Stage};
    use std::time::{Duration, Instant};

    #[test]
    fn summary_has_a_row_per_stage_and_each_finding_once() {
        let t0 = Instant::now();
        let k = Knobs::default();
        let store = MetricsStore::new(
            &[("kafka".into(), k), ("nats".into(), k)],
            no_analysis(),
            Duration::ZERO,
            t0,
        );
        for lane in store.lanes() {
            let rec = Recorders::recorder(&lane.recorders, 0);
            rec.record(&[
                (Stage::Submit, Duration::from_micros(20)),
                (Stage::Ack, Duration::from_millis(3)),
            ]);
        }
        let mut phases = store.phases(t0 + Duration::from_secs(2));
        let shared = Finding::new(FindingKind::UnfairComparison, "differs".into());
        let own = Finding::new(FindingKind::GeneratorLag, "late".into());
        phases[0].lanes[0].findings = vec![shared.clone(), own];
        phases[0].lanes[1].findings = vec![shared];
        let text = summary(&phases);
        assert!(text.contains("phase 0"), "{text}");
        assert_eq!(text.matches("      submit ").count(), 2, "{text}");
        assert_eq!(text.matches("      ack ").count(), 2, "{text}");
        assert!(text.contains("3.00ms"), "{text}");
        assert_eq!(text.matches("unfair-comparison").count(), 1, "{text}");
        assert!(
            text.contains("finding [kafka, nats] unfair-comparison"),
            "{text}"
        );
        assert!(text.contains("finding [kafka] generator-lag"), "{text}");
    }
}
