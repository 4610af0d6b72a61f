//! `ferry receive`: the code, the transfer, and what arrived.

use std::io::{IsTerminal, Write};

use anyhow::{Context, Result};

use crate::args::ReceiveArgs;
use crate::term::{human, Terminal};
use crate::{code_source, prompt, settings};
use ferry::{Cancel, ReceiveOptions, Received};
use ferry_proto::transfer::path::escape_for_terminal;

pub async fn run(args: ReceiveArgs, cancel: &Cancel) -> Result<()> {
    let common = &args.common;
    let words = (!args.code.is_empty()).then(|| args.code.join(" "));
    let typed = match code_source::given(words.as_deref(), args.code_file.as_deref())? {
        Some(c) => c,
        None => prompt::ask_code(&settings::mailbox(common))?,
    };
    let code = code_source::parse(&typed)?;
    let options = ReceiveOptions {
        mailbox: settings::mailbox(common),
        transit: settings::transit(common)?,
        code,
        output_dir: args.output_dir,
        v1: common.v1,
    };
    let mut ui = Terminal::new(common.hide_progress, args.yes, false).with_cancel(cancel);
    let received = ferry::receive_until(&options, &mut ui, cancel).await?;
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
