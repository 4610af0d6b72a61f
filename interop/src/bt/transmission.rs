//! transmission-daemon 3.00 as a peer: a config dir of its own (settings.json written before
//! start), driven over its JSON-RPC (`/transmission/rpc`, with the X-Transmission-Session-Id
//! dance). It cannot be told about a peer: it finds them through a tracker or is connected to.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use tempfile::TempDir;

use super::START_TIMEOUT;
use super::{bt_addr, free_port, http, poll_until, wait_port, Job, Role, Source, Swarm, BT_IP};
use crate::process::{Invocation, Running};
use crate::TestEnv;

/// `torrent-get` status values (libtransmission's tr_torrent_activity).
const STATUS_CHECK_WAIT: i64 = 1;
const STATUS_CHECK: i64 = 2;
const STATUS_SEED: i64 = 6;
const FIELDS: [&str; 9] = [
    "status",
    "error",
    "errorString",
    "percentDone",
    "leftUntilDone",
    "sizeWhenDone",
    "metadataPercentComplete",
    "peersConnected",
    "name",
];

pub(super) struct Transmission {
    port: u16,
    rpc_port: u16,
    session: String,
    last: String,
    run: Running,
    _dir: TempDir,
}

/// Everything that reaches past loopback is off: DHT, LPD, PEX, uTP, port mapping.
fn settings(rpc_port: u16, port: u16, download_dir: &Path) -> Value {
    json!({
        "rpc-enabled": true,
        "rpc-port": rpc_port,
        "rpc-bind-address": "127.0.0.1",
        "rpc-authentication-required": false,
        "rpc-host-whitelist-enabled": false,
        "rpc-whitelist": "127.0.0.1",
        "peer-port": port,
        "peer-port-random-on-start": false,
        "bind-address-ipv4": BT_IP,
        "bind-address-ipv6": "::1",
        "dht-enabled": false,
        "lpd-enabled": false,
        "pex-enabled": false,
        "utp-enabled": false,
        "port-forwarding-enabled": false,
        "blocklist-enabled": false,
        // Prefer plain connections (libtorrent and aria2 then skip MSE too).
        "encryption": 0,
        "download-dir": download_dir,
        "incomplete-dir-enabled": false,
        "start-added-torrents": true,
        "ratio-limit-enabled": false,
        "idle-seeding-limit-enabled": false,
        "speed-limit-up-enabled": false,
        "speed-limit-down-enabled": false,
        "download-queue-enabled": false,
        "seed-queue-enabled": false,
        "message-level": 3,
    })
}

impl Transmission {
    pub(super) fn start(env: &TestEnv, job: &Job) -> Result<Transmission, String> {
        let dir = env.scratch_dir("transmission-");
        let (port, rpc_port) = (free_port(), free_port());
        let config = serde_json::to_vec_pretty(&settings(rpc_port, port, job.dir)).expect("json");
        std::fs::write(dir.path().join("settings.json"), config).expect("settings.json");
        let mut inv = Invocation::new(
            "transmission-daemon",
            "transmission-daemon",
            dir.path().into(),
        );
        inv.arg("-f").arg("-g").arg(dir.path()).arg("--log-info");
        let mut run = Running::spawn(&inv).expect("spawn transmission-daemon");
        if let Err(e) = wait_port("127.0.0.1", rpc_port, &mut run, START_TIMEOUT) {
            panic!("{e}\n{}", run.into_outcome());
        }
        let mut daemon = Transmission {
            port,
            rpc_port,
            session: String::new(),
            last: String::new(),
            run,
            _dir: dir,
        };
        daemon.add(job)?;
        Ok(daemon)
    }

    /// `torrent-add`; its `result` text when it refuses the torrent.
    fn add(&mut self, job: &Job) -> Result<(), String> {
        let filename = match job.source {
            Source::File(path) => path.display().to_string(),
            Source::Magnet(uri) => uri.clone(),
        };
        let args = json!({"filename": filename, "download-dir": job.dir, "paused": false});
        let added = self.rpc("torrent-add", args)?;
        if added.get("torrent-added").is_none() {
            return Err(format!("torrent-add: {added}"));
        }
        if job.role == Role::Seed {
            // It finds the data on add, but check it now rather than rely on that.
            self.rpc("torrent-verify", json!({}))?;
        }
        Ok(())
    }

    /// One RPC call; returns its `arguments`, or the `result` text when it is not "success".
    fn rpc(&mut self, method: &str, arguments: Value) -> Result<Value, String> {
        let body = json!({"method": method, "arguments": arguments}).to_string();
        for _ in 0..2 {
            let session = self.session.clone();
            let headers = [("X-Transmission-Session-Id", session.as_str())];
            let resp = http::request(
                self.rpc_port,
                "POST",
                "/transmission/rpc",
                &headers,
                body.as_bytes(),
            )?;
            if resp.status == 409 {
                self.session = resp
                    .header("X-Transmission-Session-Id")
                    .ok_or("409 without a session id")?
                    .to_owned();
                continue;
            }
            let reply: Value = serde_json::from_slice(&resp.body)
                .map_err(|e| format!("{method}: {e}: {}", resp.text()))?;
            return match reply["result"].as_str() {
                Some("success") => Ok(reply["arguments"].clone()),
                _ => Err(format!("{method}: {reply}")),
            };
        }
        Err(format!("{method}: the session id was refused twice"))
    }

    fn torrent(&mut self) -> Result<Value, String> {
        let got = self.rpc("torrent-get", json!({"fields": FIELDS}))?;
        let torrent = got["torrents"][0].clone();
        self.last = torrent.to_string();
        Ok(torrent)
    }
}

/// Complete as transmission reports it: metadata in hand, nothing left, not checking.
fn is_complete(t: &Value) -> Result<bool, String> {
    if t["error"].as_i64().unwrap_or(0) != 0 {
        return Err(format!("transmission error: {}", t["errorString"]));
    }
    let status = t["status"].as_i64().unwrap_or(-1);
    let checking = status == STATUS_CHECK || status == STATUS_CHECK_WAIT;
    Ok(t["metadataPercentComplete"].as_f64() == Some(1.0)
        && t["leftUntilDone"].as_i64() == Some(0)
        && t["sizeWhenDone"].as_i64().unwrap_or(0) > 0
        && !checking
        && status == STATUS_SEED)
}

impl Swarm for Transmission {
    fn listen_addr(&self) -> SocketAddr {
        bt_addr(self.port)
    }

    fn wait_complete(&mut self, timeout: Duration) -> Result<(), String> {
        poll_until(timeout, || is_complete(&self.torrent()?))
    }

    fn pid(&self) -> u32 {
        self.run.pid()
    }

    fn log(&self) -> String {
        format!(
            "── transmission-daemon (pid {}), last torrent-get: {}\n{}",
            self.run.pid(),
            self.last,
            self.run.output_so_far()
        )
    }
}
