//! ferry ↔ ferry over loopback: a listener seeding from memory, a connection leeching,
//! and raw sockets playing hostile peers.

use std::time::Duration;

use ferry_proto::torrent::metainfo::Version;
use ferry_proto::torrent::wire::extension::MAX_METADATA_SIZE;
use ferry_proto::torrent::wire::{Handshake, HANDSHAKE_LEN, MAX_BLOCK};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::*;

/// Every wait in these tests: far more than loopback needs.
const WAIT: Duration = Duration::from_secs(10);
const PIECE: u32 = 32 * 1024;
/// Three pieces, the last one short (and its last block too).
const TOTAL: usize = 2 * PIECE as usize + 20_000;

struct Memory {
    data: Vec<u8>,
    have: Bitfield,
}

impl BlockSource for Memory {
    fn have(&self) -> Bitfield {
        self.have.clone()
    }

    fn read_block(&self, b: BlockRef) -> io::Result<Vec<u8>> {
        let start = (b.index * PIECE + b.begin) as usize;
        Ok(self.data[start..start + b.length as usize].to_vec())
    }
}

fn content() -> Vec<u8> {
    (0..TOTAL).map(|i| (i * 7 % 251) as u8).collect()
}

fn layout() -> Layout {
    Layout {
        pieces: 3,
        piece_len: PIECE,
        total: TOTAL as u64,
    }
}

/// The info dictionary stand-in: any bytes; its hashes name the torrent.
fn info() -> Bytes {
    (0..40_000u32)
        .map(|i| (i % 13) as u8)
        .collect::<Vec<_>>()
        .into()
}

fn torrent(version: Version, have: &[u32]) -> Arc<Torrent> {
    let mut field = Bitfield::empty(3);
    have.iter().for_each(|p| assert!(field.set(*p)));
    let info = info();
    Arc::new(Torrent {
        hashes: InfoHashes::of(&info, version),
        layout: layout(),
        source: Arc::new(Memory {
            data: content(),
            have: field,
        }),
        info: Some(info),
        layers: None,
        pex: false,
    })
}

fn config() -> PeerConfig {
    let mut config = PeerConfig::new();
    config.timing = PeerTiming::fast(WAIT);
    config
}

type Events = mpsc::Receiver<(ConnId, PeerEvent)>;

