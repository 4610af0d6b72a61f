//! Native frames: one frame per transit record, a type byte then fixed-width
//! big-endian fields. Strings are a `u16` length and UTF-8; a `DATA` frame's payload
//! runs to the end of the record. See `docs/protocol.md` for the table.
//!
//! Decoding never panics and never allocates more than the record it reads from.

use crate::transfer::path::{SafeRelativePath, MAX_PATH_LEN};

use super::manifest::{Entry, EntryKind, Mtime, Totals};
use super::ranges::GroupRange;
use super::tree::Hash32;

/// Frame type bytes.
mod tag {
    pub(super) const ENTRIES: u8 = 0x01;
    pub(super) const MANIFEST_END: u8 = 0x02;
    pub(super) const ACCEPT: u8 = 0x03;
    pub(super) const REJECT: u8 = 0x04;
    pub(super) const FRESH: u8 = 0x05;
    pub(super) const BATCH: u8 = 0x10;
    pub(super) const TREE: u8 = 0x11;
    pub(super) const WANTS: u8 = 0x12;
    pub(super) const STREAM: u8 = 0x13;
    pub(super) const ROOT: u8 = 0x14;
    pub(super) const DATA: u8 = 0x20;
    pub(super) const CHECKPOINT: u8 = 0x21;
    pub(super) const ACK: u8 = 0x22;
    pub(super) const BATCH_END: u8 = 0x23;
    pub(super) const DONE: u8 = 0x30;
    pub(super) const KEEPALIVE: u8 = 0x40;
    pub(super) const ERROR: u8 = 0x7f;
}

/// Bytes before the payload of a `DATA` frame: tag, file, group.
pub const DATA_HEADER_LEN: usize = 9;
/// Most entries one `ENTRIES` frame may carry.
pub const MAX_ENTRIES_PER_FRAME: usize = 4096;
/// Most CVs one `TREE` frame may carry (2 MiB of hashes).
pub const MAX_CVS_PER_FRAME: usize = 65_536;
/// Longest error or refusal text, in bytes.
pub const MAX_MESSAGE_LEN: usize = 1024;

/// Whose fault an `ERROR` frame says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorCode {
    /// The other side broke the protocol.
    Protocol,
    /// Data failed verification.
    Integrity,
    /// A local problem on the side that sends the error (disk full, read error).
    Local,
    /// The side that sends it stops on purpose (user cancelled, conflict found).
    Refused,
    /// A code this version does not know.
    Other(u8),
}

impl ErrorCode {
    fn to_byte(self) -> u8 {
        match self {
            ErrorCode::Protocol => 1,
            ErrorCode::Integrity => 2,
            ErrorCode::Local => 3,
            ErrorCode::Refused => 4,
            ErrorCode::Other(b) => b,
        }
    }

    fn from_byte(b: u8) -> Self {
        match b {
            1 => ErrorCode::Protocol,
            2 => ErrorCode::Integrity,
            3 => ErrorCode::Local,
            4 => ErrorCode::Refused,
            b => ErrorCode::Other(b),
        }
    }
}

/// The groups a receiver wants of one file of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Want {
    pub file: u32,
    pub ranges: Vec<GroupRange>,
}

/// One native frame. `Data` borrows its payload from the record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Frame<'a> {
    Entries(Vec<Entry>),
    ManifestEnd(Totals),
    Accept,
    Reject(String),
    /// The files the receiver holds nothing of, as ranges of file numbers
    /// (`late-roots` only).
    Fresh(Vec<GroupRange>),
    Batch {
        first: u32,
        count: u32,
    },
    Tree {
        file: u32,
        root: Hash32,
        total: u32,
        start: u32,
        cvs: Vec<Hash32>,
    },
    Wants(Vec<Want>),
    /// A batch of fresh files sent whole, no trees first (`late-roots` only).
    Stream {
        first: u32,
        count: u32,
    },
    /// A streamed file's root hash, after its data.
    Root {
        file: u32,
        root: Hash32,
    },
    Data {
        file: u32,
        group: u32,
        bytes: &'a [u8],
    },
    Checkpoint(u64),
    Ack(u64),
    BatchEnd,
    Done(Totals),
    /// "Still here": sent by a side that has written nothing for a while, only
    /// to a peer that listed the `keepalive` feature. Never reaches a machine.
    KeepAlive,
    Error {
        code: ErrorCode,
        message: String,
    },
}

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    #[error("truncated frame")]
    Truncated,
    #[error("unknown frame type 0x{0:02x}")]
    UnknownType(u8),
    #[error("trailing bytes after a frame")]
    Trailing,
    #[error("invalid {0}")]
    Invalid(&'static str),
    #[error("unsafe path: {0}")]
    Path(String),
}

