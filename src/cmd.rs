//! The subcommands as the binary runs them: dispatch, pick the dashboard or headless, build the
//! runtime, map outcomes to exit codes. `main.rs` only parses and calls [`main_with`].

use crate::app::{self, Drive, MetricsListenError};
use crate::cli::{AgentArgs, CapacityArgs, Cli, Command, RunArgs};
use crate::config::RunConfig;
use crate::control::ControlError;
use crate::{headless::Headless, logging, tools, tui::Tui};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

/// Runs what `cli` asks for and returns the exit code.
pub fn main_with(cli: Cli) -> ExitCode {
    let done = match cli.command() {
        Command::Run(args) => return run(*args),
        Command::Capacity(args) => return capacity(*args),
        Command::Compare(args) => tools::compare(&args),
        Command::Merge(args) => tools::merge(&args),
        Command::Plot(args) => tools::plot(&args),
        Command::Agent(args) => return agent(&args),
    };
    match done {
        Ok(code) => ExitCode::from(code),
        Err(e) => fail(e.code, e.message),
    }
}

/// Exit code of a headless run cut short by a signal (128 + SIGINT).
const EXIT_INTERRUPTED: u8 = 130;

/// Warm-up of each capacity step when neither a flag nor the profile sets one.
const CAPACITY_WARMUP: Duration = Duration::from_secs(1);

fn run(args: RunArgs) -> ExitCode {
    let headless = args.headless || !std::io::stdout().is_terminal();
    let cfg = match RunConfig::resolve(&args, headless) {
        Ok(c) => c,
        Err(e) => return fail(tools::EXIT_INVALID, format!("{e}")),
    };
    if args.dry_run {
        print!("{}", app::resolved_toml(&cfg));
        return ExitCode::SUCCESS;
    }
    launch(cfg, Drive::Steps, headless, &args)
}

/// `pubduel capacity`: the search, on the dashboard in a terminal, else a line per step.
fn capacity(args: CapacityArgs) -> ExitCode {
    let mut run_args = args.run.clone();
    run_args.warmup = run_args.warmup.or(Some(CAPACITY_WARMUP));
    run_args.duration = None;
    let headless = run_args.headless || !std::io::stdout().is_terminal();
    let cfg = match RunConfig::resolve(&run_args, headless) {
        Ok(c) => c,
        Err(e) => return fail(tools::EXIT_INVALID, format!("{e}")),
    };
    let plan = app::capacity::Plan {
        slo: args.slo,
        start: args.start_rate.max(1),
        max: args.max_rate.max(1),
        step: args.step,
        resolution: args.resolution,
        verbose: headless,
    };
    launch(cfg, Drive::Capacity(plan), headless, &run_args)
}

/// `pubduel agent`: serves runs until Ctrl-C or SIGTERM.
fn agent(args: &AgentArgs) -> ExitCode {
    let _log = logging::init(true, std::path::Path::new("pubduel.log"));
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let served = runtime.block_on(app::agent::serve(args));
    runtime.shutdown_timeout(Duration::from_secs(1));
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if invalid_input(&e) || e.is::<crate::profile::ProfileError>() => {
            fail(tools::EXIT_INVALID, format!("{e:#}"))
        }
        Err(e) => fail(1, format!("{e:#}")),
    }
}

/// Whether a run ended before it started for input that cannot be used (exit 2): agents that
/// do not fit, or a `--metrics-listen` address that cannot be listened on.
fn invalid_input(e: &anyhow::Error) -> bool {
    e.is::<ControlError>() || e.is::<MetricsListenError>()
}

/// Exit code of a headless run of agents that lost more of them than `--max-lost-agents`.
const EXIT_AGENTS_LOST: u8 = 4;

/// Opens the log, builds the runtime and runs `cfg` as `drive` says on the dashboard or
/// headless; maps the outcome to the exit code.
fn launch(cfg: RunConfig, drive: Drive, headless: bool, args: &RunArgs) -> ExitCode {
    let _log = match logging::init(headless, &args.log_file) {
        Ok(guard) => guard,
        Err(e) => {
            let file = args.log_file.display();
            return fail(
                tools::EXIT_INVALID,
                format!("cannot open log file {file}: {e}"),
            );
        }
    };
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let capacity = matches!(drive, Drive::Capacity(_));
    let cfg_max_lost = cfg.agents.as_ref().and_then(|a| a.max_lost);
    let result = match (headless, capacity) {
        (true, false) => runtime.block_on(app::run(cfg, drive, Headless)),
        (true, true) => runtime.block_on(app::run(cfg, drive, app::capacity::StepLines)),
        (false, _) => runtime.block_on(app::run(cfg, drive, Tui::default())),
    };
    runtime.shutdown_timeout(Duration::from_secs(1));
    let max_lost = cfg_max_lost;
    match result {
        Ok(o) if o.interrupted && headless => ExitCode::from(EXIT_INTERRUPTED),
        Ok(o) if headless && max_lost.is_some_and(|k| o.lost_agents.len() > k) => fail(
            EXIT_AGENTS_LOST,
            format!(
                "{} agents lost ({}), more than --max-lost-agents {}",
                o.lost_agents.len(),
                o.lost_agents.join(", "),
                max_lost.unwrap_or(0)
            ),
        ),
        Ok(o) if !o.failed.is_empty() => fail(
            tools::EXIT_GATE,
            format!("threshold failed: {}", o.failed.join("; ")),
        ),
        Ok(_) => ExitCode::SUCCESS,
        Err(e) if invalid_input(&e) => fail(tools::EXIT_INVALID, format!("{e:#}")),
        Err(e) => fail(1, format!("{e:#}")),
    }
}

/// The runtime a run uses: every thread with a tight timer slack, for the pacing.
fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .on_thread_start(crate::engine::tight_timer_slack)
        .build()
        .map_err(|e| fail(1, format!("cannot start the runtime: {e}")))
}

/// Prints `message` as an error and returns exit code `code`.
fn fail(code: u8, message: String) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(code)
}
