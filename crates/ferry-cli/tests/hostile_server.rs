//! A hostile or broken mailbox server: frames dropped at every step,
//! duplicated, reordered, replayed, malformed or oversized, and servers that
//! go silent. ferry ends every time, with a clear error or a completed
//! transfer, and prints nothing raw from the server.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns, in a test crate

use std::sync::Arc;
use std::time::Duration;

use ferry_test_support::evil_server::{next_text, welcome, Fault, Proxy, Script, Scripted};
use ferry_test_support::{EvilPeer, Ferry, Finished, Running, TestServer};
use futures_util::SinkExt;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::Message;

/// No relay is used by text transfers; this port refuses connections.
const NO_RELAY: &str = "tcp:127.0.0.1:9";

/// A code whose nameplate no earlier call in this process used: a test that
/// makes dozens of attempts on one server leaves nameplates claimed, and a
/// repeat would be "crowded".
fn code() -> String {
    static NEXT: std::sync::OnceLock<std::sync::atomic::AtomicU32> = std::sync::OnceLock::new();
    let next = NEXT.get_or_init(|| u32::from(rand::random::<u16>()).into());
    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}-hostile-server", 100 + n % 9000)
}

/// An honest receiver of one text message, straight on the real server.
fn honest_receiver(url: String, code: String) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut peer = EvilPeer::with_code(&url, &code).await;
        if peer.try_verify().await.is_err() {
            return;
        }
        let offer = peer.recv_until("offer").await;
        assert_eq!(offer, json!({"message": "hello"}));
        peer.send_json(json!({"answer": {"message_ack": "ok"}}))
            .await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
}

/// Starts `ferry send --text hello --code CODE` on the mailbox server at `url`.
fn send_hello(url: &str, code: &str) -> Running {
    Ferry::with_urls("send", url, NO_RELAY)
        .args(["--text", "hello", "--code", code])
        .spawn()
}

/// `ferry send --text hello` through `proxy`, with an honest receiver.
async fn send_text_through(server: &TestServer, fault: Fault) -> Finished {
    let proxy = Proxy::start(server.url(), fault).await;
    let code = code();
    let ferry = send_hello(&proxy.url(), &code);
    let peer = honest_receiver(server.url(), code);
    let done = ferry.finish().await;
    peer.abort();
    done
}

#[tokio::test(flavor = "multi_thread")]
async fn connection_dropped_at_every_step() {
    let server = TestServer::start().await;
    let mut completed = false;
    for n in 0..40 {
        let done = send_text_through(&server, Fault::DropAfter(n)).await;
        done.assert_clean_stderr();
        if done.status.success() {
            completed = true;
            break;
        }
        let err = done.stderr.to_lowercase();
        assert!(
            err.contains("mailbox server") || err.contains("lost the connection"),
            "after {n} frames: {}",
            done.stderr
        );
        assert_eq!(done.code(), Some(6), "after {n} frames: {}", done.stderr);
    }
    assert!(completed, "never completed even with 40 frames");
}

/// The text was delivered and acknowledged; a server that vanishes while
/// ferry closes the mailbox does not make that a failure.
#[tokio::test(flavor = "multi_thread")]
async fn server_vanishes_during_close_after_success() {
    let server = TestServer::start().await;
    let done = send_text_through(&server, Fault::DropWhenClientCloses).await;
    done.assert_success();
    done.assert_clean_stderr();
}

