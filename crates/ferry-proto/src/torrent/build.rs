//! Builds the `info` dictionary and the `.torrent` exactly as libtorrent 2.x does for
//! the same files and piece size, so both give the same infohashes.
//!
//! What libtorrent does, and this module copies (checked byte for byte by
//! `interop/tests/torrent_create.rs`; the evidence is in `docs/torrent.md`):
//! files sorted by their path as one `/`-joined string; one file alone uses the
//! single-file form (`length`, no pad); in a hybrid every file that does not end on a
//! piece boundary, the last included, is followed by a pad file `{attr: "p", length,
//! path: [".pad", "<length>"]}`; no `mtime`, no `attr` on real files; the v2 `file
//! tree` has `{"": {length, pieces root}}` leaves (no root for an empty file);
//! `piece layers` holds every file of more than one piece and is present (maybe
//! empty) in v2 and hybrid torrents. Outside `info`: `announce` is the first tracker,
//! `announce-list` (one tier) only when there are several, `url-list` a string for one
//! web seed and a list for several.
//!
//! [`Plan`] is the layout; the hashing driver reads each piece's bytes (zeros where
//! no file is) and calls [`Plan::hash_piece`], on any thread, in any order;
//! [`Plan::info`] and [`torrent`] encode the result.

use std::collections::BTreeMap;

use super::bencode::{dict, Bencode};
use super::digest::sha1;
use super::merkle::{self, Hash};
use super::metainfo::{
    files::is_safe_element, FileEntry, Version, MAX_FILES, MAX_PATH_DEPTH, MAX_PIECES,
    MAX_PIECE_LENGTH,
};

/// Why a torrent cannot be made from these files (the caller's input).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    #[error("nothing to share: no files")]
    NoFiles,
    #[error("a file name a torrent cannot carry: {0:?}")]
    BadName(String),
    #[error("piece size {0} is not a power of two of at least 16 KiB and at most 256 MiB")]
    PieceSize(u64),
    #[error("too many {0} for one torrent")]
    TooMany(&'static str),
    #[error("the files are too large for one torrent")]
    TooLarge,
}

/// A file to share: its path under the torrent's directory and its length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSpec {
    pub path: Vec<String>,
    pub length: u64,
}

/// The files of a new torrent laid out in pieces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub version: Version,
    pub name: String,
    pub piece_length: u64,
    pub single_file: bool,
    /// In order, pad files included, with their offsets.
    pub files: Vec<FileEntry>,
}

/// What hashing one piece gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PieceHash {
    pub v1: Option<[u8; 20]>,
    /// The piece's node in its file's piece layer, or the file's root when the whole
    /// file is this one piece. None for a piece that holds no v2 file data.
    pub v2: Option<Hash>,
}

/// The hashes of a whole torrent, ready to encode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashed {
    pub pieces_v1: Vec<[u8; 20]>,
    pub piece_layers: BTreeMap<Hash, Vec<Hash>>,
}

/// What goes outside the `info` dictionary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extras {
    pub trackers: Vec<String>,
    pub web_seeds: Vec<String>,
    pub created_by: Option<String>,
    /// Seconds since the Unix epoch.
    pub creation_date: Option<i64>,
}

/// libtorrent's automatic piece size (`create_torrent` given 0): 16 KiB, doubled
/// each time the total size passes the next bound of this table, up to 16 MiB. The
/// bounds are `(2 · piece / 20)²` bytes: a `pieces` list about the square root of
/// the content. Checked against libtorrent 2.1.1 on both sides of every bound.
pub fn default_piece_length(total: u64) -> u64 {
    const BOUNDS: [u64; 10] = [
        2_684_355,
        10_737_418,
        42_949_673,
        171_798_692,
        687_194_767,
        2_748_779_069,
        10_995_116_278,
        43_980_465_111,
        175_921_860_444,
        703_687_441_777,
    ];
    let steps = BOUNDS.iter().take_while(|b| **b < total).count();
    merkle::BLOCK_SIZE << steps
}

