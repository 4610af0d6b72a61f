//! Connection hints and abilities, as carried in the `transit` message.
//!
//! Peers disagree on the details (Rust adds `name` and WebSocket relay entries, Go
//! ignores inner relay entries that are not `direct-tcp-v1`), and a hostile peer may
//! send anything, so hints are decoded one by one: an entry we cannot use is dropped,
//! never fatal.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// A TCP endpoint: a direct address of the peer, or one of a relay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectHint {
    pub hostname: String,
    pub port: u16,
    #[serde(default)]
    pub priority: f64,
}

/// The hints we understand.
#[derive(Debug, Clone, PartialEq)]
pub enum Hint {
    Direct(DirectHint),
    /// A relay reachable at any of these endpoints.
    Relay(Vec<DirectHint>),
}

/// The `transit` message body: `{"abilities-v1": [...], "hints-v1": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransitMessage {
    #[serde(rename = "abilities-v1", default)]
    pub abilities: Vec<Value>,
    #[serde(rename = "hints-v1", default)]
    pub hints: Vec<Value>,
}

impl TransitMessage {
    /// Builds our message. With no direct hints we still advertise the direct
    /// ability only when `direct` is set (it is off under `--force-relay`).
    pub fn build(direct: bool, relay: bool, hints: &[Hint]) -> Self {
        let mut abilities = Vec::new();
        if direct {
            abilities.push(json!({"type": "direct-tcp-v1"}));
        }
        if relay {
            abilities.push(json!({"type": "relay-v1"}));
        }
        TransitMessage {
            abilities,
            hints: hints.iter().map(Hint::to_json).collect(),
        }
    }

    /// The peer's hints that we can use, in the order given; malformed entries dropped.
    pub fn usable_hints(&self) -> Vec<Hint> {
        self.hints.iter().filter_map(Hint::from_json).collect()
    }

    /// Whether the peer says it can use a relay (all real clients do).
    pub fn peer_can_relay(&self) -> bool {
        self.abilities.iter().any(|a| a["type"] == "relay-v1")
    }

    /// Whether the peer can make or take direct TCP connections; the browser
    /// page cannot (it only reaches a relay over WebSocket).
    pub fn peer_can_connect_directly(&self) -> bool {
        self.abilities.iter().any(|a| a["type"] == "direct-tcp-v1")
    }
}

impl Hint {
    fn to_json(&self) -> Value {
        match self {
            Hint::Direct(d) => direct_json(d),
            Hint::Relay(inner) => json!({
                "type": "relay-v1",
                "hints": inner.iter().map(direct_json).collect::<Vec<_>>(),
            }),
        }
    }

    fn from_json(v: &Value) -> Option<Hint> {
        match v.get("type")?.as_str()? {
            "direct-tcp-v1" => parse_direct(v).map(Hint::Direct),
            "relay-v1" => {
                let inner: Vec<DirectHint> = v
                    .get("hints")?
                    .as_array()?
                    .iter()
                    .filter_map(|h| {
                        (h.get("type")?.as_str()? == "direct-tcp-v1").then(|| parse_direct(h))?
                    })
                    .collect();
                (!inner.is_empty()).then_some(Hint::Relay(inner))
            }
            _ => None,
        }
    }
}

fn direct_json(d: &DirectHint) -> Value {
    json!({"type": "direct-tcp-v1", "priority": d.priority, "hostname": d.hostname, "port": d.port})
}

fn parse_direct(v: &Value) -> Option<DirectHint> {
    let hint: DirectHint = serde_json::from_value(v.clone()).ok()?;
    let sane = !hint.hostname.is_empty() && hint.hostname.len() <= 255 && hint.port != 0;
    sane.then_some(hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_lenient_parsing() {
        let direct = DirectHint {
            hostname: "198.18.0.1".into(),
            port: 4242,
            priority: 0.0,
        };
        let relay = DirectHint {
            hostname: "127.0.0.1".into(),
            port: 4001,
            priority: 0.0,
        };
        let msg = TransitMessage::build(
            true,
            true,
            &[
                Hint::Direct(direct.clone()),
                Hint::Relay(vec![relay.clone()]),
            ],
        );
        let text = serde_json::to_string(&msg).unwrap();
        let back: TransitMessage = serde_json::from_str(&text).unwrap();
        assert_eq!(
            back.usable_hints(),
            vec![Hint::Direct(direct), Hint::Relay(vec![relay])]
        );
        assert!(back.peer_can_relay());
    }

    #[test]
    fn rust_style_relay_hint_with_websocket_entry() {
        let text = r#"{"abilities-v1":[{"type":"direct-tcp-v1"},{"type":"relay-v1"}],
            "hints-v1":[{"type":"relay-v1","name":null,"hints":[
                {"type":"direct-tcp-v1","hostname":"127.0.0.1","port":4001},
                {"type":"websocket","url":"ws://127.0.0.1:4002"}]},
              {"type":"direct-tcp-v1","hostname":"x","port":-1},
              {"type":"tor-tcp-v1","hostname":"a.onion","port":80},
              "garbage"]}"#;
        let msg: TransitMessage = serde_json::from_str(text).unwrap();
        let relay = DirectHint {
            hostname: "127.0.0.1".into(),
            port: 4001,
            priority: 0.0,
        };
        assert_eq!(msg.usable_hints(), vec![Hint::Relay(vec![relay])]);
    }
}
