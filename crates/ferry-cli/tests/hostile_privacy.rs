//! What ferry gives away. With `--force-relay` no direct hint (no local
//! address) is sent and no direct connection is made; the mailbox server never
//! sees the code words, keys, file names or contents; `-vvv` logs never hold
//! the code words or any key.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns, in a test crate

use std::time::Duration;

use ferry_proto::crypto::kdf::SharedKey;
use ferry_proto::transit::Role;
use ferry_test_support::evil_server::{Fault, Proxy};
use ferry_test_support::scenario::{reply, verified};
use ferry_test_support::{via_relay, EvilPeer, EvilTransit, Ferry, Sandbox, TestServer};
use serde_json::{json, Value};

/// Every key a log or the server must never show, as lowercase hex.
fn secrets(key: &SharedKey, sides: &[String]) -> Vec<String> {
    let transit = key.transit_key(ferry_proto::transfer::DEFAULT_APPID);
    let mut out = vec![
        hex::encode(key.as_bytes()),
        hex::encode(transit.as_bytes()),
        hex::encode(transit.subkey(b"transit_record_sender_key")),
        hex::encode(transit.subkey(b"transit_record_receiver_key")),
    ];
    for side in sides {
        for phase in ["version", "0", "1", "2"] {
            out.push(hex::encode(key.phase_key(side, phase).as_bytes()));
        }
    }
    out
}

