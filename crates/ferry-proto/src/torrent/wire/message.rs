//! Peer messages after the handshake: `<u32 length><u8 id><payload>`, big-endian.
//!
//! BEP 3's core set, BEP 5's `port`, BEP 6's fast extension, BEP 10's extended message
//! and BEP 52's hash messages. Decoding is strict: each kind has an exact payload size
//! (or a size that is a multiple of its unit) and anything else is refused, as is an
//! unknown id — libtorrent disconnects a peer that sends one (`invalid_message`), and a
//! peer that negotiated nothing we did not announce has no business sending one.
//! Whether a message is allowed *now* (fast messages without BEP 6, a request over
//! [`MAX_BLOCK`]) is the caller's policy, not the codec's.

use bytes::{BufMut, Bytes, BytesMut};

/// The block size every client requests and BEP 3 recommends; libtorrent refuses larger
/// requests by default.
pub const MAX_BLOCK: u32 = 16 * 1024;

/// A block: `length` bytes at `begin` in piece `index` (request, cancel, reject).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockRef {
    pub index: u32,
    pub begin: u32,
    pub length: u32,
}

/// BEP 52: which hashes of one file's merkle tree (hash request, hashes, hash reject).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashRequest {
    pub pieces_root: [u8; 32],
    pub base_layer: u32,
    pub index: u32,
    pub length: u32,
    pub proof_layers: u32,
}

const HASH_REQUEST_LEN: usize = 48;

/// One message. Byte payloads are slices of the receive buffer, not copies.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message {
    KeepAlive,
    Choke,
    Unchoke,
    Interested,
    NotInterested,
    Have(u32),
    /// Raw bitfield; check it against the piece count with [`super::Bitfield::from_wire`].
    Bitfield(Bytes),
    Request(BlockRef),
    Piece {
        index: u32,
        begin: u32,
        data: Bytes,
    },
    Cancel(BlockRef),
    /// BEP 5: the peer's DHT port.
    Port(u16),
    Suggest(u32),
    HaveAll,
    HaveNone,
    Reject(BlockRef),
    AllowedFast(u32),
    /// BEP 10: `id` 0 is the extension handshake, others as the handshake's `m` says.
    Extended {
        id: u8,
        payload: Bytes,
    },
    HashRequest(HashRequest),
    Hashes {
        request: HashRequest,
        hashes: Bytes,
    },
    HashReject(HashRequest),
}

mod id {
    pub(super) const CHOKE: u8 = 0;
    pub(super) const UNCHOKE: u8 = 1;
    pub(super) const INTERESTED: u8 = 2;
    pub(super) const NOT_INTERESTED: u8 = 3;
    pub(super) const HAVE: u8 = 4;
    pub(super) const BITFIELD: u8 = 5;
    pub(super) const REQUEST: u8 = 6;
    pub(super) const PIECE: u8 = 7;
    pub(super) const CANCEL: u8 = 8;
    pub(super) const PORT: u8 = 9;
    pub(super) const SUGGEST: u8 = 13;
    pub(super) const HAVE_ALL: u8 = 14;
    pub(super) const HAVE_NONE: u8 = 15;
    pub(super) const REJECT: u8 = 16;
    pub(super) const ALLOWED_FAST: u8 = 17;
    pub(super) const EXTENDED: u8 = 20;
    pub(super) const HASH_REQUEST: u8 = 21;
    pub(super) const HASHES: u8 = 22;
    pub(super) const HASH_REJECT: u8 = 23;
}

/// A message the codec refuses: the peer's fault, the connection should close.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    #[error("peer announced a {len}-byte message, over the limit of {max}")]
    TooLong { len: u32, max: u32 },
    #[error("peer sent unknown message id {0}")]
    UnknownId(u8),
    #[error("peer sent message id {id} with a {len}-byte payload")]
    BadLength { id: u8, len: usize },
    #[error("peer's bitfield has {got} bytes for {pieces} pieces")]
    BitfieldSize { got: usize, pieces: u32 },
    #[error("peer's bitfield has bits set past piece {0}")]
    BitfieldSpareBits(u32),
}

impl Message {
    /// Decodes one frame's body (id and payload; empty = keep-alive).
    pub fn decode(body: Bytes) -> Result<Message, WireError> {
        let Some(&kind) = body.first() else {
            return Ok(Message::KeepAlive);
        };
        let payload = body.slice(1..);
        let fixed = |n: usize| check_len(kind, &payload, |len| len == n);
        match kind {
            id::CHOKE => fixed(0).map(|_| Message::Choke),
            id::UNCHOKE => fixed(0).map(|_| Message::Unchoke),
            id::INTERESTED => fixed(0).map(|_| Message::Interested),
            id::NOT_INTERESTED => fixed(0).map(|_| Message::NotInterested),
            id::HAVE_ALL => fixed(0).map(|_| Message::HaveAll),
            id::HAVE_NONE => fixed(0).map(|_| Message::HaveNone),
            id::HAVE => fixed(4).map(|_| Message::Have(be32(&payload, 0))),
            id::SUGGEST => fixed(4).map(|_| Message::Suggest(be32(&payload, 0))),
            id::ALLOWED_FAST => fixed(4).map(|_| Message::AllowedFast(be32(&payload, 0))),
            id::PORT => {
                fixed(2).map(|_| Message::Port(u16::from_be_bytes([payload[0], payload[1]])))
            }
            id::REQUEST => fixed(12).map(|_| Message::Request(block(&payload))),
            id::CANCEL => fixed(12).map(|_| Message::Cancel(block(&payload))),
            id::REJECT => fixed(12).map(|_| Message::Reject(block(&payload))),
            id::BITFIELD => Ok(Message::Bitfield(payload)),
            id::PIECE => check_len(kind, &payload, |len| len >= 8).map(|_| Message::Piece {
                index: be32(&payload, 0),
                begin: be32(&payload, 4),
                data: payload.slice(8..),
            }),
            id::EXTENDED => check_len(kind, &payload, |len| len >= 1).map(|_| Message::Extended {
                id: payload[0],
                payload: payload.slice(1..),
            }),
            id::HASH_REQUEST => {
                fixed(HASH_REQUEST_LEN).map(|_| Message::HashRequest(hash_request(&payload)))
            }
            id::HASH_REJECT => {
                fixed(HASH_REQUEST_LEN).map(|_| Message::HashReject(hash_request(&payload)))
            }
            id::HASHES => check_len(kind, &payload, |len| {
                len >= HASH_REQUEST_LEN && (len - HASH_REQUEST_LEN).is_multiple_of(32)
            })
            .map(|_| Message::Hashes {
                request: hash_request(&payload),
                hashes: payload.slice(HASH_REQUEST_LEN..),
            }),
            other => Err(WireError::UnknownId(other)),
        }
    }

