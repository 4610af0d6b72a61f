//! The real `ferry` binary sending through a relay pool: two `ferry serve`
//! instances (in process) share a directory of waiting tokens behind one relay
//! address, a round-robin balancer, so the pair's two halves land on different
//! instances and one must be handed over to the other.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns, in a test crate

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use ferry_server::{MemoryDirectory, RelayPool};
use ferry_test_support::balancer::Balancer;
use ferry_test_support::{fresh_code, Ferry, Sandbox, TestServer};

/// A counter's value in a `/metrics` text.
fn metric(text: &str, name: &str) -> u64 {
    let line = text
        .lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .unwrap_or_else(|| panic!("no {name} in {text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn ferry_sends_through_two_instances_of_a_relay_pool() {
    let dir = Arc::new(MemoryDirectory::new(Duration::from_secs(7200)));
    let pool = RelayPool::new(dir.clone(), &b"the e2e test's pool secret"[..]);
    let one = TestServer::start_with(|c| c.relay_pool = Some(pool.clone())).await;
    let two = TestServer::start_with(|c| c.relay_pool = Some(pool.clone())).await;
    let sandbox = Sandbox::new();
    let file = sandbox.root.join("pooled.bin");
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&file, &data).unwrap();
    let backends = [one.handle(), two.handle()].map(|h| h.relay_tcp_addr().unwrap());
    let balancer = Balancer::start(backends.to_vec()).await;
    // Both sides name the same relay, so each dials it once (hints are deduplicated).
    let relay = format!("tcp:{}", balancer.addr);
    let code = fresh_code();
    let mut sender = Ferry::with_urls("send", &one.url(), &relay);
    sender.args(["--force-relay", "--code", &code]).arg(&file);
    let mut receiver = Ferry::with_urls("receive", &one.url(), &relay);
    receiver
        .args(["--force-relay", "--yes", "-o"])
        .arg(&sandbox.out)
        .arg(&code)
        .cwd(&sandbox.cwd);
    let (sent, got) = (sender.spawn(), receiver.spawn());
    let (sent, got) = (sent.finish().await, got.finish().await);
    sent.assert_success();
    got.assert_success();
    assert!(std::fs::read(sandbox.out.join("pooled.bin")).unwrap() == data);
    assert_eq!(
        balancer.accepted.load(Ordering::SeqCst),
        2,
        "one relay connection per side"
    );
    // The first half claimed the token where it landed; the other instance
    // handed the second half over, and the owner alone counted the bytes.
    let m = [one.handle().metrics_text(), two.handle().metrics_text()];
    let all = format!("{}\n{}", m[0], m[1]);
    let forwarded: Vec<u64> = m
        .iter()
        .map(|t| metric(t, "ferry_relay_forwarded_total"))
        .collect();
    assert_eq!(forwarded.iter().sum::<u64>(), 1, "one hand-over:\n{all}");
    let owner = usize::from(forwarded[0] == 1);
    assert!(
        metric(&m[owner], "ferry_relay_bytes_total") >= data.len() as u64,
        "{all}"
    );
    assert_eq!(metric(&m[1 - owner], "ferry_relay_bytes_total"), 0, "{all}");
    let handed = metric(&m[1 - owner], "ferry_relay_forwarded_bytes_total");
    assert!(handed >= data.len() as u64, "{all}");
}
