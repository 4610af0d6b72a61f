//! Test support shared by the `hostile_*` tests: an in-process mailbox server and
//! relay, an evil peer built on ferry's own protocol crate, an evil transit end,
//! a scripted evil mailbox server, the real `ferry` binary, and file-tree
//! snapshots that prove nothing changed where nothing should.
//!
//! Every wait here is bounded: [`WAIT`] for one protocol step, [`RUN`] for a
//! whole `ferry` process (killed when it overstays).
#![allow(dead_code, unreachable_pub, unused_imports, clippy::unwrap_used)]

pub mod evil_server;
pub mod ferry;
pub mod peer;
pub mod scenario;
pub mod server;
pub mod transit;
pub mod tree;
pub mod zipraw;

use std::time::Duration;

pub use ferry::{Ferry, Finished, Running};
pub use peer::EvilPeer;
pub use server::TestServer;
pub use transit::{via_relay, EvilStream, EvilTransit};
pub use tree::{Sandbox, Tree};

/// Longest wait for one protocol step (a message, a connection).
pub const WAIT: Duration = Duration::from_secs(30);
/// Longest a `ferry` process may run before the test kills it and fails.
pub const RUN: Duration = Duration::from_secs(60);

/// Awaits `fut`, failing the test (instead of hanging) after `WAIT`.
pub async fn within<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(WAIT, fut).await {
        Ok(v) => v,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// The bytes a person's terminal must never receive from untrusted text:
/// C0 controls other than newline, tab and carriage return; DEL; and the
/// UTF-8 encodings of C1 controls and bidirectional overrides.
pub fn raw_controls(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    text.char_indices()
        .filter(|(_, c)| {
            let c = *c;
            (c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .map(|(i, c)| format!("U+{:04X} at byte {i}", c as u32))
        .collect()
}
