//! The client's timeouts (`ferry::Timing`), on tokio's paused clock: a mailbox
//! server that never upgrades, one that goes silent after its welcome, transit
//! candidates that never answer. Each test checks that the client gives up with
//! the error the CLI shows, after exactly the configured time, without waiting
//! for it in real time.

use std::time::Duration;

use ferry::transit::{Listen, TransitConfig, TransitPrep};
use ferry::{CodeChoice, Error, MailboxConfig, NetworkError, ServerError, Timing, Wormhole};
use ferry_proto::code::Code;
use ferry_proto::crypto::kdf::TransitKey;
use ferry_proto::transfer::DEFAULT_APPID;
use ferry_proto::transit::hints::{DirectHint, Hint, TransitMessage};
use ferry_proto::transit::Role;
use ferry_test_support::evil_server::{welcome, Scripted};
use ferry_test_support::in_process::TestUi;
use futures_util::SinkExt;
use tokio::net::TcpListener;
use tokio::time::Instant;

fn mailbox(url: String, timing: Timing) -> MailboxConfig {
    MailboxConfig {
        url,
        appid: DEFAULT_APPID.into(),
        app_versions: serde_json::json!({}),
        timing,
        trust: Default::default(),
    }
}

/// Runs a rendezvous against `url`; returns how it failed and after how long.
async fn rendezvous_fails(url: String, timing: Timing) -> (Error, Duration) {
    let config = mailbox(url, timing);
    let code = CodeChoice::Given(Code::parse("7-guitarist-revenge").expect("code"));
    let start = Instant::now();
    let outcome = Wormhole::connect(&config, code, &mut TestUi::default()).await;
    match outcome {
        Ok(_) => panic!("a rendezvous with nobody succeeded"),
        Err(e) => (e, start.elapsed()),
    }
}

/// A server that sends its welcome, then neither reads nor writes: no pong ever.
async fn silent_after_welcome() -> Scripted {
    Scripted::start(std::sync::Arc::new(|mut ws, _log| {
        Box::pin(async move {
            let _ = ws.send(welcome("hi")).await;
            tokio::time::sleep(Duration::from_secs(3600)).await;
            drop(ws);
        })
    }))
    .await
}

/// Accepts TCP and never upgrades: the connect timeout (30 s) ends the wait.
#[tokio::test(start_paused = true)]
async fn server_never_answers_the_upgrade() {
    let server = Scripted::silent_tcp().await;
    let (e, waited) = rendezvous_fails(server.url(), Timing::default()).await;
    assert!(
        matches!(e, Error::Server(ServerError::Unreachable { .. })),
        "{e:?}"
    );
    let shown = e.to_string();
    assert!(shown.contains("cannot reach the mailbox server"), "{shown}");
    assert!(shown.contains("timed out"), "{shown}");
    assert_within(waited, Duration::from_secs(30));
}

/// Silence after the welcome: a ping after 30 s, and 30 s more without a pong
/// means the connection is dead.
#[tokio::test(start_paused = true)]
async fn server_goes_silent_after_welcome() {
    let server = silent_after_welcome().await;
    let (e, waited) = rendezvous_fails(server.url(), Timing::default()).await;
    assert!(
        matches!(e, Error::Server(ServerError::TimedOut(_))),
        "{e:?}"
    );
    assert!(e.to_string().contains("mailbox server"), "{e}");
    assert_within(waited, Duration::from_secs(60));
}

/// The keepalive comes from the config: shrunk to 5 s, the client gives up after 10 s.
#[tokio::test(start_paused = true)]
async fn keepalive_follows_the_timing() {
    let server = silent_after_welcome().await;
    let mut timing = Timing::default();
    timing.mailbox_keepalive = Duration::from_secs(5);
    let (e, waited) = rendezvous_fails(server.url(), timing).await;
    assert!(
        matches!(e, Error::Server(ServerError::TimedOut(_))),
        "{e:?}"
    );
    assert_within(waited, Duration::from_secs(10));
}

/// The connect timeout comes from the config too.
#[tokio::test(start_paused = true)]
async fn connect_timeout_follows_the_timing() {
    let server = Scripted::silent_tcp().await;
    let mut timing = Timing::default();
    timing.mailbox_connect = Duration::from_secs(3);
    let (e, waited) = rendezvous_fails(server.url(), timing).await;
    assert!(
        matches!(e, Error::Server(ServerError::Unreachable { .. })),
        "{e:?}"
    );
    assert_within(waited, Duration::from_secs(3));
}

