//! The BEP 3 handshake: the 68 bytes each side sends before any message.
//!
//! `19 "BitTorrent protocol" reserved[8] info_hash[20] peer_id[20]`. The reserved bits
//! announce extensions: BEP 10 (extension protocol), BEP 6 (fast), BEP 5 (DHT) and
//! BEP 52 (v2 upgrade). Decoding is incremental: a wrong protocol string is refused as
//! soon as its bytes arrive, and the info hash can be read before the peer id (a
//! listener serving several torrents picks one from it before answering).

/// The protocol string, after its length byte.
pub const PROTOCOL: &[u8; 19] = b"BitTorrent protocol";
/// Length of a whole handshake.
pub const HANDSHAKE_LEN: usize = 68;
/// Bytes up to and including the info hash.
const INFO_HASH_END: usize = 48;

/// The eight reserved bytes: one bit per extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reserved(pub [u8; 8]);

impl Reserved {
    /// BEP 10: the 20th bit from the right.
    pub const EXTENSION_PROTOCOL: (usize, u8) = (5, 0x10);
    /// BEP 6: the third least significant bit.
    pub const FAST: (usize, u8) = (7, 0x04);
    /// BEP 5: the last bit.
    pub const DHT: (usize, u8) = (7, 0x01);
    /// BEP 52: the fourth most significant bit of the last byte.
    pub const V2: (usize, u8) = (7, 0x10);

    /// What ferry announces: extension protocol, fast, v2 upgrade (no DHT yet).
    pub fn ferry() -> Self {
        Reserved::default()
            .with(Self::EXTENSION_PROTOCOL)
            .with(Self::FAST)
            .with(Self::V2)
    }

    pub fn with(mut self, (byte, bit): (usize, u8)) -> Self {
        self.0[byte] |= bit;
        self
    }

    pub fn has(&self, (byte, bit): (usize, u8)) -> bool {
        self.0[byte] & bit != 0
    }
}

/// A peer id: 20 bytes, by convention a client tag then random bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerId(pub [u8; 20]);

impl PeerId {
    /// ferry's tag in Azureus style: `-FY` client, `0100` version, `-`.
    pub const FERRY_PREFIX: &'static [u8; 8] = b"-FY0100-";

    /// ferry's peer id from 12 random bytes (the caller's RNG).
    pub fn ferry(random: [u8; 12]) -> Self {
        let mut id = [0; 20];
        id[..8].copy_from_slice(Self::FERRY_PREFIX);
        id[8..].copy_from_slice(&random);
        PeerId(id)
    }

    /// The Azureus-style client tag and version (`"TR", "4060"`), if the id has one.
    pub fn azureus_client(&self) -> Option<(&str, &str)> {
        let id = &self.0;
        let tagged = id[0] == b'-' && id[7] == b'-';
        let printable = id[1..7].iter().all(u8::is_ascii_alphanumeric);
        if !(tagged && printable) {
            return None;
        }
        let text = std::str::from_utf8(&id[1..7]).ok()?;
        Some(text.split_at(2))
    }
}

/// One side's handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handshake {
    pub reserved: Reserved,
    pub info_hash: [u8; 20],
    pub peer_id: PeerId,
}

/// A handshake that is not BitTorrent's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    #[error("peer's protocol string has length {0}, not 19")]
    ProtocolLength(u8),
    #[error("peer's protocol string is not \"BitTorrent protocol\"")]
    ProtocolName,
}

/// What [`Handshake::decode`] found in the bytes so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded {
    /// Valid so far; this many more bytes are needed.
    NeedMore(usize),
    /// Protocol and info hash are in, the peer id is not yet.
    InfoHash([u8; 20]),
    /// The whole handshake; it used [`HANDSHAKE_LEN`] bytes.
    Done(Handshake),
}

