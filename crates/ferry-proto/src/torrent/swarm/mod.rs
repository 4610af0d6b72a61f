//! The download machine, sans-IO: which block to ask which peer for.
//!
//! Input: the torrent's shape ([`Shape`]: a [`Layout`], or every piece's size), what each peer says it has and whether it
//! chokes us, the blocks that arrive, and the caller's verdict on each completed piece.
//! Output: requests to send (pipelined up to [`Picker::pipeline`] per peer), cancels
//! in endgame, and peers to drop. Pieces are picked rarest first, a piece under way is
//! finished before another starts; once every missing block is asked for (endgame) the
//! rest are asked of every peer that has them and the losers cancelled. A piece that
//! fails verification with one sender bans that peer. With several senders we cannot
//! tell which lied, so nobody is banned: the piece goes on parole (as libtorrent
//! does) and is fetched again from one peer alone, whose next bad copy bans it.

use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;

use super::wire::{Bitfield, BlockRef, MAX_BLOCK};

#[cfg(test)]
mod tests;

/// A torrent whose pieces are all `piece_len` long but the last (v1 and hybrid).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub pieces: u32,
    pub piece_len: u32,
    pub total: u64,
}

impl Layout {
    pub fn piece_size(&self, piece: u32) -> u32 {
        let start = u64::from(piece) * u64::from(self.piece_len);
        (self.total.saturating_sub(start)).min(self.piece_len.into()) as u32
    }

    #[cfg(test)]
    fn blocks(&self, piece: u32) -> u32 {
        self.piece_size(piece).div_ceil(MAX_BLOCK)
    }

    #[cfg(test)]
    fn block(&self, piece: u32, i: u32) -> BlockRef {
        block_of(piece, self.piece_size(piece), i)
    }
}

/// The torrent's shape as the picker sees it: every piece's size. A v2-only torrent
/// (BEP 52) has a short last piece in every file, so it gives its sizes one by one
/// (`storage::PieceMap::shape` makes either).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    Linear(Layout),
    Sizes(Vec<u32>),
}

impl From<Layout> for Shape {
    fn from(layout: Layout) -> Shape {
        Shape::Linear(layout)
    }
}

impl Shape {
    pub fn linear(pieces: u32, piece_len: u32, total: u64) -> Shape {
        Shape::Linear(Layout {
            pieces,
            piece_len,
            total,
        })
    }

    pub fn pieces(&self) -> u32 {
        match self {
            Shape::Linear(l) => l.pieces,
            Shape::Sizes(s) => s.len() as u32,
        }
    }

    /// Bytes in `piece` (0 past the end).
    pub fn piece_size(&self, piece: u32) -> u32 {
        match self {
            Shape::Linear(l) => l.piece_size(piece),
            Shape::Sizes(s) => s.get(piece as usize).copied().unwrap_or(0),
        }
    }

    fn blocks(&self, piece: u32) -> u32 {
        self.piece_size(piece).div_ceil(MAX_BLOCK)
    }

    fn block(&self, piece: u32, i: u32) -> BlockRef {
        block_of(piece, self.piece_size(piece), i)
    }
}

