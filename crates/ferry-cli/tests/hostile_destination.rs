//! What is already in the output directory is never overwritten, followed or
//! clobbered; a full disk fails cleanly.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns, in a test crate

use std::os::unix::fs::symlink;
use std::time::Duration;

use ferry_test_support::ferry_bin::can_mount_tmpfs;
use ferry_test_support::scenario::{offer_to_ferry, verified};
use ferry_test_support::{EvilPeer, EvilTransit, Ferry, Sandbox, TestServer};
use serde_json::json;

fn file_offer(name: &str, size: usize) -> serde_json::Value {
    json!({"file": {"filename": name, "filesize": size}})
}

/// Offers `name` and expects the "already exists" refusal, nothing changed.
async fn refused_as_existing(sandbox: &Sandbox, name: &str) {
    let server = TestServer::start().await;
    let before = sandbox.snapshot();
    let (_, ferry) = offer_to_ferry(&server, sandbox, file_offer(name, 5))
        .await
        .refused()
        .await;
    let done = ferry.finish().await;
    done.assert_failed_with(&["already exists", "not overwriting"]);
    assert_eq!(done.code(), Some(5));
    assert_eq!(before.changes(&sandbox.snapshot()), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn existing_file_is_never_overwritten() {
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.out.join("f.txt"), b"mine").unwrap();
    refused_as_existing(&sandbox, "f.txt").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn existing_directory_is_never_replaced() {
    let sandbox = Sandbox::new();
    std::fs::create_dir(sandbox.out.join("d")).unwrap();
    refused_as_existing(&sandbox, "d").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn symlink_at_target_is_never_written_through() {
    let sandbox = Sandbox::new();
    symlink(
        sandbox.root.join("outside/keep.txt"),
        sandbox.out.join("f.txt"),
    )
    .unwrap();
    refused_as_existing(&sandbox, "f.txt").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dangling_symlink_at_target_is_never_followed() {
    let sandbox = Sandbox::new();
    let target = sandbox.root.join("outside/created-through-link.txt");
    symlink(&target, sandbox.out.join("f.txt")).unwrap();
    refused_as_existing(&sandbox, "f.txt").await;
    assert!(!target.exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn stale_partial_is_not_clobbered() {
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    let stale = ".f.txt.ferry-partial-00000000";
    std::fs::write(sandbox.out.join(stale), b"stale data").unwrap();
    let offered = offer_to_ferry(&server, &sandbox, file_offer("f.txt", 5)).await;
    let (_peer, ferry, mut stream) = offered.accepted().await;
    stream.send_data(b"fresh", 5).await;
    let _ack = stream.read_record().await.expect("ack");
    ferry.finish().await.assert_success();
    assert_eq!(
        std::fs::read(sandbox.out.join(stale)).unwrap(),
        b"stale data"
    );
    assert_eq!(std::fs::read(sandbox.out.join("f.txt")).unwrap(), b"fresh");
    sandbox.assert_no_partials(&[stale]);
}

/// A file (or link) that appears under the name while the data is on its way
/// wins: the rename never replaces it, and the received data is dropped.
#[tokio::test(flavor = "multi_thread")]
async fn name_taken_during_the_transfer() {
    for make_link in [false, true] {
        let server = TestServer::start().await;
        let sandbox = Sandbox::new();
        let offered = offer_to_ferry(&server, &sandbox, file_offer("f.txt", 200_000)).await;
        let (_peer, ferry, mut stream) = offered.accepted().await;
        stream.send_data(&[1u8; 100_000], 16 * 1024).await;
        let target = sandbox.out.join("f.txt");
        if make_link {
            symlink(sandbox.root.join("outside/keep.txt"), &target).unwrap();
        } else {
            std::fs::write(&target, b"arrived meanwhile").unwrap();
        }
        stream.send_data(&[1u8; 100_000], 16 * 1024).await;
        let _ack = stream.read_record().await;
        let done = ferry.finish().await;
        done.assert_failed_with(&["already exists"]);
        sandbox.assert_no_partials(&[]);
        assert_eq!(
            std::fs::read(sandbox.root.join("outside/keep.txt")).unwrap(),
            b"precious"
        );
        if !make_link {
            assert_eq!(std::fs::read(&target).unwrap(), b"arrived meanwhile");
        }
    }
}

/// What the namespaced run printed after ferry exited.
fn tmpfs_report(stdout: &str) -> (Vec<String>, String) {
    let (_, rest) = stdout.split_once("@@listing\n").expect("listing printed");
    let (listing, earlier) = rest.split_once("@@earlier ").expect("earlier printed");
    let names = listing.lines().map(str::to_owned).collect();
    (names, earlier.trim().to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn offer_larger_than_free_space_on_a_small_disk() {
    assert!(
        can_mount_tmpfs(),
        "the full-disk tests mount a tmpfs in a private mount namespace: run them as root, as scripts/test does"
    );
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    let mut peer = EvilPeer::allocate(&server.url()).await;
    let ferry =
        Ferry::receive_on_tmpfs(&server, &peer.code, &sandbox.out, &sandbox.cwd, "1m").spawn();
    let ferry = verified(&mut peer, ferry).await;
    let transit = EvilTransit::new().await;
    peer.send_json(transit.message()).await;
    peer.send_json(json!({"offer": file_offer("big.bin", 2 << 20)}))
        .await;
    let said = ferry_test_support::scenario::reply(&mut peer)
        .await
        .unwrap_err();
    assert!(said.contains("space"), "{said}");
    let done = ferry.finish().await;
    done.assert_failed_with(&["not enough free space"]);
    let (names, earlier) = tmpfs_report(&done.stdout);
    assert_eq!(names, ["earlier.txt"], "nothing written before refusing");
    assert_eq!(earlier, "precious");
}

#[tokio::test(flavor = "multi_thread")]
async fn disk_fills_mid_transfer() {
    assert!(
        can_mount_tmpfs(),
        "the full-disk tests mount a tmpfs in a private mount namespace: run them as root, as scripts/test does"
    );
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    let flag = sandbox.root.join("filled");
    let size = 6 << 20;
    let mut peer = EvilPeer::allocate(&server.url()).await;
    let ferry = Ferry::receive_on_tmpfs(&server, &peer.code, &sandbox.out, &sandbox.cwd, "8m")
        .env("FERRY_TEST_FILL_FLAG", flag.to_str().unwrap())
        .spawn();
    let ferry = verified(&mut peer, ferry).await;
    let transit = EvilTransit::new().await;
    peer.send_json(transit.message()).await;
    peer.send_json(json!({"offer": file_offer("big.bin", size)}))
        .await;
    let answer = ferry_test_support::scenario::reply(&mut peer)
        .await
        .expect("accepted");
    assert_eq!(answer, json!({"file_ack": "ok"}));
    let mut stream = transit
        .accept(&peer.transit_key(), ferry_proto::transit::Role::Sender)
        .await;
    stream.send_data(&vec![7u8; 2 << 20], 64 * 1024).await;
    for _ in 0..300 {
        if flag.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(flag.exists(), "the disk was never filled");
    stream
        .send_data(&vec![7u8; size - (2 << 20)], 64 * 1024)
        .await;
    drop(stream);
    let done = ferry.finish().await;
    done.assert_failed_with(&["no space left on device"]);
    let (names, earlier) = tmpfs_report(&done.stdout);
    assert_eq!(
        names,
        ["earlier.txt", "filler"],
        "partial removed, nothing else"
    );
    assert_eq!(earlier, "precious");
}
