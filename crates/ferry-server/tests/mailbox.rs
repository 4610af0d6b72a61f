//! Mailbox protocol conformance with a raw WebSocket client: every command, every
//! error string of the reference server, and the frame ordering clients rely on.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns, in a test crate

use std::time::Duration;

use ferry_proto::wire::mailbox::ServerMessage;
use ferry_server::Config;
use ferry_test_support::raw_mailbox::{Client, APPID};
use ferry_test_support::server::{spawn, spawn_default, wait_metrics};
use futures_util::SinkExt;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite_030::tungstenite::Message;

async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn welcome_first_with_motd_and_address() {
    let mut cfg = Config::ephemeral();
    cfg.motd = Some("hello from ferry".into());
    let h = spawn(cfg).await;
    let c = Client::connect(h.mailbox_addr().unwrap()).await;
    assert_eq!(c.welcome["welcome"]["motd"], "hello from ferry");
    assert_eq!(c.welcome["welcome"]["your-address"]["ipv4"], "127.0.0.1");
    assert!(c.welcome["welcome"]["your-address"]["port"].is_u64());
    // the client crate's types read it
    let ServerMessage::Welcome { welcome } = ServerMessage::decode(&c.welcome.to_string()).unwrap()
    else {
        panic!("not a welcome")
    };
    assert_eq!(welcome.motd.as_deref(), Some("hello from ferry"));
}

#[tokio::test]
async fn plain_http_pages() {
    let h = spawn_default().await;
    let addr = h.mailbox_addr().unwrap();
    let root = http_get(addr, "/").await;
    assert!(root.starts_with("HTTP/1.1 200"), "{root}");
    // the browser page (tests/web.rs); "Wormhole Relay" with the page off
    assert!(root.contains("Content-Type: text/html"), "{root}");
    assert!(http_get(addr, "/health").await.ends_with("ok\n"));
    let metrics = http_get(addr, "/metrics").await;
    assert!(
        metrics.contains("# TYPE ferry_mailbox_connections gauge"),
        "{metrics}"
    );
    assert!(http_get(addr, "/nope").await.starts_with("HTTP/1.1 404"));
    assert!(http_get(addr, "/v1").await.starts_with("HTTP/1.1 400"));
}

#[tokio::test]
async fn ping_missing_type_and_binding_errors() {
    let h = spawn_default().await;
    let mut c = Client::connect(h.mailbox_addr().unwrap()).await;
    // ping works before bind: ack (id echoed) then pong
    c.cmd(json!({"type": "ping", "ping": 7}), "0001").await;
    assert_eq!(c.expect("pong").await["pong"], 7);
    c.cmd(json!({"type": "ping"}), "0002").await;
    c.expect_error("ping requires 'ping'").await;
    // no type: error without an ack
    c.send(json!({"id": "0003"})).await;
    let orig = c.expect_error("missing 'type'").await;
    assert_eq!(orig, json!({"id": "0003"}));
    // an ack without id echoes null
    c.send(json!({"type": "list"})).await;
    assert_eq!(c.expect("ack").await["id"], Value::Null);
    c.expect_error("must bind first").await;
    for (cmd, err) in [
        (
            json!({"type": "bind", "side": "s"}),
            "bind requires 'appid'",
        ),
        (
            json!({"type": "bind", "appid": APPID}),
            "bind requires 'side'",
        ),
    ] {
        c.cmd(cmd, "0004").await;
        let orig = c.expect_error(err).await;
        assert_eq!(orig["type"], "bind");
    }
    c.cmd(
        json!({"type": "bind", "appid": APPID, "side": "aaaa"}),
        "0005",
    )
    .await;
    c.cmd(
        json!({"type": "bind", "appid": APPID, "side": "aaaa"}),
        "0006",
    )
    .await;
    c.expect_error("already bound").await;
    c.cmd(json!({"type": "frobnicate"}), "0007").await;
    c.expect_error("unknown type").await;
    c.cmd(json!({"type": 5}), "0008").await;
    c.expect_error("unknown type").await;
}

#[tokio::test]
async fn binary_frames_are_accepted_and_answered_in_text() {
    let h = spawn_default().await;
    let mut c = Client::connect(h.mailbox_addr().unwrap()).await;
    let ping = json!({"type": "ping", "ping": 1, "id": "beef"}).to_string();
    c.ws.send(Message::Binary(ping.into_bytes().into()))
        .await
        .unwrap();
    c.expect_ack("beef").await;
    c.expect("pong").await;
}

