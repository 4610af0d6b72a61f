//! The per-connection rules of the mailbox protocol, sans-IO.
//!
//! [`Session::handle`] takes one decoded command and says what to do: answer at
//! once, refuse with one of the reference server's error strings, or ask the state
//! thread ([`Call`]). [`Session::complete`] then records the outcome. The order of
//! the checks follows the reference server exactly, because the error a client
//! sees depends on it (e.g. `claim` without `nameplate` on a second claim says
//! "claim requires 'nameplate'", not "only one claim per connection").

use std::sync::Arc;

use serde_json::{Map, Value};

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
pub(crate) struct Session {
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

fn string_field<'a>(msg: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    msg.get(key).and_then(Value::as_str)
}

/// A required string field: missing or not a string gives `missing`, too long
/// gives `FieldTooLong`.
fn required<'a>(
    msg: &'a Map<String, Value>,
    key: &str,
    max: usize,
    missing: Refusal,
) -> Result<&'a str, Refusal> {
    let v = string_field(msg, key).ok_or(missing)?;
    if v.len() > max {
        return Err(Refusal::FieldTooLong);
    }
    Ok(v)
}

/// Nameplates are up to 40 ASCII digits.
pub(crate) fn valid_nameplate(n: &str) -> bool {
    !n.is_empty() && n.len() <= MAX_NAMEPLATE && n.bytes().all(|b| b.is_ascii_digit())
}

impl Session {
    /// The bound app id and side, once bound.
    pub(crate) fn binding(&self) -> Option<(Arc<str>, Arc<str>)> {
        Some((self.app.clone()?, self.side.clone()?))
    }

    /// Whether the connection listens on a mailbox.
    pub(crate) fn is_open(&self) -> bool {
        self.opened
    }

    /// Decides what to do with a command whose `type` is `kind`.
    pub(crate) fn handle(&mut self, kind: &str, msg: &Map<String, Value>, max_body: usize) -> Step {
        match self.dispatch(kind, msg, max_body) {
            Ok(step) => step,
            Err(r) => Step::Refuse(r),
        }
    }

    fn dispatch(
        &mut self,
        kind: &str,
        msg: &Map<String, Value>,
        max_body: usize,
    ) -> Result<Step, Refusal> {
        match kind {
            "ping" => return ping(msg),
            "bind" => return self.bind(msg),
            _ => {}
        }
        let (app, side) = self.binding().ok_or(Refusal::MustBindFirst)?;
        match kind {
            "list" => Ok(Step::Call(Call::List { app })),
            "allocate" => self.allocate(app, side),
            "claim" => self.claim(app, side, msg),
            "release" => self.release(app, side, msg),
            "open" => self.open(app, side, msg),
            "add" => self.add(app, side, msg, max_body),
            "close" => self.close(app, side, msg),
            _ => Err(Refusal::UnknownType),
        }
    }

