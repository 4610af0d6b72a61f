//! How a command ends: the exit code for each kind of failure (the README's table),
//! a hint that names this command's flags, and Ctrl-C as a cancel.

use anyhow::Result;
use ferry::Cancel;

/// Exit codes, as the README documents them.
pub mod exit {
    pub const FAILURE: u8 = 1;
    /// Bad command line or malformed code (clap uses 2 for its usage errors too).
    pub const USAGE: u8 = 2;
    pub const WRONG_CODE: u8 = 3;
    pub const DECLINED: u8 = 4;
    pub const REFUSED_LOCALLY: u8 = 5;
    pub const NETWORK: u8 = 6;
    /// The other side cancelled (Ctrl-C there).
    pub const PEER_CANCELLED: u8 = 7;
    /// 128 + SIGINT, as shells report it.
    pub const INTERRUPTED: u8 = 130;
}

/// Ctrl-C, as an error.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

/// Runs `command` with Ctrl-C as a cancel: the first tells the command, which
/// tells the other side, releases the code and ends (its future drops every
/// partial file, which remove themselves); a second one stops at once.
pub async fn interruptible(
    cancel: &Cancel,
    command: impl std::future::Future<Output = Result<()>>,
) -> Result<()> {
    let watcher = tokio::spawn(watch_ctrl_c(cancel.clone()));
    let result = command.await;
    watcher.abort();
    match cancel.is_cancelled() {
        true => Err(Interrupted.into()),
        false => result,
    }
}

async fn watch_ctrl_c(cancel: Cancel) {
    if tokio::signal::ctrl_c().await.is_err() {
        return;
    }
    cancel.cancel();
    if tokio::signal::ctrl_c().await.is_ok() {
        eprintln!("ferry: interrupted");
        std::process::exit(i32::from(exit::INTERRUPTED));
    }
}

/// Whether the command ended because our user stopped it.
pub fn interrupted(e: &anyhow::Error) -> bool {
    e.is::<Interrupted>() || matches!(e.downcast_ref(), Some(ferry::Error::Cancelled))
}

/// The one mapping from what went wrong to the exit code (see the README).
pub fn exit_code(e: &anyhow::Error) -> u8 {
    use ferry::{Error as E, LocalError as L, NetworkError as N, PeerError as P, ServerError as S};
    if e.is::<crate::checks::Invalid>() {
        return exit::USAGE;
    }
    if interrupted(e) {
        return exit::INTERRUPTED;
    }
    match e.downcast_ref::<E>() {
        Some(E::WrongCode) => exit::WRONG_CODE,
        Some(E::Peer(P::Cancelled)) => exit::PEER_CANCELLED,
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
