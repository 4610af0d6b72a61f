//! What seed and get share: the swarm's options from the flags, reading a
//! `.torrent`, and errors as the rest of ferry words them.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::{Context, Result};
use ferry::torrent::swarm::{self, SwarmError, SwarmOptions};
use ferry_proto::torrent::metainfo::Metainfo;

use crate::args::SwarmArgs;

/// A `.torrent` larger than this is refused unread (libtorrent's limit is 100 MB;
/// real ones are kilobytes to a few megabytes).
const MAX_TORRENT_FILE: u64 = 64 << 20;

pub fn swarm_options(listen: SocketAddr, fallback: bool, args: &SwarmArgs) -> SwarmOptions {
    let mut options = SwarmOptions::new(listen);
    options.listen_fallback = fallback;
    options.peers = args.peers.clone();
    options.trackers = args.trackers.clone();
    if !args.no_dht {
        let bootstrap = args.dht_bootstrap.clone();
        options.dht = Some(swarm::DhtNode::start(listen.ip(), bootstrap));
    }
    options
}

/// Reads and checks a `.torrent` (hostile input: every limit of the parser applies).
pub fn read_torrent(path: &Path) -> Result<Metainfo> {
    use std::io::Read;
    let shown = path.display();
    let file = std::fs::File::open(path).with_context(|| format!("opening {shown}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_TORRENT_FILE + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {shown}"))?;
    if bytes.len() as u64 > MAX_TORRENT_FILE {
        anyhow::bail!(
            "{shown} is larger than {} MiB: not a .torrent",
            MAX_TORRENT_FILE >> 20
        );
    }
    Metainfo::parse(&bytes).with_context(|| format!("{shown} is not a valid torrent"))
}

/// A swarm's failure as an error the exit codes know (ferry's own errors stay
/// themselves, so "exists" and "no space" keep exit code 5).
pub fn swarm_error(e: SwarmError) -> anyhow::Error {
    match e {
        SwarmError::Ferry(e) => e.into(),
        other => other.into(),
    }
}

/// Content bytes and file count of a torrent (pad files not counted).
pub fn content(meta: &Metainfo) -> (u64, usize) {
    let files = meta.info.files.iter().filter(|f| !f.pad);
    files.fold((0, 0), |(b, n), f| (b + f.length, n + 1))
}

pub fn describe(meta: &Metainfo) -> String {
    let (bytes, files) = content(meta);
    let files = match files {
        1 => "1 file".to_owned(),
        n => format!("{n} files"),
    };
    format!(
        "{} ({} in {files})",
        ferry_proto::transfer::path::escape_for_terminal(&meta.info.name),
        crate::term::human(bytes)
    )
}
