//! `.torrent` files (BEP 3, 12, 19, 47, 52), parsed strictly: a torrent from the
//! internet is hostile input.
//!
//! [`Metainfo::parse`] reads a whole `.torrent`; [`Info::parse`] reads the `info`
//! dictionary alone (what `ut_metadata` delivers after a magnet link). Both refuse
//! rather than repair: a path element that could leave the download directory, a
//! length that is negative or overflows, a piece count that does not match the
//! length, a hybrid whose v1 and v2 halves disagree, a piece layer that does not hash
//! to its file's root, and anything past the bounds below. The infohashes are the
//! SHA-1 (v1) and SHA-256 (v2) of the `info` dictionary's bytes exactly as received.

pub(crate) mod files;

use std::collections::BTreeMap;

use ring::digest::{digest, SHA256};

use super::bencode::{self, Dict, Value};
use super::merkle::{self, Hash};

/// At most this many files, pad files included (libtorrent's default limit is
/// 100,000 per torrent for loading; creators stay far below).
pub const MAX_FILES: usize = 1 << 20;
/// At most this many path elements in one file's path.
pub const MAX_PATH_DEPTH: usize = 64;
/// At most this many pieces (libtorrent's `max_pieces` default, 0x200000).
pub const MAX_PIECES: u64 = 0x20_0000;
/// Pieces of at most 256 MiB (libtorrent creates up to 16 MiB by default).
pub const MAX_PIECE_LENGTH: u64 = 256 * 1024 * 1024;
/// At most this many tracker URLs and this many web seeds, each.
pub const MAX_URLS: usize = 1024;

/// Why a `.torrent` or an info dictionary was refused: always the file's fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetainfoError {
    #[error("not bencode: {0}")]
    Bencode(#[from] bencode::DecodeError),
    #[error("`{0}` is missing")]
    Missing(&'static str),
    #[error("`{0}` has the wrong type")]
    WrongType(&'static str),
    #[error("unsafe name or path element {0:?}")]
    UnsafePath(String),
    #[error("two files at or under the same path {0:?}")]
    PathClash(String),
    #[error("negative length {0}")]
    NegativeLength(i64),
    #[error("the total length overflows")]
    Overflow,
    #[error("bad piece length {0}")]
    PieceLength(i64),
    #[error("{got} piece hashes for {want} pieces")]
    PieceCount { got: u64, want: u64 },
    #[error("more than {limit} {what}")]
    TooMany { what: &'static str, limit: u64 },
    #[error("unknown meta version {0}")]
    MetaVersion(i64),
    #[error("the v1 and v2 file lists differ: {0}")]
    HybridMismatch(&'static str),
    #[error("piece layer {0}")]
    PieceLayer(&'static str),
    #[error("no files")]
    NoFiles,
}

type Result<T> = std::result::Result<T, MetainfoError>;

/// Which hashes a torrent carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// SHA-1 pieces over the concatenated files (BEP 3).
    V1,
    /// Per-file SHA-256 merkle trees (BEP 52).
    V2,
    /// Both, over the same piece-aligned files (pad files between them).
    Hybrid,
}

impl Version {
    pub fn has_v1(self) -> bool {
        self != Version::V2
    }

    pub fn has_v2(self) -> bool {
        self != Version::V1
    }
}

/// The infohashes: v1 is SHA-1 of the info dictionary, v2 SHA-256 of the same bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InfoHashes {
    pub v1: Option<[u8; 20]>,
    pub v2: Option<[u8; 32]>,
}

impl InfoHashes {
    /// The hashes of `info` (the dictionary's encoding) that `version` names.
    pub fn of(info: &[u8], version: Version) -> Self {
        let mut hashes = InfoHashes::default();
        if version.has_v1() {
            hashes.v1 = Some(super::digest::sha1(info));
        }
        if version.has_v2() {
            let mut v2 = [0u8; 32];
            v2.copy_from_slice(digest(&SHA256, info).as_ref());
            hashes.v2 = Some(v2);
        }
        hashes
    }
}

/// One file, in the torrent's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// Path elements under the torrent's directory (`name`); for a single-file
    /// torrent, the one element `name`. Each is safe: not empty, `.`, `..`, and
    /// without `/`, `\` or NUL.
    pub path: Vec<String>,
    pub length: u64,
    /// Where the file starts in the torrent's byte space (pieces count from 0).
    pub offset: u64,
    /// A pad file (`attr` contains `p`): zeros that align the next file, not saved.
    pub pad: bool,
    /// The v2 merkle root (`pieces root`), for a non-empty file of a v2 or hybrid.
    pub pieces_root: Option<Hash>,
}

/// The `info` dictionary, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    pub version: Version,
    pub name: String,
    pub piece_length: u64,
    /// One file stored as `name` (the `length` form), rather than a directory.
    pub single_file: bool,
    pub files: Vec<FileEntry>,
    /// The v1 SHA-1 of each piece (empty in a v2-only torrent).
    pub pieces_v1: Vec<[u8; 20]>,
    pub private: bool,
    pub hashes: InfoHashes,
}

/// A whole `.torrent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metainfo {
    pub info: Info,
    /// The info dictionary's bytes as received.
    pub info_bytes: Vec<u8>,
    /// Tracker tiers (`announce-list`, or `announce` alone as one tier).
    pub trackers: Vec<Vec<String>>,
    /// BEP 19 web seeds (`url-list`).
    pub web_seeds: Vec<String>,
    /// v2 piece layers by file root, each checked against its root. A file of more
    /// than one piece whose layer is missing here gets it from peers.
    pub piece_layers: BTreeMap<Hash, Vec<Hash>>,
}

