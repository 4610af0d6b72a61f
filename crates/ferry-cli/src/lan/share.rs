//! `ferry send --lan --share`: serve files over LocalSend's download API
//! until Ctrl-C, for the app, `receive --lan --from` and browsers alike.

use std::net::{IpAddr, SocketAddr};

use anyhow::Result;
use serde_json::json;

use super::{until_cancelled, Lan};
use crate::args::SendArgs;
use crate::json::Events;
use ferry::lan::{ShareOptions, Sharing};
use ferry::Cancel;
use ferry_proto::transfer::path::escape_for_terminal;

pub async fn run(
    args: &SendArgs,
    lan: &Lan,
    quiet: bool,
    ui: &mut Events,
    cancel: &Cancel,
) -> Result<()> {
    let mut options = ShareOptions::new(lan.alias.clone());
    options.addr = SocketAddr::new(lan.ip, lan.port);
    options.pin = args.lan.pin.clone();
    options.discovery = Some(lan.discovery.clone());
    options.http = args.lan.http;
    options.cancel = cancel.clone();
    let (payload, _spool) = crate::send::payload(args, ui)?;
    let start = Sharing::start(options, payload, &lan.identity, ui);
    let sharing = until_cancelled(cancel, start).await?;
    let urls = urls(lan, sharing.local_addr(), args.lan.http);
    serving(lan, &urls, args.lan.pin.is_some(), quiet, ui);
    // Ends when the user stops it (the exit code says interrupted).
    sharing.run(ui).await?;
    Ok(())
}

/// Where a browser finds the page: the address we bound, or each of the
/// LAN interfaces' when we bound them all.
fn urls(lan: &Lan, addr: SocketAddr, http: bool) -> Vec<String> {
    let scheme = if http { "http" } else { "https" };
    let ips: Vec<IpAddr> = match addr.ip().is_unspecified() {
        false => vec![addr.ip()],
        true => lan
            .discovery
            .interfaces
            .resolve()
            .into_iter()
            .map(IpAddr::V4)
            .collect(),
    };
    ips.into_iter()
        .map(|ip| format!("{scheme}://{}/", SocketAddr::new(ip, addr.port())))
        .collect()
}

/// Tells the user how devices and browsers reach the share.
fn serving(lan: &Lan, urls: &[String], pin: bool, quiet: bool, ui: &mut Events) {
    let fingerprint = lan.identity.fingerprint().as_str();
    ui.emit(json!({
        "event": "sharing",
        "alias": lan.alias,
        "urls": urls,
        "fingerprint": fingerprint,
    }));
    if quiet {
        return;
    }
    let pin = if pin { ", PIN required" } else { "" };
    eprintln!(
        "Sharing on the LAN as \"{}\" (fingerprint {}…{pin}).",
        escape_for_terminal(&lan.alias),
        &fingerprint[..16],
    );
    match urls {
        [] => eprintln!("No LAN interface has an IPv4 address: only this machine can fetch."),
        _ => eprintln!("In a browser: {}", urls.join("  ")),
    }
    eprintln!("Devices find it in LocalSend (or `ferry receive --lan --from`). Ctrl-C stops.");
}
