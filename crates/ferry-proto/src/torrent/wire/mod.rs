//! The BitTorrent peer wire protocol, sans-IO: the handshake, the length-prefixed
//! messages and their deframer, bitfields, and BEP 10 / BEP 9 / BEP 11 extension
//! messages.

mod bitfield;
pub mod extension;
mod frame;
mod handshake;
mod message;
pub mod metadata;
pub mod pex;

pub use bitfield::Bitfield;
pub use frame::{Deframer, DEFAULT_MAX_FRAME};
pub use handshake::{
    Decoded, Handshake, HandshakeError, PeerId, Reserved, HANDSHAKE_LEN, PROTOCOL,
};
pub use message::{piece_header, BlockRef, HashRequest, Message, WireError, MAX_BLOCK};

#[cfg(test)]
mod tests;
