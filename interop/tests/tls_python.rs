//! ferry ↔ Python `wormhole` (magic-wormhole 0.24) over `wss://`, against a `ferry serve
//! --tls-cert/--tls-key` this test starts with a certificate from a CA made here. Both
//! sides trust the CA through `SSL_CERT_FILE` (OpenSSL's variable: Twisted reads it
//! through pyOpenSSL, which magic-wormhole's `twisted[tls]` brings; ferry reads it as
//! `rustls-native-certs` does, in place of the system's roots). The transit relay is
//! `ferry serve`'s TCP one, which stays plain TCP.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use ferry_interop::data::NON_ASCII_TEXT;
use ferry_interop::env::TestEnv;
use ferry_interop::peer::Payload;
use ferry_interop::transfer::Transfer;
use ferry_interop::Peer::{Ferry, Python};
use ferry_test_support::test_ca::TestCa;
use tempfile::TempDir;

/// A `ferry serve` over TLS on free loopback ports, stopped (by PID) when dropped.
struct TlsServe {
    child: Child,
    /// The test network's settings with this server's mailbox and relay.
    env: TestEnv,
    ca_file: PathBuf,
    _dir: TempDir,
}

impl TlsServe {
    fn start() -> TlsServe {
        let base = TestEnv::get();
        let dir = base.scratch_dir("tls.");
        let ca = TestCa::new("ferry interop CA");
        let ca_file = ca.write(&dir.path().join("ca.pem"));
        let cert = ca.server_cert(dir.path(), "server", &["localhost", "127.0.0.1"]);
        let mut child = Command::new(&base.ferry_bin)
            .args(["serve", "--database", ":memory:", "--no-relay-ws"])
            .args([
                "--mailbox-listen",
                "127.0.0.1:0",
                "--relay-listen",
                "127.0.0.1:0",
            ])
            .arg("--tls-cert")
            .arg(&cert.cert)
            .arg("--tls-key")
            .arg(&cert.key)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ferry serve starts");
        let (mailbox, relay) = addresses(&mut child);
        let mut env = base.clone();
        env.mailbox = format!(
            "wss://localhost:{}/v1",
            mailbox.rsplit(':').next().unwrap_or("")
        );
        env.relay = format!("tcp:{relay}");
        env.relay_db = None;
        TlsServe {
            child,
            env,
            ca_file,
            _dir: dir,
        }
    }

    fn transfer(&self, transfer: Transfer) -> Transfer {
        let ca = self.ca_file.to_str().expect("utf-8 path");
        transfer.on(self.env.clone()).var("SSL_CERT_FILE", ca)
    }
}

impl Drop for TlsServe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The mailbox (`HOST:PORT`) and relay (`HOST:PORT`) from `ferry serve`'s start-up
/// lines; its stderr is drained afterwards so it never blocks.
fn addresses(child: &mut Child) -> (String, String) {
    let stderr = child.stderr.take().expect("stderr piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let (mut mailbox, mut relay) = (None, None);
    while mailbox.is_none() || relay.is_none() {
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("ferry serve names its wss:// mailbox and its relay");
        if let Some(rest) = line.strip_prefix("ferry serve: mailbox   wss://") {
            mailbox = rest.split_once("/v1").map(|(a, _)| a.to_owned());
        }
        if let Some(rest) = line.strip_prefix("ferry serve: relay     tcp:") {
            relay = rest.split_once(' ').map(|(a, _)| a.to_owned());
        }
    }
    (mailbox.unwrap_or_default(), relay.unwrap_or_default())
}

fn text_over_wss(sender: ferry_interop::Peer, receiver: ferry_interop::Peer) {
    let server = TlsServe::start();
    let text = Payload::Text(NON_ASCII_TEXT.into());
    let run = server.transfer(Transfer::new(sender, receiver, text)).run();
    run.assert_success();
    let stdout = run.receiver.stdout_text();
    run.check(
        stdout == format!("{NON_ASCII_TEXT}\n"),
        &format!("receiver's stdout is {stdout:?}, expected the text and one newline"),
    );
}

#[test]
fn text_python_to_ferry_over_wss() {
    text_over_wss(Python, Ferry);
}

#[test]
fn text_ferry_to_python_over_wss() {
    text_over_wss(Ferry, Python);
}

#[test]
fn file_ferry_to_python_over_wss_through_the_relay() {
    let server = TlsServe::start();
    let src = server.env.scratch_dir("src.");
    let path = ferry_interop::data::random_file(&src.path().join("tls.bin"), 256 * 1024 + 3)
        .expect("source file");
    let sent = std::fs::read(&path).expect("source file");
    let transfer = Transfer::new(Ferry, Python, Payload::Path(path)).force_relay();
    let run = server.transfer(transfer).run();
    run.assert_success();
    let got = std::fs::read(run.out_dir.path().join("tls.bin")).unwrap_or_default();
    run.check(got == sent, "the received file differs from the one sent");
}
