//! The live dashboard (ratatui + crossterm) over a running engine.
//!
//! One tokio loop selects over terminal events, a stop signal (Ctrl-C, SIGTERM, SIGHUP or the
//! run's `--duration`) and a frame tick of [`FRAME`]. Keys become [`action::Action`]s applied by
//! [`state::App::update`]; each frame is drawn by [`render::draw`] from the engine's latest
//! snapshot, and only when that snapshot or the UI state changed.

pub mod action;
pub mod render;
pub mod state;
#[cfg(test)]
mod tests;

use crate::app;
use crate::cli::RunConfig;
use crate::metrics::Snapshot;
use anyhow::Context as _;
use crossterm::event::{Event, EventStream};
use futures::{Stream, StreamExt};
use ratatui::backend::Backend;
use ratatui::Terminal;
use state::{App, UiState};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::MissedTickBehavior;

/// Time between frames: at most ten frames a second.
pub const FRAME: Duration = Duration::from_millis(100);

/// Folder that `s` writes snapshots into.
pub const SNAPSHOT_DIR: &str = "reports";

/// Runs the dashboard until quit or the configured duration, then writes `--report` if given.
pub async fn run(cfg: RunConfig) -> anyhow::Result<()> {
    let names: Vec<String> = cfg
        .lanes
        .iter()
        .map(|(k, _)| k.as_str().to_string())
        .collect();
    eprintln!("pubduel: connecting to {}...", names.join(", "));
    let (engine, info) = app::start(&cfg).await.context("cannot start the lanes")?;
    let ui = UiState::new(&cfg.profile_name, names, cfg.duration);
    let mut dashboard = App::new(
        engine.handle(),
        info.clone(),
        ui,
        PathBuf::from(SNAPSHOT_DIR),
    );
    let outcome = {
        let _restore = RestoreOnDrop;
        match ratatui::try_init() {
            Ok(mut terminal) => {
                let stop = crate::app::stop_signal(cfg.duration);
                run_loop(&mut terminal, EventStream::new(), &mut dashboard, stop).await
            }
            Err(e) => Err(e).context("cannot open the terminal"),
        }
    };
    println!("pubduel: stopping, waiting for outstanding acks...");
    let phases = engine.finish().await;
    if let Some(path) = &cfg.report {
        app::write_report(&info, &phases, path)
            .with_context(|| format!("cannot write the report to {}", path.display()))?;
        println!("report written to {}", path.display());
    }
    outcome
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
/// the user quits, `stop` completes or the event stream ends.
pub async fn run_loop<B, E>(
    terminal: &mut Terminal<B>,
    mut events: E,
    app: &mut App,
    stop: impl Future<Output = ()>,
) -> anyhow::Result<()>
where
    B: Backend,
    E: Stream<Item = std::io::Result<Event>> + Unpin,
{
    tokio::pin!(stop);
    let mut frame = tokio::time::interval(FRAME);
    frame.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut shown: Option<Arc<Snapshot>> = None;
    while !app.quit {
        tokio::select! {
            _ = &mut stop => break,
            event = events.next() => match event {
                Some(Ok(e)) => on_event(app, e),
                Some(Err(e)) => return Err(e).context("cannot read terminal events"),
                None => break,
            },
            _ = frame.tick() => {
                let snap = app.handle().snapshot();
                let fresh = shown.as_ref().is_none_or(|s| !Arc::ptr_eq(s, &snap));
                if fresh || app.dirty {
                    terminal
                        .draw(|f| render::draw(f, &snap, &app.ui))
                        .context("cannot draw")?;
                    app.dirty = false;
                    shown = Some(snap);
                }
            }
        }
    }
    Ok(())
}

fn on_event(app: &mut App, event: Event) {
    match event {
        Event::Key(key) => {
            if let Some(a) = action::from_key(key, app.ui.help) {
                app.update(a);
            }
        }
        Event::Resize(..) => app.dirty = true,
        _ => {}
    }
}
