//! LocalSend on the LAN: what ferry needs beyond the sans-IO protocol in
//! `ferry_proto::localsend` to talk to real LocalSend devices over HTTPS.
//!
//! - [`discovery`]: multicast announcements and scans (UDP 224.0.0.167:53317).
//! - [`identity`]: ferry's device certificate and key, made once and kept in
//!   the config directory; its fingerprint is how peers know ferry.
//! - [`tls`]: rustls configurations without a CA: a server that accepts any
//!   self-signed client certificate (or none), a client that pins the server
//!   to the fingerprint it announced.
//! - [`send`] / [`receive`]: the upload API, either way; [`share`] /
//!   [`fetch`]: the download API (the side with the files serves).
//! - Plain HTTP only where the user opted in (`http` in each options type);
//!   HTTPS is the default everywhere.

mod answer;
pub mod client;
pub mod discovery;
mod fetch;
pub mod identity;
mod land;
mod link;
mod native;
mod outgoing;
mod receive;
mod scan;
mod send;
pub mod server;
mod share;
mod stall;
pub mod tls;
mod us;
pub use fetch::{fetch, FetchOptions};
pub use receive::{receive, ReceiveOptions, Receiving};
pub use scan::devices;
pub use send::{send, SendOptions, Target};
pub use share::{share, ShareOptions, Sharing};
