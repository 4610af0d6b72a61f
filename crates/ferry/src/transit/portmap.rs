//! Port mapping on the home router: asks the default gateway to forward a TCP port
//! to our transit listener, so a peer outside can dial us; the mapped address goes
//! out as one more direct hint (any wormhole client can use it).
//!
//! PCP, NAT-PMP and UPnP-IGD are tried at once, but only one of them creates a
//! mapping: each finds the gateway on its own, then takes the [`Claim`] to ask for
//! the port; the first that gets it ends the others. (Two protocols mapping the same
//! port share one rule on the router, so deleting the loser's would delete the
//! winner's.) The whole
//! attempt is bounded by [`BUDGET`]: a router that answers none of them costs a
//! transfer that much, once. The messages are `ferry_proto::portmap`'s; this file
//! owns the sockets and the clock. The mapping is deleted (best effort, bounded)
//! when the [`Mapping`] drops: with the transit connection, or with the
//! preparation when no connection came of it.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

use ferry_proto::portmap::igd::{self, Url};
use ferry_proto::portmap::{natpmp, pcp, ssdp, MapError, MAX_HTTP};
use rand::RngCore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::task::JoinSet;
use tokio::time::timeout;

/// The longest a transfer waits for a mapping (all protocols together).
pub(super) const BUDGET: Duration = Duration::from_millis(1500);
/// How long we ask for; the mapping is deleted when the transfer ends, so this only
/// bounds how long a crashed ferry leaves it behind.
const LEASE: u32 = 3600;
/// The first UDP retransmission (RFC 6886 §3.1 and RFC 6887 §8.1.1), doubling.
const FIRST_RETRY: Duration = Duration::from_millis(250);
/// The longest one protocol holds the [`Claim`] while it creates its mapping.
const CREATE_STEP: Duration = Duration::from_millis(600);
/// Sends of one request: 250 + 500 + 1000 ms of waiting outlast [`BUDGET`].
const SENDS: usize = 3;
/// Each step of deleting a mapping when the transfer ends.
const UNDO_STEP: Duration = Duration::from_millis(500);

/// A port forwarded to our listener; deleted on drop.
#[derive(Debug)]
pub(crate) struct Mapping {
    pub(super) external: SocketAddrV4,
    protocol: &'static str,
    undo: Undo,
}

#[derive(Debug)]
enum Undo {
    Pcp(Ipv4Addr, pcp::MapRequest),
    NatPmp(Ipv4Addr, u16),
    Upnp(Url, &'static str, u16),
}

/// Maps `port` on the default gateway, or `None` (no gateway, no answer in time,
/// refused).
pub(super) async fn map(port: u16) -> Option<Mapping> {
    let routes = std::fs::read_to_string("/proc/net/route").ok()?;
    let gateway = default_gateway(&routes)?;
    let local = local_ip_towards(gateway).await?;
    let claim = Arc::new(Claim::default());
    let mut attempts = JoinSet::new();
    attempts.spawn(by_pcp(gateway, local, port, Arc::clone(&claim)));
    attempts.spawn(by_natpmp(gateway, port, Arc::clone(&claim)));
    attempts.spawn(by_upnp(gateway, local, port, claim));
    let first = async {
        while let Some(done) = attempts.join_next().await {
            if let Ok(Some(mapping)) = done {
                return Some(mapping);
            }
        }
        None
    };
    // A gateway without an external address of its own has nothing to offer (a
    // private or reserved one is still a usable address: labs, carrier-grade NAT).
    let mapping = timeout(BUDGET, first).await.ok().flatten();
    let mapping = mapping.filter(|m| !m.external.ip().is_unspecified() && m.external.port() != 0);
    match &mapping {
        Some(m) => tracing::info!(protocol = m.protocol, external = %m.external, "port mapped"),
        None => tracing::debug!(%gateway, "no port mapping"),
    }
    mapping
}

/// The right to create the one mapping: `true` once a protocol has.
#[derive(Default)]
struct Claim(tokio::sync::Mutex<bool>);

impl Claim {
    /// Runs `create` unless a mapping exists already, one protocol at a time, for at
    /// most [`CREATE_STEP`].
    async fn create<T>(&self, create: impl std::future::Future<Output = Option<T>>) -> Option<T> {
        let mut done = self.0.lock().await;
        if *done {
            return None;
        }
        let got = timeout(CREATE_STEP, create).await.ok().flatten();
        *done = got.is_some();
        got
    }
}

/// The IPv4 default route's gateway in `/proc/net/route`'s text.
fn default_gateway(routes: &str) -> Option<Ipv4Addr> {
    const RTF_UP_GATEWAY: u32 = 0x3;
    routes.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let flags = u32::from_str_radix(f.get(3)?, 16).ok()?;
        if *f.get(1)? != "00000000" || flags & RTF_UP_GATEWAY != RTF_UP_GATEWAY {
            return None;
        }
        // The kernel prints the address's in-memory bytes as one native integer.
        let raw = u32::from_str_radix(f.get(2)?, 16).ok()?;
        Some(Ipv4Addr::from(raw.to_ne_bytes())).filter(|ip| !ip.is_unspecified())
    })
}

