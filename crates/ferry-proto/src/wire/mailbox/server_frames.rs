//! Frames the mailbox server sends to a client: the server encodes them
//! ([`ServerFrame::encode`]), the client decodes them ([`ServerMessage::decode`]).
//!
//! Peers format JSON differently (Python puts spaces after separators), so the
//! client always parses, never compares bytes: unknown fields are ignored and
//! unknown types decode to [`ServerMessage::Unknown`]. The server's own frames
//! keep the exact key order ferry has always written (pinned by tests), and carry
//! what the reference server adds: `server_tx` on every frame, `server_rx` on
//! messages, `your-address` in `welcome`.

use std::net::{IpAddr, SocketAddr};

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The contents of the server's first frame.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub motd: Option<String>,
    /// When present the server refuses service and says why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// ferry's extension: the address of the browser page this server serves
    /// (other clients ignore unknown `welcome` keys).
    #[serde(default, rename = "ferry-web", skip_serializing_if = "Option::is_none")]
    pub web: Option<String>,
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

/// A frame as the server writes it; [`ServerFrame::encode`] adds `server_tx`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ServerFrame<'a> {
    /// The first frame. `error` means the server refuses service.
    Welcome {
        motd: Option<&'a str>,
        error: Option<&'a str>,
        /// The browser page's address (`ferry-web`, ferry's extension).
        web: Option<&'a str>,
        /// The client's address as the server sees it (`your-address`).
        you: SocketAddr,
    },
    /// Echoes the command's `id` as it came (`null` when it had none).
    Ack {
        id: Option<&'a Value>,
    },
    Nameplates {
        nameplates: &'a [String],
    },
    Allocated {
        nameplate: &'a str,
    },
    Claimed {
        mailbox: &'a str,
    },
    Released,
    /// A mailbox message, stored or live; `server_rx` is when it was added.
    Message {
        side: &'a str,
        phase: &'a str,
        body: &'a str,
        server_rx: f64,
        id: Option<&'a str>,
    },
    Closed,
    /// Echoes `ping` as it came.
    Pong {
        pong: &'a Value,
    },
    /// A refusal, with the command as received in `orig`.
    Error {
        error: &'a str,
        orig: &'a Value,
    },
}

impl ServerFrame<'_> {
    /// Encodes as compact JSON for one text frame; `server_tx` is the server's
    /// clock in float seconds since the epoch.
    pub fn encode(&self, server_tx: f64) -> String {
        let stamped = Stamped {
            frame: self,
            server_tx,
        };
        // Strings, numbers and JSON values always serialize.
        serde_json::to_string(&stamped).unwrap_or_default()
    }

    fn kind(&self) -> &'static str {
        match self {
            ServerFrame::Welcome { .. } => "welcome",
            ServerFrame::Ack { .. } => "ack",
            ServerFrame::Nameplates { .. } => "nameplates",
            ServerFrame::Allocated { .. } => "allocated",
            ServerFrame::Claimed { .. } => "claimed",
            ServerFrame::Released => "released",
            ServerFrame::Message { .. } => "message",
            ServerFrame::Closed => "closed",
            ServerFrame::Pong { .. } => "pong",
            ServerFrame::Error { .. } => "error",
        }
    }
}

struct Stamped<'f, 'a> {
    frame: &'f ServerFrame<'a>,
    server_tx: f64,
}

impl Serialize for Stamped<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        let (kind, tx) = (self.frame.kind(), self.server_tx);
        match *self.frame {
            // Ack and message were always written in this order; the other
            // frames with their keys sorted.
            ServerFrame::Ack { id } => {
                m.serialize_entry("type", kind)?;
                m.serialize_entry("id", &id)?;
                m.serialize_entry("server_tx", &tx)?;
            }
            ServerFrame::Message {
                side,
                phase,
                body,
                server_rx,
                id,
            } => {
                m.serialize_entry("type", kind)?;
                m.serialize_entry("side", side)?;
                m.serialize_entry("phase", phase)?;
                m.serialize_entry("body", body)?;
                m.serialize_entry("server_rx", &server_rx)?;
                m.serialize_entry("id", &id)?;
                m.serialize_entry("server_tx", &tx)?;
            }
            ServerFrame::Welcome {
                motd,
                error,
                web,
                you,
            } => {
                m.serialize_entry("server_tx", &tx)?;
                m.serialize_entry("type", kind)?;
                let body = WelcomeBody {
                    error,
                    web,
                    motd,
                    you,
                };
                m.serialize_entry("welcome", &body)?;
            }
            ServerFrame::Error { error, orig } => {
                m.serialize_entry("error", error)?;
                m.serialize_entry("orig", orig)?;
                m.serialize_entry("server_tx", &tx)?;
                m.serialize_entry("type", kind)?;
            }
            ref reply => {
                reply.serialize_field(&mut m)?;
                m.serialize_entry("server_tx", &tx)?;
                m.serialize_entry("type", kind)?;
            }
        }
        m.end()
    }
}

impl ServerFrame<'_> {
    /// The one field of a direct reply, if it has one (every name sorts
    /// before `server_tx`).
    fn serialize_field<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        match *self {
            ServerFrame::Nameplates { nameplates } => {
                let list: Vec<_> = nameplates.iter().map(|id| NameplateRef { id }).collect();
                m.serialize_entry("nameplates", &list)
            }
            ServerFrame::Allocated { nameplate } => m.serialize_entry("nameplate", nameplate),
            ServerFrame::Claimed { mailbox } => m.serialize_entry("mailbox", mailbox),
            ServerFrame::Pong { pong } => m.serialize_entry("pong", pong),
            _ => Ok(()),
        }
    }
}

#[derive(Serialize)]
struct NameplateRef<'a> {
    id: &'a str,
}

/// `welcome`'s body, keys sorted.
#[derive(Serialize)]
struct WelcomeBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(rename = "ferry-web", skip_serializing_if = "Option::is_none")]
    web: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    motd: Option<&'a str>,
    #[serde(rename = "your-address", serialize_with = "your_address")]
    you: SocketAddr,
}

/// `{"ipv4": "1.2.3.4", "port": 5}` or `{"ipv6": "::1", "port": 5}`, keys sorted.
fn your_address<S: Serializer>(addr: &SocketAddr, s: S) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(Some(2))?;
    match addr.ip() {
        IpAddr::V4(v4) => m.serialize_entry("ipv4", &v4.to_string())?,
        IpAddr::V6(v6) => m.serialize_entry("ipv6", &v6.to_string())?,
    }
    m.serialize_entry("port", &addr.port())?;
    m.end()
}
