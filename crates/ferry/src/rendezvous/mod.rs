//! A confirmed, encrypted rendezvous with the other side: drives the sans-IO
//! [`Session`] over a [`MailboxConnection`].

use std::collections::VecDeque;

use tokio::time::Instant;

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use serde_json::Value;

use ferry_proto::code::Code;
use ferry_proto::crypto::kdf::SharedKey;
use ferry_proto::session::{Event, Rejoin, Session, SessionConfig};
use ferry_proto::wire::mailbox::{ClientMessage, Mood, ServerMessage};

use crate::error::{Error, Result, ServerError};
use crate::timing::Timing;
use websocket::MailboxConnection;

mod cancel;
mod list;
mod websocket;

pub use cancel::{Cancel, TRANSFER_CANCELLED};
pub use list::list_nameplates;

/// Where and as what application we meet the other side.
#[derive(Debug, Clone)]
pub struct MailboxConfig {
    /// WebSocket URL of the rendezvous server, e.g. `ws://relay.magic-wormhole.io:4000/v1`.
    pub url: String,
    pub appid: String,
    /// Our `app_versions`, seen by the peer after key confirmation.
    pub app_versions: Value,
    /// The mailbox timers are read from here (`mailbox_*`).
    pub timing: Timing,
    /// The CAs a `wss://` server's certificate is checked against.
    pub trust: crate::tls::Trust,
}

/// How the code comes to be.
#[derive(Debug, Clone)]
pub enum CodeChoice {
    /// Ask the server for a nameplate and add this many random words.
    Allocate { words: usize },
    /// A code the user typed or chose.
    Given(Code),
}

/// What the caller hears about while the rendezvous is set up.
pub trait RendezvousObserver {
    /// The server's message of the day (untrusted text).
    fn motd(&mut self, _motd: &str) {}
    /// The browser page the server advertises in its welcome (`ferry-web`,
    /// untrusted text). Comes before `code` when the server allocates the code.
    fn web_page(&mut self, _url: &str) {}
    /// The code is known: show it to the user before we wait for the peer.
    fn code(&mut self, _code: &Code) {}
    /// The other side is not there yet: our first message is in the mailbox
    /// before any of theirs. Called at most once; `connected` ends the wait.
    fn waiting(&mut self) {}
}

/// The public magic-wormhole rendezvous server, shared with every other client.
pub const DEFAULT_MAILBOX_URL: &str = "ws://relay.magic-wormhole.io:4000/v1";

/// A key-confirmed channel to the other side through the mailbox.
pub struct Wormhole {
    conn: MailboxConnection,
    timing: Timing,
    session: Session<StdRng>,
    inbox: VecDeque<Vec<u8>>,
    /// `None` when resumed in a new process: only a hash of the code was kept.
    code: Option<Code>,
    verifier: [u8; 32],
    peer_app_versions: Value,
    appid: String,
    closed: bool,
    /// Where to connect again if the server connection breaks (`rejoin`).
    url: String,
    trust: crate::tls::Trust,
}

impl Wormhole {
    /// Connects, settles the code and waits for the peer's confirmed key.
    pub async fn connect(
        config: &MailboxConfig,
        choice: CodeChoice,
        observer: &mut dyn RendezvousObserver,
    ) -> Result<Wormhole> {
        Wormhole::connect_until(config, choice, observer, &Cancel::new()).await
    }

    /// [`Wormhole::connect`] until the user cancels: then the nameplate is
    /// released and the mailbox closed (`lonely`: no key yet), so the code is
    /// not left crowded, and the result is [`Error::Cancelled`].
    pub async fn connect_until(
        config: &MailboxConfig,
        choice: CodeChoice,
        observer: &mut dyn RendezvousObserver,
        cancel: &Cancel,
    ) -> Result<Wormhole> {
        let conn = MailboxConnection::connect(&config.url, &config.timing, &config.trust).await?;
        let (mut session, presence) = new_session(config);
        match choice {
            CodeChoice::Allocate { words } => session.allocate_code(words),
            CodeChoice::Given(code) => {
                observer.code(&code);
                session.set_code(code);
            }
        }
        let mut pending = Pending {
            conn,
            timing: config.timing.clone(),
            session,
            inbox: VecDeque::new(),
            presence,
        };
        let verified = tokio::select! {
            biased;
            _ = cancel.cancelled() => None,
            verified = pending.until_verified(observer) => Some(verified),
        };
        let Some(verified) = verified else {
            pending.abandon(Mood::Lonely).await;
            return Err(Error::Cancelled);
        };
        let (verifier, versions) = verified?;
        let code = pending.session.code().cloned().ok_or(Error::SERVER_LOST)?;
        Ok(Wormhole {
            conn: pending.conn,
            timing: pending.timing,
            session: pending.session,
            inbox: pending.inbox,
            code: Some(code),
            verifier,
            peer_app_versions: versions,
            appid: config.appid.clone(),
            closed: false,
            url: config.url.clone(),
            trust: config.trust.clone(),
        })
    }