#[tokio::test]
async fn rendezvous_with_echo_stored_messages_and_ordering() {
    let h = spawn_default().await;
    let addr = h.mailbox_addr().unwrap();
    let mut a = Client::bound(addr, "aaaaaaaaaa").await;
    let mailbox = a.claim("4").await;
    assert_eq!(mailbox.len(), 13);
    assert!(mailbox
        .bytes()
        .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b)));
    a.open(&mailbox).await;
    a.add("pake", "7b7d").await;
    let echo = a.message().await;
    assert_eq!(echo["side"], "aaaaaaaaaa");
    assert_eq!(echo["phase"], "pake");
    assert_eq!(echo["body"], "7b7d");
    assert_eq!(echo["id"], "add0");
    assert!(echo["server_rx"].is_f64());

    let mut b = Client::bound(addr, "bbbbbbbbbb").await;
    assert_eq!(b.claim("4").await, mailbox);
    b.open(&mailbox).await;
    let stored = b.message().await;
    assert_eq!(
        (stored["side"].as_str(), stored["phase"].as_str()),
        (Some("aaaaaaaaaa"), Some("pake"))
    );
    b.add("pake", "00").await;
    assert_eq!(b.message().await["side"], "bbbbbbbbbb");
    assert_eq!(a.message().await["side"], "bbbbbbbbbb");
    // release, then close both: released / closed after their acks
    for c in [&mut a, &mut b] {
        c.cmd(json!({"type": "release"}), "4e1e").await;
        c.expect("released").await;
        c.cmd(json!({"type": "close", "mood": "happy"}), "c105")
            .await;
        c.expect("closed").await;
    }
    let m = wait_metrics(&h, |m| {
        m.contains("ferry_mailbox_results_total{result=\"happy\"} 1")
    })
    .await;
    assert!(m.contains("ferry_mailboxes 0"), "{m}");
    assert!(m.contains("ferry_nameplates 0"), "{m}");
}

#[tokio::test]
async fn crowded_and_reclaimed() {
    let h = spawn_default().await;
    let addr = h.mailbox_addr().unwrap();
    let mut a = Client::bound(addr, "aaaaaaaaaa").await;
    let mailbox = a.claim("5").await;
    let mut b = Client::bound(addr, "bbbbbbbbbb").await;
    b.claim("5").await;
    let mut c = Client::bound(addr, "cccccccccc").await;
    c.cmd(json!({"type": "claim", "nameplate": "5"}), "cc01")
        .await;
    let orig = c.expect_error("crowded").await;
    assert_eq!(
        orig,
        json!({"type": "claim", "nameplate": "5", "id": "cc01"})
    );
    // the claim is used up even though it failed
    c.cmd(json!({"type": "claim", "nameplate": "6"}), "cc02")
        .await;
    c.expect_error("only one claim per connection").await;
    let mut d = Client::bound(addr, "dddddddddd").await;
    d.cmd(json!({"type": "open", "mailbox": mailbox}), "dd01")
        .await;
    d.expect_error("crowded").await;

    a.cmd(json!({"type": "release", "nameplate": "5"}), "aa01")
        .await;
    a.expect("released").await;
    let mut a2 = Client::bound(addr, "aaaaaaaaaa").await;
    a2.cmd(json!({"type": "claim", "nameplate": "5"}), "aa02")
        .await;
    a2.expect_error("reclaimed").await;
}

#[tokio::test]
async fn claim_release_rules() {
    let h = spawn_default().await;
    let mut c = Client::bound(h.mailbox_addr().unwrap(), "aaaaaaaaaa").await;
    c.cmd(json!({"type": "release"}), "r001").await;
    c.expect_error("release without nameplate must follow claim")
        .await;
    c.cmd(json!({"type": "claim"}), "r002").await;
    c.expect_error("claim requires 'nameplate'").await;
    c.claim("8").await;
    c.cmd(json!({"type": "claim", "nameplate": "9"}), "r003")
        .await;
    c.expect_error("only one claim per connection").await;
    c.cmd(json!({"type": "release", "nameplate": "9"}), "r004")
        .await;
    c.expect_error("release and claim must use same nameplate")
        .await;
    c.cmd(json!({"type": "release", "nameplate": "8"}), "r005")
        .await;
    c.expect("released").await;
    c.cmd(json!({"type": "release"}), "r006").await;
    c.expect_error("only one release per connection").await;
    // releasing a name nobody holds still answers released
    let mut d = Client::bound(h.mailbox_addr().unwrap(), "dddddddddd").await;
    d.cmd(json!({"type": "release", "nameplate": "777"}), "r007")
        .await;
    d.expect("released").await;
}

