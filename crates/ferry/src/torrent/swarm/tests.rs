//! The swarm loop on loopback, in one process: a seed and a download, a peer that
//! sends bad data beside a good one, a cancelled download resumed, and a magnet's
//! metadata. The real clients are in interop/tests/bt_swarm.rs.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use ferry_proto::torrent::build::Extras;
use ferry_proto::torrent::hashes::LayerServer;
use ferry_proto::torrent::magnet::Magnet;
use ferry_proto::torrent::metainfo::{InfoHashes, Metainfo, Version};
use ferry_proto::torrent::wire::{Bitfield, BlockRef};
use tokio::sync::mpsc;

use super::*;
use crate::torrent::create::{create, CreateOptions, Source};
use crate::torrent::peer::{BlockSource, PeerCommand, PeerEvent, Torrent};

const LOOPBACK: &str = "127.0.0.1:0";
const LOOPBACK_IP: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
/// Every test is over in seconds; this only stops a broken one.
const LIMIT: Duration = Duration::from_secs(60);

/// `dir/share/` with two files of random bytes (`a` is 1.5 MiB), and its torrent.
fn shared_tree(dir: &Path, version: Version) -> Metainfo {
    let root = dir.join("share");
    std::fs::create_dir_all(&root).unwrap();
    let a: Vec<u8> = (0..1_500_000).map(|_| rand::random::<u8>()).collect();
    std::fs::write(root.join("a"), a).unwrap();
    std::fs::write(root.join("b"), b"a small file").unwrap();
    let options = CreateOptions {
        version,
        piece_length: Some(64 << 10),
        extras: Extras::default(),
        threads: 2,
    };
    let made = create(
        &Source::scan(&root).unwrap(),
        &options,
        &mut |_| {},
        &|| false,
    )
    .unwrap();
    Metainfo::parse(&made.torrent).unwrap()
}

fn options(peers: Vec<SocketAddr>) -> SwarmOptions {
    let mut o = SwarmOptions::new(LOOPBACK.parse().unwrap());
    o.peers = peers;
    o.timing = SwarmTiming::fast();
    o
}

/// Starts seeding `dir/<name>`; returns where it listens.
async fn start_seed(dir: &Path, meta: &Metainfo, cancel: &Cancel) -> SocketAddr {
    start_seed_with(dir, meta, cancel, Vec::new()).await
}

/// A seed that dials `peers` too.
async fn start_seed_with(
    dir: &Path,
    meta: &Metainfo,
    cancel: &Cancel,
    peers: Vec<SocketAddr>,
) -> SocketAddr {
    start_seed_opts(dir, meta, cancel, options(peers)).await
}

async fn start_seed_opts(
    dir: &Path,
    meta: &Metainfo,
    cancel: &Cancel,
    options: SwarmOptions,
) -> SocketAddr {
    let storage = Storage::open_seed(dir, meta).unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let cancel = cancel.clone();
    tokio::spawn(async move {
        let report = move |r| {
            if let Report::Listening(a) = r {
                let _ = tx.send(a);
            }
        };
        seed(storage, options, report, &cancel).await
    });
    rx.recv().await.unwrap()
}

fn same_tree(a: &Path, b: &Path) {
    for name in ["a", "b"] {
        let (x, y) = (
            std::fs::read(a.join(name)).unwrap(),
            std::fs::read(b.join(name)).unwrap(),
        );
        assert!(x == y, "{name} differs");
    }
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".ferry-torrent-"))
        .collect()
}

async fn download(
    meta: Metainfo,
    out: &Path,
    peers: Vec<SocketAddr>,
) -> (Result<PathBuf>, Vec<Report>) {
    download_with(meta, out, options(peers)).await
}

