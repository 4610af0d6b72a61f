//! The `ferry` command: arguments -> settings -> one command, and exit codes that
//! say what went wrong. The only place that prints or reads the terminal.

#![allow(unreachable_pub)] // a binary: nothing is reachable from outside

mod args;
mod prompt;
mod serve;
mod settings;
mod term;

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Parser;

use args::{Cli, Command, ReceiveArgs, SendArgs};
use ferry::{CodeChoice, Payload, ReceiveOptions, Received, SendOptions};
use ferry_proto::code::Code;
use ferry_proto::transfer::path::escape_for_terminal;
use term::{human, Terminal};

/// Exit codes, documented in `--help` of the README.
mod exit {
    pub const FAILURE: u8 = 1;
    pub const WRONG_CODE: u8 = 3;
    pub const DECLINED: u8 = 4;
    pub const REFUSED_LOCALLY: u8 = 5;
    pub const NETWORK: u8 = 6;
    /// 128 + SIGINT, as shells report it.
    pub const INTERRUPTED: u8 = 130;
}

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
    match runtime.block_on(interruptible(run(cli))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<Interrupted>() => {
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

/// Ctrl-C, as an error: the command's future is dropped, and with it every partial
/// file and directory, which remove themselves.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
struct Interrupted;

async fn interruptible(command: impl std::future::Future<Output = Result<()>>) -> Result<()> {
    tokio::select! {
        result = command => result,
        _ = tokio::signal::ctrl_c() => Err(Interrupted.into()),
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

/// The one mapping from what went wrong to the exit code (see the README).
fn exit_code(e: &anyhow::Error) -> u8 {
    use ferry::{Error as E, LocalError as L, NetworkError as N, PeerError as P, ServerError as S};
    match e.downcast_ref::<E>() {
        Some(E::WrongCode) => exit::WRONG_CODE,
        Some(E::Declined) => exit::DECLINED,
        Some(E::Local(L::Exists(_) | L::NoSpace { .. } | L::UnsafeName(_))) => {
            exit::REFUSED_LOCALLY
        }
        Some(E::Network(N::NoConnection(_) | N::Lost(_) | N::TimedOut(_))) => exit::NETWORK,
        Some(E::Server(S::Unreachable { .. } | S::Lost | S::TimedOut(_))) => exit::NETWORK,
        Some(E::Peer(P::Vanished)) => exit::NETWORK,
        _ => exit::FAILURE,
    }
}

/// A hint that names this command's flags, for errors the user can act on.
fn hint(e: &anyhow::Error) -> Option<&'static str> {
    match e.downcast_ref::<ferry::Error>() {
        Some(ferry::Error::Local(ferry::LocalError::Exists(_))) => {
            Some("remove it or choose another --output-dir")
        }
        _ => None,
    }
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Send(args) => run_send(args).await,
        Command::Receive(args) => run_receive(args).await,
        Command::Serve(args) => serve::run(*args).await,
    }
}

async fn run_send(args: SendArgs) -> Result<()> {
    let common = &args.common;
    let code = match &args.code {
        Some(c) => CodeChoice::Given(Code::parse(c).context("bad --code")?),
        None => CodeChoice::Allocate {
            words: usize::from(args.code_length),
        },
    };
    let options = SendOptions {
        mailbox: settings::mailbox(common),
        transit: settings::transit(common)?,
        code,
        v1: common.v1,
    };
    let (payload, _spool) = payload(&args)?;
    let mut ui = Terminal::new(common.hide_progress, false, true);
    ferry::send(&options, payload, &mut ui).await?;
    ui.finish_progress();
    eprintln!("Transfer complete.");
    Ok(())
}

/// What to send; the temp file that holds standard input lives as long as the send.
fn payload(args: &SendArgs) -> Result<(Payload, Option<tempfile::TempDir>)> {
    if let Some(text) = &args.text {
        let text = if text == "-" {
            read_stdin_text()?
        } else {
            text.clone()
        };
        return Ok((Payload::Text(text), None));
    }
    match args.paths.as_slice() {
        [one] if one.as_os_str() == "-" => {
            let name = args.name.as_deref().unwrap_or("stdin");
            let (dir, path) = spool_stdin(name)?;
            Ok((Payload::Path(path), Some(dir)))
        }
        [one] => Ok((Payload::Path(one.clone()), None)),
        many if many.iter().any(|p| p.as_os_str() == "-") => {
            bail!("\"-\" (standard input) cannot be sent together with other paths")
        }
        many => {
            let name = args
                .name
                .clone()
                .unwrap_or_else(|| "ferry-files".to_owned());
            Ok((
                Payload::Paths {
                    name,
                    paths: many.to_vec(),
                },
                None,
            ))
        }
    }
}

fn read_stdin_text() -> Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("reading the text from standard input")?;
    Ok(text)
}

/// v1 offers state the size up front, so standard input is stored first.
fn spool_stdin(name: &str) -> Result<(tempfile::TempDir, PathBuf)> {
    let dir = tempfile::tempdir().context("creating a temporary directory for standard input")?;
    let path = dir.path().join(name);
    let mut file = std::fs::File::create(&path).context("storing standard input")?;
    std::io::copy(&mut std::io::stdin().lock(), &mut file).context("reading standard input")?;
    Ok((dir, path))
}

async fn run_receive(args: ReceiveArgs) -> Result<()> {
    let common = &args.common;
    let typed = match args.code {
        Some(c) => c,
        None => prompt::ask_code()?,
    };
    let code = Code::parse(&typed).context("bad code")?;
    let options = ReceiveOptions {
        mailbox: settings::mailbox(common),
        transit: settings::transit(common)?,
        code,
        output_dir: args.output_dir,
        v1: common.v1,
    };
    let mut ui = Terminal::new(common.hide_progress, args.yes, false);
    let received = ferry::receive(&options, &mut ui).await?;
    ui.finish_progress();
    report(received)
}

fn report(received: Received) -> Result<()> {
    match received {
        Received::Text(text) => print_text(&text)?,
        Received::File { path, bytes } => {
            eprintln!(
                "Received file {} ({}).",
                escape_for_terminal(&path.display().to_string()),
                human(bytes)
            );
        }
        Received::Directory { path, files, bytes } => eprintln!(
            "Received directory {} ({files} files, {}).",
            escape_for_terminal(&path.display().to_string()),
            human(bytes)
        ),
        Received::Files(report) => eprintln!("{}", files_summary(&report)),
        _ => {}
    }
    Ok(())
}

/// What a file-by-file transfer brought, and how much of it had to move.
fn files_summary(r: &ferry::Report) -> String {
    let what = match (r.roots.as_slice(), r.single_file) {
        ([one], true) => format!("file {}", shown_path(one)),
        ([one], false) => format!("directory {} ({} files)", shown_path(one), r.files),
        (many, _) => format!("{} items ({} files)", many.len(), r.files),
    };
    let mut moved = format!("{} transferred", human(r.transferred));
    if r.resumed > 0 {
        moved += &format!(", {} resumed", human(r.resumed));
    }
    if r.already_present > 0 {
        moved += &format!(", {} already there", human(r.already_present));
    }
    format!("Received {what}, {}: {moved}.", human(r.bytes))
}

fn shown_path(p: &std::path::Path) -> String {
    escape_for_terminal(&p.display().to_string())
}

/// Text goes to stdout exactly when piped, escaped when a person reads it.
fn print_text(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let shown = if out.is_terminal() {
        escape_for_terminal(text)
    } else {
        text.to_owned()
    };
    writeln!(out, "{shown}").context("writing the message")?;
    Ok(())
}
