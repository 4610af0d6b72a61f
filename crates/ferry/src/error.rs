//! Errors of the client library, grouped by whose fault they are so the CLI can
//! pick an exit code and a helpful message.

use std::io;
use std::path::PathBuf;

use ferry_proto::session::SessionError;
use ferry_proto::transfer::path::escape_for_terminal;

/// Anything that can end a transfer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Wrong code: key confirmation failed. Nothing was sent or written.
    #[error("wrong code: the two sides used different codes (key confirmation failed); nothing was transferred. Check the code and try again")]
    WrongCode,
    #[error("cannot reach the mailbox server at {url}: {}", escape_for_terminal(.reason))]
    ServerUnreachable { url: String, reason: String },
    #[error("lost the connection to the mailbox server before the transfer finished")]
    ServerLost,
    // Server text (errors, refusals, echoes of its bad frames) is untrusted.
    #[error("mailbox server: {}", escape_for_terminal(.0))]
    Server(String),
    #[error("the other side sent something invalid: {}", escape_for_terminal(.0))]
    PeerProtocol(String),
    #[error("the other side reported an error: {}", escape_for_terminal(.0))]
    PeerError(String),
    #[error("the other side does not support this: {0}")]
    Unsupported(String),
    #[error("the other side went away before the transfer finished")]
    PeerVanished,
    #[error("the transfer was declined")]
    Declined,
    // Names the peer's hint host names, which are untrusted.
    #[error("could not connect to the other side: {}", escape_for_terminal(.0))]
    Transit(String),
    #[error("received data failed verification: {0}")]
    Integrity(String),
    #[error("{} already exists; not overwriting it (remove it or choose another --output-dir)", .0.display())]
    Exists(PathBuf),
    #[error("not enough free space in {}: need {need} bytes, {available} available", .dir.display())]
    NoSpace {
        dir: PathBuf,
        need: u64,
        available: u64,
    },
    #[error("refusing an unsafe name from the other side: {0}")]
    UnsafeName(String),
    #[error("timed out {0}")]
    Timeout(&'static str),
    #[error("{context}: {source}")]
    Io { context: String, source: io::Error },
}

impl Error {
    /// Wraps an I/O error with what we were doing.
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

impl From<SessionError> for Error {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::WrongCode => Error::WrongCode,
            SessionError::BadPeerMessage(m) => Error::PeerProtocol(m),
            other => Error::Server(other.to_string()),
        }
    }
}

/// Library result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
