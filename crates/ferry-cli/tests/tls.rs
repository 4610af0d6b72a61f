//! TLS end to end with the real binaries: `ferry serve --tls-cert/--tls-key`
//! with a certificate from a CA made here, `ferry send`/`receive` over `wss://`
//! trusting it by `--ca-file` or `SSL_CERT_FILE`, the WebSocket relay at
//! `/relay` of the mailbox port, the certificate problems a client must name,
//! the server's start-up errors, and the reload on SIGHUP. Loopback, port 0.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns, in a test crate

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use ferry_test_support::ferry_bin::{self, Ferry, Finished};
use ferry_test_support::json_run::JsonRun;
use ferry_test_support::test_ca::{ServerCert, TestCa};
use ferry_test_support::{fresh_code, Sandbox};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// A running `ferry serve --tls-cert --tls-key`.
struct Served {
    child: Child,
    mailbox: SocketAddr,
    relay_tcp: SocketAddr,
    /// Its stderr lines after the start-up ones.
    lines: mpsc::UnboundedReceiver<String>,
}

impl Served {
    async fn start(cert: &ServerCert) -> Served {
        let mut cmd = serve_command(cert);
        let mut child = cmd.spawn().unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let (mut mailbox, mut relay_tcp) = (None, None);
        let find = async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(rest) = line.strip_prefix("ferry serve: mailbox   wss://") {
                    mailbox = Some(rest.split_once("/v1").unwrap().0.parse().unwrap());
                }
                if let Some(rest) = line.strip_prefix("ferry serve: relay     tcp:") {
                    relay_tcp = Some(rest.split_once(' ').unwrap().0.parse().unwrap());
                }
                if mailbox.is_some() && relay_tcp.is_some() {
                    return;
                }
            }
            panic!("ferry serve ended without naming its wss:// mailbox and relay");
        };
        tokio::time::timeout(Duration::from_secs(10), find)
            .await
            .unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        // Keep reading: a closed stderr would kill the server at its next line.
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = tx.send(line);
            }
        });
        Served {
            child,
            mailbox: mailbox.unwrap(),
            relay_tcp: relay_tcp.unwrap(),
            lines: rx,
        }
    }

    /// `wss://HOST:PORT/v1` of this server under the name `host`.
    fn url(&self, host: &str) -> String {
        format!("wss://{host}:{}/v1", self.mailbox.port())
    }

    fn relay(&self) -> String {
        format!("tcp:{}", self.relay_tcp)
    }

    /// Waits for a stderr line containing `words`.
    async fn said(&mut self, words: &str) -> String {
        let wait = async {
            while let Some(line) = self.lines.recv().await {
                if line.contains(words) {
                    return line;
                }
            }
            panic!("ferry serve ended before saying {words:?}");
        };
        tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .unwrap()
    }
}

fn serve_command(cert: &ServerCert) -> Command {
    let mut cmd = Command::new(ferry_bin::path());
    ferry_bin::hermetic(&mut cmd);
    cmd.args(["serve", "--database", ":memory:"])
        .args(["--mailbox-listen", "127.0.0.1:0"])
        .args(["--relay-listen", "127.0.0.1:0"])
        .args(["--relay-ws-listen", "127.0.0.1:0"])
        .arg("--tls-cert")
        .arg(&cert.cert)
        .arg("--tls-key")
        .arg(&cert.key);
    cmd
}

/// `ferry SUBCOMMAND --server URL --relay RELAY EXTRA…`.
fn ferry(subcommand: &str, url: &str, relay: &str, extra: &[&str]) -> Ferry {
    let mut f = Ferry::with_urls(subcommand, url, relay);
    f.args(extra);
    f
}

/// A text sent and received with these extra arguments on each side; both
/// finished.
async fn text_transfer(sender: Ferry, receiver: Ferry) -> (Finished, Finished) {
    let (mut sender, mut receiver) = (sender, receiver);
    let (s, r) = (sender.spawn(), receiver.spawn());
    tokio::join!(s.finish(), r.finish())
}

fn sender(url: &str, relay: &str, code: &str, extra: &[&str]) -> Ferry {
    let mut f = ferry("send", url, relay, extra);
    f.args(["--text", "over tls", "--code", code]);
    f
}

