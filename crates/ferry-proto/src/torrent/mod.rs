//! BitTorrent, sans-IO: bencode, `.torrent` files (parse and build), BEP 52 merkle
//! trees, magnet links, and (to come) the peer wire.

pub mod bencode;
pub mod build;
pub mod magnet;
pub mod merkle;
pub mod metainfo;
