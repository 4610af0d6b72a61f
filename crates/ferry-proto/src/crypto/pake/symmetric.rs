//! The arithmetic of symmetric SPAKE2 over Ed25519, as python-spake2 defines
//! it: message `x·B + pw·S`, shared element `K = (Y − pw·S)·x`, key
//! `SHA-256(SHA-256(pw) ‖ SHA-256(id) ‖ min(X, Y) ‖ max(X, Y) ‖ K)`.
//!
//! Done here rather than in the `spake2` crate because we need `K` itself: Go's
//! gospake2 (wormhole-william) encodes elements with `big.Int.Bytes()`, which
//! drops the encoding's trailing zero bytes, and hashes each transcript field
//! cut to `K`'s shortened length. When `K`'s encoding ends in a zero byte (one
//! session in 256) its key differs from everyone else's; [`Keys::gospake2`]
//! is that key, so the session can still agree with a Go peer.

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use hkdf::Hkdf;
use rand::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};

use crate::crypto::kdf::SharedKey;

/// The blinding element of the symmetric variant, python-spake2's
/// `arbitrary_element(b"symmetric")` (WORMHOLE-PROTOCOL.md §2.2).
const BLINDING_S: [u8; 32] = [
    0x6f, 0x00, 0xda, 0xe8, 0x7c, 0x1b, 0xe1, 0xa7, 0x3b, 0x59, 0x22, 0xef, 0x43, 0x1c, 0xd8, 0xf5,
    0x78, 0x79, 0x56, 0x9c, 0x22, 0x2d, 0x22, 0xb1, 0xcd, 0x71, 0xe8, 0x54, 0x6a, 0xb8, 0xe6, 0xf1,
];

/// The keys one finished exchange may mean.
#[derive(Debug, Clone)]
pub struct Keys {
    /// The key Python, Rust and ferry derive.
    pub standard: SharedKey,
    /// The key gospake2 derives instead, when it differs (see the module doc).
    pub gospake2: Option<SharedKey>,
}

/// One side's secret state between its message and the peer's.
pub(super) struct Spake2 {
    secret: Scalar,
    password: Scalar,
    transcript_head: [u8; 64],
    element: [u8; 32],
}

impl Spake2 {
    /// Draws the secret from 64 random bytes (read little-endian, reduced).
    pub(super) fn start(
        password: &[u8],
        identity: &[u8],
        mut rng: impl RngCore + CryptoRng,
    ) -> Self {
        let mut wide = [0u8; 64];
        rng.fill_bytes(&mut wide);
        let secret = Scalar::from_bytes_mod_order_wide(&wide);
        let password_scalar = password_scalar(password);
        let point = ED25519_BASEPOINT_POINT * secret + blinding() * password_scalar;
        let mut transcript_head = [0u8; 64];
        transcript_head[..32].copy_from_slice(&Sha256::digest(password));
        transcript_head[32..].copy_from_slice(&Sha256::digest(identity));
        Spake2 {
            secret,
            password: password_scalar,
            transcript_head,
            element: point.compress().to_bytes(),
        }
    }

    /// Our element: the message without its side byte.
    pub(super) fn element(&self) -> &[u8; 32] {
        &self.element
    }

    /// The keys from the peer's element: `encoded` as received, `point` its
    /// value (already checked to be in the group).
    pub(super) fn finish(self, encoded: [u8; 32], point: &EdwardsPoint) -> Keys {
        let shared = (point - blinding() * self.password) * self.secret;
        let shared = shared.compress().to_bytes();
        let (lo, hi) = if self.element <= encoded {
            (self.element, encoded)
        } else {
            (encoded, self.element)
        };
        let hash = |n: usize| {
            let mut h = Sha256::new();
            h.update(self.transcript_head);
            for field in [&lo, &hi, &shared] {
                h.update(&field[..n]);
            }
            SharedKey::from_bytes(h.finalize().into())
        };
        let go_len = 32 - shared.iter().rev().take_while(|b| **b == 0).count();
        Keys {
            standard: hash(32),
            gospake2: (go_len < 32).then(|| hash(go_len)),
        }
    }
}

/// `HKDF-SHA256(pw, info "SPAKE2 pw")`, 48 bytes read big-endian, mod ℓ.
fn password_scalar(password: &[u8]) -> Scalar {
    let mut okm = [0u8; 48];
    Hkdf::<Sha256>::new(Some(b""), password)
        .expand(b"SPAKE2 pw", &mut okm)
        .expect("48 bytes is a valid HKDF length");
    let mut wide = [0u8; 64];
    for (i, b) in okm.iter().rev().enumerate() {
        wide[i] = *b;
    }
    Scalar::from_bytes_mod_order_wide(&wide)
}

fn blinding() -> EdwardsPoint {
    CompressedEdwardsY(BLINDING_S)
        .decompress()
        .expect("the blinding constant is a point")
}
