//! The STUN responder: Binding requests on UDP at the relay's address and port
//! (the same number as the TCP relay, so clients find it from the relay URL they
//! already have). The codec is `ferry_proto::wire::stun`.
//!
//! On a wildcard address (`0.0.0.0`, `[::]`) each answer must leave from the address
//! its request came to: a host with several addresses would otherwise answer from the
//! one its route prefers, and the client's NAT (or its connected socket) drops an
//! answer from an address it never wrote to. On Linux the socket learns each request's
//! destination (IP_PKTINFO / IPV6_RECVPKTINFO) and sets it as the answer's source.

use std::net::SocketAddr;

use tokio::net::UdpSocket;
use tokio::sync::watch;

use ferry_proto::wire::stun;

#[cfg(target_os = "linux")]
mod pktinfo;
#[cfg(target_os = "linux")]
use pktinfo::{answer, enable, receive};

/// Answers Binding requests on `socket` until shutdown; anything else is dropped.
pub(crate) async fn serve(socket: UdpSocket, mut shutdown: watch::Receiver<bool>) {
    let mut buf = [0u8; stun::MAX_REQUEST + 1];
    loop {
        let (n, from, to) = tokio::select! {
            _ = shutdown.changed() => return,
            got = receive(&socket, &mut buf) => match got {
                Ok(got) => got,
                // ICMP errors from earlier answers surface here; keep serving.
                Err(_) => continue,
            },
        };
        if let Some(id) = stun::parse_binding_request(&buf[..n]) {
            // An IPv4 client of a dual-stack socket arrives as ::ffff:a.b.c.d; it is told
            // its IPv4 address, in the IPv4 family.
            let seen = SocketAddr::new(from.ip().to_canonical(), from.port());
            let _ = answer(&socket, &stun::binding_success(&id, seen), from, to).await;
        }
    }
}

/// Binds the responder at `addr` (the relay's TCP address), or warns and runs without.
pub(crate) fn bind(addr: SocketAddr) -> Option<UdpSocket> {
    let socket = std::net::UdpSocket::bind(addr)
        .and_then(|s| {
            if addr.ip().is_unspecified() {
                enable(&s)?;
            }
            s.set_nonblocking(true).map(|()| s)
        })
        .and_then(UdpSocket::from_std);
    match socket {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(%addr, "no STUN responder: {e}");
            None
        }
    }
}

/// Elsewhere: the route picks the source address, as before.
#[cfg(not(target_os = "linux"))]
fn enable(_: &std::net::UdpSocket) -> std::io::Result<()> {
    Ok(())
}

#[cfg(not(target_os = "linux"))]
async fn receive(s: &UdpSocket, buf: &mut [u8]) -> std::io::Result<(usize, SocketAddr, ())> {
    let (n, from) = s.recv_from(buf).await?;
    Ok((n, from, ()))
}

#[cfg(not(target_os = "linux"))]
async fn answer(s: &UdpSocket, bytes: &[u8], to: SocketAddr, _: ()) -> std::io::Result<usize> {
    s.send_to(bytes, to).await
}

#[cfg(all(test, target_os = "linux"))]
mod tests;
