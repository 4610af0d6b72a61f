//! `send --lan` without `--to`: a scan, a numbered list, the user's choice.
//! Never a prompt without a terminal: a script must say `--to`.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::Result;

use super::devices::{describe, scan};
use super::{until_cancelled, Lan};
use crate::checks::Invalid;
use crate::outcome::Interrupted;
use crate::prompt::answer_later;
use ferry::lan::client::Remote;
use ferry::lan::discovery::Device;
use ferry::lan::Target;
use ferry::{Cancel, NetworkError};

/// How long the scan before the list listens.
const SCAN_TIME: Duration = Duration::from_secs(3);

pub async fn device(lan: &Lan, cancel: &Cancel) -> Result<Target> {
    let at_terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if at_terminal {
        eprintln!("Looking for devices on the LAN…");
    }
    let found = until_cancelled(cancel, scan(lan, SCAN_TIME)).await?;
    if found.is_empty() {
        let why = format!(
            "no device answered on the LAN within {} s",
            SCAN_TIME.as_secs()
        );
        return Err(ferry::Error::from(NetworkError::NoConnection(why)).into());
    }
    if !at_terminal {
        return Err(Invalid(format!(
            "no --to given, and no terminal to choose on; these answered:\n{}",
            numbered(&found)
        ))
        .into());
    }
    eprintln!("{}", numbered(&found));
    let index = ask(found.len(), cancel).await?;
    Ok(Target::Remote(Remote::from(&found[index])))
}

fn numbered(found: &[Device]) -> String {
    let rows = found.iter().enumerate();
    let rows = rows.map(|(i, d)| format!("  {:>2}  {}", i + 1, describe(d)));
    rows.collect::<Vec<_>>().join("\n")
}

/// The number typed (1-based in, 0-based out); an empty line or EOF is a no.
async fn ask(count: usize, cancel: &Cancel) -> Result<usize> {
    loop {
        eprint!("Send to which device? [1-{count}, Enter to stop] ");
        let line = answer_later(cancel).await;
        if cancel.is_cancelled() {
            return Err(Interrupted.into());
        }
        let line = line.unwrap_or_default();
        let line = line.trim();
        if line.is_empty() {
            return Err(ferry::Error::Declined.into());
        }
        match line.parse::<usize>() {
            Ok(n) if (1..=count).contains(&n) => return Ok(n - 1),
            _ => eprintln!("Type a number from 1 to {count}."),
        }
    }
}
