//! Healing a native transfer (both sides list the `reconnect` feature): when the
//! transit connection breaks — reset, closed, or silent for `Timing::transit_idle`,
//! never because a side said `ERROR` — both sides make a new one through the
//! mailbox they still hold (rejoined if its own connection broke), each attempt
//! with new hints and its own key (`negotiate::reconnect_key`), and the
//! conversation runs again on it: the receiver's resume states hold every group
//! verified so far, so only the rest moves. Attempts are retried with backoff for
//! `Timing::reconnect_for` after each break; then the transfer fails, and the
//! receiver keeps what it verified for a later resume. A receiver that finished
//! says so in the mailbox too (`native-done`, after its DONE frame): a sender
//! whose connection broke before it read DONE stops reconnecting and succeeds.

use std::time::Duration;

use tokio::time::Instant;

use ferry_proto::crypto::kdf::TransitKey;
use ferry_proto::native::manifest::Totals;
use ferry_proto::native::negotiate::{reconnect_key, MailboxMessage, Reconnect};
use ferry_proto::transit::hints::TransitMessage;
use ferry_proto::transit::Role;

use crate::error::{Error, NetworkError, PeerError, Result};
use crate::rendezvous::Wormhole;
use crate::transit::{TransitConfig, TransitPrep};
use crate::ui::Ui;

use super::connect::{connect, native_key};
use super::link::Link;
use super::Agreed;

/// Most connections one transfer makes: a link that breaks again and again
/// gives up even if each break heals.
const MAX_ATTEMPTS: u32 = 50;
/// The longest pause between two attempts of one outage.
const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// Waiting this long for the peer's hints, we connect to the mailbox again: our
/// connection may be dead without knowing it yet (our address changed, or a cut
/// path left its TCP backing off for a minute), while the peer's is fine.
/// The mailbox connection's own keep-alive would notice only after up to 60 s
/// more; with this, a receiver that moved in the NAT lab
/// (`interop/tests/nat_faults.rs`) was connected again 44 s after the move
/// (30 s of them the transit idle timeout).
const REJOIN_AFTER: Duration = Duration::from_secs(10);
/// How long a finished receiver tries to leave its `native-done` in the mailbox.
const TELL_DONE: Duration = Duration::from_secs(5);
/// How long a side whose first connection failed listens for the peer asking
/// to reconnect (a peer whose path broke at once asks within a second).
const FOLLOW_WINDOW: Duration = Duration::from_secs(5);
/// Our hints older than this when the peer's arrive are gathered again: the
/// exchange waited on a broken network, which they may describe (seen after a
/// 60 s cut in the NAT lab: the reconnection went to the relay, not QUIC).
const STALE_HINTS: Duration = Duration::from_secs(5);

/// What healing a broken link gives.
pub(super) enum Healed {
    /// A new link: the conversation runs again on it.
    Link(Box<Link>),
    /// The receiver said in the mailbox that it holds everything (sender only).
    PeerFinished,
}

/// What a side needs to make the transit connection again.
pub(super) struct Healing {
    role: Role,
    agreed: Agreed,
    key: TransitKey,
    /// The connection in use: 1 is the first, made with the native key.
    attempt: u32,
    /// How long after each break we keep trying (`Timing::reconnect_for`).
    patience: Duration,
    /// Sender: the manifest's totals, which a receiver's `native-done` must match.
    done: Option<Totals>,
}

impl Healing {
    pub(super) fn new(
        wormhole: &Wormhole,
        (role, agreed): (Role, Agreed),
        transit: &TransitConfig,
    ) -> Result<Self> {
        Ok(Healing {
            role,
            agreed,
            key: native_key(wormhole)?,
            attempt: 1,
            patience: transit.timing.reconnect_for,
            done: None,
        })
    }

    /// [`Healing::new`] for a receive continued in a new process, which had
    /// reached connection `attempt`.
    pub(super) fn resumed(
        wormhole: &Wormhole,
        side: (Role, Agreed),
        transit: &TransitConfig,
        attempt: u32,
    ) -> Result<Self> {
        let mut healing = Healing::new(wormhole, side, transit)?;
        healing.attempt = attempt;
        Ok(healing)
    }

    /// The connection in use (1: the first).
    pub(super) fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The first connection of a process that continues an interrupted
    /// receive: the next attempt, which the waiting sender takes up.
    pub(super) async fn rejoin(
        &mut self,
        wormhole: &mut Wormhole,
        transit: &TransitConfig,
        ui: &mut dyn Ui,
    ) -> Result<Link> {
        let restarted = std::io::Error::other("the receiver restarted");
        let cause = NetworkError::Lost(restarted).into();
        match self
            .reconnect(wormhole, transit, (&cause, Broke::Lost), ui)
            .await?
        {
            Healed::Link(link) => Ok(*link),
            // Only a sender accepts a `native-done`.
            Healed::PeerFinished => Err(Error::internal("a receiver told it was done")),
        }
    }

