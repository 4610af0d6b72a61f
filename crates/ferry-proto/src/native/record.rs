//! The native record layer (`native-v2`): `len(u32 BE) ‖ ciphertext ‖ tag(16)`.
//!
//! Each direction seals with its own key and counts its records from 0. The nonce
//! is `0u32 ‖ number(u64)`, big-endian, and never sent: a record dropped, replayed
//! or moved fails its tag, as does one whose length prefix (the associated data)
//! was changed. Keys come from the native transit key, per direction and per
//! cipher, and are renewed every [`EPOCH_RECORDS`] records so that no key seals
//! more than 64 GiB (records carry at most a 4 MiB group): far inside AES-GCM's
//! safe limits. The ciphers are ring's, which use AES instructions and SIMD.

use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};

use crate::crypto::kdf::{self, TransitKey};
use crate::transit::record::RecordError;
use crate::transit::Role;

/// Bytes of the length prefix.
pub const PREFIX_LEN: usize = 4;
/// Bytes of the tag after the ciphertext.
pub const TAG_LEN: usize = 16;
/// The largest record body we accept (a manifest frame of long names may be big).
pub const MAX_BODY: usize = 16 * 1024 * 1024;
/// Records sealed under one key before the next epoch's key takes over.
pub const EPOCH_RECORDS: u64 = 1 << 14;

/// The negotiated cipher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aead {
    /// AES-256-GCM: the fastest where the CPU has AES instructions.
    Aes256Gcm,
    /// ChaCha20-Poly1305: fast in software everywhere else.
    ChaCha20Poly1305,
}

impl Aead {
    /// The name both sides list in `app_versions`.
    pub fn name(self) -> &'static str {
        match self {
            Aead::Aes256Gcm => "aes-256-gcm",
            Aead::ChaCha20Poly1305 => "chacha20-poly1305",
        }
    }

    pub fn from_name(name: &str) -> Option<Aead> {
        [Aead::Aes256Gcm, Aead::ChaCha20Poly1305]
            .into_iter()
            .find(|a| a.name() == name)
    }

    fn algorithm(self) -> &'static aead::Algorithm {
        match self {
            Aead::Aes256Gcm => &aead::AES_256_GCM,
            Aead::ChaCha20Poly1305 => &aead::CHACHA20_POLY1305,
        }
    }
}

/// One direction's keys and record counter.
struct Direction {
    aead: Aead,
    base: [u8; 32],
    epoch: u64,
    key: LessSafeKey,
    counter: u64,
}

impl Direction {
    fn new(key: &TransitKey, aead: Aead, author: Role) -> Self {
        let who = match author {
            Role::Sender => "sender",
            Role::Receiver => "receiver",
        };
        let purpose = format!("ferry.native-v2.record.{who}.{}", aead.name());
        let base = key.subkey(purpose.as_bytes());
        Direction {
            aead,
            base,
            epoch: 0,
            key: epoch_key(aead, &base, 0),
            counter: 0,
        }
    }

    /// The key and nonce of the next record; moves the counter on.
    fn next(&mut self) -> (&LessSafeKey, Nonce) {
        let number = self.counter;
        self.counter += 1;
        let epoch = number / EPOCH_RECORDS;
        if epoch != self.epoch {
            self.epoch = epoch;
            self.key = epoch_key(self.aead, &self.base, epoch);
        }
        let mut nonce = [0u8; aead::NONCE_LEN];
        nonce[4..].copy_from_slice(&number.to_be_bytes());
        (&self.key, Nonce::assume_unique_for_key(nonce))
    }

    /// Starts counting at `number` (tests reach far records without sealing all).
    #[cfg(test)]
    fn skip_to(&mut self, number: u64) {
        self.counter = number;
    }
}

