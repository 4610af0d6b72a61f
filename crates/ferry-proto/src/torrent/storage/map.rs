//! [`PieceMap`]: pieces to file spans and back.

use std::ops::Range;

use crate::torrent::metainfo::{FileEntry, Info, Version};
use crate::torrent::swarm::Shape;

/// One run of a piece's bytes: part of a file, or pad zeros.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// `len` bytes of `info.files[file]` from `offset`, at `at` in the piece.
    File {
        file: usize,
        offset: u64,
        len: u64,
        at: u64,
    },
    /// `len` pad zeros at `at` in the piece (not on disk).
    Pad { len: u64, at: u64 },
}

impl Span {
    /// Where the span starts in its piece, and how long it is.
    pub fn range_in_piece(&self) -> Range<usize> {
        let (at, len) = match *self {
            Span::File { at, len, .. } | Span::Pad { at, len } => (at, len),
        };
        at as usize..(at + len) as usize
    }
}

/// The torrent's pieces: how many, how long, and which file bytes each covers.
/// Cheap to build (no per-piece table): a lookup is a binary search in the files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PieceMap {
    piece_length: u64,
    pieces: u32,
    total: u64,
    /// v2 only: every file's last piece may be short.
    per_file: bool,
    /// `(offset, length, pad)` of the non-empty files, in order.
    files: Vec<(u64, u64, bool)>,
    /// Index in `info.files` of each entry of `files`.
    index: Vec<usize>,
}

impl PieceMap {
    /// The map of a parsed info dictionary (whose offsets the parser checked).
    pub fn new(info: &Info) -> PieceMap {
        let nonempty = info.files.iter().enumerate().filter(|(_, f)| f.length > 0);
        let (index, files): (Vec<usize>, Vec<(u64, u64, bool)>) = nonempty
            .map(|(i, f): (usize, &FileEntry)| (i, (f.offset, f.length, f.pad)))
            .unzip();
        PieceMap {
            piece_length: info.piece_length,
            // The parser refuses more than MAX_PIECES (2^21) pieces.
            pieces: info.piece_count() as u32,
            total: info.total_length(),
            per_file: info.version == Version::V2,
            files,
            index,
        }
    }

    pub fn pieces(&self) -> u32 {
        self.pieces
    }

    pub fn piece_length(&self) -> u64 {
        self.piece_length
    }

    /// Bytes in piece `piece` (0 past the end).
    pub fn piece_size(&self, piece: u32) -> u64 {
        let start = u64::from(piece) * self.piece_length;
        if piece >= self.pieces {
            return 0;
        }
        let end = match self.per_file {
            true => self.file_at(start).map_or(start, |i| self.end_of(i)),
            false => self.total,
        };
        (end - start).min(self.piece_length)
    }

    /// File bytes in piece `piece`: its size less the pad files' zeros.
    pub fn file_bytes(&self, piece: u32) -> u64 {
        let spans = self.spans(piece);
        let pads = spans.iter().filter(|s| matches!(s, Span::Pad { .. }));
        let pad: u64 = pads.map(|s| s.range_in_piece().len() as u64).sum();
        self.piece_size(piece) - pad
    }

    /// Every piece's size, for the picker.
    pub fn shape(&self) -> Shape {
        match self.per_file {
            true => Shape::Sizes(
                (0..self.pieces)
                    .map(|p| self.piece_size(p) as u32)
                    .collect(),
            ),
            false => Shape::linear(self.pieces, self.piece_length as u32, self.total),
        }
    }

    /// The spans of all of piece `piece`, in order.
    pub fn spans(&self, piece: u32) -> Vec<Span> {
        self.spans_in(piece, 0..self.piece_size(piece))
    }

    /// The spans of bytes `range` of piece `piece` (clipped to the piece); `at` is
    /// counted from the start of `range`.
    pub fn spans_in(&self, piece: u32, range: Range<u64>) -> Vec<Span> {
        let base = u64::from(piece) * self.piece_length;
        let end = base + range.end.min(self.piece_size(piece));
        let start = base + range.start;
        let first = self.files.partition_point(|&(o, l, _)| o + l <= start);
        let mut out = Vec::new();
        for (i, &(offset, length, pad)) in self.files.iter().enumerate().skip(first) {
            if offset >= end {
                break;
            }
            let from = offset.max(start);
            let len = (offset + length).min(end) - from;
            let at = from - start;
            out.push(match pad {
                true => Span::Pad { len, at },
                false => Span::File {
                    file: self.index[i],
                    offset: from - offset,
                    len,
                    at,
                },
            });
        }
        out
    }

    /// The pieces that hold bytes of `info.files[file]` (empty for an empty file or
    /// a pad file).
    pub fn file_pieces(&self, file: usize) -> Range<u32> {
        // `index` is in file order: a binary search, not a walk over a million files.
        let Ok(i) = self.index.binary_search(&file) else {
            return 0..0;
        };
        let (offset, length, pad) = self.files[i];
        if pad {
            return 0..0;
        }
        let first = offset / self.piece_length;
        let end = (offset + length).div_ceil(self.piece_length);
        first as u32..end as u32
    }

    /// Position in `files` of the file holding byte `at`.
    fn file_at(&self, at: u64) -> Option<usize> {
        let i = self.files.partition_point(|&(o, l, _)| o + l <= at);
        (i < self.files.len() && self.files[i].0 <= at).then_some(i)
    }

    fn end_of(&self, i: usize) -> u64 {
        self.files[i].0 + self.files[i].1
    }
}
