//! Cancel is an outcome: Ctrl-C anywhere ends ferry at once with 130, tells the
//! other side (which says "cancelled" and exits 7 instead of waiting forever),
//! and releases the code, so the next try with it works.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns, in a test crate

use std::path::Path;

use ferry_test_support::ferry_bin::pty_available;
use ferry_test_support::interactive::{delivered, Interactive, CTRL_C};
use ferry_test_support::scenario::{offer_to_ferry, verified};
use ferry_test_support::{fresh_code, EvilPeer, Ferry, Sandbox, TestServer};
use serde_json::json;

const PEER_CANCELLED: &str = "ferry: error: the other side cancelled the transfer";

fn file_to_send(dir: &Path) -> String {
    let file = dir.join("report.txt");
    std::fs::write(&file, b"quarterly numbers").unwrap();
    file.to_string_lossy().into_owned()
}

fn with_protocol<'a>(args: &[&'a str], v1: bool) -> Vec<&'a str> {
    let mut all = args.to_vec();
    if v1 {
        all.push("--v1");
    }
    all
}

/// A whole transfer with `code` works: nobody holds the nameplate any more.
async fn code_is_free(server: &TestServer, code: &str) {
    let sending = ["--code", code, "--text", "again"];
    let sender = Interactive::start(server, "send", &sending, &[], false);
    let receiver = Interactive::start(server, "receive", &[code], &[], false);
    delivered(sender, receiver, "again").await;
}

/// A file transfer stopped at the receiver's `Accept? [y/N]`; the receiver runs
/// under a pseudo-terminal when `pty`.
struct AtThePrompt {
    server: TestServer,
    sandbox: Sandbox,
    code: String,
    sender: Interactive,
    receiver: Interactive,
}

async fn at_the_prompt(v1: bool, pty: bool) -> AtThePrompt {
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    let code = fresh_code();
    let file = file_to_send(&sandbox.cwd);
    let sending = with_protocol(&["--code", &code, &file], v1);
    let mut sender = Interactive::start(&server, "send", &sending, &[], false);
    sender.wait_for("Wormhole code is").await;
    let out = sandbox.out.to_string_lossy().into_owned();
    let receiving = with_protocol(&["--listen", "127.0.0.1", "-o", &out, &code], v1);
    let mut receiver = Interactive::start(&server, "receive", &receiving, &[], pty);
    receiver.wait_for("Accept? [y/N]").await;
    AtThePrompt {
        server,
        sandbox,
        code,
        sender,
        receiver,
    }
}

