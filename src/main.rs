//! pubduel's command-line entry: parse, pick the dashboard or headless, run.

use clap::Parser;
use pubduel::cli::{Cli, RunConfig};
use pubduel::{analysis, app, headless, tui};
use std::io::IsTerminal;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let headless = cli.headless || !std::io::stdout().is_terminal();
    let cfg = match cli.resolve(headless) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if cli.dry_run {
        print!("{}", app::resolved_toml(&cfg));
        return ExitCode::SUCCESS;
    }
    let _log_guard = match init_logging(headless, &cli.log_file) {
        Ok(g) => g,
        Err(e) => {
            eprintln!(
                "error: cannot open log file {}: {e}",
                cli.log_file.display()
            );
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(run(cfg, headless));
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn run(cfg: RunConfig, headless: bool) -> anyhow::Result<()> {
    if !headless {
        return tui::run(cfg).await;
    }
    let lanes: Vec<&str> = cfg.lanes.iter().map(|(k, _)| k.as_str()).collect();
    println!(
        "pubduel {}: profile {}, lanes {}, {}",
        env!("CARGO_PKG_VERSION"),
        cfg.profile_name,
        lanes.join(", "),
        cfg.duration.map_or("until Ctrl-C".to_string(), |d| format!(
            "for {}",
            humantime::format_duration(d)
        ))
    );
    let (engine, info) = app::start(&cfg).await?;
    let phases = headless::run(engine, cfg.duration).await;
    let found: Vec<_> = phases
        .iter()
        .map(|p| analysis::analyse(p, &info.durability))
        .collect();
    print!("{}", headless::summary(&phases, &found));
    if let Some(path) = &cfg.report {
        app::write_report(&info, &phases, path)
            .map_err(|e| anyhow::anyhow!("cannot write the report to {}: {e}", path.display()))?;
        println!("\nreport written to {}", path.display());
    }
    Ok(())
}

/// Headless runs log to stderr; the dashboard logs to a file so nothing lands on the screen.
fn init_logging(
    headless: bool,
    file: &std::path::Path,
) -> std::io::Result<Option<tracing_appender::non_blocking::WorkerGuard>> {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,librdkafka=off,rdkafka=off"));
    if headless {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
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
