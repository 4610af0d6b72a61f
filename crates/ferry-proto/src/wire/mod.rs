//! What goes on the wire between ferry and the servers it uses: the mailbox
//! server's JSON frames and the transit relay's handshake line (and, in
//! `relay_pool`, the line one relay of a pool sends another). Each format is
//! defined once, with both its encoder and its decoder, for the client and the
//! server alike. (Peer-to-peer formats live with their protocol: `transit`,
//! `transfer`, `native`.)

pub mod mailbox;
pub mod relay;
pub mod relay_pool;
pub mod stun;
