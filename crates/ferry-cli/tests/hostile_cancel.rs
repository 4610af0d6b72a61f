//! The waits that have no timeout on purpose — a sender waiting hours for the
//! receiver, a transfer stalled by the peer — end when the user presses
//! Ctrl-C, and never leave data under the real name.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns, in a test crate

use std::time::{Duration, Instant};

use ferry_test_support::scenario::offer_to_ferry;
use ferry_test_support::{Running, Sandbox, TestServer};
use serde_json::json;

/// A transfer of 1 MiB that the evil sender stalls after 300 KiB, once the
/// partial file exists.
async fn stalled() -> (TestServer, Sandbox, Running, ferry_test_support::EvilStream) {
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    let offer = json!({"file": {"filename": "big.bin", "filesize": 1 << 20}});
    let (_peer, ferry, mut stream) = offer_to_ferry(&server, &sandbox, offer)
        .await
        .accepted()
        .await;
    stream.send_data(&[5u8; 300 << 10], 16 << 10).await;
    for _ in 0..100 {
        if sandbox
            .out_names()
            .iter()
            .any(|n| n.contains(".ferry-partial"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (server, sandbox, ferry, stream)
}

fn interrupt(running: &Running) {
    let pid = running.child.id().expect("running").to_string();
    let status = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status();
    assert!(status.is_ok_and(|s| s.success()), "kill -INT");
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_mid_transfer_stops_at_once_and_writes_nothing_final() {
    let (_server, sandbox, ferry, _stream) = stalled().await;
    interrupt(&ferry);
    let started = Instant::now();
    let done = ferry.finish().await;
    assert!(!done.status.success());
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(!sandbox.out.join("big.bin").exists());
}

/// What Ctrl-C should also do: remove the partial file. The binary installs no
/// SIGINT handler, so the process dies before `Drop` can clean up and a hidden
/// `.big.bin.ferry-partial-*` stays behind (see docs/threat-model.md, "Known
/// gaps").
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_mid_transfer_removes_the_partial_file() {
    let (_server, sandbox, ferry, _stream) = stalled().await;
    interrupt(&ferry);
    let _ = ferry.finish().await;
    sandbox.assert_no_partials(&[]);
}
