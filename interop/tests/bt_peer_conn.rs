//! ferry's peer connection (`ferry::torrent::peer`) against libtorrent 2.1, without the swarm
//! driver: the test plays the driver. One test leeches from a libtorrent seeder knowing only
//! the magnet link (metadata by ut_metadata, then every block, each piece checked against its
//! SHA-1); the other seeds from memory on 198.18.0.1 while libtorrent, told the address,
//! downloads a hybrid torrent (so it dials with the truncated v2 hash).

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry::torrent::peer::{
    connect, fetch_metadata, BlockSource, ConnId, ConnectError, EventSender, Listener, PeerCommand,
    PeerConfig, PeerEvent, PeerHandle, Torrent as PeerTorrent,
};
use ferry_interop::bt::{Client, Peers, Source, Torrent, TorrentMode, BT_IP};
use ferry_interop::data::random_file;
use ferry_interop::TestEnv;
use ferry_proto::torrent::magnet::Magnet;
use ferry_proto::torrent::metainfo::{Info, InfoHashes, Metainfo, Version};
use ferry_proto::torrent::swarm::Layout;
use ferry_proto::torrent::wire::extension::MAX_METADATA_SIZE;
use ferry_proto::torrent::wire::{Bitfield, BlockRef, MAX_BLOCK};
use tokio::sync::mpsc;

/// A few hundred KiB on loopback: well under a second once both run.
const WAIT: Duration = Duration::from_secs(20);
const PIECE_SIZE: u32 = 64 * 1024;
/// Eleven pieces, the last one short and ending mid-block.
const FILE_SIZE: u64 = 10 * PIECE_SIZE as u64 + 20_000;
/// Our requests in flight, like the swarm picker's default pipeline.
const PIPELINE: usize = 16;

/// The torrent's data in memory; `have` says which pieces it may serve.
struct Memory {
    data: Vec<u8>,
    piece_len: u32,
    have: Bitfield,
}

impl BlockSource for Memory {
    fn have(&self) -> Bitfield {
        self.have.clone()
    }

    fn read_block(&self, b: BlockRef) -> io::Result<Vec<u8>> {
        let start = b.index as usize * self.piece_len as usize + b.begin as usize;
        Ok(self.data[start..start + b.length as usize].to_vec())
    }
}

fn layout(info: &Info) -> Layout {
    Layout {
        pieces: info.piece_count() as u32,
        piece_len: info.piece_length as u32,
        total: info.total_length(),
    }
}

fn blocks(layout: &Layout) -> Vec<BlockRef> {
    let mut out = Vec::new();
    for piece in 0..layout.pieces {
        let size = layout.piece_size(piece);
        for begin in (0..size).step_by(MAX_BLOCK as usize) {
            let length = (size - begin).min(MAX_BLOCK);
            out.push(BlockRef {
                index: piece,
                begin,
                length,
            });
        }
    }
    out
}

/// SHA-1 of `bytes`: the v1 "infohash" of any byte string is its SHA-1.
fn sha1(bytes: &[u8]) -> [u8; 20] {
    InfoHashes::of(bytes, Version::V1).v1.expect("v1 hash")
}

/// A one-file torrent made by libtorrent: (scratch dir, the file's bytes, the torrent).
fn fixture(env: &TestEnv, mode: TorrentMode) -> (tempfile::TempDir, Vec<u8>, Torrent) {
    let dir = env.scratch_dir("bt-conn-");
    let seed = dir.path().join("seed");
    std::fs::create_dir_all(&seed).expect("seed dir");
    std::fs::create_dir_all(dir.path().join("out")).expect("out dir");
    let file = random_file(&seed.join("data.bin"), FILE_SIZE).expect("data.bin");
    let torrent_path = dir.path().join("data.torrent");
    let torrent = Torrent::create(env, &file, mode, PIECE_SIZE, &[], &torrent_path);
    let bytes = std::fs::read(&file).expect("read data.bin");
    (dir, bytes, torrent)
}

async fn next(events: &mut mpsc::Receiver<(ConnId, PeerEvent)>) -> PeerEvent {
    let event = tokio::time::timeout(WAIT, events.recv()).await;
    event.expect("an event in time").expect("channel open").1
}

