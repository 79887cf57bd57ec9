//! The headless front end: a progress line per lane each second, then a final table.
//! Chosen with `--headless` or when stdout is not a terminal; it logs to stderr.

use crate::app::{FrontEnd, Script, Stop};
use crate::config::RunConfig;
use crate::engine::EngineHandle;
use crate::metrics::{LaneSnapshot, PhaseResult, Snapshot};
use crate::report::RunInfo;
use crate::vocab::{fmt_us, Stage};
use std::fmt::Write as _;
use std::future::Future;

/// The headless front end: a banner, a progress line per lane each second, the final table.
pub struct Headless;

impl FrontEnd for Headless {
    fn starting(&mut self, cfg: &RunConfig) {
        let lanes: Vec<&str> = cfg.lanes.iter().map(|l| l.name.as_str()).collect();
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
        let (mut shown_phase, mut shown_source) = (0, None);
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
                    if snap.source.is_some() && snap.source != shown_source {
                        shown_source.clone_from(&snap.source);
                        let line = snap.source.as_deref().unwrap_or("");
                        println!("[{:>5.1}s] {line}", snap.elapsed.as_secs_f64());
                    }
                    print!("{}", progress(&snap));
                }
            }
        }
    }

    fn finished(&mut self, phases: &[PhaseResult]) {
        print!("{}", crate::report::summary::summary(phases));
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