impl Frame<'_> {
    /// A short name for error messages ("expected X, got Y").
    pub fn name(&self) -> &'static str {
        match self {
            Frame::Entries(_) => "ENTRIES",
            Frame::ManifestEnd(_) => "MANIFEST_END",
            Frame::Accept => "ACCEPT",
            Frame::Reject(_) => "REJECT",
            Frame::Batch { .. } => "BATCH",
            Frame::Tree { .. } => "TREE",
            Frame::Wants(_) => "WANTS",
            Frame::Fresh(_) => "FRESH",
            Frame::Stream { .. } => "STREAM",
            Frame::Root { .. } => "ROOT",
            Frame::Data { .. } => "DATA",
            Frame::Checkpoint(_) => "CHECKPOINT",
            Frame::Ack(_) => "ACK",
            Frame::BatchEnd => "BATCH_END",
            Frame::Done(_) => "DONE",
            Frame::KeepAlive => "KEEPALIVE",
            Frame::Error { .. } => "ERROR",
        }
    }

    /// The frame's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Vec::new();
        match self {
            Frame::Entries(entries) => encode_entries(entries, &mut w),
            Frame::ManifestEnd(t) => totals(tag::MANIFEST_END, t, &mut w),
            Frame::Accept => w.push(tag::ACCEPT),
            Frame::Reject(why) => {
                w.push(tag::REJECT);
                put_str(&mut w, why, MAX_MESSAGE_LEN);
            }
            Frame::Batch { first, count } => {
                w.push(tag::BATCH);
                w.extend_from_slice(&first.to_be_bytes());
                w.extend_from_slice(&count.to_be_bytes());
            }
            Frame::Tree {
                file,
                root,
                total,
                start,
                cvs,
            } => {
                w.push(tag::TREE);
                w.extend_from_slice(&file.to_be_bytes());
                w.extend_from_slice(root);
                w.extend_from_slice(&total.to_be_bytes());
                w.extend_from_slice(&start.to_be_bytes());
                cvs.iter().for_each(|cv| w.extend_from_slice(cv));
            }
            Frame::Wants(wants) => encode_wants(wants, &mut w),
            Frame::Fresh(ranges) => {
                w.push(tag::FRESH);
                encode_ranges(ranges, &mut w);
            }
            Frame::Stream { first, count } => {
                w.push(tag::STREAM);
                w.extend_from_slice(&first.to_be_bytes());
                w.extend_from_slice(&count.to_be_bytes());
            }
            Frame::Root { file, root } => {
                w.push(tag::ROOT);
                w.extend_from_slice(&file.to_be_bytes());
                w.extend_from_slice(root);
            }
            Frame::Data { file, group, bytes } => {
                w.extend_from_slice(&data_header(*file, *group));
                w.extend_from_slice(bytes);
            }
            Frame::Checkpoint(n) => seq(tag::CHECKPOINT, *n, &mut w),
            Frame::Ack(n) => seq(tag::ACK, *n, &mut w),
            Frame::BatchEnd => w.push(tag::BATCH_END),
            Frame::Done(t) => totals(tag::DONE, t, &mut w),
            Frame::KeepAlive => w.push(tag::KEEPALIVE),
            Frame::Error { code, message } => {
                w.push(tag::ERROR);
                w.push(code.to_byte());
                put_str(&mut w, message, MAX_MESSAGE_LEN);
            }
        }
        w
    }
}

/// A `DATA` header; the group's bytes follow it.
pub fn data_header(file: u32, group: u32) -> [u8; DATA_HEADER_LEN] {
    let mut h = [tag::DATA; DATA_HEADER_LEN];
    h[1..5].copy_from_slice(&file.to_be_bytes());
    h[5..].copy_from_slice(&group.to_be_bytes());
    h
}