impl Info {
    /// Parses an info dictionary alone (as `ut_metadata` delivers it).
    pub fn parse(bytes: &[u8]) -> Result<Info> {
        match bencode::decode(bytes)? {
            Value::Dict(d) => Info::from_dict(&d),
            _ => Err(MetainfoError::WrongType("info")),
        }
    }

    fn from_dict(d: &Dict<'_>) -> Result<Info> {
        let piece_length = positive(d, "piece length")?;
        if piece_length > MAX_PIECE_LENGTH {
            return Err(MetainfoError::PieceLength(piece_length as i64));
        }
        let version = version_of(d)?;
        if version.has_v2()
            && (!piece_length.is_power_of_two() || piece_length < merkle::BLOCK_SIZE)
        {
            return Err(MetainfoError::PieceLength(piece_length as i64));
        }
        let name = files::element(req(d, "name")?, "name")?;
        let layout = files::layout(d, version, &name, piece_length)?;
        let total = layout.files.last().map_or(0, |f| f.offset + f.length);
        let want = total.div_ceil(piece_length);
        if want > MAX_PIECES {
            return Err(too_many("pieces", MAX_PIECES));
        }
        let pieces_v1 = match version.has_v1() {
            true => v1_pieces(d, want)?,
            false => Vec::new(),
        };
        Ok(Info {
            version,
            name,
            piece_length,
            single_file: layout.single_file,
            files: layout.files,
            pieces_v1,
            private: opt_int(d, "private")? == Some(1),
            hashes: InfoHashes::of(d.raw(), version),
        })
    }

    /// The torrent's byte space: files and pad files end to end.
    pub fn total_length(&self) -> u64 {
        self.files.last().map_or(0, |f| f.offset + f.length)
    }

    pub fn piece_count(&self) -> u64 {
        self.total_length().div_ceil(self.piece_length)
    }
}

impl Metainfo {
    /// Parses a whole `.torrent`.
    pub fn parse(bytes: &[u8]) -> Result<Metainfo> {
        let top = bencode::decode(bytes)?;
        let top = top.as_dict().ok_or(MetainfoError::WrongType("torrent"))?;
        let info_dict = req(top, "info")?
            .as_dict()
            .ok_or(MetainfoError::WrongType("info"))?;
        let info = Info::from_dict(info_dict)?;
        let piece_layers = match top.get(b"piece layers") {
            Some(v) if info.version.has_v2() => check_layers(&info, v)?,
            _ => BTreeMap::new(),
        };
        Ok(Metainfo {
            info,
            info_bytes: info_dict.raw().to_vec(),
            trackers: trackers(top)?,
            web_seeds: web_seeds(top)?,
            piece_layers,
        })
    }
}

fn version_of(d: &Dict<'_>) -> Result<Version> {
    let v2 = match opt_int(d, "meta version")? {
        None | Some(1) => false,
        Some(2) => true,
        Some(n) => return Err(MetainfoError::MetaVersion(n)),
    };
    match (d.get(b"pieces").is_some(), v2) {
        (true, true) => Ok(Version::Hybrid),
        (false, true) => Ok(Version::V2),
        (true, false) => Ok(Version::V1),
        (false, false) => Err(MetainfoError::Missing("pieces")),
    }
}

fn v1_pieces(d: &Dict<'_>, want: u64) -> Result<Vec<[u8; 20]>> {
    let pieces = req(d, "pieces")?
        .as_bytes()
        .ok_or(MetainfoError::WrongType("pieces"))?;
    let got = (pieces.len() / 20) as u64;
    if pieces.len() % 20 != 0 || got != want {
        return Err(MetainfoError::PieceCount { got, want });
    }
    Ok(pieces.chunks(20).map(hash20).collect())
}

fn hash20(bytes: &[u8]) -> [u8; 20] {
    let mut out = [0u8; 20];
    out.copy_from_slice(bytes);
    out
}

pub(crate) fn hash32(bytes: &[u8]) -> Option<Hash> {
    <[u8; 32]>::try_from(bytes).ok()
}

