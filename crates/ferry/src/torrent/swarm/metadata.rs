//! A magnet link alone: the info dictionary comes from the swarm (BEP 9 `ut_metadata`),
//! and a v2 torrent's piece layers too (BEP 52 hash requests, from the same peer).
//! Peers to ask come from `--peer`, the link's `x.pe`, its trackers (and ours) and the
//! DHT (asked again every few seconds while nothing answered);
//! a few are asked at once, and the first dictionary that hashes to the link's
//! infohash wins (for a v2-only link, the first with its layers). It is parsed with the
//! same rules as a `.torrent` file, so a hostile name or path is refused before
//! anything is written.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use ferry_proto::torrent::hashes::LayerFetch;
use ferry_proto::torrent::magnet::Magnet;
use ferry_proto::torrent::metainfo::{Info, InfoHashes, Metainfo, MetainfoError, Version};
use ferry_proto::torrent::tracker::{Announce, Event};
use ferry_proto::torrent::wire::extension::MAX_METADATA_SIZE;
use tokio::task::JoinSet;

use super::SwarmOptions;
use crate::torrent::peer::{fetch_metadata, Fetched, MetadataFetchError};

/// How long one peer gets to hand over the whole dictionary.
const PER_PEER: Duration = Duration::from_secs(30);
/// Peers asked at once.
const AT_ONCE: usize = 4;
/// How long we look for the metadata before giving up.
pub const PATIENCE: Duration = Duration::from_secs(120);

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    #[error(
        "the magnet link has no peer and no tracker to ask, no --peer or --tracker was \
         given, and the DHT is off"
    )]
    Nowhere,
    #[error("no peer sent the torrent's metadata within {}s (asked {asked}{})",
        .patience.as_secs(), .last.as_ref().map(|e| format!("; last: {e}")).unwrap_or_default())]
    NotFound {
        patience: Duration,
        asked: usize,
        last: Option<String>,
    },
    #[error("the torrent's metadata is not acceptable: {0}")]
    Invalid(#[from] MetainfoError),
}

/// Fetches the info dictionary of `magnet` and makes the torrent of it. A v2 torrent's
/// piece layers come from the peer that sent the dictionary; a hybrid whose peer had
/// none to give (or whose link names only its v1 hash) is verified by its v1 SHA-1
/// alone, which the infohash covers.
pub async fn metainfo_from_magnet(
    magnet: &Magnet,
    options: &SwarmOptions,
    port: u16,
    patience: Duration,
    mut asked_peer: impl FnMut(SocketAddr),
) -> Result<Metainfo, MetadataError> {
    let trackers: Vec<String> = magnet
        .trackers
        .iter()
        .chain(&options.trackers)
        .cloned()
        .collect();
    let mut given: Vec<SocketAddr> = options.peers.clone();
    given.extend(&magnet.peers);
    if given.is_empty() && trackers.is_empty() && options.dht.is_none() {
        return Err(MetadataError::Nowhere);
    }
    let search = Search::new(magnet.hashes, options, port, &trackers, given);
    let (fetched, from) = search.run(patience).await?;
    asked_peer(from);
    let mut info = Info::parse(&fetched.info)?;
    if !hashes_match(&info.hashes, &magnet.hashes) {
        return Err(MetainfoError::WrongType("info (hashes differ from the magnet link's)").into());
    }
    let layers = fetched.layers.unwrap_or_default();
    let complete = LayerFetch::new(&info, &layers).is_done();
    let piece_layers = match (info.version, complete) {
        (Version::V1, _) => Default::default(),
        (Version::Hybrid, false) => {
            info.version = Version::V1;
            Default::default()
        }
        (_, true) => layers,
        (Version::V2, false) => {
            return Err(MetainfoError::PieceLayer("missing from the peer's answer").into())
        }
    };
    Ok(Metainfo {
        info,
        info_bytes: fetched.info,
        trackers: vec![trackers],
        web_seeds: magnet.web_seeds.clone(),
        piece_layers,
    })
}

/// Every hash the magnet names is the dictionary's.
fn hashes_match(ours: &InfoHashes, link: &InfoHashes) -> bool {
    (link.v1.is_none() || link.v1 == ours.v1) && (link.v2.is_none() || link.v2 == ours.v2)
}

