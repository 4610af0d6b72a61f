//! `ferry torrent seed` and `ferry torrent get` in swarms with the real clients (the harness:
//! interop/src/bt/): ferry seeds to each client and gets from each, by hand (`--peer`) and
//! through opentracker; tells libtorrent of a seed by peer exchange; gets from a magnet
//! link alone (v1, hybrid, v2-only with BEP 52 hash
//! requests both ways); gets
//! from two seeders at once; seeds and gets between two ferry, killed mid-download and
//! resumed; and refuses an existing name and hostile torrents without writing anything.
//! Every fetch ends with the fetched tree equal to the source (SHA-256 per file) and, for
//! ferry, exit 0 and nothing left in the output directory but the download.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ferry_interop::bt::ferry::{self, outcome_events, peer_args, Get, Seeder};
use ferry_interop::bt::{pair, Client, Peers, Source, Swarm, Torrent, TorrentMode, Tracker, BT_IP};
use ferry_interop::data::random_file;
use ferry_interop::process::{Outcome, Running};
use ferry_interop::tree::Tree;
use ferry_interop::TestEnv;
use ferry_proto::torrent::bencode::{dict, Bencode};
use serde_json::Value;
use tempfile::TempDir;

/// A few MiB on loopback take a second or two once the clients run; transmission takes
/// ~15 s (it unchokes on its 10 s rechoke, docs/torrent/peers.md).
const WAIT: Duration = Duration::from_secs(45);
const PIECE_SIZE: u32 = 64 * 1024;
/// The torrent's name: a directory of two files whose sizes end mid-piece, so that a hybrid
/// torrent has pad files after each.
const NAME: &str = "album";
const A_SIZE: u64 = 3 * 1024 * 1024 + 1234;
const B_SIZE: u64 = 300_001;

/// The seeder's data (`seed/album/...`), an empty output directory and the torrent.
struct Fixture {
    dir: TempDir,
    torrent: Torrent,
    /// The sum of the files' sizes.
    bytes: u64,
}

impl Fixture {
    fn new(env: &TestEnv, mode: TorrentMode, trackers: &[String]) -> Fixture {
        Fixture::sized(env, mode, trackers, &[A_SIZE, B_SIZE], PIECE_SIZE)
    }

    /// `album/` with one random file per size (`a.bin`, `b.bin`, ...), `piece` bytes a piece.
    fn sized(
        env: &TestEnv,
        mode: TorrentMode,
        trackers: &[String],
        sizes: &[u64],
        piece: u32,
    ) -> Fixture {
        let dir = env.scratch_dir("bt-swarm-");
        let content = dir.path().join("seed").join(NAME);
        std::fs::create_dir_all(&content).expect("content dir");
        for (i, &size) in sizes.iter().enumerate() {
            let name = format!("{}.bin", char::from(b'a' + i as u8));
            random_file(&content.join(name), size).expect("random file");
        }
        std::fs::create_dir_all(dir.path().join("out")).expect("out dir");
        let path = dir.path().join(format!("{NAME}.torrent"));
        let torrent = Torrent::create(env, &content, mode, piece, trackers, &path);
        let bytes = sizes.iter().sum();
        Fixture {
            dir,
            torrent,
            bytes,
        }
    }

    fn seed_dir(&self) -> PathBuf {
        self.dir.path().join("seed")
    }

