//! Transit on real sockets: listen and publish hints, race direct and relayed
//! candidates, and carry encrypted records on the winner.

mod addrs;
mod gather;
mod portmap;
mod quic;
mod race;
mod stream;
mod tune;

use std::net::IpAddr;

use tokio::net::TcpListener;

use ferry_proto::crypto::kdf::TransitKey;
use ferry_proto::transit::hints::{DirectHint, Hint, QuicOffer, TransitMessage};
use ferry_proto::transit::Role;

use crate::error::Result;
use crate::timing::Timing;
use crate::tls::Trust;

use gather::Gathered;

pub use gather::Early;
pub(crate) use stream::{ReadHalf, WriteHalf};
pub use stream::{TransitStream, PEER_RECORD_SIZE, RECORD_SIZE};

/// The public transit relay that the other clients use by default.
pub const DEFAULT_RELAY: &str = "tcp:transit.magic-wormhole.io:4001";

/// Which local addresses to listen on for direct connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listen {
    /// Every interface, IPv6 and IPv4 on one socket where the machine has IPv6;
    /// advertise each non-loopback IPv4 address (loopback if none), then each
    /// global or unique-local IPv6 one.
    Auto,
    /// Only this address, advertised as is.
    Only(IpAddr),
    /// No listening socket (the peer must be reachable, or the relay used).
    Off,
}

/// Whether direct paths may use QUIC (UDP hole punching) with a ferry that
/// lists the `quic` feature; other peers never see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quic {
    /// Never (no UDP socket, no STUN query).
    Off,
    /// Beside direct TCP: whichever connects first.
    On,
    /// Instead of direct TCP (tests and benchmarks of the QUIC path): no TCP
    /// listener and no TCP dials when the peer takes QUIC; relays still race.
    Only,
}

/// How transit connections are made.
#[derive(Debug, Clone)]
pub struct TransitConfig {
    pub relay: Option<Relay>,
    /// The CAs a `tls:` or `wss://` relay's certificate is checked against.
    pub trust: Trust,
    pub listen: Listen,
    /// Never connect directly and send no direct hints (hides local addresses).
    pub force_relay: bool,
    /// Ask the home router to forward a port to the listener (PCP, NAT-PMP,
    /// UPnP-IGD) and advertise it; only with [`Listen::Auto`].
    pub port_mapping: bool,
    /// QUIC candidates for a native peer that takes them (not under
    /// `force_relay` or [`Listen::Off`]).
    pub quic: Quic,
    /// The transit timers are read from here (`relay_delay`, `transit_*`,
    /// and the native protocol's `linger` and `drain`).
    pub timing: Timing,
    /// The first attempt's sockets, gathered ahead ([`TransitConfig::warm_up`]);
    /// `Early::default()`: none, each attempt gathers its own.
    pub early: Early,
}

/// A transit relay: as the user names it, or as a peer offers it.
#[derive(Debug, Clone, PartialEq)]
pub enum Relay {
    /// `tcp:HOST:PORT`: the relay protocol on plain TCP (every client's).
    Tcp(DirectHint),
    /// `tls:HOST:PORT`: the same inside TLS (a relay behind a TLS proxy). Only
    /// used when given here: there is no hint for it, so both sides name it.
    Tls(DirectHint),
    /// `ws://…` or `wss://…`: the relay over WebSocket binary frames (`ferry
    /// serve`'s `/relay`), offered to the peer as a `websocket` relay hint.
    WebSocket(String),
}

impl std::fmt::Display for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Relay::Tcp(h) => write!(f, "{}:{}", h.hostname, h.port),
            Relay::Tls(h) => write!(f, "tls:{}:{}", h.hostname, h.port),
            Relay::WebSocket(url) => f.write_str(url),
        }
    }
}

/// Parses a relay address: `tcp:HOST:PORT`, `tcp://HOST:PORT` or `HOST:PORT`;
/// `tls:HOST:PORT` or `tls://HOST:PORT`; `ws://HOST[:PORT]/PATH` or
/// `wss://HOST[:PORT]/PATH`.
pub fn parse_relay(s: &str) -> Result<Relay, String> {
    if s.starts_with("ws://") || s.starts_with("wss://") {
        crate::ws::Endpoint::parse(s).map_err(|e| format!("relay {e}"))?;
        return Ok(Relay::WebSocket(s.to_owned()));
    }
    if let Some(rest) = s.strip_prefix("tls://").or_else(|| s.strip_prefix("tls:")) {
        return host_port(s, rest).map(Relay::Tls);
    }
    let rest = s
        .strip_prefix("tcp://")
        .or_else(|| s.strip_prefix("tcp:"))
        .unwrap_or(s);
    host_port(s, rest).map(Relay::Tcp)
}