    /// Sender: from now on a receiver's `native-done` with `totals` ends the
    /// transfer while reconnecting.
    pub(super) fn accept_done(&mut self, totals: Totals) {
        self.done = Some(totals);
    }

    /// Receiver, after its DONE frame: tells the sender in the mailbox too, in
    /// case the connection broke before the sender read it. Best effort, bounded.
    pub(super) async fn tell_done(&self, wormhole: &mut Wormhole, totals: Totals) {
        if !self.agreed.features.reconnect {
            return;
        }
        let said = MailboxMessage::NativeDone(totals).encode();
        let sent = tokio::time::timeout(TELL_DONE, wormhole.send_rejoining(said)).await;
        if !matches!(sent, Ok(Ok(()))) {
            tracing::debug!("the mailbox did not take our native-done");
        }
    }

    /// The first connection (the hints exchanged already). When it fails, the
    /// peer may still have won a path that broke before we read its `go` (a
    /// relay killed at that moment): such a peer asks to reconnect at once,
    /// and we follow it instead of failing. Both may have failed, too (the
    /// relay killed before either read the other's handshake); then nobody
    /// would ask, so the sender asks at once and the receiver follows.
    pub(super) async fn first(
        &mut self,
        (prep, peer): (TransitPrep, &TransitMessage),
        wormhole: &mut Wormhole,
        transit: &TransitConfig,
        ui: &mut dyn Ui,
    ) -> Result<Link> {
        let e = match connect(prep, (self.role, self.agreed), (&self.key, peer), ui).await {
            Ok(link) => return Ok(link),
            Err(e) => e,
        };
        if !self.allowed() || !matches!(e, Error::Network(_)) {
            return Err(e);
        }
        if self.role == Role::Receiver {
            let asked = tokio::time::timeout(FOLLOW_WINDOW, peer_reconnects(wormhole)).await;
            if !matches!(asked, Ok(Ok(true))) {
                return Err(e);
            }
        }
        match self
            .reconnect(wormhole, transit, (&e, Broke::Never), ui)
            .await?
        {
            Healed::Link(link) => Ok(*link),
            Healed::PeerFinished => Err(e),
        }
    }

    /// Both sides can reconnect, and attempts are left.
    fn allowed(&self) -> bool {
        let on = self.agreed.features.reconnect && !self.patience.is_zero();
        on && self.attempt < MAX_ATTEMPTS
    }

    /// Whether `e` is a broken connection that both sides can heal: the
    /// peer did not say why it stopped, and it can reconnect.
    fn heals(&self, e: &Error) -> bool {
        let broken = matches!(
            e,
            Error::Peer(PeerError::Vanished)
                | Error::Network(NetworkError::Lost(_) | NetworkError::Silent(_))
        );
        broken && self.allowed()
    }

    /// After `link` failed with `e`: a new link if the failure heals, else the
    /// peer is told (`Link::fail`) and `e` returned.
    pub(super) async fn recover(
        &mut self,
        mut link: Link,
        e: Error,
        wormhole: &mut Wormhole,
        transit: &TransitConfig,
        ui: &mut dyn Ui,
    ) -> Result<Healed> {
        if !self.heals(&e) {
            link.fail(&e).await;
            return Err(e);
        }
        // Closed at once: a peer still reading it (our keep-alives would keep
        // it waiting) learns that it broke.
        drop(link);
        ui.waiting_for_peer(self.patience.as_secs());
        self.reconnect(wormhole, transit, (&e, Broke::Lost), ui)
            .await
    }

