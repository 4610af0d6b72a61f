//! The connections: who they are, what they say, who is choked, who stalls.

use std::net::SocketAddr;

use ferry_proto::torrent::wire::pex::{PexLedger, UT_PEX};
use ferry_proto::torrent::wire::PeerId;
use tokio::time::Instant;

use super::{Driver, Mode, PIPELINE};
use crate::torrent::peer::MAX_OUR_REQUESTS;
use crate::torrent::peer::{CloseReason, ConnId, PeerCommand, PeerEvent, PeerHandle};
use crate::torrent::swarm::{Report, UPLOAD_SLOTS};
use ferry_proto::torrent::wire::MAX_BLOCK;

/// The `reqq` of a peer that announces none (libtorrent assumes the same).
const ASSUMED_REQQ: usize = 250;
/// Seconds of a peer's rate we keep requested: a peer that answers in batches
/// (Transmission serves every 500 ms) must have enough queued to fill each batch.
const QUEUE_SECONDS: f64 = 3.0;

/// Events held for a connection whose handle has not arrived, at most.
const EARLY_EVENTS: usize = 128;
/// Ticks after which held events of a connection that never came are dropped.
const EARLY_TICKS: u64 = 10;

/// What the loop keeps of one live connection.
pub(super) struct Conn {
    pub(super) handle: PeerHandle,
    /// The address we dialled (for the book), or the peer's when it dialled us.
    pub(super) addr: SocketAddr,
    /// We told the peer we are interested.
    pub(super) interested: bool,
    /// The peer told us it is interested.
    pub(super) wants: bool,
    /// We unchoked the peer.
    pub(super) serving: bool,
    /// When a block last came (or when requests began).
    pub(super) last_block: Instant,
    /// Requests the peer accepts at once (its `reqq`).
    pub(super) reqq: usize,
    /// Payload received since the last tick, and the smoothed rate (bytes/s).
    pub(super) received: u64,
    pub(super) rate: f64,
    /// Where the peer accepts connections: the address we dialled, or its IP with
    /// the port its extension handshake names. What peer exchange tells others.
    pub(super) listen: Option<SocketAddr>,
    /// Peer exchange: when the peer may hear from us next (once it announced
    /// `ut_pex`), and what it was told.
    pub(super) pex_due: Option<Instant>,
    pub(super) pex: PexLedger,
}

impl Conn {
    pub(super) fn peer_id(&self) -> PeerId {
        self.handle.peer_id
    }

    /// Queues a command; false when the connection's queue is full or it is gone.
    pub(super) fn send(&self, command: PeerCommand) -> bool {
        self.handle.commands.try_send(command).is_ok()
    }
}

impl<R: FnMut(Report) + Send> Driver<R> {
    /// A connection is up (`dialled`: the address we dialled for it).
    pub(super) fn on_connected(&mut self, handle: PeerHandle, dialled: Option<SocketAddr>) {
        let addr = dialled.unwrap_or(handle.addr);
        if handle.peer_id == self.config.peer_id {
            // Ourselves, through an address a tracker gave back.
            self.book.ban(addr, PeerId([0; 20]));
            return;
        }
        let early = self.early.remove(&handle.id).map(|(_, events)| events);
        let full = self.conns.len() >= crate::torrent::swarm::MAX_CONNECTIONS;
        if full || self.book.is_banned(addr, &handle.peer_id) {
            if let Some(a) = dialled {
                self.book.failed(a, std::time::Instant::now());
            }
            return; // dropping the handle closes the connection
        }
        tracing::debug!(conn = handle.id.0, %addr, "connected");
        self.book.connected(addr);
        self.picker.add_peer(handle.id);
        let conn = Conn {
            handle,
            addr,
            interested: false,
            wants: false,
            serving: false,
            last_block: Instant::now(),
            reqq: ASSUMED_REQQ,
            received: 0,
            rate: 0.0,
            listen: dialled,
            pex_due: None,
            pex: PexLedger::default(),
        };
        let id = conn.handle.id;
        self.conns.insert(id, conn);
        for event in early.into_iter().flatten() {
            self.on_event(id, event);
        }
    }

    pub(super) fn on_event(&mut self, id: ConnId, event: PeerEvent) {
        if !self.conns.contains_key(&id) {
            // A dialled connection's first events can come before its handle (the
            // task starts at once); they wait for it. Or a closed one's last words,
            // which `forget_early` drops.
            let tick = self.ticks;
            let early = self.early.entry(id).or_insert_with(|| (tick, Vec::new()));
            if early.1.len() < EARLY_EVENTS {
                early.1.push(event);
            }
            return;
        }
        match event {
            PeerEvent::Bitfield(field) => {
                // Late bitfields (aria2 sends one mid-transfer) only add pieces here.
                self.picker.bitfield(&id, &field);
                self.update_interest(id);
            }
            PeerEvent::Have(piece) => match self.picker.have(&id, piece) {
                true => self.update_interest(id),
                false => self.close(id, Some("sent a `have` for a piece that does not exist")),
            },
            PeerEvent::ExtHandshake(h) => {
                let pex = self.torrent.pex && h.id_of(UT_PEX).is_some();
                if let Some(c) = self.conns.get_mut(&id) {
                    if let Some(reqq) = h.reqq {
                        c.reqq = (reqq as usize).clamp(1, MAX_OUR_REQUESTS);
                    }
                    let port = h.p.filter(|p| *p != 0);
                    c.listen = c.listen.or(port.map(|p| SocketAddr::new(c.addr.ip(), p)));
                    if pex && c.pex_due.is_none() {
                        c.pex_due = Some(Instant::now());
                    }
                }
                self.size_pipeline(id);
            }
            PeerEvent::Pex(added) => self.on_pex(added),
            PeerEvent::Choke => {
                tracing::debug!(conn = id.0, "choked by the peer");
                self.picker.choke(&id);
            }
            PeerEvent::Unchoke => {
                tracing::debug!(conn = id.0, "unchoked by the peer");
                self.picker.unchoke(&id);
                self.request(id);
            }
            PeerEvent::Interested => self.on_interest(id, true),
            PeerEvent::NotInterested => self.on_interest(id, false),
            PeerEvent::Block { block, data } => self.on_block(id, block, &data),
            PeerEvent::Served(block) => self.uploaded += u64::from(block.length),
            PeerEvent::Closed(reason) => self.on_closed(id, &reason),
            _ => {}
        }
    }

