//! Sizes that do not match what was offered, offers no disk can hold, and an
//! evil receiver that lies in its final ack.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns, in a test crate

use std::time::Duration;

use ferry_proto::transit::Role;
use ferry_test_support::scenario::{offer_to_ferry, sending_to_evil};
use ferry_test_support::{EvilPeer, EvilTransit, Sandbox, TestServer};
use serde_json::json;

async fn offer_file(size: u64) -> (TestServer, Sandbox, ferry_test_support::scenario::Offered) {
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    let offer = json!({"file": {"filename": "f.bin", "filesize": size}});
    let offered = offer_to_ferry(&server, &sandbox, offer).await;
    (server, sandbox, offered)
}

#[tokio::test(flavor = "multi_thread")]
async fn more_bytes_than_offered() {
    let (_server, sandbox, offered) = offer_file(10).await;
    let before = sandbox.snapshot();
    let (_peer, ferry, mut stream) = offered.accepted().await;
    stream.send_data(&[1u8; 20], 20).await;
    let done = ferry.finish().await;
    done.assert_failed_with(&["more than the 10 bytes offered"]);
    sandbox.assert_no_partials(&[]);
    assert_eq!(before.changes(&sandbox.snapshot()), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn fewer_bytes_then_close() {
    let (_server, sandbox, offered) = offer_file(1000).await;
    let before = sandbox.snapshot();
    let (_peer, ferry, mut stream) = offered.accepted().await;
    stream.send_data(&[1u8; 500], 100).await;
    drop(stream);
    let done = ferry.finish().await;
    done.assert_failed_with(&["went away"]);
    assert_eq!(done.code(), Some(6));
    sandbox.assert_no_partials(&[]);
    assert_eq!(before.changes(&sandbox.snapshot()), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn offer_of_one_exbibyte_is_refused_up_front() {
    let (_server, sandbox, offered) = offer_file(1 << 60).await;
    let before = sandbox.snapshot();
    let (said, ferry) = offered.refused().await;
    let done = ferry.finish().await;
    done.assert_failed_with(&["not enough free space"]);
    assert_eq!(done.code(), Some(5));
    assert!(said.contains("space"), "{said}");
    assert_eq!(before.changes(&sandbox.snapshot()), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn directory_offer_of_u64_max_is_refused_up_front() {
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    let before = sandbox.snapshot();
    let offer = json!({"directory": {"mode": "zipfile/deflated", "dirname": "d",
        "zipsize": u64::MAX, "numbytes": u64::MAX, "numfiles": 1}});
    let (_, ferry) = offer_to_ferry(&server, &sandbox, offer)
        .await
        .refused()
        .await;
    ferry
        .finish()
        .await
        .assert_failed_with(&["not enough free space"]);
    assert_eq!(before.changes(&sandbox.snapshot()), Vec::<String>::new());
}

/// `ferry send --code` with a file of `len` bytes, and an evil receiver that
/// confirmed the key and read the offer.
async fn send_to_evil(
    len: usize,
) -> (
    TestServer,
    tempfile::TempDir,
    EvilPeer,
    ferry_test_support::Running,
) {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("payload.bin");
    std::fs::write(&file, vec![0x42; len]).unwrap();
    let (peer, ferry) = sending_to_evil(&server, &file, "evil-receiver").await;
    (server, dir, peer, ferry)
}

/// Plays an honest receiver up to the final ack, then sends `ack`.
async fn receive_then_ack(peer: &mut EvilPeer, len: usize, ack: serde_json::Value) {
    let offer = peer.recv_until("offer").await;
    assert_eq!(offer["file"]["filesize"], len);
    let transit = EvilTransit::new().await;
    peer.send_json(transit.message()).await;
    peer.send_json(json!({"answer": {"file_ack": "ok"}})).await;
    let mut stream = transit.accept(&peer.transit_key(), Role::Receiver).await;
    let mut got = 0;
    while got < len {
        got += stream.read_record().await.expect("a record").len();
    }
    let frame = stream.frame(ack.to_string().as_bytes());
    stream.write_raw(&frame).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn final_ack_hash_mismatch() {
    let (_server, _dir, mut peer, ferry) = send_to_evil(100_000).await;
    let wrong = json!({"ack": "ok", "sha256": "00".repeat(32)});
    receive_then_ack(&mut peer, 100_000, wrong).await;
    let done = ferry.finish().await;
    done.assert_failed_with(&["sha-256 does not match"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn final_ack_not_ok() {
    let (_server, _dir, mut peer, ferry) = send_to_evil(1000).await;
    receive_then_ack(&mut peer, 1000, json!({"ack": "nope"})).await;
    ferry
        .finish()
        .await
        .assert_failed_with(&["sha-256 does not match"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn final_ack_garbage() {
    let (_server, _dir, mut peer, ferry) = send_to_evil(1000).await;
    receive_then_ack(&mut peer, 1000, json!(["not", "an", "ack"])).await;
    ferry.finish().await.assert_failed_with(&["ack"]);
}
