//! The `ferry` command: arguments -> settings -> one command -> an exit code
//! (outcome.rs). Only this crate prints or reads the terminal.

#![allow(unreachable_pub)] // a binary: nothing is reachable from outside

mod announce;
mod args;
mod bar;
mod checks;
mod clean;
mod code_source;
mod config;
mod docs;
mod json;
mod kept;
mod lan;
mod outcome;
mod prompt;
mod qr;
mod receive;
mod send;
mod serve;
mod settings;
mod term;
mod torrent;

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

use args::{Cli, Command};
use outcome::{exit, exit_code, hint, interrupted, interruptible, stopped_code, stopped_how};

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
    // Transfers (and swarms) take SIGTERM and SIGHUP as a cancel: the other side
    // hears of it, a download saves its state, trackers hear `stopped`.
    let transfer = matches!(
        cli.command,
        Command::Send(_)
            | Command::Receive(_)
            | Command::Torrent(args::TorrentCommand::Seed(_) | args::TorrentCommand::Get(_))
    );
    match runtime.block_on(interruptible(&cancel, transfer, run(cli, &cancel))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if interrupted(&e) => {
            eprintln!("ferry: {}", stopped_how());
            ExitCode::from(stopped_code())
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
    // Colour only for a person at a terminal who has not asked for none.
    let ansi = std::io::stderr().is_terminal() && settings::colour_allowed();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .init();
}

async fn run(cli: Cli, cancel: &ferry::Cancel) -> Result<()> {
    let before = cli.before;
    match cli.command {
        Command::Send(args) if args.lan.lan => {
            let json = before.json || args.common.json;
            json::reported(json, lan::send(args, before, cancel)).await
        }
        Command::Receive(args) if args.lan.lan => {
            let json = before.json || args.common.json;
            json::reported(json, lan::receive(args, before, cancel)).await
        }
        Command::Send(mut args) => {
            let json = before.json || args.common.json;
            json::reported(json, async move {
                let resolved = settings::resolve(before, args.common)?;
                args.common = resolved.common;
                args.web_url = settings::web_url(args.web_url, resolved.web_url)?;
                send::run(args, cancel).await
            })
            .await
        }
        Command::Receive(mut args) => {
            let json = before.json || args.common.json;
            json::reported(json, async move {
                let resolved = settings::resolve(before, args.common)?;
                args.common = resolved.common;
                args.output_dir = args.output_dir.or(resolved.output_dir);
                receive::run(args, cancel).await
            })
            .await
        }
        Command::Serve(args) => {
            settings::none_given(&before)?;
            serve::run(*args, cancel).await
        }
        Command::Lan(args::LanCommand::Devices(args)) => {
            settings::none_given(&before)?;
            lan::devices(args).await
        }
        Command::Clean(args) => {
            settings::none_given(&before)?;
            clean::run(&args)
        }
        Command::Torrent(args::TorrentCommand::Create(args)) => {
            settings::none_given(&before)?;
            let json = args.json;
            json::reported(json, torrent::create(args, cancel)).await
        }
        Command::Torrent(args::TorrentCommand::Seed(args)) => {
            settings::none_given(&before)?;
            let json = args.swarm.json;
            json::reported(json, torrent::seed(args, cancel)).await
        }
        Command::Torrent(args::TorrentCommand::Get(args)) => {
            settings::none_given(&before)?;
            let json = args.swarm.json;
            json::reported(json, torrent::get(args, cancel)).await
        }
        Command::Completions { shell } => {
            settings::none_given(&before)?;
            docs::completions(shell)
        }
        Command::Man => {
            settings::none_given(&before)?;
            docs::man()
        }
    }
}
