//! Why a run (or one leg of it) stops: its duration, a signal, or its driver being done.

use std::time::Duration;

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Its duration passed.
    Elapsed,
    /// Ctrl-C, SIGTERM or SIGHUP.
    Signal,
    /// What drove it has finished (a capacity search found its answer).
    Done,
}

/// Completes on Ctrl-C, SIGTERM or SIGHUP, or when `duration` has passed, saying which.
pub async fn stop_signal(duration: Option<Duration>) -> Stop {
    let timer = async {
        match duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = timer => Stop::Elapsed,
        _ = tokio::signal::ctrl_c() => Stop::Signal,
        _ = terminate_or_hangup() => Stop::Signal,
    }
}

#[cfg(unix)]
async fn terminate_or_hangup() {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) {
        (Ok(mut term), Ok(mut hup)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = hup.recv() => {}
            }
        }
        _ => std::future::pending().await,
    }
}

#[cfg(not(unix))]
async fn terminate_or_hangup() {
    std::future::pending().await
}
