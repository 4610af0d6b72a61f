//! The PIN gate: a sender must give the receiver's PIN (`?pin=`), and one that
//! keeps guessing wrong is shut out. The download API (`share`) uses the
//! same gate, so a PIN guards both ways in.

use std::collections::HashMap;
use std::net::IpAddr;

use super::{Response, Status};

/// Wrong PINs one IP may send; after that every prepare-upload (or
/// prepare-download) from it is
/// 429. Three, as the app's Rust core (`http/server/common/pin.rs`).
pub const MAX_PIN_ATTEMPTS: u32 = 3;

/// IPs whose wrong PINs are remembered; beyond it the least-failed is forgotten,
/// so a flood of addresses cannot grow the table (the app uses an LRU cache).
const MAX_TRACKED_SENDERS: usize = 1024;

/// Wrong-PIN counts per sender address.
#[derive(Debug, Default)]
pub(in crate::localsend) struct PinGate {
    failures: HashMap<IpAddr, u32>,
}

impl PinGate {
    /// `Ok` when no PIN is `required` or `given` is it; else the refusal (401,
    /// or 429 once this peer used up its tries). A right PIN clears the count.
    pub(in crate::localsend) fn check(
        &mut self,
        required: Option<&str>,
        peer: IpAddr,
        given: Option<&str>,
    ) -> Result<(), Response> {
        let Some(required) = required else {
            return Ok(());
        };
        let tries = self.failures.get(&peer).copied().unwrap_or(0);
        if tries >= MAX_PIN_ATTEMPTS {
            return Err(Response::error(
                Status::TooManyRequests,
                "Too many requests",
            ));
        }
        match given {
            None => Err(Response::error(Status::Unauthorized, "PIN required")),
            Some(pin) if pin == required => {
                self.failures.remove(&peer);
                Ok(())
            }
            Some(_) => {
                self.count_failure(peer);
                Err(Response::error(Status::Unauthorized, "Invalid PIN"))
            }
        }
    }

    fn count_failure(&mut self, peer: IpAddr) {
        if self.failures.len() >= MAX_TRACKED_SENDERS && !self.failures.contains_key(&peer) {
            let least = self
                .failures
                .iter()
                .min_by_key(|(_, n)| **n)
                .map(|(ip, _)| *ip);
            least.map(|ip| self.failures.remove(&ip));
        }
        *self.failures.entry(peer).or_default() += 1;
    }
}
