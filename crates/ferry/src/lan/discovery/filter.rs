//! The pure half of discovery: what a datagram is to us, and the device list
//! a scan returns. No sockets here, so it is tested without a network.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use ferry_proto::localsend::{decode, Announcement, DecodeError, Register};

/// Largest announcement we read. A real one is a few hundred bytes; every
/// field the decoder accepts (alias, version, model, fingerprint at 256 bytes
/// each) still fits with room for JSON escapes. Larger ones are not parsed.
pub const MAX_DATAGRAM_BYTES: usize = 4096;

/// Another device's announcement (or answer), as heard.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Discovered {
    pub info: Register,
    /// The datagram's source: the device's IP (its HTTP(S) server listens on
    /// `info.port` there, not on this port).
    pub from: SocketAddr,
    /// `announce: true`: the device asks to be answered. The HTTPS layer
    /// answers with `POST register` to `from.ip():info.port`; without it,
    /// [`super::reply`] is the protocol's UDP fallback.
    pub wants_answer: bool,
}

/// A device found by a scan, once per fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Device {
    pub info: Register,
    pub from: SocketAddr,
}

/// What a received datagram turned out to be.
#[derive(Debug)]
pub(super) enum Verdict {
    Peer(Announcement),
    /// Our own announcement, looped back (or another process of ours).
    Own,
    Undecodable(DecodeError),
    /// Longer than [`MAX_DATAGRAM_BYTES`] (the read may have truncated it).
    Oversized(usize),
}

/// Classifies a datagram; `own` is our fingerprint, compared case-insensitively
/// like the app does (some peers send lower-case hex).
pub(super) fn classify(datagram: &[u8], own: &str) -> Verdict {
    if datagram.len() > MAX_DATAGRAM_BYTES {
        return Verdict::Oversized(datagram.len());
    }
    match decode::announcement(datagram) {
        Err(e) => Verdict::Undecodable(e),
        Ok(a) if a.device.fingerprint.eq_ignore_ascii_case(own) => Verdict::Own,
        Ok(a) => Verdict::Peer(a),
    }
}

impl Discovered {
    pub(super) fn new(a: Announcement, from: SocketAddr) -> Discovered {
        let wants_answer = a.announce;
        Discovered {
            info: a.device,
            from,
            wants_answer,
        }
    }
}

/// One device per fingerprint (case-insensitive; the latest datagram wins, as
/// an alias may change), sorted by alias for display, then fingerprint so the
/// order is stable.
pub fn dedupe(found: impl IntoIterator<Item = Discovered>) -> Vec<Device> {
    let mut by_fingerprint = BTreeMap::new();
    for d in found {
        let key = d.info.fingerprint.to_ascii_uppercase();
        by_fingerprint.insert(
            key,
            Device {
                info: d.info,
                from: d.from,
            },
        );
    }
    let mut devices: Vec<Device> = by_fingerprint.into_values().collect();
    devices.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
    devices
}

fn sort_key(d: &Device) -> (String, &str, String) {
    let fingerprint = d.info.fingerprint.to_ascii_uppercase();
    (d.info.alias.to_lowercase(), &d.info.alias, fingerprint)
}

#[cfg(test)]
#[path = "filter_tests.rs"]
mod tests;
