//! Storage, sans-IO: which bytes of which files make each piece ([`PieceMap`]), and
//! whether a piece's bytes are the ones the torrent names ([`verify_piece`]).
//!
//! The piece index space is the one on the wire (`have`, `bitfield`, `request`):
//! - v1 and hybrid: the files (and a hybrid's BEP 47 pad files) end to end, every
//!   piece `piece length` long but the last;
//! - v2 only (BEP 52): every file starts on a piece boundary, so the pieces of each
//!   file follow those of the file before, and the last piece of *every* file may be
//!   short; an empty file has no piece. This is libtorrent's numbering
//!   (`file_storage::piece_size2`, `piece_index_at_file`: file offset / piece length).
//!
//! Pad files are virtual zeros: a [`Span::Pad`] is never read from or written to
//! disk, and [`verify_piece`] refuses a piece whose pad bytes are not zero.
//!
//! The disk side (`ferry::torrent::storage`) asks the map where a piece's bytes go,
//! and checks each completed piece here before it writes it.

mod map;
mod verify;

pub use map::{PieceMap, Span};
pub use verify::verify_piece;

#[cfg(test)]
mod tests;