/// Every entry must be the layer of a file of more than one piece, of the right
/// size, hashing to that file's root.
fn check_layers(info: &Info, value: &Value<'_>) -> Result<BTreeMap<Hash, Vec<Hash>>> {
    let d = value
        .as_dict()
        .ok_or(MetainfoError::WrongType("piece layers"))?;
    let mut layers = BTreeMap::new();
    for (root, layer) in d.entries() {
        let root = hash32(root).ok_or(MetainfoError::PieceLayer("key is not 32 bytes"))?;
        let layer = layer
            .as_bytes()
            .ok_or(MetainfoError::WrongType("piece layers"))?;
        layers.insert(root, checked_layer(info, root, layer)?);
    }
    Ok(layers)
}

/// `layer` (32-byte nodes) as the piece layer of the file whose root is `root`.
fn checked_layer(info: &Info, root: Hash, layer: &[u8]) -> Result<Vec<Hash>> {
    let blocks_per_piece = (info.piece_length / merkle::BLOCK_SIZE) as usize;
    let file = info
        .files
        .iter()
        .find(|f| f.pieces_root == Some(root) && f.length > info.piece_length)
        .ok_or(MetainfoError::PieceLayer(
            "for no file of more than one piece",
        ))?;
    let want = file.length.div_ceil(info.piece_length) as usize;
    if layer.len() != want * 32 {
        return Err(MetainfoError::PieceLayer("has the wrong length"));
    }
    let nodes: Vec<Hash> = layer.chunks(32).filter_map(hash32).collect();
    if merkle::root_from_layer(&nodes, blocks_per_piece) != root {
        return Err(MetainfoError::PieceLayer("does not hash to its root"));
    }
    Ok(nodes)
}

impl Metainfo {
    /// Adds the piece layer of the file whose root is `root`, learnt after the
    /// `.torrent` (a magnet's v2 torrent: BEP 52 `hashes` from peers), once it is
    /// checked like a layer in the file: the right size, hashing to that root.
    /// Until a file's layer is known, its pieces do not verify
    /// (`storage::verify_piece`).
    pub fn add_piece_layer(&mut self, root: Hash, layer: &[u8]) -> Result<()> {
        let nodes = checked_layer(&self.info, root, layer)?;
        self.piece_layers.insert(root, nodes);
        Ok(())
    }
}

fn trackers(top: &Dict<'_>) -> Result<Vec<Vec<String>>> {
    if let Some(list) = top.get(b"announce-list") {
        let tiers = list
            .as_list()
            .ok_or(MetainfoError::WrongType("announce-list"))?;
        let tiers = tiers
            .iter()
            .map(|tier| url_list(tier, "announce-list"))
            .collect::<Result<Vec<_>>>()?;
        if tiers.iter().map(Vec::len).sum::<usize>() > MAX_URLS {
            return Err(too_many("trackers", MAX_URLS as u64));
        }
        return Ok(tiers.into_iter().filter(|t| !t.is_empty()).collect());
    }
    match top.get(b"announce") {
        Some(v) => Ok(vec![vec![url(v, "announce")?]]),
        None => Ok(Vec::new()),
    }
}

fn web_seeds(top: &Dict<'_>) -> Result<Vec<String>> {
    match top.get(b"url-list") {
        None => Ok(Vec::new()),
        Some(Value::Bytes(b"")) => Ok(Vec::new()),
        Some(v @ Value::Bytes(_)) => Ok(vec![url(v, "url-list")?]),
        Some(v) => url_list(v, "url-list"),
    }
}

fn url_list(value: &Value<'_>, key: &'static str) -> Result<Vec<String>> {
    let list = value.as_list().ok_or(MetainfoError::WrongType(key))?;
    if list.len() > MAX_URLS {
        return Err(too_many("URLs", MAX_URLS as u64));
    }
    list.iter().map(|v| url(v, key)).collect()
}

fn url(value: &Value<'_>, key: &'static str) -> Result<String> {
    value
        .as_str()
        .map(str::to_owned)
        .ok_or(MetainfoError::WrongType(key))
}

pub(crate) fn req<'a, 'd>(d: &'d Dict<'a>, key: &'static str) -> Result<&'d Value<'a>> {
    d.get(key.as_bytes()).ok_or(MetainfoError::Missing(key))
}

fn opt_int(d: &Dict<'_>, key: &'static str) -> Result<Option<i64>> {
    d.get(key.as_bytes())
        .map(|v| v.as_int().ok_or(MetainfoError::WrongType(key)))
        .transpose()
}

/// A length: an integer, not negative.
pub(crate) fn length(value: &Value<'_>, key: &'static str) -> Result<u64> {
    let n = value.as_int().ok_or(MetainfoError::WrongType(key))?;
    u64::try_from(n).map_err(|_| MetainfoError::NegativeLength(n))
}

fn positive(d: &Dict<'_>, key: &'static str) -> Result<u64> {
    let n = req(d, key)?.as_int().ok_or(MetainfoError::WrongType(key))?;
    match n {
        1.. => Ok(n as u64),
        _ => Err(MetainfoError::PieceLength(n)),
    }
}

pub(crate) fn too_many(what: &'static str, limit: u64) -> MetainfoError {
    MetainfoError::TooMany { what, limit }
}

#[cfg(test)]
#[path = "metainfo_tests.rs"]
mod tests;
