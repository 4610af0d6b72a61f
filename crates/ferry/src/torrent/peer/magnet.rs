//! A magnet link alone: the info dictionary fetched from one peer with BEP 9
//! (`ut_metadata`), on a connection of its own, checked against the infohash by
//! [`MetadataAssembler`] before it is returned.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferry_proto::torrent::metainfo::InfoHashes;
use ferry_proto::torrent::wire::extension::{ExtHandshake, UtMetadata, UT_METADATA};
use ferry_proto::torrent::wire::metadata::{
    MetadataAssembler, MetadataError, MetadataHash, Progress,
};
use ferry_proto::torrent::wire::{Deframer, Message, WireError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::handshake::{self, our_ext_handshake, OUR_UT_METADATA};
use super::{ConnectError, PeerConfig};

/// Metadata requests in flight: libtorrent answers a peer's first few at once and
/// delays or rejects a flood.
const METADATA_PIPELINE: usize = 4;

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
}

/// Fetches the info dictionary of the torrent `hashes` names from the peer at `addr`:
/// at most `max_size` bytes ([`MAX_METADATA_SIZE`] is libtorrent's default), all within
/// `limit`. The bytes hash to the v1 infohash (or the v2 one for a v2-only magnet);
/// parse them with [`Info::parse`], which refuses unsafe paths.
///
/// [`MAX_METADATA_SIZE`]: ferry_proto::torrent::wire::extension::MAX_METADATA_SIZE
/// [`Info::parse`]: ferry_proto::torrent::metainfo::Info::parse
pub async fn fetch_metadata(
    addr: SocketAddr,
    hashes: &InfoHashes,
    config: &PeerConfig,
    max_size: u32,
    limit: Duration,
) -> Result<Vec<u8>, MetadataFetchError> {
    let check = match (hashes.v1, hashes.v2) {
        (Some(v1), _) => MetadataHash::V1(v1),
        (None, Some(v2)) => MetadataHash::V2(v2),
        (None, None) => return Err(ConnectError::UnknownTorrent.into()),
    };
    let fetch = async {
        let mut link = Link::dial(addr, hashes, config).await?;
        let greeting = our_ext_handshake(config.listen_port, None, Some(addr.ip()));
        link.send(Message::Extended {
            id: 0,
            payload: greeting.encode().into(),
        })
        .await?;
        link.fetch(check, max_size).await
    };
    timeout(limit, fetch)
        .await
        .map_err(|_| MetadataFetchError::Timeout(limit))?
}

/// A bare connection: messages in and out, one at a time.
struct Link {
    stream: TcpStream,
    deframer: Deframer,
}

impl Link {
    async fn dial(
        addr: SocketAddr,
        hashes: &InfoHashes,
        config: &PeerConfig,
    ) -> Result<Link, ConnectError> {
        let (stream, buf, _) = handshake::dial(addr, hashes, config.peer_id).await?;
        let mut deframer = Deframer::default();
        deframer.buffer().extend_from_slice(&buf);
        Ok(Link { stream, deframer })
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