/// The receiver's person presses Ctrl-C at `Accept? [y/N]` (under a terminal:
/// the key makes the SIGINT). Before, the prompt held the runtime until Enter
/// and the sender heard "declined".
async fn ctrl_c_at_the_accept_prompt(v1: bool) {
    let mut t = at_the_prompt(v1, true).await;
    t.receiver.write(CTRL_C).await;

    let (status, said) = t.receiver.finish().await;
    assert_eq!(status.code(), Some(130), "receiver: {said}");
    assert!(said.contains("ferry: interrupted"), "receiver: {said}");
    let (status, said) = t.sender.finish().await;
    assert_eq!(status.code(), Some(7), "sender: {said}");
    assert!(said.contains(PEER_CANCELLED), "sender: {said}");
    assert!(!said.contains("declined"), "sender: {said}");
    assert!(!t.sandbox.out.join("report.txt").exists());
    code_is_free(&t.server, &t.code).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_at_the_accept_prompt_cancels_both_sides_v1() {
    assert!(
        pty_available(),
        "util-linux `script` is needed for the terminal tests"
    );
    ctrl_c_at_the_accept_prompt(true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_at_the_accept_prompt_cancels_both_sides_native() {
    assert!(
        pty_available(),
        "util-linux `script` is needed for the terminal tests"
    );
    ctrl_c_at_the_accept_prompt(false).await;
}

/// The sender gives up while the receiver is deciding: the receiver's prompt
/// ends at once with "the other side cancelled" (no answer typed).
async fn sender_cancels_while_the_receiver_decides(v1: bool) {
    let t = at_the_prompt(v1, false).await;
    t.sender.interrupt();
    let (status, said) = t.sender.finish().await;
    assert_eq!(status.code(), Some(130), "sender: {said}");
    assert!(said.contains("ferry: interrupted"), "sender: {said}");

    let (status, said) = t.receiver.finish().await;
    assert_eq!(status.code(), Some(7), "receiver: {said}");
    assert!(said.contains(PEER_CANCELLED), "receiver: {said}");
    code_is_free(&t.server, &t.code).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sender_cancels_while_the_receiver_decides_v1() {
    sender_cancels_while_the_receiver_decides(true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sender_cancels_while_the_receiver_decides_native() {
    sender_cancels_while_the_receiver_decides(false).await;
}

/// A `kill` (SIGTERM) or a closed terminal (SIGHUP) cancels like Ctrl-C: the
/// code is released, and ferry exits 128 + the signal's number. Before, the
/// signal's default action killed ferry with the code still claimed.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_and_sighup_release_the_code() {
    let server = TestServer::start().await;
    for (signal, exit, word) in [
        ("TERM", 143, "ferry: terminated"),
        ("HUP", 129, "ferry: hung up"),
    ] {
        let code = fresh_code();
        let sending = ["--code", &code, "--text", "x"];
        let mut sender = Interactive::start(&server, "send", &sending, &[], false);
        sender.wait_for("Wormhole code is").await;
        sender.signal(signal);
        let (status, said) = sender.finish().await;
        assert_eq!(status.code(), Some(exit), "{said}");
        assert!(said.contains(word), "{said}");
        code_is_free(&server, &code).await;
    }
}

/// SIGTERM at the accept prompt: the sender hears "cancelled" (exit 7).
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_at_the_accept_prompt_tells_the_sender() {
    let t = at_the_prompt(false, false).await;
    t.receiver.signal("TERM");
    let (status, said) = t.receiver.finish().await;
    assert_eq!(status.code(), Some(143), "receiver: {said}");
    let (status, said) = t.sender.finish().await;
    assert_eq!(status.code(), Some(7), "sender: {said}");
    assert!(said.contains(PEER_CANCELLED), "sender: {said}");
}

/// Ctrl-C while the sender waits for a receiver releases the nameplate: before,
/// the dead side kept its claim and the next try with the code was "crowded".
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_while_waiting_releases_the_fresh_code() {
    let server = TestServer::start().await;
    let code = fresh_code();
    let mut sender = Interactive::start(
        &server,
        "send",
        &["--code", &code, "--text", "x"],
        &[],
        false,
    );
    sender.wait_for("Wormhole code is").await;
    sender.interrupt();
    let (status, said) = sender.finish().await;
    assert_eq!(status.code(), Some(130), "{said}");
    assert!(said.contains("ferry: interrupted"), "{said}");
    code_is_free(&server, &code).await;
}

/// Mid-transfer, the other side (any wormhole client) gets the v1 error
/// message every client stops on.
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_mid_transfer_tells_the_sender() {
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    let offer = json!({"file": {"filename": "big.bin", "filesize": 1 << 20}});
    let (mut peer, ferry, mut stream) = offer_to_ferry(&server, &sandbox, offer)
        .await
        .accepted()
        .await;
    stream.send_data(&[5u8; 64 << 10], 16 << 10).await;
    let pid = ferry.child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status();
    assert!(killed.unwrap().success());
    let told = peer.recv_until("error").await;
    assert_eq!(told, json!("transfer cancelled"));
    let done = ferry.finish().await;
    assert_eq!(done.code(), Some(130), "{}", done.stderr);
    assert!(!sandbox.out.join("big.bin").exists());
}

/// A sender that says it cancelled (as ferry does) is reported so, exit 7.
#[tokio::test(flavor = "multi_thread")]
async fn a_peer_that_cancelled_is_reported_as_cancelled() {
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    let mut peer = EvilPeer::allocate(&server.url()).await;
    let running = Ferry::receive(&server, &peer.code, &sandbox.out, &sandbox.cwd).spawn();
    let running = verified(&mut peer, running).await;
    peer.send_json(json!({"error": "transfer cancelled"})).await;
    let done = running.finish().await;
    assert_eq!(done.code(), Some(7), "{}", done.stderr);
    assert!(done.stderr.contains(PEER_CANCELLED), "{}", done.stderr);
}

/// The end of input at `Accept? [y/N]` is a "no", not a cancel: the sender
/// hears "declined" (exit 4).
#[tokio::test(flavor = "multi_thread")]
async fn end_of_input_at_the_accept_prompt_declines() {
    let mut t = at_the_prompt(false, false).await;
    t.receiver.close_stdin();
    let (status, said) = t.receiver.finish().await;
    assert_eq!(status.code(), Some(4), "receiver: {said}");
    let (status, said) = t.sender.finish().await;
    assert_eq!(status.code(), Some(4), "sender: {said}");
    assert!(said.contains("declined"), "sender: {said}");
}
