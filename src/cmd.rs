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
    match args.repeat {
        Some(_) if !headless => fail(
            tools::EXIT_INVALID,
            "--repeat runs headless only: add --headless".into(),
        ),
        Some(n) => repeat(&cfg, n, &args),
        None => launch(cfg, Drive::Steps, headless, &args),
    }
}

/// Pause between the runs of `--repeat`.
const REPEAT_PAUSE: Duration = Duration::from_secs(3);

/// `--repeat N`: the same settings N times, headless, a pause between, each run's files
/// numbered. The exit code is the worst run's; a run that cannot run (1, 2) or is interrupted
/// (130), or a signal during a pause, ends the repetition.
fn repeat(cfg: &RunConfig, n: u32, args: &RunArgs) -> ExitCode {
    let _log = match open_log(true, args) {
        Ok(guard) => guard,
        Err(code) => return code,
    };
    let mut worst = 0;
    for i in 1..=n {
        if i == 1 {
            println!("run 1 of {n}");
        } else {
            println!("\nrun {i} of {n} in {}s", REPEAT_PAUSE.as_secs());
            if paused_until_signal(REPEAT_PAUSE) {
                return ExitCode::from(worst_of(worst, EXIT_INTERRUPTED));
            }
        }
        let code = run_once(cfg.repetition(i), Drive::Steps, true);
        worst = worst_of(worst, code);
        if matches!(code, 1 | tools::EXIT_INVALID | EXIT_INTERRUPTED) && i < n {
            eprintln!("run {i} of {n} ended with exit {code}: the other runs are not started");
            break;
        }
    }
    ExitCode::from(worst)
}

/// Waits `pause`; true when Ctrl-C, SIGTERM or SIGHUP came first.
fn paused_until_signal(pause: Duration) -> bool {
    match runtime(Some(1)) {
        Ok(r) => r.block_on(app::stop_signal(Some(pause))) == app::Stop::Signal,
        Err(_) => {
            std::thread::sleep(pause);
            false
        }
    }
}

/// The worse of two exit codes: done (0) < a threshold failed (3) < agents lost (4) < invalid
/// input (2) < a runtime failure (1) < interrupted (130).
fn worst_of(a: u8, b: u8) -> u8 {
    let rank = |c: u8| match c {
        0 => 0,
        tools::EXIT_GATE => 1,
        EXIT_AGENTS_LOST => 2,
        tools::EXIT_INVALID => 3,
        EXIT_INTERRUPTED => 5,
        _ => 4,
    };
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

/// `pubduel capacity`: the search, on the dashboard in a terminal, else a line per step.
fn capacity(args: CapacityArgs) -> ExitCode {
    if args.run.repeat.is_some() {
        return fail(
            tools::EXIT_INVALID,
            "--repeat is for runs: a capacity search measures each of its steps itself".into(),
        );
    }
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
    let runtime = match runtime(args.threads) {
        Ok(r) => r,
        Err(e) => return fail(1, e),
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

/// Opens the log and runs `cfg` as `drive` says on the dashboard or headless.
fn launch(cfg: RunConfig, drive: Drive, headless: bool, args: &RunArgs) -> ExitCode {
    let _log = match open_log(headless, args) {
        Ok(guard) => guard,
        Err(code) => return code,
    };
    ExitCode::from(run_once(cfg, drive, headless))
}

/// Starts logging (once per process): to stderr headless, else to `--log-file`.
fn open_log(
    headless: bool,
    args: &RunArgs,
) -> Result<Option<tracing_appender::non_blocking::WorkerGuard>, ExitCode> {
    logging::init(headless, &args.log_file).map_err(|e| {
        let file = args.log_file.display();
        fail(
            tools::EXIT_INVALID,
            format!("cannot open log file {file}: {e}"),
        )
    })
}

/// Builds the runtime and runs `cfg` as `drive` says on the dashboard or headless; maps the
/// outcome to the exit code.
fn run_once(cfg: RunConfig, drive: Drive, headless: bool) -> u8 {
    let runtime = match runtime(cfg.threads) {
        Ok(r) => r,
        Err(e) => return failed(1, e),
    };
    let capacity = matches!(drive, Drive::Capacity(_));
    let max_lost = cfg.agents.as_ref().and_then(|a| a.max_lost);
    let result = match (headless, capacity) {
        (true, false) => runtime.block_on(app::run(cfg, drive, Headless)),
        (true, true) => runtime.block_on(app::run(cfg, drive, app::capacity::StepLines)),
        (false, _) => runtime.block_on(app::run(cfg, drive, Tui::default())),
    };
    runtime.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(o) if o.interrupted && headless => EXIT_INTERRUPTED,
        Ok(o) if headless && max_lost.is_some_and(|k| o.lost_agents.len() > k) => failed(
            EXIT_AGENTS_LOST,
            format!(
                "{} agents lost ({}), more than --max-lost-agents {}",
                o.lost_agents.len(),
                o.lost_agents.join(", "),
                max_lost.unwrap_or(0)
            ),
        ),
        Ok(o) if !o.failed.is_empty() => failed(
            tools::EXIT_GATE,
            format!("threshold failed: {}", o.failed.join("; ")),
        ),
        Ok(_) => 0,
        Err(e) if invalid_input(&e) => failed(tools::EXIT_INVALID, format!("{e:#}")),
        Err(e) => failed(1, format!("{e:#}")),
    }
}

/// The runtime a run uses: `threads` workers (one per CPU when `None`), every thread with a
/// tight timer slack, for the pacing.
fn runtime(threads: Option<usize>) -> Result<tokio::runtime::Runtime, String> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = threads {
        builder.worker_threads(n);
    }
    builder
        .enable_all()
        .on_thread_start(crate::engine::tight_timer_slack)
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

/// Prints `message` as an error and returns exit code `code`.
fn fail(code: u8, message: String) -> ExitCode {
    ExitCode::from(failed(code, message))
}

/// Prints `message` as an error and returns `code`.
fn failed(code: u8, message: String) -> u8 {
    eprintln!("error: {message}");
    code
}
