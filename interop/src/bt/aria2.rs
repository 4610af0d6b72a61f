//! aria2c 1.36 as a peer: the torrent or magnet on its command line, its JSON-RPC on a free
//! port to watch it (`aria2.tellActive` / `aria2.tellStopped`). It cannot be told about a
//! peer: it finds them through a tracker or is connected to.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tempfile::TempDir;

use super::START_TIMEOUT;
use super::{bt_addr, free_port, http, poll_until, wait_port, Job, Role, Source, Swarm};
use crate::process::{Invocation, Running};
use crate::TestEnv;

pub(super) struct Aria2 {
    port: u16,
    rpc_port: u16,
    last: String,
    run: Running,
    _dir: TempDir,
}

impl Aria2 {
    pub(super) fn start(env: &TestEnv, job: &Job) -> Aria2 {
        let dir = env.scratch_dir("aria2-");
        let (port, rpc_port) = (free_port(), free_port());
        let mut inv = Invocation::new("aria2c", "aria2c", dir.path().into());
        inv.args(common_args(port, rpc_port))
            .arg(format!("--dir={}", job.dir.display()));
        inv.args(match job.role {
            // Seed for ever (ratio 0.0, no seed time), after checking every piece.
            Role::Seed => ["--check-integrity=true", "--seed-ratio=0.0"],
            // Stop seeding once complete: the download is then "complete" in tellStopped.
            Role::Fetch => ["--check-integrity=false", "--seed-time=0"],
        });
        match job.source {
            Source::File(path) => inv.arg(format!("--torrent-file={}", path.display())),
            Source::Magnet(uri) => inv.arg(uri),
        };
        let mut run = Running::spawn(&inv).expect("spawn aria2c");
        if let Err(e) = wait_port("127.0.0.1", rpc_port, &mut run, START_TIMEOUT) {
            panic!("{e}\n{}", run.into_outcome());
        }
        Aria2 {
            port,
            rpc_port,
            last: String::new(),
            run,
            _dir: dir,
        }
    }

    fn rpc(&self, method: &str, params: Value) -> Result<Value, String> {
        let body = json!({"jsonrpc": "2.0", "id": "t", "method": method, "params": params});
        let resp = http::request(
            self.rpc_port,
            "POST",
            "/jsonrpc",
            &[],
            body.to_string().as_bytes(),
        )?;
        let reply: Value = serde_json::from_slice(&resp.body)
            .map_err(|e| format!("{method}: {e}: {}", resp.text()))?;
        match reply.get("result") {
            Some(result) => Ok(result.clone()),
            None => Err(format!("{method}: {reply}")),
        }
    }

    /// Every download aria2 knows (a magnet has two: the metadata, then the data).
    fn downloads(&mut self) -> Result<Vec<Value>, String> {
        let mut all = self
            .rpc("aria2.tellActive", json!([]))?
            .as_array()
            .cloned()
            .unwrap_or_default();
        let stopped = self.rpc("aria2.tellStopped", json!([0, 100]))?;
        all.extend(stopped.as_array().cloned().unwrap_or_default());
        self.last = Value::Array(all.clone()).to_string();
        Ok(all)
    }
}

/// The infohash aria2 computes for `torrent` (`aria2c --show-files`), or why it refuses it.
pub fn info_hash(torrent: &Path) -> Result<String, String> {
    let mut inv = Invocation::new("aria2c -S", "aria2c", std::env::temp_dir());
    inv.arg("--show-files=true").arg(torrent);
    let outcome = Running::spawn(&inv)
        .map_err(|e| format!("spawn aria2c: {e}"))?
        .finish(Instant::now() + START_TIMEOUT);
    let text = outcome.all_output();
    match text.lines().find_map(|l| l.strip_prefix("Info Hash: ")) {
        Some(hash) if outcome.succeeded() => Ok(hash.trim().to_owned()),
        _ => Err(text),
    }
}

/// DHT (v4 and v6), local peer discovery and PEX off; it announces BT_IP (and listens on every
/// address, of which the test namespace has only lo's); plain
/// connections allowed; no preallocation (it would write the whole file first).
fn common_args(port: u16, rpc_port: u16) -> Vec<String> {
    [
        "--enable-dht=false",
        "--enable-dht6=false",
        "--bt-enable-lpd=false",
        "--enable-peer-exchange=false",
        "--disable-ipv6=true",
        "--bt-require-crypto=false",
        "--file-allocation=none",
        "--bt-save-metadata=false",
        "--follow-torrent=mem",
        "--summary-interval=0",
        "--console-log-level=notice",
        "--enable-rpc=true",
        "--rpc-listen-all=false",
        "--bt-stop-timeout=0",
        "--max-overall-download-limit=0",
        "--max-overall-upload-limit=0",
        "--no-conf=true",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([
        format!("--listen-port={port}"),
        format!("--rpc-listen-port={rpc_port}"),
    ])
    .collect()
}

/// Complete as aria2 reports it: a download of real data (not a magnet's metadata, which is
/// followed by another) with every byte verified (and no integrity check under way), seeding or finished.
fn is_complete(downloads: &[Value]) -> Result<bool, String> {
    for d in downloads {
        if d["status"] == "error" {
            return Err(format!(
                "aria2 error {}: {}",
                d["errorCode"], d["errorMessage"]
            ));
        }
    }
    Ok(downloads.iter().any(|d| {
        let total = d["totalLength"].as_str().unwrap_or("0");
        d.get("followedBy").is_none()
            && d["bittorrent"].get("info").is_some()
            && total != "0"
            && d["completedLength"].as_str() == Some(total)
            && d.get("verifiedLength").is_none()
            && d.get("verifyIntegrityPending").is_none()
            && (d["seeder"] == "true" || d["status"] == "complete")
    }))
}

impl Swarm for Aria2 {
    fn listen_addr(&self) -> SocketAddr {
        bt_addr(self.port)
    }

    fn wait_complete(&mut self, timeout: Duration) -> Result<(), String> {
        poll_until(timeout, || is_complete(&self.downloads()?))
    }

    fn pid(&self) -> u32 {
        self.run.pid()
    }

    fn log(&self) -> String {
        format!(
            "── aria2c (pid {}), last downloads: {}\n{}",
            self.run.pid(),
            self.last,
            self.run.output_so_far()
        )
    }
}
