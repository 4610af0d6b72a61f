//! Shell completions and the man page, generated from the clap definitions in
//! args.rs, so they never drift from `--help`.

use std::io::Write;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::args::Cli;

/// `ferry completions SHELL`: the script on stdout.
pub fn completions(shell: clap_complete::Shell) -> Result<()> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "ferry", &mut out);
    write_stdout(&out)
}

/// `ferry man`: one page in roff, the top-level options and then each
/// subcommand's under its own heading (`FERRY SEND OPTIONS`, …).
pub fn man() -> Result<()> {
    let cmd = Cli::command();
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut out)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        // clap wants a &'static heading (no "string" feature); this process prints and exits.
        let heading: &'static str = format!("ferry {} options", sub.get_name()).leak();
        let sub = sub
            .clone()
            .disable_help_flag(true)
            .disable_version_flag(true)
            .mut_args(|a| a.help_heading(heading));
        clap_mangen::Man::new(sub).render_options_section(&mut out)?;
    }
    write_stdout(&out)
}

/// A closed pipe (`ferry man | head`) is not an error.
fn write_stdout(bytes: &[u8]) -> Result<()> {
    match std::io::stdout().lock().write_all(bytes) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.context("writing to standard output"),
    }
}