async fn download_with(
    meta: Metainfo,
    out: &Path,
    options: SwarmOptions,
) -> (Result<PathBuf>, Vec<Report>) {
    let reports = Arc::new(Mutex::new(Vec::new()));
    let log = reports.clone();
    let cancel = Cancel::new();
    let got = tokio::time::timeout(
        LIMIT,
        get(
            meta,
            out,
            options,
            move |r| {
                if std::env::var("SWARM_DEBUG").is_ok() {
                    eprintln!("{r:?}");
                }
                log.lock().unwrap().push(r)
            },
            &cancel,
        ),
    )
    .await
    .expect("the download ends");
    let reports = reports.lock().unwrap().clone();
    (got, reports)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seed_serves_a_download_that_lands_whole() {
    for version in [Version::V1, Version::V2, Version::Hybrid] {
        let (src, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let meta = shared_tree(src.path(), version);
        let stop = Cancel::new();
        let seed_at = start_seed(src.path(), &meta, &stop).await;
        let (got, _) = download(meta, out.path(), vec![seed_at]).await;
        let path = got.unwrap();
        assert_eq!(path, out.path().join("share"), "{version:?}");
        same_tree(&src.path().join("share"), &path);
        assert!(leftovers(out.path()).is_empty(), "nothing else is left");
        stop.cancel();
    }
}

/// Claims every piece and serves bytes that are all wrong.
struct Liar {
    pieces: u32,
}

impl BlockSource for Liar {
    fn have(&self) -> Bitfield {
        Bitfield::full(self.pieces)
    }

    fn read_block(&self, block: BlockRef) -> io::Result<Vec<u8>> {
        Ok(vec![0x5a; block.length as usize])
    }
}

/// A peer that has "everything" and sends garbage, until the test ends; it answers
/// hash requests from `layers` when given.
async fn start_liar(meta: &Metainfo) -> (SocketAddr, crate::torrent::peer::Listener) {
    start_liar_with(meta, None).await
}

async fn start_liar_with(
    meta: &Metainfo,
    layers: Option<Arc<LayerServer>>,
) -> (SocketAddr, crate::torrent::peer::Listener) {
    let storage = Storage::open_seed(Path::new("/nonexistent"), meta);
    assert!(storage.is_err(), "the liar has no data");
    let torrent = stand_in(meta, |pieces| Arc::new(Liar { pieces }), layers, false);
    // Unchoke whoever comes.
    listen_stand_in(torrent, |event| match event {
        None => Some(PeerCommand::Choke(false)),
        Some(_) => None,
    })
    .await
}

/// Listens for `torrent` on loopback until the test ends, keeping every connection
/// (dropping one closes it); `answer` says what to tell a connection when it comes
/// (`None`) and after each of its events.
async fn listen_stand_in(
    torrent: Arc<Torrent>,
    answer: impl Fn(Option<&PeerEvent>) -> Option<PeerCommand> + Send + 'static,
) -> (SocketAddr, crate::torrent::peer::Listener) {
    let listener =
        crate::torrent::peer::Listener::bind(LOOPBACK.parse().unwrap(), Default::default())
            .await
            .unwrap();
    let (events, mut rx) = mpsc::channel(64);
    let mut handles = listener.add(torrent, events);
    tokio::spawn(async move {
        let mut kept = std::collections::HashMap::new();
        loop {
            let (id, command) = tokio::select! {
                Some(h) = handles.recv() => {
                    let id = h.id;
                    kept.insert(id, h);
                    (id, answer(None))
                }
                Some((id, event)) = rx.recv() => (id, answer(Some(&event))),
                else => break,
            };
            if let (Some(command), Some(h)) = (command, kept.get(&id)) {
                let _ = h.commands.send(command).await;
            }
        }
    });
    (listener.local_addr(), listener)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_sending_bad_data_is_banned_and_the_pieces_come_from_the_other() {
    let (src, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let meta = shared_tree(src.path(), Version::Hybrid);
    let (liar, _keep) = start_liar(&meta).await;
    let stop = Cancel::new();
    let honest = start_seed(src.path(), &meta, &stop).await;
    let (got, reports) = download(meta, out.path(), vec![liar, honest]).await;
    same_tree(&src.path().join("share"), &got.unwrap());
    let banned: Vec<SocketAddr> = reports
        .iter()
        .filter_map(|r| match r {
            Report::Banned { peer, .. } => Some(*peer),
            _ => None,
        })
        .collect();
    assert!(!banned.is_empty(), "the liar was caught: {reports:?}");
    assert!(
        banned.iter().all(|p| *p == liar),
        "only the liar: {banned:?}"
    );
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_download_resumes_from_its_verified_pieces() {
    let (src, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let meta = shared_tree(src.path(), Version::V1);
    let stop = Cancel::new();
    // The first run's only seed lacks a piece (its copy has a wrong byte), so the
    // run cannot complete before it is stopped, once some pieces are in.
    let partial = tempfile::tempdir().unwrap();
    let copy = partial.path().join("share");
    std::fs::create_dir(&copy).unwrap();
    for name in ["a", "b"] {
        std::fs::copy(src.path().join("share").join(name), copy.join(name)).unwrap();
    }
    let mut a = std::fs::read(copy.join("a")).unwrap();
    a[1_000_000] ^= 1;
    std::fs::write(copy.join("a"), a).unwrap();
    let partial_at = start_seed(partial.path(), &meta, &stop).await;
    let seed_at = start_seed(src.path(), &meta, &stop).await;
    let cancel = Cancel::new();
    let stopper = cancel.clone();
    let first = get(
        meta.clone(),
        out.path(),
        options(vec![partial_at]),
        move |r| {
            if matches!(r, Report::Progress(ref p) if p.have > 0 && p.have < p.total) {
                stopper.cancel();
            }
        },
        &cancel,
    );
    let first = tokio::time::timeout(LIMIT, first).await.unwrap();
    assert!(
        matches!(first, Err(SwarmError::Ferry(Error::Cancelled))),
        "{first:?}"
    );
    assert_eq!(
        leftovers(out.path()).len(),
        1,
        "the partial download is kept"
    );
    assert!(!out.path().join("share").exists());

    let (got, reports) = download(meta, out.path(), vec![seed_at]).await;
    same_tree(&src.path().join("share"), &got.unwrap());
    let resumed = reports.iter().find_map(|r| match r {
        Report::Resumed { pieces, .. } => Some(*pieces),
        _ => None,
    });
    assert!(resumed.is_some_and(|n| n > 0), "{reports:?}");
    assert!(leftovers(out.path()).is_empty());
    stop.cancel();
}

fn magnet(hashes: InfoHashes, peers: Vec<SocketAddr>) -> Magnet {
    Magnet {
        hashes,
        peers,
        ..Magnet::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_magnet_gets_its_metadata_and_piece_layers_from_a_seed() {
    let src = tempfile::tempdir().unwrap();
    let meta = shared_tree(src.path(), Version::Hybrid);
    assert_eq!(meta.piece_layers.len(), 1, "`a` is 23 pieces");
    let stop = Cancel::new();
    let seed_at = start_seed(src.path(), &meta, &stop).await;
    let fetch = |hashes| {
        let link = magnet(hashes, vec![seed_at]);
        async move { metainfo_from_magnet(&link, &options(Vec::new()), 0, LIMIT, |_| {}).await }
    };
    let got = fetch(meta.info.hashes).await.unwrap();
    assert_eq!(got.info_bytes, meta.info_bytes);
    assert_eq!(got.info.hashes, meta.info.hashes);
    assert_eq!(got.info.version, Version::Hybrid, "both hashes verify");
    assert_eq!(got.piece_layers, meta.piece_layers);

    let v1 = InfoHashes {
        v2: None,
        ..meta.info.hashes
    };
    let got = fetch(v1).await.unwrap();
    assert_eq!(
        got.info.version,
        Version::V1,
        "a btih-only link: SHA-1 alone"
    );
    assert!(got.piece_layers.is_empty());

    let v2 = InfoHashes {
        v1: None,
        ..meta.info.hashes
    };
    let got = fetch(v2).await.unwrap();
    assert_eq!(got.info.version, Version::Hybrid);
    assert_eq!(got.piece_layers, meta.piece_layers);
    let nowhere = Magnet {
        hashes: meta.info.hashes,
        ..Magnet::default()
    };
    let refused = metainfo_from_magnet(&nowhere, &options(Vec::new()), 0, LIMIT, |_| {}).await;
    assert!(
        matches!(refused, Err(MetadataError::Nowhere)),
        "{refused:?}"
    );
    stop.cancel();
}

/// A v2-only link: a peer whose hashes do not lead to the roots is passed over; a v2
/// torrent's layers come from the honest seed, and the download verifies by them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_v2_only_magnet_downloads_with_layers_from_an_honest_peer() {
    let (src, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // The forger serves a hybrid (its stand-in connection needs a linear layout).
    let hybrid = shared_tree(tempfile::tempdir().unwrap().path(), Version::Hybrid);
    let mut forged = hybrid.piece_layers.clone();
    forged.values_mut().for_each(|layer| layer[3][0] ^= 1);
    let forger = Arc::new(LayerServer::new(&hybrid.info, &forged));
    let (liar, _keep) = start_liar_with(&hybrid, Some(forger)).await;
    let v2_only = InfoHashes {
        v1: None,
        ..hybrid.info.hashes
    };
    let link = magnet(v2_only, vec![liar]);
    let short = Duration::from_secs(1);
    let refused = metainfo_from_magnet(&link, &options(Vec::new()), 0, short, |_| {}).await;
    let Err(MetadataError::NotFound {
        last: Some(why), ..
    }) = refused
    else {
        panic!("{refused:?}")
    };
    assert!(why.contains("pieces root"), "{why}");

    let meta = shared_tree(src.path(), Version::V2);
    let stop = Cancel::new();
    let seed_at = start_seed(src.path(), &meta, &stop).await;
    let link = magnet(meta.info.hashes, vec![seed_at]);
    let got = metainfo_from_magnet(&link, &options(Vec::new()), 0, LIMIT, |_| {})
        .await
        .unwrap();
    assert_eq!(got.info.version, Version::V2);
    assert_eq!(got.piece_layers, meta.piece_layers);
    let (path, _) = download(got, out.path(), vec![seed_at]).await;
    same_tree(&src.path().join("share"), &path.unwrap());
    stop.cancel();
}

/// Has nothing.
struct Empty {
    pieces: u32,
}

impl BlockSource for Empty {
    fn have(&self) -> Bitfield {
        Bitfield::empty(self.pieces)
    }

    fn read_block(&self, _: BlockRef) -> io::Result<Vec<u8>> {
        Err(io::ErrorKind::NotFound.into())
    }
}

/// A peer of `meta`'s torrent (which must be linear) with data from `source(pieces)`.
fn stand_in(
    meta: &Metainfo,
    source: impl FnOnce(u32) -> Arc<dyn BlockSource>,
    layers: Option<Arc<LayerServer>>,
    pex: bool,
) -> Arc<Torrent> {
    let shape = ferry_proto::torrent::storage::PieceMap::new(&meta.info).shape();
    let ferry_proto::torrent::swarm::Shape::Linear(layout) = shape else {
        panic!("a linear torrent")
    };
    Arc::new(Torrent {
        hashes: meta.info.hashes,
        layout,
        source: source(layout.pieces),
        info: Some(Bytes::from(meta.info_bytes.clone())),
        layers,
        pex,
    })
}

/// A peer that has nothing and speaks `ut_pex`.
fn empty_torrent(meta: &Metainfo) -> Arc<Torrent> {
    stand_in(meta, |pieces| Arc::new(Empty { pieces }), None, true)
}

/// Has nothing; tells whoever connects (once it announced `ut_pex`) of `named`.
async fn start_gossip(
    meta: &Metainfo,
    named: SocketAddr,
) -> (SocketAddr, crate::torrent::peer::Listener) {
    use ferry_proto::torrent::wire::pex::Pex;
    listen_stand_in(empty_torrent(meta), move |event| match event {
        Some(PeerEvent::ExtHandshake(_)) => Some(PeerCommand::Pex(Pex {
            added: vec![named],
            dropped: Vec::new(),
        })),
        _ => None,
    })
    .await
}

/// The download is given one peer, which has nothing but names the seed (BEP 11): the
/// seed is dialled and the download completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_heard_of_by_pex_is_dialled() {
    let (src, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let meta = shared_tree(src.path(), Version::Hybrid);
    let stop = Cancel::new();
    let seed_at = start_seed(src.path(), &meta, &stop).await;
    let (gossip, _keep) = start_gossip(&meta, seed_at).await;
    let (got, _) = download(meta, out.path(), vec![gossip]).await;
    same_tree(&src.path().join("share"), &got.unwrap());
    stop.cancel();
}

/// A seed connected to another tells a newcomer of it, by the address the other
/// listens on (from its extension handshake: it dialled in).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seed_tells_its_peers_of_the_others() {
    use crate::torrent::peer::{connect, PeerConfig};
    let src = tempfile::tempdir().unwrap();
    let meta = shared_tree(src.path(), Version::V1);
    let stop = Cancel::new();
    let first = start_seed(src.path(), &meta, &stop).await;
    let second = start_seed_with(src.path(), &meta, &stop, vec![first]).await;
    let (tx, mut events) = mpsc::channel(64);
    let me = connect(first, empty_torrent(&meta), &PeerConfig::new(), tx)
        .await
        .unwrap();
    let heard = tokio::time::timeout(LIMIT, async {
        loop {
            match events.recv().await {
                Some((_, PeerEvent::Pex(added))) if added.contains(&second) => return added,
                Some((_, PeerEvent::Closed(why))) => panic!("closed: {why}"),
                Some(_) => {}
                None => panic!("no more events"),
            }
        }
    })
    .await
    .expect("the seed named the other");
    assert_eq!(heard, vec![second], "not ourselves, not the seed itself");
    drop(me);
    stop.cancel();
}

/// BEP 5: a seed and a magnet-only download that know of each other through nothing but
/// a DHT (three `mainline` nodes on loopback, the crate's own test network): the seed
/// announces itself, the download finds it, fetches the metadata and the data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_magnet_alone_finds_its_seed_through_the_dht() {
    let testnet = tokio::task::spawn_blocking(|| mainline::Testnet::builder(3).build())
        .await
        .unwrap()
        .unwrap();
    let node = || DhtNode::start(LOOPBACK_IP, testnet.bootstrap.clone());
    let (src, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let meta = shared_tree(src.path(), Version::V1);
    let stop = Cancel::new();
    let mut seeding = options(Vec::new());
    seeding.dht = Some(node());
    start_seed_opts(src.path(), &meta, &stop, seeding).await;
    let mut getting = options(Vec::new());
    getting.dht = Some(node());
    let link = magnet(meta.info.hashes, Vec::new());
    let found = metainfo_from_magnet(&link, &getting, 0, LIMIT, |_| {}).await;
    let found = found.unwrap();
    assert_eq!(found.info_bytes, meta.info_bytes);
    let (got, _) = download_with(found, out.path(), getting).await;
    same_tree(&src.path().join("share"), &got.unwrap());
    stop.cancel();
}
