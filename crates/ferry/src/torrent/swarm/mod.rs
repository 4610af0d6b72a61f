//! A torrent's swarm: the loop that runs `ferry torrent get` and `ferry torrent seed`.
//!
//! It ties the parts together: the peer connections (`peer/`, one task each), the
//! piece picker (`ferry_proto::torrent::swarm::Picker`, sans-IO), the storage
//! (`storage/`, blocking, on tokio's blocking pool), the trackers (`tracker/`) and
//! the peers given by hand. One task owns all the state ([`driver`]); everything
//! else talks to it over channels, so there are no locks but the storage's.
//!
//! - [`get`]: fetch the metadata first when all we have is a magnet link
//!   ([`metadata`]), then download into the output directory until every piece is
//!   verified, rename the result into place, and return its path.
//! - [`seed`]: serve verified data until cancelled.
//!
//! Policy (docs/torrent.md, "The swarm"): pieces rarest first, at most
//! [`SwarmTiming::request_timeout`] without a block from a peer we asked closes it; a
//! piece that fails verification bans every address that sent a block of it;
//! interested peers are unchoked up to [`UPLOAD_SLOTS`] (no tit-for-tat: ferry
//! serves whoever asks, as a seed does).

mod announce;
mod book;
mod dht;
mod driver;
mod metadata;
mod pieces;
mod source;

#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ferry_proto::torrent::metainfo::Metainfo;

use super::peer::{Listener, PeerConfig};
use super::storage::Storage;
use super::tracker::TrackerClient;
use crate::error::Error;
use crate::Cancel;
use driver::Mode;

pub use dht::DhtNode;
pub use metadata::{metainfo_from_magnet, MetadataError, PATIENCE as METADATA_PATIENCE};

/// Peers we unchoke at once; the rest wait for a slot.
pub const UPLOAD_SLOTS: usize = 16;
/// Connections we keep at most (dialled and accepted together).
pub const MAX_CONNECTIONS: usize = 60;

/// The loop's timers. Tests shrink them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SwarmTiming {
    /// A peer we have requests with that sends no block for this long is closed
    /// (its requests go to others).
    pub request_timeout: Duration,
    /// How often progress is reported, timeouts checked and peers dialled.
    pub tick: Duration,
    /// The first wait before dialling an address again after a failure; it doubles.
    pub redial: Duration,
    /// Longest wait between two dials of the same address.
    pub redial_max: Duration,
    /// Least time between two peer-exchange messages to one peer (BEP 11: a minute;
    /// libtorrent closes a peer that sends them faster).
    pub pex: Duration,
    /// How often the DHT is asked for peers (and told of us).
    pub dht: Duration,
}

impl Default for SwarmTiming {
    fn default() -> Self {
        SwarmTiming {
            request_timeout: Duration::from_secs(30),
            tick: Duration::from_secs(1),
            redial: Duration::from_secs(2),
            redial_max: Duration::from_secs(60),
            pex: Duration::from_secs(60),
            dht: Duration::from_secs(5 * 60),
        }
    }
}

impl SwarmTiming {
    /// Every timer at a fraction of a second, for tests.
    pub fn fast() -> Self {
        SwarmTiming {
            request_timeout: Duration::from_secs(2),
            tick: Duration::from_millis(100),
            redial: Duration::from_millis(100),
            redial_max: Duration::from_millis(500),
            pex: Duration::from_millis(300),
            dht: Duration::from_millis(500),
        }
    }
}

/// Where to find peers and how to be found.
#[derive(Debug, Clone)]
pub struct SwarmOptions {
    /// Where to listen for peers (`--listen`).
    pub listen: SocketAddr,
    /// When `listen`'s port is taken, listen on any free port instead (the default
    /// 6881 may be another client's).
    pub listen_fallback: bool,
    /// Peers given by hand (`--peer`), dialled again after failures.
    pub peers: Vec<SocketAddr>,
    /// Tracker URLs beside the torrent's own (`--tracker`).
    pub trackers: Vec<String>,
    pub peer: PeerConfig,
    pub tracker: TrackerClient,
    /// A DHT node to find peers with (`None`: no DHT); not used for a private torrent.
    pub dht: Option<DhtNode>,
    pub timing: SwarmTiming,
}

