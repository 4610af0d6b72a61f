//! The pipelines over a real loopback socket: what arrives is what was sent, in
//! order, and a bad record stops the receiver before anything after it is written.

use std::io::Write;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

use ferry_proto::crypto::kdf::TransitKey;
use ferry_proto::transit::record::Sealer;
use ferry_proto::transit::Role;

use super::{TransitStream, PEER_RECORD_SIZE, RECORD_SIZE};
use crate::error::{Error, LocalError, NetworkError, PeerError};
use crate::transit::race::Conn;

fn key() -> TransitKey {
    TransitKey::from_bytes([9; 32])
}

async fn socket_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (a, b) = tokio::join!(TcpStream::connect(addr), listener.accept());
    (a.unwrap(), b.unwrap().0)
}

async fn stream_pair() -> (TransitStream, TransitStream) {
    let (a, b) = socket_pair().await;
    let sender = TransitStream::new(Conn::Tcp(a), Role::Sender, &key(), "test".into());
    let receiver = TransitStream::new(Conn::Tcp(b), Role::Receiver, &key(), "test".into());
    (sender, receiver)
}

/// A sink whose bytes the test can read afterwards.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A progress callback that ignores progress.
fn quiet() -> impl FnMut(u64) + Send {
    |_| {}
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[tokio::test]
async fn files_of_every_awkward_size_arrive_intact() {
    let sizes = [
        0,
        1,
        RECORD_SIZE - 1,
        RECORD_SIZE,
        3 * RECORD_SIZE + 7,
        40 * RECORD_SIZE,
    ];
    for (len, record) in sizes
        .into_iter()
        .flat_map(|len| [(len, RECORD_SIZE), (len, PEER_RECORD_SIZE)])
    {
        let (mut tx, mut rx) = stream_pair().await;
        let sent = data(len);
        let sink = Shared::default();
        let source = Box::new(std::io::Cursor::new(sent.clone()));
        let (mut p1, mut p2) = (quiet(), quiet());
        let (sent_digest, got_digest) = tokio::join!(
            tx.send_from(source, (len as u64, record), &mut p1),
            rx.receive_into(Box::new(sink.clone()), len as u64, &mut p2),
        );
        let want: [u8; 32] = Sha256::digest(&sent).into();
        assert_eq!(sent_digest.unwrap(), want, "len {len}");
        assert_eq!(got_digest.unwrap(), want, "len {len}");
        assert!(*sink.0.lock().unwrap() == sent, "len {len}");
        // The ack still flows the other way after the bulk data.
        rx.write_record(b"ack").await.unwrap();
        let mut buf = Vec::new();
        let start = tx.read_record(&mut buf).await.unwrap();
        assert_eq!(&buf[start..], b"ack");
    }
}

/// Frames as a peer writes them: 16 KiB records, numbered from 0.
fn peer_frames(payload: &[u8]) -> Vec<Vec<u8>> {
    let mut sealer = Sealer::new(&key(), Role::Sender);
    payload
        .chunks(16 * 1024)
        .map(|chunk| {
            let mut frame = Vec::new();
            sealer.seal_frame(chunk, &mut frame);
            frame
        })
        .collect()
}

/// Feeds `frames` to a receiving stream; returns its result and what it wrote.
async fn receive_frames(frames: Vec<Vec<u8>>, size: u64) -> (Result<[u8; 32], Error>, Vec<u8>) {
    let (mut a, b) = socket_pair().await;
    let mut rx = TransitStream::new(Conn::Tcp(b), Role::Receiver, &key(), "test".into());
    let sink = Shared::default();
    // Hangs up after the last frame, as a peer that stops early would.
    let feed = async move {
        for f in frames {
            if a.write_all(&f).await.is_err() {
                break;
            }
        }
    };
    let mut progress = quiet();
    let ((), got) = tokio::join!(
        feed,
        rx.receive_into(Box::new(sink.clone()), size, &mut progress)
    );
    let written = sink.0.lock().unwrap().clone();
    (got, written)
}

#[tokio::test]
async fn small_records_from_peers_are_accepted() {
    let payload = data(1_000_000);
    let (got, written) = receive_frames(peer_frames(&payload), payload.len() as u64).await;
    assert_eq!(got.unwrap(), <[u8; 32]>::from(Sha256::digest(&payload)));
    assert!(written == payload);
}

#[tokio::test]
async fn records_of_mixed_sizes_batch_and_split_correctly() {
    let sizes = [
        1,
        16 * 1024,
        300_000,
        5 << 20,
        7,
        16 * 1024,
        2 * RECORD_SIZE,
        3,
    ];
    let payload = data(sizes.iter().sum());
    let mut sealer = Sealer::new(&key(), Role::Sender);
    let mut rest = &payload[..];
    let frames = sizes
        .iter()
        .map(|&n| {
            let (chunk, tail) = rest.split_at(n);
            rest = tail;
            let mut frame = Vec::new();
            sealer.seal_frame(chunk, &mut frame);
            frame
        })
        .collect();
    let (got, written) = receive_frames(frames, payload.len() as u64).await;
    assert_eq!(got.unwrap(), <[u8; 32]>::from(Sha256::digest(&payload)));
    assert!(written == payload);
}

#[tokio::test]
async fn a_forged_record_stops_everything_after_it() {
    let payload = data(64 * 16 * 1024);
    let mut frames = peer_frames(&payload);
    *frames[10].last_mut().unwrap() ^= 1;
    let (got, written) = receive_frames(frames, payload.len() as u64).await;
    assert!(
        matches!(got, Err(Error::Peer(PeerError::Integrity(_)))),
        "{got:?}"
    );
    assert!(written.len() <= 10 * 16 * 1024);
    assert!(payload.starts_with(&written));
}

#[tokio::test]
async fn replayed_and_reordered_records_are_refused() {
    let payload = data(8 * 16 * 1024);
    let mut replayed = peer_frames(&payload);
    replayed[3] = replayed[2].clone();
    let (got, _) = receive_frames(replayed, payload.len() as u64).await;
    assert!(
        matches!(got, Err(Error::Peer(PeerError::Integrity(_)))),
        "{got:?}"
    );
    let mut swapped = peer_frames(&payload);
    swapped.swap(4, 5);
    let (got, written) = receive_frames(swapped, payload.len() as u64).await;
    assert!(
        matches!(got, Err(Error::Peer(PeerError::Integrity(_)))),
        "{got:?}"
    );
    assert!(written.len() <= 4 * 16 * 1024);
}

#[tokio::test]
async fn more_than_offered_is_a_protocol_error() {
    let payload = data(3 * 16 * 1024);
    let (got, _) = receive_frames(peer_frames(&payload), 2 * 16 * 1024 + 1).await;
    assert!(
        matches!(got, Err(Error::Peer(PeerError::Protocol(_)))),
        "{got:?}"
    );
}

#[tokio::test]
async fn a_peer_that_hangs_up_early_is_reported() {
    let payload = data(3 * 16 * 1024);
    let (got, _) = receive_frames(peer_frames(&payload), 4 * 16 * 1024).await;
    assert!(
        matches!(got, Err(Error::Peer(PeerError::Vanished))),
        "{got:?}"
    );
}

#[tokio::test]
async fn a_file_that_shrinks_is_a_local_error() {
    let (mut tx, mut rx) = stream_pair().await;
    let source = Box::new(std::io::Cursor::new(data(RECORD_SIZE + 5)));
    let sink = Shared::default();
    let size = 3 * RECORD_SIZE as u64;
    let (mut p1, mut p2) = (quiet(), quiet());
    let receiving = rx.receive_into(Box::new(sink), size, &mut p1);
    let (sent, _) = tokio::join!(
        async {
            let r = tx.send_from(source, (size, RECORD_SIZE), &mut p2).await;
            drop(tx);
            r
        },
        receiving
    );
    assert!(
        matches!(sent, Err(Error::Local(LocalError::Io { .. }))),
        "{sent:?}"
    );
}

/// A v1 receiver (or path) that stops taking data is noticed by the sender
/// within the idle bound, as a silent peer, not waited on forever.
#[tokio::test(start_paused = true)]
async fn a_receiver_that_takes_nothing_is_noticed_within_the_idle_bound() {
    let (mut tx, _rx_never_reads) = stream_pair().await;
    let idle = std::time::Duration::from_secs(30);
    tx.idle = Some(idle);
    let size = 256 * RECORD_SIZE as u64;
    let source = Box::new(std::io::Cursor::new(vec![7u8; size as usize]));
    let sent = tx
        .send_from(source, (size, RECORD_SIZE), &mut quiet())
        .await;
    assert!(
        matches!(sent, Err(Error::Network(NetworkError::Silent(d))) if d == idle),
        "{sent:?}"
    );
}
