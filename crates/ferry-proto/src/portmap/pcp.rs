//! PCP (RFC 6887): a MAP request for a TCP port and its answer. IPv4 addresses
//! travel as IPv4-mapped IPv6 (`::ffff:a.b.c.d`).

use std::net::{Ipv4Addr, Ipv6Addr};

use super::MapError;

const VERSION: u8 = 2;
const OP_MAP: u8 = 1;
const RESPONSE: u8 = 0x80;
const TCP: u8 = 6;
/// Header (24) + MAP opcode (36).
const SIZE: usize = 60;
/// The result code for "unsupported version" (both protocols).
pub const UNSUPP_VERSION: u16 = 1;
/// RFC 6887 §7: no PCP message is longer.
const MAX: usize = 1100;

/// What we ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapRequest {
    /// Our address as the gateway sees it (the source of the request).
    pub client: Ipv4Addr,
    pub internal_port: u16,
    /// A suggestion; 0 for any.
    pub external_port: u16,
    /// Seconds; 0 deletes the mapping (with the nonce that made it).
    pub lifetime: u32,
    /// Random, kept: the answer must echo it, and a delete must repeat it.
    pub nonce: [u8; 12],
}

impl MapRequest {
    pub fn encode(&self) -> [u8; SIZE] {
        let mut m = [0u8; SIZE];
        m[0] = VERSION;
        m[1] = OP_MAP;
        m[4..8].copy_from_slice(&self.lifetime.to_be_bytes());
        m[8..24].copy_from_slice(&self.client.to_ipv6_mapped().octets());
        m[24..36].copy_from_slice(&self.nonce);
        m[36] = TCP;
        m[40..42].copy_from_slice(&self.internal_port.to_be_bytes());
        m[42..44].copy_from_slice(&self.external_port.to_be_bytes());
        // "Any IPv4 address": ::ffff:0.0.0.0.
        m[44..60].copy_from_slice(&Ipv4Addr::UNSPECIFIED.to_ipv6_mapped().octets());
        m
    }

    /// The gateway's answer to this request: a mapping of our port, or why not.
    pub fn parse_answer(&self, b: &[u8]) -> Result<Mapped, MapError> {
        // A NAT-PMP-only gateway answers with its own version 0 (RFC 6887 §9).
        if b.len() >= 4 && b[0] == 0 {
            return Err(MapError::Refused(UNSUPP_VERSION));
        }
        if b.len() < SIZE || b.len() > MAX || !b.len().is_multiple_of(4) {
            return Err(MapError::Malformed("size"));
        }
        if b[0] != VERSION || b[1] != RESPONSE | OP_MAP {
            return Err(MapError::Malformed("version or opcode"));
        }
        if b[24..36] != self.nonce || b[36] != TCP || b[40..42] != self.internal_port.to_be_bytes()
        {
            return Err(MapError::Malformed("not the answer to our request"));
        }
        if b[3] != 0 {
            return Err(MapError::Refused(b[3].into()));
        }
        let lifetime = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
        let external_port = u16::from_be_bytes([b[42], b[43]]);
        let ip: [u8; 16] = b[44..60]
            .try_into()
            .map_err(|_| MapError::Malformed("size"))?;
        let external = Ipv6Addr::from(ip)
            .to_ipv4_mapped()
            .ok_or(MapError::Malformed("not an IPv4 mapping"))?;
        if self.lifetime != 0 && (external_port == 0 || lifetime == 0) {
            return Err(MapError::Malformed("an empty mapping"));
        }
        Ok(Mapped {
            external,
            external_port,
            lifetime,
        })
    }
}

/// A granted mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapped {
    pub external: Ipv4Addr,
    pub external_port: u16,
    pub lifetime: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> MapRequest {
        MapRequest {
            client: Ipv4Addr::new(192, 168, 1, 20),
            internal_port: 8080,
            external_port: 8080,
            lifetime: 3600,
            nonce: [7; 12],
        }
    }

    fn answer(result: u8) -> Vec<u8> {
        let mut a = request().encode().to_vec();
        a[1] = 0x81;
        a[3] = result;
        a[8..12].copy_from_slice(&[0, 0, 0, 42]); // epoch
        a[12..24].fill(0);
        a[42..44].copy_from_slice(&9000u16.to_be_bytes());
        a[44..60].copy_from_slice(&Ipv4Addr::new(203, 0, 113, 7).to_ipv6_mapped().octets());
        a
    }

    #[test]
    fn request_has_the_rfc_layout() {
        let m = request().encode();
        assert_eq!(&m[..8], &[2, 1, 0, 0, 0, 0, 0x0e, 0x10]);
        let client = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168, 1, 20];
        assert_eq!(&m[8..24], &client);
        assert_eq!(&m[24..36], &[7; 12]);
        assert_eq!(&m[36..44], &[6, 0, 0, 0, 0x1f, 0x90, 0x1f, 0x90]);
        assert_eq!(
            &m[44..60],
            &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0]
        );
    }

    #[test]
    fn answer_decodes_and_is_checked() {
        let want = Mapped {
            external: Ipv4Addr::new(203, 0, 113, 7),
            external_port: 9000,
            lifetime: 3600,
        };
        assert_eq!(request().parse_answer(&answer(0)), Ok(want));
        // Options after the opcode are allowed (and ignored).
        let mut long = answer(0);
        long.extend_from_slice(&[0; 8]);
        assert_eq!(request().parse_answer(&long), Ok(want));
        assert_eq!(
            request().parse_answer(&answer(8)),
            Err(MapError::Refused(8))
        );
        let mut other = answer(0);
        other[24] ^= 1;
        assert!(request().parse_answer(&other).is_err());
        assert!(request().parse_answer(&answer(0)[..59]).is_err());
        // A NAT-PMP gateway's "unsupported version" answer: a refusal, so the
        // client goes on to NAT-PMP at once.
        let old = [0, 129, 0, 1, 0, 0, 0, 0];
        assert_eq!(
            request().parse_answer(&old),
            Err(MapError::Refused(UNSUPP_VERSION))
        );
    }
}
