//! The binary as a user runs it: profiles, bad input and exit codes, unreachable brokers, and a
//! headless run whose report is checked against the documented schema.
//!
//! Runs that need brokers use the test binary's shared Apache Kafka and nats-server
//! (`pubduel::testkit::shared`), each with its own topic and stream from a small profile.

use pubduel::report::Report;
use pubduel::testkit::{self, free_port, lines_of, text, TestNames};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn pubduel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pubduel"))
        .args(args)
        .env_remove("PUBDUEL_KAFKA")
        .env_remove("PUBDUEL_NATS")
        .output()
        .expect("the binary runs")
}

/// The binary on the shared brokers, with a profile in `dir` naming its own topic and stream.
fn pubduel_on_brokers(dir: &Path, tag: &str) -> Command {
    subcommand_on_brokers(dir, tag, "run")
}

/// [`pubduel_on_brokers`] for a subcommand (`run`, `capacity`).
fn subcommand_on_brokers(dir: &Path, tag: &str, sub: &str) -> Command {
    let b = testkit::shared();
    let profile: PathBuf = dir.join(format!("{tag}.toml"));
    std::fs::write(&profile, TestNames::new(tag).profile()).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pubduel"));
    cmd.arg(sub)
        .arg("--profile")
        .arg(&profile)
        .env("PUBDUEL_KAFKA", b.kafka_addr())
        .env("PUBDUEL_NATS", b.nats_url());
    cmd
}

/// Every profile that ships, by name: a new one is added here too, and a missing one fails.
const SHIPPED_PROFILES: &[&str] = &[
    "agents",
    "default",
    "latency",
    "linger",
    "replicated",
    "seed-envelope",
    "seed-extreme",
    "seed-high",
    "seed-low",
    "seed-medium",
    "seed-story",
    "storage",
    "throughput",
];

#[test]
fn every_shipped_profile_passes_dry_run() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles");
    let mut found: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    found.sort();
    assert_eq!(
        found, SHIPPED_PROFILES,
        "profiles/ and the list here differ"
    );
    for name in SHIPPED_PROFILES {
        let path = dir.join(format!("{name}.toml"));
        let o = pubduel(&["--profile", path.to_str().unwrap(), "--dry-run"]);
        assert!(o.status.success(), "{}: {}", path.display(), text(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            out.contains("[[lanes]]") && out.contains("max_pending"),
            "{name}: {out}"
        );
    }
}

#[test]
fn seed_profiles_are_set_up_like_the_go_event_bus() {
    for (name, rate) in [
        ("seed-low", 500),
        ("seed-medium", 2000),
        ("seed-high", 5000),
        ("seed-extreme", 10000),
    ] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("profiles/{name}.toml"));
        let p = pubduel::profile::Profile::load(&path).unwrap();
        assert_eq!(p.knobs.rate, Some(rate), "{name}");
        let nats = p.lane_knobs("nats");
        assert_eq!(
            nats.ack,
            Some(pubduel::vocab::AckStrategy::TaskPerMessage),
            "{name}"
        );
        assert_eq!(nats.max_pending, Some(4000), "{name}");
        assert_eq!(
            p.lane_knobs("kafka").ack,
            Some(pubduel::vocab::AckStrategy::Async),
            "{name}"
        );
    }
}

#[test]
fn a_misspelt_key_is_exit_2_naming_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.toml");
    std::fs::write(&p, "rate = 10\nconcurency = 4\n").unwrap();
    let o = pubduel(&["--profile", p.to_str().unwrap(), "--dry-run"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("bad.toml:2") && t.contains("concurency") && t.contains("line 2"),
        "{t}"
    );
}

