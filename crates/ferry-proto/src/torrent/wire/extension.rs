//! BEP 10's extension handshake and BEP 9's `ut_metadata`: fetching a torrent's info
//! dictionary from peers when all we have is a magnet link, and serving ours.
//!
//! Peer input is bounded: bencode depth and item count, at most [`MAX_EXTENSIONS`]
//! entries in `m`, a metadata size over the caller's limit refused before anything is
//! allocated for it. Unknown keys are ignored, as BEP 10 asks.

use std::collections::BTreeMap;
use std::net::IpAddr;

use bytes::Bytes;

use crate::torrent::bencode::{self, dict, Bencode, Dict, Limits, Value};

/// Our name for BEP 9 in the `m` dictionary.
pub const UT_METADATA: &str = "ut_metadata";
/// BEP 9's piece size.
pub const METADATA_PIECE: u32 = 16 * 1024;
/// Largest info dictionary accepted by default: libtorrent 2.1.1's `max_metadata_size`
/// (`lt.default_settings()['max_metadata_size']` = 31457280), so whatever libtorrent
/// fetches, ferry fetches.
pub const MAX_METADATA_SIZE: u32 = 30 * 1024 * 1024;
/// Entries of `m` kept; libtorrent and Transmission send fewer than 20.
pub const MAX_EXTENSIONS: usize = 64;

const LIMITS: Limits = Limits {
    depth: 8,
    items: 4096,
};

