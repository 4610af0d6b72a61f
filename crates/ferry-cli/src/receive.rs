//! `ferry receive`: the code, the transfer, and what arrived.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};

use crate::args::ReceiveArgs;
use crate::term::{human, Terminal};
use crate::{prompt, settings};
use ferry::transfer::landing::leftovers::{self, LeftoverKind};
use ferry::{ReceiveOptions, Received};
use ferry_proto::code::Code;
use ferry_proto::transfer::path::escape_for_terminal;

pub async fn run(args: ReceiveArgs) -> Result<()> {
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
    let mut kept = KeptNotice::new(&options.output_dir);
    let received = ferry::receive(&options, &mut ui).await?;
    kept.disarm();
    ui.finish_progress();
    report(received)
}

/// Says what resumable data a receive that did not finish left behind. Dropped
/// with the command on every way out — an error, or Ctrl-C dropping the whole
/// future — it speaks unless the receive succeeded.
struct KeptNotice {
    dir: PathBuf,
    since: SystemTime,
    armed: bool,
}

/// Directory entries looked at after a failure: enough for any transfer's
/// folders, quick even when the output directory is a home directory.
const KEPT_SCAN_BUDGET: u64 = 20_000;

impl KeptNotice {
    fn new(dir: &Path) -> KeptNotice {
        // A second of slack for file systems with coarse timestamps.
        let since = SystemTime::now() - Duration::from_secs(1);
        KeptNotice {
            dir: dir.to_owned(),
            since,
            armed: true,
        }
    }

    fn disarm(&mut self) {
        self.armed = false;
    }

    /// Verified bytes in resume states this receive wrote.
    fn kept(&self) -> u64 {
        let found = leftovers::find_within(&self.dir, KEPT_SCAN_BUDGET).unwrap_or_default();
        found
            .iter()
            .filter(|l| l.modified.is_some_and(|m| m >= self.since))
            .map(|l| match l.kind {
                LeftoverKind::ResumeState { verified } => verified,
                _ => 0,
            })
            .sum()
    }
}

impl Drop for KeptNotice {
    fn drop(&mut self) {
        let kept = if self.armed { self.kept() } else { 0 };
        if kept > 0 {
            let dir = escape_for_terminal(&self.dir.display().to_string());
            eprintln!(
                "ferry: kept {} in {dir}; send again into this folder to resume, or run `ferry clean {dir}`",
                human(kept)
            );
        }
    }
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
