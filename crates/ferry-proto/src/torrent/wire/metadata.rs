//! Fetching an info dictionary with BEP 9: which piece to ask which peer for, and the
//! whole checked against the infohash before anyone may use it.
//!
//! Call order: [`MetadataAssembler::new`] with the size a peer's extension handshake
//! announced; [`MetadataAssembler::next_request`] for each peer that supports
//! `ut_metadata` (send what it returns); [`MetadataAssembler::handle`] for each
//! `ut_metadata` message; [`MetadataAssembler::peer_gone`] when a peer leaves. The
//! infohash only covers the whole dictionary, so when it does not match every peer
//! that sent a piece of it is banned and the fetch starts over with the others.

use ring::digest;
use sha2::{Digest, Sha256};

use super::extension::{metadata_pieces, UtMetadata, METADATA_PIECE};

/// What the metadata must hash to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataHash {
    /// `xt=urn:btih:` — SHA-1 of the info dictionary.
    V1([u8; 20]),
    /// `xt=urn:btmh:1220…` — SHA-256 of the info dictionary (BEP 52).
    V2([u8; 32]),
}

impl MetadataHash {
    fn matches(&self, info: &[u8]) -> bool {
        match self {
            MetadataHash::V1(h) => {
                digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, info).as_ref() == h
            }
            MetadataHash::V2(h) => Sha256::digest(info).as_slice() == h,
        }
    }
}

/// Why a fetch cannot start or a peer's piece is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    #[error("peer announced metadata of {size} bytes (limit {max})")]
    TooLarge { size: u32, max: u32 },
    #[error("peer announced metadata of 0 bytes")]
    Empty,
    #[error("peer sent metadata piece {piece} of {len} bytes with total size {total}, expected {expected_len} bytes of {expected_total}")]
    BadPiece {
        piece: u32,
        len: usize,
        total: u32,
        expected_len: usize,
        expected_total: u32,
    },
}

/// What one message changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress<P> {
    /// Nothing to do (a piece stored, a reject noted, an unrequested piece ignored).
    Pending,
    /// The info dictionary, verified against the infohash.
    Done(Vec<u8>),
    /// The whole did not match the infohash: these peers sent pieces of it and are
    /// now banned; the fetch starts over.
    HashMismatch(Vec<P>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Slot<P> {
    Wanted,
    Requested(P),
    Received(P),
}

/// The state of one metadata fetch; `P` names a peer (an address, a connection id).
#[derive(Debug)]
pub struct MetadataAssembler<P> {
    hash: MetadataHash,
    size: u32,
    buf: Vec<u8>,
    slots: Vec<Slot<P>>,
    banned: Vec<P>,
}

impl<P: Clone + Eq> MetadataAssembler<P> {
    /// Starts a fetch of `size` bytes (from an extension handshake), at most `max`
    /// ([`MAX_METADATA_SIZE`] is libtorrent's default).
    pub fn new(hash: MetadataHash, size: u32, max: u32) -> Result<Self, MetadataError> {
        match size {
            0 => Err(MetadataError::Empty),
            s if s > max => Err(MetadataError::TooLarge { size, max }),
            _ => Ok(MetadataAssembler {
                hash,
                size,
                buf: vec![0; size as usize],
                slots: vec![Slot::Wanted; metadata_pieces(size) as usize],
                banned: Vec::new(),
            }),
        }
    }

    pub fn size(&self) -> u32 {
        self.size
    }

    /// The next request to send `peer`, if any piece is neither in nor asked for.
    pub fn next_request(&mut self, peer: &P) -> Option<UtMetadata> {
        if self.is_banned(peer) {
            return None;
        }
        let i = self.slots.iter().position(|s| *s == Slot::Wanted)?;
        self.slots[i] = Slot::Requested(peer.clone());
        Some(UtMetadata::Request(i as u32))
    }

    /// Handles a `ut_metadata` message from `peer`. A `Request` is for the serving
    /// side ([`super::extension::MetadataServer`]) and changes nothing here.
    pub fn handle(&mut self, peer: &P, message: UtMetadata) -> Result<Progress<P>, MetadataError> {
        match message {
            UtMetadata::Reject(piece) => {
                self.release(peer, Some(piece));
                Ok(Progress::Pending)
            }
            UtMetadata::Request(_) => Ok(Progress::Pending),
            UtMetadata::Data {
                piece,
                total_size,
                data,
            } => self.store(peer, piece, total_size, &data),
        }
    }

    /// `peer` left: what it was asked for is wanted again.
    pub fn peer_gone(&mut self, peer: &P) {
        self.release(peer, None);
    }

    pub fn is_banned(&self, peer: &P) -> bool {
        self.banned.contains(peer)
    }

    fn release(&mut self, peer: &P, piece: Option<u32>) {
        for (i, slot) in self.slots.iter_mut().enumerate() {
            let this_piece = piece.is_none_or(|p| p as usize == i);
            if this_piece && *slot == Slot::Requested(peer.clone()) {
                *slot = Slot::Wanted;
            }
        }
    }

    fn store(
        &mut self,
        peer: &P,
        piece: u32,
        total: u32,
        data: &[u8],
    ) -> Result<Progress<P>, MetadataError> {
        let requested = Slot::Requested(peer.clone());
        if self.slots.get(piece as usize) != Some(&requested) {
            return Ok(Progress::Pending);
        }
        let start = (piece * METADATA_PIECE) as usize;
        let end = (start + METADATA_PIECE as usize).min(self.size as usize);
        if total != self.size || data.len() != end - start {
            self.slots[piece as usize] = Slot::Wanted;
            return Err(MetadataError::BadPiece {
                piece,
                len: data.len(),
                total,
                expected_len: end - start,
                expected_total: self.size,
            });
        }
        self.buf[start..end].copy_from_slice(data);
        self.slots[piece as usize] = Slot::Received(peer.clone());
        Ok(self.finish())
    }

    fn finish(&mut self) -> Progress<P> {
        let mut senders = Vec::new();
        for slot in &self.slots {
            match slot {
                Slot::Received(p) if !senders.contains(p) => senders.push(p.clone()),
                Slot::Received(_) => {}
                _ => return Progress::Pending,
            }
        }
        if self.hash.matches(&self.buf) {
            return Progress::Done(std::mem::take(&mut self.buf));
        }
        self.slots.iter_mut().for_each(|s| *s = Slot::Wanted);
        self.banned.extend(senders.iter().cloned());
        Progress::HashMismatch(senders)
    }
}