/// An extension message the codec refuses (the peer's fault).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExtensionError {
    #[error("peer's extension message is not valid bencode: {0}")]
    Bencode(#[from] bencode::DecodeError),
    #[error("peer's extension message is not a dictionary")]
    NotDict,
    #[error("peer's extension handshake lists more than {MAX_EXTENSIONS} extensions")]
    TooManyExtensions,
    #[error("peer's ut_metadata message lacks or mangles `{0}`")]
    Field(&'static str),
    #[error("peer's ut_metadata message type {0} is unknown")]
    MsgType(i64),
    #[error("peer's ut_pex message mangles `{0}`")]
    Pex(&'static str),
}

/// The extension handshake (extended message id 0).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExtHandshake {
    /// Extension name -> the id the sender wants to receive it under (0 = disabled,
    /// left out).
    pub m: BTreeMap<String, u8>,
    /// Client name and version.
    pub v: Option<String>,
    /// The sender's listening port.
    pub p: Option<u16>,
    /// How many outstanding requests the sender accepts.
    pub reqq: Option<u32>,
    /// BEP 9: size of the info dictionary, if the sender has it.
    pub metadata_size: Option<u32>,
    /// Our address as the sender sees it.
    pub yourip: Option<IpAddr>,
}

impl ExtHandshake {
    pub fn decode(payload: &[u8]) -> Result<Self, ExtensionError> {
        let value = bencode::decode_with(payload, LIMITS)?;
        let d = value.as_dict().ok_or(ExtensionError::NotDict)?;
        Ok(ExtHandshake {
            m: extensions(d)?,
            v: d.get(b"v").and_then(Value::as_str).map(str::to_owned),
            p: int_field(d, b"p"),
            reqq: int_field(d, b"reqq"),
            metadata_size: int_field(d, b"metadata_size"),
            yourip: d.get(b"yourip").and_then(Value::as_bytes).and_then(ip),
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let m = self
            .m
            .iter()
            .map(|(name, id)| (name.as_bytes(), Bencode::Int((*id).into())));
        let mut entries = vec![("m", dict(m))];
        let ints = [
            ("p", self.p.map(u32::from)),
            ("reqq", self.reqq),
            ("metadata_size", self.metadata_size),
        ];
        for (key, value) in ints {
            entries.extend(value.map(|n| (key, Bencode::Int(n.into()))));
        }
        entries.extend(self.v.as_deref().map(|v| ("v", Bencode::str(v))));
        let yourip = self.yourip.map(|ip| match ip {
            IpAddr::V4(v4) => v4.octets().to_vec(),
            IpAddr::V6(v6) => v6.octets().to_vec(),
        });
        entries.extend(yourip.map(|b| ("yourip", Bencode::Bytes(b))));
        dict(entries).encode()
    }

    /// The id under which the sender wants `name` messages, if it supports it.
    pub fn id_of(&self, name: &str) -> Option<u8> {
        self.m.get(name).copied()
    }
}

fn extensions(d: &Dict<'_>) -> Result<BTreeMap<String, u8>, ExtensionError> {
    let Some(m) = d.get(b"m").and_then(Value::as_dict) else {
        return Ok(BTreeMap::new());
    };
    if m.entries().len() > MAX_EXTENSIONS {
        return Err(ExtensionError::TooManyExtensions);
    }
    let known = m.entries().iter().filter_map(|(name, id)| {
        let name = std::str::from_utf8(name).ok()?;
        let id = u8::try_from(id.as_int()?).ok().filter(|id| *id != 0)?;
        Some((name.to_owned(), id))
    });
    Ok(known.collect())
}

/// An integer field in range for `T`; absent or out of range reads as absent.
fn int_field<T: TryFrom<i64>>(d: &Dict<'_>, key: &[u8]) -> Option<T> {
    T::try_from(d.get(key)?.as_int()?).ok()
}

fn ip(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

/// A BEP 9 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UtMetadata {
    Request(u32),
    /// A piece of the info dictionary; `data` is a slice of the received frame.
    Data {
        piece: u32,
        total_size: u32,
        data: Bytes,
    },
    Reject(u32),
}

impl UtMetadata {
    /// Decodes an extended message's payload (after the extension id byte).
    pub fn decode(payload: Bytes) -> Result<Self, ExtensionError> {
        let (value, used) = bencode::decode_prefix_with(&payload, LIMITS)?;
        let d = value.as_dict().ok_or(ExtensionError::NotDict)?;
        let piece = int_field(d, b"piece").ok_or(ExtensionError::Field("piece"))?;
        let msg_type = d.get(b"msg_type").and_then(Value::as_int);
        let trailing = used != payload.len();
        match msg_type.ok_or(ExtensionError::Field("msg_type"))? {
            0 if !trailing => Ok(UtMetadata::Request(piece)),
            2 if !trailing => Ok(UtMetadata::Reject(piece)),
            0 | 2 => Err(bencode::DecodeError::Trailing(payload.len() - used).into()),
            1 => Ok(UtMetadata::Data {
                piece,
                total_size: int_field(d, b"total_size")
                    .ok_or(ExtensionError::Field("total_size"))?,
                data: payload.slice(used..),
            }),
            other => Err(ExtensionError::MsgType(other)),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let (kind, piece) = match self {
            UtMetadata::Request(p) => (0, p),
            UtMetadata::Data { piece, .. } => (1, piece),
            UtMetadata::Reject(p) => (2, p),
        };
        let mut entries = vec![
            ("msg_type", Bencode::Int(kind)),
            ("piece", Bencode::Int((*piece).into())),
        ];
        if let UtMetadata::Data {
            total_size, data, ..
        } = self
        {
            entries.push(("total_size", Bencode::Int((*total_size).into())));
            let mut out = dict(entries).encode();
            out.extend_from_slice(data);
            return out;
        }
        dict(entries).encode()
    }
}

/// Number of BEP 9 pieces of an info dictionary of `size` bytes.
pub fn metadata_pieces(size: u32) -> u32 {
    size.div_ceil(METADATA_PIECE)
}

/// The serving side: our info dictionary, cut into BEP 9 pieces on request.
#[derive(Debug, Clone)]
pub struct MetadataServer {
    info: Bytes,
}

impl MetadataServer {
    /// `info` is the info dictionary exactly as hashed into the infohash.
    pub fn new(info: Bytes) -> Self {
        MetadataServer { info }
    }

    /// For our extension handshake's `metadata_size`.
    pub fn size(&self) -> u32 {
        self.info.len() as u32
    }

    /// The answer to a request for `piece`: its data, or a reject if out of range.
    pub fn respond(&self, piece: u32) -> UtMetadata {
        let start = piece as usize * METADATA_PIECE as usize;
        if piece >= metadata_pieces(self.size()) {
            return UtMetadata::Reject(piece);
        }
        let end = (start + METADATA_PIECE as usize).min(self.info.len());
        UtMetadata::Data {
            piece,
            total_size: self.size(),
            data: self.info.slice(start..end),
        }
    }
}

#[cfg(test)]
#[path = "extension_tests.rs"]
mod tests;
