//! UDP trackers (BEP 15): connect, then announce with the connection id; every
//! packet carries a transaction id the answer must echo.
//!
//! Retransmission: BEP 15 waits `15 * 2^n` seconds after the n-th try (n = 0..=8) and
//! then gives up; [`retransmit_timeout`] computes that from any base so tests can use
//! milliseconds. A connection id may be used for one minute after it was received.

use std::time::{Duration, Instant};

use super::{compact_peers, Announce, AnnounceResponse, Event, TrackerError};

/// The magic constant of a connect request.
pub const PROTOCOL_ID: u64 = 0x0417_2710_1980;
/// How long a client may use a connection id.
pub const CONNECTION_ID_LIFETIME: Duration = Duration::from_secs(60);
/// BEP 15's base timeout.
pub const BASE_TIMEOUT: Duration = Duration::from_secs(15);
/// BEP 15's last try is n = 8 (3,840 s after it is sent, about an hour all told).
pub const MAX_TRIES: u32 = 9;

const CONNECT: u32 = 0;
const ANNOUNCE: u32 = 1;
const ERROR: u32 = 3;
/// Largest error text kept.
const MAX_ERROR_TEXT: usize = 1024;

/// How long to wait for an answer to the `attempt`-th try (0-based) before the next;
/// `None` once [`MAX_TRIES`] tries have been spent.
pub fn retransmit_timeout(base: Duration, attempt: u32) -> Option<Duration> {
    (attempt < MAX_TRIES).then(|| base * (1 << attempt))
}

/// A connection id and when it was received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionId {
    pub id: u64,
    pub received: Instant,
}

impl ConnectionId {
    pub fn valid_at(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.received) < CONNECTION_ID_LIFETIME
    }
}

pub fn connect_request(transaction: u32) -> [u8; 16] {
    let mut out = [0; 16];
    out[..8].copy_from_slice(&PROTOCOL_ID.to_be_bytes());
    out[8..12].copy_from_slice(&CONNECT.to_be_bytes());
    out[12..].copy_from_slice(&transaction.to_be_bytes());
    out
}

/// The 98-byte announce. The IP field is 0 (the tracker uses the packet's source).
pub fn announce_request(connection: u64, transaction: u32, a: &Announce) -> [u8; 98] {
    let event: u32 = match a.event {
        Event::None => 0,
        Event::Completed => 1,
        Event::Started => 2,
        Event::Stopped => 3,
    };
    let numwant = a.numwant.map_or(-1, |n| n.min(i32::MAX as u32) as i32);
    let mut out = Vec::with_capacity(98);
    out.extend_from_slice(&connection.to_be_bytes());
    out.extend_from_slice(&ANNOUNCE.to_be_bytes());
    out.extend_from_slice(&transaction.to_be_bytes());
    out.extend_from_slice(&a.info_hash);
    out.extend_from_slice(&a.peer_id);
    for n in [a.downloaded, a.left, a.uploaded] {
        out.extend_from_slice(&n.to_be_bytes());
    }
    for n in [event, 0, a.key] {
        out.extend_from_slice(&n.to_be_bytes());
    }
    out.extend_from_slice(&numwant.to_be_bytes());
    out.extend_from_slice(&a.port.to_be_bytes());
    let mut packet = [0; 98];
    packet.copy_from_slice(&out);
    packet
}

/// A packet from a UDP tracker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UdpResponse {
    Connect {
        transaction: u32,
        connection: u64,
    },
    Announce {
        transaction: u32,
        response: AnnounceResponse,
    },
    /// An announce answer with nothing after the transaction id (see
    /// [`TrackerError::UdpEmptyAnnounce`]).
    EmptyAnnounce {
        transaction: u32,
    },
    /// The tracker refused; its text (lossy UTF-8, at most 1 KiB).
    Error {
        transaction: u32,
        message: String,
    },
}

impl UdpResponse {
    pub fn transaction(&self) -> u32 {
        match self {
            UdpResponse::Connect { transaction, .. }
            | UdpResponse::Announce { transaction, .. }
            | UdpResponse::EmptyAnnounce { transaction }
            | UdpResponse::Error { transaction, .. } => *transaction,
        }
    }
}

/// Decodes a packet; `ipv6` when it came over IPv6 (peers are then 18 bytes each).
pub fn decode_response(packet: &[u8], ipv6: bool) -> Result<UdpResponse, TrackerError> {
    let word = |at: usize| {
        packet
            .get(at..at + 4)
            .map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
    };
    let (Some(action), Some(transaction)) = (word(0), word(4)) else {
        return Err(TrackerError::UdpPacket {
            action: word(0).unwrap_or(u32::MAX),
            len: packet.len(),
        });
    };
    let bad = || TrackerError::UdpPacket {
        action,
        len: packet.len(),
    };
    match action {
        // BEP 15: "at least 16 bytes"; anything after the id is ignored.
        CONNECT if packet.len() >= 16 => {
            let mut id = [0; 8];
            id.copy_from_slice(&packet[8..16]);
            Ok(UdpResponse::Connect {
                transaction,
                connection: u64::from_be_bytes(id),
            })
        }
        ANNOUNCE if packet.len() == 8 => Ok(UdpResponse::EmptyAnnounce { transaction }),
        ANNOUNCE if packet.len() >= 20 => {
            let count = |at| word(at).ok_or_else(bad);
            let response = AnnounceResponse {
                interval: count(8)?,
                leechers: Some(count(12)?),
                seeders: Some(count(16)?),
                peers: compact_peers(&packet[20..], ipv6)?,
                ..AnnounceResponse::default()
            };
            Ok(UdpResponse::Announce {
                transaction,
                response,
            })
        }
        ERROR => {
            let text = &packet[8..packet.len().min(8 + MAX_ERROR_TEXT)];
            let message = String::from_utf8_lossy(text).into_owned();
            Ok(UdpResponse::Error {
                transaction,
                message,
            })
        }
        _ => Err(bad()),
    }
}
