//! Client <-> rendezvous ("mailbox") server messages: one JSON object per WebSocket
//! text frame, discriminated by its `type` field.
//!
//! Peers format JSON differently (Python puts spaces after separators), so these
//! types are always parsed, never compared as bytes. Unknown server fields are
//! ignored and unknown server message types decode to [`ServerMessage::Unknown`].

use serde::{Deserialize, Serialize};

/// The mood a side reports when it closes its mailbox; the server keeps it in its
/// usage statistics (`scary` flags a failed key confirmation, i.e. a wrong code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mood {
    Happy,
    Lonely,
    Scary,
    Errory,
    Unwelcome,
}

/// A command from a client to the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ClientMessage {
    Bind {
        appid: String,
        side: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_version: Option<(String, String)>,
    },
    List,
    Allocate,
    Claim {
        nameplate: String,
    },
    Release {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nameplate: Option<String>,
    },
    Open {
        mailbox: String,
    },
    Add {
        phase: String,
        /// Hex of the (usually encrypted) message body.
        body: String,
    },
    Close {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mailbox: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mood: Option<Mood>,
    },
    Ping {
        ping: u64,
    },
}

/// A client command with the optional `id` that the server echoes in its `ack`
/// (the Go client insists on matching ids, so we always send one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientEnvelope {
    #[serde(flatten)]
    pub message: ClientMessage,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// The contents of the server's first frame.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub motd: Option<String>,
    /// When present the server refuses service and says why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One entry of a `nameplates` listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameplateEntry {
    pub id: String,
}

/// A message from the server to a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ServerMessage {
    Welcome {
        welcome: Welcome,
    },
    Ack {
        #[serde(default)]
        id: Option<String>,
    },
    Nameplates {
        nameplates: Vec<NameplateEntry>,
    },
    Allocated {
        nameplate: String,
    },
    Claimed {
        mailbox: String,
    },
    Released,
    Message {
        side: String,
        phase: String,
        body: String,
        #[serde(default)]
        id: Option<String>,
    },
    Closed,
    Pong {
        pong: u64,
    },
    Error {
        error: String,
        #[serde(default)]
        orig: serde_json::Value,
    },
    #[serde(other)]
    Unknown,
}

impl ServerMessage {
    /// Decodes one text frame. Errors are the peer's (the server's) fault.
    pub fn decode(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

impl ClientEnvelope {
    /// Encodes as compact JSON for one WebSocket text frame.
    pub fn encode(&self) -> String {
        // Serializing these plain structs cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_encodes_with_type_and_id() {
        let env = ClientEnvelope {
            message: ClientMessage::Bind {
                appid: "a".into(),
                side: "0123456789".into(),
                client_version: Some(("ferry".into(), "0.1.0".into())),
            },
            id: Some("beef".into()),
        };
        let v: serde_json::Value = serde_json::from_str(&env.encode()).unwrap();
        assert_eq!(v["type"], "bind");
        assert_eq!(v["id"], "beef");
        assert_eq!(v["client_version"], serde_json::json!(["ferry", "0.1.0"]));
    }

    #[test]
    fn close_without_mood_omits_fields() {
        let env = ClientEnvelope {
            message: ClientMessage::Close {
                mailbox: None,
                mood: None,
            },
            id: None,
        };
        assert_eq!(env.encode(), r#"{"type":"close"}"#);
    }

    #[test]
    fn decodes_python_server_frames() {
        let w = r#"{"welcome": {"motd": "hi", "your-address": {"port": 1, "ipv4": "127.0.0.1"}}, "type": "welcome", "server_tx": 1.5}"#;
        let ServerMessage::Welcome { welcome } = ServerMessage::decode(w).unwrap() else {
            panic!("not a welcome")
        };
        assert_eq!(welcome.motd.as_deref(), Some("hi"));
        let m = r#"{"type": "message", "side": "abc", "phase": "pake", "body": "7b", "server_rx": 1.0, "id": null, "server_tx": 2.0}"#;
        assert!(matches!(
            ServerMessage::decode(m).unwrap(),
            ServerMessage::Message { .. }
        ));
        let e = r#"{"type": "error", "error": "crowded", "orig": {"type": "claim"}}"#;
        assert!(matches!(
            ServerMessage::decode(e).unwrap(),
            ServerMessage::Error { .. }
        ));
    }

    #[test]
    fn unknown_type_is_tolerated() {
        let u = r#"{"type": "fancy-new-thing", "x": 1}"#;
        assert_eq!(ServerMessage::decode(u).unwrap(), ServerMessage::Unknown);
    }
}
