//! The swarm's loop: one task that owns the picker, the connections' handles, the
//! address book and the pieces being assembled, and reacts to what arrives — peer
//! events, new connections, dial results, verified pieces, tracker answers, ticks.
//! Nothing here blocks: piece checks and writes run on the blocking pool and come
//! back as results; commands to connections are `try_send` (their queues are
//! bounded, and a connection waiting on our event queue must not wait on us).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use ferry_proto::torrent::hashes::LayerServer;
use ferry_proto::torrent::metainfo::{InfoHashes, Metainfo};
use ferry_proto::torrent::swarm::{Layout, Picker, Shape};
use ferry_proto::torrent::tracker::{Announce, Event};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::announce::{Announcers, Heard, Stats};
use super::book::Book;
use super::pieces::Assembly;
use super::source::{self, Source};
use super::{blocking, Progress, Report, Result, Shared, SwarmError, SwarmOptions};
use crate::error::Error;
use crate::torrent::peer::{
    connect, ConnId, ConnectError, Listener, PeerConfig, PeerEvent, PeerHandle, Torrent,
};
use crate::torrent::storage::Storage;
use crate::Cancel;

mod conns;
mod download;
mod pex;

use conns::Conn;

/// Blocks in flight per peer at least: 64 × 16 KiB = 1 MiB; more for a fast peer
/// (conns.rs sizes each peer's to its rate), never more than its `reqq`.
const PIPELINE: usize = 64;
/// Dials under way at once.
const DIALS_AT_ONCE: usize = 8;
/// Events queued from all connections together.
const EVENT_QUEUE: usize = 1024;
/// Ticks the download rate is averaged over.
const RATE_WINDOW: usize = 5;

type Dialled = (SocketAddr, std::result::Result<PeerHandle, ConnectError>);
type Checked = (u32, crate::error::Result<bool>);

/// Whether the loop downloads (and ends when complete) or only serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Get,
    Seed,
}

pub(super) struct Driver<R> {
    mode: Mode,
    shared: Shared,
    torrent: Arc<Torrent>,
    shape: Shape,
    /// File bytes of each piece, and of all.
    content: Vec<u32>,
    total: u64,
    picker: Picker<ConnId>,
    assembly: Assembly,
    conns: HashMap<ConnId, Conn>,
    /// Events of connections whose handles have not arrived yet, and the tick
    /// they were first held at.
    early: HashMap<ConnId, (u64, Vec<PeerEvent>)>,
    ticks: u64,
    book: Book,
    config: PeerConfig,
    events: mpsc::Sender<(ConnId, PeerEvent)>,
    dials: JoinSet<Dialled>,
    checks: JoinSet<Checked>,
    options: SwarmOptions,
    report: R,
    have_bytes: u64,
    downloaded: u64,
    uploaded: u64,
    /// Addresses that sent blocks that were stored.
    sources: std::collections::HashSet<SocketAddr>,
    /// Downloaded bytes at each of the last ticks, for the rate.
    samples: Vec<(Instant, u64)>,
    unchoked: usize,
}

/// Runs the swarm over `storage` until the download completes (its final path) or,
/// when seeding or cancelled, until `cancel`.
pub(super) async fn run<R: FnMut(Report) + Send>(
    storage: Storage,
    listener: Listener,
    mode: Mode,
    options: SwarmOptions,
    report: R,
    cancel: &Cancel,
) -> Result<Option<PathBuf>> {
    let (events, mut rx) = mpsc::channel(EVENT_QUEUE);
    let mut driver = Driver::new(storage, &listener, mode, options, report, events);
    let mut incoming = listener.add(driver.torrent.clone(), driver.events.clone());
    let (heard_tx, mut heard) = mpsc::channel(16);
    let announcers = Announcers::start(
        driver.tracker_urls(),
        driver.options.tracker.clone(),
        driver.announce_base(listener.local_addr().port()),
        driver.stats(),
        heard_tx.clone(),
    );
    let dht = driver.follow_dht(listener.local_addr().port(), heard_tx);
    let mut tick = tokio::time::interval(driver.options.timing.tick);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let outcome = loop {
        if driver.mode == Mode::Get && driver.picker.is_complete() && driver.checks.is_empty() {
            break driver.finish().await.map(Some);
        }
        tokio::select! {
            _ = cancel.cancelled() => break driver.stop(),
            Some((id, event)) = rx.recv() => driver.on_event(id, event),
            Some(handle) = incoming.recv() => driver.on_connected(handle, None),
            Some(done) = driver.dials.join_next(), if !driver.dials.is_empty() => {
                driver.on_dialled(done);
            }
            Some(done) = driver.checks.join_next(), if !driver.checks.is_empty() => {
                if let Err(e) = driver.on_checked(done) {
                    break Err(e);
                }
            }
            Some(heard) = heard.recv() => driver.on_heard(heard),
            _ = tick.tick() => {
                driver.on_tick();
                announcers.update(driver.stats());
            }
        }
    };
    if let Some(task) = dht {
        task.abort();
    }
    announcers.stop().await;
    outcome
}