/// `HOST:PORT` (IPv6 in brackets) of the relay address `s`.
fn host_port(s: &str, rest: &str) -> Result<DirectHint, String> {
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
    /// The router's port forwarded to `listener`, kept until the transfer ends.
    mapping: Option<portmap::Mapping>,
    /// Our QUIC endpoint, when QUIC candidates went into our hints.
    quic: Option<quic::Prepared>,
    /// Direct TCP dials stay off ([`Quic::Only`] with QUIC offered).
    no_tcp_direct: bool,
    message: TransitMessage,
    relays: Vec<Relay>,
    force_relay: bool,
    timing: Timing,
    trust: Trust,
}

impl TransitPrep {
    /// Opens the listening socket (unless relay-only) and builds our hints.
    pub async fn new(config: &TransitConfig) -> Result<Self> {
        Self::with_quic(config, false).await
    }

    /// As [`TransitPrep::new`], and with `peer_takes_quic` (a native peer that
    /// listed the `quic` feature) our QUIC candidates too, as `config.quic` allows.
    pub(crate) async fn with_quic(config: &TransitConfig, peer_takes_quic: bool) -> Result<Self> {
        let shape = gather::shape_of(config, peer_takes_quic);
        let no_tcp_direct = shape.quic && config.quic == Quic::Only;
        let gathered = match config.early.take(shape).await {
            Some(early) => early?,
            None => gather::gather(config, shape).await?,
        };
        let Gathered {
            listener,
            local,
            mapping,
            quic,
        } = gathered;
        let mut hints = local.map_or_else(Vec::new, |a| addrs::direct_hints(shape.tcp, a));
        let relays: Vec<Relay> = config.relay.iter().cloned().collect();
        hints.extend(mapping.iter().map(|m| {
            Hint::Direct(DirectHint {
                hostname: m.external.ip().to_string(),
                port: m.external.port(),
                priority: 0.0,
            })
        }));
        let (tcp, websocket) = advertised(&relays);
        if !tcp.is_empty() {
            hints.push(Hint::Relay(tcp));
        }
        let direct_tcp = !config.force_relay && !no_tcp_direct;
        let mut message =
            TransitMessage::build(direct_tcp, true, &hints).with_websocket_relays(&websocket);
        if let Some(q) = &quic {
            message = message.with_quic(q.offer());
        }
        Ok(TransitPrep {
            listener,
            mapping,
            quic,
            no_tcp_direct,
            message,
            relays,
            force_relay: config.force_relay,
            timing: config.timing.clone(),
            trust: config.trust.clone(),
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
        let peer_quic: Option<QuicOffer> = peer.quic();
        let punch = self.quic.map(|q| q.punch(peer_quic.as_ref()));
        // With QUIC only (and the peer taking it), no TCP dials.
        let no_tcp = self.no_tcp_direct && punch.is_some();
        for hint in peer.usable_hints() {
            match hint {
                Hint::Direct(d) if !self.force_relay && !no_tcp => direct.push(d),
                Hint::Direct(_) => {}
                Hint::Relay(r) => relays.extend(r.into_iter().map(Relay::Tcp)),
            }
        }
        relays.extend(peer_websocket_relays(peer));
        dedup(&mut relays);
        // Nobody will dial our listener if the peer cannot do direct TCP, and
        // keeping it would hold the relays back by `relay_delay` for nothing.
        let listener = self.listener.filter(|_| peer.peer_can_connect_directly());
        let plan = race::Plan {
            role,
            key,
            listener,
            direct,
            relays,
            quic: punch.clone(),
            timing: &self.timing,
            trust: &self.trust,
        };
        let won = plan.run().await;
        if let Some(punch) = &punch {
            punch.close_door();
        }
        let (stream, description) = won?;
        tracing::info!(%description, "transit connected");
        let mut stream = TransitStream::new(stream, role, key, description);
        stream.idle = Some(self.timing.transit_idle);
        Ok(stream.holding(self.mapping))
    }
}

/// Our relays as hints: TCP endpoints, and WebSocket URLs (a `tls:` relay has
/// no hint).
fn advertised(relays: &[Relay]) -> (Vec<DirectHint>, Vec<String>) {
    let mut tcp = Vec::new();
    let mut websocket = Vec::new();
    for relay in relays {
        match relay {
            Relay::Tcp(h) => tcp.push(h.clone()),
            Relay::WebSocket(url) => websocket.push(url.clone()),
            Relay::Tls(_) => {}
        }
    }
    (tcp, websocket)
}

/// The peer's WebSocket relays that we use: `wss://` only (a plain `ws://`
/// relay is the browser page's way; we have TCP for that).
fn peer_websocket_relays(peer: &TransitMessage) -> impl Iterator<Item = Relay> {
    let urls = peer.websocket_relays().into_iter();
    urls.filter(|u| u.starts_with("wss://"))
        .filter(|u| crate::ws::Endpoint::parse(u).is_ok())
        .map(Relay::WebSocket)
}

/// Drops repeated relays (the same endpoint named by both sides), keeping order.
fn dedup(relays: &mut Vec<Relay>) {
    let mut seen: Vec<String> = Vec::new();
    relays.retain(|r| {
        let key = r.to_string();
        let new = !seen.contains(&key);
        seen.push(key);
        new
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(s: &str) -> DirectHint {
        match parse_relay(s).unwrap() {
            Relay::Tcp(h) => h,
            other => panic!("{s}: not TCP but {other:?}"),
        }
    }

    #[test]
    fn relay_forms() {
        for s in [
            "tcp:relay.example:4001",
            "tcp://relay.example:4001",
            "relay.example:4001",
        ] {
            let h = tcp(s);
            assert_eq!((h.hostname.as_str(), h.port), ("relay.example", 4001));
        }
        assert_eq!(tcp("tcp:[::1]:4001").hostname, "::1");
        assert!(parse_relay("tcp:host").is_err());
        assert!(parse_relay("tcp:host:0").is_err());
        assert!(parse_relay(":4001").is_err());
    }

    #[test]
    fn tls_and_websocket_relay_forms() {
        for s in ["tls:relay.example:443", "tls://relay.example:443"] {
            let Ok(Relay::Tls(h)) = parse_relay(s) else {
                panic!("{s}")
            };
            assert_eq!((h.hostname.as_str(), h.port), ("relay.example", 443));
        }
        for s in [
            "wss://relay.example/relay",
            "ws://127.0.0.1:4002/",
            "wss://[::1]:4000/relay",
        ] {
            assert_eq!(parse_relay(s), Ok(Relay::WebSocket(s.to_owned())));
        }
        assert!(parse_relay("tls:host").is_err());
        assert!(parse_relay("wss://:4000/relay").is_err());
        assert!(parse_relay("wss://h:x/relay").is_err());
    }

    /// The QUIC offer leads with the address the relay's STUN responder saw
    /// (a stand-in on loopback here); `force_relay`, `Listen::Off`, `Quic::Off`
    /// and a peer without the feature send no UDP packet and offer nothing.
    #[tokio::test]
    async fn quic_candidates_come_from_stun_at_the_relays_address() {
        let responder = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let port = responder.local_addr().unwrap().port();
        let asked = tokio::spawn(async move {
            let mut buf = [0u8; 600];
            let (n, from) = responder.recv_from(&mut buf).await.unwrap();
            let id = ferry_proto::wire::stun::parse_binding_request(&buf[..n]).unwrap();
            let answer = ferry_proto::wire::stun::binding_success(&id, from);
            responder.send_to(&answer, from).await.unwrap();
            from
        });
        let mut config = TransitConfig {
            relay: Some(parse_relay(&format!("tcp:127.0.0.1:{port}")).unwrap()),
            trust: Trust::default(),
            listen: Listen::Auto,
            force_relay: false,
            port_mapping: false,
            quic: Quic::On,
            timing: Timing::default(),
            early: Early::default(),
        };
        let prep = TransitPrep::with_quic(&config, true).await.unwrap();
        let offer = prep.message().quic().expect("a QUIC offer");
        let from = asked.await.unwrap();
        assert_eq!(offer.candidates[0], from, "{offer:?}");
        assert!(prep.message().peer_can_connect_directly());
        for change in [
            |c: &mut TransitConfig| c.force_relay = true,
            |c: &mut TransitConfig| c.listen = Listen::Off,
            |c: &mut TransitConfig| c.quic = Quic::Off,
        ] {
            let mut off = config.clone();
            change(&mut off);
            let prep = TransitPrep::with_quic(&off, true).await.unwrap();
            assert_eq!(prep.message().quic(), None);
        }
        assert_eq!(
            TransitPrep::new(&config).await.unwrap().message().quic(),
            None
        );
        // QUIC only: no TCP listener, no direct-tcp ability.
        config.quic = Quic::Only;
        config.relay = None;
        let prep = TransitPrep::with_quic(&config, true).await.unwrap();
        assert!(prep.message().quic().is_some());
        assert!(!prep.message().peer_can_connect_directly());
    }

    #[test]
    fn our_relays_become_hints_and_the_peers_wss_relays_candidates() {
        let ours = [
            parse_relay("tcp:r:4001").unwrap(),
            parse_relay("tls:r:443").unwrap(),
            parse_relay("wss://r/relay").unwrap(),
        ];
        let (tcp, websocket) = advertised(&ours);
        assert_eq!(tcp.len(), 1);
        assert_eq!(websocket, vec!["wss://r/relay".to_owned()]);
        let urls = ["ws://p:4002/".to_owned(), "wss://p/relay".to_owned()];
        let peer = TransitMessage::build(true, true, &[]).with_websocket_relays(&urls);
        let theirs: Vec<Relay> = peer_websocket_relays(&peer).collect();
        assert_eq!(theirs, vec![Relay::WebSocket("wss://p/relay".into())]);
        let mut all = vec![ours[2].clone(), ours[0].clone(), ours[2].clone()];
        dedup(&mut all);
        assert_eq!(all, vec![ours[2].clone(), ours[0].clone()]);
    }
}