    fn bind(&mut self, msg: &Map<String, Value>) -> Result<Step, Refusal> {
        if self.app.is_some() || self.side.is_some() {
            return Err(Refusal::AlreadyBound);
        }
        let app = required(msg, "appid", MAX_APPID, Refusal::BindRequiresAppid)?;
        let side = required(msg, "side", MAX_TOKEN, Refusal::BindRequiresSide)?;
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

    fn claim(
        &mut self,
        app: Arc<str>,
        side: Arc<str>,
        msg: &Map<String, Value>,
    ) -> Result<Step, Refusal> {
        let name = msg
            .get("nameplate")
            .ok_or(Refusal::ClaimRequiresNameplate)?;
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

    fn release(
        &mut self,
        app: Arc<str>,
        side: Arc<str>,
        msg: &Map<String, Value>,
    ) -> Result<Step, Refusal> {
        if self.did_release {
            return Err(Refusal::OneRelease);
        }
        let name = match msg.get("nameplate") {
            Some(v) => {
                let n = v.as_str().ok_or(Refusal::ReleaseMismatch)?;
                if self.nameplate.as_deref().is_some_and(|mine| mine != n) {
                    return Err(Refusal::ReleaseMismatch);
                }
                n.to_owned()
            }
            None => self.nameplate.clone().ok_or(Refusal::ReleaseWithoutClaim)?,
        };
        self.did_release = true;
        Ok(Step::Call(Call::Release {
            app,
            side,
            nameplate: name,
        }))
    }

    fn open(
        &mut self,
        app: Arc<str>,
        side: Arc<str>,
        msg: &Map<String, Value>,
    ) -> Result<Step, Refusal> {
        if self.opened {
            return Err(Refusal::OneOpen);
        }
        let mailbox = required(msg, "mailbox", MAX_TOKEN, Refusal::OpenRequiresMailbox)?;
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
        msg: &Map<String, Value>,
        max_body: usize,
    ) -> Result<Step, Refusal> {
        let mailbox = self
            .mailbox
            .clone()
            .filter(|_| self.opened)
            .ok_or(Refusal::MustOpenFirst)?;
        let phase = required(msg, "phase", MAX_TOKEN, Refusal::MissingPhase)?;
        // The body is hex: two characters per byte.
        let body = required(
            msg,
            "body",
            max_body.saturating_mul(2),
            Refusal::MissingBody,
        )
        .map_err(|r| {
            if r == Refusal::FieldTooLong {
                Refusal::TooLarge
            } else {
                r
            }
        })?;
        let id = string_field(msg, "id")
            .filter(|i| i.len() <= MAX_TOKEN)
            .map(str::to_owned);
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
        msg: &Map<String, Value>,
    ) -> Result<Step, Refusal> {
        if self.did_close {
            return Err(Refusal::OneClose);
        }
        let mailbox = match msg.get("mailbox") {
            Some(v) => {
                let m = v.as_str().ok_or(Refusal::CloseMismatch)?;
                if self.mailbox.as_deref().is_some_and(|mine| mine != m) {
                    return Err(Refusal::CloseMismatch);
                }
                m.to_owned()
            }
            None => self.mailbox.clone().ok_or(Refusal::CloseWithoutOpen)?,
        };
        let mood = string_field(msg, "mood")
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

    /// Records the state thread's answer to a call this session made.
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

fn ping(msg: &Map<String, Value>) -> Result<Step, Refusal> {
    let v = msg.get("ping").ok_or(Refusal::PingRequiresPing)?;
    Ok(Step::Reply(super::frames::response(
        "pong",
        Some(("pong", v.clone())),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn step(s: &mut Session, v: Value) -> Step {
        let m = obj(v);
        let kind = m["type"].as_str().unwrap().to_owned();
        s.handle(&kind, &m, 1024)
    }

    fn bound() -> Session {
        let mut s = Session::default();
        assert_eq!(
            step(&mut s, json!({"type": "bind", "appid": "a", "side": "s"})),
            Step::Bound
        );
        s
    }

    #[test]
    fn bind_rules() {
        let mut s = Session::default();
        assert_eq!(
            step(&mut s, json!({"type": "list"})),
            Step::Refuse(Refusal::MustBindFirst)
        );
        assert_eq!(
            step(&mut s, json!({"type": "bind", "side": "s"})),
            Step::Refuse(Refusal::BindRequiresAppid)
        );
        assert_eq!(
            step(&mut s, json!({"type": "bind", "appid": "a"})),
            Step::Refuse(Refusal::BindRequiresSide)
        );
        assert!(matches!(
            step(&mut s, json!({"type": "ping", "ping": 3})),
            Step::Reply(_)
        ));
        assert_eq!(
            step(&mut s, json!({"type": "ping"})),
            Step::Refuse(Refusal::PingRequiresPing)
        );
        let mut s = bound();
        assert_eq!(
            step(&mut s, json!({"type": "bind", "appid": "a", "side": "s"})),
            Step::Refuse(Refusal::AlreadyBound)
        );
        assert_eq!(
            step(&mut s, json!({"type": "bogus"})),
            Step::Refuse(Refusal::UnknownType)
        );
    }

    #[test]
    fn claim_rules_in_reference_order() {
        let mut s = bound();
        assert_eq!(
            step(&mut s, json!({"type": "claim"})),
            Step::Refuse(Refusal::ClaimRequiresNameplate)
        );
        assert!(matches!(
            step(&mut s, json!({"type": "claim", "nameplate": "12"})),
            Step::Call(_)
        ));
        assert_eq!(
            step(&mut s, json!({"type": "claim"})),
            Step::Refuse(Refusal::ClaimRequiresNameplate)
        );
        assert_eq!(
            step(&mut s, json!({"type": "claim", "nameplate": "13"})),
            Step::Refuse(Refusal::OneClaim)
        );
        let mut s = bound();
        assert_eq!(
            step(&mut s, json!({"type": "claim", "nameplate": "x1"})),
            Step::Refuse(Refusal::InvalidNameplate)
        );
        assert_eq!(
            step(&mut s, json!({"type": "claim", "nameplate": "1"})),
            Step::Refuse(Refusal::OneClaim)
        );
    }

    #[test]
    fn release_rules() {
        let mut s = bound();
        assert_eq!(
            step(&mut s, json!({"type": "release"})),
            Step::Refuse(Refusal::ReleaseWithoutClaim)
        );
        step(&mut s, json!({"type": "claim", "nameplate": "5"}));
        assert_eq!(
            step(&mut s, json!({"type": "release", "nameplate": "6"})),
            Step::Refuse(Refusal::ReleaseMismatch)
        );
        assert!(matches!(
            step(&mut s, json!({"type": "release"})),
            Step::Call(Call::Release { .. })
        ));
        assert_eq!(
            step(&mut s, json!({"type": "release"})),
            Step::Refuse(Refusal::OneRelease)
        );
        // releasing an arbitrary name without a claim is allowed
        let mut s = bound();
        assert!(matches!(
            step(&mut s, json!({"type": "release", "nameplate": "9"})),
            Step::Call(_)
        ));
    }

    #[test]
    fn open_add_close_rules() {
        let mut s = bound();
        assert_eq!(
            step(&mut s, json!({"type": "add", "phase": "p", "body": ""})),
            Step::Refuse(Refusal::MustOpenFirst)
        );
        assert_eq!(
            step(&mut s, json!({"type": "close"})),
            Step::Refuse(Refusal::CloseWithoutOpen)
        );
        assert_eq!(
            step(&mut s, json!({"type": "open"})),
            Step::Refuse(Refusal::OpenRequiresMailbox)
        );
        let Step::Call(open) = step(&mut s, json!({"type": "open", "mailbox": "m"})) else {
            panic!()
        };
        s.complete(open.kind(), &Ok(Answer::Opened(vec![])));
        assert_eq!(
            step(&mut s, json!({"type": "open", "mailbox": "m"})),
            Step::Refuse(Refusal::OneOpen)
        );
        assert_eq!(
            step(&mut s, json!({"type": "add", "body": "00"})),
            Step::Refuse(Refusal::MissingPhase)
        );
        assert_eq!(
            step(&mut s, json!({"type": "add", "phase": "p"})),
            Step::Refuse(Refusal::MissingBody)
        );
        let big = "00".repeat(1025);
        assert_eq!(
            step(&mut s, json!({"type": "add", "phase": "p", "body": big})),
            Step::Refuse(Refusal::TooLarge)
        );
        assert_eq!(
            step(&mut s, json!({"type": "close", "mailbox": "other"})),
            Step::Refuse(Refusal::CloseMismatch)
        );
        let Step::Call(close) = step(&mut s, json!({"type": "close", "mood": "happy"})) else {
            panic!()
        };
        assert!(
            matches!(&close, Call::Close { open_first: false, mood: Some(m), .. } if m == "happy")
        );
        s.complete(close.kind(), &Ok(Answer::Closed));
        assert_eq!(
            step(&mut s, json!({"type": "close"})),
            Step::Refuse(Refusal::OneClose)
        );
        assert!(!s.is_open());
    }

    #[test]
    fn close_without_open_opens_first() {
        let mut s = bound();
        let Step::Call(c) = step(&mut s, json!({"type": "close", "mailbox": "m"})) else {
            panic!()
        };
        assert!(matches!(
            c,
            Call::Close {
                open_first: true,
                ..
            }
        ));
    }
}
