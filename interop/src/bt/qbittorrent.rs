//! qbittorrent-nox 4.5.2 (libtorrent-rasterbar 2.0.8) as a peer: a `--profile` of its own with
//! a qBittorrent.conf written before start, driven by its Web API v2 (`auth/login` with the
//! 4.5 default credentials, `torrents/add`, `torrents/addPeers`, `torrents/info`).

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use super::START_TIMEOUT;
use super::{bt_addr, free_port, http, poll_until, wait_port, Job, Source, Swarm, BT_IP};
use crate::process::{Invocation, Running};
use crate::TestEnv;

/// 4.5.x's defaults (4.6.1 and later print a random password at start instead).
const USER: &str = "admin";
const PASSWORD: &str = "adminadmin";
/// Between two `torrents/addPeers` while it has no peer.
const READD_PEERS: Duration = Duration::from_secs(1);
/// The states of a torrent whose data is complete (and checked).
const DONE_STATES: [&str; 5] = ["uploading", "stalledUP", "forcedUP", "queuedUP", "pausedUP"];

pub(super) struct Qbittorrent {
    port: u16,
    web_port: u16,
    cookie: String,
    peers: String,
    peers_added: Option<Instant>,
    last: String,
    run: Running,
    _dir: TempDir,
}

/// DHT, LSD, PEX, UPnP/NAT-PMP off; TCP only (no uTP); bound to lo/BT_IP; no queueing
/// (it would hold back a torrent); the legal notice accepted.
fn config(port: u16, web_port: u16, save: &Path) -> String {
    format!(
        "[LegalNotice]\nAccepted=true\n\n\
         [BitTorrent]\nSession\\Port={port}\nSession\\DHTEnabled=false\n\
         Session\\LSDEnabled=false\nSession\\PeXEnabled=false\nSession\\BTProtocol=TCP\n\
         Session\\Interface=lo\nSession\\InterfaceName=lo\nSession\\InterfaceAddress={BT_IP}\n\
         Session\\QueueingSystemEnabled=false\nSession\\MultiConnectionsPerIp=true\nSession\\DefaultSavePath={save}\n\
         Session\\AnonymousModeEnabled=false\n\n\
         [Network]\nPortForwardingEnabled=false\n\n\
         [Preferences]\nWebUI\\Address=127.0.0.1\nWebUI\\Port={web_port}\nWebUI\\UPnP=false\n\
         Connection\\UPnP=false\nConnection\\ResolvePeerCountries=false\nGeneral\\Locale=en\n",
        save = save.display()
    )
}

impl Qbittorrent {
    pub(super) fn start(env: &TestEnv, job: &Job) -> Result<Qbittorrent, String> {
        let dir = env.scratch_dir("qbittorrent-");
        let (port, web_port) = (free_port(), free_port());
        let conf_dir = dir.path().join("qBittorrent/config");
        std::fs::create_dir_all(&conf_dir).expect("qBittorrent config dir");
        std::fs::write(
            conf_dir.join("qBittorrent.conf"),
            config(port, web_port, job.dir),
        )
        .expect("qBittorrent.conf");
        let mut inv = Invocation::new("qbittorrent-nox", "qbittorrent-nox", dir.path().into());
        inv.arg(format!("--profile={}", dir.path().display()));
        let mut run = Running::spawn(&inv).expect("spawn qbittorrent-nox");
        if let Err(e) = wait_port("127.0.0.1", web_port, &mut run, START_TIMEOUT) {
            panic!("{e}\n{}", run.into_outcome());
        }
        let peers = job
            .peers
            .connect_to
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>();
        let mut qbt = Qbittorrent {
            port,
            web_port,
            cookie: String::new(),
            peers: peers.join("|"),
            peers_added: None,
            last: String::new(),
            run,
            _dir: dir,
        };
        qbt.login().unwrap_or_else(|e| panic!("{e}\n{}", qbt.log()));
        qbt.add(job)?;
        Ok(qbt)
    }

