//! State survives a crash: everything a client was told is committed first.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns, in a test crate

use ferry_server::{Config, Database, Server, ServerHandle};
use ferry_test_support::raw_mailbox::Client;
use ferry_test_support::server::{spawn, wait_metrics};
use serde_json::json;

fn on_file(path: &std::path::Path) -> Config {
    let mut cfg = Config::ephemeral();
    cfg.database = Database::Sqlite(path.to_owned());
    cfg
}

/// Starts a server on the file of one that was just dropped. A killed process
/// lets go of its file at once; here the dropped server's tasks are aborted and
/// freed by the runtime a moment later, and until then the file is in use.
async fn respawn(path: &std::path::Path) -> ServerHandle {
    for _ in 0..500 {
        match Server::spawn(on_file(path)).await {
            Ok(h) => return h,
            Err(e) if e.to_string().contains("in use by another ferry serve") => {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await
            }
            Err(e) => panic!("server does not start: {e}"),
        }
    }
    panic!("the dropped server still holds {}", path.display());
}

#[tokio::test]
async fn rendezvous_completes_across_a_server_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("serve.sqlite");

    let h = spawn(on_file(&db)).await;
    let mut a = Client::bound(h.mailbox_addr().unwrap(), "aaaaaaaaaa").await;
    let mailbox = a.claim("17").await;
    a.open(&mailbox).await;
    a.add("pake", "a0a0").await;
    a.message().await; // the echo means it was committed
                       // "kill -9": no graceful shutdown, connections cut
    drop(h);
    drop(a);

    let h = respawn(&db).await;
    let addr = h.mailbox_addr().unwrap();
    let mut b = Client::bound(addr, "bbbbbbbbbb").await;
    assert_eq!(b.claim("17").await, mailbox);
    b.open(&mailbox).await;
    let m = b.message().await;
    assert_eq!(
        (m["side"].as_str(), m["phase"].as_str(), m["body"].as_str()),
        (Some("aaaaaaaaaa"), Some("pake"), Some("a0a0"))
    );
    b.add("pake", "b0b0").await;
    b.message().await;

    // A reconnects like the Python client: same side, re-claims, re-opens, re-adds
    let mut a = Client::bound(addr, "aaaaaaaaaa").await;
    assert_eq!(a.claim("17").await, mailbox, "same side is not crowded");
    a.open(&mailbox).await;
    let phases: Vec<String> = [a.message().await, a.message().await]
        .iter()
        .map(|m| {
            format!(
                "{}:{}",
                m["side"].as_str().unwrap(),
                m["phase"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(phases, ["aaaaaaaaaa:pake", "bbbbbbbbbb:pake"]);
    a.add("version", "a1a1").await;
    assert_eq!(a.message().await["phase"], "version");
    assert_eq!(b.message().await["phase"], "version");
    for c in [&mut a, &mut b] {
        c.cmd(json!({"type": "close", "mood": "happy"}), "c105")
            .await;
        c.expect("closed").await;
    }
    let m = wait_metrics(&h, |m| m.contains("ferry_mailboxes 0")).await;
    assert!(
        m.contains("ferry_mailbox_results_total{result=\"happy\"} 1"),
        "{m}"
    );
}

#[tokio::test]
async fn a_second_server_on_the_same_file_is_refused_and_the_first_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("serve.sqlite");
    let h = spawn(on_file(&db)).await;
    let e = Server::spawn(on_file(&db)).await.unwrap_err().to_string();
    assert!(
        e.contains("serve.sqlite is in use by another ferry serve (process "),
        "{e}"
    );
    assert!(e.contains("--database postgres://"), "{e}");
    let mut a = Client::bound(h.mailbox_addr().unwrap(), "aaaaaaaaaa").await;
    let mailbox = a.claim("5").await;
    a.open(&mailbox).await;
    a.add("pake", "a0a0").await;
    assert_eq!(a.message().await["body"], "a0a0");
}
