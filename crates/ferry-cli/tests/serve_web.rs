//! The `ferry serve` binary and its browser page: on by default, `--no-web`
//! turns it off, `--web-url` is advertised in the welcome; the WebSocket relay
//! the page needs is served and advertised, `--no-relay-ws` turns it off.
//! Loopback, port 0: the default ports only inside a private network namespace,
//! since tests run in parallel.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns, in a test crate

use std::net::SocketAddr;
use std::time::Duration;

use ferry_test_support::ferry_bin;
use ferry_test_support::raw_mailbox::Client;
use ferry_test_support::raw_relay::{read_n, relay_line, relay_tcp, token};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio_tungstenite::tungstenite::Message;

/// `ferry serve` on 127.0.0.1:0 with `extra`; returns it with its mailbox address
/// (read from its startup lines). The WebSocket relay, on by default at
/// [::]:4002, is moved to a free port unless `extra` turns it off.
async fn serve(extra: &[&str]) -> (Child, SocketAddr) {
    let mut args = vec![
        "--mailbox-listen",
        "127.0.0.1:0",
        "--relay-listen",
        "127.0.0.1:0",
    ];
    if !extra.contains(&"--no-relay-ws") {
        args.extend(["--relay-ws-listen", "127.0.0.1:0"]);
    }
    args.extend(extra);
    serve_with(&args).await
}

/// `ferry serve --database :memory: ARGS`, with its mailbox address.
async fn serve_with(args: &[&str]) -> (Child, SocketAddr) {
    let mut cmd = Command::new(ferry_bin::path());
    ferry_bin::hermetic(&mut cmd);
    cmd.args(["serve", "--database", ":memory:"]).args(args);
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

/// The whole answer (head and body) to `GET path`.
async fn get(addr: SocketAddr, path: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_string(&mut out))
        .await
        .unwrap()
        .unwrap();
    out
}

/// The status code of `GET path`.
async fn status(addr: SocketAddr, path: &str) -> u16 {
    get(addr, path)
        .await
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap()
}

/// `/ferry-web.json`, parsed.
async fn web_json(addr: SocketAddr) -> serde_json::Value {
    let answer = get(addr, "/ferry-web.json").await;
    let (_, body) = answer.split_once("\r\n\r\n").unwrap();
    serde_json::from_str(body).unwrap()
}

/// The page's Content-Security-Policy header.
async fn csp(addr: SocketAddr) -> String {
    let answer = get(addr, "/").await;
    let line = answer
        .lines()
        .find_map(|l| l.strip_prefix("Content-Security-Policy: "));
    line.unwrap().to_owned()
}

/// A WebSocket client of `url` and a TCP client of `tcp` pair on the relay and
/// carry bytes both ways.
async fn websocket_pairs_with_tcp(url: &str, tcp: SocketAddr) {
    let t = token(7);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let line = relay_line(&t, Some("aaaaaaaaaaaaaaaa"));
    let line = line.trim_end().as_bytes().to_vec();
    ws.send(Message::Binary(line.into())).await.unwrap();
    let mut tcp = relay_tcp(tcp, &relay_line(&t, Some("bbbbbbbbbbbbbbbb"))).await;
    assert_eq!(read_n(&mut tcp, 3).await, b"ok\n");
    let next = tokio::time::timeout(Duration::from_secs(10), ws.next()).await;
    let Ok(Some(Ok(Message::Binary(ok)))) = next else {
        panic!("no ok frame: {next:?}")
    };
    assert_eq!(&ok[..], b"ok\n");
    ws.send(Message::Binary(b"from the page".to_vec().into()))
        .await
        .unwrap();
    assert_eq!(read_n(&mut tcp, 13).await, b"from the page");
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

#[tokio::test(flavor = "multi_thread")]
async fn the_websocket_relay_is_served_advertised_and_allowed_by_the_csp() {
    let (mut child, addr) = serve(&[]).await;
    let json = web_json(addr).await;
    let url = json["relay_ws"].as_str().unwrap().to_owned();
    let tcp = json["relay_tcp"].as_str().unwrap().strip_prefix("tcp:");
    let tcp: SocketAddr = tcp.unwrap().parse().unwrap();
    assert!(
        url.starts_with("ws://127.0.0.1:") && url.ends_with('/'),
        "{url}"
    );
    let csp = csp(addr).await;
    let connect = format!(
        "connect-src 'self' ws://{addr} {};",
        url.trim_end_matches('/')
    );
    assert!(csp.contains(&connect), "{connect} not in {csp}");
    websocket_pairs_with_tcp(&url, tcp).await;
    child.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn no_relay_ws_leaves_the_page_without_a_websocket_relay() {
    let (mut child, addr) = serve(&["--no-relay-ws"]).await;
    let json = web_json(addr).await;
    assert!(json["relay_ws"].is_null(), "{json}");
    assert!(json["relay_tcp"].is_string(), "{json}");
    let csp = csp(addr).await;
    assert!(
        csp.contains(&format!("connect-src 'self' ws://{addr};")),
        "{csp}"
    );
    child.kill().await.unwrap();
}

/// The defaults themselves ([::]:4000, 4001 and 4002), in a private network
/// namespace where no other test can hold those ports: the WebSocket relay runs
/// without being asked for, /ferry-web.json names it, and it pairs with the TCP
/// relay.
#[test]
fn a_default_ferry_serve_serves_the_websocket_relay_on_4002() {
    let name = "a_default_ferry_serve_serves_the_websocket_relay_on_4002";
    ferry_test_support::netns::run(module_path!(), name, || async {
        let (mut child, addr) = serve_with(&[]).await;
        assert_eq!(addr, "[::]:4000".parse().unwrap());
        let json = web_json("127.0.0.1:4000".parse().unwrap()).await;
        assert_eq!(json["relay_ws"], "ws://127.0.0.1:4002/", "{json}");
        assert_eq!(json["relay_tcp"], "tcp:127.0.0.1:4001", "{json}");
        websocket_pairs_with_tcp("ws://127.0.0.1:4002/", "127.0.0.1:4001".parse().unwrap()).await;
        child.kill().await.unwrap();
    });
}

/// A port in use is named with its cause, once (the error chain printed the
/// cause twice: in the message and again as its source).
#[tokio::test]
async fn a_port_in_use_is_named_with_its_cause_once() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let failed = ferry_test_support::ferry_bin::Ferry::bare()
        .args(["serve", "--database", ":memory:", "--mailbox-listen", &addr])
        .args(["--relay-listen", "127.0.0.1:0", "--no-relay-ws"])
        .spawn()
        .finish()
        .await;
    failed.assert_failed_with(&[&format!("cannot listen on {addr}"), "in use"]);
    let cause = failed.stderr.matches("in use").count();
    assert_eq!(cause, 1, "the cause is said once:\n{}", failed.stderr);
}
