//! File transfer v1 messages. Each mailbox payload is one JSON object with exactly
//! one top-level key (the Rust peer fails on more), so they map onto externally
//! tagged enums. The final ack travels as one transit record.
//!
//! [`V1Sender`] and [`V1Receiver`] hold the order of these messages as sans-IO
//! machines, driven like the native ones (`crate::native::machine`): messages in,
//! `poll_message`/`poll_record`/`poll_event` out. The bytes of the file never
//! pass through them: [`V1Event::Connect`] tells the driver how many to move over
//! transit, and it hands back their SHA-256.

use serde::{Deserialize, Serialize};

use crate::transit::hints::TransitMessage;

#[cfg(test)]
mod machine_tests;
mod receive;
mod send;

pub use receive::V1Receiver;
pub use send::V1Sender;

/// A payload exchanged through the mailbox after key confirmation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PeerMessage {
    Transit(TransitMessage),
    Offer(Offer),
    Answer(Answer),
    /// The peer gives up and says why (e.g. `transfer rejected`).
    Error(String),
}

/// What the sender proposes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Offer {
    Message(String),
    File { filename: String, filesize: u64 },
    Directory(DirectoryOffer),
}

/// A directory sent as one zip archive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectoryOffer {
    /// `zipfile/deflated` from every real client, whatever the zip really holds.
    pub mode: String,
    pub dirname: String,
    /// Bytes that will cross the transit connection.
    pub zipsize: u64,
    /// Sum of the file sizes once extracted.
    pub numbytes: u64,
    pub numfiles: u64,
}

/// The receiver's answer to an offer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    MessageAck(String),
    FileAck(String),
}

/// The receiver's last word, one record over transit: the SHA-256 of what arrived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitAck {
    pub ack: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// What a v1 machine asks of its driver, or tells it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum V1Event {
    /// (Receiver) Prepare our transit hints (listeners, relay) and answer with
    /// [`V1Receiver::transit_ready`]. Asked for at most once.
    PrepareTransit,
    /// (Receiver) Decide on this offer (a safe name, nothing in the way, room on
    /// disk, the user) and answer [`V1Receiver::accept`], `reject` or `decline`.
    Offer(Offer),
    /// (Receiver) A text message arrived; `message_ack` is queued.
    Text(String),
    /// Connect transit with the peer's hints, move `size` bytes (send them, or
    /// receive exactly that many), then call `data_sent` / `data_received` with
    /// their SHA-256.
    Connect { peer: TransitMessage, size: u64 },
    /// The transfer succeeded (the receiver's ack is queued, or the sender got it).
    Done,
}

/// Why a v1 transfer ended early, as seen by a machine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum V1Error {
    /// The peer broke the protocol.
    #[error("the other side broke the protocol: {0}")]
    Protocol(String),
    /// The peer sent `{"error": ...}`.
    #[error("the other side stopped: {0}")]
    Peer(String),
    /// The receiver declined (`transfer rejected`).
    #[error("the other side declined the transfer")]
    Declined,
    /// The receiver's SHA-256 is not that of what was sent.
    #[error("{0}")]
    Integrity(String),
    /// The driver called the machine out of turn: a bug on our side.
    #[error("internal error: {0}")]
    Usage(&'static str),
}

impl V1Error {
    /// The peer's `error` message: a refusal by its user, or another reason.
    fn from_peer(e: String) -> Self {
        match e == TRANSFER_REJECTED {
            true => V1Error::Declined,
            false => V1Error::Peer(e),
        }
    }
}

/// Error strings the real clients send and recognise.
pub const TRANSFER_REJECTED: &str = "transfer rejected";

/// What a cancelling side tells the other, as a v1 `{"error": …}` message (every
/// wormhole client stops on one and shows its text). ferry reads it back as a
/// cancel, not a failure.
pub const TRANSFER_CANCELLED: &str = "transfer cancelled";

impl PeerMessage {
    /// Encodes as JSON bytes for [`crate::session::Session::send`].
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Decodes a peer payload. Unknown or multi-key objects are errors.
    pub fn decode(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

impl TransitAck {
    /// The ack for data whose SHA-256 is `digest`.
    pub fn ok(digest: &[u8; 32]) -> Self {
        TransitAck {
            ack: "ok".into(),
            sha256: Some(hex::encode(digest)),
        }
    }

    /// Whether the receiver confirms exactly `digest` (case-insensitive hex, as Go
    /// compares; an ack without a hash is accepted, as Python does).
    pub fn confirms(&self, digest: &[u8; 32]) -> bool {
        let hash_ok = match &self.sha256 {
            Some(h) => h.eq_ignore_ascii_case(&hex::encode(digest)),
            None => true,
        };
        self.ack == "ok" && hash_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode(v: serde_json::Value) -> Result<PeerMessage, serde_json::Error> {
        PeerMessage::decode(v.to_string().as_bytes())
    }

    #[test]
    fn wire_shapes_match_the_peers() {
        let offer = PeerMessage::Offer(Offer::File {
            filename: "a.txt".into(),
            filesize: 5,
        });
        assert_eq!(
            serde_json::to_value(&offer).unwrap(),
            json!({"offer": {"file": {"filename": "a.txt", "filesize": 5}}})
        );
        let ans = PeerMessage::Answer(Answer::FileAck("ok".into()));
        assert_eq!(
            serde_json::to_value(&ans).unwrap(),
            json!({"answer": {"file_ack": "ok"}})
        );
        let text = PeerMessage::Offer(Offer::Message("hé".into()));
        assert_eq!(
            serde_json::to_value(&text).unwrap(),
            json!({"offer": {"message": "hé"}})
        );
    }

    #[test]
    fn decodes_python_directory_offer() {
        let v = json!({"offer": {"directory": {"mode": "zipfile/deflated", "dirname": "d",
            "zipsize": 239, "numbytes": 5, "numfiles": 2}}});
        let PeerMessage::Offer(Offer::Directory(d)) = decode(v).unwrap() else {
            panic!()
        };
        assert_eq!((d.zipsize, d.numbytes, d.numfiles), (239, 5, 2));
    }

    #[test]
    fn refuses_bad_shapes() {
        assert!(decode(json!({"offer": {"file": {"filename": "a", "filesize": -1}}})).is_err());
        assert!(decode(json!({"bogus": 1})).is_err());
        assert!(decode(json!({"error": "x", "offer": {"message": "y"}})).is_err());
        assert!(PeerMessage::decode(b"\xff\x00").is_err());
        assert_eq!(
            decode(json!({"error": "transfer rejected"})).unwrap(),
            PeerMessage::Error(TRANSFER_REJECTED.into())
        );
    }

    #[test]
    fn ack_checks_the_digest() {
        let d = [7u8; 32];
        let ack: TransitAck =
            serde_json::from_value(json!({"ack": "ok", "sha256": hex::encode(d).to_uppercase()}))
                .unwrap();
        assert!(ack.confirms(&d));
        assert!(!ack.confirms(&[8u8; 32]));
        assert!(!TransitAck {
            ack: "no".into(),
            sha256: None
        }
        .confirms(&d));
    }
}
