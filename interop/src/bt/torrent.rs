//! `.torrent` files made by libtorrent 2.x (the reference the issue names) through
//! `interop/bt_libtorrent.py create`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::process::{Invocation, Running};
use crate::TestEnv;

/// Hashing a few MiB takes well under a second; 1 GiB takes seconds.
const CREATE_TIMEOUT: Duration = Duration::from_secs(120);

/// Which info dictionaries a torrent has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TorrentMode {
    V1,
    V2,
    Hybrid,
}

impl TorrentMode {
    fn flag(self) -> &'static str {
        match self {
            TorrentMode::V1 => "v1",
            TorrentMode::V2 => "v2",
            TorrentMode::Hybrid => "hybrid",
        }
    }
}

/// A `.torrent` on disk with what libtorrent said about it.
#[derive(Debug, Clone)]
pub struct Torrent {
    pub path: PathBuf,
    pub magnet: String,
    /// The v1 infohash (hex), for v1 and hybrid torrents.
    pub btih: Option<String>,
    /// The v2 infohash (hex SHA-256), for v2 and hybrid torrents.
    pub btmh: Option<String>,
}

/// The libtorrent driver script, run with the peers' virtualenv Python.
pub(super) fn driver(env: &TestEnv, label: &str, cwd: &Path) -> Invocation {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bt_libtorrent.py");
    let mut inv = Invocation::new(label, env.python(), cwd.to_path_buf());
    inv.arg(script).env("PYTHONUNBUFFERED", "1");
    inv
}

impl Torrent {
    /// Makes `out` for `content` (a file or a directory) with `piece_size` bytes per piece and
    /// the announce URLs of `trackers`.
    pub fn create(
        env: &TestEnv,
        content: &Path,
        mode: TorrentMode,
        piece_size: u32,
        trackers: &[String],
        out: &Path,
    ) -> Torrent {
        let cwd = out.parent().expect("a .torrent path has a parent");
        let mut inv = driver(env, "libtorrent create", cwd);
        inv.args(["create", "--mode", mode.flag(), "--piece-size"])
            .arg(piece_size.to_string())
            .arg("-o")
            .arg(out);
        for url in trackers {
            inv.args(["--tracker", url]);
        }
        inv.arg(content);
        let outcome = Running::spawn(&inv)
            .expect("spawn the libtorrent driver")
            .finish(Instant::now() + CREATE_TIMEOUT);
        assert!(outcome.succeeded(), "{outcome}");
        let stdout = outcome.stdout_text();
        let field = |key: &str| {
            stdout
                .lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ').map(str::to_owned))
        };
        Torrent {
            path: out.to_path_buf(),
            magnet: field("magnet").unwrap_or_else(|| panic!("no magnet link:\n{outcome}")),
            btih: field("btih"),
            btmh: field("btmh"),
        }
    }

    /// The magnet link with `tr=` parameters for `trackers` (percent-encoded).
    pub fn magnet_with_trackers(&self, trackers: &[String]) -> String {
        let mut uri = self.magnet.clone();
        for url in trackers {
            uri.push_str("&tr=");
            uri.push_str(&super::http::percent_encode(url));
        }
        uri
    }
}