    fn login(&mut self) -> Result<(), String> {
        let body = http::form(&[("username", USER), ("password", PASSWORD)]);
        let resp = self.post("/api/v2/auth/login", body.as_bytes(), FORM)?;
        let cookie = resp
            .header("set-cookie")
            .ok_or(format!("login: {}", resp.text()))?;
        self.cookie = cookie.split(';').next().unwrap_or_default().to_owned();
        Ok(())
    }

    fn add(&mut self, job: &Job) -> Result<(), String> {
        let save = job.dir.display().to_string();
        let mut fields = vec![("savepath", save.as_str()), ("paused", "false")];
        fields.push(("skip_checking", "false"));
        let torrent_bytes;
        let mut files: Vec<(&str, &str, &[u8])> = Vec::new();
        match job.source {
            Source::File(path) => {
                torrent_bytes = std::fs::read(path).map_err(|e| format!("{path:?}: {e}"))?;
                files.push(("torrents", "t.torrent", &torrent_bytes));
            }
            Source::Magnet(uri) => fields.push(("urls", uri.as_str())),
        }
        let (body, content_type) = http::multipart(&fields, &files);
        let resp = self.post("/api/v2/torrents/add", &body, &content_type)?;
        match resp.text().trim() {
            "Ok." => Ok(()),
            other => Err(format!("torrents/add: {} {other}", resp.status)),
        }
    }

    fn post(&self, path: &str, body: &[u8], content_type: &str) -> Result<http::Response, String> {
        let headers = [
            ("Cookie", self.cookie.as_str()),
            ("Content-Type", content_type),
        ];
        let resp = http::request(self.web_port, "POST", path, &headers, body)?;
        match resp.status {
            200 => Ok(resp),
            status => Err(format!("{path}: HTTP {status} {}", resp.text())),
        }
    }

    fn torrent(&mut self) -> Result<Option<Value>, String> {
        let resp = self.post("/api/v2/torrents/info", b"", FORM)?;
        let list: Value =
            serde_json::from_slice(&resp.body).map_err(|e| format!("torrents/info: {e}"))?;
        self.last = list.to_string();
        Ok(list.as_array().and_then(|l| l.first()).cloned())
    }

    /// Names the peers again while it has none (they may not have been listening yet).
    fn add_peers(&mut self, torrent: &Value) -> Result<(), String> {
        let idle = torrent["num_seeds"].as_i64().unwrap_or(0)
            + torrent["num_leechs"].as_i64().unwrap_or(0)
            == 0;
        let due = self
            .peers_added
            .is_none_or(|at| at.elapsed() >= READD_PEERS);
        if self.peers.is_empty() || !idle || !due {
            return Ok(());
        }
        self.peers_added = Some(Instant::now());
        let hash = torrent["hash"].as_str().unwrap_or_default();
        let body = http::form(&[("hashes", hash), ("peers", self.peers.as_str())]);
        self.post("/api/v2/torrents/addPeers", body.as_bytes(), FORM)
            .map(drop)
    }

    fn poll(&mut self) -> Result<bool, String> {
        let Some(torrent) = self.torrent()? else {
            return Ok(false);
        };
        if torrent["state"] == "error" || torrent["state"] == "missingFiles" {
            return Err(format!("qBittorrent state {}", torrent["state"]));
        }
        self.add_peers(&torrent)?;
        let state = torrent["state"].as_str().unwrap_or_default();
        Ok(DONE_STATES.contains(&state)
            && torrent["progress"].as_f64() == Some(1.0)
            && torrent["amount_left"].as_i64() == Some(0))
    }
}

const FORM: &str = "application/x-www-form-urlencoded";

impl Swarm for Qbittorrent {
    fn listen_addr(&self) -> SocketAddr {
        bt_addr(self.port)
    }

    fn wait_complete(&mut self, timeout: Duration) -> Result<(), String> {
        poll_until(timeout, || self.poll())
    }

    fn pid(&self) -> u32 {
        self.run.pid()
    }

    fn log(&self) -> String {
        format!(
            "── qbittorrent-nox (pid {}), last torrents/info: {}\n{}",
            self.run.pid(),
            self.last,
            self.run.output_so_far()
        )
    }
}
