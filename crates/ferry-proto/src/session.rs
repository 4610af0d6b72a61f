//! The client side of a wormhole rendezvous, as a sans-IO state machine.
//!
//! Call order: [`Session::new`] (queues `bind`), then either [`Session::set_code`]
//! or [`Session::allocate_code`]; feed every server frame to [`Session::handle`];
//! after each call drain [`Session::poll_transmit`] (frames to send, in order) and
//! [`Session::poll_event`] (what the application must know). Application payloads go
//! in through [`Session::send`] and come out as [`Event::Message`] in phase order.
//! Finish with [`Session::close`] and wait for [`Event::Closed`].
//!
//! The machine follows what the real clients do: the PAKE message goes out as soon as
//! the mailbox is claimed, the encrypted `version` as soon as the key exists, the
//! nameplate is released on the peer's first message, and application messages are
//! held back until the peer's `version` decrypts (key confirmation), so nothing of
//! ours is sent under a key a wrong-code peer could try to attack offline.
//!
//! One exception: when the exchange also gives a [`Keys::gospake2`] key (one
//! session in 256), our `version` waits for the peer's, whose key tells which
//! of the two keys the peer holds; every client sends its `version` without
//! waiting for ours, except another ferry in the same case, so the driver sends
//! ours under the standard key after a short patience ([`Session::version_held`]).

use std::collections::{BTreeMap, VecDeque};

use rand::{CryptoRng, RngCore};
use serde_json::{json, Value};

use crate::code::{Code, Nameplate};
use crate::crypto::kdf::SharedKey;
use crate::crypto::pake::{Keys, Pake};
use crate::wire::mailbox::{ClientMessage, Mood, ServerMessage};

/// Who we are to the server and to the peer.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    pub appid: String,
    /// 10 lowercase hex chars, fixed for the whole session.
    pub side: String,
    /// Our `app_versions` object, sent inside the encrypted `version` message.
    pub app_versions: Value,
    /// Sent in `bind` so server operators can see which clients are in use.
    pub client_version: (String, String),
}

/// What the application learns from the rendezvous.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    Welcome {
        motd: Option<String>,
        /// The browser page the server advertises (ferry's `ferry-web` key).
        web: Option<String>,
    },
    /// The server allocated a nameplate and we built the code around it.
    CodeAllocated(Code),
    /// The nameplates in use, answering [`Session::list_nameplates`].
    Nameplates(Vec<String>),
    /// Key confirmed: the peer used the same code.
    Verified {
        verifier: [u8; 32],
        peer_app_versions: Value,
    },
    /// One application payload, decrypted, in phase order.
    Message(Vec<u8>),
    Closed,
}

/// Why a rendezvous failed, and whose fault it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    #[error("the server refused service: {0}")]
    Unwelcome(String),
    #[error("the server reported an error: {0}")]
    Server(String),
    #[error("wrong code: the other side used a different code (key confirmation failed)")]
    WrongCode,
    #[error("the peer sent an invalid message: {0}")]
    BadPeerMessage(String),
}

/// The rendezvous state machine; see the module docs for the call order.
pub struct Session<R> {
    config: SessionConfig,
    rng: R,
    outbox: VecDeque<ClientMessage>,
    events: VecDeque<Event>,
    words: usize,
    code: Option<Code>,
    pake: Option<Pake>,
    nameplate: Option<String>,
    mailbox: Option<String>,
    key: Option<SharedKey>,
    /// The other key the exchange may mean, until the peer's `version` decides.
    gospake2_key: Option<SharedKey>,
    version_sent: bool,
    peer_side: Option<String>,
    verified: bool,
    released: bool,
    next_out_phase: u64,
    held_out: Vec<Vec<u8>>,
    early_in: Vec<(String, String, String)>,
    inbox: BTreeMap<u64, Vec<u8>>,
    next_in_phase: u64,
    /// Every `add` we sent, for [`Session::rejoin`].
    added: Vec<ClientMessage>,
    /// A resumed session ([`Session::resume`]) until the server answered this
    /// ping: the mailbox it sends back before the pong shows how many phases
    /// we sent in the earlier process, so our next one follows them.
    replaying: Option<u64>,
}

/// What a session needs to continue in another process ([`Session::resume`]):
/// the mailbox, the confirmed key, both sides, and how many of the peer's
/// numbered messages were handled already.
#[derive(Debug, Clone)]
pub struct Rejoin {
    pub mailbox: String,
    pub key: SharedKey,
    pub side: String,
    pub peer_side: String,
    /// The peer's numbered phases below this are passed over.
    pub peer_phases_seen: u64,
}

