//! pubduel's command-line entry: parse, and let the library do the rest.

use clap::Parser;
use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    pubduel::cmd::main_with(pubduel::cli::Cli::parse())
}
