//! Encrypted transit records: `len(u32 BE) ‖ nonce(24) ‖ tag(16) ‖ ciphertext`.
//!
//! The nonce is a per-direction counter from 0, written big-endian (the protocol
//! documents say little-endian; every implementation does big-endian). A record
//! whose nonce is not the next expected one is refused, which stops replays and
//! reordering; the tag stops tampering. Lengths come from the peer, so they are
//! bounded before anything is allocated.

use crate::crypto::kdf::TransitKey;
use crate::crypto::secretbox::{self, NONCE_LEN, TAG_LEN};

use super::Role;

/// Bytes a record adds around its plaintext (not counting the length prefix).
pub const OVERHEAD: usize = NONCE_LEN + TAG_LEN;
/// The largest record body we accept from a peer (the peers send 16 KiB).
pub const MAX_RECORD_BODY: usize = 16 * 1024 * 1024;

/// Why a record was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    #[error("record length {0} is out of bounds")]
    BadLength(u64),
    #[error("record out of order or replayed (expected #{expected})")]
    BadNonce { expected: u64 },
    #[error("record failed authentication (corrupted or forged)")]
    Forged,
}

fn record_key(key: &TransitKey, author: Role) -> [u8; 32] {
    match author {
        Role::Sender => key.subkey(b"transit_record_sender_key"),
        Role::Receiver => key.subkey(b"transit_record_receiver_key"),
    }
}

fn nonce(counter: u64) -> [u8; NONCE_LEN] {
    let mut n = [0u8; NONCE_LEN];
    n[NONCE_LEN - 8..].copy_from_slice(&counter.to_be_bytes());
    n
}

/// Seals the records we write.
pub struct Sealer {
    key: [u8; 32],
    counter: u64,
}

impl Sealer {
    /// `role` is ours: the sender seals with the sender key.
    pub fn new(key: &TransitKey, role: Role) -> Self {
        Sealer {
            key: record_key(key, role),
            counter: 0,
        }
    }

    /// Appends one whole frame (length prefix included) for `plaintext` to `out`.
    pub fn seal_frame(&mut self, plaintext: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        out.resize(start + 4 + OVERHEAD, 0);
        out.extend_from_slice(plaintext);
        self.seal_in_place(&mut out[start..]);
    }

    /// Seals a frame laid out as `[4 bytes][40 bytes][plaintext]` in place.
    /// Lets a caller read file data straight into the frame buffer.
    pub fn seal_in_place(&mut self, frame: &mut [u8]) {
        let body_len = (frame.len() - 4) as u32;
        let n = nonce(self.counter);
        self.counter += 1;
        let (head, data) = frame.split_at_mut(4 + OVERHEAD);
        let tag = secretbox::seal_detached(&self.key, &n, data);
        head[..4].copy_from_slice(&body_len.to_be_bytes());
        head[4..4 + NONCE_LEN].copy_from_slice(&n);
        head[4 + NONCE_LEN..].copy_from_slice(&tag);
    }
}

/// Opens the records the peer writes.
pub struct Opener {
    key: [u8; 32],
    counter: u64,
}

impl Opener {
    /// `role` is ours: the receiver opens with the sender's key.
    pub fn new(key: &TransitKey, role: Role) -> Self {
        let author = match role {
            Role::Sender => Role::Receiver,
            Role::Receiver => Role::Sender,
        };
        Opener {
            key: record_key(key, author),
            counter: 0,
        }
    }

    /// Checks a length prefix before the body is read.
    pub fn body_len(prefix: [u8; 4]) -> Result<usize, RecordError> {
        let len = u32::from_be_bytes(prefix) as usize;
        if !(OVERHEAD..=MAX_RECORD_BODY).contains(&len) {
            return Err(RecordError::BadLength(len as u64));
        }
        Ok(len)
    }

    /// Opens a record body (`nonce ‖ tag ‖ ciphertext`) in place; the plaintext is
    /// `body[OVERHEAD..]` on success.
    pub fn open_in_place(&mut self, body: &mut [u8]) -> Result<(), RecordError> {
        if body.len() < OVERHEAD {
            return Err(RecordError::BadLength(body.len() as u64));
        }
        let expected = nonce(self.counter);
        if body[..NONCE_LEN] != expected {
            return Err(RecordError::BadNonce {
                expected: self.counter,
            });
        }
        let (head, data) = body.split_at_mut(OVERHEAD);
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&head[NONCE_LEN..]);
        secretbox::open_detached(&self.key, &expected, &tag, data)
            .map_err(|_| RecordError::Forged)?;
        self.counter += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> TransitKey {
        let bytes = hex::decode("d24e11c8f32da7f78c63415c8c9baf5174615dba93eadd5e69c7df1eb4c1b130")
            .unwrap();
        TransitKey::from_bytes(bytes.try_into().unwrap())
    }

    #[test]
    fn known_answer_records() {
        let mut s = Sealer::new(&key(), Role::Sender);
        let mut out = Vec::new();
        s.seal_frame(b"hello", &mut out);
        let want0 = "0000002d000000000000000000000000000000000000000000000000\
                     9738fec84ba1dc61cf2b16b587f00a987dad94cbf5";
        assert_eq!(hex::encode(&out), want0.replace(' ', ""));
        out.clear();
        s.seal_frame(b"hello", &mut out);
        let want1 = "0000002d000000000000000000000000000000000000000000000001\
                     ebb52015f311a540596720fa1d81e808c868bcd4b8";
        assert_eq!(hex::encode(&out), want1);
    }

    fn frames(n: usize) -> Vec<Vec<u8>> {
        let mut s = Sealer::new(&key(), Role::Sender);
        (0..n)
            .map(|i| {
                let mut out = Vec::new();
                s.seal_frame(format!("record {i}").as_bytes(), &mut out);
                out[4..].to_vec()
            })
            .collect()
    }

    #[test]
    fn round_trip_in_order() {
        let mut o = Opener::new(&key(), Role::Receiver);
        for (i, mut body) in frames(3).into_iter().enumerate() {
            o.open_in_place(&mut body).unwrap();
            assert_eq!(&body[OVERHEAD..], format!("record {i}").as_bytes());
        }
    }

    #[test]
    fn replay_reorder_and_tamper_are_refused() {
        let f = frames(2);
        let mut o = Opener::new(&key(), Role::Receiver);
        assert_eq!(
            o.open_in_place(&mut f[1].clone()),
            Err(RecordError::BadNonce { expected: 0 })
        );
        o.open_in_place(&mut f[0].clone()).unwrap();
        assert_eq!(
            o.open_in_place(&mut f[0].clone()),
            Err(RecordError::BadNonce { expected: 1 })
        );
        let mut bad = f[1].clone();
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(o.open_in_place(&mut bad), Err(RecordError::Forged));
    }

    #[test]
    fn own_key_cannot_open_own_records() {
        let mut o = Opener::new(&key(), Role::Sender);
        assert_eq!(
            o.open_in_place(&mut frames(1)[0].clone()),
            Err(RecordError::Forged)
        );
    }

    #[test]
    fn length_bounds() {
        assert!(Opener::body_len([0, 0, 0, 39]).is_err());
        assert!(Opener::body_len([0xff, 0xff, 0xff, 0xff]).is_err());
        assert_eq!(Opener::body_len([0, 0, 0, 45]), Ok(45));
    }
}