impl<R: RngCore + CryptoRng> Session<R> {
    /// Starts a session; `bind` is queued at once (the server accepts it before
    /// its `welcome` arrives, as the Python client does).
    pub fn new(config: SessionConfig, rng: R) -> Self {
        let bind = ClientMessage::Bind {
            appid: config.appid.clone(),
            side: config.side.clone(),
            client_version: Some(config.client_version.clone()),
        };
        Session {
            config,
            rng,
            outbox: VecDeque::from([bind]),
            events: VecDeque::new(),
            words: 2,
            code: None,
            pake: None,
            nameplate: None,
            mailbox: None,
            key: None,
            gospake2_key: None,
            version_sent: false,
            peer_side: None,
            verified: false,
            released: false,
            next_out_phase: 0,
            held_out: Vec::new(),
            early_in: Vec::new(),
            inbox: BTreeMap::new(),
            next_in_phase: 0,
            added: Vec::new(),
            replaying: None,
        }
    }

    /// A session continued in a new process from [`Session::rejoin_state`]:
    /// binds with the same side and opens the same mailbox (the nameplate is
    /// long released: it is not claimed), key already confirmed. Payloads are
    /// held until the server has sent the mailbox back (a ping's pong marks
    /// the end), which tells which phase number is ours next.
    pub fn resume(config: SessionConfig, rng: R, rejoin: Rejoin) -> Self {
        let mut session = Session::new(config, rng);
        let ping = session.rng.next_u32().into();
        session.outbox.push_back(ClientMessage::Open {
            mailbox: rejoin.mailbox.clone(),
        });
        session.outbox.push_back(ClientMessage::Ping { ping });
        session.replaying = Some(ping);
        session.mailbox = Some(rejoin.mailbox);
        session.key = Some(rejoin.key);
        session.peer_side = Some(rejoin.peer_side);
        session.next_in_phase = rejoin.peer_phases_seen;
        session.released = true;
        session.verified = true;
        session.version_sent = true;
        session
    }

    /// A resumed session whose mailbox the server has not finished sending
    /// back: what it sends waits.
    pub fn replaying(&self) -> bool {
        self.replaying.is_some()
    }

    /// What [`Session::resume`] needs, once the key is confirmed.
    pub fn rejoin_state(&self) -> Option<Rejoin> {
        if !self.verified {
            return None;
        }
        Some(Rejoin {
            mailbox: self.mailbox.clone()?,
            key: self.key.clone()?,
            side: self.config.side.clone(),
            peer_side: self.peer_side.clone()?,
            peer_phases_seen: self.next_in_phase,
        })
    }

    /// Uses a code the user typed or chose: claims its nameplate and starts the PAKE.
    pub fn set_code(&mut self, code: Code) {
        let nameplate = code.nameplate().as_str().to_owned();
        self.pake = Some(Pake::start(
            code.as_str(),
            &self.config.appid,
            &mut self.rng,
        ));
        self.code = Some(code);
        self.nameplate = Some(nameplate.clone());
        self.outbox.push_back(ClientMessage::Claim { nameplate });
    }

    /// Asks the server for a free nameplate; the code gets `words` random words.
    pub fn allocate_code(&mut self, words: usize) {
        self.words = words;
        self.outbox.push_back(ClientMessage::Allocate);
    }

    /// Asks for the nameplates in use (for tab completion).
    pub fn list_nameplates(&mut self) {
        self.outbox.push_back(ClientMessage::List);
    }

    /// Queues one application payload; it goes out once the key is confirmed.
    pub fn send(&mut self, plaintext: Vec<u8>) {
        if self.verified && self.replaying.is_none() {
            self.send_phase(plaintext);
        } else {
            self.held_out.push(plaintext);
        }
    }

    /// After the connection to the server broke, on a new one: binds again with
    /// the same side, opens the same mailbox, and adds again every message we
    /// added (one may have been lost with the connection). The server then sends
    /// the whole mailbox again; what we saw already is passed over (the peer
    /// does the same with our repeated messages: its phases are already seen).
    /// Nothing happens before the mailbox is known.
    pub fn rejoin(&mut self) {
        let Some(mailbox) = self.mailbox.clone() else {
            return;
        };
        self.outbox.clear();
        self.outbox.push_back(ClientMessage::Bind {
            appid: self.config.appid.clone(),
            side: self.config.side.clone(),
            client_version: Some(self.config.client_version.clone()),
        });
        self.outbox.push_back(ClientMessage::Open { mailbox });
        self.outbox.extend(self.added.iter().cloned());
    }

    /// Releases the nameplate if still held and closes the mailbox with `mood`.
    pub fn close(&mut self, mood: Mood) {
        self.release_nameplate();
        match self.mailbox.clone() {
            Some(mailbox) => self.outbox.push_back(ClientMessage::Close {
                mailbox: Some(mailbox),
                mood: Some(mood),
            }),
            None => self.events.push_back(Event::Closed),
        }
    }

