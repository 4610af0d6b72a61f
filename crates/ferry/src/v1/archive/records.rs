//! The zip records `write_zip` emits, as pure functions of the plan.
//!
//! The exact size of the archive is announced in the offer before a single
//! byte is written, so [`zip_size`] and the writer must agree to the byte.
//! They do by construction: both build every header with the functions
//! below, and no header length depends on a CRC.
//!
//! Format (APPNOTE 6.3.x), per entry, like Python 0.24's zipstream-ng:
//! local header (method 0, STORED), the data, then for files a data
//! descriptor carrying the CRC computed while streaming (flag bit 3).
//! Directories carry no data and no descriptor. All names set flag bit 11
//! (UTF-8). ZIP64 fields appear only where a value does not fit in 32 bits
//! (or 16 bits for the entry count).

use super::entry::{Entry, EntryKind};

const LOCAL_SIG: u32 = 0x0403_4b50;
const DESCRIPTOR_SIG: u32 = 0x0807_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const ZIP64_END_SIG: u32 = 0x0606_4b50;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const END_SIG: u32 = 0x0605_4b50;

/// Extra field ids: ZIP64 extended information; Info-ZIP extended timestamp.
const ZIP64_EXTRA: u16 = 0x0001;
const TIMESTAMP_EXTRA: u16 = 0x5455;

/// "Version needed": 2.0 for plain entries, 4.5 when ZIP64 fields appear.
const VERSION_PLAIN: u16 = 20;
const VERSION_ZIP64: u16 = 45;
/// High byte of "version made by": 3 = Unix, so readers honour `mode << 16`.
const MADE_BY_UNIX: u16 = 3 << 8;

/// Flag bit 3: sizes and CRC follow the data; bit 11: the name is UTF-8.
const FLAG_DESCRIPTOR: u16 = 1 << 3;
const FLAG_UTF8: u16 = 1 << 11;

/// MS-DOS directory attribute, set beside the Unix mode for DOS readers.
const DOS_DIR_ATTR: u32 = 0x10;
const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;

/// A 32-bit field holding this means "see the ZIP64 extra field".
const U32_MARK: u32 = u32::MAX;
/// Entry-count marker in the classic end record.
const U16_MARK: u16 = u16::MAX;

/// Appends little-endian integers.
trait Le {
    fn u16(&mut self, v: u16);
    fn u32(&mut self, v: u32);
    fn u64(&mut self, v: u64);
}

impl Le for Vec<u8> {
    fn u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_le_bytes());
    }
}

/// Whether a value must move to a ZIP64 field (the all-ones value is the
/// marker itself, so it moves too).
fn over_u32(v: u64) -> bool {
    v >= u64::from(U32_MARK)
}

/// The file's length, or 0 for a directory.
fn data_len(e: &Entry) -> u64 {
    match e.kind {
        EntryKind::File { size } => size,
        EntryKind::Dir => 0,
    }
}

/// Whether the entry's sizes need ZIP64 (STORED: compressed == original).
pub(super) fn sizes_zip64(e: &Entry) -> bool {
    over_u32(data_len(e))
}

fn flags(e: &Entry) -> u16 {
    match e.kind {
        EntryKind::File { .. } => FLAG_UTF8 | FLAG_DESCRIPTOR,
        EntryKind::Dir => FLAG_UTF8,
    }
}

/// Unix type and permission bits in the high half, DOS bits in the low.
fn external_attrs(e: &Entry) -> u32 {
    match e.kind {
        EntryKind::File { .. } => (S_IFREG | e.mode) << 16,
        EntryKind::Dir => ((S_IFDIR | e.mode) << 16) | DOS_DIR_ATTR,
    }
}

/// Info-ZIP extended timestamp: flags (mtime present) then the mtime, UTC.
/// The same 9 bytes suit the local and the central header.
fn timestamp_extra(e: &Entry) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(t) = e.mtime.unix {
        out.u16(TIMESTAMP_EXTRA);
        out.u16(5);
        out.push(1);
        out.u32(t);
    }
    out
}

/// The common tail of a local and a central header, from "version needed"
/// to the two sizes, with sizes given as they must appear.
fn common_fields(out: &mut Vec<u8>, e: &Entry, version: u16, crc: u32, size: u32) {
    out.u16(version);
    out.u16(flags(e));
    out.u16(0); // method: STORED
    out.u16(e.mtime.dos_time);
    out.u16(e.mtime.dos_date);
    out.u32(crc);
    out.u32(size); // compressed
    out.u32(size); // uncompressed
}

/// The local file header. For files, CRC and sizes are zero here (they come
/// in the data descriptor); with ZIP64 the sizes are marked and the extra
/// field holds zeros, as zipstream-ng and Info-ZIP write it.
pub(super) fn local_header(e: &Entry) -> Vec<u8> {
    let zip64 = sizes_zip64(e);
    let mut extra = timestamp_extra(e);
    if zip64 {
        extra.u16(ZIP64_EXTRA);
        extra.u16(16);
        extra.u64(0);
        extra.u64(0);
    }
    let version = if zip64 { VERSION_ZIP64 } else { VERSION_PLAIN };
    let size = if zip64 { U32_MARK } else { 0 };
    let mut out = Vec::with_capacity(30 + e.name.len() + extra.len());
    out.u32(LOCAL_SIG);
    common_fields(&mut out, e, version, 0, size);
    finish_names(&mut out, e, &extra);
    out
}

