//! Real BitTorrent clients under test control (issue 16): each started with state of its own
//! in a temp dir, told to seed or fetch, watched until the client itself reports completion,
//! and stopped by PID; on loopback only (docs/torrent/peers.md).
//!
//! - [`Client`]: libtorrent (PyPI, `interop/bt_libtorrent.py`), transmission-daemon, aria2c
//!   and qbittorrent-nox behind one interface, [`Client::seed`] and [`Client::fetch`], which
//!   return a [`Swarm`] handle; ferry's own `torrent seed` / `torrent get` behind the same
//!   ([`ferry`], which also drives them directly for the tests of ferry's side);
//! - [`Tracker`]: opentracker on free loopback ports (HTTP and UDP announce URLs);
//! - [`Torrent`]: a `.torrent` made by libtorrent (v1, v2 or hybrid) and its magnet link.
//!
//! Every client runs with DHT, local service discovery, UPnP/NAT-PMP, PEX and uTP off, and
//! speaks BitTorrent on [`BT_IP`] (its control API stays on 127.0.0.1); the tests run inside
//! `interop/run-in-netns.sh`, where nothing but loopback exists.

pub mod aria2;
pub mod ferry;
mod http;
mod libtorrent;
mod qbittorrent;
mod torrent;
mod tracker;
mod transmission;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use crate::process::Running;
use crate::TestEnv;

pub use aria2::info_hash as aria2_info_hash;
pub use torrent::{Torrent, TorrentMode};
pub use tracker::Tracker;

/// The address every client listens on, announces from and is dialled at: 198.18.0.1, the
/// benchmarking-range address `interop/run-in-netns.sh` puts on lo. Not 127.0.0.1, because
/// transmission 3.00 never dials a 127/8 peer (a "martian" address to it), so a loopback
/// peer from a tracker would be ignored.
pub const BT_IP: &str = "198.18.0.1";

/// How long a client gets to start listening (its RPC or its peer port).
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// Between two looks at a client's state.
const POLL: Duration = Duration::from_millis(100);

/// One of the real clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    Libtorrent,
    Transmission,
    Aria2,
    Qbittorrent,
    /// The binary under test, `ferry torrent seed` / `ferry torrent get`.
    Ferry,
}

/// What a client fetches: a `.torrent` file or a magnet link alone.
#[derive(Debug, Clone)]
pub enum Source {
    File(PathBuf),
    Magnet(String),
}

/// How a client finds its peers besides a tracker named in the torrent or magnet.
#[derive(Debug, Clone, Default)]
pub struct Peers {
    /// Addresses the client connects to itself. Only clients with
    /// [`Client::connects_to_given_peers`] can; the others must be connected to.
    pub connect_to: Vec<SocketAddr>,
}

/// A running client with one torrent, stopped (by PID) on drop.
pub trait Swarm {
    /// The client's BitTorrent listening address.
    fn listen_addr(&self) -> SocketAddr;
    /// Waits until the client reports every piece verified and the data complete.
    fn wait_complete(&mut self, timeout: Duration) -> Result<(), String>;
    /// Everything the client said (and its state as last seen), for a failure report.
    fn log(&self) -> String;
    /// The client's process (for its CPU time in /proc).
    fn pid(&self) -> u32;
    /// Payload bytes it says it uploaded so far, when it says (libtorrent, a ferry seeder).
    fn uploaded(&self) -> Option<u64> {
        None
    }
}

/// A seeder and a fetcher of one torrent, connected by hand: the fetcher dials the seeder
/// when it can ([`Client::connects_to_given_peers`]), else it starts first and the seeder
/// dials it. Returns (seeder, fetcher); wait on the fetcher.
pub fn pair(
    env: &TestEnv,
    (seeder, fetcher): (Client, Client),
    torrent: &Path,
    seed_dir: &Path,
    source: &Source,
    out_dir: &Path,
) -> (Box<dyn Swarm>, Box<dyn Swarm>) {
    let to = |swarm: &dyn Swarm| Peers {
        connect_to: vec![swarm.listen_addr()],
    };
    if fetcher.connects_to_given_peers() {
        let seeding = seeder.seed(env, torrent, seed_dir, &Peers::default());
        let fetching = fetcher.fetch(env, source, out_dir, &to(seeding.as_ref()));
        (seeding, fetching)
    } else {
        let fetching = fetcher.fetch(env, source, out_dir, &Peers::default());
        // A seeder that dials once (ferry) must find the port open: aria2 opens it a moment
        // after its RPC port, which is what its start waits for.
        if let Err(e) = wait_listening(fetching.listen_addr(), START_TIMEOUT) {
            panic!("{e}\n{}", fetching.log());
        }
        let seeding = seeder.seed(env, torrent, seed_dir, &to(fetching.as_ref()));
        (seeding, fetching)
    }
}

