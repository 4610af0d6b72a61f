//! opentracker on free loopback ports, HTTP and UDP, for the swarms whose clients cannot be
//! told about a peer (transmission-daemon, aria2). Debian builds it with a whitelist: only
//! infohashes named by [`Tracker::allow`] are tracked (written to its file, then SIGHUP).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::{free_port, http, wait_port, BT_IP, POLL};
use crate::process::{Invocation, Running};
use crate::TestEnv;

const START_TIMEOUT: Duration = Duration::from_secs(10);
/// Its whitelist, relative to its chroot (which is also its working directory).
const WHITELIST: &str = "whitelist";
/// An announce that adds no peer: port 1, already `stopped`.
const PROBE: &str =
    "&peer_id=-FI0000-000000000000&port=1&uploaded=0&downloaded=0&left=0&event=stopped&compact=1";

/// A running opentracker, stopped (by its PID) on drop.
pub struct Tracker {
    pub http_port: u16,
    pub udp_port: u16,
    allowed: Vec<String>,
    run: Running,
    dir: TempDir,
}

impl Tracker {
    pub fn start(env: &TestEnv) -> Tracker {
        let dir = env.scratch_dir("opentracker-");
        std::fs::write(dir.path().join(WHITELIST), "").expect("whitelist");
        let (http_port, udp_port) = (free_port(), free_port());
        let mut inv = Invocation::new("opentracker", "opentracker", dir.path().into());
        // -d: its chroot (a dir of its own); -u: it drops root for this user.
        inv.args(["-i", BT_IP, "-p", &http_port.to_string()])
            .args([
                "-P",
                &udp_port.to_string(),
                "-u",
                "nobody",
                "-w",
                WHITELIST,
                "-d",
            ])
            .arg(dir.path());
        let mut run = Running::spawn(&inv).expect("spawn opentracker");
        if let Err(e) = wait_port(BT_IP, http_port, &mut run, START_TIMEOUT) {
            panic!("{e}\n{}", run.into_outcome());
        }
        Tracker {
            http_port,
            udp_port,
            allowed: Vec::new(),
            run,
            dir,
        }
    }

    /// `http://BT_IP:PORT/announce`: the clients announce from BT_IP, the address the
    /// tracker then hands out.
    pub fn http_url(&self) -> String {
        format!("http://{BT_IP}:{}/announce", self.http_port)
    }

    /// `udp://BT_IP:PORT/announce`.
    pub fn udp_url(&self) -> String {
        format!("udp://{BT_IP}:{}/announce", self.udp_port)
    }

    /// Tracks the infohash `hex` (40 hex digits: a v1 hash, or a v2 hash truncated to 20
    /// bytes as v2 clients announce it) from now on.
    pub fn allow(&mut self, hex: &str) {
        self.allowed.push(hex[..40].to_owned());
        let list = self.allowed.join("\n") + "\n";
        std::fs::write(self.dir.path().join(WHITELIST), list).expect("whitelist");
        let pid = self.run.pid().to_string();
        let status = Command::new("kill").args(["-HUP", &pid]).status();
        assert!(status.is_ok_and(|s| s.success()), "kill -HUP {pid}");
        // It reloads the list in a thread of its own: ask until it knows the hash. A
        // `stopped` announce adds no peer.
        self.wait("/announce", hex, PROBE, Duration::from_secs(5), |reply| {
            !reply.contains("not authorized")
        });
    }

    /// Waits until `seeders` complete peers have announced `hex` (so that a leecher's first
    /// announce finds them: the next one is half an hour away).
    pub fn wait_seeders(&self, hex: &str, seeders: usize, timeout: Duration) {
        let want = format!("8:completei{seeders}e");
        self.wait("/scrape", hex, "", timeout, |scrape| scrape.contains(&want));
    }

    /// Asks `GET PATH?info_hash=HEX...REST` until `done` likes the answer.
    fn wait(
        &self,
        path: &str,
        hex: &str,
        rest: &str,
        timeout: Duration,
        done: impl Fn(&str) -> bool,
    ) {
        let path = format!("{path}?info_hash={}{rest}", url_bytes(&hex[..40]));
        let deadline = Instant::now() + timeout;
        loop {
            let scrape = http::request_to(BT_IP, self.http_port, "GET", &path, &[], b"")
                .map(|r| r.text())
                .unwrap_or_else(|e| e);
            if done(&scrape) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "opentracker scrape of {hex}: {scrape}\n{}",
                self.log()
            );
            thread::sleep(POLL);
        }
    }

    /// The peers it hands out for `hex`: asked as a peer on port 1 that stops at once.
    pub fn peers(&self, hex: &str) -> Result<Vec<SocketAddr>, String> {
        let hash = url_bytes(&hex[..40]);
        let ask = |probe: &str| {
            let path = format!("/announce?info_hash={hash}{probe}&numwant=50");
            http::request_to(BT_IP, self.http_port, "GET", &path, &[], b"")
        };
        let reply = ask(&PROBE.replace("&event=stopped", ""))?;
        ask(PROBE)?;
        let peers =
            compact_peers(&reply.body).ok_or_else(|| format!("no peers in {:?}", reply.text()))?;
        Ok(peers.into_iter().filter(|p| p.port() != 1).collect())
    }

    /// What it printed, for a failure report.
    pub fn log(&self) -> String {
        let peers: Vec<String> = self
            .allowed
            .iter()
            .map(|hex| format!("{hex}: {:?}", self.peers(hex)))
            .collect();
        format!(
            "── opentracker (pid {}), peers {peers:?}\n{}",
            self.run.pid(),
            self.run.output_so_far()
        )
    }
}

/// Hex digits as percent-encoded bytes (`info_hash=` wants the raw 20 bytes).
fn url_bytes(hex: &str) -> String {
    let mut out = String::new();
    for pair in hex.as_bytes().chunks(2) {
        let _ = write!(out, "%{}", String::from_utf8_lossy(pair));
    }
    out
}

/// The `peers` string of a compact announce reply: 6 bytes per IPv4 peer.
fn compact_peers(reply: &[u8]) -> Option<Vec<SocketAddr>> {
    let at = reply.windows(7).position(|w| w == b"5:peers")? + 7;
    let rest = &reply[at..];
    let colon = rest.iter().position(|&b| b == b':')?;
    let len: usize = std::str::from_utf8(&rest[..colon]).ok()?.parse().ok()?;
    let bytes = rest.get(colon + 1..colon + 1 + len)?;
    let peer = |c: &[u8]| {
        let ip = std::net::Ipv4Addr::new(c[0], c[1], c[2], c[3]);
        SocketAddr::from((ip, u16::from_be_bytes([c[4], c[5]])))
    };
    Some(bytes.chunks_exact(6).map(peer).collect())
}
