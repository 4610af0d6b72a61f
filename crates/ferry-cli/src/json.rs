//! `--json`: every event of a send or receive as one JSON object per line on
//! stdout, for scripts and GUIs (the README has the schema). The person at the
//! terminal still reads the usual messages on stderr: [`Events`] passes each
//! callback to the [`Terminal`] too.
//!
//! Peer text is carried exactly (it is data), but every character that could
//! drive or reorder a terminal is written as a `\uXXXX` escape, so a JSON line
//! that reaches a terminal is as safe as the human output.

use std::future::Future;
use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::{json, Value};

use ferry::transfer::Offered;
use ferry::{Answer, Digest, OfferSummary, Outgoing, Received, RendezvousObserver, Ui};
use ferry_proto::code::Code;
use ferry_proto::transfer::is_invisible;

use crate::outcome::{exit, exit_code};
use crate::term::Terminal;

/// Progress lines at most this often (plus the last one).
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// The terminal, and the JSON lines when asked for.
pub struct Events {
    pub term: Terminal,
    /// What the sender offered, for its `done` event.
    sent: Option<Outgoing>,
    /// Each file's hash as the protocol checked it, for `done`.
    hashes: Vec<Value>,
    json: bool,
    last_progress: Option<Instant>,
}

impl Events {
    pub fn new(term: Terminal, json: bool) -> Self {
        Events {
            term,
            sent: None,
            hashes: Vec::new(),
            json,
            last_progress: None,
        }
    }

    /// One event line, if `--json`.
    pub fn emit(&mut self, event: Value) {
        if self.json {
            emit(&event);
        }
    }

    /// The sender's `done` event: what it sent.
    pub fn sent(&mut self) {
        let mut event = json!({"event": "done"});
        if let Some(what) = &self.sent {
            merge(&mut event, outgoing(what));
        }
        self.done(event);
    }

    /// The receiver's `done` event; a text message travels inside it.
    pub fn received(&mut self, what: &Received) {
        let mut event = json!({"event": "done"});
        merge(&mut event, received(what));
        self.done(event);
    }

    fn done(&mut self, mut event: Value) {
        if !self.hashes.is_empty() {
            let hashes = std::mem::take(&mut self.hashes);
            merge(&mut event, json!({ "hashes": hashes }));
        }
        self.emit(event);
    }

    fn progress_line(&mut self, done: u64, total: u64) {
        let now = Instant::now();
        let due = self
            .last_progress
            .is_none_or(|t| now.duration_since(t) >= PROGRESS_EVERY);
        if due || done == total {
            self.last_progress = Some(now);
            self.emit(json!({"event": "progress", "done": done, "total": total}));
        }
    }
}

/// Runs a command; with `--json`, its failure is an `error` event as well.
pub async fn reported(json: bool, command: impl Future<Output = Result<()>>) -> Result<()> {
    let result = command.await;
    if let (true, Err(e)) = (json, &result) {
        emit(&error(e));
    }
    result
}