/// Our address on the gateway's network (the internal client of the mapping).
async fn local_ip_towards(gateway: Ipv4Addr) -> Option<Ipv4Addr> {
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).await.ok()?;
    socket.connect((gateway, natpmp::PORT)).await.ok()?;
    match socket.local_addr().ok()? {
        SocketAddr::V4(a) => Some(*a.ip()),
        SocketAddr::V6(_) => None,
    }
}

async fn by_pcp(
    gateway: Ipv4Addr,
    client: Ipv4Addr,
    port: u16,
    claim: Arc<Claim>,
) -> Option<Mapping> {
    let mut nonce = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut nonce);
    let request = pcp::MapRequest {
        client,
        internal_port: port,
        external_port: port,
        lifetime: LEASE,
        nonce,
    };
    let socket = udp_to(gateway).await?;
    let bytes = request.encode();
    let map = exchange(&socket, &bytes, |b| request.parse_answer(b));
    let got = claim.create(map).await?;
    Some(Mapping {
        external: SocketAddrV4::new(got.external, got.external_port),
        protocol: "PCP",
        undo: Undo::Pcp(gateway, request),
    })
}

async fn by_natpmp(gateway: Ipv4Addr, port: u16, claim: Arc<Claim>) -> Option<Mapping> {
    let socket = udp_to(gateway).await?;
    let external = exchange(&socket, &natpmp::address_request(), natpmp::parse_address).await?;
    let request = natpmp::map_request(port, port, LEASE);
    let map = exchange(&socket, &request, |b| natpmp::parse_map(b, port));
    let got = claim.create(map).await?;
    Some(Mapping {
        external: SocketAddrV4::new(external, got.external_port),
        protocol: "NAT-PMP",
        undo: Undo::NatPmp(gateway, port),
    })
}

async fn udp_to(gateway: Ipv4Addr) -> Option<UdpSocket> {
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).await.ok()?;
    socket.connect((gateway, natpmp::PORT)).await.ok()?;
    Some(socket)
}

/// Sends `request` until an answer `parse` takes (retransmitting at 250 ms, 500 ms,
/// ...); a refusal or an ICMP error ends it. Answers that do not parse are ignored.
async fn exchange<T>(
    socket: &UdpSocket,
    request: &[u8],
    parse: impl Fn(&[u8]) -> Result<T, MapError>,
) -> Option<T> {
    let mut wait = FIRST_RETRY;
    let mut buf = [0u8; 1100];
    for _ in 0..SENDS {
        socket.send(request).await.ok()?;
        let answer = timeout(wait, async {
            loop {
                let n = socket.recv(&mut buf).await.map_err(|_| ())?;
                match parse(&buf[..n]) {
                    Ok(t) => return Ok(t),
                    Err(MapError::Refused(code)) => {
                        tracing::debug!(code, "port mapping refused");
                        return Err(());
                    }
                    Err(_) => continue,
                }
            }
        });
        match answer.await {
            Ok(Ok(t)) => return Some(t),
            Ok(Err(())) => return None,
            Err(_) => wait *= 2,
        }
    }
    None
}

async fn by_upnp(
    gateway: Ipv4Addr,
    client: Ipv4Addr,
    port: u16,
    claim: Arc<Claim>,
) -> Option<Mapping> {
    let description = discover(gateway).await?;
    let (status, body) = http(&description, igd::get(&description)).await?;
    let body = String::from_utf8(body).ok().filter(|_| status == 200)?;
    let (service, control) = igd::control_url(&body).ok()?;
    let control = description
        .join(&control)
        .ok()
        .filter(|u| u.host == gateway)?;
    let (status, body) = http(&control, igd::get_external_ip(&control, service)).await?;
    let body = String::from_utf8(body).ok().filter(|_| status == 200)?;
    let external = igd::parse_external_ip(&body).ok()?;
    let add = add_port_mapping(&control, service, client, port);
    claim.create(add).await?;
    Some(Mapping {
        external: SocketAddrV4::new(external, port),
        protocol: "UPnP",
        undo: Undo::Upnp(control, service, port),
    })
}

