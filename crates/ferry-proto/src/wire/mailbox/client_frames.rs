//! Frames a client sends to the mailbox server: the client encodes them
//! ([`ClientEnvelope::encode`]), the server decodes them ([`ClientFrame::decode`]).
//!
//! The two views differ on purpose. The client writes well-formed commands, so
//! [`ClientMessage`] is strict. The server must answer malformed ones with the
//! reference server's exact error strings, and the reference checks a command's
//! fields *between* its per-connection rules (a second `bind` is "already bound"
//! even without `appid`; a `claim` without `nameplate` is refused before "only one
//! claim per connection", one with a non-numeric nameplate after it). So
//! [`ClientFrame`] keeps, for every field, whether it was missing, of the wrong
//! JSON type, or given, and leaves the verdict to the server's rules.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

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

/// A command from a client to the server, as the client writes it.
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

impl ClientEnvelope {
    /// Encodes as compact JSON for one WebSocket text frame.
    pub fn encode(&self) -> String {
        // Serializing these plain structs cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// One string field of a received command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Missing,
    /// Present, but not a JSON string.
    NotAString,
    Given(String),
}

impl Field {
    fn of(msg: &Map<String, Value>, key: &str) -> Field {
        match msg.get(key) {
            None => Field::Missing,
            Some(Value::String(s)) => Field::Given(s.clone()),
            Some(_) => Field::NotAString,
        }
    }

    /// The string, when one was given.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Field::Given(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_missing(&self) -> bool {
        matches!(self, Field::Missing)
    }
}

/// A client command as the server reads it: every field the server looks at,
/// nothing checked yet (see the module doc).
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `ping` is echoed in `pong` as it came, whatever its JSON type.
    Ping {
        ping: Option<Value>,
    },
    /// `client_version` is ignored, as by the reference.
    Bind {
        appid: Field,
        side: Field,
    },
    List,
    Allocate,
    Claim {
        nameplate: Field,
    },
    Release {
        nameplate: Field,
    },
    Open {
        mailbox: Field,
    },
    Add {
        phase: Field,
        body: Field,
    },
    Close {
        mailbox: Field,
        mood: Field,
    },
    /// A `type` the protocol does not have, or one that is not a string.
    Unknown,
}

/// One client frame as the server received it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientFrame {
    pub command: Command,
    /// Echoed in `ack` as it came, whatever its JSON type (`null` when absent).
    pub id: Option<Value>,
    /// The whole object as received: `error` frames echo it as `orig`.
    pub orig: Map<String, Value>,
}

/// Why a client frame is not a command at all. The server answers both with an
/// `error` and no `ack`.
#[derive(Debug, Clone, PartialEq)]
pub enum FrameError {
    /// Not JSON, or JSON but not an object.
    NotJsonObject,
    /// An object without `type`; it is echoed as `orig`.
    MissingType { orig: Map<String, Value> },
}

impl ClientFrame {
    /// Decodes one text or binary frame. Errors are the client's fault.
    pub fn decode(frame: &[u8]) -> Result<ClientFrame, FrameError> {
        let orig = match serde_json::from_slice(frame) {
            Ok(Value::Object(m)) => m,
            _ => return Err(FrameError::NotJsonObject),
        };
        let Some(kind) = orig.get("type") else {
            return Err(FrameError::MissingType { orig });
        };
        Ok(ClientFrame {
            command: Command::read(kind.as_str().unwrap_or(""), &orig),
            id: orig.get("id").cloned(),
            orig,
        })
    }

    /// The `id`, when it is a string (what `add` stores with the message).
    pub fn string_id(&self) -> Option<&str> {
        self.id.as_ref().and_then(Value::as_str)
    }
}

impl Command {
    fn read(kind: &str, msg: &Map<String, Value>) -> Command {
        let field = |key| Field::of(msg, key);
        match kind {
            "ping" => Command::Ping {
                ping: msg.get("ping").cloned(),
            },
            "bind" => Command::Bind {
                appid: field("appid"),
                side: field("side"),
            },
            "list" => Command::List,
            "allocate" => Command::Allocate,
            "claim" => Command::Claim {
                nameplate: field("nameplate"),
            },
            "release" => Command::Release {
                nameplate: field("nameplate"),
            },
            "open" => Command::Open {
                mailbox: field("mailbox"),
            },
            "add" => Command::Add {
                phase: field("phase"),
                body: field("body"),
            },
            "close" => Command::Close {
                mailbox: field("mailbox"),
                mood: field("mood"),
            },
            _ => Command::Unknown,
        }
    }
}
