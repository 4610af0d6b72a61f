//! `ferry receive`: the code, the transfer, and what arrived.

use std::io::Write;

use std::path::Path;

use anyhow::{Context, Result};
use ferry_proto::code::Code;
use serde_json::json;

use crate::args::ReceiveArgs;
use crate::checks::Invalid;
use crate::json::Events;
use crate::kept::KeptNotice;
use crate::term::{human, Terminal};
use crate::{code_source, prompt, settings};
use ferry::{Cancel, ReceiveOptions, Received, SessionStore, StoredSession};
use ferry_proto::transfer::path::escape_for_terminal;

pub async fn run(args: ReceiveArgs, cancel: &Cancel) -> Result<()> {
    let common = &args.common;
    if common.json && !args.yes {
        // A JSON reader cannot answer the prompt on the terminal.
        return Err(Invalid("--json needs --yes: there is no prompt in JSON mode".into()).into());
    }
    let words = (!args.code.is_empty()).then(|| args.code.join(" "));
    let trust = settings::trust(common)?;
    let output_dir = args.output_dir.clone().unwrap_or_else(|| ".".into());
    let sessions = SessionStore::default_dir();
    let mailbox = settings::mailbox(common, &trust);
    let (code, stored) = choose(
        &args,
        words.as_deref(),
        sessions.as_ref(),
        &output_dir,
        &mailbox,
    )?;
    let options = ReceiveOptions {
        mailbox,
        transit: settings::transit(common, &trust)?,
        code,
        output_dir,
        v1: common.v1,
        sessions,
    };
    let mut term =
        Terminal::new(common.hide_progress || common.quiet, args.yes, false).with_cancel(cancel);
    term.quiet = common.quiet;
    let mut ui = Events::new(term, common.json);
    let mut kept = KeptNotice::new(&options.output_dir);
    let received = match stored {
        Some(stored) => {
            resuming(&mut ui, &stored, common.quiet);
            ferry::receive_stored(&options, stored, &mut ui, cancel).await
        }
        None => ferry::receive_until(&options, &mut ui, cancel).await,
    };
    let received = received.inspect_err(|e| paused(&mut ui, e, common.quiet))?;
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

/// The code, and the stored session to continue: `--resume`'s (its code is
/// optional), or one the same code left in the same directory.
fn choose(
    args: &ReceiveArgs,
    words: Option<&str>,
    store: Option<&SessionStore>,
    dir: &Path,
    mailbox: &ferry::MailboxConfig,
) -> Result<(Code, Option<StoredSession>)> {
    if args.resume {
        let code = words.map(code_source::parse).transpose()?;
        let store = store.ok_or_else(|| ferry::LocalError::NothingToResume(dir.to_owned()))?;
        let stored = resumable(store, dir, code.as_ref())?;
        return Ok((code.unwrap_or_else(placeholder_code), Some(stored)));
    }
    let typed = match code_source::given(words, args.code_file.as_deref())? {
        Some(c) => c,
        None => prompt::ask_code(mailbox)?,
    };
    let code = code_source::parse(&typed)?;
    let stored = store.and_then(|s| same_code(s, dir, &code));
    Ok((code, stored))
}

/// The one stored session `--resume` continues in `dir` (with `code`, that
/// code's); none or several is an error that says so.
fn resumable(store: &SessionStore, dir: &Path, code: Option<&Code>) -> Result<StoredSession> {
    let nothing = || ferry::LocalError::NothingToResume(dir.to_owned());
    let canonical = std::fs::canonicalize(dir).map_err(|_| nothing())?;
    let mut found = store.for_dir(&canonical)?;
    if let Some(code) = code {
        found.retain(|s| s.made_with(code));
    }
    match found.len() {
        0 => Err(nothing().into()),
        1 => Ok(found.remove(0)),
        count => Err(ferry::LocalError::SeveralToResume {
            dir: dir.to_owned(),
            count,
        }
        .into()),
    }
}

/// A live stored session of `code` into `dir`, if there is one (a damaged
/// store is no reason to refuse a plain receive: it just is not used).
fn same_code(store: &SessionStore, dir: &Path, code: &Code) -> Option<StoredSession> {
    let canonical = std::fs::canonicalize(dir).ok()?;
    let found = store.for_dir(&canonical).ok()?;
    found.into_iter().find(|s| s.made_with(code))
}

/// `--resume` without a code: the session holds the key, the code is unused.
fn placeholder_code() -> Code {
    Code::parse("0-resume").expect("a valid code")
}

fn resuming(ui: &mut Events, stored: &StoredSession, quiet: bool) {
    let dir = escape_for_terminal(&stored.output_dir().display().to_string());
    let left = stored.seconds_left();
    if !quiet {
        eprintln!("Continuing the interrupted transfer into {dir} (the sender waits up to {left} s more)…");
    }
    ui.emit(json!({"event": "resuming", "dir": stored.output_dir(), "seconds_left": left}));
}

/// After a Ctrl-C that left the session stored: how to continue.
fn paused(ui: &mut Events, e: &ferry::Error, quiet: bool) {
    let ferry::Error::Paused { secs, dir } = e else {
        return;
    };
    ui.term.finish_progress();
    let shown = escape_for_terminal(&dir.display().to_string());
    if !quiet {
        eprintln!(
            "Interrupted: run `ferry receive --resume` in {shown} within {secs} s to continue."
        );
    }
    ui.emit(json!({"event": "paused", "dir": dir, "seconds": secs}));
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
