//! `ferry receive --lan`: serve, announce, take one transfer; with
//! `--from`, fetch what a device shares instead (lan/fetch.rs).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Result;
use serde_json::json;

use super::fetch::{self, Fetch};
use super::{refuse_wormhole_options, until_cancelled, Lan};
use crate::args::{Common, LanArgs, ReceiveArgs};
use crate::checks::Invalid;
use crate::json::Events;
use crate::kept::KeptNotice;
use crate::term::Terminal;
use ferry::lan::{ReceiveOptions, Receiving};
use ferry::{Cancel, Received};
use ferry_proto::transfer::path::escape_for_terminal;

pub async fn run(args: ReceiveArgs, before: Common, cancel: &Cancel) -> Result<()> {
    let code_options = [
        ("a code", !args.code.is_empty()),
        ("--code-file", args.code_file.is_some()),
    ];
    refuse_wormhole_options(&before, &args.common, &code_options)?;
    let resolved = crate::settings::resolve(before, args.common)?;
    let common = resolved.common;
    if common.json && !args.yes {
        return Err(Invalid("--json needs --yes: there is no prompt in JSON mode".into()).into());
    }
    let output_dir = args.output_dir.or(resolved.output_dir);
    let output_dir = output_dir.unwrap_or_else(|| PathBuf::from("."));
    let lan = Lan::new(&args.lan, common.listen)?;
    let mut term =
        Terminal::new(common.hide_progress || common.quiet, args.yes, false).with_cancel(cancel);
    term.quiet = common.quiet;
    let mut ui = Events::new(term, common.json);
    let mut kept = KeptNotice::new(&output_dir);
    let received = match args.from.as_deref() {
        Some(from) => {
            let fetch = Fetch {
                from,
                pin: args.lan.pin.clone(),
                http: args.lan.http,
                output_dir,
            };
            fetch::run(fetch, &lan, &mut ui, cancel).await?
        }
        None => {
            let options = options(&args.lan, &lan, output_dir);
            serve(options, &lan, common.quiet, &mut ui, cancel).await?
        }
    };
    kept.disarm();
    ui.term.finish_progress();
    if common.json {
        ui.received(&received);
        if let Received::Text(_) = received {
            return Ok(()); // in the `done` event, not on stdout
        }
    }
    crate::receive::report(received, args.raw, common.quiet)
}

fn options(args: &LanArgs, lan: &Lan, output_dir: PathBuf) -> ReceiveOptions {
    let mut options = ReceiveOptions::new(output_dir, lan.alias.clone());
    options.addr = SocketAddr::new(lan.ip, lan.port);
    options.pin = args.pin.clone();
    options.discovery = Some(lan.discovery.clone());
    options.http = args.http;
    options
}

/// Serves, announced, until one sender's transfer ends.
async fn serve(
    options: ReceiveOptions,
    lan: &Lan,
    quiet: bool,
    ui: &mut Events,
    cancel: &Cancel,
) -> Result<Received> {
    let pin = options.pin.is_some();
    let receiving = until_cancelled(cancel, Receiving::start(options, &lan.identity)).await?;
    waiting(lan, &receiving, pin, quiet, ui);
    until_cancelled(cancel, receiving.run(ui)).await
}

/// Tells the user how senders will see us.
fn waiting(lan: &Lan, receiving: &Receiving, pin: bool, quiet: bool, ui: &mut Events) {
    let addr = receiving.local_addr();
    let fingerprint = lan.identity.fingerprint().as_str();
    ui.emit(json!({
        "event": "waiting",
        "alias": lan.alias,
        "port": addr.port(),
        "fingerprint": fingerprint,
    }));
    if quiet {
        return;
    }
    let pin = if pin { ", PIN required" } else { "" };
    eprintln!(
        "Waiting for a sender on the LAN as \"{}\" (port {}, fingerprint {}…{pin}).",
        escape_for_terminal(&lan.alias),
        addr.port(),
        &fingerprint[..16],
    );
}
