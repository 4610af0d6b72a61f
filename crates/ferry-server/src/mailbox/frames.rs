//! The server's side of the mailbox frames: `ferry_proto::wire::mailbox` defines
//! them (both ends of each frame); this file stamps them with the server's clock
//! (`server_tx`), canonical addresses and stored messages, and redacts them for
//! the trace log.

use std::net::SocketAddr;

use ferry_proto::wire::mailbox::ServerFrame;
use serde_json::Value;

use super::refusal::Refusal;
use crate::store::StoredMessage;
use crate::time::now;

/// Encodes a frame with `server_tx` = now.
pub(crate) fn encode(frame: ServerFrame<'_>) -> String {
    frame.encode(now())
}

/// The `welcome` frame, sent as soon as the WebSocket opens. A v4-mapped IPv6
/// client is told its IPv4 address; `web` is the browser page's address.
pub(crate) fn welcome(
    motd: Option<&str>,
    error: Option<&str>,
    web: Option<&str>,
    you: SocketAddr,
) -> String {
    let you = SocketAddr::new(crate::limits::canonical(you.ip()), you.port());
    encode(ServerFrame::Welcome {
        motd,
        error,
        web,
        you,
    })
}

/// `error` with the command as received in `orig`.
pub(crate) fn error(r: Refusal, orig: &Value) -> String {
    encode(ServerFrame::Error {
        error: r.as_str(),
        orig,
    })
}

/// A mailbox `message` (stored or live).
pub(crate) fn message(m: &StoredMessage) -> String {
    encode(ServerFrame::Message {
        side: &m.side,
        phase: &m.phase,
        body: &m.body,
        server_rx: m.server_rx,
        id: m.msg_id.as_deref(),
    })
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
            serde_json::to_string(&m).unwrap_or_default()
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

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_proto::wire::mailbox::ServerMessage;
    use serde_json::json;

    #[test]
    fn welcome_carries_canonical_address() {
        let w = welcome(
            Some("hi"),
            None,
            Some("http://h/"),
            "[::ffff:127.0.0.1]:5".parse().unwrap(),
        );
        let v: Value = serde_json::from_str(&w).unwrap();
        assert_eq!(v["welcome"]["motd"], "hi");
        assert_eq!(v["welcome"]["ferry-web"], "http://h/");
        assert_eq!(
            v["welcome"]["your-address"],
            json!({"ipv4": "127.0.0.1", "port": 5})
        );
        assert!(v["server_tx"].as_f64().is_some_and(|t| t > 1.6e9));
    }

    #[test]
    fn error_and_message_frames() {
        let e = error(Refusal::Crowded, &json!({"type": "claim"}));
        let ServerMessage::Error { error, orig } = ServerMessage::decode(&e).unwrap() else {
            panic!("not an error")
        };
        assert_eq!(error, "crowded");
        assert_eq!(orig["type"], "claim");
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
