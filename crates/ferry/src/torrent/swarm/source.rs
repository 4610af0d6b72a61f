//! The storage as the connections see it: a [`BlockSource`] over the shared lock.

use std::io;
use std::sync::{RwLockReadGuard, RwLockWriteGuard};

use ferry_proto::torrent::wire::{Bitfield, BlockRef};

use super::Shared;
use crate::torrent::peer::BlockSource;
use crate::torrent::storage::Storage;

/// Serves verified blocks from the storage the loop writes to.
pub(super) struct Source {
    pub(super) shared: Shared,
    pub(super) pieces: u32,
}

impl BlockSource for Source {
    fn have(&self) -> Bitfield {
        match &*read(&self.shared) {
            Some(storage) => storage.have().clone(),
            None => Bitfield::empty(self.pieces),
        }
    }

    fn read_block(&self, block: BlockRef) -> io::Result<Vec<u8>> {
        match &*read(&self.shared) {
            Some(storage) => storage.read_block(block),
            None => Err(io::Error::other("the download is finished")),
        }
    }
}

/// The storage for reading. A panic while it was held leaves it usable: every
/// write is a whole piece, recorded only after it is on disk.
pub(super) fn read(shared: &Shared) -> RwLockReadGuard<'_, Option<Storage>> {
    shared
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(super) fn write(shared: &Shared) -> RwLockWriteGuard<'_, Option<Storage>> {
    shared
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// File bytes (pad files left out) of each piece: what progress counts.
pub(super) fn content_sizes(storage: &Storage) -> Vec<u32> {
    let map = storage.map();
    (0..map.pieces())
        .map(|p| map.file_bytes(p) as u32)
        .collect()
}

/// File bytes of the verified pieces.
pub(super) fn have_bytes(storage: &Storage, content: &[u32]) -> u64 {
    let have = storage.have();
    let verified = content
        .iter()
        .enumerate()
        .filter(|(p, _)| have.has(*p as u32));
    verified.map(|(_, n)| u64::from(*n)).sum()
}
