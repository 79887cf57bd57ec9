//! Screens on `TestBackend` (insta snapshots) and the real main loop driven by keys.

use super::render::buffer_lines;
use super::state::{Dashboard, UiState};
use crate::testkit::samples::{dashboard, dashboard_four, dashboard_four_ui, dashboard_ui, screen};
use crate::vocab::Knobs;

use crate::engine::{Engine, EngineConfig, LaneSetup, LaneTarget};
use crate::metrics::Snapshot;
use crate::report::{Report, RunInfo};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::{Backend, ClearType, TestBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

#[test]
fn main_screen_wide() {
    let s = screen(160, 48, &dashboard(), &dashboard_ui());
    insta::assert_snapshot!("main_160x48", s);
}

#[test]
fn main_screen_smallest() {
    let mut ui = dashboard_ui();
    ui.target = LaneTarget::One(1);
    let s = screen(80, 24, &dashboard(), &ui);
    insta::assert_snapshot!("main_80x24_nats_selected", s);
}

#[test]
fn thresholds_show_live_held_or_failed_per_lane() {
    let mut ui = dashboard_ui();
    ui.asserts = ["ack.p99 < 1s", "nats.ack.p99 < 100us", "kafka.errors == 0"]
        .iter()
        .map(|t| crate::profile::parse_assert(t).unwrap())
        .collect();
    let s = screen(160, 48, &dashboard(), &ui);
    for shown in [
        "✔ ack.p99 < 1s (kafka",
        "✔ ack.p99 < 1s (nats",
        "✖ nats.ack.p99 < 100us (nats",
        "✔ kafka.errors == 0 (kafka 0)",
    ] {
        assert!(s.contains(shown), "{shown} not in\n{s}");
    }
    assert!(!screen(160, 48, &dashboard(), &self::dashboard_ui()).contains("assert"));
}

#[test]
fn help_overlay_lists_every_key() {
    let mut ui = dashboard_ui();
    ui.help = true;
    let s = screen(100, 30, &dashboard(), &ui);
    for key in [
        "Tab", "c  C", "m  M", "r  R", "z  Z", "b  B", "space", "x", "s", "?  Esc",
    ] {
        assert!(s.contains(key), "help lacks {key}");
    }
    insta::assert_snapshot!("help_100x30", s);
}

#[test]
fn too_small_says_so_instead_of_drawing() {
    let s = screen(79, 30, &dashboard(), &dashboard_ui());
    assert!(s.contains("Terminal too small"));
    assert!(s.contains("79x30"));
    assert!(!s.contains("kafka"), "no lane is drawn when too small");
    let s = screen(120, 23, &dashboard(), &dashboard_ui());
    assert!(s.contains("Terminal too small"));
    insta::assert_snapshot!(
        "too_small_60x20",
        screen(60, 20, &dashboard(), &dashboard_ui())
    );
}

#[test]
fn phase_changes_show_on_the_timelines() {
    let s = screen(160, 48, &dashboard(), &dashboard_ui());
    // The last 120 s hold two phase starts (t = 101 and 131): two marked columns per timeline.
    let marks = s.lines().map(|l| l.matches('┊').count()).max().unwrap_or(0);
    assert!(marks >= 4, "two marks per lane timeline row, got {marks}");
    assert!(s.contains("warming up"));
    assert!(s.contains("open loop"));
    assert!(s.contains("max-pending-stall"));
}

/// A backend that keeps the last flushed screen where a test can read it, and can be resized.
struct Recording {
    inner: TestBackend,
    screen: Arc<Mutex<String>>,
    size: Arc<Mutex<Size>>,
}

impl Recording {
    /// A `width` x `height` backend, with handles on what it shows and on its size.
    fn new(width: u16, height: u16) -> (Recording, Arc<Mutex<String>>, Arc<Mutex<Size>>) {
        let (screen, size) = (
            Arc::new(Mutex::new(String::new())),
            Arc::new(Mutex::new(Size::new(width, height))),
        );
        let backend = Recording {
            inner: TestBackend::new(width, height),
            screen: Arc::clone(&screen),
            size: Arc::clone(&size),
        };
        (backend, screen, size)
    }

    fn sync_size(&mut self) {
        let want = *self.size.lock().unwrap();
        let have = self.inner.size().unwrap_or_default();
        if want != have {
            self.inner.resize(want.width, want.height);
        }
    }
}

impl Backend for Recording {
    fn draw<'a, I>(&mut self, content: I) -> std::io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.sync_size();
        self.inner.draw(content)
    }
    fn hide_cursor(&mut self) -> std::io::Result<()> {
        self.inner.hide_cursor()
    }
    fn show_cursor(&mut self) -> std::io::Result<()> {
        self.inner.show_cursor()
    }
    fn get_cursor_position(&mut self) -> std::io::Result<Position> {
        self.inner.get_cursor_position()
    }
    fn set_cursor_position<P: Into<Position>>(&mut self, p: P) -> std::io::Result<()> {
        self.inner.set_cursor_position(p)
    }
    fn clear(&mut self) -> std::io::Result<()> {
        self.sync_size();
        self.inner.clear()
    }
    fn clear_region(&mut self, t: ClearType) -> std::io::Result<()> {
        self.inner.clear_region(t)
    }
    fn size(&self) -> std::io::Result<Size> {
        Ok(*self.size.lock().unwrap())
    }
    fn window_size(&mut self) -> std::io::Result<WindowSize> {
        self.inner.window_size()
    }
    fn flush(&mut self) -> std::io::Result<()> {
        *self.screen.lock().unwrap() = buffer_lines(self.inner.buffer()).join("\n");
        self.inner.flush()
    }
}

