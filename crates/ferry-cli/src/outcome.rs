//! How a command ends: the exit code for each kind of failure (the README's table),
//! a hint that names this command's flags, and Ctrl-C as an error.

use anyhow::Result;

/// Exit codes, as the README documents them.
pub mod exit {
    pub const FAILURE: u8 = 1;
    /// Bad usage: what was asked cannot be done as given.
    pub const USAGE: u8 = 2;
    pub const WRONG_CODE: u8 = 3;
    pub const DECLINED: u8 = 4;
    pub const REFUSED_LOCALLY: u8 = 5;
    pub const NETWORK: u8 = 6;
    /// 128 + SIGINT, as shells report it.
    pub const INTERRUPTED: u8 = 130;
}

/// Ctrl-C, as an error: the command's future is dropped, and with it every partial
/// file and directory, which remove themselves.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

pub async fn interruptible(command: impl std::future::Future<Output = Result<()>>) -> Result<()> {
    tokio::select! {
        result = command => result,
        _ = tokio::signal::ctrl_c() => Err(Interrupted.into()),
    }
}

/// The one mapping from what went wrong to the exit code (see the README).
pub fn exit_code(e: &anyhow::Error) -> u8 {
    use ferry::{Error as E, LocalError as L, NetworkError as N, PeerError as P, ServerError as S};
    if e.is::<crate::checks::Invalid>() {
        return exit::USAGE;
    }
    if e.is::<Interrupted>() {
        return exit::INTERRUPTED;
    }
    match e.downcast_ref::<E>() {
        Some(E::WrongCode) => exit::WRONG_CODE,
        Some(E::Declined) => exit::DECLINED,
        Some(E::Local(L::Exists(_) | L::NoSpace { .. } | L::UnsafeName(_))) => {
            exit::REFUSED_LOCALLY
        }
        Some(E::Network(N::NoConnection(_) | N::Lost(_) | N::TimedOut(_))) => exit::NETWORK,
        Some(E::Server(S::Unreachable { .. } | S::Lost | S::TimedOut(_))) => exit::NETWORK,
        Some(E::Peer(P::Vanished)) => exit::NETWORK,
        _ => exit::FAILURE,
    }
}

/// A hint that names this command's flags, for errors the user can act on.
pub fn hint(e: &anyhow::Error) -> Option<&'static str> {
    match e.downcast_ref::<ferry::Error>() {
        Some(ferry::Error::Local(ferry::LocalError::Exists(_))) => {
            Some("remove it or choose another --output-dir")
        }
        _ => None,
    }
}
