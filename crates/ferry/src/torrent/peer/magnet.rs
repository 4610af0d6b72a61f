//! A magnet link alone: the info dictionary fetched from one peer with BEP 9
//! (`ut_metadata`), on a connection of its own, checked against the infohash by
//! [`MetadataAssembler`] before it is returned; then, for a v2 torrent, its piece
//! layers with BEP 52 hash requests on the same connection, each checked against its
//! file's root by [`LayerFetch`].

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferry_proto::torrent::hashes::{LayerError, LayerFetch};
use ferry_proto::torrent::merkle::Hash;
use ferry_proto::torrent::metainfo::{Info, InfoHashes};
use ferry_proto::torrent::wire::extension::{ExtHandshake, UtMetadata, UT_METADATA};
use ferry_proto::torrent::wire::metadata::{
    MetadataAssembler, MetadataError, MetadataHash, Progress,
};
use ferry_proto::torrent::wire::{Deframer, Message, Reserved, WireError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::handshake::{self, our_ext_handshake, wire_hashes, OUR_UT_METADATA};
use super::{ConnectError, PeerConfig};

/// Metadata requests in flight: libtorrent answers a peer's first few at once and
/// delays or rejects a flood.
const METADATA_PIPELINE: usize = 4;
/// Hash requests in flight (each asks for up to 512 nodes).
const LAYER_PIPELINE: usize = 8;

/// Why the metadata could not be fetched from this peer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataFetchError {
    #[error("{0}")]
    Connect(#[from] ConnectError),
    #[error("no metadata from the peer within {0:?}")]
    Timeout(Duration),
    #[error("the peer does not serve metadata (no ut_metadata or metadata_size)")]
    NotOffered,
    #[error("the peer refused metadata piece {0}")]
    Rejected(u32),
    #[error("{0}")]
    Metadata(#[from] MetadataError),
    #[error("the metadata the peer sent does not match the infohash")]
    HashMismatch,
    #[error("{0}")]
    Wire(#[from] WireError),
    #[error("{0}")]
    Extension(#[from] ferry_proto::torrent::wire::extension::ExtensionError),
    #[error("piece layers not asked for (a v1 torrent, or a link without its v2 hash)")]
    NotAsked,
    #[error("the peer does not speak BitTorrent v2 on this connection")]
    NoV2,
    #[error("{0}")]
    Layer(#[from] LayerError),
}

/// What one peer handed over for a magnet link.
#[derive(Debug)]
pub struct Fetched {
    /// The info dictionary, hashing to the link's infohash.
    pub info: Vec<u8>,
    /// Its v2 piece layers, each checked against its file's root (empty when no file
    /// is longer than a piece), or why the peer gave none.
    pub layers: Result<BTreeMap<Hash, Vec<Hash>>, MetadataFetchError>,
}

/// Fetches the info dictionary of the torrent `hashes` names from the peer at `addr`:
/// at most `max_size` bytes ([`MAX_METADATA_SIZE`] is libtorrent's default), within
/// `limit`. The bytes hash to the v1 infohash (or the v2 one for a v2-only magnet);
/// parse them with [`Info::parse`], which refuses unsafe paths. When `hashes` has a
/// v2 hash and the dictionary is v2 or hybrid, the piece layers are asked for on the
/// same connection, within `limit` again.
///
/// [`MAX_METADATA_SIZE`]: ferry_proto::torrent::wire::extension::MAX_METADATA_SIZE
pub async fn fetch_metadata(
    addr: SocketAddr,
    hashes: &InfoHashes,
    config: &PeerConfig,
    max_size: u32,
    limit: Duration,
) -> Result<Fetched, MetadataFetchError> {
    let check = match (hashes.v1, hashes.v2) {
        (Some(v1), _) => MetadataHash::V1(v1),
        (None, Some(v2)) => MetadataHash::V2(v2),
        (None, None) => return Err(ConnectError::UnknownTorrent.into()),
    };
    let fetch = async {
        let mut link = Link::dial(addr, hashes, config).await?;
        let greeting = our_ext_handshake(config.listen_port, None, Some(addr.ip()), false);
        link.send(Message::Extended {
            id: 0,
            payload: greeting.encode().into(),
        })
        .await?;
        let info = link.fetch(check, max_size).await?;
        Ok::<_, MetadataFetchError>((link, info))
    };
    let (mut link, info) = timeout(limit, fetch)
        .await
        .map_err(|_| MetadataFetchError::Timeout(limit))??;
    let layers = match Info::parse(&info) {
        Ok(parsed) if hashes.v2.is_some() && parsed.version.has_v2() => {
            timeout(limit, link.layers(&parsed))
                .await
                .unwrap_or(Err(MetadataFetchError::Timeout(limit)))
        }
        _ => Err(MetadataFetchError::NotAsked),
    };
    Ok(Fetched { info, layers })
}

/// A bare connection: messages in and out, one at a time.
struct Link {
    stream: TcpStream,
    deframer: Deframer,
    /// The peer speaks v2 on this connection: it set the v2 bit, or answered with the
    /// v2 hash (libtorrent upgrades a v1 dial that way and then leaves the bit clear).
    v2: bool,
}

impl Link {
    async fn dial(
        addr: SocketAddr,
        hashes: &InfoHashes,
        config: &PeerConfig,
    ) -> Result<Link, ConnectError> {
        let (stream, buf, theirs) = handshake::dial(addr, hashes, config.peer_id).await?;
        let mut deframer = Deframer::default();
        deframer.buffer().extend_from_slice(&buf);
        let v2_hash = wire_hashes(hashes).get(1).copied();
        let v2 = match hashes.v1 {
            None => true,
            Some(_) => theirs.reserved.has(Reserved::V2) || Some(theirs.info_hash) == v2_hash,
        };
        Ok(Link {
            stream,
            deframer,
            v2,
        })
    }

    async fn send(&mut self, message: Message) -> Result<(), ConnectError> {
        let mut out = BytesMut::new();
        message.encode(&mut out);
        Ok(self.stream.write_all(&out).await?)
    }

    async fn next(&mut self) -> Result<Message, MetadataFetchError> {
        loop {
            if let Some(message) = self.deframer.next()? {
                return Ok(message);
            }
            let read = self.stream.read_buf(self.deframer.buffer()).await;
            if read.map_err(ConnectError::Io)? == 0 {
                return Err(ConnectError::PeerClosed.into());
            }
        }
    }

    /// Waits for the peer's extension handshake, asks for every piece, assembles.
    async fn fetch(
        &mut self,
        check: MetadataHash,
        max_size: u32,
    ) -> Result<Vec<u8>, MetadataFetchError> {
        let mut assembler: Option<(MetadataAssembler<()>, u8)> = None;
        loop {
            let Message::Extended { id, payload } = self.next().await? else {
                continue;
            };
            match (id, &mut assembler) {
                (0, None) => {
                    let theirs = ExtHandshake::decode(&payload)?;
                    let (Some(their_id), Some(size)) =
                        (theirs.id_of(UT_METADATA), theirs.metadata_size)
                    else {
                        return Err(MetadataFetchError::NotOffered);
                    };
                    let mut fetch = MetadataAssembler::new(check, size, max_size)?;
                    for _ in 0..METADATA_PIPELINE {
                        self.ask_next(&mut fetch, their_id).await?;
                    }
                    assembler = Some((fetch, their_id));
                }
                (OUR_UT_METADATA, Some((fetch, their_id))) => {
                    if let Some(info) = self.piece(fetch, *their_id, payload).await? {
                        return Ok(info);
                    }
                }
                _ => {}
            }
        }
    }

    /// Asks for every piece layer `info` needs, a few requests at a time, and checks
    /// each answer; a reject ends the fetch (this peer has no layers to give).
    async fn layers(
        &mut self,
        info: &Info,
    ) -> Result<BTreeMap<Hash, Vec<Hash>>, MetadataFetchError> {
        if !self.v2 {
            return Err(MetadataFetchError::NoV2);
        }
        let mut fetch = LayerFetch::new(info, &BTreeMap::new());
        let mut waiting = fetch.requests(info).into_iter();
        let mut in_flight = 0usize;
        loop {
            while in_flight < LAYER_PIPELINE {
                let Some(request) = waiting.next() else { break };
                self.send(Message::HashRequest(request)).await?;
                in_flight += 1;
            }
            if fetch.is_done() {
                return Ok(fetch.into_layers());
            }
            match self.next().await? {
                Message::Hashes { request, hashes } => {
                    fetch.accept(&request, &hashes)?;
                    in_flight = in_flight.saturating_sub(1);
                }
                Message::HashReject(_) => return Err(LayerError::Rejected.into()),
                _ => {}
            }
        }
    }

    /// One `ut_metadata` message: the whole dictionary once the last piece is in.
    async fn piece(
        &mut self,
        fetch: &mut MetadataAssembler<()>,
        their_id: u8,
        payload: Bytes,
    ) -> Result<Option<Vec<u8>>, MetadataFetchError> {
        match UtMetadata::decode(payload)? {
            UtMetadata::Request(piece) => {
                self.send_metadata(their_id, UtMetadata::Reject(piece))
                    .await?;
                Ok(None)
            }
            UtMetadata::Reject(piece) => Err(MetadataFetchError::Rejected(piece)),
            data => match fetch.handle(&(), data)? {
                Progress::Pending => {
                    self.ask_next(fetch, their_id).await?;
                    Ok(None)
                }
                Progress::Done(info) => Ok(Some(info)),
                Progress::HashMismatch(_) => Err(MetadataFetchError::HashMismatch),
            },
        }
    }

    async fn ask_next(
        &mut self,
        fetch: &mut MetadataAssembler<()>,
        their_id: u8,
    ) -> Result<(), ConnectError> {
        match fetch.next_request(&()) {
            Some(request) => self.send_metadata(their_id, request).await,
            None => Ok(()),
        }
    }

    async fn send_metadata(&mut self, id: u8, message: UtMetadata) -> Result<(), ConnectError> {
        let payload = message.encode().into();
        self.send(Message::Extended { id, payload }).await
    }
}
