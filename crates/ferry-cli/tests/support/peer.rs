//! The evil peer: a wormhole client made from ferry's own sans-IO `Session`, so
//! its PAKE and `version` are real, that then says whatever a test wants.

use std::collections::VecDeque;

use ferry_proto::code::Code;
use ferry_proto::crypto::kdf::{SharedKey, TransitKey};
use ferry_proto::session::{Event, Session, SessionConfig};
use ferry_proto::transfer::DEFAULT_APPID;
use ferry_proto::wire::mailbox::{ClientEnvelope, ClientMessage, ServerMessage};
use futures_util::{SinkExt, StreamExt};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::within;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One side of a rendezvous under the test's control.
pub struct EvilPeer {
    ws: Ws,
    session: Session<StdRng>,
    pub side: String,
    pub code: String,
    inbox: VecDeque<Vec<u8>>,
    verified: bool,
    /// Every frame we sent the server, as JSON text (for privacy checks).
    pub sent: Vec<String>,
}

impl EvilPeer {
    /// Connects and asks the server for a code (so `ferry` can be given it).
    pub async fn allocate(url: &str) -> EvilPeer {
        EvilPeer::allocate_with(url, json!({})).await
    }

    /// [`EvilPeer::allocate`], advertising `app_versions` (e.g. ferry's native
    /// protocol) in the encrypted `version` message.
    pub async fn allocate_with(url: &str, app_versions: Value) -> EvilPeer {
        let mut peer = EvilPeer::connect(url, app_versions).await;
        peer.session.allocate_code(2);
        within("a code from the server", async {
            while peer.code.is_empty() {
                peer.step().await;
            }
        })
        .await;
        peer
    }

    /// Connects and uses `code` (to meet a `ferry send` that printed it).
    pub async fn with_code(url: &str, code: &str) -> EvilPeer {
        let mut peer = EvilPeer::connect(url, json!({})).await;
        peer.code = code.to_owned();
        peer.session
            .set_code(Code::parse(code).expect("valid code"));
        peer.flush().await;
        peer
    }

    async fn connect(url: &str, app_versions: Value) -> EvilPeer {
        let (ws, _) = within(
            "the mailbox websocket",
            tokio_tungstenite::connect_async(url),
        )
        .await
        .expect("websocket connects");
        let side = format!("{:010x}", rand::random::<u64>() & 0xff_ffff_ffff);
        let config = SessionConfig {
            appid: DEFAULT_APPID.into(),
            side: side.clone(),
            app_versions,
            client_version: ("evil".into(), "0".into()),
        };
        let mut peer = EvilPeer {
            ws,
            session: Session::new(config, StdRng::from_entropy()),
            side,
            code: String::new(),
            inbox: VecDeque::new(),
            verified: false,
            sent: Vec::new(),
        };
        peer.flush().await;
        peer
    }

    /// Runs the rendezvous until the other side's `version` decrypts.
    pub async fn verify(&mut self) {
        within("key confirmation with ferry", async {
            while !self.verified {
                self.step().await;
            }
        })
        .await;
    }

    /// Like [`EvilPeer::verify`], but reports a failed rendezvous instead of panicking.
    pub async fn try_verify(&mut self) -> Result<(), String> {
        let outcome = tokio::time::timeout(super::WAIT, async {
            while !self.verified {
                self.try_step().await?;
            }
            Ok(())
        })
        .await;
        outcome.map_err(|_| "timed out".to_owned())?
    }

    /// The PAKE result (confirmed or not).
    pub fn key(&self) -> &SharedKey {
        self.session.key().expect("PAKE finished")
    }

    pub fn transit_key(&self) -> TransitKey {
        self.key().transit_key(DEFAULT_APPID)
    }

    /// Sends one application payload, encrypted in the next phase.
    pub async fn send(&mut self, plaintext: impl Into<Vec<u8>>) {
        self.session.send(plaintext.into());
        self.flush().await;
    }

    pub async fn send_json(&mut self, v: Value) {
        self.send(v.to_string()).await;
    }

    /// Sends a raw command, bypassing the session (forged phases, bad bodies).
    pub async fn send_raw(&mut self, message: ClientMessage) {
        let text = ClientEnvelope { message, id: None }.encode();
        self.sent.push(text.clone());
        self.ws
            .send(Message::text(text))
            .await
            .expect("send to server");
    }

    /// The next application payload from ferry.
    pub async fn recv(&mut self) -> Vec<u8> {
        within("a message from ferry", async {
            loop {
                if let Some(m) = self.inbox.pop_front() {
                    return m;
                }
                self.step().await;
            }
        })
        .await
    }

    pub async fn recv_json(&mut self) -> Value {
        let bytes = self.recv().await;
        serde_json::from_slice(&bytes).expect("ferry sends JSON")
    }

    /// Reads messages until one has top-level key `key`; returns its value.
    pub async fn recv_until(&mut self, key: &str) -> Value {
        loop {
            let v = self.recv_json().await;
            if let Some(inner) = v.get(key) {
                return inner.clone();
            }
            assert!(v.get("error").is_none() || key == "error", "ferry said {v}");
        }
    }

    async fn step(&mut self) {
        if let Err(e) = self.try_step().await {
            panic!("evil peer: {e}");
        }
    }

    async fn try_step(&mut self) -> Result<(), String> {
        let frame = self.ws.next().await.ok_or("server closed")?;
        let text = match frame.map_err(|e| e.to_string())? {
            Message::Text(t) => t,
            _ => return Ok(()),
        };
        let msg = ServerMessage::decode(&text).map_err(|e| e.to_string())?;
        self.session.handle(msg).map_err(|e| e.to_string())?;
        self.flush().await;
        while let Some(event) = self.session.poll_event() {
            match event {
                Event::CodeAllocated(code) => self.code = code.as_str().to_owned(),
                Event::Verified { .. } => self.verified = true,
                Event::Message(m) => self.inbox.push_back(m),
                _ => {}
            }
        }
        Ok(())
    }

    async fn flush(&mut self) {
        while let Some(m) = self.session.poll_transmit() {
            self.send_raw(m).await;
        }
    }
}
