//! Hostile mailbox messages from a peer that knows the code: malformed,
//! unknown, incomplete, huge, undecryptable, replayed and reordered. Each is
//! a clear error or handled safely; none writes anything.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns, in a test crate

use ferry_proto::wire::mailbox::ClientMessage;
use ferry_test_support::scenario::{reply, sending_to_evil, verified};
use ferry_test_support::{EvilPeer, Ferry, Finished, Sandbox, TestServer};
use serde_json::json;

/// Meets `ferry receive`, lets `act` misbehave, returns how ferry ended.
async fn against_receiver<F>(act: F) -> (Sandbox, Finished)
where
    F: for<'a> FnOnce(&'a mut EvilPeer) -> futures_util::future::BoxFuture<'a, ()>,
{
    let server = TestServer::start_with(|c| c.limits.max_body_bytes = 64 << 20).await;
    let sandbox = Sandbox::new();
    let before = sandbox.snapshot();
    let mut peer = EvilPeer::allocate(&server.url()).await;
    let ferry = Ferry::receive(&server, &peer.code, &sandbox.out, &sandbox.cwd).spawn();
    let ferry = verified(&mut peer, ferry).await;
    act(&mut peer).await;
    let done = ferry.finish().await;
    assert_eq!(before.changes(&sandbox.snapshot()), Vec::<String>::new());
    (sandbox, done)
}

