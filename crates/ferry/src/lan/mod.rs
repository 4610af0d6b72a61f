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
mod scan;
mod send;
pub mod server;
pub mod tls;
pub use receive::{receive, ReceiveOptions, Receiving};
pub use scan::devices;
pub use send::{send, SendOptions, Target};