#[tokio::test]
async fn invalid_nameplates_get_an_error_not_a_dropped_socket() {
    let h = spawn_default().await;
    for bad in [json!("abc"), json!("1".repeat(41)), json!(12), json!("")] {
        let mut c = Client::bound(h.mailbox_addr().unwrap(), "aaaaaaaaaa").await;
        c.cmd(json!({"type": "claim", "nameplate": bad}), "n001")
            .await;
        c.expect_error("invalid nameplate: up to 40 decimal digits")
            .await;
        c.cmd(json!({"type": "ping", "ping": 1}), "n002").await;
        c.expect("pong").await;
    }
}

#[tokio::test]
async fn open_add_close_rules() {
    let h = spawn_default().await;
    let addr = h.mailbox_addr().unwrap();
    let mut c = Client::bound(addr, "aaaaaaaaaa").await;
    c.cmd(json!({"type": "add", "phase": "0", "body": "00"}), "o001")
        .await;
    c.expect_error("must open mailbox before adding").await;
    c.cmd(json!({"type": "close"}), "o002").await;
    c.expect_error("close without mailbox must follow open")
        .await;
    c.cmd(json!({"type": "open"}), "o003").await;
    c.expect_error("open requires 'mailbox'").await;
    c.open("mbox").await;
    c.cmd(json!({"type": "open", "mailbox": "mbox"}), "o004")
        .await;
    c.expect_error("only one open per connection").await;
    c.cmd(json!({"type": "add", "body": "00"}), "o005").await;
    c.expect_error("missing 'phase'").await;
    c.cmd(json!({"type": "add", "phase": "0"}), "o006").await;
    c.expect_error("missing 'body'").await;
    c.cmd(json!({"type": "close", "mailbox": "other"}), "o007")
        .await;
    c.expect_error("open and close must use same mailbox").await;
    c.cmd(json!({"type": "close", "mood": "lonely"}), "o008")
        .await;
    c.expect("closed").await;
    c.cmd(json!({"type": "close"}), "o009").await;
    c.expect_error("only one close per connection").await;
}

#[tokio::test]
async fn close_after_reconnect_without_open() {
    let h = spawn_default().await;
    let addr = h.mailbox_addr().unwrap();
    let mut a = Client::bound(addr, "aaaaaaaaaa").await;
    a.open("mbox").await;
    drop(a);
    let mut a = Client::bound(addr, "aaaaaaaaaa").await;
    a.cmd(
        json!({"type": "close", "mailbox": "mbox", "mood": "happy"}),
        "cl01",
    )
    .await;
    a.expect("closed").await;
    wait_metrics(&h, |m| m.contains("ferry_mailboxes 0")).await;
    assert!(h.metrics_text().contains("ferry_mailboxes 0"));
}

