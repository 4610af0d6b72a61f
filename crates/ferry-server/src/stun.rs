//! The STUN responder: Binding requests on UDP at the relay's address and port
//! (the same number as the TCP relay, so clients find it from the relay URL they
//! already have). The codec is `ferry_proto::wire::stun`.

use std::net::SocketAddr;

use tokio::net::UdpSocket;
use tokio::sync::watch;

use ferry_proto::wire::stun;

/// Answers Binding requests on `socket` until shutdown; anything else is dropped.
pub(crate) async fn serve(socket: UdpSocket, mut shutdown: watch::Receiver<bool>) {
    let mut buf = [0u8; stun::MAX_REQUEST + 1];
    loop {
        let (n, from) = tokio::select! {
            _ = shutdown.changed() => return,
            got = socket.recv_from(&mut buf) => match got {
                Ok(got) => got,
                // ICMP errors from earlier answers surface here; keep serving.
                Err(_) => continue,
            },
        };
        if let Some(id) = stun::parse_binding_request(&buf[..n]) {
            let _ = socket
                .send_to(&stun::binding_success(&id, from), from)
                .await;
        }
    }
}

/// Binds the responder at `addr` (the relay's TCP address), or warns and runs without.
pub(crate) fn bind(addr: SocketAddr) -> Option<UdpSocket> {
    let socket = std::net::UdpSocket::bind(addr)
        .and_then(|s| s.set_nonblocking(true).map(|()| s))
        .and_then(UdpSocket::from_std);
    match socket {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(%addr, "no STUN responder: {e}");
            None
        }
    }
}
