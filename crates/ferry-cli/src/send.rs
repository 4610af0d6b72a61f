//! `ferry send`: what to send, from the arguments, then the transfer.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use crate::args::SendArgs;
use crate::json::Events;
use crate::term::{human, Terminal};
use crate::{code_source, settings};
use ferry::{Cancel, CodeChoice, Payload, SendOptions, Ui};
use ferry_proto::transfer::path::{escape_for_terminal, safe_file_name};

pub async fn run(args: SendArgs, cancel: &Cancel) -> Result<()> {
    let common = &args.common;
    let code = match code_source::given(args.code.as_deref(), args.code_file.as_deref())? {
        Some(c) => CodeChoice::Given(code_source::parse(&c)?),
        None => CodeChoice::Allocate {
            words: usize::from(args.code_length),
        },
    };
    let trust = settings::trust(common)?;
    let options = SendOptions {
        mailbox: settings::mailbox(common, &trust),
        transit: settings::transit(common, &trust)?,
        code,
        v1: common.v1,
    };
    let mut term = Terminal::new(common.hide_progress || common.quiet, false, true);
    term.quiet = common.quiet;
    term.announce = crate::announce::Announce::new(common, args.qr, args.web_url.clone());
    let mut ui = Events::new(term, common.json);
    let (payload, _spool) = payload(&args, &mut ui)?;
    ferry::send_until(&options, payload, &mut ui, cancel).await?;
    ui.term.finish_progress();
    if !common.quiet {
        eprintln!("Transfer complete.");
    }
    ui.sent();
    Ok(())
}

/// What to send; the temp file that holds standard input lives as long as the send.
pub fn payload(args: &SendArgs, ui: &mut dyn Ui) -> Result<(Payload, Option<tempfile::TempDir>)> {
    if let Some(text) = &args.text {
        let text = if text == "-" {
            read_stdin_text()?
        } else {
            text.clone()
        };
        return text_payload(text, ui);
    }
    match args.paths.as_slice() {
        [one] if one.as_os_str() == "-" => {
            let name = args.name.as_deref().unwrap_or("stdin");
            // Checked as a receiver will check it, before standard input is read.
            safe_file_name(name)
                .with_context(|| format!("--name {}", escape_for_terminal(name)))?;
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

/// Text that fits in one mailbox message goes as text; longer text would be
/// refused by the server, so it goes as a file (over transit), with a warning.
fn text_payload(text: String, ui: &mut dyn Ui) -> Result<(Payload, Option<tempfile::TempDir>)> {
    if ferry::text_fits_mailbox(&text) {
        return Ok((Payload::Text(text), None));
    }
    ui.warn(&format!(
        "the text is {}, over the mailbox's limit: sending it as the file {TEXT_FILE}",
        human(text.len() as u64)
    ));
    let (dir, path) = spool(TEXT_FILE, &mut text.as_bytes())?;
    Ok((Payload::Path(path), Some(dir)))
}

/// The file name long text travels under.
const TEXT_FILE: &str = "message.txt";

fn read_stdin_text() -> Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("reading the text from standard input")?;
    Ok(text)
}

/// v1 offers state the size up front, so standard input is stored first.
fn spool_stdin(name: &str) -> Result<(tempfile::TempDir, PathBuf)> {
    spool(name, &mut std::io::stdin().lock())
}

/// Stores what `from` holds as the file `name` in a fresh temporary directory.
fn spool(name: &str, from: &mut dyn Read) -> Result<(tempfile::TempDir, PathBuf)> {
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let path = dir.path().join(name);
    let mut file = std::fs::File::create(&path).context("storing what is sent")?;
    std::io::copy(from, &mut file).context("storing what is sent")?;
    Ok((dir, path))
}
