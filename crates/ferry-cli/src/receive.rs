//! `ferry receive`: the code, the transfer, and what arrived.

use std::io::Write;

use anyhow::{Context, Result};

use crate::args::ReceiveArgs;
use crate::checks::Invalid;
use crate::json::Events;
use crate::kept::KeptNotice;
use crate::term::{human, Terminal};
use crate::{code_source, prompt, settings};
use ferry::{Cancel, ReceiveOptions, Received};
use ferry_proto::transfer::path::escape_for_terminal;

pub async fn run(args: ReceiveArgs, cancel: &Cancel) -> Result<()> {
    let common = &args.common;
    if common.json && !args.yes {
        // A JSON reader cannot answer the prompt on the terminal.
        return Err(Invalid("--json needs --yes: there is no prompt in JSON mode".into()).into());
    }
    let words = (!args.code.is_empty()).then(|| args.code.join(" "));
    let trust = settings::trust(common)?;
    let typed = match code_source::given(words.as_deref(), args.code_file.as_deref())? {
        Some(c) => c,
        None => prompt::ask_code(&settings::mailbox(common, &trust))?,
    };
    let code = code_source::parse(&typed)?;
    let options = ReceiveOptions {
        mailbox: settings::mailbox(common, &trust),
        transit: settings::transit(common, &trust)?,
        code,
        output_dir: args.output_dir.unwrap_or_else(|| ".".into()),
        v1: common.v1,
    };
    let mut term =
        Terminal::new(common.hide_progress || common.quiet, args.yes, false).with_cancel(cancel);
    term.quiet = common.quiet;
    let mut ui = Events::new(term, common.json);
    let mut kept = KeptNotice::new(&options.output_dir);
    let received = ferry::receive_until(&options, &mut ui, cancel).await?;
    kept.disarm();
    ui.term.finish_progress();
    if common.json {
        ui.received(&received);
        if let Received::Text(_) = received {
            return Ok(()); // in the `done` event, not on stdout
        }
    }
    report(received, args.raw, common.quiet)
}

pub fn report(received: Received, raw: bool, quiet: bool) -> Result<()> {
    match received {
        Received::Text(text) => print_text(&text, raw)?,
        _ if quiet => {}
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

/// Text goes to stdout escaped, whether a person reads it or a pipe (`tee`,
/// `less -R`) hands it to a terminal later; newlines and tabs stay, so a
/// multi-line message reads as written. `--raw` asks for the exact bytes.
fn print_text(text: &str, raw: bool) -> Result<()> {
    let shown = match raw {
        true => text.to_owned(),
        false => escape_for_terminal(text),
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{shown}").context("writing the message")?;
    Ok(())
}
