//! The client's timers, in one place (the server has its own, `ferry_server::Timing`).
//!
//! Both [`crate::MailboxConfig`] and [`crate::transit::TransitConfig`] carry a
//! `Timing`; each layer reads its own timers from it. Tests shrink them, or run
//! the defaults on tokio's paused clock.

use std::time::Duration;

/// Every timeout and delay of the client. The defaults follow the reference
/// clients (Python's keepalive and relay delay) and are what `ferry` uses.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timing {
    /// Time allowed to reach the mailbox server: TCP, TLS and the WebSocket upgrade.
    pub mailbox_connect: Duration,
    /// Server silence after which we ping it; a second such silence (no pong,
    /// no frame at all) means the connection is dead.
    pub mailbox_keepalive: Duration,
    /// After a transfer, how long we wait for the server to confirm `close`.
    pub mailbox_close: Duration,
    /// After a failed rendezvous, how long we wait for the server's `closed`
    /// (so it has read our last frames before the socket goes).
    pub mailbox_fail_close: Duration,
    /// Then how long the WebSocket close handshake may take.
    pub mailbox_shutdown: Duration,
    /// When the PAKE leaves two possible keys (one session in 256, see
    /// `ferry_proto::crypto::pake::Keys`), how long our `version` waits for
    /// the peer's before going out under the standard key.
    pub version_hold: Duration,
    /// Relays are tried this long after direct candidates, when there are any,
    /// so a working direct path wins without loading the relay.
    pub relay_delay: Duration,
    /// Time allowed for one transit TCP connect.
    pub transit_connect: Duration,
    /// Time allowed for one candidate's transit handshake (relay line included).
    pub transit_handshake: Duration,
    /// Time allowed for the whole race of transit candidates.
    pub transit_overall: Duration,
    /// Native protocol, failing side: how long it tries to send its `ERROR`,
    /// and how long a pause in the peer's data means the peer has stopped.
    pub linger: Duration,
    /// Transit silence (nothing read, or a write that moves nothing) after which
    /// the peer counts as gone: native links whose peer sends keep-alives, and
    /// v1 receivers waiting for records.
    pub transit_idle: Duration,
    /// Native protocol: a side that has written nothing for this long sends a
    /// keep-alive (several per `transit_idle`, so one lost or late is no matter).
    pub keepalive: Duration,
    /// Native protocol between two ferry: how long after the transit connection
    /// broke we keep trying to make it again before giving up.
    pub reconnect_for: Duration,
    /// Native protocol, failing side: the longest it reads on (a sender stops
    /// after a few windows without acknowledgements, then reads the `ERROR`).
    pub drain: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            mailbox_connect: Duration::from_secs(30),
            mailbox_keepalive: Duration::from_secs(30),
            mailbox_close: Duration::from_secs(10),
            mailbox_fail_close: Duration::from_secs(2),
            version_hold: Duration::from_secs(2),
            mailbox_shutdown: Duration::from_secs(1),
            relay_delay: Duration::from_secs(2),
            transit_connect: Duration::from_secs(10),
            transit_handshake: Duration::from_secs(30),
            transit_overall: Duration::from_secs(90),
            transit_idle: Duration::from_secs(30),
            keepalive: Duration::from_secs(5),
            reconnect_for: Duration::from_secs(180),
            linger: Duration::from_secs(2),
            drain: Duration::from_secs(30),
        }
    }
}
