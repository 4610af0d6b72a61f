//! ferry's LocalSend HTTPS server: the receiving side of the upload API, and
//! the serving side of the download API when sharing ([`Shelf`]).
//!
//! [`spawn`] binds, then accepts TLS connections (any self-signed client
//! certificate, or none: `lan::tls`) and serves HTTP/1.1 on each, one task per
//! connection, at most [`Limits::max_connections`] at once. Every request goes
//! through the sans-IO [`Receiver`] machine; the server only does the I/O:
//! bounded bodies, timeouts, and the files themselves, which land only through
//! `transfer::landing` at the paths the caller approved ([`Verdict::Accept`]).
//!
//! Plain HTTP instead of TLS only when [`ServerConfig::http`] says so (the
//! user opted in).
//!
//! What the caller must decide or hear about comes out as [`Event`]s; an offer
//! carries a one-shot answer, and the held prepare-upload waits for it (or for
//! the sender's `cancel`).

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ferry_proto::localsend::receiver::{Ended, Offer};
use ferry_proto::localsend::{DeviceInfo, Receiver, ReceiverConfig, Register};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch, Semaphore};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use super::identity::Identity;

mod conn;
mod download;
mod http;
mod native;
mod page;
mod routes;
mod upload;

pub use download::Shelf;
pub use native::NativeConn;

/// LocalSend's port, where the app looks for us.
pub const DEFAULT_ADDR: SocketAddr = SocketAddr::new(
    IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
    ferry_proto::localsend::DEFAULT_PORT,
);

/// Resource bounds: a LAN peer is not trusted to be polite.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Limits {
    /// Connections served at once; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// Bytes of request line + headers (hyper's read buffer).
    pub max_header_bytes: usize,
    /// Time for a TLS handshake, a request's headers, or a whole small request.
    pub request_timeout: Duration,
    /// Time an upload body may go without a byte, or a client without
    /// taking one of what we write (a download left hanging).
    pub idle_timeout: Duration,
    /// Downloads of shared files streaming at once; more get 503.
    pub max_downloads: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 16,
            max_header_bytes: 16 << 10,
            request_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_downloads: 8,
        }
    }
}

/// What the server needs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub addr: SocketAddr,
    /// Our answer to `info` and `register`.
    pub device: DeviceInfo,
    pub receiver: ReceiverConfig,
    pub limits: Limits,
    /// Plain HTTP instead of HTTPS: only when the user opted in.
    pub http: bool,
    /// What the download API serves; `None`: prepare-download, download
    /// and the page at `/` answer as if absent.
    pub share: Option<Shelf>,
}

/// What the caller hears about.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// A device registered (discovery); `device.fingerprint` is its client
    /// certificate's when it presented one (`verified`).
    Registered {
        addr: IpAddr,
        device: Register,
        verified: bool,
    },
    /// A prepare-upload waits for the user.
    Offer(PendingOffer),
    /// A file is in place under its final name.
    Landed { file_id: String, path: PathBuf },
    /// A file failed (short, too long, bad hash, dropped connection, I/O).
    Failed { file_id: String, why: Failure },
    /// The session ended.
    Ended(Ended),
    /// A download of a shared file ended, whole or not.
    Served {
        addr: IpAddr,
        /// Our name for it (`DIR/sub/name`).
        name: String,
        complete: bool,
    },
    /// A ferry sender switched to the native protocol: receive on it.
    Native(NativeConn),
}

