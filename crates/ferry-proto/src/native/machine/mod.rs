//! The native conversation (`docs/protocol.md` §8) as two sans-IO state machines:
//! [`NativeSender`] and [`NativeReceiver`]. They own the frame order and its
//! checks; the driver owns the socket, the record layer, the files and the user.
//!
//! Both are driven like quinn-proto's `Connection`:
//!
//! - **in**: `handle(frame)` for every frame the peer sent (decoded with
//!   [`wire::decode`](super::wire::decode) from an opened record), and a method per
//!   answer to a request (`batch_hashed`, `accept`, `planned`, `finished`, …);
//! - **out**: `poll_transmit()` for what to send, in order, and `poll_event()` for
//!   requests to the driver and events (progress, the end).
//!
//! Bulk data never passes through a machine. A sender's [`Transmit::Data`] only
//! names a group (file, group, offset, length): the driver reads it straight into
//! a record buffer behind a [`data_header`](super::wire::data_header) and seals it
//! in place. A receiver's `handle` looks at a `DATA` frame's length and position
//! only; the bytes stay in the driver's record buffer and go to the writer from
//! there, after the driver checks them with [`Tree::verify_group`](super::tree::Tree::verify_group).
//!
//! # How a driver runs a machine
//!
//! ```text
//! loop {
//!     while let Some(t) = machine.poll_transmit() { seal and write t }
//!     while let Some(e) = machine.poll_event()    { do what e asks; answer the machine }
//!     if machine.is_done() { break }
//!     if machine.wants_read() { read one record, decode it, machine.handle(frame)? }
//! }
//! ```
//!
//! A sender reads only when `wants_read()` says so (waiting for `ACCEPT`, `WANTS`,
//! an `ACK` once the window is full, or `DONE`), exactly when today's driver reads.
//! On a local failure the driver calls `fail(code, message)`, sends what
//! `poll_transmit` still yields (the `ERROR` frame) and stops. An error returned by
//! `handle` is the peer's fault ([`NativeError::Protocol`]) or the peer's own word
//! ([`NativeError::Peer`], [`NativeError::Rejected`]); after it the machine is dead
//! and the driver tells the peer with `fail` where that makes sense.

mod receive;
mod send;

pub use receive::{NativeReceiver, RecvEvent};
pub use send::{DataRef, NativeSender, SendEvent, Transmit};

use super::wire::ErrorCode;
use super::ProtocolError;

/// Why a native transfer ended early, as seen by a machine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NativeError {
    /// The peer broke the protocol: a frame out of place or inconsistent.
    #[error("the other side broke the protocol: {0}")]
    Protocol(#[from] ProtocolError),
    /// The peer sent `ERROR` and stopped.
    #[error("the other side stopped: {message}")]
    Peer { code: ErrorCode, message: String },
    /// The receiver declined the offer (its user said no).
    #[error("the other side declined the transfer")]
    Declined,
    /// The receiver refused the offer for another reason (its `REJECT` text).
    #[error("the other side refused the transfer: {0}")]
    Rejected(String),
    /// The driver called the machine out of turn or with answers that do not fit
    /// the request: a bug on our side, not the peer's.
    #[error("internal error: {0}")]
    Usage(&'static str),
}

/// The `ERROR` frame a peer sent, as our error; anything else is out of place.
fn unexpected(frame: &super::wire::Frame<'_>, phase: &str) -> NativeError {
    match frame {
        super::wire::Frame::Error { code, message } => NativeError::Peer {
            code: *code,
            message: message.clone(),
        },
        other => ProtocolError::new(format!("{} while {phase}", other.name())).into(),
    }
}

#[cfg(test)]
mod tests;