fn transit(listen: Listen, timing: Timing) -> TransitConfig {
    TransitConfig {
        relay: None,
        trust: Default::default(),
        listen,
        force_relay: false,
        port_mapping: false,
        quic: ferry::transit::Quic::Off,
        timing,
        early: Default::default(),
    }
}

/// The peer's `transit` message: one direct hint to `port` on loopback.
fn hint_to(port: u16) -> TransitMessage {
    let hint = DirectHint {
        hostname: "127.0.0.1".into(),
        port,
        priority: 0.0,
    };
    TransitMessage::build(true, false, &[Hint::Direct(hint)])
}

/// Connects as the receiver to what `peer` advertises; how it failed, how long it took.
async fn transit_fails(config: TransitConfig, peer: TransitMessage) -> (Error, Duration) {
    let prep = TransitPrep::new(&config).await.expect("transit prepares");
    let key = TransitKey::from_bytes([7; 32]);
    let start = Instant::now();
    match prep.connect(Role::Receiver, &key, &peer).await {
        Ok(_) => panic!("a transit handshake with nobody succeeded"),
        Err(e) => (e, start.elapsed()),
    }
}

/// A peer whose listener accepts and never says a word: the handshake timeout.
#[tokio::test(start_paused = true)]
async fn transit_peer_never_handshakes() {
    let mute = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = mute.local_addr().expect("addr").port();
    let holding = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = mute.accept().await {
            held.push(s);
        }
    });
    let config = transit(Listen::Off, Timing::default());
    let (e, waited) = transit_fails(config, hint_to(port)).await;
    holding.abort();
    assert!(
        matches!(e, Error::Network(NetworkError::NoConnection(_))),
        "{e:?}"
    );
    assert!(e.to_string().contains("handshake timed out"), "{e}");
    assert_within(waited, Duration::from_secs(30));
}

/// Listening, with no hint from the peer and nobody dialing in: the overall
/// transit timeout (90 s) ends the wait.
#[tokio::test(start_paused = true)]
async fn nobody_connects_within_the_overall_timeout() {
    let listen = Listen::Only("127.0.0.1".parse().expect("ip"));
    let config = transit(listen, Timing::default());
    let nothing = TransitMessage::build(true, false, &[]);
    let (e, waited) = transit_fails(config, nothing).await;
    assert!(
        matches!(e, Error::Network(NetworkError::TimedOut(_))),
        "{e:?}"
    );
    assert!(
        e.to_string().contains("connecting to the other side"),
        "{e}"
    );
    assert_within(waited, Duration::from_secs(90));
}

/// A peer that can only use a relay (the browser page) is met there at once:
/// our own listener would never be dialed, so it must not delay the relay.
#[tokio::test(start_paused = true)]
async fn a_relay_only_peer_is_dialed_on_the_relay_without_delay() {
    let relay = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let hint = DirectHint {
        hostname: "127.0.0.1".into(),
        port: relay.local_addr().expect("addr").port(),
        priority: 0.0,
    };
    let listen = Listen::Only("127.0.0.1".parse().expect("ip"));
    let prep = TransitPrep::new(&transit(listen, Timing::default()))
        .await
        .expect("transit prepares");
    let peer = TransitMessage::build(false, true, &[Hint::Relay(vec![hint])]);
    let start = Instant::now();
    let dialing = tokio::spawn(async move {
        let key = TransitKey::from_bytes([7; 32]);
        prep.connect(Role::Receiver, &key, &peer).await.map(|_| ())
    });
    let _conn = relay.accept().await.expect("the relay is dialed");
    let waited = start.elapsed();
    dialing.abort();
    assert!(
        waited < Timing::default().relay_delay,
        "the relay was dialed after {waited:?}"
    );
}

/// `waited` is `timeout`, give or take the paused clock's rounding.
fn assert_within(waited: Duration, timeout: Duration) {
    assert!(
        waited >= timeout && waited < timeout + Duration::from_secs(1),
        "gave up after {waited:?}, expected {timeout:?}"
    );
}
