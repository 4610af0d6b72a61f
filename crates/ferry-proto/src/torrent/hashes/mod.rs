//! BEP 52 hash requests: a v2 file's piece layer asked of peers, and answered.
//!
//! A magnet link carries no piece layers, so a v2 torrent fetched by `ut_metadata`
//! cannot verify its pieces until peers send them: [`LayerFetch`] plans the requests,
//! checks each answer against the file's `pieces root` and yields the layers.
//! [`LayerServer`] answers peers that ask us, from the layers we hold.
//!
//! The message's numbers, as libtorrent 2.x speaks them (its source is the reference;
//! BEP 52 says less): layers count up from the 16 KiB blocks (layer 0); `index` and
//! `length` are in nodes of the `base layer`; the answer is the `length` nodes, then
//! one "uncle" per tree level from the requested subtree's root upwards,
//! `proof layers - log2(length) + 1` of them. `length` is a power of two, at least 2,
//! at most [`MAX_LENGTH`], and `index` a multiple of it; `proof layers` stays below
//! the number of levels above the base layer, so the uncles end one level below the
//! root (which the receiver knows).

mod fetch;
mod serve;

#[cfg(test)]
mod tests;

pub use fetch::{LayerError, LayerFetch};
pub use serve::LayerServer;

use super::merkle::BLOCK_SIZE;
use super::metainfo::Info;

/// Nodes per request we ask for: libtorrent asks for piece hashes 512 at a time.
pub const CHUNK: u32 = 512;
/// The most nodes one request may name (libtorrent refuses more).
pub const MAX_LENGTH: u32 = 8192;

/// The layer whose nodes each cover one piece: log2(blocks per piece).
pub fn piece_layer(info: &Info) -> u32 {
    (info.piece_length / BLOCK_SIZE).trailing_zeros()
}

/// A file's piece layer as a tree row: `pieces` real nodes padded to a power of two.
fn layer_width(pieces: u64) -> u64 {
    pieces.next_power_of_two()
}

/// Uncles in an answer to a request of `length` nodes with `proof_layers`.
pub fn uncle_count(length: u32, proof_layers: u32) -> u32 {
    (proof_layers + 1).saturating_sub(length.trailing_zeros())
}
