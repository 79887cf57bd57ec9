//! Logging: to stderr when headless, to a file while the dashboard owns the screen.

use std::io::IsTerminal;
use std::path::Path;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Starts logging; keep the returned guard alive for the run so the file is flushed at the end.
/// `RUST_LOG` overrides the level (`warn` headless, `info` in the log file).
pub fn init(headless: bool, file: &Path) -> std::io::Result<Option<WorkerGuard>> {
    if headless {
        let filter = EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| EnvFilter::new("warn,librdkafka=off,rdkafka=off"));
        // Colours only on a terminal: a CI log or `2> file` gets plain text.
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .init();
        return Ok(None);
    }
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)?;
    let (writer, guard) = tracing_appender::non_blocking(f);
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(writer)
        .init();
    Ok(Some(guard))
}
