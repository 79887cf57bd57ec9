//! The live dashboard (ratatui + crossterm) over a running engine.
//!
//! One tokio loop selects over terminal events, a stop signal (Ctrl-C, SIGTERM, SIGHUP or the
//! run's `--duration`) and a frame tick of [`FRAME`]. Keys become [`action::Action`]s applied by
//! [`state::Dashboard::update`]; each frame is drawn by [`render::draw`] from the engine's latest
//! snapshot, and only when that snapshot or the UI state changed. A signal ends the dashboard at
//! once; the end of `--duration` freezes it on the final numbers until the user quits.

pub mod action;
pub mod keys;
pub mod render;
pub mod state;
#[cfg(test)]
mod tests;

use crate::app::{self, FrontEnd, Script, Stop};
use crate::config::RunConfig;
use crate::engine::EngineHandle;
use crate::metrics::{PhaseResult, Snapshot};
use crate::report::RunInfo;
use action::Action;
use anyhow::Context as _;
use crossterm::event::{Event, EventStream};
use futures::{Stream, StreamExt};
use ratatui::backend::Backend;
use ratatui::Terminal;
use state::{Dashboard, UiState};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::MissedTickBehavior;

/// Time between frames: at most ten frames a second.
pub const FRAME: Duration = Duration::from_millis(100);

/// Folder that `s` writes reports of the run so far into.
pub const REPORT_DIR: &str = "reports";

/// The dashboard front end: the terminal is taken for the run and given back (restored) when it
/// ends, whichever way.
#[derive(Debug, Default)]
pub struct Tui {
    ui: Option<UiState>,
}

impl FrontEnd for Tui {
    fn starting(&mut self, cfg: &RunConfig) {
        let names: Vec<String> = cfg.lanes.iter().map(|l| l.name.clone()).collect();
        eprintln!("pubduel: connecting to {}...", names.join(", "));
        let mut ui = UiState::new(&cfg.profile_name, names, cfg.duration);
        ui.asserts = cfg.asserts.clone();
        self.ui = Some(ui);
    }

    async fn drive(
        &mut self,
        handle: EngineHandle,
        info: &RunInfo,
        script: &Script,
        stop: impl Future<Output = Stop> + Send,
    ) -> anyhow::Result<()> {
        let mut ui = self
            .ui
            .take()
            .unwrap_or_else(|| UiState::new(&info.profile, Vec::new(), None));
        ui.warmup = Duration::try_from_secs_f64(info.warmup_s).unwrap_or_default();
        let mut dashboard = Dashboard::new(handle, info.clone(), ui, PathBuf::from(REPORT_DIR))
            .with_script(script.clone());
        let _restore = RestoreOnDrop;
        let mut terminal = ratatui::try_init().context("cannot open the terminal")?;
        run_loop(&mut terminal, EventStream::new(), &mut dashboard, stop).await
    }

    /// After the dashboard has closed: the same summary table as headless, on the main screen.
    fn finished(&mut self, phases: &[PhaseResult]) {
        print!("{}", crate::report::summary::summary(phases));
    }
}

/// Puts the terminal back (raw mode off, main screen) when dropped: on quit, error and unwind.
/// `ratatui::try_init` also installs a panic hook that does the same before the message prints.
struct RestoreOnDrop;

impl Drop for RestoreOnDrop {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// The main loop, generic over the backend so tests drive it on `TestBackend`: applies key
/// events as actions, draws at most once per [`FRAME`] when something changed, and returns when
/// the user quits, a signal stops the run or the event stream ends. When `stop` says the run's
/// duration is over, the dashboard holds the final numbers (and still saves and quits); a later
/// Ctrl-C, SIGTERM or SIGHUP still ends it.
pub async fn run_loop<B, E>(
    terminal: &mut Terminal<B>,
    mut events: E,
    app: &mut Dashboard,
    stop: impl Future<Output = Stop>,
) -> anyhow::Result<()>
where
    B: Backend,
    E: Stream<Item = std::io::Result<Event>> + Unpin,
{
    let mut stop: Pin<Box<dyn Future<Output = Stop> + '_>> = Box::pin(stop);
    let mut frame = tokio::time::interval(FRAME);
    frame.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut shown: Option<Arc<Snapshot>> = None;
    while !app.quit {
        tokio::select! {
            why = &mut stop => match why {
                Stop::Signal | Stop::Done => break,
                Stop::Elapsed => {
                    app.update(Action::RunEnded);
                    // Signals still end a finished run at once.
                    stop = Box::pin(app::stop_signal(None));
                }
            },
            Some(saved) = app.saved() => app.update(Action::Saved(saved)),
            event = events.next() => match event {
                Some(Ok(e)) => on_event(app, e),
                Some(Err(e)) => return Err(e).context("cannot read terminal events"),
                None => break,
            },
            _ = frame.tick() => {
                app.update(Action::Frame);
                let snap = app.snapshot();
                let fresh = shown.as_ref().is_none_or(|s| !Arc::ptr_eq(s, &snap));
                if fresh || app.needs_drawing() {
                    terminal
                        .draw(|f| render::draw(f, &snap, &app.ui))
                        .context("cannot draw")?;
                    app.update(Action::Drawn);
                    shown = Some(snap);
                }
            }
        }
    }
    Ok(())
}

fn on_event(app: &mut Dashboard, event: Event) {
    match event {
        Event::Key(key) => {
            if let Some(a) = keys::action_for(key, app.ui.help) {
                app.update(a);
            }
        }
        Event::Resize(..) => app.update(Action::Resized),
        _ => {}
    }
}