    fn out_dir(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    fn torrent_arg(&self) -> String {
        self.torrent.path.display().to_string()
    }

    /// `--data seed/`: where a ferry seeder finds `album/`.
    fn data_args(&self) -> Vec<String> {
        vec!["--data".to_owned(), self.seed_dir().display().to_string()]
    }

    /// The fetched tree equals the seeded one: same files, same bytes, no pad files.
    fn assert_fetched(&self, context: &dyn Fn() -> String) {
        let expected = Tree::of_dir(&self.seed_dir().join(NAME)).expect("source tree");
        let actual = Tree::of_dir(&self.out_dir().join(NAME)).expect("fetched tree");
        let diffs = expected.differences(&actual);
        assert!(
            diffs.is_empty(),
            "fetched tree differs: {diffs:#?}\n{}",
            context()
        );
    }

    /// ferry's get ended well: exit 0, a `done` event for `out/album`, the tree equal to the
    /// source, and nothing else in `out/` (no `.ferry-torrent-*` left).
    fn assert_ferry_got(&self, outcome: &Outcome, others: &[&dyn Swarm]) {
        let context = || format!("{outcome}{}", logs(others));
        assert!(outcome.succeeded(), "{}", context());
        let done = event(outcome, "done").unwrap_or_else(|| panic!("no done\n{}", context()));
        let path = done["path"].as_str().map(PathBuf::from);
        assert_eq!(path, Some(self.out_dir().join(NAME)), "{}", context());
        assert_eq!(done["bytes"].as_u64(), Some(self.bytes), "{}", context());
        self.assert_fetched(&context);
        assert_eq!(listing(&self.out_dir()), [NAME], "{}", context());
    }
}

fn logs(swarms: &[&dyn Swarm]) -> String {
    swarms.iter().map(|s| s.log()).collect()
}

/// The first `--json` event named `name`.
fn event(outcome: &Outcome, name: &str) -> Option<Value> {
    outcome_events(outcome)
        .into_iter()
        .find(|e| e["event"] == name)
}

/// The names in `dir`, sorted (hidden ones included).
fn listing(dir: &Path) -> Vec<String> {
    let entries = std::fs::read_dir(dir).expect("read the output directory");
    let mut names: Vec<String> = entries
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn exit_code(outcome: &Outcome) -> Option<i32> {
    outcome.status.and_then(|s| s.code())
}

/// Stops a ferry seeder with SIGINT: it must end by itself, as Ctrl-C ends it (0 or 130).
fn stop(seeder: Seeder) {
    let outcome = seeder.stop();
    assert!(
        matches!(exit_code(&outcome), Some(0 | 130)),
        "the seeder did not stop on SIGINT\n{outcome}"
    );
}

fn wait(swarm: &mut dyn Swarm, others: &[&dyn Swarm]) {
    if let Err(e) = swarm.wait_complete(WAIT) {
        panic!("{e}\n{}{}", swarm.log(), logs(others));
    }
}

/// `fetcher` fetches the `.torrent` that ferry seeds (with `--data`); ferry dials a fetcher
/// that only accepts (`--peer`), else the fetcher dials the port of ferry's `seeding` event.
fn ferry_seeds_to(fetcher: Client, mode: TorrentMode) {
    let env = TestEnv::get();
    let fx = Fixture::new(env, mode, &[]);
    let source = Source::File(fx.torrent.path.clone());
    let clients = (Client::Ferry, fetcher);
    let (seed, out) = (fx.seed_dir(), fx.out_dir());
    let (seeding, mut leecher) = pair(env, clients, &fx.torrent.path, &seed, &source, &out);
    wait(leecher.as_mut(), &[seeding.as_ref()]);
    fx.assert_fetched(&|| logs(&[seeding.as_ref(), leecher.as_ref()]));
}

#[test]
fn ferry_to_libtorrent_hybrid() {
    ferry_seeds_to(Client::Libtorrent, TorrentMode::Hybrid);
}

/// Transmission 3.00 refuses hybrid torrents (bt_peers.rs): v1.
#[test]
fn ferry_to_transmission_v1() {
    ferry_seeds_to(Client::Transmission, TorrentMode::V1);
}

/// aria2 1.36 gets a hybrid's v1 infohash wrong (bt_peers.rs): v1.
#[test]
fn ferry_to_aria2_v1() {
    ferry_seeds_to(Client::Aria2, TorrentMode::V1);
}

#[test]
fn ferry_to_qbittorrent_hybrid() {
    ferry_seeds_to(Client::Qbittorrent, TorrentMode::Hybrid);
}

/// `ferry torrent get album.torrent --peer SEEDER -o out/` from `seeder`.
fn ferry_gets_from(seeder: Client, mode: TorrentMode) {
    let env = TestEnv::get();
    let fx = Fixture::new(env, mode, &[]);
    let seeding = seeder.seed(env, &fx.torrent.path, &fx.seed_dir(), &Peers::default());
    let peer = peer_args(&[seeding.listen_addr()]);
    let got = ferry::get(env, &fx.torrent_arg(), &fx.out_dir(), &peer, WAIT);
    fx.assert_ferry_got(&got, &[seeding.as_ref()]);
}

#[test]
fn libtorrent_to_ferry_hybrid() {
    ferry_gets_from(Client::Libtorrent, TorrentMode::Hybrid);
}

#[test]
fn transmission_to_ferry_v1() {
    ferry_gets_from(Client::Transmission, TorrentMode::V1);
}

#[test]
fn aria2_to_ferry_v1() {
    ferry_gets_from(Client::Aria2, TorrentMode::V1);
}

#[test]
fn qbittorrent_to_ferry_hybrid() {
    ferry_gets_from(Client::Qbittorrent, TorrentMode::Hybrid);
}

/// 64 MiB in 1 MiB pieces from transmission: long enough for ferry to size its pipeline to
/// the peer's rate (3 s of it, at most the peer's `reqq`), which a few MiB never reach.
#[test]
fn transmission_to_ferry_64_mib_v1() {
    const SIZE: u64 = 64 * 1024 * 1024;
    let env = TestEnv::get();
    let fx = Fixture::sized(env, TorrentMode::V1, &[], &[SIZE], 1024 * 1024);
    let seeder = Client::Transmission;
    let seeding = seeder.seed(env, &fx.torrent.path, &fx.seed_dir(), &Peers::default());
    let peer = peer_args(&[seeding.listen_addr()]);
    let got = ferry::get(env, &fx.torrent_arg(), &fx.out_dir(), &peer, 2 * WAIT);
    fx.assert_ferry_got(&got, &[seeding.as_ref()]);
}

/// opentracker with the hashes of `torrent` allowed (a hybrid's v2 one truncated, as
/// clients announce it).
fn tracker_for(tracker: &mut Tracker, torrent: &Torrent) {
    for hash in [&torrent.btih, &torrent.btmh].into_iter().flatten() {
        tracker.allow(hash);
    }
}

/// A hybrid torrent naming an HTTP tracker: ferry announces it while seeding, and libtorrent,
/// told no peer, finds ferry there.
#[test]
fn tracker_ferry_to_libtorrent() {
    let env = TestEnv::get();
    let mut tracker = Tracker::start(env);
    let fx = Fixture::new(env, TorrentMode::Hybrid, &[tracker.http_url()]);
    tracker_for(&mut tracker, &fx.torrent);
    let seeder = Seeder::start(env, &fx.torrent.path, &fx.data_args());
    let btih = fx.torrent.btih.clone().expect("a v1 hash");
    tracker.wait_seeders(&btih, 1, WAIT);
    let file = Source::File(fx.torrent.path.clone());
    let mut leecher = Client::Libtorrent.fetch(env, &file, &fx.out_dir(), &Peers::default());
    if let Err(e) = leecher.wait_complete(WAIT) {
        panic!("{e}\n{}{}{}", leecher.log(), seeder.log(), tracker.log());
    }
    fx.assert_fetched(&|| logs(&[&seeder, leecher.as_ref()]));
    stop(seeder);
}

/// aria2 seeds a v1 torrent naming an HTTP tracker; ferry gets the `.torrent`, told no peer.
#[test]
fn tracker_aria2_to_ferry() {
    let env = TestEnv::get();
    let mut tracker = Tracker::start(env);
    let fx = Fixture::new(env, TorrentMode::V1, &[tracker.http_url()]);
    tracker_for(&mut tracker, &fx.torrent);
    let seeder = Client::Aria2.seed(env, &fx.torrent.path, &fx.seed_dir(), &Peers::default());
    let btih = fx.torrent.btih.clone().expect("a v1 hash");
    tracker.wait_seeders(&btih, 1, WAIT);
    let got = ferry::get(env, &fx.torrent_arg(), &fx.out_dir(), &[], WAIT);
    if !got.succeeded() {
        panic!("{got}{}{}", seeder.log(), tracker.log());
    }
    fx.assert_ferry_got(&got, &[seeder.as_ref()]);
}

/// qBittorrent seeds through opentracker; ferry starts from the magnet link alone (no
/// tracker in it) and `--tracker udp://...`: the UDP announce finds the seeder, which also
/// gives the info dictionary.
#[test]
fn tracker_udp_qbittorrent_to_ferry_magnet() {
    let env = TestEnv::get();
    let mut tracker = Tracker::start(env);
    let fx = Fixture::new(env, TorrentMode::Hybrid, &[tracker.http_url()]);
    tracker_for(&mut tracker, &fx.torrent);
    let seed_dir = fx.seed_dir();
    let seeder = Client::Qbittorrent.seed(env, &fx.torrent.path, &seed_dir, &Peers::default());
    let btih = fx.torrent.btih.clone().expect("a v1 hash");
    tracker.wait_seeders(&btih, 1, WAIT);
    let udp = ["--tracker".to_owned(), tracker.udp_url()];
    let got = ferry::get(env, &fx.torrent.magnet, &fx.out_dir(), &udp, WAIT);
    if !got.succeeded() {
        panic!("{got}{}{}", seeder.log(), tracker.log());
    }
    fx.assert_ferry_got(&got, &[seeder.as_ref()]);
}

/// ferry's `metadata` event for a magnet: the torrent's name, size and file count.
fn assert_metadata(got: &Outcome) {
    let metadata = event(got, "metadata").unwrap_or_else(|| panic!("no metadata\n{got}"));
    assert_eq!(metadata["name"], NAME, "{got}");
    assert_eq!(metadata["bytes"].as_u64(), Some(A_SIZE + B_SIZE), "{got}");
    assert_eq!(metadata["files"].as_u64(), Some(2), "{got}");
}

/// A v1 magnet link with the seeder in it (`x.pe`, BEP 9), nothing else: ferry fetches the
/// info dictionary from libtorrent, then the data.
#[test]
fn magnet_v1_with_x_pe_from_libtorrent() {
    let env = TestEnv::get();
    let fx = Fixture::new(env, TorrentMode::V1, &[]);
    let seeder = Client::Libtorrent.seed(env, &fx.torrent.path, &fx.seed_dir(), &Peers::default());
    let magnet = format!("{}&x.pe={}", fx.torrent.magnet, seeder.listen_addr());
    let got = ferry::get(env, &magnet, &fx.out_dir(), &[], WAIT);
    assert_metadata(&got);
    fx.assert_ferry_got(&got, &[seeder.as_ref()]);
}

/// A hybrid magnet (btih and btmh) and `--peer`: the piece layers come from libtorrent
/// too (BEP 52 hash requests), so pieces are checked by both hashes.
#[test]
fn magnet_hybrid_from_libtorrent() {
    let env = TestEnv::get();
    let fx = Fixture::new(env, TorrentMode::Hybrid, &[]);
    let seeder = Client::Libtorrent.seed(env, &fx.torrent.path, &fx.seed_dir(), &Peers::default());
    let peer = peer_args(&[seeder.listen_addr()]);
    let got = ferry::get(env, &fx.torrent.magnet, &fx.out_dir(), &peer, WAIT);
    assert_metadata(&got);
    assert_eq!(verified_by(&got).as_deref(), Some("v1+v2"), "{got}");
    fx.assert_ferry_got(&got, &[seeder.as_ref()]);
}

fn verified_by(got: &Outcome) -> Option<String> {
    event(got, "metadata")?["verify"]
        .as_str()
        .map(str::to_owned)
}

/// A v2-only torrent whose big file has 601 pieces of 16 KiB: a piece layer of 1024
/// nodes, asked 512 at a time with a proof up to the root.
fn v2_layers_fixture(env: &TestEnv) -> Fixture {
    const PIECE: u32 = 16 * 1024;
    Fixture::sized(
        env,
        TorrentMode::V2,
        &[],
        &[600 * PIECE as u64 + 77, B_SIZE],
        PIECE,
    )
}

/// A v2-only magnet (btmh alone): ferry asks libtorrent for the info dictionary, then
/// for the piece layers (BEP 52 hash requests), checks them against the file roots and
/// verifies every piece by them.
#[test]
fn magnet_v2_only_from_libtorrent() {
    let env = TestEnv::get();
    let fx = v2_layers_fixture(env);
    assert!(
        fx.torrent.magnet.contains("xt=urn:btmh:1220"),
        "{}",
        fx.torrent.magnet
    );
    assert!(!fx.torrent.magnet.contains("btih"), "{}", fx.torrent.magnet);
    let seeder = Client::Libtorrent.seed(env, &fx.torrent.path, &fx.seed_dir(), &Peers::default());
    let peer = peer_args(&[seeder.listen_addr()]);
    let got = ferry::get(env, &fx.torrent.magnet, &fx.out_dir(), &peer, WAIT);
    assert_eq!(
        verified_by(&got).as_deref(),
        Some("v2"),
        "{got}{}",
        seeder.log()
    );
    fx.assert_ferry_got(&got, &[seeder.as_ref()]);
}

/// The other way: libtorrent starts from the v2-only magnet and ferry seeds; libtorrent
/// asks ferry for the piece layers (BEP 52) and closes a peer whose hashes do not lead
/// to the roots ("invalid hashes": seen when ferry's answers were forged on purpose).
#[test]
fn magnet_v2_only_ferry_to_libtorrent() {
    let env = TestEnv::get();
    let fx = v2_layers_fixture(env);
    let seeder = Seeder::start(env, &fx.torrent.path, &fx.data_args());
    let magnet = Source::Magnet(fx.torrent.magnet.clone());
    let to_ferry = Peers {
        connect_to: vec![seeder.listen_addr()],
    };
    let mut leecher = Client::Libtorrent.fetch(env, &magnet, &fx.out_dir(), &to_ferry);
    wait(leecher.as_mut(), &[&seeder]);
    fx.assert_fetched(&|| logs(&[&seeder, leecher.as_ref()]));
    stop(seeder);
}

/// 16 MiB in 256 pieces from libtorrent and a ferry seeder at once: ferry's get completes,
/// and each seeder says it uploaded some of it (libtorrent's `uploaded` line, ferry's
/// `stats` event), together at least the whole.
#[test]
fn two_seeders_libtorrent_and_ferry_to_ferry() {
    const SIZE: u64 = 16 * 1024 * 1024;
    let env = TestEnv::get();
    let fx = Fixture::sized(env, TorrentMode::Hybrid, &[], &[SIZE], PIECE_SIZE);
    let (torrent, seed) = (&fx.torrent.path, fx.seed_dir());
    let libtorrent = Client::Libtorrent.seed(env, torrent, &seed, &Peers::default());
    let mut ours = Seeder::start(env, torrent, &fx.data_args());
    let peers = peer_args(&[libtorrent.listen_addr(), ours.listen_addr()]);
    let got = ferry::get(env, &fx.torrent_arg(), &fx.out_dir(), &peers, WAIT);
    // ferry says its stats at most once a second; libtorrent every 0.2 s.
    let by_ferry = ours.wait_uploaded(1, Duration::from_secs(5));
    let uploads = (by_ferry.map(|()| ours.uploaded()), libtorrent.uploaded());
    let context = || format!("{uploads:?}\n{got}{}{}", libtorrent.log(), ours.log());
    assert!(got.succeeded(), "{}", context());
    fx.assert_fetched(&context);
    assert_eq!(listing(&fx.out_dir()), [NAME], "{}", context());
    let (Ok(by_ferry), Some(by_libtorrent)) = uploads.clone() else {
        panic!("no upload from ferry: {}", context());
    };
    assert!(
        by_ferry > 0 && by_libtorrent > 0,
        "a seeder sent nothing: {}",
        context()
    );
    assert!(by_ferry + by_libtorrent >= SIZE, "{}", context());
    stop(ours);
}

/// Two ferry: one seeds a directory as it is (no `.torrent`), the other gets its magnet link;
/// a second get into a directory where `album` already exists is refused (exit 5) and leaves
/// it as it was.
#[test]
fn ferry_to_ferry_directory_by_magnet() {
    let env = TestEnv::get();
    let fx = Fixture::new(env, TorrentMode::Hybrid, &[]);
    let seeder = Seeder::start(env, &fx.seed_dir().join(NAME), &[]);
    let magnet = seeder.magnet();
    let peer = peer_args(&[seeder.listen_addr()]);
    let got = ferry::get(env, &magnet, &fx.out_dir(), &peer, WAIT);
    fx.assert_ferry_got(&got, &[&seeder]);

    let taken = fx.dir.path().join("taken");
    std::fs::create_dir_all(&taken).expect("taken dir");
    std::fs::write(taken.join(NAME), b"precious").expect("an album that is not a torrent");
    let refused = ferry::get(env, &magnet, &taken, &peer, WAIT);
    assert_eq!(exit_code(&refused), Some(5), "{refused}{}", seeder.log());
    assert_eq!(
        std::fs::read(taken.join(NAME)).ok(),
        Some(b"precious".to_vec())
    );
    assert_eq!(listing(&taken), [NAME], "{refused}");
    stop(seeder);
}

/// The `IP:PORT` in `Seeding album (SIZE in 2 files) on IP:PORT; Ctrl-C stops.`
fn seeding_line_addr(stderr: &str) -> Option<String> {
    let line = stderr.lines().find(|l| l.starts_with("Seeding "))?;
    let rest = line.strip_prefix(&format!("Seeding {NAME} ("))?;
    let (_size, rest) = rest.split_once(" in 2 files) on ")?;
    Some(rest.strip_suffix("; Ctrl-C stops.")?.to_owned())
}

/// Without `--json`, as the spec has it: the seeder prints its magnet link alone on stdout
/// and `Seeding NAME (SIZE in N files) on IP:PORT; Ctrl-C stops.` on stderr; the get, off a
/// terminal, prints nothing until `Received NAME (SIZE) into DIR/NAME from N peers in T.`
#[test]
fn what_seed_and_get_print_without_json() {
    let env = TestEnv::get();
    let fx = Fixture::new(env, TorrentMode::Hybrid, &[]);
    let listen = format!("{BT_IP}:0");
    let args = ["seed", NAME, "--listen", &listen].map(str::to_owned);
    let inv = ferry::invocation(env, "ferry torrent seed", &fx.seed_dir(), &args);
    let mut seeder = Running::spawn(&inv).expect("spawn ferry torrent seed");
    let said = seeder.wait_for_output("; Ctrl-C stops.", WAIT);
    let addr = seeding_line_addr(&seeder.output_so_far());
    let Some(addr) = addr.filter(|_| said.is_ok()) else {
        panic!("{said:?}\n{}", seeder.into_outcome());
    };
    let stdout = seeder.stdout_so_far();
    let magnet = stdout.lines().collect::<Vec<_>>();
    let one_link = magnet.len() == 1 && magnet[0].starts_with("magnet:?xt=urn:btih:");
    assert!(one_link && !stdout.contains("x.pe"), "{stdout}");
    let out = fx.out_dir();
    let args = ["get", magnet[0], "--peer", &addr].map(str::to_owned);
    let mut inv = ferry::invocation(env, "ferry torrent get", &out, &args);
    inv.arg("-o").arg(&out);
    let got = Running::spawn(&inv)
        .expect("spawn get")
        .finish(Instant::now() + WAIT);
    assert!(got.succeeded() && got.stdout.is_empty(), "{got}");
    let received = format!(") into {}/{NAME} from 1 peer", out.display());
    let line = got.stderr_text().lines().last().map(str::to_owned);
    let right = line
        .as_ref()
        .is_some_and(|l| l.starts_with(&format!("Received {NAME} (")) && l.contains(&received));
    assert!(
        right,
        "not `Received {NAME} (SIZE) into DIR/{NAME} from 1 peer(s) in T.`\n{got}"
    );
    fx.assert_fetched(&|| got.to_string());
    seeder.interrupt().expect("SIGINT");
    assert!(seeder.wait_exit(WAIT), "the seeder did not stop on SIGINT");
}

/// BEP 11: libtorrent is given only a ferry seeder that has the first quarter of the
/// pieces; a full ferry seeder dialled that one. libtorrent completes only if the first
/// tells it of the second (`ut_pex`, by the port the second's extension handshake named)
/// and it dials it: nothing else (no tracker, DHT or LSD) names it.
#[test]
fn pex_ferry_tells_libtorrent_of_a_seed() {
    let env = TestEnv::get();
    let fx = Fixture::sized(env, TorrentMode::V1, &[], &[RESUME_SIZE], PIECE_SIZE);
    let mut quarter = partial_seeder(env, &fx, RESUME_PIECES / 4, &[]);
    let mut args = fx.data_args();
    args.extend(peer_args(&[quarter.listen_addr()]));
    let whole = Seeder::start(env, &fx.torrent.path, &args);
    if let Err(e) = quarter.wait_peers(1, WAIT) {
        panic!("{e}\n{}", logs(&[&quarter, &whole]));
    }
    let to_quarter = Peers {
        connect_to: vec![quarter.listen_addr()],
    };
    let file = Source::File(fx.torrent.path.clone());
    let mut leecher = Client::Libtorrent.fetch(env, &file, &fx.out_dir(), &to_quarter);
    wait(leecher.as_mut(), &[&quarter, &whole]);
    let context = || logs(&[&quarter, &whole, leecher.as_ref()]);
    fx.assert_fetched(&context);
    let dialled = format!("{} outgoing connection", whole.listen_addr());
    assert!(leecher.log().contains(&dialled), "{}", context());
    stop(quarter);
    stop(whole);
}

/// A bare magnet link (no tracker, no `x.pe`) with `--no-dht` and no `--peer` has nowhere
/// to look: refused at once (exit 2), nothing written. (With the DHT on, the default, it
/// would search the DHT for the metadata.)
#[test]
fn a_bare_magnet_without_dht_is_refused_at_once() {
    let env = TestEnv::get();
    let fx = Fixture::new(env, TorrentMode::V1, &[]);
    let btih = fx.torrent.btih.clone().expect("a v1 hash");
    let bare = format!("magnet:?xt=urn:btih:{btih}");
    let started = Instant::now();
    let got = ferry::get(env, &bare, &fx.out_dir(), &["--no-dht".to_owned()], WAIT);
    assert_eq!(exit_code(&got), Some(2), "{got}");
    assert!(got.stderr_text().contains("the DHT is off"), "{got}");
    assert!(started.elapsed() < Duration::from_secs(10), "{got}");
    assert!(listing(&fx.out_dir()).is_empty(), "{got}");
}

/// 128 pieces of 64 KiB (a partial seeder serves the first N).
const RESUME_SIZE: u64 = 8 * 1024 * 1024;
const RESUME_PIECES: u64 = 128;
/// ferry saves a download's resume state when a piece arrives a second or more after the
/// last save (`ferry::torrent::storage::STATE_EVERY`), and when it stops.
const STATE_EVERY: Duration = Duration::from_secs(1);

/// A ferry seeder of `fx`'s torrent from a copy of its data in which only the first `pieces`
/// pieces are right (the rest are zeros, which do not verify, so are not served).
fn partial_seeder(env: &TestEnv, fx: &Fixture, pieces: u64, extra: &[String]) -> Seeder {
    let dir = fx.dir.path().join(format!("first-{pieces}"));
    let content = dir.join(NAME);
    std::fs::create_dir_all(&content).expect("partial dir");
    let mut bytes = std::fs::read(fx.seed_dir().join(NAME).join("a.bin")).expect("a.bin");
    bytes[(pieces * u64::from(PIECE_SIZE)) as usize..].fill(0);
    std::fs::write(content.join("a.bin"), bytes).expect("partial a.bin");
    let mut args = vec!["--data".to_owned(), dir.display().to_string()];
    args.extend_from_slice(extra);
    Seeder::start(env, &fx.torrent.path, &args)
}

/// Waits for a `progress` event past `pieces` whole pieces.
fn wait_past(get: &mut Get, pieces: u64) -> Result<Value, String> {
    let what = format!("progress past {pieces} pieces");
    let bytes = pieces * u64::from(PIECE_SIZE);
    get.wait_event(&what, WAIT, |e| {
        e["event"] == "progress" && e["bytes"].as_u64().is_some_and(|b| b > bytes)
    })
}

/// The resume after the kill: `get` again from a seeder of all the data completes the same
/// bytes; returns the pieces its `resumed` event says it kept.
fn get_again(env: &TestEnv, fx: &Fixture, killed: &Outcome) -> Option<u64> {
    let left = listing(&fx.out_dir());
    let hidden = left.len() == 1 && left[0].starts_with(".ferry-torrent-");
    assert!(hidden, "after the kill: {left:?}\n{killed}");
    let whole = Seeder::start(env, &fx.torrent.path, &fx.data_args());
    let peer = peer_args(&[whole.listen_addr()]);
    let again = ferry::get(env, &fx.torrent_arg(), &fx.out_dir(), &peer, WAIT);
    fx.assert_ferry_got(&again, &[&whole]);
    stop(whole);
    event(&again, "resumed").and_then(|e| e["pieces"].as_u64())
}

/// ferry → ferry, a get killed (SIGKILL) past 30 % and started again says `resumed` with the
/// pieces it saved and completes the same bytes. Midway without a race (8 MiB between two
/// ferry on loopback take ~50 ms, 64 MiB 0.7 s): a first seeder has only a quarter of the
/// pieces; more than a second later, a second one with half of them dials the get, so their
/// first piece saves the state; the get is killed once it is past 30 %.
#[test]
fn ferry_get_resumes_after_a_kill() {
    let env = TestEnv::get();
    let fx = Fixture::sized(env, TorrentMode::Hybrid, &[], &[RESUME_SIZE], PIECE_SIZE);
    let quarter = partial_seeder(env, &fx, RESUME_PIECES / 4, &[]);
    let listen = format!("{BT_IP}:{}", ferry_interop::bt::free_port());
    let mut args = peer_args(&[quarter.listen_addr()]);
    args.extend(["--listen".to_owned(), listen.clone()]);
    let mut get = Get::start(env, &fx.torrent_arg(), &fx.out_dir(), &args);
    let first = wait_past(&mut get, RESUME_PIECES / 4 - 1);
    std::thread::sleep(STATE_EVERY + Duration::from_millis(200));
    let half = partial_seeder(env, &fx, RESUME_PIECES / 2, &["--peer".to_owned(), listen]);
    let past = first.and_then(|_| wait_past(&mut get, RESUME_PIECES * 3 / 10));
    let killed = get.kill();
    assert!(
        past.is_ok(),
        "{past:?}\n{killed}{}{}",
        quarter.log(),
        half.log()
    );
    let resumed = get_again(env, &fx, &killed);
    let saved = resumed.is_some_and(|n| (RESUME_PIECES / 4 + 1..=RESUME_PIECES / 2).contains(&n));
    assert!(
        saved,
        "resumed {resumed:?}: not the pieces of the save\n{killed}"
    );
    stop(quarter);
    stop(half);
}

/// A get that stalls (its only seeder has half the pieces) for two save intervals, then is
/// killed, resumes with every piece it had verified.
#[test]
fn a_stalled_get_keeps_its_pieces_across_a_kill() {
    let env = TestEnv::get();
    let fx = Fixture::sized(env, TorrentMode::Hybrid, &[], &[RESUME_SIZE], PIECE_SIZE);
    let half = partial_seeder(env, &fx, RESUME_PIECES / 2, &[]);
    let peer = peer_args(&[half.listen_addr()]);
    let mut get = Get::start(env, &fx.torrent_arg(), &fx.out_dir(), &peer);
    let past = wait_past(&mut get, RESUME_PIECES / 2 - 1);
    std::thread::sleep(2 * STATE_EVERY);
    let killed = get.kill();
    assert!(past.is_ok(), "{past:?}\n{killed}{}", half.log());
    let resumed = get_again(env, &fx, &killed);
    assert_eq!(
        resumed,
        Some(RESUME_PIECES / 2),
        "stalled for 2 s, then killed\n{killed}"
    );
    stop(half);
}

/// A v1 torrent with one 16 KiB piece (its hash is never checked: nothing gets that far).
fn hostile_torrent(name: &str, files: Option<Vec<Bencode>>) -> Vec<u8> {
    let mut info = vec![
        ("name", Bencode::str(name)),
        ("piece length", Bencode::Int(16 * 1024)),
        ("pieces", Bencode::Bytes(vec![7; 20])),
    ];
    match files {
        Some(files) => info.push(("files", Bencode::List(files))),
        None => info.push(("length", Bencode::Int(1000))),
    }
    dict([("info", dict(info))]).encode()
}

fn hostile_file(path: &[&str]) -> Bencode {
    let path = Bencode::List(path.iter().map(|p| Bencode::str(p)).collect());
    dict([("length", Bencode::Int(1000)), ("path", path)])
}

/// A torrent named `..`, and one whose file path climbs out (`../escaped`), are refused
/// (exit 1) before anything is written, though a peer is named.
#[test]
fn hostile_torrents_write_nothing() {
    let env = TestEnv::get();
    let dir = env.scratch_dir("bt-swarm-");
    let nobody = format!("{BT_IP}:{}", ferry_interop::bt::free_port());
    let cases = [
        ("dotdot", hostile_torrent("..", None)),
        (
            "climb",
            hostile_torrent("d", Some(vec![hostile_file(&["..", "escaped"])])),
        ),
    ];
    for (label, bytes) in cases {
        let case = dir.path().join(label);
        let out = case.join("out");
        std::fs::create_dir_all(&out).expect("out dir");
        let torrent = case.join("evil.torrent");
        std::fs::write(&torrent, bytes).expect("evil.torrent");
        let args = ["--peer".to_owned(), nobody.clone()];
        let got = ferry::get(env, &torrent.display().to_string(), &out, &args, WAIT);
        assert_eq!(exit_code(&got), Some(1), "{label}: {got}");
        assert!(listing(&out).is_empty(), "{label}: {got}");
        assert_eq!(listing(&case), ["evil.torrent", "out"], "{label}: {got}");
    }
}