    /// The next frame to send to the server.
    pub fn poll_transmit(&mut self) -> Option<ClientMessage> {
        self.outbox.pop_front()
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The code in use, once known.
    pub fn code(&self) -> Option<&Code> {
        self.code.as_ref()
    }

    /// The shared key, once the PAKE has finished (confirmed or not).
    pub fn key(&self) -> Option<&SharedKey> {
        self.key.as_ref()
    }

    /// Our `version` waits for the peer's to tell which key it holds; the
    /// driver calls [`Session::send_version`] if the peer's does not come soon.
    pub fn version_held(&self) -> bool {
        self.key.is_some() && !self.version_sent
    }

    /// Sends our `version` now if it was held, under the standard key: a peer
    /// that waits for ours is another ferry, which holds that key.
    pub fn send_version(&mut self) {
        if !self.version_held() {
            return;
        }
        self.gospake2_key = None;
        self.version_sent = true;
        let versions = json!({ "app_versions": self.config.app_versions });
        self.add_encrypted("version", versions.to_string().as_bytes());
    }

    /// Feeds one frame from the server.
    pub fn handle(&mut self, msg: ServerMessage) -> Result<(), SessionError> {
        match msg {
            ServerMessage::Welcome { welcome } => match welcome.error {
                Some(error) => return Err(SessionError::Unwelcome(error)),
                None => self.events.push_back(Event::Welcome {
                    motd: welcome.motd,
                    web: welcome.web,
                }),
            },
            ServerMessage::Allocated { nameplate } => self.on_allocated(&nameplate)?,
            ServerMessage::Claimed { mailbox } => self.on_claimed(mailbox),
            ServerMessage::Nameplates { nameplates } => {
                let ids = nameplates.into_iter().map(|n| n.id).collect();
                self.events.push_back(Event::Nameplates(ids));
            }
            ServerMessage::Message {
                side, phase, body, ..
            } => self.on_message(side, phase, body)?,
            ServerMessage::Closed => self.events.push_back(Event::Closed),
            ServerMessage::Pong { pong } if self.replaying == Some(pong) => self.replayed(),
            ServerMessage::Error { error, .. } => return Err(SessionError::Server(error)),
            ServerMessage::Ack { .. }
            | ServerMessage::Released
            | ServerMessage::Pong { .. }
            | ServerMessage::Unknown => {}
        }
        Ok(())
    }

    fn on_allocated(&mut self, nameplate: &str) -> Result<(), SessionError> {
        let nameplate: Nameplate = nameplate.parse().map_err(|_| {
            SessionError::Server(format!("allocated a bad nameplate {nameplate:?}"))
        })?;
        let code = Code::generate(nameplate, self.words, &mut self.rng);
        self.events.push_back(Event::CodeAllocated(code.clone()));
        self.set_code(code);
        Ok(())
    }

    fn on_claimed(&mut self, mailbox: String) {
        self.mailbox = Some(mailbox.clone());
        self.outbox.push_back(ClientMessage::Open { mailbox });
        if let Some(pake) = &self.pake {
            self.add("pake", hex::encode(pake.message_body()));
        }
    }

    fn on_message(
        &mut self,
        side: String,
        phase: String,
        body: String,
    ) -> Result<(), SessionError> {
        if side == self.config.side {
            // The server echoes our own messages back; resumed, they count.
            if let (Some(_), Ok(n)) = (self.replaying, phase.parse::<u64>()) {
                self.next_out_phase = self.next_out_phase.max(n + 1);
            }
            return Ok(());
        }
        if self.peer_side.as_ref().is_some_and(|p| *p != side) {
            return Ok(()); // a third side: the server marks the mailbox crowded
        }
        self.peer_side = Some(side.clone());
        if phase == "pake" {
            return self.on_pake(&body);
        }
        if self.key.is_none() {
            self.early_in.push((side, phase, body));
            return Ok(());
        }
        self.on_encrypted(&side, &phase, &body)
    }

    fn on_pake(&mut self, body_hex: &str) -> Result<(), SessionError> {
        let Some(pake) = self.pake.take() else {
            return Ok(()); // a repeated pake after we finished
        };
        let body = hex::decode(body_hex).map_err(|e| bad_peer(format!("pake body: {e}")))?;
        let Keys { standard, gospake2 } =
            pake.finish(&body).map_err(|e| bad_peer(e.to_string()))?;
        self.key = Some(standard);
        self.release_nameplate();
        self.gospake2_key = gospake2;
        if self.gospake2_key.is_none() {
            self.send_version();
        }
        for (side, phase, body) in std::mem::take(&mut self.early_in) {
            self.on_encrypted(&side, &phase, &body)?;
        }
        Ok(())
    }

    fn on_encrypted(
        &mut self,
        side: &str,
        phase: &str,
        body_hex: &str,
    ) -> Result<(), SessionError> {
        if phase == "version" {
            return self.on_version(side, body_hex);
        }
        let Ok(n) = phase.parse::<u64>() else {
            return Ok(()); // dilation and future phases: not ours to handle
        };
        if n < self.next_in_phase || self.inbox.contains_key(&n) {
            return Ok(()); // a duplicate (the Python client re-sends after reconnecting)
        }
        let plaintext = self
            .decrypt(side, phase, body_hex)
            .map_err(|_| bad_peer(format!("message in phase {n} does not decrypt")))?;
        self.inbox.insert(n, plaintext);
        self.deliver_in_order();
        Ok(())
    }

    fn on_version(&mut self, side: &str, body_hex: &str) -> Result<(), SessionError> {
        if self.verified {
            return Ok(());
        }
        let plaintext = match self.decrypt(side, "version", body_hex) {
            Ok(plaintext) => plaintext,
            Err(()) => self.open_with_gospake2_key(side, body_hex)?,
        };
        let versions: Value = serde_json::from_slice(&plaintext)
            .map_err(|e| bad_peer(format!("version message: {e}")))?;
        self.send_version();
        self.verified = true;
        let verifier = self
            .key
            .as_ref()
            .map(SharedKey::verifier)
            .unwrap_or_default();
        let peer_app_versions = versions.get("app_versions").cloned().unwrap_or(Value::Null);
        self.events.push_back(Event::Verified {
            verifier,
            peer_app_versions,
        });
        for plaintext in std::mem::take(&mut self.held_out) {
            self.send_phase(plaintext);
        }
        Ok(())
    }

    /// The peer's `version` under the key gospake2 derives: that key is ours
    /// from now on. Without it (or if it fails too) the codes differed.
    fn open_with_gospake2_key(
        &mut self,
        side: &str,
        body_hex: &str,
    ) -> Result<Vec<u8>, SessionError> {
        let Some(key) = self.gospake2_key.take() else {
            return Err(self.wrong_code());
        };
        let standard = self.key.replace(key);
        let opened = self.decrypt(side, "version", body_hex);
        if opened.is_err() {
            self.key = standard;
        }
        opened.map_err(|()| self.wrong_code())
    }

    /// A wrong code; a `version` still held goes out first, so the peer
    /// learns it too instead of waiting for ours (as the Rust client would).
    fn wrong_code(&mut self) -> SessionError {
        self.send_version();
        SessionError::WrongCode
    }

    /// The mailbox came back to a resumed session: what it held goes out now.
    fn replayed(&mut self) {
        self.replaying = None;
        for plaintext in std::mem::take(&mut self.held_out) {
            self.send_phase(plaintext);
        }
    }

    fn decrypt(&self, side: &str, phase: &str, body_hex: &str) -> Result<Vec<u8>, ()> {
        let key = self.key.as_ref().ok_or(())?;
        let body = hex::decode(body_hex).map_err(|_| ())?;
        key.phase_key(side, phase).open(&body).map_err(|_| ())
    }

    fn deliver_in_order(&mut self) {
        while let Some(plaintext) = self.inbox.remove(&self.next_in_phase) {
            self.events.push_back(Event::Message(plaintext));
            self.next_in_phase += 1;
        }
    }

    fn send_phase(&mut self, plaintext: Vec<u8>) {
        let phase = self.next_out_phase.to_string();
        self.next_out_phase += 1;
        self.add_encrypted(&phase, &plaintext);
    }

    fn add_encrypted(&mut self, phase: &str, plaintext: &[u8]) {
        let Some(key) = &self.key else { return };
        let mut nonce = [0u8; 24];
        self.rng.fill_bytes(&mut nonce);
        let body = key
            .phase_key(&self.config.side, phase)
            .seal(&nonce, plaintext);
        self.add(phase, hex::encode(body));
    }

    fn add(&mut self, phase: &str, body: String) {
        let add = ClientMessage::Add {
            phase: phase.to_owned(),
            body,
        };
        self.added.push(add.clone());
        self.outbox.push_back(add);
    }

    /// Also while the claim is on its way: the server handles our commands in
    /// order, so the release follows the claim, and a side that gives up before
    /// `claimed` arrives leaves no claim behind (or its code stays "crowded").
    fn release_nameplate(&mut self) {
        if self.released || self.nameplate.is_none() {
            return;
        }
        self.released = true;
        let nameplate = self.nameplate.clone();
        self.outbox.push_back(ClientMessage::Release { nameplate });
    }
}

fn bad_peer(why: String) -> SessionError {
    SessionError::BadPeerMessage(why)
}

#[cfg(test)]
mod held_version_tests;
#[cfg(test)]
mod tests;
