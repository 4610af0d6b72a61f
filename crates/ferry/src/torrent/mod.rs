//! BitTorrent on real files and sockets: making `.torrent` files (create.rs), and the
//! tracker clients (tracker/) that drive the sans-IO pieces of `ferry_proto::torrent`.

pub mod create;
pub mod peer;
pub mod tracker;
