//! Magnet links (BEP 9, BEP 52's `btmh`): parsed strictly, written as libtorrent's
//! `make_magnet_uri` writes them.
//!
//! Written form: `magnet:?xt=urn:btih:<40 lower-case hex>`, then
//! `&xt=urn:btmh:1220<64 hex>` for a v2 or hybrid torrent, `&dn=`, one `&tr=` per
//! tracker, one `&ws=` per web seed, one `&x.pe=` per peer; values percent-encoded
//! with lower-case hex, every byte but ASCII letters, digits and `-_.!~*()` (what
//! libtorrent 2.1.1 leaves alone). Peers are written bare (`1.2.3.4:5`, `[::1]:6`).
//!
//! Parsing accepts a v1 hash as 40 hex or 32 base32 characters, a v2 hash only as
//! the SHA-256 multihash (`1220` + 64 hex), `+` as a space, and ignores parameters
//! it does not know; it refuses a malformed escape, text that is not UTF-8, a second
//! hash of the same kind, a peer that is not `IP:port`, no hash at all, and
//! anything past the bounds below.

use std::fmt::{self, Write as _};
use std::net::SocketAddr;

use super::metainfo::InfoHashes;

/// Links longer than this are refused (libtorrent has no limit; 64 KiB holds
/// hundreds of trackers).
pub const MAX_LINK: usize = 64 * 1024;
/// At most this many parameters.
pub const MAX_PARAMS: usize = 1024;

/// Why a magnet link was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MagnetError {
    #[error("not a magnet link (it must start with `magnet:?`)")]
    NotMagnet,
    #[error("the link is longer than {MAX_LINK} bytes or has more than {MAX_PARAMS} parameters")]
    TooLong,
    #[error("malformed percent escape in `{0}`")]
    BadEscape(String),
    #[error("`{0}` is not UTF-8 once decoded")]
    NotUtf8(String),
    #[error("malformed info hash `{0}`")]
    BadHash(String),
    #[error("two {0} info hashes")]
    TwoHashes(&'static str),
    #[error("malformed peer address `{0}` (want IP:port)")]
    BadPeer(String),
    #[error("no info hash (`xt=urn:btih:` or `xt=urn:btmh:1220`)")]
    NoHash,
}

/// A parsed magnet link.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Magnet {
    pub hashes: InfoHashes,
    pub name: Option<String>,
    pub trackers: Vec<String>,
    pub web_seeds: Vec<String>,
    pub peers: Vec<SocketAddr>,
}

impl Magnet {
    pub fn parse(link: &str) -> Result<Magnet, MagnetError> {
        let query = link
            .strip_prefix("magnet:?")
            .ok_or(MagnetError::NotMagnet)?;
        if link.len() > MAX_LINK || query.split('&').count() > MAX_PARAMS {
            return Err(MagnetError::TooLong);
        }
        let mut magnet = Magnet::default();
        for param in query.split('&').filter(|p| !p.is_empty()) {
            let (key, raw) = param.split_once('=').unwrap_or((param, ""));
            magnet.take(key, &decode(raw)?)?;
        }
        match magnet.hashes.v1.is_some() || magnet.hashes.v2.is_some() {
            true => Ok(magnet),
            false => Err(MagnetError::NoHash),
        }
    }

    fn take(&mut self, key: &str, value: &str) -> Result<(), MagnetError> {
        match key {
            "xt" => self.take_hash(value)?,
            "dn" => self.name = Some(value.to_owned()),
            "tr" => self.trackers.push(value.to_owned()),
            "ws" => self.web_seeds.push(value.to_owned()),
            "x.pe" => self.peers.push(
                value
                    .parse()
                    .map_err(|_| MagnetError::BadPeer(value.to_owned()))?,
            ),
            _ => {}
        }
        Ok(())
    }

    fn take_hash(&mut self, value: &str) -> Result<(), MagnetError> {
        let bad = || MagnetError::BadHash(value.to_owned());
        if let Some(v1) = value.strip_prefix("urn:btih:") {
            let hash = match v1.len() {
                40 => hex_array(v1).ok_or_else(bad)?,
                32 => base32_20(v1).ok_or_else(bad)?,
                _ => return Err(bad()),
            };
            return set_once(&mut self.hashes.v1, hash, "v1");
        }
        if let Some(v2) = value.strip_prefix("urn:btmh:") {
            let hex = v2.strip_prefix("1220").ok_or_else(bad)?;
            let hash = (hex.len() == 64).then(|| hex_array(hex)).flatten();
            return set_once(&mut self.hashes.v2, hash.ok_or_else(bad)?, "v2");
        }
        Ok(())
    }

    /// The link, as libtorrent's `make_magnet_uri` writes it.
    pub fn to_uri(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Magnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("magnet:?")?;
        let mut sep = "";
        if let Some(v1) = self.hashes.v1 {
            write!(f, "xt=urn:btih:{}", hex::encode(v1))?;
            sep = "&";
        }
        if let Some(v2) = self.hashes.v2 {
            write!(f, "{sep}xt=urn:btmh:1220{}", hex::encode(v2))?;
        }
        if let Some(name) = &self.name {
            write!(f, "&dn={}", encode(name))?;
        }
        for tr in &self.trackers {
            write!(f, "&tr={}", encode(tr))?;
        }
        for ws in &self.web_seeds {
            write!(f, "&ws={}", encode(ws))?;
        }
        for peer in &self.peers {
            write!(f, "&x.pe={peer}")?;
        }
        Ok(())
    }
}

fn set_once<const N: usize>(
    slot: &mut Option<[u8; N]>,
    hash: [u8; N],
    kind: &'static str,
) -> Result<(), MagnetError> {
    match slot.replace(hash) {
        Some(old) if old != hash => Err(MagnetError::TwoHashes(kind)),
        _ => Ok(()),
    }
}

fn hex_array<const N: usize>(s: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

/// RFC 4648 base32 (either case), 32 characters → 20 bytes.
fn base32_20(s: &str) -> Option<[u8; 20]> {
    let mut out = [0u8; 20];
    let (mut acc, mut bits, mut at) = (0u64, 0u32, 0usize);
    for c in s.bytes() {
        let v = match c.to_ascii_uppercase() {
            c @ b'A'..=b'Z' => c - b'A',
            c @ b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        acc = (acc << 5) | u64::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out[at] = (acc >> bits) as u8;
            at += 1;
        }
    }
    Some(out)
}

/// Percent-decoding, `+` as a space, into UTF-8.
fn decode(raw: &str) -> Result<String, MagnetError> {
    let bad = || MagnetError::BadEscape(raw.to_owned());
    let mut out = Vec::with_capacity(raw.len());
    let mut bytes = raw.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'%' => {
                let hi = bytes.next().ok_or_else(bad)?;
                let lo = bytes.next().ok_or_else(bad)?;
                let pair = [hi, lo];
                let mut byte = [0u8; 1];
                hex::decode_to_slice(pair, &mut byte).map_err(|_| bad())?;
                out.push(byte[0]);
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
    }
    String::from_utf8(out).map_err(|_| MagnetError::NotUtf8(raw.to_owned()))
}

/// What libtorrent's `escape_string` leaves alone.
fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-_.!~*()".contains(&b)
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match unreserved(b) {
            true => out.push(b as char),
            false => {
                let _ = write!(out, "%{b:02x}");
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "magnet_tests.rs"]
mod tests;
