//! Incoming connections (`--listen IP:PORT`): accept, read the handshake up to its info
//! hash, find the torrent, answer with the hash the peer used, and hand the running
//! connection to that torrent's receiver.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::BytesMut;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::timeout;

use super::conn::{spawn, ConnectError};
use super::handshake::{self, our_reserved, wire_hashes};
use super::{EventSender, PeerConfig, PeerHandle, Torrent};

/// Connections in their handshake at once; more are closed on accept.
pub const MAX_PENDING_HANDSHAKES: usize = 64;
/// New connections waiting for the driver, per torrent.
const HANDLE_QUEUE: usize = 16;

/// A registered torrent: where its connections and their events go.
struct Entry {
    torrent: Arc<Torrent>,
    events: EventSender,
    handles: mpsc::Sender<PeerHandle>,
}

type Registry = Arc<Mutex<Vec<Entry>>>;

/// The listening socket and its accept task (stopped when this is dropped).
#[derive(Debug)]
pub struct Listener {
    local: SocketAddr,
    registry: Registry,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("hashes", &self.torrent.hashes)
            .finish()
    }
}

impl Listener {
    /// Listens on `addr`; `config.listen_port` is set to the port bound.
    pub async fn bind(addr: SocketAddr, mut config: PeerConfig) -> io::Result<Listener> {
        let socket = TcpListener::bind(addr).await?;
        let local = socket.local_addr()?;
        config.listen_port = Some(local.port());
        let registry = Registry::default();
        let task = tokio::spawn(accept_loop(socket, registry.clone(), config));
        Ok(Listener {
            local,
            registry,
            task,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Accepts connections for `torrent` from now on: their events go to `events`, their
    /// handles come out of the receiver. Dropping the receiver unregisters the torrent.
    pub fn add(&self, torrent: Arc<Torrent>, events: EventSender) -> mpsc::Receiver<PeerHandle> {
        let (handles, rx) = mpsc::channel(HANDLE_QUEUE);
        let entry = Entry {
            torrent,
            events,
            handles,
        };
        lock(&self.registry).push(entry);
        rx
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(registry: &Registry) -> std::sync::MutexGuard<'_, Vec<Entry>> {
    registry.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn accept_loop(socket: TcpListener, registry: Registry, config: PeerConfig) {
    let slots = Arc::new(Semaphore::new(MAX_PENDING_HANDSHAKES));
    loop {
        let (stream, addr) = match socket.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // EMFILE and the like: wait a little rather than spin.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::debug!(%addr, "too many handshakes under way: connection closed");
            continue;
        };
        let (registry, config) = (registry.clone(), config.clone());
        tokio::spawn(async move {
            if let Err(e) = incoming(stream, addr, &registry, &config).await {
                tracing::debug!(%addr, error = %e, "incoming peer refused");
            }
            drop(slot);
        });
    }
}

async fn incoming(
    mut stream: TcpStream,
    addr: SocketAddr,
    registry: &Registry,
    config: &PeerConfig,
) -> Result<(), ConnectError> {
    let limit = config.timing.handshake;
    let answer = async {
        stream.set_nodelay(true)?;
        let mut buf = BytesMut::new();
        let hash = handshake::receive_hash(&mut stream, &mut buf).await?;
        let (torrent, events, handles) =
            find(registry, &hash).ok_or(ConnectError::UnknownTorrent)?;
        let reserved = our_reserved(&torrent.hashes);
        handshake::send(&mut stream, hash, reserved, config.peer_id).await?;
        let theirs = handshake::finish(&mut stream, &mut buf, config.peer_id).await?;
        Ok::<_, ConnectError>((buf, theirs, torrent, events, handles))
    };
    let (buf, theirs, torrent, events, handles) = timeout(limit, answer)
        .await
        .map_err(|_| ConnectError::Timeout(limit))??;
    let handle = spawn(stream, addr, buf, theirs, torrent, config, events);
    // If the torrent went away meanwhile, the handle is dropped and the task ends.
    let _ = handles.send(handle).await;
    Ok(())
}

/// The torrent a peer named by `hash` (v1, or v2 cut to 20 bytes), if registered.
fn find(
    registry: &Registry,
    hash: &[u8; 20],
) -> Option<(Arc<Torrent>, EventSender, mpsc::Sender<PeerHandle>)> {
    let mut entries = lock(registry);
    entries.retain(|e| !e.handles.is_closed());
    let entry = entries
        .iter()
        .find(|e| wire_hashes(&e.torrent.hashes).contains(hash))?;
    Some((
        entry.torrent.clone(),
        entry.events.clone(),
        entry.handles.clone(),
    ))
}
