//! Untrusted text on its way to a person: text messages (under a real
//! pseudo-terminal), the server's message of the day, the peer's error
//! strings and host names. No raw control or bidi character reaches the
//! terminal, piped or not; only `--raw` writes a message byte for byte.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns, in a test crate

use ferry_test_support::ferry_bin::pty_available;
use ferry_test_support::scenario::{reply, verified};
use ferry_test_support::{raw_controls, EvilPeer, Ferry, Sandbox, TestServer};
use serde_json::json;

const NASTY: &str =
    "\u{1b}]0;owned\u{7}\u{1b}[2J\u{1b}[31mred\u{9b}1m\u{202e}txt.exe\r\u{8}\u{0}end";

/// The evil sender offers `text` to `ferry receive EXTRA…`, piped.
async fn receive_text(text: &str, extra: &[&str]) -> ferry_test_support::Finished {
    receive_text_with(text, extra, false).await
}

/// As [`receive_text`]; `pty` runs ferry under a pseudo-terminal.
async fn receive_text_with(text: &str, extra: &[&str], pty: bool) -> ferry_test_support::Finished {
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    let mut peer = EvilPeer::allocate(&server.url()).await;
    let mut cmd = Ferry::receive(&server, &peer.code, &sandbox.out, &sandbox.cwd);
    cmd.args(extra);
    let ferry = if pty { cmd.under_pty() } else { cmd }.spawn();
    let ferry = verified(&mut peer, ferry).await;
    peer.send_json(json!({"offer": {"message": text}})).await;
    assert_eq!(
        reply(&mut peer).await.unwrap(),
        json!({"message_ack": "ok"})
    );
    ferry.finish().await
}

#[tokio::test(flavor = "multi_thread")]
async fn text_message_on_a_terminal_is_escaped() {
    assert!(
        pty_available(),
        "util-linux `script` is needed for the terminal tests"
    );
    let done = receive_text_with(NASTY, &[], true).await;
    done.assert_success();
    let bad = raw_controls(done.stdout.replace("\r\n", "\n").as_bytes());
    assert!(bad.is_empty(), "raw controls {bad:?} in {:?}", done.stdout);
    assert!(
        done.stdout.contains("\\x1b]0;owned\\x07"),
        "{:?}",
        done.stdout
    );
    assert!(done.stdout.contains("\\u{202e}"), "{:?}", done.stdout);
}

/// Piped, the message is escaped too: `ferry receive CODE | tee msg.txt` or
/// `| less -R` would hand raw escapes to the terminal. Newlines stay.
#[tokio::test(flavor = "multi_thread")]
async fn text_message_into_a_pipe_is_escaped() {
    let done = receive_text(&format!("{NASTY}\nsecond line"), &[]).await;
    done.assert_success();
    let bad = raw_controls(done.stdout.as_bytes());
    assert!(bad.is_empty(), "raw controls {bad:?} in {:?}", done.stdout);
    assert!(
        done.stdout.contains("\\x1b]0;owned\\x07"),
        "{:?}",
        done.stdout
    );
    assert!(
        done.stdout.ends_with("end\nsecond line\n"),
        "{:?}",
        done.stdout
    );
    done.assert_clean_stderr();
}

/// `--raw` is the explicit way to get the bytes exactly as sent.
#[tokio::test(flavor = "multi_thread")]
async fn text_message_with_raw_is_exact() {
    let done = receive_text(NASTY, &["--raw"]).await;
    done.assert_success();
    assert_eq!(done.stdout, format!("{NASTY}\n"));
    done.assert_clean_stderr();
}

#[tokio::test(flavor = "multi_thread")]
async fn motd_is_escaped() {
    let server = TestServer::start_with(|c| c.motd = Some(NASTY.into())).await;
    let sandbox = Sandbox::new();
    let code = format!("{}-motd-test", 100 + rand::random::<u16>() % 9000);
    let mut running = Ferry::new(&server, "receive")
        .args(["--yes", "-o"])
        .arg(&sandbox.out)
        .arg(&code)
        .spawn();
    let mut peer = EvilPeer::with_code(&server.url(), &code).await;
    running = verified(&mut peer, running).await;
    peer.send_json(json!({"offer": {"message": "hi"}})).await;
    let _ = reply(&mut peer).await;
    let done = running.finish().await;
    done.assert_success();
    done.assert_clean_stderr();
    assert!(
        done.stderr.contains("Server says: \\x1b]0;owned"),
        "{}",
        done.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn peer_error_string_is_escaped() {
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    let mut peer = EvilPeer::allocate(&server.url()).await;
    let ferry = Ferry::receive(&server, &peer.code, &sandbox.out, &sandbox.cwd).spawn();
    let ferry = verified(&mut peer, ferry).await;
    peer.send_json(json!({"error": NASTY})).await;
    let done = ferry.finish().await;
    done.assert_failed_with(&["the other side reported an error", "\\x1b[2J"]);
}

/// Host names in the peer's hints end up in connection errors.
#[tokio::test(flavor = "multi_thread")]
async fn peer_host_names_in_errors_are_escaped() {
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    let mut peer = EvilPeer::allocate(&server.url()).await;
    let ferry = Ferry::with_urls("receive", &server.url(), "tcp:127.0.0.1:9")
        .args(["--no-listen", "--yes", "-o"])
        .arg(&sandbox.out)
        .arg(&peer.code)
        .spawn();
    let ferry = verified(&mut peer, ferry).await;
    let hint =
        json!({"type": "direct-tcp-v1", "hostname": "\u{1b}[2Jevil\u{202e}.invalid", "port": 9});
    peer.send_json(
        json!({"transit": {"abilities-v1": [{"type": "direct-tcp-v1"}], "hints-v1": [hint]}}),
    )
    .await;
    peer.send_json(json!({"offer": {"file": {"filename": "f", "filesize": 1}}}))
        .await;
    let done = ferry.finish().await;
    done.assert_failed_with(&["could not connect", "\\x1b[2Jevil"]);
}