fn totals(t: u8, totals: &Totals, w: &mut Vec<u8>) {
    w.push(t);
    for n in [totals.entries, totals.files, totals.bytes] {
        w.extend_from_slice(&n.to_be_bytes());
    }
}

fn seq(t: u8, n: u64, w: &mut Vec<u8>) {
    w.push(t);
    w.extend_from_slice(&n.to_be_bytes());
}

/// Strings longer than `limit` bytes are cut at a character boundary.
fn put_str(w: &mut Vec<u8>, s: &str, limit: usize) {
    let mut end = s.len().min(limit);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    w.extend_from_slice(&(end as u16).to_be_bytes());
    w.extend_from_slice(&s.as_bytes()[..end]);
}

fn encode_entries(entries: &[Entry], w: &mut Vec<u8>) {
    w.push(tag::ENTRIES);
    w.extend_from_slice(&(entries.len() as u16).to_be_bytes());
    for e in entries {
        let (kind, size) = match e.kind {
            EntryKind::Dir => (0u8, None),
            EntryKind::File { size } => (1u8, Some(size)),
        };
        w.push(kind);
        put_str(w, e.path.as_str(), MAX_PATH_LEN);
        w.extend_from_slice(&(e.mode as u16).to_be_bytes());
        w.extend_from_slice(&e.mtime.secs.to_be_bytes());
        w.extend_from_slice(&e.mtime.nanos.to_be_bytes());
        if let Some(size) = size {
            w.extend_from_slice(&size.to_be_bytes());
        }
    }
}

fn encode_wants(wants: &[Want], w: &mut Vec<u8>) {
    w.push(tag::WANTS);
    w.extend_from_slice(&(wants.len() as u32).to_be_bytes());
    for want in wants {
        w.extend_from_slice(&want.file.to_be_bytes());
        encode_ranges(&want.ranges, w);
    }
}

/// `u32 n`, then `n × (u32 start, u32 end)`.
fn encode_ranges(ranges: &[GroupRange], w: &mut Vec<u8>) {
    w.extend_from_slice(&(ranges.len() as u32).to_be_bytes());
    for (start, end) in ranges {
        w.extend_from_slice(&start.to_be_bytes());
        w.extend_from_slice(&end.to_be_bytes());
    }
}

/// Decodes one frame from a record's plaintext.
pub fn decode(bytes: &[u8]) -> Result<Frame<'_>, WireError> {
    let mut r = Reader(bytes);
    let frame = match r.u8()? {
        tag::ENTRIES => Frame::Entries(decode_entries(&mut r)?),
        tag::MANIFEST_END => Frame::ManifestEnd(r.totals()?),
        tag::ACCEPT => Frame::Accept,
        tag::REJECT => Frame::Reject(r.string()?),
        tag::BATCH => Frame::Batch {
            first: r.u32()?,
            count: r.u32()?,
        },
        tag::TREE => decode_tree(&mut r)?,
        tag::WANTS => Frame::Wants(decode_wants(&mut r)?),
        tag::FRESH => Frame::Fresh(decode_ranges(&mut r)?),
        tag::STREAM => Frame::Stream {
            first: r.u32()?,
            count: r.u32()?,
        },
        tag::ROOT => Frame::Root {
            file: r.u32()?,
            root: r.hash()?,
        },
        tag::DATA => {
            let (file, group) = (r.u32()?, r.u32()?);
            Frame::Data {
                file,
                group,
                bytes: r.rest(),
            }
        }
        tag::CHECKPOINT => Frame::Checkpoint(r.u64()?),
        tag::ACK => Frame::Ack(r.u64()?),
        tag::BATCH_END => Frame::BatchEnd,
        tag::DONE => Frame::Done(r.totals()?),
        tag::KEEPALIVE => Frame::KeepAlive,
        tag::ERROR => {
            let code = ErrorCode::from_byte(r.u8()?);
            Frame::Error {
                code,
                message: r.string()?,
            }
        }
        other => return Err(WireError::UnknownType(other)),
    };
    match r.0.is_empty() {
        true => Ok(frame),
        false => Err(WireError::Trailing),
    }
}

