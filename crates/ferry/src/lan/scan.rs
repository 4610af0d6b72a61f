//! Who is on the LAN (`ferry lan devices`, and the list `send --lan` picks
//! from): a multicast scan, plus a short-lived HTTPS server for the devices
//! that answer an announcement only by `POST register` (the current app never
//! answers by multicast: docs/localsend/peers.md §0).

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use ferry_proto::localsend::receiver::{ReceiverConfig, DEFAULT_IDLE_TIMEOUT};

use super::discovery::{self, dedupe, Device, Discovered, Interfaces};
use super::identity::Identity;
use super::receive::{device_info, register};
use super::server::{self, Event, Events, Limits, Server, ServerConfig};

/// The devices that answer within `duration`, each once, sorted by alias.
pub async fn devices(
    config: &discovery::Config,
    alias: &str,
    identity: &Identity,
    duration: Duration,
) -> io::Result<Vec<Device>> {
    let us = register(alias, identity, config.port);
    let listening = listen(config, alias, identity).await;
    let heard = discovery::scan(config, &us, duration).await?;
    let heard = heard.into_iter().map(|d| Discovered {
        info: d.info,
        from: d.from,
        wants_answer: false,
    });
    let registered = match listening {
        Some((_server, mut events)) => registered(&mut events),
        None => Vec::new(),
    };
    Ok(dedupe(heard.chain(registered)))
}

/// Our server on the discovery port, for the registers our announcement
/// brings; `None` when the port is taken (say, by a `receive --lan` on this
/// machine): the scan still hears multicast answers.
async fn listen(
    config: &discovery::Config,
    alias: &str,
    identity: &Identity,
) -> Option<(Server, Events)> {
    let ip = match &config.interfaces {
        Interfaces::Only(ips) => ips.first().copied().unwrap_or(Ipv4Addr::UNSPECIFIED),
        _ => Ipv4Addr::UNSPECIFIED,
    };
    let server = ServerConfig {
        addr: SocketAddr::new(IpAddr::V4(ip), config.port),
        device: device_info(alias, identity),
        // Nothing is received while scanning: an offer is declined (its
        // `PendingOffer` is dropped unanswered).
        receiver: ReceiverConfig {
            pin: None,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        },
        limits: Limits::default(),
    };
    match server::spawn(server, identity).await {
        Ok(listening) => Some(listening),
        Err(e) => {
            tracing::debug!("scanning without a server (registers go unheard): {e}");
            None
        }
    }
}

/// The devices that registered with us so far.
fn registered(events: &mut Events) -> Vec<Discovered> {
    let mut found = Vec::new();
    while let Ok(event) = events.rx.try_recv() {
        if let Event::Registered { addr, device, .. } = event {
            let from = SocketAddr::new(addr, device.port);
            found.push(Discovered {
                info: device,
                from,
                wants_answer: false,
            });
        }
    }
    found
}

#[cfg(test)]
#[path = "scan_tests.rs"]
mod tests;