fn key(c: KeyCode) -> std::io::Result<Event> {
    Ok(Event::Key(KeyEvent::new(c, KeyModifiers::NONE)))
}

/// Waits until `cond` holds, up to a deadline that only a broken loop would reach.
async fn until(what: &str, cond: impl FnMut() -> bool) {
    crate::testkit::until(what, Duration::from_secs(15), cond).await;
}

async fn fake_engine() -> Engine {
    let lane = || LaneSetup {
        name: "fake".into(),
        publisher: crate::brokers::fake::FakePublisher::new(Duration::from_micros(200)),
        knobs: Knobs {
            concurrency: 4,
            max_pending: 1024,
            rate: 2000,
            ..Knobs::default()
        },
    };
    let cfg = EngineConfig {
        warmup: Duration::from_millis(500),
        ..EngineConfig::default()
    };
    Engine::start(vec![lane(), lane()], cfg)
        .await
        .expect("fake lanes start")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_main_loop_steers_the_engine_by_keys() {
    let engine = fake_engine().await;
    let handle = engine.handle();
    let dir = tempfile::tempdir().unwrap();
    let ui = UiState::new("test", vec!["kafka".into(), "nats".into()], None);
    let mut app = Dashboard::new(handle.clone(), run_info(), ui, dir.path().to_path_buf());
    let (backend, shown, size) = Recording::new(160, 48);
    let mut terminal = ratatui::Terminal::new(backend).unwrap();
    let (keys, events) = futures::channel::mpsc::unbounded();
    let screen = || shown.lock().unwrap().clone();

    let driver = async {
        until("both lanes with numbers", || {
            let s = screen();
            s.contains(" fake ")
                && s.contains("p99")
                && s.contains("sent ")
                && (s.contains('▁') || s.contains('█'))
        })
        .await;
        until("a first series point", || {
            !handle.snapshot().lanes[0].series.is_empty()
        })
        .await;
        keys.unbounded_send(key(KeyCode::Char('C'))).unwrap();
        until("concurrency 5 on screen", || {
            screen().contains("concurrency 5")
        })
        .await;
        keys.unbounded_send(key(KeyCode::Tab)).unwrap();
        keys.unbounded_send(key(KeyCode::Char('M'))).unwrap();
        until("max-pending doubled on kafka only", || {
            let s = handle.snapshot();
            s.lanes[0].knobs.max_pending == 2048 && s.lanes[1].knobs.max_pending == 1024
        })
        .await;
        until("the target in the header", || {
            screen().contains("act on: kafka")
        })
        .await;
        keys.unbounded_send(key(KeyCode::Char('s'))).unwrap();
        until("the report path on screen", || {
            let s = screen();
            s.contains("written to") && s.contains(".toml")
        })
        .await;
        keys.unbounded_send(key(KeyCode::Char('?'))).unwrap();
        until("the help overlay", || screen().contains("help: keys")).await;
        keys.unbounded_send(key(KeyCode::Esc)).unwrap();
        until("the help overlay to close", || {
            !screen().contains("help: keys")
        })
        .await;
        *size.lock().unwrap() = Size::new(70, 20);
        keys.unbounded_send(Ok(Event::Resize(70, 20))).unwrap();
        until("the too-small notice", || {
            screen().contains("Terminal too small")
        })
        .await;
        *size.lock().unwrap() = Size::new(160, 48);
        keys.unbounded_send(Ok(Event::Resize(160, 48))).unwrap();
        until("the dashboard back after resize", || {
            screen().contains(" fake ")
        })
        .await;
        let last = screen();
        keys.unbounded_send(key(KeyCode::Char('q'))).unwrap();
        last
    };
    let run = super::run_loop(&mut terminal, events, &mut app, std::future::pending());
    let (result, last) = tokio::join!(run, driver);
    result.expect("the loop ends cleanly on q");
    assert!(app.quit);

    let written: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
    assert_eq!(written.len(), 1, "one report file");
    let report = Report::load(&written[0].path()).unwrap();
    assert!(report.phases.len() >= 3, "C and M each opened a phase");
    let phases = engine.finish().await;
    assert!(phases.len() >= 3);
    let header: String = last.lines().take(1).collect();
    // What changes from run to run: numbers, and the widths they take.
    insta::with_settings!({filters => vec![(r"\d+(\.\d+)?", "#"), (r"\s+", " ")]}, {
        insta::assert_snapshot!("live_header_masked", header.trim());
    });
}

#[test]
fn a_step_caption_shows_above_the_lanes_wrapped() {
    let mut snap = dashboard();
    snap.note = Some("As fast as each lane goes: watch NATS fill its 4000 permits while Kafka's submit stays at microseconds.".into());
    let s = screen(80, 24, &snap, &dashboard_ui());
    let lines: Vec<&str> = s.lines().collect();
    assert!(lines[1].starts_with("▶ As fast as each lane goes"), "{s}");
    assert!(lines[2].contains("microseconds"), "the caption wraps: {s}");
    assert!(
        lines[3].contains("kafka"),
        "the lanes follow the caption: {s}"
    );
}

#[test]
fn the_duel_shows_at_160x48_before_any_data() {
    let s = screen(160, 48, &Snapshot::default(), &dashboard_ui());
    assert!(s.contains(" duel "), "{s}");
    assert!(s.contains("waiting for data"), "{s}");
    let s = screen(160, 48, &dashboard(), &dashboard_ui());
    assert!(s.contains(" duel  kafka vs nats"), "{s}");
    assert!(s.contains("distribution"), "{s}");
    assert!(s.contains("ack ≈ lag + permit + call + flight"), "{s}");
}

#[test]
fn the_smallest_screen_keeps_a_duel_line_and_a_footer_that_fits() {
    let s = screen(80, 24, &dashboard(), &dashboard_ui());
    let lines: Vec<&str> = s.lines().collect();
    assert!(
        lines[21].starts_with("duel ack  p50: nats 2.7x faster"),
        "{s}"
    );
    let keys = lines[23].trim_end();
    assert!(keys.starts_with("q quit  s save"), "{keys}");
    assert!(
        keys.ends_with("? help"),
        "the help key is last and whole: {keys}"
    );
    assert!(!s.contains("distribution") && !s.contains("ack ≈"), "{s}");
}

#[test]
fn a_finished_run_says_so_and_names_the_keys_left() {
    let mut ui = dashboard_ui();
    ui.finished = true;
    for (w, h) in [(160, 48), (80, 24)] {
        let s = screen(w, h, &dashboard(), &ui);
        let head = s.lines().next().unwrap();
        assert!(head.contains("finished: s save, q quit"), "{w}x{h}: {head}");
        assert!(!head.contains("running"), "{head}");
        let keys = s.lines().last().unwrap().trim_end();
        assert_eq!(keys, "q quit  s save report  ? help");
    }
    assert!(!screen(160, 48, &dashboard(), &self::dashboard_ui()).contains("finished"));
    insta::assert_snapshot!("finished_80x24", screen(80, 24, &dashboard(), &ui));
}

#[test]
fn a_fresh_phase_shows_no_bare_zero_rate_nor_warming_up() {
    let mut snap = dashboard();
    snap.phase_elapsed = Duration::from_millis(300);
    for lane in &mut snap.lanes {
        lane.phase.throughput = 0.0;
        lane.phase.sent_rate = 0.0;
        lane.phase.warmup_only = true;
    }
    let s = screen(160, 48, &snap, &dashboard_ui());
    assert!(s.contains("phase 2: … acked  … sent"), "{s}");
    assert!(!s.contains("0/s acked") && !s.contains("warming up"), "{s}");
    snap.phase_elapsed = Duration::from_secs(2);
    snap.lanes[1].phase.throughput = 120.0;
    let s = screen(160, 48, &snap, &dashboard_ui());
    assert!(
        s.contains("phase 2: 120/s acked  0/s sent  warming up"),
        "{s}"
    );
    snap.phase_elapsed = Duration::from_secs(40);
    assert!(
        !screen(160, 48, &snap, &dashboard_ui()).contains("warming up"),
        "the warm-up (30 s) is over"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_end_of_the_run_holds_the_final_numbers_until_q() {
    let engine = fake_engine().await;
    let handle = engine.handle();
    let dir = tempfile::tempdir().unwrap();
    let ui = UiState::new("test", vec!["kafka".into(), "nats".into()], None);
    let mut app = Dashboard::new(handle.clone(), run_info(), ui, dir.path().to_path_buf());
    let (backend, shown, _) = Recording::new(160, 48);
    let mut terminal = ratatui::Terminal::new(backend).unwrap();
    let (keys, events) = futures::channel::mpsc::unbounded();
    let screen = || shown.lock().unwrap().clone();
    let (ended, stop) = tokio::sync::oneshot::channel::<()>();
    let stop = async move {
        let _ = stop.await;
        crate::app::Stop::Elapsed
    };
    let driver = async {
        until("acks on screen", || {
            handle.snapshot().lanes[0].total.acked > 0
        })
        .await;
        let _ = ended.send(());
        until("the finished banner", || {
            screen().contains("finished: s save, q quit")
        })
        .await;
        let sent = || handle.phases().last().unwrap().lanes[0].counts.sent;
        let before = sent();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(sent(), before, "publishing stopped");
        let frozen = app_elapsed(&screen());
        keys.unbounded_send(key(KeyCode::Char('C'))).unwrap();
        until("the knob key refused", || {
            screen().contains("the run is finished: nothing changes now")
        })
        .await;
        keys.unbounded_send(key(KeyCode::Char('s'))).unwrap();
        until("the report path", || screen().contains("written to")).await;
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        assert_eq!(app_elapsed(&screen()), frozen, "the clock stands still");
        keys.unbounded_send(key(KeyCode::Char('q'))).unwrap();
    };
    let run = super::run_loop(&mut terminal, events, &mut app, stop);
    let (result, ()) = tokio::join!(run, driver);
    result.expect("the loop ends cleanly on q");
    assert!(app.quit && app.ui.finished);
    assert!(
        handle
            .snapshot()
            .lanes
            .iter()
            .all(|l| l.knobs.concurrency == 4),
        "C changed nothing"
    );
    let written: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
    let report = Report::load(&written[0].path()).unwrap();
    assert!(
        report.phases.iter().all(|p| !p.paused),
        "s saves the run as it stood"
    );
    // The run's own phases end where the time ran out, not when q was pressed.
    let phases = engine.finish().await;
    assert_eq!(
        phases.len(),
        report.phases.len(),
        "no phase for the frozen screen"
    );
    assert!(phases.iter().all(|p| !p.paused));
    let end = phases.last().map_or(0.0, |p| p.start_s + p.duration_s);
    assert!(
        end <= report.meta.duration_s + 0.5,
        "{end} vs {}",
        report.meta.duration_s
    );
}

/// The `elapsed` figure of a captured screen's header.
fn app_elapsed(screen: &str) -> String {
    let head = screen.lines().next().unwrap_or("");
    head.split("elapsed ")
        .nth(1)
        .unwrap_or("")
        .split(' ')
        .next()
        .unwrap_or("")
        .to_string()
}

fn run_info() -> RunInfo {
    RunInfo {
        started_at: SystemTime::now(),
        profile: "test".into(),
        profile_path: None,
        warmup_s: 0.5,
        e2e: false,
        planned: None,
        kafka: None,
        nats: None,
        lanes: Vec::new(),
        versions: Default::default(),
    }
}

#[test]
fn four_lanes_side_by_side_two_a_page_at_80_columns_and_any_pair_in_the_duel() {
    let (snap, mut ui) = (dashboard_four(), dashboard_four_ui());
    let wide = screen(160, 48, &snap, &ui);
    for name in ["╭ k0", "╭ k5", "╭ file", "╭ mem"] {
        assert!(wide.contains(name), "{name} in\n{wide}");
    }
    assert!(
        !wide.lines().next().unwrap().contains("lanes 1-"),
        "all fit: no pages"
    );
    assert!(wide.contains("duel  k0 vs k5"), "{wide}");
    let narrow = screen(80, 24, &snap, &ui);
    assert!(
        narrow.contains("╭ k0") && narrow.contains("╭ k5"),
        "{narrow}"
    );
    assert!(!narrow.contains("╭ file"), "{narrow}");
    assert!(
        narrow
            .lines()
            .next()
            .unwrap()
            .contains("lanes 1-2 of 4 (l)"),
        "{narrow}"
    );
    ui.page = 1;
    let next = screen(80, 24, &snap, &ui);
    assert!(
        next.contains("╭ file") && next.contains("╭ mem") && !next.contains("╭ k0"),
        "{next}"
    );
    assert!(
        next.lines().next().unwrap().contains("lanes 3-4 of 4"),
        "{next}"
    );
    ui.duel = (0, 2);
    let duel = screen(160, 48, &snap, &ui);
    assert!(duel.contains("duel  k0 vs file"), "{duel}");
    insta::assert_snapshot!("four_lanes_160x48", duel);
}
