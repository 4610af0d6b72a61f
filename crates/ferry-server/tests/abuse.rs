//! Limits: each refusal is a clear error for the client, and the server keeps
//! serving everyone else.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns, in a test crate

use std::net::SocketAddr;
use std::time::Duration;

use ferry_server::Config;
use ferry_test_support::raw_mailbox::{Client, APPID};
use ferry_test_support::raw_relay::read_to_end;
use ferry_test_support::server::{spawn, wait_metrics};
use futures_util::SinkExt;
use serde_json::json;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite_030::tungstenite::Message;

/// A TCP connection from another loopback address.
async fn connect_from(local: &str, to: SocketAddr) -> TcpStream {
    let sock = TcpSocket::new_v4().unwrap();
    sock.bind(format!("{local}:0").parse().unwrap()).unwrap();
    sock.connect(to).await.unwrap()
}

#[tokio::test]
async fn oversize_messages_are_refused_and_the_server_stays_up() {
    let mut cfg = Config::ephemeral();
    cfg.limits.max_body_bytes = 1024;
    let h = spawn(cfg).await;
    let addr = h.mailbox_addr().unwrap();
    let mut c = Client::bound(addr, "aaaaaaaaaa").await;
    c.open("mbox").await;
    // over the body limit but under the frame limit: an error with orig, no body echoed
    c.cmd(
        json!({"type": "add", "phase": "0", "body": "ab".repeat(1025)}),
        "0b16",
    )
    .await;
    let orig = c.expect_error("message too large").await;
    assert_eq!(orig, json!({"type": "add", "phase": "0", "id": "0b16"}));
    c.add("1", "abcd").await;
    c.message().await;
    // a frame far over any limit: error, then the connection is closed
    let huge = json!({"type": "add", "phase": "2", "body": "ab".repeat(200_000)}).to_string();
    c.ws.send(Message::Text(huge.into())).await.unwrap();
    assert_eq!(c.expect("error").await["error"], "message too large");
    assert!(c.closed_by_server().await);
    let mut d = Client::bound(addr, "dddddddddd").await;
    d.cmd(json!({"type": "ping", "ping": 1}), "0001").await;
    d.expect("pong").await;
    let m = h.metrics_text();
    assert!(
        m.contains("ferry_clients_dropped_total{reason=\"oversize\"} 1"),
        "{m}"
    );
}

#[tokio::test]
async fn connection_flood_from_one_address_is_capped() {
    let mut cfg = Config::ephemeral();
    cfg.limits.max_connections_per_ip = 20;
    let h = spawn(cfg).await;
    let addr = h.mailbox_addr().unwrap();
    let mut held = Vec::new();
    for i in 0..20 {
        held.push(Client::bound(addr, &format!("flood{i:05}")).await);
    }
    // the next ones from 127.0.0.1 are told why and closed
    for _ in 0..50 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let answer = String::from_utf8(read_to_end(&mut s).await).unwrap();
        assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
        assert!(answer.ends_with("too many connections from your address\n"));
    }
    assert!(
        tokio_tungstenite_030::connect_async(format!("ws://{addr}/v1"))
            .await
            .is_err()
    );
    // another address still gets in and works
    let mut other = Client::connect_via(connect_from("127.0.0.2", addr).await, addr).await;
    other.cmd(json!({"type": "ping", "ping": 5}), "0005").await;
    other.expect("pong").await;
    // slots come back when clients leave
    held.truncate(10);
    tokio::time::sleep(Duration::from_millis(100)).await;
    Client::bound(addr, "returning0").await;
    let m = h.metrics_text();
    assert!(
        m.contains("ferry_connections_refused_total{service=\"mailbox\"} 51"),
        "{m}"
    );
}

#[tokio::test]
async fn relay_connection_flood_is_capped() {
    let mut cfg = Config::ephemeral();
    cfg.limits.max_connections_per_ip = 4;
    let h = spawn(cfg).await;
    let addr = h.relay_tcp_addr().unwrap();
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    assert_eq!(
        read_to_end(&mut s).await,
        b"error: too many connections from your address\n"
    );
    let mut other = connect_from("127.0.0.3", addr).await;
    tokio::io::AsyncWriteExt::write_all(&mut other, b"nonsense\n")
        .await
        .unwrap();
    assert_eq!(read_to_end(&mut other).await, b"bad handshake\n");
}

#[tokio::test]
async fn a_thousand_nameplates_from_one_address_are_capped() {
    let h = spawn(Config::ephemeral()).await;
    let addr = h.mailbox_addr().unwrap();
    let (mut granted, mut refused) = (0, 0);
    for i in 0..1000 {
        let mut c = Client::bound(addr, &format!("greedy{i:04}")).await;
        c.cmd(json!({"type": "allocate"}), "a110").await;
        let v = c.recv().await;
        match v["type"].as_str() {
            Some("allocated") => granted += 1,
            Some("error") => {
                assert_eq!(v["error"], "too many nameplates claimed from your address");
                refused += 1;
            }
            _ => panic!("{v}"),
        }
    }
    assert_eq!(
        granted,
        ferry_server::Limits::default().max_nameplates_per_ip
    );
    assert_eq!(refused, 1000 - granted);
    // someone else still gets a short nameplate, and the server answers at once
    let mut other = Client::connect_via(connect_from("127.0.0.4", addr).await, addr).await;
    other
        .cmd(
            json!({"type": "bind", "appid": APPID, "side": "honest0000"}),
            "b1d0",
        )
        .await;
    let t0 = std::time::Instant::now();
    other.cmd(json!({"type": "allocate"}), "a110").await;
    let n = other.expect("allocated").await["nameplate"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(n.len() <= 2, "{n}");
    assert!(t0.elapsed() < Duration::from_millis(500));
}

#[tokio::test]
async fn a_client_that_does_not_read_is_dropped() {
    let mut cfg = Config::ephemeral();
    cfg.limits.send_queue_frames = 4;
    cfg.timing.write_timeout = Duration::from_millis(300);
    let h = spawn(cfg).await;
    let addr = h.mailbox_addr().unwrap();
    let mut sleeper = Client::bound(addr, "sleeper000").await;
    sleeper.open("mbox").await;
    let mut talker = Client::bound(addr, "talker0000").await;
    talker.open("mbox").await;
    // about 40 MiB of echoes the sleeper never reads
    let body = "ab".repeat(512 * 1024);
    for i in 0..40 {
        talker.add(&i.to_string(), &body).await;
        talker.message().await;
    }
    let m = wait_metrics(&h, |m| {
        m.contains("ferry_clients_dropped_total{reason=\"slow\"} 1")
    })
    .await;
    assert!(
        m.contains("ferry_clients_dropped_total{reason=\"slow\"} 1"),
        "{m}"
    );
    talker.cmd(json!({"type": "ping", "ping": 9}), "0009").await;
    talker.expect("pong").await;
    drop(sleeper);
}
