//! BitTorrent trackers, sans-IO: what an announce says and what comes back, over HTTP
//! (BEP 3, BEP 23 compact peers, BEP 7 `peers6`) and over UDP (BEP 15).
//!
//! The caller does the I/O (`ferry::torrent::tracker`); here are the query strings,
//! packets, response decoders and BEP 15's retransmission schedule. Responses are
//! bounded: a body over [`MAX_RESPONSE`], a compact peer string whose length is not a
//! multiple of its entry size, or more than [`MAX_PEERS`] peers is refused.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

pub mod http;
pub mod udp;

#[cfg(test)]
mod tests;

/// Largest tracker response accepted. 20,000 compact IPv6 peers fit (360 KB); real
/// trackers send at most a few hundred.
pub const MAX_RESPONSE: usize = 1024 * 1024;
/// Most peers taken from one response.
pub const MAX_PEERS: usize = 20_000;

/// One announce: who we are and how far along, for one torrent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announce {
    pub info_hash: [u8; 20],
    pub peer_id: [u8; 20],
    pub port: u16,
    pub uploaded: u64,
    pub downloaded: u64,
    pub left: u64,
    pub event: Event,
    /// A random number that stays the same for the session, so a tracker recognises us
    /// across address changes.
    pub key: u32,
    /// Peers wanted; `None` leaves it to the tracker (50 by convention).
    pub numwant: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A periodic announce.
    None,
    Started,
    Completed,
    Stopped,
}

/// What a tracker answered.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AnnounceResponse {
    /// Seconds until the next regular announce.
    pub interval: u32,
    pub min_interval: Option<u32>,
    pub warning: Option<String>,
    /// Peers with the whole torrent, and without.
    pub seeders: Option<u32>,
    pub leechers: Option<u32>,
    pub peers: Vec<SocketAddr>,
}

/// Why a tracker's answer is unusable: the tracker's fault, or its refusal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrackerError {
    /// The tracker refused the announce and said why (its text, escaped).
    #[error("tracker refused: {}", .0.escape_debug())]
    Failure(String),
    #[error("tracker response is not valid bencode: {0}")]
    Bencode(#[from] crate::torrent::bencode::DecodeError),
    #[error("tracker response is not a dictionary")]
    NotDict,
    #[error("tracker response lacks or mangles `{0}`")]
    Field(&'static str),
    #[error("tracker's compact peer list has {len} bytes, not a multiple of {unit}")]
    PeersLength { len: usize, unit: usize },
    #[error("tracker response has more than {MAX_PEERS} peers")]
    TooManyPeers,
    #[error("tracker response is {0} bytes, over the limit")]
    TooLarge(usize),
    #[error("tracker answered HTTP status {0}")]
    HttpStatus(u16),
    #[error("tracker's HTTP answer is unusable: {0}")]
    Http(&'static str),
    #[error("tracker sent a {len}-byte UDP packet with action {action}")]
    UdpPacket { action: u32, len: usize },
    /// An announce answer that stops after the transaction id: no interval, no peers.
    /// opentracker answers so, over UDP, for an infohash it does not serve.
    #[error("tracker refused: its UDP answer is empty (a tracker that does not serve this torrent answers so)")]
    UdpEmptyAnnounce,
}

/// Compact peers: 4-byte IPv4 (or 16-byte IPv6) address then 2-byte port, big-endian.
pub fn compact_peers(bytes: &[u8], ipv6: bool) -> Result<Vec<SocketAddr>, TrackerError> {
    let unit = if ipv6 { 18 } else { 6 };
    if !bytes.len().is_multiple_of(unit) {
        return Err(TrackerError::PeersLength {
            len: bytes.len(),
            unit,
        });
    }
    if bytes.len() / unit > MAX_PEERS {
        return Err(TrackerError::TooManyPeers);
    }
    Ok(bytes.chunks_exact(unit).map(compact_peer).collect())
}

fn compact_peer(entry: &[u8]) -> SocketAddr {
    let (addr, port) = entry.split_at(entry.len() - 2);
    let ip = match <[u8; 4]>::try_from(addr) {
        Ok(v4) => IpAddr::V4(Ipv4Addr::from(v4)),
        Err(_) => IpAddr::V6(Ipv6Addr::from(
            <[u8; 16]>::try_from(addr).unwrap_or([0; 16]),
        )),
    };
    SocketAddr::new(ip, u16::from_be_bytes([port[0], port[1]]))
}

/// The compact form of `peers` (a tracker's side; tests and fuzz seeds).
pub fn encode_compact(peers: &[SocketAddr]) -> Vec<u8> {
    let mut out = Vec::new();
    for peer in peers {
        match peer.ip() {
            IpAddr::V4(ip) => out.extend_from_slice(&ip.octets()),
            IpAddr::V6(ip) => out.extend_from_slice(&ip.octets()),
        }
        out.extend_from_slice(&peer.port().to_be_bytes());
    }
    out
}
