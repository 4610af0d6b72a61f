//! Pieces being assembled from their blocks, until the picker says one is complete.

use std::collections::HashMap;

use ferry_proto::torrent::wire::BlockRef;

/// One buffer per piece under way, allocated when its first block arrives.
#[derive(Debug, Default)]
pub(super) struct Assembly {
    pieces: HashMap<u32, Vec<u8>>,
}

impl Assembly {
    /// Copies a block the picker accepted into its piece of `size` bytes. The
    /// connection checked that the block lies inside the piece.
    pub(super) fn put(&mut self, block: BlockRef, data: &[u8], size: u64) {
        let buf = self
            .pieces
            .entry(block.index)
            .or_insert_with(|| vec![0; size as usize]);
        let start = block.begin as usize;
        if let Some(dst) = buf.get_mut(start..start + data.len()) {
            dst.copy_from_slice(data);
        }
    }

    /// The complete piece, to verify.
    pub(super) fn take(&mut self, piece: u32) -> Option<Vec<u8>> {
        self.pieces.remove(&piece)
    }

    /// Bytes held in buffers (for the memory bound).
    pub(super) fn held(&self) -> usize {
        self.pieces.values().map(Vec::len).sum()
    }
}
