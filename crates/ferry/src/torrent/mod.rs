//! BitTorrent on real files: making `.torrent` files (create.rs).

pub mod create;
