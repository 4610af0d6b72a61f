//! UDP hole punching with QUIC between two ferry that both list the `quic`
//! feature (docs/protocol.md, "QUIC candidates").
//!
//! One UDP socket per attempt carries everything: the STUN query to the relay's
//! host and port (`ferry serve` answers there), then a QUIC endpoint that both
//! dials each of the peer's candidates and accepts. Both sides do this at once,
//! so each side's first packets open its own NAT towards the other: with
//! port-preserving NATs at least one of the two handshakes gets through. Each
//! QUIC connection opens one bidirectional stream, which joins the transit race
//! as one more direct candidate (the transit handshake runs inside it, so the
//! stream is proven to carry the transit key); behind NATs that change the port
//! per destination no packet arrives and the relay wins after `relay_delay`.

mod candidates;
mod io;
mod stun;
mod tls;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use quinn::{Endpoint, EndpointConfig, Incoming, TokioRuntime, TransportConfig, VarInt};
use tokio::net::UdpSocket;

use ferry_proto::transit::hints::QuicOffer;

use super::addrs::{canonical, reaches};
use super::Relay;
use crate::timing::Timing;

pub(super) use io::QuicIo;

/// Flow-control windows: several times the bandwidth-delay product of a long
/// fast link (1 Gbit/s × 20 ms ≈ 2.5 MB, 100 Mbit/s × 200 ms ≈ 2.5 MB).
const WINDOW: u32 = 16 << 20;
/// The one stream's window. quinn closes a connection whose stream buffer holds
/// more than 1024 separate spans ("too many gaps in stream buffer"): with BBR on a
/// lossy link, a 16 MiB window did every ~2 s. Spans are at least a packet
/// (~1.2 kB), so this bounds them at ~1700 packets in flight in the worst case,
/// and in practice (losses come in runs) well under the limit; it is still above
/// the bandwidth-delay product of the rows measured (1 Gbit/s × 10 ms ≈ 1.25 MB).
const STREAM_WINDOW: u32 = 2 << 20;
/// Socket buffers asked of the kernel (it may give less).
const SOCKET_BUFFER: usize = 8 << 20;
/// How long a relay's name may take to resolve for the STUN query.
const RESOLVE: Duration = Duration::from_millis(500);
/// The server name we connect with (the certificate is pinned, not named).
const SERVER_NAME: &str = "ferry";

/// Our endpoint and what we offer the peer, before its offer is known.
pub(super) struct Prepared {
    endpoint: Endpoint,
    offer: QuicOffer,
    transport: Arc<TransportConfig>,
}

impl Prepared {
    /// Binds the UDP socket on `bind_ip`, learns its public address from the
    /// relays' STUN responders (if `stun`), and starts the endpoint. `None`
    /// when anything fails: QUIC is an extra, TCP and the relay remain.
    pub(super) async fn gather(
        (bind_ip, interfaces): (IpAddr, Vec<IpAddr>),
        relays: &[Relay],
        stun: bool,
        timing: &Timing,
    ) -> Option<Prepared> {
        let socket = bind(bind_ip)
            .inspect_err(|e| tracing::debug!("no QUIC socket: {e}"))
            .ok()?;
        let local = socket.local_addr().ok()?;
        let port = local.port();
        let interfaces: Vec<IpAddr> = interfaces
            .into_iter()
            .filter(|ip| reaches(local, ip))
            .collect();
        let reflexive = match stun {
            true => stun::reflexive(&socket, &stun_servers(relays).await).await,
            false => None,
        };
        let identity = tls::Identity::new()
            .inspect_err(|e| tracing::debug!("no QUIC certificate: {e}"))
            .ok()?;
        let transport = Arc::new(transport(timing));
        let mut server = quinn::ServerConfig::with_crypto(identity.server.clone());
        server.transport_config(Arc::clone(&transport));
        let socket = socket.into_std().ok()?;
        let endpoint = Endpoint::new(
            EndpointConfig::default(),
            Some(server),
            socket,
            Arc::new(TokioRuntime),
        )
        .inspect_err(|e| tracing::debug!("no QUIC endpoint: {e}"))
        .ok()?;
        let offer = QuicOffer {
            cert_sha256: identity.sha256,
            candidates: candidates::ours(&interfaces, port, reflexive),
        };
        tracing::debug!(?reflexive, candidates = ?offer.candidates, "QUIC ready");
        Some(Prepared {
            endpoint,
            offer,
            transport,
        })
    }

    /// What goes in our hints.
    pub(super) fn offer(&self) -> &QuicOffer {
        &self.offer
    }

    /// The punch against the peer's offer (`None` without one: we only accept
    /// then, and the peer dials us).
    pub(super) fn punch(self, peer: Option<&QuicOffer>) -> Punch {
        let family = self.endpoint.local_addr().ok();
        let (targets, client) = match (peer, family) {
            (Some(peer), Some(family)) => {
                let client = tls::client(peer.cert_sha256)
                    .inspect_err(|e| tracing::debug!("no QUIC client: {e}"))
                    .ok()
                    .map(|c| {
                        let mut c = quinn::ClientConfig::new(c);
                        c.transport_config(Arc::clone(&self.transport));
                        c
                    });
                (candidates::theirs(&peer.candidates, family), client)
            }
            _ => (Vec::new(), None),
        };
        let targets = if client.is_some() {
            targets
        } else {
            Vec::new()
        };
        Punch {
            endpoint: self.endpoint,
            targets,
            client,
        }
    }
}

