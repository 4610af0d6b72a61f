//! The mainline DHT (BEP 5), by the `mainline` crate: a node of our own (its own
//! thread and UDP socket), asked for the torrent's peers as the swarm starts and every
//! [`SwarmTiming::dht`] after, and told we are a peer (our TCP listening port) each
//! time. Peers it finds go to the loop as a tracker's do. IPv4 only (the crate's).
//!
//! [`SwarmTiming::dht`]: super::SwarmTiming::dht

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use futures_util::StreamExt;
use mainline::{async_dht::AsyncDht, Dht, Id};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::announce::Heard;

/// A DHT node, started in the background; cheap to clone (a handle to its thread).
#[derive(Debug, Clone)]
pub struct DhtNode {
    /// Empty until the node is up: starting it resolves the bootstrap routers' names,
    /// which can take seconds on a network without DNS.
    ready: watch::Receiver<Option<Result<AsyncDht, String>>>,
}

impl DhtNode {
    /// Starts a node on `bind` (its IPv4 address, or every address), joining through
    /// `bootstrap` (`HOST:PORT`; empty: the crate's public routers). Returns at once.
    pub fn start(bind: IpAddr, bootstrap: Vec<String>) -> DhtNode {
        let (tx, ready) = watch::channel(None);
        std::thread::spawn(move || {
            let mut builder = Dht::builder();
            if !bootstrap.is_empty() {
                builder.bootstrap(&bootstrap);
            }
            builder.bind_address(match bind {
                IpAddr::V4(v4) => v4,
                IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
            });
            let node = builder.build().map(Dht::as_async);
            if let Err(e) = &node {
                tracing::warn!(error = %e, "the DHT node did not start");
            }
            let _ = tx.send(Some(node.map_err(|e| e.to_string())));
        });
        DhtNode { ready }
    }

    /// The node once it is up; `None` if it could not start.
    async fn dht(&self) -> Option<AsyncDht> {
        let mut ready = self.ready.clone();
        let up = ready.wait_for(Option::is_some).await.ok()?;
        up.as_ref().and_then(|r| r.as_ref().ok()).cloned()
    }

    /// Every peer the DHT knows for `hash`, found in one lookup.
    pub async fn peers(&self, hash: [u8; 20]) -> Vec<SocketAddr> {
        let Some(dht) = self.dht().await else {
            return Vec::new();
        };
        let mut found = Vec::new();
        let mut stream = dht.get_peers(Id::from(hash));
        while let Some(peers) = stream.next().await {
            found.extend(peers.into_iter().map(SocketAddr::V4));
        }
        found.sort();
        found.dedup();
        found
    }

    /// Looks `hash` up now and every `every`, handing what it finds to `heard`, and
    /// announces us on `port` each time.
    pub(super) fn follow(
        &self,
        hash: [u8; 20],
        port: u16,
        every: Duration,
        heard: mpsc::Sender<Heard>,
    ) -> JoinHandle<()> {
        let node = self.clone();
        tokio::spawn(async move {
            loop {
                let peers = node.peers(hash).await;
                tracing::debug!(found = peers.len(), "DHT lookup");
                if !peers.is_empty() && heard.send(Heard::Peers(peers)).await.is_err() {
                    return;
                }
                if let Some(dht) = node.dht().await {
                    if let Err(e) = dht.announce_peer(Id::from(hash), Some(port)).await {
                        tracing::debug!(error = %e, "DHT announce");
                    }
                }
                tokio::time::sleep(every).await;
            }
        })
    }
}
