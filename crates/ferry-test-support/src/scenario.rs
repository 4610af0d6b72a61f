//! The usual opening moves: an evil peer meets a real `ferry` and the two agree
//! on a key; then the test takes over.

use std::path::Path;

use ferry_proto::transit::Role;
use serde_json::{json, Value};

use super::{EvilPeer, EvilStream, EvilTransit, Ferry, Running, Sandbox, TestServer};

/// An evil sender that has offered something to `ferry receive`.
pub struct Offered {
    pub peer: EvilPeer,
    pub ferry: Running,
    pub transit: EvilTransit,
}

/// Starts `ferry receive --yes` into `sandbox.out`, confirms the key and sends
/// our hints and `offer` (the value of the `offer` key).
pub async fn offer_to_ferry(server: &TestServer, sandbox: &Sandbox, offer: Value) -> Offered {
    let mut peer = EvilPeer::allocate(&server.url()).await;
    let ferry = Ferry::receive(server, &peer.code, &sandbox.out, &sandbox.cwd).spawn();
    let ferry = verified(&mut peer, ferry).await;
    let transit = EvilTransit::new().await;
    peer.send_json(transit.message()).await;
    peer.send_json(json!({ "offer": offer })).await;
    Offered {
        peer,
        ferry,
        transit,
    }
}

/// ferry's reply to an offer: `Ok(answer)` or `Err(error text)`.
pub async fn reply(peer: &mut EvilPeer) -> Result<Value, String> {
    loop {
        let v = peer.recv_json().await;
        if let Some(a) = v.get("answer") {
            return Ok(a.clone());
        }
        if let Some(e) = v.get("error") {
            return Err(e.as_str().unwrap_or_default().to_owned());
        }
    }
}

impl Offered {
    /// Expects ferry to accept, then opens the transit connection as the sender.
    pub async fn accepted(mut self) -> (EvilPeer, Running, EvilStream) {
        let answer = reply(&mut self.peer)
            .await
            .expect("ferry accepts the offer");
        assert_eq!(answer, json!({"file_ack": "ok"}));
        let key = self.peer.transit_key();
        let stream = self.transit.accept(&key, Role::Sender).await;
        (self.peer, self.ferry, stream)
    }

    /// Expects ferry to refuse; returns the error it sent us.
    pub async fn refused(mut self) -> (String, Running) {
        let why = reply(&mut self.peer)
            .await
            .expect_err("ferry refuses the offer");
        (why, self.ferry)
    }
}

/// Starts `ferry send --code` with `file` under a fresh code ending in `words`,
/// and confirms the key as the evil receiver.
pub async fn sending_to_evil(server: &TestServer, file: &Path, words: &str) -> (EvilPeer, Running) {
    let code = format!("{}-{words}", 100 + rand::random::<u16>() % 9000);
    let ferry = Ferry::new(server, "send")
        .args(["--listen", "127.0.0.1", "--code", &code])
        .arg(file)
        .spawn();
    let mut peer = EvilPeer::with_code(&server.url(), &code).await;
    let ferry = verified(&mut peer, ferry).await;
    (peer, ferry)
}

/// Confirms the key with the `ferry` in `running`; if that fails, shows why.
pub async fn verified(peer: &mut EvilPeer, mut running: Running) -> Running {
    if let Err(e) = peer.try_verify().await {
        let _ = running.child.start_kill();
        let done = running.finish().await;
        panic!("no key confirmation ({e}); ferry said:\n{}", done.stderr);
    }
    running
}