fn receiver(url: &str, relay: &str, code: &str, extra: &[&str]) -> Ferry {
    let mut f = ferry("receive", url, relay, extra);
    f.args(["--yes", code]);
    f
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn text_over_wss_trusting_the_ca_by_flag_and_by_ssl_cert_file() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("ferry test CA");
    let ca_file = ca.write(&dir.path().join("ca.pem"));
    let cert = ca.server_cert(dir.path(), "server", &["localhost", "127.0.0.1"]);
    let served = Served::start(&cert).await;
    let code = fresh_code();
    let relay = served.relay();
    let send = sender(
        &served.url("localhost"),
        &relay,
        &code,
        &["--ca-file", path_str(&ca_file)],
    );
    let mut recv = receiver(&served.url("127.0.0.1"), &relay, &code, &[]);
    recv.env("SSL_CERT_FILE", path_str(&ca_file));
    let (s, r) = text_transfer(send, recv).await;
    s.assert_success();
    r.assert_success();
    assert!(r.stdout.contains("over tls"), "{}", r.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_over_the_websocket_relay_on_the_tls_mailbox_port() {
    let sandbox = Sandbox::new();
    let ca = TestCa::new("ferry test CA");
    let ca_file = ca.write(&sandbox.root.join("ca.pem"));
    let cert = ca.server_cert(&sandbox.root, "server", &["localhost"]);
    let served = Served::start(&cert).await;
    let file = sandbox.root.join("data.bin");
    let content = ferry_test_support::files::bytes(300 * 1024 + 7, 7);
    std::fs::write(&file, &content).unwrap();
    let url = served.url("localhost");
    let relay = format!("wss://localhost:{}/relay", served.mailbox.port());
    let common = ["--ca-file", path_str(&ca_file), "--force-relay"];
    let code = fresh_code();
    let mut send = ferry("send", &url, &relay, &common);
    send.arg(&file).args(["--code", &code]);
    let out = path_str(&sandbox.out).to_owned();
    let mut recv = ferry("receive", &url, &relay, &common);
    recv.args(["--yes", "-o", &out, &code]);
    let (s, r) = text_transfer(send, recv).await;
    s.assert_success();
    r.assert_success();
    assert_eq!(
        std::fs::read(sandbox.out.join("data.bin")).unwrap(),
        content
    );
    let via = format!("relay {relay}");
    assert!(r.stderr.contains(&via), "not {via}:\n{}", r.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_health_and_metrics_are_served_over_https_with_wss_urls() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("ferry test CA");
    let cert = ca.server_cert(dir.path(), "server", &["localhost"]);
    let served = Served::start(&cert).await;
    let addr = served.mailbox;
    let health = ca.https_get(addr, "localhost", "/health").await;
    assert!(
        health.starts_with("HTTP/1.1 200 OK") && health.ends_with("ok\n"),
        "{health}"
    );
    let metrics = ca.https_get(addr, "localhost", "/metrics").await;
    assert!(metrics.contains("HTTP/1.1 200 OK"), "{metrics}");
    let page = ca.https_get(addr, "localhost", "/").await;
    let port = addr.port();
    let connect = format!("connect-src 'self' wss://localhost:{port};");
    assert!(page.contains(&connect), "{connect} not in {page}");
    let json = ca.https_get(addr, "localhost", "/ferry-web.json").await;
    let (_, body) = json.split_once("\r\n\r\n").unwrap();
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(json["mailbox"], format!("wss://localhost:{port}/v1"));
    assert_eq!(json["relay_ws"], format!("wss://localhost:{port}/relay"));
}

/// One client run against `url` that must fail on the certificate.
async fn refused(url: &str, relay: &str, extra: &[&str]) -> Finished {
    let mut f = sender(url, relay, &fresh_code(), extra);
    f.spawn().finish().await
}

#[tokio::test(flavor = "multi_thread")]
async fn certificate_problems_are_named_and_exit_6() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("ferry test CA");
    let ca_file = ca.write(&dir.path().join("ca.pem"));
    let trust = ["--ca-file", path_str(&ca_file)];
    let cert = ca.server_cert(dir.path(), "server", &["localhost"]);
    let served = Served::start(&cert).await;
    let relay = served.relay();

    let untrusted = refused(&served.url("localhost"), &relay, &[]).await;
    assert_eq!(untrusted.code(), Some(6), "{}", untrusted.stderr);
    untrusted.assert_failed_with(&["certificate authority we do not trust", "--ca-file"]);

    // The certificate names localhost only; 127.0.0.1 is another name.
    let wrong_name = refused(&served.url("127.0.0.1"), &relay, &trust).await;
    assert_eq!(wrong_name.code(), Some(6), "{}", wrong_name.stderr);
    wrong_name.assert_failed_with(&["for another host name (localhost), not 127.0.0.1"]);

    let old = ca.expired_cert(dir.path(), "old", &["localhost"]);
    let stale = Served::start(&old).await;
    let expired = refused(&stale.url("localhost"), &stale.relay(), &trust).await;
    assert_eq!(expired.code(), Some(6), "{}", expired.stderr);
    expired.assert_failed_with(&["expired"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_ca_file_is_bad_usage() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let done = refused(
        "wss://localhost:1/v1",
        "tcp:127.0.0.1:1",
        &["--ca-file", path_str(&junk)],
    )
    .await;
    assert_eq!(done.code(), Some(2), "{}", done.stderr);
    done.assert_failed_with(&["CA file", "no PEM certificate"]);
}

/// `ferry serve` with these TLS arguments must refuse to start.
async fn serve_fails(args: &[&str]) -> Finished {
    Ferry::bare()
        .args([
            "serve",
            "--database",
            ":memory:",
            "--mailbox-listen",
            "127.0.0.1:0",
        ])
        .args([
            "--relay-listen",
            "127.0.0.1:0",
            "--relay-ws-listen",
            "127.0.0.1:0",
        ])
        .args(args)
        .spawn()
        .finish()
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_refuses_half_a_pair_and_bad_files_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let cert = TestCa::new("ca").server_cert(dir.path(), "server", &["localhost"]);
    let (c, k) = (path_str(&cert.cert), path_str(&cert.key));

    let half = serve_fails(&["--tls-cert", c]).await;
    assert_eq!(half.code(), Some(2), "{}", half.stderr);
    half.assert_failed_with(&["--tls-cert needs --tls-key"]);
    let half = serve_fails(&["--tls-key", k]).await;
    assert_eq!(half.code(), Some(2), "{}", half.stderr);
    half.assert_failed_with(&["--tls-key needs --tls-cert"]);

    let garbage = dir.path().join("garbage.pem");
    std::fs::write(
        &garbage,
        "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let bad = serve_fails(&["--tls-cert", path_str(&garbage), "--tls-key", k]).await;
    assert_eq!(bad.code(), Some(1), "{}", bad.stderr);
    bad.assert_failed_with(&["bad TLS certificate file", "garbage.pem"]);

    std::fs::write(&garbage, "nothing here").unwrap();
    let empty = serve_fails(&["--tls-cert", path_str(&garbage), "--tls-key", k]).await;
    empty.assert_failed_with(&["no PEM CERTIFICATE"]);

    let no_key = serve_fails(&["--tls-cert", c, "--tls-key", path_str(&garbage)]).await;
    assert_eq!(no_key.code(), Some(1), "{}", no_key.stderr);
    no_key.assert_failed_with(&["bad TLS key file", "no PEM PRIVATE KEY"]);

    let missing = serve_fails(&["--tls-cert", "/nonexistent/c.pem", "--tls-key", k]).await;
    missing.assert_failed_with(&["cannot read the TLS certificate file /nonexistent/c.pem"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_reloads_the_certificate_for_new_connections() {
    let dir = tempfile::tempdir().unwrap();
    let (ca_a, ca_b) = (TestCa::new("CA A"), TestCa::new("CA B"));
    let trust_a = ca_a.write(&dir.path().join("a.pem"));
    let trust_b = ca_b.write(&dir.path().join("b.pem"));
    let live = ca_a.server_cert(dir.path(), "live", &["localhost"]);
    let mut served = Served::start(&live).await;
    let (url, relay) = (served.url("localhost"), served.relay());

    // A sender trusting only A connects before the reload and waits.
    let code = fresh_code();
    let args = [
        "--text",
        "over tls",
        "--code",
        &code,
        "--ca-file",
        path_str(&trust_a),
    ];
    let mut early = JsonRun::spawn_with_urls(&url, &relay, "send", &args, dir.path());
    early.until("waiting").await;

    // B's pair replaces the files; SIGHUP.
    let next = ca_b.server_cert(dir.path(), "next", &["localhost"]);
    std::fs::copy(&next.cert, &live.cert).unwrap();
    std::fs::copy(&next.key, &live.key).unwrap();
    ferry_bin::signal(&served.child, "HUP");
    served.said("TLS certificate reloaded").await;

    // A new connection trusting only A is refused; trusting only B, it works,
    // and the sender connected before the reload carries on with it.
    let stale = refused(&url, &relay, &["--ca-file", path_str(&trust_a)]).await;
    stale.assert_failed_with(&["certificate authority we do not trust"]);
    let r = receiver(&url, &relay, &code, &["--ca-file", path_str(&trust_b)])
        .spawn()
        .finish()
        .await;
    r.assert_success();
    assert!(r.stdout.contains("over tls"), "{}", r.stdout);
    let early = early.finish().await;
    assert!(early.status.success(), "{}", early.stderr);

    // A broken pair is refused and B keeps serving.
    std::fs::write(&live.cert, "garbage").unwrap();
    ferry_bin::signal(&served.child, "HUP");
    let line = served.said("TLS reload failed").await;
    assert!(line.contains("keeping the old certificate"), "{line}");
    let still = refused(&url, &relay, &["--ca-file", path_str(&trust_a)]).await;
    still.assert_failed_with(&["certificate authority we do not trust"]);
    served.child.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn without_tls_sighup_still_stops_the_server() {
    use std::os::unix::process::ExitStatusExt;
    let mut cmd = Command::new(ferry_bin::path());
    ferry_bin::hermetic(&mut cmd);
    cmd.args(["serve", "--database", ":memory:", "--no-relay"])
        .args(["--mailbox-listen", "127.0.0.1:0"]);
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let started = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.starts_with("ferry serve: mailbox   ws://") {
                return;
            }
        }
        panic!("ferry serve ended without naming its mailbox");
    };
    tokio::time::timeout(Duration::from_secs(10), started)
        .await
        .unwrap();
    ferry_bin::signal(&child, "HUP");
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.signal(), Some(1), "{status:?}");
}