    /// [`Wormhole::connect`]'s session continued by another process: the
    /// same side rejoins the same mailbox with the key confirmed before
    /// (`Session::resume`); nothing is claimed, no PAKE runs.
    pub(crate) async fn resume(config: &MailboxConfig, rejoin: Rejoin) -> Result<Wormhole> {
        let conn = MailboxConnection::connect(&config.url, &config.timing, &config.trust).await?;
        let verifier = rejoin.key.verifier();
        let session_config = SessionConfig {
            side: rejoin.side.clone(),
            ..session_config(config, String::new())
        };
        let session = Session::resume(session_config, StdRng::from_entropy(), rejoin);
        let mut wormhole = Wormhole {
            conn,
            timing: config.timing.clone(),
            session,
            inbox: VecDeque::new(),
            code: None,
            verifier,
            peer_app_versions: Value::Null,
            appid: config.appid.clone(),
            closed: false,
            url: config.url.clone(),
            trust: config.trust.clone(),
        };
        // Until the server has sent the mailbox back, our next phase is unknown.
        while wormhole.session.replaying() {
            flush(&mut wormhole.conn, &mut wormhole.session).await?;
            let msg = wormhole.conn.recv().await?;
            wormhole.session.handle(msg)?;
            wormhole.drain_events();
        }
        Ok(wormhole)
    }

    /// The code both sides used (`None` for a resumed session).
    pub fn code(&self) -> Option<&Code> {
        self.code.as_ref()
    }

    /// The mailbox server's URL.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// What another process needs to rejoin this mailbox ([`Wormhole::resume`]).
    pub(crate) fn rejoin_state(&self) -> Option<Rejoin> {
        self.session.rejoin_state()
    }

    /// The verifier both sides can compare out of band.
    pub fn verifier(&self) -> [u8; 32] {
        self.verifier
    }

    /// The peer's `app_versions` (used to recognise another ferry).
    pub fn peer_app_versions(&self) -> &Value {
        &self.peer_app_versions
    }

    /// The application id both sides use (it salts the v1 transit key).
    pub fn appid(&self) -> &str {
        &self.appid
    }

    /// The shared key, for deriving the transit key.
    pub fn key(&self) -> Option<&SharedKey> {
        self.session.key()
    }

    /// Sends one application payload.
    pub async fn send(&mut self, payload: Vec<u8>) -> Result<()> {
        self.session.send(payload);
        flush(&mut self.conn, &mut self.session).await
    }

    /// Receives the next application payload.
    pub async fn receive(&mut self) -> Result<Vec<u8>> {
        loop {
            if let Some(m) = self.inbox.pop_front() {
                return Ok(m);
            }
            let msg = self.conn.recv().await?;
            self.session.handle(msg)?;
            flush(&mut self.conn, &mut self.session).await?;
            self.drain_events();
        }
    }

    /// Puts a payload back, to be the next [`Wormhole::receive`] gives.
    pub(crate) fn put_back(&mut self, payload: Vec<u8>) {
        self.inbox.push_front(payload);
    }

    /// After the server connection broke: connects again, binds with the same
    /// side and opens the same mailbox (`Session::rejoin`); messages already
    /// seen are passed over, ours are added again.
    pub(crate) async fn rejoin(&mut self) -> Result<()> {
        self.conn = MailboxConnection::connect(&self.url, &self.timing, &self.trust).await?;
        self.session.rejoin();
        flush(&mut self.conn, &mut self.session).await
    }