#[tokio::test]
async fn allocation_ranges_and_list() {
    let h = spawn_default().await;
    let addr = h.mailbox_addr().unwrap();
    let mut names = Vec::new();
    let mut clients = Vec::new();
    for i in 0..10 {
        let mut c = Client::bound(addr, &format!("side{i:06}")).await;
        c.cmd(json!({"type": "allocate"}), "a110").await;
        let v = c.expect("allocated").await;
        names.push(v["nameplate"].as_str().unwrap().to_owned());
        c.cmd(json!({"type": "allocate"}), "a111").await;
        c.expect_error("you already allocated one, don't be greedy")
            .await;
        clients.push(c);
    }
    for n in &names[..9] {
        assert_eq!(n.len(), 1, "{names:?}");
    }
    assert_eq!(names[9].len(), 2, "{names:?}");
    let mut expected = names.clone();
    expected.sort();
    let c = &mut clients[0];
    c.cmd(json!({"type": "list"}), "1157").await;
    let listed: Vec<String> = c.expect("nameplates").await["nameplates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, expected, "sorted as strings");
}

#[tokio::test]
async fn disallow_list_hides_nameplates() {
    let mut cfg = Config::ephemeral();
    cfg.allow_list = false;
    let h = spawn(cfg).await;
    let mut c = Client::bound(h.mailbox_addr().unwrap(), "aaaaaaaaaa").await;
    c.claim("3").await;
    c.cmd(json!({"type": "list"}), "1157").await;
    assert_eq!(c.expect("nameplates").await["nameplates"], json!([]));
}

#[tokio::test]
async fn idle_mailboxes_expire() {
    let mut cfg = Config::ephemeral();
    cfg.timing.mailbox_expiry = Duration::from_millis(300);
    cfg.timing.expiry_check = Duration::from_millis(100);
    let h = spawn(cfg).await;
    let addr = h.mailbox_addr().unwrap();
    // an abandoned claim expires...
    let mut a = Client::bound(addr, "aaaaaaaaaa").await;
    a.claim("12").await;
    drop(a);
    // ...while a connected listener keeps its mailbox alive
    let mut b = Client::bound(addr, "bbbbbbbbbb").await;
    b.open("kept").await;
    let m = wait_metrics(&h, |m| {
        m.contains("ferry_mailbox_results_total{result=\"pruney\"} 1")
    })
    .await;
    assert!(
        m.contains("ferry_nameplate_results_total{result=\"pruney\"} 1"),
        "{m}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut c = Client::bound(addr, "cccccccccc").await;
    c.cmd(json!({"type": "list"}), "1157").await;
    assert_eq!(c.expect("nameplates").await["nameplates"], json!([]));
    assert!(
        h.metrics_text().contains("ferry_mailboxes 1"),
        "the listened mailbox stays"
    );
    b.add("0", "00").await;
    b.message().await;
}

#[tokio::test]
async fn websocket_pings_and_idle_timeout() {
    let mut cfg = Config::ephemeral();
    cfg.timing.ping_interval = Duration::from_millis(100);
    cfg.timing.ws_idle_timeout = Duration::from_millis(350);
    let h = spawn(cfg).await;
    let addr = h.mailbox_addr().unwrap();
    // a raw socket that completes the upgrade and then never reads or answers
    let mut raw = tokio::net::TcpStream::connect(addr).await.unwrap();
    raw.write_all(b"GET /v1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").await.unwrap();
    // a real client answers pings (tungstenite does) and stays
    let mut c = Client::bound(addr, "aaaaaaaaaa").await;
    c.silent_for(Duration::from_millis(600)).await;
    // the silent one has been dropped; the live one still works (reading answers pings)
    let m = wait_metrics(&h, |m| {
        m.contains("ferry_clients_dropped_total{reason=\"idle\"} 1")
    })
    .await;
    assert!(
        m.contains("ferry_clients_dropped_total{reason=\"idle\"} 1"),
        "{m}"
    );
    c.cmd(json!({"type": "ping", "ping": 2}), "p1n6").await;
    c.expect("pong").await;
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), raw.read_to_end(&mut rest)).await;
    assert!(rest.starts_with(b"HTTP/1.1 101"), "upgrade answered");
}

#[tokio::test]
async fn graceful_shutdown_closes_clients() {
    let h = spawn_default().await;
    let mut c = Client::bound(h.mailbox_addr().unwrap(), "aaaaaaaaaa").await;
    let stop = tokio::spawn(h.shutdown());
    assert!(c.closed_by_server().await);
    tokio::time::timeout(Duration::from_secs(5), stop)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn frames_that_are_no_command_and_ids_of_any_type() {
    let h = spawn_default().await;
    let mut c = Client::connect(h.mailbox_addr().unwrap()).await;
    // not a JSON object: an error echoing the text, no ack
    c.ws.send(Message::Text("[1]".into())).await.unwrap();
    let orig = c.expect_error("message must be a JSON object").await;
    assert_eq!(orig, json!("[1]"));
    // the ack echoes any id as it came; pong echoes any ping
    c.send(json!({"type": "ping", "ping": "x", "id": 5})).await;
    assert_eq!(c.expect("ack").await["id"], 5);
    assert_eq!(c.expect("pong").await["pong"], "x");
    // a type that is not a string is an unknown type, after the ack
    c.send(json!({"type": 3, "id": "t"})).await;
    c.expect_ack("t").await;
    c.expect_error("must bind first").await;
}
