//! Transit on real sockets: listen and publish hints, race direct and relayed
//! candidates, and carry encrypted records on the winner.

mod race;
mod stream;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use tokio::net::TcpListener;

use ferry_proto::crypto::kdf::TransitKey;
use ferry_proto::transit::hints::{DirectHint, Hint, TransitMessage};
use ferry_proto::transit::Role;

use crate::error::{Error, Result};
use crate::timing::Timing;

pub use stream::{TransitStream, PEER_RECORD_SIZE, RECORD_SIZE};

/// The public transit relay that the other clients use by default.
pub const DEFAULT_RELAY: &str = "tcp:transit.magic-wormhole.io:4001";

/// Which local addresses to listen on for direct connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listen {
    /// Every interface; advertise each non-loopback IPv4 address (loopback if none).
    Auto,
    /// Only this address, advertised as is.
    Only(IpAddr),
    /// No listening socket (the peer must be reachable, or the relay used).
    Off,
}

/// How transit connections are made.
#[derive(Debug, Clone)]
pub struct TransitConfig {
    pub relay: Option<DirectHint>,
    pub listen: Listen,
    /// Never connect directly and send no direct hints (hides local addresses).
    pub force_relay: bool,
    /// The transit timers are read from here (`relay_delay`, `transit_*`,
    /// and the native protocol's `linger` and `drain`).
    pub timing: Timing,
}

/// Parses a relay address: `tcp:HOST:PORT`, `tcp://HOST:PORT` or `HOST:PORT`.
pub fn parse_relay(s: &str) -> Result<DirectHint, String> {
    let rest = s
        .strip_prefix("tcp://")
        .or_else(|| s.strip_prefix("tcp:"))
        .unwrap_or(s);
    let (host, port) = rest
        .rsplit_once(':')
        .ok_or_else(|| format!("relay {s:?} has no port"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("relay {s:?} has a bad port"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || port == 0 {
        return Err(format!("relay {s:?} needs a host and a port"));
    }
    Ok(DirectHint {
        hostname: host.to_owned(),
        port,
        priority: 0.0,
    })
}

/// Our side of transit before the peer's hints are known.
pub struct TransitPrep {
    listener: Option<TcpListener>,
    message: TransitMessage,
    relays: Vec<DirectHint>,
    force_relay: bool,
    timing: Timing,
}

impl TransitPrep {
    /// Opens the listening socket (unless relay-only) and builds our hints.
    pub async fn new(config: &TransitConfig) -> Result<Self> {
        let listen = if config.force_relay {
            Listen::Off
        } else {
            config.listen
        };
        let listener = bind(listen).await?;
        let mut hints = match &listener {
            Some(l) => direct_hints(listen, l.local_addr().map_err(|e| Error::io("listen", e))?),
            None => Vec::new(),
        };
        let relays: Vec<DirectHint> = config.relay.iter().cloned().collect();
        if !relays.is_empty() {
            hints.push(Hint::Relay(relays.clone()));
        }
        let message = TransitMessage::build(!config.force_relay, true, &hints);
        Ok(TransitPrep {
            listener,
            message,
            relays,
            force_relay: config.force_relay,
            timing: config.timing.clone(),
        })
    }

    /// The `transit` message to send to the peer.
    pub fn message(&self) -> &TransitMessage {
        &self.message
    }

    /// The timers this transit runs with (from its [`TransitConfig`]).
    pub fn timing(&self) -> &Timing {
        &self.timing
    }

    /// Races every candidate and returns the connection the sender picked.
    pub async fn connect(
        self,
        role: Role,
        key: &TransitKey,
        peer: &TransitMessage,
    ) -> Result<TransitStream> {
        let mut relays = self.relays;
        let mut direct = Vec::new();
        for hint in peer.usable_hints() {
            match hint {
                Hint::Direct(d) if !self.force_relay => direct.push(d),
                Hint::Direct(_) => {}
                Hint::Relay(r) => relays.extend(r),
            }
        }
        relays.dedup_by(|a, b| a.hostname == b.hostname && a.port == b.port);
        // Nobody will dial our listener if the peer cannot do direct TCP, and
        // keeping it would hold the relays back by `relay_delay` for nothing.
        let listener = self.listener.filter(|_| peer.peer_can_connect_directly());
        let plan = race::Plan {
            role,
            key,
            listener,
            direct,
            relays,
            timing: &self.timing,
        };
        let (stream, description) = plan.run().await?;
        tracing::info!(%description, "transit connected");
        Ok(TransitStream::new(stream, role, key, description))
    }
}

async fn bind(listen: Listen) -> Result<Option<TcpListener>> {
    let ip = match listen {
        Listen::Off => return Ok(None),
        Listen::Auto => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        Listen::Only(ip) => ip,
    };
    let listener = TcpListener::bind(SocketAddr::new(ip, 0))
        .await
        .map_err(|e| Error::io(format!("cannot listen on {ip}"), e))?;
    Ok(Some(listener))
}

fn direct_hints(listen: Listen, local: SocketAddr) -> Vec<Hint> {
    let ips = match listen {
        Listen::Only(ip) => vec![ip],
        _ => advertised_ips(),
    };
    ips.into_iter()
        .map(|ip| {
            Hint::Direct(DirectHint {
                hostname: ip.to_string(),
                port: local.port(),
                priority: 0.0,
            })
        })
        .collect()
}

/// Non-loopback IPv4 addresses, or loopback when the machine has nothing else.
fn advertised_ips() -> Vec<IpAddr> {
    let all: Vec<IpAddr> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .map(|i| i.ip())
        .filter(IpAddr::is_ipv4)
        .collect();
    let outside: Vec<IpAddr> = all.iter().copied().filter(|ip| !ip.is_loopback()).collect();
    if outside.is_empty() {
        vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]
    } else {
        outside
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_forms() {
        for s in [
            "tcp:relay.example:4001",
            "tcp://relay.example:4001",
            "relay.example:4001",
        ] {
            let h = parse_relay(s).unwrap();
            assert_eq!((h.hostname.as_str(), h.port), ("relay.example", 4001));
        }
        assert_eq!(parse_relay("tcp:[::1]:4001").unwrap().hostname, "::1");
        assert!(parse_relay("tcp:host").is_err());
        assert!(parse_relay("tcp:host:0").is_err());
        assert!(parse_relay(":4001").is_err());
    }
}
