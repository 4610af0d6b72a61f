//! The per-connection rules of the mailbox protocol, sans-IO.
//!
//! [`Rules::handle`] takes one decoded command and says what to do: answer at
//! once, refuse with one of the reference server's error strings, or ask the state
//! thread ([`Call`]). [`Rules::complete`] then records the outcome. The order of
//! the checks follows the reference server exactly, because the error a client
//! sees depends on it (e.g. `claim` without `nameplate` on a second claim says
//! "claim requires 'nameplate'", not "only one claim per connection").

use std::sync::Arc;

use ferry_proto::wire::mailbox::{ClientFrame, Command, Field, ServerFrame};
use serde_json::Value;

use super::refusal::Refusal;
use super::state::{Answer, Call, CallKind};

/// Longest accepted app id, side, mailbox id, phase, `id` and mood.
const MAX_APPID: usize = 256;
const MAX_TOKEN: usize = 128;
const MAX_MOOD: usize = 32;
/// Longest nameplate the reference accepts.
const MAX_NAMEPLATE: usize = 40;

/// What the connection should do with one command (after its `ack`).
#[derive(Debug, PartialEq)]
pub(crate) enum Step {
    /// Send this frame.
    Reply(String),
    Refuse(Refusal),
    /// Bound; nothing to send.
    Bound,
    /// Ask the state thread.
    Call(Call),
}

/// What one connection has done so far.
#[derive(Debug, Default)]
pub(crate) struct Rules {
    app: Option<Arc<str>>,
    side: Option<Arc<str>>,
    did_allocate: bool,
    did_claim: bool,
    nameplate: Option<String>,
    did_release: bool,
    mailbox: Option<String>,
    /// Subscribed to `mailbox` (the reference's `self._mailbox`).
    opened: bool,
    did_close: bool,
}

/// A required string field: missing or not a string gives `missing`, too long
/// gives `FieldTooLong`.
fn required(field: &Field, max: usize, missing: Refusal) -> Result<&str, Refusal> {
    let v = field.as_str().ok_or(missing)?;
    if v.len() > max {
        return Err(Refusal::FieldTooLong);
    }
    Ok(v)
}

/// An optional string field that must match what this connection used before
/// (`release`'s nameplate, `close`'s mailbox): absent means "mine", which needs
/// one (`none`); not a string or another one gives `mismatch`.
fn same_as_mine(
    field: &Field,
    mine: Option<&str>,
    mismatch: Refusal,
    none: Refusal,
) -> Result<String, Refusal> {
    match field {
        Field::Missing => mine.map(str::to_owned).ok_or(none),
        Field::NotAString => Err(mismatch),
        Field::Given(n) if mine.is_some_and(|mine| mine != n) => Err(mismatch),
        Field::Given(n) => Ok(n.clone()),
    }
}

/// Nameplates are up to 40 ASCII digits.
pub(crate) fn valid_nameplate(n: &str) -> bool {
    !n.is_empty() && n.len() <= MAX_NAMEPLATE && n.bytes().all(|b| b.is_ascii_digit())
}

impl Rules {
    /// The bound app id and side, once bound.
    pub(crate) fn binding(&self) -> Option<(Arc<str>, Arc<str>)> {
        Some((self.app.clone()?, self.side.clone()?))
    }

    /// Whether the connection listens on a mailbox.
    pub(crate) fn is_open(&self) -> bool {
        self.opened
    }

    /// Decides what to do with one decoded command.
    pub(crate) fn handle(&mut self, frame: &ClientFrame, max_body: usize) -> Step {
        match self.dispatch(frame, max_body) {
            Ok(step) => step,
            Err(r) => Step::Refuse(r),
        }
    }

    fn dispatch(&mut self, frame: &ClientFrame, max_body: usize) -> Result<Step, Refusal> {
        match &frame.command {
            Command::Ping { ping } => return pong(ping.as_ref()),
            Command::Bind { appid, side } => return self.bind(appid, side),
            _ => {}
        }
        let (app, side) = self.binding().ok_or(Refusal::MustBindFirst)?;
        match &frame.command {
            Command::List => Ok(Step::Call(Call::List { app })),
            Command::Allocate => self.allocate(app, side),
            Command::Claim { nameplate } => self.claim(app, side, nameplate),
            Command::Release { nameplate } => self.release(app, side, nameplate),
            Command::Open { mailbox } => self.open(app, side, mailbox),
            Command::Add { phase, body } => {
                let add = Add {
                    phase,
                    body,
                    id: frame.string_id(),
                };
                self.add(app, side, add, max_body)
            }
            Command::Close { mailbox, mood } => self.close(app, side, mailbox, mood),
            // (ping and bind were answered above)
            Command::Unknown | Command::Ping { .. } | Command::Bind { .. } => {
                Err(Refusal::UnknownType)
            }
        }
    }

