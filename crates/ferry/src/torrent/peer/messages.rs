//! What a connection tells the driver ([`PeerEvent`]) and what the driver tells it
//! ([`PeerCommand`]).

use std::io;
use std::net::SocketAddr;

use bytes::Bytes;
use ferry_proto::torrent::wire::extension::{ExtHandshake, ExtensionError, UtMetadata};
use ferry_proto::torrent::wire::pex::Pex;
use ferry_proto::torrent::wire::{Bitfield, BlockRef, WireError};

/// From a connection to the driver, in the order things happened on the wire.
#[derive(Debug)]
#[non_exhaustive]
pub enum PeerEvent {
    /// The peer's BEP 10 handshake (it may send none, or more than one).
    ExtHandshake(ExtHandshake),
    /// What the peer has: its bitfield, checked against the piece count. It may come
    /// at any time and replaces the last one; a peer that has nothing may send none.
    Bitfield(Bitfield),
    Have(u32),
    /// The peer chokes us: our requests in flight are dropped (no fast extension).
    Choke,
    Unchoke,
    Interested,
    NotInterested,
    /// A block we requested, with its data.
    Block {
        block: BlockRef,
        data: Bytes,
    },
    /// A `ut_metadata` data or reject message (for a [`MetadataAssembler`]).
    ///
    /// [`MetadataAssembler`]: ferry_proto::torrent::wire::metadata::MetadataAssembler
    Metadata(UtMetadata),
    /// We sent the peer this block (for upload accounting).
    Served(BlockRef),
    /// Peers the peer is connected to (BEP 11 `added`; only for a torrent with
    /// [`super::Torrent::pex`]).
    Pex(Vec<SocketAddr>),
    /// The connection is over; nothing follows.
    Closed(CloseReason),
}

/// From the driver to a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PeerCommand {
    /// Tell the peer we are (or are no longer) interested; sent only on a change.
    Interested(bool),
    /// Request these blocks (at most [`super::MAX_OUR_REQUESTS`] in flight; more, or any
    /// while the peer chokes us, are left out).
    Request(Vec<BlockRef>),
    Cancel(BlockRef),
    /// We verified this piece: serve it from now on, and tell the peer.
    Have(u32),
    /// Choke (true) or unchoke (false) the peer; choking drops its queued requests.
    Choke(bool),
    /// Ask for a piece of the info dictionary (if the peer announced `ut_metadata`).
    MetadataRequest(u32),
    /// Tell the peer of peers we connected to and dropped (if it announced `ut_pex`).
    Pex(Pex),
    Close,
}

/// Why a connection ended. `Peer*` variants are the peer's fault (the driver may ban it).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CloseReason {
    #[error("the driver closed the connection")]
    ByUs,
    #[error("the peer closed the connection")]
    PeerClosed,
    #[error("connection error: {0}")]
    Io(#[from] io::Error),
    #[error("nothing received from the peer for {0:?}")]
    Idle(std::time::Duration),
    #[error("{0}")]
    PeerWire(#[from] WireError),
    #[error("{0}")]
    PeerExtension(#[from] ExtensionError),
    #[error("peer broke the protocol: {0}")]
    PeerProtocol(&'static str),
    #[error("peer does not read what we send ({0} bytes waiting)")]
    PeerNotReading(usize),
    #[error("reading a block to serve failed: {0}")]
    Source(io::Error),
}

impl CloseReason {
    /// The peer broke the protocol (as opposed to leaving, a network error, or us).
    pub fn is_peer_fault(&self) -> bool {
        matches!(
            self,
            CloseReason::PeerWire(_) | CloseReason::PeerExtension(_) | CloseReason::PeerProtocol(_)
        )
    }
}
