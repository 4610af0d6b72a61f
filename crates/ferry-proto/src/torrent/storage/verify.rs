//! [`verify_piece`]: a piece's bytes against the torrent's hashes.

use super::map::{PieceMap, Span};
use crate::torrent::digest::sha1;
use crate::torrent::merkle::{self, Hash};
use crate::torrent::metainfo::Metainfo;

/// Whether `data` is piece `piece` of the torrent: exactly the piece's size, pad
/// bytes zero, and every hash the torrent has for it matches — the v1 SHA-1 from
/// `pieces`, the v2 merkle node (SHA-256 over 16 KiB blocks) from the file's piece
/// layer, or the file's `pieces root` when the whole file is this one piece. A
/// hybrid needs both. A v2 piece of a file whose layer is not known yet (a magnet
/// before the hash requests) is not verified: false.
pub fn verify_piece(meta: &Metainfo, map: &PieceMap, piece: u32, data: &[u8]) -> bool {
    if piece >= map.pieces() || data.len() as u64 != map.piece_size(piece) {
        return false;
    }
    let spans = map.spans(piece);
    let pads_zero = spans
        .iter()
        .filter(|s| matches!(s, Span::Pad { .. }))
        .all(|s| data[s.range_in_piece()].iter().all(|&b| b == 0));
    let version = meta.info.version;
    pads_zero
        && (!version.has_v1() || v1_ok(meta, piece, data))
        && (!version.has_v2() || v2_ok(meta, map, piece, data, &spans))
}

fn v1_ok(meta: &Metainfo, piece: u32, data: &[u8]) -> bool {
    meta.info.pieces_v1.get(piece as usize) == Some(&sha1(data))
}

/// A v2 piece holds bytes of exactly one file (files start on piece boundaries).
fn v2_ok(meta: &Metainfo, map: &PieceMap, piece: u32, data: &[u8], spans: &[Span]) -> bool {
    let mut files = spans.iter().filter_map(|s| match *s {
        Span::File { file, .. } => Some((file, s.range_in_piece())),
        Span::Pad { .. } => None,
    });
    let (Some((file, range)), None) = (files.next(), files.next()) else {
        return false;
    };
    let entry = &meta.info.files[file];
    let Some(root) = entry.pieces_root else {
        return false;
    };
    let leaves: Vec<Hash> = data[range]
        .chunks(merkle::BLOCK_SIZE as usize)
        .map(merkle::block_hash)
        .collect();
    if entry.length <= map.piece_length() {
        return merkle::small_file_root(&leaves) == root;
    }
    let per_piece = (map.piece_length() / merkle::BLOCK_SIZE) as usize;
    let nth = (piece - map.file_pieces(file).start) as usize;
    let want = meta.piece_layers.get(&root).and_then(|l| l.get(nth));
    want == Some(&merkle::piece_root(&leaves, per_piece))
}
