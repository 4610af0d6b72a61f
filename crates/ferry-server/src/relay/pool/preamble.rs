//! Signing and checking the hand-over line (`ferry_proto::wire::relay_pool`):
//! HMAC-SHA256 under the pool secret over the token, side, client address and
//! time, so that only an instance of the pool can make the owner pair a
//! connection under another client's address.

use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use ferry_proto::wire::relay::RelayRequest;
use ferry_proto::wire::relay_pool::PoolPreamble;
use ring::hmac;

/// How far a preamble's time may be from the owner's clock, either way. It is
/// written just before it is sent; this only bounds replays and clock skew
/// between the instances' hosts.
pub(super) const MAX_SKEW_SECS: u64 = 120;

/// Why a preamble was refused (the connection then gets `bad handshake`).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The tag does not match: not from an instance of this pool.
    BadTag,
    /// Signed too long ago or in the future.
    Stale,
}

/// The pool's key for signing and checking preambles.
#[derive(Debug, Clone)]
pub(crate) struct PoolKey(hmac::Key);

pub(super) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl PoolKey {
    pub(crate) fn new(secret: &[u8]) -> Self {
        PoolKey(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    /// The line that hands `request` of a client at `client_ip` over.
    pub(super) fn sign(&self, request: &RelayRequest, client_ip: IpAddr, now: u64) -> PoolPreamble {
        let mut p = PoolPreamble {
            request: request.clone(),
            client_ip,
            issued_at: now,
            tag: [0; 32],
        };
        let tag = hmac::sign(&self.0, &p.signed_bytes());
        p.tag.copy_from_slice(tag.as_ref());
        p
    }

    /// Checks the tag (in constant time) and the time.
    pub(crate) fn verify(&self, p: &PoolPreamble, now: u64) -> Result<(), Refused> {
        hmac::verify(&self.0, &p.signed_bytes(), &p.tag).map_err(|_| Refused::BadTag)?;
        match now.abs_diff(p.issued_at) <= MAX_SKEW_SECS {
            true => Ok(()),
            false => Err(Refused::Stale),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> RelayRequest {
        RelayRequest {
            token: "ab".repeat(32),
            side: Some("0123456789abcdef".to_owned()),
        }
    }

    #[test]
    fn a_signed_preamble_verifies_after_a_round_trip() {
        let key = PoolKey::new(b"pool secret, 16+ bytes");
        let ip: IpAddr = "198.51.100.9".parse().unwrap();
        let p = key.sign(&request(), ip, 1_000_000);
        let line = p.encode();
        let back = PoolPreamble::decode_line(&line[..line.len() - 1]).unwrap();
        assert_eq!(key.verify(&back, 1_000_000 + MAX_SKEW_SECS), Ok(()));
        assert_eq!(key.verify(&back, 1_000_000 - MAX_SKEW_SECS), Ok(()));
    }

    #[test]
    fn forged_changed_or_stale_preambles_are_refused() {
        let key = PoolKey::new(b"pool secret, 16+ bytes");
        let other = PoolKey::new(b"another pool's secret");
        let ip: IpAddr = "198.51.100.9".parse().unwrap();
        let p = other.sign(&request(), ip, 1_000_000);
        assert_eq!(key.verify(&p, 1_000_000), Err(Refused::BadTag));
        let mut spoofed = key.sign(&request(), ip, 1_000_000);
        spoofed.client_ip = "198.51.100.10".parse().unwrap();
        assert_eq!(key.verify(&spoofed, 1_000_000), Err(Refused::BadTag));
        let p = key.sign(&request(), ip, 1_000_000);
        assert_eq!(
            key.verify(&p, 1_000_001 + MAX_SKEW_SECS),
            Err(Refused::Stale)
        );
    }
}
