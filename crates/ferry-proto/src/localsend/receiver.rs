//! The receiving side (the HTTP server of the upload API) as a state machine.
//!
//! The driver decodes nothing and decides nothing itself: it passes each
//! request in and sends back the [`Response`] it gets. Call order:
//!
//! 1. [`Receiver::handle_prepare_upload`] → either a [`Response`] at once (PIN
//!    missing or wrong: 401; too many wrong PINs: 429; bad body: 400; another
//!    session: 409) or an [`Offer`] to show the user, holding the request open;
//! 2. [`Receiver::decide`] with the user's answer → the held request's answer
//!    (200 with tokens, 204 if nothing was wanted, 403 if declined or if the
//!    sender cancelled meanwhile);
//! 3. per upload request: [`Receiver::handle_upload`] → an [`UploadTicket`],
//!    then [`Receiver::handle_upload_data`] per chunk (more than the declared
//!    size is refused), then [`Receiver::handle_upload_end`];
//! 4. [`Receiver::handle_cancel`] for `cancel`, and [`Receiver::handle_timeout`]
//!    when [`Receiver::poll_timeout`] passes.
//!
//! One session at a time, as in the app. File names are NOT sanitised here: the
//! [`Offer`] carries the peer's raw `fileName`s, and the driver lands data only
//! through ferry's receive-side safety (`ferry::transfer::landing`).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use rand::{CryptoRng, RngCore};

use super::decode;
use super::messages::{FileDto, PrepareUploadResponse, Register};
pub use super::response::{Response, Status};

/// Default for [`ReceiverConfig::idle_timeout`]: ferry's choice, long enough
/// for a phone that pauses between files.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// What the receiving user configured.
#[derive(Debug, Clone)]
pub struct ReceiverConfig {
    /// A PIN senders must give (`?pin=`), if any.
    pub pin: Option<String>,
    /// An accepted session with no upload activity for this long ends.
    pub idle_timeout: Duration,
}

/// A prepare-upload waiting for the user: who asks, and the files as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub session_id: String,
    pub peer: IpAddr,
    pub sender: Register,
    /// Raw peer names: confine them before use (module docs).
    pub files: BTreeMap<String, FileDto>,
}

/// The answer to [`Receiver::handle_prepare_upload`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prepared {
    Respond(Response),
    Ask(Offer),
}

/// The user's answer to an [`Offer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// These file ids (ids not offered are ignored; none at all means 204).
    Accept(Vec<String>),
    Decline,
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Every accepted file is done or failed.
    Finished,
    /// The sender called `cancel`.
    Cancelled,
    /// No upload activity for [`ReceiverConfig::idle_timeout`].
    TimedOut,
}

/// One upload in flight: only [`Receiver::handle_upload`] makes one.
#[derive(Debug, PartialEq, Eq)]
pub struct UploadTicket {
    session_id: String,
    file: FileDto,
    received: u64,
}

impl UploadTicket {
    /// The file being uploaded (raw peer name: see module docs).
    pub fn file(&self) -> &FileDto {
        &self.file
    }

    pub fn received(&self) -> u64 {
        self.received
    }
}

mod native;
pub(super) mod pin;
mod session;
use pin::PinGate;
pub use pin::MAX_PIN_ATTEMPTS;
use session::{Active, FileState, Slot};

/// The receiving side's state: at most one session, and wrong-PIN counts.
#[derive(Debug)]
pub struct Receiver {
    config: ReceiverConfig,
    slot: Slot,
    pins: PinGate,
}

impl Receiver {
    pub fn new(config: ReceiverConfig) -> Receiver {
        Receiver {
            config,
            slot: Slot::Idle,
            pins: PinGate::default(),
        }
    }

    /// Whether a session is waiting for the user or accepted.
    pub fn is_busy(&self) -> bool {
        !matches!(self.slot, Slot::Idle)
    }