/// Name length, extra length, name, extra.
fn finish_names(out: &mut Vec<u8>, e: &Entry, extra: &[u8]) {
    out.u16(e.name.len() as u16);
    out.u16(extra.len() as u16);
    out.extend_from_slice(e.name.as_bytes());
    out.extend_from_slice(extra);
}

/// Whether an entry has a data descriptor (files only).
pub(super) fn has_descriptor(e: &Entry) -> bool {
    matches!(e.kind, EntryKind::File { .. })
}

/// The data descriptor after a file's data; 8-byte sizes when the local
/// header had a ZIP64 field, as the spec requires.
pub(super) fn data_descriptor(e: &Entry, crc: u32) -> Vec<u8> {
    let size = data_len(e);
    let mut out = Vec::with_capacity(24);
    out.u32(DESCRIPTOR_SIG);
    out.u32(crc);
    if sizes_zip64(e) {
        out.u64(size);
        out.u64(size);
    } else {
        out.u32(size as u32);
        out.u32(size as u32);
    }
    out
}

/// The ZIP64 extra of a central header: only the values that overflowed,
/// in the order the spec fixes (original size, compressed size, offset).
fn central_zip64_extra(e: &Entry, offset: u64) -> Vec<u8> {
    let mut values = Vec::new();
    if sizes_zip64(e) {
        values.extend([data_len(e), data_len(e)]);
    }
    if over_u32(offset) {
        values.push(offset);
    }
    let mut out = Vec::new();
    if !values.is_empty() {
        out.u16(ZIP64_EXTRA);
        out.u16(8 * values.len() as u16);
        values.iter().for_each(|v| out.u64(*v));
    }
    out
}

/// The central directory header of an entry whose local header starts at
/// `offset`.
pub(super) fn central_header(e: &Entry, crc: u32, offset: u64) -> Vec<u8> {
    let zip64 = central_zip64_extra(e, offset);
    let mut extra = timestamp_extra(e);
    extra.extend_from_slice(&zip64);
    let version = if zip64.is_empty() {
        VERSION_PLAIN
    } else {
        VERSION_ZIP64
    };
    let size = clamp_u32(data_len(e));
    let mut out = Vec::with_capacity(46 + e.name.len() + extra.len());
    out.u32(CENTRAL_SIG);
    out.u16(MADE_BY_UNIX | version);
    common_fields(&mut out, e, version, crc, size);
    out.u16(e.name.len() as u16);
    out.u16(extra.len() as u16);
    out.u16(0); // comment length
    out.u16(0); // disk number
    out.u16(0); // internal attributes
    out.u32(external_attrs(e));
    out.u32(clamp_u32(offset));
    out.extend_from_slice(e.name.as_bytes());
    out.extend_from_slice(&extra);
    out
}

/// The value itself, or the ZIP64 marker when it does not fit.
fn clamp_u32(v: u64) -> u32 {
    if over_u32(v) {
        U32_MARK
    } else {
        v as u32
    }
}

/// Whether the end of the archive needs the ZIP64 end record and locator.
fn end_zip64(entries: u64, cd_offset: u64, cd_size: u64) -> bool {
    entries >= u64::from(U16_MARK) || over_u32(cd_offset) || over_u32(cd_size)
}

/// The end records: ZIP64 end record and locator when needed, then the
/// classic end record with overflowing fields set to their markers.
pub(super) fn end_records(entries: u64, cd_offset: u64, cd_size: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(98);
    if end_zip64(entries, cd_offset, cd_size) {
        zip64_end(&mut out, entries, cd_offset, cd_size);
    }
    let count = if entries >= u64::from(U16_MARK) {
        U16_MARK
    } else {
        entries as u16
    };
    out.u32(END_SIG);
    out.u16(0); // this disk
    out.u16(0); // disk with the central directory
    out.u16(count);
    out.u16(count);
    out.u32(clamp_u32(cd_size));
    out.u32(clamp_u32(cd_offset));
    out.u16(0); // comment length
    out
}

/// ZIP64 end of central directory record, then its locator.
fn zip64_end(out: &mut Vec<u8>, entries: u64, cd_offset: u64, cd_size: u64) {
    let record_offset = cd_offset + cd_size;
    out.u32(ZIP64_END_SIG);
    out.u64(44); // size of the rest of this record
    out.u16(MADE_BY_UNIX | VERSION_ZIP64);
    out.u16(VERSION_ZIP64);
    out.u32(0); // this disk
    out.u32(0); // disk with the central directory
    out.u64(entries);
    out.u64(entries);
    out.u64(cd_size);
    out.u64(cd_offset);
    out.u32(ZIP64_LOCATOR_SIG);
    out.u32(0); // disk with the ZIP64 end record
    out.u64(record_offset);
    out.u32(1); // total disks
}

/// Exact size of the archive `write_zip` produces for these entries.
pub(super) fn zip_size(entries: &[Entry]) -> u64 {
    let mut offset = 0u64;
    let mut cd_size = 0u64;
    for e in entries {
        cd_size += central_header(e, 0, offset).len() as u64;
        offset += local_header(e).len() as u64 + data_len(e);
        if has_descriptor(e) {
            offset += data_descriptor(e, 0).len() as u64;
        }
    }
    let end = end_records(entries.len() as u64, offset, cd_size);
    offset + cd_size + end.len() as u64
}
