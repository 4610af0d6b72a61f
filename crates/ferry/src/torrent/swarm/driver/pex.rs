//! Peer exchange (BEP 11): addresses heard from peers go to the book as a tracker's
//! do; each peer that announced `ut_pex` hears which peers we are connected to, at
//! most once per `timing.pex`, and only what changed since it last heard.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use tokio::time::Instant;

use super::Driver;
use crate::torrent::peer::PeerCommand;
use crate::torrent::swarm::Report;

impl<R: FnMut(Report) + Send> Driver<R> {
    /// A peer named these (a private torrent's connections never pass them on).
    pub(super) fn on_pex(&mut self, added: Vec<SocketAddr>) {
        let now = std::time::Instant::now();
        for addr in added.into_iter().filter(dialable) {
            self.book.add(addr, false, now);
        }
    }

    /// Tells every peer that is due what changed in our connections.
    pub(super) fn exchange_peers(&mut self) {
        let now = Instant::now();
        let every = self.options.timing.pex;
        let listening: BTreeSet<SocketAddr> =
            self.conns.values().filter_map(|c| c.listen).collect();
        for c in self.conns.values_mut() {
            if c.pex_due.is_none_or(|due| due > now) {
                continue;
            }
            let mut others = listening.clone();
            if let Some(own) = c.listen {
                others.remove(&own);
            }
            let before = c.pex.clone();
            let Some(message) = c.pex.update(&others) else {
                continue;
            };
            match c.send(PeerCommand::Pex(message)) {
                true => c.pex_due = Some(now + every),
                false => c.pex = before, // its queue is full: next tick
            }
        }
    }
}

/// An address worth dialling: a port, and neither unspecified nor multicast.
fn dialable(addr: &SocketAddr) -> bool {
    let ip = addr.ip();
    addr.port() != 0 && !ip.is_unspecified() && !ip.is_multicast()
}