/// `HKDF-SHA256(base, "ferry.native-v2.epoch" ‖ epoch as u64 BE)`.
fn epoch_key(aead: Aead, base: &[u8; 32], epoch: u64) -> LessSafeKey {
    let mut info = b"ferry.native-v2.epoch".to_vec();
    info.extend_from_slice(&epoch.to_be_bytes());
    let bytes = kdf::derive(base, &info, 32);
    match UnboundKey::new(aead.algorithm(), &bytes) {
        Ok(key) => LessSafeKey::new(key),
        Err(_) => unreachable!("a 32-byte key was refused by a 256-bit AEAD"),
    }
}

/// Seals the records we write.
pub struct Sealer(Direction);

impl Sealer {
    /// `role` is ours: the sender seals with the sender's key.
    pub fn new(key: &TransitKey, aead: Aead, role: Role) -> Self {
        Sealer(Direction::new(key, aead, role))
    }

    /// Seals a frame laid out as `[PREFIX_LEN][plaintext][TAG_LEN]` in place, so a
    /// caller can read file data straight into the buffer that goes to the socket.
    ///
    /// # Panics
    /// If `frame` is shorter than `PREFIX_LEN + TAG_LEN` or longer than
    /// `PREFIX_LEN + MAX_BODY`: frames are built by us, never from peer input.
    pub fn seal_in_place(&mut self, frame: &mut [u8]) {
        let body_len = frame.len() - PREFIX_LEN;
        assert!((TAG_LEN..=MAX_BODY).contains(&body_len), "record too large");
        let prefix = (body_len as u32).to_be_bytes();
        let (head, rest) = frame.split_at_mut(PREFIX_LEN);
        head.copy_from_slice(&prefix);
        let (data, tag_out) = rest.split_at_mut(body_len - TAG_LEN);
        let (key, nonce) = self.0.next();
        match key.seal_in_place_separate_tag(nonce, Aad::from(prefix), data) {
            Ok(tag) => tag_out.copy_from_slice(tag.as_ref()),
            Err(_) => unreachable!("records are far below the AEAD's length limit"),
        }
    }

    /// Appends one whole frame for `plaintext` to `out`.
    pub fn seal_frame(&mut self, plaintext: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        out.resize(start + PREFIX_LEN, 0);
        out.extend_from_slice(plaintext);
        out.resize(out.len() + TAG_LEN, 0);
        self.seal_in_place(&mut out[start..]);
    }
}

/// Opens the records the peer writes.
pub struct Opener(Direction);

impl Opener {
    /// `role` is ours: the receiver opens with the sender's key.
    pub fn new(key: &TransitKey, aead: Aead, role: Role) -> Self {
        let author = match role {
            Role::Sender => Role::Receiver,
            Role::Receiver => Role::Sender,
        };
        Opener(Direction::new(key, aead, author))
    }

    /// Checks a length prefix before its body is read.
    pub fn body_len(prefix: [u8; PREFIX_LEN]) -> Result<usize, RecordError> {
        let len = u32::from_be_bytes(prefix) as usize;
        if !(TAG_LEN..=MAX_BODY).contains(&len) {
            return Err(RecordError::BadLength(len as u64));
        }
        Ok(len)
    }

    /// Opens the body (`ciphertext ‖ tag`) that followed `prefix`, in place. The
    /// plaintext is `body[..n]` for the returned `n`. After an error the stream
    /// is dead: the next record cannot open either.
    pub fn open_in_place(
        &mut self,
        prefix: [u8; PREFIX_LEN],
        body: &mut [u8],
    ) -> Result<usize, RecordError> {
        if body.len() != Self::body_len(prefix)? {
            return Err(RecordError::BadLength(body.len() as u64));
        }
        let n = body.len() - TAG_LEN;
        let (data, tag) = body.split_at_mut(n);
        let tag = aead::Tag::try_from(&*tag).map_err(|_| RecordError::Forged)?;
        let (key, nonce) = self.0.next();
        key.open_in_place_separate_tag(nonce, Aad::from(prefix), tag, data, 0..)
            .map_err(|_| RecordError::Forged)?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests;
