//! How a command ends: the exit code for each kind of failure (the README's table),
//! a hint that names this command's flags, and Ctrl-C as a cancel.

use std::sync::atomic::{AtomicI32, Ordering};

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
    /// 128 + SIGINT, as shells report it (SIGTERM: 143, SIGHUP: 129).
    pub const INTERRUPTED: u8 = 130;
}

/// Ctrl-C (or, for a transfer, SIGTERM or SIGHUP), as an error.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

/// The signal that stopped the command (0 until one came).
static STOPPED_BY: AtomicI32 = AtomicI32::new(0);

/// Runs `command` with Ctrl-C as a cancel: the first tells the command, which
/// tells the other side, releases the code and ends (its future drops every
/// partial file, which remove themselves); a second one stops at once. A
/// transfer takes SIGTERM and SIGHUP (a `kill`, a closed terminal) the same
/// way, so the other side hears of it and the code is released; `ferry serve`
/// handles those itself.
pub async fn interruptible(
    cancel: &Cancel,
    transfer: bool,
    command: impl std::future::Future<Output = Result<()>>,
) -> Result<()> {
    let watcher = tokio::spawn(watch_signals(cancel.clone(), transfer));
    let result = command.await;
    watcher.abort();
    match cancel.is_cancelled() {
        true => Err(Interrupted.into()),
        false => result,
    }
}

async fn watch_signals(cancel: Cancel, transfer: bool) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut int) = signal(SignalKind::interrupt()) else {
        return;
    };
    // For other commands these stay at their default action (serve has its own).
    let (mut term, mut hup) = match transfer {
        true => (
            signal(SignalKind::terminate()).ok(),
            signal(SignalKind::hangup()).ok(),
        ),
        false => (None, None),
    };
    let first = next_signal(&mut int, &mut term, &mut hup).await;
    STOPPED_BY.store(first, Ordering::Relaxed);
    cancel.cancel();
    next_signal(&mut int, &mut term, &mut hup).await;
    eprintln!("ferry: {}", stopped_how());
    std::process::exit(i32::from(stopped_code()));
}

/// The number of the next of these signals to arrive.
async fn next_signal(
    int: &mut tokio::signal::unix::Signal,
    term: &mut Option<tokio::signal::unix::Signal>,
    hup: &mut Option<tokio::signal::unix::Signal>,
) -> i32 {
    async fn recv(s: &mut Option<tokio::signal::unix::Signal>) {
        match s {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending().await,
        }
    }
    tokio::select! {
        _ = int.recv() => libc_sig::INT,
        _ = recv(term) => libc_sig::TERM,
        _ = recv(hup) => libc_sig::HUP,
    }
}

/// The POSIX signal numbers the exit codes are made of.
mod libc_sig {
    pub const HUP: i32 = 1;
    pub const INT: i32 = 2;
    pub const TERM: i32 = 15;
}

/// What ferry says when a signal stopped it.
pub fn stopped_how() -> &'static str {
    match STOPPED_BY.load(Ordering::Relaxed) {
        libc_sig::TERM => "terminated",
        libc_sig::HUP => "hung up",
        _ => "interrupted",
    }
}

/// 128 + the signal's number, as shells report it (130 for Ctrl-C).
pub fn stopped_code() -> u8 {
    match STOPPED_BY.load(Ordering::Relaxed) {
        0 => exit::INTERRUPTED,
        n => 128 + n as u8,
    }
}

/// Whether the command ended because our user stopped it.
pub fn interrupted(e: &anyhow::Error) -> bool {
    e.is::<Interrupted>()
        || matches!(
            e.downcast_ref(),
            Some(ferry::Error::Cancelled | ferry::Error::Paused { .. })
        )
}

/// The one mapping from what went wrong to the exit code (see the README).
pub fn exit_code(e: &anyhow::Error) -> u8 {
    use ferry::{Error as E, LocalError as L, NetworkError as N, PeerError as P, ServerError as S};
    if e.is::<crate::checks::Invalid>() {
        return exit::USAGE;
    }
    if interrupted(e) {
        return stopped_code();
    }
    if e.is::<crate::torrent::Exists>() {
        return exit::REFUSED_LOCALLY;
    }
    use ferry_proto::localsend::SendError as Lan;
    match e.downcast_ref::<E>() {
        Some(E::WrongCode) => exit::WRONG_CODE,
        Some(E::Peer(P::Refused(Lan::PinRequiredOrWrong | Lan::TooManyPinAttempts))) => {
            exit::WRONG_CODE
        }
        Some(E::Peer(P::Refused(Lan::Declined))) => exit::DECLINED,
        Some(E::Peer(P::Cancelled)) => exit::PEER_CANCELLED,
        Some(E::Declined) => exit::DECLINED,
        Some(E::Local(L::Exists(_) | L::NoSpace { .. } | L::UnsafeName(_) | L::PlainHttp(_))) => {
            exit::REFUSED_LOCALLY
        }
        Some(E::Network(N::NoConnection(_) | N::PairBroken(_) | N::Lost(_) | N::TimedOut(_))) => {
            exit::NETWORK
        }
        // A certificate that fails verification: the server cannot be reached
        // safely, like one that cannot be reached at all.
        Some(E::Server(
            S::Unreachable { .. } | S::Certificate { .. } | S::Lost | S::TimedOut(_),
        )) => exit::NETWORK,
        Some(E::Peer(P::Vanished)) => exit::NETWORK,
        _ => exit::FAILURE,
    }
}

/// A hint that names this command's flags, for errors the user can act on.
pub fn hint(e: &anyhow::Error) -> Option<&'static str> {
    if e.is::<crate::torrent::Exists>() {
        return Some("remove it or choose another name with -o");
    }
    match e.downcast_ref::<ferry::Error>() {
        Some(ferry::Error::Local(ferry::LocalError::Exists(_))) => {
            Some("remove it or choose another --output-dir")
        }
        Some(ferry::Error::Peer(ferry::PeerError::Refused(
            ferry_proto::localsend::SendError::PinRequiredOrWrong,
        ))) => Some("give the PIN the other device shows with --pin"),
        Some(ferry::Error::Server(ferry::ServerError::Certificate {
            problem: ferry::tls::CertProblem::UntrustedCa,
            ..
        })) => Some("trust a private CA with --ca-file FILE (or SSL_CERT_FILE)"),
        _ => None,
    }
}
