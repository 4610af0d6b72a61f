//! The `ferry` command: arguments -> settings -> one command -> an exit code
//! (outcome.rs). Only this crate prints or reads the terminal.

#![allow(unreachable_pub)] // a binary: nothing is reachable from outside

mod args;
mod code_source;
mod outcome;
mod prompt;
mod receive;
mod send;
mod serve;
mod settings;
mod term;

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

use args::{Cli, Command};
use outcome::{exit, exit_code, hint, interrupted, interruptible};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ferry: error: cannot start: {e}");
            return ExitCode::from(exit::FAILURE);
        }
    };
    let cancel = ferry::Cancel::new();
    match runtime.block_on(interruptible(&cancel, run(cli, &cancel))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if interrupted(&e) => {
            eprintln!("ferry: interrupted");
            ExitCode::from(exit::INTERRUPTED)
        }
        Err(e) => {
            eprintln!("ferry: error: {e:#}");
            if let Some(hint) = hint(&e) {
                eprintln!("ferry: hint: {hint}");
            }
            ExitCode::from(exit_code(&e))
        }
    }
}

fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("FERRY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

async fn run(cli: Cli, cancel: &ferry::Cancel) -> Result<()> {
    match cli.command {
        Command::Send(args) => send::run(args, cancel).await,
        Command::Receive(args) => receive::run(args, cancel).await,
        Command::Serve(args) => serve::run(*args).await,
    }
}
