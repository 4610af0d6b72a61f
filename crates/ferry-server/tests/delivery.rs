//! Delivery under stress: nothing a client wrote before its connection died is lost,
//! one side's close or reset never affects the other side, and concurrent sessions
//! never see each other's messages.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns, in a test crate

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use ferry_server::{Config, Database};
use ferry_test_support::raw_mailbox::{Client, APPID, WAIT};
use ferry_test_support::server::{spawn, wait_metrics};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite_030::tungstenite::Message;
use tokio_tungstenite_030::WebSocketStream;

fn on_file(path: &std::path::Path) -> Config {
    let mut cfg = Config::ephemeral();
    cfg.database = Database::Sqlite(path.to_owned());
    cfg
}

/// A client over a plain `TcpStream`, so the test can reset the TCP connection.
struct RawClient {
    ws: WebSocketStream<TcpStream>,
}

impl RawClient {
    async fn connect(addr: SocketAddr) -> RawClient {
        let tcp = TcpStream::connect(addr).await.unwrap();
        tcp.set_nodelay(true).unwrap();
        let (ws, _) = tokio_tungstenite_030::client_async(format!("ws://{addr}/v1"), tcp)
            .await
            .unwrap();
        let mut c = RawClient { ws };
        assert_eq!(c.recv().await["type"], "welcome");
        c
    }

    async fn recv(&mut self) -> Value {
        loop {
            let m = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a frame within 5 s")
                .expect("open")
                .expect("no error");
            if let Message::Text(t) = m {
                return serde_json::from_str(&t).unwrap();
            }
        }
    }

    /// Sends `v` with `id` and reads up to its ack; returns what came before it.
    async fn cmd(&mut self, mut v: Value, id: &str) -> Vec<Value> {
        v["id"] = json!(id);
        self.ws
            .send(Message::Text(v.to_string().into()))
            .await
            .unwrap();
        let mut before = Vec::new();
        loop {
            let f = self.recv().await;
            if f["type"] == "ack" && f["id"] == id {
                return before;
            }
            before.push(f);
        }
    }

    /// Binds, claims `nameplate` and opens its mailbox.
    async fn join(addr: SocketAddr, side: &str, nameplate: &str) -> RawClient {
        let mut c = RawClient::connect(addr).await;
        c.cmd(
            json!({"type": "bind", "appid": APPID, "side": side}),
            "0001",
        )
        .await;
        c.cmd(json!({"type": "claim", "nameplate": nameplate}), "0002")
            .await;
        let claimed = c.recv().await;
        assert_eq!(claimed["type"], "claimed", "{claimed}");
        let mailbox = claimed["mailbox"].as_str().unwrap().to_owned();
        c.cmd(json!({"type": "open", "mailbox": mailbox}), "0003")
            .await;
        c
    }

    /// Writes `frames` in one go without reading anything, then resets the TCP
    /// connection (SO_LINGER 0): the server reads the frames, but every write
    /// it tries afterwards fails.
    async fn write_then_reset(mut self, frames: &[Value]) {
        for f in frames {
            self.ws
                .feed(Message::Text(f.to_string().into()))
                .await
                .unwrap();
        }
        self.ws.flush().await.unwrap();
        let tcp = self.ws.into_inner();
        #[allow(deprecated)] // set_zero_linger is newer than our minimum tokio
        tcp.set_linger(Some(Duration::ZERO)).unwrap();
        drop(tcp);
    }
}

/// The next `message` frame whose side is not `me` (the peer's).
async fn peer_message(c: &mut Client, me: &str) -> Value {
    loop {
        let m = c.message().await;
        if m["side"] != me {
            return m;
        }
    }
}

#[tokio::test]
async fn adds_written_just_before_a_reset_reach_the_peer() {
    let dir = tempfile::tempdir().unwrap();
    let h = spawn(on_file(&dir.path().join("serve.sqlite"))).await;
    let addr = h.mailbox_addr().unwrap();
    for round in 0..10 {
        let nameplate = format!("{}", 40 + round);
        let (a, b) = ("aaaaaaaaaa", "bbbbbbbbbb");
        let mut recv = Client::bound(addr, b).await;
        let mailbox = recv.claim(&nameplate).await;
        recv.open(&mailbox).await;
        let send = RawClient::join(addr, a, &nameplate).await;
        // The wrong-code sender: version, then close (scary), then gone at once.
        send.write_then_reset(&[
            json!({"type": "release", "nameplate": nameplate, "id": "0004"}),
            json!({"type": "add", "phase": "version", "body": "a1a1", "id": "0005"}),
            json!({"type": "close", "mailbox": mailbox, "mood": "scary", "id": "0006"}),
        ])
        .await;
        let m = peer_message(&mut recv, b).await;
        assert_eq!(
            (m["side"].as_str(), m["phase"].as_str(), m["body"].as_str()),
            (Some(a), Some("version"), Some("a1a1")),
            "round {round}"
        );
        // The other side's close did not touch this side: it still adds and hears its echo.
        recv.add("version", "b1b1").await;
        assert_eq!(recv.message().await["body"], "b1b1", "round {round}");
        recv.cmd(json!({"type": "close", "mood": "scary"}), "c105")
            .await;
        recv.expect("closed").await;
    }
    // Every mailbox was closed by both sides: the reset sender's close was applied too.
    let m = wait_metrics(&h, |m| m.contains("ferry_mailboxes 0")).await;
    assert!(
        m.contains("ferry_mailbox_results_total{result=\"scary\"} 10"),
        "{m}"
    );
}

