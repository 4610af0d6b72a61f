//! The evil peer's transit end: a listener on loopback whose address goes in
//! the hints, the real handshake, then records written however a test likes.

use ferry_proto::crypto::kdf::TransitKey;
use ferry_proto::transit::handshake::{relay_line, Handshake, GO, RELAY_OK};
use ferry_proto::transit::record::{Opener, Sealer, OVERHEAD};
use ferry_proto::transit::Role;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::within;

/// Where ferry will connect to the evil peer.
pub struct EvilTransit {
    listener: TcpListener,
}

impl EvilTransit {
    pub async fn new() -> EvilTransit {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        EvilTransit { listener }
    }

    /// Our `transit` message: one direct hint, to the listener.
    pub fn message(&self) -> Value {
        let port = self.listener.local_addr().expect("addr").port();
        json!({"transit": {
            "abilities-v1": [{"type": "direct-tcp-v1"}],
            "hints-v1": [{"type": "direct-tcp-v1", "priority": 0.0,
                          "hostname": "127.0.0.1", "port": port}],
        }})
    }

    /// Whether anyone connected within `wait` (the connection is dropped).
    pub async fn was_dialed(&self, wait: std::time::Duration) -> bool {
        tokio::time::timeout(wait, self.listener.accept())
            .await
            .is_ok()
    }

    /// Accepts ferry's connection and runs the handshake as `role`.
    pub async fn accept(self, key: &TransitKey, role: Role) -> EvilStream {
        let hs = Handshake::new(key, role);
        within("ferry's transit connection", async {
            loop {
                let (mut s, _) = self.listener.accept().await.expect("accept");
                s.write_all(hs.ours()).await.expect("write handshake");
                let mut theirs = vec![0u8; hs.expected().len()];
                if s.read_exact(&mut theirs).await.is_err() || theirs != hs.expected() {
                    continue;
                }
                if role == Role::Sender {
                    s.write_all(GO).await.expect("go");
                } else {
                    let mut go = [0u8; 3];
                    s.read_exact(&mut go).await.expect("read go");
                    assert_eq!(&go, GO);
                }
                return EvilStream::new(s, key, role);
            }
        })
        .await
    }
}

/// Connects to a transit relay at `addr` and runs the handshake as `role`
/// (the relay pairs us with ferry by the token both derive from the key).
pub async fn via_relay(addr: &str, key: &TransitKey, role: Role) -> EvilStream {
    let hs = Handshake::new(key, role);
    let side = format!("{:016x}", rand::random::<u64>());
    within("a relayed transit connection", async {
        let mut s = TcpStream::connect(addr).await.expect("relay reachable");
        s.write_all(&relay_line(key, &side))
            .await
            .expect("relay line");
        let mut ok = [0u8; 3];
        s.read_exact(&mut ok).await.expect("relay answers");
        assert_eq!(&ok, RELAY_OK);
        s.write_all(hs.ours()).await.expect("write handshake");
        let mut theirs = vec![0u8; hs.expected().len()];
        s.read_exact(&mut theirs).await.expect("read handshake");
        assert_eq!(theirs, hs.expected());
        if role == Role::Sender {
            s.write_all(GO).await.expect("go");
        }
        EvilStream::new(s, key, role)
    })
    .await
}

/// A handshaken connection; records are sealed honestly unless the test says.
pub struct EvilStream {
    pub stream: TcpStream,
    pub sealer: Sealer,
    opener: Opener,
}

impl EvilStream {
    fn new(stream: TcpStream, key: &TransitKey, role: Role) -> EvilStream {
        EvilStream {
            stream,
            sealer: Sealer::new(key, role),
            opener: Opener::new(key, role),
        }
    }

    /// Seals `plaintext` as the next record and returns the whole frame.
    pub fn frame(&mut self, plaintext: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        self.sealer.seal_frame(plaintext, &mut out);
        out
    }

    pub async fn write_raw(&mut self, bytes: &[u8]) {
        // The peer may hang up on us mid-way: that is what some tests expect.
        let _ = self.stream.write_all(bytes).await;
        let _ = self.stream.flush().await;
    }

    /// Sends `data` as honest records of `chunk` bytes.
    pub async fn send_data(&mut self, data: &[u8], chunk: usize) {
        for piece in data.chunks(chunk) {
            let f = self.frame(piece);
            self.write_raw(&f).await;
        }
    }

    /// Reads and opens one record from ferry.
    pub async fn read_record(&mut self) -> Option<Vec<u8>> {
        let mut prefix = [0u8; 4];
        self.stream.read_exact(&mut prefix).await.ok()?;
        let len = Opener::body_len(prefix).ok()?;
        let mut body = vec![0u8; len];
        self.stream.read_exact(&mut body).await.ok()?;
        self.opener.open_in_place(&mut body).ok()?;
        Some(body[OVERHEAD..].to_vec())
    }

    /// Reads everything until ferry closes; returns the byte count.
    pub async fn drain(&mut self) -> usize {
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0;
        while let Ok(Ok(n)) = tokio::time::timeout(super::WAIT, self.stream.read(&mut buf)).await {
            if n == 0 {
                break;
            }
            total += n;
        }
        total
    }
}