/// Block `i` of a piece of `size` bytes: [`MAX_BLOCK`] long but the last.
fn block_of(piece: u32, size: u32, i: u32) -> BlockRef {
    let begin = i * MAX_BLOCK;
    BlockRef {
        index: piece,
        begin,
        length: (size - begin).min(MAX_BLOCK),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Block<P> {
    Missing,
    Requested(Vec<P>),
    Received(P),
}

#[derive(Debug)]
struct Peer {
    choking: bool,
    has: Bitfield,
    inflight: Vec<BlockRef>,
    /// This peer's own pipeline, if the caller set one (by its rate and `reqq`).
    pipeline: Option<usize>,
}

/// What an arrived block changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arrival<P> {
    /// Not asked of this peer (or already in): drop it.
    Unrequested,
    /// Stored; in endgame, these other peers were asked for it too: cancel there.
    Stored {
        cancel: Vec<(P, BlockRef)>,
        piece_complete: bool,
    },
}

/// The picker; `P` names a peer.
#[derive(Debug)]
pub struct Picker<P> {
    layout: Shape,
    ours: Bitfield,
    availability: Vec<u32>,
    blocks: Vec<Vec<Block<P>>>,
    peers: HashMap<P, Peer>,
    banned: Vec<P>,
    /// Pieces that failed with blocks from several peers: one peer fetches each.
    parole: Vec<bool>,
    /// Every piece with a block requested or received that is not ours yet (and
    /// perhaps some whose requests were dropped since): where `pick` looks first.
    active: BTreeSet<u32>,
    /// Requests in flight per peer.
    pub pipeline: usize,
}

impl<P: Clone + Eq + Hash> Picker<P> {
    /// A picker for a torrent of this shape (a [`Layout`] or a [`Shape`]).
    pub fn new(layout: impl Into<Shape>) -> Self {
        let layout = layout.into();
        let pieces = layout.pieces();
        let blocks = (0..pieces)
            .map(|p| vec![Block::Missing; layout.blocks(p) as usize])
            .collect();
        Picker {
            layout,
            ours: Bitfield::empty(pieces),
            availability: vec![0; pieces as usize],
            blocks,
            peers: HashMap::new(),
            banned: Vec::new(),
            parole: vec![false; pieces as usize],
            active: BTreeSet::new(),
            pipeline: 16,
        }
    }

    /// A peer connected (it chokes us until it says otherwise). Banned peers are refused.
    pub fn add_peer(&mut self, peer: P) -> bool {
        if self.banned.contains(&peer) {
            return false;
        }
        let state = Peer {
            choking: true,
            has: Bitfield::empty(self.layout.pieces()),
            inflight: Vec::new(),
            pipeline: None,
        };
        self.peers.insert(peer, state);
        true
    }

    /// A peer left: its requests are released and its pieces no longer count.
    pub fn remove_peer(&mut self, peer: &P) {
        self.choke(peer);
        if let Some(state) = self.peers.remove(peer) {
            for piece in (0..self.layout.pieces()).filter(|p| state.has.has(*p)) {
                self.availability[piece as usize] -= 1;
            }
        }
    }

    /// `have`: false if the index is out of range (the peer broke the protocol).
    pub fn have(&mut self, peer: &P, piece: u32) -> bool {
        let Some(state) = self.peers.get_mut(peer) else {
            return false;
        };
        if piece >= self.layout.pieces() {
            return false;
        }
        if !state.has.has(piece) {
            state.has.set(piece);
            self.availability[piece as usize] += 1;
        }
        true
    }

    /// `bitfield`, `have all` (a full field) or `have none` (an empty one).
    pub fn bitfield(&mut self, peer: &P, field: &Bitfield) {
        for piece in (0..field.pieces()).filter(|p| field.has(*p)) {
            self.have(peer, piece);
        }
    }

    /// The peer choked us: what we asked is lost (BEP 3), so it is wanted again.
    pub fn choke(&mut self, peer: &P) {
        let Some(state) = self.peers.get_mut(peer) else {
            return;
        };
        state.choking = true;
        for b in std::mem::take(&mut state.inflight) {
            if let Block::Requested(askers) =
                &mut self.blocks[b.index as usize][(b.begin / MAX_BLOCK) as usize]
            {
                askers.retain(|p| p != peer);
                if askers.is_empty() {
                    self.blocks[b.index as usize][(b.begin / MAX_BLOCK) as usize] = Block::Missing;
                }
            }
        }
    }

    pub fn unchoke(&mut self, peer: &P) {
        if let Some(state) = self.peers.get_mut(peer) {
            state.choking = false;
        }
    }

    /// Requests in flight to this peer from now on (instead of [`Picker::pipeline`]):
    /// a fast peer that answers in batches needs more than a slow one.
    pub fn set_pipeline(&mut self, peer: &P, blocks: usize) {
        if let Some(state) = self.peers.get_mut(peer) {
            state.pipeline = Some(blocks.max(1));
        }
    }

    /// Whether the peer has a piece we lack (send `interested`).
    pub fn interesting(&self, peer: &P) -> bool {
        self.peers
            .get(peer)
            .is_some_and(|s| (0..self.layout.pieces()).any(|p| s.has.has(p) && !self.ours.has(p)))
    }

    /// Requests to send `peer` now, filling its pipeline.
    pub fn requests(&mut self, peer: &P) -> Vec<BlockRef> {
        let mut out = Vec::new();
        while self
            .peers
            .get(peer)
            .is_some_and(|s| !s.choking && s.inflight.len() < s.pipeline.unwrap_or(self.pipeline))
        {
            let Some(b) = self.pick(peer) else { break };
            let slot = &mut self.blocks[b.index as usize][(b.begin / MAX_BLOCK) as usize];
            match slot {
                Block::Requested(askers) => askers.push(peer.clone()),
                _ => *slot = Block::Requested(vec![peer.clone()]),
            }
            self.active.insert(b.index);
            if let Some(s) = self.peers.get_mut(peer) {
                s.inflight.push(b);
            }
            out.push(b);
        }
        out
    }

    fn pick(&self, peer: &P) -> Option<BlockRef> {
        let state = self.peers.get(peer)?;
        let wanted =
            |p: &u32| state.has.has(*p) && !self.ours.has(*p) && self.parole_allows(*p, peer);
        let started = |p: &u32| {
            self.blocks[*p as usize]
                .iter()
                .any(|b| *b != Block::Missing)
        };
        // The common case, without a pass over every piece: a missing block of a
        // piece under way (the rarest such piece), as the full order below would pick.
        let under_way = self
            .active
            .iter()
            .filter(|p| wanted(p) && started(p))
            .filter_map(|&p| self.first(p, |b| *b == Block::Missing).map(|b| (p, b)))
            .min_by_key(|(p, _)| (self.availability[*p as usize], *p));
        if let Some((_, block)) = under_way {
            return Some(block);
        }
        let mut candidates: Vec<u32> = (0..self.layout.pieces()).filter(wanted).collect();
        // Pieces under way first, then rarest first; ties by index, for determinism.
        candidates.sort_by_key(|p| (!started(p), self.availability[*p as usize], *p));
        let missing = candidates
            .iter()
            .find_map(|&p| self.first(p, |b| *b == Block::Missing));
        missing.or_else(|| {
            // Endgame: everything is asked for; ask again what this peer was not asked.
            let endgame = |b: &Block<P>| matches!(b, Block::Requested(a) if !a.contains(peer));
            let all_asked = (0..self.layout.pieces())
                .filter(|p| !self.ours.has(*p))
                .all(|p| self.blocks[p as usize].iter().all(|b| *b != Block::Missing));
            candidates
                .iter()
                .filter(|_| all_asked)
                .find_map(|&p| self.first(p, endgame))
        })
    }

    /// A piece on parole is fetched by one peer: whoever has a block of it already.
    fn parole_allows(&self, piece: u32, peer: &P) -> bool {
        !self.parole[piece as usize]
            || self.blocks[piece as usize].iter().all(|b| match b {
                Block::Missing => true,
                Block::Requested(askers) => askers.iter().all(|a| a == peer),
                Block::Received(from) => from == peer,
            })
    }

    fn first(&self, piece: u32, pred: impl Fn(&Block<P>) -> bool) -> Option<BlockRef> {
        let i = self.blocks[piece as usize].iter().position(pred)?;
        Some(self.layout.block(piece, i as u32))
    }

    /// A `piece` message's block arrived from `peer`.
    pub fn block(&mut self, peer: &P, b: BlockRef) -> Arrival<P> {
        let Some(state) = self.peers.get_mut(peer) else {
            return Arrival::Unrequested;
        };
        let Some(at) = state.inflight.iter().position(|r| *r == b) else {
            return Arrival::Unrequested;
        };
        state.inflight.swap_remove(at);
        let slot = &mut self.blocks[b.index as usize][(b.begin / MAX_BLOCK) as usize];
        let Block::Requested(askers) = std::mem::replace(slot, Block::Received(peer.clone()))
        else {
            return Arrival::Unrequested;
        };
        let others: Vec<P> = askers.into_iter().filter(|p| p != peer).collect();
        for other in &others {
            if let Some(s) = self.peers.get_mut(other) {
                s.inflight.retain(|r| *r != b);
            }
        }
        let piece_complete = self.blocks[b.index as usize]
            .iter()
            .all(|x| matches!(x, Block::Received(_)));
        Arrival::Stored {
            cancel: others.into_iter().map(|p| (p, b)).collect(),
            piece_complete,
        }
    }

    /// The caller's verdict on a complete piece. `false`: the piece is wanted again;
    /// if one peer sent all of it, that peer is banned and removed (returned, to
    /// disconnect); if several did, none is, and the piece goes on parole.
    pub fn verified(&mut self, piece: u32, ok: bool) -> Vec<P> {
        self.active.remove(&piece);
        if ok {
            self.ours.set(piece);
            self.parole[piece as usize] = false;
            return Vec::new();
        }
        let mut senders = Vec::new();
        for slot in &mut self.blocks[piece as usize] {
            if let Block::Received(p) = std::mem::replace(slot, Block::Missing) {
                if !senders.contains(&p) {
                    senders.push(p);
                }
            }
        }
        if senders.len() > 1 {
            self.parole[piece as usize] = true;
            return Vec::new();
        }
        for p in &senders {
            self.remove_peer(p);
            self.banned.push(p.clone());
        }
        senders
    }

    pub fn ours(&self) -> &Bitfield {
        &self.ours
    }

    pub fn is_complete(&self) -> bool {
        self.ours.count() == self.layout.pieces()
    }
}