#[tokio::test]
async fn a_reset_before_the_peer_opens_still_stores_the_adds() {
    let h = spawn(Config::ephemeral()).await;
    let addr = h.mailbox_addr().unwrap();
    let send = RawClient::join(addr, "aaaaaaaaaa", "5").await;
    send.write_then_reset(&[
        json!({"type": "add", "phase": "pake", "body": "a0a0", "id": "0004"}),
        json!({"type": "add", "phase": "version", "body": "a1a1", "id": "0005"}),
    ])
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut recv = Client::bound(addr, "bbbbbbbbbb").await;
    let mailbox = recv.claim("5").await;
    recv.open(&mailbox).await;
    let phases = [recv.message().await, recv.message().await]
        .map(|m| m["phase"].as_str().unwrap().to_owned());
    assert_eq!(phases, ["pake", "version"]);
}

/// What one side of a hammered session saw.
struct Seen {
    side: String,
    own: Vec<String>,
    peer: Vec<(String, String)>,
}

/// One side of a session: adds `count` messages, interleaved with reading, and
/// collects everything the server delivers until it has the peer's `count` too.
async fn hammer_side(addr: SocketAddr, side: String, nameplate: String, count: usize) -> Seen {
    let mut c = RawClient::join(addr, &side, &nameplate).await;
    let mut seen = Seen {
        side: side.clone(),
        own: Vec::new(),
        peer: Vec::new(),
    };
    let note = |seen: &mut Seen, f: Value| {
        if f["type"] != "message" {
            return;
        }
        let body = f["body"].as_str().unwrap().to_owned();
        if f["side"] == side.as_str() {
            seen.own.push(body);
        } else {
            seen.peer
                .push((f["side"].as_str().unwrap().to_owned(), body));
        }
    };
    for i in 0..count {
        let body = format!("{side}{i:04x}");
        let phase = if i == 0 {
            "pake".to_owned()
        } else {
            i.to_string()
        };
        let id = format!("{:04x}", 0x100 + i);
        for f in c
            .cmd(json!({"type": "add", "phase": phase, "body": body}), &id)
            .await
        {
            note(&mut seen, f);
        }
        if i % 3 == 0 {
            tokio::task::yield_now().await;
        }
    }
    while seen.peer.len() < count || seen.own.len() < count {
        let f = c.recv().await;
        note(&mut seen, f);
    }
    for f in c
        .cmd(json!({"type": "close", "mood": "happy"}), "0fff")
        .await
    {
        note(&mut seen, f);
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_sessions_never_see_each_others_messages() {
    let dir = tempfile::tempdir().unwrap();
    let h = spawn(on_file(&dir.path().join("serve.sqlite"))).await;
    let addr = h.mailbox_addr().unwrap();
    const SESSIONS: usize = 24;
    const COUNT: usize = 12;
    for round in 0..3 {
        let mut tasks = Vec::new();
        for s in 0..SESSIONS {
            let nameplate = format!("{}", 1000 + round * 100 + s);
            for who in ["a", "b"] {
                // 10 hex characters, distinct per session and side
                let side = format!("{who}{round:01x}{s:02x}cafe00")[..10].to_owned();
                tasks.push(tokio::spawn(hammer_side(
                    addr,
                    side,
                    nameplate.clone(),
                    COUNT,
                )));
            }
        }
        let mut all = Vec::new();
        for t in tasks {
            all.push(t.await.unwrap());
        }
        for pair in all.chunks(2) {
            let (a, b) = (&pair[0], &pair[1]);
            for (me, peer) in [(a, b), (b, a)] {
                let expect: Vec<String> = (0..COUNT)
                    .map(|i| format!("{}{i:04x}", peer.side))
                    .collect();
                let sides: HashSet<&str> = me.peer.iter().map(|(s, _)| s.as_str()).collect();
                assert_eq!(
                    sides,
                    HashSet::from([peer.side.as_str()]),
                    "{} heard a stranger",
                    me.side
                );
                let bodies: Vec<String> = me.peer.iter().map(|(_, b)| b.clone()).collect();
                assert_eq!(
                    bodies, expect,
                    "{} heard its peer exactly once, in order",
                    me.side
                );
                let own: Vec<String> = (0..COUNT).map(|i| format!("{}{i:04x}", me.side)).collect();
                assert_eq!(me.own, own, "{} heard its own echoes", me.side);
            }
        }
    }
}

#[tokio::test]
async fn a_client_close_frame_is_answered() {
    let h = spawn(Config::ephemeral()).await;
    let mut c = RawClient::join(h.mailbox_addr().unwrap(), "aaaaaaaaaa", "6").await;
    c.cmd(json!({"type": "close", "mood": "happy"}), "0004")
        .await;
    assert_eq!(c.recv().await["type"], "closed");
    c.ws.close(None).await.unwrap();
    let reply = tokio::time::timeout(WAIT, c.ws.next())
        .await
        .expect("an answer within 5 s");
    assert!(
        matches!(reply, Some(Ok(Message::Close(_)))),
        "the server answers a close frame with one: {reply:?}"
    );
}
