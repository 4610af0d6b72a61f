//! Native frames over a transit connection: one frame per record, and the peer's
//! `ERROR` frame turned into our error.

use ferry_proto::native::wire::{self, ErrorCode, Frame};

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
        self.stream.write_record(&frame.encode()).await
    }

    /// Sends an already encoded frame (a `DATA` frame built in place).
    pub(super) async fn send_encoded(&mut self, frame: &[u8]) -> Result<()> {
        self.stream.write_record(frame).await
    }

    /// The next frame; the peer's `ERROR` comes back as an error.
    pub(super) async fn recv(&mut self) -> Result<Frame<'_>> {
        let start = self
            .stream
            .read_record(&mut self.buf)
            .await
            .map_err(|e| match e {
                Error::Transit(_) => Error::PeerVanished,
                other => other,
            })?;
        let frame = wire::decode(&self.buf[start..])
            .map_err(|e| Error::PeerProtocol(format!("undecodable frame: {e}")))?;
        match frame {
            Frame::Error { code, message } => Err(from_peer(code, message)),
            frame => Ok(frame),
        }
    }

    /// Tells the peer why we stop; best effort, as the connection may be gone.
    pub(super) async fn fail(&mut self, e: &Error) {
        if matches!(
            e,
            Error::PeerVanished | Error::PeerError(_) | Error::Transit(_)
        ) {
            return; // nobody to tell, or the peer told us
        }
        let frame = Frame::Error {
            code: code_for(e),
            message: e.to_string(),
        };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), self.send(&frame)).await;
    }
}

/// A frame of an unexpected type in phase `phase`.
pub(super) fn unexpected(frame: &Frame<'_>, phase: &str) -> Error {
    Error::PeerProtocol(format!("{} while {phase}", frame.name()))
}

fn from_peer(code: ErrorCode, message: String) -> Error {
    match code {
        ErrorCode::Integrity => Error::Integrity(format!("the other side says: {message}")),
        _ => Error::PeerError(message),
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
