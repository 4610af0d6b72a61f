//! Symmetric SPAKE2 over Ed25519, exactly as python-spake2 and magic-wormhole use it.
//!
//! Both sides call [`Pake::start`] with the whole code as the password and the
//! appid as the symmetric identity, send [`Pake::message_body`] in phase `"pake"`,
//! and feed the peer's body to [`Pake::finish`]. Equal codes give equal
//! [`Keys`]; a wrong code gives different keys, which only shows when the
//! first encrypted message fails to open. [`Pake::finish`] applies Python's
//! checks to what it receives: side byte `S`, not our own message, an element
//! of the prime-order subgroup other than the identity.

use std::fmt;

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use rand::{CryptoRng, RngCore};
use serde_json::Value;

mod symmetric;

pub use symmetric::Keys;

/// Length of a SPAKE2 message: the side byte and a compressed Ed25519 point.
pub const MESSAGE_LEN: usize = 33;

/// Side byte of the symmetric variant ('S'); 'A' and 'B' belong to the asymmetric one.
const SYMMETRIC_SIDE: u8 = b'S';

/// What was wrong with the peer's `pake` message. Always the peer's fault (or an
/// attacker's): our own inputs cannot make [`Pake::finish`] fail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PakeError {
    /// The body is not a UTF-8 JSON object.
    #[error("peer's PAKE message is not a JSON object")]
    NotJson,
    /// The object has no `pake_v1` string (Python gets "scared" here too).
    #[error("peer's PAKE message has no \"pake_v1\" string")]
    MissingPakeV1,
    /// `pake_v1` is not a hex string.
    #[error("peer's PAKE message is not valid hex")]
    BadHex,
    /// The decoded message is not [`MESSAGE_LEN`] bytes.
    #[error("peer's PAKE message is {len} bytes, expected {MESSAGE_LEN}")]
    WrongLength {
        /// Length of the decoded message.
        len: usize,
    },
    /// The side byte is not the symmetric `S` (e.g. an asymmetric `A`/`B` peer).
    #[error("peer's PAKE message has side byte {side:#04x}, expected 0x53 ('S')")]
    WrongSide {
        /// The side byte received.
        side: u8,
    },
    /// The peer sent our own message back.
    #[error("peer's PAKE message is our own message reflected back")]
    Reflected,
    /// Not a point, the identity, or outside the prime-order subgroup.
    #[error("peer's PAKE message is not a valid group element")]
    BadElement,
}

/// One side of the key agreement, from [`Pake::start`] until [`Pake::finish`].
pub struct Pake {
    state: symmetric::Spake2,
    message: [u8; MESSAGE_LEN],
}

impl fmt::Debug for Pake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The message is public; the scalar and the password stay out.
        f.debug_struct("Pake")
            .field("message", &hex::encode(self.message))
            .finish_non_exhaustive()
    }
}

impl Pake {
    /// Starts SPAKE2 with the whole `code` (nameplate included) as the password.
    ///
    /// Takes the UTF-8 bytes as they are, like the Rust and Go clients; Python
    /// NFC-normalises first, so non-ASCII codes agree with Python only when they
    /// are already in NFC. `rng` supplies the 64 bytes of the secret scalar.
    pub fn start(code: &str, appid: &str, rng: impl RngCore + CryptoRng) -> Pake {
        let state = symmetric::Spake2::start(code.as_bytes(), appid.as_bytes(), rng);
        let mut message = [SYMMETRIC_SIDE; MESSAGE_LEN];
        message[1..].copy_from_slice(state.element());
        Pake { state, message }
    }

    /// Our raw 33-byte message (`S` followed by the point).
    pub fn message(&self) -> &[u8] {
        &self.message
    }

    /// The body of our `pake` phase: `{"pake_v1": "<66 hex digits>"}`, byte for
    /// byte what Python's `json.dumps` writes.
    pub fn message_body(&self) -> Vec<u8> {
        format!(r#"{{"pake_v1": "{}"}}"#, hex::encode(self.message)).into_bytes()
    }

    /// Checks the peer's `pake` body and computes the shared key(s).
    pub fn finish(self, peer_body: &[u8]) -> Result<Keys, PakeError> {
        let peer = parse_body(peer_body)?;
        let (encoded, point) = self.check_peer_message(&peer)?;
        Ok(self.state.finish(encoded, &point))
    }

    fn check_peer_message(&self, peer: &[u8]) -> Result<([u8; 32], EdwardsPoint), PakeError> {
        let Ok(message) = <[u8; MESSAGE_LEN]>::try_from(peer) else {
            return Err(PakeError::WrongLength { len: peer.len() });
        };
        if message == self.message {
            return Err(PakeError::Reflected);
        }
        if message[0] != SYMMETRIC_SIDE {
            return Err(PakeError::WrongSide { side: message[0] });
        }
        let mut encoded = [0u8; 32];
        encoded.copy_from_slice(&message[1..]);
        Ok((encoded, check_element(encoded)?))
    }
}

fn parse_body(body: &[u8]) -> Result<Vec<u8>, PakeError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| PakeError::NotJson)?;
    let object = value.as_object().ok_or(PakeError::NotJson)?;
    let text = object
        .get("pake_v1")
        .and_then(Value::as_str)
        .ok_or(PakeError::MissingPakeV1)?;
    // Python's unhexlify takes either case, so we do too.
    hex::decode(text).map_err(|_| PakeError::BadHex)
}

/// python-spake2 refuses the identity and anything outside the prime-order subgroup.
fn check_element(encoded: [u8; 32]) -> Result<EdwardsPoint, PakeError> {
    let point = CompressedEdwardsY(encoded)
        .decompress()
        .ok_or(PakeError::BadElement)?;
    if point.is_small_order() || !point.is_torsion_free() {
        return Err(PakeError::BadElement);
    }
    Ok(point)
}

#[cfg(test)]
pub(crate) mod tests;
