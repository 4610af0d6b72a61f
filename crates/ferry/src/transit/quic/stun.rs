//! The STUN query: which address and port our NAT gives the QUIC socket, asked
//! of `ferry serve`'s responder at the relay's host and port (UDP), on the very
//! socket QUIC then uses, so the answer is QUIC's mapping.

use std::net::SocketAddr;
use std::time::Duration;

use rand::RngCore;
use tokio::net::UdpSocket;
use tokio::time::Instant;

use ferry_proto::wire::stun;

use super::super::addrs::canonical;

/// How long we wait for an answer in all (a server without a responder never answers).
pub(super) const PATIENCE: Duration = Duration::from_millis(900);
/// The request is sent again after this, in case a packet was lost.
const RESEND: Duration = Duration::from_millis(300);

/// The first mapped address any of `servers` reports within [`PATIENCE`], or
/// `None`. Other packets arriving meanwhile (a peer's early QUIC Initial) are
/// dropped; the peer sends again.
pub(super) async fn reflexive(socket: &UdpSocket, servers: &[SocketAddr]) -> Option<SocketAddr> {
    if servers.is_empty() {
        return None;
    }
    let mut id = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut id);
    let request = stun::binding_request(&id);
    let deadline = Instant::now() + PATIENCE;
    let mut buf = [0u8; 576];
    let dual = socket.local_addr().is_ok_and(|a| a.is_ipv6());
    while Instant::now() < deadline {
        for server in servers {
            let _ = socket.send_to(&request, on_socket(*server, dual)).await;
        }
        let round = (Instant::now() + RESEND).min(deadline);
        while let Ok(got) = tokio::time::timeout_at(round, socket.recv_from(&mut buf)).await {
            let Ok((n, from)) = got else { continue };
            let from = canonical(from);
            let answer = stun::parse_binding_success(&buf[..n], &id);
            if let Some(mapped) = answer.filter(|_| servers.contains(&from)) {
                return Some(mapped);
            }
        }
    }
    None
}

/// `server` as an IPv6 socket (`dual`) sends to it: an IPv4 address mapped.
fn on_socket(server: SocketAddr, dual: bool) -> SocketAddr {
    match server {
        SocketAddr::V4(v4) if dual => SocketAddr::new(v4.ip().to_ipv6_mapped().into(), v4.port()),
        _ => server,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn socket() -> UdpSocket {
        UdpSocket::bind("127.0.0.1:0").await.unwrap()
    }

    #[tokio::test]
    async fn a_responder_tells_us_our_address() {
        let (client, server) = (socket().await, socket().await);
        let server_addr = server.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 600];
            let (n, from) = server.recv_from(&mut buf).await.unwrap();
            let id = stun::parse_binding_request(&buf[..n]).unwrap();
            // Noise first: someone else's answer, then ours.
            server
                .send_to(&stun::binding_success(&[0; 12], from), from)
                .await
                .unwrap();
            server
                .send_to(&stun::binding_success(&id, from), from)
                .await
                .unwrap();
        });
        let got = reflexive(&client, &[server_addr]).await;
        assert_eq!(got, Some(client.local_addr().unwrap()));
    }

    /// The IPv6 wildcard socket QUIC binds asks an IPv4 responder through a
    /// mapped address and knows its answer.
    #[tokio::test]
    async fn a_dual_stack_socket_asks_an_ipv4_responder() {
        let client = super::super::bind("::".parse().unwrap()).unwrap();
        let server = socket().await;
        let server_addr = server.local_addr().unwrap();
        let answered = tokio::spawn(async move {
            let mut buf = [0u8; 600];
            let (n, from) = server.recv_from(&mut buf).await.unwrap();
            let id = stun::parse_binding_request(&buf[..n]).unwrap();
            server
                .send_to(&stun::binding_success(&id, from), from)
                .await
                .unwrap();
            from
        });
        let got = reflexive(&client, &[server_addr]).await;
        let from = answered.await.unwrap();
        assert!(from.is_ipv4(), "{from}");
        assert_eq!(got, Some(from));
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_server_costs_under_a_second() {
        let (client, silent) = (socket().await, socket().await);
        let start = Instant::now();
        let got = reflexive(&client, &[silent.local_addr().unwrap()]).await;
        assert_eq!(got, None);
        assert!(start.elapsed() <= Duration::from_secs(1));
        assert_eq!(reflexive(&client, &[]).await, None);
    }
}
