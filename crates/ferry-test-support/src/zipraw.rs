//! Hand-made zip archives, byte by byte, so a test can write what no honest
//! zip library would: duplicate names, entries sharing data, lying sizes,
//! device files and links (as Unix mode bits in the external attributes).

/// One entry as it will be written.
#[derive(Clone)]
pub struct Entry {
    pub name: Vec<u8>,
    /// Bytes stored in the archive (already compressed if `method` is 8).
    pub stored: Vec<u8>,
    /// Size of the content once extracted (what the header declares).
    pub declared_size: u32,
    pub crc: u32,
    /// 0 = STORED, 8 = DEFLATE.
    pub method: u16,
    /// Unix `st_mode` (type and permission bits), in the external attributes.
    pub mode: u32,
    /// Point the central record at an earlier entry's local header.
    pub share_data_of: Option<usize>,
}

impl Entry {
    /// A stored regular file.
    pub fn file(name: &str, content: &[u8]) -> Entry {
        Entry {
            name: name.as_bytes().to_vec(),
            stored: content.to_vec(),
            declared_size: content.len() as u32,
            crc: crc32(content),
            method: 0,
            mode: 0o100_644,
            share_data_of: None,
        }
    }

    /// An entry of any type: `mode` carries the `S_IF*` bits.
    pub fn with_mode(name: &str, content: &[u8], mode: u32) -> Entry {
        Entry {
            mode,
            ..Entry::file(name, content)
        }
    }

    pub fn dir(name: &str) -> Entry {
        Entry::with_mode(name, b"", 0o040_755)
    }
}

/// Serialises `entries` as a zip file.
pub fn build(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut offsets = Vec::new();
    for e in entries {
        match e.share_data_of {
            Some(i) => offsets.push(offsets[i]),
            None => {
                offsets.push(out.len() as u32);
                local_header(&mut out, e);
            }
        }
    }
    let cd_start = out.len() as u32;
    for (e, &offset) in entries.iter().zip(&offsets) {
        central_header(&mut out, e, offset);
    }
    let cd_len = out.len() as u32 - cd_start;
    let n = entries.len() as u16;
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    for v in [0u16, 0, n, n] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&cd_len.to_le_bytes());
    out.extend_from_slice(&cd_start.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

fn common_fields(out: &mut Vec<u8>, e: &Entry) {
    // Bit 11: the name is UTF-8, as every writer marks a non-ASCII name
    // (unmarked, readers take it as CP437).
    let flags = match e.name.is_ascii() {
        true => 0u16,
        false => 0x800,
    };
    for v in [20u16, flags, e.method, 0, 0x21] {
        out.extend_from_slice(&v.to_le_bytes()); // version, flags, method, time, date
    }
    out.extend_from_slice(&e.crc.to_le_bytes());
    out.extend_from_slice(&(e.stored.len() as u32).to_le_bytes());
    out.extend_from_slice(&e.declared_size.to_le_bytes());
    out.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // extra length
}

fn local_header(out: &mut Vec<u8>, e: &Entry) {
    out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    common_fields(out, e);
    out.extend_from_slice(&e.name);
    out.extend_from_slice(&e.stored);
}

fn central_header(out: &mut Vec<u8>, e: &Entry, offset: u32) {
    out.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
    out.extend_from_slice(&(3u16 << 8 | 20).to_le_bytes()); // made by: Unix
    common_fields(out, e);
    for v in [0u16, 0, 0] {
        out.extend_from_slice(&v.to_le_bytes()); // comment length, disk, internal attributes
    }
    out.extend_from_slice(&(e.mode << 16).to_le_bytes());
    out.extend_from_slice(&offset.to_le_bytes());
    out.extend_from_slice(&e.name);
}

/// CRC-32 (IEEE), bit by bit: tests only hash a few megabytes.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
