//! Sessions that heal, with real `ferry` processes: the sender is suspended
//! (SIGSTOP, as a laptop that sleeps) for longer than the idle timeout and
//! then resumed; the receiver notices the silence, both reconnect through the
//! mailbox with the same code, and the file arrives verified — or the transfer
//! stops with a clear error inside the bound. Timers shrunk: 2 s of silence.

use std::time::{Duration, Instant};

use ferry_test_support::files::bytes;
use ferry_test_support::native_cli::{finish, receiver, sender, until_claimed, Route};
use ferry_test_support::relay_proxy::{Proxy, ProxyPlan};
use ferry_test_support::server::spawn_default;

const SIZE: usize = 24 << 20;

fn signal(pid: u32, which: &str) {
    let sent = std::process::Command::new("kill")
        .args([which, &pid.to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_suspended_longer_than_the_idle_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("big.bin");
    let data = bytes(SIZE, 9);
    std::fs::write(&src, &data).expect("source");
    let out = dir.path().join("out");
    std::fs::create_dir(&out).expect("out");
    let h = spawn_default().await;
    // Slow enough to be mid-transfer when the sender stops.
    let proxy = Proxy::start(ProxyPlan {
        rate: Some(8 << 20),
        ..ProxyPlan::default()
    })
    .await;
    let route = Route::Relay(proxy.addr);
    let code = "5-sleepy-laptop";
    let shrunk = |mut c: tokio::process::Command| {
        c.env("FERRY_IDLE_TIMEOUT", "2")
            .args(["--reconnect-for", "20"]);
        c.spawn().expect("ferry starts")
    };
    let sending = shrunk(sender(&h, &route, code, &src));
    let receiving = shrunk(receiver(&h, &route, code, &out));
    until_claimed(&out.join("big.bin"), 1).await;
    let pid = sending.id().expect("pid");
    signal(pid, "-STOP");
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(4)).await;
    signal(pid, "-CONT");
    let (s, r) = tokio::join!(finish(sending), finish(receiving));
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(30),
        "ended inside the bound: {took:?}"
    );
    assert!(s.success, "sender: {}", s.stderr);
    assert!(r.success, "receiver: {}", r.stderr);
    assert!(
        r.stderr
            .contains("(no data from the peer for 2 s); reconnecting (attempt 2)…"),
        "{}",
        r.stderr
    );
    assert_eq!(
        r.stderr.matches("Connected (relay").count(),
        2,
        "a new path line: {}",
        r.stderr
    );
    assert!(std::fs::read(out.join("big.bin")).expect("received") == data);
}
