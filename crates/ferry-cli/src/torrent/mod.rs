//! `ferry torrent`: make a `.torrent` (create.rs), serve data to a swarm (seed.rs),
//! download from one (get.rs); show.rs says how it goes, on a terminal or as JSON.

mod create;
mod get;
mod options;
mod seed;
mod show;

use std::path::PathBuf;

pub use create::create;
pub use get::get;
pub use seed::seed;

pub const TORRENT_HELP: &str = "\
A .torrent describes files by their hashes; its magnet link is the short form any
BitTorrent client opens. ferry makes hybrid torrents (v1 and v2) by default, the same
bytes libtorrent makes, so they join the same swarm as qBittorrent, Transmission,
aria2 or Deluge.

Examples:
  ferry torrent create ~/photos          # writes photos.torrent, prints magnet:?xt=...
  ferry torrent seed photos.torrent      # serves ./photos until Ctrl-C
  ferry torrent seed ~/photos            # the same without a .torrent: prints the magnet
  ferry torrent get 'magnet:?xt=urn:btih:...' --peer 192.0.2.7:6881
  ferry torrent get photos.torrent -o ~/Downloads";

pub const CREATE_HELP: &str = "\
What goes in: every regular file under PATH, hidden ones and empty ones included,
symbolic links followed (as libtorrent and mktorrent do); empty directories are left
out (a torrent cannot carry them). A PATH that is a file makes a single-file torrent.
A file that cannot be read stops the run and nothing is written.

The torrent is what libtorrent 2.x makes for the same files and piece size (files
sorted by path, pad files between the files of a hybrid), so both give the same info
hashes. The .torrent goes to ./NAME.torrent unless -o says otherwise; an existing file
is never overwritten. The magnet link goes to stdout, progress to stderr.

Examples:
  ferry torrent create ~/photos
  ferry torrent create video.mkv --tracker udp://tracker.example:6969/announce
  ferry torrent create --v1 --piece-size 1M -o release.torrent dist/";

pub const SEED_HELP: &str = "\
Every piece is checked against the torrent before it is served; pieces that do not
match (a file changed since the torrent was made) are not served, and ferry says how
many. The magnet link goes to stdout (with --json, a `seeding` event), so another
machine can run `ferry torrent get MAGNET --peer THIS-HOST:PORT`.

Peers find this seed through the torrent's trackers (and --tracker), or are told its
address by hand; --peer dials a peer that only accepts connections (aria2, a
firewalled client). Plain TCP, no encryption (MSE) or uTP; no DHT.

Examples:
  ferry torrent seed release.torrent                 # data in ./ or beside the .torrent
  ferry torrent seed release.torrent --data /srv/dl  # data in /srv/dl/<name>
  ferry torrent seed ~/photos --listen 0.0.0.0:6881";

pub const GET_HELP: &str = "\
The download goes to DIR/<name> (the torrent's name) and appears there only once
every piece is verified; until then it lives in DIR/.ferry-torrent-<hash>/, and
running the same command again continues from the verified pieces. An existing
DIR/<name> is never replaced; a torrent whose names would leave DIR is refused.
A peer that sends data that does not verify is dropped and not asked again.

A magnet link alone is enough when a peer has the torrent: its metadata comes from
the peers (--peer, the link's x.pe and its trackers). ferry exits 0 once complete;
it does not stay to seed (use `ferry torrent seed` for that).

Examples:
  ferry torrent get 'magnet:?xt=urn:btih:...&tr=udp://tracker.example:6969'
  ferry torrent get release.torrent --peer 192.0.2.7:6881 -o ~/Downloads
  ferry torrent get release.torrent --json | jq -c 'select(.event==\"progress\")'";

/// `16384`, `16K`, `4M` (1024-based).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let (digits, unit) = match text.trim_end_matches(['i', 'B']).char_indices().last() {
        Some((i, 'k' | 'K')) => (&text[..i], 1 << 10),
        Some((i, 'm' | 'M')) => (&text[..i], 1 << 20),
        _ => (text, 1),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .ok_or_else(|| format!("`{text}` is not a size (16384, 16K, 4M)"))
}

/// The .torrent is there already (exit code 5, "refused locally", as for receive).
#[derive(Debug, thiserror::Error)]
#[error("{} already exists; not overwriting it", .0.display())]
pub struct Exists(PathBuf);

fn exists(path: PathBuf) -> anyhow::Error {
    Exists(path).into()
}
