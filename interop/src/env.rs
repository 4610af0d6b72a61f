//! Where everything lives: the peers, the ferry binary and the test network's servers.
//!
//! The servers are started by `interop/run-in-netns.sh`, which exports their addresses. The
//! tests refuse to run without them instead of silently reaching for the public servers.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use tempfile::TempDir;

/// Address both ferry and the peers bind and advertise for direct connections.
///
/// Loopback is reachable by every peer inside the test namespace; ferry gets it through
/// `--listen` so that its direct hints are deterministic.
pub const DIRECT_LISTEN_ADDR: &str = "127.0.0.1";

/// Everything a test needs to know about its surroundings.
#[derive(Debug, Clone)]
pub struct TestEnv {
    /// Root of the installed peers (`interop/install-peers.sh`).
    pub peers: PathBuf,
    /// The `ferry` binary under test.
    pub ferry_bin: PathBuf,
    /// The `wormhole-william` binary.
    pub william_bin: PathBuf,
    /// Mailbox (rendezvous) WebSocket URL, e.g. `ws://127.0.0.1:4000/v1`.
    pub mailbox: String,
    /// Transit relay as `tcp:HOST:PORT`.
    pub relay: String,
    /// The relay's usage database, used to prove that a transfer went through the relay.
    pub relay_db: Option<PathBuf>,
    /// The PostgreSQL URL holding relay usage instead (`ferry serve` instances on it).
    pub relay_pg: Option<String>,
    /// Directory shared by all test processes of one run (nameplate reservations).
    pub state_dir: PathBuf,
}

impl TestEnv {
    /// The environment of this test process; panics with directions when the suite is run
    /// outside `interop/run-in-netns.sh`.
    pub fn get() -> &'static TestEnv {
        static ENV: OnceLock<TestEnv> = OnceLock::new();
        ENV.get_or_init(|| TestEnv::from_process_env().unwrap_or_else(|e| panic!("{e}")))
    }

    fn from_process_env() -> Result<TestEnv, String> {
        let mailbox = required("FERRY_TEST_MAILBOX")?;
        let relay = required("FERRY_TEST_RELAY")?;
        let peers = std::env::var_os("FERRY_PEERS")
            .map(PathBuf::from)
            .unwrap_or_else(default_peers_dir);
        let state_dir = std::env::var_os("FERRY_TEST_STATE")
            .map(PathBuf::from)
            .unwrap_or_else(|| std::env::temp_dir().join("ferry-interop-state"));
        std::fs::create_dir_all(&state_dir)
            .map_err(|e| format!("cannot create {}: {e}", state_dir.display()))?;
        Ok(TestEnv {
            ferry_bin: ferry_bin(),
            william_bin: std::env::var_os("FERRY_WILLIAM_BIN")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("wormhole-william")),
            relay_db: std::env::var_os("FERRY_TEST_RELAY_DB").map(PathBuf::from),
            relay_pg: std::env::var("FERRY_TEST_RELAY_PG").ok(),
            peers,
            mailbox,
            relay,
            state_dir,
        })
    }

    /// The Python `wormhole` CLI in the peers' virtualenv.
    pub fn python_wormhole(&self) -> PathBuf {
        self.peers.join("venv/bin/wormhole")
    }

    /// The virtualenv's Python interpreter (used to read the relay's sqlite usage DB).
    pub fn python(&self) -> PathBuf {
        self.peers.join("venv/bin/python3")
    }

    /// `wormhole-rs` from crates.io `magic-wormhole-cli`.
    pub fn rust_wormhole(&self) -> PathBuf {
        self.peers.join("cargo/bin/wormhole-rs")
    }

    /// A fresh directory for test data inside the run's state directory, so that
    /// `run-in-netns.sh` removes whatever a killed test leaves behind (huge files included).
    pub fn scratch_dir(&self, prefix: &str) -> TempDir {
        tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in(&self.state_dir)
            .unwrap_or_else(|e| panic!("creating a directory in {}: {e}", self.state_dir.display()))
    }

    /// The relay as `tcp://HOST:PORT`, the form `wormhole-rs` wants.
    pub fn relay_url(&self) -> String {
        let host_port = self.relay.strip_prefix("tcp:").unwrap_or(&self.relay);
        format!("tcp://{host_port}")
    }
}

fn required(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| {
        format!(
            "{name} is not set: the interop tests need the private test network and servers; \
             run them through `interop/run-in-netns.sh cargo nextest run -p ferry-interop` \
             (or `scripts/test`)"
        )
    })
}

pub fn default_peers_dir() -> PathBuf {
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    Path::new(&home).join(".cache/ferry-peers")
}

/// `FERRY_BIN`, else the release build in this workspace's target directory.
pub fn ferry_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("FERRY_BIN") {
        return PathBuf::from(bin);
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    target.join("release/ferry")
}
