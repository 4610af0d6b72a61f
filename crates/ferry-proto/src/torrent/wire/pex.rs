//! BEP 11 peer exchange (`ut_pex`): each side tells the other, at most once a minute,
//! which peers it connected to and dropped since the last message.
//!
//! Peer input is bounded: a message of more than [`MAX_PEX_PEERS`] addresses in a list
//! is cut to that many (libtorrent sends at most 100), lists whose length is not a
//! whole number of entries are refused, and flags (`added.f`) are read by no one here.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use super::extension::ExtensionError;
use crate::torrent::bencode::{self, dict, Bencode, Dict, Limits, Value};
use crate::torrent::tracker::{compact_peers, encode_compact};

/// Our name for BEP 11 in the `m` dictionary.
pub const UT_PEX: &str = "ut_pex";
/// Addresses kept of one list of one message.
pub const MAX_PEX_PEERS: usize = 200;
/// Addresses we send in one list (BEP 11 asks for no more than 50).
pub const PEX_SEND: usize = 50;

const LIMITS: Limits = Limits {
    depth: 2,
    items: 64,
};

/// One `ut_pex` message: peers connected to and dropped (v4 and v6 together).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pex {
    pub added: Vec<SocketAddr>,
    pub dropped: Vec<SocketAddr>,
}

impl Pex {
    pub fn decode(payload: &[u8]) -> Result<Pex, ExtensionError> {
        let value = bencode::decode_with(payload, LIMITS)?;
        let d = value.as_dict().ok_or(ExtensionError::NotDict)?;
        let mut added = list(d, "added", false)?;
        added.extend(list(d, "added6", true)?);
        let mut dropped = list(d, "dropped", false)?;
        dropped.extend(list(d, "dropped6", true)?);
        added.truncate(MAX_PEX_PEERS);
        dropped.truncate(MAX_PEX_PEERS);
        Ok(Pex { added, dropped })
    }

    /// Every key libtorrent sends, empty ones included; flags all zero.
    pub fn encode(&self) -> Vec<u8> {
        let split = |peers: &[SocketAddr], v6: bool| -> Vec<SocketAddr> {
            peers
                .iter()
                .filter(|a| a.is_ipv6() == v6)
                .copied()
                .collect()
        };
        let (a4, a6) = (split(&self.added, false), split(&self.added, true));
        let (d4, d6) = (split(&self.dropped, false), split(&self.dropped, true));
        let bytes = |b: Vec<u8>| Bencode::Bytes(b);
        dict([
            ("added", bytes(encode_compact(&a4))),
            ("added.f", bytes(vec![0; a4.len()])),
            ("added6", bytes(encode_compact(&a6))),
            ("added6.f", bytes(vec![0; a6.len()])),
            ("dropped", bytes(encode_compact(&d4))),
            ("dropped6", bytes(encode_compact(&d6))),
        ])
        .encode()
    }
}

fn list(d: &Dict<'_>, key: &'static str, v6: bool) -> Result<Vec<SocketAddr>, ExtensionError> {
    match d.get(key.as_bytes()) {
        None => Ok(Vec::new()),
        Some(Value::Bytes(b)) => compact_peers(b, v6).map_err(|_| ExtensionError::Pex(key)),
        Some(_) => Err(ExtensionError::Pex(key)),
    }
}

/// What one peer was told, so the next message carries only the change.
#[derive(Debug, Clone, Default)]
pub struct PexLedger {
    told: BTreeSet<SocketAddr>,
}

impl PexLedger {
    /// The message that brings the peer from what it was told to `now` (at most
    /// [`PEX_SEND`] of each list; the rest goes in later messages), or `None` when
    /// nothing changed.
    pub fn update(&mut self, now: &BTreeSet<SocketAddr>) -> Option<Pex> {
        let added: Vec<SocketAddr> = now.difference(&self.told).take(PEX_SEND).copied().collect();
        let dropped: Vec<SocketAddr> = self.told.difference(now).take(PEX_SEND).copied().collect();
        if added.is_empty() && dropped.is_empty() {
            return None;
        }
        self.told.extend(&added);
        dropped.iter().for_each(|a| {
            self.told.remove(a);
        });
        Some(Pex { added, dropped })
    }
}

#[cfg(test)]
#[path = "pex_tests.rs"]
mod tests;
