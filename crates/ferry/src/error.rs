//! Errors of the client library, by whose fault they are: the other side, the
//! mailbox server, the network between, this machine (disk, permissions, what
//! the user asked for), or ferry itself (a bug, and said so). The CLI maps them
//! to exit codes in one place; nothing here names a command-line flag.

use std::io;
use std::path::PathBuf;

use ferry_proto::session::SessionError;
use ferry_proto::transfer::path::escape_for_terminal;
use ferry_proto::transfer::v1::{TRANSFER_CANCELLED, TRANSFER_REJECTED};

/// Anything that can end a transfer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Key confirmation failed: the two sides typed different codes. Nothing
    /// was sent or written.
    #[error("wrong code: the two sides used different codes (key confirmation failed); nothing was transferred. Check the code and try again")]
    WrongCode,
    /// One of the two people said no.
    #[error("the transfer was declined")]
    Declined,
    /// Our user cancelled (Ctrl-C); the other side has been told.
    #[error("the transfer was cancelled")]
    Cancelled,
    /// Our user stopped (Ctrl-C) a native receive that can continue: the
    /// sender was not told and waits `secs` for a receiver with the stored
    /// session (`ferry receive --resume`).
    #[error("the transfer was interrupted; the sender waits {secs} s for it to continue")]
    Paused { secs: u64, dir: PathBuf },
    #[error(transparent)]
    Peer(#[from] PeerError),
    #[error(transparent)]
    Server(#[from] ServerError),
    #[error(transparent)]
    Network(#[from] NetworkError),
    #[error(transparent)]
    Local(#[from] LocalError),
    /// A bug in ferry: something that cannot happen did.
    #[error("internal error (a bug in ferry; please report it): {0}")]
    Internal(String),
}

/// The other side broke the protocol, failed, or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PeerError {
    // Peer text is untrusted: escaped before it can reach a terminal.
    #[error("the other side sent something invalid: {}", escape_for_terminal(.0))]
    Protocol(String),
    #[error("the other side reported an error: {}", escape_for_terminal(.0))]
    Reported(String),
    #[error("the other side went away before the transfer finished")]
    Vanished,
    /// The other person pressed Ctrl-C (or their client gave up) and said so.
    #[error("the other side cancelled the transfer")]
    Cancelled,
    #[error("received data failed verification: {0}")]
    Integrity(String),
    /// A LAN device's TLS certificate is not the one it announced; names it
    /// as `alias (ip)`, already escaped.
    #[error("the certificate of {0} does not match the fingerprint it announced")]
    CertificateMismatch(String),
    /// A LAN device shares no file (a fetch found nothing to take).
    #[error("the device shares nothing at the moment")]
    NothingShared,
    /// A LAN receiver refused the offer (PIN, declined, busy, …).
    #[error(transparent)]
    Refused(#[from] ferry_proto::localsend::sender::SendError),
}

/// Why a server's certificate was refused (`tls::CertProblem::of` reads it off a
/// failed handshake).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertProblem {
    #[error("its certificate has expired")]
    Expired,
    #[error("its certificate is not valid yet")]
    NotValidYet,
    #[error("its certificate is for another host name ({presented}), not {expected}")]
    WrongName { expected: String, presented: String },
    #[error("its certificate is issued by a certificate authority we do not trust")]
    UntrustedCa,
    #[error("its certificate is invalid ({0})")]
    Bad(String),
}

/// The mailbox server could not be reached, went away, or refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    #[error("cannot reach the mailbox server at {url}: {}", escape_for_terminal(.reason))]
    Unreachable { url: String, reason: String },
    /// A `wss://` server whose certificate failed verification.
    #[error("refusing the mailbox server at {url}: {problem}")]
    Certificate { url: String, problem: CertProblem },
    #[error("lost the connection to the mailbox server before the transfer finished")]
    Lost,
    #[error("timed out {0}")]
    TimedOut(&'static str),
    // Server text (errors, refusals, echoes of its bad frames) is untrusted.
    #[error("mailbox server: {}", escape_for_terminal(.0))]
    Said(String),
}

/// No connection to the other side could be made, or it broke.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetworkError {
    // Names the peer's hint host names, which are untrusted.
    #[error("could not connect to the other side: {}", escape_for_terminal(.0))]
    NoConnection(String),
    /// A relay paired us with the other side, then the pair broke before the
    /// connection was made (the relay died at that moment): the peer saw it too.
    #[error("could not connect to the other side: {}", escape_for_terminal(.0))]
    PairBroken(String),
    #[error("the connection to the other side was lost: {0}")]
    Lost(io::Error),
    /// Nothing came (not even a keep-alive), or nothing could be written, for
    /// this long: the peer or the path to it is gone.
    #[error("no data from the peer for {} s", .0.as_secs())]
    Silent(std::time::Duration),
    /// The transit connection broke and could not be made again in time.
    #[error("{cause}; could not reconnect within {secs} s")]
    GaveUp { cause: String, secs: u64 },
    #[error("timed out {0}")]
    TimedOut(&'static str),
}

/// This machine: what is already there, the disk, permissions, the user's input.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocalError {
    #[error("{} already exists; not overwriting it", .0.display())]
    Exists(PathBuf),
    #[error("not enough free space in {}: need {need} bytes, {available} available", .dir.display())]
    NoSpace {
        dir: PathBuf,
        need: u64,
        available: u64,
    },
    #[error("refusing an unsafe name from the other side: {0}")]
    UnsafeName(String),
    /// A LAN device speaks only plain HTTP and the user did not allow it;
    /// names it as `alias (ip)`, already escaped. (The one message that names
    /// a flag: the only way past this refusal is the user's opt-in.)
    #[error("{0} speaks only plain HTTP (unencrypted); pass --http to talk to it anyway")]
    PlainHttp(String),
    // The cause is shown here and deliberately not a `source()`: the CLI prints
    // the whole chain, which would say the OS error twice.
    #[error("{context}: {cause}")]
    Io { context: String, cause: io::Error },
    /// A file was written to while it was read to be sent (and hashed).
    #[error("{} changed while it was being sent; send it again once it is finished", .0.display())]
    Changed(PathBuf),
    /// A stored receive session (`ferry receive --resume`) cannot be read.
    #[error("the stored session {} is damaged ({why}); remove it", .path.display())]
    DamagedSession { path: PathBuf, why: String },
    /// `--resume` found no stored session for this directory.
    #[error("nothing to resume in {}: no interrupted transfer into it is waiting (the sender gives up after --reconnect-for)", .0.display())]
    NothingToResume(PathBuf),
    /// `--resume` found several: the code picks one.
    #[error("{} interrupted transfers into {} are waiting; give the code of the one to continue", .count, .dir.display())]
    SeveralToResume { dir: PathBuf, count: usize },
}

impl Error {
    /// A local I/O failure, with what we were doing.
    pub fn io(context: impl Into<String>, cause: io::Error) -> Self {
        LocalError::Io {
            context: context.into(),
            cause,
        }
        .into()
    }

    /// The peer broke the protocol.
    pub(crate) fn protocol(what: String) -> Self {
        PeerError::Protocol(what).into()
    }

    /// A bug of ours.
    pub(crate) fn internal(what: impl Into<String>) -> Self {
        Error::Internal(what.into())
    }

    pub(crate) fn exists(path: impl Into<PathBuf>) -> Self {
        LocalError::Exists(path.into()).into()
    }

    pub(crate) fn unsafe_name(why: impl ToString) -> Self {
        LocalError::UnsafeName(why.to_string()).into()
    }

    /// The transit connection broke.
    pub(crate) fn lost(e: io::Error) -> Self {
        NetworkError::Lost(e).into()
    }

    pub(crate) const VANISHED: Error = Error::Peer(PeerError::Vanished);
    pub(crate) const SERVER_LOST: Error = Error::Server(ServerError::Lost);

    /// The peer's own account of why it stopped: a refusal, or a failure in
    /// its words (both protocols use the same rejection text).
    pub(crate) fn from_peer(text: String) -> Self {
        match text.as_str() {
            TRANSFER_REJECTED => Error::Declined,
            TRANSFER_CANCELLED => PeerError::Cancelled.into(),
            _ => PeerError::Reported(text).into(),
        }
    }

    /// Why we stop, in words safe to tell the peer: never our local paths.
    pub(crate) fn reason_for_peer(&self) -> &'static str {
        match self {
            Error::Local(LocalError::Exists(_)) => {
                "a file or directory with that name already exists"
            }
            Error::Local(LocalError::NoSpace { .. }) => "not enough free disk space",
            Error::Local(LocalError::UnsafeName(_)) => "unsafe file name",
            Error::Local(LocalError::Io { .. }) => "local I/O error",
            Error::Local(LocalError::Changed(_)) => {
                "a file changed while it was being sent; send it again once it is finished"
            }
            Error::WrongCode => "wrong code",
            Error::Cancelled => TRANSFER_CANCELLED,
            Error::Peer(PeerError::Protocol(_) | PeerError::Integrity(_)) => {
                "invalid data from the sender"
            }
            Error::Network(NetworkError::Silent(_)) => "the connection went silent",
            Error::Network(NetworkError::GaveUp { .. }) => {
                "the connection broke and could not be made again"
            }
            _ => "transfer failed",
        }
    }
}

