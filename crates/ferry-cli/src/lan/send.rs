//! `ferry send --lan`: to an IP, a named device, or one chosen from a list.

use std::net::{IpAddr, SocketAddr};

use anyhow::Result;

use super::{choose, refuse_wormhole_options, Lan};
use crate::args::{Common, SendArgs};
use crate::json::Events;
use crate::term::Terminal;
use ferry::lan::{SendOptions, Target};
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
    let target = match args.to.as_deref() {
        Some(to) => target(to, lan.port),
        None => choose::device(&lan, cancel).await?,
    };
    let mut options = SendOptions::new(target, lan.alias.clone());
    options.pin = args.lan.pin.clone();
    options.discovery = lan.discovery.clone();
    options.cancel = cancel.clone();
    let (payload, _spool) = crate::send::payload(&args, &mut ui)?;
    ferry::lan::send(options, payload, &lan.identity, &mut ui).await?;
    ui.term.finish_progress();
    if !common.quiet {
        eprintln!("Transfer complete.");
    }
    ui.sent();
    Ok(())
}

/// `--to`: an address needs no discovery; anything else is a device's alias
/// or the start of its fingerprint.
fn target(to: &str, port: u16) -> Target {
    if let Ok(ip) = to.parse::<IpAddr>() {
        return Target::Addr(SocketAddr::new(ip, port));
    }
    match to.parse::<SocketAddr>() {
        Ok(addr) => Target::Addr(addr),
        Err(_) => Target::Device(to.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_takes_an_ip_an_address_or_a_name() {
        let addr = |s: &str| Target::Addr(s.parse().unwrap());
        assert_eq!(target("10.0.0.2", 53317), addr("10.0.0.2:53317"));
        assert_eq!(target("10.0.0.2:9000", 53317), addr("10.0.0.2:9000"));
        assert_eq!(target("::1", 7), addr("[::1]:7"));
        assert_eq!(target("[::1]:8", 7), addr("[::1]:8"));
        assert_eq!(target("Kitchen TV", 1), Target::Device("Kitchen TV".into()));
        assert_eq!(target("3FA2", 1), Target::Device("3FA2".into()));
    }
}
