//! The resume state: which pieces were verified and written, for which torrent.
//! A hint, not a proof: every piece it claims is verified again before it counts,
//! so it is written without syncing and a lost or stale one costs only time.
//!
//! Format: `ferry-torrent-state 1\n`, the v1 infohash (20 bytes, zeros if none),
//! the v2 infohash (32 bytes, zeros if none), the piece count (u32, big endian),
//! then the BEP 3 bitfield of the verified pieces.

use ferry_proto::torrent::metainfo::InfoHashes;
use ferry_proto::torrent::wire::Bitfield;

const MAGIC: &[u8] = b"ferry-torrent-state 1\n";

pub(super) fn encode(hashes: &InfoHashes, have: &Bitfield) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&hashes.v1.unwrap_or_default());
    out.extend_from_slice(&hashes.v2.unwrap_or_default());
    out.extend_from_slice(&have.pieces().to_be_bytes());
    out.extend_from_slice(have.as_bytes());
    out
}

/// The pieces a state claims, if it is a state of this torrent.
pub(super) fn decode(bytes: &[u8], hashes: &InfoHashes, pieces: u32) -> Option<Bitfield> {
    let rest = bytes.strip_prefix(MAGIC)?;
    let (v1, rest) = rest.split_at_checked(20)?;
    let (v2, rest) = rest.split_at_checked(32)?;
    let (count, bits) = rest.split_at_checked(4)?;
    let ours = v1 == hashes.v1.unwrap_or_default() && v2 == hashes.v2.unwrap_or_default();
    let count = u32::from_be_bytes(count.try_into().ok()?);
    match ours && count == pieces {
        true => Bitfield::from_wire(bits, pieces).ok(),
        false => None,
    }
}
