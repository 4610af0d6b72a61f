//! One connection's bookkeeping, without sockets: who chokes whom, who is interested,
//! our requests in flight and the peer's queued requests. The task (conn.rs) feeds it and sends what it says.

use std::collections::VecDeque;

use ferry_proto::torrent::swarm::Layout;
use ferry_proto::torrent::wire::{Bitfield, BlockRef, MAX_BLOCK};

/// The `reqq` we announce: how many requests the peer may have outstanding with us.
/// libtorrent announces 500 by default and keeps fewer in flight on a fast link.
pub const REQQ: u32 = 250;
/// The peer's requests queued at once; one more closes the connection (twice [`REQQ`]:
/// a peer that ignores our `reqq` by a little is tolerated).
pub const MAX_PEER_REQUESTS: usize = 2 * REQQ as usize;
/// Our requests in flight on one connection at most (also bounded by the peer's `reqq`).
pub const MAX_OUR_REQUESTS: usize = 500;
/// The `reqq` assumed for a peer that announces none (libtorrent's assumption too).
const DEFAULT_PEER_REQQ: usize = 250;

/// The choke and interest flags of both sides, and the requests each way.
#[derive(Debug)]
pub(super) struct Session {
    layout: Layout,
    ours: Bitfield,
    pub(super) am_choking: bool,
    pub(super) am_interested: bool,
    pub(super) peer_choking: bool,
    peer_reqq: usize,
    inflight: Vec<BlockRef>,
    queue: VecDeque<BlockRef>,
}

impl Session {
    /// A new connection: both sides choke, neither is interested.
    pub(super) fn new(layout: Layout, ours: Bitfield) -> Self {
        Session {
            layout,
            ours,
            am_choking: true,
            am_interested: false,
            peer_choking: true,
            peer_reqq: DEFAULT_PEER_REQQ,
            inflight: Vec::new(),
            queue: VecDeque::new(),
        }
    }

    pub(super) fn ours(&self) -> &Bitfield {
        &self.ours
    }

    pub(super) fn pieces(&self) -> u32 {
        self.layout.pieces
    }

    pub(super) fn set_peer_reqq(&mut self, reqq: u32) {
        self.peer_reqq = (reqq as usize).clamp(1, MAX_OUR_REQUESTS);
    }

    /// The peer asks for a block: `Ok(true)` queued, `Ok(false)` ignored (we choke it;
    /// BEP 3 without the fast extension drops such requests), `Err` closes the peer.
    pub(super) fn peer_request(&mut self, b: BlockRef) -> Result<bool, &'static str> {
        self.check_request(&b)?;
        if self.am_choking {
            return Ok(false);
        }
        if self.queue.len() >= MAX_PEER_REQUESTS {
            return Err("more requests outstanding than our reqq allows");
        }
        if !self.queue.contains(&b) {
            self.queue.push_back(b);
        }
        Ok(true)
    }

    fn check_request(&self, b: &BlockRef) -> Result<(), &'static str> {
        if b.index >= self.layout.pieces {
            return Err("request for a piece past the end");
        }
        if b.length == 0 || b.length > MAX_BLOCK {
            return Err("request of a block over 16 KiB or empty");
        }
        let end = u64::from(b.begin) + u64::from(b.length);
        if end > u64::from(self.layout.piece_size(b.index)) {
            return Err("request past the end of its piece");
        }
        if !self.ours.has(b.index) {
            return Err("request for a piece we do not have");
        }
        Ok(())
    }

    pub(super) fn peer_cancel(&mut self, b: &BlockRef) {
        self.queue.retain(|q| q != b);
    }

    /// The next request to answer, if we do not choke the peer.
    pub(super) fn next_to_serve(&mut self) -> Option<BlockRef> {
        match self.am_choking {
            true => None,
            false => self.queue.pop_front(),
        }
    }

    /// The driver chokes or unchokes the peer; true if that changed anything (send it).
    pub(super) fn choke_peer(&mut self, choke: bool) -> bool {
        if choke {
            self.queue.clear();
        }
        std::mem::replace(&mut self.am_choking, choke) != choke
    }

    /// The driver's interest; true if it changed (send it).
    pub(super) fn set_interested(&mut self, interested: bool) -> bool {
        std::mem::replace(&mut self.am_interested, interested) != interested
    }

    /// The peer chokes or unchokes us. Without the fast extension a choke drops every
    /// request we have in flight.
    pub(super) fn peer_choked(&mut self, choking: bool) {
        self.peer_choking = choking;
        if choking {
            self.inflight.clear();
        }
    }

    /// Of the driver's requests, those to send now: not while choked, none twice, no
    /// more in flight than the peer's `reqq` and [`MAX_OUR_REQUESTS`].
    pub(super) fn our_requests(&mut self, blocks: Vec<BlockRef>) -> Vec<BlockRef> {
        if self.peer_choking {
            return Vec::new();
        }
        let mut send = Vec::new();
        for b in blocks {
            let full = self.inflight.len() >= self.peer_reqq;
            if !full && !self.inflight.contains(&b) {
                self.inflight.push(b);
                send.push(b);
            }
        }
        send
    }

    /// The driver cancels a request; true if it was in flight (send the cancel).
    pub(super) fn our_cancel(&mut self, b: &BlockRef) -> bool {
        let before = self.inflight.len();
        self.inflight.retain(|q| q != b);
        self.inflight.len() != before
    }

    /// A piece message arrived: the block, if we asked for exactly it.
    pub(super) fn block_arrived(&mut self, index: u32, begin: u32, len: usize) -> Option<BlockRef> {
        let at = self
            .inflight
            .iter()
            .position(|b| b.index == index && b.begin == begin && b.length as usize == len)?;
        Some(self.inflight.swap_remove(at))
    }

    /// We verified `piece`: true if it is new and in range (tell the peer).
    pub(super) fn have(&mut self, piece: u32) -> bool {
        !self.ours.has(piece) && self.ours.set(piece)
    }

    #[cfg(test)]
    pub(super) fn inflight(&self) -> usize {
        self.inflight.len()
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
