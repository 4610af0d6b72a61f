//! Which pieces a peer has: BEP 3's bitfield, high bit of the first byte = piece 0.

use super::message::WireError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitfield {
    bits: Vec<u8>,
    pieces: u32,
}

impl Bitfield {
    /// No pieces.
    pub fn empty(pieces: u32) -> Self {
        Bitfield {
            bits: vec![0; pieces.div_ceil(8) as usize],
            pieces,
        }
    }

    /// Every piece (BEP 6 `have all`).
    pub fn full(pieces: u32) -> Self {
        let mut field = Bitfield::empty(pieces);
        for i in 0..pieces {
            field.set(i);
        }
        field
    }

    /// A received bitfield: exactly `ceil(pieces / 8)` bytes, spare bits clear.
    pub fn from_wire(bytes: &[u8], pieces: u32) -> Result<Self, WireError> {
        if bytes.len() != pieces.div_ceil(8) as usize {
            return Err(WireError::BitfieldSize {
                got: bytes.len(),
                pieces,
            });
        }
        let spare = (bytes.len() * 8) as u32 - pieces;
        if bytes
            .last()
            .is_some_and(|b| spare > 0 && b & ((1u8 << spare) - 1) != 0)
        {
            return Err(WireError::BitfieldSpareBits(pieces));
        }
        Ok(Bitfield {
            bits: bytes.to_vec(),
            pieces,
        })
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bits
    }

    pub fn pieces(&self) -> u32 {
        self.pieces
    }

    /// Out-of-range indexes read as absent.
    pub fn has(&self, piece: u32) -> bool {
        piece < self.pieces && self.bits[(piece / 8) as usize] & mask(piece) != 0
    }

    /// Sets a piece; false if it is out of range (a `have` the caller should refuse).
    pub fn set(&mut self, piece: u32) -> bool {
        if piece >= self.pieces {
            return false;
        }
        self.bits[(piece / 8) as usize] |= mask(piece);
        true
    }

    pub fn count(&self) -> u32 {
        self.bits.iter().map(|b| b.count_ones()).sum()
    }
}

fn mask(piece: u32) -> u8 {
    0x80 >> (piece % 8)
}