    /// Tells the peer whether it has something we lack (only on a change).
    pub(super) fn update_interest(&mut self, id: ConnId) {
        let want = self.mode == Mode::Get && self.picker.interesting(&id);
        if let Some(c) = self.conns.get_mut(&id) {
            if c.interested != want && c.send(PeerCommand::Interested(want)) {
                c.interested = want;
            }
        }
    }

    fn on_interest(&mut self, id: ConnId, wants: bool) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        c.wants = wants;
        match (wants, c.serving) {
            (true, false) if self.unchoked < UPLOAD_SLOTS && c.send(PeerCommand::Choke(false)) => {
                c.serving = true;
                self.unchoked += 1;
            }
            (false, true) => {
                c.send(PeerCommand::Choke(true));
                c.serving = false;
                self.unchoked -= 1;
                self.unchoke_next();
            }
            _ => {}
        }
    }

    /// A slot is free: unchoke a peer that waits for one.
    fn unchoke_next(&mut self) {
        let waiting = self.conns.values().find(|c| c.wants && !c.serving);
        if let Some(id) = waiting.map(|c| c.handle.id) {
            self.on_interest(id, true);
        }
    }

    fn on_closed(&mut self, id: ConnId, reason: &CloseReason) {
        tracing::debug!(conn = id.0, %reason, "connection closed");
        let fault = reason.is_peer_fault().then(|| reason.to_string());
        self.forget(id, fault.as_deref());
    }

    /// Closes a connection (`fault`: the peer broke the protocol, so it is banned).
    pub(super) fn close(&mut self, id: ConnId, fault: Option<&str>) {
        if let Some(c) = self.conns.get(&id) {
            c.send(PeerCommand::Close);
        }
        self.forget(id, fault);
    }

    fn forget(&mut self, id: ConnId, fault: Option<&str>) {
        let Some(c) = self.conns.remove(&id) else {
            return;
        };
        self.picker.remove_peer(&id);
        if c.serving {
            self.unchoked -= 1;
            self.unchoke_next();
        }
        match fault {
            Some(_) => self.book.ban(c.addr, c.peer_id()),
            None => self.book.closed(c.addr, std::time::Instant::now()),
        }
        // What it was asked for is wanted from the others now.
        self.request_all();
    }

    /// Sets the peer's pipeline to [`QUEUE_SECONDS`] of its rate: at least
    /// [`PIPELINE`], below its `reqq` (requests past it would be dropped).
    pub(super) fn size_pipeline(&mut self, id: ConnId) {
        let Some(c) = self.conns.get(&id) else {
            return;
        };
        let want = (c.rate * QUEUE_SECONDS / f64::from(MAX_BLOCK)).ceil() as usize;
        // One under its reqq: transmission drops the request that would reach it.
        let blocks = want.max(PIPELINE).min(c.reqq.saturating_sub(1).max(1));
        tracing::trace!(conn = id.0, blocks, rate = c.rate, "pipeline");
        self.picker.set_pipeline(&id, blocks);
    }

    /// Each tick: every peer's rate, and its pipeline sized to it.
    pub(super) fn measure_peers(&mut self, seconds: f64) {
        let ids: Vec<ConnId> = self.conns.keys().copied().collect();
        for id in ids {
            if let Some(c) = self.conns.get_mut(&id) {
                let now = std::mem::take(&mut c.received) as f64 / seconds;
                c.rate = (c.rate + now) / 2.0;
            }
            self.size_pipeline(id);
            self.request(id);
        }
    }

    /// Drops events held for connections that never showed up (refused, or closed).
    pub(super) fn forget_early(&mut self) {
        let now = self.ticks;
        self.early
            .retain(|_, (seen, _)| now.saturating_sub(*seen) < EARLY_TICKS);
    }

    /// Closes the peers that were asked for blocks and sent none for the timeout.
    pub(super) fn close_stalled(&mut self) {
        let limit = self.options.timing.request_timeout;
        let stalled: Vec<ConnId> = self
            .conns
            .values()
            .filter(|c| c.last_block.elapsed() > limit && self.picker.inflight(&c.handle.id) > 0)
            .map(|c| c.handle.id)
            .collect();
        for id in stalled {
            tracing::debug!(conn = id.0, "no block for the request timeout: closing");
            self.close(id, None);
        }
    }
}