    /// Appends the whole frame, length prefix included.
    pub fn encode(&self, out: &mut BytesMut) {
        let start = out.len();
        out.put_u32(0);
        self.encode_body(out);
        let len = (out.len() - start - 4) as u32;
        out[start..start + 4].copy_from_slice(&len.to_be_bytes());
    }

    fn encode_body(&self, out: &mut BytesMut) {
        match self {
            Message::KeepAlive => {}
            Message::Choke => out.put_u8(id::CHOKE),
            Message::Unchoke => out.put_u8(id::UNCHOKE),
            Message::Interested => out.put_u8(id::INTERESTED),
            Message::NotInterested => out.put_u8(id::NOT_INTERESTED),
            Message::HaveAll => out.put_u8(id::HAVE_ALL),
            Message::HaveNone => out.put_u8(id::HAVE_NONE),
            Message::Have(i) => put_id_u32(out, id::HAVE, *i),
            Message::Suggest(i) => put_id_u32(out, id::SUGGEST, *i),
            Message::AllowedFast(i) => put_id_u32(out, id::ALLOWED_FAST, *i),
            Message::Port(port) => {
                out.put_u8(id::PORT);
                out.put_u16(*port);
            }
            Message::Request(b) => put_block(out, id::REQUEST, b),
            Message::Cancel(b) => put_block(out, id::CANCEL, b),
            Message::Reject(b) => put_block(out, id::REJECT, b),
            Message::Bitfield(bits) => {
                out.put_u8(id::BITFIELD);
                out.put_slice(bits);
            }
            Message::Piece { index, begin, data } => {
                out.put_slice(&piece_header(*index, *begin, data.len() as u32)[4..]);
                out.put_slice(data);
            }
            Message::Extended { id: ext, payload } => {
                out.put_u8(id::EXTENDED);
                out.put_u8(*ext);
                out.put_slice(payload);
            }
            Message::HashRequest(r) => put_hash_request(out, id::HASH_REQUEST, r),
            Message::HashReject(r) => put_hash_request(out, id::HASH_REJECT, r),
            Message::Hashes { request, hashes } => {
                put_hash_request(out, id::HASHES, request);
                out.put_slice(hashes);
            }
        }
    }
}

/// The 13 bytes before a piece's data: a sender writes them, then the data from
/// wherever it lies, without assembling the message.
pub fn piece_header(index: u32, begin: u32, data_len: u32) -> [u8; 13] {
    let mut out = [0; 13];
    out[..4].copy_from_slice(&(9 + data_len).to_be_bytes());
    out[4] = id::PIECE;
    out[5..9].copy_from_slice(&index.to_be_bytes());
    out[9..13].copy_from_slice(&begin.to_be_bytes());
    out
}

fn check_len(kind: u8, payload: &[u8], ok: impl Fn(usize) -> bool) -> Result<(), WireError> {
    match ok(payload.len()) {
        true => Ok(()),
        false => Err(WireError::BadLength {
            id: kind,
            len: payload.len(),
        }),
    }
}

fn be32(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_be_bytes(word)
}

fn block(payload: &[u8]) -> BlockRef {
    BlockRef {
        index: be32(payload, 0),
        begin: be32(payload, 4),
        length: be32(payload, 8),
    }
}

fn hash_request(payload: &[u8]) -> HashRequest {
    let mut pieces_root = [0; 32];
    pieces_root.copy_from_slice(&payload[..32]);
    HashRequest {
        pieces_root,
        base_layer: be32(payload, 32),
        index: be32(payload, 36),
        length: be32(payload, 40),
        proof_layers: be32(payload, 44),
    }
}

fn put_id_u32(out: &mut BytesMut, kind: u8, value: u32) {
    out.put_u8(kind);
    out.put_u32(value);
}

fn put_block(out: &mut BytesMut, kind: u8, b: &BlockRef) {
    out.put_u8(kind);
    out.put_u32(b.index);
    out.put_u32(b.begin);
    out.put_u32(b.length);
}

fn put_hash_request(out: &mut BytesMut, kind: u8, r: &HashRequest) {
    out.put_u8(kind);
    out.put_slice(&r.pieces_root);
    out.put_u32(r.base_layer);
    out.put_u32(r.index);
    out.put_u32(r.length);
    out.put_u32(r.proof_layers);
}
