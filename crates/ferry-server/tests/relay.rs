//! Transit relay behaviour: pairing rules, the exact answer lines, splicing both
//! ways (TCP and WebSocket), close propagation and timeouts.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns, in a test crate

use std::time::Duration;

use ferry_server::{Config, ServerHandle};
use ferry_test_support::raw_mailbox::WAIT;
use ferry_test_support::raw_relay::{read_n, read_to_end, relay_line, relay_tcp, token};
use ferry_test_support::server::{spawn, spawn_default, wait_metrics};
use futures_util::{SinkExt, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite_030::tungstenite::Message;

const SIDE_A: &str = "aaaaaaaaaaaaaaaa";
const SIDE_B: &str = "bbbbbbbbbbbbbbbb";

async fn pair(addr: std::net::SocketAddr, t: &str) -> (TcpStream, TcpStream) {
    let mut a = relay_tcp(addr, &relay_line(t, Some(SIDE_A))).await;
    let mut b = relay_tcp(addr, &relay_line(t, Some(SIDE_B))).await;
    assert_eq!(read_n(&mut a, 3).await, b"ok\n");
    assert_eq!(read_n(&mut b, 3).await, b"ok\n");
    (a, b)
}

/// Up to 3 bytes, or fewer at EOF.
async fn up_to_3(s: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 3];
    while got.len() < 3 {
        match tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf[got.len()..]))
            .await
            .unwrap()
        {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    got
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Sends `data` on `w` while reading `data.len()` bytes from `r`; returns their hash.
async fn transfer(
    w: &mut (impl AsyncWriteExt + Unpin),
    r: &mut (impl AsyncReadExt + Unpin),
    data: &[u8],
) -> Vec<u8> {
    let send = async {
        w.write_all(data).await.unwrap();
        w.flush().await.unwrap();
    };
    let recv = async {
        let mut got = vec![0u8; data.len()];
        r.read_exact(&mut got).await.unwrap();
        Sha256::digest(&got).to_vec()
    };
    let ((), hash) =
        tokio::time::timeout(Duration::from_secs(30), async { tokio::join!(send, recv) })
            .await
            .unwrap();
    hash
}

/// Sends `one` from a to b and `two` back at once over a fresh pair; both must
/// arrive intact and be counted while the pair is still open.
async fn relay_both_ways(h: &ServerHandle, t: &str, one: &[u8], two: &[u8]) {
    let (a, b) = pair(h.relay_tcp_addr().unwrap(), t).await;
    let (mut ar, mut aw) = a.into_split();
    let (mut br, mut bw) = b.into_split();
    let (h1, h2) = tokio::join!(
        transfer(&mut aw, &mut br, one),
        transfer(&mut bw, &mut ar, two)
    );
    assert_eq!(h1, Sha256::digest(one).to_vec());
    assert_eq!(h2, Sha256::digest(two).to_vec());
    let bytes = format!("ferry_relay_bytes_total {}", one.len() + two.len());
    metrics_show(h, &[&bytes, "ferry_relay_active_pairs 1"]).await;
}

/// Waits until the metrics hold every one of `lines`.
async fn metrics_show(h: &ServerHandle, lines: &[&str]) {
    let all = |m: &str| lines.iter().all(|l| m.contains(l));
    let m = wait_metrics(h, all).await;
    assert!(all(&m), "{m}");
}

#[tokio::test]
async fn tcp_pair_relays_megabytes_both_ways() {
    let h = spawn_default().await;
    let one = pattern(3 * 1024 * 1024 + 17, 1);
    let two = pattern(2 * 1024 * 1024 + 5, 2);
    relay_both_ways(&h, &token(1), &one, &two).await;
}

#[tokio::test]
async fn buddy_close_propagates_without_half_close() {
    let h = spawn_default().await;
    let (a, mut b) = pair(h.relay_tcp_addr().unwrap(), &token(2)).await;
    b.write_all(b"last words").await.unwrap();
    drop(a);
    // b's half-closed peer closes b entirely: b reads EOF
    assert_eq!(read_to_end(&mut b).await, b"");
    pair_ended(&h, "happy").await;
}

/// Waits until the one pair has ended with `result` and none is active.
async fn pair_ended(h: &ServerHandle, result: &str) {
    let ended = format!("ferry_relay_results_total{{result=\"{result}\"}} 1");
    metrics_show(h, &[&ended, "ferry_relay_active_pairs 0"]).await;
}

#[tokio::test]
async fn same_side_is_never_paired() {
    let h = spawn_default().await;
    let addr = h.relay_tcp_addr().unwrap();
    let t = token(3);
    let mut a1 = relay_tcp(addr, &relay_line(&t, Some(SIDE_A))).await;
    let mut a2 = relay_tcp(addr, &relay_line(&t, Some(SIDE_A))).await;
    let mut probe = [0u8; 3];
    assert!(
        tokio::time::timeout(Duration::from_millis(300), a1.read(&mut probe))
            .await
            .is_err(),
        "no ok for the same side"
    );
    // a different side pairs with one of them; the other is redundant and dropped
    let mut b = relay_tcp(addr, &relay_line(&t, Some(SIDE_B))).await;
    assert_eq!(read_n(&mut b, 3).await, b"ok\n");
    let (r1, r2) = tokio::join!(up_to_3(&mut a1), up_to_3(&mut a2));
    let mut outcomes = [r1, r2];
    outcomes.sort();
    assert_eq!(outcomes, [b"".to_vec(), b"ok\n".to_vec()]);
}

#[tokio::test]
async fn legacy_lines_pair() {
    let h = spawn_default().await;
    let addr = h.relay_tcp_addr().unwrap();
    let t = token(4);
    let mut a = relay_tcp(addr, &relay_line(&t, None)).await;
    let mut b = relay_tcp(addr, &relay_line(&t, Some(SIDE_B))).await;
    assert_eq!(read_n(&mut a, 3).await, b"ok\n");
    assert_eq!(read_n(&mut b, 3).await, b"ok\n");
    a.write_all(b"ping").await.unwrap();
    assert_eq!(read_n(&mut b, 4).await, b"ping");
}

#[tokio::test]
async fn bad_handshakes() {
    let h = spawn_default().await;
    let addr = h.relay_tcp_addr().unwrap();
    for line in [
        "please relay short\n".to_owned(),
        format!("please relay {} for side abc\n", token(5)),
        format!("please relay {} for side {SIDE_A}\r\n", token(5)),
        "GET / HTTP/1.1\r\n\r\n".to_owned(),
        format!("{}\n", "x".repeat(2000)),
    ] {
        let mut s = relay_tcp(addr, &line).await;
        assert_eq!(read_to_end(&mut s).await, b"bad handshake\n", "{line:?}");
    }
}

#[tokio::test]
async fn data_before_pairing_is_impatient() {
    let h = spawn_default().await;
    let addr = h.relay_tcp_addr().unwrap();
    // data after the line while waiting
    let mut a = relay_tcp(addr, &relay_line(&token(6), Some(SIDE_A))).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    a.write_all(b"too soon").await.unwrap();
    assert_eq!(read_to_end(&mut a).await, b"impatient\n");
    // data in the same packet as the line
    let mut b = relay_tcp(
        addr,
        &format!("{}early", relay_line(&token(7), Some(SIDE_B))),
    )
    .await;
    assert_eq!(read_to_end(&mut b).await, b"impatient\n");
}

#[tokio::test]
async fn three_clients_one_token_only_two_paired() {
    let h = spawn_default().await;
    let addr = h.relay_tcp_addr().unwrap();
    let t = token(8);
    let (mut a, mut b) = pair(addr, &t).await;
    let mut c = relay_tcp(addr, &relay_line(&t, Some("cccccccccccccccc"))).await;
    let mut probe = [0u8; 3];
    assert!(
        tokio::time::timeout(Duration::from_millis(300), c.read(&mut probe))
            .await
            .is_err(),
        "third waits alone"
    );
    a.write_all(b"x").await.unwrap();
    assert_eq!(read_n(&mut b, 1).await, b"x");
}

#[tokio::test]
async fn silent_clients_are_dropped_after_the_handshake_timeout() {
    let mut cfg = Config::ephemeral();
    cfg.timing.relay_handshake_timeout = Duration::from_millis(200);
    cfg.timing.relay_wait_timeout = Duration::from_millis(300);
    let h = spawn(cfg).await;
    let addr = h.relay_tcp_addr().unwrap();
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let t0 = std::time::Instant::now();
    assert_eq!(read_to_end(&mut silent).await, b"");
    assert!(t0.elapsed() >= Duration::from_millis(150));
    // a lonely client gives up after the wait timeout
    let mut lonely = relay_tcp(addr, &relay_line(&token(9), Some(SIDE_A))).await;
    assert_eq!(read_to_end(&mut lonely).await, b"");
    let m = wait_metrics(&h, |m| {
        m.contains("ferry_relay_results_total{result=\"lonely\"} 1")
    })
    .await;
    assert!(
        m.contains("ferry_relay_results_total{result=\"errory\"} 1"),
        "{m}"
    );
}

#[tokio::test]
async fn tcp_pairs_with_websocket() {
    let h = spawn_default().await;
    let t = token(10);
    let url = format!("ws://{}/", h.relay_ws_addr().unwrap());
    let (mut ws, _) = tokio_tungstenite_030::connect_async(url).await.unwrap();
    // the WebSocket line without its newline
    let line = relay_line(&t, Some(SIDE_A));
    ws.send(Message::Binary(line.trim_end().as_bytes().to_vec().into()))
        .await
        .unwrap();
    let mut tcp = relay_tcp(h.relay_tcp_addr().unwrap(), &relay_line(&t, Some(SIDE_B))).await;
    assert_eq!(read_n(&mut tcp, 3).await, b"ok\n");
    let Some(Ok(Message::Binary(ok))) = ws.next().await else {
        panic!("no ok frame")
    };
    assert_eq!(&ok[..], b"ok\n");
    // bytes from the WebSocket arrive as a TCP stream, whatever the frame boundaries
    let data = pattern(300_000, 3);
    for chunk in data.chunks(70_000) {
        ws.send(Message::Binary(chunk.to_vec().into()))
            .await
            .unwrap();
    }
    assert_eq!(
        Sha256::digest(read_n(&mut tcp, data.len()).await),
        Sha256::digest(&data)
    );
    // and back
    tcp.write_all(b"hello websocket").await.unwrap();
    let mut got = Vec::new();
    while got.len() < 15 {
        match tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .unwrap()
        {
            Some(Ok(Message::Binary(b))) => got.extend_from_slice(&b),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(got, b"hello websocket");
    // closing the TCP side closes the WebSocket
    drop(tcp);
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                _ => continue,
            }
        }
    });
    end.await.unwrap();
}