/// `AddPortMapping` for [`LEASE`], or for good when the gateway takes only that.
async fn add_port_mapping(control: &Url, service: &str, client: Ipv4Addr, port: u16) -> Option<()> {
    for lease in [LEASE, 0] {
        let add = igd::add_port_mapping(control, service, client, port, lease);
        let (status, body) = http(control, add).await?;
        if status == 200 {
            return Some(());
        }
        let code = igd::fault_code(status, &String::from_utf8_lossy(&body));
        tracing::debug!(code, "UPnP AddPortMapping refused");
        if code != igd::ONLY_PERMANENT_LEASES {
            return None;
        }
    }
    None
}

/// The gateway's device description URL, from an SSDP search on the LAN. Only the
/// gateway's own answer, pointing at itself, is taken.
async fn discover(gateway: Ipv4Addr) -> Option<Url> {
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).await.ok()?;
    socket.set_multicast_ttl_v4(2).ok()?;
    let mut buf = vec![0u8; 2048];
    let mut wait = FIRST_RETRY * 2;
    for _ in 0..SENDS {
        for target in ssdp::TARGETS {
            socket
                .send_to(&ssdp::search(target, 1), ssdp::MULTICAST)
                .await
                .ok()?;
        }
        let answer = timeout(wait, async {
            loop {
                let (n, from) = socket.recv_from(&mut buf).await.ok()?;
                let url = ssdp::parse_answer(&buf[..n]).ok();
                if let Some(url) = url.filter(|u| from.ip() == gateway && u.host == gateway) {
                    return Some(url);
                }
            }
        });
        match answer.await {
            Ok(found) => return found,
            Err(_) => wait *= 2,
        }
    }
    None
}

/// One HTTP exchange with the gateway (it closes after answering): status and body.
async fn http(url: &Url, request: Vec<u8>) -> Option<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect((url.host, url.port)).await.ok()?;
    stream.write_all(&request).await.ok()?;
    let mut answer = Vec::new();
    let mut limited = (&mut stream).take(MAX_HTTP as u64 + 1);
    limited.read_to_end(&mut answer).await.ok()?;
    igd::parse_response(&answer).ok()
}

impl Drop for Mapping {
    /// Deletes the mapping: one UDP datagram, or one short HTTP exchange, each
    /// bounded by [`UNDO_STEP`]; failures are only logged.
    fn drop(&mut self) {
        let done = match &self.undo {
            Undo::Pcp(gateway, request) => {
                let delete = pcp::MapRequest {
                    lifetime: 0,
                    ..*request
                };
                send_udp(*gateway, &delete.encode())
            }
            Undo::NatPmp(gateway, port) => send_udp(*gateway, &natpmp::map_request(*port, 0, 0)),
            Undo::Upnp(control, service, port) => {
                http_blocking(control, &igd::delete_port_mapping(control, service, *port))
            }
        };
        match done {
            Ok(()) => tracing::debug!(protocol = self.protocol, "port mapping deleted"),
            Err(e) => tracing::debug!(protocol = self.protocol, "port mapping not deleted: {e}"),
        }
    }
}

fn send_udp(gateway: Ipv4Addr, datagram: &[u8]) -> std::io::Result<()> {
    let socket = std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
    socket.send_to(datagram, (gateway, natpmp::PORT))?;
    Ok(())
}

fn http_blocking(url: &Url, request: &[u8]) -> std::io::Result<()> {
    let to = SocketAddr::from((url.host, url.port));
    let mut stream = std::net::TcpStream::connect_timeout(&to, UNDO_STEP)?;
    stream.set_write_timeout(Some(UNDO_STEP))?;
    stream.set_read_timeout(Some(UNDO_STEP))?;
    stream.write_all(request)?;
    // Read the status line so the gateway has acted before we go.
    let mut head = [0u8; 64];
    let _ = stream.read(&mut head)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_gateway_comes_from_the_route_table() {
        let table =
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                     eth0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
                     eth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n";
        let want = Ipv4Addr::from(u32::from_str_radix("0101A8C0", 16).unwrap().to_ne_bytes());
        assert_eq!(default_gateway(table), Some(want));
        if cfg!(target_endian = "little") {
            assert_eq!(want, Ipv4Addr::new(192, 168, 1, 1));
        }
        let no_default = table.lines().take(2).collect::<Vec<_>>().join("\n");
        assert_eq!(default_gateway(&no_default), None);
        assert_eq!(default_gateway(""), None);
    }
}