impl<R: FnMut(Report) + Send> Driver<R> {
    fn new(
        storage: Storage,
        listener: &Listener,
        mode: Mode,
        options: SwarmOptions,
        report: R,
        events: mpsc::Sender<(ConnId, PeerEvent)>,
    ) -> Self {
        let meta = storage.metainfo();
        let shape = storage.map().shape();
        let pieces = shape.pieces();
        let content = source::content_sizes(&storage);
        let total = content.iter().map(|n| u64::from(*n)).sum();
        let piece_len = meta.info.piece_length as u32;
        // The connection checks requests against a linear layout; a v2-only torrent's
        // short pieces are checked exactly by the storage and the picker.
        let layout = match &shape {
            Shape::Linear(l) => *l,
            Shape::Sizes(_) => Layout {
                pieces,
                piece_len,
                total: u64::from(pieces) * u64::from(piece_len),
            },
        };
        let mut picker = Picker::new(shape.clone());
        picker.pipeline = PIPELINE;
        for p in (0..pieces).filter(|p| storage.have().has(*p)) {
            picker.verified(p, true);
        }
        let have_bytes = source::have_bytes(&storage, &content);
        let info = Some(Bytes::from(meta.info_bytes.clone()));
        let hashes = meta.info.hashes;
        let layers = layer_server(meta);
        let pex = !meta.info.private;
        let shared: Shared = Arc::new(std::sync::RwLock::new(Some(storage)));
        let torrent = Arc::new(Torrent {
            hashes,
            layout,
            source: Arc::new(Source {
                shared: shared.clone(),
                pieces,
            }),
            info,
            layers,
            pex,
        });
        let mut config = options.peer.clone();
        config.listen_port = Some(listener.local_addr().port());
        let timing = &options.timing;
        let mut book = Book::new(timing.redial, timing.redial_max);
        let now = std::time::Instant::now();
        options.peers.iter().for_each(|p| book.add(*p, true, now));
        Driver {
            mode,
            shared,
            torrent,
            shape,
            content,
            total,
            picker,
            assembly: Assembly::default(),
            conns: HashMap::new(),
            early: HashMap::new(),
            ticks: 0,
            book,
            config,
            events,
            dials: JoinSet::new(),
            checks: JoinSet::new(),
            options,
            report,
            have_bytes,
            downloaded: 0,
            uploaded: 0,
            sources: Default::default(),
            samples: Vec::new(),
            unchoked: 0,
        }
    }

    fn tracker_urls(&self) -> Vec<String> {
        let guard = source::read(&self.shared);
        let mut urls: Vec<String> = guard
            .as_ref()
            .map(|s| s.metainfo().trackers.iter().flatten().cloned().collect())
            .unwrap_or_default();
        urls.extend(self.options.trackers.iter().cloned());
        urls
    }

    fn announce_base(&self, port: u16) -> Announce {
        Announce {
            info_hash: announce_hash(&self.torrent.hashes),
            peer_id: self.config.peer_id.0,
            port,
            uploaded: 0,
            downloaded: 0,
            left: 0,
            event: Event::Started,
            key: rand::random(),
            numwant: None,
        }
    }

    fn stats(&self) -> Stats {
        Stats {
            uploaded: self.uploaded,
            downloaded: self.downloaded,
            left: self.total - self.have_bytes,
        }
    }

    /// Asks the DHT for peers as the swarm runs (not for a private torrent).
    fn follow_dht(
        &self,
        port: u16,
        heard: mpsc::Sender<Heard>,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let node = self.options.dht.as_ref().filter(|_| self.torrent.pex)?;
        let hash = announce_hash(&self.torrent.hashes);
        Some(node.follow(hash, port, self.options.timing.dht, heard))
    }

