//! Errors of starting and running the server (not the per-client refusals, which
//! are protocol messages, see `mailbox::refusal`).

use std::net::SocketAddr;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A listener could not be bound (address in use, permission, ...). The
    /// messages leave the cause to `source()`: reporters that print the chain
    /// would say it twice.
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// The database could not be opened or initialised. The store's message is
    /// the whole story, so it is not also a `source()` (printed twice before).
    #[error("database: {0}")]
    Store(crate::store::StoreError),
    /// The configuration is inconsistent.
    #[error("configuration: {0}")]
    Config(String),
    /// The TLS certificate or key could not be used.
    #[error("TLS: {0}")]
    Tls(String),
    /// The state thread could not be started.
    #[error("cannot start the state thread")]
    Thread(#[source] std::io::Error),
}

impl From<crate::store::StoreError> for Error {
    fn from(e: crate::store::StoreError) -> Self {
        Error::Store(e)
    }
}
