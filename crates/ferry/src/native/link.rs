//! Native frames over a transit connection: one frame per record, and the peer's
//! `ERROR` frame turned into our error.

use ferry_proto::native::wire::{self, ErrorCode, Frame};
use ferry_proto::transfer::v1::TRANSFER_REJECTED;

use crate::error::{Error, Result};
use crate::transit::TransitStream;

/// A transit connection speaking native frames.
pub(super) struct Link {
    stream: TransitStream,
    buf: Vec<u8>,
}

impl Link {
    pub(super) fn new(stream: TransitStream) -> Self {
        Link {
            stream,
            buf: Vec::new(),
        }
    }

    pub(super) async fn send(&mut self, frame: &Frame<'_>) -> Result<()> {
        self.send_encoded(&frame.encode()).await
    }

    /// Sends an already encoded frame (a `DATA` frame built in place).
    pub(super) async fn send_encoded(&mut self, frame: &[u8]) -> Result<()> {
        self.stream.write_record(frame).await.map_err(gone)
    }

    /// Hands over the last record's buffer, whose final `len` bytes are the
    /// payload of the `DATA` frame just received: the group travels on uncopied.
    pub(super) fn take_payload(&mut self, len: usize) -> (Vec<u8>, usize) {
        let buf = std::mem::take(&mut self.buf);
        let start = buf.len().saturating_sub(len);
        (buf, start)
    }

    /// The next frame; the peer's `ERROR` comes back as an error.
    pub(super) async fn recv(&mut self) -> Result<Frame<'_>> {
        let start = self.stream.read_record(&mut self.buf).await.map_err(gone)?;
        let frame = wire::decode(&self.buf[start..])
            .map_err(|e| Error::PeerProtocol(format!("undecodable frame: {e}")))?;
        match frame {
            Frame::Error { code, message } => Err(from_peer(code, message)),
            frame => Ok(frame),
        }
    }

    /// Tells the peer why we stop; best effort, as the connection may be gone.
    /// Then reads (and drops) what the peer still sends for a moment: closing on a
    /// peer busy writing would reset the connection and lose our `ERROR` frame.
    pub(super) async fn fail(&mut self, e: &Error) {
        if matches!(
            e,
            Error::PeerVanished | Error::PeerError(_) | Error::Transit(_)
        ) {
            return; // nobody to tell, or the peer told us
        }
        let frame = Frame::Error {
            code: code_for(e),
            message: peer_text(e),
        };
        let _ = tokio::time::timeout(LINGER, self.send(&frame)).await;
        let drain = async {
            loop {
                let next = tokio::time::timeout(LINGER, self.stream.read_record(&mut self.buf));
                match next.await {
                    Err(_) => break, // the peer stopped sending: it has our word
                    Ok(Err(Error::Transit(_) | Error::PeerProtocol(_))) => break,
                    Ok(_) => continue, // records that fail to open were still read whole
                }
            }
        };
        let _ = tokio::time::timeout(MAX_DRAIN, drain).await;
    }
}

/// How long a failing side waits to send its last word, and for the peer to pause.
const LINGER: std::time::Duration = std::time::Duration::from_secs(2);
/// The longest a failing side reads on: a sender stops after a few windows without
/// acknowledgements, then reads the `ERROR`.
const MAX_DRAIN: std::time::Duration = std::time::Duration::from_secs(30);

/// A broken connection in the middle of a transfer.
fn gone(e: Error) -> Error {
    match e {
        Error::Transit(_) => Error::PeerVanished,
        other => other,
    }
}

/// A frame of an unexpected type in phase `phase`.
pub(super) fn unexpected(frame: &Frame<'_>, phase: &str) -> Error {
    Error::PeerProtocol(format!("{} while {phase}", frame.name()))
}

/// The peer's `ERROR`: its code is for the record; its text says what happened.
fn from_peer(_code: ErrorCode, message: String) -> Error {
    Error::PeerError(message)
}

/// What we tell the peer about our failure: the reason, never our local paths.
pub(super) fn peer_text(e: &Error) -> String {
    match e {
        Error::Declined => TRANSFER_REJECTED.to_owned(),
        // Built from the peer's own names and our checks, without local paths.
        Error::Integrity(why) => format!("received data failed verification: {why}"),
        Error::PeerProtocol(why) => format!("invalid data from the other side: {why}"),
        Error::Exists(_) => "a file or directory with that name already exists".into(),
        Error::NoSpace { .. } => "not enough free disk space".into(),
        Error::UnsafeName(_) => "unsafe file name".into(),
        Error::Io { .. } => "local I/O error".into(),
        _ => "transfer failed".into(),
    }
}

fn code_for(e: &Error) -> ErrorCode {
    match e {
        Error::Integrity(_) => ErrorCode::Integrity,
        Error::PeerProtocol(_) => ErrorCode::Protocol,
        Error::Io { .. } | Error::NoSpace { .. } => ErrorCode::Local,
        _ => ErrorCode::Refused,
    }
}
