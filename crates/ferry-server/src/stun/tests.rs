//! The responder on a wildcard address answers from the address each request came to:
//! on loopback every 127.x.y.z is local, and a request to 127.0.0.2 from 127.0.0.1 would
//! otherwise be answered from 127.0.0.1, which a connected socket drops.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use super::*;

async fn ask(server: SocketAddr) -> std::io::Result<SocketAddr> {
    let client = match server {
        SocketAddr::V4(_) => UdpSocket::bind("127.0.0.1:0").await?,
        SocketAddr::V6(_) => UdpSocket::bind("[::1]:0").await?,
    };
    client.connect(server).await?;
    let id = [7u8; 12];
    client.send(&stun::binding_request(&id)).await?;
    let mut buf = [0u8; 600];
    let n = tokio::time::timeout(Duration::from_secs(5), client.recv(&mut buf))
        .await
        .map_err(|_| std::io::Error::other("no answer from the address asked"))??;
    let mapped = stun::parse_binding_success(&buf[..n], &id).expect("a binding success");
    assert_eq!(
        mapped,
        client.local_addr()?,
        "the client's own address, seen by the server"
    );
    Ok(mapped)
}

fn start(addr: SocketAddr) -> (SocketAddr, watch::Sender<bool>) {
    let socket = bind(addr).expect("bound");
    let port = socket.local_addr().expect("bound").port();
    let (stop, shutdown) = watch::channel(false);
    tokio::spawn(serve(socket, shutdown));
    (SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)), stop)
}

#[tokio::test]
async fn a_wildcard_responder_answers_from_the_address_asked() {
    let (wild, _stop) = start("0.0.0.0:0".parse().unwrap());
    for ip in [[127, 0, 0, 1], [127, 0, 0, 2], [127, 9, 8, 7]] {
        let server = SocketAddr::from((ip, wild.port()));
        ask(server)
            .await
            .unwrap_or_else(|e| panic!("{server}: {e}"));
    }
}

#[tokio::test]
async fn a_dual_stack_wildcard_answers_both_families() {
    let Some(socket) = bind("[::]:0".parse().unwrap()) else {
        panic!("no [::] socket");
    };
    let port = socket.local_addr().unwrap().port();
    let (_stop, shutdown) = watch::channel(false);
    tokio::spawn(serve(socket, shutdown));
    ask(SocketAddr::from(([127, 0, 0, 3], port))).await.unwrap();
    ask(SocketAddr::from(([0, 0, 0, 0, 0, 0, 0, 1], port)))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_responder_on_one_address_still_answers() {
    let (wild, _stop) = start("127.0.0.1:0".parse().unwrap());
    ask(SocketAddr::from(([127, 0, 0, 1], wild.port())))
        .await
        .unwrap();
}
