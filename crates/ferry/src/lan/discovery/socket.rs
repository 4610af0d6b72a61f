//! The one UDP socket discovery runs on: bound to the LocalSend port on every
//! address, joined to the multicast group on the chosen interfaces, sending to
//! the group on each of them.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use socket2::{Domain, Protocol, SockRef, Socket, Type};
use tokio::net::UdpSocket;
use tokio::sync::Mutex;

use super::Config;

/// The TTL both Python peers (localsendd, localsend-cli) set on their
/// announcements (docs/localsend/peers.md §1). 224.0.0.0/24 is link-local
/// anyway, so routers drop it whatever the TTL.
pub const MULTICAST_TTL: u32 = 2;

/// Which interfaces discovery joins the group on and sends from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Interfaces {
    /// Every non-loopback IPv4 interface address: where LAN peers are.
    #[default]
    AllUp,
    /// Exactly these interface addresses (loopback for tests).
    Only(Vec<Ipv4Addr>),
}

impl Interfaces {
    /// Loopback only: two sockets on one host (or in one network namespace).
    pub fn loopback() -> Interfaces {
        Interfaces::Only(vec![Ipv4Addr::LOCALHOST])
    }

    /// The interface addresses this stands for, now.
    pub fn resolve(&self) -> Vec<Ipv4Addr> {
        match self {
            Interfaces::AllUp => lan_addresses(),
            Interfaces::Only(addrs) => addrs.clone(),
        }
    }
}

/// if-addrs lists interfaces that have an address; one that is down fails to
/// join, and `DiscoverySocket::bind` skips it.
fn lan_addresses() -> Vec<Ipv4Addr> {
    let all = if_addrs::get_if_addrs().unwrap_or_default();
    let v4 = all.iter().filter_map(|i| match i.ip() {
        std::net::IpAddr::V4(ip) if !ip.is_loopback() => Some(ip),
        _ => None,
    });
    let mut out: Vec<Ipv4Addr> = v4.collect();
    out.sort();
    out.dedup();
    out
}

/// A bound, joined discovery socket. Announcing, answering and listening
/// share it (all take `&self`), as the app does with its one socket.
#[derive(Debug)]
pub struct DiscoverySocket {
    udp: UdpSocket,
    group: SocketAddrV4,
    interfaces: Vec<Ipv4Addr>,
    /// Choosing the outgoing interface and sending are two calls; this keeps
    /// a concurrent announce and reply from interleaving them.
    send_lock: Mutex<()>,
}

impl DiscoverySocket {
    /// Binds `0.0.0.0:port` shared with other listeners and joins the group
    /// on every configured interface that accepts it. Needs a tokio runtime.
    pub fn bind(config: &Config) -> io::Result<DiscoverySocket> {
        let socket = shared_socket(config.port)?;
        let interfaces = join_all(&socket, config.group, &config.interfaces.resolve())?;
        Ok(DiscoverySocket {
            udp: UdpSocket::from_std(socket.into())?,
            group: SocketAddrV4::new(config.group, config.port),
            interfaces,
            send_lock: Mutex::new(()),
        })
    }

    /// The interface addresses the group was joined on.
    pub fn interfaces(&self) -> &[Ipv4Addr] {
        &self.interfaces
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.udp.local_addr()
    }

    /// Sends one datagram to the group out of every joined interface. Fails
    /// only if no interface could send it (one dead link must not silence
    /// the others).
    pub(super) async fn send_to_group(&self, datagram: &[u8]) -> io::Result<()> {
        let _turn = self.send_lock.lock().await;
        let mut last_error = None;
        let mut sent = false;
        for ifa in &self.interfaces {
            match self.send_on(*ifa, datagram).await {
                Ok(()) => sent = true,
                Err(e) => {
                    tracing::debug!(interface = %ifa, error = %e, "multicast send failed");
                    last_error = Some(e);
                }
            }
        }
        match (sent, last_error) {
            (false, Some(e)) => Err(e),
            _ => Ok(()),
        }
    }

    async fn send_on(&self, ifa: Ipv4Addr, datagram: &[u8]) -> io::Result<()> {
        SockRef::from(&self.udp).set_multicast_if_v4(&ifa)?;
        self.udp.send_to(datagram, self.group).await.map(drop)
    }

    pub(super) async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.udp.recv_from(buf).await
    }
}

/// UDP on `0.0.0.0:port` that other processes may bind too (the app, a
/// daemon and ferry on one host all listen on 53317), with multicast TTL and
/// loop set: loop lets two instances on one host see each other.
fn shared_socket(port: u16) -> io::Result<Socket> {
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_address(true)?;
    #[cfg(unix)]
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port).into())?;
    socket.set_multicast_ttl_v4(MULTICAST_TTL)?;
    socket.set_multicast_loop_v4(true)?;
    Ok(socket)
}

/// Joins on each interface that lets us; an error only if none did.
fn join_all(socket: &Socket, group: Ipv4Addr, wanted: &[Ipv4Addr]) -> io::Result<Vec<Ipv4Addr>> {
    let mut joined = Vec::new();
    let mut last_error = None;
    for ifa in wanted {
        match socket.join_multicast_v4(&group, ifa) {
            Ok(()) => joined.push(*ifa),
            Err(e) => {
                tracing::debug!(interface = %ifa, error = %e, "cannot join multicast group");
                last_error = Some(e);
            }
        }
    }
    if joined.is_empty() {
        let none = || io::Error::new(io::ErrorKind::NotFound, "no IPv4 interface to join on");
        return Err(last_error.unwrap_or_else(none));
    }
    Ok(joined)
}
