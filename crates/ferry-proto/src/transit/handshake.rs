//! The transit connection handshake, and the relay's `please relay` line for
//! this transfer (its codec is [`crate::wire::relay`]).
//!
//! Both sides write their own handshake as soon as a connection exists (the Go
//! receiver reads the sender's before writing its own, so waiting would deadlock),
//! then check the peer's byte for byte. The sender then writes [`GO`] on the one
//! connection it picks and [`NEVERMIND`] (or nothing) on the others.

use crate::crypto::kdf::TransitKey;
use crate::wire::relay::RelayRequest;

use super::Role;

/// The sender's word that this connection carries the transfer.
pub const GO: &[u8] = b"go\n";
/// The sender's word that another connection won.
pub const NEVERMIND: &[u8] = b"nevermind\n";
/// The relay's word that both halves are paired.
pub use crate::wire::relay::OK as RELAY_OK;

/// The two handshake strings of a transfer, from one side's point of view.
#[derive(Clone)]
pub struct Handshake {
    ours: Vec<u8>,
    theirs: Vec<u8>,
}

impl Handshake {
    /// Derives both strings from the transit key.
    pub fn new(key: &TransitKey, role: Role) -> Self {
        let sender = handshake_string(key, "sender");
        let receiver = handshake_string(key, "receiver");
        match role {
            Role::Sender => Handshake {
                ours: sender,
                theirs: receiver,
            },
            Role::Receiver => Handshake {
                ours: receiver,
                theirs: sender,
            },
        }
    }

    /// What we write first on every candidate connection.
    pub fn ours(&self) -> &[u8] {
        &self.ours
    }

    /// What the peer must write first; anything else means hang up.
    pub fn expected(&self) -> &[u8] {
        &self.theirs
    }
}

fn handshake_string(key: &TransitKey, who: &str) -> Vec<u8> {
    let purpose = format!("transit_{who}");
    let token = hex::encode(key.subkey(purpose.as_bytes()));
    format!("transit {who} {token} ready\n\n").into_bytes()
}

/// The line a client sends to a transit relay: the token pairs the two halves and
/// `side` (16 hex chars, fresh per transfer) stops a client pairing with itself.
pub fn relay_line(key: &TransitKey, side: &str) -> Vec<u8> {
    let token = hex::encode(key.subkey(b"transit_relay_token"));
    let side = Some(side.to_owned());
    RelayRequest { token, side }.encode()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_vectors::transit_key;

    #[test]
    fn known_answer_strings() {
        let hs = Handshake::new(&transit_key(), Role::Sender);
        assert_eq!(
            hs.ours(),
            b"transit sender 855c996295df3d8865b73d8ad5eef3ee007dd5292cdc0ac76f9ca4f9254fd8ac ready\n\n"
        );
        assert_eq!(
            hs.expected(),
            b"transit receiver e05d123ef62b98e71b33a27c1523c1c1dfea2c924fd90662745410f7bde75860 ready\n\n"
        );
        let rx = Handshake::new(&transit_key(), Role::Receiver);
        assert_eq!(rx.ours(), hs.expected());
        assert_eq!(
            relay_line(&transit_key(), "abcdef0123456789"),
            b"please relay 03bce0633f7cbdc0a3a1594a0936360833e2230fb8c12791c5048b466fdd657d for side abcdef0123456789\n"
        );
    }
}
