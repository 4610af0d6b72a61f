//! NaCl `crypto_secretbox` (XSalsa20-Poly1305) in the layout that every wormhole
//! client puts on the wire: `nonce(24) ‖ tag(16) ‖ ciphertext`.
//!
//! This is what PyNaCl's `SecretBox.encrypt` returns, and what mailbox phase bodies
//! and transit records carry. The detached variants work in place so the transit
//! hot path does not allocate per record.

use crypto_secretbox::aead::{AeadInPlace, KeyInit};
use crypto_secretbox::{Nonce, Tag, XSalsa20Poly1305};

/// Length of the random (mailbox) or counter (transit) nonce.
pub const NONCE_LEN: usize = 24;
/// Length of the Poly1305 tag.
pub const TAG_LEN: usize = 16;
/// Length of a secretbox key.
pub const KEY_LEN: usize = 32;
/// Bytes that [`seal`] adds in front of the ciphertext; shorter bodies never open.
pub const OVERHEAD: usize = NONCE_LEN + TAG_LEN;

/// A body did not authenticate under the key, or was too short to be a body.
///
/// Deliberately says nothing more: the difference between a wrong key and a
/// tampered message is not something the receiver can know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("decryption failed (wrong key or corrupted data)")]
pub struct DecryptError;

/// Encrypts `plaintext` and returns `nonce ‖ tag ‖ ciphertext`.
///
/// The caller picks the nonce: fresh random bytes for mailbox messages, the record
/// counter for transit. Never seal two messages under one key with one nonce.
pub fn seal(key: &[u8; KEY_LEN], nonce: &[u8; NONCE_LEN], plaintext: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(OVERHEAD + plaintext.len());
    body.extend_from_slice(nonce);
    body.extend_from_slice(&[0; TAG_LEN]);
    body.extend_from_slice(plaintext);
    let (head, ciphertext) = body.split_at_mut(OVERHEAD);
    let tag = seal_detached(key, nonce, ciphertext);
    head[NONCE_LEN..].copy_from_slice(&tag);
    body
}

/// Authenticates and decrypts a `nonce ‖ tag ‖ ciphertext` body.
///
/// Any input is safe: a body shorter than [`OVERHEAD`] is an error, not a panic
/// (Rust and Go wormhole clients crash on such bodies).
pub fn open(key: &[u8; KEY_LEN], body: &[u8]) -> Result<Vec<u8>, DecryptError> {
    let (nonce, tag, ciphertext) = split_body(body)?;
    let mut plaintext = ciphertext.to_vec();
    open_detached(key, nonce, tag, &mut plaintext)?;
    Ok(plaintext)
}

/// Like [`open`], but decrypts inside `body` and returns the plaintext part of it.
pub fn open_in_place<'a>(
    key: &[u8; KEY_LEN],
    body: &'a mut [u8],
) -> Result<&'a mut [u8], DecryptError> {
    let (head, ciphertext) = body.split_at_mut_checked(OVERHEAD).ok_or(DecryptError)?;
    let (nonce, tag, _) = split_body(head)?;
    open_detached(key, nonce, tag, ciphertext)?;
    Ok(ciphertext)
}

/// Encrypts `buf` in place and returns the tag that belongs in front of it.
pub fn seal_detached(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    buf: &mut [u8],
) -> [u8; TAG_LEN] {
    match cipher(key).encrypt_in_place_detached(Nonce::from_slice(nonce), &[], buf) {
        Ok(tag) => tag.into(),
        // The only failure of this AEAD is being handed associated data.
        Err(_) => unreachable!("XSalsa20Poly1305 refused empty associated data"),
    }
}

/// Checks `tag` and decrypts `buf` in place; on error `buf` is left as it was.
pub fn open_detached(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    tag: &[u8; TAG_LEN],
    buf: &mut [u8],
) -> Result<(), DecryptError> {
    cipher(key)
        .decrypt_in_place_detached(Nonce::from_slice(nonce), &[], buf, Tag::from_slice(tag))
        .map_err(|_| DecryptError)
}

fn cipher(key: &[u8; KEY_LEN]) -> XSalsa20Poly1305 {
    XSalsa20Poly1305::new(&(*key).into())
}

