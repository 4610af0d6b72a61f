//! Server -> client frames, encoded as the reference server does: one JSON object
//! per text frame, every one with `server_tx` (float seconds). Clients parse these,
//! so key order and spacing do not matter.
//!
//! `ferry_proto::mailbox::ServerMessage` is the client's view and has no
//! `server_tx`/`server_rx`/`your-address`; the server encodes its own frames here
//! and the tests decode them with the ferry-proto types.

use std::net::{IpAddr, SocketAddr};

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::refusal::Refusal;
use crate::store::StoredMessage;
use crate::time::now;

/// Parses one client frame: it must be a JSON object.
pub(crate) fn parse_request(text: &[u8]) -> Result<Map<String, Value>, Refusal> {
    match serde_json::from_slice(text) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(Refusal::NotJsonObject),
    }
}

/// A frame for the trace log: the JSON with any `body` replaced by its length and a
/// short fingerprint, so the log can match one message across connections without
/// holding client data.
pub(crate) fn redacted(frame: &str) -> String {
    match serde_json::from_str::<Value>(frame) {
        Ok(Value::Object(mut m)) => {
            if let Some(Value::String(body)) = m.get("body") {
                let fp = format!("<{} hex chars #{:016x}>", body.len(), fingerprint(body));
                m.insert("body".into(), fp.into());
            }
            encode(&m)
        }
        _ => format!("<{} bytes, not a JSON object>", frame.len()),
    }
}

/// FNV-1a: stable across runs, enough to tell messages apart in a log.
fn fingerprint(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn encode(v: &impl Serialize) -> String {
    // Plain maps and structs of strings and numbers always serialize.
    serde_json::to_string(v).unwrap_or_default()
}

/// The `welcome` frame, sent as soon as the WebSocket opens.
pub(crate) fn welcome(motd: Option<&str>, error: Option<&str>, you: SocketAddr) -> String {
    let mut w = Map::new();
    if let Some(m) = motd {
        w.insert("motd".into(), m.into());
    }
    if let Some(e) = error {
        w.insert("error".into(), e.into());
    }
    w.insert("your-address".into(), your_address(you));
    encode(&json!({"type": "welcome", "welcome": w, "server_tx": now()}))
}

fn your_address(addr: SocketAddr) -> Value {
    match crate::limits::canonical(addr.ip()) {
        IpAddr::V4(v4) => json!({"ipv4": v4.to_string(), "port": addr.port()}),
        IpAddr::V6(v6) => json!({"ipv6": v6.to_string(), "port": addr.port()}),
    }
}

#[derive(Serialize)]
struct Ack<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a Value,
    server_tx: f64,
}

/// `ack`, echoing the command's `id` (null when it had none).
pub(crate) fn ack(id: Option<&Value>) -> String {
    encode(&Ack {
        kind: "ack",
        id: id.unwrap_or(&Value::Null),
        server_tx: now(),
    })
}

/// `error` with the command as received in `orig`.
pub(crate) fn error(r: Refusal, orig: &Value) -> String {
    encode(&json!({"type": "error", "error": r.as_str(), "orig": orig, "server_tx": now()}))
}

/// A direct response with one field, e.g. `{"type":"claimed","mailbox":…}`.
pub(crate) fn response(kind: &str, field: Option<(&str, Value)>) -> String {
    let mut m = Map::new();
    m.insert("type".into(), kind.into());
    if let Some((k, v)) = field {
        m.insert(k.into(), v);
    }
    m.insert("server_tx".into(), now().into());
    encode(&m)
}

/// `nameplates` listing.
pub(crate) fn nameplates(names: &[String]) -> String {
    let list: Vec<Value> = names.iter().map(|n| json!({"id": n})).collect();
    response("nameplates", Some(("nameplates", Value::Array(list))))
}

#[derive(Serialize)]
struct MessageFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    side: &'a str,
    phase: &'a str,
    body: &'a str,
    server_rx: f64,
    id: Option<&'a str>,
    server_tx: f64,
}

/// A mailbox `message` (stored or live).
pub(crate) fn message(m: &StoredMessage) -> String {
    encode(&MessageFrame {
        kind: "message",
        side: &m.side,
        phase: &m.phase,
        body: &m.body,
        server_rx: m.server_rx,
        id: m.msg_id.as_deref(),
        server_tx: now(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_proto::mailbox::ServerMessage;

    #[test]
    fn frames_decode_with_the_client_types() {
        let v: Value = serde_json::from_str(&ack(Some(&json!("beef")))).unwrap();
        assert_eq!(v["id"], "beef");
        assert!(v["server_tx"].is_f64());
        assert_eq!(
            ServerMessage::decode(&ack(None)).unwrap(),
            ServerMessage::Ack { id: None }
        );
        let e = error(Refusal::Crowded, &json!({"type": "claim"}));
        let ServerMessage::Error { error, orig } = ServerMessage::decode(&e).unwrap() else {
            panic!("not an error")
        };
        assert_eq!(error, "crowded");
        assert_eq!(orig["type"], "claim");
    }

    #[test]
    fn welcome_carries_address() {
        let w = welcome(Some("hi"), None, "[::ffff:127.0.0.1]:5".parse().unwrap());
        let v: Value = serde_json::from_str(&w).unwrap();
        assert_eq!(v["welcome"]["motd"], "hi");
        assert_eq!(
            v["welcome"]["your-address"],
            json!({"ipv4": "127.0.0.1", "port": 5})
        );
    }

    #[test]
    fn message_has_server_rx_and_id() {
        let m = StoredMessage {
            side: "s".into(),
            phase: "pake".into(),
            body: "00".into(),
            server_rx: 1.5,
            msg_id: None,
        };
        let v: Value = serde_json::from_str(&message(&m)).unwrap();
        assert_eq!(v["server_rx"], 1.5);
        assert_eq!(v["id"], Value::Null);
        assert!(parse_request(b"[1]").is_err());
        assert!(parse_request(b"{\"type\":\"ping\"}").is_ok());
    }

    #[test]
    fn redacted_frames_hold_no_body() {
        let r = redacted(r#"{"type":"add","phase":"pake","body":"deadbeef"}"#);
        assert!(!r.contains("deadbeef"), "{r}");
        assert!(r.contains("8 hex chars"), "{r}");
        assert_ne!(
            redacted(r#"{"type":"add","body":"deadbeef"}"#),
            redacted(r#"{"type":"add","body":"deadbeee"}"#)
        );
        assert!(redacted("[1,2]").contains("not a JSON object"));
    }
}
