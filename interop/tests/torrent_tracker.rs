//! ferry's tracker clients against a real tracker: Debian's opentracker (installed by
//! interop/install-peers.sh), started on free loopback ports by each test and stopped by
//! PID. Two announces of one infohash from two ports must each see the other, over HTTP
//! and over UDP; opentracker's own refusal and a silent UDP tracker give clear errors.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ferry::tls::Trust;
use ferry::torrent::tracker::{AnnounceError, Cause, TrackerClient, TrackerTiming};
use ferry_proto::torrent::tracker::{Announce, Event, TrackerError};
use tokio::net::{TcpListener, UdpSocket};

/// Both listed in the tracker's whitelist (Debian builds opentracker with one).
const HTTP_HASH: [u8; 20] = [0x11; 20];
const UDP_HASH: [u8; 20] = [0x22; 20];
/// Announced until the tracker takes it: opentracker reads its whitelist on a thread of
/// its own after it starts listening, and refuses every infohash until then.
const READY_HASH: [u8; 20] = [0x44; 20];

struct Opentracker {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Opentracker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port free for TCP and UDP at once (opentracker takes the same number for both).
async fn free_port() -> u16 {
    for _ in 0..50 {
        let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind TCP");
        let port = tcp.local_addr().expect("local addr").port();
        if UdpSocket::bind(("127.0.0.1", port)).await.is_ok() {
            return port;
        }
    }
    panic!("no port free for both TCP and UDP");
}

async fn opentracker() -> Opentracker {
    let dir = tempfile::tempdir().expect("temp dir");
    let list = [HTTP_HASH, UDP_HASH, READY_HASH]
        .map(|h| hex::encode(h) + "\n")
        .concat();
    std::fs::write(dir.path().join("whitelist"), list).expect("write whitelist");
    let port = free_port().await;
    let child = spawn(dir.path(), port);
    let tracker = Opentracker {
        child,
        port,
        _dir: dir,
    };
    let url = format!("http://127.0.0.1:{port}/announce");
    let (client, ready) = (client(), announce(READY_HASH, 7000, Event::Started));
    for _ in 0..200 {
        // Refused (or not yet listening) until the whitelist is in.
        if client.announce(&url, &ready).await.is_ok() {
            return tracker;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("opentracker has not taken its whitelist on {port} after 200 tries");
}

fn spawn(dir: &Path, port: u16) -> Child {
    let port = port.to_string();
    Command::new("opentracker")
        .args([
            "-i",
            "127.0.0.1",
            "-p",
            &port,
            "-P",
            &port,
            "-w",
            "whitelist",
        ])
        .arg("-d")
        .arg(dir)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start opentracker (interop/install-peers.sh installs it)")
}

fn announce(info_hash: [u8; 20], port: u16, event: Event) -> Announce {
    let mut peer_id = *b"-FY0100-000000000000";
    peer_id[14..].copy_from_slice(format!("{port:06}").as_bytes());
    Announce {
        info_hash,
        peer_id,
        port,
        uploaded: 0,
        downloaded: 0,
        left: 1000,
        event,
        key: port.into(),
        numwant: Some(50),
    }
}

fn client() -> TrackerClient {
    TrackerClient::new(
        TrackerTiming::fast(Duration::from_secs(2), 3),
        Trust::system(),
    )
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Peer A announces, then B: B sees A; A announces again and sees B.
async fn two_peers_meet(url: &str, hash: [u8; 20]) {
    let client = client();
    client
        .announce(url, &announce(hash, 7001, Event::Started))
        .await
        .expect("A started");
    let b = client
        .announce(url, &announce(hash, 7002, Event::Started))
        .await
        .expect("B started");
    assert!(b.peers.contains(&local(7001)), "B got {:?}", b.peers);
    assert!(b.interval > 0);
    let a = client
        .announce(url, &announce(hash, 7001, Event::None))
        .await
        .expect("A again");
    assert!(a.peers.contains(&local(7002)), "A got {:?}", a.peers);
}

#[tokio::test]
async fn http_announces_meet() {
    let tracker = opentracker().await;
    let url = format!("http://127.0.0.1:{}/announce", tracker.port);
    two_peers_meet(&url, HTTP_HASH).await;
}

#[tokio::test]
async fn udp_announces_meet() {
    let tracker = opentracker().await;
    let url = format!("udp://127.0.0.1:{}/announce", tracker.port);
    two_peers_meet(&url, UDP_HASH).await;
}

/// Announces an infohash outside the whitelist over `scheme`; the error must read as
/// a refusal.
async fn refused(scheme: &str, port: u16) -> AnnounceError {
    let tracker = opentracker().await;
    let url = format!("{scheme}://127.0.0.1:{}/announce", tracker.port);
    let err = client()
        .announce(&url, &announce([0x33; 20], port, Event::Started))
        .await
        .expect_err("an infohash outside the whitelist is refused");
    let prefix = format!("tracker {url}: tracker refused: ");
    assert!(err.to_string().starts_with(&prefix), "{err}");
    err
}

/// opentracker refuses an infohash outside its whitelist; ferry reports its text.
#[tokio::test]
async fn refusal_is_reported_with_the_trackers_words() {
    let err = refused("http", 7003).await;
    let Cause::Tracker(TrackerError::Failure(text)) = &err.cause else {
        panic!("{err}")
    };
    assert!(text.contains("not authorized"), "{err}");
}

/// Over UDP opentracker refuses with an announce answer that stops after its
/// transaction id; ferry names it a refusal.
#[tokio::test]
async fn udp_refusal_is_a_clear_error() {
    let err = refused("udp", 7005).await;
    assert!(
        matches!(err.cause, Cause::Tracker(TrackerError::UdpEmptyAnnounce)),
        "{err}"
    );
}

/// A UDP tracker that never answers: 3 tries of 100, 200 and 400 ms, then a clear error.
#[tokio::test]
async fn silent_udp_tracker_is_a_bounded_clear_error() {
    let silent = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("udp://{}", silent.local_addr().expect("addr"));
    let client = TrackerClient::new(
        TrackerTiming::fast(Duration::from_millis(100), 3),
        Trust::system(),
    );
    let start = std::time::Instant::now();
    let err = client
        .announce(&url, &announce(UDP_HASH, 7004, Event::Started))
        .await
        .unwrap_err();
    let took = start.elapsed();
    assert!(
        matches!(err.cause, Cause::NoUdpAnswer { tries: 3, .. }),
        "{err}"
    );
    assert!(
        took >= Duration::from_millis(700) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("tracker {url}: no answer to 3 UDP tries over 700ms")
    );
}
