//! One TCP connection to one BitTorrent peer, as a task the swarm driver talks to by
//! channels (plain TCP; no MSE, no uTP).
//!
//! # How the driver uses it
//! 1. Describe the torrent once: a [`Torrent`] (infohashes, [`Layout`], a [`BlockSource`]
//!    for the pieces we have, the info dictionary for `ut_metadata` when we have it), in
//!    an `Arc`.
//! 2. Make one event channel for the torrent: `mpsc::channel::<(ConnId, PeerEvent)>(N)`.
//!    Every connection of the torrent sends its events there, tagged with its [`ConnId`].
//! 3. Outgoing: [`connect`] returns a [`PeerHandle`] once both BitTorrent handshakes are
//!    done (the handle carries the peer's id and reserved bits); incoming: [`Listener`]
//!    (`--listen IP:PORT`) finds the torrent by infohash and hands each new connection's
//!    [`PeerHandle`] to the receiver [`Listener::add`] returned.
//! 4. Drive it with [`PeerCommand`]s on [`PeerHandle::commands`]; read [`PeerEvent`]s.
//!    The last event of every connection is [`PeerEvent::Closed`], after which the
//!    command sender's `send` fails. Dropping the handle (its command sender) closes
//!    the connection, as does dropping the event receiver.
//!
//! The task sends our handshake with the extension bit (and the v2 bit for v2 and hybrid
//! torrents), our extension handshake (`ut_metadata` with `metadata_size` when we have
//! the info, our listen port, `reqq`), our bitfield, then follows the driver's commands.
//! It answers block requests itself from the [`BlockSource`] while the driver has the
//! peer unchoked, `ut_metadata` requests from the info dictionary and BEP 52 hash
//! requests from the piece layers; everything else
//! goes to the driver. Choking policy, piece picking ([`ferry_proto::torrent::swarm`])
//! and verification are the driver's.
//!
//! A magnet link alone: [`fetch_metadata`] fetches the info dictionary from one peer
//! on a connection of its own, checked against the infohash, and a v2 torrent's
//! piece layers (BEP 52 hash requests), checked against the file roots.
//!
//! Limits (docs/torrent.md): frames over [`DEFAULT_MAX_FRAME`] close the peer; the
//! handshake has [`PeerTiming::handshake`], silence [`PeerTiming::idle`]; a keep-alive
//! goes out after [`PeerTiming::keepalive`] without sending; at most
//! [`MAX_PEER_REQUESTS`] of the peer's requests are queued and [`MAX_OUR_REQUESTS`] of
//! ours are in flight; events wait in a queue of [`EVENT_QUEUE`] per connection (the
//! socket is not read while it is full) and outgoing bytes over [`SEND_HIGH_WATER`]
//! stop commands and serving until the peer reads them.
//!
//! [`DEFAULT_MAX_FRAME`]: ferry_proto::torrent::wire::DEFAULT_MAX_FRAME

mod conn;
mod handshake;
mod listen;
mod magnet;
mod messages;
mod state;

#[cfg(test)]
mod tests;

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferry_proto::torrent::hashes::LayerServer;
use ferry_proto::torrent::metainfo::InfoHashes;
use ferry_proto::torrent::swarm::Layout;
use ferry_proto::torrent::wire::{Bitfield, BlockRef, PeerId, Reserved};
use tokio::sync::mpsc;

pub use conn::{connect, ConnectError};
pub use handshake::wire_hashes;
pub use listen::{Listener, MAX_PENDING_HANDSHAKES};
pub use magnet::{fetch_metadata, Fetched, MetadataFetchError};
pub use messages::{CloseReason, PeerCommand, PeerEvent};
pub use state::{MAX_OUR_REQUESTS, MAX_PEER_REQUESTS, REQQ};

/// Events queued per connection before the task stops reading the socket.
pub const EVENT_QUEUE: usize = 64;
/// Bytes waiting to be sent above which the task takes no command and serves no block.
pub const SEND_HIGH_WATER: usize = 256 * 1024;

/// Where served blocks come from: the storage of the pieces we have. Sync and minimal:
/// the connection calls [`BlockSource::read_block`] on tokio's blocking pool
/// (`spawn_blocking`), so a slow disk stalls only the connection that asked.
pub trait BlockSource: Send + Sync + 'static {
    /// The pieces we have (verified), read once when a connection starts; the driver
    /// tells live connections of new ones with [`PeerCommand::Have`].
    fn have(&self) -> Bitfield;
    /// The bytes of `block`, which the connection checked is inside a piece we have.
    fn read_block(&self, block: BlockRef) -> io::Result<Vec<u8>>;
}

/// What a connection knows of its torrent.
pub struct Torrent {
    pub hashes: InfoHashes,
    pub layout: Layout,
    pub source: Arc<dyn BlockSource>,
    /// The info dictionary exactly as hashed, served to `ut_metadata` requests.
    pub info: Option<Bytes>,
    /// v2 piece layers, served to BEP 52 hash requests (a magnet's v2 leechers need
    /// them); `None` rejects every hash request.
    pub layers: Option<Arc<LayerServer>>,
    /// Exchange peers (BEP 11 `ut_pex`); false for a private torrent (BEP 27).
    pub pex: bool,
}

/// The connection's timers. Tests shrink them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeerTiming {
    /// TCP connect plus both handshakes.
    pub handshake: Duration,
    /// Nothing received for this long closes the connection. libtorrent and
    /// Transmission send a keep-alive within two minutes of silence.
    pub idle: Duration,
    /// A keep-alive goes out when nothing was sent for this long (BEP 3: two minutes).
    pub keepalive: Duration,
}

impl Default for PeerTiming {
    fn default() -> Self {
        PeerTiming {
            handshake: Duration::from_secs(10),
            idle: Duration::from_secs(180),
            keepalive: Duration::from_secs(110),
        }
    }
}

impl PeerTiming {
    /// Timers for tests: `handshake` and `idle` at `base`, keep-alives at half of it.
    pub fn fast(base: Duration) -> Self {
        PeerTiming {
            handshake: base,
            idle: base,
            keepalive: base / 2,
        }
    }
}

/// Our side of every connection.
#[derive(Debug, Clone)]
pub struct PeerConfig {
    pub peer_id: PeerId,
    /// Our listening port, announced in the extension handshake (`p`).
    pub listen_port: Option<u16>,
    pub timing: PeerTiming,
}

impl PeerConfig {
    /// A fresh random `-FY0100-` peer id, default timers, no listening port.
    pub fn new() -> Self {
        PeerConfig {
            peer_id: PeerId::ferry(rand::random()),
            listen_port: None,
            timing: PeerTiming::default(),
        }
    }
}

impl Default for PeerConfig {
    fn default() -> Self {
        PeerConfig::new()
    }
}

/// A connection's name in the torrent's event channel; unique in the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

impl ConnId {
    fn next() -> ConnId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        ConnId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// The driver's side of one live connection.
#[derive(Debug)]
pub struct PeerHandle {
    pub id: ConnId,
    pub addr: SocketAddr,
    pub peer_id: PeerId,
    /// The hash the connection runs under: the v1 hash, or a hybrid's v2 hash cut to 20
    /// bytes when the peer chose it (dialling us with it, or upgrading our v1 dial).
    pub info_hash: [u8; 20],
    /// The peer's reserved bits (extension protocol, v2, ...).
    pub reserved: Reserved,
    pub commands: mpsc::Sender<PeerCommand>,
}

/// The torrent's event channel, as each connection holds it.
pub type EventSender = mpsc::Sender<(ConnId, PeerEvent)>;
