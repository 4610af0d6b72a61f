//! Which UDP addresses we offer, and which of the peer's we try: pure logic,
//! no sockets (the addresses come in as arguments).

use std::net::{IpAddr, SocketAddr};

use ferry_proto::transit::hints::MAX_QUIC_CANDIDATES;

/// Our candidates, best first: the address the STUN server saw (what a peer
/// behind another NAT must reach), then each interface address with the
/// socket's port (peers on the same network); no repeats, at most
/// [`MAX_QUIC_CANDIDATES`]. `interfaces` are the addresses `--listen` allows.
pub(super) fn ours(
    interfaces: &[IpAddr],
    port: u16,
    reflexive: Option<SocketAddr>,
) -> Vec<SocketAddr> {
    let local = interfaces.iter().map(|ip| SocketAddr::new(*ip, port));
    let mut out: Vec<SocketAddr> = Vec::new();
    for a in reflexive.into_iter().chain(local) {
        if !out.contains(&a) && reachable(&a) {
            out.push(a);
        }
    }
    out.truncate(MAX_QUIC_CANDIDATES);
    out
}

/// The peer's candidates we try from a socket bound to `local`: those its
/// family can reach (both on the IPv6 wildcard, which takes IPv4 too), nothing
/// that cannot be a peer (unspecified, multicast, broadcast, port 0), no repeats.
pub(super) fn theirs(offered: &[SocketAddr], local: SocketAddr) -> Vec<SocketAddr> {
    let dual = local.is_ipv6() && local.ip().is_unspecified();
    let mut out: Vec<SocketAddr> = Vec::new();
    for a in offered {
        let family = dual || a.is_ipv4() == local.is_ipv4();
        if family && reachable(a) && !out.contains(a) {
            out.push(*a);
        }
    }
    out.truncate(MAX_QUIC_CANDIDATES);
    out
}

fn reachable(a: &SocketAddr) -> bool {
    let ip = a.ip();
    let broadcast = matches!(ip, IpAddr::V4(v4) if v4.is_broadcast());
    a.port() != 0 && !ip.is_unspecified() && !ip.is_multicast() && !broadcast
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_reflexive_address_comes_first_and_nothing_twice() {
        let ifs: Vec<IpAddr> = vec!["10.0.0.2".parse().unwrap(), "192.0.2.9".parse().unwrap()];
        let got = ours(&ifs, 4000, Some(a("192.0.2.9:4000")));
        assert_eq!(got, vec![a("192.0.2.9:4000"), a("10.0.0.2:4000")]);
        // No STUN answer: the interfaces alone.
        assert_eq!(
            ours(&ifs, 4000, None),
            vec![a("10.0.0.2:4000"), a("192.0.2.9:4000")]
        );
        // A NAT that changed the port: both are offered.
        let moved = ours(&ifs[..1], 4000, Some(a("203.0.113.1:61000")));
        assert_eq!(moved, vec![a("203.0.113.1:61000"), a("10.0.0.2:4000")]);
    }

    #[test]
    fn many_interfaces_are_cut_to_the_limit() {
        let ifs: Vec<IpAddr> = (1..=20u8).map(|i| IpAddr::from([10, 0, 0, i])).collect();
        let got = ours(&ifs, 1, Some(a("198.51.100.1:1")));
        assert_eq!(got.len(), MAX_QUIC_CANDIDATES);
        assert_eq!(got[0], a("198.51.100.1:1"));
    }

    #[test]
    fn the_peers_unusable_candidates_are_dropped() {
        let offered = [
            a("0.0.0.0:5"),
            a("224.0.0.1:5"),
            a("255.255.255.255:5"),
            a("[2001:db8::1]:5"),
            a("192.0.2.1:5"),
            a("192.0.2.1:5"),
            a("127.0.0.1:6"),
        ];
        let got = theirs(&offered, a("0.0.0.0:0"));
        assert_eq!(got, vec![a("192.0.2.1:5"), a("127.0.0.1:6")]);
        let v6 = theirs(&offered, a("[2001:db8::9]:0"));
        assert_eq!(v6, vec![a("[2001:db8::1]:5")]);
        // The IPv6 wildcard takes IPv4 too.
        let dual = theirs(&offered, a("[::]:0"));
        assert_eq!(
            dual,
            vec![a("[2001:db8::1]:5"), a("192.0.2.1:5"), a("127.0.0.1:6")]
        );
    }
}
