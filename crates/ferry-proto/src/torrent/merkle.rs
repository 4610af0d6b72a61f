//! BEP 52 merkle trees: SHA-256 over 16 KiB blocks, binary, leaves padded with zero
//! hashes to a power of two.
//!
//! A file's `pieces root` is the root of its tree; its piece layer is the row of
//! subtree roots that each cover one piece (a file of one piece or less has none).
//! Hashing is split the same way: [`piece_root`] turns one piece's block hashes into
//! its node of the piece layer, so the hashing driver can work piece by piece on
//! several cores, and [`root_from_layer`] finishes the tree from that row.

use ring::digest::{Context, SHA256};

/// A SHA-256 node of a tree.
pub type Hash = [u8; 32];

/// Leaves cover this many bytes of a file (the last leaf may cover fewer).
pub const BLOCK_SIZE: u64 = 16 * 1024;

/// The hash of a leaf: SHA-256 of up to [`BLOCK_SIZE`] bytes of the file.
pub fn block_hash(data: &[u8]) -> Hash {
    sha256(&[data])
}

/// The parent of two nodes.
pub fn parent(left: &Hash, right: &Hash) -> Hash {
    sha256(&[left, right])
}

fn sha256(parts: &[&[u8]]) -> Hash {
    let mut ctx = Context::new(&SHA256);
    parts.iter().for_each(|p| ctx.update(p));
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// The root of the tree over `leaves`, padded with `pad` nodes to `width` leaves
/// (a power of two, at least `leaves.len()`).
pub fn root_padded(leaves: &[Hash], width: usize, pad: Hash) -> Hash {
    debug_assert!(width.is_power_of_two() && width >= leaves.len());
    let mut row: Vec<Hash> = leaves.to_vec();
    let mut pad = pad;
    let mut width = width;
    while width > 1 {
        if row.len() % 2 == 1 {
            row.push(pad);
        }
        row = row.chunks(2).map(|p| parent(&p[0], &p[1])).collect();
        pad = parent(&pad, &pad);
        width /= 2;
    }
    row.first().copied().unwrap_or(pad)
}

/// The root of a tree of `width` zero leaves: the node that stands for a missing
/// subtree of that width.
pub fn pad_hash(width: usize) -> Hash {
    let mut pad = [0u8; 32];
    let mut width = width;
    while width > 1 {
        pad = parent(&pad, &pad);
        width /= 2;
    }
    pad
}

/// A file's root when all its blocks fit in one piece: the tree is as wide as the
/// next power of two of its block count, not the piece.
pub fn small_file_root(leaves: &[Hash]) -> Hash {
    root_padded(leaves, leaves.len().max(1).next_power_of_two(), [0; 32])
}

/// One piece's node in the piece layer: its block hashes, padded with zero leaves to
/// `blocks_per_piece` (a power of two).
pub fn piece_root(leaves: &[Hash], blocks_per_piece: usize) -> Hash {
    root_padded(leaves, blocks_per_piece, [0; 32])
}

/// A file's root from its piece layer (more than one piece).
pub fn root_from_layer(layer: &[Hash], blocks_per_piece: usize) -> Hash {
    let width = layer.len().max(1).next_power_of_two();
    root_padded(layer, width, pad_hash(blocks_per_piece))
}

/// Blocks in `length` bytes.
pub fn block_count(length: u64) -> u64 {
    length.div_ceil(BLOCK_SIZE)
}

#[cfg(test)]
#[path = "merkle_tests.rs"]
mod tests;