impl Client {
    /// The four real clients and ferry.
    pub const ALL: [Client; 5] = [
        Client::Libtorrent,
        Client::Transmission,
        Client::Aria2,
        Client::Qbittorrent,
        Client::Ferry,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Client::Libtorrent => "libtorrent",
            Client::Transmission => "transmission",
            Client::Aria2 => "aria2",
            Client::Qbittorrent => "qbittorrent",
            Client::Ferry => "ferry",
        }
    }

    /// Can it be told to connect to `IP:PORT`? libtorrent (`connect_peer`), qBittorrent
    /// (`torrents/addPeers`) and ferry (`--peer`) can; transmission-daemon 3.00 and aria2
    /// 1.36 have no way, so they find peers through a tracker or wait to be connected to.
    pub fn connects_to_given_peers(self) -> bool {
        matches!(
            self,
            Client::Libtorrent | Client::Qbittorrent | Client::Ferry
        )
    }

    /// Seeds `torrent` from the data under `data_dir` (the directory that holds the
    /// torrent's name); returns once the client has checked the data and seeds it.
    pub fn seed(
        self,
        env: &TestEnv,
        torrent: &Path,
        data_dir: &Path,
        peers: &Peers,
    ) -> Box<dyn Swarm> {
        let source = Source::File(torrent.to_path_buf());
        let mut swarm = self
            .start(env, &source, data_dir, peers, Role::Seed)
            .unwrap_or_else(|e| panic!("{} refused to seed: {e}", self.name()));
        if let Err(e) = swarm.wait_complete(START_TIMEOUT * 3) {
            panic!(
                "{} did not start seeding: {e}\n{}",
                self.name(),
                swarm.log()
            );
        }
        swarm
    }

    /// Fetches `source` into `out_dir` (which will hold the torrent's name); returns at once:
    /// wait with [`Swarm::wait_complete`].
    pub fn fetch(
        self,
        env: &TestEnv,
        source: &Source,
        out_dir: &Path,
        peers: &Peers,
    ) -> Box<dyn Swarm> {
        self.try_fetch(env, source, out_dir, peers)
            .unwrap_or_else(|e| panic!("{} refused to fetch: {e}", self.name()))
    }

    /// [`Client::fetch`], or why the client refused the torrent or magnet link.
    pub fn try_fetch(
        self,
        env: &TestEnv,
        source: &Source,
        out_dir: &Path,
        peers: &Peers,
    ) -> Result<Box<dyn Swarm>, String> {
        self.start(env, source, out_dir, peers, Role::Fetch)
    }

    fn start(
        self,
        env: &TestEnv,
        source: &Source,
        dir: &Path,
        peers: &Peers,
        role: Role,
    ) -> Result<Box<dyn Swarm>, String> {
        assert!(
            peers.connect_to.is_empty() || self.connects_to_given_peers(),
            "{} cannot be given peers: use a tracker, or let the other side connect",
            self.name()
        );
        let job = Job {
            source,
            dir,
            peers,
            role,
        };
        Ok(match self {
            Client::Libtorrent => Box::new(libtorrent::Libtorrent::start(env, &job)),
            Client::Transmission => Box::new(transmission::Transmission::start(env, &job)?),
            Client::Aria2 => Box::new(aria2::Aria2::start(env, &job)),
            Client::Qbittorrent => Box::new(qbittorrent::Qbittorrent::start(env, &job)?),
            Client::Ferry => ferry::start(env, &job),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Seed,
    Fetch,
}

/// What one client is started for.
struct Job<'a> {
    source: &'a Source,
    dir: &'a Path,
    peers: &'a Peers,
    role: Role,
}

/// A port nothing listens on now (the kernel's choice; a race with other tests is unlikely).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

/// Waits until `addr` accepts connections (the connection is closed at once).
pub fn wait_listening(addr: SocketAddr, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    while TcpStream::connect(addr).is_err() {
        if Instant::now() >= deadline {
            return Err(format!("nothing listens on {addr} after {timeout:?}"));
        }
        thread::sleep(POLL);
    }
    Ok(())
}

/// Waits until `ip`:`port` accepts connections while `server` runs.
fn wait_port(ip: &str, port: u16, server: &mut Running, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    while TcpStream::connect((ip, port)).is_err() {
        if server.poll_exit() {
            return Err(format!(
                "{} exited before listening on {port}",
                server.label()
            ));
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "{} not listening on {port} after {timeout:?}",
                server.label()
            ));
        }
        thread::sleep(POLL);
    }
    Ok(())
}

/// Polls `done` (which says `Ok(true)` when finished, or why it never will) until `timeout`.
fn poll_until(
    timeout: Duration,
    mut done: impl FnMut() -> Result<bool, String>,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        if done()? {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!("not complete after {timeout:?}"));
        }
        thread::sleep(POLL);
    }
}

/// [`BT_IP`]:`port`.
fn bt_addr(port: u16) -> SocketAddr {
    SocketAddr::new(BT_IP.parse().expect("BT_IP is an IP address"), port)
}