impl Plan {
    /// Lays out `files` (a directory's files, paths relative to it) or one file
    /// (`single_file`: `files` has one entry whose path is `[name]`).
    pub fn new(
        name: &str,
        mut files: Vec<FileSpec>,
        single_file: bool,
        piece_length: u64,
        version: Version,
    ) -> Result<Plan, PlanError> {
        check_piece_length(piece_length)?;
        check_names(name, &files)?;
        if files.is_empty() || (single_file && files.len() != 1) {
            return Err(PlanError::NoFiles);
        }
        if files.len() > MAX_FILES / 2 {
            return Err(PlanError::TooMany("files"));
        }
        files.sort_by_cached_key(|f| f.path.join("/"));
        let pad = version == Version::Hybrid && !single_file;
        let entries = lay_out(files, piece_length, pad, version == Version::V2)?;
        let plan = Plan {
            version,
            name: name.to_owned(),
            piece_length,
            single_file,
            files: entries,
        };
        match plan.piece_count() <= MAX_PIECES {
            true => Ok(plan),
            false => Err(PlanError::TooMany("pieces")),
        }
    }

    pub fn total_length(&self) -> u64 {
        self.files.last().map_or(0, |f| f.offset + f.length)
    }

    pub fn piece_count(&self) -> u64 {
        self.total_length().div_ceil(self.piece_length)
    }

    /// The bytes piece `index` spans in the torrent's byte space.
    pub fn piece_range(&self, index: u64) -> std::ops::Range<u64> {
        let start = index * self.piece_length;
        start..(start + self.piece_length).min(self.total_length())
    }

    /// The real files that overlap a byte range: `(file index, file offset, range
    /// offset, length)`. Pad files and gaps are zeros the caller leaves in place.
    pub fn segments(&self, range: std::ops::Range<u64>) -> Vec<(usize, u64, usize, usize)> {
        let first = self
            .files
            .partition_point(|f| f.offset + f.length <= range.start);
        self.files[first..]
            .iter()
            .enumerate()
            .take_while(|(_, f)| f.offset < range.end)
            .filter(|(_, f)| !f.pad && f.length > 0)
            .map(|(i, f)| {
                let from = f.offset.max(range.start);
                let to = (f.offset + f.length).min(range.end);
                let at = (from - range.start) as usize;
                (first + i, from - f.offset, at, (to - from) as usize)
            })
            .collect()
    }

