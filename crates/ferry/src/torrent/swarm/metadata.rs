//! A magnet link alone: the info dictionary comes from the swarm (BEP 9 `ut_metadata`).
//! Peers to ask come from `--peer`, the link's `x.pe` and its trackers (and ours);
//! a few are asked at once, and the first dictionary that hashes to the link's
//! infohash wins. It is parsed with the same rules as a `.torrent` file, so a hostile
//! name or path is refused before anything is written.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use ferry_proto::torrent::magnet::Magnet;
use ferry_proto::torrent::metainfo::{Info, InfoHashes, Metainfo, MetainfoError, Version};
use ferry_proto::torrent::tracker::{Announce, Event};
use ferry_proto::torrent::wire::extension::MAX_METADATA_SIZE;
use tokio::task::JoinSet;

use super::SwarmOptions;
use crate::torrent::peer::{fetch_metadata, MetadataFetchError};

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
        "this magnet link names a v2-only torrent: ferry cannot verify its pieces without \
         the .torrent file yet (no BEP 52 hash requests); use the .torrent"
    )]
    V2Only,
    #[error(
        "the magnet link has no peer and no tracker to ask, and no --peer or --tracker was given"
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

/// Fetches the info dictionary of `magnet` and makes the torrent of it. A hybrid's
/// pieces are verified by their v1 SHA-1 (which the infohash covers): a magnet has
/// no v2 piece layers.
pub async fn metainfo_from_magnet(
    magnet: &Magnet,
    options: &SwarmOptions,
    port: u16,
    patience: Duration,
    mut asked_peer: impl FnMut(SocketAddr),
) -> Result<Metainfo, MetadataError> {
    if magnet.hashes.v1.is_none() {
        return Err(MetadataError::V2Only);
    }
    let trackers: Vec<String> = magnet
        .trackers
        .iter()
        .chain(&options.trackers)
        .cloned()
        .collect();
    let mut given: Vec<SocketAddr> = options.peers.clone();
    given.extend(&magnet.peers);
    if given.is_empty() && trackers.is_empty() {
        return Err(MetadataError::Nowhere);
    }
    let search = Search::new(magnet.hashes, options, port, &trackers, given);
    let (bytes, from) = search.run(patience).await?;
    asked_peer(from);
    let mut info = Info::parse(&bytes)?;
    if !hashes_match(&info.hashes, &magnet.hashes) {
        return Err(MetainfoError::WrongType("info (hashes differ from the magnet link's)").into());
    }
    if info.version == Version::Hybrid {
        info.version = Version::V1;
    }
    Ok(Metainfo {
        info,
        info_bytes: bytes,
        trackers: vec![trackers],
        web_seeds: magnet.web_seeds.clone(),
        piece_layers: Default::default(),
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
    queue: Vec<SocketAddr>,
    seen: HashSet<SocketAddr>,
}

type Fetched = (SocketAddr, Result<Vec<u8>, MetadataFetchError>);

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
            info_hash: hashes.v1.unwrap_or_default(),
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
            queue: Vec::new(),
            seen: HashSet::new(),
        };
        search.learn(given);
        search
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
    async fn run(mut self, patience: Duration) -> Result<(Vec<u8>, SocketAddr), MetadataError> {
        let deadline = tokio::time::Instant::now() + patience;
        let by_hand: Vec<SocketAddr> = self.queue.clone();
        let mut fetches: JoinSet<Fetched> = JoinSet::new();
        let (mut asked, mut last) = (0usize, None::<String>);
        let mut retry = tokio::time::interval(Duration::from_secs(2));
        loop {
            while fetches.len() < AT_ONCE {
                let Some(peer) = self.queue.pop() else { break };
                asked += 1;
                let (hashes, config) = (self.hashes, self.options.peer.clone());
                fetches.spawn(async move {
                    let got =
                        fetch_metadata(peer, &hashes, &config, MAX_METADATA_SIZE, PER_PEER).await;
                    (peer, got)
                });
            }
            tokio::select! {
                Some(done) = fetches.join_next(), if !fetches.is_empty() => {
                    match done {
                        Ok((peer, Ok(bytes))) => return Ok((bytes, peer)),
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
                _ = retry.tick() => self.learn(by_hand.clone()),
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(MetadataError::NotFound { patience, asked, last });
                }
            }
            let idle = fetches.is_empty() && self.queue.is_empty() && self.trackers.is_empty();
            if idle && by_hand.is_empty() {
                return Err(MetadataError::NotFound {
                    patience,
                    asked,
                    last,
                });
            }
        }
    }
}
