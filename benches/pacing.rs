//! Pacing against the machine's own timer limit, measured in the same run: how late pubduel's
//! open-loop generator starts each message (`lag`), against how late a bare absolute-time
//! `clock_nanosleep` loop wakes up at the same rate. Reported as ratios of the p50 (and p99);
//! the generator cannot beat the timer without spinning, so the default mode aims for about
//! 1x and `--precise` (spinning the last microseconds) for far below it.
//!
//! Run: `cargo bench --bench pacing` (about 20 s). `PUBDUEL_BENCH_RATE=5000` changes the rate.

use pubduel::brokers::fake::FakePublisher;
use pubduel::vocab::{AckStrategy, Knobs, Stage};

use pubduel::engine::{tight_timer_slack, Engine, EngineConfig, LaneSetup};

use std::time::Duration;

/// Length of each measurement.
const RUN: Duration = Duration::from_secs(5);

/// p50 and p99 of `v`, microseconds.
fn p50_p99(mut v: Vec<u64>) -> (u64, u64) {
    v.sort_unstable();
    let at = |q: f64| v.get(((v.len() as f64 * q) as usize).min(v.len().saturating_sub(1)));
    (
        at(0.5).copied().unwrap_or(0),
        at(0.99).copied().unwrap_or(0),
    )
}

/// The baseline: an absolute-time `clock_nanosleep` loop at `rate`, with a 1 ns timer slack.
fn bare_sleep(rate: u64) -> (u64, u64) {
    tight_timer_slack();
    let n = (rate * RUN.as_secs()) as usize;
    let step = 1_000_000_000 / rate;
    let mut lag = Vec::with_capacity(n);
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime and clock_nanosleep write only into the timespecs passed.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    let t0 = now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64;
    for i in 0..n as u64 {
        let target = t0 + i * step;
        let ts = libc::timespec {
            tv_sec: (target / 1_000_000_000) as libc::time_t,
            tv_nsec: (target % 1_000_000_000) as libc::c_long,
        };
        unsafe {
            libc::clock_nanosleep(
                libc::CLOCK_MONOTONIC,
                libc::TIMER_ABSTIME,
                &ts,
                std::ptr::null_mut(),
            );
            libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now);
        }
        let woke = now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64;
        lag.push(woke.saturating_sub(target) / 1000);
    }
    p50_p99(lag)
}

/// pubduel's generator at `rate` on a fake broker that acks at once: the `lag` stage.
fn generator(rate: u64, precise: bool) -> Result<(u64, u64), String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .on_thread_start(tight_timer_slack)
        .build()
        .map_err(|e| e.to_string())?;
    let knobs = Knobs {
        concurrency: 4,
        rate,
        ack: AckStrategy::Async,
        ..Knobs::default()
    };
    let setup = LaneSetup {
        name: "fake".into(),
        publisher: FakePublisher::new(Duration::ZERO),
        knobs,
    };
    let config = EngineConfig {
        warmup: Duration::from_millis(500),
        precise,
        ..EngineConfig::default()
    };
    let phases = rt.block_on(async {
        let engine = Engine::start(vec![setup], config).await?;
        tokio::time::sleep(RUN + Duration::from_millis(500)).await;
        Ok::<_, pubduel::brokers::BrokerError>(engine.finish().await)
    });
    let phases = phases.map_err(|e| e.to_string())?;
    let lane = &phases.last().ok_or("no phase")?.lanes[0];
    let s = lane.measured.summary(Stage::Lag).ok_or("no lag recorded")?;
    Ok((s.p50_us, s.p99_us))
}

fn main() {
    let rate: u64 = std::env::var("PUBDUEL_BENCH_RATE")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1000);
    let (b50, b99) = bare_sleep(rate);
    println!("pacing at {rate} msg/s, {}s each", RUN.as_secs());
    println!(
        "{:<34} {:>8} {:>8} {:>10} {:>10}",
        "case", "p50 us", "p99 us", "p50 ratio", "p99 ratio"
    );
    println!(
        "{:<34} {:>8} {:>8} {:>10} {:>10}",
        "bare clock_nanosleep (baseline)", b50, b99, "1.00x", "1.00x"
    );
    let ratio = |x: u64, b: u64| format!("{:.2}x", x as f64 / b.max(1) as f64);
    for (name, precise) in [("pubduel lag", false), ("pubduel lag, --precise", true)] {
        match generator(rate, precise) {
            Ok((p50, p99)) => println!(
                "{name:<34} {p50:>8} {p99:>8} {:>10} {:>10}",
                ratio(p50, b50),
                ratio(p99, b99)
            ),
            Err(e) => println!("{name:<34} failed: {e}"),
        }
    }
}
