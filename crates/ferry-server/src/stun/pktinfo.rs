//! Where a request arrived (IP_PKTINFO, IPV6_PKTINFO) and the answer sent from there.

use std::io::{IoSlice, IoSliceMut};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;

use nix::libc;
use nix::sys::socket::{
    recvmsg, sendmsg, setsockopt, sockopt, ControlMessage, ControlMessageOwned, MsgFlags,
    SockaddrStorage,
};
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// The local address a request was sent to, as the kernel reported it.
#[derive(Clone, Copy)]
pub(super) enum Dest {
    V4(libc::in_pktinfo),
    V6(libc::in6_pktinfo),
    /// No report (the socket is bound to one address): the route decides.
    Unknown,
}

/// Asks the kernel to report each datagram's destination. An IPv6 wildcard socket also
/// takes IPv4 (mapped) traffic, which IP_PKTINFO reports.
pub(super) fn enable(s: &std::net::UdpSocket) -> std::io::Result<()> {
    match s.local_addr()? {
        SocketAddr::V4(_) => setsockopt(s, sockopt::Ipv4PacketInfo, &true)?,
        SocketAddr::V6(_) => {
            setsockopt(s, sockopt::Ipv6RecvPacketInfo, &true)?;
            // Refused on an IPv6-only socket, which never sees IPv4 anyway.
            let _ = setsockopt(s, sockopt::Ipv4PacketInfo, &true);
        }
    }
    Ok(())
}

pub(super) async fn receive(
    s: &UdpSocket,
    buf: &mut [u8],
) -> std::io::Result<(usize, SocketAddr, Dest)> {
    s.async_io(Interest::READABLE, || {
        let mut iov = [IoSliceMut::new(buf)];
        let mut space = nix::cmsg_space!(libc::in6_pktinfo, libc::in_pktinfo);
        let msg = recvmsg::<SockaddrStorage>(
            s.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::empty(),
        )?;
        let from = msg
            .address
            .as_ref()
            .and_then(to_socket_addr)
            .ok_or_else(|| std::io::Error::other("datagram without a source address"))?;
        let mut dest = Dest::Unknown;
        for cmsg in msg.cmsgs()? {
            match cmsg {
                ControlMessageOwned::Ipv4PacketInfo(info) => dest = Dest::V4(info),
                ControlMessageOwned::Ipv6PacketInfo(info) => dest = Dest::V6(info),
                _ => {}
            }
        }
        Ok((msg.bytes, from, dest))
    })
    .await
}

/// Sends `bytes` to `to` from the address the request came to.
pub(super) async fn answer(
    s: &UdpSocket,
    bytes: &[u8],
    to: SocketAddr,
    dest: Dest,
) -> std::io::Result<usize> {
    let addr = SockaddrStorage::from(to);
    // The answer's source is the request's destination; the interface is left to the
    // route (IPv4) or kept (IPv6, where a link-local address needs it).
    let v4 = match dest {
        Dest::V4(got) => Some(libc::in_pktinfo {
            ipi_ifindex: 0,
            ipi_spec_dst: got.ipi_addr,
            ipi_addr: libc::in_addr { s_addr: 0 },
        }),
        _ => None,
    };
    s.async_io(Interest::WRITABLE, || {
        let iov = [IoSlice::new(bytes)];
        let cmsg = match (&dest, &v4) {
            (Dest::V6(info), _) => vec![ControlMessage::Ipv6PacketInfo(info)],
            (_, Some(info)) => vec![ControlMessage::Ipv4PacketInfo(info)],
            _ => vec![],
        };
        let sent = sendmsg(s.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), Some(&addr))?;
        Ok(sent)
    })
    .await
}

fn to_socket_addr(a: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = a.as_sockaddr_in() {
        return Some(SocketAddr::V4((*v4).into()));
    }
    a.as_sockaddr_in6().map(|v6| SocketAddr::V6((*v6).into()))
}