/// A helper task or thread died: only a bug (a panic) does that.
pub(crate) fn join_error(e: tokio::task::JoinError) -> Error {
    Error::internal(format!("a worker task failed: {e}"))
}

impl From<SessionError> for Error {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::WrongCode => Error::WrongCode,
            SessionError::BadPeerMessage(m) => Error::protocol(m),
            other => ServerError::Said(other.to_string()).into(),
        }
    }
}

/// Library result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_errors_name_no_command_line_flags() {
        let all = [
            Error::exists("/tmp/x"),
            LocalError::NoSpace {
                dir: "/tmp".into(),
                need: 2,
                available: 1,
            }
            .into(),
            Error::unsafe_name("bad"),
            Error::io("reading", io::ErrorKind::NotFound.into()),
            Error::internal("x"),
        ];
        for e in all {
            assert!(!e.to_string().contains("--"), "{e}");
        }
    }

    #[test]
    fn peer_and_server_text_is_escaped() {
        let e = Error::protocol("\u{1b}]52;c;evil\u{7}".into());
        assert!(!e.to_string().contains('\u{1b}'));
        let e: Error = ServerError::Said("\u{1b}[2J".into()).into();
        assert!(!e.to_string().contains('\u{1b}'));
    }

    #[test]
    fn an_io_error_says_its_cause_once() {
        // What `{:#}` (anyhow, the CLI) prints: each error of the chain.
        let e = Error::io("cannot send", io::ErrorKind::NotFound.into());
        let mut shown = e.to_string();
        let mut next = std::error::Error::source(&e);
        while let Some(cause) = next {
            shown += &format!(": {cause}");
            next = cause.source();
        }
        assert_eq!(shown.matches("not found").count(), 1, "{shown}");
    }

    #[test]
    fn a_bug_says_it_is_one() {
        let e = Error::internal("writer jobs out of order");
        assert!(e.to_string().starts_with("internal error (a bug in ferry"));
    }
}