fn decode_entries(r: &mut Reader<'_>) -> Result<Vec<Entry>, WireError> {
    let count = r.u16()? as usize;
    if count > MAX_ENTRIES_PER_FRAME {
        return Err(WireError::Invalid("entry count"));
    }
    let mut entries = Vec::with_capacity(count);
    for _ in 0..count {
        let kind = r.u8()?;
        let raw = r.string()?;
        let path = SafeRelativePath::parse(&raw).map_err(|e| WireError::Path(e.to_string()))?;
        if path.as_str() != raw {
            return Err(WireError::Invalid("path (not in normal form)"));
        }
        let mode = u32::from(r.u16()?);
        let mtime = Mtime {
            secs: r.i64()?,
            nanos: r.u32()?,
        };
        let kind = match kind {
            0 => EntryKind::Dir,
            1 => EntryKind::File { size: r.u64()? },
            _ => return Err(WireError::Invalid("entry kind")),
        };
        entries.push(Entry {
            path,
            kind,
            mode,
            mtime,
        });
    }
    Ok(entries)
}

fn decode_tree<'a>(r: &mut Reader<'a>) -> Result<Frame<'a>, WireError> {
    let file = r.u32()?;
    let root = r.hash()?;
    let (total, start) = (r.u32()?, r.u32()?);
    let rest = r.rest();
    if !rest.len().is_multiple_of(32) || rest.len() / 32 > MAX_CVS_PER_FRAME {
        return Err(WireError::Invalid("hash list"));
    }
    let cvs = rest
        .chunks_exact(32)
        .map(|c| {
            let mut cv = [0u8; 32];
            cv.copy_from_slice(c);
            cv
        })
        .collect();
    Ok(Frame::Tree {
        file,
        root,
        total,
        start,
        cvs,
    })
}

fn decode_wants(r: &mut Reader<'_>) -> Result<Vec<Want>, WireError> {
    let count = r.u32()? as usize;
    // Each want takes at least 8 bytes: a larger count is a lie, not an allocation.
    let mut wants = Vec::with_capacity(count.min(r.0.len() / 8));
    for _ in 0..count {
        let file = r.u32()?;
        let ranges = decode_ranges(r)?;
        wants.push(Want { file, ranges });
    }
    Ok(wants)
}

fn decode_ranges(r: &mut Reader<'_>) -> Result<Vec<GroupRange>, WireError> {
    let n = r.u32()? as usize;
    // Each range takes 8 bytes: a larger count is a lie, not an allocation.
    let mut ranges = Vec::with_capacity(n.min(r.0.len() / 8));
    for _ in 0..n {
        ranges.push((r.u32()?, r.u32()?));
    }
    Ok(ranges)
}

/// A cursor over a frame's bytes.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        let (head, rest) = self
            .0
            .split_first_chunk::<N>()
            .ok_or(WireError::Truncated)?;
        self.0 = rest;
        Ok(*head)
    }

    fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.take::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, WireError> {
        self.take().map(u16::from_be_bytes)
    }

    fn u32(&mut self) -> Result<u32, WireError> {
        self.take().map(u32::from_be_bytes)
    }

    fn u64(&mut self) -> Result<u64, WireError> {
        self.take().map(u64::from_be_bytes)
    }

    fn i64(&mut self) -> Result<i64, WireError> {
        self.take().map(i64::from_be_bytes)
    }

    fn hash(&mut self) -> Result<Hash32, WireError> {
        self.take()
    }

    fn totals(&mut self) -> Result<Totals, WireError> {
        Ok(Totals {
            entries: self.u64()?,
            files: self.u64()?,
            bytes: self.u64()?,
        })
    }

    fn string(&mut self) -> Result<String, WireError> {
        let len = self.u16()? as usize;
        if len > self.0.len() {
            return Err(WireError::Truncated);
        }
        let (s, rest) = self.0.split_at(len);
        self.0 = rest;
        String::from_utf8(s.to_vec()).map_err(|_| WireError::Invalid("UTF-8"))
    }

    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.0)
    }
}

#[cfg(test)]
mod tests;
