//! BitTorrent on real files and sockets: making `.torrent` files (create.rs), the
//! torrent's files on disk (storage/: partial download, resume, seed verification),
//! one connection to one peer (peer/: the wire as a task, serving and magnet
//! metadata), the tracker clients (tracker/), and the swarm loop (swarm/) that drives the sans-IO pieces
//! of `ferry_proto::torrent`.

pub mod create;
pub mod peer;
pub mod storage;
pub mod swarm;
pub mod tracker;