    /// [`Wormhole::send`], rejoining the mailbox once if its connection broke.
    pub(crate) async fn send_rejoining(&mut self, payload: Vec<u8>) -> Result<()> {
        match self.send(payload).await {
            Err(Error::Server(ServerError::Lost | ServerError::TimedOut(_))) => self.rejoin().await,
            done => done,
        }
    }

    /// [`Wormhole::receive`], rejoining the mailbox once if its connection broke.
    pub(crate) async fn receive_rejoining(&mut self) -> Result<Vec<u8>> {
        match self.receive().await {
            Err(Error::Server(ServerError::Lost | ServerError::TimedOut(_))) => {
                self.rejoin().await?;
                self.receive().await
            }
            done => done,
        }
    }

    /// Closes the mailbox with `mood` and waits (briefly) for the server's `closed`.
    ///
    /// Best effort, never an error: by now the transfer has succeeded or failed
    /// on its own merits, and a server that vanishes while we say goodbye must
    /// not turn a completed transfer into a reported failure.
    pub async fn close(mut self, mood: Mood) -> Result<()> {
        self.session.close(mood);
        let patience = self.timing.mailbox_close;
        let goodbye = async {
            flush(&mut self.conn, &mut self.session).await?;
            while !self.closed {
                let msg = self.conn.recv().await?;
                self.session.handle(msg)?;
                self.drain_events();
            }
            Ok::<_, Error>(())
        };
        let result = tokio::time::timeout(patience, goodbye).await;
        self.conn.shutdown().await;
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::debug!(error = %e, "mailbox not closed cleanly"),
            Err(_) => tracing::debug!("mailbox server did not confirm the close"),
        }
        Ok(())
    }

    /// Leaves without closing the mailbox or telling the peer: it waits for
    /// us to come back (`Wormhole::resume` in another process).
    pub(crate) async fn hang_up(mut self) {
        let shutdown = self.conn.shutdown();
        let _ = tokio::time::timeout(self.timing.mailbox_shutdown, shutdown).await;
    }

    /// Closes the mailbox with a mood that matches `result`, keeping the
    /// transfer's own outcome. A cancel is told to the peer first; a peer that
    /// vanished gets a moment to say why in the mailbox.
    pub async fn finish<T>(mut self, result: Result<T>) -> Result<T> {
        let result = match result {
            Err(Error::Cancelled) => {
                self.say_cancelled().await;
                Err(Error::Cancelled)
            }
            Err(e) => Err(self.why_peer_left(e).await),
            ok => ok,
        };
        let mood = match result.is_ok() {
            true => Mood::Happy,
            false => Mood::Errory,
        };
        self.close(mood).await?;
        result
    }

    fn drain_events(&mut self) {
        while let Some(event) = self.session.poll_event() {
            match event {
                Event::Message(m) => self.inbox.push_back(m),
                Event::Closed => self.closed = true,
                _ => {}
            }
        }
    }
}

/// The rendezvous before key confirmation.
struct Pending {
    conn: MailboxConnection,
    timing: Timing,
    session: Session<StdRng>,
    inbox: VecDeque<Vec<u8>>,
    presence: Presence,
}

/// Whether the peer is in the mailbox yet. The server echoes every message to
/// every side in mailbox order, and a peer that came first has its `pake` there
/// before ours; so our own `pake` coming back before any of theirs means we wait.
struct Presence {
    side: String,
    peer_seen: bool,
    told: bool,
}

impl Presence {
    fn new(side: &str) -> Self {
        Presence {
            side: side.to_owned(),
            peer_seen: false,
            told: false,
        }
    }

    fn note(&mut self, msg: &ServerMessage, observer: &mut dyn RendezvousObserver) {
        let ServerMessage::Message { side, phase, .. } = msg else {
            return;
        };
        if *side != self.side {
            self.peer_seen = true;
        } else if phase == "pake" && !self.peer_seen && !self.told {
            self.told = true;
            observer.waiting();
        }
    }
}