/// A seeder listening on loopback: its listener, its events, its incoming handles.
async fn seeder(
    torrent: Arc<Torrent>,
    config: PeerConfig,
) -> (Listener, Events, mpsc::Receiver<PeerHandle>) {
    let listener = Listener::bind("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap();
    let (tx, events) = mpsc::channel(16);
    let handles = listener.add(torrent, tx);
    (listener, events, handles)
}

/// The next event that `want` accepts (others skipped); panics on close or after WAIT.
async fn wait_for(events: &mut Events, what: &str, want: impl Fn(&PeerEvent) -> bool) -> PeerEvent {
    let found = tokio::time::timeout(WAIT, async {
        loop {
            let (_, event) = events.recv().await.expect("event channel open");
            if want(&event) {
                return event;
            }
            if let PeerEvent::Closed(reason) = event {
                panic!("closed while waiting for {what}: {reason}");
            }
        }
    });
    found
        .await
        .unwrap_or_else(|_| panic!("no {what} within {WAIT:?}"))
}

async fn closed(events: &mut Events) -> CloseReason {
    let found = tokio::time::timeout(WAIT, async {
        loop {
            if let (_, PeerEvent::Closed(reason)) = events.recv().await.expect("channel open") {
                return reason;
            }
        }
    });
    found.await.expect("closed within WAIT")
}

fn block(index: u32, begin: u32, length: u32) -> BlockRef {
    BlockRef {
        index,
        begin,
        length,
    }
}

/// Every block of the layout, 16 KiB each, the last ones short.
fn all_blocks() -> Vec<BlockRef> {
    let l = layout();
    (0..l.pieces)
        .flat_map(|p| {
            let size = l.piece_size(p);
            (0..size.div_ceil(MAX_BLOCK))
                .map(move |i| block(p, i * MAX_BLOCK, (size - i * MAX_BLOCK).min(MAX_BLOCK)))
        })
        .collect()
}

#[tokio::test]
async fn a_ferry_seeder_serves_every_block() {
    let (listener, mut seed_events, mut handles) =
        seeder(torrent(Version::Hybrid, &[0, 1, 2]), config()).await;
    let (tx, mut events) = mpsc::channel(16);
    let leech = torrent(Version::Hybrid, &[]);
    let peer = connect(listener.local_addr(), leech, &config(), tx)
        .await
        .unwrap();
    assert!(peer.reserved.has(Reserved::EXTENSION_PROTOCOL) && peer.reserved.has(Reserved::V2));
    let PeerEvent::Bitfield(field) = wait_for(&mut events, "bitfield", |e| {
        matches!(e, PeerEvent::Bitfield(_))
    })
    .await
    else {
        unreachable!()
    };
    assert_eq!(field, Bitfield::full(3));
    let PeerEvent::ExtHandshake(ext) = wait_for(&mut events, "ext handshake", |e| {
        matches!(e, PeerEvent::ExtHandshake(_))
    })
    .await
    else {
        unreachable!()
    };
    assert_eq!(ext.metadata_size, Some(40_000));
    assert_eq!(ext.p, Some(listener.local_addr().port()));
    assert_eq!(ext.reqq, Some(REQQ));

    let seed_side = handles.recv().await.unwrap();
    peer.commands
        .send(PeerCommand::Interested(true))
        .await
        .unwrap();
    wait_for(&mut seed_events, "interested", |e| {
        matches!(e, PeerEvent::Interested)
    })
    .await;
    seed_side
        .commands
        .send(PeerCommand::Choke(false))
        .await
        .unwrap();
    wait_for(&mut events, "unchoke", |e| matches!(e, PeerEvent::Unchoke)).await;

    let wanted = all_blocks();
    peer.commands
        .send(PeerCommand::Request(wanted.clone()))
        .await
        .unwrap();
    let data = content();
    for _ in &wanted {
        let PeerEvent::Block {
            block: b,
            data: got,
        } = wait_for(&mut events, "block", |e| {
            matches!(e, PeerEvent::Block { .. })
        })
        .await
        else {
            unreachable!()
        };
        let start = (b.index * PIECE + b.begin) as usize;
        assert_eq!(&got[..], &data[start..start + b.length as usize], "{b:?}");
    }
    peer.commands.send(PeerCommand::Close).await.unwrap();
    assert!(matches!(closed(&mut events).await, CloseReason::ByUs));
    assert!(matches!(
        closed(&mut seed_events).await,
        CloseReason::PeerClosed
    ));
}

#[tokio::test]
async fn a_request_for_a_piece_we_lack_closes_the_peer() {
    let (listener, mut seed_events, mut handles) =
        seeder(torrent(Version::V1, &[0]), config()).await;
    let (tx, mut events) = mpsc::channel(16);
    let peer = connect(
        listener.local_addr(),
        torrent(Version::V1, &[]),
        &config(),
        tx,
    )
    .await
    .unwrap();
    let seed_side = handles.recv().await.unwrap();
    seed_side
        .commands
        .send(PeerCommand::Choke(false))
        .await
        .unwrap();
    wait_for(&mut events, "unchoke", |e| matches!(e, PeerEvent::Unchoke)).await;
    peer.commands
        .send(PeerCommand::Request(vec![block(1, 0, MAX_BLOCK)]))
        .await
        .unwrap();
    let reason = closed(&mut seed_events).await;
    assert!(reason.is_peer_fault(), "{reason}");
    assert!(
        reason.to_string().contains("a piece we do not have"),
        "{reason}"
    );
    assert!(matches!(closed(&mut events).await, CloseReason::PeerClosed));
}

/// A raw client's handshake for `hash`.
async fn raw_peer(addr: SocketAddr, hash: [u8; 20]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let ours = Handshake {
        reserved: Reserved::default().with(Reserved::EXTENSION_PROTOCOL),
        info_hash: hash,
        peer_id: PeerId([b'r'; 20]),
    };
    stream.write_all(&ours.encode()).await.unwrap();
    stream
}

async fn read_handshake(stream: &mut TcpStream) -> Handshake {
    let mut bytes = [0; HANDSHAKE_LEN];
    stream.read_exact(&mut bytes).await.unwrap();
    match Handshake::decode(&bytes).unwrap() {
        ferry_proto::torrent::wire::Decoded::Done(h) => h,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_oversized_frame_closes_the_peer() {
    let t = torrent(Version::V1, &[0, 1, 2]);
    let hash = t.hashes.v1.unwrap();
    let (listener, mut seed_events, _handles) = seeder(t, config()).await;
    let mut raw = raw_peer(listener.local_addr(), hash).await;
    read_handshake(&mut raw).await;
    raw.write_all(&(2 * 1024 * 1024u32).to_be_bytes())
        .await
        .unwrap();
    let reason = closed(&mut seed_events).await;
    assert!(reason.is_peer_fault(), "{reason}");
    assert!(reason.to_string().contains("over the limit"), "{reason}");
}

#[tokio::test]
async fn an_unknown_infohash_is_refused_without_an_answer() {
    let (listener, _events, _handles) = seeder(torrent(Version::Hybrid, &[0]), config()).await;
    let mut raw = raw_peer(listener.local_addr(), [9; 20]).await;
    let mut rest = Vec::new();
    let read = tokio::time::timeout(WAIT, raw.read_to_end(&mut rest))
        .await
        .expect("closed");
    // Closed (EOF, or a reset if our handshake's tail was still unread), never answered.
    let reset = |e: &io::Error| e.kind() == io::ErrorKind::ConnectionReset;
    assert!(read.as_ref().map_or_else(reset, |n| *n == 0), "{read:?}");
    assert!(rest.is_empty(), "answered {rest:?}");
}

#[tokio::test]
async fn a_hybrid_is_found_by_its_truncated_v2_hash() {
    let t = torrent(Version::Hybrid, &[0, 1, 2]);
    let v2 = t.hashes.v2.unwrap();
    let (listener, _events, mut handles) = seeder(t.clone(), config()).await;
    assert_eq!(
        wire_hashes(&t.hashes),
        vec![t.hashes.v1.unwrap(), v2[..20].try_into().unwrap()]
    );
    let mut raw = raw_peer(listener.local_addr(), v2[..20].try_into().unwrap()).await;
    let answer = read_handshake(&mut raw).await;
    assert_eq!(
        &answer.info_hash[..],
        &v2[..20],
        "answered with the hash the peer used"
    );
    assert!(answer.reserved.has(Reserved::V2));
    let handle = tokio::time::timeout(WAIT, handles.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(handle.peer_id, PeerId([b'r'; 20]));
}

#[tokio::test]
async fn a_silent_peer_gets_keepalives_then_is_closed() {
    let t = torrent(Version::V1, &[]);
    let hash = t.hashes.v1.unwrap();
    let mut config = config();
    config.timing = PeerTiming::fast(Duration::from_millis(400));
    let (listener, mut seed_events, _handles) = seeder(t, config).await;
    let mut raw = raw_peer(listener.local_addr(), hash).await;
    read_handshake(&mut raw).await;
    // The extension handshake (no bitfield: the seeder has nothing), then a keep-alive.
    let mut len = [0; 4];
    raw.read_exact(&mut len).await.unwrap();
    let mut ext = vec![0; u32::from_be_bytes(len) as usize];
    raw.read_exact(&mut ext).await.unwrap();
    assert_eq!(ext[..2], [20, 0]);
    raw.read_exact(&mut len).await.unwrap();
    assert_eq!(len, [0; 4], "a keep-alive");
    assert!(matches!(
        closed(&mut seed_events).await,
        CloseReason::Idle(_)
    ));
}

#[tokio::test]
async fn metadata_from_a_ferry_seeder_is_checked_against_the_hash() {
    let t = torrent(Version::Hybrid, &[0]);
    let (listener, _events, _handles) = seeder(t.clone(), config()).await;
    let addr = listener.local_addr();
    let fetched = fetch_metadata(addr, &t.hashes, &config(), MAX_METADATA_SIZE, WAIT)
        .await
        .unwrap();
    assert_eq!(fetched.info, self::info());
    let v2_only = InfoHashes {
        v1: None,
        v2: t.hashes.v2,
    };
    assert_eq!(
        fetch_metadata(addr, &v2_only, &config(), MAX_METADATA_SIZE, WAIT)
            .await
            .unwrap()
            .info,
        self::info()
    );
    let liar = Arc::new(Torrent {
        hashes: InfoHashes::of(b"other bytes", Version::V1),
        ..clone_torrent(&t)
    });
    let (lying, _e, _h) = seeder(liar.clone(), config()).await;
    let wrong = fetch_metadata(
        lying.local_addr(),
        &liar.hashes,
        &config(),
        MAX_METADATA_SIZE,
        WAIT,
    )
    .await;
    assert!(
        matches!(wrong, Err(MetadataFetchError::HashMismatch)),
        "{wrong:?}"
    );
    let small = fetch_metadata(addr, &t.hashes, &config(), 1000, WAIT).await;
    assert!(
        matches!(small, Err(MetadataFetchError::Metadata(_))),
        "{small:?}"
    );
}

fn clone_torrent(t: &Torrent) -> Torrent {
    Torrent {
        hashes: t.hashes,
        layout: t.layout,
        source: t.source.clone(),
        info: t.info.clone(),
        layers: t.layers.clone(),
        pex: t.pex,
    }
}

/// A raw listener that answers a ferry dial with `answer(our hash)`.
async fn answering(answer: impl Fn([u8; 20]) -> [u8; 20] + Send + 'static) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let theirs = read_handshake(&mut stream).await;
        let ours = Handshake {
            reserved: Reserved::default().with(Reserved::V2),
            info_hash: answer(theirs.info_hash),
            peer_id: PeerId([b'l'; 20]),
        };
        stream.write_all(&ours.encode()).await.unwrap();
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest).await;
    });
    addr
}

#[tokio::test]
async fn a_dial_accepts_the_v2_upgrade_of_a_hybrid_and_nothing_else() {
    let t = torrent(Version::Hybrid, &[]);
    let v2_cut: [u8; 20] = t.hashes.v2.unwrap()[..20].try_into().unwrap();
    let (tx, _events) = mpsc::channel(16);
    let upgrade = answering(move |_| v2_cut).await;
    let peer = connect(upgrade, t.clone(), &config(), tx.clone())
        .await
        .unwrap();
    assert_eq!(peer.info_hash, v2_cut);
    let other = answering(|_| [7; 20]).await;
    let refused = connect(other, t, &config(), tx).await;
    assert!(
        matches!(refused, Err(ConnectError::WrongInfoHash)),
        "{refused:?}"
    );
}
