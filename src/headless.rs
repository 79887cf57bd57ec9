//! The headless front end: a progress line per lane each second, then a final table.

use crate::engine::Engine;
use crate::metrics::{fmt_us, outages_of, ClosedPhase, LaneSnapshot, Snapshot, Stage};
use std::fmt::Write as _;
use std::time::Duration;

/// Runs the engine for `duration` (or until Ctrl-C, SIGTERM or SIGHUP), printing progress;
/// returns every phase, so the report is written however the run ends.
pub async fn run(engine: Engine, duration: Option<Duration>) -> Vec<ClosedPhase> {
    let handle = engine.handle();
    let mut ticks = handle.ticks();
    let stop = crate::app::stop_signal(duration);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            r = ticks.changed() => {
                if r.is_err() { break }
                print!("{}", progress(&handle.snapshot()));
            }
        }
    }
    println!("stopping: waiting for outstanding acks...");
    engine.finish().await
}

/// One line per lane: rates, in-flight, submit and ack p99 of the last second, errors.
pub fn progress(s: &Snapshot) -> String {
    let mut out = String::new();
    for lane in &s.lanes {
        let _ = writeln!(out, "{}", progress_line(s, lane));
    }
    out
}

fn progress_line(s: &Snapshot, lane: &LaneSnapshot) -> String {
    let last = lane.series.last().copied().unwrap_or_default();
    let p99 = |stage: Stage| {
        lane.interval
            .iter()
            .find(|(st, _)| *st == stage)
            .map_or("-".to_string(), |(_, v)| fmt_us(v.p99_us))
    };
    let mut line = format!(
        "[{:>5.1}s] {:<5} sent {:>8.0}/s  acked {:>8.0}/s  in-flight {:>6}/{:<6}  submit p99 {:>8}  ack p99 {:>8}  errors {}",
        s.elapsed.as_secs_f64(),
        lane.name,
        last.sent_per_s,
        last.acked_per_s,
        lane.in_flight,
        lane.knobs.max_pending,
        p99(Stage::Submit),
        p99(Stage::Ack),
        lane.total.errors,
    );
    if let Some((since, why)) = &lane.unavailable {
        let _ = write!(line, "  BROKER UNAVAILABLE since {since:.1}s ({why})");
    }
    if lane.total.errors > 0 {
        if let Some(e) = &lane.last_error {
            let _ = write!(line, " (last: {})", e.lines().next().unwrap_or(""));
        }
    }
    line
}

/// The final table: per phase and lane, counts and p50/p90/p99/p99.9/max of every stage, then findings.
pub fn summary(phases: &[ClosedPhase], findings: &[Vec<Vec<crate::analysis::Finding>>]) -> String {
    let mut out = String::new();
    let names: Vec<&str> = phases
        .first()
        .map(|p| p.lanes.iter().map(|l| l.name.as_str()).collect())
        .unwrap_or_default();
    for o in outages_of(phases) {
        let _ = writeln!(
            out,
            "\noutage: {} broker unavailable {:.1}s-{:.1}s ({:.1}s{}): {}",
            names.get(o.lane).unwrap_or(&"?"),
            o.start_s,
            o.start_s + o.duration_s,
            o.duration_s,
            if o.ongoing {
                ", still away at the end"
            } else {
                ""
            },
            o.reason
        );
    }
    for (i, p) in phases.iter().enumerate() {
        let _ = writeln!(
            out,
            "\nphase {}  {:.1}s-{:.1}s  (first {:.1}s left out as warm-up)",
            p.index,
            p.start_s,
            p.start_s + p.duration_s,
            p.warmup_s.min(p.duration_s)
        );
        for lane in &p.lanes {
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
                if lane.warmup_only { "  (warm-up only)" } else { "" }
            );
            if c.received > 0 || c.duplicates > 0 {
                let _ = writeln!(
                    out,
                    "      end to end: received {}  missing {}  duplicates {}",
                    c.received,
                    c.acked.saturating_sub(c.received),
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
        if let Some(phase_findings) = findings.get(i) {
            // A finding about both lanes (unfair-comparison) is printed once, naming both.
            let mut merged: Vec<(Vec<&str>, &crate::analysis::Finding)> = Vec::new();
            for (lane, fs) in p.lanes.iter().zip(phase_findings) {
                for f in fs {
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
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Finding, FindingKind};
    use crate::brokers::Durability;
    use crate::engine::Knobs;
    use crate::metrics::{MetricsStore, Recorders};
    use std::time::Instant;

    #[test]
    fn summary_has_a_row_per_stage_and_each_finding_once() {
        let t0 = Instant::now();
        let k = Knobs::default();
        let store = MetricsStore::new(
            &[("kafka".into(), k), ("nats".into(), k)],
            vec![Durability::default(); 2],
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
        let phases = store.phases(t0 + Duration::from_secs(2));
        let shared = Finding {
            kind: FindingKind::UnfairComparison,
            message: "differs".into(),
        };
        let own = Finding {
            kind: FindingKind::GeneratorLag,
            message: "late".into(),
        };
        let found = vec![vec![vec![shared.clone(), own], vec![shared]]];
        let text = summary(&phases, &found);
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
