//! `ferry send --lan`: to an IP, a named device, or one chosen from a list;
//! with `--share`, served until Ctrl-C (lan/share.rs).

use anyhow::Result;

use super::{choose, refuse_wormhole_options, share, target, Lan};
use crate::args::{Common, SendArgs};
use crate::json::Events;
use crate::term::Terminal;
use ferry::lan::SendOptions;
use ferry::Cancel;

pub async fn run(mut args: SendArgs, before: Common, cancel: &Cancel) -> Result<()> {
    let code_options = [
        ("--code", args.code.is_some()),
        ("--code-file", args.code_file.is_some()),
        ("--qr", args.qr),
    ];
    refuse_wormhole_options(&before, &args.common, &code_options)?;
    let common = std::mem::take(&mut args.common);
    let common = crate::settings::resolve(before, common)?.common;
    let lan = Lan::new(&args.lan, common.listen)?;
    let mut term = Terminal::new(common.hide_progress || common.quiet, false, false);
    term.quiet = common.quiet;
    let mut ui = Events::new(term, common.json);
    if args.share {
        return share::run(&args, &lan, common.quiet, &mut ui, cancel).await;
    }
    let target = match args.to.as_deref() {
        Some(to) => target(to, lan.port),
        None => choose::device(&lan, cancel).await?,
    };
    let mut options = SendOptions::new(target, lan.alias.clone());
    options.pin = args.lan.pin.clone();
    options.discovery = lan.discovery.clone();
    options.cancel = cancel.clone();
    options.http = args.lan.http;
    options.native = !common.v1;
    let (payload, _spool) = crate::send::payload(&args, &mut ui)?;
    ferry::lan::send(options, payload, &lan.identity, &mut ui).await?;
    ui.term.finish_progress();
    if !common.quiet {
        eprintln!("Transfer complete.");
    }
    ui.sent();
    Ok(())
}