/// The direct hints (and their host names) in a decrypted `transit` message.
fn direct_hints(transit: &Value) -> Vec<String> {
    let hints = transit["hints-v1"].as_array().cloned().unwrap_or_default();
    hints
        .iter()
        .filter(|h| h["type"] == "direct-tcp-v1")
        .map(|h| h["hostname"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// This machine's addresses other than loopback, as `hostname -I` lists them.
fn local_addresses() -> Vec<String> {
    let out = std::process::Command::new("hostname").arg("-I").output();
    let text = out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    text.unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// `ferry send` of a file through a logging proxy, with `extra` flags; the
/// evil receiver reads the transit message and the offer, then declines.
async fn sender_transit(extra: &[&str]) -> (Value, Vec<String>) {
    let server = TestServer::start().await;
    let proxy = Proxy::start(server.url(), Fault::None).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secret-name.txt");
    std::fs::write(&file, b"secret contents").unwrap();
    let code = format!("{}-privacy-check", 100 + rand::random::<u16>() % 9000);
    let ferry = Ferry::with_urls("send", &proxy.url(), &server.relay())
        .args(extra)
        .args(["--code", &code])
        .arg(&file)
        .spawn();
    let mut peer = EvilPeer::with_code(&server.url(), &code).await;
    let ferry = verified(&mut peer, ferry).await;
    let transit = peer.recv_until("transit").await;
    let _ = peer.recv_until("offer").await;
    peer.send_json(json!({"error": "transfer rejected"})).await;
    let _ = ferry.finish().await;
    let log = proxy.log.lock().unwrap().clone();
    (transit, log)
}

#[tokio::test(flavor = "multi_thread")]
async fn without_force_relay_direct_hints_are_sent() {
    let (transit, _) = sender_transit(&[]).await;
    assert!(!direct_hints(&transit).is_empty(), "control: {transit}");
}

#[tokio::test(flavor = "multi_thread")]
async fn force_relay_sender_sends_no_direct_hints() {
    let (transit, log) = sender_transit(&["--force-relay"]).await;
    assert_eq!(direct_hints(&transit), Vec::<String>::new(), "{transit}");
    let abilities = transit["abilities-v1"].to_string();
    assert!(!abilities.contains("direct-tcp-v1"), "{abilities}");
    let everything = format!("{transit} {}", log.join(" "));
    for addr in local_addresses() {
        assert!(!everything.contains(&addr), "{addr} leaked: {everything}");
    }
}

/// The receiver under `--force-relay`: no direct hint in its answer, no
/// connection to ours, and the transfer still completes through the relay.
#[tokio::test(flavor = "multi_thread")]
async fn force_relay_receiver_never_connects_directly() {
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    let mut peer = EvilPeer::allocate(&server.url()).await;
    let ferry = Ferry::new(&server, "receive")
        .args(["--force-relay", "--yes", "-o"])
        .arg(&sandbox.out)
        .arg(&peer.code)
        .spawn();
    let ferry = verified(&mut peer, ferry).await;
    let ours = EvilTransit::new().await;
    peer.send_json(ours.message()).await;
    peer.send_json(json!({"offer": {"file": {"filename": "r.txt", "filesize": 5}}}))
        .await;
    let theirs = peer.recv_until("transit").await;
    assert_eq!(direct_hints(&theirs), Vec::<String>::new(), "{theirs}");
    assert_eq!(reply(&mut peer).await.unwrap(), json!({"file_ack": "ok"}));
    let relay = server.relay().trim_start_matches("tcp:").to_owned();
    let mut stream = via_relay(&relay, &peer.transit_key(), Role::Sender).await;
    stream.send_data(b"hello", 5).await;
    assert!(stream.read_record().await.is_some(), "ack");
    ferry.finish().await.assert_success();
    assert!(
        !ours.was_dialed(Duration::from_millis(200)).await,
        "dialed directly"
    );
    assert_eq!(std::fs::read(sandbox.out.join("r.txt")).unwrap(), b"hello");
}

/// A whole file transfer to `ferry receive -vvv` through a logging proxy.
#[tokio::test(flavor = "multi_thread")]
async fn logs_and_server_never_see_code_words_keys_or_names() {
    let server = TestServer::start().await;
    let proxy = Proxy::start(server.url(), Fault::None).await;
    let sandbox = Sandbox::new();
    let mut peer = EvilPeer::allocate(&server.url()).await;
    let ferry = Ferry::with_urls("receive", &proxy.url(), &server.relay())
        .args(["-vvv", "--listen", "127.0.0.1", "--yes", "-o"])
        .arg(&sandbox.out)
        .arg(&peer.code)
        .spawn();
    let ferry = verified(&mut peer, ferry).await;
    let transit = EvilTransit::new().await;
    peer.send_json(transit.message()).await;
    let name = "confidential-report.pdf";
    peer.send_json(json!({"offer": {"file": {"filename": name, "filesize": 25}}}))
        .await;
    assert!(reply(&mut peer).await.is_ok());
    let mut stream = transit.accept(&peer.transit_key(), Role::Sender).await;
    stream.send_data(b"attack at dawn, bring tea", 25).await;
    let _ = stream.read_record().await;
    let done = ferry.finish().await;
    let log = proxy.log.lock().unwrap().join("\n");
    let ferry_side = side_of(&log);
    let words = peer.code.split_once('-').unwrap().1.to_owned();
    let mut forbidden = secrets(peer.key(), &[peer.side.clone(), ferry_side]);
    forbidden.push(words.clone());
    assert!(done.stderr.contains("TRACE"), "-vvv gives trace logs");
    for secret in &forbidden {
        assert!(
            !done.stderr.contains(secret.as_str()),
            "{secret} in the logs"
        );
        assert!(
            !log.contains(secret.as_str()),
            "{secret} sent to the server"
        );
    }
    for plain in [name, "attack at dawn"] {
        assert!(!log.contains(plain), "{plain} sent to the server in clear");
    }
}

/// The sender's logs, apart from the lines that show the code on purpose.
#[tokio::test(flavor = "multi_thread")]
async fn sender_logs_show_the_code_only_where_meant_to() {
    let server = TestServer::start().await;
    let code = format!("{}-quiet-words", 100 + rand::random::<u16>() % 9000);
    let ferry = Ferry::new(&server, "send")
        .args(["-vvv", "--text", "hello", "--code", &code])
        .spawn();
    let mut peer = EvilPeer::with_code(&server.url(), &code).await;
    let ferry = verified(&mut peer, ferry).await;
    let _ = peer.recv_until("offer").await;
    peer.send_json(json!({"answer": {"message_ack": "ok"}}))
        .await;
    let done = ferry.finish().await;
    done.assert_success();
    let secrets = secrets(peer.key(), &[peer.side.clone()]);
    for line in done.stderr.lines() {
        let announced = line.contains("Wormhole code is")
            || line.trim_start().starts_with("ferry receive")
            || line.contains("any wormhole client works too");
        if !announced {
            assert!(!line.contains("quiet-words"), "code words logged: {line}");
        }
        for s in &secrets {
            assert!(!line.contains(s.as_str()), "key logged: {line}");
        }
    }
}

/// ferry's side, from its `bind` command.
fn side_of(log: &str) -> String {
    log.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["type"] == "bind")
        .and_then(|v| v["side"].as_str().map(str::to_owned))
        .expect("ferry bound")
}