    fn on_heard(&mut self, heard: Heard) {
        match heard {
            Heard::Peers(peers) => {
                let now = std::time::Instant::now();
                peers.into_iter().for_each(|p| self.book.add(p, false, now));
                self.dial_due();
            }
            Heard::Failed(why) => (self.report)(Report::TrackerFailed(why)),
        }
    }

    /// Dials the addresses that are due, within the connection and dial limits.
    fn dial_due(&mut self) {
        let open = self.conns.len() + self.dials.len();
        let room = super::MAX_CONNECTIONS
            .saturating_sub(open)
            .min(DIALS_AT_ONCE.saturating_sub(self.dials.len()));
        if room == 0 || (self.mode == Mode::Get && self.picker.is_complete()) {
            return;
        }
        for addr in self.book.due(std::time::Instant::now(), room) {
            let (torrent, config, events) = (
                self.torrent.clone(),
                self.config.clone(),
                self.events.clone(),
            );
            self.dials
                .spawn(async move { (addr, connect(addr, torrent, &config, events).await) });
        }
    }

    fn on_dialled(&mut self, done: std::result::Result<Dialled, tokio::task::JoinError>) {
        match done {
            Ok((addr, Ok(handle))) => self.on_connected(handle, Some(addr)),
            Ok((addr, Err(_))) => self.book.failed(addr, std::time::Instant::now()),
            Err(_) => {}
        }
    }

    fn on_tick(&mut self) {
        self.ticks += 1;
        self.forget_early();
        self.close_stalled();
        self.measure_peers(self.options.timing.tick.as_secs_f64());
        if let Some(storage) = source::write(&self.shared).as_mut() {
            if let Err(e) = storage.save_if_due() {
                tracing::warn!(error = %e, "saving the resume state failed");
            }
        }
        self.dial_due();
        self.exchange_peers();
        let now = Instant::now();
        self.samples.push((now, self.downloaded));
        if self.samples.len() > RATE_WINDOW {
            self.samples.remove(0);
        }
        let progress = self.progress();
        (self.report)(Report::Progress(progress));
    }

    fn progress(&self) -> Progress {
        let rate = match (self.samples.first(), self.samples.last()) {
            (Some((t0, b0)), Some((t1, b1))) if t1 > t0 => {
                (b1 - b0) as f64 / (*t1 - *t0).as_secs_f64()
            }
            _ => 0.0,
        };
        Progress {
            have: self.have_bytes,
            total: self.total,
            downloaded: self.downloaded,
            uploaded: self.uploaded,
            peers: self.conns.len(),
            sources: self.sources.len(),
            rate,
        }
    }

    /// Cancelled: a download saves its state (the next run resumes from it).
    fn stop(&mut self) -> Result<Option<PathBuf>> {
        self.conns.clear();
        if self.mode == Mode::Seed {
            return Ok(None);
        }
        if let Some(storage) = source::write(&self.shared).as_mut() {
            storage.flush()?;
        }
        Err(Error::Cancelled.into())
    }

    /// Every piece verified: close the connections and move the download into place.
    async fn finish(&mut self) -> Result<PathBuf> {
        let progress = self.progress();
        (self.report)(Report::Progress(progress));
        self.conns.clear();
        let storage = source::write(&self.shared).take();
        let storage = storage.ok_or_else(|| SwarmError::Task("finished twice".into()))?;
        Ok(blocking(move || storage.finish()).await??)
    }
}

/// The 20-byte hash trackers know the torrent by: v1's, or a v2-only torrent's cut.
pub(super) fn announce_hash(hashes: &InfoHashes) -> [u8; 20] {
    match (hashes.v1, hashes.v2) {
        (Some(v1), _) => v1,
        (None, Some(v2)) => v2[..20].try_into().unwrap_or_default(),
        (None, None) => [0; 20],
    }
}

/// What answers peers' hash requests: the piece layers, when there are any.
fn layer_server(meta: &Metainfo) -> Option<Arc<LayerServer>> {
    let layers = &meta.piece_layers;
    (!layers.is_empty()).then(|| Arc::new(LayerServer::new(&meta.info, layers)))
}