    /// Makes the connection again after `cause` broke it, or gives up after
    /// `transit.timing.reconnect_for`.
    async fn reconnect(
        &mut self,
        wormhole: &mut Wormhole,
        transit: &TransitConfig,
        (cause, broke): (&Error, Broke),
        ui: &mut dyn Ui,
    ) -> Result<Healed> {
        let patience = self.patience;
        let deadline = Instant::now() + patience;
        let gave_up = || NetworkError::GaveUp {
            cause: cause.to_string(),
            secs: patience.as_secs(),
        };
        let mut pause = Duration::from_secs(1);
        while self.attempt < MAX_ATTEMPTS {
            self.attempt += 1;
            match broke {
                Broke::Lost => ui.reconnecting(self.attempt, &cause.to_string()),
                Broke::Never => ui.connecting_again(self.attempt, &cause.to_string()),
            }
            let once = self.once(wormhole, transit, ui);
            match tokio::time::timeout_at(deadline, once).await {
                Err(_) => break,
                Ok(Ok(healed)) => return Ok(healed),
                Ok(Err(e)) if retries(&e) => {
                    tracing::debug!(error = %e, attempt = self.attempt, "reconnect failed");
                }
                Ok(Err(e)) => return Err(e),
            }
            if Instant::now() + pause >= deadline {
                break;
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(MAX_BACKOFF);
        }
        Err(gave_up().into())
    }

    /// One attempt: our new hints, the peer's for the same attempt (a peer
    /// further on wins: we follow it), then the race with this attempt's key.
    async fn once(
        &mut self,
        wormhole: &mut Wormhole,
        transit: &TransitConfig,
        ui: &mut dyn Ui,
    ) -> Result<Healed> {
        let mut ours = Hints::gather(transit, self.agreed).await?;
        wormhole.send_rejoining(ours.message(self.attempt)).await?;
        let peer = loop {
            let waited = tokio::time::timeout(REJOIN_AFTER, wormhole.receive_rejoining()).await;
            let Ok(bytes) = waited else {
                tracing::debug!(
                    attempt = self.attempt,
                    "no hints yet: rejoining the mailbox"
                );
                wormhole.rejoin().await?;
                continue;
            };
            let bytes = bytes?;
            match MailboxMessage::decode(&bytes) {
                Ok(MailboxMessage::NativeReconnect(r)) if r.attempt < self.attempt => continue,
                Ok(MailboxMessage::NativeReconnect(r)) => {
                    let follow = r.attempt > self.attempt;
                    let stale = ours.stale();
                    if stale {
                        ours = Hints::gather(transit, self.agreed).await?;
                    }
                    if follow || stale {
                        // A fresh gather that does not follow goes one further,
                        // so the peer (likely stale too) gathers again as well.
                        self.attempt = r.attempt + u32::from(!follow);
                        wormhole.send_rejoining(ours.message(self.attempt)).await?;
                    }
                    if r.attempt == self.attempt {
                        break r.transit;
                    }
                }
                Ok(MailboxMessage::NativeDone(t)) if self.done == Some(t) => {
                    return Ok(Healed::PeerFinished)
                }
                Ok(MailboxMessage::Error(e)) => return Err(Error::from_peer(e)),
                Ok(MailboxMessage::NativeTransit(_) | MailboxMessage::NativeDone(_)) | Err(_) => {
                    return Err(Error::protocol("expected reconnection hints".into()))
                }
            }
        };
        let key = reconnect_key(&self.key, self.attempt);
        let connecting = connect(ours.prep, (self.role, self.agreed), (&key, &peer), ui);
        tokio::select! {
            link = connecting => Ok(Healed::Link(Box::new(link?))),
            moved = self.moved_on(wormhole) => moved,
        }
    }

    /// While we connect for this attempt, the peer may have given it up: the
    /// hints we took were stale (a message whose sending failed is added again
    /// when its side rejoins the mailbox; seen in the NAT lab when `ferry serve`
    /// restarted: 40 s lost in a relay handshake nobody joined). Its message for a
    /// later attempt ends ours and is put back for the next one.
    async fn moved_on(&self, wormhole: &mut Wormhole) -> Result<Healed> {
        loop {
            let bytes = wormhole.receive_rejoining().await?;
            match MailboxMessage::decode(&bytes) {
                Ok(MailboxMessage::NativeReconnect(r)) if r.attempt > self.attempt => {
                    wormhole.put_back(bytes);
                    return Err(
                        NetworkError::TimedOut("waiting for a peer that tried again").into(),
                    );
                }
                Ok(MailboxMessage::NativeDone(t)) if self.done == Some(t) => {
                    return Ok(Healed::PeerFinished)
                }
                Ok(MailboxMessage::Error(e)) => return Err(Error::from_peer(e)),
                _ => continue, // this attempt's hints again, or older ones
            }
        }
    }
}

/// Whether the peer's next mailbox message asks to reconnect (it stays
/// there for whoever reads next).
async fn peer_reconnects(wormhole: &mut Wormhole) -> Result<bool> {
    let bytes = wormhole.receive_rejoining().await?;
    let asks = matches!(
        MailboxMessage::decode(&bytes),
        Ok(MailboxMessage::NativeReconnect(_))
    );
    wormhole.put_back(bytes);
    Ok(asks)
}

/// Failures worth another attempt: the network, or the mailbox server.
fn retries(e: &Error) -> bool {
    matches!(e, Error::Network(_) | Error::Server(_))
}

/// What the user is told while reconnecting: a connection we had was lost,
/// or our first one never came (and we follow the peer's reconnection).
#[derive(Clone, Copy)]
enum Broke {
    Lost,
    Never,
}

/// Our candidates for one attempt, and when they were gathered: hints that
/// waited long in the mailbox may date from a broken network (STUN failed,
/// so no public address, and no hole punching through a NAT).
struct Hints {
    prep: TransitPrep,
    at: Instant,
}

impl Hints {
    async fn gather(transit: &TransitConfig, agreed: Agreed) -> Result<Hints> {
        let prep = TransitPrep::with_quic(transit, agreed.features.quic).await?;
        Ok(Hints {
            prep,
            at: Instant::now(),
        })
    }

    fn message(&self, attempt: u32) -> Vec<u8> {
        let transit = self.prep.message().clone();
        MailboxMessage::NativeReconnect(Reconnect { attempt, transit }).encode()
    }

    fn stale(&self) -> bool {
        self.at.elapsed() > STALE_HINTS
    }
}
