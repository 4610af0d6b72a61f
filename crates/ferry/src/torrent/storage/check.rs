//! Verifying pieces already on disk on every core: the data to seed, and the
//! pieces a resume state claims.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use ferry_proto::torrent::metainfo::Metainfo;
use ferry_proto::torrent::storage::{verify_piece, PieceMap};

use super::files::Files;

/// The pieces of `pieces` whose bytes on disk verify, in order; a read error
/// stops the run.
pub(super) fn verified(
    files: &Files,
    meta: &Metainfo,
    map: &PieceMap,
    pieces: &[u32],
) -> io::Result<Vec<u32>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(pieces.len())
        .max(1);
    let next = AtomicUsize::new(0);
    let good = Mutex::new(Vec::new());
    let worker = || -> io::Result<()> {
        let mut buf = Vec::new();
        let mut mine = Vec::new();
        while let Some(&piece) = pieces.get(next.fetch_add(1, Ordering::Relaxed)) {
            files.read(map, piece, 0..map.piece_size(piece), &mut buf)?;
            if verify_piece(meta, map, piece, &buf) {
                mine.push(piece);
            }
        }
        good.lock().unwrap_or_else(|e| e.into_inner()).extend(mine);
        Ok(())
    };
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads).map(|_| s.spawn(worker)).collect();
        handles.into_iter().try_for_each(|h| {
            h.join()
                .unwrap_or_else(|_| Err(io::Error::other("a hashing thread panicked")))
        })
    })?;
    let mut good = good.into_inner().unwrap_or_else(|e| e.into_inner());
    good.sort_unstable();
    Ok(good)
}
