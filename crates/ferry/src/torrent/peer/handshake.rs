//! The BEP 3 handshake on a TCP stream, both directions, and our BEP 10 handshake.
//!
//! Which 20-byte hash names a torrent: a v1 or hybrid torrent's SHA-1, or a v2 torrent's
//! SHA-256 cut to 20 bytes. A hybrid torrent is also reached by its truncated v2 hash:
//! libtorrent told a hybrid's peer by hand dials with that one, so a listener matches
//! both and answers with the hash the peer used.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use ferry_proto::torrent::metainfo::InfoHashes;
use ferry_proto::torrent::wire::extension::{ExtHandshake, UT_METADATA};
use ferry_proto::torrent::wire::pex::UT_PEX;
use ferry_proto::torrent::wire::{
    Decoded, Handshake, HandshakeError, PeerId, Reserved, HANDSHAKE_LEN,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::state::REQQ;

/// The extended message id under which we receive `ut_metadata` (our `m` entry).
pub(super) const OUR_UT_METADATA: u8 = 1;
/// The id we want BEP 11 `ut_pex` messages under.
pub(super) const OUR_UT_PEX: u8 = 2;

/// Why a connection never got past the handshake.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    #[error("cannot connect: {0}")]
    Connect(io::Error),
    #[error("no handshake within {0:?}")]
    Timeout(Duration),
    #[error("connection error during the handshake: {0}")]
    Io(#[from] io::Error),
    #[error("{0}")]
    Handshake(#[from] HandshakeError),
    #[error("the peer closed the connection during the handshake")]
    PeerClosed,
    #[error("the peer answered for another torrent")]
    WrongInfoHash,
    #[error("the peer asked for a torrent we do not have")]
    UnknownTorrent,
    #[error("the peer is ourselves")]
    OurOwnId,
}

/// The hashes a peer may name `hashes`' torrent by in a handshake: the v1 hash first
/// (what we dial with when there is one), then the v2 hash cut to 20 bytes.
pub fn wire_hashes(hashes: &InfoHashes) -> Vec<[u8; 20]> {
    let v2 = hashes.v2.map(|h| {
        let mut cut = [0; 20];
        cut.copy_from_slice(&h[..20]);
        cut
    });
    hashes.v1.into_iter().chain(v2).collect()
}

/// The hash we dial with: v1 when there is one (every client knows it), else v2 cut.
fn dial_hash(hashes: &InfoHashes) -> Option<[u8; 20]> {
    wire_hashes(hashes).first().copied()
}

/// Our reserved bits: the extension protocol, and BEP 52's v2 bit for a torrent with v2
/// hashes. Not the fast extension (BEP 6): this connection does not implement it.
pub(super) fn our_reserved(hashes: &InfoHashes) -> Reserved {
    let reserved = Reserved::default().with(Reserved::EXTENSION_PROTOCOL);
    match hashes.v2 {
        Some(_) => reserved.with(Reserved::V2),
        None => reserved,
    }
}

/// Our BEP 10 handshake.
pub(super) fn our_ext_handshake(
    listen_port: Option<u16>,
    metadata_size: Option<u32>,
    peer_ip: Option<IpAddr>,
    pex: bool,
) -> ExtHandshake {
    let mut m: std::collections::BTreeMap<String, u8> =
        [(UT_METADATA.to_owned(), OUR_UT_METADATA)].into();
    if pex {
        m.insert(UT_PEX.to_owned(), OUR_UT_PEX);
    }
    ExtHandshake {
        m,
        v: Some(format!("ferry {}", env!("CARGO_PKG_VERSION"))),
        p: listen_port,
        reqq: Some(REQQ),
        metadata_size,
        yourip: peer_ip,
    }
}

/// Dials `addr` and does both handshakes for the torrent `hashes` names (no timeout:
/// the caller's). Bytes read past the peer's handshake come back with the stream. A
/// hybrid's peer may answer our v1 hash with its truncated v2 hash (BEP 52's upgrade:
/// libtorrent does), so either is accepted.
pub(super) async fn dial(
    addr: SocketAddr,
    hashes: &InfoHashes,
    peer_id: PeerId,
) -> Result<(TcpStream, BytesMut, Handshake), ConnectError> {
    let hash = dial_hash(hashes).ok_or(ConnectError::UnknownTorrent)?;
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(ConnectError::Connect)?;
    stream.set_nodelay(true)?;
    send(&mut stream, hash, our_reserved(hashes), peer_id).await?;
    let mut buf = BytesMut::new();
    let theirs = finish(&mut stream, &mut buf, peer_id).await?;
    match wire_hashes(hashes).contains(&theirs.info_hash) {
        true => Ok((stream, buf, theirs)),
        false => Err(ConnectError::WrongInfoHash),
    }
}

/// Sends our handshake for `info_hash`.
pub(super) async fn send(
    stream: &mut TcpStream,
    info_hash: [u8; 20],
    reserved: Reserved,
    peer_id: PeerId,
) -> io::Result<()> {
    let ours = Handshake {
        reserved,
        info_hash,
        peer_id,
    };
    stream.write_all(&ours.encode()).await
}

/// Reads the peer's handshake into `buf` until its info hash is in.
pub(super) async fn receive_hash(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
) -> Result<[u8; 20], ConnectError> {
    loop {
        match Handshake::decode(buf)? {
            Decoded::InfoHash(h) => return Ok(h),
            Decoded::Done(h) => return Ok(h.info_hash),
            Decoded::NeedMore(_) => read_more(stream, buf).await?,
        }
    }
}

/// Reads the whole handshake, checks it is not our own, and drops its bytes from `buf`;
/// bytes past it stay there (they begin the message stream).
pub(super) async fn finish(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    ours: PeerId,
) -> Result<Handshake, ConnectError> {
    loop {
        if let Decoded::Done(theirs) = Handshake::decode(buf)? {
            buf.advance(HANDSHAKE_LEN);
            return match theirs.peer_id == ours {
                true => Err(ConnectError::OurOwnId),
                false => Ok(theirs),
            };
        }
        read_more(stream, buf).await?;
    }
}

async fn read_more(stream: &mut TcpStream, buf: &mut BytesMut) -> Result<(), ConnectError> {
    match stream.read_buf(buf).await? {
        0 => Err(ConnectError::PeerClosed),
        _ => Ok(()),
    }
}
