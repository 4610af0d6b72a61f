//! The test kit of every ferry crate (a dev-dependency only, never published).
//!
//! What is here, by module:
//! - [`server`]: ferry's own mailbox server and relay in process on 127.0.0.1 port 0.
//! - [`raw_mailbox`], [`raw_relay`]: hand-driven clients of that server, seeing every
//!   frame and byte (the server's conformance tests).
//! - [`in_process`]: both sides of a transfer through the `ferry` library in one process.
//! - [`ferry_bin`]: the real `ferry` binary as a child process; [`native_cli`] runs
//!   it for native-protocol transfers and reads the receiver's resume state;
//!   [`live`] talks to one while it runs (prompts, Ctrl-C, under a pty or not).
//! - [`evil_peer`], [`evil_transit`], [`scenario`]: a peer that follows the protocol
//!   only as far as a test wants, built on ferry's own sans-IO crate.
//! - [`evil_server`]: mailbox servers that corrupt, reorder or withhold frames.
//! - [`relay_proxy`]: a transit relay stand-in that throttles, cuts or corrupts.
//! - [`netns`]: a test body re-run in a private network namespace (loopback
//!   only, multicast routed to it): the LAN tests.
//! - [`link`]: a link emulator (delay, loss, rate, queue, cuts) between two
//!   network namespaces over TUN devices; the `ferry-link` binary runs it.
//! - [`test_ca`]: a private CA and the server certificates it signs (TLS tests).
//! - [`tree`], [`files`], [`zipraw`]: sandboxes, file trees and their snapshots,
//!   deterministic content, hand-made (hostile) zip archives.
//!
//! Every wait here is bounded: [`WAIT`] for one protocol step, [`RUN`] for a
//! whole `ferry` process (killed when it overstays).
#![allow(clippy::unwrap_used)] // a test kit: a failed unwrap is a failed test

pub mod balancer;
pub mod evil_peer;
pub mod evil_server;
pub mod evil_transit;
pub mod ferry_bin;
pub mod files;
pub mod in_process;
pub mod interactive;
pub mod json_run;
pub mod link;
pub mod native_cli;
pub mod netns;
pub mod postgres;
pub mod raw_mailbox;
pub mod raw_relay;
pub mod relay_proxy;
pub mod scenario;
pub mod server;
pub mod test_ca;
pub mod tree;
pub mod zipraw;

use std::time::Duration;

pub use evil_peer::EvilPeer;
pub use evil_transit::{via_relay, EvilStream, EvilTransit};
pub use ferry_bin::{Ferry, Finished, Running};
pub use server::TestServer;
pub use tree::{Sandbox, Tree};

/// Longest wait for one protocol step (a message, a connection).
pub const WAIT: Duration = Duration::from_secs(30);
/// Longest a `ferry` process may run before the test kills it and fails.
pub const RUN: Duration = Duration::from_secs(60);

/// Awaits `fut`, failing the test (instead of hanging) after `WAIT`.
/// A code no other test of this run uses (each test server is fresh anyway;
/// a random nameplate also keeps runs against a shared server apart).
pub fn fresh_code() -> String {
    format!("{}-guitarist-revenge", 100 + rand::random::<u16>() % 60000)
}

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
