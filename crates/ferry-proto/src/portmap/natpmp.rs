//! NAT-PMP (RFC 6886): the external address request (opcode 0) and the TCP mapping
//! request (opcode 2), both to the gateway's UDP port 5351.

use std::net::Ipv4Addr;

use super::MapError;

/// The UDP port gateways listen on (NAT-PMP and PCP alike).
pub const PORT: u16 = 5351;
const VERSION: u8 = 0;
const OP_ADDRESS: u8 = 0;
const OP_MAP_TCP: u8 = 2;
const REPLY: u8 = 128;

/// "What is your external address?": version 0, opcode 0.
pub fn address_request() -> [u8; 2] {
    [VERSION, OP_ADDRESS]
}

/// A TCP mapping of `internal` to `external` (a suggestion) for `lifetime` seconds;
/// lifetime 0 and external 0 delete it (RFC 6886 §3.4).
pub fn map_request(internal: u16, external: u16, lifetime: u32) -> [u8; 12] {
    let mut m = [0u8; 12];
    m[0] = VERSION;
    m[1] = OP_MAP_TCP;
    m[4..6].copy_from_slice(&internal.to_be_bytes());
    m[6..8].copy_from_slice(&external.to_be_bytes());
    m[8..12].copy_from_slice(&lifetime.to_be_bytes());
    m
}

/// The gateway's external address, from its 12-byte answer to [`address_request`].
pub fn parse_address(b: &[u8]) -> Result<Ipv4Addr, MapError> {
    let b: &[u8; 12] = b.try_into().map_err(|_| MapError::Malformed("size"))?;
    check_header(b, OP_ADDRESS)?;
    Ok(Ipv4Addr::new(b[8], b[9], b[10], b[11]))
}

/// A granted mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapped {
    pub external_port: u16,
    /// Seconds; the gateway may grant less than asked.
    pub lifetime: u32,
}

/// The 16-byte answer to [`map_request`] for `internal`.
pub fn parse_map(b: &[u8], internal: u16) -> Result<Mapped, MapError> {
    let b: &[u8; 16] = b.try_into().map_err(|_| MapError::Malformed("size"))?;
    check_header(b, OP_MAP_TCP)?;
    if u16::from_be_bytes([b[8], b[9]]) != internal {
        return Err(MapError::Malformed("another internal port"));
    }
    let external_port = u16::from_be_bytes([b[10], b[11]]);
    let lifetime = u32::from_be_bytes([b[12], b[13], b[14], b[15]]);
    if external_port == 0 && lifetime != 0 {
        return Err(MapError::Malformed("external port 0"));
    }
    Ok(Mapped {
        external_port,
        lifetime,
    })
}

/// Version 0, the reply to `op`, result code 0 (else [`MapError::Refused`]).
fn check_header(b: &[u8], op: u8) -> Result<(), MapError> {
    if b[0] != VERSION || b[1] != REPLY + op {
        return Err(MapError::Malformed("version or opcode"));
    }
    match u16::from_be_bytes([b[2], b[3]]) {
        0 => Ok(()),
        code => Err(MapError::Refused(code)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_have_the_rfc_layout() {
        assert_eq!(address_request(), [0, 0]);
        assert_eq!(
            map_request(0x1f90, 0x1f91, 3600),
            [0, 2, 0, 0, 0x1f, 0x90, 0x1f, 0x91, 0, 0, 0x0e, 0x10]
        );
        assert_eq!(&map_request(80, 0, 0)[6..], &[0; 6]);
    }

    #[test]
    fn answers_decode() {
        let addr = [0, 128, 0, 0, 0, 0, 0, 9, 203, 0, 113, 7];
        assert_eq!(parse_address(&addr), Ok(Ipv4Addr::new(203, 0, 113, 7)));
        let map = [
            0, 130, 0, 0, 0, 0, 0, 9, 0x1f, 0x90, 0x23, 0x28, 0, 0, 0x0e, 0x10,
        ];
        let want = Mapped {
            external_port: 9000,
            lifetime: 3600,
        };
        assert_eq!(parse_map(&map, 8080), Ok(want));
    }

    #[test]
    fn wrong_answers_are_refused() {
        let mut addr = [0, 128, 0, 3, 0, 0, 0, 9, 203, 0, 113, 7];
        assert_eq!(parse_address(&addr), Err(MapError::Refused(3)));
        addr[3] = 0;
        assert!(parse_address(&addr[..11]).is_err());
        addr[1] = 129;
        assert!(parse_address(&addr).is_err());
        let map = [
            0, 130, 0, 0, 0, 0, 0, 9, 0x1f, 0x90, 0x23, 0x28, 0, 0, 0x0e, 0x10,
        ];
        assert!(parse_map(&map, 8081).is_err());
        let mut zero = map;
        zero[10..12].copy_from_slice(&[0, 0]);
        assert!(parse_map(&zero, 8080).is_err());
        // A PCP server's answer to NAT-PMP's version is not a NAT-PMP answer.
        let mut pcp = map;
        pcp[0] = 2;
        assert!(parse_map(&pcp, 8080).is_err());
    }
}