    /// Fills `buf` with piece `index`'s bytes: zeros, then each file's part read by
    /// `read(file index, offset in file, into)`.
    pub fn read_piece<E>(
        &self,
        index: u64,
        buf: &mut Vec<u8>,
        mut read: impl FnMut(usize, u64, &mut [u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let range = self.piece_range(index);
        buf.clear();
        buf.resize((range.end - range.start) as usize, 0);
        for (file, offset, at, len) in self.segments(range) {
            read(file, offset, &mut buf[at..at + len])?;
        }
        Ok(())
    }

    /// Hashes every piece on this thread, reading through `read` (see
    /// [`Plan::read_piece`]): for tests and small torrents.
    pub fn hash_with<E>(
        &mut self,
        mut read: impl FnMut(usize, u64, &mut [u8]) -> Result<(), E>,
    ) -> Result<Hashed, E> {
        let mut buf = Vec::new();
        let mut pieces = Vec::new();
        for index in 0..self.piece_count() {
            self.read_piece(index, &mut buf, &mut read)?;
            pieces.push(self.hash_piece(index, &buf));
        }
        Ok(self.assemble(&pieces))
    }

    /// Hashes piece `index` from its bytes (`piece_range(index)` long, zeros where
    /// no file is).
    pub fn hash_piece(&self, index: u64, data: &[u8]) -> PieceHash {
        let v1 = self.version.has_v1().then(|| sha1(data));
        let v2 = match self.version.has_v2() {
            true => self.v2_node(index, data),
            false => None,
        };
        PieceHash { v1, v2 }
    }

    fn v2_node(&self, index: u64, data: &[u8]) -> Option<Hash> {
        let range = self.piece_range(index);
        let (file, _, at, len) = *self.segments(range).first()?;
        let leaves: Vec<Hash> = data[at..at + len]
            .chunks(merkle::BLOCK_SIZE as usize)
            .map(merkle::block_hash)
            .collect();
        match self.files[file].length <= self.piece_length {
            true => Some(merkle::small_file_root(&leaves)),
            false => Some(merkle::piece_root(&leaves, self.blocks_per_piece())),
        }
    }

    fn blocks_per_piece(&self) -> usize {
        (self.piece_length / merkle::BLOCK_SIZE) as usize
    }

    /// Puts the pieces' hashes (in piece order) together: v1 pieces, v2 roots set on
    /// `self.files`, piece layers.
    pub fn assemble(&mut self, pieces: &[PieceHash]) -> Hashed {
        let pieces_v1 = pieces.iter().filter_map(|p| p.v1).collect();
        let mut piece_layers = BTreeMap::new();
        let per_piece = self.blocks_per_piece();
        for file in self.files.iter_mut().filter(|f| !f.pad && f.length > 0) {
            if !self.version.has_v2() {
                break;
            }
            let first = (file.offset / self.piece_length) as usize;
            let count = file.length.div_ceil(self.piece_length) as usize;
            let layer: Vec<Hash> = pieces[first..first + count]
                .iter()
                .filter_map(|p| p.v2)
                .collect();
            let root = match count {
                1 => layer[0],
                _ => merkle::root_from_layer(&layer, per_piece),
            };
            file.pieces_root = Some(root);
            if count > 1 {
                piece_layers.insert(root, layer);
            }
        }
        Hashed {
            pieces_v1,
            piece_layers,
        }
    }

    /// The bencoded `info` dictionary (after [`Plan::assemble`]).
    pub fn info(&self, hashed: &Hashed) -> Vec<u8> {
        let mut info = BTreeMap::new();
        info.insert("name", Bencode::str(&self.name));
        info.insert("piece length", Bencode::Int(self.piece_length as i64));
        if self.version.has_v1() {
            info.insert("pieces", Bencode::Bytes(hashed.pieces_v1.concat()));
            match self.single_file {
                true => info.insert("length", int(self.files[0].length)),
                false => info.insert("files", self.v1_files()),
            };
        }
        if self.version.has_v2() {
            info.insert("meta version", Bencode::Int(2));
            info.insert("file tree", self.file_tree());
        }
        dict(info).encode()
    }

    fn v1_files(&self) -> Bencode {
        let files = self.files.iter().map(|f| {
            let path = Bencode::List(f.path.iter().map(|p| Bencode::str(p)).collect());
            let mut entry = vec![("length", int(f.length)), ("path", path)];
            if f.pad {
                entry.push(("attr", Bencode::str("p")));
            }
            dict(entry)
        });
        Bencode::List(files.collect())
    }

    fn file_tree(&self) -> Bencode {
        let mut tree = Bencode::Dict(BTreeMap::new());
        for file in self.files.iter().filter(|f| !f.pad) {
            let mut leaf = vec![("length", int(file.length))];
            if let Some(root) = file.pieces_root {
                leaf.push(("pieces root", Bencode::Bytes(root.to_vec())));
            }
            insert(&mut tree, &file.path, dict([("", dict(leaf))]));
        }
        tree
    }
}

/// The whole `.torrent` around an `info` dictionary.
pub fn torrent(info: &[u8], version: Version, hashed: &Hashed, extras: &Extras) -> Vec<u8> {
    let mut top = BTreeMap::new();
    top.insert("info", Bencode::Raw(info.to_vec()));
    if let Some(first) = extras.trackers.first() {
        top.insert("announce", Bencode::str(first));
    }
    if extras.trackers.len() > 1 {
        let tier = extras.trackers.iter().map(|t| Bencode::str(t)).collect();
        top.insert("announce-list", Bencode::List(vec![Bencode::List(tier)]));
    }
    match extras.web_seeds.as_slice() {
        [] => None,
        [one] => top.insert("url-list", Bencode::str(one)),
        many => top.insert(
            "url-list",
            Bencode::List(many.iter().map(|w| Bencode::str(w)).collect()),
        ),
    };
    if let Some(by) = &extras.created_by {
        top.insert("created by", Bencode::str(by));
    }
    if let Some(date) = extras.creation_date {
        top.insert("creation date", Bencode::Int(date));
    }
    if version.has_v2() {
        let layers = hashed
            .piece_layers
            .iter()
            .map(|(root, layer)| (root.to_vec(), Bencode::Bytes(layer.concat())));
        top.insert("piece layers", Bencode::Dict(layers.collect()));
    }
    dict(top).encode()
}

fn int(n: u64) -> Bencode {
    Bencode::Int(n as i64)
}

fn insert(tree: &mut Bencode, path: &[String], leaf: Bencode) {
    let Bencode::Dict(map) = tree else { return };
    match path {
        [] => {}
        [last] => {
            map.insert(last.as_bytes().to_vec(), leaf);
        }
        [dir, rest @ ..] => {
            let child = map
                .entry(dir.as_bytes().to_vec())
                .or_insert_with(|| Bencode::Dict(BTreeMap::new()));
            insert(child, rest, leaf);
        }
    }
}

fn check_piece_length(n: u64) -> Result<(), PlanError> {
    match n.is_power_of_two() && (merkle::BLOCK_SIZE..=MAX_PIECE_LENGTH).contains(&n) {
        true => Ok(()),
        false => Err(PlanError::PieceSize(n)),
    }
}

fn check_names(name: &str, files: &[FileSpec]) -> Result<(), PlanError> {
    let bad = |s: &str| PlanError::BadName(s.to_owned());
    if !is_safe_element(name) {
        return Err(bad(name));
    }
    for f in files {
        if f.path.is_empty() || f.path.len() > MAX_PATH_DEPTH {
            return Err(bad(&f.path.join("/")));
        }
        if let Some(e) = f.path.iter().find(|e| !is_safe_element(e)) {
            return Err(bad(e));
        }
    }
    Ok(())
}

/// Offsets, and pad files where `pad` asks for them. A v2-only torrent has no pad
/// files but its files still start on piece boundaries.
fn lay_out(
    files: Vec<FileSpec>,
    piece: u64,
    pad: bool,
    align: bool,
) -> Result<Vec<FileEntry>, PlanError> {
    let mut out = Vec::with_capacity(files.len() * 2);
    let mut offset = 0u64;
    for f in files {
        let tail = f.length % piece;
        let gap = if tail == 0 { 0 } else { piece - tail };
        out.push(FileEntry {
            path: f.path,
            length: f.length,
            offset,
            pad: false,
            pieces_root: None,
        });
        offset = offset.checked_add(f.length).ok_or(PlanError::TooLarge)?;
        if pad && gap > 0 {
            out.push(FileEntry {
                path: vec![".pad".to_owned(), gap.to_string()],
                length: gap,
                offset,
                pad: true,
                pieces_root: None,
            });
        }
        if pad || align {
            offset = offset.checked_add(gap).ok_or(PlanError::TooLarge)?;
        }
    }
    match i64::try_from(offset) {
        Ok(_) => Ok(out),
        Err(_) => Err(PlanError::TooLarge),
    }
}

#[cfg(test)]
#[path = "build_tests.rs"]
pub(crate) mod tests;
