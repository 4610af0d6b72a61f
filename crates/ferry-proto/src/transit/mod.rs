//! Transit: the bulk data pipe between the two sides.
//!
//! Each side publishes [`hints`] (where it can be reached, and which relays it
//! uses). Every candidate connection, direct or through a relay, runs the same
//! [`handshake`]; the sender picks one and says `go`. Then both directions carry
//! length-prefixed secretbox [`record`]s with counter nonces.

pub mod deframe;
pub mod handshake;
pub mod hints;
pub mod record;

/// Which end of the transfer we are; decides handshake strings and record keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The side that offers the file ("leader": it picks the connection).
    Sender,
    /// The side that accepts it.
    Receiver,
}
