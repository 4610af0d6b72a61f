//! The BitTorrent harness (interop/src/bt/) proven with real pairs of clients: a torrent made
//! by libtorrent for a few MiB of random data, seeded by one client and fetched by another,
//! the fetcher's completion as it reports it, then its files compared with the source.
//! Peers are given by hand, or found through opentracker; one fetch starts from a magnet
//! link alone. Which client handles which torrent kind is recorded in docs/torrent/peers.md.

use std::path::PathBuf;
use std::time::Duration;

use ferry_interop::bt::{
    aria2_info_hash, pair, Client, Peers, Source, Swarm, Torrent, TorrentMode, Tracker,
};
use ferry_interop::data::random_file;
use ferry_interop::tree::Tree;
use ferry_interop::TestEnv;
use tempfile::TempDir;

/// One transfer of a few MiB on loopback takes well under a second once the clients run.
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);
const PIECE_SIZE: u32 = 256 * 1024;
/// The torrent's name: a directory of two files whose sizes end mid-piece, so that a hybrid
/// torrent has pad files after each.
const NAME: &str = "album";

/// The seeder's data (`seed/album/...`), an empty output directory and the torrent.
struct Fixture {
    dir: TempDir,
    torrent: Torrent,
}

impl Fixture {
    fn new(env: &TestEnv, mode: TorrentMode, trackers: &[String]) -> Fixture {
        let dir = env.scratch_dir("bt-");
        let content = dir.path().join("seed").join(NAME);
        std::fs::create_dir_all(&content).expect("content dir");
        random_file(&content.join("a.bin"), 3 * 1024 * 1024 + 1234).expect("a.bin");
        random_file(&content.join("b.bin"), 300_001).expect("b.bin");
        std::fs::create_dir_all(dir.path().join("out")).expect("out dir");
        let path = dir.path().join(format!("{NAME}.torrent"));
        let torrent = Torrent::create(env, &content, mode, PIECE_SIZE, trackers, &path);
        Fixture { dir, torrent }
    }

    fn seed_dir(&self) -> PathBuf {
        self.dir.path().join("seed")
    }

