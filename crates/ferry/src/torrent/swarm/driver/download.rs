//! The download side: asking for blocks, assembling pieces, verifying and writing
//! them off the loop, and what a bad piece costs its senders.

use ferry_proto::torrent::storage::verify_piece;
use ferry_proto::torrent::swarm::Arrival;
use ferry_proto::torrent::wire::BlockRef;
use tokio::time::Instant;

use super::{Checked, Driver, Mode};
use crate::error::Result as FerryResult;
use crate::torrent::peer::{ConnId, PeerCommand};
use crate::torrent::swarm::{source, Report, Result, SwarmError};

/// Pieces being checked and written at once before we stop asking for more: the
/// disk or the hashing is the bottleneck then, and memory would grow.
const CHECK_BACKLOG: usize = 16;
/// Bytes of pieces assembled but not yet checked, at most (before asking for more).
const ASSEMBLY_LIMIT: usize = 256 << 20;

impl<R: FnMut(Report) + Send> Driver<R> {
    /// Fills the peer's pipeline, unless the checks are behind.
    pub(super) fn request(&mut self, id: ConnId) {
        if self.mode != Mode::Get
            || self.checks.len() >= CHECK_BACKLOG
            || self.assembly.held() >= ASSEMBLY_LIMIT
        {
            return;
        }
        let blocks = self.picker.requests(&id);
        if blocks.is_empty() {
            return;
        }
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        if c.outstanding == 0 {
            c.last_block = Instant::now();
        }
        let n = blocks.len();
        if c.send(PeerCommand::Request(blocks)) {
            c.outstanding += n;
        } else {
            // Its queue is full: take the requests back (they are wanted again).
            self.picker.choke(&id);
            self.picker.unchoke(&id);
            c.outstanding = 0;
        }
    }

    pub(super) fn request_all(&mut self) {
        let ids: Vec<ConnId> = self.conns.keys().copied().collect();
        for id in ids {
            self.request(id);
        }
    }

    pub(super) fn on_block(&mut self, id: ConnId, block: BlockRef, data: &[u8]) {
        self.downloaded += data.len() as u64;
        if let Some(c) = self.conns.get_mut(&id) {
            c.outstanding = c.outstanding.saturating_sub(1);
            c.last_block = Instant::now();
            c.received += data.len() as u64;
        }
        if let Arrival::Stored {
            cancel,
            piece_complete,
        } = self.picker.block(&id, block)
        {
            let size = u64::from(self.shape.piece_size(block.index));
            self.assembly.put(block, data, size);
            for (other, b) in cancel {
                if let Some(c) = self.conns.get_mut(&other) {
                    c.send(PeerCommand::Cancel(b));
                    c.outstanding = c.outstanding.saturating_sub(1);
                }
            }
            if piece_complete {
                self.check(block.index);
            }
        }
        self.request(id);
    }

    /// Verifies a complete piece and writes it if good, on the blocking pool.
    fn check(&mut self, piece: u32) {
        let Some(data) = self.assembly.take(piece) else {
            return;
        };
        let shared = self.shared.clone();
        self.checks.spawn_blocking(move || {
            let good = match &*source::read(&shared) {
                Some(s) => verify_piece(s.metainfo(), s.map(), piece, &data),
                None => false,
            };
            let written: FerryResult<bool> = match (good, source::write(&shared).as_mut()) {
                (true, Some(storage)) => storage.write_piece(piece, &data).map(|()| true),
                _ => Ok(false),
            };
            (piece, written)
        });
    }

    /// A check came back: count the piece and tell everyone, or ban its senders.
    pub(super) fn on_checked(
        &mut self,
        done: std::result::Result<Checked, tokio::task::JoinError>,
    ) -> Result<()> {
        let (piece, written) = done.map_err(|e| SwarmError::Task(e.to_string()))?;
        if written? {
            self.picker.verified(piece, true);
            self.have_bytes += u64::from(self.content[piece as usize]);
            for c in self.conns.values() {
                c.send(PeerCommand::Have(piece));
            }
            let ids: Vec<ConnId> = self.conns.keys().copied().collect();
            ids.into_iter().for_each(|id| self.update_interest(id));
        } else {
            for id in self.picker.verified(piece, false) {
                if let Some(c) = self.conns.get(&id) {
                    let peer = c.addr;
                    (self.report)(Report::Banned { peer, piece });
                    self.close(id, Some("sent a piece that does not verify"));
                }
            }
        }
        self.request_all();
        Ok(())
    }
}