/// Writes one event line; a closed stdout is the reader's choice, not an error.
pub fn emit(event: &Value) {
    let line = terminal_safe(&event_first(event));
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

/// A JSON value as one line that is safe on a terminal (not an event).
pub fn line(value: &Value) -> String {
    terminal_safe(&value.to_string())
}

/// The object with `"event"` as its first key, so a person scanning the lines
/// (or `grep '^{"event":"progress"'`) finds the kind at once.
fn event_first(event: &Value) -> String {
    let Value::Object(map) = event else {
        return event.to_string();
    };
    let mut line = format!("{{\"event\":{}", map.get("event").unwrap_or(&Value::Null));
    for (key, value) in map.iter().filter(|(k, _)| *k != "event") {
        line.push_str(&format!(",{}:{value}", Value::from(key.as_str())));
    }
    line.push('}');
    line
}

/// Escapes what serde_json leaves raw (DEL, C1 controls, bidi and other
/// invisible format characters); they can only occur inside strings, where
/// `\uXXXX` means the same character.
fn terminal_safe(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for c in line.chars() {
        if c.is_control() || is_invisible(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The `error` event: `kind` names the exit code's class (see the README).
pub fn error(e: &anyhow::Error) -> Value {
    let kind = match exit_code(e) {
        _ if crate::outcome::interrupted(e) => "cancelled",
        exit::USAGE => "usage",
        exit::WRONG_CODE => "wrong_code",
        exit::DECLINED => "declined",
        exit::REFUSED_LOCALLY => "refused_locally",
        exit::NETWORK => "network",
        exit::PEER_CANCELLED => "peer_cancelled",
        _ => "other",
    };
    json!({"event": "error", "kind": kind, "message": format!("{e:#}")})
}

/// What arrived, as the receiver's `done` event says it.
fn received(what: &Received) -> Value {
    match what {
        Received::Text(text) => json!({"what": "text", "text": text, "bytes": text.len()}),
        Received::File { path, bytes } => json!({"what": "file", "path": path, "bytes": bytes}),
        Received::Directory { path, files, bytes } => {
            json!({"what": "directory", "path": path, "files": files, "bytes": bytes})
        }
        Received::Files(r) => json!({
            "what": if r.single_file { "file" } else { "directory" },
            "paths": r.roots, "files": r.files, "bytes": r.bytes,
            "transferred": r.transferred, "resumed": r.resumed,
            "already_present": r.already_present,
        }),
        _ => json!({}),
    }
}

/// What is offered, as the `offer` event and the sender's `done` describe it.
fn outgoing(what: &Outgoing) -> Value {
    match what {
        Outgoing::Text { bytes } => json!({"what": "text", "bytes": bytes}),
        Outgoing::Files(offer) => offered(offer),
        _ => json!({}),
    }
}

fn offered(offer: &OfferSummary) -> Value {
    let mut v = match &offer.what {
        Offered::File { name } => json!({"what": "file", "name": name}),
        Offered::Directory { name } => json!({"what": "directory", "name": name}),
        Offered::Several { first, count } => {
            json!({"what": "several", "name": first, "count": count})
        }
        _ => json!({"what": "files"}),
    };
    merge(&mut v, json!({"files": offer.files, "bytes": offer.bytes}));
    v
}

fn merge(into: &mut Value, from: Value) {
    if let (Value::Object(into), Value::Object(from)) = (into, from) {
        into.extend(from);
    }
}

fn with_event(event: &str, body: Value) -> Value {
    let mut v = json!({ "event": event });
    merge(&mut v, body);
    v
}

impl RendezvousObserver for Events {
    fn motd(&mut self, motd: &str) {
        self.term.motd(motd);
        self.emit(json!({"event": "warning", "message": format!("server says: {motd}")}));
    }

    fn code(&mut self, code: &Code) {
        self.term.code(code);
        let mut event = json!({"event": "code", "code": code.as_str()});
        if let Some(link) = self.term.announce.link(code.as_str()) {
            event["web_url"] = link.into();
        }
        self.emit(event);
    }

    fn web_page(&mut self, url: &str) {
        let before = self.term.announce.web_url.is_some();
        self.term.web_page(url);
        let code = self.term.announced().map(str::to_owned);
        let link = code.and_then(|c| self.term.announce.link(&c));
        if let (false, Some(link)) = (before, link) {
            self.emit(json!({"event": "web_url", "web_url": link}));
        }
    }

    fn waiting(&mut self) {
        self.term.waiting();
        self.emit(json!({"event": "waiting"}));
    }
}

impl Ui for Events {
    fn sending(&mut self, what: &Outgoing) {
        self.term.sending(what);
        self.emit(with_event("offer", outgoing(what)));
        self.sent = Some(what.clone());
    }

    fn connected(&mut self, verifier: &[u8; 32]) {
        self.term.connected(verifier);
    }

    fn transit(&mut self, description: &str) {
        self.term.transit(description);
        let path = match description.starts_with("relay") {
            true => "relay",
            false => "direct",
        };
        let transport = match description.contains("QUIC") {
            true => "quic",
            false => "tcp",
        };
        let event = json!({"event": "connected", "path": path, "transport": transport,
            "description": description});
        self.emit(event);
    }

    fn progress(&mut self, done: u64, total: u64) {
        self.term.progress(done, total);
        self.progress_line(done, total);
    }

    fn present(&mut self, done: u64, total: u64) {
        self.term.present(done, total);
        self.progress_line(done, total);
    }

    fn file(&mut self, index: u64, count: u64, path: &str) {
        self.term.file(index, count, path);
        self.emit(json!({"event": "file", "index": index, "count": count, "path": path}));
    }

    fn hashed(&mut self, path: &str, digest: &Digest) {
        let (algorithm, bytes) = match digest {
            Digest::Blake3(b) => ("blake3", b),
            Digest::Sha256(b) => ("sha256", b),
            _ => return,
        };
        self.hashes
            .push(json!({"path": path, algorithm: hex::encode(bytes)}));
    }

    fn confirming(&mut self) {
        self.term.confirming();
        self.emit(json!({"event": "confirming"}));
    }

    fn reconnecting(&mut self, attempt: u32, why: &str) {
        self.term.reconnecting(attempt, why);
        self.emit(json!({"event": "reconnecting", "attempt": attempt, "reason": why}));
    }

    fn connecting_again(&mut self, attempt: u32, why: &str) {
        self.term.connecting_again(attempt, why);
        self.emit(json!({"event": "connecting-again", "attempt": attempt, "reason": why}));
    }

    fn waiting_for_peer(&mut self, secs: u64) {
        self.term.waiting_for_peer(secs);
        self.emit(json!({"event": "waiting-for-peer", "seconds": secs}));
    }

    fn warn(&mut self, message: &str) {
        self.term.warn(message);
        self.emit(json!({"event": "warning", "message": message}));
    }

    fn served(&mut self, to: std::net::IpAddr, path: &str, complete: bool) {
        self.term.served(to, path, complete);
        let event =
            json!({"event": "served", "to": to.to_string(), "path": path, "complete": complete});
        self.emit(event);
    }

    fn resuming(&mut self, held: u64, total: u64) {
        self.term.resuming(held, total);
        self.emit(json!({"event": "resuming", "held": held, "total": total}));
    }

    fn accept_later(&mut self, offer: &OfferSummary) -> Answer {
        self.emit(with_event("offer", offered(offer)));
        self.term.accept_later(offer)
    }

    fn cancelled(&self) -> bool {
        self.term.cancelled()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_escape_what_could_drive_a_terminal() {
        let event = json!({"text": "a\u{1b}[2J\u{9b}\u{202e}\u{7f}\u{1f600}"});
        let line = terminal_safe(&event.to_string());
        assert!(line.is_ascii() || !line.chars().any(|c| c.is_control() || is_invisible(c)));
        assert_eq!(line, r#"{"text":"a\u001b[2J\u009b\u202e\u007f😀"}"#);
        let back: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(back, event, "the text itself is exact");
    }

    #[test]
    fn the_event_name_comes_first() {
        let event = json!({"bytes": 5, "event": "done", "what": "text"});
        let line = event_first(&event);
        assert_eq!(line, r#"{"event":"done","bytes":5,"what":"text"}"#);
        assert_eq!(serde_json::from_str::<Value>(&line).unwrap(), event);
    }
}
