//! Command-line arguments, each defined once; `--help` is generated from here.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Send files, folders and text to another computer with a short code,
/// end-to-end encrypted. Speaks the Magic Wormhole protocol, so the other side
/// may run ferry, `wormhole` (Python), `wormhole-william` or `wormhole-rs`.
#[derive(Debug, Parser)]
#[command(
    name = "ferry",
    version,
    propagate_version = true,
    max_term_width = 100
)]
#[command(
    after_help = "Examples:\n  ferry send report.pdf          # prints a code like 7-guitarist-revenge\n  ferry receive 7-guitarist-revenge\n  ferry send --text 'hello'\n  ferry receive                  # asks for the code, with tab completion"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// More log output (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Send text, a file or a directory.
    #[command(visible_alias = "tx")]
    Send(SendArgs),
    /// Receive what the other side sends.
    #[command(visible_aliases = ["rx", "recv"])]
    Receive(ReceiveArgs),
    /// Run a rendezvous (mailbox) server and transit relay for any wormhole client.
    Serve(Box<crate::serve::ServeArgs>),
}

/// Options shared by every command.
#[derive(Debug, Args)]
pub struct Common {
    /// Rendezvous (mailbox) server URL.
    #[arg(long, env = "FERRY_SERVER", value_name = "URL")]
    pub server: Option<String>,
    /// Transit relay used when no direct connection works (tcp:HOST:PORT).
    #[arg(long, env = "FERRY_RELAY", value_name = "ADDR")]
    pub relay: Option<String>,
    /// Application id; both sides must use the same one.
    #[arg(long, env = "FERRY_APPID", value_name = "ID")]
    pub app_id: Option<String>,
    /// Only use the relay: no direct connections, and no local addresses sent.
    #[arg(long)]
    pub force_relay: bool,
    /// Listen for direct connections only on this address, and advertise only it.
    #[arg(long, value_name = "IP", conflicts_with = "no_listen")]
    pub listen: Option<IpAddr>,
    /// Do not listen for direct connections (we may still connect out).
    #[arg(long)]
    pub no_listen: bool,
    /// No progress bar.
    #[arg(long)]
    pub hide_progress: bool,
    /// Use plain Magic Wormhole file transfer even with another ferry (no resume,
    /// no per-chunk verification); for testing and comparisons.
    #[arg(long)]
    pub v1: bool,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    #[command(flatten)]
    pub common: Common,
    /// Text message to send instead of files ("-" reads it from standard input).
    #[arg(long, value_name = "TEXT", conflicts_with = "paths")]
    pub text: Option<String>,
    /// Files or directories to send ("-" sends standard input as a file).
    /// Several paths travel as one directory (see --name).
    #[arg(value_name = "PATH", required_unless_present = "text")]
    pub paths: Vec<PathBuf>,
    /// Name for what is read from standard input [default: stdin], or for the
    /// directory that holds several paths [default: ferry-files].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Use this code instead of asking the server for one (e.g. 7-purple-sausages).
    /// Other users of this machine can see it (ps): prefer --code-file or FERRY_CODE.
    #[arg(long, value_name = "CODE")]
    pub code: Option<String>,
    /// Read the code from the first line of FILE ("-": standard input).
    #[arg(long, value_name = "FILE", conflicts_with = "code")]
    pub code_file: Option<PathBuf>,
    /// Number of words in a generated code (2 words: 1 in 65536 guesses).
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=8))]
    pub code_length: u8,
}

#[derive(Debug, Args)]
pub struct ReceiveArgs {
    #[command(flatten)]
    pub common: Common,
    /// The code from the sender (its words may be separate arguments); asked for
    /// (with tab completion) when omitted. Other users of this machine can see it
    /// (ps): prefer --code-file or FERRY_CODE.
    #[arg(value_name = "CODE")]
    pub code: Vec<String>,
    /// Read the code from the first line of FILE ("-": standard input).
    #[arg(long, value_name = "FILE", conflicts_with = "code")]
    pub code_file: Option<PathBuf>,
    /// Where received files and directories go.
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    pub output_dir: PathBuf,
    /// Accept files and directories without asking.
    #[arg(short, long)]
    pub yes: bool,
}