async fn fails_with(payload: &'static [u8], words: &[&str]) {
    let (_, done) = against_receiver(|p| Box::pin(p.send(payload))).await;
    done.assert_failed_with(words);
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_json() {
    fails_with(
        b"{\"offer\": {\"file\"",
        &["sent something invalid", "undecodable"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn not_utf8() {
    fails_with(b"\xff\xfe\x00garbage", &["sent something invalid"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_message_type() {
    fails_with(br#"{"dilate": {"please": 1}}"#, &["undecodable", "dilate"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_offer_type() {
    fails_with(
        br#"{"offer": {"tarball": {"name": "x"}}}"#,
        &["undecodable"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_fields() {
    fails_with(
        br#"{"offer": {"file": {"filename": "a"}}}"#,
        &["undecodable", "filesize"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn negative_size() {
    fails_with(
        br#"{"offer": {"file": {"filename": "a", "filesize": -1}}}"#,
        &["undecodable"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_keys_in_one_message() {
    fails_with(
        br#"{"error": "x", "offer": {"message": "y"}}"#,
        &["undecodable"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn answer_from_the_sender() {
    fails_with(
        br#"{"answer": {"file_ack": "ok"}}"#,
        &["an answer from the sender"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn undecryptable_body() {
    let (_, done) = against_receiver(|p| {
        Box::pin(p.send_raw(ClientMessage::Add {
            phase: "0".into(),
            body: "00".repeat(64),
        }))
    })
    .await;
    done.assert_failed_with(&["phase 0 does not decrypt"]);
}

/// Shorter than a nonce and a tag: Rust and Go wormhole clients panic here.
#[tokio::test(flavor = "multi_thread")]
async fn body_shorter_than_a_nonce() {
    let (_, done) = against_receiver(|p| {
        Box::pin(p.send_raw(ClientMessage::Add {
            phase: "0".into(),
            body: "abcd".into(),
        }))
    })
    .await;
    done.assert_failed_with(&["does not decrypt"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn body_not_hex() {
    let (_, done) = against_receiver(|p| {
        Box::pin(p.send_raw(ClientMessage::Add {
            phase: "0".into(),
            body: "not hex at all".into(),
        }))
    })
    .await;
    done.assert_failed_with(&["does not decrypt"]);
}

/// The same encrypted message twice (as a reconnecting Python client does)
/// is delivered once; unknown phases are ignored.
#[tokio::test(flavor = "multi_thread")]
async fn replayed_message_and_unknown_phase() {
    let (_, done) = against_receiver(|p| {
        Box::pin(async move {
            p.send_raw(ClientMessage::Add {
                phase: "dilate-0".into(),
                body: "00".repeat(50),
            })
            .await;
            p.send_json(json!({"offer": {"message": "only once"}}))
                .await;
            let replay = p.sent.last().cloned().expect("the offer frame");
            let v: serde_json::Value = serde_json::from_str(&replay).unwrap();
            let (phase, body) = (v["phase"].as_str().unwrap(), v["body"].as_str().unwrap());
            for _ in 0..3 {
                p.send_raw(ClientMessage::Add {
                    phase: phase.into(),
                    body: body.into(),
                })
                .await;
            }
            assert_eq!(reply(p).await.unwrap(), json!({"message_ack": "ok"}));
        })
    })
    .await;
    done.assert_success();
    assert_eq!(done.stdout, "only once\n");
}

/// Phases are delivered in order even when the server reorders them.
#[tokio::test(flavor = "multi_thread")]
async fn reordered_phases() {
    let (_, done) = against_receiver(|p| {
        Box::pin(async move {
            let transit = json!({"transit": {"abilities-v1": [], "hints-v1": []}});
            let offer = json!({"offer": {"message": "in order"}});
            let key = p.key().clone();
            for (phase, msg) in [("1", offer), ("0", transit)] {
                let body = key
                    .phase_key(&p.side, phase)
                    .seal(&[9; 24], msg.to_string().as_bytes());
                p.send_raw(ClientMessage::Add {
                    phase: phase.into(),
                    body: hex::encode(body),
                })
                .await;
            }
            assert_eq!(reply(p).await.unwrap(), json!({"message_ack": "ok"}));
        })
    })
    .await;
    done.assert_success();
    assert_eq!(done.stdout, "in order\n");
}

/// A 2 MiB text message (4 MiB of hex on the wire) arrives intact.
#[tokio::test(flavor = "multi_thread")]
async fn huge_text_message() {
    let (_, done) = against_receiver(|p| {
        Box::pin(async move {
            let text = "x".repeat(2 << 20);
            p.send_json(json!({"offer": {"message": text}})).await;
            let _ = reply(p).await;
        })
    })
    .await;
    done.assert_success();
    assert_eq!(done.stdout.len(), (2 << 20) + 1);
}

/// Bigger than a WebSocket message may be (64 MiB): a clear error, no hang.
#[tokio::test(flavor = "multi_thread")]
async fn message_too_big_for_the_websocket() {
    let server = TestServer::start_with(|c| c.limits.max_body_bytes = 256 << 20).await;
    let sandbox = Sandbox::new();
    let mut peer = EvilPeer::allocate(&server.url()).await;
    let ferry = Ferry::receive(&server, &peer.code, &sandbox.out, &sandbox.cwd).spawn();
    let ferry = verified(&mut peer, ferry).await;
    let text = "y".repeat(40 << 20);
    peer.send_json(json!({"offer": {"message": text}})).await;
    let done = ferry.finish().await;
    done.assert_failed_with(&["mailbox server"]);
    assert!(done.stdout.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_code() {
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    let mut peer = EvilPeer::allocate(&server.url()).await;
    let nameplate = peer.code.split('-').next().unwrap().to_owned();
    let wrong = format!("{nameplate}-not-it");
    let ferry = Ferry::receive(&server, &wrong, &sandbox.out, &sandbox.cwd).spawn();
    assert!(peer.try_verify().await.is_err(), "a wrong code confirmed");
    let done = ferry.finish().await;
    done.assert_failed_with(&["wrong code"]);
    assert_eq!(done.code(), Some(3));
}

/// An evil receiver facing `ferry send`: offers back, odd answers, refusals.
async fn against_sender(reply_with: serde_json::Value) -> Finished {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f.txt");
    std::fs::write(&file, b"payload").unwrap();
    let (mut peer, ferry) = sending_to_evil(&server, &file, "evil-answer").await;
    let _ = peer.recv_until("offer").await;
    peer.send_json(reply_with).await;
    let done = ferry.finish().await;
    assert_eq!(std::fs::read(&file).unwrap(), b"payload");
    done
}

#[tokio::test(flavor = "multi_thread")]
async fn receiver_sends_an_offer() {
    against_sender(json!({"offer": {"message": "me too"}}))
        .await
        .assert_failed_with(&["an offer from the receiver"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn receiver_answers_the_wrong_kind() {
    against_sender(json!({"answer": {"message_ack": "ok"}}))
        .await
        .assert_failed_with(&["unexpected answer"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn receiver_rejects() {
    let done = against_sender(json!({"error": "transfer rejected"})).await;
    done.assert_failed_with(&["declined"]);
    assert_eq!(done.code(), Some(4));
}
