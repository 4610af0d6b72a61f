//! The `ferry serve` binary and its browser page: on by default, `--no-web`
//! turns it off, `--web-url` is advertised in the welcome. Loopback, port 0.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns, in a test crate

use std::net::SocketAddr;
use std::time::Duration;

use ferry_test_support::ferry_bin;
use ferry_test_support::raw_mailbox::Client;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

/// `ferry serve` on 127.0.0.1:0 with `extra`; returns it with its mailbox address
/// (read from its startup lines).
async fn serve(extra: &[&str]) -> (Child, SocketAddr) {
    let mut cmd = Command::new(ferry_bin::path());
    ferry_bin::hermetic(&mut cmd);
    cmd.args(["serve", "--database", ":memory:"])
        .args([
            "--mailbox-listen",
            "127.0.0.1:0",
            "--relay-listen",
            "127.0.0.1:0",
        ])
        .args(extra);
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let find = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let addr = line
                .strip_prefix("ferry serve: mailbox   ws://")
                .and_then(|rest| rest.split_once("/v1"));
            if let Some((addr, _)) = addr {
                return addr.parse().unwrap();
            }
        }
        panic!("ferry serve ended without naming its mailbox")
    };
    let addr = tokio::time::timeout(Duration::from_secs(10), find)
        .await
        .unwrap();
    // Keep reading: a closed stderr would kill the server at its next line.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, addr)
}

/// The status code of `GET path`.
async fn status(addr: SocketAddr, path: &str) -> u16 {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out.split(' ').nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_is_on_by_default_and_no_web_turns_it_off() {
    let (mut on, addr) = serve(&[]).await;
    for path in ["/", "/app.js", "/sw.js", "/style.css", "/ferry-web.json"] {
        assert_eq!(status(addr, path).await, 200, "{path}");
    }
    on.kill().await.unwrap();
    let (mut off, addr) = serve(&["--no-web"]).await;
    for path in ["/app.js", "/sw.js", "/style.css", "/ferry-web.json"] {
        assert_eq!(status(addr, path).await, 404, "{path}");
    }
    off.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn web_url_is_advertised_in_the_welcome() {
    let (mut child, addr) = serve(&["--web-url", "http://192.0.2.7:4000/"]).await;
    let c = Client::connect(addr).await;
    assert_eq!(c.welcome["welcome"]["ferry-web"], "http://192.0.2.7:4000/");
    child.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_web_url_or_both_flags_is_bad_usage() {
    for args in [
        &["--web-url", "javascript:alert(1)"][..],
        &["--web-url", "http://h/#x"],
        &["--no-web", "--web-url", "http://h/"],
    ] {
        let done = ferry_test_support::Ferry::bare()
            .args(["serve", "--database", ":memory:"])
            .args(args)
            .spawn()
            .finish()
            .await;
        assert_eq!(done.code(), Some(2), "{args:?}: {}", done.stderr);
        done.assert_failed_with(&["--web-url"]);
    }
}