impl SwarmOptions {
    /// Listening on `listen`, no peers, default timers.
    pub fn new(listen: SocketAddr) -> Self {
        SwarmOptions {
            listen,
            listen_fallback: false,
            peers: Vec::new(),
            trackers: Vec::new(),
            peer: PeerConfig::new(),
            tracker: TrackerClient::default(),
            dht: None,
            timing: SwarmTiming::default(),
        }
    }
}

/// What the swarm tells its user, as it happens.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Report {
    /// Listening for peers on this address.
    Listening(SocketAddr),
    /// A magnet's metadata arrived (from this peer).
    Metadata { from: SocketAddr },
    /// A download continues: these pieces were verified on disk already.
    Resumed { pieces: u32, bytes: u64 },
    /// Where things stand (at most once a tick).
    Progress(Progress),
    /// A tracker failed (the swarm goes on with the others and the peers it has).
    TrackerFailed(String),
    /// This address sent a piece that did not verify: closed and never dialled again.
    Banned { peer: SocketAddr, piece: u32 },
    /// This many pieces of the data to seed did not verify and are not served.
    BadPieces(u32),
}

/// Bytes verified and moved, and the peers connected.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    /// File bytes of the verified pieces (pad files not counted), of `total`.
    pub have: u64,
    pub total: u64,
    pub downloaded: u64,
    pub uploaded: u64,
    pub peers: usize,
    /// Peers that sent blocks we kept, so far.
    pub sources: usize,
    /// Received payload bytes per second over the last few seconds.
    pub rate: f64,
}

/// Why a swarm could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SwarmError {
    #[error(transparent)]
    Ferry(#[from] Error),
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    #[error("listening on {addr}: {cause}")]
    Listen {
        addr: SocketAddr,
        cause: std::io::Error,
    },
    #[error("the storage task failed: {0}")]
    Task(String),
}

/// The result of a swarm run.
pub type Result<T, E = SwarmError> = std::result::Result<T, E>;

/// Downloads `meta` into `out_dir/<name>` (resuming what a killed run left there) and
/// returns the final path once every piece is verified. `report` hears the progress.
pub async fn get(
    meta: Metainfo,
    out_dir: &Path,
    options: SwarmOptions,
    report: impl FnMut(Report) + Send,
    cancel: &Cancel,
) -> Result<PathBuf> {
    let out = out_dir.to_owned();
    let storage = blocking(move || Storage::create(&out, &meta)).await??;
    let mut report = report;
    let have = storage.have().count();
    if have > 0 {
        report(Report::Resumed {
            pieces: have,
            bytes: source::have_bytes(&storage, &source::content_sizes(&storage)),
        });
    }
    let listener = listen(&options).await?;
    report(Report::Listening(listener.local_addr()));
    let path = driver::run(storage, listener, Mode::Get, options, report, cancel).await?;
    path.ok_or_else(|| SwarmError::Task("the download ended incomplete".into()))
}

/// Serves `storage` (opened with [`Storage::open_seed`]) until cancelled.
pub async fn seed(
    storage: Storage,
    options: SwarmOptions,
    report: impl FnMut(Report) + Send,
    cancel: &Cancel,
) -> Result<()> {
    let mut report = report;
    let bad = storage.map().pieces() - storage.have().count();
    if bad > 0 {
        report(Report::BadPieces(bad));
    }
    let listener = listen(&options).await?;
    report(Report::Listening(listener.local_addr()));
    driver::run(storage, listener, Mode::Seed, options, report, cancel)
        .await
        .map(|_| ())
}

/// Binds the listener, on any free port when the one asked is taken and
/// `listen_fallback` allows it.
async fn listen(options: &SwarmOptions) -> Result<Listener> {
    let config = options.peer.clone();
    match Listener::bind(options.listen, config.clone()).await {
        Ok(l) => Ok(l),
        Err(e) if options.listen_fallback && e.kind() == std::io::ErrorKind::AddrInUse => {
            let any = SocketAddr::new(options.listen.ip(), 0);
            Listener::bind(any, config)
                .await
                .map_err(|cause| SwarmError::Listen { addr: any, cause })
        }
        Err(cause) => Err(SwarmError::Listen {
            addr: options.listen,
            cause,
        }),
    }
}

/// Runs blocking storage work on tokio's blocking pool.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| SwarmError::Task(e.to_string()))
}

/// The storage shared between the loop (writes) and the connections (reads); the
/// loop takes it out to finish the download, after which nothing is served.
type Shared = Arc<std::sync::RwLock<Option<Storage>>>;
