//! `ferry send`: what to send, from the arguments, then the transfer.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use crate::args::SendArgs;
use crate::term::Terminal;
use crate::{code_source, settings};
use ferry::{Cancel, CodeChoice, Payload, SendOptions};

pub async fn run(args: SendArgs, cancel: &Cancel) -> Result<()> {
    let common = &args.common;
    let code = match code_source::given(args.code.as_deref(), args.code_file.as_deref())? {
        Some(c) => CodeChoice::Given(code_source::parse(&c)?),
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
    ferry::send_until(&options, payload, &mut ui, cancel).await?;
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
