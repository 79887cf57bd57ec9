//! pubduel's command-line entry: parse, and let the library do the rest.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    pubduel::small_pages();
    pubduel::cmd::main_with(pubduel::cli::Cli::parse())
}