    fn out_dir(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    fn file(&self) -> Source {
        Source::File(self.torrent.path.clone())
    }

    /// The fetched tree equals the seeded one: same files, same bytes, no pad files.
    fn assert_fetched(&self, swarms: &[&dyn Swarm]) {
        let expected = Tree::of_dir(&self.seed_dir().join(NAME)).expect("source tree");
        let actual = Tree::of_dir(&self.out_dir().join(NAME)).expect("fetched tree");
        let diffs = expected.differences(&actual);
        if !diffs.is_empty() {
            let logs: String = swarms.iter().map(|s| s.log()).collect();
            panic!("fetched tree differs: {diffs:#?}\n{logs}");
        }
    }
}

fn wait(swarm: &mut dyn Swarm, other: &dyn Swarm) {
    if let Err(e) = swarm.wait_complete(FETCH_TIMEOUT) {
        panic!("{e}\n{}\n{}", swarm.log(), other.log());
    }
}

fn by_hand(swarm: &dyn Swarm) -> Peers {
    Peers {
        connect_to: vec![swarm.listen_addr()],
    }
}

/// `fetcher` fetches what `seeder` seeds, the side that can dial dialling the other.
fn seeds_to(seeder: Client, fetcher: Client, mode: TorrentMode) {
    let env = TestEnv::get();
    let fx = Fixture::new(env, mode, &[]);
    let clients = (seeder, fetcher);
    let (seeding, mut leecher) = pair(
        env,
        clients,
        &fx.torrent.path,
        &fx.seed_dir(),
        &fx.file(),
        &fx.out_dir(),
    );
    wait(leecher.as_mut(), seeding.as_ref());
    fx.assert_fetched(&[seeding.as_ref(), leecher.as_ref()]);
}

fn libtorrent_seeds_to(fetcher: Client, mode: TorrentMode) {
    seeds_to(Client::Libtorrent, fetcher, mode);
}

fn seeds_to_libtorrent(seeder: Client, mode: TorrentMode) {
    seeds_to(seeder, Client::Libtorrent, mode);
}

#[test]
fn libtorrent_to_libtorrent_v2() {
    libtorrent_seeds_to(Client::Libtorrent, TorrentMode::V2);
}

#[test]
fn libtorrent_to_transmission_v1() {
    libtorrent_seeds_to(Client::Transmission, TorrentMode::V1);
}

/// Transmission 3.00 knows only v1 and refuses a hybrid torrent outright.
#[test]
fn transmission_refuses_hybrid() {
    let env = TestEnv::get();
    let fx = Fixture::new(env, TorrentMode::Hybrid, &[]);
    let refused = Client::Transmission.try_fetch(env, &fx.file(), &fx.out_dir(), &Peers::default());
    let err = refused
        .err()
        .expect("transmission 3.00 accepted a hybrid torrent");
    assert!(err.contains("invalid or corrupt torrent file"), "{err}");
}

#[test]
fn libtorrent_to_aria2_v1() {
    libtorrent_seeds_to(Client::Aria2, TorrentMode::V1);
}

/// aria2 1.36 cannot join a hybrid swarm: it computes another v1 infohash than the one the
/// torrent's info dictionary has (it hashes its own re-encoding of the dictionary), and it
/// refuses a v2-only torrent ("Missing pieces").
#[test]
fn aria2_hybrid_and_v2_torrents() {
    let env = TestEnv::get();
    let hybrid = Fixture::new(env, TorrentMode::Hybrid, &[]);
    let btih = hybrid
        .torrent
        .btih
        .clone()
        .expect("a hybrid torrent has a v1 hash");
    let aria2 = aria2_info_hash(&hybrid.torrent.path).expect("aria2 reads a hybrid torrent");
    assert_ne!(
        aria2, btih,
        "aria2 now agrees on a hybrid torrent's infohash"
    );
    let v1 = Fixture::new(env, TorrentMode::V1, &[]);
    let v1_hash = aria2_info_hash(&v1.torrent.path).expect("aria2 reads a v1 torrent");
    assert_eq!(Some(v1_hash), v1.torrent.btih);
    let v2 = Fixture::new(env, TorrentMode::V2, &[]);
    let err = aria2_info_hash(&v2.torrent.path).expect_err("aria2 1.36 read a v2-only torrent");
    assert!(err.contains("Missing pieces"), "{err}");
}

#[test]
fn libtorrent_to_qbittorrent_hybrid() {
    libtorrent_seeds_to(Client::Qbittorrent, TorrentMode::Hybrid);
}

#[test]
fn transmission_to_libtorrent_v1() {
    seeds_to_libtorrent(Client::Transmission, TorrentMode::V1);
}

#[test]
fn aria2_to_libtorrent_v1() {
    seeds_to_libtorrent(Client::Aria2, TorrentMode::V1);
}

#[test]
fn qbittorrent_to_libtorrent_hybrid() {
    seeds_to_libtorrent(Client::Qbittorrent, TorrentMode::Hybrid);
}

/// qBittorrent starts from the hybrid magnet link alone (btih and btmh, no tracker) and gets
/// the info dictionary from the libtorrent seeder (ut_metadata) before any data.
#[test]
fn magnet_libtorrent_to_qbittorrent() {
    let env = TestEnv::get();
    let fx = Fixture::new(env, TorrentMode::Hybrid, &[]);
    let seeder = Client::Libtorrent.seed(env, &fx.torrent.path, &fx.seed_dir(), &Peers::default());
    let magnet = Source::Magnet(fx.torrent.magnet.clone());
    let mut leecher =
        Client::Qbittorrent.fetch(env, &magnet, &fx.out_dir(), &by_hand(seeder.as_ref()));
    wait(leecher.as_mut(), seeder.as_ref());
    fx.assert_fetched(&[seeder.as_ref(), leecher.as_ref()]);
}

/// aria2 cannot be told about a peer: libtorrent finds the aria2 seeder through opentracker
/// (HTTP announce). Transmission and aria2 as leechers get the seeder's address from the
/// tracker too but never dial it (docs/torrent/peers.md).
#[test]
fn tracker_aria2_to_libtorrent() {
    let env = TestEnv::get();
    let mut tracker = Tracker::start(env);
    let fx = Fixture::new(env, TorrentMode::V1, &[tracker.http_url()]);
    let btih = fx.torrent.btih.clone().expect("a v1 hash");
    tracker.allow(&btih);
    let seeder = Client::Aria2.seed(env, &fx.torrent.path, &fx.seed_dir(), &Peers::default());
    tracker.wait_seeders(&btih, 1, FETCH_TIMEOUT);
    let mut leecher = Client::Libtorrent.fetch(env, &fx.file(), &fx.out_dir(), &Peers::default());
    if let Err(e) = leecher.wait_complete(FETCH_TIMEOUT) {
        panic!(
            "{e}\n{}\n{}\n{}",
            leecher.log(),
            seeder.log(),
            tracker.log()
        );
    }
    fx.assert_fetched(&[seeder.as_ref(), leecher.as_ref()]);
}

/// libtorrent announces over UDP to opentracker and finds the qBittorrent seeder there.
#[test]
fn tracker_udp_qbittorrent_to_libtorrent() {
    let env = TestEnv::get();
    let mut tracker = Tracker::start(env);
    let fx = Fixture::new(env, TorrentMode::V1, &[tracker.udp_url()]);
    let btih = fx.torrent.btih.clone().expect("a v1 hash");
    tracker.allow(&btih);
    let seeder = Client::Qbittorrent.seed(env, &fx.torrent.path, &fx.seed_dir(), &Peers::default());
    tracker.wait_seeders(&btih, 1, FETCH_TIMEOUT);
    let mut leecher = Client::Libtorrent.fetch(env, &fx.file(), &fx.out_dir(), &Peers::default());
    if let Err(e) = leecher.wait_complete(FETCH_TIMEOUT) {
        panic!(
            "{e}\n{}\n{}\n{}",
            leecher.log(),
            seeder.log(),
            tracker.log()
        );
    }
    fx.assert_fetched(&[seeder.as_ref(), leecher.as_ref()]);
}