struct Search<'a> {
    hashes: InfoHashes,
    options: &'a SwarmOptions,
    trackers: JoinSet<Vec<SocketAddr>>,
    /// The DHT lookup under way, if any.
    dht: JoinSet<Vec<SocketAddr>>,
    queue: Vec<SocketAddr>,
    seen: HashSet<SocketAddr>,
}

type Asked = (SocketAddr, Result<Fetched, MetadataFetchError>);

impl<'a> Search<'a> {
    fn new(
        hashes: InfoHashes,
        options: &'a SwarmOptions,
        port: u16,
        trackers: &[String],
        given: Vec<SocketAddr>,
    ) -> Self {
        let mut set = JoinSet::new();
        let announce = Announce {
            info_hash: super::driver::announce_hash(&hashes),
            peer_id: options.peer.peer_id.0,
            port,
            uploaded: 0,
            downloaded: 0,
            // Unknown until the metadata arrives; not 0, which says "seed".
            left: 1,
            event: Event::Started,
            key: rand::random(),
            numwant: None,
        };
        for url in trackers {
            let (client, url, a) = (options.tracker.clone(), url.clone(), announce.clone());
            set.spawn(async move {
                client
                    .announce(&url, &a)
                    .await
                    .map(|r| r.peers)
                    .unwrap_or_default()
            });
        }
        let mut search = Search {
            hashes,
            options,
            trackers: set,
            dht: JoinSet::new(),
            queue: Vec::new(),
            seen: HashSet::new(),
        };
        search.learn(given);
        search.look_up();
        search
    }

    /// Asks the DHT (when on) for peers, unless a lookup is under way.
    fn look_up(&mut self) {
        let Some(node) = self.options.dht.clone() else {
            return;
        };
        if self.dht.is_empty() {
            let hash = super::driver::announce_hash(&self.hashes);
            self.dht.spawn(async move { node.peers(hash).await });
        }
    }

    fn learn(&mut self, peers: Vec<SocketAddr>) {
        for p in peers {
            if self.seen.insert(p) {
                self.queue.push(p);
            }
        }
    }

    /// Asks peers until one delivers; peers given by hand are asked again after a
    /// failure (they may not be up yet), every few seconds.
    async fn run(mut self, patience: Duration) -> Result<(Fetched, SocketAddr), MetadataError> {
        let deadline = tokio::time::Instant::now() + patience;
        let by_hand: Vec<SocketAddr> = self.queue.clone();
        let mut fetches: JoinSet<Asked> = JoinSet::new();
        let (mut asked, mut last) = (0usize, None::<String>);
        let mut retry = tokio::time::interval(Duration::from_secs(2));
        loop {
            while fetches.len() < AT_ONCE {
                let Some(peer) = self.queue.pop() else { break };
                asked += 1;
                let (hashes, config) = (self.hashes, self.options.peer.clone());
                // A v2-only link: a peer without the piece layers has not answered.
                let need_layers = hashes.v1.is_none();
                fetches.spawn(async move {
                    let got =
                        fetch_metadata(peer, &hashes, &config, MAX_METADATA_SIZE, PER_PEER).await;
                    let got = match got {
                        Ok(Fetched { layers: Err(e), .. }) if need_layers => Err(e),
                        other => other,
                    };
                    (peer, got)
                });
            }
            tokio::select! {
                Some(done) = fetches.join_next(), if !fetches.is_empty() => {
                    match done {
                        Ok((peer, Ok(fetched))) => return Ok((fetched, peer)),
                        Ok((peer, Err(e))) => {
                            last = Some(format!("{peer}: {e}"));
                            if by_hand.contains(&peer) {
                                self.seen.remove(&peer);
                            }
                        }
                        Err(e) => last = Some(e.to_string()),
                    }
                }
                Some(peers) = self.trackers.join_next(), if !self.trackers.is_empty() => {
                    self.learn(peers.unwrap_or_default());
                }
                Some(peers) = self.dht.join_next(), if !self.dht.is_empty() => {
                    self.learn(peers.unwrap_or_default());
                }
                _ = retry.tick() => {
                    self.learn(by_hand.clone());
                    self.look_up();
                }
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(MetadataError::NotFound { patience, asked, last });
                }
            }
            let idle = fetches.is_empty() && self.queue.is_empty() && self.trackers.is_empty();
            if idle && by_hand.is_empty() && self.options.dht.is_none() {
                return Err(MetadataError::NotFound {
                    patience,
                    asked,
                    last,
                });
            }
        }
    }
}
