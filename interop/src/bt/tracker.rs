//! opentracker on free loopback ports, HTTP and UDP, for the swarms whose clients cannot be
//! told about a peer (transmission-daemon, aria2). Debian builds it with a whitelist: only
//! infohashes named by [`Tracker::allow`] are tracked (written to its file, then SIGHUP).

use std::fmt::Write as _;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::{free_port, http, wait_port, POLL};
use crate::process::{Invocation, Running};
use crate::TestEnv;

const START_TIMEOUT: Duration = Duration::from_secs(10);
/// Its whitelist, relative to its chroot (which is also its working directory).
const WHITELIST: &str = "whitelist";

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
        inv.args(["-i", "127.0.0.1", "-p", &http_port.to_string()])
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
        if let Err(e) = wait_port(http_port, &mut run, START_TIMEOUT) {
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

    /// `http://127.0.0.1:PORT/announce` (libtorrent wants that path on a loopback tracker).
    pub fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}/announce", self.http_port)
    }

    /// `udp://127.0.0.1:PORT/announce`.
    pub fn udp_url(&self) -> String {
        format!("udp://127.0.0.1:{}/announce", self.udp_port)
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
        let probe = "&peer_id=-FI0000-000000000000&port=1&uploaded=0&downloaded=0&left=0\
                     &event=stopped&compact=1";
        self.wait("/announce", hex, probe, Duration::from_secs(5), |reply| {
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
            let scrape = http::request(self.http_port, "GET", &path, &[], b"")
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

    /// What it printed, for a failure report.
    pub fn log(&self) -> String {
        format!(
            "── opentracker (pid {})\n{}",
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
