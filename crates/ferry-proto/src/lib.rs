//! Sans-IO core of ferry: the Magic Wormhole (and LocalSend) wire formats and state
//! machines.
//!
//! Nothing here touches sockets, files, clocks or the OS random generator: bytes,
//! time and randomness come in as arguments and the caller performs the I/O. That
//! keeps every codec testable with known-answer vectors and fuzzable.
//!
//! Layers, bottom up:
//! - [`code`] and [`wordlist`]: wormhole codes (`7-guitarist-revenge`);
//! - [`crypto`]: SPAKE2, HKDF key derivation with keys typed by purpose, secretbox;
//! - [`wire`]: what goes to and from the servers, both ends of each format: the
//!   mailbox server's JSON frames ([`wire::mailbox`]) and the relay line;
//! - [`session`]: the client side of the rendezvous (PAKE, version, phases);
//! - [`transit`]: hints, handshakes and encrypted record framing;
//! - [`transfer`]: file-transfer v1 offer/answer messages, its sender and
//!   receiver machines, and safe paths;
//! - [`native`]: ferry-to-ferry transfers with manifests, BLAKE3 trees and resume,
//!   and their sender and receiver machines;
//! - [`localsend`]: the LocalSend LAN protocol (v2.1): its messages, certificate
//!   fingerprints, and the upload API's receiver and sender machines.
//!
//! Under `cfg(test)`, `sim` runs those machines against each other over the real
//! record layers through a faulty simulated connection, from seeded RNGs.

pub mod code;
pub mod crypto;
pub mod localsend;
pub mod native;
pub mod portmap;
pub mod session;
#[cfg(test)]
mod sim;
#[cfg(test)]
mod test_vectors;
pub mod torrent;
pub mod transfer;
pub mod transit;
pub mod wire;
pub mod wordlist;
