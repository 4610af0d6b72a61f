//! LocalSend on the LAN: what ferry needs beyond the sans-IO protocol in
//! `ferry_proto::localsend` to talk to real LocalSend devices over HTTPS.
//!
//! - [`discovery`]: multicast announcements and scans (UDP 224.0.0.167:53317).
//! - [`identity`]: ferry's device certificate and key, made once and kept in
//!   the config directory; its fingerprint is how peers know ferry.
//! - [`tls`]: rustls configurations without a CA: a server that accepts any
//!   self-signed client certificate (or none), a client that pins the server
//!   to the fingerprint it announced.

mod answer;
pub mod client;
pub mod discovery;
pub mod identity;
mod land;
mod outgoing;
mod provider;
mod receive;
mod send;
pub mod server;
pub mod tls;
pub use receive::{receive, ReceiveOptions, Receiving};
pub use send::{send, SendOptions, Target};

use std::io;
use std::time::Duration;

use discovery::Device;
use identity::Identity;

/// The devices that answer within `duration`, each once, sorted by alias
/// (`ferry lan devices`, and the list `send --lan` chooses from).
pub async fn devices(
    config: &discovery::Config,
    alias: &str,
    identity: &Identity,
    duration: Duration,
) -> io::Result<Vec<Device>> {
    let us = receive::register(alias, identity, config.port);
    discovery::scan(config, &us, duration).await
}