/// Leeches every block over `peer`, a few in flight at a time; checks each piece's SHA-1.
async fn leech(
    peer: &PeerHandle,
    events: &mut mpsc::Receiver<(ConnId, PeerEvent)>,
    info: &Info,
) -> Vec<u8> {
    let layout = layout(info);
    let mut data = vec![0; layout.total as usize];
    let mut wanted = blocks(&layout);
    let mut inflight = 0;
    let mut unchoked = false;
    peer.commands
        .send(PeerCommand::Interested(true))
        .await
        .expect("connection alive");
    while !wanted.is_empty() || inflight > 0 {
        if unchoked && inflight < PIPELINE && !wanted.is_empty() {
            let batch: Vec<_> = wanted
                .drain(..(PIPELINE - inflight).min(wanted.len()))
                .collect();
            inflight += batch.len();
            peer.commands
                .send(PeerCommand::Request(batch))
                .await
                .expect("connection alive");
        }
        match next(events).await {
            PeerEvent::Unchoke => unchoked = true,
            PeerEvent::Choke => panic!("the seeder choked us"),
            PeerEvent::Block { block, data: got } => {
                let start = block.index as usize * layout.piece_len as usize + block.begin as usize;
                data[start..start + got.len()].copy_from_slice(&got);
                inflight -= 1;
            }
            PeerEvent::Closed(reason) => panic!("closed: {reason}"),
            _ => {}
        }
    }
    for (i, expected) in info.pieces_v1.iter().enumerate() {
        let start = i * layout.piece_len as usize;
        let end = (start + layout.piece_len as usize).min(data.len());
        assert_eq!(&sha1(&data[start..end]), expected, "piece {i}");
    }
    data
}

#[test]
fn ferry_leeches_from_libtorrent_with_a_magnet_alone() {
    let env = TestEnv::get();
    let (dir, bytes, torrent) = fixture(env, TorrentMode::Hybrid);
    let seeder = Client::Libtorrent.seed(
        env,
        &torrent.path,
        &dir.path().join("seed"),
        &Peers::default(),
    );
    let addr = seeder.listen_addr();
    let hashes = Magnet::parse(&torrent.magnet)
        .expect("libtorrent's magnet")
        .hashes;
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let fetched = rt.block_on(async {
        let config = PeerConfig::new();
        let fetched = fetch_metadata(addr, &hashes, &config, MAX_METADATA_SIZE, WAIT)
            .await
            .unwrap_or_else(|e| panic!("metadata: {e}\n{}", seeder.log()));
        let info_bytes = fetched.info;
        let info = Info::parse(&info_bytes).expect("libtorrent's info dictionary parses");
        assert_eq!(info.hashes, hashes);
        // BEP 52 hash requests on the same connection: libtorrent's layers, as in the file.
        let layers = fetched
            .layers
            .unwrap_or_else(|e| panic!("piece layers: {e}\n{}", seeder.log()));
        let file = Metainfo::parse(&std::fs::read(&torrent.path).expect("read .torrent"));
        let file = file.expect("parse .torrent");
        assert!(!layers.is_empty(), "a file of more than one piece");
        assert_eq!(layers, file.piece_layers);
        let layout = layout(&info);
        let nothing = Memory {
            data: Vec::new(),
            piece_len: layout.piece_len,
            have: Bitfield::empty(layout.pieces),
        };
        let ours = Arc::new(PeerTorrent {
            hashes,
            layout,
            source: Arc::new(nothing),
            info: Some(info_bytes.into()),
            layers: None,
            pex: false,
        });
        let (tx, mut events) = mpsc::channel(64);
        let peer = connect(addr, ours, &config, tx)
            .await
            .expect("connect to libtorrent");
        leech(&peer, &mut events, &info).await
    });
    assert!(fetched == bytes, "the data differs from the file");
}

/// The hashes each connection ran under, in connection order.
type Seen = Arc<Mutex<Vec<[u8; 20]>>>;

/// Plays the swarm driver for a seeder: unchokes every interested peer. Connections come
/// from `handles` (incoming) and `dialled` (outgoing).
async fn unchoke_interested(
    mut handles: mpsc::Receiver<PeerHandle>,
    mut events: mpsc::Receiver<(ConnId, PeerEvent)>,
    seen: Seen,
) {
    let mut peers: HashMap<ConnId, PeerHandle> = HashMap::new();
    loop {
        tokio::select! {
            // A connection's handle before its events.
            biased;
            Some(handle) = handles.recv() => {
                seen.lock().expect("not poisoned").push(handle.info_hash);
                peers.insert(handle.id, handle);
            }
            Some((id, event)) = events.recv() => match event {
                PeerEvent::Interested => {
                    if let Some(peer) = peers.get(&id) {
                        let _ = peer.commands.send(PeerCommand::Choke(false)).await;
                    }
                }
                PeerEvent::Closed(reason) => {
                    eprintln!("connection {id:?} closed: {reason}");
                    peers.remove(&id);
                }
                _ => {}
            },
            else => return,
        }
    }
}