#[tokio::test]
async fn websocket_relay_bad_line() {
    let h = spawn_default().await;
    let url = format!("ws://{}/", h.relay_ws_addr().unwrap());
    let (mut ws, _) = tokio_tungstenite_030::connect_async(url).await.unwrap();
    ws.send(Message::Binary(b"please relay nothing\n".to_vec().into()))
        .await
        .unwrap();
    let Some(Ok(Message::Binary(b))) = ws.next().await else {
        panic!("no answer")
    };
    assert_eq!(&b[..], b"bad handshake\n");
}

/// Random bytes from the OS: fast even in a debug build.
fn random(len: usize) -> Vec<u8> {
    use rand::RngCore;
    let mut v = vec![0u8; len];
    rand::rngs::OsRng.fill_bytes(&mut v);
    v
}

#[tokio::test]
async fn tcp_pair_relays_64_mib_of_random_bytes_both_ways() {
    let h = spawn_default().await;
    let (one, two) = (random(64 << 20), random((64 << 20) + 4097));
    relay_both_ways(&h, &token(11), &one, &two).await;
}

#[tokio::test]
async fn a_pair_over_its_byte_budget_is_closed() {
    let mut cfg = Config::ephemeral();
    cfg.limits.max_relay_bytes_per_pair = Some(1 << 20);
    let h = spawn(cfg).await;
    let (a, mut b) = pair(h.relay_tcp_addr().unwrap(), &token(12)).await;
    let (mut ar, mut aw) = a.into_split();
    let sender = tokio::spawn(async move { aw.write_all(&random(8 << 20)).await.is_err() });
    let got = read_to_end(&mut b).await;
    assert!(
        got.len() <= 1 << 20,
        "{} bytes passed a 1 MiB budget",
        got.len()
    );
    read_to_end(&mut ar).await;
    assert!(tokio::time::timeout(WAIT, sender).await.unwrap().unwrap());
    pair_ended(&h, "over_limit").await;
}

/// While `a` streams to `b`, closing either one closes the other too.
async fn close_mid_transfer(close_sender: bool) {
    let h = spawn_default().await;
    let (a, mut b) = pair(h.relay_tcp_addr().unwrap(), &token(13)).await;
    let (mut ar, mut aw) = a.into_split();
    // at most 1 GiB, never reached: the write fails once the pair is closed
    let sender = tokio::spawn(async move {
        let chunk = vec![7u8; 1 << 20];
        for _ in 0..1024 {
            if aw.write_all(&chunk).await.is_err() {
                return;
            }
        }
    });
    read_n(&mut b, 4 << 20).await;
    if close_sender {
        sender.abort();
        drop(ar);
        read_to_end(&mut b).await;
    } else {
        drop(b);
        read_to_end(&mut ar).await;
        tokio::time::timeout(WAIT, sender).await.unwrap().unwrap();
    }
    pair_ended(&h, "happy").await;
}

#[tokio::test]
async fn closing_the_sender_mid_transfer_closes_the_receiver() {
    close_mid_transfer(true).await;
}

#[tokio::test]
async fn closing_the_receiver_mid_transfer_closes_the_sender() {
    close_mid_transfer(false).await;
}
