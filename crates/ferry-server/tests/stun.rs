//! The STUN responder on the relay's UDP port: a Binding request gets the
//! sender's own address back; anything else gets nothing.
#![allow(clippy::unwrap_used)] // a test crate

use std::time::Duration;

use ferry_test_support::server::spawn_default;
use tokio::net::UdpSocket;

fn binding_request(id: [u8; 12]) -> Vec<u8> {
    let mut m = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
    m.extend_from_slice(&id);
    m
}

#[tokio::test]
async fn binding_requests_get_the_senders_address() {
    let server = spawn_default().await;
    let relay = server.relay_tcp_addr().unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let me = client.local_addr().unwrap();
    client.connect(relay).await.unwrap();
    // Garbage first: dropped, and the responder keeps serving.
    client
        .send(b"not stun at all, but long enough")
        .await
        .unwrap();
    client.send(&binding_request([5; 12])).await.unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), client.recv(&mut buf))
        .await
        .expect("an answer")
        .unwrap();
    let m = &buf[..n];
    assert_eq!(&m[..2], &[0x01, 0x01], "Binding success");
    assert_eq!(&m[8..20], &[5; 12]);
    assert_eq!(&m[20..24], &[0x00, 0x20, 0x00, 0x08], "XOR-MAPPED-ADDRESS");
    let port = u16::from_be_bytes([m[26], m[27]]) ^ 0x2112;
    let ip: Vec<u8> = m[28..32]
        .iter()
        .zip([0x21, 0x12, 0xa4, 0x42])
        .map(|(a, k)| a ^ k)
        .collect();
    assert_eq!(port, me.port());
    assert_eq!(ip, [127, 0, 0, 1]);
}