/// Our side of the torrent at `torrent`, every piece served from `bytes`.
fn memory_seed(torrent: &Path, bytes: Vec<u8>) -> Arc<PeerTorrent> {
    let meta = Metainfo::parse(&std::fs::read(torrent).expect("read .torrent")).expect("parse");
    let layout = layout(&meta.info);
    let source = Memory {
        data: bytes,
        piece_len: layout.piece_len,
        have: Bitfield::full(layout.pieces),
    };
    Arc::new(PeerTorrent {
        hashes: meta.info.hashes,
        layout,
        source: Arc::new(source),
        info: Some(meta.info_bytes.into()),
        layers: None,
        pex: false,
    })
}

/// A seeder listening on [`BT_IP`], and the hashes its connections ran under.
fn listen_seed(rt: &tokio::runtime::Runtime, ours: Arc<PeerTorrent>) -> (Listener, Seen) {
    let seen = Seen::default();
    let listener = rt.block_on(async {
        let addr = format!("{BT_IP}:0").parse().expect("BT_IP");
        let listener = Listener::bind(addr, PeerConfig::new())
            .await
            .expect("listen");
        let (tx, events) = mpsc::channel(64);
        let handles = listener.add(ours, tx);
        tokio::spawn(unchoke_interested(handles, events, seen.clone()));
        listener
    });
    (listener, seen)
}

#[test]
fn libtorrent_leeches_a_hybrid_from_a_ferry_seeder() {
    let env = TestEnv::get();
    let (dir, bytes, torrent) = fixture(env, TorrentMode::Hybrid);
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let ours = memory_seed(&torrent.path, bytes);
    let v2_cut: [u8; 20] = ours.hashes.v2.expect("hybrid")[..20]
        .try_into()
        .expect("32 > 20");
    let v1 = ours.hashes.v1.expect("hybrid");
    let (listener, seen) = listen_seed(&rt, ours);
    let peers = Peers {
        connect_to: vec![listener.local_addr()],
    };
    let out = dir.path().join("out");
    let mut leecher =
        Client::Libtorrent.fetch(env, &Source::File(torrent.path.clone()), &out, &peers);
    if let Err(e) = leecher.wait_complete(WAIT) {
        panic!("{e}\n{}", leecher.log());
    }
    let got = std::fs::read(out.join("data.bin")).expect("libtorrent wrote data.bin");
    let want = std::fs::read(dir.path().join("seed").join("data.bin")).expect("source");
    assert!(got == want, "libtorrent's copy differs");
    // libtorrent told a hybrid's peer by hand dials with either hash (both were seen).
    let hashes = seen.lock().expect("not poisoned").clone();
    assert!(!hashes.is_empty(), "no incoming connection");
    assert!(
        hashes.iter().all(|h| [v1, v2_cut].contains(h)),
        "{hashes:x?}"
    );
    drop(listener);
}

/// Dials `addr` until something listens there (aria2 opens its peer port a moment after
/// its RPC port, which is what the harness waits for), for at most [`WAIT`].
async fn dial_until_listening(
    addr: SocketAddr,
    ours: Arc<PeerTorrent>,
    events: EventSender,
) -> Result<PeerHandle, ConnectError> {
    let mut tries = tokio::time::interval(Duration::from_millis(100));
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        tries.tick().await;
        let refused = match connect(addr, ours.clone(), &PeerConfig::new(), events.clone()).await {
            Err(ConnectError::Connect(e)) => e,
            other => return other,
        };
        if tokio::time::Instant::now() >= deadline {
            return Err(ConnectError::Connect(refused));
        }
    }
}

/// aria2 cannot be told a peer: our seeder dials it (a v1 torrent: aria2 1.36 gets a
/// hybrid's v1 hash wrong) and serves it over that outgoing connection.
#[test]
fn aria2_leeches_v1_from_a_ferry_seeder_that_dials_it() {
    let env = TestEnv::get();
    let (dir, bytes, torrent) = fixture(env, TorrentMode::V1);
    let out = dir.path().join("out");
    let source = Source::File(torrent.path.clone());
    let mut leecher = Client::Aria2.fetch(env, &source, &out, &Peers::default());
    let ours = memory_seed(&torrent.path, bytes.clone());
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let (dialled, handles) = mpsc::channel(1);
    let (tx, events) = mpsc::channel(64);
    let peer = rt.block_on(dial_until_listening(leecher.listen_addr(), ours, tx));
    let peer = peer.unwrap_or_else(|e| panic!("dialling aria2: {e}\n{}", leecher.log()));
    dialled.try_send(peer).expect("room for one handle");
    rt.spawn(unchoke_interested(handles, events, Seen::default()));
    if let Err(e) = leecher.wait_complete(WAIT) {
        panic!("{e}\n{}", leecher.log());
    }
    let got = std::fs::read(out.join("data.bin")).expect("aria2 wrote data.bin");
    assert!(got == bytes, "aria2's copy differs");
}
