//! The serving side of the download API (the reverse transfer: the device
//! that has the files runs the server, the one that wants them asks) as a
//! sans-IO machine. Call order:
//!
//! 1. [`Share::new`] with what is shared (ids are the items' indexes, as the
//!    upload API's [`super::sender::prepare_upload`] numbers them);
//! 2. per `prepare-download`: [`Share::handle_prepare_download`] → a session
//!    id (the PIN checked by the receiver's gate: 401, then 429 after
//!    [`super::receiver::MAX_PIN_ATTEMPTS`] wrong ones), and
//!    [`Share::answer`] for its JSON;
//! 3. per `download`: [`Share::handle_download`] → the file to stream, or
//!    403 (no such session) / 404 (no such file).
//!
//! Sharing is the user's standing consent: sessions are granted without a
//! question. They are bounded in number ([`MAX_SESSIONS`], the least
//! recently used goes) and in time ([`ShareConfig::session_ttl`] unused).
//! A session id is a 128-bit secret from a CSPRNG: it is the only download
//! credential, so a page link works from any address holding it.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use rand::{CryptoRng, RngCore};

use super::decode;
use super::messages::{DeviceInfo, FileDto, PrepareDownloadResponse};
use super::receiver::pin::PinGate;
use super::receiver::random_token;
use super::response::{Response, Status};
use super::sender::{numbered, refusal, OutgoingItem, SendError};
use super::target::target;

/// Sessions kept at once: each browser tab or client that asked holds one.
pub const MAX_SESSIONS: usize = 64;
/// Default for [`ShareConfig::session_ttl`]: a page left open for an hour
/// still works; a link found later does not.
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(3600);

/// What the sharing user configured.
#[derive(Debug, Clone)]
pub struct ShareConfig {
    /// A PIN callers must give (`?pin=`), if any.
    pub pin: Option<String>,
    /// A session unused for this long is forgotten.
    pub session_ttl: Duration,
}

/// The shared files and the sessions granted so far.
#[derive(Debug)]
pub struct Share {
    config: ShareConfig,
    files: BTreeMap<String, FileDto>,
    /// Session id → last use.
    sessions: BTreeMap<String, Instant>,
    pins: PinGate,
}

impl Share {
    /// Shares `items`; file ids are their indexes (`"0"`, `"1"`, …).
    pub fn new(config: ShareConfig, items: &[OutgoingItem]) -> Share {
        Share {
            config,
            files: numbered(items),
            sessions: BTreeMap::new(),
            pins: PinGate::default(),
        }
    }

    /// Every shared file, by id.
    pub fn files(&self) -> &BTreeMap<String, FileDto> {
        &self.files
    }

    /// Whether a PIN guards the share.
    pub fn needs_pin(&self) -> bool {
        self.config.pin.is_some()
    }

    /// A `prepare-download` (or a page visit) from `peer`: the PIN first,
    /// then the caller's live session if it named one, else a new one.
    pub fn handle_prepare_download(
        &mut self,
        now: Instant,
        peer: IpAddr,
        session_id: Option<&str>,
        pin: Option<&str>,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<String, Response> {
        self.pins.check(self.config.pin.as_deref(), peer, pin)?;
        self.expire(now);
        let id = match session_id {
            Some(id) if self.sessions.contains_key(id) => id.to_owned(),
            _ => self.open(now, rng),
        };
        self.sessions.insert(id.clone(), now);
        Ok(id)
    }

    /// The `200` body of a prepare-download granted `session_id`.
    pub fn answer(&self, info: DeviceInfo, session_id: &str) -> Response {
        let answer = PrepareDownloadResponse {
            info,
            session_id: session_id.to_owned(),
            files: self.files.clone(),
        };
        Response {
            status: Status::Ok,
            body: serde_json::to_vec(&answer).unwrap_or_default(),
        }
    }

    /// A `download`'s query: the file to stream, if the session is live
    /// (else 403) and the file shared (else 404). Missing parameters are 400.
    pub fn handle_download(
        &mut self,
        now: Instant,
        session_id: Option<&str>,
        file_id: Option<&str>,
    ) -> Result<&FileDto, Response> {
        let (Some(session_id), Some(file_id)) = (session_id, file_id) else {
            return Err(Response::error(Status::BadRequest, "Missing parameters"));
        };
        self.expire(now);
        let Some(used) = self.sessions.get_mut(session_id) else {
            return Err(Response::error(Status::Forbidden, "Invalid session"));
        };
        *used = now;
        let file = self.files.get(file_id);
        file.ok_or_else(|| Response::error(Status::NotFound, "File not found"))
    }

    /// A new session, room made by forgetting the least recently used.
    fn open(&mut self, now: Instant, rng: &mut (impl RngCore + CryptoRng)) -> String {
        if self.sessions.len() >= MAX_SESSIONS {
            let oldest = self.sessions.iter().min_by_key(|(_, t)| **t);
            let oldest = oldest.map(|(id, _)| id.clone());
            oldest.map(|id| self.sessions.remove(&id));
        }
        let id = random_token(rng);
        self.sessions.insert(id.clone(), now);
        id
    }

    fn expire(&mut self, now: Instant) {
        let ttl = self.config.session_ttl;
        self.sessions
            .retain(|_, used| now.saturating_duration_since(*used) < ttl);
    }
}

/// Path and query of a prepare-download, with the PIN and session if given.
pub fn prepare_download_target(session_id: Option<&str>, pin: Option<&str>) -> String {
    let params = [("sessionId", session_id), ("pin", pin)];
    target(&super::Endpoint::PrepareDownload.path(), &params)
}

/// Path and query of one file's download (values from the peer: encoded).
pub fn download_target(session_id: &str, file_id: &str) -> String {
    let params = [("sessionId", Some(session_id)), ("fileId", Some(file_id))];
    target(&super::Endpoint::Download.path(), &params)
}

/// Reads a sharing device's answer to a prepare-download: its files, or why
/// not (the same refusals as a prepare-upload's).
pub fn interpret_prepare_download(
    status: u16,
    body: &[u8],
) -> Result<PrepareDownloadResponse, SendError> {
    match status {
        200 => Ok(decode::prepare_download_response(body)?),
        _ => Err(refusal(status, body)),
    }
}

#[cfg(test)]
#[path = "share_tests.rs"]
mod tests;