impl Pending {
    async fn until_verified(
        &mut self,
        observer: &mut dyn RendezvousObserver,
    ) -> Result<([u8; 32], Value)> {
        let mut hold_until = None;
        loop {
            flush(&mut self.conn, &mut self.session).await?;
            while let Some(event) = self.session.poll_event() {
                match event {
                    Event::Welcome { motd, web } => {
                        if let Some(m) = motd {
                            observer.motd(&m);
                        }
                        if let Some(w) = web {
                            observer.web_page(&w);
                        }
                    }
                    Event::CodeAllocated(code) => observer.code(&code),
                    Event::Verified {
                        verifier,
                        peer_app_versions,
                    } => return Ok((verifier, peer_app_versions)),
                    Event::Message(m) => self.inbox.push_back(m),
                    _ => {}
                }
            }
            let Some(msg) = self.next_frame(&mut hold_until).await? else {
                self.session.send_version();
                continue;
            };
            self.presence.note(&msg, observer);
            if let Err(e) = self.session.handle(msg) {
                self.fail(&e).await;
                return Err(e.into());
            }
        }
    }

    /// The next server frame; `None` when our held `version` has waited its
    /// `version_hold` (counted from the first call that found it held).
    async fn next_frame(
        &mut self,
        hold_until: &mut Option<Instant>,
    ) -> Result<Option<ServerMessage>> {
        if !self.session.version_held() {
            return self.conn.recv().await.map(Some);
        }
        let deadline = *hold_until.get_or_insert_with(|| Instant::now() + self.timing.version_hold);
        match tokio::time::timeout_at(deadline, self.conn.recv()).await {
            Ok(frame) => frame.map(Some),
            Err(_) => Ok(None),
        }
    }

    /// Tells the server how it ended (scary for a wrong code) before giving up.
    async fn fail(&mut self, e: &ferry_proto::session::SessionError) {
        use ferry_proto::session::SessionError as S;
        let mood = match e {
            S::WrongCode | S::BadPeerMessage(_) => Mood::Scary,
            _ => Mood::Errory,
        };
        self.abandon(mood).await;
    }

    /// Releases the nameplate, closes the mailbox with `mood` and hangs up.
    async fn abandon(&mut self, mood: Mood) {
        self.session.close(mood);
        let mut goodbye = Vec::new();
        while let Some(m) = self.session.poll_transmit() {
            goodbye.push(m);
        }
        // Wait for `closed` so the server has read everything we sent before the
        // socket goes: a socket dropped with unread data is reset, and a reset can
        // discard frames the server had not read yet (our `version`, say). With
        // no mailbox yet there is nothing to say and nothing to wait for.
        if let Some(last) = goodbye.last() {
            // `close` is answered by `closed`; a lone `release` (no mailbox yet)
            // by `released`.
            let closes = matches!(last, ClientMessage::Close { .. });
            let closing = async {
                for m in goodbye {
                    self.conn.send(m).await?;
                }
                loop {
                    match self.conn.recv().await? {
                        ServerMessage::Closed => return Ok::<_, Error>(()),
                        ServerMessage::Released if !closes => return Ok(()),
                        _ => {}
                    }
                }
            };
            let _ = tokio::time::timeout(self.timing.mailbox_fail_close, closing).await;
        }
        let shutdown = self.conn.shutdown();
        let _ = tokio::time::timeout(self.timing.mailbox_shutdown, shutdown).await;
    }
}

/// A session with a fresh random side (10 hex digits, as every client uses).
/// A fresh session with a random side, and the presence tracker that knows it.
fn new_session(config: &MailboxConfig) -> (Session<StdRng>, Presence) {
    let mut rng = StdRng::from_entropy();
    let side = hex::encode(rng.next_u64().to_be_bytes())[..10].to_owned();
    let session_config = session_config(config, side);
    let presence = Presence::new(&session_config.side);
    (Session::new(session_config, rng), presence)
}

fn session_config(config: &MailboxConfig, side: String) -> SessionConfig {
    SessionConfig {
        appid: config.appid.clone(),
        side,
        app_versions: config.app_versions.clone(),
        client_version: ("ferry".into(), env!("CARGO_PKG_VERSION").into()),
    }
}

async fn flush(conn: &mut MailboxConnection, session: &mut Session<StdRng>) -> Result<()> {
    while let Some(m) = session.poll_transmit() {
        conn.send(m).await?;
    }
    Ok(())
}
