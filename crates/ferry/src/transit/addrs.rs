//! Which local addresses transit listens on and offers the peer. By default one
//! socket takes both IPv6 and IPv4 (where the machine has IPv6): a peer may then
//! reach us on a global IPv6 address where no IPv4 path exists, and two ferry
//! behind stateful IPv6 firewalls punch through them with QUIC as through
//! port-preserving NATs. An IPv4 peer of such a socket shows as `::ffff:a.b.c.d`,
//! written back as `a.b.c.d` ([`canonical`]).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;

use ferry_proto::transit::hints::{DirectHint, Hint};

use super::Listen;
use crate::error::{Error, Result};

/// Pending connections the TCP listener queues (the peer dials every hint).
const BACKLOG: i32 = 128;

/// The TCP listener for direct connections, as `listen` says.
pub(super) async fn listen_tcp(listen: Listen) -> Result<Option<TcpListener>> {
    let ip = match listen {
        Listen::Off => return Ok(None),
        Listen::Auto => match dual_stack_tcp().and_then(TcpListener::from_std) {
            Ok(l) => return Ok(Some(l)),
            Err(e) => {
                tracing::debug!("no IPv6 listener ({e}): IPv4 only");
                IpAddr::V4(Ipv4Addr::UNSPECIFIED)
            }
        },
        Listen::Only(ip) => ip,
    };
    let listener = TcpListener::bind(SocketAddr::new(ip, 0))
        .await
        .map_err(|e| Error::io(format!("cannot listen on {ip}"), e))?;
    Ok(Some(listener))
}

fn dual_stack_tcp() -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::IPV6, Type::STREAM, Some(Protocol::TCP))?;
    socket.set_only_v6(false)?;
    socket.bind(&SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), 0).into())?;
    socket.listen(BACKLOG)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// Where the QUIC socket binds and the interface addresses it may offer; and
/// whether to ask STUN (not when `--listen IP` names the one address to offer).
pub(super) fn quic_bind(listen: Listen) -> ((IpAddr, Vec<IpAddr>), bool) {
    match listen {
        Listen::Only(ip) => ((ip, vec![ip]), false),
        _ => ((IpAddr::V6(Ipv6Addr::UNSPECIFIED), advertised_ips()), true),
    }
}

/// Our direct hints: the addresses `listen` allows with the listener's port; IPv6
/// ones only when the listener (`local`) takes IPv6.
pub(super) fn direct_hints(listen: Listen, local: SocketAddr) -> Vec<Hint> {
    let ips = match listen {
        Listen::Only(ip) => vec![ip],
        _ => advertised_ips(),
    };
    ips.into_iter()
        .filter(|ip| reaches(local, ip))
        .map(|ip| {
            Hint::Direct(DirectHint {
                hostname: ip.to_string(),
                port: local.port(),
                priority: 0.0,
            })
        })
        .collect()
}

/// Whether a socket bound to `local` can be reached at `ip` (its port is the
/// socket's): IPv4 always (a dual-stack socket takes it mapped), IPv6 only on
/// an IPv6 socket.
pub(super) fn reaches(local: SocketAddr, ip: &IpAddr) -> bool {
    ip.is_ipv4() || local.is_ipv6()
}

/// Non-loopback IPv4 addresses (loopback when the machine has nothing else),
/// then the IPv6 addresses a peer could reach ([`reachable_v6`]).
fn advertised_ips() -> Vec<IpAddr> {
    let all: Vec<IpAddr> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .map(|i| i.ip())
        .collect();
    pick(&all)
}

fn pick(all: &[IpAddr]) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = all
        .iter()
        .copied()
        .filter(|ip| ip.is_ipv4() && !ip.is_loopback())
        .collect();
    if out.is_empty() {
        out.push(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    for ip in all {
        if matches!(ip, IpAddr::V6(v6) if reachable_v6(v6)) && !out.contains(ip) {
            out.push(*ip);
        }
    }
    out
}

/// A global or unique-local unicast address: not loopback, link-local (it
/// needs an interface to mean anything), multicast, unspecified or IPv4-mapped.
fn reachable_v6(ip: &Ipv6Addr) -> bool {
    let link_local = ip.segments()[0] & 0xffc0 == 0xfe80;
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || link_local
        || ip.to_ipv4_mapped().is_some())
}

/// `a` with an IPv4-mapped IPv6 address written as IPv4.
pub(super) fn canonical(a: SocketAddr) -> SocketAddr {
    SocketAddr::new(a.ip().to_canonical(), a.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(s: &[&str]) -> Vec<IpAddr> {
        s.iter().map(|a| a.parse().unwrap()).collect()
    }

    #[test]
    fn ipv4_comes_first_and_only_reachable_ipv6_follows() {
        let all = ips(&[
            "127.0.0.1",
            "::1",
            "fe80::1",
            "10.0.1.2",
            "2001:db8:a::2",
            "fd00::5",
            "::ffff:10.0.0.9",
            "ff02::1",
        ]);
        assert_eq!(pick(&all), ips(&["10.0.1.2", "2001:db8:a::2", "fd00::5"]));
    }

    #[test]
    fn loopback_stands_in_for_an_unconnected_machine() {
        assert_eq!(pick(&ips(&["127.0.0.1", "::1"])), ips(&["127.0.0.1"]));
        // IPv6 alone: loopback IPv4 still leads, as before
        assert_eq!(
            pick(&ips(&["127.0.0.1", "2001:db8::7"])),
            ips(&["127.0.0.1", "2001:db8::7"])
        );
    }

    #[test]
    fn an_ipv4_listener_offers_no_ipv6() {
        let hints = |local: &str| {
            direct_hints(
                Listen::Only("2001:db8::7".parse().unwrap()),
                local.parse().unwrap(),
            )
            .len()
        };
        assert_eq!(hints("0.0.0.0:4000"), 0);
        assert_eq!(hints("[::]:4000"), 1);
    }

    #[test]
    fn mapped_peers_read_as_ipv4() {
        let a: SocketAddr = "[::ffff:198.51.100.2]:5000".parse().unwrap();
        assert_eq!(canonical(a), "198.51.100.2:5000".parse().unwrap());
        let v6: SocketAddr = "[2001:db8::1]:5000".parse().unwrap();
        assert_eq!(canonical(v6), v6);
    }

    /// On a machine with IPv6 the default listener takes IPv4 too.
    #[tokio::test]
    async fn the_default_listener_takes_ipv4_peers() {
        let l = listen_tcp(Listen::Auto).await.unwrap().unwrap();
        let port = l.local_addr().unwrap().port();
        let dial = tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port));
        let (dialed, accepted) = tokio::join!(dial, l.accept());
        dialed.unwrap();
        let (_, peer) = accepted.unwrap();
        assert_eq!(canonical(peer).ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
}