    /// A `prepare-upload` from `peer` with the `pin` query parameter, if any.
    /// The checks run in the app's order: PIN, body, then busy.
    pub fn handle_prepare_upload(
        &mut self,
        peer: IpAddr,
        pin: Option<&str>,
        body: &[u8],
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Prepared {
        if let Err(refusal) = self.pins.check(self.config.pin.as_deref(), peer, pin) {
            return Prepared::Respond(refusal);
        }
        let request = match decode::prepare_upload(body) {
            Ok(r) if r.files.is_empty() => return bad_request("No files provided"),
            Ok(r) => r,
            Err(e) => return bad_request(&e.to_string()),
        };
        if self.is_busy() {
            let busy = Response::error(Status::Conflict, "Blocked by another session");
            return Prepared::Respond(busy);
        }
        let offer = Offer {
            session_id: random_token(rng),
            peer,
            sender: request.info,
            files: request.files,
        };
        self.slot = Slot::Pending(offer.clone());
        Prepared::Ask(offer)
    }

    /// The user's answer to the offer `session_id`: the response to its held
    /// prepare-upload. 403 "Cancelled by sender" if it was cancelled meanwhile.
    pub fn decide(
        &mut self,
        now: Instant,
        session_id: &str,
        decision: Decision,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Response {
        let offer = match std::mem::take(&mut self.slot) {
            Slot::Pending(o) if o.session_id == session_id => o,
            other => {
                self.slot = other;
                return Response::error(Status::Forbidden, "Cancelled by sender");
            }
        };
        let Decision::Accept(ids) = decision else {
            return Response::error(Status::Forbidden, "Rejected");
        };
        let active = Active::accept(offer, &ids, now, || random_token(rng));
        if active.files.is_empty() {
            return Response::empty(Status::NoContent);
        }
        let answer = PrepareUploadResponse {
            session_id: active.session_id.clone(),
            files: active.tokens(),
        };
        self.slot = Slot::Active(active);
        Response {
            status: Status::Ok,
            body: serde_json::to_vec(&answer).unwrap_or_default(),
        }
    }

    /// An `upload` request's query parameters; the ticket if they name a file of
    /// the session, from its sender, with its token, not yet uploaded.
    pub fn handle_upload(
        &mut self,
        now: Instant,
        peer: IpAddr,
        session_id: Option<&str>,
        file_id: Option<&str>,
        token: Option<&str>,
    ) -> Result<UploadTicket, Response> {
        let (Some(session_id), Some(file_id), Some(token)) = (session_id, file_id, token) else {
            return Err(Response::error(Status::BadRequest, "Missing parameters"));
        };
        let active = self
            .active_for(peer, session_id)
            .ok_or_else(invalid_token)?;
        let file = active
            .start(file_id, token, now)
            .ok_or_else(invalid_token)?;
        Ok(UploadTicket {
            session_id: session_id.to_owned(),
            file,
            received: 0,
        })
    }

    /// `len` more body bytes for `ticket`; refused past the declared size (the
    /// driver then stops reading, answers this and calls `handle_upload_end`).
    pub fn handle_upload_data(
        &mut self,
        now: Instant,
        ticket: &mut UploadTicket,
        len: u64,
    ) -> Result<(), Response> {
        let total = ticket.received.saturating_add(len);
        if total > ticket.file.size {
            return Err(Response::error(
                Status::BadRequest,
                "More data than the declared size",
            ));
        }
        ticket.received = total;
        if let Slot::Active(a) = &mut self.slot {
            a.last_activity = now;
        }
        Ok(())
    }

    /// The upload's body ended; `stored` says whether the landing layer kept
    /// the bytes. A short body fails the file (400). Also says if that ended
    /// the session.
    pub fn handle_upload_end(
        &mut self,
        now: Instant,
        ticket: UploadTicket,
        stored: bool,
    ) -> (Response, Option<Ended>) {
        let complete = ticket.received == ticket.file.size;
        let (state, response) = match (complete, stored) {
            (false, _) => (
                FileState::Failed,
                Response::error(Status::BadRequest, "Body shorter than the declared size"),
            ),
            (true, false) => (
                FileState::Failed,
                Response::error(Status::InternalError, "Could not save the file"),
            ),
            (true, true) => (FileState::Done, Response::empty(Status::Ok)),
        };
        let Slot::Active(active) = &mut self.slot else {
            return (Response::error(Status::Forbidden, "Session ended"), None);
        };
        if active.session_id != ticket.session_id {
            return (Response::error(Status::Forbidden, "Session ended"), None);
        }
        active.finish(&ticket.file.id, state, now);
        if !active.is_complete() {
            return (response, None);
        }
        self.slot = Slot::Idle;
        (response, Some(Ended::Finished))
    }

    /// A `cancel` from `peer`. Only the session's sender may cancel; a cancel
    /// without `sessionId` reaches a session still waiting for the user, since
    /// the sender has not been told its id yet. Always 200, as the app.
    pub fn handle_cancel(
        &mut self,
        peer: IpAddr,
        session_id: Option<&str>,
    ) -> (Response, Option<Ended>) {
        let ours = |sid: &str, from: IpAddr, pending: bool| {
            from == peer && session_id.map_or(pending, |s| s == sid)
        };
        let cancels = match &self.slot {
            Slot::Idle | Slot::Native => false,
            Slot::Pending(o) => ours(&o.session_id, o.peer, true),
            Slot::Active(a) => ours(&a.session_id, a.peer, false),
        };
        if !cancels {
            return (Response::empty(Status::Ok), None);
        }
        self.slot = Slot::Idle;
        (Response::empty(Status::Ok), Some(Ended::Cancelled))
    }

    /// When [`Receiver::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.slot {
            Slot::Active(a) => a.last_activity.checked_add(self.config.idle_timeout),
            _ => None,
        }
    }

    /// Ends an accepted session idle since before `now - idle_timeout`. A session
    /// waiting for the user has no timeout: the user or a cancel ends it.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<Ended> {
        let due = self.poll_timeout().is_some_and(|t| now >= t);
        due.then(|| {
            self.slot = Slot::Idle;
            Ended::TimedOut
        })
    }

    fn active_for(&mut self, peer: IpAddr, session_id: &str) -> Option<&mut Active> {
        match &mut self.slot {
            Slot::Active(a) if a.session_id == session_id && a.peer == peer => Some(a),
            _ => None,
        }
    }
}

fn bad_request(why: &str) -> Prepared {
    Prepared::Respond(Response::error(Status::BadRequest, why))
}

fn invalid_token() -> Response {
    Response::error(Status::Forbidden, "Invalid token or IP address")
}

/// A session id or file token: 128 random bits as hex, as unguessable as the
/// app's UUIDv4s. Tokens are the only upload credential, so a CSPRNG.
pub(super) fn random_token(rng: &mut (impl RngCore + CryptoRng)) -> String {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

#[cfg(test)]
#[path = "receiver_tests.rs"]
mod tests;
