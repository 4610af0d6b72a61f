//! `ferry serve` as a library: a Magic Wormhole rendezvous ("mailbox") server and a
//! transit relay in one process, wire-compatible with the Python
//! `magic-wormhole-mailbox-server` 0.8 and `magic-wormhole-transit-relay` 0.5.
//!
//! [`Server::spawn`] binds the configured listeners and returns a [`ServerHandle`]
//! with the bound addresses (port 0 works) and a graceful [`ServerHandle::shutdown`].
//! Every task dies with the handle.
//!
//! Layers:
//! - `mailbox`: per-connection rules ([`mailbox`] session, sans-IO), the shared
//!   state (nameplates, mailboxes, subscribers, expiry) run by one "hub" thread that
//!   owns the store, and the WebSocket connection task;
//! - `relay`: the handshake-line parser and pairing by token (both pure), and the
//!   splice of two paired streams (TCP or WebSocket) with limits: in the kernel
//!   (`splice(2)` through a pipe) for two TCP streams on Linux, otherwise
//!   copied through a buffer; `relay::pool`: several instances behind one
//!   name sharing a [`RelayDirectory`] of waiting tokens, handing a connection
//!   over to the instance that owns its token;
//! - `store`: [`Store`] trait with an embedded SQLite backend (default) and an
//!   in-memory one; every mutation is committed before the client hears about it;
//! - `http`: the few bytes of HTTP/1.1 we need (upgrade to `/v1`, `/`, `/health`,
//!   `/metrics`), and `metrics`: Prometheus text counters;
//! - `tls`: the certificate of the mailbox port (reloadable), and `io`: a
//!   connection that is plain TCP or TLS;
//! - `web`: the browser page (`web/dist/`, embedded at compile time) at `/` of
//!   the mailbox port, its Content-Security-Policy, and `/ferry-web.json`.
//!
//! Message bodies are ciphertext; they are stored until the mailbox closes or
//! expires and are never logged.

mod config;
mod error;
mod http;
mod io;
mod limits;
mod mailbox;
mod metrics;
mod relay;
mod server;
mod store;
mod stun;
mod time;
mod tls;
mod web;

pub use config::values::{parse_count, parse_seconds};
pub use config::{redact, Config, ConfigFile, Database, Limits, Timing};
pub use error::Error;
pub use relay::pool::{
    DirFuture, DirectoryError, MemoryDirectory, NoPool, Owner, RelayDirectory, RelayPool,
};
pub use server::{Server, ServerHandle};
pub use store::{ChangeFeed, Key, MemoryStore, PgStore, Prefetch, SqliteStore, Store, StoreError};
pub use tls::TlsFiles;
