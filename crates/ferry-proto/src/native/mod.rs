//! ferry's native file-transfer protocol, spoken only when both sides are ferry
//! (`docs/protocol.md` is the normative description).
//!
//! It runs over an ordinary transit connection (same hints, handshake and relay,
//! keyed from its own [`negotiate::transit_key`]) and adds what v1 lacks: a manifest
//! of many entries streamed file by file with no archive, per-file BLAKE3 trees
//! whose chunk groups are verified one by one ([`tree`]), and resume: the receiver
//! says which groups it still needs ([`ranges`], [`resume`]).
//!
//! Pieces, all sans-IO:
//! - [`negotiate`]: the `app_versions` capability, the native transit key and the
//!   two mailbox messages;
//! - [`wire`]: the binary frames carried one per transit record;
//! - [`manifest`]: entries and the rules a manifest must keep;
//! - [`sender`] and [`receiver`]: batches, `TREE`/`WANTS` checking, data order and
//!   the checkpoint window;
//! - [`machine`]: the whole conversation as two state machines built from those
//!   pieces, which the async driver runs (its module docs show the loop).

pub mod machine;
pub mod manifest;
pub mod negotiate;
pub mod ranges;
pub mod receiver;
pub mod record;
pub mod resume;
pub mod sender;
#[cfg(test)]
mod test_support;
pub mod tree;
pub mod wire;

/// The peer broke the native protocol (a frame out of place or inconsistent).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProtocolError(String);

impl ProtocolError {
    pub fn new(why: impl Into<String>) -> Self {
        ProtocolError(why.into())
    }
}
