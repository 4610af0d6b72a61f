//! BitTorrent, sans-IO: bencode, `.torrent` files (parse and build), BEP 52 merkle
//! trees, magnet links, the peer wire, trackers, the swarm's piece picker, and
//! storage (pieces to file spans, piece verification).

pub mod bencode;
pub mod build;
mod digest;
pub mod hashes;
pub mod magnet;
pub mod merkle;
pub mod metainfo;
pub mod storage;
pub mod swarm;
pub mod tracker;
pub mod wire;
