//! BitTorrent on tokio: drives the sans-IO pieces of `ferry_proto::torrent`.

pub mod tracker;