/// Through `fault`, ferry either completes or blames the mailbox server.
async fn completes_or_blames_the_server(fault: Fault) {
    let server = TestServer::start().await;
    let done = send_text_through(&server, fault).await;
    done.assert_clean_stderr();
    assert!(
        done.status.success() || done.stderr.contains("mailbox server"),
        "{}",
        done.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_frame_duplicated() {
    completes_or_blames_the_server(Fault::Duplicate).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn frames_reordered_in_pairs() {
    completes_or_blames_the_server(Fault::SwapPairs).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn peer_messages_replayed() {
    let server = TestServer::start().await;
    let done = send_text_through(&server, Fault::ReplayMessages).await;
    done.assert_success();
    done.assert_clean_stderr();
}

/// Each early frame in turn replaced by something malformed.
#[tokio::test(flavor = "multi_thread")]
async fn malformed_frames_at_each_step() {
    let server = TestServer::start().await;
    let bad = [
        "{not json",
        r#"{"type": "message", "side": 5}"#,
        r#"{"type": "pong", "pong": "\u001b[2Jnot a number"}"#,
        r#"{"no-type": true}"#,
    ];
    for at in 0..6 {
        for text in bad {
            let done = send_text_through(&server, Fault::ReplaceAt(at, text.into())).await;
            done.assert_clean_stderr();
            if !done.status.success() {
                assert!(
                    done.stderr.contains("mailbox server"),
                    "{at} {text}: {}",
                    done.stderr
                );
            }
        }
    }
}

/// Runs `ferry send --text` against a scripted server; bounded by the runner.
async fn against(script: Script) -> (Finished, Scripted) {
    let server = Scripted::start(script).await;
    let done = send_hello(&server.url(), &code()).finish().await;
    (done, server)
}

fn script<F, Fut>(f: F) -> Script
where
    F: Fn(ferry_test_support::evil_server::Ws, ferry_test_support::evil_server::Log) -> Fut
        + Send
        + Sync
        + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    Arc::new(move |ws, log| Box::pin(f(ws, log)))
}

#[tokio::test(flavor = "multi_thread")]
async fn garbage_instead_of_welcome() {
    let (done, _) = against(script(|mut ws, _| async move {
        let _ = ws.send(Message::text("\u{1b}[2J garbage")).await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    }))
    .await;
    done.assert_failed_with(&["invalid message from the server"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn binary_frames_then_close() {
    let (done, _) = against(script(|mut ws, _| async move {
        for _ in 0..3 {
            let _ = ws.send(Message::binary(vec![0x1b, 0x5b, 0x32, 0x4a])).await;
        }
        let _ = ws.close(None).await;
    }))
    .await;
    done.assert_failed_with(&["lost the connection"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn welcome_error_with_escapes() {
    let server = TestServer::start_with(|c| {
        c.signal_error = Some("\u{1b}]0;owned\u{7}\u{1b}[2Jgo away\u{9b}".into())
    })
    .await;
    let done = send_hello(&server.url(), &code()).finish().await;
    done.assert_failed_with(&["refused service", "go away", "\\x1b"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn server_error_with_escapes() {
    let (done, _) = against(script(|mut ws, log| async move {
        let _ = ws.send(welcome("hi")).await;
        let _ = next_text(&mut ws, &log).await;
        let e = json!({"type": "error", "error": "\u{1b}[31mcrowded\u{1b}[0m\u{202e}", "orig": {}});
        let _ = ws.send(Message::text(e.to_string())).await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    }))
    .await;
    done.assert_failed_with(&["crowded", "\\x1b"]);
}

/// A frame header announcing 2^62 bytes: refused by its length, at once.
#[tokio::test(flavor = "multi_thread")]
async fn oversize_frame_header() {
    let (done, _) = against(script(|mut ws, _| async move {
        let _ = ws.send(welcome("hi")).await;
        let mut header = vec![0x81, 127];
        header.extend_from_slice(&(1u64 << 62).to_be_bytes());
        let tcp = ws.get_mut();
        let _ = tcp.write_all(&header).await;
        let _ = tcp.write_all(&[b'x'; 1024]).await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    }))
    .await;
    done.assert_failed_with(&["lost the connection"]);
}

// A server that never answers the upgrade, or goes silent after its welcome, is
// given up on after ferry's connect and keepalive timeouts: those tests run on
// the library with a paused clock (crates/ferry/tests/timeouts.rs), so none
// waits 30 to 60 s of real time here.

/// The server acknowledges and answers, but the other side never comes: ferry
/// keeps waiting (as every wormhole client does) until the user cancels. Here
/// the test is the user, after a few seconds.
#[tokio::test(flavor = "multi_thread")]
async fn waiting_for_a_peer_that_never_comes_can_be_cancelled() {
    let server = TestServer::start().await;
    let mut running = send_hello(&server.url(), &code());
    let early = tokio::time::timeout(Duration::from_secs(3), running.child.wait()).await;
    assert!(
        early.is_err(),
        "ferry gave up on a peer that may still come"
    );
    running.child.start_kill().expect("kill");
    let _ = running.child.wait().await;
}

/// A received file is complete and in place before the mailbox is closed; a
/// server that vanishes then changes nothing about it.
#[tokio::test(flavor = "multi_thread")]
async fn received_file_stays_when_the_server_vanishes_at_close() {
    let server = TestServer::start().await;
    let proxy = Proxy::start(server.url(), Fault::DropWhenClientCloses).await;
    let sandbox = ferry_test_support::Sandbox::new();
    let mut peer = EvilPeer::allocate(&server.url()).await;
    let ferry = Ferry::with_urls("receive", &proxy.url(), &server.relay())
        .args(["--listen", "127.0.0.1", "--yes", "-o"])
        .arg(&sandbox.out)
        .arg(&peer.code)
        .spawn();
    let ferry = ferry_test_support::scenario::verified(&mut peer, ferry).await;
    let transit = ferry_test_support::EvilTransit::new().await;
    peer.send_json(transit.message()).await;
    peer.send_json(json!({"offer": {"file": {"filename": "kept.txt", "filesize": 5}}}))
        .await;
    assert!(ferry_test_support::scenario::reply(&mut peer).await.is_ok());
    let role = ferry_proto::transit::Role::Sender;
    let mut stream = transit.accept(&peer.transit_key(), role).await;
    stream.send_data(b"hello", 5).await;
    assert!(stream.read_record().await.is_some(), "ack");
    let done = ferry.finish().await;
    done.assert_success();
    assert_eq!(
        std::fs::read(sandbox.out.join("kept.txt")).unwrap(),
        b"hello"
    );
    sandbox.assert_no_partials(&[]);
}
