//! BitTorrent, sans-IO: bencode, and (to come) metainfo, magnet links and the peer wire.

pub mod bencode;
pub mod swarm;
pub mod tracker;
pub mod wire;