/// Both directions at once: dial each target, accept whoever comes.
#[derive(Clone)]
pub(super) struct Punch {
    endpoint: Endpoint,
    pub(super) targets: Vec<SocketAddr>,
    client: Option<quinn::ClientConfig>,
}

impl Punch {
    /// A stream to `target`: the QUIC handshake, then a stream we open.
    pub(super) async fn dial(&self, target: SocketAddr) -> std::io::Result<(QuicIo, String)> {
        let client = self.client.clone().ok_or(std::io::ErrorKind::Unsupported)?;
        let connecting = self
            .endpoint
            .connect_with(client, target, SERVER_NAME)
            .map_err(std::io::Error::other)?;
        let conn = connecting.await?;
        let stream = conn.open_bi().await?;
        let description = describe(&conn);
        Ok((
            QuicIo::new(stream, conn, self.endpoint.clone()),
            description,
        ))
    }

    /// The next connection someone makes to us (`None` once the endpoint closed).
    pub(super) async fn incoming(&self) -> Option<Incoming> {
        self.endpoint.accept().await
    }

    /// An accepted connection's first stream (the peer opens it by writing).
    pub(super) async fn answer(&self, incoming: Incoming) -> std::io::Result<(QuicIo, String)> {
        let conn = incoming.await?;
        let stream = conn.accept_bi().await?;
        let description = describe(&conn);
        Ok((
            QuicIo::new(stream, conn, self.endpoint.clone()),
            description,
        ))
    }

    /// After the race: nobody new is let in (the winner, if ours, stays).
    pub(super) fn close_door(&self) {
        self.endpoint.set_server_config(None);
    }
}

/// `direct, QUIC ADDRESS` (what `Connected (…)` shows).
fn describe(conn: &quinn::Connection) -> String {
    format!("direct, QUIC {}", canonical(conn.remote_address()))
}

/// A UDP socket on `ip`; the IPv6 wildcard takes IPv4 too, and falls back to
/// the IPv4 wildcard on a machine without IPv6.
fn bind(ip: IpAddr) -> std::io::Result<UdpSocket> {
    match ip {
        IpAddr::V6(v6) if v6.is_unspecified() => bind_one(ip).or_else(|e| {
            tracing::debug!("no IPv6 QUIC socket ({e}): IPv4 only");
            bind_one(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
        }),
        _ => bind_one(ip),
    }
}

fn bind_one(ip: IpAddr) -> std::io::Result<UdpSocket> {
    let domain = socket2::Domain::for_address(SocketAddr::new(ip, 0));
    let socket = socket2::Socket::new(domain, socket2::Type::DGRAM, None)?;
    if ip.is_ipv6() && ip.is_unspecified() {
        socket.set_only_v6(false)?;
    }
    // Best effort: the kernel caps these at its maximum.
    let _ = socket.set_recv_buffer_size(SOCKET_BUFFER);
    let _ = socket.set_send_buffer_size(SOCKET_BUFFER);
    socket.set_nonblocking(true)?;
    socket.bind(&SocketAddr::new(ip, 0).into())?;
    UdpSocket::from_std(socket.into())
}

/// The relays' IPv4 addresses, where `ferry serve` answers STUN (an IPv6
/// address needs no STUN: no NAT stands in front of it).
async fn stun_servers(relays: &[Relay]) -> Vec<SocketAddr> {
    let mut out = Vec::new();
    for relay in relays {
        let (Relay::Tcp(h) | Relay::Tls(h)) = relay else {
            continue;
        };
        let lookup = tokio::net::lookup_host((h.hostname.as_str(), h.port));
        if let Ok(Ok(addrs)) = tokio::time::timeout(RESOLVE, lookup).await {
            out.extend(addrs.filter(SocketAddr::is_ipv4));
        }
    }
    out
}

/// Idle timeout and keep-alives from `timing`; windows for long fat links;
/// BBR, as ferry asks of the kernel for its TCP sockets. quinn's default,
/// cubic, crawled on lossy links (`bench/transfer --link`, QUIC only: 2.3–2.7
/// Mbit/s on 100 Mbit/s 80 ms 0.5 % loss, 0.9 on 20 Mbit/s 200 ms 1 %); quinn's
/// BBR (marked experimental) with [`STREAM_WINDOW`] moves 72–73 % and 83 % of
/// those links, and 96 % of a clean 1 Gbit/s 10 ms one.
fn transport(timing: &Timing) -> TransportConfig {
    let mut t = TransportConfig::default();
    t.max_idle_timeout(quinn::IdleTimeout::try_from(timing.transit_idle).ok());
    // Keeps the NATs' UDP mappings (often 30 s) open while nothing else moves.
    t.keep_alive_interval(Some(timing.keepalive));
    t.stream_receive_window(VarInt::from_u32(STREAM_WINDOW));
    t.receive_window(VarInt::from_u32(WINDOW));
    t.send_window(u64::from(WINDOW));
    t.congestion_controller_factory(Arc::new(quinn::congestion::BbrConfig::default()));
    t
}

#[cfg(test)]
#[path = "lossy_tests.rs"]
mod lossy_tests;