/// Why an upload did not land: whose fault, for the exit code.
#[derive(Debug)]
pub enum Failure {
    /// The connection died, or the sender stalled or cancelled.
    Network(&'static str),
    /// The sender's bytes were not what it declared.
    Invalid(&'static str),
    /// Writing here failed (full disk, permissions).
    Local(&'static str, Option<std::io::Error>),
    /// Something appeared under the file's name meanwhile (kept as it is).
    Exists(PathBuf),
}

impl Failure {
    /// As the error `receive` returns.
    pub(crate) fn into_error(self) -> crate::error::Error {
        use crate::error::{Error, NetworkError, PeerError};
        match self {
            Failure::Network(why) => NetworkError::Lost(std::io::Error::other(why)).into(),
            Failure::Invalid(why) => {
                PeerError::Protocol(format!("a file did not arrive: {why}")).into()
            }
            Failure::Local(why, Some(e)) => Error::io(why, e),
            Failure::Local(why, None) => Error::io(why, std::io::ErrorKind::Other.into()),
            Failure::Exists(path) => Error::exists(path),
        }
    }
}

/// What the server tells its caller: events in order, and the body bytes
/// received so far (all files of the run together).
#[derive(Debug)]
pub struct Events {
    pub rx: mpsc::UnboundedReceiver<Event>,
    pub progress: watch::Receiver<u64>,
    /// Uploads in flight: after a session ends, zero means every partial
    /// file it had is gone.
    pub uploads: watch::Receiver<usize>,
}

/// An offer and the way to answer it; dropping it declines.
#[derive(Debug)]
pub struct PendingOffer {
    pub offer: Offer,
    answer: oneshot::Sender<Verdict>,
}

impl PendingOffer {
    pub fn answer(self, verdict: Verdict) {
        let _ = self.answer.send(verdict);
    }
}

/// The caller's answer to an offer.
#[derive(Debug)]
pub enum Verdict {
    /// These file ids, each landing at its (already checked) path.
    Accept(HashMap<String, PathBuf>),
    Decline,
}

/// State shared by every connection task.
pub(crate) struct Shared {
    machine: Mutex<Receiver>,
    /// Final paths of the accepted files, by id.
    targets: Mutex<HashMap<String, PathBuf>>,
    device: DeviceInfo,
    limits: Limits,
    /// Unbounded so that an end is never lost (a session has a bounded number
    /// of files; registrations are limited by the connection cap and drained
    /// at once by the driver). Progress goes apart, in `received`.
    events: mpsc::UnboundedSender<Event>,
    /// Body bytes accepted in this run: a `watch`, so progress coalesces
    /// instead of queueing one event per chunk.
    received: watch::Sender<u64>,
    /// Bumped by each `cancel` that ended a session: wakes a held prepare-upload
    /// and ends the uploads in flight.
    cancels: watch::Sender<u64>,
    /// Uploads in flight (each may hold a partial file until it ends).
    uploads: watch::Sender<usize>,
    /// The download API's state, when sharing.
    share: Option<download::Sharing>,
}

impl Shared {
    fn machine(&self) -> MutexGuard<'_, Receiver> {
        self.machine.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reports an event without ever blocking a request on a slow caller.
    fn report(&self, event: Event) {
        let _ = self.events.send(event);
    }
}

/// The running server. Dropping it stops accepting at once; each connection
/// finishes the request in flight (so the last upload still hears its 200),
/// within [`Limits::request_timeout`], then closes.
pub struct Server {
    addr: SocketAddr,
    task: JoinHandle<()>,
    /// Sent to, or dropped with the server: every connection winds down.
    stop: watch::Sender<()>,
    /// One permit per connection being served.
    permits: Arc<Semaphore>,
    max_connections: u32,
}

impl Server {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, has every connection finish its request in flight,
    /// and waits for them (at most `patience`): a process about to exit must
    /// not cut off the answer that ends the sender's session.
    pub async fn close(&mut self, patience: Duration) {
        self.task.abort();
        self.stop.send_replace(());
        let all_idle = self.permits.acquire_many(self.max_connections);
        if tokio::time::timeout(patience, all_idle).await.is_err() {
            tracing::debug!("a connection was still busy when the server closed");
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds `config.addr` and serves until the [`Server`] is dropped.
pub async fn spawn(config: ServerConfig, identity: &Identity) -> io::Result<(Server, Events)> {
    let tls = match config.http {
        true => None,
        false => Some(super::tls::server_config(identity).map_err(io::Error::other)?),
    };
    let listener = TcpListener::bind(config.addr).await?;
    let addr = listener.local_addr()?;
    let session_idle = config.receiver.idle_timeout;
    let max_downloads = config.limits.max_downloads;
    let (events, rx) = mpsc::unbounded_channel();
    let (received, progress) = watch::channel(0);
    let (uploads, in_flight) = watch::channel(0);
    let shared = Arc::new(Shared {
        machine: Mutex::new(Receiver::new(config.receiver)),
        targets: Mutex::default(),
        device: config.device,
        limits: config.limits,
        events,
        received,
        cancels: watch::Sender::new(0),
        uploads,
        share: config
            .share
            .map(|s| download::Sharing::new(s, max_downloads)),
    });
    let acceptor = tls.map(TlsAcceptor::from);
    let (stop, stopped) = watch::channel(());
    let expiry = conn::expire_sessions(Arc::downgrade(&shared), session_idle, stopped.clone());
    tokio::spawn(expiry);
    let max_connections = shared.limits.max_connections;
    let permits = Arc::new(Semaphore::new(max_connections));
    let task = tokio::spawn(accept_loop(
        listener,
        acceptor,
        shared,
        permits.clone(),
        stopped,
    ));
    let server = Server {
        addr,
        task,
        stop,
        permits,
        max_connections: u32::try_from(max_connections).unwrap_or(u32::MAX),
    };
    let events = Events {
        rx,
        progress,
        uploads: in_flight,
    };
    Ok((server, events))
}

/// One task per connection, at most `max_connections`; each winds down by
/// itself when `stopped` says the server is gone.
async fn accept_loop(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    permits: Arc<Semaphore>,
    stopped: watch::Receiver<()>,
) {
    loop {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::debug!("accept failed: {e}");
                // EMFILE and friends: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let (acceptor, shared, stopped) = (acceptor.clone(), shared.clone(), stopped.clone());
        tokio::spawn(async move {
            conn::serve(tcp, peer, acceptor, shared, stopped).await;
            drop(permit);
        });
    }
}