#[test]
fn out_of_range_values_are_exit_2() {
    let o = pubduel(&["--headless", "--duration", "2s", "--concurrency", "0"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--concurrency"), "{}", text(&o));
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("zero.toml");
    std::fs::write(&p, "[lane.nats]\nmax_pending = 0\n").unwrap();
    let o = pubduel(&["--profile", p.to_str().unwrap(), "--dry-run"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("zero.toml:2") && text(&o).contains("max_pending"),
        "{}",
        text(&o)
    );
    let o = pubduel(&["--ack", "fastest", "--dry-run"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = pubduel(&["--profile", "/nonexistent/p.toml", "--dry-run"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("/nonexistent/p.toml"), "{}", text(&o));
}

#[test]
fn an_unreachable_broker_is_a_prompt_clear_error() {
    let closed = free_port();
    let addr = format!("127.0.0.1:{closed}");
    let t0 = Instant::now();
    let o = pubduel(&[
        "--headless",
        "--duration",
        "3s",
        "--lanes",
        "kafka",
        "--kafka",
        &addr,
    ]);
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "took {:?}",
        t0.elapsed()
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains(&addr) && t.contains("scripts/brokers.sh start") && !t.contains("panicked"),
        "{t}"
    );
    let url = format!("nats://127.0.0.1:{closed}");
    let o = pubduel(&[
        "--headless",
        "--duration",
        "3s",
        "--lanes",
        "nats",
        "--nats",
        &url,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains(&url), "{}", text(&o));
}

#[test]
fn help_explains_flags_and_exit_codes() {
    let o = pubduel(&["--help"]);
    assert!(o.status.success());
    let t = text(&o);
    for flag in [
        "--profile",
        "--duration",
        "--report",
        "--kafka",
        "--nats",
        "--lanes",
        "--max-pending",
        "--ack",
        "--dry-run",
        "PUBDUEL_KAFKA",
        "Exit codes",
    ] {
        assert!(t.contains(flag), "--help lacks {flag}");
    }
}

#[test]
fn a_headless_run_writes_the_documented_report() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("sub/run.toml");
    let hlog = dir.path().join("run.hlog");
    let series = dir.path().join("run.csv");
    let o = pubduel_on_brokers(dir.path(), "report")
        .args([
            "--headless",
            "--duration",
            "3s",
            "--rate",
            "200",
            "--concurrency",
            "2",
            "--warmup",
            "1s",
        ])
        .args(["--report", report.to_str().unwrap()])
        .args(["--hlog", hlog.to_str().unwrap()])
        .args(["--series", series.to_str().unwrap()])
        .args([
            "--assert",
            "ack.p99 < 60s",
            "--assert",
            "kafka.ack.p50 < 1ns",
        ])
        .output()
        .unwrap();
    // One threshold cannot hold: exit 3, and the summary names it.
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        text(&o).contains("FAILED: kafka.ack.p50 < 1ns"),
        "{}",
        text(&o)
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("kafka") && out.contains("nats") && out.contains("p99.9"),
        "{out}"
    );
    let raw: toml::Table = toml::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(raw["schema"].as_integer(), Some(2));
    for key in ["tool", "version", "started_at", "profile", "host"] {
        assert!(raw["meta"].get(key).is_some(), "meta.{key}");
    }
    assert!(raw["brokers"].get("kafka").is_some() && raw["brokers"].get("nats").is_some());
    let r = Report::load(&report).unwrap();
    assert_eq!(r.phases.len(), 1);
    let phase = &r.phases[0];
    assert_eq!(phase.mode, "open");
    assert_eq!(phase.knobs.rate, Some(200));
    for lane in &phase.lanes {
        assert!(
            lane.acked > 300 && lane.errors == 0,
            "{}: {lane:?}",
            lane.name
        );
        assert!(
            (150.0..=250.0).contains(&lane.throughput),
            "{}: throughput {}",
            lane.name,
            lane.throughput
        );
        for stage in ["submit", "ack", "lag", "submit_raw", "ack_raw"] {
            let s = &lane.stages[stage];
            assert!(
                s.count > 0
                    && s.p50_us <= s.p90_us
                    && s.p90_us <= s.p99_us
                    && s.p99_us <= s.p999_us
                    && s.p999_us <= s.max_us,
                "{stage}: {s:?}"
            );
        }
    }
    let passed: Vec<(&str, &str, bool)> = (r.assertions.iter())
        .map(|a| (a.expr.as_str(), a.lane.as_str(), a.passed))
        .collect();
    assert_eq!(
        passed,
        [
            ("ack.p99 < 60s", "kafka", true),
            ("ack.p99 < 60s", "nats", true),
            ("kafka.ack.p50 < 1ns", "kafka", false)
        ]
    );
    // The report round-trips through its DTOs unchanged.
    let again = dir.path().join("again.toml");
    r.write(&again).unwrap();
    assert_eq!(Report::load(&again).unwrap(), r);
    interval_log_and_series_match(&r, &hlog, &series);
    compare_and_merge_read_it(&report, dir.path());
}

/// Every acked message's ack sits in exactly one interval of the log; the series has a row per
/// lane and second.
fn interval_log_and_series_match(r: &Report, hlog: &Path, series: &Path) {
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
    let log = std::fs::read(hlog).unwrap();
    let mut acks = std::collections::BTreeMap::<String, u64>::new();
    for entry in IntervalLogIterator::new(&log) {
        if let LogEntry::Interval(h) = entry.unwrap() {
            let n = pubduel::report::histogram::decode(h.encoded_histogram())
                .unwrap()
                .len();
            *acks
                .entry(h.tag().unwrap().as_str().to_string())
                .or_default() += n;
        }
    }
    for lane in &r.phases[0].lanes {
        let logged = acks[&format!("{}.ack", lane.name)];
        assert!(
            lane.stages["ack"].count <= logged && logged <= lane.acked,
            "{}: {logged} logged, {} measured, {} acked",
            lane.name,
            lane.stages["ack"].count,
            lane.acked
        );
    }
    let csv = std::fs::read_to_string(series).unwrap();
    assert!(csv.starts_with("t_s,lane,phase,"), "{csv}");
    assert!(
        csv.lines().filter(|l| l.contains(",nats,")).count() >= 2,
        "{csv}"
    );
}

/// `compare` and `merge` on a real report: a run against itself is the same, a strict gate
/// fails with exit 3, a merge doubles the samples.
fn compare_and_merge_read_it(report: &Path, dir: &Path) {
    let r = report.to_str().unwrap();
    let o = pubduel(&["compare", r, r]);
    assert!(
        o.status.success() && text(&o).contains("same"),
        "{}",
        text(&o)
    );
    assert!(!text(&o).contains("worse"), "{}", text(&o));
    let o = pubduel(&["compare", "--fail-if", "ack.p99 > 0.5x", r, r]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let merged = dir.join("merged.toml");
    let o = pubduel(&["merge", r, r, "-o", merged.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let (one, two) = (
        Report::load(report).unwrap(),
        Report::load(&merged).unwrap(),
    );
    let acks = |x: &Report| x.phases[0].lanes[1].stages["ack"].count;
    assert_eq!(acks(&two), 2 * acks(&one));
}

/// `--repeat 2` runs the same settings twice and numbers the reports; `compare A --vs B` holds
/// them as groups and shows each verdict's basis; runs of a group that do not line up, and
/// `--repeat 0`, are exit 2.
#[test]
fn repeated_runs_write_numbered_reports_that_compare_as_groups() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.toml");
    let o = pubduel_on_brokers(dir.path(), "repeat")
        .args([
            "--headless",
            "--lanes",
            "nats",
            "--rate",
            "200",
            "--repeat",
            "2",
        ])
        .args(["--duration", "3s", "--warmup", "1s"])
        .args(["--report", report.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("run 2 of 2 in 3s"), "{}", text(&o));
    let (one, two) = (dir.path().join("r-1.toml"), dir.path().join("r-2.toml"));
    assert!(!report.exists(), "only numbered reports");
    for r in [&one, &two] {
        let lane = &Report::load(r).unwrap().phases[0].lanes[0];
        let series = lane.series.as_ref().expect("a series");
        assert!(series.stages["ack"].p50_us.iter().any(|&v| v > 0), "{r:?}");
    }
    let (a, b) = (one.to_str().unwrap(), two.to_str().unwrap());
    let o = pubduel(&["compare", a, "--vs", b]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    let ack = out
        .lines()
        .find(|l| l.contains("ack.p50"))
        .unwrap_or_default();
    assert!(
        ack.contains(" n=")
            && (ack.contains("same (") || ack.contains("better (") || ack.contains("worse (")),
        "{out}"
    );
    // A third run whose phase does not pair with the others' is named, before any table.
    let mut odd = Report::load(&two).unwrap();
    odd.phases[0].index = 3;
    let three = dir.path().join("r-3.toml");
    odd.write(&three).unwrap();
    let o = pubduel(&["compare", a, "--vs", b, three.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("r-3.toml") && text(&o).contains("phase 0 of r-2.toml"),
        "{}",
        text(&o)
    );
    assert!(o.stdout.is_empty(), "no table: {}", text(&o));
    let o = pubduel(&["--headless", "--repeat", "0", "--dry-run"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--repeat"), "{}", text(&o));
    let o = pubduel(&["--headless", "--threads", "0", "--dry-run"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--threads"), "{}", text(&o));
    let o = pubduel(&["--headless", "--threads", "1", "--dry-run"]);
    assert!(text(&o).contains("threads = 1"), "{}", text(&o));
}

/// Sends SIGTERM to `child` once `lines` has brought `wanted` lines containing `marker` (or after
/// a minute), and returns its exit status with everything it printed.
fn sigterm_after(
    child: &mut std::process::Child,
    lines: &mpsc::Receiver<String>,
    wanted: usize,
    marker: &str,
) -> (std::process::ExitStatus, String) {
    let (mut out, mut seen) = (Vec::new(), 0);
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen < wanted && Instant::now() < deadline {
        match lines.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                seen += usize::from(line.contains(marker));
                out.push(line);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    // SAFETY: sends SIGTERM to the child we just started (it has not been waited for).
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    out.extend(lines.iter());
    (status, out.join("\n"))
}

#[test]
fn sigterm_ends_a_headless_run_and_keeps_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("term.toml");
    let mut child = pubduel_on_brokers(dir.path(), "term")
        .args([
            "--headless",
            "--duration",
            "10m",
            "--rate",
            "100",
            "--warmup",
            "0s",
        ])
        .args(["--report", report.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = lines_of(child.stdout.take().unwrap());
    let mut stderr = child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    // Three progress lines of the Kafka lane: three stats ticks (about 3 s) into the run, however
    // long the start took.
    let (status, out) = sigterm_after(&mut child, &lines, 3, "kafka");
    let all = format!("{out}\n{}", errors.join().unwrap());
    assert_eq!(status.code(), Some(130), "{all}");
    let r = Report::load(&report).expect("the report is written on SIGTERM");
    assert!(r.meta.interrupted, "the report says the run was cut short");
    assert_eq!(r.meta.planned_duration_s, Some(600.0));
    assert!(
        r.phases[0].lanes.iter().all(|l| l.acked > 50),
        "{:?}",
        r.phases[0].lanes
    );
}

#[test]
fn a_scenario_plays_its_steps_as_captioned_phases() {
    let dir = tempfile::tempdir().unwrap();
    let names = TestNames::new("steps");
    let profile = dir.path().join("steps.toml");
    let steps = "duration = \"7s\"\nwarmup = \"0s\"\nrate = 200\nconcurrency = 2\n\
        [[steps]]\nat = \"2s\"\nrate = 400\nnote = \"double the rate\"\n\
        [[steps]]\nafter = \"2s\"\nlane = \"nats\"\nack = \"sync\"\nnote = \"nats goes sync\"\n\
        [[steps]]\nat = \"5s\"\nrate_to = 700\nover = \"2s\"\nlane = \"kafka\"\n";
    std::fs::write(&profile, format!("{steps}{}", names.profile())).unwrap();
    let report = dir.path().join("steps-report.toml");
    let b = testkit::shared();
    let o = Command::new(env!("CARGO_BIN_EXE_pubduel"))
        .args(["--headless", "--profile", profile.to_str().unwrap()])
        .args(["--report", report.to_str().unwrap()])
        .env("PUBDUEL_KAFKA", b.kafka_addr())
        .env("PUBDUEL_NATS", b.nats_url())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("step: double the rate") && out.contains("step: nats goes sync"),
        "{out}"
    );
    let r = Report::load(&report).unwrap();
    let starts: Vec<(f64, Option<&str>)> = r
        .phases
        .iter()
        .map(|p| (p.start_s, p.note.as_deref()))
        .collect();
    // Phase 0, the two captioned steps, then the ramp's two one-second phases.
    assert_eq!(r.phases.len(), 5, "{starts:?}");
    for (i, want) in [(1, 2.0), (2, 4.0), (3, 5.0), (4, 6.0)] {
        assert!(
            (r.phases[i].start_s - want).abs() < 0.5,
            "phase {i}: {starts:?}"
        );
    }
    assert_eq!(r.phases[1].note.as_deref(), Some("double the rate"));
    let knobs = |p: usize, lane: &str| {
        let l = r.phases[p].lanes.iter().find(|l| l.name == lane).unwrap();
        (l.knobs.rate.unwrap(), l.knobs.ack.clone().unwrap())
    };
    assert_eq!(knobs(1, "nats"), (400, "async".into()));
    assert_eq!(knobs(2, "nats"), (400, "sync".into()));
    assert_eq!(knobs(2, "kafka"), (400, "async".into()));
    assert_eq!(knobs(3, "kafka").0, 550, "half way from 400 to 700");
    assert_eq!(knobs(4, "kafka").0, 700);
    assert_eq!(knobs(4, "nats").0, 400, "the ramp names kafka only");
}

#[test]
fn bad_reports_expressions_and_output_paths_are_exit_2_before_any_run() {
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.toml");
    std::fs::write(&cut, "schema = 2\n[meta]\ntool = \"pub").unwrap();
    let future = dir.path().join("future.toml");
    std::fs::write(&future, "schema = 99\n").unwrap();
    for (file, says) in [(&cut, "cut.toml"), (&future, "schema 99")] {
        let f = file.to_str().unwrap();
        let o = pubduel(&["compare", f, f]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(text(&o).contains(says), "{}", text(&o));
    }
    let o = pubduel(&[
        "--headless",
        "--assert",
        "nats.ack.p99 <<< fast",
        "--dry-run",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("nats.ack.p99 <<< fast"), "{}", text(&o));
    let o = pubduel(&["compare", "--fail-if", "ack.p99 >", "a.toml", "b.toml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    for slo in ["ack.p99 <<", "throughput > 5", "ack.p99 > 5ms"] {
        let o = pubduel(&["capacity", "--lanes", "nats", "--slo", slo]);
        assert_eq!(o.status.code(), Some(2), "{slo}: {}", text(&o));
    }
    // A folder as the report is refused at once, with unreachable brokers never tried.
    let started = Instant::now();
    let o = pubduel(&[
        "--headless",
        "--kafka",
        "127.0.0.1:1",
        "--report",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("--report") && text(&o).contains("folder"),
        "{}",
        text(&o)
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn capacity_search_measures_steps_on_a_real_broker_and_reports_them() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("cap.toml");
    let o = subcommand_on_brokers(dir.path(), "capacity", "capacity")
        .args([
            "--lanes",
            "nats",
            "--slo",
            "ack.p99 < 60s",
            "--threads",
            "1",
        ])
        .args(["--start-rate", "500", "--max-rate", "1000", "--step", "1s"])
        .args(["--warmup", "0s", "--report", report.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("max rate"), "{}", text(&o));
    let r = Report::load(&report).unwrap();
    let c = &r.capacity[0];
    assert_eq!(
        (c.lane.as_str(), c.max_rate, c.broke_at),
        ("nats", 1000, None)
    );
    let rates: Vec<u64> = (r.phases.iter())
        .filter(|p| p.note.is_some())
        .map(|p| p.lanes[0].knobs.rate.unwrap())
        .collect();
    // Double, then confirm the best. A step that broke (a loaded machine can fall behind for a
    // second) is measured again before it counts: 500 may be measured twice, 1000 up to three
    // times, and every rate measured more than once is in the report's repeats.
    let times = |rate: u64| rates.iter().filter(|r| **r == rate).count();
    assert!(
        rates[0] == 500 && rates.windows(2).all(|w| w[0] <= w[1]),
        "{rates:?}"
    );
    assert!(
        times(500) <= 2 && (2..=3).contains(&times(1000)),
        "{rates:?}"
    );
    assert_eq!(times(500) + times(1000), rates.len(), "{rates:?}");
    for rate in [500, 1000].into_iter().filter(|r| times(*r) > 1) {
        let repeated = c.repeats.iter().find(|r| r.rate == rate).unwrap();
        assert_eq!(repeated.held.last(), Some(&true), "{:?}", c.repeats);
        assert_eq!(repeated.held.len(), times(rate), "{:?}", c.repeats);
    }
    let last = &r.phases.last().unwrap().lanes[0];
    assert!(last.acked > 500 && last.stages["ack"].count > 0, "{last:?}");
}

#[test]
fn sigterm_stops_a_headless_capacity_search_and_keeps_its_report_and_logs() {
    let dir = tempfile::tempdir().unwrap();
    let (report, hlog, series) = (
        dir.path().join("cap.toml"),
        dir.path().join("cap.hlog"),
        dir.path().join("cap.csv"),
    );
    let mut child = subcommand_on_brokers(dir.path(), "capterm", "capacity")
        .args(["--lanes", "nats", "--slo", "ack.p99 < 60s"])
        .args([
            "--start-rate",
            "200",
            "--max-rate",
            "100000",
            "--step",
            "1s",
        ])
        .args(["--warmup", "0s", "--report", report.to_str().unwrap()])
        .args(["--hlog", hlog.to_str().unwrap()])
        .args(["--series", series.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = lines_of(child.stdout.take().unwrap());
    // Two measured steps, then SIGTERM in the middle of the search.
    let (status, all) = sigterm_after(&mut child, &lines, 2, "capacity nats step");
    assert_eq!(status.code(), Some(130), "{all}");
    let r = Report::load(&report).expect("the report is written when a search is stopped");
    assert!(r.meta.interrupted, "{all}");
    let c = &r.capacity[0];
    assert!(c.reason.contains("stopped"), "{c:?}");
    assert!(c.steps >= 2 && r.phases.len() as u32 > c.steps, "{c:?}");
    let log = std::fs::read_to_string(&hlog).unwrap();
    assert!(log.contains("nats.ack"), "the interval log has the steps");
    let csv = std::fs::read_to_string(&series).unwrap();
    assert!(csv.lines().count() > 2 && csv.contains(",nats,"), "{csv}");
}

#[test]
fn named_lanes_duel_linger_0_against_5_on_one_kafka_and_two_nats_storages_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let names = TestNames::new("named");
    let profile = dir.path().join("named.toml");
    let lanes = "duration = \"6s\"\nwarmup = \"1s\"\nconcurrency = 1\nack = \"sync\"\nrate = 100\n\
        lanes = [\"k0\", \"k5\", \"mem\", \"nats\"]\n\
        [lane.k0]\nkind = \"kafka\"\n[lane.k0.kafka]\nlinger_ms = 0\n\
        [lane.k5]\nkind = \"kafka\"\n[lane.k5.kafka]\nlinger_ms = 5\n\
        [lane.mem]\nkind = \"nats\"\n[lane.mem.nats]\nstorage = \"memory\"\n\
        [[assert]]\nexpr = \"k0.errors == 0\"\n";
    std::fs::write(&profile, format!("{lanes}{}", names.profile())).unwrap();
    let report = dir.path().join("named-report.toml");
    let b = testkit::shared();
    let o = Command::new(env!("CARGO_BIN_EXE_pubduel"))
        .args(["--headless", "--profile", profile.to_str().unwrap()])
        .args(["--report", report.to_str().unwrap(), "--e2e"])
        .args(["--assert", "k5.ack.p99 < 10s"])
        .env("PUBDUEL_KAFKA", b.kafka_addr())
        .env("PUBDUEL_NATS", b.nats_url())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let r = Report::load(&report).unwrap();
    let last = r.phases.last().unwrap();
    let lane = |n: &str| last.lanes.iter().find(|l| l.name == n).unwrap();
    for (name, kind) in [
        ("k0", "kafka"),
        ("k5", "kafka"),
        ("mem", "nats"),
        ("nats", "nats"),
    ] {
        let l = lane(name);
        assert_eq!(l.kind.as_deref(), Some(kind), "{name}");
        assert!(l.acked > 100 && l.errors == 0, "{name}: {l:?}");
        // Each lane consumed only its own topic or stream: what it received is what it acked.
        assert_eq!(l.missing, Some(0), "{name}: {l:?}");
        assert_eq!(l.duplicates, Some(0), "{name}: {l:?}");
    }
    let (a0, a5) = (
        lane("k0").stages["ack"].p50_us,
        lane("k5").stages["ack"].p50_us,
    );
    assert!(
        a5 >= a0 + 3000,
        "linger 5 adds its wait to every sync ack: {a0} vs {a5}"
    );
    let brokers = &r.brokers.lanes;
    assert_eq!(brokers["k0"].differs["linger_ms"].as_integer(), Some(0));
    assert_eq!(brokers["mem"].differs["storage"].as_str(), Some("memory"));
    assert!(
        !brokers.contains_key("nats"),
        "a default lane changes nothing"
    );
    let found: Vec<&str> = last
        .lanes
        .iter()
        .flat_map(|l| &l.findings)
        .map(|f| f.message.as_str())
        .collect();
    assert!(
        found.iter().any(|m| m.contains("k0 0 ms vs k5 5 ms")),
        "the finding names the lanes and the setting: {found:?}"
    );
    let versions = &r.meta.versions;
    assert!(versions["librdkafka"].starts_with('2'), "{versions:?}");
    assert!(versions["nats-server"].starts_with("2."), "{versions:?}");
    assert!(versions.contains_key("async-nats"), "{versions:?}");
    assert_eq!(r.assertions.len(), 2, "{:?}", r.assertions);
    assert!(r.assertions.iter().all(|a| a.passed), "{:?}", r.assertions);
}

#[test]
fn atomic_batches_commit_on_both_kinds_and_every_message_has_the_commits_ack() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("atomic.toml");
    let o = pubduel_on_brokers(dir.path(), "atomic")
        .args([
            "--headless",
            "--ack",
            "atomic",
            "--batch",
            "50",
            "--rate",
            "0",
        ])
        .args(["--concurrency", "2", "--duration", "8s", "--warmup", "1s"])
        // Shaped messages too: a transaction's records carry their headers and keys.
        .args(["--e2e", "--headers", "2", "--keys", "5"])
        .args(["--report", report.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let r = Report::load(&report).unwrap();
    for name in ["kafka", "nats"] {
        let l = r.phases[0].lanes.iter().find(|l| l.name == name).unwrap();
        // A broker's first transaction also sets up its coordinator (seconds on a fresh one).
        assert!(l.acked >= 200 && l.errors == 0, "{name}: {l:?}");
        assert_eq!(
            l.acked, l.sent,
            "{name}: every message of a committed batch is acked"
        );
        assert_eq!(l.missing, Some(0), "{name}: every message arrives: {l:?}");
        assert!(l.stages["e2e"].count > 100, "{name}: stamped in a header");
        let ack = &l.stages["ack"];
        assert!(ack.p50_us >= l.stages["submit"].p50_us, "{name}: {ack:?}");
    }
    // NATS refuses a batch over its limit before anything runs.
    let o = pubduel(&[
        "--lanes",
        "nats",
        "--ack",
        "atomic",
        "--batch",
        "5000",
        "--dry-run",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("--batch") && text(&o).contains("1000"),
        "{}",
        text(&o)
    );
    let o = pubduel(&[
        "--lanes",
        "kafka",
        "--ack",
        "atomic",
        "--batch",
        "5000",
        "--dry-run",
    ]);
    assert!(
        o.status.success(),
        "Kafka transactions take any batch: {}",
        text(&o)
    );
}

#[test]
fn fast_batches_on_nats_ack_every_message_or_name_the_server_that_cannot() {
    // Kafka has no fast mode: refused before anything runs, naming the strategy.
    let o = pubduel(&["--lanes", "kafka", "--ack", "fast", "--dry-run"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("fast"), "{}", text(&o));
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("fast.toml");
    let o = pubduel_on_brokers(dir.path(), "fast")
        .args(["--headless", "--lanes", "nats", "--ack", "fast"])
        .args([
            "--batch",
            "500",
            "--max-outstanding-acks",
            "2",
            "--rate",
            "0",
        ])
        .args([
            "--concurrency",
            "2",
            "--duration",
            "4s",
            "--warmup",
            "1s",
            "--e2e",
        ])
        .args(["--report", report.to_str().unwrap()])
        .output()
        .unwrap();
    let version = testkit::nats_server_version().unwrap();
    if !pubduel::brokers::nats::server_at_least(&version, (2, 14)) {
        // An older server (CI's previous pair): refused before anything runs, naming it.
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(
            text(&o).contains("2.14") && text(&o).contains(&version),
            "{}",
            text(&o)
        );
        return;
    }
    assert!(o.status.success(), "{}", text(&o));
    let r = Report::load(&report).unwrap();
    let l = &r.phases[0].lanes[0];
    assert!(l.acked > 1000 && l.errors == 0, "{l:?}");
    assert_eq!(
        l.acked, l.sent,
        "every message is covered by a flow ack or the commit"
    );
    assert_eq!((l.missing, l.duplicates), (Some(0), Some(0)), "{l:?}");
    let (submit, ack) = (&l.stages["submit"], &l.stages["ack"]);
    assert!(ack.p50_us > submit.p50_us, "acks come by the flow: {ack:?}");
}

#[test]
fn idempotent_kafka_and_deduplicating_nats_publish_every_message_once() {
    let dir = tempfile::tempdir().unwrap();
    let names = TestNames::new("idem");
    let profile = dir.path().join("idem.toml");
    let settings = format!(
        "[kafka]\ntopic = \"{}\"\nenable_idempotence = true\npartitioner = \"murmur2_random\"\n\
         [nats]\nstream = \"{}\"\nsubject = \"{}\"\ndedup = true\n",
        names.topic, names.stream, names.subject
    );
    std::fs::write(&profile, settings).unwrap();
    let report = dir.path().join("idem-report.toml");
    let b = testkit::shared();
    let o = Command::new(env!("CARGO_BIN_EXE_pubduel"))
        .args(["--headless", "--profile", profile.to_str().unwrap()])
        .args(["--report", report.to_str().unwrap(), "--e2e"])
        .args(["--duration", "4s", "--warmup", "1s", "--rate", "500"])
        .env("PUBDUEL_KAFKA", b.kafka_addr())
        .env("PUBDUEL_NATS", b.nats_url())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let r = Report::load(&report).unwrap();
    let kafka = r.brokers.kafka.as_ref().unwrap();
    assert!(
        kafka.enable_idempotence,
        "the report says idempotence was on"
    );
    assert_eq!(kafka.partitioner.as_deref(), Some("murmur2_random"));
    assert!(r.brokers.nats.as_ref().unwrap().dedup);
    for l in &r.phases[0].lanes {
        assert!(
            l.acked > 1000 && l.acked == l.sent && l.errors == 0,
            "{l:?}"
        );
        assert_eq!((l.missing, l.duplicates), (Some(0), Some(0)), "{l:?}");
    }
}

#[test]
fn real_shaped_messages_headers_keys_and_a_payload_file_arrive_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let envelope = dir.path().join("envelope.json");
    std::fs::write(
        &envelope,
        br#"{"aggregate_id":"order-42","event_type":"OrderPlaced"}"#,
    )
    .unwrap();
    let report = dir.path().join("shape.toml");
    let o = pubduel_on_brokers(dir.path(), "shape")
        .args([
            "--headless",
            "--e2e",
            "--headers",
            "4",
            "--header-size",
            "24",
        ])
        .args(["--keys", "100", "--payload", envelope.to_str().unwrap()])
        .args(["--rate", "500", "--duration", "4s", "--warmup", "1s"])
        .args(["--report", report.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let r = Report::load(&report).unwrap();
    for l in &r.phases[0].lanes {
        assert!(l.acked > 1000 && l.errors == 0, "{l:?}");
        assert_eq!(
            (l.missing, l.duplicates),
            (Some(0), Some(0)),
            "{}: {l:?}",
            l.name
        );
        assert!(
            l.stages["e2e"].count > 500,
            "timed by the stamp header: {l:?}"
        );
    }
    let o = pubduel(&["--payload", "/nonexistent/envelope.json", "--dry-run"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--payload"), "{}", text(&o));
}

#[test]
fn a_dry_run_of_agents_shows_them_and_not_the_control_login() {
    let o = pubduel(&[
        "--agents",
        "2",
        "--control",
        "nats://ctl:hush@control:4222",
        "--max-lost-agents",
        "1",
        "--dry-run",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("[agents]") && t.contains("count = 2"), "{t}");
    assert!(
        t.contains("nats://control:4222") && t.contains("max_lost = 1"),
        "{t}"
    );
    assert!(!t.contains("hush"), "{t}");
    let o = pubduel(&["--agents", "0", "--dry-run"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = pubduel(&["--agents", "2", "--control", "", "--dry-run"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--control"), "{}", text(&o));
}