    fn bind(&mut self, appid: &Field, side: &Field) -> Result<Step, Refusal> {
        if self.app.is_some() || self.side.is_some() {
            return Err(Refusal::AlreadyBound);
        }
        let app = required(appid, MAX_APPID, Refusal::BindRequiresAppid)?;
        let side = required(side, MAX_TOKEN, Refusal::BindRequiresSide)?;
        self.app = Some(app.into());
        self.side = Some(side.into());
        Ok(Step::Bound)
    }

    fn allocate(&mut self, app: Arc<str>, side: Arc<str>) -> Result<Step, Refusal> {
        if self.did_allocate {
            return Err(Refusal::Greedy);
        }
        Ok(Step::Call(Call::Allocate { app, side }))
    }

    fn claim(&mut self, app: Arc<str>, side: Arc<str>, name: &Field) -> Result<Step, Refusal> {
        if name.is_missing() {
            return Err(Refusal::ClaimRequiresNameplate);
        }
        if self.did_claim {
            return Err(Refusal::OneClaim);
        }
        // Like the reference, a failed claim still uses up this connection's claim.
        self.did_claim = true;
        let name = name
            .as_str()
            .filter(|n| valid_nameplate(n))
            .ok_or(Refusal::InvalidNameplate)?;
        self.nameplate = Some(name.to_owned());
        Ok(Step::Call(Call::Claim {
            app,
            side,
            nameplate: name.to_owned(),
        }))
    }

    fn release(&mut self, app: Arc<str>, side: Arc<str>, name: &Field) -> Result<Step, Refusal> {
        if self.did_release {
            return Err(Refusal::OneRelease);
        }
        let nameplate = same_as_mine(
            name,
            self.nameplate.as_deref(),
            Refusal::ReleaseMismatch,
            Refusal::ReleaseWithoutClaim,
        )?;
        self.did_release = true;
        Ok(Step::Call(Call::Release {
            app,
            side,
            nameplate,
        }))
    }

    fn open(&mut self, app: Arc<str>, side: Arc<str>, mailbox: &Field) -> Result<Step, Refusal> {
        if self.opened {
            return Err(Refusal::OneOpen);
        }
        let mailbox = required(mailbox, MAX_TOKEN, Refusal::OpenRequiresMailbox)?;
        self.mailbox = Some(mailbox.to_owned());
        Ok(Step::Call(Call::Open {
            app,
            side,
            mailbox: mailbox.to_owned(),
        }))
    }

    fn add(
        &mut self,
        app: Arc<str>,
        side: Arc<str>,
        add: Add<'_>,
        max_body: usize,
    ) -> Result<Step, Refusal> {
        let mailbox = self
            .mailbox
            .clone()
            .filter(|_| self.opened)
            .ok_or(Refusal::MustOpenFirst)?;
        let phase = required(add.phase, MAX_TOKEN, Refusal::MissingPhase)?;
        // The body is hex: two characters per byte.
        let body =
            required(add.body, max_body.saturating_mul(2), Refusal::MissingBody).map_err(|r| {
                if r == Refusal::FieldTooLong {
                    Refusal::TooLarge
                } else {
                    r
                }
            })?;
        let id = add.id.filter(|i| i.len() <= MAX_TOKEN).map(str::to_owned);
        Ok(Step::Call(Call::Add {
            app,
            side,
            mailbox,
            phase: phase.to_owned(),
            body: body.to_owned(),
            id,
        }))
    }

    fn close(
        &mut self,
        app: Arc<str>,
        side: Arc<str>,
        mailbox: &Field,
        mood: &Field,
    ) -> Result<Step, Refusal> {
        if self.did_close {
            return Err(Refusal::OneClose);
        }
        let mailbox = same_as_mine(
            mailbox,
            self.mailbox.as_deref(),
            Refusal::CloseMismatch,
            Refusal::CloseWithoutOpen,
        )?;
        let mood = mood
            .as_str()
            .filter(|m| m.len() <= MAX_MOOD)
            .map(str::to_owned);
        Ok(Step::Call(Call::Close {
            app,
            side,
            mailbox,
            mood,
            open_first: !self.opened,
        }))
    }

    /// Records the state thread's answer to a call this connection made.
    pub(crate) fn complete(&mut self, call: CallKind, result: &Result<Answer, Refusal>) {
        if result.is_err() {
            return;
        }
        match call {
            CallKind::Allocate => self.did_allocate = true,
            CallKind::Open => self.opened = true,
            CallKind::Close => {
                self.did_close = true;
                self.opened = false;
            }
            _ => {}
        }
    }
}

/// The fields of an `add`.
struct Add<'a> {
    phase: &'a Field,
    body: &'a Field,
    /// The command's `id` when it is a string; stored with the message.
    id: Option<&'a str>,
}

/// `pong` echoes `ping` as it came, whatever its JSON type.
fn pong(ping: Option<&Value>) -> Result<Step, Refusal> {
    let pong = ping.ok_or(Refusal::PingRequiresPing)?;
    Ok(Step::Reply(super::frames::encode(ServerFrame::Pong {
        pong,
    })))
}

#[cfg(test)]
mod tests;