impl Handshake {
    pub fn encode(&self) -> [u8; HANDSHAKE_LEN] {
        let mut out = [0; HANDSHAKE_LEN];
        out[0] = PROTOCOL.len() as u8;
        out[1..20].copy_from_slice(PROTOCOL);
        out[20..28].copy_from_slice(&self.reserved.0);
        out[28..48].copy_from_slice(&self.info_hash);
        out[48..68].copy_from_slice(&self.peer_id.0);
        out
    }

    /// Decodes the start of `input` (the bytes received so far); bytes past the
    /// handshake belong to the message stream.
    pub fn decode(input: &[u8]) -> Result<Decoded, HandshakeError> {
        if let Some(&len) = input.first() {
            if len as usize != PROTOCOL.len() {
                return Err(HandshakeError::ProtocolLength(len));
            }
        }
        let name = &input[1.min(input.len())..input.len().min(20)];
        if !PROTOCOL.starts_with(name) {
            return Err(HandshakeError::ProtocolName);
        }
        if input.len() < INFO_HASH_END {
            return Ok(Decoded::NeedMore(HANDSHAKE_LEN - input.len()));
        }
        let info_hash = array(&input[28..48]);
        if input.len() < HANDSHAKE_LEN {
            return Ok(Decoded::InfoHash(info_hash));
        }
        Ok(Decoded::Done(Handshake {
            reserved: Reserved(array(&input[20..28])),
            info_hash,
            peer_id: PeerId(array(&input[48..68])),
        }))
    }
}

fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(bytes);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Handshake {
        Handshake {
            reserved: Reserved::ferry(),
            info_hash: [0xaa; 20],
            peer_id: PeerId::ferry([7; 12]),
        }
    }

    #[test]
    fn known_bytes() {
        let bytes = sample().encode();
        assert_eq!(&bytes[..20], b"\x13BitTorrent protocol");
        // BEP 10 sets 0x10 in byte 5; BEP 6 0x04 and BEP 52 0x10 in byte 7.
        assert_eq!(bytes[20..28], [0, 0, 0, 0, 0, 0x10, 0, 0x14]);
        assert_eq!(&bytes[48..56], b"-FY0100-");
    }

    #[test]
    fn decodes_byte_by_byte() {
        let bytes = sample().encode();
        for n in 0..48 {
            assert_eq!(
                Handshake::decode(&bytes[..n]),
                Ok(Decoded::NeedMore(68 - n))
            );
        }
        for n in 48..68 {
            assert_eq!(
                Handshake::decode(&bytes[..n]),
                Ok(Decoded::InfoHash([0xaa; 20]))
            );
        }
        assert_eq!(Handshake::decode(&bytes), Ok(Decoded::Done(sample())));
    }

    #[test]
    fn refuses_other_protocols_early() {
        assert_eq!(
            Handshake::decode(b"\x12"),
            Err(HandshakeError::ProtocolLength(18))
        );
        assert_eq!(
            Handshake::decode(b"\x13BitTorrent pro"),
            Ok(Decoded::NeedMore(68 - 15))
        );
        assert_eq!(
            Handshake::decode(b"\x13BitTorrent Pro"),
            Err(HandshakeError::ProtocolName)
        );
        assert_eq!(
            Handshake::decode(b"GET / HTTP/1.1\r\n"),
            Err(HandshakeError::ProtocolLength(b'G'))
        );
    }

    #[test]
    fn reserved_bits() {
        let r = Reserved::ferry();
        assert!(r.has(Reserved::EXTENSION_PROTOCOL) && r.has(Reserved::FAST));
        assert!(r.has(Reserved::V2) && !r.has(Reserved::DHT));
        assert!(Reserved::default().with(Reserved::DHT).has(Reserved::DHT));
    }

    #[test]
    fn client_tags() {
        assert_eq!(
            PeerId::ferry([0xff; 12]).azureus_client(),
            Some(("FY", "0100"))
        );
        let mut id = *b"-TR4060-abcdefghijkl";
        assert_eq!(PeerId(id).azureus_client(), Some(("TR", "4060")));
        id[0] = b'M';
        assert_eq!(PeerId(id).azureus_client(), None);
    }
}
