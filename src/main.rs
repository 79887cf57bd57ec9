//! pubduel's command-line entry: parse, pick the dashboard or headless, run the one lifecycle.

use clap::Parser;
use pubduel::cli::Cli;
use pubduel::{app, headless::Headless, logging, tui::Tui};
use std::io::IsTerminal;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let headless = cli.headless || !std::io::stdout().is_terminal();
    let cfg = match cli.resolve(headless) {
        Ok(c) => c,
        Err(e) => return fail(2, format!("{e}")),
    };
    if cli.dry_run {
        print!("{}", app::resolved_toml(&cfg));
        return ExitCode::SUCCESS;
    }
    let _log = match logging::init(headless, &cli.log_file) {
        Ok(guard) => guard,
        Err(e) => {
            return fail(
                2,
                format!("cannot open log file {}: {e}", cli.log_file.display()),
            )
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(1, format!("cannot start the runtime: {e}")),
    };
    let result = if headless {
        runtime.block_on(app::run(cfg, Headless))
    } else {
        runtime.block_on(app::run(cfg, Tui::default()))
    };
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(1, format!("{e:#}")),
    }
}

/// Prints `message` as an error and returns exit code `code`.
fn fail(code: u8, message: String) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(code)
}