type BodyParts<'a> = (&'a [u8; NONCE_LEN], &'a [u8; TAG_LEN], &'a [u8]);

fn split_body(body: &[u8]) -> Result<BodyParts<'_>, DecryptError> {
    let (nonce, rest) = body.split_first_chunk::<NONCE_LEN>().ok_or(DecryptError)?;
    let (tag, ciphertext) = rest.split_first_chunk::<TAG_LEN>().ok_or(DecryptError)?;
    Ok((nonce, tag, ciphertext))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_vectors::{array, kat, unhex};
    use proptest::prelude::*;

    /// PyNaCl `SecretBox.encrypt` outputs, from test-vectors/generate.py.
    #[test]
    fn python_vectors() {
        let kat = kat();
        let cases = kat["secretbox"].as_array().expect("secretbox cases");
        assert!(cases.len() >= 5);
        for case in cases {
            let key = array(&case["key"]);
            let plaintext = unhex(&case["plaintext"]);
            let body = unhex(&case["body"]);
            assert_eq!(seal(&key, &array(&case["nonce"]), &plaintext), body);
            assert_eq!(open(&key, &body).expect("opens"), plaintext);
        }
    }

    #[test]
    fn detached_matches_combined() {
        let (key, nonce) = ([7; 32], [9; 24]);
        let body = seal(&key, &nonce, b"in place");
        let mut buf = *b"in place";
        let tag = seal_detached(&key, &nonce, &mut buf);
        assert_eq!(body[..NONCE_LEN], nonce);
        assert_eq!(body[NONCE_LEN..OVERHEAD], tag);
        assert_eq!(body[OVERHEAD..], buf);
        open_detached(&key, &nonce, &tag, &mut buf).expect("opens");
        assert_eq!(&buf, b"in place");
    }

    #[test]
    fn open_in_place_returns_plaintext_slice() {
        let mut body = seal(&[1; 32], &[2; 24], b"record");
        assert_eq!(
            open_in_place(&[1; 32], &mut body).expect("opens"),
            b"record"
        );
        assert_eq!(open_in_place(&[1; 32], &mut [0; 39]), Err(DecryptError));
    }

    #[test]
    fn short_bodies_are_errors() {
        for len in 0..OVERHEAD {
            assert_eq!(
                open(&[0; 32], &vec![0; len]),
                Err(DecryptError),
                "len {len}"
            );
        }
        // An empty plaintext seals to exactly the overhead, and opens.
        assert_eq!(open(&[0; 32], &seal(&[0; 32], &[0; 24], b"")), Ok(vec![]));
    }

    #[test]
    fn failed_open_leaves_buffer_alone() {
        let mut buf = *b"secret";
        let tag = seal_detached(&[3; 32], &[4; 24], &mut buf);
        let sealed = buf;
        assert!(open_detached(&[5; 32], &[4; 24], &tag, &mut buf).is_err());
        assert_eq!(buf, sealed);
    }

    #[test]
    fn error_message() {
        assert_eq!(
            DecryptError.to_string(),
            "decryption failed (wrong key or corrupted data)"
        );
    }

    proptest! {
        #[test]
        fn open_never_panics(key in any::<[u8; 32]>(), body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = open(&key, &body);
        }

        #[test]
        fn seal_open_round_trip(
            key in any::<[u8; 32]>(),
            nonce in any::<[u8; 24]>(),
            plaintext in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let body = seal(&key, &nonce, &plaintext);
            prop_assert_eq!(body.len(), plaintext.len() + OVERHEAD);
            prop_assert_eq!(open(&key, &body), Ok(plaintext));
        }

        #[test]
        fn any_flipped_bit_is_refused(
            plaintext in proptest::collection::vec(any::<u8>(), 0..64),
            bit in any::<prop::sample::Index>(),
        ) {
            let mut body = seal(&[6; 32], &[8; 24], &plaintext);
            let bit = bit.index(body.len() * 8);
            body[bit / 8] ^= 1 << (bit % 8);
            prop_assert_eq!(open(&[6; 32], &body), Err(DecryptError));
        }
    }
}
