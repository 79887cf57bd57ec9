//! The headless front end: a progress line per lane each second, then a final table.
//! Chosen with `--headless` or when stdout is not a terminal; it logs to stderr.

use crate::app::{FrontEnd, Script, Stop};
use crate::config::RunConfig;
use crate::engine::EngineHandle;
use crate::metrics::{outages_of, LaneResult, LaneSnapshot, PhaseResult, Snapshot};
use crate::report::RunInfo;
use crate::vocab::Finding;
use crate::vocab::{fmt_us, Stage};
use std::fmt::Write as _;
use std::future::Future;

/// The headless front end: a banner, a progress line per lane each second, the final table.
pub struct Headless;

impl FrontEnd for Headless {
    fn starting(&mut self, cfg: &RunConfig) {
        let lanes: Vec<&str> = cfg.lanes.iter().map(|(k, _)| k.as_str()).collect();
        let until = cfg.duration.map_or("until Ctrl-C".to_string(), |d| {
            format!("for {}", humantime::format_duration(d))
        });
        println!(
            "pubduel {}: profile {}, lanes {}, {until}",
            env!("CARGO_PKG_VERSION"),
            cfg.profile_name,
            lanes.join(", "),
        );
    }

    async fn drive(
        &mut self,
        handle: EngineHandle,
        _info: &RunInfo,
        _script: &Script,
        stop: impl Future<Output = Stop> + Send,
    ) -> anyhow::Result<()> {
        let mut ticks = handle.ticks();
        let mut shown_phase = 0;
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => return Ok(()),
                r = ticks.changed() => {
                    if r.is_err() { return Ok(()) }
                    let snap = handle.snapshot();
                    if snap.phase != shown_phase {
                        shown_phase = snap.phase;
                        if let Some(note) = &snap.note {
                            println!("[{:>5.1}s] step: {note}", snap.elapsed.as_secs_f64());
                        }
                    }
                    print!("{}", progress(&snap));
                }
            }
        }
    }

    fn finished(&mut self, phases: &[PhaseResult]) {
        print!("{}", summary(phases));
    }
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
    use crate::vocab::{FindingKind, Knobs};
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
